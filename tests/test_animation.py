"""Animation export: frame bookkeeping, GIF and MP4 contents, cancelling, errors."""

from __future__ import annotations

import builtins
import os
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
from PIL import Image

from optsim.export import animation
from optsim.export.animation import (
    FrameRenderer,
    check_options,
    frame_count,
    frame_steps,
    write_animation,
)
from optsim.files import ExportError
from optsim.scenarios import Run, Scenario, run_scenario
from optsim.style import OKABE_ITO

SIZE = (480, 360)


def _runs(steps: int = 12) -> tuple[Scenario, list]:
    s = Scenario("elongated-bowl", start=(-1.0, 1.0), steps=steps, runs=(
        Run("sgd", {"lr": 0.05}, name="GD", colour=OKABE_ITO[3]),
        Run("adam", {"lr": 0.1}, name="Adam", colour=OKABE_ITO[4], start=(0.8, -1.5)),
    ))
    runs = [(r.name, r.colour, t.positions[:, 0], t.losses[:, 0]) for r, t in run_scenario(s)]
    return s, runs


def _colour_pixels(frame: np.ndarray, colour: str, tol: int = 40) -> int:
    rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(frame.astype(int) - rgb).max(axis=2) < tol).sum())


# -- bookkeeping -------------------------------------------------------------------------


