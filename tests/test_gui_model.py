"""The window's model: timeline semantics, restarts and divergence, checked against
the engine's own ``simulate`` (an independent path: one vectorised run per call)."""

import numpy as np
import pytest

from optsim import make_optimizer, simulate
from optsim.functions import get_function
from optsim.gui.model import SimulationModel
from optsim.simulation import BOUND_SCALE


@pytest.fixture
def model(qtbot):
    m = SimulationModel("elongated-bowl")
    m.load_default_runs()
    return m


def expected(model, run, steps):
    return simulate(model.function, run.optimizer.spec, model.start, steps)


def test_step_forward_computes_the_engines_positions(model):
    model.step_forward(1)
    model.step_forward(4)
    assert model.shown_step == 5
    for r in model.runs:
        assert r.trajectory.steps == 5
        np.testing.assert_array_equal(r.trajectory.positions[:, 0], expected(model, r, 5))


def test_step_back_and_seek_replay_without_recomputing(model, qtbot):
    model.step_forward(10)
    before = [r.trajectory.positions.copy() for r in model.runs]
    with qtbot.waitSignal(model.stepChanged) as sig:
        assert model.step_back(3) == 7
    assert sig.args == [7]
    assert model.seek(100) == 10  # clamped to the computed history
    assert model.seek(-5) == 0
    model.step_forward(4)  # replays: nothing new is computed
    assert model.shown_step == 4
    for r, b in zip(model.runs, before, strict=True):
        assert r.trajectory.steps == 10
        np.testing.assert_array_equal(r.trajectory.positions, b)
        assert r.displayed_step(model.shown_step) == 4


def test_hidden_run_does_not_advance_and_catches_up(model):
    model.set_run_visible(1, False)
    model.step_forward(3)
    assert [r.trajectory.steps for r in model.runs] == [3, 0, 3, 3]
    assert model.runs[1].displayed_step(model.shown_step) == 0
    model.set_run_visible(1, True)
    model.step_forward(1)
    r = model.runs[1]
    assert r.trajectory.steps == 4
    np.testing.assert_array_equal(r.trajectory.positions[:, 0], expected(model, r, 4))


def test_set_run_optimizer_restarts_only_that_run(model, qtbot):
    model.step_forward(6)
    others = {i: (r.trajectory, r.trajectory.positions.copy()) for i, r in enumerate(model.runs)
              if i != 2}
    with qtbot.waitSignal(model.runChanged) as sig:
        model.set_run_optimizer(2, make_optimizer("rmsprop", lr=0.003))
    assert sig.args == [2]
    r = model.runs[2]
    assert r.optimizer.hp["lr"] == 0.003
    # restarted from the start and recomputed at once up to the shown step
    np.testing.assert_array_equal(r.trajectory.positions[0, 0], model.start)
    np.testing.assert_array_equal(r.trajectory.positions[:, 0], expected(model, r, 6))
    for i, (traj, pos) in others.items():
        assert model.runs[i].trajectory is traj
        np.testing.assert_array_equal(model.runs[i].trajectory.positions, pos)


def test_start_and_function_changes_restart_every_run(model, qtbot):
    model.step_forward(5)
    with qtbot.waitSignals([model.startChanged, model.runsChanged]):
        model.set_start([0.5, -0.25])
    assert model.shown_step == 0
    for r in model.runs:
        assert r.trajectory.steps == 0
        np.testing.assert_array_equal(r.trajectory.positions[0, 0], [0.5, -0.25])
    model.step_forward(2)
    with qtbot.waitSignal(model.functionChanged):
        model.set_function("rosenbrock")
    ros = get_function("rosenbrock")
    assert model.shown_step == 0
    np.testing.assert_array_equal(model.start, ros.start)
    assert model.view == ros.view
    for r in model.runs:
        assert r.trajectory.function is ros and r.trajectory.steps == 0


def test_bad_function_changes_nothing(model):
    model.step_forward(3)
    trajs = [r.trajectory for r in model.runs]
    with pytest.raises(ValueError):
        model.set_function("no-such-function")
    with pytest.raises(ValueError):
        model.set_start([1.0])  # 2D function: two coordinates needed
    with pytest.raises(ValueError):
        model.set_view(((1, 0), (0, 1)))
    assert model.function.name == "elongated-bowl" and model.shown_step == 3
    assert [r.trajectory for r in model.runs] == trajs


