"""``--set key=value`` overrides, applied to the raw TOML dict before validation.

A key is dotted, with list entries by index: ``starts.count``, ``optimizers[0].learning_rate``
(or ``optimizers.0.learning_rate``). A value is read as TOML (``0.1``, ``true``, ``[1, 2]``,
``"adam"``); anything TOML cannot read is taken as a string.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from typing import Any

from jaxcalc.pipeline.config.problems import Path_, show
from jaxcalc.pipeline.config.reader import Reader

__all__ = ["apply_overrides"]

_OVERRIDE_PART = re.compile(r"([A-Za-z0-9_-]+)|\[(\d+)\]")


def _parse_path(key: str) -> Path_ | None:
    parts: list[str | int] = []
    for chunk in key.split("."):
        if not chunk:
            return None
        pos = 0
        for m in _OVERRIDE_PART.finditer(chunk):
            if m.start() != pos:
                return None
            pos = m.end()
            if m.group(1) is not None:
                name = m.group(1)
                parts.append(int(name) if name.isdigit() else name)
            else:
                parts.append(int(m.group(2)))
        if pos != len(chunk):
            return None
    return tuple(parts) or None


def _override_value(text: str) -> Any:
    try:
        parsed = tomllib.loads(f"v = {text}")
    except tomllib.TOMLDecodeError:
        return text
    return parsed["v"] if list(parsed) == ["v"] else text


def apply_overrides(
    reader: Reader, raw: dict, overrides: Sequence[str]
) -> tuple[list[str], list[str]]:
    """Set each ``key=value`` of ``overrides`` in ``raw`` (in place, before validation).

    Problems go to ``reader`` (named by their ``--set`` text); each applied override is
    remembered there, so a problem with its value later names the ``--set`` too. Returns
    the applied ``key=value`` strings and one note per value from the file it replaced.
    """
    applied: list[str] = []
    notes: list[str] = []
    for number, item in enumerate(overrides):
        text = str(item).strip()
        reader.override_order.setdefault(text, number)
        key, eq, value_text = text.partition("=")
        key = key.strip()
        path = _parse_path(key) if eq else None
        if path is None:
            reader.override_problem(
                key or text,
                text,
                "expected key=value with a dotted key, e.g. --set starts.count=8 "
                "or --set optimizers[0].learning_rate=0.01",
            )
            continue
        value = _override_value(value_text.strip())
        node: Any = raw
        ok = True
        for depth, part in enumerate(path[:-1]):
            here = path[: depth + 1]
            if isinstance(part, int):
                if not isinstance(node, list) or part >= len(node):
                    size = len(node) if isinstance(node, list) else 0
                    reader.override_problem(
                        here,
                        text,
                        f"no entry {part}: there {'is' if size == 1 else 'are'} {size} "
                        "(indices start at 0)",
                    )
                    ok = False
                    break
                node = node[part]
            else:
                if not isinstance(node, dict):
                    reader.override_problem(
                        here, text, "cannot set a key inside a value that is not a table"
                    )
                    ok = False
                    break
                if isinstance(path[depth + 1], int) and not isinstance(node.get(part), list):
                    reader.override_problem(
                        here, text, f"no entry {path[depth + 1]}: '{part}' has none"
                    )
                    ok = False
                    break
                node = node.setdefault(part, {})
        if not ok:
            continue
        last = path[-1]
        if isinstance(last, int) or not isinstance(node, dict):
            reader.override_problem(
                path, text, "an override sets a key (e.g. run.steps), not a list entry"
            )
            continue
        if last in node:
            line = reader.lines.get(path)
            at = f" ({reader.source}:{line})" if line is not None else ""
            notes.append(f"--set {text} overrides {show(path)} = {node[last]!r}{at}")
        node[last] = value
        reader.overridden.append((path, text))
        applied.append(f"{key}={value_text.strip()}")
    return applied, notes


# -- typed readers -------------------------------------------------------------------
