"""Status-table names elide so that different runs never read the same (#12 defect 3),
even in a column too narrow for the shared part's trick (a fan's "GD from (1, 1)" and
"GD from (1, −1)" at 1280×720 with several docks open)."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QFont, QFontMetrics

from optsim.gui.main_window import distinct_elided

NAMES = ["GD from (1, 1)", "GD from (−1, 1)", "GD from (−1, −1)", "GD from (1, −1)"]


@pytest.mark.parametrize("room", [70, 80, 100, 200])
def test_elided_names_stay_distinct(qapp, room):
    metrics = QFontMetrics(QFont())
    out = distinct_elided(NAMES, metrics, room)
    assert len(set(out)) == len(NAMES), out
    assert all(metrics.horizontalAdvance(t) <= room + 1 for t in out)


def test_names_that_fit_are_whole(qapp):
    metrics = QFontMetrics(QFont())
    assert distinct_elided(NAMES, metrics, 1000) == NAMES


# -- any names sharing a start: shortened apart, never inside a number ----------

import re  # noqa: E402

from optsim.render.compute import distinct_short, reads_as  # noqa: E402

_NUMBER = re.compile(r"[−-]?\d+(?:\.\d+)?(?:e[−-]?\d+)?")

#: made-up name sets that share long starts (and ends)
NAME_SETS = [
    NAMES,
    ["Adam lr 0.01 (clip 1)", "Adam lr 0.01 (clip 10)", "Adam lr 0.1", "Adam lr 0.001 (clip 1)"],
    ["momentum (PyTorch SGD, momentum = 0.9)", "momentum (course, β = 0.9)",
     "momentum (PyTorch SGD, momentum = 0.99)"],
    ["Schedule-Free SGD, lr 0.1, β 0.5", "Schedule-Free SGD, lr 0.1, β 0.9",
     "Schedule-Free SGD, lr 1, β 0.5", "Schedule-Free SGD, lr 10, β 0.5"],
    ["RMSProp from (0.5, −2.25) #1", "RMSProp from (0.5, −2.25) #2", "RMSProp from (0.5, −2.5) #1"],
]


def _spans(short: str, name: str) -> list[tuple[int, int]]:
    """Where the pieces of ``short`` between its ellipses lie in ``name``."""
    pieces = short.split("…")
    spans, at = [], 0
    for k, piece in enumerate(pieces):
        if k == len(pieces) - 1 and k > 0:
            start = len(name) - len(piece)
        else:
            start = name.find(piece, at)
        assert start >= 0, (short, name)
        spans.append((start, start + len(piece)))
        at = start + len(piece)
    return spans


def assert_never_cut_in_a_number(short: str, name: str) -> None:
    """No piece of ``short`` begins or ends inside one of ``name``'s numbers (nor
    ends right after one, where more of it might seem to follow)."""
    numbers = [(m.start(), m.end()) for m in _NUMBER.finditer(name)]
    for a, b in _spans(short, name):
        for lo, hi in numbers:
            assert not lo < a < hi, (short, name, name[lo:hi])
            if b < len(name):
                assert not lo < b <= hi, (short, name, name[lo:hi])


def _char_width(text: str) -> float:
    return float(len(text))


@pytest.mark.parametrize("names", NAME_SETS)
@pytest.mark.parametrize("room", [8, 10, 12, 14, 16, 20, 24, 30])
def test_shortened_names_read_as_their_own_name_only(names, room):
    """Every shortened name fits, is never cut in a number, and, where some text
    of that width can tell it apart, reads as no other name of the set."""
    out = distinct_short(names, len, room)
    for short, name in zip(out, names, strict=True):
        assert len(short) <= room, (short, room)
        assert reads_as(short, name), (short, name)
        assert_never_cut_in_a_number(short, name)
    if room >= max(len(n) for n in names) // 2 + 2:  # (room for the part they differ in)
        for short, name in zip(out, names, strict=True):
            others = [o for o in names if o != name and reads_as(short, o)]
            assert not others, (short, name, others, out)
        assert len(set(out)) == len(names)


def test_himmelblau_names_keep_the_start_they_differ_in():
    out = distinct_short(NAMES, len, 12)
    assert out == ["GD…(1, 1)", "GD…(−1, 1)", "GD…(−1, −1)", "GD…(1, −1)"]
    # one name too long: elided in the middle, not to "GD from (−1, …"
    out = distinct_short(NAMES, len, 15)
    assert out == ["GD from (1, 1)", "GD from (−1, 1)", "GD…(−1, −1)", "GD from (1, −1)"]
    assert distinct_short(NAMES, len, 30) == NAMES


def test_a_name_alone_is_elided_at_its_end_between_numbers():
    assert distinct_short(["Adam lr 0.001 (clip 1)"], len, 12) == ["Adam lr…"]
    assert distinct_short(["Adam lr 0.001 (clip 1)"], len, 15) == ["Adam lr…"]  # not "0.001…"
    # nor in a bracket just opened ("0.001 (…")
    assert distinct_short(["Adam lr 0.001 (clip 1)"], len, 16) == ["Adam lr…"]
    assert distinct_short(["Adam lr 0.001 (clip 1)"], len, 18) == ["Adam lr 0.001 (cl…"]
    assert reads_as("GD from (1, …", "GD from (1, −1)") and reads_as("GD from (1, …", "GD from (1, 1)")
    assert not reads_as("GD…(1, 1)", "GD from (−1, 1)")


@pytest.mark.parametrize("room", [60, 70, 80, 95, 105, 120])
def test_pixel_widths_keep_names_apart_and_whole_numbers(qapp, room):
    metrics = QFontMetrics(QFont())
    for names in NAME_SETS:
        out = distinct_elided(names, metrics, room)
        for short, name in zip(out, names, strict=True):
            assert metrics.horizontalAdvance(short) < room, (short, room)
            assert_never_cut_in_a_number(short, name)
        if room >= 95:
            assert all(sum(reads_as(s, o) for o in names) == 1 for s in out), out


SIZES = [(1280, 720), (1440, 900), (1600, 900), (1920, 1080)]


def _shown_status_names(w) -> list[str]:
    """The status table's name cells as Qt paints them (its own elision included)."""
    from PySide6.QtCore import Qt

    table = w.status_table
    room = table.columnWidth(0) - 2 * table.CELL_MARGIN
    metrics = table.fontMetrics()
    return [metrics.elidedText(table.item(r, 0).text(), Qt.TextElideMode.ElideRight, room)
            for r in range(table.rowCount())]


