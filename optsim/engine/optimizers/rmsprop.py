r"""RMSProp (torch.optim.RMSprop), with optional centering and momentum."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..base import Coefs, Info, Optimizer, Out, Rule, Stability, per_run
from ..expr import Neg, Quantity, S, sqrt, state_quantity
from ..hyperparams import HyperParam, eps_param, flag_param, lr_param, weight_decay_param
from ..registry import OptimizerKind
from ..transforms import (
    apply_rule,
    decay_note,
    ema,
    ema_of_squares,
    everywhere,
    full,
    gradient_rule,
    keep_rows,
    l2,
    lerp,
    select,
)


class RMSpropState(NamedTuple):
    step: int
    square_avg: np.ndarray
    grad_avg: np.ndarray
    momentum_buffer: np.ndarray


class RMSprop(Optimizer):
    r"""RMSProp (Hinton): divide by the root of a moving average of squared gradients.

    .. math::
        g_t &\leftarrow g_t + \lambda w_{t-1} \\
        v_t &= \alpha v_{t-1} + (1-\alpha) g_t^2 \\
        \bar g_t &= \alpha \bar g_{t-1} + (1-\alpha) g_t \quad\text{(centered)} \\
        a_t &= \sqrt{v_t} + \epsilon, \quad\text{or}\ \sqrt{v_t - \bar g_t^2} + \epsilon
            \ \text{(centered)} \\
        b_t &= \mu b_{t-1} + g_t / a_t, \quad w_t = w_{t-1} - \gamma b_t
            \quad\text{(momentum } \mu > 0) \\
        w_t &= w_{t-1} - \gamma g_t / a_t \quad\text{(otherwise)}

    Convention: torch calls the decay ``alpha`` (the course text writes β₂, Keras
    ``rho``), adds ε after the square root, and applies no bias correction (the
    first steps are large because :math:`v` starts at 0). Momentum accumulates the
    already-scaled gradient :math:`g/a`. A run whose momentum is 0 keeps its buffer
    at 0.

    Without momentum ``effective_lr`` is :math:`\gamma/a_t` and ``direction`` is
    :math:`g_t`; with momentum the scaling is inside the buffer, so
    ``effective_lr`` is γ and ``direction`` is :math:`b_t`. ``denom`` is :math:`a_t`.
    """

    algorithm = "rmsprop"
    reference = "torch.optim.RMSprop"
    hyperparams = (
        lr_param(1e-2),
        HyperParam("alpha", float, 0.99, "smoothing constant α of the squared-gradient average",
                   low=0.0, high=1.0, symbol="\u03b2<sub>2</sub>"),  # the course's β2
        eps_param(1e-8),
        weight_decay_param(),
        HyperParam("momentum", float, 0.0, "momentum factor μ (0: none)",
                   low=0.0, high=1.0, high_open=True, symbol="\u03bc"),
        flag_param("centered", "centered: divide by an estimate of the variance instead"),
    )
    State = RMSpropState
    rescales = True
    momentum_fields = ("momentum_buffer",)

    def has_momentum(self) -> bool:
        return bool(np.any(np.asarray(self.hp["momentum"]) > 0))

    def live_fields(self) -> tuple[str, ...]:
        return (("square_avg",) + (("grad_avg",) if self.hp["centered"] else ())
                + (("momentum_buffer",) if self.has_momentum() else ()))

    def check_values(self, values: Coefs) -> None:
        if "momentum" in values and not self.has_momentum() and np.any(values["momentum"] > 0):
            raise ValueError(f"{self.name}: made without momentum, it keeps no buffer; make it "
                             "with a momentum (0 in the runs that have none) to change it per step")
        if "momentum" in values and self.hp.get("nesterov") and np.any(values["momentum"] <= 0):
            raise ValueError(f"{self.name}: Nesterov momentum needs a momentum in (0, 1) at "
                             "every step")

    def stability(self, c: Coefs, state: RMSpropState, step: int) -> Stability:
        """With its denominator P = √v + ε frozen, RMSProp is gradient descent (with
        heavy-ball momentum μ) on P⁻¹H: stable while λmax(P⁻¹H) < (2 + 2μ)/lr. P comes
        from the state before the step (undefined before the first step: NaN)."""
        n = state.square_avg.shape[0]
        lr, mu = per_run(c["lr"], n), per_run(c["momentum"], n)
        avg = state.square_avg
        if c["centered"]:
            avg = avg - state.grad_avg * state.grad_avg
        with np.errstate(invalid="ignore"):
            precond = np.sqrt(avg) + per_run(c["eps"], n)[:, None]
        if step == 1:
            precond = np.full_like(precond, np.nan)
        formula = "(2 + 2\u03bc)/lr" if self.has_momentum() else "2/lr"
        return Stability((2 + 2 * mu) / lr, precond, formula)

    def update(self, c: Coefs, params: np.ndarray, grads: np.ndarray, state: RMSpropState,
               step: int, out_params: np.ndarray, out: Out, info: Info | None) -> None:
        lr, alpha, mu = c["lr"], c["alpha"], c["momentum"]
        grad = l2(params, grads, c["weight_decay"])
        square_avg, t = ema_of_squares(state.square_avg, grad, alpha, out["square_avg"])
        if c["centered"]:
            grad_avg = lerp(state.grad_avg, grad, 1 - alpha, out["grad_avg"])
            np.multiply(grad_avg, grad_avg, out=t)  # square_avg.addcmul(ga, ga, value=-1)
            avg = np.subtract(square_avg, t)
            np.sqrt(avg, out=avg)
        else:
            avg = np.sqrt(square_avg)
        avg += c["eps"]
        on = mu > 0
        if "momentum_buffer" in out:  # some run has a momentum
            buf = np.multiply(state.momentum_buffer, mu, out=out["momentum_buffer"])
            np.divide(grad, avg, out=t)
            buf += t
            np.multiply(buf, -lr, out=out_params)
            if type(mu) is np.ndarray and not everywhere(on):
                # the runs without momentum: the plain step, the buffer kept at 0
                plain = grad * -lr
                plain /= avg
                np.copyto(out_params, plain, where=~on)
                keep_rows(buf, state.momentum_buffer, ~on)
        else:
            np.multiply(grad, -lr, out=out_params)
            out_params /= avg
        out_params += params
        if info is not None:
            info.update(grad=grad, square_avg=square_avg, denom=avg)
            if c["centered"]:
                info["grad_avg"] = grad_avg
            if "momentum_buffer" in out:
                info.update(momentum_buffer=buf,
                            effective_lr=select(on, full(params, lr), lr / avg),
                            direction=select(on, buf, grad))
            else:
                info.update(effective_lr=lr / avg, direction=grad)

    # -- what the inspector shows ---------------------------------------------
    def quantities(self) -> dict[str, Quantity]:
        q: dict[str, Quantity] = {}
        q["square_avg"], q["square_avg_prev"] = state_quantity(
            "v", "running average of squared gradients", "the course's dₜ")
        q["grad_avg"], q["grad_avg_prev"] = state_quantity(
            "\u1e21", "running average of gradients", "centered RMSProp")
        q["momentum_buffer"], q["momentum_buffer_prev"] = state_quantity(
            "b", "momentum buffer (velocity)")
        return q

    def rule(self, t: int | None) -> list[Rule]:
        hp = self.hp
        eqs = gradient_rule(self)
        eqs.append(("square_avg", ema("square_avg_prev", S("grad") ** 2, "alpha"), ""))
        if hp["centered"]:
            eqs.append(("grad_avg", ema("grad_avg_prev", S("grad"), "alpha"),
                        "centered: also average the gradients"))
            denom = sqrt(S("square_avg") - S("grad_avg") ** 2) + S("eps")
        else:
            denom = sqrt(S("square_avg")) + S("eps")
        if hp["momentum"]:
            eqs.append(("momentum_buffer",
                        S("momentum") * S("momentum_buffer_prev") + S("grad") / denom,
                        "momentum on the rescaled gradient"))
            return eqs + apply_rule(self, Neg(S("lr") * S("momentum_buffer")))
        return eqs + apply_rule(self, Neg(S("lr") * S("grad") / denom))

    def note(self) -> str:
        extras = []
        if self.hp["centered"]:
            extras.append("Centered: it also averages the gradients and divides by their "
                          "standard deviation √(v − ḡ²) instead of √v.")
        if self.hp["momentum"]:
            extras.append("With momentum: the rescaled gradients are summed up in a buffer b, "
                          "as in SGD momentum.")
        return " ".join([NOTE, *extras, *decay_note(self)])


NOTE = (
    "RMSProp does not change the speed so much as the direction. It keeps a moving "
    "average v of the squared gradient of each coordinate and divides each "
    "coordinate of the gradient by √v (plus a tiny ε against division by zero). A "
    "coordinate with large gradients gets a smaller step, one with small gradients "
    "a larger one, so all coordinates move at similar speed. That is why, on the "
    "elongated bowl, RMSProp walks almost straight to the minimum where gradient "
    "descent curves and zig-zags."
)

ORDER = 30
KINDS = (OptimizerKind("rmsprop", RMSprop,
                       "RMSProp: divide by the root of a moving average of squared gradients",
                       title="RMSProp"),)
