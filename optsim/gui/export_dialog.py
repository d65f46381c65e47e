"""Export options dialogs (image, animation) and the scaled offscreen render behind
File > Export > Image. The pictures are drawn by the same :class:`Figure` as the window
(:func:`optsim.export.image.build_figure`), at the chosen size; the scale multiplies the
pixels without shrinking text and lines (a 2× PNG is the same figure, sharper)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..export.animation import DEFAULT_SIZE as ANIMATION_SIZE
from ..export.animation import MAX_FPS, frame_count
from ..export.image import MAX_SIZE, MIN_SIZE, RunData, build_figure, png_bytes
from ..files import write_bytes
from ..functions import LossFunction

SCALES = (1, 2, 3, 4)


@dataclass(frozen=True)
class ImageOptions:
    format: str = "png"          # "png" or "svg"
    size: tuple[int, int] = (1280, 960)
    scale: int = 1               # PNG only: pixels per figure pixel
    with_history: bool = True


@dataclass(frozen=True)
class AnimationOptions:
    format: str = "gif"          # "gif" or "mp4"
    stride: int = 1
    fps: float = 20.0
    size: tuple[int, int] = ANIMATION_SIZE
    with_history: bool = True


def render_scaled(function: LossFunction, runs: Sequence[RunData], size: tuple[int, int],
                  scale: int = 1, with_history: bool = True, view=None) -> QImage:
    """The figure at ``size`` (figure pixels), painted ``scale`` times larger."""
    w, h = size
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(map(str, SCALES))}, got {scale!r}")
    if w * scale > MAX_SIZE or h * scale > MAX_SIZE:
        raise ValueError(f"{w * scale}×{h * scale} pixels is too large (at most {MAX_SIZE} a side)")
    fig = build_figure(function, runs, size, with_history, view)
    try:
        image = QImage(w * scale, h * scale, QImage.Format.Format_RGB32)
        image.fill(Qt.GlobalColor.white)
        painter = QPainter(image)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.scale(scale, scale)
            fig.render(painter, QPoint(0, 0))
        finally:
            painter.end()
        return image
    finally:
        fig.hide()
        fig.deleteLater()


def save_png(path: str | os.PathLike, image: QImage) -> str:
    """Save ``image`` as PNG at ``path`` (through :mod:`optsim.files`)."""
    return str(write_bytes(path, png_bytes(image)))


def _size_spin(value: int) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(MIN_SIZE, MAX_SIZE)
    spin.setSingleStep(10)
    spin.setSuffix(" px")
    spin.setValue(value)
    return spin


def _finish(dialog: QDialog, form: QFormLayout) -> None:
    """Lay out a dialog's form above OK/Cancel buttons and show its first summary."""
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                               | QDialogButtonBox.StandardButton.Cancel)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    lay = QVBoxLayout(dialog)
    lay.addLayout(form)
    lay.addWidget(buttons)
    dialog._update()


class ImageExportDialog(QDialog):
    """Format, size, scale and whether to include the loss-vs-step plot."""

    def __init__(self, parent: QWidget | None = None, options: ImageOptions = ImageOptions()) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export image")
        form = QFormLayout()
        self.format_box = QComboBox()
        self.format_box.addItem("PNG (pixels)", "png")
        self.format_box.addItem("SVG (vectors)", "svg")
        self.format_box.setCurrentIndex(0 if options.format == "png" else 1)
        self.width_spin = _size_spin(options.size[0])
        self.height_spin = _size_spin(options.size[1])
        self.scale_box = QComboBox()
        for s in SCALES:
            self.scale_box.addItem(f"{s}×", s)
        self.scale_box.setCurrentIndex(SCALES.index(options.scale) if options.scale in SCALES else 0)
        self.history_box = QCheckBox("include the loss-vs-step plot")
        self.history_box.setChecked(options.with_history)
        self.pixels = QLabel()
        form.addRow("Format", self.format_box)
        form.addRow("Width", self.width_spin)
        form.addRow("Height", self.height_spin)
        form.addRow("Scale (PNG)", self.scale_box)
        form.addRow("", self.history_box)
        form.addRow("", self.pixels)
        for sig in (self.format_box.currentIndexChanged, self.width_spin.valueChanged,
                    self.height_spin.valueChanged, self.scale_box.currentIndexChanged):
            sig.connect(self._update)
        _finish(self, form)

    def _update(self) -> None:
        png = self.format_box.currentData() == "png"
        self.scale_box.setEnabled(png)
        o = self.options()
        self.pixels.setText(f"{o.size[0] * o.scale} × {o.size[1] * o.scale} pixels" if png
                            else f"{o.size[0]} × {o.size[1]} (vector)")

    def options(self) -> ImageOptions:
        fmt = self.format_box.currentData()
        return ImageOptions(fmt, (self.width_spin.value(), self.height_spin.value()),
                            self.scale_box.currentData() if fmt == "png" else 1,
                            self.history_box.isChecked())


class AnimationExportDialog(QDialog):
    """Format, stride, frame rate, size and the loss-vs-step plot; shows the frame count."""

    def __init__(self, steps: int, parent: QWidget | None = None,
                 options: AnimationOptions = AnimationOptions()) -> None:
        super().__init__(parent)
        self.steps = int(steps)
        self.setWindowTitle("Export animation")
        form = QFormLayout()
        self.format_box = QComboBox()
        self.format_box.addItem("GIF", "gif")
        self.format_box.addItem("MP4 (H.264)", "mp4")
        self.format_box.setCurrentIndex(0 if options.format == "gif" else 1)
        self.stride_spin = QSpinBox()
        self.stride_spin.setRange(1, max(1, self.steps))
        self.stride_spin.setValue(min(max(1, options.stride), max(1, self.steps)))
        self.stride_spin.setToolTip("one frame every this many steps")
        self.fps_spin = QDoubleSpinBox()
        self.fps_spin.setRange(0.5, MAX_FPS)
        self.fps_spin.setDecimals(1)
        self.fps_spin.setValue(options.fps)
        self.width_spin = _size_spin(options.size[0])
        self.height_spin = _size_spin(options.size[1])
        self.history_box = QCheckBox("include the loss-vs-step plot")
        self.history_box.setChecked(options.with_history)
        self.summary = QLabel()
        form.addRow("Format", self.format_box)
        form.addRow("Every n-th step", self.stride_spin)
        form.addRow("Frames per second", self.fps_spin)
        form.addRow("Width", self.width_spin)
        form.addRow("Height", self.height_spin)
        form.addRow("", self.history_box)
        form.addRow("", self.summary)
        for sig in (self.stride_spin.valueChanged, self.fps_spin.valueChanged):
            sig.connect(self._update)
        _finish(self, form)

    def _update(self) -> None:
        n = frame_count(self.steps, self.stride_spin.value())
        self.summary.setText(f"steps 0–{self.steps}: {n} frames, "
                             f"{n / self.fps_spin.value():.1f} s")

    def options(self) -> AnimationOptions:
        return AnimationOptions(self.format_box.currentData(), self.stride_spin.value(),
                                self.fps_spin.value(),
                                (self.width_spin.value(), self.height_spin.value()),
                                self.history_box.isChecked())
