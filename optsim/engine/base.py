"""The optimizer protocol: declared hyperparameters, an explicit state, a pure step.

An optimizer steps parameters of shape (N, D): N independent runs at once, each a
point in D dimensions, in one vectorised NumPy step with no loop over runs.
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

import numpy as np

from .hyperparams import HyperParam, Value

Info = dict[str, np.ndarray]


class Optimizer:
    """Base class. Subclasses declare ``hyperparams`` and ``State`` and implement
    ``init`` and ``_update``.

    ``_update(params, grads, state, info)`` returns ``(new_params, new_state)`` and,
    when ``info`` is a dict, also fills it with the intermediate quantities of the
    step (bias-corrected moments, effective learning rate, ...). It never modifies
    its inputs: the step is pure.
    """

    #: the algorithm's name (the registry may expose variants under other names)
    algorithm: ClassVar[str]
    #: the declared hyperparameters, in display order
    hyperparams: ClassVar[tuple[HyperParam, ...]]
    #: the state's NamedTuple type; its fields use torch.optim's names
    State: ClassVar[type]

    def __init__(self, name: str | None = None, defaults: dict[str, Value] | None = None,
                 **values: Any) -> None:
        self.name = name or self.algorithm
        self.declared = tuple(
            p.with_default(defaults[p.name]) if defaults and p.name in defaults else p
            for p in self.hyperparams
        )
        known = {p.name: p for p in self.declared}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ValueError(
                f"{self.name}: unknown hyperparameter {unknown[0]!r}; "
                f"known: {', '.join(known)}"
            )
        self.hp: dict[str, Value] = {
            p.name: p.validate(values.get(p.name, p.default), self.name) for p in self.declared
        }
        self.check()

    # -- declared interface -------------------------------------------------
    def check(self) -> None:
        """Cross-checks between hyperparameters (as torch.optim makes them)."""

    def init(self, params: np.ndarray) -> NamedTuple:
        """The state before the first step, for parameters of shape (N, D)."""
        raise NotImplementedError

    def _update(self, params: np.ndarray, grads: np.ndarray, state: Any,
                info: Info | None) -> tuple[np.ndarray, Any]:
        raise NotImplementedError

    # -- public API ---------------------------------------------------------
    def step(self, params: np.ndarray, grads: np.ndarray, state: Any) -> tuple[np.ndarray, Any]:
        """One step: (params, grads, state) -> (new params, new state)."""
        return self._update(params, grads, state, None)

    def step_with_info(self, params: np.ndarray, grads: np.ndarray,
                       state: Any) -> tuple[np.ndarray, Any, Info]:
        """One step, plus its intermediate quantities by name.

        Every optimizer reports at least ``grad`` (the gradient as used, after
        weight decay), ``update`` (the step actually applied: new − old params) and
        ``effective_lr`` (the per-coordinate factor that multiplies the update's
        direction, see each class's docstring).
        """
        info: Info = {}
        new_params, new_state = self._update(params, grads, state, info)
        info["update"] = new_params - params
        return new_params, new_state, info

    @property
    def spec(self) -> str:
        """A spec string that recreates this optimizer, e.g. ``adam:lr=0.01``."""
        changed = [
            f"{p.name}={_spec_value(self.hp[p.name])}"
            for p in self.declared if self.hp[p.name] != p.default
        ]
        return self.name + (":" + ",".join(changed) if changed else "")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hp.items())
        return f"{type(self).__name__}({self.name!r}, {args})"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Optimizer) and type(self) is type(other)
                and self.name == other.name and self.hp == other.hp)

    def __hash__(self) -> int:
        return hash((type(self), self.name, tuple(self.hp.items())))


def _spec_value(v: Value) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return repr(v) if isinstance(v, float) else str(v)


def as_batch(params: np.ndarray) -> np.ndarray:
    """A float64 (N, D) copy of ``params``."""
    a = np.array(params, dtype=np.float64, copy=True)
    if a.ndim != 2:
        raise ValueError(f"parameters must have shape (N, D), got {a.shape}")
    return a
