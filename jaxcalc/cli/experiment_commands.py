"""The experiment commands: ``run`` (a TOML config to results and a report) and ``report``."""

from __future__ import annotations

import argparse
import datetime
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

from jaxcalc.cli.common import EXIT_INTERRUPTED, EXIT_OK, emit
from jaxcalc.errors import ConfigError


def add_commands(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Define the experiment subcommands with ``command(name, help)`` (see :mod:`.app`)."""
    p = command(
        "run",
        "run an experiment from a TOML config: tables, figures, report",
        dtype_help="override the config's dtype (the same as --set dtype=...; recorded "
        "with the overrides)",
    )
    p.add_argument("config", help="the TOML file (see docs/configs.md)")
    p.add_argument("--out", help="output folder (default results/<name>-<timestamp>)")
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set starts.count=8",
    )
    existing = p.add_mutually_exclusive_group()
    existing.add_argument(
        "--overwrite", action="store_true", help="write into a non-empty --out (replacing files)"
    )
    existing.add_argument(
        "--resume",
        action="store_true",
        help="finish an interrupted run in --out: keep its finished groups, compute the rest "
        "(refused if the config, --set/--dtype values or jaxcalc/JAX versions changed)",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="print the groups and the memory and disk estimate, then stop (nothing is run "
        "or written)",
    )
    p.add_argument(
        "--shard",
        metavar="I/N",
        help="compute shard I of N (I from 0, e.g. $SLURM_ARRAY_TASK_ID/N): whole compiled "
        "programs, balanced by estimated cost; join the shards with jaxcalc merge",
    )
    dist = p.add_argument_group(
        "several processes (jax.distributed; inside a Slurm job step of several tasks "
        "these are read from Slurm)"
    )
    dist.add_argument("--coordinator", metavar="HOST:PORT", help="process 0's address")
    dist.add_argument("--num-processes", type=int, metavar="N", help="how many processes")
    dist.add_argument("--process-id", type=int, metavar="I", help="this process, 0..N-1")
    dist.add_argument(
        "--coordinator-timeout",
        type=float,
        default=60.0,
        metavar="S",
        help="seconds to wait for every process to join (default 60)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress display on stderr")
    p.add_argument(
        "--no-report",
        action="store_true",
        help="skip the figures and report.md (draw them later with jaxcalc report DIR)",
    )
    p.set_defaults(run=cmd_run, dtype=None)

    p = command("report", "rebuild figures and report.md from saved results")
    p.add_argument("folder")
    p.set_defaults(run=cmd_report)


def cmd_run(args: argparse.Namespace) -> int:
    from jaxcalc.pipeline.config import apply_dtype, load_config
    from jaxcalc.pipeline.run import RunInterrupted, run_experiment
    from jaxcalc.pipeline.shard import parse_shard

    shard = parse_shard(args.shard) if args.shard else None
    _join_processes(args)
    overrides = list(args.set or [])
    if args.dtype is not None:  # --dtype is the same as --set dtype=..., and wins over it
        overrides.append(f"dtype={args.dtype}")
    config = load_config(args.config, overrides=overrides)
    apply_dtype(config)
    if args.out:
        out = Path(args.out)
    elif getattr(config.output, "dir", None):
        out = Path(config.output.dir)
    elif args.resume:
        raise ConfigError(
            "--resume needs the folder of the run to finish: give --out DIR "
            "(or output.dir in the config)"
        )
    elif shard is not None:  # one name per shard, the same in every shard's job
        out = Path("results") / f"{config.name}-shard-{shard.index}-of-{shard.count}"
    else:
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        out = Path("results") / f"{config.name}-{stamp}"
    out = out.expanduser().resolve()
    if _planned(args, config, out):
        return EXIT_OK
    if not (args.quiet or args.json):
        for note in config.notes:
            print(f"jaxcalc: {note}", file=sys.stderr)
    from jaxcalc.engine import distributed

    if not args.json and not distributed.is_writer():
        print(
            f"jaxcalc run {config.name}: computing as process {distributed.process_index()}; "
            "process 0 writes the results",
            flush=True,
        )
    elif not args.json:
        print(f"jaxcalc run {config.name}: writing to {out}", flush=True)
    try:
        folder = run_experiment(
            config,
            out,
            overwrite=args.overwrite,
            resume=args.resume,
            display="off" if args.quiet else "auto",
            report=not args.no_report,
            shard=shard,
        )
    except RunInterrupted as stop:
        again = ["jaxcalc", "run", args.config, "--out", str(stop.folder)]
        if shard is not None:
            again += ["--shard", str(shard)]
        for item in args.set or []:
            again += ["--set", item]
        if args.dtype is not None:
            again += ["--dtype", args.dtype]
        print(
            f"jaxcalc: interrupted ({stop.signal_name}) after {stop.done} of {stop.total} "
            f"groups; finished groups are kept in {stop.folder}; resume with: "
            f"{shlex.join([*again, '--resume'])}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    payload = {"name": config.name, "output": str(folder), "summary": str(folder / "summary.csv")}
    if shard is not None:
        payload["shard"] = str(shard)
        emit(
            args,
            payload,
            f"done: shard {shard} in {folder}; when every shard is done: "
            f"jaxcalc merge DIR_0 ... DIR_{shard.count - 1} --out DIR",
        )
        return EXIT_OK
    if not args.no_report:
        payload["report"] = str(folder / "report.md")
    emit(args, payload, f"done: {folder / ('summary.csv' if args.no_report else 'report.md')}")
    return EXIT_OK


def _join_processes(args: argparse.Namespace) -> None:
    """Join a run of several processes when the flags or Slurm's environment say so."""
    from jaxcalc.engine import distributed

    flags = (args.coordinator, args.num_processes, args.process_id)
    if any(v is not None for v in flags) or distributed.from_environment():
        if args.process_id == 0 and not args.quiet:  # visible while the others start
            print(
                f"jaxcalc: process 0 of {args.num_processes}: waiting up to "
                f"{args.coordinator_timeout:g} s for the others at {args.coordinator}",
                file=sys.stderr,
                flush=True,
            )
        distributed.initialize(*flags, timeout=args.coordinator_timeout)


def _planned(args: argparse.Namespace, config, out: Path) -> bool:
    """Estimate the whole run before anything is sampled or written: refuse it when it
    does not fit, and with ``--dry-run`` print the estimate; True when that is all."""
    from jaxcalc.pipeline.plan import check_run_estimate, estimate_run

    estimate = estimate_run(config)
    if not args.dry_run:
        check_run_estimate(estimate, out)
        return False
    payload = {
        "name": config.name,
        "output": str(out),
        "memory_bytes": estimate.memory_bytes,
        "disk_bytes": estimate.disk_bytes,
        "groups": [
            {
                "objective": g.objective,
                "optimizer": g.optimizer,
                "runs": g.job.runs,
                "records": g.job.records,
                "memory_bytes": g.job.result_bytes,
                "disk_bytes": g.disk_bytes,
            }
            for g in estimate.groups
        ],
    }
    lines = [f"jaxcalc run {config.name} (dry run, nothing written; would write to {out})"]
    emit(args, payload, "\n".join([*lines, *estimate.lines()]))
    check_run_estimate(estimate, out)  # a job that does not fit: its error, exit code 2
    return True


def cmd_report(args: argparse.Namespace) -> int:
    from jaxcalc.pipeline.report import build_report

    folder = Path(args.folder).expanduser().resolve()
    if not (folder / "metadata.json").is_file():
        raise ConfigError(f"{folder}: no metadata.json; is this a jaxcalc results folder?")
    path = build_report(folder)
    emit(args, {"report": str(path)}, f"report written to {path}")
    return EXIT_OK
