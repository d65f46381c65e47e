"""simulate / Trajectory: shapes, closed forms, divergence, recorded history."""

import numpy as np
import pytest

import optsim
from optsim.simulation import Trajectory


def test_single_start_shape_and_row_zero():
    path = optsim.simulate("rosenbrock", "adam:lr=0.01", (-1.5, 2.0), 30)
    assert path.shape == (31, 2)
    assert path.dtype == np.float64
    np.testing.assert_array_equal(path[0], [-1.5, 2.0])


def test_batch_start_shape():
    starts = np.array([[-1.5, 2.0], [0.5, 0.5], [1.2, -0.5]])
    path = optsim.simulate("bowl", "sgd:lr=0.1", starts, 10)
    assert path.shape == (11, 3, 2)
    np.testing.assert_array_equal(path[0], starts)


@pytest.mark.parametrize("lr", [0.01, 0.1, 0.3])
def test_sgd_on_bowl_matches_closed_form(lr):
    # f = x^2 + y^2, grad = 2w: w_k = (1 - 2 lr)^k w_0
    start = np.array([1.25, -0.75])
    path = optsim.simulate("bowl", f"sgd:lr={lr}", start, 40)
    k = np.arange(41)[:, None]
    np.testing.assert_allclose(path, (1 - 2 * lr) ** k * start, rtol=1e-12, atol=1e-15)


def test_heavy_ball_on_1d_quadratic_matches_linear_recursion():
    # f = x^2 + 9y^2 ; torch heavy ball: b_1 = g_1, b_t = mu b + g ; w -= lr b
    lr, mu = 0.02, 0.9
    w = np.array([1.0, 1.0])
    scale = np.array([2.0, 18.0])
    b = None
    expected = [w.copy()]
    for _ in range(60):
        g = scale * w
        b = g.copy() if b is None else mu * b + g
        w = w - lr * b
        expected.append(w.copy())
    path = optsim.simulate("elongated-bowl", f"sgd:lr={lr},momentum={mu}", (1.0, 1.0), 60)
    np.testing.assert_allclose(path, np.array(expected), rtol=1e-12, atol=1e-14)


def test_diverged_run_is_frozen_and_flagged_without_poisoning_the_batch():
    starts = np.array([[0.5, 0.5], [1.0, -1.0]])
    # lr 1.5 on the bowl multiplies by -2 each step: diverges
    bad = optsim.run("bowl", "sgd:lr=1.5", starts, 200)
    assert bad.diverged.all()
    k = bad.diverged_step
    assert (k > 0).all()
    for i in range(2):
        frozen = bad.positions[k[i] - 1, i]
        assert np.isfinite(frozen).all()
        np.testing.assert_array_equal(bad.positions[k[i]:, i], np.broadcast_to(frozen, (201 - k[i], 2)))
    # one good run next to a diverging formula run stays exact
    mixed = np.array([[0.5, 0.5], [1e20, 1e20]])
    res = optsim.run("bowl", "sgd:lr=0.1", mixed, 20)
    alone = optsim.simulate("bowl", "sgd:lr=0.1", mixed[0], 20)
    assert res.diverged.tolist() == [False, True]
    np.testing.assert_array_equal(res.positions[:, 0], alone)


def test_escaping_cubic_is_flagged_not_raised():
    res = optsim.run("cubic", "ema-momentum:lr=0.01", [7.0], 500)
    assert bool(res.diverged)
    assert np.isfinite(res.positions).all()
    assert res.positions.min() < 0


def test_state_history_is_exact_and_explain_reproduces_steps():
    t = Trajectory("elongated-bowl", "adam:lr=0.05", [[-1.0, 1.0], [0.5, -0.3]])
    t.advance(25)
    # replaying from any recorded state gives the recorded next position bit for bit
    for k in (0, 1, 7, 24):
        p = t.positions[k]
        new, _ = t.optimizer.step(p, t.gradient_at(k), t.state_at(k))
        np.testing.assert_array_equal(new, t.positions[k + 1])
        assert t.state_at(k).step == k
    info = t.explain(10)
    np.testing.assert_array_equal(info["update"], t.positions[10] - t.positions[9])
    with pytest.raises(IndexError):
        t.state_at(26)


def test_start_of_wrong_dimension_is_a_clear_error():
    with pytest.raises(ValueError, match="coordinate"):
        optsim.simulate("rosenbrock", "sgd", [1.0, 2.0, 3.0], 3)
    with pytest.raises(ValueError, match="steps"):
        optsim.simulate("bowl", "sgd", [1.0, 2.0], -1)


