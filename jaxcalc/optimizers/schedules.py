"""Hyperparameter schedules: any optax schedule for any float hyperparameter of any method.

(Over 500 lines: parsing a schedule, applying it in the engine and checking its values
over a run share the :class:`Schedule` type and optax's table of functions.)

A hyperparameter given as a schedule takes the value ``schedule(k)`` at step ``k``
(counting from 0, as optax does). Three forms are accepted:

- a callable from the step to a value, such as
  ``optax.warmup_cosine_decay_schedule(0.0, 0.1, 50, 1000)``: compiled into the program as
  it is (its numbers cannot be swept);
- a :class:`Schedule`, from :func:`schedule` or from a table (a config's
  ``learning_rate = {schedule = "cosine_decay", init_value = 0.1, decay_steps = 1000}``):
  ``schedule`` names optax's function, with or without its ``_schedule`` suffix, and the
  other keys are that function's keyword arguments. ``join`` nests:
  ``{schedule = "join", schedules = [...], boundaries = [...]}``.

A :class:`Schedule`'s float parameters are hyperparameters of their own, named
``<hyperparameter>.<parameter>`` (``learning_rate.init_value``; in a join,
``learning_rate.<i>.<parameter>``). They are traced data like every hyperparameter: a list
sweeps them in the same compiled program, and the schedule is rebuilt inside the step from
the traced values. Integer parameters (step counts, boundaries) are fixed at compile time.

:class:`Scheduled` wraps any optimizer: it counts the steps in its state and hands the
wrapped method the schedule's value for the current step, so ``gd``'s learning rate,
``gd_armijo``'s initial step and ``projected_gd``'s step follow a schedule exactly as an
optax optimizer's learning rate does.
"""

from __future__ import annotations

import difflib
import inspect
import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxcalc.errors import ConfigError
from jaxcalc.optimizers.protocol import _RANGES, Optimizer, StepResult
from jaxcalc.optimizers.wrapped import Wrapped

__all__ = [
    "SCHEDULE_NAMES",
    "Schedule",
    "Scheduled",
    "callable_schedules",
    "check_schedules",
    "describe_schedules",
    "schedule",
    "schedule_history",
    "with_schedules",
]


def _warmup_cosine_decay(
    init_value, peak_value, warmup_steps, decay_steps, end_value=0.0, exponent=1.0
):
    """optax's ``warmup_cosine_decay_schedule`` with a ``peak_value`` that may be traced
    (optax tests ``peak_value == 0`` in Python)."""
    safe_peak = jnp.where(peak_value == 0.0, 1.0, peak_value)
    alpha = jnp.where(peak_value == 0.0, 0.0, end_value / safe_peak)
    return optax.join_schedules(
        [
            optax.linear_schedule(init_value, peak_value, warmup_steps),
            optax.cosine_decay_schedule(peak_value, decay_steps - warmup_steps, alpha, exponent),
        ],
        [warmup_steps],
    )


def _exponential_decay(
    init_value,
    transition_steps,
    decay_rate,
    transition_begin=0,
    staircase=False,
    end_value=None,
):
    """optax's ``exponential_decay`` with a ``decay_rate`` that may be traced (optax tests
    its value in Python to choose the clip)."""
    if transition_steps <= 0:
        return lambda count: init_value
    transition_begin = max(transition_begin, 0)

    def value(count):
        decreased = count - transition_begin
        p = decreased / transition_steps
        if staircase:
            p = jnp.floor(p)
        decayed = jnp.where(decreased <= 0, init_value, init_value * jnp.power(decay_rate, p))
        if end_value is not None:
            clipped = jnp.where(
                decay_rate < 1.0,
                jnp.maximum(decayed, end_value),
                jnp.minimum(decayed, end_value),
            )
            decayed = jnp.where(decay_rate == 0, decayed, clipped)
        return jnp.where(decay_rate == 0, init_value, decayed)

    return value


# optax's function for each schedule name (without the ``_schedule`` suffix), and the
# traceable stand-ins used inside the program (checked against optax's in the tests)
_OPTAX = {
    name.removesuffix("_schedule").removesuffix("_schedules"): name
    for name in dir(optax.schedules)
    if not name.startswith("_")
    and (name.endswith(("_schedule", "_schedules")) or name == "exponential_decay")
}
_TRACEABLE = {
    "warmup_cosine_decay_schedule": _warmup_cosine_decay,
    "exponential_decay": _exponential_decay,
}
#: every schedule name accepted (optax's function names without ``_schedule``)
SCHEDULE_NAMES = tuple(sorted(_OPTAX))
_JOIN = "join"


