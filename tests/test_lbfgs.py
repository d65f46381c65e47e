"""L-BFGS against torch.optim.LBFGS, from the golden files tools/make_golden_closure.py
wrote with torch 2.13 (torch itself is not needed here): the outer steps, every point
the closure was evaluated at, batches of runs with inner loops of their own lengths,
and what the inspector and the window show of a step's inner points."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from optsim.engine import make_optimizer, parse_spec
from optsim.engine.linesearch import ITERATE, TRIAL, add, cubic_interpolate, dot, fma
from optsim.explain import explain_step
from optsim.functions import get_function
from optsim.simulation import Trajectory, simulate

GOLDEN = Path(__file__).parent / "golden" / "closure"
FILES = sorted(GOLDEN.glob("*.npz"))
TOL = 1e-9


def _load(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    with np.load(path) as data:
        meta = json.loads(str(data["meta"]))
        arrays = {k: data[k] for k in data.files if k != "meta"}
    return meta, arrays


def test_golden_set_covers_defaults_line_search_and_every_setting():
    metas = [_load(f)[0] for f in FILES]
    specs = {m["spec"] for m in metas}
    assert {"lbfgs", "lbfgs:line_search_fn=strong_wolfe"} <= specs
    for key in ("lr", "max_iter", "max_eval", "history_size", "tolerance_grad",
                "tolerance_change"):
        assert any(key + "=" in s for s in specs), key
    assert {m["function"] for m in metas} >= {"rosenbrock", "elongated-bowl", "bowl", "cubic"}
    assert all(m["torch"].startswith("2.13") for m in metas)
    assert len(FILES) >= 24


@pytest.mark.parametrize("batch", ["one", "batch"])
@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_trajectory_matches_torch(path: Path, batch: str):
    meta, arrays = _load(path)
    expected = arrays[f"positions_{batch}"]
    steps = expected.shape[0] - 1
    assert steps >= 4, f"{path.name}: golden run was cut short"
    traj = Trajectory(meta["function"], meta["spec"], expected[0])
    traj.advance(steps)
    assert not traj.diverged.any()
    np.testing.assert_allclose(traj.positions, expected, rtol=TOL, atol=TOL)


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_the_closure_is_evaluated_where_torch_evaluates_it(path: Path):
    """Every step's evaluations, in order: the start of the step, then the line
    search's trial points (or, without one, each inner iterate but the last)."""
    meta, arrays = _load(path)
    expected = arrays["positions_one"]
    traj = Trajectory(meta["function"], meta["spec"], expected[0])
    traj.advance(expected.shape[0] - 1)
    got, got_step = [], []
    for k in range(1, traj.steps + 1):
        info = traj.explain(k)
        got.append(traj.positions[k - 1, 0])
        got_step.append(k)
        kinds = info["inner_kinds"][0]
        pts = info["inner_points"][0]
        vals = info["inner_values"][0]
        for kind, p, v in zip(kinds, pts, vals, strict=True):
            # trial points are evaluated; iterates only without a line search, and
            # not the last inner iteration's
            if kind == TRIAL or (kind == ITERATE and not traj.optimizer.hp["line_search_fn"]
                                 and not np.isnan(v)):
                got.append(p)
                got_step.append(k)
    np.testing.assert_array_equal(got_step, arrays["evaluated_step"])
    np.testing.assert_allclose(np.array(got), arrays["evaluated_one"], rtol=TOL, atol=TOL)


def test_simulate_returns_the_outer_steps():
    meta, arrays = _load(GOLDEN / "lbfgs_line_search_fn=strong_wolfe__rosenbrock.npz")
    expected = arrays["positions_one"][:, 0]
    got = simulate("rosenbrock", meta["spec"], expected[0], expected.shape[0] - 1)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=TOL, atol=TOL)


def test_line_search_on_rosenbrock_reaches_the_minimum_in_a_dozen_steps():
    """Four inner iterations per step (the preset's setting): within 1e-3 of (1, 1)
    at step 12, where Adam at its best lr is still in the valley."""
    path = simulate("rosenbrock", "lbfgs:line_search_fn=strong_wolfe,max_iter=4",
                    [-1.5, 2.0], 20)
    err = np.linalg.norm(path - [1.0, 1.0], axis=1)
    assert err[11] > 1e-3 and err[12] < 1e-3 and err[-1] < 1e-5
    # torch's default max_eval = max_iter·5//4: one inner iteration leaves the line
    # search no evaluation beyond its first, and the run stays where it is
    stuck = simulate("rosenbrock", "lbfgs:line_search_fn=strong_wolfe,max_iter=1",
                     [-1.5, 2.0], 20)
    assert np.linalg.norm(stuck[-1] - [1.0, 1.0]) > 1.0


