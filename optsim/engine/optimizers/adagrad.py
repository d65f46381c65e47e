r"""Adagrad (torch.optim.Adagrad)."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..base import Coefs, Info, Optimizer, Out, Rule, Stability, per_run
from ..expr import Neg, Quantity, S, T, sqrt, state_quantity
from ..hyperparams import HyperParam, eps_param, lr_param, weight_decay_param
from ..registry import OptimizerKind
from ..transforms import apply_rule, decay_note, full, gradient_rule, l2


class AdagradState(NamedTuple):
    step: int
    sum: np.ndarray


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al.): divide by the root of the sum of all squared gradients.

    .. math::
        g_t &\leftarrow g_t + \lambda w_{t-1} \\
        \tilde\gamma_t &= \gamma / (1 + (t-1)\eta) \\
        s_t &= s_{t-1} + g_t^2, \quad s_0 = \text{initial\_accumulator\_value} \\
        w_t &= w_{t-1} - \tilde\gamma_t\, g_t / (\sqrt{s_t} + \epsilon)

    (η = ``lr_decay``.) The sum never decays, so steps only ever shrink: the
    difference from RMSProp, which keeps a moving average instead. ε is added
    after the square root, as in torch (some write :math:`\sqrt{s_t + \epsilon}`).
    The decay divides this step's γ (when a schedule changes γ, as torch: the
    current γ over 1 + (t−1)η).

    ``effective_lr`` is :math:`\tilde\gamma_t/(\sqrt{s_t}+\epsilon)`; ``direction``
    is :math:`g_t`. ``lr_t`` is :math:`\tilde\gamma_t`, ``std`` the denominator.
    """

    algorithm = "adagrad"
    reference = "torch.optim.Adagrad"
    hyperparams = (
        lr_param(1e-2),
        HyperParam("lr_decay", float, 0.0,
                   "learning-rate decay η: step t uses lr / (1 + (t − 1) η)", low=0.0, high=1e3,
                   symbol="\u03b7"),
        weight_decay_param(),
        HyperParam("initial_accumulator_value", float, 0.0,
                   "starting value of the sum of squared gradients", low=0.0, high=1e6,
                   symbol="s<sub>0</sub>"),
        eps_param(1e-10),
    )
    State = AdagradState
    rescales = True

    def initial_values(self) -> dict[str, Any]:
        return {"sum": self._coef["initial_accumulator_value"]}

    def stability(self, c: Coefs, state: AdagradState, step: int) -> Stability:
        """With its denominator P = √(sum) + ε frozen, Adagrad is gradient descent on
        P⁻¹H with the decayed rate lr_t: stable while λmax(P⁻¹H) < 2/lr_t. P comes from
        the state before the step (a zero sum before the first step: NaN)."""
        n = state.sum.shape[0]
        clr = per_run(c["lr"], n) / (1 + (step - 1) * per_run(c["lr_decay"], n))
        precond = np.sqrt(state.sum) + per_run(c["eps"], n)[:, None]
        precond[(state.sum == 0).all(axis=1)] = np.nan
        return Stability(2 / clr, precond, "2/lr\u209c")

    def update(self, c: Coefs, params: np.ndarray, grads: np.ndarray, state: AdagradState,
               step: int, out_params: np.ndarray, out: Out, info: Info | None) -> None:
        grad = l2(params, grads, c["weight_decay"])
        clr = c["lr"] / (1 + (step - 1) * c["lr_decay"])
        s = np.multiply(grad, grad, out=out["sum"])  # sum.addcmul_(grad, grad, value=1)
        s += state.sum
        std = np.sqrt(s)
        std += c["eps"]
        np.multiply(grad, -clr, out=out_params)
        out_params /= std
        out_params += params
        if info is not None:
            info.update(grad=grad, sum=s, lr_t=full(params, clr), std=std, denom=std,
                        effective_lr=clr / std, direction=grad)

    # -- what the inspector shows ---------------------------------------------
    def quantities(self) -> dict[str, Quantity]:
        q: dict[str, Quantity] = {}
        q["sum"], q["sum_prev"] = state_quantity("s", "sum of all squared gradients so far")
        q["lr_t"] = Quantity(f"\u03b1{T}", "decayed learning rate", scalar=True)
        return q

    def rule(self, t: int | None) -> list[Rule]:
        eqs = gradient_rule(self)
        eqs.append(("lr_t", S("lr") / (1 + (S("t") - 1) * S("lr_decay")), "learning-rate decay"))
        eqs.append(("sum", S("sum_prev") + S("grad") ** 2, ""))
        return eqs + apply_rule(self, Neg(S("lr_t") * S("grad") / (sqrt(S("sum")) + S("eps"))))

    def note(self) -> str:
        return " ".join([NOTE, *decay_note(self)])


NOTE = (
    "Adagrad was the first adaptive method: it adds up all squared gradients of each "
    "coordinate in s and divides the gradient by √s. Coordinates that have seen large "
    "gradients slow down. Since s only grows, every step gets smaller, and after "
    "many steps Adagrad can almost stop; RMSProp replaces the sum by a moving "
    "average to fix that."
)

ORDER = 20
KINDS = (OptimizerKind("adagrad", Adagrad,
                       "Adagrad: divide by the root of the sum of all squared gradients",
                       title="Adagrad"),)
