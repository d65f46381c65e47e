"""Training loops against torch: optimizer + learning-rate scheduler (+ gradient
clipping) trajectories from tools/make_golden_schedules.py, replayed through
optsim.simulation without torch and compared at 1e-9; each step's learning rate too.

The files cover SGD (with momentum switched on by OneCycleLR's momentum cycling),
the Adam family with beta1 cycled (Adam, AdamW, NAdam, Adamax with restarts), RMSprop
with its momentum cycled, Adagrad and Adadelta with a changing lr, ReduceLROnPlateau
fed the loss where each step's gradient was taken (per row), and clipping by norm and
by value alone and with a schedule."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from optsim.schedules import split_spec
from optsim.simulation import Trajectory, run

GOLDEN = Path(__file__).parent / "golden" / "schedules"
FILES = sorted(GOLDEN.glob("run__*.npz"))
TOL = 1e-9


def _load(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    with np.load(path) as data:
        return json.loads(str(data["meta"])), {k: data[k] for k in data.files if k != "meta"}


def test_golden_runs_cover_schedules_optimizers_and_clipping() -> None:
    metas = [_load(f)[0] for f in FILES]
    optimizers = {m["spec"].split(":")[0].split("+")[0] for m in metas}
    assert {"sgd", "adam", "adamw", "nadam", "adamax", "radam", "rmsprop", "adagrad",
            "adadelta"} <= optimizers
    schedules = {split_spec(m["spec"])[1].name for m in metas if "+" in m["spec"]}
    assert {"onecyclelr", "cycliclr", "reducelronplateau", "sequentiallr", "chainedscheduler",
            "warmup-cosine", "wsd", "steplr", "multisteplr"} <= schedules
    clips = {m["clip"].split("=")[0] for m in metas if m["clip"]}
    assert clips == {"norm", "value"}


@pytest.mark.parametrize("batch", ["one", "batch"])
@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_training_loop_matches_torch(path: Path, batch: str) -> None:
    meta, arrays = _load(path)
    expected = arrays[f"positions_{batch}"]
    steps = expected.shape[0] - 1
    traj = Trajectory(meta["function"], meta["spec"], expected[0], clip=meta["clip"] or None)
    traj.advance(steps)
    assert not traj.diverged.any()
    np.testing.assert_allclose(traj.positions, expected, rtol=TOL, atol=TOL)
    if traj.schedule is not None:
        lrs = traj.dynamics.history(steps)["lr"]
        np.testing.assert_allclose(lrs, arrays[f"lr_{batch}"], rtol=1e-12, atol=1e-15)
        for k in (1, steps // 2, steps):
            np.testing.assert_array_equal(traj.lr_at(k), lrs[k - 1])


def test_steps_split_into_many_advances_are_the_same() -> None:
    spec = "sgd:lr=1.0+reducelronplateau:patience=3,factor=0.5"
    meta, arrays = _load(next(f for f in FILES if f.name.startswith("run__sgd_lr=1.0_reduce")))
    one = Trajectory(meta["function"], spec, arrays["positions_batch"][0])
    for _ in range(20):
        one.advance(5)
    np.testing.assert_allclose(one.positions, arrays["positions_batch"], rtol=TOL, atol=TOL)


def test_clipping_is_recorded_and_explained() -> None:
    t = Trajectory("steep-cliff", "sgd:lr=0.1", [[2.8], [-1.0]], clip="norm=1.0")
    t.advance(40)
    flags = np.array([t.clipped_at(k) for k in range(1, 41)])
    assert flags[:, 0].any() and not flags[:, 1].any()  # only the run over the cliff
    k = int(np.argmax(flags[:, 0])) + 1
    info = t.explain(k)
    raw = info["unclipped_grad"][0]
    assert np.linalg.norm(raw) > 1.0
    np.testing.assert_allclose(np.linalg.norm(info["grad"][0]), 1.0, rtol=1e-5)
    assert info["clipped"][0, 0] == 1.0 and info["clipped"][1, 0] == 0.0
    g, acted = t.clipped_gradient(k - 1)
    np.testing.assert_allclose(g, info["grad"])
    assert acted.tolist() == [True, False]


def test_explain_uses_the_steps_learning_rate() -> None:
    t = Trajectory("bowl", "adam:lr=0.05+onecyclelr:max_lr=0.1,total_steps=30", [[-1.5, 1.5]])
    t.advance(30)
    for k in (1, 10, 30):
        info = t.explain(k)
        np.testing.assert_allclose(info["update"], t.positions[k] - t.positions[k - 1],
                                   rtol=1e-12, atol=1e-15)
        assert info["lr_t"][0, 0] == t.lr_at(k)[0]
    assert t.lr_at(1)[0] == pytest.approx(0.1 / 25)


def test_schedule_past_its_end_is_a_clear_error() -> None:
    t = Trajectory("bowl", "sgd+onecyclelr:max_lr=0.1,total_steps=10", [[1.0, 1.0]])
    t.advance(10)
    with pytest.raises(ValueError, match="ends at step 10"):
        t.advance(1)
    assert t.steps == 10
    with pytest.raises(ValueError, match="ends at step 10"):
        run("bowl", "sgd+onecyclelr:max_lr=0.1,total_steps=10", (1.0, 1.0), 11)


def test_schedule_given_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="given twice"):
        Trajectory("bowl", "sgd+steplr:step_size=3", [[1.0, 1.0]], schedule="steplr:step_size=4")


def test_cyclic_schedule_on_adagrad_needs_cycle_momentum_off() -> None:
    with pytest.raises(ValueError, match="cycle_momentum=false"):
        Trajectory("bowl", "adagrad+onecyclelr:max_lr=0.1,total_steps=10", [[1.0, 1.0]])
    Trajectory("bowl", "adagrad+onecyclelr:max_lr=0.1,total_steps=10,cycle_momentum=false",
               [[1.0, 1.0]]).advance(10)


def test_inspector_shows_the_steps_lr_and_the_raw_gradient() -> None:
    from optsim.explain import explain_step

    t = Trajectory("elongated-bowl", "adam:lr=0.05+onecyclelr:max_lr=0.1,total_steps=40",
                   [[-1.0, 1.0]], clip="norm=0.5")
    t.advance(20)
    ex = explain_step(t, 10, digits=None)
    rows = {r.key: r for r in ex.rows}
    assert rows["lr_t"].value[0] == t.lr_at(10)[0]
    assert "onecyclelr" in rows["lr_t"].hint
    # the equations' alpha and beta1 are step 10's, and they reproduce the step
    assert ex.optimizer.hp["lr"] == t.lr_at(10)[0]
    assert ex.optimizer.hp["beta1"] == t.dynamics.values_at(10)["beta1"][0]
    np.testing.assert_allclose(rows["unclipped_grad"].value, t.gradient_at(9)[0])
    assert "acted" in rows["unclipped_grad"].hint
    for sub in ex.substituted:
        if sub.expected is not None:
            np.testing.assert_allclose(sub.value, sub.expected, rtol=1e-9, atol=1e-12)
