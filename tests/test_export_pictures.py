"""Exported pictures as a slide needs them, checked on their pixels: sizes and the
scale of text and lines, no divider band, a title clear of the edge, the locked
aspect, the window's overlays, GIF frames in one style, SVG cut to the plot."""

from __future__ import annotations

import numpy as np
import pytest
from axis_labels import drawn_tick_labels
from PIL import Image

from optsim.cli import main
from optsim.export.animation import FrameRenderer
from optsim.export.image import build_figure, paint_figure, picture_scale, render_image, render_svg
from optsim.functions import get_function
from optsim.render.overlays import OverlayState
from optsim.simulation import Trajectory, run


def _runs(fn: str, specs: list[str], start, steps: int) -> list:
    colours = ["#E69F00", "#56B4E9", "#009E73"]
    out = []
    for spec, colour in zip(specs, colours, strict=False):
        r = run(fn, spec, [start], steps)
        out.append((spec, colour, r.positions.reshape(steps + 1, -1), r.losses.reshape(-1)))
    return out


def _pixels(image) -> np.ndarray:
    """A QImage as an (H, W, 3) uint8 array."""
    from PySide6 import QtGui

    image = image.convertToFormat(QtGui.QImage.Format.Format_RGB888)
    w, h = image.width(), image.height()
    buf = np.frombuffer(image.constBits(), dtype=np.uint8, count=image.sizeInBytes())
    return buf.reshape(h, image.bytesPerLine())[:, : w * 3].reshape(h, w, 3).copy()


def _near(px: np.ndarray, colour: str, tol: int = 40) -> np.ndarray:
    rgb = np.array([int(colour[i: i + 2], 16) for i in (1, 3, 5)])
    return np.abs(px.astype(int) - rgb).sum(axis=2) < tol


def test_picture_scale_keeps_small_pictures_and_grows_slides():
    assert picture_scale((960, 720)) == 1.0
    assert picture_scale((1024, 576)) == 1.0
    assert picture_scale((1920, 1080)) == pytest.approx(1.875)
    assert picture_scale((1280, 720)) == pytest.approx(1.25)


def test_a_slide_is_the_small_picture_painted_larger():
    """Text and lines grow with the picture: the 1920×1080 PNG, shrunk to 1024×576,
    is the 1024×576 PNG (the same layout), up to antialiasing."""
    runs = _runs("elongated-bowl", ["sgd:lr=0.01", "sgd:lr=0.01,momentum=0.9"], (-1.5, 0.8), 60)
    big = _pixels(render_image("elongated-bowl", runs, (1920, 1080)))
    small = _pixels(render_image("elongated-bowl", runs, (1024, 576)))
    assert big.shape == (1080, 1920, 3) and small.shape == (576, 1024, 3)
    shrunk = np.asarray(Image.fromarray(big).resize((1024, 576), Image.Resampling.LANCZOS))
    diff = np.abs(shrunk.astype(int) - small.astype(int)).mean()
    assert diff < 6, diff
    # and it is not simply the small picture's pixels blown up: lines are as sharp
    edges = np.abs(np.diff(big.astype(int), axis=1)).sum(axis=2)
    assert (edges > 200).sum() > 1.5 * (np.abs(np.diff(small.astype(int), axis=1)).sum(axis=2) > 200).sum()


@pytest.mark.parametrize("size", [(1280, 960), (1920, 1080), (1280, 720)])
def test_no_grey_band_between_the_plots_and_the_title_clear_of_the_top(size):
    runs = _runs("rosenbrock", ["adam:lr=0.05"], (-1.0, 1.0), 50)
    px = _pixels(render_image("rosenbrock", runs, size))
    grey = (px.min(axis=2) < 250) & (px.max(axis=2) - px.min(axis=2) < 8)  # greys, not white
    # a divider band: a run of 3+ whole rows (stacked) or columns (side by side) of grey
    rows = grey.mean(axis=1) > 0.9
    cols = grey.mean(axis=0) > 0.9
    for line in (rows, cols):
        runs_of = np.diff(np.flatnonzero(np.diff(np.concatenate([[0], line, [0]]))))[::2]
        assert not (runs_of >= 3).any(), runs_of
    scale = picture_scale(size)
    top = px[: int(6 * scale)]
    assert (top >= 250).all(), "the title touches the top edge"
    first_ink = np.flatnonzero((px < 200).any(axis=(1, 2)))[0]
    assert first_ink >= 6 * scale


