"""Hyperparameter sweeps: a metric of every run over a grid of one or two
hyperparameters, computed in independent blocks of runs (memory O(cells)).

>>> res = sweep("elongated-bowl", "momentum", x="lr=0.001:0.2:64:log",
...             y="momentum=0:0.95:48", steps=100, metric="rate")
>>> res.values.shape, res.x.shape, res.y.shape
((48, 64), (64,), (48,))
"""

from __future__ import annotations

import dataclasses
import math
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..engine import Optimizer, as_optimizer
from ..functions import FUNCTIONS, LossFunction, as_function
from ..simulation import MAX_STEPS
from .axes import Axis, SweepInputError, as_axis, check_axis
from .noise import SeededNoise, as_noise, check_seed, check_seeds, members
from .runner import (
    DEFAULT_TOL,
    METRICS,
    Cancelled,
    ScheduledRows,
    aggregate,
    row_metrics,
    rows_optimizer,
    run_rows,
)

#: runs stepped together in one block (a block's arrays stay in the cache; the
#: engine steps blocks below its own two-thread threshold in one thread)
BLOCK_ROWS = 32768
#: bytes kept per cell: six metrics, float64
BYTES_PER_CELL = 6 * 8

Progress = Callable[[int, int], None]


@dataclass
class SweepResult:
    """A sweep's maps. ``metrics[name]`` has shape (ny, nx) for two axes (row j is
    ``y[j]``, column i is ``x[i]``) or (nx,) for one; ``values`` is the chosen
    ``metric``'s. Unpacks as ``values, x, y = result`` (y is None for one axis)."""

    function: LossFunction
    optimizer: Optimizer
    x_axis: Axis
    y_axis: Axis | None
    metric: str
    metrics: dict[str, np.ndarray]
    starts: np.ndarray
    steps: int
    tol: float
    #: the f* of steps-to-tol when the function lists no minimum (the best loss
    #: anywhere in the sweep); None when known minima were used
    fstar: float | None = None
    #: the axes' values computed (every value of each axis, or a preview's subset)
    axis_values: list[np.ndarray] | None = None
    #: the learning-rate schedule of every run (None: a constant lr)
    schedule: Any = None
    #: the gradient clipping of every run (an ``optsim.gradients.Clip``; None: none)
    clip: Any = None
    #: the gradient noise of every run (an ``optsim.gradients.Noise``; None: exact
    #: gradients), the first seed and the seeds per cell (member k: seed + k)
    noise: Any = None
    seed: int = 0
    seeds: int = 1

    @property
    def spec(self) -> str:
        """The optimizer's spec, with ``+schedule`` when it has one."""
        return self.optimizer.spec + ("" if self.schedule is None else "+" + self.schedule.spec)

    def setting(self, name: str) -> float | None:
        """The swept optimizer's own value of ``name`` (a hyperparameter, or a
        parameter of its schedule): where the map marks the current run."""
        if name in self.optimizer.hp:
            return float(self.optimizer.hp[name])
        if self.schedule is not None and name in self.schedule.values:
            return float(self.schedule.values[name])
        return None

    def theory(self) -> Any:
        """The quadratic theory of this map (``optsim.explore.theory.MapTheory``:
        stability boundary, optimal point), or None when it does not apply: not a
        quadratic, not GD/heavy ball over lr (and momentum), or a schedule, clipping
        or noise (the theory is for a constant lr on the exact gradient)."""
        from .theory import map_theory

        if self.schedule is not None or self.clip is not None or self.noise is not None:
            return None
        names = [self.x_axis.name] + ([self.y_axis.name] if self.y_axis else [])
        return map_theory(self.function, self.optimizer, names)

    @property
    def values(self) -> np.ndarray:
        return self.metrics[self.metric]

    @property
    def x(self) -> np.ndarray:
        return self.x_axis.values if self.axis_values is None else self.axis_values[0]

    @property
    def y(self) -> np.ndarray | None:
        if self.y_axis is None:
            return None
        return self.y_axis.values if self.axis_values is None else self.axis_values[1]

    def __iter__(self):
        return iter((self.values, self.x, self.y))

    def best_cell(self) -> tuple[int, ...] | None:
        """Index of the lowest finite value of ``values`` (None if there is none)."""
        v = self.values
        finite = np.isfinite(v)
        if not finite.any():
            return None
        flat = np.where(finite, v, np.inf).argmin()
        return tuple(int(i) for i in np.unravel_index(flat, v.shape))


