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
from .engine import Info, Optimizer, as_optimizer
from .functions import LossFunction, as_function
from .gradients import parse_noise
from .schedules import Schedule, split_spec

#: a run that leaves the view window enlarged this many times around its centre diverged
BOUND_SCALE = 1000.0
#: the most steps of a run, and the largest |coordinate| of a start or view bound:
#: the limits of run sets (files, the command line, the window) and sweeps alike
MAX_STEPS = 1_000_000
MAX_COORD = 1e12
#: batches of at most this many coordinates (N x D) check for divergence once per
#: chunk of at most UNCHECKED_CHUNK steps (redone step by step when a run diverged)
SMALL_BATCH = 8
UNCHECKED_CHUNK = 64


#: without noise, ``run`` steps a huge batch in blocks of runs that take at most
#: this many bytes (or an eighth of the whole history's, if more) on the way
BLOCK_BYTES = 64 * 2**20
#: numbers per coordinate a block's run uses besides its history (state, gradient,
#: the function's temporaries), as measured on Adam and Rosenbrock
WORK_NUMBERS = 40


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
                 schedule: str | Schedule | None = None, clip: Any = None) -> None:
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
        #: the Gaussian σ of the noise (0: none, or another noise model)
        self.noise = self.noise_model.sigma if self.noise_model is not None else 0.0
        self._rng = self.dynamics.rng
        (x0, x1), (y0, y1) = self.function.view
        spans = [x1 - x0, y1 - y0][: self.dim]
        centres = [(x0 + x1) / 2, (y0 + y1) / 2][: self.dim]
        half = np.maximum(np.abs(np.array(spans)), 1.0) / 2 * bound_scale
        self._lo = np.array(centres) - half
        self._hi = np.array(centres) + half
        self.record_state = record_state
        self._params = starts
        self._state = self.optimizer.init(starts)
        self._state_fields = [f for f, v in self._state._asdict().items() if isinstance(v, np.ndarray)]
        self._grads = self._noisy(self._gradient(starts), starts)
        self._cap = max(2, capacity)
        #: with noise: the gradient used at each position (the step from it)
        self._used = np.empty((self._cap, self.n, self.dim)) if self._rng is not None else None
        if self._used is not None:
            self._used[0] = self._grads
        self._pos = np.empty((self._cap, self.n, self.dim))
        self._loss = np.empty((self._cap, self.n))
        #: the state arrays each step writes; the others keep their first values
        self._live = tuple(f for f in self.optimizer.live_fields() if f in self._state_fields)
        self._hist = {f: self._history_array(f, self._cap) for f in self._state_fields} \
            if record_state else {}
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
        for name in ("_pos", "_loss") + (("_used",) if self._used is not None else ()):
            old = getattr(self, name)
            new = np.empty((cap,) + old.shape[1:])
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
        if field in self._live:
            return np.empty((cap, self.n, self.dim))
        return np.broadcast_to(getattr(self._state, field), (cap, self.n, self.dim))

    def _record(self, k: int, params: np.ndarray, loss: np.ndarray, state: Any) -> None:
        self._pos[k] = params
        self._loss[k] = loss
        for f in self._live if self._hist else ():
            self._hist[f][k] = getattr(state, f)

    # -- stepping ------------------------------------------------------------
    def advance(self, steps: int = 1) -> None:
        """Take ``steps`` more steps for every run."""
        advance_together([self], steps)

    def _advance_checked(self, steps: int) -> None:
        """Take ``steps`` steps, checking every run for divergence after each."""
        opt, params, state, grads = self.optimizer, self._params, self._state, self._grads
        fn, n, dim = self.function, self.n, self.dim
        losses, used = self._loss, self._used
        # a few runs: the divergence check on Python floats (numpy's per-call
        # overhead dominates a step at N = 1); many: vectorised
        small = n * dim <= SMALL_BATCH
        # the bound per coordinate of the flattened (N, D) positions
        lows, highs = self._lo.tolist() * n, self._hi.tolist() * n
        isfinite, le = math.isfinite, operator.le
        any_frozen = bool(self.diverged.any())
        dyn = self.dynamics if self.dynamics.active else None
        if dyn is not None:
            dyn.check_steps(self.steps + steps)
        with np.errstate(all="ignore"):
            for _ in range(steps):
                if dyn is None:
                    new, new_state = opt.step(params, grads, state)
                else:
                    k = self.steps + 1
                    lr, values = dyn.values_for(k, losses)
                    new, new_state = opt.step(params, dyn.clipped(k, grads), state, lr=lr,
                                              values=values)
                # as _value, already inside errstate
                loss = np.asarray(fn.value(new), dtype=np.float64).reshape(n)
                k = self.steps + 1
                if small:
                    # a sum is finite only if every loss is (a finite sum that
                    # overflows is sorted out by _outside); NaN fails both <=
                    flat = new.ravel().tolist()
                    ok = isfinite(sum(loss.tolist())) and all(map(le, lows, flat)) \
                        and all(map(le, flat, highs))
                    bad = None if ok else self._outside(new, loss)
                else:
                    bad = self._outside(new, loss)
                    if not bad.any():
                        bad = None
                if bad is not None or any_frozen:
                    if bad is None:
                        bad = np.zeros(n, dtype=bool)
                    fresh = bad & ~self.diverged
                    self.diverged_step[fresh] = k
                    self.diverged |= bad
                    any_frozen = True
                    frozen = self.diverged
                    new = np.where(frozen[:, None], params, new)
                    loss = np.where(frozen, losses[k - 1], loss)
                    new_state = new_state._replace(**{
                        f: np.where(frozen[:, None], getattr(state, f), getattr(new_state, f))
                        for f in self._state_fields
                    })
                params, state = new, new_state
                grads = np.asarray(fn.gradient(params), dtype=np.float64).reshape(n, dim)
                if self._rng is not None:
                    grads = self._noisy(grads, params)
                    used[k] = grads
                self.steps = k
                self._record(k, params, loss, state)
        self._params, self._state, self._grads = params, state, grads

    def _outside(self, new: np.ndarray, loss: np.ndarray) -> np.ndarray:
        """Runs whose new position or loss is non-finite or beyond the bound.

        Column by column: comparisons with NaN are false, so the bound test also
        catches NaN and inf positions, with no (N, D) temporaries.
        """
        ok = np.isfinite(loss)
        for d in range(self.dim):
            column = new[:, d]
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
                                                           values=dyn.values_at(k))
            else:
                _, _, info = self.optimizer.step_with_info(p, given, self.state_at(k - 1))
        info["update"] = self._pos[k] - self._pos[k - 1]
        info["raw_grad"] = self._gradient(p)
        if self.clip is not None:
            info["unclipped_grad"] = used
            info["clipped"] = dyn.clipped_at(k).astype(np.float64)[:, None] * np.ones((1, self.dim))
        if self.schedule is not None:
            info["lr_t"] = np.broadcast_to(dyn.lr_at(k)[:, None], p.shape).copy()
        return info

    def memory_bytes(self) -> int:
        """Bytes held by the history arrays."""
        return (self._pos.nbytes + self._loss.nbytes
                + sum(self._hist[f].nbytes for f in self._live if f in self._hist)
                + (self._used.nbytes if self._used is not None else 0)
                + self.dynamics.memory_bytes())


