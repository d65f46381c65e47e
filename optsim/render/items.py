"""The pyqtgraph pieces the plots are made of: pens, styled axes, the markers of
the minima and the start, one run's items, and the landscape's colour map."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from .compute import (
    LEGEND_MARGIN,
    PLAIN_RANGE,
    RunStyle,
    best_spot,
    densify,
    log_tick_strings,
    plain_format,
    readable_spacing,
    spaced_log_labels,
    tick_strings,
)
from .device_cache import DeviceCached
from .theme import FONT_PT, LABEL_PT, LINE_PX, MARKER_PX, TEXT_COLOUR

#: how far the landscape's colours are lightened towards white (0: pyqtgraph's
#: viridis as it is); the runs keep a dark casing, so they read on every colour
COLORMAP_LIGHTEN = 0.22
#: the dark casing under each 2D trail: its colour and how much wider than the line.
#: Opaque, with square caps: Qt strokes a translucent or round-capped wide line as
#: one path over all its crossings, and a zig-zag (SGD in a valley, schedulefree's
#: preset at 100 steps) took 20-32 ms a repaint against 0.6 ms (the grey is what
#: the translucent 32 grey at alpha 200 gave over the landscape's middle colours)
CASING_COLOUR = (64, 64, 64)
CASING_EXTRA_PX = 2.5


def casing_pen(scale: float = 1.0) -> QtGui.QPen:
    """The pen of a trail's dark casing (see CASING_COLOUR)."""
    pen = cosmetic_pen(CASING_COLOUR, (LINE_PX + CASING_EXTRA_PX) * scale)
    pen.setCapStyle(QtCore.Qt.PenCapStyle.SquareCap)
    return pen


def landscape_colormap() -> pg.ColorMap:
    """Viridis from pyqtgraph's colour map library (perceptually uniform, readable
    in grey and with colour-blindness), lightened a little so the contours show on
    its dark end. Runs in Okabe-Ito colours stay readable over all of it by their
    dark casing (no single map contrasts with every run colour)."""
    base = pg.colormap.get("viridis")
    pos = np.linspace(0.0, 1.0, 17)
    rgba = base.map(pos, mode="float")
    light = rgba.copy()
    light[:, :3] = (1 - COLORMAP_LIGHTEN) * rgba[:, :3] + COLORMAP_LIGHTEN
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
    # a tick at the plot's top edge has its label centred on that edge: the upper
    # half lay outside the plot's widget and was cut off (window and pictures)
    plot.top_label_room = top_label_room(font)
    left, _top, right, bottom = plot.layout.getContentsMargins()
    plot.layout.setContentsMargins(left, plot.top_label_room, right, bottom)
    # and one at its right edge has half its label right of the plot
    set_right_label_room(plot, True)
    plot.hideButtons()  # the "A" (auto-range) button would follow diverged runs


#: tick labels along a vertical axis keep this many lines of text apart (centre to centre)
LABEL_GAP = 1.1
#: no two tick labels of an axis come closer than this (pixels): a label that would
#: is left out
TICK_LABEL_GAP_PX = 4.0


def top_label_room(font: QtGui.QFont) -> int:
    """Pixels above a plot that keep a tick label centred on its top edge whole."""
    return int(math.ceil(QtGui.QFontMetricsF(font).height() / 2)) + 1


def right_label_room(font: QtGui.QFont) -> int:
    """Pixels right of a plot that keep a tick label of up to four digits centred
    on its right edge whole."""
    return int(math.ceil(QtGui.QFontMetricsF(font).horizontalAdvance("0000") / 2)) + 1


def set_right_label_room(plot: pg.PlotItem, on: bool) -> None:
    """Give ``plot`` the room right of it for half a tick label of four digits (a
    wider one is left out, never drawn cut), or none (``on`` False: a colour bar
    right of the view already leaves it)."""
    font = plot.getAxis("bottom").style.get("tickFont") or QtGui.QFont()
    room = right_label_room(font) if on else 0
    if getattr(plot, "right_label_room", None) == room:
        return
    plot.right_label_room = room
    left, top, _right, bottom = plot.layout.getContentsMargins()
    plot.layout.setContentsMargins(left, top, room, bottom)


