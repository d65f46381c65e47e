"""Typed formulas as loss functions, parsed safely.

``parse_formula("x**2 + 9*y**2")`` returns a :class:`~optsim.functions.LossFunction`
with a vectorised value and a symbolic gradient. The text never reaches ``eval``:
it is parsed with ``ast.parse(mode="eval")`` and the tree is walked against a
whitelist (numbers, the variables x and y, the constants pi and e, + - * / ** and
^ for power, and calls of a few named functions), building a sympy expression node
by node. Sympy differentiates it and ``lambdify`` compiles value and gradient to
numpy code; the code it generates contains only names from the whitelist.

Anything else is refused with a ValueError that says what is wrong and at which
column (1-based, counted in the text as typed). Constant sub-expressions are folded
with overflow checks, exponents are bounded and nesting is limited, so that
``9**9**9`` and the like are refused at once instead of hanging.

sympy is imported only when a formula is parsed, so ``import optsim`` stays light.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import math
import operator
import unicodedata
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .loss import LossFunction, gradient_differences

#: longest formula accepted, in characters
MAX_LENGTH = 500
#: deepest nesting of operations accepted (a chain a + b + c + ... nests too)
MAX_DEPTH = 120
#: deepest nesting of function calls and powers (their derivatives grow fastest)
MAX_NESTING = 20
#: largest absolute constant exponent accepted (x**1000 is fine, x**9**9 is not)
MAX_EXPONENT = 1000
#: the binary operators other than ** (numbers and sympy expressions alike)
_ARITHMETIC = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
               ast.Div: operator.truediv}
#: largest constant magnitude accepted while folding constants
MAX_CONSTANT = 1e300
#: most nodes a value or gradient expression may have after differentiation
MAX_NODES = 20000

VARIABLES = ("x", "y")
CONSTANTS = {"pi": math.pi, "e": math.e}


def _sign(v: float) -> float:
    return float(np.sign(v))


# name -> (fewest args, most args, sympy builder name, numeric function for constants)
_FUNCTIONS: dict[str, tuple[int, int, str, Callable[..., float]]] = {
    "sin": (1, 1, "sin", math.sin),
    "cos": (1, 1, "cos", math.cos),
    "tan": (1, 1, "tan", math.tan),
    "asin": (1, 1, "asin", math.asin),
    "arcsin": (1, 1, "asin", math.asin),
    "acos": (1, 1, "acos", math.acos),
    "arccos": (1, 1, "acos", math.acos),
    "atan": (1, 1, "atan", math.atan),
    "arctan": (1, 1, "atan", math.atan),
    "atan2": (2, 2, "atan2", math.atan2),
    "arctan2": (2, 2, "atan2", math.atan2),
    "sinh": (1, 1, "sinh", math.sinh),
    "cosh": (1, 1, "cosh", math.cosh),
    "tanh": (1, 1, "tanh", math.tanh),
    "exp": (1, 1, "exp", math.exp),
    "log": (1, 1, "log", math.log),
    "ln": (1, 1, "log", math.log),
    "log10": (1, 1, "log10", math.log10),
    "log2": (1, 1, "log2", math.log2),
    "sqrt": (1, 1, "sqrt", math.sqrt),
    "abs": (1, 1, "Abs", abs),
    "sign": (1, 1, "sign", _sign),
    "erf": (1, 1, "erf", math.erf),
    "min": (2, 8, "min", min),
    "max": (2, 8, "max", max),
}

_OPERATORS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**",
              ast.Mod: "%", ast.FloorDiv: "//", ast.MatMult: "@", ast.LShift: "<<",
              ast.RShift: ">>", ast.BitOr: "|", ast.BitAnd: "&", ast.BitXor: "^"}

_FORBIDDEN = {
    ast.Attribute: "attribute access", ast.Subscript: "indexing with [...]",
    ast.Lambda: "lambda", ast.ListComp: "a comprehension", ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension", ast.GeneratorExp: "a comprehension",
    ast.Compare: "a comparison", ast.BoolOp: "'and' / 'or'", ast.IfExp: "'if ... else'",
    ast.Tuple: "a tuple (a comma outside a function call)", ast.List: "a list",
    ast.Set: "a set", ast.Dict: "a dict", ast.JoinedStr: "a string",
    ast.NamedExpr: "assignment with ':='", ast.Starred: "'*' unpacking",
    ast.Await: "'await'", ast.Yield: "'yield'", ast.YieldFrom: "'yield'",
}

# typed characters that mean something in formulas but not in Python
_TRANSLATE = {"^": "**", "\u2212": "-", "\u00d7": "*", "\u00b7": "*", "\u22c5": "*",
              "\u00f7": "/", "\u00b2": "**2", "\u00b3": "**3", "\u03c0": "pi"}


class _Source:
    """The text as typed and its Python translation, with the map between columns."""

    def __init__(self, text: str) -> None:
        self.text = text
        out: list[str] = []
        cols: list[int] = []
        for i, ch in enumerate(text):
            rep = " " if ch.isspace() else _TRANSLATE.get(ch, ch)
            out.append(rep)
            cols.extend([i] * len(rep))
        cols.append(len(text))
        src = "".join(out)
        lead = len(src) - len(src.lstrip(" "))  # Python refuses a leading indent
        self.src = src[lead:]
        self._cols = cols[lead:]
        self._utf8 = self.src.encode("utf-8")

    def column(self, src_index: int) -> int:
        """The 1-based column in the typed text of a 0-based index into ``src``."""
        src_index = min(max(src_index, 0), len(self._cols) - 1)
        return self._cols[src_index] + 1

    def byte_column(self, byte_offset: int) -> int:
        """The 1-based typed column of an AST byte offset (ast counts UTF-8 bytes)."""
        return self.column(len(self._utf8[:byte_offset].decode("utf-8", errors="ignore")))

    def at(self, node: ast.AST) -> str:
        return f"at column {self.byte_column(node.col_offset)}"  # type: ignore[attr-defined]

    def find(self, token: str, start_byte: int, end_byte: int | None = None) -> str:
        """'at column N' of the first ``token`` between two AST byte offsets."""
        pos = self._utf8.find(token.encode(), start_byte, end_byte)
        return f"at column {self.byte_column(pos if pos >= 0 else start_byte)}"


def parse_formula(text: str, dim: int | None = None, name: str | None = None) -> LossFunction:
    """A loss function from a typed formula in x (1D) or x and y (2D).

    ``dim`` defaults to 2 if the formula uses y, else 1; a formula in x alone may
    be forced to 2D. ``name`` defaults to the normalised formula text (``^`` written
    as ``**``, runs of spaces collapsed). Raises ValueError naming the problem and
    its column for anything that is not a valid formula.
    """
    if not isinstance(text, str):
        raise TypeError(f"a formula must be a string, got {type(text).__name__}")
    if dim not in (None, 1, 2):
        raise ValueError(f"dim must be 1 or 2 (or None to infer it), got {dim!r}")
    return _parse_cached(text, dim, name)


@functools.lru_cache(maxsize=256)
def _parse_cached(text: str, dim: int | None, name: str | None) -> LossFunction:
    import sympy  # lazy: only formulas pay for sympy

    if not text.strip():
        raise ValueError("empty formula: type an expression in x (and y), e.g. x**2 + 9*y**2")
    if len(text) > MAX_LENGTH:
        raise ValueError(f"formula too long: {len(text)} characters (at most {MAX_LENGTH})")
    for i, ch in enumerate(text):
        if unicodedata.category(ch).startswith("C") and not ch.isspace():
            raise ValueError(f"unexpected character {ch!r} at column {i + 1}")
    source = _Source(text)
    tree = _syntax(source)
    builder = _Builder(sympy, source, VARIABLES if dim is None else VARIABLES[:dim])
    expr = builder.build(tree)
    if not isinstance(expr, sympy.Expr) or not expr.free_symbols:
        raise ValueError("the formula is constant: it does not depend on x or y")
    symbols = builder.symbols
    used = {s.name for s in expr.free_symbols}
    if dim is None:
        dim = 2 if "y" in used else 1
    args = [symbols[v] for v in VARIABLES[:dim]]
    _check_expression(sympy, expr, "the formula")
    grads = []
    for s in args:
        try:
            g = sympy.diff(expr, s)
        except (NotImplementedError, ArithmeticError, TypeError, RecursionError):
            raise ValueError(f"cannot differentiate the formula in {s.name}") from None
        g = g.replace(lambda e: isinstance(e, sympy.DiracDelta), lambda e: sympy.S.Zero)
        # numpy's printer turns Heaviside into a Piecewise whose conditions it simplifies
        # (slow, and it fails on some): print the step as numpy.heaviside instead
        g = g.replace(lambda e: isinstance(e, sympy.Heaviside),
                      lambda e: _min_max(sympy)["step"](e.args[0]))
        if g.has(sympy.Derivative):
            raise ValueError(f"cannot differentiate the formula in {s.name}")
        _check_expression(sympy, g, f"its derivative in {s.name}")
        grads.append(g)

    value = _compile(sympy, expr, args)
    parts = [_compile(sympy, g, args) for g in grads]

    def gradient(p: np.ndarray) -> np.ndarray:
        p = np.asarray(p, dtype=np.float64)
        return np.stack([f(p) for f in parts], axis=1)

    hessian = _lazy_hessian(sympy, grads, args, gradient)
    normalised = " ".join(source.src.split())
    view, start = _window(value, gradient, dim)
    minima, values = find_minima(value, gradient, dim, view)
    variables = "x" if dim == 1 else "x and y"
    return LossFunction(
        name or normalised, dim, value=value, gradient=gradient, view=view, start=start,
        minima=minima, minimum_values=values, formula=normalised, hessian_fn=hessian,
        description=f"A custom formula in {variables}; its gradient is derived symbolically.",
        minima_note="minima found numerically in the view; there may be others outside it",
    )


def _lazy_hessian(sympy: Any, grads: list[Any], args: list[Any],
                  gradient: Callable[[np.ndarray], np.ndarray]
                  ) -> Callable[[np.ndarray], np.ndarray]:
    """The Hessian, (N, D) -> (N, D, D), derived by sympy from the gradient and compiled
    as it is, on first use (parsing a formula does not pay for it). Steps (from abs,
    min, max) have second derivative 0. A Hessian sympy cannot derive or that is too
    complex falls back to central differences of the gradient."""
    compiled: list[Callable[[np.ndarray], np.ndarray] | None] = []

    def derive() -> Callable[[np.ndarray], np.ndarray] | None:
        parts: dict[tuple[int, int], Callable[[np.ndarray], np.ndarray]] = {}
        try:
            for i, g in enumerate(grads):
                for j in range(i, len(args)):
                    h = sympy.diff(g, args[j])
                    h = h.replace(lambda e: isinstance(e, sympy.DiracDelta), lambda e: sympy.S.Zero)
                    h = h.replace(lambda e: isinstance(e, sympy.Heaviside),
                                  lambda e: _min_max(sympy)["step"](e.args[0]))
                    if h.has(sympy.Derivative):
                        return None
                    _check_expression(sympy, h, "its second derivative")
                    parts[i, j] = _compile(sympy, h, args)
        except (ValueError, NotImplementedError, ArithmeticError, TypeError, RecursionError):
            return None

        def hessian(p: np.ndarray) -> np.ndarray:
            d = len(args)
            out = np.empty((p.shape[0], d, d))
            for (i, j), f in parts.items():
                out[:, i, j] = out[:, j, i] = f(p)
            return out

        return hessian

    def hessian(p: np.ndarray) -> np.ndarray:
        if not compiled:
            compiled.append(derive())
        fn = compiled[0]
        return fn(p) if fn is not None else gradient_differences(gradient, p)

    return hessian


def _syntax(source: _Source) -> ast.Expression:
    try:
        with warnings.catch_warnings():  # e.g. "1if", "'\o'": a warning, then refused anyway
            warnings.simplefilter("ignore", SyntaxWarning)
            warnings.simplefilter("ignore", DeprecationWarning)  # Python 3.11's escape warning
            return ast.parse(source.src, mode="eval")
    except SyntaxError as err:
        raise ValueError(_syntax_message(source, err)) from None
    except (RecursionError, MemoryError):
        raise ValueError("the formula is nested too deeply") from None
    except ValueError as err:  # e.g. null bytes on some Python versions
        raise ValueError(f"invalid formula: {err}") from None


def _syntax_message(source: _Source, err: SyntaxError) -> str:
    msg = (err.msg or "invalid syntax").split(". Perhaps")[0]
    offset = (err.offset or 0) - 1  # 0-based index into src; -1: unknown
    src = source.src
    if not 0 <= offset < len(src) or err.lineno not in (None, 1):
        return (f"incomplete formula: something is missing at its end "
                f"(column {len(source.text) + 1})")
    col = source.column(offset)
    ch = source.text[col - 1] if col <= len(source.text) else src[offset]
    if msg.startswith("unmatched"):
        return f"unexpected {ch!r} at column {col}: it closes nothing"
    if "was never closed" in msg:
        return f"{ch!r} at column {col} is never closed"
    if "decimal literal" in msg:
        rest = src[offset:]
        lead = len(rest) - len(rest.lstrip("0123456789._eE+-"))
        if 0 < lead < len(rest) and rest[lead].isalpha():
            return (f"invalid number at column {col}: write a product with '*', "
                    f"e.g. {rest[:lead]}*{rest[lead]}")
        return f"invalid number at column {col}"
    if "literal" in msg:
        return f"invalid number at column {col}"
    if "Perhaps you forgot a comma" in (err.msg or ""):
        return f"unexpected {ch!r} at column {col}: an operator is missing before it"
    if msg == "invalid syntax":
        if ch == " ":
            return f"unexpected space at column {col}"
        return f"unexpected {ch!r} at column {col}"
    return f"{msg} at column {col}"


def _check_expression(sympy: Any, expr: Any, what: str) -> None:
    bad = (sympy.I, sympy.zoo, sympy.nan, sympy.oo, -sympy.oo)
    if any(expr.has(b) for b in bad):
        raise ValueError(f"{what} is not a finite real expression (e.g. a division by zero, or "
                         "a power of a negative or zero constant)")
    count = 0
    for node in sympy.preorder_traversal(expr):
        count += 1
        if count > MAX_NODES:
            raise ValueError(f"{what} is too complex (over {MAX_NODES} terms)")
        if isinstance(node, sympy.Number) and not math.isfinite(float(node)):
            raise ValueError(f"{what} contains a number too large for floating point")


def _erf(v: Any) -> np.ndarray:
    return np.vectorize(math.erf, otypes=[np.float64])(v)


@functools.lru_cache(maxsize=1)
def _min_max(sympy: Any) -> dict[str, Any]:
    """Two-argument min and max as sympy functions that never evaluate or expand
    (sympy's Min/Max and the |a - b| form query assumptions over the whole nested
    tree, which takes exponential time), with derivatives as Heaviside steps."""

    class _Extremum(sympy.Function):
        nargs = 2
        #: +1 for fmin (d/da is H(b - a)), -1 for fmax (d/da is H(a - b))
        side = 1

        def _eval_is_extended_real(self) -> bool | None:
            return sympy.core.logic.fuzzy_and(a.is_extended_real for a in self.args)

        def fdiff(self, argindex: int = 1) -> Any:
            a, b = self.args
            towards = self.side * (b - a) if argindex == 1 else self.side * (a - b)
            return sympy.Heaviside(towards, sympy.S.Half)

    class fmin(_Extremum):  # noqa: N801 - the name printed into the numpy code
        side = 1

    class fmax(_Extremum):  # noqa: N801
        side = -1

    class fstep(sympy.Function):  # noqa: N801 - Heaviside(a, 1/2), printed as plain numpy
        nargs = 1

        def _eval_is_extended_real(self) -> bool:
            return True

        def fdiff(self, argindex: int = 1) -> Any:
            return sympy.S.Zero  # a step: zero gradient almost everywhere

    return {"min": fmin, "max": fmax, "step": fstep}


def _heaviside(v: Any) -> np.ndarray:
    return np.heaviside(v, 0.5)


def _compile(sympy: Any, expr: Any, args: list[Any]) -> Callable[[np.ndarray], np.ndarray]:
    modules = [{"erf": _erf, "fmin": np.minimum, "fmax": np.maximum, "fstep": _heaviside},
               "numpy"]
    try:
        fn = sympy.lambdify(args, expr, modules=modules, cse=True)
    except (NotImplementedError, TypeError, SyntaxError, KeyError, ValueError, AttributeError,
            RecursionError) as err:  # sympy's printer cannot express it
        raise ValueError(f"cannot compile the formula: {str(err).splitlines()[0]}") from None

    def call(p: np.ndarray) -> np.ndarray:
        p = np.asarray(p, dtype=np.float64)
        with np.errstate(all="ignore"):
            out = np.asarray(fn(*(p[:, i] for i in range(len(args)))), dtype=np.float64)
        return np.array(np.broadcast_to(out, (p.shape[0],)), dtype=np.float64)

    return call


def find_minima(value: Callable[[np.ndarray], np.ndarray],
                gradient: Callable[[np.ndarray], np.ndarray], dim: int,
                view: tuple[tuple[float, float], tuple[float, float]], *, max_count: int = 12,
                ) -> tuple[tuple[tuple[float, ...], ...], tuple[float, ...]]:
    """Local minima of a function in its view, found numerically: in 1D where the
    derivative changes sign from - to + on a fine grid (refined by bisection); in 2D
    the local minima of a grid, polished by damped Newton and kept if the gradient
    vanishes and the Hessian is positive definite. Sorted by value, at most ``max_count``."""
    with np.errstate(all="ignore"):
        found = _minima_1d(value, gradient, view) if dim == 1 else _minima_2d(value, gradient, view)
    found.sort(key=lambda pv: pv[1])
    kept: list[tuple[tuple[float, ...], float]] = []
    for p, v in found:
        if all(max(abs(a - b) for a, b in zip(p, q, strict=True)) > 1e-6 for q, _ in kept):
            kept.append((p, v))
    kept = kept[:max_count]
    return tuple(p for p, _ in kept), tuple(v for _, v in kept)


def _minima_1d(value: Callable[[np.ndarray], np.ndarray],
               gradient: Callable[[np.ndarray], np.ndarray],
               view: tuple[tuple[float, float], tuple[float, float]],
               ) -> list[tuple[tuple[float, ...], float]]:
    (x0, x1), _ = view
    xs = np.linspace(x0, x1, 6001)
    g = gradient(xs[:, None])[:, 0]
    out = []
    for i in np.nonzero((g[:-1] < 0) & (g[1:] >= 0))[0][:50]:
        a, b = float(xs[i]), float(xs[i + 1])
        for _ in range(80):
            m = 0.5 * (a + b)
            if m in (a, b):
                break
            if gradient(np.array([[m]]))[0, 0] < 0:
                a = m
            else:
                b = m
        h = 1e-6 * max(1.0, abs(b))
        f = value(np.array([[b - h], [b], [b + h]]))
        # a minimum, not a pole (-1/x**2 at 0): finite and continuous there
        if np.all(np.isfinite(f)) and f[1] <= min(f[0], f[2]) \
                and max(f[0], f[2]) - f[1] <= 1e-3 * (1 + abs(f[1])):
            out.append(((b,), float(f[1])))
    return out


def _minima_2d(value: Callable[[np.ndarray], np.ndarray],
               gradient: Callable[[np.ndarray], np.ndarray],
               view: tuple[tuple[float, float], tuple[float, float]],
               ) -> list[tuple[tuple[float, ...], float]]:
    (x0, x1), (y0, y1) = view
    n = 121
    xs, ys = np.linspace(x0, x1, n), np.linspace(y0, y1, n)
    X, Y = np.meshgrid(xs, ys, indexing="ij")
    z = value(np.c_[X.ravel(), Y.ravel()]).reshape(n, n)
    z = np.where(np.isfinite(z), z, np.inf)
    c = z[1:-1, 1:-1]
    lower = np.isfinite(c)
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            if dx or dy:
                lower &= c < z[1 + dx: n - 1 + dx, 1 + dy: n - 1 + dy]
    i, j = np.nonzero(lower)
    order = np.argsort(c[i, j])[:24]
    starts = np.c_[xs[i[order] + 1], ys[j[order] + 1]]
    lo, hi = np.array([x0, y0]), np.array([x1, y1])
    polished = _polish(value, gradient, starts, lo, hi)
    return [((float(p[0]), float(p[1])), float(v))
            for p, v in zip(polished, value(polished), strict=True)]


def _polish(value: Callable[[np.ndarray], np.ndarray],
            gradient: Callable[[np.ndarray], np.ndarray], p: np.ndarray,
            lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Damped Newton (Levenberg-Marquardt) from each row of p at once, on the symbolic
    gradient with a finite-difference Hessian. Returns the rows that converged to a
    minimum (zero gradient, positive definite Hessian) inside [lo, hi]."""
    p = np.array(p, dtype=np.float64).reshape(-1, 2)
    lam = np.full(len(p), 1e-3)
    f = value(p)
    alive = np.isfinite(f)
    done = np.zeros(len(p), dtype=bool)
    for _ in range(100):
        if not np.any(alive & ~done):
            break
        g = gradient(p)
        h = 1e-6 * np.maximum(1.0, np.abs(p))
        hess = np.empty((len(p), 2, 2))
        for d in range(2):
            e = np.zeros_like(p)
            e[:, d] = h[:, d]
            hess[:, d, :] = (gradient(p + e) - gradient(p - e)) / (2 * h[:, d:d + 1])
        hess = 0.5 * (hess + hess.transpose(0, 2, 1))
        alive &= np.all(np.isfinite(g), axis=1) & np.all(np.isfinite(hess), axis=(1, 2))
        done |= alive & (np.max(np.abs(g), axis=1) <= 1e-9 * (1 + np.abs(f)))
        # solve (hess + lam I) s = g in closed form, 2 x 2
        a, b, c = hess[:, 0, 0] + lam, hess[:, 0, 1], hess[:, 1, 1] + lam
        det = a * c - b * b
        ok = alive & ~done & (np.abs(det) > 1e-300)
        safe = np.where(ok, det, 1.0)
        step = np.c_[(c * g[:, 0] - b * g[:, 1]) / safe, (a * g[:, 1] - b * g[:, 0]) / safe]
        q = np.where(ok[:, None], p - step, p)
        fq = value(q)
        better = ok & np.isfinite(fq) & (fq <= f)
        p = np.where(better[:, None], q, p)
        f = np.where(better, fq, f)
        lam = np.where(better, np.maximum(lam / 3, 1e-12), np.where(ok, lam * 4, lam))
        alive &= (lam < 1e12) & np.all((p >= lo - (hi - lo)) & (p <= hi + (hi - lo)), axis=1)
    keep = []
    for k in np.nonzero(done & alive)[0]:
        inside = np.all((p[k] >= lo) & (p[k] <= hi))
        if inside and np.all(np.linalg.eigvalsh(hess[k]) > 0):
            keep.append(k)
    return p[keep]


