"""Benchmark: optsim's Adam against torch.optim.Adam on Rosenbrock (needs torch).

Not a test. Both sides do the same work per step: one optimizer step plus one
gradient. For torch the gradient is measured both ways, by autograd (``backward``)
and analytically in torch ops, and the faster one is the reference. optsim's step
is what ``simulate`` does per step: the engine's ``step`` plus the function's
analytic gradient.

(a) one run, 5,000 steps: per-step time; goal: optsim >= 5x faster.
(b) 65,536 runs x 100 steps on (65536, 2) arrays; goal: optsim at least as fast
    as torch on a (65536, 2) tensor (torch uses all cores; optsim splits big
    batches over two threads).

Times are medians over repeats (the machine is noisy). The last line prints the
speed-ups (torch time / optsim time).

Usage: python bench/engine.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from optsim.engine import make_optimizer  # noqa: E402
from optsim.functions import get_function  # noqa: E402
from optsim.simulation import Trajectory  # noqa: E402

ROSEN = get_function("rosenbrock")
LR = 1e-3


def _starts(n: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.column_stack([rng.uniform(-2, 2, n), rng.uniform(-1, 3, n)])


def _per_step(fn, steps: int) -> float:
    t0 = time.perf_counter()
    fn(steps)
    return (time.perf_counter() - t0) / steps


# -- optsim -------------------------------------------------------------------
def optsim_step_and_grad(n: int):
    opt = make_optimizer("adam", lr=LR)
    grad = ROSEN.gradient

    def run(steps: int) -> None:
        p = _starts(n)
        s = opt.init(p)
        g = grad(p)
        for _ in range(steps):
            p, s = opt.step(p, g, s)
            g = grad(p)
    return run


def optsim_step_only(n: int):
    opt = make_optimizer("adam", lr=LR)

    def run(steps: int) -> None:
        p = _starts(n)
        s = opt.init(p)
        g = ROSEN.gradient(p)
        for _ in range(steps):
            p, s = opt.step(p, g, s)
    return run


def optsim_trajectory(n: int):
    def run(steps: int) -> None:
        Trajectory(ROSEN, f"adam:lr={LR}", _starts(n), record_state=False,
                   capacity=steps + 1).advance(steps)
    return run


# -- torch --------------------------------------------------------------------
def _rosen_torch(p: torch.Tensor) -> torch.Tensor:
    x, y = p[:, 0], p[:, 1]
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def _rosen_grad_torch(p: torch.Tensor) -> torch.Tensor:
    x, y = p[:, 0], p[:, 1]
    return torch.stack([-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)], dim=1)


def torch_backward(n: int):
    def run(steps: int) -> None:
        p = torch.tensor(_starts(n), requires_grad=True)
        opt = torch.optim.Adam([p], lr=LR)
        for _ in range(steps):
            opt.zero_grad()
            _rosen_torch(p).sum().backward()
            opt.step()
    return run


def torch_analytic(n: int):
    def run(steps: int) -> None:
        p = torch.tensor(_starts(n))
        opt = torch.optim.Adam([p], lr=LR)
        for _ in range(steps):
            p.grad = _rosen_grad_torch(p)
            opt.step()
    return run


def torch_step_only(n: int):
    def run(steps: int) -> None:
        p = torch.tensor(_starts(n))
        p.grad = _rosen_grad_torch(p)
        opt = torch.optim.Adam([p], lr=LR)
        for _ in range(steps):
            opt.step()
    return run


def torch_step_only_one_thread(n: int):
    inner = torch_step_only(n)

    def run(steps: int) -> None:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            inner(steps)
        finally:
            torch.set_num_threads(threads)
    return run


def _us(t: float) -> str:
    return f"{t * 1e6:9.2f} µs/step"


def measure(n: int, steps: int, repeats: int) -> dict[str, list[float]]:
    """Per-step times of every case, ``repeats`` times, the cases interleaved so
    that load on the machine hits them alike."""
    cases = {
        "optsim step + gradient": optsim_step_and_grad(n),
        "optsim step only": optsim_step_only(n),
        "optsim Trajectory.advance": optsim_trajectory(n),
        "torch step + backward": torch_backward(n),
        "torch step + analytic grad": torch_analytic(n),
        "torch step only": torch_step_only(n),
        # less hurt than two threads when other processes load the machine
        "torch step only, 1 thread": torch_step_only_one_thread(n),
    }
    for fn in cases.values():  # warm up
        fn(min(steps, 50))
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, fn in cases.items():
            times[name].append(_per_step(fn, steps))
    for name, ts in times.items():
        print(f"  {name:28s} {_us(statistics.median(ts))}  (min {_us(min(ts)).strip()})",
              flush=True)
    return times


def speedups(t: dict[str, list[float]]) -> tuple[float, float]:
    """Median over repeats of torch/optsim: (step + gradient, step only). torch's
    reference for step + gradient is the faster of backward and analytic."""
    full = [min(b, a) / o for b, a, o in zip(t["torch step + backward"],
                                             t["torch step + analytic grad"],
                                             t["optsim step + gradient"], strict=True)]
    only = [tt / o for tt, o in zip(t["torch step only"], t["optsim step only"], strict=True)]
    return statistics.median(full), statistics.median(only)


def main() -> None:
    ap = argparse.ArgumentParser(description="optsim's Adam against torch.optim.Adam")
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    torch.set_default_dtype(torch.float64)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; numpy {np.__version__}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print("(a) one run, 5,000 steps")
    a = measure(1, 5000, args.repeats)
    print("(b) 65,536 runs x 100 steps")
    b = measure(65536, 100, args.repeats)

    ra, sa = speedups(a)
    rb, sb = speedups(b)
    print(f"speed-up vs torch.optim.Adam (step+grad; step only): one run {ra:.1f}x; {sa:.1f}x "
          f"(goal >= 5x); 65536 runs {rb:.2f}x; {sb:.2f}x (goal >= 1x)")


if __name__ == "__main__":
    main()
