"""``optsim sweep``, ``basins`` and ``tune``: files, headers, errors; and a sweep on a
Dask cluster giving the same array as in this process."""

import csv

import numpy as np
import pytest

from optsim.cli import main
from optsim.explore import basins, sweep, tune


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_sweep_csv_and_npy(tmp_path, capsys):
    out, npy = tmp_path / "s.csv", tmp_path / "s.npy"
    code = main(["sweep", "--function", "elongated-bowl", "--optimizer", "momentum",
                 "--x", "lr=0.01:0.2:6:log", "--y", "momentum=0:0.9:4", "--start", "-1,1",
                 "--steps", "80", "--metric", "rate", "--csv", str(out), "--npy", str(npy)])
    assert code == 0
    text = capsys.readouterr().out
    assert "lowest convergence rate" in text and "theory:" in text
    rows = _rows(out)
    assert rows[0] == ["lr", "momentum", "rate"]
    assert len(rows) == 1 + 24
    api = sweep("elongated-bowl", "momentum", x="lr=0.01:0.2:6:log", y="momentum=0:0.9:4",
                start=(-1, 1), steps=80, metric="rate")
    got = np.array([[float(v) for v in r] for r in rows[1:]])
    np.testing.assert_array_equal(got[:, 2].reshape(4, 6), api.values)
    np.testing.assert_array_equal(got[:6, 0], api.x)
    np.testing.assert_array_equal(np.load(npy), api.values)


def test_one_axis_sweep_csv(tmp_path):
    out = tmp_path / "s.csv"
    assert main(["sweep", "-f", "quadratic", "--x", "lr=0.1:1.5:8", "--start", "2",
                 "--steps", "20", "--metric", "diverged", "--csv", str(out)]) == 0
    rows = _rows(out)
    assert rows[0] == ["lr", "diverged"]
    assert [r[1] for r in rows[1:]] == ["0.0"] * 6 + ["1.0"] * 2


def test_basins_csv(tmp_path, capsys):
    out = tmp_path / "b.csv"
    assert main(["basins", "--function", "himmelblau", "--optimizer", "sgd:lr=0.01",
                 "--grid", "9", "--steps", "200", "--csv", str(out)]) == 0
    rows = _rows(out)
    assert rows[0] == ["x", "y", "end_x", "end_y", "minimum"]
    assert len(rows) == 1 + 81
    api = basins("himmelblau", "sgd:lr=0.01", grid=9, steps=200)
    assert [int(r[4]) for r in rows[1:]] == api.minimum.ravel().tolist()
    assert "minimum 0 (3, 2)" in capsys.readouterr().out
    out1 = tmp_path / "c.csv"
    assert main(["basins", "-f", "cubic", "-o", "ema-momentum:lr=0.01", "--grid", "11",
                 "--steps", "100", "--csv", str(out1)]) == 0
    rows = _rows(out1)
    assert rows[0] == ["x", "end_x", "minimum"]
    assert rows[1][2] == "-1"  # from x = -3 the run falls off: no minimum


def test_tune_csv(tmp_path, capsys):
    out = tmp_path / "t.csv"
    assert main(["tune", "--function", "quadratic", "--optimizer", "sgd", "--optimizer", "adam",
                 "--steps", "20", "--start", "1", "--lr", "0.125:0.875:7:lin",
                 "--csv", str(out)]) == 0
    rows = _rows(out)
    assert rows[0] == ["optimizer", "lr", "criterion"]
    assert rows[1][:2] == ["sgd", "0.5"]
    (api,) = tune("quadratic", "adam", steps=20, start=[1.0], lr="lr=0.125:0.875:7")
    assert float(rows[2][1]) == api.lr
    assert "lowest final loss from the start" in capsys.readouterr().out


def test_pictures(tmp_path):
    png, svg = tmp_path / "s.png", tmp_path / "s.svg"
    assert main(["sweep", "-f", "elongated-bowl", "-o", "momentum", "--x", "lr=0.01:0.3:12:log",
                 "--y", "momentum=0:0.9:10", "--steps", "50", "--metric", "rate",
                 "--png", str(png), "--svg", str(svg), "--width", "640", "--height", "480"]) == 0
    from PIL import Image

    assert Image.open(png).size == (640, 480)
    assert b"<svg" in svg.read_bytes()[:400]
    bpng = tmp_path / "b.png"
    assert main(["basins", "-f", "himmelblau", "--grid", "21", "--steps", "100",
                 "--png", str(bpng)]) == 0
    tpng = tmp_path / "t.png"
    assert main(["tune", "-f", "bowl", "-o", "sgd", "--steps", "20", "--png", str(tpng)]) == 0
    assert Image.open(tpng).size == (1000, 800)


