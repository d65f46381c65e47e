"""Many runs at once, keeping only what the metrics need (no histories).

:func:`run_rows` steps a batch of runs (one row per run, each with its own start
and, through :func:`rows_optimizer`, its own hyperparameters) and returns per-row
results: final and best loss, the first step within ``tol`` of each known minimum
(or of a given f*), the positions at the last step and half-way (for the rate), and
where the run diverged. Memory is a few (N, D) arrays, whatever the number of steps.

A run diverges as in :class:`optsim.simulation.Trajectory`: a non-finite loss or
position, or leaving the view enlarged ``BOUND_SCALE`` times. It is then frozen
where it was (its position and loss stop changing). A step is taken as in the
simulation's training loop (:mod:`optsim.dynamics`): the gradient, noisy if asked
(``optsim.explore.noise.SeededNoise``), clipped if asked (``optsim.gradients.Clip``),
then the optimizer's step with the schedule's lr.

Why not :func:`optsim.simulation.advance_together` (the simulation's stepping
path)? It keeps every position and loss (a history this does not need), and its
(N, D) arrays are row-major, where per-row hyperparameters are (N, 1) columns that
NumPy broadcasts with an inner loop of D = 2 numbers. Here the arrays are
column-major (Fortran order): the same elementwise arithmetic, bit for bit, with
each column contiguous, so a per-row column broadcasts over whole columns and the
functions' ``p[:, 0]`` are contiguous. Measured on 32,768 runs × 100 steps of Adam
with per-row lr and beta1 (one thread, best of 7, freed memory kept as
:func:`keep_freed_memory` does): 22-23 ns per run-step here, 38-39 ns through the
simulation's path; row-major here, 35 ns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine import Optimizer, optimizer_kind
from ..functions import LossFunction
from ..simulation import BOUND_SCALE, function_closure

#: the metrics a sweep can map (``rate`` needs a known minimum)
METRICS = ("final-loss", "best-loss", "steps-to-tol", "rate", "diverged")
#: what each metric measures, with its unit (the colour bar's label)
METRIC_LABELS = {
    "final-loss": "final loss f(w_T)",
    "best-loss": "best loss min_t f(w_t)",
    "steps-to-tol": "steps until f − f* < tol",
    "rate": "convergence rate per step",
    "diverged": "diverged (fraction of starts)",
}
DEFAULT_TOL = 1e-6


class ScheduledRows:
    """A learning-rate schedule over N rows: each step's lr (and cycled momentum or
    beta1) per row, torch's semantics (``optsim.schedules``). The schedule's own
    parameters may differ per row (a sweep over them): one scheduler per distinct
    setting, each over its rows."""

    def __init__(self, schedule: Any, values: dict[str, np.ndarray], optimizer: Any,
                 n: int) -> None:
        from ..schedules import Schedule, momentum_name

        hp = optimizer.hp
        lr = np.broadcast_to(np.asarray(hp["lr"], dtype=np.float64), (n,)).copy()
        self.target = momentum_name(hp) if schedule.cycles_momentum else None
        base = None
        if self.target is not None:
            base = np.broadcast_to(np.asarray(hp[self.target], dtype=np.float64), (n,)).copy()
        self.n = n
        if values:
            names = list(values)
            table = np.stack([np.asarray(values[k], dtype=np.float64) for k in names], axis=1)
            combos, inverse = np.unique(table, axis=0, return_inverse=True)
            inverse = np.asarray(inverse).reshape(-1)
            self.rows = [np.flatnonzero(inverse == g) for g in range(len(combos))]
            kind = schedule.kind
            settings = [
                {**schedule.values, **{k: kind.param(k).validate(
                    int(v) if kind.param(k).kind is int else float(v), kind.name)
                    for k, v in zip(names, c, strict=True)}} for c in combos]
            schedules = [Schedule(kind, v) for v in settings]
        else:
            self.rows = [np.arange(n)]
            schedules = [schedule]
        for sch in schedules:
            sch.kind.runtime.check(sch.values, sch.kind.name)
        self.schedulers = [sch.start(lr[r], None if base is None else base[r])
                           for sch, r in zip(schedules, self.rows, strict=True)]

    def current(self) -> tuple[np.ndarray, dict[str, np.ndarray] | None]:
        """This step's lr (N,) and, if cycled, {momentum name: (N,)}."""
        lr = np.empty(self.n)
        mom = np.empty(self.n) if self.target is not None else None
        for s, r in zip(self.schedulers, self.rows, strict=True):
            lr[r] = s.lr
            if mom is not None:
                mom[r] = s.momentum
        return lr, (None if mom is None else {self.target: mom})

    def step(self, loss: np.ndarray) -> None:
        """``scheduler.step(loss)`` for every group (``loss``: the loss where the
        step's gradient was taken, for ReduceLROnPlateau)."""
        for s, r in zip(self.schedulers, self.rows, strict=True):
            s.step(loss[r])


