"""What each optimizer computes, in words and equations, with the numbers in (no Qt).

For an optimizer, :func:`equations` gives its update rule in standard notation
(Qt rich text: ``<sub>``, ``<sup>``, Greek letters, hats), following the chosen
variant (torch momentum or the course's moving average, Nesterov, centered RMSProp,
AMSGrad, weight decay, ...). :func:`substituted` gives the same equations with one
step's numbers in, each number printed with ``repr`` so it round-trips exactly, and
:func:`evaluate` computes a substituted right-hand side back *from its displayed
text* with a small parser of our own (no ``eval``): so the applied update can be
checked by hand, and is checked by the tests to 1e-12.

Every expression is elementwise, per coordinate: a vector is written ``(x, y)``.
The equations are built as small expression trees (:class:`Expr`) over named
quantities (``exp_avg``, ``grad``, hyperparameters, ``t``); the quantities' values
come from the engine (``step_with_info``'s info, the recorded states).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .engine import Optimizer

# ---------------------------------------------------------------------------
# numbers as displayed


def fmt(x: float) -> str:
    """A float as text that parses back to exactly the same float (``repr``)."""
    v = float(x)
    if not math.isfinite(v):
        return repr(v)  # 'nan', 'inf', '-inf' (read back by evaluate)
    if v == int(v) and abs(v) < 1e16 and not (v == 0 and math.copysign(1, v) < 0):
        return repr(int(v)) if abs(v) < 1e6 else repr(v)
    return repr(v)


def _html_number(text: str) -> str:
    return text.replace("-", "\u2212")


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
        return set()

    def substitute(self, values: Mapping[str, np.ndarray | float]) -> Expr:
        return self


@dataclass(frozen=True, eq=False)
class Sym(Expr):
    """A named quantity or hyperparameter (looked up in a symbol table)."""

    key: str

    def symbols(self) -> set[str]:
        return {self.key}

    def substitute(self, values: Mapping[str, np.ndarray | float]) -> Expr:
        return Num.of(values[self.key])


@dataclass(frozen=True, eq=False)
class Num(Expr):
    """A number or a vector of numbers, held as the displayed text."""

    texts: tuple[str, ...]
    vector: bool = False

    @staticmethod
    def of(value: Any) -> Num:
        a = np.asarray(value, dtype=np.float64)
        if a.size == 1:
            return Num((fmt(a.reshape(-1)[0]),))
        return Num(tuple(fmt(v) for v in a.reshape(-1)), vector=True)

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

    def substitute(self, values: Mapping[str, np.ndarray | float]) -> Expr:
        return Bin(self.op, self.a.substitute(values), self.b.substitute(values))


@dataclass(frozen=True, eq=False)
class Neg(Expr):
    a: Expr
    prec = _PREC["neg"]

    def symbols(self) -> set[str]:
        return self.a.symbols()

    def substitute(self, values: Mapping[str, np.ndarray | float]) -> Expr:
        return Neg(self.a.substitute(values))


@dataclass(frozen=True, eq=False)
class Fn(Expr):
    """``sqrt``, ``abs`` or ``max`` (elementwise)."""

    name: str
    args: tuple[Expr, ...]

    def symbols(self) -> set[str]:
        return set().union(*(a.symbols() for a in self.args))

    def substitute(self, values: Mapping[str, np.ndarray | float]) -> Expr:
        return Fn(self.name, tuple(a.substitute(values) for a in self.args))


def _e(x: Any) -> Expr:
    if isinstance(x, Expr):
        return x
    if isinstance(x, (int, float)):
        return Num((fmt(x),))
    raise TypeError(f"not an expression: {x!r}")


def sqrt(x: Expr) -> Expr:
    return Fn("sqrt", (x,))


def maximum(a: Expr, b: Expr) -> Expr:
    return Fn("max", (a, b))


def absolute(x: Expr) -> Expr:
    return Fn("abs", (x,))


S = Sym

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
    """Qt rich text: Greek letters, sub/superscripts, ·, √, numbers with a real minus."""
    def r(n: Expr) -> str:
        if isinstance(n, Num):
            parts = [_html_number(t) for t in n.texts]
            return "(" + ", ".join(parts) + ")" if n.vector else parts[0]
        if isinstance(n, Sym):
            return symbols.get(n.key, n.key)
        if isinstance(n, Neg):
            return "\u2212" + _wrap(r(n.a), n.a.prec, _PREC["*"])
        if isinstance(n, Fn):
            if n.name == "sqrt":
                a = n.args[0]
                inner = r(a)
                if isinstance(a, Sym) or (isinstance(a, Num) and not a.vector):
                    return "\u221a" + inner
                if isinstance(a, Num):
                    return "\u221a" + inner
                return "\u221a(" + inner + ")"
            if n.name == "abs":
                return "|" + r(n.args[0]) + "|"
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
                    r"|(sqrt|abs|max)|([-+*/^()\[\],]))")


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
    ``sqrt abs max``, parentheses, vectors ``[x, y]``), elementwise, in float64."""
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
            if tok == "max" and len(args) == 2:
                return np.maximum(args[0], args[1])
            raise ValueError(f"{tok} takes {'2 arguments' if tok == 'max' else '1 argument'}")
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
# symbols and names

