"""Scenarios: a function, a view, a start and a set of optimizer runs, saved as JSON.

A scenario file is a JSON object with a ``version`` field (:data:`VERSION`). Loading
normalises everything (the view and start are always written out, every
hyperparameter of every run too), so save → load → save is byte-identical. Files from
older versions are migrated on load (:data:`MIGRATIONS`). Anything wrong in a file
raises :class:`ScenarioError` naming the file and the field, e.g.
``bowl.json: runs[1].hyperparams.lr: lr=-1 is out of range ...``.

The course's figures ship as presets (``resources/presets/*.json``, also packaged
as ``optsim/presets``): :func:`list_presets`, :func:`load_preset`.

``noise`` and ``seed`` make the gradients stochastic: Gaussian noise of standard
deviation ``noise`` is added to every gradient, drawn from a NumPy generator seeded
with ``seed`` (each run gets the same noise sequence, so runs are compared under the
same noise); ``noise = 0`` (the default) is plain deterministic gradient descent.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from .engine import Optimizer, optimizer_kind
from .engine.hyperparams import Value
from .files import ReadError, atomic_write_text, read_bytes
from .functions import LossFunction, as_function
from .simulation import Trajectory
from .style import run_colour

#: the scenario file format written by this version of optsim
VERSION = 1
#: files larger than this are refused before parsing
MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_STEPS = 1_000_000
MAX_RUNS = 64
MAX_TEXT = 10_000
MAX_COORD = 1e12
MAX_NOISE = 1e6
MAX_SEED = 2**63 - 1

_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")
_TOP_KEYS = ("version", "name", "description", "function", "view", "start", "steps",
             "noise", "seed", "runs")
_RUN_KEYS = ("name", "optimizer", "hyperparams", "colour", "visible", "start")


class ScenarioError(ValueError):
    """A scenario (file) that cannot be used; the message names the file and field."""

    def __init__(self, message: str, *, field: str = "", source: str = "") -> None:
        self.field = field
        self.source = source
        self.detail = message
        prefix = "".join(f"{p}: " for p in (source, field) if p)
        super().__init__(prefix + message)

    def at(self, source: str) -> ScenarioError:
        """The same error, said to come from ``source`` (a file name)."""
        return ScenarioError(self.detail, field=self.field, source=source)


# ---------------------------------------------------------------------------
# data


@dataclass(frozen=True)
class Run:
    """One optimizer run of a scenario.

    ``optimizer`` is a registered name (``sgd``, ``ema-momentum``, ``adam``, ...),
    ``hyperparams`` its values (missing ones take the optimizer's defaults).
    ``start`` overrides the scenario's start for this run (``None``: use it).
    ``colour`` is ``#RRGGBB``; empty means the palette colour of the run's index.
    """

    optimizer: str
    hyperparams: dict[str, Value] = field(default_factory=dict)
    name: str = ""
    colour: str = ""
    visible: bool = True
    start: tuple[float, ...] | None = None

    def make_optimizer(self) -> Optimizer:
        """The validated optimizer this run uses."""
        return optimizer_kind(self.optimizer).create(**self.hyperparams)

    @property
    def spec(self) -> str:
        """The optimizer as a spec string, e.g. ``adam:lr=0.01``."""
        return self.make_optimizer().spec

    @classmethod
    def from_optimizer(cls, optimizer: Optimizer | str, **fields: Any) -> Run:
        """A run of an optimizer object or spec string (``"adam:lr=0.1"``)."""
        from .engine import as_optimizer

        opt = as_optimizer(optimizer)
        return cls(optimizer=opt.name, hyperparams=dict(opt.hp), **fields)


@dataclass(frozen=True)
class Scenario:
    """What to simulate and show. ``view``/``start`` ``None`` take the function's own.

    ``noise`` is the standard deviation of Gaussian noise added to every gradient,
    ``seed`` seeds its generator (see :class:`optsim.simulation.Trajectory`).
    """

    function: str
    runs: tuple[Run, ...] = ()
    view: tuple[tuple[float, float], tuple[float, float]] | None = None
    start: tuple[float, ...] | None = None
    steps: int = 100
    noise: float = 0.0
    seed: int = 0
    name: str = ""
    description: str = ""

    # -- conversion -----------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The canonical JSON-ready dict (validated and normalised)."""
        return _normalise(_raw(self))

    def to_json(self) -> str:
        """The canonical JSON text: fixed key order, float repr, trailing newline."""
        return _dump(self.to_dict()) + "\n"

    @classmethod
    def from_dict(cls, data: Any, source: str = "") -> Scenario:
        """A validated scenario from a parsed JSON object (migrating old versions)."""
        try:
            return _build(_normalise(migrate(data)))
        except ScenarioError as e:
            if source and not e.source:
                raise e.at(source) from None
            raise

    @classmethod
    def from_json(cls, text: str | bytes, source: str = "") -> Scenario:
        """A validated scenario from JSON text."""
        try:
            return cls.from_dict(_parse_json(text), source)
        except ScenarioError as e:
            if source and not e.source:
                raise e.at(source) from None
            raise

    def normalised(self) -> Scenario:
        """This scenario validated, with its view, start and hyperparameters filled in."""
        return _build(self.to_dict())

    # -- running ----------------------------------------------------------------
    def loss_function(self) -> LossFunction:
        """The function, with this scenario's view window."""
        fn = as_function(self.function)
        if self.view is not None and tuple(map(tuple, self.view)) != tuple(map(tuple, fn.view)):
            fn = dataclasses.replace(fn, view=self.view)
        return fn

    def run_start(self, index: int) -> tuple[float, ...]:
        """The start of run ``index`` (its own, or the scenario's)."""
        run = self.runs[index]
        if run.start is not None:
            return run.start
        if self.start is not None:
            return self.start
        return as_function(self.function).start

    def run_colour(self, index: int) -> str:
        """The colour of run ``index`` (its own, or the palette's)."""
        return self.runs[index].colour or run_colour(index)

    def run_name(self, index: int) -> str:
        """The name of run ``index`` (its own, or its optimizer's spec)."""
        return self.runs[index].name or self.runs[index].spec


# ---------------------------------------------------------------------------
# validation: raw JSON dict -> canonical dict


def _raw(s: Scenario) -> dict[str, Any]:
    return {
        "version": VERSION, "name": s.name, "description": s.description,
        "function": s.function,
        "view": None if s.view is None else [list(r) for r in s.view],
        "start": None if s.start is None else list(s.start),
        "steps": s.steps, "noise": s.noise, "seed": s.seed,
        "runs": [
            {"name": r.name, "optimizer": r.optimizer, "hyperparams": dict(r.hyperparams),
             "colour": r.colour, "visible": r.visible,
             "start": None if r.start is None else list(r.start)}
            for r in s.runs
        ],
    }


def _build(d: dict[str, Any]) -> Scenario:
    return Scenario(
        function=d["function"],
        runs=tuple(
            Run(optimizer=r["optimizer"], hyperparams=dict(r["hyperparams"]), name=r["name"],
                colour=r["colour"], visible=r["visible"],
                start=None if r["start"] is None else tuple(r["start"]))
            for r in d["runs"]
        ),
        view=(tuple(d["view"][0]), tuple(d["view"][1])),
        start=tuple(d["start"]), steps=d["steps"], noise=d["noise"], seed=d["seed"],
        name=d["name"], description=d["description"],
    )


def _type_name(v: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "true/false",
            type(None): "null", int: "a number", float: "a number"}.get(type(v), type(v).__name__)


def _fail(where: str, message: str) -> ScenarioError:
    return ScenarioError(message, field=where)


def _obj(v: Any, where: str, keys: Iterable[str]) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise _fail(where or "(top level)", f"must be a JSON object, got {_type_name(v)}")
    unknown = [k for k in v if k not in keys]
    if unknown:
        raise _fail(where or "(top level)",
                    f"unknown field {unknown[0]!r}; known: {', '.join(keys)}")
    return v


def _text(v: Any, where: str, *, empty: bool = True) -> str:
    if not isinstance(v, str):
        raise _fail(where, f"must be a string, got {_type_name(v)}")
    if len(v) > MAX_TEXT:
        raise _fail(where, f"is too long ({len(v)} characters, at most {MAX_TEXT})")
    if not empty and not v.strip():
        raise _fail(where, "must not be empty")
    return v


def _number(v: Any, where: str, lo: float = -MAX_COORD, hi: float = MAX_COORD) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _fail(where, f"must be a number, got {_type_name(v)}")
    try:
        x = float(v)
    except OverflowError:
        x = math.inf
    if not math.isfinite(x):
        raise _fail(where, f"must be a finite number, got {v!r}")
    if not lo <= x <= hi:
        raise _fail(where, f"{x!r} is out of range [{lo:g}, {hi:g}]")
    return x


def _integer(v: Any, where: str, lo: int, hi: int) -> int:
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int):
        raise _fail(where, f"must be a whole number, got {v!r}")
    if not lo <= v <= hi:
        raise _fail(where, f"{v} is out of range [{lo}, {hi}]")
    return v


