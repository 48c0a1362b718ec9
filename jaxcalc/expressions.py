"""Safe expression strings: text -> allow-listed AST -> a JAX function and its sympy twin.

The grammar is Python's arithmetic with three additions from course notation:

* ``^`` is power (``x^2`` is ``x**2``); it is never XOR.
* A number written directly before a name or a parenthesis multiplies it:
  ``6x``, ``3x^2 + 1``, ``2(x + 1)``.
* ``pi`` and ``e`` are the constants; they and the function names are reserved.

Nothing the user types is ever given to ``eval``, ``exec``, ``compile``, ``sympify`` or
``lambdify``. The text is tokenised by hand (ASCII only), rewritten into Python syntax,
parsed with :func:`ast.parse`, and every node is checked against an allow-list before two
tree walks build the JAX function and the sympy expression. Length, node count, nesting
depth and literal exponents are capped, so every input is accepted or refused in bounded
time. Every refusal is an :class:`~jaxcalc.errors.ExpressionError` naming the problem and
its column.

Variable order: when ``variables`` is not given, the free names are sorted in natural
order (``x1, x2, ..., x10``; ``x, y, z``). An expression of one variable is elementwise
over any array shape; one of ``n > 1`` variables takes points of shape ``(..., n)``.
"""

from __future__ import annotations

import ast
import keyword
import math
import re
import unicodedata
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import sympy as sp

from jaxcalc.errors import ConfigError, ExpressionError

__all__ = [
    "CONSTANTS",
    "FUNCTIONS",
    "Expression",
    "ExpressionWarning",
    "parse",
]

MAX_LENGTH = 2000
MAX_NODES = 500
MAX_DEPTH = 100
MAX_EXPONENT = 10_000


class ExpressionWarning(UserWarning):
    """An expression was accepted but is probably not what was meant (e.g. a constant)."""


@dataclass(frozen=True)
class _Function:
    arity: int
    jax: Callable[..., Any]
    sympy: Callable[..., sp.Expr]
    number: Callable[..., float]  # plain-float evaluation, used only to bound constants


def _sympy_cbrt(x):
    # Real cube root, the convention jnp.cbrt follows (sympy's cbrt is the principal root).
    return sp.sign(x) * sp.Abs(x) ** sp.Rational(1, 3)


def _float_guard(fn: Callable[..., float]) -> Callable[..., float]:
    def safe(*args: float) -> float:
        try:
            return float(fn(*args))
        except OverflowError:
            return math.inf
        except (ValueError, ZeroDivisionError):
            return math.nan

    return safe


FUNCTIONS: dict[str, _Function] = {
    name: _Function(arity, jfn, sfn, _float_guard(nfn))
    for name, arity, jfn, sfn, nfn in [
        ("sin", 1, jnp.sin, sp.sin, math.sin),
        ("cos", 1, jnp.cos, sp.cos, math.cos),
        ("tan", 1, jnp.tan, sp.tan, math.tan),
        ("asin", 1, jnp.arcsin, sp.asin, math.asin),
        ("acos", 1, jnp.arccos, sp.acos, math.acos),
        ("atan", 1, jnp.arctan, sp.atan, math.atan),
        ("sinh", 1, jnp.sinh, sp.sinh, math.sinh),
        ("cosh", 1, jnp.cosh, sp.cosh, math.cosh),
        ("tanh", 1, jnp.tanh, sp.tanh, math.tanh),
        ("asinh", 1, jnp.arcsinh, sp.asinh, math.asinh),
        ("acosh", 1, jnp.arccosh, sp.acosh, math.acosh),
        ("atanh", 1, jnp.arctanh, sp.atanh, math.atanh),
        ("exp", 1, jnp.exp, sp.exp, math.exp),
        ("log", 1, jnp.log, sp.log, math.log),
        ("log2", 1, jnp.log2, lambda x: sp.log(x, 2), math.log2),
        ("log10", 1, jnp.log10, lambda x: sp.log(x, 10), math.log10),
        ("sqrt", 1, jnp.sqrt, sp.sqrt, math.sqrt),
        ("cbrt", 1, jnp.cbrt, _sympy_cbrt, lambda x: math.copysign(abs(x) ** (1 / 3), x)),
        ("abs", 1, jnp.abs, sp.Abs, abs),
        ("sign", 1, jnp.sign, sp.sign, lambda x: float(np.sign(x))),
        ("erf", 1, jax.scipy.special.erf, sp.erf, math.erf),
        (
            "sigmoid",
            1,
            jax.nn.sigmoid,
            lambda x: 1 / (1 + sp.exp(-x)),
            lambda x: 1 / (1 + math.exp(-x)),
        ),
        ("relu", 1, jax.nn.relu, lambda x: sp.Max(x, 0), lambda x: max(x, 0.0)),
        (
            "softplus",
            1,
            jax.nn.softplus,
            lambda x: sp.log(1 + sp.exp(x)),
            lambda x: math.log1p(math.exp(x)),
        ),
        ("min", 2, jnp.minimum, sp.Min, min),
        ("max", 2, jnp.maximum, sp.Max, max),
    ]
}

