"""The equations an optimizer shows: small expression trees, their text and Qt
rich-text forms, numbers as displayed, and an evaluator of the displayed text (no
``eval``). No Qt here: the rich text is just a string.

Each optimizer module builds its update rule from these nodes (:class:`Sym` for a
named quantity or hyperparameter, Python operators, :func:`sqrt`,
:func:`maximum`, :func:`absolute`); :mod:`optsim.explain` substitutes a step's
numbers and checks them by evaluating the displayed text back.

Numbers are displayed with ``digits`` significant digits (6 by default in the
inspector) or, with ``digits=None``, in full precision (``repr``, which reads back
to exactly the same float). :func:`bounds` evaluates a substituted tree in
interval arithmetic, each displayed number standing for every value that rounds to
it: the engine's exact value must lie inside, at any precision.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

# ---------------------------------------------------------------------------
# numbers as displayed


def fmt(x: float, digits: int | None = None) -> str:
    """A float as text. ``digits=None``: text that parses back to exactly the same
    float (``repr``); else rounded to ``digits`` significant digits (``1e-8``, not
    ``1e-08``). Both are read back by :func:`evaluate`."""
    v = float(x)
    if not math.isfinite(v):
        return repr(v)  # 'nan', 'inf', '-inf' (read back by evaluate)
    if digits is None:
        if v == int(v) and abs(v) < 1e16 and not (v == 0 and math.copysign(1, v) < 0):
            return repr(int(v)) if abs(v) < 1e6 else repr(v)
        return repr(v)
    text = f"{v:.{digits}g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return text


def half_unit(value: float, digits: int | None) -> float:
    """Half a unit in the last of ``digits`` significant digits of ``value``: every
    number within it rounds to the same text (0 at full precision, which is exact,
    and for zero, which rounds to "0" only when it is zero)."""
    v = abs(float(value))
    if digits is None or v == 0 or not math.isfinite(v):
        return 0.0
    return 0.5 * 10.0 ** (math.floor(math.log10(v)) - digits + 1)


def number_html(text: str) -> str:
    """A displayed number as rich text that never breaks across lines: a real minus
    sign, ``1e-8`` as 1×10⁻⁸."""
    if re.fullmatch(r"[\d.]+", text) or not re.fullmatch(r"-?(\d[\d.]*(e[-+]?\d+)?|inf)|nan", text):
        return text  # digits alone never break; (not a number: as it is)
    t = text.replace("-", "\u2212")
    if "e" in t and t not in ("inf", "\u2212inf", "nan"):
        mantissa, exponent = t.split("e")
        t = f"{mantissa}\u00d710<sup>{exponent.lstrip('+')}</sup>"
    return f"<span style='white-space:nowrap'>{t}</span>"


# ---------------------------------------------------------------------------
# expression trees

_PREC = {"+": 1, "-": 1, "*": 2, "/": 2, "neg": 3, "^": 4, "atom": 5}


class Expr:
    """A node of an equation's right-hand side. Build with Python operators."""

    prec = _PREC["atom"]

    def __add__(self, o: Any) -> Expr:
        return Bin("+", self, _e(o))

    def __radd__(self, o: Any) -> Expr:
        return Bin("+", _e(o), self)

    def __sub__(self, o: Any) -> Expr:
        return Bin("-", self, _e(o))

    def __rsub__(self, o: Any) -> Expr:
        return Bin("-", _e(o), self)

    def __mul__(self, o: Any) -> Expr:
        return Bin("*", self, _e(o))

    def __rmul__(self, o: Any) -> Expr:
        return Bin("*", _e(o), self)

    def __truediv__(self, o: Any) -> Expr:
        return Bin("/", self, _e(o))

    def __rtruediv__(self, o: Any) -> Expr:
        return Bin("/", _e(o), self)

    def __pow__(self, o: Any) -> Expr:
        return Bin("^", self, _e(o))

    def __rpow__(self, o: Any) -> Expr:
        return Bin("^", _e(o), self)

    def __neg__(self) -> Expr:
        return Neg(self)

    # overridden below
    def symbols(self) -> set[str]:
        """The names of the quantities this expression uses."""
        return set()

    def substitute(self, values: Mapping[str, Any], digits: int | None = None) -> Expr:
        """This expression with every symbol replaced by its value as displayed."""
        return self