def _point(v: Any, where: str, dim: int) -> list[float]:
    if not isinstance(v, list):
        raise _fail(where, f"must be a list of {dim} number(s), got {_type_name(v)}")
    if len(v) != dim:
        raise _fail(where, f"must have {dim} coordinate(s) for a {dim}D function, got {len(v)}")
    return [_number(x, f"{where}[{i}]") for i, x in enumerate(v)]


def _view(v: Any, where: str) -> list[list[float]]:
    if not isinstance(v, list) or len(v) != 2:
        raise _fail(where, "must be [[xmin, xmax], [ymin, ymax]]")
    out = []
    for i, pair in enumerate(v):
        if not isinstance(pair, list) or len(pair) != 2:
            raise _fail(f"{where}[{i}]", "must be a [min, max] pair")
        lo, hi = (_number(x, f"{where}[{i}][{j}]") for j, x in enumerate(pair))
        if not lo < hi:
            raise _fail(f"{where}[{i}]", f"min must be less than max, got [{lo!r}, {hi!r}]")
        out.append([lo, hi])
    return out


def _function(v: Any) -> LossFunction:
    text = _text(v, "function", empty=False)
    try:
        return as_function(text)
    except (ValueError, TypeError, ArithmeticError, SyntaxError, RecursionError) as e:
        raise _fail("function", str(e) or f"cannot use {text!r}") from None


