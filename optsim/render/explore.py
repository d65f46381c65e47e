"""Drawing explorations with pyqtgraph: the sweep map (a heat map with a colour bar in
the metric's units, or a curve for one axis), the theory of quadratics over it, and
the basins-of-attraction overlay for the landscape plot. Shared by the window's Sweep
view and the command line's pictures."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from ..explore.runner import METRIC_LABELS
from .compute import log_tick_strings, tick_strings
from .items import (
    fit_axis_width,
    label_placed_anew,
    labels_apart,
    no_si_prefix,
    plain_axes,
    set_right_label_room,
    style_axes,
)
from .theme import FONT_PT, LABEL_PT, TEXT_COLOUR

#: cells the map cannot colour (a diverged run, a tolerance never reached) show this
NO_VALUE_COLOUR = "#9a9a9a"
#: basin colours, one per known minimum (light, so contours and runs stay visible)
BASIN_COLOURS = ("#8dd3c7", "#fdb462", "#bebada", "#fb8072", "#80b1d3", "#b3de69",
                 "#fccde5", "#ffffb3", "#bc80bd", "#ccebc5")
NO_MINIMUM_COLOUR = "#d9d9d9"
DIVERGED_COLOUR = "#404040"
BASIN_OPACITY = 0.6


@dataclass(frozen=True)
class MapAxis:
    """One axis of a map: the hyperparameter's name, its values, log spacing."""

    name: str
    values: np.ndarray
    log: bool = False

    def coords(self, v: np.ndarray | float) -> np.ndarray | float:
        """Plot coordinates of values (log10 on a log axis)."""
        return np.log10(v) if self.log else v

    def value(self, c: float) -> float:
        return 10.0 ** c if self.log else c

    def edges(self) -> tuple[float, float]:
        """The first and last cell's outer edges, in plot coordinates."""
        c = np.asarray(self.coords(self.values), dtype=np.float64)
        if len(c) < 2:
            return float(c[0]) - 0.5, float(c[0]) + 0.5
        step = (c[-1] - c[0]) / (len(c) - 1)
        return float(c[0] - step / 2), float(c[-1] + step / 2)

    def index(self, c: float) -> int | None:
        """The cell at plot coordinate ``c`` (None outside)."""
        lo, hi = self.edges()
        if not lo <= c <= hi:
            return None
        n = len(self.values)
        return min(n - 1, max(0, int((c - lo) / (hi - lo) * n)))


def metric_display(values: np.ndarray, metric: str, steps: int | None = None
                   ) -> tuple[np.ndarray, tuple[float, float], bool]:
    """What the map colours: (finite values or NaN, levels, log10 scale?). Losses
    spanning more than two decades (all > 0) are shown as log10; rates are clipped to
    [0, 1] (1: no convergence); inf and NaN become NaN (drawn grey)."""
    v = np.where(np.isfinite(values), values, np.nan).astype(np.float64)
    finite = v[np.isfinite(v)]
    log = False
    if metric == "rate":
        v = np.clip(v, 0.0, 1.0)
        lo = float(np.nanmin(v)) if np.isfinite(v).any() else 0.0
        return v, (min(lo, 0.99), 1.0), False
    if metric == "diverged":
        return v, (0.0, 1.0), False
    if metric == "steps-to-tol":
        hi = float(steps) if steps else (float(finite.max()) if finite.size else 1.0)
        return v, (0.0, max(hi, 1.0)), False
    if finite.size and finite.min() > 0 and finite.max() / finite.min() > 100:
        v = np.log10(v)
        log = True
        finite = v[np.isfinite(v)]
    if not finite.size:
        return v, (0.0, 1.0), log
    lo, hi = float(finite.min()), float(finite.max())
    if hi <= lo:
        hi = lo + (1.0 if lo == 0 else abs(lo) * 0.1)
    return v, (lo, hi), log


def log_ticks(lo: float, hi: float) -> list[list[tuple[float, str]]]:
    """Ticks of a log10 axis from ``lo`` to ``hi`` (log10 units): labelled decades,
    and 2 and 5 between them (labelled too when the axis spans under three decades)."""
    major, minor = [], []
    few = hi - lo < 3
    ticks = [(k + math.log10(m), m, k) for k in range(int(math.floor(lo)), int(math.ceil(hi)) + 1)
             for m in (1, 2, 5) if lo <= k + math.log10(m) <= hi]
    labelled = [m * 10.0 ** k for _c, m, k in ticks if m == 1 or few]
    texts = iter(tick_strings(labelled))  # (one format for the whole axis: issue 12, 11)
    for c, m, _k in ticks:
        text = next(texts) if m == 1 or few else ""
        (major if m == 1 else minor).append((c, text))
    if len(major) > 8:
        major = major[:: int(math.ceil(len(major) / 8))]
    return [major, minor]


def format_value(v: float) -> str:
    if not math.isfinite(v):
        return str(v)
    return f"{v:.4g}"


#: a colour bar's short label where its full one (METRIC_LABELS) is longer than the bar
METRIC_SHORT = {"final-loss": "final loss", "best-loss": "best loss",
                "steps-to-tol": "steps to tol", "rate": "rate per step",
                "diverged": "diverged"}
