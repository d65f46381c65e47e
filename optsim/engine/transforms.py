"""Pieces shared by the update rules, composed by the optimizer modules the way
optax composes transforms: L2 or decoupled weight decay, moving averages (torch's
``lerp`` and ``mul/addcmul``), the per-row choice between two branches, and, next to
each piece, the equations it shows.

Every piece works on (N, D) float64 arrays with coefficients that are one number or
one per row as an (N, 1) column, and follows torch.optim's order of operations, so
that one row of a batch is bit for bit the run it would be alone. torch's
scalar-tensor operations map to NumPy as: ``a.add(b, alpha=c)`` = a + c·b;
``a.addcmul(b, c, value=v)`` = a + (v·b)·c; ``a.addcdiv(b, c, value=v)`` = a + (v·b)/c;
``a.lerp(b, w)`` as in :func:`lerp`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from .base import Info, Out, Rule
from .expr import Expr, Neg, S

if TYPE_CHECKING:
    from .base import Optimizer

# ---------------------------------------------------------------------------
# per-row branches


def everywhere(mask: Any) -> bool:
    """Whether a per-row condition (a bool, or an (N, 1) bool column) holds in every row."""
    return bool(mask) if type(mask) is not np.ndarray else bool(mask.all())


def nowhere(mask: Any) -> bool:
    """Whether a per-row condition holds in no row."""
    return not mask if type(mask) is not np.ndarray else not mask.any()


def select(mask: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a`` in the rows where ``mask`` holds, ``b`` elsewhere (no copy when one
    branch is taken everywhere)."""
    if everywhere(mask):
        return a
    if nowhere(mask):
        return b
    return np.where(mask, a, b)


def keep_rows(new: np.ndarray, old: np.ndarray, mask: Any) -> None:
    """Put ``old`` back into ``new`` in the rows where ``mask`` holds (a state array
    that those rows' configuration never changes)."""
    if not nowhere(mask):
        np.copyto(new, old, where=mask)


def full(like: np.ndarray, value: Any) -> np.ndarray:
    """``value`` (a number or an (N, 1) column) as a full (N, D) array."""
    return np.full(like.shape, value, dtype=np.float64)


# ---------------------------------------------------------------------------
# moving averages


class Weight(NamedTuple):
    """A per-row lerp weight with what :func:`lerp` derives from it, made once by
    :func:`lerp_weight` (kept by the optimizer: ``Optimizer.kept``)."""

    weight: np.ndarray      # (N, 1)
    complement: np.ndarray  # 1.0 − weight
    low: np.ndarray         # weight < 0.5
    #: True: low in every row, False: in none, None: mixed
    branch: bool | None


def lerp_weight(weight: Any) -> Any:
    """``weight`` as :func:`lerp` takes it fastest: a :class:`Weight` for a column,
    the number itself otherwise."""
    if type(weight) is not np.ndarray:
        return weight
    low = weight < 0.5
    branch = True if everywhere(low) else False if nowhere(low) else None
    return Weight(weight, 1.0 - weight, low, branch)


def lerp(start: np.ndarray, end: np.ndarray, weight: Any, out: np.ndarray) -> np.ndarray:
    """torch.lerp into ``out``: ``start + w (end − start)`` for w < 0.5, else
    ``end − (end − start)(1 − w)`` (as torch computes it), per row. ``weight``: a
    number, an (N, 1) column, or a :class:`Weight`."""
    np.subtract(end, start, out=out)
    if type(weight) is not np.ndarray and type(weight) is not Weight:  # one weight
        if weight < 0.5:
            out *= weight
            out += start
        else:
            out *= 1.0 - weight
            np.subtract(end, out, out=out)
        return out
    if type(weight) is not Weight:
        weight = lerp_weight(weight)
    if weight.branch:
        out *= weight.weight
        out += start
    elif weight.branch is not None:
        out *= weight.complement
        np.subtract(end, out, out=out)
    else:
        near_start = out * weight.weight
        near_start += start
        out *= weight.complement
        np.subtract(end, out, out=out)
        np.copyto(out, near_start, where=weight.low)
    return out


