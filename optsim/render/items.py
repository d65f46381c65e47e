"""The pyqtgraph pieces the plots are made of: pens, styled axes, the markers of
the minima and the start, one run's items, and the landscape's colour map."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from .compute import RunStyle
from .theme import FONT_PT, LABEL_PT, LINE_PX, MARKER_PX, TEXT_COLOUR


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



def cosmetic_pen(colour, width: float = LINE_PX, style=QtCore.Qt.PenStyle.SolidLine) -> QtGui.QPen:
    pen = pg.mkPen(colour, width=width, style=style)
    pen.setCosmetic(True)
    return pen


def set_antialias(item: pg.PlotDataItem, on: bool) -> None:
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


def fit_axis_width(axis: pg.AxisItem, labels: list[str]) -> None:
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


def style_axes(plot: pg.PlotItem, bottom: str, left: str, scale: float = 1.0) -> None:
    """The bottom and left axes in the theme's fonts, ``scale`` times as large
    (presentation mode), labelled ``bottom`` and ``left``; the others hidden."""
    font = QtGui.QFont()
    font.setPointSizeF(FONT_PT * scale)
    for name, text in (("bottom", bottom), ("left", left)):
        axis = plot.getAxis(name)
        axis.setPen(pg.mkPen(TEXT_COLOUR, width=scale))
        axis.setTextPen(pg.mkPen(TEXT_COLOUR))
        axis.setStyle(tickFont=font, tickTextOffset=round(6 * scale))
        axis.setLabel(text, **{"font-size": f"{LABEL_PT * scale:g}pt", "color": TEXT_COLOUR})
    for side in ("top", "right"):  # (given all four, pyqtgraph shows them all)
        plot.hideAxis(side)
    plot.hideButtons()  # the "A" (auto-range) button would follow diverged runs


def no_si_prefix(axis: pg.AxisItem) -> pg.AxisItem:
    """``axis`` without SI scaling: pyqtgraph scales unitless values under 1, so
    losses of 0.3..0.5 read "300, 400" under "loss (x0.001)"; and on every range
    change it laid out the axis' label anew (~0.7 ms an axis, hidden ones too: 29
    times, 21 ms, while the window was built)."""
    axis.enableAutoSIPrefix(False)
    return axis


def plain_axes() -> dict[str, pg.AxisItem]:
    """A plot's four axes, without SI scaling from the start (the plot's own
    set-up changes their range several times)."""
    return {side: no_si_prefix(pg.AxisItem(side)) for side in ("left", "bottom", "top", "right")}



class PixelSize:
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


class RunItems:
    """The graphics items of one run (created once)."""

    def __init__(self, style: RunStyle, dim: int, scale: float = 1.0) -> None:
        c = QtGui.QColor(style.colour)
        faint = QtGui.QColor(c)
        faint.setAlpha(150)
        self.style = style
        self.trail = pg.PlotDataItem(
            pen=cosmetic_pen(c, LINE_PX * scale), symbol="o",
            symbolSize=(6 if dim == 2 else 9) * scale,
            symbolBrush=c if dim == 2 else faint,
            symbolPen=None if dim == 2 else pg.mkPen("w", width=1), antialias=True,
        )
        # wide antialiased polylines are drawn far faster as separate segments
        self.trail.curve.setSegmentedLineMode("on")
        self.dots = True
        #: a dot per step (True), a plain line (False), or by the number of points
        #: drawn (None): an animation fixes it so that every frame looks alike
        self.fixed_dots: bool | None = None
        if dim == 1:
            self.trail.setPen(None)  # past positions are marked on the curve, not joined
        # 1D: at most 17 px with its pen, so the 20 px legend sample (clipped) shows it whole
        self.marker = pg.ScatterPlotItem(size=(MARKER_PX if dim == 2 else 15) * scale,
                                         brush=pg.mkBrush(c), antialias=True,
                                         pen=pg.mkPen(TEXT_COLOUR, width=2 * scale), symbol="o")
        self.tangent = pg.PlotDataItem(pen=cosmetic_pen(c, LINE_PX * scale,
                                                        QtCore.Qt.PenStyle.DashLine),
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

