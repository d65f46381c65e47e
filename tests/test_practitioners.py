"""pytorch-optimizer's optimizers (issue 17, section 2) beyond their golden files:
closed forms of first steps, the pieces that reproduce the reference's roundings
(fused multiply-adds, SOAP's 2×2 eigenvectors and float32 QR) against exact
arithmetic and LAPACK, and the equations' new functions (sign, f32, min)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from optsim.engine import OPTIMIZERS, make_optimizer, parse_spec
from optsim.engine.expr import bounds, evaluate, float32, minimum, sign
from optsim.engine.optimizers.soap import eigh_descending, fma, qr_float32
from optsim.simulation import simulate

NAMES = ["lion", "signsgd", "yogi", "adabelief", "qhadam", "adan", "ademamix", "lamb",
         "madgrad", "prodigy", "soap"]


@pytest.mark.parametrize("name", NAMES)
def test_each_names_its_pytorch_optimizer_class(name: str) -> None:
    kind = OPTIMIZERS[name]
    assert kind.cls.reference == f"pytorch_optimizer.{kind.cls.reference.split('.')[-1]}"
    assert "not offered" in " ".join((kind.cls.__doc__ or "").split())  # what is left out
    for p in kind.hyperparams:
        assert p.help, (name, p.name)


def test_equation_functions_sign_f32_min() -> None:
    assert evaluate("sign(-2) + sign(0) + sign(3)") == 0
    assert evaluate("f32(0.1)") == float(np.float32(0.1))
    assert evaluate("min(1, -2)") == -2 and evaluate("max(1, -2)") == 1
    lo, hi = bounds(sign(float32(minimum(_num(0.5), _num(-0.25)))))
    assert lo == hi == -1.0


def _num(x: float):
    from optsim.engine.expr import Num
    return Num((repr(x),))


def test_lion_and_signsgd_first_steps_move_each_coordinate_by_lr() -> None:
    w = np.array([[1.0, -2.0, 0.5]])
    g = np.array([[3.0, -1e-9, 0.0]])
    for spec in ("lion:lr=0.1", "signsgd:lr=0.1", "signsgd:lr=0.1,momentum=0"):
        opt = parse_spec(spec)
        new, _ = opt.step(w, g, opt.init(w))
        np.testing.assert_allclose(new - w, -0.1 * np.sign(g), rtol=0, atol=1e-15)


def test_lion_fixed_decay_is_not_scaled_by_lr() -> None:
    w, g = np.array([[2.0]]), np.array([[1.0]])
    opt = parse_spec("lion:lr=0.1,weight_decay=0.5,fixed_decay=true")
    new, _ = opt.step(w, g, opt.init(w))
    assert new[0, 0] == pytest.approx(2.0 * (1 - 0.5) - 0.1)


def test_madgrad_keeps_the_start_and_adan_starts_without_a_difference() -> None:
    w = np.array([[1.0, 2.0]])
    opt = make_optimizer("madgrad")
    s = opt.init(w)
    for _ in range(3):
        w, s = opt.step(w, 2 * w, s)
    np.testing.assert_array_equal(s.x0, [[1.0, 2.0]])
    opt = make_optimizer("adan")
    w1, s, info = opt.step_with_info(w, 2 * w, opt.init(w))
    np.testing.assert_array_equal(info["grad_diff"], 0.0)
    np.testing.assert_array_equal(s.previous_grad, -2 * w)


def test_prodigy_raises_its_learning_rate_from_d0() -> None:
    opt = make_optimizer("prodigy")
    w = np.array([[-1.0, 1.0]])
    s = opt.init(w)
    ds = []
    for _ in range(30):
        w, s = opt.step(w, np.array([[2.0, 18.0]]) * w, s)
        ds.append(s.d[0, 0])
    assert ds[0] >= 1e-6 and all(b >= a for a, b in zip(ds, ds[1:], strict=False))
    assert ds[-1] > 1e3 * 1e-6


def test_soap_first_step_does_not_move_and_needs_at_most_two_coordinates() -> None:
    w = np.array([[1.0, -1.0]])
    opt = make_optimizer("soap")
    new, s = opt.step(w, np.array([[0.3, 0.4]]), opt.init(w))
    np.testing.assert_array_equal(new, w)
    assert np.abs(s.Q0).sum() > 0  # the eigenbasis is built
    with pytest.raises(ValueError, match="up to 2 coordinates"):
        opt.init(np.zeros((1, 3)))
    off = make_optimizer("soap", precondition_1d=False)
    off.init(np.zeros((1, 3)))
    assert simulate("bowl", "soap:lr=0.1", [1.0, 1.0], 20).shape == (21, 2)


def test_fma_is_rounded_once() -> None:
    rng = np.random.default_rng(3)
    a, b, c = (rng.standard_normal(500) * 10.0 ** rng.integers(-8, 8, 500) for _ in range(3))
    got = fma(a, b, c)
    exact = [float(Fraction(x) * Fraction(y) + Fraction(z)) for x, y, z in zip(a, b, c,
                                                                             strict=True)]
    np.testing.assert_array_equal(got, exact)


def test_soap_eigenvectors_and_float32_qr() -> None:
    rng = np.random.default_rng(4)
    g = rng.standard_normal((200, 2, 2))
    g = g @ np.transpose(g, (0, 2, 1))  # symmetric, positive semi-definite
    q = eigh_descending(g)
    vals, vecs = np.linalg.eigh(g)
    np.testing.assert_allclose(np.abs(q), np.abs(vecs[:, :, ::-1]), atol=1e-12)
    a = rng.standard_normal((200, 2, 2))
    qr = qr_float32(a)
    ref = np.linalg.qr(a.astype(np.float32))[0].astype(np.float64)
    np.testing.assert_allclose(np.abs(qr), np.abs(ref), atol=1e-6)
    np.testing.assert_allclose(qr @ np.transpose(qr, (0, 2, 1)), np.eye(2)[None].repeat(200, 0),
                               atol=1e-6)
    assert qr.dtype == np.float64 and (qr == qr.astype(np.float32)).all()


def test_an_infinite_default_is_edited_as_infinity(qtbot) -> None:
    """Prodigy's growth_rate defaults to ∞: the window's editor shows and keeps it."""
    from optsim.engine import optimizer_kind
    from optsim.gui.runs_panel import NumberSpinBox, spin_limits

    p = next(q for q in optimizer_kind("prodigy").hyperparams if q.name == "growth_rate")
    spin = NumberSpinBox()
    qtbot.addWidget(spin)
    spin.setRange(*spin_limits(p))
    spin.setValue(p.default)
    assert spin.value() == float("inf") and spin.text() == "inf"
    assert spin.validate("inf", 3)[0].name == "Acceptable"
    spin.setValue(1.5)
    assert spin.value() == 1.5
