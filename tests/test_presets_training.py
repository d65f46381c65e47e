"""The training-dynamics presets tell their stories: warm-up, schedules on a noisy
valley, the noise floor, batch size and the fan, clipping at a cliff."""

from __future__ import annotations

import numpy as np

from optsim.scenarios import load_preset, run_scenario


def _results(name: str) -> dict:
    return {run.name: (run, traj) for run, traj in run_scenario(load_preset(name))}


def test_warmup_matters() -> None:
    r = _results("warmup")
    (_, cold), (warm_run, warm) = r["Adam, no warm-up"], r["Adam, 30 steps of linear warm-up"]
    start = cold.losses[0, 0]
    assert cold.losses[:, 0].max() > 10 * start          # thrown up the wall
    assert warm.losses[:, 0].max() < 1.1 * start         # barely rises
    assert warm.losses[-1, 0] < cold.losses[-1, 0] / 10  # and ends far lower
    lrs = warm.dynamics.history(warm.steps)["lr"][:, 0]
    assert lrs[0] == 0.5 * 0.02 and abs(lrs[30] - 0.5) < 1e-12
    assert warm_run.schedule.startswith("linearlr")


def test_schedules_beat_a_constant_lr_on_a_noisy_valley() -> None:
    r = _results("schedules-valley")
    median = {name: float(np.median(t.losses[-1])) for name, (_, t) in r.items()}
    for name in ("StepLR", "CosineAnnealingLR", "OneCycleLR"):
        assert median[name] < median["constant lr"] / 4, (name, median)
    one = r["OneCycleLR"][1].dynamics.history(200)["lr"][:, 0]
    assert int(np.argmax(one)) in range(55, 62) and one.max() == 0.02  # warms up, then anneals
    assert all(t.n == 32 for _, t in r.values())


def test_noise_floor_and_a_decaying_schedule_below_it() -> None:
    r = _results("noise-floor")
    const = r["constant lr 0.1"][1].losses
    decay = r["ExponentialLR, γ = 0.98"][1].losses
    # the constant run's median loss stops falling: a floor, the same at 100 and 200 steps
    m100, m200 = np.median(const[100]), np.median(const[200])
    assert 0.5 < m200 / m100 < 2 and m200 > 0.01
    assert np.median(decay[-1]) < m200 / 8


def test_bigger_batch_narrows_the_fan() -> None:
    r = _results("batch-size")
    small, big = r["batch of 2"][1], r["batch of 32"][1]
    spread = [float(np.linalg.norm(t.positions[-1].std(axis=0))) for t in (small, big)]
    assert spread[0] > 4 * spread[1]
    fn = small.function
    assert np.median(big.losses[-1]) < fn.minimum_values[0] * 1.01


def test_clipping_changes_the_path_at_the_cliff() -> None:
    r = _results("clip-cliff")
    raw, clipped = r["no clipping"][1], r["clipped to norm 1"][1]
    jumps = [np.abs(np.diff(t.positions[:, 0, 0])).max() for t in (raw, clipped)]
    assert jumps[0] > 3 and jumps[1] <= 0.2 + 1e-12
    (x0, x1), _ = raw.function.view
    assert raw.positions[:, 0, 0].min() < x0                  # flung out of the view
    assert x0 <= clipped.positions[:, 0, 0].min()             # never leaves it
    flags = clipped.dynamics.history(clipped.steps)["clipped"][:, 0]
    assert flags[:5].all() and not flags[-10:].any()          # clipping acts, then stops
