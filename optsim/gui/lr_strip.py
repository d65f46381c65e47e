"""The learning-rate strip: lr(t) of every visible run, a small plot under the loss
history that shares its step axis, with the shown step marked. A run with a
schedule shows its schedule's plan (thin) and the learning rates its steps used
(thick, up to the computed step); a run without one is a flat line at its lr.
Also the marks of clipped steps on the loss history (one ring per step where
clipping changed the gradient)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from ..render.items import plain_axes, style_axes

#: the strip's height in pixels (it is a read-out, not a second plot)
STRIP_HEIGHT = 80
CLIP_MARK_COLOUR = "#d55e00"


def _pen(colour: str, width: float = 1.5, style=QtCore.Qt.PenStyle.SolidLine) -> QtGui.QPen:
    pen = pg.mkPen(colour, width=width, style=style)
    pen.setCosmetic(True)
    return pen


class LrStrip(pg.PlotWidget):
    """lr against step for every run (see the module docstring)."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent=parent, background="w", enableMenu=False,
                         axisItems=plain_axes())
        plot = self.getPlotItem()
        plot.setMenuEnabled(False)
        style_axes(plot, "", "lr")
        plot.showGrid(x=True, y=True, alpha=0.25)
        plot.hideAxis("bottom")  # the history's step axis, just above, is this one's
        plot.setMouseEnabled(x=False, y=False)
        self.setMinimumHeight(50)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding,
                           QtWidgets.QSizePolicy.Policy.Preferred)
        self.setToolTip("Learning rate of each step: the schedule's plan (thin) and the "
                        "steps taken (thick); the dashed line is the shown step")
        self.step_line = pg.InfiniteLine(angle=90, pen=_pen("#555555", 1.2,
                                                            QtCore.Qt.PenStyle.DashLine))
        plot.addItem(self.step_line, ignoreBounds=True)
        self._items: list[pg.PlotDataItem] = []
        self.left_width = 0

    def link_to(self, history: pg.PlotWidget) -> None:
        """Share the history's step axis, and line the plot areas up (the left axes
        as wide as each other, whatever the history's labels need)."""
        # the history sets the steps shown; the strip's own auto-range (over no data,
        # or its first steps) must not pull the linked history to [0.5, 1.5]
        self.getPlotItem().enableAutoRange(x=False)
        self.getPlotItem().setXLink(history.getPlotItem())
        axis = history.getPlotItem().getAxis("left")

        def match() -> None:
            width = int(round(axis.geometry().width()))
            if width > 0 and width != self.left_width:
                self.left_width = width
                self.getPlotItem().getAxis("left").setWidth(width)

        axis.geometryChanged.connect(match)
        match()

    def set_runs(self, runs: list[tuple[str, np.ndarray | None, np.ndarray, bool]]) -> None:
        """Per run: (colour, planned lrs of steps 1..H or None, used lrs of steps
        1..S (or its steps as (x, y) points: a 2-row array), visible). The items are
        reused from call to call (this runs on every shown step)."""
        plot = self.getPlotItem()
        while len(self._items) < 2 * len(runs):
            item = pg.PlotDataItem()
            plot.addItem(item)
            self._items.append(item)
        for item in self._items[2 * len(runs):]:
            item.setVisible(False)
        lo, hi = np.inf, -np.inf
        for i, (colour, plan, used, visible) in enumerate(runs):
            for j, (values, width, alpha) in enumerate(((plan, 1.0, 110), (used, 2.2, 255))):
                item = self._items[2 * i + j]
                if not visible or values is None or len(values) == 0:
                    item.setVisible(False)
                    continue
                if values.ndim == 2:
                    steps, values = values
                else:
                    steps = np.arange(1, len(values) + 1, dtype=np.float64)
                key = (colour, width)
                if getattr(item, "_optsim_style", None) != key:
                    c = QtGui.QColor(colour)
                    c.setAlpha(alpha)
                    item.setPen(_pen(c, width))
                    item._optsim_style = key
                item.setData(steps, values)
                item.setVisible(True)
                finite = values[np.isfinite(values)]
                if finite.size:
                    lo, hi = min(lo, float(finite.min())), max(hi, float(finite.max()))
        if np.isfinite(lo) and (lo, hi) != getattr(self, "_y", None):
            self._y = (lo, hi)
            pad = (hi - lo) * 0.08 or max(abs(hi) * 0.1, 1e-12)
            plot.setYRange(max(0.0, lo - pad) if lo >= 0 else lo - pad, hi + pad, padding=0)

    def sizeHint(self) -> QtCore.QSize:  # noqa: N802 (Qt override)
        return QtCore.QSize(400, STRIP_HEIGHT)

    def set_step(self, k: int) -> None:
        self.step_line.setValue(k)

    def curves(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The drawn (steps, lrs) pairs (for tests)."""
        return [item.getData() for item in self._items if item.isVisible()]


class ClipMarks:
    """Rings on the loss history at the steps where clipping acted, per run."""

    def __init__(self, history: pg.PlotWidget) -> None:
        self.history = history
        self.item = pg.ScatterPlotItem(symbol="o", size=9, pen=_pen(CLIP_MARK_COLOUR, 1.6),
                                       brush=None)
        self.item.setZValue(20)
        self.item.setToolTip("steps where gradient clipping changed the gradient")
        history.getPlotItem().addItem(self.item)

    def set_marks(self, marks: list[tuple[np.ndarray, np.ndarray]]) -> None:
        """Per run: (steps where clipping acted, the losses after them)."""
        xs = [m[0] for m in marks if len(m[0])]
        ys = [m[1] for m in marks if len(m[0])]
        if not xs:
            self.item.setData([], [])
            return
        x, y = np.concatenate(xs), np.concatenate(ys)
        if getattr(self.history, "_log", False):  # the history's log scale: log10 data
            y = np.log10(np.maximum(y, 1e-300))
        self.item.setData(x, y)

    def count(self) -> int:
        return len(self.item.data)
