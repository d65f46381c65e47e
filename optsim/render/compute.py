"""What the pictures show, computed without Qt: the landscape grid (computed once
per function and view, reused by every view of it), its colour scaling and contour
lines, the thinning of long trails to what the screen can show, and the titles.

The pyqtgraph items that draw these live in :mod:`optsim.render.items`,
:mod:`optsim.render.plots` and :mod:`optsim.render.figure`.
"""

from __future__ import annotations

import math
import os
import re
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..functions import LossFunction

#: drawn points per run before the polyline is thinned (the current point stays exact)
MAX_DRAWN_POINTS = 2000
#: a 2D trail marks each step with a dot up to this many shown steps (beyond, the dots
#: merge into the line and only cost drawing time); a 1D run marks at most this many
MAX_STEP_DOTS = 300
#: a trail shows a dot per step up to this many drawn points (dots cost far more than
#: the line: beyond it the 2D trail is a plain line, the 1D marks are thinned to it)
MAX_SYMBOL_POINTS = 300
#: drawn coordinates are clipped to the view enlarged this many times around its centre
CLIP_SCALE = 50.0
#: grid resolution of the landscape (per axis) and how far it reaches past the view
GRID_SIZE = 260
GRID_MARGIN = 0.25
CONTOUR_LEVELS = 14
#: the colours and levels are logarithmic when a tenth of the grid lies below this
#: share of the loss range (the range then spans decades where the runs move)
LOG_DECADE_SHARE = 0.1
#: on a log scale, the colours start at this quantile of the loss above its minimum
#: (below it: the colour of the lowest, not six decades of one dark spot)
LOG_FLOOR_QUANTILE = 0.002

View = tuple[tuple[float, float], tuple[float, float]]


@dataclass(frozen=True)
class RunStyle:
    """How one run is drawn: its legend name, colour (``#rrggbb``) and visibility."""

    name: str
    colour: str
    visible: bool = True



def decimate(n: int, current: int, limit: int = MAX_DRAWN_POINTS) -> np.ndarray | slice:
    """Indices of at most about ``limit`` of ``n`` points, always keeping 0 and ``current``."""
    if n <= limit:
        return slice(0, n)
    stride = int(np.ceil(n / limit))
    idx = np.arange(0, n, stride)
    if (n - 1) % stride:  # the end: appended (np.insert costs ~0.1 ms, per run per frame)
        idx = np.append(idx, n - 1)
    current = int(current)
    if 0 <= current < n - 1 and current % stride:  # stepped back: also the shown step
        idx = np.insert(idx, np.searchsorted(idx, current), current)
    return idx


def as_view(view) -> View:
    """``((xmin, xmax), (ymin, ymax))`` as floats; ValueError unless finite and increasing."""
    try:
        (x0, x1), (y0, y1) = ((float(a), float(b)) for a, b in view)
    except (TypeError, ValueError):
        raise ValueError(f"view must be ((xmin, xmax), (ymin, ymax)), got {view!r}") from None
    if not np.isfinite([x0, x1, y0, y1]).all() or not (x0 < x1 and y0 < y1):
        raise ValueError(f"view must be finite with xmin < xmax and ymin < ymax, got {view!r}")
    return (x0, x1), (y0, y1)


