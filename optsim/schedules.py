r"""Learning-rate schedules, equal to ``torch.optim.lr_scheduler`` step for step.

A schedule is declared like an optimizer (``ScheduleKind`` with parameter
declarations, so the command line's ``list`` and the window's editors are built
from them) and written after the optimizer's spec with ``+``::

    sgd:lr=0.1,momentum=0.9+onecyclelr:max_lr=0.5,total_steps=300
    adam:lr=0.01+multisteplr:milestones=[30;80],gamma=0.1
    adam:lr=0.01+linearlr:start_factor=0.1,total_iters=10+exponentiallr:gamma=0.99

Lists are written in brackets with ``;`` between the items; several schedules after
the optimizer are chained (``ChainedScheduler``); ``sequentiallr`` takes its
schedules as a list: ``sequentiallr:schedulers=[linearlr:total_iters=10;
cosineannealinglr:T_max=90],milestones=[10]``.

Semantics are torch's: the learning rate of step *t* (counted from 1) is the one
after *t − 1* calls of ``scheduler.step()``, each following ``optimizer.step()``.
The runtime classes below follow torch 2.13's scheduler classes operation by
operation (their chainable forms, the closed forms where torch uses them, the
shared ``param_group`` that ``SequentialLR`` and ``ChainedScheduler`` pass
between their schedulers), on a "group" whose values may be Python floats or
NumPy arrays of shape (N,) (one value per run; every operation is elementwise, so
a row equals the run alone). ``CyclicLR`` and ``OneCycleLR`` also cycle the
momentum: ``beta1`` for the Adam family, ``momentum`` for SGD and RMSprop (as torch
decides by ``"betas" in optimizer.defaults``). ``ReduceLROnPlateau`` is given,
before each step after the first, the loss at the point where the previous step's
gradient was taken (what a training loop passes to ``scheduler.step(loss)``).

Where torch only warns or silently extrapolates (stepping a ``OneCycleLR`` past
``total_steps``), optsim raises a ValueError saying so. ``warmup-cosine`` and
``wsd`` are not torch classes: they are the ``LambdaLR`` schedules of Hugging Face
transformers' ``get_cosine_with_min_lr_schedule_with_warmup`` and
``get_wsd_schedule``.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .engine.hyperparams import HyperParam, _fmt
from .engine.registry import is_wrapper

Number = Any  # a float, or a float64 array of shape (N,)


# ---------------------------------------------------------------------------
# declarations


@dataclass(frozen=True)
class ScheduleParam(HyperParam):
    """A schedule's parameter: a number or flag as ``HyperParam``, or a choice
    among words (``choices``), a list of whole numbers (``kind=list``), a list of
    schedules (``kind=Schedule``); ``optional`` allows ``none`` (torch's None);
    ``required`` marks a parameter torch has no default for (``default`` is then
    only the editor's first suggestion)."""

    choices: tuple[str, ...] = ()
    optional: bool = False
    required: bool = False

    def range_text(self) -> str:
        if self.choices:
            text = " | ".join(self.choices)
        elif self.kind is list:
            text = f"list [a;b;...] of whole numbers in {HyperParam.range_text(self)}"
        elif self.kind is Schedule:
            text = "list [schedule;schedule;...]"
        else:
            text = HyperParam.range_text(self)
        return text + (" or none" if self.optional else "")

    def validate(self, value: Any, owner: str = "") -> Any:
        where = f"{owner}: " if owner else ""
        if value is None and self.optional:
            return None
        if self.choices:
            if isinstance(value, str) and value.strip().lower() in self.choices:
                return value.strip().lower()
            raise ValueError(f"{where}{self.name} must be one of {', '.join(self.choices)}, "
                             f"got {value!r}")
        if self.kind is list:
            if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
                if isinstance(value, (int, float, np.integer)) and not isinstance(value, bool):
                    value = [value]
                else:
                    raise ValueError(f"{where}{self.name} must be a list of whole numbers, "
                                     f"got {value!r}")
            item = HyperParam(self.name, int, 0, self.help, low=self.low, high=self.high)
            return tuple(item.validate(v, owner) for v in value)
        if self.kind is Schedule:
            if isinstance(value, (str, Schedule)):
                value = [value]
            if not isinstance(value, Sequence) or not value:
                raise ValueError(f"{where}{self.name} must be a non-empty list of schedules")
            return tuple(as_schedule(v) for v in value)
        return HyperParam.validate(self, value, owner)

    def parse(self, text: str, owner: str = "") -> Any:
        where = f"{owner}: " if owner else ""
        t = text.strip()
        if self.optional and t.lower() in ("none", ""):
            return None
        if self.choices:
            return self.validate(t, owner)
        if self.kind in (list, Schedule):
            if not (t.startswith("[") and t.endswith("]")):
                if self.kind is list and t and "[" not in t and ";" not in t:
                    t = f"[{t}]"  # a single number: a list of one
                else:
                    raise ValueError(f"{where}{self.name} must be a list in brackets with ';' "
                                     f"between the items, e.g. [30;80], got {text!r}")
            items = [s.strip() for s in _split_top(t[1:-1], ";")] if t[1:-1].strip() else []
            if self.kind is Schedule:
                return self.validate([parse_schedule(s) for s in items], owner)
            numbers = []
            for s in items:
                try:
                    numbers.append(float(s))
                except ValueError:
                    raise ValueError(f"{where}{self.name}: {s!r} is not a number") from None
            return self.validate(numbers, owner)
        return HyperParam.parse(self, t, owner)

    def format(self, value: Any) -> str:
        """The value as written in a spec."""
        if value is None:
            return "none"
        if isinstance(value, bool):
            return "true" if value else "false"
        if self.kind is list:
            return "[" + ";".join(str(v) for v in value) + "]"
        if self.kind is Schedule:
            return "[" + ";".join(s.spec for s in value) + "]"
        if isinstance(value, float):
            return repr(value)
        return str(value)


def _p(name: str, kind: type, default: Any, help: str, **kw: Any) -> ScheduleParam:
    return ScheduleParam(name, kind, default, help, **kw)


def _steps(name: str, default: int, help: str, low: int = 1, **kw: Any) -> ScheduleParam:
    return _p(name, int, default, help, low=low, high=10**9, **kw)


def _factor(name: str, default: float, help: str, **kw: Any) -> ScheduleParam:
    return _p(name, float, default, help, **{"low": 0.0, "high": 1.0, **kw})


def _lr(name: str, default: float, help: str, **kw: Any) -> ScheduleParam:
    return _p(name, float, default, help, low=0.0, high=1e3, log=True, **kw)


def _momentum(name: str, default: float, help: str) -> ScheduleParam:
    return _p(name, float, default, help, low=0.0, high=1.0, high_open=True)


@dataclass(frozen=True)
class ScheduleKind:
    """A schedule the user can name: its parameters and the class that runs it."""

    name: str
    summary: str
    params: tuple[ScheduleParam, ...]
    runtime: type[_Scheduler]
    #: the torch.optim.lr_scheduler class it equals ("" for the two from practice)
    torch_name: str = ""

    @property
    def hyperparams(self) -> tuple[ScheduleParam, ...]:
        """The declarations (the name the optimizers use, for shared editors)."""
        return self.params

    def param(self, key: str) -> ScheduleParam:
        for p in self.params:
            if p.name == key or p.name.lower() == key.lower():
                return p
        raise ValueError(f"{self.name}: unknown parameter {key!r}; known: "
                         f"{', '.join(p.name for p in self.params)}")


@dataclass(frozen=True, eq=False)
class Schedule:
    """A configured schedule: a kind and its validated values. Immutable; ``start``
    makes the stepping scheduler for one run (or one batch of runs)."""

    kind: ScheduleKind
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.kind.name

    @property
    def spec(self) -> str:
        """The spec that recreates it: required parameters always, others when changed."""
        if self.kind.runtime is ChainedScheduler:
            return "+".join(s.spec for s in self.values["schedulers"])
        parts = [f"{p.name}={p.format(self.values[p.name])}" for p in self.kind.params
                 if p.required or self.values[p.name] != p.default]
        return self.kind.name + (":" + ",".join(parts) if parts else "")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Schedule) and self.spec == other.spec

    def __hash__(self) -> int:
        return hash(self.spec)

    def __repr__(self) -> str:
        return f"Schedule({self.spec!r})"

    @property
    def cycles_momentum(self) -> bool:
        """Whether it sets the optimizer's momentum/beta1 each step."""
        if "schedulers" in self.values:
            return any(s.cycles_momentum for s in self.values["schedulers"])
        return bool(self.values.get("cycle_momentum", False))

    @property
    def needs_loss(self) -> bool:
        """Whether each step needs the loss (ReduceLROnPlateau)."""
        return self.kind.runtime is ReduceLROnPlateau

    @property
    def max_steps(self) -> int | None:
        """The last step it has a learning rate for (None: no end)."""
        v = self.values
        if self.kind.runtime is OneCycleLR:
            return _onecycle_total(v, self.name)
        if self.kind.runtime is WarmupCosine:
            return v["total_steps"]
        if self.kind.runtime is ChainedScheduler:
            ends = [s.max_steps for s in v["schedulers"] if s.max_steps is not None]
            return min(ends) if ends else None
        if self.kind.runtime is SequentialLR:
            last = v["schedulers"][-1].max_steps
            return None if last is None else v["milestones"][-1] + last if v["milestones"] else last
        return None

    def start(self, lr: Number, momentum: Number | None = None) -> _Scheduler:
        """The scheduler for runs whose optimizer has learning rate ``lr`` and (if it
        has one) momentum or beta1 ``momentum`` (None: the optimizer has neither,
        as Adagrad and Adadelta). Its ``lr`` (and ``momentum``) are step 1's."""
        group: dict[str, Any] = {"lr": lr}
        if momentum is not None:
            group["momentum"] = momentum
        return _build(self, group)

    def lrs(self, lr: float, steps: int, momentum: float | None = None
            ) -> tuple[np.ndarray, np.ndarray | None]:
        """The learning rates (and momenta, if cycled) of steps 1..``steps``.
        Not for ``reducelronplateau``, which needs the losses."""
        if self.needs_loss:
            raise ValueError(f"{self.name} depends on the losses; step it with the run")
        s = self.start(lr, momentum)
        out = np.empty(steps)
        mom = np.empty(steps) if self.cycles_momentum else None
        for t in range(steps):
            if t:
                s.step()
            out[t] = s.lr
            if mom is not None:
                mom[t] = s.momentum
        return out, mom


SCHEDULES: dict[str, ScheduleKind] = {}


def register_schedule(kind: ScheduleKind) -> ScheduleKind:
    SCHEDULES[kind.name] = kind
    return kind


def schedule_kind(name: str) -> ScheduleKind:
    key = name.strip().lower()
    if key not in SCHEDULES:
        raise ValueError(f"unknown schedule {name.strip()!r}; known: {', '.join(SCHEDULES)}")
    return SCHEDULES[key]


def make_schedule(name: str, **values: Any) -> Schedule:
    """A validated schedule by name: ``make_schedule("steplr", step_size=30)``."""
    kind = schedule_kind(name)
    given: dict[str, Any] = {}
    for key, value in values.items():
        given[kind.param(key).name] = value
    out = {}
    for p in kind.params:
        if p.name not in given:
            if p.required:
                raise ValueError(f"{kind.name}: {p.name} is required (e.g. {p.name}="
                                 f"{p.format(p.default)}); torch has no default for it")
            out[p.name] = p.default
        else:
            out[p.name] = p.validate(given[p.name], kind.name)
    schedule = Schedule(kind, out)
    kind.runtime.check(out, kind.name)
    return schedule


def _split_top(text: str, sep: str) -> list[str]:
    """Split at ``sep`` outside brackets."""
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth < 0:
                raise ValueError(f"unbalanced ']' in {text!r}")
        if ch == sep and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if depth != 0:
        raise ValueError(f"unbalanced '[' in {text!r}")
    parts.append("".join(cur))
    return parts


def parse_schedule(spec: str) -> Schedule:
    """Parse ``"name:key=value,..."`` into a schedule (lists in brackets, ``;``
    between items). Several joined by ``+`` are chained."""
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError("empty schedule spec; expected e.g. 'steplr:step_size=30'")
    parts = split_plus(spec)
    if len(parts) > 1:
        return make_schedule("chainedscheduler", schedulers=[parse_schedule(p) for p in parts])
    name, _, rest = spec.strip().partition(":")
    kind = schedule_kind(name)
    values: dict[str, Any] = {}
    if rest.strip():
        for item in _split_top(rest, ","):
            key, eq, text = item.partition("=")
            key = key.strip()
            if not eq or not key:
                raise ValueError(f"malformed schedule spec {spec.strip()!r}: expected "
                                 f"key=value, got {item.strip()!r}")
            p = kind.param(key)
            if p.name in values:
                raise ValueError(f"{kind.name}: {p.name} given twice in {spec.strip()!r}")
            values[p.name] = p.parse(text, kind.name)
    return make_schedule(kind.name, **values)


def split_plus(spec: str) -> list[str]:
    """Split a spec at the ``+`` signs that start a new name (outside brackets,
    followed by a letter: ``lr=1e+3`` is a number)."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(spec):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "+" and depth == 0 and re.match(r"\s*[A-Za-z]", spec[i + 1:]):
            parts.append(spec[start:i])
            start = i + 1
    parts.append(spec[start:])
    return [p.strip() for p in parts]


def split_spec(spec: str) -> tuple[str, Schedule | None]:
    """``"opt-spec+schedule-spec"`` -> (the optimizer's spec, the schedule or None).
    Wrappers (``+lookahead:k=5``) stay with the optimizer's spec, wherever they are."""
    if not isinstance(spec, str):
        raise TypeError(f"expected a spec string, got {type(spec).__name__}")
    parts = split_plus(spec)
    if len(parts) == 1:
        return parts[0], None
    if not all(parts):
        raise ValueError(f"malformed spec {spec.strip()!r}: empty part around '+'")
    optimizer = "+".join([parts[0], *(p for p in parts[1:] if is_wrapper(p))])
    schedules = [p for p in parts[1:] if not is_wrapper(p)]
    return optimizer, parse_schedule("+".join(schedules)) if schedules else None


def as_schedule(schedule: str | Schedule | None) -> Schedule | None:
    """A schedule from a spec string, a Schedule, or None."""
    if schedule is None or isinstance(schedule, Schedule):
        return schedule
    if isinstance(schedule, str):
        return parse_schedule(schedule) if schedule.strip() else None
    raise TypeError(f"expected a schedule spec string or Schedule, got {type(schedule).__name__}")


def momentum_name(hyperparams: dict[str, Any]) -> str | None:
    """Which of an optimizer's hyperparameters a cyclic schedule cycles, as torch
    decides: ``beta1`` if it has betas (the Adam family), else ``momentum`` (SGD,
    RMSprop), else None (Adagrad, Adadelta)."""
    if "beta1" in hyperparams:
        return "beta1"
    if "momentum" in hyperparams:
        return "momentum"
    return None


# ---------------------------------------------------------------------------
# the runtime: torch's classes on one param group


def _where(cond: Any, a: Any, b: Any) -> Any:
    return np.where(cond, a, b) if isinstance(cond, np.ndarray) else (a if cond else b)


class _Scheduler:
    """torch.optim.lr_scheduler.LRScheduler on one param group ``group`` (a dict
    with ``lr``, ``initial_lr`` and, when the optimizer has one, ``momentum``)."""

    #: parameters, set from the schedule's values
    values: dict[str, Any]

    @staticmethod
    def check(values: dict[str, Any], name: str) -> None:
        """Cross-checks torch makes in the constructor."""

    def __init__(self, group: dict[str, Any], values: dict[str, Any], name: str) -> None:
        self.group = group
        self.values = values
        self.name = name
        self.setup()
        group.setdefault("initial_lr", group["lr"])
        self.base_lr = group["initial_lr"]
        self.last_epoch = -1
        self._step_count = 0
        self._is_initial = False
        self._initial_step()

    def setup(self) -> None:
        """What the subclass's constructor does before LRScheduler.__init__."""

    def _initial_step(self) -> None:
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def step(self, loss: Any = None) -> None:
        """One ``scheduler.step()``: the values for the next optimizer step."""
        self._step_count += 1
        self._update_lr(None)

    def _update_lr(self, epoch: int | None) -> None:
        if epoch is None:
            self.last_epoch += 1
            value = self._guarded(self.get_lr)
        else:
            self.last_epoch = epoch
            closed = getattr(self, "closed_form", None)
            value = self._guarded(closed if closed is not None else self.get_lr)
        self.group["lr"] = value

    def _guarded(self, fn: Callable[[], Any]) -> Any:
        try:
            with np.errstate(divide="raise", invalid="ignore"):
                return fn()
        except (ZeroDivisionError, FloatingPointError):
            raise ValueError(f"{self.name}: division by zero at scheduler step "
                             f"{self.last_epoch} (torch raises ZeroDivisionError here); "
                             f"check the parameters") from None

    def get_lr(self) -> Any:
        raise NotImplementedError

    @property
    def lr(self) -> Any:
        """The learning rate of the next optimizer step."""
        return self.group["lr"]

    @property
    def momentum(self) -> Any:
        """The momentum/beta1 of the next step (None: the optimizer has none)."""
        return self.group.get("momentum")


class StepLR(_Scheduler):
    def get_lr(self) -> Any:
        v, g = self.values, self.group
        if self.last_epoch == 0 or self.last_epoch % v["step_size"] != 0:
            return g["lr"]
        return g["lr"] * v["gamma"]

    def closed_form(self) -> Any:
        v = self.values
        return self.base_lr * v["gamma"] ** (self.last_epoch // v["step_size"])


class MultiStepLR(_Scheduler):
    def setup(self) -> None:
        self.milestones = Counter(self.values["milestones"])

    def get_lr(self) -> Any:
        if self.last_epoch not in self.milestones:
            return self.group["lr"]
        return self.group["lr"] * self.values["gamma"] ** self.milestones[self.last_epoch]

    def closed_form(self) -> Any:
        milestones = sorted(self.milestones.elements())
        return self.base_lr * self.values["gamma"] ** bisect_right(milestones, self.last_epoch)


class ConstantLR(_Scheduler):
    def get_lr(self) -> Any:
        v, g = self.values, self.group
        if self.last_epoch == 0:
            return g["lr"] * v["factor"]
        if self.last_epoch != v["total_iters"]:
            return g["lr"]
        return g["lr"] * (1.0 / v["factor"])

    def closed_form(self) -> Any:
        v = self.values
        return self.base_lr * (v["factor"] + (self.last_epoch >= v["total_iters"])
                               * (1 - v["factor"]))


class LinearLR(_Scheduler):
    @staticmethod
    def check(values: dict[str, Any], name: str) -> None:
        if values["start_factor"] <= 0:
            raise ValueError(f"{name}: start_factor must be > 0 (torch: greater than 0 and "
                             f"at most 1)")

    def get_lr(self) -> Any:
        v, g = self.values, self.group
        if self.last_epoch == 0:
            return g["lr"] * v["start_factor"]
        if self._is_initial or self.last_epoch > v["total_iters"]:
            return g["lr"]
        sf, ef, n = v["start_factor"], v["end_factor"], v["total_iters"]
        return g["lr"] * (1.0 + (ef - sf) / (n * sf + (self.last_epoch - 1) * (ef - sf)))

    def closed_form(self) -> Any:
        v = self.values
        sf, ef, n = v["start_factor"], v["end_factor"], v["total_iters"]
        return self.base_lr * (sf + (ef - sf) * min(n, self.last_epoch) / n)


class ExponentialLR(_Scheduler):
    def get_lr(self) -> Any:
        if self._is_initial:
            return self.group["lr"]
        return self.group["lr"] * self.values["gamma"]

    def closed_form(self) -> Any:
        return self.base_lr * self.values["gamma"] ** self.last_epoch


class PolynomialLR(_Scheduler):
    def get_lr(self) -> Any:
        v = self.values
        if self._is_initial or self.last_epoch > v["total_iters"]:
            return self.group["lr"]
        n = v["total_iters"]
        decay = ((1.0 - self.last_epoch / n) / (1.0 - (self.last_epoch - 1) / n)) ** v["power"]
        return self.group["lr"] * decay

    def closed_form(self) -> Any:
        v = self.values
        n = v["total_iters"]
        return self.base_lr * (1.0 - min(n, self.last_epoch) / n) ** v["power"]


class CosineAnnealingLR(_Scheduler):
    def get_lr(self) -> Any:
        v, g = self.values, self.group
        t_max, eta_min, e = v["T_max"], v["eta_min"], self.last_epoch
        if self._is_initial:
            return g["lr"]
        if self._step_count == 1 and e > 0:
            return eta_min + (self.base_lr - eta_min) * (1 + math.cos(e * math.pi / t_max)) / 2
        if (e - 1 - t_max) % (2 * t_max) == 0:
            return g["lr"] + (self.base_lr - eta_min) * (1 - math.cos(math.pi / t_max)) / 2
        return ((1 + math.cos(math.pi * e / t_max)) / (1 + math.cos(math.pi * (e - 1) / t_max))
                * (g["lr"] - eta_min) + eta_min)

    def closed_form(self) -> Any:
        v = self.values
        return (v["eta_min"] + (self.base_lr - v["eta_min"])
                * (1 + math.cos(math.pi * self.last_epoch / v["T_max"])) / 2)


class CosineAnnealingWarmRestarts(_Scheduler):
    def setup(self) -> None:
        self.T_i = self.values["T_0"]
        self.T_cur = -1

    def get_lr(self) -> Any:
        eta_min = self.values["eta_min"]
        return eta_min + (self.base_lr - eta_min) * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2

    def step(self, loss: Any = None) -> None:
        epoch: int | None = None
        if self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.values["T_mult"]
        else:  # epoch 0: the only explicit epoch optsim passes
            self.T_i = self.values["T_0"]
            self.T_cur = epoch
        self.last_epoch = epoch
        self.group["lr"] = self._guarded(self.get_lr)


def _scale_fn(mode: str, gamma: float) -> tuple[Callable[[float], float], str]:
    if mode == "triangular":
        return (lambda x: 1.0), "cycle"
    if mode == "triangular2":
        return (lambda x: 1 / (2.0 ** (x - 1))), "cycle"
    return (lambda x: gamma**x), "iterations"


def _cycle_target(group: dict[str, Any], values: dict[str, Any], name: str) -> bool:
    if not values["cycle_momentum"]:
        return False
    if "momentum" not in group:
        raise ValueError(f"{name}: this optimizer has no momentum or beta1 to cycle "
                         f"(torch: 'optimizer must support momentum or beta1 with "
                         f"cycle_momentum'); add cycle_momentum=false")
    return True


class CyclicLR(_Scheduler):
    def __init__(self, group: dict[str, Any], values: dict[str, Any], name: str) -> None:
        v = values
        group["lr"] = v["base_lr"]
        up = float(v["step_size_up"])
        down = float(v["step_size_down"]) if v["step_size_down"] is not None else up
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        self._scale, self.scale_mode = _scale_fn(v["mode"], v["gamma"])
        self.cycle_momentum = _cycle_target(group, v, name)
        if self.cycle_momentum:
            group["momentum"] = v["max_momentum"]
        super().__init__(group, values, name)
        self.base_lr = v["base_lr"]

    def get_lr(self) -> Any:
        v = self.values
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        if x <= self.step_ratio:
            scale_factor = x / self.step_ratio
        else:
            scale_factor = (x - 1) / (self.step_ratio - 1)
        arg = cycle if self.scale_mode == "cycle" else self.last_epoch
        base_height = (v["max_lr"] - self.base_lr) * scale_factor
        lr = self.base_lr + base_height * self._scale(arg)
        if self.cycle_momentum:
            height = (v["max_momentum"] - v["base_momentum"]) * scale_factor
            self.group["momentum"] = v["max_momentum"] - height * self._scale(arg)
        return lr


def _onecycle_total(v: dict[str, Any], name: str) -> int:
    if v["total_steps"] is not None:
        return v["total_steps"]
    if v["epochs"] is not None and v["steps_per_epoch"] is not None:
        return v["epochs"] * v["steps_per_epoch"]
    raise ValueError(f"{name}: give total_steps, or epochs and steps_per_epoch")


class OneCycleLR(_Scheduler):
    @staticmethod
    def check(values: dict[str, Any], name: str) -> None:
        _onecycle_total(values, name)

    def __init__(self, group: dict[str, Any], values: dict[str, Any], name: str) -> None:
        v = values
        self.total_steps = total = _onecycle_total(v, name)
        pct = v["pct_start"]
        if v["three_phase"]:
            self.phases = [
                (float(pct * total) - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (float(2 * pct * total) - 2, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                (total - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"),
            ]
        else:
            self.phases = [
                (float(pct * total) - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (total - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"),
            ]
        self.cos = v["anneal_strategy"] == "cos"
        group["initial_lr"] = v["max_lr"] / v["div_factor"]
        group["max_lr"] = v["max_lr"]
        group["min_lr"] = group["initial_lr"] / v["final_div_factor"]
        self.cycle_momentum = _cycle_target(group, v, name)
        if self.cycle_momentum:
            group["momentum"] = v["max_momentum"]
            group["max_momentum"] = v["max_momentum"]
            group["base_momentum"] = v["base_momentum"]
        super().__init__(group, values, name)

    def _anneal(self, start: Any, end: Any, pct: float) -> Any:
        if self.cos:
            cos_out = math.cos(math.pi * pct) + 1
            return end + (start - end) / 2.0 * cos_out
        return (end - start) * pct + start

    def get_lr(self) -> Any:
        step_num = self.last_epoch
        if step_num >= self.total_steps:
            raise ValueError(f"{self.name}: total_steps={self.total_steps}, so it has no "
                             f"learning rate for step {step_num + 1} (torch raises when "
                             f"stepped past total_steps); raise total_steps or run fewer steps")
        g = self.group
        start_step = 0.0
        for i, (end_step, lr0, lr1, m0, m1) in enumerate(self.phases):
            if step_num <= end_step or i == len(self.phases) - 1:
                pct = (step_num - start_step) / (end_step - start_step)
                lr = self._anneal(g[lr0], g[lr1], pct)
                if self.cycle_momentum:
                    g["momentum"] = self._anneal(g[m0], g[m1], pct)
                return lr
            start_step = end_step
        raise AssertionError("unreachable")


class _Lambda(_Scheduler):
    """torch's LambdaLR: ``base_lr * factor(last_epoch)``."""

    def factor(self, step: int) -> float:
        raise NotImplementedError

    def get_lr(self) -> Any:
        return self.base_lr * self.factor(self.last_epoch)


class WarmupCosine(_Lambda):
    """transformers' ``get_cosine_with_min_lr_schedule_with_warmup`` (min_lr_rate)."""

    def factor(self, step: int) -> float:
        v = self.values
        warm, total = v["warmup_steps"], v["total_steps"]
        if step >= total:
            raise ValueError(f"{self.name}: total_steps={total}, so it has no learning rate "
                             f"for step {step + 1}; raise total_steps or run fewer steps")
        if step < warm:
            return float(step) / float(max(1, warm))
        progress = float(step - warm) / float(max(1, total - warm))
        f = 0.5 * (1.0 + math.cos(math.pi * float(v["num_cycles"]) * 2.0 * progress))
        f = f * (1 - v["min_lr_rate"]) + v["min_lr_rate"]
        return max(0, f)

    @staticmethod
    def check(values: dict[str, Any], name: str) -> None:
        if values["warmup_steps"] > values["total_steps"]:
            raise ValueError(f"{name}: warmup_steps={values['warmup_steps']} is more than "
                             f"total_steps={values['total_steps']}")


class WSD(_Lambda):
    """transformers' ``get_wsd_schedule``: warm-up, stable, decay (cool-down)."""

    @staticmethod
    def check(values: dict[str, Any], name: str) -> None:
        if values["warmup_steps"] + values["decay_steps"] > values["total_steps"]:
            raise ValueError(f"{name}: warmup_steps + decay_steps "
                             f"({values['warmup_steps']} + {values['decay_steps']}) is more "
                             f"than total_steps={values['total_steps']}")

    def factor(self, step: int) -> float:
        v = self.values
        warm, decay, ratio = v["warmup_steps"], v["decay_steps"], v["min_lr_ratio"]
        stable = v["total_steps"] - warm - decay
        if step < warm:
            progress = float(step) / float(max(1, warm))
            if v["warmup_type"] == "linear":
                f = progress
            elif v["warmup_type"] == "cosine":
                f = 0.5 * (1.0 - math.cos(math.pi * progress))
            else:
                f = 1.0 - math.sqrt(1.0 - progress)
            f = f * (1.0 - ratio) + ratio
            return max(0.0, f)
        if step < warm + stable:
            return 1.0
        if step < warm + stable + decay:
            progress = float(step - warm - stable) / float(max(1, decay))
            if v["decay_type"] == "linear":
                f = 1.0 - progress
            elif v["decay_type"] == "cosine":
                f = 0.5 * (1.0 + math.cos(math.pi * float(v["num_cycles"]) * 2.0 * progress))
            else:
                f = 1.0 - math.sqrt(progress)
            f = f * (1.0 - ratio) + ratio
            return max(0.0, f)
        return ratio


class ReduceLROnPlateau(_Scheduler):
    """Not an LRScheduler in torch either: step 1 keeps the optimizer's lr; each
    ``step(loss)`` counts bad steps per run and cuts that run's lr."""

    @staticmethod
    def check(values: dict[str, Any], name: str) -> None:
        if values["factor"] >= 1.0:
            raise ValueError(f"{name}: factor must be < 1 (torch: 'Factor should be < 1.0.')")

    def __init__(self, group: dict[str, Any], values: dict[str, Any], name: str) -> None:
        self.group, self.values, self.name = group, values, name
        self.last_epoch = 0
        shape = np.shape(group["lr"])
        worse = math.inf if values["mode"] == "min" else -math.inf
        self.best = np.full(shape, worse)
        self.cooldown_counter = np.zeros(shape, dtype=np.int64)
        self.num_bad_epochs = np.zeros(shape, dtype=np.int64)

    def _is_better(self, a: np.ndarray, best: np.ndarray) -> np.ndarray:
        v = self.values
        if v["mode"] == "min" and v["threshold_mode"] == "rel":
            return a < best * (1.0 - v["threshold"])
        if v["mode"] == "min":
            return a < best - v["threshold"]
        if v["threshold_mode"] == "rel":
            return a > best * (v["threshold"] + 1.0)
        return a > best + v["threshold"]

    def step(self, loss: Any = None) -> None:
        if loss is None:
            raise ValueError(f"{self.name} needs the loss at every step")
        v = self.values
        current = np.asarray(loss, dtype=np.float64).reshape(np.shape(self.best))
        self.last_epoch += 1
        with np.errstate(invalid="ignore"):
            better = self._is_better(current, self.best)
        self.best = np.where(better, current, self.best)
        self.num_bad_epochs = np.where(better, 0, self.num_bad_epochs + 1)
        cooling = self.cooldown_counter > 0
        self.cooldown_counter = np.where(cooling, self.cooldown_counter - 1, self.cooldown_counter)
        self.num_bad_epochs = np.where(cooling, 0, self.num_bad_epochs)
        reduce = self.num_bad_epochs > v["patience"]
        if reduce.any():
            old = np.asarray(self.group["lr"], dtype=np.float64)
            new = np.maximum(old * v["factor"], v["min_lr"])
            cut = reduce & (old - new > v["eps"])
            lr = np.where(cut, new, old)
            self.group["lr"] = lr if np.ndim(self.group["lr"]) else float(lr)
            self.cooldown_counter = np.where(reduce, v["cooldown"], self.cooldown_counter)
            self.num_bad_epochs = np.where(reduce, 0, self.num_bad_epochs)


def _no_plateau(children: Sequence[Schedule], name: str) -> None:
    for i, s in enumerate(children):
        if s.needs_loss:
            raise ValueError(f"{name} cannot hold reducelronplateau (at index {i}): it needs "
                             f"the loss at every step (torch refuses it too)")


class SequentialLR(_Scheduler):
    @staticmethod
    def check(values: dict[str, Any], name: str) -> None:
        children, milestones = values["schedulers"], values["milestones"]
        _no_plateau(children, name)
        if len(milestones) != len(children) - 1:
            raise ValueError(f"{name}: {len(children)} schedulers need {len(children) - 1} "
                             f"milestone(s), got {len(milestones)}")

    def __init__(self, group: dict[str, Any], values: dict[str, Any], name: str) -> None:
        self.group, self.values, self.name = group, values, name
        self.children = [_build(s, group) for s in values["schedulers"]]
        self.milestones = list(values["milestones"])
        self.last_epoch = 0
        group["lr"] = group["initial_lr"]
        self._undo(self)
        idx = bisect_right(self.milestones, 0)
        self.children[idx]._initial_step()

    def _undo(self, s: Any) -> None:
        if isinstance(s, (SequentialLR, ChainedScheduler)):
            for c in s.children:
                self._undo(c)
        elif hasattr(s, "last_epoch"):
            s.last_epoch -= 1

    def step(self, loss: Any = None) -> None:
        self.last_epoch += 1
        idx = bisect_right(self.milestones, self.last_epoch)
        child = self.children[idx]
        if idx > 0 and self.milestones[idx - 1] == self.last_epoch:
            child._update_lr(0)
        else:
            child.step()

    def _update_lr(self, epoch: int | None) -> None:  # as torch: no closed form, get_lr raises
        raise ValueError(f"{self.name} cannot be restarted at a milestone of sequentiallr")


class ChainedScheduler(_Scheduler):
    @staticmethod
    def check(values: dict[str, Any], name: str) -> None:
        _no_plateau(values["schedulers"], name)

    def __init__(self, group: dict[str, Any], values: dict[str, Any], name: str) -> None:
        self.group, self.values, self.name = group, values, name
        self.children = [_build(s, group) for s in values["schedulers"]]

    def step(self, loss: Any = None) -> None:
        for c in self.children:
            c.step()

    def _update_lr(self, epoch: int | None) -> None:  # as torch: no closed form, get_lr raises
        raise ValueError(f"{self.name} cannot be restarted at a milestone of sequentiallr")


def _build(schedule: Schedule, group: dict[str, Any]) -> _Scheduler:
    return schedule.kind.runtime(group, schedule.values, schedule.name)


# ---------------------------------------------------------------------------
# the schedules


def _schedulers_param() -> ScheduleParam:
    return _p("schedulers", Schedule, (), "the schedules, in brackets with ';' between them",
              required=True)


_GAMMA = "multiplies the learning rate at each decay"
register_schedule(ScheduleKind(
    "steplr", "multiply the lr by gamma every step_size steps", (
        _steps("step_size", 30, "steps between two decays", required=True),
        _p("gamma", float, 0.1, _GAMMA, low=0.0),
    ), StepLR, "StepLR"))
register_schedule(ScheduleKind(
    "multisteplr", "multiply the lr by gamma at each milestone", (
        _p("milestones", list, (30, 80), "the steps at which the lr decays", low=0,
           high=10**9, required=True),
        _p("gamma", float, 0.1, _GAMMA, low=0.0),
    ), MultiStepLR, "MultiStepLR"))
register_schedule(ScheduleKind(
    "constantlr", "the lr times factor until total_iters, then the lr", (
        _factor("factor", 1.0 / 3, "multiplies the lr until total_iters"),
        _steps("total_iters", 5, "steps the factor lasts", low=0),
    ), ConstantLR, "ConstantLR"))
register_schedule(ScheduleKind(
    "linearlr", "lr times a factor going linearly from start_factor to end_factor", (
        _factor("start_factor", 1.0 / 3, "the factor at the first step (> 0)"),
        _factor("end_factor", 1.0, "the factor from total_iters on"),
        _steps("total_iters", 5, "steps the factor takes to get there"),
    ), LinearLR, "LinearLR"))
register_schedule(ScheduleKind(
    "exponentiallr", "multiply the lr by gamma every step", (
        _p("gamma", float, 0.99, "multiplies the lr every step", low=0.0, required=True),
    ), ExponentialLR, "ExponentialLR"))
register_schedule(ScheduleKind(
    "polynomiallr", "lr times (1 - t/total_iters)^power, then 0", (
        _steps("total_iters", 5, "steps to reach 0"),
        _p("power", float, 1.0, "the power of the decay", low=0.0),
    ), PolynomialLR, "PolynomialLR"))
register_schedule(ScheduleKind(
    "cosineannealinglr", "half a cosine from the lr down to eta_min over T_max steps", (
        _steps("T_max", 100, "steps of the half cosine", required=True),
        _lr("eta_min", 0.0, "the lowest lr"),
    ), CosineAnnealingLR, "CosineAnnealingLR"))
register_schedule(ScheduleKind(
    "cosineannealingwarmrestarts", "cosine annealing restarted every T_0 (times T_mult) steps", (
        _steps("T_0", 50, "steps of the first cycle", required=True),
        _steps("T_mult", 1, "each cycle is this many times longer"),
        _lr("eta_min", 0.0, "the lowest lr"),
    ), CosineAnnealingWarmRestarts, "CosineAnnealingWarmRestarts"))
register_schedule(ScheduleKind(
    "cycliclr", "lr cycling between base_lr and max_lr (momentum the other way)", (
        _lr("base_lr", 0.001, "the lowest lr of the cycle (replaces the optimizer's lr)",
            required=True),
        _lr("max_lr", 0.01, "the highest lr of the cycle", required=True),
        _steps("step_size_up", 2000, "steps going up"),
        _steps("step_size_down", 2000, "steps going down (none: as step_size_up)",
               optional=True).with_default(None),
        _p("mode", str, "triangular", "triangular: constant height; triangular2: halved "
           "each cycle; exp_range: times gamma^step",
           choices=("triangular", "triangular2", "exp_range")),
        _p("gamma", float, 1.0, "exp_range's factor per step", low=0.0),
        _p("cycle_momentum", bool, True, "cycle momentum (beta1) inversely to the lr"),
        _momentum("base_momentum", 0.8, "the lowest momentum (beta1), at max_lr"),
        _momentum("max_momentum", 0.9, "the highest momentum (beta1), at base_lr"),
    ), CyclicLR, "CyclicLR"))
register_schedule(ScheduleKind(
    "onecyclelr", "one cycle: warm up to max_lr, anneal far below the start", (
        _lr("max_lr", 0.1, "the highest lr; the start is max_lr / div_factor", required=True),
        _steps("total_steps", 100, "steps of the cycle (or epochs × steps_per_epoch)",
               optional=True).with_default(None),
        _steps("epochs", 10, "with steps_per_epoch: total_steps", optional=True).with_default(None),
        _steps("steps_per_epoch", 10, "with epochs: total_steps",
               optional=True).with_default(None),
        _factor("pct_start", 0.3, "the part of the cycle spent warming up"),
        _p("anneal_strategy", str, "cos", "cos or linear annealing", choices=("cos", "linear")),
        _p("cycle_momentum", bool, True, "cycle momentum (beta1) inversely to the lr"),
        _momentum("base_momentum", 0.85, "the lowest momentum (beta1), at max_lr"),
        _momentum("max_momentum", 0.95, "the highest momentum (beta1), at the ends"),
        _p("div_factor", float, 25.0, "the start lr is max_lr / div_factor", low=0.0,
           low_open=True),
        _p("final_div_factor", float, 1e4, "the last lr is the start lr / final_div_factor",
           low=0.0, low_open=True),
        _p("three_phase", bool, False, "go back down to the start lr before annealing"),
    ), OneCycleLR, "OneCycleLR"))
register_schedule(ScheduleKind(
    "reducelronplateau", "cut the lr by factor when the loss stops improving", (
        _p("mode", str, "min", "min: the loss should fall; max: rise", choices=("min", "max")),
        _p("factor", float, 0.1, "multiplies the lr at each cut (< 1)", low=0.0),
        _steps("patience", 10, "bad steps allowed before a cut", low=0),
        _p("threshold", float, 1e-4, "how much better counts as better", low=0.0),
        _p("threshold_mode", str, "rel", "rel: relative to the best; abs: absolute",
           choices=("rel", "abs")),
        _steps("cooldown", 0, "steps to wait after a cut", low=0),
        _lr("min_lr", 0.0, "the lowest lr"),
        _p("eps", float, 1e-8, "smaller changes of the lr are skipped", low=0.0),
    ), ReduceLROnPlateau, "ReduceLROnPlateau"))
register_schedule(ScheduleKind(
    "sequentiallr", "one schedule after another, switching at the milestones", (
        _schedulers_param(),
        _p("milestones", list, (10,), "the steps at which the next schedule takes over",
           low=1, high=10**9, required=True),
    ), SequentialLR, "SequentialLR"))
register_schedule(ScheduleKind(
    "chainedscheduler", "several schedules applied together, each step", (
        _schedulers_param(),
    ), ChainedScheduler, "ChainedScheduler"))
register_schedule(ScheduleKind(
    "warmup-cosine", "linear warm-up from 0, then a cosine down to min_lr_rate × lr", (
        _steps("warmup_steps", 10, "steps of the warm-up", low=0, required=True),
        _steps("total_steps", 100, "steps in all", required=True),
        _p("num_cycles", float, 0.5, "cosine waves after the warm-up (0.5: down once)",
           low=0.0),
        _factor("min_lr_rate", 0.0, "the lowest lr, as a part of the lr"),
    ), WarmupCosine))
register_schedule(ScheduleKind(
    "wsd", "warm-up, stable, decay (cool-down), then min_lr_ratio × lr", (
        _steps("warmup_steps", 10, "steps of the warm-up", low=0, required=True),
        _steps("decay_steps", 20, "steps of the cool-down", low=0, required=True),
        _steps("total_steps", 100, "steps in all (stable = total - warm-up - decay)",
               required=True),
        _p("warmup_type", str, "linear", "shape of the warm-up",
           choices=("linear", "cosine", "1-sqrt")),
        _p("decay_type", str, "cosine", "shape of the cool-down",
           choices=("linear", "cosine", "1-sqrt")),
        _factor("min_lr_ratio", 0.0, "the lr at the ends, as a part of the lr"),
        _p("num_cycles", float, 0.5, "cosine waves of a cosine cool-down", low=0.0),
    ), WSD))


def describe(value: Any) -> str:
    """A short text for a parameter value (for lists: ``[30;80]``)."""
    if isinstance(value, tuple):
        return "[" + ";".join(describe(v) for v in value) + "]"
    if isinstance(value, Schedule):
        return value.spec
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    return _fmt(value) if isinstance(value, (int, float)) else str(value)


__all__ = ["SCHEDULES", "Schedule", "ScheduleKind", "ScheduleParam", "as_schedule",
           "make_schedule", "momentum_name", "parse_schedule", "register_schedule",
           "schedule_kind", "split_plus", "split_spec"]
