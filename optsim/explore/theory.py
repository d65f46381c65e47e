r"""What theory says about gradient descent and heavy-ball momentum on a quadratic
:math:`f(w) = \tfrac12 w^\top H w + b^\top w + c` with eigenvalues
:math:`0 < \lambda_{\min} \le \dots \le \lambda_{\max}` of H, :math:`\kappa = \lambda_{\max}/\lambda_{\min}`.

- Gradient descent :math:`w_{k+1} = w_k - \alpha \nabla f(w_k)` converges iff
  :math:`0 < \alpha < 2/\lambda_{\max}`; its rate is :math:`\max_i |1 - \alpha\lambda_i|`,
  smallest at :math:`\alpha^* = 2/(\lambda_{\min} + \lambda_{\max})`, where it is
  :math:`(\kappa - 1)/(\kappa + 1)` (Nesterov, *Introductory Lectures on Convex
  Optimization*, 2004, §1.2.3; Goh, "Why Momentum Really Works", Distill 2017).
- Heavy ball (Polyak 1964) :math:`w_{k+1} = w_k - \alpha \nabla f(w_k) + \beta (w_k - w_{k-1})`:
  along eigenvalue λ the error follows the 2×2 linear recurrence whose
  characteristic polynomial is :math:`z^2 - (1 + \beta - \alpha\lambda) z + \beta`; the
  rate is the largest root modulus over all λ. It converges iff :math:`0 \le \beta < 1`
  and :math:`0 < \alpha\lambda < 2 + 2\beta` for every λ (the stability boundary
  :math:`\alpha = 2(1+\beta)/\lambda_{\max}`), and is fastest at
  :math:`\alpha^* = (2/(\sqrt{\lambda_{\max}} + \sqrt{\lambda_{\min}}))^2`,
  :math:`\beta^* = ((\sqrt\kappa - 1)/(\sqrt\kappa + 1))^2`, rate
  :math:`(\sqrt\kappa - 1)/(\sqrt\kappa + 1)` (Goh 2017, "The critical damping
  coefficient" and "Optimal parameters"; Polyak, *Introduction to Optimization*, 1987).

torch's SGD ``b = μ b + (1 − τ) g; w -= lr b`` is the heavy ball with
β = μ and α = lr (1 − τ) (its first step, b = g, does not change the rate); the
course's ``ema-momentum`` (τ = μ) has α = lr (1 − μ).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..engine import Optimizer
from ..functions import LossFunction


def constant_hessian(function: LossFunction, samples: int = 6, rtol: float = 1e-7) -> np.ndarray | None:
    """The Hessian of ``function`` if it is constant (the function is a quadratic),
    else None. Detected numerically: the gradient must be affine, ``g(p) − g(q) =
    H (p − q)`` at random points of the view, with H from central differences."""
    d = function.dim
    (x0, x1), (y0, y1) = function.view
    lo = np.array([x0, y0][:d], dtype=np.float64)
    hi = np.array([x1, y1][:d], dtype=np.float64)
    rng = np.random.default_rng(12345)
    pts = lo + (hi - lo) * rng.random((samples, d))
    h = 1e-2 * float(np.max(hi - lo))
    with np.errstate(all="ignore"):
        cols = []
        for i in range(d):
            e = np.zeros(d)
            e[i] = h
            g1 = np.asarray(function.gradient(pts[:1] + e), dtype=np.float64)
            g0 = np.asarray(function.gradient(pts[:1] - e), dtype=np.float64)
            cols.append(((g1 - g0) / (2 * h)).reshape(d))
        hess = np.stack(cols, axis=1)
        if not np.isfinite(hess).all():
            return None
        hess = 0.5 * (hess + hess.T)
        g = np.asarray(function.gradient(pts), dtype=np.float64).reshape(samples, d)
    scale = max(float(np.abs(g).max()), float(np.abs(hess).max()) * float(np.max(hi - lo)), 1e-300)
    predicted = g[0] + (pts - pts[0]) @ hess.T
    if not np.isfinite(g).all() or np.abs(predicted - g).max() > rtol * scale:
        return None
    return hess


def heavy_ball_rate(alpha: np.ndarray | float, beta: np.ndarray | float,
                    eigenvalues: np.ndarray) -> np.ndarray:
    """The heavy ball's rate (largest root modulus over the eigenvalues) for step α
    and momentum β (arrays broadcast together); β = 0 is gradient descent."""
    a = np.asarray(alpha, dtype=np.float64)[..., None]
    b = np.asarray(beta, dtype=np.float64)[..., None]
    lam = np.asarray(eigenvalues, dtype=np.float64)
    t = 1 + b - a * lam
    disc = (t * t - 4 * b).astype(np.complex128)
    root = np.sqrt(disc)
    r = np.maximum(np.abs((t + root) / 2), np.abs((t - root) / 2))
    return r.max(axis=-1)


@dataclass(frozen=True)
class QuadraticTheory:
    """The optimal settings of GD and heavy ball on a quadratic's eigenvalues."""

    eigenvalues: np.ndarray

    @property
    def lmin(self) -> float:
        return float(self.eigenvalues.min())

    @property
    def lmax(self) -> float:
        return float(self.eigenvalues.max())

    @property
    def kappa(self) -> float:
        return self.lmax / self.lmin

    @property
    def gd_step(self) -> float:
        """2 / (λmin + λmax): the fastest step of gradient descent."""
        return 2.0 / (self.lmin + self.lmax)

    @property
    def gd_rate(self) -> float:
        return (self.kappa - 1) / (self.kappa + 1)

    @property
    def hb_step(self) -> float:
        """α* = (2 / (√λmax + √λmin))²."""
        return (2.0 / (math.sqrt(self.lmax) + math.sqrt(self.lmin))) ** 2

    @property
    def hb_momentum(self) -> float:
        """β* = ((√κ − 1) / (√κ + 1))²."""
        s = math.sqrt(self.kappa)
        return ((s - 1) / (s + 1)) ** 2

    @property
    def hb_rate(self) -> float:
        s = math.sqrt(self.kappa)
        return (s - 1) / (s + 1)

    def max_step(self, beta: np.ndarray | float = 0.0) -> np.ndarray | float:
        """The stability boundary: α = 2 (1 + β) / λmax."""
        return 2.0 * (1.0 + np.asarray(beta, dtype=np.float64)) / self.lmax


