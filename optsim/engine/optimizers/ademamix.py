r"""AdEMAMix (pytorch_optimizer.AdEMAMix, pytorch-optimizer 4.1.0)."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..base import Coefs, Info, Optimizer, Out, Rule
from ..expr import Neg, Quantity, S, T, sqrt, state_quantity
from ..hyperparams import HyperParam, adam_params, beta_param
from ..registry import OptimizerKind
from ..transforms import ema, full, lerp
from . import _pytorch_optimizer as pto
from .adam import adam_quantities


class AdEMAMixState(NamedTuple):
    step: int
    exp_avg: np.ndarray
    exp_avg_sq: np.ndarray
    exp_avg_slow: np.ndarray


def alpha_schedule(alpha: float, t_alpha_beta3: float, step: int) -> float:
    """``schedule_alpha``: a of step ``step`` (0 stands for the reference's None)."""
    return alpha if t_alpha_beta3 == 0 else min(step * alpha / t_alpha_beta3, alpha)


def beta3_schedule(beta1: float, beta3: float, t_alpha_beta3: float, step: int) -> float:
    """``schedule_beta3``: β₃ of step ``step``, from β₁ towards β₃ (0: no warm-up)."""
    if t_alpha_beta3 == 0:
        return beta3
    log_beta1, log_beta3 = math.log(beta1), math.log(beta3)
    return min(math.exp(log_beta1 * log_beta3 / ((1.0 - step / t_alpha_beta3) * log_beta3
                                                  + (step / t_alpha_beta3) * log_beta1)),
               beta3)


class AdEMAMix(Optimizer):
    r"""AdEMAMix (Pagliardini et al., "The AdEMAMix Optimizer: Better, Faster, Older",
    2024): Adam plus a second, much slower momentum.

    .. math::
        m_t &= \beta_1 m_{t-1} + (1-\beta_1) g_t, \quad
        s_t = \beta_3 s_{t-1} + (1-\beta_3) g_t \\
        v_t &= \beta_2 v_{t-1} + (1-\beta_2) g_t^2 \\
        w_t &= w_{t-1} - \alpha\,\frac{m_t/(1-\beta_1^t) + a\, s_t}
               {\sqrt{v_t}/\sqrt{1-\beta_2^t} + \epsilon}

    As ``AdEMAMix``'s step (its foreach path, the reference's on the CPU): weight
    decay first (L2 by default; ``weight_decouple``, ``fixed_decay``); the slow
    momentum ``exp_avg_slow`` is not bias-corrected; ``alpha`` (a) weighs it.
    ``t_alpha_beta3`` warms a up linearly and β₃ from β₁ over that many steps (0 here
    stands for the reference's None: no warm-up). ``cautious``, ``stable_adamw`` and
    ``maximize`` are not offered.

    ``effective_lr`` is α/denom and ``direction`` the numerator (plus the decay's share).
    """

    algorithm = "ademamix"
    reference = "pytorch_optimizer.AdEMAMix"
    hyperparams = (
        *adam_params(1e-3)[:3],
        beta_param("beta3", 0.9999, "β₃: decay of the slow momentum (a long memory)",
                   symbol="\u03b2<sub>3</sub>"),
        *pto.decay_params(weight_decouple=False),
        HyperParam("alpha", float, 5.0, "weight a of the slow momentum against the fast one",
                   low=0.0, high=1e3, symbol="a"),
        HyperParam("t_alpha_beta3", float, 0.0,
                   "steps over which a and β₃ warm up (0: none, the reference's None)",
                   low=0.0, high=1e9),
        *adam_params(1e-3)[3:4],
    )
    State = AdEMAMixState
    rescales = True
    momentum_fields = ("exp_avg", "exp_avg_slow")

    def decoupled(self) -> bool:
        return pto.decoupled(self)

    def check(self) -> None:
        hp = self.hp
        warm = np.asarray(hp["t_alpha_beta3"]) > 0
        if np.any(warm & ((np.asarray(hp["beta1"]) == 0) | (np.asarray(hp["beta3"]) == 0))):
            raise ValueError(f"{self.name}: the warm-up (t_alpha_beta3 > 0) goes from beta1 to "
                             "beta3 on a log scale: both must be in (0, 1)")

    def scalars(self, c: Coefs, step: int) -> Coefs:
        return {**c, "bias_correction1": self.each(pto.debias, step, c, "beta1"),
                "bias_correction2_sqrt": self.each(pto.debias_sqrt, step, c, "beta2"),
                "alpha_t": self.each(alpha_schedule, step, c, "alpha", "t_alpha_beta3"),
                "beta3_t": self.each(beta3_schedule, step, c, "beta1", "beta3",
                                     "t_alpha_beta3")}

    def update(self, c: Coefs, params: np.ndarray, grads: np.ndarray, state: AdEMAMixState,
               step: int, out_params: np.ndarray, out: Out, info: Info | None) -> None:
        lr, beta2 = c["lr"], c["beta2"]
        grad = pto.weight_decay(c, params, grads, out_params)
        exp_avg = lerp(state.exp_avg, grad, 1.0 - c["beta1"], out["exp_avg"])
        exp_avg_sq = np.multiply(state.exp_avg_sq, beta2, out=out["exp_avg_sq"])
        t = grad * (1.0 - beta2)
        t *= grad
        exp_avg_sq += t
        slow = lerp(state.exp_avg_slow, grad, 1.0 - c["beta3_t"], out["exp_avg_slow"])
        denom = np.sqrt(exp_avg_sq)
        denom /= c["bias_correction2_sqrt"]
        denom += c["eps"]
        num = exp_avg / c["bias_correction1"]
        np.multiply(slow, c["alpha_t"], out=t)
        num += t
        np.multiply(num, -lr, out=t)
        t /= denom
        out_params += t
        if info is not None:
            info.update(grad=grad, exp_avg=exp_avg, exp_avg_sq=exp_avg_sq, exp_avg_slow=slow,
                        numerator=num, denom=denom, effective_lr=lr / denom)
            info["alpha_t"] = full(params, c["alpha_t"])
            info["beta3_t"] = full(params, c["beta3_t"])
            pto.set_direction(info, c, params, num)

    # -- what the inspector shows ---------------------------------------------
    def quantities(self) -> dict[str, Quantity]:
        q = adam_quantities()
        q["exp_avg_slow"], q["exp_avg_slow_prev"] = state_quantity(
            "s", "slow momentum: a moving average of gradients with β₃ (no bias correction)")
        q["numerator"] = Quantity(f"u{T}", "the step's direction: m\u0302 + a·s")
        q["denom"] = Quantity(f"d{T}", "denominator: √v / √(1 − β₂ᵗ) + ε")
        q["alpha_t"] = Quantity(f"a{T}", "the slow momentum's weight at step t", scalar=True)
        q["beta3_t"] = Quantity("\u03b2<sub>3,t</sub>", "the slow momentum's decay at step t",
                                scalar=True)
        return q

    def rule(self, t: int | None) -> list[Rule]:
        warm = bool(self.hp["t_alpha_beta3"])
        a, b3 = ("alpha_t", "beta3_t") if warm else ("alpha", "beta3")
        eqs = pto.gradient_rule(self)
        eqs.append(("exp_avg", ema("exp_avg_prev", S("grad"), "beta1"), "the fast momentum"))
        eqs.append(("exp_avg_sq", ema("exp_avg_sq_prev", S("grad") ** 2, "beta2"), ""))
        eqs.append(("exp_avg_slow", ema("exp_avg_slow_prev", S("grad"), b3),
                    "the slow momentum" + (" (β₃ warming up)" if warm else "")))
        eqs.append(("numerator", S("exp_avg") / (1 - S("beta1") ** S("t")) + S(a) * S("exp_avg_slow"),
                    "mix the fast and the slow momentum"))
        eqs.append(("denom", sqrt(S("exp_avg_sq")) / sqrt(1 - S("beta2") ** S("t")) + S("eps"), ""))
        return eqs + pto.apply_rule(self, Neg(S("lr") * S("numerator") / S("denom")))

    def note(self) -> str:
        return " ".join([NOTE, *pto.decay_note(self)])


NOTE = (
    "AdEMAMix is Adam with a second, much slower momentum s (β₃ = 0.9999, a memory of "
    "some ten thousand steps) added to the step with weight a = 5. The fast momentum m "
    "follows the recent gradients while s keeps pointing where the gradients have "
    "pointed for a long time. Old gradients thus keep pulling the run along long after "
    "Adam has forgotten them. On a short run s is still tiny, since it starts at 0 and "
    "is not bias-corrected."
)

ORDER = 116
KINDS = (OptimizerKind("ademamix", AdEMAMix,
                       "AdEMAMix: Adam plus a much slower second momentum",
                       title="AdEMAMix"),)
