"""Runs of many rows while playing: the fans drawn by one FanLayer that grows on a
canvas, the bands thinned to pixel columns from their new steps alone, the
percentiles computed without np.percentile: checked against NumPy, against the
whole data and against a whole repaint of the window (pixels)."""

import numpy as np
import pytest
from PySide6 import QtWidgets
from test_frame_drawing import _differing, _on_screen, _pixels

from optsim.render.compute import row_percentiles
from optsim.render.fans import GrowingBand, thin_band


@pytest.mark.parametrize("k", [1, 2, 3, 7, 64])
def test_row_percentiles_are_numpys(k):
    rng = np.random.default_rng(k)
    losses = np.exp(rng.standard_normal((40, k)) * 3)
    losses[5, 0], losses[6, :] = np.nan, np.inf  # drawn at the top, as the history does
    want = np.percentile(np.fmax(np.fmin(losses, 1e150), -1e150), [10, 50, 90], axis=1).T
    np.testing.assert_allclose(row_percentiles(losses), want, rtol=1e-13)


@pytest.mark.parametrize("seed", range(4))
def test_a_thinned_band_covers_the_band_and_grows_as_thinned_whole(seed):
    rng = np.random.default_rng(seed)
    n = 3000
    x = np.arange(n, dtype=float)
    mid = np.cumsum(rng.standard_normal(n))
    lower, upper = mid - rng.random(n), mid + rng.random(n)
    pixel = [0.7, 3.0, 11.5, 40.0][seed]
    tx, tlo, thi = thin_band(x, lower, upper, pixel)
    assert len(tx) < n / pixel + 3 and tx[0] == 0 and tx[-1] == n - 1
    cols = np.floor(x / pixel)
    for c, lo, hi in zip(np.floor(tx[:-1] / pixel), tlo[:-1], thi[:-1], strict=True):
        inside = cols == c  # each column's extremes: the band is covered
        assert lo == lower[inside].min() and hi == upper[inside].max()
    # grown frame by frame (a few steps at a time) it is the band thinned whole
    band = GrowingBand()
    b = 1
    while b < n:
        b = min(n, b + int(rng.integers(1, 40)))
        got = band.points("key", b, lambda a, e: (x[a:e], lower[a:e], upper[a:e]), pixel)
        want = thin_band(x[:b], lower[:b], upper[:b], pixel)
        for g, w in zip(got, want, strict=True):
            np.testing.assert_array_equal(g, w)
    # another key (a new run, pixel or scale): thinned afresh
    got = band.points("other", n, lambda a, e: (x[a:e], lower[a:e] - 1, upper[a:e]), pixel)
    np.testing.assert_array_equal(got[1], thin_band(x, lower - 1, upper, pixel)[1])


def _play(w, frames: int, steps: int = 16) -> None:
    c = w.playback
    c.set_max_steps(10000)
    c.stop_when_converged = False
    QtWidgets.QApplication.processEvents()
    c.set_playing(True)
    c.timer.stop()
    for _ in range(frames):
        c.step(steps)
        QtWidgets.QApplication.processEvents()


def test_fans_while_playing_are_one_growing_layer_and_whole_items_when_paused(window):
    w = window
    m = w.model
    m.set_run_fan(0, 16, 0.3)
    m.set_run_fan(2, 8, 0.2)
    plot, history = w.figure.loss_plot, w.figure.history
    _play(w, 12)
    t = m.runs[0].trajectory
    n = m.shown_step + 1
    layer = plot.fan_layer
    assert layer.isVisible()
    np.testing.assert_array_equal(layer.fan(0), t.positions[:n])
    assert layer.fan(1) is None and layer.fan(2).shape == (n, 8, 2)
    assert layer._fans[0].on_canvas >= n - 16  # grown: the earlier steps came from the canvas
    paths, dots = plot.fan_items(0)
    assert not paths.isVisible() and not dots.isVisible()  # the layer stands in
    # the band: thinned to pixel columns while playing, and covering the 10-90 % range
    x, lo, hi = history._bands[0].drawn
    assert x[-1] == n - 1
    stats = np.percentile(t.losses[:n], [10, 90], axis=1)
    shown = np.log10 if history._log else (lambda v: v)
    assert lo.min() <= shown(stats[0]).min() + 1e-12 and hi.max() >= shown(stats[1]).max() - 1e-12
    w.playback.set_playing(False)  # paused: the plots' own items, whole
    QtWidgets.QApplication.processEvents()
    assert not layer.isVisible() and paths.isVisible() and dots.isVisible()
    assert len(paths.xData) == 16 * n
    assert len(history._bands[0].drawn[0]) == n  # every step
    lo, hi = history.band(0)
    np.testing.assert_allclose(lo, stats[0])


def test_playing_fans_leaves_nothing_stale_on_screen(window):
    """Frames repaint only the new segments and the rows' points: after many of
    them, what the screen shows of both plots is what painting them whole gives."""
    w = window
    for i, k in ((0, 24), (1, 12), (2, 6)):
        w.model.set_run_fan(i, k, 0.25)
    _play(w, 30)
    assert w.figure.loss_plot.fan_layer._fans[0].on_canvas > 300
    screen = _on_screen(w)
    for plot in (w.plot, w.history_plot):
        vb = plot.getPlotItem().getViewBox()
        box = plot.mapFromScene(vb.sceneBoundingRect()).boundingRect().adjusted(2, 2, -2, -2)
        origin = plot.viewport().mapTo(w, box.topLeft())
        shown = screen[origin.y(): origin.y() + box.height(), origin.x(): origin.x() + box.width()]
        whole = _pixels(plot.viewport().grab(box).toImage())
        assert shown.shape == whole.shape and shown.shape[0] > 50
        assert _differing(shown, whole) <= 30, type(plot).__name__


def test_fans_survive_presentation_mode_and_take_its_size(window):
    """F11's scale draws the runs again: the fans too (stopped and playing), their
    points larger, in the runs' colours."""
    w = window
    w.model.set_run_fan(0, 12, 0.3)
    w.model.step_forward(20)
    plot = w.figure.loss_plot
    plot.set_scale(1.6)
    paths, _dots = plot.fan_items(0)
    assert len(paths.xData) == 12 * 21
    small = plot.fan_layer.dot_px
    _play(w, 3)
    assert plot.fan_layer.fan(0).shape == (w.model.shown_step + 1, 12, 2)
    plot.set_scale(1.0)
    assert plot.fan_layer.fan(0) is not None and plot.fan_layer.dot_px < small
    QtWidgets.QApplication.processEvents()
    stamp = plot.fan_layer._stamps[0].toImage()
    centre = stamp.pixelColor(stamp.width() // 2, stamp.height() // 2)
    colour = plot.run_items(0).style.colour
    assert centre.name().lower() == colour.lower()
