"""The optimizers that evaluate the loss themselves (``needs_closure``): Newton's
method plain and damped against closed forms, the closure's path through the
simulation (trajectories, blocks, the explore runner), and what the inspector says."""

from __future__ import annotations

import math

import numpy as np
import pytest

from optsim.engine import Closure, make_optimizer, parse_spec
from optsim.explain import explain_step
from optsim.functions import as_function, get_function
from optsim.simulation import Trajectory, function_closure, simulate

ULP = 4 * np.finfo(float).eps


# ---------------------------------------------------------------------------
# Newton, plain


@pytest.mark.parametrize("formula, start", [
    ("bowl", [-1.5, 1.5]),
    ("elongated-bowl", [-1.0, 1.0]),
    ("3*x^2 + 2*x*y + y^2 - x + 2*y", [2.0, -3.0]),
    ("0.01*x^2 + 100*y^2 + 1.5*x*y + 7", [5.0, 0.3]),  # badly conditioned, tilted
])
def test_one_plain_newton_step_on_a_quadratic_lands_on_its_minimum(formula, start):
    fn = as_function(formula)
    h = fn.hessian(np.array([start]))[0]
    # the minimum in closed form: H w* = −b, b = ∇f(0)
    b = fn.gradient(np.zeros((1, 2)))[0]
    w_star = np.linalg.solve(h, -b)
    path = simulate(fn, "newton", start, 2)
    scale = max(1.0, float(np.abs(start).max()))
    np.testing.assert_allclose(path[1], w_star, rtol=0, atol=ULP * scale * np.linalg.cond(h))
    np.testing.assert_allclose(path[2], path[1], rtol=0, atol=ULP * scale * np.linalg.cond(h))


def test_plain_newton_heads_for_a_saddle_and_a_maximum_and_says_so():
    path = simulate("saddle", "newton", [1.0, 1.0], 1)
    np.testing.assert_array_equal(path[1], [0.0, 0.0])  # x² − y²: its saddle point
    t = Trajectory("saddle", "newton", [[1.0, 1.0]])
    t.advance(1)
    e = explain_step(t, 1)
    (heading, lines), = e.sections
    assert heading == "Curvature"
    text = " ".join(lines)
    assert "indefinite" in text and "saddle" in text and "[[2, 0], [0, -2]]" in text
    assert "eigenvalues of H: (-2, 2)" in text
    dome = Trajectory("-(x^2 + 2*y^2)", "newton", [[1.0, 1.0]])
    dome.advance(1)
    np.testing.assert_array_equal(dome.positions[1, 0], [0.0, 0.0])  # uphill, to the top
    assert "maximum" in " ".join(explain_step(dome, 1).sections[0][1])
    bowl = Trajectory("bowl", "newton", [[1.0, 1.0]])
    bowl.advance(1)
    assert "positive definite" in " ".join(explain_step(bowl, 1).sections[0][1])


def test_newton_with_lr_is_a_fraction_of_the_newton_step():
    path = simulate("elongated-bowl", "newton:lr=0.5", [-1.0, 1.0], 3)
    np.testing.assert_allclose(path[:, 0], [-1.0, -0.5, -0.25, -0.125], rtol=1e-15)
    np.testing.assert_allclose(path[:, 1], [1.0, 0.5, 0.25, 0.125], rtol=1e-15)


def test_newton_on_rosenbrock_reaches_the_minimum_quadratically():
    path = simulate("rosenbrock", "newton", [-1.5, 2.0], 8)
    err = np.linalg.norm(path - [1.0, 1.0], axis=1)
    assert err[-1] < 1e-12
    # quadratic convergence at the end: each error about the square of the one before
    assert err[6] < 10 * err[5] ** 2


# ---------------------------------------------------------------------------
# Newton, damped (Armijo backtracking, steepest descent where H is not PD)


