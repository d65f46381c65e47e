"""Scenarios, presets and animations on the command line, plugged into
:mod:`optsim.cli` through its extension points.

``optsim run --preset NAME`` / ``--scenario FILE`` run a scenario; the core flags
override its values (``--function`` replaces the function, and with it the view and
start; ``--start`` every run's start; ``--optimizer`` the runs; ``--steps`` the step
count). ``--save-scenario FILE`` writes the scenario that ran, so running it again
gives the same CSV byte for byte. ``--gif``/``--mp4`` write animations (``--stride``,
``--fps``; a progress bar on stderr when it is a terminal), ``--json`` the scenario
with every run's trajectory (a run the scenario hides is computed and written to CSV
and JSON, but not drawn). ``--noise SIGMA``/``--seed N`` make the gradients
stochastic. ``optsim list presets`` lists the presets.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from typing import Any, TextIO

import numpy as np

from . import cli
from .scenarios import (
    Run,
    Scenario,
    list_presets,
    load_preset,
    load_scenario,
    save_results_json,
    save_scenario,
)
from .simulation import SimulationResult, run
from .style import run_colour

ANIMATION_SIZE = (960, 720)
DEFAULT_FPS = 20.0


# ---------------------------------------------------------------------------
# arguments


def add_arguments(parser: argparse.ArgumentParser, sub: Any) -> None:
    """The PARSER_HOOK: scenario, animation and JSON options on ``run``."""
    p = sub.choices["run"]
    g = p.add_argument_group("scenarios")
    source = g.add_mutually_exclusive_group()
    source.add_argument("--preset", metavar="NAME",
                        help="run a preset (see 'optsim list presets'); other flags override it")
    source.add_argument("--scenario", metavar="FILE",
                        help="run a scenario file (JSON); other flags override it")
    g.add_argument("--noise", metavar="SIGMA",
                   help="add Gaussian noise of this standard deviation to every gradient "
                        "(stochastic gradients; default: the scenario's, else 0)")
    g.add_argument("--seed", metavar="N", help="seed of the gradient noise (default: 0)")
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
    # None marks "not given", so a scenario's own values stand unless a flag is given
    p.set_defaults(function=None, steps=None, width=None, height=None, handler=cmd_run)


def _fill_core_defaults(args: argparse.Namespace) -> None:
    if args.function is None:
        args.function = "rosenbrock"
    if args.steps is None:
        args.steps = str(cli.DEFAULT_STEPS)


# ---------------------------------------------------------------------------
# scenario <-> plan


def scenario_from_args(args: argparse.Namespace) -> Scenario:
    """The scenario a ``run`` command describes: the preset or file, then the flags."""
    if args.preset is not None:
        base = load_preset(args.preset)
    elif args.scenario is not None:
        base = load_scenario(args.scenario)
    else:
        base = None
    if base is None:
        _fill_core_defaults(args)
    function = args.function if args.function is not None else base.function
    try:
        fn = cli.as_function(function)
    except (ValueError, TypeError, SyntaxError) as exc:
        raise cli.CliError(f"--function: {cli._one_line(exc)}") from None
    same_function = base is not None and args.function is None
    view = base.view if same_function else None
    start = base.start if same_function else None
    steps = cli.parse_steps(args.steps) if args.steps is not None else base.steps
    if args.optimizer:
        runs = []
        labels = cli._unique_labels([s.strip().replace(" ", "") for s in args.optimizer])
        for i, (spec, label) in enumerate(zip(args.optimizer, labels, strict=True)):
            try:
                runs.append(Run.from_optimizer(spec, name=label, colour=run_colour(i)))
            except ValueError as exc:
                raise cli.CliError(f"--optimizer {spec!r}: {cli._one_line(exc)}") from None
    elif base is not None:
        runs = list(base.runs) if same_function else [
            Run(r.optimizer, r.hyperparams, r.name, r.colour, r.visible) for r in base.runs]
    else:
        runs = [Run.from_optimizer(spec, name=spec, colour=run_colour(i))
                for i, spec in enumerate(cli.DEFAULT_OPTIMIZERS)]
    if args.start:
        starts = cli.parse_starts(args.start, fn)
        if len(starts) == 1:
            start = tuple(float(c) for c in starts[0])
            runs = [Run(r.optimizer, r.hyperparams, r.name, r.colour, r.visible) for r in runs]
        else:
            start = None
            runs = [
                Run(r.optimizer, r.hyperparams,
                    f"{r.name} from (" + ", ".join(f"{c:g}" for c in p) + ")",
                    r.colour or run_colour(i), r.visible, tuple(float(c) for c in p))
                for i, r in enumerate(runs) for p in starts
            ]
    # a preset's story describes its own function and runs: drop it when they change
    story = base is not None and same_function and not args.optimizer
    noise = base.noise if base else 0.0
    if args.noise is not None:
        noise = cli.parse_number(args.noise, "--noise")
    seed = base.seed if base else 0
    if args.seed is not None:
        seed = _whole(args.seed, "--seed", 0)
    scenario = Scenario(
        function=function, runs=tuple(runs), view=view, start=start, steps=steps,
        noise=noise, seed=seed,
        name=base.name if base else "", description=base.description if story else "",
    ).normalised()
    return scenario


def plan_from_scenario(scenario: Scenario) -> cli.RunPlan:
    """One planned run (one start) per scenario run, labelled with the run's name."""
    labels = cli._unique_labels([r.name for r in scenario.runs])
    runs = []
    for i, (label, r) in enumerate(zip(labels, scenario.runs, strict=True)):
        planned = cli.PlannedRun(label, r.make_optimizer(),
                                 np.array([scenario.run_start(i)], dtype=float),
                                 scenario.run_colour(i))
        planned.visible = r.visible  # hidden runs are computed (CSV, JSON) but not drawn
        runs.append(planned)
    return cli.RunPlan(scenario.loss_function(), runs, scenario.steps, view=scenario.view,
                       extra={"scenario": scenario})


