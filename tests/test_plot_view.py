"""The shared plot views: items made once, clicks, a view that diverged runs cannot
blow up, contours and tangents checked against closed forms."""

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6 import QtCore

from optsim.functions import get_function
from optsim.render.compute import (
    MAX_DRAWN_POINTS,
    RunStyle,
    colour_values,
    contour_segments,
    decimate,
    loss_label,
    pretty_formula,
)
from optsim.render.figure import Figure
from optsim.render.items import FixedScatter
from optsim.render.plots import LossHistoryPlot, LossPlot
from optsim.simulation import run
from optsim.style import run_colour

STYLES = [RunStyle("sgd", run_colour(0)), RunStyle("adam", run_colour(1))]


@pytest.fixture
def plot2d(qtbot):
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.resize(640, 480)
    plot.set_function(get_function("rosenbrock"))
    plot.set_runs(STYLES)
    return plot


def label_value(text: str) -> float:
    """A tick label's number: plain ("0.5", "−2") or a×10ⁿ ("2.1×10⁹", "10⁻⁵")."""
    text = text.replace("−", "-")
    sup = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
    if "10" in text and any(c in text for c in "⁰¹²³⁴⁵⁶⁷⁸⁹"):
        mant, _, power = text.rpartition("10")
        mant = mant.rstrip("×") or "1"
        return float(mant) * 10.0 ** int(power.translate(sup))
    return float(text)


def _view_range(plot):
    return np.array(plot.getPlotItem().getViewBox().viewRange())



def _shown(qtbot, widget, size: tuple[int, int]):
    """``widget``, owned by the test, at ``size``, shown and exposed."""
    qtbot.addWidget(widget)
    widget.resize(*size)
    widget.show()
    qtbot.waitExposed(widget)
    return widget

def test_items_are_created_once_and_updated_in_place(plot2d):
    items = [(r.trail, r.marker) for r in (plot2d.run_items(0), plot2d.run_items(1))]
    image, contours = plot2d.image, plot2d.contours
    n_items = len(plot2d.getPlotItem().items)
    res = run("rosenbrock", "adam:lr=0.05", (-1.5, 2.0), 50)
    for k in (0, 10, 50):
        plot2d.update_run(0, res.positions, current=k)
        plot2d.update_run(1, res.positions[: k + 1])
        x, y = plot2d.run_items(0).trail.getData()
        np.testing.assert_array_equal(x, res.positions[: k + 1, 0])
        np.testing.assert_array_equal(y, res.positions[: k + 1, 1])
        pos = plot2d.run_items(0).marker.getData()
        assert (pos[0][0], pos[1][0]) == tuple(res.positions[k])
    assert [(r.trail, r.marker) for r in (plot2d.run_items(0), plot2d.run_items(1))] == items
    assert plot2d.image is image and plot2d.contours is contours
    assert len(plot2d.getPlotItem().items) == n_items


def test_grid_is_not_recomputed_on_zoom_or_same_function(plot2d):
    grid = plot2d.image.image
    plot2d.getPlotItem().getViewBox().setRange(xRange=(0, 0.5), yRange=(0, 0.5), padding=0)
    plot2d.set_function(get_function("rosenbrock"))
    assert plot2d.image.image is grid
    plot2d.set_function(get_function("rosenbrock"), view=((-1.0, 1.0), (-1.0, 1.0)))
    assert plot2d.image.image is not grid


def test_long_runs_are_thinned_but_the_current_point_is_exact(plot2d):
    k = 50_000
    t = np.linspace(0, 1, k + 1)
    pos = np.column_stack([np.cos(t), np.sin(t)])
    current = 37_777
    plot2d.update_run(0, pos, current=current)
    x, y = plot2d.run_items(0).trail.getData()
    assert len(x) <= MAX_DRAWN_POINTS + 3
    assert (x[-1], y[-1]) == tuple(pos[current])
    assert (x[0], y[0]) == tuple(pos[0])
    idx = decimate(current + 1, current)
    assert idx[-1] == current and np.all(np.diff(idx) > 0)


