"""The ``optsim`` command line, end to end: through ``main([...])`` and as a process."""

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from optsim.cli import join_negative_values, main
from optsim.engine import OPTIMIZERS
from optsim.functions import FUNCTIONS, get_function
from optsim.simulation import run, simulate
from optsim.style import run_colour

ROOT = Path(__file__).resolve().parents[1]


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["QT_QPA_PLATFORM"] = "offscreen"
    return env


def optsim_proc(*args, cwd=None, env=None):
    return subprocess.run([sys.executable, "-m", "optsim", *args], capture_output=True,
                          text=True, timeout=180, cwd=cwd, env=env or _env())


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_run_writes_csv_equal_to_simulate(tmp_path, capsys):
    out = tmp_path / "out.csv"
    specs = ["adam:lr=0.01", "momentum:lr=0.001"]
    code = main(["run", "--function", "rosenbrock", "--start", "-1.5,2",
                 "--optimizer", specs[0], "--optimizer", specs[1], "--steps", "300",
                 "--csv", str(out)])
    assert code == 0
    rows = read_csv(out)
    assert list(rows[0]) == ["optimizer", "step", "x", "y", "loss", "grad_norm", "diverged"]
    assert len(rows) == 2 * 301
    fn = get_function("rosenbrock")
    for spec in specs:
        mine = [r for r in rows if r["optimizer"] == spec]
        assert [int(r["step"]) for r in mine] == list(range(301))
        pos = np.array([[float(r["x"]), float(r["y"])] for r in mine])
        np.testing.assert_array_equal(pos, simulate("rosenbrock", spec, (-1.5, 2.0), 300))
        loss = np.array([float(r["loss"]) for r in mine])
        np.testing.assert_array_equal(loss, fn(pos))
        gn = np.array([float(r["grad_norm"]) for r in mine])
        np.testing.assert_allclose(gn, np.linalg.norm(fn.grad(pos), axis=1), rtol=1e-15)
        assert {r["diverged"] for r in mine} == {"0"}
    stdout = capsys.readouterr().out
    final = simulate("rosenbrock", specs[0], (-1.5, 2.0), 300)[-1]
    assert f"{specs[0]}: final ({final[0]:.6g}, {final[1]:.6g})" in stdout


@pytest.mark.parametrize("form", [["--start", "-1.5,2"], ["--start=-1.5,2"], ["-s", "-1.5,2"]])
def test_negative_start_forms(tmp_path, form):
    out = tmp_path / "s.csv"
    assert main(["run", *form, "--optimizer", "sgd:lr=0.0001", "--steps", "3",
                 "--csv", str(out)]) == 0
    first = read_csv(out)[0]
    assert (float(first["x"]), float(first["y"])) == (-1.5, 2.0)


def test_join_negative_values_leaves_other_tokens():
    assert join_negative_values(["run", "--start", "-1,2", "--steps", "5"]) == \
        ["run", "--start=-1,2", "--steps", "5"]
    assert join_negative_values(["run", "--start", "--steps"]) == ["run", "--start", "--steps"]


def test_1d_has_no_y_column(tmp_path):
    out = tmp_path / "c.csv"
    assert main(["run", "--function", "cubic", "--start", "7", "--optimizer", "sgd:lr=0.01",
                 "--steps", "20", "--csv", str(out)]) == 0
    rows = read_csv(out)
    assert list(rows[0]) == ["optimizer", "step", "x", "loss", "grad_norm", "diverged"]
    xs = np.array([float(r["x"]) for r in rows])
    np.testing.assert_array_equal(xs, simulate("cubic", "sgd:lr=0.01", (7.0,), 20)[:, 0])
    np.testing.assert_array_equal([float(r["grad_norm"]) for r in rows], np.abs(3 * xs**2 - 10 * xs))


def test_several_starts_add_a_run_column(tmp_path):
    out = tmp_path / "m.csv"
    assert main(["run", "--function", "bowl", "--start", "-1,1;0.5,2", "--optimizer", "sgd",
                 "--steps", "4", "--csv", str(out)]) == 0
    rows = read_csv(out)
    assert list(rows[0])[:3] == ["optimizer", "run", "step"]
    assert len(rows) == 2 * 5
    both = simulate("bowl", "sgd", [[-1, 1], [0.5, 2]], 4)
    for j in (0, 1):
        pos = np.array([[float(r["x"]), float(r["y"])] for r in rows if r["run"] == str(j)])
        np.testing.assert_array_equal(pos, both[:, j])


def test_default_optimizers_and_start(tmp_path):
    out = tmp_path / "d.csv"
    assert main(["run", "--function", "bowl", "--steps", "2", "--csv", str(out)]) == 0
    rows = read_csv(out)
    assert [r["optimizer"] for r in rows[::3]] == ["sgd", "momentum", "adam"]
    assert (float(rows[0]["x"]), float(rows[0]["y"])) == get_function("bowl").start


