r"""Prodigy (pytorch_optimizer.Prodigy, pytorch-optimizer 4.1.0)."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..base import Coefs, Info, Optimizer, Out, Rule
from ..expr import Neg, Quantity, S, T, maximum, minimum, sqrt, state_quantity
from ..hyperparams import HyperParam, adam_params, flag_param
from ..registry import OptimizerKind
from ..transforms import full
from . import _pytorch_optimizer as pto


class ProdigyState(NamedTuple):
    step: int
    s: np.ndarray
    p0: np.ndarray
    exp_avg: np.ndarray
    exp_avg_sq: np.ndarray
    d: np.ndarray
    d_max: np.ndarray
    d_numerator: np.ndarray


def _beta3(beta2: float, beta3: float, step: int) -> float:
    """β₃, or √β₂ where it is 0 (the reference's None)."""
    return beta3 if beta3 != 0 else math.sqrt(beta2)


def _bias(beta1: float, beta2: float, step: int) -> float:
    """``bias_correction1 / bias_correction2_sq`` of step ``step``."""
    return pto.debias(beta1, step) / math.sqrt(pto.debias(beta2, step))


def _column(a: np.ndarray) -> np.ndarray:
    """A per-run scalar kept as a state array (one value along each row)."""
    return a[:, :1]


class Prodigy(Optimizer):
    r"""Prodigy (Mishchenko & Defazio, "Prodigy: An Expeditiously Adaptive
    Parameter-Free Learner", 2023): Adam whose learning rate d is estimated on the
    way, from how far the run has come from its start.

    .. math::
        r_t &= \beta_3 r_{t-1} + \tfrac{d}{d_0}\, d\alpha\, \langle g_t, x_0 - w_{t-1}\rangle \\
        m_t &= \beta_1 m_{t-1} + d(1-\beta_1) g_t, \quad
        v_t = \beta_2 v_{t-1} + d^2(1-\beta_2) g_t^2 \\
        s_t &= \beta_3 s_{t-1} + \tfrac{d}{d_0}\, d\alpha\, g_t, \quad
        \hat d = c\, r_t / \lVert s_t\rVert_1 \\
        d' &= \min(\max(d_{\max}, \hat d),\ d\cdot\text{growth}) \\
        w_t &= w_{t-1} - d\alpha\, m_t / (\sqrt{v_t} + d'\epsilon)

    As ``Prodigy.step``'s per-parameter path (the reference's on the CPU): the step
    uses d·α with the d from before the step (divided by ``(1 − β₁ᵗ)/√(1 − β₂ᵗ)``
    with ``bias_correction``) and the new d' in ε's term; d is first raised to d̂
    while it is still d₀; a step whose ‖s‖₁ is 0 leaves w, d and d_max as they
    were. The reference keeps d, d_max and the numerator r (``d_numerator``) per
    parameter group and sums over all its parameters; here each run is one group:
    they are per run (state arrays holding one value per run), the dot product and
    ‖s‖₁ over the run's D coordinates. Decoupled weight decay (by default) takes
    d·α as its learning rate; L2 (``weight_decouple=false``) changes a gradient the
    reference has already used, so it has no effect, here as there.
    ``safeguard_warmup`` uses d instead of d·α in s. β₃ = 0 stands for the
    reference's None (√β₂). ``eps=None`` (the atan2 update) and ``maximize`` are not
    offered.

    ``effective_lr`` is d·α/denom and ``direction`` is :math:`m_t` (plus the decay's
    share).
    """

    algorithm = "prodigy"
    reference = "pytorch_optimizer.Prodigy"
    hyperparams = (
        HyperParam("lr", float, 1.0, "learning rate: a factor on the estimated d (keep it 1)",
                   low=0.0, high=1e3, log=True, symbol="\u03b1"),
        *adam_params(1.0)[1:3],
        HyperParam("beta3", float, 0.0, "β₃: decay of s and of the numerator r (0: √β₂, the "
                   "reference's None)", low=0.0, high=1.0, high_open=True,
                   symbol="\u03b2<sub>3</sub>"),
        HyperParam("d0", float, 1e-6, "the first estimate of the distance to the solution",
                   low=0.0, high=1e3, low_open=True, log=True, symbol="d<sub>0</sub>"),
        HyperParam("d_coef", float, 1.0, "factor on the estimate d̂", low=0.0, high=1e3,
                   symbol="c"),
        HyperParam("growth_rate", float, math.inf, "largest factor by which d may grow in a step",
                   low=0.0, symbol="\u03b3<sub>d</sub>"),
        *pto.decay_params(),
        flag_param("bias_correction", "divide d·α by (1 − β₁ᵗ)/√(1 − β₂ᵗ), as Adam's bias "
                   "corrections do"),
        flag_param("safeguard_warmup", "use d instead of d·α in s (safer with a warm-up)"),
        adam_params(1.0)[3],
    )
    State = ProdigyState
    rescales = True
    momentum_fields = ("exp_avg",)

    def decoupled(self) -> bool:
        return pto.decoupled(self)

    def init(self, params: np.ndarray) -> ProdigyState:
        p = np.array(params, dtype=np.float64)
        d0 = np.broadcast_to(np.asarray(self._coef["d0"], dtype=np.float64), (p.shape[0], 1))
        return ProdigyState(0, np.zeros_like(p), p, np.zeros_like(p), np.zeros_like(p),
                            np.broadcast_to(d0, p.shape).copy(),
                            np.broadcast_to(d0, p.shape).copy(), np.zeros_like(p))

    def live_fields(self) -> tuple[str, ...]:
        return ("s", "exp_avg", "exp_avg_sq", "d", "d_max", "d_numerator")  # p0: the start

    def scalars(self, c: Coefs, step: int) -> Coefs:
        bias = self.each(_bias, step, c, "beta1", "beta2") if c["bias_correction"] else 1.0
        return {**c, "beta3_t": self.each(_beta3, step, c, "beta2", "beta3"), "bias": bias}

    def update(self, c: Coefs, params: np.ndarray, grads: np.ndarray, state: ProdigyState,
               step: int, out_params: np.ndarray, out: Out, info: Info | None) -> None:
        lr, beta1, beta2, beta3, d0 = c["lr"], c["beta1"], c["beta2"], c["beta3_t"], c["d0"]
        grad = grads
        d, d_max = _column(state.d), _column(state.d_max)
        d_lr = d * lr / c["bias"]
        scale = d / d0
        dot = np.sum(grad * (state.p0 - params), axis=1, keepdims=True)
        d_numerator = _column(state.d_numerator) * beta3
        d_numerator += scale * d_lr * dot
        exp_avg = np.multiply(state.exp_avg, beta1, out=out["exp_avg"])
        t = grad * (d * (1.0 - beta1))
        exp_avg += t
        exp_avg_sq = np.multiply(state.exp_avg_sq, beta2, out=out["exp_avg_sq"])
        np.multiply(grad, d * d * (1.0 - beta2), out=t)
        t *= grad
        exp_avg_sq += t
        s = np.multiply(state.s, beta3, out=out["s"])
        np.multiply(grad, scale * (d if c["safeguard_warmup"] else d_lr), out=t)
        s += t
        d_de_nom = np.sum(np.abs(s), axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            d_hat = c["d_coef"] * d_numerator / d_de_nom
        new_d = np.where((d == d0) & (d_hat > d), d_hat, d)
        raised = new_d
        new_max = np.where(d_hat > d_max, d_hat, d_max)
        grown = new_d * c["growth_rate"]
        new_d = np.where(grown < new_max, grown, new_max)
        skip = d_de_nom == 0  # the reference returns before touching w, d and d_max
        new_d = np.where(skip, d, new_d)
        new_max = np.where(skip, d_max, new_max)
        np.copyto(out["d"], new_d)
        np.copyto(out["d_max"], new_max)
        np.copyto(out["d_numerator"], d_numerator)
        if c["weight_decouple"]:
            rate = c["weight_decay"] * (1.0 if c["fixed_decay"] else d_lr)
            np.multiply(params, 1.0 - rate, out=out_params)
        else:
            np.copyto(out_params, params)
        denom = np.sqrt(exp_avg_sq)
        denom += new_d * c["eps"]
        np.multiply(exp_avg, -d_lr, out=t)
        t /= denom
        out_params += t
        moved = ~skip
        if not moved.all():
            np.copyto(out_params, params, where=skip)
        if info is not None:
            info.update(grad=grad, exp_avg=exp_avg, exp_avg_sq=exp_avg_sq, s=s,
                        d=out["d"], d_max=out["d_max"], d_numerator=out["d_numerator"],
                        dot=full(params, dot), d_de_nom=full(params, d_de_nom),
                        d_hat=full(params, d_hat), d_raised=full(params, raised), d_lr=full(params, d_lr), denom=denom,
                        effective_lr=np.where(moved, d_lr / denom, 0.0),
                        beta3_t=full(params, beta3))
            if c["weight_decouple"]:
                rate = c["weight_decay"] * (1.0 if c["fixed_decay"] else d_lr)
                info["decay"] = params * -rate
                with np.errstate(divide="ignore", invalid="ignore"):
                    info["direction"] = np.where(moved & (rate != 0),
                                                 exp_avg + rate / info["effective_lr"] * params,
                                                 exp_avg)
            else:
                info["direction"] = exp_avg

    # -- what the inspector shows ---------------------------------------------
    def quantities(self) -> dict[str, Quantity]:
        q: dict[str, Quantity] = {}
        q["exp_avg"], q["exp_avg_prev"] = state_quantity(
            "m", "first moment, scaled by d: moving average of d·g")
        q["exp_avg_sq"], q["exp_avg_sq_prev"] = state_quantity(
            "v", "second moment: moving average of d²·g²")
        q["s"], q["s_prev"] = state_quantity("s", "moving sum of the weighted gradients")
        q["d"], q["d_prev"] = state_quantity("d", "the estimated distance: the learning rate "
                                             "Prodigy found")
        q["d_max"], q["d_max_prev"] = state_quantity("d", "largest estimate so far", sup="max")
        q["d_numerator"], q["d_numerator_prev"] = state_quantity(
            "r", "numerator of d̂: moving sum of d·α·⟨g, x₀ − w⟩")
        for key in ("d", "d_max", "d_numerator"):
            q[key] = Quantity(q[key].symbol, q[key].name, q[key].hint, scalar=True)
            q[key + "_prev"] = Quantity(q[key + "_prev"].symbol, q[key + "_prev"].name,
                                        scalar=True)
        q["p0"] = Quantity("x<sub>0</sub>", "the start")
        q["dot"] = Quantity(f"\u27e8g{T}, x\u2080 \u2212 w\u27e9", "how much the gradient points "
                            "back towards the start", scalar=True)
        q["d_de_nom"] = Quantity(f"\u2016s{T}\u2016\u2081", "sum of |s| over the coordinates",
                                 scalar=True)
        q["d_hat"] = Quantity(f"d\u0302{T}", "this step's estimate of the distance",
                              scalar=True)
        q["d_raised"] = Quantity("d\u2191", "d, first raised to d̂ while it is still d₀",
                                 scalar=True)
        q["d_lr"] = Quantity("d\u00b7\u03b1", "the step's learning rate", scalar=True)
        q["beta3_t"] = Quantity("\u03b2<sub>3</sub>", "β₃ (√β₂ unless set)", scalar=True)
        q["denom"] = Quantity(f"\u221av{T} + d\u00b7\u03b5", "denominator")
        return q

    def rule(self, t: int | None) -> list[Rule]:
        hp = self.hp
        b3 = S("beta3") if hp["beta3"] else sqrt(S("beta2"))
        eqs: list[Rule] = [("grad", S("raw_grad"), "")]
        d_lr = S("d_prev") * S("lr")
        if hp["bias_correction"]:
            d_lr = d_lr / ((1 - S("beta1") ** S("t")) / sqrt(1 - S("beta2") ** S("t")))
        eqs.append(("d_lr", d_lr, "the learning rate is the estimate d (times α)"))
        scale = S("d_prev") / S("d0")
        eqs.append(("d_numerator", b3 * S("d_numerator_prev") + scale * S("d_lr") * S("dot"),
                    "⟨g, x₀ − w⟩: the dot product over the coordinates"))
        eqs.append(("exp_avg", S("beta1") * S("exp_avg_prev")
                    + S("d_prev") * (1 - S("beta1")) * S("grad"), ""))
        eqs.append(("exp_avg_sq", S("beta2") * S("exp_avg_sq_prev")
                    + S("d_prev") * S("d_prev") * (1 - S("beta2")) * S("grad") ** 2, ""))
        w = S("d_prev") if hp["safeguard_warmup"] else S("d_lr")
        eqs.append(("s", b3 * S("s_prev") + scale * w * S("grad"), ""))
        eqs.append(("d_hat", S("d_coef") * S("d_numerator") / S("d_de_nom"),
                    "‖s‖₁: the sum of |s| over the coordinates"))
        eqs.append(("d_max", maximum(S("d_max_prev"), S("d_hat")), ""))
        if math.isinf(hp["growth_rate"]):
            eqs.append(("d", S("d_max"), "no growth limit: d is the largest estimate"))
        else:
            eqs.append(("d", minimum(S("d_max"), S("d_raised") * S("growth_rate")),
                        "d grows by at most the growth rate, up to the largest estimate"))
        eqs.append(("denom", sqrt(S("exp_avg_sq")) + S("d") * S("eps"), ""))
        step = Neg(S("d_lr") * S("exp_avg") / S("denom"))
        if decoupled := pto.decoupled(self):
            rate = S("weight_decay") if hp["fixed_decay"] else S("d_lr") * S("weight_decay")
            step = Neg(rate * S("w_prev")) + step
        return eqs + [("update", step, "decoupled weight decay at the rate d·α·λ"
                       if decoupled else ""), ("w", S("w_prev") + S("update"), "")]

    def note(self) -> str:
        extras = []
        if pto.decoupled(self):
            extras.append("Weight decay is decoupled, at the found learning rate d·α.")
        return " ".join([NOTE, *extras])


NOTE = (
    "Prodigy is Adam that finds its own learning rate d. It starts from a tiny d₀ and "
    "raises d to an estimate d̂ of the distance to the solution, computed from how much "
    "the gradients point back towards the start x₀ (the sum r of d·α·⟨g, x₀ − w⟩) "
    "against the size of the accumulated gradients ‖s‖₁. d never shrinks, so the first "
    "steps are tiny and then the run speeds up by orders of magnitude. The nominal "
    "learning rate α stays at 1."
)

ORDER = 119
KINDS = (OptimizerKind("prodigy", Prodigy,
                       "Prodigy: Adam that estimates its own learning rate d from the distance "
                       "travelled", title="Prodigy"),)
