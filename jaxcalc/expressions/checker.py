"""The allow-list check of a parsed expression's AST: node types, names, arity, sizes, constants."""

from __future__ import annotations

import ast
import math
from collections.abc import Sequence

import numpy as np

from jaxcalc.errors import ExpressionError
from jaxcalc.expressions.vocabulary import (
    ARITHMETIC,
    CONSTANTS,
    FUNCTIONS,
    MAX_DEPTH,
    MAX_EXPONENT,
    MAX_NODES,
    RESERVED,
)

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


class Validator:
    def __init__(
        self,
        text: str,
        columns: list[int],
        variables: Sequence[str] | None,
        dtype: tuple[str, float] = ("float64", float(np.finfo(np.float64).max)),
    ):
        self.text = text
        self.dtype_name, self.dtype_max = dtype
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
            hint = _suggest(name, set(self.declared) | RESERVED, prefix="; did you mean")
            self.fail(f"unknown name `{name}`; declared variables: {declared}{hint}", node)
        self.used.add(name)

    def check_constant(self, node: ast.AST) -> None:
        """Refuse a constant part whose value overflows the working dtype, the same rule
        as for a literal (``10^39`` and ``1e39`` alike in float32).

        sympy computes constant parts exactly (``9**9999`` has 9542 digits, and taking its
        square root factors it), so a short text could otherwise take minutes.
        """
        if _free_names(node):
            return
        value = _number(node)
        if math.isinf(value) or abs(value) > self.dtype_max:
            part = ast.unparse(node)
            part = part if len(part) <= 30 else part[:27] + "..."
            self.fail(
                f"constant `{part}` is infinite or overflows {self.dtype_name} "
                f"(max {self.dtype_max:.2g})",
                node,
            )

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
    """The variables in ``node`` (constants and function names are reserved, never variables)."""
    return {
        n.id
        for n in ast.walk(node)
        if isinstance(n, ast.Name) and n.id not in CONSTANTS and n.id not in FUNCTIONS
    }


def _number(node: ast.AST) -> float:
    """Plain-float value of a constant subtree (bounded time: floats, never big integers)."""
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        return CONSTANTS[node.id].value
    if isinstance(node, ast.UnaryOp):
        value = _number(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Call):
        return FUNCTIONS[node.func.id].number(*(_number(a) for a in node.args))
    a, b = _number(node.left), _number(node.right)
    with np.errstate(all="ignore"):
        op = type(node.op)
        if op in (ast.Div, ast.Pow):  # NumPy's float64: inf or nan, never an exception
            return float(ARITHMETIC[op](np.float64(a), np.float64(b)))
        return ARITHMETIC[op](a, b)


def syntax_message(err: SyntaxError, source: str, offset: int) -> str:
    message = (err.msg or "invalid syntax").split(" (")[0]
    if "never closed" in message or "unexpected EOF" in message or offset >= len(source):
        return "the expression is incomplete"
    if "Perhaps you forgot a comma" in (err.msg or "") or message == "invalid syntax":
        return "missing operator: write `*` between factors, e.g. `x*y`"
    return f"invalid syntax: {message}"
