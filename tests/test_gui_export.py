"""The window's File and Presets menus, driven with pytest-qt: scenarios open, save and
fail cleanly; exports write what the plot shows; file dialogs and message boxes are
stubbed."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtWidgets import QApplication, QDialog, QFileDialog, QMessageBox, QProgressDialog

from optsim import simulate
from optsim.export.animation import frame_count
from optsim.gui import export_dialog, file_actions
from optsim.gui.export_dialog import AnimationOptions, ImageOptions
from optsim.gui.file_actions import install, open_from_command_line
from optsim.gui.main_window import TITLE, MainWindow
from optsim.scenarios import (
    list_presets,
    load_preset,
    load_scenario,
    preset_path,
    run_scenario,
    save_scenario,
)


@pytest.fixture
def errors(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Message boxes recorded instead of shown."""
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
    QApplication.processEvents()
    return w


def _save_dialog(monkeypatch: pytest.MonkeyPatch, path: Path, seen: list | None = None) -> None:
    def fake(parent, title, suggested, filters, *a):
        if seen is not None:
            seen.append((title, suggested, filters))
        return str(path), filters

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(fake))


def _open_dialog(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *a: (str(path), "")))


def _menu_texts(menu) -> list[str]:
    return [a.text() for a in menu.actions() if not a.isSeparator()]


# -- menus -----------------------------------------------------------------------------------


def test_menus(window) -> None:
    bar = [a.text() for a in window.menuBar().actions()]
    assert bar[0] == "&File" and "&Presets" in bar and bar[-1] == "&Help"
    fa = window.file_actions
    assert _menu_texts(fa.file_menu) == ["&Open scenario…", "Open &recent", "&Save scenario",
                                         "Save scenario &as…", "&Export"]
    assert _menu_texts(fa.export_menu) == ["&Image (PNG/SVG)…", "&Copy image to clipboard",
                                           "&Animation (GIF/MP4)…", "Data as &CSV…",
                                           "Data as &JSON…"]
    assert [t.split(" — ")[0] for t in _menu_texts(fa.presets_menu)] == list_presets()
    assert install(window) is fa                       # installing twice changes nothing


# -- presets and opening ---------------------------------------------------------------------


def test_preset_menu_loads_the_preset_and_its_story(window) -> None:
    fa = window.file_actions
    fa.preset_actions["elongated-valley"].trigger()
    m, s = window.model, load_preset("elongated-valley")
    assert m.function.name == "elongated-bowl" and m.view == s.view
    assert [r.name for r in m.runs] == [r.name for r in s.runs]
    assert [tuple(r.start) for r in m.runs] == [(-1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)]
    assert window.toolbar.max_steps_spin.value() == 100 == window.playback.max_steps
    assert fa.story_dock.isVisible() and "RMSProp" in fa.story.text()
    assert window.windowTitle() == f"{s.name} — {TITLE}"
    # each run steps from its own start, exactly as the engine does
    m.step_forward(20)
    for r in m.runs:
        expected = simulate("elongated-bowl", r.optimizer.spec, tuple(r.start), 20)
        np.testing.assert_array_equal(r.trajectory.positions[:, 0], expected)
        x, y = window.plot.run_items(m.runs.index(r)).marker.getData()
        np.testing.assert_allclose([x[-1], y[-1]], expected[-1])


@pytest.mark.parametrize("name", list_presets())
def test_every_preset_opens_and_steps(window, name: str) -> None:
    assert window.file_actions.open_preset(name)
    window.model.step_forward(5)
    assert len(window.model.runs) == len(load_preset(name).runs)
    assert all(r.trajectory.steps == 5 or r.diverged for r in window.model.runs)


