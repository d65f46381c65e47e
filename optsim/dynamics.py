"""Training dynamics of one trajectory: its learning-rate schedule, gradient noise
and clipping, applied step by step in a training loop's order, and what each step
used (learning rate, cycled momentum/beta1, whether clipping acted), recorded so
that any past step can be shown and explained.

A training loop does, for step t = 1, 2, ...::

    g = gradient(w)                  # + noise: a stochastic gradient
    clip(g)                          # clip_grad_norm_ / clip_grad_value_
    optimizer.step()                 # with lr_t (and beta1_t / momentum_t)
    scheduler.step()                 # or scheduler.step(loss): lr_{t+1}

:class:`Dynamics` holds the scheduler and the noise generator and hands the
simulation each step's values; the simulation (the only place that steps) calls it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .engine import Optimizer, optimizer_kind
from .gradients import Clip, parse_clip, parse_noise
from .schedules import Schedule, as_schedule, momentum_name


class Dynamics:
    """The schedule, noise and clipping of N runs, and their per-step record.

    Step ``k`` (from 1) goes from position k−1 to k; its values are stored at index
    k−1 (as the gradient it used). ``optimizer`` is the optimizer to step: the given
    one, or, when a cyclic schedule switches on a momentum the optimizer was made
    without (torch's OneCycleLR sets ``momentum`` of a plain SGD), the same one with
    that momentum.
    """

    def __init__(self, optimizer: Optimizer, n: int, *, schedule: str | Schedule | None = None,
                 noise: Any = None, clip: str | Clip | None = None, seed: int = 0,
                 function: Any = None, capacity: int = 64) -> None:
        self.schedule = as_schedule(schedule)
        self.noise = parse_noise(noise)
        self.clip = parse_clip(clip)
        self.seed = int(seed)
        self.n = n
        if self.noise is not None and function is not None:
            self.noise.check_function(function)
        self.rng = np.random.default_rng(self.seed) if self.noise is not None else None
        self.target: str | None = None
        self._sched = None
        self._at = 1  # the step whose values the scheduler holds
        if self.schedule is not None:
            self.target = momentum_name(optimizer.hp)
            base = optimizer.hp[self.target] if self.target else None
            lr = optimizer.hp["lr"]
            if self.schedule.needs_loss:  # each run's lr follows its own losses
                lr = np.full(n, lr, dtype=np.float64) if np.ndim(lr) == 0 else lr
            self._sched = self.schedule.start(lr, base)
            if not self.schedule.cycles_momentum:
                self.target = None
            elif np.any(np.asarray(base) == 0):
                optimizer = _with_value(optimizer, self.target, self._sched.momentum)
        self.optimizer = optimizer
        cap = max(2, capacity)
        self._lr = np.empty((cap, n)) if self.schedule is not None else None
        self._mom = np.empty((cap, n)) if self.target is not None else None
        self._clipped = np.zeros((cap, n), dtype=bool) if self.clip is not None else None

    @property
    def active(self) -> bool:
        """Whether anything here changes a step (else the plain fast paths are used)."""
        return self.schedule is not None or self.clip is not None or (
            self.noise is not None and self.noise.name != "gaussian")

    def check_steps(self, last: int) -> None:
        """A clear error before stepping, if the schedule ends before step ``last``."""
        end = self.schedule.max_steps if self.schedule is not None else None
        if end is not None and last > end:
            raise ValueError(f"{self.schedule.name}: the schedule ends at step {end} "
                             f"(total_steps), but step {last} was asked for; raise "
                             f"total_steps or take fewer steps")

    def grow(self, cap: int, keep: int) -> None:
        for name in ("_lr", "_mom", "_clipped"):
            old = getattr(self, name)
            if old is None or len(old) >= cap:
                continue
            new = np.zeros((cap,) + old.shape[1:], dtype=old.dtype)
            new[:keep] = old[:keep]
            setattr(self, name, new)

    # -- one step -------------------------------------------------------------
    def noisy(self, grads: np.ndarray, function: Any, params: np.ndarray) -> np.ndarray:
        """The gradient a step sees at ``params`` (exact: ``grads``)."""
        if self.noise is None:
            return grads
        return self.noise.apply(grads, self.rng, function, params)

    def values_for(self, k: int, losses: np.ndarray) -> tuple[Any, dict[str, Any] | None]:
        """Step ``k``'s learning rate and per-step values (None, None: the declared
        ones). ``losses[j]`` is the loss at position j (ReduceLROnPlateau is given the
        loss where the previous step's gradient was taken)."""
        if self._sched is None:
            return None, None
        while self._at < k:
            self._sched.step(losses[self._at - 1] if self.schedule.needs_loss else None)
            self._at += 1
        lr = self._sched.lr
        self._lr[k - 1] = lr
        if self.target is None:
            return _number(lr), None
        mom = self._sched.momentum
        self._mom[k - 1] = mom
        return _number(lr), {self.target: _number(mom)}

    def clipped(self, k: int, grads: np.ndarray) -> np.ndarray:
        """Step ``k``'s gradient after clipping (recording where it acted)."""
        if self.clip is None:
            return grads
        out, acted = self.clip.apply(grads)
        self._clipped[k - 1] = acted
        return out

    # -- the record -------------------------------------------------------------
    def lr_at(self, k: int) -> Any:
        """The learning rate step ``k`` used, per run (None: the declared lr)."""
        return None if self._lr is None else self._lr[k - 1].copy()

    def values_at(self, k: int) -> dict[str, Any] | None:
        return None if self._mom is None else {self.target: self._mom[k - 1].copy()}

    def optimizer_at(self, k: int, run: int) -> Optimizer:
        """Run ``run``'s optimizer as step ``k`` used it: its hyperparameters with that
        step's learning rate (and cycled momentum/beta1) in, for the inspector."""
        opt = self.optimizer.row(run) if hasattr(self.optimizer, "row") else self.optimizer
        if self._lr is None:
            return opt
        values = {key: v for key, v in opt.hp.items() if key not in opt.tied}
        values["lr"] = float(self._lr[k - 1, run])
        if self._mom is not None:
            values[self.target] = float(self._mom[k - 1, run])
        return optimizer_kind(opt.name).create(**values)

    def clipped_at(self, k: int) -> np.ndarray:
        """Per run: whether clipping changed step ``k``'s gradient."""
        if self._clipped is None:
            return np.zeros(self.n, dtype=bool)
        return self._clipped[k - 1].copy()

    def history(self, steps: int) -> dict[str, np.ndarray]:
        """``lr`` (steps, N), ``momentum`` (if cycled), ``clipped`` (if clipping) of
        steps 1..``steps``."""
        out = {}
        if self._lr is not None:
            out["lr"] = self._lr[:steps]
        if self._mom is not None:
            out[self.target] = self._mom[:steps]
        if self._clipped is not None:
            out["clipped"] = self._clipped[:steps]
        return out

    def memory_bytes(self) -> int:
        return sum(a.nbytes for a in (self._lr, self._mom, self._clipped) if a is not None)


def _number(v: Any) -> Any:
    """A float for the engine's fast path (one value for every run), else the array."""
    if isinstance(v, np.ndarray):
        if v.ndim == 0:
            return float(v)
        return v
    return float(v)


def _with_value(opt: Optimizer, name: str, value: Any) -> Optimizer:
    """``opt`` with hyperparameter ``name`` set to ``value``, everything else kept."""
    values = {k: v for k, v in opt.hp.items() if k not in opt.tied}
    values[name] = _number(value)
    return optimizer_kind(opt.name).create(**values)