def test_damped_newton_backtracks_once_onto_the_minimum():
    """f = √(1+x²) + √(1+y²) from (1, 1): f' = x/√(1+x²), f'' = (1+x²)^(−3/2), so the
    Newton step is −x(1+x²) = −2 per coordinate and lands on (−1, −1) with the same
    loss: the Armijo test fails, α = 1/2 lands on (0, 0), the minimum."""
    fn = as_function("sqrt(1+x^2) + sqrt(1+y^2)")
    plain = simulate(fn, "newton", [1.0, 1.0], 2)
    np.testing.assert_allclose(plain[1], [-1.0, -1.0], rtol=1e-15)
    np.testing.assert_allclose(plain[2], [1.0, 1.0], rtol=1e-15)  # and back: a 2-cycle
    t = Trajectory(fn, "newton:damped=true", [[1.0, 1.0]])
    t.advance(1)
    np.testing.assert_allclose(t.positions[1, 0], [0.0, 0.0], atol=1e-15)
    info = t.explain(1)
    assert info["alpha"][0, 0] == 0.5 and info["backtracks"][0, 0] == 1
    np.testing.assert_allclose(info["direction"][0], [2.0, 2.0], rtol=1e-15)
    assert "α = 0.5 after 1 shrink" in " ".join(explain_step(t, 1).sections[0][1])


def test_damped_newton_falls_back_to_the_gradient_where_h_is_not_positive_definite():
    """f = x⁴/4 − x²/2 + y²/2 at (0.1, 1): f_xx = 3x² − 1 < 0, so d = g = (x³ − x, y)
    and α = 1 passes Armijo: the step lands on w − g."""
    fn = as_function("x^4/4 - x^2/2 + y^2/2")
    x, y = 0.1, 1.0
    g = np.array([x**3 - x, y])
    f0 = x**4 / 4 - x**2 / 2 + y**2 / 2
    w1 = np.array([x, y]) - g
    f1 = w1[0] ** 4 / 4 - w1[0] ** 2 / 2 + w1[1] ** 2 / 2
    assert f1 <= f0 - 1e-4 * (g @ g)  # Armijo holds at α = 1 (the test's premise)
    t = Trajectory(fn, "newton:damped=true", [[x, y]])
    t.advance(1)
    np.testing.assert_allclose(t.positions[1, 0], w1, rtol=1e-15)
    info = t.explain(1)
    assert info["fallback"][0, 0] == 1.0 and info["backtracks"][0, 0] == 0
    text = " ".join(explain_step(t, 1).sections[0][1])
    assert "falls back to −g" in text and "indefinite" in text
    # plain Newton from there heads for the saddle of the model, x → x − f'/f''
    plain = simulate(fn, "newton", [x, y], 1)
    np.testing.assert_allclose(plain[1], [x - (x**3 - x) / (3 * x**2 - 1), 0.0], rtol=1e-15)


def test_damped_newton_armijo_by_hand_on_a_one_dimensional_function():
    """x⁴ from x = 1: the Newton step is d = x/3, gᵀd = 4/3; the α that backtracking
    from 1 by ρ first accepts under f(1 − α/3) ≤ 1 − c₁·α·4/3, found here by hand."""
    fn = as_function("x^4")
    for c1, rho in ((0.5, 0.3), (0.9, 0.3), (0.99, 0.5)):
        alpha, x = 1.0, 1.0
        g, d = 4.0, 1.0 / 3.0
        while (x - alpha * d) ** 4 > x**4 - c1 * alpha * g * d:
            alpha *= rho
        path = simulate(fn, f"newton:damped=true,c1={c1},backtrack={rho}", [1.0], 1)
        assert path[1, 0] == pytest.approx(1.0 - alpha / 3.0, rel=1e-15), (c1, rho, alpha)


def test_damped_newton_takes_the_full_step_near_a_minimum_and_reaches_rosenbrocks():
    path = simulate("rosenbrock", "newton:damped=true", [-1.5, 2.0], 40)
    assert np.linalg.norm(path[-1] - [1.0, 1.0]) < 1e-10
    losses = get_function("rosenbrock").value(path)
    assert (np.diff(losses) <= 0).all()  # every damped step goes downhill


