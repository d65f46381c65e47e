"""Drawing for speed while playing, and layout fixes that came with it: the loss
history's step axis, the arrow key beside the runs legend, plain trails while
playing and full ones on pause."""

import numpy as np
import pyqtgraph as pg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6 import QtCore, QtGui, QtWidgets

from optsim.functions import get_function
from optsim.render.compute import GrowingLosses, GrowingThinning, RunStyle, drop_subpixel
from optsim.render.figure import Figure
from optsim.render.items import move_marker
from optsim.render.overlays import StepOverlay
from optsim.render.playback_layer import PlaybackLayer
from optsim.render.plots import LossHistoryPlot, LossPlot
from optsim.simulation import Trajectory, run
from optsim.style import run_colour

STYLES = [RunStyle("sgd", run_colour(0)), RunStyle("adam", run_colour(1))]


def _x_range(plot) -> tuple[float, float]:
    lo, hi = plot.getPlotItem().getViewBox().viewRange()[0]
    return lo, hi


def test_step_axis_has_no_si_prefix_and_starts_at_0_to_10(qtbot):
    h = LossHistoryPlot()
    qtbot.addWidget(h)
    h.resize(600, 250)
    h.set_runs(STYLES)
    axis = h.getPlotItem().getAxis("bottom")
    lo, hi = _x_range(h)
    assert lo <= 0 and 10 <= hi <= 10.5  # 0..10 with a little padding
    h.update_run(0, np.array([3.0, 2.0, 1.5]))
    assert axis.autoSIPrefixScale == 1.0
    assert "x0.001" not in axis.labelString() and "step" in axis.labelString()
    h.update_run(0, np.linspace(3.0, 1.0, 2501))  # a finished run: the range fits it exactly
    lo, hi = _x_range(h)
    assert lo <= 0 and 2500 <= hi <= 2500 * 1.03
    assert axis.autoSIPrefixScale == 1.0


def test_step_range_while_playing_covers_every_step_even_after_a_log_switch(qtbot):
    h = LossHistoryPlot()
    qtbot.addWidget(h)
    h.resize(600, 250)
    h.set_runs(STYLES)
    h.set_playing(True)
    losses = 10.0 ** -np.linspace(0, 6, 400)  # six decades: the scale turns logarithmic
    changes, last = 0, None
    for k in range(1, 400, 3):
        h.update_run(0, losses[: k + 1])
        lo, hi = _x_range(h)
        assert lo <= 0 and hi >= k  # the newest step is always on the plot
        changes += (lo, hi) != last
        last = (lo, hi)
    assert h.getPlotItem().getAxis("left").logMode
    assert h.getPlotItem().getViewBox().state["autoRange"] == [False, False]
    assert changes <= 12  # grown in jumps, not re-ranged on each of the 133 updates


def test_arrow_key_never_covers_the_runs_legend(qtbot):
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.resize(700, 520)
    plot.show()
    fn = get_function("elongated-bowl")
    plot.set_function(fn)
    plot.set_runs([RunStyle(f"a long run name number {i}", run_colour(i)) for i in range(4)])
    ov = StepOverlay(plot.getPlotItem())
    ov.set_function(fn)
    traj = Trajectory(fn, "adam:lr=0.05", [[-1.0, 1.0]])
    traj.advance(3)
    ov.show([(traj, 2, 0, run_colour(0))])
    assert ov.legend.isVisible()
    vb = plot.getPlotItem().getViewBox()
    for pos in ([[-1.0, 1.0], [-0.5, 0.5]], [[0.9, 0.9], [0.5, 0.4]], [[-1.9, -1.9], [0, 0]]):
        plot.update_run(0, np.array(pos))
        plot.place_legend()  # (both move: the key keeps off the legend wherever it goes)
        legend = plot.legend.sceneBoundingRect()
        key = ov.legend.sceneBoundingRect()
        assert key.width() > 0 and legend.width() > 0
        assert not key.intersects(legend), pos
        view = vb.sceneBoundingRect()  # and the key is on the plot or beside it
        assert view.contains(key) or not view.intersects(key)


