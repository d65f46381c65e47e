"""Items that draw runs of many rows (ensembles, fans of starts) during playback.

A run of K rows is drawn as K thin paths (LossPlot.update_fan) and, in the loss
history, as a 10-90 % band around the median (LossHistoryPlot.update_band). With
8 runs of 64 rows to step 10,000 that is five million segments: drawn anew every
frame by pyqtgraph's items (a PlotDataItem per fan, a FillBetweenItem per band),
a frame took ~200 ms.

:class:`FanLayer` draws every run's fan in one item the way the PlaybackLayer
draws trails: the segments drawn so far are kept as pixels on a canvas the size of
the view, a frame adds only the segments of its new steps (one ``drawLines`` call
per run, from a buffer filled by NumPy) and repaints only the area they and the
rows' current points cover. The canvas is drawn anew, from every step, when the
view changes or a fan changes other than by growing.

:class:`BandItem` fills a band from one polygon, thinned to the plot's pixel
columns (the lowest lower and highest upper edge in each), instead of a
FillBetweenItem's path rebuilt from two curves' paths each frame.

Both only stand in while playing: stopped, the plots draw the rows with their
full items again (antialiased, pickable).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from .canvas_layer import CanvasLayer

#: extra room, in screen pixels, around what a frame repaints
_SLACK_PX = 3.0


def _qlines() -> object:
    """A buffer of QLineF that NumPy fills and QPainter.drawLines takes whole."""
    return pg.Qt.internals.PrimitiveArray(QtCore.QLineF, 4)


def _polygon(points: np.ndarray) -> QtGui.QPolygonF:
    polygon = pg.functions.create_qpolygonf(len(points))
    pg.functions.ndarray_from_qpolygonf(polygon)[:] = points
    return polygon


@dataclass
class _Fan:
    pen: QtGui.QPen
    dot_pen: QtGui.QPen
    visible: bool = True
    #: the rows' positions (steps, K, 2) as last set (not clipped; a view the caller keeps)
    rows: np.ndarray | None = None
    #: the segments between steps [0, on_canvas) are on the canvas
    on_canvas: int = 0
    #: the rows' points at the last step, clipped (what the last frame showed)
    dots: np.ndarray | None = None


class FanLayer(CanvasLayer):
    """Every run's K paths and K current points, painted in one item, growing on a
    canvas (see the module docstring). ``clip(points)`` makes (M, 2) positions
    drawable (finite, inside the clip box): the caller's rule, applied here to the
    new steps only."""

    def __init__(self, clip: Callable[[np.ndarray], np.ndarray], dot_px: float = 4.0,
                 redraw_steps: int = 500) -> None:
        """``redraw_steps``: a canvas drawn anew (a zoom while playing) draws at most
        this many steps of each row (evenly spaced, the last included); the steps
        that follow are drawn in full again."""
        super().__init__()
        self._clip = clip
        self.dot_px = float(dot_px)
        self.redraw_steps = int(redraw_steps)
        self._fans: list[_Fan] = []
        self._lines = _qlines()
        self._fragments = pg.Qt.internals.PrimitiveArray(QtGui.QPainter.PixmapFragment, 10)
        #: per fan, its dot drawn once on a pixmap, for one device pixel ratio
        self._stamps: list[QtGui.QPixmap] = []
        #: (device pixel ratio, dot size) the stamps were drawn for
        self._stamp_ratio: tuple[float, float] | None = None

    # -- data -------------------------------------------------------------------
    def set_runs(self, colours: list[str]) -> None:
        """One fan per run, drawn in these colours (see-through)."""
        self._fans = []
        for colour in colours:
            c = QtGui.QColor(colour)
            c.setAlpha(110)
            pen = QtGui.QPen(c)
            pen.setWidthF(1.0)
            pen.setCosmetic(True)
            c.setAlpha(200)
            dot = QtGui.QPen(c)
            dot.setWidthF(self.dot_px)
            dot.setCosmetic(True)
            dot.setCapStyle(QtCore.Qt.PenCapStyle.RoundCap)
            self._fans.append(_Fan(pen=pen, dot_pen=dot))
        self._stamp_ratio = None  # (the dots' pictures, in these colours)
        self._redraw_all()

    def set_fan(self, i: int, rows: np.ndarray | None, grown: bool = False) -> None:
        """Run ``i``'s rows, positions (steps, K, 2) up to the shown step (None: no
        fan). ``grown``: the caller knows the steps set before are unchanged at the
        start of these (playback adding steps); else the fan is drawn anew."""
        fan = self._fans[i]
        old_dots = fan.dots
        n_old = 0 if fan.rows is None else len(fan.rows)
        if rows is not None and len(rows) == 0:
            rows = None
        fan.rows = rows
        fan.dots = None if rows is None else self._clip(rows[-1])
        if fan.on_canvas and not (grown and rows is not None and len(rows) >= n_old):
            self._redraw_all()
            return
        if fan.visible and rows is not None:
            new = rows[max(fan.on_canvas - 1, 0):]
            pts = self._clip(new.reshape(-1, 2))
            self._repaint_around(pts, old_dots)
        elif fan.visible and old_dots is not None:
            self._repaint_around(old_dots)

    def set_visible(self, i: int, visible: bool) -> None:
        if self._fans[i].visible != bool(visible):
            self._fans[i].visible = bool(visible)
            self._redraw_all()

    def fan(self, i: int) -> np.ndarray | None:
        """Run ``i``'s rows as last set (None: none)."""
        return self._fans[i].rows

    def clear(self) -> None:
        for fan in self._fans:
            fan.rows, fan.dots = None, None
        self._redraw_all()

    def _drawn(self) -> list[_Fan]:
        return self._fans

    def _margin(self) -> float:
        return self.dot_px / 2 + _SLACK_PX

    def _paint_live(self, p: QtGui.QPainter, option, ratio: float) -> None:
        self._paint_dots(p)

    def _segments(self, rows: np.ndarray) -> int:
        """Fill the line buffer with the segments between consecutive steps of every
        row of ``rows`` (steps, K, 2), clipped; returns their number."""
        m, k = rows.shape[0] - 1, rows.shape[1]
        if m < 1:
            self._lines.resize(0)
            return 0
        pts = self._clip(rows.reshape(-1, 2)).reshape(rows.shape)
        self._lines.resize(m * k)
        out = self._lines.ndarray().reshape(m, k, 4)
        out[:, :, 0:2] = pts[:-1]
        out[:, :, 2:4] = pts[1:]
        return m * k

    def _draw_new_segments(self) -> None:
        pending = [fan for fan in self._fans if fan.visible and fan.rows is not None
                   and len(fan.rows) > max(fan.on_canvas, 1)]
        if not pending:
            return
        painter = QtGui.QPainter(self._canvas)
        painter.setTransform(self._canvas_key[0])
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, False)
        for fan in pending:
            rows, n = fan.rows, len(fan.rows)
            if fan.on_canvas == 0 and n > self.redraw_steps:  # drawn anew: thinned
                idx = np.unique(np.linspace(0, n - 1, self.redraw_steps).round().astype(int))
                part = rows[idx]
            else:
                part = rows[max(fan.on_canvas - 1, 0): n]
            if self._segments(part):
                painter.setPen(fan.pen)
                painter.drawLines(*self._lines.drawargs())
            fan.on_canvas = n
        painter.end()

    def _paint_dots(self, p: QtGui.QPainter) -> None:
        """Each visible fan's current points, as round dots a few pixels across:
        one picture of the dot per fan, stamped at every point in one call (Qt drew
        512 wide points at ~3 ms)."""
        transform = p.transform()
        if transform.m12() or transform.m21():
            self._paint_dots_vectors(p)
            return
        ratio = p.device().devicePixelRatioF() if p.device() is not None else 1.0
        stamps = self._dot_stamps(ratio)
        p.resetTransform()
        scale = np.array([transform.m11(), transform.m22()])
        shift = np.array([transform.dx(), transform.dy()])
        for fan, stamp in zip(self._fans, stamps, strict=True):
            if fan.visible and fan.dots is not None and len(fan.dots):
                k = len(fan.dots)
                self._fragments.resize(k)
                frag = self._fragments.ndarray()
                frag[:, 0:2] = np.round(fan.dots * scale + shift)
                side = stamp.width()  # (in the pixmap's pixels)
                frag[:, 2:4] = 0.0
                frag[:, 4:6] = side
                frag[:, 6:8] = 1.0 / ratio
                frag[:, 8] = 0.0
                frag[:, 9] = 1.0
                p.drawPixmapFragments(*self._fragments.drawargs(), stamp)
        p.setTransform(transform)

    def _dot_stamps(self, ratio: float) -> list[QtGui.QPixmap]:
        if self._stamp_ratio != (ratio, self.dot_px) or len(self._stamps) != len(self._fans):
            side = int(np.ceil(self.dot_px)) + 2
            self._stamps = []
            for fan in self._fans:
                pixmap = QtGui.QPixmap(round(side * ratio), round(side * ratio))
                pixmap.setDevicePixelRatio(1.0)
                pixmap.fill(QtCore.Qt.GlobalColor.transparent)
                painter = QtGui.QPainter(pixmap)
                painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
                painter.setPen(QtCore.Qt.PenStyle.NoPen)
                painter.setBrush(fan.dot_pen.color())
                r = self.dot_px * ratio / 2
                c = pixmap.width() / 2
                painter.drawEllipse(QtCore.QPointF(c, c), r, r)
                painter.end()
                self._stamps.append(pixmap)
            self._stamp_ratio = (ratio, self.dot_px)
        return self._stamps

    def _paint_vectors(self, p: QtGui.QPainter) -> None:
        """On anything but the window (a grab of it while playing): every segment as
        vectors, drawn as on the canvas (exported pictures are never playing: the
        plots' own items draw their fans)."""
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, False)
        for fan in self._fans:
            if fan.visible and fan.rows is not None and self._segments(fan.rows):
                p.setPen(fan.pen)
                p.drawLines(*self._lines.drawargs())
        self._paint_dots(p)


