"""The working memory of ``jc.hypergradient`` with and without checkpointed blocks.

XLA's own estimate of the compiled program's temporary memory (``memory_analysis``), for
256 adam runs on Rosenbrock in float64, at 1000 and 4000 steps: the default blocks of
``isqrt(steps)`` steps under ``jax.checkpoint``, against one block of all steps (every
step's state kept for the backward pass).

Usage:
    python benchmarks/hypergradient_memory.py
"""

from __future__ import annotations

import math

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402

from jaxcalc.engine.hypergradient import _program  # noqa: E402
from jaxcalc.optimizers import get_optimizer  # noqa: E402

RUNS = 256


def rosenbrock(x):
    return 100.0 * (x[1] - x[0] ** 2) ** 2 + (1.0 - x[0]) ** 2


def main() -> None:
    method = get_optimizer("adam")
    x0 = jnp.zeros((RUNS, 2))
    values = {k: jnp.full((RUNS,), v) for k, v in method.defaults.items() if v is not None}
    seeds = jnp.zeros((RUNS,), jnp.uint32)
    print(f"jax {jax.__version__}; {RUNS} adam runs on Rosenbrock, float64, d(final f)/d(lr)")
    print(f"{'steps':>6s} {'block':>6s} {'temp MiB':>9s}")
    for steps in (1000, 4000):
        for block in (math.isqrt(steps), steps):
            program = _program(method, rosenbrock, steps, block, "final", ("learning_rate",), {})
            analysis = program.lower(x0, values, seeds, seeds).compile().memory_analysis()
            print(f"{steps:6d} {block:6d} {analysis.temp_size_in_bytes / 2**20:9.2f}")


if __name__ == "__main__":
    main()
