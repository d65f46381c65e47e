"""The loss function type (:class:`LossFunction`) and the registry of named ones
(``FUNCTIONS``, filled by :mod:`optsim.functions`). Typed formulas
(:mod:`optsim.formulas`) make the same kind of object; both import it from here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

Array = np.ndarray

#: the categories a function may be filed under (what it teaches)
CATEGORIES = ("course", "convex", "valley", "multimodal", "tricky")

#: the families of 2D test functions, as the literature groups them (Surjanovic &
#: Bingham's Virtual Library of Simulation Experiments); menus and ``optsim list``
#: group the 2D functions by these, in this order
FAMILIES = ("bowls and valleys", "plates", "many local minima", "steep ridges", "other")


@dataclass(frozen=True)
class LossFunction:
    """A 1D or 2D loss function.

    ``value`` maps an (N, D) array to (N,); ``gradient`` maps (N, D) to (N, D);
    ``hessian_fn`` (optional) maps (N, D) to (N, D, D), see :meth:`hessian`.
    ``value_and_gradient`` (optional) maps (N, D) to both at once, sharing the
    terms they have in common; it must give ``value`` and ``gradient`` bit for bit
    (the simulation takes it for big batches; a test checks every one given).
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
    #: what the function teaches, one of ``CATEGORIES`` ("" for custom formulas)
    category: str = ""
    #: what the ``minima`` list leaves out, if anything (e.g. "121 local minima in view")
    minima_note: str = ""
    #: the literature's family (one of ``FAMILIES``; "" for 1D and custom functions)
    family: str = ""
    #: the Hessian, (N, D) -> (N, D, D); None: central differences of the gradient
    hessian_fn: Callable[[Array], Array] | None = field(default=None, repr=False, compare=False)
    #: the value and the gradient at once, (N, D) -> ((N,), (N, D)); None: separately
    value_and_gradient: Callable[[Array], tuple[Array, Array]] | None = field(
        default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.dim not in (1, 2):
            raise ValueError(f"{self.name}: dimension must be 1 or 2, got {self.dim}")
        if len(self.start) != self.dim:
            raise ValueError(f"{self.name}: start must have {self.dim} coordinates")
        if len(self.minima) != len(self.minimum_values):
            raise ValueError(f"{self.name}: {len(self.minima)} minima but "
                             f"{len(self.minimum_values)} minimum values")
        if any(len(m) != self.dim for m in self.minima):
            raise ValueError(f"{self.name}: every minimum must have {self.dim} coordinates")
        if self.category and self.category not in CATEGORIES:
            raise ValueError(f"{self.name}: unknown category {self.category!r}")
        if self.family and self.family not in FAMILIES:
            raise ValueError(f"{self.name}: unknown family {self.family!r}")

    def __call__(self, points: Array) -> Array:
        return self.value(np.asarray(points, dtype=np.float64).reshape(-1, self.dim))

    def grad(self, points: Array) -> Array:
        return self.gradient(np.asarray(points, dtype=np.float64).reshape(-1, self.dim))

    def hessian(self, points: Array) -> Array:
        """The Hessian at each of N points, (N, D, D): ``hessian_fn`` (analytic for the
        built-ins, symbolic for typed formulas), else central differences of the
        gradient (step 1e-5 scaled by each coordinate's size)."""
        p = np.asarray(points, dtype=np.float64).reshape(-1, self.dim)
        if self.hessian_fn is not None:
            return self.hessian_fn(p)
        return gradient_differences(self.gradient, p)

    @property
    def is_custom(self) -> bool:
        return self.name not in FUNCTIONS or FUNCTIONS[self.name] is not self

    @property
    def value_range(self) -> tuple[float, float]:
        """The y range of a 1D curve's plot (in 2D: the view's y range)."""
        return self.view[1]

    @property
    def global_minimum_value(self) -> float | None:
        """The lowest listed minimum value (None if no minimum is listed)."""
        return min(self.minimum_values) if self.minimum_values else None

    @property
    def global_minima(self) -> tuple[tuple[float, ...], ...]:
        """The listed minima whose value is the lowest (to 1e-9)."""
        best = self.global_minimum_value
        if best is None:
            return ()
        return tuple(m for m, v in zip(self.minima, self.minimum_values, strict=True)
                     if v <= best + 1e-9 * max(1.0, abs(best)))


FUNCTIONS: dict[str, LossFunction] = {}


def gradient_differences(gradient: Callable[[Array], Array], p: Array) -> Array:
    """The Hessian at (N, D) points by central differences of ``gradient``,
    symmetrised, (N, D, D)."""
    n, d = p.shape
    h = 1e-5 * np.maximum(1.0, np.abs(p))
    out = np.empty((n, d, d))
    for k in range(d):
        e = np.zeros_like(p)
        e[:, k] = h[:, k]
        out[:, k, :] = (gradient(p + e) - gradient(p - e)) / (2 * h[:, k:k + 1])
    return 0.5 * (out + out.transpose(0, 2, 1))