#: a map widget narrower or lower than this (pixels) is laid out compactly when it
#: allows it (a docked Sweep view): shorter labels fitted to the room, small margins,
#: the hover read-out left to the status bar
COMPACT_SIZE = (520, 440)
#: margins round a compact map (pyqtgraph's 9 px a side took a tenth of a docked one)
COMPACT_MARGIN = 3
#: the most lines of a compact title and of a compact note (fewer when shorter
#: forms of their parts allow: each line is the map's height)
COMPACT_LINES = 3
#: pixels kept round the run's marker and the star at the map's edge (half a marker)
MARKER_ROOM_PX = 13


def text_font(points: float) -> QtGui.QFont:
    """The application's font at ``points`` (what a :class:`_Label` draws with)."""
    font = QtGui.QFont()
    font.setPointSizeF(points)
    return font


def elide_parts(line: str, font: QtGui.QFont, width: float) -> str:
    """``line`` within ``width`` px: whole trailing parts (after ", " or " · ") left
    out and "…" put after the last kept one; a lone part too long cut at its end."""
    fm = QtGui.QFontMetricsF(font)
    if fm.horizontalAdvance(line) <= width:
        return line
    cut = line
    while True:
        k = max(cut.rfind(", "), cut.rfind(" · "))
        if k <= 0:
            break
        cut = cut[:k]
        if fm.horizontalAdvance(cut + " …") <= width:
            return cut + " …"
    return fm.elidedText(line, QtCore.Qt.TextElideMode.ElideRight, int(width))


def pack_lines(items: list[str], font: QtGui.QFont, width: float, joiner: str
               ) -> tuple[list[str], bool]:
    """``items`` in order on lines of at most ``width`` px: an item goes on the line
    before it (after ``joiner``) when the whole item fits there; an item longer than a
    line is broken after its commas. Returns the lines and whether every item is
    whole on one line."""
    fm = QtGui.QFontMetricsF(font)
    lines: list[str] = []
    whole = True
    for item in items:
        if lines and fm.horizontalAdvance(lines[-1] + joiner + item) <= width:
            lines[-1] += joiner + item
            continue
        pieces = item.split(", ")
        line = pieces[0]
        for piece in pieces[1:]:
            if fm.horizontalAdvance(f"{line}, {piece}") <= width:
                line += ", " + piece
            else:
                lines.append(line + ",")
                line = piece
                whole = False
        lines.append(line)
    return lines, whole


def fit_lines(items: list[tuple[str, ...]], font: QtGui.QFont, width: float,
              joiner: str = " · ", max_lines: int = COMPACT_LINES) -> list[str]:
    """Lines of at most ``width`` px for ``items``, each given as its forms from the
    most detailed to the shortest: as few lines as any forms allow (at most
    ``max_lines``; every item whole on a line if it can be), with the most detailed
    forms that fit on them (every item at its k-th form, k as small as can be);
    failing that the shortest forms, the lines beyond ``max_lines`` left out after "…"."""
    if not items:
        return []
    fm = QtGui.QFontMetricsF(font)
    levels = [pack_lines([forms[min(k, len(forms) - 1)] for forms in items], font, width, joiner)
              for k in range(max(len(forms) for forms in items))]
    for need_whole in (True, False):
        for n in range(1, max_lines + 1):
            for lines, whole in levels:
                if (whole or not need_whole) and len(lines) <= n \
                        and all(fm.horizontalAdvance(t) <= width for t in lines):
                    return lines
    lines = levels[-1][0]
    if len(lines) > max_lines:
        lines = lines[: max_lines - 1] + [lines[max_lines - 1].rstrip(",") + " …"]
    return [elide_parts(t, font, width) for t in lines]


def first_fitting(forms: list[str], font: QtGui.QFont, length: float) -> str:
    """The first of ``forms`` at most ``length`` px long (else the last, elided)."""
    fm = QtGui.QFontMetricsF(font)
    for form in forms:
        if fm.horizontalAdvance(form) <= length:
            return form
    return elide_parts(forms[-1], font, length)


def level_labels(axis: pg.AxisItem, lo: float, hi: float, length: float) -> list[str]:
    """The tick labels a vertical ``axis`` from ``lo`` to ``hi``, ``length`` px long,
    may draw when it is wide enough: those of the levels pyqtgraph's crowding limits
    (``textFillLimits``) let it draw at that length."""
    font = axis.style["tickFont"] or axis.font()
    height = 0.8 * QtGui.QFontMetricsF(font).height()  # (as pyqtgraph counts a label)
    drawn: list[str] = []
    for i, (spacing, values) in enumerate(axis.tickValues(lo, hi, length)):
        strings = [t for t in axis.tickStrings(values, 1.0, spacing) if t]
        ratio = (len(drawn) + len(strings)) * height / length
        if i > 0 and any(len(drawn) >= n and ratio >= limit
                         for n, limit in axis.style["textFillLimits"]):
            break
        drawn += strings
    return drawn


