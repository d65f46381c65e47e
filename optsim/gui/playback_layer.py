"""One graphics item that draws every run's line (and current point) during playback.

While playback runs, a frame moves every run. Drawn as one ``PlotDataItem`` per
line (and one ``ScatterPlotItem`` per marker), each frame paid pyqtgraph's
per-item Python work eight times over: ``setData`` (bounds, display data set,
path caches) and ``paint`` (about 0.3 ms each, with 8 runs and 2 plots about
two thirds of a frame). This item keeps every run's points as a ``QPolygonF``
filled straight from the NumPy array and paints them all in one ``paint`` call.

It only stands in while playing: paused, the plots show their full items again
(antialiased lines, a dot per step, pickable legend entries), drawn from the
same points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui


@dataclass
class _Line:
    pen: QtGui.QPen
    brush: QtGui.QBrush
    visible: bool = True
    points: np.ndarray | None = None  # (K, 2), what the polygon holds
    polygon: QtGui.QPolygonF | None = None
    box: tuple[float, float, float, float] | None = None  # x0, y0, x1, y1 of points


class PlaybackLayer(pg.GraphicsObject):
    """Polylines, one per run, and optionally a round marker at each line's last
    point (``marker_px`` across, in screen pixels), painted in one call.

    ``set_line(i, points)`` replaces run ``i``'s points ((K, 2) in the plot's
    coordinates, already finite and clipped by the caller); ``points()`` gives
    them back.
    """

    def __init__(self, marker_px: float = 0.0, outline: str = "#202020") -> None:
        super().__init__()
        self._lines: list[_Line] = []
        self._rect = QtCore.QRectF()
        self._union: tuple[float, float, float, float] | None = None
        self.marker_px = float(marker_px)
        self._outline = pg.mkPen(outline, width=2)
        self._outline.setCosmetic(True)

    # -- data -------------------------------------------------------------------
    def set_runs(self, pens: list[QtGui.QPen], colours: list[str]) -> None:
        """One line per run, in these pens (markers filled with ``colours``)."""
        self._lines = [_Line(pen=QtGui.QPen(pen), brush=pg.mkBrush(colour))
                       for pen, colour in zip(pens, colours, strict=True)]
        self._update_rect()

    def set_line(self, i: int, points: np.ndarray | None) -> None:
        """Run ``i``'s points, shape (K, 2) (None or K = 0: nothing drawn)."""
        line = self._lines[i]
        if points is None or len(points) == 0:
            line.points = line.polygon = line.box = None
        else:
            pts = np.asarray(points, dtype=np.float64)
            polygon = line.polygon
            if polygon is None or polygon.size() != len(pts):
                polygon = pg.functions.create_qpolygonf(len(pts))
            pg.functions.ndarray_from_qpolygonf(polygon)[:] = pts
            line.points, line.polygon = pts, polygon
            box = polygon.boundingRect()  # in C++: a NumPy min/max over axis 0 took ~50 µs
            line.box = (box.left(), box.top(), box.right(), box.bottom())
            u = self._union
            if u is not None and u[0] <= line.box[0] and u[1] <= line.box[1] \
                    and line.box[2] <= u[2] and line.box[3] <= u[3]:
                self.update()  # inside the bounds already (most frames): no union anew
                return
        self._update_rect()

    def set_visible(self, i: int, visible: bool) -> None:
        self._lines[i].visible = bool(visible)
        self.update()

    def points(self, i: int) -> np.ndarray:
        """Run ``i``'s points as last set ((0, 2) when none)."""
        pts = self._lines[i].points
        return np.empty((0, 2)) if pts is None else pts.copy()

    def clear(self) -> None:
        for line in self._lines:
            line.points = line.polygon = line.box = None
        self._update_rect()

    def _update_rect(self, force: bool = False) -> None:
        boxes = [line.box for line in self._lines if line.box is not None]
        union = (min(b[0] for b in boxes), min(b[1] for b in boxes),
                 max(b[2] for b in boxes), max(b[3] for b in boxes)) if boxes else None
        if union != self._union or force:
            self._union = union
            rect = QtCore.QRectF()
            if union is not None:
                x0, y0, x1, y1 = union
                rect = QtCore.QRectF(x0, y0, x1 - x0, y1 - y0)
                if self.marker_px:  # room for the markers, which are sized in pixels
                    px = self.pixelVectors()  # (pyqtgraph: ~50 µs; only when the box moves)
                    if px[0] is not None:
                        dx = abs(px[0].x()) + abs(px[1].x())
                        dy = abs(px[0].y()) + abs(px[1].y())
                        rect.adjust(-dx * self.marker_px, -dy * self.marker_px,
                                    dx * self.marker_px, dy * self.marker_px)
            if rect != self._rect:
                self.prepareGeometryChange()
                self._rect = rect
        self.update()

    def viewTransformChanged(self) -> None:
        """Zoomed or resized: the markers' pixel room is another data size now."""
        self._update_rect(force=True)

    # -- QGraphicsItem ----------------------------------------------------------------
    def boundingRect(self) -> QtCore.QRectF:
        return QtCore.QRectF(self._rect)

    def paint(self, p: QtGui.QPainter, *args) -> None:
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, False)
        p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
        for line in self._lines:
            if line.visible and line.polygon is not None and line.polygon.size() > 1:
                p.setPen(line.pen)
                p.drawPolyline(line.polygon)
        if not self.marker_px:
            return
        transform = p.transform()
        p.resetTransform()
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
        p.setPen(self._outline)
        r = self.marker_px / 2
        for line in self._lines:
            if line.visible and line.points is not None:
                x, y = line.points[-1]
                p.setBrush(line.brush)
                p.drawEllipse(transform.map(QtCore.QPointF(x, y)), r, r)
        p.setTransform(transform)
