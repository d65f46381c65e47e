"""For tests: the tick labels pyqtgraph draws on a plot's axis (not a test module)."""

from __future__ import annotations


def drawn_tick_labels(widget, side: str = "left", *, in_viewport: bool = True) -> list:
    """A PlotWidget's drawn tick labels on one axis: (text, rect), the rect in the
    widget's viewport (else in the scene), as the axis' draw specs give them."""
    from PySide6 import QtGui

    axis = widget.getPlotItem().getAxis(side)
    image = QtGui.QImage(8, 8, QtGui.QImage.Format.Format_RGB32)
    painter = QtGui.QPainter(image)
    try:
        specs = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    if not in_viewport:
        return [(text, axis.mapRectToScene(rect)) for rect, _flags, text in specs[2]]
    return [(text, widget.mapFromScene(axis.mapRectToScene(rect)).boundingRect())
            for rect, _flags, text in specs[2]]
