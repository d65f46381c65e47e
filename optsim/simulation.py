"""Running optimizers over loss functions: a batch of runs with its full history,
divergence handling, and the one-call ``simulate`` API."""

from __future__ import annotations

import math
import numbers
import operator
import os
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from .dynamics import Dynamics
from .engine import Closure, Info, Optimizer, as_optimizer
from .engine.base import OptimizerFailed
from .functions import LossFunction, as_function
from .gradients import parse_noise
from .history_memory import empty as history_empty
from .schedules import Schedule, split_spec

#: a run that leaves the view window enlarged this many times around its centre diverged
BOUND_SCALE = 1000.0
#: the most steps of a run, and the largest |coordinate| of a start or view bound:
#: the limits of run sets (files, the command line, the window) and sweeps alike
MAX_STEPS = 1_000_000
MAX_COORD = 1e12
#: batches of at most this many coordinates (N x D) are stepped side by side with
#: the others of their function (one gradient evaluation per step for all)
SMALL_BATCH = 8
#: the most steps taken between two divergence checks (a chunk)...
CHUNK = 64
#: ...and the most coordinates (rows x D x steps) a chunk of a batch or block takes
#: (its positions are evaluated for their losses at once)
CHUNK_NUMBERS = 2**14
#: a big batch without noise is stepped in blocks of about this many coordinates
#: (rows x D), each through all its steps on its own. Every block-step costs ~60 µs
#: of calls besides ~11 ns per run (Adam on Rosenbrock, 2D): blocks of 4,096 runs
#: took 1.7 ms per step for 65,536 runs; of 16,384 or 32,768 runs (512 KiB per
#: array, two blocks: one per thread) the same (1.1 ms, CPU time, loaded machine)
BLOCK_NUMBERS = 65536
#: work of at least this many coordinates (rows x D) is shared out between two
#: threads, when there are two CPUs
THREAD_NUMBERS = 65536


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


_THREADS = min(2, _cpus())


def _spare_cpu() -> bool:
    """Whether a CPU is free for a second thread: fewer tasks ready to run than CPUs,
    this one included (Linux: /proc/loadavg; elsewhere: assumed). When the others
    are taken, a second Python thread only waits for the GIL while the thread holding
    it waits for a CPU: measured here at load 7 on 2 CPUs, 65,536 runs of Adam took
    2.3-3.4 ms per step in one thread, 3.4-4.4 ms (and spikes of 18 ms) in two."""
    try:
        with open("/proc/loadavg", encoding="ascii") as f:
            running = int(f.read().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return True
    return running < _cpus()


#: without noise, ``run`` steps a huge batch in blocks of runs that take at most
#: this many bytes (or an eighth of the whole history's, if more) on the way
BLOCK_BYTES = 64 * 2**20
#: numbers per coordinate a block's run uses besides its history (state, gradient,
#: the function's temporaries), as measured on Adam and Rosenbrock
WORK_NUMBERS = 40


def function_closure(function: LossFunction) -> Closure:
    """The loss as the optimizers that evaluate it themselves are given it (value,
    gradient and Hessian at any points)."""
    return Closure(function.value, function.gradient, function.hessian)


def check_steps(steps: Any, name: str = "steps") -> int:
    """``steps`` as an int >= 0: TypeError for anything but a whole number of type
    int (2.7, "10", True), ValueError for a negative one."""
    if isinstance(steps, (bool, np.bool_)) or not isinstance(steps, (int, np.integer)):
        raise TypeError(f"{name} must be a whole number (an int), got {steps!r} "
                        f"of type {type(steps).__name__}")
    if steps < 0:
        raise ValueError(f"{name} must be >= 0, got {steps}")
    return int(steps)


def as_starts(start: Any, name: str = "start") -> np.ndarray:
    """``start`` as a float64 array (no copy when it is one): TypeError for
    complex numbers, text, booleans or other objects, naming the argument."""
    try:
        arr = np.asarray(start)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name} must be a point or an (N, D) array of points: {exc}") from None
    kind = arr.dtype.kind
    if kind == "O":
        for v in arr.ravel().tolist():
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (numbers.Real, np.floating,
                                                                      np.integer)):
                what = "complex numbers" if isinstance(v, complex) else f"{type(v).__name__} values"
                raise TypeError(f"{name} must hold real numbers, got {what} ({v!r})")
    elif kind == "c":
        raise TypeError(f"{name} must hold real numbers, got complex numbers ({arr.dtype}); "
                        "an imaginary part would be lost")
    elif kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers, got {arr.dtype} values")
    return np.asarray(arr, dtype=np.float64)


def history_bytes(runs: int, dim: int, steps: int) -> int:
    """Bytes of the positions and losses of ``runs`` runs over ``steps`` steps."""
    return (int(steps) + 1) * int(runs) * (int(dim) + 1) * 8


def available_memory() -> int | None:
    """Bytes of memory this process can still take, as far as the system says
    (Linux: MemAvailable, lowered by a cgroup's or an address-space limit); None
    if it does not say."""
    found: list[int] = []
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    found.append(int(line.split()[1]) * 1024)
                    break
    except (OSError, ValueError, IndexError):
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            pass
    for limit, usage in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                         ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                          "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            with open(limit, encoding="ascii") as f:
                cap = f.read().strip()
            with open(usage, encoding="ascii") as f:
                used = int(f.read().strip())
        except (OSError, ValueError):
            continue
        if cap.isdigit() and int(cap) < 2**60:
            found.append(max(int(cap) - used, 0))
        break
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            with open("/proc/self/statm", encoding="ascii") as f:
                size = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
            found.append(max(soft - size, 0))
    except (ImportError, OSError, ValueError, IndexError):
        pass
    return min(found) if found else None


def _size(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.3g} {unit}"
        n /= 1000
    raise AssertionError


