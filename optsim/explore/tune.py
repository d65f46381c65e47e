"""Fair comparison: tune each optimizer's learning rate on a log grid under the same
step budget, from the same starts, by a stated criterion, then race the tuned runs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine import Optimizer, optimizer_kind
from ..functions import LossFunction, as_function
from .axes import Axis, SweepInputError, as_axis
from .runner import DEFAULT_TOL
from .sweep import as_clip, as_starts, plan_sweep, run_sweep_plan, split_optimizer

#: criterion name -> the metric whose median over the starts is minimised
CRITERIA = {
    "median-final-loss": "final-loss",
    "median-best-loss": "best-loss",
    "median-steps-to-tol": "steps-to-tol",
}
CRITERION_TEXT = {
    "median-final-loss": "median final loss over the starts",
    "median-best-loss": "median best loss over the starts",
    "median-steps-to-tol": "median steps to reach f* + tol over the starts",
}
DEFAULT_CRITERION = "median-final-loss"
#: the default grid: this many values over DECADES decades centred on the optimizer's lr
POINTS, DECADES = 41, 6
#: the extra starts' spread, as a fraction of the view's span
START_SPREAD = 0.1
MAX_STARTS = 10_000


@dataclass
class TuneResult:
    """One optimizer's tuning: the learning rate with the lowest ``criterion`` on
    the grid ``lrs`` (``curve`` holds the criterion at each), and the optimizer
    with that learning rate (``tuned``)."""

    optimizer: Optimizer
    tuned: Optimizer
    lr: float
    value: float
    criterion: str
    lrs: np.ndarray
    curve: np.ndarray
    starts: np.ndarray
    steps: int
    #: the gradient clipping of every run, tuned and raced (None: none)
    clip: Any = None
    #: the learning-rate schedule the runs follow (None: a constant lr)
    schedule: Any = None
    #: the gradient noise of every run (an ``optsim.gradients.Noise``; None: exact
    #: gradients), the first seed and the seeds per start (the criterion's median is
    #: over starts × seeds)
    noise: Any = None
    seed: int = 0
    seeds: int = 1

    @property
    def at_edge(self) -> bool:
        """The best learning rate is the grid's first or last: widen the grid."""
        return bool(self.lr in (self.lrs[0], self.lrs[-1]))

    @property
    def label(self) -> str:
        return f"{self.optimizer.name} (tuned lr={self.lr:.3g})"

    @property
    def spec(self) -> str:
        """The tuned optimizer's spec, with ``+schedule`` when it has one."""
        return self.tuned.spec + ("" if self.schedule is None else "+" + self.schedule.spec)


def default_lr_axis(optimizer: Optimizer) -> Axis:
    """41 values over 6 decades, centred on the optimizer's lr, inside lr's range."""
    lr = float(optimizer.hp["lr"]) or 1e-3
    p = next(p for p in optimizer.declared if p.name == "lr")
    hi = lr * 10 ** (DECADES / 2)
    if p.high is not None and hi > p.high:
        hi = float(p.high)
    return Axis("lr", hi / 10 ** DECADES, hi, POINTS, True)


