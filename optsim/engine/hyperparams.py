"""Hyperparameter declarations: each one is declared once, here, and read by
validation, the command line's ``list`` and the window's editors alike."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

Value = float | int | bool


@dataclass(frozen=True)
class HyperParam:
    """One hyperparameter: its name, type, default, valid range and help text.

    ``low``/``high`` are the bounds (``None`` = unbounded); ``low_open``/``high_open``
    make a bound exclusive. ``log`` says the value is best edited on a log scale
    (learning rates, epsilons).
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

    def range_text(self) -> str:
        """The valid range in interval notation, e.g. ``[0, 1)``."""
        if self.kind is bool:
            return "true/false"
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
        if self.kind is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, (int, float)) and value in (0, 1):
                return bool(value)
            raise ValueError(f"{where}{self.name} must be true or false, got {value!r}")
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

    def parse(self, text: str, owner: str = "") -> Value:
        """Parse a value typed on the command line or in a spec string."""
        where = f"{owner}: " if owner else ""
        t = text.strip()
        if self.kind is bool:
            low = t.lower()
            if low in ("true", "1", "yes", "on"):
                return True
            if low in ("false", "0", "no", "off"):
                return False
            raise ValueError(f"{where}{self.name} must be true or false, got {text!r}")
        try:
            number = float(t)
        except ValueError:
            raise ValueError(f"{where}{self.name} must be a number, got {text!r}") from None
        return self.validate(number, owner)

    def with_default(self, default: Value) -> HyperParam:
        """The same declaration with another default (for named variants)."""
        return replace(self, default=default)


def _fmt(v: float) -> str:
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return f"{v:g}"


def lr_param(default: float) -> HyperParam:
    return HyperParam("lr", float, default, "learning rate: how far each step goes",
                      low=0.0, high=1e3, log=True)


def eps_param(default: float) -> HyperParam:
    return HyperParam("eps", float, default, "added to the denominator for numerical stability",
                      low=0.0, high=1.0, log=True)


def weight_decay_param() -> HyperParam:
    return HyperParam("weight_decay", float, 0.0, "L2 penalty: adds weight_decay * w to the gradient",
                      low=0.0, high=1e3)


def beta_param(name: str, default: float, help: str) -> HyperParam:
    return HyperParam(name, float, default, help, low=0.0, high=1.0, high_open=True)


def flag_param(name: str, help: str, default: bool = False) -> HyperParam:
    return HyperParam(name, bool, default, help)
