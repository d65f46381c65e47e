"""Benchmark: optsim's Adam against torch.optim.Adam on Rosenbrock (needs torch).

Not a test. Both sides do the same work per step.

(a) one run, 5,000 steps: one optimizer step plus one gradient per step, optsim's
    ``Optimizer.step`` and the function's analytic gradient against torch's step
    with the gradient by autograd (``backward``) or analytic in torch ops, the
    faster of the two being the reference; goal: optsim >= 5x faster.
(b) 65,536 runs x 100 steps, positions kept on both sides: ``optsim.simulate``
    (which also evaluates every step's loss and checks every run for divergence
    after every step, and steps big batches in blocks of rows, shared out between
    two threads when a CPU is free; its history in memory kept from an earlier
    result once that is gone, see optsim/history_memory.py) against
    torch.optim.Adam on a (65536, 2) tensor with the analytic gradient, each step's
    positions copied into a preallocated (101, 65536, 2) history, run with torch's
    default threads and with one thread: the faster of the two is the reference.
    Goal: simulate >= 1.2x faster. For information, optsim's bare ``step`` +
    gradient (one thread) and torch's step alone.

Times are medians over repeats, the cases interleaved so that load on the machine
hits them alike; speed-ups are medians of the per-repeat ratios. ``--busy`` keeps
one core busy with a process of the bench's own (a Python busy loop) while it
measures: the conditions of a machine where something else runs. The load average
is printed before and after, and how many of simulate's repeats stepped in two
threads (it takes a second thread only when a CPU is free).

The last line states the goal of issue #13 item 8 (b), met or not, then (a):
``GOAL simulate 65,536 runs x 100 steps: 1.31x torch.optim.Adam (goal >= 1.2x) MET ...``.

Usage: python bench/engine.py [--repeats 7] [--busy]
       python bench/engine.py --optimizers [--repeats 3]: (c) every registered optimizer's
       per-step cost relative to Adam's (see ``optimizer_costs``)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import optsim  # noqa: E402
from optsim import simulation  # noqa: E402
from optsim.engine import make_optimizer  # noqa: E402
from optsim.functions import get_function  # noqa: E402

ROSEN = get_function("rosenbrock")
LR = 1e-3
#: seconds of rest before each timed case (see ``measure``)
SETTLE = 0.05


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


def optsim_simulate(n: int):
    opt = make_optimizer("adam", lr=LR)
    starts = _starts(n)

    def run(steps: int) -> None:
        optsim.simulate(ROSEN, opt, starts, steps)
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


def torch_kept(n: int, threads: int | None = None):
    """torch's Adam with the analytic gradient, every step's positions kept."""
    starts = _starts(n)

    def run(steps: int) -> None:
        before = torch.get_num_threads()
        if threads is not None:
            torch.set_num_threads(threads)
        try:
            p = torch.tensor(starts)
            opt = torch.optim.Adam([p], lr=LR)
            history = torch.empty((steps + 1, n, 2))
            history[0] = p
            for k in range(steps):
                p.grad = _rosen_grad_torch(p)
                opt.step()
                history[k + 1].copy_(p)
        finally:
            torch.set_num_threads(before)
    return run


def torch_step_only(n: int):
    def run(steps: int) -> None:
        p = torch.tensor(_starts(n))
        p.grad = _rosen_grad_torch(p)
        opt = torch.optim.Adam([p], lr=LR)
        for _ in range(steps):
            opt.step()
    return run


def _us(t: float) -> str:
    return f"{t * 1e6:9.2f} µs/step"


def measure(cases: dict, steps: int, repeats: int) -> dict[str, list[float]]:
    """Per-step times of every case, ``repeats`` times, the cases interleaved so
    that load on the machine hits them alike. Each case starts after a pause of
    SETTLE seconds: torch's OpenMP threads spin for a while after a parallel
    region, and would otherwise still take a core when the next case starts."""
    for fn in cases.values():  # warm up
        fn(min(steps, 50))
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, fn in cases.items():
            time.sleep(SETTLE)
            times[name].append(_per_step(fn, steps))
    for name, ts in times.items():
        print(f"  {name:36s} {_us(statistics.median(ts))}  (min {_us(min(ts)).strip()})",
              flush=True)
    return times


class _Threads:
    """Counts the advances that simulate shared out between two threads."""

    def __init__(self) -> None:
        self.calls = 0
        self._original = simulation._in_threads

    def __enter__(self) -> _Threads:
        def counted(*args, **kwargs):
            self.calls += 1
            return self._original(*args, **kwargs)
        simulation._in_threads = counted
        return self

    def __exit__(self, *exc: object) -> None:
        simulation._in_threads = self._original


def _busy() -> subprocess.Popen:
    """A process of the bench's own that keeps one core busy."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def main() -> None:
    ap = argparse.ArgumentParser(description="optsim's Adam against torch.optim.Adam")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--busy", action="store_true",
                    help="keep one core busy with a process of the bench's own meanwhile")
    args = ap.parse_args()
    torch.set_default_dtype(torch.float64)
    busy = _busy() if args.busy else None
    load_before = os.getloadavg()[0]
    try:
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; numpy "
              f"{np.__version__}; load average {load_before:.2f} on {os.cpu_count()} "
              f"CPUs{'; one core kept busy by the bench' if busy else ''}")
        print("(a) one run, 5,000 steps: step + gradient")
        a = measure({"optsim step + gradient": optsim_step_and_grad(1),
                     "torch step + backward": torch_backward(1),
                     "torch step + analytic grad": torch_analytic(1)}, 5000, args.repeats)
        n = 65536
        print(f"(b) {n:,} runs x 100 steps, positions kept")
        threads = _Threads()
        b = measure({"optsim simulate": _counted(optsim_simulate(n), threads),
                     "torch Adam + grad, kept": torch_kept(n),
                     "torch Adam + grad, kept, 1 thread": torch_kept(n, threads=1),
                     "optsim step + gradient (bare, 1 thread)": optsim_step_and_grad(n),
                     "torch step only": torch_step_only(n)}, 100, args.repeats)
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()
    one = statistics.median(min(bw, an) / o for bw, an, o in zip(
        a["torch step + backward"], a["torch step + analytic grad"], a["optsim step + gradient"],
        strict=True))
    many = statistics.median(min(t2, t1) / o for t2, t1, o in zip(
        b["torch Adam + grad, kept"], b["torch Adam + grad, kept, 1 thread"], b["optsim simulate"],
        strict=True))
    load_after = os.getloadavg()[0]
    runs = args.repeats + 1
    print(f"simulate stepped in two threads in {threads.calls} of its {runs} calls "
          f"(the warm-up included); load average {load_before:.2f} before, {load_after:.2f} "
          "after")
    print(f"GOAL simulate {n:,} runs x 100 steps, positions kept: {many:.2f}x "
          f"torch.optim.Adam (goal >= 1.2x) {'MET' if many >= 1.2 else 'NOT MET'}; "
          f"one run (step + grad) {one:.1f}x (goal >= 5x) {'met' if one >= 5 else 'NOT met'} "
          f"[{'one core busy' if busy else 'no busy core'}, load {load_before:.2f} -> "
          f"{load_after:.2f}]")