def _hyperparams(v: Any, where: str, optimizer: str) -> dict[str, Value]:
    kind = optimizer_kind(optimizer)
    declared = kind.hyperparams
    names = [p.name for p in declared]
    given = _obj(v, where, names + list(kind.tied))
    values: dict[str, Value] = {}
    for p in declared:
        if p.name in given:
            try:
                values[p.name] = p.validate(given[p.name], optimizer)
            except ValueError as e:
                raise _fail(f"{where}.{p.name}", str(e)) from None
        else:
            values[p.name] = p.default
    # a tied value (ema-momentum's dampening) is saved for readers; it must agree
    values.update({t: given[t] for t in kind.tied if t in given})
    try:
        opt = kind.create(**values)
    except ValueError as e:
        raise _fail(where, str(e)) from None
    return dict(opt.hp)


def _normalise(d: Any) -> dict[str, Any]:
    """Check a current-version dict and return its canonical form (a new dict)."""
    d = _obj(d, "", _TOP_KEYS)
    version = d.get("version")
    if version != VERSION or isinstance(version, bool):
        raise _fail("version", f"expected {VERSION}, got {version!r}")
    if "function" not in d:
        raise _fail("function", "is missing")
    fn = _function(d["function"])
    out: dict[str, Any] = {"version": VERSION,
                           "name": _text(d.get("name", ""), "name"),
                           "description": _text(d.get("description", ""), "description"),
                           "function": d["function"] if fn.is_custom else fn.name}
    view = d.get("view")
    out["view"] = _view([list(r) for r in fn.view] if view is None else view, "view")
    start = d.get("start")
    out["start"] = _point(list(fn.start) if start is None else start, "start", fn.dim)
    out["steps"] = _integer(d.get("steps", 100), "steps", 0, MAX_STEPS)
    out["noise"] = _number(d.get("noise", 0.0), "noise", 0.0, MAX_NOISE)
    out["seed"] = _integer(d.get("seed", 0), "seed", 0, MAX_SEED)
    runs = d.get("runs", [])
    if not isinstance(runs, list):
        raise _fail("runs", f"must be a list of runs, got {_type_name(runs)}")
    if len(runs) > MAX_RUNS:
        raise _fail("runs", f"has {len(runs)} runs, at most {MAX_RUNS} are allowed")
    out["runs"] = []
    for i, r in enumerate(runs):
        where = f"runs[{i}]"
        r = _obj(r, where, _RUN_KEYS)
        if "optimizer" not in r:
            raise _fail(f"{where}.optimizer", "is missing")
        name = _text(r["optimizer"], f"{where}.optimizer", empty=False)
        try:
            kind = optimizer_kind(name)
        except ValueError as e:
            raise _fail(f"{where}.optimizer", str(e)) from None
        hp = _hyperparams(r.get("hyperparams", {}), f"{where}.hyperparams", kind.name)
        colour = _text(r.get("colour", ""), f"{where}.colour")
        if colour and not _COLOUR.match(colour):
            raise _fail(f"{where}.colour", f"must be a colour like '#E69F00', got {colour!r}")
        visible = r.get("visible", True)
        if not isinstance(visible, bool):
            raise _fail(f"{where}.visible", f"must be true or false, got {visible!r}")
        run_start = r.get("start")
        out["runs"].append({
            "name": _text(r.get("name", ""), f"{where}.name") or kind.name,
            "optimizer": kind.name,
            "hyperparams": hp,
            "colour": (colour or run_colour(i)).upper(),
            "visible": visible,
            "start": None if run_start is None else _point(run_start, f"{where}.start", fn.dim),
        })
    return out