def no_si_prefix(axis: pg.AxisItem) -> pg.AxisItem:
    """``axis`` without SI scaling: pyqtgraph scales unitless values under 1, so
    losses of 0.3..0.5 read "300, 400" under "loss (x0.001)"; and on every range
    change it laid out the axis' label anew (~0.7 ms an axis, hidden ones too: 29
    times, 21 ms, while the window was built)."""
    axis.enableAutoSIPrefix(False)
    return axis


class FormattedAxis(pg.AxisItem):
    """An axis whose tick labels share one format (:func:`tick_strings`: plain
    decimals, or a×10ⁿ for all of them, decided once for the whole shown range), and,
    with ``integer=True``, ticks at whole numbers only (a step axis)."""

    def __init__(self, orientation: str, integer: bool = False, **kwargs) -> None:
        super().__init__(orientation, **kwargs)
        self.integer = integer
        #: on a log axis, the labelled major ticks of the drawing under way
        self._major_exponents: list[float] = []

    def _updateLabel(self) -> None:  # noqa: N802 (pyqtgraph override)
        """The name's new text, placed anew (see :func:`label_placed_anew`)."""
        super()._updateLabel()
        self.resizeEvent()

    def _plain(self) -> bool:
        lo, hi = (float(v) for v in self.range)
        if self.logMode:
            return plain_format([10.0 ** lo, 10.0 ** hi])
        if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
            return True
        return max(abs(lo), abs(hi)) < PLAIN_RANGE[1] and (hi - lo) >= 10 * PLAIN_RANGE[0]

    def _label_room(self, size: float, span: float) -> tuple[float, float]:
        """(pixels per unit, pixels a label needs) along a vertical axis; (0, 0)
        along a horizontal one (see :meth:`_label_width`)."""
        if self.orientation not in ("left", "right") or span <= 0 or size <= 0:
            return 0.0, 0.0
        font = self.style.get("tickFont") or self.font()
        return size / span, QtGui.QFontMetricsF(font).height() * LABEL_GAP

    def _label_width(self, lo: float, hi: float, spacing: float) -> float:
        """Pixels a tick label needs along a horizontal axis, ticks ``spacing``
        apart over ``lo``..``hi`` (its widest label and a gap; 0 on a log axis)."""
        if self.orientation not in ("top", "bottom") or self.logMode or spacing <= 0 \
                or not (math.isfinite(lo) and math.isfinite(hi)):
            return 0.0
        first = math.ceil(lo / spacing)
        count = min(int(math.floor(hi / spacing)) - first + 1, 50)
        values = [(first + k) * spacing for k in range(max(count, 0))] or [lo, hi]
        metrics = QtGui.QFontMetricsF(self.style.get("tickFont") or self.font())
        box = QtCore.QRectF(0, 0, 100, 100)  # (measured as pyqtgraph places them)
        centre = QtCore.Qt.AlignmentFlag.AlignCenter
        widest = max(metrics.boundingRect(box, centre, t).width()
                     for t in self.tickStrings(values, 1.0, spacing))
        return widest + TICK_LABEL_GAP_PX

    def tickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph override)
        vals = [v * scale for v in values]
        if self.logMode:
            strings = log_tick_strings(vals, plain=self._plain())
            if spacing is not None and spacing >= 1:  # the decades' level, drawn first
                self._major_exponents = vals
            else:  # the minor ticks' labels: kept apart, and from the decades'
                lo, hi = (float(v) for v in self.range)
                px, need = self._label_room(self.geometry().height(), hi - lo)
                if need:
                    keep = spaced_log_labels(vals, px, need, self._major_exponents)
                    strings = [t if k else "" for t, k in zip(strings, keep, strict=True)]
                self._major_exponents = []
            return strings
        return tick_strings(vals, spacing * scale, plain=self._plain())

    def boundingRect(self) -> QtCore.QRectF:  # noqa: N802 (pyqtgraph override)
        """pyqtgraph's rectangle, which also decides which tick labels are drawn (a
        label not inside it is left out), a vertical axis' grown by half a line of
        text at both ends: a tick on the plot's top or bottom edge keeps its label.
        (With a grid, pyqtgraph's rectangle is the axis and the view, without its
        usual 15 px of room: a log axis' decade on the bottom edge lost its label.)"""
        rect = super().boundingRect()
        font = self.style.get("tickFont") or self.font()
        if self.orientation in ("left", "right"):
            half = math.ceil(QtGui.QFontMetricsF(font).height() / 2) + 1
            rect = rect.adjusted(0, -half, 0, half)
        else:  # a horizontal axis' end labels stick out sideways: see generateDrawSpecs
            half = math.ceil(QtGui.QFontMetricsF(font).horizontalAdvance("−00000.00") / 2)
            rect = rect.adjusted(-half, 0, half, 0)
        return rect

    def generateDrawSpecs(self, p):  # noqa: N802 (pyqtgraph override)
        """pyqtgraph's drawing plan, less every tick label that would touch one kept
        before it (pyqtgraph always draws its first level whole: in a narrow dock the
        Sweep map's empty axis printed "−0.20.0"; explicit ticks are not spaced)."""
        specs = super().generateDrawSpecs(p)
        if specs is None:
            return None
        texts = apart(self.orientation, specs[2])
        if self.orientation in ("top", "bottom"):
            texts = self._ends_kept(p, texts)
        return specs[0], specs[1], texts

    def _ends_kept(self, p, texts: list) -> list:
        """A horizontal axis' labels less those at its ends that do not fit.

        pyqtgraph left out a label sticking out of the axis' own rectangle: a tick
        right at the range's end (rosenbrock's x = ±2, the history's last hundred)
        had none, silently. The rectangle is grown (:meth:`boundingRect`); here a
        label is kept when it lies inside the plot's widget (else it would be drawn
        cut) and, at the corner by the vertical axis, clear of that axis' labels."""
        plot = self.parentItem()
        if plot is None or not texts:
            return texts
        room = self.mapRectFromItem(plot, plot.boundingRect())
        texts = [t for t in texts if room.contains(t[0])]
        if not hasattr(plot, "getAxis"):
            return texts
        own = self.mapRectFromParent(self.geometry())
        gap = TICK_LABEL_GAP_PX / 2
        others = []
        for side, sign in (("left", -1), ("right", 1)):
            axis = plot.getAxis(side)
            if axis is None or not axis.isVisible() or not axis.style["showValues"]:
                continue
            # (its labels keep this far off the corner: only a label reaching further
            # in can meet them, and only then are they laid out, ~1 ms)
            keep_off = axis.style["tickTextOffset"][0] + max(0, axis.style["tickLength"]) - gap
            edge = own.left() - keep_off if sign < 0 else own.right() + keep_off
            if not any((t[0].left() < edge) if sign < 0 else (t[0].right() > edge) for t in texts):
                continue
            found = axis.generateDrawSpecs(p)
            if found is not None:
                others += [self.mapRectFromItem(axis, r) for r, _flags, _text in found[2]]
        clash = [t for t in texts
                 if any(t[0].adjusted(-gap, -gap, gap, gap).intersects(o) for o in others)]
        return [t for t in texts if t not in clash]

    def tickSpacing(self, minVal, maxVal, size):  # noqa: N802 (pyqtgraph override)
        levels = super().tickSpacing(minVal, maxVal, size)
        px, need = self._label_room(size, maxVal - minVal)
        if levels and not need and size > 0 and maxVal > minVal:
            # along a horizontal axis: the major ticks' labels apart by their width
            px = size / (maxVal - minVal)
            need = self._label_width(minVal, maxVal, levels[0][0])
        if need and levels:
            # the major ticks' labels a line of text apart, however short the axis
            # (pyqtgraph labels the finer levels only where they have room)
            spacing = readable_spacing(levels[0][0], px, need)
            if spacing != levels[0][0]:
                levels = [(spacing, 0.0)]
        if not self.integer:
            return levels
        whole = [(s, o) for s, o in levels if s >= 1 and float(s).is_integer()]
        return whole or [(1.0, 0.0)]


