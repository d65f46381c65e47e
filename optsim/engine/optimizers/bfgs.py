r"""BFGS with the strong-Wolfe line search of L-BFGS (textbook: Nocedal & Wright,
*Numerical Optimization*, 2nd ed., Algorithm 6.1)."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..base import Closure, Coefs, Info, Optimizer, Out, Rule
from ..expr import Neg, Quantity, S
from ..hyperparams import HyperParam, lr_param
from ..linesearch import (
    INNER_INFO,
    ITERATE,
    TRIAL,
    Point,
    div,
    inner_info,
    inner_lines,
    strong_wolfe,
)
from ..registry import OptimizerKind
from ..transforms import gradient_rule
from .lbfgs import values_of_row
from .newton import eigenvalues, matrix_text, vector_text


class BFGSState(NamedTuple):
    """``inverse_hessian``: the estimate H of ∇²f⁻¹, per run, row-major (N, D·D);
    ``updates``: how many times it was updated (the first one scales it)."""

    step: int
    inverse_hessian: np.ndarray
    updates: np.ndarray


class BFGS(Optimizer):
    r"""BFGS: a quasi-Newton step along :math:`p = -H g`, its length from a line search.

    .. math::
        p_t &= -H_{t-1} g_t \\
        w_t &= w_{t-1} + \alpha_t p_t \quad (\alpha_t\text{: strong Wolfe}) \\
        s &= w_t - w_{t-1},\; y = \nabla f(w_t) - g_t,\; \rho = 1 / y^\top s \\
        H_t &= (I - \rho s y^\top) H_{t-1} (I - \rho y s^\top) + \rho s s^\top

    H starts as the identity and, before its first update, is scaled to
    :math:`(y^\top s / y^\top y) I` (N&W eq. 6.20). The update is skipped when
    :math:`y^\top s \le 10^{-10}` (as torch's L-BFGS skips it). The line search is
    L-BFGS's (``optsim.engine.linesearch.strong_wolfe``), tried first at α = lr
    (at the first step ``min(1, 1/‖g‖₁)·lr``, as L-BFGS does), with at most
    ``max_ls`` evaluations. A run whose largest |gradient| coordinate is at most
    ``tolerance_grad`` stays where it is; where p is not a descent direction
    (H lost positive definiteness to rounding) H is reset to I.

    ``effective_lr`` is α and ``direction`` is −p = H g.
    """

    algorithm = "bfgs"
    reference = "textbook (Nocedal & Wright)"
    hyperparams = (
        lr_param(1.0),
        HyperParam("c1", float, 1e-4, "sufficient decrease (Armijo) constant of the line "
                   "search", low=0.0, high=1.0, low_open=True, high_open=True, log=True,
                   symbol="c<sub>1</sub>"),
        HyperParam("c2", float, 0.9, "curvature constant of the line search: the slope "
                   "must flatten to c₂ times its size", low=0.0, high=1.0, low_open=True,
                   high_open=True, symbol="c<sub>2</sub>"),
        HyperParam("max_ls", int, 25, "the most iterations of one line search (each one "
                   "evaluation after the first)", low=1, high=1000),
        HyperParam("tolerance_grad", float, 1e-7, "no step when every |gradient| "
                   "coordinate is at most this", low=0.0, high=1e3, log=True),
        HyperParam("tolerance_change", float, 1e-9, "the line search stops when its "
                   "bracket is this short", low=0.0, high=1e3, log=True),
    )
    State = BFGSState
    needs_closure = True
    hidden_fields = ("inverse_hessian", "updates")
    extra_info = (*INNER_INFO, "inverse_hessian", "hessian")

    def widths(self, dim: int) -> dict[str, int]:
        return {"inverse_hessian": dim * dim, "updates": 1}

    def init(self, params: np.ndarray) -> BFGSState:
        n, d = np.shape(params)
        eye = np.broadcast_to(np.eye(d).reshape(1, d * d), (n, d * d)).copy()
        return BFGSState(0, eye, np.zeros((n, 1)))

    def update(self, c: Coefs, params: np.ndarray, grads: np.ndarray, state: BFGSState,
               step: int, out_params: np.ndarray, out: Out, info: Info | None, *,
               closure: Closure) -> None:
        n, d = params.shape
        used = np.empty((n, d * d))
        alphas, directions = np.zeros((n, d)), np.zeros((n, d))
        points: list[list[Point]] = []
        with np.errstate(all="ignore"):
            for i in range(n):
                hp = values_of_row(c, i)
                h = state.inverse_hessian[i].reshape(d, d).copy()
                x, h_new, h_used, alpha, p, trace, updated = self._step_row(
                    hp, params[i].copy(), grads[i].copy(), h, int(state.updates[i, 0]),
                    closure)
                out_params[i] = x
                out["inverse_hessian"][i] = h_new.reshape(-1)
                out["updates"][i] = state.updates[i, 0] + updated
                used[i] = h_used.reshape(-1)
                alphas[i], directions[i] = alpha, -p
                points.append(trace)
        if info is not None:
            info.update(grad=grads, direction=directions, effective_lr=alphas,
                        alpha=alphas, inverse_hessian=used,
                        hessian=closure.hessian(params).reshape(n, d * d))
            inner_info(info, points, d)

    def _step_row(self, hp: dict[str, Any], x: np.ndarray, g: np.ndarray, h: np.ndarray,
                  updates: int, closure: Closure
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, Any, np.ndarray, list[Point],
                             bool]:
        """One BFGS iteration of one run: new position, new H, the H that gave p, α,
        p, the line search's points and whether H was updated."""
        trace: list[Point] = []
        d = len(x)
        if np.abs(g).max() <= hp["tolerance_grad"]:
            return x, h, h, 0.0, np.zeros(d), trace, False
        p = -(h @ g)
        gtd = g @ p
        if not gtd < 0:  # not downhill (or not finite): start again from H = I
            h = np.eye(d)
            p = -g
            gtd = g @ p
        f = float(closure.value(x[None, :])[0])
        t = min(1.0, div(1.0, float(np.abs(g).sum()))) * hp["lr"] if updates == 0 else hp["lr"]

        def obj_func(x0: list[float], step: Any, direction: list[float]
                     ) -> tuple[float, list[float]]:
            trial = np.array(x0) + float(step) * np.array(direction)
            v, grad = closure.value_and_gradient(trial[None, :])
            trace.append((trial, v[0], TRIAL, step))
            return float(v[0]), grad[0].tolist()

        f_new, g_list, t, _ = strong_wolfe(obj_func, x.tolist(), t, p.tolist(), f, g.tolist(),
                                           float(gtd), c1=hp["c1"], c2=hp["c2"],
                                           tolerance_change=hp["tolerance_change"],
                                           max_ls=hp["max_ls"])
        g_new = np.array(g_list)
        t = float(t)
        new = x + t * p
        trace.append((new.copy(), f_new, ITERATE, t))
        s = new - x
        y = g_new - g
        ys = float(y @ s)
        if not ys > 1e-10:  # no curvature information: H is kept
            return new, h, h, t, p, trace, False
        h0 = np.eye(d) * div(ys, float(y @ y)) if updates == 0 else h  # N&W (6.20) at first
        rho = div(1.0, ys)
        left = np.eye(d) - rho * np.outer(s, y)
        return new, left @ h0 @ left.T + rho * np.outer(s, s), h, t, p, trace, True

    # -- what the inspector shows ---------------------------------------------
    def quantities(self) -> dict[str, Quantity]:
        return {"alpha": Quantity("\u03b1<sub>t</sub>", "step length from the line search",
                                  scalar=True)}

    def rule(self, t: int | None) -> list[Rule]:
        eqs = gradient_rule(self)
        eqs.append(("update", Neg(S("alpha") * S("direction")),
                    "d = H·g, H the BFGS estimate of the inverse Hessian (below); α from "
                    "the strong-Wolfe line search"))
        eqs.append(("w", S("w_prev") + S("update"), ""))
        return eqs

    def note(self) -> str:
        return ("BFGS steps along −H·g, where H is an estimate of the inverse Hessian "
                "built from the steps s and gradient changes y seen so far: after each "
                "step H is corrected so that H·y = s, as the true inverse Hessian of a "
                "quadratic would map them. A line search picks the step length until the "
                "strong Wolfe conditions hold, which keeps H positive definite. It needs "
                "no second derivatives and ends up stepping almost like Newton's method.")

    def step_notes(self, info: Info) -> list[tuple[str, list[str]]]:
        d = len(info["grad"])
        h = np.asarray(info["inverse_hessian"]).reshape(d, d)
        true = np.asarray(info["hessian"]).reshape(d, d)
        lam = eigenvalues(h[None])[0]
        alpha = float(np.ravel(info["alpha"])[0])
        lines = [f"H (estimate of ∇²f⁻¹) = {matrix_text(h)}",
                 f"eigenvalues of H: {vector_text(lam)}",
                 f"true Hessian ∇²f = {matrix_text(true)}, eigenvalues "
                 f"{vector_text(eigenvalues(true[None])[0])}",
                 f"solved step p = −H·g = {vector_text(-np.asarray(info['direction']))}",
                 f"line search: α = {alpha:.6g}"]
        return [("Curvature", lines), ("Line search", inner_lines(info))]


ORDER = 205
KINDS = (OptimizerKind("bfgs", BFGS,
                       "BFGS: quasi-Newton steps along −H·g with a strong-Wolfe line search "
                       "(the one L-BFGS uses)", title="BFGS"),)
