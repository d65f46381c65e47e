"""The sweep runner's speed-ups keep every result bit for bit: per-row settings found
over runs of rows, per-row constants made once per optimizer, blocks written into
place by their worker threads (issue #14, scale and speed)."""

import numpy as np
import pytest
from sweep_cells import assert_adam_cells_are_separate_runs

import optsim
from optsim.engine.base import distinct_rows
from optsim.explore import sweep


def _by_table_rows(values: list, n: int) -> tuple[list, np.ndarray]:
    """The former way: np.unique over the (N, k) table of every value."""
    table = np.column_stack([np.broadcast_to(np.asarray(v, dtype=np.float64).reshape(-1, 1),
                                             (n, 1))[:, 0] for v in values])
    unique, inverse = np.unique(table, axis=0, return_inverse=True)
    return unique.tolist(), inverse.reshape(-1)


def test_distinct_rows_give_each_row_its_own_settings_as_a_table_sort_does():
    rng = np.random.default_rng(7)
    for _ in range(200):
        n = int(rng.integers(1, 120))
        values: list = []
        for _ in range(int(rng.integers(1, 4))):
            kind = rng.random()
            if kind < 0.3:  # runs of equal rows, as a sweep's (N, 1) column
                values.append(np.repeat(rng.choice([0.1, 0.5, 0.9], n // 3 + 1), 3)[:n, None])
            elif kind < 0.6:  # no runs
                values.append(rng.choice([0.1, 0.5, 0.9, 0.3], n))
            else:  # one number for all rows: an int, a float, a flag
                values.append(rng.choice([0.999, 5, True]).item())
        if not any(isinstance(v, np.ndarray) for v in values):
            values[0] = rng.random(n)
        want, want_inv = _by_table_rows(values, n)
        got, got_inv = distinct_rows(values, n)
        assert [got[i] for i in got_inv] == [want[i] for i in want_inv]
        assert len(got) == len(want)
        assert all(type(x) is float for row in got for x in row)


def test_kept_values_follow_the_array_they_come_from():
    opt = optsim.make_optimizer("adam", beta1=np.array([0.9, 0.2]))
    calls = []

    def derive(v):
        calls.append(v)
        return 1 - v

    a, b = np.array([[0.9], [0.2]]), np.array([[0.9], [0.2]])
    first = opt.kept("k", derive, a)
    assert opt.kept("k", derive, a) is first and len(calls) == 1
    np.testing.assert_array_equal(opt.kept("k", derive, b), first)  # another array: made again
    assert len(calls) == 2
    assert opt.kept("k", derive, 0.5) == 0.5 and len(calls) == 3  # a number: every time


@pytest.mark.parametrize("block_rows,workers", [(4, 2), (7, 2), (10**6, 1)])
def test_blocks_on_either_branch_of_the_first_moment_equal_separate_runs(block_rows, workers):
    """beta1 on both sides of 0.5 (torch's lerp takes another formula for a weight
    1 − β₁ ≥ 0.5): blocks of one beta1 (all rows on one branch), blocks mixing
    both, in two threads, each cell the run alone."""
    kw = dict(x="lr=0.001:0.3:4:log", y="beta1=0.0:0.99:6", start=(-1.5, 2.0), steps=40)
    res = sweep("rosenbrock", "adam", block_rows=block_rows, workers=workers, **kw)
    whole = sweep("rosenbrock", "adam", block_rows=10**6, workers=1, **kw)
    for name, values in whole.metrics.items():
        assert res.metrics[name].tobytes() == values.tobytes(), name
    assert_adam_cells_are_separate_runs(res, "rosenbrock", (-1.5, 2.0), 40, steps_to_tol=True)
