"""What each optimizer computes, in words and equations, with the numbers in (no Qt).

The equations, quantities, notes and traits of an optimizer come from its own module
(``optsim.engine.optimizers``); this module puts one run's step into them.
:func:`equations` gives the update rule in standard notation (Qt rich text:
``<sub>``, ``<sup>``, Greek letters, hats), following the chosen variant.
:func:`substituted` gives the same equations with one step's numbers in, each number
shown with ``digits`` significant digits (6 by default; ``None``: in full, ``repr``,
which reads back exactly), and :func:`evaluate` computes a substituted right-hand
side back *from its displayed text* with a small parser of our own (no ``eval``).
The tests check that the engine's value lies within :func:`~optsim.engine.expr.bounds`
of the displayed numbers (every value they can stand for), at any precision.

Every expression is elementwise, per coordinate: a vector is written ``(x, y)``.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .engine import Optimizer
from .engine.expr import (
    T1,
    Expr,
    Num,
    Quantity,
    Sym,
    T,
    bounds,
    evaluate,
    fmt,
    hat,
    number_html,
    to_html,
    to_text,
    with_noise,
)

#: significant digits of the numbers shown by default (None: full precision)
DIGITS = 6


def _single(optimizer: Optimizer) -> Optimizer:
    if optimizer.rows is not None:
        raise ValueError(f"{optimizer.name}: per-run hyperparameters; explain one run, "
                         "optimizer.row(i)")
    return optimizer


def quantities(optimizer: Optimizer) -> dict[str, Quantity]:
    """Symbol and course name of every quantity this optimizer's equations use: the
    ones every rule has, the optimizer's own, and its hyperparameters."""
    opt = _single(optimizer)
    q: dict[str, Quantity] = {
        "w_prev": Quantity(f"w{T1}", "position before the step"),
        "w": Quantity(f"w{T}", "position after the step"),
        "raw_grad": Quantity(f"\u2207f(w{T1})", "gradient of the loss at the previous position"),
        "grad": Quantity(f"g{T}", "gradient used by the step",
                         "after weight decay" if opt.hp.get("weight_decay") else ""),
        "update": Quantity(f"\u0394w{T}", "update actually applied", "wₜ − wₜ₋₁"),
        "effective_lr": Quantity(f"\u03b1<sup>eff</sup>{T}",
                                 "effective learning rate, per coordinate",
                                 "the factor multiplying the direction"),
        "direction": Quantity(f"d{T}", "direction of the step", "update = −α_eff · d"),
        "t": Quantity("t", "step number"),
        "noise": Quantity(f"\u03be{T}", "gradient noise drawn for this step"),
    }
    q.update(opt.quantities())
    for p in opt.hyperparams:
        if p.symbol:
            q[p.name] = Quantity(p.symbol, p.name)
    return q


def symbol_table(optimizer: Optimizer) -> dict[str, str]:
    """Quantity name -> its symbol (rich text)."""
    return {k: v.symbol for k, v in quantities(optimizer).items()}


@dataclass(frozen=True)
class Equation:
    """``key = rhs``: one line of an update rule. ``note`` says when it applies."""

    key: str
    rhs: Expr
    lhs_html: str
    html: str
    text: str
    note: str = ""


def equations(optimizer: Optimizer, t: int | None = None, noisy: bool = False) -> list[Equation]:
    """The update rule of ``optimizer`` (one run's) as equations, symbolic (html and text).

    With ``t`` (the step, from 1), the form that applies at that step (e.g. the
    momentum buffer's first step, RAdam's rectification switch). ``noisy``: the
    gradient carries sampled noise ξ (a stand-in for minibatch noise).
    """
    opt = _single(optimizer)
    sym = symbol_table(opt)
    out = []
    rules = opt.rule(t)
    if noisy:
        rules = [(k, with_noise(e), (n + "; " if n else "") + "ξ: gradient noise, as in a minibatch")
                 if k == "grad" else (k, e, n) for k, e, n in rules]
    for key, rhs, note in rules:
        lhs = sym.get(key, key)
        out.append(Equation(key, rhs, lhs, f"{lhs} = {to_html(rhs, sym)}",
                            f"{key} = {to_text(rhs)}", note))
    return out


