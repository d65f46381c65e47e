"""Scenario files: canonical JSON, round trips, migration of old versions, and clean
refusal of every kind of bad file (including random corruption)."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optsim import simulate
from optsim.scenarios import (
    MAX_FILE_BYTES,
    VERSION,
    Run,
    Scenario,
    ScenarioError,
    load_scenario,
    migrate,
    run_scenario,
    save_scenario,
)


def _scenario() -> Scenario:
    return Scenario(
        function="elongated-bowl", view=((-2.0, 1.0), (-2.0, 1.0)), start=(-1.0, 1.0), steps=40,
        name="test", description="two runs, one with its own start",
        runs=(
            Run("sgd", {"lr": 0.01}, name="GD", colour="#e69f00", start=(-1.0, -1.0)),
            Run("adam", {"lr": 0.05, "beta1": 0.8}, name="Adam", visible=False),
        ),
    )


def _valid_dict() -> dict:
    return json.loads(_scenario().to_json())


# -- canonical form and round trips ------------------------------------------------------


def test_save_load_save_is_byte_identical(tmp_path: Path) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    save_scenario(_scenario(), a)
    loaded = load_scenario(a)
    save_scenario(loaded, b)
    assert a.read_bytes() == b.read_bytes()
    assert loaded == load_scenario(b)


def test_json_is_normalised_and_versioned() -> None:
    d = _valid_dict()
    assert list(d) == ["version", "name", "description", "function", "view", "start", "steps",
                       "noise", "seed", "runs"]
    assert d["version"] == VERSION == 1
    assert d["runs"][0]["colour"] == "#E69F00"           # upper-cased
    assert d["runs"][1]["colour"] == "#56B4E9"           # palette colour of run 1
    # every hyperparameter is written out, given ones kept, others at their defaults
    assert d["runs"][1]["hyperparams"] == {"lr": 0.05, "beta1": 0.8, "beta2": 0.999,
                                           "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False}
    assert d["runs"][0]["start"] == [-1.0, -1.0] and d["runs"][1]["start"] is None
    assert d["runs"][1]["visible"] is False


def test_missing_view_and_start_take_the_functions() -> None:
    s = Scenario.from_dict({"version": 1, "function": "rosenbrock", "runs": [{"optimizer": "adam"}]})
    assert s.view == ((-2.0, 2.0), (-1.0, 3.0)) and s.start == (-1.5, 2.0)
    assert s.steps == 100 and s.noise == 0.0 and s.seed == 0
    assert s.runs[0].name == "adam" and s.runs[0].hyperparams["lr"] == 0.001


def test_floats_survive_exactly(tmp_path: Path) -> None:
    x = 0.1 + 0.2  # 0.30000000000000004: repr must keep every bit
    s = Scenario("bowl", start=(x, -1 / 3), runs=(Run("sgd", {"lr": 1 / 3}),))
    save_scenario(s, tmp_path / "s.json")
    back = load_scenario(tmp_path / "s.json")
    assert back.start == (x, -1 / 3) and back.runs[0].hyperparams["lr"] == 1 / 3


def test_run_scenario_matches_simulate() -> None:
    s = _scenario()
    results = run_scenario(s)
    assert [r.name for r, _ in results] == ["GD", "Adam"]
    ref0 = simulate("elongated-bowl", "sgd:lr=0.01", (-1.0, -1.0), 40)   # the run's own start
    ref1 = simulate("elongated-bowl", "adam:lr=0.05,beta1=0.8", (-1.0, 1.0), 40)  # the scenario's
    np.testing.assert_array_equal(results[0][1].positions[:, 0], ref0)
    np.testing.assert_array_equal(results[1][1].positions[:, 0], ref1)
    assert run_scenario(s, steps=5)[0][1].steps == 5


def test_scenario_view_sets_the_divergence_bound() -> None:
    # GD with lr 1.5 on x² + y² doubles |x| each step (x ← −2x). A run diverges when it
    # leaves the view enlarged 1000 times: [-2000, 2000] for the bowl's own view (2^11 >
    # 2000: step 11), [-500, 500] for a view [-0.5, 0.5]² (2^9 > 500: step 9).
    runs = (Run("sgd", {"lr": 1.5}),)
    own = Scenario("bowl", start=(1.0, 0.0), runs=runs, steps=20)
    small = Scenario("bowl", view=((-0.5, 0.5), (-0.5, 0.5)), start=(1.0, 0.0), runs=runs, steps=20)
    assert run_scenario(own)[0][1].diverged_step[0] == 11
    assert run_scenario(small)[0][1].diverged_step[0] == 9


def test_gradient_noise_is_seeded_gaussian() -> None:
    sigma, lr, seed = 0.3, 0.1, 7
    s = Scenario("bowl", start=(1.0, -0.5), steps=30, noise=sigma, seed=seed,
                 runs=(Run("sgd", {"lr": lr}), Run("adam", {"lr": 0.05})))
    assert Scenario.from_json(s.to_json()).noise == sigma          # saved and validated
    (_, gd), (_, adam) = run_scenario(s)
    # independent reference: x ← x − lr·(∇f(x) + σ·ξ), ξ ~ N(0, I) from the seeded generator
    rng = np.random.default_rng(seed)
    x = np.array([1.0, -0.5])
    expected = [x]
    for _ in range(30):
        x = x - lr * (2 * x + sigma * rng.standard_normal((1, 2))[0])
        expected.append(x)
    np.testing.assert_allclose(gd.positions[:, 0], np.array(expected), rtol=1e-14, atol=1e-15)
    # the same seed gives the same run; another seed another; no noise: plain GD
    assert np.array_equal(run_scenario(s)[1][1].positions, adam.positions)
    other = run_scenario(dataclasses.replace(s, seed=8))[0][1].positions
    assert not np.allclose(other, gd.positions)
    plain = run_scenario(dataclasses.replace(s, noise=0.0))[0][1].positions[:, 0]
    np.testing.assert_array_equal(plain, simulate("bowl", "sgd:lr=0.1", (1.0, -0.5), 30))


def test_noisy_steps_are_explained_with_the_gradient_used() -> None:
    s = Scenario("rosenbrock", start=(-1.0, 1.0), steps=12, noise=2.0, seed=1,
                 runs=(Run("adam", {"lr": 0.05}),))
    (_, traj), = run_scenario(s, record_state=True)
    for k in (1, 5, 12):
        info = traj.explain(k)
        raw = traj.gradient_at(k - 1)[0]
        np.testing.assert_array_equal(info["raw_grad"][0], raw)   # the true gradient ...
        assert np.abs(info["grad"][0] - raw).max() > 1e-3          # ... is not the one used
        # replaying the step from the recorded state and the used gradient gives the position
        new, _ = traj.optimizer.step(traj.positions[k - 1], info["grad"], traj.state_at(k - 1))
        np.testing.assert_allclose(new, traj.positions[k], rtol=1e-15)
    # chunking the steps does not change the noise sequence
    from optsim.simulation import Trajectory

    t = Trajectory("rosenbrock", "adam:lr=0.05", [(-1.0, 1.0)], noise=2.0, seed=1)
    for n in (1, 4, 7):
        t.advance(n)
    np.testing.assert_array_equal(t.positions, traj.positions)


def test_run_helpers() -> None:
    s = _scenario().normalised()
    assert s.run_start(0) == (-1.0, -1.0) and s.run_start(1) == (-1.0, 1.0)
    assert s.run_colour(1) == "#56B4E9" and s.run_name(0) == "GD"
    assert s.runs[1].spec == "adam:lr=0.05,beta1=0.8"
    r = Run.from_optimizer("ema-momentum:lr=0.02", name="m")
    assert r.optimizer == "ema-momentum" and r.hyperparams["dampening"] == 0.9
    assert r.make_optimizer().spec == "ema-momentum:lr=0.02"


def test_formula_functions_round_trip() -> None:
    s = Scenario("x**2 + 3*y**2", start=(1.0, 1.0), view=((-2.0, 2.0), (-2.0, 2.0)),
                 runs=(Run("sgd", {"lr": 0.1}),), steps=10)
    back = Scenario.from_json(s.to_json())
    assert back.function == "x**2 + 3*y**2"
    pos = run_scenario(back)[0][1].positions[:, 0]
    np.testing.assert_allclose(pos[1], [1 - 0.1 * 2, 1 - 0.1 * 6])


# -- migration -----------------------------------------------------------------------------


def test_version_0_file_is_migrated(tmp_path: Path) -> None:
    old = {  # the unversioned format: other field names, spec strings, "color", "hidden"
        "func": "bowl", "window": [[-2, 2], [-2, 2]], "x0": [-1.5, 1.5], "iterations": 25,
        "runs": [
            {"label": "plain", "optimizer": "sgd:lr=0.05", "color": "#009e73"},
            {"label": "adam", "optimizer": "adam:lr=0.1,amsgrad=true", "hidden": True,
             "x0": [1, 1]},
        ],
    }
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old))
    s = load_scenario(path)
    assert s.function == "bowl" and s.steps == 25 and s.start == (-1.5, 1.5)
    assert s.view == ((-2.0, 2.0), (-2.0, 2.0))
    assert s.runs[0].name == "plain" and s.runs[0].colour == "#009E73"
    assert s.runs[0].hyperparams["lr"] == 0.05
    assert s.runs[1].optimizer == "adam" and s.runs[1].hyperparams["amsgrad"] is True
    assert s.runs[1].visible is False and s.runs[1].start == (1.0, 1.0)
    assert json.loads(s.to_json())["version"] == 1
    # the migration chain is explicit
    assert migrate({"version": 0, "func": "bowl"})["function"] == "bowl"


def test_version_0_bad_spec_names_the_run() -> None:
    with pytest.raises(ScenarioError, match=r"runs\[0\]\.optimizer"):
        Scenario.from_dict({"func": "bowl", "runs": [{"optimizer": "adam:lr=-1"}]})


# -- refusal of bad files -------------------------------------------------------------------


def _load_text(tmp_path: Path, text: str | bytes, name: str = "bad.json") -> ScenarioError:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(path) in str(info.value)   # names the file
    return info.value


@pytest.mark.parametrize("text, needle", [
    ("", "empty"),
    ("   \n", "empty"),
    ('{"version": 1, "function": "bowl", "runs": [', "not valid JSON (line 1"),
    ("[1, 2]", "must be a JSON object"),
    ('"bowl"', "must be a JSON object"),
    ('{"version": 1, "function": "bowl", "start": [NaN, 0]}', "non-finite number NaN"),
    ('{"version": 1, "function": "bowl", "start": [Infinity, 0]}', "non-finite"),
    ('{"version": 1, "function": "bowl", "start": [1e999, 0]}', "start[0]: must be a finite"),
    ('{"version": 1, "function": "bowl", "steps": 1' + "0" * 5000 + "}", "not valid JSON"),
    ("[" * 100000 + "]" * 100000, "nested too deeply"),
])
def test_malformed_json(tmp_path: Path, text: str, needle: str) -> None:
    assert needle in str(_load_text(tmp_path, text))


def test_not_utf8(tmp_path: Path) -> None:
    assert "not UTF-8" in str(_load_text(tmp_path, b'{"name": "\xff\xfe"}'))


def test_huge_file_refused_before_reading(tmp_path: Path) -> None:
    text = '{"version": 1, "function": "bowl", "description": "' + "x" * MAX_FILE_BYTES + '"}'
    assert "too large" in str(_load_text(tmp_path, text))


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "nope.json")
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path)


def _set(d: dict, path: list, value: object) -> dict:
    target = d
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return d


_DELETE = object()


@pytest.mark.parametrize("path, value, field, needle", [
    (["version"], 2, "version", "newer than this optsim"),
    (["version"], -1, "version", "unknown scenario version"),
    (["version"], "1", "version", "whole number"),
    (["version"], True, "version", "whole number"),
    (["function"], _DELETE, "function", "is missing"),
    (["function"], 3, "function", "must be a string"),
    (["function"], "no-such-function", "function", "unknown function"),
    (["function"], "", "function", "must not be empty"),
    (["view"], [[-2, 1]], "view", "[[xmin, xmax], [ymin, ymax]]"),
    (["view", 1], [1.0, -1.0], "view[1]", "min must be less than max"),
    (["view", 0, 0], "a", "view[0][0]", "must be a number"),
    (["start"], [1.0], "start", "must have 2 coordinate(s)"),
    (["start"], [1.0, 2.0, 3.0], "start", "must have 2 coordinate(s)"),
    (["start"], {"x": 1}, "start", "must be a list"),
    (["start", 1], None, "start[1]", "must be a number, got null"),
    (["start", 0], 1e300, "start[0]", "out of range"),
    (["steps"], -1, "steps", "out of range"),
    (["steps"], 2.5, "steps", "whole number"),
    (["steps"], 10**9, "steps", "out of range"),
    (["noise"], -0.1, "noise", "out of range"),
    (["seed"], -5, "seed", "out of range"),
    (["name"], ["x"], "name", "must be a string"),
    (["extra"], 1, "(top level)", "unknown field 'extra'"),
    (["runs"], {"optimizer": "sgd"}, "runs", "must be a list"),
    (["runs"], [{"optimizer": "sgd"}] * 65, "runs", "at most 64"),
    (["runs", 1], "adam", "runs[1]", "must be a JSON object"),
    (["runs", 1, "optimizer"], "adamw2", "runs[1].optimizer", "unknown optimizer 'adamw2'"),
    (["runs", 1, "optimizer"], _DELETE, "runs[1].optimizer", "is missing"),
    (["runs", 1, "hyperparams", "lr"], -0.01, "runs[1].hyperparams.lr", "out of range"),
    (["runs", 1, "hyperparams", "lr"], "fast", "runs[1].hyperparams.lr", "must be a number"),
    (["runs", 1, "hyperparams", "beta1"], 1.0, "runs[1].hyperparams.beta1", "out of range"),
    (["runs", 1, "hyperparams", "amsgrad"], "yes", "runs[1].hyperparams.amsgrad", "true or false"),
    (["runs", 1, "hyperparams", "momentum"], 0.9, "runs[1].hyperparams", "unknown field 'momentum'"),
    (["runs", 1, "hyperparams"], [0.1], "runs[1].hyperparams", "must be a JSON object"),
    (["runs", 0, "colour"], "red", "runs[0].colour", "must be a colour like"),
    (["runs", 0, "colour"], "#12345", "runs[0].colour", "must be a colour like"),
    (["runs", 0, "visible"], "yes", "runs[0].visible", "true or false"),
    (["runs", 0, "start"], [1.0], "runs[0].start", "must have 2 coordinate(s)"),
    (["runs", 0, "start", 0], "nan", "runs[0].start[0]", "must be a number"),
    (["runs", 0, "speed"], 1, "runs[0]", "unknown field 'speed'"),
])
def test_bad_values_name_the_field(tmp_path: Path, path: list, value: object, field: str,
                                   needle: str) -> None:
    d = _set(_valid_dict(), path, value)
    err = _load_text(tmp_path, json.dumps(d))
    assert err.field == field
    assert f"{field}: " in str(err) and needle in str(err)


def test_nesterov_cross_check_is_reported() -> None:
    d = _valid_dict()
    d["runs"][0]["hyperparams"]["nesterov"] = True   # needs momentum > 0, dampening 0
    with pytest.raises(ScenarioError, match=r"runs\[0\]\.hyperparams: .*Nesterov"):
        Scenario.from_dict(d)


def test_invalid_scenario_is_not_saved(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    save_scenario(_scenario(), path)
    before = path.read_bytes()
    bad = Scenario("bowl", runs=(Run("sgd", {"lr": -1.0}),))
    with pytest.raises(ScenarioError, match=r"runs\[0\]\.hyperparams\.lr"):
        save_scenario(bad, path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["s.json"]  # no temporary file left


def test_unwritable_targets_leave_nothing(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.mkdir()                      # the path is a directory: os.replace fails
    with pytest.raises(OSError):
        save_scenario(_scenario(), target)
    with pytest.raises(OSError):        # the directory does not exist
        save_scenario(_scenario(), tmp_path / "missing" / "s.json")
    assert os.listdir(tmp_path) == ["taken"] and os.listdir(target) == []


# -- random corruption ----------------------------------------------------------------------

_VALID_TEXT = _scenario().to_json()
_VALID = json.loads(_VALID_TEXT)

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def _paths(v: object, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(v, dict):
        for k, x in v.items():
            out += _paths(x, prefix + (k,))
    elif isinstance(v, list):
        for i, x in enumerate(v):
            out += _paths(x, prefix + (i,))
    return out


_ALL_PATHS = [p for p in _paths(_VALID) if p]


def _try_load(text: str | bytes) -> None:
    try:
        s = Scenario.from_json(text, source="fuzz.json")
    except ScenarioError as e:
        assert str(e).startswith("fuzz.json: ")
        return
    # whatever loads is canonical and round-trips
    assert Scenario.from_json(s.to_json()).to_json() == s.to_json()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(_ALL_PATHS), value=_json_values, delete=st.booleans())
def test_structural_mutations_load_or_raise_scenario_error(path: tuple, value: object,
                                                           delete: bool) -> None:
    d = json.loads(_VALID_TEXT)
    _set(d, list(path), _DELETE if delete else value)
    _try_load(json.dumps(d))


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_byte_mutations_load_or_raise_scenario_error(data: st.DataObject) -> None:
    raw = bytearray(_VALID_TEXT.encode())
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "delete", "insert", "truncate"]))
        i = data.draw(st.integers(0, max(len(raw) - 1, 0)))
        if op == "flip" and raw:
            raw[i] = data.draw(st.integers(0, 255))
        elif op == "delete" and raw:
            del raw[i: i + data.draw(st.integers(1, 8))]
        elif op == "insert":
            raw[i:i] = data.draw(st.binary(min_size=1, max_size=6))
        else:
            del raw[i:]
    _try_load(bytes(raw))


def test_overlays_round_trip_and_bad_ones_are_named(tmp_path: Path) -> None:
    s = Scenario("himmelblau", (Run.from_optimizer("sgd"),), overlays=("basins",))
    path = tmp_path / "o.json"
    save_scenario(s, path)
    again = load_scenario(path)
    assert again.overlays == ("basins",)
    assert '"overlays": ["basins"]' in path.read_text()
    plain = Scenario("himmelblau", (Run.from_optimizer("sgd"),))
    assert "overlays" not in plain.to_json()  # files without overlays are as before
    err = _load_text(tmp_path, plain.to_json().replace('"runs"', '"overlays": ["fog"], "runs"'))
    assert "overlays" in str(err) and "unknown overlay 'fog'" in str(err)
