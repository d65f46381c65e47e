"""The loss history's step axis shows the steps taken, whatever the lr strip under it
(linked to the history's steps) shows: the strip's own auto-range once pulled the
history to steps 0.5..1.5 after any number of steps."""

from optsim.scenarios import load_preset


def test_history_spans_the_steps_taken(window):
    window.model.load_run_set(load_preset("elongated-valley"))
    for _ in range(8):
        window.model.step_forward(1)
    lo, hi = window.figure.history.getPlotItem().getViewBox().viewRange()[0]
    assert lo <= 0 and 8 <= hi < 20
