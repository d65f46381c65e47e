r"""signSGD and Signum (pytorch_optimizer.SignSGD, pytorch-optimizer 4.1.0)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..base import Coefs, Info, Optimizer, Out, Rule
from ..expr import Neg, Quantity, S, T, sign, state_quantity
from ..hyperparams import HyperParam, lr_param
from ..registry import OptimizerKind
from ..transforms import ema, full, keep_rows, lerp, select
from . import _pytorch_optimizer as pto


class SignSGDState(NamedTuple):
    step: int
    momentum_buffer: np.ndarray


class SignSGD(Optimizer):
    r"""signSGD (Bernstein et al., 2018), with momentum Signum.

    .. math::
        m_t &= \mu m_{t-1} + (1-\mu) g_t \quad (\mu > 0;\ \text{else } m_t = g_t) \\
        w_t &= w_{t-1}(1 - \alpha\lambda) - \alpha \operatorname{sign}(m_t)

    As ``SignSGD._step_per_param``: decoupled weight decay (``weight_decouple``, by
    default; otherwise L2 on the gradient), ``buf.lerp_(grad, 1 - momentum)`` when
    the momentum is positive, ``p.add_(sign(buf), alpha=-lr)``. The reference's
    default momentum is 0.9 (Signum); momentum 0 is plain signSGD, and such a run
    keeps its buffer at 0. ``maximize`` is not offered.

    ``effective_lr`` is α and ``direction`` is :math:`\operatorname{sign}(m_t)`.
    """

    algorithm = "signsgd"
    reference = "pytorch_optimizer.SignSGD"
    hyperparams = (
        lr_param(1e-3),
        HyperParam("momentum", float, 0.9,
                   "momentum μ: decay of the running average whose sign is the step "
                   "(0: signSGD, the sign of the gradient)",
                   low=0.0, high=1.0, high_open=True, symbol="\u03bc"),
        *pto.decay_params(fixed_decay=None),
    )
    State = SignSGDState
    rescales = True
    momentum_fields = ("momentum_buffer",)

    def decoupled(self) -> bool:
        return pto.decoupled(self)

    def has_momentum(self) -> bool:
        return bool(np.any(np.asarray(self.hp["momentum"]) > 0))

    def live_fields(self) -> tuple[str, ...]:
        return ("momentum_buffer",) if self.has_momentum() else ()

    def check_values(self, values: Coefs) -> None:
        if "momentum" in values and not self.has_momentum() and np.any(values["momentum"] > 0):
            raise ValueError(f"{self.name}: made without momentum, it keeps no buffer; make it "
                             "with a momentum (0 in the runs that have none) to change it per step")

    def update(self, c: Coefs, params: np.ndarray, grads: np.ndarray, state: SignSGDState,
               step: int, out_params: np.ndarray, out: Out, info: Info | None) -> None:
        lr, mu = c["lr"], c["momentum"]
        grad = pto.weight_decay(c, params, grads, out_params)
        buf = grad
        if "momentum_buffer" in out:  # some run has a momentum
            buf = lerp(state.momentum_buffer, grad, 1.0 - mu, out["momentum_buffer"])
            if type(mu) is np.ndarray:  # (one momentum: live means it is positive)
                off = mu <= 0  # signSGD rows: the gradient's sign, the buffer kept at 0
                keep_rows(buf, state.momentum_buffer, off)
                buf = select(off, grad, buf)
        u = np.sign(buf)
        t = u * -lr
        out_params += t
        if info is not None:
            info.update(grad=grad, sign_update=u, effective_lr=full(params, lr))
            if "momentum_buffer" in out:
                info["momentum_buffer"] = out["momentum_buffer"]
            pto.set_direction(info, c, params, u)

    # -- what the inspector shows ---------------------------------------------
    def quantities(self) -> dict[str, Quantity]:
        q: dict[str, Quantity] = {}
        q["momentum_buffer"], q["momentum_buffer_prev"] = state_quantity(
            "m", "momentum: moving average of gradients")
        q["sign_update"] = Quantity(f"u{T}", "the step's direction: ±1 per coordinate")
        return q

    def rule(self, t: int | None) -> list[Rule]:
        eqs = pto.gradient_rule(self)
        if self.hp["momentum"] > 0:
            eqs.append(("momentum_buffer", ema("momentum_buffer_prev", S("grad"), "momentum"),
                        "Signum: a moving average of gradients"))
            eqs.append(("sign_update", sign(S("momentum_buffer")), "keep only the sign"))
        else:
            eqs.append(("sign_update", sign(S("grad")), "keep only the gradient's sign"))
        return eqs + pto.apply_rule(self, Neg(S("lr") * S("sign_update")))

    def note(self) -> str:
        text = SIGNUM_NOTE if self.hp["momentum"] > 0 else NOTE
        return " ".join([text, *pto.decay_note(self)])


NOTE = (
    "signSGD steps by the sign of the gradient: each coordinate moves by exactly α, "
    "downhill, whatever the gradient's size. The steps never shrink near the minimum, "
    "so it ends up jumping back and forth around it at a distance of about α. With a "
    "momentum (the reference's default 0.9) it is Signum."
)
SIGNUM_NOTE = (
    "Signum is signSGD with momentum: it keeps a moving average m of the gradients and "
    "steps by the sign of m, so each coordinate moves by exactly α per step. The "
    "average smooths out noisy gradients before the sign is taken. The steps never "
    "shrink near the minimum: it ends up oscillating around it at a distance of "
    "about α. With momentum 0 it is plain signSGD."
)

ORDER = 111
KINDS = (OptimizerKind("signsgd", SignSGD,
                       "signSGD / Signum: step by the sign of the (averaged) gradient",
                       title="signSGD"),)
