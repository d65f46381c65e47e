r"""Rprop, resilient backpropagation (torch.optim.Rprop)."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..base import Coefs, Info, Optimizer, Out, Rule
from ..expr import Neg, Quantity, S, maximum, minimum, sign, state_quantity
from ..hyperparams import HyperParam, lr_param
from ..registry import OptimizerKind
from ..transforms import apply_rule


class RpropState(NamedTuple):
    step: int
    #: the gradient of the last step (0 where its sign flipped)
    prev: np.ndarray
    #: each coordinate's own step size
    step_size: np.ndarray


class Rprop(Optimizer):
    r"""Rprop (Riedmiller & Braun): every coordinate moves by a step size of its own
    against the sign of its gradient; the step size grows while the sign stays and
    shrinks when it flips.

    .. math::
        f_t &= \eta_+ \text{ where } g_t g_{t-1} > 0,\
               \eta_- \text{ where } g_t g_{t-1} < 0,\ 1 \text{ elsewhere} \\
        \Delta_t &= \min(\max(\Delta_{t-1} f_t,\ \Delta_{\min}),\ \Delta_{\max}),
            \quad \Delta_0 = \gamma \\
        g_t &\leftarrow 0 \text{ where the sign flipped} \\
        w_t &= w_{t-1} - \operatorname{sign}(g_t)\, \Delta_t

    The size of the gradient is never used, only its sign. As torch (the variant
    without weight backtracking, "Rprop−"): where the sign flipped the coordinate
    does not move and its stored gradient is zeroed, so that the next step counts as
    "no sign information" (factor 1). The learning rate is only the first step size
    Δ₀ (torch copies it into the state at the first step): a schedule that changes
    it later changes nothing, as in torch.

    ``effective_lr`` is Δₜ; ``direction`` is sign(gₜ) (zeroed where it flipped).
    """

    algorithm = "rprop"
    reference = "torch.optim.Rprop"
    hyperparams = (
        lr_param(1e-2),
        HyperParam("eta_minus", float, 0.5,
                   "η−: the step size's factor where the gradient's sign flipped (torch's etas[0])",
                   low=0.0, high=1.0, low_open=True, high_open=True,
                   symbol="\u03b7<sub>\u2212</sub>"),
        HyperParam("eta_plus", float, 1.2,
                   "η+: the step size's factor where the sign stayed (torch's etas[1])",
                   low=1.0, high=1e3, low_open=True, symbol="\u03b7<sub>+</sub>"),
        HyperParam("step_size_min", float, 1e-6,
                   "smallest step size (torch's step_sizes[0])", low=0.0, high=1e6, log=True,
                   symbol="\u0394<sub>min</sub>"),
        HyperParam("step_size_max", float, 50.0,
                   "largest step size (torch's step_sizes[1])", low=0.0, high=1e6, log=True,
                   symbol="\u0394<sub>max</sub>"),
    )
    State = RpropState
    #: sign(g)·Δ: each coordinate's gradient divided by its own size, times its own Δ
    rescales = True

    def check(self) -> None:
        low, high = self.hp["step_size_min"], self.hp["step_size_max"]
        bad = np.asarray(np.greater(low, high))
        if bad.any():
            i = int(np.argmax(bad)) if bad.ndim else None
            at = f"[{i}]" if i is not None else ""
            lo = low[i] if isinstance(low, np.ndarray) else low
            hi = high[i] if isinstance(high, np.ndarray) else high
            raise ValueError(f"{self.name}: step_size_min{at}={lo:g} is above "
                             f"step_size_max{at}={hi:g}; the smallest step size must not "
                             "exceed the largest")

    def initial_values(self) -> dict[str, Any]:
        return {"step_size": self._coef["lr"]}

    def update(self, c: Coefs, params: np.ndarray, grads: np.ndarray, state: RpropState,
               step: int, out_params: np.ndarray, out: Out, info: Info | None) -> None:
        eta_minus = c["eta_minus"]
        # torch creates step_size = lr at the first step; later lrs are not used
        size_prev = np.broadcast_to(c["lr"], params.shape) if step == 1 else state.step_size
        sign_ = np.sign(grads * state.prev)
        factor = np.where(sign_ > 0, c["eta_plus"], sign_)  # sign[sign.gt(0)] = etaplus
        factor = np.where(factor < 0, eta_minus, factor)    # sign[sign.lt(0)] = etaminus
        factor = np.where(factor == 0, 1.0, factor)         # sign[sign.eq(0)] = 1
        step_size = np.multiply(size_prev, factor, out=out["step_size"])
        np.clip(step_size, c["step_size_min"], c["step_size_max"], out=step_size)
        flipped = factor == eta_minus
        grad = out["prev"]
        np.copyto(grad, grads)
        grad[flipped] = 0.0  # grad[sign.eq(etaminus)] = 0
        direction = np.sign(grad)
        np.multiply(direction, step_size, out=out_params)
        np.subtract(params, out_params, out=out_params)  # param.addcmul_(sign, size, value=-1)
        if info is not None:
            info.update(grad=grads, factor=factor, kept=(~flipped).astype(np.float64),
                        prev=grad, step_size=step_size, effective_lr=step_size.copy(),
                        direction=direction)

    # -- what the inspector shows ---------------------------------------------
    def quantities(self) -> dict[str, Quantity]:
        q: dict[str, Quantity] = {}
        q["prev"], q["prev_prev"] = state_quantity(
            "g\u0303", "the gradient kept for the next step", "0 where its sign flipped")
        q["step_size"], q["step_size_prev"] = state_quantity("\u0394", "step size, per coordinate")
        q["factor"] = Quantity("f<sub>t</sub>", "the step size's factor",
                               "η+ where g·g̃ > 0 (same sign), η− where < 0 (flipped), "
                               "1 where 0")
        q["kept"] = Quantity("k<sub>t</sub>", "1 where the sign did not flip, 0 where it did")
        return q

    def rule(self, t: int | None) -> list[Rule]:
        eqs: list[Rule] = [("grad", S("raw_grad"), "")]
        size_prev = S("lr") if t == 1 else S("step_size_prev")
        eqs.append(("step_size",
                    minimum(maximum(size_prev * S("factor"), S("step_size_min")),
                            S("step_size_max")),
                    "Δ₀ is the learning rate" if t == 1 else
                    "grow where the sign stayed, shrink where it flipped"))
        eqs.append(("prev", S("kept") * S("grad"), "no step where the sign flipped"))
        return eqs + apply_rule(self, Neg(sign(S("prev")) * S("step_size")))

    def note(self) -> str:
        return NOTE


NOTE = (
    "Rprop ignores how large the gradient is and uses only its sign. Every coordinate "
    "has a step size Δ of its own: it grows by η+ (1.2) while the gradient keeps its "
    "sign and shrinks by η− (0.5) when the sign flips, because then the last step "
    "jumped over a minimum. Where the sign flipped the coordinate waits one step. "
    "It works well with full-batch gradients, as here, and badly with noisy ones. "
    "The learning rate is only the first step size Δ₀."
)

ORDER = 82
KINDS = (OptimizerKind("rprop", Rprop,
                       "Rprop: a step size per coordinate, grown or shrunk by the gradient's sign",
                       title="Rprop"),)
