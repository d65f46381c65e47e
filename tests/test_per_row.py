"""Per-run hyperparameters and a learning rate per step.

A batch whose hyperparameters differ from row to row equals the N separate runs bit
for bit (np.array_equal), with rows on both sides of every branch of every rule:
momentum 0 beside 0.9, weight decay 0 beside 0.1, lerp weights on both sides of 0.5,
RAdam rectified beside not yet, Adagrad's decay 0 beside not. The same holds when
the learning rate changes every step (one for all rows, or one per row), and when a
big batch is stepped in blocks and threads.
"""

from __future__ import annotations

import numpy as np
import pytest

from optsim import simulation
from optsim.engine import OPTIMIZERS, make_optimizer, optimizer_kind
from optsim.explain import explain_step
from optsim.functions import get_function
from optsim.simulation import Trajectory, function_closure

#: the loss handed to the optimizers that evaluate it themselves (Newton, L-BFGS)
CLOSURE = function_closure(get_function("himmelblau"))

#: per-run values of every numeric hyperparameter, spanning each branch of the rules
#: (lerp weight 1 − β below, at and above 0.5; zero and non-zero decays and momenta)
ROW_VALUES: dict[str, list[float]] = {
    "lr": [0.1, 0.01, 0.5, 0.0, 0.05, 0.2, 1.0],
    "momentum": [0.0, 0.9, 0.5, 0.0, 0.3, 0.99, 0.7],
    "dampening": [0.0, 0.5, 0.0, 0.9, 0.2, 1.0, 0.0],
    "weight_decay": [0.0, 0.1, 0.0, 0.5, 0.01, 0.0, 2.0],
    "beta1": [0.9, 0.3, 0.5, 0.0, 0.6, 0.99, 0.45],
    "beta2": [0.999, 0.3, 0.9, 0.6, 0.5, 0.0, 0.99],
    "eps": [1e-8, 1e-3, 1e-6, 0.1, 1e-10, 1e-8, 0.5],
    "alpha": [0.99, 0.3, 0.5, 0.0, 0.7, 1.0, 0.9],
    "rho": [0.9, 0.3, 0.5, 1.0, 0.0, 0.6, 0.95],
    "lr_decay": [0.0, 0.1, 0.0, 1.0, 0.01, 0.5, 0.0],
    "initial_accumulator_value": [0.0, 0.1, 1.0, 0.0, 0.5, 2.0, 0.0],
    "momentum_decay": [4e-3, 0.1, 0.0, 1.0, 0.5, 4e-3, 2.0],
    # Newton (damped): Armijo constant, backtracking factor, most backtracks
    "c1": [1e-4, 0.3, 0.1, 0.9, 1e-4, 0.5, 0.01],
    "backtrack": [0.5, 0.1, 0.9, 0.5, 0.3, 0.7, 0.5],
    "max_backtracks": [50, 0, 3, 1, 10, 2, 50],
    # L-BFGS: inner loops of their own lengths (max_eval 0: max_iter·5//4, torch's None)
    "max_iter": [20, 1, 5, 3, 10, 2, 20],
    "max_eval": [0, 1, 4, 0, 30, 2, 7],
    "tolerance_grad": [1e-7, 1e-3, 0.0, 1e-7, 0.1, 1e-5, 1e-7],
    "tolerance_change": [1e-9, 1e-3, 0.0, 1e-9, 1e-2, 1e-6, 1e-9],
    "history_size": [100, 1, 3, 2, 10, 5, 100],
    # BFGS's line search: curvature constant, most iterations
    "c2": [0.9, 0.1, 0.5, 0.99, 0.3, 0.9, 0.7],
    "max_ls": [25, 1, 3, 10, 2, 25, 5],
    # -- helper "torchrest": ASGD averaging from step 0, 3 or never; Rprop's bounds
    # binding or not; Adafactor's decay rate and floors; Muon's Newton–Schulz per row
    "lambd": [1e-4, 0.1, 0.0, 1.0, 0.01, 1e-4, 0.5],
    "t0": [1e6, 0.0, 3.0, 1e6, 5.0, 1.0, 0.0],
    "eta_minus": [0.5, 0.1, 0.9, 0.5, 0.3, 0.99, 0.5],
    "eta_plus": [1.2, 2.0, 1.01, 1.2, 5.0, 1.5, 1.2],
    "step_size_min": [1e-6, 0.01, 0.0, 0.1, 1e-6, 0.05, 1e-3],
    "step_size_max": [50.0, 0.05, 1.0, 0.1, 0.5, 50.0, 1e-3],
    "beta2_decay": [-0.8, -0.5, 0.0, -1.0, -0.3, -2.0, -0.8],
    "eps1": [2.220446049250313e-16, 1e-3, 0.0, 0.1, 1e-8, 1.0, 1e-30],
    "eps2": [1e-3, 0.0, 0.5, 1e-3, 2.0, 0.1, 1e-6],
    "d": [1.0, 1.5, 1.0, 100.0, 1.0, 2.0, 1.1],
    "ns_a": [3.4445, 2.0, 1.5, 3.4445, 0.0, -1.0, 3.0],
    "ns_b": [-4.775, -1.5, 0.0, -4.775, 1.0, 0.5, -3.0],
    "ns_c": [2.0315, 0.5, 0.0, 2.0315, -0.5, 0.0, 1.0],
    "ns_steps": [5, 1, 0, 10, 3, 5, 2],
    # Schedule-Free: warm-up ending before, within and after the steps; weights of the
    # average by step and by lr, or not
    "warmup_steps": [0, 3, 0, 20, 1, 5, 0],
    "r": [0.0, 1.0, 0.5, 0.0, 2.0, 0.0, 0.25],
    "weight_lr_power": [2.0, 0.0, 1.0, 2.0, 0.5, 3.0, 2.0],
}
#: values for kinds whose range leaves out some of ROW_VALUES (Schedule-Free's
#: interpolation must lie strictly between 0 and 1)
KIND_ROW_VALUES: dict[str, dict[str, list[float]]] = {
    "schedulefree-sgd": {"momentum": [0.9, 0.3, 0.5, 0.1, 0.6, 0.99, 0.45]},
    "schedulefree-adamw": {"beta1": [0.9, 0.3, 0.5, 0.1, 0.6, 0.99, 0.45]},
}
# pytorch-optimizer's (helper "practitioners")
ROW_VALUES.update({
    "initial_accumulator": [1e-6, 0.1, 0.0, 1.0, 0.5, 2.0, 1e-3],
    "nu1": [1.0, 0.7, 0.0, 0.5, 1.0, 0.3, 0.9],
    "nu2": [1.0, 0.0, 0.8, 1.0, 0.5, 0.99, 0.3],
    "n_sma_threshold": [5, 4, 6, 1000, 5, 6, 4],
    "beta3": [0.9999, 0.5, 0.9, 0.99, 0.7, 0.999, 0.3],
    "t_alpha_beta3": [0.0, 10.0, 5.0, 0.0, 100.0, 3.0, 1.0],
    "d0": [1e-6, 1e-3, 0.1, 1e-6, 1e-8, 1.0, 1e-4],
    "d_coef": [1.0, 0.5, 2.0, 1.0, 0.1, 1.0, 10.0],
    "growth_rate": [float("inf"), 1.02, 2.0, float("inf"), 1.0, 10.0, 0.5],
    "shampoo_beta": [0.0, 0.9, 0.3, 0.99, 0.0, 0.5, 0.7],
    "precondition_frequency": [10, 1, 3, 2, 10, 5, 1],
    "max_precondition_dim": [10000, 1, 2, 10000, 1, 3, 2],
})
N = 7

