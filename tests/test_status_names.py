"""Status-table names elide so that different runs never read the same (#12 defect 3),
even in a column too narrow for the shared part's trick (a fan's "GD from (1, 1)" and
"GD from (1, −1)" at 1280×720 with several docks open)."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QFont, QFontMetrics

from optsim.gui.main_window import distinct_elided

NAMES = ["GD from (1, 1)", "GD from (−1, 1)", "GD from (−1, −1)", "GD from (1, −1)"]


@pytest.mark.parametrize("room", [50, 60, 80, 200])
def test_elided_names_stay_distinct(qapp, room):
    metrics = QFontMetrics(QFont())
    out = distinct_elided(NAMES, metrics, room)
    assert len(set(out)) == len(NAMES), out
    assert all(metrics.horizontalAdvance(t) <= room + 1 for t in out)


def test_names_that_fit_are_whole(qapp):
    metrics = QFontMetrics(QFont())
    assert distinct_elided(NAMES, metrics, 1000) == NAMES
