"""Hyperparameter declarations: each one is declared once, here, and read by
validation, the command line's ``list``, the window's editors and the inspector's
equations alike.

A numeric hyperparameter's value is a number, or a 1-D NumPy array holding one value
per run of a batch (``lr=np.geomspace(1e-3, 1, N)``); flags are always one value."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

Value = float | int | bool
#: a value as given: one number, or one number per run (shape (N,))
Values = Value | np.ndarray


@dataclass(frozen=True)
class HyperParam:
    """One hyperparameter: its name, type, default, valid range and help text.

    ``low``/``high`` are the bounds (``None`` = unbounded); ``low_open``/``high_open``
    make a bound exclusive. ``log`` says the value is best edited on a log scale
    (learning rates, epsilons). ``symbol`` is how the equations write it (Qt rich
    text, e.g. ``β<sub>1</sub>``; empty: not used in equations).
    """

    name: str
    kind: type
    default: Value
    help: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    log: bool = False
    symbol: str = ""
    #: a flag's values as words, (false, true), e.g. ("none", "strong_wolfe") for
    #: torch's ``line_search_fn``; specs read and write them (and true/false)
    choices: tuple[str, str] = ()

    def range_text(self) -> str:
        """The valid range in interval notation, e.g. ``[0, 1)``."""
        if self.kind is bool:
            return "/".join(self.choices) if self.choices else "true/false"
        lo = "-inf" if self.low is None else _fmt(self.low)
        hi = "inf" if self.high is None else _fmt(self.high)
        left = "(" if self.low is None or self.low_open else "["
        right = ")" if self.high is None or self.high_open else "]"
        return f"{left}{lo}, {hi}{right}"

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies in the declared range."""
        if isinstance(value, float) and math.isnan(value):
            return False
        if self.low is not None:
            if value < self.low or (self.low_open and value == self.low):
                return False
        if self.high is not None:
            if value > self.high or (self.high_open and value == self.high):
                return False
        return True

    def validate(self, value: Any, owner: str = "") -> Value:
        """Coerce ``value`` to this parameter's type and check its range.

        Raises ValueError naming the parameter and its range.
        """
        where = f"{owner}: " if owner else ""
        if isinstance(value, np.generic) and not isinstance(value, np.bool_):
            value = value.item()
        elif isinstance(value, np.bool_):
            value = bool(value)
        if self.kind is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value in self.choices:
                return value == self.choices[1]
            if value is None and self.choices:  # torch's None
                return False
            if isinstance(value, (int, float)) and value in (0, 1):
                return bool(value)
            raise ValueError(f"{where}{self.name} must be {self._either()}, got {value!r}")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{where}{self.name} must be a number in {self.range_text()}, got {value!r}")
        if self.kind is int:
            if float(value) != int(value):
                raise ValueError(f"{where}{self.name} must be a whole number, got {value!r}")
            value = int(value)
        else:
            value = float(value)
        if not self.contains(value):
            raise ValueError(
                f"{where}{self.name}={_fmt(value)} is out of range: {self.name} must be in {self.range_text()}"
            )
        return value

    def validate_values(self, value: Any, owner: str = "") -> Values:
        """As :meth:`validate`, also accepting a 1-D NumPy array of numbers (one per
        run), checked element by element; returned as a read-only float64 (or int64)
        copy. Flags take one value."""
        if not isinstance(value, np.ndarray):
            return self.validate(value, owner)
        where = f"{owner}: " if owner else ""
        if value.ndim == 0:
            return self.validate(value.item(), owner)
        if self.kind is bool:
            raise ValueError(f"{where}{self.name} is a flag: one true or false for the whole batch")
        if value.ndim != 1 or value.size == 0 or value.dtype.kind not in "iuf":
            raise ValueError(f"{where}{self.name} must be a number or a 1-D array of numbers "
                             f"(one per run), got an array of shape {value.shape} ({value.dtype})")
        a = np.array(value, dtype=np.float64)
        if self.kind is int:
            whole = a == np.round(a)
            if not whole.all():
                i = int(np.argmin(whole))
                raise ValueError(f"{where}{self.name}[{i}] must be a whole number, got {a[i]!r}")
        ok = ~np.isnan(a)
        if self.low is not None:
            ok &= (a > self.low) if self.low_open else (a >= self.low)
        if self.high is not None:
            ok &= (a < self.high) if self.high_open else (a <= self.high)
        if not ok.all():
            i = int(np.argmin(ok))
            raise ValueError(
                f"{where}{self.name}[{i}]={_fmt(float(a[i]))} is out of range: {self.name} must be "
                f"in {self.range_text()}"
            )
        if self.kind is int:
            a = a.astype(np.int64)
        a.flags.writeable = False
        return a

    def parse(self, text: str, owner: str = "") -> Value:
        """Parse a value typed on the command line or in a spec string."""
        where = f"{owner}: " if owner else ""
        t = text.strip()
        if self.kind is bool:
            low = t.lower()
            if low in ("true", "1", "yes", "on") or (self.choices and low == self.choices[1]):
                return True
            if low in ("false", "0", "no", "off") or (self.choices and low == self.choices[0]):
                return False
            raise ValueError(f"{where}{self.name} must be {self._either()}, got {text!r}")
        try:
            number = float(t)
        except ValueError:
            raise ValueError(f"{where}{self.name} must be a number, got {text!r}") from None
        return self.validate(number, owner)

    def _either(self) -> str:
        return " or ".join(self.choices) if self.choices else "true or false"

    def text(self, value: Value) -> str:
        """``value`` as a spec string writes it."""
        if isinstance(value, bool):
            if self.choices:
                return self.choices[int(value)]
            return "true" if value else "false"
        return repr(value) if isinstance(value, float) else str(value)

    def with_default(self, default: Value) -> HyperParam:
        """The same declaration with another default (for named variants)."""
        return replace(self, default=default)


