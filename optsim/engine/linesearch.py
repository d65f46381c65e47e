"""The strong-Wolfe line search of torch.optim.LBFGS (torch 2.13's ``_strong_wolfe``
and ``_cubic_interpolate``, themselves ported from minFunc's lswolfe and polyinterp),
followed operation by operation for one run: L-BFGS and BFGS share it.

A run's vectors are Python lists of floats here (D is 1 or 2: NumPy's per-call cost
would be most of the work). torch's CPU kernels compute ``a.add(b, alpha=c)`` with
one rounding per element (a fused multiply-add) and a dot product of a few numbers as
the plain sum of the products in order: :func:`add` and :func:`dot` do the same, so
that the runs match torch's to the last bit.

Step lengths that torch computes from tensors are :class:`Tensor0` here, so that
the one operation where that matters (a number divided by a tensor, in the
interpolation) rounds as in torch. Python's float operations never raise on overflow
except ``**``, and a division by zero raises: the interpolation computes in NumPy
float64 scalars (inf or NaN, as torch's 0-dim tensors give), and :func:`div` divides
the same way. Python's ``min``/``max`` are used where torch's code uses them, with
the same NaN behaviour. 234 runs of tools/make_golden_closure.py's configurations
(several starts each) match torch 2.13 bit for bit.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

Vector = list[float]
#: the objective along a direction: (x, t, d) -> (f(x + t·d), ∇f(x + t·d))
Objective = Callable[[Vector, Any, Vector], tuple[float, Vector]]


def exact_fma(a: float, b: float, c: float) -> float:
    """a·b + c rounded once, in integers (every finite float is an integer over a
    power of two; Python's int division is correctly rounded). Non-finite inputs or
    an overflow: a·b + c."""
    try:
        na, da = a.as_integer_ratio()
        nb, db = b.as_integer_ratio()
        nc, dc = c.as_integer_ratio()
        return (na * nb * dc + nc * da * db) / (da * db * dc)
    except (OverflowError, ValueError):
        return a * b + c


def _libm_fma() -> Callable[[float, float, float], float] | None:
    """The C library's ``fma`` (correctly rounded, in hardware where there is one),
    if it is there and gives the exact results of a few cases that a multiply and an
    add round differently."""
    # imported here, on first use: ctypes and the library search cost the window's
    # start-up ~5 ms, and only L-BFGS and BFGS need them
    import ctypes
    import ctypes.util

    try:
        name = ctypes.util.find_library("m") or ("ucrtbase" if sys.platform == "win32"
                                                  else None)
        f = ctypes.CDLL(name).fma
        f.restype = ctypes.c_double
        f.argtypes = (ctypes.c_double, ctypes.c_double, ctypes.c_double)
    except (OSError, AttributeError, TypeError):
        return None
    a = 1.0 + 2.0**-27
    cases = ((a, a, -1.0), (0.1, 10.0, -1.0), (1e308, 10.0, -1e308), (3.0, 1.0 / 3.0, -1.0),
             (-0.0, 1.0, 0.0))
    if all(f(*x) == exact_fma(*x) for x in cases) and math.isnan(f(math.inf, 0.0, 1.0)):
        return f
    return None  # pragma: no cover - a C library without a correct fma


#: the fused multiply-add in use (found on first use: see :func:`fused`)
_FMA: Callable[[float, float, float], float] | None = None


def fused() -> Callable[[float, float, float], float]:
    """The fused multiply-add in use: the C library's, else :func:`exact_fma`."""
    global _FMA
    if _FMA is None:
        _FMA = _libm_fma() or exact_fma
    return _FMA


def fma(a: float, b: float, c: float) -> float:
    """a·b + c rounded once (a fused multiply-add)."""
    return (_FMA or fused())(a, b, c)


def add(a: Vector, b: Vector, alpha: float) -> Vector:
    """torch's ``a.add(b, alpha=alpha)`` on the CPU: a + alpha·b, each element rounded
    once."""
    alpha = float(alpha)
    f = _FMA or fused()
    return [f(alpha, y, x) for x, y in zip(a, b, strict=True)]


def dot(a: Vector, b: Vector) -> float:
    """torch's ``a.dot(b)`` for a vector of a few numbers: the products summed in order."""
    out = a[0] * b[0]
    for x, y in zip(a[1:], b[1:], strict=True):
        out = out + x * y
    return out


def absmax(v: Vector) -> float:
    """The largest |v_i|, NaN if any is (as torch's ``v.abs().max()``)."""
    m = 0.0
    for x in v:
        x = abs(x)
        if x != x:
            return math.nan
        m = max(m, x)
    return m


def div(a: float, b: float) -> float:
    """a / b as float64 division does it (inf or NaN by zero, never an error)."""
    try:
        return a / b
    except ZeroDivisionError:
        with np.errstate(all="ignore"):
            return float(np.float64(a) / np.float64(b))


class Tensor0(float):
    """A number torch holds in a 0-dim float64 tensor (a step length computed from
    tensors), as opposed to a Python number (``lr``, ``0``). Arithmetic with it gives
    a Tensor0, rounded as a Python float is, except one operation: torch computes
    ``number / tensor`` as ``tensor.reciprocal() * number``, two roundings, and so does
    :meth:`__rtruediv__`. Division by zero gives inf or NaN."""

    __slots__ = ()

    def __add__(self, o: Any) -> Any:
        if not isinstance(o, (int, float)):
            return NotImplemented
        return Tensor0(float(self) + float(o))

    __radd__ = __add__

    def __sub__(self, o: Any) -> Any:
        if not isinstance(o, (int, float)):
            return NotImplemented
        return Tensor0(float(self) - float(o))

    def __rsub__(self, o: Any) -> Any:
        if not isinstance(o, (int, float)):
            return NotImplemented
        return Tensor0(float(o) - float(self))

    def __mul__(self, o: Any) -> Any:
        if not isinstance(o, (int, float)):
            return NotImplemented
        return Tensor0(float(self) * float(o))

    __rmul__ = __mul__

    def __truediv__(self, o: Any) -> Any:
        if not isinstance(o, (int, float)):
            return NotImplemented
        return Tensor0(div(float(self), float(o)))

    def __rtruediv__(self, o: Any) -> Any:
        if not isinstance(o, (int, float)):
            return NotImplemented
        return Tensor0(div(1.0, float(self)) * float(o))

    def __neg__(self) -> Tensor0:
        return Tensor0(-float(self))

    def __abs__(self) -> Tensor0:
        return Tensor0(abs(float(self)))


def cubic_interpolate(x1: Any, f1: Any, g1: Any, x2: Any, f2: Any, g2: Any,
                      bounds: tuple[Any, Any] | None = None) -> Any:
    """The minimiser of the cubic through (x1, f1, g1) and (x2, f2, g2), clamped to
    ``bounds`` (default: between x1 and x2); their midpoint when the cubic has no
    minimum (torch's ``_cubic_interpolate``). The slopes g are tensors in torch, and
    so is the result unless it is a bound; x1 − x2 is one when x1 or x2 is
    (:class:`Tensor0`), and then divides as torch divides a number by a tensor."""
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    tensor = isinstance(x1, Tensor0) or isinstance(x2, Tensor0)
    a1, b1, c1_, a2, b2, c2_ = (np.float64(v) for v in (x1, f1, g1, x2, f2, g2))
    with np.errstate(all="ignore"):
        # d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
        top = 3 * (b1 - b2)
        d1 = c1_ + c2_ - (top * (1.0 / (a1 - a2)) if tensor else top / (a1 - a2))
        d2_square = d1**2 - c1_ * c2_
        if d2_square >= 0:
            d2 = np.sqrt(d2_square)
            if a1 <= a2:
                min_pos = a2 - (a2 - a1) * ((c2_ + d2 - d1) / (c2_ - c1_ + 2 * d2))
            else:
                min_pos = a1 - (a1 - a2) * ((c1_ + d2 - d1) / (c1_ - c2_ + 2 * d2))
            return min(max(Tensor0(min_pos), xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def strong_wolfe(obj_func: Objective, x: Vector, t: Any, d: Vector, f: float,
                 g: Vector, gtd: float, c1: float = 1e-4, c2: float = 0.9,
                 tolerance_change: float = 1e-9, max_ls: int = 25
                 ) -> tuple[float, Vector, Any, int]:
    """A step length along ``d`` from ``x`` that satisfies the strong Wolfe conditions
    (sufficient decrease with ``c1``, curvature |∇f·d| ≤ ``c2``·|g·d|), by bracketing
    and cubic zooming, with at most ``max_ls`` evaluations: torch's ``_strong_wolfe``.
    Returns (f, g at the chosen step, the step length t, evaluations)."""
    d_norm = absmax(d)
    g = list(g)
    # evaluate objective and gradient using initial step
    f_new, g_new = obj_func(x, t, d)
    ls_func_evals = 1
    gtd_new = dot(g_new, d)

    # bracket an interval containing a point satisfying the Wolfe criteria
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        # check conditions
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket = [t_prev, t]
            bracket_f = [f_prev, f_new]
            bracket_g = [g_prev, list(g_new)]
            bracket_gtd = [gtd_prev, gtd_new]
            break

        if abs(gtd_new) <= -c2 * gtd:
            bracket = [t]
            bracket_f = [f_new]
            bracket_g = [g_new]
            done = True
            break

        if gtd_new >= 0:
            bracket = [t_prev, t]
            bracket_f = [f_prev, f_new]
            bracket_g = [g_prev, list(g_new)]
            bracket_gtd = [gtd_prev, gtd_new]
            break

        # interpolate
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                              bounds=(min_step, max_step))

        # next step
        t_prev = tmp
        f_prev = f_new
        g_prev = list(g_new)
        gtd_prev = gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = dot(g_new, d)
        ls_iter += 1

    # reached max number of iterations?
    if ls_iter == max_ls:
        bracket = [0, t]
        bracket_f = [f, f_new]
        bracket_g = [g, g_new]

    # zoom phase: we now have a point satisfying the criteria, or a bracket around
    # it; refine the bracket until the point satisfying the criteria is found
    insuf_progress = False
    # find high and low points in bracket
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        # line-search bracket is so small
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break

        # compute new trial value
        t = cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0],
                              bracket[1], bracket_f[1], bracket_gtd[1])

        # test that we are making sufficient progress: if t is close to the
        # boundary, progress is insufficient; if it was insufficient in the last
        # step too, or t is at the boundary, t moves 0.1·len(bracket) away from
        # the nearest boundary point
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            # interpolation close to boundary
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                # evaluate at 0.1 away from boundary
                if abs(t - max(bracket)) < abs(t - min(bracket)):
                    t = max(bracket) - eps
                else:
                    t = min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False

        # Evaluate new point
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = dot(g_new, d)
        ls_iter += 1

        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            # Armijo condition not satisfied or not lower than lowest point
            bracket[high_pos] = t
            bracket_f[high_pos] = f_new
            bracket_g[high_pos] = list(g_new)
            bracket_gtd[high_pos] = gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                # Wolfe conditions satisfied
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                # old high becomes new low
                bracket[high_pos] = bracket[low_pos]
                bracket_f[high_pos] = bracket_f[low_pos]
                bracket_g[high_pos] = bracket_g[low_pos]
                bracket_gtd[high_pos] = bracket_gtd[low_pos]

            # new point becomes new low
            bracket[low_pos] = t
            bracket_f[low_pos] = f_new
            bracket_g[low_pos] = list(g_new)
            bracket_gtd[low_pos] = gtd_new

    # return stuff
    t = bracket[low_pos]
    f_new = bracket_f[low_pos]
    g_new = bracket_g[low_pos]
    return f_new, g_new, t, ls_func_evals