class BandItem(pg.GraphicsObject):
    """A filled band between two edges over the same x, with the edges drawn as thin
    lines: one polygon, thinned to the widget's pixel columns (see the module
    docstring). Coordinates are the plot's (a log axis: log10 values, from the
    caller)."""

    def __init__(self, colour: str | QtGui.QColor) -> None:
        super().__init__()
        c = QtGui.QColor(colour)
        fill = QtGui.QColor(c)
        fill.setAlpha(60)
        self._brush = QtGui.QBrush(fill)
        # the edges opaque, as the see-through colour on white looks (a see-through
        # pen makes Qt stroke a polyline as a path: ~10 times slower)
        a = 90 / 255
        edge = QtGui.QColor.fromRgbF(*(a * v + (1 - a) for v in (c.redF(), c.greenF(), c.blueF())))
        self._pen = QtGui.QPen(edge)
        self._pen.setWidthF(1.0)
        self._pen.setCosmetic(True)
        self._fill: QtGui.QPolygonF | None = None
        self._edges: tuple[QtGui.QPolygonF, QtGui.QPolygonF] | None = None
        self._bounds = QtCore.QRectF()
        #: the edges as drawn (thinned): x, lower, upper
        self.drawn: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def set_band(self, x: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                 pixel: float | None = None) -> None:
        """The band over ``x`` (increasing) between ``lower`` and ``upper`` (finite);
        ``pixel``: the width of a screen pixel in x, to thin it to (None: as given,
        e.g. thinned by a GrowingBand)."""
        x, lower, upper = (np.asarray(a, dtype=np.float64) for a in (x, lower, upper))
        if len(x) == 0:
            self._fill, self._edges, self.drawn = None, None, None
            self.prepareGeometryChange()
            self._bounds = QtCore.QRectF()
            self.update()
            return
        if pixel is not None and np.isfinite(pixel) and pixel > 0 and len(x) > 4:
            x, lower, upper = thin_band(x, lower, upper, pixel)
        self.drawn = (x, lower, upper)
        n = len(x)
        polygon = pg.functions.create_qpolygonf(2 * n)
        pts = pg.functions.ndarray_from_qpolygonf(polygon)
        pts[:n, 0], pts[:n, 1] = x, upper  # the upper edge, then the lower one back
        pts[n:, 0], pts[n:, 1] = x[::-1], lower[::-1]
        self._fill = polygon
        # (QPolygonF.mid went through Python lists: 1.5 ms for 1000 points)
        self._edges = (_polygon(pts[:n]), _polygon(pts[n:]))
        lo, hi = float(min(lower.min(), upper.min())), float(max(lower.max(), upper.max()))
        rect = QtCore.QRectF(float(x[0]), lo, float(x[-1] - x[0]), hi - lo)
        if rect != self._bounds:
            self.prepareGeometryChange()
            self._bounds = rect
        self.update()

    def boundingRect(self) -> QtCore.QRectF:
        # (a band of one step or of one value still has an area to repaint)
        return self._bounds.adjusted(-1e-9, -1e-9, 1e-9, 1e-9)

    def paint(self, p: QtGui.QPainter, *args) -> None:
        if self._fill is None:
            return
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, False)
        p.setPen(QtCore.Qt.PenStyle.NoPen)
        p.setBrush(self._brush)
        p.drawPolygon(self._fill)
        p.setPen(self._pen)
        p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
        for edge in self._edges:
            p.drawPolyline(edge)