def _function(optax_name: str) -> Callable:
    return _TRACEABLE.get(optax_name) or getattr(optax.schedules, optax_name)


def _suggest(name: str, candidates) -> str:
    close = difflib.get_close_matches(name, sorted(candidates), n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


def _is_number(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _traceable(spec: Schedule, key: str) -> bool:
    """Whether float parameter ``key`` of ``spec`` can be a traced value (optax tests some
    values in Python: those are fixed at compile time and cannot be swept)."""
    values = {k: (v[0] if isinstance(v, tuple) else v) for k, v in spec.parameters("_").items()}
    try:
        jax.make_jaxpr(lambda t: spec.build({**values, f"_.{key}": t}, "_")(jnp.int32(1)))(
            jnp.float32(values[f"_.{key}"])
        )
    except jax.errors.JAXTypeError:
        return False
    except Exception:  # noqa: BLE001 - other failures are reported when building
        return True
    return True


@dataclass(frozen=True)
class Schedule:
    """An optax schedule as data: its function and arguments, floats sweepable.

    Build one with :func:`schedule` (or from a config table). Attributes:
      function: optax's function name (``cosine_decay_schedule``, ``exponential_decay``).
      floats: the float parameters, traced: a number, or a tuple of numbers (a sweep).
      static: the other arguments (step counts, boundaries, flags), fixed when compiling.
      children: a join's schedules.
    """

    function: str
    floats: Mapping[str, float | tuple[float, ...]] = field(default_factory=dict)
    static: Mapping[str, Any] = field(default_factory=dict)
    children: tuple[Schedule, ...] = ()

    @property
    def name(self) -> str:
        return self.function.removesuffix("_schedule").removesuffix("_schedules")

    def parameters(self, prefix: str) -> dict[str, float | tuple[float, ...]]:
        """The traced parameters under their hyperparameter names (``prefix.<name>``)."""
        out = {f"{prefix}.{k}": v for k, v in self.floats.items()}
        for i, child in enumerate(self.children):
            out.update(child.parameters(f"{prefix}.{i}"))
        return out

    def build(self, values: Mapping[str, Any], prefix: str) -> Callable:
        """The optax schedule with the traced parameters in ``values`` (by full name)."""
        floats = {k: values[f"{prefix}.{k}"] for k in self.floats}
        if self.function == "join_schedules":
            parts = [c.build(values, f"{prefix}.{i}") for i, c in enumerate(self.children)]
            return optax.join_schedules(parts, list(self.static["boundaries"]))
        static = dict(self.static)
        if static.get("boundaries_and_scales") is not None:
            static["boundaries_and_scales"] = dict(static["boundaries_and_scales"])
        if "cosine_kwargs" in static:
            static["cosine_kwargs"] = [dict(kw) for kw in static["cosine_kwargs"]]
        return _function(self.function)(**floats, **static)

    def key(self) -> Any:
        """What the schedule compiles to (its values left out): hashable."""
        return (
            self.function,
            tuple(sorted(self.floats)),
            repr(sorted(self.static.items())),
            tuple(c.key() for c in self.children),
        )

    def describe(self) -> str:
        given = {**{k: v for k, v in self.floats.items()}, **self.static}
        inner = ", ".join(f"{k}={v}" for k, v in given.items())
        if self.children:
            inner = ", ".join([f"[{', '.join(c.describe() for c in self.children)}]", inner])
        return f"{self.name}({inner})"


def schedule(name: str, **kwargs: Any) -> Schedule:
    """An optax schedule whose float parameters are hyperparameters (a list sweeps).

    Args:
      name: optax's schedule function, with or without ``_schedule``: ``constant``,
        ``linear``, ``cosine_decay``, ``exponential_decay``, ``piecewise_constant``,
        ``warmup_cosine_decay``, ``cosine_onecycle``, ``join``, ... (:data:`SCHEDULE_NAMES`).
      **kwargs: that function's keyword arguments. ``join`` takes ``schedules`` (a list of
        :class:`Schedule` or tables) and ``boundaries``.

    Example:
      >>> s = schedule("cosine_decay", init_value=[0.1, 0.2], decay_steps=100)
      >>> s.parameters("learning_rate")
      {'learning_rate.init_value': (0.1, 0.2)}
    """
    return parse_schedule({"schedule": name, **kwargs}, "schedule")


def parse_schedule(table: Mapping[str, Any], where: str) -> Schedule:
    """A :class:`Schedule` from a table ``{schedule = name, **kwargs}``; ``where`` names the
    key in error messages (``adam.learning_rate``)."""
    if isinstance(table, Schedule):
        return table
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where}: a schedule is a table with a `schedule` key; got {table!r}")
    table = dict(table)
    if "schedule" not in table:
        raise ConfigError(
            f"{where}: a schedule table needs `schedule = <name>` "
            f'(e.g. {{schedule = "cosine_decay", init_value = 0.1, decay_steps = 1000}})'
        )
    name = table.pop("schedule")
    if not isinstance(name, str):
        raise ConfigError(f"{where}.schedule: must be a schedule name; got {name!r}")
    short = name.removesuffix("_schedules").removesuffix("_schedule")
    if short not in _OPTAX:
        raise ConfigError(
            f"{where}.schedule: unknown schedule {name!r}{_suggest(short, SCHEDULE_NAMES)}; "
            f"known: {', '.join(SCHEDULE_NAMES)}"
        )
    function = _OPTAX[short]
    if function == "join_schedules":
        return _parse_join(table, where)
    signature = inspect.signature(getattr(optax.schedules, function))
    params = signature.parameters
    for key in table:
        if key not in params:
            raise ConfigError(
                f"{where}.{key}: {short} takes no argument {key!r}{_suggest(key, params)}; "
                f"it takes: {', '.join(params)}"
            )
    required = [p.name for p in params.values() if p.default is inspect.Parameter.empty]
    missing = [name for name in required if name not in table]
    if missing:
        raise ConfigError(f"{where}: schedule {short} needs {', '.join(missing)}")
    floats: dict[str, Any] = {}
    static: dict[str, Any] = {}
    for key, value in table.items():
        annotation = str(params[key].annotation)
        if annotation in ("int", "<class 'int'>"):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise ConfigError(f"{where}.{key}: must be a whole number; got {value!r}")
            static[key] = int(value)
        elif key == "boundaries_and_scales":
            static[key] = _boundaries_and_scales(value, f"{where}.{key}")
        elif key == "cosine_kwargs":
            static[key] = _cosine_kwargs(value, f"{where}.{key}")
        elif isinstance(value, list | tuple):
            if not value or not all(_is_number(v) for v in value):
                raise ConfigError(f"{where}.{key}: a sweep is a non-empty list of numbers")
            floats[key] = tuple(float(v) for v in value)
        elif _is_number(value):
            floats[key] = float(value)
        elif value is None or isinstance(value, bool | str):
            static[key] = value
        else:
            raise ConfigError(f"{where}.{key}: expected a number; got {value!r}")
    for key, value in floats.items():
        if not all(math.isfinite(v) for v in (value if isinstance(value, tuple) else [value])):
            raise ConfigError(f"{where}.{key}: must be a finite number; got {value}")
    # floats optax tests in Python are fixed at compile time, and cannot be swept
    probe = Schedule(function, dict(floats), dict(static))
    for key in list(floats):
        if not _traceable(probe, key):
            if isinstance(floats[key], tuple):
                raise ConfigError(
                    f"{where}.{key}: optax's {function} tests this value in Python, so it "
                    "cannot be swept; use one entry per value"
                )
            static[key] = floats.pop(key)
    spec = Schedule(function, floats, static)
    _check_builds(spec, where)
    return spec


def _parse_join(table: dict[str, Any], where: str) -> Schedule:
    unknown = set(table) - {"schedules", "boundaries"}
    if unknown:
        key = sorted(unknown)[0]
        raise ConfigError(f"{where}.{key}: join takes `schedules` and `boundaries` only")
    parts = table.get("schedules")
    boundaries = table.get("boundaries")
    if not isinstance(parts, list | tuple) or not parts:
        raise ConfigError(f"{where}.schedules: must be a non-empty list of schedule tables")
    if not isinstance(boundaries, list | tuple) or not all(
        isinstance(b, numbers.Integral) and not isinstance(b, bool) for b in boundaries
    ):
        raise ConfigError(f"{where}.boundaries: must be a list of whole numbers (steps)")
    if len(boundaries) != len(parts) - 1:
        raise ConfigError(
            f"{where}.boundaries: {len(parts)} schedules need {len(parts) - 1} boundaries; "
            f"got {len(boundaries)}"
        )
    if list(boundaries) != sorted(boundaries) or any(b < 0 for b in boundaries):
        raise ConfigError(f"{where}.boundaries: must be increasing steps >= 0")
    children = tuple(parse_schedule(p, f"{where}.schedules[{i}]") for i, p in enumerate(parts))
    steps = {"boundaries": tuple(int(b) for b in boundaries)}
    spec = Schedule("join_schedules", {}, steps, children)
    _check_builds(spec, where)
    return spec


def _boundaries_and_scales(value: Any, where: str) -> tuple[tuple[int, float], ...] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ConfigError(f'{where}: a table of step = scale, e.g. {{"100" = 0.5, "200" = 0.5}}')
    out = []
    for k, v in value.items():
        try:
            step = int(k)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: {k!r} is not a step (a whole number)") from None
        if not _is_number(v) or not math.isfinite(v):
            raise ConfigError(f"{where}.{k}: the scale must be a finite number; got {v!r}")
        out.append((step, float(v)))
    return tuple(sorted(out))


def _cosine_kwargs(value: Any, where: str) -> tuple[tuple[tuple[str, Any], ...], ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, Mapping) for v in value):
        raise ConfigError(f"{where}: a list of warmup_cosine_decay tables")
    return tuple(tuple(sorted(dict(v).items())) for v in value)


