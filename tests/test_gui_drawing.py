"""Drawing stays cheap and faithful: trails thinned to one point per pixel, the
current point exact."""

import numpy as np
import pytest

from optsim.render.compute import MAX_DRAWN_POINTS, drop_subpixel, new_pixel_mask


def test_drop_subpixel_keeps_one_point_per_pixel_run():
    rng = np.random.default_rng(3)
    pts = np.cumsum(rng.normal(scale=0.002, size=(5000, 2)), axis=0)
    pixel = (0.01, 0.02)
    keep = new_pixel_mask(pts, pixel)
    assert keep[0] and keep[-1]
    cell = np.floor(pts / pixel)
    # a dropped point is in the same pixel as the point before it
    dropped = np.flatnonzero(~keep)
    assert (cell[dropped] == cell[dropped - 1]).all()
    # a kept point (not the last) starts a new pixel
    kept = np.flatnonzero(keep)[1:-1]
    assert (cell[kept] != cell[kept - 1]).any(axis=1).all()
    assert keep.sum() < len(pts) / 2
    np.testing.assert_array_equal(drop_subpixel(pts, pixel), pts[keep])
    # degenerate pixels leave the points alone
    assert len(drop_subpixel(pts, (0.0, 1.0))) == len(pts)


def test_long_trails_are_thinned_and_end_at_the_current_point(window):
    m = window.model
    window.playback.step(6000)
    for i, r in enumerate(m.runs):
        x, y = window.plot.run_items(i).trail.getData()
        assert 2 <= len(x) <= MAX_DRAWN_POINTS
        np.testing.assert_allclose([x[-1], y[-1]], r.trajectory.positions[-1, 0])
        np.testing.assert_allclose([x[0], y[0]], m.start)
        # every drawn point is a computed position
        pos = r.trajectory.positions[:, 0]
        d = np.min(np.abs(pos[None, :, 0] - x[:, None]) + np.abs(pos[None, :, 1] - y[:, None]),
                   axis=1)
        assert d.max() < 1e-12
        lx, ly = window.history_plot.line(i).getData()
        loss = r.trajectory.losses[-1, 0]
        if window.history_plot.getPlotItem().getAxis("left").logMode:  # drawn as log10
            loss = np.log10(max(loss, 1e-300))  # (a loss of 0 at the bottom: 1e-300)
        assert lx[-1] == 6000 and ly[-1] == pytest.approx(loss)
