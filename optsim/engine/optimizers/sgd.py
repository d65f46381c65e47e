r"""SGD, with optional momentum, dampening and Nesterov (torch.optim.SGD), and its
named variants: ``momentum``, ``nesterov`` and the course's ``ema-momentum``."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..base import Coefs, Info, Optimizer, Out, Rule, Stability, per_run
from ..expr import Neg, Quantity, S, state_quantity
from ..hyperparams import HyperParam, flag_param, lr_param, weight_decay_param
from ..registry import OptimizerKind
from ..transforms import apply_rule, decay_note, ema, full, gradient_rule, keep_rows, l2, select


class SGDState(NamedTuple):
    step: int
    momentum_buffer: np.ndarray


class SGD(Optimizer):
    r"""Stochastic gradient descent, with optional momentum, dampening, Nesterov.

    .. math::
        g_t &\leftarrow g_t + \lambda w_{t-1} \\
        b_1 &= g_1, \quad b_t = \mu b_{t-1} + (1-\tau) g_t \\
        d_t &= g_t + \mu b_t \ \text{(nesterov)}, \quad\text{else}\ d_t = b_t \\
        w_t &= w_{t-1} - \gamma d_t

    With ``momentum = 0``, :math:`d_t = g_t`. Convention: this is torch's
    "heavy-ball" form, where the buffer accumulates gradients and the learning rate
    scales the whole buffer. The course text's moving average
    :math:`m_t = \beta m_{t-1} + (1-\beta) g_t` is the case ``dampening = momentum``
    (``ema-momentum``): same direction, steps 1/(1−β) times smaller. Sutskever's
    form :math:`v \leftarrow \mu v - \gamma g` equals this one for a constant lr.
    Note that torch (and so this) starts the buffer at :math:`g_1`, not at
    :math:`(1-\tau) g_1`. A run whose momentum is 0 keeps its buffer at 0.

    ``effective_lr`` is γ; ``direction`` is :math:`d_t`.
    """

    algorithm = "sgd"
    reference = "torch.optim.SGD"
    hyperparams = (
        lr_param(1e-3),
        HyperParam("momentum", float, 0.0, "momentum factor μ: how much of the last step is kept",
                   low=0.0, high=1.0, high_open=True, symbol="\u03bc"),
        HyperParam("dampening", float, 0.0,
                   "dampening τ for momentum: the new gradient is scaled by (1 − τ)",
                   low=0.0, high=1.0, symbol="\u03c4"),
        flag_param("nesterov", "Nesterov momentum: look ahead along the momentum buffer"),
        weight_decay_param(),
    )
    State = SGDState
    momentum_fields = ("momentum_buffer",)

    def check(self) -> None:
        hp = self.hp
        mu, tau = np.asarray(hp["momentum"]), np.asarray(hp["dampening"])
        if hp["nesterov"] and not ((mu > 0).all() and (tau == 0).all()):
            raise ValueError(
                f"{self.name}: Nesterov momentum requires a momentum and zero dampening: "
                f"nesterov=true needs momentum in (0, 1) and dampening = 0, got "
                f"momentum={mu.min():g}, dampening={tau.max():g}"
            )

    def stability(self, c: Coefs, state: SGDState, step: int) -> Stability:
        """Gradient descent is stable on a quadratic while lr·λ < 2; heavy-ball momentum
        μ widens it to 2 + 2μ, dampening τ scales the step by 1 − τ, Nesterov's look-ahead
        narrows it to (2 + 2μ)/(1 + 2μ); L2 decay λ_wd adds λ_wd to every curvature."""
        n = state.momentum_buffer.shape[0]
        lr, mu, tau = per_run(c["lr"], n), per_run(c["momentum"], n), per_run(c["dampening"], n)
        if self.hp["nesterov"]:
            limit, formula = (2 + 2 * mu) / (1 + 2 * mu) / lr, "(2 + 2\u03bc)/((1 + 2\u03bc)\u00b7lr)"
        else:
            limit = (2 + 2 * mu) / ((1 - tau) * lr)
            formula = "2/lr" if not self.has_momentum() else "(2 + 2\u03bc)/((1 \u2212 \u03c4)\u00b7lr)"
        return Stability(limit - per_run(c["weight_decay"], n), None, formula)

    def live_fields(self) -> tuple[str, ...]:
        return ("momentum_buffer",) if self.has_momentum() else ()

    def has_momentum(self) -> bool:
        return bool(np.any(np.asarray(self.hp["momentum"]) != 0))

    def check_values(self, values: Coefs) -> None:
        if "momentum" in values and not self.has_momentum() and np.any(values["momentum"] != 0):
            raise ValueError(f"{self.name}: made without momentum, it keeps no buffer; make it "
                             "with a momentum (0 in the runs that have none) to change it per step")
        if "momentum" in values and self.hp.get("nesterov") and np.any(values["momentum"] <= 0):
            raise ValueError(f"{self.name}: Nesterov momentum needs a momentum in (0, 1) at "
                             "every step")

    def update(self, c: Coefs, params: np.ndarray, grads: np.ndarray, state: SGDState,
               step: int, out_params: np.ndarray, out: Out, info: Info | None) -> None:
        lr, mu = c["lr"], c["momentum"]
        grad = l2(params, grads, c["weight_decay"])
        direction = grad
        if "momentum_buffer" in out:  # some run has a momentum
            buf = out["momentum_buffer"]
            if step == 1:
                np.copyto(buf, grad)
            else:
                np.multiply(state.momentum_buffer, mu, out=buf)
                t = grad * (1 - c["dampening"])
                buf += t
            if c["nesterov"]:
                direction = buf * mu
                direction += grad
            else:
                direction = buf
            if type(mu) is np.ndarray:  # (one momentum: live means it is not 0)
                off = mu == 0  # runs without momentum: the plain gradient, the buffer kept at 0
                direction = select(off, grad, direction)
                keep_rows(buf, state.momentum_buffer, off)
        np.multiply(direction, -lr, out=out_params)
        out_params += params
        if info is not None:
            info.update(grad=grad, direction=direction, effective_lr=full(params, lr))
            if "momentum_buffer" in out:
                info["momentum_buffer"] = out["momentum_buffer"]

    # -- what the inspector shows ---------------------------------------------
    def _is_ema(self) -> bool:
        """The course's moving average: dampening = momentum."""
        hp = self.hp
        return hp["momentum"] != 0 and hp["dampening"] == hp["momentum"]

    def quantities(self) -> dict[str, Quantity]:
        if self._is_ema():
            now, prev = state_quantity("m", "momentum: moving average of past gradients",
                                       "the course's mₜ")
        else:
            now, prev = state_quantity("b", "momentum buffer (velocity)",
                                       "sum of past gradients, each decayed by μ")
        return {"momentum_buffer": now, "momentum_buffer_prev": prev}

    def rule(self, t: int | None) -> list[Rule]:
        hp = self.hp
        eqs = gradient_rule(self)
        if hp["momentum"] == 0:
            return eqs + apply_rule(self, Neg(S("lr") * S("grad")))
        first = "first step: the buffer starts as the gradient"
        if self._is_ema():
            update = ema("momentum_buffer_prev", S("grad"), "momentum")
        elif hp["dampening"] == 0:
            update = S("momentum") * S("momentum_buffer_prev") + S("grad")
        else:
            update = S("momentum") * S("momentum_buffer_prev") + (1 - S("dampening")) * S("grad")
        if t == 1:
            eqs.append(("momentum_buffer", S("grad"), first))
        else:
            eqs.append(("momentum_buffer", update, "" if t else f"from step 2 on ({first})"))
        if hp["nesterov"]:
            eqs.append(("direction", S("grad") + S("momentum") * S("momentum_buffer"),
                        "Nesterov: look ahead along the buffer"))
            return eqs + apply_rule(self, Neg(S("lr") * S("direction")))
        return eqs + apply_rule(self, Neg(S("lr") * S("momentum_buffer")))

    def note(self) -> str:
        hp = self.hp
        if hp["momentum"] == 0:
            text = PLAIN_NOTE
        elif hp["nesterov"]:
            text = MOMENTUM_NOTE.split(". ")[0] + ". " + NESTEROV_NOTE
        elif self._is_ema():
            text = EMA_NOTE
        else:
            text = MOMENTUM_NOTE
        return " ".join([text, *decay_note(self)])


