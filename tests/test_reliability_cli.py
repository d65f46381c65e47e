"""The command line against outputs and inputs that are not regular files, full
disks and several outputs that fail part-way (optsim.files underneath). Devices
are private nodes made in a temporary directory; every wait is bounded."""

from __future__ import annotations

import errno
import json
import os
import stat
import threading
from pathlib import Path

import pytest
from test_files import NULL, ZERO, FifoReader, device, fifo, leftovers, small_tmpfs

from optsim import files
from optsim.cli import main
from optsim.export import animation

RUN = ["run", "--function", "bowl", "--steps", "3", "-o", "sgd"]
PICTURE = ["--width", "160", "--height", "120"]


@pytest.fixture
def small_fs(tmp_path):
    with small_tmpfs(tmp_path) as mnt:
        yield mnt


@pytest.fixture
def quick_wait(monkeypatch):
    monkeypatch.setattr(files, "STREAM_WAIT", 0.3)


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("optsim: error: "), err
    assert "Traceback" not in err and "libpng" not in err and ".optsim-" not in err
    return err.strip()


def test_every_output_to_device_nodes_leaves_them_devices(tmp_path, capsys):
    nodes = {opt: device(tmp_path, f"out.{suffix}", NULL) for opt, suffix in (
        ("--csv", "csv"), ("--png", "png"), ("--svg", "svg"), ("--json", "json"),
        ("--save-scenario", "scenario.json"), ("--gif", "gif"), ("--mp4", "mp4"))}
    args = [x for opt, node in nodes.items() for x in (opt, str(node))]
    assert main(RUN + args + PICTURE) == 0, capsys.readouterr().err
    for node in nodes.values():
        assert stat.S_ISCHR(os.lstat(node).st_mode), node
    assert leftovers(tmp_path) == []


def test_csv_to_a_fifo_reaches_its_reader(tmp_path, capsys):
    pipe = fifo(tmp_path)
    reader = FifoReader(pipe)
    reader.start()
    assert main(RUN + ["--csv", str(pipe)]) == 0
    data = reader.result().decode()
    assert data.startswith("optimizer,step,x,y,loss") and data.count("\n") == 5
    assert stat.S_ISFIFO(os.lstat(pipe).st_mode)


def test_a_fifo_nobody_reads_is_one_line_and_nothing_else_is_written(tmp_path, capsys,
                                                                     quick_wait):
    pipe = fifo(tmp_path)
    keep = tmp_path / "keep.json"
    keep.write_text("old")
    assert main(RUN + ["--csv", str(pipe), "--json", str(keep)]) == 2
    assert one_line_error(capsys) == (f"optsim: error: cannot write {str(pipe)!r}: "
                                      "no process is reading the FIFO (waited 0.3 s)")
    assert keep.read_text() == "old" and leftovers(tmp_path) == []


def test_a_link_as_output_writes_its_target(tmp_path, capsys):
    target = tmp_path / "real.csv"
    target.write_text("old")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    assert main(RUN + ["--csv", str(link)]) == 0
    assert link.is_symlink() and target.read_text().startswith("optimizer,")


def test_a_link_and_its_target_are_one_output(tmp_path, capsys):
    target = tmp_path / "real.csv"
    (tmp_path / "link.csv").symlink_to(target)
    assert main(RUN + ["--csv", str(target), "--json", str(tmp_path / "link.csv")]) == 2
    assert "both write" in one_line_error(capsys)


def test_a_long_name_works(tmp_path, capsys):
    name = tmp_path / ("r" * 251 + ".csv")
    assert main(RUN + ["--csv", str(name)]) == 0
    assert name.read_text().startswith("optimizer,")


@pytest.mark.parametrize("kind", ["fifo", "device", "directory", "big"])
def test_a_scenario_that_is_not_a_readable_file_is_refused_at_once(tmp_path, capsys, kind):
    if kind == "fifo":
        path = fifo(tmp_path)
    elif kind == "device":
        path = device(tmp_path, "zero", ZERO)
    elif kind == "directory":
        path = tmp_path
    else:
        path = tmp_path / "big.json"
        path.write_bytes(b" " * (5 * 1024 * 1024) + b"{}")
    codes: list[int] = []
    t = threading.Thread(target=lambda: codes.append(main(RUN + ["--scenario", str(path)])),
                         daemon=True)
    t.start()
    t.join(20)
    assert codes == [2]
    err = one_line_error(capsys)
    assert str(path) in err and "cannot read" in err


def _enospc_gif(*args, **kwargs):
    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            f.write(b"GIF89a")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), tmp)
    return write


def test_json_then_a_gif_on_a_full_disk_leaves_neither(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(animation, "_gif_writer", _enospc_gif)
    old = tmp_path / "data.json"
    old.write_text("precious")
    gif = tmp_path / "movie.gif"
    code = main(RUN + ["--json", str(old), "--csv", str(tmp_path / "d.csv"),
                       "--gif", str(gif)] + PICTURE)
    assert code == 2
    assert one_line_error(capsys) == (f"optsim: error: cannot write {str(gif)!r}: "
                                      "No space left on device")
    assert old.read_text() == "precious"
    assert sorted(os.listdir(tmp_path)) == ["data.json"]


def _fill(fs: Path) -> None:
    """Fill ``fs`` to the last byte."""
    with open(fs / "filler", "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 512)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


def test_pictures_on_a_full_file_system_one_line_naming_the_file(small_fs, tmp_path, capsys):
    keep = tmp_path / "keep.json"
    keep.write_text("old")
    _fill(small_fs)
    for opt, name in (("--png", "p.png"), ("--svg", "p.svg"), ("--gif", "p.gif"),
                      ("--mp4", "p.mp4"), ("--csv", "p.csv")):
        path = small_fs / name
        assert main(RUN + ["--json", str(keep), opt, str(path)] + PICTURE) == 2
        err = one_line_error(capsys)
        assert err.startswith(f"optsim: error: cannot write {str(path)!r}: ")
        assert err.endswith("No space left on device")  # MP4: ffmpeg's words before it
    assert keep.read_text() == "old"
    assert sorted(os.listdir(small_fs)) == ["filler"]


def test_the_json_written_to_a_link_round_trips(tmp_path, capsys):
    target = tmp_path / "t.json"
    (tmp_path / "l.json").symlink_to(target)
    assert main(RUN + ["--json", str(tmp_path / "l.json")]) == 0
    assert json.loads(target.read_text())["kind"] == "optsim results"


def test_a_preset_that_is_a_fifo_is_refused_at_once(tmp_path, monkeypatch):
    from optsim import scenarios

    fifo(tmp_path, "odd.json")
    monkeypatch.setattr(scenarios, "preset_dir", lambda: tmp_path)
    with pytest.raises(scenarios.ScenarioError,
                       match=r"preset odd: cannot read: it is a FIFO \(named pipe\)"):
        scenarios.load_preset("odd")


def test_a_sweep_whose_picture_fails_leaves_no_csv(small_fs, tmp_path, capsys):
    keep = tmp_path / "s.csv"
    keep.write_text("old")
    _fill(small_fs)
    png = small_fs / "s.png"
    assert main(["sweep", "-f", "quadratic", "--x", "lr=0.1:1.5:8", "--start", "2",
                 "--steps", "20", "--metric", "diverged", "--csv", str(keep),
                 "--png", str(png)]) == 2
    assert one_line_error(capsys) == (f"optsim: error: cannot write {str(png)!r}: "
                                      "No space left on device")
    assert keep.read_text() == "old" and sorted(os.listdir(small_fs)) == ["filler"]