def scenario_from_plan(plan: cli.RunPlan) -> Scenario:
    """The scenario of a plan made from flags (one run per optimizer and start)."""
    fn = plan.function
    runs = []
    for r in plan.runs:
        several = len(r.starts) > 1
        for p in r.starts:
            name = f"{r.label} from (" + ", ".join(f"{c:g}" for c in p) + ")" if several \
                else r.label
            runs.append(Run(r.optimizer.name, dict(r.optimizer.hp), name, r.colour, True,
                            tuple(float(c) for c in p) if several else None))
    start = tuple(float(c) for c in plan.runs[0].starts[0]) if plan.runs else None
    function = fn.formula if fn.is_custom and fn.formula else fn.name
    return Scenario(function, tuple(runs), view=plan.view, start=start,
                    steps=plan.steps).normalised()


def _scenario_results(plan: cli.RunPlan, outcomes: list[cli.RunOutcome]
                      ) -> tuple[Scenario, list[tuple[Run, Any]]]:
    scenario = plan.extra.get("scenario") or scenario_from_plan(plan)
    results = []
    for o in outcomes:
        r = o.result
        for j in range(r.positions.shape[1]):
            results.append(SimulationResult(r.positions[:, j], r.losses[:, j],
                                                r.diverged[j], r.diverged_step[j]))
    return scenario, list(zip(scenario.runs, results, strict=True))


# ---------------------------------------------------------------------------
# outputs


def _whole(text: str, what: str, lo: int) -> int:
    v = cli.parse_number(str(text), what)
    if v != int(v) or v < lo:
        raise cli.CliError(f"{what} must be a whole number >= {lo}, got {text!r}")
    return int(v)


