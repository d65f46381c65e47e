"""The inspector panel: its numbers are the engine's at the shown step (6
significant digits, or in full as a setting), the substituted equations are on the
page, numbers never break across lines, the teaching note opens, and it follows the
model's step and selection."""

from __future__ import annotations

import re

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


def shown(x: float, digits: int | None = 6) -> str:
    return fmt(x, digits).replace("-", "\u2212").replace("e", "\u00d710")


@pytest.fixture
def panel(qtbot):
    p = InspectorPanel()
    qtbot.addWidget(p)
    p.resize(600, 900)
    return p


@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("spec", VARIANTS)
def test_page_shows_the_engines_numbers_and_the_step_checked_by_hand(panel, spec, full):
    traj = Trajectory("elongated-bowl", spec, [[-1.0, 1.0]])
    traj.advance(4)
    k = 3
    panel.show_step(traj, k, name="run")
    panel.precision_button.setChecked(full)
    digits = None if full else 6
    assert panel.explanation.digits == digits
    text = panel.text()
    # every state variable after step k, at the chosen precision
    state = traj.state_at(k)
    for f in state._fields[1:]:
        v = getattr(state, f)[0]
        row = [r for r in panel.explanation.rows if r.key == f]
        if row:  # (unused fields, e.g. AMSGrad's max when off, are not listed)
            np.testing.assert_array_equal(row[0].value, v)
            for x in v:
                assert shown(x, digits) in text, (spec, f)
    info = traj.explain(k)
    for key in ("grad", "effective_lr", "update"):
        for x in info[key][0]:
            assert shown(x, digits) in text, (spec, key)
    for x in traj.positions[k, 0]:
        assert shown(x, digits) in text
    # the substituted equations: on the page, and re-evaluated from the shown
    # numbers they give the update (to the shown precision)
    upd = [s for s in panel.explanation.substituted if s.key == "update"][0]
    applied = traj.positions[k, 0] - traj.positions[k - 1, 0]
    if full:
        np.testing.assert_allclose(evaluate(upd.rhs_text), applied, rtol=1e-12, atol=1e-12)
    else:  # within what the shown numbers stand for; no rounding noise: at most 6 significant digits anywhere on the page
        assert ((upd.low <= applied) & (applied <= upd.high)).all()
        page = re.sub(r"<sup>.*?</sup>|<sub>.*?</sub>|\u00d710|<[^>]*>", " ", panel._html)
        for number in re.findall(r"\d[\d.]*", page):
            assert len(number.replace(".", "").lstrip("0")) <= 6 or "." not in number, number
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


def _lines_of(browser) -> list[list[str]]:
    """The page's text as laid out: per paragraph, one string per visual line."""
    doc = browser.document()
    out = []
    block = doc.begin()
    while block.isValid():
        layout = block.layout()
        out.append([block.text()[layout.lineAt(i).textStart():
                                 layout.lineAt(i).textStart() + layout.lineAt(i).textLength()]
                    for i in range(layout.lineCount())])
        block = block.next()
    return out


@pytest.mark.parametrize("full", [False, True])
def test_numbers_never_break_across_lines(qtbot, full):
    """In a narrow dock the page wraps between words, never inside a number or a
    vector of numbers."""
    p = InspectorPanel()
    qtbot.addWidget(p)
    p.resize(260, 900)
    p.show()
    traj = Trajectory("rosenbrock", "adam:lr=0.05,weight_decay=0.1", [[-1.5, 2.0]])
    traj.advance(5)
    p.show_step(traj, 5, name="run")
    p.precision_button.setChecked(full)
    p.browser.document().setTextWidth(200)
    paragraphs = _lines_of(p.browser)
    assert sum(len(lines) > 1 for lines in paragraphs) > 5  # it does wrap
    for lines in paragraphs:
        for a, b in zip(lines, lines[1:], strict=False):
            # a line that ends inside a number (a digit, point, sign, ×10 or an open
            # vector, no space after it) and goes on with a digit or point
            assert not (re.search(r"[\d.\u2212(\u00d7]$", a) and re.match(r"[\d.]", b)), (a, b)
            assert not re.search(r"(^|[^ ])\u2212$|\u00d7$|,[ \u00a0]?$", a.rstrip(" ")), (a, b)


def test_full_precision_is_a_setting_that_follows_the_model(qtbot):
    model = SimulationModel("elongated-bowl")
    model.add_run("sgd:lr=0.05", name="gd")
    dock = InspectorDock()
    qtbot.addWidget(dock)
    dock.panel.set_model(model)
    model.step_forward(3)
    x = model.runs[0].trajectory.positions[3, 0, 0]
    assert shown(x) in dock.panel.text() and shown(x, None) not in dock.panel.text()
    dock.panel.set_full_precision(True)
    assert dock.panel.precision_button.isChecked()
    assert shown(x, None) in dock.panel.text()
    model.step_forward(1)
    assert dock.panel.explanation.digits is None
    dock.panel.precision_button.setChecked(False)
    assert dock.panel.explanation.digits == 6


def test_adam_note_is_rich_text_with_the_hats_on_their_letters(panel):
    traj = Trajectory("elongated-bowl", "adam", [[-1.0, 1.0]])
    panel.show_step(traj, 0)
    html = panel.note.text()
    assert "white-space:nowrap" in html
    for m in re.finditer("\u0302", html):  # every hat inside an unbreakable span with its letter
        before = html[:m.start()]
        assert before[-1] in "mv" and before.rfind("nowrap") > before.rfind("</span>")
    assert "bias corrections" in panel.note.text()
