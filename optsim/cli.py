"""The ``optsim`` command line.

``optsim`` opens the window; ``optsim run ...`` simulates and writes CSV / pictures;
``optsim list [functions|optimizers]`` prints what is available, read from the
declarations. Bad input gives one line ``optsim: error: ...`` on stderr and exit
status 2; everything is validated before anything is written, and files are written
atomically, so an error leaves no file behind.

The ``run`` command is three steps other options can hook into: :func:`build_plan`
(arguments -> :class:`RunPlan`), :func:`simulate_plan` (-> results) and
:func:`write_outputs`; :data:`OUTPUT_CHECKS` / :data:`OUTPUT_WRITERS` and
:data:`LIST_SECTIONS` are extension points.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .engine import OPTIMIZERS, Optimizer, parse_spec
from .export.data import write_csv
from .files import ExportError, resolve_output, transaction
from .functions import FUNCTIONS, LossFunction, as_function
from .simulation import SimulationResult, check_memory, history_bytes, run
from .style import run_colour

PROG = "optsim"
EXIT_USAGE = 2
DEFAULT_OPTIMIZERS = ("sgd", "momentum", "adam")
DEFAULT_STEPS = 100
MAX_STEPS = 1_000_000
#: start coordinates beyond this are refused (as in scenario files)
MAX_COORD = 1e12
DEFAULT_SIZE = (1280, 960)


class CliError(Exception):
    """Bad command-line input: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse with errors raised (and so reported as one line by :func:`main`)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise CliError(message)


# ---------------------------------------------------------------------------
# the plan of a run


@dataclass
class PlannedRun:
    """One optimizer to run from one or more start points (N, D)."""

    label: str
    optimizer: Optimizer
    starts: np.ndarray
    colour: str


@dataclass
class RunPlan:
    function: LossFunction
    runs: list[PlannedRun]
    steps: int
    view: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunOutcome:
    run: PlannedRun
    result: SimulationResult  # positions (steps+1, N, D), losses (steps+1, N), flags (N,)


