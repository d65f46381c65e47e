"""Sweeps, basins and tuning against answers known independently: closed forms on
quadratics, separate runs, and the theory of the heavy ball."""

import math

import numpy as np
import pytest
from sweep_cells import assert_adam_cells_are_separate_runs

import optsim
from optsim.explore import Cancelled, SweepInputError, basins, sweep, tune
from optsim.explore.axes import Axis
from optsim.explore.sweep import plan_sweep
from optsim.explore.theory import constant_hessian, heavy_ball_rate, map_theory, quadratic_theory
from optsim.functions import LossFunction, get_function
from optsim.simulation import run


def test_gd_rate_on_a_quadratic_is_the_closed_form_of_its_eigenvalues():
    # x² + 9y²: H = diag(2, 18); GD's error along eigenvector i is (1 − lr λ_i)^k e_i
    lam = np.array([2.0, 18.0])
    e0 = np.array([-1.0, 1.0])
    steps = 40
    res = sweep("elongated-bowl", "sgd", x="lr=0.005:0.105:21", start=e0, steps=steps,
                metric="rate")
    for lr, rate in zip(res.x, res.values, strict=True):
        factor = 1 - lr * lam
        end = np.linalg.norm(factor ** steps * e0)
        half = np.linalg.norm(factor ** (steps // 2) * e0)
        assert rate == pytest.approx((end / half) ** (2 / steps), rel=1e-9)
    # and for many steps it tends to the spectral radius max |1 − lr λ|
    long = sweep("elongated-bowl", "sgd", x="lr=0.01:0.1:10", start=e0, steps=400, metric="rate")
    radius = np.abs(1 - long.x[:, None] * lam).max(axis=1)
    np.testing.assert_allclose(long.values, radius, rtol=1e-6)


def test_1d_quadratic_rate_and_steps_to_tol_exactly():
    # x² from x = 1: x_k = (1 − 2 lr)^k, loss (1 − 2 lr)^(2k)
    res = sweep("quadratic", "sgd", x="lr=0.05:0.45:9", start=[1.0], steps=50,
                metric="steps-to-tol", tol=1e-6)
    q = np.abs(1 - 2 * res.x)
    np.testing.assert_allclose(res.metrics["rate"], q, rtol=1e-12)
    expected = [next((k for k in range(51) if qi ** (2 * k) < 1e-6), np.inf) for qi in q]
    assert np.isinf(expected[0]) and np.isfinite(expected[-1])
    np.testing.assert_array_equal(res.values, expected)


def test_heavy_ball_map_meets_the_theory():
    theory = quadratic_theory(get_function("elongated-bowl"))
    np.testing.assert_allclose(theory.eigenvalues, [2.0, 18.0])
    assert theory.gd_step == pytest.approx(0.1)
    assert theory.hb_step == pytest.approx(0.125)      # (2 / (√18 + √2))²
    assert theory.hb_momentum == pytest.approx(0.25)   # ((3 − 1) / (3 + 1))²
    assert theory.hb_rate == pytest.approx(0.5)
    # the measured rate after many steps approaches the characteristic roots' modulus
    res = sweep("elongated-bowl", "momentum", x="lr=0.02:0.12:6", y="momentum=0.1:0.6:6",
                steps=600, metric="rate")
    lr, mu = np.meshgrid(res.x, res.y)
    expected = heavy_ball_rate(lr, mu, theory.eigenvalues)
    np.testing.assert_allclose(res.values, expected, rtol=0.03)
    # past the stability boundary lr < 2 (1 + μ) / λmax every run diverges
    unstable = sweep("elongated-bowl", "momentum", x="lr=0.3:0.5:3", y="momentum=0:0.5:3",
                     steps=300, metric="diverged")
    assert (unstable.values == 1).all()
    mt = map_theory(res.function, res.optimizer, ["lr", "momentum"])
    assert (mt.best_lr, mt.best_momentum, mt.best_rate) == pytest.approx((0.125, 0.25, 0.5))
    # ema-momentum steps lr (1 − μ): its optimal lr is α* / (1 − β*)
    ema = map_theory(res.function, optsim.make_optimizer("ema-momentum"), ["momentum", "lr"])
    assert ema.best_lr == pytest.approx(0.125 / 0.75)


def test_quadratics_are_detected_from_a_constant_hessian():
    assert constant_hessian(get_function("rosenbrock")) is None
    np.testing.assert_allclose(constant_hessian(get_function("tilted-bowl")),
                               [[2.0, 1.8], [1.8, 2.0]], atol=1e-9)
    typed = optsim.as_function("3*x**2 + x*y + 2*y**2 - x")
    np.testing.assert_allclose(constant_hessian(typed), [[6.0, 1.0], [1.0, 4.0]], atol=1e-9)
    assert quadratic_theory(optsim.as_function("x**2 - y**2")) is None  # not a bowl


def test_every_cell_equals_a_separate_run():
    res = sweep("rosenbrock", "adam", x="lr=0.001:0.3:5:log", y="beta1=0.5:0.95:4",
                start=(-1.5, 2.0), steps=60)
    assert_adam_cells_are_separate_runs(res, "rosenbrock", (-1.5, 2.0), 60)


def test_divergence_and_median_over_starts():
    res = sweep("quadratic", "sgd", x="lr=0.5:1.5:3", start=[[1.0], [2.0], [-3.0]], steps=50)
    # lr 0.5 lands on the minimum in one step; lr 1 bounces forever; lr 1.5 diverges
    assert res.values[0] == 0.0
    assert res.values[1] == pytest.approx(np.median([1.0, 4.0, 9.0]))
    assert math.isinf(res.values[2])
    np.testing.assert_array_equal(res.metrics["diverged"], [0.0, 0.0, 1.0])
    q = 2.0  # |1 − 2 lr| at lr 1.5: the run leaves the bound 1000 × 6 / 2 from the centre
    first = min(next(k for k in range(60) if abs(x0) * q ** k > 3000) for x0 in (1, 2, 3))
    assert res.metrics["diverged-step"][2] == first


def test_steps_to_tol_without_known_minima_uses_the_best_loss_seen():
    fn = LossFunction("shifted", 1, value=lambda p: (p[:, 0] - 1) ** 2 + 5,
                      gradient=lambda p: 2 * (p[:, 0:1] - 1), view=((-3.0, 3.0), (0.0, 20.0)),
                      start=(3.0,))
    res = sweep(fn, "sgd", x="lr=0.1:0.5:5", steps=40, metric="steps-to-tol", tol=1e-6)
    assert res.fstar == 5.0  # lr 0.5 reaches it exactly
    q = np.abs(1 - 2 * res.x)
    expected = [next(k for k in range(41) if 4 * qi ** (2 * k) < 1e-6) for qi in q]
    np.testing.assert_array_equal(res.values, expected)
    assert np.isnan(res.metrics["rate"]).all()  # no known minimum: no rate


def test_result_unpacks_as_arrays_with_axes_and_progress_and_cancel():
    seen = []
    values, x, y = sweep("bowl", "sgd", x="lr=0.01:0.5:7", y=("weight_decay", 0, 1, 3),
                         steps=10, progress=lambda d, t: seen.append((d, t)))
    assert values.shape == (3, 7) and x.shape == (7,) and y.shape == (3,)
    assert seen[-1] == (21, 21)

    class Now:
        def is_set(self):
            return True

    with pytest.raises(Cancelled):
        sweep("bowl", "sgd", x="lr=0.01:0.5:7", steps=10, cancel=Now())


@pytest.mark.parametrize("kwargs, message", [
    ({"x": "speed=0:1:5"}, "unknown hyperparameter 'speed'"),
    ({"x": "nesterov=0:1:2"}, "true/false"),
    ({"x": "lr=0.5:0.1:5"}, "LO must be below HI"),
    ({"x": "lr=0.1:0.5:1"}, "N must be at least 2"),
    ({"x": "lr=0:0.5:5:log"}, "log axis needs LO > 0"),
    ({"x": "momentum=0:1:5"}, "out of range"),
    ({"x": "lr=0.1:0.5:5", "y": "lr=0.1:0.5:5"}, "both axes"),
    ({"x": "lr=0.1:0.5:5", "metric": "speed"}, "unknown metric"),
    ({"x": "lr=0.1:0.5:5", "start": [1.0, 2.0, 3.0]}, "coordinate"),
    ({"x": "momentum=0:0.9:4", "optimizer": "nesterov"}, "Nesterov momentum requires"),
])
def test_bad_sweeps_are_one_clear_message(kwargs, message):
    optimizer = kwargs.pop("optimizer", "momentum")
    with pytest.raises(SweepInputError, match=message):
        plan_sweep("bowl", optimizer, **kwargs)


def test_a_grid_too_large_for_memory_is_refused():
    with pytest.raises(SweepInputError, match="grid too large for memory"):
        plan_sweep("bowl", "sgd", x="lr=0.1:0.5:1000000", y="momentum=0:0.9:1000000")
    with pytest.raises(SweepInputError, match="grid too large"):
        plan_sweep("bowl", "sgd", x="lr=0.1:0.5:100", memory=1000)


def test_axis_round_trip_and_values():
    a = Axis.parse("lr=1e-4:1:5:log")
    np.testing.assert_allclose(a.values, [1e-4, 1e-3, 1e-2, 1e-1, 1])
    assert Axis.parse(a.spec) == a


def test_basin_labels_match_separate_runs():
    res = basins("himmelblau", "sgd:lr=0.01", grid=15, steps=300)
    fn = res.function
    assert set(np.unique(res.labels)) == {0, 1, 2, 3}
    for j, i in [(0, 0), (3, 11), (7, 7), (14, 2), (10, 13), (5, 6)]:
        alone = run(fn, "sgd:lr=0.01", (res.x[i], res.y[j]), 300)
        d = np.linalg.norm(np.asarray(fn.minima) - alone.positions[-1], axis=1)
        assert res.labels[j, i] == int(np.argmin(d))
        assert d.min() <= res.radius
        np.testing.assert_array_equal(res.ends[j, i], alone.positions[-1])


def test_cubic_escape_strip():
    res = basins("cubic", "ema-momentum:lr=0.01", grid=41, steps=200)
    assert res.labels.shape == (41,)
    # left of the local maximum at 0 every run falls off to -inf; near 10/3 it settles
    assert (res.labels[res.x < -0.1] == -2).all()
    assert res.labels[np.argmin(abs(res.x - 10 / 3))] == 0
    alone = run("cubic", "ema-momentum:lr=0.01", [7.0], 200)
    assert bool(alone.diverged) == (res.labels[-1] == -2)


def test_tuned_lr_is_the_grid_optimum():
    # GD on x² from 1: lr 0.5 lands on the minimum in one step, the unique optimum
    (r,) = tune("quadratic", "sgd", steps=20, start=[1.0], lr="lr=0.125:0.875:7")
    assert r.lr == 0.5 and r.value == 0.0
    assert r.tuned.hp["lr"] == 0.5
    assert np.argmin(r.curve) == 3
    # several optimizers, several starts, all from the same starts
    results = tune("bowl", ["sgd", "adam"], steps=30, starts=4)
    assert [len(r.starts) for r in results] == [4, 4]
    np.testing.assert_array_equal(results[0].starts, results[1].starts)
    for r in results:
        assert r.value == np.nanmin(np.where(np.isfinite(r.curve), r.curve, np.inf))


def test_clipped_sweep_basins_and_tune_equal_separate_clipped_runs():
    """clip= clips every gradient as the simulation does (torch's clip_grad_*)."""
    res = sweep("rosenbrock", "adam", x="lr=0.01:0.3:4:log", y="beta1=0.5:0.9:3",
                start=(-1.5, 2.0), steps=40, clip="norm=1")
    assert res.clip.spec == "norm=1" and res.theory() is None
    for j, b1 in enumerate(res.y):
        for i, lr in enumerate(res.x):
            alone = run("rosenbrock", optsim.make_optimizer("adam", lr=float(lr), beta1=float(b1)),
                        (-1.5, 2.0), 40, clip="norm=1")
            assert res.metrics["final-loss"][j, i] == alone.losses[-1]
    plain = sweep("rosenbrock", "adam", x="lr=0.01:0.3:4:log", start=(-1.5, 2.0), steps=40)
    assert not np.array_equal(plain.values, res.metrics["final-loss"][0])
    b = basins("himmelblau", "momentum:lr=0.01", grid=9, steps=200, clip="value=1")
    for j, i in [(0, 0), (4, 4), (8, 3)]:
        alone = run("himmelblau", "momentum:lr=0.01", (b.x[i], b.y[j]), 200, clip="value=1")
        np.testing.assert_array_equal(b.ends[j, i], alone.positions[-1])
    # GD on x² from 3 with |g| clipped to 1: x moves by lr while |2x| > 1, so the tuned
    # lr is the grid's optimum of separately clipped runs, not the unclipped 0.5
    (r,) = tune("quadratic", "sgd", steps=5, start=[3.0], lr="lr=0.1:0.9:9", clip="value=1")
    finals = [run("quadratic", f"sgd:lr={float(lr)!r}", [3.0], 5, clip="value=1").losses[-1]
              for lr in r.lrs]
    assert r.lr == r.lrs[int(np.argmin(finals))] and r.value == min(finals)
    assert r.lr != 0.5
    from optsim.explore.tune import describe

    assert describe([r]).endswith("gradients clipped (value=1)")
    with pytest.raises(SweepInputError, match="clip must be"):
        tune("quadratic", "sgd", clip="max=1")


def test_sweep_over_a_schedule_matches_its_closed_form():
    from optsim.schedules import parse_schedule

    # GD on x² from 1 with StepLR: x_T = Π (1 − 2 lr_t), the lrs from the schedule itself
    res = sweep("quadratic", "sgd+steplr:step_size=5,gamma=0.5", x="lr=0.05:0.45:5",
                y="gamma=0.1:0.9:3", start=[1.0], steps=20)
    assert res.spec == "sgd+steplr:step_size=5,gamma=0.5"
    assert res.setting("gamma") == 0.5 and res.setting("lr") == 0.001
    for j, g in enumerate(res.y):
        for i, lr in enumerate(res.x):
            lrs, _ = parse_schedule(f"steplr:step_size=5,gamma={float(g)!r}").lrs(float(lr), 20)
            x = np.prod(1 - 2 * lrs)
            assert res.values[j, i] == pytest.approx(x * x, rel=1e-12, abs=1e-300)
    # a whole-number parameter of the schedule on an axis
    steps = sweep("quadratic", "sgd:lr=0.2+steplr:step_size=5", x="step_size=1:4:4",
                  start=[1.0], steps=8)
    for size, v in zip(steps.x, steps.values, strict=True):
        lrs, _ = parse_schedule(f"steplr:step_size={int(size)}").lrs(0.2, 8)
        assert v == pytest.approx(np.prod(1 - 2 * lrs) ** 2, rel=1e-12)


def test_sweep_with_a_cycled_momentum_equals_a_separate_loop():
    from optsim.schedules import parse_schedule

    spec = "onecyclelr:max_lr=0.2,total_steps=60"
    res = sweep("elongated-bowl", "momentum+" + spec, x="max_lr=0.02:0.2:4", start=(-1.0, 1.0),
                steps=60)
    fn = get_function("elongated-bowl")
    for max_lr, v in zip(res.x, res.values, strict=True):
        opt = optsim.make_optimizer("momentum")
        sched = parse_schedule(f"onecyclelr:max_lr={float(max_lr)!r},total_steps=60")
        lrs, moms = sched.lrs(opt.hp["lr"], 60, opt.hp["momentum"])
        p = np.array([[-1.0, 1.0]])
        state = opt.init(p)
        for t in range(60):
            p, state = opt.step(p, fn.gradient(p), state, lr=lrs[t], values={"momentum": moms[t]})
        assert v == fn.value(p)[0]


@pytest.mark.parametrize("optimizer, x, message", [
    ("sgd+onecyclelr:max_lr=0.1,total_steps=50", "max_lr=0.01:0.3:4", "ends at step 50"),
    ("sgd+steplr:step_size=5", "milestones=0:1:3", "known: lr, momentum"),
    ("sgd+onecyclelr:max_lr=0.1,total_steps=200", "max_lr=0.01:0.3:4", "cycles the momentum"),
    ("sgd+steplr:step_size=5", "step_size=0.5:3:4", "whole number"),
])
def test_bad_schedule_sweeps(optimizer, x, message):
    with pytest.raises(SweepInputError, match=message):
        plan_sweep("bowl", optimizer, x=x, steps=100)


def test_the_readme_example_runs(capsys):
    """The README's Python example of sweeps, basins and tuning, as printed there."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```python\n(import optsim\n\n# the rate of heavy-ball.*?)```", readme, re.S)
    exec(compile(block.group(1), "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "fastest: lr=" in out and "(101, 101)" in out


@pytest.mark.parametrize("sweep_field, message", [
    ({"y": "momentum=0:1:3"}, "sweep.x: is missing"),
    ({"x": "lr"}, "sweep.x: must be NAME=LO:HI:N[:log]"),
    ({"x": "lr=0.1:1:4", "steps": 0}, "sweep.steps: 0 is out of range"),
    ({"x": "lr=0.1:1:4", "starts": 1.5}, "sweep.starts: must be a whole number"),
    ({"x": "lr=0.1:1:4", "seeds": 0}, "sweep.seeds: 0 is out of range"),
    ({"x": "lr=0.1:1:4", "colour": "red"}, "sweep: unknown field 'colour'"),
    ({"x": "lr=0.1:1:4", "metric": "Fast!"}, "sweep.metric: must be a metric's name"),
])
def test_a_scenarios_sweep_settings_are_checked(sweep_field, message):
    from optsim.runset import RunSet, ScenarioError

    base = {"version": 1, "function": "bowl", "runs": [{"optimizer": "sgd"}]}
    good = RunSet.from_dict({**base, "sweep": {"x": "lr=0.1:1:4:log", "metric": "rate"}})
    assert good.sweep == {"x": "lr=0.1:1:4:log", "metric": "rate"}
    assert '"sweep"' in good.to_json() and '"sweep"' not in RunSet.from_dict(base).to_json()
    with pytest.raises(ScenarioError, match=message.replace("[", r"\[").replace("]", r"\]")):
        RunSet.from_dict({**base, "sweep": sweep_field})


@pytest.mark.parametrize("clip, lrs", [(None, "lr=0.0001:0.01:6:log"),
                                       ("norm=50", "lr=0.001:100:6:log")])
def test_runs_that_diverge_among_others_equal_separate_runs(clip, lrs):
    """Rosenbrock (its loss and gradient computed at once): the runs that diverge are
    frozen while the others go on, each as it runs alone (with or without clipping)."""
    res = sweep("rosenbrock", "sgd", x=lrs, start=(-1.5, 2.0), steps=60, clip=clip)
    assert 0 < res.metrics["diverged"].sum() < 6
    for i, lr in enumerate(res.x):
        alone = run("rosenbrock", f"sgd:lr={float(lr)!r}", (-1.5, 2.0), 60, clip=clip)
        assert bool(res.metrics["diverged"][i]) == bool(alone.diverged)
        assert res.metrics["best-loss"][i] == alone.losses.min()
        if not alone.diverged:
            assert res.metrics["final-loss"][i] == alone.losses[-1]
        else:
            assert res.metrics["diverged-step"][i] == alone.diverged_step
