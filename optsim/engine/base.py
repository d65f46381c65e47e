"""The optimizer protocol: declared hyperparameters, an explicit state, a pure step.

An optimizer steps parameters of shape (N, D): N independent runs at once, each a
point in D dimensions, in one vectorised NumPy step with no loop over runs.

Speed: the step writes its results straight into freshly allocated output arrays
(``out=`` ufuncs, few temporaries), and a large batch (N >= ``PARALLEL_MIN_ROWS``)
is split into two halves stepped in two threads at once (NumPy releases the GIL in
its loops). Both are invisible to the caller: inputs are never modified, and the
result does not depend on the split (every operation is elementwise per row).
"""

from __future__ import annotations

import ctypes
import os
import sys
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import numpy as np

from .hyperparams import HyperParam, Value

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

Info = dict[str, np.ndarray]
Out = dict[str, np.ndarray]

#: batches with at least this many runs are stepped in two threads, each taking
#: half. Measured here (Adam, one thread -> two): 32,768 runs 351 -> 360 µs (a
#: wash: the GIL hand-offs between a step's ~13 ufunc calls eat the second core),
#: 65,536 runs 907 -> 597 µs, 262,144 runs 6.9 -> 3.4 ms.
PARALLEL_MIN_ROWS = 65536
#: rows per block within a thread's half. Each block costs a full pass of Python
#: overhead (about 20 µs), so blocks must be big; 32,768 rows (256 KiB per array)
#: keeps a block's temporaries in the cache for batches of 262,144 runs and up
#: (1M runs: 21.6 ms unblocked, 12.2 ms in blocks of 32,768, 13.2 ms of 65,536,
#: 16.5 ms of 131,072; blocks of 8,192 made 65,536 runs twice as slow).
BLOCK_ROWS = 32768
_F64 = np.dtype(np.float64)

_executor: ThreadPoolExecutor | None = None


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


_THREADS = min(2, _cpus())


def _keep_freed_memory_mapped() -> None:
    """Serve large NumPy temporaries from the heap instead of fresh mmaps.

    glibc maps every allocation above 128 KiB afresh and unmaps it on free, so each
    step of a big batch page-faults its outputs and temporaries in again: measured
    here, four 1 MiB outputs of a 65,536-run lerp took 5.1 ms with fresh maps and
    0.49 ms from the heap. Raising the mmap and trim thresholds keeps freed blocks
    for reuse (history arrays above 64 MiB are still mapped). Linux/glibc only;
    set OPTSIM_NO_MALLOPT=1 to leave the allocator alone.
    """
    if os.environ.get("OPTSIM_NO_MALLOPT") or not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 64 * 2**20)   # M_MMAP_THRESHOLD
        libc.mallopt(-1, 256 * 2**20)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):  # not glibc
        pass


_keep_freed_memory_mapped()


def _pool() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:  # (imported here: ~10 ms, needed only for big batches)
        from concurrent.futures import ThreadPoolExecutor

        _executor = ThreadPoolExecutor(max_workers=_THREADS - 1, thread_name_prefix="optsim-step")
    return _executor


