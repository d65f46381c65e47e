"""``optsim run`` with presets and scenario files, and its animation / JSON outputs."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from optsim.cli import main
from optsim.cli_scenarios import ProgressBar
from optsim.export.animation import frame_count
from optsim.scenarios import (
    list_presets,
    load_preset,
    load_scenario,
    preset_path,
    save_scenario,
)
from optsim.simulation import simulate

ROOT = Path(__file__).resolve().parents[1]


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _positions(rows: list[dict[str, str]], name: str) -> np.ndarray:
    mine = [r for r in rows if r["optimizer"] == name]
    cols = ["x", "y"] if "y" in mine[0] else ["x"]
    return np.array([[float(r[c]) for c in cols] for r in mine])


def test_list_presets(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "presets"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Presets (--preset NAME):")
    for name in list_presets():
        assert f"  {name} " in out
    assert "Escaping a local minimum (cubic, 100 steps)" in out
    assert main(["list"]) == 0 and "Presets (--preset NAME):" in capsys.readouterr().out


def test_preset_csv_equals_simulate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "ev.csv"
    assert main(["run", "--preset", "elongated-valley", "--csv", str(out)]) == 0
    stdout = capsys.readouterr().out
    assert stdout.startswith("Elongated valley: GD, momentum, RMSProp\n  The course's elongated")
    rows = _csv(out)
    s = load_preset("elongated-valley")
    for run in s.runs:   # each run from its own start, as the course draws it
        expected = simulate("elongated-bowl", run.spec, run.start, 100)
        np.testing.assert_array_equal(_positions(rows, run.name), expected)


def test_saved_scenario_reruns_byte_identical(tmp_path: Path) -> None:
    a, b, saved = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "s.json"
    assert main(["run", "--preset", "himmelblau", "--csv", str(a),
                 "--save-scenario", str(saved)]) == 0
    # nothing overridden: the saved scenario is the preset, byte for byte
    assert saved.read_bytes() == preset_path("himmelblau").read_bytes()
    assert main(["run", "--scenario", str(saved), "--csv", str(b)]) == 0
    assert a.read_bytes() == b.read_bytes()


def test_flags_override_the_scenario(tmp_path: Path) -> None:
    saved, out = tmp_path / "s.json", tmp_path / "o.csv"
    assert main(["run", "--preset", "elongated-valley", "--steps", "7", "--start", "0.5,-0.5",
                 "--save-scenario", str(saved), "--csv", str(out)]) == 0
    s = load_scenario(saved)
    assert s.steps == 7 and s.start == (0.5, -0.5)
    assert all(r.start is None for r in s.runs)         # --start replaces every run's start
    assert [r.optimizer for r in s.runs] == ["sgd", "ema-momentum", "rmsprop"]
    assert s.view == ((-2.0, 1.0), (-2.0, 1.0)) and s.description  # still the preset's story
    np.testing.assert_array_equal(_positions(_csv(out), "RMSProp"),
                                  simulate("elongated-bowl", "rmsprop:lr=0.01", (0.5, -0.5), 7))
    # --optimizer replaces the runs; --function the function, and with it view and start
    assert main(["run", "--preset", "elongated-valley", "--function", "bowl",
                 "--optimizer", "adam:lr=0.1", "--save-scenario", str(saved)]) == 0
    s = load_scenario(saved)
    assert s.function == "bowl" and s.view == ((-2.0, 2.0), (-2.0, 2.0))
    assert s.start == (-1.5, 1.5) and s.steps == 100
    assert [(r.name, r.spec) for r in s.runs] == [("adam:lr=0.1", "adam:lr=0.1")]
    assert s.description == ""                          # the story no longer applies


def test_save_scenario_from_plain_flags(tmp_path: Path) -> None:
    saved, a, b = tmp_path / "s.json", tmp_path / "a.csv", tmp_path / "b.csv"
    assert main(["run", "-f", "x**2 + 3*y**2", "--start", "1,1", "-o", "sgd:lr=0.1", "-o", "adam",
                 "-n", "20", "--save-scenario", str(saved), "--csv", str(a)]) == 0
    s = load_scenario(saved)
    assert s.function == "x**2 + 3*y**2" and s.start == (1.0, 1.0) and len(s.runs) == 2
    assert main(["run", "--scenario", str(saved), "--csv", str(b)]) == 0
    assert a.read_bytes() == b.read_bytes()


def test_noise_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b, saved = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "s.json"
    assert main(["run", "--preset", "saddle", "--noise", "0.2", "--seed", "5", "--csv", str(a),
                 "--save-scenario", str(saved)]) == 0
    assert "gradient noise: σ = 0.2, seed 5" in capsys.readouterr().out
    s = load_scenario(saved)
    assert (s.noise, s.seed) == (0.2, 5)
    rows = _csv(a)
    ref = simulate("saddle", "sgd:lr=0.01", (-1.8, 0.05), 200, noise=0.2, seed=5)
    np.testing.assert_array_equal(_positions(rows, "gradient descent"), ref)
    assert main(["run", "--scenario", str(saved), "--csv", str(b)]) == 0
    assert a.read_bytes() == b.read_bytes()
    assert main(["run", "--preset", "saddle", "--noise", "-1"]) == 2
    assert "noise: -1.0 is out of range" in capsys.readouterr().err


def test_json_has_the_scenario_and_trajectories(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    assert main(["run", "--preset", "local-minimum", "--json", str(out)]) == 0
    d = json.loads(out.read_text(encoding="utf-8"))
    assert d["kind"] == "optsim results" and d["scenario"]["function"] == "cubic"
    gd, mom = d["runs"]
    np.testing.assert_array_equal(np.array(gd["positions"]), simulate("cubic", "sgd:lr=0.01",
                                                                      (7.0,), 100))
    assert gd["diverged"] is False and gd["diverged_step"] is None
    assert mom["diverged"] is True and mom["diverged_step"] == 64
    assert mom["optimizer"] == "ema-momentum:lr=0.01" and len(mom["losses"]) == 101


def test_json_of_several_starts_without_a_scenario(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    assert main(["run", "-f", "bowl", "--start", "1,1;-1,0.5", "-o", "sgd:lr=0.1", "-n", "5",
                 "--json", str(out)]) == 0
    d = json.loads(out.read_text(encoding="utf-8"))
    assert [r["name"] for r in d["runs"]] == ["sgd:lr=0.1 from (1, 1)", "sgd:lr=0.1 from (-1, 0.5)"]
    assert [r["start"] for r in d["scenario"]["runs"]] == [[1.0, 1.0], [-1.0, 0.5]]
    np.testing.assert_allclose(d["runs"][1]["positions"][1], [-1 + 0.2, 0.5 - 0.1])


def test_gif_and_mp4_from_a_preset(tmp_path: Path) -> None:
    gif, mp4 = tmp_path / "a.gif", tmp_path / "a.mp4"
    assert main(["run", "--preset", "zigzag-bowl", "--gif", str(gif), "--mp4", str(mp4),
                 "--stride", "7", "--fps", "12.5", "--width", "400", "--height", "300"]) == 0
    with Image.open(gif) as im:
        assert im.size == (400, 300)
        assert im.n_frames == frame_count(60, 7) == 10
        assert im.info["duration"] == 80                 # 12.5 fps
    assert mp4.stat().st_size > 1000


def test_animation_default_size(tmp_path: Path) -> None:
    gif = tmp_path / "a.gif"
    assert main(["run", "--preset", "saddle", "--steps", "4", "--gif", str(gif)]) == 0
    with Image.open(gif) as im:
        assert im.size == (960, 720) and im.n_frames == 5


def test_png_of_a_preset(tmp_path: Path) -> None:
    png = tmp_path / "a.png"
    assert main(["run", "--preset", "adam", "--png", str(png), "--width", "900",
                 "--height", "700"]) == 0
    with Image.open(png) as im:
        assert im.size == (900, 700)
        px = np.asarray(im.convert("RGB")).astype(int)
    assert px.std() > 20                                          # not blank
    # every run's colour is in the picture
    for run in load_preset("adam").runs:
        rgb = np.array([int(run.colour[i:i + 2], 16) for i in (1, 3, 5)])
        assert (np.abs(px - rgb).max(axis=2) < 30).sum() > 100


def test_hidden_runs_are_computed_but_not_drawn(tmp_path: Path) -> None:
    s = load_preset("himmelblau")
    hidden = dataclasses.replace(s, runs=(s.runs[0], dataclasses.replace(s.runs[1], visible=False),
                                          *s.runs[2:]))
    path, png, out = tmp_path / "h.json", tmp_path / "h.png", tmp_path / "h.csv"
    save_scenario(hidden, path)
    assert main(["run", "--scenario", str(path), "--png", str(png), "--csv", str(out),
                 "--width", "600", "--height", "450"]) == 0
    assert {r["optimizer"] for r in _csv(out)} == {r.name for r in s.runs}
    px = np.asarray(Image.open(png).convert("RGB")).astype(int)

    def count(colour: str) -> int:
        rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
        return int((np.abs(px - rgb).max(axis=2) < 12).sum())

    assert count(s.runs[0].colour) > 100 and count(s.runs[1].colour) < 20


@pytest.mark.parametrize("argv, needle", [
    (["--scenario", "{missing}"], "cannot read"),
    (["--scenario", "{bad}"], "runs[0].hyperparams.lr"),
    (["--scenario", "{truncated}"], "not valid JSON"),
    (["--preset", "nope"], "unknown preset 'nope'"),
    (["--preset", "adam", "--scenario", "{bad}"], "not allowed with argument --preset"),
    (["--preset", "adam", "--stride", "0", "--gif", "{out}"], "--stride must be a whole number"),
    (["--preset", "adam", "--fps", "0", "--gif", "{out}"], "frame rate must be in"),
    (["--preset", "adam", "--fps", "x", "--gif", "{out}"], "--fps: 'x' is not a number"),
    (["--preset", "adam", "--gif", "{out}", "--mp4", "{out}"], "both write"),
    (["--preset", "adam", "--json", "{nodir}"], "does not exist"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], needle: str) -> None:
    (tmp_path / "bad.json").write_text(
        '{"version": 1, "function": "bowl", "runs": [{"optimizer": "adam", '
        '"hyperparams": {"lr": -1}}]}')
    (tmp_path / "truncated.json").write_text('{"version": 1, "function": "bo')
    paths = {"missing": tmp_path / "missing.json", "bad": tmp_path / "bad.json",
             "truncated": tmp_path / "truncated.json", "out": tmp_path / "out.gif",
             "nodir": tmp_path / "no" / "r.json"}
    args = [a.format(**paths) for a in argv]
    before = sorted(os.listdir(tmp_path))
    assert main(["run", *args, "--csv", str(tmp_path / "out.csv")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("optsim: error: ") and needle in err
    assert sorted(os.listdir(tmp_path)) == before


def test_progress_bar_on_a_terminal() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    bar = ProgressBar("writing a.gif", tty, width=10)
    for d in range(5):
        assert bar(d, 4) is True
    assert tty.getvalue().split("\r")[1:] == [
        "writing a.gif [..........] 0/4 frames", "writing a.gif [##........] 1/4 frames",
        "writing a.gif [#####.....] 2/4 frames", "writing a.gif [#######...] 3/4 frames",
        "writing a.gif [##########] 4/4 frames\n"]
    quiet = io.StringIO()                       # not a terminal: nothing
    ProgressBar("x", quiet)(1, 2)
    assert quiet.getvalue() == ""


def test_as_a_process(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    p = subprocess.run([sys.executable, "-m", "optsim", "run", "--preset", "momentum-speedup",
                        "--csv", str(tmp_path / "m.csv")], capture_output=True, text=True,
                       timeout=180, env=env)
    assert p.returncode == 0 and p.stderr == ""
    assert "wrote " + str(tmp_path / "m.csv") in p.stdout
    p = subprocess.run([sys.executable, "-m", "optsim", "run", "--scenario",
                        str(tmp_path / "none.json")], capture_output=True, text=True,
                       timeout=180, env=env)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "cannot read" in p.stderr