def _fmt(v: float) -> str:
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return f"{v:g}"


def lr_param(default: float) -> HyperParam:
    """The learning rate (α in the course's equations)."""
    return HyperParam("lr", float, default, "learning rate: how far each step goes",
                      low=0.0, high=1e3, log=True, symbol="\u03b1")


def eps_param(default: float) -> HyperParam:
    """ε, added to a denominator."""
    return HyperParam("eps", float, default, "added to the denominator for numerical stability",
                      low=0.0, high=1.0, log=True, symbol="\u03b5")


def weight_decay_param() -> HyperParam:
    """λ: L2 or decoupled weight decay."""
    return HyperParam("weight_decay", float, 0.0, "L2 penalty: adds weight_decay * w to the gradient",
                      low=0.0, high=1e3, symbol="\u03bb")


def beta_param(name: str, default: float, help: str, symbol: str = "") -> HyperParam:
    """A decay rate in [0, 1); ``beta1``/``beta2`` are written β₁/β₂."""
    symbol = symbol or {"beta1": "\u03b2<sub>1</sub>", "beta2": "\u03b2<sub>2</sub>"}.get(name, "")
    return HyperParam(name, float, default, help, low=0.0, high=1.0, high_open=True, symbol=symbol)


def adam_params(lr: float, second: str = "running average of squared gradients"
                ) -> tuple[HyperParam, ...]:
    """The Adam family's shared declarations: lr, β₁, β₂ (decay of its ``second``
    moment), ε = 1e-8 and weight decay, as torch declares them."""
    return (lr_param(lr),
            beta_param("beta1", 0.9, "β₁: decay of the running average of gradients (momentum)"),
            beta_param("beta2", 0.999, f"β₂: decay of the {second}"),
            eps_param(1e-8),
            weight_decay_param())


def flag_param(name: str, help: str, default: bool = False) -> HyperParam:
    return HyperParam(name, bool, default, help)
