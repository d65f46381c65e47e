"""The window's model/controller: the function, the start point and the runs, each
run's full history, and the step the screen shows. Widgets observe it through its
signals and send user intent back through its methods; no widget ever steps an
optimizer.

Timeline semantics
------------------
Each run owns a :class:`~optsim.simulation.Trajectory` (one start, states recorded)
and so its own count of computed steps. ``shown_step`` is the one step the screen
shows; a run shows ``min(shown_step, run.trajectory.steps)`` (its *displayed step*).

* ``step_forward(n)`` moves ``shown_step`` to ``shown_step + n``. Every visible run
  that has not yet computed that far computes the missing steps (a run that diverged
  computes nothing more: it stays where it stopped). Runs that already have the
  history just replay it.
* A hidden run does not advance; it keeps showing its last computed step. Made
  visible again, it catches up on the next ``step_forward``.
* ``step_back``/``seek`` only move ``shown_step`` within the computed history
  (``0 .. computed_steps``); nothing is recomputed or discarded.
* Changing a run's optimizer restarts that run from the start point and recomputes
  it at once up to ``shown_step`` (so it stays comparable with the others); changing
  the start point or the function restarts every run at step 0.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, Signal

from .. import runset
from ..engine import OPTIMIZERS, Optimizer, as_optimizer, make_optimizer
from ..functions import LossFunction, as_function
from ..gradients import Clip, parse_noise
from ..loss import FUNCTIONS
from ..runset import RunSet
from ..schedules import Schedule
from ..simulation import Trajectory, advance_runs
from ..style import OKABE_ITO, run_colour

View = tuple[tuple[float, float], tuple[float, float]]

#: a run whose gradient norm and last step are both below this has converged
CONVERGED_TOL = 1e-6
#: steps computed between divergence checks
ADVANCE_CHUNK = 256


class Run:
    """One run of the window: what it is (:attr:`spec`, a :class:`optsim.runset.Run`:
    optimizer, name, colour, visibility, own start) and its history (:attr:`trajectory`,
    stepped with :attr:`optimizer`, the engine object built from the spec).

    ``name``, ``colour``, ``visible`` and ``start`` read and write the spec (``start``
    is a tuple, or None for the model's start).
    """

    __slots__ = ("spec", "optimizer", "trajectory", "row")

    def __init__(self, spec: runset.Run, trajectory: Trajectory,
                 optimizer: Optimizer | None = None) -> None:
        self.spec = spec
        self.optimizer = optimizer if optimizer is not None else trajectory.optimizer
        self.trajectory = trajectory
        #: the row the status and inspector show (None: the mean of the rows)
        self.row: int | None = None

    @property
    def rows(self) -> int:
        """K, the number of rows (starts or noise seeds) stepped side by side."""
        return int(self.trajectory.positions.shape[1])

    @property
    def shown_row(self) -> int | None:
        """The row shown: 0 for a run of one row; else the chosen one (None: the mean)."""
        if self.rows == 1:
            return 0
        return None if self.row is None or self.row >= self.rows else self.row

    def _set(self, **fields) -> None:
        self.spec = dataclasses.replace(self.spec, **fields)

    name = property(lambda self: self.spec.name, lambda self, v: self._set(name=str(v)))
    colour = property(lambda self: self.spec.colour, lambda self, v: self._set(colour=str(v)))
    visible = property(lambda self: self.spec.visible,
                       lambda self, v: self._set(visible=bool(v)))

    @property
    def start(self) -> tuple[float, ...] | None:
        """This run's own start point (a scenario's per-run start); None: the model's."""
        return self.spec.start

    @start.setter
    def start(self, point: Sequence[float] | None) -> None:
        self._set(start=None if point is None else tuple(float(c) for c in point), starts=())

    @property
    def schedule(self) -> Schedule | None:
        """Its learning-rate schedule (None: the optimizer's lr at every step)."""
        return self.trajectory.schedule

    @property
    def clip(self) -> Clip | None:
        """Its gradient clipping (None: none)."""
        return self.trajectory.clip

    def set_optimizer(self, optimizer: Optimizer) -> None:
        """Another optimizer (the spec follows); the caller restarts the trajectory."""
        self.optimizer = optimizer
        self.spec = self.spec.with_optimizer(optimizer)

    def displayed_step(self, shown_step: int) -> int:
        """The step this run shows when the screen shows ``shown_step``."""
        return min(shown_step, self.trajectory.steps)

    def diverged_at(self, step: int) -> bool:
        """Whether the shown row (for the mean: every row) has diverged by ``step``
        (badged from that step on)."""
        if self.trajectory.failure is not None and step >= self.trajectory.steps:
            return True  # its optimizer raised at the next step (a plug-in): it stops here
        row = self.shown_row
        d = self.trajectory.diverged_step if row is None else self.trajectory.diverged_step[row:row + 1]
        return bool(((d >= 0) & (step >= d)).all())

    @property
    def diverged(self) -> bool:
        """Whether the shown row (for the mean: every row) has diverged."""
        row = self.shown_row
        return bool(self.trajectory.diverged.all() if row is None else self.trajectory.diverged[row])

    def position(self, step: int) -> np.ndarray:
        """The shown row's position (D,) after ``step`` (clamped to the computed
        history); for the mean, the rows' mean position."""
        k = min(max(step, 0), self.trajectory.steps)
        row = self.shown_row
        return self.trajectory.positions[k].mean(axis=0) if row is None \
            else self.trajectory.positions[k, row]