_T1 = "<sub>t\u22121</sub>"
_T = "<sub>t</sub>"

#: hyperparameter -> (symbol html, plain name)
HP_SYMBOLS: dict[str, str] = {
    "lr": "\u03b1",
    "momentum": "\u03bc",
    "dampening": "\u03c4",
    "weight_decay": "\u03bb",
    "beta1": "\u03b2<sub>1</sub>",
    "beta2": "\u03b2<sub>2</sub>",
    "eps": "\u03b5",
    "alpha": "\u03b2<sub>2</sub>",  # RMSprop's smoothing constant: the course's β2
    "rho": "\u03c1",
    "lr_decay": "\u03b7",
    "initial_accumulator_value": "s<sub>0</sub>",
    "momentum_decay": "\u03c8",
}


@dataclass(frozen=True)
class Quantity:
    """A named quantity: its symbol (html), what the course calls it, and a hint."""

    symbol: str
    name: str
    hint: str = ""


def _hat(letter: str) -> str:
    # a serif face places the combining hat over the letter (sans faces in Qt misplace it)
    return f"<span style=\"font-family:'DejaVu Serif','Times New Roman',serif\">{letter}\u0302</span>"


def _q(letter: str, name: str, hint: str = "", sup: str = "") -> tuple[Quantity, Quantity]:
    s = f"<sup>{sup}</sup>" if sup else ""
    return (Quantity(f"{letter}{s}{_T}", name, hint), Quantity(f"{letter}{s}{_T1}", f"{name} (previous)"))


def quantities(optimizer: Optimizer) -> dict[str, Quantity]:
    """Symbol and course name of every quantity this optimizer's equations use."""
    alg = optimizer.algorithm
    hp = optimizer.hp
    q: dict[str, Quantity] = {
        "w_prev": Quantity(f"w{_T1}", "position before the step"),
        "w": Quantity(f"w{_T}", "position after the step"),
        "raw_grad": Quantity(f"\u2207f(w{_T1})", "gradient of the loss at the previous position"),
        "grad": Quantity(f"g{_T}", "gradient used by the step",
                         "after weight decay" if hp.get("weight_decay") else ""),
        "update": Quantity(f"\u0394w{_T}", "update actually applied", "w_t − w_(t−1)"),
        "effective_lr": Quantity(f"\u03b1<sup>eff</sup>{_T}",
                                 "effective learning rate, per coordinate",
                                 "the factor multiplying the direction"),
        "direction": Quantity(f"d{_T}", "direction of the step", "update = −α_eff · d"),
        "t": Quantity("t", "step number"),
        "noise": Quantity(f"\u03be{_T}", "gradient noise drawn for this step"),
    }

    def add(key: str, letter: str, name: str, hint: str = "", sup: str = "") -> None:
        q[key], q[key + "_prev"] = _q(letter, name, hint, sup)

    if alg == "sgd":
        if _is_ema(optimizer):
            add("momentum_buffer", "m", "momentum: moving average of past gradients",
                "the course's m_t")
        else:
            add("momentum_buffer", "b", "momentum buffer (velocity)",
                "sum of past gradients, each decayed by μ")
    elif alg == "rmsprop":
        add("square_avg", "v", "running average of squared gradients", "the course's d_t")
        add("grad_avg", "\u1e21", "running average of gradients", "centered RMSProp")
        add("momentum_buffer", "b", "momentum buffer (velocity)")
    elif alg == "adagrad":
        add("sum", "s", "sum of all squared gradients so far")
        q["lr_t"] = Quantity(f"\u03b1{_T}", "decayed learning rate")
    elif alg == "adadelta":
        add("square_avg", "v", "running average of squared gradients")
        add("acc_delta", "u", "running average of squared updates")
        q["delta"] = Quantity(f"\u03b4{_T}", "rescaled step (before lr)")
    else:  # the Adam family
        add("exp_avg", "m", "first moment m: moving average of gradients (momentum)")
        add("exp_avg_sq", "v", "second moment v: moving average of squared gradients",
            "the course's d_t")
        add("max_exp_avg_sq", "v", "largest v so far (AMSGrad)", sup="max")
        add("exp_inf", "u", "infinity norm: decayed maximum of |g|")
        add("mu_product", "\u03a0", "product of the momentum coefficients μ_1…μ_t")
        q["exp_avg_hat"] = Quantity(f"{_hat('m')}{_T}", "bias-corrected first moment m̂",
                                    "m / (1 − β1^t)")
        q["exp_avg_sq_hat"] = Quantity(f"{_hat('v')}{_T}", "bias-corrected second moment v̂",
                                       "v / (1 − β2^t)")
        q["bias_correction1"] = Quantity("1 \u2212 \u03b2<sub>1</sub><sup>t</sup>",
                                         "bias correction of m")
        q["bias_correction2"] = Quantity("1 \u2212 \u03b2<sub>2</sub><sup>t</sup>",
                                         "bias correction of v")
        q["denom"] = Quantity(f"\u221a{_hat('v')}{_T} + \u03b5", "denominator")
        q["mu"] = Quantity(f"\u03bc{_T}", "momentum coefficient of this step")
        q["mu_next"] = Quantity("\u03bc<sub>t+1</sub>", "momentum coefficient of the next step")
        q["rho_inf"] = Quantity("\u03c1<sub>\u221e</sub>", "maximum length of the approximated SMA")
        q["rho_t"] = Quantity(f"\u03c1{_T}", "length of the approximated SMA at step t")
        q["rect"] = Quantity(f"r{_T}", "variance rectification term")
        if alg == "adamax":
            del q["denom"]  # adamax divides by u_t itself
    for name in hp:
        if name in HP_SYMBOLS:
            q[name] = Quantity(HP_SYMBOLS[name], name)
    return q


