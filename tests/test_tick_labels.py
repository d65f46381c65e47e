"""Tick labels that can be read: never printed over each other, however short the
axis (the loss history is ~94 px tall at 1280x720), and on log axes the minor
ticks' labels (2..9 × 10ⁿ) kept a line apart."""

from __future__ import annotations

import math

import pytest
from axis_labels import drawn_tick_labels

from optsim.render.compute import readable_spacing, spaced_log_labels


def test_readable_spacing_keeps_a_spacing_that_fits_and_widens_one_that_does_not():
    assert readable_spacing(0.2, 100.0, 20.0) == 0.2  # 20 px apart: fits
    assert readable_spacing(0.2, 60.0, 20.0) == 0.5  # 12 px -> 0.5 (30 px)
    assert readable_spacing(0.2, 20.0, 20.0) == 1.0
    assert readable_spacing(1.0, 4.0, 20.0) == 5.0
    assert readable_spacing(50.0, 0.1, 22.0) == 500.0
    for bad in (0.0, -1.0, math.inf, math.nan):
        assert readable_spacing(0.2, bad, 20.0) == 0.2


def test_log_labels_keep_the_decades_and_a_line_between_the_others():
    minors = [math.log10(m) + e for e in (-1, 0) for m in range(1, 10)] + [1.0]
    # 60 px a decade, 18 px a label: 5 then 2 fit beside the decades' labels
    keep = spaced_log_labels(minors, 60.0, 18.0)
    kept = sorted(round(10 ** e, 6) for e, k in zip(minors, keep, strict=True) if k)
    assert 0.1 in kept and 1.0 in kept and 10.0 in kept
    px = sorted(math.log10(v) * 60.0 for v in kept)
    assert min(b - a for a, b in zip(px, px[1:], strict=False)) >= 18.0 - 1e-9
    assert 0.5 in kept and 5.0 in kept  # the first choice between the decades
    # room for all of them: all kept
    assert all(spaced_log_labels(minors, 2000.0, 18.0))
    # decades 8 px apart, the majors (-5 and 0, labelled already) taken: nothing
    # between them has room
    minors = [math.log10(m) + e for e in range(-5, 0) for m in range(1, 10)]
    keep = spaced_log_labels(minors, 8.0, 22.0, taken=[-5.0, 0.0])
    assert not any(k for e, k in zip(minors, keep, strict=True) if -5 < e < -2.2)
    assert keep[minors.index(-5.0)] is False  # (its major tick has the label)


@pytest.mark.parametrize("steps", [0, 3, 40])
def test_the_short_loss_history_at_1280x720_prints_no_label_over_another(qtbot, tmp_path, steps):
    """At step 0 the losses are one value (a range of ±2 % around it: 3.8, 4.0 and
    4.2 were printed on top of each other in ~30 px), then spread."""
    from PySide6.QtWidgets import QApplication

    from optsim.gui.main_window import MainWindow

    w = MainWindow(settings=str(tmp_path / "s.ini"), restore=False)
    qtbot.addWidget(w)
    w.resize(1280, 720)
    w.apply_default_layout()
    w.show()
    qtbot.waitExposed(w)
    for _ in range(steps):
        w.playback.step(1)
    for _ in range(3):
        QApplication.processEvents()
    hist = w.history_plot
    assert hist.height() < 160  # (the short plot this is about)
    hist.grab()
    labels = [(t, r) for t, r in drawn_tick_labels(hist, in_viewport=False) if t]
    assert labels
    rects = sorted((r for _, r in labels), key=lambda r: r.top())
    for a, b in zip(rects, rects[1:], strict=False):
        assert b.top() >= a.bottom() - 1, [t for t, _ in labels]
