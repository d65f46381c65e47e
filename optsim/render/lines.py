"""Straight line items whose bounds are padded in screen pixels, for lines that
move on every frame of playback: an arrow's shaft and the loss history's step line.

Qt's own line item draws and bounds itself in C++ (a pyqtgraph curve's setData,
bounds and paint cost ~0.25 ms a line a frame), but takes a cosmetic pen's width
for data units: on a plot 3 units wide a 4 px pen made bounds hundreds of pixels
wide, and every frame repainted them. These pad their bounds by the data size of
a screen pixel instead.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets


class Shaft(QtWidgets.QGraphicsLineItem):
    """A line from one point to another (an arrow's shaft), antialiased, with
    PlotCurveItem's ``setData``/``getData`` for its two points. Its bounds are the
    line's, padded by the pen's half width in ``pixel`` (the data size of a screen
    pixel, as of ``setData`` or ``set_pixel``)."""

    def __init__(self, pen: QtGui.QPen) -> None:
        super().__init__()
        self.setPen(pen)
        self._data: tuple[float, float, float, float] | None = None  # x0, y0, x1, y1
        self._pixel = (0.0, 0.0)
        self._rect = QtCore.QRectF()

    def setData(self, xs, ys, pixel: tuple[float, float] | None = None) -> None:  # noqa: N802
        if pixel is not None:
            self._pixel = pixel
        if len(xs) != 2:
            self._data = None
            self.setLine(QtCore.QLineF())
        else:
            self._data = (float(xs[0]), float(ys[0]), float(xs[1]), float(ys[1]))
            self.setLine(*self._data)
        self._fit()

    def set_pixel(self, pixel: tuple[float, float]) -> None:
        """The view changed: pad the bounds for its pixel size."""
        if pixel != self._pixel:
            self._pixel = pixel
            self._fit()

    def _fit(self) -> None:
        line = self.line()
        rect = QtCore.QRectF(line.p1(), line.p2()).normalized()
        pad = self.pen().widthF() / 2 + 2  # pixels, with room for the round caps
        rect.adjust(-pad * self._pixel[0], -pad * self._pixel[1], pad * self._pixel[0], pad * self._pixel[1])
        if rect != self._rect:
            self.prepareGeometryChange()
            self._rect = rect

    def boundingRect(self) -> QtCore.QRectF:  # noqa: N802 (Qt override)
        return self._rect

    def shape(self) -> QtGui.QPainterPath:
        path = QtGui.QPainterPath()
        path.addRect(self._rect)
        return path

    def getData(self) -> tuple[np.ndarray | None, np.ndarray | None]:  # noqa: N802
        if self._data is None:
            return None, None
        x0, y0, x1, y1 = self._data
        return np.array([x0, x1]), np.array([y0, y1])

    def paint(self, p: QtGui.QPainter, *args) -> None:
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
        super().paint(p, *args)


#: the linear part (m11, m12, m21, m22) of a view's map from view units to screen pixels
ScreenScale = tuple[float, float, float, float]


def screen_scale(plot: pg.PlotItem) -> ScreenScale | None:
    """How ``plot``'s view maps view units to screen pixels (a QTransform's linear
    part: a vector (dx, dy) is (m11 dx + m21 dy, m12 dx + m22 dy) pixels on screen);
    None while the plot is in no view. Worked out once for every arrow of a frame."""
    vb = plot.getViewBox()
    view = vb.getViewWidget()
    if view is None:
        return None
    t = QtWidgets.QGraphicsItem.deviceTransform(vb.childGroup, view.viewportTransform())
    return t.m11(), t.m12(), t.m21(), t.m22()


def pixel_of(screen: ScreenScale | None) -> tuple[float, float]:
    """The size of a screen pixel in view units (x, y), as ViewBox.viewPixelSize
    gives it for a view that is not turned ((0, 0) when unknown)."""
    if screen is None or screen[0] == 0 or screen[3] == 0:
        return 0.0, 0.0
    return abs(1.0 / screen[0]), abs(1.0 / screen[3])


class StepLine(Shaft):
    """A vertical line at x = ``value()`` across the whole height of ``plot``'s view
    (what pyqtgraph's InfiniteLine shows, for a tenth of its cost a frame: its
    setValue, bounds and paint took ~0.4 ms each frame of playback)."""

    def __init__(self, pen: QtGui.QPen, plot: pg.PlotItem) -> None:
        super().__init__(pen)
        self._x = 0.0
        self._plot = plot
        vb = plot.getViewBox()
        vb.sigTransformChanged.connect(self._follow_view)
        vb.sigResized.connect(self._follow_view)

    def value(self) -> float:
        return self._x

    def setValue(self, x: float) -> None:  # noqa: N802 (as InfiniteLine's)
        self._x = float(x)
        self._span()

    def _follow_view(self, *_args) -> None:
        self._pixel = pixel_of(screen_scale(self._plot))
        self._span()

    def _span(self) -> None:
        (_, _), (y0, y1) = self._plot.getViewBox().viewRange()
        self.setData([self._x, self._x], [y0, y1])
