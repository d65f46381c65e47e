"""Make the golden files of torch.optim.LBFGS in tests/golden/closure/ (needs torch).

L-BFGS is closure-based: one optsim step is one ``optimizer.step(closure)``, which
may evaluate the loss many times. For every configuration × loss function this runs
torch 2.13's LBFGS in float64 for ``STEPS`` steps and saves

* ``positions_one`` (k+1, 1, D): one start, the position after every step;
* ``evaluated_one`` (E, D) and ``evaluated_step`` (E,): every point the closure was
  called at, in order, and the step (from 1) that called it;
* ``positions_batch`` (k+1, N, D): several starts, each its own torch optimizer
  (torch's L-BFGS treats all its parameters as one vector), stepped side by side.

The closure hands torch optsim's loss and gradient (``LossFunction.value`` and
``gradient``, themselves checked against torch's autograd in tests/test_functions.py):
fixed-step L-BFGS on Rosenbrock amplifies a last-bit difference in a gradient to
1e-5 within five steps, so these files test the optimizer, given the same loss, to
the last bit. A run that leaves the box |x| <= ``BOX`` ends the recording at the step
before (for the whole batch). tests/test_lbfgs.py replays them without torch.

Usage: python tools/make_golden_closure.py [--out tests/golden/closure] [--steps 20]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from optsim.functions import get_function  # noqa: E402

BOX = 1000.0
#: name -> (one start, a batch of starts)
FUNCTIONS = {
    "rosenbrock": ([-1.5, 2.0], [[-1.5, 2.0], [0.0, 0.0], [1.5, 1.5], [-0.5, 2.5]]),
    "elongated-bowl": ([-1.0, 1.0], [[-1.0, 1.0], [-1.0, -1.0], [1.0, 1.0], [0.5, -1.5]]),
    "bowl": ([-1.5, 1.5], [[-1.5, 1.5], [1.0, 0.5], [0.0, -2.0], [1e-3, 2.0]]),
    "cubic": ([7.0], [[7.0], [5.0], [2.0], [4.5]]),
    "himmelblau": ([-0.5, -0.5], [[-0.5, -0.5], [0.0, 0.0], [3.5, -2.0], [-3.0, 3.0]]),
    "beale": ([1.0, 1.0], [[1.0, 1.0], [-1.0, 1.5], [2.0, -0.5], [0.0, 0.0]]),
}
STEPS = 20

# (optsim spec, keyword arguments for torch.optim.LBFGS), both written by hand
CONFIGS: list[tuple[str, dict]] = [
    ("lbfgs", {}),
    ("lbfgs:line_search_fn=strong_wolfe", {"line_search_fn": "strong_wolfe"}),
    ("lbfgs:lr=0.1,max_iter=5,history_size=3", {"lr": 0.1, "max_iter": 5, "history_size": 3}),
    ("lbfgs:max_iter=4,max_eval=6,history_size=2,line_search_fn=strong_wolfe",
     {"max_iter": 4, "max_eval": 6, "history_size": 2, "line_search_fn": "strong_wolfe"}),
    ("lbfgs:lr=0.5,tolerance_grad=0.0001,tolerance_change=1e-06",
     {"lr": 0.5, "tolerance_grad": 1e-4, "tolerance_change": 1e-6}),
    ("lbfgs:lr=0.3,max_iter=1", {"lr": 0.3, "max_iter": 1}),
]


def run_one(kwargs: dict, function: str, start: list[float], steps: int
            ) -> tuple[list[np.ndarray], list[tuple[int, np.ndarray]]]:
    """torch's LBFGS from ``start``: the positions after each step (stopping before
    one that leaves the box) and every point its closure evaluated, with the step."""
    fn = get_function(function)
    p = torch.tensor([start], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([p], **kwargs)
    evaluated: list[tuple[int, np.ndarray]] = []
    k = 0

    def closure() -> torch.Tensor:
        opt.zero_grad()
        x = p.detach().clone().numpy()
        p.grad = torch.from_numpy(np.asarray(fn.gradient(x), dtype=np.float64).copy())
        evaluated.append((k, x[0]))
        return torch.tensor(float(fn.value(x)[0]))

    out = [p.detach().clone().numpy()[0]]
    for k in range(1, steps + 1):  # noqa: B007 (read by the closure)
        opt.step(closure)
        now = p.detach().clone().numpy()[0]
        if not np.isfinite(now).all() or np.abs(now).max() > BOX:
            break
        out.append(now)
    return out, [(j, e) for j, e in evaluated if j < len(out)]


def name_of(spec: str, function: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", spec.replace(":", "_")) + f"__{function}"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("tests/golden/closure"))
    ap.add_argument("--steps", type=int, default=STEPS)
    args = ap.parse_args(argv)
    torch.set_default_dtype(torch.float64)
    args.out.mkdir(parents=True, exist_ok=True)
    for spec, kwargs in CONFIGS:
        for function, (one, batch) in FUNCTIONS.items():
            path1, evaluated = run_one(kwargs, function, one, args.steps)
            runs = [run_one(kwargs, function, s, args.steps)[0] for s in batch]
            k = min(len(r) for r in runs)
            positions_batch = np.stack([np.stack(r[:k]) for r in runs], axis=1)
            meta = {"spec": spec, "function": function, "torch": torch.__version__,
                    "kwargs": kwargs}
            np.savez_compressed(
                args.out / f"{name_of(spec, function)}.npz",
                meta=json.dumps(meta),
                positions_one=np.stack(path1)[:, None, :],
                evaluated_one=np.stack([e for _, e in evaluated]),
                evaluated_step=np.array([j for j, _ in evaluated], dtype=np.int64),
                positions_batch=positions_batch)
            print(f"{spec:70s} {function:15s} steps {len(path1) - 1:3d} / batch {k - 1:3d}, "
                  f"{len(evaluated)} evaluations")


if __name__ == "__main__":
    main()
