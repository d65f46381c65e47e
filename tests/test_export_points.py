"""Exported pictures draw what the window draws, the optimizers' extra points too:
Schedule-Free's averaged point x (a hollow marker on a dashed path in its run's
colour) was in the window and missing from every PNG, SVG, GIF and MP4."""

from __future__ import annotations

import numpy as np
import pytest

from optsim.cli import main, picture_runs
from optsim.cli_scenarios import point_runs
from optsim.export.animation import FrameRenderer
from optsim.export.image import PictureRun, build_figure, paint_figure, trajectory_points
from optsim.runset import run_set
from optsim.scenarios import load_preset

SF_COLOUR = "#0072B2"


def _pixels(image) -> np.ndarray:
    from PySide6 import QtGui

    image = image.convertToFormat(QtGui.QImage.Format.Format_RGB888)
    w, h = image.width(), image.height()
    buf = np.frombuffer(image.constBits(), dtype=np.uint8, count=image.sizeInBytes())
    return buf.reshape(h, image.bytesPerLine())[:, : w * 3].reshape(h, w, 3).copy()


def _near(px: np.ndarray, colour: str, tol: int = 60) -> np.ndarray:
    rgb = np.array([int(colour[i: i + 2], 16) for i in (1, 3, 5)])
    return np.abs(px.astype(int) - rgb).sum(axis=2) < tol


def _at(fig, point) -> tuple[int, int]:
    """Where the data point ``point`` is in the painted picture (pixels)."""
    from PySide6 import QtCore

    plot = fig.loss_plot
    vb = plot.getPlotItem().getViewBox()
    scene = vb.mapViewToScene(QtCore.QPointF(float(point[0]), float(point[1])))
    p = plot.mapTo(fig, plot.mapFromScene(scene))
    s = fig.picture_scale
    return round(p.x() * s), round(p.y() * s)


def _ring(px: np.ndarray, at: tuple[int, int], radius: int) -> tuple[int, int]:
    """(run-colour pixels, white pixels) within ``radius`` of ``at``."""
    x, y = at
    box = px[max(0, y - radius): y + radius + 1, max(0, x - radius): x + radius + 1]
    return int(_near(box, SF_COLOUR).sum()), int((box.min(axis=2) > 235).sum())


@pytest.fixture(scope="module")
def schedulefree():
    runs = load_preset("schedulefree")
    results = run_set(runs, record_state=point_runs(runs))
    return runs, results


def test_the_cli_pictures_carry_schedule_free_x(schedulefree):
    runs, results = schedulefree
    assert point_runs(runs) == [1]  # the Schedule-Free run, not SGD
    pictures = picture_runs(runs, results)
    assert pictures[0].points == {}
    label, x = pictures[1].points["x"]
    assert label == "averaged point x"
    np.testing.assert_allclose(x, results[1].extra_paths()["x"][:, 0])
    # x is the average of the steps: not where the gradient is taken (y)
    assert np.abs(x[-1] - results[1].positions[-1, 0]).max() > 1e-3


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)], ids=["720p", "1080p"])
def test_the_picture_draws_x_where_the_window_draws_it(schedulefree, size):
    """The hollow marker at x's last position: a white disc ringed in the run's
    colour, in the picture of the preset; not there without the points."""
    runs, results = schedulefree
    pictures = picture_runs(runs, results)
    x_end = pictures[1].points["x"][1][-1]
    found = []
    for with_points in (True, False):
        lines = pictures if with_points else [tuple(p) for p in pictures]
        fig = build_figure(runs.loss_function(), lines, size, view=runs.view)
        try:
            items = fig.loss_plot.point_items(1, "x")
            if with_points:
                path, marker = items
                assert marker.isVisible() and marker.disc.isVisible()
                np.testing.assert_allclose([marker.data["x"][0], marker.data["y"][0]], x_end)
                assert len(path.getData()[0]) == len(pictures[1][2])
                texts = [label.text for _s, label in fig.loss_plot.legend.items]
                assert "averaged point x" in texts
            else:
                assert items is None
            px = _pixels(paint_figure(fig, size))
            found.append(_ring(px, _at(fig, x_end), round(6 * fig.picture_scale)))
        finally:
            fig.hide()  # (a shown idle figure may keep relaying out)
            fig.deleteLater()
    (colour, white), (colour0, white0) = found
    assert colour > 10 and white > 5, found
    assert white > white0 + 5, found  # the white disc is x's, not the landscape's


