"""Hyperparameter declarations and spec strings: validation names the parameter and
its range, parsing of numbers and booleans, malformed specs, round trips."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optsim.engine import OPTIMIZERS, as_optimizer, make_optimizer, parse_spec
from optsim.engine.hyperparams import HyperParam, beta_param, flag_param, lr_param


def test_range_text() -> None:
    assert lr_param(1e-3).range_text() == "[0, 1000]"
    assert beta_param("beta1", 0.9, "").range_text() == "[0, 1)"
    assert HyperParam("x", float, 0.0, "", low=0.0, low_open=True).range_text() == "(0, inf)"
    assert HyperParam("x", float, 0.0, "").range_text() == "(-inf, inf)"
    assert flag_param("amsgrad", "").range_text() == "true/false"


@pytest.mark.parametrize("value", [-1e-9, 1000.5, math.inf, -math.inf, math.nan])
def test_out_of_range_lr(value: float) -> None:
    with pytest.raises(ValueError) as err:
        lr_param(1e-3).validate(value, "adam")
    msg = str(err.value)
    assert msg.startswith("adam: lr=") and "[0, 1000]" in msg


def test_bounds_are_inclusive_or_open_as_declared() -> None:
    beta = beta_param("beta2", 0.999, "")
    assert beta.validate(0.0) == 0.0
    assert beta.validate(0.999999) == 0.999999
    with pytest.raises(ValueError, match=r"beta2=1 is out of range: beta2 must be in \[0, 1\)"):
        beta.validate(1.0)
    assert lr_param(1e-3).validate(1000) == 1000.0


@pytest.mark.parametrize("value", ["0.1", None, [0.1], True, 1 + 2j])
def test_numbers_reject_other_types(value: object) -> None:
    with pytest.raises(ValueError, match=r"lr must be a number in \[0, 1000\]"):
        lr_param(1e-3).validate(value)


def test_types_are_coerced() -> None:
    assert type(lr_param(1e-3).validate(1)) is float
    count = HyperParam("n", int, 1, "", low=1, high=10)
    assert count.validate(3.0) == 3 and type(count.validate(3.0)) is int
    with pytest.raises(ValueError, match="n must be a whole number"):
        count.validate(2.5)
    flag = flag_param("centered", "")
    assert flag.validate(True) is True and flag.validate(0) is False
    with pytest.raises(ValueError, match="centered must be true or false"):
        flag.validate(2)
    with pytest.raises(ValueError, match="centered must be true or false"):
        flag.validate("true")  # text goes through parse, not validate


@pytest.mark.parametrize("text, value", [("true", True), ("True", True), (" yes ", True),
                                         ("1", True), ("on", True), ("false", False),
                                         ("FALSE", False), ("no", False), ("0", False),
                                         ("off", False)])
def test_boolean_text(text: str, value: bool) -> None:
    assert flag_param("amsgrad", "").parse(text) is value


@pytest.mark.parametrize("text", ["", "maybe", "2", "t rue"])
def test_bad_boolean_text(text: str) -> None:
    with pytest.raises(ValueError, match="amsgrad must be true or false"):
        flag_param("amsgrad", "").parse(text, "adam")


def test_number_text() -> None:
    assert lr_param(1e-3).parse(" 1e-2 ") == 0.01
    with pytest.raises(ValueError, match="lr must be a number, got 'fast'"):
        lr_param(1e-3).parse("fast")
    with pytest.raises(ValueError, match=r"lr=-0.1 is out of range"):
        lr_param(1e-3).parse("-0.1")


def test_parse_spec() -> None:
    opt = parse_spec("adam:lr=0.01,amsgrad=true")
    assert opt.algorithm == "adam" and opt.hp["lr"] == 0.01 and opt.hp["amsgrad"] is True
    assert parse_spec("  RMSprop : centered = false , momentum = 0.5 ").hp["momentum"] == 0.5
    assert parse_spec("nadam:").hp == make_optimizer("nadam").hp
    assert parse_spec("radam:decoupled_weight_decay=true,weight_decay=0.1").hp[
        "decoupled_weight_decay"] is True
    assert as_optimizer("adamw").hp["weight_decay"] == 0.01
    assert as_optimizer(opt) is opt
    with pytest.raises(TypeError):
        as_optimizer(3)  # type: ignore[arg-type]


@pytest.mark.parametrize("spec, message", [
    ("", "empty optimizer spec"),
    ("   ", "empty optimizer spec"),
    ("adamm", "unknown optimizer 'adamm'; known: sgd"),
    ("adam:lr", "malformed optimizer spec 'adam:lr': expected key=value, got 'lr'"),
    ("adam:=0.1", "expected key=value"),
    ("adam:lr=0.1,", "expected key=value"),
    ("adam:lr=0.1;beta1=0.8", "lr must be a number"),
    ("adam:betas=0.9", "unknown hyperparameter 'betas'; known: lr, beta1, beta2"),
    ("adam:lr=0.1,lr=0.2", "lr given twice"),
    ("adam:amsgrad=maybe", "amsgrad must be true or false"),
    ("adagrad:lr_decay=-1", r"lr_decay must be in [0, 1000]"),
    ("sgd:nesterov=true", "Nesterov momentum requires a momentum and zero dampening"),
])
def test_malformed_specs(spec: str, message: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_spec(spec)
    assert message in str(err.value)


def _values(draw: st.DrawFn, name: str) -> dict:
    kind = OPTIMIZERS[name]
    values = {}
    for p in kind.hyperparams:
        if not draw(st.booleans()):
            continue
        hi = p.high if p.high is not None else 1e6
        if p.kind is bool:
            values[p.name] = draw(st.booleans())
        elif p.kind is int:
            values[p.name] = draw(st.integers(int(p.low or 0) + p.low_open, int(hi) - p.high_open))
        else:
            v = draw(st.floats(p.low or 0.0, hi, allow_nan=False, exclude_min=p.low_open,
                               exclude_max=p.high_open))
            values[p.name] = v
    return values


@st.composite
def _configs(draw: st.DrawFn) -> tuple[str, dict]:
    name = draw(st.sampled_from(sorted(OPTIMIZERS)))
    return name, _values(draw, name)


#: what the optimizers' cross-checks between hyperparameters say
CROSS_CHECKS = ("Nesterov", "warm-up", "step_size_min")  # sgd, ademamix, rprop


@settings(max_examples=200, deadline=None)
@given(_configs())
def test_spec_round_trips(config: tuple[str, dict]) -> None:
    name, values = config
    try:
        opt = make_optimizer(name, **values)
    except ValueError as err:  # only the cross-checks may refuse a drawn config
        assert any(check in str(err) for check in CROSS_CHECKS), err
        return
    back = parse_spec(opt.spec)
    assert back == opt and back.hp == opt.hp and back.name == name
    assert opt.spec == name or opt.spec.startswith(name + ":")