def parse_number(text: str, what: str) -> float:
    """A finite float from ``text``; CliError naming ``what`` otherwise."""
    try:
        value = float(text.strip())
    except ValueError:
        raise CliError(f"{what}: {text.strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise CliError(f"{what}: {text.strip()!r} is not a finite number")
    return value


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


def _unique_labels(labels: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if labels.count(label) == 1 else f"{label} #{seen[label]}")
    return out


def build_plan(args: argparse.Namespace) -> RunPlan:
    """Validate the ``run`` arguments into a plan (raises CliError / ValueError)."""
    try:
        fn = as_function(args.function)
    except (ValueError, TypeError, SyntaxError) as exc:
        raise CliError(f"--function: {_one_line(exc)}") from None
    except ImportError:
        raise CliError(f"--function: {args.function!r} is not a known function, and "
                       "formulas are not available in this installation") from None
    starts = parse_starts(args.start, fn) if args.start else np.array([fn.start], dtype=float)
    steps = parse_steps(args.steps)
    specs = args.optimizer or list(DEFAULT_OPTIMIZERS)
    optimizers = []
    for spec in specs:
        try:
            optimizers.append(parse_spec(spec))
        except ValueError as exc:
            raise CliError(f"--optimizer {spec!r}: {_one_line(exc)}") from None
    labels = _unique_labels([spec.strip().replace(" ", "").rstrip(":") for spec in specs])
    runs = [PlannedRun(label, opt, starts, run_colour(i))
            for i, (label, opt) in enumerate(zip(labels, optimizers, strict=True))]
    return RunPlan(fn, runs, steps)


def check_plan_memory(plan: RunPlan) -> None:
    """CliError when the histories of all the plan's runs would not fit in memory."""
    n = sum(len(r.starts) for r in plan.runs)
    try:
        check_memory(sum(history_bytes(len(r.starts), plan.function.dim, plan.steps)
                         for r in plan.runs), f"{n:,} runs of {plan.steps:,} steps")
    except ValueError as exc:
        raise CliError(str(exc)) from None


def simulate_plan(plan: RunPlan) -> list[RunOutcome]:
    """Run every planned optimizer from its start points (if their histories fit)."""
    check_plan_memory(plan)
    return [RunOutcome(r, run(plan.function, r.optimizer, r.starts, plan.steps)) for r in plan.runs]


# ---------------------------------------------------------------------------
# outputs


def _picture_size(args: argparse.Namespace) -> tuple[int, int]:
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


def check_outputs(args: argparse.Namespace) -> None:
    """Check every output path can be written, before anything is computed or written."""
    paths = [(opt, getattr(args, dest)) for opt, dest in OUTPUT_OPTIONS
             if getattr(args, dest, None) is not None]
    seen: dict[str, str] = {}
    for opt, path in paths:
        try:
            key = resolve_output(path).real  # a link and its target are one file
        except ExportError as exc:
            raise CliError(f"{opt}: {exc}") from None
        if key in seen:
            raise CliError(f"{opt} and {seen[key]} both write {path!r}")
        seen[key] = opt
    if getattr(args, "png", None) or getattr(args, "svg", None):
        args.size = _picture_size(args)
    for check in OUTPUT_CHECKS:
        check(args)


def picture_runs(outcomes: list[RunOutcome]) -> list[tuple[str, str, np.ndarray, np.ndarray]]:
    """The (name, colour, positions, losses) runs of a picture: one per start point
    (a run a scenario hides, ``run.visible = False``, is left out)."""
    out = []
    for o in outcomes:
        if not getattr(o.run, "visible", True):
            continue
        n = o.result.positions.shape[1]
        for j in range(n):
            name = o.run.label
            if n > 1:
                name += " from (" + ", ".join(f"{c:g}" for c in o.run.starts[j]) + ")"
            if bool(o.result.diverged[j]):
                name += f" (diverged at step {int(o.result.diverged_step[j])})"
            out.append((name, o.run.colour, o.result.positions[:, j], o.result.losses[:, j]))
    return out


def write_outputs(args: argparse.Namespace, plan: RunPlan, outcomes: list[RunOutcome]) -> list[str]:
    """Write every requested file; returns the paths written.

    Every output (the extensions' too) is written in one :func:`transaction`: each
    waits in a temporary file until all are done, so a failure part-way leaves none
    of them behind (and any file they would replace untouched)."""
    written: list[str] = []
    with transaction():
        if args.csv:
            write_csv(args.csv, plan.function, [(o.run.label, o.result) for o in outcomes])
            written.append(args.csv)
        if args.png or args.svg:
            from .export import image as render

            runs = picture_runs(outcomes)
            for path, fn in ((args.png, render.render_png), (args.svg, render.render_svg)):
                if path:
                    fn(path, plan.function, runs, size=args.size, view=plan.view)
                    written.append(path)
        for writer in OUTPUT_WRITERS:
            written.extend(writer(args, plan, outcomes))
    return written


#: (option, attribute) of every file ``run`` writes: checked before running
OUTPUT_OPTIONS: list[tuple[str, str]] = [("--csv", "csv"), ("--png", "png"), ("--svg", "svg")]
#: more checks of ``run``'s arguments before anything is computed: f(args), raise CliError
OUTPUT_CHECKS: list[Callable[[argparse.Namespace], None]] = []
#: more writers: f(args, plan, outcomes) -> paths written
OUTPUT_WRITERS: list[Callable[[argparse.Namespace, RunPlan, list[RunOutcome]], list[str]]] = []


def _fmt_point(p: np.ndarray) -> str:
    return "(" + ", ".join(f"{c:.6g}" for c in p) + ")"


def print_summary(plan: RunPlan, outcomes: list[RunOutcome], out=None) -> None:
    """One line per run: final position and loss after the steps; divergence noted."""
    out = out or sys.stdout
    print(f"{plan.function.name}: {plan.steps} steps", file=out)
    for o in outcomes:
        res = o.result
        for j in range(res.positions.shape[1]):
            label = o.run.label
            if res.positions.shape[1] > 1:
                label += f" from {_fmt_point(o.run.starts[j])}"
            line = (f"  {label}: final {_fmt_point(res.positions[-1, j])}, "
                    f"loss {res.losses[-1, j]:.6g}, {plan.steps} steps")
            print(line, file=out)
            if bool(res.diverged[j]):
                print(f"    {label} diverged at step {int(res.diverged_step[j])} "
                      f"(stopped there)", file=out)


def cmd_run(args: argparse.Namespace) -> int:
    plan = build_plan(args)
    check_outputs(args)
    outcomes = simulate_plan(plan)
    print_summary(plan, outcomes)
    for path in write_outputs(args, plan, outcomes):
        print(f"wrote {path}")
    return 0


# ---------------------------------------------------------------------------
# list


def _fmt_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return f"{v:g}" if isinstance(v, float) else str(v)


def list_functions(out=None) -> None:
    out = out or sys.stdout
    print("Functions (--function NAME, or a formula in x [and y]):", file=out)
    for fn in FUNCTIONS.values():
        minima = ", ".join(
            f"{_fmt_point(np.array(m))} loss {v:.6g}"
            for m, v in zip(fn.minima, fn.minimum_values, strict=False)
        ) or "none known"
        print(f"  {fn.name:<16} {fn.dim}D  {fn.formula}", file=out)
        print(f"  {'':<16}     minima: {minima}; default start {_fmt_point(np.array(fn.start))}",
              file=out)
        if fn.description:
            print(f"  {'':<16}     {fn.description}", file=out)


def list_optimizers(out=None) -> None:
    out = out or sys.stdout
    print("Optimizers (--optimizer NAME:key=value,...):", file=out)
    kinds = list(OPTIMIZERS.values())
    name_w = max((len(p.name) for k in kinds for p in k.hyperparams), default=0)
    value_w = max((len(_fmt_value(p.default)) for k in kinds for p in k.hyperparams), default=0)
    range_w = max((len(p.range_text()) for k in kinds for p in k.hyperparams), default=0)
    for kind in kinds:
        print(f"  {kind.name:<14} {kind.summary}", file=out)
        for p in kind.hyperparams:
            print(f"      {p.name:<{name_w}}  default {_fmt_value(p.default):<{value_w}}  "
                  f"in {p.range_text():<{range_w}}  {p.help}", file=out)


#: sections of ``optsim list``; more can be added (e.g. presets) before main() runs
LIST_SECTIONS: dict[str, Callable[..., None]] = {
    "functions": list_functions,
    "optimizers": list_optimizers,
}


def cmd_list(args: argparse.Namespace) -> int:
    sections = [args.what] if args.what else list(LIST_SECTIONS)
    for i, name in enumerate(sections):
        if i:
            print()
        LIST_SECTIONS[name]()
    return 0


# ---------------------------------------------------------------------------
# the window


def _no_display() -> bool:
    """On Linux, Qt aborts the process when no display can be reached: say so instead."""
    return (sys.platform.startswith("linux") and not os.environ.get("QT_QPA_PLATFORM")
            and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"))


def cmd_window(args: argparse.Namespace) -> int:
    if _no_display():
        raise CliError("no display to open the window on (DISPLAY is not set); "
                       "use 'optsim run ... --png FILE' to draw pictures without one")
    try:
        from .gui import app
    except ImportError as exc:
        raise CliError(f"the window is not available: {_one_line(exc)}") from None
    result = app.main([])  # the window's own options are not on this command line
    return int(result or 0)


# ---------------------------------------------------------------------------
# the parser


#: options of ``run`` whose value may start with '-' (``--start -1.5,2``)
VALUE_OPTIONS = {"--start", "-s", "--function", "-f", "--steps", "-n", "--width", "--height",
                 "--size"}


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--function", "-f", default="rosenbrock", metavar="NAME|FORMULA",
                   help="a built-in function (see 'optsim list') or a formula, e.g. "
                        "'x**2 + 10*y**2' (default: rosenbrock)")
    p.add_argument("--start", "-s", action="append", metavar="X[,Y][;X,Y...]",
                   help="start point(s), e.g. -1.5,2 or '-1,1;0.5,2' "
                        "(default: the function's start; repeatable)")
    p.add_argument("--optimizer", "-o", action="append", metavar="SPEC",
                   help="an optimizer, e.g. adam:lr=0.01,beta1=0.8 (repeatable; "
                        f"default: {', '.join(DEFAULT_OPTIMIZERS)})")
    p.add_argument("--steps", "-n", default=str(DEFAULT_STEPS),
                   help=f"number of steps (default: {DEFAULT_STEPS})")
    p.add_argument("--csv", metavar="FILE", help="write every step of every run as CSV")
    p.add_argument("--png", metavar="FILE", help="write a picture of the runs (PNG)")
    p.add_argument("--svg", metavar="FILE", help="write a picture of the runs (SVG)")
    p.add_argument("--width", default=str(DEFAULT_SIZE[0]),
                   help=f"picture width in pixels (default: {DEFAULT_SIZE[0]})")
    p.add_argument("--height", default=str(DEFAULT_SIZE[1]),
                   help=f"picture height in pixels (default: {DEFAULT_SIZE[1]})")
    p.add_argument("--size", dest="size_text", metavar="WxH",
                   help="picture size, e.g. 1920x1080 or 1280x720 for slides (instead of "
                        "--width/--height; text and lines grow with the picture)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Watch optimizers walk over loss functions. "
                     "With no command, opens the window.")
    parser.set_defaults(handler=cmd_window)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p_run = sub.add_parser("run", help="simulate runs and write CSV / pictures",
                           description="Simulate optimizers on a function; print a summary "
                           "and write CSV / PNG / SVG.")
    add_run_arguments(p_run)
    p_run.set_defaults(handler=cmd_run)
    p_list = sub.add_parser("list", help="list functions and optimizers",
                            description="List built-in functions and optimizers with their "
                            "hyperparameters (default, range, meaning).")
    p_list.add_argument("what", nargs="?", choices=list(LIST_SECTIONS),
                        help="only this part")
    p_list.set_defaults(handler=cmd_list)
    for hook in PARSER_HOOKS:
        hook(parser, sub)
    return parser


#: f(parser, subparsers) called by build_parser, to add commands or options
PARSER_HOOKS: list[Callable[[argparse.ArgumentParser, Any], None]] = []


def join_negative_values(argv: Sequence[str], options=None) -> list[str]:
    """``["--start", "-1.5,2"]`` -> ``["--start=-1.5,2"]``: argparse would take the
    value for an option because it starts with '-'."""
    options = VALUE_OPTIONS if options is None else options
    out: list[str] = []
    i = 0
    argv = list(argv)
    while i < len(argv):
        tok = argv[i]
        if tok in options and i + 1 < len(argv) and argv[i + 1].startswith("-") \
                and argv[i + 1] != "--" and argv[i + 1] not in _all_option_strings():
            out.append(f"{tok}={argv[i + 1]}")
            i += 2
            continue
        out.append(tok)
        i += 1
    return out


#: option strings added by extensions (so a value is never mistaken for them)
EXTRA_OPTION_STRINGS: set[str] = set()


def _all_option_strings() -> set[str]:
    return {"--function", "-f", "--start", "-s", "--optimizer", "-o", "--steps", "-n", "--csv",
            "--png", "--svg", "--width", "--height", "--size", "-h", "--help"} | EXTRA_OPTION_STRINGS


def _one_line(exc: BaseException | str) -> str:
    text = str(exc).strip() or type(exc).__name__
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(join_negative_values(argv))
        return int(args.handler(args) or 0)
    except CliError as exc:
        return _fail(_one_line(exc))
    except BrokenPipeError:  # `optsim list | head`: the reader left; leave quietly
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 141
    except (ValueError, TypeError, OSError) as exc:  # validated input that still failed
        return _fail(_one_line(exc))
    except SystemExit as exc:  # --help, or argparse exiting
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_USAGE)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: still one line, unless OPTSIM_DEBUG asks for the traceback
        if os.environ.get("OPTSIM_DEBUG"):
            raise
        print(f"{PROG}: error: internal error ({type(exc).__name__}): {_one_line(exc)} "
              "(set OPTSIM_DEBUG=1 for details)", file=sys.stderr)
        return 1


def _fail(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return EXIT_USAGE


# scenarios, presets, animations and JSON (``optsim.cli_scenarios``) plug in here
from . import cli_scenarios as _cli_scenarios  # noqa: E402

_cli_scenarios.install()
