"""Pieces shared by the optimizers whose reference is the ``pytorch-optimizer``
package (4.1.0): its weight decay (``BaseOptimizer.apply_weight_decay``: decoupled
by default in most of them, optionally not scaled by the learning rate) with the
equations and the note that show it, and its bias corrections.

Its classes take ``weight_decay``, ``weight_decouple`` and ``fixed_decay``; the
flags are one value for a batch, the decay one per run. A private module (its name
starts with ``_``): the registry does not look for optimizers in it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ..base import Coefs, Info, Rule
from ..expr import Expr, Neg, S
from ..hyperparams import HyperParam, flag_param
from ..transforms import l2, nowhere, select

if TYPE_CHECKING:
    from ..base import Optimizer

PACKAGE = "pytorch_optimizer"


def decay_params(weight_decouple: bool = True, fixed_decay: bool | None = False,
                 default: float = 0.0) -> tuple[HyperParam, ...]:
    """``weight_decay``, ``weight_decouple`` and (unless None) ``fixed_decay``, with
    the reference's defaults."""
    out = [
        HyperParam("weight_decay", float, default,
                   "weight decay λ: shrinks w by α·λ·w each step (weight_decouple) or adds "
                   "λ·w to the gradient", low=0.0, high=1e3, symbol="\u03bb"),
        flag_param("weight_decouple",
                   "decoupled weight decay (AdamW's): shrink the weights apart from the "
                   "gradient instead of adding λ·w to it", weight_decouple),
    ]
    if fixed_decay is not None:
        out.append(flag_param("fixed_decay",
                              "decoupled decay not scaled by the learning rate: w shrinks by λ·w",
                              fixed_decay))
    return tuple(out)


def decay_rate(c: Coefs) -> Any:
    """How much of w decoupled decay takes away: λ·α, or λ with ``fixed_decay``."""
    return c["weight_decay"] * (1.0 if c.get("fixed_decay") else c["lr"])


def weight_decay(c: Coefs, params: np.ndarray, grads: np.ndarray,
                 out_params: np.ndarray) -> np.ndarray:
    """``apply_weight_decay``: decoupled, ``p.mul_(1 - λ·(1 or α))`` into
    ``out_params`` (a factor of exactly 1 where λ = 0); otherwise ``out_params`` a
    copy of the parameters and ``grad.add_(p, alpha=λ)``. Returns the gradient."""
    if c["weight_decouple"]:
        np.multiply(params, 1.0 - decay_rate(c), out=out_params)
        return grads
    np.copyto(out_params, params)
    return l2(params, grads, c["weight_decay"])


def set_direction(info: Info, c: Coefs, params: np.ndarray, base: np.ndarray) -> None:
    """``direction``: ``base``, or with decoupled decay (update
    ``−rate·w − effective_lr·base``) ``base + rate/effective_lr · w``, so that
    ``update == −effective_lr · direction`` either way."""
    if not c["weight_decouple"]:
        info["direction"] = base
        return
    rate = decay_rate(c)
    info["decay"] = params * -rate
    decays = rate != 0
    if nowhere(decays):
        info["direction"] = base
        return
    with np.errstate(divide="ignore", invalid="ignore"):
        info["direction"] = select(decays, base + rate / info["effective_lr"] * params, base)


def decoupled(opt: Optimizer) -> bool:
    return bool(opt.hp.get("weight_decouple")) and bool(opt.hp.get("weight_decay"))


def gradient_rule(opt: Optimizer) -> list[Rule]:
    """The gradient used: ∇f, plus λ·w with L2 (not decoupled) weight decay."""
    if opt.hp.get("weight_decay") and not opt.hp.get("weight_decouple"):
        return [("grad", S("raw_grad") + S("weight_decay") * S("w_prev"),
                 "L2 weight decay adds λ·w to the gradient")]
    return [("grad", S("raw_grad"), "")]


def apply_rule(opt: Optimizer, step: Expr) -> list[Rule]:
    """The update (with decoupled decay, −α·λ·w or −λ·w first) and the new position."""
    if decoupled(opt):
        if opt.hp.get("fixed_decay"):
            rate, note = S("weight_decay"), "fixed decoupled decay: w shrinks by λ·w"
        else:
            rate, note = S("lr") * S("weight_decay"), \
                "decoupled weight decay: w shrinks by α·λ·w, apart from the gradient"
        return [("update", Neg(rate * S("w_prev")) + step, note),
                ("w", S("w_prev") + S("update"), "")]
    return [("update", step, ""), ("w", S("w_prev") + S("update"), "")]


def decay_note(opt: Optimizer) -> list[str]:
    """The sentence on weight decay, when it is on."""
    if not opt.hp.get("weight_decay"):
        return []
    if opt.hp.get("weight_decouple"):
        by = "λ·w" if opt.hp.get("fixed_decay") else "α·λ·w"
        return [f"Weight decay is decoupled (as in AdamW): each step w also shrinks by {by}."]
    return ["Weight decay λ adds λ·w to the gradient, pulling the weights towards zero."]


def debias(beta: float, step: int) -> float:
    """``BaseOptimizer.debias``: 1 − βᵗ with ``math.pow`` (through ``Optimizer.each``)."""
    return 1.0 - math.pow(beta, step)


def debias_sqrt(beta: float, step: int) -> float:
    """√(1 − βᵗ), as ``math.sqrt(self.debias(beta, step))``."""
    return math.sqrt(1.0 - math.pow(beta, step))


def rectify(beta2: float, threshold: float, degenerated: float, step: int) -> tuple[float, float]:
    """``get_rectify_step_size``'s factor r_t of the lr and ρₜ (n_sma)."""
    n_sma_max = 2.0 / (1.0 - beta2) - 1.0
    beta2_t = beta2 ** step
    n_sma = n_sma_max - 2 * step * beta2_t / (1.0 - beta2_t)
    if n_sma >= threshold:
        rt = math.sqrt((1.0 - beta2_t) * (n_sma - 4) / (n_sma_max - 4) * (n_sma - 2) / n_sma
                       * n_sma_max / (n_sma_max - 2))
    elif degenerated:
        rt = 1.0
    else:
        rt = -1.0
    return rt, n_sma


def rectify_params(degenerated_to_sgd: bool) -> tuple[HyperParam, ...]:
    """RAdam's rectification as the references declare it (AdaBelief, Lamb):
    ``rectify``, ``n_sma_threshold``, ``degenerated_to_sgd`` (its default differs)."""
    return (
        flag_param("rectify", "RAdam's rectification: no adaptive step until the variance "
                   "estimate is reliable"),
        HyperParam("n_sma_threshold", int, 5, "rectify: the length ρₜ of the average from "
                   "which on the adaptive step is taken (below 4 the reference fails)", low=4,
                   high=1000),
        flag_param("degenerated_to_sgd", "rectify: before the threshold, step along m "
                   "(SGD with momentum) instead of not at all", degenerated_to_sgd),
    )


def rectified(opt: Optimizer, c: Coefs, step: int, out: Coefs) -> Coefs:
    """``out`` with this step's rectification factor ``rect`` and ρₜ ``n_sma`` per run,
    when ``rectify`` is on (see :func:`rectify`)."""
    if c["rectify"]:
        c = {**c, "_degenerated": 1.0 if c["degenerated_to_sgd"] else 0.0}
        out["rect"], out["n_sma"] = opt.each(rectify, step, c, "beta2", "n_sma_threshold",
                                             "_degenerated")
    return out


def empty(like: np.ndarray) -> np.ndarray:
    return np.empty_like(like)