def test_diverged_values_do_not_change_the_view(plot2d):
    before = _view_range(plot2d)
    pos = np.array([[-1.5, 2.0], [40.0, -30.0], [1e300, -1e300], [np.inf, np.nan]])
    plot2d.update_run(0, pos)
    plot2d.set_start_marker((1e300, 1e300))
    QtCore.QCoreApplication.processEvents()
    np.testing.assert_array_equal(_view_range(plot2d), before)
    x, y = plot2d.run_items(0).trail.getData()
    assert np.isfinite(x).all() and np.isfinite(y).all()
    (x0, x1), (y0, y1) = get_function("rosenbrock").view
    assert np.abs(x).max() <= 50 * (x1 - x0) and np.abs(y).max() <= 50 * (y1 - y0) + 1
    # the view cannot be zoomed out past the clip box either
    plot2d.getPlotItem().getViewBox().setRange(xRange=(-1e300, 1e300), padding=0)
    assert np.abs(_view_range(plot2d)).max() < 1e3


def test_left_click_emits_plot_coordinates(plot2d, qtbot):
    plot2d.show()
    qtbot.waitExposed(plot2d)
    plot2d.getPlotItem().getViewBox().setRange(xRange=(-2, 2), yRange=(-1, 3), padding=0)
    QtCore.QCoreApplication.processEvents()
    vb = plot2d.getPlotItem().getViewBox()
    target = QtCore.QPointF(-0.5, 0.25)  # away from the legend (top right)
    scene = vb.mapViewToScene(target)
    widget_pos = plot2d.mapFromScene(scene)
    with qtbot.waitSignal(plot2d.clicked, timeout=2000) as blocker:
        qtbot.mouseClick(plot2d.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=widget_pos)
    x, y = blocker.args
    px = 4.0 / vb.width()  # one pixel in plot units
    assert abs(x - target.x()) < 2 * px + 1e-9
    assert abs(y - target.y()) < 2 * 4.0 / vb.height() + 1e-9
    received = []
    plot2d.clicked.connect(lambda *a: received.append(a))
    qtbot.mouseClick(plot2d.viewport(), QtCore.Qt.MouseButton.RightButton, pos=widget_pos)
    assert received == []


def test_1d_ball_on_curve_and_tangent_slope(qtbot):
    plot = LossPlot()
    qtbot.addWidget(plot)
    fn = get_function("cubic")
    plot.set_function(fn)
    plot.set_runs(STYLES[:1])
    xs = np.array([[7.0], [6.0], [5.5]])
    plot.update_run(0, xs)
    items = plot.run_items(0)
    px, py = items.marker.getData()
    assert px[0] == 5.5 and py[0] == pytest.approx(5.5**3 - 5 * 5.5**2 + 10)
    tx, ty = items.tangent.getData()
    slope = (ty[1] - ty[0]) / (tx[1] - tx[0])
    assert slope == pytest.approx(3 * 5.5**2 - 10 * 5.5)  # d/dx (x³ - 5x² + 10)
    assert np.interp(5.5, tx, ty) == pytest.approx(py[0])
    trail_x, trail_y = items.trail.getData()
    np.testing.assert_allclose(trail_y, trail_x**3 - 5 * trail_x**2 + 10)
    assert not plot.image.isVisible() and plot.curve.isVisible()


def test_switching_dimension_keeps_runs(qtbot):
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.set_function(get_function("bowl"))
    plot.set_runs(STYLES)
    plot.set_function(get_function("cubic"))
    assert plot.run_items(1).tangent is not None
    plot.update_run(1, np.array([[1.0], [2.0]]))
    plot.set_function(get_function("bowl"))
    assert plot.run_items(1).tangent is None and plot.image.isVisible()


def test_run_visibility(plot2d):
    plot2d.set_run_visible(1, False)
    assert not plot2d.run_items(1).trail.isVisible()
    assert not plot2d.run_items(1).marker.isVisible()
    plot2d.set_run_visible(1, True)
    assert plot2d.run_items(1).marker.isVisible()


def test_contours_of_a_bowl_are_circles():
    xs = np.linspace(-2, 2, 101)
    X, Y = np.meshgrid(xs, xs)
    z = X**2 + Y**2
    cx, cy = contour_segments(xs, xs, z, [1.0, 2.25])
    assert len(cx) % 2 == 0 and len(cx) > 100
    r = np.hypot(cx, cy)
    near1, near15 = np.abs(r - 1) < 0.1, np.abs(r - 1.5) < 0.1
    assert (near1 | near15).all()  # every point lies on one of the two circles
    assert near1.sum() > 50 and near15.sum() > 50
    # linear interpolation on a 0.04 grid: within grid-spacing² of the true radius
    assert np.abs(r[near1] - 1).max() < 0.04**2
    # segments are short (pairs join neighbouring edge crossings, not far points)
    seg = np.hypot(cx[1::2] - cx[::2], cy[1::2] - cy[::2])
    assert seg.max() < 0.04 * 1.5


