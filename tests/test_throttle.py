"""Read-outs refresh at most a few times a second while playing, and are exact
once playback stops."""

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


def test_turning_the_throttle_off_carries_out_a_waiting_request(qtbot):
    calls = []
    t = Throttle(lambda: calls.append(1), interval_ms=10_000)
    t.set_active(True)
    t.request()
    t.request()
    assert len(calls) == 1
    t.set_active(False)
    assert len(calls) == 2  # not left stale
    t.set_active(False)
    assert len(calls) == 2  # nothing was waiting


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


def test_turning_the_throttle_off_without_flush_drops_the_waiting_request(qtbot):
    calls = []
    t = Throttle(lambda: calls.append(1), interval_ms=10_000)
    t.set_active(True)
    t.request()
    t.request()
    t.set_active(False, flush=False)  # the caller refreshes itself
    assert len(calls) == 1
    t.set_active(True)
    t.request()
    assert len(calls) == 2  # nothing left waiting from before