def apart(orientation: str, text_specs: list) -> list:
    """pyqtgraph's tick label specs (rect, flags, text), less every label that comes
    within TICK_LABEL_GAP_PX of one kept before it (in pyqtgraph's order: the major
    level first)."""
    along_x = orientation in ("top", "bottom")
    gap = TICK_LABEL_GAP_PX / 2
    kept: list[QtCore.QRectF] = []
    out = []
    for spec in text_specs:
        rect = spec[0]
        room = rect.adjusted(-gap, 0, gap, 0) if along_x else rect.adjusted(0, -gap, 0, gap)
        if any(room.intersects(k) for k in kept):
            continue
        kept.append(room)
        out.append(spec)
    return out


def labels_apart(axis: pg.AxisItem) -> pg.AxisItem:
    """An axis made elsewhere (a colour bar's) that leaves out tick labels that
    would touch (see :func:`apart`)."""
    draw_specs = axis.generateDrawSpecs

    def specs(p):
        found = draw_specs(p)
        return None if found is None else (found[0], found[1], apart(axis.orientation, found[2]))

    axis.generateDrawSpecs = specs
    return axis


def label_placed_anew(axis: pg.AxisItem) -> pg.AxisItem:
    """An axis made elsewhere (a colour bar's) whose name is placed anew when its
    text changes, as :class:`FormattedAxis`' is: pyqtgraph places it only when the
    axis is resized, so a longer name stayed where the shorter one had been centred
    (the history's "loss (log)" reached 31 px above its plot in presentation mode at
    1280x720; the Sweep map's bar name began where a longer one had)."""
    update = axis._updateLabel

    def placed() -> None:
        update()
        axis.resizeEvent()

    axis._updateLabel = placed
    return axis


