"""The program cache (jaxcalc.engine.exported): a program exported once and loaded again
gives the same bits as the program traced directly, in this process and in another one;
anything that determines the program changes its key; an unreadable file is traced again.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import numpy as np
import pytest
from jaxcalc_testing import precision

from jaxcalc import optimize, optimize_many
from jaxcalc.engine import cache, enable_compilation_cache, exported, run
from jaxcalc.objectives import get

CONFIG = (
    "jax_compilation_cache_dir",
    "jax_persistent_cache_min_compile_time_secs",
    "jax_persistent_cache_min_entry_size_bytes",
)


def forget_programs() -> None:
    """Empty the engine's in-process caches, so the next call builds its program again."""
    with cache.CACHE_LOCK:
        cache.COMPILED.clear()
        cache.BUFFERS.clear()


@pytest.fixture
def programs(tmp_path, monkeypatch):
    """The program cache on, in a fresh folder; every load and export counted."""
    saved = {n: getattr(jax.config, n) for n in CONFIG}
    monkeypatch.delenv("JAXCALC_PROGRAM_CACHE", raising=False)
    enable_compilation_cache(str(tmp_path / "xla"))
    counts = {"loaded": 0, "missed": 0, "keys": []}
    load, program_key = exported.load, exported.program_key

    def counted_load(directory, key, specs):
        found = load(directory, key, specs)
        counts["loaded" if found is not None else "missed"] += 1
        return found

    def recorded_key(*parts):
        key = program_key(*parts)
        counts["keys"].append(key)
        return key

    monkeypatch.setattr(exported, "load", counted_load)
    monkeypatch.setattr(exported, "program_key", recorded_key)
    forget_programs()
    try:
        yield Path(cache.program_directory()), counts
    finally:
        forget_programs()
        for n, v in saved.items():
            jax.config.update(n, v)


def array_bytes(t) -> dict[str, bytes]:
    """Every array of a Trajectory, as bytes (float64 and float32 compared bit for bit)."""
    out = {}
    for field in dataclasses.fields(t):
        value = getattr(t, field.name)
        if isinstance(value, np.ndarray):
            out[field.name] = value.dtype.str.encode() + value.tobytes()
    return out


STARTS = np.random.default_rng(3).uniform(-2.0, 2.0, (12, 2))

