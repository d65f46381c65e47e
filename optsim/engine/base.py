"""The optimizer protocol: declared hyperparameters, an explicit state, a pure step,
and what the inspector and the overlays show of it (equations, a note, traits).

An optimizer steps parameters of shape (N, D): N independent runs at once, each a
point in D dimensions, in one vectorised NumPy step with no loop over runs. Every
numeric hyperparameter is one number or one per run (shape (N,)); the step takes
this step's learning rate (one number or one per run) when a schedule changes it.
A batch with per-run hyperparameters equals the N separate runs bit for bit: rules
branch per row with masks, in torch's order of operations, and the per-step scalars
that need a power (bias corrections, ...) are computed in Python for each distinct
value, as a separate run computes them.

An optimizer that evaluates the function itself (L-BFGS's line search, Newton's
Hessian) declares ``needs_closure = True``: every caller of :meth:`Optimizer.apply`
then hands it a :class:`Closure` (the loss, its gradient and Hessian at any points),
as torch's ``optimizer.step(closure)`` is handed one; the step may evaluate it many
times, row by row.

Every step takes one path, :meth:`Optimizer.apply`: the rule writes the new
parameters and state into given arrays (``out=`` ufuncs, few temporaries). ``step``
gives it fresh arrays; ``optsim.simulation`` gives it rows of its history and
reusable buffers, and splits big batches into blocks of rows and threads (every
operation being elementwise per row, a block's rows are the runs they would be
alone). Nothing here changes the process (no allocator settings, no threads).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import numpy as np

from .hyperparams import HyperParam, Value, Values

if TYPE_CHECKING:
    from .expr import Expr, Quantity

Info = dict[str, np.ndarray]
Out = dict[str, np.ndarray]
#: a step's hyperparameters and per-step scalars: each one number (or flag), or one
#: per row as an (N, 1) column that broadcasts over the coordinates
Coefs = dict[str, Any]
#: one line of an update rule: (quantity it defines, right-hand side, when it applies)
Rule = tuple[str, "Expr", str]

_F64 = np.dtype(np.float64)


class Closure:
    """The loss of the rows being stepped, for an optimizer that evaluates it itself
    (``needs_closure``): its value (K,), gradient (K, D) and Hessian (K, D, D) at any
    K points (K, D) of the function's space, with NaN and inf silenced (a point far
    out is the optimizer's business, as in torch). ``evaluations`` counts the points
    evaluated (value and gradient together count once)."""

    __slots__ = ("_value", "_gradient", "_hessian", "evaluations")

    def __init__(self, value: Callable[[np.ndarray], np.ndarray],
                 gradient: Callable[[np.ndarray], np.ndarray],
                 hessian: Callable[[np.ndarray], np.ndarray] | None = None) -> None:
        self._value, self._gradient, self._hessian = value, gradient, hessian
        self.evaluations = 0

    def value(self, points: np.ndarray) -> np.ndarray:
        """f at each of K points, (K,)."""
        with np.errstate(all="ignore"):
            return np.asarray(self._value(points), dtype=np.float64).reshape(len(points))

    def gradient(self, points: np.ndarray) -> np.ndarray:
        """∇f at each of K points, (K, D)."""
        with np.errstate(all="ignore"):
            return np.asarray(self._gradient(points), dtype=np.float64).reshape(points.shape)

    def value_and_gradient(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """f and ∇f at each of K points (one evaluation each, as a closure is)."""
        self.evaluations += len(points)
        return self.value(points), self.gradient(points)

    def hessian(self, points: np.ndarray) -> np.ndarray:
        """∇²f at each of K points, (K, D, D)."""
        if self._hessian is None:
            raise ValueError("this function has no Hessian")
        k, d = points.shape
        with np.errstate(all="ignore"):
            return np.asarray(self._hessian(points), dtype=np.float64).reshape(k, d, d)


class OptimizerFailed(ValueError):
    """An optimizer's own code (a plug-in's) raised: ``str()`` says where in one
    line, ``step`` is the step it failed at (None: before any), ``details`` its
    traceback. The simulation sets ``trajectory`` to the run's trajectory."""

    def __init__(self, message: str, step: int | None = None, details: str = "") -> None:
        super().__init__(message)
        self.step = step
        self.details = details
        self.trajectory: Any = None


