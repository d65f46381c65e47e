"""The story of the preset of issue 17's practitioners' optimizers: Lion moves every
coordinate the same distance (elongated bowl, Lion against Adam)."""

from __future__ import annotations

import numpy as np

from optsim.scenarios import load_preset, run_scenario


def test_lion_moves_every_coordinate_the_same_distance() -> None:
    s = load_preset("lion-coordinates")
    assert s.function == "elongated-bowl" and s.steps == 150
    runs = {run.optimizer: (run, traj.positions[:, 0]) for run, traj in run_scenario(s)}
    assert set(runs) == {"lion", "adam"}
    lion_run, lion = runs["lion"]
    lr = lion_run.hyperparams["lr"]
    assert lr == 0.01 and runs["adam"][0].hyperparams["lr"] == 0.03
    steps = np.abs(np.diff(lion, axis=0))
    # every coordinate of every step: exactly lr (up to the rounding of the position)
    np.testing.assert_allclose(steps, lr, rtol=0, atol=1e-12)
    # a straight 45° line to the valley floor, although the valley is 3 times steeper in y
    np.testing.assert_allclose(lion[:101].sum(axis=1), -0.5, atol=1e-12)
    np.testing.assert_allclose(lion[100], [-0.5, 0.0], atol=1e-12)
    # its slow momentum carries y on past the floor, down to -0.5, before it turns
    assert lion[100:, 1].min() < -0.45 and np.linalg.norm(lion[-1]) > 0.3
    # Adam's coordinate steps shrink with the gradients; it settles in the minimum
    _, adam = runs["adam"]
    adam_steps = np.abs(np.diff(adam, axis=0))
    assert adam_steps[:, 1].max() / adam_steps[-20:, 1].max() > 100
    assert np.linalg.norm(adam[-1]) < 1e-2
    # Adam curves: it has lost most of its height in y when Lion has lost half of it
    k = 25
    assert abs(adam[k, 1]) < 0.4 < abs(lion[k, 1])
