"""Benchmark: a sweep of 1,000,000 cells x 100 steps of Adam on Rosenbrock, metrics only
(needs torch and numba; not a test).

Contenders, all from (-1.5, 2), 100 steps, keeping per run only what the metrics
need (final loss, best loss, first step within tol of f* = 0, the half-way and last
positions for the rate, divergence):

- optsim: ``optsim.sweep`` over lr (1000 log-spaced values) x beta1 (1000 values),
  one hyperparameter setting per row, in blocks, two threads;
- numba: a fused compiled kernel doing the same per row (torch's Adam, the analytic
  gradient, the loss and the metrics, in registers; the bias corrections' powers kept
  as running products), ``prange`` over the rows on 2 threads; the reference for "as
  fast as compiled code";
- torch: ``torch.optim.Adam`` on the same (1M, 2) batch, the analytic gradient in
  torch ops, the loss and the running best each step (torch has one lr per param
  group, so it runs one lr for all rows: the same arithmetic, less bookkeeping).

Each contender runs in a fresh subprocess, which reports its time (after a warm-up
that compiles numba) and its peak memory above the interpreter with its imports
(ru_maxrss). The contenders take turns, one run each per round (``--repeats``
rounds), so that a machine shared with other work slows them alike; the ratios are
taken within each round. Each contender's CPU time (user + system, all threads),
system time and page faults in the timed run are printed too, and the load average
at each round's start: on a busy machine the wall-clock ratio is noisy, CPU time
less so (but the goal is wall time on a quiet machine: CPU time says how well the
two threads could do). The last line prints the medians: optsim's time over
numba's (goal <= 1.5), torch's time over optsim's (goal >= 1), and optsim's peak
memory (goal <= 300 MB).

Usage: python bench/sweep.py [--repeats 3] [--cells 1000000]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

STEPS = 100
START = (-1.5, 2.0)
TOL = 1e-6
LR_RANGE = (1e-4, 0.3)
B1_RANGE = (0.0, 0.99)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _clock() -> tuple[float, resource.struct_rusage]:
    return time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)


def _since(start: tuple[float, resource.struct_rusage]) -> dict:
    """Wall time, CPU time (user + system, all threads), system time and page faults
    since ``start`` (a :func:`_clock`)."""
    t1, r1 = _clock()
    t0, r0 = start
    return {"time": t1 - t0, "cpu": r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime,
            "sys": r1.ru_stime - r0.ru_stime, "faults": r1.ru_minflt - r0.ru_minflt}


def _summary(runs: list[dict]) -> dict:
    """The run with the median time of ``runs`` (each from :func:`_since`), with all times."""
    best = sorted(runs, key=lambda r: r["time"])[len(runs) // 2]
    return {**best, "times": [r["time"] for r in runs]}


def _grid(cells: int):
    import numpy as np

    side = int(round(math.sqrt(cells)))
    lrs = np.geomspace(*LR_RANGE, side)
    b1 = np.linspace(*B1_RANGE, side)
    return side, np.repeat(lrs[None, :], side, axis=0).ravel(), np.repeat(b1, side)


# -- contenders (each in its own process) ---------------------------------------------
def run_optsim(cells: int, repeats: int) -> dict:
    import numpy as np

    import optsim
    from optsim.explore.runner import keep_freed_memory

    keep_freed_memory()  # as the optsim programs do
    base = _peak_mb()
    side = int(round(math.sqrt(cells)))
    runs = []
    for _ in range(repeats):
        t0 = _clock()
        result = optsim.sweep("rosenbrock", "adam", x=("lr", *LR_RANGE, side, "log"),
                              y=("beta1", *B1_RANGE, side), start=START, steps=STEPS,
                              metric="final-loss", tol=TOL)
        runs.append(_since(t0))
    values = result.values
    return {**_summary(runs), "peak_mb": _peak_mb() - base,
            "sample": np.asarray(values).ravel()[:: max(1, cells // 997)].tolist()}


def run_numba(cells: int, repeats: int) -> dict:
    import numba
    import numpy as np

    numba.set_num_threads(2)
    base = _peak_mb()

    @numba.njit(parallel=True, cache=False)
    def kernel(lrs, b1s, x0, y0, steps, tol, lo, hi, final, best, hit, rate, div):
        b2, eps = 0.999, 1e-8
        half_k = steps // 2
        for i in numba.prange(lrs.shape[0]):
            lr, b1 = lrs[i], b1s[i]
            x, y = x0, y0
            mx = my = vx = vy = 0.0
            loss = (1 - x) ** 2 + 100 * (y - x * x) ** 2
            bst = loss
            h = np.inf if loss >= tol else 0.0
            hx, hy = x, y
            d = False
            p1 = p2 = 1.0  # b1**k and b2**k, kept as running products (no pow per step)
            for k in range(1, steps + 1):
                r = y - x * x
                gx = -2 * (1 - x) - 400 * x * r
                gy = 200 * r
                mx = mx + (gx - mx) * (1 - b1) if 1 - b1 < 0.5 else gx - (gx - mx) * b1
                my = my + (gy - my) * (1 - b1) if 1 - b1 < 0.5 else gy - (gy - my) * b1
                vx = vx * b2 + (1 - b2) * gx * gx
                vy = vy * b2 + (1 - b2) * gy * gy
                p1 *= b1
                p2 *= b2
                bc1 = 1 - p1
                bc2s = math.sqrt(1 - p2)
                step = lr / bc1
                nx = x - step * mx / (math.sqrt(vx) / bc2s + eps)
                ny = y - step * my / (math.sqrt(vy) / bc2s + eps)
                nl = (1 - nx) ** 2 + 100 * (ny - nx * nx) ** 2
                if not (math.isfinite(nl) and lo[0] <= nx <= hi[0] and lo[1] <= ny <= hi[1]):
                    d = True
                    break
                x, y, loss = nx, ny, nl
                if loss < bst:
                    bst = loss
                if loss < tol and h == np.inf:
                    h = k
                if k == half_k:
                    hx, hy = x, y
            final[i] = np.inf if d else loss
            best[i] = bst
            hit[i] = np.inf if d else h
            de = math.hypot(x - 1, y - 1)
            dh = math.hypot(hx - 1, hy - 1)
            rate[i] = np.inf if d else ((de / dh) ** (1.0 / (steps - half_k)) if dh > 0 else 0.0)
            div[i] = d

    from optsim.explore.runner import bounds
    from optsim.functions import get_function

    lo, hi = bounds(get_function("rosenbrock"))
    side, lrs, b1s = _grid(cells)
    n = side * side
    outs = [np.empty(n) for _ in range(4)] + [np.empty(n, dtype=np.bool_)]
    kernel(lrs[:64], b1s[:64], START[0], START[1], STEPS, TOL, lo, hi, *[o[:64] for o in outs])
    runs = []
    for _ in range(repeats):
        t0 = _clock()
        kernel(lrs, b1s, START[0], START[1], STEPS, TOL, lo, hi, *outs)
        runs.append(_since(t0))
    return {**_summary(runs), "peak_mb": _peak_mb() - base,
            "sample": outs[0][:: max(1, cells // 997)].tolist()}


def run_torch(cells: int, repeats: int) -> dict:
    import torch

    base = _peak_mb()
    best: dict = {}
    for threads in (2, 1):  # the faster of both (OpenMP's spinning threads suffer on a busy machine)
        torch.set_num_threads(threads)
        r = _torch_once(cells, repeats)
        r["threads"] = threads
        if not best or r["time"] < best["time"]:
            best = r
    best["peak_mb"] = _peak_mb() - base  # (the peak of both)
    return best


def _torch_once(cells: int, repeats: int) -> dict:
    import torch

    base = _peak_mb()
    side = int(round(math.sqrt(cells)))
    n = side * side
    w = torch.zeros((4, 2), dtype=torch.float64)
    warm = torch.optim.Adam([w], lr=1e-2)  # the first step pays torch's one-off set-up
    w.grad = torch.ones_like(w)
    warm.step()
    runs = []
    for _ in range(repeats):
        p = torch.tensor(START, dtype=torch.float64).repeat(n, 1).requires_grad_(False)
        opt = torch.optim.Adam([p], lr=1e-2)
        t0 = _clock()
        with torch.no_grad():
            x, y = p[:, 0], p[:, 1]
            best = (1 - x) ** 2 + 100 * (y - x * x) ** 2
            hit = torch.full((n,), math.inf, dtype=torch.float64)
            for k in range(1, STEPS + 1):
                x, y = p[:, 0], p[:, 1]
                r = y - x * x
                p.grad = torch.stack([-2 * (1 - x) - 400 * x * r, 200 * r], dim=1)
                opt.step()
                x, y = p[:, 0], p[:, 1]
                loss = (1 - x) ** 2 + 100 * (y - x * x) ** 2
                torch.minimum(best, loss, out=best)
                hit = torch.where((loss < TOL) & torch.isinf(hit), float(k), hit)
                if k == STEPS // 2:
                    half = p.clone()  # noqa: F841 (the rate needs it)
        runs.append(_since(t0))
    return {**_summary(runs), "peak_mb": _peak_mb() - base}


def _child(which: str, cells: int, repeats: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, __file__, "--child", which, "--cells", str(cells),
                          "--repeats", str(repeats)], capture_output=True, text=True, env=env,
                         check=False)
    if out.returncode != 0:
        raise SystemExit(f"{which} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3,
                    help="rounds: each runs every contender once, in turn")
    ap.add_argument("--cells", type=int, default=1_000_000)
    ap.add_argument("--child", choices=["optsim", "numba", "torch"])
    args = ap.parse_args()
    runners = {"optsim": run_optsim, "numba": run_numba, "torch": run_torch}
    if args.child:
        print(json.dumps(runners[args.child](args.cells, args.repeats)))
        return
    print(f"load average {os.getloadavg()[0]:.2f}; {args.cells:,} cells x {STEPS} steps, "
          f"{args.repeats} rounds")
    # rounds: every contender once per round, in turn, so that a machine whose load
    # changes slows them alike; the ratios are taken within each round
    rounds: list[dict] = []
    loads = []
    for _ in range(args.repeats):
        loads.append(os.getloadavg()[0])
        rounds.append({which: _child(which, args.cells, 1)
                       for which in ("optsim", "numba", "torch")})
    print("  load average at each round's start: " + ", ".join(f"{x:.2f}" for x in loads))
    res = {}
    for which in ("optsim", "numba", "torch"):
        times = [r[which]["time"] for r in rounds]
        res[which] = {**rounds[-1][which], "time": statistics.median(times), "times": times,
                      "peak_mb": max(r[which]["peak_mb"] for r in rounds)}
        r = res[which]
        cpu = statistics.median(x[which]["cpu"] for x in rounds)
        sys_t = statistics.median(x[which]["sys"] for x in rounds)
        faults = statistics.median(x[which]["faults"] for x in rounds)
        extra = f", {r['threads']} thread(s)" if "threads" in r else ""
        print(f"  {which:<7} {r['time']:7.2f} s (rounds: {', '.join(f'{t:.2f}' for t in times)}"
              f"{extra}), peak memory +{r['peak_mb']:.0f} MB; CPU {cpu:.2f} s (system "
              f"{sys_t:.2f} s, {faults:.0f} page faults)")
    import numpy as np

    a, b = np.array(res["optsim"]["sample"]), np.array(res["numba"]["sample"])
    both = np.isfinite(a) & np.isfinite(b)
    close = np.isclose(a[both], b[both], rtol=1e-6, atol=1e-12).mean() if both.any() else 1.0
    same_inf = np.array_equal(np.isinf(a), np.isinf(b))
    print(f"  agreement optsim vs numba on {len(a)} sampled cells: {100 * close:.1f}% of the "
          f"final losses within 1e-6, divergence flags {'equal' if same_inf else 'differ'}")
    on = [r["optsim"]["time"] / r["numba"]["time"] for r in rounds]
    to = [r["torch"]["time"] / r["optsim"]["time"] for r in rounds]
    print("  per round: optsim/numba " + ", ".join(f"{x:.2f}" for x in on)
          + "; torch/optsim " + ", ".join(f"{x:.2f}" for x in to))
    # CPU time is what a busy machine disturbs least (not the goal: wall time on a quiet one)
    cpu_on = statistics.median(r["optsim"]["cpu"] / r["numba"]["cpu"] for r in rounds)
    print(f"  CPU time (all threads) optsim/numba {cpu_on:.2f}; per run-step: optsim "
          f"{1e9 * statistics.median(r['optsim']['cpu'] for r in rounds) / (args.cells * STEPS):.1f}"
          f" ns, numba "
          f"{1e9 * statistics.median(r['numba']['cpu'] for r in rounds) / (args.cells * STEPS):.1f}"
          f" ns")
    print(f"ratios: optsim/numba = {statistics.median(on):.2f} (goal <= 1.5), torch/optsim = "
          f"{statistics.median(to):.2f} (goal >= 1), optsim peak = "
          f"{res['optsim']['peak_mb']:.0f} MB (goal <= 300)")


if __name__ == "__main__":
    main()