def _playing_on_the_bowl(qtbot, widget, size: tuple[int, int]):
    """``widget`` (a LossPlot or Figure) shown at ``size`` with STYLES' two runs on
    the elongated bowl, playing."""
    qtbot.addWidget(widget)
    widget.resize(*size)
    widget.show()
    widget.set_function(get_function("elongated-bowl"))
    widget.set_runs(STYLES)
    widget.set_playing(True)
    return widget


def test_trails_are_plain_while_playing_and_whole_again_on_pause(qtbot):
    fig = _playing_on_the_bowl(qtbot, Figure(), (700, 700))
    res = run("elongated-bowl", "sgd:lr=0.02", (-1.0, 1.0), 40)
    fig.update_run(0, res.positions, 40, res.losses)
    items = fig.loss_plot.run_items(0)
    trail, line = items.trail, fig.history.line(0)
    # while playing, one layer per plot draws every run; the run's own items stand
    # aside unpainted, but stay "visible" (the legend shows hidden runs as hidden)
    assert fig.loss_plot.layer.isVisible() and fig.history.layer.isVisible()
    for item in (trail, items.marker, line):
        assert item.isVisible() and item.opacity() == 0.0
    playing = fig.loss_plot.layer.points(0)
    history_playing = fig.history.layer.points(0)
    np.testing.assert_array_equal(history_playing[:, 0], np.arange(41))
    # the scale turned logarithmic (losses span > 2 decades): the layer draws log10
    assert fig.history.getPlotItem().getAxis("left").logMode
    np.testing.assert_allclose(history_playing[:, 1], np.log10(res.losses), rtol=1e-12)
    fig.set_playing(False)
    assert not fig.loss_plot.layer.isVisible() and not fig.history.layer.isVisible()
    assert len(fig.loss_plot.layer.points(0)) == 0  # cleared, not painted stale later
    for item in (trail, items.marker, line):
        assert item.opacity() == 1.0
    assert trail.opts["symbol"] == "o" and trail.opts["antialias"]
    assert line.opts["antialias"]
    x, y = trail.getData()
    np.testing.assert_array_equal(np.column_stack([x, y]), playing)
    np.testing.assert_allclose(np.column_stack([x, y]), res.positions, rtol=0, atol=0)
    np.testing.assert_allclose(line.getData()[1], np.log10(res.losses), rtol=1e-12)  # shown in log
    assert list(items.marker.getData()[0]) == [res.positions[-1, 0]]


def _colour_near(image, centre, colour: str, radius: int = 3) -> bool:
    want = QtGui.QColor(colour)
    cx, cy = round(centre.x()), round(centre.y())
    for dx in range(-radius, radius + 1):
        for dy in range(-radius, radius + 1):
            c = image.pixelColor(cx + dx, cy + dy)
            if max(abs(c.red() - want.red()), abs(c.green() - want.green()),
                   abs(c.blue() - want.blue())) <= 8:
                return True
    return False


def test_the_playback_layer_paints_each_visible_run_where_it_is(qtbot):
    plot = _playing_on_the_bowl(qtbot, LossPlot(), (600, 500))
    ends = {}
    for i, (spec, start) in enumerate([("sgd:lr=0.02", (-1.0, 1.0)), ("adam:lr=0.1", (1.2, -1.0))]):
        res = run("elongated-bowl", spec, start, 30)
        plot.update_run(i, res.positions, 30, res.losses)
        ends[i] = res.positions[-1]
    plot.set_run_visible(1, False)
    qtbot.wait(10)
    image = plot.grab().toImage()
    vb = plot.getPlotItem().getViewBox()

    def pixel(p):
        return plot.mapFromScene(vb.mapViewToScene(QtCore.QPointF(*p)))

    assert _colour_near(image, pixel(ends[0]), STYLES[0].colour)  # run 0's marker
    assert not _colour_near(image, pixel(ends[1]), STYLES[1].colour, radius=6)  # hidden
    plot.set_run_visible(1, True)
    qtbot.wait(10)
    assert _colour_near(plot.grab().toImage(), pixel(ends[1]), STYLES[1].colour)


