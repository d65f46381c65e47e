"""The inspector's content without Qt: equations per variant, the substituted
equations reproducing the engine's step from their own displayed text, the small
evaluator, and the teaching notes."""

from __future__ import annotations

import re

import numpy as np
import pytest

from optsim.engine import OPTIMIZERS, make_optimizer, parse_spec
from optsim.explain import (
    equations,
    evaluate,
    explain_step,
    fmt,
    note_html,
    number_html,
    substituted,
    teaching_note,
)
from optsim.simulation import Trajectory

#: registry entries whose default lr leaves these functions at once (Schedule-Free
#: SGD's 1.0): shown with a smaller one
STABLE_LR = {"schedulefree-sgd": "schedulefree-sgd:lr=0.02"}
#: every registry entry plus the variants whose equations differ
SPECS = [STABLE_LR.get(n, n) for n in sorted(OPTIMIZERS)] + [
    "sgd:lr=0.01,momentum=0.5,dampening=0.3",
    "sgd:lr=0.01,weight_decay=0.3",
    "momentum:lr=0.01,weight_decay=0.2",
    "nesterov:lr=0.01,weight_decay=0.1",
    "adam:lr=0.05,amsgrad=true",
    "adam:lr=0.05,weight_decay=0.1",
    "adamw:lr=0.05,amsgrad=true,weight_decay=0.1",
    "rmsprop:lr=0.01,centered=true",
    "rmsprop:lr=0.01,momentum=0.5",
    "rmsprop:lr=0.01,centered=true,momentum=0.5,weight_decay=0.1",
    "adagrad:lr=0.1,lr_decay=0.1,initial_accumulator_value=0.5,weight_decay=0.1",
    "adamax:lr=0.05,weight_decay=0.1",
    "nadam:lr=0.05,weight_decay=0.1",
    "nadam:lr=0.05,weight_decay=0.1,decoupled_weight_decay=true",
    "radam:lr=0.05,weight_decay=0.1",
    "radam:lr=0.05,weight_decay=0.1,decoupled_weight_decay=true",
    "adadelta:weight_decay=0.1",
    # -- helper "torchrest" --
    "asgd:lr=0.05,t0=2,lambd=0.01,weight_decay=0.1", "asgd:lr=0.05,alpha=0.5,t0=0",
    "rprop:lr=0.1,eta_minus=0.3,eta_plus=1.5,step_size_min=0.01,step_size_max=0.3",
    "adafactor:lr=0.1,weight_decay=0.1,eps2=0.5,beta2_decay=-0.5",
    "muon:lr=0.05,nesterov=false,match_rms_adamw=true,weight_decay=0",
    "muon:lr=0.05,momentum=0.5,ns_steps=8",
    "schedulefree-sgd:lr=0.02,warmup_steps=4,r=1,weight_lr_power=1,weight_decay=0.1",
    "schedulefree-adamw:lr=0.05,warmup_steps=4,r=0.5,weight_decay=0.1",
]
SPECS += [  # pytorch-optimizer's (helper "practitioners")
    "lion:lr=0.05,weight_decay=0.5", "lion:lr=0.05,weight_decay=0.5,fixed_decay=true",
    "lion:lr=0.05,weight_decay=0.5,weight_decouple=false", "signsgd:lr=0.05,momentum=0",
    "signsgd:lr=0.05,weight_decay=0.1,weight_decouple=false", "yogi:lr=0.05,weight_decay=0.1",
    "adabelief:lr=0.05,ams_bound=true,weight_decay=0.1", "adabelief:lr=0.05,rectify=true",
    "adabelief:lr=0.05,rectify=true,degenerated_to_sgd=false",
    "qhadam:lr=0.05,nu1=0.7,nu2=0.5,weight_decay=0.1",
    "qhadam:lr=0.05,weight_decay=0.1,weight_decouple=true",
    "adan:lr=0.05,weight_decay=0.1", "adan:lr=0.05,weight_decay=0.1,weight_decouple=true",
    "ademamix:lr=0.05,t_alpha_beta3=5,weight_decay=0.1",
    "ademamix:lr=0.05,weight_decay=0.1,weight_decouple=true,fixed_decay=true",
    "lamb:lr=0.05,weight_decay=0.1", "lamb:lr=0.05,weight_decay=0.1,weight_decouple=false",
    "lamb:lr=0.05,adam=true,grad_averaging=false",
    "lamb:lr=0.05,beta2=0.9,rectify=true,degenerated_to_sgd=true",
    "madgrad:lr=0.05,momentum=0,weight_decay=0.1",
    "madgrad:lr=0.05,weight_decay=0.1,weight_decouple=true",
    "prodigy:weight_decay=0.1", "prodigy:lr=0.5,beta3=0.9,growth_rate=1.5,d0=0.001",
    "prodigy:weight_decay=0.1,bias_correction=true,safeguard_warmup=true,fixed_decay=true",
    "soap:lr=0.05,precondition_frequency=3,shampoo_beta=0.5", "soap:lr=0.05,precondition_1d=false",
    "soap:lr=0.05,normalize_gradient=true,correct_bias=false,weight_decay=0",
]
CASES = [("elongated-bowl", [-1.0, 1.0]), ("himmelblau", [-0.5, -0.5]), ("cubic", [6.0])]
STEPS = 8  # RAdam switches to its rectified step at t = 6 (beta2 = 0.999)


