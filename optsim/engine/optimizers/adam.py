r"""Adam (torch.optim.Adam), with optional AMSGrad and L2 weight decay."""

from __future__ import annotations

import operator
from typing import NamedTuple

import numpy as np

from ..base import Coefs, Info, Optimizer, Out, Rule, Stability, per_run
from ..expr import Neg, Quantity, S, T, hat, maximum, sqrt, state_quantity
from ..hyperparams import adam_params, flag_param
from ..registry import OptimizerKind
from ..transforms import (
    AMSGRAD_NOTE,
    apply_rule,
    bias_correction,
    decay_note,
    ema,
    first_weight,
    full,
    gradient_rule,
    l2,
    moments,
    second_bias_correction,
    set_direction,
)


class AdamState(NamedTuple):
    step: int
    exp_avg: np.ndarray
    exp_avg_sq: np.ndarray
    max_exp_avg_sq: np.ndarray


class Adam(Optimizer):
    r"""Adam (Kingma & Ba), with optional AMSGrad and L2 weight decay.

    .. math::
        g_t &\leftarrow g_t + \lambda w_{t-1} \\
        m_t &= \beta_1 m_{t-1} + (1-\beta_1) g_t \\
        v_t &= \beta_2 v_{t-1} + (1-\beta_2) g_t^2 \\
        \hat m_t &= m_t / (1-\beta_1^t), \quad \hat v_t = v_t / (1-\beta_2^t)
            \quad (\hat v_t = \max_{s\le t} v_s / (1-\beta_2^t) \text{ with AMSGrad}) \\
        w_t &= w_{t-1} - \gamma \hat m_t / (\sqrt{\hat v_t} + \epsilon)

    Convention: ε is added after the square root and after bias correction, as in
    torch (the paper's ε-hat variant puts it inside differently). The course text
    shows the rule without bias correction. torch computes the denominator as
    :math:`\sqrt{v_t}/\sqrt{1-\beta_2^t} + \epsilon` and the step size as
    :math:`\gamma/(1-\beta_1^t)`; so does this.

    ``effective_lr`` is :math:`\gamma / (\sqrt{\hat v_t} + \epsilon)` (= γ/``denom``),
    the factor multiplying ``direction`` = :math:`\hat m_t`.
    """

    algorithm = "adam"
    reference = "torch.optim.Adam"
    hyperparams = (
        *adam_params(1e-3),
        flag_param("amsgrad", "AMSGrad: divide by the largest v seen so far"),
    )
    State = AdamState
    rescales = True
    momentum_fields = ("exp_avg",)
    #: AdamW's decay (a class of its own)
    decoupled_weight_decay = False

    def decoupled(self) -> bool:
        return self.decoupled_weight_decay

    def stability(self, c: Coefs, state: AdamState, step: int) -> Stability:
        """Cohen et al. (2022): Adam is stable on a quadratic while the preconditioned
        sharpness λmax(P⁻¹H) < (2 + 2β₁)/((1 − β₁)·lr), with
        P = (1 − β₁^t)·(√v̂ + ε) from the state before step t (v̂ = v/(1 − β₂^(t−1));
        undefined before the first step: NaN)."""
        n = state.exp_avg.shape[0]
        lr, b1 = per_run(c["lr"], n), per_run(c["beta1"], n)
        v = state.max_exp_avg_sq if self.hp["amsgrad"] else state.exp_avg_sq
        with np.errstate(divide="ignore", invalid="ignore"):
            done = per_run(self.each(lambda b2, k: 1 - b2 ** (k - 1), step, c, "beta2"), n)
            v_hat = v / done[:, None] if step > 1 else np.full_like(v, np.nan)
        bc1 = per_run(c["bias_correction1"], n)[:, None]
        precond = bc1 * (np.sqrt(v_hat) + per_run(c["eps"], n)[:, None])
        return Stability((2 + 2 * b1) / ((1 - b1) * lr), precond,
                         "(2 + 2\u03b2\u2081)/((1 \u2212 \u03b2\u2081)\u00b7lr)")

    def live_fields(self) -> tuple[str, ...]:
        return ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if self.hp["amsgrad"] else ())

    def scalars(self, c: Coefs, step: int) -> Coefs:
        # (apart: a per-row beta1 leaves 1 − β₂ᵗ one number, not a column gathered per step)
        bc1 = self.each(bias_correction, step, c, "beta1")
        bc2, bc2_sqrt = self.each(second_bias_correction, step, c, "beta2")
        return {**c, "bias_correction1": bc1, "bias_correction2": bc2,
                "bias_correction2_sqrt": bc2_sqrt}

    def update(self, c: Coefs, params: np.ndarray, grads: np.ndarray, state: AdamState,
               step: int, out_params: np.ndarray, out: Out, info: Info | None) -> None:
        lr, wd = c["lr"], c["weight_decay"]
        decoupled = self.decoupled_weight_decay
        grad = grads if decoupled else l2(params, grads, wd)
        # per-row constants (1 − β₁, −lr) made once, not in every step of a sweep
        exp_avg, exp_avg_sq, t = moments(state, grad, c["beta1"], c["beta2"], out,
                                         self.kept("1-beta1", first_weight, c["beta1"]))
        bias_correction1 = c["bias_correction1"]
        # −(lr / bc1) as torch's value=-step_size: (−lr) / bc1 is the same number
        neg_step_size = self.kept("-lr", operator.neg, lr) / bias_correction1
        if c["amsgrad"]:
            second = np.maximum(state.max_exp_avg_sq, exp_avg_sq, out=out["max_exp_avg_sq"])
        else:
            second = exp_avg_sq
        denom = np.sqrt(second)
        denom /= c["bias_correction2_sqrt"]
        denom += c["eps"]
        np.multiply(exp_avg, neg_step_size, out=t)
        t /= denom
        if decoupled:  # param.mul_(1 - lr * weight_decay) comes first in torch
            np.multiply(params, 1 - lr * wd, out=out_params)
            out_params += t
        else:
            np.add(params, t, out=out_params)
        if info is not None:
            info.update(
                grad=grad,
                exp_avg=exp_avg,
                exp_avg_sq=exp_avg_sq,
                bias_correction1=full(params, bias_correction1),
                bias_correction2=full(params, c["bias_correction2"]),
                exp_avg_hat=exp_avg / bias_correction1,
                exp_avg_sq_hat=second / c["bias_correction2"],
                denom=denom,
                effective_lr=lr / denom,
            )
            if c["amsgrad"]:
                info["max_exp_avg_sq"] = second
            set_direction(info, params, lr, wd, info["exp_avg_hat"], decoupled)

    # -- what the inspector shows ---------------------------------------------
    def quantities(self) -> dict[str, Quantity]:
        return adam_quantities()

    def rule(self, t: int | None) -> list[Rule]:
        eqs = gradient_rule(self, decoupled_ok=True)
        eqs.append(("exp_avg", ema("exp_avg_prev", S("grad"), "beta1"), ""))
        eqs.append(("exp_avg_sq", ema("exp_avg_sq_prev", S("grad") ** 2, "beta2"), ""))
        vkey = "exp_avg_sq"
        if self.hp["amsgrad"]:
            eqs.append(("max_exp_avg_sq", maximum(S("max_exp_avg_sq_prev"), S("exp_avg_sq")),
                        "AMSGrad: never let v shrink"))
            vkey = "max_exp_avg_sq"
        eqs.append(("exp_avg_hat", S("exp_avg") / (1 - S("beta1") ** S("t")), "bias correction"))
        eqs.append(("exp_avg_sq_hat", S(vkey) / (1 - S("beta2") ** S("t")), "bias correction"))
        step = Neg(S("lr") * S("exp_avg_hat") / (sqrt(S("exp_avg_sq_hat")) + S("eps")))
        return eqs + apply_rule(self, step, decoupled_ok=True)

    def note(self) -> str:
        extras = [AMSGRAD_NOTE] if self.hp["amsgrad"] else []
        return " ".join([NOTE, *extras, *decay_note(self)])