def _counted(fn, threads: _Threads):
    def run(steps: int) -> None:
        with threads:
            fn(steps)
    return run


# -- every registered optimizer beside Adam (issue 17) -------------------------------
COST_FUNCTION = get_function("elongated-bowl")


def optimizer_costs(repeats: int, steps: int = 2000, runs: int = 4096) -> None:
    """Section (c), ``--optimizers``: the per-step cost of every registered optimizer
    (its defaults) relative to Adam's on the elongated bowl, where no run diverges:
    one run (``steps`` steps) and ``runs`` runs x 100 steps, both through
    ``optsim.simulate`` (which steps the optimizers that evaluate the loss themselves,
    L-BFGS, Newton, with their closure: their cost includes those evaluations). Medians over ``repeats``, each optimizer
    measured right after Adam so that load hits both alike; short on purpose."""
    from optsim.engine import OPTIMIZERS

    rng = np.random.default_rng(0)
    many = rng.uniform(-1, 1, (runs, 2))

    def one_run(opt) -> float:
        t0 = time.perf_counter()
        optsim.simulate(COST_FUNCTION, opt, [[-1.0, 1.0]], steps)
        return (time.perf_counter() - t0) / steps

    def batch(opt) -> float:
        t0 = time.perf_counter()
        optsim.simulate(COST_FUNCTION, opt, many, 100)
        return (time.perf_counter() - t0) / 100

    adam = make_optimizer("adam")
    print(f"(c) every optimizer beside Adam (defaults, elongated bowl): per-step cost of one "
          f"run ({steps:,} steps) and of {runs:,} runs (100 steps), both by simulate",
          flush=True)
    print(f"  {'optimizer':<20} {'reference':<34} {'one run':>16} {'x Adam':>7} "
          f"{f'{runs:,} runs':>16} {'x Adam':>7}")
    for name, kind in OPTIMIZERS.items():
        try:
            opt = kind.create()
            one_run(opt)  # warm up (and fail here, not half-way)
            batch(opt)
        except Exception as err:  # an optimizer this loop cannot step (closure-based, ...)
            print(f"  {name:<20} {kind.reference:<34} not measured: {err}".rstrip())
            continue
        ratios_one, ratios_many, t_one, t_many = [], [], [], []
        for _ in range(repeats):
            a1, o1 = one_run(adam), one_run(opt)
            a2, o2 = batch(adam), batch(opt)
            ratios_one.append(o1 / a1)
            ratios_many.append(o2 / a2)
            t_one.append(o1)
            t_many.append(o2)
        print(f"  {name:<20} {kind.reference:<34} {_us(statistics.median(t_one))} "
              f"{statistics.median(ratios_one):7.2f} {_us(statistics.median(t_many))} "
              f"{statistics.median(ratios_many):7.2f}", flush=True)


if __name__ == "__main__":
    if "--optimizers" in sys.argv[1:]:
        ap = argparse.ArgumentParser(description="every registered optimizer's per-step cost "
                                                 "relative to Adam's (section (c) only)")
        ap.add_argument("--optimizers", action="store_true", required=True)
        ap.add_argument("--repeats", type=int, default=3)
        optimizer_costs(ap.parse_args().repeats)
    else:
        main()