def test_saddle_cells_give_two_segments():
    xs = np.array([0.0, 1.0])
    z = np.array([[1.0, -1.0], [-1.0, 1.0]])  # corners alternate: the ambiguous case
    cx, cy = contour_segments(xs, xs, z, [0.0])
    assert len(cx) == 4  # two segments, each cutting off a corner


def test_colour_scale_choice():
    xs = np.linspace(-2, 2, 50)
    X, Y = np.meshgrid(xs, xs + 1)
    rosen = (1 - X) ** 2 + 100 * (Y - X**2) ** 2
    _, log, _ = colour_values(rosen, None)
    assert log  # a valley: most of the range is far above where the runs move
    spike = np.ones((50, 50))
    spike[0, 0] = 1e9
    values, log, zmin = colour_values(spike, None)
    assert log and zmin == 1.0
    assert values[0, 0] == pytest.approx(np.log10(1e9 - 1 + (1e9 - 1) * 1e-6))
    bowl = X**2 + Y**2
    _, log, _ = colour_values(bowl, None)
    assert log  # evenly spaced levels put one or two rings where runs end up
    plane = X + 2 * Y
    values, log, _ = colour_values(plane, None)
    assert not log and values is not plane and np.array_equal(values, plane)
    nan = plane.copy()
    nan[3, 3] = np.nan
    values, _, _ = colour_values(nan, False)
    assert values[3, 3] == np.nanmax(nan)


def test_log_levels_are_round_and_spaced_by_ratio():
    from optsim.render.compute import log_levels
    levels = 10 ** log_levels(np.log10(0.05), np.log10(300))
    assert 8 <= len(levels) <= 20
    mantissa = levels / 10 ** np.floor(np.log10(levels) + 1e-9)
    assert np.isin(np.round(mantissa, 6), [1, 1.5, 2, 3, 5, 7]).all()
    assert (np.diff(np.log10(levels)) > 0).all()
    wide = log_levels(-30, 3)  # 33 decades: one level per decade or fewer
    assert len(wide) <= 20 and np.allclose(wide, np.round(wide))


def test_history_log_scale_only_for_positive_wide_losses(qtbot):
    h = LossHistoryPlot()
    qtbot.addWidget(h)
    h.set_runs(STYLES)
    h.update_run(0, np.array([100.0, 10.0, 1.0, 0.01]))
    assert h.getPlotItem().getAxis("left").logMode
    h.update_run(1, np.array([5.0, -3.0, -20.0]), current=1)
    assert not h.getPlotItem().getAxis("left").logMode  # the cubic: negative losses
    assert h.step_line.value() == 1
    h.set_run_visible(1, False)
    assert h.getPlotItem().getAxis("left").logMode
    x, y = h.line(0).getData()
    np.testing.assert_array_equal(x, [0, 1, 2, 3])


def test_a_loss_reaching_zero_keeps_the_history_logarithmic(qtbot):
    """A run that converges exactly (its loss underflows to 0) does not flip the
    history to a linear scale, where every falling curve lay flat: the scale stays
    logarithmic down to the smallest loss above zero, and the zeros go off its
    bottom edge."""
    h = LossHistoryPlot()
    qtbot.addWidget(h)
    h.resize(600, 250)
    h.set_runs(STYLES)
    falling = 10.0 ** -np.arange(0.0, 40.0)
    h.update_run(0, falling)
    h.update_run(1, np.concatenate([10.0 ** -np.arange(0.0, 20.0), [0.0, 0.0]]))
    assert h.getPlotItem().getAxis("left").logMode
    lo, hi = h.y_range
    assert -42 < lo < -39 and 0 <= hi < 2  # log10 of 1e-39 .. 1, not of 1e-300
    h.update_run(0, np.zeros(5))  # only zeros and the other run's decades
    assert h.getPlotItem().getAxis("left").logMode
    h.update_run(1, np.zeros(5))  # nothing above zero: linear
    assert not h.getPlotItem().getAxis("left").logMode


