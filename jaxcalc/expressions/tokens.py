"""Expression text -> checked tokens -> Python source (``^`` as power, implicit products)."""

from __future__ import annotations

import keyword
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from jaxcalc.errors import ExpressionError
from jaxcalc.expressions.vocabulary import MAX_DEPTH, RESERVED

# Characters and operators that Python would accept but jaxcalc does not, with the reason.
_REFUSED_OPERATORS = {
    "//": "operator `//` is not supported; use `/`",
    "%": "operator `%` is not supported",
    "@": "operator `@` is not supported",
    "~": "operator `~` is not supported",
    "<<": "operator `<<` is not supported",
    ">>": "operator `>>` is not supported",
    "<=": "comparisons are not supported",
    ">=": "comparisons are not supported",
    "==": "comparisons are not supported",
    "!=": "comparisons are not supported",
    "<": "comparisons are not supported",
    ">": "comparisons are not supported",
    "&": "operator `&` is not supported",
    "|": "operator `|` is not supported",
    ".": "attribute access (`.`) is not allowed in expressions",
    "'": "strings are not allowed in expressions",
    '"': "strings are not allowed in expressions",
    "[": "subscripts and lists (`[`) are not allowed in expressions",
    "]": "subscripts and lists (`]`) are not allowed in expressions",
    "{": "sets and dicts (`{`) are not allowed in expressions",
    "}": "sets and dicts (`}`) are not allowed in expressions",
    ":": "`:` is not allowed (no slices, lambdas or `:=`)",
    "=": "`=` is not allowed (no assignment or keyword arguments)",
    ";": "`;` is not allowed: an expression is a single formula",
    "\\": "`\\` is not allowed in expressions",
    "#": "comments (`#`) are not allowed in expressions",
    "!": "`!` is not supported",
    "$": "`$` is not allowed in expressions",
    "?": "`?` is not allowed in expressions",
    "`": "backquotes are not allowed in expressions",
}

_UNICODE_HINTS = {
    "\u00b2": "write `**2` (or `^2`)",
    "\u00b3": "write `**3` (or `^3`)",
    "\u00b7": "write `*` for multiplication",
    "\u00d7": "write `*` for multiplication",
    "\u2212": "write the ASCII `-`",
    "\u00f7": "write `/` for division",
    "\u03c0": "write `pi`",
}