def tune_starts(function: LossFunction, start: Any, k: int) -> np.ndarray:
    """``k`` start points: ``start`` (default: the function's) and k − 1 more
    scattered around it (Gaussian, 10% of the view's span, seed 0, inside the view)."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= MAX_STARTS:
        raise SweepInputError(f"starts must be a whole number in [1, {MAX_STARTS}], got {k!r}")
    first = as_starts(function, start)
    if len(first) >= k:
        return first[:k] if len(first) > k else first
    (x0, x1), (y0, y1) = function.view
    lo = np.array([x0, y0][: function.dim])
    hi = np.array([x1, y1][: function.dim])
    rng = np.random.default_rng(0)
    more = first[0] + rng.standard_normal((k - len(first), function.dim)) * (hi - lo) * START_SPREAD
    return np.vstack([first, np.clip(more, lo, hi)])


def tune(function: str | LossFunction, optimizers: Sequence[str | Optimizer] | str | Optimizer, *,
         steps: int = 100, start: Any = None, starts: int = 1, lr: Any = None,
         criterion: str = DEFAULT_CRITERION, tol: float = DEFAULT_TOL, clip: Any = None,
         noise: Any = None, seed: int = 0, seeds: int | None = None, cluster: Any = None, workers: int | None = None,
         progress: Callable[[int, int], None] | None = None,
         cancel: Any = None) -> list[TuneResult]:
    """Tune the learning rate of each optimizer (every other setting kept) on
    ``function``: the same ``steps`` and the same ``starts`` start points for all,
    the lr minimising ``criterion`` (default: the median final loss over the
    starts; diverged runs count as inf) on the grid ``lr`` (an axis
    ``"lr=LO:HI:N:log"``; default 41 values over 6 decades around each optimizer's
    lr). An optimizer written ``"spec+schedule"`` follows that learning-rate
    schedule (its base lr is tuned). No gradient clipping unless ``clip`` asks for it (``"norm=C"`` or
    ``"value=C"``), and then every optimizer is tuned with it (and
    :func:`describe` says so). ``noise``, ``seed``, ``seeds``: gradient noise as in
    :func:`optsim.sweep`: each lr is run from every start with ``seeds`` seeds
    (default 5), the criterion's median is over starts × seeds, and every optimizer
    sees the same noise sequences."""
    try:
        fn = as_function(function)
        if isinstance(optimizers, (str, Optimizer)):
            optimizers = [optimizers]
        opts = [split_optimizer(o) for o in optimizers]
    except SweepInputError:
        raise
    except (ValueError, TypeError, SyntaxError) as exc:
        raise SweepInputError(str(exc)) from None
    if not opts:
        raise SweepInputError("no optimizer to tune")
    if criterion not in CRITERIA:
        raise SweepInputError(f"unknown criterion {criterion!r}; known: {', '.join(CRITERIA)}")
    clip = as_clip(clip)
    points = tune_starts(fn, start, starts)
    out = []
    for opt, schedule in opts:
        if "lr" not in {p.name for p in opt.declared}:
            raise SweepInputError(f"{opt.name} has no learning rate to tune")
        axis = default_lr_axis(opt) if lr is None else as_axis(lr)
        if axis.name != "lr":
            raise SweepInputError(f"the tuning axis must be lr, got {axis.name}")
        plan = plan_sweep(fn, opt, axis, start=points, steps=steps, metric=CRITERIA[criterion],
                          tol=tol, schedule=schedule, clip=clip, noise=noise, seed=seed,
                          seeds=seeds)
        res = run_sweep_plan(plan, cluster=cluster, workers=workers, progress=progress,
                             cancel=cancel)
        curve = res.values
        finite = np.isfinite(curve)
        i = int(np.where(finite, curve, np.inf).argmin()) if finite.any() else 0
        best_lr = float(res.x[i])
        kind = optimizer_kind(opt.name)
        values = {p.name: opt.hp[p.name] for p in opt.declared}
        values["lr"] = best_lr
        out.append(TuneResult(opt, kind.create(**values), best_lr, float(curve[i]), criterion,
                              res.x.copy(), curve.copy(), points, int(steps), clip, schedule,
                              plan.noise, plan.seed, plan.seeds))
    return out


def describe(results: Sequence[TuneResult]) -> str:
    """One line stating the criterion and budget, for a figure's title."""
    if not results:
        return ""
    r = results[0]
    k = len(r.starts)
    text = criterion_text(r.criterion, k, r.seeds if r.noise is not None else 1)
    lrs = np.asarray(r.lrs, dtype=np.float64)
    even = len(lrs) > 2 and np.allclose(np.diff(lrs), lrs[1] - lrs[0], rtol=1e-9, atol=0)
    grid = f"{len(lrs)} {'evenly spaced' if even else 'log-spaced'} lr"
    clipping = "no clipping" if r.clip is None else f"gradients clipped ({r.clip.spec})"
    noise = "" if r.noise is None else f", {r.noise.spec} noise ({seed_range(r)})"
    return f"lr tuned for the lowest {text}, {r.steps} steps each, {grid}, {clipping}{noise}"


def criterion_text(criterion: str, starts: int, seeds: int = 1) -> str:
    """The criterion in words for ``starts`` starts and ``seeds`` noise seeds each:
    "final loss from the start", "median final loss over 5 starts", "median final
    loss over 3 starts × 5 seeds"."""
    text = CRITERION_TEXT[criterion]
    if starts * seeds == 1:  # a median over one run is its value
        return text.replace("median ", "").replace(" over the starts", " from the start")
    over = {(True, False): f"{starts} starts", (False, True): f"{seeds} seeds"}.get(
        (starts > 1, seeds > 1), f"{starts} starts × {seeds} seeds")
    return text.replace("the starts", over)


def seed_range(r: Any, word: bool = True) -> str:
    """The seeds of a result with noise: "seed 0" or "seeds 0–4" (``word``: False,
    "0" or "0–4")."""
    if r.seeds == 1:
        return f"seed {r.seed}" if word else str(r.seed)
    return ("seeds " if word else "") + f"{r.seed}–{r.seed + r.seeds - 1}"