def test_history_range_ignores_runs_that_fall_forever(qtbot):
    fig = Figure()
    qtbot.addWidget(fig)
    fig.set_function(get_function("cubic"))  # view: loss in [-40, 120]
    fig.set_runs(STYLES)
    good = run("cubic", "sgd:lr=0.01", (7.0,), 60)
    bad = run("cubic", "momentum:lr=0.01", (7.0,), 60)
    assert bad.losses.min() < -1e6  # it fell off to the left
    fig.update_run(0, good.positions, None, good.losses)
    fig.update_run(1, bad.positions, None, bad.losses)
    lo, hi = fig.history.y_range
    span = 120 - -40
    assert -40 - span - 0.1 * 3 * span <= lo < good.losses.min()
    assert hi >= good.losses.max()
    fig.set_run_visible(1, False)
    lo, _ = fig.history.y_range
    assert lo > -40  # only the settled run's losses now


def test_figure_forwards_to_both_plots(qtbot):
    fig = Figure()
    qtbot.addWidget(fig)
    fig.set_function(get_function("bowl"))
    fig.set_runs(STYLES)
    res = run("bowl", "sgd:lr=0.1", (-1.5, 1.5), 10)
    fig.update_run(0, res.positions, 4, res.losses)
    x, _ = fig.history.line(0).getData()
    assert len(x) == 11 and fig.history.step_line.value() == 4
    tx, _ = fig.loss_plot.run_items(0).trail.getData()
    assert len(tx) == 5
    assert Figure(with_history=False).history is None


def test_pretty_formula():
    assert pretty_formula("(1 - x)**2 + 100*(y - x**2)**2") == "(1 − x)² + 100·(y − x²)²"
    assert pretty_formula("x**-1 + x**2.5") == "x⁻¹ + x^2.5"


def test_legend_moves_away_from_the_runs(plot2d, qtbot):
    plot2d.show()
    qtbot.waitExposed(plot2d)
    vb = plot2d.getPlotItem().getViewBox()
    for corner in [(1.8, 2.8), (-1.8, -0.8)]:  # top right, then bottom left
        pos = np.array([corner, [corner[0] * 0.95, corner[1] * 0.95]])
        plot2d.update_run(0, pos)
        plot2d.update_run(1, pos[::-1])
        plot2d.place_legend()
        QtCore.QCoreApplication.processEvents()
        legend = plot2d.legend.sceneBoundingRect()
        assert legend.width() > 0
        for p in pos:
            assert not legend.contains(vb.mapViewToScene(QtCore.QPointF(*p)))


def test_a_drag_is_not_a_click(plot2d, qtbot):
    plot2d.show()
    qtbot.waitExposed(plot2d)
    vb = plot2d.getPlotItem().getViewBox()
    start = plot2d.mapFromScene(vb.mapViewToScene(QtCore.QPointF(-0.5, 0.25)))
    end = start + QtCore.QPoint(60, 40)
    received = []
    plot2d.clicked.connect(lambda *a: received.append(a))
    before = _view_range(plot2d)
    left = QtCore.Qt.MouseButton.LeftButton
    qtbot.mousePress(plot2d.viewport(), left, pos=start)
    for t in np.linspace(0, 1, 8)[1:]:
        qtbot.mouseMove(plot2d.viewport(), start + (end - start) * t)
    qtbot.mouseRelease(plot2d.viewport(), left, pos=end)
    QtCore.QCoreApplication.processEvents()
    assert received == []
    assert not np.array_equal(_view_range(plot2d), before)  # the drag panned instead


def test_view_as_lists_does_not_recompute_and_bad_views_are_refused(plot2d):
    fn = get_function("rosenbrock")
    plot2d.set_function(fn, [[-1, 1], [-1, 2]])
    grid = plot2d.image.image
    plot2d.set_function(fn, ((-1.0, 1.0), (-1.0, 2.0)))
    assert plot2d.image.image is grid
    for bad in [((1, -1), (0, 1)), ((0, 1), (0, np.inf)), ((0, 1),), "abc"]:
        with pytest.raises(ValueError, match="view"):
            plot2d.set_function(fn, bad)


def test_colour_bar_labels_are_short():
    assert [loss_label(v) for v in (13, 103, 1003, 10003, 0.1, 0.0123, 1e-5, 0)] == \
        ["13", "100", "1000", "1e4", "0.1", "0.012", "1e-5", "0"]


