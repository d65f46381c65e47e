"""Graphics items painted from a picture kept in the viewport's pixels.

:class:`DeviceCached` is a hand-written stand-in for Qt's
``QGraphicsItem.DeviceCoordinateCache``, kept because a measurement says so:

* Without any cache, a full repaint of the plot at 1520x950 took 7.6 ms instead of
  4.7-4.9 ms (the ``adam`` and ``beale`` presets: the antialiased contours dominate),
  and during playback the trails' layer repaints the whole plot every frame.
* With Qt's cache, the heat map and contours were drawn 1.6 units off after the
  viewport had been narrower than the item (presentation mode placing its legends
  beside the plot at 1280x720 and taking them back): for a pure move Qt scrolls the
  old picture, and after a partly exposed picture (an item over 1.2x the viewport)
  it kept a stale part.

Here the picture is reused only while everything it was painted from is unchanged:
the item's transform to the viewport, the viewport's size and pixel ratio, the
painter's render hints and the item's content (any ``update()``). Otherwise it is
painted anew, all of it, at the current transform, so what is shown is exactly what
painting directly would show. Painted on anything but its view's viewport (an
exported picture, SVG included) the item paints directly, as vectors.
"""

from __future__ import annotations

from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets


class DeviceCached:
    """Mixin for a pyqtgraph graphics item (before it in the bases): paint from a
    picture in the viewport's pixels once :meth:`keep_picture` is on."""

    _keep_picture = False
    _picture: QtGui.QImage | None = None
    _picture_key: tuple | None = None
    _picture_at = QtCore.QPoint()
    #: pictures painted so far (for tests: a reused picture does not count)
    pictures_painted = 0

    def keep_picture(self, keep: bool = True) -> None:
        """Paint from a kept picture (the window) or directly (the default)."""
        self._keep_picture = bool(keep)
        self._picture = None
        self.update()

    def update(self, *args) -> None:
        """The content changed (pyqtgraph calls this after every change)."""
        self._picture = None
        super().update(*args)  # type: ignore[misc]

    def paint(self, p: QtGui.QPainter, *args: Any) -> None:
        view = self.getViewWidget() if self._keep_picture else None  # type: ignore[attr-defined]
        device = p.device()
        if view is None or device is not view.viewport():
            super().paint(p, *args)  # type: ignore[misc]
            return
        # the viewport's pixels, whatever the painter's origin (a grab of the
        # widget paints with an offset)
        transform = QtWidgets.QGraphicsItem.deviceTransform(self, view.viewportTransform())
        ratio = device.devicePixelRatioF()
        key = (transform, device.width(), device.height(), ratio, int(p.renderHints().value))
        if self._picture is None or key != self._picture_key:
            self._paint_picture(p, args, transform, QtCore.QRect(0, 0, device.width(),
                                                                 device.height()), ratio)
            self._picture_key = key
        painter_transform = p.transform()
        if painter_transform == transform:
            p.resetTransform()
        else:
            p.setTransform(transform.inverted()[0] * painter_transform)
        p.drawImage(self._picture_at, self._picture)
        p.setTransform(painter_transform)

    def _paint_picture(self, p: QtGui.QPainter, args: tuple, transform: QtGui.QTransform,
                       viewport: QtCore.QRect, ratio: float) -> None:
        """Paint the item, where it meets the viewport, onto a new picture."""
        area = transform.mapRect(self.boundingRect()).toAlignedRect() & viewport  # type: ignore[attr-defined]
        if area.isEmpty():
            area = QtCore.QRect(0, 0, 1, 1)
        size = QtCore.QSize(max(1, round(area.width() * ratio)), max(1, round(area.height() * ratio)))
        picture = QtGui.QImage(size, QtGui.QImage.Format.Format_ARGB32_Premultiplied)
        picture.setDevicePixelRatio(ratio)
        picture.fill(QtCore.Qt.GlobalColor.transparent)
        painter = QtGui.QPainter(picture)
        painter.setRenderHints(p.renderHints())
        painter.setTransform(transform * QtGui.QTransform.fromTranslate(-area.x(), -area.y()))
        super().paint(painter, *args)  # type: ignore[misc]
        painter.end()
        self._picture, self._picture_at = picture, area.topLeft()
        self.pictures_painted += 1
