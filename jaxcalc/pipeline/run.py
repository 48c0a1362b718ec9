"""Plan -> engine calls -> result files: :func:`run_experiment`.

Each finished group is written atomically as one part file (``group_NNN.npz``: its arrays
and its table rows), then listed in ``manifest.json`` with the config hash and the
jaxcalc/JAX versions (:mod:`~jaxcalc.pipeline.record`). Ctrl-C or SIGTERM stops the run
after the current group, a second one abandons it (:mod:`~jaxcalc.pipeline.interrupt`);
the manifest then says "interrupted", the tables and the report cover the finished groups,
and ``resume=True`` computes only the groups that are missing. Batches compile in background
threads, two at once, the next ones while a batch runs (:mod:`~jaxcalc.pipeline.ahead`), and
a batch's groups are summarised and written in another thread while the next batch runs
(:class:`_Writes`).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from jaxcalc.engine import distributed
from jaxcalc.errors import JaxcalcError, OutputError
from jaxcalc.pipeline import comparisons, tables
from jaxcalc.pipeline.ahead import CompileAhead
from jaxcalc.pipeline.folder import OutputFolder
from jaxcalc.pipeline.interrupt import RunInterrupted, StopRequest
from jaxcalc.pipeline.plan import Batch, Group, GroupPlan
from jaxcalc.pipeline.progress import Progress
from jaxcalc.pipeline.record import RunRecord, now, schedule_rows
from jaxcalc.pipeline.results import (
    write_comparison_tables,
    write_csv,
    write_group_part,
    write_tables,
)
from jaxcalc.pipeline.shard import Shard, shard_batches

__all__ = ["GROUP_FILE", "RunInterrupted", "run_experiment", "write_finished_tables"]

GROUP_FILE = "group_{index:03d}.npz"

#: batches after the current one whose programs are compiled ahead, in background threads,
#: while it runs and its results are written (0: none; each batch compiles when it runs)
_LOOKAHEAD = 2
#: computed batches that may wait to be written by the writer thread (:class:`_Writes`),
#: and the most bytes of their arrays held waiting (one batch waits whatever its size)
_WRITE_BEHIND = 4
_WRITE_BEHIND_BYTES = 512 << 20


def run_experiment(
    config: Any,
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    resume: bool = False,
    progress: Callable[[str], None] | None = None,
    display: str = "auto",
    report: bool = True,
    shard: Shard | None = None,
) -> Path:
    """Run every (objective, optimizer) group of ``config`` and write the results.

    Writes one ``group_NNN.npz`` part per group (thinned trajectories and the group's
    table rows), ``manifest.json`` (finished groups, config hash, versions, status),
    ``summary.csv`` and ``runs.csv`` (plus ``.parquet`` twins when pyarrow is installed),
    ``metadata.json`` (resolved config, its hash, versions, platform, times, status) and,
    unless ``report=False``, the figures and ``report.md``.

    Args:
      config: a validated :class:`~jaxcalc.pipeline.ExperimentConfig`.
      overwrite: write into a folder that already holds results.
      resume: continue the run in ``out_dir``: finished groups are kept, the rest computed.
        Refused (``OutputError``) when the config hash or the jaxcalc/JAX versions differ.
      progress: called with one line per finished group (and notes).
      display: progress on stderr: "auto" (a bar on a terminal, one line per group
        otherwise), "bar", "log" or "off".
      report: draw the figures and write ``report.md``.
      Run as one of several processes (:mod:`jaxcalc.engine.distributed`), every process
      computes and only process 0 writes to ``out_dir``.
      shard: compute only this shard's batches of groups (:mod:`~jaxcalc.pipeline.shard`);
        its groups' numbers are those of the unsharded run, and ``jaxcalc merge`` joins
        the shards' folders into the results of one run. A shard draws no report. A
        config with ``[tuning]`` cannot be sharded.

    A config with ``[tuning]`` runs in two stages (:mod:`~jaxcalc.pipeline.tuning`): the
    search into ``tuning/`` and ``tuning.csv``, then the comparison with the chosen
    settings into ``out_dir``.

    Returns:
      The absolute path of the output folder.

    Raises:
      RunInterrupted: after Ctrl-C or SIGTERM, once the finished groups, tables, manifest
        and report are written (a ``KeyboardInterrupt``).
    """
    tuning = getattr(config, "tuning", None)
    if tuning is not None and tuning.chosen is None:  # tune first, then compare
        return _run_tuned(config, out_dir, overwrite, resume, progress, display, report, shard)
    if distributed.is_distributed() and not distributed.is_writer():
        # a run over several processes: every process computes (the programs span all
        # their devices); only process 0 writes, the others into a folder they remove
        with tempfile.TemporaryDirectory(prefix="jaxcalc-process-") as scratch:
            _run(config, OutputFolder(scratch, overwrite=True), None, "off", False, shard)
        return Path(out_dir).expanduser().resolve()
    folder = OutputFolder(out_dir, overwrite=overwrite, resume=resume)
    return _run(config, folder, progress, display, report, shard)


def _run_tuned(config, out_dir, overwrite, resume, progress, display, report, shard) -> Path:
    """The tuning stage into ``out_dir/tuning``, the choice into ``tuning.csv``, then the
    comparison with the chosen settings (:mod:`~jaxcalc.pipeline.tuning`); ``resume``
    continues whichever stage was cut short."""
    from jaxcalc.pipeline import tuning

    out = tuning.prepare_folder(out_dir, overwrite, resume, shard)
    stage = tuning.tuning_stage(config)
    again = tuning.resumes(out / tuning.TUNING_DIR, resume)
    run_experiment(stage, out / tuning.TUNING_DIR, overwrite=not again, resume=again,
                   progress=progress, display=display, report=False)  # fmt: skip
    comparison = tuning.record_choice(config, stage, out)
    again = tuning.resumes(out, resume)
    return run_experiment(comparison, out, overwrite=not again, resume=again,
                          progress=progress, display=display, report=report)  # fmt: skip


def _run(
    config: Any,
    folder: OutputFolder,
    progress: Callable[[str], None] | None,
    display: str,
    report: bool,
    shard: Shard | None,
) -> Path:
    """:func:`run_experiment` into ``folder``."""
    resume = folder.resume
    plan = GroupPlan(config)
    # the batches of groups that share a program; a shard's are whole batches of these
    batches = shard_batches(plan, 1 if shard is None else shard.count)
    batches = batches[0 if shard is None else shard.index]
    if shard is not None:
        report = False
    expected = [g for batch in batches for g in batch]
    total = len(expected)
    with folder:
        out = folder.path
        # notes while loading: a lock taken over, files cleaned, groups to recompute
        notes = Progress(total, 0, "off" if display == "off" else "log", callback=progress)
        for note in folder.notes:
            notes.line(f"jaxcalc: {note}")
        try:
            record = RunRecord(out, config, len(plan), resume, notes.line, shard, expected)
            record.save("running")
        except BaseException:
            if folder.created:  # a refused or failed start leaves no folder behind
                with contextlib.suppress(Exception):
                    folder.discard()
            raise
        show = Progress(total, len(record.finished), display, callback=progress)
        if record.finished:
            show.line(
                f"jaxcalc: resuming {config.name}: {len(record.finished)} of {total} groups "
                f"already finished in {out}"
            )
        writer = _GroupWriter(out, config, record, show, total)
        try:
            early = _prepare_report if report else None
            try:
                stop_signal = _run_batches(
                    plan, batches, record, writer, echo=display != "off", while_compiling=early
                )
            except BaseException as err:
                if not isinstance(err, KeyboardInterrupt):
                    show.close()
                    _failed(folder, record, writer, err)
                raise
            finally:
                show.close()
            _finish(record, writer, total, stop_signal, report)
        finally:
            if report:
                from jaxcalc.pipeline.report import render

                render.stop_early_helper()  # a helper no report took
    return folder.path


def _prepare_report() -> None:
    """While the first programs compile (XLA holds no GIL), start the report's helper
    process and import what the report draws with, so neither waits for it at the end."""
    from jaxcalc.pipeline.report import render

    render.start_helper_early()
    import jaxcalc.plotting  # noqa: F401  - matplotlib, for this process's figures


def _failed(folder: OutputFolder, record: RunRecord, writer: _GroupWriter, err: BaseException):
    """After a failure: with no finished group, remove what the run wrote (the folder too,
    when the run created it), so that nothing blocks the next run with the same ``--out``;
    otherwise record the failure, and make a jaxcalc error say how to go on."""
    if not record.finished:
        with contextlib.suppress(Exception):
            folder.discard()
        return
    with contextlib.suppress(Exception):
        writer.tables(runs=True)
        record.save("failed", finished=now(), error=f"{type(err).__name__}: {err}")
    if isinstance(err, JaxcalcError) and err.args and isinstance(err.args[0], str):
        err.args = (
            f"{err.args[0]}; the {len(record.finished)} finished group(s) are kept in "
            f"{folder.path}: after fixing this, finish with --resume (same config) or "
            "start again with --overwrite",
            *err.args[1:],
        )


def _run_batches(
    plan: GroupPlan,
    planned: list[tuple[int, ...]],
    record: RunRecord,
    writer: _GroupWriter,
    echo: bool,
    while_compiling: Callable[[], None] | None = None,
):
    """Compute the groups of the ``planned`` batches not finished yet, batch by batch,
    compiling ahead; returns the signal that stopped the run, or None. ``while_compiling``
    is called once the first compiles have started."""
    batches = [tuple(g for g in b if g not in record.finished) for b in planned]
    batches = [b for b in batches if b]
    # with several processes, every collective must come in the same order in each: no
    # work in a background thread
    lookahead = 0 if distributed.is_distributed() else _LOOKAHEAD
    ahead = CompileAhead(lookahead if len(batches) > 1 else 0)
    writes = _Writes(writer, threaded=ahead.depth > 0)

    def prepare(b: int) -> Batch:
        return plan.batch(batches[b])

    with StopRequest(echo=echo) as stop:
        try:
            for b in range(len(batches)):
                if stop.signal_name is not None:
                    break
                # this batch too: the first compiles beside the second
                ahead.submit(list(range(b, min(b + 1 + ahead.depth, len(batches)))), prepare)
                if while_compiling is not None:
                    while_compiling()
                    while_compiling = None
                batch = ahead.take(b) or prepare(b)
                _run_batch(batch, b, ahead, writes)
            writes.wait()
            ahead.close(wait=True)  # after a stop: the one compile under way, if any
        except KeyboardInterrupt:  # a second signal, or one before handlers were set
            writes.close()  # the groups computed before it are kept
            return stop.signal_name or "SIGINT"
        finally:
            ahead.close(wait=False)  # abandoned or failed: a compile under way ends alone
            writes.close()  # failed: the groups computed before it are written first
        return stop.signal_name


def _run_batch(batch: Batch, b: int, ahead: CompileAhead, writes: _Writes) -> None:
    """Compute one batch and hand its groups to ``writes``."""
    first = batch.groups[0]
    labels = "+".join(group.label for group in batch.groups)
    writes.writer.show.start(batch.indices[0], f"{first.objective.name} x {labels}")
    t0 = time.perf_counter()
    compiled_ahead = ahead.wait(b)  # seconds, or None: optimize compiles
    results = ahead.run(batch)
    writes.submit(batch, results, compiled_ahead, t0)


def _write_batch(writer: _GroupWriter, batch: Batch, results, compiled_ahead, t0) -> None:
    """Write a computed batch's groups, in order."""
    all_runs = sum(t.status.size for t in results)
    for g, group, t in zip(batch.indices, batch.groups, results, strict=True):
        # a shared program's compile is shared out by runs, as the engine shares out its
        # own compile and run seconds
        share = t.status.size / all_runs
        compile_seconds = t.compile_seconds + (compiled_ahead or 0.0) * share
        writer.group(g, group, t, compile_seconds, batch, t0)


