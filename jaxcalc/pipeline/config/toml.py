"""TOML text in, a plain dict and the line of every key out.

The standard library's :mod:`tomllib` reads the text (TOML only: in TOML ``1e-3`` is a
float and ``no`` is not a boolean); a small scan of the raw text adds what tomllib does not
give: the line of each key and table, and the duplicates (reported all at once). Decode
errors come back as a :class:`~jaxcalc.errors.ConfigError` with the line and a hint for the
usual slips (a Windows path in double quotes, an unquoted formula).
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jaxcalc.errors import ConfigError
from jaxcalc.pipeline.config.problems import ConfigProblem, Path_, fail, problems_error, show

__all__ = ["read_file", "read_toml"]


def read_file(path: str | os.PathLike) -> tuple[str, Path]:
    """The text of the config file ``path`` (UTF-8, a BOM dropped) and its absolute path.

    Raises:
      ConfigError: YAML or JSON, a folder, missing, unreadable, or not UTF-8.
    """
    shown = str(path)
    p = Path(path).expanduser()
    if p.suffix.lower() in (".yaml", ".yml", ".json"):
        kind = "JSON" if p.suffix.lower() == ".json" else "YAML"
        raise fail(
            f"{shown}: {kind} is not supported; experiment configs are TOML only "
            "(see docs/configs.md; in YAML `1e-3` is a string and `no` is false)"
        )
    if p.is_dir():
        raise fail(f"{shown} is a directory, not a config file")
    if not p.exists():
        raise fail(f"not found: {shown}")
    try:
        data = p.read_bytes()
    except OSError as err:
        raise fail(f"cannot read {shown}: {err.strerror or err}") from None
    return _decode(data, shown), Path(os.path.abspath(p))


def read_toml(text: str, source: str) -> tuple[dict[str, Any], dict[Path_, int]]:
    """``text`` as a dict, and the line of each key path in it.

    Raises:
      ConfigError: the text is empty or not valid TOML (duplicates: one
        :class:`~jaxcalc.pipeline.config.ConfigValidationError` listing them all).
    """
    if not text.strip():
        raise fail(f"{source}: config file is empty")
    try:
        scan = _scan(text)
    except _TooDeep as deep:
        raise fail(
            f"{source}:{deep.line}: keys, arrays or inline tables are nested deeper than "
            f"{MAX_NESTING} levels; a config needs a few"
        ) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise _decode_error(err, text, source, scan) from None
    except (RecursionError, MemoryError):  # a last resort: the scan refuses deep nesting
        raise fail(f"{source}: the file is nested too deeply to read") from None
    if not raw:
        raise fail(f"{source}: config file is empty (only comments)")
    return raw, scan.lines


def _decode(data: bytes, shown: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise fail(f"{shown} is UTF-16; save it as UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        offset = err.start + (3 if data.startswith(b"\xef\xbb\xbf") else 0)
        raise fail(
            f"{shown} is not UTF-8 (byte 0x{data[offset]:02x} at offset {offset}); save it as UTF-8"
        ) from None


# Scanning the raw text for line numbers and duplicate keys (tomllib gives neither)


@dataclass
class _Scan:
    lines: dict[Path_, int] = field(default_factory=dict)
    duplicates: list[tuple[str, int, int, str]] = field(default_factory=list)


_BARE = re.compile(r"[A-Za-z0-9_-]+")

# The deepest nesting of keys, arrays and inline tables read (tomllib recurses per level).
MAX_NESTING = 32


class _TooDeep(Exception):
    def __init__(self, line: int = 0):
        self.line = line


def _read_key(s: str, i: int) -> tuple[list[str], int] | None:
    """A dotted key starting at ``s[i]``; returns its parts and the index after it."""
    parts: list[str] = []
    n = len(s)
    while True:
        while i < n and s[i] in " \t":
            i += 1
        if i >= n:
            return None
        if s[i] in "\"'":
            q = s[i]
            j = i + 1
            buf = []
            while j < n and s[j] != q:
                if q == '"' and s[j] == "\\" and j + 1 < n:
                    buf.append(s[j + 1])
                    j += 2
                    continue
                buf.append(s[j])
                j += 1
            if j >= n:
                return None
            parts.append("".join(buf))
            i = j + 1
        else:
            m = _BARE.match(s, i)
            if not m:
                return None
            parts.append(m.group())
            i = m.end()
        while i < n and s[i] in " \t":
            i += 1
        if i < n and s[i] == ".":
            i += 1
            continue
        return parts, i


def _scan_value(s: str, i: int, depth: int, ml: str | None) -> tuple[int, str | None]:
    """Track brackets and multi-line strings through ``s[i:]`` (one physical line)."""
    n = len(s)
    while i < n:
        if ml is not None:
            end = s.find(ml, i)
            if end < 0:
                return depth, ml
            i = end + 3
            ml = None
            continue
        c = s[i]
        if c == "#":
            break
        if s.startswith('"""', i) or s.startswith("'''", i):
            ml = s[i : i + 3]
            i += 3
            continue
        if c in "\"'":
            j = i + 1
            while j < n and s[j] != c:
                j += 2 if (c == '"' and s[j] == "\\") else 1
            i = j + 1
            continue
        if c in "[{":
            depth += 1
            if depth > MAX_NESTING:
                raise _TooDeep
        elif c in "]}":
            depth = max(0, depth - 1)
        i += 1
    return depth, ml