def close(a, b) -> bool:
    return np.allclose(np.asarray(a, float), np.asarray(b, float), rtol=1e-12, atol=1e-12)


def within(s, value) -> bool:
    """The engine's ``value`` is one the displayed numbers of ``s`` can give: inside
    the interval of every value they stand for (each rounded to its shown digits,
    each operation rounded), at whatever precision they are shown."""
    v = np.asarray(value, float)
    return bool(np.all((s.low <= v) & (v <= s.high)))


@pytest.mark.parametrize("digits", [6, None])
@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("function,start", CASES)
def test_inspector_numbers_are_the_engines_and_the_equations_reproduce_the_step(
        spec, function, start, digits):
    traj = Trajectory(function, spec, [start])
    traj.advance(STEPS)
    assert not traj.diverged[0]
    for k in range(STEPS + 1):
        e = explain_step(traj, k, digits=digits)
        rows = {r.key: r.value for r in e.rows}
        # position, loss, gradient and the whole state after step k, exactly
        np.testing.assert_array_equal(rows["position"], traj.positions[k, 0])
        np.testing.assert_array_equal(rows["loss"], [traj.losses[k, 0]])
        np.testing.assert_array_equal(rows["gradient"], traj.gradient_at(k)[0])
        for f, v in traj.state_at(k)._asdict().items():
            if f in rows:
                np.testing.assert_array_equal(rows[f], np.ravel(v[0]))
        if k == 0:
            assert e.substituted == []
            continue
        info = traj.explain(k)
        for key in ("grad", "effective_lr", "direction", "update"):
            np.testing.assert_array_equal(rows[key], info[key][0])
        by_key = {}
        for s in e.substituted:
            # computed from the displayed text; the engine's value is what they give
            np.testing.assert_array_equal(evaluate(s.rhs_text), s.value)
            assert within(s, s.value), (spec, k, s.text)
            if s.expected is not None:
                # in full precision the engine's own roundings (a different order of
                # operations, an update read back from positions) may add ~1e-13
                assert within(s, s.expected) or (digits is None and close(s.value, s.expected)), \
                    (spec, k, s.text, s.low, s.expected, s.high)
            by_key[s.key] = s
            for i, (text, _html) in enumerate(s.coords):  # one coordinate at a time
                assert np.isclose(evaluate(text), np.ravel(s.value)[i], rtol=1e-12, atol=0), \
                    (spec, k, text)
            assert len(s.coords) == (np.size(s.value) if np.size(s.value) > 1 else 0)
        # the applied update and the new position, from the displayed numbers
        for key, engine in (("update", traj.positions[k, 0] - traj.positions[k - 1, 0]),
                            ("w", traj.positions[k, 0])):
            assert within(by_key[key], engine) or (digits is None
                                                   and close(by_key[key].value, engine))
        # every state variable that changed is computed by an equation
        for f in traj.state_at(k)._fields[1:]:
            if f in rows and not np.array_equal(rows[f], np.ravel(getattr(traj.state_at(k - 1), f)[0])):
                assert f in by_key, (spec, f)


