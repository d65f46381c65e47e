r"""Muon (torch.optim.Muon), with the D coordinates as the 1×D matrix torch would see,
and its Newton–Schulz iteration in bfloat16 as torch runs it."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..base import Coefs, Info, Optimizer, Out, Rule
from ..expr import Neg, Quantity, S, T, state_quantity
from ..hyperparams import HyperParam, flag_param, lr_param
from ..registry import OptimizerKind
from ..transforms import apply_rule, ema, full, lerp, set_direction

_F32 = np.float32


class MuonState(NamedTuple):
    step: int
    momentum_buffer: np.ndarray


def _round_bf16(f: np.ndarray) -> np.ndarray:
    """Round a float32 array of our own to bfloat16 in place (round-to-nearest-even on
    the bit pattern, c10's ``round_to_nearest_even``) and return it. Infinities stay;
    a NaN whose payload fills the top mantissa bits would carry into the sign: callers
    keep NaN out (:func:`bfloat16`) or only meet the default NaN of arithmetic."""
    bits = f.view(np.uint32)
    odd = bits >> 16
    odd &= 1
    odd += 0x7FFF
    bits += odd
    bits &= 0xFFFF0000
    return f


def bfloat16(x: np.ndarray) -> np.ndarray:
    """``x`` (float32 or float64) rounded to bfloat16 as torch rounds it, returned as
    float32: float64 is first rounded to float32, then the float32 bit pattern to its
    top 16 bits, round-to-nearest-even; NaN stays NaN."""
    f = _round_bf16(np.array(x, dtype=_F32))
    nan = np.isnan(np.asarray(x, dtype=_F32))
    if nan.any():
        f[nan] = np.nan
    return f


def _rows_sum_of_squares(x: np.ndarray) -> np.ndarray:
    """Σⱼ xᵢⱼ² per row, accumulated in float32 from the first column on, as torch's
    CPU kernels accumulate a bfloat16 matrix product and norm (an (N, 1) column)."""
    acc = x[:, :1] * x[:, :1]
    for j in range(1, x.shape[1]):
        col = x[:, j:j + 1]
        acc += col * col
    return acc


def newton_schulz_bf16(update: np.ndarray, a: object, b: object, c: object, steps: object,
                       eps: object) -> np.ndarray:
    """torch's ``_zeropower_via_newtonschulz`` on each row as a 1×D matrix, in
    bfloat16 as torch computes it on the CPU (float32 arithmetic, each result
    rounded to bfloat16): X = bf16(B̃); X /= max(‖X‖, ε); then ``steps`` times
    A = X Xᵀ, B = b·A + c·A·A, X = a·X + B·X. Coefficients and step counts are numbers
    or (N, 1) columns. Returns float64 (N, D); a row with a non-finite entry is NaN
    (as in torch, where its norm makes every entry NaN)."""
    a32, b32, c32 = (np.asarray(v, dtype=_F32) for v in (a, b, c))
    x = bfloat16(update)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        norm = _round_bf16(np.sqrt(_rows_sum_of_squares(x)))
        norm = np.maximum(norm, bfloat16(np.asarray(eps, dtype=np.float64)))  # .clamp(min=eps)
        x = _round_bf16(x / norm)
        most = int(np.max(steps))
        per_row = np.ndim(steps) > 0 and np.min(steps) != most
        for k in range(most):
            gram = _round_bf16(_rows_sum_of_squares(x))  # X @ X.T (1×1)
            gram_update = gram * gram                   # addmm(A, A, A, beta=b, alpha=c)
            gram_update *= c32
            gram_update += b32 * gram
            _round_bf16(gram_update)
            new = gram_update * x                       # addmm(X, B, X, beta=a)
            new += a32 * x
            _round_bf16(new)
            x = np.where(k < np.asarray(steps), new, x) if per_row else new
    return x.astype(np.float64)


def adjusted_ratio(match_rms_adamw: bool, dim: int) -> float:
    """torch's ``_adjust_lr`` factor for a 1×D matrix: √max(1, 1/D) = 1 ("original"),
    or 0.2·√max(1, D) ("match_rms_adamw")."""
    if match_rms_adamw:
        return 0.2 * math.sqrt(max(1, dim))
    return math.sqrt(max(1, 1 / dim))


class Muon(Optimizer):
    r"""Muon (Jordan et al.) as torch implements it, on the D coordinates as one 1×D
    matrix (torch's Muon accepts only matrices).

    .. math::
        B_t &= \mu B_{t-1} + (1-\mu) g_t \\
        \tilde B_t &= \mu B_t + (1-\mu) g_t \quad (\text{Nesterov; else } B_t) \\
        O_t &= \mathrm{NS}_k^{(a,b,c)}(\tilde B_t) \\
        w_t &= w_{t-1}(1 - \gamma\lambda) - \gamma' O_t

    NS is the Newton–Schulz iteration that orthogonalises a matrix, run in bfloat16
    as torch runs it (emulated here bit for bit: each operation in float32, its
    result rounded to bfloat16). For a 1×D matrix B̃ = s·n (n = B̃/‖B̃‖, one singular
    value s) orthogonalising gives n itself: the step is the normalised momentum.
    The iteration first divides by ‖B̃‖, so the singular value starts at 1, and each
    step maps it to σ(a + bσ² + cσ²); torch's coefficients are tuned to lift small
    singular values fast and leave σ = 1 oscillating: after 5 steps
    O = κn with κ ≈ 0.696 (in exact arithmetic; bfloat16 moves it slightly and
    rounds each coordinate to 8 bits). γ' = γ for the default ``adjust_lr_fn``
    ("original": √max(1, 1/D) = 1), 0.2γ√D for "match_rms_adamw". Weight decay is
    decoupled (default 0.1). torch's ``ns_coefficients`` tuple is split into
    ``ns_a``, ``ns_b``, ``ns_c``; ``adjust_lr_fn`` is the flag ``match_rms_adamw``.

    ``effective_lr`` is γ'; ``direction`` is Oₜ (plus the decay term).
    """

    algorithm = "muon"
    reference = "torch.optim.Muon"
    hyperparams = (
        lr_param(1e-3),
        HyperParam("weight_decay", float, 0.1,
                   "decoupled weight decay: shrinks the weights by lr·weight_decay·w",
                   low=0.0, high=1e3, symbol="\u03bb"),
        HyperParam("momentum", float, 0.95, "μ: the momentum buffer's decay",
                   low=0.0, high=1.0, high_open=True, symbol="\u03bc"),
        flag_param("nesterov", "Nesterov: orthogonalise μB + (1 − μ)g instead of B", True),
        HyperParam("ns_a", float, 3.4445, "Newton–Schulz coefficient a (torch's ns_coefficients[0])",
                   low=-100.0, high=100.0, symbol="a"),
        HyperParam("ns_b", float, -4.775, "Newton–Schulz coefficient b (ns_coefficients[1])",
                   low=-100.0, high=100.0, symbol="b"),
        HyperParam("ns_c", float, 2.0315, "Newton–Schulz coefficient c (ns_coefficients[2])",
                   low=-100.0, high=100.0, symbol="c"),
        HyperParam("eps", float, 1e-7, "ε: the least length B\u0303 is divided by (for stability)",
                   low=0.0, high=1.0, log=True, symbol="\u03b5"),
        HyperParam("ns_steps", int, 5, "number of Newton–Schulz steps", low=0, high=99,
                   symbol="k"),
        flag_param("match_rms_adamw",
                   "adjust_lr_fn='match_rms_adamw': lr × 0.2·√D (default 'original': lr × 1 "
                   "for a 1×D matrix)"),
    )
    State = MuonState
    momentum_fields = ("momentum_buffer",)

    def decoupled(self) -> bool:
        return True

    def has_momentum(self) -> bool:
        m = self.hp["momentum"]
        return bool(np.any(np.asarray(m) != 0))

    def update(self, c: Coefs, params: np.ndarray, grads: np.ndarray, state: MuonState,
               step: int, out_params: np.ndarray, out: Out, info: Info | None) -> None:
        lr, wd, momentum = c["lr"], c["weight_decay"], c["momentum"]
        buf = lerp(state.momentum_buffer, grads, 1 - momentum, out["momentum_buffer"])
        nesterov = lerp(grads, buf, momentum, np.empty_like(grads)) if c["nesterov"] else buf
        ortho = newton_schulz_bf16(nesterov, c["ns_a"], c["ns_b"], c["ns_c"], c["ns_steps"],
                                   c["eps"])
        adjusted_lr = lr * adjusted_ratio(c["match_rms_adamw"], params.shape[1])
        np.multiply(params, 1 - lr * wd, out=out_params)  # param.mul_(1 - lr * wd)
        t = ortho * -adjusted_lr
        out_params += t                                   # param.add_(update, alpha=-adj_lr)
        if info is not None:
            norm = np.sqrt(np.einsum("ij,ij->i", nesterov, nesterov))[:, None]
            with np.errstate(invalid="ignore", divide="ignore"):
                normalized = nesterov / norm
                scale = np.einsum("ij,ij->i", ortho, normalized)[:, None]
            info.update(grad=grads, momentum_buffer=buf, nesterov=nesterov,
                        norm=full(params, norm), normalized=normalized, ortho=ortho,
                        ns_scale=full(params, scale), adjusted_lr=full(params, adjusted_lr),
                        effective_lr=full(params, adjusted_lr))
            set_direction(info, params, lr, wd, ortho, True)

    # -- what the inspector shows ---------------------------------------------
    def quantities(self) -> dict[str, Quantity]:
        q: dict[str, Quantity] = {}
        q["momentum_buffer"], q["momentum_buffer_prev"] = state_quantity(
            "B", "momentum buffer: moving average of gradients")
        q["nesterov"] = Quantity(f"B\u0303{T}", "the matrix orthogonalised",
                                 "μB + (1 − μ)g with Nesterov, else B")
        q["norm"] = Quantity(f"\u2016B\u0303{T}\u2016", "its length", scalar=True)
        q["normalized"] = Quantity(f"n{T}", "the normalised momentum B\u0303/\u2016B\u0303\u2016",
                                   "what orthogonalising a 1×D matrix gives")
        q["ortho"] = Quantity(f"O{T}", "Newton–Schulz output (bfloat16)",
                              "≈ κ·n: the normalised momentum, times κ ≈ 0.7")
        q["ns_scale"] = Quantity("\u03ba", "length of O along n", "0.696 in exact arithmetic",
                                 scalar=True)
        q["adjusted_lr"] = Quantity("\u03b1'", "adjusted learning rate",
                                    "α (original) or 0.2·α·√D (match_rms_adamw)", scalar=True)
        return q

    def rule(self, t: int | None) -> list[Rule]:
        eqs: list[Rule] = [("grad", S("raw_grad"), "")]
        eqs.append(("momentum_buffer", ema("momentum_buffer_prev", S("grad"), "momentum"), ""))
        if self.hp["nesterov"]:
            eqs.append(("nesterov", S("momentum") * S("momentum_buffer")
                        + (1 - S("momentum")) * S("grad"), "Nesterov: look ahead"))
            source = S("nesterov")
        else:
            source = S("momentum_buffer")
        eqs.append(("normalized", source / S("norm"),
                    "orthogonalising a 1×D matrix normalises it; O = NS(B\u0303) ≈ κ·n in bfloat16"))
        step = Neg(S("adjusted_lr") * S("ortho"))
        return eqs + apply_rule(self, step, decoupled_ok=True)

    def note(self) -> str:
        return NOTE


NOTE = (
    "Muon is made for the weight matrices of a network: it replaces the momentum "
    "matrix by the nearest orthogonal matrix (all singular values 1), computed with a "
    "few Newton–Schulz steps in bfloat16. The D coordinates here are one 1×D matrix, "
    "and a 1×D matrix has a single singular value: orthogonalising it just divides "
    "it by its length. So on a vector Muon's step is the normalised momentum: every "
    "step has the same length, about 0.7·lr (the Newton–Schulz steps stop at κ ≈ 0.7, "
    "not 1), whatever the gradient's size."
)

ORDER = 86
KINDS = (OptimizerKind("muon", Muon,
                       "Muon: orthogonalised momentum (on a 1×D matrix: the normalised momentum)",
                       title="Muon"),)
