"""Curvature you can see, in the window: View > Taylor model draws the local models of
the selected run at the shown step over the landscape; View > Geometry opens a dock with
the loss along that run's next step (the slice) and every run's sharpness against its
stability threshold (the edge of stability). Both observe the model and compute from
:mod:`optsim.geometry`; nothing here steps a run."""

from __future__ import annotations

import math
import weakref
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QSplitter, QVBoxLayout, QWidget

from ..render.compute import landscape
from .lazy_dock import LazyDock
from .throttle import Throttle

if TYPE_CHECKING:
    from ..geometry import EdgeOfStability
    from ..render.geometry_items import TaylorOverlay

# (optsim.geometry and the geometry items are imported on first use, in the
# functions below: the window's first paint shows neither, ~5 ms of its start-up)

#: the edge-of-stability plot computes at most this many steps per run (every k-th)
MAX_EOS_POINTS = 1500
#: while playing, the geometry redraws at most this often (as the status read-outs: its
#: numbers cannot be read faster, and a refresh costs milliseconds per run)
PLAYING_INTERVAL_MS = 250


def _selected(model: Any) -> int | None:
    runs = model.runs
    if not runs:
        return None
    i = model.selected if 0 <= model.selected < len(runs) else 0
    return i


def _shown_row(run: Any) -> int:
    row = run.shown_row
    return 0 if row is None else int(row)


class _Coalesced(QObject):
    """Many model signals of one step (a run each) make one refresh; while playing at
    most one per interval."""

    def __init__(self, action, window: Any) -> None:
        super().__init__(window)
        self._throttle = Throttle(action, PLAYING_INTERVAL_MS, self)
        self._queued = False
        playback = getattr(window, "playback", None)
        if playback is not None:
            playback.playingChanged.connect(self._playing)

    def __call__(self, *_: object) -> None:
        if not self._queued:
            self._queued = True
            QTimer.singleShot(0, self._flush)

    def _flush(self) -> None:
        self._queued = False
        self._throttle.request()

    def _playing(self, on: bool) -> None:
        self._throttle.active = bool(on)
        if not on:
            self._throttle.request()


class TaylorToggle(QObject):
    """View > Taylor model: the selected run's local models at the shown step."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.model = window.model
        self._overlay: TaylorOverlay | None = None
        self.action = QAction("&Taylor model at the shown step", window)
        self.action.setCheckable(True)
        self.action.setShortcut(QKeySequence("Ctrl+T"))
        self.action.setToolTip("The selected run's first- and second-order models, the "
                               "Newton target and the Hessian's eigen-directions")
        self.action.toggled.connect(self.refresh)
        window.addAction(self.action)
        self._refresh = _Coalesced(self.refresh, window)
        m = self.model
        for sig in (m.stepChanged, m.runChanged, m.runsChanged, m.selectionChanged,
                    m.functionChanged, m.viewChanged):
            sig.connect(self._refresh)

    @property
    def overlay(self) -> TaylorOverlay:
        """The overlay on the window's plot (made on first use)."""
        if self._overlay is None:
            from ..render.geometry_items import TaylorOverlay

            self._overlay = TaylorOverlay()
            self._overlay.setVisible(False)
            self.window.plot.getPlotItem().addItem(self._overlay, ignoreBounds=True)
        return self._overlay

    def refresh(self, *_: object) -> None:
        if not self.action.isChecked():
            if self._overlay is not None:
                if self._overlay.isVisible():
                    self.window.statusBar().clearMessage()
                self._overlay.setVisible(False)
            return
        from ..geometry import local_model

        i = _selected(self.model)
        if i is None:
            self.overlay.setVisible(False)
            return
        run = self.model.runs[i]
        w = run.position(run.displayed_step(self.model.shown_step))
        fn = self.model.function
        if not np.isfinite(w).all():
            self.overlay.setVisible(False)
            return
        with np.errstate(all="ignore"):
            m = local_model(fn, w)
        if not (np.isfinite(m.hessian).all() and np.isfinite(m.gradient).all()):
            self.overlay.setVisible(False)
            return
        view = self.model.view
        levels = None
        if fn.dim == 2:
            land = landscape(fn, view)
            levels = (land.zmin + 10.0 ** np.asarray(land.levels)) if land.log \
                else np.asarray(land.levels)
            (x0, x1), (y0, y1) = view
            vb = self.window.plot.getPlotItem().getViewBox().viewRange()
            view = ((min(x0, vb[0][0]), max(x1, vb[0][1])), (min(y0, vb[1][0]), max(y1, vb[1][1])))
        self.overlay.show_model(m, view, levels, fn.dim)
        self.window.statusBar().showMessage(self.overlay.description, 0)


