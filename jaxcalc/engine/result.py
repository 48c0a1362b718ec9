"""What a batch of runs returns: :class:`Trajectory`, the statuses and their codes.

(Over 500 lines: the :class:`Trajectory`, the status codes it decodes and the assembly
of chunks into one Trajectory change together.)

Statuses (``Trajectory.status``), each with one example:

``converged``
    ``|grad f| <= gtol * max(1, |f| / max(1, max_i |x_i|))`` (absolute, or relative to f's
    size; see :func:`first_order`) at a point where the Hessian (checked when ``dim <= 32``) has no
    negative eigenvalue and f is not flat to rounding (checked in every dimension; see
    ``stalled``): ``gd`` on ``x^2`` from 1 (learning rate 0.1). Above 32 dimensions a
    saddle or maximum can be reported ``converged``.
``max_steps``
    ran all ``steps`` without meeting a stopping test: ``gd`` on Rosenbrock from
    ``(-1.2, 1)`` for 50 steps at learning rate 1e-5.
``diverged_nonfinite``
    f, its gradient or the point became inf/NaN; ``event_step`` is the first bad step and
    the recorded point is the last finite one: ``gd`` on ``x^4`` from 10 at learning rate
    0.1 (NaN at step 3).
``diverged``
    the point ran away (``max|x| > x_limit``) while f did not decrease, or on an objective
    bounded below (a declared ``lower_bound`` or ``f_opt``): ``newton`` on Rosenbrock from
    ``(1e16, 1e16)``.
``unbounded``
    f fell below ``-f_limit``, or the point ran away while f decreased, on an objective
    with no known lower bound: ``gd`` on ``x^3`` from -1.
``stalled``
    the method could make no progress (its line search found no acceptable step, or the
    point did not move) for ``patience`` consecutive steps: ``gd`` on ``x^2`` from 1 in
    float32 at learning rate 1e-12 (each step rounds back to the same point). Also a run
    that met the gradient test on a plateau (in any dimension): f nonzero and constant to
    rounding a unit step away in four directions, its gradient below ``eps |f|``, where
    f, the gradient and the curvature underflowed rather than vanished at a minimum:
    ``gd`` on ``1 - exp(-x^2)`` from 7.
``domain_error_at_start``
    f or its gradient is not finite at the start, outside f's domain: ``x - log(x)`` from
    ``x = -1`` (NaN) or ``x = 0`` (a pole).
``overflow``
    f or its gradient overflowed the working dtype at the start, where they are finite in
    float64: Rosenbrock from ``(1e15, 1e15)`` in float32 (f ~ 1e62). Use float64 or a
    start nearer the domain.
``non_minimum``
    stopped at a stationary point whose Hessian has a negative eigenvalue (a maximum or
    saddle), including a start exactly on one: ``gd`` on ``-x^2`` from 0.
``flat_start``
    the gradient is exactly zero at the start but the point is not a verified minimum:
    ``gd`` on ``x^3`` from 0.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "CODE",
    "STATUSES",
    "Trajectory",
    "counts_at_records",
    "first_order",
    "pack_stopped",
    "step_counts",
    "unpack_codes",
]

STATUSES = (
    "max_steps",
    "converged",
    "diverged_nonfinite",
    "diverged",
    "unbounded",
    "stalled",
    "domain_error_at_start",
    "non_minimum",
    "flat_start",
    "overflow",
)
#: each status's integer code in the compiled program
CODE = {name: i for i, name in enumerate(STATUSES)}
MAX_STEPS = 10_000_000
_EVENT_BITS = 24  # steps <= MAX_STEPS < 2**24


@dataclass(frozen=True)
class Trajectory:
    """The recorded paths of a batch of runs, as NumPy arrays.

    With ``B`` starts, sweep shape ``S`` (one axis per swept hyperparameter, in the order
    given) and ``R = steps // record_every`` records after the start:

    Attributes:
      params: ``S + (B, R+1, D)``; ``params[..., 0, :]`` is the start.
      values: ``S + (B, R+1)``, f at the recorded points.
      grad_norms: ``S + (B, R+1)``, Euclidean norm of the gradient there.
      status: ``S + (B,)`` strings (see the module docstring).
      event_step: ``S + (B,)``: the step where the run converged, first went non-finite,
        diverged, stalled or proved unbounded; -1 for ``max_steps``.
      function_evaluations, gradient_evaluations, hessian_evaluations: ``S + (B,)``.
      best_values: ``S + (B, R+1)``, the least f among the points the run stepped to up
        to each record (the start included; a minibatch objective: among the records).
      record_counts: ``S + (B, R+1, 3)`` ints, the run's cumulative f, gradient and
        Hessian evaluations at each record, for a method whose counts per step vary (line
        searches); None for one with constant counts, whose :attr:`step_counts` give them
        (:meth:`evaluations_at_records` gives them for both).
      step_counts: ``(2, 3)``: the (f, gradient, Hessian) evaluations at the start and per
        step of a method whose counts per step are constants; else None.
      resets: ``S + (B,)``, curvature-model resets (BFGS).
      final_params: ``S + (B, D)`` after the last step; final_values: ``S + (B,)``.
      hyperparameters: every hyperparameter; swept ones as arrays of their sweep values.
      sweep: the names of the swept hyperparameters, one per leading axis.
      compile_seconds, run_seconds: XLA compilation and execution wall time.
      metrics: the optimizer's extra per-run numbers at the final point, ``S + (B,)`` each
        (e.g. ``constraint_violation``; see ``Optimizer.final_metrics``).
      recorded: the objective's own numbers at every record, ``S + (B, R+1)`` each (an
        objective from data: ``train_accuracy``, ``heldout_loss``, ``heldout_accuracy``).
      param_tree: for parameters given as a pytree, one start's
        :class:`~jaxcalc.trees.Template` (``params`` then holds the flattened leaves;
        :attr:`params_tree` and :attr:`final_params_tree` give them per leaf); else None.
      hyperparameter_history: each hyperparameter given as a schedule, ``S + (R+1,)``:
        the value used by the step that produced each record (step
        ``i * record_every - 1`` for record ``i``; NaN at the start, record 0). A run
        that stopped earlier (``event_step``) took no such step.
      schedules: each hyperparameter given as a schedule, as text (its function and
        arguments; ``schedule <name>`` for a callable other than optax's), for display.

    A single start (D,) gives the same fields without the ``B`` axis.
    """

    objective: str
    optimizer: str
    steps: int
    record_every: int
    params: np.ndarray
    values: np.ndarray
    grad_norms: np.ndarray
    status: np.ndarray
    event_step: np.ndarray
    function_evaluations: np.ndarray
    gradient_evaluations: np.ndarray
    hessian_evaluations: np.ndarray
    resets: np.ndarray
    final_params: np.ndarray
    final_values: np.ndarray
    hyperparameters: dict[str, Any]
    sweep: tuple[str, ...] = ()
    compile_seconds: float = 0.0
    run_seconds: float = 0.0
    devices: int = 1
    chunks: int = 1
    extras: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, np.ndarray] = field(default_factory=dict)
    recorded: dict[str, np.ndarray] = field(default_factory=dict)
    param_tree: Any = None
    hyperparameter_history: dict[str, np.ndarray] = field(default_factory=dict)
    best_values: np.ndarray | None = None
    record_counts: np.ndarray | None = None
    step_counts: np.ndarray | None = None
    schedules: dict[str, str] = field(default_factory=dict)

    def evaluations_at_records(self, kind: int | None = None) -> np.ndarray | None:
        """Cumulative evaluations at each record: ``S + (B, R+1, 3)`` (f, gradient,
        Hessian), or ``S + (B, R+1)`` of one ``kind`` (0, 1, 2); None when the trajectory
        has no counts per record."""
        if self.record_counts is not None:
            return self.record_counts if kind is None else self.record_counts[..., kind]
        if self.step_counts is None:
            return None
        taken = np.where(self.event_step >= 0, self.event_step, self.steps)
        kinds = range(3) if kind is None else [kind]
        out = [
            counts_at_records(
                self.step_counts[0, k], self.step_counts[1, k], taken, self.recorded_steps
            )
            for k in kinds
        ]
        return np.stack(out, axis=-1) if kind is None else out[0]

    @property
    def params_tree(self) -> Any:
        """The recorded points per leaf: leaves ``S + (B, R+1) + leaf_shape`` (pytree
        parameters only; None otherwise)."""
        return None if self.param_tree is None else self.param_tree.unflatten(self.params)

    @property
    def final_params_tree(self) -> Any:
        """The final points per leaf: leaves ``S + (B,) + leaf_shape`` (pytree parameters)."""
        if self.param_tree is None:
            return None
        return self.param_tree.unflatten(self.final_params)

    @property
    def recorded_steps(self) -> np.ndarray:
        """The step number of each record: ``0, record_every, 2*record_every, ...``."""
        return np.arange(self.values.shape[-1]) * self.record_every

    def status_counts(self, by_setting: bool = False) -> dict[str, int] | list[dict[str, Any]]:
        """How many runs ended with each status.

        Args:
          by_setting: False (default): one ``{status: count}`` over every run of every
            swept setting. True: one row per setting of the sweep, in sweep order (a single
            row without a sweep): the swept hyperparameters' values, ``runs``, then a count
            for every status that occurs in any setting (0 where none did), so the rows
            make a table (``pandas.DataFrame(rows)``).

        Example:
          >>> t.status_counts(by_setting=True)  # learning_rate=[1e-3, 1e-1], 100 starts
          [{'learning_rate': 0.001, 'runs': 100, 'converged': 3, 'max_steps': 97},
           {'learning_rate': 0.1, 'runs': 100, 'converged': 100, 'max_steps': 0}]
        """
        if not by_setting:
            names, counts = np.unique(self.status, return_counts=True)
            return {str(n): int(c) for n, c in zip(names, counts, strict=True)}
        present = [str(n) for n in np.unique(self.status)]
        sweep_shape = self.status.shape[: len(self.sweep)]
        rows = []
        for index in np.ndindex(*sweep_shape):
            runs = np.asarray(self.status[index]).reshape(-1)
            setting = {
                k: float(np.asarray(self.hyperparameters[k])[i])
                for k, i in zip(self.sweep, index, strict=True)
            }
            counts = {name: int(np.count_nonzero(runs == name)) for name in present}
            rows.append({**setting, "runs": int(runs.size), **counts})
        return rows

    def to_numpy(self) -> dict[str, np.ndarray]:
        """Every array field, by name."""
        return {
            name: getattr(self, name)
            for name in (
                "params",
                "values",
                "grad_norms",
                "status",
                "event_step",
                "function_evaluations",
                "gradient_evaluations",
                "hessian_evaluations",
                "resets",
                "final_params",
                "final_values",
                "best_values",
            )
        }

    def to_table(self) -> list[dict[str, Any]]:
        """A tidy table: one row per run, with its hyperparameters, status and counts."""
        sweep_shape = self.status.shape[: len(self.sweep)]
        starts = self.status.shape[len(self.sweep) :]
        rows = []
        for index in itertools.product(*(range(n) for n in sweep_shape)):
            hyper = {
                k: (float(v[index[self.sweep.index(k)]]) if k in self.sweep else v)
                for k, v in self.hyperparameters.items()
            }
            for start in itertools.product(*(range(n) for n in starts)):
                i = index + start
                rows.append(
                    {
                        "objective": self.objective,
                        "optimizer": self.optimizer,
                        **hyper,
                        "start": int(start[0]) if start else 0,
                        "status": str(self.status[i]),
                        "final_value": float(self.final_values[i]),
                        "event_step": int(self.event_step[i]),
                        "function_evaluations": int(self.function_evaluations[i]),
                        "gradient_evaluations": int(self.gradient_evaluations[i]),
                        "hessian_evaluations": int(self.hessian_evaluations[i]),
                        **{f"final_{k}": float(v[i][-1]) for k, v in self.recorded.items()},
                    }
                )
        return rows

    # ---------------------------------------------------------------------------------
    # Display: short text, an HTML table in notebooks, a figure, a data frame

    def _summary(self) -> dict[str, str]:
        """What the repr and the HTML table show, as text."""
        # a schedule is shown whole, its float parameters (learning_rate.init_value) inside
        inside = tuple(f"{name}." for name in self.schedules)
        hyper = ", ".join(
            [f"{k}={text}" for k, text in self.schedules.items()]
            + [
                f"{k}={_short(v)}"
                for k, v in self.hyperparameters.items()
                if _displayable(v) and not k.startswith(inside)
            ]
        )
        lead = self.status.shape
        sweep = " x ".join(f"{k} ({n})" for k, n in zip(self.sweep, lead, strict=False))
        starts = lead[len(self.sweep) :]
        runs = int(np.prod(lead)) if lead else 1
        n_starts = starts[0] if starts else 1
        shape = f"{n_starts} start{'s' if n_starts != 1 else ''}"
        if sweep:
            shape = f"{sweep} x {shape}"
        dim = self.params.shape[-1]
        finals = np.asarray(self.final_values, np.float64).reshape(-1)
        finite = finals[np.isfinite(finals)]
        best = f"{finite.min():.6g}" if finite.size else "none finite"
        counts = ", ".join(f"{k} {v}" for k, v in self.status_counts().items())
        return {
            "objective": self.objective,
            "optimizer": self.optimizer,
            "hyperparameters": hyper or "no hyperparameters known",
            "runs": f"{runs} run{'s' if runs != 1 else ''} ({shape}), dim {dim}, "
            f"{self.steps} steps, recorded every {self.record_every}",
            "status": counts,
            "best f": best,
        }

    def __repr__(self) -> str:
        s = self._summary()
        return (
            f"Trajectory({s['optimizer']} on {s['objective']}; {s['hyperparameters']}; "
            f"{s['runs']}; status: {s['status']}; best f {s['best f']})"
        )

    def _repr_html_(self) -> str:
        from html import escape

        rows = "".join(
            f"<tr><th style='text-align:left'>{escape(k)}</th>"
            f"<td style='text-align:left'>{escape(v)}</td></tr>"
            for k, v in self._summary().items()
        )
        return f"<table><caption>Trajectory</caption>{rows}</table>"

    def plot(self, *, objective: Any = None, kind: str = "auto", ax: Any = None) -> Any:
        """Convergence bands (median f and quartiles over the starts, one per setting) and,
        for an objective of two or more dimensions, the paths on its contour.

        See :func:`jaxcalc.plotting.plot_trajectory`; returns the axes drawn into.
        """
        from jaxcalc.plotting import plot_trajectory

        return plot_trajectory(self, objective=objective, kind=kind, ax=ax)

    def to_pandas(self) -> Any:
        """:meth:`to_table` as a ``pandas.DataFrame``: one row per run, with its final
        point as columns ``x1``, ``x2``, ...

        Raises:
          ImportError: pandas is not installed (``pip install pandas``).
        """
        try:
            import pandas
        except ImportError:
            raise ImportError(
                "Trajectory.to_pandas needs pandas, which is not installed: "
                "pip install pandas (or jaxcalc[pandas])"
            ) from None
        table = pandas.DataFrame(self.to_table())
        finals = np.asarray(self.final_params, np.float64).reshape(len(table), -1)
        # one frame of every coordinate, joined once: a column at a time would fragment
        # the frame (a pandas PerformanceWarning per column past 100 for a model)
        point = pandas.DataFrame(
            finals, columns=[f"x{d + 1}" for d in range(finals.shape[1])], index=table.index
        )
        return pandas.concat([table, point], axis=1)


def _displayable(value: Any) -> bool:
    return isinstance(value, int | float | str | bool | np.ndarray | np.generic)


def _short(value: Any) -> str:
    """A hyperparameter as short text: a number with 4 digits, a sweep as its values."""
    if isinstance(value, np.ndarray):
        items = ", ".join(f"{float(v):.4g}" for v in value.reshape(-1)[:6])
        return f"[{items}{', ...' if value.size > 6 else ''}]"
    if isinstance(value, float | np.floating):
        return f"{float(value):.4g}"
    return str(value)


def first_order(
    squared_norm: jax.Array, value: jax.Array, x_size: jax.Array, gtol: float
) -> jax.Array:
    """The first-order test, from ``|grad f|^2``, f and ``max_i |x_i|``::

        |grad f| <= gtol * max(1, |f| / max(1, max_i |x_i|))

    Either the absolute test ``|grad f| <= gtol``, or Dennis and Schnabel's relative
    gradient (Numerical Methods for Unconstrained Optimization, 1983, section 7.2), in norms
    and with typical sizes 1: ``|grad f| max(1, |x|) / max(1, |f|) <= gtol``. The relative
    test lets f be known only to its rounding, ``eps |f|``: on ``f = c (1 + x^2)`` it holds
    at the same points for every ``c >= 1``, where an absolute test asks ``c = 1e6`` for a
    gradient 1e6 times finer. Scaling by ``|x|`` keeps it from holding far out on a function
    that grows, such as ``x^2`` at ``x = 1e9`` (``|f| / |x|`` is then ``|grad f| / 2``).
    A gradient whose square overflows fails the test.
    """
    bound = gtol * jnp.maximum(1.0, jnp.abs(value) / jnp.maximum(1.0, x_size))
    return (squared_norm <= bound * bound) & (squared_norm < jnp.inf)


def pack_stopped(status: jax.Array, step: Any) -> jax.Array:
    """The engine's per-run code of a run that stopped with ``status`` at ``step``.

    A running run's code is its number of failed steps in a row (>= 0); a stopped run's is
    negative and holds its status and event step, so the loop carries one int32 per run.
    """
    return -((status.astype(jnp.int32) << _EVENT_BITS) | step) - 1


def unpack_codes(code: jax.Array, running: int) -> tuple[jax.Array, jax.Array]:
    """Status and event step (-1 for a run that never stopped) from the codes."""
    packed = -code - 1
    status = jnp.where(code >= 0, running, packed >> _EVENT_BITS).astype(jnp.int32)
    event = jnp.where(code >= 0, -1, packed & ((1 << _EVENT_BITS) - 1)).astype(jnp.int32)
    return status, event


def runs_first(out: dict[str, Any], keep: int) -> dict[str, np.ndarray]:
    """Host arrays with the run axis first (the time-major records become views)."""
    host = {}
    for name, value in out.items():
        a = np.asarray(value)
        if name == "records":  # (R+1, D+3, N): the point, f, |grad f|, best f so far
            d = a.shape[1] - 3
            host["params"] = a[:, :d].transpose(2, 0, 1)[:keep]  # (N, R+1, D)
            host["values"] = a[:, d].T[:keep]  # (N, R+1)
            host["grad_norms"] = a[:, d + 1].T[:keep]
            host["best_values"] = a[:, d + 2].T[:keep]
        else:
            host[name] = a[:keep]
    return host


def counts_at_records(
    start: np.ndarray, per_step: np.ndarray, steps_run: np.ndarray, recorded_steps: np.ndarray
) -> np.ndarray:
    """Cumulative counts at each record ``steps_run.shape + (R+1,)`` of a method whose count
    per step is the constant ``per_step``: ``start`` plus ``per_step`` for every step taken
    up to the record (a run takes no step after ``steps_run``)."""
    at = np.minimum(np.asarray(recorded_steps)[(None,) * np.ndim(steps_run)], steps_run[..., None])
    return (np.asarray(start) + np.asarray(per_step) * at).astype(np.int32)


def step_counts(t: Trajectory, start: tuple[int, int, int]) -> np.ndarray:
    """A trajectory's (f, gradient, Hessian) evaluations at the start (``start``, the
    engine's) and per step ``(2, 3)``, for a method whose counts per step are constants,
    from its totals."""
    taken = np.where(t.event_step >= 0, t.event_step, t.steps).reshape(-1)
    totals = [
        np.asarray(getattr(t, name)).reshape(-1).astype(np.int64)
        for name in ("function_evaluations", "gradient_evaluations", "hessian_evaluations")
    ]
    out = np.zeros((2, 3), np.int64)
    out[0] = start
    moved = np.flatnonzero(taken > 0)
    if moved.size:
        i = moved[0]
        out[1] = [(total[i] - out[0, k]) // taken[i] for k, total in enumerate(totals)]
    return out


def merge_chunks(pieces: list[dict[str, np.ndarray]], records: np.ndarray) -> dict:
    """The chunks' arrays as one job's: the small ones concatenated; the records are
    already one host array of all runs (each chunk copied its own in)."""
    merged = {k: np.concatenate([p[k] for p in pieces]) for k in pieces[0]}
    merged.update(runs_first({"records": records}, records.shape[-1]))
    return merged


def assemble(
    merged: dict[str, np.ndarray],
    grids: Any,
    n_starts: int,
    single: bool,
    *,
    objective: str,
    program: str,
    steps: int,
    record_every: int,
    extras: dict[str, Any],
    compile_seconds: float,
    run_seconds: float,
    devices: int,
    chunks: int,
) -> list[Trajectory]:
    """One :class:`Trajectory` per grid (an optimizer's runs, consecutive in ``merged``).

    A program's seconds are shared out between the grids in proportion to their runs;
    with several grids, ``extras["program"]`` names the stacked program that ran them.
    """
    runs = sum(g.runs for g in grids)
    trajectories = []
    offset = 0
    for grid in grids:
        lead = (*grid.sweep_shape, n_starts) if grid.sweep else (n_starts,)

        def shaped(a: np.ndarray, lead=lead, lo=offset, hi=offset + grid.runs) -> np.ndarray:
            a = a[lo:hi].reshape(lead + a.shape[1:])
            return np.take(a, 0, axis=len(lead) - 1) if single else a

        offset += grid.runs
        arrays = {k: shaped(v) for k, v in merged.items()}
        metrics = {
            k.split(":", 1)[1]: arrays.pop(k) for k in list(arrays) if k.startswith("metric:")
        }
        recorded = {
            k.split(":", 1)[1]: arrays.pop(k) for k in list(arrays) if k.startswith("record:")
        }
        arrays["status"] = np.asarray(np.asarray(STATUSES)[arrays["status"]])
        hyper_record = {
            k: (np.asarray(v, np.float64) if k in grid.sweep else v)
            for k, v in grid.resolved.items()
        }
        # who shared the program (its seconds are shared out by runs)
        shared = {"program": program} if len(grids) > 1 else {}
        trajectories.append(
            Trajectory(
                objective=objective,
                optimizer=grid.method.name,
                steps=int(steps),
                record_every=int(record_every),
                hyperparameters=hyper_record,
                sweep=grid.sweep,
                compile_seconds=compile_seconds * grid.runs / runs,
                run_seconds=run_seconds * grid.runs / runs,
                devices=devices,
                chunks=chunks,
                extras={**extras, **shared},
                metrics=metrics,
                recorded=recorded,
                **arrays,
            )
        )
    return trajectories