@dataclass(frozen=True)
class Stability:
    """Where the next step stops being stable on the local quadratic model: the step
    is stable (linearised, constant hyperparameters) while the sharpness
    λmax(P⁻¹H) stays below ``threshold`` (Cohen et al., 2021 and 2022)."""

    #: per run, the largest stable sharpness, (N,)
    threshold: np.ndarray
    #: per run, the diagonal of the preconditioner P, (N, D); None: P = I (plain sharpness)
    preconditioner: np.ndarray | None
    #: how the threshold is written, e.g. ``"2/lr"``
    formula: str


def distinct_rows(values: list, n: int) -> tuple[list[list[float]], np.ndarray]:
    """The distinct combinations of ``values`` (numbers, or arrays of N rows) over the
    N rows, as lists of Python floats, and each row's index among them (N,). Equal
    neighbouring rows are merged first (a sweep's rows come in runs of one setting),
    so only the runs are sorted; one varying value is sorted as numbers, not as
    table rows (NumPy compares those field by field: a block's first step took
    longer than the step)."""
    cols = [np.broadcast_to(np.asarray(v, dtype=np.float64).reshape(-1), (n,))
            if type(v) is np.ndarray else None for v in values]
    varying = [c for c in cols if c is not None]
    table = np.stack(varying, axis=1) if len(varying) > 1 else varying[0][:, None]
    first = np.empty(n, dtype=bool)
    first[:1] = True
    np.any(table[1:] != table[:-1], axis=1, out=first[1:])
    starts = np.flatnonzero(first)
    runs = table[starts]
    if runs.shape[1] == 1:
        unique, inv = np.unique(runs[:, 0], return_inverse=True)
        unique = unique[:, None]
    else:
        unique, inv = np.unique(runs, axis=0, return_inverse=True)
    inverse = np.repeat(np.asarray(inv).reshape(-1), np.diff(np.append(starts, n)))
    fixed = [None if c is not None else float(np.float64(v)) for c, v in zip(cols, values,
                                                                             strict=True)]
    rows = []
    for u in unique.tolist():
        it = iter(u)
        rows.append([next(it) if f is None else f for f in fixed])
    return rows, inverse


def per_run(value: Any, n: int) -> np.ndarray:
    """A coefficient (a number or an (N, 1) column) as one float per run, (N,)."""
    if type(value) is np.ndarray and value.size == n:
        return value.astype(np.float64).reshape(n)
    return np.full(n, float(np.asarray(value, dtype=np.float64).reshape(-1)[0]))


@dataclass(frozen=True)
class Traits:
    """What the overlays draw for an optimizer."""

    #: its step has a part remembered from past gradients (drawn as its own arrow)
    momentum: bool
    #: it divides each coordinate by a scale of its own (drawn as the rescaling)
    rescales: bool
    #: the state arrays holding that memory (zeroed to take the momentum part out)
    momentum_fields: tuple[str, ...]
    #: points it keeps besides the parameters, drawn as second markers with thin paths
    #: (Schedule-Free's averaged x, Lookahead's slow weights)
    points: tuple[Point, ...] = ()


@dataclass(frozen=True)
class Point:
    """A point an optimizer keeps besides the parameters (where the gradient is
    taken): the window draws it as a second marker with a thin path, the inspector
    lists it. ``key`` names it in :meth:`Optimizer.points`."""

    key: str
    #: its symbol in the inspector (rich text) and what it is
    symbol: str
    name: str


