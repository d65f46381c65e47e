r"""MADGRAD (pytorch_optimizer.MADGRAD, pytorch-optimizer 4.1.0)."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..base import Coefs, Info, Optimizer, Out, Rule
from ..expr import Quantity, S, T, state_quantity
from ..hyperparams import HyperParam, lr_param
from ..registry import OptimizerKind
from ..transforms import full, keep_rows, l2, lerp, nowhere, select
from . import _pytorch_optimizer as pto


class MADGRADState(NamedTuple):
    step: int
    grad_sum_sq: np.ndarray
    s: np.ndarray
    x0: np.ndarray


class MADGRAD(Optimizer):
    r"""MADGRAD (Defazio & Jelassi, "Adaptivity without Compromise: A Momentumized,
    Adaptive, Dual Averaged Gradient Method", 2021).

    .. math::
        \lambda_t &= (\alpha + \epsilon)\sqrt{t} \\
        \nu_t &= \nu_{t-1} + \lambda_t g_t^2, \quad s_t = s_{t-1} + \lambda_t g_t \\
        z_t &= x_0 - s_t / (\nu_t^{1/3} + \epsilon) \\
        w_t &= \mu\, w_{t-1} + (1-\mu)\, z_t

    As ``MADGRAD``'s step (its foreach path, the reference's on the CPU): a dual
    average. The sums ν (``grad_sum_sq``) and s weigh the gradients by a growing
    λ_t, the point z is the start x₀ moved by the whole weighted sum s, scaled by
    the cube root of ν; the momentum μ averages the iterate towards z. The
    learning rate used is α + ε (0 when α is 0). Without momentum the reference
    keeps no x₀ and recovers it each step from w and the old sums; a run with
    momentum 0 does the same here. L2 weight decay by default;
    ``weight_decouple`` subtracts (α + ε)·λ·w_{t−1} after the step. With ε = 0 a
    zero cube root becomes ∞ as in the reference. ``maximize`` and sparse
    gradients are not offered.

    ``effective_lr`` is 1 and ``direction`` is −(w_t − w_{t−1}): the step is no
    learning rate times a direction but a move towards z.
    """

    algorithm = "madgrad"
    reference = "pytorch_optimizer.MADGRAD"
    hyperparams = (
        lr_param(1e-3),
        HyperParam("momentum", float, 0.9, "momentum μ: how much of the old iterate is kept "
                   "when moving towards z", low=0.0, high=1.0, high_open=True,
                   symbol="\u03bc"),
        *pto.decay_params(weight_decouple=False, fixed_decay=None),
        HyperParam("eps", float, 1e-6, "added to the cube root and to the learning rate",
                   low=0.0, high=1.0, log=True, symbol="\u03b5"),
    )
    State = MADGRADState
    rescales = True
    #: none: its memory is the dual average s, anchored at the start; zeroing s would
    #: send the step back towards x₀, not show a momentum's share
    momentum_fields = ()

    def decoupled(self) -> bool:
        return pto.decoupled(self)

    def init(self, params: np.ndarray) -> MADGRADState:
        p = np.array(params, dtype=np.float64)
        return MADGRADState(0, np.zeros_like(p), np.zeros_like(p), p)

    def live_fields(self) -> tuple[str, ...]:
        return ("grad_sum_sq", "s")  # x0 is the start, never changed

    def scalars(self, c: Coefs, step: int) -> Coefs:
        lr = c["lr"]
        if type(lr) is np.ndarray:
            lr = np.where(lr != 0.0, lr + c["eps"], 0.0)
        else:
            lr = lr + c["eps"] if lr != 0.0 else 0.0
        # _lambda = lr * math.pow(k + 1, 0.5), k the number of steps before
        return {**c, "lr_eps": lr, "lamb": lr * math.pow(step, 0.5)}

    def _rms(self, grad_sum_sq: np.ndarray, eps) -> np.ndarray:
        rms = np.power(grad_sum_sq, 1.0 / 3.0)
        rms += eps
        zero = eps == 0.0
        if not nowhere(zero):
            np.copyto(rms, np.inf, where=(rms == 0) & zero)
        return rms

    def update(self, c: Coefs, params: np.ndarray, grads: np.ndarray, state: MADGRADState,
               step: int, out_params: np.ndarray, out: Out, info: Info | None) -> None:
        mu, eps, wd, lam = c["momentum"], c["eps"], c["weight_decay"], c["lamb"]
        decouple = c["weight_decouple"]
        grad = grads if decouple else l2(params, grads, wd)
        plain = mu == 0.0
        x0 = state.x0
        if not nowhere(plain):  # x0 = p.addcdiv(s, rms(old ν))
            rebuilt = state.s / self._rms(state.grad_sum_sq, eps)
            rebuilt += params
            x0 = select(plain, rebuilt, x0)
        grad_sum_sq = np.multiply(grad, lam, out=out["grad_sum_sq"])
        grad_sum_sq *= grad
        grad_sum_sq += state.grad_sum_sq
        rms = self._rms(grad_sum_sq, eps)
        s = np.multiply(grad, lam, out=out["s"])
        s += state.s
        z = np.negative(s)
        z /= rms
        z += x0
        moved = lerp(params, z, 1.0 - mu, out_params)
        if not nowhere(plain):
            keep_rows(moved, z, plain)
        if decouple:
            decays = wd > 0.0
            if not nowhere(decays):
                t = params * (-c["lr_eps"] * wd)
                t += out_params
                np.copyto(out_params, t, where=decays)
        if info is not None:
            info.update(grad=grad, grad_sum_sq=grad_sum_sq, s=s, x0=x0, rms=rms, z=z, lamb=full(params, lam),
                        effective_lr=np.ones_like(params), direction=params - out_params)

    # -- what the inspector shows ---------------------------------------------
    def quantities(self) -> dict[str, Quantity]:
        q: dict[str, Quantity] = {}
        q["grad_sum_sq"], q["grad_sum_sq_prev"] = state_quantity(
            "\u03bd", "weighted sum of squared gradients")
        q["s"], q["s_prev"] = state_quantity("s", "weighted sum of gradients (the dual average)")
        q["x0"] = Quantity("x<sub>0</sub>", "the start (the dual average's anchor)")
        q["rms"] = Quantity(f"\u03bd{T}<sup>1/3</sup> + \u03b5", "cube root of ν, plus ε")
        q["z"] = Quantity(f"z{T}", "the dual-averaging point: x₀ moved by s")
        q["lamb"] = Quantity(f"\u03bb{T}", "weight of this step's gradient: (α + ε)·√t",
                             scalar=True)
        return q

    def rule(self, t: int | None) -> list[Rule]:
        hp = self.hp
        eqs = pto.gradient_rule(self)
        eqs.append(("grad_sum_sq", S("grad_sum_sq_prev") + S("lamb") * S("grad") ** 2,
                    "λₜ = (α + ε)·√t: later gradients weigh more"))
        eqs.append(("s", S("s_prev") + S("lamb") * S("grad"), ""))
        eqs.append(("rms", S("grad_sum_sq") ** (1 / 3) + S("eps"), ""))
        anchor = S("x0")
        if hp["momentum"] == 0:
            anchor = S("w_prev") + S("s_prev") / (S("grad_sum_sq_prev") ** (1 / 3) + S("eps"))
        eqs.append(("z", anchor - S("s") / S("rms"),
                    "" if hp["momentum"] else "without momentum x₀ is recovered from w"))
        new = S("momentum") * S("w_prev") + (1 - S("momentum")) * S("z") if hp["momentum"] \
            else S("z")
        if hp["weight_decay"] and hp["weight_decouple"]:
            new = new - (S("lr") + S("eps")) * S("weight_decay") * S("w_prev")
        return eqs + [("update", new - S("w_prev"), "move towards z"),
                      ("w", S("w_prev") + S("update"), "")]

    def note(self) -> str:
        extras = []
        if self.hp["weight_decay"] and self.hp["weight_decouple"]:
            extras.append("Weight decay is decoupled: after the step w also shrinks by "
                          "(α + ε)·λ·w.")
        else:
            extras += pto.decay_note(self)
        return " ".join([NOTE, *extras])


NOTE = (
    "MADGRAD is dual averaging: it never adds a step to the current position but "
    "computes where to be from the start x₀ and the sum s of all gradients so far, "
    "each weighted by a growing λₜ = α·√t. That sum is divided by the cube root of "
    "the weighted sum of squared gradients ν (not a square root, as in Adagrad). The "
    "momentum μ moves the point only part of the way towards z, so the path is smooth."
)

ORDER = 118
KINDS = (OptimizerKind("madgrad", MADGRAD,
                       "MADGRAD: momentumized dual averaging with a cube-root scaling",
                       title="MADGRAD"),)