def advance_together(trajectories: Sequence[Trajectory], steps: int) -> None:
    """Advance every trajectory ``steps`` steps, exactly as ``t.advance(steps)``
    each would; those of a few runs on the same function are stepped side by side,
    with one gradient evaluation per step for all of them.

    The window steps each run alone (N = 1), and numpy's per-call overhead then
    makes a step's gradient evaluation, loss and divergence check a large part of
    its cost: evaluated over the stacked runs (and the losses and checks once per
    chunk of steps), they cost a fraction. The results are the same numbers (every
    function is evaluated row by row). A chunk in which a run diverges is thrown
    away for that run, which steps it again alone with a check after every step.
    """
    if steps <= 0:
        return
    groups: dict[int, list[Trajectory]] = {}
    for t in dict.fromkeys(trajectories):  # each once, however often it is listed
        t._grow(t.steps + steps + 1)
        if t.n * t.dim > SMALL_BATCH or t.diverged.any() or t.dynamics.active:
            t._advance_checked(steps)
        else:
            groups.setdefault(id(t.function), []).append(t)
    for group in groups.values():
        left = steps
        while left > 0 and group:
            chunk = min(left, UNCHECKED_CHUNK)
            for t, ok in zip(group, _advance_unchecked(group, chunk), strict=True):
                if not ok:
                    t._advance_checked(chunk)
            left -= chunk
            for t in group:  # diverged: frozen, checked step by step from here on
                if t.diverged.any() and left > 0:
                    t._advance_checked(left)
            group = [t for t in group if not t.diverged.any()]


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
            advance_together([t for t in group if not t.diverged.all()], min(chunk, need - done))


