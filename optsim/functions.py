"""Loss functions as data: name, dimension, vectorised value and analytic gradient,
view window, default start and known minima. A registry maps names to them;
typed formulas (``optsim.formulas``) become the same kind of object."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import re

import numpy as np

Array = np.ndarray


@dataclass(frozen=True)
class LossFunction:
    """A 1D or 2D loss function.

    ``value`` maps an (N, D) array to (N,); ``gradient`` maps (N, D) to (N, D).
    ``view`` is ``((xmin, xmax), (ymin, ymax))``: in 2D the plotted window, in 1D the
    x range and the y range of the curve's plot. ``minima`` lists known local and
    global minima as points, ``minimum_values`` their loss values.
    """

    name: str
    dim: int
    value: Callable[[Array], Array] = field(repr=False, compare=False)
    gradient: Callable[[Array], Array] = field(repr=False, compare=False)
    view: tuple[tuple[float, float], tuple[float, float]]
    start: tuple[float, ...]
    minima: tuple[tuple[float, ...], ...] = ()
    minimum_values: tuple[float, ...] = ()
    formula: str = ""
    description: str = ""
    #: colour the contour on a log scale (huge dynamic range, e.g. Rosenbrock)
    log_scale: bool = False
    #: has no lower bound (runs may legitimately run away, e.g. the cubic, the saddle)
    unbounded_below: bool = False

    def __post_init__(self) -> None:
        if self.dim not in (1, 2):
            raise ValueError(f"{self.name}: dimension must be 1 or 2, got {self.dim}")
        if len(self.start) != self.dim:
            raise ValueError(f"{self.name}: start must have {self.dim} coordinates")

    def __call__(self, points: Array) -> Array:
        return self.value(np.asarray(points, dtype=np.float64).reshape(-1, self.dim))

    def grad(self, points: Array) -> Array:
        return self.gradient(np.asarray(points, dtype=np.float64).reshape(-1, self.dim))

    @property
    def is_custom(self) -> bool:
        return self.name not in FUNCTIONS or FUNCTIONS[self.name] is not self


FUNCTIONS: dict[str, LossFunction] = {}


def register(fn: LossFunction) -> LossFunction:
    FUNCTIONS[fn.name] = fn
    return fn


def get_function(name: str) -> LossFunction:
    """A built-in function by name. Raises ValueError listing the known names."""
    key = name.strip().lower()
    if key not in FUNCTIONS:
        raise ValueError(f"unknown function {name!r}; known: {', '.join(FUNCTIONS)}")
    return FUNCTIONS[key]


def as_function(function: str | LossFunction) -> LossFunction:
    """A function object from a built-in name, a formula string, or a function."""
    if isinstance(function, LossFunction):
        return function
    if not isinstance(function, str):
        raise TypeError(f"expected a function name, formula or LossFunction, got {type(function).__name__}")
    if function.strip().lower() in FUNCTIONS:
        return FUNCTIONS[function.strip().lower()]
    if _NAME.match(function.strip()) and not set(function.strip().split("-")) <= {"x", "y"}:
        return get_function(function)  # a name, not a formula: say "unknown function"
    from .formulas import parse_formula  # lazy: sympy is only paid for when used

    return parse_formula(function)


_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(-[A-Za-z][A-Za-z0-9_]*)*$")


# ---------------------------------------------------------------------------
# 1D


def _x(p: Array) -> Array:
    return p[:, 0]


register(LossFunction(
    "cubic", 1,
    value=lambda p: _x(p) ** 3 - 5 * _x(p) ** 2 + 10,
    gradient=lambda p: (3 * _x(p) ** 2 - 10 * _x(p))[:, None],
    view=((-3.0, 7.0), (-40.0, 120.0)), start=(7.0,),
    minima=((10 / 3,),), minimum_values=((10 / 3) ** 3 - 5 * (10 / 3) ** 2 + 10,),
    formula="x**3 - 5*x**2 + 10",
    description="The course's cubic: a local minimum at x = 10/3 and no lower bound to the left.",
    unbounded_below=True,
))

# ---------------------------------------------------------------------------
# 2D


def _xy(p: Array) -> tuple[Array, Array]:
    return p[:, 0], p[:, 1]


register(LossFunction(
    "bowl", 2,
    value=lambda p: p[:, 0] ** 2 + p[:, 1] ** 2,
    gradient=lambda p: 2 * p,
    view=((-2.0, 2.0), (-2.0, 2.0)), start=(-1.5, 1.5),
    minima=((0.0, 0.0),), minimum_values=(0.0,),
    formula="x**2 + y**2", description="A round bowl: every method heads straight for the centre.",
))

register(LossFunction(
    "elongated-bowl", 2,
    value=lambda p: p[:, 0] ** 2 + 9 * p[:, 1] ** 2,
    gradient=lambda p: np.stack([2 * p[:, 0], 18 * p[:, 1]], axis=1),
    view=((-2.0, 1.0), (-2.0, 1.0)), start=(-1.0, 1.0),
    minima=((0.0, 0.0),), minimum_values=(0.0,),
    formula="x**2 + 9*y**2",
    description="The course's elongated bowl: steep in y, shallow in x. Gradient descent curves in; "
                "RMSProp rescales each coordinate and goes almost straight.",
))


def _rosen_value(p: Array) -> Array:
    x, y = _xy(p)
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def _rosen_grad(p: Array) -> Array:
    x, y = _xy(p)
    return np.stack([-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)], axis=1)


register(LossFunction(
    "rosenbrock", 2, value=_rosen_value, gradient=_rosen_grad,
    view=((-2.0, 2.0), (-1.0, 3.0)), start=(-1.5, 2.0),
    minima=((1.0, 1.0),), minimum_values=(0.0,),
    formula="(1 - x)**2 + 100*(y - x**2)**2",
    description="A curved, flat-bottomed valley: easy to find, hard to follow to the minimum at (1, 1).",
    log_scale=True,
))
