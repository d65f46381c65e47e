r"""ASGD, averaged stochastic gradient descent (torch.optim.ASGD)."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..base import Coefs, Info, Optimizer, Out, Rule
from ..expr import T1, Neg, Num, Quantity, S, T, maximum, state_quantity
from ..hyperparams import HyperParam, lr_param, weight_decay_param
from ..registry import OptimizerKind
from ..transforms import apply_rule, decay_note, full, gradient_rule, l2, nowhere


class ASGDState(NamedTuple):
    step: int
    #: the step size of the next step (torch keeps one number; here per coordinate)
    eta: np.ndarray
    #: the averaging weight of the next step
    mu: np.ndarray
    #: the running average of the positions
    ax: np.ndarray


def next_eta(lr: float, lambd: float, alpha: float, step: int) -> float:
    """torch: ``lr / ((1 + lambd * lr * step) ** alpha)`` (Python floats)."""
    return lr / ((1 + lambd * lr * float(step)) ** alpha)


def next_mu(t0: float, step: int) -> float:
    """torch: ``1 / max(1, step - t0)``."""
    return 1 / max(1, float(step) - t0)


class ASGD(Optimizer):
    r"""ASGD (Polyak & Juditsky): SGD with a decaying step size that also keeps the
    running average of its positions.

    .. math::
        g_t &\leftarrow g_t + \lambda w_{t-1} \\
        w_t &= w_{t-1}(1 - \lambda_a \eta_{t-1}) - \eta_{t-1} g_t \\
        \bar w_t &= \bar w_{t-1} + \mu_{t-1} (w_t - \bar w_{t-1})
            \quad (\bar w_t = w_t \text{ while } \mu_{t-1} = 1) \\
        \eta_t &= \gamma / (1 + \lambda_a \gamma t)^{\alpha}, \quad
        \mu_t = 1 / \max(1, t - t_0)

    (λₐ = ``lambd``, η₀ = γ.) As torch: η and μ are state, set at the end of each
    step from that step's γ, so a learning rate changed by a schedule acts one step
    later (except at the first step, where η is the step's γ, as torch sets it when
    it creates the state). The average :math:`\bar w` (``ax``) starts at step
    :math:`t_0` (default 10⁶: never, within a visualisation); it is what one
    evaluates, the iterates themselves are plain (decayed) SGD.

    ``effective_lr`` is η; ``direction`` is :math:`g_t + \lambda_a w_{t-1}`.
    """

    algorithm = "asgd"
    reference = "torch.optim.ASGD"
    hyperparams = (
        lr_param(1e-2),
        HyperParam("lambd", float, 1e-4,
                   "decay term λ: shrinks the weights by λ·η and slows the step size decay",
                   low=0.0, high=1e3, symbol="\u03bb<sub>a</sub>"),
        HyperParam("alpha", float, 0.75, "power of the step size decay η = lr / (1 + λ lr t)^alpha",
                   low=0.0, high=10.0, symbol="\u03b1<sub>a</sub>"),
        HyperParam("t0", float, 1e6, "step at which averaging starts", low=0.0, high=1e9,
                   symbol="t<sub>0</sub>"),
        weight_decay_param(),
    )
    State = ASGDState

    def initial_values(self) -> dict[str, Any]:
        return {"eta": self._coef["lr"], "mu": 1.0}

    def update(self, c: Coefs, params: np.ndarray, grads: np.ndarray, state: ASGDState,
               step: int, out_params: np.ndarray, out: Out, info: Info | None) -> None:
        lambd = c["lambd"]
        grad = l2(params, grads, c["weight_decay"])
        # torch creates eta = lr at the first step, then keeps what each step set
        eta = c["lr"] if step == 1 else state.eta[:, :1]
        np.multiply(params, 1 - lambd * eta, out=out_params)  # param.mul_(1 - lambd * eta)
        t = grad * -eta
        out_params += t                                       # param.add_(grad, alpha=-eta)
        # averaging with the previous mu: ax += (param - ax) * mu, or ax = param at mu 1
        mu = state.mu[:, :1]
        ax = out["ax"]
        same = mu == 1
        np.subtract(out_params, state.ax, out=ax)
        ax *= mu
        ax += state.ax
        if not nowhere(same):
            np.copyto(ax, out_params, where=same)
        out["eta"][...] = self.each(next_eta, step, c, "lr", "lambd", "alpha")
        out["mu"][...] = self.each(next_mu, step, c, "t0")
        if info is not None:
            info.update(grad=grad, eta_step=full(params, eta), mu_step=full(params, mu),
                        ax=ax, eta=out["eta"], mu=out["mu"], effective_lr=full(params, eta),
                        direction=grad + lambd * params)

    # -- what the inspector shows ---------------------------------------------
    def quantities(self) -> dict[str, Quantity]:
        q: dict[str, Quantity] = {}
        q["eta"] = Quantity(f"\u03b7{T}", "step size of the next step", scalar=True)
        q["eta_prev"] = Quantity(f"\u03b7{T1}", "step size of this step",
                                 "set by the previous step", scalar=True)
        q["eta_step"] = q["eta_prev"]
        q["mu"] = Quantity(f"\u03bc{T}", "averaging weight of the next step", scalar=True)
        q["mu_prev"] = Quantity(f"\u03bc{T1}", "averaging weight of this step",
                                "1: the average is the position itself", scalar=True)
        q["mu_step"] = q["mu_prev"]
        q["ax"], q["ax_prev"] = state_quantity(
            "w\u0304", "average of the positions", "what ASGD returns for evaluation")
        return q

    def rule(self, t: int | None) -> list[Rule]:
        eqs = gradient_rule(self)
        eqs.append(("eta", S("lr") / (1 + S("lambd") * S("lr") * S("t")) ** S("alpha"),
                    "the next step's size"))
        eqs.append(("mu", 1 / maximum(Num.of(1), S("t") - S("t0")),
                    "the average moves once t > t\u2080 + 1"))
        eta = S("lr") if t == 1 else S("eta_prev")
        step = Neg(eta * S("lambd") * S("w_prev")) - eta * S("grad")
        update, w = apply_rule(self, step)
        eqs.append((update[0], update[1],
                    "the first step's \u03b7 is \u03b1" if t == 1 else "\u03b7 was set by the previous step"))
        new = S("w_prev") + S("update")
        if t is not None and t <= self.hp["t0"] + 2:  # mu_prev = 1
            eqs.append(("ax", new, "\u03bc = 1: the average is the new position"))
        else:
            eqs.append(("ax", S("ax_prev") + S("mu_prev") * (new - S("ax_prev")),
                        "the running average of the positions (where \u03bc < 1)"))
        return eqs + [w]

    def note(self) -> str:
        return " ".join([NOTE, *decay_note(self)])


NOTE = (
    "ASGD is plain gradient descent whose step size η shrinks slowly, as "
    "lr/(1 + λ·lr·t)^0.75, and which keeps the running average w\u0304 of its own positions. "
    "On a noisy problem the iterates jitter around the minimum while their average "
    "settles on it: that average is the answer ASGD gives. The averaging starts at "
    "step t₀ (10⁶ by default, so here w\u0304 is just the position unless you lower t₀). "
    "The decay term λ also shrinks the weights a little at every step."
)

ORDER = 80
KINDS = (OptimizerKind("asgd", ASGD,
                       "ASGD: SGD with a slowly decaying step size and an average of the positions",
                       title="ASGD"),)
