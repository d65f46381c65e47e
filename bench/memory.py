"""Memory bound of the full history: 8 runs x 1,000,000 steps (Adam, 2D) < 1 GB.

Every run keeps every position, loss and optimizer state (so the timeline can show
any step exactly); this measures what that costs. It steps the runs the way the
window does (one Trajectory per run, advanced in chunks, so the history arrays grow
by doubling as they do during playback) and reads the process's resident memory
from /proc/self/status: VmRSS (now) and VmHWM (the peak).

    python bench/memory.py                      # 8 separate runs, like the window
    python bench/memory.py --batched            # one Trajectory with 8 rows (faster)
    python bench/memory.py --steps 100000 --json

Prints a JSON line with the numbers (``--json``) or a short report.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from optsim.simulation import Trajectory  # noqa: E402

LIMIT_MB = 1024.0


def vm(field: str) -> float:
    """A /proc/self/status field (VmRSS, VmHWM, ...) in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"{field} not in /proc/self/status")


def measure(runs: int = 8, steps: int = 1_000_000, optimizer: str = "adam:lr=0.01",
            function: str = "elongated-bowl", batched: bool = False,
            chunk: int = 10_000) -> dict:
    before = vm("VmRSS")
    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    starts = rng.uniform(-1.5, 0.5, size=(runs, 2))
    if batched:
        trajs = [Trajectory(function, optimizer, starts)]
    else:
        trajs = [Trajectory(function, optimizer, starts[i:i + 1]) for i in range(runs)]
    done = 0
    while done < steps:
        n = min(chunk, steps - done)
        for t in trajs:  # as the model's step_forward: each run in turn
            t.advance(n)
        done += n
    seconds = time.perf_counter() - t0
    history = sum(t.memory_bytes() for t in trajs)
    # the history is really there and exact: spot-check a state and a position
    t = trajs[-1]
    assert t.steps == steps and t.positions.shape == (steps + 1, t.n, 2)
    assert np.isfinite(t.positions[-1]).all()
    st = t.state_at(steps // 2)
    assert st.step == steps // 2 and st.exp_avg.shape == (t.n, 2)
    return {
        "runs": runs, "steps": steps, "optimizer": optimizer, "batched": batched,
        "seconds": round(seconds, 1), "rss_before_mb": round(before, 1),
        "rss_mb": round(vm("VmRSS"), 1), "peak_mb": round(vm("VmHWM"), 1),
        "history_mb": round(history / 2**20, 1), "limit_mb": LIMIT_MB,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("--steps", type=int, default=1_000_000)
    ap.add_argument("--optimizer", default="adam:lr=0.01")
    ap.add_argument("--batched", action="store_true", help="one Trajectory holding all runs")
    ap.add_argument("--chunk", type=int, default=10_000, help="steps per advance() call")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    r = measure(a.runs, a.steps, a.optimizer, batched=a.batched, chunk=a.chunk)
    if a.json:
        print(json.dumps(r))
    else:
        print(f"{r['runs']} runs x {r['steps']:,} steps of {r['optimizer']} "
              f"({'one batched Trajectory' if r['batched'] else 'one Trajectory per run'}) "
              f"in {r['seconds']} s: history {r['history_mb']} MiB, "
              f"RSS {r['rss_mb']} MiB, peak {r['peak_mb']} MiB (limit {LIMIT_MB:.0f} MiB)")
    return 0 if r["peak_mb"] < LIMIT_MB else 1


if __name__ == "__main__":
    raise SystemExit(main())