def _check_builds(spec: Schedule, where: str) -> None:
    """Build the schedule once with its first values and evaluate it at step 0."""
    values = {k: (v[0] if isinstance(v, tuple) else v) for k, v in spec.parameters("_").items()}
    try:
        fn = spec.build(values, "_")
        jax.eval_shape(fn, jnp.int32(0))
    except Exception as err:  # noqa: BLE001 - optax's refusal, as a config problem
        raise ConfigError(f"{where}: schedule {spec.describe()} is refused: {err}") from None


# ----------------------------------------------------------------------------------------
# Schedules in an optimizer


class ScheduledState(NamedTuple):
    """A scheduled method's state: the step count (from 0) and the method's own state."""

    count: jax.Array
    inner: Any


class _Fixed(NamedTuple):
    """A callable schedule given as it is (its numbers are not hyperparameters)."""

    fn: Callable

    def parameters(self, prefix: str) -> dict[str, Any]:
        return {}

    def build(self, values: Mapping[str, Any], prefix: str) -> Callable:
        return self.fn

    def key(self) -> Any:
        return ("callable", self.fn)

    def describe(self) -> str:
        """An optax schedule's function and the numbers it closes over
        (``cosine_decay_schedule(alpha=0, decay_steps=10, ...)``); else the callable's name."""
        name = getattr(self.fn, "__name__", "a callable schedule")
        qualname = getattr(self.fn, "__qualname__", "")
        module = getattr(self.fn, "__module__", "") or ""
        if not module.startswith("optax") or ".<locals>." not in qualname:
            return name
        numbers_ = []
        code = getattr(self.fn, "__code__", None)
        for var, cell in zip(
            getattr(code, "co_freevars", ()), self.fn.__closure__ or (), strict=False
        ):
            try:
                value = cell.cell_contents
            except ValueError:  # a cell not filled yet
                continue
            if _is_number(value):
                numbers_.append(f"{var}={value:g}")
        return f"{qualname.split('.<locals>.')[0]}({', '.join(numbers_)})"

    def label(self) -> str:
        """How a run's summary shows it: an optax schedule as :meth:`describe`, any other
        callable as ``schedule <name>``."""
        text = self.describe()
        return text if text.endswith(")") else f"schedule {text}"


