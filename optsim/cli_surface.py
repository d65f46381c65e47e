"""``optsim run``'s 3D outputs: ``--png-3d``, ``--gif-3d``, ``--mp4-3d`` (the runs on the
function's surface; ``--orbit`` turns the camera once around over an animation). They
need OpenGL: on a desktop, or under ``xvfb-run``; without it the command stops before
computing anything, with one line saying so (exit 2)."""

from __future__ import annotations

import argparse

from .cli_args import CliError, one_line, picture_size
from .cli_scenarios import ProgressBar, picture_runs
from .files import ExportError
from .runset import RunSet
from .simulation import Trajectory


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The 3D view's options on ``run``'s parser ``p``."""
    g = p.add_argument_group("3D view (needs OpenGL: a desktop, or xvfb-run)")
    g.add_argument("--png-3d", dest="png_3d", metavar="FILE",
                   help="write a picture of the runs on the function's surface (PNG, --size)")
    g.add_argument("--gif-3d", dest="gif_3d", metavar="FILE",
                   help="write an animation of the runs on the surface (GIF; --stride, --fps)")
    g.add_argument("--mp4-3d", dest="mp4_3d", metavar="FILE",
                   help="write an animation of the runs on the surface (MP4, H.264)")
    g.add_argument("--orbit", action="store_true",
                   help="the 3D animation's camera turns once around the surface")


#: the files these options write (checked with the others before anything is computed)
OUTPUT_OPTIONS = [("--png-3d", "png_3d"), ("--gif-3d", "gif_3d"), ("--mp4-3d", "mp4_3d")]
#: the option strings added here (so that a value is never mistaken for one)
OPTION_STRINGS = {"--png-3d", "--gif-3d", "--mp4-3d", "--orbit"}


def _wanted(args: argparse.Namespace) -> bool:
    return any(getattr(args, dest, None) for _, dest in OUTPUT_OPTIONS)


def check_surface_args(args: argparse.Namespace) -> None:
    """The OUTPUT_CHECK: OpenGL is there (a one-line error, exit 2, before anything is
    computed) and the function is 2D."""
    if not _wanted(args):
        if getattr(args, "orbit", False):
            raise CliError("--orbit turns the camera of --gif-3d/--mp4-3d; give one of them")
        return
    if getattr(args, "size", None) is None:
        args.size = picture_size(args)
    from .render.qt_app import ensure_app, has_display
    from .render.surface3d import opengl_problem

    ensure_app(offscreen_if_headless=not has_display())
    problem = opengl_problem()
    if problem is not None:
        raise CliError(problem)


def write_surface_outputs(args: argparse.Namespace, runs: RunSet,
                          results: list[Trajectory]) -> list[str]:
    """The OUTPUT_WRITER of the 3D pictures and animations."""
    if not _wanted(args):
        return []
    from .export.surface3d import render_3d_png, write_3d_animation

    fn = runs.loss_function()
    if fn.dim != 2:
        raise CliError(f"{fn.name} is {fn.dim}D: the 3D view shows 2D functions")
    lines = picture_runs(runs, results)
    size = getattr(args, "size", None) or (1280, 720)
    written = []
    try:
        if args.png_3d:
            render_3d_png(args.png_3d, fn, lines, size=size, view=runs.view)
            written.append(args.png_3d)
        for path in (args.gif_3d, args.mp4_3d):
            if path:
                write_3d_animation(path, fn, lines, stride=int(args.stride), fps=float(args.fps),
                                   size=getattr(args, "animation_size", None) or size,
                                   orbit=args.orbit, view=runs.view,
                                   progress=ProgressBar(f"writing {path}"))
                written.append(path)
    except ValueError as exc:
        raise CliError(one_line(exc)) from None
    except ExportError:
        raise
    return written