@pytest.mark.parametrize("n_before", [0, 1, 3])
def test_move_marker_shows_one_point_exactly_there(qtbot, n_before):
    marker = pg.ScatterPlotItem()
    if n_before:
        marker.setData(pos=np.arange(2.0 * n_before).reshape(-1, 2))
    seen = []
    marker.sigPlotChanged.connect(lambda item: seen.append(item))
    move_marker(marker, 0.25, -7.5)
    move_marker(marker, 1.5, 2.0)
    x, y = marker.getData()
    assert list(x) == [1.5] and list(y) == [2.0]
    assert marker.boundingRect().center() == QtCore.QPointF(1.5, 2.0)  # bounds renewed
    assert len(seen) == 2  # observers hear of each move


def test_a_batch_of_history_updates_fits_the_axes_once_at_its_end(qtbot):
    h = LossHistoryPlot()
    qtbot.addWidget(h)
    h.resize(600, 250)
    h.set_runs(STYLES)
    before = _x_range(h)
    with h.batch():
        h.update_run(0, np.linspace(3.0, 1.0, 301))
        h.update_run(1, np.linspace(2.0, 1.5, 501), current=400)
        assert _x_range(h) == before  # nothing fitted yet
        assert h.step_line.value() == 0
    lo, hi = _x_range(h)
    assert lo <= 0 and 500 <= hi <= 500 * 1.03  # the longest history, once
    assert h.step_line.value() == 400  # the last run's shown step
    x, y = h.line(1).getData()
    assert x[-1] == 500 and y[-1] == 1.5  # the lines themselves were set at once


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.lists(st.integers(1, 40), min_size=1, max_size=25),
       st.sampled_from([0.001, 0.01, 0.2]))
def test_growing_thinning_equals_thinning_the_whole_line_each_time(seed, growth, scale):
    """Thinning only the new points of a growing line gives drop_subpixel's points
    of the whole line, after every growth; a new key or a shorter line starts over."""
    rng = np.random.default_rng(seed)
    pts = np.cumsum(rng.normal(scale=scale, size=(sum(growth) + 5, 2)), axis=0)
    pixel = (0.01, 0.02)
    thin = GrowingThinning()
    n, before = 0, []
    for g in growth:
        n += g
        got = thin.points("run", n, lambda a, b: pts[a:b], pixel)
        np.testing.assert_array_equal(got, drop_subpixel(pts[:n], pixel))
        # earlier results keep all but their last point (a playback layer still
        # holds them), and grew says when the new one starts with them
        for earlier, copy in before:
            np.testing.assert_array_equal(earlier[:-1], copy[:-1])
        if before and thin.grew:
            np.testing.assert_array_equal(got[: len(before[-1][1]) - 1], before[-1][1][:-1])
        assert thin.grew == (len(before) > 0 and n - g >= 3)
        before.append((got, got.copy()))
    other = pts[::-1].copy()  # another run (new key), then a rewound one (shorter)
    np.testing.assert_array_equal(thin.points("other", n, lambda a, b: other[a:b], pixel),
                                  drop_subpixel(other[:n], pixel))
    m = max(1, n // 2)
    np.testing.assert_array_equal(thin.points("other", m, lambda a, b: other[a:b], pixel),
                                  drop_subpixel(other[:m], pixel))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["grow", "rewind", "other run", "no source"]),
                          st.integers(0, 300)), min_size=1, max_size=20),
       st.integers(0, 2**32 - 1))
