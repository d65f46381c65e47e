"""The geometry a step sees: the local Taylor models at a point, the loss along the
step an optimizer takes, and the sharpness against its stability threshold (the edge
of stability). Pure NumPy, no Qt; the window and the exports draw these.

References: the second-order model and its Newton target (Nocedal & Wright,
*Numerical Optimization*, ch. 2-3, the Armijo condition with c₁ = 1e-4 as there);
the edge of stability (Cohen et al., ICLR 2021; "Adaptive gradient methods at the edge
of stability", 2022): each optimizer module declares its threshold
(:meth:`optsim.engine.base.Optimizer.stability`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .engine.base import Stability
from .loss import LossFunction

if TYPE_CHECKING:
    from .simulation import Trajectory

#: Armijo's sufficient-decrease constant (Nocedal & Wright's usual choice)
ARMIJO_C1 = 1e-4


@dataclass(frozen=True)
class LocalModel:
    """The first- and second-order Taylor models of a function at one point."""

    point: np.ndarray  #: (D,)
    value: float
    gradient: np.ndarray  #: (D,)
    hessian: np.ndarray  #: (D, D), symmetric
    eigenvalues: np.ndarray  #: (D,) ascending
    eigenvectors: np.ndarray  #: (D, D), column i belongs to eigenvalue i

    def first_order(self, points: np.ndarray) -> np.ndarray:
        """f(w) + g·(p − w) at each of M points (M, D) -> (M,)."""
        d = np.asarray(points, dtype=np.float64).reshape(-1, self.point.size) - self.point
        return self.value + d @ self.gradient

    def second_order(self, points: np.ndarray) -> np.ndarray:
        """f(w) + g·(p − w) + ½ (p − w)ᵀ H (p − w) at each of M points -> (M,)."""
        d = np.asarray(points, dtype=np.float64).reshape(-1, self.point.size) - self.point
        return self.value + d @ self.gradient + 0.5 * np.einsum("mi,ij,mj->m", d, self.hessian, d)

    @property
    def newton_target(self) -> np.ndarray | None:
        """The model's stationary point w − H⁻¹g (None where H is singular)."""
        if np.min(np.abs(self.eigenvalues)) <= 1e-12 * max(1.0, np.max(np.abs(self.eigenvalues))):
            return None
        return self.point - np.linalg.solve(self.hessian, self.gradient)

    @property
    def condition(self) -> float:
        """|λ|max / |λ|min of the Hessian (inf where it is singular)."""
        a = np.abs(self.eigenvalues)
        return float(a.max() / a.min()) if a.min() > 0 else float("inf")

    @property
    def kind(self) -> str:
        """What the model's stationary point is: ``minimum``, ``maximum``, ``saddle``
        or ``degenerate`` (a zero curvature)."""
        lam = self.eigenvalues
        if self.newton_target is None:
            return "degenerate"
        if (lam > 0).all():
            return "minimum"
        if (lam < 0).all():
            return "maximum"
        return "saddle"


def local_model(function: LossFunction, point: np.ndarray) -> LocalModel:
    """The Taylor models of ``function`` at ``point`` (D,)."""
    w = np.asarray(point, dtype=np.float64).reshape(1, function.dim)
    h = function.hessian(w)[0]
    h = 0.5 * (h + h.T)
    lam, vec = np.linalg.eigh(h)
    return LocalModel(w[0].copy(), float(function.value(w)[0]), function.gradient(w)[0].copy(),
                      h, lam, vec)


@dataclass(frozen=True)
class StepSlice:
    """The loss along a step: φ(s) = f(w + s·d), s = 1 where the step lands."""

    s: np.ndarray  #: (M,) the sampled step fractions
    values: np.ndarray  #: (M,) φ(s)
    armijo: np.ndarray  #: (M,) the Armijo line φ(0) + c₁·s·φ'(0)
    start: float  #: φ(0) = f(w)
    slope: float  #: φ'(0) = ∇f(w)·d
    landing: float  #: φ(1), where the step lands
    best_s: float  #: the exact minimiser of φ on (0, max s]
    best_value: float  #: φ(best_s)

    @property
    def descent(self) -> bool:
        """Whether d points downhill (φ'(0) < 0)."""
        return self.slope < 0

    @property
    def armijo_holds(self) -> bool:
        """Whether the step decreases the loss enough: φ(1) ≤ φ(0) + c₁·φ'(0)."""
        return bool(self.landing <= self.start + ARMIJO_C1 * self.slope)

    @property
    def overshoots(self) -> bool:
        """Whether the step goes past the minimum along its direction (s* < 1)."""
        return bool(self.best_s < 1.0)


def step_slice(function: LossFunction, point: np.ndarray, direction: np.ndarray,
               s_range: tuple[float, float] = (-0.5, 2.0), samples: int = 201) -> StepSlice:
    """f(w + s·d) for s in ``s_range`` (``samples`` points, s = 0 and 1 among them when
    inside), the Armijo line, and the exact minimum along d for s in (0, max s]: the
    best sample, refined by bisection on φ'(s) = ∇f(w + s·d)·d to full precision."""
    w = np.asarray(point, dtype=np.float64).reshape(function.dim)
    d = np.asarray(direction, dtype=np.float64).reshape(function.dim)
    lo, hi = float(s_range[0]), float(s_range[1])
    if not hi > max(lo, 0.0):
        raise ValueError(f"the slice needs a range reaching past 0, got {s_range}")
    s = np.union1d(np.linspace(lo, hi, samples), [v for v in (0.0, 1.0) if lo <= v <= hi])
    with np.errstate(all="ignore"):
        values = function.value(w + s[:, None] * d)
        start = float(function.value(w[None])[0])
        slope = float(function.gradient(w[None])[0] @ d)
        landing = float(function.value((w + d)[None])[0])
        best_s, best_value = _line_minimum(function, w, d, hi)
    return StepSlice(s, values, start + ARMIJO_C1 * s * slope, start, slope, landing,
                     best_s, best_value)