@dataclass(frozen=True, eq=False)
class Sym(Expr):
    """A named quantity or hyperparameter (looked up in a symbol table)."""

    key: str

    def symbols(self) -> set[str]:
        return {self.key}

    def substitute(self, values: Mapping[str, Any], digits: int | None = None) -> Expr:
        return Num.of(values[self.key], digits)


@dataclass(frozen=True, eq=False)
class Num(Expr):
    """A number or a vector of numbers, held as the displayed text, rounded to
    ``digits`` significant digits (None: exact, full precision or a constant)."""

    texts: tuple[str, ...]
    vector: bool = False
    digits: int | None = None

    @staticmethod
    def of(value: Any, digits: int | None = None) -> Num:
        a = np.asarray(value, dtype=np.float64)
        if a.size == 1:
            return Num((fmt(a.reshape(-1)[0], digits),), digits=digits)
        return Num(tuple(fmt(v, digits) for v in a.reshape(-1)), vector=True, digits=digits)

    @property
    def prec(self) -> int:  # type: ignore[override]
        if not self.vector and self.texts[0].startswith("-"):
            return _PREC["neg"]
        return _PREC["atom"]


@dataclass(frozen=True, eq=False)
class Bin(Expr):
    op: str
    a: Expr
    b: Expr

    @property
    def prec(self) -> int:  # type: ignore[override]
        return _PREC[self.op]

    def symbols(self) -> set[str]:
        return self.a.symbols() | self.b.symbols()

    def substitute(self, values: Mapping[str, Any], digits: int | None = None) -> Expr:
        return Bin(self.op, self.a.substitute(values, digits), self.b.substitute(values, digits))


@dataclass(frozen=True, eq=False)
class Neg(Expr):
    a: Expr
    prec = _PREC["neg"]

    def symbols(self) -> set[str]:
        return self.a.symbols()

    def substitute(self, values: Mapping[str, Any], digits: int | None = None) -> Expr:
        return Neg(self.a.substitute(values, digits))


@dataclass(frozen=True, eq=False)
class Fn(Expr):
    """``sqrt``, ``abs``, ``sign``, ``f32`` or ``max`` (elementwise)."""

    name: str
    args: tuple[Expr, ...]

    def symbols(self) -> set[str]:
        return set().union(*(a.symbols() for a in self.args))

    def substitute(self, values: Mapping[str, Any], digits: int | None = None) -> Expr:
        return Fn(self.name, tuple(a.substitute(values, digits) for a in self.args))


def _e(x: Any) -> Expr:
    if isinstance(x, Expr):
        return x
    if isinstance(x, (int, float)):
        return Num((fmt(x),))
    raise TypeError(f"not an expression: {x!r}")


def sqrt(x: Expr) -> Expr:
    """√x, elementwise."""
    return Fn("sqrt", (x,))


def maximum(a: Expr, b: Expr) -> Expr:
    """max(a, b), elementwise."""
    return Fn("max", (a, b))


def minimum(a: Expr, b: Expr) -> Expr:
    """min(a, b), elementwise."""
    return Fn("min", (a, b))


def absolute(x: Expr) -> Expr:
    """|x|, elementwise."""
    return Fn("abs", (x,))


def sign(x: Expr) -> Expr:
    """sign(x), elementwise: −1, 0 or 1."""
    return Fn("sign", (x,))


def float32(x: Expr) -> Expr:
    """x rounded to float32 (a reference that keeps a quantity in single precision)."""
    return Fn("f32", (x,))


S = Sym


def with_noise(e: Expr) -> Expr:
    """``e`` with the gradient ∇f replaced by ∇f + ξ (the sampled gradient noise)."""
    if isinstance(e, Sym) and e.key == "raw_grad":
        return Bin("+", e, Sym("noise"))
    if isinstance(e, Bin):
        return Bin(e.op, with_noise(e.a), with_noise(e.b))
    if isinstance(e, Neg):
        return Neg(with_noise(e.a))
    if isinstance(e, Fn):
        return Fn(e.name, tuple(with_noise(a) for a in e.args))
    return e