def symbol_table(optimizer: Optimizer) -> dict[str, str]:
    return {k: v.symbol for k, v in quantities(optimizer).items()}


def _is_ema(optimizer: Optimizer) -> bool:
    hp = optimizer.hp
    return (optimizer.algorithm == "sgd" and hp.get("momentum", 0) != 0
            and hp.get("dampening", 0) == hp.get("momentum"))


def _decoupled(optimizer: Optimizer) -> bool:
    return bool(getattr(optimizer, "decoupled_weight_decay", False)
                or optimizer.hp.get("decoupled_weight_decay", False)
                or optimizer.algorithm == "adamw")


# ---------------------------------------------------------------------------
# equations per algorithm


@dataclass(frozen=True)
class Equation:
    """``key = rhs``: one line of an update rule. ``note`` says when it applies."""

    key: str
    rhs: Expr
    lhs_html: str
    html: str
    text: str
    note: str = ""


def _gradient_eq(opt: Optimizer, decoupled_ok: bool = False) -> list[tuple[str, Expr, str]]:
    wd = opt.hp.get("weight_decay", 0.0)
    if wd and not (decoupled_ok and _decoupled(opt)):
        return [("grad", S("raw_grad") + S("weight_decay") * S("w_prev"),
                 "L2 weight decay adds λ·w to the gradient")]
    return [("grad", S("raw_grad"), "")]


def _apply(opt: Optimizer, step: Expr, decoupled_ok: bool = False) -> list[tuple[str, Expr, str]]:
    wd = opt.hp.get("weight_decay", 0.0)
    if wd and decoupled_ok and _decoupled(opt):
        upd = Neg(S("lr") * S("weight_decay") * S("w_prev")) + step
        note = "decoupled weight decay: w shrinks by α·λ·w, apart from the gradient"
        return [("update", upd, note), ("w", S("w_prev") + S("update"), "")]
    return [("update", step, ""), ("w", S("w_prev") + S("update"), "")]


def _ema(prev: str, new: Expr, beta: str) -> Expr:
    return S(beta) * S(prev) + (1 - S(beta)) * new


def _sgd(opt: Optimizer, t: int | None) -> list[tuple[str, Expr, str]]:
    hp = opt.hp
    eqs = _gradient_eq(opt)
    mu, tau = hp["momentum"], hp["dampening"]
    if mu == 0:
        return eqs + _apply(opt, Neg(S("lr") * S("grad")))
    first = "first step: the buffer starts as the gradient"
    if _is_ema(opt):
        rule = _ema("momentum_buffer_prev", S("grad"), "momentum")
    elif tau == 0:
        rule = S("momentum") * S("momentum_buffer_prev") + S("grad")
    else:
        rule = S("momentum") * S("momentum_buffer_prev") + (1 - S("dampening")) * S("grad")
    if t == 1:
        eqs.append(("momentum_buffer", S("grad"), first))
    else:
        eqs.append(("momentum_buffer", rule, "" if t else f"from step 2 on ({first})"))
    if hp["nesterov"]:
        eqs.append(("direction", S("grad") + S("momentum") * S("momentum_buffer"),
                    "Nesterov: look ahead along the buffer"))
        return eqs + _apply(opt, Neg(S("lr") * S("direction")))
    return eqs + _apply(opt, Neg(S("lr") * S("momentum_buffer")))


def _adam(opt: Optimizer, t: int | None) -> list[tuple[str, Expr, str]]:
    hp = opt.hp
    eqs = _gradient_eq(opt, decoupled_ok=True)
    eqs.append(("exp_avg", _ema("exp_avg_prev", S("grad"), "beta1"), ""))
    eqs.append(("exp_avg_sq", _ema("exp_avg_sq_prev", S("grad") ** 2, "beta2"), ""))
    vkey = "exp_avg_sq"
    if hp.get("amsgrad"):
        eqs.append(("max_exp_avg_sq", maximum(S("max_exp_avg_sq_prev"), S("exp_avg_sq")),
                    "AMSGrad: never let v shrink"))
        vkey = "max_exp_avg_sq"
    eqs.append(("exp_avg_hat", S("exp_avg") / (1 - S("beta1") ** S("t")), "bias correction"))
    eqs.append(("exp_avg_sq_hat", S(vkey) / (1 - S("beta2") ** S("t")), "bias correction"))
    step = Neg(S("lr") * S("exp_avg_hat") / (sqrt(S("exp_avg_sq_hat")) + S("eps")))
    return eqs + _apply(opt, step, decoupled_ok=True)