CALLS = {
    "stacked adam (swept) and sgd": lambda x0: optimize_many(
        "rosenbrock",
        [("adam", {"learning_rate": [0.01, 0.05]}), ("sgd", {"learning_rate": 0.001})],
        x0,
        60,
        record_every=7,
    ),
    "lbfgs": lambda x0: [optimize("himmelblau", "lbfgs", x0, 40, record_every=5)],
    "newton": lambda x0: [optimize("booth", "newton", x0, 20)],
    "cma_es": lambda x0: [optimize("ackley", "cma_es", x0, 30, seed=4)],
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_loaded_program_gives_the_traced_programs_bits(programs, dtype, request, monkeypatch):
    request.getfixturevalue("x64" if dtype == "float64" else "x32")
    directory, counts = programs
    x0 = STARTS.astype(dtype)
    for name, call in CALLS.items():
        monkeypatch.setenv("JAXCALC_PROGRAM_CACHE", "0")
        forget_programs()
        traced = [array_bytes(t) for t in call(x0)]
        monkeypatch.delenv("JAXCALC_PROGRAM_CACHE")
        forget_programs()
        before = dict(counts)
        first = [array_bytes(t) for t in call(x0)]  # exported, stored
        forget_programs()
        second = [array_bytes(t) for t in call(x0)]  # loaded from the file
        assert counts["missed"] == before["missed"] + 1, name
        assert counts["loaded"] == before["loaded"] + 1, name
        assert first == traced, name
        assert second == traced, name
    assert len(list(directory.glob("*.exported"))) == len(CALLS)


_PROCESS = """
import sys
import numpy as np
from jax import export as jax_export
from jaxcalc import optimize_many
from jaxcalc.engine import enable_compilation_cache

enable_compilation_cache(sys.argv[1])
exports = []
original = jax_export.export
jax_export.export = lambda *a, **k: exports.append(1) or original(*a, **k)
x0 = np.random.default_rng(5).uniform(-2.0, 2.0, (20, 2)).astype(np.float32)
t = optimize_many("rosenbrock", [("adam", {"learning_rate": [0.01, 0.05]}),
                                  ("sgd", {"learning_rate": 0.001})], x0, 80, record_every=8)
np.savez(sys.argv[2], exports=len(exports), **{
    f"{i}_{k}": getattr(r, k) for i, r in enumerate(t)
    for k in ("params", "values", "grad_norms", "status", "final_params", "event_step")})
"""


def test_a_second_process_loads_the_program_and_gets_the_same_bits(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent(_PROCESS))
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    env.pop("JAXCALC_PROGRAM_CACHE", None)
    outs = []
    for i in range(2):
        out = tmp_path / f"out{i}.npz"
        subprocess.run(
            [sys.executable, str(script), str(tmp_path / "cache"), str(out)],
            env=env,
            check=True,
            capture_output=True,
        )
        outs.append(np.load(out))
    first, second = outs
    assert int(first["exports"]) == 1 and int(second["exports"]) == 0  # traced once
    assert first.files == second.files
    for k in set(first.files) - {"exports"}:
        assert first[k].dtype == second[k].dtype
        assert first[k].tobytes() == second[k].tobytes(), k


def test_what_determines_a_program_changes_its_key(programs, x32):
    """Objective parameters, swept or shared hyperparameters, dtype, steps, record_every:
    each gives another key (a miss); the same call again gives the same key (a hit)."""
    directory, counts = programs
    x0 = STARTS[:4, :1]

    def key(objective, x0=x0, steps=30, record_every=3, **hyper):
        forget_programs()
        run.precompile(objective, "adam", x0, steps, record_every=record_every, **hyper)
        return counts["keys"][-1]

    cos = get("d2l_x_cos_cx")
    base = key(cos, learning_rate=0.01)
    assert base is not None
    assert key(cos, learning_rate=0.02) == base  # a shared value is an input
    assert counts["loaded"] == 1
    variants = [
        key(get("d2l_x_cos_cx", c=0.5), learning_rate=0.01),
        key(cos, learning_rate=[0.01, 0.02]),  # swept
        key(cos, learning_rate=0.01, b1=[0.9, 0.8]),  # another one swept
        key(cos, steps=31, learning_rate=0.01),
        key(cos, record_every=5, learning_rate=0.01),
        key(cos, x0=np.tile(x0, (12, 1)), learning_rate=0.01),  # 48 runs: padded to 64, not 32
    ]
    with precision(True):
        variants.append(key(cos, x0=x0.astype(np.float64), learning_rate=0.01))
    assert len({base, *variants}) == len(variants) + 1
    assert counts["loaded"] == 1  # every variant was a miss


def test_an_unreadable_file_is_traced_again(programs, x32):
    directory, counts = programs
    x0 = STARTS.astype(np.float32)
    expected = [array_bytes(t) for t in CALLS["lbfgs"](x0)]
    (path,) = directory.glob("*.exported")
    whole = path.read_bytes()
    for i, broken in enumerate((whole[: len(whole) // 2], b"", b"not a pickle")):
        path.write_bytes(broken)
        forget_programs()
        missed = counts["missed"]
        assert [array_bytes(t) for t in CALLS["lbfgs"](x0)] == expected  # traced again
        assert counts["missed"] == missed + 1
        forget_programs()
        assert [array_bytes(t) for t in CALLS["lbfgs"](x0)] == expected  # written again
        assert counts["loaded"] == i + 1


def test_a_program_of_code_outside_jaxcalc_is_not_cached(programs, x32):
    directory, counts = programs
    t = optimize(lambda x: (x[0] - 1.0) ** 2 + x[1] ** 2, "adam", STARTS, 30, learning_rate=0.1)
    assert np.all(np.isfinite(t.values))
    assert counts["keys"] == [None]
    assert not list(directory.glob("*.exported"))


def test_the_program_cache_can_be_turned_off(programs, monkeypatch):
    assert cache.program_directory() is not None
    monkeypatch.setenv("JAXCALC_PROGRAM_CACHE", "0")
    assert cache.program_directory() is None


def test_describe_tells_apart_what_a_repr_would_not():
    a = np.zeros(5000)
    b = a.copy()
    b[2500] = 1.0
    assert repr(a) == repr(b)
    assert exported.describe(a) != exported.describe(b)
    assert exported.describe(0.1) != exported.describe(np.nextafter(0.1, 1.0).item())
    assert exported.describe(np.float32(1)) != exported.describe(np.float64(1))
    assert exported.describe(np.float64(0.5)) != exported.describe(0.5)  # float64 vs weak
    assert exported.describe({"a": 1, "b": 2}) != exported.describe({"b": 2, "a": 1})
    assert exported.describe(get("d2l_x_cos_cx")) != exported.describe(get("d2l_x_cos_cx", c=0.5))
    assert exported.describe(get("booth")) == exported.describe(get("booth"))
    trees = [jax.tree.structure(t) for t in ({"a": 0, "b": (0, 0)}, {"a": 0, "b": [0, 0]})]
    assert exported.describe(trees[0]) != exported.describe(trees[1])
    with pytest.raises(exported.Undescribable):
        exported.describe(lambda x: x)  # a function of this test module
    with pytest.raises(exported.Undescribable):
        exported.describe(object.__new__(type("Local", (), {})))
