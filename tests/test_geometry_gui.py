"""The window's geometry: the Taylor overlay and the Geometry dock (the slice along the
next step, the edge of stability) show what :mod:`optsim.geometry` computes, at the
shown step of the selected run; checked against the function itself and closed forms."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from optsim.engine import as_optimizer
from optsim.simulation import Trajectory


def _settle() -> None:
    for _ in range(3):
        QApplication.processEvents()


@pytest.fixture
def bowl(window):
    m = window.model
    m.set_function("elongated-bowl")  # x² + 9y²: the 2nd-order model is the function
    m.replace_runs([(as_optimizer("sgd:lr=0.05"), "gd", "#E69F00", True),
                    (as_optimizer("adam:lr=0.1"), "adam", "#0072B2", True)])
    m.select(0)
    _settle()
    return window


def test_taylor_overlay_of_a_quadratic(bowl):
    w = bowl
    taylor = w.geometry_view.taylor
    taylor.action.setChecked(True)
    w.model.step_forward(3)
    _settle()
    ov = taylor.overlay
    assert ov.isVisible()
    run = w.model.runs[0]
    p = run.trajectory.positions[3, 0]
    fn = w.model.function
    # every point of the red (2nd order) contours is at one of the levels: on a quadratic,
    # the model's contours are the function's
    x, y = ov.second.getData()
    vals = fn.value(np.column_stack([x, y]))
    from optsim.render.compute import landscape

    land = landscape(fn, w.model.view)
    levels = land.zmin + 10.0 ** np.asarray(land.levels) if land.log else np.asarray(land.levels)
    nearest = np.min(np.abs(vals[:, None] - levels[None, :]) / levels[None, :], axis=1)
    assert len(x) > 50 and np.percentile(nearest, 95) < 0.06  # (linear interpolation)
    # the grey (1st order) contours are straight lines across the gradient: f(w) + g·(q − w)
    x1, y1 = ov.first.getData()
    g = fn.gradient(p[None])[0]
    lin = fn.value(p[None])[0] + (np.column_stack([x1, y1]) - p) @ g
    near1 = np.min(np.abs(lin[:, None] - levels[None, :]) / levels[None, :], axis=1)
    assert np.percentile(near1, 95) < 0.06
    # the Newton target is the minimum; the eigenvalues 2 and 18 are labelled; κ = 9
    tx, ty = ov.target.getData()
    np.testing.assert_allclose([tx[0], ty[0]], [0.0, 0.0], atol=1e-12)
    assert ov.labels[0].textItem.toPlainText() == "\u03bb\u2081 = 2"
    assert ov.labels[1].textItem.toPlainText() == "\u03bb\u2082 = 18"
    assert "\u03ba = 9" in w.statusBar().currentMessage()
    # the eigen-directions cross at the run's point
    ex, ey = ov.eigen.getData()
    mids = np.column_stack([(ex[0::2] + ex[1::2]) / 2, (ey[0::2] + ey[1::2]) / 2])
    np.testing.assert_allclose(mids, [p, p], atol=1e-12)
    # it follows the shown step and the selection; off hides it
    w.model.step_back(2)
    _settle()
    ex, ey = ov.eigen.getData()
    np.testing.assert_allclose([(ex[0] + ex[1]) / 2, (ey[0] + ey[1]) / 2],
                               run.trajectory.positions[1, 0], atol=1e-12)
    taylor.action.setChecked(False)
    _settle()
    assert not ov.isVisible()


def test_taylor_in_1d_is_the_tangent_and_the_osculating_parabola(window):
    m = window.model
    m.set_function("cubic")  # x³ − 5x² + 10
    m.replace_runs([(as_optimizer("sgd:lr=0.01"), "gd", "#E69F00", True)])
    m.select(0)
    window.geometry_view.taylor.action.setChecked(True)
    m.step_forward(2)
    _settle()
    ov = window.geometry_view.taylor.overlay
    w = m.runs[0].trajectory.positions[2, 0, 0]
    xs, tangent = ov.first.getData()
    _, parabola = ov.second.getData()
    f = lambda x: x**3 - 5 * x**2 + 10  # noqa: E731
    df = 3 * w**2 - 10 * w
    d2f = 6 * w - 10
    np.testing.assert_allclose(tangent, f(w) + df * (xs - w), rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(parabola, f(w) + df * (xs - w) + 0.5 * d2f * (xs - w) ** 2,
                               rtol=1e-10, atol=1e-9)


def test_geometry_dock_slice_is_the_loss_along_the_next_step(bowl):
    w = bowl
    w.geometry_view.action.setChecked(True)
    w.model.step_forward(4)
    w.model.step_back(1)  # step 3 shown, step 4 computed: its recorded update
    _settle()
    panel = w.geometry_view.panel
    t = w.model.runs[0].trajectory
    d = t.positions[4, 0] - t.positions[3, 0]
    s, phi = panel.slice_plot.curve.getData()
    fn = w.model.function
    np.testing.assert_allclose(phi, fn.value(t.positions[3, 0] + s[:, None] * d), rtol=1e-12)
    lx, ly = panel.slice_plot.landing.getData()
    assert lx[0] == 1.0 and ly[0] == pytest.approx(t.losses[4, 0], rel=1e-12)
    # GD at lr 0.05 on x² + 9y²: the exact minimum along the step, closed form
    g = fn.gradient(t.positions[3, 0][None])[0]
    h = np.diag([2.0, 18.0])
    bx, _ = panel.slice_plot.best.getData()
    # (GD at lr 0.05 stops far short: s* ≈ 10 lies beyond the plotted range, whose end
    # is then the best point shown)
    assert bx[0] == pytest.approx(min(-(g @ d) / (d @ h @ d), 2.0), rel=1e-9)
    assert "step 3" in panel.numbers.text() and "\u03ba = 9" in panel.numbers.text()


def test_the_last_steps_slice_previews_exactly_the_step_taken_next(bowl):
    w = bowl
    w.geometry_view.action.setChecked(True)
    w.model.select(1)  # Adam
    w.model.step_forward(5)
    _settle()
    panel = w.geometry_view.panel
    t = w.model.runs[1].trajectory
    s, phi = panel.slice_plot.curve.getData()
    preview = t.next_update(5)[0]
    w.model.step_forward(1)
    np.testing.assert_array_equal(t.positions[6, 0] - t.positions[5, 0], preview)
    fn = w.model.function
    np.testing.assert_allclose(phi, fn.value(t.positions[5, 0] + s[:, None] * preview), rtol=1e-12)


def test_edge_of_stability_curves_follow_each_run(bowl):
    w = bowl
    w.geometry_view.action.setChecked(True)
    w.model.step_forward(8)
    _settle()
    plot = w.geometry_view.panel.stability_plot

    def data(item):  # (a log-scaled plot gives its y as log10)
        x, y = item.getData()
        return x, 10.0 ** y

    # GD: sharpness 18 (the bowl's largest curvature) against 2/lr = 40
    x, sharp = data(plot.sharp[0])
    _, limit = data(plot.limit[0])
    np.testing.assert_allclose(x, np.arange(9))
    np.testing.assert_allclose(sharp, 18.0)
    np.testing.assert_allclose(limit, 2 / 0.05)
    # Adam: the preconditioned sharpness (from step 1) against (2 + 2β₁)/((1 − β₁)·lr)
    xa, _ = data(plot.sharp[1])
    _, la = data(plot.limit[1])
    assert xa[0] == 1 and len(xa) == 8
    np.testing.assert_allclose(la, (2 + 2 * 0.9) / (0.1 * 0.1))
    # growing by the new steps only, the same as computed afresh
    w.model.step_forward(4)
    _settle()
    _, sharp2 = data(plot.sharp[1])
    from optsim.geometry import edge_of_stability

    fresh = edge_of_stability(w.model.runs[1].trajectory, np.arange(13))
    np.testing.assert_allclose(sharp2, fresh.sharpness[1:, 0], rtol=1e-12)


def test_next_update_preview_with_a_schedule_and_clipping():
    t = Trajectory("rosenbrock", "adam:lr=0.05+steplr:step_size=3,gamma=0.5", [[-1.5, 2.0]],
                   clip="norm=1.0")
    t.advance(4)
    preview = t.next_update(4)
    t.advance(1)
    np.testing.assert_array_equal(t.positions[5] - t.positions[4], preview)
    np.testing.assert_array_equal(t.next_update(2), t.positions[3] - t.positions[2])


def test_taylor_labels_sit_inside_the_view_towards_its_centre(qapp):
    """The λ labels go at the end of each eigen-axis farther inside the view, the text
    running towards the centre: near a corner of the view they stay inside it, away from
    the corners where the legend sits (they were at the +v end, the text always to the
    upper right: off the view or under the legend near the top right)."""
    from optsim.functions import get_function
    from optsim.geometry import local_model
    from optsim.render.geometry_items import TaylorOverlay

    view = ((-2.0, 2.0), (-1.0, 1.0))
    ov = TaylorOverlay()
    for point in ([1.4, 0.6], [-1.4, 0.6], [1.4, -0.6], [-1.4, -0.6]):
        ov.show_model(local_model(get_function("tilted-bowl"), point), view)
        for label in ov.labels:
            x, y = label.pos().x(), label.pos().y()
            assert -2 < x < 2 and -1 < y < 1                         # inside the view
            ax, ay = label.anchor.x(), label.anchor.y()
            assert (ax == 0.0) == (x < 0) and (ay == 1.0) == (y < 0)  # text runs inwards


def test_edge_of_stability_follows_a_run_changed_to_an_ensemble(bowl):
    """The dock keeps each trajectory's edge of stability only while it lives: a run
    changed to 64 noisy members (a new trajectory, maybe at a dead one's address) gets
    its own curves, one per member, never a dead 1-row trajectory's."""
    import gc

    w = bowl
    w.geometry_view.action.setChecked(True)
    panel = w.geometry_view.panel
    w.model.step_forward(4)
    _settle()
    panel.refresh()
    before = panel._edge(w.model.runs[0].trajectory, 4)
    assert before.sharpness.shape[1] == 1
    w.model.set_run_noise(0, "gaussian:sigma=1", ensemble=64)
    w.model.step_forward(4)
    _settle()
    gc.collect()
    panel.refresh()  # (raised ValueError from np.vstack: 1 row against 64)
    live = {id(r.trajectory) for r in w.model.runs}
    assert {id(t) for t in panel._eos.keys()} <= live
    eos = panel._edge(w.model.runs[0].trajectory, w.model.runs[0].displayed_step(w.model.shown_step))
    assert eos.sharpness.shape[1] == 64
    # the sharpness of x² + 9y² is 18 for every member at every step
    np.testing.assert_allclose(eos.sharpness[np.isfinite(eos.sharpness)], 18.0, rtol=1e-6)