def _rmsprop(opt: Optimizer, t: int | None) -> list[tuple[str, Expr, str]]:
    hp = opt.hp
    eqs = _gradient_eq(opt)
    eqs.append(("square_avg", _ema("square_avg_prev", S("grad") ** 2, "alpha"), ""))
    if hp.get("centered"):
        eqs.append(("grad_avg", _ema("grad_avg_prev", S("grad"), "alpha"),
                    "centered: also average the gradients"))
        denom = sqrt(S("square_avg") - S("grad_avg") ** 2) + S("eps")
    else:
        denom = sqrt(S("square_avg")) + S("eps")
    if hp.get("momentum", 0):
        eqs.append(("momentum_buffer", S("momentum") * S("momentum_buffer_prev") + S("grad") / denom,
                    "momentum on the rescaled gradient"))
        return eqs + _apply(opt, Neg(S("lr") * S("momentum_buffer")))
    return eqs + _apply(opt, Neg(S("lr") * S("grad") / denom))


def _adagrad(opt: Optimizer, t: int | None) -> list[tuple[str, Expr, str]]:
    eqs = _gradient_eq(opt)
    eqs.append(("lr_t", S("lr") / (1 + (S("t") - 1) * S("lr_decay")), "learning-rate decay"))
    eqs.append(("sum", S("sum_prev") + S("grad") ** 2, ""))
    return eqs + _apply(opt, Neg(S("lr_t") * S("grad") / (sqrt(S("sum")) + S("eps"))))


def _adamax(opt: Optimizer, t: int | None) -> list[tuple[str, Expr, str]]:
    eqs = _gradient_eq(opt)
    eqs.append(("exp_avg", _ema("exp_avg_prev", S("grad"), "beta1"), ""))
    eqs.append(("exp_inf", maximum(S("beta2") * S("exp_inf_prev"), absolute(S("grad")) + S("eps")),
                "the largest recent |g| instead of an average of g²"))
    step = Neg(S("lr") / (1 - S("beta1") ** S("t")) * S("exp_avg") / S("exp_inf"))
    return eqs + _apply(opt, step)


def _nadam(opt: Optimizer, t: int | None) -> list[tuple[str, Expr, str]]:
    eqs = _gradient_eq(opt, decoupled_ok=True)

    def mu_at(tt: Expr) -> Expr:
        return S("beta1") * (1 - 0.5 * 0.96 ** (tt * S("momentum_decay")))

    eqs.append(("mu", mu_at(S("t")), "momentum warms up over the first steps"))
    eqs.append(("mu_next", mu_at(S("t") + 1), ""))
    eqs.append(("mu_product", S("mu_product_prev") * S("mu"), ""))
    eqs.append(("exp_avg", _ema("exp_avg_prev", S("grad"), "beta1"), ""))
    eqs.append(("exp_avg_sq", _ema("exp_avg_sq_prev", S("grad") ** 2, "beta2"), ""))
    eqs.append(("exp_avg_sq_hat", S("exp_avg_sq") / (1 - S("beta2") ** S("t")), "bias correction"))
    den = sqrt(S("exp_avg_sq_hat")) + S("eps")
    step = (Neg(S("lr") * (1 - S("mu")) / (1 - S("mu_product")) * S("grad") / den)
            - S("lr") * S("mu_next") / (1 - S("mu_product") * S("mu_next")) * S("exp_avg") / den)
    return eqs + _apply(opt, step, decoupled_ok=True)


def _radam(opt: Optimizer, t: int | None) -> list[tuple[str, Expr, str]]:
    eqs = _gradient_eq(opt, decoupled_ok=True)
    eqs.append(("exp_avg", _ema("exp_avg_prev", S("grad"), "beta1"), ""))
    eqs.append(("exp_avg_sq", _ema("exp_avg_sq_prev", S("grad") ** 2, "beta2"), ""))
    eqs.append(("exp_avg_hat", S("exp_avg") / (1 - S("beta1") ** S("t")), "bias correction"))
    eqs.append(("rho_inf", 2 / (1 - S("beta2")) - 1, ""))
    eqs.append(("rho_t", S("rho_inf") - 2 * S("t") * S("beta2") ** S("t") / (1 - S("beta2") ** S("t")),
                ""))
    rect_rule = sqrt((S("rho_t") - 4) * (S("rho_t") - 2) * S("rho_inf")
                     / ((S("rho_inf") - 4) * (S("rho_inf") - 2) * S("rho_t")))
    adaptive = Neg(S("lr") * S("exp_avg_hat") * S("rect") * sqrt(1 - S("beta2") ** S("t"))
                   / (sqrt(S("exp_avg_sq")) + S("eps")))
    plain = Neg(S("lr") * S("exp_avg_hat"))
    if t is None:
        eqs.append(("rect", rect_rule, "when ρ_t > 5"))
        eqs.append(("update", adaptive, "when ρ_t > 5: rectified adaptive step"))
        eqs.append(("update", plain, "when ρ_t ≤ 5 (the first steps): momentum only"))
        eqs.append(("w", S("w_prev") + S("update"), ""))
        if opt.hp.get("weight_decay") and _decoupled(opt):
            eqs[-3:-1] = [(k, Neg(S("lr") * S("weight_decay") * S("w_prev")) + e, n)
                          for k, e, n in eqs[-3:-1]]
        return eqs
    if _radam_rectified(opt, t):
        eqs.append(("rect", rect_rule, "ρ_t > 5: the variance estimate is usable"))
        return eqs + _apply(opt, adaptive, decoupled_ok=True)
    return eqs + [(k, e, n or "ρ_t ≤ 5: too few steps to trust v, momentum only")
                  for k, e, n in _apply(opt, plain, decoupled_ok=True)]


