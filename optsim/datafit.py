r"""Data-fitting loss functions: finite sums over a seeded synthetic dataset, whose
mini-batch gradients are true stochastic gradients (``minibatch:batch=B`` noise).

Both fit two parameters :math:`w = (w_0, w_1)` (slope and intercept) to
``N_POINTS`` points :math:`(x_i, y_i)` drawn once from
``numpy.random.default_rng(DATA_SEED)`` and written out here, so every machine has
the same data:

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


#: ``numpy.random.default_rng(DATA_SEED).standard_normal(64)``, twice (the linear
#: fit's x, then its y noise), and ``default_rng(DATA_SEED + 1)``'s first 64 (the
#: logistic classes' spread), written out: NumPy keeps a sampler's stream only within
#: a version, and importing numpy.random cost the window's start-up ~8 ms
#: (tests/test_startup.py checks that they are this NumPy's draws)
_LINEAR_X_NOISE = np.array([
    0.1257302210933933, -0.1321048632913019, 0.6404226504432821, 0.10490011715303971,
    -0.535669373161111, 0.36159505490948474, 1.3040000451301372, 0.9470809631292422,
    -0.7037352358069926, -1.2654214710460525, -0.6232744625373522, 0.0413259793472436,
    -2.3250307746388343, -0.21879166393254573, -1.2459109472530652, -0.7322673547034516,
    -0.5442589828573099, -0.31630015636915454, 0.4116305363741328, 1.0425133694426776,
    -0.12853466294403426, 1.3664634705496859, -0.6651946734866135, 0.3515100700930197,
    0.9034701816518086, 0.09401229776087457, -0.7434992493538084, -0.9217253762584194,
    -0.45772582566733916, 0.2201951234700494, -1.009618183538736, -0.20917557487171307,
    -0.15922500991447772, 0.5408455846858077, 0.2146591225063409, 0.3553727090399214,
    -0.6538286094183394, -0.12961363369276946, 0.7839754700613295, 1.4934311452207607,
    -1.2590655321041202, 1.5139237747390626, 1.3458754237823045, 0.7813114007004275,
    0.2644556303293035, -0.3139228145364278, 1.4580206835369587, 1.9602583164499647,
    1.801634869866125, 1.31510376473437, 0.357380410658956, -1.2083186322821715,
    -0.004454133120083229, 0.6564749350763358, -1.2883614637495544, 0.39512206018200824,
    0.42986369482223, 0.6960427239628685, -1.184117966757189, -0.6617025720390349,
    -0.43643524714322124, -1.169801907772864, 1.739367877130134, -0.4959107284421519,
])
_LINEAR_Y_NOISE = np.array([
    0.3289696294602021, -0.258572545473924, 1.5834728788021222, 1.3203609870818391,
    0.6333526228249152, -2.2035098806466507, 0.05202897425988651, 0.6836861907765345,
    1.0039615758421696, -0.6179070447076008, 1.8220113633283233, -1.3204309700132935,
    -0.6615280218152191, 0.9350499881140221, 0.049054613825311656, 2.002392583645255,
    0.18851919251246557, -0.6331940901922267, -0.37756350523280824, -1.0911461176191954,
    -1.277680166386608, 0.6304114907682319, 0.5811658124128057, 1.294558819441117,
    -0.7546057912599311, 1.689107452443673, -0.2873877078086663, 1.5744082788445868,
    -0.4327858471825968, -0.735483292342275, 0.24978537155866684, 1.0314530848694723,
    0.16100957671534466, -0.5855288241233366, -1.341219714076669, -1.401520214917428,
    0.5026828498748657, 0.989713033285805, -0.1642945926252907, -1.0743648582284346,
    0.8730421526217066, -1.2803939447145731, -0.7130680950592722, 0.6210178535400985,
    -2.2501411735745918, 0.38636959756630584, -0.5816408364095031, 0.10927969747781388,
    -0.07570152622082311, 0.20211439504395987, 0.6941719367070082, -0.7583697508984092,
    1.4209820223119163, 0.726093788947765, 0.843732662303268, 1.1648639811110282,
    0.7875882217058694, 0.844078680578592, 0.07559361074288512, -1.4267738509897323,
    -0.13504510003701392, -0.7695146401767057, -1.4227417685154136, 0.25845279091298756,
])
_LOGISTIC_NOISE = np.array([
    0.345584192064786, 0.8216181435011584, 0.33043707618338714, -1.303157231604361,
    0.9053558666731177, 0.4463745723640113, -0.5369532353602852, 0.5811181041963531,
    0.36457239618607573, 0.294132496655526, 0.02842224131579679, 0.5467129866124469,
    -0.7364540870016669, -0.16290994799305278, -0.48211931267997826, 0.5988462126346276,
    0.03972210748165899, -0.2924567509650886, -0.7819084623568421, -0.2571922406188707,
    0.008142180518343508, -0.2756029052993704, 1.2940638143982073, 1.0067243153057943,
    -2.7111624789659685, -1.8890132459676727, -0.17477209205516195, -0.42219041157635356,
    0.2136429974986111, 0.21732193102256359, 2.1178387550510482, -1.1120207626922813,
    -0.37760500712699807, 2.0427716074923303, 0.6467029962018469, 0.6630633723762617,
    -0.5140063716874629, -1.6480751708556527, 0.16746474422274113, 0.10901408782154753,
    -1.2273520542445742, -0.6832266617805622, -0.07204367972722743, -0.9447516230607774,
    -0.09826996785221727, 0.09548302746945433, 0.03558623705548571, -0.5062916583143148,
    0.5937480717858228, 0.8911669542823284, 0.3208483045665637, -0.818230227390307,
    0.7316522837854408, -0.5014400184670523, 0.8791606182879853, -1.0717874168774442,
    0.9144672031287812, -0.02006345461548042, -1.2487488903344155, -0.31389947196684775,
    0.05410227877154389, 0.27279133916445375, -0.9821881249409777, -1.107373047165193,
])


def _linear_data() -> tuple[np.ndarray, np.ndarray]:
    xs = 1.5 + _LINEAR_X_NOISE
    ys = 2.0 * xs - 1.0 + 0.8 * _LINEAR_Y_NOISE
    return xs, ys


def _logistic_data() -> tuple[np.ndarray, np.ndarray]:
    labels = np.where(np.arange(N_POINTS) % 2 == 0, 1.0, -1.0)
    xs = 0.8 * labels + 0.5 + 1.2 * _LOGISTIC_NOISE
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
