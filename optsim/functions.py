"""Loss functions as data: name, dimension, vectorised value and analytic gradient,
view window, default start and known minima. A registry maps names to them;
typed formulas (``optsim.formulas``) become the same kind of object.

The 2D test functions and their minima follow the optimisation test-function
literature (Surjanovic & Bingham's Virtual Library of Simulation Experiments;
Wikipedia, "Test functions for optimization"); the minima listed here were
refined to machine precision with Newton's method and checked to be minima
(positive definite Hessian).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable

import numpy as np

from . import derivatives as _derived
from .loss import CATEGORIES, FAMILIES, FUNCTIONS, Array, LossFunction  # noqa: F401 (theirs, here too)


def register(fn: LossFunction) -> LossFunction:
    """Add a function to the registry under its (lower-case, hyphenated) name. A
    function without a Hessian whose formula is one of ``optsim.derivatives``'
    gets the Hessian derived from it."""
    if fn.name != _key(fn.name):
        raise ValueError(f"registered names are lower-case and hyphenated, got {fn.name!r}")
    if fn.hessian_fn is None and _derived.FORMULAS.get(fn.name) == fn.formula:
        fn = dataclasses.replace(fn, hessian_fn=_derived_fn("hessian", fn.name))
    FUNCTIONS[fn.name] = fn
    return fn


def _derived_fn(kind: str, name: str) -> Callable[[Array], Array]:
    return getattr(_derived, f"{kind}_{name.replace('-', '_')}")


def groups() -> list[tuple[str, list[LossFunction]]]:
    """The registry grouped for menus and listings: "1D", then the 2D functions by
    family (``FAMILIES`` order), each group in registration order."""
    out: list[tuple[str, list[LossFunction]]] = [
        ("1D", [f for f in FUNCTIONS.values() if f.dim == 1])]
    for family in FAMILIES:
        out.append((f"2D {family}", [f for f in FUNCTIONS.values()
                                     if f.dim == 2 and (f.family or "other") == family]))
    return [(title, fns) for title, fns in out if fns]


def _key(name: str) -> str:
    return re.sub(r"[\s_]+", "-", name.strip().lower())


def get_function(name: str) -> LossFunction:
    """A built-in function by name (case-insensitive; ``_`` or spaces for ``-``).
    Raises ValueError listing the known names."""
    key = _key(name)
    if key not in FUNCTIONS:
        raise ValueError(f"unknown function {name.strip()!r}; known: {', '.join(FUNCTIONS)}")
    return FUNCTIONS[key]


#: a bare or hyphenated word with one of these parts (``x``, ``x-y``, ``x-pi``) is a
#: formula; any other (``rosenbrok``, ``pi``) is taken for a function name
_VARIABLE_WORDS = {"x", "y"}


def as_function(function: str | LossFunction) -> LossFunction:
    """A function object from a built-in name, a formula string, or a function.

    A bare or hyphenated word that is not a formula (``rosenbrok``) is reported as
    an unknown function listing the known names; anything else is parsed as a
    formula by ``optsim.formulas.parse_formula``.
    """
    if isinstance(function, LossFunction):
        return function
    if not isinstance(function, str):
        raise TypeError(f"expected a function name, formula or LossFunction, got {type(function).__name__}")
    text = function.strip()
    if _key(text) in FUNCTIONS:
        return FUNCTIONS[_key(text)]
    words = set(text.lower().split("-"))
    if _NAME.match(text) and not words & _VARIABLE_WORDS:
        return get_function(text)  # a name, not a formula: say "unknown function"
    from .formulas import parse_formula  # lazy: sympy is only paid for when used

    return parse_formula(function)


_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(-[A-Za-z][A-Za-z0-9_]*)*$")


# ---------------------------------------------------------------------------
# helpers


def _x(p: Array) -> Array:
    return p[:, 0]


def _xy(p: Array) -> tuple[Array, Array]:
    return p[:, 0], p[:, 1]


def _col(g: Array) -> Array:
    return g[:, None]


def _pair(gx: Array, gy: Array) -> Array:
    gx, gy = np.asarray(gx), np.asarray(gy)
    if gx.ndim != 1 or gx.shape != gy.shape:
        return np.stack([gx, gy], axis=1)
    # as np.stack, without its ~5 us of overhead (paid every step of every run)
    out = np.empty((gx.shape[0], 2), dtype=np.result_type(gx, gy))
    out[:, 0] = gx
    out[:, 1] = gy
    return out


def _poly_minima(coefficients: list[float]) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The local minima (points, values) of the polynomial with these coefficients
    (highest power first), from the real roots of its derivative."""
    poly = np.poly1d(coefficients)
    d1, d2 = poly.deriv(), poly.deriv(2)
    roots = sorted(r.real for r in d1.roots if abs(r.imag) < 1e-12)
    mins = []
    for r in roots:
        for _ in range(3):  # polish the root to machine precision
            if d2(r) != 0:
                r = r - d1(r) / d2(r)
        if d2(r) > 0:
            mins.append(float(r))
    return tuple(mins), tuple(float(poly(r)) for r in mins)


