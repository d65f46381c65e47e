"""Pictures of explorations, drawn offscreen by :mod:`optsim.render.explore`: the sweep
map (with the theory of quadratics), the basins of attraction over the landscape,
and the race of tuned runs; saved as PNG or SVG (through :mod:`optsim.files`)."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

from ..explore.basins import BasinsResult
from ..explore.sweep import SweepResult
from ..explore.tune import TuneResult, describe, seed_range
from ..files import write_bytes
from ..functions import LossFunction
from ..style import run_colour
from . import image

SWEEP_SIZE = (1000, 800)


def sweep_title(result: SweepResult, spec: bool = True, narrow: bool = False) -> str:
    """The map's title: function, optimizer (``spec``: with its schedule and
    clipping), steps, starts; with noise, a second line: the noise model and the
    median over its seeds. ``narrow`` (a dock): the noise line split in two."""
    k = len(result.starts)
    start = f"from ({', '.join(f'{c:g}' for c in result.starts[0])})"
    tail: list[str] = []
    if result.noise is None:
        head = start if k == 1 else f"median over {k} starts"
    else:
        head = start if k == 1 else f"{k} starts"
        seeds = result.seeds
        over = f"{k} starts × {seeds} seeds" if k > 1 else f"{seeds} seeds"
        tail = [f"{result.noise.spec} noise",
                f"seed {result.seed}" if k * seeds == 1 else
                f"median over {over} ({seed_range(result, False)})" if seeds > 1 else
                f"median over {k} starts (seed {result.seed})"]
    line = f"{result.steps} steps, {head}"
    if spec:
        clip = "" if result.clip is None else f", clipped {result.clip.spec}"
        line = f"{result.function.name}: {result.spec}{clip}, {line}"
    if not tail:
        return line
    return "\n".join([line, *tail]) if narrow else f"{line}\n{', '.join(tail)}"


def sweep_widget(result: SweepResult, size: tuple[int, int]):
    """An offscreen, laid-out :class:`SweepPlot` of ``result`` (with theory)."""
    from ..render.explore import MapAxis, SweepPlot
    from ..render.qt_app import ensure_app

    app = ensure_app()
    from PySide6 import QtCore

    w = SweepPlot()
    w.setAttribute(QtCore.Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    w.resize(*size)
    axes = [MapAxis(result.x_axis.name, result.x, result.x_axis.log)]
    if result.y_axis is not None:
        axes.append(MapAxis(result.y_axis.name, result.y, result.y_axis.log))
    w.set_map(result.values, axes, result.metric, result.steps, sweep_title(result))
    w.set_current({a.name: result.setting(a.name) for a in axes
                   if result.setting(a.name) is not None})
    apply_theory(w, result)
    w.show()
    app.processEvents()
    w.grab()  # axes measure their labels while painting: lay out again after
    app.processEvents()
    return w


def apply_theory(widget: Any, result: SweepResult) -> str:
    """Draw the quadratic theory on ``widget`` when it applies; returns its text."""
    mt = result.theory()
    if mt is None:
        widget.set_theory(None, None)
        return ""
    widget.set_theory((mt.boundary_momentum, mt.boundary_lr),
                      {"lr": mt.best_lr, "momentum": mt.best_momentum}, mt.label)
    return mt.text


def basins_spec(result: BasinsResult) -> str:
    """The basin map's optimizer, with its ``+schedule``, clipping and noise if any."""
    text = result.optimizer.spec
    if result.schedule is not None:
        text += "+" + result.schedule.spec
    text += "" if result.clip is None else f", clipped {result.clip.spec}"
    if result.noise is not None:
        text += f", {result.noise.spec} noise (" + (
            f"seed {result.seed})" if result.seeds == 1 else
            f"the minimum most of seeds {seed_range(result, False)} reach)")
    return text


