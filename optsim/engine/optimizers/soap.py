r"""SOAP (pytorch_optimizer.SOAP, pytorch-optimizer 4.1.0), on a vector parameter."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..base import Coefs, Info, Optimizer, Out, Rule
from ..expr import Neg, Quantity, S, T, sqrt, state_quantity
from ..hyperparams import HyperParam, beta_param, flag_param, lr_param
from ..registry import OptimizerKind
from ..transforms import full
from . import _pytorch_optimizer as pto

_F32 = np.float32
#: the largest D whose D×D preconditioner the state holds (two columns of GG and Q)
MAX_D = 2


class SOAPState(NamedTuple):
    step: int
    exp_avg: np.ndarray
    exp_avg_sq: np.ndarray
    GG0: np.ndarray
    GG1: np.ndarray
    Q0: np.ndarray
    Q1: np.ndarray


_SPLIT = 134217729.0  # 2**27 + 1: Veltkamp's split of a float64 into two halves


def fma(a, b, c):
    """a·b + c rounded once, as torch's CPU kernels compute ``lerp`` and ``add(...,
    alpha=)`` (fused multiply-adds), from error-free transformations (Dekker's exact
    product, Knuth's exact sum). SOAP divides a projection that can be nearly 0 by
    √v + ε, which turns the last bit of these operations into visible differences."""
    with np.errstate(all="ignore"):
        p = a * b
        t = _SPLIT * a
        ah = t - (t - a)
        al = a - ah
        t = _SPLIT * b
        bh = t - (t - b)
        bl = b - bh
        e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
        s = p + c
        bb = s - p
        err = (p - (s - bb)) + (c - bb)
        out = s + (err + e)
        return np.where(np.isfinite(out), out, p + c)


def lerp_fma(start: np.ndarray, end: np.ndarray, weight, out: np.ndarray) -> np.ndarray:
    """torch.lerp as its CPU kernel computes it: fma(w, end − start, start) for w < 0.5,
    else fma(−(end − start), 1 − w, end), into ``out``."""
    diff = end - start
    low = fma(weight, diff, start)
    high = fma(-diff, 1.0 - weight, end)
    np.copyto(out, np.where(np.asarray(weight) < 0.5, low, high))
    return out


def _bias_factor(beta1: float, beta2: float, step: int) -> float:
    """``step_size *= sqrt(1 − β₂ˢ)/(1 − β₁ˢ)`` with s = step − 1 (0 at the first step,
    which does not move)."""
    s = step - 1
    return math.sqrt(pto.debias(beta2, s)) / pto.debias(beta1, s) if s > 0 else 0.0


def qr_float32(a: np.ndarray) -> np.ndarray:
    """Q of the QR decomposition of each (D, D) matrix of ``a`` (N, D, D), D ≤ 2,
    computed in float32 as LAPACK's sgeqr2/sorg2r do (one Householder reflector;
    ``slapy2`` for its length): bit for bit torch.linalg.qr of float32 matrices on
    the CPU (checked against it on 5,000 random matrices). Returned as float64."""
    n, d = a.shape[0], a.shape[1]
    if d == 1:
        return np.ones((n, 1, 1))
    a = a.astype(_F32)
    a11, a21 = a[:, 0, 0], a[:, 1, 0]
    with np.errstate(all="ignore"):
        xnorm = np.abs(a21)
        big, small = np.maximum(np.abs(a11), xnorm), np.minimum(np.abs(a11), xnorm)
        lapy2 = np.where(small == 0, big,
                         big * np.sqrt(_F32(1) + (small / big) ** 2))
        beta = -np.copysign(lapy2, a11)
        reflect = xnorm != 0
        tau = np.where(reflect, (beta - a11) / beta, _F32(0))
        v2 = np.where(reflect, a21 / (a11 - beta), _F32(0))
        temp = -tau * v2
        q = np.empty((n, 2, 2), dtype=_F32)
        q[:, 0, 0] = _F32(1) - tau
        q[:, 0, 1] = temp
        q[:, 1, 0] = v2 * -tau
        q[:, 1, 1] = _F32(1) + v2 * temp
    return q.astype(np.float64)


def eigh_descending(g: np.ndarray) -> np.ndarray:
    """The eigenvectors of each symmetric (D, D) matrix of ``g`` (N, D, D), D ≤ 2, as
    columns sorted by decreasing eigenvalue: ``torch.linalg.eigh(G + 1e-30·I)`` flipped,
    as SOAP takes them. For D = 2, LAPACK's closed form of a 2×2 symmetric
    eigenproblem (``dlaev2``, reached through dsyevd → dsteqr, the lower triangle),
    which gives the eigenvectors of torch's MKL bit for bit up to their signs (checked
    on 3,000 matrices); the signs cancel in SOAP's step and refresh."""
    n, d = g.shape[0], g.shape[1]
    if d == 1:
        return np.ones((n, 1, 1))
    a, b, c = g[:, 0, 0] + 1e-30, g[:, 1, 0], g[:, 1, 1] + 1e-30
    with np.errstate(all="ignore"):
        sm, df, tb = a + c, a - c, b + b
        adf, ab = np.abs(df), np.abs(tb)
        rt = np.where(adf > ab, adf * np.sqrt(1.0 + (ab / adf) ** 2),
                      np.where(adf < ab, ab * np.sqrt(1.0 + (adf / ab) ** 2),
                               ab * np.sqrt(2.0)))
        sgn1 = np.where(sm < 0, -1.0, 1.0)
        up = df >= 0
        cs = np.where(up, df + rt, df - rt)
        sgn2 = np.where(up, 1.0, -1.0)
        wide = np.abs(cs) > ab
        ct = -tb / cs
        sn_a = 1.0 / np.sqrt(1.0 + ct * ct)
        cs_a = ct * sn_a
        tn = -cs / tb
        cs_b = 1.0 / np.sqrt(1.0 + tn * tn)
        sn_b = tn * cs_b
        cs1 = np.where(wide, cs_a, np.where(ab == 0, 1.0, cs_b))
        sn1 = np.where(wide, sn_a, np.where(ab == 0, 0.0, sn_b))
        swap = sgn1 == sgn2
        cs1, sn1 = np.where(swap, -sn1, cs1), np.where(swap, cs1, sn1)
    q = np.empty((n, 2, 2))
    q[:, 0, 0], q[:, 0, 1], q[:, 1, 0], q[:, 1, 1] = cs1, -sn1, sn1, cs1
    return q