# -- a few runs check for divergence once per chunk of steps ------------------------

CHUNK_CASES = [
    # (function, optimizer, start, noise): converging, oscillating, diverging part way
    ("elongated-bowl", "adam:lr=0.05", (-1.0, 1.0), 0.0),
    ("rosenbrock", "sgd:lr=0.001,momentum=0.9,nesterov=true", (-1.5, 2.0), 0.0),
    ("himmelblau", "rmsprop:lr=0.01", (0.5, -3.0), 0.3),
    ("elongated-bowl", "sgd:lr=0.12", (-1.0, 1.0), 0.2),  # |1 - 0.12*18| > 1: y blows up
    ("cubic", "sgd:lr=0.1", (-0.5,), 0.0),  # runs off downhill forever
    ("rastrigin", "adagrad:lr=0.5", (2.2, -1.3), 1.0),
]


def _reference(t: Trajectory, steps: int) -> dict:
    """What a trajectory like ``t`` (fresh) must hold after ``steps`` steps, computed
    plainly: one ``optimizer.step`` at a time for all runs, a check after each; a run
    that leaves the bound or whose loss is not finite is flagged with the step and
    keeps its position, loss and state from then on (its gradient is still taken,
    with fresh noise, at every step)."""
    fn, opt = t.function, t.optimizer
    rng = np.random.default_rng(t.seed) if t.noise else None

    def gradient(p):
        g = np.asarray(fn.gradient(p), dtype=np.float64).reshape(p.shape)
        return g + t.noise * rng.standard_normal(g.shape) if rng is not None else g

    with np.errstate(all="ignore"):
        p = t.positions[0].copy()
        s, g, loss = opt.init(p), gradient(p), fn.value(p)
        out = {"positions": [p], "losses": [loss], "states": [s], "used": [g]}
        div = np.full(len(p), -1)
        for k in range(1, steps + 1):
            new, new_state = opt.step(p, g, s)
            new_loss = np.asarray(fn.value(new), dtype=np.float64).reshape(len(p))
            bad = ~np.isfinite(new_loss) | ~((new >= t._lo) & (new <= t._hi)).all(axis=1)
            div[bad & (div < 0)] = k
            frozen = div >= 0
            p = np.where(frozen[:, None], p, new)
            loss = np.where(frozen, loss, new_loss)
            s = type(s)(k, *[np.where(frozen[:, None], a, b) for a, b in zip(s[1:], new_state[1:],
                                                                             strict=True)])
            g = gradient(p)
            for key, v in (("positions", p), ("losses", loss), ("states", s), ("used", g)):
                out[key].append(v)
    out["diverged_step"] = div
    return out


def _same_as_reference(t: Trajectory) -> None:
    ref = _reference(t, t.steps)
    np.testing.assert_array_equal(t.positions, np.stack(ref["positions"]))
    np.testing.assert_array_equal(t.losses, np.stack(ref["losses"]))
    np.testing.assert_array_equal(t.diverged_step, ref["diverged_step"])
    np.testing.assert_array_equal(t.diverged, ref["diverged_step"] >= 0)
    np.testing.assert_array_equal(t.params, ref["positions"][-1])
    np.testing.assert_array_equal(t.gradient_used(t.steps), ref["used"][-1])
    np.testing.assert_array_equal(t._grads, ref["used"][-1])  # the next step's
    for i, f in enumerate(t.state._fields[1:]):
        np.testing.assert_array_equal(getattr(t.state, f), ref["states"][-1][i + 1])
        if t.record_state:
            np.testing.assert_array_equal(t._hist[f][: t.steps + 1],
                                          np.stack([s[i + 1] for s in ref["states"]]))
    if t.noise:
        np.testing.assert_array_equal(t._used[: t.steps + 1], np.stack(ref["used"]))


@pytest.mark.parametrize("fn, spec, start, noise", CHUNK_CASES)
@pytest.mark.parametrize("splits", [[1, 1, 5], [16, 16, 16, 16], [200], [63, 64, 65, 3]])
def test_chunked_checks_give_exactly_the_step_by_step_history(fn, spec, start, noise, splits):
    """Losses and divergence checked once per chunk (a chunk in which a run diverged
    taken again step by step) against the plain loop that checks after every step:
    positions, losses, states, noise, the divergence step, bit for bit, however the
    steps are split."""
    fast = Trajectory(fn, spec, [start], noise=noise, seed=7)
    for n in splits:
        fast.advance(n)
    assert fast.steps == sum(splits)
    _same_as_reference(fast)