def _minima_1d(f: Callable[[Array], Array], df: Callable[[Array], Array],
               lo: float, hi: float, samples: int = 20001) -> tuple[tuple[float, ...], ...]:
    """The local minima of a smooth 1D function in [lo, hi]: where the derivative
    changes sign from - to +, on a fine grid, refined by bisection to machine precision."""
    xs = np.linspace(lo, hi, samples)
    g = df(xs)
    mins = []
    for i in np.nonzero((g[:-1] < 0) & (g[1:] >= 0))[0]:
        a, b = float(xs[i]), float(xs[i + 1])
        for _ in range(200):
            m = 0.5 * (a + b)
            if m in (a, b):
                break
            if df(np.array([m]))[0] < 0:
                a = m
            else:
                b = m
        mins.append(b if abs(df(np.array([b]))[0]) <= abs(df(np.array([a]))[0]) else a)
    return tuple(mins), tuple(float(f(np.array([m]))[0]) for m in mins)


# ---------------------------------------------------------------------------
# 1D

register(LossFunction(
    "cubic", 1,
    value=lambda p: _x(p) ** 3 - 5 * _x(p) ** 2 + 10,
    gradient=lambda p: _col(3 * _x(p) ** 2 - 10 * _x(p)),
    view=((-3.0, 7.0), (-40.0, 120.0)), start=(7.0,),
    minima=((10 / 3,),), minimum_values=((10 / 3) ** 3 - 5 * (10 / 3) ** 2 + 10,),
    formula="x**3 - 5*x**2 + 10",
    description="The course's cubic: a local minimum at x = 10/3 and no lower bound to the left "
                "of the local maximum at x = 0. Plain gradient descent settles; momentum can escape.",
    unbounded_below=True, category="course",
    minima_note="no global minimum: the cubic falls to minus infinity as x decreases",
))

register(LossFunction(
    "quadratic", 1,
    value=lambda p: _x(p) ** 2,
    gradient=lambda p: _col(2 * _x(p)),
    view=((-3.0, 3.0), (-1.0, 9.0)), start=(2.5,),
    minima=((0.0,),), minimum_values=(0.0,),
    formula="x**2",
    description="The simplest parabola. The gradient shrinks as you approach the minimum, so "
                "gradient descent slows down by itself; a learning rate above 1 makes it diverge.",
    category="convex",
))

_DW_MINIMA, _DW_VALUES = _poly_minima([1.0, 0.0, -2.0, 0.3, 1.0])  # (x^2 - 1)^2 + 0.3 x

register(LossFunction(
    "double-well", 1,
    value=lambda p: (_x(p) ** 2 - 1) ** 2 + 0.3 * _x(p),
    gradient=lambda p: _col(4 * _x(p) * (_x(p) ** 2 - 1) + 0.3),
    view=((-2.0, 2.0), (-1.0, 6.0)), start=(1.8,),
    minima=tuple((m,) for m in _DW_MINIMA), minimum_values=_DW_VALUES,
    formula="(x**2 - 1)**2 + 0.3*x",
    description="Two valleys of different depth separated by a hump. Started on the right, "
                "gradient descent stays in the shallower valley; enough momentum carries it "
                "over to the deeper one on the left.",
    category="multimodal",
))

register(LossFunction(
    "quartic", 1,
    value=lambda p: _x(p) ** 4,
    gradient=lambda p: _col(4 * _x(p) ** 3),
    view=((-2.0, 2.0), (-1.0, 12.0)), start=(1.8,),
    minima=((0.0,),), minimum_values=(0.0,),
    formula="x**4",
    description="A flat-bottomed valley: the gradient 4x³ vanishes much faster than the distance "
                "to the minimum, so gradient descent crawls at the end. Adaptive methods keep going.",
    category="tricky",
))


def _wavy(p: Array) -> Array:
    return 0.25 * _x(p) ** 2 + np.sin(3 * _x(p))


def _wavy_d(x: Array) -> Array:
    return 0.5 * x + 3 * np.cos(3 * x)


# 0.5 x + 3 cos 3x has no root beyond |x| = 6: these are all the minima
_WAVY_MINIMA, _WAVY_VALUES = _minima_1d(lambda x: 0.25 * x**2 + np.sin(3 * x), _wavy_d, -6.5, 6.5)

register(LossFunction(
    "wavy", 1,
    value=_wavy,
    gradient=lambda p: _col(_wavy_d(_x(p))),
    view=((-6.0, 6.0), (-2.0, 10.0)), start=(4.5,),
    minima=tuple((m,) for m in _WAVY_MINIMA), minimum_values=_WAVY_VALUES,
    formula="0.25*x**2 + sin(3*x)",
    description="A parabola with ripples: six local minima, the deepest near x = -0.5. Gradient "
                "descent stops in the first dip it meets; momentum can roll over a few ripples.",
    category="multimodal",
))

register(LossFunction(
    "abs-smooth", 1,
    value=lambda p: np.sqrt(1 + _x(p) ** 2) - 1,
    gradient=lambda p: _col(_x(p) / np.sqrt(1 + _x(p) ** 2)),
    view=((-5.0, 5.0), (-0.5, 4.5)), start=(4.5,),
    minima=((0.0,),), minimum_values=(0.0,),
    formula="sqrt(1 + x**2) - 1",
    description="A smoothed absolute value (pseudo-Huber): far away it is a straight line whose "
                "gradient never exceeds 1, so steps stay the same size until the rounded bottom.",
    category="convex",
))


def _cliff(p: Array) -> Array:
    return 0.25 * _x(p) ** 2 + 4 * np.tanh(8 * (_x(p) - 1))


def _cliff_d(x: Array) -> Array:
    return 0.5 * x + 32 / np.cosh(8 * (x - 1)) ** 2


