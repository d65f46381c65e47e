"""Animations of runs as GIF or MP4, drawn with the window's own :class:`Figure`.

One frame is the figure at one step: frame ``j`` shows step ``min(j * stride, steps)``,
so a run of ``steps`` steps gives :func:`frame_count` ``= ceil(steps / stride) + 1``
frames: the start (step 0), every ``stride``-th step, and the last step even when
``stride`` does not divide ``steps``. Each frame's title carries its step number, so
no two frames are alike (GIF encoders merge identical ones).

The figure is built once (:func:`optsim.export.image.build_figure`) and only its runs are
updated from frame to frame, as the window does while playing; the loss history
keeps the axes of the whole run, so it does not jump. GIFs are written with
Pillow (what imageio uses for GIF) from one palette shared by every frame, so colours
do not flicker; MP4 with imageio-ffmpeg, which brings its own ffmpeg.

A ``progress(done, total)`` callback may return ``False`` to cancel: the writer then
stops, removes its temporary file and returns ``False``; the target file is never
left half-written (:func:`optsim.files.atomic_write`).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from ..files import ExportError, atomic_write, check_writable
from ..functions import LossFunction, as_function
from .image import (
    PictureRun,
    RunData,
    _check_size,
    build_figure,
    bundle_runs,
    draw_points,
    paint_figure,
    run_points,
)

Progress = Callable[[int, int], "bool | None"]

FORMATS = ("gif", "mp4")
MAX_FPS = 100
MAX_FRAMES = 20_000
DEFAULT_SIZE = (960, 720)


class ExportCancelled(Exception):
    """Raised inside a writer when the progress callback asks to stop."""


# ---------------------------------------------------------------------------
# frames


def frame_steps(steps: int, stride: int = 1) -> list[int]:
    """The step each frame shows: 0, stride, 2·stride, ..., and ``steps`` itself."""
    steps, stride = int(steps), int(stride)
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    if stride < 1:
        raise ValueError(f"stride must be a whole number >= 1, got {stride}")
    out = list(range(0, steps + 1, stride))
    if out[-1] != steps:
        out.append(steps)
    return out


def frame_count(steps: int, stride: int = 1) -> int:
    """``ceil(steps / stride) + 1``: the start frame plus one frame per stride."""
    return len(frame_steps(steps, stride))


def check_options(stride: int, fps: float, frames: int | None = None) -> tuple[int, float]:
    """Validated (stride, fps); ValueError naming the bad one."""
    if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or stride < 1:
        raise ValueError(f"stride must be a whole number >= 1, got {stride!r}")
    try:
        fps = float(fps)
    except (TypeError, ValueError):
        raise ValueError(f"frame rate must be a number, got {fps!r}") from None
    if not (math.isfinite(fps) and 0 < fps <= MAX_FPS):
        raise ValueError(f"frame rate must be in (0, {MAX_FPS}] frames per second, got {fps:g}")
    if frames is not None and frames > MAX_FRAMES:
        raise ValueError(f"{frames} frames is too many (at most {MAX_FRAMES}); "
                         "use a larger stride")
    return int(stride), fps


def _qimage_to_array(image, size: tuple[int, int]) -> np.ndarray:
    from PySide6 import QtCore, QtGui

    w, h = size
    if image.width() != w or image.height() != h:
        image = image.scaled(w, h, QtCore.Qt.AspectRatioMode.IgnoreAspectRatio,
                             QtCore.Qt.TransformationMode.SmoothTransformation)
    image = image.convertToFormat(QtGui.QImage.Format.Format_RGB888)
    buf = np.frombuffer(image.constBits(), dtype=np.uint8, count=image.sizeInBytes())
    return buf.reshape(h, image.bytesPerLine())[:, : w * 3].reshape(h, w, 3).copy()


def checked_runs(function: LossFunction, runs: Sequence[RunData]) -> list[RunData]:
    """``runs`` with positions as (K, D) float arrays and losses as (K,) (computed where
    None); a run with no positions or a loss count that differs is a ValueError."""
    out = []
    for i, run in enumerate(runs):
        name, colour, pos, loss = run
        pos = np.asarray(pos, dtype=np.float64).reshape(len(pos), -1)
        if loss is None:
            with np.errstate(all="ignore"):
                loss = function.value(pos)
        loss = np.asarray(loss, dtype=np.float64).reshape(-1)
        if len(loss) != len(pos) or len(pos) == 0:
            raise ValueError(f"run {i}: {len(pos)} positions but {len(loss)} losses")
        out.append(PictureRun(name, colour, pos, loss, run_points(run)))
    return out


class FrameRenderer:
    """The figure of ``runs`` on ``function``, drawn at any step as an (H, W, 3) array."""

    def __init__(self, function: str | LossFunction, runs: Sequence[RunData],
                 size: tuple[int, int] = DEFAULT_SIZE, with_history: bool = True,
                 view=None, aspect_locked: bool | None = None, overlay=None) -> None:
        """``overlay`` (an :class:`~optsim.render.overlays.OverlayState`): the window's
        step arrows, drawn in each frame at that frame's step (at most the step
        each entry shows)."""
        from ..render.compute import decimate, title_text
        from ..render.plots import bundle_curves, clip_losses

        self._decimate = decimate
        self._bundle_curves, self._clip_losses = bundle_curves, clip_losses
        self.function = as_function(function)
        self.size = _check_size(size)
        self.runs = checked_runs(self.function, runs)
        #: the last step of the longest run
        self.steps = max((len(p) - 1 for _, _, p, _ in self.runs), default=0)
        self.overlay = overlay
        self.fig = build_figure(self.function, self.runs, self.size, with_history, view,
                                aspect_locked=aspect_locked, overlay=overlay)
        #: many runs: drawn by colour, as the picture does (see bundle_runs)
        self.bundles = bundle_runs(self.function, self.runs)
        # every frame in the style of the last (a dot per step, or a plain line when
        # the whole run has too many points): not dots in the middle, lines at the end
        for i in range(len(self.bundles) if self.bundles is not None else len(self.runs)):
            run = self.fig.loss_plot.run_items(i)
            run.fixed_dots = run.trail.opts["symbol"] is not None
        self._title = title_text(self.function)
        if self.fig.history is not None:
            # keep the axes of the whole run: the curves grow into a fixed frame
            self.fig.history.getPlotItem().disableAutoRange()
            self.fig.history.setXRange(0, max(self.steps, 1), padding=0.02)
        self.frame(self.steps)  # settles the layout (widest title), so frames are alike
    def frame(self, k: int) -> np.ndarray:
        """The figure at step ``k`` as RGB pixels, shape (H, W, 3)."""
        from ..render.qt_app import ensure_app

        fig = self.fig
        for i, b in enumerate(self.bundles or ()):
            fig.loss_plot.update_bundle(i, b.positions, k)
            if fig.history is not None:
                xs, ys, connect = self._bundle_curves([self._clip_losses(y[: k + 1])
                                                       for y in b.losses])
                fig.history.line(i).setData(xs, ys, connect=connect)
        for i, run in enumerate(self.runs if self.bundles is None else ()):
            _, _, pos, loss = run
            kk = min(k, len(pos) - 1)
            fig.loss_plot.update_run(i, pos, kk, loss)
            draw_points(fig, i, run, kk)
            if fig.history is not None:
                y = np.clip(np.nan_to_num(loss[: kk + 1], nan=np.inf), -1e150, 1e150)
                idx = self._decimate(len(y), len(y) - 1)
                fig.history.line(i).setData(np.arange(len(y))[idx], y[idx])
        fig.set_step(k)
        if self.overlay is not None and fig.overlay is not None:
            fig.overlay.show([(t, min(k, s), r, c) for t, s, r, c in self.overlay.entries])
            fig.thicken_lines(fig.picture_scale)  # (arrows made for this frame too)
        # the step beside the function's name; its digits padded with figure spaces
        # (as wide as digits), so the centred title does not shift from frame to frame
        digits = len(str(self.steps))
        counter = f"step {str(k).rjust(digits, chr(0x2007))} / {self.steps}"
        fig.title.setText(f"{self._title}{chr(0x2003) * 3}{counter}")
        ensure_app().processEvents()
        return _qimage_to_array(paint_figure(fig, self.size), self.size)

    def close(self) -> None:
        self.fig.hide()
        self.fig.deleteLater()

    def __enter__(self) -> FrameRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def iter_frames(renderer: FrameRenderer, steps: Sequence[int],
                progress: Progress | None = None) -> Iterator[np.ndarray]:
    """Frames at ``steps``, calling ``progress(done, total)`` before each and after the
    last; raises :class:`ExportCancelled` when it returns ``False``."""
    total = len(steps)
    for done, k in enumerate(steps):
        if progress is not None and progress(done, total) is False:
            raise ExportCancelled
        yield renderer.frame(k)
    if progress is not None and progress(total, total) is False:
        raise ExportCancelled


# ---------------------------------------------------------------------------
# writers


def _gif_writer(frames: Iterator[np.ndarray], n: int, reference: np.ndarray, fps: float,
                hold: float) -> Callable[[str], None]:
    from PIL import Image

    palette = Image.fromarray(reference).quantize(colors=255, method=Image.Quantize.MEDIANCUT)
    # near-white colours are made pure white: median cut merged the background with
    # them into a grey that showed as a box on a white slide (and Pillow's lookup
    # maps white to any of them)
    colours = np.array(palette.getpalette(), dtype=np.uint8).reshape(-1, 3)
    colours[colours.min(axis=1) >= 247] = 255
    palette.putpalette(colours.reshape(-1).tolist())
    ms = 1000.0 / fps
    # GIF delays are whole centiseconds: spread the rounding so the total time is right
    ends = [round((j + 1) * ms / 10) * 10 for j in range(n)]
    durations = [max(b - a, 10) for a, b in zip([0] + ends[:-1], ends, strict=True)]
    durations[-1] += int(round(hold * 100)) * 10

    def paletted() -> Iterator[Image.Image]:
        for f in frames:
            yield Image.fromarray(f).quantize(palette=palette, dither=Image.Dither.NONE)

    def write(tmp: str) -> None:
        images = paletted()  # rendered while Pillow writes: one frame at a time
        first = next(images)
        first.save(tmp, format="GIF", save_all=True, append_images=images,
                   duration=durations, loop=0, disposal=1)

    return write


def _mp4_writer(frames: Iterator[np.ndarray], fps: float,
                quality: float) -> Callable[[str], None]:
    """H.264 by imageio-ffmpeg's own ffmpeg, run here (not through imageio's writer,
    which ignores ffmpeg's exit status and lets it print on the terminal): a failure
    (a full disk) is an OSError with ffmpeg's last message, and nothing is printed."""
    try:
        import imageio_ffmpeg

        exe = imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError) as exc:
        raise ExportError("MP4 export needs the imageio-ffmpeg package, which brings its own "
                          f"ffmpeg (pip install imageio-ffmpeg): {exc}") from None

    def write(tmp: str) -> None:
        import subprocess
        import tempfile
        from fractions import Fraction

        first = next(frames, None)
        if first is None:
            return
        h, w = first.shape[:2]
        crf = int((1 - quality / 10.0) * 51)  # as imageio maps its quality for libx264
        cmd = [exe, "-y", "-f", "rawvideo", "-vcodec", "rawvideo", "-s", f"{w}x{h}",
               "-pix_fmt", "rgb24", "-r", str(Fraction(fps).limit_denominator()), "-i", "-",
               "-an", "-vcodec", "libx264", "-pix_fmt", "yuv420p", "-crf", str(crf),
               "-v", "error", tmp]
        with tempfile.TemporaryFile() as log:
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                    stderr=log)
            broken = False
            try:
                for f in _chain(first, frames):
                    try:
                        proc.stdin.write(np.ascontiguousarray(f, dtype=np.uint8).tobytes())
                    except BrokenPipeError:  # ffmpeg stopped: its message says why
                        broken = True
                        break
            except BaseException:
                proc.kill()
                proc.wait()
                raise
            finally:
                try:
                    proc.stdin.close()
                except BrokenPipeError:
                    broken = True
            code = proc.wait()
            if code != 0 or broken:
                log.seek(0)
                lines = [ln.strip() for ln in log.read().decode("utf-8", "replace").splitlines()
                         if ln.strip()]
                # the first line is the cause (the later ones, its consequences):
                # "[out#0/mp4 @ 0x55d0] Error closing file: ..." -> "Error closing file: ..."
                reason = re.sub(r"^(\[[^\]]*\]\s*)+", "", lines[0]) if lines \
                    else f"exit status {code}"
                raise ExportError(f"ffmpeg could not write the video: {reason}")

    return write


