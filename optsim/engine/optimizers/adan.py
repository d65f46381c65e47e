r"""Adan (pytorch_optimizer.Adan, pytorch-optimizer 4.1.0)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..base import Coefs, Info, Optimizer, Out, Rule
from ..expr import Neg, Quantity, S, T, sqrt, state_quantity
from ..hyperparams import HyperParam, beta_param, lr_param
from ..registry import OptimizerKind
from ..transforms import ema, lerp
from . import _pytorch_optimizer as pto
from .adam import adam_quantities


class AdanState(NamedTuple):
    step: int
    exp_avg: np.ndarray
    exp_avg_sq: np.ndarray
    exp_avg_diff: np.ndarray
    previous_grad: np.ndarray


class Adan(Optimizer):
    r"""Adan (Xie et al., "Adaptive Nesterov Momentum Algorithm", 2022).

    .. math::
        m_t &= \beta_1 m_{t-1} + (1-\beta_1) g_t \\
        d_t &= \beta_2 d_{t-1} + (1-\beta_2)(g_t - g_{t-1}) \\
        v_t &= \beta_3 v_{t-1} + (1-\beta_3)\,(g_t + \beta_2 (g_t - g_{t-1}))^2 \\
        w_t &= \Big(w_{t-1} - \alpha\,\frac{m_t/(1-\beta_1^t)
               + \beta_2 d_t/(1-\beta_2^t)}{\sqrt{v_t}/\sqrt{1-\beta_3^t} + \epsilon}\Big)
               \big/ (1 + \alpha\lambda)

    As ``Adan``'s step (its foreach path, the reference's on the CPU):
    ``previous_grad`` holds −g_{t−1} (−g₁ before the first step, so the first
    difference is 0); the two terms are added by two ``addcdiv_`` with
    ``-lr / (1 - beta1^t)`` and ``-lr * beta2 / (1 - beta2^t)``; weight decay is
    the paper's proximal division by 1 + αλ after the step, or with
    ``weight_decouple`` AdamW's factor 1 − αλ before it. ``max_grad_norm`` (global
    gradient clipping over all parameters), ``adanorm``, ``use_gc`` and
    ``maximize`` are not offered.

    ``effective_lr`` is α/denom, ``direction`` the numerator
    :math:`m_t/(1-\beta_1^t) + \beta_2 d_t/(1-\beta_2^t)` (plus the decay's share).
    """

    algorithm = "adan"
    reference = "pytorch_optimizer.Adan"
    hyperparams = (
        lr_param(1e-3),
        beta_param("beta1", 0.98, "β₁: decay of the average of gradients m"),
        beta_param("beta2", 0.92, "β₂: decay of the average of gradient differences d"),
        beta_param("beta3", 0.99, "β₃: decay of the average of squared corrected gradients",
                   symbol="\u03b2<sub>3</sub>"),
        *pto.decay_params(weight_decouple=False, fixed_decay=None),
        HyperParam("eps", float, 1e-8, "added to the denominator", low=0.0, high=1.0,
                   log=True, symbol="\u03b5"),
    )
    State = AdanState
    rescales = True
    momentum_fields = ("exp_avg", "exp_avg_diff")

    def decoupled(self) -> bool:
        return pto.decoupled(self)

    def scalars(self, c: Coefs, step: int) -> Coefs:
        return {**c, "bias_correction1": self.each(pto.debias, step, c, "beta1"),
                "bias_correction2": self.each(pto.debias, step, c, "beta2"),
                "bias_correction3_sqrt": self.each(pto.debias_sqrt, step, c, "beta3")}

    def update(self, c: Coefs, params: np.ndarray, grads: np.ndarray, state: AdanState,
               step: int, out_params: np.ndarray, out: Out, info: Info | None) -> None:
        lr, beta2, beta3, wd = c["lr"], c["beta2"], c["beta3"], c["weight_decay"]
        grad = grads
        previous = -grad if step == 1 else state.previous_grad  # init: grad.clone().mul_(-1)
        grad_diff = previous + grad
        exp_avg = lerp(state.exp_avg, grad, 1.0 - c["beta1"], out["exp_avg"])
        exp_avg_diff = lerp(state.exp_avg_diff, grad_diff, 1.0 - beta2, out["exp_avg_diff"])
        info_diff = grad_diff.copy() if info is not None else None
        grad_diff *= beta2
        grad_diff += grad
        exp_avg_sq = np.multiply(state.exp_avg_sq, beta3, out=out["exp_avg_sq"])
        t = grad_diff * (1.0 - beta3)
        t *= grad_diff
        exp_avg_sq += t
        denom = np.sqrt(exp_avg_sq)
        denom /= c["bias_correction3_sqrt"]
        denom += c["eps"]
        if c["weight_decouple"]:
            np.multiply(params, 1.0 - lr * wd, out=out_params)
        else:
            np.copyto(out_params, params)
        step_size = lr / c["bias_correction1"]
        diff_step_size = lr * beta2 / c["bias_correction2"]
        np.multiply(exp_avg, -step_size, out=t)
        t /= denom
        out_params += t
        np.multiply(exp_avg_diff, -diff_step_size, out=t)
        t /= denom
        out_params += t
        if not c["weight_decouple"]:
            out_params /= 1.0 + lr * wd
        np.negative(grad, out=out["previous_grad"])
        if info is not None:
            num = exp_avg / c["bias_correction1"]
            num += beta2 * exp_avg_diff / c["bias_correction2"]
            info.update(grad=grad, exp_avg=exp_avg, exp_avg_diff=exp_avg_diff,
                        exp_avg_sq=exp_avg_sq, previous_grad=out["previous_grad"],
                        grad_diff=info_diff, corrected_grad=grad_diff, numerator=num,
                        denom=denom, effective_lr=lr / denom)
            if c["weight_decouple"]:
                pto.set_direction(info, c, params, num)
            else:  # w_t = (w + step)/(1 + αλ): update = −α/denom · num − αλ/(1 + αλ)·(w + step)
                with np.errstate(divide="ignore", invalid="ignore"):
                    upd = out_params - params
                    info["direction"] = np.where(info["effective_lr"] != 0,
                                                 -upd / info["effective_lr"], num)

    # -- what the inspector shows ---------------------------------------------
    def quantities(self) -> dict[str, Quantity]:
        q = adam_quantities()
        q["exp_avg_diff"], q["exp_avg_diff_prev"] = state_quantity(
            "n", "moving average of gradient differences gₜ − gₜ₋₁")
        q["previous_grad"], q["previous_grad_prev"] = state_quantity(
            "\u2212g", "the gradient, negated (kept for the next difference)")
        q["grad_diff"] = Quantity(f"g{T} \u2212 g<sub>t\u22121</sub>", "gradient difference")
        q["corrected_grad"] = Quantity(f"\u011d{T}", "gradient plus β₂ times its difference "
                                       "(a look-ahead)")
        q["numerator"] = Quantity(f"u{T}", "the step's direction: bias-corrected m plus β₂ "
                                  "times bias-corrected n")
        q["denom"] = Quantity(f"d{T}", "denominator: √v / √(1 − β₃ᵗ) + ε")
        return q

    def rule(self, t: int | None) -> list[Rule]:
        eqs: list[Rule] = [("grad", S("raw_grad"), "")]
        if t == 1:
            eqs.append(("grad_diff", S("grad") - S("grad"), "first step: no difference yet"))
        else:
            eqs.append(("grad_diff", S("grad") + S("previous_grad_prev"),
                        "" if t else "(0 at the first step)"))
        eqs.append(("exp_avg", ema("exp_avg_prev", S("grad"), "beta1"), ""))
        eqs.append(("exp_avg_diff", ema("exp_avg_diff_prev", S("grad_diff"), "beta2"), ""))
        eqs.append(("corrected_grad", S("grad") + S("beta2") * S("grad_diff"),
                    "a look-ahead gradient (Nesterov)"))
        eqs.append(("exp_avg_sq", ema("exp_avg_sq_prev", S("corrected_grad") ** 2, "beta3"), ""))
        eqs.append(("previous_grad", Neg(S("grad")), ""))
        eqs.append(("numerator", S("exp_avg") / (1 - S("beta1") ** S("t"))
                    + S("beta2") * S("exp_avg_diff") / (1 - S("beta2") ** S("t")), ""))
        eqs.append(("denom", sqrt(S("exp_avg_sq")) / sqrt(1 - S("beta3") ** S("t")) + S("eps"),
                    ""))
        step = S("lr") * S("numerator") / S("denom")
        hp = self.hp
        if hp["weight_decay"] and not hp["weight_decouple"]:
            new = (S("w_prev") - step) / (1 + S("lr") * S("weight_decay"))
            return eqs + [("update", new - S("w_prev"),
                           "proximal weight decay: divide by 1 + α·λ"),
                          ("w", S("w_prev") + S("update"), "")]
        return eqs + pto.apply_rule(self, Neg(step))

    def note(self) -> str:
        extras = []
        if self.hp["weight_decay"] and not self.hp["weight_decouple"]:
            extras.append("Weight decay is proximal: after the step, w is divided by 1 + α·λ.")
        else:
            extras += pto.decay_note(self)
        return " ".join([NOTE, *extras])


NOTE = (
    "Adan (adaptive Nesterov momentum) adds to Adam a second momentum n of the "
    "gradient differences gₜ − gₜ₋₁: the step is the bias-corrected m plus β₂ times "
    "the bias-corrected n, which anticipates where the gradient is going. Its second "
    "moment v averages the square of the look-ahead gradient g + β₂(g − gₜ₋₁). The "
    "defaults β = (0.98, 0.92, 0.99) keep long memories."
)

ORDER = 115
KINDS = (OptimizerKind("adan", Adan,
                       "Adan: Adam with a Nesterov-like momentum of gradient differences",
                       title="Adan"),)
