"""The runs as data: the CSV of runs (written atomically, see :mod:`optsim.files`).
No Qt here."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..files import atomic_write_text
from ..functions import LossFunction, as_function
from ..simulation import SimulationResult, Trajectory


def _num(v: float) -> str:
    """repr-precision: ``float(_num(v)) == v`` for every float64 (nan and inf too)."""
    return repr(float(v))


Result = SimulationResult | Trajectory


def _arrays(result: Result) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """positions (S+1, N, D), losses (S+1, N), diverged (N,), diverged_step (N,)."""
    if isinstance(result, Trajectory):
        pos, loss = result.positions, result.losses
        div, div_step = result.diverged, result.diverged_step
    else:
        pos, loss = np.asarray(result.positions), np.asarray(result.losses)
        div, div_step = np.asarray(result.diverged), np.asarray(result.diverged_step)
    if loss.ndim == 1:  # a single run
        pos, loss = pos[:, None, :], loss[:, None]
        div, div_step = np.atleast_1d(div), np.atleast_1d(div_step)
    return pos, loss, div, div_step


def csv_text(function: str | LossFunction, results: Sequence[tuple[str, Result]],
             members: Sequence[int] | None = None) -> str:
    """The CSV of ``results`` (``[(optimizer_name, result), ...]``): columns
    ``optimizer,[run,][member,]step,x,[y,]loss,grad_norm,diverged``, one row per run
    per step.

    ``run`` (the start-point index) appears when some result has several starts;
    ``member`` (0..K−1) when some result is an ensemble of K > 1 members per start
    (``members``: K of each result; row j of a result is start j // K, member j % K);
    ``y`` only in 2D. ``diverged`` is 1 from the step at which the run diverged on.
    Numbers are written at full precision, so the file round-trips float64 exactly.
    """
    fn = as_function(function)
    arrays = [(name, *_arrays(r)) for name, r in results]
    ks = list(members) if members is not None else [1] * len(arrays)
    ensembles = any(k > 1 for k in ks)
    several = any(pos.shape[1] > k for (_, pos, *_), k in zip(arrays, ks, strict=True))
    header = (["optimizer"] + (["run"] if several else []) + (["member"] if ensembles else [])
              + ["step", "x"])
    header += ["y"] if fn.dim == 2 else []
    header += ["loss", "grad_norm", "diverged"]
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(header)
    for (name, pos, loss, div, div_step), k_members in zip(arrays, ks, strict=True):
        steps, n, dim = pos.shape
        if dim != fn.dim:
            raise ValueError(f"{name}: positions have {dim} coordinate(s), {fn.name} has {fn.dim}")
        with np.errstate(all="ignore"):
            grads = np.asarray(fn.gradient(pos.reshape(-1, dim)), dtype=np.float64)
            gnorm = np.sqrt((grads ** 2).sum(axis=1)).reshape(steps, n)
        for j in range(n):
            since = int(div_step[j]) if bool(div[j]) else steps + 1
            for k in range(steps):
                row = ([name] + ([str(j // k_members)] if several else [])
                       + ([str(j % k_members)] if ensembles else []) + [str(k)])
                row += [_num(c) for c in pos[k, j]]
                row += [_num(loss[k, j]), _num(gnorm[k, j]), "1" if k >= since else "0"]
                out.writerow(row)
    return buf.getvalue()


def write_csv(path: str | os.PathLike, function: str | LossFunction,
              results: Sequence[tuple[str, Result]], members: Sequence[int] | None = None
              ) -> Path:
    """Write :func:`csv_text` of ``results`` to ``path`` atomically."""
    return atomic_write_text(path, csv_text(function, results, members))
