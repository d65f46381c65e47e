r"""LAMB (pytorch_optimizer.Lamb, pytorch-optimizer 4.1.0)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..base import Coefs, Info, Optimizer, Out, Rule
from ..expr import Neg, Quantity, S, T, sqrt
from ..hyperparams import HyperParam, adam_params, flag_param
from ..registry import OptimizerKind
from ..transforms import full, select
from . import _pytorch_optimizer as pto
from .adam import adam_quantities

#: ``Lamb.clamp``: the weight norm is capped at this
CLAMP = 10.0


class LambState(NamedTuple):
    step: int
    exp_avg: np.ndarray
    exp_avg_sq: np.ndarray


def _norm(a: np.ndarray) -> np.ndarray:
    """The 2-norm of each row, as an (N, 1) column."""
    return np.sqrt(np.sum(a * a, axis=1, keepdims=True))


class Lamb(Optimizer):
    r"""LAMB (You et al., "Large Batch Optimization for Deep Learning", 2019): an Adam
    step rescaled so that its length is a fixed fraction of the weights' length.

    .. math::
        m_t &= \beta_1 m_{t-1} + (1-\beta_1) g_t, \quad
        v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2 \\
        u_t &= m_t / (\sqrt{v_t} + \epsilon) \\
        r_t &= \min(\lVert w_{t-1}\rVert, 10) / (\lVert u_t\rVert + \epsilon) \\
        w_t &= w_{t-1} - \frac{\alpha}{1-\beta_1^t}\, r_t\, u_t

    As ``Lamb``'s step (its foreach path, the reference's on the CPU without
    ``rectify``): decoupled weight decay first (``weight_decouple``, by default;
    ``fixed_decay``), m with ``mul_(beta1).add_(grad, alpha=1 - beta1)`` (``alpha=1``
    without ``grad_averaging``), u as ``reciprocal(sqrt(v) + eps) * m`` (plus λ·w
    with L2 decay), the trust ratio r (1 where either norm is 0; ``adam``: always 1).
    Norms are over each run's D coordinates: a run is one parameter tensor.
    ``rectify`` follows the reference's per-parameter path: RAdam's step size
    (``n_sma_threshold``, ``degenerated_to_sgd``), the ratio against the norm of
    w plus the step, and no L2 decay there (the reference passes no gradient to
    it). The norms and the ratio (the reference's ``weight_norm``, ``adam_norm``,
    ``trust_ratio`` state entries, which no later step reads) are in the info.
    ``pre_norm`` with ``max_grad_norm`` (a gradient norm over all parameters
    together), ``adanorm``, ``adam_debias`` and ``maximize`` are not offered.

    ``effective_lr`` is α·r/(1−β₁ᵗ) and ``direction`` is u (plus the decay's share).
    """

    algorithm = "lamb"
    reference = "pytorch_optimizer.Lamb"
    hyperparams = (
        *adam_params(1e-3)[:3],
        *pto.decay_params(),
        *pto.rectify_params(degenerated_to_sgd=False),
        flag_param("grad_averaging", "m averages the gradients (weight 1 − β₁); off: m "
                   "sums them (weight 1)", True),
        flag_param("adam", "trust ratio 1: plain Adam without LAMB's layer-wise scaling"),
        HyperParam("eps", float, 1e-6, "added to the denominator and to the norm of the step",
                   low=0.0, high=1.0, log=True, symbol="\u03b5"),
    )
    State = LambState
    rescales = True
    momentum_fields = ("exp_avg",)

    def decoupled(self) -> bool:
        return pto.decoupled(self)

    def scalars(self, c: Coefs, step: int) -> Coefs:
        out = {**c, "bias_correction1": self.each(pto.debias, step, c, "beta1")}
        return pto.rectified(self, c, step, out)

    def update(self, c: Coefs, params: np.ndarray, grads: np.ndarray, state: LambState,
               step: int, out_params: np.ndarray, out: Out, info: Info | None) -> None:
        lr, beta1, beta2, eps, wd = c["lr"], c["beta1"], c["beta2"], c["eps"], c["weight_decay"]
        grad = grads
        if c["weight_decouple"]:
            np.multiply(params, 1.0 - pto.decay_rate(c), out=out_params)
        else:
            np.copyto(out_params, params)
        w = out_params  # the weights the ratio measures (decayed)
        beta3 = 1.0 - beta1 if c["grad_averaging"] else 1.0
        exp_avg = np.multiply(state.exp_avg, beta1, out=out["exp_avg"])
        t = grad * beta3
        exp_avg += t
        exp_avg_sq = np.multiply(state.exp_avg_sq, beta2, out=out["exp_avg_sq"])
        np.multiply(grad, 1.0 - beta2, out=t)
        t *= grad
        exp_avg_sq += t
        denom = np.sqrt(exp_avg_sq)
        denom += eps
        if not c["rectify"]:
            u = np.reciprocal(denom)
            u *= exp_avg
            if not c["weight_decouple"]:
                t = w * wd
                t += u
                u = select(wd > 0, t, u)
            weight_norm = np.minimum(_norm(w), CLAMP)
            adam_norm = _norm(u)
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where((weight_norm != 0) & (adam_norm != 0),
                                 weight_norm / (adam_norm + eps), 1.0)
            trust = 1.0 if c["adam"] else ratio
            step_size = lr / c["bias_correction1"]
            scaled = u * trust
            scaled *= -step_size
            out_params += scaled
            direction, eff = u, step_size * trust
        else:
            step_size = lr * c["rect"] / c["bias_correction1"]
            adaptive = c["n_sma"] >= c["n_sma_threshold"]
            moves = step_size > 0
            along = np.multiply(exp_avg, -step_size)
            direction = exp_avg / denom  # (the adaptive rows' direction)
            trial = along / denom
            trial = select(adaptive, trial, along)
            trial += w
            weight_norm = np.minimum(_norm(w), CLAMP)
            adam_norm = _norm(trial)
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where((weight_norm == 0) | (adam_norm == 0), 1.0,
                                 weight_norm / (adam_norm + eps))
            trust = 1.0 if c["adam"] else ratio
            value = -step_size * trust
            stepped = np.multiply(exp_avg, value)
            by_denom = stepped / denom
            stepped = select(adaptive, by_denom, stepped)
            stepped = select(moves, stepped, np.zeros_like(stepped))
            out_params += stepped
            direction = select(adaptive, direction, exp_avg)
            eff = select(moves, step_size * trust, 0.0 * trust)
        if info is not None:
            info.update(grad=grad, exp_avg=exp_avg, exp_avg_sq=exp_avg_sq, denom=denom,
                        adam_step=direction, weight_norm=full(params, weight_norm),
                        adam_norm=full(params, adam_norm), trust_ratio=full(params, ratio),
                        bias_correction1=full(params, c["bias_correction1"]),
                        effective_lr=full(params, eff))
            if c["rectify"]:
                info["rect"] = full(params, c["rect"])
                info["rho_t"] = full(params, c["n_sma"])
            pto.set_direction(info, c, params, direction)

    # -- what the inspector shows ---------------------------------------------
    def quantities(self) -> dict[str, Quantity]:
        q = adam_quantities()
        q["denom"] = Quantity(f"d{T}", "denominator: √v + ε")
        q["adam_step"] = Quantity(f"u{T}", "Adam's direction m / (√v + ε) (plus λ·w with L2 "
                                  "decay)")
        q["weight_norm"] = Quantity("\u2016w\u2016", "length of the weights (capped at 10)",
                                    scalar=True)
        q["adam_norm"] = Quantity("\u2016u\u2016", "length of Adam's direction", scalar=True)
        q["trust_ratio"] = Quantity(f"r{T}", "trust ratio: ‖w‖ / ‖u‖", scalar=True)
        q["rect"] = Quantity(f"\u03c1-rect{T}", "RAdam's rectification factor", scalar=True)
        q["rho_t"] = Quantity(f"\u03c1{T}", "length of the approximated moving average",
                              scalar=True)
        return q

    def rule(self, t: int | None) -> list[Rule]:
        hp = self.hp
        eqs: list[Rule] = [("grad", S("raw_grad"), "")]
        m = S("beta1") * S("exp_avg_prev") + ((1 - S("beta1")) if hp["grad_averaging"] else 1) \
            * S("grad")
        eqs.append(("exp_avg", m, "" if hp["grad_averaging"] else "a sum, not an average"))
        eqs.append(("exp_avg_sq", S("beta2") * S("exp_avg_sq_prev")
                    + (1 - S("beta2")) * S("grad") ** 2, ""))
        eqs.append(("denom", sqrt(S("exp_avg_sq")) + S("eps"), ""))
        bc1 = 1 - S("beta1") ** S("t")
        ratio = S("weight_norm") / (S("adam_norm") + S("eps"))
        if not hp["rectify"]:
            u = S("exp_avg") / S("denom")
            note = ""
            if hp["weight_decay"] and not hp["weight_decouple"]:
                u = u + S("weight_decay") * S("w_prev")
                note = "L2 weight decay adds λ·w to the step"
            eqs.append(("adam_step", u, note))
            eqs.append(("trust_ratio", ratio, "the layer's length over the step's (1 if either "
                        "is 0)"))
            r = 1 if hp["adam"] else S("trust_ratio")
            return eqs + pto.apply_rule(self, Neg(S("lr") / bc1 * r * S("adam_step")))
        regime = _regime(self, t)
        eqs.append(("trust_ratio", ratio, "‖w‖ over the length of w plus the step"))
        r = 1 if hp["adam"] else S("trust_ratio")
        if regime == "rectified":
            step = Neg(S("lr") * S("rect") / bc1 * r * S("exp_avg") / S("denom"))
        elif regime == "sgd":
            step = Neg(S("lr") / bc1 * r * S("exp_avg"))
        else:
            step = Neg(S("lr") * 0 * S("exp_avg"))
        return eqs + pto.apply_rule(self, step)

    def note(self) -> str:
        extras = []
        if self.hp["adam"]:
            extras.append("adam=true: the trust ratio is 1, so this is Adam without bias "
                          "correction of v.")
        if self.hp["rectify"]:
            extras.append("Rectified: the step size follows RAdam's warm-up.")
        hp = self.hp
        if hp["weight_decay"] and not hp["weight_decouple"]:
            extras.append("L2 weight decay adds λ·w to Adam's direction u before the trust "
                          "ratio" + (" (with rectify the reference applies none)."
                                     if hp["rectify"] else "."))
        else:
            extras += pto.decay_note(self)
        return " ".join([NOTE, *extras])


def _regime(opt: Optimizer, t: int | None) -> str:
    hp = opt.hp
    if t is None:
        return "rectified"
    rt, n_sma = pto.rectify(hp["beta2"], hp["n_sma_threshold"],
                        1.0 if hp["degenerated_to_sgd"] else 0.0, t)
    if n_sma >= hp["n_sma_threshold"]:
        return "rectified"
    return "sgd" if rt > 0 else "none"


NOTE = (
    "LAMB (layer-wise adaptive moments) takes Adam's direction u = m/(√v + ε) and "
    "rescales the whole step so that its length is α times the length of the weights: "
    "the trust ratio r = ‖w‖/‖u‖. It was made for training with huge batches, where "
    "each layer gets a step in proportion to its size. Here one run is one layer, so "
    "every step moves the point by about α·‖w‖, large far from the origin and small "
    "near it."
)

ORDER = 117
KINDS = (OptimizerKind("lamb", Lamb,
                       "LAMB: Adam's direction, its length set by the trust ratio ‖w‖/‖u‖",
                       title="LAMB"),)