@pytest.mark.parametrize("size", SIZES)
def test_himmelblau_status_names_read_apart_at_every_width(qtbot, tmp_path, size):
    """The status table at widths between 1280 and 1920 (its name column narrowed
    further, as more docks would): each run's name reads as its own only (it read
    "GD from (−1, …" beside "GD from (−1, 1)" up to 1536 px)."""
    from PySide6.QtWidgets import QApplication
    from windows import window_at

    w = window_at(qtbot, tmp_path, size, "himmelblau")
    table = w.status_table
    names = [table.cell_text(r, 0) for r in range(table.rowCount())]
    assert names == NAMES
    for narrower in (0, 20, 40):
        if narrower:
            table.setColumnWidth(0, table.columnWidth(0) - narrower)
            table._show_names()
            QApplication.processEvents()
        shown = _shown_status_names(w)
        for short, name in zip(shown, names, strict=True):
            assert reads_as(short, name), (short, name)
            assert_never_cut_in_a_number(short, name)
        if table.columnWidth(0) >= 80:
            assert all(sum(reads_as(s, o) for o in names) == 1 for s in shown), (size, shown)


@pytest.mark.parametrize("width", [100, 110, 120, 135, 190])
def test_runs_list_names_read_apart_in_a_narrow_dock(qtbot, tmp_path, width):
    """The Optimizers panel's run list as a narrow dock draws it."""
    from PySide6.QtWidgets import QApplication, QStyle, QStyleOptionViewItem
    from windows import window_at

    w = window_at(qtbot, tmp_path, (1280, 720), "himmelblau")
    tree = w.runs_panel.tree
    tree.header().setSectionResizeMode(0, tree.header().ResizeMode.Interactive)
    tree.setColumnWidth(0, width)
    QApplication.processEvents()
    shown = []
    for i in range(tree.topLevelItemCount()):
        index = tree.indexFromItem(tree.topLevelItem(i), 0)
        option = QStyleOptionViewItem()
        option.initFrom(tree)
        option.rect = tree.visualRect(index)
        tree.itemDelegateForIndex(index).initStyleOption(option, index)
        text_rect = tree.style().subElementRect(QStyle.SubElement.SE_ItemViewItemText, option, tree)
        margin = tree.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, tree) + 1
        shown.append(tree.fontMetrics().elidedText(option.text, tree.textElideMode(),
                                                   text_rect.width() - 2 * margin))
    for short, name in zip(shown, NAMES, strict=True):
        assert reads_as(short, name), (short, name)
        assert_never_cut_in_a_number(short, name)
    # (it read "GD from (−1,…" twice at 120)
    assert all(sum(reads_as(s, o) for o in NAMES) == 1 for s in shown), (width, shown)