def basins_figure(result: BasinsResult, size: tuple[int, int]):
    """The landscape with the basins overlaid and a key, laid out offscreen."""

    fig = image.build_figure(result.function, [], size, with_history=False)
    fig.loss_plot.legend.hide()  # (no runs)
    add_basins(fig.loss_plot, result)
    fig.title.setText(f"Basins of attraction: {result.function.name}, {basins_spec(result)}, "
                      f"{result.steps} steps from each of {result.labels.size} starts")
    from ..render.qt_app import ensure_app

    ensure_app().processEvents()
    fig.grab()
    return fig


def add_basins(plot: Any, result: BasinsResult) -> Any:
    """Put ``result`` over a LossPlot (with its key); returns the overlay."""
    from ..render.explore import BasinsOverlay, basins_legend

    overlay = BasinsOverlay()
    strip = None
    if result.y is None:
        lo, hi = result.function.view[1]
        strip = (lo, 0.06 * (hi - lo))
    overlay.set_basins(result.labels, result.x, result.y, len(result.function.minima), strip)
    plot.getPlotItem().addItem(overlay)
    basins_legend(plot.getPlotItem(), list(result.function.minima), result.counts(),
                  result.labels.size, top_left=result.y is None)
    return overlay


def race_figure(fn: LossFunction, labels: Sequence[str], results: Sequence[TuneResult],
                size: tuple[int, int]):
    """The tuned runs raced from the first start (with noise: the first seed's),
    titled with the criterion; each run's legend entry ends with its tuned lr (its
    name is shortened, never the value), and when the picture leaves no room for the
    legend, the title states the tuned values."""
    from ..render.compute import suffixed_names
    from ..simulation import run

    start = results[0].starts[0]
    runs = []
    # (the labels shortened part-wise, apart and never in a number: the value whole)
    names = suffixed_names(labels, [f" → lr {r.lr:.3g}" for r in results])
    for i, (name, r) in enumerate(zip(names, results, strict=True)):
        res = run(fn, r.tuned, start, r.steps, schedule=r.schedule, clip=r.clip,
                  noise=r.noise, seed=r.seed)
        if bool(res.diverged):
            name += f" (diverged at step {int(res.diverged_step)})"
        runs.append((name, run_colour(i), res.positions, res.losses))
    fig = image.build_figure(fn, runs, size)
    # (the clipping is one phrase: it is never split over two lines)
    text = describe(results).replace("no clipping", "no\u00a0clipping").replace(
        "gradients clipped", "gradients\u00a0clipped")
    if results[0].noise is not None:
        text += f"; raced with seed {results[0].seed}"
    fig.title.setText(f"{fn.name}: tuned race. {text}")
    from ..render.qt_app import ensure_app

    app = ensure_app()
    app.processEvents()
    fig.grab()
    if fig.loss_plot.legend.opacity() == 0:  # no room for the legend: the values in the title
        values = ", ".join(f"{label} lr {r.lr:.3g}" for label, r in zip(labels, results,
                                                                          strict=True))
        fig.title.setText(f"{fn.name}: tuned race ({values}). {text}")
        app.processEvents()
        fig.place_legend()
        fig.grab()
    return fig


def save_pictures(widget: Any, png: str | os.PathLike | None = None,
                  svg: str | os.PathLike | None = None, figure: bool = False) -> list[str]:
    """Save a laid-out widget (a :class:`~optsim.render.figure.Figure` when
    ``figure``) as PNG and/or SVG, atomically; returns the paths written."""
    from PySide6 import QtGui

    written = []
    if png:  # encoded in memory: a full disk is one error naming the file
        picture = widget.grab().toImage().convertToFormat(QtGui.QImage.Format.Format_RGB32)
        written.append(str(write_bytes(png, image.png_bytes(picture))))
    if svg:
        if figure:
            data = image.figure_svg(widget)
        else:
            ET.register_namespace("", image.SVG_NS)
            root = image._widget_svg(widget, "p0")
            image._flatten_strokes(root)
            data = ET.tostring(root, encoding="utf-8", xml_declaration=True)
        written.append(str(write_bytes(svg, data)))
    return written