def _line_minimum(function: LossFunction, w: np.ndarray, d: np.ndarray,
                  hi: float) -> tuple[float, float]:
    """The minimiser of φ(s) = f(w + s·d) on (0, hi]: the best of 2,001 samples, then
    bisection on the sign change of φ' around it (s = 0 when d is zero)."""
    if not np.any(d):
        v = float(function.value(w[None])[0])
        return 0.0, v
    grid = np.linspace(0.0, hi, 2001)
    values = function.value(w + grid[:, None] * d)
    values = np.where(np.isfinite(values), values, np.inf)
    i = int(np.argmin(values))

    def slope(t: float) -> float:
        return float(function.gradient((w + t * d)[None])[0] @ d)

    a, b = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
    fa, fb = slope(a), slope(b)
    if fa < 0 < fb:  # an interior minimum: φ' goes from − to +
        for _ in range(64):  # (the bracket halves each time: 2⁻⁶⁴ of a grid cell)
            m = 0.5 * (a + b)
            if m in (a, b) or b - a <= 4e-16 * max(1.0, abs(m)):
                break
            if slope(m) < 0:
                a = m
            else:
                b = m
        s_best = 0.5 * (a + b)
    else:
        s_best = float(grid[i])
    return s_best, float(function.value((w + s_best * d)[None])[0])


def sharpness(hessians: np.ndarray, preconditioner: np.ndarray | None = None) -> np.ndarray:
    """λmax(H) of each of N Hessians (N, D, D) -> (N,); with a diagonal preconditioner
    P (N, D), λmax(P⁻¹H), computed as λmax(P^-½ H P^-½) (symmetric, same eigenvalues).
    Rows whose P is not finite and positive give NaN."""
    h = np.asarray(hessians, dtype=np.float64)
    h = 0.5 * (h + np.swapaxes(h, -1, -2))
    if preconditioner is None:
        return np.linalg.eigvalsh(h)[:, -1]
    p = np.asarray(preconditioner, dtype=np.float64)
    ok = np.isfinite(p).all(axis=1) & (p > 0).all(axis=1)
    r = np.where(ok[:, None], 1.0 / np.sqrt(np.where(ok[:, None], p, 1.0)), 0.0)
    scaled = r[:, :, None] * h * r[:, None, :]
    out = np.linalg.eigvalsh(scaled)[:, -1]
    out[~ok] = np.nan
    return out


@dataclass(frozen=True)
class EdgeOfStability:
    """A trajectory's sharpness at each of some steps, against its threshold."""

    steps: np.ndarray  #: (K,) step numbers k: the position after step k, before step k + 1
    sharpness: np.ndarray  #: (K, N) λmax(H), or λmax(P⁻¹H) where the optimizer preconditions
    threshold: np.ndarray  #: (K, N) the threshold of step k + 1 (NaN: none known)
    preconditioned: bool
    formula: str  #: how the threshold is written ("" when none is known)


def edge_of_stability(trajectory: Trajectory, steps: np.ndarray | None = None
                      ) -> EdgeOfStability:
    """The sharpness at the positions after ``steps`` (default: every step so far, 0
    included) and the stability threshold of the step taken from there, as the
    optimizer's module declares it (with that step's learning rate from a schedule)."""
    t = trajectory
    ks = np.arange(t.steps + 1) if steps is None else np.asarray(steps, dtype=np.int64)
    n, dim = t.n, t.dim
    limit = np.full((ks.size, n), np.nan)
    precond = np.ones((ks.size, n, dim))
    preconditioned, formula = False, ""
    for j, k in enumerate(ks):  # the thresholds: one optimizer call per step
        info = _stability_at(t, int(k))
        if info is None:
            continue
        formula = info.formula
        limit[j] = info.threshold
        if info.preconditioner is not None:
            preconditioned = True
            precond[j] = info.preconditioner
    # the curvatures: every step's Hessians and eigenvalues in one vectorised call
    pos = t.positions[ks].reshape(-1, dim)
    with np.errstate(all="ignore"):
        h = t.function.hessian(pos).reshape(-1, dim, dim)
        sharp = sharpness(h, precond.reshape(-1, dim) if preconditioned else None)
    return EdgeOfStability(ks, sharp.reshape(ks.size, n), limit, preconditioned, formula)


def _stability_at(t: Trajectory, k: int) -> Stability | None:
    """The :class:`Stability` of step k + 1 of trajectory ``t`` (None when there is
    no such step: the run's schedule ends at step k)."""
    try:
        lr = t.lr_at(k + 1) if t.schedule is not None else None
    except ValueError:  # (the Geometry dock at a one-cycle schedule's last step)
        return None
    try:
        state = t.state_at(k)
    except ValueError:  # states not recorded: a threshold that needs no state still holds
        state = t.optimizer.init(t.positions[k])._replace(step=k)
        with np.errstate(all="ignore"):
            found = t.optimizer.edge_of_stability(state, t.n, lr=lr)
        return found if found is not None and found.preconditioner is None else None
    with np.errstate(all="ignore"):
        return t.optimizer.edge_of_stability(state, t.n, lr=lr)
