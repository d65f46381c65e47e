"""Scenarios: run sets (:class:`optsim.runset.RunSet`) saved as JSON files, the
course's presets, and the results of running them.

A scenario file is the JSON form of a run set, with a ``version`` field
(:data:`VERSION`); see :mod:`optsim.runset` for the format, its validation and
migrations. Anything wrong in a file raises :class:`ScenarioError` naming the file
and the field, e.g. ``bowl.json: runs[1].hyperparams.lr: lr=-1 is out of range ...``.

The course's figures ship as presets, package data in ``optsim/presets`` read with
:mod:`importlib.resources`: :func:`list_presets`, :func:`load_preset`.

``noise`` and ``seed`` make the gradients stochastic: Gaussian noise of standard
deviation ``noise`` is added to every gradient, drawn from a NumPy generator seeded
with ``seed`` (each run gets the same noise sequence, so runs are compared under the
same noise); ``noise = 0`` (the default) is plain deterministic gradient descent.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .files import ReadError, atomic_write_text, read_bytes
from .runset import (
    MAX_COORD,
    MAX_FILE_BYTES,
    MAX_NOISE,
    MAX_RUNS,
    MAX_SEED,
    MAX_STEPS,
    MAX_TEXT,
    MIGRATIONS,
    VERSION,
    Run,
    RunSet,
    ScenarioError,
    dump_json,
    migrate,
    run_set,
)
from .simulation import Trajectory

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

#: a scenario is a run set (the name of its file form)
Scenario = RunSet

__all__ = ["MAX_COORD", "MAX_FILE_BYTES", "MAX_NOISE", "MAX_RUNS", "MAX_SEED", "MAX_STEPS",
           "MAX_TEXT", "MIGRATIONS", "VERSION", "Run", "RunSet", "Scenario", "ScenarioError",
           "list_presets", "load_preset", "load_scenario", "migrate", "preset_dir",
           "preset_path", "results_dict", "run_scenario", "save_results_json", "save_scenario"]


# ---------------------------------------------------------------------------
# files


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Read and validate a scenario file. Raises :class:`ScenarioError`, also for
    anything that is not a regular file (a FIFO, a device: refused without waiting)
    and for files over :data:`MAX_FILE_BYTES`."""
    p = Path(path)
    try:
        data = read_bytes(p, MAX_FILE_BYTES)
    except ReadError as e:
        raise ScenarioError(f"cannot read: {e.reason}", source=str(p)) from None
    return Scenario.from_json(data, source=str(p))


def save_scenario(scenario: Scenario, path: str | os.PathLike[str]) -> None:
    """Write the scenario's canonical JSON atomically. Raises :class:`ScenarioError`
    for an invalid scenario, OSError (ExportError) for an unwritable path."""
    atomic_write_text(path, scenario.to_json())


# ---------------------------------------------------------------------------
# running


def run_scenario(scenario: Scenario, *, steps: int | None = None,
                 record_state: bool = False) -> list[tuple[Run, Trajectory]]:
    """Simulate every run of the scenario (hidden ones too) for ``steps`` steps
    (default: the scenario's) with :func:`optsim.runset.run_set`. Returns
    ``[(run, trajectory), ...]`` in run order."""
    scenario = scenario.normalised()
    n = scenario.steps if steps is None else int(steps)
    return list(zip(scenario.runs, run_set(scenario, n, record_state=record_state),
                    strict=True))


def _finite_or_none(a: Any) -> Any:
    a = np.asarray(a, dtype=np.float64)
    out = a.tolist()
    if np.isfinite(a).all():
        return out
    bad = ~np.isfinite(a)

    def fix(x: Any, m: Any) -> Any:
        if isinstance(x, list):
            return [fix(y, n) for y, n in zip(x, m, strict=True)]
        return None if m else x

    return fix(out, bad.tolist())


def results_dict(scenario: Scenario, results: Sequence[tuple[Run, Any]]) -> dict[str, Any]:
    """The scenario and what its runs did, JSON-ready: per run its name, optimizer
    spec, positions (steps+1, D), losses, and where it diverged (non-finite numbers
    as ``null``). ``results`` as from :func:`run_scenario`."""
    runs = []
    for run, res in results:
        pos = np.asarray(res.positions, dtype=np.float64)
        loss = np.asarray(res.losses, dtype=np.float64)
        if pos.ndim == 3:
            pos, loss = pos[:, 0], loss[:, 0]
        div = bool(np.asarray(res.diverged).reshape(-1)[0])
        runs.append({
            "name": run.name, "optimizer": run.spec, "steps": int(len(pos) - 1),
            "diverged": div,
            "diverged_step": int(np.asarray(res.diverged_step).reshape(-1)[0]) if div else None,
            "positions": _finite_or_none(pos), "losses": _finite_or_none(loss),
        })
    return {"version": VERSION, "kind": "optsim results", "scenario": scenario.to_dict(),
            "runs": runs}


def save_results_json(path: str | os.PathLike[str], scenario: Scenario,
                      results: Sequence[tuple[Run, Any]]) -> None:
    """Write :func:`results_dict` as JSON, atomically."""
    atomic_write_text(path, dump_json(results_dict(scenario, results)) + "\n")


# ---------------------------------------------------------------------------
# presets


def preset_dir() -> Traversable:
    """Where the presets are: the package data ``optsim/presets``."""
    return resources.files("optsim").joinpath("presets")


def list_presets() -> list[str]:
    """The preset names, sorted."""
    d = preset_dir()
    return sorted(p.name.removesuffix(".json") for p in d.iterdir()
                  if p.name.endswith(".json")) if d.is_dir() else []


def preset_path(name: str) -> Traversable:
    """The file of preset ``name`` (``read_text``/``read_bytes``). Raises
    ScenarioError listing the known names."""
    key = name.strip().lower()
    if key not in list_presets():
        raise ScenarioError(f"unknown preset {name!r}; known: {', '.join(list_presets())}")
    return preset_dir().joinpath(f"{key}.json")


def load_preset(name: str) -> Scenario:
    """A preset scenario by name."""
    path = preset_path(name)
    source = f"preset {name.strip().lower()}"
    try:  # a file on disk through the one reader (a packaged one may sit in a zip)
        data = read_bytes(path, MAX_FILE_BYTES) if isinstance(path, os.PathLike) \
            else path.read_bytes()
    except ReadError as e:
        raise ScenarioError(f"cannot read: {e.reason}", source=source) from None
    return Scenario.from_json(data, source=source)
