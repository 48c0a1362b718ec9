"""One run over several processes, on JAX's own multi-process runtime (``jax.distributed``).

After :func:`initialize` (or the user's own ``jax.distributed.initialize``), the engine
shards its lanes over every device of every process (``jax.devices()``) rather than this
process's (``jax.local_devices()``), and :func:`gather` brings each program's outputs to
every process as host arrays. Every process must make the same engine calls in the same
order, as SPMD programs do; an experiment does, since every process plans the same groups
from the same config and seed. On CPU the processes exchange data through Gloo.
"""

from __future__ import annotations

import os
from typing import Any

from jaxcalc.errors import ConfigError, ResourceError

__all__ = [
    "from_environment",
    "gather",
    "initialize",
    "is_distributed",
    "is_writer",
    "process_index",
]

#: seconds to wait for the coordinator and every process before giving up
DEFAULT_TIMEOUT = 60


def is_distributed() -> bool:
    """True when this process is one of several (``jax.distributed`` is initialized)."""
    import jax

    return jax.process_count() > 1


def process_index() -> int:
    """This process's index among the processes of the run (0 when alone)."""
    import jax

    return jax.process_index()


def is_writer() -> bool:
    """True in the process that writes results: process 0 (or the only one)."""
    import jax

    return jax.process_index() == 0


def gather(tree: Any) -> Any:
    """The outputs of a program run over every process's devices, as host arrays held
    whole by every process (each process must call it, in the same order)."""
    from jax.experimental import multihost_utils

    return multihost_utils.process_allgather(tree, tiled=True)


def from_environment(environ: dict[str, str] | None = None) -> bool:
    """True inside a Slurm job step of several tasks (``srun`` with ``SLURM_NTASKS`` > 1),
    where :func:`initialize` reads the coordinator and process ids from Slurm."""
    env = os.environ if environ is None else environ
    try:
        return int(env.get("SLURM_NTASKS", "1")) > 1 and "SLURM_PROCID" in env
    except ValueError:
        raise ConfigError(
            f"SLURM_NTASKS={env.get('SLURM_NTASKS')!r} is not a whole number"
        ) from None


def initialize(
    coordinator: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> None:
    """Join (or, as process 0, start) a run of several processes.

    With no arguments the coordinator, the number of processes and this process's id come
    from the cluster's environment (Slurm, Open MPI), as ``jax.distributed`` reads them;
    otherwise all three are given, named as JAX names them. Call it before any other JAX
    computation.

    Raises:
      ConfigError: a malformed coordinator address, a process id outside
        ``0..num_processes-1``, or a partial set of arguments.
      ResourceError: the coordinator or the other processes could not be reached within
        ``timeout`` seconds.
    """
    import jax

    given = [coordinator is not None, num_processes is not None, process_id is not None]
    if any(given) and not all(given):
        raise ConfigError(
            "distributed run: give --coordinator HOST:PORT, --num-processes N and "
            "--process-id I together (or none of them, inside a Slurm job step)"
        )
    if coordinator is not None:
        host, _, port = coordinator.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"--coordinator {coordinator!r}: give HOST:PORT, e.g. node001:12345")
        if num_processes < 1:
            raise ConfigError(f"--num-processes {num_processes}: must be at least 1")
        if not 0 <= process_id < num_processes:
            raise ConfigError(
                f"--process-id {process_id}: must be in 0..{num_processes - 1} "
                f"(--num-processes {num_processes})"
            )
    if not timeout > 0:
        raise ConfigError(f"--coordinator-timeout {timeout}: must be a positive number of seconds")
    if coordinator is not None and process_id != 0:
        _wait_for(coordinator, timeout)
    # CPU devices of different processes exchange data through Gloo (no effect on GPUs)
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    try:
        jax.distributed.initialize(
            coordinator_address=coordinator,
            num_processes=num_processes,
            process_id=process_id,
            initialization_timeout=max(1, int(round(timeout))),
        )
    except (RuntimeError, ValueError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        where = coordinator or "the coordinator named by the cluster's environment"
        raise ResourceError(
            f"distributed run: could not join {where} within {timeout:g} s as process "
            f"{process_id if process_id is not None else '?'} of "
            f"{num_processes if num_processes is not None else '?'} ({first[:200]})"
        ) from None


def _wait_for(coordinator: str, timeout: float) -> None:
    """Wait until the coordinator accepts connections (JAX's own client ends the process
    without a Python error when it cannot register, so it is tried here first)."""
    import socket
    import time

    host, _, port = coordinator.rpartition(":")
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=1.0):
                return
        except OSError as err:
            if time.monotonic() >= deadline:
                raise ResourceError(
                    f"distributed run: could not reach the coordinator {coordinator} within "
                    f"{timeout:g} s ({err.strerror or err}); start process 0 there first, or "
                    "raise --coordinator-timeout"
                ) from None
            time.sleep(0.2)