CONSTANTS: dict[str, tuple[float, sp.Expr]] = {"pi": (math.pi, sp.pi), "e": (math.e, sp.E)}

_RESERVED = set(FUNCTIONS) | set(CONSTANTS)

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
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = ("**", "*", "/", "+", "-", "^", "(", ")", ",")


@dataclass(frozen=True)
class _Token:
    kind: str  # "number", "name", "op"
    text: str
    column: int  # 1-based column in the original text


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
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
            tokens.append(_Token("number", match.group(0), col))
            i = match.end()
            continue
        match = _NAME.match(text, i)
        if match:
            name = match.group(0)
            if name.startswith("_"):
                raise ExpressionError(
                    f"name `{name}` is not allowed: names starting with `_` are refused", text, col
                )
            if keyword.iskeyword(name) or keyword.issoftkeyword(name):
                raise ExpressionError(f"keyword `{name}` is not allowed in expressions", text, col)
            tokens.append(_Token("name", name, col))
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
        tokens.append(_Token("op", op, col))
        i += len(op)
    return tokens


def _check_nesting(text: str, tokens: list[_Token]) -> None:
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


def _rewrite(tokens: list[_Token]) -> tuple[str, list[int]]:
    """Python source for the tokens (``^`` -> ``**``, implicit products made explicit).

    Returns the source and, for each of its characters, the original 1-based column.
    """
    out: list[str] = []
    columns: list[int] = []

    def emit(piece: str, column: int) -> None:
        out.append(piece)
        columns.extend([column] * len(piece))

    previous: _Token | None = None
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


# ----------------------------------------------------------------------------------------
# Validation of the AST: an allow-list of node types.

_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_PRECEDENCE = {ast.Add: 1, ast.Sub: 1, ast.Mult: 2, ast.Div: 2, ast.Pow: 3}
_UNARYOPS = {ast.UAdd: "+", ast.USub: "-"}

_NODE_NAMES = {
    ast.Lambda: "lambda",
    ast.Tuple: "a tuple (an expression gives one number)",
    ast.List: "a list",
    ast.Compare: "a comparison",
    ast.IfExp: "`if ... else`",
    ast.BoolOp: "`and` / `or`",
    ast.Attribute: "attribute access (`.`)",
    ast.Subscript: "a subscript",
    ast.Starred: "a starred argument",
    ast.JoinedStr: "an f-string",
    ast.NamedExpr: "`:=`",
    ast.Await: "await",
}