def _radam_rectified(opt: Optimizer, t: int) -> bool:
    beta2 = opt.hp["beta2"]
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * t * beta2**t / (1 - beta2**t)
    return rho_t > 5


def _adadelta(opt: Optimizer, t: int | None) -> list[tuple[str, Expr, str]]:
    eqs = _gradient_eq(opt)
    eqs.append(("square_avg", _ema("square_avg_prev", S("grad") ** 2, "rho"), ""))
    eqs.append(("delta", sqrt(S("acc_delta_prev") + S("eps")) / sqrt(S("square_avg") + S("eps"))
                * S("grad"), "units: the RMS of past updates over the RMS of gradients"))
    eqs.append(("acc_delta", _ema("acc_delta_prev", S("delta") ** 2, "rho"), ""))
    return eqs + _apply(opt, Neg(S("lr") * S("delta")))


_RULES: dict[str, Callable[[Optimizer, int | None], list[tuple[str, Expr, str]]]] = {
    "sgd": _sgd, "adam": _adam, "adamw": _adam, "rmsprop": _rmsprop, "adagrad": _adagrad,
    "adamax": _adamax, "nadam": _nadam, "radam": _radam, "adadelta": _adadelta,
}


def _with_noise(e: Expr) -> Expr:
    """``e`` with the gradient ∇f replaced by ∇f + ξ (the sampled gradient noise)."""
    if isinstance(e, Sym) and e.key == "raw_grad":
        return Bin("+", e, Sym("noise"))
    if isinstance(e, Bin):
        return Bin(e.op, _with_noise(e.a), _with_noise(e.b))
    if isinstance(e, Neg):
        return Neg(_with_noise(e.a))
    if isinstance(e, Fn):
        return Fn(e.name, tuple(_with_noise(a) for a in e.args))
    return e


def equations(optimizer: Optimizer, t: int | None = None, noisy: bool = False) -> list[Equation]:
    """The update rule of ``optimizer`` as equations, symbolic (html and text).

    With ``t`` (the step, from 1), the form that applies at that step (e.g. the
    momentum buffer's first step, RAdam's rectification switch). ``noisy``: the
    gradient carries sampled noise ξ (a stand-in for minibatch noise).
    """
    alg = optimizer.algorithm
    if alg not in _RULES:
        raise ValueError(f"no equations for optimizer algorithm {alg!r}")
    sym = symbol_table(optimizer)
    out = []
    rules = _RULES[alg](optimizer, t)
    if noisy:
        rules = [(k, _with_noise(e), (n + "; " if n else "") + "ξ: gradient noise, as in a minibatch")
                 if k == "grad" else (k, e, n) for k, e, n in rules]
    for key, rhs, note in rules:
        lhs = sym.get(key, key)
        out.append(Equation(key, rhs, lhs, f"{lhs} = {to_html(rhs, sym)}",
                            f"{key} = {to_text(rhs)}", note))
    return out


def hyperparameter_legend(optimizer: Optimizer) -> list[tuple[str, str, str]]:
    """(symbol html, name, value text) of each hyperparameter the equations use."""
    used: set[str] = set()
    for eq in equations(optimizer):
        used |= eq.rhs.symbols()
    return [(HP_SYMBOLS[n], n, fmt(v) if not isinstance(v, bool) else str(v).lower())
            for n, v in optimizer.hp.items() if n in used and n in HP_SYMBOLS]


# ---------------------------------------------------------------------------
# substitution


@dataclass(frozen=True)
class Substituted:
    """One equation with a step's numbers in.

    ``text``/``html`` show ``rhs`` with every quantity replaced by its value as
    displayed; ``value`` is :func:`evaluate` of ``rhs_text`` (computed from the
    displayed numbers); ``expected`` is the engine's value of the left-hand side
    (None when the engine does not report that quantity).
    """

    key: str
    lhs_html: str
    symbolic_html: str
    rhs_text: str
    html: str
    value: np.ndarray
    expected: np.ndarray | None
    note: str = ""
    #: the same, one coordinate at a time: (plain text of the right-hand side, html
    #: of "rhs = value") per coordinate, for checking by hand
    coords: tuple[tuple[str, str], ...] = ()

    @property
    def text(self) -> str:
        return f"{self.key} = {self.rhs_text}"


def _flat(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=np.float64).reshape(-1)