_STARTS = {1: [(2.5,), (-2.5,), (1.5,), (-1.5,), (2.0,), (1.0,), (-1.0,), (0.5,)],
           2: [(-2.0, 2.0), (2.0, 2.0), (-2.0, -2.0), (2.0, -2.0), (-1.0, 1.0), (1.5, -0.5),
               (1.0, 1.0), (0.5, 0.5)]}


def _window(value: Callable[[np.ndarray], np.ndarray], gradient: Callable[[np.ndarray], np.ndarray],
            dim: int) -> tuple[tuple[tuple[float, float], tuple[float, float]], tuple[float, ...]]:
    """The default view window and start of a formula."""
    if dim == 1:
        xs = np.linspace(-3.0, 3.0, 601)[:, None]
    else:
        g = np.linspace(-3.0, 3.0, 41)
        xs = np.array(np.meshgrid(g, g)).reshape(2, -1).T
    v = value(xs)
    finite = v[np.isfinite(v)]
    if finite.size == 0:
        raise ValueError("the formula has no finite real value anywhere in the window "
                         "[-3, 3]" + ("" if dim == 1 else "²"))
    start = _STARTS[dim][0]
    for s in _STARTS[dim]:
        p = np.array([s])
        if np.isfinite(value(p)).all() and np.isfinite(gradient(p)).all() \
                and np.abs(gradient(p)).max() > 1e-8:
            start = s
            break
    if dim == 2:
        return ((-3.0, 3.0), (-3.0, 3.0)), start
    lo, hi = (float(q) for q in np.percentile(finite, [1, 99]))
    pad = 0.08 * (hi - lo) if hi > lo else 1.0
    return ((-3.0, 3.0), (lo - pad, hi + pad)), start