def test_animation_frames_move_x_with_their_step(schedulefree):
    runs, results = schedulefree
    pictures = picture_runs(runs, results)
    with FrameRenderer(runs.loss_function(), pictures, (640, 360), view=runs.view) as r:
        x = pictures[1].points["x"][1]
        for k in (5, 60):
            r.frame(k)
            path, marker = r.fig.loss_plot.point_items(1, "x")
            np.testing.assert_allclose([marker.data["x"][0], marker.data["y"][0]], x[k])
            assert len(path.getData()[0]) == k + 1


def test_trajectory_points_stop_at_the_shown_step(schedulefree):
    _, results = schedulefree
    pts = trajectory_points(results[1], 7)
    assert pts["x"][1].shape == (8, 2)
    assert trajectory_points(results[0]) == {}  # SGD keeps no extra point
    assert isinstance(PictureRun("a", "#000000", [[0, 0]], None), tuple)
    name, colour, pos, loss = PictureRun("a", "#000000", [[0, 0]], None, pts)
    assert name == "a" and loss is None


def test_cli_png_of_the_preset_has_x(tmp_path, capsys):
    from PIL import Image

    out = tmp_path / "sf.png"
    assert main(["run", "--preset", "schedulefree", "--png", str(out), "--size", "1280x720"]) == 0
    px = np.asarray(Image.open(out).convert("RGB"))
    # the dashed path's white casing and the disc: many near-white pixels ringed in blue
    # inside the plot (the landscape itself has no white)
    plot_area = px[200:650, 90:630]
    assert (plot_area.min(axis=2) > 245).sum() > 2000  # (without x: 529)


def test_the_window_export_draws_x(window, tmp_path, monkeypatch):
    from PIL import Image
    from PySide6.QtWidgets import QApplication, QMessageBox

    from optsim.engine import parse_spec
    from optsim.gui.export_dialog import ImageOptions
    from optsim.gui.file_actions import install

    monkeypatch.setattr(QMessageBox, "critical", staticmethod(lambda *a: None))
    install(window)
    m = window.model
    m.replace_runs([(parse_spec("schedulefree-sgd:lr=0.05"), "sf", SF_COLOUR, True)])
    m.step_forward(30)
    QApplication.processEvents()
    runs = window.file_actions._picture_runs()
    assert "x" in runs[0].points and len(runs[0].points["x"][1]) == 31
    path = tmp_path / "w.png"
    assert window.file_actions.export_image(str(path), ImageOptions(size=(960, 720)))
    px = np.asarray(Image.open(path).convert("RGB"))
    assert _near(px, SF_COLOUR).sum() > 50


@pytest.mark.parametrize("which", ["image", "animation"])
def test_playback_pauses_while_an_export_dialog_is_open(window, monkeypatch, which):
    """Seen under a window manager (openbox): playing, File > Export > Animation's
    dialog said "steps 0-65" while the runs went on to step 100 under it. An export
    pauses first: the dialog and the picture are of the step shown."""
    from PySide6.QtWidgets import QApplication, QDialog, QMessageBox

    from optsim.gui import file_actions
    from optsim.gui.file_actions import install

    monkeypatch.setattr(QMessageBox, "critical", staticmethod(lambda *a: None))
    install(window)
    window.file_actions.open_preset("elongated-valley")
    window.playback.step(3)
    window.playback.set_playing(True)
    for _ in range(3):
        window.playback.step(1)
    seen = {}

    def exec_(dialog):
        start = window.model.shown_step
        for _ in range(20):  # the dialog stays open a while: the timer would step on
            QApplication.processEvents()
            if window.playback.playing:
                window.playback.timer.timeout.emit()
        seen["steps"] = (start, window.model.shown_step)
        seen["playing"] = window.playback.playing
        return QDialog.DialogCode.Rejected

    cls = file_actions.ImageExportDialog if which == "image" \
        else file_actions.AnimationExportDialog
    monkeypatch.setattr(cls, "exec", exec_)
    call = window.file_actions.export_image if which == "image" \
        else window.file_actions.export_animation
    assert call() is False  # cancelled
    assert seen["playing"] is False
    assert seen["steps"][0] == seen["steps"][1] >= 3
