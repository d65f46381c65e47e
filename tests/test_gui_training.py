"""The window's training dynamics: schedule and clipping editors generated from the
declarations, the lr strip, clipped-step marks, the status's lr (qtbot, offscreen)."""

from __future__ import annotations

import numpy as np
import pytest

from optsim.gradients import Clip
from optsim.gui.main_window import MainWindow
from optsim.gui.schedule_editor import ScheduleEditor
from optsim.schedules import SCHEDULES, parse_schedule


@pytest.fixture
def window(qtbot, tmp_path):
    w = MainWindow(settings=str(tmp_path / "s.ini"), restore=False)
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    return w


def test_editor_is_built_from_the_declarations(qtbot) -> None:
    ed = ScheduleEditor()
    qtbot.addWidget(ed)
    for name, kind in SCHEDULES.items():
        ed.kind_combo.setCurrentText(name)
        ed._kind_chosen(0)
        for p in kind.params:
            assert ed.editor(p.name).toolTip()
    got = []
    ed.scheduleEdited.connect(got.append)
    ed.set_schedule(parse_schedule("multisteplr:milestones=[30;80],gamma=0.5"))
    ed.editor("gamma").setValue(0.25)
    assert got[-1].spec == "multisteplr:milestones=[30;80],gamma=0.25"
    ed.editor("milestones").setText("[10;20;40]")
    ed.editor("milestones").editingFinished.emit()
    assert got[-1].values["milestones"] == (10, 20, 40)
    errors = []
    ed.rejected.connect(errors.append)
    ed.editor("milestones").setText("[10;x]")
    ed.editor("milestones").editingFinished.emit()
    assert "not a number" in errors[-1] and got[-1].values["milestones"] == (10, 20, 40)


def test_schedule_in_the_window(window, qtbot) -> None:
    m = window.model
    m.select(0)
    t = window.training
    t.schedule_editor.set_schedule(parse_schedule("onecyclelr:max_lr=0.1,total_steps=50"))
    t.schedule_editor.scheduleEdited.emit(t.schedule_editor.schedule())
    assert m.runs[0].schedule.name == "onecyclelr"
    m.step_forward(20)
    st = m.run_status(0)
    assert st.scheduled and st.lr == pytest.approx(float(m.runs[0].trajectory.lr_at(21)[0]))
    status = window.status_table.cell_text(0, 5)
    assert status.startswith("lr ")
    curves = t.strip.curves()
    plan = next(c for c in curves if len(c[0]) == 50)  # the planned schedule
    assert plan[1].max() == pytest.approx(0.1)
    used = next(c for c in curves if len(c[0]) == 20)
    np.testing.assert_allclose(used[1], plan[1][:20])
    # the run stops at the schedule's end; the others go on
    m.step_forward(40)
    assert m.runs[0].trajectory.steps == 50 and m.runs[1].trajectory.steps == 60


def test_a_schedule_that_does_not_fit_is_refused(window) -> None:
    m = window.model
    i = next(k for k, r in enumerate(m.runs) if r.optimizer.name == "rmsprop")
    m.select(i)
    m.set_run_optimizer(i, "adagrad")
    with pytest.raises(ValueError, match="cycle_momentum=false"):
        m.set_run_training(i, parse_schedule("onecyclelr:max_lr=0.1,total_steps=10"))
    assert m.runs[i].schedule is None
    window.training._schedule_edited(parse_schedule("onecyclelr:max_lr=0.1,total_steps=10"))
    assert window.runs_panel.error_label.isVisibleTo(window.runs_panel)


def test_clipped_steps_are_marked(window) -> None:
    m = window.model
    m.set_function("steep-cliff")
    m.select(0)
    m.set_run_optimizer(0, "sgd:lr=0.1")
    m.set_run_training(0, None, Clip("norm", 1.0))
    m.step_forward(30)
    flags = m.runs[0].trajectory.dynamics.history(30)["clipped"][:, 0]
    assert flags.any()
    assert window.training.marks.count() == int(flags.sum())
    k = int(np.argmax(flags)) + 1
    m.seek(k)
    assert m.run_status(0).clipped
    assert "clipped" in window.status_table.cell_text(0, 5)


def test_strip_sits_under_the_history_and_takes_no_room_from_it(window, qtbot) -> None:
    """Shown while a run has a schedule, its height from the landscape; the section
    of editors opens by itself for a run with a schedule."""
    t = window.training
    assert not t._placed and not t.toggle.isChecked()
    window.model.select(0)
    window.model.set_run_training(0, parse_schedule("steplr:step_size=5"))
    assert t._placed and t.toggle.isChecked() and t.group.isVisible()
    splitter = window.figure.splitter
    assert splitter.indexOf(window.training.strip) == splitter.indexOf(window.history_plot) + 1
    assert window.training.strip.isVisible()
    sizes = splitter.sizes()
    assert sizes[-1] >= 50 and sizes[1] >= 100  # the history keeps its share
    window.model.set_run_training(0, None)
    assert not window.training.strip.isVisible()


