"""optsim's trajectories against torch.optim's, from the golden files that
tools/make_golden.py wrote with torch (torch itself is not needed here).

Data-driven like torch's own optimizer tests: every golden file is one optimizer
configuration × one loss function, holding one run alone and a batch of runs
stepped together; each is replayed through optsim.simulation and compared at
1e-9 relative + absolute.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from optsim.engine import OPTIMIZERS, parse_spec
from optsim.functions import LossFunction, get_function
from optsim.simulation import Trajectory, simulate

GOLDEN = Path(__file__).parent / "golden"
FILES = sorted(GOLDEN.glob("*.npz"))
#: the lr changes before every step, per run in the batch (tools/make_golden.py)
SCHEDULE_FILES = sorted((GOLDEN / "lr_schedule").glob("*.npz"))
TOL = 1e-9


def _load(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    with np.load(path) as data:
        meta = json.loads(str(data["meta"]))
        arrays = {k: data[k] for k in data.files if k != "meta"}
    return meta, arrays


#: optimizers whose golden files are in a folder of their own, with their tests
#: (tests/golden/schedulefree, tests/test_wrappers.py: they also hold the averaged x)
ELSEWHERE = {"schedulefree-sgd": "schedulefree", "schedulefree-adamw": "schedulefree"}


def _registered() -> set[str]:
    """The algorithms of the registered built-ins (not plug-ins a test loaded), but
    for those with golden files elsewhere: Schedule-Free's (ELSEWHERE) and the
    optimizers that evaluate the loss themselves (tests/test_closure_optimizers.py)."""
    return {kind.cls.algorithm for kind in OPTIMIZERS.values()
            if not getattr(kind.cls, "plugin", False) and not kind.cls.needs_closure} \
        - set(ELSEWHERE)


def test_golden_set_covers_every_optimizer_and_function() -> None:
    metas = [_load(f)[0] for f in FILES]
    algorithms = {parse_spec(m["spec"]).algorithm for m in metas}
    assert algorithms == _registered()
    for algorithm, folder in ELSEWHERE.items():
        assert any(_load(f)[0]["spec"].startswith(algorithm)
                   for f in (GOLDEN / folder).glob("*.npz")), algorithm
    assert {m["function"] for m in metas} >= {"rosenbrock", "elongated-bowl", "cubic", "bowl"}
    # every configuration on every function: as many files for each function
    per_function = {f: sum(m["function"] == f for m in metas) for f in {m["function"] for m in metas}}
    assert len(set(per_function.values())) == 1, per_function
    # defaults and non-default settings of each algorithm
    specs = {m["spec"] for m in metas}
    for flag in ("nesterov=true", "dampening", "centered=true", "amsgrad=true", "lr_decay",
                 "initial_accumulator_value", "momentum_decay", "decoupled_weight_decay=true",
                 "rmsprop:lr=0.001,momentum"):
        assert any(flag in s for s in specs), flag
    assert {"sgd", "adam", "adamw", "adagrad", "rmsprop", "adamax", "nadam", "radam",
            "adadelta"} <= specs
    assert len(FILES) >= 120
    # (about 12 kB a configuration and function: the optimizers of issue 17 double the set)
    assert sum(f.stat().st_size for f in GOLDEN.iterdir()) < 4_000_000


@pytest.mark.parametrize("batch", ["one", "batch"])
@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_trajectory_matches_torch(path: Path, batch: str) -> None:
    meta, arrays = _load(path)
    expected = arrays[f"positions_{batch}"]  # (steps+1, N, D)
    steps = expected.shape[0] - 1
    assert steps == 100, f"{path.name}: golden run was cut short"
    traj = Trajectory(meta["function"], meta["spec"], expected[0])
    traj.advance(steps)
    assert not traj.diverged.any()
    np.testing.assert_allclose(traj.positions, expected, rtol=TOL, atol=TOL)


@pytest.mark.parametrize("path", [f for f in FILES if "rosenbrock" in f.name][:12],
                         ids=lambda p: p.stem)
def test_simulate_of_one_start_matches_torch(path: Path) -> None:
    meta, arrays = _load(path)
    expected = arrays["positions_one"][:, 0]  # (steps+1, D)
    got = simulate(meta["function"], meta["spec"], expected[0], expected.shape[0] - 1)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=TOL, atol=TOL)


def test_lr_schedule_set_covers_every_configuration() -> None:
    metas = [_load(f)[0] for f in SCHEDULE_FILES]
    assert {m["spec"] for m in metas} == {_load(f)[0]["spec"] for f in FILES
                                          if _load(f)[0]["function"] == "bowl"}
    assert {parse_spec(m["spec"]).algorithm for m in metas} == _registered()


@pytest.mark.parametrize("batch", ["one", "batch"])
@pytest.mark.parametrize("path", SCHEDULE_FILES, ids=[f.stem for f in SCHEDULE_FILES])
def test_a_learning_rate_changed_every_step_matches_torch(path: Path, batch: str) -> None:
    """torch with ``param_group["lr"]`` set before each ``step()`` (in the batch, one
    group per run with an lr of its own): the same state, stepped with ``lr=``."""
    meta, arrays = _load(path)
    expected = arrays[f"positions_{batch}"]
    steps = expected.shape[0] - 1
    assert steps == 100, f"{path.name}: golden run was cut short"
    opt = parse_spec(meta["spec"])
    fn = get_function(meta["function"])
    base = opt.hp["lr"]
    rows = arrays["row_factors"][: expected.shape[1]]
    p = expected[0].copy()
    s = opt.init(p)
    got = [p]
    for k in range(steps):
        factor = arrays["lr_factors"][k]
        lr = base * factor * rows if batch == "batch" else base * factor
        p, s = opt.step(p, fn.gradient(p), s, lr=lr)
        got.append(p)
    np.testing.assert_allclose(np.stack(got), expected, rtol=TOL, atol=TOL)


def test_spec_in_golden_file_round_trips() -> None:
    for path in FILES:
        meta, _ = _load(path)
        opt = parse_spec(meta["spec"])
        assert parse_spec(opt.spec) == opt, path.name


def _cliff_value(p: np.ndarray) -> np.ndarray:
    x, y = p[:, 0], p[:, 1]
    return np.where(x <= 3.0, y**2 - x, np.nan)


#: a slope up to a cliff at x = 3 beyond which the loss is undefined: a run that
#: crosses it diverges mid-way, with its optimizer state already built up
CLIFF = LossFunction(
    "cliff", 2, value=_cliff_value,
    gradient=lambda p: np.stack([-np.ones(len(p)), 2 * p[:, 1]], axis=1),
    view=((-4.0, 4.0), (-4.0, 4.0)), start=(0.0, 1.0),
)


@pytest.mark.parametrize("spec", ["adam:lr=0.05", "sgd:lr=0.01,momentum=0.9", "rmsprop:lr=0.1",
                                  "nadam:lr=0.1", "radam:lr=0.5", "adagrad:lr=1.0",
                                  "adadelta:lr=50", "adamax:lr=0.1", "adamw:lr=0.05"])
def test_divergence_in_one_run_leaves_the_others_exactly_as_alone(spec: str) -> None:
    starts = np.array([[-60.0, 1.0], [1.0, -2.0], [-60.0, 0.5], [-70.0, 3.0]])
    together = Trajectory(CLIFF, spec, starts)
    together.advance(60)
    assert together.diverged.tolist() == [False, True, False, False]
    k = together.diverged_step[1]
    assert 2 <= k <= 60
    # the diverged run is frozen where it was before crossing
    assert (together.positions[k - 1 :, 1] == together.positions[k - 1, 1]).all()
    assert together.positions[k - 1, 1, 0] <= 3.0
    for i in (0, 2, 3):
        alone = Trajectory(CLIFF, spec, starts[i : i + 1])
        alone.advance(60)
        assert not alone.diverged.any()
        np.testing.assert_array_equal(together.positions[:, i], alone.positions[:, 0])
        np.testing.assert_array_equal(together.losses[:, i], alone.losses[:, 0])
