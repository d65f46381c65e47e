"""The ``optsim`` command line.

``optsim`` opens the window; ``optsim run ...`` simulates and writes CSV / pictures;
``optsim list [functions|optimizers]`` prints what is available, read from the
declarations. Bad input gives one line ``optsim: error: ...`` on stderr and exit
status 2; everything is validated before anything is written, and files are written
atomically, so an error leaves no file behind.

The ``run`` command is three steps: the arguments make a run set
(:func:`optsim.cli_scenarios.run_set_from_args`, presets and scenario files
included), the run set's runner simulates it (:func:`optsim.runset.run_set`), and
:func:`write_outputs` writes the files. :data:`OUTPUT_CHECKS` / :data:`OUTPUT_WRITERS`,
:data:`PARSER_HOOKS` and :data:`LIST_SECTIONS` are extension points; the scenario,
animation and JSON options of :mod:`optsim.cli_scenarios` are registered with them.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import cli_explore, cli_scenarios, cli_surface
from .cli_args import (  # noqa: F401 - the command line's values, also used from here
    DEFAULT_OPTIMIZERS,
    DEFAULT_SIZE,
    DEFAULT_STEPS,
    EXIT_USAGE,
    PROG,
    CliError,
    one_line,
    parse_number,
    parse_starts,
    parse_steps,
    picture_size,
)
from .engine import OPTIMIZERS
from .export.data import write_csv
from .files import ExportError, resolve_output, transaction
from .functions import groups as function_groups
from .runset import RunSet, run_set
from .simulation import Trajectory


class _Parser(argparse.ArgumentParser):
    """argparse with errors raised (and so reported as one line by :func:`main`)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise CliError(message)


# ---------------------------------------------------------------------------
# outputs


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
        args.size = picture_size(args)
    for check in OUTPUT_CHECKS:
        check(args)


#: the (name, colour, positions, losses) lines of a picture (one per row of a visible run)
picture_runs = cli_scenarios.picture_runs


def write_outputs(args: argparse.Namespace, runs: RunSet, results: list[Trajectory]) -> list[str]:
    """Write every requested file; returns the paths written.

    Every output (the extensions' too) is written in one :func:`transaction`: each
    waits in a temporary file until all are done, so a failure part-way leaves none
    of them behind (and any file they would replace untouched)."""
    written: list[str] = []
    with transaction():
        if args.csv:
            write_csv(args.csv, runs.loss_function(),
                      list(zip(runs.labels(), results, strict=True)),
                      [r.ensemble for r in runs.runs])
            written.append(args.csv)
        if args.png or args.svg:
            from .export import image as render

            pictures = picture_runs(runs, results)
            for path, fn in ((args.png, render.render_png), (args.svg, render.render_svg)):
                if path:
                    fn(path, runs.loss_function(), pictures, size=args.size, view=runs.view,
                       aspect_locked=None if runs.aspect == "equal" else False)
                    written.append(path)
        for writer in OUTPUT_WRITERS:
            written.extend(writer(args, runs, results))
    return written


#: (option, attribute) of every file ``run`` writes: checked before running
OUTPUT_OPTIONS: list[tuple[str, str]] = [("--csv", "csv"), ("--png", "png"), ("--svg", "svg"),
                                         *cli_scenarios.OUTPUT_OPTIONS,
                                         *cli_surface.OUTPUT_OPTIONS]
#: more checks of ``run``'s arguments before anything is computed: f(args), raise CliError
OUTPUT_CHECKS: list[Callable[[argparse.Namespace], None]] = [cli_scenarios.check_animation_args,
                                                             cli_surface.check_surface_args]
#: more writers: f(args, run set, trajectories) -> paths written
OUTPUT_WRITERS: list[Callable[[argparse.Namespace, RunSet, list[Trajectory]], list[str]]] = [
    cli_scenarios.write_extra_outputs, cli_surface.write_surface_outputs]


def _fmt_point(p: np.ndarray) -> str:
    return "(" + ", ".join(f"{c:.6g}" for c in p) + ")"


