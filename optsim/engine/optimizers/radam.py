r"""RAdam (torch.optim.RAdam), with L2 or decoupled weight decay."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..base import Coefs, Info, Optimizer, Out, Rule
from ..expr import Neg, Quantity, S, T, sqrt
from ..hyperparams import adam_params, flag_param
from ..registry import OptimizerKind
from ..transforms import (
    apply_rule,
    bias_correction,
    decay,
    decay_note,
    ema,
    everywhere,
    full,
    gradient_rule,
    moments,
    nowhere,
    select,
    set_direction,
)
from .adam import adam_quantities


class RAdamState(NamedTuple):
    step: int
    exp_avg: np.ndarray
    exp_avg_sq: np.ndarray


def rectification(beta1: float, beta2: float,
                  step: int) -> tuple[float, float, float, float, float, float]:
    """RAdam's per-step scalars, as torch computes them: 1 − β₁ᵗ, 1 − β₂ᵗ, its root,
    ρ_∞, ρ_t and the rectification r_t (1 while ρ_t ≤ 5)."""
    bias_correction1 = bias_correction(beta1, step)
    bias_correction2 = bias_correction(beta2, step)
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
    rect = 1.0
    if rho_t > 5.0:
        rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
    return bias_correction1, bias_correction2, bias_correction2**0.5, rho_inf, rho_t, rect


class RAdam(Optimizer):
    r"""RAdam (Liu et al.): Adam with a rectified, warm-up-free adaptive rate.

    .. math::
        m_t, v_t, \hat m_t &\ \text{as in Adam} \\
        \rho_\infty &= 2/(1-\beta_2) - 1, \quad
            \rho_t = \rho_\infty - 2 t \beta_2^t / (1-\beta_2^t) \\
        r_t &= \sqrt{\frac{(\rho_t-4)(\rho_t-2)\rho_\infty}{(\rho_\infty-4)(\rho_\infty-2)\rho_t}},
            \quad l_t = \frac{\sqrt{1-\beta_2^t}}{\sqrt{v_t} + \epsilon} \\
        w_t &= w_{t-1} - \gamma\, \hat m_t\, l_t\, r_t \quad (\rho_t > 5), \qquad
            w_t = w_{t-1} - \gamma\, \hat m_t \quad\text{(otherwise: SGD with momentum)}

    Weight decay: L2, or with ``decoupled_weight_decay`` :math:`w \leftarrow
    w(1-\gamma\lambda)` first. Convention: torch's threshold is ρ_t > 5 (the paper
    uses 4); ε is added after the square root.

    ``effective_lr`` is :math:`\gamma l_t r_t` (γ while ρ_t ≤ 5); ``direction`` is
    :math:`\hat m_t` (plus the decoupled decay term). ``rect`` is :math:`r_t`,
    ``adaptive_lr`` :math:`l_t` (both 1 while ρ_t ≤ 5), ``rho_t`` :math:`\rho_t`.
    """

    algorithm = "radam"
    reference = "torch.optim.RAdam"
    hyperparams = (
        *adam_params(1e-3),
        flag_param("decoupled_weight_decay", "decoupled weight decay, as AdamW"),
    )
    State = RAdamState
    rescales = True
    momentum_fields = ("exp_avg",)

    def decoupled(self) -> bool:
        return bool(self.hp["decoupled_weight_decay"])

    def scalars(self, c: Coefs, step: int) -> Coefs:
        bc1, bc2, bc2_sqrt, rho_inf, rho_t, rect = self.each(rectification, step, c,
                                                             "beta1", "beta2")
        return {**c, "bias_correction1": bc1, "bias_correction2": bc2, "bias_correction2_sqrt": bc2_sqrt,
                "rho_inf": rho_inf, "rho_t": rho_t, "rect": rect}

    def update(self, c: Coefs, params: np.ndarray, grads: np.ndarray, state: RAdamState,
               step: int, out_params: np.ndarray, out: Out, info: Info | None) -> None:
        lr, wd, rect = c["lr"], c["weight_decay"], c["rect"]
        grad = decay(params, grads, lr, wd, c["decoupled_weight_decay"], out_params)
        exp_avg, exp_avg_sq, t = moments(state, grad, c["beta1"], c["beta2"], out)
        hat = np.divide(exp_avg, c["bias_correction1"])
        np.multiply(hat, lr, out=t)
        rectified = c["rho_t"] > 5.0
        adaptive = None
        if not nowhere(rectified):
            adaptive = np.sqrt(exp_avg_sq)
            adaptive += c["eps"]
            np.divide(c["bias_correction2_sqrt"], adaptive, out=adaptive)
            if everywhere(rectified):
                t *= adaptive
                t *= rect
            else:  # the others take the plain momentum step, lr·m̂
                scaled = t * adaptive
                scaled *= rect
                np.copyto(t, scaled, where=rectified)
        out_params -= t
        if info is not None:
            info.update(grad=grad, exp_avg=exp_avg, exp_avg_sq=exp_avg_sq,
                        bias_correction1=full(params, c["bias_correction1"]),
                        bias_correction2=full(params, c["bias_correction2"]),
                        exp_avg_hat=hat, rho_inf=full(params, c["rho_inf"]),
                        rho_t=full(params, c["rho_t"]), rect=full(params, rect))
            if adaptive is None:
                info.update(adaptive_lr=full(params, 1.0), effective_lr=full(params, lr))
            else:
                info.update(adaptive_lr=select(rectified, adaptive, full(params, 1.0)),
                            effective_lr=select(rectified, lr * adaptive * rect,
                                                full(params, lr)))
            set_direction(info, params, lr, wd, hat, c["decoupled_weight_decay"])

    # -- what the inspector shows ---------------------------------------------
    def quantities(self) -> dict[str, Quantity]:
        q = adam_quantities()
        q["rho_inf"] = Quantity("\u03c1<sub>\u221e</sub>", "maximum length of the approximated SMA",
                                scalar=True)
        q["rho_t"] = Quantity(f"\u03c1{T}", "length of the approximated SMA at step t",
                              scalar=True)
        q["rect"] = Quantity(f"r{T}", "variance rectification term", scalar=True)
        return q

    def rectified(self, t: int) -> bool:
        """Whether step ``t`` takes the rectified adaptive step (ρ_t > 5)."""
        return rectification(self.hp["beta1"], self.hp["beta2"], t)[4] > 5.0

    def rule(self, t: int | None) -> list[Rule]:
        eqs = gradient_rule(self, decoupled_ok=True)
        eqs.append(("exp_avg", ema("exp_avg_prev", S("grad"), "beta1"), ""))
        eqs.append(("exp_avg_sq", ema("exp_avg_sq_prev", S("grad") ** 2, "beta2"), ""))
        eqs.append(("exp_avg_hat", S("exp_avg") / (1 - S("beta1") ** S("t")), "bias correction"))
        eqs.append(("rho_inf", 2 / (1 - S("beta2")) - 1, ""))
        eqs.append(("rho_t", S("rho_inf") - 2 * S("t") * S("beta2") ** S("t")
                    / (1 - S("beta2") ** S("t")), ""))
        rect_rule = sqrt((S("rho_t") - 4) * (S("rho_t") - 2) * S("rho_inf")
                         / ((S("rho_inf") - 4) * (S("rho_inf") - 2) * S("rho_t")))
        adaptive = Neg(S("lr") * S("exp_avg_hat") * S("rect") * sqrt(1 - S("beta2") ** S("t"))
                       / (sqrt(S("exp_avg_sq")) + S("eps")))
        plain = Neg(S("lr") * S("exp_avg_hat"))
        if t is None:
            eqs.append(("rect", rect_rule, "when ρₜ > 5"))
            eqs.append(("update", adaptive, "when ρₜ > 5: rectified adaptive step"))
            eqs.append(("update", plain, "when ρₜ ≤ 5 (the first steps): momentum only"))
            eqs.append(("w", S("w_prev") + S("update"), ""))
            if self.hp["weight_decay"] and self.decoupled():
                eqs[-3:-1] = [(k, Neg(S("lr") * S("weight_decay") * S("w_prev")) + e, n)
                              for k, e, n in eqs[-3:-1]]
            return eqs
        if self.rectified(t):
            eqs.append(("rect", rect_rule, "ρₜ > 5: the variance estimate is usable"))
            return eqs + apply_rule(self, adaptive, decoupled_ok=True)
        return eqs + [(k, e, n or "ρₜ ≤ 5: too few steps to trust v, momentum only")
                      for k, e, n in apply_rule(self, plain, decoupled_ok=True)]

    def note(self) -> str:
        return " ".join([NOTE, *decay_note(self)])


NOTE = (
    "RAdam (rectified Adam) fixes Adam's unreliable first steps: when only a few "
    "squared gradients have been averaged, v is a poor estimate, so RAdam takes "
    "plain momentum steps (m\u0302 times α). Once the estimate is trustworthy (ρₜ > 5) it "
    "switches to Adam's per-coordinate scaling, multiplied by a rectification "
    "factor rₜ that grows towards 1. So it starts like SGD with momentum and "
    "ends up like Adam, without a hand-tuned warm-up."
)

ORDER = 60
KINDS = (OptimizerKind("radam", RAdam,
                       "RAdam: Adam whose adaptive rate is switched on gradually (rectified)",
                       title="RAdam"),)
