"""Engine programs kept on disk as exported StableHLO, so a rerun skips tracing them.

JAX's persistent compilation cache (:func:`~jaxcalc.engine.cache.enable_compilation_cache`)
skips XLA's compile on a rerun, but every program is still traced and lowered first (a
few tenths of a second each, more than the cached compile). With the program cache on, a
program is traced once: it is exported (``jax.export``) and the export stored under a key
of everything that determines it; a later process loads it, calls it inside ``jax.jit``
and compiles that, which then hits the persistent compilation cache. A program built
through an export is always built that way (first run and rerun compile the same module),
and gives the same bits as the program traced directly (tests/test_program_cache.py).

The key is a description of every object the program is traced from, taken before
tracing: the :class:`~jaxcalc.engine.program.Program` (the objective with its function's
code and closure, the method with its options, limits, steps, record_every), the
hyperparameters fixed to None, the input shapes and dtypes (which hyperparameters are
swept), and the environment (JAX's tracing configuration and x64 flag, the device, the
versions of Python, jax, jaxlib, numpy and optax, and a digest of jaxcalc's source files).
:func:`describe` follows objects of jaxcalc, jax, optax and numpy only; anything else (a
function defined in a script, an object of another library) makes a program
undescribable, and such a program is traced as usual, never cached. A wrong key would be
a silent wrong result, so an unknown object means a miss, never a guess. What the key does
not see: module globals and class attributes changed while the process runs (a test's
monkeypatch of an engine constant); the source digest covers them as written on disk.

An unreadable file (truncated, from another version) is ignored: the program is traced
and the file written again. The files are pickles, as trusted as the executables in the
compilation cache beside them: keep the folder private.
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import functools
import hashlib
import importlib.metadata
import marshal
import os
import pickle
import sys
import tempfile
import types
from pathlib import Path
from typing import Any

import jax
import numpy as np

__all__ = ["Undescribable", "describe", "load", "program_key", "store"]

FORMAT = 1  # the files' layout; a change makes every older file a miss

# Modules whose objects the key may describe: jaxcalc by the digest of its source, the
# others by their versions (which the key holds).
TRUSTED = (
    *("jaxcalc", "jax", "jaxlib", "optax", "chex", "numpy"),
    *("math", "builtins", "operator", "inspect", "ast"),  # the standard library's, by version
)
MAX_DEPTH = 100


class Undescribable(Exception):
    """An object the key cannot describe completely: its program is not cached."""


def _trusted(module: str | None) -> bool:
    return module is not None and module.split(".")[0] in TRUSTED


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def describe(value: Any) -> str:
    """A text that differs whenever two values could trace to different programs.

    Numbers exactly, arrays by dtype, shape and a digest of their bytes, containers item
    by item in order, functions by module, name, a digest of their compiled code, their
    defaults and the values they close over, other objects by type and attributes.
    Raises :class:`Undescribable` for what it cannot follow (see the module docstring).
    """
    return repr(_Describer().of(value, 0))


class _Describer:
    def __init__(self):
        self.seen: dict[int, int] = {}  # id -> index of a value already described
        self.active: set[int] = set()
        self.keep: list[Any] = []  # described objects stay alive, so ids stay unique

    def of(self, v: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise Undescribable("too deep")
        # NumPy scalars first: np.float64 is a float, but traces as a float64, not as a
        # weakly typed Python number
        if isinstance(v, np.generic | np.ndarray | jax.Array):
            return self.array(v)
        if isinstance(v, enum.Enum):  # before int: an IntEnum is an int
            return ("enum", self.name_of(type(v)), v.name)
        if v is None or type(v) in (bool, int, str, bytes):
            return (type(v).__name__, v)
        if type(v) is float:
            return ("float", float.hex(v))
        if type(v) is complex:
            return ("complex", float.hex(v.real), float.hex(v.imag))
        if isinstance(v, np.dtype):
            return ("dtype", v.str, v.name)
        if isinstance(v, jax.ShapeDtypeStruct):
            weak = getattr(v, "weak_type", False)
            return ("sds", tuple(v.shape), np.dtype(v.dtype).str, weak, repr(v.sharding))
        if isinstance(v, type):
            return ("type", self.name_of(v))
        if isinstance(v, types.ModuleType):
            if not _trusted(v.__name__):
                raise Undescribable(f"module {v.__name__}")
            return ("module", v.__name__)
        key = id(v)
        if key in self.active:
            raise Undescribable("a cycle")
        if key in self.seen:
            return ("same as", self.seen[key])
        self.active.add(key)
        try:
            out = self.compound(v, depth + 1)
        finally:
            self.active.discard(key)
        self.seen[key] = len(self.seen)
        self.keep.append(v)
        return out

    def name_of(self, obj: Any) -> tuple[str, str]:
        module = getattr(obj, "__module__", None)
        if not _trusted(module):
            raise Undescribable(f"{obj!r} from module {module}")
        name = getattr(obj, "__qualname__", getattr(obj, "__name__", ""))
        if isinstance(obj, type) and "<locals>" in name:
            # a class made by a function: its methods may close over that call's values
            raise Undescribable(f"a local class {name}")
        return (module, name)

    def array(self, v: Any) -> Any:
        if isinstance(v, jax.core.Tracer):
            raise Undescribable("a traced value")
        try:
            a = np.asarray(v)
        except Exception as e:  # a typed PRNG key, an array on another process
            raise Undescribable(f"array {type(v)}") from e
        if a.dtype.hasobject:
            raise Undescribable("an array of objects")
        return ("array", type(v).__name__, a.dtype.str, a.shape, _digest(a.tobytes()))

    def compound(self, v: Any, depth: int) -> Any:
        of = functools.partial(self.of, depth=depth)
        if isinstance(v, tuple | list):
            kind = type(v)
            if kind in (tuple, list):
                return (kind.__name__, tuple(of(x) for x in v))
            # a NamedTuple (optax's GradientTransformation) or another sequence type
            return ("seq", self.name_of(kind), tuple(of(x) for x in v))
        if isinstance(v, ast.AST):  # a parsed expression: its fields, not where it was read
            fields = tuple((f, of(getattr(v, f, None))) for f in v._fields)
            return ("ast", type(v).__name__, fields)
        if isinstance(v, types.MappingProxyType):
            return ("mappingproxy", tuple((of(k), of(x)) for k, x in v.items()))
        if isinstance(v, dict):
            if type(v) is not dict:
                self.name_of(type(v))
            return ("dict", tuple((of(k), of(x)) for k, x in v.items()))
        if isinstance(v, set | frozenset):
            return ("set", tuple(sorted(repr(of(x)) for x in v)))
        if isinstance(v, jax.tree_util.PyTreeDef):
            node, aux = v.node_data() or (None, None)
            return ("treedef", of(node), of(aux), tuple(of(c) for c in v.children()))
        if isinstance(v, types.FunctionType):
            return self.function(v, of)
        if isinstance(v, types.MethodType):
            return ("method", of(v.__func__), of(v.__self__))
        if isinstance(v, functools.partial):
            return ("partial", of(v.func), of(v.args), of(v.keywords))
        if isinstance(v, types.BuiltinFunctionType | np.ufunc):
            owner = getattr(v, "__self__", None)
            if owner is not None and not isinstance(owner, types.ModuleType):
                return ("builtin method", v.__name__, of(owner))
            module = getattr(v, "__module__", None) or getattr(owner, "__name__", None)
            if not _trusted(module) and not isinstance(v, np.ufunc):
                raise Undescribable(f"builtin {v!r}")
            return ("builtin", module, v.__name__)
        return self.instance(v, of)

    def function(self, f: types.FunctionType, of) -> Any:
        name = self.name_of(f)
        code = _digest(marshal.dumps(f.__code__))
        cells = []
        for cell in f.__closure__ or ():
            try:
                contents = cell.cell_contents
            except ValueError:  # an empty cell
                cells.append(("empty",))
                continue
            cells.append(of(contents))
        attributes = {k: x for k, x in vars(f).items() if k != "__wrapped__"}
        return (
            "function",
            name,
            code,
            of(f.__defaults__),
            of(f.__kwdefaults__),
            tuple(cells),
            of(attributes),
            of(getattr(f, "__wrapped__", None)),
        )

    def instance(self, v: Any, of) -> Any:
        kind = self.name_of(type(v))
        wrapped = getattr(v, "__wrapped__", None)
        fields: list[tuple[str, Any]] = []
        if hasattr(v, "__dict__"):
            fields.extend(vars(v).items())
        for cls in type(v).__mro__:
            for slot in getattr(cls, "__slots__", ()):
                if slot in ("__dict__", "__weakref__") or not hasattr(v, slot):
                    continue
                fields.append((slot, getattr(v, slot)))
        if not fields:
            if wrapped is not None:  # a C wrapper (jax.jit's): what it wraps
                return ("wrapper", kind, self.name_of(v), of(wrapped))
            if dataclasses.is_dataclass(v):
                return ("object", kind)  # a dataclass without fields
            # an object of a C type keeps its state where Python cannot see it
            raise Undescribable(f"{type(v)} keeps no attributes Python can see")
        return ("object", kind, tuple((name, of(x)) for name, x in fields))


@functools.cache
def _source_digest() -> str:
    """A digest of every Python file of jaxcalc: a change in any changes every key."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "-"


