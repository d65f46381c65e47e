"""The second-order presets tell their stories: L-BFGS with a line search on
Rosenbrock in a dozen steps, Newton's one step to the bottom of a bowl, plain Newton
heading for a maximum and a saddle where damped Newton goes downhill."""

from __future__ import annotations

import numpy as np

from optsim.explain import explain_step
from optsim.functions import get_function
from optsim.scenarios import load_preset, run_scenario
from optsim.simulation import Trajectory


def _runs(name: str):
    return {run.name: traj for run, traj in run_scenario(load_preset(name))}


def _recorded(name: str, run_name: str, steps: int) -> Trajectory:
    """The run as the window steps it (states recorded, so steps can be explained)."""
    s = load_preset(name)
    run = next(r for r in s.runs if r.name == run_name)
    t = Trajectory(s.function, run.make_optimizer(), [run.start or s.start])
    t.advance(steps)
    return t


def _err(traj, point) -> np.ndarray:
    return np.linalg.norm(traj.positions[:, 0] - np.asarray(point), axis=1)


def test_lbfgs_with_a_line_search_on_rosenbrock_in_a_dozen_steps():
    runs = _runs("lbfgs-rosenbrock")
    assert load_preset("lbfgs-rosenbrock").steps == 20
    lbfgs = runs["L-BFGS, strong Wolfe line search"]
    err = _err(lbfgs, (1.0, 1.0))
    assert err[11] > 1e-3 > err[12]                       # a dozen steps
    fixed, bfgs, adam = (runs[k] for k in ("L-BFGS, fixed step lr = 1",
                                           "BFGS (one line search per step)", "Adam"))
    assert 0.05 < _err(fixed, (1.0, 1.0))[-1] < 0.5        # still short of it
    assert 1.0 < _err(bfgs, (1.0, 1.0))[-1] < 2.0          # half-way along the valley
    assert np.linalg.norm(adam.positions[-1, 0] - adam.positions[0, 0]) < 0.2  # barely moved
    # the shown step's inner points: iterates and the line search's trial points
    shown = _recorded("lbfgs-rosenbrock", "L-BFGS, strong Wolfe line search", 2)
    np.testing.assert_array_equal(shown.positions, lbfgs.positions[:3])
    kinds = shown.explain(2)["inner_kinds"][0]
    assert (kinds == 1).sum() == 4 and (kinds == 0).sum() == 4
    lines = explain_step(shown, 2).sections[0][1]
    assert lines[0].startswith("4 inner iterations") and any("trial t =" in x for x in lines)


def test_newton_takes_one_step_to_the_bottom_of_the_bowl():
    runs = _runs("newton-bowl")
    for name in ("Newton", "damped Newton"):
        p = runs[name].positions[:, 0]
        np.testing.assert_allclose(p[1:], 0.0, atol=1e-15)
    damped = _recorded("newton-bowl", "damped Newton", 1)
    assert damped.explain(1)["backtracks"][0, 0] == 0  # the full step
    bfgs = _err(runs["BFGS"], (0.0, 0.0))
    assert bfgs[1] > 0.5 and bfgs[-1] < 1e-6
    gd = runs["gradient descent"].positions[:, 0]
    assert (np.sign(gd[1:9, 1]) != np.sign(gd[:8, 1])).all()  # zig-zags across y = 0
    assert np.linalg.norm(gd[-1]) > 1e-3


def test_plain_newton_heads_for_a_maximum_and_a_saddle_damped_newton_goes_downhill():
    fn = get_function("himmelblau")
    runs = _runs("newton-saddle")
    top = runs["Newton from (−0.5, −0.5)"]
    p = top.positions[:, 0]
    np.testing.assert_allclose(fn.gradient(p[-1:]), 0.0, atol=1e-9)  # a stationary point
    assert (np.linalg.eigvalsh(fn.hessian(p[-1:]))[0] < 0).all()     # ... a maximum
    assert np.linalg.norm(p[3] - p[-1]) < 1e-3                       # in three steps
    assert (np.diff(top.losses[:4, 0]) > 0).all()                    # uphill
    assert "maximum" in " ".join(explain_step(
        _recorded("newton-saddle", "Newton from (−0.5, −0.5)", 1), 1).sections[0][1])
    sad = runs["Newton from (0, −1.5)"]
    q = sad.positions[-1:, 0]
    np.testing.assert_allclose(fn.gradient(q), 0.0, atol=1e-9)
    lam = np.linalg.eigvalsh(fn.hessian(q))[0]
    assert lam[0] < 0 < lam[1]                                      # a saddle point
    assert "saddle" in " ".join(explain_step(
        _recorded("newton-saddle", "Newton from (0, −1.5)", 1), 1).sections[0][1])
    minima = np.array(fn.minima)
    for name in ("damped Newton", "BFGS", "gradient descent"):
        end = runs[name].positions[-1, 0]
        assert np.linalg.norm(minima - end, axis=1).min() < 1e-3, name
    damped = runs["damped Newton"]
    first = _recorded("newton-saddle", "damped Newton", 1)
    assert first.explain(1)["fallback"][0, 0] == 1.0       # −g where H is not PD
    assert (np.diff(damped.losses[:, 0]) <= 0).all()       # always downhill