def test_training_presets_open_in_the_window_one_after_another(window) -> None:
    from optsim.scenarios import load_preset

    m = window.model
    for name in ("warmup", "schedules-valley", "noise-floor", "batch-size", "clip-cliff"):
        m.load_run_set(load_preset(name))
        m.step_forward(20)
        assert all(r.trajectory.steps == 20 for r in m.runs), name
    assert m.runs[1].clip is not None and m.run_status(1).clipping


def test_schedule_editor_scrolls_in_a_short_dock(qtbot, tmp_path) -> None:
    """At 1280x720 the Optimizers panel scrolls as a whole: every row keeps at least
    its least height (none squashed into a sliver) and the schedule section is
    scrolled into view when it opens; the loss history keeps a fifth of the
    centre's height beside the lr strip."""
    from optsim.gui import file_actions

    w = MainWindow(settings=str(tmp_path / "s.ini"), restore=False)
    qtbot.addWidget(w)
    file_actions.open_from_command_line(w, None, "schedules-valley")
    w.resize(1280, 690)  # a 1280x720 screen less the window's frame
    w.show()
    w.apply_default_layout()
    w.model.select(3)  # one-cycle: twelve parameters
    t = w.training
    qtbot.waitUntil(lambda: t.group.isVisible())
    panel = w.runs_panel
    editors = [t.schedule_editor.editor(p.name) for p in t.schedule_editor._params]
    editors += [panel.editor.editor(name) for name in ("lr", "momentum")]
    assert len(editors) == 14
    qtbot.waitUntil(lambda: all(e.height() >= e.minimumSizeHint().height() for e in editors))
    bar = panel.scroll.verticalScrollBar()
    assert bar.maximum() > 0  # the rest is a scroll away
    bar.setValue(0)
    t.toggle.click()  # closed and opened again by the user
    t.toggle.click()
    kind = t.schedule_editor.kind_combo  # opened: scrolled to
    view = panel.scroll.viewport()

    def kind_in_view() -> bool:
        y = kind.mapTo(view, kind.rect().topLeft()).y()
        return 0 <= y and y + kind.height() <= view.height()

    qtbot.waitUntil(kind_in_view)
    sizes = w.figure.splitter.sizes()
    assert len(sizes) == 3 and sizes[1] >= 0.18 * sum(sizes) and sizes[2] > 0


@pytest.mark.parametrize("size", [(1280, 720), (1824, 1026)])
def test_a_preset_with_schedules_leaves_the_runs_list_in_view(qtbot, tmp_path, size) -> None:
    """The schedules-valley preset opens the schedule section by itself: the
    Optimizers panel stays at its top, with the runs list in view (scrolled to the
    section, it hid the runs at 1920x1080)."""
    from windows import window_at

    w = window_at(qtbot, tmp_path, size=size, preset="schedules-valley")
    t = w.training
    qtbot.waitUntil(lambda: t.group.isVisible())
    for _ in range(5):
        qtbot.wait(10)
    panel = w.runs_panel
    assert panel.scroll.verticalScrollBar().value() == 0
    runs = panel.tree
    top = runs.mapTo(panel.scroll.viewport(), runs.rect().topLeft()).y()
    assert 0 <= top < panel.scroll.viewport().height()


def test_a_clipped_step_in_the_window_shows_both_gradients(window, qtbot) -> None:
    """The clip-cliff preset at step 9, its clipped run selected: the arrows show the
    raw gradient step (faint, dashed, going on beyond the view) and the clipped one,
    the key names both, the status says "clipped" and the inspector shows the
    gradient before clipping beside the clipped one its equations use."""
    from optsim.gui import file_actions

    file_actions.open_from_command_line(window, None, "clip-cliff")
    m = window.model
    m.select(1)
    m.step_forward(9)  # the next step's raw gradient is ~20: clipped to 1
    ins = window.step_insight
    ins.panel.flush()
    arrows = ins.overlay.runs[0]
    assert arrows.vectors is not None and arrows.vectors.raw_gradient_step is not None
    assert arrows.raw_gradient.visible and arrows.raw_gradient.clipped  # beyond the view
    assert arrows.gradient.visible
    key = ins.overlay.legend_text()
    assert "before clipping" in key and "clipped gradient step" in key
    assert "clipped" in window.status_table.cell_text(1, 5)
    rows = {row.key: row for row in ins.panel.explanation.rows}
    assert "unclipped_grad" in rows
    m.select(0)  # the run without clipping: one gradient arrow
    ins.panel.flush()
    assert not ins.overlay.runs[0].raw_gradient.visible


