"""Gradient noise in sweeps, basins and tuning: every cell run with K seeds.

With noise, each cell (and each start) is run K times, member k with the noise a
separate run with ``seed + k`` gets: ``optsim.simulate(function, optimizer, start,
steps, noise=spec, seed=seed + k)`` draws its noise from
``numpy.random.default_rng(seed + k)``, one (1, D) draw per gradient (the start's
included), and member k here draws the same numbers the same way, so a cell's row
for member k is that separate run. The cell's metric is then the median over its
starts × seeds (as over starts). Every cell sees the same K noise sequences (common
random numbers): neighbouring cells differ by their settings, not by their luck.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..gradients import Noise, parse_noise
from .axes import SweepInputError

#: seeds per cell when noise is given and ``seeds`` is not
DEFAULT_SEEDS = 5
#: the most seeds per cell
MAX_SEEDS = 10_000
#: the largest seed (NumPy takes any whole number >= 0; JSON and CSV tools, 64 bits)
MAX_SEED = 2**63 - 1


def as_noise(noise: Any, function: Any = None) -> Noise | None:
    """A noise model from a spec (``"gaussian:sigma=0.5"``, ``"student:nu=3,sigma=1"``,
    ``"minibatch:batch=8"``), a bare Gaussian σ, a Noise, or None; zero noise is None.
    Raises SweepInputError (one line), also when ``function`` cannot take it."""
    if isinstance(noise, (bool, np.bool_)):
        raise SweepInputError(f"noise must be a noise spec or a number >= 0, got {noise!r}")
    try:
        model = parse_noise(noise)
        if model is not None and function is not None:
            model.check_function(function)
    except (ValueError, TypeError) as exc:
        raise SweepInputError(f"noise: {exc}") from None
    return model


def check_seed(seed: Any) -> int:
    """The first seed: a whole number in [0, MAX_SEED]."""
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) \
            or not 0 <= int(seed) <= MAX_SEED:
        raise SweepInputError(f"seed must be a whole number in [0, {MAX_SEED}], got {seed!r}")
    return int(seed)


def check_seeds(seeds: Any, noise: Noise | None, seed: int = 0) -> int:
    """K, the seeds per cell: ``seeds`` (default DEFAULT_SEEDS with noise, 1 without;
    without noise every seed would give the same run, so K is 1)."""
    if seeds is None:
        return DEFAULT_SEEDS if noise is not None else 1
    if isinstance(seeds, (bool, np.bool_)) or not isinstance(seeds, (int, np.integer)) \
            or not 1 <= int(seeds) <= MAX_SEEDS:
        raise SweepInputError(f"seeds must be a whole number in [1, {MAX_SEEDS}], got {seeds!r}")
    if seed + int(seeds) - 1 > MAX_SEED:
        raise SweepInputError(f"seed + seeds − 1 must be at most {MAX_SEED}")
    return int(seeds) if noise is not None else 1


def noise_text(noise: Noise | None, seed: int, seeds: int) -> str:
    """``"gaussian:sigma=0.5 noise, 5 seeds (0–4)"``, or "" without noise."""
    if noise is None:
        return ""
    which = f"seed {seed}" if seeds == 1 else f"{seeds} seeds ({seed}–{seed + seeds - 1})"
    return f"{noise.spec} noise, {which}"


class MemberDraws:
    """A random source for N rows, each a member k of K: a draw of shape (N, ...)
    is one draw of shape (1, ...) from member k's generator, for each k in order,
    given to every row of that member (``Noise.apply`` then computes the noisy
    gradient exactly as a one-run simulation does)."""

    def __init__(self, rngs: list[np.random.Generator], member: np.ndarray) -> None:
        self.rngs, self.member = rngs, member

    def _rows(self, draw: Any, shape: tuple[int, ...]) -> np.ndarray:
        one = (1,) + tuple(shape[1:])
        per = np.concatenate([draw(rng, one) for rng in self.rngs])
        return per[self.member]

    def standard_normal(self, shape: tuple[int, ...]) -> np.ndarray:
        return self._rows(lambda rng, s: rng.standard_normal(s), shape)

    def standard_t(self, nu: float, shape: tuple[int, ...]) -> np.ndarray:
        return self._rows(lambda rng, s: rng.standard_t(nu, s), shape)


class SeededNoise:
    """The noisy gradient of N rows, row i being member ``member[i]`` (0..K−1) whose
    noise is that of a separate run with ``seed + member`` (see the module docstring).
    Called as ``noise(grads, params)`` where the runner takes a gradient."""

    def __init__(self, noise: Noise, seed: int, member: np.ndarray, function: Any) -> None:
        self.noise, self.function = noise, function
        self.member = np.asarray(member, dtype=np.intp)
        k = int(self.member.max()) + 1 if len(self.member) else 1
        self.draws = MemberDraws([np.random.default_rng(seed + j) for j in range(k)], self.member)

    def __call__(self, grads: np.ndarray, params: np.ndarray) -> np.ndarray:
        if self.noise.name == "minibatch":  # each member's batch, for its rows
            idx = np.concatenate([self.noise.batch_indices(self.function, 1, rng)
                                  for rng in self.draws.rngs])
            return self.function.batch_gradient(params, idx[self.member])
        return self.noise.apply(grads, self.draws)


def members(rows: int, seeds: int) -> np.ndarray:
    """The member of each of ``rows`` rows laid out with the member fastest."""
    return np.tile(np.arange(seeds), math.ceil(rows / seeds))[:rows]


__all__ = ["DEFAULT_SEEDS", "MAX_SEEDS", "MemberDraws", "SeededNoise", "as_noise",
           "check_seed", "check_seeds", "members", "noise_text"]
