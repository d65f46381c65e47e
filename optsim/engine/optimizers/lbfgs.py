r"""L-BFGS (torch.optim.LBFGS): one optsim step is one ``optimizer.step(closure)``."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from ..base import Closure, Coefs, Info, Optimizer, Out, Rule
from ..expr import Quantity, S
from ..hyperparams import HyperParam, lr_param
from ..linesearch import (
    INNER_INFO,
    ITERATE,
    TRIAL,
    Tensor0,
    absmax,
    add,
    div,
    dot,
    inner_info,
    inner_lines,
    strong_wolfe,
)
from ..registry import OptimizerKind
from ..transforms import gradient_rule

#: why a step's inner loop ended (``info["stop"]``)
STOPS = {
    0: "the gradient was already below tolerance_grad: no iteration",
    1: "max_iter inner iterations",
    2: "max_eval function evaluations",
    3: "the gradient fell below tolerance_grad",
    4: "the step became shorter than tolerance_change",
    5: "the loss changed by less than tolerance_change",
    6: "the direction is no longer downhill (g·d > −tolerance_change)",
}


class LBFGSState(NamedTuple):
    """torch's state, per run: ``d``, ``t``, ``old_dirs`` (the y's), ``old_stps``
    (the s's), ``ro``, ``H_diag``, ``prev_flat_grad``, ``prev_loss``, the counters
    ``n_iter`` and ``func_evals``, and ``num_old`` (how many (y, s) pairs are kept,
    the first ones in ``old_dirs``/``old_stps``, oldest first)."""

    step: int
    d: np.ndarray
    t: np.ndarray
    old_dirs: np.ndarray
    old_stps: np.ndarray
    ro: np.ndarray
    num_old: np.ndarray
    H_diag: np.ndarray  # noqa: N815 (torch's name)
    prev_flat_grad: np.ndarray
    prev_loss: np.ndarray
    n_iter: np.ndarray
    func_evals: np.ndarray


class _Row:
    """One run's L-BFGS state as torch holds it (lists of vectors, scalars)."""

    def __init__(self, s: LBFGSState, i: int, dim: int) -> None:
        n_old = int(s.num_old[i, 0])
        self.n_iter = int(s.n_iter[i, 0])
        self.func_evals = int(s.func_evals[i, 0])
        started = self.n_iter > 0
        self.d: list[float] | None = s.d[i].tolist() if started else None
        self.t: Any = float(s.t[i, 0]) if started else None
        dirs, stps = s.old_dirs[i].tolist(), s.old_stps[i].tolist()
        self.old_dirs = [dirs[j * dim:(j + 1) * dim] for j in range(n_old)]
        self.old_stps = [stps[j * dim:(j + 1) * dim] for j in range(n_old)]
        self.ro = s.ro[i, :n_old].tolist()
        self.H_diag: Any = float(s.H_diag[i, 0]) if started else None
        self.prev_flat_grad: list[float] | None = s.prev_flat_grad[i].tolist() if started \
            else None
        self.prev_loss: Any = float(s.prev_loss[i, 0]) if started else None

    def write(self, out: Out, i: int, dim: int) -> None:
        n_old = len(self.old_dirs)
        for name in ("old_dirs", "old_stps", "ro"):
            out[name][i] = 0.0
        if n_old:
            out["old_dirs"][i, :n_old * dim] = [x for y in self.old_dirs for x in y]
            out["old_stps"][i, :n_old * dim] = [x for v in self.old_stps for x in v]
            out["ro"][i, :n_old] = self.ro
        out["num_old"][i] = n_old
        out["n_iter"][i] = self.n_iter
        out["func_evals"][i] = self.func_evals
        started = self.n_iter > 0
        out["d"][i] = self.d if started and self.d is not None else 0.0
        out["t"][i] = self.t if started and self.t is not None else 0.0
        out["H_diag"][i] = self.H_diag if started and self.H_diag is not None else 0.0
        out["prev_flat_grad"][i] = self.prev_flat_grad if started and \
            self.prev_flat_grad is not None else 0.0
        out["prev_loss"][i] = self.prev_loss if started and self.prev_loss is not None else 0.0


class LBFGS(Optimizer):
    r"""L-BFGS as torch.optim.LBFGS (torch 2.13), one ``step(closure)`` per optsim step.

    Each step evaluates the loss at the current point and runs up to ``max_iter``
    inner iterations (at most ``max_eval`` evaluations in all): the direction
    :math:`d = -\tilde H g` from the two-loop recursion over the last
    ``history_size`` pairs :math:`(s, y)` (step, change of gradient), scaled by
    :math:`H_{diag} = s^\top y / y^\top y`; then either a fixed step of length
    ``lr`` (at the very first iteration ``min(1, 1/‖g‖₁)·lr``) or the strong-Wolfe
    line search from that length (``line_search_fn=strong_wolfe``). The memory,
    ``d``, ``t`` and the counters carry over from step to step as in torch.

    Every run of a batch has its own inner loop (its own number of iterations and
    evaluations): the rows are stepped one by one, each exactly as alone.

    ``info`` holds the step's inner points: ``inner_points`` (N, K, D), their
    losses ``inner_values`` (NaN: not evaluated), ``inner_kinds`` (1: an inner
    iterate, 0: a line-search trial point) and ``inner_steps`` (the step length
    t of each), padded with NaN; ``stop`` says why the inner loop ended (``STOPS``);
    ``last_start``, ``last_t``, ``last_d``: the last inner step, from ``last_start``
    along ``last_d`` by ``last_t``. No single learning rate multiplies the step (the
    sum of the inner steps): ``effective_lr`` is 1 and ``direction`` is −update.
    """

    algorithm = "lbfgs"
    reference = "torch.optim.LBFGS"
    hyperparams = (
        lr_param(1.0),
        HyperParam("max_iter", int, 20, "maximal number of inner iterations per step",
                   low=1, high=10_000),
        HyperParam("max_eval", int, 0, "maximal number of function evaluations per step "
                   "(0: max_iter·5//4, torch's default None)", low=0, high=100_000),
        HyperParam("tolerance_grad", float, 1e-7, "stop when every |gradient| coordinate is "
                   "at most this (first-order optimality)", low=0.0, high=1e3, log=True),
        HyperParam("tolerance_change", float, 1e-9, "stop when the loss or the step changes "
                   "by less than this", low=0.0, high=1e3, log=True),
        HyperParam("history_size", int, 100, "how many (step, gradient change) pairs the "
                   "inverse-Hessian estimate remembers", low=1, high=1000),
        HyperParam("line_search_fn", bool, False, "strong_wolfe: search the step length "
                   "until the strong Wolfe conditions hold (none: a fixed step lr)",
                   choices=("none", "strong_wolfe")),
    )
    State = LBFGSState
    needs_closure = True
    hidden_fields = ("d", "t", "old_dirs", "old_stps", "ro", "num_old", "H_diag",
                     "prev_flat_grad", "prev_loss", "n_iter", "func_evals")
    extra_info = (*INNER_INFO, "stop")

    def widths(self, dim: int) -> dict[str, int]:
        m = int(np.max(self.hp["history_size"]))
        return {"t": 1, "old_dirs": m * dim, "old_stps": m * dim, "ro": m, "num_old": 1,
                "H_diag": 1, "prev_loss": 1, "n_iter": 1, "func_evals": 1}

    def update(self, c: Coefs, params: np.ndarray, grads: np.ndarray, state: LBFGSState,
               step: int, out_params: np.ndarray, out: Out, info: Info | None, *,
               closure: Closure) -> None:
        n, dim = params.shape
        traces = []
        with np.errstate(all="ignore"):
            for i in range(n):
                row = _Row(state, i, dim)
                x, trace = self._step_row(values_of_row(c, i), params[i].tolist(), row,
                                          closure, info is not None)
                out_params[i] = x
                row.write(out, i, dim)
                traces.append(trace)
        if info is not None:
            _fill_info(info, params, out_params, grads, traces)

    def _step_row(self, hp: dict[str, Any], x: list[float], state: _Row, closure: Closure,
                  record: bool) -> tuple[list[float], dict[str, Any]]:
        """torch's ``LBFGS.step(closure)`` for one run, from position ``x``: the new
        position, and (``record``) the inner points and the reason it stopped."""
        lr = hp["lr"]
        max_iter = hp["max_iter"]
        max_eval = hp["max_eval"] or max_iter * 5 // 4
        tolerance_grad = hp["tolerance_grad"]
        tolerance_change = hp["tolerance_change"]
        history_size = hp["history_size"]
        line_search = hp["line_search_fn"]
        points: list[tuple[np.ndarray, Any, float, Any]] = []
        trace: dict[str, Any] = {"points": points, "stop": 0, "last": (list(x), 0.0, None)}

        def evaluate(p: list[float]) -> tuple[float, list[float]]:
            v, g = closure.value_and_gradient(np.array([p]))
            return float(v[0]), g[0].tolist()

        # evaluate initial f(x) and df/dx
        loss, flat_grad = evaluate(x)
        current_evals = 1
        state.func_evals += 1
        opt_cond = absmax(flat_grad) <= tolerance_grad
        # optimal condition
        if opt_cond:
            return x, trace

        d, t = state.d, state.t
        old_dirs, old_stps, ro = state.old_dirs, state.old_stps, state.ro
        H_diag, prev_flat_grad = state.H_diag, state.prev_flat_grad  # noqa: N806
        prev_loss = state.prev_loss

        n_iter = 0
        stop = 1
        # optimize for a max of max_iter iterations
        while n_iter < max_iter:
            n_iter += 1
            state.n_iter += 1

            # compute gradient descent direction
            if state.n_iter == 1:
                d = [-v for v in flat_grad]
                old_dirs, old_stps, ro = [], [], []
                H_diag = 1  # noqa: N806
            else:
                # do lbfgs update (update memory)
                y = [a - b for a, b in zip(flat_grad, prev_flat_grad, strict=True)]
                s = [v * t for v in d]
                ys = dot(y, s)  # y*s
                if ys > 1e-10:
                    # updating memory
                    if len(old_dirs) == history_size:
                        # shift history by one (limited-memory)
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    # store new direction/step
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(div(1.0, ys))
                    # update scale of initial Hessian approximation
                    H_diag = div(ys, dot(y, y))  # (y*y)  # noqa: N806

                # compute the approximate (L-BFGS) inverse Hessian multiplied by the gradient
                num_old = len(old_dirs)
                al = [0.0] * num_old
                # iteration in L-BFGS loop collapsed to use just one buffer
                q = [-v for v in flat_grad]
                for i in range(num_old - 1, -1, -1):
                    al[i] = dot(old_stps[i], q) * ro[i]
                    q = add(q, old_dirs[i], -al[i])
                # multiply by initial Hessian; r/d is the final direction
                r = [v * H_diag for v in q]
                for i in range(num_old):
                    be_i = dot(old_dirs[i], r) * ro[i]
                    r = add(r, old_stps[i], al[i] - be_i)
                d = r

            prev_flat_grad = list(flat_grad)
            prev_loss = loss

            # compute step length: reset initial guess for step size
            if state.n_iter == 1:
                # (1.0 / tensor: a tensor, which min keeps when it is below 1)
                t = min(1.0, Tensor0(div(1.0, sum(abs(v) for v in flat_grad)))) * lr
            else:
                t = lr

            # directional derivative
            gtd = dot(flat_grad, d)  # g * d
            # directional derivative is below tolerance
            if gtd > -tolerance_change:
                stop = 6
                break

            # optional line search
            ls_func_evals = 0
            start = list(x)
            if line_search:
                def obj_func(x0: list[float], step: Any, direction: list[float]
                             ) -> tuple[float, list[float]]:
                    p = add(x0, direction, step)
                    f, g = evaluate(p)
                    if record:
                        points.append((p, f, TRIAL, step))
                    return f, g

                loss, flat_grad, t, ls_func_evals = strong_wolfe(
                    obj_func, list(x), t, d, loss, flat_grad, gtd,
                    max_ls=max_eval - current_evals)
                x = add(x, d, t)
                opt_cond = absmax(flat_grad) <= tolerance_grad
                if record:
                    points.append((list(x), loss, ITERATE, t))
            else:
                # no line search, simply move with fixed-step
                x = add(x, d, t)
                value: Any = math.nan
                if n_iter != max_iter:
                    # re-evaluate function only if not in last iteration
                    loss, flat_grad = evaluate(x)
                    value = loss
                    opt_cond = absmax(flat_grad) <= tolerance_grad
                    ls_func_evals = 1
                if record:
                    points.append((list(x), value, ITERATE, t))
            trace["last"] = (start, t, list(d))

            # update func eval
            current_evals += ls_func_evals
            state.func_evals += ls_func_evals

            # check conditions
            if n_iter == max_iter:
                stop = 1
                break
            if current_evals >= max_eval:
                stop = 2
                break
            # optimal condition
            if opt_cond:
                stop = 3
                break
            # lack of progress
            if absmax([v * t for v in d]) <= tolerance_change:
                stop = 4
                break
            if abs(loss - prev_loss) < tolerance_change:
                stop = 5
                break

        state.d, state.t = d, t
        state.old_dirs, state.old_stps, state.ro = old_dirs, old_stps, ro
        state.H_diag, state.prev_flat_grad, state.prev_loss = H_diag, prev_flat_grad, prev_loss
        trace["stop"] = stop
        trace["evals"] = current_evals
        trace["iterations"] = n_iter
        return x, trace

    # -- what the inspector shows ---------------------------------------------
    def quantities(self) -> dict[str, Quantity]:
        return {
            "last_start": Quantity("v<sub>K\u22121</sub>", "inner iterate before the last "
                                   "inner step", "v₀ = wₜ₋₁"),
            "last_t": Quantity("t<sub>K</sub>", "step length of the last inner step",
                               "lr, or the line search's", scalar=True),
            "last_d": Quantity("d<sub>K</sub>", "direction of the last inner step",
                               "d = −H̃·g, H̃ the L-BFGS inverse-Hessian estimate"),
            "effective_lr": Quantity("\u03b1<sup>eff</sup><sub>t</sub>", "effective learning rate",
                                     "1: the step is the sum of the inner steps t·d",
                                     scalar=True),
            "direction": Quantity("d<sub>t</sub>", "direction of the step", "wₜ₋₁ − wₜ"),
            "iterations": Quantity("K", "inner iterations of this step", scalar=True),
            "evaluations": Quantity("E", "function evaluations of this step", scalar=True),
        }

    def rule(self, t: int | None) -> list[Rule]:
        eqs = gradient_rule(self)
        eqs.append(("update", S("last_start") + S("last_t") * S("last_d") - S("w_prev"), "where the last inner step lands (the inner points: below)"))
        eqs.append(("w", S("w_prev") + S("update"), ""))
        return eqs

    def note(self) -> str:
        return ("L-BFGS builds an estimate of the inverse Hessian from the last few "
                "steps and gradient changes, and steps along −H̃g, which bends the "
                "gradient towards the bottom of the valley. One optsim step is one "
                "torch step(closure): up to max_iter inner iterations, each evaluating "
                "the loss, so a step can jump far. With line_search_fn=strong_wolfe each "
                "inner step length is searched until the loss drops enough and the slope "
                "flattens (the strong Wolfe conditions); the trial points are the small "
                "dots. Without it every inner step has the fixed length lr.")

    def step_notes(self, info: Info) -> list[tuple[str, list[str]]]:
        stop = int(np.ravel(info["stop"])[0])
        iters = int(np.ravel(info["iterations"])[0])
        evals = int(np.ravel(info["evaluations"])[0])
        lines = [f"{iters} inner iteration{'s' if iters != 1 else ''}, {evals} function "
                 f"evaluation{'s' if evals != 1 else ''}; stopped: {STOPS.get(stop, '?')}"]
        return [("Inside this step", lines + inner_lines(info))]


def values_of_row(c: Coefs, i: int) -> dict[str, Any]:
    """Row ``i``'s hyperparameters as Python numbers (an (N, 1) column gives row i)."""
    out: dict[str, Any] = {}
    for k, v in c.items():
        if isinstance(v, np.ndarray):
            v = v.reshape(-1)[i if v.size > 1 else 0].item()
        out[k] = v
    return out


def _fill_info(info: Info, params: np.ndarray, new: np.ndarray, grads: np.ndarray,
               traces: list[dict[str, Any]]) -> None:
    n, dim = params.shape
    start, t_last, d_last = (np.empty((n, dim)) for _ in range(3))
    stop, iters, evals = (np.empty((n, dim)) for _ in range(3))
    for i, tr in enumerate(traces):
        s, t, d = tr["last"]
        start[i] = s
        t_last[i] = t
        d_last[i] = d if d is not None else 0.0
        stop[i] = tr["stop"]
        iters[i] = tr.get("iterations", 0)
        evals[i] = tr.get("evals", 1)
    info.update(grad=grads, last_start=start, last_t=t_last, last_d=d_last,
                # no single learning rate: the step is the sum of the inner steps
                effective_lr=np.ones_like(params), direction=params - new,
                iterations=iters, evaluations=evals, stop=stop)
    inner_info(info, [t["points"] for t in traces], dim)


ORDER = 210
KINDS = (OptimizerKind("lbfgs", LBFGS,
                       "L-BFGS: a quasi-Newton step per closure call, many evaluations inside "
                       "(line_search_fn=strong_wolfe: searched step lengths)", title="L-BFGS"),)
