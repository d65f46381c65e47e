r"""Yogi (pytorch_optimizer.Yogi, pytorch-optimizer 4.1.0)."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..base import Coefs, Info, Optimizer, Out, Rule
from ..expr import Neg, Quantity, S, sign, sqrt
from ..hyperparams import HyperParam, adam_params
from ..registry import OptimizerKind
from ..transforms import ema, lerp
from . import _pytorch_optimizer as pto
from .adam import adam_quantities


class YogiState(NamedTuple):
    step: int
    exp_avg: np.ndarray
    exp_avg_sq: np.ndarray


class Yogi(Optimizer):
    r"""Yogi (Zaheer et al., NeurIPS 2018): Adam whose second moment moves towards g²
    by a fixed fraction of g², not of the difference.

    .. math::
        m_t &= \beta_1 m_{t-1} + (1-\beta_1) g_t \\
        v_t &= v_{t-1} - (1-\beta_2)\,\operatorname{sign}(v_{t-1} - g_t^2)\, g_t^2 \\
        w_t &= w_{t-1} - \frac{\alpha}{1-\beta_1^t}\,
               \frac{m_t}{\sqrt{v_t}/\sqrt{1-\beta_2^t} + \epsilon}

    As ``Yogi``'s step (the foreach path the reference takes on the CPU): decoupled
    weight decay first (``weight_decouple``, by default; ``fixed_decay``; otherwise
    L2), ``exp_avg.lerp_(grad, 1 - beta1)``, ``exp_avg_sq.addcmul_(sign(exp_avg_sq -
    g²), g², value=-(1 - beta2))``, the denominator ``sqrt(v) / sqrt(1 - beta2^t) +
    eps`` and ``p.addcdiv_(m, denom, value=-lr / (1 - beta1^t))``. Both moments start
    at ``initial_accumulator``; ε is 1e-3, far larger than Adam's. ``adam_debias``
    and ``maximize`` are not offered.

    ``effective_lr`` is :math:`\alpha/\text{denom}`, ``direction``
    :math:`\hat m_t = m_t/(1-\beta_1^t)`.
    """

    algorithm = "yogi"
    reference = "pytorch_optimizer.Yogi"
    hyperparams = (
        *adam_params(1e-2)[:3],
        HyperParam("initial_accumulator", float, 1e-6,
                   "the value both moments start at", low=0.0, high=1e3,
                   symbol="v<sub>0</sub>"),
        *pto.decay_params(),
        HyperParam("eps", float, 1e-3, "added to the denominator (Yogi's default is large)",
                   low=0.0, high=1.0, log=True, symbol="\u03b5"),
    )
    State = YogiState
    rescales = True
    momentum_fields = ("exp_avg",)

    def decoupled(self) -> bool:
        return pto.decoupled(self)

    def initial_values(self) -> dict[str, Any]:
        v = self._coef["initial_accumulator"]
        return {"exp_avg": v, "exp_avg_sq": v}

    def scalars(self, c: Coefs, step: int) -> Coefs:
        return {**c, "bias_correction1": self.each(pto.debias, step, c, "beta1"),
                "bias_correction2_sqrt": self.each(pto.debias_sqrt, step, c, "beta2")}

    def update(self, c: Coefs, params: np.ndarray, grads: np.ndarray, state: YogiState,
               step: int, out_params: np.ndarray, out: Out, info: Info | None) -> None:
        lr, beta2 = c["lr"], c["beta2"]
        grad = pto.weight_decay(c, params, grads, out_params)
        exp_avg = lerp(state.exp_avg, grad, 1.0 - c["beta1"], out["exp_avg"])
        grad_p2 = grad * grad
        signs = np.subtract(state.exp_avg_sq, grad_p2)
        np.sign(signs, out=signs)
        t = signs * -(1.0 - beta2)
        t *= grad_p2
        exp_avg_sq = np.add(state.exp_avg_sq, t, out=out["exp_avg_sq"])
        denom = np.sqrt(exp_avg_sq)
        denom /= c["bias_correction2_sqrt"]
        denom += c["eps"]
        step_size = lr / c["bias_correction1"]
        np.multiply(exp_avg, -step_size, out=t)
        t /= denom
        out_params += t
        if info is not None:
            info.update(grad=grad, exp_avg=exp_avg, exp_avg_sq=exp_avg_sq, grad_sq=grad_p2,
                        exp_avg_hat=exp_avg / c["bias_correction1"],
                        denom=denom, effective_lr=lr / denom)
            pto.set_direction(info, c, params, info["exp_avg_hat"])

    # -- what the inspector shows ---------------------------------------------
    def quantities(self) -> dict[str, Quantity]:
        q = adam_quantities()
        q["grad_sq"] = Quantity("g<sub>t</sub><sup>2</sup>", "squared gradient")
        return q

    def rule(self, t: int | None) -> list[Rule]:
        eqs = pto.gradient_rule(self)
        eqs.append(("exp_avg", ema("exp_avg_prev", S("grad"), "beta1"), ""))
        eqs.append(("exp_avg_sq", S("exp_avg_sq_prev") - (1 - S("beta2"))
                    * sign(S("exp_avg_sq_prev") - S("grad") ** 2) * S("grad") ** 2,
                    "v moves towards g² by (1 − β₂)·g², whatever the distance"))
        denom = sqrt(S("exp_avg_sq")) / sqrt(1 - S("beta2") ** S("t")) + S("eps")
        step = Neg(S("lr") / (1 - S("beta1") ** S("t")) * S("exp_avg") / denom)
        return eqs + pto.apply_rule(self, step)

    def note(self) -> str:
        return " ".join([NOTE, *pto.decay_note(self)])


NOTE = (
    "Yogi is Adam with a different second moment v. Adam moves v towards g² by a "
    "fraction of the distance, so after a burst of large gradients v decays slowly "
    "and a large v can drop fast. Yogi moves v by (1 − β₂)·g² in the direction of g², "
    "whatever the distance, so v changes more gently and the effective learning rate "
    "cannot jump. Its ε (1e-3) is large, which caps the step at α/ε times the momentum."
)

ORDER = 112
KINDS = (OptimizerKind("yogi", Yogi,
                       "Yogi: Adam whose second moment changes additively (sign-controlled)",
                       title="Yogi"),)