# ---------------------------------------------------------------------------
# versions


def _migrate_0_to_1(d: dict[str, Any]) -> dict[str, Any]:
    """Version 0 (no ``version`` field): ``func``, ``window``, ``x0``, ``iterations``;
    runs with an optimizer spec string (``"adam:lr=0.01"``), ``label``, ``color`` and
    ``hidden``."""
    from .engine import parse_spec

    renames = {"func": "function", "window": "view", "x0": "start", "iterations": "steps"}
    out = {renames.get(k, k): v for k, v in d.items() if k != "version"}
    runs = out.get("runs", [])
    if isinstance(runs, list):
        new_runs = []
        for i, r in enumerate(runs):
            if not isinstance(r, dict):
                new_runs.append(r)
                continue
            r = dict(r)
            if "label" in r:
                r["name"] = r.pop("label")
            if "color" in r:
                r["colour"] = r.pop("color")
            if "hidden" in r:
                hidden = r.pop("hidden")
                r["visible"] = (not hidden) if isinstance(hidden, bool) else hidden
            if "x0" in r:
                r["start"] = r.pop("x0")
            spec = r.get("optimizer")
            if isinstance(spec, str) and ":" in spec and "hyperparams" not in r:
                try:
                    opt = parse_spec(spec)
                except ValueError as e:
                    raise _fail(f"runs[{i}].optimizer", str(e)) from None
                r["optimizer"] = opt.name
                r["hyperparams"] = dict(opt.hp)
            new_runs.append(r)
        out["runs"] = new_runs
    out["version"] = 1
    return out


#: ``MIGRATIONS[v]`` turns a version-``v`` dict into a version ``v + 1`` dict
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {0: _migrate_0_to_1}


def migrate(data: Any) -> dict[str, Any]:
    """Bring a parsed scenario dict of any known version to :data:`VERSION`.

    A dict without ``version`` is version 0 (the unversioned format).
    """
    if not isinstance(data, dict):
        raise _fail("(top level)", f"must be a JSON object, got {_type_name(data)}")
    version = data.get("version", 0)
    if isinstance(version, bool) or not isinstance(version, int):
        raise _fail("version", f"must be a whole number, got {version!r}")
    if version > VERSION:
        raise _fail("version", f"{version} is newer than this optsim understands "
                               f"(up to {VERSION}); update optsim to open this file")
    if version < 0 or (version < VERSION and version not in MIGRATIONS):
        raise _fail("version", f"unknown scenario version {version}")
    while version < VERSION:
        data = MIGRATIONS[version](data)
        version += 1
    return data


