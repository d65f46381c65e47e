"""Gradient noise models and clipping: clipping against torch.nn.utils (golden
file from tools/make_golden_schedules.py), noise against its definition and
reproducibility; the data-fitting functions' mini-batch gradients."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from optsim.functions import get_function
from optsim.gradients import Clip, make_noise, parse_clip, parse_noise

GOLDEN = Path(__file__).parent / "golden" / "schedules" / "clip.npz"


def test_clipping_matches_torch() -> None:
    with np.load(GOLDEN) as data:
        json.loads(str(data["meta"]))
        grads = data["grads"]
        cases = {k: data[k] for k in data.files if k not in ("meta", "grads")}
    assert len(cases) == 4
    for key, expected in cases.items():
        clip = parse_clip(key)
        got, acted = clip.apply(grads)
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-300)
        # "acted" is exactly where torch changed the gradient
        np.testing.assert_array_equal(acted, (expected != grads).any(axis=1))


def test_clip_norm_is_per_row_and_never_grows() -> None:
    g = np.array([[3.0, 4.0], [0.3, 0.4], [0.0, 0.0]])
    out, acted = Clip("norm", 1.0).apply(g)
    np.testing.assert_allclose(out[0], [0.6, 0.8], rtol=1e-5)
    np.testing.assert_array_equal(out[1:], g[1:])
    assert acted.tolist() == [True, False, False]


@pytest.mark.parametrize(("text", "message"), [
    ("norm=0", "out of range"), ("value=-1", "out of range"), ("size=3", "norm=C"),
    ("norm", "norm=C"), ("norm=abc", "must be a number"),
])
def test_bad_clip_specs(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_clip(text)


def test_noise_specs() -> None:
    assert parse_noise("0.5").spec == "gaussian:sigma=0.5"
    assert parse_noise(0.25).sigma == 0.25
    assert parse_noise("0") is None and parse_noise(0.0) is None and parse_noise("") is None
    assert parse_noise("student:nu=3,sigma=0.2").values == {"nu": 3.0, "sigma": 0.2}
    assert parse_noise("minibatch:batch=8").values == {"batch": 8}
    assert parse_noise("multiplicative:sigma=0.1").name == "multiplicative"
    for bad, message in (("-1", "out of range"), ("gauss:sigma=1", "unknown noise"),
                         ("student:nu=0", "out of range"), ("minibatch:batch=0", "out of range"),
                         ("gaussian:mu=1", "expected key=value")):
        with pytest.raises(ValueError, match=message):
            parse_noise(bad)


def test_noise_models_follow_their_definitions() -> None:
    g = np.tile([[2.0, -1.0]], (200_000, 1))
    rng = np.random.default_rng(1)
    out = make_noise("gaussian", sigma=0.5).apply(g, rng)
    assert np.allclose(out.mean(axis=0), g[0], atol=0.01)
    assert np.allclose(out.std(axis=0), 0.5, rtol=0.01)
    out = make_noise("multiplicative", sigma=0.5).apply(g, rng)
    assert np.allclose(out.std(axis=0), 0.5 * np.abs(g[0]), rtol=0.01)
    out = make_noise("student", nu=3.0, sigma=0.5).apply(g, rng)
    # Student-t(3) has variance nu/(nu-2) = 3 and heavy tails
    assert np.allclose(out.var(axis=0), 0.25 * 3, rtol=0.1)
    z = np.abs(out - g) / 0.5
    assert (z > 6).mean() > 100 * 2e-9  # far more 6-sigma events than a Gaussian


def test_noise_is_reproducible() -> None:
    g = np.zeros((5, 2))
    noise = make_noise("student", nu=2.5, sigma=1.0)
    a = noise.apply(g, np.random.default_rng(7))
    b = noise.apply(g, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    # the Gaussian model draws as the simulation always did: g + sigma * standard_normal
    np.testing.assert_array_equal(make_noise("gaussian", sigma=0.3).apply(g, np.random.default_rng(3)),
                                  0.3 * np.random.default_rng(3).standard_normal((5, 2)))


@pytest.mark.parametrize("name", ["linear-regression", "logistic-regression"])
def test_data_fitting_functions(name: str) -> None:
    fn = get_function(name)
    assert fn.n_points == 64 and fn.dim == 2
    p = np.array([[1.0, 0.5], [2.0, -1.0], list(fn.start)])
    h = 1e-6
    numeric = np.stack([(fn.value(p + [h, 0]) - fn.value(p - [h, 0])) / (2 * h),
                        (fn.value(p + [0, h]) - fn.value(p - [0, h])) / (2 * h)], axis=1)
    np.testing.assert_allclose(fn.gradient(p), numeric, rtol=1e-6, atol=1e-8)
    # the full batch is the full gradient; the mean of all one-point gradients too
    every = np.tile(np.arange(fn.n_points), (3, 1))
    np.testing.assert_allclose(fn.batch_gradient(p, every), fn.gradient(p), rtol=1e-12)
    np.testing.assert_allclose(fn.batch_value(p, every), fn.value(p), rtol=1e-12)
    singles = np.mean([fn.batch_gradient(p, np.full((3, 1), i)) for i in range(fn.n_points)],
                      axis=0)
    np.testing.assert_allclose(singles, fn.gradient(p), rtol=1e-12, atol=1e-15)
    # the listed minimum is a stationary point
    np.testing.assert_allclose(fn.gradient(np.array(fn.minima)), 0.0, atol=1e-12)


def test_minibatch_draws_distinct_points() -> None:
    fn = get_function("linear-regression")
    noise = make_noise("minibatch", batch=8)
    idx = noise.batch_indices(fn, 100, np.random.default_rng(0))
    assert idx.shape == (100, 8)
    assert all(len(set(row)) == 8 for row in idx.tolist())
    noise.check_function(fn)
    with pytest.raises(ValueError, match="needs a data-fitting function"):
        noise.check_function(get_function("rosenbrock"))