#: every registered name, and each one with every flag it has switched on
CONFIGS: list[tuple[str, dict]] = [(name, {}) for name in sorted(OPTIMIZERS)] + [
    ("adam", {"amsgrad": True}), ("adamw", {"amsgrad": True}), ("rmsprop", {"centered": True}),
    ("newton", {"damped": True}), ("lbfgs", {"line_search_fn": True}),
    ("nadam", {"decoupled_weight_decay": True}), ("radam", {"decoupled_weight_decay": True}),
    ("muon", {"nesterov": False, "match_rms_adamw": True}),
]
CONFIGS += [  # pytorch-optimizer's flags (helper "practitioners")
    ("lion", {"fixed_decay": True}), ("lion", {"weight_decouple": False}),
    ("signsgd", {"weight_decouple": False}), ("yogi", {"weight_decouple": False}),
    ("yogi", {"fixed_decay": True}), ("adabelief", {"ams_bound": True}),
    ("adabelief", {"rectify": True}), ("adabelief", {"rectify": True, "ams_bound": True,
                                                    "degenerated_to_sgd": False}),
    ("adabelief", {"weight_decouple": False}), ("qhadam", {"weight_decouple": True}),
    ("qhadam", {"weight_decouple": True, "fixed_decay": True}),
    ("adan", {"weight_decouple": True}), ("ademamix", {"weight_decouple": True}),
    ("ademamix", {"weight_decouple": True, "fixed_decay": True}),
    ("lamb", {"weight_decouple": False}), ("lamb", {"fixed_decay": True}),
    ("lamb", {"grad_averaging": False, "adam": True}), ("lamb", {"rectify": True}),
    ("lamb", {"rectify": True, "degenerated_to_sgd": True}),
    ("madgrad", {"weight_decouple": True}),
    ("prodigy", {"weight_decouple": False}), ("prodigy", {"fixed_decay": True}),
    ("prodigy", {"bias_correction": True, "safeguard_warmup": True}),
    ("soap", {"precondition_1d": False}), ("soap", {"normalize_gradient": True}),
    ("soap", {"correct_bias": False}),
]


