"""Safe expression strings: text -> allow-listed AST -> a JAX function and its sympy twin.

The grammar is Python's arithmetic with three additions from course notation:

* ``^`` is power (``x^2`` is ``x**2``); it is never XOR.
* A number written directly before a name or a parenthesis multiplies it:
  ``6x``, ``3x^2 + 1``, ``2(x + 1)``.
* ``pi`` and ``e`` are the constants; they and the function names are reserved. A bare
  ``e`` right after a number (``1e``, ``3e+x``) and prefixed literals (``0x10``, ``0b1``)
  are refused: write ``1*e`` for the product, ``1e0`` for a number.

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

The modules, in the order the text passes through them: :mod:`.tokens` (text -> tokens ->
Python source), :mod:`.checker` (the AST allow-list), :mod:`.builders` (the JAX and sympy
tree walks), :mod:`.expression` (:class:`Expression` and :func:`parse`);
:mod:`.vocabulary` holds the allowed functions, constants and limits; :mod:`.symbolic` bounds
the sympy work done for display (size and time), falling back to the unsimplified form.
"""

from jaxcalc.expressions.expression import Expression, ExpressionWarning, parse
from jaxcalc.expressions.vocabulary import CONSTANTS, FUNCTIONS

__all__ = ["CONSTANTS", "FUNCTIONS", "Expression", "ExpressionWarning", "parse"]