def thin_band(x: np.ndarray, lower: np.ndarray, upper: np.ndarray, pixel: float
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A band over increasing ``x`` as one point per ``pixel``-wide column (columns
    ``floor(x / pixel)``): the column's first x, its lowest lower and highest upper
    edge (so the thinned band covers the band), and the last point exactly (again,
    when it is a column of its own)."""
    cols = np.floor(x / pixel)
    starts = np.flatnonzero(np.concatenate(([True], cols[1:] != cols[:-1])))
    xs = x[starts]
    lo = np.minimum.reduceat(lower, starts)
    hi = np.maximum.reduceat(upper, starts)
    return (np.append(xs, x[-1]), np.append(lo, lower[-1]), np.append(hi, upper[-1]))


class GrowingBand:
    """What :func:`thin_band` gives for a band that only grows at its end, kept up
    to date from its last column and the new points alone while ``key`` (the
    source, the pixel width, the axis' scale) stays the same: thinning every step
    anew cost ~0.4 ms per run per frame."""

    def __init__(self) -> None:
        self._key: object = None
        self.n = 0
        #: the thinned columns before the last one: x, lower, upper
        self._x = np.empty(0)
        self._lo = np.empty(0)
        self._hi = np.empty(0)
        #: where the last column starts in the band's points
        self._tail = 0

    def points(self, key: object, n: int, chunk: Callable[[int, int], tuple], pixel: float
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The thinned band of ``n`` points; ``chunk(a, b)`` gives points a..b-1 as
        (x, lower, upper) in the plot's coordinates."""
        if key != self._key or n < self.n or self.n == 0:
            self._key, self._x, self._lo, self._hi, self._tail = (
                key, np.empty(0), np.empty(0), np.empty(0), 0)
        x, lo, hi = chunk(self._tail, n)
        self.n = n
        if len(x) == 0:
            return self._x, self._lo, self._hi
        cols = np.floor(x / pixel)
        starts = np.flatnonzero(np.concatenate(([True], cols[1:] != cols[:-1])))
        cx = x[starts]
        clo = np.minimum.reduceat(lo, starts)
        chi = np.maximum.reduceat(hi, starts)
        # the columns before the last are settled; the last one may still grow
        self._x = np.concatenate((self._x, cx[:-1]))
        self._lo = np.concatenate((self._lo, clo[:-1]))
        self._hi = np.concatenate((self._hi, chi[:-1]))
        self._tail += int(starts[-1])
        return (np.concatenate((self._x, cx[-1:], x[-1:])),
                np.concatenate((self._lo, clo[-1:], lo[-1:])),
                np.concatenate((self._hi, chi[-1:], hi[-1:])))
