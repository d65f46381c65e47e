"""The command line's values: parsing each flag's text, with one-line errors.

Shared by :mod:`optsim.cli` and :mod:`optsim.cli_scenarios` (below both, so neither
imports the other's module for them). The limits are the run set's
(:mod:`optsim.runset`), the same for files, the command line and the window.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence

import numpy as np

from .loss import LossFunction
from .runset import MAX_COORD, MAX_STEPS

PROG = "optsim"
EXIT_USAGE = 2
DEFAULT_FUNCTION = "rosenbrock"
DEFAULT_OPTIMIZERS = ("sgd", "momentum", "adam")
DEFAULT_STEPS = 100
DEFAULT_SIZE = (1280, 960)


class CliError(Exception):
    """Bad command-line input: reported as one line, exit status 2."""


def one_line(exc: BaseException | str) -> str:
    """An exception's message on one line (its type's name if it has none)."""
    text = str(exc).strip() or type(exc).__name__
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def parse_number(text: str, what: str) -> float:
    """A finite float from ``text``; CliError naming ``what`` otherwise."""
    try:
        value = float(text.strip())
    except ValueError:
        raise CliError(f"{what}: {text.strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise CliError(f"{what}: {text.strip()!r} is not a finite number")
    return value


def parse_whole(text: str, what: str, lo: int) -> int:
    """A whole number >= ``lo`` from ``text``; CliError naming ``what`` otherwise."""
    v = parse_number(str(text), what)
    if v != int(v) or v < lo:
        raise CliError(f"{what} must be a whole number >= {lo}, got {text!r}")
    return int(v)


def parse_starts(texts: Sequence[str], fn: LossFunction) -> np.ndarray:
    """Start points from ``--start`` values: ``"x,y"``, several separated by ``;``.
    Returns (N, D)."""
    points = []
    for text in texts:
        for part in text.split(";"):
            if not part.strip():
                continue
            coords = [parse_number(c, "--start") for c in part.split(",")]
            far = [c for c in coords if abs(c) > MAX_COORD]
            if far:
                raise CliError(f"--start: {far[0]:g} is too far out (|coordinate| <= {MAX_COORD:g})")
            if len(coords) != fn.dim:
                want = "x" if fn.dim == 1 else "x,y"
                raise CliError(
                    f"--start: {fn.name} is {fn.dim}D, so a start has {fn.dim} "
                    f"coordinate{'s' if fn.dim > 1 else ''} ({want}); got {part.strip()!r}"
                )
            points.append(coords)
    if not points:
        raise CliError("--start: no start point given")
    return np.array(points, dtype=np.float64)


def parse_steps(text: str) -> int:
    """``--steps``: a whole number in [0, MAX_STEPS]."""
    try:
        value = float(text.strip())
    except ValueError:
        raise CliError(f"--steps: {text.strip()!r} is not a whole number") from None
    if not math.isfinite(value) or value != int(value):
        raise CliError(f"--steps: {text.strip()!r} is not a whole number")
    steps = int(value)
    if not 0 <= steps <= MAX_STEPS:
        raise CliError(f"--steps must be in [0, {MAX_STEPS}], got {steps}")
    return steps


def picture_size(args: argparse.Namespace) -> tuple[int, int]:
    """``--width``/``--height`` (or ``--size WxH``): whole numbers within the
    exporters' limits."""
    from .export.image import MAX_SIZE, MIN_SIZE

    size = []
    pairs = (("--width", args.width), ("--height", args.height))
    text = getattr(args, "size_text", None)
    if text is not None:
        parts = text.lower().replace("×", "x").split("x")
        if len(parts) != 2:
            raise CliError(f"--size must be WIDTHxHEIGHT, e.g. 1920x1080, got {text!r}")
        pairs = (("--size width", parts[0].strip()), ("--size height", parts[1].strip()))
    for name, text in pairs:
        try:
            v = float(text)
        except ValueError:
            raise CliError(f"{name}: {text!r} is not a whole number") from None
        if not math.isfinite(v) or v != int(v) or not MIN_SIZE <= v <= MAX_SIZE:
            raise CliError(f"{name} must be a whole number in [{MIN_SIZE}, {MAX_SIZE}], got {text!r}")
        size.append(int(v))
    return size[0], size[1]