@dataclass
class SweepPlan:
    """A validated sweep, ready to compute in blocks."""

    function: LossFunction
    optimizer: Optimizer
    axes: list[Axis]
    starts: np.ndarray
    steps: int
    metric: str
    tol: float
    fstar: float | None = None
    values: list[np.ndarray] = field(default_factory=list)
    #: the learning-rate schedule every run follows (``optsim.schedules``), or None
    schedule: Any = None
    #: the gradient clipping of every run (``optsim.gradients.Clip``), or None
    clip: Any = None
    #: the gradient noise of every run (``optsim.gradients.Noise``; None: none), the
    #: first seed and K, the seeds per cell
    noise: Any = None
    seed: int = 0
    seeds: int = 1

    @property
    def rows_per_cell(self) -> int:
        """Runs per cell: starts × seeds."""
        return len(self.starts) * self.seeds

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(v) for v in reversed(self.values))

    @property
    def cells(self) -> int:
        return math.prod(len(v) for v in self.values) if self.values else \
            math.prod(a.n for a in self.axes)

    @property
    def spec(self) -> str:
        """The optimizer's spec, with ``+schedule`` when it has one."""
        return self.optimizer.spec + ("" if self.schedule is None else "+" + self.schedule.spec)

    def subset(self, stride: int) -> SweepPlan:
        """The same sweep on every ``stride``-th value of each axis (a coarse preview)."""
        return dataclasses.replace(self, values=[v[::stride] for v in self.values])

    def cell_values(self, lo: int, hi: int) -> dict[str, np.ndarray]:
        """The hyperparameter values of cells lo..hi-1 (x fastest)."""
        c = np.arange(lo, hi)
        nx = len(self.values[0])
        out = {self.axes[0].name: self.values[0][c % nx]}
        if len(self.axes) > 1:
            out[self.axes[1].name] = self.values[1][c // nx]
        return out


def available_memory() -> int:
    """Bytes of memory available to allocate (MemAvailable on Linux)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 1 << 34


def _size(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} PB"  # pragma: no cover


def as_starts(function: LossFunction, start: Any) -> np.ndarray:
    """(S, D) start points from None (the function's start), a (D,) point or (S, D)."""
    if start is None:
        return np.array([function.start], dtype=np.float64)
    try:
        a = np.array(start, dtype=np.float64)
    except (TypeError, ValueError):
        raise SweepInputError(f"start must be numbers, got {start!r}") from None
    if a.ndim == 0:
        a = a.reshape(1, 1)
    elif a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or a.shape[1] != function.dim or len(a) == 0:
        raise SweepInputError(f"start: {function.name} is {function.dim}D, so a start has "
                              f"{function.dim} coordinate(s); got shape {np.shape(start)}")
    if not np.isfinite(a).all():
        raise SweepInputError("start must be finite")
    return a


def check_steps(steps: Any) -> int:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) \
            or not 0 <= int(steps) <= MAX_STEPS:
        raise SweepInputError(f"steps must be a whole number in [0, {MAX_STEPS}], got {steps!r}")
    return int(steps)


def split_optimizer(optimizer: str | Optimizer, schedule: Any = None) -> tuple[Optimizer, Any]:
    """An optimizer and its schedule (or None) from ``"spec"``, ``"spec+schedule"``
    (``sgd:lr=0.1+steplr:step_size=10``) or an Optimizer, and ``schedule`` (a spec
    or an ``optsim.schedules.Schedule``; given once, in either place)."""
    from ..schedules import as_schedule, split_spec

    given = as_schedule(schedule) if schedule not in (None, "") else None
    if isinstance(optimizer, str):
        spec, from_spec = split_spec(optimizer)
        if from_spec is not None and given is not None:
            raise SweepInputError("a schedule is given twice: in the spec after '+' and as "
                                  "schedule=")
        return as_optimizer(spec), from_spec or given
    return as_optimizer(optimizer), given


def check_noise(fn: LossFunction, opt: Optimizer, noise: Any, seed: Any,
                seeds: Any) -> tuple[Any, int, int]:
    """(the noise model or None, the first seed, K seeds per cell), checked: an
    optimizer that evaluates the loss itself takes no noise (as in the simulation)."""
    model = as_noise(noise, fn)
    seed = check_seed(seed)
    seeds = check_seeds(seeds, model, seed)
    if model is not None and opt.needs_closure:
        raise SweepInputError(f"{opt.name} evaluates the loss itself (a closure): gradient "
                              "noise does not apply to it")
    return model, seed, seeds


def as_clip(clip: Any) -> Any:
    """An ``optsim.gradients.Clip`` from ``"norm=C"`` / ``"value=C"`` / a Clip, or
    None (no clipping) from None or ""."""
    from ..gradients import parse_clip

    try:
        return parse_clip(clip)
    except (ValueError, TypeError) as exc:
        raise SweepInputError(str(exc)) from None


def schedule_param(schedule: Any, name: str) -> Any:
    """The declaration of a schedule's parameter ``name`` (None if it has none)."""
    if schedule is None or "schedulers" in schedule.values:
        return None
    try:
        return schedule.kind.param(name)
    except ValueError:
        return None


def _check_any_axis(axis: Axis, opt: Optimizer, schedule: Any) -> None:
    """An axis over the optimizer's hyperparameter or, with a schedule, over one of
    the schedule's numeric parameters."""
    if axis.name in {p.name for p in opt.declared} or schedule is None:
        check_axis(axis, opt)
        return
    p = schedule_param(schedule, axis.name)
    if p is None:
        known = [q.name for q in opt.declared]
        if "schedulers" not in schedule.values:
            known += [q.name for q in schedule.kind.params if q.kind in (int, float)]
        raise SweepInputError(f"{opt.name}+{schedule.name}: unknown hyperparameter "
                              f"{axis.name!r}; known: {', '.join(known)}")
    if p.kind not in (int, float):
        raise SweepInputError(f"{schedule.name}: {p.name} is not a number: an axis must be a "
                              "numeric hyperparameter")
    for v in (axis.lo, axis.hi):
        try:
            p.validate(int(v) if p.kind is int and float(v).is_integer() else float(v),
                       schedule.name)
        except ValueError as exc:
            raise SweepInputError(str(exc)) from None
    if p.kind is int and not np.array_equal(axis.values, np.round(axis.values)):
        raise SweepInputError(f"{schedule.name}: {p.name} is a whole number, but the axis "
                              f"{axis.spec} has fractional values")


def check_sweep_settings(settings: Any, optimizer: str | Optimizer,
                         schedule: Any = None) -> None:
    """A scenario's ``"sweep"`` object (axes ``x``/``y``, ``metric``, ``steps``,
    ``starts``; its form already checked by :mod:`optsim.runset`) checked against the
    run it sweeps (the window sweeps the selected run, the first when a file opens):
    each axis a numeric hyperparameter of ``optimizer`` or of its ``schedule`` with
    its values in range, two different axes, a known metric, the steps within the
    schedule. Raises SweepInputError naming the field (``sweep.x: ...``)."""
    try:
        opt, sch = split_optimizer(optimizer, schedule)
    except SweepInputError:
        raise
    except (ValueError, TypeError, SyntaxError) as exc:
        raise SweepInputError(str(exc)) from None
    names = []
    for key in ("x", "y"):
        text = settings.get(key)
        if not text:
            if key == "x":
                raise SweepInputError("sweep.x: is missing")
            continue
        try:
            axis = as_axis(text)
            _check_any_axis(axis, opt, sch)
        except SweepInputError as exc:
            raise SweepInputError(f"sweep.{key}: {exc}") from None
        if axis.name in names:
            raise SweepInputError(f"sweep.y: both axes vary {axis.name}; choose two different "
                                  "hyperparameters")
        names.append(axis.name)
    metric = settings.get("metric", "final-loss")
    if metric not in METRICS:
        raise SweepInputError(f"sweep.metric: unknown metric {metric!r}; known: "
                              f"{', '.join(METRICS)}")
    steps = settings.get("steps")
    if steps is not None:
        try:
            check_steps(steps)
        except SweepInputError as exc:
            raise SweepInputError(f"sweep.steps: {exc}") from None
        end = sch.max_steps if sch is not None else None
        if end is not None and int(steps) > end:
            raise SweepInputError(f"sweep.steps: {sch.name} ends at step {end}, but the sweep "
                                  f"takes {steps} steps")


def plan_sweep(function: str | LossFunction, optimizer: str | Optimizer,
               x: Axis | str | tuple, y: Axis | str | tuple | None = None, *,
               start: Any = None, steps: int = 100, metric: str = "final-loss",
               tol: float = DEFAULT_TOL, memory: int | None = None, schedule: Any = None,
               clip: Any = None, noise: Any = None, seed: int = 0,
               seeds: int | None = None) -> SweepPlan:
    """Validate a sweep's inputs (raises SweepInputError with a one-line message)."""
    try:
        fn = as_function(function)
        opt, schedule = split_optimizer(optimizer, schedule)
    except SweepInputError:
        raise
    except (ValueError, TypeError, SyntaxError) as exc:
        raise SweepInputError(str(exc)) from None
    clip = as_clip(clip)
    noise, seed, seeds = check_noise(fn, opt, noise, seed, seeds)
    axes = [as_axis(x)] + ([] if y is None else [as_axis(y)])
    if len(axes) == 2 and axes[0].name == axes[1].name:
        raise SweepInputError(f"both axes vary {axes[0].name}; choose two different hyperparameters")
    for a in axes:
        _check_any_axis(a, opt, schedule)
    if schedule is not None:
        end = schedule.max_steps
        if end is not None and int(steps) > end:
            raise SweepInputError(f"{schedule.name}: the schedule ends at step {end}, but "
                                  f"{steps} steps were asked for")
        if schedule.cycles_momentum:
            from ..schedules import momentum_name

            target = momentum_name(opt.hp)
            if target is None or opt.hp[target] == 0:
                raise SweepInputError(f"{schedule.name} cycles the momentum: give "
                                      f"{opt.name} a momentum (or beta1) above 0")
    if metric not in METRICS:
        raise SweepInputError(f"unknown metric {metric!r}; known: {', '.join(METRICS)}")
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not math.isfinite(tol) \
            or tol <= 0:
        raise SweepInputError(f"tol must be a finite number > 0, got {tol!r}")
    starts = as_starts(fn, start)
    steps = check_steps(steps)
    corners = {a.name: np.array([a.lo, a.hi], dtype=np.float64) for a in axes}
    if len(axes) == 2:  # every corner of the grid: lo/hi of x with lo/hi of y
        corners = {axes[0].name: np.tile(corners[axes[0].name], 2),
                   axes[1].name: np.repeat(corners[axes[1].name], 2)}
    try:  # the settings must go together (Nesterov needs momentum > 0, ...)
        _prepare(opt, schedule, corners, 4 if len(axes) == 2 else 2)
    except ValueError as exc:
        raise SweepInputError(str(exc)) from None
    plan = SweepPlan(fn, opt, axes, starts, steps, metric, float(tol), schedule=schedule,
                     clip=clip, noise=noise, seed=seed, seeds=seeds)
    need = plan.cells * BYTES_PER_CELL
    have = available_memory() if memory is None else memory
    if need > have / 2:
        dims = " x ".join(str(a.n) for a in axes)
        raise SweepInputError(f"grid too large for memory: {dims} = {plan.cells:,} cells need "
                              f"about {_size(need)} for their metrics, and about {_size(have)} "
                              "is available; use fewer cells")
    plan.values = [a.values for a in axes]
    # every value of the grid is checked once: a log axis' inner values stay inside
    return plan


# ---------------------------------------------------------------------------
# computing blocks (also on Dask workers, from picklable arguments)


def function_ref(fn: LossFunction) -> str | LossFunction:
    """What a worker needs to rebuild ``fn``: its name if built in, its formula if
    typed, otherwise the object itself."""
    if fn.name in FUNCTIONS and FUNCTIONS[fn.name] is fn:
        return fn.name
    if fn.formula and fn.is_custom and getattr(fn, "name", "") == fn.formula:
        return fn.formula
    return fn


def _prepare(opt: Optimizer, schedule: Any, rows: dict[str, np.ndarray],
             n: int) -> tuple[Any, ScheduledRows | None]:
    """The per-row optimizer and schedule of a batch: each row's values of the
    optimizer's hyperparameters and of the schedule's parameters in ``rows``."""
    declared = {p.name for p in opt.declared}
    optimizer = rows_optimizer(opt, {k: v for k, v in rows.items() if k in declared})
    if schedule is None:
        return optimizer, None
    own = {k: v for k, v in rows.items() if k not in declared}
    return optimizer, ScheduledRows(schedule, own, optimizer, n)


def compute_block(function: str | LossFunction, optimizer: str | Optimizer,
                  cell_values: dict[str, np.ndarray], starts: np.ndarray, steps: int,
                  tol: float, fstar: float | None, clip: Any = None, noise: Any = None,
                  seed: int = 0, seeds: int = 1, cancel: Any = None
                  ) -> tuple[dict[str, np.ndarray], float]:
    """The aggregated metrics of a block of cells (each cell: its hyperparameter
    values, run from every start with every seed), and the lowest loss any of its
    runs saw. ``optimizer``: an Optimizer, or a spec with an optional ``+schedule``;
    ``clip``: gradient clipping (a spec or Clip; None: none); ``noise``: gradient
    noise (a spec or Noise; None: none), member k of each start with the noise of
    ``seed + k`` (``optsim.explore.noise``), k < ``seeds``."""
    fn = as_function(function)
    opt, schedule = split_optimizer(optimizer)
    clip = as_clip(clip)
    model = as_noise(noise, fn)
    k = seeds if model is not None else 1
    n_cells = len(next(iter(cell_values.values())))
    s = len(starts) * k  # rows per cell: each start, each member (member fastest)
    rows = {name: np.repeat(np.asarray(v, dtype=np.float64), s)
            for name, v in cell_values.items()}
    batch_starts = np.tile(np.repeat(starts, k, axis=0), (n_cells, 1))
    seeded = None if model is None else SeededNoise(model, seed, members(len(batch_starts), k),
                                                    fn)
    if fstar is not None:
        targets = np.array([fstar])
    else:
        targets = np.asarray(fn.minimum_values, dtype=np.float64)
    rows_opt, scheduled = _prepare(opt, schedule, rows, len(batch_starts))
    res = run_rows(fn, rows_opt, batch_starts, steps, targets, tol, cancel, scheduled, clip,
                   seeded)
    metrics = row_metrics(fn, res, steps, fstar)
    lowest = float(np.nanmin(res.best_loss)) if np.isfinite(res.best_loss).any() else math.inf
    return aggregate(metrics, s), lowest


def _blocks(plan: SweepPlan, block_rows: int) -> list[tuple[int, int]]:
    """Cell ranges of at most ``block_rows`` rows each, of equal sizes (within a cell),
    an even number of them when more than one: two threads end together (1M cells:
    32 blocks of 31,250, not 30 of 32,768 and a half-sized one left to one thread)."""
    per = max(1, block_rows // plan.rows_per_cell)
    count = -(-plan.cells // per)
    if count > 1:
        count += count % 2
    count = min(count, plan.cells)
    return [(plan.cells * i // count, plan.cells * (i + 1) // count) for i in range(count)]


def run_plan(plan: SweepPlan, *, cluster: Any = None, workers: int | None = None,
             block_rows: int = BLOCK_ROWS, progress: Progress | None = None,
             cancel: Any = None, fstar: float | None = None
             ) -> tuple[dict[str, np.ndarray], float]:
    """Compute every block of ``plan``: in this process (``workers`` threads,
    default up to 2), or on a Dask cluster (``cluster``: see
    :func:`optsim.explore.cluster.client_for`). Returns the metrics (cells,) and the
    lowest loss seen."""
    blocks = _blocks(plan, block_rows)
    fref, oref = function_ref(plan.function), plan.spec
    clip = None if plan.clip is None else plan.clip.spec
    noise = None if plan.noise is None else plan.noise.spec
    args = [(plan.cell_values(lo, hi), plan.starts, plan.steps, plan.tol, fstar, clip, noise,
             plan.seed, plan.seeds) for lo, hi in blocks]
    if cluster is not None:
        from .cluster import map_blocks

        results = map_blocks(cluster, compute_block, fref, oref, args, progress=progress,
                             cancel=cancel, total=plan.cells, sizes=[hi - lo for lo, hi in blocks])
    else:
        # each block's metrics go into place as it ends, in its worker thread: no
        # block's arrays are kept until the end and then copied (a 1M-cell sweep
        # touched 48 MB of fresh memory twice, page faults with system time)
        out: dict[str, np.ndarray] = {}
        lock = threading.Lock()

        def block(job: tuple[int, tuple]) -> float:
            (lo, hi), a = blocks[job[0]], job[1]
            metrics, lowest = compute_block(fref, oref, *a, cancel=cancel)
            with lock:
                if not out:
                    out.update({k: np.empty(plan.cells, dtype=v.dtype) for k, v in metrics.items()})
            for k, v in metrics.items():
                out[k][lo:hi] = v
            return lowest

        lows = _Local(workers, progress, cancel).map(
            block, list(enumerate(args)), [hi - lo for lo, hi in blocks], plan.cells)
        return out, min(lows)
    out = {k: np.concatenate([r[0][k] for r in results]) for k in results[0][0]}
    lowest = min(r[1] for r in results)
    return out, lowest


class _Local:
    """Blocks computed in this process, in up to ``workers`` threads (NumPy
    releases the GIL inside its loops), with progress after each block and a
    cancel check before each."""

    def __init__(self, workers: int | None, progress: Progress | None, cancel: Any) -> None:
        self.workers = workers if workers is not None else min(2, os.cpu_count() or 1)
        self.progress, self.cancel = progress, cancel

    def map(self, func: Callable[[Any], Any], args: list, sizes: list[int], total: int) -> list:
        def one(a: Any) -> Any:
            if self.cancel is not None and self.cancel.is_set():
                raise Cancelled()
            return func(a)

        results: list[Any] = []
        done = 0
        if self.workers <= 1 or len(args) == 1:
            for a, size in zip(args, sizes, strict=True):
                results.append(one(a))
                done += size
                if self.progress is not None:
                    self.progress(done, total)
            return results
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="optsim-sweep") as pool:
            futures = [pool.submit(one, a) for a in args]
            try:
                for f, size in zip(futures, sizes, strict=True):
                    results.append(f.result())
                    done += size
                    if self.progress is not None:
                        self.progress(done, total)
            except BaseException:
                for f in futures:
                    f.cancel()
                raise
        return results


def sweep(function: str | LossFunction, optimizer: str | Optimizer,
          x: Axis | str | tuple, y: Axis | str | tuple | None = None, *,
          start: Any = None, steps: int = 100, metric: str = "final-loss",
          tol: float = DEFAULT_TOL, schedule: Any = None, clip: Any = None,
          noise: Any = None, seed: int = 0, seeds: int | None = None, cluster: Any = None, workers: int | None = None,
          progress: Progress | None = None, cancel: Any = None,
          block_rows: int = BLOCK_ROWS) -> SweepResult:
    """Map ``metric`` over one or two hyperparameters of ``optimizer`` on ``function``.

    ``x``, ``y``: axes, as ``"NAME=LO:HI:N[:log]"``, ``(name, lo, hi, n[, "log"])``
    or :class:`Axis`; every other hyperparameter stays as ``optimizer`` sets it.
    ``start``: one start (D,) or several (S, D), each cell's metric then being the
    median over them (``diverged``: the fraction that diverged). ``metric``: one
    of ``final-loss``, ``best-loss``, ``steps-to-tol`` (first step with
    loss − f* < ``tol``; f* the value of the known minimum nearest the run's end,
    else the best loss anywhere in the sweep), ``rate`` ((‖w_T − w*‖/‖w_{T/2} −
    w*‖)^(2/T), w* the known minimum nearest w_T; ≥ 1: no convergence), ``diverged``.
    All metrics are computed (``result.metrics``); a diverged run's final loss,
    steps-to-tol and rate are inf.

    ``schedule``: a learning-rate schedule every run follows (a spec such as
    ``"onecyclelr:max_lr=0.5,total_steps=100"``, or written after ``+`` in
    ``optimizer``); an axis may then vary one of its numeric parameters
    (``max_lr``, ``gamma``, ...). ``clip``: gradient clipping of every run,
    ``"norm=C"`` or ``"value=C"`` (default: none).

    ``noise``: gradient noise of every run, a spec as in :func:`optsim.simulate`
    (``"gaussian:sigma=0.5"``, ``"multiplicative:sigma=0.3"``,
    ``"student:nu=3,sigma=0.5"``, ``"minibatch:batch=8"``, or a bare Gaussian σ;
    default: exact gradients). With noise every cell is run ``seeds`` times (default
    5) from each start, run k with the noise of ``optsim.simulate(...,
    noise=noise, seed=seed + k)``, and its metric is the median over starts × seeds
    (``diverged``: the fraction that diverged); the same ``seed`` gives the same map.
    Every cell sees the same K noise sequences.

    ``cluster``: None (in this process, ``workers`` threads), ``"local:K"`` (a
    local Dask cluster of K workers), ``"tcp://HOST:PORT"`` (a running Dask
    scheduler) or a ``distributed.Client``; needs ``optsim[cluster]``.
    ``progress(done_cells, total_cells)`` is called as blocks finish;
    ``cancel.is_set()`` (e.g. a ``threading.Event``) stops the sweep, raising
    :class:`optsim.explore.Cancelled`. ``block_rows``: runs per block (a block is
    one task; the result does not depend on it).
    """
    plan = plan_sweep(function, optimizer, x, y, start=start, steps=steps, metric=metric, tol=tol,
                      schedule=schedule, clip=clip, noise=noise, seed=seed, seeds=seeds)
    return run_sweep_plan(plan, cluster=cluster, workers=workers, progress=progress, cancel=cancel,
                          block_rows=block_rows)


def run_sweep_plan(plan: SweepPlan, *, cluster: Any = None, workers: int | None = None,
                   progress: Progress | None = None, cancel: Any = None,
                   block_rows: int = BLOCK_ROWS) -> SweepResult:
    """Compute a planned sweep (see :func:`sweep`)."""
    metrics, lowest = run_plan(plan, cluster=cluster, workers=workers, progress=progress,
                               cancel=cancel, fstar=plan.fstar, block_rows=block_rows)
    fstar = plan.fstar
    if not plan.function.minima and plan.metric == "steps-to-tol" and fstar is None:
        # f* is the best loss seen anywhere: known only now; a second pass counts steps
        fstar = lowest
        second, _ = run_plan(plan, cluster=cluster, workers=workers, progress=progress,
                             cancel=cancel, fstar=fstar, block_rows=block_rows)
        metrics["steps-to-tol"] = second["steps-to-tol"]
    elif not plan.function.minima and fstar is None:
        metrics["steps-to-tol"] = np.full(plan.cells, np.nan)
    shape = plan.shape
    maps = {k: v.reshape(shape) for k, v in metrics.items()}
    return SweepResult(plan.function, plan.optimizer, plan.axes[0],
                       plan.axes[1] if len(plan.axes) > 1 else None, plan.metric, maps,
                       plan.starts, plan.steps, plan.tol, fstar,
                       [v.copy() for v in plan.values], plan.schedule, plan.clip,
                       plan.noise, plan.seed, plan.seeds)


def sweep_values(result: SweepResult) -> Sequence[np.ndarray]:
    """The axes' values of ``result``: [x] or [x, y]."""
    return [result.x] if result.y is None else [result.x, result.y]