@pytest.mark.parametrize("digits", [6, None])
def test_every_displayed_number_round_trips_and_appears_in_the_html(digits):
    traj = Trajectory("elongated-bowl", "adam:lr=0.1,amsgrad=true", [[-1.0, 1.0]])
    traj.advance(3)
    for s in explain_step(traj, 3, digits=digits).substituted:
        numbers = re.findall(r"-?\d+\.?\d*(?:e[+-]?\d+)?", s.rhs_text)
        assert numbers
        for n in numbers:
            assert fmt(float(n), digits) == n or float(fmt(float(n), digits)) == float(n)
            if not (isinstance(s.expected, np.ndarray) and fmt(float(n), digits) in
                    [fmt(x, digits) for x in np.ravel(s.expected)]):
                assert number_html(n.lstrip("-")) in s.html or number_html(n) in s.html, (n, s.html)
            if digits:
                assert len(re.sub(r"e.*|[-.]|^0+", "", n.lstrip("-0."))) <= digits, n


def test_numbers_show_six_significant_digits_without_rounding_noise():
    assert fmt(-15.499999999999996, 6) == "-15.5"
    assert fmt(24.025000000000002, 6) == "24.025"
    assert fmt(0.03261490790400001, 6) == "0.0326149"
    assert fmt(1e-8, 6) == "1e-8" and fmt(123456789.0, 6) == "1.23457e8"
    assert fmt(-15.499999999999996) == "-15.499999999999996"  # full precision: as it is
    assert evaluate(fmt(1e-8, 6)) == 1e-8
    assert number_html("1e-8") == "<span style='white-space:nowrap'>1\u00d710<sup>\u22128</sup></span>"
    assert number_html("-15.5") == "<span style='white-space:nowrap'>\u221215.5</span>"


@pytest.mark.parametrize("spec", ["sgd:lr=0.05", "adam:lr=0.1,weight_decay=0.1",
                                  "rmsprop:lr=0.01,momentum=0.5", "radam", "adamw"])
@pytest.mark.parametrize("digits", [6, None])
def test_no_identity_lines(spec, digits):
    """``g = ∇f`` shows the gradient once: never ``x = x``."""
    traj = Trajectory("elongated-bowl", spec, [[-1.0, 1.0]])
    traj.advance(8)
    for k in range(1, 9):
        for s in explain_step(traj, k, digits=digits).substituted:
            parts = s.html.split(" = ")
            assert all(a != b for a, b in zip(parts[1:], parts[2:], strict=False)), s.html
            for _text, line in s.coords:
                sides = line.split(" = ")
                assert len(sides) == 1 or sides[0] != sides[1], line
    grad = {s.key: s for s in explain_step(traj, 3).substituted}["grad"]
    # without L2 decay: g_t = (the gradient), no middle term
    assert grad.html.count(" = ") == (2 if "weight_decay" in spec else 1)


def test_adam_note_keeps_the_hats_on_their_letters():
    note = teaching_note(make_optimizer("adam"))
    assert "m\u0302" in note and "v\u0302" in note
    rich = note_html(note)
    # each combining hat sits inside an unbreakable span with its letter
    assert rich.count("\u0302") == note.count("\u0302")
    for m in re.finditer("\u0302", rich):
        before = rich[:m.start()]
        assert before.rfind("white-space:nowrap") > before.rfind("</span>")


def test_adam_first_step_closed_form():
    # t = 1: m̂ = g, v̂ = g², so the step is −lr·g/(|g| + eps): about −lr·sign(g)
    opt = make_optimizer("adam", lr=0.1)
    p = np.array([[-1.0, 1.0]])
    g = np.array([[-2.0, 18.0]])
    _, _, info = opt.step_with_info(p, g, opt.init(p))
    init = opt.init(p)
    previous = type(init)(**{f: (v[0] if isinstance(v, np.ndarray) else v)
                             for f, v in init._asdict().items()})
    subs = substituted(opt, {k: v[0] for k, v in info.items()}, p[0], 1, previous, digits=None)
    upd = {s.key: s.value for s in subs}["update"]
    np.testing.assert_allclose(upd, -0.1 * g[0] / (np.abs(g[0]) + 1e-8), rtol=1e-14)


