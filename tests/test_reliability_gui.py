"""The window against files that are not regular files and corrupt settings: File >
Open on a FIFO or a device says so and the window goes on; exports write through
links and stream to FIFOs; a settings file's wrong types and huge lists are
ignored or capped. Devices are private nodes; every wait is bounded."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox
from test_files import ZERO, FifoReader, device, fifo

from optsim import files
from optsim.gui import file_actions
from optsim.gui.export_dialog import AnimationOptions, ImageOptions
from optsim.gui.file_actions import MAX_RECENT, install
from optsim.gui.main_window import MainWindow


@pytest.fixture
def errors(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    monkeypatch.setattr(QMessageBox, "critical",
                        staticmethod(lambda parent, title, text, *a: seen.append((title, text))))
    return seen


@pytest.fixture
def window(qtbot, tmp_path: Path, errors):
    w = MainWindow(settings=str(tmp_path / "settings.ini"), restore=False)
    qtbot.addWidget(w)
    install(w)
    w.show()
    qtbot.waitExposed(w)
    return w


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_file_open_on_a_fifo_or_device_says_so_and_the_window_goes_on(
        window, tmp_path, errors, monkeypatch, kind):
    path = fifo(tmp_path) if kind == "fifo" else device(tmp_path, "zero", ZERO)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a: (str(path), "")))
    before = window.model.function.name, len(window.model.runs)
    start = time.monotonic()
    window.file_actions.open_action.trigger()
    assert time.monotonic() - start < 5
    what = "FIFO (named pipe)" if kind == "fifo" else "character device"
    assert errors == [("Cannot open scenario",
                       f"{path}: cannot read: it is a {what}, not a regular file")]
    assert (window.model.function.name, len(window.model.runs)) == before
    window.model.step_forward(3)  # still working
    QApplication.processEvents()
    assert window.model.shown_step == 3


def test_main_py_with_a_fifo_does_not_block(monkeypatch, tmp_path, qapp, errors):
    from optsim.gui import app

    pipe = fifo(tmp_path)
    monkeypatch.setattr(type(qapp), "exec", lambda self: 0)
    start = time.monotonic()
    assert app.main(["--settings", str(tmp_path / "s.ini"), "--fresh", str(pipe)]) == 0
    QApplication.processEvents()  # the error is said over the shown window
    assert time.monotonic() - start < 20
    assert errors and "FIFO (named pipe)" in errors[0][1]
    for w in QApplication.topLevelWidgets():
        if isinstance(w, MainWindow):
            w.close()


def test_a_settings_file_that_is_a_fifo_is_refused_at_once(tmp_path, capsys):
    from optsim.gui import app

    pipe = fifo(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        app.main(["--settings", str(pipe)])
    assert exit_.value.code == 2
    assert "--settings: cannot read" in capsys.readouterr().err


def test_exports_write_through_links(window, tmp_path, errors):
    window.model.step_forward(4)
    fa = window.file_actions
    real = tmp_path / "real"
    real.mkdir()
    exports = {
        "csv": lambda p: fa.export_csv(p),
        "json": lambda p: fa.export_json(p),
        "png": lambda p: fa.export_image(p, ImageOptions(size=(320, 240))),
        "svg": lambda p: fa.export_image(p, ImageOptions(format="svg", size=(320, 240))),
        "gif": lambda p: fa.export_animation(p, AnimationOptions(size=(160, 120))),
    }
    for suffix, export in exports.items():
        target = real / f"out.{suffix}"
        link = tmp_path / f"link.{suffix}"
        link.symlink_to(target)
        assert export(str(link)), errors
        assert link.is_symlink() and target.stat().st_size > 0
    assert fa.save_as(str(tmp_path / "link.json")) and (real / "out.json").read_text()
    assert errors == []
    assert sorted(os.listdir(real)) == [f"out.{s}" for s in sorted(exports)]


def test_an_image_export_streams_to_a_fifo(window, tmp_path, errors):
    pipe = fifo(tmp_path, "view.png")
    reader = FifoReader(pipe)
    reader.start()
    assert window.file_actions.export_image(str(pipe), ImageOptions(size=(200, 150)))
    assert reader.result().startswith(b"\x89PNG\r\n\x1a\n")
    assert stat.S_ISFIFO(os.lstat(pipe).st_mode) and errors == []


def test_an_export_to_a_fifo_nobody_reads_is_an_error_dialog(window, tmp_path, errors,
                                                            monkeypatch):
    monkeypatch.setattr(files, "STREAM_WAIT", 0.2)
    pipe = fifo(tmp_path, "data.csv")
    assert not window.file_actions.export_csv(str(pipe))
    assert errors == [("Cannot export CSV", f"cannot write {str(pipe)!r}: no process is "
                       "reading the FIFO (waited 0.2 s)")]


def test_recent_files_of_the_wrong_type_are_none(window, tmp_path):
    window.settings.sync()
    ini = tmp_path / "settings.ini"
    ini.write_text("[files]\nrecent=@Point(1 2)\n")
    window.settings = QSettings(str(ini), QSettings.Format.IniFormat)
    fa = window.file_actions
    assert fa.recent_files() == []
    fa._fill_recent()  # File > Open Recent: no traceback, "(none)"
    assert [a.text() for a in fa.recent_menu.actions()] == ["(none)"]


def test_a_huge_recent_list_is_capped_on_reading(window, tmp_path):
    ini = tmp_path / "huge.ini"
    s = QSettings(str(ini), QSettings.Format.IniFormat)
    s.setValue(file_actions.KEY_RECENT, [f"/tmp/f{i}.json" for i in range(100_000)] + [3])
    s.sync()
    window.settings = QSettings(str(ini), QSettings.Format.IniFormat)
    fa = window.file_actions
    assert fa.recent_files() == [f"/tmp/f{i}.json" for i in range(MAX_RECENT)]
    fa._fill_recent()
    assert len([a for a in fa.recent_menu.actions() if a.text().startswith("&")]) == MAX_RECENT


def test_a_settings_file_through_a_link_is_written_through(tmp_path):
    from optsim.gui.settings import open_settings

    real = tmp_path / "real.ini"
    real.write_text("")
    link = tmp_path / "link.ini"
    link.symlink_to(real)
    s = open_settings(str(link))
    s.setValue("files/last_dir", "/x")
    s.sync()
    assert link.is_symlink() and "last_dir=/x" in real.read_text()


def test_a_huge_settings_file_is_refused(tmp_path, monkeypatch):
    from optsim.files import ReadError
    from optsim.gui import settings

    big = tmp_path / "big.ini"
    big.write_bytes(b"[a]\n" + b"x" * 2000)
    monkeypatch.setattr(settings, "MAX_SETTINGS_BYTES", 1000)
    with pytest.raises(ReadError, match="the settings file is too large"):
        settings.open_settings(str(big))


def test_the_users_settings_as_a_fifo_are_left_alone(tmp_path, monkeypatch, capsys):
    from optsim.gui import settings

    fmt, scope = QSettings.Format.IniFormat, QSettings.Scope.UserScope
    before = os.path.dirname(os.path.dirname(QSettings(fmt, scope, "o", "a").fileName()))
    assert settings.user_settings_path() == QSettings(fmt, scope, "optsim", "optsim").fileName()
    (tmp_path / "optsim").mkdir()
    pipe = fifo(tmp_path / "optsim", "optsim.ini")
    monkeypatch.delenv("OPTSIM_SETTINGS_ISOLATED", raising=False)
    QSettings.setPath(fmt, scope, str(tmp_path))
    try:
        s = settings.open_settings()
    finally:
        QSettings.setPath(fmt, scope, before)
    assert s.fileName() != str(pipe) and stat.S_ISFIFO(os.lstat(pipe).st_mode)
    assert "FIFO (named pipe)" in capsys.readouterr().err
