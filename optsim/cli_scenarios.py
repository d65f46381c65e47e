"""Scenarios, presets, animations and JSON on the command line: the run set a
``run`` command describes, and the outputs beyond CSV and pictures.

``optsim run --preset NAME`` / ``--scenario FILE`` run a scenario; the core flags
override its values (``--function`` replaces the function, and with it the view and
start; ``--start`` every run's start; ``--optimizer`` the runs; ``--steps`` the step
count). ``--save-scenario FILE`` writes the scenario that ran, so running it again
gives the same CSV byte for byte. ``--gif``/``--mp4`` write animations (``--stride``,
``--fps``; a progress bar on stderr when it is a terminal), ``--json`` the scenario
with every run's trajectory (a run the scenario hides is computed and written to CSV
and JSON, but not drawn). ``--noise SIGMA``/``--seed N`` make the gradients
stochastic. ``optsim list presets`` lists the presets.

:mod:`optsim.cli` imports this module (never the other way round) and registers its
pieces with its extension points.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import textwrap
from typing import TYPE_CHECKING, TextIO

from .cli_args import (
    DEFAULT_FUNCTION,
    DEFAULT_OPTIMIZERS,
    DEFAULT_STEPS,
    CliError,
    one_line,
    parse_number,
    parse_starts,
    parse_steps,
    parse_whole,
)
from .functions import as_function
from .gradients import parse_clip, parse_noise
from .runset import Run, RunSet, unique_labels
from .scenarios import list_presets, load_preset, load_scenario, save_results_json, save_scenario
from .simulation import MAX_ENSEMBLE, SimulationResult, Trajectory
from .style import run_colour

if TYPE_CHECKING:
    from .export.image import PictureRun

ANIMATION_SIZE = (960, 720)
DEFAULT_FPS = 20.0


# ---------------------------------------------------------------------------
# arguments


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Scenario, animation and JSON options on ``run``'s parser ``p``."""
    g = p.add_argument_group("scenarios")
    source = g.add_mutually_exclusive_group()
    source.add_argument("--preset", metavar="NAME",
                        help="run a preset (see 'optsim list presets'); other flags override it")
    source.add_argument("--scenario", metavar="FILE",
                        help="run a scenario file (JSON); other flags override it")
    g.add_argument("--noise", metavar="SIGMA|MODEL",
                   help="stochastic gradients: a Gaussian sigma (0.5), or a noise model: "
                        "gaussian:sigma=0.5, multiplicative:sigma=0.3, "
                        "student:nu=3,sigma=0.5, minibatch:batch=8 (data-fitting functions) "
                        "(stochastic gradients; default: the scenario's, else 0)")
    g.add_argument("--seed", metavar="N", help="seed of the gradient noise (default: 0)")
    g.add_argument("--ensemble", metavar="K",
                   help="K noisy members per run from the same start, seeded (the CSV's "
                        "member column); default 1")
    g.add_argument("--clip", metavar="norm=C|value=C",
                   help="clip every gradient before the step, as torch.nn.utils."
                        "clip_grad_norm_ (norm=C) or clip_grad_value_ (value=C)")
    g.add_argument("--save-scenario", metavar="FILE", dest="save_scenario",
                   help="write the scenario that ran (JSON), to run it again with --scenario")
    g = p.add_argument_group("animations and data")
    size = f"{ANIMATION_SIZE[0]}×{ANIMATION_SIZE[1]} unless --width/--height say otherwise"
    g.add_argument("--gif", metavar="FILE", help=f"write an animation of the runs (GIF; {size})")
    g.add_argument("--mp4", metavar="FILE",
                   help=f"write an animation of the runs (MP4, H.264; {size})")
    g.add_argument("--json", metavar="FILE", help="write the scenario and every run's "
                   "positions and losses (JSON)")
    g.add_argument("--stride", default="1", help="animate every N-th step (default: 1)")
    g.add_argument("--fps", default=str(DEFAULT_FPS),
                   help=f"animation frames per second (default: {DEFAULT_FPS:g})")