def test_divergence_is_reported_not_an_error(tmp_path, capsys):
    out = tmp_path / "div.csv"
    assert main(["run", "--function", "rosenbrock", "--optimizer", "sgd:lr=0.01",
                 "--steps", "50", "--csv", str(out)]) == 0
    res = run("rosenbrock", "sgd:lr=0.01", get_function("rosenbrock").start, 50)
    assert res.diverged
    k = int(res.diverged_step)
    assert f"diverged at step {k}" in capsys.readouterr().out
    flags = [r["diverged"] for r in read_csv(out)]
    assert flags == ["0"] * k + ["1"] * (51 - k)


def test_png_and_svg_from_the_command_line(tmp_path):
    png, svg = tmp_path / "o.png", tmp_path / "o.svg"
    proc = optsim_proc("run", "--function", "rosenbrock", "--start", "-1.5,2",
                       "--optimizer", "adam:lr=0.05", "--optimizer", "momentum:lr=0.001",
                       "--steps", "100", "--png", str(png), "--svg", str(svg),
                       "--width", "640", "--height", "480")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    with Image.open(png) as img:
        assert img.size == (640, 480)
        rgb = np.asarray(img.convert("RGB")).reshape(-1, 3)
    for i in range(2):
        want = tuple(int(run_colour(i)[k:k + 2], 16) for k in (1, 3, 5))
        assert (rgb == want).all(axis=1).sum() >= 30
    assert svg.read_text().lstrip().startswith("<?xml")
    assert f"wrote {png}" in proc.stdout


BAD = [
    (["run", "--function", "nope"], "unknown function"),
    (["run", "--optimizer", "adamx"], "unknown optimizer"),
    (["run", "--optimizer", "adam:lr"], "malformed"),
    (["run", "--optimizer", "adam:lr=-1"], "out of range"),
    (["run", "--optimizer", "adam:lr=abc"], "must be a number"),
    (["run", "--optimizer", "adam:frobnicate=1"], "unknown hyperparameter"),
    (["run", "--start", "1,2,3"], "2 coordinates"),
    (["run", "--function", "cubic", "--start", "1,2"], "1 coordinate"),
    (["run", "--start", "abc,1"], "not a number"),
    (["run", "--start", "nan,1"], "not a finite number"),
    (["run", "--start", "1e300,1"], "too far out"),
    (["run", "--steps", "1.5"], "whole number"),
    (["run", "--steps", "-3"], "--steps must be in"),
    (["run", "--steps", "ten"], "whole number"),
    (["run", "--width", "5", "--png", "PLACEHOLDER.png"], "--width"),
    (["run", "--function", "x**+"], "--function"),
    (["run", "--bogus"], "unrecognized arguments"),
    (["list", "everything"], "invalid choice"),
    (["frobnicate"], "invalid choice"),
]


@pytest.mark.parametrize("args,needle", BAD)
def test_bad_input_one_line_exit_2_no_file(tmp_path, args, needle):
    args = [a.replace("PLACEHOLDER", str(tmp_path / "x")) for a in args]
    out = tmp_path / "never.csv"
    proc = optsim_proc(*args, "--csv", str(out)) if args[0] == "run" else optsim_proc(*args)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("optsim: error: ") and needle in lines[0]
    assert "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_unwritable_output_leaves_nothing(tmp_path):
    (tmp_path / "file").write_text("")
    for bad in (tmp_path / "missing" / "o.csv", tmp_path / "file" / "o.csv", tmp_path):
        proc = optsim_proc("run", "--steps", "3", "--csv", str(tmp_path / "ok.csv"),
                           "--png", str(bad))
        assert proc.returncode == 2
        assert len(proc.stderr.splitlines()) == 1 and "--png" in proc.stderr
        assert proc.stdout == ""  # nothing simulated, nothing written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_empty_output_path_is_refused(tmp_path, capsys):
    assert main(["run", "--steps", "2", "--csv", ""]) == 2
    assert "--csv: empty output path" in capsys.readouterr().err


