"""Safe expressions in x and y, compiled into torch operations.

Python's own parser reads the text (so precedence and errors are Python's), then a whitelist walk
turns the tree into nested closures over torch functions. Nothing is ever evaluated by Python:
there is no eval, no attribute access, no names but x, y, pi and e, and no calls but the
functions below.
"""

from __future__ import annotations

import ast
import functools
import math
import operator
from collections.abc import Callable

import torch

from landscape.errors import LandscapeError

Fn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

FUNCTIONS: dict[str, Callable[..., torch.Tensor]] = {
    "sin": torch.sin,
    "cos": torch.cos,
    "tan": torch.tan,
    "asin": torch.asin,
    "acos": torch.acos,
    "atan": torch.atan,
    "sinh": torch.sinh,
    "cosh": torch.cosh,
    "tanh": torch.tanh,
    "exp": torch.exp,
    "log": torch.log,
    "log2": torch.log2,
    "log10": torch.log10,
    "sqrt": torch.sqrt,
    "abs": torch.abs,
    "sign": torch.sign,
    "min": torch.minimum,
    "max": torch.maximum,
    "atan2": torch.atan2,
    "hypot": torch.hypot,
}
ARITY = {"min": 2, "max": 2, "atan2": 2, "hypot": 2}
CONSTANTS = {"pi": math.pi, "e": math.e}
BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: torch.pow,
}
MAX_LENGTH = 1000

# What a rejected construct is called in the error message.
_NAMES = {
    ast.Attribute: "attribute access",
    ast.Subscript: "indexing",
    ast.Lambda: "lambda",
    ast.Compare: "comparison",
    ast.BoolOp: "and/or",
    ast.IfExp: "if/else",
    ast.List: "list",
    ast.Tuple: "tuple",
    ast.Dict: "dict",
    ast.Set: "set",
    ast.ListComp: "comprehension",
    ast.GeneratorExp: "comprehension",
    ast.NamedExpr: ":=",
    ast.JoinedStr: "f-string",
    ast.Starred: "star",
    ast.BitXor: "'^' (use ** for powers)",
    ast.FloorDiv: "'//'",
    ast.Mod: "'%'",
    ast.MatMult: "'@'",
    ast.BitAnd: "'&'",
    ast.BitOr: "'|'",
    ast.LShift: "'<<'",
    ast.RShift: "'>>'",
    ast.Invert: "'~'",
    ast.Not: "'not'",
}
VALID = "numbers, x, y, pi, e, + - * / **, parentheses and " + ", ".join(
    f"{name}()" for name in FUNCTIONS
)


def compile_expression(text: str) -> Fn:
    """Compile `text` (e.g. "x**2 + 10*y**2") into f(x, y) on torch tensors. The same text gives
    the same function object, so that what is kept per function (trace_all's compiled loops)
    serves every request for that expression.

    Raises LandscapeError naming the offending part and its column.
    """
    return _compile_once(text) if isinstance(text, str) else _compile(text)


@functools.lru_cache(maxsize=64)
def _compile_once(text: str) -> Fn:
    return _compile(text)


def _compile(text: str) -> Fn:
    if not isinstance(text, str) or not text.strip():
        raise LandscapeError(f"empty expression {text!r}: write a formula in x and y")
    if len(text) > MAX_LENGTH:
        raise LandscapeError(f"expression is {len(text)} characters long; at most {MAX_LENGTH}")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        col = f" at column {err.offset}" if err.offset else ""
        raise LandscapeError(f"cannot parse expression {text!r}: {err.msg}{col}") from None
    except ValueError as err:  # a null character: Python 3.11 before 3.11.4 says so this way
        raise LandscapeError(f"cannot parse expression {text!r}: {err}") from None
    compiler = _Compiler(text)
    fn = compiler.visit(tree.body)
    return fn if compiler.uses_xy else _flat(text, fn)


def _flat(text: str, fn: Fn) -> Fn:
    """A constant expression as a flat surface; refused when the constant is inf or NaN."""
    zero = torch.zeros((), dtype=torch.float64)
    value = float(fn(zero, zero))
    if not math.isfinite(value):
        raise LandscapeError(
            f"expression {text!r} does not depend on x or y and is {value}, not a finite "
            "number; write a formula in x and y, e.g. 'x**2 + 10*y**2'"
        )
    # 0 * x ties the value to the points, so that autograd gives the flat surface's zero gradient.
    return lambda x, y: value + 0 * x


class _Compiler:
    def __init__(self, text: str):
        self.text = text
        self.uses_xy = False  # set when the tree names x or y

    def fail(self, node: ast.AST, what: str) -> LandscapeError:
        col = getattr(node, "col_offset", None)
        where = f" at column {col + 1}" if col is not None else ""
        return LandscapeError(
            f"{what} is not allowed in expression {self.text!r}{where}; allowed: {VALID}"
        )

    def visit(self, node: ast.AST) -> Fn:
        if isinstance(node, ast.Constant):
            if type(node.value) not in (int, float):
                raise self.fail(node, f"constant {node.value!r}")
            value = float(node.value)
            # A 0-d tensor, so that even constant powers like 9**9**9 are done by torch
            # (overflowing to inf) rather than by Python's unbounded integers.
            return lambda x, y: torch.tensor(value, dtype=x.dtype, device=x.device)
        if isinstance(node, ast.Name):
            if node.id == "x":
                self.uses_xy = True
                return lambda x, y: x
            if node.id == "y":
                self.uses_xy = True
                return lambda x, y: y
            if node.id in CONSTANTS:
                value = CONSTANTS[node.id]
                return lambda x, y: torch.tensor(value, dtype=x.dtype, device=x.device)
            raise self.fail(node, f"name {node.id!r}")
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                inner = self.visit(node.operand)
                return lambda x, y: -inner(x, y)
            if isinstance(node.op, ast.UAdd):
                return self.visit(node.operand)
            raise self.fail(node, _NAMES.get(type(node.op), type(node.op).__name__))
        if isinstance(node, ast.BinOp):
            op = BINARY.get(type(node.op))
            if op is None:
                raise self.fail(node, _NAMES.get(type(node.op), type(node.op).__name__))
            left, right = self.visit(node.left), self.visit(node.right)
            return lambda x, y: op(left(x, y), right(x, y))
        if isinstance(node, ast.Call):
            return self.call(node)
        raise self.fail(node, _NAMES.get(type(node), type(node).__name__))

    def call(self, node: ast.Call) -> Fn:
        if not isinstance(node.func, ast.Name):
            raise self.fail(node.func, "calling anything but a named function")
        name = node.func.id
        if name not in FUNCTIONS:
            raise self.fail(node.func, f"function {name!r}")
        if node.keywords:
            raise self.fail(node, f"keyword arguments to {name}()")
        arity = ARITY.get(name, 1)
        if len(node.args) != arity:
            raise self.fail(node, f"{name}() with {len(node.args)} arguments (it takes {arity})")
        fn = FUNCTIONS[name]
        args = [self.visit(a) for a in node.args]
        if arity == 1:
            (a,) = args
            return lambda x, y: fn(a(x, y))
        a, b = args
        return lambda x, y: fn(*torch.broadcast_tensors(a(x, y), b(x, y)))