@dataclass(frozen=True)
class RunStatus:
    """What the status table shows for one run at the shown step."""

    step: int
    loss: float
    grad_norm: float
    step_norm: float
    distance: float  # to the nearest known minimum (nan if none is known)
    diverged: bool
    converged: bool
    #: the learning rate of the next step (torch's get_last_lr()); nan: unknown
    lr: float = math.nan
    #: whether clipping changed the gradient of the step that led here
    clipped: bool = False
    #: whether the run has a schedule (its lr changes) or clipping
    scheduled: bool = False
    clipping: bool = False
    #: a run of K > 1 rows shown as their mean: how far the rows spread, the root
    #: mean square distance of their positions from the mean position (nan: one row)
    spread: float = math.nan


def fan_starts(centre: np.ndarray, rows: int, radius: float) -> tuple[tuple[float, ...], ...]:
    """``rows`` start points around ``centre``: evenly on a circle of ``radius`` in 2D
    (the first to the right), evenly over [centre - radius, centre + radius] in 1D."""
    centre = np.asarray(centre, dtype=np.float64).reshape(-1)
    if centre.shape[0] == 1:
        pts = centre[0] + np.linspace(-radius, radius, rows)[:, None]
    else:
        a = 2 * np.pi * np.arange(rows) / rows
        pts = centre + radius * np.column_stack([np.cos(a), np.sin(a)])
    return tuple(tuple(float(c) for c in q) for q in pts)


def default_runs(function: LossFunction) -> list[tuple[str, dict]]:
    """The first screen's comparison: (optimizer name, hyperparameters) pairs.

    SGD, momentum, RMSProp and Adam with learning rates at which all four visibly
    move on the first step; optimizers not (yet) in the registry are skipped.
    """
    wanted = [("sgd", {"lr": 0.02}), ("momentum", {"lr": 0.01}), ("rmsprop", {"lr": 0.01}),
              ("adam", {"lr": 0.05})]
    out = [(name, hp) for name, hp in wanted if name in OPTIMIZERS]
    if len(out) < 4 and "nesterov" in OPTIMIZERS:
        out.insert(2, ("nesterov", {"lr": 0.01}))
    return out