class _Validator:
    def __init__(self, text: str, columns: list[int], variables: Sequence[str] | None):
        self.text = text
        self.columns = columns
        self.declared = None if variables is None else tuple(variables)
        self.used: set[str] = set()
        self.count = 0

    def column(self, node: ast.AST) -> int | None:
        offset = getattr(node, "col_offset", None)
        if offset is None or not self.columns:
            return None
        return self.columns[min(offset, len(self.columns) - 1)]

    def fail(self, message: str, node: ast.AST) -> None:
        raise ExpressionError(message, self.text, self.column(node))

    def visit(self, node: ast.AST, depth: int = 0) -> None:
        self.count += 1
        if self.count > MAX_NODES:
            self.fail(f"expression has more than {MAX_NODES} parts (the limit)", node)
        if depth > MAX_DEPTH:
            self.fail(f"expression is nested deeper than the limit of {MAX_DEPTH}", node)
        if isinstance(node, ast.BinOp):
            if type(node.op) not in _BINOPS:
                self.fail(f"operator {type(node.op).__name__} is not supported", node)
            # a chain like a + b - c + ... nests to the left; count it as one level
            chained = isinstance(node.left, ast.BinOp) and _PRECEDENCE.get(
                type(node.left.op)
            ) == _PRECEDENCE.get(type(node.op))
            self.visit(node.left, depth if chained else depth + 1)
            self.visit(node.right, depth + 1)
            if isinstance(node.op, ast.Pow):
                self.check_exponent(node)
            self.check_constant(node)
        elif isinstance(node, ast.UnaryOp):
            if type(node.op) not in _UNARYOPS:
                self.fail(f"unary operator {type(node.op).__name__} is not supported", node)
            self.visit(node.operand, depth + 1)
        elif isinstance(node, ast.Call):
            self.visit_call(node, depth)
            self.check_constant(node)
        elif isinstance(node, ast.Name):
            self.visit_name(node)
        elif isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, int | float):
                kind = "strings" if isinstance(node.value, str | bytes) else "this constant"
                self.fail(f"{kind} are not allowed in expressions", node)
        else:
            what = _NODE_NAMES.get(type(node), type(node).__name__)
            self.fail(f"{what} is not allowed in expressions", node)

    def visit_call(self, node: ast.Call, depth: int) -> None:
        if not isinstance(node.func, ast.Name):
            self.fail(
                "missing operator before `(`: write `*` for a product",
                node.args[0] if node.args else node,
            )
        name = node.func.id
        if name not in FUNCTIONS:
            hint = _suggest(name, FUNCTIONS)
            if self.declared is not None and name in self.declared or name in CONSTANTS:
                hint = f"`{name}` is not a function; write `{name}*(...)` for a product"
            self.fail(f"unknown function `{name}`; {hint}", node)
        if node.keywords:
            self.fail(f"`{name}` takes positional arguments only", node)
        arity = FUNCTIONS[name].arity
        if len(node.args) != arity:
            plural = "argument" if arity == 1 else "arguments"
            self.fail(f"`{name}` takes {arity} {plural}, got {len(node.args)}", node)
        for arg in node.args:
            self.visit(arg, depth + 1)

    def visit_name(self, node: ast.Name) -> None:
        name = node.id
        if name in CONSTANTS:
            return
        if name in FUNCTIONS:
            self.fail(f"`{name}` is a function; call it as {name}(...)", node)
        if self.declared is not None and name not in self.declared:
            declared = ", ".join(self.declared) or "none"
            hint = _suggest(name, set(self.declared) | _RESERVED, prefix="; did you mean")
            self.fail(f"unknown name `{name}`; declared variables: {declared}{hint}", node)
        self.used.add(name)

    def check_constant(self, node: ast.AST) -> None:
        """Refuse a constant part whose value overflows float64.

        sympy computes constant parts exactly (``9**9999`` has 9542 digits, and taking its
        square root factors it), so a short text could otherwise take minutes.
        """
        if _free_names(node):
            return
        value = _number(node)
        if math.isinf(value):
            part = ast.unparse(node)
            part = part if len(part) <= 30 else part[:27] + "..."
            self.fail(f"constant `{part}` is infinite or overflows float64 (max 1.8e308)", node)

    def check_exponent(self, node: ast.BinOp) -> None:
        if _free_names(node.right):
            return
        value = _number(node.right)
        if not math.isfinite(value) or abs(value) > MAX_EXPONENT:
            shown = f"{value:.10g}" if math.isfinite(value) else "beyond float range"
            self.fail(f"exponent {shown} too large (limit {MAX_EXPONENT})", node.right)


def _suggest(name: str, candidates, prefix: str = "did you mean") -> str:
    import difflib

    close = difflib.get_close_matches(name.lower(), sorted(candidates), n=3, cutoff=0.6)
    close = [c for c in sorted(candidates) if c.lower() == name.lower()] + close
    if not close:
        return "" if prefix.startswith(";") else f"allowed: {', '.join(sorted(FUNCTIONS))}"
    unique = list(dict.fromkeys(close))
    lead = prefix if prefix.startswith(";") else prefix
    return f"{lead} `{'`, `'.join(unique)}`?"


def _free_names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and n.id not in CONSTANTS}


def _number(node: ast.AST) -> float:
    """Plain-float value of a constant subtree (bounded time: floats, never big integers)."""
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        return CONSTANTS[node.id][0]
    if isinstance(node, ast.UnaryOp):
        value = _number(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Call):
        return FUNCTIONS[node.func.id].number(*(_number(a) for a in node.args))
    a, b = _number(node.left), _number(node.right)
    with np.errstate(all="ignore"):
        op = type(node.op)
        if op is ast.Add:
            return a + b
        if op is ast.Sub:
            return a - b
        if op is ast.Mult:
            return a * b
        if op is ast.Div:
            return float(np.float64(a) / np.float64(b))
        return float(np.float64(a) ** np.float64(b))


def _integer_exponent(node: ast.AST) -> int | None:
    """The exponent as a Python int when it is an integer literal (optionally signed)."""
    sign = 1
    while isinstance(node, ast.UnaryOp):
        sign = -sign if isinstance(node.op, ast.USub) else sign
        node = node.operand
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return sign * node.value
    return None


# ----------------------------------------------------------------------------------------
# The two builders: JAX and sympy.