#: the files these options write, checked with the core's before anything is computed
OUTPUT_OPTIONS = [("--gif", "gif"), ("--mp4", "mp4"), ("--json", "json"),
                  ("--save-scenario", "save_scenario")]
#: the option strings added here (so that a value is never mistaken for one)
OPTION_STRINGS = {"--preset", "--scenario", "--save-scenario", "--gif", "--mp4", "--json",
                  "--stride", "--fps", "--noise", "--seed", "--ensemble", "--clip"}


def _scenario_mode(args: argparse.Namespace) -> bool:
    """Whether the command goes through a scenario (a preset or file, a scenario to
    save, noise): then several ``--start`` points make one run each, as a scenario
    file holds them; otherwise one run of several rows."""
    return any(getattr(args, key, None) is not None
               for key in ("preset", "scenario", "save_scenario", "noise", "seed", "ensemble",
                           "clip"))


def _with_starts(run: Run, starts: tuple[tuple[float, ...], ...], colour: str) -> Run:
    return dataclasses.replace(run, start=None, starts=starts, colour=run.colour or colour)


def _noise_arg(text: str) -> float | str:
    """``--noise``: a bare number is the Gaussian sigma (as always); else a model's spec."""
    try:
        float(text)
    except ValueError:
        pass
    else:
        return parse_number(text, "--noise")  # checked with the run set, as always
    try:
        noise = parse_noise(text)
    except ValueError as exc:
        raise CliError(f"--noise: {one_line(exc)}") from None
    if noise is None:
        return 0.0
    return noise.sigma if noise.name == "gaussian" else noise.spec


def check_scenario_sweep(runs: RunSet, source: str) -> None:
    """The scenario's Sweep view settings checked as the window uses them, against its
    first run (the one the window sweeps on opening): a CliError naming the field."""
    from .explore.axes import SweepInputError
    from .explore.sweep import check_sweep_settings

    try:
        if not runs.runs:
            raise SweepInputError("sweep: the scenario has no run to sweep")
        run = runs.runs[0]
        check_sweep_settings(runs.sweep, run.make_optimizer(), run.schedule or None)
    except (SweepInputError, ValueError) as exc:
        raise CliError(f"{source}: {one_line(exc)}") from None


