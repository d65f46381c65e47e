"""Writing results to files: atomic writes (a temporary file in the same directory,
then ``os.replace``) and the CSV of runs. No Qt here."""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .functions import LossFunction, as_function
from .simulation import SimulationResult, Trajectory


class ExportError(OSError):
    """A file could not be written; the message names the file and the reason."""


def check_writable(path: str | os.PathLike) -> Path:
    """Raise ExportError unless a file can be created at ``path`` (its directory exists
    and is writable, and the path is not a directory). Writes nothing."""
    p = Path(path)
    if str(path).strip() == "":
        raise ExportError("empty output path")
    if p.is_dir():
        raise ExportError(f"cannot write {str(path)!r}: it is a directory")
    parent = p.parent if str(p.parent) else Path(".")
    if parent.exists() and not parent.is_dir():
        raise ExportError(f"cannot write {str(path)!r}: {str(parent)!r} is not a directory")
    if not parent.is_dir():
        raise ExportError(f"cannot write {str(path)!r}: directory {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ExportError(f"cannot write {str(path)!r}: directory {str(parent)!r} is not writable")
    if p.exists() and not os.access(p, os.W_OK):
        raise ExportError(f"cannot write {str(path)!r}: the file is read-only")
    return p


def atomic_write(path: str | os.PathLike, writer: Callable[[str], Any]) -> Path:
    """Write a file atomically: ``writer(tmp_path)`` writes a temporary file in the
    same directory, which then replaces ``path``. On any failure the temporary file
    is removed, ``path`` is untouched, and ExportError (or the writer's own error)
    is raised."""
    p = check_writable(path)
    parent = p.parent if str(p.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp" + p.suffix, dir=parent)
    except OSError as exc:
        raise ExportError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; use the usual mode
        writer(tmp)
        if not os.path.exists(tmp) or os.path.getsize(tmp) == 0:
            raise ExportError(f"cannot write {str(path)!r}: nothing was written")
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return p


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(text)
    return atomic_write(path, write)


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


def csv_text(function: str | LossFunction, results: Sequence[tuple[str, Result]]) -> str:
    """The CSV of ``results`` (``[(optimizer_name, result), ...]``): columns
    ``optimizer,[run,]step,x,[y,]loss,grad_norm,diverged``, one row per run per step.

    ``run`` (the start-point index) appears when some result has several runs; ``y``
    only in 2D. ``diverged`` is 1 from the step at which the run diverged on.
    Numbers are written at full precision, so the file round-trips float64 exactly.
    """
    fn = as_function(function)
    arrays = [(name, *_arrays(r)) for name, r in results]
    several = any(pos.shape[1] > 1 for _, pos, *_ in arrays)
    header = ["optimizer"] + (["run"] if several else []) + ["step", "x"]
    header += ["y"] if fn.dim == 2 else []
    header += ["loss", "grad_norm", "diverged"]
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(header)
    for name, pos, loss, div, div_step in arrays:
        steps, n, dim = pos.shape
        if dim != fn.dim:
            raise ValueError(f"{name}: positions have {dim} coordinate(s), {fn.name} has {fn.dim}")
        with np.errstate(all="ignore"):
            grads = np.asarray(fn.gradient(pos.reshape(-1, dim)), dtype=np.float64)
            gnorm = np.sqrt((grads ** 2).sum(axis=1)).reshape(steps, n)
        for j in range(n):
            since = int(div_step[j]) if bool(div[j]) else steps + 1
            for k in range(steps):
                row = [name] + ([str(j)] if several else []) + [str(k)]
                row += [_num(c) for c in pos[k, j]]
                row += [_num(loss[k, j]), _num(gnorm[k, j]), "1" if k >= since else "0"]
                out.writerow(row)
    return buf.getvalue()


def write_csv(path: str | os.PathLike, function: str | LossFunction,
              results: Sequence[tuple[str, Result]]) -> Path:
    """Write :func:`csv_text` of ``results`` to ``path`` atomically."""
    return atomic_write_text(path, csv_text(function, results))
