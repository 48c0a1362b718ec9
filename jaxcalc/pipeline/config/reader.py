"""Reading typed values out of the raw TOML dict, collecting every problem with its line."""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Sequence
from typing import Any

from jaxcalc.pipeline.config.problems import (
    ConfigProblem,
    ConfigValidationError,
    Path_,
    problems_error,
    show,
)
from jaxcalc.pipeline.config.schema import SECTION_OF

__all__ = ["Reader", "got", "is_number", "looks_numeric", "suggest"]


def got(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'a string ("{value}")' if len(value) <= 60 else "a string"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def suggest(word: str, candidates: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def looks_numeric(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


class Reader:
    """Collects the problems of one config (with their lines) and reads typed values.

    Each reader returns the value, or None after recording a problem, so validation goes on
    and reports every problem at once.
    """

    def __init__(self, source: str, lines: dict[Path_, int]):
        self.source = source
        self.lines = lines
        self.problems: list[ConfigProblem] = []
        self.overridden: list[tuple[Path_, str]] = []  # (path, "--set" text) applied
        self.override_order: dict[str, int] = {}

    # -- problems ------------------------------------------------------------------------

    def problem(self, path: Path_, message: str) -> None:
        for opath, text in reversed(self.overridden):
            if path[: len(opath)] == opath:
                self.override_problem(path, text, message)
                return
        line = None
        probe = path
        while probe:
            if probe in self.lines:
                line = self.lines[probe]
                break
            probe = probe[:-1]
        where = f"line {line}" if line is not None else ""
        self.problems.append(ConfigProblem(show(path) or "(top level)", where, line, message))

    def override_problem(self, path: Path_ | str, text: str, message: str) -> None:
        shown = path if isinstance(path, str) else show(path)
        self.problems.append(ConfigProblem(shown, f"--set {text}", None, message))

    def error(self) -> ConfigValidationError:
        def order(p: ConfigProblem):
            if p.line is not None:
                return (0, p.line)
            if p.where.startswith("--set "):
                return (1, self.override_order.get(p.where[6:], 0))
            return (2, 0)

        return problems_error(self.source, sorted(self.problems, key=order))

    # -- overrides -----------------------------------------------------------------------

    def table(self, value: Any, path: Path_, allowed: Sequence[str]) -> dict | None:
        if not isinstance(value, dict):
            self.problem(path, f"must be a table ([{show(path)}]), got {got(value)}")
            return None
        for key in value:
            if key not in allowed:
                self.unknown(path + (key,), key, allowed, top=not path)
        return value

    def unknown(self, path: Path_, key: str, allowed: Sequence[str], top: bool = False) -> None:
        hint = suggest(key, allowed)
        if not hint and top and key in SECTION_OF:
            hint = f"; '{key}' belongs in the [{SECTION_OF[key]}] table"
        if not hint:
            hint = f"; allowed keys: {', '.join(allowed)}"
        self.problem(path, f"unknown key{hint}")

    def integer(self, tbl: dict, key: str, path: Path_, default: Any, lo: int, hi: int) -> Any:
        if key not in tbl:
            return default
        v = tbl[key]
        p = path + (key,)
        if isinstance(v, str) and re.fullmatch(r"\s*[+-]?\d+\s*", v):
            self.problem(p, f"must be an integer, got {got(v)}; remove the quotes")
        elif isinstance(v, float) and math.isfinite(v) and v.is_integer() and lo <= v <= hi:
            self.problem(p, f"must be an integer, got {v!r}; write {int(v)}")
        elif isinstance(v, bool) or not isinstance(v, int):
            self.problem(p, f"must be an integer, got {got(v)}")
        elif v < lo:
            self.problem(p, f"must be >= {lo} (got {v})")
        elif v > hi:
            self.problem(p, f"must be <= {hi} (got {v})")
        else:
            return v
        return None

    def number(
        self,
        tbl: dict,
        key: str,
        path: Path_,
        default: Any,
        positive: bool = False,
    ) -> Any:
        if key not in tbl:
            return default
        return self.float_value(tbl[key], path + (key,), positive)

    def float_value(self, v: Any, p: Path_, positive: bool = False) -> float | None:
        if isinstance(v, str) and looks_numeric(v):
            self.problem(p, f"must be a number, got {got(v)}; remove the quotes")
        elif not is_number(v):
            self.problem(p, f"must be a number, got {got(v)}")
        elif isinstance(v, int) and abs(v) > 2**63:
            self.problem(p, f"is too large ({v})")
        elif not math.isfinite(v):
            self.problem(p, f"must be a finite number (got {v})")
        elif positive and v <= 0:
            self.problem(p, f"must be > 0 (got {v})")
        else:
            return float(v)
        return None

    def string(self, tbl: dict, key: str, path: Path_, default: Any) -> Any:
        if key not in tbl:
            return default
        v = tbl[key]
        if not isinstance(v, str):
            self.problem(path + (key,), f"must be a string, got {got(v)}")
            return None
        return v

    def boolean(self, tbl: dict, key: str, path: Path_, default: bool) -> Any:
        if key not in tbl:
            return default
        v = tbl[key]
        if not isinstance(v, bool):
            hint = " (true or false, unquoted)" if isinstance(v, str | int) else ""
            self.problem(path + (key,), f"must be true or false{hint}, got {got(v)}")
            return None
        return v

    def label(self, v: Any, p: Path_) -> str | None:
        if not isinstance(v, str):
            self.problem(p, f"must be a string, got {got(v)}")
        elif not v.strip():
            self.problem(p, "must not be empty")
        elif any(ord(c) < 32 for c in v):
            self.problem(p, "must not contain control characters")
        elif len(v) > 200:
            self.problem(p, f"is {len(v)} characters; limit 200")
        else:
            return v.strip()
        return None

    # -- sections ------------------------------------------------------------------------