def _to_sympy(node: ast.AST, symbols: dict[str, sp.Symbol]) -> sp.Expr:
    if isinstance(node, ast.Constant):
        if type(node.value) is int:
            return sp.Integer(node.value)
        return sp.Rational(repr(node.value))
    if isinstance(node, ast.Name):
        return CONSTANTS[node.id][1] if node.id in CONSTANTS else symbols[node.id]
    if isinstance(node, ast.UnaryOp):
        operand = _to_sympy(node.operand, symbols)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.Call):
        return FUNCTIONS[node.func.id].sympy(*(_to_sympy(a, symbols) for a in node.args))
    left, right = _to_sympy(node.left, symbols), _to_sympy(node.right, symbols)
    op = type(node.op)
    if op is ast.Add:
        return left + right
    if op is ast.Sub:
        return left - right
    if op is ast.Mult:
        return left * right
    if op is ast.Div:
        return left / right
    return left**right


def _to_jax(node: ast.AST, env: dict[str, jax.Array]) -> jax.Array:
    if isinstance(node, ast.Constant):
        return jnp.asarray(float(node.value))  # weakly typed: follows the input's dtype
    if isinstance(node, ast.Name):
        if node.id in CONSTANTS:
            return jnp.asarray(CONSTANTS[node.id][0])
        return env[node.id]
    if isinstance(node, ast.UnaryOp):
        operand = _to_jax(node.operand, env)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.Call):
        return FUNCTIONS[node.func.id].jax(*(_to_jax(a, env) for a in node.args))
    left = _to_jax(node.left, env)
    op = type(node.op)
    if op is ast.Pow:
        exponent = _integer_exponent(node.right)
        if exponent is not None:
            return left**exponent  # lax.integer_pow: clean gradients at x <= 0
        return jnp.power(left, _to_jax(node.right, env))
    right = _to_jax(node.right, env)
    if op is ast.Add:
        return left + right
    if op is ast.Sub:
        return left - right
    if op is ast.Mult:
        return left * right
    return left / right


def _natural_key(name: str):
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


# ----------------------------------------------------------------------------------------
# The public face.


@dataclass(frozen=True, eq=False)
class Expression:
    """A parsed, validated expression: callable like a JAX function, with a sympy twin.

    Attributes:
      text: the expression as typed.
      variables: the variable names, in the order of the input vector's last axis.
      sympy: the sympy expression (built from the validated tree, never from the text).
      symbols: the sympy symbols of ``variables``, in the same order.

    Calling it: with one variable, ``f(x)`` is elementwise over any shape; with ``n > 1``
    variables, ``f(v)`` takes ``v`` of shape ``(..., n)`` and returns shape ``(...)``.
    Integer inputs are cast to JAX's default float dtype.
    """

    text: str
    variables: tuple[str, ...]
    sympy: sp.Expr = field(repr=False)
    symbols: tuple[sp.Symbol, ...] = field(repr=False)
    _tree: ast.AST = field(repr=False)
    _constant: bool = field(repr=False, default=False)

    @property
    def dim(self) -> int:
        """Number of variables (the length of one point's vector)."""
        return len(self.variables)

    @property
    def is_constant(self) -> bool:
        """True when the expression does not depend on any variable."""
        return self._constant

    def __call__(self, x: Any) -> jax.Array:
        x = jnp.asarray(x)
        if not jnp.issubdtype(x.dtype, jnp.inexact):
            x = x.astype(jnp.result_type(float))
        if self.dim == 1:
            env = {self.variables[0]: x}
            batch_shape = x.shape
        else:
            if x.ndim == 0 or x.shape[-1] != self.dim:
                raise ConfigError(
                    f"expression `{self.text}` has variables ({', '.join(self.variables)}): "
                    f"expected points of shape (..., {self.dim}), got {x.shape}"
                )
            env = {name: x[..., i] for i, name in enumerate(self.variables)}
            batch_shape = x.shape[:-1]
        value = _to_jax(self._tree, env)
        if value.shape != batch_shape:  # a constant expression still has one value per point
            value = jnp.broadcast_to(value, batch_shape) + jnp.zeros(batch_shape, x.dtype)
        return value.astype(jnp.result_type(value.dtype, x.dtype))

    def __str__(self) -> str:
        return str(self.sympy)

    def __repr__(self) -> str:
        return f"Expression({self.text!r}, variables={self.variables})"