_CLIFF_MINIMA, _CLIFF_VALUES = _minima_1d(
    lambda x: 0.25 * x**2 + 4 * np.tanh(8 * (x - 1)), _cliff_d, -3.0, 3.0)

register(LossFunction(
    "steep-cliff", 1,
    value=_cliff,
    gradient=lambda p: _col(_cliff_d(_x(p))),
    view=((-2.0, 3.0), (-5.0, 7.0)), start=(2.8,),
    minima=tuple((m,) for m in _CLIFF_MINIMA), minimum_values=_CLIFF_VALUES,
    formula="0.25*x**2 + 4*tanh(8*(x - 1))",
    description="A gentle slope with a sudden cliff at x = 1 where the gradient jumps to about 32: "
                "a step there is flung far past the bottom, like an exploding gradient.",
    category="tricky",
))

# ---------------------------------------------------------------------------
# 2D

register(LossFunction(
    "bowl", 2,
    value=lambda p: p[:, 0] ** 2 + p[:, 1] ** 2,
    gradient=lambda p: 2 * p,
    view=((-2.0, 2.0), (-2.0, 2.0)), start=(-1.5, 1.5),
    minima=((0.0, 0.0),), minimum_values=(0.0,),
    formula="x**2 + y**2", description="A round bowl: every method heads straight for the centre.",
    category="course", family="bowls and valleys",
))

_ELONGATED_SLOPES = np.array([2.0, 18.0])

register(LossFunction(
    "elongated-bowl", 2,
    value=lambda p: p[:, 0] ** 2 + 9 * p[:, 1] ** 2,
    gradient=lambda p: p * _ELONGATED_SLOPES,  # (2x, 18y) in one multiply
    view=((-2.0, 1.0), (-2.0, 1.0)), start=(-1.0, 1.0),
    minima=((0.0, 0.0),), minimum_values=(0.0,),
    formula="x**2 + 9*y**2",
    description="The course's elongated bowl: steep in y, shallow in x. Gradient descent curves in; "
                "RMSProp rescales each coordinate and goes almost straight.",
    category="course", family="bowls and valleys",
))

register(LossFunction(
    "zigzag-bowl", 2,
    value=lambda p: 0.5 * p[:, 0] ** 2 + 8 * p[:, 1] ** 2,
    gradient=lambda p: _pair(p[:, 0], 16 * p[:, 1]),
    view=((-1.0, 1.0), (-1.0, 1.0)), start=(-0.9, 0.5),
    minima=((0.0, 0.0),), minimum_values=(0.0,),
    formula="0.5*x**2 + 8*y**2",
    description="The course's zig-zag bowl: 16 times steeper in y than in x. At lr = 0.1 each "
                "gradient step overshoots in y and bounces across the valley while creeping along x; "
                "above lr = 0.125 it diverges.",
    category="course", family="bowls and valleys",
))

register(LossFunction(
    "tilted-bowl", 2,
    value=lambda p: p[:, 0] ** 2 + 1.8 * p[:, 0] * p[:, 1] + p[:, 1] ** 2,
    gradient=lambda p: _pair(2 * p[:, 0] + 1.8 * p[:, 1], 1.8 * p[:, 0] + 2 * p[:, 1]),
    view=((-2.0, 2.0), (-2.0, 2.0)), start=(-1.5, 0.5),
    minima=((0.0, 0.0),), minimum_values=(0.0,),
    formula="x**2 + 1.8*x*y + y**2",
    description="A narrow valley along the diagonal (curvatures 3.8 and 0.2). Per-coordinate "
                "methods such as RMSProp cannot straighten a diagonal valley as they do an "
                "axis-aligned one.",
    category="valley", family="bowls and valleys",
))


def _rosen_value(p: Array) -> Array:
    x, y = _xy(p)
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def _rosen_grad(p: Array) -> Array:
    # (-2(1 - x) - 400x(y - x²), 200(y - x²)): the same operations in the same order
    # (bit-identical), with y - x² computed once and the result written in place,
    # since this runs every step of every run (65,536 runs: 382 -> 271 µs)
    x, y = p[:, 0], p[:, 1]
    r = x * x
    np.subtract(y, r, out=r)
    t = 1 - x
    t *= -2
    u = 400 * x
    u *= r
    out = np.empty_like(p, dtype=np.float64)  # (laid out as p: a sweep's are column-major)
    np.subtract(t, u, out=out[:, 0])
    np.multiply(200, r, out=out[:, 1])
    return out


def _rosen_value_and_grad(p: Array) -> tuple[Array, Array]:
    # _rosen_value and _rosen_grad with 1 - x and y - x² computed once: the same
    # operations on the same operands (products commuted), so bit for bit the same
    x, y = p[:, 0], p[:, 1]
    a = 1 - x
    r = x * x
    np.subtract(y, r, out=r)
    value = a * a
    t = r * r
    t *= 100
    value += t
    a *= -2
    np.multiply(400, x, out=t)
    t *= r
    out = np.empty_like(p, dtype=np.float64)
    np.subtract(a, t, out=out[:, 0])
    np.multiply(200, r, out=out[:, 1])
    return value, out