def test_a_batch_with_rows_of_different_inner_loops_is_the_runs_alone():
    fn = get_function("rosenbrock")
    starts = np.array([[-1.5, 2.0], [0.0, 0.0], [1.5, 1.5], [-0.5, 2.5], [1.0, 1.0]])
    values = {"max_iter": np.array([20, 3, 1, 7, 20]), "history_size": np.array([100, 2, 5, 1, 3]),
              "lr": np.array([1.0, 0.5, 0.2, 1.0, 1.0])}
    batch = make_optimizer("lbfgs", line_search_fn="strong_wolfe", **values)
    t = Trajectory(fn, batch, starts)
    t.advance(6)
    evals = [t.explain(k)["evaluations"][:, 0] for k in range(1, 7)]
    assert len({tuple(e) for e in evals}) > 1 and len(set(evals[0])) > 1  # own loop lengths
    for i in range(len(starts)):
        alone = Trajectory(fn, batch.row(i), starts[i:i + 1])
        alone.advance(6)
        assert np.array_equal(alone.positions[:, 0], t.positions[:, i])
        for k in (1, 3):
            mine = alone.explain(k)["inner_points"][0]
            assert np.array_equal(mine, t.explain(k)["inner_points"][i][:len(mine)],
                                  equal_nan=True)


def test_line_search_fn_is_written_as_torch_writes_it():
    opt = parse_spec("lbfgs:line_search_fn=strong_wolfe")
    assert opt.hp["line_search_fn"] is True
    assert opt.spec == "lbfgs:line_search_fn=strong_wolfe"
    assert parse_spec("lbfgs:line_search_fn=none") == make_optimizer("lbfgs")
    assert make_optimizer("lbfgs", line_search_fn=None) == make_optimizer("lbfgs")
    with pytest.raises(ValueError, match="none or strong_wolfe"):
        parse_spec("lbfgs:line_search_fn=backtracking")
    with pytest.raises(ValueError, match="history_size"):
        parse_spec("lbfgs:history_size=0")


def test_inspector_lists_the_inner_points_of_the_step():
    t = Trajectory("rosenbrock", "lbfgs:line_search_fn=strong_wolfe", [[-1.5, 2.0]])
    t.advance(2)
    e = explain_step(t, 2)
    (heading, lines), = e.sections
    assert heading == "Inside this step"
    info = t.explain(2)
    iters = int(info["iterations"][0, 0])
    assert lines[0].startswith(f"{iters} inner iterations, {int(info['evaluations'][0, 0])} "
                               "function evaluations; stopped:")
    assert sum(line.startswith("iterate ") for line in lines) == iters
    assert any("trial t = " in line for line in lines)
    last = t.positions[2, 0]
    assert f"iterate {iters}: ({last[0]:.6g}, {last[1]:.6g})" in " ".join(lines)
    # every state array is kept out of the table (the memory is a history of vectors)
    assert not {r.key for r in e.rows} & set(t.state._fields)


def test_fused_multiply_add_rounds_once():
    # 1 + 2⁻⁵³ is not a float: rounded twice the product (1 + 2⁻²⁷)² loses its 2⁻⁵⁴
    a = 1.0 + 2.0**-27
    assert fma(a, a, -1.0) == 2.0**-26 + 2.0**-54
    assert a * a - 1.0 == 2.0**-26
    assert fma(0.1, 10.0, -1.0) == 2.0**-54  # 0.1·10 − 1 exactly
    assert np.isnan(fma(np.inf, 0.0, 1.0)) and fma(1e308, 10.0, 0.0) == np.inf
    np.testing.assert_array_equal(add(np.array([1.0, -1.0]), np.array([a, a]), a),
                                  [fma(a, a, 1.0), fma(a, a, -1.0)])
    assert dot(np.array([1e16, 1.0]), np.array([1.0, 1.0])) == 1e16  # in order


def test_cubic_interpolation_finds_a_cubics_minimum():
    """f(x) = x³ − 3x: minimum at 1; through x = 0 and x = 2 with their slopes."""
    f = lambda x: x**3 - 3 * x  # noqa: E731
    g = lambda x: 3 * x**2 - 3  # noqa: E731
    assert cubic_interpolate(0.0, f(0.0), g(0.0), 2.0, f(2.0), g(2.0)) == pytest.approx(1.0)
    assert cubic_interpolate(2.0, f(2.0), g(2.0), 0.0, f(0.0), g(0.0)) == pytest.approx(1.0)
    # clamped to the bounds; no minimum: the middle of them
    assert cubic_interpolate(0.0, f(0.0), g(0.0), 2.0, f(2.0), g(2.0), (1.5, 3.0)) == 1.5
    assert cubic_interpolate(0.0, 0.0, 2.0, 1.0, 4 / 3, 2.0, (0.0, 4.0)) == 2.0


def test_the_fused_multiply_add_in_use_is_exact_on_random_numbers():
    """libm's fma (when the C library has a correct one) against exact integers."""
    from optsim.engine.linesearch import exact_fma

    rng = np.random.default_rng(3)
    for a, b, c in rng.standard_normal((2000, 3)) * 10.0 ** rng.integers(-30, 30, (2000, 3)):
        a, b, c = float(a), float(b), float(c)
        assert fma(a, b, c) == exact_fma(a, b, c)
