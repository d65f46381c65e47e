"""Runs of K > 1 rows in the window (a fan of starts): the model steps the K rows as
the K separate runs would go, the plot draws them as one fan item with their mean
path, the loss history shows the median and the 10-90 % band, and the status and
inspector show a chosen row or the mean. Checked against separate simulate() calls
and NumPy's own mean and percentiles."""

import numpy as np
import pytest

from optsim import simulate
from optsim.gui.model import SimulationModel, fan_starts
from optsim.runset import RunSet

K = 5
STEPS = 25


@pytest.fixture
def fan_window(window):
    m = window.model
    m.set_run_fan(0, K, 0.3)
    m.step_forward(STEPS)
    return window


def separate(model, run, k):
    """Row ``k`` of ``run`` as its own run, by the engine's simulate()."""
    return simulate(model.function, run.optimizer.spec, run.spec.starts[k], STEPS)


def test_fan_starts_lie_on_the_circle_and_segment():
    pts = np.array(fan_starts(np.array([1.0, -2.0]), 6, 0.5))
    np.testing.assert_allclose(np.hypot(pts[:, 0] - 1.0, pts[:, 1] + 2.0), 0.5)
    assert len({tuple(p) for p in pts}) == 6
    seg = np.array(fan_starts(np.array([3.0]), 3, 1.0))
    np.testing.assert_array_equal(seg[:, 0], [2.0, 3.0, 4.0])


def test_rows_step_as_the_separate_runs(qtbot):
    m = SimulationModel("elongated-bowl")
    m.load_default_runs()
    m.set_run_fan(1, K, 0.3)
    m.step_forward(STEPS)
    r = m.runs[1]
    assert r.rows == K and m.runs[0].rows == 1
    for k in range(K):
        np.testing.assert_array_equal(r.trajectory.positions[:, k], separate(m, r, k))


def test_plot_draws_the_rows_as_one_fan_item_and_the_mean_path(fan_window):
    w = fan_window
    r = w.model.runs[0]
    paths, dots = w.figure.loss_plot.fan_items(0)
    # K paths in ONE item: the line breaks K times (connect is False at each path's end)
    x, y = paths.xData, paths.yData
    assert len(x) == K * (STEPS + 1)
    np.testing.assert_array_equal(x.reshape(K, STEPS + 1), r.trajectory.positions[:, :, 0].T)
    np.testing.assert_array_equal(y.reshape(K, STEPS + 1), r.trajectory.positions[:, :, 1].T)
    assert dots.data.shape == (K,)
    # the run's own trail is the rows' mean path
    trail = w.figure.loss_plot.run_items(0).trail
    np.testing.assert_allclose(np.column_stack([trail.xData, trail.yData])[-1],
                               r.trajectory.positions[STEPS].mean(axis=0))
    assert w.figure.loss_plot.fan_items(1) is None  # a run of one row has no fan


def test_history_shows_the_median_and_the_10_90_band(fan_window):
    w = fan_window
    losses = w.model.runs[0].trajectory.losses[: STEPS + 1]
    lo, hi = w.figure.history.band(0)
    np.testing.assert_allclose(lo, np.percentile(losses, 10, axis=1))
    np.testing.assert_allclose(hi, np.percentile(losses, 90, axis=1))
    # stepping on grows the band from the new steps alone, with the same numbers
    w.model.step_forward(10)
    losses = w.model.runs[0].trajectory.losses[: STEPS + 11]
    lo, hi = w.figure.history.band(0)
    np.testing.assert_allclose(hi, np.percentile(losses, 90, axis=1))


def test_status_and_inspector_show_a_chosen_row_or_the_mean(fan_window, qtbot):
    w = fan_window
    m = w.model
    r = m.runs[0]
    t = r.trajectory
    st = m.run_status(0)  # the mean by default
    np.testing.assert_allclose(st.loss, t.losses[STEPS].mean())
    m.set_run_row(0, 3)
    st = m.run_status(0)
    assert st.loss == float(t.losses[STEPS, 3])
    m.select(0)
    ins = w.step_insight.panel
    ins.flush()
    assert ins.row_box.isVisible() and ins.row_box.count() == K + 1
    assert ins.row_box.currentIndex() == 4
    rows = {row.key: row.value for row in ins.explanation.rows}
    np.testing.assert_array_equal(rows["position"], t.positions[STEPS, 3])
    ins.row_box.activated.emit(0)  # back to the mean
    assert r.row is None
    with pytest.raises(IndexError):
        m.set_run_row(0, K)


def test_one_row_again_and_a_scenario_round_trip(fan_window):
    m = fan_window.model
    text = m.run_set(STEPS).to_json()
    back = RunSet.from_json(text)
    assert back.runs[0].rows == K
    m.load_run_set(back)
    assert m.runs[0].rows == K
    m.set_run_fan(0, 1, 0.3)
    assert m.runs[0].rows == 1
    fan = fan_window.figure.loss_plot.fan_items(0)  # one row again: the fan is empty
    assert fan is None or fan[0].xData is None or len(fan[0].xData) == 0
    assert fan_window.figure.history.band(0) is None or \
        len(fan_window.figure.history.band(0)[0] if fan_window.figure.history.band(0)[0]
            is not None else []) == 0


def test_the_status_shows_the_rows_spread(fan_window):
    """A run of K rows shown as its mean: the status says how far they spread (the
    RMS distance of the rows from their mean position, by NumPy); one chosen row
    or a run of one row: no spread."""
    w = fan_window
    m = w.model
    pos = m.runs[0].trajectory.positions[STEPS]
    want = np.sqrt(((pos - pos.mean(axis=0)) ** 2).sum(axis=1).mean())
    assert m.run_status(0).spread == pytest.approx(want, rel=1e-12)
    w.status_table.refresh()
    assert "±" in w.status_table.cell_text(0, 5)
    assert np.isnan(m.run_status(1).spread)
    m.set_run_row(0, 2)
    assert np.isnan(m.run_status(0).spread)