def set_axis_label(axis: pg.AxisItem, text: str, points: float) -> None:
    """Name ``axis`` in the theme's colour at ``points``, as plain text (the colour
    bar read "steps until f − f*": "< tol" was taken for a tag); the axis places it
    anew (:class:`~optsim.render.items.FormattedAxis`, :func:`label_placed_anew`)."""
    style = {"font-size": f"{points:g}pt", "color": TEXT_COLOUR}
    text = html.escape(text, quote=False)
    if axis.labelText == text and axis.labelStyle == style:
        return
    axis.setLabel(text, **style)


class _Label(pg.LabelItem):
    """A text line that never widens the layout past its widget (a narrow dock
    would otherwise scroll the plot out of sight): long text is cut instead."""

    def setText(self, text: str, **args) -> None:  # noqa: N802 (pyqtgraph override)
        # an empty line keeps its height: the plot must not jump when a read-out appears
        super().setText(text or "&nbsp;", **args)

    def updateMin(self) -> None:  # noqa: N802 (pyqtgraph override)
        super().updateMin()
        self.setMinimumWidth(0)
        self.setPreferredWidth(0)


class SweepPlot(pg.GraphicsLayoutWidget):
    """A sweep map: heat map over two hyperparameters (or the metric's curve over
    one) with a colour bar, axes named and scaled as the hyperparameters, a hover
    read-out, a marker at the current run's settings and the theory of quadratics.

    Signals: ``cellClicked(dict)`` / ``cellDoubleClicked(dict)`` with the cell's
    hyperparameter values; ``hovered(str)`` with the read-out text."""

    cellClicked = QtCore.Signal(dict)
    cellDoubleClicked = QtCore.Signal(dict)
    hovered = QtCore.Signal(str)

    def __init__(self, parent: QtWidgets.QWidget | None = None,
                 bar: str = "vertical") -> None:
        """``bar``: the colour bar right of the map ("vertical") or under it
        ("horizontal": a narrow dock, where a bar beside took a third of the width)."""
        super().__init__(parent)
        self.setBackground("w")
        self.bar_side = "bottom" if bar == "horizontal" else "right"
        self.title = self._label(0, LABEL_PT)
        self.plot = self.addPlot(row=1, col=0, axisItems=plain_axes())
        self.plot.setMenuEnabled(False)
        self.plot.getViewBox().setMouseEnabled(False, False)
        style_axes(self.plot, "", "")
        # (left-justified: in a narrow dock a long line is cut at its end, not both ends)
        self.readout = self._label(2, FONT_PT, "left")
        #: the theory's key and what grey cells mean
        self.note = self._label(3, FONT_PT - 1, "left")
        self.cmap = pg.colormap.get("viridis")
        self.background = QtWidgets.QGraphicsRectItem()
        self.background.setBrush(pg.mkBrush(NO_VALUE_COLOUR))
        self.background.setPen(pg.mkPen(None))
        self.background.setZValue(-30)
        self.plot.addItem(self.background, ignoreBounds=True)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(self.cmap)
        self.image.setZValue(-20)
        self.plot.addItem(self.image)
        self.curve = pg.PlotDataItem(pen=pg.mkPen("#0072B2", width=2.5), symbol="o",
                                     symbolSize=5, symbolBrush="#0072B2", symbolPen=None,
                                     connect="finite")
        self.plot.addItem(self.curve)
        self.boundary = pg.PlotCurveItem(pen=pg.mkPen("w", width=2.5, style=QtCore.Qt.PenStyle.DashLine))
        self.boundary.setZValue(10)
        self.plot.addItem(self.boundary)
        self.optimum = pg.ScatterPlotItem(symbol="star", size=22, brush=pg.mkBrush("#F0E442"),
                                          pen=pg.mkPen("k", width=1.5))
        self.optimum.setZValue(20)
        self.plot.addItem(self.optimum)
        self.marker = pg.ScatterPlotItem(symbol="+", size=22, brush=pg.mkBrush("w"),
                                         pen=pg.mkPen("#D55E00", width=3.5))
        self.marker.setZValue(30)
        self.plot.addItem(self.marker)
        self.vlines = [pg.InfiniteLine(angle=90, pen=pg.mkPen(c, width=2, style=s))
                       for c, s in (("#D55E00", QtCore.Qt.PenStyle.SolidLine),
                                    ("#009E73", QtCore.Qt.PenStyle.DashLine),
                                    ("#555555", QtCore.Qt.PenStyle.DotLine))]
        for line in self.vlines:
            line.setVisible(False)
            self.plot.addItem(line, ignoreBounds=True)
        self.theory_label = ""
        #: the theory's key as items, each its forms from the longest to the shortest
        #: (a compact map shows the longest that fit); None: the label's lines
        self.theory_key: list[tuple[str, ...]] | None = None
        #: what the labels say in full: the title's lines, each axis' name forms and
        #: log scale (the colour bar's: "bar"); a compact map shows them fitted
        self._title_lines: list[str] = []
        self._names: dict[str, tuple[tuple[str, ...], bool]] = {}
        #: a small widget lays out compactly (see COMPACT_SIZE; the window's dock sets
        #: it, a picture keeps the full layout) and whether it does now
        self.compact_when_small = False
        self.compact = False
        #: a marker on the map's edge is shown whole (the range widened there; the
        #: window's view; a picture keeps its range flush with the cells)
        self.markers_whole = False
        self._range: tuple[tuple[float, float], tuple[float, float]] | None = None
        self.plot.getViewBox().sigResized.connect(self._fit_range)
        self._margins = self.ci.layout.getContentsMargins()
        self._text_margin = self.title.item.document().documentMargin()
        self.colorbar = self._make_bar(bar)
        self.axes: list[MapAxis] = []
        self.values: np.ndarray | None = None
        #: the last set_map's arguments (a new colour bar shows them again)
        self._shown_map: tuple | None = None
        #: the colour bar goes under the map or beside it, where the map is larger,
        #: as it is resized (the window's Sweep dock; a picture keeps its bar)
        self.bar_follows_shape = False
        self._bar_timer = QtCore.QTimer(self)
        self._bar_timer.setSingleShot(True)
        self._bar_timer.setInterval(0)
        self._bar_timer.timeout.connect(self._bar_to_shape)
        self.metric_name = ""
        self.log_colours = False
        self.scene().sigMouseMoved.connect(self._on_move)
        self.scene().sigMouseClicked.connect(self._on_click)

    def _make_bar(self, bar: str) -> pg.ColorBarItem:
        """A colour bar for the image, beside the map ("vertical") or under it."""
        self.bar_side = "bottom" if bar == "horizontal" else "right"
        colorbar = pg.ColorBarItem(values=(0, 1), colorMap=self.cmap, interactive=False,
                                   width=18, orientation=bar)
        colorbar.setImageItem(self.image, insert_in=self.plot)
        for entry in colorbar.axes.values():
            no_si_prefix(entry["item"])
        bar_axis = label_placed_anew(labels_apart(colorbar.getAxis(self.bar_side)))
        font = QtGui.QFont()
        font.setPointSize(FONT_PT - 1)
        bar_axis.setStyle(tickFont=font)
        bar_axis.setTextPen(pg.mkPen(TEXT_COLOUR))
        return colorbar

    def set_bar(self, bar: str) -> None:
        """Put the colour bar beside the map ("vertical") or under it ("horizontal":
        a panel taller than wide, where a bar beside took a third of the width)."""
        if ("bottom" if bar == "horizontal" else "right") == self.bar_side:
            return
        old = self.colorbar
        layout = self.plot.layout
        layout.removeItem(old)
        self.scene().removeItem(old)
        # (the room pyqtgraph fixed between the map and the old bar, given back)
        layout.setRowMinimumHeight(4, 0)
        layout.setRowMaximumHeight(4, 1e6)
        layout.setColumnMinimumWidth(4, 0)
        layout.setColumnMaximumWidth(4, 1e6)
        self.colorbar = self._make_bar(bar)
        if self._shown_map is not None:
            self.set_map(*self._shown_map)
        else:
            self.colorbar.setVisible(False)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        if getattr(self, "bar_follows_shape", False) or getattr(self, "compact_when_small", False):
            self._bar_timer.start()  # (pyqtgraph resizes while the widget is built)

    def _bar_to_shape(self) -> None:
        """Lay the map out for the widget's size: compact or not, the colour bar
        where the map is larger, the labels fitted."""
        w, h = self.width(), self.height()
        compact = self.compact_when_small and (w < COMPACT_SIZE[0] or h < COMPACT_SIZE[1])
        if compact != self.compact:
            self.compact = compact
            m = COMPACT_MARGIN
            self.ci.layout.setContentsMargins(*((m, m, m, m) if compact else self._margins))
            self.readout.setVisible(not compact)  # (hover read-outs go to the status bar)
            for label in (self.title, self.note):  # (Qt's 4 px round each text: 16 px)
                label.item.document().setDocumentMargin(1 if compact else self._text_margin)
            self._fit_texts()
        if self.bar_follows_shape and self.colorbar.isVisible():
            self._activate()
            side = self._better_bar_side()
            if side != self.bar_side:
                self.set_bar("horizontal" if side == "bottom" else "vertical")
        self._activate()
        self._fit_texts()

    def _activate(self) -> None:
        """Lay out now, the widget's grid and the plot's within it (the map and its
        colour bar), to measure them."""
        self.ci.layout.activate()
        self.plot.layout.activate()

    def _bar_room(self, side: str) -> float:
        """Pixels the colour bar takes across the map's side: measured where it is,
        else as its ticks and label need."""
        spacing = self.plot.layout.horizontalSpacing() if side == "right" else \
            self.plot.layout.verticalSpacing()
        if side == self.bar_side:
            rect = self.colorbar.geometry()
            return (rect.width() if side == "right" else rect.height()) + max(spacing, 0)
        tick = QtGui.QFontMetricsF(text_font(FONT_PT - 1))
        label = QtGui.QFontMetricsF(text_font(FONT_PT)).height()
        widest = max((tick.horizontalAdvance(t) for t in self._bar_labels()), default=0.0)
        across = max(widest, tick.horizontalAdvance("10⁻⁴⁴")) if side == "right" else tick.height()
        return 18 + 2 * 5 + across + label + max(spacing, 0)

    def _better_bar_side(self) -> str:
        """Where the colour bar leaves the map's shorter side longer: under a panel
        taller than wide (a 300-px-wide dock at 1280x720: beside, the bar took a third
        of the width), beside a low one (the dock at 1824x1026: under, the map kept
        ~115 px of height). A side must win by a few pixels to move the bar."""
        vb = self.plot.getViewBox()
        w, h = vb.width(), vb.height()
        if self.bar_side == "right":
            w += self._bar_room("right")
        else:
            h += self._bar_room("bottom")
        sides = {"right": min(w - self._bar_room("right"), h),
                 "bottom": min(w, h - self._bar_room("bottom"))}
        other = "bottom" if self.bar_side == "right" else "right"
        return other if sides[other] > sides[self.bar_side] + 8 else self.bar_side

    def _label(self, row: int, points: int, justify: str = "center") -> _Label:
        label = _Label("&nbsp;", size=f"{points}pt", color=TEXT_COLOUR, justify=justify)
        self.addItem(label, row=row, col=0)
        return label

    # -- data ------------------------------------------------------------------
    def set_map(self, values: np.ndarray, axes: list[MapAxis], metric: str,
                steps: int | None = None, title: str = "") -> None:
        """Show ``values`` ((ny, nx) for two axes, (nx,) for one) over ``axes``
        (``title``: lines split at newlines)."""
        self.axes, self.values, self.metric_name = list(axes), np.asarray(values), metric
        self._shown_map = (values, axes, metric, steps, title)
        self._title_lines = title.split("\n") if title else []
        shown, levels, log = metric_display(self.values, metric, steps)
        self.log_colours = log
        label = METRIC_LABELS.get(metric, metric)
        two = len(axes) == 2
        self.image.setVisible(two)
        self.background.setVisible(two)
        self.colorbar.setVisible(two)
        self.curve.setVisible(not two)
        ax_x = axes[0]
        bottom = self.plot.getAxis("bottom")
        self._axis_ticks(bottom, ax_x)
        self._names = {"bottom": ((ax_x.name,), ax_x.log)}
        left = self.plot.getAxis("left")
        x0, x1 = ax_x.edges()
        if two:
            ax_y = axes[1]
            self._axis_ticks(left, ax_y)
            self._names["left"] = ((ax_y.name,), ax_y.log)
            y0, y1 = ax_y.edges()
            self.image.setImage(shown, levels=levels, autoLevels=False)
            rect = QtCore.QRectF(x0, y0, x1 - x0, y1 - y0)
            self.image.setRect(rect)
            self.background.setRect(rect)
            self.colorbar.setLevels(levels)
            self._names["bar"] = ((label, METRIC_SHORT.get(metric, label)), log)
            self._colorbar_ticks(levels, log)
            self._set_range((x0, x1), (y0, y1))
        else:
            finite = shown[np.isfinite(shown)]
            self._axis_ticks(left, MapAxis(label, 10.0 ** finite if log and finite.size
                                           else np.array([1.0, 10.0]), log) if log else None)
            self._names["left"] = ((label, METRIC_SHORT.get(metric, label)), log)
            xs = np.asarray(ax_x.coords(ax_x.values), dtype=np.float64)
            self.curve.setData(xs, shown)
            lo, hi = levels
            pad = 0.05 * (hi - lo)
            self._set_range((x0, x1), (lo - pad, hi + pad))
        self._update_note()  # (and every label, fitted)
        self._relayout()

    def _relayout(self) -> None:
        """Lay the map out again soon (a bar shown or hidden, labels changed)."""
        if self.bar_follows_shape or self.compact_when_small:
            self._bar_timer.start()

    def set_axes(self, axes: list[MapAxis]) -> None:
        """Before a map is computed: its axes as they will be (names, scales, ranges),
        the map itself empty (a blank plot showed −0.5..0.5 under no name)."""
        self.axes, self.values, self.metric_name = list(axes), None, ""
        self._shown_map = None
        for item in (self.image, self.background, self.colorbar, self.curve):
            item.setVisible(False)
        x0, x1 = axes[0].edges()
        bottom, left = self.plot.getAxis("bottom"), self.plot.getAxis("left")
        self._axis_ticks(bottom, axes[0])
        self._names = {"bottom": ((axes[0].name,), axes[0].log)}
        if len(axes) == 2:
            y0, y1 = axes[1].edges()
            self._axis_ticks(left, axes[1])
            self._names["left"] = ((axes[1].name,), axes[1].log)
        else:
            y0, y1 = 0.0, 1.0
            self._axis_ticks(left, None)
        self._set_range((x0, x1), (y0, y1))
        self._fit_texts()
        self._relayout()

    @staticmethod
    def _axis_ticks(axis: pg.AxisItem, map_axis: MapAxis | None) -> None:
        """Decade ticks on a log axis (plot coordinates are log10 there); automatic
        ticks otherwise."""
        if map_axis is None or not map_axis.log:
            axis.setTicks(None)
            return
        c = np.log10(map_axis.values)
        axis.setTicks(log_ticks(float(c.min()) - 0.5 * (c.max() - c.min()) / max(len(c) - 1, 1),
                                float(c.max()) + 0.5 * (c.max() - c.min()) / max(len(c) - 1, 1)))

    def _colorbar_ticks(self, levels: tuple[float, float], log: bool) -> None:
        axis = self.colorbar.getAxis(self.bar_side)
        lo, hi = levels
        if log:
            decades = list(range(int(np.ceil(lo)), int(np.floor(hi)) + 1))
            ticks = list(zip([float(t) for t in decades], log_tick_strings(decades), strict=True))
            if len(ticks) > 7:
                ticks = ticks[:: int(np.ceil(len(ticks) / 7))]
            axis.setTicks([ticks] if ticks else None)
            labels = [t for _, t in ticks]
        else:
            axis.setTicks(None)
            labels = [text for spacing, values in axis.tickValues(lo, hi, 400)
                      for text in axis.tickStrings(values, 1.0, spacing)]
        self._bar_tick_labels = labels
        self._bar_levels = (lo, hi, log)
        self._fit_texts()

    def _bar_labels(self) -> list[str]:
        """The colour bar's tick labels its width is made for: in a compact map those
        it draws at its length (the labels of every level at 400 px, "-3.5e+06"
        among them, took 30 px more than the drawn "-3e+06")."""
        labels = getattr(self, "_bar_tick_labels", [])
        lo, hi, log = getattr(self, "_bar_levels", (0.0, 1.0, True))
        if not self.compact or log:
            return labels
        axis = self.colorbar.getAxis(self.bar_side)
        length = axis.height() if self.bar_side == "right" else axis.width()
        return level_labels(axis, lo, hi, max(length, 40.0))

    def set_current(self, values: dict[str, float] | None) -> None:
        """Mark the current run's settings (its values of the axes' hyperparameters)."""
        if not values or not self.axes or any(a.name not in values for a in self.axes):
            self.marker.setData([])
            self.vlines[0].setVisible(False)
            return
        cx = float(self.axes[0].coords(values[self.axes[0].name]))
        if len(self.axes) == 2:
            cy = float(self.axes[1].coords(values[self.axes[1].name]))
            self.marker.setData([cx], [cy])
            self.vlines[0].setVisible(False)
        else:
            self.marker.setData([])
            self.vlines[0].setPos(cx)
            self.vlines[0].setVisible(True)
        self._fit_range()

    def set_theory(self, boundary: tuple[np.ndarray, np.ndarray] | None,
                   optimum: dict[str, float] | None, text: str = "",
                   key: list[tuple[str, ...]] | None = None) -> None:
        """Draw the stability boundary (a curve of {axis name: values}) and the
        optimal point, with a sentence (``key``: its items, each as forms from the
        longest to the shortest, for a compact map); None hides them."""
        self.boundary.setData([], [])
        self.optimum.setData([])
        for line in self.vlines[1:]:
            line.setVisible(False)
        self.theory_label = text
        self.theory_key = key
        self._update_note()
        if not self.axes or (boundary is None and optimum is None):
            return
        names = [a.name for a in self.axes]
        if len(self.axes) == 2 and boundary is not None:
            b = dict(zip(("momentum", "lr"), boundary, strict=True))
            if all(n in b for n in names):
                xs = np.asarray(self.axes[0].coords(b[names[0]]), dtype=np.float64)
                ys = np.asarray(self.axes[1].coords(b[names[1]]), dtype=np.float64)
                self.boundary.setData(xs, ys)
        if optimum is not None and all(n in optimum for n in names):
            if len(self.axes) == 2:
                self.optimum.setData([float(self.axes[0].coords(optimum[names[0]]))],
                                     [float(self.axes[1].coords(optimum[names[1]]))])
                self._fit_range()
            else:
                self.vlines[1].setPos(float(self.axes[0].coords(optimum[names[0]])))
                self.vlines[1].setVisible(True)
                if boundary is not None:
                    self.vlines[2].setPos(float(self.axes[0].coords(float(boundary[1][0]))))
                    self.vlines[2].setVisible(True)

    def _grey_text(self) -> str:
        """What grey cells mean ("" when the map has none)."""
        if self.values is None or len(self.axes) != 2 or np.isfinite(self.values).all():
            return ""
        return "grey: diverged" + ("" if self.metric_name in ("final-loss", "rate")
                                   else " or not reached")

    def _set_range(self, x: tuple[float, float], y: tuple[float, float]) -> None:
        """Show the map's range ``x`` × ``y`` (plot coordinates), flush with the axes."""
        self._range = (x, y)
        self.plot.getViewBox().setRange(xRange=x, yRange=y, padding=0)
        self._fit_range()

    def _fit_range(self, *_args) -> None:
        """With ``markers_whole``: the range widened on a side where the run's marker
        or the star lies within half a marker of it (SGD's momentum 0 is the map's
        bottom edge: the view cut its marker in half)."""
        rng = getattr(self, "_range", None)
        if not self.markers_whole or rng is None:
            return
        vb = self.plot.getViewBox()
        (x0, x1), (y0, y1) = rng
        w, h = vb.width(), vb.height()
        if w <= 2 * MARKER_ROOM_PX or h <= 2 * MARKER_ROOM_PX:
            return
        pts = [np.column_stack(item.getData()) for item in (self.marker, self.optimum)
               if len(item.data)]
        pts = np.concatenate(pts) if pts else np.empty((0, 2))
        # (data units per pixel with both sides widened: a near-edge marker then fits)
        sx = (x1 - x0) / (w - 2 * MARKER_ROOM_PX)
        sy = (y1 - y0) / (h - 2 * MARKER_ROOM_PX)
        rx, ry = MARKER_ROOM_PX * sx, MARKER_ROOM_PX * sy
        near = lambda v, edge, r: bool(np.any(np.abs(v - edge) < r))  # noqa: E731
        xs, ys = pts[:, 0], pts[:, 1]
        x_range = (x0 - rx * near(xs, x0, rx), x1 + rx * near(xs, x1, rx))
        y_range = (y0 - ry * near(ys, y0, ry), y1 + ry * near(ys, y1, ry))
        vb.setRange(xRange=x_range, yRange=y_range, padding=0)

    def _update_note(self) -> None:
        self._fit_texts()

    def _fit_texts(self) -> None:
        """Set the title, the axes' and the colour bar's names and the note: in full
        (a picture, a large view), or fitted to their room in a compact map (shorter
        forms, two lines at most; the full text is the widget's tooltip)."""
        if not hasattr(self, "_names"):  # (pyqtgraph resizes while the widget is built)
            return
        compact = self.compact
        # room right of the map for half an end tick label: none where the colour bar
        # stands there (it leaves that room), nor in a compact map (a label that would
        # not fit is left out, never cut: the map keeps the pixels)
        bar_right = self.bar_side == "right" and self.colorbar.isVisible()
        set_right_label_room(self.plot, not (bar_right or compact))
        width = self.width() - 2 * COMPACT_MARGIN - 4
        grey = self._grey_text()
        if compact:
            font = text_font(FONT_PT)
            title = fit_lines([(t,) for t in self._title_lines], font, width, ", ")
            key = self.theory_key if self.theory_key is not None else \
                [(t,) for t in self.theory_label.split("\n") if t]
            note = fit_lines(key + ([(grey,)] if grey else []), text_font(FONT_PT - 1), width)
            self.title.setText("<br>".join(html.escape(t) for t in title), size=f"{FONT_PT}pt")
        else:
            note = self.theory_label.split("\n") if self.theory_label else []
            if grey:
                if note:
                    note[-1] += " · " + grey
                else:
                    note.append(grey)
            self.title.setText("<br>".join(html.escape(t) for t in self._title_lines),
                               size=f"{LABEL_PT}pt")
        self.note.setText("<br>".join(html.escape(t) for t in note))
        # (a compact map without a title or a key gives their lines to the map)
        self.title.setVisible(bool(self._title_lines) or not compact)
        self.note.setVisible(bool(note) or not compact)
        vb = self.plot.getViewBox()
        rooms = {"bottom": vb.width(), "left": vb.height()}
        for side in ("bottom", "left"):
            forms, log = self._names.get(side, (("",), False))
            points = FONT_PT if compact else LABEL_PT
            text = self._name(forms, log, text_font(points), rooms[side])
            set_axis_label(self.plot.getAxis(side), text, points)
        if "bar" in self._names:
            axis = self.colorbar.getAxis(self.bar_side)
            room = axis.height() if self.bar_side == "right" else axis.width()
            forms, log = self._names["bar"]
            set_axis_label(axis, self._name(forms, log, text_font(FONT_PT), room), FONT_PT)
            if self.bar_side == "right":
                fit_axis_width(axis, self._bar_labels())

    def _name(self, forms: tuple[str, ...], log: bool, font: QtGui.QFont, room: float) -> str:
        """An axis' name: in full ("NAME (log scale)"), or in a compact map the
        longest form that fits ``room`` px ("NAME (log)", a short name)."""
        full = [f"{f} (log scale)" if log else f for f in forms]
        if not self.compact:
            return full[0]
        every = [g for f in forms for g in ((f"{f} (log scale)", f"{f} (log)") if log else (f,))]
        return first_fitting(every, font, room - 4)

    # -- interaction -----------------------------------------------------------
    def cell_at(self, scene_pos: QtCore.QPointF) -> tuple[tuple[int, ...], dict[str, float]] | None:
        """The cell under a scene position: its index and hyperparameter values."""
        if not self.axes or self.values is None:
            return None
        vb = self.plot.getViewBox()
        if not vb.sceneBoundingRect().contains(scene_pos):
            return None
        p = vb.mapSceneToView(scene_pos)
        i = self.axes[0].index(p.x())
        if i is None:
            return None
        vals = {self.axes[0].name: float(self.axes[0].values[i])}
        if len(self.axes) == 1:
            return (i,), vals
        j = self.axes[1].index(p.y())
        if j is None:
            return None
        vals[self.axes[1].name] = float(self.axes[1].values[j])
        return (j, i), vals

    def readout_text(self, index: tuple[int, ...], values: dict[str, float]) -> str:
        v = float(self.values[index]) if self.values is not None else math.nan
        what = METRIC_LABELS.get(self.metric_name, self.metric_name)
        shown = format_value(v)
        if self.metric_name in ("final-loss", "rate", "steps-to-tol") and math.isinf(v):
            shown = "diverged or not reached"
        at = ", ".join(f"{k} = {format_value(x)}" for k, x in values.items())
        return f"{at}: {what} = {shown}"

    def _on_move(self, pos: QtCore.QPointF) -> None:
        cell = self.cell_at(pos)
        text = "" if cell is None else self.readout_text(*cell)
        self.readout.setText(html.escape(text))
        self.hovered.emit(text)

    def _on_click(self, ev) -> None:
        if ev.button() != QtCore.Qt.MouseButton.LeftButton:
            return
        cell = self.cell_at(ev.scenePos())
        if cell is None:
            return
        ev.accept()
        (self.cellDoubleClicked if ev.double() else self.cellClicked).emit(cell[1])