def step_values(optimizer: Optimizer, info: Mapping[str, Any], params: Any, k: int,
                previous: Any = None, current: Any = None,
                position: Any = None) -> dict[str, Any]:
    """The values of one run's quantities for step ``k``: hyperparameters, ``t``,
    ``w_prev`` (= ``params``, the position before the step), the info entries,
    ``<field>_prev`` from the state before the step and ``<field>`` from the state
    after it. Arrays are one run's: shape (D,)."""
    vals: dict[str, Any] = {n: float(v) for n, v in optimizer.hp.items()}

    def collapse(key: str, a: Any) -> Any:
        # per-step scalars the engine reports per coordinate: one number suffices
        if key.removesuffix("_prev") in SCALAR_KEYS and np.size(a) > 1:
            flat = np.asarray(a, dtype=np.float64).reshape(-1)
            if (flat == flat[0]).all():
                return float(flat[0])
        return a

    vals["t"] = float(k)
    vals["w_prev"] = _flat(params)
    for key, v in info.items():
        a = np.asarray(v, dtype=np.float64)
        vals[key] = collapse(key, a.reshape(-1) if a.size > 1
                             else float(a.reshape(-1)[0]) if a.size else a)
    if previous is not None:
        for f, v in previous._asdict().items():
            if f != "step":
                vals[f + "_prev"] = collapse(f, _state_value(v))
    if current is not None:
        for f, v in current._asdict().items():
            if f != "step":
                vals[f] = collapse(f, _state_value(v))
    vals.setdefault("raw_grad", vals.get("grad"))
    if position is not None:
        vals["w"] = _flat(position)
    if "w_prev" in vals and "update" in vals:
        vals.setdefault("w", vals["w_prev"] + vals["update"])
    return vals


#: quantities that are one number per step (the engine may report them per coordinate)
SCALAR_KEYS = frozenset({"bias_correction1", "bias_correction2", "rho_inf", "rho_t", "rect",
                         "mu", "mu_next", "mu_product", "lr_t"})


def _state_value(v: Any) -> Any:
    a = np.asarray(v, dtype=np.float64)
    return a.reshape(-1) if a.size > 1 else float(a.reshape(-1)[0])


def substituted(optimizer: Optimizer, info: Mapping[str, Any], params: Any, k: int,
                previous: Any = None, current: Any = None,
                position: Any = None) -> list[Substituted]:
    """The equations of step ``k`` (from 1) with the numbers in, for one run.

    ``info``: the step's info (``step_with_info`` or ``Trajectory.explain``), one
    run's rows; ``params``: the position before the step; ``previous``/``current``:
    the optimizer state before/after the step (one run's rows), which supply the
    ``_prev`` quantities and the new state; ``position``: the recorded position after
    the step. A quantity the engine does not report
    (e.g. RAdam's ρ_t) takes the value computed from its equation.
    """
    if k < 1:
        raise ValueError(f"step {k} has no update; steps count from 1")
    vals = step_values(optimizer, info, params, k, previous, current, position)
    sym = symbol_table(optimizer)
    out: list[Substituted] = []
    for eq in equations(optimizer, t=k, noisy="noise" in vals):
        missing = sorted(s for s in eq.rhs.symbols() if s not in vals)
        if missing:
            raise ValueError(f"{optimizer.name}: step {k} has no value for {', '.join(missing)}")
        num = eq.rhs.substitute(vals)
        rhs_text = to_text(num)
        value = evaluate(rhs_text)
        expected = vals.get(eq.key)
        if expected is not None:
            expected = np.asarray(expected, dtype=np.float64)
            shown = expected
        else:
            shown = value
        vals[eq.key] = shown
        html = f"{eq.lhs_html} = {to_html(num, sym)} = {to_html(Num.of(shown), sym)}"
        out.append(Substituted(eq.key, eq.lhs_html, eq.html, rhs_text, html, value,
                               expected, eq.note, _per_coordinate(eq.rhs, vals, shown, sym)))
    return out