PLAIN_NOTE = (
    "Plain gradient descent has no memory: each step looks only at the gradient "
    "where the ball is now. It subtracts the gradient, scaled by the learning rate "
    "α, from the position. The arrow of the step therefore always points straight "
    "downhill, at right angles to the contour lines. On an elongated bowl this "
    "makes it zig-zag across the narrow direction while it crawls along the long one."
)
MOMENTUM_NOTE = (
    "Momentum gives gradient descent a memory: it keeps a buffer b of past "
    "gradients, each one decayed by μ (about 0.9) every step, and steps along that "
    "buffer instead of along the gradient alone. Like a ball rolling downhill it "
    "builds up speed where the gradients keep pointing the same way, so it arrives "
    "faster, and it can roll through a small dip or a local minimum. The price is "
    "that it overshoots and needs time to turn around. This is PyTorch's form: the "
    "learning rate scales the whole buffer, so steps get up to 1/(1−μ) times longer "
    "than plain gradient descent's."
)
EMA_NOTE = (
    "This is momentum as the course writes it: m is a moving average of past "
    "gradients, m = β·m + (1−β)·g with β about 0.9, and the step follows m instead "
    "of the current gradient. Like PyTorch, the first m is simply the first "
    "gradient. The average remembers where the gradients have been pointing, so "
    "the ball keeps going through flat parts and small dips, but it also overshoots "
    "and needs some steps to turn around. Compared with PyTorch's SGD momentum it "
    "points the same way with steps 1/(1−β) times shorter."
)
NESTEROV_NOTE = (
    "Nesterov momentum is momentum that looks ahead: it first moves along the "
    "momentum buffer and then adds the gradient, so the step reacts earlier when "
    "the buffer is about to carry the ball past the minimum. It overshoots less "
    "than plain momentum and turns around faster."
)

ORDER = 0
KINDS = (
    OptimizerKind("sgd", SGD, "plain (stochastic) gradient descent", title="SGD"),
    OptimizerKind("momentum", SGD, "SGD with heavy-ball momentum 0.9 (torch's form)",
                  {"momentum": 0.9}, title="Momentum"),
    OptimizerKind("nesterov", SGD, "SGD with Nesterov momentum 0.9",
                  {"momentum": 0.9, "nesterov": True}, title="Nesterov"),
    OptimizerKind("ema-momentum", SGD,
                  "the course's moving-average momentum: m = βm + (1−β)g (dampening = momentum)",
                  {"momentum": 0.9, "dampening": 0.9}, tied={"dampening": "momentum"},
                  title="EMA momentum"),
)
