"""optsim.history_memory: big history arrays in memory reused once their arrays are gone."""

from __future__ import annotations

import gc
import time

import numpy as np
import pytest

import optsim
from optsim import history_memory as hm

BIG = (101, 8192, 2)  # 12.6 MiB: above MIN_BYTES


@pytest.fixture(autouse=True)
def _fresh():
    hm.give_back()
    yield
    hm.give_back()


def _address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def test_small_arrays_are_plain_numpy():
    a = hm.empty((10, 3))
    assert a.shape == (10, 3) and a.dtype == np.float64 and a.flags.owndata


def test_big_array_is_writable_float64_and_reused_once_gone():
    a = hm.empty(BIG)
    assert a.shape == BIG and a.dtype == np.float64 and a.flags.writeable
    assert a.flags.c_contiguous
    a[...] = 1.5
    first = _address(a)
    del a
    gc.collect()
    assert hm.kept_bytes() >= 8 * np.prod(BIG)
    b = hm.empty(BIG)
    assert _address(b) == first  # the same memory again, no fresh pages
    assert hm.kept_bytes() == 0


def test_a_view_keeps_the_memory_in_use():
    a = hm.empty(BIG)
    a[...] = 2.0
    view = a[-1, :5]
    first = _address(a)
    del a
    gc.collect()
    assert hm.kept_bytes() == 0  # the view still uses it
    b = hm.empty(BIG)
    b[...] = -1.0
    assert _address(b) != first
    np.testing.assert_array_equal(view, 2.0)  # untouched by the new array
    del view
    gc.collect()
    assert hm.kept_bytes() > 0


def test_much_larger_memory_is_not_used_for_a_smaller_array():
    big = hm.empty((101, 32768, 2))
    address = _address(big)
    del big
    gc.collect()
    small = hm.empty(BIG)  # a quarter of the kept region: a fresh one
    assert _address(small) != address


def test_idle_memory_is_given_back(monkeypatch):
    monkeypatch.setattr(hm, "KEEP_SECONDS", 0.05)
    a = hm.empty(BIG)
    del a
    gc.collect()
    deadline = time.monotonic() + 5
    while hm.kept_bytes() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert hm.kept_bytes() == 0


def test_no_more_than_keep_bytes_is_kept(monkeypatch):
    monkeypatch.setattr(hm, "KEEP_BYTES", 20 << 20)
    arrays = [hm.empty(BIG) for _ in range(3)]  # 3 x 12.6 MiB in use
    del arrays
    gc.collect()
    assert 0 < hm.kept_bytes() <= 20 << 20


def test_simulate_results_survive_the_reuse():
    starts = np.random.default_rng(3).uniform(-1, 1, (8192, 2))
    first = optsim.simulate("rosenbrock", "adam:lr=0.01", starts, 100)
    expected = first.copy()
    second = optsim.simulate("rosenbrock", "adam:lr=0.01", starts, 100)  # new memory
    np.testing.assert_array_equal(first, expected)
    np.testing.assert_array_equal(second, expected)
    addresses = {_address(first), _address(second)}
    del first, second
    gc.collect()
    assert hm.kept_bytes() >= 2 * 8 * 101 * 8192 * 2
    third = optsim.simulate("rosenbrock", "adam:lr=0.01", starts, 100)
    assert _address(third) in addresses  # written into memory of an earlier result
    np.testing.assert_array_equal(third, expected)
    # row by row (no history reuse at all) gives the same numbers
    alone = optsim.simulate("rosenbrock", "adam:lr=0.01", starts[17], 100)
    np.testing.assert_array_equal(third[:, 17], alone)