@pytest.mark.parametrize("args, message", [
    (["sweep", "--x", "speed=0:1:5"], "unknown hyperparameter 'speed'"),
    (["sweep", "-o", "momentum", "--x", "nesterov=0:1:2"], "true/false"),
    (["sweep", "--x", "lr=0.5:0.1:5"], "LO must be below HI"),
    (["sweep", "--x", "lr=0.1:0.5:1"], "N must be at least 2"),
    (["sweep", "--x", "lr=0:0.5:5:log"], "log axis needs LO > 0"),
    (["sweep", "--x", "lr=0.1:0.5:1000000", "--y", "weight_decay=0:1:1000000"],
     "grid too large for memory"),
    (["sweep", "--x", "lr=a:0.5:5"], "LO and HI must be numbers"),
    (["sweep", "--x", "lr"], "NAME=LO:HI:N"),
    (["sweep", "--x", "lr=0.1:0.5:5", "--metric", "speed"], "--metric must be one of"),
    (["sweep", "--x", "lr=0.1:0.5:5", "--tol", "-1"], "--tol must be > 0"),
    (["sweep", "--x", "lr=0.1:0.5:5", "--cluster", "udp://x"], "--cluster must be"),
    (["sweep", "--x", "lr=0.1:0.5:5", "-o", "nope"], "unknown optimizer"),
    (["basins", "--grid", "1"], "--grid must be"),
    (["basins", "-o", "sgd:lr=-1"], "out of range"),
    (["tune", "--starts", "0"], "--starts must be"),
    (["tune", "--lr", "1:0.1:5"], "LO must be below HI"),
    (["tune", "--criterion", "fastest"], "--criterion must be"),
    (["tune", "--clip", "norm=-1"], "--clip:"),
    (["sweep", "--x", "lr=0.1:0.5:5", "--clip", "max=1"], "--clip: clip must be"),
    (["basins", "--clip", "value"], "--clip: clip must be"),
    # gradient noise
    (["sweep", "--x", "lr=0.1:0.5:5", "--noise", "foo"], "--noise: unknown noise 'foo'"),
    (["sweep", "--x", "lr=0.1:0.5:5", "--noise", "-1"], "--noise: "),
    (["sweep", "--x", "lr=0.1:0.5:5", "--noise", "minibatch:batch=4"],
     "--noise: minibatch noise needs a data-fitting function"),
    (["sweep", "--x", "lr=0.1:0.5:5", "--noise", "1", "--seed", "-1"], "--seed must be"),
    (["basins", "--noise", "1", "--seed", "1.5"], "--seed must be"),
    (["tune", "--noise", "1", "--seeds", "0"], "--seeds must be"),
    (["tune", "--noise", "gaussian:sigma=x"], "--noise: "),
    (["sweep", "-o", "lbfgs", "--x", "lr=0.1:0.5:5", "--noise", "1"], "closure"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, args, message):
    out = tmp_path / "never.csv"
    assert main(args + ["--csv", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("optsim: error: ") and message in err
    assert err.count("\n") == 1
    assert not out.exists()


def test_sweep_on_a_dask_cluster_equals_in_process():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as lc, \
            distributed.Client(lc) as client:
        kw = dict(x="lr=0.001:0.5:9:log", y="beta1=0:0.95:7", start=[[-1.5, 2.0], [0.5, -0.5]],
                  steps=40, metric="final-loss")
        here = sweep("rosenbrock", "adam", **kw)
        # many small blocks: many tasks, spread over both workers
        there = sweep("rosenbrock", "adam", cluster=client, block_rows=16, **kw)
        for name in here.metrics:
            np.testing.assert_array_equal(there.metrics[name], here.metrics[name])
        assert len(client.scheduler_info()["workers"]) == 2
        typed = sweep("x**2 + 3*y**2", "sgd", x="lr=0.01:0.3:5", steps=20, cluster=client)
        np.testing.assert_array_equal(typed.values,
                                      sweep("x**2 + 3*y**2", "sgd", x="lr=0.01:0.3:5",
                                            steps=20).values)
        b_here = basins("himmelblau", "sgd:lr=0.01", grid=12, steps=100)
        b_there = basins("himmelblau", "sgd:lr=0.01", grid=12, steps=100, cluster=client)
        np.testing.assert_array_equal(b_there.labels, b_here.labels)
        np.testing.assert_array_equal(b_there.ends, b_here.ends)
        # with gradient noise: the workers draw the same seeded noise
        noisy = dict(kw, noise="student:nu=3,sigma=0.5", seed=4, seeds=3)
        np.testing.assert_array_equal(
            sweep("rosenbrock", "adam", cluster=client, block_rows=16, **noisy).values,
            sweep("rosenbrock", "adam", **noisy).values)
        nb = dict(grid=8, steps=60, noise=2.0, seeds=3)
        np.testing.assert_array_equal(basins("himmelblau", "sgd:lr=0.01", cluster=client, **nb).labels,
                                      basins("himmelblau", "sgd:lr=0.01", **nb).labels)


def test_sweep_over_a_schedule_on_the_command_line(tmp_path):
    out = tmp_path / "s.csv"
    assert main(["sweep", "-f", "quadratic", "-o", "sgd:lr=0.3+steplr:step_size=5",
                 "--x", "gamma=0.1:0.9:5", "--start", "1", "--steps", "20",
                 "--csv", str(out)]) == 0
    rows = _rows(out)
    assert rows[0] == ["gamma", "final-loss"]
    api = sweep("quadratic", "sgd:lr=0.3+steplr:step_size=5", x="gamma=0.1:0.9:5", start=[1.0],
                steps=20)
    assert [float(r[1]) for r in rows[1:]] == api.values.tolist()


def test_tune_with_clipping_on_the_command_line(tmp_path, capsys):
    """--clip tunes (and races) every optimizer with clipped gradients, and says so."""
    out, png = tmp_path / "t.csv", tmp_path / "t.png"
    args = ["tune", "-f", "quadratic", "-o", "sgd", "--steps", "6", "--start", "3",
            "--lr", "0.125:0.875:7:lin", "--csv", str(out)]
    assert main(args + ["--clip", "value=0.5", "--png", str(png)]) == 0
    text = capsys.readouterr().out
    assert "gradients clipped (value=0.5)" in text
    clipped = _rows(out)[1]
    (api,) = tune("quadratic", "sgd", steps=6, start=[3.0], lr="lr=0.125:0.875:7",
                  clip="value=0.5")
    assert float(clipped[1]) == api.lr and float(clipped[2]) == api.value
    assert main(args) == 0
    assert "no clipping" in capsys.readouterr().out
    # from x = 3 in 6 steps, clipping the gradient to 0.5 changes the best lr from 0.5
    assert _rows(out)[1][1] == "0.5" and float(clipped[1]) != 0.5


@pytest.mark.parametrize("sweep_field, message", [
    ({"x": "speed=0:1:5"}, "sweep.x: momentum: unknown hyperparameter 'speed'"),
    ({"x": "lr=0.1:1:4", "y": "nesterov=0:1:2"}, "sweep.y: "),
    ({"x": "lr=0.1:1:4", "y": "lr=0.2:1:3"}, "sweep.y: both axes vary lr"),
    ({"x": "lr=1:0.1:4"}, "sweep.x: "),
    ({"x": "momentum=0:2:4"}, "sweep.x: "),
    ({"x": "lr=0:1:4:log"}, "sweep.x: "),
    ({"x": "lr=0.1:1:4", "metric": "speed"}, "sweep.metric: unknown metric 'speed'"),
    ({"x": "gamma=0.1:0.9:4"}, "sweep.x: momentum: unknown hyperparameter 'gamma'"),
])
def test_run_scenario_checks_the_sweep_settings(tmp_path, capsys, sweep_field, message):
    """`optsim run --scenario FILE` checks the Sweep view's settings as the window uses
    them (against the first run): one line naming the field, exit 2, nothing written."""
    import json

    path = tmp_path / "s.json"
    base = {"version": 1, "function": "bowl", "steps": 5,
            "runs": [{"optimizer": "momentum", "hyperparams": {"lr": 0.1, "momentum": 0.9}}]}
    path.write_text(json.dumps({**base, "sweep": sweep_field}))
    out = tmp_path / "never.csv"
    assert main(["run", "--scenario", str(path), "--csv", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("optsim: error: ") and f"{path}: {message}" in err, err
    assert err.count("\n") == 1 and not out.exists()
    # the same settings that fit the run pass (here: a schedule's parameter)
    good = {**base, "runs": [{"optimizer": "sgd", "hyperparams": {"lr": 0.1},
                              "schedule": "steplr:step_size=2"}],
            "sweep": {"x": "gamma=0.1:0.9:4", "y": "lr=0.01:1:3:log", "metric": "rate",
                      "steps": 5}}
    path.write_text(json.dumps(good))
    assert main(["run", "--scenario", str(path), "--csv", str(out)]) == 0
    assert out.exists()


def test_the_presets_sweep_settings_fit_their_runs():
    from optsim.cli_scenarios import check_scenario_sweep
    from optsim.scenarios import list_presets, load_preset

    for name in list_presets():
        runs = load_preset(name)
        if runs.sweep:
            check_scenario_sweep(runs, name)