def check_memory(need: int, what: str) -> None:
    """ValueError when ``need`` bytes (the history of ``what``) exceed the memory
    available (:func:`available_memory`), saying both."""
    have = available_memory()
    if have is not None and need > have:
        raise ValueError(f"the history of {what} needs {_size(need)} of memory (positions "
                         f"and losses), but only about {_size(have)} is available; use "
                         "fewer runs or steps")


class Trajectory:
    """N runs of one optimizer on one function, all stepped at once.

    Keeps every position and loss and, with ``record_state``, every optimizer state,
    in compact growable arrays (no Python object per step), so any past step can be
    shown exactly. A run that diverges (a non-finite value, or leaving the view
    window enlarged ``BOUND_SCALE`` times) is flagged and frozen where it was; the
    others go on untouched.

    ``noise`` > 0 adds Gaussian noise of that standard deviation to every gradient
    (a stand-in for the minibatch noise of stochastic gradients), drawn from
    ``numpy.random.default_rng(seed)``, one (N, D) draw per step: the same seed gives
    the same noise, however the steps are split into ``advance`` calls. The noisy
    gradients used are recorded, so ``explain`` shows the step that was taken.
    ``noise`` may also be a noise model's spec (``"student:nu=3,sigma=0.5"``,
    ``"minibatch:batch=8"``, see :mod:`optsim.gradients`).

    ``schedule`` (or ``optimizer`` written ``"sgd:lr=0.1+steplr:step_size=30"``) is a
    learning-rate schedule (:mod:`optsim.schedules`) and ``clip`` gradient clipping
    (``"norm=1.0"``, ``"value=0.5"``), applied as a training loop does (see
    :mod:`optsim.dynamics`); ``dynamics`` records each step's lr and where clipping
    acted (``lr_at``, ``clipped_at``, ``history``).
    """

    def __init__(self, function: str | LossFunction, optimizer: str | Optimizer,
                 starts: Any, *, record_state: bool = True, bound_scale: float = BOUND_SCALE,
                 capacity: int = 64, noise: Any = 0.0, seed: int = 0,
                 schedule: str | Schedule | None = None, clip: Any = None,
                 keep_losses: bool = True) -> None:
        if isinstance(noise, bool):
            raise ValueError(f"noise must be a finite number >= 0 or a noise spec, got {noise!r}")
        if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) \
                or seed < 0:
            raise TypeError(f"seed must be a whole number >= 0, got {seed!r}")
        self.seed = int(seed)
        self.function = as_function(function)
        if isinstance(optimizer, str):
            optimizer, from_spec = split_spec(optimizer)
            if from_spec is not None:
                if schedule is not None:
                    raise ValueError("a schedule is given twice: in the spec after '+' "
                                     "and as schedule=")
                schedule = from_spec
        self.optimizer = as_optimizer(optimizer)
        starts = np.array(as_starts(starts), dtype=np.float64, copy=True)
        if starts.ndim == 1:
            starts = starts[None, :]
        if starts.ndim != 2 or starts.shape[1] != self.function.dim:
            raise ValueError(
                f"start must have {self.function.dim} coordinate(s) per run for "
                f"{self.function.name}, got shape {np.shape(starts)}"
            )
        if not np.isfinite(starts).all():
            raise ValueError("start must be finite")
        self.n, self.dim = starts.shape
        if self.optimizer.rows is not None and self.optimizer.rows != self.n:
            raise ValueError(f"{self.optimizer.name}: its per-run hyperparameters are for "
                             f"{self.optimizer.rows} runs, got {self.n} starts")
        self.dynamics = Dynamics(self.optimizer, self.n, schedule=schedule, noise=noise,
                                 clip=clip, seed=self.seed, function=self.function,
                                 capacity=capacity)
        self.optimizer = self.dynamics.optimizer
        self.schedule = self.dynamics.schedule
        self.clip = self.dynamics.clip
        self.noise_model = self.dynamics.noise
        if self.optimizer.needs_closure and (self.noise_model is not None
                                             or self.clip is not None):
            raise ValueError(f"{self.optimizer.name} evaluates the loss itself (a closure, "
                             "as torch's step(closure)): gradient noise and clipping do "
                             "not apply to it")
        #: the loss, for an optimizer that evaluates it itself (None: it only takes
        #: the gradient)
        self.closure = function_closure(self.function) if self.optimizer.needs_closure \
            else None
        #: the Gaussian σ of the noise (0: none, or another noise model)
        self.noise = self.noise_model.sigma if self.noise_model is not None else 0.0
        self._rng = self.dynamics.rng
        (x0, x1), (y0, y1) = self.function.view
        spans = [x1 - x0, y1 - y0][: self.dim]
        centres = [(x0 + x1) / 2, (y0 + y1) / 2][: self.dim]
        half = np.maximum(np.abs(np.array(spans)), 1.0) / 2 * bound_scale
        self._lo = np.array(centres) - half
        self._hi = np.array(centres) + half
        #: every coordinate within [_lo_all, _hi_all] is within its own bound
        self._lo_all, self._hi_all = float(self._lo.max()), float(self._hi.min())
        self.record_state = record_state
        self._params = starts
        self._state = self.optimizer.init(starts)
        self._state_fields = [f for f, v in self._state._asdict().items() if isinstance(v, np.ndarray)]
        self._grads = self._noisy(self._gradient(starts), starts)
        self._cap = max(2, capacity)
        #: with noise: the gradient used at each position (the step from it)
        self._used = history_empty((self._cap, self.n, self.dim)) if self._rng is not None else None
        if self._used is not None:
            self._used[0] = self._grads
        self._pos = history_empty((self._cap, self.n, self.dim))
        #: whether every step's loss is kept (``losses``); if not, the two last are, in
        #: the rows ``k & _lmask`` of a two-row ``_loss`` (a positions-only caller,
        #: :func:`simulate`, spares the memory and its first-touch page faults)
        self.keep_losses = bool(keep_losses) or self.dynamics.active
        self._lmask = -1 if self.keep_losses else 1
        self._loss = history_empty((self._cap if self.keep_losses else 2, self.n))
        #: the state arrays each step writes; the others keep their first values
        self._live = tuple(f for f in self.optimizer.live_fields() if f in self._state_fields)
        self._hist = {f: self._history_array(f, self._cap) for f in self._state_fields} \
            if record_state else {}
        #: the error that stopped every run (a plug-in that raised), or None
        self.failure: OptimizerFailed | None = None
        self.diverged = np.zeros(self.n, dtype=bool)
        #: the step at which each run diverged (-1: never)
        self.diverged_step = np.full(self.n, -1, dtype=np.int64)
        self.steps = 0
        loss0 = self._value(starts)
        self._record(0, starts, loss0, self._state)

    # -- evaluation with NaN/inf silenced (divergence is handled, not warned) --
    def _gradient(self, p: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.asarray(self.function.gradient(p), dtype=np.float64).reshape(self.n, self.dim)

    def _noisy(self, g: np.ndarray, params: np.ndarray) -> np.ndarray:
        if self._rng is None:
            return g
        return self.dynamics.noisy(g, self.function, params)

    def _value(self, p: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.asarray(self.function.value(p), dtype=np.float64).reshape(self.n)

    def _grow(self, need: int) -> None:
        if need <= self._cap:
            return
        cap = max(need, self._cap * 2)
        kept = ("_loss",) if self.keep_losses else ()
        for name in ("_pos", *kept) + (("_used",) if self._used is not None else ()):
            old = getattr(self, name)
            new = history_empty((cap,) + old.shape[1:])
            new[: self.steps + 1] = old[: self.steps + 1]
            setattr(self, name, new)
        self.dynamics.grow(cap, self.steps + 1)
        for f, old in self._hist.items():
            new = self._history_array(f, cap)
            if f in self._live:
                new[: self.steps + 1] = old[: self.steps + 1]
            self._hist[f] = new
        self._cap = cap

    def _history_array(self, field: str, cap: int) -> np.ndarray:
        """Room for ``cap`` steps of a state array: empty, for the steps to write,
        if the optimizer changes it; else its (constant) first value, repeated as a
        read-only view that takes no memory."""
        first = getattr(self._state, field)
        if field in self._live:
            return history_empty((cap,) + first.shape)
        return np.broadcast_to(first, (cap,) + first.shape)

    def _buffers(self, sets: int) -> list[dict[str, np.ndarray]] | None:
        """Without recorded states: ``sets`` sets of arrays for the live state, that
        an ``advance`` steps into (see ``_Lane``); with them: None (steps write the
        history)."""
        if self._hist:
            return None
        return [{f: np.empty(getattr(self._state, f).shape) for f in self._live}
                for _ in range(sets)]

    def _record(self, k: int, params: np.ndarray, loss: np.ndarray, state: Any) -> None:
        self._pos[k] = params
        self._loss[k] = loss
        for f in self._live if self._hist else ():
            self._hist[f][k] = getattr(state, f)

    # -- stepping ------------------------------------------------------------
    def advance(self, steps: int = 1) -> None:
        """Take ``steps`` more steps for every run."""
        advance_together([self], steps)

    def _outside(self, new: np.ndarray, loss: np.ndarray) -> np.ndarray:
        """Runs whose new position or loss is non-finite or beyond the bound (over
        the last axis of ``new``, the coordinates).

        Column by column: comparisons with NaN are false, so the bound test also
        catches NaN and inf positions, with no (N, D) temporaries.
        """
        ok = np.isfinite(loss)
        for d in range(self.dim):
            column = new[..., d]
            ok &= column >= self._lo[d]
            ok &= column <= self._hi[d]
        return ~ok

    # -- history -------------------------------------------------------------
    @property
    def positions(self) -> np.ndarray:
        """Positions, shape (steps+1, N, D) (a view: do not modify)."""
        return self._pos[: self.steps + 1]

    @property
    def losses(self) -> np.ndarray:
        """Losses, shape (steps+1, N)."""
        if not self.keep_losses:
            raise ValueError("this trajectory keeps no losses (keep_losses=False)")
        return self._loss[: self.steps + 1]

    @property
    def params(self) -> np.ndarray:
        return self._params

    @property
    def state(self) -> Any:
        return self._state

    def _check_step(self, k: int) -> int:
        if not 0 <= k <= self.steps:
            raise IndexError(f"step {k} is not recorded (0..{self.steps})")
        return k

    def state_at(self, k: int) -> Any:
        """The optimizer state after step ``k`` (k = 0: the initial state)."""
        k = self._check_step(k)
        if k == self.steps:
            return self._state
        if not self.record_state:
            raise ValueError("this trajectory does not record optimizer states")
        init = self.optimizer.init(self._pos[0])
        return init._replace(step=k, **{f: self._hist[f][k].copy() for f in self._state_fields})

    def fail(self, error: OptimizerFailed) -> None:
        """Stop every run here: the optimizer's own code raised (``error``, at its
        step). The runs count as diverged at that step; ``failure`` keeps the error."""
        self.failure = error
        self.diverged[:] = True
        self.diverged_step[self.diverged_step < 0] = error.step or self.steps + 1

    def extra_paths(self) -> dict[str, np.ndarray]:
        """The optimizer's extra points (its trait ``extra_points``: Schedule-Free's
        averaged x, Lookahead's slow weights) at every step, by key: (steps+1, N, D)
        each; empty if it keeps none. Needs the recorded states."""
        opt = self.optimizer
        if not opt.extra_points:
            return {}
        if not self.record_state:
            raise ValueError("this trajectory does not record optimizer states")
        n = self.steps + 1
        cached = getattr(self, "_paths", None)
        if cached is not None and cached[0] == n:
            return cached[1]
        with np.errstate(all="ignore"):
            paths = opt.points(self._pos[:n], {f: self._hist[f][:n] for f in self._state_fields})
        self._paths = (n, paths)
        return paths

    def gradient_at(self, k: int) -> np.ndarray:
        """The gradient at the position after step ``k``."""
        return self._gradient(self._pos[self._check_step(k)])

    def gradient_used(self, k: int) -> np.ndarray:
        """The gradient the step from position ``k`` uses (with noise: the noisy one),
        before clipping (see :meth:`clipped_gradient`)."""
        k = self._check_step(k)
        return self._used[k].copy() if self._used is not None else self._gradient(self._pos[k])

    def clipped_gradient(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The gradient the step from position ``k`` uses after clipping, and per run
        whether clipping changed it (no clipping: the gradient, all False)."""
        g = self.gradient_used(k)
        if self.clip is None:
            return g, np.zeros(self.n, dtype=bool)
        return self.clip.apply(g)

    def lr_at(self, k: int) -> np.ndarray:
        """The learning rate of step ``k`` (1..steps; steps+1: the next one), per run."""
        if not 1 <= k <= self.steps + 1:
            raise IndexError(f"step {k} has no learning rate (1..{self.steps + 1})")
        if self.schedule is None:
            return np.broadcast_to(np.asarray(self.optimizer.hp["lr"], dtype=np.float64),
                                   (self.n,)).copy()
        if k == self.steps + 1:
            self.dynamics.check_steps(k)
            with np.errstate(all="ignore"):
                self.dynamics.values_for(k, self._loss)
        return self.dynamics.lr_at(k)

    def clipped_at(self, k: int) -> np.ndarray:
        """Per run: whether clipping changed the gradient of step ``k`` (1..steps)."""
        if not 1 <= k <= self.steps:
            raise IndexError(f"step {k} has no update (1..{self.steps})")
        return self.dynamics.clipped_at(k)

    def explain(self, k: int) -> Info:
        """The intermediate quantities of step ``k`` (from position k−1 to k), by name,
        recomputed from the recorded state: ``grad``, ``update``, ``effective_lr``, ...

        For a frozen (diverged) run the recomputed values describe the step it would
        have taken; ``update`` is the step recorded.
        """
        if not 1 <= k <= self.steps:
            raise IndexError(f"step {k} has no update (1..{self.steps})")
        p = self._pos[k - 1].copy()
        dyn = self.dynamics
        with np.errstate(all="ignore"):
            used = self._gradient(p) if self._used is None else self._used[k - 1].copy()
            given = self.clip.apply(used)[0] if self.clip is not None else used
            if dyn.active:
                _, _, info = self.optimizer.step_with_info(p, given, self.state_at(k - 1),
                                                           lr=dyn.lr_at(k),
                                                           values=dyn.values_at(k),
                                                           closure=self.closure)
            else:
                _, _, info = self.optimizer.step_with_info(p, given, self.state_at(k - 1),
                                                           closure=self.closure)
        info["update"] = self._pos[k] - self._pos[k - 1]
        info["raw_grad"] = self._gradient(p)
        if self.clip is not None:
            info["unclipped_grad"] = used
            info["clipped"] = dyn.clipped_at(k).astype(np.float64)[:, None] * np.ones((1, self.dim))
        if self.schedule is not None:
            info["lr_t"] = np.broadcast_to(dyn.lr_at(k)[:, None], p.shape).copy()
        return info

    def next_update(self, k: int) -> np.ndarray:
        """The step each run takes from position ``k`` (0..steps), (N, D): the recorded
        one where it is computed, else (k = steps) the next step previewed from the
        current state (the exact gradient, clipped as the run clips; with noise, the
        noise-free step), without changing anything."""
        k = self._check_step(k)
        if k < self.steps:
            return self._pos[k + 1] - self._pos[k]
        p = self._pos[k].copy()
        with np.errstate(all="ignore"):
            g = self._gradient(p)
            if self.clip is not None:
                g = self.clip.apply(g)[0]
            dyn = self.dynamics
            if dyn.active:
                lr = self.lr_at(k + 1)  # (brings the schedule to step k + 1)
                new, _ = self.optimizer.step(p, g, self._state, lr=lr,
                                             values=dyn.values_at(k + 1), closure=self.closure)
            else:
                new, _ = self.optimizer.step(p, g, self._state, closure=self.closure)
        return new - p

    def memory_bytes(self) -> int:
        """Bytes held by the history arrays."""
        return (self._pos.nbytes + self._loss.nbytes
                + sum(self._hist[f].nbytes for f in self._live if f in self._hist)
                + (self._used.nbytes if self._used is not None else 0)
                + self.dynamics.memory_bytes())


def advance_together(trajectories: Sequence[Trajectory], steps: int) -> None:
    """Advance every trajectory ``steps`` steps: the one stepping path of optsim.

    Each trajectory ends exactly as if stepped alone with a divergence check after
    every step (positions, losses, states, noise, divergence steps, to the last
    bit); what changes is the cost:

    * grouping: trajectories of a few runs on one function (the window's, N = 1)
      are stepped side by side with one gradient evaluation per step for all;
    * chunks: the losses of a chunk of steps of a few runs are evaluated and its
      positions and losses checked at once (a chunk in which a run newly diverged is
      taken again from its start for that batch of rows, step by step with a check
      after each); a batch or block of many runs is checked after every step, by
      three reductions while the step's numbers are in cache (min and max of the
      positions against the tightest bound, the sum of the losses), the run-by-run
      test only when they fail;
    * blocks and threads: a big batch without noise is cut into blocks of rows,
      each stepped through all the steps on its own (its rows are the runs they
      would be alone: every operation is elementwise per row), the blocks shared
      out between two threads (NumPy releases the GIL in its loops) that meet only
      at the end.

    Rows that diverged before stay frozen where they stopped.
    """
    if steps <= 0:
        return
    work: list[list[_Lane]] = []
    small: dict[int, list[_Lane]] = {}
    trajs = list(dict.fromkeys(trajectories))  # each once, however often it is listed
    for t in trajs:  # (a schedule that ends too soon: an error before any step)
        if t.dynamics.active:
            t.dynamics.check_steps(t.steps + steps)
    lanes_of: dict[int, list[_Lane]] = {}
    for t in trajs:
        t._grow(t.steps + steps + 1)
        n, apart = t.n, t.dynamics.active
        if n * t.dim <= SMALL_BATCH and not apart:
            cuts = [0, n]
        else:
            # noise, a schedule or clipping: one array (their values are the batch's)
            whole = t._rng is not None or apart
            size = n if whole else max(1, BLOCK_NUMBERS // t.dim)
            cuts = list(range(0, n, size)) + [n]
            if len(cuts) > 2 and cuts[-1] - cuts[-2] < size // 2:  # no small last block
                del cuts[-2]
        # chunks of more than one step keep their first state in a third set of arrays
        least = min(b - a for a, b in zip(cuts[:-1], cuts[1:], strict=True)) * t.dim
        bufs = t._buffers(3 if steps > 1 and _longest(least) > 1 else 2)
        lanes = [_Lane(t, slice(a, b), bufs) for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
        if n * t.dim <= SMALL_BATCH and not apart:
            small.setdefault(id(t.function), []).extend(lanes)
        else:
            work.extend([lane] for lane in lanes)
        lanes_of[id(t)] = lanes
    work.extend(small.values())
    work.sort(key=lambda g: -sum(lane.numbers for lane in g))
    numbers = sum(lane.numbers for g in work for lane in g)
    if _THREADS > 1 and len(work) > 1 and numbers >= THREAD_NUMBERS and _spare_cpu():
        _in_threads(work, steps)
    else:
        for group in work:
            _advance_group(group, steps)
    for t in trajs:
        _finish(t, lanes_of[id(t)])


def _in_threads(work: list[list[_Lane]], steps: int) -> None:
    """Advance the groups of ``work`` in two threads, each taking the next group
    left until none is (so a thread slowed by other processes takes fewer)."""
    import threading

    todo = iter(work)
    lock = threading.Lock()
    failed: list[BaseException] = []

    def worker() -> None:
        try:
            while not failed:
                with lock:
                    group = next(todo, None)
                if group is None:
                    return
                _advance_group(group, steps)
        except BaseException as exc:  # handed to the caller's thread
            failed.append(exc)

    other = threading.Thread(target=worker, name="optsim-step", daemon=True)
    other.start()
    worker()
    other.join()
    if failed:
        raise failed[0]


class _Lane:
    """Rows ``rows`` of one trajectory stepped as one array (the whole batch, or a
    block of a big one), and where their stepping stands."""

    __slots__ = ("t", "rows", "whole", "numbers", "opt", "k", "params", "state", "grads",
                 "bufs", "full", "ck", "fill", "frozen", "hist", "pos", "closure")

    def __init__(self, t: Trajectory, rows: slice, bufs: list[dict[str, np.ndarray]] | None
                 ) -> None:
        self.t = t
        self.rows = rows
        self.whole = whole = rows.start == 0 and rows.stop == t.n
        self.numbers = (rows.stop - rows.start) * t.dim
        self.k = t.steps
        self.ck = -1
        self.full = bufs
        self.pos = t._pos
        #: the loss, for an optimizer that evaluates it itself (else None)
        self.closure = t.closure
        #: with recorded states: the history arrays of the live state (steps write them)
        self.hist = [(f, t._hist[f]) for f in t._live] if t._hist else None
        if whole:
            self.opt = t.optimizer
            self.params, self.state, self.grads = t._params, t._state, t._grads
            self.frozen = t.diverged
            self.fill: tuple[str, ...] = ()
            #: without recorded states: three sets of arrays for the live state, the
            #: steps writing into two of them in turn while the third keeps the state the
            #: chunk started from (``ck``; -1: none of them, the trajectory's own)
            self.bufs = bufs
            return
        #: the optimizer of these rows (per-run hyperparameters cut to them)
        self.opt = t.optimizer.subset(rows)
        self.params, self.grads = t._params[rows], t._grads[rows]
        s = t._state
        self.state = type(s)(s[0], *[a[rows] for a in s[1:]])
        self.bufs = None if bufs is None else [{f: a[rows] for f, a in b.items()} for b in bufs]
        #: live state arrays of the trajectory that this block's optimizer leaves as
        #: they are (no momentum in any of its rows), copied on
        self.fill = tuple(f for f in t._live if f not in self.opt.live_fields())
        self.frozen = t.diverged[rows]

    def buffer(self, j: int) -> int:
        """The buffer the ``j``-th step after the checkpoint writes (-1: history)."""
        if self.bufs is None:
            return -1
        ck = self.ck
        return ((1, 2) if ck == 0 else (0, 2) if ck == 1 else (0, 1))[j & 1]

    def step(self, k: int, j: int, grads: np.ndarray, lr: Any = None,
             values: dict[str, Any] | None = None) -> dict[str, np.ndarray]:
        """Step ``k`` (the ``j``-th after the checkpoint) with ``grads``, into the
        history's row k (and, without recorded states, a set of buffers); returns
        the arrays the live state went to."""
        if self.whole:
            out_p = self.pos[k]
            if self.hist is not None:
                out = {f: h[k] for f, h in self.hist}
        else:
            rows = self.rows
            out_p = self.pos[k, rows]
            if self.hist is not None:
                out = {f: h[k, rows] for f, h in self.hist}
        if self.hist is None:
            ck = self.ck
            out = self.bufs[((1, 2) if ck == 0 else (0, 2) if ck == 1 else (0, 1))[j & 1]]
        old = self.state
        try:
            if lr is None and values is None and self.closure is None:
                self.params, self.state = self.opt.apply(self.params, grads, old, out_p, out)
            else:
                self.params, self.state = self.opt.apply(self.params, grads, old, out_p, out,
                                                         lr=lr, values=values,
                                                         closure=self.closure)
        except OptimizerFailed as e:  # (a plug-in's code raised: whose run it was)
            e.trajectory = self.t
            raise
        if self.fill:
            for f in self.fill:
                np.copyto(out[f], getattr(old, f))
            self.state = self.state._replace(**{f: out[f] for f in self.fill})
        return out


def _advance_group(group: list[_Lane], steps: int) -> None:
    """Take ``steps`` steps for the lanes of ``group`` (one function; one gradient
    evaluation per step for all), a chunk at a time."""
    t0 = group[0].t
    fn, dim = t0.function, t0.dim
    longest = _longest(sum(lane.numbers for lane in group))
    left = steps
    with np.errstate(all="ignore"):
        if longest == 1 and len(group) == 1:
            # a big batch or block: step by step, each step's loss evaluated and its
            # positions checked while they are in cache (a chunk would take one step
            # anyway, and put back what a failed check needs from a copy)
            _checked(group[0], steps, fn, dim)
            return
        while left > 0:
            m = min(left, longest)
            chunked, checked = [], []
            for lane in group:
                # step by step: a schedule's values and clipping, recorded per step
                # (ReduceLROnPlateau follows the last loss); with noise and a frozen
                # run, whose gradient takes fresh noise at every step (drawn for all)
                t = lane.t
                one = t.dynamics.active or (t._rng is not None and lane.frozen.any()) \
                    or not t.keep_losses
                (checked if one else chunked).append(lane)
            if chunked:
                for lane, ok in zip(chunked, _chunk(chunked, m, fn, dim), strict=True):
                    if not ok:
                        _checked(lane, m, fn, dim)
            for lane in checked:
                _checked(lane, m, fn, dim)
            left -= m


def _longest(numbers: int) -> int:
    """The most steps in a chunk of ``numbers`` coordinates (rows x D) in all."""
    return max(1, min(CHUNK, CHUNK_NUMBERS // numbers))


def _chunk(lanes: list[_Lane], m: int, fn: LossFunction, dim: int) -> list[bool]:
    """Take ``m`` steps for each lane unchecked, then evaluate their losses and check
    them once. Per lane: True when no run of it newly diverged; otherwise it is put
    back where it was (noise generator included) for the caller to step again with
    checks (the history rows written meanwhile are then overwritten)."""
    saved = [(lane.params, lane.state, lane.grads, lane.ck,
              lane.t._rng.bit_generator.state if lane.t._rng is not None else None)
             for lane in lanes]
    alone = len(lanes) == 1
    if not alone:
        ends = np.cumsum([lane.numbers // dim for lane in lanes]).tolist()
        parts = [slice(a, b) for a, b in zip([0] + ends[:-1], ends, strict=True)]
    for j in range(m):
        if alone:
            lane = lanes[0]
            lane.step(lane.k + 1 + j, j, lane.grads)
            g = np.asarray(fn.gradient(lane.params), dtype=np.float64).reshape(-1, dim)
            if lane.t._rng is None:
                lane.grads = g
            else:
                _take_gradient(lane, lane.k + 1 + j, g)
            continue
        moved = []
        for lane in lanes:
            lane.step(lane.k + 1 + j, j, lane.grads)
            moved.append(lane.params)
        g = np.asarray(fn.gradient(np.concatenate(moved)), dtype=np.float64).reshape(-1, dim)
        for lane, r in zip(lanes, parts, strict=True):
            if lane.t._rng is None:
                lane.grads = g[r]
            else:
                _take_gradient(lane, lane.k + 1 + j, g[r])
    done = []
    for lane, (params, state, grads, ck, rng_state) in zip(lanes, saved, strict=True):
        t, rows, k0 = lane.t, lane.rows, lane.k
        span = slice(k0 + 1, k0 + m + 1)
        block = t._pos[span, rows]
        nr = rows.stop - rows.start
        loss = np.asarray(fn.value(block.reshape(-1, dim)), dtype=np.float64).reshape(m, nr)
        t._loss[span, rows] = loss
        if lane.frozen.any():  # (no noise) put the frozen runs back where they stopped
            _refreeze(lane, span, state, grads)
            loss = t._loss[span, rows]
        # the bound of every coordinate holds the positions within the tightest one
        # (NaN fails every comparison), and a finite sum needs finite losses
        inside = (t._lo_all <= block.min() and block.max() <= t._hi_all
                  and math.isfinite(loss.sum()))
        if not inside:
            inside = not (t._outside(block, loss) & ~lane.frozen).any()
        if inside:
            lane.k = k0 + m
            lane.ck = lane.buffer(m - 1)
        else:
            lane.params, lane.state, lane.grads, lane.ck = params, state, grads, ck
            if rng_state is not None:
                t._rng.bit_generator.state = rng_state  # the same noise for the checked steps
        done.append(inside)
    return done


def _take_gradient(lane: _Lane, k: int, g: np.ndarray) -> None:
    """The gradient at the lane's new position k (with noise: noisy, and recorded)."""
    t = lane.t
    if t._rng is not None:
        g = t._noisy(g, lane.params)
        t._used[k, lane.rows] = g
    lane.grads = g


def _refreeze(lane: _Lane, span: slice, state: Any, grads: np.ndarray) -> None:
    """Undo a chunk's steps for the runs of ``lane`` that diverged before it: their
    positions, losses, states (and recorded states) stay as they were before the
    chunk, and so does their gradient (it is taken at the same point, no noise)."""
    t = lane.t
    idx = np.flatnonzero(lane.frozen)
    rows = idx + lane.rows.start
    before = span.start - 1
    t._pos[span, rows] = t._pos[before, rows]
    t._loss[span, rows] = t._loss[before, rows]
    for f in t._live:
        getattr(lane.state, f)[idx] = getattr(state, f)[idx]
        if t._hist:
            t._hist[f][span, rows] = t._hist[f][before, rows]
    g = lane.grads.copy()
    g[idx] = grads[idx]
    lane.grads = g


def _checked(lane: _Lane, m: int, fn: LossFunction, dim: int) -> None:
    """Take ``m`` steps for ``lane``, checking every run for divergence after each:
    a run that diverges is frozen where it was (position, loss and state) and flagged
    with the step. (A trajectory that keeps no losses holds the last two.)"""
    t, rows = lane.t, lane.rows
    n = rows.stop - rows.start
    # a few runs: the divergence check on Python floats (numpy's per-call overhead
    # dominates a step at N = 1); many: vectorised
    small = n * dim <= SMALL_BATCH
    lows, highs = t._lo.tolist() * n, t._hi.tolist() * n
    lo_all, hi_all, lmask = t._lo_all, t._hi_all, t._lmask
    # many runs: the loss and the gradient at once where the function shares their
    # terms (Rosenbrock: 1 - x and y - x²), bit for bit the separate ones
    fused = None if small else fn.value_and_gradient
    noisy = t._rng is not None
    isfinite, le = math.isfinite, operator.le
    frozen = lane.frozen
    any_frozen = bool(frozen.any())
    dyn = t.dynamics if t.dynamics.active else None
    for _ in range(m):
        k = lane.k + 1
        params, state = lane.params, lane.state
        if dyn is None:
            out = lane.step(k, 0, lane.grads)
        else:  # (a whole batch: the values are its)
            lr, values = dyn.values_for(k, t._loss)
            out = lane.step(k, 0, dyn.clipped(k, lane.grads), lr, values)
        new = lane.params
        g_fused = None
        if fused is not None:
            loss, g_fused = fused(new)
        else:
            loss = np.asarray(fn.value(new), dtype=np.float64).reshape(n)
        if small:
            # a sum is finite only if every loss is (a finite sum that overflows is
            # sorted out by _outside); NaN fails both <=
            flat = new.ravel().tolist()
            ok = isfinite(sum(loss.tolist())) and all(map(le, lows, flat)) \
                and all(map(le, flat, highs))
            bad = None if ok else t._outside(new, loss)
        elif lo_all <= new.min() and new.max() <= hi_all and isfinite(loss.sum()):
            bad = None  # (three reductions; as in _chunk: NaN fails every comparison)
        else:
            bad = t._outside(new, loss)
            if not bad.any():
                bad = None
        if bad is not None or any_frozen:
            if bad is not None:
                fresh = bad & ~frozen
                t.diverged_step[rows][fresh] = k
                frozen |= bad
                any_frozen = True
            keep = frozen[:, None]
            if g_fused is not None:  # a frozen run's gradient: at its old place, the
                if noisy:  # one it had (with noise: taken again, apart from now on)
                    g_fused = fused = None
                else:
                    np.copyto(g_fused, lane.grads, where=keep)
            np.copyto(new, params, where=keep)
            loss = np.where(frozen, t._loss[(k - 1) & lmask, rows], loss)
            for f in t._live:
                np.copyto(out[f], getattr(state, f), where=keep)
        t._loss[k & lmask, rows] = loss
        g = g_fused if g_fused is not None else \
            np.asarray(fn.gradient(new), dtype=np.float64).reshape(n, dim)
        _take_gradient(lane, k, g)
        lane.k = k
        lane.ck = lane.buffer(0)


def _finish(t: Trajectory, lanes: list[_Lane]) -> None:
    """The trajectory's steps, position, state and gradient, from its lanes'."""
    t.steps = lanes[0].k
    t._params = t._pos[t.steps]
    if len(lanes) == 1:
        t._state, t._grads = lanes[0].state, lanes[0].grads
        return
    s, ck = t._state, lanes[0].ck
    if lanes[0].full is not None and all(lane.ck == ck for lane in lanes):
        live = lanes[0].full[ck]  # every block ended in the same set: the whole batch's
    elif lanes[0].full is None:
        live = {f: t._hist[f][t.steps] for f in t._live}
    else:
        live = {f: np.concatenate([getattr(lane.state, f) for lane in lanes]) for f in t._live}
    t._state = s._replace(step=lanes[0].state.step, **live)
    t._grads = np.concatenate([lane.grads for lane in lanes])


def advance_runs(trajectories: Sequence[Trajectory], target: int, *,
                 stop_diverged: bool = False, chunk: int = 256) -> None:
    """Bring every trajectory to ``target`` steps (those already there or beyond are
    left alone): the runner of run sets, for the command line, scenarios and the window.

    Trajectories that lack the same number of steps are stepped side by side
    (:func:`advance_together`). With ``stop_diverged`` (the window), a trajectory
    whose rows have all diverged computes nothing more, and the steps are taken in
    chunks of ``chunk`` so that one that diverges stops soon after, and one whose
    learning-rate schedule ends (OneCycleLR's total_steps) stops there; otherwise a
    diverged row stays frozen where it stopped for the remaining steps, and asking
    for steps past a schedule's end is an error.
    """
    lacking: dict[int, list[Trajectory]] = {}
    for t in dict.fromkeys(trajectories):
        goal = target
        end = t.schedule.max_steps if t.schedule is not None else None
        if stop_diverged and end is not None:  # the window: a schedule's end stops it
            goal = min(target, end)
        if t.steps < goal and not (stop_diverged and t.diverged.all()):
            lacking.setdefault(goal - t.steps, []).append(t)
    for need, group in lacking.items():
        if not stop_diverged:
            advance_together(group, need)
            continue
        for done in range(0, need, chunk):
            _advance_or_fail([t for t in group if not t.diverged.all()], min(chunk, need - done))


def _advance_or_fail(group: list[Trajectory], steps: int) -> None:
    """``advance_together``; a trajectory whose optimizer raises (a plug-in) is stopped
    at that step (``Trajectory.fail``) and the others are advanced without it."""
    while group:
        try:
            advance_together(group, steps)
            return
        except OptimizerFailed as e:
            failed = e.trajectory
            if failed not in group:
                raise
            group = [t for t in group if t is not failed]
            good = (e.step or 0) - 1 - failed.steps  # the steps before it went well
            if good > 0:
                try:
                    advance_together([failed], good)
                except OptimizerFailed:
                    pass
            failed.fail(e)


class SimulationResult(NamedTuple):
    positions: np.ndarray
    losses: np.ndarray
    diverged: np.ndarray
    diverged_step: np.ndarray


def run(function: str | LossFunction, optimizer: str | Optimizer, start: Any,
        steps: int, *, noise: Any = 0.0, seed: int = 0, schedule: str | Schedule | None = None,
        clip: Any = None, ensemble: int = 1) -> SimulationResult:
    """Like :func:`simulate`, also returning losses and divergence flags.

    Shapes follow ``start``: a (D,) start gives positions (steps+1, D), losses
    (steps+1,) and scalar flags; an (N, D) start gives (steps+1, N, D), (steps+1, N), (N,).

    The history's size is checked against the memory available before anything is
    allocated (ValueError saying both). Many runs are stepped in blocks (without
    noise: the numbers are the same, every run being independent), so the memory
    used on the way stays within about twice the result's.

    With ``ensemble`` = K > 1 every start becomes K rows (members), start i's member j
    at row i·K + j: one (D,) start gives (steps+1, K, D).
    """
    return _run(function, optimizer, start, steps, noise=noise, seed=seed, schedule=schedule,
                clip=clip, ensemble=ensemble, keep_losses=True)


def _run(function: str | LossFunction, optimizer: str | Optimizer, start: Any,
         steps: int, *, noise: Any, seed: int, schedule: str | Schedule | None,
         clip: Any, ensemble: int, keep_losses: bool) -> SimulationResult:
    """:func:`run`; without ``keep_losses`` (:func:`simulate`) the result's losses are
    None: every step's loss is still evaluated (a non-finite one is divergence), but
    only the last two are kept."""
    steps = check_steps(steps)
    ensemble = _ensemble(ensemble)
    fn = as_function(function)
    if isinstance(optimizer, str):
        optimizer, from_spec = split_spec(optimizer)
        if from_spec is not None:
            if schedule is not None:
                raise ValueError("a schedule is given twice: in the spec after '+' "
                                 "and as schedule=")
            schedule = from_spec
    opt = as_optimizer(optimizer)
    start_arr = as_starts(start)
    single = start_arr.ndim <= 1 and ensemble == 1
    if start_arr.ndim == 0:
        start_arr = start_arr.reshape(1)
    if start_arr.ndim == 1:
        start_arr = start_arr[None, :]
    if ensemble > 1:
        start_arr = np.repeat(start_arr, ensemble, axis=0)
    if start_arr.ndim != 2 or start_arr.shape[1] != fn.dim:
        raise ValueError(f"start must have {fn.dim} coordinate(s) per run for {fn.name}, "
                         f"got shape {np.shape(start)}")
    n, dim = start_arr.shape
    need = history_bytes(n, dim, steps)
    check_memory(need, f"{n:,} run{'s' if n != 1 else ''} of "
                 f"{steps:,} step{'s' if steps != 1 else ''}")
    # the optimizer's and the function's working arrays: a few dozen numbers per
    # coordinate. When they would outgrow half the history (a few steps of many
    # runs), the runs go in blocks of a bounded size, history and work together
    work = WORK_NUMBERS * dim * 8
    block = n
    if parse_noise(noise) is None and n * work > max(BLOCK_BYTES, need // 2):
        block = max(1, max(BLOCK_BYTES, need // 8) // (history_bytes(1, dim, steps) + work))
    if block >= n:
        traj = Trajectory(fn, opt, start_arr, record_state=False, capacity=steps + 1,
                          noise=noise, seed=seed, schedule=schedule, clip=clip,
                          keep_losses=keep_losses)
        traj.advance(steps)
        # the history holds exactly these steps: returned as it is, not copied
        pos = traj.positions
        loss = traj.losses if traj.keep_losses else None
        div, div_step = traj.diverged, traj.diverged_step
    else:
        pos = history_empty((steps + 1, n, dim))
        loss = history_empty((steps + 1, n)) if keep_losses else None
        div, div_step = np.empty(n, dtype=bool), np.empty(n, dtype=np.int64)
        for a in range(0, n, block):
            b = min(n, a + block)
            traj = Trajectory(fn, opt, start_arr[a:b], record_state=False, capacity=steps + 1,
                              seed=seed, schedule=schedule, clip=clip,
                              keep_losses=keep_losses)
            traj.advance(steps)
            pos[:, a:b] = traj.positions
            if loss is not None:
                loss[:, a:b] = traj.losses
            div[a:b], div_step[a:b] = traj.diverged, traj.diverged_step
            del traj
    if single:
        return SimulationResult(pos[:, 0], None if loss is None else loss[:, 0], div[0],
                                div_step[0])
    return SimulationResult(pos, loss, div, div_step)


#: the largest ensemble (members of one run)
MAX_ENSEMBLE = 100_000


def _ensemble(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= MAX_ENSEMBLE:
        raise ValueError(f"ensemble must be a whole number in [1, {MAX_ENSEMBLE}], got {k!r}")
    return int(k)


def simulate(function: str | LossFunction, optimizer: str | Optimizer, start: Any,
             steps: int, *, noise: Any = 0.0, seed: int = 0,
             schedule: str | Schedule | None = None, clip: Any = None,
             ensemble: int = 1) -> np.ndarray:
    """Positions of an optimizer's run(s) on a function, float64.

    ``function``: a built-in name, a formula string or a LossFunction. ``optimizer``:
    a spec string such as ``"adam:lr=0.01,beta1=0.8"`` or an Optimizer, optionally
    followed by a schedule: ``"sgd:lr=0.1+onecyclelr:max_lr=0.5,total_steps=300"``.
    ``start``: shape (D,) for one run, giving (steps+1, D); or (N, D) for N runs,
    giving (steps+1, N, D). Row 0 is the start. A run that diverges stops where it was.
    ``noise``/``seed``: gradient noise, a Gaussian σ or a noise spec such as
    ``"student:nu=3,sigma=0.5"`` (see :class:`Trajectory`); ``clip``: ``"norm=1.0"`` or
    ``"value=0.5"``; ``ensemble``: K noisy members per start (see :func:`run`).
    """
    return _run(function, optimizer, start, steps, noise=noise, seed=seed, schedule=schedule,
                clip=clip, ensemble=ensemble, keep_losses=False).positions
