r"""Data-fitting loss functions: finite sums over a seeded synthetic dataset, whose
mini-batch gradients are true stochastic gradients (``minibatch:batch=B`` noise).

Both fit two parameters :math:`w = (w_0, w_1)` (slope and intercept) to
``N_POINTS`` points :math:`(x_i, y_i)` drawn once from
``numpy.random.default_rng(DATA_SEED)``, so every machine has the same data:

- ``linear-regression``: least squares,
  :math:`L(w) = \frac1n \sum_i (w_0 x_i + w_1 - y_i)^2`, a convex quadratic whose
  minimum is the least-squares fit (``numpy.linalg.lstsq``). The x values are
  centred away from 0, so the valley is long and tilted, as real features make it.
- ``logistic-regression``: :math:`L(w) = \frac1n \sum_i \log(1 + e^{-s_i (w_0 x_i + w_1)})`
  with labels :math:`s_i = \pm 1` from overlapping classes (so a finite minimum
  exists; found by Newton's method).

The plots show the full-batch loss; ``batch_gradient(params, idx)`` is the mean
gradient over the points ``idx`` (one row of indices per run).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .loss import LossFunction

N_POINTS = 64
DATA_SEED = 0


@dataclass(frozen=True)
class DataFitFunction(LossFunction):
    """A LossFunction that is a mean over data points, with mini-batch gradients."""

    xs: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False, compare=False)
    ys: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False, compare=False)
    logistic: bool = False

    @property
    def n_points(self) -> int:
        return len(self.xs)

    def point_terms(self, params: np.ndarray, idx: np.ndarray | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
        """Per run and point: the loss term and d(term)/d(score), shape (N, B)."""
        p = np.asarray(params, dtype=np.float64).reshape(-1, 2)
        xs = self.xs if idx is None else self.xs[idx]
        ys = self.ys if idx is None else self.ys[idx]
        score = p[:, :1] * xs + p[:, 1:]
        if self.logistic:
            m = -ys * score  # log(1 + e^m), stably
            term = np.logaddexp(0.0, m)
            dterm = -ys * _sigmoid(m)
        else:
            r = score - ys
            term = r * r
            dterm = 2 * r
        return term, dterm

    def hessian(self, points: np.ndarray) -> np.ndarray:
        """The full-batch Hessian, (N, 2, 2): the mean over points of the term's second
        derivative in the score times (x_i, 1)(x_i, 1)ᵀ (2 for least squares,
        σ(m)(1 - σ(m)) for the logistic loss)."""
        p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        score = p[:, :1] * self.xs + p[:, 1:]
        if self.logistic:
            s = _sigmoid(-self.ys * score)
            weight = s * (1 - s)
        else:
            weight = np.full_like(score, 2.0)
        n = self.n_points
        out = np.empty((p.shape[0], 2, 2))
        # row sums, not matrix products: a row's result must not depend on the batch
        out[:, 0, 0] = (weight * (self.xs * self.xs)).sum(axis=1) / n
        out[:, 0, 1] = out[:, 1, 0] = (weight * self.xs).sum(axis=1) / n
        out[:, 1, 1] = weight.sum(axis=1) / n
        return out

    def batch_gradient(self, params: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """The mean gradient over the points ``idx`` (N, B) for each run (N, 2)."""
        xs = self.xs[idx]
        _, d = self.point_terms(params, idx)
        return np.stack([np.mean(d * xs, axis=1), np.mean(d, axis=1)], axis=1)

    def batch_value(self, params: np.ndarray, idx: np.ndarray) -> np.ndarray:
        """The mean loss over the points ``idx`` (N, B) for each run (N,)."""
        term, _ = self.point_terms(params, idx)
        return np.mean(term, axis=1)


def _sigmoid(m: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(m))
    return np.where(m >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _linear_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(DATA_SEED)
    xs = 1.5 + rng.standard_normal(N_POINTS)
    ys = 2.0 * xs - 1.0 + 0.8 * rng.standard_normal(N_POINTS)
    return xs, ys


def _logistic_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(DATA_SEED + 1)
    labels = np.where(np.arange(N_POINTS) % 2 == 0, 1.0, -1.0)
    xs = 0.8 * labels + 0.5 + 1.2 * rng.standard_normal(N_POINTS)
    return xs, labels


def _make(name: str, xs: np.ndarray, ys: np.ndarray, logistic: bool, **kw) -> DataFitFunction:
    holder: list[DataFitFunction] = []

    def value(p: np.ndarray) -> np.ndarray:
        term, _ = holder[0].point_terms(p)
        return np.mean(term, axis=1)

    def gradient(p: np.ndarray) -> np.ndarray:
        _, d = holder[0].point_terms(p)
        return np.stack([d @ xs / len(xs), np.mean(d, axis=1)], axis=1)

    fn = DataFitFunction(name, 2, value, gradient, xs=xs, ys=ys, logistic=logistic, **kw)
    holder.append(fn)
    return fn


def _newton(fn: DataFitFunction, w: np.ndarray) -> np.ndarray:
    """The minimum of a logistic loss from ``w``, by Newton's method."""
    for _ in range(50):
        score = w[0] * fn.xs + w[1]
        s = _sigmoid(fn.ys * score)
        weight = s * (1 - s)
        a = np.stack([fn.xs, np.ones_like(fn.xs)], axis=1)
        hess = (a * weight[:, None]).T @ a / fn.n_points
        g = fn.gradient(w[None, :])[0]
        w = w - np.linalg.solve(hess, g)
    return w


_LX, _LY = _linear_data()
_LS = np.linalg.lstsq(np.stack([_LX, np.ones_like(_LX)], axis=1), _LY, rcond=None)[0]
_lin = _make("linear-regression", _LX, _LY, False,
             view=((-1.0, 5.0), (-5.0, 3.0)), start=(4.5, 2.5),
             minima=((float(_LS[0]), float(_LS[1])),), minimum_values=(0.0,),
             formula=f"mean of (x*x_i + y - y_i)^2 over {N_POINTS} points (x_i, y_i)",
             description=f"Least-squares line fit y = w₀x + w₁ to {N_POINTS} seeded points "
                         "(x: slope, y: intercept). A long tilted valley; with mini-batch noise "
                         "each step sees only B points, as in real training.",
             category="convex", family="bowls and valleys")
object.__setattr__(_lin, "minimum_values", (float(_lin.value(np.array([_LS]))[0]),))

_GX, _GY = _logistic_data()
_log = _make("logistic-regression", _GX, _GY, True,
             view=((-2.0, 4.0), (-3.0, 3.0)), start=(3.5, -2.5),
             minima=((0.0, 0.0),), minimum_values=(0.0,),
             formula=f"mean of log(1 + exp(-s_i*(x*x_i + y))) over {N_POINTS} points (x_i, s_i = ±1)",
             description=f"Logistic regression (x: weight, y: bias) on {N_POINTS} seeded points "
                         "of two overlapping classes. Convex, flat far away; mini-batch "
                         "noise makes each step's gradient a sample.",
             category="convex", family="bowls and valleys")
_LW = _newton(_log, np.zeros(2))
object.__setattr__(_log, "minima", ((float(_LW[0]), float(_LW[1])),))
object.__setattr__(_log, "minimum_values", (float(_log.value(_LW[None, :])[0]),))

#: the functions, registered by :mod:`optsim.functions`
DATA_FUNCTIONS: tuple[DataFitFunction, ...] = (_lin, _log)
