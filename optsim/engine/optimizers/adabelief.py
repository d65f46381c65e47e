r"""AdaBelief (pytorch_optimizer.AdaBelief, pytorch-optimizer 4.1.0)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..base import Coefs, Info, Optimizer, Out, Rule
from ..expr import Neg, Quantity, S, T, maximum, sqrt, state_quantity
from ..hyperparams import HyperParam, adam_params, flag_param
from ..registry import OptimizerKind
from ..transforms import ema, full, lerp, select
from . import _pytorch_optimizer as pto
from .adam import adam_quantities


class AdaBeliefState(NamedTuple):
    step: int
    exp_avg: np.ndarray
    exp_avg_var: np.ndarray
    max_exp_avg_var: np.ndarray


class AdaBelief(Optimizer):
    r"""AdaBelief (Zhuang et al., NeurIPS 2020): Adam dividing by the spread of the
    gradient around its prediction m instead of by its size.

    .. math::
        m_t &= \beta_1 m_{t-1} + (1-\beta_1) g_t \\
        s_t &= \beta_2 s_{t-1} + (1-\beta_2)(g_t - m_t)^2 + \epsilon \\
        w_t &= w_{t-1} - \frac{\alpha}{1-\beta_1^t}\,
               \frac{m_t}{\sqrt{s_t}/\sqrt{1-\beta_2^t} + \epsilon}

    As ``AdaBelief``'s step: decoupled weight decay first (``weight_decouple``, by
    default; ``fixed_decay``; otherwise L2), ``exp_avg.lerp_(grad, 1 - beta1)``,
    ``exp_avg_var.mul_(beta2).addcmul_(r, r, value=1 - beta2).add_(eps)`` with
    ``r = grad - exp_avg`` (ε is added inside too), then Adam's bias-corrected step.
    ``ams_bound`` divides by the largest s so far. ``rectify`` is RAdam's rectified
    step (``n_sma_threshold``, ``degenerated_to_sgd``): the denominator is then
    √s + ε without the bias correction of s, the step is scaled by r_t once ρ_t
    reaches the threshold, before that it is SGD on m/(1 − β₁ᵗ) (or no step).
    ``adanorm``, ``adam_debias`` and ``maximize`` are not offered.

    ``effective_lr`` is α/((1−β₁ᵗ)·denom) (α·r_t/((1−β₁ᵗ)·denom) rectified,
    α/(1−β₁ᵗ) in the SGD phase) and ``direction`` is :math:`m_t`.
    """

    algorithm = "adabelief"
    reference = "pytorch_optimizer.AdaBelief"
    hyperparams = (
        *adam_params(1e-3, "running variance of the gradient around m")[:3],
        *pto.decay_params(),
        *pto.rectify_params(degenerated_to_sgd=True),
        flag_param("ams_bound", "divide by the largest s so far (as AMSGrad)"),
        HyperParam("eps", float, 1e-16, "added to s and to the denominator",
                   low=0.0, high=1.0, log=True, symbol="\u03b5"),
    )
    State = AdaBeliefState
    rescales = True
    momentum_fields = ("exp_avg",)

    def decoupled(self) -> bool:
        return pto.decoupled(self)

    def live_fields(self) -> tuple[str, ...]:
        return ("exp_avg", "exp_avg_var") + (("max_exp_avg_var",) if self.hp["ams_bound"] else ())

    def scalars(self, c: Coefs, step: int) -> Coefs:
        out = {**c, "bias_correction1": self.each(pto.debias, step, c, "beta1"),
               "bias_correction2_sqrt": self.each(pto.debias_sqrt, step, c, "beta2")}
        return pto.rectified(self, c, step, out)

    def update(self, c: Coefs, params: np.ndarray, grads: np.ndarray, state: AdaBeliefState,
               step: int, out_params: np.ndarray, out: Out, info: Info | None) -> None:
        lr, beta2, eps = c["lr"], c["beta2"], c["eps"]
        grad = pto.weight_decay(c, params, grads, out_params)
        exp_avg = lerp(state.exp_avg, grad, 1.0 - c["beta1"], out["exp_avg"])
        resid = grad - exp_avg
        var = np.multiply(state.exp_avg_var, beta2, out=out["exp_avg_var"])
        t = resid * (1.0 - beta2)
        t *= resid
        var += t
        var += eps
        second = var
        if c["ams_bound"]:
            second = np.maximum(state.max_exp_avg_var, var, out=out["max_exp_avg_var"])
        denom = np.sqrt(second)
        bc1 = c["bias_correction1"]
        if not c["rectify"]:
            denom /= c["bias_correction2_sqrt"]
            denom += eps
            step_size = lr / bc1
            np.multiply(exp_avg, -step_size, out=t)
            t /= denom
            eff = step_size / denom if info is not None else None
        else:
            denom += eps
            step_size = lr * c["rect"] / bc1
            adaptive = c["n_sma"] >= c["n_sma_threshold"]
            np.multiply(exp_avg, -step_size, out=t)
            sgd = t.copy()
            t /= denom
            moves = step_size > 0
            t = select(adaptive, t, select(moves, sgd, np.zeros_like(t)))
            eff = None
            if info is not None:
                eff = select(adaptive, step_size / denom,
                             select(moves, full(params, step_size), np.zeros_like(t)))
        out_params += t
        if info is not None:
            info.update(grad=grad, exp_avg=exp_avg, exp_avg_var=var, grad_residual=resid,
                        bias_correction1=full(params, bc1), denom=denom, effective_lr=eff)
            if c["ams_bound"]:
                info["max_exp_avg_var"] = second
            if c["rectify"]:
                info["rect"] = full(params, c["rect"])
                info["rho_t"] = full(params, c["n_sma"])
            pto.set_direction(info, c, params, exp_avg)

    # -- what the inspector shows ---------------------------------------------
    def quantities(self) -> dict[str, Quantity]:
        q = adam_quantities()
        q["exp_avg_var"], q["exp_avg_var_prev"] = state_quantity(
            "s", "belief: moving average of (g − m)², the gradient's spread around m")
        q["max_exp_avg_var"], q["max_exp_avg_var_prev"] = state_quantity(
            "s", "largest s so far (ams_bound)", sup="max")
        q["grad_residual"] = Quantity(f"g{T} \u2212 m{T}", "how far the gradient is from "
                                      "its prediction m")
        q["rect"] = Quantity(f"r{T}", "RAdam's rectification factor", scalar=True)
        q["rho_t"] = Quantity(f"\u03c1{T}", "length of the approximated simple moving average",
                              scalar=True)
        q["denom"] = Quantity("\u221as + \u03b5", "denominator")
        return q

    def _regime(self, t: int | None) -> str:
        """"adam", "rectified", "sgd" or "none" (step t; without t the rectified form)."""
        hp = self.hp
        if not hp["rectify"]:
            return "adam"
        if t is None:
            return "rectified"
        rt, n_sma = pto.rectify(hp["beta2"], hp["n_sma_threshold"],
                            1.0 if hp["degenerated_to_sgd"] else 0.0, t)
        if n_sma >= hp["n_sma_threshold"]:
            return "rectified"
        return "sgd" if rt > 0 else "none"

    def rule(self, t: int | None) -> list[Rule]:
        eqs = pto.gradient_rule(self)
        eqs.append(("exp_avg", ema("exp_avg_prev", S("grad"), "beta1"), ""))
        eqs.append(("exp_avg_var", S("beta2") * S("exp_avg_var_prev")
                    + (1 - S("beta2")) * (S("grad") - S("exp_avg")) ** 2 + S("eps"),
                    "the belief: how far g is from its prediction m"))
        skey = "exp_avg_var"
        if self.hp["ams_bound"]:
            eqs.append(("max_exp_avg_var", maximum(S("max_exp_avg_var_prev"), S("exp_avg_var")),
                        "ams_bound: never let s shrink"))
            skey = "max_exp_avg_var"
        regime = self._regime(t)
        bc1 = 1 - S("beta1") ** S("t")
        if regime == "adam":
            denom = sqrt(S(skey)) / sqrt(1 - S("beta2") ** S("t")) + S("eps")
            step = Neg(S("lr") / bc1 * S("exp_avg") / denom)
        elif regime == "rectified":
            step = Neg(S("lr") * S("rect") / bc1 * S("exp_avg") / (sqrt(S(skey)) + S("eps")))
        elif regime == "sgd":
            step = Neg(S("lr") / bc1 * S("exp_avg"))
        else:
            step = Neg(S("lr") * 0 * S("exp_avg"))
        note = {"rectified": "rectified: ρₜ has reached the threshold",
                "sgd": "ρₜ below the threshold: SGD with momentum",
                "none": "ρₜ below the threshold: no step"}.get(regime, "")
        rules = eqs + pto.apply_rule(self, step)
        if note:
            key, rhs, old = rules[-2]
            rules[-2] = (key, rhs, note + ("; " + old if old else ""))
        return rules

    def note(self) -> str:
        extras = []
        if self.hp["rectify"]:
            extras.append("Rectified: as in RAdam, it takes no adaptive step until the "
                          "average of the belief is long enough to trust.")
        if self.hp["ams_bound"]:
            extras.append("ams_bound: it divides by the largest s seen so far.")
        return " ".join([NOTE, *extras, *pto.decay_note(self)])


NOTE = (
    "AdaBelief is Adam with a different denominator: instead of the size of the "
    "gradient (the average of g²) it uses the belief s, the average of (g − m)², how "
    "far each gradient lands from the momentum m that predicted it. Where the gradient "
    "keeps its direction, s is small and the step is large; where it jumps around, s "
    "is large and the step small. On a smooth valley floor it therefore moves faster "
    "than Adam."
)

ORDER = 113
KINDS = (OptimizerKind("adabelief", AdaBelief,
                       "AdaBelief: Adam dividing by the spread of g around its prediction m",
                       title="AdaBelief"),)