def test_growing_losses_equal_clipping_the_whole_history_each_time(moves, seed):
    """Updated from new losses alone while a run grows, the history's clipped losses
    and their min and max are what clipping the whole history gives, after every
    move; a rewind, another run or no source starts over."""
    rng = np.random.default_rng(seed)
    runs = {}
    for name in ("a", "b"):  # wild values: NaN, ±inf and beyond ±1e150 among them
        y = rng.lognormal(0, 60, 2000) * rng.choice([1, -1], 2000)
        y[rng.random(2000) < 0.03] = np.nan
        y[rng.random(2000) < 0.02] = np.inf
        runs[name] = y
    store, run, n = GrowingLosses(), "a", 1
    for move, amount in moves:
        if move == "grow":
            n = min(n + amount, 2000)
        elif move == "rewind":
            n = max(1, n - amount)
        elif move == "other run":
            run = "b" if run == "a" else "a"
        source = None if move == "no source" else run
        got = store.update(runs[run][:n], source)
        want = np.clip(np.nan_to_num(runs[run][:n], nan=np.inf), -1e150, 1e150)
        np.testing.assert_array_equal(got, want)
        assert (store.lo, store.hi) == (want.min(), want.max())
        above = want[want > 0]
        assert store.lo_positive == (above.min() if len(above) else np.inf)


def test_playback_thins_only_new_points_and_pause_draws_the_whole_line(qtbot):
    fig = _playing_on_the_bowl(qtbot, Figure(), (700, 700))
    traj = Trajectory(get_function("elongated-bowl"), "sgd:lr=0.005", [[-1.0, 1.0]])
    calls = []
    chunk_sizes = []
    thin = fig.loss_plot._thin[0]
    original = thin.points

    def spy(key, n, chunk, pixel):
        def counted(a, b):
            chunk_sizes.append(b - a)
            return chunk(a, b)
        calls.append(n)
        return original(key, n, counted, pixel)

    thin.points = spy
    for _ in range(30):
        traj.advance(16)
        k = traj.steps
        fig.update_run(0, traj.positions[:, 0, :], k, traj.losses[: k + 1, 0], source=traj)
    assert max(chunk_sizes[1:]) == 16  # after the first frame, only the new points
    playing = fig.loss_plot.layer.points(0)
    pixel = fig.loss_plot.pixel_size()
    np.testing.assert_array_equal(playing, drop_subpixel(traj.positions[:, 0, :], pixel))
    fig.set_playing(False)
    x, y = fig.history.line(0).getData()
    assert len(x) and x[-1] == traj.steps  # the whole history again, to the last step
    tx, ty = fig.loss_plot.run_items(0).trail.getData()
    assert (tx[-1], ty[-1]) == tuple(traj.positions[-1, 0])


# -- the playback layer's canvas: each frame draws only what is new ----------------

def _layer_plot(qtbot, size=(500, 420)):
    """A bare plot with a PlaybackLayer for two runs, shown (painted on a widget:
    the layer keeps its lines on a canvas)."""
    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    widget.resize(*size)
    layer = PlaybackLayer(marker_px=17)
    widget.addItem(layer, ignoreBounds=True)
    widget.show()
    QtWidgets.QApplication.processEvents()  # painted (and bounded) for the default range
    widget.getPlotItem().setRange(xRange=(-2, 2), yRange=(-2, 2), padding=0)
    pens = []
    for style in STYLES:
        pen = pg.mkPen(style.colour, width=2.5)
        pen.setCosmetic(True)
        pens.append(pen)
    layer.set_runs(pens, [s.colour for s in STYLES])
    widget.show()
    qtbot.waitExposed(widget)
    return widget, layer


def _spiral(n: int, turn: float = 0.0) -> np.ndarray:
    t = np.linspace(0, 6 * np.pi, n)
    r = 1.8 * np.exp(-t / 8)
    return np.column_stack([r * np.cos(t + turn), r * np.sin(t + turn)])


