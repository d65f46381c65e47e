r"""Adadelta (torch.optim.Adadelta)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..base import Coefs, Info, Optimizer, Out, Rule
from ..expr import Neg, Quantity, S, T, sqrt, state_quantity
from ..hyperparams import HyperParam, eps_param, lr_param, weight_decay_param
from ..registry import OptimizerKind
from ..transforms import apply_rule, decay_note, ema, ema_of_squares, gradient_rule, l2


class AdadeltaState(NamedTuple):
    step: int
    square_avg: np.ndarray
    acc_delta: np.ndarray


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler): a step in the units of the parameters, no tuning of lr needed.

    .. math::
        g_t &\leftarrow g_t + \lambda w_{t-1} \\
        v_t &= \rho v_{t-1} + (1-\rho) g_t^2 \\
        \Delta_t &= \frac{\sqrt{u_{t-1} + \epsilon}}{\sqrt{v_t + \epsilon}}\, g_t \\
        u_t &= \rho u_{t-1} + (1-\rho) \Delta_t^2 \\
        w_t &= w_{t-1} - \gamma \Delta_t

    Convention: the paper has no learning rate (γ = 1, torch's default); ε goes
    inside both square roots (unlike Adam/RMSProp), and it is what makes the very
    first steps non-zero, so the default 1e-6 sets the initial step size. The
    average of squared steps :math:`u` holds :math:`\Delta`, before γ: a schedule
    that changes γ scales the steps taken, not what is remembered (as torch).

    ``effective_lr`` is :math:`\gamma\sqrt{u_{t-1}+\epsilon}/\sqrt{v_t+\epsilon}`;
    ``direction`` is :math:`g_t`. ``std`` and ``delta_scale`` are the two roots,
    ``delta`` is :math:`\Delta_t`.
    """

    algorithm = "adadelta"
    reference = "torch.optim.Adadelta"
    hyperparams = (
        lr_param(1.0),
        HyperParam("rho", float, 0.9, "ρ: decay of the running averages", low=0.0, high=1.0,
                   symbol="\u03c1"),
        eps_param(1e-6),
        weight_decay_param(),
    )
    State = AdadeltaState
    rescales = True

    def update(self, c: Coefs, params: np.ndarray, grads: np.ndarray, state: AdadeltaState,
               step: int, out_params: np.ndarray, out: Out, info: Info | None) -> None:
        lr, rho, eps = c["lr"], c["rho"], c["eps"]
        grad = l2(params, grads, c["weight_decay"])
        square_avg, t = ema_of_squares(state.square_avg, grad, rho, out["square_avg"])
        std = np.add(square_avg, eps)
        np.sqrt(std, out=std)
        delta = np.add(state.acc_delta, eps)
        np.sqrt(delta, out=delta)
        scale = delta.copy() if info is not None else None
        delta /= std
        delta *= grad
        acc_delta = np.multiply(state.acc_delta, rho, out=out["acc_delta"])
        np.multiply(delta, 1 - rho, out=t)
        t *= delta
        acc_delta += t
        np.multiply(delta, -lr, out=out_params)
        out_params += params
        if info is not None:
            info.update(grad=grad, square_avg=square_avg, acc_delta=acc_delta, std=std,
                        denom=std, delta_scale=scale, delta=delta, effective_lr=lr * scale / std,
                        direction=grad)

    # -- what the inspector shows ---------------------------------------------
    def quantities(self) -> dict[str, Quantity]:
        q: dict[str, Quantity] = {}
        q["square_avg"], q["square_avg_prev"] = state_quantity(
            "v", "running average of squared gradients")
        q["acc_delta"], q["acc_delta_prev"] = state_quantity(
            "u", "running average of squared updates")
        q["delta"] = Quantity(f"\u03b4{T}", "rescaled step (before lr)")
        return q

    def rule(self, t: int | None) -> list[Rule]:
        eqs = gradient_rule(self)
        eqs.append(("square_avg", ema("square_avg_prev", S("grad") ** 2, "rho"), ""))
        eqs.append(("delta", sqrt(S("acc_delta_prev") + S("eps")) / sqrt(S("square_avg") + S("eps"))
                    * S("grad"), "units: the RMS of past updates over the RMS of gradients"))
        eqs.append(("acc_delta", ema("acc_delta_prev", S("delta") ** 2, "rho"), ""))
        return eqs + apply_rule(self, Neg(S("lr") * S("delta")))

    def note(self) -> str:
        return " ".join([NOTE, *decay_note(self)])


NOTE = (
    "Adadelta is an adaptive method without a real learning rate: it divides the "
    "gradient by the RMS of recent gradients, like RMSProp, and multiplies it by the "
    "RMS of recent updates. So each step has the units of the parameters. The lr "
    "(default 1) only scales the result."
)

ORDER = 70
KINDS = (OptimizerKind("adadelta", Adadelta,
                       "Adadelta: steps sized by a running average of past steps, lr 1",
                       title="Adadelta"),)