def test_noise_control_sets_every_runs_noise_from_the_declarations(window) -> None:
    """The Function dock's noise control: every model of optsim.gradients with its
    declared parameters; a choice restarts every run with that noise (the same seed,
    the same noise as the API's)."""
    from optsim.gradients import NOISE_KINDS
    from optsim.simulation import Trajectory

    t = window.training
    ed = t.noise_editor
    names = [ed.kind_combo.itemText(i) for i in range(ed.kind_combo.count())]
    assert names == ["none", *NOISE_KINDS]
    ed.kind_combo.setCurrentText("student")
    ed._kind_chosen(0)
    assert {p.name for p in NOISE_KINDS["student"].params} == {"nu", "sigma"}
    ed.editor("nu").setValue(4.0)
    ed.seed.setValue(7)
    m = window.model
    assert m.noise == "student:nu=4,sigma=0.5" and m.seed == 7
    m.step_forward(5)
    r = m.runs[0]
    alone = Trajectory(m.function, r.optimizer.spec, [list(m.start)], noise="student:nu=4,sigma=0.5",
                       seed=7)
    alone.advance(5)
    np.testing.assert_array_equal(r.trajectory.positions[:, 0], alone.positions[:, 0])
    ed.kind_combo.setCurrentText("none")
    ed._kind_chosen(0)
    assert m.noise == 0.0 and not ed.message.isVisible()


def test_minibatch_noise_and_a_function_without_data_say_so_at_the_noise_control(window) -> None:
    """Mini-batch noise needs a data-fitting function. Chosen for one without data,
    it is refused at the noise control (red, the model untouched); a function
    without data chosen while it is on turns it off, said at the noise control (not
    as a function error), with every run and the function panel consistent."""
    m = window.model
    fp = window.function_panel
    ed = window.training.noise_editor
    before = (m.function.name, m.noise, [r.trajectory for r in m.runs])
    ed.kind_combo.setCurrentText("minibatch")
    ed._kind_chosen(0)
    assert ed.message.isVisible() and "data-fitting function" in ed.message.text()
    assert "#B00020" in ed.message.styleSheet()  # a refusal
    assert (m.function.name, m.noise, [r.trajectory for r in m.runs]) == before
    assert ed.kind_combo.currentText() == "none"  # the control shows the model's noise
    fp.choose("linear-regression")
    assert not ed.message.isVisible()
    ed.kind_combo.setCurrentText("minibatch")
    ed._kind_chosen(0)
    ed.editor("batch").setValue(4)
    assert m.noise == "minibatch:batch=4" and not ed.message.isVisible()
    m.step_forward(3)
    fp.choose("rosenbrock")  # no data points
    assert m.function.name == "rosenbrock" and m.noise == 0.0
    assert ed.kind_combo.currentText() == "none"
    assert ed.message.isVisible() and "turned off" in ed.message.text()
    assert "rosenbrock has no data points" in ed.message.text()
    assert not fp.formula_error.isVisible() and not window.runs_panel.error_label.isVisible()
    assert all(r.trajectory.noise_model is None for r in m.runs)
    m.step_forward(3)  # steps on, exact gradients
    assert m.shown_step == 3
    fp.choose("elongated-bowl")  # the note goes with the next change of function
    assert not ed.message.isVisible()


def test_a_runs_own_minibatch_noise_is_turned_off_by_a_function_without_data(window) -> None:
    from optsim.gui import file_actions

    file_actions.open_from_command_line(window, None, "batch-size")  # per-run minibatch
    m = window.model
    assert all(r.spec.noise.startswith("minibatch") for r in m.runs)
    window.function_panel.choose("beale")
    assert all(not r.spec.noise for r in m.runs)
    text = window.training.noise_editor.message.text()
    assert "turned off" in text and m.runs[0].name in text


def test_a_runs_ensemble_and_own_noise_in_the_window(window) -> None:
    """The selected run's ensemble K and own noise: it becomes K seeded members (a
    fan with its band), stepped as the run set's API steps them; mini-batch noise
    on a function without data is refused at that control, the run unchanged."""
    from optsim.runset import trajectory_of

    m = window.model
    m.select(1)
    t = window.training
    t.toggle.setChecked(True)
    t.run_noise.kind_combo.setCurrentText("gaussian")
    t.run_noise._kind_chosen(0)
    t.ensemble.setValue(8)
    r = m.runs[1]
    assert r.spec.ensemble == 8 and r.spec.noise == "gaussian:sigma=0.5" and r.rows == 8
    m.step_forward(6)
    want = trajectory_of(r.spec, m.function, m.start, noise=m.noise, seed=m.seed)
    want.advance(6)
    np.testing.assert_array_equal(r.trajectory.positions, want.positions)
    assert window.figure.history.band(1) is not None  # drawn as a fan with its band
    before = r.trajectory
    t.run_noise.kind_combo.setCurrentText("minibatch")
    t.run_noise._kind_chosen(0)
    assert "data-fitting function" in t.run_noise.message.text()
    assert m.runs[1].trajectory is before and m.runs[1].spec.noise == "gaussian:sigma=0.5"
    assert t.run_noise.kind_combo.currentText() == "gaussian"