# ---------------------------------------------------------------------------
# the closure's path


def test_a_closure_optimizer_refuses_to_step_without_one_and_takes_no_noise():
    opt = make_optimizer("newton")
    p = np.ones((1, 2))
    with pytest.raises(ValueError, match="closure"):
        opt.step(p, p, opt.init(p))
    with pytest.raises(ValueError, match="gradient noise and clipping"):
        Trajectory("bowl", "newton", p, noise=0.1)
    with pytest.raises(ValueError, match="gradient noise and clipping"):
        Trajectory("bowl", "newton", p, clip="norm=1.0")


def test_closure_evaluates_at_any_points():
    fn = get_function("rosenbrock")
    c = function_closure(fn)
    assert isinstance(c, Closure)
    pts = np.array([[0.0, 0.0], [1.0, 2.0], [np.inf, 0.0]])
    v, g = c.value_and_gradient(pts)
    np.testing.assert_array_equal(v[:2], fn.value(pts[:2]))
    np.testing.assert_array_equal(g[:2], fn.gradient(pts[:2]))
    assert c.evaluations == 3
    np.testing.assert_array_equal(c.hessian(pts[:2]), fn.hessian(pts[:2]))


def test_explore_runner_hands_the_closure_on():
    from optsim.explore.runner import run_rows

    fn = get_function("elongated-bowl")
    starts = np.array([[-1.0, 1.0], [2.0, 0.5]])
    res = run_rows(fn, parse_spec("newton"), starts, 3, np.array([0.0]), 1e-12)
    np.testing.assert_allclose(res.end, 0.0, atol=1e-15)
    assert (res.hit_step[:, 0] == 1).all()


def test_a_batch_of_newton_runs_is_the_runs_alone():
    fn = get_function("himmelblau")
    starts = np.array([[-0.5, -0.5], [1.0, 1.0], [3.5, -2.0], [-0.27, -0.92]])
    batch = simulate(fn, "newton:damped=true", starts, 10)
    for i, s in enumerate(starts):
        assert np.array_equal(simulate(fn, "newton:damped=true", s, 10), batch[:, i])
    assert math.isfinite(batch[-1].sum())


# ---------------------------------------------------------------------------
# BFGS (the strong-Wolfe line search of L-BFGS)


def test_bfgs_on_the_bowl_by_hand():
    """f = x² + y² from (−1.5, 1.5): g = (−3, 3), the first trial t = 1/‖g‖₁ = 1/6
    lands on (−1, 1) and meets the strong Wolfe conditions; s = (0.5, −0.5),
    y = (1, −1): H₀ is scaled to yᵀs/yᵀy = 1/2 and the update keeps H = I/2, the
    true inverse Hessian, so the second step lands on the minimum."""
    t = Trajectory("bowl", "bfgs", [[-1.5, 1.5]])
    t.advance(2)
    np.testing.assert_array_equal(t.positions[:, 0], [[-1.5, 1.5], [-1.0, 1.0], [0.0, 0.0]])
    np.testing.assert_array_equal(t.state_at(1).inverse_hessian[0], [0.5, 0.0, 0.0, 0.5])
    info = t.explain(1)
    assert info["alpha"][0, 0] == 1 / 6
    np.testing.assert_array_equal(info["inverse_hessian"][0], [1.0, 0.0, 0.0, 1.0])
    assert t.explain(2)["alpha"][0, 0] == 1.0


@pytest.mark.parametrize("function, start", [("rosenbrock", [-1.5, 2.0]),
                                             ("himmelblau", [-0.5, -0.5]),
                                             ("elongated-bowl", [-1.0, 1.0]),
                                             ("beale", [1.0, 1.0])])