def _pixels(image: QtGui.QImage) -> np.ndarray:
    image = image.convertToFormat(QtGui.QImage.Format.Format_RGBA8888)
    return np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.width(), 4).copy()


def _painted(widget) -> np.ndarray:
    """The widget painted whole now, as an (H, W, 4) array."""
    QtWidgets.QApplication.processEvents()
    return _pixels(widget.grab().toImage())


def _on_screen(widget) -> np.ndarray:
    """What the window shows after its pending repaints (the offscreen screen keeps
    the window's pixels: what partial repaints left there, not a fresh paint)."""
    QtWidgets.QApplication.processEvents()
    screen = QtWidgets.QApplication.primaryScreen()
    return _pixels(screen.grabWindow(widget.winId()).toImage())


def _redrawn_whole(qtbot, widget, layer, view=None) -> np.ndarray:
    """The same lines drawn from scratch: by a fresh layer in a fresh plot of the
    same size (and ``view``: x and y ranges)."""
    fresh, fresh_layer = _layer_plot(qtbot, (widget.width(), widget.height()))
    if view is not None:
        fresh.getPlotItem().setRange(xRange=view[0], yRange=view[1], padding=0)
    for i, line in enumerate(layer._lines):
        fresh_layer.set_visible(i, line.visible)
        fresh_layer.set_line(i, layer.points(i) if line.points is not None else None)
    return _painted(fresh)


def _differing(a: np.ndarray, b: np.ndarray) -> int:
    return int((np.abs(a.astype(int) - b.astype(int)).max(axis=2) > 8).sum())


def test_a_line_grown_frame_by_frame_looks_as_if_drawn_whole(qtbot):
    widget, layer = _layer_plot(qtbot)
    a, b = _spiral(400), _spiral(300, turn=2.0)
    for n in range(2, 401, 7):  # frames of a few new points, each repainting a little
        layer.set_line(0, a[:n])
        layer.set_line(1, b[: min(n, 300)])
        QtWidgets.QApplication.processEvents()
    assert layer._lines[0].on_canvas > 300  # most of it came from the canvas
    grown, whole = _on_screen(widget), _redrawn_whole(qtbot, widget, layer)
    empty = _painted(_layer_plot(qtbot, (widget.width(), widget.height()))[0])
    assert _differing(whole, empty) > 2000  # the lines are there
    # pieces with square ends cover what the whole polyline covers (a missing joint
    # segment in each frame's piece made 566 pixels differ; square ends make 10)
    assert _differing(grown, whole) <= 20


def test_a_frame_that_only_grows_a_line_repaints_a_small_area(qtbot):
    widget, layer = _layer_plot(qtbot)
    a = _spiral(400)
    layer.set_line(0, a[:200])
    _painted(widget)
    layer.set_line(0, a[:202])  # a first frame after showing it repaints it whole
    qtbot.wait(20)
    areas = []

    class Spy(QtCore.QObject):
        def eventFilter(self, obj, ev):
            if ev.type() == QtCore.QEvent.Type.Paint:
                r = ev.region().boundingRect()
                areas.append(r.width() * r.height())
            return False

    spy = Spy()
    widget.viewport().installEventFilter(spy)
    layer.set_line(0, a[:204])
    QtWidgets.QApplication.processEvents()
    widget.viewport().removeEventFilter(spy)
    viewport = widget.viewport().width() * widget.viewport().height()
    assert areas and max(areas) < 0.05 * viewport  # not the lines' bounding box
    assert layer._lines[0].on_canvas == 203  # the last segment stays live