@pytest.mark.parametrize("steps, stride, expected", [
    (10, 1, list(range(11))),
    (10, 5, [0, 5, 10]),
    (10, 3, [0, 3, 6, 9, 10]),      # the last step is always shown
    (10, 20, [0, 10]),
    (0, 4, [0]),
])
def test_frame_steps(steps: int, stride: int, expected: list[int]) -> None:
    assert frame_steps(steps, stride) == expected
    assert frame_count(steps, stride) == len(expected) == -(-steps // stride) + 1


@pytest.mark.parametrize("stride, fps, needle", [
    (0, 10, "stride"), (1.5, 10, "stride"), (True, 10, "stride"),
    (1, 0, "frame rate"), (1, -3, "frame rate"), (1, float("nan"), "frame rate"),
    (1, 1000, "frame rate"), (1, "fast", "frame rate"),
])
def test_bad_options(stride: object, fps: object, needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        check_options(stride, fps)


def test_too_many_frames_asks_for_a_stride() -> None:
    with pytest.raises(ValueError, match="use a larger stride"):
        check_options(1, 10, animation.MAX_FRAMES + 1)


# -- frames ------------------------------------------------------------------------------


def test_frames_show_the_runs_growing(qapp) -> None:
    _, runs = _runs()
    with FrameRenderer("elongated-bowl", runs, SIZE) as r:
        first, last = r.frame(0), r.frame(12)
        again = r.frame(0)
    assert first.shape == last.shape == (SIZE[1], SIZE[0], 3) and first.dtype == np.uint8
    assert first.std() > 20 and last.std() > 20                    # not blank
    np.testing.assert_array_equal(first, again)                    # a frame depends on k only
    for colour in (OKABE_ITO[3], OKABE_ITO[4]):                    # the trails grow
        assert _colour_pixels(last, colour) > _colour_pixels(first, colour) + 50


def test_runs_of_different_lengths_stop_at_their_end(qapp) -> None:
    _, runs = _runs()
    short = [(runs[0][0], runs[0][1], runs[0][2][:5], runs[0][3][:5]), runs[1]]
    with FrameRenderer("elongated-bowl", short, SIZE) as r:
        assert r.steps == 12
        a, b = r.frame(4), r.frame(12)
    # the short run's pixels do not change after its last step; the other run's do
    assert abs(_colour_pixels(a, OKABE_ITO[3]) - _colour_pixels(b, OKABE_ITO[3])) < 40
    assert _colour_pixels(b, OKABE_ITO[4]) > _colour_pixels(a, OKABE_ITO[4]) + 30


# -- GIF -------------------------------------------------------------------------------------


@pytest.mark.parametrize("steps, stride", [(12, 1), (12, 5), (12, 12)])
def test_gif_frame_count_and_timing(qapp, tmp_path: Path, steps: int, stride: int) -> None:
    _, runs = _runs(steps)
    path = tmp_path / "a.gif"
    assert write_animation(path, "elongated-bowl", runs, stride=stride, fps=20, size=SIZE,
                           hold=0.5)
    with Image.open(path) as im:
        assert im.size == SIZE and im.info["loop"] == 0
        assert im.n_frames == frame_count(steps, stride)
        durations = []
        for j in range(im.n_frames):
            im.seek(j)
            durations.append(im.info["duration"])
    assert durations[:-1] == [50] * (len(durations) - 1)   # 20 fps
    assert durations[-1] == 50 + 500                        # the last frame is held


def test_gif_frames_match_the_figure(qapp, tmp_path: Path) -> None:
    _, runs = _runs()
    path = tmp_path / "a.gif"
    write_animation(path, "elongated-bowl", runs, stride=4, fps=10, size=SIZE)
    frames = iio.imread(path, index=None, mode="RGB")
    assert frames.shape == (4, SIZE[1], SIZE[0], 3)
    with FrameRenderer("elongated-bowl", runs, SIZE) as r:
        for j, k in enumerate(frame_steps(12, 4)):
            direct = r.frame(k).astype(int)
            # one 255-colour palette for all frames: close to the true colours
            assert np.abs(frames[j].astype(int) - direct).mean() < 4


def test_gif_timing_rounds_to_centiseconds(qapp, tmp_path: Path) -> None:
    _, runs = _runs(6)
    path = tmp_path / "a.gif"
    write_animation(path, "elongated-bowl", runs, fps=30, size=SIZE, hold=0)
    with Image.open(path) as im:
        durations = []
        for j in range(im.n_frames):
            im.seek(j)
            durations.append(im.info["duration"])
    assert set(durations) <= {30, 40} and sum(durations) == round(7 * 1000 / 30 / 10) * 10


# -- MP4 --------------------------------------------------------------------------------------


def test_mp4_frames_and_size(qapp, tmp_path: Path) -> None:
    _, runs = _runs()
    path = tmp_path / "a.mp4"
    assert write_animation(path, "elongated-bowl", runs, stride=3, fps=12,
                           size=(SIZE[0] + 1, SIZE[1] + 1))   # odd: rounded down to even
    import imageio.v2 as iio2

    with iio2.get_reader(path, format="FFMPEG") as reader:
        frames = list(reader.iter_data())
        fps = reader.get_meta_data()["fps"]
    assert len(frames) == frame_count(12, 3)
    assert frames[0].shape == (SIZE[1], SIZE[0], 3)
    assert fps == pytest.approx(12)
    # the video shows the figure (H.264 is lossy: close, not equal)
    with FrameRenderer("elongated-bowl", runs, SIZE) as r:
        assert np.abs(frames[-1].astype(int) - r.frame(12).astype(int)).mean() < 6


def test_mp4_without_imageio_ffmpeg_says_so(qapp, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_ffmpeg(name, *args, **kwargs):
        if name == "imageio_ffmpeg":
            raise ImportError("No module named 'imageio_ffmpeg'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ffmpeg)
    _, runs = _runs()
    with pytest.raises(ExportError, match="MP4 export needs the imageio-ffmpeg package"):
        write_animation(tmp_path / "a.mp4", "elongated-bowl", runs, size=SIZE)
    assert os.listdir(tmp_path) == []


# -- progress, cancelling, errors ---------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["gif", "mp4"])
def test_progress_reports_every_frame(qapp, tmp_path: Path, fmt: str) -> None:
    _, runs = _runs()
    calls: list[tuple[int, int]] = []
    assert write_animation(tmp_path / f"a.{fmt}", "elongated-bowl", runs, stride=2, size=SIZE,
                           progress=lambda d, t: calls.append((d, t)))
    n = frame_count(12, 2)
    assert calls == [(d, n) for d in range(n + 1)]


@pytest.mark.parametrize("fmt", ["gif", "mp4"])
@pytest.mark.parametrize("cancel_at", [0, 3, 7])
def test_cancel_leaves_nothing(qapp, tmp_path: Path, fmt: str, cancel_at: int) -> None:
    _, runs = _runs()
    target = tmp_path / f"a.{fmt}"
    target.write_bytes(b"the old file")
    seen = []

    def progress(done: int, total: int) -> bool:
        seen.append(done)
        return done < cancel_at

    assert write_animation(target, "elongated-bowl", runs, size=SIZE, progress=progress) is False
    assert seen[-1] == cancel_at
    assert target.read_bytes() == b"the old file"           # untouched
    assert sorted(os.listdir(tmp_path)) == [f"a.{fmt}"]     # no temporary file left


def test_bad_format_and_paths(qapp, tmp_path: Path) -> None:
    _, runs = _runs()
    with pytest.raises(ValueError, match="animation format must be one of gif, mp4"):
        write_animation(tmp_path / "a.avi", "elongated-bowl", runs, size=SIZE)
    with pytest.raises(ValueError, match="no runs"):
        write_animation(tmp_path / "a.gif", "elongated-bowl", [], size=SIZE)
    with pytest.raises(ValueError, match="width must be in"):
        write_animation(tmp_path / "a.gif", "elongated-bowl", runs, size=(10, 240))
    with pytest.raises(ExportError, match="does not exist"):
        write_animation(tmp_path / "no" / "a.gif", "elongated-bowl", runs, size=SIZE)
    (tmp_path / "dir.gif").mkdir()
    with pytest.raises(ExportError, match="is a directory"):
        write_animation(tmp_path / "dir.gif", "elongated-bowl", runs, size=SIZE)
    assert sorted(os.listdir(tmp_path)) == ["dir.gif"]


def test_one_dimensional_function(qapp, tmp_path: Path) -> None:
    s = Scenario("cubic", start=(7.0,), steps=30, runs=(Run("sgd", {"lr": 0.01}),))
    runs = [(r.name, r.colour, t.positions[:, 0], None) for r, t in run_scenario(s)]
    path = tmp_path / "cubic.gif"
    assert write_animation(path, "cubic", runs, stride=10, size=SIZE)
    with Image.open(path) as im:
        assert im.n_frames == 4


def test_history_axis_spans_exactly_the_animated_steps():
    """Frames share one step axis, 0..steps: not the window's grow-while-playing range."""
    from optsim.export.animation import FrameRenderer
    from optsim.simulation import run as simulate_run

    res = simulate_run("cubic", "sgd:lr=0.01", [7.0], 100)
    runs = [("gd", "#E69F00", res.positions.reshape(-1, 1), res.losses.reshape(-1))]
    with FrameRenderer("cubic", runs, (480, 360), True, None) as renderer:
        renderer.frame(24)
        lo, hi = renderer.fig.history.getPlotItem().getViewBox().viewRange()[0]
    assert lo <= 0 < hi
    assert 100 <= hi <= 105
