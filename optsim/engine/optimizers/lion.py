r"""Lion (pytorch_optimizer.Lion, pytorch-optimizer 4.1.0)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..base import Coefs, Info, Optimizer, Out, Rule
from ..expr import Neg, Quantity, S, T, sign, state_quantity
from ..hyperparams import beta_param, lr_param
from ..registry import OptimizerKind
from ..transforms import ema, full, lerp
from . import _pytorch_optimizer as pto


class LionState(NamedTuple):
    step: int
    exp_avg: np.ndarray


class Lion(Optimizer):
    r"""Lion (Chen et al., "Symbolic Discovery of Optimization Algorithms", 2023).

    .. math::
        c_t &= \beta_1 m_{t-1} + (1-\beta_1) g_t \\
        u_t &= \operatorname{sign}(c_t) \\
        m_t &= \beta_2 m_{t-1} + (1-\beta_2) g_t \\
        w_t &= w_{t-1}(1 - \alpha\lambda) - \alpha u_t

    As ``Lion._step_per_param`` (and its foreach twin): decoupled weight decay first
    (``weight_decouple``, by default; ``fixed_decay``: w shrinks by λ·w; otherwise
    L2 on the gradient), ``update = exp_avg.lerp(grad, 1 - beta1).sign_()``,
    ``exp_avg.lerp_(grad, 1 - beta2)``, ``p.add_(update, alpha=-lr)``. The
    reference's extra keyword options ``use_gc``, ``adanorm`` and ``cautious`` and
    its ``maximize`` are not offered.

    ``effective_lr`` is α and ``direction`` is :math:`u_t` (plus the decay's share).
    """

    algorithm = "lion"
    reference = "pytorch_optimizer.Lion"
    hyperparams = (
        lr_param(1e-4),
        beta_param("beta1", 0.9, "β₁: weight of the momentum in the interpolation whose sign "
                   "is the step"),
        beta_param("beta2", 0.99, "β₂: decay of the momentum (the running average of "
                   "gradients)"),
        *pto.decay_params(),
    )
    State = LionState
    rescales = True
    momentum_fields = ("exp_avg",)

    def decoupled(self) -> bool:
        return pto.decoupled(self)

    def update(self, c: Coefs, params: np.ndarray, grads: np.ndarray, state: LionState,
               step: int, out_params: np.ndarray, out: Out, info: Info | None) -> None:
        lr = c["lr"]
        grad = pto.weight_decay(c, params, grads, out_params)
        interp = lerp(state.exp_avg, grad, 1.0 - c["beta1"], np.empty_like(params))
        u = np.sign(interp) if info is not None else np.sign(interp, out=interp)
        exp_avg = lerp(state.exp_avg, grad, 1.0 - c["beta2"], out["exp_avg"])
        t = u * -lr
        out_params += t
        if info is not None:
            info.update(grad=grad, exp_avg=exp_avg, interp=interp, sign_update=u,
                        effective_lr=full(params, lr))
            pto.set_direction(info, c, params, u)

    # -- what the inspector shows ---------------------------------------------
    def quantities(self) -> dict[str, Quantity]:
        q: dict[str, Quantity] = {}
        q["exp_avg"], q["exp_avg_prev"] = state_quantity(
            "m", "momentum: moving average of gradients (decay β₂)")
        q["interp"] = Quantity(f"c{T}", "interpolation of momentum and gradient (weight β₁)")
        q["sign_update"] = Quantity(f"u{T}", "the step's direction: the sign of c, ±1 per "
                                    "coordinate")
        return q

    def rule(self, t: int | None) -> list[Rule]:
        eqs = pto.gradient_rule(self)
        eqs.append(("interp", ema("exp_avg_prev", S("grad"), "beta1"),
                    "interpolate the momentum and the gradient"))
        eqs.append(("sign_update", sign(S("interp")), "keep only the sign"))
        eqs.append(("exp_avg", ema("exp_avg_prev", S("grad"), "beta2"),
                    "the momentum itself decays more slowly"))
        return eqs + pto.apply_rule(self, Neg(S("lr") * S("sign_update")))

    def note(self) -> str:
        return " ".join([NOTE, *pto.decay_note(self)])


NOTE = (
    "Lion: only the sign of an interpolated momentum; every coordinate moves by exactly "
    "lr. It mixes the momentum m with the new gradient (weight β₁ = 0.9 on m), keeps "
    "only the sign of each coordinate of that mix, and steps by α along it, so every "
    "step has the same length whatever the gradient's size. The momentum itself is "
    "updated afterwards with the slower β₂ = 0.99. Its learning rate is therefore "
    "typically 3 to 10 times smaller than Adam's."
)

ORDER = 110
KINDS = (OptimizerKind("lion", Lion,
                       "Lion: the sign of an interpolated momentum, every coordinate moves by lr",
                       title="Lion"),)
