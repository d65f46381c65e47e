"""Pictures of the local geometry (pyqtgraph items, shared by the window and exports):
the Taylor overlay on the landscape plot, the loss along the next step, and the
sharpness against the stability threshold. The numbers come from :mod:`optsim.geometry`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from ..geometry import EdgeOfStability, LocalModel, StepSlice
from .compute import contour_segments
from .items import cosmetic_pen, plain_axes
from .theme import TEXT_COLOUR

View = tuple[tuple[float, float], tuple[float, float]]

#: the grid the model's contours are drawn from, per axis
MODEL_GRID = 90
#: the first-order model (a plane: straight contours) and the second-order one
FIRST_ORDER_COLOUR = (90, 90, 90)
SECOND_ORDER_COLOUR = (200, 30, 30)
EIGEN_COLOUR = (20, 20, 20)
#: the backing of the eigenvalue labels (as the legends': pale, slightly see-through)
LABEL_FILL = (255, 255, 255, 200)


def _dash(colour, width: float = 1.6) -> QtGui.QPen:
    return cosmetic_pen(colour, width, QtCore.Qt.PenStyle.DashLine)


class TaylorOverlay(pg.ItemGroup):
    """At one point: contours of the first-order model (straight lines), of the
    second-order model (ellipses, or hyperbolas at a saddle), the model's stationary
    point (the Newton target) and the Hessian's eigen-directions with their
    eigenvalues and the condition number. In 1D: the tangent and the osculating
    parabola."""

    def __init__(self) -> None:
        super().__init__()
        self.first = pg.PlotCurveItem(pen=_dash(FIRST_ORDER_COLOUR, 1.3))
        self.second = pg.PlotCurveItem(pen=_dash(SECOND_ORDER_COLOUR, 1.8))
        self.eigen = pg.PlotCurveItem(pen=cosmetic_pen(EIGEN_COLOUR, 2.2))
        self.target = pg.ScatterPlotItem(symbol="x", size=15, pen=pg.mkPen(SECOND_ORDER_COLOUR,
                                                                           width=3), brush=None)
        # on a pale backing: readable over the contours and paths
        self.labels = [pg.TextItem(color=TEXT_COLOUR, anchor=(0, 1), fill=LABEL_FILL)
                       for _ in range(2)]
        #: what the overlay shows, in words (the window puts it in the status bar and
        #: the Geometry dock; on the plot it would cover data)
        self.description = ""
        for item in (self.first, self.second, self.eigen, self.target, *self.labels):
            item.setParentItem(self)
        self.setZValue(25)  # over the contours and paths, under the arrows and markers

    def show_model(self, model: LocalModel, view: View, levels: np.ndarray | None = None,
                   dim: int = 2) -> None:
        """Draw ``model`` over ``view``; ``levels`` (losses) for the contours (default:
        a dozen around the model's value)."""
        if dim == 1:
            self._show_1d(model, view)
            return
        (x0, x1), (y0, y1) = view
        xs, ys = np.linspace(x0, x1, MODEL_GRID), np.linspace(y0, y1, MODEL_GRID)
        X, Y = np.meshgrid(xs, ys)
        pts = np.column_stack([X.ravel(), Y.ravel()])
        q1 = model.first_order(pts).reshape(X.shape)
        q2 = model.second_order(pts).reshape(X.shape)
        if levels is None or len(levels) == 0:
            spread = np.nanpercentile(np.abs(q2 - model.value), 90) or 1.0
            levels = model.value + spread * np.linspace(-1, 1, 13)
        lv = np.asarray(levels, dtype=np.float64)
        for item, z in ((self.first, q1), (self.second, q2)):
            cx, cy = contour_segments(xs, ys, z, lv)
            item.setData(cx, cy, connect="pairs")
        w, lam, vec = model.point, model.eigenvalues, model.eigenvectors
        half = 0.18 * min(x1 - x0, y1 - y0)
        lo, hi = np.array([x0, y0], dtype=np.float64), np.array([x1, y1], dtype=np.float64)
        span = hi - lo
        ends = []
        for j in range(2):
            d = vec[:, j] * half
            ends.append((w - d, w + d))
        ex = np.array([ends[0][0][0], ends[0][1][0], ends[1][0][0], ends[1][1][0]])
        ey = np.array([ends[0][0][1], ends[0][1][1], ends[1][0][1], ends[1][1][1]])
        self.eigen.setData(ex, ey, connect="pairs")
        centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
        for j, label in enumerate(self.labels):
            # at the end of the axis farther inside the view, the text running towards
            # the centre: away from the view's edges and corners, where the legend and
            # the arrows' key sit
            tip = max(ends[j], key=lambda e: float(np.min(
                np.concatenate([e - lo, hi - e]) / np.concatenate([span, span]))))
            label.setText(f"\u03bb{chr(0x2081 + j)} = {lam[j]:.4g}")
            label.setAnchor((0.0 if tip[0] <= centre[0] else 1.0,
                             1.0 if tip[1] <= centre[1] else 0.0))
            label.setPos(float(tip[0]), float(tip[1]))
        target = model.newton_target
        if target is not None:
            self.target.setData([target[0]], [target[1]])
        else:
            self.target.setData([], [])
        kind = {"minimum": "Newton target: the model's minimum",
                "maximum": "Newton target: the model's MAXIMUM",
                "saddle": "Newton target: the model's SADDLE",
                "degenerate": "no Newton target (H singular)"}[model.kind]
        cond = "\u221e" if not np.isfinite(model.condition) else f"{model.condition:.4g}"
        self.description = (f"Taylor model: dashed grey 1st order (a plane), dashed red 2nd "
                            f"order; \u00d7 {kind}; \u03bb\u2081, \u03bb\u2082 along the "
                            f"Hessian's eigen-directions; \u03ba = {cond}")
        self.setVisible(True)

    def _show_1d(self, model: LocalModel, view: View) -> None:
        (x0, x1), _ = view
        xs = np.linspace(x0, x1, 400)
        pts = xs[:, None]
        self.first.setData(xs, model.first_order(pts))
        self.second.setData(xs, model.second_order(pts))
        self.eigen.setData([], [])
        for label in self.labels:
            label.setText("")
        target = model.newton_target
        if target is not None:
            self.target.setData([target[0]], model.second_order(target[None]))
        else:
            self.target.setData([], [])
        self.description = (f"Taylor model: the tangent (dashed grey) and the osculating "
                            f"parabola (dashed red), f''(x) = {model.eigenvalues[0]:.4g}; "
                            f"\u00d7 its vertex (the Newton target)")
        self.setVisible(True)


class SlicePlot(pg.PlotWidget):
    """The loss along the next step, φ(s) = f(w + s·d): s = 0 where the step starts,
    s = 1 where it lands, the exact minimum along d and the Armijo line."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent, axisItems=plain_axes())
        self.setBackground("w")
        item = self.getPlotItem()
        item.setTitle("loss along the next step", color=TEXT_COLOUR)
        item.setLabel("bottom", "s  (w + s\u00b7step)")
        item.showAxis("top", False)
        item.showAxis("right", False)
        item.setLabel("left", "loss")
        item.showGrid(x=True, y=True, alpha=0.15)
        self.curve = self.plot(pen=cosmetic_pen((0, 114, 178), 2.4))
        self.armijo = self.plot(pen=_dash((120, 120, 120), 1.4))
        self.lands = pg.InfiniteLine(pos=1.0, angle=90, pen=_dash((40, 40, 40), 1.2),
                                     label="step lands", labelOpts={"position": 0.92,
                                                                    "color": TEXT_COLOUR})
        self.addItem(self.lands)
        self.start = pg.ScatterPlotItem(size=9, brush=pg.mkBrush(40, 40, 40), pen=None)
        self.landing = pg.ScatterPlotItem(size=11, brush=pg.mkBrush(0, 114, 178), pen=pg.mkPen("w"))
        self.best = pg.ScatterPlotItem(symbol="star", size=16, brush=pg.mkBrush(255, 255, 255),
                                       pen=pg.mkPen((20, 20, 20), width=1.2))
        for it in (self.start, self.landing, self.best):
            self.addItem(it)
        #: the verdict in words (the window shows it beside the plot)
        self.verdict = ""
        self.setMinimumHeight(150)

    def show_slice(self, sl: StepSlice | None, colour: str | None = None) -> None:
        """Draw ``sl`` (None: nothing to show)."""
        if sl is None:
            for it in (self.curve, self.armijo):
                it.setData([], [])
            for it in (self.start, self.landing, self.best):
                it.setData([], [])
            self.verdict = "no step to show"
            return
        if colour is not None:
            self.curve.setPen(cosmetic_pen(colour, 2.4))
            self.landing.setBrush(pg.mkBrush(colour))
        finite = np.isfinite(sl.values)
        self.curve.setData(sl.s[finite], sl.values[finite])
        self.armijo.setData(sl.s, sl.armijo)
        self.start.setData([0.0], [sl.start])
        self.landing.setData([1.0], [sl.landing])
        self.best.setData([sl.best_s], [sl.best_value])
        verdict = ("overshoots the minimum along it" if sl.overshoots
                   else "stops short of the minimum along it")
        armijo = "meets" if sl.armijo_holds else "FAILS"
        self.verdict = (f"the step {verdict} (\u2606 at s* = {sl.best_s:.3g}) and {armijo} "
                        f"Armijo's sufficient decrease (the dashed line)")
        vb = self.getPlotItem().getViewBox()
        vals = sl.values[finite]
        if vals.size:
            lo, hi = float(vals.min()), float(vals.max())
            pad = 0.08 * (hi - lo or 1.0)
            span = sl.s[-1] - sl.s[0]  # (room for the markers at the ends)
            vb.setRange(xRange=(sl.s[0] - 0.03 * span, sl.s[-1] + 0.03 * span),
                        yRange=(lo - pad, hi + pad), padding=0)


class StabilityPlot(pg.PlotWidget):
    """Per run, the sharpness λmax(∇²f) (or the preconditioned λmax(P⁻¹H)) at each step,
    solid, against the optimizer's stability threshold (2/lr for GD, ...), dashed, in
    the run's colour; log scale."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent, axisItems=plain_axes(integer_bottom=True))
        self.setBackground("w")
        item = self.getPlotItem()
        item.setTitle("edge of stability", color=TEXT_COLOUR)
        self.setToolTip("Each run's sharpness \u03bbmax(H) (solid; \u03bbmax(P\u207b\u00b9H) "
                        "for Adam, RMSProp, Adagrad) and its stability threshold (dashed: 2/lr "
                        "for GD, (2 + 2\u03bc)/lr with momentum, ...)")
        item.setLabel("bottom", "step")
        item.showAxis("top", False)
        item.showAxis("right", False)
        item.setLogMode(x=False, y=True)
        item.showGrid(x=True, y=True, alpha=0.15)
        self.sharp: list[pg.PlotDataItem] = []
        self.limit: list[pg.PlotDataItem] = []
        self._colours: list[str] = []
        self.now = pg.InfiniteLine(pos=0, angle=90, pen=_dash((60, 60, 60), 1.0))
        self.addItem(self.now)
        self.setMinimumHeight(150)

    def set_runs(self, colours: Sequence[str]) -> None:
        """One solid and one dashed curve per run, in its colour (made once)."""
        if list(colours) == self._colours:
            return
        self._colours = list(colours)
        while len(self.sharp) < len(colours):
            self.sharp.append(self.plot())
            self.limit.append(self.plot())
        for i, (s, t) in enumerate(zip(self.sharp, self.limit, strict=True)):
            shown = i < len(colours)
            s.setVisible(shown)
            t.setVisible(shown)
            if shown:
                s.setPen(cosmetic_pen(colours[i], 2.2))
                t.setPen(_dash(colours[i], 1.6))

    def update_run(self, i: int, eos: EdgeOfStability | None, row: int = 0) -> None:
        """Run ``i``'s curves (None: hidden)."""
        if eos is None:
            self.sharp[i].setData([], [])
            self.limit[i].setData([], [])
            return
        x = eos.steps.astype(np.float64)
        s = np.abs(eos.sharpness[:, row])  # log scale: the size of a negative curvature
        ok = np.isfinite(s) & (s > 0)
        self.sharp[i].setData(x[ok], s[ok])
        t = eos.threshold[:, row]
        okt = np.isfinite(t) & (t > 0)
        self.limit[i].setData(x[okt], t[okt])

    def set_step(self, k: int) -> None:
        self.now.setPos(k)