def test_same_file_twice_is_refused(tmp_path, capsys):
    p = str(tmp_path / "x.out")
    assert main(["run", "--csv", p, "--png", p]) == 2
    assert "both write" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_main_returns_2_with_one_line(capsys):
    assert main(["run", "--optimizer", "adam:beta1=1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "beta1" in err


def test_list_reads_the_declarations(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for fn in FUNCTIONS.values():
        assert f"  {fn.name} " in out and fn.formula in out
    for kind in OPTIMIZERS.values():
        assert f"  {kind.name} " in out
        for p in kind.hyperparams:
            assert p.range_text() in out and p.help in out
    momentum = out.split("\n  momentum ")[1].split("\n  nesterov")[0]
    assert re.search(r"\n +momentum +default 0\.9 ", momentum)  # the variant's, not SGD's 0


def test_list_names_each_optimizers_reference(capsys):
    """Every optimizer names the implementation it matches (its golden data's source)."""
    assert main(["list", "optimizers"]) == 0
    lines = capsys.readouterr().out.splitlines()
    for kind in OPTIMIZERS.values():
        assert kind.reference, f"{kind.name} names no reference"
        line = next(s for s in lines if s.startswith(f"  {kind.name} "))
        assert line.endswith(f" [{kind.reference}]")
    assert OPTIMIZERS["momentum"].reference == "torch.optim.SGD"
    assert OPTIMIZERS["rmsprop"].reference == "torch.optim.RMSprop"
    # the summaries start in one column, also after the longest names (schedulefree-adamw)
    starts = {line.index(kind.summary) for kind in OPTIMIZERS.values()
              for line in lines if line.startswith(f"  {kind.name} ")}
    assert len(starts) == 1


def test_list_one_part(capsys):
    assert main(["list", "functions"]) == 0
    out = capsys.readouterr().out
    assert "rosenbrock" in out and "Optimizers" not in out
    assert main(["list", "optimizers"]) == 0
    out = capsys.readouterr().out
    assert "adam" in out and "Functions" not in out


def test_help_exits_0(capsys):
    assert main(["--help"]) == 0
    assert "run" in capsys.readouterr().out
    assert main(["run", "--help"]) == 0
    assert "--start" in capsys.readouterr().out


def test_no_arguments_without_display_fails_gracefully(tmp_path):
    env = {k: v for k, v in _env().items()
           if k not in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY")}
    proc = optsim_proc(env=env)
    assert proc.returncode == 2
    assert proc.stderr.startswith("optsim: error: no display") and proc.stderr.count("\n") == 1


def test_write_csv_from_a_trajectory_round_trips_exactly(tmp_path):
    from optsim.export.data import write_csv
    from optsim.simulation import Trajectory

    traj = Trajectory("rosenbrock", "sgd:lr=0.002", [[-1.5, 2.0], [0.3, -0.7]])
    traj.advance(25)
    path = tmp_path / "t.csv"
    write_csv(path, "rosenbrock", [("sgd:lr=0.002", traj)])
    rows = read_csv(path)
    assert len(rows) == 2 * 26 and {r["run"] for r in rows} == {"0", "1"}
    for j in (0, 1):
        mine = [r for r in rows if r["run"] == str(j)]
        pos = np.array([[float(r["x"]), float(r["y"])] for r in mine])
        np.testing.assert_array_equal(pos, traj.positions[:, j])
        np.testing.assert_array_equal([float(r["loss"]) for r in mine], traj.losses[:, j])


def test_csv_numbers_round_trip_awkward_floats(tmp_path):
    from optsim.export.data import csv_text
    from optsim.simulation import SimulationResult

    xs = np.array([[0.1], [1 / 3], [5e-324], [1.7976931348623157e308], [-0.0], [np.nan]])
    res = SimulationResult(xs, np.array([0.0, 1e-300, np.inf, -np.inf, 2.5, np.nan]),
                           np.bool_(True), np.int64(5))
    rows = list(csv.DictReader(csv_text("cubic", [("x", res)]).splitlines()))
    back = np.array([float(r["x"]) for r in rows])
    np.testing.assert_array_equal(back, xs[:, 0])  # nan == nan here; -0.0 kept below
    assert np.signbit(back[4])
    assert [r["diverged"] for r in rows] == ["0"] * 5 + ["1"]


def test_csv_refuses_positions_of_the_wrong_dimension():
    from optsim.export.data import csv_text
    from optsim.simulation import SimulationResult

    res = SimulationResult(np.zeros((3, 2)), np.zeros(3), np.bool_(False), np.int64(-1))
    with pytest.raises(ValueError, match="cubic has 1"):
        csv_text("cubic", [("sgd", res)])


def test_no_arguments_opens_the_window(monkeypatch):
    import optsim.gui.app as gui_app

    calls = []
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    monkeypatch.setattr(gui_app, "main", lambda argv=None: calls.append(argv) or 7)
    assert main([]) == 7
    assert calls == [[]]  # not the test runner's own sys.argv


def test_a_failing_output_leaves_no_file_and_keeps_the_old_one(tmp_path, monkeypatch, capsys):
    import optsim.cli as cli

    old = tmp_path / "keep.csv"
    old.write_text("precious")

    def broken(args, plan, outcomes):
        raise OSError("disk full")

    monkeypatch.setattr(cli, "OUTPUT_WRITERS", [*cli.OUTPUT_WRITERS, broken])
    code = main(["run", "--steps", "3", "--csv", str(old), "--png", str(tmp_path / "p.png"),
                 "--width", "200", "--height", "150"])
    assert code == 2 and "disk full" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.csv"]
    assert old.read_text() == "precious"
