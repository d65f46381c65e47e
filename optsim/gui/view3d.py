"""The window's 3D view: a dock with the function's surface, every visible run's path
on it and its current points as balls, linked to the model (same runs, colours and shown
step: the toolbar's play, step and back keys move it too). Orbit with the mouse (drag),
zoom with the wheel, "Reset camera" returns to the default view; "Orbit" turns it
slowly. Made when first opened (View > 3D view, F3), so it costs nothing at start-up.
Where OpenGL is not available the dock says so in one line and the rest of the window
works."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..files import ExportError
from ..render.compute import landscape
from .lazy_dock import LazyDock

#: degrees per tick of the slow orbit (30 ticks a second: a turn in about 24 s)
ORBIT_STEP = 0.5
#: while playing, the 3D view redraws at most this often (software OpenGL draws the
#: surface in tens of milliseconds; the 2D plot keeps the full frame rate)
PLAYING_INTERVAL_MS = 100


def _rgba(colour: str) -> tuple[float, float, float, float]:
    c = QColor(colour)
    return (c.redF(), c.greenF(), c.blueF(), 1.0)


class View3DPanel(QWidget):
    """The 3D dock's content: the scene (or the line saying why there is none) and its
    buttons. Observes the model; never steps anything."""

    def __init__(self, window: Any) -> None:
        super().__init__()
        from ..render.surface3d import opengl_problem

        self.window = window
        self.model = window.model
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        #: why there is no 3D view (None: there is one)
        self.problem: str | None = opengl_problem()
        self.scene = None
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.message, 1)
        if self.problem is not None:
            self.message.setText(self.problem)
            return
        from ..render.surface3d import SurfaceScene

        self.scene = SurfaceScene()
        # the keys stay the window's (GLViewWidget turns the camera on arrow keys,
        # which step the runs here); the mouse orbits and zooms
        self.scene.widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        layout.addWidget(self.scene.widget, 1)
        bar = QHBoxLayout()
        self.reset_button = QPushButton("Reset")
        self.reset_button.setToolTip("The default camera (drag to orbit, wheel to zoom)")
        self.reset_button.clicked.connect(self.scene.reset_camera)
        self.orbit_box = QCheckBox("Orbit")
        self.orbit_box.setToolTip("Turn the camera slowly around the surface")
        self.orbit_box.toggled.connect(self._orbit_toggled)
        self.png_button = QPushButton("PNG…")
        self.png_button.setToolTip("Export the 3D view as a picture")
        self.png_button.clicked.connect(self.export_picture)
        self.anim_button = QPushButton("GIF/MP4…")
        self.anim_button.setToolTip("Export the runs growing on the surface (with the orbit "
                                    "when Orbit is ticked)")
        self.anim_button.clicked.connect(self.export_animation)
        for w in (self.reset_button, self.orbit_box):
            bar.addWidget(w)
        bar.addStretch(1)
        for w in (self.png_button, self.anim_button):
            bar.addWidget(w)
        layout.addLayout(bar)
        self._timer = QTimer(self)
        self._timer.setInterval(33)
        self._timer.timeout.connect(lambda: self.scene.orbit(ORBIT_STEP))
        from .throttle import Throttle

        # one redraw for the many signals of one step (a run each), and while playing
        # a few a second
        self._runs = Throttle(self.refresh_runs, PLAYING_INTERVAL_MS, self)
        playback = getattr(window, "playback", None)
        if playback is not None:
            playback.playingChanged.connect(self._playing)
        m = self.model
        m.functionChanged.connect(self.refresh_function)
        m.viewChanged.connect(self.refresh_function)
        for signal in (m.runsChanged, m.runChanged, m.stepChanged, m.startChanged):
            signal.connect(self._runs_changed)
        self.refresh_function()

    # -- observing the model ----------------------------------------------------------
    def refresh_function(self, *_: object) -> None:
        """The surface of the model's function (2D only; 1D says so)."""
        if self.scene is None:
            return
        fn = self.model.function
        flat = fn.dim != 2
        self.message.setVisible(flat)
        self.scene.widget.setVisible(not flat)
        if flat:
            self.message.setText(f"{fn.name} is 1D: the 3D view shows 2D functions")
            return
        self.scene.set_landscape(landscape(fn, self.model.view))
        self.refresh_runs()

    def refresh_runs(self, *_: object) -> None:
        """Each visible run's path up to its displayed step, one ball per row."""
        if self.scene is None or self.model.function.dim != 2:
            return
        paths, losses, colours = [], [], []
        for run in self.model.runs:
            if not run.visible:
                continue
            k = run.displayed_step(self.model.shown_step)
            pos = run.trajectory.positions[: k + 1]  # (k+1, K, 2)
            loss = run.trajectory.losses[: k + 1]  # (k+1, K)
            pts, vals = _rows_joined(pos, loss)
            paths.append(pts)
            losses.append(vals)
            colours.append(_rgba(run.colour))
        self.scene.set_runs(paths, losses, colours)

    def _runs_changed(self, *_: object) -> None:
        self._pending = True
        if not getattr(self, "_queued", False):
            self._queued = True
            QTimer.singleShot(0, self._flush)

    def _flush(self) -> None:
        self._queued = False
        if self._pending:
            self._pending = False
            self._runs.request()

    def _playing(self, on: bool) -> None:
        self._runs.active = bool(on)
        if not on:
            self._runs.request()

    def _orbit_toggled(self, on: bool) -> None:
        if on:
            self._timer.start()
        else:
            self._timer.stop()

    # -- exports -------------------------------------------------------------------------
    def run_data(self) -> list[tuple[str, str, np.ndarray, np.ndarray]]:
        """The visible runs as the exporters take them (one entry per row), up to the
        shown step."""
        out = []
        for run in self.model.runs:
            if not run.visible:
                continue
            k = run.displayed_step(self.model.shown_step)
            pos, loss = run.trajectory.positions[: k + 1], run.trajectory.losses[: k + 1]
            for r in range(pos.shape[1]):
                out.append((run.name, run.colour, pos[:, r], loss[:, r]))
        return out

    def export_picture(self, path: str | None = None) -> str | None:
        """Save the 3D view as a PNG (asks for the file when ``path`` is None)."""
        from ..export.surface3d import render_3d_png

        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Export 3D picture", "surface.png",
                                                  "PNG image (*.png)")
            if not path:
                return None
        try:
            return render_3d_png(path, self.model.function, self.run_data(),
                                 orbit=self.scene.azimuth - _default_azimuth())
        except (ExportError, ValueError, OSError) as exc:
            self._error(f"could not export the 3D picture: {exc}")
            return None

    def export_animation(self, path: str | None = None, orbit: bool | None = None) -> bool:
        """Save the runs growing on the surface as a GIF or MP4, with the slow orbit when
        the Orbit box is ticked (asks for the file when ``path`` is None)."""
        from ..export.surface3d import write_3d_animation

        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Export 3D animation", "surface.gif",
                                                  "GIF animation (*.gif);;MP4 video (*.mp4)")
            if not path:
                return False
        try:
            return write_3d_animation(path, self.model.function, self.run_data(),
                                      orbit=self.orbit_box.isChecked() if orbit is None else orbit)
        except (ExportError, ValueError, OSError) as exc:
            self._error(f"could not export the 3D animation: {exc}")
            return False

    def _error(self, text: str) -> None:
        self.window.statusBar().showMessage(text, 10000)
        if self.window.isVisible():
            QMessageBox.warning(self, "3D view", text)


