"""Basins of attraction: which known minimum the run from each start point of a
grid over the view reaches, for one optimizer setting. With gradient noise, each
start is run with K seeds and labelled by the minimum most of them reach."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine import Optimizer
from ..functions import LossFunction, as_function
from .axes import SweepInputError
from .noise import SeededNoise, as_noise, members
from .runner import ScheduledRows
from .sweep import (
    BLOCK_ROWS,
    as_clip,
    available_memory,
    check_noise,
    check_steps,
    function_ref,
    split_optimizer,
)

#: a run whose end is within this fraction of the view's larger span from a known
#: minimum has reached it
DEFAULT_RADIUS = 0.01
MAX_GRID = 4096
#: labels for starts that reach no known minimum, and for runs that diverged
NONE, DIVERGED = -1, -2


@dataclass
class BasinsResult:
    """The basin map. ``labels`` (ny, nx) in 2D, (nx,) in 1D: the 0-based index of
    the minimum (in ``function.minima``) the run from that start reached, ``-1`` if
    it reached none (still moving, or a point not listed), ``-2`` if it diverged.
    ``ends`` (…, D) are the runs' last positions; ``x``, ``y`` the start grid.

    With noise (``noise`` not None) every start is run with ``seeds`` seeds (member
    k with the noise of ``seed + k``, as in :func:`optsim.sweep`); its label is the
    one most of them reached (a tie: the tied label of the lowest seed), its end and
    ``diverged`` those of the lowest seed that reached it, and ``agreement`` the
    fraction of seeds that reached it (None without noise)."""

    function: LossFunction
    optimizer: Optimizer
    x: np.ndarray
    y: np.ndarray | None
    labels: np.ndarray
    ends: np.ndarray
    diverged: np.ndarray
    steps: int
    radius: float
    #: the schedule and gradient clipping every run used (None: none)
    schedule: Any = None
    clip: Any = None
    #: the gradient noise (an ``optsim.gradients.Noise``; None: exact gradients), the
    #: first seed and the seeds per start
    noise: Any = None
    seed: int = 0
    seeds: int = 1
    #: per start, the fraction of its seeds that reached its label (None: no noise)
    agreement: np.ndarray | None = None

    def __iter__(self):
        return iter((self.labels, self.x, self.y))

    @property
    def minimum(self) -> np.ndarray:
        """``labels`` with diverged runs as -1 (the CSV's ``minimum`` column)."""
        return np.where(self.labels < 0, -1, self.labels)

    def counts(self) -> dict[int, int]:
        """How many starts ended in each label."""
        values, counts = np.unique(self.labels, return_counts=True)
        return {int(v): int(c) for v, c in zip(values, counts, strict=True)}


def start_grid(function: LossFunction, grid: int,
               view: Any = None) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """The grid's axes and its points (cells, D), x fastest."""
    (x0, x1), (y0, y1) = function.view if view is None else view
    xs = np.linspace(float(x0), float(x1), grid)
    if function.dim == 1:
        return xs, None, xs[:, None].copy()
    ys = np.linspace(float(y0), float(y1), grid)
    gx, gy = np.meshgrid(xs, ys)
    return xs, ys, np.stack([gx.ravel(), gy.ravel()], axis=1)


def label_ends(function: LossFunction, ends: np.ndarray, diverged: np.ndarray,
               radius: float) -> np.ndarray:
    """The label of each end point: the index of the known minimum within
    ``radius``, else -1; -2 where the run diverged."""
    from .runner import nearest_minimum

    idx, dist = nearest_minimum(function, ends)
    labels = np.where(dist <= radius, idx, NONE)
    return np.where(diverged, DIVERGED, labels).astype(np.int64)


def _basin_block(function: Any, optimizer: Any, starts: np.ndarray, steps: int,
                 clip: Any = None, noise: Any = None, seed: int = 0, seeds: int = 1,
                 cancel: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """The ends and divergence flags of the runs from ``starts``: with noise, each
    start's ``seeds`` members in turn (member fastest)."""
    from .runner import ScheduledRows, run_rows

    fn = as_function(function)
    opt, schedule = split_optimizer(optimizer)
    model = as_noise(noise, fn)
    seeded = None
    if model is not None:
        starts = np.repeat(starts, seeds, axis=0)
        seeded = SeededNoise(model, seed, members(len(starts), seeds), fn)
    scheduled = None if schedule is None else ScheduledRows(schedule, {}, opt, len(starts))
    res = run_rows(fn, opt, starts, steps, np.empty(0), 0.0, cancel, scheduled, as_clip(clip),
                   seeded)
    return res.end, res.diverged


def most_reached(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For labels (cells, K) of K seeds: the label most seeds reached (a tie: the
    tied label of the lowest seed), the member that represents it (the lowest seed
    that reached it) and the fraction of seeds that reached it."""
    cells, k = labels.shape
    values = np.unique(labels)
    counts = np.stack([(labels == v).sum(axis=1) for v in values], axis=1)  # (cells, V)
    top = counts.max(axis=1)
    code = np.searchsorted(values, labels)  # each seed's label as a column of counts
    tied = counts[np.arange(cells)[:, None], code] == top[:, None]
    member = np.argmax(tied, axis=1)  # the first seed whose label is among the most
    chosen = labels[np.arange(cells), member]
    return chosen, member, top / k


def basins(function: str | LossFunction, optimizer: str | Optimizer, *, grid: int = 101,
           steps: int = 500, view: Any = None, radius: float | None = None,
           schedule: Any = None, clip: Any = None, noise: Any = None, seed: int = 0,
           seeds: int | None = None, cluster: Any = None, workers: int | None = None,
           progress: Callable[[int, int], None] | None = None, cancel: Any = None) -> BasinsResult:
    """Run ``optimizer`` from every point of a ``grid`` × ``grid`` grid over the view
    (``grid`` points in 1D) for ``steps`` steps and label each start by the minimum
    reached. ``radius`` (default 1% of the view's larger span): how close to a
    minimum the end must be. ``schedule`` (or ``optimizer`` written
    ``"spec+schedule"``), ``clip``, ``noise``, ``seed`` and ``seeds`` as in
    :func:`optsim.sweep` (with noise, each start's label is the minimum most of its
    seeds reach: see :class:`BasinsResult`). ``cluster``, ``workers``, ``progress``,
    ``cancel`` as in :func:`optsim.sweep`."""
    try:
        fn = as_function(function)
        opt, schedule = split_optimizer(optimizer, schedule)
    except SweepInputError:
        raise
    except (ValueError, TypeError, SyntaxError) as exc:
        raise SweepInputError(str(exc)) from None
    clip = as_clip(clip)
    noise, seed, seeds = check_noise(fn, opt, noise, seed, seeds)
    if schedule is not None:
        end = schedule.max_steps
        if end is not None and int(steps) > end:
            raise SweepInputError(f"{schedule.name}: the schedule ends at step {end}, but "
                                  f"{steps} steps were asked for")
        try:
            ScheduledRows(schedule, {}, opt, 1)
        except ValueError as exc:
            raise SweepInputError(str(exc)) from None
    if isinstance(grid, bool) or not isinstance(grid, (int, np.integer)) or not 2 <= grid <= MAX_GRID:
        raise SweepInputError(f"grid must be a whole number in [2, {MAX_GRID}], got {grid!r}")
    steps = check_steps(steps)
    if view is not None:
        try:
            (x0, x1), (y0, y1) = [(float(a), float(b)) for a, b in view]
        except (TypeError, ValueError):
            raise SweepInputError(f"view must be ((xmin, xmax), (ymin, ymax)), got {view!r}") from None
        if not all(map(math.isfinite, (x0, x1, y0, y1))) or x0 >= x1 or y0 >= y1:
            raise SweepInputError(f"view must be finite with xmin < xmax and ymin < ymax, got {view!r}")
        view = ((x0, x1), (y0, y1))
    (x0, x1), (y0, y1) = fn.view if view is None else view
    spans = [x1 - x0] + ([y1 - y0] if fn.dim == 2 else [])
    if radius is None:
        radius = DEFAULT_RADIUS * max(spans)
    elif isinstance(radius, bool) or not isinstance(radius, (int, float)) \
            or not math.isfinite(radius) or radius <= 0:
        raise SweepInputError(f"radius must be a finite number > 0, got {radius!r}")
    cells = grid ** fn.dim
    if cells * seeds * 8 * (fn.dim + 2) > available_memory() / 2:
        raise SweepInputError(f"grid too large for memory: {grid}^{fn.dim} = {cells:,} starts")
    xs, ys, starts = start_grid(fn, int(grid), view)
    per = max(1, BLOCK_ROWS // seeds)
    blocks = [(lo, min(lo + per, cells)) for lo in range(0, cells, per)]
    args = [(starts[lo:hi], steps) for lo, hi in blocks]
    spec = opt.spec + ("" if schedule is None else "+" + schedule.spec)
    fref, cref = function_ref(fn), None if clip is None else clip.spec
    nref = None if noise is None else noise.spec
    args = [a + (cref, nref, seed, seeds) for a in args]
    if cluster is not None:
        from .cluster import map_blocks

        results = map_blocks(cluster, _basin_block, fref, spec, args, progress=progress,
                             cancel=cancel, total=cells, sizes=[hi - lo for lo, hi in blocks])
    else:
        from .sweep import _Local

        results = _Local(workers, progress, cancel).map(
            lambda a: _basin_block(fref, spec, *a, cancel=cancel), args,
            [hi - lo for lo, hi in blocks], cells)
    ends = np.concatenate([r[0] for r in results])
    diverged = np.concatenate([r[1] for r in results])
    labels = label_ends(fn, ends, diverged, float(radius))
    agreement = None
    if noise is not None:  # each start: the label most of its seeds reached
        labels, member, agreement = most_reached(labels.reshape(cells, seeds))
        rows = np.arange(cells) * seeds + member
        ends, diverged = ends[rows], diverged[rows]
    shape = (grid,) if fn.dim == 1 else (grid, grid)
    return BasinsResult(fn, opt, xs, ys, labels.reshape(shape), ends.reshape(shape + (fn.dim,)),
                        diverged.reshape(shape), steps, float(radius), schedule, clip,
                        noise, seed, seeds,
                        None if agreement is None else agreement.reshape(shape))