register(LossFunction(
    "rosenbrock", 2, value=_rosen_value, gradient=_rosen_grad,
    value_and_gradient=_rosen_value_and_grad,
    view=((-2.0, 2.0), (-1.0, 3.0)), start=(-1.5, 2.0),
    minima=((1.0, 1.0),), minimum_values=(0.0,),
    formula="(1 - x)**2 + 100*(y - x**2)**2",
    description="A curved, flat-bottomed valley: easy to find, hard to follow to the minimum at (1, 1).",
    log_scale=True, category="valley", family="bowls and valleys",
))


def _beale_terms(p: Array) -> tuple[Array, ...]:
    x, y = _xy(p)
    return x, y, 1.5 - x + x * y, 2.25 - x + x * y**2, 2.625 - x + x * y**3


def _beale_value(p: Array) -> Array:
    _, _, a, b, c = _beale_terms(p)
    return a**2 + b**2 + c**2


def _beale_grad(p: Array) -> Array:
    x, y, a, b, c = _beale_terms(p)
    gx = 2 * a * (y - 1) + 2 * b * (y**2 - 1) + 2 * c * (y**3 - 1)
    gy = 2 * a * x + 2 * b * 2 * x * y + 2 * c * 3 * x * y**2
    return _pair(gx, gy)


register(LossFunction(
    "beale", 2, value=_beale_value, gradient=_beale_grad,
    view=((-4.5, 4.5), (-4.5, 4.5)), start=(-1.0, 1.5),
    minima=((3.0, 0.5),), minimum_values=(0.0,),
    formula="(1.5 - x + x*y)**2 + (2.25 - x + x*y**2)**2 + (2.625 - x + x*y**3)**2",
    description="Flat in the middle with steep walls toward the corners; the minimum (3, 0.5) "
                "sits at the end of a narrow curved valley.",
    log_scale=True, category="valley", family="other",
))


def _himmelblau_value(p: Array) -> Array:
    x, y = _xy(p)
    return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2


def _himmelblau_grad(p: Array) -> Array:
    x, y = _xy(p)
    a, b = x**2 + y - 11, x + y**2 - 7
    return _pair(4 * x * a + 2 * b, 2 * a + 4 * y * b)


register(LossFunction(
    "himmelblau", 2, value=_himmelblau_value, gradient=_himmelblau_grad,
    view=((-5.0, 5.0), (-5.0, 5.0)), start=(-0.5, -0.5),
    minima=((3.0, 2.0), (-2.8051180869527449, 3.1313125182505730),
            (-3.7793102533777469, -3.2831859912861694), (3.5844283403304917, -1.8481265269644036)),
    minimum_values=(0.0, 0.0, 0.0, 0.0),
    formula="(x**2 + y - 11)**2 + (x + y**2 - 7)**2",
    description="Four equally deep minima around a central hump: which one a run ends in depends "
                "on where it starts and on the optimizer.",
    log_scale=True, category="multimodal", family="other",
))


def _rastrigin_value(p: Array) -> Array:
    return 20 + np.sum(p**2 - 10 * np.cos(2 * np.pi * p), axis=1)


register(LossFunction(
    "rastrigin", 2, value=_rastrigin_value,
    gradient=lambda p: 2 * p + 20 * np.pi * np.sin(2 * np.pi * p),
    view=((-5.12, 5.12), (-5.12, 5.12)), start=(-3.3, 2.7),
    minima=((0.0, 0.0),), minimum_values=(0.0,),
    formula="20 + x**2 - 10*cos(2*pi*x) + y**2 - 10*cos(2*pi*y)",
    description="An egg-crate: a bowl covered in regular bumps, with a local minimum near every "
                "point of the integer grid. Only the one at the origin is global.",
    category="multimodal", family="many local minima",
    minima_note="only the global minimum is listed; there is a local minimum near every integer "
                "point (121 in view)",
))


