"""Make tests/golden/functions/derivatives.npz: values, gradients and Hessians of the built-in 2D
functions at random points of their views, from PyTorch's autograd (needs torch).

Each function is written here again in torch ops, independently of optsim's formula
text and of sympy; torch.func differentiates it (gradient: ``grad``, Hessian:
``hessian``, vectorised with ``vmap``), in float64. The points are seeded and read
from optsim only for each function's view. tests/test_hessians.py compares optsim's
value, gradient and Hessian with these arrays, without torch.

Usage: python tools/make_golden_functions.py [--out tests/golden/functions/derivatives.npz]
"""

from __future__ import annotations

import argparse
import math
import zlib
from pathlib import Path

import numpy as np
import torch
from torch import abs, cos, exp, sin, sqrt  # noqa: A004 (torch's, on purpose)

from optsim.functions import FUNCTIONS

torch.set_default_dtype(torch.float64)
PI = math.pi
POINTS = 24


def _shubert1(t: torch.Tensor) -> torch.Tensor:
    return sum(i * cos((i + 1) * t + i) for i in range(1, 6))


def _levy(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    w1, w2 = 1 + (x - 1) / 4, 1 + (y - 1) / 4
    return (sin(PI * w1) ** 2 + (w1 - 1) ** 2 * (1 + 10 * sin(PI * w1 + 1) ** 2)
            + (w2 - 1) ** 2 * (1 + sin(2 * PI * w2) ** 2))


#: name -> f(x, y) in torch ops
TORCH: dict = {
    "bowl": lambda x, y: x**2 + y**2,
    "elongated-bowl": lambda x, y: x**2 + 9 * y**2,
    "zigzag-bowl": lambda x, y: 0.5 * x**2 + 8 * y**2,
    "tilted-bowl": lambda x, y: x**2 + 1.8 * x * y + y**2,
    "rosenbrock": lambda x, y: (1 - x) ** 2 + 100 * (y - x**2) ** 2,
    "beale": lambda x, y: ((1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2
                           + (2.625 - x + x * y**3) ** 2),
    "himmelblau": lambda x, y: (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2,
    "rastrigin": lambda x, y: 20 + x**2 - 10 * cos(2 * PI * x) + y**2 - 10 * cos(2 * PI * y),
    "booth": lambda x, y: (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2,
    "saddle": lambda x, y: x**2 - y**2,
    "goldstein-price": lambda x, y: (
        (1 + (x + y + 1) ** 2 * (19 - 14 * x + 3 * x**2 - 14 * y + 6 * x * y + 3 * y**2))
        * (30 + (2 * x - 3 * y) ** 2 * (18 - 32 * x + 12 * x**2 + 48 * y - 36 * x * y
                                        + 27 * y**2))),
    "mccormick": lambda x, y: sin(x + y) + (x - y) ** 2 - 1.5 * x + 2.5 * y + 1,
    "six-hump-camel": lambda x, y: ((4 - 2.1 * x**2 + x**4 / 3) * x**2 + x * y
                                    + (-4 + 4 * y**2) * y**2),
    "ackley": lambda x, y: (-20 * exp(-0.2 * sqrt(0.5 * (x**2 + y**2)))
                            - exp(0.5 * (cos(2 * PI * x) + cos(2 * PI * y))) + math.e + 20),
    "bukin6": lambda x, y: 100 * sqrt(abs(y - 0.01 * x**2)) + 0.01 * abs(x + 10),
    "cross-in-tray": lambda x, y: -0.0001 * (
        abs(sin(x) * sin(y) * exp(abs(100 - sqrt(x**2 + y**2) / PI))) + 1) ** 0.1,
    "drop-wave": lambda x, y: -(1 + cos(12 * sqrt(x**2 + y**2))) / (0.5 * (x**2 + y**2) + 2),
    "eggholder": lambda x, y: (-(y + 47) * sin(sqrt(abs(x / 2 + (y + 47))))
                               - x * sin(sqrt(abs(x - (y + 47))))),
    "griewank": lambda x, y: (x**2 + y**2) / 4000 - cos(x) * cos(y / math.sqrt(2)) + 1,
    "holder-table": lambda x, y: -abs(sin(x) * cos(y) * exp(abs(1 - sqrt(x**2 + y**2) / PI))),
    "levy": _levy,
    "levy13": lambda x, y: (sin(3 * PI * x) ** 2 + (x - 1) ** 2 * (1 + sin(3 * PI * y) ** 2)
                            + (y - 1) ** 2 * (1 + sin(2 * PI * y) ** 2)),
    "schaffer2": lambda x, y: 0.5 + (sin(x**2 - y**2) ** 2 - 0.5) / (1 + 0.001 * (x**2 + y**2)) ** 2,
    "schaffer4": lambda x, y: 0.5 + ((cos(sin(abs(x**2 - y**2))) ** 2 - 0.5)
                                     / (1 + 0.001 * (x**2 + y**2)) ** 2),
    "schwefel": lambda x, y: 418.9829 * 2 - x * sin(sqrt(abs(x))) - y * sin(sqrt(abs(y))),
    "shubert": lambda x, y: _shubert1(x) * _shubert1(y),
    "bohachevsky1": lambda x, y: x**2 + 2 * y**2 - 0.3 * cos(3 * PI * x) - 0.4 * cos(4 * PI * y) + 0.7,
    "sum-squares": lambda x, y: 1 * x**2 + 2 * y**2,
    "trid": lambda x, y: (x - 1) ** 2 + (y - 1) ** 2 - x * y,
    "dixon-price": lambda x, y: (x - 1) ** 2 + 2 * (2 * y**2 - x) ** 2,
    "zakharov": lambda x, y: (x**2 + y**2 + (0.5 * 1 * x + 0.5 * 2 * y) ** 2
                              + (0.5 * 1 * x + 0.5 * 2 * y) ** 4),
    "matyas": lambda x, y: 0.26 * (x**2 + y**2) - 0.48 * x * y,
    "three-hump-camel": lambda x, y: 2 * x**2 - 1.05 * x**4 + x**6 / 6 + x * y + y**2,
    "easom": lambda x, y: -cos(x) * cos(y) * exp(-(x - PI) ** 2 - (y - PI) ** 2),
    "michalewicz": lambda x, y: (-sin(x) * sin(1 * x**2 / PI) ** 20
                                 - sin(y) * sin(2 * y**2 / PI) ** 20),
    "branin": lambda x, y: (1 * (y - 5.1 / (4 * PI**2) * x**2 + 5 / PI * x - 6) ** 2
                            + 10 * (1 - 1 / (8 * PI)) * cos(x) + 10),
    "styblinski-tang": lambda x, y: 0.5 * ((x**4 - 16 * x**2 + 5 * x) + (y**4 - 16 * y**2 + 5 * y)),
    "bird": lambda x, y: (sin(x) * exp((1 - cos(y)) ** 2) + cos(y) * exp((1 - sin(x)) ** 2)
                          + (x - y) ** 2),
    "leon": lambda x, y: 100 * (y - x**3) ** 2 + (1 - x) ** 2,
}


def points(name: str) -> np.ndarray:
    """The seeded random points of a function's view (as tests/test_hessians.py)."""
    (x0, x1), (y0, y1) = FUNCTIONS[name].view
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    return np.array([x0, y0]) + np.array([x1 - x0, y1 - y0]) * rng.random((POINTS, 2))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "tests" / "golden"
                                          / "functions" / "derivatives.npz"))
    args = ap.parse_args()
    arrays = {}
    for name, f in TORCH.items():
        def scalar(w: torch.Tensor, f=f) -> torch.Tensor:
            return f(w[0], w[1])

        p = torch.tensor(points(name))
        arrays[f"{name}/points"] = p.numpy()
        arrays[f"{name}/value"] = torch.vmap(scalar)(p).numpy()
        arrays[f"{name}/gradient"] = torch.vmap(torch.func.grad(scalar))(p).numpy()
        arrays[f"{name}/hessian"] = torch.vmap(torch.func.hessian(scalar))(p).numpy()
    np.savez_compressed(args.out, **arrays)
    print(f"wrote {args.out}: {len(TORCH)} functions x {POINTS} points")


if __name__ == "__main__":
    main()
