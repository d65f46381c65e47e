"""The read-out of the trajectory point under the mouse (the window only)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore


class TrajectoryHover(QtCore.QObject):
    """Shows step, position and loss of the trajectory point under the mouse."""

    RADIUS_PX = 10

    def __init__(self, plot: pg.PlotItem) -> None:
        super().__init__()
        self.plot = plot
        self.text = pg.TextItem(anchor=(0, 1), color="#202020", fill=pg.mkBrush(255, 255, 255, 230),
                                border=pg.mkPen("#888888"))
        self.text.setZValue(200)
        self.text.setVisible(False)
        plot.addItem(self.text, ignoreBounds=True)
        self.enabled = True
        self._runs: list[tuple[str, np.ndarray, np.ndarray, int]] = []
        self.dim = 2
        self.hit: tuple[int, int] | None = None
        plot.scene().sigMouseMoved.connect(self._moved)

    def set_runs(self, runs: Sequence[tuple[str, np.ndarray, np.ndarray, int]], dim: int) -> None:
        """``(name, positions (K, D), losses (K,), shown step)`` of each visible run."""
        self._runs = list(runs)
        self.dim = dim

    def _moved(self, scene_pos) -> None:
        if not self.enabled or not self.plot.sceneBoundingRect().contains(scene_pos):
            self.text.setVisible(False)
            return
        vb = self.plot.getViewBox()
        p = vb.mapSceneToView(scene_pos)
        self.hover_at(p.x(), p.y())

    def hover_at(self, x: float, y: float) -> str | None:
        """Show the read-out for the point nearest to (x, y) in plot coordinates, if
        within a few pixels; returns its text (None if nothing is near)."""
        vb = self.plot.getViewBox()
        (x0, x1), (y0, y1) = vb.viewRange()
        w, h = max(vb.width(), 1.0), max(vb.height(), 1.0)
        px, py = (x1 - x0) / w, (y1 - y0) / h  # plot units per pixel
        best = None
        for i, (_name, pos, losses, k) in enumerate(self._runs):
            pts = pos[: k + 1]
            ys = pts[:, 1] if self.dim == 2 else losses[: k + 1]
            with np.errstate(all="ignore"):
                d2 = ((pts[:, 0] - x) / px) ** 2 + ((ys - y) / py) ** 2
            if not len(d2) or not np.isfinite(d2).any():
                continue
            j = int(np.nanargmin(d2))
            if d2[j] <= self.RADIUS_PX ** 2 and (best is None or d2[j] < best[0]):
                best = (d2[j], i, j)
        if best is None:
            self.text.setVisible(False)
            self.hit = None
            return None
        _, i, j = best
        name, pos, losses, _k = self._runs[i]
        p = pos[j]
        coords = ", ".join(f"{c:.6g}" for c in p)
        text = f"{name} · step {j}\nw = ({coords})\nloss = {losses[j]:.6g}"
        self.text.setText(text)
        ty = p[1] if self.dim == 2 else losses[j]
        self.text.setPos(float(p[0]), float(ty))
        self.text.setVisible(True)
        self.hit = (i, j)
        return text
