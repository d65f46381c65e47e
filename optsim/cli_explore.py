"""``optsim sweep``, ``optsim basins`` and ``optsim tune``: hyperparameter maps, basins
of attraction and fair learning-rate tuning on the command line, registered with
:mod:`optsim.cli` as sub-commands.

Bad input (an unknown hyperparameter, an axis over a boolean, LO >= HI, N < 2, a
log axis with LO <= 0, a grid too large for memory, ...) gets one line on stderr and
exit status 2, before anything is computed or written.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from .cli_args import (
    DEFAULT_OPTIMIZERS,
    CliError,
    one_line,
    parse_number,
    parse_starts,
    parse_steps,
    picture_size,
)
from .explore import METRICS, SweepInputError
from .explore.axes import Axis
from .explore.basins import MAX_GRID, BasinsResult, basins
from .explore.cluster import check_cluster
from .explore.noise import DEFAULT_SEEDS, MAX_SEED, MAX_SEEDS, noise_text
from .explore.runner import DEFAULT_TOL, METRIC_LABELS, keep_freed_memory
from .explore.sweep import SweepPlan, SweepResult, plan_sweep, run_sweep_plan, split_optimizer
from .explore.tune import CRITERIA, DEFAULT_CRITERION, TuneResult, describe, tune
from .export.explore import (
    SWEEP_SIZE,
    basins_figure,
    basins_spec,
    race_figure,
    save_pictures,
    sweep_title,
    sweep_widget,
)
from .files import ExportError, atomic_write, atomic_write_text, check_writable, transaction
from .functions import LossFunction, as_function
from .gradients import parse_clip
from .runset import unique_labels

DEFAULT_BASIN_GRID = 101
DEFAULT_BASIN_STEPS = 500


def _num(v: float) -> str:
    return repr(float(v))


# ---------------------------------------------------------------------------
# shared argument handling


def _function(text: str) -> LossFunction:
    try:
        return as_function(text)
    except (ValueError, TypeError, SyntaxError) as exc:
        raise CliError(f"--function: {one_line(exc)}") from None


def _check_paths(args: argparse.Namespace, options: Sequence[str]) -> None:
    seen: dict[str, str] = {}
    for opt in options:
        path = getattr(args, opt.lstrip("-"), None)
        if path is None:
            continue
        key = os.path.abspath(path)
        if key in seen:
            raise CliError(f"{opt} and {seen[key]} both write {path!r}")
        seen[key] = opt
        try:
            check_writable(path)
        except ExportError as exc:
            raise CliError(f"{opt}: {exc}") from None
    if getattr(args, "png", None) or getattr(args, "svg", None):
        args.size = picture_size(args)


def _cluster(args: argparse.Namespace) -> Any:
    if getattr(args, "cluster", None) is None:
        return None
    try:
        cluster = check_cluster(args.cluster)
    except SweepInputError as exc:
        raise CliError(str(exc)) from None
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise CliError("--cluster needs Dask: pip install 'optsim[cluster]'") from None
    return cluster


def _tol(text: str) -> float:
    tol = parse_number(text, "--tol")
    if tol <= 0:
        raise CliError(f"--tol must be > 0, got {text.strip()!r}")
    return tol


def _clip(args: argparse.Namespace) -> Any:
    """``--clip norm=C|value=C`` as an ``optsim.gradients.Clip`` (None: not given)."""
    text = getattr(args, "clip", None)
    if text is None:
        return None
    try:
        return parse_clip(text)
    except ValueError as exc:
        raise CliError(f"--clip: {one_line(exc)}") from None


def _noise(args: argparse.Namespace, fn: LossFunction) -> dict[str, Any]:
    """``--noise SPEC --seed N --seeds K`` as keyword arguments of sweep, basins and
    tune, the noise checked against the function ``fn``."""
    out: dict[str, Any] = {}
    text = getattr(args, "noise", None)
    if text is not None:
        from .gradients import parse_noise

        try:
            out["noise"] = parse_noise(text)
            if out["noise"] is not None:
                out["noise"].check_function(fn)
        except ValueError as exc:
            raise CliError(f"--noise: {one_line(exc)}") from None
    if getattr(args, "seed", None) is not None:
        out["seed"] = _whole(args.seed, "--seed", 0, MAX_SEED)
    if getattr(args, "seeds", None) is not None:
        out["seeds"] = _whole(args.seeds, "--seeds", 1, MAX_SEEDS)
    return out


def _whole(text: str, what: str, lo: int, hi: int) -> int:
    v = parse_number(text, what)
    if v != int(v) or not lo <= v <= hi:
        raise CliError(f"{what} must be a whole number in [{lo}, {hi}], got {text.strip()!r}")
    return int(v)


# ---------------------------------------------------------------------------
# sweep


def build_sweep(args: argparse.Namespace) -> SweepPlan:
    fn = _function(args.function)
    starts = parse_starts(args.start, fn) if args.start else None
    steps = parse_steps(args.steps)
    tol = _tol(args.tol)
    if args.metric not in METRICS:
        raise CliError(f"--metric must be one of {', '.join(METRICS)}, got {args.metric!r}")
    noise = _noise(args, fn)
    try:
        x = Axis.parse(args.x)
        y = Axis.parse(args.y) if args.y else None
        return plan_sweep(fn, args.optimizer, x, y, start=starts, steps=steps,
                          metric=args.metric, tol=tol, clip=_clip(args), **noise)
    except SweepInputError as exc:
        raise CliError(f"{one_line(exc)}") from None
    except ValueError as exc:
        raise CliError(f"--optimizer {args.optimizer!r}: {one_line(exc)}") from None


def sweep_csv(result: SweepResult) -> str:
    """``NAME_X[,NAME_Y],METRIC``, one row per cell (x fastest)."""
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    names = [result.x_axis.name] + ([result.y_axis.name] if result.y_axis else [])
    out.writerow(names + [result.metric])
    values = result.values
    if result.y is None:
        for i, xv in enumerate(result.x):
            out.writerow([_num(xv), _num(values[i])])
    else:
        for j, yv in enumerate(result.y):
            for i, xv in enumerate(result.x):
                out.writerow([_num(xv), _num(yv), _num(values[j, i])])
    return buf.getvalue()


def cmd_sweep(args: argparse.Namespace) -> int:
    keep_freed_memory()  # the program's choice (see the function)
    plan = build_sweep(args)
    _check_paths(args, ("--csv", "--npy", "--png", "--svg"))
    cluster = _cluster(args)
    result = run_sweep_plan(plan, cluster=cluster)
    print_sweep_summary(result)
    written = []
    with transaction():  # all the outputs, or none (see optsim.files)
        if args.csv:
            written.append(str(atomic_write_text(args.csv, sweep_csv(result))))
        if args.npy:
            values = np.ascontiguousarray(result.values)

            def write_npy(tmp: str) -> None:
                with open(tmp, "wb") as f:
                    np.save(f, values)

            written.append(str(atomic_write(args.npy, write_npy)))
        if args.png or args.svg:
            written += save_pictures(sweep_widget(result, args.size), args.png, args.svg)
    for path in written:
        print(f"wrote {path}")
    return 0


def print_sweep_summary(result: SweepResult) -> None:
    cells = result.values.size
    dims = " x ".join(str(a.n) for a in ([result.x_axis] + ([result.y_axis] if result.y_axis else [])))
    print(f"{sweep_title(result).replace(chr(10), ', ')}: {dims} = {cells} cells")
    best = result.best_cell()
    label = METRIC_LABELS[result.metric]
    if best is None:
        print(f"  no cell has a finite {label}")
    else:
        at = [f"{result.x_axis.name}={result.x[best[-1]]:.6g}"]
        if result.y_axis is not None:
            at.append(f"{result.y_axis.name}={result.y[best[0]]:.6g}")
        print(f"  lowest {label}: {result.values[best]:.6g} at {', '.join(at)}")
    div = result.metrics["diverged"]
    if div.any():
        some = "some start or seed" if result.noise is not None else "some start"
        print(f"  {int(np.count_nonzero(div > 0))} of {cells} cells diverged (from {some})")
    mt = result.theory()
    if mt is not None:
        print(f"  theory: {mt.text}")


# ---------------------------------------------------------------------------
# basins


def basins_csv(result: BasinsResult) -> str:
    """``x,y,end_x,end_y,minimum`` (1D: ``x,end_x,minimum``), one row per start."""
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    two = result.y is not None
    out.writerow(["x", "y", "end_x", "end_y", "minimum"] if two else ["x", "end_x", "minimum"])
    minimum = result.minimum
    if two:
        for j, yv in enumerate(result.y):
            for i, xv in enumerate(result.x):
                e = result.ends[j, i]
                out.writerow([_num(xv), _num(yv), _num(e[0]), _num(e[1]), str(int(minimum[j, i]))])
    else:
        for i, xv in enumerate(result.x):
            out.writerow([_num(xv), _num(result.ends[i, 0]), str(int(minimum[i]))])
    return buf.getvalue()


def print_basins_summary(result: BasinsResult) -> None:
    total = result.labels.size
    print(f"{result.function.name}: {basins_spec(result)}, {result.steps} steps from "
          f"{total} starts")
    if result.noise is not None:
        print(f"  {noise_text(result.noise, result.seed, result.seeds)}: each start labelled "
              "by the minimum most of its seeds reach")
    counts = result.counts()
    for i, m in enumerate(result.function.minima):
        n = counts.get(i, 0)
        print(f"  minimum {i} ({', '.join(f'{c:.6g}' for c in m)}): {n} starts "
              f"({100 * n / total:.1f}%)")
    for label, text in ((-1, "no minimum reached"), (-2, "diverged")):
        if counts.get(label):
            print(f"  {text}: {counts[label]} starts ({100 * counts[label] / total:.1f}%)")


def cmd_basins(args: argparse.Namespace) -> int:
    keep_freed_memory()  # the program's choice (see the function)
    fn = _function(args.function)
    grid = _whole(args.grid, "--grid", 2, MAX_GRID)
    steps = parse_steps(args.steps)
    noise = _noise(args, fn)
    _check_paths(args, ("--csv", "--png", "--svg"))
    cluster = _cluster(args)
    try:
        result = basins(fn, args.optimizer, grid=grid, steps=steps, clip=_clip(args),
                        cluster=cluster, **noise)
    except SweepInputError as exc:
        raise CliError(one_line(exc)) from None
    print_basins_summary(result)
    written = []
    with transaction():
        if args.csv:
            written.append(str(atomic_write_text(args.csv, basins_csv(result))))
        if args.png or args.svg:
            written += save_pictures(basins_figure(result, args.size), args.png, args.svg,
                                     figure=True)
    for path in written:
        print(f"wrote {path}")
    return 0


# ---------------------------------------------------------------------------
# tune


def tune_csv(labels: Sequence[str], results: Sequence[TuneResult]) -> str:
    """``optimizer,lr,criterion``, one row per optimizer."""
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(["optimizer", "lr", "criterion"])
    for label, r in zip(labels, results, strict=True):
        out.writerow([label, _num(r.lr), _num(r.value)])
    return buf.getvalue()


def cmd_tune(args: argparse.Namespace) -> int:
    keep_freed_memory()  # the program's choice (see the function)
    fn = _function(args.function)
    steps = parse_steps(args.steps)
    k = _whole(args.starts, "--starts", 1, 10_000)
    start = parse_starts(args.start, fn) if args.start else None
    specs = args.optimizer or list(DEFAULT_OPTIMIZERS)
    if args.criterion not in CRITERIA:
        raise CliError(f"--criterion must be one of {', '.join(CRITERIA)}, got {args.criterion!r}")
    lr = None
    if args.lr:
        text = args.lr if args.lr.strip().startswith("lr=") else "lr=" + args.lr.strip()
        if text.count(":") == 2:
            text += ":log"
        try:
            lr = Axis.parse(text)
        except SweepInputError as exc:
            raise CliError(f"--lr: {exc}") from None
    optimizers = []
    for spec in specs:
        try:
            opt, schedule = split_optimizer(spec)
        except (SweepInputError, ValueError, TypeError) as exc:
            raise CliError(f"--optimizer {spec!r}: {one_line(exc)}") from None
        optimizers.append(opt if schedule is None else f"{opt.spec}+{schedule.spec}")
    clip = _clip(args)
    noise = _noise(args, fn)
    _check_paths(args, ("--csv", "--png", "--svg"))
    cluster = _cluster(args)
    try:
        results = tune(fn, optimizers, steps=steps, start=start, starts=k, lr=lr,
                       criterion=args.criterion, tol=_tol(args.tol), clip=clip,
                       cluster=cluster, **noise)
    except SweepInputError as exc:
        raise CliError(one_line(exc)) from None
    labels = unique_labels([s.strip().replace(" ", "").rstrip(":") for s in specs])
    print(f"{fn.name}: {describe(results)}")
    for label, r in zip(labels, results, strict=True):
        edge = "  (at the grid's edge: widen --lr)" if r.at_edge else ""
        print(f"  {label}: lr = {r.lr:.6g}, {r.criterion} = {r.value:.6g}{edge}")
    written = []
    with transaction():
        if args.csv:
            written.append(str(atomic_write_text(args.csv, tune_csv(labels, results))))
        if args.png or args.svg:
            written += save_pictures(race_figure(fn, labels, results, args.size), args.png,
                                     args.svg, figure=True)
    for path in written:
        print(f"wrote {path}")
    return 0


# ---------------------------------------------------------------------------
# the parser


def _common(p: argparse.ArgumentParser, pictures: bool = True) -> None:
    p.add_argument("--function", "-f", default="rosenbrock", metavar="NAME|FORMULA",
                   help="a built-in function or a formula (default: rosenbrock)")
    p.add_argument("--steps", "-n", default="100", help="steps per run (default: 100)")
    p.add_argument("--csv", metavar="FILE", help="write the results as CSV")
    if pictures:
        p.add_argument("--png", metavar="FILE", help="write a picture (PNG)")
        p.add_argument("--svg", metavar="FILE", help="write a picture (SVG)")
        p.add_argument("--width", default=str(SWEEP_SIZE[0]), help="picture width in pixels")
        p.add_argument("--height", default=str(SWEEP_SIZE[1]), help="picture height in pixels")
    p.add_argument("--clip", metavar="norm=C|value=C",
                   help="clip every gradient before the step, as torch.nn.utils."
                        "clip_grad_norm_ (norm=C) or clip_grad_value_ (value=C); default: none")
    p.add_argument("--noise", metavar="SPEC",
                   help="gradient noise of every run, as optsim run --noise: a Gaussian sigma "
                        "(0.5) or a model (gaussian:sigma=S, multiplicative:sigma=S, "
                        "student:nu=N,sigma=S, minibatch:batch=B); default: exact gradients")
    p.add_argument("--seed", metavar="N",
                   help="first seed of the noise (default: 0); run k of each start has the "
                        "noise of optsim run --seed N+k")
    p.add_argument("--seeds", metavar="K",
                   help=f"with --noise: runs per start, seeds N..N+K-1 (default: "
                        f"{DEFAULT_SEEDS}); the result is the median over starts × seeds, "
                        "as over several starts")
    p.add_argument("--cluster", metavar="local:K|tcp://HOST:PORT",
                   help="compute the blocks on a Dask cluster (needs optsim[cluster])")


def add_commands(parser: argparse.ArgumentParser, sub: Any) -> None:
    """The PARSER_HOOK: the ``sweep``, ``basins`` and ``tune`` commands."""
    p = sub.add_parser("sweep", help="map a metric over one or two hyperparameters",
                       description="Run an optimizer at every cell of a grid of one or two "
                       "hyperparameters (all else fixed) and map a metric: final-loss, "
                       "best-loss, steps-to-tol, rate or diverged.")
    _common(p)
    p.add_argument("--optimizer", "-o", default="sgd", metavar="SPEC",
                   help="the optimizer and its fixed settings, e.g. momentum:lr=0.01")
    p.add_argument("--x", required=True, metavar="NAME=LO:HI:N[:log]",
                   help="the first axis, e.g. lr=1e-4:1:64:log")
    p.add_argument("--y", metavar="NAME=LO:HI:N[:log]", help="the second axis, e.g. momentum=0:0.99:48")
    p.add_argument("--start", "-s", action="append", metavar="X[,Y][;X,Y...]",
                   help="start point(s); several: each cell is the median over them")
    p.add_argument("--metric", "-m", default="final-loss", metavar="|".join(METRICS),
                   help="what to map (default: final-loss)")
    p.add_argument("--tol", default=repr(DEFAULT_TOL),
                   help=f"steps-to-tol's tolerance on loss − f* (default: {DEFAULT_TOL:g})")
    p.add_argument("--npy", metavar="FILE", help="write the metric's array (NumPy .npy)")
    p.set_defaults(handler=cmd_sweep)

    p = sub.add_parser("basins", help="map which minimum each start point reaches",
                       description="Run an optimizer from every point of a grid over the view "
                       "and label each start by the known minimum it reaches.")
    _common(p)
    p.set_defaults(steps=str(DEFAULT_BASIN_STEPS))
    p.add_argument("--optimizer", "-o", default="sgd:lr=0.01", metavar="SPEC",
                   help="the optimizer (default: sgd:lr=0.01)")
    p.add_argument("--grid", default=str(DEFAULT_BASIN_GRID),
                   help=f"grid points per axis (default: {DEFAULT_BASIN_GRID})")
    p.set_defaults(handler=cmd_basins)

    p = sub.add_parser("tune", help="tune each optimizer's learning rate, then race them",
                       description="Search each optimizer's learning rate on a log grid under "
                       "the same step budget, from the same starts, by a stated criterion "
                       "(default: median final loss over the starts); then race the tuned runs.")
    _common(p)
    p.add_argument("--optimizer", "-o", action="append", metavar="SPEC",
                   help="an optimizer (repeatable; default: sgd, momentum, adam)")
    p.add_argument("--start", "-s", action="append", metavar="X[,Y][;X,Y...]",
                   help="the start point(s) (default: the function's)")
    p.add_argument("--starts", default="1",
                   help="number of starts: the given ones plus more scattered around them "
                        "(default: 1)")
    p.add_argument("--lr", metavar="LO:HI:N",
                   help="the lr grid, log-spaced (default: 41 values over 6 decades around "
                        "each optimizer's lr)")
    p.add_argument("--criterion", default=DEFAULT_CRITERION, metavar="|".join(CRITERIA),
                   help=f"what the tuned lr minimises (default: {DEFAULT_CRITERION})")
    p.add_argument("--tol", default=repr(DEFAULT_TOL), help="tolerance for median-steps-to-tol")
    p.set_defaults(handler=cmd_tune)


#: options whose value may start with '-' (``--x lr=...`` never does, but ``--tol -1`` is
#: reported as a bad tolerance, not as a missing value)
VALUE_OPTIONS = {"--x", "--y", "--tol", "--lr", "--grid", "--starts", "--clip", "--noise",
                 "--seed", "--seeds"}
#: every option these commands add (a value is never mistaken for one of them)
OPTION_STRINGS = {"--x", "--y", "--metric", "-m", "--tol", "--npy", "--grid", "--starts", "--lr",
                  "--criterion", "--cluster", "--clip", "--noise", "--seed", "--seeds"}

__all__ = ["add_commands", "sweep_csv", "basins_csv", "tune_csv", "VALUE_OPTIONS",
           "OPTION_STRINGS"]