def hyperparameter_legend(optimizer: Optimizer, digits: int | None = DIGITS
                          ) -> list[tuple[str, str, str]]:
    """(symbol html, name, value text) of each hyperparameter the equations use."""
    opt = _single(optimizer)
    used: set[str] = set()
    for eq in equations(opt):
        used |= eq.rhs.symbols()
    return [(p.symbol, p.name, fmt(opt.hp[p.name], digits)
             if not isinstance(opt.hp[p.name], bool) else str(opt.hp[p.name]).lower())
            for p in opt.hyperparams if p.name in used and p.symbol]


# ---------------------------------------------------------------------------
# substitution


@dataclass(frozen=True)
class Substituted:
    """One equation with a step's numbers in.

    ``text``/``html`` show ``rhs`` with every quantity replaced by its value as
    displayed (``digits`` significant digits; None: full precision); ``value`` is
    :func:`evaluate` of ``rhs_text`` (computed from the displayed numbers);
    ``expected`` is the engine's value of the left-hand side (None when the engine
    does not report that quantity); ``low``/``high`` bound what the displayed
    numbers can give (see :func:`~optsim.engine.expr.bounds`).
    """

    key: str
    lhs_html: str
    symbolic_html: str
    rhs_text: str
    html: str
    value: np.ndarray
    expected: np.ndarray | None
    note: str = ""
    #: the same, one coordinate at a time: (plain text of the right-hand side, html
    #: of "rhs = value") per coordinate, for checking by hand
    coords: tuple[tuple[str, str], ...] = ()
    low: np.ndarray | None = None
    high: np.ndarray | None = None
    digits: int | None = DIGITS

    @property
    def text(self) -> str:
        return f"{self.key} = {self.rhs_text}"


def _flat(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=np.float64).reshape(-1)


def _scalar_keys(optimizer: Optimizer) -> set[str]:
    return {k for k, q in quantities(optimizer).items() if q.scalar}


def step_values(optimizer: Optimizer, info: Mapping[str, Any], params: Any, k: int,
                previous: Any = None, current: Any = None,
                position: Any = None) -> dict[str, Any]:
    """The values of one run's quantities for step ``k``: hyperparameters, ``t``,
    ``w_prev`` (= ``params``, the position before the step), the info entries,
    ``<field>_prev`` from the state before the step and ``<field>`` from the state
    after it. Arrays are one run's: shape (D,)."""
    opt = _single(optimizer)
    vals: dict[str, Any] = {n: float(v) for n, v in opt.hp.items()}
    scalar_keys = _scalar_keys(opt)

    def collapse(key: str, a: Any) -> Any:
        # per-step scalars the engine reports per coordinate: one number suffices
        if key.removesuffix("_prev") in scalar_keys and np.size(a) > 1:
            flat = np.asarray(a, dtype=np.float64).reshape(-1)
            if (flat == flat[0]).all():
                return float(flat[0])
        return a

    vals["t"] = float(k)
    vals["w_prev"] = _flat(params)
    for key, v in info.items():
        a = np.asarray(v, dtype=np.float64)
        vals[key] = collapse(key, a.reshape(-1) if a.size > 1
                             else float(a.reshape(-1)[0]) if a.size else a)
    if previous is not None:
        for f, v in previous._asdict().items():
            if f != "step":
                vals[f + "_prev"] = collapse(f, _state_value(v))
    if current is not None:
        for f, v in current._asdict().items():
            if f != "step":
                vals[f] = collapse(f, _state_value(v))
    vals.setdefault("raw_grad", vals.get("grad"))
    if position is not None:
        vals["w"] = _flat(position)
    if "w_prev" in vals and "update" in vals:
        vals.setdefault("w", vals["w_prev"] + vals["update"])
    return vals


