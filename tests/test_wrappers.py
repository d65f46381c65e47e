"""Schedule-Free (schedulefree 1.4.1) and the Lookahead wrapper (pytorch-optimizer
4.1.0) against their references' golden files (tools/make_golden_wrappers.py; torch
is not needed here), the wrapper's spec syntax with schedules, per-row batches bit
for bit, the extra points (x, slow weights) and what the inspector shows of them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from optsim.engine import OPTIMIZERS, make_optimizer, optimizer_kind, parse_spec
from optsim.explain import evaluate, explain_step
from optsim.functions import get_function
from optsim.schedules import split_spec
from optsim.simulation import Trajectory, simulate

GOLDEN = Path(__file__).parent / "golden"
FILES = sorted((GOLDEN / "schedulefree").glob("*.npz")) + sorted(
    (GOLDEN / "lookahead").glob("*.npz"))
FIXED = [f for f in FILES if not f.name.startswith("lr_schedule__")]
SCHEDULED = [f for f in FILES if f.name.startswith("lr_schedule__")]
TOL = 1e-9


def _load(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    with np.load(path) as data:
        return json.loads(str(data["meta"])), {k: data[k] for k in data.files if k != "meta"}


def test_golden_files_cover_both_schedule_free_optimizers_and_several_bases() -> None:
    metas = [_load(f)[0] for f in FIXED]
    specs = {m["spec"] for m in metas}
    assert {"schedulefree-adamw", "schedulefree-sgd:lr=0.02"} <= specs
    for flag in ("warmup_steps", "r=", "weight_lr_power=0.0", "weight_decay", "momentum=0.5",
                 "beta1=0.5"):
        assert any(flag in s and "schedulefree" in s for s in specs), flag
    bases = {parse_spec(s).base.algorithm for s in specs if "+lookahead" in s}
    assert {"adam", "sgd", "rmsprop", "schedulefree-adamw"} <= bases
    assert {m["function"] for m in metas} == {"rosenbrock", "elongated-bowl", "bowl", "cubic"}
    assert len(SCHEDULED) == len(FIXED) // 4


@pytest.mark.parametrize("batch", ["one", "batch"])
@pytest.mark.parametrize("path", FIXED, ids=[f.stem for f in FIXED])
def test_trajectory_matches_the_reference(path: Path, batch: str) -> None:
    meta, arrays = _load(path)
    expected = arrays[f"positions_{batch}"]
    assert expected.shape[0] == 101, f"{path.name}: golden run was cut short"
    traj = Trajectory(meta["function"], meta["spec"], expected[0])
    traj.advance(100)
    assert not traj.diverged.any()
    np.testing.assert_allclose(traj.positions, expected, rtol=TOL, atol=TOL)
    if f"x_{batch}" in arrays:  # Schedule-Free's averaged point, as eval() puts it
        x = traj.extra_paths()["x"]
        np.testing.assert_allclose(x[1:], arrays[f"x_{batch}"][1:], rtol=TOL, atol=TOL)


@pytest.mark.parametrize("batch", ["one", "batch"])
@pytest.mark.parametrize("path", SCHEDULED, ids=[f.stem for f in SCHEDULED])
def test_a_learning_rate_changed_every_step_matches_the_reference(path: Path, batch: str) -> None:
    """param_group["lr"] set before each step (per run in the batch): Schedule-Free's
    warm-up, largest lr and weights of the average follow it as the reference's do."""
    meta, arrays = _load(path)
    expected = arrays[f"positions_{batch}"]
    assert expected.shape[0] == 101
    opt = parse_spec(meta["spec"])
    fn = get_function(meta["function"])
    rows = arrays["row_factors"][: expected.shape[1]]
    p = expected[0].copy()
    s = opt.init(p)
    got = [p]
    for k in range(100):
        lr = opt.hp["lr"] * arrays["lr_factors"][k] * (rows if batch == "batch" else 1.0)
        p, s = opt.step(p, fn.gradient(p), s, lr=lr)
        got.append(p)
    np.testing.assert_allclose(np.stack(got), expected, rtol=TOL, atol=TOL)


# ---------------------------------------------------------------------------
# the wrapper's syntax


def test_lookahead_is_written_after_the_optimizer_and_combines_with_schedules() -> None:
    opt = parse_spec("adam:lr=0.01+lookahead:k=3,alpha=0.4")
    assert opt.name == "adam+lookahead" and opt.base.name == "adam"
    assert opt.hp["lr"] == 0.01 and opt.hp["lookahead_k"] == 3
    assert opt.hp["lookahead_alpha"] == 0.4
    assert opt.spec == "adam:lr=0.01+lookahead:k=3,alpha=0.4"
    assert parse_spec(opt.spec) == opt
    assert parse_spec("momentum+lookahead").spec == "momentum+lookahead"
    spec, schedule = split_spec("sgd:lr=0.1+lookahead:k=5+steplr:step_size=10")
    assert spec == "sgd:lr=0.1+lookahead:k=5" and schedule.spec == "steplr:step_size=10"
    # the schedule drives the wrapped optimizer's lr, as torch's scheduler on Lookahead
    t = Trajectory("bowl", "sgd:lr=0.1+lookahead:k=5+steplr:step_size=3,gamma=0.5", [[1.0, 1.0]])
    t.advance(7)
    np.testing.assert_allclose([t.lr_at(k)[0] for k in (1, 4, 7)], [0.1, 0.05, 0.025])
    assert optimizer_kind("adam+lookahead").display_name == "Adam + Lookahead"
    assert "adam+lookahead" not in OPTIMIZERS  # lists show each optimizer once


