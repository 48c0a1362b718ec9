"""Helpers shared by the tests (importable because pytest puts tests/ on the path)."""

from __future__ import annotations

import contextlib

import jax

from jaxcalc.cli import main


@contextlib.contextmanager
def precision(x64: bool):
    """Run a block with JAX's x64 mode set as asked, restoring the previous mode after."""
    previous = bool(jax.config.jax_enable_x64)
    jax.config.update("jax_enable_x64", x64)
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", previous)


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    """Run the CLI in this process, restoring the JAX flags it sets (x64, matmul precision)."""
    saved = (jax.config.jax_enable_x64, jax.config.jax_default_matmul_precision)
    try:
        code = main(list(args))
    finally:
        jax.config.update("jax_enable_x64", saved[0])
        jax.config.update("jax_default_matmul_precision", saved[1])
    out, err = capsys.readouterr()
    return code, out, err


# A Trajectory's per-run arrays: what "the same result" compares (records, statuses, counts)
TRAJECTORY_FIELDS = (
    "params",
    "values",
    "grad_norms",
    "status",
    "event_step",
    "function_evaluations",
    "gradient_evaluations",
    "hessian_evaluations",
)


def forced_devices_env(count: int) -> dict[str, str]:
    """Environment for a fresh float64 CPU process that splits the CPU into ``count``
    virtual devices (any other XLA_FLAGS kept), importing this checkout's jaxcalc."""
    import os

    env = dict(os.environ, JAX_PLATFORMS="cpu", JAX_ENABLE_X64="1")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
    flag = "--xla_force_host_platform_device_count"
    kept = [f for f in env.get("XLA_FLAGS", "").split() if not f.startswith(flag)]
    env["XLA_FLAGS"] = " ".join([*kept, f"{flag}={count}"])
    return env