def print_summary(runs: RunSet, results: list[Trajectory], out=None) -> None:
    """One line per row of each run: final position and loss after the steps;
    divergence noted."""
    out = out or sys.stdout
    print(f"{runs.loss_function().name}: {runs.steps} steps", file=out)
    for i, (name, res) in enumerate(zip(runs.labels(), results, strict=True)):
        k = runs.runs[i].ensemble
        if k > 1:  # an ensemble: one line per start, the members' spread
            _print_ensemble(name, res, k, runs.steps, out)
            continue
        n = res.positions.shape[1]
        starts = runs.run_starts(i) if n > 1 else None
        for j in range(n):
            label = name if starts is None else f"{name} from {_fmt_point(starts[j])}"
            line = (f"  {label}: final {_fmt_point(res.positions[-1, j])}, "
                    f"loss {res.losses[-1, j]:.6g}, {runs.steps} steps")
            print(line, file=out)
            if bool(res.diverged[j]):
                print(f"    {label} diverged at step {int(res.diverged_step[j])} "
                      f"(stopped there)", file=out)


def _print_ensemble(name: str, res: Trajectory, k: int, steps: int, out) -> None:
    """An ensemble's final losses (median, 10-90 % band) and mean final position."""
    for s in range(res.positions.shape[1] // k):
        rows = slice(s * k, (s + 1) * k)
        loss = res.losses[-1, rows]
        lo, med, hi = np.nanpercentile(loss, [10, 50, 90])
        mean = np.nanmean(res.positions[-1, rows], axis=0)
        diverged = int(res.diverged[rows].sum())
        print(f"  {name}: ensemble of {k}, final loss median {med:.6g} "
              f"(10-90 %: {lo:.6g} to {hi:.6g}), mean final {_fmt_point(mean)}, {steps} steps"
              + (f"; {diverged} diverged" if diverged else ""), file=out)


def _default_sizes(args: argparse.Namespace) -> None:
    """Pictures are 1280×960 and animations alone 960×720, unless --width/--height say."""
    animated = args.gif or args.mp4
    if args.width is None and args.height is None and animated and not (args.png or args.svg):
        args.width, args.height = map(str, cli_scenarios.ANIMATION_SIZE)
    args.width = str(DEFAULT_SIZE[0]) if args.width is None else args.width
    args.height = str(DEFAULT_SIZE[1]) if args.height is None else args.height
    if animated:
        args.size = picture_size(args)


def cmd_run(args: argparse.Namespace) -> int:
    """``optsim run``: the run set of the arguments, simulated, summarised and written."""
    _default_sizes(args)
    runs = cli_scenarios.run_set_from_args(args)
    check_outputs(args)
    cli_scenarios.print_story(runs, args)
    pictures = any(getattr(args, a, None) for a in ("png", "svg", "gif", "mp4"))
    # the runs whose pictures draw extra points keep their optimizer states
    results = run_set(runs, record_state=cli_scenarios.point_runs(runs) if pictures else False)
    if isinstance(runs.noise, str):
        print(f"gradient noise: {runs.noise}, seed {runs.seed}")
    elif runs.noise > 0:
        print(f"gradient noise: σ = {runs.noise:g}, seed {runs.seed}")
    print_summary(runs, results)
    for path in write_outputs(args, runs, results):
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
    for title, fns in function_groups():
        print(f" {title}:", file=out)
        for fn in fns:
            minima = ", ".join(
                f"{_fmt_point(np.array(m))} loss {v:.6g}"
                for m, v in zip(fn.minima, fn.minimum_values, strict=False)
            ) or "none known"
            print(f"  {fn.name:<16} {fn.dim}D  {fn.formula}", file=out)
            print(f"  {'':<16}     minima: {minima}; default start "
                  f"{_fmt_point(np.array(fn.start))}", file=out)
            if fn.description:
                print(f"  {'':<16}     {fn.description}", file=out)


def list_optimizers(out=None) -> None:
    from .plugins import entry_point_problems

    for problem in entry_point_problems():  # the installed packages' optimizers too
        print(f"{PROG}: warning: {problem}", file=sys.stderr)
    out = out or sys.stdout
    print("Optimizers (--optimizer NAME:key=value,...; [the implementation each matches "
          "step for step]):", file=out)
    kinds = list(OPTIMIZERS.values())
    kind_w = kind_name_width()
    name_w = max((len(p.name) for k in kinds for p in k.hyperparams), default=0)
    value_w = max((len(p.text(p.default) if p.choices else _fmt_value(p.default))
                   for k in kinds for p in k.hyperparams), default=0)
    range_w = max((len(p.range_text()) for k in kinds for p in k.hyperparams), default=0)
    for kind in kinds:
        reference = f" [{kind.reference}]" if kind.reference else ""
        print(f"  {kind.name:<{kind_w}} {kind.summary}{reference}", file=out)
        for p in kind.hyperparams:
            shown = p.text(p.default) if p.choices else _fmt_value(p.default)
            print(f"      {p.name:<{name_w}}  default {shown:<{value_w}}  "
                  f"in {p.range_text():<{range_w}}  {p.help}", file=out)
    list_wrappers(out)


def kind_name_width() -> int:
    """The width of the name column of the optimizers and wrappers: the longest name
    (``schedulefree-adamw``), so that every summary starts in the same column."""
    from .engine import WRAPPERS

    return max((len(n) for n in (*OPTIMIZERS, *WRAPPERS)), default=14)


def list_wrappers(out=None) -> None:
    """The wrappers, written after any optimizer's spec with '+'; plug-ins' files."""
    from .engine import WRAPPERS
    from .plugins import plugin_source

    out = out or sys.stdout
    print("Wrappers (--optimizer SPEC+NAME:key=value,..., around any optimizer, e.g. "
          "adam:lr=0.01+lookahead:k=5,alpha=0.5):", file=out)
    kind_w = kind_name_width()
    for kind in WRAPPERS.values():
        reference = f" [{kind.reference}]" if kind.reference else ""
        print(f"  {kind.name:<{kind_w}} {kind.summary}{reference}", file=out)
        for p in kind.params:
            print(f"      {p.name:<8}  default {_fmt_value(p.default):<8}  "
                  f"in {p.range_text():<10}  {p.help}", file=out)
    plugins = [(n, plugin_source(n)) for n in OPTIMIZERS if plugin_source(n)]
    if plugins:
        print("Plug-ins (your own code, loaded with --plugin FILE.py or from installed "
              "packages):", file=out)
        for name, source in plugins:
            print(f"  {name:<{kind_w}} {source}", file=out)


def list_schedules(out=None) -> None:
    """The learning-rate schedules (after the optimizer's spec with '+'), noise models
    and clipping, from their declarations."""
    from .gradients import CLIP_MODES, NOISE_KINDS
    from .schedules import SCHEDULES, describe

    out = out or sys.stdout
    print("Learning-rate schedules (--optimizer SPEC+NAME:key=value,..., lists as [a;b]; "
          "torch.optim.lr_scheduler's, step for step):", file=out)
    for kind in SCHEDULES.values():
        torch_name = f" (torch {kind.torch_name})" if kind.torch_name else ""
        print(f"  {kind.name:<28} {kind.summary}{torch_name}", file=out)
        for p in kind.params:
            default = "required" if p.required else f"default {describe(p.default)}"
            print(f"      {p.name:<16} {default:<18} in {p.range_text():<22} {p.help}", file=out)
    print("Gradient noise (--noise NAME:key=value,..., or a bare Gaussian sigma):", file=out)
    for kind in NOISE_KINDS.values():
        params = ", ".join(f"{p.name}={_fmt_value(p.default)}" for p in kind.params)
        print(f"  {kind.name:<16} {params:<18} {kind.summary}", file=out)
    print("Gradient clipping (--clip MODE=C):", file=out)
    for mode, p in CLIP_MODES.items():
        print(f"  {mode:<16} {p.help}", file=out)


#: sections of ``optsim list``; more can be added (e.g. presets) before main() runs
LIST_SECTIONS: dict[str, Callable[..., None]] = {
    "functions": list_functions,
    "optimizers": list_optimizers,
    "schedules": list_schedules,
    "presets": cli_scenarios.list_presets_section,
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
        raise CliError(f"the window is not available: {one_line(exc)}") from None
    result = app.main([])  # the window's own options are not on this command line
    return int(result or 0)


# ---------------------------------------------------------------------------
# the parser


#: options of ``run`` whose value may start with '-' (``--start -1.5,2``)
VALUE_OPTIONS = {"--start", "-s", "--function", "-f", "--steps", "-n", "--width", "--height",
                 "--size"} | cli_explore.VALUE_OPTIONS


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``run``. The function, steps and size default to None, "not
    given", so that a preset's or scenario's own values stand unless a flag is given."""
    p.add_argument("--function", "-f", metavar="NAME|FORMULA",
                   help="a built-in function (see 'optsim list') or a formula, e.g. "
                        "'x**2 + 10*y**2' (default: rosenbrock)")
    p.add_argument("--start", "-s", action="append", metavar="X[,Y][;X,Y...]",
                   help="start point(s), e.g. -1.5,2 or '-1,1;0.5,2' "
                        "(default: the function's start; repeatable)")
    p.add_argument("--optimizer", "-o", action="append", metavar="SPEC",
                   help="an optimizer, e.g. adam:lr=0.01,beta1=0.8, optionally with a "
                        "learning-rate schedule after '+': "
                        "sgd:lr=0.1+onecyclelr:max_lr=0.5,total_steps=300 (repeatable; "
                        f"default: {', '.join(DEFAULT_OPTIMIZERS)})")
    p.add_argument("--steps", "-n",
                   help=f"number of steps (default: {DEFAULT_STEPS})")
    p.add_argument("--csv", metavar="FILE", help="write every step of every run as CSV")
    p.add_argument("--png", metavar="FILE", help="write a picture of the runs (PNG)")
    p.add_argument("--svg", metavar="FILE", help="write a picture of the runs (SVG)")
    p.add_argument("--width", help=f"picture width in pixels (default: {DEFAULT_SIZE[0]})")
    p.add_argument("--height", help=f"picture height in pixels (default: {DEFAULT_SIZE[1]})")
    p.add_argument("--size", dest="size_text", metavar="WxH",
                   help="picture size, e.g. 1920x1080 or 1280x720 for slides (instead of "
                        "--width/--height; text and lines grow with the picture)")
    cli_scenarios.add_arguments(p)
    cli_surface.add_arguments(p)
    add_plugin_argument(p)


def add_plugin_argument(p: argparse.ArgumentParser) -> None:
    """``--plugin FILE.py`` (read before the other options, see load_plugins)."""
    p.add_argument("--plugin", action="append", metavar="FILE.py",
                   help="load your own optimizer from a Python file (repeatable; it runs as "
                        "your own code); see README 'Your own optimizer'")


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
    add_plugin_argument(p_list)
    p_list.set_defaults(handler=cmd_list)
    for hook in PARSER_HOOKS:
        hook(parser, sub)
    return parser


#: f(parser, subparsers) called by build_parser, to add commands or options
PARSER_HOOKS: list[Callable[[argparse.ArgumentParser, Any], None]] = [
    cli_explore.add_commands]  # sweep, basins, tune


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
EXTRA_OPTION_STRINGS: set[str] = (set(cli_scenarios.OPTION_STRINGS) | cli_explore.OPTION_STRINGS
                                   | cli_surface.OPTION_STRINGS)


def _all_option_strings() -> set[str]:
    return {"--function", "-f", "--start", "-s", "--optimizer", "-o", "--steps", "-n", "--csv",
            "--png", "--svg", "--width", "--height", "--size", "-h", "--help"} | EXTRA_OPTION_STRINGS


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        argv = load_plugins(argv)
        args = build_parser().parse_args(join_negative_values(argv))
        return int(args.handler(args) or 0)
    except CliError as exc:
        return _fail(one_line(exc))
    except BrokenPipeError:  # `optsim list | head`: the reader left; leave quietly
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 141
    except (ValueError, TypeError, OSError) as exc:  # validated input that still failed
        return _fail(one_line(exc))
    except SystemExit as exc:  # --help, or argparse exiting
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_USAGE)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: still one line, unless OPTSIM_DEBUG asks for the traceback
        if os.environ.get("OPTSIM_DEBUG"):
            raise
        print(f"{PROG}: error: internal error ({type(exc).__name__}): {one_line(exc)} "
              "(set OPTSIM_DEBUG=1 for details)", file=sys.stderr)
        return 1


def load_plugins(argv: list[str]) -> list[str]:
    """Load every ``--plugin FILE.py`` (anywhere on the command line, for any
    command) and the installed packages' optimizers; returns the other arguments.
    A plug-in that fails raises its one-line PluginError (exit 2)."""
    from .plugins import load_plugin

    rest, files = [], []
    i = 0
    while i < len(argv):
        tok = argv[i]
        if tok == "--":
            rest.extend(argv[i:])
            break
        if tok == "--plugin":
            if i + 1 >= len(argv):
                raise CliError("--plugin needs a file: --plugin FILE.py")
            files.append(argv[i + 1])
            i += 2
            continue
        if tok.startswith("--plugin="):
            files.append(tok.split("=", 1)[1])
        else:
            rest.append(tok)
        i += 1
    for f in files:
        load_plugin(f)
    return rest


def _fail(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return EXIT_USAGE

