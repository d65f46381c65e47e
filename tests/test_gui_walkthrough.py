"""Findings of walking through the window as a new user would: the optimizer list shows
all its ~35 kinds at once."""

from __future__ import annotations

from optsim.engine import OPTIMIZERS


def test_optimizer_list_shows_every_kind_at_once(window) -> None:
    """Qt's combo shows 10 items and scrolls: with 35 optimizers most were out of sight."""
    combo = window.runs_panel.kind_combo
    assert combo.count() == len(OPTIMIZERS) > 30
    assert combo.maxVisibleItems() >= combo.count()
    assert "first letters" in combo.toolTip()
