"""The timeline: the slider and the back/forward buttons drive the model's shown
step; scrubbing is exact (three steps forward and three back leave the screen as it
was: plot items, loss lines, arrows, inspector text); changing a hyperparameter at
a past step restarts that run."""

from __future__ import annotations

import numpy as np
import pytest

from optsim.gui.main_window import MainWindow
from optsim.gui.model import SimulationModel
from optsim.gui.timeline import Timeline
from optsim.simulation import Trajectory


@pytest.fixture
def model_and_timeline(qtbot):
    model = SimulationModel("elongated-bowl")
    model.add_run("sgd:lr=0.05", name="gd")
    model.add_run("adam:lr=0.1", name="adam")
    tl = Timeline()
    qtbot.addWidget(tl)
    tl.set_model(model)
    return model, tl


def test_slider_follows_and_drives_the_model(model_and_timeline):
    model, tl = model_and_timeline
    assert (tl.slider.maximum(), tl.value()) == (0, 0)
    model.step_forward(5)
    assert (tl.slider.maximum(), tl.value()) == (5, 5)
    assert tl.label.text() == "5 / 5"
    tl.slider.setValue(2)  # the user drags
    assert model.shown_step == 2
    tl.back_button.click()
    assert model.shown_step == 1 and tl.value() == 1
    tl.forward_button.click()  # replays the history: nothing recomputed
    assert model.shown_step == 2 and model.runs[0].trajectory.steps == 5
    model.seek(5)
    tl.forward_button.click()  # past the recorded end: new steps are computed
    assert model.shown_step == 6 and model.runs[0].trajectory.steps == 6
    assert (tl.slider.maximum(), tl.value()) == (6, 6)


def test_seek_requests_without_a_model(qtbot):
    tl = Timeline()
    qtbot.addWidget(tl)
    tl.set_range(10)
    with qtbot.waitSignal(tl.seekRequested, timeout=1000) as blocker:
        tl.slider.setValue(4)
    assert blocker.args == [4]
    tl.set_value(7)  # showing a step does not request a seek
    assert tl.value() == 7 and tl.label.text() == "7 / 10"


@pytest.mark.parametrize("fraction", [0.25, 0.7, 0.95])
def test_a_click_on_the_timeline_jumps_to_the_clicked_step(model_and_timeline, qtbot, fraction):
    """Defect 13: a click paged by a few steps instead of jumping there."""
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtWidgets import QStyle, QStyleOptionSlider

    model, tl = model_and_timeline
    tl.resize(600, 40)
    tl.show()
    qtbot.waitExposed(tl)
    model.step_forward(200)
    model.seek(0)
    tl.sync()
    slider = tl.slider
    opt = QStyleOptionSlider()
    slider.initStyleOption(opt)
    groove = slider.style().subControlRect(QStyle.ComplexControl.CC_Slider, opt,
                                           QStyle.SubControl.SC_SliderGroove, slider)
    handle = slider.style().subControlRect(QStyle.ComplexControl.CC_Slider, opt,
                                           QStyle.SubControl.SC_SliderHandle, slider)
    span = groove.width() - handle.width()
    x = groove.x() + handle.width() // 2 + round(fraction * span)
    qtbot.mouseClick(slider, Qt.MouseButton.LeftButton, pos=QPoint(x, slider.height() // 2))
    want = round(fraction * 200)
    assert abs(model.shown_step - want) <= 200 / span + 1  # within a pixel's worth of steps
    assert tl.value() == model.shown_step


@pytest.fixture
def window(qtbot, tmp_path):
    w = MainWindow(settings=str(tmp_path / "settings.ini"), restore=False)
    qtbot.addWidget(w)
    w.resize(1500, 950)
    w.show()
    return w


def screen(w: MainWindow) -> dict:
    """Everything the step changes on screen, as plain data."""
    out = {}
    plot = w.plot
    for i in range(len(w.model.runs)):
        items = plot.run_items(i)
        xs, ys = items.trail.getData()
        out[f"trail{i}"] = (np.array(xs).tolist(), np.array(ys).tolist())
        mx, my = items.marker.getData()
        out[f"marker{i}"] = (np.array(mx).tolist(), np.array(my).tolist())
        if w.history_plot is not None:
            hx, hy = w.history_plot.line(i).getData()
            out[f"loss{i}"] = (np.array(hx).tolist(), np.array(hy).tolist())
    si = w.step_insight
    for j, arrows in enumerate(si.overlay.runs):
        for a in arrows.arrows():
            e = a.endpoints()
            out[f"arrow{j}{a.name}{id(a)}"] = None if e is None else (e[0].tolist(), e[1].tolist())
    out["inspector"] = si.panel.text()
    out["timeline"] = (si.timeline.value(), si.timeline.slider.maximum())
    out["counter"] = w.toolbar.step_label.text()
    return out


def test_three_forward_three_back_leaves_the_screen_exactly_as_it_was(window):
    w = window
    m = w.model
    m.select(next(i for i, r in enumerate(m.runs) if r.optimizer.algorithm == "adam"))
    w.step_insight.actions["all_runs"].setChecked(True)
    for _ in range(4):
        w.playback.step_action.trigger()
    before = screen(w)
    states = [r.trajectory.state_at(4) for r in m.runs]
    for _ in range(3):
        w.playback.step_action.trigger()
    assert m.shown_step == 7
    assert screen(w)["inspector"] != before["inspector"]
    for _ in range(3):
        w.playback.back_action.trigger()
    assert m.shown_step == 4
    after = screen(w)
    assert after.keys() == before.keys()
    for key in before:
        if key not in ("timeline", "counter"):  # the slider's end moved on to step 7
            assert after[key] == before[key], key
    for r, s in zip(m.runs, states, strict=True):
        for f in s._fields:
            np.testing.assert_array_equal(getattr(r.trajectory.state_at(4), f), getattr(s, f))
    # scrubbing with the slider: to 1, then back to 4, is exact too
    w.step_insight.timeline.slider.setValue(1)
    assert m.shown_step == 1 and "step 1" in w.step_insight.panel.text()
    w.step_insight.timeline.slider.setValue(4)
    again = screen(w)
    for key in before:
        if key not in ("timeline", "counter"):
            assert again[key] == before[key], key


def test_changing_a_hyperparameter_at_a_past_step_restarts_that_run(window):
    m = window.model
    for _ in range(6):
        window.playback.step_action.trigger()
    m.seek(3)
    m.set_run_optimizer(0, "sgd:lr=0.02")
    t = m.runs[0].trajectory
    fresh = Trajectory(m.function, "sgd:lr=0.02", [m.start])
    fresh.advance(3)
    assert t.steps == 3 and m.shown_step == 3
    np.testing.assert_array_equal(t.positions, fresh.positions)
    # the inspector and arrows show the restarted run
    m.select(0)
    assert window.step_insight.panel.explanation.optimizer.hp["lr"] == 0.02
    np.testing.assert_array_equal(window.step_insight.overlay.runs[0].step.endpoints()[0],
                                  fresh.positions[3, 0])


def test_view_menu_toggles_the_arrows(window):
    si = window.step_insight
    window.playback.step_action.trigger()
    assert si.overlay.runs[0].gradient.endpoints() is not None
    si.actions["gradient_step"].setChecked(False)
    assert si.overlay.runs[0].gradient.endpoints() is None
    assert not si.overlay.field.isVisible()
    si.actions["field"].setChecked(True)
    assert si.overlay.field.isVisible()
    assert si.menu.menuAction() in window.view_menu.actions()
    assert si.dock.toggleViewAction() in window.view_menu.actions()
