"""Pictures of the 3D view: a PNG, and a GIF or MP4 of the runs growing on the surface,
with an optional slow orbit of the camera. Drawn by the same scene as the window's 3D
view (:class:`optsim.render.surface3d.SurfaceScene`), with the function's title and
the runs' names painted over it. Needs OpenGL (a display, or xvfb-run): without it
:class:`~optsim.files.ExportError` says so in one line."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..files import ExportError, atomic_write, check_writable, write_bytes
from ..functions import LossFunction, as_function
from .animation import (
    ExportCancelled,
    Progress,
    _gif_writer,
    _mp4_writer,
    checked_runs,
    plan_animation,
)
from .image import RunData, _check_size, png_bytes

#: a slow orbit: degrees the camera turns over a whole animation
ORBIT_DEGREES = 360.0


def _rgba(colour: str) -> tuple[float, float, float, float]:
    from PySide6.QtGui import QColor

    c = QColor(colour)
    return (c.redF(), c.greenF(), c.blueF(), 1.0)


class SurfaceRenderer:
    """The 3D scene of ``runs`` on ``function`` at ``size``, drawn at any step (and
    camera azimuth) as an (H, W, 3) array; with the title and a key of the runs."""

    def __init__(self, function: str | LossFunction, runs: Sequence[RunData],
                 size: tuple[int, int], view=None) -> None:
        from PySide6.QtCore import Qt

        from ..render.compute import landscape, title_text
        from ..render.qt_app import ensure_app, has_display
        from ..render.surface3d import SurfaceScene, opengl_problem

        ensure_app(offscreen_if_headless=not has_display())
        problem = opengl_problem()
        if problem is not None:
            raise ExportError(problem)
        self.function = as_function(function)
        if self.function.dim != 2:
            raise ValueError(f"{self.function.name} is {self.function.dim}D: the 3D view "
                             "shows 2D functions")
        self.size = _check_size(size)
        self.runs = checked_runs(self.function, runs)
        self.steps = max((len(p) - 1 for _, _, p, _ in self.runs), default=0)
        self.scene = SurfaceScene()
        w = self.scene.widget
        w.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
        w.resize(*self.size)
        w.show()
        self.scene.set_landscape(landscape(self.function, view))
        self.title = title_text(self.function)
        self._azimuth0 = self.scene.azimuth
        ensure_app().processEvents()

    def frame(self, k: int, orbit: float = 0.0) -> np.ndarray:
        """The scene at step ``k`` with the camera turned ``orbit`` degrees, (H, W, 3)."""
        from ..render.qt_app import ensure_app

        paths, losses, colours = [], [], []
        for _, colour, pos, loss in self.runs:
            kk = min(k, len(pos) - 1)
            paths.append(pos[: kk + 1])
            losses.append(loss[: kk + 1])
            colours.append(_rgba(colour))
        scale = max(1.0, min(self.size) / 720)
        self.scene.set_runs(paths, losses, colours, widths=[2.5 * scale] * len(paths))
        self.scene.widget.opts["azimuth"] = self._azimuth0 + orbit
        ensure_app().processEvents()
        rgba = self.scene.image(*self.size)
        return self._annotate(rgba[..., :3], k)

    def _annotate(self, rgb: np.ndarray, k: int) -> np.ndarray:
        """The title (with the step) at the top and the runs' key below it, painted with
        QPainter in fonts that scale with the picture."""
        from PySide6.QtCore import Qt
        from PySide6.QtGui import QColor, QFont, QImage, QPainter

        h, w = rgb.shape[:2]
        buf = np.ascontiguousarray(rgb, dtype=np.uint8)
        image = QImage(buf.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
        scale = max(1.0, min(w / 1280, h / 720))
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = QFont()
        font.setPointSizeF(15 * scale)
        painter.setFont(font)
        painter.setPen(QColor("#202020"))
        margin = int(14 * scale)
        title = f"{self.title}   step {k} / {self.steps}"
        painter.drawText(margin, margin, w - 2 * margin, int(30 * scale),
                         Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, title)
        font.setPointSizeF(12 * scale)
        painter.setFont(font)
        y = margin + int(36 * scale)
        for name, colour, _, _ in self.runs[:12]:
            painter.setPen(QColor(colour))
            painter.setBrush(QColor(colour))
            painter.drawRect(margin, y + int(5 * scale), int(18 * scale), int(6 * scale))
            painter.setPen(QColor("#202020"))
            painter.drawText(margin + int(26 * scale), y, w // 3, int(20 * scale),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, name)
            y += int(22 * scale)
        painter.end()
        out = image.convertToFormat(QImage.Format.Format_RGB888)
        arr = np.frombuffer(out.constBits(), dtype=np.uint8, count=out.sizeInBytes())
        return arr.reshape(h, out.bytesPerLine())[:, : w * 3].reshape(h, w, 3).copy()

    def close(self) -> None:
        self.scene.widget.hide()
        self.scene.widget.deleteLater()

    def __enter__(self) -> SurfaceRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def render_3d_png(path: str | os.PathLike, function: str | LossFunction,
                  runs: Sequence[RunData], size: tuple[int, int] = (1280, 720),
                  current: int | None = None, view=None, orbit: float = 0.0) -> str:
    """Save a PNG of the 3D view of ``runs`` on ``function`` at ``path``, atomically
    (at step ``current``, default the last; the camera turned ``orbit`` degrees)."""
    from PySide6.QtGui import QImage

    check_writable(path)
    with SurfaceRenderer(function, runs, size, view) as r:
        rgb = r.frame(r.steps if current is None else int(current), orbit)
    h, w = rgb.shape[:2]
    image = QImage(np.ascontiguousarray(rgb).data, w, h, 3 * w, QImage.Format.Format_RGB888)
    return str(write_bytes(path, png_bytes(image.copy())))


def write_3d_animation(path: str | os.PathLike, function: str | LossFunction,
                       runs: Sequence[RunData], *, stride: int = 1, fps: float = 20.0,
                       size: tuple[int, int] = (1280, 720), orbit: bool = False,
                       view=None, progress: Progress | None = None,
                       format: str | None = None, hold: float = 1.0,
                       quality: float = 8.0) -> bool:
    """A GIF or MP4 of the runs growing on the surface, atomically; with ``orbit`` the
    camera turns once around over the animation. Returns False when ``progress``
    cancelled (nothing left behind)."""
    fmt, (w, h), steps, stride, fps = plan_animation(path, runs, size, stride, fps, format)
    turns = np.linspace(0.0, ORBIT_DEGREES, len(steps), endpoint=False) if orbit \
        else np.zeros(len(steps))
    with SurfaceRenderer(function, runs, (w, h), view) as r:
        def frames() -> Any:
            total = len(steps)
            for done, (k, a) in enumerate(zip(steps, turns, strict=True)):
                if progress is not None and progress(done, total) is False:
                    raise ExportCancelled
                yield r.frame(k, float(a))
            if progress is not None and progress(total, total) is False:
                raise ExportCancelled

        if fmt == "gif":
            writer = _gif_writer(frames(), len(steps), r.frame(steps[-1], float(turns[-1])),
                                 fps, hold)
        else:
            writer = _mp4_writer(frames(), fps, quality)
        try:
            atomic_write(path, writer)
        except ExportCancelled:
            return False
    return True
