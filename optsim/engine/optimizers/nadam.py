r"""NAdam (torch.optim.NAdam), with L2 or decoupled weight decay."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..base import Coefs, Info, Optimizer, Out, Rule
from ..expr import Expr, Neg, Quantity, S, T, sqrt, state_quantity
from ..hyperparams import HyperParam, adam_params, flag_param
from ..registry import OptimizerKind
from ..transforms import (
    apply_rule,
    bias_correction,
    decay,
    decay_note,
    ema,
    full,
    gradient_rule,
    moments,
    set_direction,
)
from .adam import adam_quantities


def momentum_schedule(beta1: float, psi: float, beta2: float,
                      step: int) -> tuple[float, float, float]:
    """μ_t, μ_(t+1) and 1 − β₂ᵗ, as torch computes them."""
    return (beta1 * (1.0 - 0.5 * (0.96 ** (step * psi))),
            beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * psi))),
            bias_correction(beta2, step))


class NAdamState(NamedTuple):
    step: int
    exp_avg: np.ndarray
    exp_avg_sq: np.ndarray
    mu_product: np.ndarray


class NAdam(Optimizer):
    r"""NAdam (Dozat): Adam with Nesterov momentum and a momentum schedule.

    .. math::
        \mu_t &= \beta_1 (1 - \tfrac12\, 0.96^{t\psi}), \quad
            \Pi_t = \textstyle\prod_{s\le t} \mu_s \\
        m_t, v_t &\ \text{as in Adam} \\
        w_t &= w_{t-1} - \gamma \Big( \frac{1-\mu_t}{1-\Pi_t} g_t
            + \frac{\mu_{t+1}}{1-\Pi_t\mu_{t+1}} m_t \Big)
            \Big/ \Big( \sqrt{v_t/(1-\beta_2^t)} + \epsilon \Big)

    (ψ = ``momentum_decay``.) Weight decay: L2 (:math:`g_t \leftarrow g_t + \lambda w`)
    or, with ``decoupled_weight_decay``, :math:`w \leftarrow w(1-\gamma\lambda)` first
    (as AdamW). Convention: torch's rule, with the schedule :math:`\mu_t` of the
    paper; Keras' Nadam uses a fixed β₁ instead. ``mu_product`` :math:`\Pi_t` is kept
    per coordinate (it is the same everywhere) so that it is recorded like any state.

    ``effective_lr`` is γ/``denom``; ``direction`` is the bracket, the
    Nesterov-corrected momentum (plus :math:`\lambda\,\mathrm{denom}\,w` with
    decoupled weight decay). ``grad_coef`` and ``exp_avg_coef`` are its two factors.
    """

    algorithm = "nadam"
    reference = "torch.optim.NAdam"
    hyperparams = (
        *adam_params(2e-3),
        HyperParam("momentum_decay", float, 4e-3, "ψ: how fast the momentum schedule warms up",
                   low=0.0, high=1e3, symbol="\u03c8"),
        flag_param("decoupled_weight_decay", "decoupled weight decay, as AdamW (NAdamW)"),
    )
    State = NAdamState
    rescales = True
    momentum_fields = ("exp_avg",)

    def decoupled(self) -> bool:
        return bool(self.hp["decoupled_weight_decay"])

    def initial_values(self) -> dict[str, Any]:
        return {"mu_product": 1.0}

    def scalars(self, c: Coefs, step: int) -> Coefs:
        mu, mu_next, bc2 = self.each(momentum_schedule, step, c, "beta1", "momentum_decay",
                                     "beta2")
        return {**c, "bias_correction2": bc2, "mu": mu, "mu_next": mu_next}

    def update(self, c: Coefs, params: np.ndarray, grads: np.ndarray, state: NAdamState,
               step: int, out_params: np.ndarray, out: Out, info: Info | None) -> None:
        lr, wd = c["lr"], c["weight_decay"]
        mu, mu_next, bias_correction2 = c["mu"], c["mu_next"], c["bias_correction2"]
        grad = decay(params, grads, lr, wd, c["decoupled_weight_decay"], out_params)
        mu_product = np.multiply(state.mu_product, mu, out=out["mu_product"])
        exp_avg, exp_avg_sq, t = moments(state, grad, c["beta1"], c["beta2"], out)
        denom = np.divide(exp_avg_sq, bias_correction2)
        np.sqrt(denom, out=denom)
        mu_product_next = mu_product * mu_next
        denom += c["eps"]
        # param.addcdiv_(grad, denom, value=-lr (1 - mu) / (1 - mu_product))
        grad_coef = np.subtract(1.0, mu_product)
        np.divide(-lr * (1.0 - mu), grad_coef, out=grad_coef)
        np.multiply(grad_coef, grad, out=t)
        t /= denom
        out_params += t
        # param.addcdiv_(exp_avg, denom, value=-lr mu_next / (1 - mu_product_next))
        avg_coef = np.subtract(1.0, mu_product_next, out=mu_product_next)
        np.divide(-lr * mu_next, avg_coef, out=avg_coef)
        np.multiply(avg_coef, exp_avg, out=t)
        t /= denom
        out_params += t
        if info is not None:
            gc = (1.0 - mu) / (1.0 - mu_product)
            ac = mu_next / (1.0 - mu_product * mu_next)
            info.update(grad=grad, exp_avg=exp_avg, exp_avg_sq=exp_avg_sq, mu_product=mu_product,
                        mu=full(params, mu), mu_next=full(params, mu_next),
                        bias_correction2=full(params, bias_correction2),
                        exp_avg_sq_hat=exp_avg_sq / bias_correction2, denom=denom,
                        grad_coef=gc, exp_avg_coef=ac, effective_lr=lr / denom)
            base = gc * grad + ac * exp_avg
            set_direction(info, params, lr, wd, base, c["decoupled_weight_decay"])

    # -- what the inspector shows ---------------------------------------------
    def quantities(self) -> dict[str, Quantity]:
        q = adam_quantities()
        q["mu_product"], q["mu_product_prev"] = state_quantity(
            "\u03a0", "product of the momentum coefficients μ₁…μₜ")
        q["mu_product"] = Quantity(q["mu_product"].symbol, q["mu_product"].name, scalar=True)
        q["mu"] = Quantity(f"\u03bc{T}", "momentum coefficient of this step", scalar=True)
        q["mu_next"] = Quantity("\u03bc<sub>t+1</sub>", "momentum coefficient of the next step",
                                scalar=True)
        return q

    def rule(self, t: int | None) -> list[Rule]:
        eqs = gradient_rule(self, decoupled_ok=True)

        def mu_at(tt: Expr) -> Expr:
            return S("beta1") * (1 - 0.5 * 0.96 ** (tt * S("momentum_decay")))

        eqs.append(("mu", mu_at(S("t")), "momentum warms up over the first steps"))
        eqs.append(("mu_next", mu_at(S("t") + 1), ""))
        eqs.append(("mu_product", S("mu_product_prev") * S("mu"), ""))
        eqs.append(("exp_avg", ema("exp_avg_prev", S("grad"), "beta1"), ""))
        eqs.append(("exp_avg_sq", ema("exp_avg_sq_prev", S("grad") ** 2, "beta2"), ""))
        eqs.append(("exp_avg_sq_hat", S("exp_avg_sq") / (1 - S("beta2") ** S("t")),
                    "bias correction"))
        den = sqrt(S("exp_avg_sq_hat")) + S("eps")
        step = (Neg(S("lr") * (1 - S("mu")) / (1 - S("mu_product")) * S("grad") / den)
                - S("lr") * S("mu_next") / (1 - S("mu_product") * S("mu_next")) * S("exp_avg") / den)
        return eqs + apply_rule(self, step, decoupled_ok=True)

    def note(self) -> str:
        return " ".join([NOTE, *decay_note(self)])


NOTE = (
    "NAdam is Adam with Nesterov momentum: the step mixes the current gradient and "
    "the momentum m, as if looking ahead along m. Its momentum coefficient μ warms "
    "up over the first steps. Each coordinate is still divided by √v\u0302, like in Adam "
    "and RMSProp."
)

ORDER = 50
KINDS = (OptimizerKind("nadam", NAdam,
                       "NAdam: Adam with Nesterov momentum and a warming-up momentum schedule",
                       title="NAdam"),)
