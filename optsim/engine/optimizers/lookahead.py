r"""Lookahead (pytorch-optimizer 4.1.0's ``Lookahead``): a wrapper around any
optimizer, written after it: ``adam:lr=0.01+lookahead:k=5,alpha=0.5``.

The wrapped optimizer takes its steps as usual (the fast weights); every ``k``-th
step Lookahead pulls them towards the slow weights it keeps,
``fast.lerp_(slow, 1 − alpha)``, and the result becomes the new slow weights (and
the parameters). The window draws the slow weights as a second marker.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Mapping
from functools import cache
from typing import Any

import numpy as np

from ..base import Coefs, Info, Optimizer, Out, Point, Rule
from ..expr import Quantity, S, T, state_quantity
from ..hyperparams import HyperParam, Value
from ..registry import WrapperKind
from ..transforms import lerp, nowhere

PARAMS = (
    HyperParam("k", int, 5, "every k steps the fast weights are pulled towards the slow ones",
               low=1, high=10**6, symbol="k"),
    HyperParam("alpha", float, 0.5, "how far the slow weights move towards the fast ones "
               "(1: to them, 0: not at all)", low=0.0, high=1.0,
               symbol="\u03b1<sub>slow</sub>"),
)
K, ALPHA = "lookahead_k", "lookahead_alpha"


class Lookahead(Optimizer):
    """The wrapped optimizer ``base`` (an instance of ``base_cls``) with Lookahead's
    slow weights: the state is the base's and ``slow_params``."""

    reference = "pytorch_optimizer.Lookahead"
    base_cls: type[Optimizer]
    extra_points = (Point("slow_params", "\u03c6<sub>t</sub>", "slow weights (Lookahead)"),)

    def __init__(self, name: str | None = None, defaults: dict[str, Value] | None = None,
                 tied: dict[str, str] | None = None, **values: Any) -> None:
        own = {k: values.pop(k) for k in (K, ALPHA) if k in values}
        base_name = (name or self.algorithm).split("+")[0]
        #: the wrapped optimizer
        self.base: Optimizer = self.base_cls(base_name, defaults, tied, **values)
        super().__init__(name, defaults, tied, **values, **own)

    # -- the base's traits and checks -------------------------------------------
    def live_fields(self) -> tuple[str, ...]:
        return (*self.base.live_fields(), "slow_params")

    def has_momentum(self) -> bool:
        return self.base.has_momentum()

    def decoupled(self) -> bool:
        return self.base.decoupled()

    def check_values(self, values: Coefs) -> None:
        self.base.check_values(values)

    def init(self, params: np.ndarray) -> Any:
        """The base's state, and the slow weights at the parameters."""
        return self.State(*self.base.init(params), np.array(params, dtype=np.float64))

    def scalars(self, c: Coefs, step: int) -> Coefs:
        return self.base.scalars(c, step)

    def widths(self, dim: int) -> dict[str, int]:
        return self.base.widths(dim)

    def update(self, c: Coefs, params: np.ndarray, grads: np.ndarray, state: Any, step: int,
               out_params: np.ndarray, out: Out, info: Info | None, **closure: Any) -> None:
        base_state = tuple.__new__(self.base.State, state[:-1])
        self.base.update(c, params, grads, base_state, step, out_params, out, info, **closure)
        slow = out["slow_params"]
        np.copyto(slow, state.slow_params)
        sync = step % c[K] == 0  # the counter reaching k (per run)
        if nowhere(sync):
            return
        fast = out_params.copy()
        pulled = lerp(fast, state.slow_params, 1.0 - c[ALPHA], np.empty_like(fast))
        np.copyto(out_params, pulled, where=sync)
        np.copyto(slow, out_params, where=sync)
        if info is not None:
            info["fast_params"] = fast
            pull = out_params - fast
            info["lookahead_pull"] = pull
            eff = info.get("effective_lr")
            if eff is not None and "direction" in info:
                # update = −effective_lr · direction, the pull included
                with np.errstate(divide="ignore", invalid="ignore"):
                    info["direction"] = np.where(eff != 0, info["direction"] - pull / eff,
                                                 info["direction"])
            info["slow_params"] = slow

    def points(self, params: np.ndarray, state: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {**self.base.points(params, state), "slow_params": state["slow_params"]}

    # -- what the inspector shows ---------------------------------------------
    def rule(self, t: int | None) -> list[Rule]:
        eqs = self.base.rule(t)
        k = int(self.hp[K])
        if t is not None and t % k:
            return eqs
        when = f"every {k}th step (t = {k}, {2 * k}, ...); other steps: as above" \
            if t is None else f"step {t}: the {t // k}th pull towards the slow weights"
        out: list[Rule] = []
        for key, rhs, note in eqs:
            if key == "update":
                out.append(("fast_update", rhs, note))
            elif key == "w":
                out.append(("fast_params", S("w_prev") + S("fast_update"), "the fast weights"))
            else:
                out.append((key, rhs, note))
        out.append(("slow_params", S("slow_params_prev")
                    + S(ALPHA) * (S("fast_params") - S("slow_params_prev")), when))
        out.append(("update", S("slow_params") - S("w_prev"), "the fast weights start again "
                    "from the slow ones"))
        out.append(("w", S("w_prev") + S("update"), ""))
        return out

    def quantities(self) -> dict[str, Quantity]:
        q = dict(self.base.quantities())
        q["slow_params"], q["slow_params_prev"] = state_quantity(
            "\u03c6", "slow weights (Lookahead)", "pulled towards the fast weights every k steps")
        q["fast_params"] = Quantity(f"w<sup>fast</sup>{T}", "fast weights: the base step's result")
        q["fast_update"] = Quantity(f"\u0394w<sup>fast</sup>{T}", "the base optimizer's step")
        q["lookahead_pull"] = Quantity(f"\u0394w<sup>pull</sup>{T}",
                                       "the pull towards the slow weights")
        return q

    def note(self) -> str:
        return (f"{NOTE.format(k=self.hp[K], alpha=self.hp[ALPHA])} "
                f"{self.base.note()}")

    @property
    def spec(self) -> str:
        """``<base spec>+lookahead[:k=..,alpha=..]``."""
        if self.rows is not None:
            return super().spec  # (refused: per-run hyperparameters)
        changed = [f"{p.name}={_text(self.hp[WRAPPER.key(p.name)])}" for p in PARAMS
                   if self.hp[WRAPPER.key(p.name)] != p.default]
        base = self.base.spec
        # (the base's name is the kind's first part)
        return base + "+lookahead" + (":" + ",".join(changed) if changed else "")


def _text(v: Value) -> str:
    return repr(v) if isinstance(v, float) else str(v)


NOTE = (
    "Lookahead keeps a second, slow copy of the weights (the hollow marker): the "
    "optimizer below takes {k} ordinary steps, then the slow weights move {alpha:g} of "
    "the way towards where those steps ended, and the fast weights start again from "
    "there."
)


@cache
def wrap(base: type[Optimizer]) -> type[Optimizer]:
    """The class of ``base`` wrapped in Lookahead (made once per base class)."""
    state = namedtuple(f"Lookahead{base.State.__name__}",  # type: ignore[misc]
                       (*base.State._fields, "slow_params"))
    return type(f"Lookahead{base.__name__}", (Lookahead,), {
        "algorithm": f"{base.algorithm}+lookahead",
        "base_cls": base,
        "hyperparams": (*base.hyperparams, *WRAPPER.hyperparams),
        "State": state,
        "rescales": base.rescales,
        "momentum_fields": base.momentum_fields,
        **{trait: getattr(base, trait) for trait in ("needs_closure", "hidden_fields",
                                                     "extra_info") if hasattr(base, trait)},
        "extra_points": (*Lookahead.extra_points, *base.extra_points),
        "__module__": __name__,
    })


WRAPPER = WrapperKind("lookahead", "Lookahead: every k steps, pull the weights towards "
                      "slow weights kept aside", PARAMS, wrap, title="Lookahead",
                      reference="pytorch_optimizer.Lookahead")

ORDER = 1000
KINDS = ()
WRAPPERS = (WRAPPER,)
