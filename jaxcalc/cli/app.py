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
import re
import sys
from collections.abc import Sequence

from jaxcalc.cli import (
    calculus_commands,
    cluster_commands,
    experiment_commands,
    export_commands,
    objective_commands,
)
from jaxcalc.cli.common import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, cli_float, cli_int
from jaxcalc.errors import JaxcalcError

__all__ = ["build_parser", "main"]


# A word that can only be an option's name; anything else that starts with "-" is a value
# (a negative number such as -1e6 or -2,4.5, or an expression such as -x^2).
_OPTION_NAME = re.compile(r"--[A-Za-z][A-Za-z0-9_-]*")


class _Parser(argparse.ArgumentParser):
    """argparse with the rules jaxcalc's values need.

    * usage errors are one line, ``jaxcalc: error: COMMAND: ...`` like every other bad
      input (no usage dump), and exit code 2;
    * a value that starts with ``-`` (``-1e6``, ``-2,4.5``, ``-x^2``) is a value, not an
      unknown option, wherever it stands;
    * an option that takes one value may be given once: a repeat is an error, never a
      silent overwrite (options that collect values, such as ``--at``, say so);
    * integers must fit in 64 bits, floats must be finite, and no value may be empty.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.register("action", None, _StoreOnce)
        self.register("action", "store", _StoreOnce)

    def add_argument(self, *args, **kwargs):
        kind = kwargs.get("type")
        takes_values = kwargs.get("action") in (None, "store", "append", "extend")
        if kind is int:
            kwargs["type"] = cli_int
        elif kind is float:
            kwargs["type"] = cli_float
        elif kind is None and takes_values and kwargs.get("nargs") != 0:
            kwargs["type"] = _not_empty
        return super().add_argument(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        command = self.prog.removeprefix("jaxcalc").strip()  # "diff", or "" at the top
        raise _UsageError(f"{command}: {message}" if command else message)

    def _parse_optional(self, arg_string):
        if _is_value(arg_string, self._option_string_actions):
            return None  # a positional argument, or the value of the option before it
        return super()._parse_optional(arg_string)


def _is_value(arg: str, options: dict[str, argparse.Action]) -> bool:
    if not arg.startswith("-") or arg in ("-", "--"):
        return False  # argparse's own rules
    name = arg.split("=", 1)[0]
    if name in options:
        return False
    if arg.startswith("--"):
        return not _OPTION_NAME.fullmatch(name)  # --x^2 is a value, --nme a misspelt option
    short = options.get(arg[:2])  # -oFILE: a short option with its value attached
    return short is None or short.nargs == 0


def _drop_needless_dashdash(argv: list[str], parser: argparse.ArgumentParser) -> None:
    """``diff -- -x^2 --at 1``: a ``--`` right after the command only protects a value that
    is read as a value anyway, so it is dropped and the options after it still count. (After
    an option, as in ``--at 1 -- -x^2``, it ends that option's values and stays.)"""
    i = 1
    if len(argv) < 3 or argv[i] != "--":
        return
    options: dict[str, argparse.Action] = {}
    for action in parser._actions:
        for sub in getattr(action, "choices", None) or {}:
            if isinstance(action.choices, dict):
                options.update(action.choices[sub]._option_string_actions)
    if i + 1 < len(argv) and _is_value(argv[i + 1], options):
        del argv[i]


def _not_empty(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("the value is empty; give a non-empty value")
    return text


class _StoreOnce(argparse.Action):
    """``store``, refusing a second occurrence of the same option."""

    def __call__(self, parser, namespace, values, option_string=None):
        seen = namespace.__dict__.setdefault("_given_options", set())
        if self.dest in seen:
            raise argparse.ArgumentError(
                self, "given more than once; give it once (a repeat would replace the first)"
            )
        seen.add(self.dest)
        setattr(namespace, self.dest, values)


class _UsageError(Exception):
    pass


def _setup_numbers(args: argparse.Namespace) -> None:
    """Process-wide JAX settings, made once here at the edge (the library sets none)."""
    import jax

    if getattr(args, "dtype", None) == "float64":
        jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_default_matmul_precision", "highest")
    compiles = args.command not in ("list", "report", "merge", "export")
    if compiles and not os.environ.get("JAXCALC_NO_CACHE"):
        # compiled programs are reused across processes; an unwritable cache is no error
        with contextlib.suppress(OSError):
            _enable_compilation_cache()


def _enable_compilation_cache() -> None:
    """What :func:`jaxcalc.engine.enable_compilation_cache` does, without importing the
    engine and the optimizers (a second, and more, before a calculus command's answer);
    tests/test_cli.py checks that both set the same configuration."""
    import jax

    path = os.environ.get("JAXCALC_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "jaxcalc", "xla"
    )
    os.makedirs(path, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)


def _version() -> str:
    from jaxcalc import __version__

    return __version__


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="jaxcalc",
        description="Derivatives, tangent lines, plots and checks of expressions, in JAX. "
        "Negative numbers and expressions that start with '-' can be typed as they are "
        "(jaxcalc diff '-x^2' --at -2e-1), or after '--': jaxcalc diff --at 1 -- '-x^2'.",
    )
    parser.add_argument("--version", action="version", version=f"jaxcalc {_version()}")
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
    for group in (
        calculus_commands,
        objective_commands,
        experiment_commands,
        export_commands,
        cluster_commands,
    ):
        group.add_commands(command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    parser = build_parser()
    _drop_needless_dashdash(argv, parser)
    args = None
    try:
        args = parser.parse_args(argv)
        prepare = getattr(args, "prepare", None)
        if prepare is not None:  # checks the input and starts work that needs no JAX
            prepare(args)
        _setup_numbers(args)
        return args.run(args)
    except _UsageError as err:
        print(f"jaxcalc: error: {err}", file=sys.stderr)
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
    finally:
        side = getattr(args, "side", None)
        if side is not None:  # a child process still at work is stopped
            side.close()
