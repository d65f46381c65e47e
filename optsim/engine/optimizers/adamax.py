r"""Adamax (torch.optim.Adamax)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..base import Coefs, Info, Optimizer, Out, Rule
from ..expr import Neg, Quantity, S, absolute, maximum, state_quantity
from ..hyperparams import adam_params
from ..registry import OptimizerKind
from ..transforms import apply_rule, bias_correction, decay_note, ema, full, gradient_rule, l2, lerp
from .adam import adam_quantities


class AdamaxState(NamedTuple):
    step: int
    exp_avg: np.ndarray
    exp_inf: np.ndarray


class Adamax(Optimizer):
    r"""Adamax (Kingma & Ba): Adam with the infinity norm in place of the RMS.

    .. math::
        g_t &\leftarrow g_t + \lambda w_{t-1} \\
        m_t &= \beta_1 m_{t-1} + (1-\beta_1) g_t \\
        u_t &= \max(\beta_2 u_{t-1},\ |g_t| + \epsilon) \\
        w_t &= w_{t-1} - \frac{\gamma}{1-\beta_1^t}\, m_t / u_t

    Convention: torch adds ε to :math:`|g_t|` inside the max (the paper has no ε);
    :math:`u_t` needs no bias correction.

    ``effective_lr`` is :math:`\gamma/u_t`; ``direction`` is
    :math:`\hat m_t = m_t/(1-\beta_1^t)`.
    """

    algorithm = "adamax"
    reference = "torch.optim.Adamax"
    hyperparams = (
        *adam_params(2e-3, "running maximum of |gradient|"),
    )
    State = AdamaxState
    rescales = True
    momentum_fields = ("exp_avg",)

    def scalars(self, c: Coefs, step: int) -> Coefs:
        return {**c, "bias_correction1": self.each(bias_correction, step, c, "beta1")}

    def update(self, c: Coefs, params: np.ndarray, grads: np.ndarray, state: AdamaxState,
               step: int, out_params: np.ndarray, out: Out, info: Info | None) -> None:
        lr = c["lr"]
        grad = l2(params, grads, c["weight_decay"])
        exp_avg = lerp(state.exp_avg, grad, 1 - c["beta1"], out["exp_avg"])
        exp_inf = np.multiply(state.exp_inf, c["beta2"], out=out["exp_inf"])
        t = np.abs(grad)
        t += c["eps"]
        np.maximum(exp_inf, t, out=exp_inf)
        bc = c["bias_correction1"]
        clr = lr / bc
        np.multiply(exp_avg, -clr, out=out_params)
        out_params /= exp_inf
        out_params += params
        if info is not None:
            hat = exp_avg / bc
            info.update(grad=grad, exp_avg=exp_avg, exp_inf=exp_inf,
                        bias_correction1=full(params, bc), exp_avg_hat=hat,
                        denom=exp_inf, effective_lr=lr / exp_inf, direction=hat)

    # -- what the inspector shows ---------------------------------------------
    def quantities(self) -> dict[str, Quantity]:
        q = adam_quantities()
        del q["denom"]  # adamax divides by u_t itself
        q["exp_inf"], q["exp_inf_prev"] = state_quantity(
            "u", "infinity norm: decayed maximum of |g|")
        return q

    def rule(self, t: int | None) -> list[Rule]:
        eqs = gradient_rule(self)
        eqs.append(("exp_avg", ema("exp_avg_prev", S("grad"), "beta1"), ""))
        eqs.append(("exp_inf", maximum(S("beta2") * S("exp_inf_prev"),
                                       absolute(S("grad")) + S("eps")),
                    "the largest recent |g| instead of an average of g²"))
        step = Neg(S("lr") / (1 - S("beta1") ** S("t")) * S("exp_avg") / S("exp_inf"))
        return eqs + apply_rule(self, step)

    def note(self) -> str:
        return " ".join([NOTE, *decay_note(self)])


NOTE = (
    "Adamax is Adam with the average of squared gradients replaced by a decayed "
    "maximum u of the gradient's size |g|. Each coordinate is divided by the largest "
    "recent gradient size instead of by √v, which is more robust to a single huge "
    "gradient. The momentum m and its bias correction are as in Adam."
)

ORDER = 40
KINDS = (OptimizerKind("adamax", Adamax,
                       "Adamax: Adam with a decaying maximum of |gradient| instead of the RMS",
                       title="Adamax"),)
