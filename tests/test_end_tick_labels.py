"""A horizontal axis labels a tick right at its range's end: rosenbrock's view
x ∈ [−2, 2] read "−1.5 … 1.5" (pyqtgraph leaves out a label that sticks out of the
axis' rectangle), and the loss history's last step went unlabelled. Where an end
label truly cannot fit (the corner by the vertical axis' labels) it is left out
and no label is drawn cut or over another."""

from __future__ import annotations

import pytest
from axis_labels import drawn_tick_labels

from optsim.export.image import build_figure
from optsim.simulation import run

SIZES = [(1280, 720), (1920, 1080)]


def _settle(widget) -> None:
    from PySide6.QtWidgets import QApplication

    for _ in range(3):
        QApplication.processEvents()
    widget.grab()  # (pyqtgraph lays the axes out as it paints)


def _labels(plot, side: str = "bottom") -> dict:
    return {t: r for t, r in drawn_tick_labels(plot, side) if t}


def _assert_whole_and_apart(plot) -> None:
    """Every drawn label of the bottom and left axes inside the widget, none over
    another."""
    rects = [(t, r) for side in ("bottom", "left") for t, r in drawn_tick_labels(plot, side) if t]
    inside = plot.viewport().rect()
    for text, rect in rects:
        assert inside.contains(rect), (text, rect, inside)
    for i, (ta, a) in enumerate(rects):
        for tb, b in rects[i + 1:]:
            assert not a.intersects(b), (ta, a, tb, b)


def _rosenbrock_runs(steps: int = 100) -> list:
    r = run("rosenbrock", "adam:lr=0.05", [(-1.5, 2.0)], steps)
    return [("adam", "#009E73", r.positions.reshape(steps + 1, -1), r.losses.reshape(-1))]


@pytest.mark.parametrize("size", SIZES)
def test_exported_picture_labels_both_ends_of_rosenbrocks_x_range(size):
    """The export's view x ∈ [−2, 2] (rosenbrock's) labels −2 and 2, whole; the
    history labels its last step (100)."""
    fig = build_figure("rosenbrock", _rosenbrock_runs(), size=size, view=((-2.0, 2.0), (-1.0, 3.0)))
    try:
        _settle(fig)
        plot = fig.loss_plot
        lo, hi = plot.getPlotItem().getViewBox().viewRange()[0]
        assert (lo, hi) == pytest.approx((-2.0, 2.0))
        drawn = _labels(plot)
        assert "−2" in drawn and "2" in drawn, sorted(drawn)
        _assert_whole_and_apart(plot)
        hist = fig.history
        vb = hist.getPlotItem().getViewBox()
        assert vb.viewRange()[0][0] < 100 <= vb.viewRange()[0][1]
        drawn = _labels(hist)
        assert "100" in drawn, sorted(drawn)
        _assert_whole_and_apart(hist)
    finally:
        fig.hide()
        fig.deleteLater()


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("presentation", [False, True])
def test_window_labels_a_tick_at_either_end_of_its_horizontal_axes(qtbot, tmp_path, size, presentation):
    """The window's landscape and history, their x ranges made to end on ticks."""
    from windows import window_at

    w = window_at(qtbot, tmp_path, size, "himmelblau")
    if presentation:
        w.set_presentation(True)
    w.plot.set_aspect_locked(False)
    w.plot.getPlotItem().getViewBox().setYRange(-4.7, 4.7, padding=0)  # (the corner: below)
    try:
        for plot, (lo, hi) in ((w.plot, (-4.3, 4.3)), (w.history_plot, (0.0, 57.0))):
            ends = _end_on_ticks(plot, lo, hi)
            drawn = _labels(plot)
            for end in ends:
                assert end in drawn, (end, sorted(drawn), plot.getPlotItem().getViewBox().viewRange())
            _assert_whole_and_apart(plot)
    finally:
        w.plot.set_aspect_locked(True)
        if presentation:
            w.set_presentation(False)


def _end_on_ticks(plot, lo: float, hi: float) -> tuple[str, str]:
    """The plot's x range made to end on its outermost labelled ticks inside
    ``lo``..``hi``; their labels."""
    vb = plot.getPlotItem().getViewBox()
    axis = plot.getPlotItem().getAxis("bottom")
    for _ in range(4):
        vb.setXRange(lo, hi, padding=0)
        _settle(plot)
        spacing, values = axis.tickValues(lo, hi, axis.geometry().width())[0]
        new = (min(values), max(values))
        if new == (lo, hi):
            break
        lo, hi = new
    assert vb.viewRange()[0] == pytest.approx([lo, hi])
    return tuple(axis.tickStrings([lo, hi], 1.0, spacing))


@pytest.mark.parametrize("size", SIZES)
def test_the_corner_keeps_one_label_whole_and_none_over_another(size):
    """x and y both ∈ [−2, 2]: the two "−2" labels would meet in the lower left
    corner; what is drawn stays whole and apart, the other end labels are drawn."""
    fig = build_figure("rosenbrock", _rosenbrock_runs(20), size=size, view=((-2.0, 2.0), (-2.0, 2.0)))
    try:
        plot = fig.loss_plot
        plot.set_aspect_locked(False)
        plot.getPlotItem().getViewBox().setRange(xRange=(-2, 2), yRange=(-2, 2), padding=0)
        _settle(plot)
        assert "2" in _labels(plot) and "2" in _labels(plot, "left")
        assert "−2" in _labels(plot, "left")
        _assert_whole_and_apart(plot)
    finally:
        fig.hide()
        fig.deleteLater()
