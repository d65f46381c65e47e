"""What the pictures show, computed without Qt: the landscape grid (computed once
per function and view, reused by every view of it), its colour scaling and contour
lines, the thinning of long trails to what the screen can show, and the titles.

The pyqtgraph items that draw these live in :mod:`optsim.render.items`,
:mod:`optsim.render.plots` and :mod:`optsim.render.figure`.
"""

from __future__ import annotations

import math
import re
import weakref
from collections import OrderedDict
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
    ``log10(z - zmin + eps)``. ``log=None`` chooses log when the range is huge
    (most of the grid squeezed into the lowest thousandth). Non-finite values are
    replaced by the largest finite one. Returns (values, log_used, zmin)."""
    finite = np.isfinite(z)
    if not finite.any():
        return np.zeros_like(z), False, 0.0
    zf = z[finite]
    zmin = float(zf.min()) if floor is None else min(float(zf.min()), floor)
    zmax = float(zf.max())
    span = zmax - zmin
    if log is None:
        # the median by partition: np.median imports numpy.ma (~0.1 s at start-up)
        mid = float(np.partition(zf, len(zf) // 2)[len(zf) // 2])
        log = span > 0 and mid - zmin < 1e-3 * span
    z = np.where(finite, z, zmax)
    if not log or span <= 0:
        return z, False, zmin
    eps = span * 1e-6 + 1e-300
    return np.log10(z - zmin + eps), True, zmin


def contour_segments(xs: np.ndarray, ys: np.ndarray, z: np.ndarray, levels) -> tuple[np.ndarray, np.ndarray]:
    """Contour lines of ``z[j, i]`` (at ``xs[i], ys[j]``) by vectorised marching squares,
    as point pairs (for ``connect='pairs'``): x and y arrays of even length.

    Per level, only the cells the level crosses are looked at (a few hundred of a
    grid's tens of thousands: at start-up this took 60 ms on the whole grid)."""
    out_x, out_y = [], []
    xs, ys = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)

    def cross(level, p, q, cp, cq):  # the point where the level crosses p..q
        with np.errstate(all="ignore"):
            t = (level - p) / (q - p)
        return cp + t * (cq - cp)

    for level in levels:
        above = z >= level
        a, b, c, d = above[:-1, :-1], above[:-1, 1:], above[1:, 1:], above[1:, :-1]
        # cell edges in order around the cell: bottom (a-b), right (b-c), top (d-c), left (a-d)
        crossed = (a != b, b != c, d != c, a != d)
        count = crossed[0].astype(np.int8)
        for e in crossed[1:]:
            count += e
        jj, ii = np.nonzero(count)
        if len(jj) == 0:
            continue
        hit = np.stack([e[jj, ii] for e in crossed])
        za, zb, zc, zd = z[jj, ii], z[jj, ii + 1], z[jj + 1, ii + 1], z[jj + 1, ii]
        x0, x1, y0, y1 = xs[ii], xs[ii + 1], ys[jj], ys[jj + 1]
        px = np.stack([cross(level, za, zb, x0, x1), x1, cross(level, zd, zc, x0, x1), x0])
        py = np.stack([y0, cross(level, zb, zc, y0, y1), y1, cross(level, za, zd, y0, y1)])
        n = count[jj, ii]
        two = n == 2
        if two.any():
            order = np.argsort(~hit[:, two], axis=0, kind="stable")[:2]
            out_x.append(np.take_along_axis(px[:, two], order, axis=0).T.ravel())
            out_y.append(np.take_along_axis(py[:, two], order, axis=0).T.ravel())
        four = n == 4
        if four.any():
            centre = (za + zb + zd + zc)[four] / 4 >= level
            same = centre == a[jj, ii][four]
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


#: the landscapes made last, by (id of the function, view, size): (the function, it)
_LANDSCAPES: OrderedDict[tuple, tuple[weakref.ref, Landscape]] = OrderedDict()
_KEPT_LANDSCAPES = 16


def landscape(fn: LossFunction, view: View | None = None, size: int = GRID_SIZE) -> Landscape:
    """The :class:`Landscape` of 2D ``fn`` over ``view`` (default: its own), cached:
    asking again for the same function object and view returns the same object."""
    if fn.dim != 2:
        raise ValueError(f"{fn.name} is {fn.dim}D: a landscape needs a 2D function")
    view = as_view(view or fn.view)
    key = (id(fn), view, int(size))
    hit = _LANDSCAPES.get(key)
    if hit is not None and hit[0]() is fn:
        _LANDSCAPES.move_to_end(key)
        return hit[1]
    made = _make_landscape(fn, view, int(size))
    _LANDSCAPES[key] = (weakref.ref(fn), made)
    while len(_LANDSCAPES) > _KEPT_LANDSCAPES:
        _LANDSCAPES.popitem(last=False)
    return made


def _make_landscape(fn: LossFunction, view: View, size: int) -> Landscape:
    (x0, x1), (y0, y1) = view
    mx, my = (x1 - x0) * GRID_MARGIN, (y1 - y0) * GRID_MARGIN
    xs = np.linspace(x0 - mx, x1 + mx, size)
    ys = np.linspace(y0 - my, y1 + my, size)
    X, Y = np.meshgrid(xs, ys)
    with np.errstate(all="ignore"):
        z = np.asarray(fn.value(np.column_stack([X.ravel(), Y.ravel()])), dtype=np.float64)
    z = z.reshape(X.shape)
    finite = z[np.isfinite(z)]
    loss_range = (float(finite.min()), float(finite.max())) if finite.size else None
    known = [v for v, m in zip(fn.minimum_values, fn.minima, strict=False)
             if x0 - mx <= m[0] <= x1 + mx and y0 - my <= m[1] <= y1 + my and np.isfinite(v)]
    values, log, zmin = colour_values(z, True if fn.log_scale else None,
                                      min(known) if known else None)
    vmin, vmax = float(values.min()), float(values.max())
    if vmax <= vmin:
        vmax = vmin + 1.0
    levels = np.linspace(vmin, vmax, CONTOUR_LEVELS + 2)[1:-1]
    cx, cy = contour_segments(xs, ys, values, levels)
    minima = np.array([m for m in fn.minima if len(m) == 2], dtype=float).reshape(-1, 2)
    for a in (xs, ys, z, values, levels, cx, cy, minima):
        a.flags.writeable = False  # shared by every picture of it
    return Landscape(xs, ys, z, values, log, zmin, vmin, vmax, levels, cx, cy, loss_range, minima)


#: a LossPlot's own title (a one-line plot label) is cut to this many characters;
#: a Figure's title wraps instead
TITLE_CHARS = 64


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

