r"""QHAdam (pytorch_optimizer.QHAdam, pytorch-optimizer 4.1.0)."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..base import Coefs, Info, Optimizer, Out, Rule
from ..expr import Neg, Quantity, S, T, float32, sqrt, state_quantity
from ..hyperparams import HyperParam, adam_params
from ..registry import OptimizerKind
from ..transforms import select
from . import _pytorch_optimizer as pto
from .adam import adam_quantities

_F32 = np.float32


class QHAdamState(NamedTuple):
    step: int
    beta1_weight: np.ndarray
    beta2_weight: np.ndarray
    exp_avg: np.ndarray
    exp_avg_sq: np.ndarray


def _nu(name: str, help: str) -> HyperParam:
    sub = name[-1]
    return HyperParam(name, float, 1.0, help, low=0.0, high=1.0,
                      symbol=f"\u03bd<sub>{sub}</sub>")


class QHAdam(Optimizer):
    r"""QHAdam (Ma & Yarats, "Quasi-hyperbolic momentum and Adam", ICLR 2019).

    .. math::
        b_{1,t} &= \beta_1 b_{1,t-1} + 1, \quad m_t = m_{t-1} + (g_t - m_{t-1})/b_{1,t} \\
        b_{2,t} &= \beta_2 b_{2,t-1} + 1, \quad v_t = v_{t-1} + (g_t^2 - v_{t-1})/b_{2,t} \\
        w_t &= w_{t-1} - \alpha\,\frac{(1-\nu_1) g_t + \nu_1 m_t}
               {\sqrt{(1-\nu_2) g_t^2 + \nu_2 v_t} + \epsilon}

    As ``QHAdam``'s step (the foreach path the reference takes on the CPU): weight
    decay first (L2 by default, ``weight_decouple``, ``fixed_decay``); the moving
    averages are bias-corrected by their weights b (``beta1_weight``,
    ``beta2_weight``: 1 + β + β² + ..., kept in float32 by the reference, and so
    here), with ``lerp_`` by 1/b; the numerator and denominator mix the averages with
    the current gradient by ν₁ and ν₂ (ν = 1, the default, is Adam). ``maximize`` is
    not offered.

    ``effective_lr`` is α/denom and ``direction`` the mixed numerator.
    """

    algorithm = "qhadam"
    reference = "pytorch_optimizer.QHAdam"
    hyperparams = (
        *adam_params(1e-3)[:3],
        _nu("nu1", "ν₁: weight of the momentum m against the current gradient (1: Adam)"),
        _nu("nu2", "ν₂: weight of the average v against the current g² (1: Adam)"),
        *pto.decay_params(weight_decouple=False),
        *adam_params(1e-3)[3:4],
    )
    State = QHAdamState
    rescales = True
    momentum_fields = ("exp_avg",)

    def decoupled(self) -> bool:
        return pto.decoupled(self)

    def update(self, c: Coefs, params: np.ndarray, grads: np.ndarray, state: QHAdamState,
               step: int, out_params: np.ndarray, out: Out, info: Info | None) -> None:
        lr, nu1, nu2 = c["lr"], c["nu1"], c["nu2"]
        grad = pto.weight_decay(c, params, grads, out_params)
        # the weights in float32: w.mul_(beta).add_(1.0), then reciprocal, to float64
        w1 = _bias_weight(state.beta1_weight, c["beta1"], out["beta1_weight"])
        w2 = _bias_weight(state.beta2_weight, c["beta2"], out["beta2_weight"])
        exp_avg = _lerp_by(state.exp_avg, grad, w1, out["exp_avg"])
        grad_p2 = grad * grad
        exp_avg_sq = _lerp_by(state.exp_avg_sq, grad_p2, w2, out["exp_avg_sq"])
        rms = exp_avg_sq * nu2
        t = grad_p2 * (1.0 - nu2)
        t += rms
        rms = select(nu2 != 1.0, t, rms)
        np.sqrt(rms, out=rms)
        rms += c["eps"]
        num = exp_avg * nu1
        t = grad * (1.0 - nu1)
        num += t
        num = select(nu1 != 1.0, num, exp_avg)
        t = num * -lr
        t /= rms
        out_params += t
        if info is not None:
            info.update(grad=grad, exp_avg=exp_avg, exp_avg_sq=exp_avg_sq,
                        beta1_weight=out["beta1_weight"], beta2_weight=out["beta2_weight"],
                        numerator=num, denom=rms, effective_lr=lr / rms)
            pto.set_direction(info, c, params, num)

    # -- what the inspector shows ---------------------------------------------
    def quantities(self) -> dict[str, Quantity]:
        q = adam_quantities()
        q["beta1_weight"], q["beta1_weight_prev"] = state_quantity(
            "b<sub>1</sub>", "weight of m: 1 + β₁ + β₁² + … (its bias correction)")
        q["beta2_weight"], q["beta2_weight_prev"] = state_quantity(
            "b<sub>2</sub>", "weight of v: 1 + β₂ + β₂² + …")
        q["numerator"] = Quantity(f"n{T}", "the step's direction: (1 − ν₁)·g + ν₁·m")
        q["denom"] = Quantity(f"d{T}", "denominator: √((1 − ν₂)·g² + ν₂·v) + ε")
        return q

    def rule(self, t: int | None) -> list[Rule]:
        eqs = pto.gradient_rule(self)
        for k in ("1", "2"):
            w = float32(float32(float32(S("beta" + k)) * S(f"beta{k}_weight_prev")) + 1)
            eqs.append((f"beta{k}_weight", w, "rounded to float32 (fl₃₂), as the reference "
                        "keeps it" if k == "1" else ""))
        eqs.append(("exp_avg", S("exp_avg_prev") + float32(1 / S("beta1_weight"))
                    * (S("grad") - S("exp_avg_prev")), "a bias-corrected average of gradients"))
        eqs.append(("exp_avg_sq", S("exp_avg_sq_prev") + float32(1 / S("beta2_weight"))
                    * (S("grad") ** 2 - S("exp_avg_sq_prev")), "a bias-corrected average of g²"))
        hp = self.hp
        num = S("exp_avg") if hp["nu1"] == 1 else \
            (1 - S("nu1")) * S("grad") + S("nu1") * S("exp_avg")
        eqs.append(("numerator", num, "quasi-hyperbolic: mix m with the gradient"))
        second = S("exp_avg_sq") if hp["nu2"] == 1 else \
            (1 - S("nu2")) * S("grad") ** 2 + S("nu2") * S("exp_avg_sq")
        eqs.append(("denom", sqrt(second) + S("eps"), ""))
        return eqs + pto.apply_rule(self, Neg(S("lr") * S("numerator") / S("denom")))

    def note(self) -> str:
        return " ".join([NOTE, *pto.decay_note(self)])


def _bias_weight(previous: np.ndarray, beta: Any, out: np.ndarray) -> np.ndarray:
    """``w.mul_(beta).add_(1.0)`` on a float32 tensor into ``out`` (float64, exact);
    returns ``w.reciprocal()`` as float64 (the lerp weight)."""
    b = np.asarray(beta, dtype=np.float64).astype(_F32)
    w = previous.astype(_F32)
    np.multiply(w, b, out=w)
    w += _F32(1.0)
    np.copyto(out, w)
    return np.reciprocal(w).astype(np.float64)


def _lerp_by(start: np.ndarray, end: np.ndarray, weight: np.ndarray,
             out: np.ndarray) -> np.ndarray:
    """torch.lerp with a weight per element (one per row here)."""
    np.subtract(end, start, out=out)
    low = weight < 0.5
    near_start = out * weight
    near_start += start
    out *= 1.0 - weight
    np.subtract(end, out, out=out)
    np.copyto(out, near_start, where=low)
    return out


NOTE = (
    "QHAdam (quasi-hyperbolic Adam) steps along a mix of the momentum m and the "
    "current gradient, weighted ν₁ and 1 − ν₁, and divides by a mix of v and g² "
    "weighted ν₂. With ν₁ = ν₂ = 1 (the reference's defaults) it is Adam; the paper "
    "suggests ν₁ = 0.7 with β₁ = 0.999, which keeps a long memory but reacts at once "
    "to a new gradient. The averages are bias-corrected by their weights 1 + β + β² + …."
)

ORDER = 114
KINDS = (OptimizerKind("qhadam", QHAdam,
                       "QHAdam: Adam stepping along a mix of momentum and current gradient",
                       title="QHAdam"),)
