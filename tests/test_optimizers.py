"""The optimizer engine: declarations against torch's documented defaults, the
cross-checks torch makes, the info identity update = −effective_lr · direction,
purity, the one stepping path (apply), and closed forms of the first steps."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from optsim.engine import OPTIMIZERS, make_optimizer, parse_spec
from optsim.functions import get_function
from optsim.simulation import function_closure

#: the loss handed to the optimizers that evaluate it themselves (Newton, L-BFGS);
#: the others ignore it
CLOSURE = function_closure(get_function("himmelblau"))

# torch.optim's documented defaults (torch 2.x signatures), betas split into beta1/beta2
TORCH_DEFAULTS = {
    "sgd": {"lr": 1e-3, "momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0,
            "nesterov": False},
    "adam": {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0,
             "amsgrad": False},
    "adamw": {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 1e-2,
              "amsgrad": False},
    "adagrad": {"lr": 1e-2, "lr_decay": 0.0, "weight_decay": 0.0,
                "initial_accumulator_value": 0.0, "eps": 1e-10},
    "rmsprop": {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0, "momentum": 0.0,
                "centered": False},
    "adamax": {"lr": 2e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0},
    "nadam": {"lr": 2e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0,
              "momentum_decay": 4e-3, "decoupled_weight_decay": False},
    "radam": {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0,
              "decoupled_weight_decay": False},
    "adadelta": {"lr": 1.0, "rho": 0.9, "eps": 1e-6, "weight_decay": 0.0},
    # -- the rest of torch.optim (issue 17, section 1: helper "torchrest") --------------
    "asgd": {"lr": 1e-2, "lambd": 1e-4, "alpha": 0.75, "t0": 1e6, "weight_decay": 0.0},
    "rprop": {"lr": 1e-2, "eta_minus": 0.5, "eta_plus": 1.2, "step_size_min": 1e-6,
              "step_size_max": 50.0},
    # eps1: torch's None, the machine epsilon of float64
    "adafactor": {"lr": 1e-2, "beta2_decay": -0.8, "eps1": 2.220446049250313e-16,
                  "eps2": 1e-3, "d": 1.0, "weight_decay": 0.0},
    "muon": {"lr": 1e-3, "weight_decay": 0.1, "momentum": 0.95, "nesterov": True,
             "ns_a": 3.4445, "ns_b": -4.775, "ns_c": 2.0315, "eps": 1e-7, "ns_steps": 5,
             "match_rms_adamw": False},
    # schedulefree 1.4.1 (SGDScheduleFree, AdamWScheduleFree)
    "schedulefree-sgd": {"lr": 1.0, "momentum": 0.9, "weight_decay": 0.0, "warmup_steps": 0,
                         "r": 0.0, "weight_lr_power": 2.0},
    "schedulefree-adamw": {"lr": 0.0025, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8,
                           "weight_decay": 0.0, "warmup_steps": 0, "r": 0.0,
                           "weight_lr_power": 2.0},
}
# pytorch-optimizer 4.1.0's defaults (helper "practitioners")
TORCH_DEFAULTS.update({
    "lion": {"lr": 1e-4, "beta1": 0.9, "beta2": 0.99, "weight_decay": 0.0,
             "weight_decouple": True, "fixed_decay": False},
    "signsgd": {"lr": 1e-3, "momentum": 0.9, "weight_decay": 0.0, "weight_decouple": True},
    "yogi": {"lr": 1e-2, "beta1": 0.9, "beta2": 0.999, "initial_accumulator": 1e-6,
             "weight_decay": 0.0, "weight_decouple": True, "fixed_decay": False, "eps": 1e-3},
    "adabelief": {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "weight_decay": 0.0,
                  "weight_decouple": True, "fixed_decay": False, "rectify": False,
                  "n_sma_threshold": 5, "degenerated_to_sgd": True, "ams_bound": False,
                  "eps": 1e-16},
    "qhadam": {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "nu1": 1.0, "nu2": 1.0,
               "weight_decay": 0.0, "weight_decouple": False, "fixed_decay": False,
               "eps": 1e-8},
    "adan": {"lr": 1e-3, "beta1": 0.98, "beta2": 0.92, "beta3": 0.99, "weight_decay": 0.0,
             "weight_decouple": False, "eps": 1e-8},
    "ademamix": {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "beta3": 0.9999,
                 "weight_decay": 0.0, "weight_decouple": False, "fixed_decay": False,
                 "alpha": 5.0, "t_alpha_beta3": 0.0, "eps": 1e-8},  # t_alpha_beta3 None: 0
    "lamb": {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "weight_decay": 0.0,
             "weight_decouple": True, "fixed_decay": False, "rectify": False,
             "degenerated_to_sgd": False, "n_sma_threshold": 5, "grad_averaging": True,
             "adam": False, "eps": 1e-6},
    "madgrad": {"lr": 1e-3, "momentum": 0.9, "weight_decay": 0.0, "weight_decouple": False,
                "eps": 1e-6},
    "prodigy": {"lr": 1.0, "beta1": 0.9, "beta2": 0.999, "beta3": 0.0, "d0": 1e-6,
                "d_coef": 1.0, "growth_rate": math.inf, "weight_decay": 0.0,
                "weight_decouple": True, "fixed_decay": False, "bias_correction": False,
                "safeguard_warmup": False, "eps": 1e-8},  # beta3 None: 0
    # shampoo_beta None: 0; optsim's soap preconditions a run: precondition_1d true
    "soap": {"lr": 3e-3, "beta1": 0.95, "beta2": 0.95, "shampoo_beta": 0.0,
             "weight_decay": 1e-2, "precondition_frequency": 10, "max_precondition_dim": 10000,
             "precondition_1d": True, "correct_bias": True, "normalize_gradient": False,
             "eps": 1e-8},
})

#: every registered name plus the non-default variants of each rule
VARIANTS = sorted(OPTIMIZERS) + [
    "sgd:lr=0.01,momentum=0.9,dampening=0.3,weight_decay=0.1",
    "sgd:lr=0.01,momentum=0.5,nesterov=true,weight_decay=0.1",
    "adam:lr=0.01,amsgrad=true,weight_decay=0.1",
    "adamw:lr=0.01,amsgrad=true,weight_decay=0.5",
    "adagrad:lr=0.1,lr_decay=0.1,weight_decay=0.1,initial_accumulator_value=0.5",
    "rmsprop:centered=true", "rmsprop:momentum=0.9", "rmsprop:momentum=0.5,centered=true,weight_decay=0.1",
    "adamax:weight_decay=0.1",
    "nadam:weight_decay=0.1", "nadam:weight_decay=0.1,decoupled_weight_decay=true",
    "nadam:momentum_decay=0.1",
    "radam:weight_decay=0.1", "radam:weight_decay=0.1,decoupled_weight_decay=true",
    "radam:beta2=0.9",
    "adadelta:rho=0.5,weight_decay=0.1",
    # -- helper "torchrest" --
    "asgd:t0=3,lambd=0.1,weight_decay=0.1", "rprop:lr=0.1,step_size_max=0.2",
    "adafactor:weight_decay=0.1,eps2=0.5,d=1.5", "muon:nesterov=false,match_rms_adamw=true",
    "muon:momentum=0,weight_decay=0,ns_steps=2",
    "schedulefree-sgd:lr=0.1,warmup_steps=5,r=1,weight_lr_power=1,weight_decay=0.1",
    "schedulefree-adamw:lr=0.1,warmup_steps=5,r=0.5,weight_lr_power=0,weight_decay=0.1",
]
VARIANTS += [  # pytorch-optimizer's (helper "practitioners")
    "lion:lr=0.01,weight_decay=0.5", "lion:lr=0.01,weight_decay=0.5,fixed_decay=true",
    "lion:lr=0.01,weight_decay=0.5,weight_decouple=false", "signsgd:momentum=0",
    "signsgd:weight_decay=0.1,weight_decouple=false", "yogi:weight_decay=0.1",
    "adabelief:ams_bound=true,weight_decay=0.1", "adabelief:rectify=true",
    "adabelief:rectify=true,degenerated_to_sgd=false,weight_decouple=false,weight_decay=0.1",
    "qhadam:nu1=0.7,nu2=0.5,weight_decay=0.1", "qhadam:weight_decay=0.1,weight_decouple=true",
    "adan:weight_decay=0.1", "adan:weight_decay=0.1,weight_decouple=true",
    "ademamix:t_alpha_beta3=5,weight_decay=0.1", "ademamix:weight_decay=0.1,weight_decouple=true",
    "lamb:weight_decay=0.1", "lamb:weight_decay=0.1,weight_decouple=false",
    "lamb:adam=true,grad_averaging=false", "lamb:rectify=true,beta2=0.9",
    "lamb:rectify=true,degenerated_to_sgd=true,beta2=0.9",
    "madgrad:momentum=0,weight_decay=0.1", "madgrad:weight_decay=0.1,weight_decouple=true",
    "madgrad:eps=0",
    "prodigy:weight_decay=0.1", "prodigy:beta3=0.9,growth_rate=1.5,d_coef=0.5",
    "prodigy:weight_decay=0.1,bias_correction=true,safeguard_warmup=true,fixed_decay=true",
    "soap:precondition_frequency=2,shampoo_beta=0.5", "soap:precondition_1d=false",
    "soap:normalize_gradient=true,correct_bias=false,weight_decay=0",
]


def _grads(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    return rng.standard_normal(shape) * 3


def test_every_algorithm_is_registered_under_its_name() -> None:
    assert set(TORCH_DEFAULTS) <= set(OPTIMIZERS)
    assert {"momentum", "nesterov", "ema-momentum"} <= set(OPTIMIZERS)
    for name, kind in OPTIMIZERS.items():
        assert kind.summary and "\n" not in kind.summary, name


@pytest.mark.parametrize("name", sorted(TORCH_DEFAULTS))
def test_declared_defaults_equal_torch(name: str) -> None:
    declared = {p.name: p.default for p in OPTIMIZERS[name].hyperparams}
    assert declared == TORCH_DEFAULTS[name]
    for key, value in TORCH_DEFAULTS[name].items():
        assert type(declared[key]) is type(value), key
    opt = make_optimizer(name)
    assert opt.hp == TORCH_DEFAULTS[name]
    assert opt.spec == name


def test_named_variants_change_only_their_defaults() -> None:
    assert make_optimizer("momentum").hp == {**TORCH_DEFAULTS["sgd"], "momentum": 0.9}
    assert make_optimizer("nesterov").hp == {**TORCH_DEFAULTS["sgd"], "momentum": 0.9,
                                             "nesterov": True}
    assert make_optimizer("ema-momentum").hp == {**TORCH_DEFAULTS["sgd"], "momentum": 0.9,
                                                 "dampening": 0.9}


@pytest.mark.parametrize("spec", [
    "sgd:nesterov=true",                          # no momentum
    "sgd:momentum=0.9,dampening=0.1,nesterov=true",
    "nesterov:momentum=0",
    "nesterov:dampening=0.5",
])
def test_nesterov_needs_momentum_and_no_dampening(spec: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_spec(spec)
    msg = str(err.value)
    assert "Nesterov" in msg and "momentum" in msg and "dampening" in msg
    assert "(0, 1)" in msg


@pytest.mark.parametrize("spec, name, range_text", [
    ("adam:beta1=1", "beta1", "[0, 1)"),
    ("adam:beta2=-0.1", "beta2", "[0, 1)"),
    ("adamw:lr=-1", "lr", "[0, 1000]"),
    ("rmsprop:alpha=1.5", "alpha", "[0, 1]"),
    ("rmsprop:momentum=1", "momentum", "[0, 1)"),
    ("adagrad:lr_decay=-0.1", "lr_decay", "[0, 1000]"),
    ("adagrad:initial_accumulator_value=-1", "initial_accumulator_value", "[0, 1000000]"),
    ("adagrad:eps=-1e-10", "eps", "[0, 1]"),
    ("nadam:momentum_decay=-1", "momentum_decay", "[0, 1000]"),
    ("radam:weight_decay=-0.5", "weight_decay", "[0, 1000]"),
    ("adadelta:rho=1.01", "rho", "[0, 1]"),
    ("adamax:beta1=nan", "beta1", "[0, 1)"),
])
def test_out_of_range_names_the_parameter_and_its_range(spec: str, name: str,
                                                        range_text: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_spec(spec)
    assert name in str(err.value) and range_text in str(err.value)


def test_unknown_and_wrongly_typed_values_raise() -> None:
    with pytest.raises(ValueError, match="unknown hyperparameter 'betas'.*beta1"):
        make_optimizer("adam", betas=(0.9, 0.99))
    with pytest.raises(ValueError, match="centered must be true or false"):
        make_optimizer("rmsprop", centered="yes please")
    with pytest.raises(ValueError, match=r"lr must be a number in \[0, 1000\]"):
        make_optimizer("adadelta", lr="1")
    with pytest.raises(ValueError, match="amsgrad"):
        make_optimizer("adamw", amsgrad=0.5)


def test_step_rejects_mismatched_shapes() -> None:
    opt = make_optimizer("adam")
    state = opt.init(np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        opt.step(np.zeros((3, 2)), np.zeros((2, 2)), state)
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        opt.step(np.zeros(2), np.zeros(2), state)


@pytest.mark.parametrize("spec", VARIANTS)
def test_update_is_minus_effective_lr_times_direction(spec: str) -> None:
    opt = parse_spec(spec)
    rng = np.random.default_rng(1)
    params = rng.uniform(-2, 2, (5, 2))
    state = opt.init(params)
    for _ in range(12):
        g = _grads(rng, params.shape)
        new, new_state, info = opt.step_with_info(params, g, state, closure=CLOSURE)
        assert {"grad", "update", "effective_lr", "direction"} <= set(info)
        for key, value in info.items():  # every quantity can be drawn per coordinate
            if key in opt.extra_info:
                continue
            assert isinstance(value, np.ndarray) and value.shape == params.shape, key
            assert value.dtype == np.float64, key
        assert (info["effective_lr"] >= 0).all()
        np.testing.assert_allclose(info["update"], -info["effective_lr"] * info["direction"],
                                   rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(info["update"], new - params)
        # with and without info: the same step, to the last bit
        again, again_state = opt.step(params, g, state, closure=CLOSURE)
        np.testing.assert_array_equal(again, new)
        for a, b in zip(again_state[1:], new_state[1:], strict=True):
            np.testing.assert_array_equal(a, b)
        params, state = new, new_state
    assert state.step == 12


@pytest.mark.parametrize("spec", VARIANTS)
def test_apply_writes_into_given_arrays_and_returns_them_and_changes_nothing(spec: str) -> None:
    """``apply`` (the one path every step takes; the simulation passes rows of its
    history): the new parameters and live state land in the caller's arrays, bit
    for bit what ``step`` gives, the inputs untouched."""
    opt = parse_spec(spec)
    rng = np.random.default_rng(5)
    params = rng.uniform(-2, 2, (3, 2))
    p_fresh, s_fresh = params, opt.init(params)
    p_given, s_given = params, opt.init(params)
    rows = np.full((5, 3, 2), np.nan)
    states = {f: np.full((5,) + getattr(s_fresh, f).shape, np.nan) for f in opt.live_fields()}
    for k in range(5):
        g = _grads(rng, params.shape)
        p_fresh, s_fresh = opt.step(p_fresh, g, s_fresh, closure=CLOSURE)
        before = (p_given.copy(), g.copy(), [np.copy(a) for a in s_given[1:]])
        out = {f: a[k] for f, a in states.items()}
        p_given, s_given = opt.apply(p_given, g, s_given, rows[k], out, closure=CLOSURE)
        np.testing.assert_array_equal(before[1], g)
        assert np.shares_memory(p_given, rows[k])
        np.testing.assert_array_equal(rows[k], p_fresh)
        for f in states:
            assert getattr(s_given, f) is out[f]
        for a, b in zip(s_given, s_fresh, strict=True):
            np.testing.assert_array_equal(a, b)
        if k:
            np.testing.assert_array_equal(rows[k - 1], before[0])


@settings(max_examples=40, deadline=None)
@given(spec=st.sampled_from(VARIANTS),
       params=arrays(np.float64, (3, 2), elements=st.floats(-1e3, 1e3)),
       grads=arrays(np.float64, (3, 2), elements=st.floats(-1e3, 1e3)),
       steps=st.integers(1, 4))
def test_step_is_pure(spec: str, params: np.ndarray, grads: np.ndarray, steps: int) -> None:
    opt = parse_spec(spec)
    state = opt.init(params)
    with np.errstate(all="ignore"):
        for _ in range(steps - 1):
            _, state = opt.step(params, grads, state, closure=CLOSURE)
    before = (params.copy(), grads.copy(), [np.copy(a) for a in state])
    with np.errstate(all="ignore"):
        first = opt.step(params, grads, state, closure=CLOSURE)
        opt.step_with_info(params, grads, state, closure=CLOSURE)
        second = opt.step(params, grads, state, closure=CLOSURE)
    np.testing.assert_array_equal(params, before[0])
    np.testing.assert_array_equal(grads, before[1])
    for a, b in zip(state, before[2], strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(first[0], second[0])
    assert first[1].step == state.step + 1


def test_live_state_is_new_memory_and_dead_state_is_untouched() -> None:
    opt = parse_spec("adam")  # max_exp_avg_sq is not used without amsgrad
    p = np.ones((2, 2))
    state = opt.init(p)
    _, new = opt.step(p, np.ones((2, 2)), state)
    assert not np.shares_memory(new.exp_avg, state.exp_avg)
    assert not np.shares_memory(new.exp_avg, p)
    assert (new.max_exp_avg_sq == 0).all()


def test_ema_momentum_is_the_course_moving_average() -> None:
    # m_1 = g_1, m_t = beta m_(t-1) + (1 - beta) g_t, w_t = w_(t-1) - lr m_t
    lr, beta = 0.01, 0.9
    opt = make_optimizer("ema-momentum", lr=lr)
    rng = np.random.default_rng(3)
    w = rng.standard_normal((4, 2))
    state = opt.init(w)
    w_ref, m = w.copy(), None
    for _ in range(30):
        g = rng.standard_normal(w.shape)
        m = g.copy() if m is None else beta * m + (1 - beta) * g
        w_ref = w_ref - lr * m
        w, state = opt.step(w, g, state)
        np.testing.assert_allclose(state.momentum_buffer, m, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(w, w_ref, rtol=1e-13, atol=1e-15)


def test_heavy_ball_and_nesterov_closed_forms() -> None:
    lr, mu = 0.1, 0.9
    g1, g2 = np.array([[1.0, -2.0]]), np.array([[0.5, 4.0]])
    w0 = np.zeros((1, 2))
    opt = make_optimizer("momentum", lr=lr)
    w1, s = opt.step(w0, g1, opt.init(w0))
    w2, _ = opt.step(w1, g2, s)
    np.testing.assert_allclose(w2, w0 - lr * g1 - lr * (mu * g1 + g2), rtol=1e-15)
    opt = make_optimizer("nesterov", lr=lr)
    w1, s = opt.step(w0, g1, opt.init(w0))
    np.testing.assert_allclose(w1, w0 - lr * (g1 + mu * g1), rtol=1e-15)
    w2, _ = opt.step(w1, g2, s)
    np.testing.assert_allclose(w2, w1 - lr * (g2 + mu * (mu * g1 + g2)), rtol=1e-15)


def test_first_steps_in_closed_form() -> None:
    g = np.array([[3.0, -0.25]])
    w = np.array([[1.0, 2.0]])

    def first(spec: str) -> tuple[np.ndarray, dict]:
        opt = parse_spec(spec)
        new, _, info = opt.step_with_info(w, g, opt.init(w))
        return new - w, info

    # Adam, Adamax, Adagrad, RMSProp(no momentum) move each coordinate by ~lr·sign(g) first
    upd, info = first("adam:lr=0.1")
    np.testing.assert_allclose(upd, -0.1 * np.sign(g), rtol=1e-7)
    assert info["bias_correction1"][0, 0] == pytest.approx(0.1)
    upd, _ = first("adamax:lr=0.1")
    np.testing.assert_allclose(upd, -0.1 * g / (np.abs(g) + 1e-8), rtol=1e-12)
    upd, _ = first("adagrad:lr=0.1")
    np.testing.assert_allclose(upd, -0.1 * g / (np.abs(g) + 1e-10), rtol=1e-12)
    upd, _ = first("rmsprop:lr=0.01,alpha=0.99")
    np.testing.assert_allclose(upd, -0.01 * g / (np.sqrt(0.01) * np.abs(g) + 1e-8), rtol=1e-13)
    upd, info = first("rmsprop:lr=0.01,alpha=0.99,centered=true")
    np.testing.assert_allclose(info["grad_avg"], 0.01 * g, rtol=1e-12)
    np.testing.assert_allclose(upd, -0.01 * g / (np.sqrt(0.01 * g**2 - 1e-4 * g**2) + 1e-8),
                               rtol=1e-12)
    # AdamW: decay the weights, then the Adam step
    upd, _ = first("adamw:lr=0.1,weight_decay=0.5")
    np.testing.assert_allclose(upd, -0.1 * 0.5 * w - 0.1 * np.sign(g), rtol=1e-7, atol=1e-7)
    # RAdam: rho_1 <= 5, so SGD on the bias-corrected momentum: -lr g
    upd, info = first("radam:lr=0.1")
    np.testing.assert_allclose(upd, -0.1 * g, rtol=1e-12)
    assert info["rho_t"][0, 0] == pytest.approx(1.0)
    # Adadelta: delta = sqrt(eps) / sqrt((1 - rho) g^2 + eps) g
    upd, _ = first("adadelta")
    np.testing.assert_allclose(upd, -math.sqrt(1e-6) / np.sqrt(0.1 * g**2 + 1e-6) * g, rtol=1e-12)
    # NAdam: mu_1 = 0.9 (1 - 0.5 · 0.96^0.004), mu_2 likewise; m_1 = 0.1 g, v_1 = 0.001 g²
    mu1 = 0.9 * (1 - 0.5 * 0.96**0.004)
    mu2 = 0.9 * (1 - 0.5 * 0.96**0.008)
    denom = np.sqrt(0.001 * g**2 / 0.001) + 1e-8
    expected = -2e-3 * ((1 - mu1) / (1 - mu1) * g + mu2 / (1 - mu1 * mu2) * 0.1 * g) / denom
    upd, info = first("nadam")
    np.testing.assert_allclose(upd, expected, rtol=1e-12)
    np.testing.assert_allclose(info["mu_product"], mu1, rtol=1e-12)


def test_radam_switches_to_the_rectified_rate_after_rho_passes_5() -> None:
    opt = make_optimizer("radam")
    w = np.zeros((1, 2))
    s = opt.init(w)
    rects = []
    for _ in range(8):
        w, s, info = opt.step_with_info(w, np.ones((1, 2)), s)
        rects.append(info["rect"][0, 0])
    beta2 = 0.999
    rho_inf = 2 / (1 - beta2) - 1
    for t, r in enumerate(rects, start=1):
        rho = rho_inf - 2 * t * beta2**t / (1 - beta2**t)
        if rho > 5:
            expected = math.sqrt((rho - 4) * (rho - 2) * rho_inf
                                 / ((rho_inf - 4) * (rho_inf - 2) * rho))
            assert r == pytest.approx(expected, rel=1e-12)
        else:
            assert r == 1.0
    assert rects[:5] == [1.0] * 5 and rects[5] < 1.0


def test_ema_momentum_keeps_the_course_form_when_beta_is_tuned():
    """dampening follows momentum, so m = beta*m + (1 - beta)*g for any beta."""
    import numpy as np

    from optsim.engine import optimizer_kind, parse_spec

    beta, lr = 0.5, 0.1
    opt = parse_spec(f"ema-momentum:lr={lr},momentum={beta}")
    assert opt.hp["dampening"] == beta
    assert "dampening" not in {p.name for p in optimizer_kind("ema-momentum").hyperparams}
    w = np.array([[2.0, -1.0]])
    state = opt.init(w)
    m = None
    for _ in range(5):
        g = 2 * w
        m = g.copy() if m is None else beta * m + (1 - beta) * g
        expected = w - lr * m
        w, state = opt.step(w, g, state)
        np.testing.assert_allclose(w, expected, rtol=1e-14)
    # a saved optimizer's values load again; a contradicting dampening is refused
    assert optimizer_kind("ema-momentum").create(**opt.hp) == opt
    with pytest.raises(ValueError, match="dampening always equals momentum"):
        optimizer_kind("ema-momentum").create(dampening=0.3)