def test_the_bowl_is_drawn_round_whatever_the_picture_shape():
    """x and y at one scale (circles stay circles): the view is padded, not stretched."""
    runs = _runs("bowl", ["sgd:lr=0.05"], (-1.5, 1.5), 20)
    for size in [(1920, 1080), (960, 720), (600, 900)]:
        fig = build_figure("bowl", runs, size)
        try:
            vb = fig.loss_plot.getPlotItem().getViewBox()
            px, py = vb.viewPixelSize()
            assert px == pytest.approx(py, rel=0.02), size
            (x0, x1), (y0, y1) = vb.viewRange()
            (vx0, vx1), (vy0, vy1) = get_function("bowl").view
            assert x0 <= vx0 and x1 >= vx1 and y0 <= vy0 and y1 >= vy1  # all of it shown
            # the heat map covers what is shown (no blank margin beside it)
            gx, gy, gw, gh = fig.loss_plot.landscape.rect
            assert gx <= x0 and gx + gw >= x1 and gy <= y0 and gy + gh >= y1
        finally:
            fig.hide()
            fig.deleteLater()
    fig = build_figure("bowl", runs, (1920, 1080), aspect_locked=False)
    try:
        px, py = fig.loss_plot.getPlotItem().getViewBox().viewPixelSize()
        assert px != pytest.approx(py, rel=0.05)  # stretched to fill, when asked
    finally:
        fig.hide()
        fig.deleteLater()


def test_wide_pictures_put_the_history_beside_the_landscape():
    runs = _runs("bowl", ["sgd:lr=0.05"], (-1.5, 1.5), 20)
    for size, side in [((1920, 1080), True), ((1280, 960), False)]:
        fig = build_figure("bowl", runs, size)
        try:
            assert fig.side_by_side is side
            land, hist = fig.loss_plot.geometry(), fig.history.geometry()
            assert (hist.left() >= land.right()) if side else (hist.top() >= land.bottom())
        finally:
            fig.hide()
            fig.deleteLater()


def test_overlays_shown_in_the_window_are_in_the_picture():
    traj = Trajectory("elongated-bowl", "sgd:lr=0.02,momentum=0.9", [[-1.5, 0.8]])
    traj.advance(8)
    runs = [("momentum", "#56B4E9", traj.positions[:, 0], traj.losses[:, 0])]
    options = {"gradient_step": True, "momentum": True, "actual_step": True,
               "components": False, "ellipse": False, "field": True, "tangent": False}
    state = OverlayState(options, ((traj, 8, 0, "#56B4E9"),))
    plain = _pixels(render_image("elongated-bowl", runs, (960, 720)))
    shown = _pixels(render_image("elongated-bowl", runs, (960, 720), overlay=state))
    momentum = "#7B3294"  # the momentum arrow's colour
    assert _near(shown, momentum).sum() > 30 and _near(plain, momentum).sum() == 0
    assert np.abs(shown.astype(int) - plain.astype(int)).sum(axis=2).astype(bool).mean() > 0.02


