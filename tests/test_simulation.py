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


def _checked_every_step(traj: Trajectory, steps: int) -> None:
    traj._grow(traj.steps + steps + 1)
    traj._advance_checked(steps)


@pytest.mark.parametrize("fn, spec, start, noise", CHUNK_CASES)
@pytest.mark.parametrize("splits", [[1, 1, 5], [16, 16, 16, 16], [200], [63, 64, 65, 3]])
def test_chunked_checks_give_exactly_the_step_by_step_history(fn, spec, start, noise, splits):
    """The fast path (loss and divergence checked once per chunk) against the loop
    that checks after every step: positions, losses, states, noise, the divergence
    step, bit for bit, however the steps are split."""
    fast = Trajectory(fn, spec, [start], noise=noise, seed=7)
    slow = Trajectory(fn, spec, [start], noise=noise, seed=7)
    for n in splits:
        fast.advance(n)
        _checked_every_step(slow, n)
    assert fast.steps == slow.steps == sum(splits)
    np.testing.assert_array_equal(fast.positions, slow.positions)
    np.testing.assert_array_equal(fast.losses, slow.losses)
    np.testing.assert_array_equal(fast.diverged_step, slow.diverged_step)
    for f in fast._state_fields:
        np.testing.assert_array_equal(fast._hist[f][: fast.steps + 1], slow._hist[f][: slow.steps + 1])
    np.testing.assert_array_equal(fast.params, slow.params)
    np.testing.assert_array_equal(fast._grads, slow._grads)
    if noise:
        np.testing.assert_array_equal(fast.gradient_used(fast.steps), slow.gradient_used(slow.steps))


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

    together, alone = make(), make()
    for n in (1, 16, 100, 3):
        advance_together(together, n)
        for t in alone:
            _checked_every_step(t, n)  # the reference: alone, checked after every step
    assert together[1].diverged[0] and 1 < together[1].diverged_step[0] < 120
    for a, b in zip(together, alone, strict=True):
        assert a.steps == b.steps == 120
        np.testing.assert_array_equal(a.positions, b.positions)
        np.testing.assert_array_equal(a.losses, b.losses)
        np.testing.assert_array_equal(a.diverged_step, b.diverged_step)
        np.testing.assert_array_equal(a._grads, b._grads)
        for f in a._state_fields:
            np.testing.assert_array_equal(a._hist[f][: a.steps + 1], b._hist[f][: b.steps + 1])
        if a._used is not None:
            np.testing.assert_array_equal(a._used[: a.steps + 1], b._used[: b.steps + 1])