@pytest.mark.parametrize("record_state", [True, False])
@pytest.mark.parametrize("noise", [0.0, 0.5])
@pytest.mark.parametrize("runs, chunk_numbers", [(4, 128), (150, 128), (150, 16), (4, 4)])
def test_batches_in_chunks_blocks_and_threads_are_the_plain_loop(runs, chunk_numbers, noise,
                                                                 record_state, monkeypatch):
    """Runs diverging at different steps among others that do not: a few runs (one
    array, chunks of several steps, frozen runs put back after each chunk) and many
    (blocks of 16 runs in two threads, chunks of 2 steps; with noise, one array
    checked step by step once a run froze); with room for one step's numbers only,
    batches and blocks checked after every step; against the plain loop."""
    from optsim import simulation

    monkeypatch.setattr(simulation, "BLOCK_NUMBERS", 32)
    monkeypatch.setattr(simulation, "THREAD_NUMBERS", 64)
    monkeypatch.setattr(simulation, "CHUNK_NUMBERS", chunk_numbers)
    monkeypatch.setattr(simulation, "_THREADS", 2)
    monkeypatch.setattr(simulation, "_spare_cpu", lambda: True)
    rng = np.random.default_rng(3)
    # |1 - 18 lr| > 1 for lr > 1/9: y blows up, later the closer lr is to 1/9
    opt = optsim.make_optimizer("sgd", lr=np.linspace(0.1 if runs < 10 else 0.08, 0.14, runs),
                                momentum=np.where(np.arange(runs) % 3 == 0, 0.2, 0.0))
    t = Trajectory("elongated-bowl", opt, rng.uniform(-1, 1, (runs, 2)), noise=noise, seed=5,
                   record_state=record_state, bound_scale=3.0)
    for n in (1, 7, 50, 12):
        t.advance(n)
    steps = t.diverged_step[t.diverged]
    assert 0 < len(steps) < runs and len(set(steps.tolist())) > 1
    _same_as_reference(t)


@pytest.mark.parametrize("block_bytes", [None, 4096])
def test_simulate_keeps_no_losses_and_gives_runs_positions(block_bytes, monkeypatch):
    """simulate keeps only the last two losses (a trajectory with keep_losses=False):
    its positions are run's, bit for bit, with runs diverging part way, in one
    trajectory or in blocks of runs."""
    from optsim import simulation

    if block_bytes is not None:
        monkeypatch.setattr(simulation, "BLOCK_BYTES", block_bytes)
        monkeypatch.setattr(simulation, "BLOCK_NUMBERS", 32)
    rng = np.random.default_rng(4)
    starts = rng.uniform(-1, 1, (300, 2))
    opt = optsim.make_optimizer("sgd", lr=np.linspace(0.08, 0.14, 300))
    full = optsim.run("elongated-bowl", opt, starts, 60)
    assert 0 < full.diverged.sum() < 300
    np.testing.assert_array_equal(optsim.simulate("elongated-bowl", opt, starts, 60),
                                  full.positions)
    t = Trajectory("elongated-bowl", opt, starts, keep_losses=False, record_state=False,
                   capacity=61)
    t.advance(60)
    np.testing.assert_array_equal(t.positions, full.positions)
    np.testing.assert_array_equal(t.diverged_step, full.diverged_step)
    assert t.memory_bytes() < Trajectory("elongated-bowl", opt, starts, capacity=61,
                                         record_state=False).memory_bytes()
    with pytest.raises(ValueError, match="keeps no losses"):
        t.losses  # noqa: B018
    # a schedule that follows the losses (ReduceLROnPlateau) keeps them all
    kept = Trajectory("elongated-bowl", "sgd:lr=0.05+reducelronplateau", starts[:3],
                      keep_losses=False)
    kept.advance(5)
    assert kept.keep_losses and kept.losses.shape == (6, 3)


def test_the_diverging_cases_do_diverge_inside_a_chunk():
    """The cases above cover a chunk thrown away and stepped again one by one."""
    for fn, spec, start, noise in CHUNK_CASES[3:5]:
        traj = Trajectory(fn, spec, [start], noise=noise)
        traj.advance(200)
        assert 1 < traj.diverged_step[0] < 200 and traj.diverged_step[0] % 64 != 0