def _state_value(v: Any) -> Any:
    a = np.asarray(v, dtype=np.float64)
    return a.reshape(-1) if a.size > 1 else float(a.reshape(-1)[0])


def _line(lhs: str, num: Expr, value_html: str, sym: Mapping[str, str]) -> str:
    """``lhs = rhs = value``, or ``lhs = value`` when the right-hand side is already
    just that number (no ``a = a`` lines)."""
    rhs = to_html(num, sym)
    if isinstance(num, Num) or rhs == value_html:
        return f"{lhs} = {value_html}"
    return f"{lhs} = {rhs} = {value_html}"


def substituted(optimizer: Optimizer, info: Mapping[str, Any], params: Any, k: int,
                previous: Any = None, current: Any = None,
                position: Any = None, digits: int | None = DIGITS) -> list[Substituted]:
    """The equations of step ``k`` (from 1) with the numbers in, for one run.

    ``info``: the step's info (``step_with_info`` or ``Trajectory.explain``), one
    run's rows; ``params``: the position before the step; ``previous``/``current``:
    the optimizer state before/after the step (one run's rows), which supply the
    ``_prev`` quantities and the new state; ``position``: the recorded position after
    the step. A quantity the engine does not report
    (e.g. RAdam's ρ_t) takes the value computed from its equation. ``digits``:
    significant digits shown (None: full precision).
    """
    if k < 1:
        raise ValueError(f"step {k} has no update; steps count from 1")
    opt = _single(optimizer)
    vals = step_values(opt, info, params, k, previous, current, position)
    sym = symbol_table(opt)
    out: list[Substituted] = []
    for eq in equations(opt, t=k, noisy="noise" in vals):
        missing = sorted(s for s in eq.rhs.symbols() if s not in vals)
        if missing:
            raise ValueError(f"{opt.name}: step {k} has no value for {', '.join(missing)}")
        num = eq.rhs.substitute(vals, digits)
        rhs_text = to_text(num)
        value = evaluate(rhs_text)
        low, high = bounds(num)
        expected = vals.get(eq.key)
        if expected is not None:
            expected = np.asarray(expected, dtype=np.float64)
            shown = expected
        else:
            shown = value
        vals[eq.key] = shown
        line = _line(eq.lhs_html, num, to_html(Num.of(shown, digits), sym), sym)
        out.append(Substituted(eq.key, eq.lhs_html, eq.html, rhs_text, line, value,
                               expected, eq.note,
                               _per_coordinate(eq.rhs, vals, shown, sym, digits),
                               low, high, digits))
    return out


def _per_coordinate(rhs: Expr, vals: Mapping[str, Any], shown: Any,
                    sym: Mapping[str, str], digits: int | None) -> tuple[tuple[str, str], ...]:
    shown = np.asarray(shown, dtype=np.float64).reshape(-1)
    dim = max([np.size(vals[k]) for k in rhs.symbols()] + [1])
    if dim <= 1:  # a scalar (the same for every coordinate)
        return ()
    out = []
    for i in range(dim):
        vi = {k: (np.asarray(vals[k]).reshape(-1)[i] if np.size(vals[k]) == dim else vals[k])
              for k in rhs.symbols()}
        num = rhs.substitute(vi, digits)
        value = to_html(Num.of(shown[i % shown.size], digits), sym)
        out.append((to_text(num), _line("", num, value, sym).removeprefix(" = ")))
    return tuple(out)


# ---------------------------------------------------------------------------
# one step of one run of a trajectory, everything the inspector shows


@dataclass(frozen=True)
class Row:
    """One line of the inspector's table: symbol, name, value (one run's);
    ``scalar``: one number per step (shown once, not per coordinate)."""

    key: str
    symbol: str
    name: str
    value: np.ndarray
    hint: str = ""
    scalar: bool = False


