"""The inspector panel: its numbers are the engine's at the shown step (full
precision), the substituted equations are on the page, the teaching note opens,
and it follows the model's step and selection."""

from __future__ import annotations

import numpy as np
import pytest

from optsim.engine import OPTIMIZERS
from optsim.explain import evaluate, fmt
from optsim.gui.inspector import InspectorDock, InspectorPanel
from optsim.gui.model import SimulationModel
from optsim.simulation import Trajectory

VARIANTS = sorted(OPTIMIZERS) + ["adam:amsgrad=true", "rmsprop:centered=true,momentum=0.5",
                                 "sgd:momentum=0.5,dampening=0.3,weight_decay=0.1",
                                 "adamw:weight_decay=0.1", "nadam:decoupled_weight_decay=true,weight_decay=0.1"]


def shown(x: float) -> str:
    return fmt(x).replace("-", "\u2212")


@pytest.fixture
def panel(qtbot):
    p = InspectorPanel()
    qtbot.addWidget(p)
    p.resize(600, 900)
    return p


@pytest.mark.parametrize("spec", VARIANTS)
def test_page_shows_the_engines_numbers_and_the_step_checked_by_hand(panel, spec):
    traj = Trajectory("elongated-bowl", spec, [[-1.0, 1.0]])
    traj.advance(4)
    k = 3
    panel.show_step(traj, k, name="run")
    text = panel.text()
    # every state variable after step k, at full precision
    state = traj.state_at(k)
    for f in state._fields[1:]:
        v = getattr(state, f)[0]
        row = [r for r in panel.explanation.rows if r.key == f]
        if row:  # (unused fields, e.g. AMSGrad's max when off, are not listed)
            np.testing.assert_array_equal(row[0].value, v)
            for x in v:
                assert shown(x) in text, (spec, f)
    info = traj.explain(k)
    for key in ("grad", "effective_lr", "update"):
        for x in info[key][0]:
            assert shown(x) in text, (spec, key)
    for x in traj.positions[k, 0]:
        assert shown(x) in text
    # the substituted equations: on the page, and re-evaluated they give the update
    upd = [s for s in panel.explanation.substituted if s.key == "update"][0]
    np.testing.assert_allclose(evaluate(upd.rhs_text), traj.positions[k, 0] - traj.positions[k - 1, 0],
                               rtol=1e-12, atol=1e-12)
    assert f"Step {k} with the numbers in" in text
    assert "Update rule" in text


def test_step_zero_has_no_substitution_yet(panel):
    traj = Trajectory("elongated-bowl", "adam", [[-1.0, 1.0]])
    panel.show_step(traj, 0)
    assert "No step taken yet" in panel.text()
    assert "m\u0302" in panel.text()  # the symbolic rule is there


def test_what_am_i_looking_at_opens_the_course_note(panel):
    traj = Trajectory("elongated-bowl", "rmsprop", [[-1.0, 1.0]])
    panel.show_step(traj, 0)
    assert not panel.note.isVisibleTo(panel)
    panel.note_button.click()
    assert panel.note.isVisibleTo(panel)
    assert "squared gradient" in panel.note.text() and "straight" in panel.note.text()
    panel.note_button.click()
    assert not panel.note.isVisibleTo(panel)


def test_follows_the_model_step_and_selection(qtbot):
    model = SimulationModel("elongated-bowl")
    model.add_run("sgd:lr=0.05", name="gd")
    model.add_run("adam:lr=0.1", name="adam")
    dock = InspectorDock()
    qtbot.addWidget(dock)
    dock.panel.set_model(model)
    assert dock.panel.explanation.optimizer.name == "sgd"  # nothing selected: first visible
    model.select(1)
    assert dock.panel.explanation.optimizer.name == "adam"
    model.step_forward(3)
    assert dock.panel.explanation.step == 3
    at3 = dock.panel.text()
    model.step_forward(2)
    model.step_back(2)
    assert dock.panel.text() == at3
    model.seek(1)
    assert dock.panel.explanation.step == 1
    np.testing.assert_array_equal(
        [r.value for r in dock.panel.explanation.rows if r.key == "exp_avg"][0],
        model.runs[1].trajectory.state_at(1).exp_avg[0])
    model.remove_run(1)
    model.remove_run(0)
    assert "No runs" in dock.panel.text()
