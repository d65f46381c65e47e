"""Soak: 100,000 steps with redraws, no crash and memory bounded by the history."""

import gc

import numpy as np
import pytest

from optsim.render.compute import MAX_DRAWN_POINTS


def rss_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


@pytest.mark.slow
def test_100k_steps_with_redraws(window):
    m, c = window.model, window.playback
    c.set_max_steps(1_000_000)
    c.stop_when_converged = False
    m.set_start([-1.9, 0.9])
    # two runs (plain and adaptive) keep the soak's CPU time moderate on a shared machine
    m.replace_runs([(m.runs[0].optimizer, "sgd", "#E69F00", True),
                    (m.runs[-1].optimizer, "adam", "#D55E00", True)])
    window.playback.step(10)
    gc.collect()
    before = rss_bytes()
    for _ in range(100):
        assert c.step(1000)  # each call redraws once
    assert m.shown_step == 100_010
    history = sum(r.trajectory.memory_bytes() for r in m.runs)
    gc.collect()
    grown = rss_bytes() - before
    # the histories (arrays growing by doubling) plus a fixed allowance for Qt/pyqtgraph
    assert grown < 2 * history + 64 * 2**20, (grown, history)
    # what is drawn is thinned, the current point exact
    for i, r in enumerate(m.runs):
        x, y = window.plot.run_items(i).trail.getData()
        assert len(x) <= MAX_DRAWN_POINTS + 3
        np.testing.assert_allclose([x[-1], y[-1]], r.trajectory.positions[-1, 0])
    # a reset frees the histories: a second long run grows nothing more
    c.reset()
    gc.collect()
    second = rss_bytes()
    for _ in range(100):
        c.step(1000)
    gc.collect()
    assert rss_bytes() - second < history + 32 * 2**20
    # still responsive and consistent
    c.step(1)
    assert all(r.trajectory.steps == 100_001 for r in m.runs)