@dataclass
class StepExplanation:
    """What the inspector shows for one run at one step."""

    optimizer: Optimizer
    step: int
    rows: list[Row]
    equations: list[Equation]
    substituted: list[Substituted] = field(default_factory=list)
    legend: list[tuple[str, str, str]] = field(default_factory=list)
    note: str = ""
    #: the run had diverged by this step and stands still; ``substituted`` shows the
    #: step it would have taken
    frozen: bool = False
    #: significant digits of the numbers shown (None: full precision)
    digits: int | None = DIGITS
    #: what the optimizer adds about this step: (heading, plain lines), e.g. Newton's
    #: curvature, L-BFGS's inner iterations (``Optimizer.step_notes``)
    sections: list[tuple[str, list[str]]] = field(default_factory=list)


def _run_rows(x: Any, run: int) -> Any:
    """One run's slice of an (N, D) array, or a NamedTuple state's arrays."""
    if hasattr(x, "_asdict"):
        return type(x)(**{f: (v[run] if isinstance(v, np.ndarray) and v.ndim >= 1 else v)
                          for f, v in x._asdict().items()})
    if isinstance(x, Mapping):
        return {k: _run_rows(v, run) for k, v in x.items()}
    a = np.asarray(x)
    return a[run] if a.ndim >= 2 else a


#: info entries shown in the table after the state, in this order (when reported)
_INFO_ROWS = ("grad", "bias_correction1", "bias_correction2", "exp_avg_hat", "exp_avg_sq_hat",
              "effective_lr", "direction", "update")