class _Builder:
    """Walks a whitelisted AST and builds the sympy expression; constants are folded
    to Python numbers with overflow checks."""

    def __init__(self, sympy: Any, source: _Source, allowed: tuple[str, ...]) -> None:
        self.sp = sympy
        self.source = source
        self.allowed = allowed
        self.symbols = {v: sympy.Symbol(v, real=True) for v in VARIABLES}
        self.depth = 0
        self.nesting = 0

    # -- errors -----------------------------------------------------------------
    def fail(self, message: str) -> ValueError:
        return ValueError(message)

    def build(self, tree: ast.Expression) -> Any:
        try:
            return self.node(tree.body)
        except RecursionError:
            raise ValueError("the formula is nested too deeply") from None
        except (ArithmeticError, TypeError) as err:  # sympy or math refusing an operation
            raise ValueError(f"cannot evaluate the formula: {err}") from None

    # -- nodes --------------------------------------------------------------------
    def node(self, node: ast.AST) -> Any:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise self.fail(f"the formula is nested too deeply (more than {MAX_DEPTH} "
                                f"levels) {self.source.at(node)}")
            if isinstance(node, ast.Constant):
                return self.constant(node)
            if isinstance(node, ast.Name):
                return self.name(node)
            if isinstance(node, ast.BinOp):
                return self.binop(node)
            if isinstance(node, ast.UnaryOp):
                return self.unary(node)
            if isinstance(node, ast.Call):
                return self.call(node)
            raise self.forbidden(node)
        finally:
            self.depth -= 1

    @contextlib.contextmanager
    def nested(self, where: str) -> Iterator[None]:
        """Count one more level of function calls and powers."""
        self.nesting += 1
        try:
            if self.nesting > MAX_NESTING:
                raise self.fail(f"functions and powers are nested too deeply (more than "
                                f"{MAX_NESTING} levels) {where}")
            yield
        finally:
            self.nesting -= 1

    def forbidden(self, node: ast.AST) -> ValueError:
        src = self.source
        if isinstance(node, ast.Attribute):
            where = src.find(".", node.value.end_col_offset or 0)  # type: ignore[attr-defined]
            return self.fail(f"attribute access ('.{node.attr}') is not allowed {where}")
        if isinstance(node, ast.Subscript):
            where = src.find("[", node.value.end_col_offset or 0)  # type: ignore[attr-defined]
            return self.fail(f"indexing with [...] is not allowed {where}")
        what = _FORBIDDEN.get(type(node), f"'{type(node).__name__}'")
        return self.fail(f"{what} is not allowed in a formula {src.at(node)}")

    def constant(self, node: ast.Constant) -> Any:
        v = node.value
        if isinstance(v, bool) or v is None or v is Ellipsis:
            raise self.fail(f"{v!r} is not allowed in a formula {self.source.at(node)}")
        if isinstance(v, (str, bytes)):
            raise self.fail(f"strings are not allowed in a formula {self.source.at(node)}")
        if isinstance(v, complex):
            raise self.fail(f"imaginary numbers are not allowed {self.source.at(node)}")
        if isinstance(v, (int, float)):
            return self.number(v, node)
        raise self.fail(f"unexpected constant {self.source.at(node)}")

    def number(self, v: Any, node: ast.AST) -> int | float:
        if isinstance(v, complex):
            raise self.fail(f"the result is not a real number {self.source.at(node)}")
        if isinstance(v, int):
            if abs(v) > MAX_CONSTANT:
                raise self.fail(f"number too large {self.source.at(node)}")
            return v
        v = float(v)
        if not math.isfinite(v):
            raise self.fail(f"number too large or undefined {self.source.at(node)}")
        return v

    def name(self, node: ast.Name) -> Any:
        n = node.id
        if n in self.allowed:
            return self.symbols[n]
        if n in CONSTANTS:
            return CONSTANTS[n]
        where = self.source.at(node)
        if n in _FUNCTIONS:
            raise self.fail(f"'{n}' is a function: call it as {n}(...) ({where})")
        if n in VARIABLES:
            raise self.fail(f"unknown name {n!r} {where}: this is a 1D formula, whose only "
                            f"variable is x")
        raise self.fail(f"unknown name {n!r} {where}; allowed variables: "
                        f"{', '.join(self.allowed)}; constants: {', '.join(CONSTANTS)}")

    def sym(self, v: Any) -> Any:
        """A sympy object for a folded constant or an expression."""
        if isinstance(v, int):
            return self.sp.Integer(v) if abs(v) <= 2**53 else self.sp.Float(float(v), 17)
        if isinstance(v, float):
            return self.sp.Float(v, 17)
        return v

    def settle(self, expr: Any, node: ast.AST) -> Any:
        """Turn an expression with no variable left (e.g. x - x) into a number."""
        if isinstance(expr, (int, float)) or expr.free_symbols:
            return expr
        if expr.has(self.sp.zoo, self.sp.nan, self.sp.oo, -self.sp.oo, self.sp.I):
            raise self.fail(f"the result is not a finite real number {self.source.at(node)}")
        if isinstance(expr, self.sp.Integer):
            return self.number(int(expr), node)
        try:
            return self.number(complex(expr.evalf(17)) if not expr.is_real else float(expr), node)
        except (TypeError, ValueError, OverflowError):
            raise self.fail(f"the result is not a finite real number "
                            f"{self.source.at(node)}") from None

    def binop(self, node: ast.BinOp) -> Any:
        op = type(node.op)
        if op not in (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow):
            token = _OPERATORS.get(op, "?")
            where = self.source.find(token, node.left.end_col_offset or 0,  # type: ignore[attr-defined]
                                     node.right.col_offset)
            raise self.fail(f"operator '{token}' is not allowed {where}; use + - * / ** or ^")
        where = self.source.find(_OPERATORS[op], node.left.end_col_offset or 0,  # type: ignore[attr-defined]
                                 node.right.col_offset)
        if op is ast.Pow:
            with self.nested(where):
                a, b = self.node(node.left), self.node(node.right)
        else:
            a, b = self.node(node.left), self.node(node.right)
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            return self.fold(op, a, b, node, where)
        if op is ast.Div and isinstance(b, (int, float)) and b == 0:
            raise self.fail(f"division by zero {where}")
        if op is ast.Pow and isinstance(b, (int, float)) and abs(b) > MAX_EXPONENT:
            raise self.fail(f"exponent {b:g} {where} is too large (at most {MAX_EXPONENT})")
        if op is ast.Pow and isinstance(a, (int, float)) and a == 0:
            raise self.fail(f"0 to a variable power {where} has no usable gradient")
        sa, sb = self.sym(a), self.sym(b)
        r = sa**sb if op is ast.Pow else _ARITHMETIC[op](sa, sb)
        return self.settle(r, node)

    def fold(self, op: type, a: int | float, b: int | float, node: ast.AST, where: str) -> Any:
        try:
            r = self.power(a, b, where) if op is ast.Pow else _ARITHMETIC[op](a, b)
        except ZeroDivisionError:
            raise self.fail(f"division by zero {where}") from None
        except OverflowError:
            raise self.fail(f"number too large {where}") from None
        return self.number(r, node)

    def power(self, a: int | float, b: int | float, where: str) -> int | float | complex:
        if a == 0 and b < 0:
            raise ZeroDivisionError
        if abs(a) > 1 and abs(b) * math.log10(abs(a)) > 300:
            if b > 0:
                raise OverflowError
            return 0.0  # underflows to zero
        if isinstance(a, int) and isinstance(b, int) and b >= 0:
            return a**b
        r = float(a) ** float(b)
        if isinstance(r, complex):
            raise self.fail(f"a negative number to a fractional power is not real {where}")
        return r

    def unary(self, node: ast.UnaryOp) -> Any:
        if isinstance(node.op, ast.USub):
            v = self.node(node.operand)
            return -v if isinstance(v, (int, float)) else self.settle(-v, node)
        if isinstance(node.op, ast.UAdd):
            return self.node(node.operand)
        token = "not" if isinstance(node.op, ast.Not) else "~"
        raise self.fail(f"operator '{token}' is not allowed {self.source.at(node)}")

    def call(self, node: ast.Call) -> Any:
        src = self.source
        if not isinstance(node.func, ast.Name):
            if isinstance(node.func, (ast.Attribute, ast.Subscript)):
                raise self.forbidden(node.func)
            raise self.fail(f"only named functions can be called {src.at(node)}")
        fname = node.func.id
        if fname not in _FUNCTIONS:
            if fname in VARIABLES or fname in CONSTANTS:
                raise self.fail(f"{fname!r} is not a function {src.at(node)}; write a product "
                                f"with '*', e.g. {fname}*(...)")
            raise self.fail(f"unknown function {fname!r} {src.at(node)}; allowed functions: "
                            f"{', '.join(sorted(_FUNCTIONS))}")
        if node.keywords:
            kw = node.keywords[0]
            raise self.fail(f"keyword arguments are not allowed in formulas {src.at(kw)}")
        for a in node.args:
            if isinstance(a, ast.Starred):
                raise self.forbidden(a)
        lo, hi, sym_name, numeric = _FUNCTIONS[fname]
        n = len(node.args)
        if not lo <= n <= hi:
            want = str(lo) if lo == hi else f"{lo} to {hi}"
            raise self.fail(f"{fname}() takes {want} argument{'s' if hi > 1 else ''}, got {n} "
                            f"{src.at(node)}")
        with self.nested(src.at(node)):
            args = [self.node(a) for a in node.args]
        if all(isinstance(a, (int, float)) for a in args):
            try:
                return self.number(numeric(*args), node)
            except (ValueError, OverflowError, ZeroDivisionError):
                shown = ", ".join(f"{a:g}" for a in args)
                raise self.fail(f"{fname}({shown}) is not a finite real number "
                                f"{src.at(node)}") from None
        sp = self.sp
        s = [self.sym(a) for a in args]
        if sym_name in ("min", "max"):  # pairwise, never expanded: size stays linear
            pair = _min_max(sp)[sym_name]
            r = s[0]
            for b in s[1:]:
                r = pair(r, b)
        elif sym_name == "log10":
            r = sp.log(s[0]) / sp.log(10)
        elif sym_name == "log2":
            r = sp.log(s[0]) / sp.log(2)
        else:
            r = getattr(sp, sym_name)(*s)
        return self.settle(r, node)
