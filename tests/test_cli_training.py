"""The command line's training dynamics: schedules after '+', --noise models,
--ensemble with the CSV's member column, --clip, 'optsim list schedules'."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from optsim.cli import main
from optsim.simulation import Trajectory


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_schedule_after_plus_runs_as_the_engine(tmp_path, capsys) -> None:
    spec = "sgd:lr=0.1,momentum=0.9+onecyclelr:max_lr=0.05,total_steps=60"
    out = tmp_path / "r.csv"
    assert main(["run", "-f", "elongated-bowl", "-o", spec, "-n", "60", "--csv", str(out)]) == 0
    rows = _rows(out)
    assert rows[0]["optimizer"] == spec
    t = Trajectory("elongated-bowl", spec, [[-1.0, 1.0]])
    t.advance(60)
    got = np.array([[float(r["x"]), float(r["y"])] for r in rows])
    np.testing.assert_array_equal(got, t.positions[:, 0])


def test_ensemble_csv_has_members_and_same_seed_same_bytes(tmp_path) -> None:
    args = ["run", "-f", "linear-regression", "-o", "sgd:lr=0.05", "-o", "momentum:lr=0.02",
            "--noise", "minibatch:batch=4", "--ensemble", "5", "--seed", "3", "-n", "30"]
    a, b, c = (tmp_path / n for n in ("a.csv", "b.csv", "c.csv"))
    assert main([*args, "--csv", str(a)]) == 0
    assert main([*args, "--csv", str(b)]) == 0
    assert a.read_bytes() == b.read_bytes()
    rows = _rows(a)
    assert {r["member"] for r in rows} == {"0", "1", "2", "3", "4"}
    assert len(rows) == 2 * 5 * 31
    finals = {r["x"] for r in rows if r["step"] == "30" and r["optimizer"] == "sgd:lr=0.05"}
    assert len(finals) == 5  # the members differ
    assert main([*args[:-4], "--seed", "4", "-n", "30", "--csv", str(c)]) == 0
    assert c.read_bytes() != a.read_bytes()


def test_ensemble_of_a_thousand(tmp_path, capsys) -> None:
    assert main(["run", "-f", "bowl", "-o", "sgd:lr=0.1", "--noise", "0.5", "--ensemble", "1000",
                 "-n", "50"]) == 0
    out = capsys.readouterr().out
    assert "ensemble of 1000, final loss median" in out and "10-90 %" in out


def test_clip_and_noise_models(tmp_path) -> None:
    out = tmp_path / "c.csv"
    assert main(["run", "-f", "steep-cliff", "-o", "sgd:lr=0.1", "--clip", "norm=1.0",
                 "-n", "40", "--csv", str(out)]) == 0
    t = Trajectory("steep-cliff", "sgd:lr=0.1", [[2.8]], clip="norm=1.0")
    t.advance(40)
    got = np.array([float(r["x"]) for r in _rows(out)])
    np.testing.assert_array_equal(got, t.positions[:, 0, 0])
    assert main(["run", "-f", "bowl", "-o", "adam", "--noise", "student:nu=3,sigma=0.2",
                 "-n", "10"]) == 0


@pytest.mark.parametrize(("args", "message"), [
    (["-o", "sgd+steplr"], "step_size is required"),
    (["-o", "sgd+onecyclelr:max_lr=0.1,total_steps=10", "-n", "20"], "ends at step 10"),
    (["--clip", "size=3"], "--clip"),
    (["--noise", "gauss:sigma=1"], "--noise: unknown noise"),
    (["--ensemble", "0"], "--ensemble"),
    (["-f", "bowl", "--noise", "minibatch:batch=4"], "needs a data-fitting function"),
])
def test_bad_training_flags_exit_2_with_one_line(args, message, capsys) -> None:
    assert main(["run", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_list_schedules(capsys) -> None:
    assert main(["list", "schedules"]) == 0
    out = capsys.readouterr().out
    for name in ("steplr", "onecyclelr", "reducelronplateau", "sequentiallr", "warmup-cosine",
                 "wsd", "minibatch", "student", "norm", "value"):
        assert name in out