def test_trajectories_stepped_together_are_exactly_as_if_stepped_alone():
    """advance_together: runs on one function share their gradient evaluations;
    each trajectory ends with the history it would have alone, bit for bit, with
    noise, a run diverging part way through a chunk, another function and a big
    batch among them, however the steps are split."""
    from optsim.simulation import advance_together

    def make():
        return [
            Trajectory("elongated-bowl", "adam:lr=0.05", [(-1.0, 1.0)]),
            Trajectory("elongated-bowl", "sgd:lr=0.12", [(-1.0, 1.0)], noise=0.2, seed=3),  # diverges
            Trajectory("elongated-bowl", "rmsprop:lr=0.01", [(0.5, -1.5), (0.2, 0.3)]),
            Trajectory("elongated-bowl", "sgd:lr=0.01,momentum=0.9,nesterov=true", [(-1.5, 0.5)], noise=0.1),
            Trajectory("rosenbrock", "adagrad:lr=0.3", [(-1.5, 2.0)]),
            Trajectory("elongated-bowl", "sgd:lr=0.01", np.linspace(-1, 1, 20).reshape(10, 2)),  # many
        ]

    together = make()
    for n in (1, 16, 100, 3):
        advance_together(together, n)
    assert together[1].diverged[0] and 1 < together[1].diverged_step[0] < 120
    for t in together:
        assert t.steps == 120
        _same_as_reference(t)  # alone, checked after every step


# -- the loss and the gradient at once -------------------------------------------


def test_every_fused_value_and_gradient_is_the_separate_ones_bit_for_bit():
    """A function's value_and_gradient (taken by the simulation for big batches)
    gives its value and gradient to the last bit, in and far beyond its view, at
    overflowing and non-finite points too."""
    from optsim.loss import FUNCTIONS

    fused = [f for f in FUNCTIONS.values() if f.value_and_gradient is not None]
    assert "rosenbrock" in [f.name for f in fused]
    rng = np.random.default_rng(11)
    for f in fused:
        (x0, x1), (y0, y1) = f.view
        lo, hi = np.array([x0, y0][: f.dim]), np.array([x1, y1][: f.dim])
        p = np.concatenate([
            rng.uniform(lo, hi, (2000, f.dim)),
            rng.uniform(-1, 1, (2000, f.dim)) * 10.0 ** rng.integers(-8, 200, (2000, 1)),
            rng.choice([0.0, -0.0, 1.0, np.inf, -np.inf, np.nan, 1e300, -1e-300], (64, f.dim)),
        ])
        with np.errstate(all="ignore"):
            value, grad = f.value_and_gradient(p)
            np.testing.assert_array_equal(value, f.value(p), err_msg=f.name)
            np.testing.assert_array_equal(grad, f.gradient(p), err_msg=f.name)
        assert value.shape == (len(p),) and grad.shape == p.shape


@pytest.mark.parametrize("noise", [0.0, 0.3])
def test_big_batches_with_the_fused_function_are_the_plain_loop(noise, monkeypatch):
    """Rosenbrock stepped in blocks, checked after every step, taking the loss and
    the gradient at once, with runs diverging part way (their gradient put back):
    the plain loop's history, and the function without its fused form's."""
    import dataclasses

    from optsim import simulation
    from optsim.functions import get_function

    monkeypatch.setattr(simulation, "BLOCK_NUMBERS", 64)
    monkeypatch.setattr(simulation, "CHUNK_NUMBERS", 16)
    rosen = get_function("rosenbrock")
    apart = dataclasses.replace(rosen, value_and_gradient=None)
    rng = np.random.default_rng(8)
    starts = rng.uniform((-2, -1), (2, 3), (200, 2))
    opt = optsim.make_optimizer("sgd", lr=np.geomspace(1e-4, 3e-3, 200))
    runs = []
    for fn in (rosen, apart):
        t = Trajectory(fn, opt, starts, noise=noise, seed=2, bound_scale=2.0)
        for n in (1, 30, 9):
            t.advance(n)
        runs.append(t)
    steps = runs[0].diverged_step[runs[0].diverged]
    assert 0 < len(steps) < 200 and len(set(steps.tolist())) > 1
    _same_as_reference(runs[0])
    for name in ("positions", "losses", "diverged_step", "params"):
        np.testing.assert_array_equal(getattr(runs[0], name), getattr(runs[1], name))
