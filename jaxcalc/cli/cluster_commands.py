"""The commands that spread an experiment over machines: ``plan`` (what each shard will
compute and cost) and ``merge`` (the shards' folders into the results of one run).
Shards themselves run with ``jaxcalc run CONFIG --shard I/N``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from jaxcalc.cli.common import EXIT_OK, emit
from jaxcalc.errors import ConfigError


def add_commands(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Define the subcommands with ``command(name, help)`` (see :mod:`.app`)."""
    p = command(
        "plan",
        "print the groups, compiled programs, lanes, run-steps, estimated seconds, memory "
        "and disk of a config, per shard",
        dtype_help="override the config's dtype (as jaxcalc run --dtype)",
    )
    p.add_argument("config", help="the TOML file (see docs/configs.md)")
    p.add_argument(
        "--shards", type=int, default=1, help="the number of shards to plan for (default 1)"
    )
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config value")
    p.add_argument(
        "--costs",
        metavar="DIR",
        help="an earlier run's results folder: use its measured compile and run seconds "
        "for the groups it holds",
    )
    p.set_defaults(run=cmd_plan, dtype=None)

    p = command("merge", "merge the folders of every shard of a run into one run's results")
    p.add_argument("folders", nargs="+", metavar="DIR", help="every shard's --out folder")
    p.add_argument("--out", required=True, help="the folder of the merged results")
    p.add_argument("--overwrite", action="store_true", help="write into a non-empty --out")
    p.add_argument("--no-report", action="store_true", help="skip the figures and report.md")
    p.set_defaults(run=cmd_merge)


def cmd_plan(args: argparse.Namespace) -> int:
    from jaxcalc.pipeline.config import apply_dtype, load_config
    from jaxcalc.pipeline.shard import measured_costs, plan_shards

    if args.shards < 1:
        raise ConfigError(f"plan: --shards {args.shards}: the number of shards must be at least 1")
    overrides = list(args.set or [])
    if args.dtype is not None:
        overrides.append(f"dtype={args.dtype}")
    config = load_config(args.config, overrides=overrides)
    apply_dtype(config)
    measured = measured_costs(args.costs) if args.costs else None
    plan = plan_shards(config, args.shards, measured)
    emit(args, {"name": config.name, **plan.to_json()}, "\n".join(plan.lines(config.name)))
    return EXIT_OK


def cmd_merge(args: argparse.Namespace) -> int:
    from jaxcalc.pipeline.merge import merge_shards

    out = Path(args.out).expanduser().resolve()
    folder = merge_shards(args.folders, out, overwrite=args.overwrite, report=not args.no_report)
    payload = {"output": str(folder), "summary": str(folder / "summary.csv")}
    if not args.no_report:
        payload["report"] = str(folder / "report.md")
    emit(args, payload, f"merged {len(args.folders)} shards: {folder}")
    return EXIT_OK


__all__ = ["add_commands"]