# ---------------------------------------------------------------------------
# the inner points of a step (L-BFGS, BFGS): recorded per run, reported in ``info``

#: kinds of the recorded inner points (``info["inner_kinds"]``)
TRIAL, ITERATE = 0.0, 1.0
#: one recorded point: (position, loss or NaN, kind, step length t)
Point = tuple[Any, Any, float, Any]


def inner_info(info: dict[str, np.ndarray], points: list[list[Point]], dim: int) -> None:
    """Put each run's inner points into ``info``, padded with NaN: ``inner_points``
    (N, K, D), ``inner_values`` (N, K; NaN: not evaluated), ``inner_kinds`` (N, K;
    ``ITERATE`` or ``TRIAL``) and ``inner_steps`` (N, K; the step length t)."""
    n = len(points)
    k = max([len(p) for p in points] + [1])
    pts = np.full((n, k, dim), np.nan)
    vals, kinds, steps = (np.full((n, k), np.nan) for _ in range(3))
    for i, row in enumerate(points):
        for j, (p, v, kind, t) in enumerate(row):
            pts[i, j], vals[i, j], kinds[i, j], steps[i, j] = p, v, kind, t
    info.update(inner_points=pts, inner_values=vals, inner_kinds=kinds, inner_steps=steps)


#: the info entries of :func:`inner_info` (not one number per coordinate)
INNER_INFO = ("inner_points", "inner_values", "inner_kinds", "inner_steps")


def inner_lines(info: dict[str, np.ndarray]) -> list[str]:
    """One run's inner points as the inspector lists them, in order: each inner
    iterate and, indented, the line search's trial points before it."""
    lines = []
    k = 0
    for p, v, kind, t in zip(np.asarray(info["inner_points"]),
                             np.asarray(info["inner_values"]).reshape(-1),
                             np.asarray(info["inner_kinds"]).reshape(-1),
                             np.asarray(info["inner_steps"]).reshape(-1), strict=True):
        if np.isnan(kind):
            break
        where = "(" + ", ".join(f"{x:.6g}" for x in p) + ")"
        f = "not evaluated" if np.isnan(v) else f"f = {v:.6g}"
        if kind == ITERATE:
            k += 1
            lines.append(f"iterate {k}: {where}, {f} (t = {t:.6g})")
        else:
            lines.append(f"   trial t = {t:.6g}: {where}, {f}")
    return lines
