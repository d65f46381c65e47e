"""The one run-set type (optsim.runset): K-row runs, its JSON form, salvaging a
store part by part, the runner against separate runs, and the limits defined once."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

import optsim
from optsim import cli_args, runset, scenarios
from optsim.runset import Run, RunSet, ScenarioError, run_set, salvage

ROOT = Path(__file__).resolve().parents[1]


def _fan() -> RunSet:
    return RunSet("bowl", runs=(
        Run("sgd", {"lr": 0.1}, name="fan", starts=((-1.0, 1.0), (0.5, 2.0), (1.5, -1.0))),
        Run("adam", {"lr": 0.05}, name="one", start=(1.0, 1.0)),
        Run("momentum", {"lr": 0.02}, name="set start"),
    ), start=(-1.5, 0.5), steps=40)


def test_a_run_of_k_rows_equals_k_separate_runs_bit_for_bit() -> None:
    rs = _fan()
    fan, one, plain = run_set(rs)
    assert fan.positions.shape == (41, 3, 2) and one.positions.shape == (41, 1, 2)
    for j, p in enumerate(rs.runs[0].starts):
        ref = optsim.run("bowl", "sgd:lr=0.1", p, 40)  # an independent run per row
        assert np.array_equal(fan.positions[:, j], ref.positions)
        assert np.array_equal(fan.losses[:, j], ref.losses)
    assert np.array_equal(one.positions[:, 0], optsim.simulate("bowl", "adam:lr=0.05", (1, 1), 40))
    assert np.array_equal(plain.positions[:, 0],
                          optsim.simulate("bowl", "momentum:lr=0.02", (-1.5, 0.5), 40))


def test_k_rows_in_the_json_form_round_trip_and_default_fields_stay_out() -> None:
    rs = _fan()
    text = rs.to_json()
    back = RunSet.from_json(text)
    assert back.runs[0].starts == rs.runs[0].starts and back.runs[0].rows == 3
    assert back.to_json() == text
    d = rs.to_dict()
    assert "starts" in d["runs"][0] and "starts" not in d["runs"][1]  # written when used
    with pytest.raises(ScenarioError, match=r"runs\[0\]\.start: give either start or starts"):
        RunSet.from_dict({**d, "runs": [{**d["runs"][0], "start": [0, 0]}]})
    with pytest.raises(ScenarioError, match=r"runs\[0\]\.starts\[1\]: must have 2 coordinate"):
        RunSet.from_dict({**d, "runs": [{**d["runs"][0], "starts": [[0, 0], [1]]}]})


def test_split_rows_names_each_row_by_its_start() -> None:
    split = _fan().split_rows()
    assert [r.name for r in split.runs] == ["fan from (-1, 1)", "fan from (0.5, 2)",
                                           "fan from (1.5, -1)", "one", "set start"]
    assert {r.colour for r in split.runs[:3]} == {_fan().run_colour(0)}
    assert split.runs[1].start == (0.5, 2.0) and split.runs[1].rows == 1
    a, b = run_set(_fan()), run_set(split)
    assert np.array_equal(a[0].positions[:, 2], b[2].positions[:, 0])


def test_labels_are_unique() -> None:
    rs = RunSet("bowl", runs=(Run("sgd", name="x"), Run("adam", name="x"), Run("sgd", name="y")))
    assert rs.labels() == ["x #1", "x #2", "y"]


def test_salvage_keeps_each_valid_part() -> None:
    good = _fan().to_dict()
    bad_run = {"optimizer": "adam", "hyperparams": {"lr": -1}}
    data = {**good, "view": [[1, 0], [0, 1]], "noise": -1, "seed": 7,
            "runs": [good["runs"][1], bad_run, {**good["runs"][2], "colour": "red"}, 5]}
    rs = salvage(data)
    assert rs is not None and rs.function == "bowl" and rs.seed == 7 and rs.noise == 0.0
    assert rs.view == ((-2.0, 2.0), (-2.0, 2.0)) and rs.start == (-1.5, 0.5)
    assert [r.name for r in rs.runs] == ["one", "set start"]
    assert rs.runs[1].colour == rs.run_colour(1)  # the bad colour gave way to the palette's
    for hopeless in (None, [], {"function": 42}, {"function": "nosuch"}, {"version": 99},
                     {"function": "import os"}):
        assert salvage(hopeless) is None


def test_unvalidated_dict_never_raises_and_salvages_back() -> None:
    rs = dataclasses.replace(_fan(), view=((1.0, 0.0), (0.0, 1.0)))  # invalid view
    with pytest.raises(ScenarioError):
        rs.to_dict()
    back = salvage(rs.to_dict(validate=False))
    assert back is not None and back.view == ((-2.0, 2.0), (-2.0, 2.0))
    assert [r.name for r in back.runs] == ["fan", "one", "set start"]


def test_the_runner_refuses_bad_steps() -> None:
    for steps in (-1, runset.MAX_STEPS + 1, 2.5, True):
        with pytest.raises(ScenarioError, match="steps"):
            run_set(_fan(), steps)


def test_limits_and_types_are_defined_once() -> None:
    assert cli_args.MAX_STEPS is runset.MAX_STEPS and scenarios.MAX_STEPS is runset.MAX_STEPS
    assert cli_args.MAX_COORD is runset.MAX_COORD
    assert scenarios.Scenario is RunSet and scenarios.Run is Run
    sources = {p: p.read_text(encoding="utf-8") for p in (ROOT / "optsim").rglob("*.py")}
    for name, home in (("MAX_STEPS", "simulation.py"), ("MAX_COORD", "simulation.py"),
                       ("MAX_RUNS", "runset.py")):
        defined = [p.name for p, text in sources.items()
                   if re.search(rf"^{name}\s*[:=]", text, re.M)]
        assert defined == [home], (name, defined)
    for gone in ("class RunPlan", "class PlannedRun", "_restore_runs"):
        assert not any(gone in text for text in sources.values()), gone


def test_cli_and_cli_scenarios_do_not_import_each_other() -> None:
    text = (ROOT / "optsim" / "cli_scenarios.py").read_text(encoding="utf-8")
    assert not re.search(r"^from \. import cli\b|^from \.cli import|^import optsim\.cli\b",
                         text, re.M)
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert "optsim.cli_scenarios -> optsim.cli" not in pyproject  # no exception in the contract