class GeometryPanel(QWidget):
    """The Geometry dock: the slice along the selected run's next step, and every
    visible run's sharpness against its stability threshold."""

    def __init__(self, window: Any) -> None:
        from ..render.geometry_items import SlicePlot, StabilityPlot

        super().__init__()
        self.window = window
        self.model = window.model
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        self.numbers = QLabel()
        self.numbers.setWordWrap(True)
        self.numbers.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.slice_plot = SlicePlot()
        self.stability_plot = StabilityPlot()
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.slice_plot)
        split.addWidget(self.stability_plot)
        layout.addWidget(self.numbers)
        layout.addWidget(split, 1)
        #: per trajectory: (stride, EdgeOfStability); weak, so that a trajectory made
        #: later at the same address (a run changed to 64 rows) never finds another's
        self._eos: weakref.WeakKeyDictionary[Any, tuple[int, EdgeOfStability]] = \
            weakref.WeakKeyDictionary()
        self._refresh = _Coalesced(self.refresh, window)
        m = self.model
        for sig in (m.stepChanged, m.runChanged, m.runsChanged, m.selectionChanged,
                    m.functionChanged, m.viewChanged, m.startChanged):
            sig.connect(self._refresh)
        self.refresh()

    def refresh(self, *_: object) -> None:
        if not self.isVisible() and self.window.isVisible():
            return  # a hidden dock costs nothing; shown, it refreshes
        self._refresh_slice()
        self._refresh_stability()

    def showEvent(self, ev) -> None:  # noqa: N802 (Qt)
        super().showEvent(ev)
        QTimer.singleShot(0, self.refresh)

    # -- the slice along the next step ---------------------------------------------------
    def _refresh_slice(self) -> None:
        from ..geometry import local_model, step_slice

        i = _selected(self.model)
        if i is None:
            self.slice_plot.show_slice(None)
            self.numbers.setText("no run")
            return
        run = self.model.runs[i]
        k = run.displayed_step(self.model.shown_step)
        row = _shown_row(run)
        fn = self.model.function
        t = run.trajectory
        w = t.positions[k, row]
        with np.errstate(all="ignore"):
            d = t.next_update(k)[row]
            ok = np.isfinite(w).all() and np.isfinite(d).all()
            sl = step_slice(fn, w, d) if ok and np.any(d) else None
            m = local_model(fn, w) if np.isfinite(w).all() else None
        self.slice_plot.show_slice(sl, run.colour)
        parts = [f"<b>{run.name}</b>, step {k}"]
        if m is not None and np.isfinite(m.eigenvalues).all():
            lam = ", ".join(f"{v:.4g}" for v in m.eigenvalues)
            cond = "\u221e" if not math.isfinite(m.condition) else f"{m.condition:.4g}"
            parts.append(f"Hessian eigenvalues {lam}; \u03ba = {cond}")
        parts.append(self.slice_plot.verdict)
        self.numbers.setText(" · ".join(parts))

    # -- the edge of stability --------------------------------------------------------------
    def _refresh_stability(self) -> None:
        runs = [r for r in self.model.runs if r.visible]
        self.stability_plot.set_runs([r.colour for r in runs])
        for j, run in enumerate(runs):
            k = run.displayed_step(self.model.shown_step)
            eos = self._edge(run.trajectory, k)
            self.stability_plot.update_run(j, eos, _shown_row(run))
        self.stability_plot.set_step(self.model.shown_step)
        self.stability_plot.getPlotItem().setTitle(
            "edge of stability: sharpness (solid) vs threshold (dashed)" if self.width() > 420
            else "sharpness vs threshold (dashed)")

    def _edge(self, t: Any, k: int) -> EdgeOfStability | None:
        """Sharpness and threshold at steps 0..k (every stride-th), grown from the last
        computation rather than computed again."""
        from ..geometry import EdgeOfStability, edge_of_stability

        stride = max(1, math.ceil((k + 1) / MAX_EOS_POINTS))
        want = np.arange(0, k + 1, stride)
        cached = self._eos.get(t)
        if cached is not None and cached[0] == stride:
            old = cached[1]
            have = old.steps
            if have.size and have[-1] <= k and np.array_equal(have, want[: have.size]):
                new = want[have.size:]
                if new.size == 0:
                    return old
                with np.errstate(all="ignore"):
                    more = edge_of_stability(t, new)
                eos = EdgeOfStability(want, np.vstack([old.sharpness, more.sharpness]),
                                      np.vstack([old.threshold, more.threshold]),
                                      old.preconditioned or more.preconditioned,
                                      more.formula or old.formula)
                self._eos[t] = (stride, eos)
                return eos
        with np.errstate(all="ignore"):
            eos = edge_of_stability(t, want)
        self._eos[t] = (stride, eos)
        return eos


class Geometry(LazyDock):
    """View > Geometry (Ctrl+G): its dock (made on first use); and the Taylor overlay's
    toggle."""

    def __init__(self, window: Any) -> None:
        super().__init__(window, "&Geometry: slice and edge of stability", "Ctrl+G",
                         "The loss along the selected run's next step, and each run's "
                         "sharpness against its stability threshold", "Geometry",
                         "geometry_dock", lambda: GeometryPanel(window),
                         lambda panel: panel.refresh())
        self.taylor = TaylorToggle(window)


def install(window: Any) -> Geometry:
    """Add View > Taylor model and View > Geometry to a window."""
    geometry = Geometry(window)
    window.geometry_view = geometry
    window.view_menu.addSeparator()
    window.view_menu.addAction(geometry.taylor.action)
    window.view_menu.addAction(geometry.action)
    return geometry


__all__ = ["Geometry", "GeometryPanel", "TaylorToggle", "install"]