def _scan(text: str) -> _Scan:
    scan = _Scan()
    arrays: dict[Path_, int] = {}
    tables: dict[Path_, int] = {}
    prefix: Path_ = ()
    depth, ml = 0, None
    lineno = 0
    try:
        for lineno, line in enumerate(text.splitlines(), start=1):
            if depth or ml:
                depth, ml = _scan_value(line, 0, depth, ml)
                continue
            stripped = line.lstrip()
            if not stripped or stripped.startswith("#"):
                continue
            if stripped.startswith("["):
                is_array = stripped.startswith("[[")
                got = _read_key(stripped, 2 if is_array else 1)
                if got is None:
                    continue
                keys = got[0]
                resolved: Path_ = ()
                for k in keys[:-1]:
                    resolved += (k,)
                    if resolved in arrays:
                        resolved += (arrays[resolved] - 1,)
                resolved += (keys[-1],)
                if is_array:
                    index = arrays.get(resolved, 0)
                    arrays[resolved] = index + 1
                    scan.lines.setdefault(resolved, lineno)
                    prefix = (*resolved, index)
                else:
                    prefix = resolved
                    if prefix in tables:
                        dup = (f"[{show(prefix)}]", tables[prefix], lineno, "table")
                        scan.duplicates.append(dup)
                    tables[prefix] = lineno
                scan.lines[prefix] = lineno
                continue
            got = _read_key(line, 0)
            if got is None:
                continue
            keys, i = got
            if i >= len(line) or line[i] != "=":
                continue
            path = (*prefix, *keys)
            if len(path) > MAX_NESTING:
                raise _TooDeep
            for k in range(len(prefix) + 1, len(path)):  # the tables a dotted key opens
                scan.lines.setdefault(path[:k], lineno)
            if path in scan.lines and path not in arrays:
                scan.duplicates.append((show(path), scan.lines[path], lineno, "key"))
            else:
                scan.lines[path] = lineno
            depth, ml = _scan_value(line, i + 1, 0, None)
    except _TooDeep:
        raise _TooDeep(lineno) from None
    return scan


def _decode_error(err: tomllib.TOMLDecodeError, text: str, source: str, scan: _Scan) -> ConfigError:
    message = str(err)
    m = re.search(r"\(at line (\d+), column (\d+)\)|\(at end of document\)", message)
    reason = message[: m.start()].strip() if m else message
    line = int(m.group(1)) if m and m.group(1) else None
    column = int(m.group(2)) if m and m.group(2) else None
    if scan.duplicates and ("overwrite" in reason or "twice" in reason):
        problems = [
            ConfigProblem(
                key,
                f"line {second}",
                second,
                f"duplicate {kind} (first on line {first}); keep one of them",
            )
            for key, first, second, kind in scan.duplicates
        ]
        return problems_error(source, sorted(problems, key=lambda p: p.line))
    lines = text.splitlines()
    src = lines[line - 1] if line is not None and 0 < line <= len(lines) else ""
    hint = ""
    key_value = re.match(r"\s*([A-Za-z0-9_.\"'-]+)\s*=\s*(.*?)\s*$", src)
    if "\\" in src and any(
        w in reason for w in ("Unescaped", "escape", "hex value", "Illegal character")
    ):
        fixed = re.sub(r'"([^"]*)"', lambda q: "'" + q.group(1) + "'", src.strip())
        hint = f"; use single quotes for paths (no escapes inside): {fixed}"
    elif key_value and key_value.group(2) and key_value.group(2)[0] not in "\"'[{":
        value = key_value.group(2).split(" #")[0].strip()
        if re.search(r"[A-Za-z*/()^]", value) and value not in ("true", "false", "inf", "nan"):
            key = key_value.group(1)
            hint = f'; a text value must be a quoted string: {key} = "{value}"'
    where = f"line {line}" + (f", column {column}" if column else "") if line else "end of file"
    return fail(f"{source} is not valid TOML ({where}): {reason}{hint}")