def _booth_value(p: Array) -> Array:
    x, y = _xy(p)
    return (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2


def _booth_grad(p: Array) -> Array:
    x, y = _xy(p)
    a, b = x + 2 * y - 7, 2 * x + y - 5
    return _pair(2 * a + 4 * b, 4 * a + 2 * b)


register(LossFunction(
    "booth", 2, value=_booth_value, gradient=_booth_grad,
    view=((-10.0, 10.0), (-10.0, 10.0)), start=(-8.0, -6.0),
    minima=((1.0, 3.0),), minimum_values=(0.0,),
    formula="(x + 2*y - 7)**2 + (2*x + y - 5)**2",
    description="A convex quadratic whose valley runs diagonally; the minimum is at (1, 3).",
    category="convex", family="plates",
))

register(LossFunction(
    "saddle", 2,
    value=lambda p: p[:, 0] ** 2 - p[:, 1] ** 2,
    gradient=lambda p: _pair(2 * p[:, 0], -2 * p[:, 1]),
    view=((-2.0, 2.0), (-2.0, 2.0)), start=(-1.8, 0.05),
    formula="x**2 - y**2",
    description="A saddle: downhill in y, uphill in x, no minimum. Started just off the ridge, "
                "gradient descent first slides to the flat centre and only slowly falls off it.",
    unbounded_below=True, category="tricky", family="other",
    minima_note="no minimum: the saddle point (0, 0) is flat but not a minimum",
))


def _gp_parts(p: Array) -> tuple[Array, ...]:
    x, y = _xy(p)
    s, t = x + y + 1, 2 * x - 3 * y
    q1 = 19 - 14 * x + 3 * x**2 - 14 * y + 6 * x * y + 3 * y**2
    q2 = 18 - 32 * x + 12 * x**2 + 48 * y - 36 * x * y + 27 * y**2
    return x, y, s, t, q1, q2


def _gp_value(p: Array) -> Array:
    _, _, s, t, q1, q2 = _gp_parts(p)
    return (1 + s**2 * q1) * (30 + t**2 * q2)


def _gp_grad(p: Array) -> Array:
    x, y, s, t, q1, q2 = _gp_parts(p)
    a, b = 1 + s**2 * q1, 30 + t**2 * q2
    da_dx = 2 * s * q1 + s**2 * (-14 + 6 * x + 6 * y)
    da_dy = 2 * s * q1 + s**2 * (-14 + 6 * x + 6 * y)
    db_dx = 4 * t * q2 + t**2 * (-32 + 24 * x - 36 * y)
    db_dy = -6 * t * q2 + t**2 * (48 - 36 * x + 54 * y)
    return _pair(da_dx * b + a * db_dx, da_dy * b + a * db_dy)


register(LossFunction(
    "goldstein-price", 2, value=_gp_value, gradient=_gp_grad,
    view=((-2.0, 2.0), (-2.0, 2.0)), start=(0.5, 1.5),
    minima=((0.0, -1.0), (-0.6, -0.4), (1.8, 0.2), (1.2, 0.8)),
    minimum_values=(3.0, 30.0, 84.0, 840.0),
    formula="(1 + (x + y + 1)**2*(19 - 14*x + 3*x**2 - 14*y + 6*x*y + 3*y**2))"
            "*(30 + (2*x - 3*y)**2*(18 - 32*x + 12*x**2 + 48*y - 36*x*y + 27*y**2))",
    description="Values from 3 to about a million: a global minimum 3 at (0, -1) and three local "
                "minima (30, 84 and 840) that trap plain gradient descent.",
    log_scale=True, category="multimodal", family="other",
))


def _mccormick_value(p: Array) -> Array:
    x, y = _xy(p)
    return np.sin(x + y) + (x - y) ** 2 - 1.5 * x + 2.5 * y + 1


def _mccormick_grad(p: Array) -> Array:
    x, y = _xy(p)
    c = np.cos(x + y)
    return _pair(c + 2 * (x - y) - 1.5, c - 2 * (x - y) + 2.5)


# With u = x + y, v = x - y: f = sin u + u/2 + (v - 1)^2, minima at v = 1, u = -2π/3 + 2πk.
_MC_MINIMA = tuple(((u + 1) / 2, (u - 1) / 2) for u in (-2 * math.pi / 3, 4 * math.pi / 3))

register(LossFunction(
    "mccormick", 2, value=_mccormick_value, gradient=_mccormick_grad,
    view=((-1.5, 4.0), (-3.0, 4.0)), start=(3.5, 3.5),
    minima=_MC_MINIMA,
    minimum_values=(-math.sqrt(3) / 2 - math.pi / 3, -math.sqrt(3) / 2 + 2 * math.pi / 3),
    formula="sin(x + y) + (x - y)**2 - 1.5*x + 2.5*y + 1",
    description="A tilted trough with a wavy floor: the global minimum of the usual window is "
                "about -1.9133 at (-0.547, -1.547), with a local minimum up the trough.",
    unbounded_below=True, category="multimodal", family="plates",
    minima_note="the two minima in the view are listed; outside it the trough keeps falling, with "
                "a local minimum every 2π along x + y",
))


def _camel_value(p: Array) -> Array:
    x, y = _xy(p)
    return (4 - 2.1 * x**2 + x**4 / 3) * x**2 + x * y + (-4 + 4 * y**2) * y**2


def _camel_grad(p: Array) -> Array:
    x, y = _xy(p)
    return _pair(8 * x - 8.4 * x**3 + 2 * x**5 + y, x - 8 * y + 16 * y**3)


register(LossFunction(
    "six-hump-camel", 2, value=_camel_value, gradient=_camel_grad,
    view=((-2.0, 2.0), (-1.0, 1.0)), start=(-1.0, -0.8),
    minima=((0.089842013100318062, -0.71265640302073963),
            (-0.089842013100318062, 0.71265640302073963),
            (1.7036067149699808, -0.79608356867262512),
            (-1.7036067149699808, 0.79608356867262512),
            (1.6071047529201972, 0.56865145488413137),
            (-1.6071047529201972, -0.56865145488413137)),
    minimum_values=(-1.0316284534898774, -1.0316284534898774, -0.21546382438371764,
                    -0.21546382438371764, 2.1042503103112583, 2.1042503103112583),
    formula="(4 - 2.1*x**2 + x**4/3)*x**2 + x*y + (-4 + 4*y**2)*y**2",
    description="Six local minima: two global ones at about (±0.09, ∓0.71) with value -1.0316, "
                "and two pairs of shallower ones toward the sides that trap gradient descent.",
    category="multimodal", family="bowls and valleys",
))


def _ackley_value(p: Array) -> Array:
    r = np.sqrt(0.5 * np.sum(p**2, axis=1))
    c = 0.5 * np.sum(np.cos(2 * np.pi * p), axis=1)
    return -20 * np.exp(-0.2 * r) - np.exp(c) + math.e + 20


def _ackley_grad(p: Array) -> Array:
    r = np.sqrt(0.5 * np.sum(p**2, axis=1))
    c = 0.5 * np.sum(np.cos(2 * np.pi * p), axis=1)
    # d/dp of -20 exp(-0.2 r) = 4 exp(-0.2 r) * 0.5 p / r; at r = 0 the cone's tip, where 0
    # is a subgradient: report 0 there
    safe = np.where(r > 0, r, 1.0)
    cone = np.where(r > 0, 2 * np.exp(-0.2 * r) / safe, 0.0)[:, None] * p
    ripples = np.exp(c)[:, None] * np.pi * np.sin(2 * np.pi * p)
    return cone + ripples


register(LossFunction(
    "ackley", 2, value=_ackley_value, gradient=_ackley_grad,
    view=((-5.0, 5.0), (-5.0, 5.0)), start=(-3.3, 3.6),
    minima=((0.0, 0.0),), minimum_values=(0.0,),
    formula="-20*exp(-0.2*sqrt(0.5*(x**2 + y**2))) - exp(0.5*(cos(2*pi*x) + cos(2*pi*y))) + e + 20",
    description="A nearly flat, bumpy plain with one deep funnel at the origin (value 0): the "
                "many small dips stop gradient descent long before the funnel.",
    category="multimodal", family="many local minima",
    minima_note="only the global minimum is listed; the ripples make a local minimum near most "
                "integer points",
))


# ---------------------------------------------------------------------------
# 2D functions from the literature: the definitions of Surjanovic & Bingham's Virtual
# Library of Simulation Experiments (Jamil & Yang, 2013, for bird and leon), with the
# literature's domains as views where they show the function's character. Value,
# gradient and Hessian are the sympy-derived code of ``optsim.derivatives``.
#
# Non-differentiable points follow PyTorch's autograd: d|u|/du = sign(u), 0 at u = 0.
# Where torch's chain rule gives NaN (0 times sqrt'(0) = inf: on Bukin's ridge, on
# Schwefel's axes, on the Eggholder's two lines, at the origin under sqrt(x² + y²)),
# the gradient and Hessian are 0 there instead.

_KINK = "At its kinks the gradient follows PyTorch's autograd (d|u|/du = 0 at 0)"
_ROOT = ("; where torch's sqrt'(0) = ∞ gives NaN, the gradient is 0")


def _literature(name: str, view: tuple[tuple[float, float], tuple[float, float]],
                start: tuple[float, float], minima: tuple[tuple[float, float], ...],
                values: tuple[float, ...], description: str, family: str, category: str,
                **kw) -> LossFunction:
    return register(LossFunction(
        name, 2, value=_derived_fn("value", name), gradient=_derived_fn("gradient", name),
        hessian_fn=_derived_fn("hessian", name), view=view, start=start, minima=minima,
        minimum_values=values, formula=_derived.FORMULAS[name], description=description,
        family=family, category=category, **kw))


_MANY = "many local minima"
_S2 = math.sqrt(2)

_literature(
    "bukin6", ((-15.0, -5.0), (-3.0, 3.0)), (-6.0, -2.0), ((-10.0, 1.0),), (0.0,),
    "Bukin N.6: a sharp, curved ridge of kinks along y = x²/100, falling gently to the minimum "
    "0 at (-10, 1); gradients are huge beside the ridge and vanish on it. " + _KINK + _ROOT
    + " (all of the ridge).",
    _MANY, "tricky",
    minima_note="the ridge y = x²/100 is not differentiable; along it the function falls "
                "linearly to the one minimum")

_CIT = 1.3494066171538956
_literature(
    "cross-in-tray", ((-10.0, 10.0), (-10.0, 10.0)), (-3.2, 2.2),
    ((_CIT, _CIT), (_CIT, -_CIT), (-_CIT, _CIT), (-_CIT, -_CIT)), (-2.0626118708227397,) * 4,
    "Cross-in-tray: a tray of bumps between two cross-shaped ridges on the axes; four global "
    "minima -2.06261 at (±1.3491, ±1.3491). " + _KINK + ".",
    _MANY, "multimodal",
    minima_note="the four global minima are listed; 36 local minima lie in the view")

_literature(
    "drop-wave", ((-5.12, 5.12), (-5.12, 5.12)), (-1.4, 0.9), ((0.0, 0.0),), (-1.0,),
    "Drop-wave: ripples in a pond: rings of local minima around the single global minimum "
    "-1 at the origin, where sqrt(x² + y²) gives the gradient 0.",
    _MANY, "multimodal",
    minima_note="only the global minimum is listed; the rings around it are circles of "
                "local minima")

_literature(
    "eggholder", ((-512.0, 512.0), (-512.0, 512.0)), (-200.0, 150.0),
    ((482.35331046479365, 432.87899894548866),), (-956.9182316246657,),
    "Eggholder: a rough, crumpled landscape over [-512, 512]²; the literature's global minimum "
    "-959.6407 sits on the edge, at (512, 404.2319). " + _KINK + _ROOT + ".",
    _MANY, "multimodal", unbounded_below=True,
    minima_note="the deepest of the 74 local minima inside the view is listed; the literature's "
                "global minimum -959.6407 at (512, 404.2319) is on the view's edge (not a "
                "stationary point), and beyond the edge the function falls without bound")

_literature(
    "griewank", ((-20.0, 20.0), (-20.0, 20.0)), (13.0, -11.0), ((0.0, 0.0),), (0.0,),
    "Griewank: a wide, shallow bowl with regular dimples (cos x·cos(y/√2)); the global "
    "minimum 0 at the origin, with a nearly as deep local minimum at every dimple.",
    _MANY, "multimodal",
    minima_note="only the global minimum is listed; 59 local minima lie in the view")

_HTX, _HTY = 8.055023475736567, 9.664590019241272
_literature(
    "holder-table", ((-10.0, 10.0), (-10.0, 10.0)), (-2.0, 3.0),
    ((_HTX, _HTY), (_HTX, -_HTY), (-_HTX, _HTY), (-_HTX, -_HTY)), (-19.208502567886736,) * 4,
    "Hölder table: a table with four deep legs; the global minima -19.2085 at "
    "(±8.05502, ±9.66459) in the corners. " + _KINK + ".",
    _MANY, "multimodal",
    minima_note="the four global minima are listed; 42 local minima lie in the view")

_literature(
    "levy", ((-10.0, 10.0), (-10.0, 10.0)), (-6.5, 6.0), ((1.0, 1.0),), (0.0,),
    "Lévy: a bowl with waves along both axes; the global minimum 0 at (1, 1).",
    _MANY, "multimodal",
    minima_note="only the global minimum is listed; 40 local minima lie in the view")

_literature(
    "levy13", ((-10.0, 10.0), (-10.0, 10.0)), (-6.0, 5.0), ((1.0, 1.0),), (0.0,),
    "Lévy N.13: a valley along x = 1 under fine ripples (sin²3πx); the global minimum "
    "0 at (1, 1), among about a thousand local minima in the view.",
    _MANY, "multimodal",
    minima_note="only the global minimum is listed; about 1,100 local minima lie in the view")

_literature(
    "schaffer2", ((-10.0, 10.0), (-10.0, 10.0)), (-3.3, 2.1), ((0.0, 0.0),), (0.0,),
    "Schaffer N.2: concentric hyperbolic waves (sin²(x² − y²)) fading outward; the global "
    "minimum 0 at the origin.",
    _MANY, "multimodal",
    minima_note="only the global minimum is listed; over 100 local minima lie in the view")

_SC4 = 1.2531318314637332
_literature(
    "schaffer4", ((-10.0, 10.0), (-10.0, 10.0)), (-3.3, 2.1),
    ((0.0, _SC4), (0.0, -_SC4), (_SC4, 0.0), (-_SC4, 0.0)), (0.29257863203598056,) * 4,
    "Schaffer N.4: the waves of N.2 through cos(sin|x² − y²|); four global minima 0.292579 "
    "at (0, ±1.25313) and (±1.25313, 0). " + _KINK + " on the diagonals.",
    _MANY, "multimodal",
    minima_note="the four global minima are listed; over 100 local minima lie in the view")

_SW = 420.9687463599821
_literature(
    "schwefel", ((-500.0, 500.0), (-500.0, 500.0)), (-150.0, 100.0), ((_SW, _SW),),
    (2.5455132458773733e-05,),
    "Schwefel: a deceptive egg-box whose deepest minimum (0 to the constant's four decimals) "
    "is at (420.9687, 420.9687), far from the next best. " + _KINK + _ROOT + " (the axes).",
    _MANY, "multimodal",
    minima_note="only the global minimum is listed; 49 local minima lie in the view")

_SH = (-7.708313735499345, -7.0835064076515595, -1.425128428319761, -0.8003211004719731,
       4.858056878859826, 5.482864206707613)
#: the 18 global minima as index pairs into _SH (each coordinate one of six values)
_SH_PAIRS = ((0, 5), (0, 3), (0, 1), (1, 0), (1, 2), (1, 4), (2, 1), (2, 3), (2, 5), (3, 0),
             (3, 2), (3, 4), (4, 3), (4, 5), (4, 1), (5, 0), (5, 4), (5, 2))
_literature(
    "shubert", ((-10.0, 10.0), (-10.0, 10.0)), (0.3, 0.4),
    tuple((_SH[i], _SH[j]) for i, j in _SH_PAIRS), (-186.7309088310238,) * 18,
    "Shubert: a product of two trigonometric sums: a checkerboard of about 700 local minima "
    "in the view, 18 of them global (-186.7309), in pairs.",
    _MANY, "multimodal",
    minima_note="the 18 global minima are listed; about 700 local minima lie in the view")

_literature(
    "bird", ((-2 * math.pi, 2 * math.pi), (-2 * math.pi, 2 * math.pi)), (0.0, 0.0),
    ((-1.5821421769300335, -3.1302468034546562), (4.701043130249553, 3.15293850372493),
     (-1.536662471846804, 3.1074587986417006), (4.655171399427281, -3.084375072632384),
     (-5.617907679231665, -5.377666608332611), (0.6652776279479201, 0.9055186988469766)),
    (-106.7645367492647, -106.7645367492647, -87.31088273300358, -48.40602343067042,
     1.4870191265420762, 1.4870191265420762),
    "Bird (Mishra): sines and cosines under exponentials: steep pits, two global minima "
    "-106.7645 at (4.7010, 3.1529) and (-1.5821, -3.1302), among six in the view.",
    _MANY, "multimodal")

_literature(
    "bohachevsky1", ((-2.0, 2.0), (-2.0, 2.0)), (-1.7, 1.3), ((0.0, 0.0),), (0.0,),
    "Bohachevsky N.1: an elliptic bowl (x² + 2y²) with shallow cosine ripples; the minimum "
    "0 at the origin, with small local minima on the ripples.",
    "bowls and valleys", "multimodal",
    minima_note="only the global minimum is listed; 25 local minima lie in the view")

_literature(
    "sum-squares", ((-10.0, 10.0), (-10.0, 10.0)), (-8.0, 6.0), ((0.0, 0.0),), (0.0,),
    "Sum of squares (axis-parallel hyper-ellipsoid): x² + 2y², a convex bowl twice as steep "
    "in y; the minimum 0 at the origin.",
    "bowls and valleys", "convex")

_literature(
    "trid", ((-4.0, 4.0), (-4.0, 4.0)), (-3.0, 3.5), ((2.0, 2.0),), (-2.0,),
    "Trid: a convex bowl tilted by the coupling -xy; the minimum -2 at (2, 2).",
    "bowls and valleys", "convex")

_literature(
    "dixon-price", ((-2.0, 3.0), (-2.0, 2.0)), (-1.5, 1.5),
    ((1.0, -1 / _S2), (1.0, 1 / _S2)), (0.0, 0.0),
    "Dixon-Price: a curved parabolic valley 2(2y² - x)²; two global minima 0 at "
    "(1, ±1/√2).",
    "bowls and valleys", "valley", log_scale=True)

_literature(
    "zakharov", ((-5.0, 10.0), (-5.0, 10.0)), (-4.0, 8.0), ((0.0, 0.0),), (0.0,),
    "Zakharov: a plate that bends up steeply (a quartic in x/2 + y) away from the "
    "minimum 0 at the origin; convex, no local minima.",
    "plates", "convex", log_scale=True)

_literature(
    "matyas", ((-10.0, 10.0), (-10.0, 10.0)), (-8.0, 3.0), ((0.0, 0.0),), (0.0,),
    "Matyas: a nearly flat plate along the diagonal (curvatures 0.04 and 1): gradient "
    "descent rushes to the diagonal, then crawls to the minimum 0 at the origin.",
    "plates", "convex")

_THC = (1.7475523458382370, 0.8737761729576086)
_literature(
    "three-hump-camel", ((-2.0, 2.0), (-2.0, 2.0)), (1.8, -1.6),
    ((0.0, 0.0), (_THC[0], -_THC[1]), (-_THC[0], _THC[1])), (0.0, 0.2986384422368572,
                                                               0.2986384422368572),
    "Three-hump camel: a valley with a global minimum 0 at the origin and two side humps "
    "holding local minima (0.2986) that trap gradient descent.",
    "bowls and valleys", "multimodal")

_EA = (1.3049954504376624, 4.978189856741955)
_literature(
    "easom", ((0.0, 6.0), (0.0, 6.0)), (1.6, 4.4),
    ((math.pi, math.pi), (_EA[0], _EA[0]), (_EA[0], _EA[1]), (_EA[1], _EA[0]), (_EA[1], _EA[1])),
    (-1.0, -8.110223891570078e-05, -8.110223891570072e-05, -8.110223891570072e-05,
     -8.110223891570062e-05),
    "Easom: a flat plain (gradient almost zero) with one narrow hole, the minimum -1 at "
    "(π, π): a run must start near the hole to find it.",
    "steep ridges", "tricky", unbounded_below=False)

_literature(
    "michalewicz", ((0.0, math.pi), (0.0, math.pi)), (1.0, 2.7),
    ((2.2029055201868974, 1.5707963267948966), (2.2029055201868974, 2.7115714838430147)),
    (-1.8013034100985534, -1.2140595156208176),
    "Michalewicz (m = 10): flat plateaus cut by steep, narrow valleys; the global minimum "
    "-1.8013 at (2.20, 1.57) where two valleys cross.",
    "steep ridges", "tricky",
    minima_note="the two minima inside the view are listed; the flat plateaus near the edges "
                "have no strict minima")

_literature(
    "branin", ((-5.0, 10.0), (0.0, 15.0)), (0.0, 10.0),
    ((-math.pi, 12.275), (math.pi, 2.275), (3 * math.pi, 2.475)), (5 / (4 * math.pi),) * 3,
    "Branin (Branin-Hoo): a curved valley with three global minima 0.397887 at (-π, 12.275), "
    "(π, 2.275) and (9.42478, 2.475).",
    "other", "multimodal", log_scale=True)

_STA, _STB = -2.903534027771177, 2.746802770990838
_literature(
    "styblinski-tang", ((-5.0, 5.0), (-5.0, 5.0)), (4.5, 4.5),
    ((_STA, _STA), (_STA, _STB), (_STB, _STA), (_STB, _STB)),
    (-78.33233140754284, -64.19561235905536, -64.19561235905536, -50.058893310567896),
    "Styblinski-Tang: a quartic in each coordinate, four minima at the corners of a square; "
    "the global one -78.3323 at (-2.9035, -2.9035).",
    "other", "multimodal")

_literature(
    "leon", ((-1.2, 1.2), (-1.2, 1.2)), (-1.0, -0.8), ((1.0, 1.0),), (0.0,),
    "Leon: Rosenbrock's banana bent along the cubic y = x³; the minimum 0 at (1, 1) at the "
    "end of a narrow curved valley.",
    "bowls and valleys", "valley", log_scale=True)


# the data-fitting functions (finite sums, for mini-batch noise)
from .datafit import DATA_FUNCTIONS  # noqa: E402

for _fn in DATA_FUNCTIONS:
    register(_fn)
