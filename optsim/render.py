"""Headless pictures of runs: the same :class:`optsim.gui.plot_view.Figure` the window
shows, built offscreen and saved as PNG or SVG (atomically)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from .export import ExportError, atomic_write, check_writable
from .functions import LossFunction, as_function

#: (name, colour "#rrggbb", positions (K, D), losses (K,) or None)
RunData = tuple[str, str, Any, Any]

MIN_SIZE, MAX_SIZE = 64, 8192


def _check_size(size: tuple[int, int]) -> tuple[int, int]:
    try:
        w, h = (int(size[0]), int(size[1]))
    except (TypeError, ValueError, IndexError):
        raise ValueError(f"picture size must be two whole numbers, got {size!r}") from None
    for what, v in (("width", w), ("height", h)):
        if not MIN_SIZE <= v <= MAX_SIZE:
            raise ValueError(f"picture {what} must be in [{MIN_SIZE}, {MAX_SIZE}], got {v}")
    return w, h


def build_figure(function: str | LossFunction, runs: Sequence[RunData],
                 size: tuple[int, int] = (1280, 960), with_history: bool = True,
                 view=None, current: int | None = None):
    """A laid-out, offscreen :class:`Figure` of ``runs`` on ``function``, ``size`` pixels.

    ``current`` (default: the last step) is the step shown.
    """
    from .gui.qt_app import ensure_app

    app = ensure_app()
    from PySide6 import QtCore

    from .gui.plot_view import Figure, RunStyle

    fn = as_function(function)
    w, h = _check_size(size)
    fig = Figure(with_history=with_history)
    fig.setAttribute(QtCore.Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    fig.resize(w, h)
    fig.set_function(fn, view)
    fig.set_runs([RunStyle(str(name), str(colour), True) for name, colour, _, _ in runs])
    for i, (_, _, pos, loss) in enumerate(runs):
        pos = np.asarray(pos, dtype=np.float64).reshape(len(pos), -1)
        if pos.shape[1] != fn.dim:
            raise ValueError(f"run {i}: positions have {pos.shape[1]} coordinate(s), "
                             f"{fn.name} has {fn.dim}")
        if loss is None:
            with np.errstate(all="ignore"):
                loss = fn.value(pos)
        k = len(pos) - 1 if current is None else min(int(current), len(pos) - 1)
        fig.update_run(i, pos, k, np.asarray(loss, dtype=np.float64))
    if runs:
        first = np.asarray(runs[0][2], dtype=np.float64).reshape(len(runs[0][2]), -1)
        if len(first):
            fig.set_start_marker(first[0])
    fig.show()
    fig.resize(w, h)
    app.processEvents()
    fig.reset_view()
    fig.loss_plot.place_legend()
    app.processEvents()
    return fig


def _release(fig) -> None:
    fig.hide()
    fig.deleteLater()


def render_image(function: str | LossFunction, runs: Sequence[RunData],
                 size: tuple[int, int] = (1280, 960), with_history: bool = True,
                 view=None, current: int | None = None):
    """The figure as a QImage of exactly ``size`` pixels."""
    from PySide6 import QtGui

    fig = build_figure(function, runs, size, with_history, view, current)
    try:
        image = fig.grab().toImage().convertToFormat(QtGui.QImage.Format.Format_RGB32)
        w, h = _check_size(size)
        if image.width() != w or image.height() != h:
            image = image.scaled(w, h)
        return image
    finally:
        _release(fig)


def render_png(path: str | os.PathLike, function: str | LossFunction, runs: Sequence[RunData],
               size: tuple[int, int] = (1280, 960), with_history: bool = True,
               view=None, current: int | None = None) -> str:
    """Save a PNG of ``runs`` on ``function`` at ``path`` (atomically)."""
    check_writable(path)
    image = render_image(function, runs, size, with_history, view, current)

    def write(tmp: str) -> None:
        if not image.save(tmp, "PNG"):
            raise ExportError(f"cannot write {os.fspath(path)!r}: Qt could not save the PNG")

    return str(atomic_write(path, write))


def render_svg(path: str | os.PathLike, function: str | LossFunction, runs: Sequence[RunData],
               size: tuple[int, int] = (1280, 960), with_history: bool = True,
               view=None, current: int | None = None) -> str:
    """Save an SVG of ``runs`` on ``function`` at ``path`` (atomically); lines, markers
    and text are vectors, the heat map an embedded image."""
    check_writable(path)
    from PySide6 import QtCore, QtGui
    from PySide6.QtSvg import QSvgGenerator

    w, h = _check_size(size)
    fig = build_figure(function, runs, size, with_history, view, current)
    fn = as_function(function)

    def write(tmp: str) -> None:
        gen = QSvgGenerator()
        gen.setFileName(tmp)
        gen.setSize(QtCore.QSize(w, h))
        gen.setViewBox(QtCore.QRect(0, 0, w, h))
        gen.setTitle(f"optsim: {fn.name}")
        painter = QtGui.QPainter()
        if not painter.begin(gen):
            raise ExportError(f"cannot write {os.fspath(path)!r}: could not start the SVG")
        try:
            fig.render(painter, QtCore.QPoint(0, 0))
        finally:
            painter.end()

    try:
        return str(atomic_write(path, write))
    finally:
        _release(fig)