def test_a_repaint_next_to_a_resting_marker_redraws_the_marker_whole(qtbot):
    """A line passing about 20 px from a run's resting marker repaints a band that
    takes in part of the marker, not its centre: the marker is drawn again there."""
    widget, layer = _layer_plot(qtbot)
    layer.set_line(1, np.array([[-1.0, -0.5], [0.0, 0.0]]))  # at rest at (0, 0)
    px = widget.getPlotItem().getViewBox().viewPixelSize()[1]
    xs = np.linspace(-1.5, 1.5, 120)
    path = np.column_stack([xs, np.full_like(xs, 20 * px)])
    layer.set_line(0, path[:2])
    QtWidgets.QApplication.processEvents()
    for n in range(3, 121, 3):
        layer.set_line(0, path[:n])
        QtWidgets.QApplication.processEvents()
    assert _differing(_on_screen(widget), _redrawn_whole(qtbot, widget, layer)) <= 20


ZOOMED = ((-1.0, 1.5), (-1.5, 1.0))


@pytest.mark.parametrize("change", ["rewind", "other line", "hide", "zoom", "resize", "clear",
                                    "other short line"])
def test_a_change_other_than_growth_leaves_nothing_stale(qtbot, change):
    widget, layer = _layer_plot(qtbot)
    a, b = _spiral(400), _spiral(300, turn=2.0)
    for n in range(2, 400, 40):
        layer.set_line(0, a[:n])
        layer.set_line(1, b[: min(n, 300)])
        QtWidgets.QApplication.processEvents()
    before = _on_screen(widget)
    view = None
    if change == "rewind":  # Reset, or a step back
        layer.set_line(0, a[:50])
    elif change == "other line":  # a restarted run: the same length, other points
        layer.set_line(1, _spiral(300, turn=4.0))
    elif change == "hide":
        layer.set_visible(0, False)
    elif change == "zoom":
        view = ZOOMED
        widget.getPlotItem().setRange(xRange=view[0], yRange=view[1], padding=0)
    elif change == "resize":
        widget.resize(420, 380)
    elif change == "other short line":  # two points (none on the canvas), then two others
        layer.set_line(1, np.array([[-1.5, 1.5], [-1.0, 1.2]]))
        _on_screen(widget)
        layer.set_line(1, np.array([[1.0, -1.0], [1.2, -1.5]]))
    else:
        layer.clear()
    shown = _on_screen(widget)
    if shown.shape == before.shape:
        assert _differing(shown, before) > 500  # the change shows
    assert _differing(shown, _redrawn_whole(qtbot, widget, layer, view)) <= 50


def test_an_exported_picture_draws_the_layer_as_vectors_not_the_canvas(qtbot):
    widget, layer = _layer_plot(qtbot)
    layer.set_line(0, _spiral(400))
    _painted(widget)
    image = QtGui.QImage(800, 700, QtGui.QImage.Format.Format_ARGB32)
    image.fill(QtCore.Qt.GlobalColor.white)
    painter = QtGui.QPainter(image)
    widget.scene().render(painter)  # twice the widget's size: the canvas would not fit
    painter.end()
    assert layer._canvas.size() == widget.viewport().size()  # the window's canvas, untouched
    colour = QtGui.QColor(STYLES[0].colour)
    px = np.frombuffer(image.convertToFormat(QtGui.QImage.Format.Format_RGBA8888).constBits(),
                       np.uint8).reshape(700, 800, 4)
    near = (np.abs(px[..., :3].astype(int) - [colour.red(), colour.green(), colour.blue()])
            .max(axis=2) <= 8)
    assert near.sum() > 1000  # the line is there, drawn at the picture's scale