def _per_row(name: str, flags: dict) -> dict:
    """Every numeric hyperparameter of ``name`` per row; Nesterov keeps its needs
    (momentum > 0, no dampening) in every row."""
    kind = optimizer_kind(name)
    values = {p.name: np.array(KIND_ROW_VALUES.get(name, {}).get(p.name, ROW_VALUES[p.name]))
              for p in kind.hyperparams if p.kind is not bool}
    nesterov = flags.get("nesterov", kind.defaults.get("nesterov", False))
    if nesterov:
        values["momentum"] = np.array([0.9, 0.5, 0.1, 0.99, 0.3, 0.8, 0.6])
        values["dampening"] = np.zeros(N)
    return {**values, **flags}


def _alone(name: str, values: dict, i: int):
    return make_optimizer(name, **{k: (v[i] if isinstance(v, np.ndarray) else v)
                                   for k, v in values.items()})


def _run(opt, params, grads, lrs=None, info=False):
    """Step ``opt`` through ``grads``; returns positions, states and infos."""
    s = opt.init(params)
    p = params
    path, states, infos = [p], [s], []
    for k, g in enumerate(grads):
        lr = None if lrs is None else lrs[k]
        if info:
            p, s, inf = opt.step_with_info(p, g, s, lr=lr, closure=CLOSURE)
            infos.append(inf)
        else:
            p, s = opt.step(p, g, s, lr=lr, closure=CLOSURE)
        path.append(p)
        states.append(s)
    return np.stack(path), states, infos


def _same(a, b) -> None:
    assert np.array_equal(a, b, equal_nan=True), (a, b)