@dataclass(frozen=True)
class Scheduled(Wrapped):
    """A method whose hyperparameters ``schedules`` names follow schedules.

    At step ``k`` (from 0) the wrapped method sees ``hyper[name] = schedule(k)``; the
    schedules' float parameters are this optimizer's hyperparameters
    (``learning_rate.init_value``). Everything else (requirements, costs, options, the
    final metrics) is the wrapped method's.
    """

    schedules: tuple[tuple[str, Any], ...] = ()

    def _own_structure(self) -> tuple[Any, ...]:
        return (tuple((k, s.key()) for k, s in self.schedules),)

    def values_at(self, count: jax.Array, hyper: Mapping[str, Any], dtype) -> dict[str, Any]:
        """The scheduled hyperparameters' values at step ``count``."""
        return {name: jnp.asarray(s.build(hyper, name)(count), dtype) for name, s in self.schedules}

    def _inner_hyper(self, count, hyper, dtype) -> dict[str, Any]:
        own = {k for name, s in self.schedules for k in s.parameters(name)}
        return {
            **{k: v for k, v in hyper.items() if k not in own},
            **self.values_at(count, hyper, dtype),
        }

    def init(self, fun, x, hyper, key) -> ScheduledState:
        count = jnp.zeros((), jnp.int32)
        inner = self.inner.init(fun, x, self._inner_hyper(count, hyper, x.dtype), key)
        return ScheduledState(count, inner)

    def step(self, fun, x, value, grad, state: ScheduledState, hyper) -> StepResult:
        hp = self._inner_hyper(state.count, hyper, x.dtype)
        res = self.inner.step(fun, x, value, grad, state.inner, hp)
        return res._replace(state=ScheduledState(optax.safe_increment(state.count), res.state))

    def final_metrics(self, fun, x, state: ScheduledState) -> dict[str, jax.Array]:
        return self.inner.final_metrics(fun, x, state.inner)

    def state_size(self, dim: int) -> int:
        return self.inner.state_size(dim) + 1


