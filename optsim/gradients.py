"""What happens to a gradient before the optimizer sees it: stochastic noise and
clipping. Pure NumPy transforms on (N, D) batches (N runs, or N members of an
ensemble), seeded and reproducible; the simulation applies them in a training
loop's order: the (noisy) gradient, then clipping, then ``optimizer.step``.

Noise models (``--noise`` on the command line, ``noise`` in scenarios)::

    gaussian:sigma=0.5        g + σ z,            z ~ N(0, 1) per coordinate
    multiplicative:sigma=0.3  g ⊙ (1 + σ z)       (relative noise: vanishes with g)
    student:nu=3,sigma=0.5    g + σ t,            t ~ Student-t with ν degrees of freedom
    minibatch:batch=8         the gradient of B points of a data-fitting function's
                              dataset (drawn without replacement each step)

A bare number is the Gaussian σ (``0.5`` = ``gaussian:sigma=0.5``; ``0``: none).
Each model draws from one ``numpy.random.Generator`` per run set, one (N, D) draw
per step (minibatch: one draw of N × B indices), so the same seed gives the same
noise, however the steps are split.

Clipping (``--clip``) equals ``torch.nn.utils.clip_grad_norm_`` /
``clip_grad_value_`` applied to each row's gradient (each row is one model with
one parameter tensor): ``norm=c`` scales g by min(c / (‖g‖₂ + 1e-6), 1);
``value=c`` clamps each coordinate to [−c, c]. ``apply`` reports, per row,
whether clipping changed the gradient, so it is never silent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .engine.hyperparams import HyperParam, _fmt

#: the largest noise level accepted (bigger is meaningless on any view window)
MAX_SIGMA = 1e6


def _sigma(help: str) -> HyperParam:
    return HyperParam("sigma", float, 0.5, help, low=0.0, high=MAX_SIGMA)


@dataclass(frozen=True)
class NoiseKind:
    """A noise model the user can name."""

    name: str
    summary: str
    params: tuple[HyperParam, ...]

    @property
    def hyperparams(self) -> tuple[HyperParam, ...]:
        return self.params


NOISE_KINDS: dict[str, NoiseKind] = {k.name: k for k in (
    NoiseKind("gaussian", "additive Gaussian noise: g + σ z",
              (_sigma("standard deviation σ of the noise added to each coordinate"),)),
    NoiseKind("multiplicative", "relative noise: g ⊙ (1 + σ z), small where g is small",
              (_sigma("relative standard deviation σ"),)),
    NoiseKind("student", "heavy-tailed noise: g + σ t, t ~ Student-t(ν)", (
        HyperParam("nu", float, 3.0, "degrees of freedom ν (small: heavier tails)",
                   low=0.0, high=1e6, low_open=True),
        _sigma("scale σ of the noise"))),
    NoiseKind("minibatch", "true mini-batch noise: the gradient of B data points "
              "(data-fitting functions only)", (
        HyperParam("batch", int, 8, "points per mini-batch B", low=1, high=10**6),)),
)}


@dataclass(frozen=True)
class Noise:
    """A configured noise model; ``apply`` makes a gradient stochastic."""

    kind: NoiseKind
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.kind.name

    @property
    def spec(self) -> str:
        return self.name + ":" + ",".join(f"{p.name}={_fmt(self.values[p.name])}"
                                          for p in self.kind.params)

    def __repr__(self) -> str:
        return f"Noise({self.spec!r})"

    @property
    def sigma(self) -> float:
        """The Gaussian σ (0 for the other models), for code that knows only that."""
        return float(self.values["sigma"]) if self.name == "gaussian" else 0.0

    @property
    def is_zero(self) -> bool:
        return self.name != "minibatch" and float(self.values["sigma"]) == 0.0

    def apply(self, grads: np.ndarray, rng: np.random.Generator, function: Any = None,
              params: np.ndarray | None = None) -> np.ndarray:
        """The noisy gradients for ``grads`` (N, D), drawn from ``rng``. ``minibatch``
        needs the data-fitting ``function`` and the ``params`` the gradient is taken at
        (``grads`` is then not used: the batch's gradient replaces it)."""
        v = self.values
        if self.name == "gaussian":
            return grads + v["sigma"] * rng.standard_normal(grads.shape)
        if self.name == "multiplicative":
            return grads * (1.0 + v["sigma"] * rng.standard_normal(grads.shape))
        if self.name == "student":
            return grads + v["sigma"] * rng.standard_t(v["nu"], grads.shape)
        idx = self.batch_indices(function, len(grads), rng)
        return function.batch_gradient(params, idx)

    def batch_indices(self, function: Any, rows: int, rng: np.random.Generator) -> np.ndarray:
        """For each of ``rows`` runs, B distinct indices into the function's data."""
        n, b = function.n_points, int(self.values["batch"])
        if b >= n:
            return np.broadcast_to(np.arange(n), (rows, n))
        keys = rng.random((rows, n))
        return np.argpartition(keys, b - 1, axis=1)[:, :b]

    def check_function(self, function: Any) -> None:
        """A clear error if the function cannot take this noise."""
        if self.name == "minibatch" and not hasattr(function, "batch_gradient"):
            from .loss import FUNCTIONS

            names = [f.name for f in FUNCTIONS.values() if hasattr(f, "batch_gradient")]
            raise ValueError(f"minibatch noise needs a data-fitting function "
                             f"({', '.join(names)}); {function.name} has no data points")


def make_noise(name: str, **values: Any) -> Noise:
    key = name.strip().lower()
    if key not in NOISE_KINDS:
        raise ValueError(f"unknown noise {name.strip()!r}; known: {', '.join(NOISE_KINDS)}")
    kind = NOISE_KINDS[key]
    declared = {p.name: p for p in kind.params}
    unknown = sorted(set(values) - set(declared))
    if unknown:
        raise ValueError(f"{kind.name}: unknown parameter {unknown[0]!r}; known: "
                         f"{', '.join(declared)}")
    return Noise(kind, {p.name: p.validate(values.get(p.name, p.default), kind.name)
                        for p in kind.params})


def parse_noise(spec: Any) -> Noise | None:
    """A noise model from ``"gaussian:sigma=0.5"``, a bare σ (number or text), a Noise,
    or None. Zero noise is None."""
    if spec is None or isinstance(spec, Noise):
        return None if spec is None or spec.is_zero else spec
    if isinstance(spec, (int, float, np.integer, np.floating)) and not isinstance(spec, bool):
        noise = make_noise("gaussian", sigma=float(spec))
        return None if noise.is_zero else noise
    if not isinstance(spec, str):
        raise ValueError(f"noise must be a number or a spec like 'gaussian:sigma=0.5', got {spec!r}")
    text = spec.strip()
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        number = None
    if number is not None:
        return parse_noise(number)
    name, _, rest = text.partition(":")
    values: dict[str, Any] = {}
    kind = NOISE_KINDS.get(name.strip().lower())
    if kind is None:
        raise ValueError(f"unknown noise {name.strip()!r}; known: {', '.join(NOISE_KINDS)} "
                         f"(or a bare number: the Gaussian σ)")
    declared = {p.name: p for p in kind.params}
    for item in rest.split(",") if rest.strip() else []:
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq or key not in declared:
            raise ValueError(f"{kind.name}: expected key=value with key one of "
                             f"{', '.join(declared)}, got {item.strip()!r}")
        values[key] = declared[key].parse(value, kind.name)
    noise = make_noise(kind.name, **values)
    return None if noise.is_zero else noise


# ---------------------------------------------------------------------------
# clipping

CLIP_MODES = {
    "norm": HyperParam("norm", float, 1.0, "largest L2 norm of a gradient "
                       "(torch.nn.utils.clip_grad_norm_)", low=0.0, high=1e12, low_open=True),
    "value": HyperParam("value", float, 1.0, "largest |coordinate| of a gradient "
                        "(torch.nn.utils.clip_grad_value_)", low=0.0, high=1e12),
}


@dataclass(frozen=True)
class Clip:
    """Gradient clipping by global norm or by value, as torch.nn.utils does it."""

    mode: str
    threshold: float

    @property
    def spec(self) -> str:
        return f"{self.mode}={_fmt(self.threshold)}"

    def __repr__(self) -> str:
        return f"Clip({self.spec!r})"

    def apply(self, grads: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(clipped gradients, per row: whether clipping changed them)."""
        g = np.asarray(grads, dtype=np.float64)
        if self.mode == "value":
            c = self.threshold
            out = np.clip(g, -c, c)
            with np.errstate(invalid="ignore"):
                acted = (np.abs(g) > c).any(axis=1)
            return out, acted
        with np.errstate(all="ignore"):
            norm = np.sqrt(np.einsum("ij,ij->i", g, g))
            coef = self.threshold / (norm + 1e-6)
            clamped = np.minimum(coef, 1.0)
            return g * clamped[:, None], coef < 1.0


def parse_clip(spec: Any) -> Clip | None:
    """``"norm=1.0"`` / ``"value=0.5"`` (or a Clip, or None/"" for none)."""
    if spec is None or isinstance(spec, Clip):
        return spec
    if not isinstance(spec, str):
        raise ValueError(f"clip must be 'norm=C' or 'value=C', got {spec!r}")
    text = spec.strip()
    if not text or text.lower() == "none":
        return None
    mode, eq, value = text.partition("=")
    mode = mode.strip().lower()
    if not eq or mode not in CLIP_MODES:
        raise ValueError(f"clip must be 'norm=C' (clip_grad_norm_) or 'value=C' "
                         f"(clip_grad_value_), got {spec!r}")
    return Clip(mode, float(CLIP_MODES[mode].parse(value, "clip")))


__all__ = ["CLIP_MODES", "Clip", "NOISE_KINDS", "Noise", "NoiseKind", "make_noise",
           "parse_clip", "parse_noise"]