def test_gif_frames_are_drawn_in_one_style():
    """A short run keeps its dot per step in every frame; a long one is a plain line
    in every frame (not dots in the middle and a line at the end)."""
    for steps, dots in [(60, True), (600, False)]:
        runs = _runs("elongated-bowl", ["sgd:lr=0.01,momentum=0.9"], (-1.5, 0.8), steps)
        with FrameRenderer("elongated-bowl", runs, (480, 360)) as renderer:
            styles = []
            for k in (steps // 10, steps // 2, steps):
                renderer.frame(k)
                styles.append(renderer.fig.loss_plot.run_items(0).trail.opts["symbol"])
        assert styles == ["o" if dots else None] * 3, (steps, styles)


def test_svg_heat_map_stays_inside_the_plot_in_qts_renderer(tmp_path):
    from PySide6 import QtCore, QtGui
    from PySide6.QtSvg import QSvgRenderer

    runs = _runs("rosenbrock", ["adam:lr=0.05"], (-1.0, 1.0), 50)
    path = tmp_path / "r.svg"
    render_svg(path, "rosenbrock", runs, size=(960, 720))
    assert "#efefef" not in path.read_text().lower()  # no window-grey widget background
    image = QtGui.QImage(960, 720, QtGui.QImage.Format.Format_RGB32)
    image.fill(QtCore.Qt.GlobalColor.white)
    painter = QtGui.QPainter(image)
    QSvgRenderer(str(path)).render(painter)
    painter.end()
    px = _pixels(image)
    fig = build_figure("rosenbrock", runs, (960, 720))
    try:
        vb = fig.loss_plot.getPlotItem().getViewBox()
        rect = vb.sceneBoundingRect()
        at = fig.loss_plot.mapTo(fig, QtCore.QPoint(0, 0))
        left, top = int(rect.left() + at.x()), int(rect.top() + at.y())
        bottom = int(rect.bottom() + at.y())
    finally:
        fig.hide()
        fig.deleteLater()
    coloured = px.max(axis=2).astype(int) - px.min(axis=2) > 30  # the heat map's colours
    assert coloured[top + 20: bottom - 20, left + 5: left + 60].mean() > 0.5  # inside: drawn
    assert coloured[top + 20: bottom - 20, : max(left - 45, 1)].mean() < 0.01  # left of the axis
    assert coloured[: max(top - 25, 1), left + 5: left + 200].mean() < 0.01  # above the plot


def test_paint_figure_extra_pixels_keep_the_picture():
    runs = _runs("bowl", ["sgd:lr=0.05"], (-1.5, 1.5), 20)
    fig = build_figure("bowl", runs, (640, 480))
    try:
        one = _pixels(paint_figure(fig, (640, 480)))
        two = _pixels(paint_figure(fig, (640, 480), extra=2))
    finally:
        fig.hide()
        fig.deleteLater()
    assert two.shape == (960, 1280, 3)
    shrunk = np.asarray(Image.fromarray(two).resize((640, 480), Image.Resampling.LANCZOS))
    assert np.abs(shrunk.astype(int) - one.astype(int)).mean() < 6


def test_cli_size_option(tmp_path, capsys):
    png, gif = tmp_path / "a.png", tmp_path / "a.gif"
    assert main(["run", "-f", "bowl", "-n", "5", "--png", str(png), "--size", "1920x1080"]) == 0
    assert Image.open(png).size == (1920, 1080)
    assert main(["run", "-f", "bowl", "-n", "4", "--gif", str(gif), "--size", "1280x720"]) == 0
    assert Image.open(gif).size == (1280, 720)
    for bad in ["1920", "axb", "10x10", "1920x1080x3"]:
        assert main(["run", "-f", "bowl", "-n", "2", "--png", str(png), "--size", bad]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "--size" in err[0] and "Traceback" not in err[0]


# -- from the window ---------------------------------------------------------------------


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QApplication, QMessageBox

    from optsim.gui.file_actions import install
    from optsim.gui.main_window import MainWindow

    monkeypatch.setattr(QMessageBox, "critical", staticmethod(lambda *a: None))
    w = MainWindow(settings=str(tmp_path / "settings.ini"), restore=False)
    qtbot.addWidget(w)
    install(w)
    w.resize(1280, 720)
    w.show()
    qtbot.waitExposed(w)
    w.file_actions.open_preset("elongated-valley")
    for _ in range(12):
        w.playback.step(1)
    QApplication.processEvents()
    return w


def test_size_presets_in_both_export_dialogs(window):
    from optsim.gui.export_dialog import AnimationExportDialog, ImageExportDialog

    for dialog in (ImageExportDialog(window), AnimationExportDialog(10, window)):
        labels = [dialog.sizes.combo.itemText(i) for i in range(dialog.sizes.combo.count())]
        assert any("1920 × 1080" in t for t in labels) and any("1280 × 720" in t for t in labels)
        i = next(i for i, t in enumerate(labels) if "1920 × 1080" in t)
        dialog.sizes.combo.setCurrentIndex(i)
        assert dialog.options().size == (1920, 1080)
        dialog.height_spin.setValue(1000)  # a size of one's own: "Custom"
        assert dialog.sizes.combo.currentText() == "Custom"
        dialog.height_spin.setValue(720)
        dialog.width_spin.setValue(1280)
        assert "1280 × 720" in dialog.sizes.combo.currentText()
        dialog.deleteLater()


def test_window_export_has_the_window_overlays_and_all_paths(window, tmp_path):
    from optsim.gui.export_dialog import ImageOptions

    fa = window.file_actions
    window.model.select(1)
    plain, shown = tmp_path / "plain.png", tmp_path / "shown.png"
    window.step_insight.actions["momentum"].setChecked(False)
    window.step_insight.actions["gradient_step"].setChecked(False)
    window.step_insight.actions["actual_step"].setChecked(False)
    window.step_insight.actions["components"].setChecked(False)
    assert fa.export_image(str(plain), ImageOptions(size=(960, 720)))
    window.step_insight.actions["field"].setChecked(True)
    window.step_insight.actions["momentum"].setChecked(True)
    assert fa.export_image(str(shown), ImageOptions(size=(960, 720)))
    a, b = np.asarray(Image.open(plain).convert("RGB")), np.asarray(Image.open(shown).convert("RGB"))
    assert _near(b, "#7B3294").sum() > 20 and _near(a, "#7B3294").sum() == 0  # momentum arrow
    # every visible run's path is in the picture, the selected one no wider than the rest
    for r in window.model.runs:
        assert _near(b, r.colour, 30).sum() > 50, r.name


@pytest.mark.parametrize("playing", [False, True], ids=["paused", "playing"])
def test_trails_stay_while_an_export_dialog_is_open(window, playing):
    """Defect 8: paused (each run's own items) and playing (one PlaybackLayer draws
    every trail from a canvas), the trails stay while either dialog is open and
    a step is taken under it."""
    from PySide6.QtWidgets import QApplication

    from optsim.gui.export_dialog import AnimationExportDialog, ImageExportDialog

    c = window.playback
    if playing:
        c.set_playing(True)
        c.timer.stop()  # frames driven here
    for _ in range(20):
        c.step(1)
        QApplication.processEvents()
    before = _pixels(window.figure.grab().toImage())
    for dialog in (ImageExportDialog(window), AnimationExportDialog(12, window)):
        dialog.show()
        for _ in range(3):
            QApplication.processEvents()
        c.step(1)
        QApplication.processEvents()
        during = _pixels(window.figure.grab().toImage())
        for r in window.model.runs:
            assert _near(during, r.colour, 30).sum() >= 0.8 * _near(before, r.colour, 30).sum()
        dialog.close()
        dialog.deleteLater()
    c.set_playing(False)


def test_gif_background_is_pure_white_and_the_step_is_in_the_title(tmp_path):
    """White stays white in the GIF's palette (a near-white grey showed as a box on
    a white slide); the title names the function and the frame's step."""
    from optsim.export.animation import write_animation

    runs = _runs("zigzag-bowl", ["sgd:lr=0.1"], (-0.9, 0.5), 30)
    path = tmp_path / "z.gif"
    assert write_animation(path, "zigzag-bowl", runs, stride=10, size=(640, 360))
    with Image.open(path) as im:
        for k in range(im.n_frames):
            im.seek(k)
            frame = np.asarray(im.convert("RGB"))
            assert (frame[:4, :] == 255).all() and (frame[-3:, :] == 255).all(), k
    with FrameRenderer("zigzag-bowl", runs, (640, 360)) as renderer:
        renderer.frame(7)
        text = renderer.fig.title.text()
        assert text.startswith("zigzag-bowl") and "step" in text and text.endswith("7 / 30")
        width = renderer.fig.title.fontMetrics().horizontalAdvance(text)
        renderer.frame(17)
        assert renderer.fig.title.fontMetrics().horizontalAdvance(renderer.fig.title.text()) == width


def test_animation_frames_carry_the_window_arrows_at_their_step():
    traj = Trajectory("elongated-bowl", "sgd:lr=0.02,momentum=0.9", [[-1.5, 0.8]])
    traj.advance(20)
    runs = [("momentum", "#56B4E9", traj.positions[:, 0], traj.losses[:, 0])]
    options = {"gradient_step": True, "momentum": True, "actual_step": True,
               "components": False, "ellipse": False, "field": False, "tangent": False}
    state = OverlayState(options, ((traj, 20, 0, "#56B4E9"),))
    with FrameRenderer("elongated-bowl", runs, (640, 480), overlay=state) as renderer:
        for k in (3, 12):
            px = renderer.frame(k)
            arrows = renderer.fig.overlay.runs[0]
            assert arrows.vectors is not None and arrows.vectors.step == k
            base, _ = arrows.step.endpoints()
            np.testing.assert_allclose(base, traj.positions[k, 0])
            assert _near(px, "#7B3294").sum() > 0 or not arrows.momentum.visible


def test_every_runs_start_is_marked():
    runs = [(f"gd {i}", "#E69F00", run("himmelblau", "sgd:lr=0.01", [s], 10).positions[:, 0], None)
            for i, s in enumerate([(1, 1), (-1, 1), (1, 1)])]
    fig = build_figure("himmelblau", runs, (640, 480))
    try:
        marked = fig.loss_plot.start_marker.getData()
        assert sorted(zip(*marked, strict=True)) == [(-1.0, 1.0), (1.0, 1.0)]  # once each
    finally:
        fig.hide()
        fig.deleteLater()


@pytest.mark.parametrize("scale", [1.0, 1.6], ids=["window", "presentation"])
def test_a_tick_label_on_the_top_edge_stays_whole(scale):
    """A tick at the plot's top edge has its label centred on the edge: its upper
    half was cut off (the batch-size preset's "3", the history's "10¹"). Both
    plots of a picture, and of the window at presentation mode's scale."""
    from PySide6.QtWidgets import QApplication

    runs = _runs("himmelblau", ["sgd:lr=0.01", "adam:lr=0.1"], (-1.0, 1.0), 40)
    fig = build_figure("himmelblau", runs, size=(1280, 960))
    fig.loss_plot.set_aspect_locked(False)
    for plot in (fig.loss_plot, fig.history):
        plot.set_scale(scale)
        vb = plot.getPlotItem().getViewBox()
        lo, hi = vb.viewRange()[1]
        axis = plot.getPlotItem().getAxis("left")
        top = max(v for level in axis.tickValues(lo, hi, vb.height()) for v in level[1])
        vb.setYRange(lo, top, padding=0)  # a tick right at the top edge
        for _ in range(3):
            QApplication.processEvents()
        plot.grab()  # (pyqtgraph lays the axes out as it paints)
        labels = drawn_tick_labels(plot)
        highest = min(labels, key=lambda t: t[1].top())
        assert highest[1].top() >= 0, (highest[0], highest[1].top())
        assert plot.viewport().rect().contains(highest[1]), highest
    fig.deleteLater()


def test_side_by_side_title_stands_over_the_landscape():
    """Side by side (wide pictures), the title names the landscape's function and is
    centred over the landscape's plot, not over the gap between the two plots; a
    long formula moves right rather than wrap onto a second line."""
    for fn, start in (("rosenbrock", (-1.0, 1.0)), ("beale", (1.0, 1.5))):
        runs = _runs(fn, ["adam:lr=0.05"], start, 30)
        fig = build_figure(fn, runs, (1920, 1080))
        try:
            assert fig.side_by_side
            title = fig.title
            box = title.contentsRect()
            text_w = title.fontMetrics().horizontalAdvance(title.text())
            assert box.width() >= text_w  # one line
            assert title.height() < 2.2 * title.fontMetrics().height() + 12
            vb = fig.loss_plot.getPlotItem().getViewBox()
            rect = fig.loss_plot.mapFromScene(vb.sceneBoundingRect()).boundingRect()
            plot_centre = fig.loss_plot.mapTo(fig, rect.center()).x()
            text_centre = title.x() + box.center().x()
            if fn == "rosenbrock":  # short: right over the landscape
                assert abs(text_centre - plot_centre) < 8, (text_centre, plot_centre)
            else:  # long: as near as the edge allows
                assert box.left() <= 16
            assert text_centre < fig.width() / 2  # left of the middle, over the landscape
        finally:
            fig.deleteLater()


def test_the_top_tick_label_stays_whole_in_presentation_mode(window):
    """The window's plot in presentation mode (placing the legends resets the
    plot's margins: the top label's room is kept)."""
    from PySide6.QtWidgets import QApplication

    window.resize(1280, 720)
    window.set_presentation(True)
    try:
        plot = window.plot
        plot.set_aspect_locked(False)
        vb = plot.getPlotItem().getViewBox()
        lo, hi = vb.viewRange()[1]
        axis = plot.getPlotItem().getAxis("left")
        top = max(v for level in axis.tickValues(lo, hi, vb.height()) for v in level[1])
        vb.setYRange(lo, top, padding=0)
        plot.place_legend()
        for _ in range(3):
            QApplication.processEvents()
        plot.grab()
        highest = min(drawn_tick_labels(plot), key=lambda t: t[1].top())
        assert highest[1].top() >= 0, highest
    finally:
        window.set_presentation(False)
        window.plot.set_aspect_locked(True)
