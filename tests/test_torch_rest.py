"""The rest of torch.optim (ASGD, Rprop, Adafactor, Muon) beyond their golden files:
bfloat16 rounding against hand-made bit patterns, Muon's Newton–Schulz on a 1×D
matrix against its closed form, ASGD's average against the mean of the positions,
Rprop's sign rule and cross-check, Adafactor's unfactored vector rule."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from optsim.engine import make_optimizer, parse_spec
from optsim.engine.optimizers.muon import bfloat16, newton_schulz_bf16
from optsim.simulation import Trajectory

A, B, C = 3.4445, -4.775, 2.0315


def _bits(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float32).view(np.uint32)


# -- bfloat16 ---------------------------------------------------------------------------


def test_bfloat16_rounds_to_nearest_even_on_the_float32_bits() -> None:
    one = 0x3F800000
    # 1 + 2^-8 is halfway between 1 and the next bfloat16 (1 + 2^-7): ties go to even (1)
    halfway = np.array([one | 0x8000], dtype=np.uint32).view(np.float32)
    assert _bits(bfloat16(halfway))[0] == one
    # halfway above an odd mantissa goes up
    odd = np.array([(one | 0x10000) | 0x8000], dtype=np.uint32).view(np.float32)
    assert _bits(bfloat16(odd))[0] == one + 0x20000
    # a hair above halfway goes up; below goes down
    above = np.array([one | 0x8001], dtype=np.uint32).view(np.float32)
    below = np.array([one | 0x7FFF], dtype=np.uint32).view(np.float32)
    assert _bits(bfloat16(above))[0] == one + 0x10000
    assert _bits(bfloat16(below))[0] == one
    # exactly representable values, signs, zero, infinities and NaN are kept
    for v in (0.0, -0.0, 1.0, -2.5, 0.15625, np.inf, -np.inf):
        assert bfloat16(np.array([v]))[0] == np.float32(v)
    assert np.isnan(bfloat16(np.array([np.nan, 1.0])))[0]
    # the largest float32 rounds up to infinity, as in torch
    assert bfloat16(np.array([np.finfo(np.float32).max]))[0] == np.inf


def test_bfloat16_of_a_float64_goes_through_float32_first() -> None:
    """torch converts float64 to float32 (nearest) and then to bfloat16: a float64 a
    hair above a bfloat16 tie becomes the tie in float32, which rounds to even."""
    tie = float(np.array([0x3F808000], dtype=np.uint32).view(np.float32)[0])  # 1 + 2^-8
    x = np.array([tie * (1 + 2**-40)])
    assert bfloat16(x)[0] == 1.0  # (rounding the float64 directly would give 1 + 2^-7)
    assert bfloat16(np.array([tie * (1 + 2**-20)]))[0] == np.float32(1 + 2**-7)


# -- Muon's Newton–Schulz on a 1×D matrix --------------------------------------------------


def _kappa(steps: int, a: float = A, b: float = B, c: float = C) -> float:
    """The singular value after ``steps`` Newton–Schulz steps from 1, in exact
    arithmetic: σ ← σ (a + b σ² + c σ⁴)."""
    s = 1.0
    for _ in range(steps):
        s = s * (a + b * s * s + c * s**4)
    return s


def test_newton_schulz_of_a_row_is_its_normalised_direction_times_kappa() -> None:
    """A 1×D matrix has one singular value: orthogonalising it divides it by its length.
    torch's five steps from σ = 1 stop at κ = 0.696 (exact arithmetic); bfloat16
    (8 bits) moves it by at most a few per cent and keeps the direction."""
    assert _kappa(5) == pytest.approx(0.6964364, abs=1e-6)
    rng = np.random.default_rng(0)
    for d in (1, 2, 3, 10):
        v = rng.standard_normal((200, d)) * np.exp(rng.uniform(-6, 6, (200, 1)))
        o = newton_schulz_bf16(v, A, B, C, 5, 1e-7)
        n = v / np.linalg.norm(v, axis=1, keepdims=True)
        kappa = np.linalg.norm(o, axis=1)
        assert np.all(np.abs(kappa / _kappa(5) - 1) < 0.04), d
        cos = np.einsum("ij,ij->i", o, n) / kappa
        assert np.all(cos > 1 - 1e-4), d
        # every coordinate is a bfloat16 number
        np.testing.assert_array_equal(bfloat16(o).astype(np.float64), o)


def test_newton_schulz_is_torchs_bit_for_bit() -> None:
    """Against torch's own ``_zeropower_via_newtonschulz`` (tools/make_golden_muon.py):
    1×D rows of lengths 1, 2, 3 and 10 over 8 decades, a zero row and one shorter than
    eps, with torch's coefficients (5 steps) and others (2 steps): every bfloat16
    output equal."""
    path = Path(__file__).parent / "golden" / "newton_schulz" / "newton_schulz.npz"
    with np.load(path) as data:
        meta = json.loads(str(data["meta"]))
        for d in (1, 2, 3, 10):
            rows = data[f"input_{d}"]
            for k, ((a, b, c), steps, eps) in enumerate(meta["settings"]):
                got = newton_schulz_bf16(rows, a, b, c, steps, eps)
                np.testing.assert_array_equal(got, data[f"output_{d}_{k}"].astype(np.float64))
                # and per row, each row with settings of its own
                col = np.full((len(rows), 1), float(steps))
                np.testing.assert_array_equal(
                    newton_schulz_bf16(rows, np.full_like(col, a), b, c, col.astype(int), eps),
                    got)


def test_newton_schulz_steps_and_coefficients_follow_the_closed_form() -> None:
    v = np.array([[3.0, -4.0]])  # length 5: n = (0.6, -0.8)
    for steps in (0, 1, 2, 3):
        o = newton_schulz_bf16(v, 2.0, -1.5, 0.5, steps, 1e-7)
        np.testing.assert_allclose(o[0], _kappa(steps, 2.0, -1.5, 0.5) * np.array([0.6, -0.8]),
                                   rtol=2**-7)
    # a zero momentum stays zero (divided by eps, not by 0)
    np.testing.assert_array_equal(newton_schulz_bf16(np.zeros((1, 3)), A, B, C, 5, 1e-7), 0)


def test_muon_steps_have_the_same_length_whatever_the_gradient() -> None:
    """On a vector every Muon step (without weight decay) is lr·κ·n: gradients a
    million times apart give steps of the same length."""
    opt = make_optimizer("muon", lr=0.1, weight_decay=0.0, momentum=0.0, nesterov=False)
    p = np.zeros((3, 2))
    grads = np.array([[3.0, 4.0], [3e-6, 4e-6], [3e6, -4e6]])
    new, _, info = opt.step_with_info(p, grads, opt.init(p))
    lengths = np.linalg.norm(new, axis=1)
    # (bfloat16 rounds each input differently: κ moves by a few per cent)
    assert np.all(np.abs(lengths / (0.1 * _kappa(5)) - 1) < 0.04)
    np.testing.assert_allclose(info["normalized"], grads / 5 / np.array([[1], [1e-6], [1e6]]))
    np.testing.assert_array_equal(info["effective_lr"], 0.1)
    # match_rms_adamw scales lr by 0.2·√D
    adj = make_optimizer("muon", lr=0.1, weight_decay=0.0, match_rms_adamw=True)
    _, _, info = adj.step_with_info(p, grads, adj.init(p))
    np.testing.assert_allclose(info["adjusted_lr"], 0.1 * 0.2 * np.sqrt(2))


def test_muon_note_says_what_orthogonalising_a_vector_means() -> None:
    note = make_optimizer("muon").note()
    assert "1×D" in note and "normalised momentum" in note and "bfloat16" in note
    assert make_optimizer("muon").traits.momentum
    assert not make_optimizer("muon", momentum=0.0).traits.momentum


# -- ASGD ---------------------------------------------------------------------------------


def test_asgd_average_is_the_mean_of_the_positions_after_t0() -> None:
    """μ = 1/max(1, t − t₀): with t₀ = 0 the average after step t is the mean of the
    positions w₂ … w_t (w₁ restarts it, as torch's μ is 1 for the first two steps)."""
    traj = Trajectory("elongated-bowl", "asgd:lr=0.02,t0=0", [[-1.0, 1.0]], record_state=True)
    traj.advance(30)
    for t in (1, 2, 3, 10, 30):
        ax = traj.state_at(t).ax[0]
        expected = traj.positions[2:t + 1, 0].mean(axis=0) if t >= 2 else traj.positions[1, 0]
        np.testing.assert_allclose(ax, expected, rtol=1e-12, atol=1e-14)
    # the default t0 = 1e6: the average is the position itself
    plain = Trajectory("elongated-bowl", "asgd", [[-1.0, 1.0]], record_state=True)
    plain.advance(5)
    np.testing.assert_array_equal(plain.state_at(5).ax[0], plain.positions[5, 0])


def test_asgd_eta_decays_as_torch_sets_it() -> None:
    opt = parse_spec("asgd:lr=0.5,lambd=0.1,alpha=0.75")
    p = np.ones((1, 2))
    s = opt.init(p)
    for t in range(1, 4):
        p, s = opt.step(p, p, s)
        assert s.eta[0, 0] == 0.5 / (1 + 0.1 * 0.5 * t) ** 0.75


# -- Rprop --------------------------------------------------------------------------------


def test_rprop_moves_each_coordinate_by_its_step_size_against_the_sign() -> None:
    opt = parse_spec("rprop:lr=0.1")
    p = np.zeros((1, 3))
    s = opt.init(p)
    p, s = opt.step(p, np.array([[5.0, -1e-9, 0.0]]), s)
    np.testing.assert_array_equal(p, [[-0.1, 0.1, 0.0]])
    # same sign: ×1.2; flipped: ×0.5 and no move; zero product: ×1
    p2, s2 = opt.step(p, np.array([[1.0, 1.0, 1.0]]), s)
    np.testing.assert_allclose(s2.step_size, [[0.12, 0.05, 0.1]])
    np.testing.assert_allclose(p2 - p, [[-0.12, 0.0, -0.1]])
    np.testing.assert_array_equal(s2.prev, [[1.0, 0.0, 1.0]])


def test_rprop_refuses_a_smallest_step_above_the_largest() -> None:
    with pytest.raises(ValueError, match="step_size_min=1 is above step_size_max=0.5"):
        parse_spec("rprop:step_size_min=1,step_size_max=0.5")
    with pytest.raises(ValueError, match=r"step_size_min\[1\]=2 is above step_size_max\[1\]=1"):
        make_optimizer("rprop", step_size_min=np.array([0.0, 2.0]), step_size_max=1.0)
    with pytest.raises(ValueError, match=r"eta_plus must be in \(1, 1000\]"):
        parse_spec("rprop:eta_plus=1")


# -- Adafactor ----------------------------------------------------------------------------


def test_adafactor_first_step_is_a_relative_sign_step() -> None:
    """Step 1: v = g² (weight 1^c = 1), so u = g/|g| = sign(g), RMS(u) = 1 (no
    clipping at d = 1), and the step is lr·max(ε₂, RMS(w)) in every coordinate."""
    opt = parse_spec("adafactor:lr=0.1")
    p = np.array([[3.0, -4.0]])
    new, _, info = opt.step_with_info(p, np.array([[2.0, 7.0]]), opt.init(p))
    rms = 5 / np.sqrt(2)
    np.testing.assert_allclose(new, p - 0.1 * rms * np.array([[1.0, 1.0]]), rtol=1e-15)
    np.testing.assert_array_equal(info["denom"], 1.0)
    # eps1 defaults to torch's None: the float64 machine epsilon
    assert parse_spec("adafactor").hp["eps1"] == np.finfo(np.float64).eps
    # at the origin the weights' size is eps2
    z = np.zeros((1, 2))
    new, _ = opt.step(z, np.array([[1.0, -1.0]]), opt.init(z))
    np.testing.assert_allclose(new, [[-1e-4, 1e-4]])