class BasinsOverlay(pg.ImageItem):
    """The basins of attraction over the landscape: each start point of the grid
    coloured by the minimum its run reached (grey: none, dark: diverged). In 1D, a
    strip along the bottom of the plot."""

    def __init__(self) -> None:
        super().__init__(axisOrder="row-major")
        self.setOpacity(BASIN_OPACITY)
        self.setZValue(-15)
        self.legend: pg.LegendItem | None = None

    @staticmethod
    def lookup(n_minima: int) -> np.ndarray:
        """RGBA per label + 2 (label -2: diverged, -1: none, 0..: the minima)."""
        colours = [DIVERGED_COLOUR, NO_MINIMUM_COLOUR] + [
            BASIN_COLOURS[i % len(BASIN_COLOURS)] for i in range(n_minima)]
        return np.array([pg.mkColor(c).getRgb() for c in colours], dtype=np.ubyte)

    def set_basins(self, labels: np.ndarray, xs: np.ndarray, ys: np.ndarray | None,
                   n_minima: int, strip: tuple[float, float] | None = None) -> None:
        """Show ``labels`` over the grid ``xs`` × ``ys`` (1D: ``ys`` None and ``strip``
        the (bottom, height) of the band in data coordinates)."""
        lut = self.lookup(n_minima)
        img = lut[np.asarray(labels, dtype=np.int64) + 2]
        dx = (xs[-1] - xs[0]) / max(1, len(xs) - 1)
        if ys is None:
            img = img[None, :, :]
            bottom, height = strip if strip is not None else (0.0, 1.0)
            rect = QtCore.QRectF(xs[0] - dx / 2, bottom, xs[-1] - xs[0] + dx, height)
        else:
            dy = (ys[-1] - ys[0]) / max(1, len(ys) - 1)
            rect = QtCore.QRectF(xs[0] - dx / 2, ys[0] - dy / 2, xs[-1] - xs[0] + dx,
                                 ys[-1] - ys[0] + dy)
        self.setImage(img, autoLevels=False)
        self.setRect(rect)


