"""The picture of a simulation as the window shows it and exports render it: the
landscape (:class:`~optsim.render.plots.LossPlot`) above the loss history
(:class:`~optsim.render.plots.LossHistoryPlot`), under the function's title."""

from __future__ import annotations

from contextlib import nullcontext

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from ..functions import LossFunction
from .compute import GrowingRowStats, RunStyle, View, row_mean, row_percentiles, title_text
from .plots import LossHistoryPlot, LossPlot
from .theme import LABEL_PT, TEXT_COLOUR

#: the title's padding: top, right, bottom, left (pixels)
TITLE_PADDING = (10, 8, 2, 8)


class Figure(QtWidgets.QWidget):
    """A :class:`LossPlot` above a :class:`LossHistoryPlot` (optional), as the window
    shows it and as exported pictures render it."""

    def __init__(self, parent: QtWidgets.QWidget | None = None, with_history: bool = True,
                 side_by_side: bool = False) -> None:
        """``side_by_side``: the loss history right of the landscape instead of below
        it (for wide pictures, where a square landscape leaves room at its side)."""
        super().__init__(parent)
        #: runs of K > 1 rows: their mean path and loss percentiles, kept growing
        self._row_stats: dict[int, tuple[GrowingRowStats, GrowingRowStats]] = {}
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        # the title is a wrapping label: a long formula takes two lines instead of
        # widening the plot past the window (and pushing the colour bar out of sight)
        self.title = QtWidgets.QLabel(self)
        self.title.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.title.setWordWrap(True)
        self.title.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        self.title.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.title.font()
        font.setPointSize(LABEL_PT)
        self.title.setFont(font)
        self._pad_title(*TITLE_PADDING)
        self.title.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored,
                                 QtWidgets.QSizePolicy.Policy.Preferred)
        self.title.hide()
        layout.addWidget(self.title)
        self.side_by_side = bool(side_by_side and with_history)
        orientation = QtCore.Qt.Orientation.Horizontal if self.side_by_side \
            else QtCore.Qt.Orientation.Vertical
        self.splitter = QtWidgets.QSplitter(orientation, self)
        self.loss_plot = LossPlot(show_title=False)
        self.splitter.addWidget(self.loss_plot)
        self.history: LossHistoryPlot | None = None
        if with_history:
            self.history = LossHistoryPlot()
            self.splitter.addWidget(self.history)
            self.splitter.setStretchFactor(0, 3)
            self.splitter.setStretchFactor(1, 2 if self.side_by_side else 1)
        layout.addWidget(self.splitter, 1)  # all the height the title leaves
        self.clicked = self.loss_plot.clicked

    def set_scale(self, scale: float) -> None:
        """Fonts, lines and markers ``scale`` times their theme size (the window's
        presentation mode), in the title and both plots."""
        font = self.title.font()
        font.setPointSizeF(LABEL_PT * scale)
        self.title.setFont(font)
        self.loss_plot.set_scale(scale)
        if self.history is not None:
            self.history.set_scale(scale)

    #: a line under the function's title (the window's tuned race states its
    #: criterion there); "": none
    caption: str = ""

    def set_caption(self, text: str) -> None:
        """Show ``text`` on a line under the function's title ("": none)."""
        self.caption = text
        self._show_title()

    def _show_title(self) -> None:
        fn = self.loss_plot.function
        if fn is not None:
            self.title.setText(title_text(fn) + (f"\n{self.caption}" if self.caption else ""))

    def set_function(self, fn: LossFunction, view: View | None = None) -> None:
        self.loss_plot.set_function(fn, view)
        self._show_title()
        self.title.setToolTip(fn.formula)
        self.title.show()
        if self.history is not None and self.loss_plot.loss_range is not None:
            self.history.set_loss_range(*self.loss_plot.loss_range)

    def set_runs(self, styles: list[RunStyle]) -> None:
        self._row_stats.clear()
        self.loss_plot.set_runs(styles)
        if self.history is not None:
            self.history.set_runs(styles)

    def update_run(self, i: int, positions: np.ndarray, current: int | None = None,
                   losses: np.ndarray | None = None, source: object = None) -> None:
        self.loss_plot.update_run(i, positions, current, losses, source)
        if self.history is not None and losses is not None:
            self.history.update_run(i, losses, current, source)

    def update_rows(self, i: int, positions: np.ndarray, current: int,
                    losses: np.ndarray | None = None, source: object = None) -> None:
        """Run ``i`` of K >= 1 rows: ``positions`` (steps, K, D), ``losses`` (steps',
        K) up to the shown step. One row is drawn as by update_run; K > 1 rows as a
        fan of thin paths with their mean path bold and, in the history, the median
        loss with its 10-90 % band (statistics of new steps only while ``source``,
        e.g. the Trajectory, stays the same)."""
        k = positions.shape[1]
        if k == 1:
            self.loss_plot.update_fan(i, None)
            if self.history is not None:
                self.history.update_band(i, None)
            self.update_run(i, positions[:, 0, :], current,
                            None if losses is None else losses[:, 0], source)
            return
        stats = self._row_stats.setdefault(i, (GrowingRowStats(row_mean),
                                               GrowingRowStats(row_percentiles)))
        shown = positions[: current + 1]
        mean = stats[0].update(shown, source)
        self.loss_plot.update_fan(i, shown, current, source)
        self.loss_plot.update_run(i, mean, current, None, source)
        if self.history is not None and losses is not None:
            self.history.update_band(i, stats[1].update(losses, source), current, source)

    def update_points(self, i: int, paths: dict[str, np.ndarray], current: int,
                      labels: dict[str, str] | None = None) -> None:
        """Run ``i``'s extra points (key -> (steps, D) path; see LossPlot.update_points)."""
        self.loss_plot.update_points(i, paths, current, labels)

    def set_run_visible(self, i: int, visible: bool) -> None:
        self.loss_plot.set_run_visible(i, visible)
        if self.history is not None:
            self.history.set_run_visible(i, visible)

    def batch(self):
        """A context in which several ``update_run`` calls fit the loss history's
        axes once, at its end (see LossHistoryPlot.batch)."""
        return self.history.batch() if self.history is not None else nullcontext()

    def cache_axes(self) -> None:
        """Paint the axes (and their grids and the colour bar) from pixmaps kept
        until they change, instead of replaying them on every frame that moves a run
        (the history's grid spans its whole plot, so every frame repainted it). For
        the window: exported pictures draw the axes as vectors."""
        plots = [self.loss_plot] + ([self.history] if self.history is not None else [])
        items = [a["item"] for p in plots for a in p.getPlotItem().axes.values()]
        self.loss_plot.cached_axes = True
        if self.loss_plot.colorbar is not None:
            items.append(self.loss_plot.colorbar)
        for item in items:
            item.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.loss_plot.cache_static_items()

    def set_playing(self, playing: bool) -> None:
        """Draw for speed while playing, in full when stopped (see LossPlot.set_playing)."""
        self.loss_plot.set_playing(playing)
        if self.history is not None:
            self.history.set_playing(playing)

    def set_step(self, k: int) -> None:
        if self.history is not None:
            self.history.set_step(k)

    def set_start_marker(self, point) -> None:
        self.loss_plot.set_start_marker(point)

    def reset_view(self) -> None:
        self.loss_plot.reset_view()

    def place_legend(self) -> None:
        self.loss_plot.place_legend()

    def centre_title(self) -> None:
        """Side by side, centre the title over the landscape's plot area: centred on
        the whole picture it stood over the gap between the two plots, the title of
        neither (it names the function the landscape draws). Otherwise centred on
        the whole width, which the landscape spans. Call once the plots are laid out."""
        if not self.side_by_side:
            return
        vb = self.loss_plot.getPlotItem().getViewBox()
        rect = self.loss_plot.mapFromScene(vb.sceneBoundingRect()).boundingRect()
        left = self.loss_plot.mapTo(self, rect.topLeft()).x()
        centre, width = left + rect.width() / 2 - self.title.x(), self.title.width()
        # on one line, as near that centre as the picture's edges allow (a long
        # formula moves right rather than wrap)
        top, right, bottom, left = TITLE_PADDING
        text = self.title.fontMetrics().horizontalAdvance(self.title.text()) + left + right + 8
        start = round(min(max(centre - text / 2, 0), width - text)) if text < width else 0
        self._pad_title(top, max(0, width - start - text) + right, bottom, start + left)

    def _pad_title(self, top: int, right: int, bottom: int, left: int) -> None:
        self.title.setStyleSheet(f"QLabel {{ color: {TEXT_COLOUR}; background: white; "
                                 f"padding: {top}px {right}px {bottom}px {left}px; }}")

    def prepare_export(self) -> None:
        """Make the figure a picture rather than a window part: the splitter between
        the plots is a white gap (its grey handle would be drawn into the picture)
        and nothing is painted from a screen cache."""
        # room at the edges: the last tick labels stay whole
        self.layout().setContentsMargins(4, 0, 16, 6)
        # side by side, a wide gap: the colour bar's label and the loss axis' label
        # would read as one pair
        self.splitter.setHandleWidth(40 if self.side_by_side else 12)
        self.splitter.setStyleSheet("QSplitter { background: white; } "
                                    "QSplitter::handle { background: white; image: none; }")
        if self.history is not None:  # its loss axis as wide as its labels (no playback here)
            self.history.drop_step_name_when_short = False
            self.history.getPlotItem().getAxis("bottom").showLabel(True)
            self.history._short = False
            axis = self.history.getPlotItem().getAxis("left")
            axis.setStyle(autoExpandTextSpace=True, tickTextWidth=24)
        for plot in [self.loss_plot] + ([self.history] if self.history is not None else []):
            # their widget background (grey) showed as a line at their edges in an SVG
            plot.setStyleSheet("QGraphicsView { background: white; border: none; }")
        self.setStyleSheet("Figure { background: white; }")
        self.setAutoFillBackground(True)
        palette = self.palette()
        palette.setColor(self.backgroundRole(), QtCore.Qt.GlobalColor.white)
        self.setPalette(palette)

    def thicken_lines(self, factor: float) -> None:
        """Multiply the width of every line pen in the plots by ``factor``.

        Lines are drawn with cosmetic pens (a width in device pixels, whatever the
        painter's scale); a picture painted ``factor`` times larger than its layout
        (text and markers scale with the painter) calls this first, so lines keep
        their proportions. Each item is thickened once, however often this is called
        (items made later are thickened by the next call)."""
        plots = [self.loss_plot] + ([self.history] if self.history is not None else [])
        for plot in plots:
            for item in plot.scene().items():
                thicken_item(item, factor)


def thicken_item(item, factor: float) -> None:
    """Thicken ``item``'s line pen to ``factor`` times its width when first seen
    (see :meth:`Figure.thicken_lines`)."""
    done = getattr(item, "_optsim_thickened", None)
    if done == factor:
        return
    scale = factor / done if done else factor

    def thick(pen) -> QtGui.QPen | None:
        if pen is None:
            return None
        pen = QtGui.QPen(pg.mkPen(pen))
        if pen.style() == QtCore.Qt.PenStyle.NoPen:
            return pen
        pen.setWidthF(max(pen.widthF(), 1.0) * scale)
        return pen

    if isinstance(item, pg.PlotDataItem):
        if item.opts.get("pen") is not None:
            item.setPen(thick(item.opts["pen"]))
    elif isinstance(item, pg.PlotCurveItem):
        if not isinstance(item.parentItem(), pg.PlotDataItem):  # (those: by their owner)
            item.setPen(thick(item.opts["pen"]))
    elif isinstance(item, pg.AxisItem):
        item.setPen(thick(item.pen()))
    elif isinstance(item, QtWidgets.QGraphicsLineItem):
        item.setPen(thick(item.pen()))
    else:
        return
    item._optsim_thickened = factor