@pytest.mark.parametrize("spec,message", [
    ("adam+lookahed", "unknown schedule 'lookahed'"),
    ("adam:lr=0.1+lookahead:k=0", "k=0 is out of range"),
    ("adam+lookahead:alpha=2", "alpha=2 is out of range"),
    ("adam+lookahead:beta=2", "unknown hyperparameter 'beta'"),
    ("adam+lookahead+lookahead", "lookahead is given twice"),
])
def test_malformed_wrapper_specs_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        simulate("bowl", spec, [1.0, 1.0], 3)


def test_lookahead_pulls_every_kth_step_and_is_the_base_in_between() -> None:
    start = np.array([[1.5, -1.0]])
    fn = get_function("elongated-bowl")
    wrapped = parse_spec("sgd:lr=0.05+lookahead:k=4,alpha=0.25")
    base = parse_spec("sgd:lr=0.05")
    p, s = start, wrapped.init(start)
    q, r = start, base.init(start)
    slow = start.copy()
    for t in range(1, 13):
        p, s = wrapped.step(p, fn.gradient(p), s)
        q, r = base.step(q, fn.gradient(q), r)
        if t % 4 == 0:
            slow = slow + 0.25 * (q - slow)
            q = slow.copy()
        np.testing.assert_allclose(p, q, rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(s.slow_params, slow, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("base", ["sgd", "momentum", "adam", "rmsprop", "schedulefree-adamw"])
def test_a_batch_with_per_row_k_and_alpha_is_the_separate_runs_bit_for_bit(base: str) -> None:
    n = 5
    k, alpha = np.array([1, 2, 3, 5, 4]), np.array([0.0, 0.3, 0.5, 0.9, 1.0])
    lr = np.array([0.01, 0.05, 0.002, 0.02, 0.1])
    batch = optimizer_kind(f"{base}+lookahead").create(lr=lr, lookahead_k=k,
                                                       lookahead_alpha=alpha)
    rng = np.random.default_rng(3)
    params = rng.uniform(-2, 2, (n, 2))
    grads = [rng.standard_normal((n, 2)) for _ in range(11)]
    p, s = params, batch.init(params)
    path = [p]
    for g in grads:
        p, s = batch.step(p, g, s)
        path.append(p)
    for i in range(n):
        alone = batch.row(i)
        assert alone.spec.startswith(base) and parse_spec(alone.spec) == alone
        q, r = params[i:i + 1], alone.init(params[i:i + 1])
        for j, g in enumerate(grads):
            q, r = alone.step(q, g[i:i + 1], r)
            assert np.array_equal(q[0], path[j + 1][i]), (i, j)


def test_the_extra_points_are_declared_by_the_optimizer_not_looked_up_by_name() -> None:
    assert make_optimizer("adam").traits.points == ()
    sf = make_optimizer("schedulefree-adamw")
    assert [p.key for p in sf.traits.points] == ["x"]
    la = parse_spec("schedulefree-sgd:lr=0.02+lookahead")
    assert [p.key for p in la.traits.points] == ["slow_params", "x"]
    t = Trajectory("rosenbrock", "schedulefree-sgd:lr=0.0002+lookahead:k=3", [[-1.5, 2.0]])
    t.advance(9)
    paths = t.extra_paths()
    assert set(paths) == {"slow_params", "x"} and paths["x"].shape == (10, 1, 2)
    np.testing.assert_array_equal(paths["slow_params"][9], t.state.slow_params)
    # x = (y − (1 − β) z) / β, the point y = (1 − β) z + β x is between
    y, z = t.positions[9], t.state.z
    np.testing.assert_allclose(paths["x"][9], (y - 0.1 * z) / 0.9, rtol=1e-12)
    assert Trajectory("bowl", "adam", [[1.0, 1.0]]).extra_paths() == {}


def test_the_inspector_shows_y_z_and_x_and_the_equations_give_the_step() -> None:
    t = Trajectory("rosenbrock", "schedulefree-adamw:lr=0.05,warmup_steps=3", [[-1.5, 2.0]])
    t.advance(6)
    for k in (2, 3, 6):
        e = explain_step(t, k)
        rows = {r.key: r for r in e.rows}
        assert rows["position"].symbol == f"y<sub>{k}</sub>"
        np.testing.assert_array_equal(rows["z"].value, t.state_at(k).z[0])
        np.testing.assert_array_equal(rows["x"].value, t.extra_paths()["x"][k, 0])
        subs = {s.key: s for s in e.substituted}
        assert evaluate(subs["scheduled_lr"].rhs_text) == pytest.approx(0.05 * min(1, k / 3))
        np.testing.assert_allclose(subs["w"].value, t.positions[k, 0], rtol=1e-5)
    assert "x" in e.note and "y" in e.note and "z" in e.note


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_lookaheads_equations_reproduce_the_step_with_the_pull(k: int) -> None:
    t = Trajectory("elongated-bowl", "adam:lr=0.1+lookahead:k=2,alpha=0.5", [[-1.0, 1.0]])
    t.advance(4)
    e = explain_step(t, k, digits=None)
    subs = {s.key: s for s in e.substituted}
    assert ("slow_params" in subs) == (k % 2 == 0)
    np.testing.assert_allclose(subs["w"].value, t.positions[k, 0], rtol=1e-12)
    rows = {r.key: r.value for r in e.rows}
    np.testing.assert_array_equal(rows["slow_params"], t.state_at(k).slow_params[0])
    info = t.explain(k)
    np.testing.assert_allclose(info["update"], -info["effective_lr"] * info["direction"],
                               rtol=1e-10, atol=1e-12)