# ---------------------------------------------------------------------------
# rendering


def _wrap(s: str, inner: int, need: int, strict: bool = False) -> str:
    return f"({s})" if inner < need or (strict and inner == need) else s


def _operand_prec(n: Expr) -> int:
    """A negative number right of an operator is always parenthesised: a·(−2)."""
    if isinstance(n, Num) and not n.vector and n.texts[0].startswith("-"):
        return 0
    return n.prec


def to_text(e: Expr, symbols: Mapping[str, str] | None = None) -> str:
    """Plain text (``*``, ``/``, ``^``, ``sqrt()``; vectors ``[x, y]``): what
    :func:`evaluate` reads back."""
    def name(k: str) -> str:
        return symbols[k] if symbols and k in symbols else k

    def r(n: Expr) -> str:
        if isinstance(n, Num):
            return "[" + ", ".join(n.texts) + "]" if n.vector else n.texts[0]
        if isinstance(n, Sym):
            return name(n.key)
        if isinstance(n, Neg):
            return "-" + _wrap(r(n.a), n.a.prec, _PREC["*"])
        if isinstance(n, Fn):
            return f"{n.name}(" + ", ".join(r(a) for a in n.args) + ")"
        assert isinstance(n, Bin)
        p = _PREC[n.op]
        if n.op == "^":
            return _wrap(r(n.a), n.a.prec, p, strict=True) + "^" + _wrap(r(n.b), n.b.prec, p, strict=True)
        left = _wrap(r(n.a), n.a.prec, p)
        right = _wrap(r(n.b), _operand_prec(n.b), p, strict=n.op in "-/")
        return f"{left} {n.op} {right}"

    return r(e)


def to_html(e: Expr, symbols: Mapping[str, str]) -> str:
    """Qt rich text: Greek letters, sub/superscripts, ·, √, numbers with a real minus
    that never break across lines (a vector stays on one line too)."""
    def r(n: Expr) -> str:
        if isinstance(n, Num):
            parts = [number_html(t) for t in n.texts]
            if n.vector:
                return "<span style='white-space:nowrap'>(" + ",&nbsp;".join(parts) + ")</span>"
            return parts[0]
        if isinstance(n, Sym):
            return symbols.get(n.key, n.key)
        if isinstance(n, Neg):
            return "\u2212" + _wrap(r(n.a), n.a.prec, _PREC["*"])
        if isinstance(n, Fn):
            if n.name == "sqrt":
                a = n.args[0]
                inner = r(a)
                if isinstance(a, (Sym, Num)):
                    return "\u221a" + inner
                return "\u221a(" + inner + ")"
            if n.name == "abs":
                return "|" + r(n.args[0]) + "|"
            if n.name == "f32":
                return "fl<sub>32</sub>(" + r(n.args[0]) + ")"
            return f"{n.name}(" + ", ".join(r(a) for a in n.args) + ")"
        assert isinstance(n, Bin)
        p = _PREC[n.op]
        if n.op == "^":
            return _wrap(r(n.a), n.a.prec, p, strict=True) + "<sup>" + r(n.b) + "</sup>"
        left = _wrap(r(n.a), n.a.prec, p)
        right = _wrap(r(n.b), _operand_prec(n.b), p, strict=n.op in "-/")
        op = {"+": " + ", "-": " \u2212 ", "*": "\u00b7", "/": " / "}[n.op]
        return left + op + right

    return r(e)


# ---------------------------------------------------------------------------
# the evaluator: parses the displayed text back (no eval)

_TOKEN = re.compile(r"\s*(?:(\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|inf|nan)"
                    r"|(sqrt|abs|sign|f32|max|min)|([-+*/^()\[\],]))")


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError(f"cannot read {text[pos:pos + 20]!r} at position {pos} of {text!r}")
        kind = "num" if m.group(1) else "fn" if m.group(2) else "op"
        out.append((kind, m.group(m.lastindex or 0)))
        pos = m.end()
    return out


