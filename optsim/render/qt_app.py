"""The one QApplication: reuse the running one, or create one that can draw with no
display (offscreen) for headless export and tests."""

from __future__ import annotations

import os
import sys


def ensure_app(offscreen_if_headless: bool = True):
    """The running QApplication, or a new one.

    If none exists and ``QT_QPA_PLATFORM`` is not set, the offscreen platform is
    chosen when ``offscreen_if_headless`` is true (export: no window is shown, so a
    display is never needed) - it has to be decided before the application exists.
    """
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is not None:
        return app
    if offscreen_if_headless and not os.environ.get("QT_QPA_PLATFORM"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
        _quiet_offscreen_warnings()
    share_opengl_contexts()
    return QApplication(sys.argv[:1] or ["optsim"])


def share_opengl_contexts() -> None:
    """Let every OpenGL context share its resources (before the QApplication exists):
    pyqtgraph.opengl compiles its shaders once, so a second 3D view (an export beside
    the window's view) otherwise draws with programs of a deleted context."""
    from PySide6.QtCore import QCoreApplication, Qt

    if QCoreApplication.instance() is None:
        QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts, True)


def has_display() -> bool:
    """Whether a desktop display is there to draw on (X11 or Wayland)."""
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


#: messages the offscreen platform prints for every shown widget; they mean nothing here
_NOISE = ("This plugin does not support",)
_previous_handler = None


def _quiet_offscreen_warnings() -> None:
    """Drop the offscreen platform's harmless per-widget warnings (they would reach
    the command line's stderr); every other Qt message is passed on."""
    global _previous_handler
    from PySide6 import QtCore

    def handler(mode, context, message):
        if message.startswith(_NOISE):
            return
        if _previous_handler is not None:
            _previous_handler(mode, context, message)
        else:
            sys.stderr.write(message + "\n")

    _previous_handler = QtCore.qInstallMessageHandler(handler)