def one_format(axis: pg.AxisItem) -> pg.AxisItem:
    """Give an axis made elsewhere (a colour bar's) :class:`FormattedAxis`'s labels."""
    axis.integer = False
    axis._major_exponents = []
    for name in ("_plain", "_label_room", "tickStrings"):
        setattr(axis, name, getattr(FormattedAxis, name).__get__(axis))
    return axis


def plain_axes(integer_bottom: bool = False) -> dict[str, pg.AxisItem]:
    """A plot's four axes, without SI scaling from the start (the plot's own
    set-up changes their range several times), each labelled in one format
    (``integer_bottom``: the bottom axis at whole numbers only)."""
    return {side: no_si_prefix(FormattedAxis(side, integer=integer_bottom and side == "bottom"))
            for side in ("left", "bottom", "top", "right")}



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


class WholeRepaint:
    """A plot repainted whole when its layout moves a part of it (fonts of
    presentation mode, a legend band, the colour bar's height): a part painting a
    little beyond its bounds (the colour bar's frame) left a piece of itself behind
    where it had been, seen under the colour bar in a real window. Layout changes
    are rare; frames repaint only what changed."""

    def _repaint_whole_on_relayout(self) -> None:
        plot = self.getPlotItem()
        for axis in plot.axes.values():
            axis["item"].geometryChanged.connect(self._repaint_after_relayout)
        plot.getViewBox().sigResized.connect(self._repaint_after_relayout)

    def _repaint_after_relayout(self, *_args) -> None:
        """Repaint the whole plot (see the class)."""
        self.viewport().update()


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


class LandscapeImage(DeviceCached, pg.ImageItem):
    """The landscape's heat map: it changes only with the function or the view, so
    the window paints it from a kept picture (:meth:`keep_picture`)."""


class LandscapeContours(DeviceCached, pg.PlotCurveItem):
    """The landscape's contour lines, kept as a picture like :class:`LandscapeImage`."""


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
        #: 2D: a dark line under the trail, so it reads on light and dark colours alike
        self.casing = pg.PlotCurveItem(pen=casing_pen(scale), antialias=True) \
            if dim == 2 else None
        if self.casing is not None:
            self.casing.setSegmentedLineMode("on")
            self.casing.setZValue(19)
        self.marker.setZValue(30)
        self.trail.setZValue(20)

    def items(self) -> list[pg.GraphicsObject]:
        return [i for i in (self.casing, self.trail, self.tangent, self.marker) if i is not None]

    def set_visible(self, visible: bool) -> None:
        for item in self.items():
            item.setVisible(visible)

    def set_stood_in(self, stood_in: bool) -> None:
        """Leave the trail and marker unpainted while a PlaybackLayer draws them
        (transparent rather than hidden: the legend shows a hidden item as hidden)."""
        for item in (self.trail, self.marker, self.casing):
            if item is not None:
                item.setOpacity(0.0 if stood_in else 1.0)