def test_a_long_title_wraps_instead_of_pushing_the_colour_bar_out(qtbot):
    fig = _shown(qtbot, Figure(), (480, 400))
    fn = get_function("goldstein-price")
    assert len(fn.formula) > 100
    fig.set_function(fn)
    QtCore.QCoreApplication.processEvents()
    plot = fig.loss_plot
    assert plot.getPlotItem().size().width() <= plot.width() + 0.5
    bar = plot.colorbar.sceneBoundingRect()
    assert bar.right() <= plot.width() + 0.5
    assert fig.title.text().startswith("goldstein-price:") and fig.title.width() <= 480




@pytest.mark.parametrize("losses", [np.linspace(0.5, 0.3, 50), np.linspace(3e9, 2e9, 50)])
def test_axes_show_values_as_they_are_without_si_scaling(qtbot, losses):
    """pyqtgraph scales unitless axes under 1 or over 1e9 ("loss (x0.001)" over
    ticks "300, 400"); optsim's axes show the values themselves."""
    fig = Figure()
    qtbot.addWidget(fig)
    fig.resize(700, 700)
    fig.show()
    fig.set_function(get_function("bowl"))
    fig.set_runs([RunStyle("a", "#E69F00")])
    fig.history.update_run(0, losses)
    qtbot.wait(10)
    plots = [fig.history.getPlotItem(), fig.loss_plot.getPlotItem()]
    axes = [p.getAxis(name) for p in plots for name in ("left", "bottom")]
    axes.append(fig.loss_plot.colorbar.getAxis("right"))
    for axis in axes:
        assert axis.autoSIPrefixScale == 1.0
        assert "(x" not in axis.labelString()
    for p in plots:  # the hidden axes too (each range change laid out their labels)
        assert not any(p.getAxis(name).autoSIPrefix for name in ("left", "bottom", "top", "right"))
        assert [p.getAxis(name).isVisible() for name in ("left", "bottom", "top", "right")] \
            == [True, True, False, False]
    left = fig.history.getPlotItem().getAxis("left")
    lo, hi = fig.history.y_range
    strings = left.tickStrings([lo, hi], left.autoSIPrefixScale, hi - lo)
    assert label_value(strings[-1]) == pytest.approx(hi, rel=0.05)  # a loss reads as itself


def test_history_step_line_spans_the_view_and_repaints_a_thin_band(qtbot):
    h = _shown(qtbot, LossHistoryPlot(), (600, 300))
    h.set_runs(STYLES)
    h.update_run(0, np.linspace(10.0, 1.0, 50), current=20)
    QtCore.QCoreApplication.processEvents()
    vb = h.getPlotItem().getViewBox()

    def spans() -> None:
        line = h.step_line.line()
        (_, _), (y0, y1) = vb.viewRange()
        assert line.x1() == line.x2() == h.step_line.value() == 20
        assert (line.y1(), line.y2()) == pytest.approx((y0, y1))

    spans()
    h.getPlotItem().setYRange(-50.0, 80.0, padding=0)  # the view moves: the line follows
    QtCore.QCoreApplication.processEvents()
    spans()
    # its bounds are a few pixels wide on screen (a cosmetic pen's width taken for
    # data units would make them as wide as the steps axis' units)
    h.set_step(30)
    width = h.mapFromScene(h.step_line.sceneBoundingRect()).boundingRect().width()
    assert 1 <= width <= 10


def test_fixed_scatter_bounds_follow_its_points_sizes_and_the_view(qtbot):
    """FixedScatter keeps its bounds between changes: after each change they are
    what pyqtgraph's ScatterPlotItem works out afresh."""
    widget = _shown(qtbot, pg.PlotWidget(), (400, 300))
    fixed, plain = FixedScatter(size=13), pg.ScatterPlotItem(size=13)
    for item in (fixed, plain):
        widget.addItem(item)

    def same() -> None:
        QtCore.QCoreApplication.processEvents()
        assert fixed.boundingRect() == plain.boundingRect()

    for item in (fixed, plain):
        item.setData(pos=[[0.0, 0.0], [1.0, 2.0]])
    same()
    for item in (fixed, plain):
        item.setData(pos=[[-3.0, 1.0]])  # moved
    same()
    for item in (fixed, plain):
        item.setSize(30)  # larger symbols: more padding
    same()
    widget.getPlotItem().setRange(xRange=(-10, 10), yRange=(-1, 1), padding=0)  # zoomed
    same()
    widget.resize(300, 500)  # the view's pixels change size
    same()
    assert fixed.boundingRect().width() > 0