def _as_schedule(value: Any, where: str) -> Any:
    if isinstance(value, Schedule):
        return value
    if isinstance(value, Mapping):
        return parse_schedule(value, where)
    return _Fixed(value)


def is_schedule(value: Any) -> bool:
    """Whether a hyperparameter's value is a schedule (a callable, a :class:`Schedule` or
    a table with a ``schedule`` key)."""
    if isinstance(value, Schedule | Mapping):
        return True
    return callable(value) and not isinstance(value, np.ndarray | jax.Array)


def with_schedules(
    method: Optimizer, hyperparameters: Mapping[str, Any]
) -> tuple[Optimizer, dict[str, Any]]:
    """``method`` wrapped in :class:`Scheduled` for the hyperparameters given as schedules,
    and the hyperparameters with each schedule replaced by its float parameters.

    Without schedules, both are returned unchanged. A schedule for a name the method does
    not take raises a :class:`ConfigError` with a suggestion.
    """
    given = dict(hyperparameters)
    scheduled = {k: v for k, v in given.items() if is_schedule(v)}
    if not scheduled:
        return method, given
    schedules = []
    for name, value in scheduled.items():
        where = f"{method.name}.{name}"
        if name not in method.defaults:
            known = sorted(method.defaults)
            raise ConfigError(
                f"{where}: {method.name} has no float hyperparameter {name!r}"
                f"{_suggest(name, known)} to schedule; it takes: {', '.join(known) or 'none'}"
            )
        schedules.append((name, _as_schedule(value, where)))
        del given[name]
    params: dict[str, Any] = {}
    for name, s in schedules:
        params.update(s.parameters(name))
    defaults = {k: v for k, v in method.defaults.items() if k not in scheduled}
    defaults.update({k: (v[0] if isinstance(v, tuple) else v) for k, v in params.items()})
    wrapped = Scheduled.around(method, defaults, schedules=tuple(schedules))
    given.update({k: (list(v) if isinstance(v, tuple) else v) for k, v in params.items()})
    return wrapped, given


def callable_schedules(method: Optimizer) -> tuple[str, ...]:
    """The hyperparameters of ``method`` that follow a callable schedule given as it is:
    its numbers are compiled in, so they are neither swept nor differentiated."""
    if not isinstance(method, Scheduled):
        return ()
    return tuple(name for name, s in method.schedules if isinstance(s, _Fixed))


def describe_schedules(method: Optimizer) -> dict[str, str]:
    """Each scheduled hyperparameter of ``method`` as text: a :class:`Schedule`'s function
    and arguments, an optax schedule function's name and numbers, or ``schedule <name>``
    for another callable."""
    if not isinstance(method, Scheduled):
        return {}
    return {
        name: (s.label() if isinstance(s, _Fixed) else s.describe()) for name, s in method.schedules
    }


def _bounds(name: str) -> tuple[float, float]:
    """The closed range a scheduled value must stay in: >= 0, and <= 1 for rates."""
    lo, hi, _, _ = _RANGES.get(name, (0.0, math.inf, False, False))
    return max(lo, 0.0), hi


_PROGRAMS: dict[Any, Callable] = {}  # the compiled evaluators of schedules, by structure
_PROGRAMS_KEEP = 32


