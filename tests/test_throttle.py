"""Read-outs refresh at most a few times a second while playing, and are exact
once playback stops."""

import time

import pytest

from optsim.gui.throttle import Throttle


def test_throttle_calls_at_once_when_idle_and_coalesces_while_active(qtbot):
    calls = []
    t = Throttle(lambda: calls.append(1), interval_ms=80)
    t.request()
    t.request()
    assert len(calls) == 2  # not active: every request at once
    t.set_active(True)
    t.request()
    assert len(calls) == 3  # the first request of an interval: at once
    for _ in range(10):
        t.request()
    assert len(calls) == 3  # the rest wait for the interval's end...
    qtbot.waitUntil(lambda: len(calls) == 4, timeout=1000)
    qtbot.wait(200)
    assert len(calls) == 4  # ...and are carried out once


@pytest.mark.parametrize("flush", [True, False])
def test_turning_the_throttle_off_carries_out_a_waiting_request_unless_told_not_to(qtbot, flush):
    calls = []
    t = Throttle(lambda: calls.append(1), interval_ms=10_000)
    t.set_active(True)
    t.request()
    t.request()
    assert len(calls) == 1
    t.set_active(False, flush=flush)  # without flush: the caller refreshes itself
    assert len(calls) == (2 if flush else 1)
    t.set_active(False)
    assert len(calls) == (2 if flush else 1)  # nothing was left waiting
    t.set_active(True)
    t.request()
    assert len(calls) == (3 if flush else 2)  # at once: no interval running


def test_while_playing_the_counters_lag_and_on_pause_they_are_exact(window, qtbot):
    w = window
    c = w.playback
    c.set_playing(True)
    c.timer.stop()  # frames driven here, back to back
    for _ in range(5):
        c.step(16)
    assert w.model.shown_step == 80
    label, timeline = w.toolbar.step_label.text(), w.step_insight.timeline
    assert "80" not in label and timeline.value() < 80  # shown at the first frame only
    c.set_playing(False)
    assert w.toolbar.step_label.text().strip() == "step 80"
    assert timeline.value() == 80 and w.status_table.cell_text(0, 1) == "80"


def test_while_playing_every_status_row_shows_the_same_step(window):
    """The table refreshes all its rows at once (a row a frame showed the runs at
    different steps, which read as a bug)."""
    w = window
    c = w.playback
    n = len(w.model.runs)
    c.set_playing(True)
    c.timer.stop()
    for _ in range(6):
        c.step(1)
        steps = {w.status_table.cell_text(i, 1) for i in range(n)}
        assert len(steps) == 1


def _inspector_in_front(w, qtbot) -> None:
    """The inspector's tab to the front (in the fixture's low window it is a tab behind
    the optimizers, whose page is not built until it can be seen)."""
    w.step_insight.dock.raise_()
    qtbot.waitUntil(lambda: w.step_insight.panel.on_screen, timeout=5000)


def test_while_playing_the_inspector_page_is_rebuilt_only_with_the_read_outs(window, qtbot):
    """The page and the status table are the two costly text layouts of a frame:
    while playing, the page is rebuilt only in a frame that refreshes the table,
    about once a second, so no second frame is slowed."""
    w = window
    panel = w.step_insight.panel
    _inspector_in_front(w, qtbot)
    frames, current = [], {"page": 0, "readouts": 0}
    rebuild, readouts = panel._rebuild, w._refresh_readouts_now

    def counted_rebuild():
        current["page"] += 1
        rebuild()

    def counted_readouts():
        current["readouts"] += 1
        readouts()

    panel._rebuild = counted_rebuild
    w._readouts._action = counted_readouts
    c = w.playback
    c.set_playing(True)
    c.timer.stop()
    start = time.monotonic()
    for _ in range(45):  # about 3 s of frames
        current.update(page=0, readouts=0)
        c.step(4)
        qtbot.wait(55)  # timers fire here, as between the playback timer's ticks
        frames.append(dict(current))
    seconds = time.monotonic() - start
    pages = [f for f in frames if f["page"]]
    assert 2 <= len(pages) <= seconds / (panel.PLAYING_INTERVAL_MS / 1000) + 1
    assert all(f["readouts"] for f in pages)  # each with the table's refresh
    c.set_playing(False)
    assert "step 180" in panel.text()  # exact on pause


def test_while_playing_the_inspector_shows_the_toolbars_step_or_says_it_is_catching_up(
        window, qtbot):
    """Defect 14: during playback the inspector showed step 26 while the toolbar said
    31, with nothing saying so."""
    import re

    w = window
    panel = w.step_insight.panel
    _inspector_in_front(w, qtbot)
    c = w.playback
    c.set_playing(True)
    c.timer.stop()
    behind = 0
    for _ in range(30):
        c.step(3)
        qtbot.wait(40)
        shown = re.search(r"step (\d+)", w.toolbar.step_label.text())
        toolbar = int(shown.group(1))
        lag = panel.lag_label.text()
        if panel.page_step == toolbar:
            assert lag == ""
        else:
            behind += 1
            assert lag == f"catching up: step {panel.page_step} \u2192 {toolbar}"
            assert panel.lag_label.isVisible()
    assert behind  # (the page is rebuilt about once a second: it does fall behind)
    c.set_playing(False)
    assert panel.lag_label.text() == "" and panel.page_step == w.model.shown_step == 90
    assert "step 90" in panel.text()