def _advance_unchecked(group: list[Trajectory], steps: int) -> list[bool]:
    """Take ``steps`` steps for each trajectory of ``group`` (a few runs each, one
    function, none diverged), then evaluate each one's losses and check it for
    divergence once for all its steps. Per trajectory: True when none of its runs
    diverged; otherwise nothing of this call is kept for it (it is as before,
    noise generator included) and the caller steps it again with checks."""
    fn, dim = group[0].function, group[0].dim
    current = [[t._params, t._state, t._grads] for t in group]
    firsts = [t.steps + 1 for t in group]
    rng_states = [t._rng.bit_generator.state if t._rng is not None else None for t in group]
    ends = np.cumsum([t.n for t in group]).tolist()
    rows = [slice(a, b) for a, b in zip([0] + ends[:-1], ends, strict=True)]
    alone = len(group) == 1
    with np.errstate(all="ignore"):
        for j in range(steps):
            moved = []
            for t, cur, first in zip(group, current, firsts, strict=True):
                k = first + j
                hist = t._hist
                # the step writes straight into the history's rows; arrays the
                # optimizer never changes (not live) were filled in with the history
                out = ({f: hist[f][k] for f in t._live} if hist
                       else {f: np.empty_like(cur[0]) for f in t._live})
                cur[0], cur[1] = t.optimizer._step_into(cur[0], cur[2], cur[1], t._pos[k], out)
                moved.append(cur[0])
            g = np.asarray(fn.gradient(moved[0] if alone else np.concatenate(moved)),
                           dtype=np.float64).reshape(-1, dim)
            for t, cur, first, r in zip(group, current, firsts, rows, strict=True):
                cur[2] = g if alone else g[r]
                if t._rng is not None:
                    cur[2] = t._noisy(cur[2], cur[0])
                    t._used[first + j] = cur[2]
        done = []
        for t, cur, first, rng_state in zip(group, current, firsts, rng_states, strict=True):
            block = t._pos[first: first + steps]
            loss = np.asarray(fn.value(block.reshape(-1, dim)), dtype=np.float64).reshape(steps, t.n)
            # NaN fails every comparison
            inside = bool(np.isfinite(loss).all() and (block >= t._lo).all()
                          and (block <= t._hi).all())
            if inside:
                t._loss[first: first + steps] = loss
                t.steps = first + steps - 1
                t._params, t._state, t._grads = cur
            elif t._rng is not None:
                t._rng.bit_generator.state = rng_state  # the same noise for the checked steps
            done.append(inside)
    return done


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
                          noise=noise, seed=seed, schedule=schedule, clip=clip)
        traj.advance(steps)
        # the history holds exactly these steps: returned as it is, not copied
        pos, loss = traj.positions, traj.losses
        div, div_step = traj.diverged, traj.diverged_step
    else:
        pos, loss = np.empty((steps + 1, n, dim)), np.empty((steps + 1, n))
        div, div_step = np.empty(n, dtype=bool), np.empty(n, dtype=np.int64)
        for a in range(0, n, block):
            b = min(n, a + block)
            traj = Trajectory(fn, opt, start_arr[a:b], record_state=False, capacity=steps + 1,
                              seed=seed, schedule=schedule, clip=clip)
            traj.advance(steps)
            pos[:, a:b], loss[:, a:b] = traj.positions, traj.losses
            div[a:b], div_step[a:b] = traj.diverged, traj.diverged_step
            del traj
    if single:
        return SimulationResult(pos[:, 0], loss[:, 0], div[0], div_step[0])
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
    return run(function, optimizer, start, steps, noise=noise, seed=seed, schedule=schedule,
               clip=clip, ensemble=ensemble).positions