def quadratic_theory(function: LossFunction) -> QuadraticTheory | None:
    """The theory for ``function`` if it is a positive definite quadratic."""
    hess = constant_hessian(function)
    if hess is None:
        return None
    lam = np.linalg.eigvalsh(hess)
    if not (lam > 0).all():
        return None
    return QuadraticTheory(lam)


@dataclass(frozen=True)
class MapTheory:
    """Theory drawn over a sweep map of (lr[, momentum]) of an SGD-family optimizer:
    the stability boundary as a curve (momentum values, lr values), the optimal
    point (lr, momentum) and its rate, and a sentence saying what they are."""

    theory: QuadraticTheory
    boundary_momentum: np.ndarray
    boundary_lr: np.ndarray
    best_lr: float
    best_momentum: float
    best_rate: float
    text: str
    #: a short key for the picture
    label: str = ""


def sgd_scale(optimizer: Optimizer, momentum: np.ndarray | float) -> np.ndarray | float | None:
    """α / lr for torch's SGD family (1 − dampening; ema-momentum: 1 − momentum),
    None for Nesterov or a non-SGD optimizer."""
    if optimizer.algorithm != "sgd" or optimizer.hp.get("nesterov"):
        return None
    if optimizer.hp.get("weight_decay", 0) != 0:
        return None
    if "dampening" in getattr(optimizer, "tied", {}):
        return 1.0 - np.asarray(momentum, dtype=np.float64)
    return 1.0 - float(optimizer.hp["dampening"])


def map_theory(function: LossFunction, optimizer: Optimizer, axes: list[str],
               momentum_range: tuple[float, float] = (0.0, 0.999)) -> MapTheory | None:
    """Theory for a sweep of ``optimizer`` over ``axes`` (``["lr"]``,
    ``["lr", "momentum"]`` or ``["momentum", "lr"]``) on ``function``, or None when
    it does not apply (not a quadratic, not plain SGD/heavy ball, other axes)."""
    if sorted(axes) not in (["lr"], ["lr", "momentum"]):
        return None
    theory = quadratic_theory(function)
    if theory is None or sgd_scale(optimizer, 0.0) is None:
        return None
    if axes == ["lr"]:
        mu = float(optimizer.hp.get("momentum", 0.0))
        scale = float(sgd_scale(optimizer, mu))
        if scale <= 0:
            return None
        boundary = float(theory.max_step(mu)) / scale
        if mu == 0:
            best, rate = theory.gd_step / scale, theory.gd_rate
            text = (f"GD's fastest step 2/(λmin+λmax) = {best:.4g} (rate {rate:.3g}); "
                    f"unstable above lr = 2/λmax = {boundary:.4g}")
        else:
            lrs = np.geomspace(boundary * 1e-4, boundary, 4001)
            rates = heavy_ball_rate(lrs * scale, mu, theory.eigenvalues)
            i = int(rates.argmin())
            best, rate = float(lrs[i]), float(rates[i])
            text = (f"fastest lr at momentum {mu:g}: {best:.4g} (rate {rate:.3g}); "
                    f"unstable above lr = 2(1+μ)/λmax = {boundary:.4g}")
        label = (f"theory: fastest lr {best:.3g} (rate {rate:.3g}), green dashed\n"
                 f"stability edge {boundary:.3g}, grey dotted")
        return MapTheory(theory, np.array([mu]), np.array([boundary]), best, mu, rate, text, label)
    mus = np.linspace(momentum_range[0], momentum_range[1], 400)
    scale = sgd_scale(optimizer, mus)
    lr_boundary = np.asarray(theory.max_step(mus)) / scale
    best_mu = theory.hb_momentum
    best_lr = theory.hb_step / float(sgd_scale(optimizer, best_mu))
    text = (f"heavy ball's optimum: lr = {best_lr:.4g}, momentum = {best_mu:.4g}, rate "
            f"(√κ−1)/(√κ+1) = {theory.hb_rate:.3g} (κ = {theory.kappa:.3g}); the curve is the "
            "stability boundary lr·(1−τ)·λmax = 2(1+μ)")
    label = (f"★ fastest in theory: lr {best_lr:.3g}, momentum {best_mu:.3g}, rate "
             f"{theory.hb_rate:.3g} (κ = {theory.kappa:.3g})\ndashed: stability edge")
    return MapTheory(theory, mus, lr_boundary, best_lr, best_mu, theory.hb_rate, text, label)
