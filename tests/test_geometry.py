"""The local models, the slice along a step and the edge of stability, against closed
forms (quadratics), finite differences, and the optimizers' own behaviour: a rate just
under the declared threshold converges, just over it diverges."""

from __future__ import annotations

import numpy as np
import pytest

from optsim.engine.registry import make_optimizer, parse_spec
from optsim.formulas import parse_formula
from optsim.functions import get_function
from optsim.geometry import (
    ARMIJO_C1,
    edge_of_stability,
    local_model,
    sharpness,
    step_slice,
)
from optsim.simulation import Trajectory

RNG = np.random.default_rng(7)


# -- the Taylor models ------------------------------------------------------------
def test_second_order_model_of_a_quadratic_is_the_function_and_newton_lands_on_its_minimum():
    f = get_function("elongated-bowl")  # x² + 9y²
    model = local_model(f, np.array([-1.0, 0.7]))
    pts = RNG.uniform(-3, 3, size=(50, 2))
    np.testing.assert_allclose(model.second_order(pts), f.value(pts), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(model.newton_target, [0.0, 0.0], atol=1e-14)
    np.testing.assert_allclose(model.eigenvalues, [2.0, 18.0])
    assert model.condition == pytest.approx(9.0)
    assert model.kind == "minimum"


def test_saddle_and_maximum_are_named_and_singular_hessians_have_no_target():
    assert local_model(get_function("saddle"), np.array([0.3, 0.2])).kind == "saddle"
    assert local_model(parse_formula("-(x^2 + 2*y^2)"), np.array([0.3, 0.2])).kind == "maximum"
    flat = local_model(parse_formula("x^2", dim=2), np.array([1.0, 0.5]))
    assert flat.newton_target is None and flat.kind == "degenerate"
    assert flat.condition == float("inf")


@pytest.mark.parametrize("name", ["rosenbrock", "himmelblau", "six-hump-camel", "cubic"])
def test_models_agree_with_the_function_to_their_order(name):
    """First order: error O(ε²); second order: O(ε³) (finite differences of f)."""
    f = get_function(name)
    w = np.asarray(f.start, dtype=np.float64) * 0.6 + 0.1
    model = local_model(f, w)
    d = RNG.normal(size=f.dim)
    d /= np.linalg.norm(d)
    errs1, errs2 = [], []
    for eps in (1e-2, 5e-3):
        p = (w + eps * d)[None]
        errs1.append(abs(f.value(p)[0] - model.first_order(p)[0]))
        errs2.append(abs(f.value(p)[0] - model.second_order(p)[0]))
    assert errs1[0] / errs1[1] == pytest.approx(4.0, rel=0.1)  # halving ε quarters it
    assert errs2[0] / errs2[1] == pytest.approx(8.0, rel=0.2)  # ... and eighths it


# -- the slice along the step ------------------------------------------------------
def test_slice_of_a_gradient_step_on_a_quadratic_matches_the_closed_form():
    f = get_function("elongated-bowl")
    h = np.diag([2.0, 18.0])
    w = np.array([-1.0, 0.5])
    g = f.gradient(w[None])[0]
    d = -0.1 * g  # gradient descent with lr 0.1 overshoots in y
    sl = step_slice(f, w, d)
    exact = -(g @ d) / (d @ h @ d)
    assert sl.best_s == pytest.approx(exact, rel=1e-10)
    assert sl.best_value == pytest.approx(f.value((w + exact * d)[None])[0], rel=1e-12)
    assert sl.landing == pytest.approx(f.value((w + d)[None])[0])
    assert sl.slope == pytest.approx(g @ d)
    assert 0.0 in sl.s and 1.0 in sl.s and sl.s[0] == -0.5 and sl.s[-1] == 2.0
    np.testing.assert_allclose(sl.values, f.value(w + sl.s[:, None] * d))
    np.testing.assert_allclose(sl.armijo, sl.start + ARMIJO_C1 * sl.s * sl.slope)
    assert sl.descent and sl.overshoots  # s* ≈ 0.57 < 1
    assert sl.armijo_holds is bool(sl.landing <= sl.start + ARMIJO_C1 * sl.slope)


def test_slice_says_when_a_step_is_too_long_for_armijo():
    f = get_function("elongated-bowl")
    w = np.array([-1.0, 0.5])
    g = f.gradient(w[None])[0]
    long = step_slice(f, w, -0.12 * g)  # past 2/18 in y: the loss goes up
    assert not long.armijo_holds and long.overshoots
    short = step_slice(f, w, -0.01 * g)
    assert short.armijo_holds and not short.overshoots and short.best_s == pytest.approx(2.0)


def test_slice_of_a_zero_step_and_a_bad_range():
    f = get_function("bowl")
    sl = step_slice(f, np.array([0.5, 0.5]), np.zeros(2))
    assert sl.best_s == 0.0 and sl.slope == 0.0
    with pytest.raises(ValueError, match="range"):
        step_slice(f, np.array([0.5, 0.5]), np.ones(2), s_range=(-1.0, -0.5))


# -- sharpness --------------------------------------------------------------------
def test_sharpness_and_preconditioned_sharpness_against_eigenvalues():
    a = RNG.normal(size=(20, 3, 3))
    h = a @ np.swapaxes(a, 1, 2) - 1.0 * np.eye(3)
    p = RNG.uniform(0.1, 3.0, size=(20, 3))
    np.testing.assert_allclose(sharpness(h), [np.linalg.eigvalsh(m)[-1] for m in h])
    # independent: the eigenvalues of the non-symmetric P⁻¹H
    ref = [np.max(np.linalg.eigvals(np.diag(1 / q) @ m).real) for q, m in zip(p, h, strict=True)]
    np.testing.assert_allclose(sharpness(h, p), ref, rtol=1e-10)
    p[3, 1] = np.nan
    assert np.isnan(sharpness(h, p)[3]) and np.isfinite(sharpness(h, p)[4])


# -- thresholds: the optimizer's own dynamics decide ---------------------------------
def _grows(spec: str, lam: float, steps: int = 4000) -> bool:
    """Whether ``spec`` on f = λ/2·x² grows away from the minimum (1D, exact)."""
    f = parse_formula(f"{lam / 2}*x^2", dim=1)
    t = Trajectory(f, spec, [[1.0]], bound_scale=1e9, capacity=steps + 2)
    t.advance(steps)
    return bool(abs(t.positions[-1, 0, 0]) > 1.0 or t.diverged[0])


@pytest.mark.parametrize("spec", ["sgd:lr=0.1", "sgd:lr=0.1,momentum=0.9",
                                  "sgd:lr=0.05,momentum=0.5,dampening=0.3",
                                  "sgd:lr=0.1,momentum=0.8,nesterov=true",
                                  "sgd:lr=0.1,momentum=0.9,weight_decay=0.5"])
def test_sgd_threshold_separates_convergence_from_divergence(spec):
    opt = parse_spec(spec)
    limit = opt.edge_of_stability(opt.init(np.zeros((1, 1))), 1).threshold[0]
    assert not _grows(spec, 0.97 * limit)
    assert _grows(spec, 1.03 * limit)


def test_adam_preconditioner_and_threshold_follow_cohen_et_al():
    f = get_function("elongated-bowl")
    t = Trajectory(f, "adam:lr=0.01,beta1=0.8,beta2=0.99,eps=1e-6", [[-1.0, 0.8]])
    t.advance(7)
    state = t.state_at(5)
    st = t.optimizer.edge_of_stability(state, 1)
    v_hat = state.exp_avg_sq / (1 - 0.99 ** 5)
    np.testing.assert_allclose(st.preconditioner, (1 - 0.8 ** 6) * (np.sqrt(v_hat) + 1e-6),
                               rtol=1e-14)
    assert st.threshold[0] == pytest.approx((2 + 2 * 0.8) / ((1 - 0.8) * 0.01))
    first = t.optimizer.edge_of_stability(t.state_at(0), 1)
    assert np.isnan(first.preconditioner).all()


def test_rmsprop_and_adagrad_precondition_by_their_denominators():
    f = get_function("elongated-bowl")
    for spec, field, limit in [("rmsprop:lr=0.01,momentum=0.5", "square_avg", 3.0 / 0.01),
                               ("adagrad:lr=0.1,lr_decay=0.5", "sum", 2 / (0.1 / (1 + 4 * 0.5)))]:
        t = Trajectory(f, spec, [[-1.0, 0.8]])
        t.advance(6)
        state = t.state_at(4)
        st = t.optimizer.edge_of_stability(state, 1)
        np.testing.assert_allclose(st.preconditioner,
                                   np.sqrt(getattr(state, field)) + t.optimizer.hp["eps"])
        assert st.threshold[0] == pytest.approx(limit)


def test_optimizers_without_a_known_threshold_give_none():
    opt = make_optimizer("adadelta")
    assert opt.edge_of_stability(opt.init(np.zeros((2, 2))), 2) is None


def test_per_run_learning_rates_give_per_run_thresholds():
    lrs = np.array([0.01, 0.1, 0.5])
    opt = make_optimizer("sgd", lr=lrs, momentum=np.array([0.0, 0.9, 0.5]))
    st = opt.edge_of_stability(opt.init(np.zeros((3, 2))), 3)
    np.testing.assert_allclose(st.threshold, (2 + 2 * np.array([0.0, 0.9, 0.5])) / lrs)


# -- along a trajectory --------------------------------------------------------------
def test_edge_of_stability_along_gradient_descent_on_rosenbrock():
    f = get_function("rosenbrock")
    t = Trajectory(f, "sgd:lr=0.001", [[-1.5, 2.0], [0.0, 0.5]])
    t.advance(30)
    eos = edge_of_stability(t)
    assert eos.steps.tolist() == list(range(31))
    assert not eos.preconditioned and eos.formula == "2/lr"
    np.testing.assert_allclose(eos.threshold, 2 / 0.001)
    for k in (0, 13, 30):
        ref = [np.linalg.eigvalsh(f.hessian(t.positions[k][i][None])[0])[-1] for i in range(2)]
        np.testing.assert_allclose(eos.sharpness[k], ref, rtol=1e-12)


def test_edge_of_stability_follows_a_schedule_and_a_preconditioner():
    f = get_function("elongated-bowl")
    t = Trajectory(f, "sgd:lr=0.1+steplr:step_size=5,gamma=0.5", [[-1.0, 0.8]])
    t.advance(12)
    eos = edge_of_stability(t, np.array([0, 4, 5, 10]))
    # the threshold at position k is that of step k + 1
    np.testing.assert_allclose(eos.threshold[:, 0], 2 / np.array([0.1, 0.1, 0.05, 0.025]))
    adam = Trajectory(f, "adam:lr=0.05", [[-1.0, 0.8]])
    adam.advance(10)
    e = edge_of_stability(adam)
    assert e.preconditioned and np.isnan(e.sharpness[0, 0]) and np.isfinite(e.sharpness[1:]).all()


def test_edge_of_stability_at_the_last_step_of_a_one_cycle_schedule_has_no_threshold():
    """The Geometry dock raised at schedules-valley's last step (step 201 of a
    200-step one-cycle schedule asked for)."""
    f = get_function("elongated-bowl")
    t = Trajectory(f, "sgd:lr=0.1+onecyclelr:max_lr=0.1,total_steps=20", [[-1.0, 0.8]])
    t.advance(20)
    eos = edge_of_stability(t, np.array([19, 20]))
    assert np.isfinite(eos.threshold[0, 0]) and np.isnan(eos.threshold[1, 0])
    assert np.isfinite(eos.sharpness).all()


def test_edge_of_stability_preset_tells_its_story():
    """GD at lr 0.2 on the narrowing valley: the sharpness rises from ~1.5 to 2/lr = 10
    and hovers there; at lr 0.1 it passes 10 on its way to the valley's narrow end."""
    from optsim.scenarios import load_preset, run_scenario

    runs = {run.name: t for run, t in run_scenario(load_preset("edge-of-stability"))}
    fast = edge_of_stability(runs["GD, lr 0.2 (2/lr = 10)"])
    slow = edge_of_stability(runs["GD, lr 0.1 (2/lr = 20)"])
    s, limit = fast.sharpness[:, 0], fast.threshold[0, 0]
    assert limit == pytest.approx(10.0) and s[0] < 2
    late = s[300:]
    assert abs(np.median(late) - limit) < 0.05 * limit  # hovers at 2/lr
    assert late.max() < 1.2 * limit and late.min() > 0.75 * limit
    assert slow.sharpness[-1, 0] > 1.2 * limit  # no edge at 10 for the slower run
    assert (slow.sharpness[:, 0] < slow.threshold[:, 0]).all()  # it never reaches its 20
    loss = runs["GD, lr 0.2 (2/lr = 10)"].losses[:, 0]
    assert loss[-1] < loss[0] / 10 and (np.diff(loss[300:]) > 0).any()  # falls, not monotonically
