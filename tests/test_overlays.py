"""The step arrows on a plain pyqtgraph PlotItem: their endpoints (read back from
the items) against closed forms, toggles, the gradient field, 1D, hover."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6 import QtCore

from optsim.functions import get_function
from optsim.gui.hover import TrajectoryHover
from optsim.render.compute import clip_spans
from optsim.render.overlays import StepOverlay, field_segments, step_vectors
from optsim.simulation import Trajectory


def grad_elongated(w):
    """∇(x² + 9y²), by hand."""
    return np.array([2 * w[0], 18 * w[1]])


@pytest.fixture
def plot(qtbot):
    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    widget.resize(700, 700)
    widget.show()
    item = widget.getPlotItem()
    item.setXRange(-2, 1, padding=0)
    item.setYRange(-2, 1, padding=0)
    item.keep_alive = widget  # the fixture hands out the item; keep its widget alive
    return item


def overlay_for(plot, spec, k, advance, fn="elongated-bowl", start=(-1.0, 1.0)):
    f = get_function(fn)
    ov = StepOverlay(plot)
    ov.readable_px = 0  # true lengths: the endpoints are compared with closed forms
    ov.set_function(f)
    traj = Trajectory(f, spec, [list(start)])
    traj.advance(advance)
    ov.show([(traj, k, 0, "#E69F00")])
    return ov, traj


def next_position(spec, k, fn="elongated-bowl", start=(-1.0, 1.0)):
    t = Trajectory(fn, spec, [list(start)])
    t.advance(k + 1)
    return t.positions[k + 1, 0]


def assert_drawn_towards(ov, arrow, base, tip):
    """``arrow`` is drawn from ``base`` to ``tip`` exactly, or (cut at the view's
    edge, with its second head) along that line to the edge."""
    lo, hi = ov._box  # the shown range, inset a few pixels
    if arrow.endpoints() is None:  # wholly outside the shown range
        t0, t1 = clip_spans(base[None], tip[None], lo, hi)
        assert t0[0] > t1[0]
        return
    drawn_base, drawn_tip = arrow.endpoints()
    if ((base >= lo) & (base <= hi)).all():
        np.testing.assert_array_equal(drawn_base, base)
    if not arrow.clipped:
        np.testing.assert_allclose(drawn_tip, tip, rtol=1e-12, atol=1e-15)
        assert not arrow.more.isVisible()
        return
    assert arrow.more.isVisible()
    for p in (drawn_base, drawn_tip):
        t = np.dot(p - base, tip - base) / np.dot(tip - base, tip - base)
        assert -1e-12 <= t < 1
        np.testing.assert_allclose(p, base + t * (tip - base), rtol=1e-9, atol=1e-12)
    # stops at the edge of the shown range
    assert np.isclose(drawn_tip, lo).any() or np.isclose(drawn_tip, hi).any()


@pytest.mark.parametrize("spec", ["sgd:lr=0.05", "momentum:lr=0.01", "nesterov:lr=0.01",
                                  "ema-momentum:lr=0.1", "rmsprop:lr=0.05", "adam:lr=0.1",
                                  "adamw:lr=0.1", "nadam:lr=0.1", "adagrad:lr=0.3"])
@pytest.mark.parametrize("k,advance", [(3, 6), (4, 4), (0, 0)])
def test_arrow_endpoints(plot, spec, k, advance):
    ov, traj = overlay_for(plot, spec, k, advance)
    arrows = ov.runs[0]
    w = traj.positions[k, 0]
    lr = traj.optimizer.hp["lr"]
    assert_drawn_towards(ov, arrows.gradient, w, w - lr * grad_elongated(w))
    # the step taken: exactly where the ball goes next (also past the computed end)
    assert_drawn_towards(ov, arrows.step, w, next_position(spec, k))
    if arrows.step.endpoints() is not None:  # (not when the run left the view)
        base, tip = arrows.step.endpoints()
        # the heads sit on the tips
        np.testing.assert_allclose([arrows.step.head.pos().x(), arrows.step.head.pos().y()], tip)
    assert traj.steps == advance  # showing the next step computed nothing


def test_momentum_part_closed_form(plot):
    # torch momentum: next step = -lr (mu b_k + g_k); the memory's part is -lr mu b_k
    ov, traj = overlay_for(plot, "momentum:lr=0.01", 3, 5)
    w = traj.positions[3, 0]
    b = traj.state_at(3).momentum_buffer[0]
    base, tip = ov.runs[0].momentum.endpoints()
    np.testing.assert_array_equal(base, w)
    np.testing.assert_allclose(tip - w, -0.01 * 0.9 * b, rtol=1e-12)
    # Adam: the part of m̂ that comes from m_k, times the same per-coordinate rate
    ov2, tr2 = overlay_for(plot, "adam:lr=0.1", 3, 5)
    v = step_vectors(tr2, 3)
    info = tr2.explain(4)
    m = tr2.state_at(3).exp_avg[0]
    expected = -info["effective_lr"][0] * 0.9 * m / (1 - 0.9**4)
    np.testing.assert_allclose(v.momentum_step, expected, rtol=1e-9)
    base, tip = ov2.runs[0].momentum.endpoints()
    np.testing.assert_allclose(tip - base, expected, rtol=1e-9)


def test_plain_sgd_has_no_momentum_arrow_nor_components(plot):
    ov, _ = overlay_for(plot, "sgd:lr=0.05", 2, 3)
    a = ov.runs[0]
    assert a.momentum.endpoints() is None
    assert a.step_x.endpoints() is None and a.gradient_y.endpoints() is None


def test_adaptive_components_are_the_axis_parts_of_each_step(plot):
    ov, traj = overlay_for(plot, "rmsprop:lr=0.05", 2, 3)
    a = ov.runs[0]
    w = traj.positions[2, 0]
    step = traj.positions[3, 0] - w
    gstep = -0.05 * grad_elongated(w)
    np.testing.assert_allclose(a.step_x.endpoints()[1], w + [step[0], 0], rtol=1e-12)
    np.testing.assert_allclose(a.step_y.endpoints()[1], w + [0, step[1]], rtol=1e-12)
    np.testing.assert_allclose(a.gradient_x.endpoints()[1], w + [gstep[0], 0], rtol=1e-12)
    np.testing.assert_allclose(a.gradient_y.endpoints()[1], w + [0, gstep[1]], rtol=1e-12)
    # RMSProp evens the coordinates out: its step's parts are far closer in size
    # than the gradient step's (the bowl is 9 times steeper along y)
    assert abs(step[1] / step[0]) < 0.5 * abs(gstep[1] / gstep[0])


def test_toggles_hide_and_show(plot):
    ov, traj = overlay_for(plot, "adam:lr=0.1", 1, 2)
    for name, arrow in (("gradient_step", ov.runs[0].gradient), ("actual_step", ov.runs[0].step),
                        ("momentum", ov.runs[0].momentum), ("components", ov.runs[0].step_x)):
        assert arrow.endpoints() is not None
        ov.set_option(name, False)
        assert arrow.endpoints() is None and not arrow.head.isVisible()
        ov.set_option(name, True)
        assert arrow.endpoints() is not None
    with pytest.raises(ValueError, match="unknown overlay"):
        ov.set_option("sparkles", True)


def test_head_points_along_the_line_on_screen(plot):
    ov, _ = overlay_for(plot, "sgd:lr=0.05", 1, 1)
    arrow = ov.runs[0].step
    base, tip = arrow.endpoints()
    vb = plot.getViewBox()
    b = vb.mapViewToDevice(QtCore.QPointF(*base))
    t = vb.mapViewToDevice(QtCore.QPointF(*tip))
    want = np.array([t.x() - b.x(), t.y() - b.y()])
    ang = math.radians(arrow.angle)
    got = np.array([-math.cos(ang), -math.sin(ang)])  # the head points along -x at angle 0
    np.testing.assert_allclose(got, want / np.linalg.norm(want), atol=1e-9)
    # and the head as drawn: its sharp tip at the line's tip, its body back along it
    head = arrow.head
    view = head.scene().views()[0]
    shape = head.deviceTransform(view.viewportTransform()).map(head.path)
    centre = shape.boundingRect().center()
    back = np.array([centre.x() - t.x(), centre.y() - t.y()])
    np.testing.assert_allclose(back / np.linalg.norm(back), -want / np.linalg.norm(want), atol=0.05)


def test_gradient_field_off_by_default_and_points_downhill(plot):
    ov, _ = overlay_for(plot, "sgd:lr=0.05", 0, 0)
    assert not ov.field.isVisible()
    ov.set_option("field", True)
    assert ov.field.isVisible()
    xs, ys = ov.field.getData()
    assert len(xs) > 100 and len(xs) % 2 == 0
    f = get_function("elongated-bowl")
    sx, sy = field_segments(f, f.view)
    n = len(sx) // 6  # shafts come first: (base, tip) pairs
    base = np.column_stack([sx[0:2 * n:2], sy[0:2 * n:2]])
    tip = np.column_stack([sx[1:2 * n:2], sy[1:2 * n:2]])
    mid = (base + tip) / 2
    downhill = -np.array([grad_elongated(p) for p in mid])
    assert (np.sum((tip - base) * downhill, axis=1) > 0).all()


def test_one_d_arrows_are_horizontal_on_the_curve_with_the_tangent(plot):
    plot.setXRange(-3, 7, padding=0)
    plot.setYRange(-40, 120, padding=0)
    ov, traj = overlay_for(plot, "momentum:lr=0.01", 5, 8, fn="cubic", start=(7.0,))
    x = traj.positions[5, 0, 0]
    fx = x**3 - 5 * x**2 + 10
    dfx = 3 * x**2 - 10 * x
    a = ov.runs[0]
    base, tip = a.gradient.endpoints()
    np.testing.assert_allclose(base, [x, fx], rtol=1e-12)
    np.testing.assert_allclose(tip, [x - 0.01 * dfx, fx], rtol=1e-12)
    base, tip = a.step.endpoints()
    np.testing.assert_allclose(tip, [traj.positions[6, 0, 0], fx], rtol=1e-12)
    xs, ys = a.tangent.getData()
    np.testing.assert_allclose((ys[1] - ys[0]) / (xs[1] - xs[0]), dfx, rtol=1e-9)


def test_diverged_run_draws_nothing(plot):
    ov, traj = overlay_for(plot, "sgd:lr=5", 5, 6, fn="bowl")
    assert 0 < traj.diverged_step[0] <= 5
    assert ov.runs[0].step.endpoints() is None and ov.runs[0].vectors is None


def test_all_runs_get_arrows_and_extra_sets_hide(plot):
    f = get_function("elongated-bowl")
    ov = StepOverlay(plot)
    ov.set_function(f)
    trajs = [Trajectory(f, s, [[-1.0, 1.0]]) for s in ("sgd:lr=0.05", "adam:lr=0.1")]
    ov.show([(t, 0, 0, c) for t, c in zip(trajs, ("#E69F00", "#56B4E9"), strict=True)])
    assert all(r.step.endpoints() is not None for r in ov.runs)
    ov.show([(trajs[1], 0, 0, "#56B4E9")])
    assert ov.runs[1].step.endpoints() is None
    assert ov.runs[0].vectors.adaptive


def test_hover_reads_out_step_position_and_loss(plot):
    traj = Trajectory("elongated-bowl", "sgd:lr=0.05", [[-1.0, 1.0]])
    traj.advance(4)
    hover = TrajectoryHover(plot)
    hover.set_runs([("sgd", traj.positions[:, 0], traj.losses[:, 0], 4)], 2)
    p = traj.positions[2, 0]
    text = hover.hover_at(*p)
    assert hover.hit == (0, 2)
    assert "step 2" in text and f"{traj.losses[2, 0]:.6g}" in text and f"{p[0]:.6g}" in text
    assert hover.text.isVisible()
    assert hover.hover_at(0.9, -1.9) is None and not hover.text.isVisible()


def test_hover_follows_the_mouse_over_the_scene(plot):
    traj = Trajectory("elongated-bowl", "sgd:lr=0.05", [[-1.0, 1.0]])
    traj.advance(3)
    hover = TrajectoryHover(plot)
    hover.set_runs([("sgd", traj.positions[:, 0], traj.losses[:, 0], 3)], 2)
    vb = plot.getViewBox()
    scene_pos = vb.mapViewToScene(QtCore.QPointF(*traj.positions[3, 0]))
    plot.scene().sigMouseMoved.emit(scene_pos)
    assert hover.hit == (0, 3) and hover.text.isVisible()
    hover.enabled = False
    plot.scene().sigMouseMoved.emit(scene_pos)
    assert not hover.text.isVisible()


@pytest.mark.parametrize("spec", ["rmsprop:lr=0.05", "adam:lr=0.1", "adagrad:lr=0.3"])
def test_rescaling_ellipse_passes_through_the_step_and_is_off_by_default(plot, spec):
    ov, traj = overlay_for(plot, spec, 2, 3)
    a = ov.runs[0]
    assert a.ellipse.getData()[0] is None or len(a.ellipse.getData()[0]) == 0
    ov.set_option("ellipse", True)
    xs, ys = a.ellipse.getData()
    w = traj.positions[2, 0]
    step = traj.positions[3, 0] - w
    info = traj.explain(3)
    ax, ay = np.abs(info["effective_lr"][0]) * np.linalg.norm(info["direction"][0])
    # the drawn points are the ellipse with those semi-axes around w ...
    np.testing.assert_allclose(((xs - w[0]) / ax) ** 2 + ((ys - w[1]) / ay) ** 2, 1, rtol=1e-9)
    # ... and the step taken ends on it
    assert math.isclose((step[0] / ax) ** 2 + (step[1] / ay) ** 2, 1, rel_tol=1e-9)
    # RMSProp-like methods squash it along the steep y axis
    assert ay < ax


def test_no_ellipse_for_plain_gradient_descent(plot):
    ov, _ = overlay_for(plot, "sgd:lr=0.05", 2, 3)
    ov.set_option("ellipse", True)
    xs, _ = ov.runs[0].ellipse.getData()
    assert xs is None or len(xs) == 0


def test_with_gradient_noise_the_arrows_show_the_step_really_taken_next(plot):
    f = get_function("elongated-bowl")
    ov = StepOverlay(plot)
    ov.set_function(f)
    traj = Trajectory(f, "momentum:lr=0.01", [[-1.0, 1.0]], noise=2.0, seed=3)
    traj.advance(3)
    ov.show([(traj, 3, 0, "#E69F00")])  # at the end of the history
    base, tip = ov.runs[0].step.endpoints()
    g_tip = ov.runs[0].gradient.endpoints()[1]
    traj.advance(1)  # the noise for this step was drawn already
    np.testing.assert_allclose(tip, traj.positions[4, 0], rtol=1e-12)
    used = traj.gradient_used(3)[0]
    assert not np.allclose(used, grad_elongated(base))  # the noise is there
    np.testing.assert_allclose(g_tip, base - 0.01 * used, rtol=1e-13)


def test_step_vectors_of_a_per_run_batch_use_each_runs_traits_and_lr():
    """A batch sweeping lr and momentum: each run's arrows are its own (lr, momentum
    part zero where its momentum is 0), as for the run alone."""
    from optsim.engine import make_optimizer

    opt = make_optimizer("sgd", lr=np.array([0.01, 0.05, 0.02]), momentum=np.array([0.0, 0.9, 0.5]))
    assert opt.traits.momentum and not opt.traits.rescales
    batch = Trajectory("elongated-bowl", opt, [[-1.0, 1.0]] * 3)
    batch.advance(4)
    for run in range(3):
        alone = Trajectory("elongated-bowl", opt.row(run), [[-1.0, 1.0]])
        alone.advance(4)
        v, w = step_vectors(batch, 2, run), step_vectors(alone, 2, 0)
        assert v.lr == w.lr == opt.hp["lr"][run]
        np.testing.assert_array_equal(v.actual_step, w.actual_step)
        np.testing.assert_array_equal(v.gradient_step, w.gradient_step)
        if run == 0:
            assert w.momentum_step is None and not np.any(v.momentum_step)
        else:
            np.testing.assert_allclose(v.momentum_step, w.momentum_step, rtol=1e-12)


@pytest.mark.parametrize("k,advance", [(2, 5), (5, 5)])  # recorded, and the next one
@pytest.mark.parametrize("spec", ["sgd:lr=0.05", "momentum:lr=0.02", "adam:lr=0.1"])
def test_clipped_steps_show_the_raw_and_the_clipped_gradient_step(plot, spec, k, advance):
    """With clip_grad_norm_ at 1 on x² + 9y² from (-1, 1) (‖∇f‖ ≈ 18) the arrows show
    two gradient steps: −α·clip(∇f) solid, as long as α (torch's rule: g·1/(‖g‖ +
    1e-6)), and the raw −α·∇f faint and dashed, 18 times longer; the step taken is
    the optimizer's on the clipped gradient (where the ball goes next); the key
    names both."""
    f = get_function("elongated-bowl")
    ov = StepOverlay(plot)
    ov.readable_px = 0
    ov.set_function(f)
    traj = Trajectory(f, spec, [[-1.0, 1.0]], clip="norm=1")
    traj.advance(advance)
    ov.show([(traj, k, 0, "#E69F00")])
    arrows = ov.runs[0]
    w = traj.positions[k, 0]
    g = grad_elongated(w)
    assert np.linalg.norm(g) > 1.5  # clipping acts
    lr = traj.optimizer.hp["lr"]
    clipped = g / (np.linalg.norm(g) + 1e-6)
    v = arrows.vectors
    np.testing.assert_allclose(v.clipped_gradient, clipped, rtol=1e-12)
    np.testing.assert_allclose(v.gradient_step, -lr * clipped, rtol=1e-12)
    np.testing.assert_allclose(v.raw_gradient_step, -lr * g, rtol=1e-12)
    assert_drawn_towards(ov, arrows.gradient, w, w - lr * clipped)
    assert_drawn_towards(ov, arrows.raw_gradient, w, w - lr * g)
    other = Trajectory(f, spec, [[-1.0, 1.0]], clip="norm=1")
    other.advance(k + 1)
    assert_drawn_towards(ov, arrows.step, w, other.positions[k + 1, 0])
    assert arrows.raw_gradient.visible and arrows.gradient.visible
    pen = arrows.raw_gradient.line.pen()
    assert pen.style() == QtCore.Qt.PenStyle.DashLine  # faint and dashed, the clipped solid
    assert arrows.gradient.line.pen().style() == QtCore.Qt.PenStyle.SolidLine
    key = ov.legend_text()
    assert "−α·∇f before clipping" in key and "−α·clip(∇f): clipped gradient step" in key
    # where clipping does not act (a threshold above the gradient): one gradient arrow
    loose = Trajectory(f, spec, [[-1.0, 1.0]], clip="norm=100")
    loose.advance(advance)
    ov.show([(loose, k, 0, "#E69F00")])
    assert ov.runs[0].vectors.raw_gradient_step is None
    assert not ov.runs[0].raw_gradient.visible
    assert "plain gradient step" in ov.legend_text() and "before clipping" not in ov.legend_text()
