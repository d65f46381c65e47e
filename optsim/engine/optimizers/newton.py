r"""Newton's method, plain and damped (textbook: Nocedal & Wright, *Numerical
Optimization*, 2nd ed., §3.3 and §3.5)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..base import Closure, Coefs, Info, Optimizer, Out, Rule
from ..expr import Neg, Quantity, S
from ..hyperparams import HyperParam, flag_param, lr_param
from ..registry import OptimizerKind
from ..transforms import full, gradient_rule


class NewtonState(NamedTuple):
    step: int


def solve(h: np.ndarray, g: np.ndarray) -> np.ndarray:
    """H⁻¹g for each row: (N, D, D) and (N, D) -> (N, D), by Gaussian elimination with
    partial pivoting (as LAPACK's gesv), written out for one and two dimensions so
    that a singular H gives inf or NaN in its own row (never an error for the batch),
    row by row as a run alone computes it."""
    d = g.shape[1]
    if d == 1:
        return g / h[:, :, 0]
    if d == 2:
        a, b, c, e = h[:, 0, 0], h[:, 0, 1], h[:, 1, 0], h[:, 1, 1]
        g0, g1 = g[:, 0], g[:, 1]
        swap = np.abs(c) > np.abs(a)  # the larger first column entry is the pivot
        a, c = np.where(swap, c, a), np.where(swap, a, c)
        b, e = np.where(swap, e, b), np.where(swap, b, e)
        g0, g1 = np.where(swap, g1, g0), np.where(swap, g0, g1)
        m = c / a
        x1 = (g1 - m * g0) / (e - m * b)
        out = np.empty_like(g)
        out[:, 1] = x1
        out[:, 0] = (g0 - b * x1) / a
        return out
    return np.linalg.solve(h, g[:, :, None])[:, :, 0]  # pragma: no cover - functions are 1D/2D


def eigenvalues(h: np.ndarray) -> np.ndarray:
    """The eigenvalues of each (symmetric) H, ascending, (N, D); NaN where H is not finite."""
    ok = np.isfinite(h).all(axis=(1, 2))
    out = np.full(h.shape[:2], np.nan)
    if ok.any():
        out[ok] = np.linalg.eigvalsh(h[ok])
    return out


def curvature_words(lam: np.ndarray) -> str:
    """What the local quadratic model is, from H's eigenvalues (one run's)."""
    if not np.isfinite(lam).all():
        return "H is not finite here: the Newton step is undefined"
    if (lam == 0).any():
        return "H is singular (an eigenvalue is 0): the Newton step is undefined"
    if (lam > 0).all():
        return ("H is positive definite: the model is a bowl and the Newton step heads "
                "for its minimum")
    if (lam < 0).all():
        return ("H is negative definite: the model is a dome and the Newton step heads "
                "for its maximum, uphill")
    return ("H is indefinite (eigenvalues of both signs): the model is a saddle and the "
            "Newton step heads for its saddle point")


def matrix_text(h: np.ndarray) -> str:
    """A small matrix in one line: [[a, b], [c, d]]."""
    return "[" + ", ".join("[" + ", ".join(f"{x:.6g}" for x in row) + "]" for row in h) + "]"


def vector_text(v: np.ndarray) -> str:
    return "(" + ", ".join(f"{x:.6g}" for x in np.ravel(v)) + ")"


class Newton(Optimizer):
    r"""Newton's method: the step to the stationary point of the local quadratic model.

    .. math::
        d_t &= H_t^{-1} g_t, \quad H_t = \nabla^2 f(w_{t-1}) \\
        w_t &= w_{t-1} - \alpha\, d_t

    Plain (``damped=false``): α = lr whatever H is; where H is not positive definite
    the step heads for a saddle or a maximum of the model, and it is taken anyway.

    Damped (``damped=true``, N&W Algorithm 3.1 with the fallback of §3.4): where H is
    positive definite d = H⁻¹g, else d = g (steepest descent); then backtracking from
    α = lr, α ← ρ·α until the Armijo condition
    f(w − α d) ≤ f(w) − c₁ α gᵀd holds (at most ``max_backtracks`` times; then the
    last α is taken).

    ``effective_lr`` is α; ``direction`` is d.
    """

    algorithm = "newton"
    reference = "textbook (Nocedal & Wright)"
    hyperparams = (
        lr_param(1.0),
        flag_param("damped", "backtrack along the step until it lowers the loss enough "
                   "(Armijo), and use −g where H is not positive definite"),
        HyperParam("c1", float, 1e-4, "Armijo constant c₁ (damped): a step must lower the "
                   "loss by at least c₁·α·gᵀd", low=0.0, high=1.0, low_open=True,
                   high_open=True, log=True, symbol="c<sub>1</sub>"),
        HyperParam("backtrack", float, 0.5, "backtracking factor ρ (damped): α ← ρ·α "
                   "until the Armijo condition holds", low=0.0, high=1.0, low_open=True,
                   high_open=True, symbol="\u03c1"),
        HyperParam("max_backtracks", int, 50, "the most times α is shrunk in one step "
                   "(damped)", low=0, high=1000),
    )
    State = NewtonState
    needs_closure = True
    extra_info = ("hessian",)

    def update(self, c: Coefs, params: np.ndarray, grads: np.ndarray, state: NewtonState,
               step: int, out_params: np.ndarray, out: Out, info: Info | None, *,
               closure: Closure) -> None:
        h = closure.hessian(params)
        newton_step = solve(h, grads)
        lam = eigenvalues(h)
        lr = c["lr"]
        if not c["damped"]:
            alpha = full(params, lr)
            direction = newton_step
            fallback = np.zeros(params.shape[0], dtype=bool)
            tries = np.zeros(params.shape[0])
        else:
            direction, alpha, fallback, tries = self._damped(c, params, grads, newton_step,
                                                              lam, closure)
        np.multiply(alpha, direction, out=out_params)
        np.subtract(params, out_params, out=out_params)
        if info is not None:
            n, d = params.shape
            info.update(grad=grads, newton_step=newton_step, direction=direction,
                        effective_lr=alpha, alpha=alpha, hessian=h.reshape(n, d * d),
                        eigenvalues=lam, fallback=np.repeat(fallback[:, None], d, axis=1)
                        .astype(np.float64), backtracks=np.repeat(tries[:, None], d, axis=1))

    def _damped(self, c: Coefs, params: np.ndarray, grads: np.ndarray,
                newton_step: np.ndarray, lam: np.ndarray, closure: Closure
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Direction, step length α (N, D), fallback rows and backtracks of damped Newton."""
        n, d = params.shape
        positive = (lam > 0).all(axis=1)
        direction = np.where(positive[:, None], newton_step, grads)
        fallback = ~positive
        slope = (grads * direction).sum(axis=1)  # gᵀd, > 0 for a descent direction
        f0 = closure.value(params)
        alpha = np.broadcast_to(np.asarray(c["lr"], dtype=np.float64).reshape(-1, 1),
                                (n, 1)).copy()
        rho = np.broadcast_to(np.asarray(c["backtrack"], dtype=np.float64).reshape(-1, 1),
                              (n, 1))
        c1 = np.broadcast_to(np.asarray(c["c1"], dtype=np.float64).reshape(-1, 1), (n, 1))
        most = np.broadcast_to(np.asarray(c["max_backtracks"]).reshape(-1), (n,))
        tries = np.zeros(n)
        active = np.ones(n, dtype=bool)
        for j in range(int(most.max()) + 1):
            rows = np.flatnonzero(active)
            trial = params[rows] - alpha[rows] * direction[rows]
            f = closure.value(trial)
            ok = f <= f0[rows] - c1[rows, 0] * alpha[rows, 0] * slope[rows]
            ok |= most[rows] <= j  # out of backtracks: the last α is taken
            active[rows[ok]] = False
            if not active.any():
                break
            more = rows[~ok]
            alpha[more] = rho[more] * alpha[more]
            tries[more] += 1
        return direction, np.repeat(alpha, d, axis=1), fallback, tries

    # -- what the inspector shows ---------------------------------------------
    def quantities(self) -> dict[str, Quantity]:
        return {
            "newton_step": Quantity("H<sup>\u22121</sup>g", "Newton step: H⁻¹g, solved",
                                    "H = ∇²f(w), the Hessian"),
            "alpha": Quantity("\u03b1<sub>t</sub>", "step length after backtracking",
                              scalar=True),
        }

    def rule(self, t: int | None) -> list[Rule]:
        eqs = gradient_rule(self)
        if self.hp["damped"]:
            step = Neg(S("alpha") * S("direction"))
            eqs.append(("update", step, "d = H⁻¹g where H is positive definite, else g; "
                        "α: lr shrunk by ρ until f(w − α·d) ≤ f(w) − c₁·α·gᵀd"))
            eqs.append(("w", S("w_prev") + S("update"), ""))
            return eqs
        return eqs + [("update", Neg(S("lr") * S("direction")), "d = H⁻¹g: solved with "
                       "the Hessian H (see Curvature below)"),
                      ("w", S("w_prev") + S("update"), "")]

    def note(self) -> str:
        if self.hp["damped"]:
            return ("Damped Newton takes the Newton step d = H⁻¹g where the Hessian H is "
                    "positive definite and falls back to the gradient elsewhere, so it "
                    "always goes downhill. It then tries the full step and shrinks it by ρ "
                    "until the loss drops by at least c₁ times what the slope promises "
                    "(the Armijo condition). Near a minimum the full step is accepted and "
                    "it converges as fast as plain Newton.")
        return ("Newton's method jumps to the stationary point of the local quadratic "
                "model, using the Hessian H as well as the gradient. On a quadratic bowl "
                "one step lands exactly on the minimum, however elongated the bowl. Where "
                "H is not positive definite the model's stationary point is a saddle or a "
                "maximum, and plain Newton heads there all the same.")

    def step_notes(self, info: Info) -> list[tuple[str, list[str]]]:
        d = len(info["grad"])
        h = np.asarray(info["hessian"]).reshape(d, d)
        lam = np.asarray(info["eigenvalues"]).reshape(-1)
        lines = [f"H = {matrix_text(h)}", f"eigenvalues of H: {vector_text(lam)}",
                 curvature_words(lam), f"solved step H⁻¹g = {vector_text(info['newton_step'])}"]
        if self.hp["damped"]:
            alpha = float(np.ravel(info["alpha"])[0])
            tries = int(np.ravel(info["backtracks"])[0])
            if np.ravel(info["fallback"])[0]:
                lines.append("not positive definite: the step falls back to −g")
            lines.append(f"backtracking: α = {alpha:.6g} after {tries} "
                         f"shrink{'s' if tries != 1 else ''}")
        return [("Curvature", lines)]


ORDER = 200
KINDS = (OptimizerKind("newton", Newton,
                       "Newton's method: w ← w − lr·H⁻¹g, with the Hessian H (damped=true: "
                       "Armijo backtracking)", title="Newton"),)