def evaluate(text: str) -> np.ndarray:
    """The value of a substituted expression's plain text (numbers, ``+ - * / ^``,
    ``sqrt abs sign f32 max min``, parentheses, vectors ``[x, y]``), elementwise, in float64."""
    toks = _tokens(text)
    i = 0

    def peek() -> str | None:
        return toks[i][1] if i < len(toks) else None

    def take(expected: str | None = None) -> tuple[str, str]:
        nonlocal i
        if i >= len(toks):
            raise ValueError(f"unexpected end of {text!r}")
        t = toks[i]
        if expected is not None and t[1] != expected:
            raise ValueError(f"expected {expected!r}, got {t[1]!r} in {text!r}")
        i += 1
        return t

    def expr() -> np.ndarray:
        v = term()
        while peek() in ("+", "-"):
            op = take()[1]
            w = term()
            v = v + w if op == "+" else v - w
        return v

    def term() -> np.ndarray:
        v = unary()
        while peek() in ("*", "/"):
            op = take()[1]
            w = unary()
            v = v * w if op == "*" else v / w
        return v

    def unary() -> np.ndarray:
        if peek() == "-":
            take()
            return -unary()
        return power()

    def power() -> np.ndarray:
        v = atom()
        if peek() == "^":
            take()
            return np.power(v, unary())
        return v

    def atom() -> np.ndarray:
        kind, tok = take()
        if kind == "num":
            return np.float64(float(tok))
        if kind == "fn":
            take("(")
            args = [expr()]
            while peek() == ",":
                take()
                args.append(expr())
            take(")")
            if tok == "sqrt" and len(args) == 1:
                return np.sqrt(args[0])
            if tok == "abs" and len(args) == 1:
                return np.abs(args[0])
            if tok == "sign" and len(args) == 1:
                return np.sign(args[0])
            if tok == "f32" and len(args) == 1:
                return np.asarray(args[0]).astype(np.float32).astype(np.float64)
            if tok == "max" and len(args) == 2:
                return np.maximum(args[0], args[1])
            if tok == "min" and len(args) == 2:
                return np.minimum(args[0], args[1])
            raise ValueError(f"{tok} takes "
                             f"{'2 arguments' if tok in ('max', 'min') else '1 argument'}")
        if tok == "(":
            v = expr()
            take(")")
            return v
        if tok == "[":
            items = [expr()]
            while peek() == ",":
                take()
                items.append(expr())
            take("]")
            return np.array(items, dtype=np.float64)
        raise ValueError(f"unexpected {tok!r} in {text!r}")

    with np.errstate(all="ignore"):
        value = expr()
    if i != len(toks):
        raise ValueError(f"unexpected {toks[i][1]!r} in {text!r}")
    return np.asarray(value, dtype=np.float64)


# ---------------------------------------------------------------------------
# interval evaluation: what the displayed numbers pin down

#: each operation's result is widened by this much (relative) for its own rounding
_ROUNDING = 1e-15