def run_set_from_args(args: argparse.Namespace) -> RunSet:
    """The run set a ``run`` command describes: the preset or file, then the flags.

    Without a preset, file, scenario to save or noise, the set is the flags alone
    (not normalised: it runs as given); several ``--start`` points then give each
    optimizer one run of several rows. Through a scenario they give one run per
    optimizer and start (as a file holds them), and the set is validated as a file is.
    Sets ``args.steps`` to the step count."""
    scenario_mode = _scenario_mode(args)
    if getattr(args, "preset", None) is not None:
        base = load_preset(args.preset)
    elif getattr(args, "scenario", None) is not None:
        base = load_scenario(args.scenario)
    else:
        base = None
    if base is not None and base.sweep:
        check_scenario_sweep(base, getattr(args, "scenario", None) or args.preset)
    function = args.function if args.function is not None else (
        base.function if base is not None else DEFAULT_FUNCTION)
    try:
        fn = as_function(function)
    except (ValueError, TypeError, SyntaxError) as exc:
        raise CliError(f"--function: {one_line(exc)}") from None
    except ImportError:
        raise CliError(f"--function: {function!r} is not a known function, and "
                       "formulas are not available in this installation") from None
    if base is None and fn.is_custom and fn.formula and not scenario_mode:
        function = fn.formula
    elif base is None and not fn.is_custom:
        function = fn.name
    same_function = base is not None and args.function is None
    view = base.view if same_function else None
    start = base.start if same_function else None
    steps = parse_steps(args.steps) if args.steps is not None else (
        base.steps if base is not None else DEFAULT_STEPS)
    if args.optimizer or base is None:
        specs = args.optimizer or list(DEFAULT_OPTIMIZERS)
        labels = unique_labels([s.strip().replace(" ", "").rstrip(":") for s in specs])
        runs = []
        for i, (spec, label) in enumerate(zip(specs, labels, strict=True)):
            try:
                runs.append(Run.from_optimizer(spec, name=label, colour=run_colour(i)))
            except ValueError as exc:
                raise CliError(f"--optimizer {spec!r}: {one_line(exc)}") from None
    else:
        runs = list(base.runs) if same_function else [
            dataclasses.replace(r, start=None, starts=()) for r in base.runs]
    if args.start:
        starts = tuple(tuple(float(c) for c in p) for p in parse_starts(args.start, fn))
        if len(starts) == 1:
            start = starts[0]
            runs = [dataclasses.replace(r, start=None, starts=()) for r in runs]
        else:
            start = None if scenario_mode else starts[0]
            runs = [_with_starts(r, starts, run_colour(i)) for i, r in enumerate(runs)]
    # a preset's story describes its own function and runs: drop it when they change
    story = base is not None and same_function and not args.optimizer
    noise = base.noise if base else 0.0
    if getattr(args, "noise", None) is not None:
        noise = _noise_arg(args.noise)
    if getattr(args, "ensemble", None) is not None:
        k = parse_whole(args.ensemble, "--ensemble", 1)
        if k > MAX_ENSEMBLE:
            raise CliError(f"--ensemble: {k} is more than {MAX_ENSEMBLE:,} members")
        runs = [dataclasses.replace(r, ensemble=k) for r in runs]
    if getattr(args, "clip", None) is not None:
        try:
            clip = parse_clip(args.clip)
        except ValueError as exc:
            raise CliError(f"--clip: {one_line(exc)}") from None
        runs = [dataclasses.replace(r, clip=clip.spec if clip else "") for r in runs]
    seed = base.seed if base else 0
    if getattr(args, "seed", None) is not None:
        seed = parse_whole(args.seed, "--seed", 0)
    runs_set = RunSet(
        function=function, runs=tuple(runs), view=view, start=start, steps=steps,
        noise=noise, seed=seed,
        name=base.name if base else "", description=base.description if story else "",
        # (a function of one's own is drawn at the default aspect)
        aspect=base.aspect if base is not None and same_function else "equal",
    )
    if scenario_mode:
        runs_set = runs_set.split_rows().normalised()
    args.steps = str(runs_set.steps)
    return runs_set


def print_story(runs: RunSet, args: argparse.Namespace, out: TextIO | None = None) -> None:
    """A preset's or scenario's name and description, if it has them."""
    out = out or sys.stdout
    if runs.name or runs.description:
        print(runs.name or args.preset or args.scenario, file=out)
        if runs.description:
            print(textwrap.fill(runs.description, 88, initial_indent="  ",
                                subsequent_indent="  "), file=out)


def scenario_results(runs: RunSet, results: list[Trajectory]
                     ) -> tuple[RunSet, list[tuple[Run, SimulationResult]]]:
    """The scenario to save (one row per run: :meth:`RunSet.split_rows`) and each of
    its runs' results."""
    scenario = runs.split_rows().normalised()
    rows = []
    for r in results:
        for j in range(r.positions.shape[1]):
            rows.append(SimulationResult(r.positions[:, j], r.losses[:, j],
                                         r.diverged[j], r.diverged_step[j]))
    return scenario, list(zip(scenario.runs, rows, strict=True))


# ---------------------------------------------------------------------------
# outputs


def check_animation_args(args: argparse.Namespace) -> None:
    """The OUTPUT_CHECK: stride, frame rate and size of animations."""
    from .export.animation import check_options, frame_count

    if not (getattr(args, "gif", None) or getattr(args, "mp4", None)):
        return
    stride = parse_whole(args.stride, "--stride", 1)
    fps = parse_number(str(args.fps), "--fps")
    steps = parse_steps(args.steps) if args.steps is not None else 0
    try:
        args.stride, args.fps = check_options(stride, fps, frame_count(steps, stride))
    except ValueError as exc:
        raise CliError(one_line(exc)) from None
    args.animation_size = args.size