def _values_program(method: Scheduled, dtype: str) -> Callable:
    """The compiled evaluation of ``method``'s schedules over sweep points and steps, kept
    per structure (a second run with other values does not compile it again)."""
    key = (method.structure, dtype)
    program = _PROGRAMS.pop(key, None)
    if program is None:

        def evaluate(hyper, points, counts):
            def at(h, _):
                return jax.vmap(lambda c: method.values_at(c, h, dtype))(counts)

            # ``points`` (one entry per sweep point) gives vmap its axis when no
            # hyperparameter has a value (a bare callable schedule on gd: ``hyper`` is {})
            return jax.vmap(at)(hyper, points)

        program = jax.jit(evaluate)
    _PROGRAMS[key] = program  # most recently used last
    while len(_PROGRAMS) > _PROGRAMS_KEEP:
        _PROGRAMS.pop(next(iter(_PROGRAMS)))
    return program


def schedule_history(
    method: Optimizer,
    resolved: Mapping[str, Any],
    sweep: tuple[str, ...],
    sweep_shape: tuple[int, ...],
    steps: int,
    record_every: int,
    dtype: Any,
) -> dict[str, np.ndarray]:
    """Each scheduled hyperparameter's value per sweep point at every record, thinned like
    the trajectory: record ``i >= 1`` holds the value used by the step that produced it
    (step ``i * record_every - 1``), record 0 (the start) NaN. Shape ``sweep_shape + (R+1,)``.

    Refuses (:class:`ConfigError`, naming the key) a schedule whose value at any step of the
    run is not finite, negative, or above 1 for a rate such as ``b1`` or ``momentum``.
    """
    if not isinstance(method, Scheduled):
        return {}
    points = math.prod(sweep_shape) if sweep else 1
    grids = np.meshgrid(*(np.asarray(resolved[k], np.float64) for k in sweep), indexing="ij")
    swept = {k: g.reshape(-1) for k, g in zip(sweep, grids, strict=True)}
    names = [k for k in resolved if k in method.defaults and resolved[k] is not None]
    table = {
        k: np.asarray(swept[k] if k in swept else np.full(points, resolved[k]), dtype)
        for k in names
    }

    values = _values_program(method, str(np.dtype(dtype)))

    records = steps // record_every
    history = {name: np.full((points, records + 1), np.nan, dtype) for name, _ in method.schedules}
    block = 1 << 16
    for lo in range(0, steps, block):
        counts = np.arange(lo, min(steps, lo + block), dtype=np.int32)
        got = jax.device_get(values(table, np.arange(points, dtype=np.int32), counts))
        for name, _ in method.schedules:
            v = np.asarray(got[name])
            _check_values(method, name, v, counts, table, sweep)
            rows = np.arange(1, records + 1)
            step_of_row = rows * record_every - 1
            inside = (step_of_row >= lo) & (step_of_row < lo + len(counts))
            history[name][:, rows[inside]] = v[:, step_of_row[inside] - lo]
    lead = sweep_shape if sweep else ()
    return {k: v.reshape(lead + (records + 1,)) for k, v in history.items()}


def check_schedules(
    method: Optimizer, hyperparameters: Mapping[str, Any], steps: int, dtype: Any = None
) -> None:
    """Refuse a schedule of ``method`` whose value leaves its range at any of ``steps``
    steps, for every swept setting (see :func:`schedule_history`)."""
    if not isinstance(method, Scheduled):
        return
    given = {k: (list(v) if isinstance(v, tuple) else v) for k, v in hyperparameters.items()}
    resolved = method.resolve(given)
    sweep = tuple(k for k, v in given.items() if isinstance(v, list))
    shape = tuple(len(given[k]) for k in sweep)
    dtype = jnp.result_type(float) if dtype is None else dtype
    schedule_history(method, resolved, sweep, shape, steps, steps, dtype)


def _check_values(method, name, v, counts, table, sweep) -> None:
    lo, hi = _bounds(name)
    bad = ~np.isfinite(v) | (v < lo) | (v > hi)
    if not bad.any():
        return
    point, index = np.argwhere(bad)[0]
    at = ", ".join(f"{k}={table[k][point]:g}" for k in sweep)
    value = v[point, index]
    rule = f">= {lo:g}" if hi == math.inf else f"in [{lo:g}, {hi:g}]"
    rule = "finite" if not np.isfinite(value) else rule
    schedule = dict(method.schedules)[name]
    raise ConfigError(
        f"{method.name}.{name}: the schedule {schedule.describe()} gives {value:g} at step "
        f"{int(counts[index])}{f' (at {at})' if at else ''}; {name} must be {rule} at every "
        "step of the run"
    )