def test_bfgs_steps_meet_wolfe_and_the_update_is_the_textbook_one(function, start):
    """Every step: the strong Wolfe conditions at the accepted point (c₁ = 1e-4,
    c₂ = 0.9), the secant equation H_t y = s, and H_t against the inverse of the
    direct update B_t = B − B s sᵀ B / sᵀB s + y yᵀ / yᵀs (N&W 6.19), B = H⁻¹."""
    fn = get_function(function)
    t = Trajectory(fn, "bfgs", [start])
    t.advance(25)
    checked = 0
    for k in range(1, t.steps + 1):
        w0, w1 = t.positions[k - 1, 0], t.positions[k, 0]
        g0, g1 = fn.gradient(w0[None])[0], fn.gradient(w1[None])[0]
        if np.abs(g0).max() <= 1e-7:
            break
        info = t.explain(k)
        p = -info["direction"][0]
        alpha = info["alpha"][0, 0]
        f0, f1 = fn.value(w0[None])[0], fn.value(w1[None])[0]
        assert f1 <= f0 + 1e-4 * alpha * (g0 @ p) + 1e-15 * abs(f0)
        assert abs(g1 @ p) <= 0.9 * abs(g0 @ p) + 1e-12 * abs(g0 @ p)
        s, y = w1 - w0, g1 - g0
        h_old = t.state_at(k - 1).inverse_hessian[0].reshape(2, 2)
        h_new = t.state_at(k).inverse_hessian[0].reshape(2, 2)
        if y @ s <= 1e-10 or np.linalg.norm(s) < 1e-6:
            continue
        if k == 1:
            h_old = np.eye(2) * (y @ s) / (y @ y)
        np.testing.assert_allclose(h_new @ y, s, rtol=1e-7, atol=1e-12)
        b = np.linalg.inv(h_old)
        b_new = b - np.outer(b @ s, b @ s) / (s @ b @ s) + np.outer(y, y) / (y @ s)
        np.testing.assert_allclose(h_new, np.linalg.inv(b_new), rtol=1e-6, atol=1e-12)
        assert (np.linalg.eigvalsh(h_new) > 0).all()
        checked += 1
    assert checked >= 3


def test_bfgs_reaches_the_minimum_of_rosenbrock_and_himmelblau():
    path = simulate("rosenbrock", "bfgs", [-1.5, 2.0], 60)
    assert np.linalg.norm(path[-1] - [1.0, 1.0]) < 1e-8
    path = simulate("himmelblau", "bfgs", [0.0, 0.0], 30)
    assert np.linalg.norm(path[-1] - [3.0, 2.0]) < 1e-8


def test_bfgs_inspector_shows_h_its_eigenvalues_the_step_and_the_line_search():
    t = Trajectory("rosenbrock", "bfgs", [[-1.5, 2.0]])
    t.advance(3)
    e = explain_step(t, 3)
    (h1, curv), (h2, search) = e.sections
    assert (h1, h2) == ("Curvature", "Line search")
    h = t.state_at(2).inverse_hessian[0].reshape(2, 2)
    assert curv[0].startswith("H (estimate of ∇²f⁻¹) = [[") and f"{h[0, 0]:.6g}" in curv[0]
    assert curv[1].startswith("eigenvalues of H: (")
    assert "solved step p = −H·g" in curv[3]
    assert search[-1].startswith("iterate 1: ")
    assert all(line.startswith("   trial t = ") for line in search[:-1])


# ---------------------------------------------------------------------------
# the window: the shown step's inner points as small dots