class SimulationModel(QObject):
    """The function, the start point, the runs and the timeline (see the module
    docstring for the step semantics)."""

    functionChanged = Signal()
    startChanged = Signal()
    viewChanged = Signal()
    runsChanged = Signal()
    runChanged = Signal(int)
    stepChanged = Signal(int)
    selectionChanged = Signal(int)
    #: the gradient noise changed; the text says why when the user did not ask for
    #: it (mini-batch noise turned off by a function without data), else ""
    noiseChanged = Signal(str)

    def __init__(self, function: str | LossFunction = "elongated-bowl",
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.function: LossFunction = as_function(function)
        self.start: np.ndarray = np.array(self.function.start, dtype=np.float64)
        self.view: View = _as_view(self.function.view)
        self.runs: list[Run] = []
        #: Gaussian gradient noise (standard deviation) and its seed, for every run
        self.noise: float = 0.0
        self.seed: int = 0
        self.shown_step: int = 0
        self.selected: int = -1
        self.last_compute_seconds = 0.0

    # -- construction helpers --------------------------------------------------
    def _trajectory(self, spec: runset.Run, optimizer: Optimizer | None = None) -> Trajectory:
        """``spec`` at step 0 from its own start or the model's, states recorded."""
        return runset.trajectory_of(spec, self.function, self.start, noise=self.noise,
                                    seed=self.seed, optimizer=optimizer, record_state=True)

    def _new_run(self, optimizer: Optimizer, name: str, colour: str, visible: bool = True,
                 start: Sequence[float] | None = None) -> Run:
        spec = runset.Run.from_optimizer(
            optimizer, name=name, colour=colour, visible=bool(visible),
            start=None if start is None else tuple(float(c) for c in start))
        return Run(spec, self._trajectory(spec, optimizer), optimizer)

    def _fresh_colour(self) -> str:
        used = {r.colour.lower() for r in self.runs}
        for c in OKABE_ITO:
            if c.lower() not in used:
                return c
        return run_colour(len(self.runs))

    def _fresh_name(self, base: str) -> str:
        names = {r.name for r in self.runs}
        if base not in names:
            return base
        k = 2
        while f"{base} {k}" in names:
            k += 1
        return f"{base} {k}"

    def _check_index(self, i: int) -> int:
        if not 0 <= i < len(self.runs):
            raise IndexError(f"run {i} does not exist (0..{len(self.runs) - 1})")
        return i

    # -- the function, the view and the start ------------------------------------
    def set_function(self, function: str | LossFunction) -> None:
        """Switch function (name, formula or LossFunction): its view and start are
        taken and every run restarts. Raises ValueError on a bad name or formula and
        then changes nothing."""
        fn = as_function(function)
        dropped = self._unfit_noise(fn)  # (checked before anything changes)
        self.function = fn
        if dropped is not None:  # mini-batch noise needs data: the gradients are exact now
            if dropped[0]:
                self.noise = 0.0
            for i in dropped[1]:
                self.runs[i]._set(noise="")
        for r in self.runs:  # per-run starts belong to the old function
            r.start = None
        self.view = _as_view(fn.view)
        self.start = np.array(fn.start, dtype=np.float64)
        self._restart_all()
        self.functionChanged.emit()
        self.viewChanged.emit()
        self.startChanged.emit()
        self.runsChanged.emit()
        self.stepChanged.emit(self.shown_step)
        if dropped is not None:
            self.noiseChanged.emit(dropped[2])

    def _unfit_noise(self, fn: LossFunction) -> tuple[bool, list[int], str] | None:
        """The noise that ``fn`` cannot take (mini-batch noise on a function without
        data points): (the set's, the runs' indices, a message), or None if it fits."""
        def unfit(spec) -> bool:
            try:
                noise = parse_noise(spec)
            except ValueError:
                return False
            if noise is None:
                return False
            try:
                noise.check_function(fn)
            except ValueError:
                return True
            return False

        whole = unfit(self.noise)
        runs = [i for i, r in enumerate(self.runs) if r.spec.noise and unfit(r.spec.noise)]
        if not whole and not runs:
            return None
        fits = ", ".join(name for name, f in FUNCTIONS.items() if hasattr(f, "batch_gradient"))
        which = "" if whole and not runs else (
            " of " + ", ".join(self.runs[i].name for i in runs) if not whole else
            " (and of " + ", ".join(self.runs[i].name for i in runs) + ")")
        return whole, runs, (f"Mini-batch noise{which} turned off: {fn.name} has no data "
                             f"points (only {fits} have).")
    def set_view(self, view: Sequence[Sequence[float]]) -> None:
        """Set the plotted window ((xmin, xmax), (ymin, ymax)); min < max, finite."""
        v = _as_view(view)
        if v != self.view:
            self.view = v
            self.viewChanged.emit()

    def set_start(self, point: Sequence[float]) -> None:
        """Move the start point and restart every run from it."""
        p = np.array(point, dtype=np.float64).reshape(-1)
        if p.shape != (self.function.dim,):
            raise ValueError(f"start must have {self.function.dim} coordinate(s), got {p.shape[0]}")
        if not np.isfinite(p).all():
            raise ValueError("start must be finite")
        shift = p - self.start if self.start.shape == p.shape else np.zeros_like(p)
        self.start = p
        for r in self.runs:  # a new start point is every run's start; a fan moves along
            if r.spec.starts:
                r.spec = dataclasses.replace(r.spec, starts=tuple(
                    tuple(float(c) for c in np.add(q, shift)) for q in r.spec.starts))
            else:
                r.start = None
        self._restart_all()
        self.startChanged.emit()
        self.runsChanged.emit()
        self.stepChanged.emit(self.shown_step)

    def set_noise(self, noise: float | str, seed: int = 0) -> None:
        """Gradient noise for every run: a Gaussian σ (0: none) or a noise model's spec
        (``student:nu=3,sigma=0.5``); every run restarts."""
        probe = Trajectory(self.function, "sgd", self.start[None, :], record_state=False,
                           noise=noise, seed=seed)  # validates
        model = probe.noise_model
        self.noise = model.spec if model is not None and model.name != "gaussian" else probe.noise
        self.seed = probe.seed
        self._restart_all()
        self.runsChanged.emit()
        self.stepChanged.emit(self.shown_step)
        self.noiseChanged.emit("")

    def _restart_all(self) -> None:
        for r in self.runs:
            r.trajectory = self._trajectory(r.spec, r.optimizer)
        self.shown_step = 0

    # -- runs ------------------------------------------------------------------
    def add_run(self, optimizer: str | Optimizer, name: str | None = None,
                colour: str | None = None, visible: bool = True) -> int:
        """Append a run (it starts at the start point, computed up to the shown
        step); returns its index."""
        opt = as_optimizer(optimizer)
        run = self._new_run(opt, name or self._fresh_name(opt.name),
                            colour or self._fresh_colour(), visible)
        if run.visible:
            run.trajectory.advance(self.shown_step)
        self.runs.append(run)
        self.runsChanged.emit()
        return len(self.runs) - 1

    def remove_run(self, i: int) -> None:
        self._check_index(i)
        del self.runs[i]
        if self.selected == i:
            self.selected = -1 if not self.runs else min(i, len(self.runs) - 1)
            self.selectionChanged.emit(self.selected)
        elif self.selected > i:
            self.selected -= 1
            self.selectionChanged.emit(self.selected)
        self.runsChanged.emit()

    def duplicate_run(self, i: int) -> int:
        """A copy of run ``i`` (same optimizer, a new colour), right after it."""
        src = self.runs[self._check_index(i)]
        opt = as_optimizer(src.optimizer.spec)
        run = self._new_run(opt, self._fresh_name(src.name), self._fresh_colour(), True,
                            src.start)
        run.trajectory.advance(self.shown_step)
        self.runs.insert(i + 1, run)
        if self.selected > i:
            self.selected += 1
        self.runsChanged.emit()
        return i + 1

    def set_run_optimizer(self, i: int, optimizer: str | Optimizer) -> None:
        """Give run ``i`` another optimizer (or other hyperparameters): it restarts
        from the start point and is recomputed up to the shown step at once."""
        r = self.runs[self._check_index(i)]
        r.set_optimizer(as_optimizer(optimizer))
        r.trajectory = self._trajectory(r.spec, r.optimizer)
        if r.visible:
            r.trajectory.advance(self.shown_step)
        self.runChanged.emit(i)

    def set_run_training(self, i: int, schedule: Schedule | None = None,
                         clip: Clip | None = None) -> None:
        """Give run ``i`` a learning-rate schedule and gradient clipping (None: none);
        it restarts and is recomputed up to the shown step. Raises ValueError (and
        changes nothing) if the schedule does not fit its optimizer."""
        r = self.runs[self._check_index(i)]
        spec = dataclasses.replace(r.spec, schedule=schedule.spec if schedule else "",
                                   clip=clip.spec if clip else "")
        trajectory = self._trajectory(spec, r.optimizer)  # raises before any change
        r.spec, r.trajectory = spec, trajectory
        if r.visible:
            advance_runs([trajectory], self.shown_step, stop_diverged=True, chunk=ADVANCE_CHUNK)
        self.runChanged.emit(i)

    def set_run_noise(self, i: int, noise: str = "", ensemble: int = 1) -> None:
        """Give run ``i`` its own gradient noise (a spec; "": the set's) and
        ``ensemble`` seeded members per start; it restarts and is recomputed up to
        the shown step. Raises ValueError (and changes nothing) if the function
        cannot take the noise or K is out of range."""
        r = self.runs[self._check_index(i)]
        k = int(ensemble)
        if not 1 <= k <= runset.MAX_ENSEMBLE:
            raise ValueError(f"ensemble must be 1..{runset.MAX_ENSEMBLE}, got {ensemble}")
        model = parse_noise(noise) if noise else None
        spec = dataclasses.replace(r.spec, noise=model.spec if model is not None else "",
                                   ensemble=k)
        if spec.rows > runset.MAX_ROWS:
            raise ValueError(f"{spec.rows} rows (starts × ensemble) is more than "
                             f"{runset.MAX_ROWS}")
        trajectory = self._trajectory(spec, r.optimizer)  # raises before any change
        r.spec, r.trajectory, r.row = spec, trajectory, None
        if r.visible:
            advance_runs([trajectory], self.shown_step, stop_diverged=True, chunk=ADVANCE_CHUNK)
        self.runChanged.emit(i)

    def set_run_row(self, i: int, row: int | None) -> None:
        """Show row ``row`` of run ``i`` in the status and inspector (None: the mean)."""
        r = self.runs[self._check_index(i)]
        if row is not None and not 0 <= int(row) < r.rows:
            raise IndexError(f"run {i} has rows 0..{r.rows - 1}, not {row}")
        r.row = None if row is None else int(row)
        self.runChanged.emit(i)

    def set_run_fan(self, i: int, rows: int, radius: float) -> None:
        """Give run ``i`` ``rows`` starts evenly spaced on a circle of ``radius``
        around the start point (in 1D: on a segment of half-width ``radius``); one
        row (or radius 0) makes it a single run from the start again. The run restarts
        and is recomputed up to the shown step."""
        r = self.runs[self._check_index(i)]
        rows = int(rows)
        if not 1 <= rows <= runset.MAX_ROWS:
            raise ValueError(f"rows must be 1..{runset.MAX_ROWS}, got {rows}")
        if not (math.isfinite(radius) and radius >= 0):
            raise ValueError(f"radius must be a finite number >= 0, got {radius}")
        centre = np.array(r.start if r.start is not None else self.start, dtype=np.float64)
        starts = () if rows == 1 or radius == 0 else fan_starts(centre, rows, radius)
        r.spec = dataclasses.replace(r.spec, starts=starts,
                                     start=None if starts else r.spec.start)
        r.row = None
        r.trajectory = self._trajectory(r.spec, r.optimizer)
        if r.visible:
            advance_runs([r.trajectory], self.shown_step, stop_diverged=True,
                         chunk=ADVANCE_CHUNK)
        self.runChanged.emit(i)

    def set_run_visible(self, i: int, visible: bool) -> None:
        r = self.runs[self._check_index(i)]
        if r.visible != bool(visible):
            r.visible = bool(visible)
            self.runChanged.emit(i)

    def rename_run(self, i: int, name: str) -> None:
        r = self.runs[self._check_index(i)]
        name = str(name).strip()
        if name and name != r.name:
            r.name = name
            self.runChanged.emit(i)

    def set_run_colour(self, i: int, colour: str) -> None:
        r = self.runs[self._check_index(i)]
        if colour != r.colour:
            r.colour = str(colour)
            self.runChanged.emit(i)

    def select(self, i: int) -> None:
        i = int(i) if 0 <= int(i) < len(self.runs) else -1
        if i != self.selected:
            self.selected = i
            self.selectionChanged.emit(i)

    def replace_runs(self, runs: Sequence[runset.Run | tuple]) -> None:
        """Replace all runs at once, at step 0: run-set runs (:class:`optsim.runset.Run`)
        or tuples (optimizer, name, colour, visible[, own start])."""
        new = []
        for item in runs:
            if isinstance(item, runset.Run):
                new.append(Run(item, self._trajectory(item)))
                continue
            opt, name, colour, visible, *own = item
            start = None if not own or own[0] is None else \
                np.array(own[0], dtype=np.float64).reshape(self.function.dim)
            new.append(self._new_run(opt, name, colour, visible, start))
        self.runs = new
        self.shown_step = 0
        self.selected = 0 if self.runs else -1
        self.runsChanged.emit()
        self.selectionChanged.emit(self.selected)
        self.stepChanged.emit(0)

    def run_set(self, steps: int = 100, name: str = "", description: str = "") -> RunSet:
        """The function, view, start, noise and runs as a run set (not validated: see
        :meth:`optsim.runset.RunSet.normalised`)."""
        return RunSet(self.function.name, tuple(r.spec for r in self.runs), view=self.view,
                      start=tuple(float(c) for c in self.start), steps=int(steps),
                      noise=self.noise, seed=self.seed, name=name, description=description)

    def load_run_set(self, runs: RunSet) -> None:
        """Show a (validated) run set: its function, view, start, noise and runs, at
        step 0 (a run of K > 1 rows stays one run: a fan with its mean path). Raises
        ValueError (then nothing has changed) if a run's optimizer cannot be built."""
        for r in runs.runs:
            r.make_optimizer()  # raises before anything changes
        fn = as_function(runs.function)
        # the old runs and noise go first: they may not fit the new function (a batch
        # size needs a data-fitting function)
        self.runs, self.noise = [], 0.0
        self.set_function(fn)
        if runs.view is not None:
            self.set_view(runs.view)
        self.set_start(runs.start if runs.start is not None else fn.start)
        self.set_noise(runs.noise, runs.seed)
        self.replace_runs([dataclasses.replace(r, colour=runs.run_colour(i))
                           for i, r in enumerate(runs.runs)])

    def load_default_runs(self) -> None:
        """The first screen: SGD, momentum, RMSProp and Adam (those registered)."""
        self.replace_runs([
            (make_optimizer(name, **hp), name, run_colour(k), True)
            for k, (name, hp) in enumerate(default_runs(self.function))
        ])

    # -- the timeline ----------------------------------------------------------
    @property
    def computed_steps(self) -> int:
        """The most steps any run has computed (the end of the timeline)."""
        return max((r.trajectory.steps for r in self.runs), default=0)

    def step_forward(self, n: int = 1) -> int:
        """Move the shown step ``n`` forward, computing what is missing for the
        visible runs that have not diverged. Returns the new shown step."""
        n = int(n)
        if n <= 0:
            return self.shown_step
        target = self.shown_step + n
        t0 = time.perf_counter()
        # the run sets' runner: runs that lack the same number of steps are stepped
        # side by side (one gradient evaluation per step for all), in chunks, so a
        # run that diverges stops computing soon after
        advance_runs([r.trajectory for r in self.runs if r.visible], target,
                     stop_diverged=True, chunk=ADVANCE_CHUNK)
        #: seconds the last step_forward spent computing (without the redraw it causes)
        self.last_compute_seconds = time.perf_counter() - t0
        self.shown_step = target
        self.stepChanged.emit(target)
        return target

    def step_back(self, n: int = 1) -> int:
        return self.seek(self.shown_step - int(n))

    def seek(self, k: int) -> int:
        """Show step ``k`` of the computed history (clamped to 0..computed_steps)."""
        k = min(max(int(k), 0), self.computed_steps)
        if k != self.shown_step:
            self.shown_step = k
            self.stepChanged.emit(k)
        return k

    def reset(self) -> None:
        """Every run back to the start point, its history discarded."""
        self._restart_all()
        self.runsChanged.emit()
        self.stepChanged.emit(0)

    # -- what the status shows -------------------------------------------------
    def run_status(self, i: int) -> RunStatus:
        r = self.runs[self._check_index(i)]
        t = r.trajectory
        k = r.displayed_step(self.shown_step)
        # plain floats: D is 1 or 2, and the status table asks for every run a few
        # times a second while playing (np.linalg.norm cost ~10 us a call)
        row = r.shown_row
        spread = math.nan
        if row is None:  # the mean of the rows: mean position, loss, gradient and step norms
            with np.errstate(all="ignore"):
                centre = t.positions[k].mean(axis=0)
                spread = float(np.sqrt(np.mean(np.sum((t.positions[k] - centre) ** 2, axis=1))))
                p = centre.tolist()
                loss = float(t.losses[k].mean())
                g = float(np.linalg.norm(t.gradient_at(k), axis=1).mean())
                s = float(np.linalg.norm(t.positions[k] - t.positions[k - 1], axis=1).mean()) \
                    if k > 0 else math.inf
        else:
            p = t.positions[k, row].tolist()
            loss = float(t.losses[k, row])
            with np.errstate(all="ignore"):
                g = math.hypot(*t.gradient_at(k)[row].tolist())
            s = math.dist(p, t.positions[k - 1, row].tolist()) if k > 0 else math.inf
        minima = [m for m in self.function.minima if len(m) == len(p)]
        dist = min(math.dist(p, m) for m in minima) if minima else math.nan
        diverged = r.diverged_at(k)
        converged = (not diverged and k > 0 and g < CONVERGED_TOL and s < CONVERGED_TOL)
        lr, clipped = _training_status(t, k)
        return RunStatus(k, loss, g, s, dist, diverged, converged, lr, clipped,
                         t.schedule is not None, t.clip is not None, spread)

    def all_converged(self, tol: float = CONVERGED_TOL) -> bool:
        """Whether every visible run that has not diverged has converged (gradient
        norm and last step both below ``tol``) at the shown step."""
        live = False
        for i, r in enumerate(self.runs):
            if not r.visible:
                continue
            st = self.run_status(i)
            if st.diverged:
                continue
            live = True
            if not (st.step > 0 and st.grad_norm < tol and st.step_norm < tol):
                return False
        return live

    def all_stopped(self) -> bool:
        """Whether no visible run can advance any more (all diverged, hidden, or at
        their schedule's end)."""
        return not any(r.visible and not r.diverged and not _at_end(r.trajectory)
                       for r in self.runs)


def _at_end(t: Trajectory) -> bool:
    """Whether the run's schedule has no learning rate for another step."""
    end = t.schedule.max_steps if t.schedule is not None else None
    return end is not None and t.steps >= end


def _training_status(t: Trajectory, k: int) -> tuple[float, bool]:
    """The lr of the step after ``k`` (that of step ``k`` at a schedule's end) and
    whether clipping acted on step ``k``."""
    lr = math.nan
    try:
        lr = float(t.lr_at(k + 1)[0])
    except (ValueError, IndexError):  # past the schedule's end: the last lr
        lr = float(t.lr_at(k)[0]) if k >= 1 else math.nan
    clipped = bool(t.clipped_at(k)[0]) if t.clip is not None and k >= 1 else False
    return lr, clipped


def _as_view(view: Sequence[Sequence[float]]) -> View:
    try:
        (x0, x1), (y0, y1) = view
        x0, x1, y0, y1 = float(x0), float(x1), float(y0), float(y1)
    except (TypeError, ValueError):
        raise ValueError(f"view must be ((xmin, xmax), (ymin, ymax)), got {view!r}") from None
    if not all(math.isfinite(v) for v in (x0, x1, y0, y1)):
        raise ValueError("view bounds must be finite")
    if not (x0 < x1 and y0 < y1):
        raise ValueError(f"view needs xmin < xmax and ymin < ymax, got {view!r}")
    return (x0, x1), (y0, y1)