def test_playing_in_the_window_leaves_nothing_stale_on_screen(window):
    """Frames repaint only what changed (new segments, markers, arrows, the step
    line): after many of them, what the screen shows of both plots' views is
    what painting them whole gives."""
    w = window
    for spec in ("nesterov:lr=0.01", "adagrad:lr=0.3", "adamw:lr=0.05", "ema-momentum:lr=0.05"):
        w.model.add_run(spec)
    w.model.select(1)  # a moving run's arrows
    c = w.playback
    c.set_max_steps(10000)
    c.stop_when_converged = False
    QtWidgets.QApplication.processEvents()
    c.set_playing(True)
    c.timer.stop()
    for _ in range(40):
        c.step(16)
        QtWidgets.QApplication.processEvents()
    screen = _on_screen(w)
    for plot in (w.plot, w.history_plot):
        vb = plot.getPlotItem().getViewBox()
        box = plot.mapFromScene(vb.sceneBoundingRect()).boundingRect().adjusted(2, 2, -2, -2)
        origin = plot.viewport().mapTo(w, box.topLeft())
        shown = screen[origin.y(): origin.y() + box.height(), origin.x(): origin.x() + box.width()]
        whole = _pixels(plot.viewport().grab(box).toImage())
        assert shown.shape == whole.shape and shown.shape[0] > 50  # (the history: ~64 rows)
        assert _differing(shown, whole) <= 20, type(plot).__name__


def test_a_line_said_to_have_grown_but_given_in_a_new_array_is_drawn_anew(qtbot):
    """``grown`` spares comparing a line with what the canvas holds only for a view
    of the same buffer as before (the caller's growing line): a line in a new
    array is compared, and drawn anew when it differs."""
    widget, layer = _layer_plot(qtbot)
    a = _spiral(400)
    layer.set_line(0, a[:200])
    _painted(widget)
    layer.set_line(0, a[:202])
    QtWidgets.QApplication.processEvents()
    assert layer._lines[0].on_canvas == 201
    b = a[:250].copy()
    b[:150] *= 0.5  # another line, claimed to have grown
    layer.set_line(0, b, grown=True)
    QtWidgets.QApplication.processEvents()
    assert _differing(_on_screen(widget), _redrawn_whole(qtbot, widget, layer)) <= 20


def test_markers_drawn_from_pictures_look_as_drawn_as_vectors(qtbot):
    """On the window the markers are pictures of them made once; an export draws
    them as vectors. The two agree: exactly at a pixel's centre, elsewhere to
    within the half pixel a picture is moved to sit on whole pixels. A pixel
    ratio of 2 makes pictures twice as fine."""
    _, layer = _layer_plot(qtbot)

    def markers(ratio, a, b):
        layer.set_line(0, np.array([[-1.5, -1.0], a]))
        layer.set_line(1, np.array([[1.5, -1.0], b]))
        image = QtGui.QImage(100, 64, QtGui.QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(QtCore.Qt.GlobalColor.white)
        painter = QtGui.QPainter(image)  # (item units are pixels here)
        layer._paint_markers(painter, None, ratio)
        painter.end()
        return _pixels(image)

    def centre(pixels, x0, x1):  # of the marker's ink in columns x0..x1
        ink = 255 * 3 - pixels[:, x0:x1, :3].astype(float).sum(axis=2)
        ys, xs = np.indices(ink.shape)
        return np.array([(xs * ink).sum() / ink.sum() + x0, (ys * ink).sum() / ink.sum()])

    on_grid = ([31.5, 40.5], [70.5, 22.5])
    vectors = markers(None, *on_grid)
    assert (vectors[..., :3] < 250).any(axis=2).sum() > 300  # two markers are there
    assert _differing(vectors, markers(1.0, *on_grid)) <= 10
    off_grid = ([31.3, 40.7], [70.25, 22.9])
    vectors, pictures = markers(None, *off_grid), markers(1.0, *off_grid)
    for x0, x1 in ((15, 50), (55, 90)):
        assert np.abs(centre(vectors, x0, x1) - centre(pictures, x0, x1)).max() <= 0.6
    fine = layer._stamps(2.0)
    assert fine[0].width() == 2 * layer._stamps(1.0)[0].width()
    assert fine[0].deviceIndependentSize() == layer._stamps(1.0)[0].deviceIndependentSize()