class Optimizer:
    """Base class: one subclass per algorithm, in its own module under
    ``optsim.engine.optimizers``, holding everything about it.

    A subclass declares ``algorithm``, ``reference``, ``hyperparams``, ``State`` (torch's names
    for the state arrays), its traits (``rescales``, ``momentum_fields``) and
    implements:

    * ``update(c, params, grads, state, step, out_params, out, info)``: the rule.
      It computes step number ``step`` (from 1) with the coefficients ``c`` (each
      hyperparameter, one number or an (N, 1) column; the step's lr; the
      per-step scalars of ``scalars``), writes the new parameters into
      ``out_params`` and each new state array named by ``live_fields()`` into
      ``out[name]`` (all preallocated float64, (N, D), or (N, K) for a state array of
      width K, see ``widths``). State arrays that are
      not live are carried over unchanged. When ``info`` is a dict it also fills it
      with the step's intermediate quantities. It never modifies its inputs. An
      optimizer that ``needs_closure`` also takes ``closure=`` (a :class:`Closure`).
    * ``scalars(c, step)`` (optional): ``c`` plus the per-step scalars (bias
      corrections, ...), computed with :meth:`each` where they need more than + − × ÷.
    * ``rule(t)``, ``quantities()``, ``note()``: what the inspector shows.
    """

    #: the algorithm's name (the registry may expose variants under other names)
    algorithm: ClassVar[str]
    #: the implementation this one matches step for step, as its users import it:
    #: ``"torch.optim.Adam"``, ``"pytorch_optimizer.Lion"`` (empty: none; a plug-in
    #: may name its own). ``optsim list`` shows it.
    reference: ClassVar[str] = ""
    #: the declared hyperparameters, in display order
    hyperparams: ClassVar[tuple[HyperParam, ...]]
    #: the state's NamedTuple type; its fields use torch.optim's names
    State: ClassVar[type]
    #: trait: divides each coordinate by a scale of its own
    rescales: ClassVar[bool] = False
    #: trait: the state arrays that remember past gradients (empty: no momentum)
    momentum_fields: ClassVar[tuple[str, ...]] = ()
    #: trait: the step evaluates the function itself: ``apply`` must be given a
    #: :class:`Closure`, which ``update`` receives as ``closure=`` (L-BFGS, Newton)
    needs_closure: ClassVar[bool] = False
    #: the state arrays the inspector does not list as values (a history of vectors)
    hidden_fields: ClassVar[tuple[str, ...]] = ()
    #: info entries that are not one number per coordinate (N, D) (a Hessian (N, D·D),
    #: the inner iterates of a step (N, K, D)): not drawn, not listed as values
    extra_info: ClassVar[tuple[str, ...]] = ()
    #: trait: points kept besides the parameters, computed by :meth:`points`
    extra_points: ClassVar[tuple[Point, ...]] = ()

    def __init__(self, name: str | None = None, defaults: dict[str, Value] | None = None,
                 tied: dict[str, str] | None = None, **values: Any) -> None:
        self.name = name or self.algorithm
        self._defaults = dict(defaults or {})
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
            if name_ in values and not np.array_equal(values[name_], source_value):
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
        given = {p.name: p.validate_values(values.get(p.name, p.default), self.name)
                 for p in self.declared}
        #: the hyperparameters: each one number (or flag), or a read-only (N,) array
        self.hp: dict[str, Values] = {
            p.name: p.validate_values(given[self.tied[p.name]], self.name) if p.name in self.tied
            else given[p.name]
            for p in every
        }
        sizes = {k: v.shape[0] for k, v in self.hp.items() if isinstance(v, np.ndarray)}
        if len(set(sizes.values())) > 1:
            raise ValueError(f"{self.name}: per-run hyperparameters must all have the same "
                             f"length, got " + ", ".join(f"{k}: {n}" for k, n in sizes.items()))
        #: the number of runs the per-run hyperparameters are for (None: all scalar)
        self.rows: int | None = next(iter(sizes.values()), None)
        self._coef: Coefs = {k: v.reshape(-1, 1) if isinstance(v, np.ndarray) else v
                             for k, v in self.hp.items()}
        self._distinct: dict[tuple[str, ...], tuple[list, np.ndarray, tuple]] = {}
        self._kept: dict[str, tuple[Any, Any]] = {}
        self.check()
        self._arrays: tuple[str, ...] = tuple(self.State._fields[1:])
        #: some state arrays are not (N, D) (``widths``): fresh arrays are shaped as they are
        self._wide = type(self).widths is not Optimizer.widths
        live = set(self.live_fields())
        self._live: tuple[str, ...] = tuple(f for f in self._arrays if f in live)
        #: (position in the state, name) of each live array
        self._live_at: tuple[tuple[int, str], ...] = tuple(
            (i + 1, f) for i, f in enumerate(self._arrays) if f in live)

    # -- declared interface -------------------------------------------------
    def check(self) -> None:
        """Cross-checks between hyperparameters (as torch.optim makes them), per run."""

    def initial_values(self) -> dict[str, Any]:
        """Starting values of the state arrays that do not start at zero (one number
        or an (N, 1) column)."""
        return {}

    def init(self, params: np.ndarray) -> NamedTuple:
        """The state before the first step, for parameters of shape (N, D): step 0 and
        every array at its initial value (zero unless ``initial_values`` says otherwise)."""
        n, d = np.shape(params)
        start = self.initial_values()
        widths = self.widths(d)
        return self.State(0, *(np.full((n, widths.get(f, d)), start.get(f, 0.0),
                                       dtype=np.float64)
                               for f in self.State._fields[1:]))

    def widths(self, dim: int) -> dict[str, int]:
        """Numbers per run of the state arrays that do not hold one per coordinate
        (default: none; every array is (N, D)). An array of width K is (N, K): a
        scalar per run (K = 1), or a history of vectors laid end to end."""
        return {}

    def live_fields(self) -> tuple[str, ...]:
        """The state arrays this configuration updates (default: all of them)."""
        return tuple(self.State._fields[1:])

    def scalars(self, c: Coefs, step: int) -> Coefs:
        """The coefficients of step ``step``: ``c`` and the step's scalars (bias
        corrections, ...), as one new dict (default: ``c`` itself, no scalars)."""
        return c

    def update(self, c: Coefs, params: np.ndarray, grads: np.ndarray, state: Any, step: int,
               out_params: np.ndarray, out: Out, info: Info | None) -> None:
        raise NotImplementedError

    # -- what the inspector and the overlays show ---------------------------
    def rule(self, t: int | None) -> list[Rule]:
        """The update rule as equations ``(key, rhs, note)`` in order, ending with
        ``update`` and ``w``; with ``t``, the form that applies at step t. One
        configuration: call it on a single-row optimizer (:meth:`row`). Optional (a
        plug-in may leave it out): none, the inspector lists the numbers only."""
        return []

    def quantities(self) -> dict[str, Quantity]:
        """Symbols and names of the quantities of this rule (state and intermediates)."""
        return {}

    def note(self) -> str:
        """A few plain sentences: what am I looking at? (after the course's words)."""
        return ""

    def decoupled(self) -> bool:
        """Whether weight decay shrinks the weights directly (AdamW) instead of
        adding λ·w to the gradient (L2)."""
        return False

    def points(self, params: np.ndarray, state: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Each of ``extra_points`` by key, from the parameters (..., N, D) and the
        state arrays by name (the same shape: one step, or a whole history of steps,
        broadcasting the per-run hyperparameters over the rows)."""
        return {}

    def has_momentum(self) -> bool:
        """Whether the step has a memory of past gradients (in some run)."""
        return bool(self.momentum_fields)

    @property
    def traits(self) -> Traits:
        """What the overlays draw for this optimizer."""
        return Traits(self.has_momentum(), self.rescales, self.momentum_fields,
                      self.extra_points)

    def stability(self, c: Coefs, state: Any, step: int) -> Stability | None:
        """The edge of stability of step ``step`` taken from ``state`` with the
        coefficients ``c`` (see :class:`Stability`); None where no threshold is known
        (the default). Declared by the optimizer's own module."""
        return None

    def edge_of_stability(self, state: Any, n: int, *, lr: Any = None,
                          values: dict[str, Any] | None = None) -> Stability | None:
        """The :class:`Stability` of the next step from ``state`` (N = ``n`` runs), with
        that step's ``lr`` and ``values`` as in :meth:`step`."""
        step = state.step + 1
        c = self._coef if lr is None and values is None else {
            **self._coef, **self._overrides(lr, values, n)}
        return self.stability(self.scalars(c, step), state, step)

    def unused_fields(self) -> set[str]:
        """State arrays this configuration never changes (not shown by the inspector)."""
        return set(self._arrays) - set(self._live)

    def step_notes(self, info: Info) -> list[tuple[str, list[str]]]:
        """What the inspector adds about one run's step (``info`` of that run, arrays
        without the run axis): sections of (heading, plain lines), e.g. Newton's
        curvature or L-BFGS's inner iterations (default: none)."""
        return []

    # -- per-run hyperparameters ---------------------------------------------
    def each(self, f: Callable[..., Any], step: int, c: Coefs, *names: str) -> Any:
        """``f(*values, step)`` of the named hyperparameters, computed in Python floats
        for each distinct value (or combination) and spread over the rows: one number
        if they are all scalars, else (N, 1) columns (a tuple of them if ``f``
        returns a tuple). Powers differ in their last bit between Python and NumPy's
        vectorised loops; this way a batch computes them as a separate run does."""
        # one configuration: straight through (spelled out by arity: this runs once
        # per step of a single run, where every call costs)
        k = len(names)
        if k == 1:
            a = c[names[0]]
            if type(a) is not np.ndarray:
                return f(a, step)
        elif k == 2:
            a, b = c[names[0]], c[names[1]]
            if type(a) is not np.ndarray and type(b) is not np.ndarray:
                return f(a, b, step)
        elif k == 3:
            a, b, d = c[names[0]], c[names[1]], c[names[2]]
            if type(a) is not np.ndarray and type(b) is not np.ndarray \
                    and type(d) is not np.ndarray:
                return f(a, b, d, step)
        values = [c[n] for n in names]
        if not any(type(v) is np.ndarray for v in values):
            return f(*values, step)
        cached = self._distinct.get(names)
        # kept while each array is the same object and each number the same value (a
        # sweep's Adam pairs a per-run beta1 with one beta2: recomputing the distinct
        # rows every step cost more than the step itself)
        if cached is None or any(
                (a is not b) if type(b) is np.ndarray else (type(a) is np.ndarray or a != b)
                for a, b in zip(cached[2], values, strict=True)):
            n = self.rows if self.rows is not None else next(
                v.shape[0] for v in values if type(v) is np.ndarray)
            unique, inverse = distinct_rows(values, n)
            cached = (unique, inverse, tuple(values))
            self._distinct[names] = cached
        unique, inverse = cached[0], cached[1]
        # np.take of each result's column: contiguous (N, 1) columns, several times
        # faster than fancy indexing the (distinct, k) table (a sweep's every step)
        results = np.array([f(*row, step) for row in unique], dtype=np.float64)
        if results.ndim == 1:
            return np.take(results, inverse)[:, None]
        return tuple(np.take(col, inverse)[:, None] for col in results.T)

    def kept(self, key: str, f: Callable[[Any], Any], value: Any) -> Any:
        """``f(value)``, kept under ``key`` while ``value`` is the same array (what a
        rule derives from a per-row hyperparameter, e.g. 1 − β₁: made once, not in
        every step of a sweep); computed each time for a number."""
        if type(value) is not np.ndarray:
            return f(value)
        hit = self._kept.get(key)
        if hit is None or hit[0] is not value:
            hit = (value, f(value))
            self._kept[key] = hit
        return hit[1]

    def row(self, i: int) -> Optimizer:
        """The optimizer of run ``i`` alone (itself when every hyperparameter is one
        number)."""
        if self.rows is None:
            return self
        values = {k: (v[i].item() if isinstance(v, np.ndarray) else v)
                  for k, v in self.hp.items() if k not in self.tied}
        return type(self)(self.name, self._defaults, self.tied, **values)

    def subset(self, rows: slice) -> Optimizer:
        """The optimizer of runs ``rows`` (a slice; itself when every hyperparameter is
        one number): stepping those rows with it is stepping them in the batch."""
        if self.rows is None:
            return self
        values = {k: (v[rows] if isinstance(v, np.ndarray) else v)
                  for k, v in self.hp.items() if k not in self.tied}
        return type(self)(self.name, self._defaults, self.tied, **values)

    def value(self, name: str, i: int) -> Value:
        """Hyperparameter ``name`` of run ``i``."""
        v = self.hp[name]
        return v[i].item() if isinstance(v, np.ndarray) else v

    # -- public API ---------------------------------------------------------
    def step(self, params: np.ndarray, grads: np.ndarray, state: Any, *, lr: Any = None,
             values: dict[str, Any] | None = None,
             closure: Closure | None = None) -> tuple[np.ndarray, Any]:
        """One step: (params, grads, state) -> (new params, new state). Pure: the
        inputs are never modified.

        ``lr``: this step's learning rate, one number or one per run (default: the
        declared ``lr``), so that a schedule changes it without rebuilding the
        optimizer or its state (as setting torch's ``param_group["lr"]`` before
        ``step()``). ``values``: other numeric hyperparameters for this step, by
        name (a schedule cycling ``beta1``). ``closure``: the loss, for an optimizer
        that ``needs_closure``."""
        params, grads = self._checked(params, grads)
        if self._wide or closure is not None:  # state arrays of their own widths
            return self.apply(params, grads, state, *self._fresh(params, state), lr=lr,
                              values=values, closure=closure)
        shape = params.shape  # (spelled out: this runs once per step of a single run)
        out = {f: np.empty(shape) for f in self._live}
        if lr is None and values is None:
            return self.apply(params, grads, state, np.empty(shape), out)
        return self.apply(params, grads, state, np.empty(shape), out, lr=lr, values=values)

    def step_with_info(self, params: np.ndarray, grads: np.ndarray, state: Any, *,
                       lr: Any = None, values: dict[str, Any] | None = None,
                       closure: Closure | None = None) -> tuple[np.ndarray, Any, Info]:
        """One step, plus its intermediate quantities by name.

        Every optimizer reports ``grad`` (the gradient as used, after L2 weight
        decay), ``update`` (the step actually applied: new − old params),
        ``effective_lr`` and ``direction``, with
        ``update == -effective_lr * direction`` up to rounding: ``effective_lr`` is
        the per-coordinate factor that multiplies ``direction`` (see each class's
        docstring for what both are), plus every intermediate of the rule.
        ``lr``, ``values`` and ``closure`` as in :meth:`step`.
        """
        params, grads = self._checked(params, grads)
        info: Info = {}
        new_params, new_state = self.apply(params, grads, state, *self._fresh(params, state),
                                           lr=lr, values=values, info=info, closure=closure)
        info["update"] = new_params - params
        return new_params, new_state, info

    def apply(self, params: np.ndarray, grads: np.ndarray, state: Any, out_params: np.ndarray,
              out: Out, *, lr: Any = None, values: dict[str, Any] | None = None,
              info: Info | None = None, closure: Closure | None = None
              ) -> tuple[np.ndarray, Any]:
        """The step every caller takes (``step``, ``step_with_info``, the simulation),
        without the checks of :meth:`step`: ``params`` and ``grads`` are (N, D) float64
        arrays, ``out_params`` and ``out[name]`` for each of ``live_fields()``
        preallocated float64 arrays shaped as the state's that overlap no input, which
        the rule writes and the result holds (the new state's other arrays are the old
        ones). ``lr``, ``values``, ``closure`` as in :meth:`step`; ``info`` as in
        :meth:`step_with_info`."""
        step = state.step + 1
        c = self._coef if lr is None and values is None else {
            **self._coef, **self._overrides(lr, values, params.shape[0])}
        if self.needs_closure:
            if closure is None:
                raise ValueError(f"{self.name} evaluates the loss itself: step it with "
                                 "closure= (the simulation and the window do)")
            self.update(self.scalars(c, step), params, grads, state, step, out_params, out,
                        info, closure=closure)
        else:
            self.update(self.scalars(c, step), params, grads, state, step, out_params, out,
                        info)
        return out_params, self._new_state(step, state, out)

    def _checked(self, params: Any, grads: Any) -> tuple[np.ndarray, np.ndarray]:
        """``params`` and ``grads`` as (N, D) float64 arrays for this optimizer."""
        if type(params) is not np.ndarray or params.dtype != _F64:
            params = np.asarray(params, dtype=np.float64)
        if type(grads) is not np.ndarray or grads.dtype != _F64:
            grads = np.asarray(grads, dtype=np.float64)
        if params.ndim != 2 or grads.shape != params.shape:
            raise ValueError(
                f"{self.name}: params and grads must both have shape (N, D), "
                f"got {params.shape} and {grads.shape}"
            )
        if self.rows is not None and params.shape[0] != self.rows:
            raise ValueError(f"{self.name}: its per-run hyperparameters are for {self.rows} "
                             f"runs, got parameters for {params.shape[0]}")
        return params, grads

    def _fresh(self, params: np.ndarray, state: Any) -> tuple[np.ndarray, Out]:
        """New arrays for a step's results: parameters and each live state array."""
        shape = params.shape  # (np.empty of a shape: half the cost of empty_like)
        if self._wide:
            return np.empty(shape), {f: np.empty_like(getattr(state, f)) for f in self._live}
        return np.empty(shape), {f: np.empty(shape) for f in self._live}

    def _overrides(self, lr: Any, values: dict[str, Any] | None, n: int) -> Coefs:
        """This step's values (lr, ``values``) as the rules take them: numbers, or
        (N, 1) columns; checked against the declarations."""
        if type(lr) is float and 0.0 <= lr <= 1e3 and not values:
            return {"lr": lr}
        given = dict(values or {})
        if lr is not None:
            given["lr"] = lr
        declared = {p.name: p for p in self.declared}
        out: Coefs = {}
        for name, value in given.items():
            p = declared.get(name)
            if p is None or p.kind is bool:
                raise ValueError(f"{self.name}: {name!r} cannot change from step to step; "
                                 f"numeric hyperparameters: "
                                 + ", ".join(q.name for q in self.declared if q.kind is not bool))
            v = p.validate_values(value, self.name)
            if isinstance(v, np.ndarray):
                if v.shape != (n,):
                    raise ValueError(f"{self.name}: {name} per run needs {n} values, "
                                     f"got {v.shape[0]}")
                v = v.reshape(-1, 1)
            out[name] = v
            for tied, source in self.tied.items():  # ema-momentum's dampening follows
                if source == name:
                    out[tied] = v
        if values:
            self.check_values(out)
        return out

    def check_values(self, values: Coefs) -> None:
        """Refuse per-step values this configuration cannot follow (a momentum
        switched on for an optimizer made without one)."""

    def _new_state(self, step: int, state: Any, out: Out) -> Any:
        """State ``step``: the live arrays from ``out``, the others as they were."""
        values = list(state)
        values[0] = step
        for i, f in self._live_at:
            values[i] = out[f]
        return tuple.__new__(self.State, values)

    @property
    def spec(self) -> str:
        """A spec string that recreates this optimizer, e.g. ``adam:lr=0.01``
        (one configuration: per-run hyperparameters have none)."""
        if self.rows is not None:
            raise ValueError(f"{self.name}: per-run hyperparameters have no spec string; "
                             "use row(i).spec for one run's")
        changed = [
            f"{p.name}={p.text(self.hp[p.name])}"
            for p in self.declared if self.hp[p.name] != p.default
        ]
        return self.name + (":" + ",".join(changed) if changed else "")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hp.items())
        return f"{type(self).__name__}({self.name!r}, {args})"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Optimizer) and type(self) is type(other)
                and self.name == other.name and self.hp.keys() == other.hp.keys()
                and all(type(v) is type(other.hp[k]) and np.array_equal(v, other.hp[k])
                        for k, v in self.hp.items()))

    def __hash__(self) -> int:
        return hash((type(self), self.name,
                     tuple((k, v.tobytes() if isinstance(v, np.ndarray) else v)
                           for k, v in self.hp.items())))