#: legends keep this many pixels from every drawn point (a marker's radius and a bit)
LEGEND_PAD = 12.0

#: legends go outside the plot area only if it keeps this share of its width or height
OUTSIDE_KEEPS = 0.6
#: ... or, beside a plot drawn to one scale (x and y locked), if the shown range keeps
#: this share of its scale: a wide plot's sides show nothing the range asks for
#: (presentation mode at 1280x720), so a band there costs the picture little
OUTSIDE_KEEPS_SCALE = 0.85

#: what a source gives the placer: (points (K, 2) in view units, joined as a line?)
Drawn = tuple[np.ndarray, bool]


class LegendPlacer:
    """Puts a plot's legend and keys (``add_box``, placed in that order) where they
    cover nothing drawn: no trail, start, marker, minimum or arrow (``add_source``:
    callables giving what is drawn). Each goes to the free place nearest a corner of
    the plot, measured in screen pixels (:func:`optsim.render.compute.best_spot`);
    when no place is free, where it covers least (``clear`` then is False).

    One per PlotItem (:meth:`of`): the window's plot and its step overlay share it.
    Placing costs a few milliseconds; it is done when something changes (a step, a
    resize, a new key), not per frame of playback, where :meth:`check` only tests
    the moving points against the placed boxes."""

    def __init__(self, plot: pg.PlotItem) -> None:
        self.plot = plot
        self.vb = plot.getViewBox()
        self.boxes: list[QtWidgets.QGraphicsItem] = []
        self.sources: list = []
        #: the placed boxes, (x, y, w, h) in the view box's pixels
        self.rects: list[tuple[float, float, float, float]] = []
        #: whether every box found a place covering nothing, at the last placing
        self.clear = True
        self._covered: list[int] = []
        self._placing = False
        #: when nowhere in the view is free, the legends may go above the plot area
        self.allow_outside = True
        #: whether they are there now
        self.outside = False
        #: when they fit neither in nor beside the plot (a small plot): cover data
        #: (True), or leave out those that would (False: the runs panel names the
        #: runs in the window; the legend is left out before the arrows' key)
        self.allow_cover = False
        #: the placed boxes in view units (see _boxes_in_view), None: to be worked out
        self._view_boxes: list | None = None
        #: the items ``rects`` belong to, in order
        self.boxes_placed: list = []
        #: while True (a window not shown yet, whose plot changes size at least once
        #: more before its first paint), placing is only noted as due: see :meth:`hold`
        self.held = False
        self._due = False
        #: how many times the boxes were placed (a placing asked for before the
        #: last one need not be done again: see LossPlot.request_placing)
        self.placings = 0
        #: called after every placing (the window's first-run note keeps off the boxes)
        self.listeners: list = []
        self.vb.sigResized.connect(self.place)
        self.vb.sigResized.connect(self._forget_boxes)
        self.vb.sigTransformChanged.connect(self._forget_boxes)

    @classmethod
    def of(cls, plot: pg.PlotItem) -> LegendPlacer:
        """``plot``'s placer (made on first use)."""
        placer = getattr(plot, "_optsim_placer", None)
        if placer is None:
            placer = cls(plot)
            plot._optsim_placer = placer
        return placer

    def add_box(self, item: QtWidgets.QGraphicsItem) -> None:
        if item not in self.boxes:
            self.boxes.append(item)

    def add_source(self, source) -> None:
        """``source()`` gives a list of :data:`Drawn` in view units."""
        self.sources.append(source)

    def _frame(self) -> tuple[float, float, float, float, float, float] | None:
        w, h = float(self.vb.width()), float(self.vb.height())
        (x0, x1), (y0, y1) = self.vb.viewRange()
        if w <= 1 or h <= 1 or x1 <= x0 or y1 <= y0:
            return None
        return w, h, x0, x1, y0, y1

    @staticmethod
    def _to_px(pts: np.ndarray, frame) -> np.ndarray:
        w, h, x0, x1, y0, y1 = frame
        out = np.empty((len(pts), 2))
        out[:, 0] = (pts[:, 0] - x0) * (w / (x1 - x0))
        out[:, 1] = (y1 - pts[:, 1]) * (h / (y1 - y0))
        return out

    def drawn_pixels(self) -> np.ndarray:
        """Every drawn point the boxes must keep off, in the view box's pixels (lines
        sampled every few pixels, so that no segment can cross a free box)."""
        frame = self._frame()
        if frame is None:
            return np.empty((0, 2))
        w, h = frame[0], frame[1]
        lo, hi = (-2 * LEGEND_PAD, -2 * LEGEND_PAD), (w + 2 * LEGEND_PAD, h + 2 * LEGEND_PAD)
        out = [np.empty((0, 2))]
        for source in self.sources:
            for pts, joined in source():
                pts = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
                if not len(pts):
                    continue
                px = self._to_px(pts, frame)
                out.append(densify(px, 3.0, lo, hi) if joined and len(px) > 1 else px)
        return np.concatenate(out)

    @staticmethod
    def _size(item) -> tuple[float, float]:
        """The room ``item`` takes: its size, plus the room it asks to keep for
        growing (``item.reserve``, pixels: a key whose rows come and go)."""
        rect = item.mapRectToParent(item.boundingRect())
        extra = getattr(item, "reserve", (0.0, 0.0))
        return rect.width() + extra[0], rect.height() + extra[1]

    def hold(self) -> None:
        """Place nothing until :meth:`release` (each placing before it would be
        undone by the next: a window being built places its legends several times
        before its plot has its size, ~25 ms of the start-up)."""
        self.held = True

    def release(self, place: bool = True) -> bool:
        """Stop holding; returns whether anything asked for a placing meanwhile, and
        then places now (``place``; else the caller sees to it)."""
        self.held = False
        due, self._due = self._due, False
        if due and place:
            self.place()
        return due

    def place(self, *_args) -> bool:
        """Place every visible box; returns whether all are clear of the data (while
        held: as at the last placing)."""
        if self.held:
            self._due = True
            return self.clear
        if self._placing:
            return self.clear
        self.placings += 1
        frame = self._frame()
        if frame is None:
            return self.clear
        self._placing = True
        try:
            if self.outside:  # try inside again, with the whole plot area
                self._set_band(0.0)
                frame = self._frame()
            boxes = [(item, *self._size(item)) for item in self.boxes if item.isVisible()]
            boxes = [b for b in boxes if b[1] > 0 and b[2] > 0]
            for item, *_ in boxes:
                item.setOpacity(1.0)
            # all in the plot where they cover nothing; else all beside it; else (a
            # small plot) the legend left out first, the rest in or beside the plot
            spots = None
            for drop in range(len(boxes) + 1):
                rest = boxes[drop:]
                spots = self._inside(rest, frame)
                if spots is None and rest and self.allow_outside and self._place_outside(rest):
                    for item, *_ in boxes[:drop]:
                        item.setOpacity(0.0)
                    self.clear = True
                    return True
                if spots is not None or self.allow_cover:
                    break
            if spots is None:  # (allow_cover) all of them, covering least
                spots = self._inside(boxes, frame, best=True) or []
            else:
                for item, *_ in boxes[:drop]:
                    item.setOpacity(0.0)
                boxes = boxes[drop:]
            for (item, *_), (x, y, *_) in zip(boxes, spots, strict=False):
                self._move(item, x, y)
            self.rects = spots
            self.boxes_placed = [item for item, *_ in boxes][: len(spots)]
            self._view_boxes = None
            self.clear = all(covered == 0 for covered in self._covered)
            return self.clear
        finally:
            self._placing = False
            for listener in self.listeners:
                listener()

    def _inside(self, boxes, frame, best: bool = False):
        """Places in the view for ``boxes`` covering nothing (None if one has none),
        or with ``best`` the least covering ones."""
        pts = self.drawn_pixels()
        taken: list[tuple[float, float, float, float]] = []
        self._covered = []
        for _item, bw, bh in boxes:
            spot = best_spot(pts, frame[:2], (bw, bh), LEGEND_PAD, taken)
            if spot is None:  # larger than the plot: its top-left corner
                spot = (LEGEND_MARGIN, LEGEND_MARGIN, 1)
            x, y, covered = spot
            if covered and not best:
                return None
            self._covered.append(covered)
            taken.append((x, y, bw, bh))
        return taken

    def _set_band(self, size: float, side: str = "top") -> None:
        """A band of ``size`` pixels beside the plot area (left or above it) for the
        legends (0: none), the legends moved back into the view box when it goes."""
        layout = self.plot.layout
        # (above the plot, room for half of a tick label on its top edge: style_axes)
        room = float(getattr(self.plot, "top_label_room", 0))
        margins = [0.0, room, float(getattr(self.plot, "right_label_room", 0)), 0.0]
        if size:
            if side == "left":
                margins[0] = size
            else:
                margins[1] = max(size, room)
        if list(layout.getContentsMargins()) != margins:
            layout.setContentsMargins(*margins)
            layout.activate()
        if size == 0 and self.outside:
            self.outside = False
            for item in self.boxes:
                item.setParentItem(self.vb)

    def _place_outside(self, boxes) -> bool:
        """Nowhere in the view is free: the legends go beside the plot area, left of
        it (stacked) when it is wider than tall, else above it (side by side where
        they fit). Not when that would leave the plot area less than
        OUTSIDE_KEEPS of its size (a small plot): returns whether they went."""
        gap = LEGEND_MARGIN
        wide = self.vb.width() > self.vb.height() * 1.15
        if wide:
            band = max(b[1] for b in boxes) + 2 * gap
            stacked = sum(b[2] for b in boxes) + gap * (len(boxes) - 1)
            fits = stacked <= float(self.vb.height())
            if fits and (band < (1 - OUTSIDE_KEEPS) * self.plot.width()
                         or self._keeps_scale(band)):
                self._set_band(band, "left")
                self.outside = True
                y = float(self.vb.pos().y()) + gap
                for item, _bw, bh in boxes:
                    if item.parentItem() is not self.plot:
                        item.setParentItem(self.plot)
                    self._move(item, gap, y)
                    y += bh + gap
                self.rects = []
                return True
        width = float(self.plot.width())
        rows: list[list] = [[]]
        used = 0.0
        for box in boxes:
            if rows[-1] and used + gap + box[1] > width:
                rows.append([])
                used = 0.0
            rows[-1].append(box)
            used += box[1] + gap
        heights = [max(b[2] for b in row) for row in rows]
        band = sum(heights) + gap * (len(rows) + 1)
        if band > (1 - OUTSIDE_KEEPS) * self.plot.height():
            return False
        self._set_band(band, "top")
        self.outside = True
        x0 = float(self.vb.pos().x())
        y = gap
        for row, h in zip(rows, heights, strict=True):
            total = sum(b[1] for b in row) + gap * (len(row) - 1)
            x = max(0.0, x0 + (float(self.vb.width()) - total) / 2)
            for item, bw, _bh in row:
                if item.parentItem() is not self.plot:
                    item.setParentItem(self.plot)
                self._move(item, x, y)
                x += bw + gap
            y += h + gap
        self.rects = []  # (nothing in the view to check against)
        return True

    def _keeps_scale(self, band: float) -> bool:
        """Whether a band ``band`` pixels wide left of an aspect-locked plot area
        leaves the range it was asked to show (its target) at least
        OUTSIDE_KEEPS_SCALE of its present scale (the height limits the scale of a
        wide plot: its sides show only what the 1:1 scale adds)."""
        vb = self.vb
        if not vb.state.get("aspectLocked"):
            return False
        target = vb.targetRect()
        tw, th = abs(target.width()), abs(target.height())
        w, h = float(vb.width()), float(vb.height())
        after = w - (band - float(self.plot.layout.getContentsMargins()[0]))
        if tw <= 0 or th <= 0 or after <= 0.25 * float(self.plot.width()):
            return False
        return min(after / tw, h / th) >= OUTSIDE_KEEPS_SCALE * min(w / tw, h / th)

    @staticmethod
    def _move(item, x: float, y: float) -> None:
        if isinstance(item, pg.LegendItem):
            item.anchor(itemPos=(0, 0), parentPos=(0, 0), offset=(x, y))
        else:
            if hasattr(item, "setAnchor"):
                item.setAnchor((0, 0))
            if item.pos() != QtCore.QPointF(x, y):
                item.setPos(x, y)

    def resized(self, item) -> None:
        """``item``'s contents changed (a key's text): placed again only if it no
        longer fits where it is, give or take half the pad it keeps from the data (a
        key whose scale reads "×10" instead of "×5" stays put, frame after frame)."""
        if item.isVisible() and not self.outside:
            rect = item.mapRectToParent(item.boundingRect())
            bw, bh = rect.width(), rect.height()
            slack = LEGEND_PAD / 2
            for i, (_x, _y, w, h) in enumerate(self.rects):
                if self.boxes_placed[i] is item and bw <= w + slack and bh <= h + slack:
                    return
        self.place()

    def _forget_boxes(self, *_args) -> None:
        self._view_boxes = None

    def _boxes_in_view(self) -> list[tuple[float, float, float, float]]:
        """The placed boxes, padded, in view units (x0, y0, x1, y1): kept until the
        view changes, so a frame's check is a few float comparisons."""
        if self._view_boxes is None:
            frame = self._frame()
            boxes = []
            if frame is not None:
                w, h, x0, x1, y0, y1 = frame
                sx, sy = (x1 - x0) / w, (y1 - y0) / h
                p = LEGEND_PAD
                for x, y, bw, bh in self.rects:
                    boxes.append((x0 + (x - p) * sx, y1 - (y + bh + p) * sy,
                                  x0 + (x + bw + p) * sx, y1 - (y - p) * sy))
            self._view_boxes = boxes
        return self._view_boxes

    def check(self, pts, joined: bool = False) -> None:
        """Place the boxes again if any of ``pts`` (K, 2; view units; ``joined``: the
        line through them) now lies under one (a run's newest points, an arrow).
        Per frame of playback: scalar comparisons only, no arrays."""
        if not self.rects or self._placing:
            return
        boxes = self._boxes_in_view()
        if not boxes:
            return
        pts = pts.tolist() if isinstance(pts, np.ndarray) else list(pts)
        for bx0, by0, bx1, by1 in boxes:
            for x, y in pts:
                if bx0 < x < bx1 and by0 < y < by1:
                    self.place()
                    return
            if joined:
                for (ax, ay), (cx, cy) in zip(pts[:-1], pts[1:], strict=False):
                    if _segment_meets(ax, ay, cx, cy, bx0, by0, bx1, by1):
                        self.place()
                        return


def _segment_meets(ax: float, ay: float, cx: float, cy: float,
                   x0: float, y0: float, x1: float, y1: float) -> bool:
    """Whether the segment (ax, ay)-(cx, cy) meets the box x0..x1, y0..y1."""
    return segment_span(ax, ay, cx, cy, x0, y0, x1, y1) is not None


def segment_span(ax: float, ay: float, cx: float, cy: float,
                 x0: float, y0: float, x1: float, y1: float) -> tuple[float, float] | None:
    """The parameters (t0, t1) of the part of the segment (ax, ay)-(cx, cy) inside
    the box x0..x1, y0..y1 (Liang–Barsky, plain floats: per arrow per frame), or
    None when it misses the box."""
    t0, t1 = 0.0, 1.0
    for p, q in ((ax - cx, ax - x0), (cx - ax, x1 - ax), (ay - cy, ay - y0), (cy - ay, y1 - ay)):
        if p == 0:
            if q < 0:
                return None
            continue
        t = q / p
        if p < 0:
            if t > t1:
                return None
            t0 = max(t0, t)
        else:
            if t < t0:
                return None
            t1 = min(t1, t)
    return (t0, t1) if t0 <= t1 else None