def _per_coordinate(rhs: Expr, vals: Mapping[str, Any], shown: Any,
                    sym: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    shown = np.asarray(shown, dtype=np.float64).reshape(-1)
    dim = max([np.size(vals[k]) for k in rhs.symbols()] + [1])
    if dim <= 1:  # a scalar (the same for every coordinate)
        return ()
    out = []
    for i in range(dim):
        vi = {k: (np.asarray(vals[k]).reshape(-1)[i] if np.size(vals[k]) == dim else vals[k])
              for k in rhs.symbols()}
        num = rhs.substitute(vi)
        out.append((to_text(num), f"{to_html(num, sym)} = {to_html(Num.of(shown[i % shown.size]), sym)}"))
    return tuple(out)


# ---------------------------------------------------------------------------
# one step of one run of a trajectory, everything the inspector shows


@dataclass(frozen=True)
class Row:
    """One line of the inspector's table: symbol, name, value (one run's)."""

    key: str
    symbol: str
    name: str
    value: np.ndarray
    hint: str = ""


@dataclass
class StepExplanation:
    """What the inspector shows for one run at one step."""

    optimizer: Optimizer
    step: int
    rows: list[Row]
    equations: list[Equation]
    substituted: list[Substituted] = field(default_factory=list)
    legend: list[tuple[str, str, str]] = field(default_factory=list)
    note: str = ""
    #: the run had diverged by this step and stands still; ``substituted`` shows the
    #: step it would have taken
    frozen: bool = False


def _run_rows(x: Any, run: int) -> Any:
    """One run's slice of an (N, D) array, or a NamedTuple state's arrays."""
    if hasattr(x, "_asdict"):
        return type(x)(**{f: (v[run] if isinstance(v, np.ndarray) and v.ndim >= 1 else v)
                          for f, v in x._asdict().items()})
    if isinstance(x, Mapping):
        return {k: _run_rows(v, run) for k, v in x.items()}
    a = np.asarray(x)
    return a[run] if a.ndim >= 2 else a


#: state fields never shown in the table (not used by this configuration)
def _unused_fields(optimizer: Optimizer) -> set[str]:
    hp, alg = optimizer.hp, optimizer.algorithm
    unused = set()
    if alg == "sgd" and hp.get("momentum", 0) == 0:
        unused.add("momentum_buffer")
    if "amsgrad" in hp and not hp["amsgrad"]:
        unused.add("max_exp_avg_sq")
    if alg == "rmsprop":
        if not hp.get("centered"):
            unused.add("grad_avg")
        if not hp.get("momentum"):
            unused.add("momentum_buffer")
    return unused


#: info entries shown in the table after the state, in this order (when reported)
_INFO_ROWS = ("grad", "bias_correction1", "bias_correction2", "exp_avg_hat", "exp_avg_sq_hat",
              "effective_lr", "direction", "update")


def explain_step(trajectory: Any, k: int, run: int = 0) -> StepExplanation:
    """Everything the inspector shows for run ``run`` of ``trajectory`` at step ``k``:
    position, loss and gradient at step k, the optimizer state after step k (each
    variable with its course name), step k's intermediates, effective learning rate
    and applied update, the equations, and (k >= 1) the equations with the numbers in.
    """
    opt: Optimizer = trajectory.optimizer
    if not 0 <= k <= trajectory.steps:
        raise IndexError(f"step {k} is not recorded (0..{trajectory.steps})")
    q = quantities(opt)
    pos = trajectory.positions[k, run]
    rows = [
        Row("position", f"w<sub>{k}</sub>", "position", np.array(pos, dtype=np.float64)),
        Row("loss", f"f(w<sub>{k}</sub>)", "loss", np.array([trajectory.losses[k, run]])),
        Row("gradient", f"\u2207f(w<sub>{k}</sub>)", "gradient at this position",
            np.array(trajectory.gradient_at(k)[run], dtype=np.float64)),
    ]
    state = _run_rows(trajectory.state_at(k), run)
    unused = _unused_fields(opt)
    for f, v in state._asdict().items():
        if f == "step" or f in unused:
            continue
        qq = q.get(f, Quantity(f, f))
        rows.append(Row(f, qq.symbol.replace("<sub>t</sub>", f"<sub>{k}</sub>"), qq.name,
                        _flat(v), qq.hint))
    subs: list[Substituted] = []
    frozen = False
    noisy = float(getattr(trajectory, "noise", 0.0) or 0.0) > 0
    if k >= 1:
        info = _run_rows(trajectory.explain(k), run)
        if noisy and hasattr(trajectory, "gradient_used"):
            info["noise"] = trajectory.gradient_used(k - 1)[run] - info["raw_grad"]
        extra = [key for key in info if key not in _INFO_ROWS and key in q
                 and key not in state._fields and key not in ("raw_grad", "w", "w_prev")]
        for key in (*_INFO_ROWS[:-3], *extra, *_INFO_ROWS[-3:]):
            if key in info:
                qq = q.get(key, Quantity(key, key))
                rows.append(Row(key, qq.symbol.replace("<sub>t</sub>", f"<sub>{k}</sub>"),
                                qq.name, _flat(info[key]), qq.hint))
        previous = _run_rows(trajectory.state_at(k - 1), run)
        d = int(trajectory.diverged_step[run])
        if 0 <= d <= k:
            # frozen after diverging: show the step it would have taken (not recorded)
            frozen = True
            info = {key: v for key, v in info.items() if key != "update"}
            subs = substituted(opt, info, trajectory.positions[k - 1, run], k, previous)
        else:
            subs = substituted(opt, info, trajectory.positions[k - 1, run], k, previous, state,
                               pos)
    return StepExplanation(opt, k, rows, equations(opt, noisy=noisy), subs,
                           hyperparameter_legend(opt),
                           teaching_note(opt), frozen)


# ---------------------------------------------------------------------------
# teaching notes, in the course's words

_NOTES: dict[str, str] = {
    "sgd": (
        "Plain gradient descent has no memory: each step looks only at the gradient "
        "where the ball is now. It subtracts the gradient, scaled by the learning rate "
        "α, from the position. The arrow of the step therefore always points straight "
        "downhill, at right angles to the contour lines. On an elongated bowl this "
        "makes it zig-zag across the narrow direction while it crawls along the long one."
    ),
    "momentum": (
        "Momentum gives gradient descent a memory: it keeps a buffer b of past "
        "gradients, each one decayed by μ (about 0.9) every step, and steps along that "
        "buffer instead of along the gradient alone. Like a ball rolling downhill it "
        "builds up speed where the gradients keep pointing the same way, so it arrives "
        "faster, and it can roll through a small dip or a local minimum. The price is "
        "that it overshoots and needs time to turn around. This is PyTorch's form: the "
        "learning rate scales the whole buffer, so steps get up to 1/(1−μ) times longer "
        "than plain gradient descent's."
    ),
    "ema-momentum": (
        "This is momentum as the course writes it: m is a moving average of past "
        "gradients, m = β·m + (1−β)·g with β about 0.9, and the step follows m instead "
        "of the current gradient. Like PyTorch, the first m is simply the first "
        "gradient. The average remembers where the gradients have been pointing, so "
        "the ball keeps going through flat parts and small dips, but it also overshoots "
        "and needs some steps to turn around. Compared with PyTorch's SGD momentum it "
        "points the same way with steps 1/(1−β) times shorter."
    ),
    "nesterov": (
        "Nesterov momentum is momentum that looks ahead: it first moves along the "
        "momentum buffer and then adds the gradient, so the step reacts earlier when "
        "the buffer is about to carry the ball past the minimum. It overshoots less "
        "than plain momentum and turns around faster."
    ),
    "rmsprop": (
        "RMSProp does not change the speed so much as the direction. It keeps a moving "
        "average v of the squared gradient of each coordinate and divides each "
        "coordinate of the gradient by √v (plus a tiny ε against division by zero). A "
        "coordinate with large gradients gets a smaller step, one with small gradients "
        "a larger one, so all coordinates move at similar speed. That is why, on the "
        "elongated bowl, RMSProp walks almost straight to the minimum where gradient "
        "descent curves and zig-zags."
    ),
    "adam": (
        "Adam combines momentum with RMSProp's per-coordinate scaling: m is a moving "
        "average of gradients (the momentum) and v a moving average of squared "
        "gradients. The step follows m, with each coordinate divided by √v. Because m "
        "and v start at zero they are too small in the first steps; dividing by "
        "1 − β₁ᵗ and 1 − β₂ᵗ (the bias corrections, giving m̂ and v̂) fixes that. "
        "If you have no specific reason to use another optimizer, the course says, use Adam."
    ),
    "adamw": (
        "AdamW is Adam with decoupled weight decay: instead of adding λ·w to the "
        "gradient (where Adam's scaling would shrink it again), it shrinks the weights "
        "directly by α·λ·w at every step. Everything else is Adam: m averages the "
        "gradients, v the squared gradients, and the step is m̂ divided by √v̂ per "
        "coordinate. So the pull towards zero is the same for every coordinate, however "
        "large or small its gradients are."
    ),
    "adagrad": (
        "Adagrad was the first adaptive method: it adds up all squared gradients of each "
        "coordinate in s and divides the gradient by √s. Coordinates that have seen large "
        "gradients slow down. Since s only grows, every step gets smaller, and after "
        "many steps Adagrad can almost stop; RMSProp replaces the sum by a moving "
        "average to fix that."
    ),
    "adamax": (
        "Adamax is Adam with the average of squared gradients replaced by a decayed "
        "maximum u of the gradient's size |g|. Each coordinate is divided by the largest "
        "recent gradient size instead of by √v, which is more robust to a single huge "
        "gradient. The momentum m and its bias correction are as in Adam."
    ),
    "nadam": (
        "NAdam is Adam with Nesterov momentum: the step mixes the current gradient and "
        "the momentum m, as if looking ahead along m. Its momentum coefficient μ warms "
        "up over the first steps. Each coordinate is still divided by √v̂, like in Adam "
        "and RMSProp."
    ),
    "radam": (
        "RAdam (rectified Adam) fixes Adam's unreliable first steps: when only a few "
        "squared gradients have been averaged, v is a poor estimate, so RAdam takes "
        "plain momentum steps (m̂ times α). Once the estimate is trustworthy (ρ_t > 5) it "
        "switches to Adam's per-coordinate scaling, multiplied by a rectification "
        "factor r_t that grows towards 1. So it starts like SGD with momentum and "
        "ends up like Adam, without a hand-tuned warm-up."
    ),
    "adadelta": (
        "Adadelta is an adaptive method without a real learning rate: it divides the "
        "gradient by the RMS of recent gradients, like RMSProp, and multiplies it by the "
        "RMS of recent updates. So each step has the units of the parameters. The lr "
        "(default 1) only scales the result."
    ),
}


def teaching_note(optimizer: Optimizer) -> str:
    """A few plain sentences: what am I looking at? (after the course's explanations)."""
    alg, hp = optimizer.algorithm, optimizer.hp
    if alg == "sgd":
        if hp.get("momentum", 0) == 0:
            key = "sgd"
        elif hp.get("nesterov"):
            key = "nesterov"
        elif _is_ema(optimizer):
            key = "ema-momentum"
        else:
            key = "momentum"
    else:
        key = alg
    note = _NOTES.get(key, "")
    if alg == "sgd" and key == "nesterov":
        note = _NOTES["momentum"].split(". ")[0] + ". " + note
    extras = []
    if alg == "rmsprop" and hp.get("centered"):
        extras.append("Centered: it also averages the gradients and divides by their "
                      "standard deviation √(v − ḡ²) instead of √v.")
    if alg == "rmsprop" and hp.get("momentum"):
        extras.append("With momentum: the rescaled gradients are summed up in a buffer b, "
                      "as in SGD momentum.")
    if hp.get("amsgrad"):
        extras.append("AMSGrad: it divides by the largest v seen so far, so a coordinate "
                      "never speeds up again after a large gradient.")
    if hp.get("weight_decay") and not _decoupled(optimizer):
        extras.append("Weight decay λ adds λ·w to the gradient, pulling the weights "
                      "towards zero.")
    return " ".join([note, *extras]).strip()


__all__ = ["Equation", "Expr", "Num", "Quantity", "Row", "StepExplanation", "Substituted", "Sym",
           "equations", "evaluate", "explain_step", "fmt", "hyperparameter_legend",
           "quantities", "step_values", "substituted", "symbol_table", "teaching_note",
           "to_html", "to_text"]
