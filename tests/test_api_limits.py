"""The API at scale and with the wrong types: the history's size is checked before
anything is allocated, huge batches are stepped in blocks with the same numbers,
and steps/start of the wrong type are refused naming the argument. (The memory
peak itself is measured in bench/reliability.py.)"""

from __future__ import annotations

import tracemalloc
from fractions import Fraction

import numpy as np
import pytest

from optsim import simulate, simulation
from optsim.cli import main
from optsim.simulation import Trajectory, history_bytes, run


@pytest.mark.parametrize("steps", [2.7, "10", True, np.bool_(True), None, 3.0])
def test_steps_of_the_wrong_type_are_refused(steps):
    with pytest.raises(TypeError, match=r"^steps must be a whole number \(an int\), got "):
        simulate("rosenbrock", "adam", [0.5, 0.5], steps)


def test_whole_steps_of_any_integer_type_work_and_negative_ones_do_not():
    a = simulate("rosenbrock", "adam", [0.5, 0.5], 3)
    np.testing.assert_array_equal(simulate("rosenbrock", "adam", [0.5, 0.5], np.int64(3)), a)
    with pytest.raises(ValueError, match="steps must be >= 0, got -1"):
        simulate("rosenbrock", "adam", [0.5, 0.5], -1)


@pytest.mark.parametrize("start, what", [
    ([1 + 2j, 0.5], "complex numbers"),
    (np.array([0.5, 0.5], dtype=complex), "complex numbers"),
    (["1", "2"], "<U1 values"),
    ([True, False], "bool values"),
    (np.array([0.5, "x"], dtype=object), "str values"),
    (np.array([0.5, 1j], dtype=object), "complex numbers"),
])
def test_starts_that_are_not_real_numbers_are_refused(start, what):
    with pytest.raises(TypeError, match=r"^start must hold real numbers, got " + what):
        simulate("rosenbrock", "adam", start, 3)
    with pytest.raises(TypeError, match="start must hold real numbers"):
        Trajectory("rosenbrock", "adam", start)


def test_real_starts_of_other_types_are_taken_exactly():
    want = simulate("rosenbrock", "sgd", [0.5, 1.0], 4)
    for start in ([Fraction(1, 2), 1], np.array([0.5, 1.0], dtype=np.float32), (0.5, 1),
                  np.array([0.5, 1.0], dtype=object)):
        np.testing.assert_array_equal(simulate("rosenbrock", "sgd", start, 4), want)


@pytest.mark.parametrize("seed", [True, 1.5, -1, "3"])
def test_a_seed_of_the_wrong_type_is_refused(seed):
    with pytest.raises(TypeError, match="seed must be a whole number >= 0"):
        run("rosenbrock", "sgd", [0.5, 0.5], 3, noise=0.1, seed=seed)


def test_a_history_too_large_is_refused_before_anything_is_allocated():
    start = np.full((1000, 2), 0.5)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError) as err:
            simulate("rosenbrock", "adam", start, 10**12)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    need = history_bytes(1000, 2, 10**12)
    assert need == 24 * 1000 * (10**12 + 1)
    msg = str(err.value)
    assert msg.startswith("the history of 1,000 runs of 1,000,000,000,000 steps needs 24 PB "
                          "of memory (positions and losses), but only about ")
    assert msg.endswith(" is available; use fewer runs or steps")
    assert peak < 10**6


def test_the_memory_check_uses_what_is_available(monkeypatch):
    monkeypatch.setattr(simulation, "available_memory", lambda: 10_000)
    with pytest.raises(ValueError, match=r"needs 242 KB .* only about 10 KB is available"):
        simulate("rosenbrock", "adam", np.zeros((100, 2)), 100)
    simulate("rosenbrock", "adam", np.zeros((10, 2)), 10)  # 2.6 KB: fits


def test_the_command_line_refuses_too_large_a_history(monkeypatch, capsys):
    monkeypatch.setattr(simulation, "available_memory", lambda: 40_000)
    assert main(["run", "--steps", "1000", "-o", "sgd", "-o", "adam"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("optsim: error: the history of 2 runs of 1,000 steps needs 48 KB")
    assert main(["run", "--preset", "adam", "--steps", "1000"]) == 2
    assert "needs" in capsys.readouterr().err


@pytest.mark.parametrize("optimizer", ["sgd:lr=0.0005", "adam:lr=0.3", "momentum:lr=0.0002"])
def test_blocks_give_the_same_numbers(monkeypatch, optimizer):
    rng = np.random.default_rng(3)
    # some runs diverge (far starts, large steps), some do not
    start = np.concatenate([rng.uniform(-2, 2, (37, 2)), rng.uniform(-400, 400, (8, 2))])
    whole = run("rosenbrock", optimizer, start, 40)
    blocks: list[int] = []
    original = Trajectory.__init__

    def counting(self, function, opt, starts, **kw):
        blocks.append(len(starts))
        original(self, function, opt, starts, **kw)

    monkeypatch.setattr(simulation, "BLOCK_BYTES", 1)
    monkeypatch.setattr(Trajectory, "__init__", counting)
    blocked = run("rosenbrock", optimizer, start, 40)
    assert len(blocks) > 3 and sum(blocks) == 45
    for a, b in zip(whole, blocked, strict=True):
        np.testing.assert_array_equal(a, b)
    if optimizer != "adam:lr=0.3":  # the far starts diverge, the others not
        assert whole.diverged.sum() == 8


def test_noise_is_never_split_into_blocks(monkeypatch):
    monkeypatch.setattr(simulation, "BLOCK_BYTES", 1)
    a = run("rosenbrock", "sgd:lr=0.001", np.zeros((20, 2)), 10, noise=0.5, seed=7)
    b = Trajectory("rosenbrock", "sgd:lr=0.001", np.zeros((20, 2)), noise=0.5, seed=7)
    b.advance(10)
    np.testing.assert_array_equal(a.positions, b.positions)


def test_the_result_is_not_a_copy_of_a_larger_buffer():
    res = run("rosenbrock", "adam", np.zeros((50, 2)), 30)
    assert res.positions.base is None or res.positions.base.nbytes == res.positions.nbytes
