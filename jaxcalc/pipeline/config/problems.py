"""Config problems: one :class:`ConfigProblem` per finding, all raised together.

Every problem a config file or a ``--set`` value can have is collected (key path, line,
message) and raised at the end as one :class:`ConfigValidationError`, sorted by line::

    config error: 2 problems in configs/quad.toml
      line 2  starts.count  must be >= 1 (got 0)
      line 7  run.stesp     unknown key; did you mean 'steps'?
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from jaxcalc.errors import ConfigError

Path_ = tuple[str | int, ...]  # a key path: ("optimizers", 0, "learning_rate")


@dataclass(frozen=True)
class ConfigProblem:
    """One problem: the key path (``run.steps``), where (``line 7``, ``--set ...`` or ""),
    the line number (or None) and the message."""

    path: str
    where: str
    line: int | None
    message: str


class ConfigValidationError(ConfigError):
    """A :class:`ConfigError` listing every problem found (``problems``)."""

    def __init__(self, message: str, problems: Sequence[ConfigProblem] = ()):
        super().__init__(message)
        self.problems = tuple(problems)


def problems_error(source: str, problems: Sequence[ConfigProblem]) -> ConfigValidationError:
    """One error listing ``problems`` (in the order given) as aligned rows."""
    w1 = max(len(p.where) for p in problems)
    w2 = max(len(p.path) for p in problems)
    rows = []
    for p in problems:
        head = f"{p.where:<{w1}}  " if w1 else ""
        rows.append(f"  {head}{p.path:<{w2}}  {p.message}".rstrip())
    n = len(problems)
    text = f"config error: {n} problem{'s' if n != 1 else ''} in {source}\n"
    return ConfigValidationError(text + "\n".join(rows), problems)


def fail(message: str) -> ConfigError:
    """A config error that stops reading at once (the file cannot be read or parsed)."""
    return ConfigError(f"config error: {message}")


def show(path: Path_) -> str:
    """A key path as written in messages: ``optimizers[0].learning_rate``."""
    out = ""
    for p in path:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + p
    return out
