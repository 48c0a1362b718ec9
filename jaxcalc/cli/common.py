"""What every command shares: exit codes, output (text or JSON), reading points and values."""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from typing import Any

from jaxcalc.errors import ConfigError, ExpressionError

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def json_number(value: Any) -> Any:
    """JSON has no NaN or infinity: non-finite numbers become null (their status says why)."""
    if isinstance(value, list | tuple):
        return [json_number(v) for v in value]
    value = float(value)
    return value if math.isfinite(value) else None


def emit(args: argparse.Namespace, payload: dict[str, Any], text: str) -> None:
    if args.json:
        print(json.dumps(payload, allow_nan=False, indent=2))
    else:
        print(text)


def plotting():
    """:mod:`jaxcalc.plotting`, imported when a command writes a figure, with matplotlib's
    file backend (Agg) chosen first: the command line writes files and opens no window."""
    from jaxcalc import plotting as module

    module.use_file_backend()
    return module


INT64_MAX = 2**63 - 1


def cli_int(text: str) -> int:
    """An integer option's value: a whole number that fits in 64 bits."""
    try:
        value = int(text.strip())
    except ValueError:
        shown = text if len(text) <= 30 else text[:27] + "..."
        raise argparse.ArgumentTypeError(f"{shown!r} is not a whole number") from None
    if not -INT64_MAX - 1 <= value <= INT64_MAX:
        raise argparse.ArgumentTypeError(
            f"{text} is out of range (a 64-bit integer: at most {INT64_MAX})"
        )
    return value


def cli_float(text: str) -> float:
    """A float option's value: a finite number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r}: must be a finite number")
    return value


def seed_value(text: str) -> int:
    """A ``--seed``: the same range as a config's ``seed`` (0 to 2^32 - 1)."""
    from jaxcalc.pipeline.config.schema import MAX_SEED

    value = cli_int(text)
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"{text} is out of range (0 to {MAX_SEED})")
    return value


def read_range(args: argparse.Namespace, flag: str = "--range") -> tuple[float, float]:
    lo, hi = args.range
    if not lo < hi:
        raise ConfigError(f"{flag} {lo:g} {hi:g}: need A < B (e.g. {flag} {hi:g} {lo:g})")
    return lo, hi


def parse_point(text: str, dim: int, flag: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise ConfigError(f"{flag} {text!r}: expected {dim} comma-separated numbers") from None
    if len(values) != dim:
        raise ConfigError(f"{flag} {text!r}: expected {dim} comma-separated numbers")
    if not all(math.isfinite(v) for v in values):
        raise ConfigError(f"{flag} {text!r}: values must be finite")
    return values


def read_expression(args: argparse.Namespace):
    from jaxcalc.expressions import parse

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            expr = parse(args.expression, dtype=args.dtype)
    except ExpressionError as err:
        raise ExpressionError(f"expression {args.expression!r}: {err}") from None
    for w in caught:
        print(f"jaxcalc: warning: {w.message}", file=sys.stderr)
    return expr


def read_points(args: argparse.Namespace, expr, flag: str = "--at") -> list[Any]:
    raw = args.at or []
    if expr.dim == 1:
        out = []
        for v in raw:
            try:
                x = float(v)
            except ValueError:
                raise ConfigError(f"{flag} {v!r}: not a number") from None
            if not math.isfinite(x):
                raise ConfigError(f"{flag} {v!r}: must be finite")
            out.append(x)
        return out
    return [parse_point(v, expr.dim, flag) for v in raw]


def _inline_table(text: str, where: str) -> dict[str, Any]:
    """A TOML inline table typed on the command line."""
    import tomllib

    try:
        return tomllib.loads(f"v = {text.strip()}")["v"]
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(
            f"{where}: not a TOML table ({err}); write e.g. "
            "'{schedule = \"cosine_decay\", init_value = 0.1, decay_steps = 1000}'"
        ) from None


def read_key_values(items: list[str], flag: str) -> list[tuple[str, Any]]:
    pairs = []
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"{flag} {item!r}: expected NAME=VALUE")
        value: Any
        if raw.strip().startswith("{"):  # a table, e.g. a schedule: {schedule = "linear", ...}
            pairs.append((key.strip(), _inline_table(raw, f"{flag} {key.strip()}")))
            continue
        if "," in raw:
            try:
                value = [float(v) for v in raw.split(",")]
            except ValueError:
                raise ConfigError(f"{flag} {item!r}: values must be numbers") from None
        else:
            try:
                value = int(raw) if raw.lstrip("-").isdigit() else float(raw)
            except ValueError:
                value = {"true": True, "false": False}.get(raw.lower(), raw)
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, int) and not -INT64_MAX - 1 <= v <= INT64_MAX:
                raise ConfigError(f"{flag} {item!r}: {v} is out of range (a 64-bit integer)")
            if isinstance(v, float) and not math.isfinite(v):
                raise ConfigError(f"{flag} {item!r}: values must be finite numbers")
        pairs.append((key.strip(), value))
    return pairs