def test_the_overlay_draws_the_inner_points_of_the_shown_step(qtbot):
    import pyqtgraph as pg

    from optsim.render.overlays import StepOverlay

    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    plot = widget.getPlotItem()
    fn = get_function("rosenbrock")
    t = Trajectory(fn, "lbfgs:line_search_fn=strong_wolfe,max_iter=4", [[-1.5, 2.0]])
    t.advance(6)
    ov = StepOverlay(plot)
    ov.set_function(fn)
    ov.show([(t, 5, 0, "#0072B2")])
    iterates, trials = ov.inner.points()
    info = t.explain(5)
    kinds, pts = info["inner_kinds"][0], info["inner_points"][0]
    np.testing.assert_array_equal(iterates, pts[kinds == 1])
    np.testing.assert_array_equal(trials, pts[kinds == 0])
    np.testing.assert_array_equal(iterates[-1], t.positions[5, 0])  # the step's end
    xs, ys = ov.inner.path.getData()
    np.testing.assert_array_equal(np.column_stack([xs, ys])[0], t.positions[4, 0])  # its start
    assert "line-search trials (step 5)" in ov.legend_text()
    ov.set_option("inner", False)
    assert all(len(p) == 0 for p in ov.inner.points())
    ov.set_option("inner", True)
    # gradient-only optimizers have no inner points
    ov.show([(Trajectory(fn, "adam", [[-1.5, 2.0]]), 0, 0, "#000000")])
    assert all(len(p) == 0 for p in ov.inner.points()) and "trials" not in ov.legend_text()


def test_newton_curvature_is_in_the_window_inspector(qtbot):
    from optsim.gui.inspector import explanation_html

    t = Trajectory("saddle", "newton", [[1.0, 1.0]])
    t.advance(1)
    page = explanation_html(explain_step(t, 1))
    assert "Curvature" in page and "saddle point" in page and "H = [[2, 0], [0, -2]]" in page


def test_the_window_steps_lbfgs_and_shows_its_inner_points(window, qtbot):
    from PySide6.QtWidgets import QApplication

    from optsim.gui.file_actions import apply_scenario
    from optsim.scenarios import load_preset

    apply_scenario(window, load_preset("lbfgs-rosenbrock"))
    m = window.model
    m.select(0)
    window.playback.step(3)
    QApplication.processEvents()
    insight = window.step_insight
    insight.refresh()
    panel = insight.panel
    panel.flush()
    text = panel.text()
    assert "Inside this step" in text and "trial t = " in text and "iterate 1:" in text
    iterates, trials = insight.overlay.inner.points()
    assert len(iterates) >= 2 and len(trials) >= 1
    np.testing.assert_array_equal(iterates[-1], m.runs[0].trajectory.positions[3, 0])
    insight.actions["inner"].setChecked(False)
    assert all(len(p) == 0 for p in insight.overlay.inner.points())


@pytest.mark.parametrize("spec", ["newton", "newton:damped=true", "bfgs",
                                  "lbfgs:line_search_fn=strong_wolfe"])
def test_the_next_step_previewed_is_the_step_taken(spec):
    """Trajectory.next_update (the geometry views' step) hands the closure on."""
    t = Trajectory("rosenbrock", spec, [[-1.5, 2.0]])
    t.advance(2)
    preview = t.next_update(2)
    t.advance(1)
    np.testing.assert_array_equal(preview, t.positions[3] - t.positions[2])
    np.testing.assert_array_equal(t.next_update(1), t.positions[2] - t.positions[1])


def test_a_singular_hessian_stops_plain_newton_and_damped_newton_goes_on():
    """x² + y⁴ at (1, 0): H = [[2, 0], [0, 0]] is singular, H⁻¹g undefined: plain Newton
    is flagged at step 1 and stands still; damped Newton takes −g, and α = 1/2 after
    one shrink lands on the minimum (x − 2x·α = 0)."""
    t = Trajectory("x^2 + y^4", "newton", [[1.0, 0.0]])
    with np.errstate(all="ignore"):
        t.advance(2)
    assert t.diverged[0] and t.diverged_step[0] == 1
    np.testing.assert_array_equal(t.positions[:, 0], [[1.0, 0.0]] * 3)
    with np.errstate(all="ignore"):
        assert "singular" in " ".join(explain_step(t, 1).sections[0][1])
    d = Trajectory("x^2 + y^4", "newton:damped=true", [[1.0, 0.0]])
    d.advance(2)
    assert not d.diverged[0]
    np.testing.assert_array_equal(d.positions[1:, 0], [[0.0, 0.0]] * 2)
    info = d.explain(1)
    assert info["fallback"][0, 0] == 1.0 and info["alpha"][0, 0] == 0.5