@functools.cache
def _versions() -> tuple[str, ...]:
    names = ("jax", "jaxlib", "numpy", "optax", "chex", "ml_dtypes")
    return (sys.version, *(f"{n} {_version(n)}" for n in names))


def _environment() -> str:
    from jax._src import config as jax_config  # what JAX's own trace caches are keyed by

    device = jax.devices()[0]
    return describe(
        (
            FORMAT,
            _source_digest(),
            _versions(),
            jax.default_backend(),
            device.platform,
            getattr(device, "device_kind", ""),
            jax.device_count(),
            jax.config.jax_enable_x64,
            jax_config.trace_context(),
        )
    )


def program_key(*parts: Any) -> str | None:
    """The key of a program traced from ``parts`` in this environment (a hex digest), or
    None when something in them cannot be described."""
    try:
        text = _environment() + describe(parts)
    except Undescribable:
        return None
    return _digest(text.encode())


def _path(directory: str, key: str) -> Path:
    return Path(directory) / f"{key}.exported"


def load(directory: str, key: str, specs: Any) -> Any | None:
    """The stored export of ``key`` if it exists, reads and takes inputs of the shapes
    and dtypes ``specs``; else None (the caller traces the program)."""
    path = _path(directory, key)
    try:
        with open(path, "rb") as f:
            stored_key, exported = pickle.load(f)
        given = [(tuple(s.shape), np.dtype(s.dtype)) for s in jax.tree.leaves(specs)]
        if (
            stored_key != key
            or exported.in_tree != jax.tree.structure((tuple(specs), {}))
            or [(tuple(a.shape), np.dtype(a.dtype)) for a in exported.in_avals] != given
        ):
            return None
    except FileNotFoundError:
        return None
    except Exception:  # noqa: BLE001 - a truncated or foreign file: trace the program instead
        return None
    return exported


def store(directory: str, key: str, exported: Any) -> None:
    """Write an export under ``key`` (atomically: readers see the whole file or none). A
    failure to write is not an error: the program is then traced again next time."""
    try:
        os.makedirs(directory, exist_ok=True)
        data = pickle.dumps((key, dataclasses.replace(exported, _get_vjp=None)))
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, _path(directory, key))
        except BaseException:
            os.unlink(tmp)
            raise
    except Exception:  # noqa: BLE001 - a read-only or full disk
        return