def ema_of_squares(previous: np.ndarray, grad: np.ndarray, beta: Any,
                   out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``v = previous.mul(beta).addcmul(grad, grad, value=1 - beta)`` into ``out``.
    Returns v and a spare (N, D) temporary for the caller to reuse."""
    v = np.multiply(previous, beta, out=out)
    t = grad * (1 - beta)
    t *= grad
    v += t
    return v, t


def moments(state: Any, grad: np.ndarray, beta1: Any, beta2: Any,
            out: Out, weight: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Adam's two running moments, as torch updates them:
    ``exp_avg.lerp_(grad, 1 - beta1)`` and
    ``exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)``.
    ``weight``: 1 − β₁ made beforehand (see :func:`first_weight`), or None.
    Returns them and a spare (N, D) temporary for the caller to reuse."""
    exp_avg = lerp(state.exp_avg, grad, 1 - beta1 if weight is None else weight,
                   out["exp_avg"])
    exp_avg_sq = np.multiply(state.exp_avg_sq, beta2, out=out["exp_avg_sq"])  # (as ema_of_squares)
    t = grad * (1 - beta2)
    t *= grad
    exp_avg_sq += t
    return exp_avg, exp_avg_sq, t


def first_weight(beta1: Any) -> Any:
    """The lerp weight 1 − β₁ of Adam's first moment (a :class:`Weight` for a column):
    ``opt.kept("1-beta1", first_weight, c["beta1"])`` makes it once per sweep block."""
    return lerp_weight(1 - beta1)


def ema(previous: str, new: Expr, beta: str) -> Expr:
    """The equation of a moving average: β·previous + (1 − β)·new."""
    return S(beta) * S(previous) + (1 - S(beta)) * new


def bias_correction(beta: float, step: int) -> float:
    """1 − βᵗ (a per-step scalar: use it through ``Optimizer.each``)."""
    return 1 - beta**step


def bias_corrections(beta1: float, beta2: float, step: int) -> tuple[float, float, float]:
    """Adam's 1 − β₁ᵗ, 1 − β₂ᵗ and the root of the latter, as torch computes them."""
    return (bias_correction(beta1, step), *second_bias_correction(beta2, step))


def second_bias_correction(beta2: float, step: int) -> tuple[float, float]:
    """Adam's 1 − β₂ᵗ and its root, as torch computes them (apart from 1 − β₁ᵗ: a
    sweep over β₁ alone keeps these one number for all its rows)."""
    bc2 = 1 - beta2**step
    return bc2, bc2**0.5


# ---------------------------------------------------------------------------
# weight decay


def l2(params: np.ndarray, grads: np.ndarray, weight_decay: Any) -> np.ndarray:
    """torch: ``grad = grad.add(param, alpha=weight_decay)`` (a new array) in the
    rows whose weight decay is not 0; the gradient itself elsewhere."""
    if type(weight_decay) is not np.ndarray:  # one value (quick for a single run)
        if weight_decay == 0:
            return grads
        g = params * weight_decay
        g += grads
        return g
    nonzero = weight_decay != 0
    if nowhere(nonzero):
        return grads
    g = params * weight_decay
    g += grads
    return select(nonzero, g, grads)


def decay(params: np.ndarray, grads: np.ndarray, lr: Any, weight_decay: Any,
          decoupled: bool, out_params: np.ndarray) -> np.ndarray:
    """Weight decay as NAdam/RAdam apply it: decoupled, ``param.mul_(1 - lr * wd)``
    into ``out_params`` (a factor of exactly 1 where wd = 0); otherwise L2 on the
    gradient, with ``out_params`` a copy of the parameters. Returns the gradient
    to use."""
    if decoupled:
        np.multiply(params, 1 - lr * weight_decay, out=out_params)
        return grads
    np.copyto(out_params, params)
    return l2(params, grads, weight_decay)


def set_direction(info: Info, params: np.ndarray, lr: Any, weight_decay: Any,
                  base: np.ndarray, decoupled: bool) -> None:
    """Report ``direction``: ``base``, or with decoupled weight decay (update
    ``−γλw − effective_lr·base``) ``base + (γλ/effective_lr) w``, so that
    ``update == −effective_lr · direction`` holds either way."""
    if not decoupled:
        info["direction"] = base
        return
    info["decay"] = params * (-lr * weight_decay)
    decays = (lr * weight_decay) != 0
    if nowhere(decays):
        info["direction"] = base
        return
    with np.errstate(divide="ignore", invalid="ignore"):
        info["direction"] = select(decays, base + (lr * weight_decay) / info["effective_lr"] * params,
                                   base)


def gradient_rule(opt: Optimizer, decoupled_ok: bool = False) -> list[Rule]:
    """The gradient used: ∇f, plus λ·w with L2 weight decay."""
    if opt.hp.get("weight_decay") and not (decoupled_ok and opt.decoupled()):
        return [("grad", S("raw_grad") + S("weight_decay") * S("w_prev"),
                 "L2 weight decay adds λ·w to the gradient")]
    return [("grad", S("raw_grad"), "")]


def apply_rule(opt: Optimizer, step: Expr, decoupled_ok: bool = False) -> list[Rule]:
    """The update (with decoupled weight decay, −α·λ·w first) and the new position."""
    if opt.hp.get("weight_decay") and decoupled_ok and opt.decoupled():
        upd = Neg(S("lr") * S("weight_decay") * S("w_prev")) + step
        note = "decoupled weight decay: w shrinks by α·λ·w, apart from the gradient"
        return [("update", upd, note), ("w", S("w_prev") + S("update"), "")]
    return [("update", step, ""), ("w", S("w_prev") + S("update"), "")]


# ---------------------------------------------------------------------------
# notes shared by several optimizers

AMSGRAD_NOTE = ("AMSGrad: it divides by the largest v seen so far, so a coordinate never "
                "speeds up again after a large gradient.")
L2_NOTE = "Weight decay λ adds λ·w to the gradient, pulling the weights towards zero."


def decay_note(opt: Optimizer) -> list[str]:
    """The sentence on L2 weight decay, when it is on."""
    return [L2_NOTE] if opt.hp.get("weight_decay") and not opt.decoupled() else []


__all__ = ["AMSGRAD_NOTE", "L2_NOTE", "apply_rule", "bias_correction", "bias_corrections",
           "second_bias_correction", "first_weight", "lerp_weight", "Weight",
           "decay", "decay_note",
           "ema", "ema_of_squares", "everywhere", "full", "gradient_rule", "keep_rows", "l2",
           "lerp", "moments", "nowhere", "select", "set_direction"]
