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


def test_optimizers_panel_fits_a_projector_windows_dock(window) -> None:
    """At 1280x720 the Optimizers panel's rows fit its dock for every optimizer: the
    list beside "Load optimizer…" (and the fan radius sized for 1000000.000) made it
    wider, its right side cut off (Colour…, Load o…, the editors' ranges)."""
    from PySide6.QtWidgets import QApplication

    from optsim.engine import as_optimizer

    window.resize(1280, 690)
    QApplication.processEvents()
    panel = window.runs_panel
    for name in OPTIMIZERS:
        window.model.replace_runs([(as_optimizer(name), name, "#E69F00", True)])
        window.model.select(0)
        QApplication.processEvents()
        need = panel.scroll.widget().minimumSizeHint().width()
        assert need <= panel.scroll.viewport().width(), name
    assert panel.kind_combo.maxVisibleItems() >= panel.kind_combo.count()