# ---------------------------------------------------------------------------
# files


def _dump(v: Any, indent: str = "") -> str:
    """JSON with two-space indentation, lists of numbers (and of such lists) on one line."""
    def flat(x: Any) -> bool:
        return not isinstance(x, (dict, list)) or (
            isinstance(x, list) and all(not isinstance(y, (dict, list)) or flat(y) for y in x))

    if isinstance(v, dict) and v:
        inner = indent + "  "
        items = [f"{inner}{json.dumps(k, ensure_ascii=False)}: {_dump(x, inner)}"
                 for k, x in v.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(v, list) and v and not flat(v):
        inner = indent + "  "
        return "[\n" + ",\n".join(inner + _dump(x, inner) for x in v) + "\n" + indent + "]"
    return json.dumps(v, ensure_ascii=False, allow_nan=False, separators=(", ", ": "))


def _reject_constant(name: str) -> Any:
    raise ScenarioError(f"non-finite number {name} is not allowed", field="(json)")


def _parse_json(text: str | bytes) -> Any:
    if isinstance(text, (bytes, bytearray)):
        if len(text) > MAX_FILE_BYTES:
            raise ScenarioError(f"file is too large ({len(text)} bytes, at most {MAX_FILE_BYTES})")
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise ScenarioError(f"not UTF-8 text ({e.reason} at byte {e.start})") from None
    if len(text) > MAX_FILE_BYTES:
        raise ScenarioError(f"text is too large ({len(text)} characters, at most {MAX_FILE_BYTES})")
    if not text.strip():
        raise ScenarioError("empty file: expected a JSON scenario")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as e:
        raise ScenarioError(f"not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})") from None
    except RecursionError:
        raise ScenarioError("not valid JSON: nested too deeply") from None
    except ValueError as e:  # e.g. integers with too many digits
        raise ScenarioError(f"not valid JSON: {e}") from None


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
    (default: the scenario's). Returns ``[(run, trajectory), ...]`` in run order."""
    scenario = scenario.normalised()
    n = scenario.steps if steps is None else int(steps)
    if not 0 <= n <= MAX_STEPS:
        raise ScenarioError(f"{n} is out of range [0, {MAX_STEPS}]", field="steps")
    fn = scenario.loss_function()
    out = []
    for i, run in enumerate(scenario.runs):
        traj = Trajectory(fn, run.make_optimizer(), [scenario.run_start(i)],
                          record_state=record_state, capacity=n + 1,
                          noise=scenario.noise, seed=scenario.seed)
        traj.advance(n)
        out.append((run, traj))
    return out


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
    atomic_write_text(path, _dump(results_dict(scenario, results)) + "\n")


# ---------------------------------------------------------------------------
# presets

_REPO = Path(__file__).resolve().parent.parent


def preset_dir() -> Path:
    """Where the presets are: the repository's ``resources/presets`` in a clone,
    else the copy packaged as ``optsim/presets``."""
    repo = _REPO / "resources" / "presets"
    if (_REPO / "pyproject.toml").is_file() and repo.is_dir():
        return repo
    return Path(str(resources.files("optsim") / "presets"))


def list_presets() -> list[str]:
    """The preset names, sorted."""
    d = preset_dir()
    return sorted(p.stem for p in d.glob("*.json")) if d.is_dir() else []


def preset_path(name: str) -> Path:
    """The file of preset ``name``. Raises ScenarioError listing the known names."""
    key = name.strip().lower()
    if key not in list_presets():
        raise ScenarioError(f"unknown preset {name!r}; known: {', '.join(list_presets())}")
    return preset_dir() / f"{key}.json"


def load_preset(name: str) -> Scenario:
    """A preset scenario by name."""
    return load_scenario(preset_path(name))