class Optimizer:
    """Base class. Subclasses declare ``hyperparams`` and ``State`` and implement
    ``init``, ``live_fields`` and ``_update``.

    ``_update(params, grads, state, step, out_params, out, info)`` computes step
    number ``step`` (counted from 1) and writes the new parameters into
    ``out_params`` and each new state array named by ``live_fields()`` into
    ``out[name]`` (all preallocated, shape (N, D), float64). State arrays that are
    not live are carried over unchanged. When ``info`` is a dict it also fills it
    with the step's intermediate quantities. It never modifies its inputs.
    """

    #: the algorithm's name (the registry may expose variants under other names)
    algorithm: ClassVar[str]
    #: the declared hyperparameters, in display order
    hyperparams: ClassVar[tuple[HyperParam, ...]]
    #: the state's NamedTuple type; its fields use torch.optim's names
    State: ClassVar[type]

    def __init__(self, name: str | None = None, defaults: dict[str, Value] | None = None,
                 tied: dict[str, str] | None = None, **values: Any) -> None:
        self.name = name or self.algorithm
        #: hyperparameters that always equal another one (``dampening`` follows
        #: ``momentum`` in the course's moving average); not declared, not edited
        self.tied: dict[str, str] = dict(tied or {})
        every = tuple(
            p.with_default(defaults[p.name]) if defaults and p.name in defaults else p
            for p in self.hyperparams
        )
        self.declared = tuple(p for p in every if p.name not in self.tied)
        for name_, source in self.tied.items():
            source_value = values.get(source, next(p.default for p in every if p.name == source))
            if name_ in values and values[name_] != source_value:
                raise ValueError(
                    f"{self.name}: {name_} always equals {source} here; "
                    f"use {self.algorithm} to set it separately"
                )
            values.pop(name_, None)
        known = {p.name: p for p in self.declared}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ValueError(
                f"{self.name}: unknown hyperparameter {unknown[0]!r}; "
                f"known: {', '.join(known)}"
            )
        given = {p.name: p.validate(values.get(p.name, p.default), self.name) for p in self.declared}
        self.hp: dict[str, Value] = {
            p.name: p.validate(given[self.tied[p.name]], self.name) if p.name in self.tied
            else given[p.name]
            for p in every
        }
        self.check()
        self._arrays: tuple[str, ...] = tuple(self.State._fields[1:])
        live = set(self.live_fields())
        self._live: tuple[str, ...] = tuple(f for f in self._arrays if f in live)

    # -- declared interface -------------------------------------------------
    def check(self) -> None:
        """Cross-checks between hyperparameters (as torch.optim makes them)."""

    def initial_values(self) -> dict[str, float]:
        """Starting values of the state arrays that do not start at zero."""
        return {}

    def init(self, params: np.ndarray) -> NamedTuple:
        """The state before the first step, for parameters of shape (N, D): step 0 and
        every array at its initial value (zero unless ``initial_values`` says otherwise)."""
        shape = np.shape(params)
        start = self.initial_values()
        return self.State(0, *(np.full(shape, start.get(f, 0.0), dtype=np.float64)
                               for f in self.State._fields[1:]))

    def live_fields(self) -> tuple[str, ...]:
        """The state arrays this configuration updates (default: all of them)."""
        return tuple(self.State._fields[1:])

    def _update(self, params: np.ndarray, grads: np.ndarray, state: Any, step: int,
                out_params: np.ndarray, out: Out, info: Info | None) -> None:
        raise NotImplementedError

    # -- public API ---------------------------------------------------------
    def step(self, params: np.ndarray, grads: np.ndarray, state: Any,
             out: tuple[np.ndarray, Out] | None = None) -> tuple[np.ndarray, Any]:
        """One step: (params, grads, state) -> (new params, new state). Pure: the
        inputs are never modified.

        ``out`` (optional), as a ufunc's ``out=``: ``(new_params, {field: array})``,
        preallocated (N, D) float64 arrays, overlapping no input, for the new
        parameters and every array of ``live_fields()``; the step writes into them
        and returns them (a Trajectory passes rows of its history, saving an
        allocation and a copy per array per step)."""
        return self._step(params, grads, state, None, out)

    def step_with_info(self, params: np.ndarray, grads: np.ndarray,
                       state: Any) -> tuple[np.ndarray, Any, Info]:
        """One step, plus its intermediate quantities by name.

        Every optimizer reports ``grad`` (the gradient as used, after L2 weight
        decay), ``update`` (the step actually applied: new − old params),
        ``effective_lr`` and ``direction``, with
        ``update == -effective_lr * direction`` up to rounding: ``effective_lr`` is
        the per-coordinate factor that multiplies ``direction`` (see each class's
        docstring for what both are), plus every intermediate of the rule.
        """
        info: Info = {}
        new_params, new_state = self._step(params, grads, state, info)
        info["update"] = new_params - np.asarray(params, dtype=np.float64)
        return new_params, new_state, info

    def _step(self, params: Any, grads: Any, state: Any, info: Info | None,
              given: tuple[np.ndarray, Out] | None = None) -> tuple[np.ndarray, Any]:
        if type(params) is not np.ndarray or params.dtype != _F64:
            params = np.asarray(params, dtype=np.float64)
        if type(grads) is not np.ndarray or grads.dtype != _F64:
            grads = np.asarray(grads, dtype=np.float64)
        if params.ndim != 2 or grads.shape != params.shape:
            raise ValueError(
                f"{self.name}: params and grads must both have shape (N, D), "
                f"got {params.shape} and {grads.shape}"
            )
        if given is None:
            given = np.empty_like(params), {f: np.empty_like(params) for f in self._live}
        if info is None and params.shape[0] >= PARALLEL_MIN_ROWS:
            step = state.step + 1
            self._update_split(params, grads, state, step, given[0], given[1])
            return given[0], self._new_state(step, state, given[1])
        return self._step_into(params, grads, state, given[0], given[1], info)

    def _step_into(self, params: np.ndarray, grads: np.ndarray, state: Any,
                   out_params: np.ndarray, out: Out, info: Info | None = None
                   ) -> tuple[np.ndarray, Any]:
        """The step without checks, for callers that made ``params`` and ``grads``
        (N, D) float64 arrays and ``out`` as ``step`` asks (a Trajectory)."""
        step = state.step + 1
        self._update(params, grads, state, step, out_params, out, info)
        return out_params, self._new_state(step, state, out)

    def _new_state(self, step: int, state: Any, out: Out) -> Any:
        """State ``step``: the arrays written in ``out``, the others as they were."""
        return self.State(step, *[out[f] if f in out else getattr(state, f)
                                  for f in self._arrays])

    def _update_split(self, params: np.ndarray, grads: np.ndarray, state: Any, step: int,
                      out_params: np.ndarray, out: Out) -> None:
        """Step a big batch in two threads (when there are two CPUs), each taking
        half of it in blocks of ``BLOCK_ROWS`` rows, so that a block's temporaries
        stay in the core's cache."""
        n = params.shape[0]

        def blocks(lo: int, hi: int) -> None:
            for a in range(lo, hi, BLOCK_ROWS):
                sl = slice(a, min(a + BLOCK_ROWS, hi))
                sub = self.State(state.step, *[getattr(state, f)[sl] for f in self._arrays])
                self._update(params[sl], grads[sl], sub, step, out_params[sl],
                             {f: o[sl] for f, o in out.items()}, None)

        if _THREADS < 2:
            blocks(0, n)
            return
        half = n // 2
        future = _pool().submit(blocks, half, n)
        blocks(0, half)
        future.result()

    @property
    def spec(self) -> str:
        """A spec string that recreates this optimizer, e.g. ``adam:lr=0.01``."""
        changed = [
            f"{p.name}={_spec_value(self.hp[p.name])}"
            for p in self.declared if self.hp[p.name] != p.default
        ]
        return self.name + (":" + ",".join(changed) if changed else "")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hp.items())
        return f"{type(self).__name__}({self.name!r}, {args})"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Optimizer) and type(self) is type(other)
                and self.name == other.name and self.hp == other.hp)

    def __hash__(self) -> int:
        return hash((type(self), self.name, tuple(self.hp.items())))


def _spec_value(v: Value) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return repr(v) if isinstance(v, float) else str(v)


def as_batch(params: np.ndarray) -> np.ndarray:
    """A float64 (N, D) copy of ``params``."""
    a = np.array(params, dtype=np.float64, copy=True)
    if a.ndim != 2:
        raise ValueError(f"parameters must have shape (N, D), got {a.shape}")
    return a