def rows_optimizer(optimizer: Optimizer, values: dict[str, np.ndarray]) -> Any:
    """``optimizer`` with the hyperparameters in ``values`` set per row (arrays of
    shape (N,)); anything with ``init(params)`` and ``step(params, grads, state)``."""
    if not values:
        return optimizer
    base = {p.name: optimizer.hp[p.name] for p in optimizer.declared}
    return optimizer_kind(optimizer.name).create(
        **{**base, **{k: np.asarray(v, dtype=np.float64) for k, v in values.items()}})


@dataclass
class RowResults:
    """Per-row results of :func:`run_rows` (N rows)."""

    final_loss: np.ndarray      # (N,)
    best_loss: np.ndarray       # (N,)
    #: first step with loss − f_k < tol, per target k (N, K); inf: never
    hit_step: np.ndarray
    end: np.ndarray             # (N, D) position after the last step
    half: np.ndarray            # (N, D) position after step steps // 2
    diverged: np.ndarray        # (N,) bool
    diverged_step: np.ndarray   # (N,) int, -1: never


def bounds(function: LossFunction) -> tuple[np.ndarray, np.ndarray]:
    """The box outside which a run counts as diverged (as in Trajectory)."""
    (x0, x1), (y0, y1) = function.view
    d = function.dim
    spans = np.array([x1 - x0, y1 - y0][:d], dtype=np.float64)
    centres = np.array([(x0 + x1) / 2, (y0 + y1) / 2][:d], dtype=np.float64)
    half = np.maximum(np.abs(spans), 1.0) / 2 * BOUND_SCALE
    return centres - half, centres + half


#: bytes of freed memory the C allocator keeps for reuse (see :func:`keep_freed_memory`)
KEEP_FREED = 64 << 20
_kept = False


