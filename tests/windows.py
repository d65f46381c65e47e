"""For tests: a fresh main window of a given size (not a test module)."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from optsim.gui.main_window import MainWindow


def window_at(qtbot, tmp_path, size=(1280, 720), preset=None, docks=()) -> MainWindow:
    """A fresh window of exactly ``size`` with the default layout for that size (as a
    first start on a screen of that size lays it out), the File menus, ``preset``
    opened and ``docks`` shown ("geometry", "sweep")."""
    from optsim.gui import file_actions

    w = MainWindow(settings=str(tmp_path / "s.ini"), restore=False)
    qtbot.addWidget(w)
    w.resize(*size)
    w.apply_default_layout()
    w.show()
    qtbot.waitExposed(w)
    file_actions.install(w)
    for d in docks:
        if d == "geometry":
            w.geometry_view.action.setChecked(True)
        elif d == "sweep":
            w.sweep_dock.show()
            w.sweep_dock.raise_()
    if preset:
        assert file_actions.open_from_command_line(w, None, preset)
    for _ in range(3):
        QApplication.processEvents()
    assert (w.width(), w.height()) == size
    return w


def present_at(window: MainWindow, size=(1280, 720)) -> None:
    """Presentation mode on a full screen of ``size`` (emulated: the test screen is
    800x800, so the window is taken out of full screen and given that size)."""
    from PySide6.QtCore import Qt

    window.set_presentation(True)
    window.setWindowState(Qt.WindowState.WindowNoState)
    window.resize(*size)
