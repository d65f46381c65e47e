"""The API and the pictures at scale (issue 16): each case in a fresh process.

- refusal: ``simulate`` asked for 16 TB of history (10^8 runs x 10^4 steps) says so
  at once: the seconds it takes and the memory it grew by (beyond the start array);
- peak: the memory ``simulate`` takes on the way to its result, as a multiple of the
  result (positions), for a few steps of many runs and many steps of a few;
- pictures: the seconds to draw a PNG of N start points x 2 optimizers, for
  N = 256, 1024, 4096 (before: 25 s for 1,024 starts and 272 s for 4,096, O(N^2)).

    python bench/reliability.py            # all three
    python bench/reliability.py --quick    # smaller cases

The ratios come last: peak / result (want <= 2) and the PNG time per start of the
largest case over the smallest (about 1 when linear; the fixed cost of building
the figure, ~1-2 s, makes it smaller).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

REFUSAL = r"""
import resource, time, numpy as np
from optsim import simulate
start = np.full((10**8, 2), 0.5)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
t = time.perf_counter()
try:
    simulate("rosenbrock", "adam", start, 10**4)
    msg = "not refused"
except ValueError as e:
    msg = str(e)
dt = time.perf_counter() - t
grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base
print(json.dumps({"seconds": dt, "grew_mb": grew / 1e6, "message": msg}))
"""

PEAK = r"""
import resource, sys, numpy as np
from optsim import simulate
n, steps = int(sys.argv[1]), int(sys.argv[2])
start = np.random.default_rng(0).uniform(-1.5, 1.5, (n, 2))
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
pos = simulate("rosenbrock", "adam", start, steps)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base
print(json.dumps({"runs": n, "steps": steps, "result_mb": pos.nbytes / 1e6,
                  "peak_mb": peak / 1e6, "ratio": peak / pos.nbytes}))
"""

PICTURE = r"""
import os, sys, tempfile, time, numpy as np
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from optsim.cli import picture_runs, RunOutcome, PlannedRun
from optsim.engine import parse_spec
from optsim.export.image import render_png
from optsim.render.qt_app import ensure_app
from optsim.simulation import run
n = int(sys.argv[1])
ensure_app()
starts = np.random.default_rng(0).uniform(-2, 2, (n, 2))
outcomes = [RunOutcome(PlannedRun(s, parse_spec(s), starts, c), run("rosenbrock", s, starts, 50))
            for s, c in (("adam", "#e69f00"), ("sgd:lr=0.0005", "#56b4e9"))]
runs = picture_runs(outcomes)
with tempfile.TemporaryDirectory() as d:
    t = time.perf_counter()
    render_png(os.path.join(d, "p.png"), "rosenbrock", runs, size=(1280, 960))
    dt = time.perf_counter() - t
print(json.dumps({"starts": n, "runs": len(runs), "seconds": dt}))
"""


def child(code: str, *args: object) -> dict:
    out = subprocess.run([sys.executable, "-c", "import json\n" + code, *map(str, args)],
                         capture_output=True, text=True, cwd=ROOT, check=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
                              "QT_QPA_PLATFORM": "offscreen"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller cases")
    args = ap.parse_args()

    r = child(REFUSAL)
    print(f"refusal: {r['seconds'] * 1000:.1f} ms, grew {r['grew_mb']:.0f} MB: {r['message']}")

    cases = [(10**6, 1), (10**4, 100)] if args.quick else [(10**7, 1), (10**5, 100), (100, 10**5)]
    peaks = []
    for n, steps in cases:
        p = child(PEAK, n, steps)
        peaks.append(p["ratio"])
        print(f"peak: {n:,} runs x {steps:,} steps: result {p['result_mb']:.0f} MB, "
              f"peak {p['peak_mb']:.0f} MB above the start")

    sizes = [64, 256, 1024] if args.quick else [256, 1024, 4096]
    times = []
    for n in sizes:
        p = child(PICTURE, n)
        times.append(p["seconds"])
        print(f"picture: {n:,} starts x 2 optimizers ({p['runs']:,} runs): {p['seconds']:.2f} s")

    print("ratios:")
    print(f"  peak / result (worst of {len(peaks)}): {max(peaks):.2f}  (want <= 2)")
    growth = (times[-1] / sizes[-1]) / (times[0] / sizes[0])
    print(f"  PNG seconds per start, {sizes[-1]:,} over {sizes[0]:,}: {growth:.2f}  "
          f"(linear: <= 1; quadratic: {sizes[-1] // sizes[0]})")


if __name__ == "__main__":
    main()