def test_open_file_and_recent(window, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_bytes(preset_path("saddle").read_bytes())
    b.write_bytes(preset_path("himmelblau").read_bytes())
    _open_dialog(monkeypatch, a)
    window.file_actions.open_action.trigger()
    assert window.model.function.name == "saddle"
    assert window.windowTitle() == f"a.json — {TITLE}"
    assert window.file_actions.open_file(str(b))
    assert window.file_actions.recent_files() == [str(b), str(a)]
    fa = window.file_actions
    fa._fill_recent()
    entries = [x for x in fa.recent_menu.actions() if x.text().startswith("&1")]
    assert entries[0].text() == "&1 b.json"
    [x for x in fa.recent_menu.actions() if x.text().startswith("&2")][0].trigger()
    assert window.model.function.name == "saddle"
    # the list survives a new window on the same settings
    w2 = MainWindow(settings=str(tmp_path / "settings.ini"), restore=False)
    window.settings.sync()
    assert install(w2).recent_files() == [str(a), str(b)]
    w2.close()


@pytest.mark.parametrize("content, needle", [
    ('{"version": 1, "function": "bowl", "runs": [', "not valid JSON"),
    ('{"version": 1, "function": "bowl", "runs": [{"optimizer": "adam", '
     '"hyperparams": {"lr": -1}}]}', "runs[0].hyperparams.lr"),
    ('{"version": 7, "function": "bowl"}', "newer than this optsim"),
    ('{"version": 1, "function": "bowl", "noise": -0.5}', "noise"),
    ('[]', "must be a JSON object"),
])
def test_bad_file_keeps_the_current_scenario(window, tmp_path: Path, errors: list,
                                             content: str, needle: str) -> None:
    window.file_actions.open_preset("adam")
    window.model.step_forward(3)
    before = window.file_actions.current_scenario().to_json()
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    assert not window.file_actions.open_file(str(bad))
    assert len(errors) == 1 and errors[0][0] == "Cannot open scenario"
    assert str(bad) in errors[0][1] and needle in errors[0][1]
    assert window.file_actions.current_scenario().to_json() == before
    assert window.model.shown_step == 3                     # not even reset
    assert window.file_actions.recent_files() == []


def test_noisy_scenario_runs_as_the_engine(window, tmp_path: Path) -> None:
    s = dataclasses.replace(load_preset("saddle"), noise=0.5, seed=3)
    path = tmp_path / "noisy.json"
    save_scenario(s, path)
    assert window.file_actions.open_file(str(path))
    assert (window.model.noise, window.model.seed) == (0.5, 3)
    window.model.step_forward(25)
    for (_, traj), r in zip(run_scenario(s, steps=25), window.model.runs, strict=True):
        np.testing.assert_array_equal(r.trajectory.positions, traj.positions)
    assert window.file_actions.current_scenario().noise == 0.5


def test_noise_from_the_run_menu(window, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from PySide6.QtWidgets import QInputDialog

    assert window.file_actions.noise_action in window.run_menu.actions()
    monkeypatch.setattr(QInputDialog, "getDouble", staticmethod(lambda *a, **k: (0.25, True)))
    monkeypatch.setattr(QInputDialog, "getInt", staticmethod(lambda *a, **k: (11, True)))
    window.file_actions.open_preset("zigzag-bowl")
    window.file_actions.noise_action.trigger()
    assert (window.model.noise, window.model.seed) == (0.25, 11)
    window.model.step_forward(10)
    ref = simulate("zigzag-bowl", window.model.runs[0].optimizer.spec, (-0.9, 0.5), 10,
                   noise=0.25, seed=11)
    np.testing.assert_array_equal(window.model.runs[0].trajectory.positions[:, 0], ref)
    assert window.file_actions.save_as(str(tmp_path / "n.json"))
    s = load_scenario(tmp_path / "n.json")
    assert (s.noise, s.seed, s.steps) == (0.25, 11, 10)
    monkeypatch.setattr(QInputDialog, "getDouble", staticmethod(lambda *a, **k: (0.0, False)))
    assert not window.file_actions.ask_noise()               # cancelled: nothing changes
    assert window.model.noise == 0.25


def test_command_line_opening(window, tmp_path: Path, errors: list) -> None:
    assert open_from_command_line(window, preset="rastrigin")
    assert window.model.function.name == "rastrigin"
    path = tmp_path / "s.json"
    path.write_bytes(preset_path("beale").read_bytes())
    assert open_from_command_line(window, scenario=str(path))
    assert window.model.function.name == "beale"
    assert not open_from_command_line(window, preset="nope")
    assert "unknown preset 'nope'" in errors[-1][1]
    assert window.model.function.name == "beale"


def test_main_py_arguments(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, qapp) -> None:
    from optsim.gui import app

    opened = []
    monkeypatch.setattr(file_actions, "open_from_command_line",
                        lambda w, scenario=None, preset=None: opened.append((scenario, preset)))
    monkeypatch.setattr(type(qapp), "exec", lambda self: 0)
    ini = str(tmp_path / "s.ini")
    assert app.main(["--settings", ini, "--fresh", "--preset", "adam"]) == 0
    assert app.main(["--settings", ini, "--fresh", str(tmp_path / "x.json")]) == 0
    QApplication.processEvents()  # a file that cannot be read is opened (and said) once shown
    assert opened == [(None, "adam"), (str(tmp_path / "x.json"), None)]
    for w in QApplication.topLevelWidgets():
        if isinstance(w, MainWindow):
            w.close()


# -- saving ----------------------------------------------------------------------------------


def test_save_as_then_save_round_trips(window, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    fa = window.file_actions
    fa.open_preset("elongated-valley")
    path = tmp_path / "mine"
    seen: list = []
    _save_dialog(monkeypatch, path, seen)
    fa.save_action.trigger()                       # no file yet: Save asks where
    saved = tmp_path / "mine.json"                 # the suffix is added
    assert seen and saved.exists()
    # nothing run yet: the preset's own step count; so the file is the preset itself
    assert saved.read_bytes() == preset_path("elongated-valley").read_bytes()
    window.model.set_run_visible(1, False)
    window.model.rename_run(0, "plain GD")
    window.model.step_forward(42)
    assert fa.save()                               # to the same file, no dialog
    s = load_scenario(saved)
    assert s.steps == 42 and s.runs[0].name == "plain GD" and not s.runs[1].visible
    assert s.runs[2].start == (-1.0, 1.0)
    # reopening it shows the same
    fa.open_preset("adam")
    assert fa.open_file(str(saved))
    assert [r.name for r in window.model.runs][0] == "plain GD"
    assert not window.model.runs[1].visible and fa.steps == 42
    assert fa.current_scenario().to_json() == saved.read_text(encoding="utf-8")


def test_unwritable_save_says_so(window, tmp_path: Path, errors: list) -> None:
    assert not window.file_actions.save_as(str(tmp_path / "missing" / "s.json"))
    assert errors[0][0] == "Cannot save scenario" and "does not exist" in errors[0][1]
    assert window.file_actions.path is None


def test_formula_scenario_round_trip(window, tmp_path: Path) -> None:
    window.model.set_function("x**2 + 4*y**2")
    assert window.file_actions.save_as(str(tmp_path / "f.json"))
    assert load_scenario(tmp_path / "f.json").function == "x**2 + 4*y**2"
    window.model.set_function("bowl")
    assert window.file_actions.open_file(str(tmp_path / "f.json"))
    assert window.model.function.formula == "x**2 + 4*y**2"


# -- exports ---------------------------------------------------------------------------------


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB")).astype(int)


def test_export_png_through_the_dialog(window, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    fa = window.file_actions
    fa.open_preset("himmelblau")
    window.model.step_forward(60)
    opts = ImageOptions("png", (500, 400), 2, True)
    monkeypatch.setattr(export_dialog.ImageExportDialog, "exec",
                        lambda self: QDialog.DialogCode.Accepted)
    monkeypatch.setattr(export_dialog.ImageExportDialog, "options", lambda self: opts)
    out = tmp_path / "h.png"
    _save_dialog(monkeypatch, out)
    fa.export_image_action.trigger()
    px = _pixels(out)
    assert px.shape == (800, 1000, 3) and px.std() > 20        # 500×400 at 2×
    for r in window.model.runs:                                 # every run's colour is drawn
        rgb = np.array([int(r.colour[i:i + 2], 16) for i in (1, 3, 5)])
        assert (np.abs(px - rgb).max(axis=2) < 30).sum() > 100


def test_export_png_scale_keeps_the_figure(window, tmp_path: Path) -> None:
    fa = window.file_actions
    fa.open_preset("zigzag-bowl")
    window.model.step_forward(10)
    one, two = tmp_path / "1.png", tmp_path / "2.png"
    assert fa.export_image(str(one), ImageOptions("png", (400, 300), 1, False))
    assert fa.export_image(str(two), ImageOptions("png", (400, 300), 2, False))
    a, b = _pixels(one), _pixels(two)
    assert a.shape == (300, 400, 3) and b.shape == (600, 800, 3)
    # the 2× picture, halved, is the 1× picture (same layout, just sharper)
    halved = np.asarray(Image.fromarray(b.astype(np.uint8)).resize((400, 300), Image.BOX)).astype(int)
    assert np.abs(halved - a).mean() < 12


def test_export_svg_without_history(window, tmp_path: Path) -> None:
    window.model.step_forward(10)
    out = tmp_path / "a.svg"
    assert window.file_actions.export_image(str(out), ImageOptions("svg", (640, 480), 1, False))
    text = out.read_text()
    assert text.lstrip().startswith("<?xml") and 'width="640' in text
    label = re.compile(r">\s*step\b")
    assert re.search(r">\s*x\s*<", text) and not label.search(text)  # no loss-vs-step plot
    assert window.file_actions.export_image(str(out), ImageOptions("svg", (640, 480), 1, True))
    assert label.search(out.read_text())


def test_the_shown_view_is_exported(window, tmp_path: Path) -> None:
    fa = window.file_actions
    fa.open_preset("momentum-speedup")
    window.model.step_forward(30)
    opts = ImageOptions("png", (400, 300), 1, False)
    assert fa.export_image(str(tmp_path / "full.png"), opts)
    vb = window.plot.getPlotItem().getViewBox()
    vb.setRange(xRange=(-0.5, 0.5), yRange=(-0.5, 0.5), padding=0)
    QApplication.processEvents()
    (x0, x1), (y0, y1) = fa._shown_view()
    # x and y to one scale: the range asked for, grown along one axis to the plot's shape
    assert x0 <= -0.48 and x1 >= 0.48 and y0 <= -0.48 and y1 >= 0.48
    assert min(x1 - x0, y1 - y0) == pytest.approx(1.0, abs=0.04)
    assert fa.export_image(str(tmp_path / "zoom.png"), opts)
    full, zoom = _pixels(tmp_path / "full.png"), _pixels(tmp_path / "zoom.png")
    assert full.shape == zoom.shape and np.abs(full - zoom).mean() > 5


def test_copy_image_to_clipboard(window) -> None:
    window.file_actions.copy_image_action.trigger()
    image = QApplication.clipboard().image()
    grabbed = window.figure.grab().toImage()
    assert not image.isNull() and image.size() == grabbed.size()
    assert image.width() > 100 and image.height() > 100


def test_export_animation_through_the_dialog(window, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    fa = window.file_actions
    fa.open_preset("saddle")
    window.model.step_forward(30)
    window.model.set_run_visible(3, False)
    opts = AnimationOptions("gif", 4, 10.0, (480, 360), False)
    monkeypatch.setattr(export_dialog.AnimationExportDialog, "exec",
                        lambda self: QDialog.DialogCode.Accepted)
    monkeypatch.setattr(export_dialog.AnimationExportDialog, "options", lambda self: opts)
    out = tmp_path / "s.gif"
    _save_dialog(monkeypatch, out)
    fa.export_animation_action.trigger()
    with Image.open(out) as im:
        assert im.size == (480, 360) and im.n_frames == frame_count(30, 4) == 9
        im.seek(im.n_frames - 1)
        last = np.asarray(im.convert("RGB")).astype(int)
    hidden = np.array([int(window.model.runs[3].colour[i:i + 2], 16) for i in (1, 3, 5)])
    shown = np.array([int(window.model.runs[0].colour[i:i + 2], 16) for i in (1, 3, 5)])
    assert (np.abs(last - shown).max(axis=2) < 30).sum() > 50
    assert (np.abs(last - hidden).max(axis=2) < 12).sum() < 20   # the hidden run is not drawn


def test_cancelled_animation_leaves_nothing(window, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    fa = window.file_actions
    fa.open_preset("zigzag-bowl")
    window.model.step_forward(20)
    calls = []

    def was_canceled(self) -> bool:
        calls.append(1)
        return len(calls) >= 3

    monkeypatch.setattr(QProgressDialog, "wasCanceled", was_canceled)
    out = tmp_path / "z.mp4"
    assert fa.export_animation(str(out), AnimationOptions("mp4", 1, 20.0, (480, 360), True)) is False
    assert [p for p in os.listdir(tmp_path) if p != "settings.ini"] == []
    assert len(calls) == 3
    assert "cancelled" in window.statusBar().currentMessage()


def test_nothing_to_animate(window, errors: list, tmp_path: Path) -> None:
    assert not window.file_actions.export_animation(str(tmp_path / "a.gif"), AnimationOptions())
    assert errors[0][0] == "Nothing to animate"


def test_export_csv_equals_the_engine(window, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    fa = window.file_actions
    fa.open_preset("elongated-valley")
    window.model.step_forward(25)
    out = tmp_path / "d.csv"
    _save_dialog(monkeypatch, out)
    fa.export_csv_action.trigger()
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3 * 26
    for r in window.model.runs:
        mine = [row for row in rows if row["optimizer"] == r.name]
        pos = np.array([[float(row["x"]), float(row["y"])] for row in mine])
        np.testing.assert_array_equal(
            pos, simulate("elongated-bowl", r.optimizer.spec, tuple(r.start), 25))


def test_export_json(window, tmp_path: Path) -> None:
    fa = window.file_actions
    fa.open_preset("local-minimum")
    window.model.step_forward(70)
    out = tmp_path / "d.json"
    assert fa.export_json(str(out))
    d = json.loads(out.read_text(encoding="utf-8"))
    assert d["scenario"]["steps"] == 70 and d["scenario"]["function"] == "cubic"
    gd, mom = d["runs"]
    np.testing.assert_array_equal(np.array(gd["positions"]),
                                  simulate("cubic", "sgd:lr=0.01", (7.0,), 70))
    assert mom["diverged"] is True and mom["diverged_step"] == 64


def test_unwritable_exports_say_so_and_write_nothing(window, tmp_path: Path, errors: list) -> None:
    fa = window.file_actions
    window.model.step_forward(5)
    target = tmp_path / "missing" / "x"
    assert not fa.export_csv(str(target) + ".csv")
    assert not fa.export_json(str(target) + ".json")
    assert not fa.export_image(str(target) + ".png", ImageOptions())
    assert not fa.export_animation(str(target) + ".gif", AnimationOptions(size=(480, 360)))
    assert [t for t, _ in errors] == ["Cannot export CSV", "Cannot export JSON",
                                      "Cannot export image", "Cannot export animation"]
    assert all("does not exist" in text for _, text in errors)
    assert not (tmp_path / "missing").exists()
    assert [p for p in os.listdir(tmp_path) if p != "settings.ini"] == []
