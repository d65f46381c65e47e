"""The built-in loss functions: analytic gradients against central finite
differences, listed minima against the literature and against a brute-force scan,
shapes, views, and name resolution."""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest

from optsim.functions import CATEGORIES, FUNCTIONS, LossFunction, as_function, get_function

NAMES = sorted(FUNCTIONS)
REQUIRED_2D = {"bowl", "elongated-bowl", "rosenbrock", "beale", "himmelblau", "rastrigin", "booth",
               "saddle", "goldstein-price", "mccormick", "six-hump-camel", "ackley", "zigzag-bowl"}
REQUIRED_1D = {"cubic", "quadratic", "double-well"}


def random_points(fn: LossFunction, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    (x0, x1), (y0, y1) = fn.view
    lo = np.array([x0, y0][: fn.dim])
    hi = np.array([x1, y1][: fn.dim])
    return lo + (hi - lo) * rng.random((n, fn.dim))


def central_differences(fn: LossFunction, p: np.ndarray, h: float = 1e-6) -> np.ndarray:
    g = np.empty_like(p)
    for d in range(fn.dim):
        e = np.zeros(fn.dim)
        e[d] = h
        g[:, d] = (fn.value(p + e) - fn.value(p - e)) / (2 * h)
    return g


def test_registry_has_the_required_names() -> None:
    two = {n for n, f in FUNCTIONS.items() if f.dim == 2}
    one = {n for n, f in FUNCTIONS.items() if f.dim == 1}
    assert REQUIRED_2D <= two
    assert REQUIRED_1D <= one
    assert len(one) >= 6  # cubic, quadratic, double-well and a few more
    for name, fn in FUNCTIONS.items():
        assert fn.name == name and name == name.lower()
        assert fn.category in CATEGORIES
        assert fn.formula and fn.description


@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_central_differences(name: str) -> None:
    fn = FUNCTIONS[name]
    p = random_points(fn, 40, seed=zlib.crc32(name.encode()))
    if name == "ackley":  # the cone tip at the origin is not differentiable
        p = p[np.linalg.norm(p, axis=1) > 1e-3]
    g = fn.gradient(p)
    fd = central_differences(fn, p)
    scale = 1 + np.abs(fn.value(p))[:, None] + np.abs(g)
    assert np.all(np.abs(g - fd) <= 1e-6 * scale), np.max(np.abs(g - fd) / scale)


def test_finite_difference_check_would_catch_a_wrong_gradient() -> None:
    fn = FUNCTIONS["goldstein-price"]
    p = random_points(fn, 40, seed=1)
    wrong = fn.gradient(p) * 1.001
    scale = 1 + np.abs(fn.value(p))[:, None] + np.abs(wrong)
    assert np.any(np.abs(wrong - central_differences(fn, p)) > 1e-6 * scale)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("n", [1, 7])
def test_shapes_and_dtype(name: str, n: int) -> None:
    fn = FUNCTIONS[name]
    p = random_points(fn, n, seed=n)
    v, g = fn.value(p), fn.gradient(p)
    assert v.shape == (n,) and v.dtype == np.float64
    assert g.shape == (n, fn.dim) and g.dtype == np.float64
    assert np.all(np.isfinite(v)) and np.all(np.isfinite(g))
    # each row is computed independently of the others
    np.testing.assert_array_equal(fn.value(p[:1]), v[:1])
    np.testing.assert_array_equal(fn(p.ravel()), v)  # __call__ reshapes flat input
    np.testing.assert_array_equal(fn.grad(p), g)


@pytest.mark.parametrize("name", NAMES)
def test_view_and_start(name: str) -> None:
    fn = FUNCTIONS[name]
    (x0, x1), (y0, y1) = fn.view
    assert x0 < x1 and y0 < y1
    assert x0 <= fn.start[0] <= x1
    if fn.dim == 2:
        assert y0 <= fn.start[1] <= y1
    else:  # the curve at the start is on the plot
        assert y0 <= fn.value(np.array([fn.start]))[0] <= y1
    # the start is not a stationary point: an optimizer has somewhere to go
    assert np.linalg.norm(fn.gradient(np.array([fn.start]))) > 1e-3


@pytest.mark.parametrize("name", NAMES)
def test_listed_minima_are_minima_with_their_values(name: str) -> None:
    fn = FUNCTIONS[name]
    assert len(fn.minima) == len(fn.minimum_values)
    if not fn.minima:
        assert fn.unbounded_below and fn.minima_note
        return
    pts = np.array(fn.minima, dtype=float)
    values = fn.value(pts)
    listed = np.array(fn.minimum_values)
    assert np.all(np.abs(values - listed) <= 1e-8 * np.maximum(1, np.abs(listed)))
    grads = fn.gradient(pts)
    assert np.all(np.abs(grads) <= 1e-7 * (1 + np.abs(listed))[:, None]), grads
    # lower than every neighbour at a small distance in every direction
    for r in (1e-3, 1e-2):
        angles = np.linspace(0, 2 * np.pi, 16, endpoint=False)
        dirs = np.array([[1.0], [-1.0]]) if fn.dim == 1 else np.c_[np.cos(angles), np.sin(angles)]
        for m, v in zip(pts, values, strict=True):
            assert np.all(fn.value(m + r * dirs) > v)
    # distinct points
    for i in range(len(pts)):
        for j in range(i):
            assert np.linalg.norm(pts[i] - pts[j]) > 1e-3


# the literature's global minima (Surjanovic & Bingham; Wikipedia, "Test functions for
# optimization"), with the precision the literature gives
LITERATURE = {
    "rosenbrock": ([(1, 1)], 0.0, 1e-12),
    "beale": ([(3, 0.5)], 0.0, 1e-12),
    "himmelblau": ([(3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186),
                    (3.584428, -1.848126)], 0.0, 1e-6),
    "rastrigin": ([(0, 0)], 0.0, 1e-12),
    "booth": ([(1, 3)], 0.0, 1e-12),
    "goldstein-price": ([(0, -1)], 3.0, 1e-12),
    "mccormick": ([(-0.54719, -1.54719)], -1.9133, 1e-4),
    "six-hump-camel": ([(0.0898, -0.7126), (-0.0898, 0.7126)], -1.0316, 1e-4),
    "ackley": ([(0, 0)], 0.0, 1e-12),
    "bowl": ([(0, 0)], 0.0, 0.0),
    "elongated-bowl": ([(0, 0)], 0.0, 0.0),
}


@pytest.mark.parametrize("name", sorted(LITERATURE))
def test_global_minima_match_the_literature(name: str) -> None:
    fn = FUNCTIONS[name]
    points, value, tol = LITERATURE[name]
    assert fn.global_minimum_value == pytest.approx(value, abs=tol)
    assert len(fn.global_minima) == len(points)
    for p in points:
        assert min(np.max(np.abs(np.subtract(m, p))) for m in fn.global_minima) <= max(tol, 1e-4)
        assert fn.value(np.array([p], dtype=float))[0] == pytest.approx(value, abs=max(tol, 1e-4))


def test_local_minima_of_the_classics() -> None:
    gp = FUNCTIONS["goldstein-price"]
    assert sorted(gp.minimum_values) == [3.0, 30.0, 84.0, 840.0]
    camel = FUNCTIONS["six-hump-camel"]
    assert len(camel.minima) == 6 and len(camel.global_minima) == 2
    assert sorted(round(v, 4) for v in camel.minimum_values) == [-1.0316, -1.0316, -0.2155,
                                                                 -0.2155, 2.1043, 2.1043]
    assert len(FUNCTIONS["himmelblau"].global_minima) == 4


def grid_local_minima(fn: LossFunction, n: int) -> np.ndarray:
    """Grid points lower than all their grid neighbours: a brute-force scan."""
    (x0, x1), (y0, y1) = fn.view
    if fn.dim == 1:
        xs = np.linspace(x0, x1, n)
        z = fn.value(xs[:, None])
        inner = (z[1:-1] < z[:-2]) & (z[1:-1] < z[2:])
        return xs[1:-1][inner][:, None]
    xs, ys = np.linspace(x0, x1, n), np.linspace(y0, y1, n)
    X, Y = np.meshgrid(xs, ys, indexing="ij")
    z = fn.value(np.c_[X.ravel(), Y.ravel()]).reshape(X.shape)
    c = z[1:-1, 1:-1]
    lower = np.ones_like(c, dtype=bool)
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            if dx or dy:
                lower &= c < z[1 + dx: n - 1 + dx, 1 + dy: n - 1 + dy]
    i, j = np.nonzero(lower)
    return np.c_[xs[1:-1][i], ys[1:-1][j]]


COMPLETE = [n for n in NAMES if not FUNCTIONS[n].minima_note]


@pytest.mark.parametrize("name", COMPLETE + ["mccormick"])
def test_every_minimum_in_the_view_is_listed(name: str) -> None:
    """A brute-force grid scan, each candidate polished by damped Newton, finds no
    minimum in the view that the list leaves out, and finds every listed minimum
    that lies inside the view."""
    fn = FUNCTIONS[name]
    found = grid_local_minima(fn, 4001 if fn.dim == 1 else 501)
    (x0, x1), (y0, y1) = fn.view
    span = np.array([x1 - x0, y1 - y0][: fn.dim])
    lo, hi = np.array([x0, y0][: fn.dim]), np.array([x1, y1][: fn.dim])
    listed = np.array(fn.minima, dtype=float).reshape(-1, fn.dim)
    cell = 2.5 * span / (4000 if fn.dim == 1 else 500)
    polished = 0
    for p in found:
        q = _polish(fn, p)
        if q is None or np.any(q < lo) or np.any(q > hi):
            continue  # a grid artefact on a flat valley floor that slides out of the view
        polished += 1
        assert np.any(np.all(np.abs(listed - q) <= 1e-6, axis=1)), (p, q)
    assert polished >= 1
    for m in listed:
        if np.all((m >= lo + cell) & (m <= hi - cell)):
            assert np.any(np.all(np.abs(found - m) <= cell, axis=1)), m


def _hessian(fn: LossFunction, p: np.ndarray, h: float = 1e-6) -> np.ndarray:
    rows = [(fn.gradient((p + h * e)[None])[0] - fn.gradient((p - h * e)[None])[0]) / (2 * h)
            for e in np.eye(fn.dim)]
    return 0.5 * (np.array(rows) + np.array(rows).T)


def _polish(fn: LossFunction, p: np.ndarray) -> np.ndarray | None:
    """Damped Newton (Levenberg-Marquardt) from p: a local minimum with a positive
    definite Hessian, or None if it does not converge."""
    p, lam = p.astype(float), 1e-3
    f = fn.value(p[None])[0]
    (x0, x1), (y0, y1) = fn.view
    lo, hi = np.array([x0, y0][: fn.dim]), np.array([x1, y1][: fn.dim])
    for _ in range(300):
        if np.any(p < lo - (hi - lo)) or np.any(p > hi + (hi - lo)):
            return None  # slid far out of the view
        g = fn.gradient(p[None])[0]
        if np.max(np.abs(g)) <= 1e-9 * (1 + abs(f)):
            return p if np.all(np.linalg.eigvalsh(_hessian(fn, p)) > 0) else None
        h = _hessian(fn, p)
        q = p - np.linalg.solve(h + lam * np.eye(fn.dim), g)
        fq = fn.value(q[None])[0]
        if fq <= f:
            p, f, lam = q, fq, max(lam / 3, 1e-12)
        else:
            lam *= 4
        if not np.all(np.isfinite(p)) or np.max(np.abs(p)) > 1e6:
            return None
    return None


def test_double_well_has_two_minima_of_different_depth() -> None:
    fn = FUNCTIONS["double-well"]
    (left, right) = sorted(fn.minima)
    # independent: the derivative 4x^3 - 4x + 0.3 vanishes there
    for (x,) in (left, right):
        assert abs(4 * x**3 - 4 * x + 0.3) < 1e-12
    vl, vr = fn.value(np.array([left, right]))
    assert vl < vr - 0.5  # the left valley is clearly deeper
    assert fn.start[0] > right[0]  # started on the shallow side


def test_cubic_is_the_course_figure() -> None:
    fn = FUNCTIONS["cubic"]
    assert fn.view == ((-3.0, 7.0), (-40.0, 120.0)) and fn.start == (7.0,)
    assert fn.minima[0][0] == pytest.approx(10 / 3)
    assert fn.minimum_values[0] == pytest.approx(-8.5185, abs=1e-4)
    assert fn.unbounded_below
    x = np.linspace(-3, 7, 11)
    np.testing.assert_allclose(fn.value(x[:, None]), x**3 - 5 * x**2 + 10)


def _gd(fn: LossFunction, start: tuple[float, ...], lr: float, steps: int) -> np.ndarray:
    p = np.array([start], dtype=float)
    path = [p[0].copy()]
    for _ in range(steps):
        p = p - lr * fn.gradient(p)
        path.append(p[0].copy())
    return np.array(path)


def test_zigzag_bowl_makes_gradient_descent_zigzag() -> None:
    fn = FUNCTIONS["zigzag-bowl"]
    assert fn.view == ((-1.0, 1.0), (-1.0, 1.0))
    path = _gd(fn, fn.start, lr=0.1, steps=60)
    signs = np.sign(path[:8, 1])
    assert np.all(signs[1:] == -signs[:-1])  # y flips side every step
    assert np.all(np.diff(path[:8, 0]) > 0)  # while x creeps steadily toward 0
    assert np.linalg.norm(path[-1]) < 0.01  # and it still converges
    # the symmetric bowl at the same rate goes straight in: no sign flips
    bowl = _gd(FUNCTIONS["bowl"], (-0.9, 0.5), lr=0.1, steps=20)
    assert np.all(bowl[:, 1] > 0)
    # a rate beyond 2/16 diverges
    assert np.linalg.norm(_gd(fn, fn.start, lr=0.13, steps=200)[-1]) > 10


def test_elongated_bowl_is_the_course_figure() -> None:
    fn = FUNCTIONS["elongated-bowl"]
    assert fn.view == ((-2.0, 1.0), (-2.0, 1.0))
    p = np.array([[0.3, -0.7]])
    assert fn.value(p)[0] == pytest.approx(0.09 + 9 * 0.49)


def test_saddle_has_no_minimum_and_descent_escapes() -> None:
    fn = FUNCTIONS["saddle"]
    assert fn.minima == () and fn.unbounded_below and fn.global_minimum_value is None
    path = _gd(fn, fn.start, lr=0.1, steps=60)
    assert abs(path[-1, 0]) < 1e-3 and abs(path[-1, 1]) > 10
    assert fn.value(path[-1:])[0] < -100


def test_ackley_gradient_at_the_origin_is_zero_and_finite() -> None:
    fn = FUNCTIONS["ackley"]
    np.testing.assert_array_equal(fn.gradient(np.zeros((3, 2))), np.zeros((3, 2)))
    assert fn.value(np.zeros((1, 2)))[0] == pytest.approx(0.0, abs=1e-14)


def test_mccormick_is_unbounded_below_outside_its_window() -> None:
    fn = FUNCTIONS["mccormick"]
    assert fn.unbounded_below
    # along x - y = 1 the value is sin(u) + u/2, so it falls without bound as u = x + y decreases
    u = np.array([-20.0, -200.0])
    v = fn.value(np.c_[(u + 1) / 2, (u - 1) / 2])
    np.testing.assert_allclose(v, np.sin(u) + u / 2)


@pytest.mark.parametrize("text", ["Rosenbrock", " ROSENBROCK ", "six_hump_camel",
                                  "Six Hump Camel"])
def test_names_are_case_and_separator_insensitive(text: str) -> None:
    assert as_function(text) is FUNCTIONS[text.strip().lower().replace("_", "-").replace(" ", "-")]
    assert get_function(text) is as_function(text)


@pytest.mark.parametrize("text", ["rosenbrok", "my-function", "sin", "pi"])
def test_unknown_words_are_unknown_functions(text: str) -> None:
    with pytest.raises(ValueError, match=r"unknown function .*known: .*rosenbrock.*himmelblau"):
        as_function(text)


def test_as_function_passes_objects_through_and_rejects_other_types() -> None:
    fn = FUNCTIONS["bowl"]
    assert as_function(fn) is fn
    with pytest.raises(TypeError, match="expected a function name"):
        as_function(3)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["x", "x-y", "y-x", "x-pi", "x**2 + y**2", "x^2"])