def test_add_remove_duplicate_keep_selection_consistent(model):
    model.step_forward(2)
    model.select(3)
    i = model.add_run("adam:lr=0.2", name="fast adam")
    assert i == 4 and model.runs[i].name == "fast adam"
    assert model.runs[i].trajectory.steps == 2  # joins at the shown step
    assert len({r.colour for r in model.runs}) == 5
    j = model.duplicate_run(1)
    assert j == 2 and model.runs[j].optimizer == model.runs[1].optimizer
    assert model.runs[j].name != model.runs[1].name
    assert model.runs[j].colour != model.runs[1].colour
    assert model.selected == 4  # shifted with its run
    model.remove_run(0)
    assert model.selected == 3 and len(model.runs) == 5
    model.remove_run(3)
    assert model.selected == 3  # the next run takes the selection
    with pytest.raises(IndexError):
        model.remove_run(9)


def test_diverging_run_stops_while_the_others_go_on(model):
    # x**2 + 9 y**2 with lr 0.2: y is multiplied by 1 - 0.2*18 = -2.6 each step
    i = model.add_run("sgd:lr=0.2")
    model.step_forward(60)
    r = model.runs[i]
    assert r.diverged
    d = int(r.trajectory.diverged_step[0])
    assert 0 < d < 60
    frozen = r.trajectory.positions[d:, 0]
    np.testing.assert_array_equal(frozen, np.broadcast_to(frozen[0], frozen.shape))
    computed = r.trajectory.steps
    model.step_forward(100)  # a diverged run computes nothing more
    assert r.trajectory.steps == computed
    assert model.run_status(i).diverged
    assert not model.run_status(i - 1).diverged
    assert all(o.trajectory.steps == 160 for o in model.runs if o is not r)
    # where it stopped is finite and inside the engine's bound box
    p = r.trajectory.positions[-1, 0]
    assert np.isfinite(p).all() and np.abs(p).max() < BOUND_SCALE * 3
    # the badge follows the timeline
    model.seek(d - 1)
    assert not model.run_status(i).diverged
    model.seek(d)
    assert model.run_status(i).diverged


def test_run_status_numbers(model):
    model.step_forward(3)
    st = model.run_status(0)
    r = model.runs[0]
    p = r.trajectory.positions[3, 0]
    assert st.step == 3
    assert st.loss == pytest.approx(p[0] ** 2 + 9 * p[1] ** 2)
    assert st.grad_norm == pytest.approx(np.hypot(2 * p[0], 18 * p[1]))
    assert st.distance == pytest.approx(np.hypot(*p))  # the minimum is the origin
    assert st.step_norm == pytest.approx(np.linalg.norm(p - r.trajectory.positions[2, 0]))


def test_all_converged(qtbot):
    m = SimulationModel("bowl")
    m.add_run("sgd:lr=0.5")  # x <- x - 0.5 * 2x = 0: at the minimum in one step
    assert not m.all_converged()
    m.step_forward(2)
    assert m.all_converged()


def test_the_models_runs_are_run_set_runs(model):
    """The window's runs hold a run-set Run (the one type of scenarios and the CLI);
    the model gives its state as a RunSet and loads one, K-row runs as one run a row."""
    from optsim.runset import Run, RunSet, run_set

    model.rename_run(1, "heavy ball")
    model.set_run_colour(1, "#123456")
    model.set_run_visible(2, False)
    model.runs[0].start = (0.5, -0.5)
    r = model.runs[1]
    assert (r.spec.name, r.spec.colour, model.runs[2].spec.visible) == ("heavy ball", "#123456",
                                                                         False)
    model.set_run_optimizer(1, "adam:lr=0.2")
    assert model.runs[1].spec.optimizer == "adam" and model.runs[1].spec.hyperparams["lr"] == 0.2
    rs = model.run_set(steps=30)
    assert isinstance(rs, RunSet) and rs.runs == tuple(r.spec for r in model.runs)
    assert rs.normalised().runs[0].start == (0.5, -0.5)

    fan = RunSet("bowl", runs=(Run("sgd", {"lr": 0.1}, name="fan",
                                   starts=((-1.0, 1.0), (1.0, 1.5))),), steps=20).normalised()
    model.load_run_set(fan)
    # a run of K rows stays one run (a fan), its rows the runner's, bit for bit
    assert [(r.name, r.rows) for r in model.runs] == [("fan", 2)]
    model.step_forward(20)
    (ref,) = run_set(fan)
    assert np.array_equal(model.runs[0].trajectory.positions, ref.positions)
