"""Export options dialogs (image, animation) and the scaled offscreen render behind
File > Export > Image. The pictures are drawn by the same :class:`Figure` as the window
(:func:`optsim.export.image.build_figure`), at the chosen size; the scale multiplies the
pixels without shrinking text and lines (a 2× PNG is the same figure, sharper)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtGui import QImage
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
from ..export.image import MAX_SIZE, MIN_SIZE, RunData, png_bytes, render_image
from ..files import write_bytes
from ..functions import LossFunction

SCALES = (1, 2, 3, 4)
#: sizes offered in the export dialogs: (label, (width, height)); slides first
SIZE_PRESETS = (("Slide 1920 × 1080 (Full HD)", (1920, 1080)),
                ("Slide 1280 × 720 (HD)", (1280, 720)),
                ("1280 × 960 (4:3)", (1280, 960)),
                ("960 × 720 (4:3)", (960, 720)))


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
                  scale: int = 1, with_history: bool = True, view=None, *, overlay=None,
                  aspect_locked: bool | None = None, caption: str = "") -> QImage:
    """The picture at ``size``, painted ``scale`` times larger (more pixels, the same
    picture); ``overlay``, ``aspect_locked`` and ``caption`` as for
    :func:`optsim.export.image.build_figure`."""
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(map(str, SCALES))}, got {scale!r}")
    return render_image(function, runs, size, with_history, view, extra=scale,
                        overlay=overlay, aspect_locked=aspect_locked, caption=caption)


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


class SizeChooser:
    """A preset combo (slide sizes first, then "Custom") over width and height spins."""

    def __init__(self, size: tuple[int, int]) -> None:
        self.width_spin = _size_spin(size[0])
        self.height_spin = _size_spin(size[1])
        self.combo = QComboBox()
        for label, value in SIZE_PRESETS:
            self.combo.addItem(label, value)
        self.combo.addItem("Custom", None)
        self._match()
        self.combo.currentIndexChanged.connect(self._chosen)
        self.width_spin.valueChanged.connect(self._match)
        self.height_spin.valueChanged.connect(self._match)

    def _chosen(self) -> None:
        value = self.combo.currentData()
        if value is not None:
            self.width_spin.setValue(value[0])
            self.height_spin.setValue(value[1])

    def _match(self) -> None:
        """Show the preset the spins match, else "Custom"."""
        size = (self.width_spin.value(), self.height_spin.value())
        i = next((j for j, (_, v) in enumerate(SIZE_PRESETS) if v == size), len(SIZE_PRESETS))
        self.combo.blockSignals(True)
        self.combo.setCurrentIndex(i)
        self.combo.blockSignals(False)

    def add_rows(self, form: QFormLayout) -> None:
        form.addRow("Size", self.combo)
        form.addRow("Width", self.width_spin)
        form.addRow("Height", self.height_spin)

    def size(self) -> tuple[int, int]:
        return self.width_spin.value(), self.height_spin.value()


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
        self.sizes = SizeChooser(options.size)
        self.width_spin, self.height_spin = self.sizes.width_spin, self.sizes.height_spin
        self.scale_box = QComboBox()
        for s in SCALES:
            self.scale_box.addItem(f"{s}×", s)
        self.scale_box.setCurrentIndex(SCALES.index(options.scale) if options.scale in SCALES else 0)
        self.history_box = QCheckBox("include the loss-vs-step plot")
        self.history_box.setChecked(options.with_history)
        self.pixels = QLabel()
        form.addRow("Format", self.format_box)
        self.sizes.add_rows(form)
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
        self.sizes = SizeChooser(options.size)
        self.width_spin, self.height_spin = self.sizes.width_spin, self.sizes.height_spin
        self.history_box = QCheckBox("include the loss-vs-step plot")
        self.history_box.setChecked(options.with_history)
        self.summary = QLabel()
        form.addRow("Format", self.format_box)
        form.addRow("Every n-th step", self.stride_spin)
        form.addRow("Frames per second", self.fps_spin)
        self.sizes.add_rows(form)
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