class SOAP(Optimizer):
    r"""SOAP (Vyas et al., "SOAP: Improving and Stabilizing Shampoo using Adam", 2024):
    Adam run in the eigenbasis of a Shampoo preconditioner.

    .. math::
        G_t &= \beta_s G_{t-1} + (1-\beta_s)\, g_t g_t^\top, \quad
        Q = \text{eigenvectors of } G \ (\text{refreshed every } f \text{ steps}) \\
        m_t &= \beta_1 m_{t-1} + (1-\beta_1) g_t, \quad
        v_t = \beta_2 v_{t-1} + (1-\beta_2) (Q^\top g_t)^2 \\
        w_t &= \big(w_{t-1} - \alpha\tfrac{\sqrt{1-\beta_2^s}}{1-\beta_1^s}\,
               Q\,\tfrac{Q^\top m_t}{\sqrt{v_t} + \epsilon}\big)(1 - \alpha\lambda)

    As ``SOAP.step`` on a 1-D parameter (a run of D coordinates): the first step
    only builds G and takes its eigenvectors Q (``torch.linalg.eigh``, sorted by
    decreasing eigenvalue; here :func:`eigh_descending`) and does not move; from then on s = t − 1, the gradient is
    projected onto Q for v, the momentum m stays in the original basis and is
    projected for the step and back; weight decay (decoupled, after the step) shrinks
    w by αλ. Every ``precondition_frequency`` steps Q is refreshed by one power
    iteration, G·Q with its columns (and v's coordinates) sorted by the estimated
    eigenvalues, and a QR decomposition in float32 (as the reference does; here
    :func:`qr_float32`). The reference preconditions a vector only with
    ``precondition_1d``; optsim's ``soap`` sets it (the class's default is the
    reference's, off: then Q = 1 and SOAP is Adam with its own step size). Runs with
    more than ``MAX_D`` = 2 coordinates are preconditioned only up to
    ``max_precondition_dim`` < D. ``merge_dims`` and ``data_format`` (for tensors of
    more dimensions) and ``maximize`` are not offered; ``shampoo_beta`` 0 stands for
    the reference's None (β₂).

    ``effective_lr`` is α·√(1 − β₂ˢ)/(1 − β₁ˢ) and ``direction`` the preconditioned
    step :math:`Q (Q^\top m / (\sqrt v + \epsilon))` (plus the decay's share).
    """

    algorithm = "soap"
    reference = "pytorch_optimizer.SOAP"
    hyperparams = (
        lr_param(3e-3),
        beta_param("beta1", 0.95, "β₁: decay of the momentum m"),
        beta_param("beta2", 0.95, "β₂: decay of the second moment v (in the eigenbasis)"),
        HyperParam("shampoo_beta", float, 0.0, "decay β_s of the preconditioner G (0: β₂, the "
                   "reference's None)", low=0.0, high=1.0, high_open=True,
                   symbol="\u03b2<sub>s</sub>"),
        HyperParam("weight_decay", float, 1e-2, "decoupled weight decay λ: after each step w "
                   "shrinks by α·λ·w", low=0.0, high=1e3, symbol="\u03bb"),
        HyperParam("precondition_frequency", int, 10, "steps between refreshes of the "
                   "eigenbasis Q", low=1, high=1_000_000, symbol="f"),
        HyperParam("max_precondition_dim", int, 10000, "a run with more coordinates is not "
                   "preconditioned", low=1, high=1_000_000),
        flag_param("precondition_1d", "precondition a vector parameter (a run) with its "
                   "D×D matrix G; off: Q = 1"),
        flag_param("correct_bias", "Adam's bias corrections in the step size", True),
        flag_param("normalize_gradient", "divide the step by its root mean square"),
        HyperParam("eps", float, 1e-8, "added to the denominator", low=0.0, high=1.0,
                   log=True, symbol="\u03b5"),
    )
    State = SOAPState
    rescales = True
    momentum_fields = ("exp_avg",)

    def decoupled(self) -> bool:
        return bool(np.any(np.asarray(self.hp["weight_decay"]) != 0))

    def _preconditioned(self, d: int) -> np.ndarray | bool:
        """Per row: whether the run of ``d`` coordinates has a preconditioner."""
        if not self.hp["precondition_1d"]:
            return False
        return d <= np.asarray(self._coef["max_precondition_dim"])

    def init(self, params: np.ndarray) -> SOAPState:
        p = np.asarray(params, dtype=np.float64)
        if p.ndim == 2 and p.shape[1] > MAX_D and np.any(self._preconditioned(p.shape[1])):
            raise ValueError(f"{self.name}: optsim keeps SOAP's D×D preconditioner for up to "
                             f"{MAX_D} coordinates, got {p.shape[1]}; use "
                             f"precondition_1d=false or max_precondition_dim < {p.shape[1]}")
        return SOAPState(0, *(np.zeros_like(p) for _ in range(6)))

    def scalars(self, c: Coefs, step: int) -> Coefs:
        unit = self.each(_bias_factor, step, c, "beta1", "beta2") if c["correct_bias"] else 1.0
        shampoo = c["shampoo_beta"]
        if type(shampoo) is np.ndarray:
            shampoo = np.where(shampoo != 0, shampoo, c["beta2"])
        elif shampoo == 0:
            shampoo = c["beta2"]
        return {**c, "bias_factor": unit, "shampoo": shampoo}

    def update(self, c: Coefs, params: np.ndarray, grads: np.ndarray, state: SOAPState,
               step: int, out_params: np.ndarray, out: Out, info: Info | None) -> None:
        n, d = params.shape
        pre = self._preconditioned(d)
        grad = grads
        gg = np.zeros((n, d, d))
        q = np.zeros((n, d, d))
        for j, (g_col, q_col) in enumerate(((state.GG0, state.Q0), (state.GG1, state.Q1))[:d]):
            gg[:, :, j] = g_col
            q[:, :, j] = q_col
        if step == 1:
            exp_avg, exp_avg_sq = state.exp_avg, state.exp_avg_sq
            np.copyto(out["exp_avg"], exp_avg)
            np.copyto(out["exp_avg_sq"], exp_avg_sq)
            np.copyto(out_params, params)
            eff = np.zeros_like(params)
            direction = np.zeros_like(params)
            gp = mp = None
        else:
            step_size = c["lr"] * c["bias_factor"] if c["correct_bias"] else c["lr"]
            gp = np.where(pre, np.sum(grad[:, :, None] * q, axis=1), grad) \
                if not _none(pre) else grad
            exp_avg = lerp_fma(state.exp_avg, grad, 1.0 - c["beta1"], out["exp_avg"])
            exp_avg_sq = lerp_fma(state.exp_avg_sq, gp * gp, 1.0 - c["beta2"],
                                  out["exp_avg_sq"])
            denom = np.sqrt(exp_avg_sq)
            denom += c["eps"]
            mp = np.where(pre, np.sum(exp_avg[:, :, None] * q, axis=1), exp_avg) \
                if not _none(pre) else exp_avg
            x = mp / denom
            norm_grad = np.where(pre, np.sum(x[:, None, :] * q, axis=2), x) \
                if not _none(pre) else x
            if c["normalize_gradient"]:
                rms = np.sqrt(np.mean(norm_grad * norm_grad, axis=1, keepdims=True))
                rms += c["eps"]
                norm_grad = norm_grad / rms
            np.copyto(out_params, fma(-step_size, norm_grad, params))
            out_params *= 1.0 - c["weight_decay"] * c["lr"]
            eff = full(params, step_size)
            direction = norm_grad
        # the preconditioner: G.lerp_(g gᵀ, 1 − β_s); Q from eigh at the first step,
        # refreshed by a power iteration and a float32 QR every f steps
        outer = grad[:, :, None] * grad[:, None, :]
        new_gg = np.empty_like(gg)
        for j in range(d):
            lerp_fma(gg[:, :, j], outer[:, :, j], 1.0 - c["shampoo"], new_gg[:, :, j])
        new_q = q
        if step == 1:
            new_q = eigh_descending(new_gg)
        else:
            s = step - 1
            due = s % np.asarray(c["precondition_frequency"]) == 0
            if np.any(due):
                product = np.sum(new_gg[:, :, :, None] * q[:, None, :, :], axis=2)
                est = np.sum(q * product, axis=1)  # (n, d)
                order = np.zeros((n, d), dtype=np.intp) + np.arange(d)
                if d == 2:
                    swap = est[:, 1] > est[:, 0]
                    order[swap] = (1, 0)
                rows = np.arange(n)[:, None]
                sorted_v = exp_avg_sq[rows, order]
                power = np.take_along_axis(product, order[:, None, :], axis=2)
                refreshed = qr_float32(power)
                due_rows = np.broadcast_to(due, (n, 1))[:, 0]
                new_q = np.where(due_rows[:, None, None], refreshed, q)
                np.copyto(out["exp_avg_sq"], np.where(due_rows[:, None], sorted_v,
                                                      exp_avg_sq))
        keep = ~np.broadcast_to(pre, (n, 1))[:, 0]
        for j, (g_name, q_name) in enumerate((("GG0", "Q0"), ("GG1", "Q1"))):
            if j < d:
                np.copyto(out[g_name], np.where(keep[:, None], getattr(state, g_name),
                                                new_gg[:, :, j]))
                np.copyto(out[q_name], np.where(keep[:, None], getattr(state, q_name),
                                                new_q[:, :, j]))
            else:
                np.copyto(out[g_name], getattr(state, g_name))
                np.copyto(out[q_name], getattr(state, q_name))
        if info is not None:
            info.update(grad=grad, exp_avg=out["exp_avg"], exp_avg_sq=out["exp_avg_sq"],
                        effective_lr=eff,
                        grad_0=full(params, grad[:, :1]),
                        grad_1=full(params, grad[:, 1:2] if d > 1 else 0.0),
                        eigvec0=out["Q0"], eigvec1=out["Q1"])
            if gp is not None:
                info.update(grad_projected=gp, exp_avg_projected=mp, denom=denom,
                            norm_grad=direction,
                            bias_factor=full(params, c["bias_factor"]))
            upd = out_params - params
            with np.errstate(divide="ignore", invalid="ignore"):
                info["direction"] = np.where(eff != 0, -upd / eff, direction)

    # -- what the inspector shows ---------------------------------------------
    def quantities(self) -> dict[str, Quantity]:
        q: dict[str, Quantity] = {}
        q["exp_avg"], q["exp_avg_prev"] = state_quantity(
            "m", "momentum: moving average of gradients (in the original coordinates)")
        q["exp_avg_sq"], q["exp_avg_sq_prev"] = state_quantity(
            "v", "moving average of the squared projected gradient (in the eigenbasis)")
        for j in (0, 1):
            q[f"GG{j}"], q[f"GG{j}_prev"] = state_quantity(
                f"G<sub>:{j}</sub>", f"column {j} of the preconditioner G, an average of g gᵀ")
            q[f"Q{j}"], q[f"Q{j}_prev"] = state_quantity(
                f"q<sub>{j}</sub>", f"eigenvector {j} of G (column {j} of Q)")
            q[f"eigvec{j}"] = Quantity(f"eig<sub>{j}</sub>(G)", f"eigenvector {j} of G, as "
                                       "computed this step")
            q[f"grad_{j}"] = Quantity(f"g<sub>{j}</sub>", f"coordinate {j} of the gradient",
                                      scalar=True)
        q["grad_projected"] = Quantity(f"Q\u1d40g{T}", "the gradient in the eigenbasis of G")
        q["exp_avg_projected"] = Quantity(f"Q\u1d40m{T}", "the momentum in the eigenbasis")
        q["denom"] = Quantity(f"\u221av{T} + \u03b5", "denominator (in the eigenbasis)")
        q["norm_grad"] = Quantity(f"n{T}", "the step, rotated back: Q (Qᵀm / (√v + ε))")
        q["bias_factor"] = Quantity("\u221a(1\u2212\u03b2\u2082\u02e2)/(1\u2212\u03b2\u2081\u02e2)",
                                    "the step size's bias correction (s = t − 1)", scalar=True)
        return q

    def rule(self, t: int | None) -> list[Rule]:
        hp = self.hp
        bs = S("shampoo_beta") if hp["shampoo_beta"] else S("beta2")
        pre = bool(hp["precondition_1d"])
        eqs: list[Rule] = [("grad", S("raw_grad"), "")]
        refresh = t == 1 or (t is not None and (t - 1) % hp["precondition_frequency"] == 0)
        if t != 1:
            v_in = S("grad_projected") if pre else S("grad")
            eqs.append(("exp_avg", S("beta1") * S("exp_avg_prev") + (1 - S("beta1")) * S("grad"),
                        ""))
            eqs.append(("exp_avg_sq", S("beta2") * S("exp_avg_sq_prev")
                        + (1 - S("beta2")) * v_in ** 2,
                        "in the eigenbasis: Qᵀg" + ("; then sorted with Q" if refresh else "")
                        if pre else ""))
            eqs.append(("denom", sqrt(S("exp_avg_sq")) + S("eps"), ""))
            factor = S("bias_factor") if hp["correct_bias"] else 1
            step = Neg(S("lr") * factor * S("norm_grad"))
            if hp["weight_decay"]:
                new = (S("w_prev") - S("lr") * factor * S("norm_grad")) \
                    * (1 - S("lr") * S("weight_decay"))
                upd = ("update", new - S("w_prev"), "decoupled weight decay after the step")
            else:
                upd = ("update", step, "")
        else:
            upd = ("update", S("lr") * 0, "the first step only builds the preconditioner")
        if pre:
            for j in (0, 1):
                eqs.append((f"GG{j}", bs * S(f"GG{j}_prev") + (1 - bs) * S("grad") * S(f"grad_{j}"),
                            "G averages g gᵀ" if j == 0 else ""))
            if refresh or t is None:
                note = ("eigenvectors of G (eigh)" if t == 1 else
                        "one power iteration G·Q and a float32 QR" + ("" if t else
                                                                        ", every f steps"))
                for j in (0, 1):
                    eqs.append((f"Q{j}", S(f"eigvec{j}"), note if j == 0 else ""))
        return eqs + [upd, ("w", S("w_prev") + S("update"), "")]

    def note(self) -> str:
        text = NOTE if self.hp["precondition_1d"] else NOTE_1D_OFF
        return " ".join([text] + (["Weight decay is decoupled: after each step w shrinks by "
                                   "α·λ·w."] if self.hp["weight_decay"] else []))


def _none(mask) -> bool:
    return not mask if type(mask) is not np.ndarray else not mask.any()


NOTE = (
    "SOAP runs Adam in a rotated coordinate system: the eigenvectors Q of G, a moving "
    "average of the outer products g gᵀ (Shampoo's preconditioner for a vector). In "
    "those coordinates the gradient's directions are decorrelated, so Adam's "
    "per-coordinate scaling follows the valley's own axes even when it lies diagonally. "
    "The first step only builds G and does not move. Q is refreshed every f steps by "
    "a power iteration and a QR decomposition."
)
NOTE_1D_OFF = (
    "Without precondition_1d the reference leaves a vector's coordinates as they are "
    "(Q = 1), so this is Adam with SOAP's step size and decoupled weight decay. The "
    "first step only builds the (unused) statistics and does not move. Set "
    "precondition_1d=true to see SOAP's rotation."
)

ORDER = 120
KINDS = (OptimizerKind("soap", SOAP,
                       "SOAP: Adam in the eigenbasis of Shampoo's preconditioner "
                       "(precondition_1d on)", {"precondition_1d": True}, title="SOAP"),)
