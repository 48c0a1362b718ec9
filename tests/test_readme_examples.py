"""The README's Python example prints what the README says it prints.

The example block under "Objectives and optimizers" is run line by line in a new process
(float32, as a new user's session is); every line written ``expression  # value`` has its
expression evaluated there and compared with the value shown in the comment. Which runs
reach the optimum is measured against each objective's published f_opt.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# a comment that shows a value: a dict, list or tuple literal, or a number
_SHOWN = re.compile(r"^(?P<code>\S.*?)\s+#\s(?P<value>[\[{(][^#]*|-?\d[\d.e-]*)")

_RUNNER = """
import json, sys
import numpy as np
lines = json.loads(sys.stdin.read())
scope, shown = {}, []
for code, wanted in lines:
    if wanted is None:
        exec(code, scope)
        continue
    value = eval(code, scope)
    if hasattr(value, "tolist"):
        value = np.asarray(value).tolist()
    shown.append(repr(value) if not isinstance(value, float) else repr(float(value)))
print(json.dumps(shown))
"""


def _literal(text: str) -> str | None:
    """The value at the start of a comment (a literal, possibly followed by words)."""
    if text[0].isdigit() or text[0] == "-":
        return text.split()[0]
    for end in range(len(text), 0, -1):
        try:
            ast.literal_eval(text[:end])
        except (ValueError, SyntaxError):
            continue
        return text[:end]
    return None


def _example_lines() -> list[tuple[str, str | None]]:
    readme = (ROOT / "README.md").read_text()
    block = re.search(
        r"```python\n(import jax\nfrom jaxcalc import objectives, optimize\n.*?)```", readme, re.S
    ).group(1)
    lines: list[tuple[str, str | None]] = []
    pending = ""  # a shown value written on the comment lines after its expression
    for raw in block.splitlines() + [""]:
        stripped = raw.strip()
        if stripped.startswith("#"):
            pending += " " + stripped.lstrip("#").strip()
            continue
        if pending:
            lines[-1] = (lines[-1][0], _literal(pending.strip()))
            pending = ""
        if not stripped:
            continue
        code, _, comment = raw.partition("  #")
        code, comment = code.strip(), comment.strip()
        assignment = re.match(r"^[\w.]+\s*=[^=]", code)
        wanted = _literal(comment) if comment and _SHOWN.match(raw) and not assignment else None
        lines.append((code, wanted))
    return lines


def _same(shown: str, wanted: str) -> bool:
    value = ast.literal_eval(shown)
    if isinstance(value, float):  # shown to the digits the README prints
        text = wanted.split()[0]
        digits = len(text.split(".")[1]) if "." in text else 0
        return round(value, digits) == float(text)
    if isinstance(value, list) and all(isinstance(v, float) for v in value):
        expected = ast.literal_eval(wanted)
        digits = max(len(repr(v).split(".")[1]) for v in expected)
        return [round(v, digits) for v in value] == list(expected)
    return value == ast.literal_eval(wanted) or (
        isinstance(value, list) and tuple(value) == ast.literal_eval(wanted)
    )


def test_readme_example_prints_what_it_shows():
    lines = _example_lines()
    wanted = [w for _, w in lines if w is not None]
    assert len(wanted) >= 5, "the README's example lost its shown values"
    proc = subprocess.run(
        [sys.executable, "-c", _RUNNER],
        input=json.dumps(lines),
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "JAX_PLATFORMS": "cpu", "JAX_ENABLE_X64": "0"},
    )
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout.strip().splitlines()[-1])
    for (code, w), s in zip([(c, w) for c, w in lines if w is not None], shown, strict=True):
        assert _same(s, w), f"README: {code}  # {w}\n  prints {s}"
