"""What the window remembers between launches, and a corrupt store."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
from PySide6.QtCore import QByteArray, QSettings

from optsim.gui.main_window import MainWindow
from optsim.gui.model import SimulationModel, default_runs
from optsim.gui.settings import KEY_GEOMETRY, KEY_SESSION, KEY_STATE, open_settings


def open_window(qtbot, path, restore=True):
    w = MainWindow(settings=str(path), restore=restore)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def default_specs():
    m = SimulationModel()
    m.load_default_runs()
    return [r.optimizer.spec for r in m.runs]


def test_session_is_restored(qtbot, tmp_path):
    path = tmp_path / "s.ini"
    w = open_window(qtbot, path, restore=False)
    m = w.model
    w.function_panel.choose("rosenbrock")
    m.set_view(((-1.5, 1.5), (-0.5, 2.5)))
    m.set_start([-1.0, 2.0])
    m.add_run("adam:lr=0.02,amsgrad=true", name="AMSGrad")
    m.set_run_colour(0, "#123456")
    m.set_run_visible(1, False)
    m.rename_run(2, "my rmsprop")
    m.select(2)
    m.runs[3].start = np.array([0.5, 0.5])  # a scenario's own start for one run
    m.set_noise(0.25, 7)
    w.toolbar.max_steps_spin.setValue(777)
    w.status_dock.hide()
    w.resize(w.minimumSizeHint().width() + 13, w.minimumSizeHint().height() + 7)
    size = w.size()
    w.close()

    w2 = open_window(qtbot, path)
    m2 = w2.model
    assert m2.function.name == "rosenbrock"
    assert m2.view == ((-1.5, 1.5), (-0.5, 2.5))
    assert list(m2.start) == [-1.0, 2.0]
    assert [r.optimizer.spec for r in m2.runs] == [r.optimizer.spec for r in m.runs]
    assert [r.name for r in m2.runs] == [r.name for r in m.runs]
    assert m2.runs[0].colour == "#123456" and not m2.runs[1].visible
    assert m2.runs[-1].optimizer.hp["amsgrad"] is True
    assert m2.selected == 2
    assert list(m2.runs[3].start) == [0.5, 0.5] and m2.runs[0].start is None
    assert (m2.noise, m2.seed) == (0.25, 7)
    assert list(m2.runs[3].trajectory.positions[0, 0]) == [0.5, 0.5]
    assert w2.playback.max_steps == 777
    assert w2.height() == size.height()  # (the offscreen screen clamps widths)
    assert w2.status_dock.isHidden() and not w2.runs_dock.isHidden()
    assert not w2.plot.run_items(1).trail.isVisible()
    assert w2.function_panel.xmin.value() == -1.5


def test_formula_is_restored(qtbot, tmp_path):
    path = tmp_path / "s.ini"
    w = open_window(qtbot, path, restore=False)
    w.function_panel.formula_edit.setText("x**2 + 2*y**2")
    assert w.function_panel.apply_formula()
    w.close()
    w2 = open_window(qtbot, path)
    assert w2.model.function.is_custom and w2.model.function.formula.replace(" ", "") == "x**2+2*y**2"


def test_corrupt_store_falls_back_to_defaults(qtbot, tmp_path):
    path = tmp_path / "s.ini"
    garbage = [
        "{not json",
        json.dumps([1, 2, 3]),
        json.dumps({"function": {"name": 42}, "runs": "nope", "view": "x", "start": [1]}),
        json.dumps({"function": {"name": "bowl"}, "view": [[1, 0], [0, 1]], "start": ["a", None],
                    "runs": [{"spec": "adam:lr=-1"}, {"spec": "nosuch"}, 5, {"spec": None}],
                    "selected": "x", "playback": {"speed": "fast", "max_steps": -3},
                    "noise": -1.0, "seed": "x"}),
        json.dumps({"function": {"name": "bowl"}, "noise": float("nan"), "seed": 2**80}),
        json.dumps({"function": {"formula": "import os"}, "runs": [{"spec": "sgd"}]}),
    ]
    for g in garbage:
        s = QSettings(str(path), QSettings.Format.IniFormat)
        s.setValue(KEY_SESSION, g)
        s.setValue(KEY_GEOMETRY, "garbage")
        s.setValue(KEY_STATE, 12345)
        s.sync()
        w = open_window(qtbot, path)
        m = w.model
        if '"bowl"' in g:  # a valid function is kept; its invalid parts are not
            assert m.function.name == "bowl"
            assert m.view == m.function.view and list(m.start) == list(m.function.start)
        else:
            assert m.function.name == "elongated-bowl"
        assert [r.optimizer.spec for r in m.runs] == default_specs()
        assert m.noise == 0
        assert w.playback.max_steps == 10_000
        w.playback.step_action.trigger()  # and it works
        assert m.shown_step == 1
        w.close()
        path.unlink()


def test_wrong_types_in_the_store(qtbot, tmp_path):
    path = tmp_path / "s.ini"
    s = QSettings(str(path), QSettings.Format.IniFormat)
    s.setValue(KEY_SESSION, QByteArray(b"\x00\xff"))
    s.setValue(KEY_GEOMETRY, QByteArray(b"\x01\x02\x03"))  # bytes, but not a geometry
    s.setValue(KEY_STATE, [1, 2])
    s.sync()
    w = open_window(qtbot, path)
    assert [r.optimizer.spec for r in w.model.runs] == default_specs()


def test_isolated_store_never_touches_the_users(tmp_path, monkeypatch):
    monkeypatch.setenv("OPTSIM_SETTINGS_ISOLATED", str(tmp_path / "iso.ini"))
    assert open_settings().fileName() == str(tmp_path / "iso.ini")
    monkeypatch.setenv("OPTSIM_SETTINGS_ISOLATED", "1")
    name = open_settings().fileName()
    assert "optsim-settings-" in name and name == open_settings().fileName()


def test_default_runs_fall_back_to_what_the_registry_has(monkeypatch):
    import optsim.gui.model as model

    monkeypatch.setattr(model, "OPTIMIZERS", {"sgd": None, "adam": None})
    assert [n for n, _ in default_runs(None)] == ["sgd", "adam"]


def test_startup_does_not_import_sympy(tmp_path):
    code = textwrap.dedent(f"""
        import sys
        from PySide6.QtWidgets import QApplication
        app = QApplication([])
        from optsim.gui.main_window import MainWindow
        w = MainWindow(settings={str(tmp_path / 'x.ini')!r})
        w.show()
        app.processEvents()
        w.playback.step(3)
        print("sympy" in sys.modules, w.model.shown_step)
    """)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=120, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-2:] == ["False", "3"]


def test_a_session_of_the_first_schema_is_still_restored(qtbot, tmp_path):
    """Sessions stored by earlier versions (runs as spec strings) open as they were."""
    path = tmp_path / "s.ini"
    old = {"schema": 1, "function": {"name": "rosenbrock"}, "view": [[-1.5, 1.5], [-0.5, 2.5]],
           "start": [-1.0, 2.0], "noise": 0.25, "seed": 7, "selected": 1,
           "runs": [{"spec": "adam:lr=0.02,amsgrad=true", "name": "AMSGrad", "colour": "#123456",
                     "visible": True, "start": None},
                    {"spec": "sgd:lr=0.003", "name": " plain ", "colour": "#E69F00",
                     "visible": False, "start": [0.5, 0.5]}],
           "playback": {"max_steps": 777}}
    s = QSettings(str(path), QSettings.Format.IniFormat)
    s.setValue(KEY_SESSION, json.dumps(old))
    s.sync()
    w = open_window(qtbot, path)
    m = w.model
    assert m.function.name == "rosenbrock" and list(m.start) == [-1.0, 2.0]
    assert m.view == ((-1.5, 1.5), (-0.5, 2.5)) and (m.noise, m.seed) == (0.25, 7)
    assert [r.optimizer.spec for r in m.runs] == ["adam:lr=0.02,amsgrad=true", "sgd:lr=0.003"]
    assert [r.name for r in m.runs] == ["AMSGrad", "plain"] and not m.runs[1].visible
    assert m.runs[1].start == (0.5, 0.5) and m.selected == 1
    assert w.playback.max_steps == 777
    w.close()
    stored = json.loads(QSettings(str(path), QSettings.Format.IniFormat).value(KEY_SESSION))
    assert stored["schema"] == 2 and stored["runset"]["runs"][0]["optimizer"] == "adam"