def test_sgd_momentum_first_and_later_steps_closed_form():
    # b_1 = g_1, b_2 = mu b_1 + g_2 (torch); the course's form: m_2 = mu m_1 + (1 - mu) g_2
    traj = Trajectory("bowl", "momentum:lr=0.1", [[1.0, 2.0]])
    traj.advance(2)
    w0, w1 = traj.positions[0, 0], traj.positions[1, 0]
    g0, g1 = 2 * w0, 2 * w1
    first = {s.key: s for s in explain_step(traj, 1, digits=None).substituted}
    assert first["momentum_buffer"].rhs_text == f"[{fmt(g0[0])}, {fmt(g0[1])}]"
    second = {s.key: s.value for s in explain_step(traj, 2, digits=None).substituted}
    np.testing.assert_allclose(second["momentum_buffer"], 0.9 * g0 + g1, rtol=1e-14)
    np.testing.assert_allclose(second["update"], -0.1 * (0.9 * g0 + g1), rtol=1e-14)
    ema = Trajectory("bowl", "ema-momentum:lr=0.1", [[1.0, 2.0]])
    ema.advance(2)
    g1e = 2 * ema.positions[1, 0]
    sub = {s.key: s.value for s in explain_step(ema, 2, digits=None).substituted}
    np.testing.assert_allclose(sub["momentum_buffer"], 0.9 * g0 + 0.1 * g1e, rtol=1e-14)


def _html(spec: str) -> str:
    return " | ".join(e.html for e in equations(parse_spec(spec)))


def test_equations_follow_the_variant():
    assert "(1 \u2212 \u03bc)" in _html("ema-momentum")  # the course's moving average
    assert "m<sub>t</sub>" in _html("ema-momentum")
    assert "(1 \u2212" not in _html("momentum") and "b<sub>t</sub>" in _html("momentum")
    assert "(1 \u2212 \u03c4)" in _html("sgd:momentum=0.5,dampening=0.3")
    assert "d<sub>t</sub> = g<sub>t</sub> + \u03bc\u00b7b<sub>t</sub>" in _html("nesterov")
    assert "\u03bb" not in _html("adam") and "\u03bb" not in _html("sgd")
    assert "\u2207f(w<sub>t\u22121</sub>) + \u03bb\u00b7w<sub>t\u22121</sub>" in _html("adam:weight_decay=0.1")
    adamw = equations(parse_spec("adamw"))
    assert [e.html for e in adamw if e.key == "grad"] == ["g<sub>t</sub> = \u2207f(w<sub>t\u22121</sub>)"]
    assert "\u03bb\u00b7w<sub>t\u22121</sub>" in [e.html for e in adamw if e.key == "update"][0]
    assert "max(" not in _html("adam") and "max(" in _html("adam:amsgrad=true")
    assert "v<sup>max</sup>" in _html("adam:amsgrad=true")
    assert "m\u0302" in _html("adam") and "v\u0302" in _html("adam")
    assert "\u1e21" not in _html("rmsprop") and "\u1e21" in _html("rmsprop:centered=true")
    assert "b<sub>t</sub>" in _html("rmsprop:momentum=0.5") and "b<sub>t</sub>" not in _html("rmsprop")
    assert "\u03c1<sub>t</sub>" in _html("radam")
    assert "u<sub>t</sub>" in _html("adamax") and "|g<sub>t</sub>|" in _html("adamax")
    # RAdam's two regimes: momentum only for t <= 5, rectified from t = 6 on (beta2 = 0.999)
    radam = parse_spec("radam")
    assert "rect" not in [e.key for e in equations(radam, t=5)]
    assert "rect" in [e.key for e in equations(radam, t=6)]


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_optimizer_has_equations_and_a_teaching_note(name):
    opt = make_optimizer(name)
    eqs = equations(opt)
    assert eqs[-1].key == "w" and "update" in [e.key for e in eqs]
    note = teaching_note(opt)
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", note) if s.strip()]
    assert 3 <= len(sentences) <= 6, (name, len(sentences))


