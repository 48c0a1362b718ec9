"""The ``jaxcalc`` command line: parses argv, calls the library, maps errors to exit codes.

Every subcommand prints readable text by default and JSON with ``--json``. Bad input (a
:class:`~jaxcalc.errors.JaxcalcError`) gives one line on stderr naming the problem and exit
code 2; ``--debug`` shows the traceback. Any other exception is a bug and shows its
traceback. Numbers are computed in float64 unless ``--dtype float32`` is given. The
commands live by group in :mod:`.calculus_commands`, :mod:`.objective_commands` and
:mod:`.experiment_commands`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence

from jaxcalc.cli import calculus_commands, experiment_commands, objective_commands
from jaxcalc.cli.common import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from jaxcalc.errors import JaxcalcError

__all__ = ["build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line (no usage dump) and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(f"{self.prog}: {message}")


class _UsageError(Exception):
    pass


def _setup_numbers(args: argparse.Namespace) -> None:
    """Process-wide JAX settings, made once here at the edge (the library sets none)."""
    import jax

    if getattr(args, "dtype", None) == "float64":
        jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_default_matmul_precision", "highest")
    if args.command in ("optimize", "run") and not os.environ.get("JAXCALC_NO_CACHE"):
        from jaxcalc.engine import enable_compilation_cache

        # compiled programs are reused across processes; an unwritable cache is no error
        with contextlib.suppress(OSError):
            enable_compilation_cache()


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="jaxcalc",
        description="Derivatives, tangent lines, plots and checks of expressions, in JAX. "
        "An expression that starts with '-' goes after '--': jaxcalc diff -- '-x^2'.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def command(
        name: str, help_text: str, dtype_help: str = "working precision (default float64)"
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--json", action="store_true", help="machine-readable output")
        p.add_argument("--debug", action="store_true", help="show tracebacks on errors")
        p.add_argument(
            "--dtype",
            choices=("float64", "float32"),
            default="float64",
            help=dtype_help,
        )
        return p

    # the order of the commands in ``jaxcalc --help``
    for group in (calculus_commands, objective_commands, experiment_commands):
        group.add_commands(command)
    return parser


_OPTION_WORDS = {"-h", "--help", "--json", "--debug", "--dtype", "-o", "--output"}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    if len(argv) > 1 and argv[1][:1] == "-" and argv[1] not in _OPTION_WORDS:
        argv[1] = " " + argv[1]  # an expression such as "-x^2", not an option
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        _setup_numbers(args)
        return args.run(args)
    except _UsageError as err:
        print(f"{err}", file=sys.stderr)
        return EXIT_USAGE
    except JaxcalcError as err:
        if debug:
            raise
        print(f"jaxcalc: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("jaxcalc: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # output piped into head, less, ...: not an error
        sys.stderr.close()
        return EXIT_OK
