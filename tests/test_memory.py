"""SLOW (~30 s, marked ``slow``): the memory bound of the full history.

Every run keeps every position, loss and optimizer state so the timeline can show
any step exactly. At 1,000,000 steps for 8 runs of Adam in 2D the process must stay
under 1 GB resident. Runs ``bench/memory.py`` in a fresh subprocess (so nothing
else in the test session counts) and reads its VmRSS/VmHWM from /proc.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STEPS, RUNS = 1_000_000, 8


@pytest.mark.slow
def test_slow_full_history_of_8_runs_x_1m_adam_steps_stays_under_1gb():
    # one Trajectory holding the 8 runs: the same bytes per step as 8 separate ones,
    # and a higher peak (all 8 histories double at once), in a fraction of the time
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "memory.py"), "--batched", "--json",
         "--runs", str(RUNS), "--steps", str(STEPS), "--optimizer", "adam:lr=0.01"],
        capture_output=True, text=True, timeout=3600, cwd=ROOT,
    )
    assert proc.returncode in (0, 1), proc.stderr
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    assert (r["steps"], r["runs"]) == (STEPS, RUNS)
    assert r["peak_mb"] < 1024.0, r
    # the measurement sees the history: positions (2), loss (1) and the two state
    # arrays Adam changes (2 each; without AMSGrad, max_exp_avg_sq stays 0 and its
    # history is a view taking no memory) per run and step, 8 bytes each, are
    # resident (no freed memory kept by the allocator counts towards it)
    needed_mb = STEPS * RUNS * (2 + 1 + 2 * 2) * 8 / 2**20
    assert r["rss_mb"] - r["rss_before_mb"] > 0.9 * needed_mb, r
    assert proc.returncode == 0