def test_evaluator_arithmetic_against_python():
    assert evaluate("1 + 2 * 3") == 7
    assert evaluate("-2^2") == -4
    assert evaluate("(1 - 0.9^3)") == 1 - 0.9**3
    assert evaluate("2 / 4 / 2") == 0.25
    assert evaluate("1 - 2 - 3") == -4
    np.testing.assert_array_equal(evaluate("[1, -2] * 3"), [3, -6])
    np.testing.assert_array_equal(evaluate("sqrt([4, 9]) + 1e-08"), [2 + 1e-8, 3 + 1e-8])
    np.testing.assert_array_equal(evaluate("max([1, 5], [3, 2])"), [3, 5])
    np.testing.assert_array_equal(evaluate("abs([-1.5, 2])"), [1.5, 2])
    assert evaluate("0.1 * (-0.5)") == -0.05


@pytest.mark.parametrize("bad", ["1 +", "__import__('os')", "1 2", "max(1)", "[1, 2", "x * 2", ""])
def test_evaluator_rejects_malformed_text(bad):
    with pytest.raises(ValueError):
        evaluate(bad)


def test_frozen_run_shows_the_step_it_would_have_taken():
    traj = Trajectory("bowl", "sgd:lr=5", [[1.0, 1.0]])
    traj.advance(6)
    d = int(traj.diverged_step[0])
    assert d > 0
    e = explain_step(traj, d)
    assert e.frozen
    upd = {s.key: s.value for s in explain_step(traj, d, digits=None).substituted}["update"]
    # plain GD: update = -lr * grad at the previous position (2 w for the bowl)
    np.testing.assert_allclose(upd, -5 * 2 * traj.positions[d - 1, 0], rtol=1e-14)
    assert not explain_step(traj, d - 1).frozen


def test_bad_step_is_a_clear_error():
    traj = Trajectory("bowl", "adam", [[1.0, 1.0]])
    with pytest.raises(IndexError, match="not recorded"):
        explain_step(traj, 3)
    with pytest.raises(ValueError, match="steps count from 1"):
        substituted(traj.optimizer, {}, [1.0, 1.0], 0)


def test_non_finite_numbers_display_and_read_back():
    assert [fmt(v) for v in (float("nan"), float("inf"), -float("inf"), -0.0, 3.0, 0.1)] == \
        ["nan", "inf", "-inf", "-0.0", "3", "0.1"]
    assert evaluate("-inf") == -np.inf and np.isnan(evaluate("nan * 2"))
    # a run that overflowed: the inspector still shows it (the step it would have taken)
    traj = Trajectory("cubic", "sgd:lr=100", [[7.0]])
    traj.advance(4)
    assert traj.diverged[0]
    for k in range(5):
        e = explain_step(traj, k)
        assert e.frozen == (k >= traj.diverged_step[0])


def test_explain_imports_no_qt():
    import subprocess
    import sys
    code = ("import sys, optsim.explain; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph')]; "
            "print(bad); raise SystemExit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("spec", ["sgd:lr=0.05", "adam:lr=0.1,weight_decay=0.1", "rmsprop:lr=0.05"])
def test_gradient_noise_is_shown_and_the_step_still_reproduces(spec):
    traj = Trajectory("elongated-bowl", spec, [[-1.0, 1.0]], noise=1.5, seed=7)
    traj.advance(4)
    e = explain_step(traj, 3)
    grad_eq = [q for q in e.equations if q.key == "grad"][0]
    assert "\u03be" in grad_eq.html  # g = ∇f + ξ (+ λw)
    subs = {s.key: s for s in explain_step(traj, 3, digits=None).substituted}
    noise = [r.value for r in e.rows if r.key == "noise"][0]
    np.testing.assert_allclose(noise, traj.gradient_used(2)[0] - traj.explain(3)["raw_grad"][0],
                               rtol=1e-15)
    assert np.abs(noise).max() > 0.01
    np.testing.assert_allclose(subs["grad"].value, traj.explain(3)["grad"][0], rtol=1e-12)
    assert close(subs["update"].value, traj.positions[3, 0] - traj.positions[2, 0])