def _widen(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return lo - np.abs(lo) * _ROUNDING, hi + np.abs(hi) * _ROUNDING


def _corners(f, a: tuple, b: tuple) -> tuple[np.ndarray, np.ndarray]:
    c = np.stack(np.broadcast_arrays(f(a[0], b[0]), f(a[0], b[1]), f(a[1], b[0]), f(a[1], b[1])))
    # (min and max carry a NaN corner through, without nanmin's all-NaN warning)
    return c.min(axis=0), c.max(axis=0)


def bounds(e: Expr) -> tuple[np.ndarray, np.ndarray]:
    """(low, high): where the value of a substituted expression can lie, given that
    each displayed number stands for anything within half a unit of its last digit
    (constants of the formula are exact), with each operation's rounding allowed
    for. Elementwise, like :func:`evaluate`."""
    def r(n: Expr) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(n, Num):
            v = np.array([float(t) for t in n.texts])
            h = np.array([half_unit(x, n.digits) for x in v])
            if not n.vector:
                v, h = v[0], h[0]
            return v - h, v + h
        if isinstance(n, Sym):
            raise ValueError(f"{n.key} has no value")
        if isinstance(n, Neg):
            lo, hi = r(n.a)
            return -hi, -lo
        if isinstance(n, Fn):
            args = [r(a) for a in n.args]
            if n.name == "sqrt":
                lo, hi = args[0]
                return _widen(np.sqrt(np.maximum(lo, 0.0)), np.sqrt(hi))
            if n.name == "abs":
                lo, hi = args[0]
                return (np.where(lo >= 0, lo, np.where(hi <= 0, -hi, 0.0)),
                        np.maximum(np.abs(lo), np.abs(hi)))
            if n.name == "sign":  # monotone
                lo, hi = args[0]
                return np.sign(lo), np.sign(hi)
            if n.name == "f32":  # rounding to the nearest float32 is monotone
                lo, hi = args[0]
                return (np.asarray(lo).astype(np.float32).astype(np.float64),
                        np.asarray(hi).astype(np.float32).astype(np.float64))
            (alo, ahi), (blo, bhi) = args
            if n.name == "min":
                return np.minimum(alo, blo), np.minimum(ahi, bhi)
            return np.maximum(alo, blo), np.maximum(ahi, bhi)
        assert isinstance(n, Bin)
        a, b = r(n.a), r(n.b)
        if n.op == "+":
            return _widen(a[0] + b[0], a[1] + b[1])
        if n.op == "-":
            return _widen(a[0] - b[1], a[1] - b[0])
        if n.op == "*":
            return _widen(*_corners(np.multiply, a, b))
        if n.op == "/":
            lo, hi = _corners(np.divide, a, b)
            across = (b[0] <= 0) & (b[1] >= 0)
            return _widen(np.where(across, -np.inf, lo), np.where(across, np.inf, hi))
        # "^": an exact whole exponent works for any base; else the base must be > 0
        (alo, ahi), (blo, bhi) = a, b
        if np.all(blo == bhi) and np.all(np.asarray(blo) == np.round(blo)):
            k = np.asarray(blo)
            plo, phi = np.power(alo, k), np.power(ahi, k)
            even = (k % 2 == 0)
            lo = np.where(even & (alo < 0) & (ahi > 0), 0.0, np.minimum(plo, phi))
            hi = np.maximum(plo, phi)
            odd = ~even
            lo = np.where(odd, plo, lo)
            hi = np.where(odd, phi, hi)
            return _widen(lo, hi)
        lo, hi = _corners(np.power, a, b)
        positive = alo > 0
        return _widen(np.where(positive, lo, -np.inf), np.where(positive, hi, np.inf))

    with np.errstate(all="ignore"):
        lo, hi = r(e)
    return np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)


# ---------------------------------------------------------------------------
# names of quantities

#: subscripts of the equations: step t, and the step before
T = "<sub>t</sub>"
T1 = "<sub>t\u22121</sub>"


@dataclass(frozen=True)
class Quantity:
    """A named quantity: its symbol (html), what the course calls it, a hint, and
    whether it is one number per step (the engine reports it per coordinate)."""

    symbol: str
    name: str
    hint: str = ""
    scalar: bool = False


def hat(letter: str) -> str:
    """``letter`` with a hat, as rich text that keeps the two together (a serif face
    places the combining hat over the letter; sans faces in Qt misplace it)."""
    return ("<span style=\"white-space:nowrap; font-family:'DejaVu Serif','Times New Roman',"
            f"serif\">{letter}\u0302</span>")


def state_quantity(letter: str, name: str, hint: str = "",
                   sup: str = "") -> tuple[Quantity, Quantity]:
    """A state variable's quantity at step t and at step t−1 (``<key>_prev``)."""
    s = f"<sup>{sup}</sup>" if sup else ""
    return (Quantity(f"{letter}{s}{T}", name, hint),
            Quantity(f"{letter}{s}{T1}", f"{name} (previous)"))


__all__ = ["Bin", "Expr", "Fn", "Neg", "Num", "Quantity", "S", "Sym", "T", "T1", "absolute",
           "bounds", "evaluate", "float32", "fmt", "half_unit", "hat", "maximum", "minimum",
           "number_html", "sign", "sqrt", "state_quantity", "to_html", "to_text", "with_noise"]