def _chain(first: np.ndarray, rest: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    yield first
    yield from rest


def plan_animation(path: str | os.PathLike, runs: Sequence[RunData], size: tuple[int, int],
                   stride: int, fps: float, format: str | None
                   ) -> tuple[str, tuple[int, int], list[int], int, float]:
    """An animation's checked options: its format (``gif``/``mp4``, from the suffix
    unless given), size (even for MP4: H.264 needs it), the steps its frames show,
    stride and fps; ``path`` checked writable. Raises ValueError for bad options,
    ExportError for an unwritable path (shared by the 2D and 3D animations)."""
    fmt = (format or Path(path).suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise ValueError(f"animation format must be one of {', '.join(FORMATS)} "
                         f"(from the file name or format=), got {fmt or 'none'!r}")
    if not runs:
        raise ValueError("nothing to animate: no runs")
    w, h = _check_size(size)
    if fmt == "mp4":
        w, h = w - w % 2, h - h % 2
    longest = max(len(r[2]) for r in runs) - 1
    steps = frame_steps(max(longest, 0), stride)
    stride, fps = check_options(stride, fps, len(steps))
    check_writable(path)
    return fmt, (w, h), steps, stride, fps


def write_animation(path: str | os.PathLike, function: str | LossFunction,
                    runs: Sequence[RunData], *, stride: int = 1, fps: float = 20.0,
                    size: tuple[int, int] = DEFAULT_SIZE, with_history: bool = True,
                    view=None, progress: Progress | None = None, format: str | None = None,
                    hold: float = 1.0, quality: float = 8.0,
                    aspect_locked: bool | None = None, overlay=None) -> bool:
    """Write an animation of ``runs`` (``(name, colour, positions, losses)``) on
    ``function`` to ``path``, atomically. ``format`` is ``gif`` or ``mp4`` (default:
    from the suffix). A GIF holds its last frame ``hold`` more seconds; an MP4's
    size is rounded down to even numbers (H.264 needs them).

    ``aspect_locked`` as for :func:`optsim.export.image.build_figure`; ``overlay``
    as for :class:`FrameRenderer`.

    Returns ``True`` when written, ``False`` when ``progress`` cancelled (nothing is
    left behind). Raises ValueError for bad options, ExportError for unwritable paths.
    """
    if not (hold >= 0 and math.isfinite(hold)):
        raise ValueError(f"hold must be a finite number of seconds >= 0, got {hold!r}")
    fmt, (w, h), steps, stride, fps = plan_animation(path, runs, size, stride, fps, format)
    with FrameRenderer(function, runs, (w, h), with_history, view, aspect_locked,
                       overlay) as renderer:
        frames = iter_frames(renderer, steps, progress)
        if fmt == "gif":
            writer = _gif_writer(frames, len(steps), renderer.frame(steps[-1]), fps, hold)
        else:
            writer = _mp4_writer(frames, fps, quality)
        try:
            atomic_write(path, writer)
        except ExportCancelled:
            return False
    return True