def clip_rows(pts: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``np.clip(pts, lo, hi)`` (NaN stays NaN) without np.clip's Python wrapper."""
    out = np.maximum(pts, lo)
    return np.minimum(out, hi, out=out)


def drop_subpixel(pts: np.ndarray, pixel) -> np.ndarray:
    """The points of a polyline (K, 2) that start a new pixel: a point in the same
    pixel as the point before it is dropped (the first and last are kept), so a
    converged or slow run costs a few segments instead of thousands."""
    return pts[new_pixel_mask(pts, pixel)]


def new_pixel_mask(pts: np.ndarray, pixel) -> np.ndarray:
    """Which points of ``pts`` (K, 2) :func:`drop_subpixel` keeps."""
    keep = np.ones(len(pts), dtype=bool)
    px = np.asarray(pixel, dtype=np.float64)
    if len(pts) <= 2 or not (np.isfinite(px).all() and (px > 0).all()):
        return keep
    with np.errstate(all="ignore"):
        cell = np.floor(pts / px)
    moved = cell[1:-1] != cell[:-2]
    # two columns or'ed: a third of the time of .any(axis=1) (called per run per frame)
    keep[1:-1] = moved[:, 0] | moved[:, 1] if moved.shape[1] == 2 else moved.any(axis=1)
    return keep


class GrowingThinning:
    """What :func:`drop_subpixel` keeps of a polyline that only grows at its end,
    kept up to date from the new points alone.

    During playback a frame adds a few points to a run's thousands; thinning the
    whole line again on every frame cost more than drawing it. ``points`` gives the
    same points as ``drop_subpixel(chunk(0, n), pixel)`` whenever ``key`` (what the
    caller's points depend on: the run, the pixel size, the clip) is unchanged and
    the line has not shrunk; otherwise it thins the whole line afresh.

    The points are a view of a buffer that grows in place (no copy of the whole
    line per frame): a later call may change the last point of what an earlier one
    returned, never the points before it. ``grew`` tells whether the last call
    only added to the line (all but the last point of the earlier result come
    first in the new one).
    """

    def __init__(self) -> None:
        self._key: object = None
        self._n = 0
        self._pixel: object = None
        #: the kept points: settled ones in [0, _m), the line's last point at _m
        self._buf = np.empty((0, 2))
        self._m = 0
        self.grew = False

    def points(self, key: object, n: int, chunk, pixel) -> np.ndarray:
        """The kept points of a line of ``n`` points; ``chunk(a, b)`` gives points
        a..b-1 as a (b-a, 2) array (finite: clipped by the caller)."""
        if pixel != self._pixel:  # (per frame, the same: kept, with what it implies)
            self._pixel = pixel
            self._usable = all(math.isfinite(p) and p > 0 for p in pixel)
            self._px = np.asarray(pixel, dtype=np.float64)
        usable, px = self._usable, self._px
        if key != self._key or n < self._n or self._n < 3 or not usable:
            pts = chunk(0, n)
            keep = new_pixel_mask(pts, px)
            kept = pts[keep]
            self._key, self._n, self.grew = key, n, False
            # a new buffer: what earlier calls returned stays as it was
            self._buf = np.empty((max(2 * len(kept), 64), 2))
            self._buf[: len(kept)] = kept
            self._m = len(kept) - 1  # all but the last point, which stays
            if usable and n >= 2:
                with np.errstate(all="ignore"):
                    self._cells = np.floor(pts[-2:] / px)  # of the last two points
            else:
                self._n = 0  # too short or no pixel size yet: thin afresh next time
            return self._buf[: len(kept)]
        self.grew = True
        if n > self._n:
            new = chunk(self._n, n)
            # finite points over a finite positive pixel: nothing to warn about
            cells = np.concatenate((self._cells, np.floor(new / px)))
            # points _n-1 .. n-2 become inner points: kept where they enter a new pixel
            moved = cells[1:-1] != cells[:-2]
            moved = moved[:, 0] | moved[:, 1]
            inner = np.concatenate((self._buf[self._m: self._m + 1], new[:-1]))[moved]
            m = self._m + len(inner)  # (none kept, for a run that has settled)
            if m + 1 > len(self._buf):
                buf = np.empty((2 * (m + 1), 2))
                buf[: self._m] = self._buf[: self._m]
                self._buf = buf
            self._buf[self._m: m] = inner
            self._buf[m] = new[-1]
            self._m = m
            self._cells = cells[-2:]
            self._n = n
        return self._buf[: self._m + 1]


class GrowingLosses:
    """A run's losses as the loss history draws them (into ±1e150, NaN to the top)
    with their min and max, kept up to date from the new losses alone while they
    come from the same ``source`` and only grow (playback): clipping and reducing
    the whole history each frame cost O(steps) per run per frame."""

    def __init__(self) -> None:
        self._buf = np.empty(0)
        self.n = 0
        self.source: object = None
        self.lo, self.hi = np.inf, -np.inf
        #: the smallest loss above zero (inf: none)
        self.lo_positive = np.inf

    @property
    def values(self) -> np.ndarray:
        return self._buf[: self.n]

    def update(self, losses: np.ndarray, source: object = None) -> np.ndarray:
        """Take ``losses`` (all of them); returns them clipped. Without a source, or
        from another one, or shorter than before, they are taken whole."""
        y = np.asarray(losses, dtype=np.float64).reshape(-1)
        start = self.n if source is not None and source is self.source and len(y) >= self.n else 0
        if start == 0:
            self.lo, self.hi, self.lo_positive = np.inf, -np.inf, np.inf
        if len(y) > len(self._buf):
            buf = np.empty(max(len(y), 2 * len(self._buf), 64))
            buf[:start] = self._buf[:start]
            self._buf = buf
        # fmin gives 1e150 for NaN: as nan_to_num(nan=inf) and a clip, in two passes
        new = np.fmax(np.fmin(y[start:], 1e150), -1e150, out=self._buf[start: len(y)])
        if len(new):
            low = float(new.min())
            self.lo, self.hi = min(self.lo, low), max(self.hi, float(new.max()))
            if low <= 0:  # (rare: a loss of zero or below among the new ones)
                above = new[new > 0]
                low = float(above.min()) if len(above) else np.inf
            self.lo_positive = min(self.lo_positive, low)
        self.n, self.source = len(y), source
        return self.values

    def include(self, y: np.ndarray) -> None:
        """Widen the range (not the values) to losses ``y``, already clipped: the
        range of a run drawn as many curves (LossHistoryPlot.update_bundle)."""
        if not len(y):
            return
        self.lo, self.hi = min(self.lo, float(y.min())), max(self.hi, float(y.max()))
        above = y[y > 0]
        if len(above):
            self.lo_positive = min(self.lo_positive, float(above.min()))


class GrowingRowStats:
    """Per-step statistics over a run's K rows, (steps, K, ...) -> (steps, ...), kept
    up to date from the new steps alone while they come from the same ``source``
    and only grow (playback): a step's statistic never changes once computed, and
    reducing 64 rows x 10,000 steps anew cost ~1 ms per run per frame."""

    def __init__(self, reduce: Callable[[np.ndarray], np.ndarray]) -> None:
        self._reduce = reduce
        self._buf: np.ndarray | None = None
        self.n = 0
        self.source: object = None

    def update(self, rows: np.ndarray, source: object = None) -> np.ndarray:
        """The statistic of every step of ``rows`` (steps first); only the steps
        added since the last call from the same ``source`` are reduced."""
        rows = np.asarray(rows, dtype=np.float64)
        n = len(rows)
        start = self.n if source is not None and source is self.source and n >= self.n else 0
        new = np.asarray(self._reduce(rows[start:n]), dtype=np.float64)
        if self._buf is None or start == 0 or n > len(self._buf) \
                or self._buf.shape[1:] != new.shape[1:]:
            buf = np.empty((max(n, 2 * (0 if self._buf is None else len(self._buf)), 64),
                            *new.shape[1:]))
            if start:
                buf[:start] = self._buf[:start]
            self._buf = buf
        self._buf[start:n] = new
        self.n, self.source = n, source
        return self._buf[:n]


def row_mean(rows: np.ndarray) -> np.ndarray:
    """The mean over the rows of (steps, K, D) positions: (steps, D)."""
    return rows.mean(axis=1)


def row_percentiles(losses: np.ndarray) -> np.ndarray:
    """The 10th, 50th and 90th percentiles over the rows of (steps, K) losses
    (clipped as the history draws them): (steps, 3)."""
    ys = np.sort(np.fmax(np.fmin(losses, 1e150), -1e150), axis=1)
    # np.percentile's linear rule, on the sorted rows (its wrapper cost ~0.3 ms a call,
    # per run per frame)
    k = ys.shape[1]
    out = np.empty((len(ys), 3))
    for j, q in enumerate((0.1, 0.5, 0.9)):
        pos = q * (k - 1)
        lo = int(np.floor(pos))
        hi = min(lo + 1, k - 1)
        frac = pos - lo
        with np.errstate(all="ignore"):
            out[:, j] = ys[:, lo] + (ys[:, hi] - ys[:, lo]) * frac if frac else ys[:, lo]
    return out


def clip_box(view: View) -> tuple[np.ndarray, np.ndarray]:
    """The box (lo, hi) drawn coordinates are clipped to: the view enlarged CLIP_SCALE
    times around its centre (in 1D the second coordinate is the loss)."""
    (x0, x1), (y0, y1) = view
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    half = np.maximum(np.abs([x1 - x0, y1 - y0]), 1e-12) / 2 * CLIP_SCALE
    return centre - half, centre + half


def colour_values(z: np.ndarray, log: bool | None, floor: float | None = None
                  ) -> tuple[np.ndarray, bool, float]:
    """The values the heat map and contours show: ``z`` or, on a log scale,
    ``log10(z - zmin + eps)``. ``log=None`` chooses log when the range spans decades:
    a tenth of the grid lies in the lowest tenth of the range (a bowl's floor, a
    valley), where evenly spaced levels would draw one or two lines. Non-finite
    values are replaced by the largest finite one. Returns (values, log_used, zmin)."""
    finite, zmax, log, zmin = _colour_scale(z, log, floor)
    if zmax is None:
        return np.zeros_like(z), False, 0.0
    z = np.where(finite, z, zmax)
    if not log:
        return z, False, zmin
    eps = (zmax - zmin) * 1e-6 + 1e-300
    return np.log10(z - zmin + eps), True, zmin


def colour_scale(z: np.ndarray, log: bool | None, floor: float | None = None
                 ) -> tuple[bool, float]:
    """:func:`colour_values`' choice alone, (log_used, zmin), without the values (a
    logarithm of the whole grid)."""
    _, _, log, zmin = _colour_scale(z, log, floor)
    return log, zmin


def _colour_scale(z: np.ndarray, log: bool | None, floor: float | None
                  ) -> tuple[np.ndarray, float | None, bool, float]:
    """(finite mask, largest finite value or None if none, log_used, zmin)."""
    finite = np.isfinite(z)
    if not finite.any():
        return finite, None, False, 0.0
    zf = z[finite]
    zmin = float(zf.min()) if floor is None else min(float(zf.min()), floor)
    zmax = float(zf.max())
    span = zmax - zmin
    if log is None:
        # a quantile by partition: np.quantile imports numpy.ma (~0.1 s at start-up)
        k = len(zf) // 10
        low = float(np.partition(zf, k)[k])
        log = span > 0 and low - zmin < LOG_DECADE_SHARE * span
    return finite, zmax, bool(log and span > 0), zmin


def log_levels(lo: float, hi: float, target: int = CONTOUR_LEVELS) -> np.ndarray:
    """Contour levels between ``10**lo`` and ``10**hi`` (exclusive) at round values
    (1, 2, 5 times a power of ten; fewer per decade when the range spans many), about
    ``target`` of them, as log10 values."""
    if not (np.isfinite([lo, hi]).all() and hi > lo):
        return np.empty(0)
    decades = hi - lo
    for mantissas in ((1, 1.5, 2, 3, 5, 7), (1, 2, 5), (1, 3), (1,)):
        if len(mantissas) * decades <= target * 1.4:
            break
    step = max(1, int(np.ceil(decades / target))) if mantissas == (1,) else 1
    powers = np.arange(np.floor(lo), np.ceil(hi) + 1, step)
    vals = np.log10(np.outer(10.0 ** powers, mantissas).ravel())
    return np.sort(vals[(vals > lo) & (vals < hi)])


def contour_segments(xs: np.ndarray, ys: np.ndarray, z: np.ndarray, levels) -> tuple[np.ndarray, np.ndarray]:
    """Contour lines of ``z[j, i]`` (at ``xs[i], ys[j]``) by vectorised marching squares,
    as point pairs (for ``connect='pairs'``): x and y arrays of even length.

    The grid is looked at once: each point's rank among the levels (how many it is
    at or above), and the cells whose corners' ranks differ, the only ones a level
    crosses (a few thousand of a grid's tens of thousands); then, per level, only
    those cells (at start-up, ten levels on the whole grid each took 5 ms of 7)."""
    out_x, out_y = [], []
    xs, ys = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    levels = np.asarray(levels, dtype=np.float64).reshape(-1)
    if not len(levels):
        return np.empty(0), np.empty(0)
    z = np.asarray(z)
    # z >= the level at sorted position m  <=>  rank > m (NaN: below every level)
    order = np.argsort(levels, kind="stable")
    position = np.empty(len(levels), dtype=np.intp)
    position[order] = np.arange(len(levels))
    rank = np.searchsorted(levels[order], z, side="right")
    with np.errstate(invalid="ignore"):
        rank[np.isnan(z)] = 0
    corners = (rank[:-1, :-1], rank[:-1, 1:], rank[1:, 1:], rank[1:, :-1])  # a, b, c, d
    lo = np.minimum(np.minimum(corners[0], corners[1]), np.minimum(corners[2], corners[3]))
    hi = np.maximum(np.maximum(corners[0], corners[1]), np.maximum(corners[2], corners[3]))
    cj, ci = np.nonzero(lo != hi)
    lo, hi = lo[cj, ci], hi[cj, ci]
    ka, kb, kc, kd = (k[cj, ci] for k in corners)

    def cross(level, p, q, cp, cq):  # the point where the level crosses p..q
        with np.errstate(all="ignore"):
            t = (level - p) / (q - p)
        return cp + t * (cq - cp)

    for level, m in zip(levels, position, strict=True):
        sel = (lo <= m) & (m < hi)  # the cells the level crosses, in row-major order
        if not sel.any():
            continue
        jj, ii = cj[sel], ci[sel]
        a, b, c, d = ka[sel] > m, kb[sel] > m, kc[sel] > m, kd[sel] > m
        # cell edges in order around the cell: bottom (a-b), right (b-c), top (d-c), left (a-d)
        hit = np.stack([a != b, b != c, d != c, a != d])
        za, zb, zc, zd = z[jj, ii], z[jj, ii + 1], z[jj + 1, ii + 1], z[jj + 1, ii]
        x0, x1, y0, y1 = xs[ii], xs[ii + 1], ys[jj], ys[jj + 1]
        px = np.stack([cross(level, za, zb, x0, x1), x1, cross(level, zd, zc, x0, x1), x0])
        py = np.stack([y0, cross(level, zb, zc, y0, y1), y1, cross(level, za, zd, y0, y1)])
        n = hit.sum(axis=0)
        two = n == 2
        if two.any():
            order2 = np.argsort(~hit[:, two], axis=0, kind="stable")[:2]
            out_x.append(np.take_along_axis(px[:, two], order2, axis=0).T.ravel())
            out_y.append(np.take_along_axis(py[:, two], order2, axis=0).T.ravel())
        four = n == 4
        if four.any():
            centre = (za + zb + zd + zc)[four] / 4 >= level
            same = centre == a[four]
            # centre joins corner a (bottom-left): cut off b and d, else cut off a and c
            pairs = np.where(same[None, :], np.array([[0], [1], [2], [3]]),
                             np.array([[3], [0], [1], [2]]))
            out_x.append(np.take_along_axis(px[:, four], pairs, axis=0).T.ravel())
            out_y.append(np.take_along_axis(py[:, four], pairs, axis=0).T.ravel())
    if not out_x:
        return np.empty(0), np.empty(0)
    return np.concatenate(out_x), np.concatenate(out_y)



@dataclass(frozen=True)
class Landscape:
    """A 2D function sampled on a grid over its view (plus a margin), and what the
    pictures make of it: the colour values (log-scaled when the range is huge),
    their range and the contour lines. Made by :func:`landscape` once per function
    and view; every picture of it (the window, exports, later views) reuses it."""

    xs: np.ndarray  #: (GRID_SIZE,) grid x coordinates
    ys: np.ndarray  #: (GRID_SIZE,) grid y coordinates
    z: np.ndarray  #: (len(ys), len(xs)) the loss, z[j, i] at (xs[i], ys[j])
    values: np.ndarray  #: what the colours show: z, or log10(z - zmin + eps)
    log: bool  #: whether ``values`` is on a log scale
    zmin: float  #: the lowest loss (or listed minimum value) the log scale is taken from
    vmin: float  #: the colour range (vmax > vmin)
    vmax: float
    levels: np.ndarray  #: the contour levels, in ``values`` units
    contour_x: np.ndarray  #: contour segments as point pairs (``connect="pairs"``)
    contour_y: np.ndarray
    loss_range: tuple[float, float] | None  #: (min, max) finite loss on the grid
    minima: np.ndarray  #: (M, 2) the function's listed minima

    @property
    def rect(self) -> tuple[float, float, float, float]:
        """The grid's extent as (x, y, width, height)."""
        return (float(self.xs[0]), float(self.ys[0]), float(self.xs[-1] - self.xs[0]),
                float(self.ys[-1] - self.ys[0]))


def clip_segments(x: np.ndarray, y: np.ndarray, view: View) -> tuple[np.ndarray, np.ndarray]:
    """Line segments given as point pairs (``connect="pairs"``) cut to the box
    ``view`` (Liang-Barsky): the parts outside are dropped, segments crossing the
    edge end on it. Returns the same kind of x and y arrays."""
    (x0, x1), (y0, y1) = view
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    ax, bx, ay, by = x[0::2], x[1::2], y[0::2], y[1::2]
    dx, dy = bx - ax, by - ay
    lo, hi = np.zeros(len(ax)), np.ones(len(ax))
    keep = np.isfinite(ax + bx + ay + by)
    with np.errstate(all="ignore"):
        for p, q in ((-dx, ax - x0), (dx, x1 - ax), (-dy, ay - y0), (dy, y1 - ay)):
            parallel = p == 0
            keep &= ~(parallel & (q < 0))
            t = q / p
            entering, leaving = (p < 0) & ~parallel, (p > 0) & ~parallel
            lo = np.where(entering, np.maximum(lo, t), lo)
            hi = np.where(leaving, np.minimum(hi, t), hi)
    keep &= lo <= hi
    lo, hi = lo[keep], hi[keep]
    ax, ay, dx, dy = ax[keep], ay[keep], dx[keep], dy[keep]
    out_x = np.empty(2 * len(ax))
    out_y = np.empty(2 * len(ax))
    out_x[0::2], out_x[1::2] = ax + lo * dx, ax + hi * dx
    out_y[0::2], out_y[1::2] = ay + lo * dy, ay + hi * dy
    return out_x, out_y


def resample(land: Landscape, view: View, size: int = GRID_SIZE) -> np.ndarray:
    """``land``'s colour values on a ``size`` × ``size`` grid spanning exactly
    ``view`` (nearest grid point): the heat map cut to the plot's edges."""
    (x0, x1), (y0, y1) = view
    xs, ys = land.xs, land.ys
    cx = np.linspace(x0, x1, size + 1)
    cy = np.linspace(y0, y1, size + 1)
    cx, cy = (cx[:-1] + cx[1:]) / 2, (cy[:-1] + cy[1:]) / 2  # cell centres
    ii = np.clip(np.rint((cx - xs[0]) / (xs[1] - xs[0])), 0, len(xs) - 1).astype(int)
    jj = np.clip(np.rint((cy - ys[0]) / (ys[1] - ys[0])), 0, len(ys) - 1).astype(int)
    return land.values[np.ix_(jj, ii)]


#: the landscapes made last, by (id of the function, view, size, extent): (the function, it)
_LANDSCAPES: OrderedDict[tuple, tuple[weakref.ref, Landscape]] = OrderedDict()
_KEPT_LANDSCAPES = 16


def landscape(fn: LossFunction, view: View | None = None, size: int = GRID_SIZE,
              extent: View | None = None) -> Landscape:
    """The :class:`Landscape` of 2D ``fn`` over ``view`` (default: its own), cached:
    asking again for the same function object and view returns the same object.

    ``extent``: the box the grid covers (default: the view and GRID_MARGIN around
    it); a plot drawn 1:1 in a wide window shows more than the view. The colours and
    contour levels are fitted to the view and its margin alone, so every picture of
    a view colours it alike."""
    if fn.dim != 2:
        raise ValueError(f"{fn.name} is {fn.dim}D: a landscape needs a 2D function")
    view = as_view(view or fn.view)
    near = grid_extent(view)
    extent = near if extent is None else as_view(extent)
    key = (id(fn), view, int(size), extent)
    hit = _LANDSCAPES.get(key)
    if hit is not None and hit[0]() is fn:
        _LANDSCAPES.move_to_end(key)
        return hit[1]
    made = _make_landscape(fn, view, int(size), extent)
    _LANDSCAPES[key] = (weakref.ref(fn), made)
    while len(_LANDSCAPES) > _KEPT_LANDSCAPES:
        _LANDSCAPES.popitem(last=False)
    return made


def grid_extent(view: View, shown: View | None = None) -> View:
    """The box a landscape grid covers: the view and GRID_MARGIN around it, grown to
    hold ``shown`` (the range a plot shows) in steps of half the view's size, so that
    small changes of the plot's shape reuse the grid."""
    (x0, x1), (y0, y1) = view
    mx, my = (x1 - x0) * GRID_MARGIN, (y1 - y0) * GRID_MARGIN
    box = [[x0 - mx, x1 + mx], [y0 - my, y1 + my]]
    if shown is not None:
        for axis, (lo, hi), step in ((0, shown[0], (x1 - x0) / 2), (1, shown[1], (y1 - y0) / 2)):
            if lo < box[axis][0]:
                box[axis][0] -= step * math.ceil((box[axis][0] - lo) / step)
            if hi > box[axis][1]:
                box[axis][1] += step * math.ceil((hi - box[axis][1]) / step)
    return (box[0][0], box[0][1]), (box[1][0], box[1][1])


def _make_landscape(fn: LossFunction, view: View, size: int, extent: View) -> Landscape:
    near = grid_extent(view)
    (ex0, ex1), (ey0, ey1) = extent
    # cells about as wide as tall relative to the view (at most twice the points per axis)
    ratio = ((ex1 - ex0) / (near[0][1] - near[0][0])) / ((ey1 - ey0) / (near[1][1] - near[1][0]))
    nx = int(np.clip(round(size * math.sqrt(ratio)), size, 2 * size))
    ny = int(np.clip(round(size / math.sqrt(ratio)), size, 2 * size))
    xs = np.linspace(ex0, ex1, nx)
    ys = np.linspace(ey0, ey1, ny)
    X, Y = np.meshgrid(xs, ys)
    with np.errstate(all="ignore"):
        z = np.asarray(fn.value(np.column_stack([X.ravel(), Y.ravel()])), dtype=np.float64)
    z = z.reshape(X.shape)
    # what the colours are fitted to: the view and its margin
    (nx0, nx1), (ny0, ny1) = near
    inx = (xs >= nx0 - 1e-12 * abs(nx1 - nx0)) & (xs <= nx1 + 1e-12 * abs(nx1 - nx0))
    iny = (ys >= ny0 - 1e-12 * abs(ny1 - ny0)) & (ys <= ny1 + 1e-12 * abs(ny1 - ny0))
    zin = z[np.ix_(iny, inx)]
    if not zin.size:
        zin = z
    finite = zin[np.isfinite(zin)]
    loss_range = (float(finite.min()), float(finite.max())) if finite.size else None
    known = [v for v, m in zip(fn.minimum_values, fn.minima, strict=False)
             if nx0 <= m[0] <= nx1 and ny0 <= m[1] <= ny1 and np.isfinite(v)]
    log, zmin = colour_scale(zin, True if fn.log_scale else None,
                             min(known) if known else None)
    every = z[np.isfinite(z)]
    if every.size:
        zmin = min(zmin, float(every.min()))  # the log's base: below every grid value
    values, log, zmin = colour_values(z, log, zmin)
    vin = values[np.ix_(iny, inx)] if zin is not z else values
    vmin, vmax = float(vin.min()), float(vin.max())
    if log and finite.size:
        above = finite - zmin
        above = above[above > 0]
        if above.size:  # the lowest colour: a low quantile, not eps six decades down
            k = int(len(above) * LOG_FLOOR_QUANTILE)
            vmin = max(vmin, float(np.log10(np.partition(above, k)[k])))
    if vmax <= vmin:
        vmax = vmin + 1.0
    levels = log_levels(vmin, vmax) if log else np.linspace(vmin, vmax, CONTOUR_LEVELS + 2)[1:-1]
    cx, cy = contour_segments(xs, ys, values, levels)
    minima = np.array([m for m in fn.minima if len(m) == 2], dtype=float).reshape(-1, 2)
    for a in (xs, ys, z, values, levels, cx, cy, minima):
        a.flags.writeable = False  # shared by every picture of it
    return Landscape(xs, ys, z, values, log, zmin, vmin, vmax, levels, cx, cy, loss_range, minima)


#: a LossPlot's own title (a one-line plot label) is cut to this many characters;
#: a Figure's title wraps instead
TITLE_CHARS = 64


#: the runs' legend cuts names to this many characters (the runs panel has them whole)
LEGEND_CHARS = 30


#: a legend entry takes at most this many lines (a longer name is elided)
LEGEND_LINES = 3

#: where a run's name may break: after ", " or ": ", before " (" (its meaningful parts:
#: "momentum (PyTorch SGD, momentum = 0.9)", "Schedule-Free SGD, lr 0.1, β 0.5")
_NAME_PARTS = re.compile(r"(?<=, )|(?<=: )|(?= \()")


def short_name(name: str, limit: int = LEGEND_CHARS) -> str:
    """``name`` cut to ``limit`` characters with an ellipsis (one line, e.g. beside a
    tuned value; the run legend wraps names instead: :func:`legend_lines`)."""
    return name if len(name) <= limit else name[: limit - 1].rstrip() + "…"


#: a number in a name (with its sign, decimals, exponent): never cut inside or right after
_NUMBER = re.compile(r"[−+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][−+-]?\d+)?(?:×10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)?")


def _cut_points(text: str) -> list[int]:
    """Where ``text`` may be cut (0..len): anywhere but inside a number or right
    after one ("lr 0.0…" would read as a number; "(1…" as a cut one)."""
    barred: set[int] = set()
    for m in _NUMBER.finditer(text):
        barred.update(range(m.start() + 1, m.end() + 1))
    barred.discard(len(text))
    return [k for k in range(len(text) + 1) if k not in barred]


def _head_cut(text: str, fits: Callable[[str], bool], end: str = "…") -> str | None:
    """The longest start of ``text`` cut at a :func:`_cut_points` point, followed by
    ``end``, that ``fits`` (``text`` itself if it fits); None if none does."""
    if fits(text):
        return text
    points = _cut_points(text)
    allowed = set(points)
    for k in reversed(points[:-1]):
        head = text[:k].rstrip(" ([{")  # (not "(1, 1) (…": an opened bracket says nothing)
        if head and len(head) in allowed and fits(head + end):
            return head + end
    return None


def _tail_cut(text: str, fits: Callable[[str], bool]) -> str | None:
    """The longest end of ``text`` from a cut point (a word's or a number's start),
    after "…", that fits; None if none does."""
    for k in _cut_points(text)[1:-1]:
        tail = text[k:].lstrip()
        if tail and fits("…" + tail):
            return "…" + tail
    return None


def reads_as(short: str, name: str) -> bool:
    """Whether ``short`` could be ``name`` shortened: equal, or its pieces between
    ellipses found in ``name`` in order, the first at its start, the last at its end."""
    if short == name:
        return True
    if "…" not in short:
        return False
    pieces = short.split("…")
    first, last = pieces[0], pieces[-1]
    if not name.startswith(first) or not name.endswith(last) \
            or len(first) + len(last) > len(name):
        return False
    at = len(first)
    for piece in pieces[1:-1]:
        found = name.find(piece, at, len(name) - len(last))
        if found < 0:
            return False
        at = found + len(piece)
    return True


def _differing_start(name: str, others: Sequence[str]) -> int:
    """Where ``name``'s part that tells it from ``others`` begins: after the longest
    start it shares with one of them, moved back to the bracket that part is in
    ("(1, −1)" of "GD from (1, −1)", not "−1)") or else to its word's start."""
    shared = max((len(os.path.commonprefix([name, o])) for o in others if o != name), default=0)
    shared = min(shared, len(name))
    opened = name.rfind("(", 0, shared)
    if opened >= 0 and ")" not in name[opened:shared]:
        return opened
    cut = max(name.rfind(" ", 0, shared) + 1, 0)
    for m in _NUMBER.finditer(name):  # (not after a number's sign)
        if m.start() < cut < m.end():
            cut = m.start()
    return cut


def distinct_short(names: Sequence[str], width: Callable[[str], float], room: float) -> list[str]:
    """Each name shortened to ``room`` (measured by ``width``: pixels, or ``len``)
    so that it reads as no other name of ``names`` (:func:`reads_as`) and is never
    cut inside a number.

    A name that fits stays whole. Else, first choice: its end elided ("momentum
    (PyT…"). Where that would fit another name as well ("GD from (1, …" is "GD from
    (1, 1)" or "GD from (1, −1)"), the shared middle is elided and the part it
    differs in is kept: "GD from…(1, −1)", "GD…(1, −1)", "…(1, −1)", then that part
    elided at its end ("momentum…(PyTorch…", "mom…(PyTorch S…"), then its end alone
    ("…−1)"). When nothing
    that fits tells it apart (a very narrow column), the one that reads as the
    fewest other names."""
    names = [" ".join(str(n).split()) for n in names]

    def fits(text: str) -> bool:
        return width(text) <= room

    out = []
    for i, name in enumerate(names):
        if fits(name):
            out.append(name)
            continue
        others = [n for j, n in enumerate(names) if j != i and n != name]
        start = _differing_start(name, others)
        tail = name[start:].strip()
        words = name[:start].split()
        candidates = [_head_cut(name, fits)]
        candidates += ["…".join((" ".join(words[:k]), tail)) for k in range(len(words), 0, -1)]
        candidates.append("…" + tail)
        # (its first word, or that word's first letters, and the part it differs in, cut)
        for head in ([words[0], words[0][:3]] if words and len(words[0]) > 3 else words[:1]):
            cut = _head_cut(tail, lambda t, h=head: fits(f"{h}…{t}"))
            candidates.append(f"{head}…{cut}" if cut else None)
        cut = _head_cut(tail, lambda t: fits("…" + t))
        candidates.append("…" + cut if cut else None)
        candidates.append(_tail_cut(name, fits))
        shown = [c for c in candidates if c and fits(c)]
        # the first that reads as no other name, else as the fewest
        alike = [sum(reads_as(c, o) for o in others) for c in shown]
        out.append(shown[alike.index(min(alike))] if shown else "…")
    return out


def legend_lines(name: str, limit: int = LEGEND_CHARS, lines: int = LEGEND_LINES) -> list[str]:
    """``name`` wrapped into at most ``lines`` lines of about ``limit`` characters,
    broken between its parts (see ``_NAME_PARTS``; inside a part only between words
    when the part alone is longer). What does not fit is left out after the last
    whole part (or word) and the last line ends with "…": a name is never cut to a
    symbol and an ellipsis ("Schedule-Free SGD, lr 0.1, β…")."""
    name = " ".join(str(name).split())
    if len(name) <= limit:
        return [name]
    pieces: list[str] = []
    for part in (p for p in _NAME_PARTS.split(name) if p):
        if len(part.strip()) <= limit:
            pieces.append(part)
        else:  # one long part: its words (a long word after its commas, else cut)
            words = [w for w in part.split(" ") if w]
            for j, word in enumerate(words):
                bits = [b for b in re.split(r"(?<=,)", word) if b]
                bits = [b[k: k + limit] for b in bits for k in range(0, len(b), limit)]
                if j == 0 and part.startswith(" "):  # (" (tuned ..." keeps its space)
                    bits[0] = " " + bits[0]
                pieces.extend(bits[:-1])
                last = j == len(words) - 1
                pieces.append(bits[-1] + (" " if not last or part.endswith(" ") else ""))
    out: list[str] = []
    line = ""
    for piece in pieces:
        if line and len((line + piece).strip()) > limit:
            out.append(line.strip())
            line = piece.lstrip()
        else:
            line += piece
    if line.strip():
        out.append(line.strip())
    if len(out) <= lines:
        return out
    kept = out[:lines]
    last = kept[-1]
    while len(last) + 1 > limit and " " in last:  # room for the ellipsis
        last = last.rsplit(" ", 1)[0]
    kept[-1] = last.rstrip(" ,:") + "…"
    return kept


def suffixed_names(bases: Sequence[str], suffixes: Sequence[str], limit: int = LEGEND_CHARS,
                   lines: int = LEGEND_LINES) -> list[str]:
    """Each base name followed by its suffix (" (tuned lr=0.05)"), the bases
    shortened just enough that the legend (:func:`legend_lines`) shows every suffix
    whole: by :func:`distinct_short`, so a base is never cut in a number and no two
    read alike ("GD…(−1, −1) (tuned lr=0.1)", not "GD from (−1, … (tuned lr=0.1)")."""
    bases = [" ".join(str(b).split()) for b in bases]

    def shown(name: str, suffix: str) -> bool:
        return legend_lines(name, limit, lines)[-1].endswith(suffix.strip())

    for room in range(max((len(b) for b in bases), default=0), 0, -1):
        short = distinct_short(bases, len, room)
        names = [b + x for b, x in zip(short, suffixes, strict=True)]
        if all(shown(n, x) for n, x in zip(names, suffixes, strict=True)):
            return names
    return ["…" + x for x in suffixes]


def legend_labels(names: list[str], limit: int = LEGEND_CHARS) -> list[list[str]]:
    """Each name's legend lines (:func:`legend_lines`); names that differ but would
    read the same once elided are given more lines, until they read apart."""
    out = [legend_lines(n, limit) for n in names]
    for extra in range(1, 4):
        seen: dict[tuple[str, ...], set[str]] = {}
        for n, lines in zip(names, out, strict=True):
            seen.setdefault(tuple(lines), set()).add(n)
        alike = {k for k, v in seen.items() if len(v) > 1}
        if not alike:
            break
        out = [legend_lines(n, limit, LEGEND_LINES + extra) if tuple(lines) in alike else lines
               for n, lines in zip(names, out, strict=True)]
    return out


def title_text(fn: LossFunction, limit: int | None = None) -> str:
    """``name:  formula`` with the formula made pretty (a typed formula: ``f(x, y) =
    formula``, so that ``x^2`` and ``x**2`` both read x²); cut to ``limit`` characters."""
    text = fn.name
    if fn.is_custom and fn.formula:
        text = f"f({'x' if fn.dim == 1 else 'x, y'}) = {pretty_formula(fn.formula)}"
    elif fn.formula and fn.formula != fn.name:
        text = f"{fn.name}:  {pretty_formula(fn.formula)}"
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


_SUPERSCRIPT = str.maketrans("0123456789-.", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻·")


def pretty_formula(text: str) -> str:
    """A formula for a title: ``x**2`` as x², other powers as ``^``, ``*`` as a middle
    dot, a binary ``-`` as a minus sign."""
    out = re.sub(r"\*\*\s*(-?\d+)(?![\d.])", lambda m: m.group(1).translate(_SUPERSCRIPT), text)
    out = out.replace("**", "^").replace("*", "·")
    return re.sub(r"(?<=\s)-(?=\s)", "−", out)


def loss_label(v: float) -> str:
    """A short colour-bar label: two significant digits (the bar is logarithmic, so
    13 and 103 read better as 13 and 100), exponents for the very large and small."""
    if v == 0 or not np.isfinite(v):
        return "0" if v == 0 else str(v)
    v = float(f"{v:.2g}")
    if 1e-2 <= abs(v) < 1e4:
        return f"{v:g}"
    return f"{v:.1g}".replace("e+0", "e").replace("e-0", "e-").replace("e+", "e")



# ---------------------------------------------------------------------------
# tick labels: one format per axis

_SUPER = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
#: an axis shows plain decimals when all its labels lie in this range (or are 0)
PLAIN_RANGE = (1e-3, 1e4)


def _power(e: int) -> str:
    return "10" + str(e).translate(_SUPER)


def _sci(v: float, digits: int = 3) -> str:
    """``v`` as a×10ⁿ (10ⁿ when a is 1), at most ``digits`` significant digits."""
    if v == 0:
        return "0"
    e = int(math.floor(math.log10(abs(v))))
    m = float(f"{v / 10.0 ** e:.{digits}g}")
    if abs(m) >= 10:  # rounding carried into the next power
        m, e = m / 10, e + 1
    sign = "−" if m < 0 else ""
    if abs(m) == 1 and digits <= 3:
        return sign + _power(e)
    if digits > 3:  # (ticks told apart by their 4th digit: every one shows it, "3.860")
        return f"{sign}{abs(m):.{digits - 1}f}×{_power(e)}"
    return f"{sign}{abs(m):g}×{_power(e)}"


def tick_strings(values, spacing: float | None = None, plain: bool | None = None) -> list[str]:
    """Tick labels for ``values`` in one format for the whole axis: plain decimals
    (places enough for ``spacing``) when every value lies in PLAIN_RANGE (or is 0),
    otherwise a×10ⁿ for every one (no "0.0001" beside "10⁻⁵", no "1e4" beside
    "1000"). A minus sign, not a hyphen. ``plain`` decides the format instead (an
    axis decides it once for all its tick levels)."""
    vals = [float(v) for v in values]
    finite = [abs(v) for v in vals if math.isfinite(v) and v != 0]
    if plain is None:
        plain = plain_format(finite)
    out = []
    if plain:
        if spacing is not None and spacing > 0 and math.isfinite(spacing):
            places = max(0, int(math.ceil(-math.log10(spacing) - 1e-9)))
        else:  # as many places as the finest value needs (up to 3 significant digits)
            places = max((max(0, 2 - int(math.floor(math.log10(a)))) for a in finite), default=0)
            places = min(places, 6)
        for v in vals:
            text = f"{v:.{places}f}"
            if "." in text and spacing is None:
                text = text.rstrip("0").rstrip(".")
            out.append(text.replace("-", "−") if text not in ("-0", "-0.0") else "0")
        # decimals that are all equal past their points: drop what all share ("1.0, 2.0")
        if places and spacing is not None and all(t.endswith("0" * places) for t in out):
            out = [t[: -(places + 1)] for t in out]
        return out
    digits = 3
    if spacing is not None and spacing > 0 and math.isfinite(spacing) and finite:
        # as many digits as tell ticks ``spacing`` apart (a step's loss slice over
        # 3.860..3.870 read "3.86×10⁰" at every tick)
        digits = min(max(3, int(math.floor(math.log10(max(finite))))
                         - int(math.floor(math.log10(spacing))) + 1), 8)
    return [_sci(v, digits) if math.isfinite(v) else str(v) for v in vals]


def plain_format(magnitudes) -> bool:
    """Whether labels of these sizes (absolute values; zeros ignored) read well as
    plain decimals: all within PLAIN_RANGE."""
    return all(PLAIN_RANGE[0] <= a < PLAIN_RANGE[1] for a in magnitudes if a != 0)


def log_tick_strings(exponents, plain: bool | None = None) -> list[str]:
    """Labels of a log axis's ticks, given as log10 of the values (one format)."""
    return tick_strings([10.0 ** float(e) for e in exponents], plain=plain)


def spaced_log_labels(exponents, px_per_decade: float, need_px: float,
                      taken=()) -> list[bool]:
    """Which ticks of a log axis (``exponents``: log10 of 1..9 × 10ⁿ) keep their
    label: each kept label is ``need_px`` from every other and from ``taken`` (the
    major ticks' exponents, labelled already), chosen decades first, then 5 × 10ⁿ,
    2, 3 and the rest, lower first (all of 0.9, 0.8, 0.7 were printed over each
    other). A value among ``taken`` is left to its major tick's label."""
    exps = [float(e) for e in exponents]
    if not exps or px_per_decade <= 0:
        return [True] * len(exps)
    taken = [float(t) for t in taken]
    rank = {1: 0, 10: 0, 5: 1, 2: 2, 3: 3}
    keep = [False] * len(exps)
    for i in sorted(range(len(exps)),
                    key=lambda i: (rank.get(round(10 ** (exps[i] % 1.0)), 4), exps[i])):
        if all(abs(exps[i] - t) * px_per_decade >= need_px for t in taken):
            keep[i] = True
            taken.append(exps[i])
    return keep


def readable_spacing(spacing: float, px_per_unit: float, need_px: float) -> float:
    """``spacing``, or the least 1, 2 or 5 × 10ⁿ above it whose ticks lie
    ``need_px`` apart (a plot ~90 px tall printed 3.8, 4.0 and 4.2 over each other)."""
    if not (px_per_unit > 0 and math.isfinite(px_per_unit) and spacing > 0) \
            or spacing * px_per_unit >= need_px:
        return spacing
    first = math.floor(math.log10(spacing))
    for n in range(first, first + 30):
        for m in (1.0, 2.0, 5.0):
            s = m * 10.0 ** n
            if s >= spacing * (1 - 1e-9) and s * px_per_unit >= need_px:
                return s
    return spacing


# ---------------------------------------------------------------------------
# where legends go: the emptiest place, measured from what is drawn

#: legends keep this many pixels from the plot's edges and from what they avoid
LEGEND_MARGIN = 8.0


def clip_spans(p0: np.ndarray, p1: np.ndarray, lo, hi) -> tuple[np.ndarray, np.ndarray]:
    """The parameters (t0, t1) of the parts of segments p0→p1 (each (N, 2)) inside the
    box lo..hi (Liang–Barsky); a segment missing the box has t0 > t1."""
    p0, p1 = np.asarray(p0, dtype=np.float64), np.asarray(p1, dtype=np.float64)
    d = p1 - p0
    t0 = np.zeros(len(p0))
    t1 = np.ones(len(p0))
    with np.errstate(all="ignore"):
        for axis in (0, 1):
            for bound, sign in ((lo[axis], -1.0), (hi[axis], 1.0)):
                # inside: sign * (p0 + t d - bound) <= 0
                num = sign * (bound - p0[:, axis])
                den = sign * d[:, axis]
                t = num / den
                parallel = den == 0
                t0 = np.where(~parallel & (den < 0), np.maximum(t0, t), t0)
                t1 = np.where(~parallel & (den > 0), np.minimum(t1, t), t1)
                t1 = np.where(parallel & (num < 0), -1.0, t1)
    return t0, t1


def densify(pts: np.ndarray, step: float, lo=None, hi=None, limit: int = 200_000) -> np.ndarray:
    """Points along the polyline ``pts`` (K, 2) at most ``step`` apart (the parts
    inside the box lo..hi, when given), so that a box containing none of them is
    crossed by no segment. Non-finite points break the line."""
    pts = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
    if len(pts) < 2:
        return pts[np.isfinite(pts).all(axis=1)]
    a, b = pts[:-1], pts[1:]
    ok = np.isfinite(a).all(axis=1) & np.isfinite(b).all(axis=1)
    a, b = a[ok], b[ok]
    if lo is not None:
        t0, t1 = clip_spans(a, b, lo, hi)
        inside = t0 <= t1
        d = b[inside] - a[inside]
        a, b = a[inside] + d * t0[inside, None], a[inside] + d * t1[inside, None]
    d = b - a
    length = np.hypot(d[:, 0], d[:, 1])
    n = np.maximum(1, np.ceil(length / max(step, 1e-12))).astype(np.int64)
    total = int(n.sum())
    if total > limit:  # (coarser rather than unbounded)
        n = np.maximum(1, (n * (limit / total)).astype(np.int64))
        total = int(n.sum())
    idx = np.repeat(np.arange(len(d)), n)
    first = np.repeat(np.cumsum(n) - n, n)
    t = (np.arange(total) - first) / np.repeat(n, n)
    out = a[idx] + d[idx] * t[:, None]
    return np.concatenate([out, b, pts[np.isfinite(pts).all(axis=1)]])


Rect = tuple[float, float, float, float]  # x, y, width, height (pixels, y down)
#: a cell of a taken rectangle counts as this many points (legends never overlap
#: while a place covering data instead exists)
TAKEN_WEIGHT = 1_000_000


def free_spot(points: np.ndarray, area: tuple[float, float], size: tuple[float, float],
              pad: float = 10.0, taken: Sequence[Rect] = (), cell: float = 4.0,
              margin: float = LEGEND_MARGIN) -> tuple[float, float] | None:
    """The top-left corner of a box of ``size`` (w, h) inside ``area`` (w, h, from
    0, 0; y down) that keeps ``pad`` pixels from every one of ``points`` (N, 2) and
    clear of the ``taken`` rectangles, as near a corner of the area as can be (top
    right first); None when there is no such place (see :func:`best_spot`)."""
    spot = best_spot(points, area, size, pad, taken, cell, margin)
    return None if spot is None or spot[2] else (spot[0], spot[1])


def best_spot(points: np.ndarray, area: tuple[float, float], size: tuple[float, float],
              pad: float = 10.0, taken: Sequence[Rect] = (), cell: float = 4.0,
              margin: float = LEGEND_MARGIN) -> tuple[float, float, int] | None:
    """As :func:`free_spot`, or where the box covers the fewest points (and taken
    cells) when nowhere is free: (x, y, how many it covers); None when the box does
    not fit in the area.

    Counted on a grid of ``cell`` pixels with a summed-area table: every position
    of the grid is tried at once."""
    w, h = float(area[0]), float(area[1])
    bw, bh = float(size[0]), float(size[1])
    if not (bw + 2 * margin <= w and bh + 2 * margin <= h):
        return None
    gw, gh = int(math.ceil(w / cell)), int(math.ceil(h / cell))
    occ = np.zeros((gh, gw), dtype=np.int32)
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    pts = pts[np.isfinite(pts).all(axis=1)]
    if len(pts):
        # a point counts in every cell within pad of it: its cell, widened below
        ix = np.floor(pts[:, 0] / cell).astype(np.int64)
        iy = np.floor(pts[:, 1] / cell).astype(np.int64)
        r = int(math.ceil(pad / cell))
        keep = (ix >= -r) & (ix < gw + r) & (iy >= -r) & (iy < gh + r)
        big = np.zeros((gh + 2 * r, gw + 2 * r), dtype=np.int32)
        np.add.at(big, (iy[keep] + r, ix[keep] + r), 1)
        # widen by r cells each way (a box sum of the counts)
        s = np.zeros((big.shape[0] + 1, big.shape[1] + 1), dtype=np.int64)
        s[1:, 1:] = big.cumsum(0).cumsum(1)
        k = 2 * r + 1
        occ = (s[k:, k:] - s[:-k, k:] - s[k:, :-k] + s[:-k, :-k])[:gh, :gw]
    for x, y, rw, rh in taken:
        c0, c1 = int(math.floor((x - margin) / cell)), int(math.ceil((x + rw + margin) / cell))
        r0, r1 = int(math.floor((y - margin) / cell)), int(math.ceil((y + rh + margin) / cell))
        occ[max(r0, 0): max(r1, 0), max(c0, 0): max(c1, 0)] += TAKEN_WEIGHT
    sat = np.zeros((gh + 1, gw + 1), dtype=np.int64)
    sat[1:, 1:] = np.asarray(occ, dtype=np.int64).cumsum(0).cumsum(1)
    cw, ch = int(math.ceil(bw / cell)), int(math.ceil(bh / cell))
    lo_c = int(math.ceil(margin / cell))
    hi_cx = int(math.floor((w - margin - bw) / cell))
    hi_cy = int(math.floor((h - margin - bh) / cell))
    if hi_cx < lo_c or hi_cy < lo_c:
        return None
    cx = np.arange(lo_c, hi_cx + 1)
    cy = np.arange(lo_c, hi_cy + 1)
    y0, x0 = cy[:, None], cx[None, :]
    y1, x1 = np.minimum(y0 + ch, gh), np.minimum(x0 + cw, gw)
    count = sat[y1, x1] - sat[y0, x1] - sat[y1, x0] + sat[y0, x0]
    least = int(count.min())
    free = count == least
    # nearest a corner: the distance of the box's corner to the area's, in pixels
    # gaps to the edges beyond the margin
    px, py = x0 * cell - margin, y0 * cell - margin
    right = w - margin - (x0 * cell + bw)
    bottom = h - margin - (y0 * cell + bh)
    corners = np.stack([np.hypot(right, py), np.hypot(px, py), np.hypot(right, bottom),
                        np.hypot(px, bottom)])  # top right, top left, bottom right, bottom left
    nearest = corners.argmin(axis=0)
    # near a corner by a few cells counts as at it: then the corners' order decides
    near = corners.min(axis=0)
    score = np.floor(near / (3 * cell)) * 4 + nearest + near / 1e6
    dist = np.where(free, score, np.inf)
    j, i = np.unravel_index(int(np.argmin(dist)), dist.shape)
    return float(cx[i] * cell), float(cy[j] * cell), least


def default_range(view: View, points=(), margin: float = 0.06) -> View:
    """The range a plot shows by default: the view window, grown so that every one
    of ``points`` (the starts, the minima) lies at least ``margin`` of the view's size
    inside its edges."""
    (x0, x1), (y0, y1) = as_view(view)
    mx, my = (x1 - x0) * margin, (y1 - y0) * margin
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    pts = pts[np.isfinite(pts).all(axis=1)]
    # far-away points (a start set off the map) do not blow the view up
    far = (np.abs(pts[:, 0] - (x0 + x1) / 2) > 2 * (x1 - x0)) \
        | (np.abs(pts[:, 1] - (y0 + y1) / 2) > 2 * (y1 - y0))
    pts = pts[~far]
    if len(pts):
        x0, x1 = min(x0, pts[:, 0].min() - mx), max(x1, pts[:, 0].max() + mx)
        y0, y1 = min(y0, pts[:, 1].min() - my), max(y1, pts[:, 1].max() + my)
    return (float(x0), float(x1)), (float(y0), float(y1))


def fit_range(points, view: View, margin: float = 0.08) -> View | None:
    """A range around ``points`` (N, 2) with ``margin`` of their extent around them
    (at least a 50th of the view's size across); None without finite points."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    pts = pts[np.isfinite(pts).all(axis=1)]
    if not len(pts):
        return None
    (vx0, vx1), (vy0, vy1) = as_view(view)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    span = np.maximum(hi - lo, [(vx1 - vx0) / 50, (vy1 - vy0) / 50])
    centre = (lo + hi) / 2
    half = span * (0.5 + margin)
    return ((float(centre[0] - half[0]), float(centre[0] + half[0])),
            (float(centre[1] - half[1]), float(centre[1] + half[1])))


# ---------------------------------------------------------------------------
# step arrows: one stated scale when they are too short to see

#: an arrow shorter than this (pixels) hides under the run's marker and its own head
READABLE_ARROW_PX = 44.0
#: arrows much shorter than the step's longest part do not set its scale
NEGLIGIBLE_SHARE = 0.02


def nice_up(x: float) -> float:
    """The smallest of 1, 2, 5 × 10ⁿ at least ``x``."""
    if not (math.isfinite(x) and x > 0):
        return 1.0
    e = math.floor(math.log10(x))
    for m in (1.0, 2.0, 5.0, 10.0):
        v = m * 10.0 ** e
        if v >= x * (1 - 1e-12):
            return v
    return 10.0 ** (e + 1)


def arrow_scale(lengths, readable: float = READABLE_ARROW_PX, limit: float = 1e6) -> float:
    """One factor (1, 2, 5 × 10ⁿ, at least 1) for all the arrows of a step so that the
    shortest of ``lengths`` (screen pixels of the parts that matter: the step taken,
    momentum's part) reads at least ``readable`` long. Parts shorter than
    NEGLIGIBLE_SHARE of the longest (a momentum term that has died out) are left
    short rather than blowing the others up."""
    ls = [float(v) for v in lengths if math.isfinite(v) and v > 0]
    if not ls:
        return 1.0
    top = max(ls)
    shortest = min(v for v in ls if v >= NEGLIGIBLE_SHARE * top)
    if shortest >= readable:
        return 1.0
    return min(nice_up(readable / shortest), limit)


def scale_label(factor: float) -> str:
    """How the key states an arrow scale: "×20", "×1000", "×10⁵"."""
    return "×" + (f"{factor:g}" if factor < 1e5 else _sci(factor))
