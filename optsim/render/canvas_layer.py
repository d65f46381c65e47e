"""The growing canvas shared by the items that draw runs during playback.

A :class:`CanvasLayer` keeps what it has drawn so far as pixels on a canvas the
size of the view (a ``QImage``, kept for one view transform), adds only new
segments to it each frame and repaints only the area they cover; painted on
anything but its widget (an exported picture) it draws vectors instead. Its item
covers the view box's range, so the bounds change only with the view.
Subclasses say what they hold (``_drawn``: things with an ``on_canvas`` count),
put their new segments on the canvas (``_draw_new_segments``), paint what is not
on it (``_paint_live``) and draw vectors (``_paint_vectors``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets


class CanvasLayer(pg.GraphicsObject):
    """A graphics item painting from a canvas it grows (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        # paint() is told the area to repaint (option.exposedRect)
        self.setFlag(QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)
        self._rect = QtCore.QRectF()
        #: the pixels drawn so far, and what they were drawn for
        self._canvas: QtGui.QImage | None = None
        self._canvas_key: tuple | None = None
        #: device pixels -> item, as of the canvas (its key holds item -> device)
        self._from_device: QtGui.QTransform | None = None
        #: screen pixels around a point that its drawing may cover, and that margin
        #: in the item's units as of the canvas (None: repaint it all)
        self._margin_px = 2.0
        self._pad: tuple[float, float] | None = None

    # -- for subclasses ------------------------------------------------------------
    def _drawn(self) -> list[Any]:
        """What the canvas draws: objects with an ``on_canvas`` count."""
        raise NotImplementedError

    def _draw_new_segments(self) -> None:
        raise NotImplementedError

    def _margin(self) -> float:
        """Screen pixels around a point that its drawing may cover."""
        return self._margin_px

    def _paint_live(self, p: QtGui.QPainter, option: Any, ratio: float) -> None:
        """Paint, over the canvas, what changes every frame (markers, ...)."""

    def _paint_vectors(self, p: QtGui.QPainter) -> None:
        raise NotImplementedError

    # -- repainting ----------------------------------------------------------------
    def _redraw_all(self) -> None:
        """Forget the canvas: the next paint draws everything on it anew."""
        self._canvas_key = None
        for thing in self._drawn():
            thing.on_canvas = 0
        self.update()

    def _repaint_around(self, pts: np.ndarray, also: np.ndarray | None = None) -> None:
        """Repaint the screen area of these points' drawing (and of the points
        ``also``), with the margin their lines and markers take."""
        if self._pad is None:
            self.update()
            return
        if also is not None and len(also):
            pts = np.concatenate([pts, also])
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
            self.update()
            return
        (x0, y0), (x1, y1) = lo.tolist(), hi.tolist()
        mx, my = self._pad
        self.update(QtCore.QRectF(x0 - mx, y0 - my, x1 - x0 + 2 * mx, y1 - y0 + 2 * my))

    # -- the view ----------------------------------------------------------------
    def viewRangeChanged(self) -> None:  # noqa: N802 (pyqtgraph hook)
        self._fit_rect()

    def viewTransformChanged(self) -> None:  # noqa: N802 (pyqtgraph hook)
        """Zoomed, panned or resized (the canvas, kept for one transform, is drawn
        anew at the next paint)."""
        super().viewTransformChanged()
        self._fit_rect()

    def _fit_rect(self) -> None:
        """The item covers its view box's range (with room for markers on its
        edge): what lies outside is clipped by the view box anyway, and a rectangle
        that changes only with the view spares the full repaint that growing it
        takes. (Qt repaints no more of an item than its bounds.)"""
        vb = self.getViewBox()
        if vb is None:
            return
        rect = QtCore.QRectF(vb.viewRect())  # the view's range, in this item's coordinates
        dx, dy = rect.width() * 0.05, rect.height() * 0.05
        rect.adjust(-dx, -dy, dx, dy)
        if rect != self._rect:
            self.prepareGeometryChange()
            self._rect = rect

    # -- QGraphicsItem ----------------------------------------------------------------
    def boundingRect(self) -> QtCore.QRectF:
        if self._rect.isEmpty():
            self._fit_rect()
        return QtCore.QRectF(self._rect)

    def paint(self, p: QtGui.QPainter, *args) -> None:
        view = self.getViewWidget()
        device = p.device()
        if view is None or device is not view.viewport():
            self._paint_vectors(p)  # an exported picture: no pixels of another size
            return
        # the canvas is in the viewport's pixels, whatever the painter's origin (a
        # grab of the widget paints it with an offset)
        transform = QtWidgets.QGraphicsObject.deviceTransform(self, view.viewportTransform())
        ratio = device.devicePixelRatioF()
        key = (transform, device.width(), device.height(), ratio)
        if self._canvas is None or key != self._canvas_key:
            self._new_canvas(key)
        self._draw_new_segments()
        painter_transform = p.transform()
        if painter_transform == transform:
            p.resetTransform()
        else:
            p.setTransform(self._from_device * painter_transform)
        p.drawImage(QtCore.QPointF(0, 0), self._canvas)
        p.setTransform(painter_transform)
        self._paint_live(p, args[0] if args else None, ratio)

    def _new_canvas(self, key: tuple) -> None:
        transform, width, height, ratio = key
        size = QtCore.QSize(max(1, round(width * ratio)), max(1, round(height * ratio)))
        if self._canvas is None or self._canvas.size() != size:
            self._canvas = QtGui.QImage(size, QtGui.QImage.Format.Format_ARGB32_Premultiplied)
        self._canvas.setDevicePixelRatio(ratio)
        self._canvas.fill(QtCore.Qt.GlobalColor.transparent)
        self._canvas_key = key
        self._from_device = transform.inverted()[0]
        # the margin in this item's units (the view neither turns nor shears)
        sx, sy = abs(transform.m11()), abs(transform.m22())
        margin = self._margin()
        self._pad = (margin / sx, margin / sy) \
            if sx > 0 and sy > 0 and transform.m12() == 0 and transform.m21() == 0 else None
        for thing in self._drawn():
            thing.on_canvas = 0