def test_formulas_go_to_the_formula_parser(text: str) -> None:
    fn = as_function(text)
    assert fn.is_custom and "custom formula" in fn.description


def test_inconsistent_definitions_are_refused() -> None:
    kw = dict(value=lambda p: p[:, 0], gradient=lambda p: p, view=((0, 1), (0, 1)))
    with pytest.raises(ValueError, match="dimension"):
        LossFunction("f", 3, start=(0, 0, 0), **kw)
    with pytest.raises(ValueError, match="start"):
        LossFunction("f", 2, start=(0,), **kw)
    with pytest.raises(ValueError, match="minimum values"):
        LossFunction("f", 1, start=(0,), minima=((0,),), **kw)
    with pytest.raises(ValueError, match="coordinates"):
        LossFunction("f", 1, start=(0,), minima=((0, 0),), minimum_values=(0,), **kw)
    with pytest.raises(ValueError, match="category"):
        LossFunction("f", 1, start=(0,), category="fun", **kw)


def test_value_range_is_the_plot_y_range() -> None:
    assert FUNCTIONS["cubic"].value_range == (-40.0, 120.0)
    assert all(f.value_range[0] < f.value_range[1] for f in FUNCTIONS.values())


@pytest.mark.parametrize("name", [n for n in NAMES if FUNCTIONS[n].dim == 1])
def test_one_d_minima_fit_on_the_plot(name: str) -> None:
    fn = FUNCTIONS[name]
    (x0, x1), (y0, y1) = fn.view
    for (m,), v in zip(fn.minima, fn.minimum_values, strict=True):
        if x0 <= m <= x1:
            assert y0 <= v <= y1


def test_the_euler_constant_in_ackley_is_e() -> None:
    fn = FUNCTIONS["ackley"]
    # at (0.5, 0.5): cos terms are -1 each
    r = math.sqrt(0.25)
    expect = -20 * math.exp(-0.2 * r) - math.exp(-1) + math.e + 20
    assert fn.value(np.array([[0.5, 0.5]]))[0] == pytest.approx(expect, rel=1e-14)