class ProgressBar:
    """A one-line progress bar on a terminal (nothing when ``stream`` is not one)."""

    def __init__(self, label: str, stream: TextIO | None = None, width: int = 30) -> None:
        self.label, self.stream, self.width = label, stream or sys.stderr, width
        self.active = bool(getattr(self.stream, "isatty", lambda: False)())

    def __call__(self, done: int, total: int) -> bool:
        if self.active:
            filled = self.width * done // max(total, 1)
            self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (self.width - filled)}] "
                              f"{done}/{total} frames")
            if done >= total:
                self.stream.write("\n")
            self.stream.flush()
        return True


def point_runs(runs: RunSet) -> list[int]:
    """The runs a picture draws extra points of (Schedule-Free's averaged x,
    Lookahead's slow weights: :func:`optsim.export.image.trajectory_points`): visible
    runs of one row whose optimizer keeps some. Simulate them with their states
    recorded (``run_set(..., record_state=point_runs(runs))``)."""
    return [i for i, r in enumerate(runs.runs)
            if r.visible and r.rows == 1 and r.make_optimizer().extra_points]


def picture_runs(runs: RunSet, results: list[Trajectory]) -> list[PictureRun]:
    """The (name, colour, positions, losses) lines of a picture: one per row of each
    visible run (a run a scenario hides is left out), named ``"<run> from (x, y)"``
    when the run has several rows, and ``"... (diverged at step k)"``; with a run's
    extra points where its states were recorded (see :func:`point_runs`)."""
    from .export.image import PictureRun, trajectory_points

    out = []
    for i, (label, r) in enumerate(zip(runs.labels(), results, strict=True)):
        if not runs.runs[i].visible:
            continue
        starts = runs.run_starts(i)
        n = r.positions.shape[1]
        k = runs.runs[i].ensemble  # members of an ensemble share their start's name
        for j in range(n):
            name = label
            if n > k:
                name += " from (" + ", ".join(f"{c:g}" for c in starts[j // k]) + ")"
            if bool(r.diverged[j]):
                name += f" (diverged at step {int(r.diverged_step[j])})"
            out.append(PictureRun(name, runs.run_colour(i), r.positions[:, j], r.losses[:, j],
                                  trajectory_points(r)))
    return out


def write_extra_outputs(args: argparse.Namespace, runs: RunSet,
                        results: list[Trajectory]) -> list[str]:
    """The OUTPUT_WRITER of the scenario, JSON and animations."""
    written = []
    if args.save_scenario or args.json:
        scenario, rows = scenario_results(runs, results)
    if args.save_scenario:
        save_scenario(scenario, args.save_scenario)
        written.append(args.save_scenario)
    if args.json:
        save_results_json(args.json, scenario, rows)
        written.append(args.json)
    if args.gif or args.mp4:
        from .export.animation import write_animation

        for path in (args.gif, args.mp4):
            if path:
                write_animation(path, runs.loss_function(), picture_runs(runs, results),
                                stride=args.stride,
                                fps=args.fps, size=args.animation_size, view=runs.view,
                                progress=ProgressBar(f"writing {path}"),
                                aspect_locked=None if runs.aspect == "equal" else False)
                written.append(path)
    return written


def list_presets_section(out: TextIO | None = None) -> None:
    """``optsim list presets``."""
    out = out or sys.stdout
    print("Presets (--preset NAME):", file=out)
    for name in list_presets():
        s = load_preset(name)
        runs = ", ".join(r.name for r in s.runs)
        print(f"  {name:<18} {s.name} ({s.function}, {s.steps} steps)", file=out)
        print(textwrap.fill(f"runs: {runs}", 100, initial_indent=" " * 21,
                            subsequent_indent=" " * 21), file=out)
        print(textwrap.fill(s.description, 100, initial_indent=" " * 21,
                            subsequent_indent=" " * 21), file=out)