def keep_freed_memory() -> None:
    """Let glibc's allocator keep up to :data:`KEEP_FREED` bytes of freed memory
    instead of returning it to the system at once (once per process; elsewhere
    nothing). This changes the whole process, so the library never calls it by
    itself: the programs do (``optsim sweep/basins/tune``, the window, bench/sweep.py),
    and an API user may. A step of a block allocates and frees a few arrays of half a megabyte;
    by default glibc gives such memory back and page-faults it in again the next
    step: measured on 32,768 runs of Adam, 28-37 ns per run-step against 23-24 with
    the memory kept (the arithmetic is the same; only the page faults go)."""
    global _kept
    if _kept:
        return
    _kept = True
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-1, KEEP_FREED)  # M_TRIM_THRESHOLD
        libc.mallopt(-3, KEEP_FREED // 2)  # M_MMAP_THRESHOLD (blocks below it: from the heap)
    except (OSError, AttributeError):  # not glibc: its own policy stands
        pass


class Cancelled(Exception):
    """The computation was cancelled (``cancel.is_set()`` became true)."""


def _gradient(function: LossFunction, params: np.ndarray, clip: Any,
              noise: Any = None) -> np.ndarray:
    """The (noisy, clipped) gradient at ``params``, column-major (N, D)."""
    g = np.asarray(function.gradient(params), dtype=np.float64).reshape(params.shape)
    if noise is not None:
        g = noise(g, params)
    if clip is not None:
        g = clip.apply(g)[0]
    return np.asfortranarray(g)


def run_rows(function: LossFunction, optimizer: Any, starts: np.ndarray, steps: int,
             targets: np.ndarray, tol: float, cancel: Any = None,
             schedule: ScheduledRows | None = None, clip: Any = None,
             noise: Any = None) -> RowResults:
    """Step N runs ``steps`` steps from ``starts`` (N, D) and return their
    :class:`RowResults`. ``targets`` (K,) are the loss values f* whose first
    ``loss − f* < tol`` step is recorded (K may be 0). ``cancel``: an object whose
    ``is_set()`` is checked every step (a ``threading.Event``); raises Cancelled.
    ``schedule``: each step's learning rate (and cycled momentum) per row.
    ``clip``: gradient clipping (an ``optsim.gradients.Clip``, or None). ``noise``:
    gradient noise, ``noise(grads, params)`` -> noisy grads, applied before clipping
    at every gradient taken (an ``optsim.explore.noise.SeededNoise``, or None)."""
    # column-major arrays throughout (see the module docstring)
    params = np.array(starts, dtype=np.float64, copy=True, order="F")
    n, dim = params.shape
    lo, hi = bounds(function)
    targets = np.asarray(targets, dtype=np.float64).reshape(-1)
    half_step = steps // 2
    with np.errstate(all="ignore"):
        state = optimizer.init(params)
        state = state._replace(**{f: np.asfortranarray(v) for f, v in state._asdict().items()
                                  if isinstance(v, np.ndarray) and v.shape == params.shape})
        loss = np.asarray(function.value(params), dtype=np.float64).reshape(n)
        best = loss.copy()
        hit = np.full((n, len(targets)), np.inf)
        for j in range(len(targets)):
            hit[loss - targets[j] < tol, j] = 0
        unhit = [np.isinf(hit[:, j]) for j in range(len(targets))]
        scratch, reached = np.empty(n), np.empty(n, dtype=bool)
        lo_all, hi_all = float(lo.max()), float(hi.min())
        diverged = ~_inside(params, loss, lo, hi)
        diverged_step = np.where(diverged, 0, -1).astype(np.int64)
        any_frozen = bool(diverged.any())
        half = params.copy() if half_step == 0 else None
        grads = _gradient(function, params, clip, noise)
        # an optimizer that evaluates the loss itself (L-BFGS, Newton) is handed it
        closure = function_closure(function) if optimizer.needs_closure else None
        # an engine optimizer steps into two sets of arrays in turn, shaped and laid
        # out as the state's (made once: a fresh large array per step costs page faults)
        engine = isinstance(optimizer, Optimizer)
        if engine:
            live = optimizer.live_fields()
            sets = [(np.empty_like(params), {f: np.empty_like(getattr(state, f)) for f in live})
                    for _ in range(2)]
        # the loss and the gradient at once where the function shares their terms
        # (Rosenbrock: 1 − x and y − x²), bit for bit the separate ones
        fused = getattr(function, "value_and_gradient", None)
        lr_t = cycled = None
        for k in range(1, steps + 1):
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            if schedule is not None:
                lr_t, cycled = schedule.current()
            if engine:
                out_p, out = sets[k & 1]
                new, state = optimizer.apply(params, grads, state, out_p, out, lr=lr_t,
                                             values=cycled, closure=closure)
            else:
                new, state = optimizer.step(params, grads, state, lr=lr_t, values=cycled,
                                            closure=closure)
            if schedule is not None and k < steps:  # (no lr is asked for past the last step)
                schedule.step(loss)
            if fused is not None:
                new_loss, g_new = fused(new)
                new_loss = np.asarray(new_loss, dtype=np.float64).reshape(n)
            else:
                new_loss = np.asarray(function.value(new), dtype=np.float64).reshape(n)
            # every coordinate within the tightest bound and a finite sum of the losses:
            # every run is inside (three reductions; NaN fails the comparisons)
            if any_frozen or not (lo_all <= new.min() and new.max() <= hi_all
                                  and math.isfinite(new_loss.sum())):
                bad = ~_inside(new, new_loss, lo, hi)
                if any_frozen or bad.any():
                    fresh = bad & ~diverged
                    diverged_step[fresh] = k
                    diverged |= bad
                    any_frozen = True
                    new = np.asfortranarray(np.where(diverged[:, None], params, new))
                    new_loss = np.where(diverged, loss, new_loss)
            params, loss = new, new_loss
            np.minimum(best, loss, out=best)
            for j, target in enumerate(targets):  # (loss − f* < tol, as written)
                if target == 0.0:  # (loss − 0.0 is loss, bit for bit: one pass less)
                    np.less(loss, tol, out=reached)
                else:
                    np.less(np.subtract(loss, target, out=scratch), tol, out=reached)
                reached &= unhit[j]
                if reached.any():
                    hit[reached, j] = k
                    np.greater(unhit[j], reached, out=unhit[j])  # (unhit and not reached)
            if k == half_step:
                half = params.copy()
            if k < steps:
                if fused is None:
                    grads = _gradient(function, params, clip, noise)
                else:
                    g_new = np.asarray(g_new, dtype=np.float64).reshape(n, dim)
                    if noise is not None:
                        g_new = noise(g_new, params)
                    g_new = np.asfortranarray(g_new if clip is None else clip.apply(g_new)[0])
                    if any_frozen:  # a frozen run stays where it was: its gradient too
                        np.copyto(g_new, grads, where=diverged[:, None])
                    grads = g_new
    if half is None:  # pragma: no cover - steps >= 0 always sets it
        half = params.copy()
    return RowResults(loss, best, hit, np.ascontiguousarray(params), np.ascontiguousarray(half),
                      diverged, diverged_step)


def _inside(p: np.ndarray, loss: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    ok = np.isfinite(loss)
    for d in range(p.shape[1]):
        col = p[:, d]
        ok &= col >= lo[d]
        ok &= col <= hi[d]
    return ok


def nearest_minimum(function: LossFunction, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each point (N, D): the index of the nearest known minimum and the
    distance to it (-1 and inf when the function lists none)."""
    points = np.asarray(points, dtype=np.float64)
    if not function.minima:
        return np.full(len(points), -1, dtype=np.int64), np.full(len(points), np.inf)
    minima = np.asarray(function.minima, dtype=np.float64)
    with np.errstate(all="ignore"):
        d = np.sqrt(((points[:, None, :] - minima[None, :, :]) ** 2).sum(axis=2))
    d = np.where(np.isnan(d), np.inf, d)
    idx = np.argmin(d, axis=1)
    return idx.astype(np.int64), d[np.arange(len(points)), idx]


def row_metrics(function: LossFunction, res: RowResults, steps: int,
                fstar: float | None) -> dict[str, np.ndarray]:
    """The metrics of each row, by name (each (N,) float64), plus ``diverged-step``.

    ``steps-to-tol``: with ``fstar`` given, the first step with loss − fstar < tol
    (``res.hit_step`` then has that one column); otherwise the column of the known
    minimum nearest the run's end. ``rate``: (‖w_T − w*‖ / ‖w_h − w*‖)^(1/(T − h))
    with h = T // 2 (for even T the issue's power 2/T) and w* the known minimum
    nearest w_T; NaN when no minimum is known or T = 0. Diverged runs: final loss,
    rate and steps-to-tol are inf.
    """
    n = len(res.final_loss)
    idx, dist_end = nearest_minimum(function, res.end)
    if fstar is not None or not function.minima:
        hits = res.hit_step[:, 0] if res.hit_step.shape[1] else np.full(n, np.inf)
    else:
        hits = res.hit_step[np.arange(n), idx]
    if function.minima and steps > 0:
        minima = np.asarray(function.minima, dtype=np.float64)
        w_star = minima[idx]
        with np.errstate(all="ignore"):
            dist_half = np.sqrt(((res.half - w_star) ** 2).sum(axis=1))
            ratio = np.where(dist_half > 0, dist_end / dist_half,
                             np.where(dist_end > 0, np.inf, 0.0))
            rate = ratio ** (1.0 / (steps - steps // 2))
    else:
        rate = np.full(n, np.nan)
    div = res.diverged
    final = np.where(div, np.inf, res.final_loss)
    return {
        "final-loss": final,
        "best-loss": res.best_loss.copy(),
        "steps-to-tol": np.where(div, np.inf, hits),
        "rate": np.where(div, np.inf, rate),
        "diverged": div.astype(np.float64),
        "diverged-step": res.diverged_step.astype(np.float64),
    }


def aggregate(metrics: dict[str, np.ndarray], starts: int) -> dict[str, np.ndarray]:
    """Per cell over its ``starts`` consecutive rows: the median of each metric, the
    fraction of diverged starts, the earliest divergence step (-1: none)."""
    out = {}
    for name, v in metrics.items():
        cells = v.reshape(-1, starts)
        if starts == 1:
            out[name] = cells[:, 0].copy()
        elif name == "diverged":
            out[name] = cells.mean(axis=1)
        elif name == "diverged-step":
            masked = np.where(cells < 0, np.inf, cells)
            first = masked.min(axis=1)
            out[name] = np.where(np.isinf(first), -1.0, first)
        else:
            out[name] = np.median(cells, axis=1)
    return out
