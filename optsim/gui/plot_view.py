"""The plots shared by the window and the headless export: the loss landscape with
the runs on it (:class:`LossPlot`), loss against step (:class:`LossHistoryPlot`) and
both stacked (:class:`Figure`).

Every graphics item is created once and then only updated with ``setData``; the
landscape grid is recomputed only when the function or the view window changes.
The view never follows the data, so a diverging run cannot blow it up.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from ..functions import LossFunction
from .lines import StepLine
from .playback_layer import PlaybackLayer

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

FONT_PT = 12
LABEL_PT = 13
LINE_PX = 2.5
#: the current position's marker in 2D, in pixels across
MARKER_PX = 17
TEXT_COLOUR = "#202020"

View = tuple[tuple[float, float], tuple[float, float]]


@dataclass(frozen=True)
class RunStyle:
    """How one run is drawn: its legend name, colour (``#rrggbb``) and visibility."""

    name: str
    colour: str
    visible: bool = True


# ---------------------------------------------------------------------------
# helpers (no Qt state)


def landscape_colormap() -> pg.ColorMap:
    """Viridis lightened towards white, so runs in saturated Okabe-Ito colours stay
    visible on top of it while low and high remain easy to tell apart."""
    base = pg.colormap.get("viridis")
    pos = np.linspace(0.0, 1.0, 9)
    rgba = base.map(pos, mode="float")
    light = rgba.copy()
    light[:, :3] = 0.5 * rgba[:, :3] + 0.5
    light[:, 3] = 1.0
    return pg.ColorMap(pos, (light * 255).astype(np.ubyte))


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


def _clip_rows(pts: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
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


def _pen(colour, width: float = LINE_PX, style=QtCore.Qt.PenStyle.SolidLine) -> QtGui.QPen:
    pen = pg.mkPen(colour, width=width, style=style)
    pen.setCosmetic(True)
    return pen


def _set_antialias(item: pg.PlotDataItem, on: bool) -> None:
    """Antialias ``item``'s line (or not) from now on, without touching its data."""
    if item.opts["antialias"] != on:
        item.opts["antialias"] = on
        item.curve.opts["antialias"] = on
        item.curve.update()


def move_marker(marker: pg.ScatterPlotItem, x: float, y: float) -> None:
    """Show ``marker`` as its one point at (x, y). A one-point marker is moved in
    place (``setData`` rebuilds its records: ~0.1 ms a run a frame)."""
    data = marker.data
    if len(data) != 1:
        marker.setData(pos=np.array([[x, y]], dtype=np.float64))
        return
    if data["x"][0] == x and data["y"][0] == y:
        return
    marker.prepareGeometryChange()
    data["x"][0] = x
    data["y"][0] = y
    marker.bounds = [None, None]
    marker.informViewBoundsChanged()
    marker.invalidate()
    marker.sigPlotChanged.emit(marker)


def _fit_axis_width(axis: pg.AxisItem, labels: list[str]) -> None:
    """Make a vertical axis as wide as its tick labels and its rotated label need.

    ColorBarItem fixes its axis at 45 px: too narrow for "1e+04" beside "loss
    (log)", which then overlapped the ticks. (Unfixing the width instead let the
    axis size itself, but made the interpreter crash at exit.) Counts the label as
    pyqtgraph does, 0.8 of its text box."""
    font = axis.style["tickFont"] or axis.font()
    widest = max((QtGui.QFontMetrics(font).horizontalAdvance(t) for t in labels), default=0)
    label = axis.label.boundingRect().height() * 0.8 if axis.label.isVisible() else 0.0
    width = widest + axis.style["tickTextOffset"][0] + max(0, axis.style["tickLength"]) + label
    axis.setWidth(int(math.ceil(width)) + 2)


def _style_axes(plot: pg.PlotItem, bottom: str, left: str) -> None:
    font = QtGui.QFont()
    font.setPointSize(FONT_PT)
    for name, text in (("bottom", bottom), ("left", left)):
        axis = plot.getAxis(name)
        axis.setPen(pg.mkPen(TEXT_COLOUR, width=1))
        axis.setTextPen(pg.mkPen(TEXT_COLOUR))
        axis.setStyle(tickFont=font, tickTextOffset=6)
        axis.setLabel(text, **{"font-size": f"{LABEL_PT}pt", "color": TEXT_COLOUR})
    for side in ("top", "right"):  # (given all four, pyqtgraph shows them all)
        plot.hideAxis(side)
    plot.hideButtons()  # the "A" (auto-range) button would follow diverged runs


def _no_si_prefix(axis: pg.AxisItem) -> pg.AxisItem:
    """``axis`` without SI scaling: pyqtgraph scales unitless values under 1, so
    losses of 0.3..0.5 read "300, 400" under "loss (x0.001)"; and on every range
    change it laid out the axis' label anew (~0.7 ms an axis, hidden ones too: 29
    times, 21 ms, while the window was built)."""
    axis.enableAutoSIPrefix(False)
    return axis


def _plain_axes() -> dict[str, pg.AxisItem]:
    """A plot's four axes, without SI scaling from the start (the plot's own
    set-up changes their range several times)."""
    return {side: _no_si_prefix(pg.AxisItem(side)) for side in ("left", "bottom", "top", "right")}


# ---------------------------------------------------------------------------


class _PixelSize:
    """A plot's data size of one screen pixel, kept until the view's transform
    changes (pyqtgraph computes it anew on every call: ~50 µs, per run per frame)."""

    def _watch_pixel_size(self) -> None:
        self._pixel: tuple[float, float] | None = None
        vb = self.getPlotItem().getViewBox()
        vb.sigTransformChanged.connect(self._forget_pixel_size)
        vb.sigResized.connect(self._forget_pixel_size)

    def _forget_pixel_size(self, *_args) -> None:
        self._pixel = None

    def pixel_size(self) -> tuple[float, float]:
        vb = self.getPlotItem().getViewBox()
        vb.updateMatrix()  # a range just set: its transform now (else at the next paint)
        if self._pixel is None:
            px = vb.viewPixelSize()
            self._pixel = (float(px[0]), float(px[1]))
        return self._pixel


class FixedScatter(pg.ScatterPlotItem):
    """A ScatterPlotItem for points that rarely move (the minima, the start point):
    its bounds are kept until its points, their sizes or the view change (each of
    which empties pyqtgraph's cache of its data bounds, ``self.bounds``).
    ScatterPlotItem works them out anew on every call: ~40 us, a few calls in
    every frame's paint, where Qt asks every item on the plot for its bounds."""

    _rect_key: tuple | None = None

    def _bounds_key(self) -> tuple:
        return tuple(self.bounds), self._maxSpotPxWidth, self._maxSpotWidth

    def boundingRect(self) -> QtCore.QRectF:  # noqa: N802 (Qt override)
        if None in self.bounds or self._bounds_key() != self._rect_key:
            self._rect = super().boundingRect()  # (fills self.bounds)
            self._rect_key = self._bounds_key()
        return QtCore.QRectF(self._rect)


class _RunItems:
    """The graphics items of one run (created once)."""

    def __init__(self, style: RunStyle, dim: int) -> None:
        c = QtGui.QColor(style.colour)
        faint = QtGui.QColor(c)
        faint.setAlpha(150)
        self.style = style
        self.trail = pg.PlotDataItem(
            pen=_pen(c), symbol="o", symbolSize=6 if dim == 2 else 9,
            symbolBrush=c if dim == 2 else faint,
            symbolPen=None if dim == 2 else pg.mkPen("w", width=1), antialias=True,
        )
        # wide antialiased polylines are drawn far faster as separate segments
        self.trail.curve.setSegmentedLineMode("on")
        self.dots = True
        if dim == 1:
            self.trail.setPen(None)  # past positions are marked on the curve, not joined
        # 1D: at most 17 px with its pen, so the 20 px legend sample (clipped) shows it whole
        self.marker = pg.ScatterPlotItem(size=MARKER_PX if dim == 2 else 15, brush=pg.mkBrush(c),
                                         antialias=True,
                                         pen=pg.mkPen(TEXT_COLOUR, width=2), symbol="o")
        self.tangent = pg.PlotDataItem(pen=_pen(c, LINE_PX, QtCore.Qt.PenStyle.DashLine),
                                       antialias=True) \
            if dim == 1 else None
        self.marker.setZValue(30)
        self.trail.setZValue(20)

    def items(self) -> list[pg.GraphicsObject]:
        return [i for i in (self.trail, self.tangent, self.marker) if i is not None]

    def set_visible(self, visible: bool) -> None:
        for item in self.items():
            item.setVisible(visible)

    def set_stood_in(self, stood_in: bool) -> None:
        """Leave the trail and marker unpainted while a PlaybackLayer draws them
        (transparent rather than hidden: the legend shows a hidden item as hidden)."""
        for item in (self.trail, self.marker):
            item.setOpacity(0.0 if stood_in else 1.0)


class LossPlot(_PixelSize, pg.PlotWidget):
    """The loss landscape (2D: heat map with contours; 1D: the curve) with the runs on it.

    ``clicked(x, y)`` is emitted, in plot coordinates, on a left click in the plot
    area (not at the end of a drag); in 1D ``y`` is meaningless.
    """

    clicked = QtCore.Signal(float, float)

    def __init__(self, parent: QtWidgets.QWidget | None = None, show_title: bool = True) -> None:
        # no context menus (each built a ViewBoxMenu at start-up, then was disabled)
        super().__init__(parent=parent, background="w", enableMenu=False,
                         axisItems=_plain_axes())
        #: draw the function's name and formula above the plot (a Figure shows its own)
        self.show_title = show_title
        self.function: LossFunction | None = None
        self.view: View | None = None
        self._runs: list[_RunItems] = []
        #: per run, its trail's thinning while playing (see _thinned)
        self._thin: list[GrowingThinning] = []
        self._dim = 0
        #: while playing, trails are drawn plainly (see set_playing)
        self.playing = False
        #: the colour bar, when made, paints from a cache (see Figure.cache_axes)
        self.cached_axes = False
        #: per run, the last update_run arguments (to redraw when playback stops)
        self._shown: dict[int, tuple] = {}
        #: (min, max) of the loss over the drawn window (2D) or the y range (1D)
        self.loss_range: tuple[float, float] | None = None
        self._lo = np.array([-np.inf, -np.inf])
        self._hi = np.array([np.inf, np.inf])
        #: the clip box as a key for the playback thinning (made once, not per frame)
        self._clip_key = (tuple(self._lo.tolist()), tuple(self._hi.tolist()))
        plot = self.getPlotItem()
        plot.setMenuEnabled(False)
        plot.disableAutoRange()
        self._watch_pixel_size()
        _style_axes(plot, "x", "y")
        self.cmap = landscape_colormap()
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(self.cmap)
        self.image.setZValue(-20)
        # a 1 px cosmetic pen: wider antialiased contours cost ~50 ms a frame
        self.contours = pg.PlotCurveItem(connect="pairs", pen=_pen((40, 40, 40, 120), 1.0),
                                         antialias=True)
        self.contours.setZValue(-10)
        self.curve = pg.PlotDataItem(pen=_pen("#333333", 3.0), antialias=True)
        self.curve.curve.setSegmentedLineMode("on")
        self.curve.setZValue(-10)
        self.minima = FixedScatter(symbol="star", size=22, brush=pg.mkBrush("w"),
                                   antialias=True, pen=pg.mkPen("k", width=1.5))
        self.minima.setZValue(40)
        self.start_marker = FixedScatter(symbol="s", size=13, brush=pg.mkBrush("w"),
                                         antialias=True, pen=pg.mkPen("k", width=2))
        self.start_marker.setZValue(35)
        for item in (self.image, self.contours, self.curve, self.minima, self.start_marker):
            plot.addItem(item)
        #: while playing in 2D, every run's trail and marker in one item (see set_playing)
        self.layer = PlaybackLayer(marker_px=MARKER_PX)
        self.layer.setZValue(25)
        self.layer.setVisible(False)
        self._layer_on = False
        #: paint static items from a cache (the window's plot; see cache_static_items)
        self._cache_static = False
        plot.addItem(self.layer, ignoreBounds=True)
        self.colorbar: pg.ColorBarItem | None = None
        self.legend = plot.addLegend(offset=(-10, 10), labelTextSize=f"{FONT_PT}pt",
                                     brush=pg.mkBrush(255, 255, 255, 215),
                                     pen=pg.mkPen("#888888"), labelTextColor=TEXT_COLOUR)
        self.legend.setZValue(100)
        # its samples then carry the legend's clip: Qt's SVG writer otherwise gives each
        # sample the clip of the label drawn before it, hiding it
        self.legend.setFlag(QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape)
        self.scene().sigMouseClicked.connect(self._on_click)

    # -- the function ---------------------------------------------------------
    def set_function(self, fn: LossFunction, view: View | None = None) -> None:
        """Draw ``fn`` over ``view`` (default: its own view window) and reset the view."""
        view = as_view(view or fn.view)
        changed = fn is not self.function or view != self.view or fn.dim != self._dim
        self.function, self.view = fn, view
        if fn.dim != self._dim:
            self._set_dim(fn.dim)
        lo, hi = clip_box(view)
        self._lo, self._hi = lo, hi
        self._clip_key = (tuple(lo.tolist()), tuple(hi.tolist()))
        self.getPlotItem().getViewBox().setLimits(xMin=lo[0], xMax=hi[0], yMin=lo[1], yMax=hi[1])
        if changed:
            if fn.dim == 2:
                self._draw_landscape(fn, view)
            else:
                self._draw_curve(fn, view)
        if self.show_title:
            self.getPlotItem().setTitle(html.escape(title_text(fn, TITLE_CHARS)),
                                        size=f"{LABEL_PT}pt", color=TEXT_COLOUR)
        self.reset_view()

    def _set_dim(self, dim: int) -> None:
        self._dim = dim
        self.image.setVisible(dim == 2)
        self.contours.setVisible(dim == 2)
        self.curve.setVisible(dim == 1)
        self.getPlotItem().getAxis("left").setLabel("y" if dim == 2 else "loss")
        if self.colorbar is not None:
            self.colorbar.setVisible(dim == 2)
        if self._runs:  # run items differ between 1D and 2D
            self.set_runs([r.style for r in self._runs])

    def _draw_landscape(self, fn: LossFunction, view: View) -> None:
        (x0, x1), (y0, y1) = view
        mx, my = (x1 - x0) * GRID_MARGIN, (y1 - y0) * GRID_MARGIN
        xs = np.linspace(x0 - mx, x1 + mx, GRID_SIZE)
        ys = np.linspace(y0 - my, y1 + my, GRID_SIZE)
        X, Y = np.meshgrid(xs, ys)
        with np.errstate(all="ignore"):
            z = np.asarray(fn.value(np.column_stack([X.ravel(), Y.ravel()])), dtype=np.float64)
        z = z.reshape(X.shape)
        finite = z[np.isfinite(z)]
        self.loss_range = (float(finite.min()), float(finite.max())) if finite.size else None
        known = [v for v, m in zip(fn.minimum_values, fn.minima, strict=False)
                 if x0 - mx <= m[0] <= x1 + mx and y0 - my <= m[1] <= y1 + my and np.isfinite(v)]
        values, log, zmin = colour_values(z, True if fn.log_scale else None,
                                          min(known) if known else None)
        vmin, vmax = float(values.min()), float(values.max())
        if vmax <= vmin:
            vmax = vmin + 1.0
        self.image.setImage(values, levels=(vmin, vmax), autoLevels=False)
        self.image.setRect(QtCore.QRectF(xs[0], ys[0], xs[-1] - xs[0], ys[-1] - ys[0]))
        levels = np.linspace(vmin, vmax, CONTOUR_LEVELS + 2)[1:-1]
        cx, cy = contour_segments(xs, ys, values, levels)
        self.contours.setData(cx, cy, connect="pairs")
        self._update_colorbar(vmin, vmax, log, zmin)
        pts = np.array([m for m in fn.minima if len(m) == 2], dtype=float).reshape(-1, 2)
        self.minima.setData(pos=pts)

    def _update_colorbar(self, vmin: float, vmax: float, log: bool, zmin: float) -> None:
        plot = self.getPlotItem()
        if self.colorbar is None:
            self.colorbar = pg.ColorBarItem(values=(vmin, vmax), colorMap=self.cmap,
                                            interactive=False, width=18)
            self.colorbar.setImageItem(self.image, insert_in=plot)
            axis = self.colorbar.getAxis("right")
            font = QtGui.QFont()
            font.setPointSize(FONT_PT - 1)
            axis.setStyle(tickFont=font)
            axis.setTextPen(pg.mkPen(TEXT_COLOUR))
            axis.setPen(pg.mkPen(TEXT_COLOUR))
            for entry in self.colorbar.axes.values():
                _no_si_prefix(entry["item"])
            if self.cached_axes:
                self.colorbar.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.colorbar.setVisible(True)
        self.colorbar.setLevels((vmin, vmax))
        axis = self.colorbar.getAxis("right")
        if log:
            ticks = [(float(t), loss_label(zmin + 10.0 ** t))
                     for t in range(int(np.ceil(vmin)), int(np.floor(vmax)) + 1)]
            if len(ticks) > 7:
                ticks = ticks[:: int(np.ceil(len(ticks) / 7))]
            axis.setTicks([ticks])
            axis.setLabel("loss (log)", **{"font-size": f"{FONT_PT}pt", "color": TEXT_COLOUR})
            labels = [label for _, label in ticks]
        else:
            axis.setTicks(None)
            axis.setLabel("loss", **{"font-size": f"{FONT_PT}pt", "color": TEXT_COLOUR})
            labels = [text for spacing, values in axis.tickValues(vmin, vmax, 400)
                      for text in axis.tickStrings(values, 1.0, spacing)]
        _fit_axis_width(axis, labels)

    def _draw_curve(self, fn: LossFunction, view: View) -> None:
        (x0, x1), _ = view
        m = (x1 - x0) * GRID_MARGIN
        xs = np.linspace(x0 - m, x1 + m, 1500)
        with np.errstate(all="ignore"):
            ys = np.asarray(fn.value(xs[:, None]), dtype=np.float64).reshape(-1)
        self.curve.setData(xs, self._clip1(ys), connect="finite")
        self.loss_range = (float(view[1][0]), float(view[1][1]))
        pts = [(m[0], v) for m, v in zip(fn.minima, fn.minimum_values, strict=False)]
        self.minima.setData(pos=np.array(pts, dtype=float).reshape(-1, 2))

    def _clip1(self, ys: np.ndarray) -> np.ndarray:
        return np.clip(ys, self._lo[1], self._hi[1])

    def reset_view(self) -> None:
        """Show the function's view window."""
        if self.view is None:
            return
        (x0, x1), (y0, y1) = self.view
        self.getPlotItem().getViewBox().setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.02)
        self.place_legend()

    def place_legend(self) -> None:
        """Move the legend to the corner of the view that hides the fewest drawn points
        (run trails, markers and, in 1D, the curve)."""
        vb = self.getPlotItem().getViewBox()
        (x0, x1), (y0, y1) = vb.viewRange()
        pts = [np.empty((0, 2))]
        for run in self._runs:
            if not run.trail.isVisible():
                continue
            xs, ys = run.trail.getData()
            if xs is not None and len(xs):
                pts.append(np.column_stack([xs, ys]))
            mx, my = run.marker.getData()
            if len(mx):  # the current position matters most: weigh it as many points
                pts.append(np.repeat([[mx[0], my[0]]], 200, axis=0))
            if run.tangent is not None:
                tx, ty = run.tangent.getData()
                if tx is not None and len(tx) == 2:
                    t = np.linspace(0, 1, 30)[:, None]
                    pts.append(np.column_stack([tx[0] + t[:, 0] * (tx[1] - tx[0]),
                                                ty[0] + t[:, 0] * (ty[1] - ty[0])]))
        if self._dim == 1:
            xs, ys = self.curve.getData()
            if xs is not None:
                pts.append(np.column_stack([xs, ys]))
        pts = np.concatenate(pts)
        # the legend's box (plus its 10 px offset), as a fraction of the view
        vb_w, vb_h = max(vb.width(), 1.0), max(vb.height(), 1.0)
        rect = self.legend.boundingRect()
        fx = min(1.0, (rect.width() + 20) / vb_w) if rect.width() > 0 else 0.38
        fy = min(1.0, (rect.height() + 20) / vb_h) if rect.height() > 0 else 0.34
        best, best_count = None, None
        for right, top in ((True, True), (False, True), (True, False), (False, False)):
            bx = (x1 - fx * (x1 - x0), x1) if right else (x0, x0 + fx * (x1 - x0))
            by = (y1 - fy * (y1 - y0), y1) if top else (y0, y0 + fy * (y1 - y0))
            inside = ((pts[:, 0] >= bx[0]) & (pts[:, 0] <= bx[1])
                      & (pts[:, 1] >= by[0]) & (pts[:, 1] <= by[1]))
            count = int(inside.sum())
            if best_count is None or count < best_count:
                best, best_count = (right, top), count
        right, top = best
        self.legend.anchor(itemPos=(1 if right else 0, 0 if top else 1),
                           parentPos=(1 if right else 0, 0 if top else 1),
                           offset=(-10 if right else 10, 10 if top else -10))

    def set_start_marker(self, point) -> None:
        """Mark the start point (``None`` hides it)."""
        if point is None:
            self.start_marker.setData(pos=np.empty((0, 2)))
            return
        p = np.asarray(point, dtype=float).reshape(-1)
        if self._dim == 1 and self.function is not None:
            with np.errstate(all="ignore"):
                y = float(self.function.value(p[:1].reshape(1, 1))[0])
            p = np.array([p[0], y])
        p = np.clip(p[:2], self._lo, self._hi)
        self.start_marker.setData(pos=p.reshape(1, 2))

    # -- runs -----------------------------------------------------------------
    def set_runs(self, styles: list[RunStyle]) -> None:
        """Create the items of the runs (replacing the previous runs' items)."""
        plot = self.getPlotItem()
        for run in self._runs:
            for item in run.items():
                plot.removeItem(item)
        self.legend.clear()
        self._runs = []
        self._shown = {}
        dim = self._dim or 2
        for style in styles:
            run = _RunItems(style, dim)
            for item in run.items():
                plot.addItem(item)
            self.legend.addItem(run.marker if dim == 1 else run.trail, style.name)
            for item in self.legend.items[-1]:  # its own clip (see the legend's flag above)
                item.setFlag(QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemClipsToShape)
                if self._cache_static:
                    item.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
            run.set_visible(style.visible)
            _set_antialias(run.trail, not self.playing)
            self._runs.append(run)
        self.layer.set_runs([_pen(s.colour) for s in styles], [s.colour for s in styles])
        self._thin = [GrowingThinning() for _ in styles]
        for i, style in enumerate(styles):
            self.layer.set_visible(i, style.visible)
        self._use_layer(self.playing)
        if self.view is not None:
            self.place_legend()

    def run_items(self, i: int) -> _RunItems:
        return self._runs[i]

    def cache_static_items(self) -> None:
        """Paint the minima, the start marker and the legend from pixmaps kept until
        they change: the playback layer's lines span the plot, so every frame repaints
        whatever lies under them (for the window: exports draw them as vectors)."""
        self._cache_static = True
        items = [self.minima, self.start_marker, self.legend]
        items += [part for row in self.legend.items for part in row]
        for item in items:
            item.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)

    def set_run_visible(self, i: int, visible: bool) -> None:
        run = self._runs[i]
        run.style = RunStyle(run.style.name, run.style.colour, bool(visible))
        run.set_visible(visible)
        self.layer.set_visible(i, visible)

    def set_playing(self, playing: bool) -> None:
        """While playing, trails are drawn without antialiasing and without a dot per
        step, and in 2D all of them and their markers by one PlaybackLayer (the
        per-run items' setData and paint were most of a frame); stopped, they are
        drawn in full again at once, from the same points."""
        playing = bool(playing)
        if playing == self.playing:
            return
        self.playing = playing
        for run in self._runs:
            _set_antialias(run.trail, not playing)
        self._use_layer(playing)
        for i, args in list(self._shown.items()):
            if i < len(self._runs):
                self.update_run(i, *args)

    def _use_layer(self, on: bool) -> None:
        on = on and self._dim == 2
        self._layer_on = on
        for run in self._runs:
            run.set_stood_in(on)
        self.layer.setVisible(on)
        if not on:
            self.layer.clear()

    def update_run(self, i: int, positions: np.ndarray, current: int | None = None,
                   losses: np.ndarray | None = None, source: object = None) -> None:
        """Show run ``i`` at step ``current`` (default: the last of ``positions`` (K, D)).

        ``source`` (optional) names where the positions come from, e.g. the run's
        Trajectory: while it stays the same the positions may only grow at the end,
        and playback then thins just the new points."""
        run = self._runs[i]
        self._shown[i] = (positions, current, losses)
        pos = np.asarray(positions, dtype=np.float64)
        if pos.ndim == 1:
            pos = pos[:, None]
        k = len(pos) - 1 if current is None else int(current)
        if len(pos) == 0 or k < 0:
            run.trail.setData([], [])
            run.marker.setData(pos=np.empty((0, 2)))
            if self._layer_on:
                self.layer.set_line(i, None)
            if run.tangent is not None:
                run.tangent.setData([], [])
            return
        k = min(k, len(pos) - 1)
        shown = pos[: k + 1]
        if self._layer_on and source is not None:
            self.layer.set_line(i, self._thinned(i, shown, source), grown=self._thin[i].grew)
            return
        idx = decimate(len(shown), k, MAX_SYMBOL_POINTS if self._dim == 1 else MAX_DRAWN_POINTS)
        if self._dim == 1:
            xs = shown[idx, 0]
            if losses is not None:
                ys = np.asarray(losses, dtype=np.float64)[: k + 1][idx]
            else:
                with np.errstate(all="ignore"):
                    ys = np.asarray(self.function.value(xs[:, None]), dtype=np.float64)
            xs = np.clip(np.nan_to_num(xs, nan=self._hi[0]), self._lo[0], self._hi[0])
            ys = self._clip1(np.nan_to_num(ys, nan=self._hi[1]))
            run.trail.setData(xs, ys)
            move_marker(run.marker, float(xs[-1]), float(ys[-1]))
            self._update_tangent(run, shown[k, 0])
        else:
            pts = self._clipped(shown[idx])
            symbol = "o" if len(pts) <= MAX_SYMBOL_POINTS and not self.playing else None
            if run.trail.opts["symbol"] != symbol:
                run.trail.setSymbol(symbol)
            if symbol is None:  # a plain line: what falls in one pixel draws as one point
                pts = drop_subpixel(pts, self.pixel_size())
            if self._layer_on:
                self.layer.set_line(i, pts)
                return
            run.trail.setData(pts[:, 0], pts[:, 1], skipFiniteCheck=True)
            move_marker(run.marker, float(pts[-1, 0]), float(pts[-1, 1]))

    def _clipped(self, pts: np.ndarray) -> np.ndarray:
        """Positions as drawn: NaN to the right edge, everything into the clip box."""
        out = _clip_rows(pts, self._lo, self._hi)
        nan = np.isnan(out)
        if nan.any():  # as np.nan_to_num(nan=hi_x) before the clip (rare: checked first)
            out = _clip_rows(np.where(nan, self._hi[0], out), self._lo, self._hi)
        return out

    def _thinned(self, i: int, shown: np.ndarray, source: object) -> np.ndarray:
        """Run ``i``'s trail while playing: its points that start a new pixel, from
        the new points alone while ``source`` and the view stay the same."""
        pixel = self.pixel_size()
        key = (source, pixel, self._clip_key)
        return self._thin[i].points(key, len(shown), lambda a, b: self._clipped(shown[a:b]), pixel)

    def _update_tangent(self, run: _RunItems, x: float) -> None:
        fn = self.function
        if fn is None or run.tangent is None:
            return
        with np.errstate(all="ignore"):
            y = float(fn.value(np.array([[x]]))[0])
            g = float(fn.gradient(np.array([[x]]))[0, 0])
        if not (np.isfinite(x) and np.isfinite(y) and np.isfinite(g)):
            run.tangent.setData([], [])
            return
        (x0, x1), _ = self.view
        h = (x1 - x0) * 0.12
        xs = np.array([x - h, x + h])
        ys = self._clip1(y + g * (xs - x))
        run.tangent.setData(np.clip(xs, self._lo[0], self._hi[0]), ys)

    # -- clicks ---------------------------------------------------------------
    def _on_click(self, ev) -> None:
        if ev.button() != QtCore.Qt.MouseButton.LeftButton or ev.double():
            return
        vb = self.getPlotItem().getViewBox()
        scene_pos = ev.scenePos()
        if not vb.sceneBoundingRect().contains(scene_pos):
            return
        if self.legend.isVisible() and self.legend.sceneBoundingRect().contains(scene_pos):
            return
        p = vb.mapSceneToView(scene_pos)
        self.clicked.emit(float(p.x()), float(p.y()))