def _grads(steps: int = 12, seed: int = 0) -> tuple[np.ndarray, list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    params = rng.uniform(-2, 2, (N, 2))
    grads = [rng.standard_normal((N, 2)) * 3 for _ in range(steps)]
    grads[3][2] = 0.0  # a zero gradient in one run
    return params, grads


@pytest.mark.parametrize("lr_schedule", ["fixed", "per step", "per step and row"])
@pytest.mark.parametrize("name,flags", CONFIGS, ids=[f"{n}{''.join('+' + f for f in fl)}"
                                                      for n, fl in CONFIGS])
def test_a_batch_with_per_row_hyperparameters_is_the_separate_runs_bit_for_bit(
        name, flags, lr_schedule):
    values = _per_row(name, flags)
    params, grads = _grads()
    lrs = None
    if lr_schedule == "per step":
        lrs = [0.1 * (1 + np.sin(k)) for k in range(len(grads))]  # lr = 0 never, 0.2 max
    elif lr_schedule == "per step and row":
        lrs = [np.array(ROW_VALUES["lr"]) * (0.5 + 0.1 * k) for k in range(len(grads))]
    batch = make_optimizer(name, **values)
    assert batch.rows == N
    with np.errstate(all="ignore"):
        path, states, infos = _run(batch, params, grads, lrs, info=True)
        plain_path, _, _ = _run(batch, params, grads, lrs)
        _same(plain_path, path)  # with and without info: the same step
        for i in range(N):
            alone = _alone(name, values, i)
            assert alone.rows is None and alone == batch.row(i)
            row_lrs = None if lrs is None else [np.ravel(lr)[i] if np.size(lr) > 1 else lr
                                                for lr in lrs]
            p1, s1, inf1 = _run(alone, params[i:i + 1], [g[i:i + 1] for g in grads], row_lrs,
                                info=True)
            _same(path[:, i], p1[:, 0])
            for s_batch, s_alone in zip(states, s1, strict=True):
                assert s_batch.step == s_alone.step
                for f in s_batch._fields[1:]:
                    a, b = getattr(s_batch, f)[i], getattr(s_alone, f)[0]
                    # (L-BFGS keeps a history as long as the batch's longest: the
                    # rest of a shorter one's is never written)
                    _same(a[:b.size], b)
                    assert not a[b.size:].any()
            for ib, ia in zip(infos, inf1, strict=True):
                for key in ("update", "grad"):
                    _same(ib[key][i], ia[key][0])
                for key in ("effective_lr", "direction"):
                    np.testing.assert_allclose(ib[key][i], ia[key][0], rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("record_state", [True, False])
@pytest.mark.parametrize("name,flags", CONFIGS, ids=[f"{n}{''.join('+' + f for f in fl)}"
                                                      for n, fl in CONFIGS])
def test_blocks_and_threads_split_per_row_hyperparameters_with_the_rows(
        name, flags, record_state, monkeypatch: pytest.MonkeyPatch):
    """A trajectory stepped in blocks of rows (each with its rows' hyperparameters),
    in one thread or two, with chunks of one step or several, is the batch stepped
    whole and each row the run alone, bit for bit, some rows diverging on the way."""
    values = _per_row(name, flags)
    starts = _grads(seed=1)[0] * 0.2 + [0.0, 1.0]
    batch = make_optimizer(name, **values)

    monkeypatch.setattr(simulation, "_spare_cpu", lambda: True)

    def run(opt, start, **config):
        for key, value in config.items():
            monkeypatch.setattr(simulation, key, value)
        # bounded by the view itself: the rows with a large lr leave it
        t = Trajectory("rosenbrock", opt, start, record_state=record_state, bound_scale=1.0)
        for steps in (1, 5, 30):
            t.advance(steps)
        return t

    whole = run(batch, starts, THREAD_NUMBERS=10**9, BLOCK_NUMBERS=10**9, CHUNK=64)
    assert not whole.diverged.all()
    if name == "sgd":  # (frozen rows among the blocks)
        assert whole.diverged.any()
    fields = whole._live
    for config in ({"BLOCK_NUMBERS": 4, "THREAD_NUMBERS": 2, "_THREADS": 2, "CHUNK_NUMBERS": 64},
                   {"BLOCK_NUMBERS": 4, "THREAD_NUMBERS": 2, "_THREADS": 1, "CHUNK_NUMBERS": 8},
                   {"BLOCK_NUMBERS": 6, "THREAD_NUMBERS": 2, "_THREADS": 2, "CHUNK_NUMBERS": 4},
                   # a run per block: some blocks have no momentum at all
                   {"BLOCK_NUMBERS": 2, "THREAD_NUMBERS": 2, "_THREADS": 2, "CHUNK_NUMBERS": 16}):
        split = run(batch, starts, **config)
        for got, want in ((split.positions, whole.positions), (split.losses, whole.losses),
                          (split.diverged_step, whole.diverged_step), (split._grads, whole._grads),
                          *((getattr(split.state, f), getattr(whole.state, f)) for f in fields),
                          *((split._hist[f][:37], whole._hist[f][:37])
                            for f in (fields if record_state else ()))):
            _same(got, want)
    for i in range(N):
        alone = run(batch.row(i), starts[i:i + 1], THREAD_NUMBERS=10**9)
        _same(alone.positions[:, 0], whole.positions[:, i])
        _same(alone.losses[:, 0], whole.losses[:, i])
        assert alone.diverged_step[0] == whole.diverged_step[i]


def test_the_readme_example_sweeps_lr_and_momentum():
    n = 16
    opt = make_optimizer("sgd", lr=np.geomspace(1e-3, 1, n), momentum=np.linspace(0, 0.99, n))
    traj = Trajectory("bowl", opt, np.tile([1.0, -0.5], (n, 1)))
    traj.advance(20)
    for i in (0, 5, n - 1):
        alone = Trajectory("bowl", opt.row(i), [[1.0, -0.5]])
        alone.advance(20)
        _same(traj.positions[:, i], alone.positions[:, 0])
        _same(traj.losses[:, i], alone.losses[:, 0])
        assert traj.diverged[i] == alone.diverged[0]
    # the inspector explains one run of the batch with that run's numbers
    e = explain_step(traj, 3, run=5)
    assert e.optimizer.hp["lr"] == opt.hp["lr"][5]
    assert e.optimizer.spec == opt.row(5).spec


def test_ema_momentum_ties_dampening_row_by_row():
    beta = np.array([0.0, 0.5, 0.9])
    opt = make_optimizer("ema-momentum", lr=0.1, momentum=beta)
    np.testing.assert_array_equal(opt.hp["dampening"], beta)
    assert opt.row(1).hp["dampening"] == 0.5 and opt.row(1).spec == "ema-momentum:lr=0.1,momentum=0.5"


def test_per_row_values_are_validated_element_by_element():
    with pytest.raises(ValueError, match=r"beta1\[2\]=1 is out of range: beta1 must be in \[0, 1\)"):
        make_optimizer("adam", beta1=np.array([0.9, 0.5, 1.0]))
    with pytest.raises(ValueError, match=r"lr\[1\]=nan is out of range"):
        make_optimizer("sgd", lr=np.array([0.1, np.nan]))
    with pytest.raises(ValueError, match="same length"):
        make_optimizer("sgd", lr=np.ones(3) * 0.1, momentum=np.zeros(4))
    with pytest.raises(ValueError, match="amsgrad is a flag"):
        make_optimizer("adam", amsgrad=np.array([True, False]))
    with pytest.raises(ValueError, match=r"shape \(2, 2\)"):
        make_optimizer("adam", lr=np.ones((2, 2)))
    with pytest.raises(ValueError, match="Nesterov"):
        make_optimizer("nesterov", momentum=np.array([0.9, 0.0]))
    opt = make_optimizer("adam", lr=np.array([0.1, 0.2]))
    with pytest.raises(ValueError, match="no spec string"):
        _ = opt.spec
    with pytest.raises(ValueError, match="for 2 runs, got parameters for 3"):
        opt.step(np.zeros((3, 2)), np.zeros((3, 2)), opt.init(np.zeros((3, 2))))
    with pytest.raises(ValueError, match="for 2 runs, got 3 starts"):
        Trajectory("bowl", opt, np.zeros((3, 2)))
    # a stored copy: changing the caller's array changes nothing
    lr = np.array([0.1, 0.2])
    opt = make_optimizer("sgd", lr=lr)
    lr[0] = 5.0
    assert opt.hp["lr"][0] == 0.1 and not opt.hp["lr"].flags.writeable


def test_lr_per_step_is_checked():
    opt = make_optimizer("adam")
    p = np.zeros((3, 2))
    s = opt.init(p)
    with pytest.raises(ValueError, match=r"lr=-1 is out of range"):
        opt.step(p, p, s, lr=-1.0)
    with pytest.raises(ValueError, match="needs 3 values, got 2"):
        opt.step(p, p, s, lr=np.array([0.1, 0.2]))
    a, _ = opt.step(p + 1, p + 1, s, lr=0.0)
    np.testing.assert_array_equal(a, p + 1)  # lr 0: no move
    b, _ = opt.step(p + 1, p + 1, s, lr=np.array([0.0, 0.1, 0.2]))
    assert (b[0] == 1).all() and (b[1] < 1).all()


def test_traits_come_from_the_optimizer():
    assert make_optimizer("sgd").traits.momentum is False
    assert make_optimizer("momentum").traits.momentum is True
    assert make_optimizer("sgd", momentum=np.array([0.0, 0.9])).traits.momentum is True
    assert make_optimizer("rmsprop").traits == type(make_optimizer("rmsprop").traits)(
        False, True, ("momentum_buffer",))
    for name in ("adam", "adamw", "adamax", "nadam", "radam"):
        t = make_optimizer(name).traits
        assert t.momentum and t.rescales and t.momentum_fields == ("exp_avg",), name
    for name in ("adagrad", "adadelta"):
        t = make_optimizer(name).traits
        assert not t.momentum and t.rescales, name


@pytest.mark.parametrize("name,flags", [("adam", {}), ("momentum", {}), ("nadam", {}),
                                        ("rmsprop", {"centered": True}), ("radam", {})])
def test_other_hyperparameters_per_step_equal_a_rebuilt_optimizer(name, flags):
    """``values=``: e.g. a schedule cycling beta1 or momentum. Each step equals an
    optimizer made with that step's values, stepping the same state."""
    key = "beta1" if "beta1" in {p.name for p in optimizer_kind(name).hyperparams} else "momentum"
    params, grads = _grads(steps=8, seed=3)
    opt = make_optimizer(name, **flags, **({key: 0.5} if name == "rmsprop" else {}))
    p, s = params, opt.init(params)
    q, r = params, opt.init(params)
    for k, g in enumerate(grads):
        cycled = np.array(ROW_VALUES["beta1"]) * (0.9 + 0.01 * k)
        p, s = opt.step(p, g, s, lr=0.05, values={key: cycled})
        rebuilt = make_optimizer(name, **flags, lr=0.05, **{key: cycled})
        q, r = rebuilt.step(q, g, r)
        _same(p, q)
    with pytest.raises(ValueError, match="cannot change from step to step"):
        opt.step(p, g, s, values={"amsgrad" if name == "adam" else "nope": 1.0})


def test_a_momentum_per_step_needs_an_optimizer_made_with_one():
    opt = make_optimizer("sgd", lr=0.1)
    p = np.zeros((2, 2))
    with pytest.raises(ValueError, match="made without momentum"):
        opt.step(p, p, opt.init(p), values={"momentum": 0.9})
    opt = make_optimizer("sgd", lr=0.1, momentum=np.array([0.0, 0.9]))
    opt.step(p, p, opt.init(p), values={"momentum": np.array([0.5, 0.0])})  # fine: a buffer is kept
