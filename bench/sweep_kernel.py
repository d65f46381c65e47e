"""Prototype of a compiled sweep path (a proposal, not used by optsim; needs numba).

bench/sweep.py's numba reference steps one cell at a time through its 100 steps: a
chain of dependent square roots and divisions, about 25 ns of CPU per cell-step. This
kernel is the other way round: for each block of 256 rows, step by step, the rows in
the inner loop, branch-free (per-row selects), so that LLVM vectorises over rows. It
follows optsim's NumPy operation order exactly (torch's lerp and its two branches,
(-lr)/(1 - beta1^t), sqrt(v)/sqrt(1 - beta2^t) + eps, Rosenbrock's value and
gradient as optsim.functions computes them, a run frozen where it left the bounds),
with the per-step powers computed in Python as optsim's ``Optimizer.each`` does, and
no fastmath (no fused multiply-adds): its final loss, best loss and steps-to-tol are
checked bit for bit against ``optsim.sweep`` over the same grid.

Usage: python bench/sweep_kernel.py [--side 1000]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numba
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import optsim  # noqa: E402
from optsim.explore.runner import bounds, keep_freed_memory  # noqa: E402
from optsim.functions import get_function  # noqa: E402

STEPS, START, TOL, BETA2, EPS = 100, (-1.5, 2.0), 1e-6, 0.999, 1e-8


@numba.njit(parallel=True, cache=False)
def adam_rosenbrock(x0, y0, lr, row_b, b1s, bc1, bc2_sqrt, b2, eps, steps, box, tol,
                    final, best, hit, chunk):  # pragma: no cover - compiled
    """Adam on Rosenbrock for every row (its lr, and its beta1 ``b1s[row_b[i]]``);
    ``bc1[k, b]``: 1 − β₁ᵏ of beta1 number b; ``bc2_sqrt[k]``: √(1 − β₂ᵏ)."""
    n = lr.shape[0]
    lox, hix, loy, hiy = box
    omb2 = 1 - b2
    for c in numba.prange((n + chunk - 1) // chunk):
        s, e = c * chunk, min(n, (c + 1) * chunk)
        m = e - s
        x, y = np.full(m, x0), np.full(m, y0)
        mx, my, vx, vy = np.zeros(m), np.zeros(m), np.zeros(m), np.zeros(m)
        loss, bst, h = np.empty(m), np.empty(m), np.full(m, np.inf)
        out = np.zeros(m, np.bool_)
        gx, gy, w, comp, neg_lr, ns = (np.empty(m), np.empty(m), np.empty(m), np.empty(m),
                                       np.empty(m), np.empty(m))
        low = np.empty(m, np.bool_)
        for j in range(m):
            w[j] = 1 - b1s[row_b[s + j]]
            comp[j] = 1.0 - w[j]
            low[j] = w[j] < 0.5
            neg_lr[j] = -lr[s + j]
            a = 1 - x[j]
            r = y[j] - x[j] * x[j]
            v = a * a + (r * r) * 100
            gx[j] = a * -2 - (400 * x[j]) * r
            gy[j] = 200 * r
            loss[j] = v
            bst[j] = v
            if v < tol:
                h[j] = 0
        for k in range(1, steps + 1):
            bs = bc2_sqrt[k]
            for j in range(m):
                ns[j] = neg_lr[j] / bc1[k, row_b[s + j]]
            for j in range(m):
                dx, dy = gx[j] - mx[j], gy[j] - my[j]
                nmx = (dx * w[j] + mx[j]) if low[j] else (gx[j] - dx * comp[j])
                nmy = (dy * w[j] + my[j]) if low[j] else (gy[j] - dy * comp[j])
                nvx = vx[j] * b2 + (gx[j] * omb2) * gx[j]
                nvy = vy[j] * b2 + (gy[j] * omb2) * gy[j]
                px = x[j] + (nmx * ns[j]) / (math.sqrt(nvx) / bs + eps)
                py = y[j] + (nmy * ns[j]) / (math.sqrt(nvy) / bs + eps)
                a = 1 - px
                r = py - px * px
                v = a * a + (r * r) * 100
                ok = ((v - v == 0.0) & (px >= lox) & (px <= hix) & (py >= loy) & (py <= hiy)
                      & ~out[j])
                out[j] = ~ok
                mx[j] = nmx if ok else mx[j]
                my[j] = nmy if ok else my[j]
                vx[j] = nvx if ok else vx[j]
                vy[j] = nvy if ok else vy[j]
                x[j] = px if ok else x[j]
                y[j] = py if ok else y[j]
                loss[j] = v if ok else loss[j]
                bst[j] = v if (ok & (v < bst[j])) else bst[j]
                h[j] = k if (ok & (v < tol) & (h[j] == np.inf)) else h[j]
                gx[j] = (a * -2 - (400 * px) * r) if ok else gx[j]
                gy[j] = (200 * r) if ok else gy[j]
        for j in range(m):
            final[s + j] = np.inf if out[j] else loss[j]
            best[s + j] = bst[j]
            hit[s + j] = np.inf if out[j] else h[j]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--side", type=int, default=1000, help="grid side (side² cells)")
    args = ap.parse_args()
    keep_freed_memory()
    side = args.side
    lrs, b1s = np.geomspace(1e-4, 0.3, side), np.linspace(0.0, 0.99, side)
    lr, row_b = np.tile(lrs, side), np.repeat(np.arange(side), side)
    # the powers in Python floats, as Optimizer.each computes them
    bc1 = np.array([[1 - b**k for b in b1s.tolist()] for k in range(STEPS + 1)])
    bc2_sqrt = np.array([(1 - BETA2**k) ** 0.5 for k in range(STEPS + 1)])
    lo, hi = bounds(get_function("rosenbrock"))
    box = (float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1]))
    n = side * side
    final, best, hit = np.empty(n), np.empty(n), np.empty(n)
    call = (START[0], START[1], lr, row_b, b1s, bc1, bc2_sqrt, BETA2, EPS, STEPS, box, TOL,
            final, best, hit, 256)
    for threads in (2, 1):
        numba.set_num_threads(threads)
        adam_rosenbrock(*call)  # (compiles)
        runs = []
        for _ in range(3):
            c0, t0 = time.process_time(), time.perf_counter()
            adam_rosenbrock(*call)
            runs.append((time.perf_counter() - t0, time.process_time() - c0))
        wall, cpu = min(runs)
        print(f"compiled, {threads} thread(s): {wall:.3f} s, CPU {cpu:.3f} s = "
              f"{1e9 * cpu / (n * STEPS):.2f} ns per run-step")
    c0, t0 = time.process_time(), time.perf_counter()
    res = optsim.sweep("rosenbrock", "adam", x=("lr", 1e-4, 0.3, side, "log"),
                       y=("beta1", 0.0, 0.99, side), start=START, steps=STEPS, tol=TOL)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"optsim.sweep (NumPy, 2 threads): {wall:.3f} s, CPU {cpu:.3f} s = "
          f"{1e9 * cpu / (n * STEPS):.2f} ns per run-step")
    same = {name: res.metrics[name].ravel().tobytes() == got.tobytes()
            for name, got in (("final-loss", final), ("best-loss", best), ("steps-to-tol", hit))}
    print("bit for bit with optsim.sweep: " + ", ".join(f"{k} {v}" for k, v in same.items()))
    if not all(same.values()):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
