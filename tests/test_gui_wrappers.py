"""The window with Schedule-Free, Lookahead and plug-ins (pytest-qt, offscreen): the
second markers and their paths, the Lookahead check box, "Load optimizer…"
remembered across sessions, and a plug-in that fails at import or while stepping
(a message with its traceback under "Show Details…", the window usable, the run
failed at that step). The preset's story is checked without the window."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication, QMessageBox

from optsim import plugins
from optsim.engine import OPTIMIZERS, parse_spec
from optsim.functions import get_function
from optsim.scenarios import load_preset, run_scenario

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "plugins" / "sign_momentum.py"
RAISES = """
    from typing import NamedTuple
    import numpy as np
    from optsim.engine import HyperParam, Optimizer

    class S(NamedTuple):
        step: int

    class Late(Optimizer):
        '''Fails at step 5.'''
        algorithm = "late-fail"
        hyperparams = (HyperParam("lr", float, 0.01, "lr", low=0.0, high=1.0),)
        State = S

        def update(self, c, params, grads, state, step, out_params, out, info):
            if step >= 5:
                raise RuntimeError("late trouble")
            np.subtract(params, c["lr"] * grads, out=out_params)
"""


@pytest.fixture(autouse=True)
def _registry():
    saved, sources = dict(OPTIMIZERS), dict(plugins.SOURCES)
    yield
    OPTIMIZERS.clear()
    OPTIMIZERS.update(saved)
    plugins.SOURCES.clear()
    plugins.SOURCES.update(sources)


def test_schedule_free_draws_x_as_a_hollow_marker_on_its_dashed_path(window) -> None:
    m = window.model
    m.replace_runs([(parse_spec("schedulefree-sgd:lr=0.05"), "sf", "#0072B2", True)])
    m.step_forward(12)
    QApplication.processEvents()
    t = m.runs[0].trajectory
    path, marker = window.plot.point_items(0, "x")
    xs, ys = path.getData()
    x = t.extra_paths()["x"][:, 0]
    np.testing.assert_allclose(np.column_stack([xs, ys]), x[:13], rtol=1e-9)
    np.testing.assert_allclose(marker.data["x"][0], x[12, 0])
    assert marker.isVisible() and marker.disc.isVisible()
    # the legend names it
    texts = [label.text for _sample, label in window.plot.legend.items]
    assert any("averaged point x" in s for s in texts)
    # going back shows x where it was then
    m.seek(4)
    QApplication.processEvents()
    assert marker.data["x"][0] == pytest.approx(x[4, 0])
    # a run without extra points has none; hiding the run hides them
    m.set_run_visible(0, False)
    QApplication.processEvents()
    assert not marker.isVisible()


def test_the_lookahead_box_wraps_the_selected_run_and_the_slow_weights_show(window) -> None:
    m = window.model
    panel = window.runs_panel
    m.replace_runs([(parse_spec("adam:lr=0.05"), "adam", "#E69F00", True)])
    m.select(0)
    QApplication.processEvents()
    panel.wrapper_boxes["lookahead"].setChecked(True)
    QApplication.processEvents()
    opt = m.runs[0].optimizer
    assert opt.spec == "adam:lr=0.05+lookahead"
    assert {"lookahead_k", "lookahead_alpha"} <= set(panel.editor.values())
    m.step_forward(10)
    QApplication.processEvents()
    path, marker = window.plot.point_items(0, "slow_params")
    np.testing.assert_allclose(marker.data["x"][0], m.runs[0].trajectory.state.slow_params[0, 0])
    # the editor changes k; unticking unwraps, keeping the lr
    values = dict(panel.editor.values())
    values["lookahead_k"] = 3
    panel._values_edited(values)
    assert m.runs[0].optimizer.hp["lookahead_k"] == 3
    panel.wrapper_boxes["lookahead"].setChecked(False)
    QApplication.processEvents()
    assert m.runs[0].optimizer.spec == "adam:lr=0.05"


def test_load_optimizer_adds_it_everywhere_and_is_remembered(window, qtbot, tmp_path) -> None:
    from optsim.gui.main_window import MainWindow
    from optsim.gui.settings import KEY_PLUGINS, remembered_plugins

    panel = window.runs_panel
    assert panel.load_button.text() == "Load optimizer\u2026"
    n = len(window.model.runs)
    assert panel.load_plugin_file(str(EXAMPLE))
    assert len(window.model.runs) == n + 1
    new = window.model.runs[-1]
    assert new.optimizer.name == "sign-momentum"
    assert panel.kind_combo.findText("sign-momentum") >= 0
    assert remembered_plugins(window.settings) == [str(EXAMPLE)]
    window.model.step_forward(3)
    assert new.trajectory.steps == 3
    window.save_settings()
    window.settings.sync()
    # the next session: forgotten by the process, loaded again from the settings
    OPTIMIZERS.pop("sign-momentum")
    plugins.SOURCES.clear()
    again = MainWindow(settings=window.settings.fileName(), restore=True)
    qtbot.addWidget(again)
    assert "sign-momentum" in OPTIMIZERS
    assert again.runs_panel.kind_combo.findText("sign-momentum") >= 0
    assert any(r.optimizer.name == "sign-momentum" for r in again.model.runs)
    assert KEY_PLUGINS == "plugins/files"


def test_a_plugin_that_fails_to_import_says_why_with_its_traceback(window, tmp_path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import numpy\n\ndef f():\n    return 1 / 0\n\nf()\n")
    runs = len(window.model.runs)
    assert not window.runs_panel.load_plugin_file(str(bad))
    box = window.runs_panel.failure_box
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert "bad.py failed to import: ZeroDivisionError" in box.text()
    assert str(bad) in box.detailedText() and "1 / 0" in box.detailedText()
    box.close()
    assert len(window.model.runs) == runs  # nothing else changed; the window goes on
    window.model.step_forward(2)
    assert window.model.shown_step == 2


def test_a_plugin_raising_while_stepping_fails_its_run_at_that_step(window, qtbot,
                                                                   tmp_path) -> None:
    path = tmp_path / "late.py"
    path.write_text(textwrap.dedent(RAISES))
    assert window.runs_panel.load_plugin_file(str(path))
    m = window.model
    late = len(m.runs) - 1
    m.step_forward(12)
    QApplication.processEvents()
    qtbot.waitUntil(lambda: getattr(window.runs_panel, "failure_box", None) is not None
                    and "late trouble" in window.runs_panel.failure_box.text(), timeout=5000)
    box = window.runs_panel.failure_box
    assert "stopped" in box.text() and "late trouble" in box.detailedText()
    t = m.runs[late].trajectory
    assert t.steps == 4 and t.failure.step == 5
    assert all(r.trajectory.steps == 12 for i, r in enumerate(m.runs) if i != late)
    assert m.runs[late].diverged_at(m.runs[late].displayed_step(m.shown_step))
    badge = window.runs_panel.tree.topLevelItem(late).text(1)
    assert badge == "failed at step 5"
    box.close()
    m.step_forward(3)  # the window stays usable
    assert m.shown_step == 15


def test_the_schedule_free_preset_tells_its_story() -> None:
    """The hollow x glides to the minimum while y jitters: over the last 100 of 200
    noisy steps x's loss is a quarter of y's, its steps 50 times smaller, and plain
    SGD at the same lr stays at a noise floor 30 times higher than x's."""
    fn = get_function("elongated-bowl")
    runs = {r.name: t for r, t in run_scenario(load_preset("schedulefree"), record_state=True)}
    sgd, sf = runs["SGD, lr 0.1"], runs["Schedule-Free SGD, lr 0.1, β 0.5"]
    y, x = sf.positions[100:, 0], sf.extra_paths()["x"][100:, 0]
    loss_y, loss_x = fn.value(y).mean(), fn.value(x).mean()
    step_y = np.linalg.norm(np.diff(y, axis=0), axis=1).mean()
    step_x = np.linalg.norm(np.diff(x, axis=0), axis=1).mean()
    assert loss_x < 0.3 * loss_y
    assert step_x < 0.05 * step_y
    assert sgd.losses[100:, 0].mean() > 30 * loss_x
    assert sf.steps == sgd.steps == 200 and not sf.diverged.any()