_NUMBER = re.compile(r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = ("**", "*", "/", "+", "-", "^", "(", ")", ",")


@dataclass(frozen=True)
class Token:
    kind: str  # "number", "name", "op"
    text: str
    column: int  # 1-based column in the original text


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        col = i + 1
        if ch in " \t":
            i += 1
            continue
        if ord(ch) > 127 or not ch.isprintable():
            name = unicodedata.name(ch, "unnamed character")
            hint = _UNICODE_HINTS.get(ch)
            if hint is None:
                folded = unicodedata.normalize("NFKC", ch)
                hint = (
                    f"write the ASCII `{folded}`"
                    if folded.isascii() and folded.isprintable()
                    else "expressions are plain ASCII"
                )
            raise ExpressionError(
                f"character {ch!r} (U+{ord(ch):04X} {name}) is not allowed; {hint}", text, col
            )
        match = _NUMBER.match(text, i)
        if match:
            _refuse_glued_name(text, match, col)
            tokens.append(Token("number", match.group(0), col))
            i = match.end()
            continue
        match = NAME.match(text, i)
        if match:
            name = match.group(0)
            if name.startswith("_"):
                raise ExpressionError(
                    f"name `{name}` is not allowed: names starting with `_` are refused", text, col
                )
            if keyword.iskeyword(name) or keyword.issoftkeyword(name):
                raise ExpressionError(f"keyword `{name}` is not allowed in expressions", text, col)
            tokens.append(Token("name", name, col))
            i = match.end()
            continue
        for op in ("**", "//", "<<", ">>", "<=", ">=", "==", "!="):
            if text.startswith(op, i):
                break
        else:
            op = ch
        if op in _REFUSED_OPERATORS:
            raise ExpressionError(_REFUSED_OPERATORS[op], text, col)
        if op not in _OPERATORS:
            raise ExpressionError(f"character {op!r} is not allowed in expressions", text, col)
        tokens.append(Token("op", op, col))
        i += len(op)
    return tokens


_PREFIXED = re.compile(r"[xX][0-9a-fA-F]+|[bB][01]+|[oO][0-7]+")


def _refuse_glued_name(text: str, number: re.Match, column: int) -> None:
    """Refuse the names that make a number glued to them look like another number.

    ``6x`` is the product ``6*x``, but ``1e`` and ``3e+x`` read as an exponent without
    digits, and ``0x10`` and ``0b1`` as hexadecimal or binary literals: neither is what the
    product would compute, so both are refused at the number's column.
    """
    found = NAME.match(text, number.end())
    if not found:
        return
    digits, word = number.group(0), found.group(0)
    if word in ("e", "E"):
        raise ExpressionError(
            f"`{digits}{word}` is not a number: an exponent needs digits; write "
            f"`{digits}*{word}` for the product, `{digits}{word}0` for a number",
            text,
            column,
        )
    if digits == "0" and _PREFIXED.fullmatch(word):
        raise ExpressionError(
            f"prefixed literal `0{word}` is not supported; write the decimal number "
            f"{int('0' + word, 0)}, or `0*{word}` for the product",
            text,
            column,
        )


def float_limit(dtype: Any) -> tuple[str, float]:
    """The working float dtype's name and largest finite value (default: JAX's default).
    NumPy's own float dtypes are read without importing JAX."""
    import numpy as np

    try:
        found = np.dtype(dtype) if dtype is not None else None
    except TypeError:
        found = None
    if found is None or found.name not in ("float16", "float32", "float64"):
        import jax.numpy as jnp

        found = jnp.dtype(dtype) if dtype is not None else jnp.dtype(jnp.result_type(float))
        return found.name, float(jnp.finfo(found).max)
    return found.name, float(np.finfo(found).max)


def check_nesting(text: str, tokens: list[Token]) -> None:
    depth = 0
    for tok in tokens:
        if tok.text == "(":
            depth += 1
            if depth > MAX_DEPTH:
                raise ExpressionError(
                    f"parentheses nested deeper than the limit of {MAX_DEPTH}", text, tok.column
                )
        elif tok.text == ")":
            depth -= 1
            if depth < 0:
                raise ExpressionError("unmatched `)`", text, tok.column)
    if depth > 0:
        raise ExpressionError(f"{depth} unclosed `(`", text, len(text))
    last = tokens[-1]
    if last.kind == "op" and last.text != ")":
        raise ExpressionError(
            f"the expression is incomplete: it ends with `{last.text}`", text, last.column
        )


def rewrite(tokens: list[Token]) -> tuple[str, list[int]]:
    """Python source for the tokens (``^`` -> ``**``, implicit products made explicit).

    Returns the source and, for each of its characters, the original 1-based column.
    """
    out: list[str] = []
    columns: list[int] = []

    def emit(piece: str, column: int) -> None:
        out.append(piece)
        columns.extend([column] * len(piece))

    previous: Token | None = None
    for tok in tokens:
        if previous is not None:
            adjacent = tok.column == previous.column + len(previous.text)
            implicit = (
                adjacent and previous.kind == "number" and (tok.kind == "name" or tok.text == "(")
            )
            if implicit:
                emit("*", tok.column)
            else:
                emit(" ", tok.column)
        emit("**" if tok.text == "^" else tok.text, tok.column)
        previous = tok
    return "".join(out), columns


def check_literals(text: str, tokens: list[Token], dtype: Any) -> None:
    name, limit = float_limit(dtype)
    for tok in tokens:
        if tok.kind != "number":
            continue
        value = float(tok.text)  # float() has no digit limit; huge literals become inf
        if not math.isfinite(value) or abs(value) > limit:
            raise ExpressionError(
                f"literal {tok.text[:20]}{'...' if len(tok.text) > 20 else ''} overflows "
                f"{name} (max {limit:.2g})",
                text,
                tok.column,
            )


def check_variables(variables: Sequence[str], text: str) -> tuple[str, ...]:
    names = tuple(variables)
    if not names:
        raise ExpressionError("the list of variables is empty", text)
    for name in names:
        if not isinstance(name, str) or not NAME.fullmatch(name) or name.startswith("_"):
            raise ExpressionError(f"invalid variable name {name!r}", text)
        if name in RESERVED or keyword.iskeyword(name):
            raise ExpressionError(
                f"`{name}` is reserved (a function or constant) and cannot be a variable", text
            )
    if len(set(names)) != len(names):
        raise ExpressionError(f"variables repeat a name: {', '.join(names)}", text)
    return names
