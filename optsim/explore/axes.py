"""Sweep axes: one numeric hyperparameter over a linear or logarithmic range,
parsed from ``NAME=LO:HI:N[:log]`` and checked against the optimizer's declaration."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..engine import Optimizer
from ..engine.hyperparams import HyperParam

#: the most values one axis may have
MAX_AXIS = 1 << 20


class SweepInputError(ValueError):
    """Input a sweep cannot use (an unknown hyperparameter, a bad range, a grid too
    large); the message is one line saying what is wrong."""


@dataclass(frozen=True)
class Axis:
    """``n`` values of hyperparameter ``name`` from ``lo`` to ``hi`` (both included),
    evenly spaced, or evenly spaced in log10 when ``log``."""

    name: str
    lo: float
    hi: float
    n: int
    log: bool = False

    def __post_init__(self) -> None:
        what = f"axis {self.name}"
        for end, v in (("LO", self.lo), ("HI", self.hi)):
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
                raise SweepInputError(f"{what}: {end} must be a finite number, got {v!r}")
        if isinstance(self.n, bool) or not isinstance(self.n, (int, np.integer)):
            raise SweepInputError(f"{what}: N must be a whole number, got {self.n!r}")
        if self.n < 2:
            raise SweepInputError(f"{what}: N must be at least 2, got {self.n}")
        if self.n > MAX_AXIS:
            raise SweepInputError(f"{what}: N must be at most {MAX_AXIS}, got {self.n}")
        if self.lo >= self.hi:
            raise SweepInputError(f"{what}: LO must be below HI, got {self.lo:g} >= {self.hi:g}")
        if self.log and self.lo <= 0:
            raise SweepInputError(f"{what}: a log axis needs LO > 0, got {self.lo:g}")

    @property
    def values(self) -> np.ndarray:
        """The axis' values, float64, shape (n,)."""
        if self.log:
            return np.geomspace(float(self.lo), float(self.hi), int(self.n))
        return np.linspace(float(self.lo), float(self.hi), int(self.n))

    @property
    def spec(self) -> str:
        """``NAME=LO:HI:N[:log]``: parses back to this axis."""
        return f"{self.name}={self.lo!r}:{self.hi!r}:{self.n}" + (":log" if self.log else "")

    @classmethod
    def parse(cls, text: str) -> Axis:
        """An axis from ``NAME=LO:HI:N[:log]`` (e.g. ``lr=1e-4:1:64:log``)."""
        if not isinstance(text, str):
            raise SweepInputError(f"an axis is written NAME=LO:HI:N[:log], got {text!r}")
        name, eq, rest = text.strip().partition("=")
        name = name.strip()
        if not eq or not name:
            raise SweepInputError(f"an axis is written NAME=LO:HI:N[:log], got {text.strip()!r}")
        parts = [p.strip() for p in rest.split(":")]
        log = False
        if len(parts) == 4:
            if parts[3].lower() not in ("log", "lin"):
                raise SweepInputError(f"axis {name}: the fourth part must be 'log' or 'lin', "
                                      f"got {parts[3]!r}")
            log = parts[3].lower() == "log"
            parts = parts[:3]
        if len(parts) != 3:
            raise SweepInputError(f"axis {name}: expected {name}=LO:HI:N[:log], got {text.strip()!r}")
        try:
            lo, hi = float(parts[0]), float(parts[1])
        except ValueError:
            raise SweepInputError(f"axis {name}: LO and HI must be numbers, got "
                                  f"{parts[0]!r} and {parts[1]!r}") from None
        try:
            n_float = float(parts[2])
        except ValueError:
            raise SweepInputError(f"axis {name}: N must be a whole number, got {parts[2]!r}") from None
        if not math.isfinite(n_float) or n_float != int(n_float):
            raise SweepInputError(f"axis {name}: N must be a whole number, got {parts[2]!r}")
        return cls(name, lo, hi, int(n_float), log)


def as_axis(axis: Axis | str | tuple) -> Axis:
    """An Axis from an Axis, a ``NAME=LO:HI:N[:log]`` string, or a tuple
    ``(name, lo, hi, n)`` / ``(name, lo, hi, n, "log")``."""
    if isinstance(axis, Axis):
        return axis
    if isinstance(axis, str):
        return Axis.parse(axis)
    if isinstance(axis, (tuple, list)) and len(axis) in (4, 5):
        log = False
        if len(axis) == 5:
            if axis[4] not in ("log", "lin", True, False):
                raise SweepInputError(f"axis {axis[0]}: the fifth item must be 'log' or 'lin'")
            log = axis[4] in ("log", True)
        lo, hi = axis[1], axis[2]
        if isinstance(lo, (np.floating, np.integer)):
            lo = float(lo)
        if isinstance(hi, (np.floating, np.integer)):
            hi = float(hi)
        return Axis(str(axis[0]), lo, hi, axis[3], log)
    raise SweepInputError(f"an axis is 'NAME=LO:HI:N[:log]' or (name, lo, hi, n[, 'log']), got {axis!r}")


def declared(optimizer: Optimizer) -> dict[str, HyperParam]:
    """The hyperparameters of ``optimizer`` a sweep may vary, by name."""
    return {p.name: p for p in optimizer.declared}


def check_axis(axis: Axis, optimizer: Optimizer) -> HyperParam:
    """Check ``axis`` varies a numeric hyperparameter of ``optimizer`` within its
    declared range; returns the declaration. Raises SweepInputError."""
    known = declared(optimizer)
    if axis.name not in known:
        tied = getattr(optimizer, "tied", {})
        if axis.name in tied:
            raise SweepInputError(f"{optimizer.name}: {axis.name} always equals {tied[axis.name]} "
                                  f"here; sweep {tied[axis.name]} instead")
        raise SweepInputError(f"{optimizer.name}: unknown hyperparameter {axis.name!r}; "
                              f"known: {', '.join(known)}")
    p = known[axis.name]
    if p.kind is bool:
        raise SweepInputError(f"{optimizer.name}: {axis.name} is true/false, not a number: "
                              "an axis must be a numeric hyperparameter")
    for v in (axis.lo, axis.hi):
        try:
            p.validate(float(v), optimizer.name)
        except ValueError as exc:
            raise SweepInputError(str(exc)) from None
    if p.kind is int:
        vals = axis.values
        if not np.array_equal(vals, np.round(vals)):
            raise SweepInputError(f"{optimizer.name}: {axis.name} is a whole number, but the axis "
                                  f"{axis.spec} has fractional values")
    return p
