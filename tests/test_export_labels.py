"""Exported pictures keep every tick label of their axes whole: a log axis' decade on
the loss history's bottom edge was left out of the picture (pyqtgraph draws only
the labels inside the axis' bounding rectangle, which a grid shrinks to the plot)."""

from __future__ import annotations

import math

import pytest
from axis_labels import drawn_tick_labels

from optsim.cli import picture_runs
from optsim.export.image import build_figure
from optsim.runset import run_set
from optsim.scenarios import load_preset


def _decade(n: int) -> str:
    """10ⁿ as the log axis writes it."""
    sup = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
    return "10" + str(n).translate(sup)


@pytest.fixture(scope="module")
def adam_pictures():
    """The adam preset's runs (its loss history is on a log axis over five decades)."""
    runs = load_preset("adam")
    return runs, picture_runs(runs, run_set(runs))


@pytest.mark.parametrize("size", [(1920, 1080), (1280, 720), (1280, 960)])
def test_every_decade_of_the_log_history_is_labelled_whole(adam_pictures, size):
    """Every labelled decade inside the history's range has its label, inside the
    picture (10⁻⁴ sat 5 px above the bottom edge at 1920×1080 and was dropped)."""
    runs, pictures = adam_pictures
    fig = build_figure(runs.loss_function(), pictures, size, view=runs.view)
    try:
        plot = fig.history
        axis = plot.getPlotItem().getAxis("left")
        assert axis.logMode
        lo, hi = (float(v) for v in axis.range)
        drawn = dict(drawn_tick_labels(plot))
        # the axis' labelled decades (every one, or every other on a short axis)
        major = axis.tickValues(lo, hi, plot.getPlotItem().getViewBox().height())[0][1]
        decades = [_decade(round(v)) for v in major if lo <= v <= hi]
        assert len(decades) >= 3
        for text in decades:
            assert text in drawn, (text, sorted(drawn), (lo, hi))
            assert plot.viewport().rect().contains(drawn[text]), (text, drawn[text])
    finally:
        fig.hide()  # (a shown idle figure may keep relaying out)
        fig.deleteLater()


@pytest.mark.parametrize("edge", ["bottom", "top"])
def test_a_decade_right_on_the_edge_keeps_its_label(adam_pictures, edge):
    """The history's range made to end exactly on a decade: its label is drawn,
    whole, on that edge."""
    from PySide6.QtWidgets import QApplication

    runs, pictures = adam_pictures
    fig = build_figure(runs.loss_function(), pictures, (1280, 720), view=runs.view)
    try:
        plot = fig.history
        vb = plot.getPlotItem().getViewBox()
        lo, hi = vb.viewRange()[1]
        new = (math.ceil(lo), hi) if edge == "bottom" else (lo, math.floor(hi))
        vb.setYRange(*new, padding=0)
        for _ in range(3):
            QApplication.processEvents()
        plot.grab()
        drawn = dict(drawn_tick_labels(plot))
        n = new[0] if edge == "bottom" else new[1]
        assert _decade(n) in drawn, (n, sorted(drawn))
        assert plot.viewport().rect().contains(drawn[_decade(n)])
    finally:
        fig.hide()  # (a shown idle figure may keep relaying out)
        fig.deleteLater()