def _default_azimuth() -> float:
    from ..render.surface3d import CAMERA

    return float(CAMERA["azimuth"])


def _rows_joined(pos: np.ndarray, loss: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A run's K rows (k+1, K, 2) as one polyline with a NaN row between rows."""
    k1, rows = pos.shape[0], pos.shape[1]
    if rows == 1:
        return pos[:, 0], loss[:, 0]
    pts = np.full((rows * (k1 + 1), 2), np.nan)
    vals = np.full(rows * (k1 + 1), np.nan)
    for r in range(rows):
        pts[r * (k1 + 1): r * (k1 + 1) + k1] = pos[:, r]
        vals[r * (k1 + 1): r * (k1 + 1) + k1] = loss[:, r]
    return pts, vals


class View3D(LazyDock):
    """The View menu's "3D view" toggle (F3) and its dock, made on first use."""

    def __init__(self, window: Any) -> None:
        super().__init__(window, "&3D view", "F3",
                         "The function's surface with the runs on it (OpenGL)", "3D view",
                         "view3d_dock", lambda: View3DPanel(window),
                         # Right and Space keep stepping and running
                         lambda _panel: window.plot.setFocus())


def install(window: Any) -> View3D:
    """Add the 3D view's toggle to the window's View menu (the dock comes on first use)."""
    view = View3D(window)
    window.view3d = view
    window.view_menu.addAction(view.action)
    return view


__all__ = ["View3D", "View3DPanel", "install"]