def explain_step(trajectory: Any, k: int, run: int = 0,
                 digits: int | None = DIGITS) -> StepExplanation:
    """Everything the inspector shows for run ``run`` of ``trajectory`` at step ``k``:
    position, loss and gradient at step k, the optimizer state after step k (each
    variable with its course name), step k's intermediates, effective learning rate
    and applied update, the equations, and (k >= 1) the equations with the numbers in,
    shown with ``digits`` significant digits (None: full precision).
    """
    opt: Optimizer = trajectory.optimizer.row(run)
    if not 0 <= k <= trajectory.steps:
        raise IndexError(f"step {k} is not recorded (0..{trajectory.steps})")
    q = quantities(opt)
    pos = trajectory.positions[k, run]
    own = opt.quantities().get("w")  # (Schedule-Free: the parameters are y)
    rows = [
        Row("position", own.symbol.replace("<sub>t</sub>", f"<sub>{k}</sub>") if own
            else f"w<sub>{k}</sub>", f"position: {own.name}" if own else "position",
            np.array(pos, dtype=np.float64)),
        Row("loss", f"f(w<sub>{k}</sub>)", "loss", np.array([trajectory.losses[k, run]]),
            scalar=True),
        Row("gradient", f"\u2207f(w<sub>{k}</sub>)", "gradient at this position",
            np.array(trajectory.gradient_at(k)[run], dtype=np.float64)),
    ]
    state = _run_rows(trajectory.state_at(k), run)
    unused = opt.unused_fields() | set(opt.hidden_fields)
    for f, v in state._asdict().items():
        if f == "step" or f in unused:
            continue
        qq = q.get(f, Quantity(f, f))
        rows.append(Row(f, qq.symbol.replace("<sub>t</sub>", f"<sub>{k}</sub>"), qq.name,
                        _flat(v), qq.hint, qq.scalar))
    # points the optimizer keeps besides the parameters (Schedule-Free's x)
    fields = {f: v[None, :] for f, v in state._asdict().items() if isinstance(v, np.ndarray)}
    with np.errstate(all="ignore"):
        points = opt.points(np.asarray(pos, dtype=np.float64)[None, :], fields)
    for point in opt.extra_points:
        if point.key in points and point.key not in fields:
            rows.append(Row(point.key, point.symbol.replace("<sub>t</sub>", f"<sub>{k}</sub>"),
                            point.name, _flat(points[point.key])))
    subs: list[Substituted] = []
    sections: list[tuple[str, list[str]]] = []
    frozen = False
    noisy = float(getattr(trajectory, "noise", 0.0) or 0.0) > 0
    if k >= 1:
        info = _run_rows(trajectory.explain(k), run)
        dynamics = getattr(trajectory, "dynamics", None)
        if dynamics is not None and dynamics.schedule is not None:
            # this step's lr (and cycled momentum/beta1) in the equations and legend
            opt = dynamics.optimizer_at(k, run)
            rows.append(Row("lr_t", f"\u03b1<sub>{k}</sub>", "learning rate of this step",
                            np.array([float(dynamics.lr_at(k)[run])]),
                            f"from the schedule {dynamics.schedule.spec}", True))
        if "unclipped_grad" in info:
            # the step saw the clipped gradient: the equations start from it
            clipped = bool(info["clipped"][0])
            rows.append(Row("unclipped_grad", f"g<sup>raw</sup><sub>{k}</sub>",
                            "gradient before clipping", _flat(info["unclipped_grad"]),
                            f"{trajectory.clip.spec}: "
                            + ("clipping acted on this step" if clipped else "not clipped")))
            info["raw_grad"] = trajectory.clipped_gradient(k - 1)[0][run]
            noisy = False
        if noisy and hasattr(trajectory, "gradient_used"):
            info["noise"] = trajectory.gradient_used(k - 1)[run] - info["raw_grad"]
        extra = [key for key in info if key not in _INFO_ROWS and key in q
                 and key not in state._fields and key not in ("raw_grad", "w", "w_prev")]
        for key in (*_INFO_ROWS[:-3], *extra, *_INFO_ROWS[-3:]):
            if key in info:
                qq = q.get(key, Quantity(key, key))
                rows.append(Row(key, qq.symbol.replace("<sub>t</sub>", f"<sub>{k}</sub>"),
                                qq.name, _flat(info[key]), qq.hint, qq.scalar))
        sections = opt.step_notes(info)
        previous = _run_rows(trajectory.state_at(k - 1), run)
        d = int(trajectory.diverged_step[run])
        if 0 <= d <= k:
            # frozen after diverging: show the step it would have taken (not recorded)
            frozen = True
            info = {key: v for key, v in info.items() if key != "update"}
            subs = substituted(opt, info, trajectory.positions[k - 1, run], k, previous,
                               digits=digits)
        else:
            subs = substituted(opt, info, trajectory.positions[k - 1, run], k, previous, state,
                               pos, digits=digits)
    return StepExplanation(opt, k, rows, equations(opt, noisy=noisy), subs,
                           hyperparameter_legend(opt, digits), teaching_note(opt), frozen,
                           digits, sections)


# ---------------------------------------------------------------------------
# the note


def teaching_note(optimizer: Optimizer) -> str:
    """A few plain sentences: what am I looking at? (after the course's explanations)."""
    return _single(optimizer).note().strip()


def note_html(note: str) -> str:
    """The note as rich text: m̂ and v̂ drawn with their hats kept on the letter
    (a hat never lands on another line when the text wraps)."""
    text = html.escape(note)
    for letter in "mv":
        text = text.replace(f"{letter}\u0302", hat(letter))
    # short formulas (1 − β₁ᵗ, ρₜ &gt; 5) stay on one line
    for op in (" \u2212 ", " &gt; ", " = "):
        text = text.replace(op, op.replace(" ", "&nbsp;"))
    return text


__all__ = ["DIGITS", "Equation", "Expr", "Num", "Quantity", "Row", "StepExplanation",
           "Substituted", "Sym", "bounds", "equations", "evaluate", "explain_step", "fmt",
           "hyperparameter_legend", "note_html", "number_html", "quantities", "step_values",
           "substituted", "symbol_table", "teaching_note", "to_html", "to_text"]