def parse(
    text: str,
    variables: Sequence[str] | str | None = None,
    *,
    dtype: Any = None,
    max_length: int = MAX_LENGTH,
) -> Expression:
    """Parse an expression string into a safe, differentiable :class:`Expression`.

    Args:
      text: the formula, e.g. ``"3x^2 + 1"`` or ``"(x - 2)**2 + 3*(y + 1)**2"``.
      variables: the variable names in order (a sequence, or one name). By default the
        free names in natural order (``x1, x2, ..., x10``). Reserved names (functions,
        ``pi``, ``e``) cannot be variables.
      dtype: the working float dtype, used to refuse literals that overflow it (default:
        JAX's default float dtype, float32 unless x64 is enabled).
      max_length: the longest accepted text, checked before anything else.

    Returns:
      An :class:`Expression`.

    Raises:
      ExpressionError: naming the problem and its column.

    Example:
      >>> f = parse("3x^2 + 1")
      >>> float(f(2.0))
      13.0
      >>> str(f.sympy)
      '3*x**2 + 1'
    """
    if not isinstance(text, str):
        raise ExpressionError(f"an expression must be a string, got {type(text).__name__}")
    if len(text) > max_length:
        raise ExpressionError(f"expression is {len(text)} characters; limit {max_length}")
    stripped = text.strip()
    if not stripped:
        raise ExpressionError("expression is empty", text)
    lead = len(text) - len(text.lstrip())
    if isinstance(variables, str):
        variables = (variables,)
    if variables is not None:
        variables = _check_variables(variables, text)

    try:
        tokens = _tokenize(stripped)
    except ExpressionError as err:  # report columns in the text as given
        raise ExpressionError(err.reason, text, (err.column or 0) + lead or None) from None
    tokens = [_Token(t.kind, t.text, t.column + lead) for t in tokens]
    _check_nesting(text, tokens)
    _check_literals(text, tokens, dtype)
    source, columns = _rewrite(tokens)

    try:
        tree = ast.parse(source, mode="eval").body
    except SyntaxError as err:
        offset = (err.offset or 1) - 1
        column = columns[min(offset, len(columns) - 1)] if columns else None
        raise ExpressionError(_syntax_message(err, source, offset), text, column) from None
    except (RecursionError, MemoryError):
        raise ExpressionError("expression is too deeply nested", text) from None

    validator = _Validator(text, columns, variables)
    try:
        validator.visit(tree)
    except RecursionError:
        raise ExpressionError("expression is too deeply nested", text) from None

    constant = not validator.used
    if variables is None:
        variables = tuple(sorted(validator.used, key=_natural_key)) or ("x",)
    if constant:
        warnings.warn(
            f"expression `{stripped}` does not depend on {', '.join(variables)}: "
            "its derivative is 0 and Newton's method is undefined",
            ExpressionWarning,
            stacklevel=2,
        )
    symbols = tuple(sp.Symbol(name, real=True) for name in variables)
    sym = _to_sympy(tree, dict(zip(variables, symbols, strict=True)))
    return Expression(stripped, tuple(variables), sym, symbols, tree, constant)


def _check_variables(variables: Sequence[str], text: str) -> tuple[str, ...]:
    names = tuple(variables)
    if not names:
        raise ExpressionError("the list of variables is empty", text)
    for name in names:
        if not isinstance(name, str) or not _NAME.fullmatch(name) or name.startswith("_"):
            raise ExpressionError(f"invalid variable name {name!r}", text)
        if name in _RESERVED or keyword.iskeyword(name):
            raise ExpressionError(
                f"`{name}` is reserved (a function or constant) and cannot be a variable", text
            )
    if len(set(names)) != len(names):
        raise ExpressionError(f"variables repeat a name: {', '.join(names)}", text)
    return names


def _check_literals(text: str, tokens: list[_Token], dtype: Any) -> None:
    dtype = jnp.dtype(dtype) if dtype is not None else jnp.result_type(float)
    limit = float(jnp.finfo(dtype).max)
    for tok in tokens:
        if tok.kind != "number":
            continue
        value = float(tok.text)  # float() has no digit limit; huge literals become inf
        if not math.isfinite(value) or abs(value) > limit:
            raise ExpressionError(
                f"literal {tok.text[:20]}{'...' if len(tok.text) > 20 else ''} overflows "
                f"{jnp.dtype(dtype).name} (max {limit:.2g})",
                text,
                tok.column,
            )


def _syntax_message(err: SyntaxError, source: str, offset: int) -> str:
    message = (err.msg or "invalid syntax").split(" (")[0]
    if "never closed" in message or "unexpected EOF" in message or offset >= len(source):
        return "the expression is incomplete"
    if "Perhaps you forgot a comma" in (err.msg or "") or message == "invalid syntax":
        return "missing operator: write `*` between factors, e.g. `x*y`"
    return f"invalid syntax: {message}"
