"""Pictures and animations of many runs: the runs of each colour are drawn as one
bundle (a few items and one legend entry, whatever their number), with every path,
marker and loss curve in it. (The time it takes is measured in bench/reliability.py.)"""

from __future__ import annotations

import numpy as np
import pytest

from optsim import simulate
from optsim.cli import main
from optsim.export.animation import FrameRenderer
from optsim.export.image import BUNDLE_AT, build_figure, bundle_runs
from optsim.functions import as_function

FN = as_function("rosenbrock")


def many(n: int, colours=("#e69f00", "#56b4e9"), steps: int = 12):
    starts = np.random.default_rng(1).uniform(-1.5, 1.5, (n, 2))
    runs = []
    for colour, spec in zip(colours, ("adam:lr=0.05", "sgd:lr=0.0005"), strict=False):
        pos = simulate(FN, spec, starts, steps)
        for j in range(n):
            runs.append((f"{spec} from ({starts[j, 0]:g}, {starts[j, 1]:g})", colour,
                         pos[:, j], None))
    return runs


def test_few_runs_are_not_bundled():
    assert bundle_runs(FN, many(BUNDLE_AT // 2)) is None


def test_many_runs_are_bundled_by_colour_and_named_after_their_runs():
    runs = many(20)
    runs.append(("other (diverged at step 3)", "#e69f00", runs[0][2], None))
    runs.append(("alone (diverged at step 3)", "#000000", runs[0][2], None))
    bundles = bundle_runs(FN, runs)
    assert [(b.name, b.colour, len(b.positions)) for b in bundles] == [
        ("adam:lr=0.05 and 20 more", "#e69f00", 21), ("sgd:lr=0.0005 (20 runs)", "#56b4e9", 20),
        ("alone (diverged at step 3)", "#000000", 1)]
    np.testing.assert_array_equal(bundles[1].losses[3], FN.value(runs[23][2]))


def _item_count(fig) -> tuple[int, int]:
    plots = [fig.loss_plot, fig.history]
    return tuple(len(p.scene().items()) for p in plots)


def test_the_items_do_not_grow_with_the_runs(qapp):
    figs = [build_figure(FN, many(n), size=(400, 300)) for n in (20, 200)]
    try:
        assert _item_count(figs[0]) == _item_count(figs[1])
        legend = figs[1].loss_plot.legend
        assert [label.text for _, label in legend.items] == ["adam:lr=0.05 (200 runs)",
                                                             "sgd:lr=0.0005 (200 runs)"]
    finally:
        for f in figs:
            f.deleteLater()


def test_every_path_marker_and_loss_curve_is_drawn(qapp):
    runs = many(30, steps=8)
    fig = build_figure(FN, runs, size=(400, 300))
    try:
        for i in range(2):
            group = runs[30 * i: 30 * (i + 1)]
            trail = fig.loss_plot.run_items(i).trail
            x, y = trail.getData()
            assert len(x) == 30 * 9
            inside = fig.loss_plot._clipped  # the clip box: nothing here reaches it
            want = np.concatenate([inside(np.asarray(p)) for _, _, p, _ in group])
            np.testing.assert_array_equal(np.column_stack([x, y]), want)
            marker = fig.loss_plot.run_items(i).marker.data
            np.testing.assert_array_equal(np.column_stack([marker["x"], marker["y"]]),
                                          [p[-1] for _, _, p, _ in group])
            line = fig.history.line(i)
            hx, hy = line.xData, line.yData  # as given (getData: in the log scale)
            losses = np.concatenate([FN.value(p) for _, _, p, _ in group])
            np.testing.assert_array_equal(hy, losses)
            np.testing.assert_array_equal(hx, np.tile(np.arange(9), 30))
        # the history's scale spans every run's losses
        all_losses = np.concatenate([FN.value(p) for _, _, p, _ in runs])
        assert fig.history._losses[0].lo == min(FN.value(p).min() for _, _, p, _ in runs[:30])
        lo, hi = fig.history.y_range
        assert lo <= np.log10(all_losses.min()) and np.log10(all_losses.max()) <= hi
    finally:
        fig.deleteLater()


def test_paths_are_not_joined_to_each_other(qapp):
    fig = build_figure(FN, many(BUNDLE_AT + 1, steps=5), size=(300, 200))
    try:
        curve = fig.loss_plot.run_items(0).trail.curve
        connect = curve.opts["connect"]
        assert isinstance(connect, np.ndarray) and (~connect).sum() == BUNDLE_AT + 1
        assert not connect[5::6].any() and connect.sum() == (BUNDLE_AT + 1) * 5
    finally:
        fig.deleteLater()


def test_animation_frames_of_many_runs_show_each_runs_step(qapp):
    runs = many(BUNDLE_AT, steps=6)
    with FrameRenderer(FN, runs, size=(320, 240)) as r:
        assert r.bundles is not None and len(r.bundles) == 2
        frame = r.frame(2)
        assert frame.shape == (240, 320, 3)
        marker = r.fig.loss_plot.run_items(1).marker.data
        np.testing.assert_array_equal(np.column_stack([marker["x"], marker["y"]]),
                                      [p[2] for _, _, p, _ in runs[BUNDLE_AT:]])
        hx, _ = r.fig.history.line(0).getData()
        assert hx.max() == 2 and len(hx) == 3 * BUNDLE_AT


@pytest.mark.parametrize("extra", [[], ["--gif"]])
def test_the_command_line_draws_many_start_points(tmp_path, capsys, extra):
    pts = ";".join(f"{x:.2f},{y:.2f}" for x, y in
                   np.random.default_rng(2).uniform(-1.5, 1.5, (40, 2)))
    out = tmp_path / ("p.gif" if extra else "p.png")
    assert main(["run", "--steps", "5", "-o", "adam", "--start", pts,
                 "--gif" if extra else "--png", str(out), "--width", "320",
                 "--height", "240"]) == 0, capsys.readouterr().err
    assert out.stat().st_size > 1000
