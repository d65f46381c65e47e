"""One graphics item that draws every run's line (and current point) during playback.

While playback runs, a frame moves every run. Drawn as one ``PlotDataItem`` per
line (and one ``ScatterPlotItem`` per marker), each frame paid pyqtgraph's
per-item Python work eight times over: ``setData`` (bounds, display data set,
path caches) and ``paint`` (about 0.3 ms each, with 8 runs and 2 plots about
two thirds of a frame). This item keeps every run's points and paints them all
in one ``paint`` call.

In a window it paints incrementally: the lines drawn so far are kept as pixels on
a canvas the size of the view (a ``QImage``), each frame adds only the new
segments to it, and only the screen area those segments and the markers cover is
repainted. Redrawing whole lines every frame cost more than everything else a
frame paints (each frame repainted the landscape under the lines' bounding box).
The canvas is drawn anew when the view changes (pan, zoom, resize), a run is
shown or hidden, or a line changes other than by growing at its end. Painted on
anything but a widget (an exported picture), the lines are drawn as vectors.

It only stands in while playing: paused, the plots show their full items again
(antialiased lines, a dot per step, pickable legend entries), drawn from the
same points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from .canvas_layer import CanvasLayer

#: extra room, in screen pixels, around what a frame repaints (Qt's own margin is 2)
_SLACK_PX = 2.0


@dataclass
class _Line:
    pen: QtGui.QPen
    brush: QtGui.QBrush
    visible: bool = True
    points: np.ndarray | None = None  # (K, 2), as last set
    #: a copy of the last two of ``points``: what of the line is not on the canvas
    last: np.ndarray | None = None
    #: segments between points [0, on_canvas) are on the canvas
    on_canvas: int = 0


def _meets(area: tuple[float, float, float, float], x0: float, y0: float, x1: float,
           y1: float) -> bool:
    """Whether the box (x0, y0, x1, y1) meets ``area`` (x0, y0, x1, y1)."""
    return x0 <= area[2] and area[0] <= x1 and y0 <= area[3] and area[1] <= y1


def _polygon(points: np.ndarray) -> QtGui.QPolygonF:
    polygon = pg.functions.create_qpolygonf(len(points))
    pg.functions.ndarray_from_qpolygonf(polygon)[:] = points
    return polygon


class PlaybackLayer(CanvasLayer):
    """Polylines, one per run, and optionally a round marker at each line's last
    point (``marker_px`` across, in screen pixels), painted in one call.

    ``set_line(i, points)`` replaces run ``i``'s points ((K, 2) in the plot's
    coordinates, already finite and clipped by the caller); ``points()`` gives
    them back. A line that only grew since the last frame costs only its new
    segments to draw.
    """

    def __init__(self, marker_px: float = 0.0, outline: str = "#202020") -> None:
        super().__init__()
        self._lines: list[_Line] = []
        self.marker_px = float(marker_px)
        self._outline = pg.mkPen(outline, width=2)
        self._outline.setCosmetic(True)
        self._margin_px = _SLACK_PX
        #: each line's marker as a picture, for one device pixel ratio
        self._stamp_key: float | None = None
        self._stamp_list: list[QtGui.QPixmap] = []

    # -- data -------------------------------------------------------------------
    def set_runs(self, pens: list[QtGui.QPen], colours: list[str]) -> None:
        """One line per run, in these pens (markers filled with ``colours``)."""
        self._lines = []
        for pen, colour in zip(pens, colours, strict=True):
            pen = QtGui.QPen(pen)
            # drawn in pieces frame by frame, square ends cover the joins (round ends
            # joined exactly, for twice the cost of a piece: 21 against 13 us)
            pen.setCapStyle(QtCore.Qt.PenCapStyle.SquareCap)
            pen.setJoinStyle(QtCore.Qt.PenJoinStyle.BevelJoin)
            self._lines.append(_Line(pen=pen, brush=pg.mkBrush(colour)))
        self._stamp_key = None  # (markers drawn anew for these lines)
        widest = max((line.pen.widthF() for line in self._lines), default=1.0)
        # (a square end reaches half the width beyond its point, along both axes)
        self._margin_px = max(widest / 2 * math.sqrt(2), self.marker_px / 2 + self._outline.widthF()) + _SLACK_PX
        self._redraw_all()

    def set_line(self, i: int, points: np.ndarray | None, grown: bool = False) -> None:
        """Run ``i``'s points, shape (K, 2) (None or K = 0: nothing drawn).
        ``grown``: the caller knows that all but the last of the points it set
        before come first in these (a line growing at its end), which spares
        comparing them; taken only for views of the same buffer as before. The
        points may be a view the caller changes later, but only from its last
        point on (see GrowingThinning)."""
        line = self._lines[i]
        last, done, old = line.last, line.on_canvas, line.points
        pts = None if points is None or len(points) == 0 else np.asarray(points, dtype=np.float64)
        # (grown, and a view of the same buffer as before: the caller's line itself)
        grown = grown and pts is not None and old is not None and pts.base is not None \
            and pts.base is old.base
        line.points, line.last = pts, None if pts is None else pts[-2:].copy()
        if done and not grown and (pts is None or len(pts) - 1 < done
                                   or not np.array_equal(pts[:done], old[:done])):
            self._redraw_all()  # not just grown: what the canvas holds is stale
            return
        if line.visible:
            # what changes on screen: the segments not on the canvas yet, the live
            # last one and the marker, before (``last``: a copy of the old line's
            # last two points, all of it that is not on the canvas) and after
            if pts is None:
                if last is not None:
                    self._repaint_around(last)
            elif last is None:
                self._repaint_around(pts[max(done - 1, 0):])
            else:
                self._repaint_around(pts[max(done - 1, 0):], last)

    def set_visible(self, i: int, visible: bool) -> None:
        if self._lines[i].visible != bool(visible):
            self._lines[i].visible = bool(visible)
            self._redraw_all()

    def points(self, i: int) -> np.ndarray:
        """Run ``i``'s points as last set ((0, 2) when none)."""
        pts = self._lines[i].points
        return np.empty((0, 2)) if pts is None else pts.copy()

    def clear(self) -> None:
        for line in self._lines:
            line.points = None
        self._redraw_all()

    def _drawn(self) -> list[_Line]:
        return self._lines

    def _paint_live(self, p: QtGui.QPainter, option, ratio: float) -> None:
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, False)
        p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
        # a frame repaints small areas: what lies outside them is not drawn at all
        exposed = self._exposed(option)
        for line in self._lines:  # the last segment, until its end point is settled
            pts = line.points
            if line.visible and pts is not None and len(pts) > 1:
                (xa, ya), (xb, yb) = pts[-2:].tolist()
                if exposed is None or _meets(exposed, min(xa, xb), min(ya, yb), max(xa, xb), max(ya, yb)):
                    p.setPen(line.pen)
                    p.drawLine(QtCore.QPointF(xa, ya), QtCore.QPointF(xb, yb))
        self._paint_markers(p, exposed, ratio)

    def _exposed(self, option) -> tuple[float, float, float, float] | None:
        """The area to paint (x0, y0, x1, y1), widened by the margin a point's line
        end or marker may take (None: all of it)."""
        if option is None or self._pad is None:
            return None
        r = option.exposedRect
        mx, my = self._pad
        return r.left() - mx, r.top() - my, r.right() + mx, r.bottom() + my

    def _draw_new_segments(self) -> None:
        """Put every visible line's settled segments that are not there yet on the
        canvas: all but the last segment, whose end is the run's current point."""
        pending = [line for line in self._lines if line.visible and line.points is not None
                   and len(line.points) - 1 > max(line.on_canvas, 1)]
        if not pending:
            return
        painter = QtGui.QPainter(self._canvas)
        painter.setTransform(self._canvas_key[0])  # item -> the canvas's pixels
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, False)
        for line in pending:
            settled = len(line.points) - 1
            painter.setPen(line.pen)
            painter.drawPolyline(_polygon(line.points[max(line.on_canvas - 1, 0): settled]))
            line.on_canvas = settled
        painter.end()

    def _paint_vectors(self, p: QtGui.QPainter) -> None:
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, False)
        p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
        for line in self._lines:
            if line.visible and line.points is not None and len(line.points) > 1:
                p.setPen(line.pen)
                p.drawPolyline(_polygon(line.points))
        self._paint_markers(p)

    def _paint_markers(self, p: QtGui.QPainter, exposed: tuple | None = None,
                       ratio: float | None = None) -> None:
        """Each visible line's marker at its last point: as vectors, or with
        ``ratio`` (a widget's device pixel ratio) as a picture of it drawn once
        (an antialiased outlined circle cost ~10 us to draw, per run per frame)."""
        if not self.marker_px:
            return
        transform = p.transform()
        p.resetTransform()
        stamps = None if ratio is None else self._stamps(ratio)
        if stamps is None:
            p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
            p.setPen(self._outline)
        r = self.marker_px / 2
        for k, line in enumerate(self._lines):
            if line.visible and line.points is not None:
                x, y = line.points[-1].tolist()
                if exposed is not None and not _meets(exposed, x, y, x, y):
                    continue
                centre = transform.map(QtCore.QPointF(x, y))
                if stamps is None:
                    p.setBrush(line.brush)
                    p.drawEllipse(centre, r, r)
                else:
                    half = stamps[k].deviceIndependentSize().width() / 2
                    p.drawPixmap(QtCore.QPointF(round(centre.x() - half), round(centre.y() - half)),
                                 stamps[k])
        p.setTransform(transform)

    def _stamps(self, ratio: float) -> list[QtGui.QPixmap]:
        """Per line, its marker drawn on a pixmap for this device pixel ratio."""
        if self._stamp_key != ratio:
            side = math.ceil(self.marker_px + self._outline.widthF()) + 2
            stamps = []
            for line in self._lines:
                pixmap = QtGui.QPixmap(round(side * ratio), round(side * ratio))
                pixmap.setDevicePixelRatio(ratio)
                pixmap.fill(QtCore.Qt.GlobalColor.transparent)
                painter = QtGui.QPainter(pixmap)
                painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
                painter.setPen(self._outline)
                painter.setBrush(line.brush)
                r = self.marker_px / 2
                painter.drawEllipse(QtCore.QPointF(side / 2, side / 2), r, r)
                painter.end()
                stamps.append(pixmap)
            self._stamp_list, self._stamp_key = stamps, ratio
        return self._stamp_list
