r"""Adafactor (torch.optim.Adafactor), on a vector parameter (which torch does not
factor)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..base import Coefs, Info, Optimizer, Out, Rule
from ..expr import Neg, Num, Quantity, S, T, maximum, minimum, sqrt, state_quantity
from ..hyperparams import HyperParam, lr_param
from ..registry import OptimizerKind
from ..transforms import apply_rule, full, lerp, set_direction

#: torch's ``eps1=None``: the machine epsilon of the parameter's dtype (float64 here)
FLOAT64_EPS = float(np.finfo(np.float64).eps)


class AdafactorState(NamedTuple):
    step: int
    #: the running average of squared gradients (a vector is not factored)
    variance: np.ndarray


def one_minus_beta2(beta2_decay: float, step: int) -> float:
    """torch: ``step_float ** beta2_decay``."""
    return float(step) ** beta2_decay


def relative_step(lr: float, step: int) -> float:
    """torch: ``rho_t = min(lr, 1 / (step_float ** 0.5))``."""
    return min(lr, 1 / (float(step) ** 0.5))


def row_norms(a: np.ndarray) -> np.ndarray:
    """The 2-norm of each row, as an (N, 1) column (torch's ``tensor.norm(2)``)."""
    return np.sqrt(np.einsum("ij,ij->i", a, a))[:, None]


class Adafactor(Optimizer):
    r"""Adafactor (Shazeer & Stern) as torch implements it, on a vector parameter.

    .. math::
        \hat\beta_t &= t^{c}, \quad \rho_t = \min(\gamma,\ 1/\sqrt t) \\
        a_t &= \max(\epsilon_2,\ \mathrm{RMS}(w_{t-1}))\, \rho_t \\
        w' &= w_{t-1}(1 - \gamma\lambda) \\
        v_t &= v_{t-1} + \hat\beta_t (g_t^2 - v_{t-1}) \\
        u_t &= g_t / \sqrt{\max(v_t,\ \epsilon_1^2)} \\
        w_t &= w' - \frac{a_t}{\max(1,\ \mathrm{RMS}(u_t)/d)}\, u_t

    (c = ``beta2_decay``, RMS(x) = ‖x‖/√D.) On a matrix torch keeps only the row and
    column means of v ("factored"), which is the point of Adafactor for big layers;
    on a vector, such as the D coordinates here, it keeps v whole, as here. The step
    is relative: a fraction ρₜ of the size of the weights (at least ε₂), and the
    update's RMS is clipped to d. torch's ``eps=(None, 1e-3)`` is split into
    ``eps1`` (None means the dtype's machine epsilon: 2.2e-16 in float64) and
    ``eps2``.

    ``effective_lr`` is :math:`a_t / (\max(1, \mathrm{RMS}(u_t)/d) \sqrt{\max(v_t,
    \epsilon_1^2)})`; ``direction`` is :math:`g_t` (plus the decoupled decay term).
    """

    algorithm = "adafactor"
    reference = "torch.optim.Adafactor"
    hyperparams = (
        lr_param(1e-2),
        HyperParam("beta2_decay", float, -0.8,
                   "c: the average of squared gradients forgets at rate t^c (0: never averages)",
                   low=-10.0, high=0.0, symbol="c"),
        HyperParam("eps1", float, FLOAT64_EPS,
                   "ε₁: floor of √v (torch's eps[0]; None there means the machine epsilon, "
                   "2.2e-16 in float64)", low=0.0, high=1.0, log=True,
                   symbol="\u03b5<sub>1</sub>"),
        HyperParam("eps2", float, 1e-3,
                   "ε₂: the smallest weight size the relative step is taken of (torch's eps[1])",
                   low=0.0, high=1e3, log=True, symbol="\u03b5<sub>2</sub>"),
        HyperParam("d", float, 1.0, "clipping threshold: the update's RMS is at most d",
                   low=1.0, high=1e6, symbol="d"),
        HyperParam("weight_decay", float, 0.0,
                   "decoupled weight decay: shrinks the weights by lr·weight_decay·w",
                   low=0.0, high=1e3, symbol="\u03bb"),
    )
    State = AdafactorState
    rescales = True

    def decoupled(self) -> bool:
        return True

    def scalars(self, c: Coefs, step: int) -> Coefs:
        return {**c, "one_minus_beta2_t": self.each(one_minus_beta2, step, c, "beta2_decay"),
                "rho_t": self.each(relative_step, step, c, "lr")}

    def update(self, c: Coefs, params: np.ndarray, grads: np.ndarray, state: AdafactorState,
               step: int, out_params: np.ndarray, out: Out, info: Info | None) -> None:
        lr, wd, eps1 = c["lr"], c["weight_decay"], c["eps1"]
        root = params.shape[1] ** 0.5  # param.numel() ** 0.5
        param_rms = row_norms(params) / root
        alpha = np.maximum(c["eps2"], param_rms) * c["rho_t"]
        np.multiply(params, 1 - lr * wd, out=out_params)  # (a factor of exactly 1 at wd = 0)
        t = grads * grads
        variance = lerp(state.variance, t, c["one_minus_beta2_t"], out["variance"])
        np.maximum(variance, eps1 * eps1, out=t)          # var_estimate.clamp_(min=eps1²)
        np.sqrt(t, out=t)
        np.divide(1.0, t, out=t)                           # .rsqrt_()
        t *= grads                                         # update.mul_(grad)
        update_rms = row_norms(t) / (root * c["d"])
        denom = np.maximum(1.0, update_rms)
        scale = -alpha / denom
        u = t if info is None else t.copy()
        t *= scale
        out_params += t                                    # param.add_(update, alpha=-alpha/denom)
        if info is not None:
            info.update(grad=grads, variance=variance, u=u,
                        one_minus_beta2_t=full(params, c["one_minus_beta2_t"]),
                        rho_t=full(params, c["rho_t"]), param_rms=full(params, param_rms),
                        alpha=full(params, alpha), update_rms=full(params, update_rms),
                        denom=full(params, denom),
                        effective_lr=(alpha / denom) / np.sqrt(np.maximum(variance, eps1 * eps1)))
            set_direction(info, params, lr, wd, grads, True)

    # -- what the inspector shows ---------------------------------------------
    def quantities(self) -> dict[str, Quantity]:
        q: dict[str, Quantity] = {}
        q["variance"], q["variance_prev"] = state_quantity(
            "v", "running average of squared gradients", "torch's variance (not factored)")
        q["one_minus_beta2_t"] = Quantity(f"\u03b2\u0302{T}", "weight of the new g²",
                                          "1 − β₂ at step t: t^c", scalar=True)
        q["rho_t"] = Quantity(f"\u03c1{T}", "relative step size", scalar=True)
        q["param_rms"] = Quantity("RMS(w<sub>t\u22121</sub>)", "size of the weights",
                                  "‖w‖/√D", scalar=True)
        q["alpha"] = Quantity(f"a{T}", "step size: a fraction ρ of the weights' size",
                              scalar=True)
        q["u"] = Quantity(f"u{T}", "the gradient divided by √v (torch's update)")
        q["update_rms"] = Quantity(f"RMS(u{T})/d", "size of u relative to d", "‖u‖/(√D·d)",
                                   scalar=True)
        q["denom"] = Quantity(f"c{T}", "update clipping", "> 1 when RMS(u) > d", scalar=True)
        return q

    def rule(self, t: int | None) -> list[Rule]:
        eqs: list[Rule] = [("grad", S("raw_grad"), "")]
        eqs.append(("one_minus_beta2_t", S("t") ** S("beta2_decay"), "1 at the first step"))
        eqs.append(("rho_t", minimum(S("lr"), 1 / sqrt(S("t"))), ""))
        eqs.append(("alpha", maximum(S("eps2"), S("param_rms")) * S("rho_t"),
                    "relative to the weights' size"))
        eqs.append(("variance", S("variance_prev")
                    + S("one_minus_beta2_t") * (S("grad") ** 2 - S("variance_prev")), ""))
        eqs.append(("u", S("grad") / sqrt(maximum(S("variance"), S("eps1") * S("eps1"))), ""))
        eqs.append(("denom", maximum(Num.of(1), S("update_rms")), "clip the update's RMS to d"))
        step = Neg(S("alpha") / S("denom") * S("u"))
        return eqs + apply_rule(self, step, decoupled_ok=True)

    def note(self) -> str:
        return NOTE


NOTE = (
    "Adafactor was made to save memory on big matrices: it keeps only row and column "
    "averages of the squared gradients. On a vector, like the point here, torch keeps "
    "the whole average v, so it divides each coordinate by √v like RMSProp, with an "
    "average that forgets more and more slowly (weight t^−0.8). The step size is "
    "relative: a fraction ρ = min(lr, 1/√t) of the weights' RMS size, and an update "
    "whose RMS exceeds d is scaled down."
)

ORDER = 84
KINDS = (OptimizerKind("adafactor", Adafactor,
                       "Adafactor: RMS-scaled steps relative to the weights' size (a vector is "
                       "not factored)", title="Adafactor"),)
