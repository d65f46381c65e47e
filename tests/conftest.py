"""Test setup: Qt renders offscreen, before any QApplication exists."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OPTSIM_SETTINGS_ISOLATED", "1")


import pytest  # noqa: E402


@pytest.fixture
def window(qtbot, tmp_path):
    """A fresh main window (its own settings file, nothing restored), shown and exposed.
    Test modules that need a differently prepared window define their own."""
    from PySide6.QtWidgets import QApplication

    from optsim.gui.main_window import MainWindow

    w = MainWindow(settings=str(tmp_path / "settings.ini"), restore=False)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    QApplication.processEvents()
    return w
