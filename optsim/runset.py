"""Run sets: a function, a view, a start and a set of optimizer runs — and their runner.

One type for every place that holds "a set of runs": scenario files and presets
(:mod:`optsim.scenarios` reads and writes them), ``optsim run`` (built from its flags)
and the window's session (:mod:`optsim.gui.settings`). :func:`start_runs` and
:func:`run_set` (with :func:`optsim.simulation.advance_runs`) are the one runner.

A :class:`Run` is one optimizer configuration (optimizer, hyperparameters, name,
colour, visibility) with K >= 1 *rows* stepped side by side: one row from the set's
(or its own) start, or K rows from ``starts``. Fields a run will gain (seeds of an
ensemble, a learning-rate schedule, gradient noise or clipping) are added to
:class:`Run` with a default, to :data:`RUN_FIELDS` with a check, and written to
files only when they differ from the default, so files that do not use them keep
their bytes and older files still open.

The JSON form (:meth:`RunSet.to_dict`) has a ``version`` field (:data:`VERSION`);
loading normalises everything (the view and start are always written out, every
hyperparameter of every run too), so save → load → save is byte-identical. Older
versions are migrated on load (:data:`MIGRATIONS`). Anything wrong raises
:class:`ScenarioError` naming the field, e.g.
``runs[1].hyperparams.lr: lr=-1 is out of range ...``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .engine import Optimizer, optimizer_kind
from .engine.hyperparams import Value
from .functions import LossFunction, as_function
from .gradients import parse_clip, parse_noise
from .plugins import PluginError, ensure_plugin, plugin_source
from .schedules import parse_schedule, split_spec
from .simulation import (
    MAX_COORD,
    MAX_ENSEMBLE,
    MAX_STEPS,
    Trajectory,
    advance_runs,
    check_memory,
    history_bytes,
)
from .style import run_colour

#: the scenario file format written by this version of optsim
VERSION = 1

# limits, the same for files, the command line and the window (MAX_STEPS and
# MAX_COORD, shared with sweeps, are the simulation's)
#: runs in one set
MAX_RUNS = 64
#: rows (start points) of one run
MAX_ROWS = 100_000
#: characters of a text field (name, description, formula)
MAX_TEXT = 10_000
#: standard deviation of the gradient noise
MAX_NOISE = 1e6
#: noise seed
MAX_SEED = 2**63 - 1
#: files larger than this are refused before parsing
MAX_FILE_BYTES = 4 * 1024 * 1024

Point = tuple[float, ...]
View = tuple[tuple[float, float], tuple[float, float]]

_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")
_TOP_KEYS = ("version", "name", "description", "function", "view", "start", "steps",
             "noise", "seed", "runs", "overlays", "sweep", "aspect", "plugins")
#: what the optional ``overlays`` list may turn on in the window
OVERLAYS = ("basins",)
#: the fields of the optional ``sweep`` object: the window's Sweep view settings
#: (axes ``NAME=LO:HI:N[:log]``, the metric, steps, starts and, with gradient noise,
#: seeds per cell); the window (and ``optsim run --scenario``) checks them against
#: the first run when it opens the file
SWEEP_FIELDS = ("x", "y", "metric", "steps", "starts", "seeds")
#: the most noise seeds per cell of a scenario's sweep
MAX_SWEEP_SEEDS = 10_000
_AXIS = re.compile(r"^\s*[A-Za-z_][A-Za-z0-9_]*\s*=[^:=]+:[^:=]+:[^:=]+(:\s*(log|lin)\s*)?$")
_METRIC = re.compile(r"^[a-z][a-z-]{0,39}$")
#: the optional ``aspect``: x and y at one scale (the default, left out of files) or
#: each filling the plot (functions stretched along one axis)
ASPECTS = ("equal", "free")


class ScenarioError(ValueError):
    """A run set (or its file) that cannot be used; the message names the file and field."""

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
# the type


@dataclass(frozen=True)
class Run:
    """One optimizer configuration of a run set, with K >= 1 rows.

    ``optimizer`` is a registered name (``sgd``, ``ema-momentum``, ``adam``, ...),
    ``hyperparams`` its values (missing ones take the optimizer's defaults).
    ``colour`` is ``#RRGGBB``; empty means the palette colour of the run's index.
    ``start`` overrides the set's start for this run (``None``: use it); ``starts``
    (K >= 1 points) gives the run K rows, one from each (``start`` is then ``None``).
    """

    optimizer: str
    hyperparams: Mapping[str, Value] = field(default_factory=dict)
    name: str = ""
    colour: str = ""
    visible: bool = True
    start: Point | None = None
    starts: tuple[Point, ...] = ()
    #: a learning-rate schedule's spec ("" = the optimizer's lr at every step), e.g.
    #: ``onecyclelr:max_lr=0.5,total_steps=300`` (see :mod:`optsim.schedules`)
    schedule: str = ""
    #: gradient clipping, ``norm=C`` or ``value=C`` ("" = none; :mod:`optsim.gradients`)
    clip: str = ""
    #: K noisy members from the same start (an ensemble); 1 = one row
    ensemble: int = 1
    #: this run's own gradient noise, a noise spec ("" = the set's), e.g. a batch size
    #: per run: ``minibatch:batch=32``
    noise: str = ""

    @property
    def rows(self) -> int:
        """K, the number of rows stepped side by side."""
        return max(1, len(self.starts)) * self.ensemble

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

        if isinstance(optimizer, str):  # "sgd:lr=0.1+steplr:step_size=30": a schedule too
            optimizer, schedule = split_spec(optimizer)
            if schedule is not None:
                fields.setdefault("schedule", schedule.spec)
        opt = as_optimizer(optimizer)
        return cls(optimizer=opt.name, hyperparams=dict(opt.hp), **fields)

    def with_optimizer(self, optimizer: Optimizer | str) -> Run:
        """This run with another optimizer (object or spec), everything else kept."""
        other = Run.from_optimizer(optimizer)
        return dataclasses.replace(self, optimizer=other.optimizer,
                                   hyperparams=other.hyperparams)


@dataclass(frozen=True)
class RunSet:
    """What to simulate and show. ``view``/``start`` ``None`` take the function's own.

    ``noise`` is the standard deviation of Gaussian noise added to every gradient (or
    a noise model's spec, see :mod:`optsim.gradients`), drawn from a generator seeded
    with ``seed`` (see :class:`optsim.simulation.Trajectory`;
    every run gets the same noise sequence, so runs are compared under the same noise).
    ``steps`` is how far the runs go; ``name`` and ``description`` tell its story.
    """

    function: str
    runs: tuple[Run, ...] = ()
    view: View | None = None
    start: Point | None = None
    steps: int = 100
    noise: float | str = 0.0
    seed: int = 0
    name: str = ""
    description: str = ""
    #: overlays the window turns on with this set (``"basins"``: basins of attraction)
    overlays: tuple[str, ...] = ()
    #: the window's Sweep view settings (:data:`SWEEP_FIELDS`), or None
    sweep: Mapping[str, Any] | None = None
    #: "equal": x and y drawn at one scale (2D); "free": each fills the plot
    aspect: str = "equal"
    #: the plug-in files its runs' optimizers come from (see :mod:`optsim.plugins`);
    #: filled in from the runs when written, loaded (if not yet) when read
    plugins: tuple[str, ...] = ()

    # -- conversion -----------------------------------------------------------
    def to_dict(self, *, validate: bool = True) -> dict[str, Any]:
        """The canonical JSON-ready dict (validated and normalised; raises
        ScenarioError). ``validate=False``: the fields as they are, never raising (for
        stores read back with :func:`salvage`)."""
        return _normalise(_raw(self)) if validate else _raw(self)

    def to_json(self) -> str:
        """The canonical JSON text: fixed key order, float repr, trailing newline."""
        return dump_json(self.to_dict()) + "\n"

    @classmethod
    def from_dict(cls, data: Any, source: str = "") -> RunSet:
        """A validated run set from a parsed JSON object (migrating old versions)."""
        try:
            return _build(_normalise(migrate(data)))
        except ScenarioError as e:
            if source and not e.source:
                raise e.at(source) from None
            raise

    @classmethod
    def from_json(cls, text: str | bytes, source: str = "") -> RunSet:
        """A validated run set from JSON text."""
        try:
            return cls.from_dict(parse_json(text), source)
        except ScenarioError as e:
            if source and not e.source:
                raise e.at(source) from None
            raise

    def normalised(self) -> RunSet:
        """This run set validated, with its view, start and hyperparameters filled in."""
        return _build(self.to_dict())

    # -- what each run uses -----------------------------------------------------
    def loss_function(self) -> LossFunction:
        """The function, with this set's view window."""
        fn = as_function(self.function)
        if self.view is not None and tuple(map(tuple, self.view)) != tuple(map(tuple, fn.view)):
            fn = dataclasses.replace(fn, view=self.view)
        return fn

    def run_start(self, index: int) -> Point:
        """The start of run ``index``'s first row (its own, or the set's)."""
        run = self.runs[index]
        if run.starts:
            return run.starts[0]
        if run.start is not None:
            return run.start
        if self.start is not None:
            return self.start
        return as_function(self.function).start

    def run_starts(self, index: int) -> np.ndarray:
        """The starts of run ``index``'s rows, (K, D)."""
        run = self.runs[index]
        points = run.starts or (self.run_start(index),)
        return np.array(points, dtype=np.float64)

    def run_colour(self, index: int) -> str:
        """The colour of run ``index`` (its own, or the palette's)."""
        return self.runs[index].colour or run_colour(index)

    def run_name(self, index: int) -> str:
        """The name of run ``index`` (its own, or its optimizer's spec)."""
        return self.runs[index].name or self.runs[index].spec

    def labels(self) -> list[str]:
        """Every run's name, made unique (``sgd #1``, ``sgd #2``): for tables and legends."""
        return unique_labels([self.run_name(i) for i in range(len(self.runs))])

    def split_rows(self) -> RunSet:
        """The same runs with one row each: a run of K > 1 rows becomes K runs named
        ``"<name> from (x, y)"``, each with its own start and the run's colour."""
        runs: list[Run] = []
        for i, r in enumerate(self.runs):
            if not r.starts:
                runs.append(r)
                continue
            for p in r.starts:
                name = f"{r.name} from (" + ", ".join(f"{c:g}" for c in p) + ")"
                runs.append(dataclasses.replace(r, name=name, colour=self.run_colour(i),
                                                start=tuple(p), starts=()))
        return dataclasses.replace(self, runs=tuple(runs))


def unique_labels(labels: Sequence[str]) -> list[str]:
    """``labels`` with repeated ones numbered: ``["a", "a", "b"]`` -> ``["a #1", "a #2", "b"]``."""
    labels = list(labels)
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if labels.count(label) == 1 else f"{label} #{seen[label]}")
    return out


# ---------------------------------------------------------------------------
# the runner


def trajectory_of(run: Run, function: LossFunction, start: Sequence[float], *,
                  noise: float = 0.0, seed: int = 0, optimizer: Optimizer | None = None,
                  record_state: bool = False, capacity: int = 64) -> Trajectory:
    """``run`` at step 0 on ``function``: its K rows from its ``starts`` (else one from
    its own start, else from ``start``), with ``optimizer`` (default: the run's, built)."""
    points = run.starts or (run.start if run.start is not None else tuple(start),)
    rows = np.repeat(np.array(points, dtype=np.float64), run.ensemble, axis=0)
    return Trajectory(function, optimizer or run.make_optimizer(), rows,
                      record_state=record_state, capacity=capacity,
                      noise=run.noise or noise, seed=seed,
                      schedule=run.schedule or None, clip=run.clip or None)


def make_trajectory(runs: RunSet, index: int, *, function: LossFunction | None = None,
                    record_state: bool = False, capacity: int = 64) -> Trajectory:
    """Run ``index`` of the set at step 0 (:func:`trajectory_of`) with the set's start,
    noise and seed, on ``function`` (default: :meth:`RunSet.loss_function`)."""
    fn = function or runs.loss_function()
    start = runs.start if runs.start is not None else fn.start
    return trajectory_of(runs.runs[index], fn, start, noise=runs.noise, seed=runs.seed,
                         record_state=record_state, capacity=capacity)


def start_runs(runs: RunSet, *, record_state: bool | Collection[int] = False,
               capacity: int = 64) -> list[Trajectory]:
    """One trajectory per run, at step 0, in run order (one function object for all,
    so that runs of a few rows are stepped side by side). ``record_state``: every
    run's optimizer states are kept (True), or those of the runs of these indices."""
    fn = runs.loss_function()
    keep = (lambda i: record_state) if isinstance(record_state, bool) \
        else (lambda i: i in record_state)
    return [make_trajectory(runs, i, function=fn, record_state=keep(i), capacity=capacity)
            for i in range(len(runs.runs))]


def run_set(runs: RunSet, steps: int | None = None, *,
            record_state: bool | Collection[int] = False) -> list[Trajectory]:
    """Simulate every run (hidden ones too) for ``steps`` steps (default: the set's).
    Returns one trajectory per run, in run order: positions (steps+1, K, D).

    ValueError, before anything is allocated, when the histories would not fit in
    the memory available (:func:`optsim.simulation.check_memory`)."""
    n = runs.steps if steps is None else steps
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 0 <= n <= MAX_STEPS:
        raise ScenarioError(f"{n!r} is out of range [0, {MAX_STEPS}]", field="steps")
    n = int(n)
    rows = sum(r.rows for r in runs.runs)
    dim = as_function(runs.function).dim
    check_memory(sum(history_bytes(r.rows, dim, n) for r in runs.runs),
                 f"{rows:,} runs of {n:,} steps")
    trajectories = start_runs(runs, record_state=record_state, capacity=n + 1)
    advance_runs(trajectories, n)
    return trajectories


# ---------------------------------------------------------------------------
# validation: raw JSON dict -> canonical dict


def _point_or_none(p: Any) -> list[float] | None:
    return None if p is None else list(p)


#: the fields of a run after the original six: key -> (default, check(value, where, dim)
#: -> JSON value, to_json(value) -> JSON value, from_json(JSON value) -> value). Written
#: only when not the default, so files that do not use them keep their bytes.
RUN_FIELDS: dict[str, tuple[Any, Callable[..., Any], Callable[[Any], Any], Callable[[Any], Any]]] = {
    "starts": ((), lambda v, where, dim: _points(v, where, dim),
               lambda v: [list(p) for p in v], lambda v: tuple(tuple(p) for p in v)),
    "schedule": ("", lambda v, where, dim: _spec(v, where, parse_schedule), str, str),
    "clip": ("", lambda v, where, dim: _spec(v, where, parse_clip), str, str),
    "ensemble": (1, lambda v, where, dim: _integer(v, where, 1, MAX_ENSEMBLE), int, int),
    "noise": ("", lambda v, where, dim: _spec(v, where, parse_noise), str, str),
}


def _spec(v: Any, where: str, parse: Callable[[str], Any]) -> str:
    """A schedule or clipping spec, checked and written canonically."""
    if not isinstance(v, str):
        raise _fail(where, f"must be a spec string, got {_type_name(v)}")
    try:
        parsed = parse(v)
    except ValueError as e:
        raise _fail(where, str(e)) from None
    return parsed.spec if parsed is not None else ""


def _noise(v: Any) -> float | str:
    """The set's gradient noise: a Gaussian σ (a number, as always), or a noise
    model's spec (``student:nu=3,sigma=0.5``, ``minibatch:batch=8``)."""
    if isinstance(v, str):
        try:
            noise = parse_noise(v)
        except ValueError as e:
            raise _fail("noise", str(e)) from None
        if noise is None:
            return 0.0
        return noise.sigma if noise.name == "gaussian" else noise.spec
    return _number(v, "noise", 0.0, MAX_NOISE)
_RUN_KEYS = ("name", "optimizer", "hyperparams", "colour", "visible", "start", *RUN_FIELDS)


def _raw(s: RunSet) -> dict[str, Any]:
    def run(r: Run) -> dict[str, Any]:
        d = {"name": r.name, "optimizer": r.optimizer, "hyperparams": dict(r.hyperparams),
             "colour": r.colour, "visible": r.visible, "start": _point_or_none(r.start)}
        for key, (default, _, to_json, _) in RUN_FIELDS.items():
            value = getattr(r, key)
            if value != default:
                d[key] = to_json(value)
        return d

    return {
        "version": VERSION, "name": s.name, "description": s.description,
        "function": s.function,
        "view": None if s.view is None else [list(r) for r in s.view],
        "start": _point_or_none(s.start),
        "steps": s.steps, "noise": s.noise, "seed": s.seed,
        "runs": [run(r) for r in s.runs],
        **({"overlays": list(s.overlays)} if s.overlays else {}),
        **({"sweep": dict(s.sweep)} if s.sweep else {}),
        **({"aspect": s.aspect} if s.aspect != "equal" else {}),
        **({"plugins": plugins} if (plugins := _plugins_of(s)) else {}),
    }


def _plugins_of(s: RunSet) -> list[str]:
    """The set's plug-in files: its own and those its runs' optimizers come from."""
    found = [plugin_source(r.optimizer) for r in s.runs]
    return list(dict.fromkeys([*s.plugins, *(f for f in found if f)]))


def _build(d: dict[str, Any]) -> RunSet:
    def run(r: dict[str, Any]) -> Run:
        more = {key: from_json(r[key]) for key, (_, _, _, from_json) in RUN_FIELDS.items()
                if key in r}
        return Run(optimizer=r["optimizer"], hyperparams=dict(r["hyperparams"]), name=r["name"],
                   colour=r["colour"], visible=r["visible"],
                   start=None if r["start"] is None else tuple(r["start"]), **more)

    return RunSet(
        function=d["function"], runs=tuple(run(r) for r in d["runs"]),
        view=(tuple(d["view"][0]), tuple(d["view"][1])),
        start=tuple(d["start"]), steps=d["steps"], noise=d["noise"], seed=d["seed"],
        name=d["name"], description=d["description"],
        overlays=tuple(d.get("overlays", ())), plugins=tuple(d.get("plugins", ())),
        sweep=dict(d["sweep"]) if d.get("sweep") else None, aspect=d.get("aspect", "equal"),
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
    if isinstance(v, tuple):
        v = list(v)
    if not isinstance(v, list):
        raise _fail(where, f"must be a list of {dim} number(s), got {_type_name(v)}")
    if len(v) != dim:
        raise _fail(where, f"must have {dim} coordinate(s) for a {dim}D function, got {len(v)}")
    return [_number(x, f"{where}[{i}]") for i, x in enumerate(v)]


def _points(v: Any, where: str, dim: int) -> list[list[float]]:
    if isinstance(v, tuple):
        v = list(v)
    if not isinstance(v, list) or not v:
        raise _fail(where, f"must be a non-empty list of points, got {_type_name(v)}")
    if len(v) > MAX_ROWS:
        raise _fail(where, f"has {len(v)} points, at most {MAX_ROWS} are allowed")
    return [_point(p, f"{where}[{i}]", dim) for i, p in enumerate(v)]


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


def _run(r: Any, i: int, dim: int) -> dict[str, Any]:
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
    out = {
        "name": _text(r.get("name", ""), f"{where}.name") or kind.name,
        "optimizer": kind.name,
        "hyperparams": hp,
        "colour": (colour or run_colour(i)).upper(),
        "visible": visible,
        "start": None if run_start is None else _point(run_start, f"{where}.start", dim),
    }
    for key, (default, check, to_json, _) in RUN_FIELDS.items():
        value = r.get(key)
        if value is not None and value != to_json(default):
            out[key] = check(value, f"{where}.{key}", dim)
    if out.get("starts") and out["start"] is not None:
        raise _fail(f"{where}.start", "give either start or starts, not both")
    return out


def _normalise(d: Any, fn: LossFunction | None = None) -> dict[str, Any]:
    """Check a current-version dict and return its canonical form (a new dict);
    ``fn``: its function, already made from ``d["function"]``."""
    d = _obj(d, "", _TOP_KEYS)
    version = d.get("version")
    if version != VERSION or isinstance(version, bool):
        raise _fail("version", f"expected {VERSION}, got {version!r}")
    if "function" not in d:
        raise _fail("function", "is missing")
    fn = fn or _function(d["function"])
    out: dict[str, Any] = {"version": VERSION,
                           "name": _text(d.get("name", ""), "name"),
                           "description": _text(d.get("description", ""), "description"),
                           "function": d["function"] if fn.is_custom else fn.name}
    view = d.get("view")
    out["view"] = _view([list(r) for r in fn.view] if view is None else view, "view")
    start = d.get("start")
    out["start"] = _point(list(fn.start) if start is None else start, "start", fn.dim)
    out["steps"] = _integer(d.get("steps", 100), "steps", 0, MAX_STEPS)
    out["noise"] = _noise(d.get("noise", 0.0))
    out["seed"] = _integer(d.get("seed", 0), "seed", 0, MAX_SEED)
    plugins = d.get("plugins", [])
    if not isinstance(plugins, list) or not all(isinstance(p, str) and p for p in plugins):
        raise _fail("plugins", f"must be a list of plug-in files, got {_type_name(plugins)}")
    for path in plugins:  # (before the runs: they may name the plug-ins' optimizers)
        try:
            ensure_plugin(path)
        except PluginError as e:
            raise _fail("plugins", str(e)) from None
    if plugins:
        out["plugins"] = list(dict.fromkeys(plugins))
    runs = d.get("runs", [])
    if not isinstance(runs, list):
        raise _fail("runs", f"must be a list of runs, got {_type_name(runs)}")
    if len(runs) > MAX_RUNS:
        raise _fail("runs", f"has {len(runs)} runs, at most {MAX_RUNS} are allowed")
    out["runs"] = [_run(r, i, fn.dim) for i, r in enumerate(runs)]
    overlays = d.get("overlays", [])
    if not isinstance(overlays, list) or not all(isinstance(o, str) for o in overlays):
        raise _fail("overlays", f"must be a list of names, got {_type_name(overlays)}")
    for o in overlays:
        if o not in OVERLAYS:
            raise _fail("overlays", f"unknown overlay {o!r}; known: {', '.join(OVERLAYS)}")
    if overlays:  # written only when some are on (other files stay byte-identical)
        out["overlays"] = list(dict.fromkeys(overlays))
    aspect = d.get("aspect", "equal")
    if aspect not in ASPECTS:
        raise _fail("aspect", f"must be one of {', '.join(map(repr, ASPECTS))}, got {aspect!r}")
    if aspect != "equal":  # (likewise)
        out["aspect"] = aspect
    if d.get("sweep") is not None:
        out["sweep"] = _sweep(d["sweep"])
    return out


def _sweep(v: Any) -> dict[str, Any]:
    """The ``sweep`` object checked (its form; the window checks the names)."""
    d = _obj(v, "sweep", SWEEP_FIELDS)
    out: dict[str, Any] = {}
    for key in ("x", "y"):
        if key in d:
            text = _text(d[key], f"sweep.{key}", empty=False)
            if len(text) > 200 or not _AXIS.match(text):
                raise _fail(f"sweep.{key}", f"must be NAME=LO:HI:N[:log], got {text[:60]!r}")
            out[key] = text.strip()
    if "x" not in out:
        raise _fail("sweep.x", "is missing")
    if "metric" in d:
        metric = _text(d["metric"], "sweep.metric")
        if not _METRIC.match(metric):
            raise _fail("sweep.metric", f"must be a metric's name, got {metric[:40]!r}")
        out["metric"] = metric
    if "steps" in d:
        out["steps"] = _integer(d["steps"], "sweep.steps", 1, MAX_STEPS)
    if "starts" in d:
        out["starts"] = _integer(d["starts"], "sweep.starts", 1, MAX_ROWS)
    if "seeds" in d:
        out["seeds"] = _integer(d["seeds"], "sweep.seeds", 1, MAX_SWEEP_SEEDS)
    return out


def salvage(data: Any) -> RunSet | None:
    """The valid parts of a run-set dict (of any known version), part by part: the
    function (``None`` if it is not valid), then each of the view, start, steps,
    noise and seed, then each run, each kept only if valid (a run with a bad colour is
    kept with the palette's). For stores that must never fail as a whole (the
    window's session); never raises."""
    try:
        data = migrate(data)
        base: dict[str, Any] = {"version": VERSION, "function": data.get("function")}
        fn = _function(base["function"])
        _normalise(base, fn)
    except (ScenarioError, TypeError, ValueError, RecursionError):
        return None
    for key in ("name", "description", "view", "start", "steps", "noise", "seed", "aspect"):
        if key in data:
            try:
                _normalise({**base, key: data[key]}, fn)
                base[key] = data[key]
            except (ScenarioError, TypeError, ValueError, RecursionError):
                pass
    runs = data.get("runs")
    kept: list[Any] = []
    for r in runs[:MAX_RUNS] if isinstance(runs, list) else []:
        candidates = [r, {k: v for k, v in r.items() if k != "colour"}] \
            if isinstance(r, dict) else []
        for candidate in candidates:
            try:
                _run(candidate, len(kept), fn.dim)
            except (ScenarioError, TypeError, ValueError, RecursionError):
                continue
            kept.append(candidate)
            break
    base["runs"] = kept
    try:
        return _build(_normalise(base, fn))
    except (ScenarioError, TypeError, ValueError, RecursionError):
        return None


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
    """Bring a parsed run-set dict of any known version to :data:`VERSION`.

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
# JSON text


def dump_json(v: Any, indent: str = "") -> str:
    """JSON with two-space indentation, lists of numbers (and of such lists) on one line."""
    def flat(x: Any) -> bool:
        return not isinstance(x, (dict, list)) or (
            isinstance(x, list) and all(not isinstance(y, (dict, list)) or flat(y) for y in x))

    if isinstance(v, dict) and v:
        inner = indent + "  "
        items = [f"{inner}{json.dumps(k, ensure_ascii=False)}: {dump_json(x, inner)}"
                 for k, x in v.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(v, list) and v and not flat(v):
        inner = indent + "  "
        return "[\n" + ",\n".join(inner + dump_json(x, inner) for x in v) + "\n" + indent + "]"
    return json.dumps(v, ensure_ascii=False, allow_nan=False, separators=(", ", ": "))


def _reject_constant(name: str) -> Any:
    raise ScenarioError(f"non-finite number {name} is not allowed", field="(json)")


def parse_json(text: str | bytes) -> Any:
    """Parsed JSON (size-limited, UTF-8, no NaN/Infinity); ScenarioError otherwise."""
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