def adam_quantities() -> dict[str, Quantity]:
    """The Adam family's quantities: moments, their bias corrections, the denominator."""
    q: dict[str, Quantity] = {}
    q["exp_avg"], q["exp_avg_prev"] = state_quantity(
        "m", "first moment m: moving average of gradients (momentum)")
    q["exp_avg_sq"], q["exp_avg_sq_prev"] = state_quantity(
        "v", "second moment v: moving average of squared gradients", "the course's dₜ")
    q["max_exp_avg_sq"], q["max_exp_avg_sq_prev"] = state_quantity(
        "v", "largest v so far (AMSGrad)", sup="max")
    q["exp_avg_hat"] = Quantity(f"{hat('m')}{T}", "bias-corrected first moment m\u0302",
                                "m / (1 − β1^t)")
    q["exp_avg_sq_hat"] = Quantity(f"{hat('v')}{T}", "bias-corrected second moment v\u0302",
                                   "v / (1 − β2^t)")
    q["bias_correction1"] = Quantity("1 \u2212 \u03b2<sub>1</sub><sup>t</sup>",
                                     "bias correction of m", scalar=True)
    q["bias_correction2"] = Quantity("1 \u2212 \u03b2<sub>2</sub><sup>t</sup>",
                                     "bias correction of v", scalar=True)
    q["denom"] = Quantity(f"\u221a{hat('v')}{T} + \u03b5", "denominator")
    return q


NOTE = (
    "Adam combines momentum with RMSProp's per-coordinate scaling: m is a moving "
    "average of gradients (the momentum) and v a moving average of squared "
    "gradients. The step follows m, with each coordinate divided by √v. Because m "
    "and v start at zero they are too small in the first steps; dividing by "
    "1 − β₁ᵗ and 1 − β₂ᵗ (the bias corrections, giving m\u0302 and v\u0302) fixes that. "
    "If you have no specific reason to use another optimizer, the course says, use Adam."
)

ORDER = 10
KINDS = (OptimizerKind("adam", Adam,
                       "Adam: momentum plus per-coordinate RMS scaling, bias-corrected",
                       title="Adam"),)