class _Writes:
    """Writes computed batches' groups (summary rows, part file, tables, manifest entry)
    in a background thread, so that writing overlaps the next batches' runs: the engine
    runs without holding Python's lock, and on a CPU it runs on one core while batches
    compile ahead. Batches are written in order, each group's files as a run that writes
    each batch at once would leave them; at most :data:`_WRITE_BEHIND` batches, holding at
    most :data:`_WRITE_BEHIND_BYTES` of arrays, wait to be written (:meth:`submit` waits
    for the oldest), so a grid's batches, alternately quick to write (one group) and slow
    (a stacked program's seven), keep the thread busy while the results held stay
    bounded. ``threaded=False`` writes each batch at once.

    :meth:`close` waits for every batch handed over, so a run stopped or failed keeps every
    group computed before; an error of the writing is raised by the next :meth:`submit`,
    :meth:`wait` or :meth:`close` (the batches after it are not written).
    """

    def __init__(self, writer: _GroupWriter, threaded: bool):
        self.writer = writer
        self._executor = (
            concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="jaxcalc-write")
            if threaded
            else None
        )
        # (future, bytes of its results' arrays), oldest first
        self._pending: list[tuple[concurrent.futures.Future, int]] = []
        self._failed = False

    def submit(self, batch: Batch, results, compiled_ahead, t0: float) -> None:
        size = _array_bytes(results)
        self._settle(_WRITE_BEHIND - 1, _WRITE_BEHIND_BYTES - size)
        if self._executor is None:
            _write_batch(self.writer, batch, results, compiled_ahead, t0)
            return
        future = self._executor.submit(self._write, batch, results, compiled_ahead, t0)
        self._pending.append((future, size))

    def _write(self, batch: Batch, results, compiled_ahead, t0: float) -> None:
        if not self._failed:  # after a failed batch, none is written (as without a thread)
            try:
                _write_batch(self.writer, batch, results, compiled_ahead, t0)
            except BaseException:
                self._failed = True
                raise

    def _settle(self, keep: int, keep_bytes: int = 0) -> None:
        """Wait until at most ``keep`` batches, holding at most ``keep_bytes`` of arrays,
        are left to write; raise a write's error."""
        while self._pending and (
            len(self._pending) > keep or sum(n for _, n in self._pending) > keep_bytes
        ):
            future = self._pending[0][0]
            concurrent.futures.wait([future])  # a signal here leaves it pending for close
            self._pending.pop(0)
            future.result()

    def wait(self) -> None:
        """Wait for every batch handed over; raise the first error, if any."""
        self._settle(0)

    def close(self) -> None:
        """Wait for every batch handed over, then stop the thread."""
        try:
            self.wait()
        finally:
            if self._executor is not None:
                self._executor.shutdown(wait=True)
                self._executor = None
            self._pending.clear()