def check_animation_args(args: argparse.Namespace) -> None:
    """The OUTPUT_CHECK: stride, frame rate and size of animations."""
    from .export.animation import check_options, frame_count

    if not (getattr(args, "gif", None) or getattr(args, "mp4", None)):
        return
    stride = _whole(args.stride, "--stride", 1)
    fps = cli.parse_number(str(args.fps), "--fps")
    steps = cli.parse_steps(args.steps) if args.steps is not None else 0
    try:
        args.stride, args.fps = check_options(stride, fps, frame_count(steps, stride))
    except ValueError as exc:
        raise cli.CliError(cli._one_line(exc)) from None
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


def write_extra_outputs(args: argparse.Namespace, plan: cli.RunPlan,
                        outcomes: list[cli.RunOutcome]) -> list[str]:
    """The OUTPUT_WRITER: animations, JSON and the scenario."""
    written = []
    if args.save_scenario or args.json:
        scenario, results = _scenario_results(plan, outcomes)
    if args.save_scenario:
        save_scenario(scenario, args.save_scenario)
        written.append(args.save_scenario)
    if args.json:
        save_results_json(args.json, scenario, results)
        written.append(args.json)
    if args.gif or args.mp4:
        from .export.animation import write_animation

        runs = cli.picture_runs(outcomes)
        for path in (args.gif, args.mp4):
            if path:
                write_animation(path, plan.function, runs, stride=args.stride, fps=args.fps,
                                size=args.animation_size, view=plan.view,
                                progress=ProgressBar(f"writing {path}"))
                written.append(path)
    return written


# ---------------------------------------------------------------------------
# the command


def cmd_run(args: argparse.Namespace) -> int:
    """``optsim run``: with a preset, scenario file or --save-scenario, through a
    scenario; otherwise as :func:`optsim.cli.cmd_run`."""
    animated = args.gif or args.mp4
    if args.width is None and args.height is None and animated and not (args.png or args.svg):
        args.width, args.height = map(str, ANIMATION_SIZE)
    args.width = str(cli.DEFAULT_SIZE[0]) if args.width is None else args.width
    args.height = str(cli.DEFAULT_SIZE[1]) if args.height is None else args.height
    if animated:
        args.size = cli._picture_size(args)
    if (args.preset is None and args.scenario is None and args.save_scenario is None
            and args.noise is None and args.seed is None):
        _fill_core_defaults(args)
        return cli.cmd_run(args)
    scenario = scenario_from_args(args)
    args.steps = str(scenario.steps)
    plan = plan_from_scenario(scenario)
    cli.check_outputs(args)
    if scenario.name or scenario.description:
        print(scenario.name or args.preset or args.scenario)
        if scenario.description:
            print(textwrap.fill(scenario.description, 88, initial_indent="  ",
                                subsequent_indent="  "))
    cli.check_plan_memory(plan)
    outcomes = [cli.RunOutcome(r, run(plan.function, r.optimizer, r.starts, plan.steps,
                                      noise=scenario.noise, seed=scenario.seed))
                for r in plan.runs]
    if scenario.noise > 0:
        print(f"gradient noise: σ = {scenario.noise:g}, seed {scenario.seed}")
    cli.print_summary(plan, outcomes)
    for path in cli.write_outputs(args, plan, outcomes):
        print(f"wrote {path}")
    return 0


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


_installed = False


def install() -> None:
    """Register with :mod:`optsim.cli` (once)."""
    global _installed
    if _installed:
        return
    _installed = True
    cli.PARSER_HOOKS.append(add_arguments)
    cli.OUTPUT_OPTIONS.extend([("--gif", "gif"), ("--mp4", "mp4"), ("--json", "json"),
                               ("--save-scenario", "save_scenario")])
    cli.OUTPUT_CHECKS.append(check_animation_args)
    cli.OUTPUT_WRITERS.append(write_extra_outputs)
    cli.LIST_SECTIONS["presets"] = list_presets_section
    cli.EXTRA_OPTION_STRINGS.update({"--preset", "--scenario", "--save-scenario", "--gif",
                                     "--mp4", "--json", "--stride", "--fps", "--noise",
                                     "--seed"})

