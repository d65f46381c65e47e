"""The picture of a simulation as the window shows it and exports render it: the
landscape (:class:`~optsim.render.plots.LossPlot`) above the loss history
(:class:`~optsim.render.plots.LossHistoryPlot`), under the function's title."""

from __future__ import annotations

from contextlib import nullcontext

import numpy as np
from PySide6 import QtCore, QtWidgets

from ..functions import LossFunction
from .compute import RunStyle, View, title_text
from .plots import LossHistoryPlot, LossPlot
from .theme import LABEL_PT, TEXT_COLOUR


class Figure(QtWidgets.QWidget):
    """A :class:`LossPlot` above a :class:`LossHistoryPlot` (optional), as the window
    shows it and as exported pictures render it."""

    def __init__(self, parent: QtWidgets.QWidget | None = None, with_history: bool = True) -> None:
        super().__init__(parent)
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
        self.title.setStyleSheet(f"QLabel {{ color: {TEXT_COLOUR}; background: white; "
                                 "padding: 4px 8px 0px 8px; }")
        self.title.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored,
                                 QtWidgets.QSizePolicy.Policy.Preferred)
        self.title.hide()
        layout.addWidget(self.title)
        self.splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical, self)
        self.loss_plot = LossPlot(show_title=False)
        self.splitter.addWidget(self.loss_plot)
        self.history: LossHistoryPlot | None = None
        if with_history:
            self.history = LossHistoryPlot()
            self.splitter.addWidget(self.history)
            self.splitter.setStretchFactor(0, 3)
            self.splitter.setStretchFactor(1, 1)
        layout.addWidget(self.splitter)
        self.clicked = self.loss_plot.clicked

    def set_function(self, fn: LossFunction, view: View | None = None) -> None:
        self.loss_plot.set_function(fn, view)
        self.title.setText(title_text(fn))
        self.title.setToolTip(fn.formula)
        self.title.show()
        if self.history is not None and self.loss_plot.loss_range is not None:
            self.history.set_loss_range(*self.loss_plot.loss_range)

    def set_runs(self, styles: list[RunStyle]) -> None:
        self.loss_plot.set_runs(styles)
        if self.history is not None:
            self.history.set_runs(styles)

    def update_run(self, i: int, positions: np.ndarray, current: int | None = None,
                   losses: np.ndarray | None = None, source: object = None) -> None:
        self.loss_plot.update_run(i, positions, current, losses, source)
        if self.history is not None and losses is not None:
            self.history.update_run(i, losses, current, source)

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
