"""Start the desktop window: ``python main.py`` or ``python -m optsim.gui.app``."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from pathlib import Path

from .gc_pause import pause_gc, resume_gc

#: the app icon's file in a clone of the repository (``resources/``: not Python data)
REPO_ICON = Path(__file__).resolve().parents[2] / "resources" / "optsim.svg"


def icon_files() -> list[Path]:
    """Where the app icon may be, best first: the repository's ``resources/`` (a
    clone), then the copies an install puts under ``<prefix>/share/icons``."""
    share = Path(sys.prefix) / "share" / "icons" / "hicolor"
    return [REPO_ICON, REPO_ICON.with_suffix(".png"),
            share / "scalable" / "apps" / "optsim.svg", share / "256x256" / "apps" / "optsim.png"]


def identify(app) -> None:
    """The application's name, its desktop entry and its icon (every window's icon)."""
    app.setApplicationName("optsim")
    app.setOrganizationName("optsim")
    app.setDesktopFileName("optsim")  # resources/optsim.desktop, when installed
    app.setWindowIcon(app_icon())


def app_icon():
    """The window icon: the first icon file found, else the desktop theme's
    ``optsim`` icon (installed with the ``.desktop`` file), else none (a null QIcon)."""
    from PySide6.QtGui import QIcon

    for path in icon_files():
        if path.is_file():
            icon = QIcon(str(path))
            if not icon.isNull():
                return icon
    return QIcon.fromTheme("optsim")

NO_DISPLAY = ("optsim: no display found (DISPLAY and WAYLAND_DISPLAY are not set), so the "
              "window cannot open; use 'optsim run --png out.png ...' to draw pictures "
              "without a screen")


def no_display() -> bool:
    """Whether, on Linux, Qt would find no display to open the window on (it then
    aborts the process, exit 134, with a misleading hint about libxcb-cursor0)."""
    if not sys.platform.startswith("linux"):
        return False
    env = os.environ
    platform = env.get("QT_QPA_PLATFORM", "").split(":")[0].split(";")[0]
    if platform in ("", "xcb", "wayland"):
        wanted = {"": ("DISPLAY", "WAYLAND_DISPLAY"), "xcb": ("DISPLAY",),
                  "wayland": ("WAYLAND_DISPLAY",)}[platform]
        return not any(env.get(name) for name in wanted)
    return False  # offscreen, vnc, eglfs, ...: no display needed


def main(argv: list[str] | None = None) -> int:
    """Open the window and run the event loop until it closes (exit status 2, one
    line, when there is no display)."""
    parser = argparse.ArgumentParser(prog="optsim-gui", description="optsim — optimizer visualizer")
    parser.add_argument("--settings", metavar="FILE.ini",
                        help="keep the window's settings in this INI file")
    parser.add_argument("--fresh", action="store_true",
                        help="start from the default comparison, ignoring saved settings")
    parser.add_argument("scenario", nargs="?", metavar="SCENARIO.json",
                        help="open this scenario file")
    parser.add_argument("--preset", metavar="NAME", help="open a preset (see 'optsim list presets')")
    args, qt_args = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    _check_inputs(parser, args)
    if no_display() and not any(a.startswith("-platform") for a in qt_args):
        print(NO_DISPLAY, file=sys.stderr)
        return 2

    # no garbage collection until just after the first paint (finish_start): the
    # imports and the window make objects that live on (see gc_pause)
    pause_gc()
    import pyqtgraph as pg
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    pg.setConfigOptions(antialias=True)
    from ..render.qt_app import share_opengl_contexts

    share_opengl_contexts()  # (the 3D view and its exports)
    app = QApplication.instance() or QApplication([sys.argv[0], *qt_args])
    identify(app)
    from .main_window import MainWindow

    window = MainWindow(settings=args.settings, restore=not args.fresh, defer_parts=True)
    if args.scenario or args.preset:
        # opened before the first paint, so the first screen is the scenario's; a
        # file that cannot be read (a FIFO, a device, missing) is said over the window
        from ..files import ReadError, check_readable
        from . import file_actions

        try:
            if args.scenario and not args.preset:
                check_readable(args.scenario)
            file_actions.open_from_command_line(window, args.scenario, args.preset)
        except ReadError:
            QTimer.singleShot(0, lambda: file_actions.open_from_command_line(
                window, args.scenario, args.preset))
    # the File and Presets menus (scenarios, export: ~50 ms of imports) are added just
    # after the plot's first paint (a timer alone fired before it), or after a second
    # if the plot is not painted by then
    call_after_first_paint(window.plot.viewport(), lambda: finish_start(window))
    # (owned by the window: a window closed and deleted within the second cancels it)
    QTimer.singleShot(1000, window, lambda: finish_start(window))
    window.show()
    window.raise_()
    window.activateWindow()  # take the keyboard focus (also with no window manager)
    return app.exec()


def _check_inputs(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse a settings file that cannot be read (a FIFO would block Qt) before the
    window is made; exits with status 2. A bad scenario file is said in the window."""
    if args.settings:
        from ..files import ReadError
        from .settings import check_settings_file

        try:
            check_settings_file(args.settings)
        except ReadError as exc:
            parser.error(f"--settings: {exc}")


def install_file_menus(window) -> None:
    """Add the File and Presets menus to ``window`` (idempotent), Quit last in File."""
    from shiboken6 import isValid

    from . import file_actions

    if not isValid(window):  # closed and deleted before its first paint
        return
    actions = file_actions.install(window)
    quit_action = getattr(window, "quit_action", None)
    menu = getattr(actions, "file_menu", None)
    if quit_action is not None and menu is not None and isValid(menu) and isValid(quit_action) \
            and quit_action not in menu.actions():
        menu.addSeparator()
        menu.addAction(quit_action)


def finish_start(window) -> None:
    """After the first paint: the parts not seen yet (the Sweep dock, the training
    editors), the File and Presets menus, the allocator's setting for sweeps
    (keep_freed_memory), then every object made so
    far (modules, widgets, pyqtgraph's items) is moved out of the garbage
    collector's sight. A full collection scanned all ~70,000 of them, 37 ms here:
    a visible hitch in playback whenever one came due. The collector, paused for
    the start-up, runs again from here. Idempotent."""
    from shiboken6 import isValid

    if isValid(window):
        window.install_later_parts()  # the Sweep dock, the training editors
    install_file_menus(window)
    # the program's choice for its sweeps (see the function; here, not at the start:
    # importing optsim.explore cost the first paint ~10 ms)
    from ..explore.runner import keep_freed_memory

    keep_freed_memory()
    gc.freeze()
    resume_gc()  # (paused for the start-up by main, or by the window)


def call_after_first_paint(target, callback) -> None:
    """Call ``callback`` once, from the event loop, right after ``target``'s first
    paint (an event filter owned by ``target``)."""
    from PySide6.QtCore import QEvent, QObject, QTimer

    class _Filter(QObject):
        def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt override)
            if event.type() == QEvent.Type.Paint:
                obj.removeEventFilter(self)
                QTimer.singleShot(0, callback)
            return False

    target.installEventFilter(_Filter(target))


if __name__ == "__main__":
    raise SystemExit(main())
