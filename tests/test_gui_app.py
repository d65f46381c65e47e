"""The window's entry point and its Help and File extras: no display gives one
clear line and exit 2 (Qt aborted with exit 134 and a misleading libxcb-cursor0
hint); Quit (Ctrl+Q); Help > Getting started and About; the first-run hint."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QRectF, QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from optsim.gui.main_window import MainWindow

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11/Wayland only")
@pytest.mark.parametrize("command", [["main.py"], ["-m", "optsim.gui.app", "--fresh"]])
def test_without_a_display_one_clear_line_and_exit_2(command, tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["PYTHONPATH"] = str(ROOT)
    env["OPTSIM_SETTINGS_ISOLATED"] = str(tmp_path / "s.ini")
    res = subprocess.run([sys.executable, *command], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=120)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "no display found" in lines[0] and "optsim run --png" in lines[0]
    assert "xcb" not in res.stderr and "Traceback" not in res.stderr


def test_no_display_reads_the_platform_and_the_display_variables(monkeypatch):
    from optsim.gui.app import no_display

    monkeypatch.setattr(sys, "platform", "linux")
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    assert no_display()
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    assert no_display()
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    assert no_display()  # xcb wants an X display
    monkeypatch.setenv("QT_QPA_PLATFORM", "wayland")
    assert not no_display()
    monkeypatch.delenv("QT_QPA_PLATFORM")
    assert not no_display()
    monkeypatch.delenv("WAYLAND_DISPLAY")
    monkeypatch.setenv("DISPLAY", ":0")
    assert not no_display()
    monkeypatch.delenv("DISPLAY")
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert not no_display()
    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.delenv("QT_QPA_PLATFORM")
    assert not no_display()


def test_help_has_getting_started_and_about(window):
    texts = [a.text() for a in window.help_menu.actions()]
    assert texts[:2] == ["Getting started…", "Shortcuts…"] and texts[-1] == "About optsim…"
    dialog = window.show_getting_started()
    text = dialog.label.text()
    for words in ("Right", "Space", "Click anywhere on the plot", "Presets", "F11"):
        assert words in text
    dialog.close()
    from optsim import __version__

    dialog = window.show_about()
    assert f"optsim {__version__}" in dialog.label.text() and "MIT" in dialog.label.text()
    dialog.close()


def test_quit_closes_the_window_and_is_last_in_the_file_menu(qtbot, tmp_path):
    from optsim.gui import app

    w = MainWindow(settings=str(tmp_path / "s.ini"), restore=False)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    app.install_file_menus(w)
    app.install_file_menus(w)  # idempotent
    menu = w.file_actions.file_menu.actions()
    assert menu[-1] is w.quit_action and sum(a is w.quit_action for a in menu) == 1
    assert w.quit_action.shortcut().toString() == "Ctrl+Q"
    QApplication.processEvents()  # (the window becomes the active one)
    w.plot.setFocus()
    QTest.keyClick(w.plot, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=5000)
    # closing saved the set-up, as closing the window does
    assert QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat).value("session/state")
    QApplication.processEvents()


def test_a_first_run_hint_goes_once_used_and_is_remembered(qtbot, tmp_path):
    from optsim.gui.main_window import KEY_HINT_DONE

    def opened():
        w = MainWindow(settings=str(tmp_path / "s.ini"), restore=False)
        qtbot.addWidget(w)
        w.show()
        qtbot.waitExposed(w)
        QApplication.processEvents()
        return w

    w = opened()
    hint = w.first_run_hint
    assert hint is not None and hint.isVisible()
    for words in ("take a step", "Space", "click", "move the start"):
        assert words in hint.text()
    # over the plot's data area, near its bottom, whole
    plot = w.plot
    vb = plot.getPlotItem().getViewBox()
    area = plot.mapFromScene(vb.sceneBoundingRect()).boundingRect()
    top_left = plot.mapFromGlobal(hint.mapToGlobal(hint.rect().topLeft()))
    bottom_right = plot.mapFromGlobal(hint.mapToGlobal(hint.rect().bottomRight()))
    assert area.contains(top_left) and area.contains(bottom_right)
    assert top_left.y() > area.center().y()
    # it lets clicks through: a click on it moves the start (and dismisses it)
    assert hint.testAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
    QTest.keyClick(w.plot, Qt.Key.Key_Right)
    assert w.model.shown_step == 1
    QApplication.processEvents()
    assert w.first_run_hint is None
    assert not any(c.objectName() == "first_run_hint" and c.isVisible()
                   for c in w.centralWidget().children())
    w.close()
    assert QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat).value(KEY_HINT_DONE) \
        in (True, "true")
    # the next start has no hint
    w2 = opened()
    assert w2.first_run_hint is None


def test_the_first_run_hint_also_goes_at_a_click_or_run(qtbot, tmp_path):
    for i, use in enumerate(("click", "run")):
        w = MainWindow(settings=str(tmp_path / f"s{i}.ini"), restore=False)
        qtbot.addWidget(w)
        w.show()
        qtbot.waitExposed(w)
        assert w.first_run_hint is not None
        if use == "click":
            w.plot.clicked.emit(0.25, 0.5)
        else:
            w.playback.set_playing(True)
            w.playback.set_playing(False)
        assert w.first_run_hint is None


def test_the_sweep_and_training_parts_are_built_after_the_first_paint(qtbot, tmp_path):
    """Start-up: the Sweep dock and the training editors (not seen at the first
    paint) are built by finish_start, or at once when something asks for them; a
    preset without the basins overlay does not build them early (built before the
    window showed, the Sweep part put the inspector in front of the preset's story)."""
    from optsim.gui import app, file_actions

    w = MainWindow(settings=str(tmp_path / "s.ini"), restore=False, defer_parts=True)
    qtbot.addWidget(w)
    assert not w.has_part("sweep") and not w.has_part("training")
    assert file_actions.open_from_command_line(w, None, "elongated-valley")
    assert not w.has_part("sweep")
    w.show()
    qtbot.waitExposed(w)
    app.finish_start(w)
    assert w.has_part("sweep") and w.has_part("training")
    assert w.sweep_dock.objectName() == "sweep_dock" and w.basins.action.text()
    assert w.view_menu.actions().count(w.sweep_dock.toggleViewAction()) >= 1
    app.finish_start(w)  # idempotent
    assert len([d for d in w.dock_widgets() if d.objectName() == "sweep_dock"]) == 1
    # asked for before: built at once, once
    w2 = MainWindow(settings=str(tmp_path / "s2.ini"), restore=False, defer_parts=True)
    qtbot.addWidget(w2)
    assert w2.training is w2.training and w2.has_part("training") and not w2.has_part("sweep")
    assert file_actions.open_from_command_line(w2, None, "himmelblau-basins")
    assert w2.has_part("sweep") and w2.basins.action.isChecked()
    with pytest.raises(AttributeError):
        w2.no_such_part  # noqa: B018
    # made for a test or a tool: every part at once
    w3 = MainWindow(settings=str(tmp_path / "s3.ini"), restore=False)
    qtbot.addWidget(w3)
    assert w3.has_part("sweep") and w3.has_part("training")


@pytest.mark.parametrize("preset", ["schedulefree", "adam", "elongated-valley", "himmelblau"])
def test_the_first_run_hint_covers_no_legend_or_key_at_a_projector_size(qtbot, tmp_path, preset):
    """At 1280x720 with Schedule-Free's preset the note lay over the arrows' key."""
    from windows import window_at

    w = window_at(qtbot, tmp_path, preset=preset)
    for _ in range(3):
        qtbot.wait(20)
        QApplication.processEvents()
    hint = w.first_run_hint
    assert hint is not None and hint.isVisible()
    plot = w.plot
    top_left = plot.mapFromGlobal(hint.mapToGlobal(hint.rect().topLeft()))
    hint_rect = QRectF(top_left.x(), top_left.y(), hint.width(), hint.height())
    boxes = [item for item in plot.placer.boxes if item.isVisible() and item.opacity() > 0]
    assert len(boxes) >= 2  # the runs' legend and the arrows' key
    for item in boxes:
        box = plot.mapFromScene(item.mapRectToScene(item.boundingRect())).boundingRect()
        assert not hint_rect.intersects(QRectF(box)), (preset, hint_rect, box)
    vb = plot.getPlotItem().getViewBox()
    area = QRectF(plot.mapFromScene(vb.sceneBoundingRect()).boundingRect())
    assert area.contains(hint_rect)