def basins_legend(plot: pg.PlotItem, minima: list[tuple[float, ...]], counts: dict[int, int],
                  total: int, top_left: bool = False) -> pg.LegendItem:
    """A key to the basin colours, with each basin's share of the starts: at the
    bottom centre (between the usual minima of a 2D map), or the top left (a 1D strip
    runs along the bottom)."""
    legend = pg.LegendItem(offset=(10, -10), labelTextSize=f"{FONT_PT - 1}pt",
                           brush=pg.mkBrush(255, 255, 255, 215), pen=pg.mkPen("#888888"),
                           labelTextColor=TEXT_COLOUR)
    legend.setParentItem(plot.getViewBox())
    if top_left:
        legend.anchor((0, 0), (0, 0), offset=(10, 10))
    else:
        legend.anchor((0.5, 1), (0.5, 1), offset=(0, -10))
    legend.setZValue(100)
    entries = [(i, "→ (" + ", ".join(f"{c:.3g}" for c in m) + ")",
                BASIN_COLOURS[i % len(BASIN_COLOURS)]) for i, m in enumerate(minima)]
    entries += [(-1, "no minimum reached", NO_MINIMUM_COLOUR), (-2, "diverged", DIVERGED_COLOUR)]
    for label, text, colour in entries:
        n = counts.get(label, 0)
        if label < 0 and n == 0:
            continue
        sample = pg.ScatterPlotItem(symbol="s", size=14, brush=pg.mkBrush(colour),
                                    pen=pg.mkPen("#555555"))
        legend.addItem(sample, f"{text}: {100 * n / max(total, 1):.0f}%")
    return legend