def _array_bytes(results) -> int:
    """The bytes of the arrays of a batch's results (trajectories)."""
    return sum(
        value.nbytes for t in results for value in vars(t).values() if isinstance(value, np.ndarray)
    )


def write_finished_tables(out: Path, finished: dict[int, Any], *, runs: bool) -> None:
    """summary.csv of the finished groups ``{index: (entry, summary rows, run columns)}``,
    in group order; with ``runs`` also runs.csv, tests.csv and fixed_budget.csv."""
    order = sorted(finished)
    summary = tables.tidy_rows([r for g in order for r in finished[g][1]])
    per_run = tables.tidy_columns([finished[g][2] for g in order]) if runs else None
    write_tables(out, summary, per_run)
    if per_run is not None and summary:  # tests.csv and fixed_budget.csv, from runs.csv
        write_comparison_tables(
            out, comparisons.test_rows(per_run), comparisons.fixed_budget_rows(per_run)
        )
    scheduled = schedule_rows(out, finished) if runs else []
    if scheduled:  # the schedules' values, from the parts of the groups that have them
        write_csv(out / "schedules.csv", tables.tidy_rows(scheduled, tail=()))


class _GroupWriter:
    """Writes a finished group: its part file, the tables so far and its manifest entry."""

    def __init__(self, out: Path, config: Any, record: RunRecord, show: Progress, total: int):
        self.out = out
        self.target = config.run.target
        self.metrics = tuple(config.output.resolved_metrics)
        self.statistics = tables.Statistics(
            seed=config.seed,
            confidence=config.output.confidence,
            samples=config.output.bootstrap_samples,
            fixed_budgets=config.output.fixed_budgets,
        )
        self.record = record
        self.show = show
        self.total = total

    def tables(self, *, runs: bool) -> None:
        write_finished_tables(self.out, self.record.finished, runs=runs)

    def group(self, g: int, group: Group, t: Any, compile_seconds: float, batch, t0) -> None:
        """Write group ``g``'s part, tables and manifest entry (it is then finished)."""
        objective, label, budget = group.objective, group.label, group.budget
        s_rows, r_columns, arrays = tables.summarise_group(
            objective, label, t, self.target, budget, compile_seconds, self.metrics, self.statistics
        )
        counts_by_status = t.status_counts()
        if budget is not None:
            values, n_status = np.unique(arrays["budget_status"], return_counts=True)
            counts_by_status = {str(k): int(v) for k, v in zip(values, n_status, strict=True)}
        name = GROUP_FILE.format(index=g)
        write_group_part(self.out / name, arrays, s_rows, r_columns)
        entry = {
            "index": g,
            "file": name,
            "objective": objective.name,
            "dim": objective.dim,
            "family": group.family,
            "optimizer": label,
            "method": t.optimizer,
            "sweep": list(t.sweep),
            "sweep_values": {k: t.hyperparameters[k] for k in t.sweep},
            "status_counts": counts_by_status,
            "compile_seconds": compile_seconds,
            "run_seconds": t.run_seconds,
        }
        entry["steps"] = int(t.steps)
        if t.hyperparameter_history:  # their values are in the part (schedules.csv)
            entry["schedules"] = list(t.hyperparameter_history)
        minibatch = getattr(objective, "minibatch", None)
        if minibatch is not None:  # what one evaluation is (docs/data_objectives.md)
            entry["evaluation_unit"] = "minibatch"
            entry["minibatch_rows"] = int(minibatch.batch_size)
            entry["training_rows"] = int(minibatch.n_train)
        if budget is not None:
            entry["budget"] = budget.budget
        if len(batch.groups) > 1:  # one program for these groups; seconds shared by runs
            entry["program_shared_with"] = [other.label for other in batch.groups]
        self.record.finished[g] = (entry, s_rows, r_columns)
        self.record.save("running")
        self.tables(runs=False)
        counts = ", ".join(f"{k} {v}" for k, v in sorted(counts_by_status.items()))
        self.show.finish(
            f"[{len(self.record.finished)}/{self.total}] {objective.name} x {label}: {counts} "
            f"(compile {compile_seconds:.2f} s, run {t.run_seconds:.2f} s, "
            f"total {time.perf_counter() - t0:.2f} s)"
        )


