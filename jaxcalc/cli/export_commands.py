"""The export command: ``export --coco|--ioh RESULTS OUT`` (see docs/exports.md)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from jaxcalc.cli.common import EXIT_OK, emit

_NAMES = {"coco": "COCO's", "ioh": "IOHprofiler's"}


def add_commands(command: Callable[..., argparse.ArgumentParser]) -> None:
    """Define the export subcommand with ``command(name, help)`` (see :mod:`.app`)."""
    p = command(
        "export",
        "write a results folder in COCO's format (for cocopp) or IOHprofiler's (for "
        "iohinspector and IOHanalyzer)",
    )
    kind = p.add_mutually_exclusive_group(required=True)
    kind.add_argument(
        "--coco", action="store_true", help="COCO's bbob data format (BBOB objectives only)"
    )
    kind.add_argument("--ioh", action="store_true", help="IOHprofiler's data format")
    p.add_argument("results", help="a results folder written by jaxcalc run")
    p.add_argument("out", help="the export's folder (new, or empty)")
    p.set_defaults(run=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    from jaxcalc.exports import export_coco, export_ioh

    summary = (export_coco if args.coco else export_ioh)(args.results, args.out)
    for line in summary.left_out:
        print(f"jaxcalc: left out: {line}", file=sys.stderr)
    algorithms = ", ".join(summary.algorithms)
    emit(
        args,
        {
            "format": summary.format,
            "out": str(summary.path),
            "runs": summary.runs,
            "algorithms": summary.algorithms,
            "evaluations": summary.counter,
            "left_out": summary.left_out,
        },
        f"{summary.runs} runs of {algorithms} written in {_NAMES[summary.format]} format "
        f"to {summary.path}\nevaluations count {summary.counter}",
    )
    return EXIT_OK
