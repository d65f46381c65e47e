"""The course's presets: every one loads, runs, and tells its story."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import optsim.scenarios as scenarios
from optsim.functions import get_function
from optsim.scenarios import list_presets, load_preset, preset_path, run_scenario

EXPECTED = {"local-minimum", "momentum-speedup", "zigzag-bowl", "elongated-valley", "adam",
            "beale", "saddle", "himmelblau", "rastrigin", "himmelblau-basins", "cubic-escape",
            # training dynamics (their stories: tests/test_presets_training.py)
            "warmup", "schedules-valley", "noise-floor", "batch-size", "clip-cliff",
            # second-order methods (their stories: tests/test_presets_secondorder.py)
            "lbfgs-rosenbrock", "newton-bowl", "newton-saddle",
            # geometry (its story: tests/test_geometry.py)
            "edge-of-stability"}
# issue 17's optimizers, one line each (helper "torchrest": Muon)
EXPECTED |= {"muon-vector"}
EXPECTED |= {"schedulefree"}  # (its story: tests/test_gui_wrappers.py)
EXPECTED |= {"lion-coordinates"}  # (its story: tests/test_presets_practitioners.py)
REPO = Path(__file__).resolve().parent.parent


def _runs(name: str) -> dict[str, np.ndarray]:
    """Positions (steps+1, D) of each run of a preset, by run name."""
    return {run.name: traj.positions[:, 0] for run, traj in run_scenario(load_preset(name))}


def _straightness(p: np.ndarray) -> float:
    """Path length over straight-line distance (1 = a straight line)."""
    return float(np.linalg.norm(np.diff(p, axis=0), axis=1).sum() / np.linalg.norm(p[-1] - p[0]))


def _first_within(p: np.ndarray, point: tuple[float, ...], tol: float) -> float:
    d = np.linalg.norm(p - np.asarray(point), axis=1)
    return float(np.argmax(d < tol)) if (d < tol).any() else np.inf


# -- files ------------------------------------------------------------------------------------


def test_all_presets_are_there() -> None:
    assert set(list_presets()) == EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_preset_is_canonical_and_described(name: str) -> None:
    path = preset_path(name)
    s = load_preset(name)
    assert path.read_text(encoding="utf-8") == s.to_json()   # written by save_scenario
    assert len(s.description) > 200 and "\n" not in s.description  # one paragraph
    assert s.runs and all(r.name for r in s.runs)
    results = run_scenario(s)
    assert all(t.steps == s.steps for _, t in results)


def test_presets_are_package_data_read_with_importlib_resources() -> None:
    """Stored once, as package data (``optsim/presets``, listed in pyproject's
    package-data so that wheels carry them), read through importlib.resources."""
    from importlib import resources

    packaged = resources.files("optsim").joinpath("presets")
    assert {p.name for p in packaged.iterdir() if p.name.endswith(".json")} == \
        {f"{n}.json" for n in EXPECTED}
    assert packaged.joinpath("adam.json").read_bytes() == preset_path("adam").read_bytes()
    assert not (REPO / "resources" / "presets").exists()  # no second copy
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert 'optsim = ["presets/*.json"]' in pyproject


def test_a_preset_error_names_the_preset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scenarios, "preset_path", lambda name: _Broken())
    with pytest.raises(scenarios.ScenarioError, match="^preset adam: not valid JSON"):
        load_preset("adam")


class _Broken:
    def read_bytes(self) -> bytes:
        return b"{"


def test_unknown_preset_lists_the_known_ones() -> None:
    with pytest.raises(scenarios.ScenarioError, match="unknown preset 'nope'; known: adam, batch-size, beale"):
        load_preset("nope")


# -- stories ----------------------------------------------------------------------------------


def test_local_minimum() -> None:
    s = load_preset("local-minimum")
    assert s.function == "cubic" and s.start == (7.0,)
    (gd_run, gd), (mom_run, mom) = run_scenario(s)
    assert mom_run.optimizer == "ema-momentum" and "momentum" in mom_run.name
    assert gd_run.hyperparams["lr"] == mom_run.hyperparams["lr"] == 0.01
    assert mom_run.hyperparams["momentum"] == 0.9
    # GD rests at the local minimum x = 10/3 (f'(x) = 3x² − 10x = 0)
    assert abs(gd.positions[-1, 0, 0] - 10 / 3) < 0.05 and not gd.diverged[0]
    # momentum passes the local maximum at 0 (around step 17, as in the course) and escapes
    x = mom.positions[:, 0, 0]
    assert x.min() < 0 and 12 <= np.argmax(x < 0) <= 22
    assert mom.diverged[0] and np.isfinite(mom.positions).all()   # flagged, no crash
    assert x[-1] < s.view[0][0]                                    # left the view


def test_momentum_speedup() -> None:
    runs = _runs("momentum-speedup")
    gd, torch_mom, ema = (runs[k] for k in runs)
    assert len(gd) == 251
    t_gd, t_mom = _first_within(gd, (0, 0), 1e-3), _first_within(torch_mom, (0, 0), 1e-3)
    assert t_mom < t_gd and t_mom < 150
    # GD contracts by exactly 1 − 2·lr per step: closed form for its final distance
    assert np.linalg.norm(gd[-1]) == pytest.approx(np.hypot(1.5, 1.5) * 0.98**250, rel=1e-9)
    # the course's moving-average momentum is ahead of GD too, if only a little
    assert np.linalg.norm(ema[-1]) < np.linalg.norm(gd[-1]) / 2


def test_zigzag_bowl() -> None:
    runs = _runs("zigzag-bowl")
    gd, rms = runs["gradient descent"], runs["RMSProp"]
    assert load_preset("zigzag-bowl").view == ((-1.0, 1.0), (-1.0, 1.0))
    dy = np.sign(np.diff(gd[:, 1]))
    alternations = int(np.sum(dy[1:] * dy[:-1] < 0))
    assert alternations >= 50                          # y bounces at (nearly) every step
    assert np.all(np.diff(gd[:, 0]) > 0)               # while x only creeps forward
    # plain to see: still bouncing by more than 0.1 (5% of the view) after 10 steps
    assert abs(gd[10, 1] - gd[11, 1]) > 0.1
    assert _straightness(rms) < 1.1 < _straightness(gd)


def test_elongated_valley() -> None:
    s = load_preset("elongated-valley")
    assert [r.start for r in s.runs] == [(-1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)]
    assert s.steps == 100 and all(r.hyperparams["lr"] == 0.01 for r in s.runs)
    gd, mom, rms = _runs("elongated-valley").values()
    straight = [_straightness(p) for p in (gd, mom, rms)]
    assert straight[2] == min(straight) and straight[2] < 1.01   # RMSProp: almost straight
    assert straight[0] > 1.1 and straight[1] > 1.1               # GD and momentum: curves
    # momentum overshoots: y crosses 0, then turns back
    signs = np.sign(mom[:, 1])
    assert np.sum(signs[1:] != signs[:-1]) >= 2
    for p in (gd, mom, rms):
        assert np.linalg.norm(p[-1]) < 0.2


def test_adam_on_rosenbrock() -> None:
    runs = _runs("adam")
    dist = {k: float(np.linalg.norm(p[-1] - (1, 1))) for k, p in runs.items()}
    assert dist["Adam"] < 0.05 and dist["Adam"] == min(dist.values())
    assert all(d > 0.2 for k, d in dist.items() if k != "Adam")
    assert runs["SGD"][-1, 0] < 0           # SGD has not even got round the bend


def test_beale() -> None:
    runs = _runs("beale")
    dist = {k: float(np.linalg.norm(p[-1] - (3, 0.5))) for k, p in runs.items()}
    assert dist["Adam"] < 0.01 and dist["RMSProp"] < 0.01
    assert dist["gradient descent"] > 0.3
    assert dist["gradient descent"] > dist[next(k for k in runs if "momentum" in k)]


def test_saddle() -> None:
    s = load_preset("saddle")
    assert abs(s.start[1]) < 0.1                       # just off the ridge y = 0
    escape = {}
    for run, traj in run_scenario(s):
        p = traj.positions[:, 0]
        t = int(np.argmax(np.abs(p[:, 1]) > 1))
        assert abs(p[t, 1]) > 1                        # escaped along y ...
        assert abs(p[t, 0]) < 1.6 and abs(p[-1, 0]) < 0.5   # ... not along x
        escape[run.name] = t
    assert max(escape, key=escape.get) == "gradient descent"  # lingers the longest
    assert min(escape, key=escape.get) == "RMSProp"
    assert escape["gradient descent"] > 2 * escape["RMSProp"]


def test_himmelblau() -> None:
    minima = np.array(get_function("himmelblau").minima)
    ends = [p[-1] for p in _runs("himmelblau").values()]
    found = {int(np.argmin(np.linalg.norm(minima - e, axis=1))) for e in ends
             if np.linalg.norm(minima - e, axis=1).min() < 1e-3}
    assert len(found) >= 3 and len(found) == 4


def test_rastrigin() -> None:
    fn = get_function("rastrigin")
    runs = _runs("rastrigin")
    ends = np.array([p[-1] for p in runs.values()])
    grad, loss = fn.grad(ends), fn(ends)
    assert np.abs(grad).max() < 1e-3              # every run has stopped at a stationary point
    # ... a local minimum (f is locally convex there: f'' = 2 + 40π² cos 2πx > 0) ...
    assert np.all(2 + 40 * np.pi**2 * np.cos(2 * np.pi * ends) > 0)
    assert np.all(loss > 1)                       # ... and none is the global one (f = 0)
    assert len({tuple(np.round(e)) for e in ends}) >= 3
    gd = runs["gradient descent"][-1]
    assert np.allclose(np.round(gd), (-2, 4))     # GD: the dip nearest its start
    assert min(loss[2:]) < loss[0]                # momentum settles lower than GD


def test_himmelblau_basins() -> None:
    from optsim.explore import basins

    s = load_preset("himmelblau-basins")
    assert s.overlays == ("basins",) and s.start == (2.0, -4.0)
    (gd_run, gd), (mom_run, mom) = run_scenario(s)
    fn = get_function("himmelblau")
    ends = [int(np.argmin(np.linalg.norm(np.asarray(fn.minima) - t.positions[-1, 0], axis=1)))
            for t in (gd, mom)]
    assert ends == [3, 1]  # GD: (3.58, -1.85), its basin; momentum: across, (-2.81, 3.13)
    gd_map = basins(fn, gd_run.make_optimizer(), grid=41, steps=500)
    assert set(gd_map.counts()) == {0, 1, 2, 3}  # four basins, every start reaches one


def test_cubic_escape_strip_preset() -> None:
    from optsim.explore import basins

    s = load_preset("cubic-escape")
    assert s.overlays == ("basins",)
    (mom_run, mom), (gd_run, gd) = run_scenario(s)
    assert mom.diverged[0] and not gd.diverged[0]
    strip = basins("cubic", mom_run.make_optimizer(), grid=101, steps=500)
    x, labels = strip.x, strip.labels
    assert (labels[x < 0] == -2).all()                     # left of the hump: falls off
    assert (labels[(x > 0.05) & (x < 6.5)] == 0).all()     # settles at 10/3
    assert (labels[x > 6.8] == -2).all()                   # the escape strip on the right


def test_muon_on_a_vector_is_normalised_momentum() -> None:
    """Muon's step is lr·κ·n (n: the normalised Nesterov momentum, κ ≈ 0.7 in
    bfloat16): every step the same length, along n; momentum SGD's steps follow the
    gradient's size, and it settles where Muon keeps stepping past the minimum."""
    s = load_preset("muon-vector")
    (muon_run, muon), (_, mom) = run_scenario(s)
    assert muon_run.hyperparams["weight_decay"] == 0.0  # the step is O alone
    lr = muon_run.hyperparams["lr"]
    steps = np.linalg.norm(np.diff(muon.positions[:, 0], axis=0), axis=1)
    assert np.all(np.abs(steps / lr - 0.696) < 0.03)   # every step 0.7·lr long
    from optsim.simulation import Trajectory

    inspected = Trajectory(s.function, muon_run.make_optimizer(), [s.start], record_state=True)
    inspected.advance(s.steps)
    np.testing.assert_array_equal(inspected.positions, muon.positions)
    for k in (1, 10, 40, s.steps):
        info = inspected.explain(k)
        n = info["normalized"][0]
        update = info["update"][0]
        cos = update @ -n / np.linalg.norm(update)
        assert cos > 1 - 1e-4, k                         # along the normalised momentum
    mom_steps = np.linalg.norm(np.diff(mom.positions[:, 0], axis=0), axis=1)
    assert mom_steps.max() > 20 * mom_steps.min()      # momentum: steps follow the gradient
    # Muon cannot take the short steps the minimum needs; momentum settles in
    assert np.linalg.norm(muon.positions[-1, 0]) > 0.1 > 5 * np.linalg.norm(mom.positions[-1, 0])