#: a LossPlot's own title (a one-line plot label) is cut to this many characters;
#: a Figure's title wraps instead
TITLE_CHARS = 64


def title_text(fn: LossFunction, limit: int | None = None) -> str:
    """``name:  formula`` with the formula made pretty; cut to ``limit`` characters."""
    text = fn.name
    if fn.formula and fn.formula != fn.name:
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


#: the loss history's step axis shows at least steps 0..MIN_STEP_RANGE, and while
#: playing at least 0..MIN_PLAYING_STEP_RANGE (its first frames would each widen it)
MIN_STEP_RANGE = 10.0
MIN_PLAYING_STEP_RANGE = 64.0
#: the widest tick label the loss axis shows (a log scale reaches 1e-300)
WIDEST_LOSS_LABEL = "1e-300"
#: histories that grow by at most this many steps at a time are being played
STEP_RANGE_STRIDE = 256


class LossHistoryPlot(_PixelSize, pg.PlotWidget):
    """Loss against step, one line per run, with a vertical line at the shown step.

    The y axis is logarithmic when every loss is positive and they span more than
    two decades, linear otherwise (losses can be negative)."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        # no context menus (each built a ViewBoxMenu at start-up, then was disabled)
        super().__init__(parent=parent, background="w", enableMenu=False,
                         axisItems=_plain_axes())
        plot = self.getPlotItem()
        plot.setMenuEnabled(False)
        self._watch_pixel_size()
        _style_axes(plot, "step", "loss")
        plot.showGrid(x=True, y=True, alpha=0.25)
        # the loss axis keeps one width, that of its widest labels ("1e-300"): fitted
        # to its labels, it widened a frame after a range change brought wider ones,
        # laying the whole plot out again a second time (and moved on every change)
        axis = plot.getAxis("left")
        font = axis.style.get("tickFont") or axis.font()
        wide = QtGui.QFontMetricsF(font).horizontalAdvance(WIDEST_LOSS_LABEL) + 2
        axis.setStyle(autoExpandTextSpace=False, tickTextWidth=int(wide))
        self._lines: list[pg.PlotDataItem] = []
        #: per run, its losses as drawn and their range, kept up to date from the new
        #: ones (see GrowingLosses): a frame's scale costs no reductions
        self._losses: list[GrowingLosses] = []
        self.playing = False
        self._log = False
        self._reference: tuple[float, float] | None = None
        self._y_set: tuple[float, float] | None = None
        self.step_line = StepLine(_pen("#555555", 1.5, QtCore.Qt.PenStyle.DashLine), plot)
        plot.addItem(self.step_line, ignoreBounds=True)
        #: while playing, every run's line in one item (see set_playing)
        self.layer = PlaybackLayer()
        self.layer.setVisible(False)
        plot.addItem(self.layer, ignoreBounds=True)
        #: per run, the (steps, losses) drawn (decimated), for the layer and for pause
        self._drawn: list[tuple[np.ndarray, np.ndarray] | None] = []
        self._thin: list[GrowingThinning] = []
        #: per run, where its thinned line comes from while playing (see update_run)
        self._sources: list[object] = []
        #: inside ``batch()``: what the axes fit at its end needs
        self._batch: dict | None = None
        # the step range is set by _fit_steps, not auto-ranged (which re-laid out the
        # axis and grid on every frame of playback)
        plot.disableAutoRange()
        self._x_max = 0.0
        self._fit_steps()

    def set_runs(self, styles: list[RunStyle]) -> None:
        plot = self.getPlotItem()
        for line in self._lines:
            plot.removeItem(line)
        self._lines = []
        self._losses = []
        self._drawn = []
        self._thin = []
        self._sources = []
        self.layer.set_runs([_pen(s.colour) for s in styles], [s.colour for s in styles])
        for i, style in enumerate(styles):
            line = pg.PlotDataItem(pen=_pen(style.colour), antialias=not self.playing)
            line.curve.setSegmentedLineMode("on")
            line.setVisible(style.visible)
            line.setOpacity(0.0 if self.playing else 1.0)
            plot.addItem(line)
            self._lines.append(line)
            self._losses.append(GrowingLosses())
            self._drawn.append((np.empty(0), np.empty(0)))
            self._thin.append(GrowingThinning())
            self._sources.append(None)
            self.layer.set_visible(i, style.visible)

    def line(self, i: int) -> pg.PlotDataItem:
        return self._lines[i]

    def set_playing(self, playing: bool) -> None:
        """While playing, all lines are drawn by one PlaybackLayer, without
        antialiasing (see LossPlot.set_playing); stopped, by their own items again."""
        self.playing = bool(playing)
        self.layer.setVisible(self.playing)
        for i, line in enumerate(self._lines):
            _set_antialias(line, not self.playing)
            line.setOpacity(0.0 if self.playing else 1.0)
            self._show_line(i)
        if not self.playing:
            self.layer.clear()
            self._update_scale()  # the exact range again

    def set_run_visible(self, i: int, visible: bool) -> None:
        self._lines[i].setVisible(visible)
        self.layer.set_visible(i, visible)
        self._update_scale()

    def _draw_whole(self, i: int) -> None:
        """Thin run ``i``'s whole history (decimated, one point per pixel) and show it."""
        y = self._losses[i].values
        idx = decimate(len(y), len(y) - 1)
        steps, ys = np.arange(len(y))[idx], y[idx]
        if len(ys) > MAX_SYMBOL_POINTS:  # what falls in one pixel draws as one point
            keep = new_pixel_mask(np.column_stack([steps, self._shown_y(ys)]),
                                  self.pixel_size())
            steps, ys = steps[keep], ys[keep]
        self._drawn[i] = (steps, ys)
        self._show_line(i)

    def _shown_y(self, ys: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Losses as the plot's y axis places them (log10 on a log scale), into
        ``out`` if given."""
        if not self._log:
            if out is None:
                return ys
            out[:] = ys
            return out
        # the losses are clipped into ±1e150 (NaN to the top): log10 never warns
        return np.log10(np.maximum(ys, 1e-300, out=out), out=out)

    def _show_thinned(self, i: int, source: object) -> None:
        """While playing: run ``i``'s history thinned from its new losses alone."""
        y, pixel = self._losses[i].values, self.pixel_size()

        def chunk(a: int, b: int) -> np.ndarray:
            out = np.empty((b - a, 2))
            out[:, 0] = np.arange(a, b)
            self._shown_y(y[a:b], out[:, 1])
            return out

        thin = self._thin[i]
        self.layer.set_line(i, thin.points((source, self._log, pixel), len(y), chunk, pixel),
                            grown=thin.grew)

    def _show_line(self, i: int) -> None:
        """Give run ``i``'s drawn points to whichever draws them now."""
        if self._drawn[i] is None:  # thinned while playing: whole again
            self._draw_whole(i)
            return
        steps, ys = self._drawn[i]
        if not self.playing:
            self._lines[i].setData(steps, ys)
            return
        # the layer is not told about the plot's log mode
        self.layer.set_line(i, np.column_stack([steps, self._shown_y(ys)]))

    def update_run(self, i: int, losses: np.ndarray, current: int | None = None,
                   source: object = None) -> None:
        """Show run ``i``'s losses (all of them; ``current`` moves the step line).
        ``source``: as for LossPlot.update_run (while playing, only new losses are
        thinned)."""
        before = self._losses[i].n
        y = self._losses[i].update(losses, source)
        grew = len(y) - before
        if self.playing and source is not None and len(y):
            self._drawn[i] = None  # made from _losses when playback stops
            self._sources[i] = source
            self._show_thinned(i, source)
        else:
            self._sources[i] = None
            self._draw_whole(i)
        step = len(y) - 1 if current is None else current
        if self._batch is not None:  # once for all the runs, when the batch ends
            self._batch["grew"] = self._batch.get("grew", False) or 0 < grew <= STEP_RANGE_STRIDE
            self._batch["step"] = step
            return
        self._fit_axes(0 < grew <= STEP_RANGE_STRIDE, step)

    def _fit_axes(self, grew: bool, step: int) -> None:
        """Fit the axes to the losses and move the step line to ``step``. While
        playing, lines thinned for the old scale are thinned for the new one at once:
        the layer then draws them anew in this frame, not again in the next."""
        pixel = self.pixel_size() if self.playing else None
        self._fit_steps(self.playing and grew)
        self._update_scale()
        if pixel is not None and self.pixel_size() != pixel:
            for i, source in enumerate(self._sources):
                if source is not None and self._drawn[i] is None:
                    self._show_thinned(i, source)
        self.set_step(step)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Update several runs, then fit the axes and move the step line once (a
        frame of playback updates every run: 8 fits and line moves were ~1 ms)."""
        if self._batch is not None:  # nested: the outer batch finishes
            yield
            return
        self._batch = {}
        try:
            yield
        finally:
            done, self._batch = self._batch, None
            if done:
                self._fit_axes(done["grew"], done["step"])

    def _fit_steps(self, playing: bool = False) -> None:
        """Show steps 0..the longest history (at least 0..MIN_STEP_RANGE). Followed
        step by step (``playing``), it starts at 0..MIN_PLAYING_STEP_RANGE and doubles
        when the history reaches its end, so the axis and grid (and the playback
        layer's canvas) are laid out again only now and then: 8 times on the way to
        step 10,000."""
        last = float(max((y.n - 1 for y in self._losses), default=0))
        floor = MIN_PLAYING_STEP_RANGE if playing else MIN_STEP_RANGE
        if self._x_max >= max(last, floor) and (last >= self._x_max / 2 or self._x_max <= floor):
            return
        self._x_max = max(floor, last * 2.0 if playing else last)
        self.getPlotItem().setXRange(0.0, self._x_max, padding=0.02)

    def set_step(self, k: int) -> None:
        """Move the vertical line to step ``k``."""
        self.step_line.setValue(float(k))

    def set_loss_range(self, lo: float, hi: float) -> None:
        """The losses the function takes in its view: runs that leave it by far (a
        diverged run, a cubic falling forever) go off the plot's edge instead of
        squashing the others flat."""
        self._reference = (float(lo), float(hi)) if np.isfinite([lo, hi]).all() and hi > lo \
            else None
        self._update_scale()

    def _update_scale(self) -> None:
        data = [y for y, line in zip(self._losses, self._lines, strict=True)
                if line.isVisible() and y.n]
        plot = self.getPlotItem()
        if not data:
            return
        lo = min(y.lo for y in data)
        hi = max(y.hi for y in data)
        # losses of exactly zero (a run that reached a minimum of value 0) keep a log
        # scale: they are drawn below its bottom edge, which the smallest loss above
        # zero sets (switching to linear then squashed every falling curve flat)
        lo_positive = min(y.lo_positive for y in data)
        log = lo >= 0 and lo_positive < np.inf and hi / lo_positive > 100
        if log:
            lo = lo_positive
        if log != self._log:
            self._log = log
            self._y_set = None
            plot.setLogMode(y=log)
            if self.playing:  # the layer's lines were in the other scale
                for i in range(len(self._lines)):
                    self._show_line(i)
            # setLogMode turns auto-range back on: the steps would follow the data
            # (re-laid out every frame) instead of _fit_steps
            plot.disableAutoRange()
            plot.setXRange(0.0, self._x_max, padding=0.02)
            plot.getAxis("left").setLabel("loss (log)" if log else "loss")
        if self._reference is not None:
            rlo, rhi = self._reference
            span = rhi - rlo
            hi = min(hi, rhi * 10 if log and rhi > 0 else rhi + span)
            if not log:
                lo = max(lo, rlo - span)
        if not hi > lo:
            lo, hi = lo - 0.5, hi + 0.5
        if log:
            lo, hi = float(np.log10(lo)), float(np.log10(hi))
        if self.playing and self._y_set is not None:
            # while playing, the range changes only when the losses leave it or fill
            # too little of it, with room below (losses mostly fall): re-laying out
            # the axis and grid (and the layer's canvas) cost a frame some 20 ms. On
            # a log scale falling losses keep needing room: the span grows fourfold
            # downwards (4 changes, not 15, for a run falling from 10 to 1e-300)
            slo, shi = self._y_set
            fill = 0.25 if log else 0.5
            if slo <= lo and hi <= shi and hi - lo >= fill * (shi - slo):
                return
            lo -= (3.0 if log else 0.25) * (hi - lo)
        if (lo, hi) != self._y_set:  # an unchanged range would still repaint the axis
            self._y_set = (lo, hi)
            plot.setYRange(lo, hi, padding=0.05)

    @property
    def y_range(self) -> tuple[float, float]:
        """The shown loss range (log10 of it on a log scale)."""
        lo, hi = self.getPlotItem().getViewBox().viewRange()[1]
        return lo, hi


class Figure(QtWidgets.QWidget):
    """A :class:`LossPlot` above a :class:`LossHistoryPlot` (optional), as the window
    shows it and as exported pictures render it."""

    def __init__(self, parent: QtWidgets.QWidget | None = None, with_history: bool = True) -> None:
        super().__init__(parent)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        # the title is a wrapping label: a long formula takes two lines instead of
        # widening the plot past the window (and pushing the colour bar out of sight)
        self.title = QtWidgets.QLabel(self)
        self.title.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.title.setWordWrap(True)
        self.title.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        self.title.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.title.font()
        font.setPointSize(LABEL_PT)
        self.title.setFont(font)
        self.title.setStyleSheet(f"QLabel {{ color: {TEXT_COLOUR}; background: white; "
                                 "padding: 4px 8px 0px 8px; }")
        self.title.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored,
                                 QtWidgets.QSizePolicy.Policy.Preferred)
        self.title.hide()
        layout.addWidget(self.title)
        self.splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical, self)
        self.loss_plot = LossPlot(show_title=False)
        self.splitter.addWidget(self.loss_plot)
        self.history: LossHistoryPlot | None = None
        if with_history:
            self.history = LossHistoryPlot()
            self.splitter.addWidget(self.history)
            self.splitter.setStretchFactor(0, 3)
            self.splitter.setStretchFactor(1, 1)
        layout.addWidget(self.splitter)
        self.clicked = self.loss_plot.clicked

    def set_function(self, fn: LossFunction, view: View | None = None) -> None:
        self.loss_plot.set_function(fn, view)
        self.title.setText(title_text(fn))
        self.title.setToolTip(fn.formula)
        self.title.show()
        if self.history is not None and self.loss_plot.loss_range is not None:
            self.history.set_loss_range(*self.loss_plot.loss_range)

    def set_runs(self, styles: list[RunStyle]) -> None:
        self.loss_plot.set_runs(styles)
        if self.history is not None:
            self.history.set_runs(styles)

    def update_run(self, i: int, positions: np.ndarray, current: int | None = None,
                   losses: np.ndarray | None = None, source: object = None) -> None:
        self.loss_plot.update_run(i, positions, current, losses, source)
        if self.history is not None and losses is not None:
            self.history.update_run(i, losses, current, source)

    def set_run_visible(self, i: int, visible: bool) -> None:
        self.loss_plot.set_run_visible(i, visible)
        if self.history is not None:
            self.history.set_run_visible(i, visible)

    def batch(self):
        """A context in which several ``update_run`` calls fit the loss history's
        axes once, at its end (see LossHistoryPlot.batch)."""
        return self.history.batch() if self.history is not None else nullcontext()

    def cache_axes(self) -> None:
        """Paint the axes (and their grids and the colour bar) from pixmaps kept
        until they change, instead of replaying them on every frame that moves a run
        (the history's grid spans its whole plot, so every frame repainted it). For
        the window: exported pictures draw the axes as vectors."""
        plots = [self.loss_plot] + ([self.history] if self.history is not None else [])
        items = [a["item"] for p in plots for a in p.getPlotItem().axes.values()]
        self.loss_plot.cached_axes = True
        if self.loss_plot.colorbar is not None:
            items.append(self.loss_plot.colorbar)
        for item in items:
            item.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.loss_plot.cache_static_items()

    def set_playing(self, playing: bool) -> None:
        """Draw for speed while playing, in full when stopped (see LossPlot.set_playing)."""
        self.loss_plot.set_playing(playing)
        if self.history is not None:
            self.history.set_playing(playing)

    def set_step(self, k: int) -> None:
        if self.history is not None:
            self.history.set_step(k)

    def set_start_marker(self, point) -> None:
        self.loss_plot.set_start_marker(point)

    def reset_view(self) -> None:
        self.loss_plot.reset_view()

    def place_legend(self) -> None:
        self.loss_plot.place_legend()
