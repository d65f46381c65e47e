"""For tests: a sweep's cells against separate runs (not a test module)."""

from __future__ import annotations

import numpy as np

import optsim
from optsim.simulation import run


def assert_adam_cells_are_separate_runs(res, function: str, start, steps: int,
                                        steps_to_tol: bool = False) -> None:
    """Each cell of an Adam sweep over lr (x) and beta1 (y) equals, bit for bit, the
    run with that lr and beta1 alone: its final and best loss (and first step below
    1e-6, with ``steps_to_tol``)."""
    for j, b1 in enumerate(res.y):
        for i, lr in enumerate(res.x):
            alone = run(function, optsim.make_optimizer("adam", lr=float(lr), beta1=float(b1)),
                        start, steps)
            assert res.metrics["final-loss"][j, i] == alone.losses[-1]
            assert res.metrics["best-loss"][j, i] == alone.losses.min()
            if steps_to_tol:
                below = np.flatnonzero(alone.losses < 1e-6)
                assert res.metrics["steps-to-tol"][j, i] == (below[0] if below.size else np.inf)