def _finish(
    record: RunRecord, writer: _GroupWriter, total: int, stop_signal: str | None, report: bool
) -> None:
    """The final tables, manifest and report; raises RunInterrupted when groups are missing."""
    complete = len(record.finished) == total
    writer.tables(runs=True)
    ended = {
        "finished": now(),
        "status_counts": record.status_counts(),
        **({"stopped_by": stop_signal} if stop_signal and not complete else {}),
    }
    draw = report and bool(record.finished)
    # a run is marked complete only once its report is written: killed while drawing, it
    # stays "reporting", and --resume (nothing left to compute) draws the report again
    if complete:
        record.save("reporting" if draw else "complete", **ended)
    else:
        record.save("interrupted", **ended)
    if draw:
        from jaxcalc.pipeline.report import build_report

        if complete:
            try:
                build_report(record.out, status="complete")
            except OutputError as err:
                err.args = (
                    f"{err}; every group is finished and kept in {record.out}: draw the "
                    f"report again with: jaxcalc report {record.out}",
                )
                raise
            record.save("complete", **ended)
        else:
            with contextlib.suppress(KeyboardInterrupt):  # a report is redrawn any time
                build_report(record.out)
    if not complete:
        raise RunInterrupted(record.out, len(record.finished), total, stop_signal or "SIGINT")
