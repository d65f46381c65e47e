"""The picture as a viewer sees it (issue 12): legends and the arrows' key never
cover a path, a start or a minimum; short step arrows are drawn longer by one
stated factor, long ones clipped with a mark; one tick format per axis; the bowl's
contours come out round (1:1) in the window and in a 1920×1080 export; the default
view keeps the starts and minima off the border."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore, QtGui

from optsim.functions import get_function
from optsim.render.compute import (
    READABLE_ARROW_PX,
    arrow_scale,
    best_spot,
    default_range,
    densify,
    free_spot,
    log_tick_strings,
    scale_label,
    tick_strings,
)
from optsim.scenarios import list_presets, load_preset
from optsim.simulation import Trajectory

PRESETS = list_presets()


# -- pure pieces ---------------------------------------------------------------


def test_one_format_per_axis():
    # the mixes the issue saw: 0.0001 beside 10⁻⁵, 10¹ beside 1, 1e4 beside 1000
    assert log_tick_strings([-5, -4, -3]) == ["10⁻⁵", "10⁻⁴", "10⁻³"]
    assert log_tick_strings([0, 1]) == ["1", "10"]
    assert tick_strings([1000, 10000]) == ["10³", "10⁴"]
    assert tick_strings([0, 0.5, 1.0], 0.5) == ["0.0", "0.5", "1.0"]
    assert tick_strings([0, 1, 2], 1.0) == ["0", "1", "2"]
    assert tick_strings([-2, 0, 2], 2.0) == ["−2", "0", "2"]
    for labels in (tick_strings([1e-5, 1e-3, 0.1]), tick_strings([1, 1e5])):
        assert all("10" in t and "×" in t or t.startswith("10") for t in labels)


def test_free_spot_keeps_off_points_and_lines():
    line = densify(np.array([[0.0, 0.0], [600.0, 400.0]]), 3.0)
    spot = free_spot(line, (600, 400), (150, 80))
    assert spot is not None
    x, y = spot
    # no point of the line within the pad of the box
    inside = ((line[:, 0] > x - 10) & (line[:, 0] < x + 160)
              & (line[:, 1] > y - 10) & (line[:, 1] < y + 90))
    assert not inside.any()
    # a full area: no free spot, and the best one says what it covers
    grid = np.stack(np.meshgrid(np.arange(0, 600, 5.0), np.arange(0, 400, 5.0)), -1).reshape(-1, 2)
    assert free_spot(grid, (600, 400), (150, 80)) is None
    assert best_spot(grid, (600, 400), (150, 80))[2] > 0


def test_arrow_scale_is_one_round_factor():
    assert arrow_scale([100.0, 60.0]) == 1.0
    assert arrow_scale([4.0]) == pytest.approx(20.0)  # 44/4 = 11: rounded up to 20
    assert arrow_scale([4.0, 200.0]) == 1.0 or arrow_scale([4.0, 200.0]) >= 11
    assert arrow_scale([10.0, 0.001]) == pytest.approx(5.0)  # a vanished part does not count
    assert scale_label(20.0) == "×20"


def test_default_range_keeps_starts_inside_a_margin():
    (x0, x1), (y0, y1) = default_range(((-2, 1), (-2, 1)), [[-1, 1], [1, 1], [0, 0]])
    assert x1 >= 1 + 0.05 * 3 and y1 >= 1 + 0.05 * 3 and (x0, y0) == (-2, -2)


# -- the window ----------------------------------------------------------------


def _scene_points(plot, pts: np.ndarray) -> np.ndarray:
    vb = plot.getPlotItem().getViewBox()
    out = []
    for x, y in np.asarray(pts, dtype=float).reshape(-1, 2):
        if np.isfinite([x, y]).all():
            p = vb.mapViewToScene(QtCore.QPointF(x, y))
            out.append((p.x(), p.y()))
    return np.array(out).reshape(-1, 2)


def _covered(rects: list[QtCore.QRectF], scene_pts: np.ndarray, pad: float = 0.0) -> int:
    n = 0
    for r in rects:
        r = r.adjusted(-pad, -pad, pad, pad)
        n += int(((scene_pts[:, 0] > r.left()) & (scene_pts[:, 0] < r.right())
                  & (scene_pts[:, 1] > r.top()) & (scene_pts[:, 1] < r.bottom())).sum())
    return n


def _drawn_in_scene(window) -> np.ndarray:
    """Every run's path to the shown step (sampled every 2 px), its start and current
    point, the minima, the start marker and the step arrows, in scene pixels."""
    plot = window.plot
    m = window.model
    vb = plot.getPlotItem().getViewBox()
    view = vb.sceneBoundingRect()
    lo, hi = (view.left(), view.top()), (view.right(), view.bottom())
    pts = []
    for r in m.runs:
        if not r.visible:
            continue
        k = r.displayed_step(m.shown_step)
        pos = r.trajectory.positions[: k + 1, 0]
        if pos.shape[1] == 1:  # 1D: the ball on the curve
            pos = np.column_stack([pos[:, 0], r.trajectory.losses[: k + 1, 0]])
        path = _scene_points(plot, pos)
        pts.append(densify(path, 2.0, lo, hi) if len(path) > 1 else path)
    for item in (plot.minima, plot.start_marker):
        d = item.data
        pts.append(_scene_points(plot, np.column_stack([d["x"], d["y"]])))
    for arrows in window.step_insight.overlay.runs:
        for a in arrows.arrows():
            ends = a.endpoints()
            if ends is not None:
                pts.append(densify(_scene_points(plot, np.array(ends)), 2.0))
    pts = np.concatenate(pts)
    # the view box clips what it draws: what lies outside it is not seen
    inside = ((pts[:, 0] >= lo[0]) & (pts[:, 0] <= hi[0]) & (pts[:, 1] >= lo[1])
              & (pts[:, 1] <= hi[1]))
    return pts[inside]


def _open(window, name):
    from optsim.gui.file_actions import apply_scenario

    apply_scenario(window, load_preset(name))
    QtCore.QCoreApplication.processEvents()


@pytest.mark.slow
@pytest.mark.parametrize("name", PRESETS)
def test_legend_and_key_cover_no_path_start_or_minimum(window, qtbot, name):
    window.resize(1920, 1080)
    _open(window, name)
    window.step_insight.set_all_runs(True)  # every run's arrows: the key shows
    for steps in (0, 5, None):
        m = window.model
        if steps is None:
            window.model.step_forward(load_preset(name).steps - m.shown_step)
        else:
            window.model.step_forward(steps - m.shown_step) if steps > m.shown_step else None
        qtbot.wait(30)
        QtCore.QCoreApplication.processEvents()
        rects = window.plot.legend_rects()
        assert rects, "the legend is shown"
        drawn = _drawn_in_scene(window)
        assert _covered(rects, drawn) == 0, (name, steps)


def test_arrows_of_a_short_step_are_drawn_longer_by_the_stated_factor(window, qtbot):
    _open(window, "elongated-valley")
    window.model.step_forward(5)
    qtbot.wait(20)
    overlay = window.step_insight.overlay
    arrows = overlay.runs[0]
    v = arrows.vectors
    f = arrows.factor
    assert f > 1 and f in (2, 5, 10, 20, 50, 100, 200, 500, 1000)
    base, tip = arrows.step.endpoints()
    np.testing.assert_allclose(tip - base, f * v.actual_step, rtol=1e-9)
    # readable on screen, and stated in the key
    a = _scene_points(window.plot, np.array([base, tip]))
    assert np.hypot(*(a[1] - a[0])) >= READABLE_ARROW_PX - 1
    assert f"arrows drawn {scale_label(f)}" in overlay.legend_text()


def test_arrows_are_drawn_above_the_markers(window, qtbot):
    """A pixel test: momentum's (purple) arrow shows beyond the run's marker."""
    _open(window, "elongated-valley")
    window.model.select(1)  # the momentum run
    window.step_insight.set_all_runs(True)
    window.model.step_forward(3)
    qtbot.wait(50)
    plot = window.plot
    overlay = window.step_insight.overlay
    run = overlay.runs[[a.vectors is not None and a.vectors.momentum_step is not None
                        for a in overlay.runs].index(True)]
    base, tip = run.momentum.endpoints()
    marker_z = max(i.zValue() for r in plot._runs for i in r.items())
    assert run.momentum.line.zValue() > marker_z and run.momentum.head.zValue() > marker_z
    image = plot.grab().toImage()
    image.save("/tmp/optsim-arrows-above-markers.png")
    ratio = image.devicePixelRatio()
    a, b = (plot.mapFromScene(QtCore.QPointF(*p)) for p in _scene_points(plot, np.array([base, tip])))
    purple = QtGui.QColor("#7B3294")
    found = 0
    for t in np.linspace(0.3, 0.95, 24):  # along the arrow, past the marker's radius
        x, y = a.x() + t * (b.x() - a.x()), a.y() + t * (b.y() - a.y())
        if np.hypot(x - a.x(), y - a.y()) < 12:
            continue
        for dx in range(-2, 3):
            for dy in range(-2, 3):
                c = image.pixelColor(int(x * ratio) + dx, int(y * ratio) + dy)
                if abs(c.red() - purple.red()) + abs(c.green() - purple.green()) \
                        + abs(c.blue() - purple.blue()) < 90:
                    found += 1
    assert found >= 3


def test_a_long_gradient_arrow_is_clipped_with_a_mark():
    import pyqtgraph as pg

    from optsim.render.overlays import StepOverlay

    widget = pg.PlotWidget()
    widget.resize(600, 600)
    widget.show()
    plot = widget.getPlotItem()
    plot.setXRange(-2, 2, padding=0)
    plot.setYRange(-1, 3, padding=0)
    QtCore.QCoreApplication.processEvents()
    f = get_function("rosenbrock")
    ov = StepOverlay(plot)
    ov.set_function(f)
    traj = Trajectory(f, "sgd:lr=0.05", [[-1.5, 2.0]])
    traj.advance(1)
    ov.show([(traj, 0, 0, "#E69F00")])
    g = ov.runs[0].gradient
    assert g.clipped and g.more.isVisible()
    base, tip = g.endpoints()
    (x0, x1), (y0, y1) = plot.getViewBox().viewRange()
    assert x0 < tip[0] < x1 and y0 < tip[1] < y1  # inside the view
    assert "goes on beyond the view" in ov.legend_text()
    widget.close()


# -- aspect --------------------------------------------------------------------


def _ring_extent(image: QtGui.QImage, colour: QtGui.QColor, box: QtCore.QRect) -> tuple[int, int]:
    """Width and height of the pixels within ``box`` of nearly ``colour``."""
    img = image.convertToFormat(QtGui.QImage.Format.Format_RGB32)
    w, h = img.width(), img.height()
    arr = np.frombuffer(img.constBits(), dtype=np.uint8).reshape(h, img.bytesPerLine() // 4, 4)
    arr = arr[:, :w, :3].astype(int)  # B, G, R
    target = np.array([colour.blue(), colour.green(), colour.red()])
    near = np.abs(arr - target).sum(axis=2) <= 6
    mask = np.zeros_like(near)
    mask[box.top(): box.bottom(), box.left(): box.right()] = True
    ys, xs = np.nonzero(near & mask)
    assert len(xs) > 50
    return xs.max() - xs.min(), ys.max() - ys.min()


def _bowl_ring(image: QtGui.QImage, plot, ratio: float = 1.0, grabbed=None) -> float:
    """The bowl's colour at radius 1, as a ring of pixels: its width over its height
    (``image``: a grab of ``grabbed``, default the plot itself)."""
    vb = plot.getPlotItem().getViewBox()
    centre = plot.mapFromScene(vb.mapViewToScene(QtCore.QPointF(0, 0)))
    edge = plot.mapFromScene(vb.mapViewToScene(QtCore.QPointF(1.0, 0)))
    off = plot.mapTo(grabbed, QtCore.QPoint(0, 0)) if grabbed is not None else QtCore.QPoint()
    px = (edge + off) * ratio
    colour = image.pixelColor(int(px.x()) - 2, int(px.y()) - 3)
    r = abs(edge.x() - centre.x()) * ratio
    c = (centre + off) * ratio
    box = QtCore.QRect(int(c.x() - 1.6 * r), int(c.y() - 1.6 * r), int(3.2 * r), int(3.2 * r))
    w, h = _ring_extent(image, colour, box)
    return w / h


def test_bowl_contours_are_round_in_a_1920x1080_export():
    from optsim.export.image import _release, build_figure

    fig = build_figure("bowl", [], size=(1920, 1080))
    try:
        image = fig.grab().toImage()
        plot = fig.loss_plot
        vb = plot.getPlotItem().getViewBox()
        px, py = vb.viewPixelSize()
        assert px == pytest.approx(py, rel=1e-6)
        ratio = _bowl_ring(image, plot, image.devicePixelRatio(), fig)
        assert ratio == pytest.approx(1.0, abs=0.04)
    finally:
        _release(fig)


def test_bowl_contours_are_round_in_the_window_and_unlock_stretches(window, qtbot):
    window.resize(1500, 800)
    window.model.set_function(get_function("bowl"))
    qtbot.wait(50)
    plot = window.plot
    px, py = plot.getPlotItem().getViewBox().viewPixelSize()
    assert px == pytest.approx(py, rel=1e-6)
    ratio = _bowl_ring(plot.grab().toImage(), plot, plot.devicePixelRatioF())
    assert ratio == pytest.approx(1.0, abs=0.04)
    window.aspect_action.setChecked(False)  # stretched: each axis fills the plot
    qtbot.wait(20)
    px, py = plot.getPlotItem().getViewBox().viewPixelSize()
    assert abs(px / py - 1) > 0.05 or plot.width() == pytest.approx(plot.height(), rel=0.05)
    window.aspect_action.setChecked(True)


# -- the default view ------------------------------------------------------------


@pytest.mark.parametrize("name", ["elongated-valley", "himmelblau", "adam"])
def test_default_view_keeps_starts_and_minima_off_the_border(window, qtbot, name):
    _open(window, name)
    qtbot.wait(20)
    QtCore.QCoreApplication.processEvents()
    plot = window.plot
    (x0, x1), (y0, y1) = plot.getPlotItem().getViewBox().viewRange()
    mx, my = 0.03 * (x1 - x0), 0.03 * (y1 - y0)
    s = load_preset(name)
    pts = [s.run_start(i) for i in range(len(s.runs))]
    fn = s.loss_function()
    (vx0, vx1), (vy0, vy1) = s.view or fn.view
    pts += [m for m in fn.minima if vx0 <= m[0] <= vx1 and vy0 <= m[1] <= vy1]
    for x, y in pts:
        assert x0 + mx <= x <= x1 - mx and y0 + my <= y <= y1 - my, (x, y)


def test_fit_to_paths_shows_every_path_whole(window, qtbot):
    _open(window, "adam")
    window.model.step_forward(30)
    window.fit_paths_action.trigger()
    qtbot.wait(20)
    (x0, x1), (y0, y1) = window.plot.getPlotItem().getViewBox().viewRange()
    for r in window.model.runs:
        p = r.trajectory.positions[: r.displayed_step(window.model.shown_step) + 1, 0]
        assert (p[:, 0] >= x0).all() and (p[:, 0] <= x1).all()
        assert (p[:, 1] >= y0).all() and (p[:, 1] <= y1).all()


def test_the_aspect_toggle_is_kept_in_scenarios_and_settings(qtbot, tmp_path):
    """Equal x and y scales off: saved in a scenario ("aspect": "free", left out
    when on, so other files stay as they were) and in the window's settings, and
    restored from each; a scenario's aspect also reaches its CLI picture."""
    import json

    from optsim.gui import file_actions
    from optsim.gui.main_window import MainWindow
    from optsim.runset import ScenarioError
    from optsim.scenarios import load_scenario

    ini = str(tmp_path / "s.ini")
    w = MainWindow(settings=ini, restore=False)
    qtbot.addWidget(w)
    fa = file_actions.install(w)
    assert w.plot.aspect_locked
    on = tmp_path / "on.json"
    assert fa.save_as(str(on))
    assert "aspect" not in json.loads(on.read_text())
    w.aspect_action.setChecked(False)
    assert not w.plot.aspect_locked
    off = tmp_path / "off.json"
    assert fa.save_as(str(off))
    assert json.loads(off.read_text())["aspect"] == "free"
    assert load_scenario(off).aspect == "free"
    # opening a scenario sets the toggle both ways
    assert fa.open_file(str(on)) and w.aspect_action.isChecked() and w.plot.aspect_locked
    assert fa.open_file(str(off)) and not w.aspect_action.isChecked()
    assert not w.plot.getPlotItem().getViewBox().state["aspectLocked"]
    # the settings: the next window (restoring) starts with it off, then on again
    w.save_settings()
    w2 = MainWindow(settings=ini, restore=True)
    qtbot.addWidget(w2)
    assert not w2.aspect_action.isChecked() and not w2.plot.aspect_locked
    w2.aspect_action.setChecked(True)
    w2.save_settings()
    w3 = MainWindow(settings=ini, restore=True)
    qtbot.addWidget(w3)
    assert w3.aspect_action.isChecked() and w3.plot.aspect_locked
    # a fresh start ignores it
    w.save_settings()
    w4 = MainWindow(settings=ini, restore=False)
    qtbot.addWidget(w4)
    assert w4.aspect_action.isChecked()
    # a bad value is one clear error
    data = json.loads(off.read_text())
    data["aspect"] = "wide"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    with pytest.raises(ScenarioError, match="aspect"):
        load_scenario(bad)


def test_a_scenario_with_free_aspect_exports_stretched(tmp_path):
    """optsim run --scenario with "aspect": "free": x and y each fill the plot."""
    import json

    from PIL import Image

    from optsim.cli import main

    scen = {"version": 1, "function": "elongated-bowl", "steps": 20,
            "runs": [{"optimizer": "sgd", "hyperparams": {"lr": 0.01}}], "aspect": "free"}
    path = tmp_path / "s.json"
    path.write_text(json.dumps(scen))
    out_free, out_equal = tmp_path / "free.png", tmp_path / "equal.png"
    assert main(["run", "--scenario", str(path), "--png", str(out_free), "--size", "960x720"]) == 0
    del scen["aspect"]
    path.write_text(json.dumps(scen))
    assert main(["run", "--scenario", str(path), "--png", str(out_equal), "--size", "960x720"]) == 0
    a = np.asarray(Image.open(out_free).convert("RGB"))
    b = np.asarray(Image.open(out_equal).convert("RGB"))
    # (the same picture twice differs by 0; the stretched landscape by about 5)
    assert a.shape == b.shape and np.abs(a.astype(int) - b.astype(int)).mean() > 3
