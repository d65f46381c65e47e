"""Headless pictures of runs: the same :class:`optsim.render.figure.Figure` the window
shows, built offscreen and saved as PNG or SVG (through :mod:`optsim.files`)."""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..files import ExportError, check_writable, write_bytes
from ..functions import LossFunction, as_function

#: (name, colour "#rrggbb", positions (K, D), losses (K,) or None)
RunData = tuple[str, str, Any, Any]

#: a run's extra points (Schedule-Free's averaged x, Lookahead's slow weights):
#: key -> (what the legend calls it, positions (K, D) along the run's)
RunPoints = dict[str, tuple[str, Any]]


class PictureRun(tuple):
    """A :data:`RunData` (it unpacks as the 4-tuple) that also carries the run's
    extra points (``points``, :data:`RunPoints`): pictures draw them as the window
    does, a hollow marker on a dashed path in the run's colour."""

    points: RunPoints

    def __new__(cls, name: str, colour: str, positions, losses,
                points: RunPoints | None = None) -> PictureRun:
        run = super().__new__(cls, (name, colour, positions, losses))
        run.points = dict(points or {})
        return run


def run_points(run) -> RunPoints:
    """``run``'s extra points ({} for a plain RunData)."""
    return getattr(run, "points", None) or {}


def trajectory_points(trajectory, k: int | None = None) -> RunPoints:
    """The extra points of a trajectory of one row (its optimizer's
    ``extra_points``, from the recorded states) up to step ``k`` (default: all),
    named as the window's legend names them; {} when it has none, several rows or
    no recorded states."""
    opt = trajectory.optimizer
    if not opt.extra_points or trajectory.n != 1 or not trajectory.record_state:
        return {}
    paths = trajectory.extra_paths()
    end = None if k is None else int(k) + 1
    return {p.key: (point_label(p.name), paths[p.key][:end, 0])
            for p in opt.extra_points if p.key in paths}


def point_label(name: str) -> str:
    """An extra point's legend name: its description up to a colon or parenthesis
    ("averaged point x: what you evaluate (...)" -> "averaged point x")."""
    return name.split(":")[0].split(" (")[0]

MIN_SIZE, MAX_SIZE = 64, 8192


def _check_size(size: tuple[int, int]) -> tuple[int, int]:
    try:
        w, h = (int(size[0]), int(size[1]))
    except (TypeError, ValueError, IndexError):
        raise ValueError(f"picture size must be two whole numbers, got {size!r}") from None
    for what, v in (("width", w), ("height", h)):
        if not MIN_SIZE <= v <= MAX_SIZE:
            raise ValueError(f"picture {what} must be in [{MIN_SIZE}, {MAX_SIZE}], got {v}")
    return w, h


#: a picture is laid out at most this large (in layout pixels) and painted larger:
#: a 1920×1080 slide is the 1024×576 layout, its text and lines 1.875 times larger
LAYOUT_SIZE = (1024, 576)
#: pictures at least this much wider than high put the loss history beside the
#: landscape (which, drawn 1:1, leaves room at its sides) instead of below it
SIDE_BY_SIDE_RATIO = 1.5


def picture_scale(size: tuple[int, int]) -> float:
    """How much larger than its layout a picture of ``size`` pixels is painted: 1 up
    to :data:`LAYOUT_SIZE`, then so that the layout fills the picture (text, markers
    and lines grow with the picture, as on a slide)."""
    w, h = size
    return max(1.0, min(w / LAYOUT_SIZE[0], h / LAYOUT_SIZE[1]))


#: pictures of more runs than this draw the runs of each colour as one bundle: one
#: legend entry ("adam (1,024 runs)") and a few items, whatever the number of runs
#: (an item and a legend entry per run made a picture of 1,024 start points take
#: 25 s, and 4,096 take 272 s: pyqtgraph's per-item work grows with the items)
BUNDLE_AT = 16


@dataclass
class RunBundle:
    """The runs of one colour, drawn together (see :func:`bundle_runs`)."""

    name: str
    colour: str
    positions: list[np.ndarray] = field(default_factory=list)
    losses: list[np.ndarray] = field(default_factory=list)


def run_arrays(fn: LossFunction, i: int, pos, loss) -> tuple[np.ndarray, np.ndarray]:
    """Run ``i``'s positions (K, D) and losses (K,) as float arrays (the losses
    computed when None); ValueError when the positions do not fit ``fn``."""
    pos = np.asarray(pos, dtype=np.float64).reshape(len(pos), -1)
    if pos.shape[1] != fn.dim:
        raise ValueError(f"run {i}: positions have {pos.shape[1]} coordinate(s), "
                         f"{fn.name} has {fn.dim}")
    if loss is None:
        with np.errstate(all="ignore"):
            loss = fn.value(pos)
    return pos, np.asarray(loss, dtype=np.float64).reshape(-1)


def bundle_runs(fn: LossFunction, runs: Sequence[RunData],
                at: int | None = None) -> list[RunBundle] | None:
    """More than ``at`` (:data:`BUNDLE_AT`) runs grouped by colour, in order of
    first appearance; None for fewer. A bundle is named after its runs' common
    name (what comes before " from (" or " (diverged"), with their number."""
    if len(runs) <= (BUNDLE_AT if at is None else at):
        return None
    groups: dict[str, RunBundle] = {}
    names: dict[str, list[str]] = {}
    for i, (name, colour, pos, loss) in enumerate(runs):
        key = str(colour).lower()
        if key not in groups:
            groups[key], names[key] = RunBundle("", str(colour)), []
        pos, loss = run_arrays(fn, i, pos, loss)
        groups[key].positions.append(pos)
        groups[key].losses.append(loss)
        names[key].append(str(name))
    for key, b in groups.items():
        n = len(names[key])
        if n == 1:  # its own name, as without bundles
            b.name = names[key][0]
            continue
        first = re.split(r" from \(| \(diverged", names[key][0], maxsplit=1)[0]
        if all(re.split(r" from \(| \(diverged", x, maxsplit=1)[0] == first
               for x in names[key]):
            b.name = f"{first} ({n:,} runs)"
        else:
            b.name = f"{first} and {n - 1:,} more"
    return list(groups.values())


def build_figure(function: str | LossFunction, runs: Sequence[RunData],
                 size: tuple[int, int] = (1280, 960), with_history: bool = True,
                 view=None, current: int | None = None, *, overlay=None,
                 aspect_locked: bool | None = None, scale: float | None = None,
                 caption: str = ""):
    """A laid-out, offscreen :class:`Figure` of ``runs`` on ``function``, to be
    painted at ``size`` pixels (see :func:`paint_figure`).

    The figure is laid out at ``size / scale`` (default scale: :func:`picture_scale`)
    and its lines are thickened by ``scale``: painted ``scale`` times larger, text,
    markers and lines keep their proportions. ``current`` (default: the last step) is
    the step shown. ``overlay`` (an :class:`~optsim.render.overlays.OverlayState`)
    draws the window's step arrows and field. ``aspect_locked`` (default: True in
    2D) draws x and y at one scale, the view padded rather than stretched.
    ``caption``: a line under the title (the window's tuned race states its criterion).
    """
    from ..render.qt_app import ensure_app

    app = ensure_app()
    import pyqtgraph as pg
    from PySide6 import QtCore

    from ..render.compute import RunStyle
    from ..render.figure import Figure

    fn = as_function(function)
    w, h = _check_size(size)
    scale = picture_scale((w, h)) if scale is None else float(scale)
    lw, lh = max(1, round(w / scale)), max(1, round(h / scale))
    side = with_history and fn.dim == 2 and w >= SIDE_BY_SIDE_RATIO * h
    fig = Figure(with_history=with_history, side_by_side=side)
    fig.picture_scale = scale
    fig.setAttribute(QtCore.Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    fig.prepare_export()
    fig.resize(lw, lh)
    fig.caption = caption
    fig.set_function(fn, view)
    fig.loss_plot.set_aspect_locked(fn.dim == 2 if aspect_locked is None else aspect_locked)
    bundles = bundle_runs(fn, runs)
    if bundles is not None:  # many runs: each colour's in a few items
        fig.set_runs([RunStyle(b.name, b.colour, True) for b in bundles])
        for i, b in enumerate(bundles):
            fig.loss_plot.update_bundle(i, b.positions, current)
            if fig.history is not None:
                fig.history.update_bundle(
                    i, [y if current is None else y[: int(current) + 1] for y in b.losses],
                    current)
    else:
        fig.set_runs([RunStyle(str(name), str(colour), True) for name, colour, _, _ in runs])
    for i, run in enumerate(runs if bundles is None else ()):
        pos, loss = run_arrays(fn, i, run[2], run[3])
        k = len(pos) - 1 if current is None else min(int(current), len(pos) - 1)
        fig.update_run(i, pos, k, loss)
        draw_points(fig, i, run, k)
    starts = [np.asarray(pos, dtype=np.float64).reshape(len(pos), -1)[0]
              for _, _, pos, _ in runs if len(pos)]
    if starts:  # every run's start (runs of a comparison may start apart)
        fig.set_start_marker(np.unique(np.array(starts), axis=0) if bundles else np.array(starts))
        if bundles:  # many starts: small marks, not squares over the paths
            fig.loss_plot.start_marker.setSize(6)
            fig.loss_plot.start_marker.setPen(pg.mkPen("k", width=1))
    # the bundles' many lines are left out of the paints that settle the layout
    # (transparent, not hidden: hidden lines would leave the scales and legend)
    quiet = [item for i in range(len(bundles or ()))
             for item in fig.loss_plot.run_items(i).items()
             + ([fig.history.line(i)] if fig.history is not None else [])]
    for item in quiet:
        item.setOpacity(0.0)
    fig.show()
    fig.resize(lw, lh)
    if side:
        left = int(lw * 0.6)
        fig.splitter.setSizes([left, lw - left])
    app.processEvents()
    fig.reset_view()
    fig.centre_title()
    fig.overlay = None
    if overlay is not None:
        from ..render.overlays import StepOverlay

        fig.overlay = StepOverlay(fig.loss_plot.getPlotItem())
        fig.overlay.apply(overlay, fn, view)
    fig.loss_plot.place_legend()
    app.processEvents()
    # pyqtgraph's axes measure their tick labels while painting and only then make
    # room for them: paint once, let the layout follow, and the picture has no
    # labels over the colour bar's ticks or cut off at the edge
    fig.grab()
    app.processEvents()
    fig.reset_view()  # the plot's final size: the locked aspect pads it anew
    if fig.overlay is not None:
        fig.overlay.refresh()
    fig.thicken_lines(scale)
    for item in quiet:
        item.setOpacity(1.0)
    return fig


def draw_points(fig, i: int, run, k: int) -> None:
    """Run ``i``'s extra points (see :class:`PictureRun`) up to step ``k``, as the
    window draws them."""
    points = run_points(run)
    if points:
        fig.update_points(i, {key: np.asarray(p, dtype=np.float64).reshape(len(p), -1)
                              for key, (_, p) in points.items()}, k,
                          {key: label for key, (label, _) in points.items()})


def paint_figure(fig, size: tuple[int, int], extra: float = 1.0):
    """``fig`` (from :func:`build_figure`) as a QImage of ``size`` × ``extra`` pixels:
    painted ``fig.picture_scale × extra`` times its layout size (``extra`` adds
    pixels, not larger text: a 2× PNG is the same picture, sharper)."""
    from PySide6 import QtCore, QtGui

    w, h = size
    factor = getattr(fig, "picture_scale", 1.0) * extra
    if extra != 1.0:
        fig.thicken_lines(factor)
    image = QtGui.QImage(round(w * extra), round(h * extra), QtGui.QImage.Format.Format_RGB32)
    image.fill(QtCore.Qt.GlobalColor.white)
    painter = QtGui.QPainter(image)
    try:
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QtGui.QPainter.RenderHint.SmoothPixmapTransform)
        painter.scale(factor, factor)
        fig.render(painter, QtCore.QPoint(0, 0))
    finally:
        painter.end()
    return image


def _release(fig) -> None:
    fig.hide()
    fig.deleteLater()


def render_image(function: str | LossFunction, runs: Sequence[RunData],
                 size: tuple[int, int] = (1280, 960), with_history: bool = True,
                 view=None, current: int | None = None, *, extra: int = 1, overlay=None,
                 aspect_locked: bool | None = None, caption: str = ""):
    """The figure as a QImage of exactly ``size`` × ``extra`` pixels (see
    :func:`build_figure` and :func:`paint_figure`)."""
    w, h = _check_size(size)
    if w * extra > MAX_SIZE or h * extra > MAX_SIZE:
        raise ValueError(f"{w * extra}×{h * extra} pixels is too large "
                         f"(at most {MAX_SIZE} a side)")
    fig = build_figure(function, runs, (w, h), with_history, view, current, overlay=overlay,
                       aspect_locked=aspect_locked, caption=caption)
    try:
        return paint_figure(fig, (w, h), extra)
    finally:
        _release(fig)


def render_png(path: str | os.PathLike, function: str | LossFunction, runs: Sequence[RunData],
               size: tuple[int, int] = (1280, 960), with_history: bool = True,
               view=None, current: int | None = None, *, extra: int = 1, overlay=None,
               aspect_locked: bool | None = None) -> str:
    """Save a PNG of ``runs`` on ``function`` at ``path`` (atomically); the options
    as for :func:`render_image`."""
    check_writable(path)
    image = render_image(function, runs, size, with_history, view, current, extra=extra,
                         overlay=overlay, aspect_locked=aspect_locked)
    return str(write_bytes(path, png_bytes(image)))


def png_bytes(image) -> bytes:
    """``image`` (a QImage) encoded as PNG in memory: the file is then written as
    any other (a full disk is one error naming the file, not libpng's own line)."""
    from PySide6 import QtCore

    buf = QtCore.QBuffer()
    buf.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buf, "PNG"):
        raise ExportError("Qt could not encode the PNG")
    return bytes(buf.data())


SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
_PAIR = re.compile(r"([MLCQSTZ])|(-?[0-9.]+(?:[eE][-+]?[0-9]+)?),(-?[0-9.]+(?:[eE][-+]?[0-9]+)?)")
_MATRIX = re.compile(r"^\s*matrix\(([^)]*)\)\s*$")


def _widget_svg(widget, prefix: str) -> ET.Element:
    """One widget drawn by Qt's SVG generator, parsed; its ids prefixed (two widgets'
    clip paths would otherwise share ids)."""
    from PySide6 import QtCore, QtGui, QtWidgets
    from PySide6.QtSvg import QSvgGenerator

    w, h = widget.width(), widget.height()
    buf = QtCore.QBuffer()
    buf.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    # SVG 1.1 keeps the plot area's clipping (Tiny 1.2 lets the heat map spill over)
    gen = QSvgGenerator(QSvgGenerator.SvgVersion.Svg11)
    gen.setOutputDevice(buf)
    gen.setResolution(widget.logicalDpiX())
    gen.setSize(QtCore.QSize(w, h))
    gen.setViewBox(QtCore.QRect(0, 0, w, h))
    painter = QtGui.QPainter()
    if not painter.begin(gen):
        raise ExportError("Qt could not start an SVG drawing")
    try:
        # QWidget's render (QGraphicsView overrides it with a scene renderer)
        QtWidgets.QWidget.render(widget, painter, QtCore.QPoint(0, 0))
    finally:
        painter.end()
    text = bytes(buf.data()).decode("utf-8")
    text = text.replace('id="clipPath', f'id="{prefix}clipPath')
    text = text.replace("url(#clipPath", f"url(#{prefix}clipPath")
    return ET.fromstring(text)


def _map_pairs(text: str, m: list[float]) -> str | None:
    """Apply the affine matrix ``m`` (SVG order a b c d e f) to every x,y pair of a
    path or polyline; None if the text has anything else (relative commands, arcs)."""
    a, b, c, d, e, f = m
    out, pos = [], 0
    for match in _PAIR.finditer(text):
        if text[pos:match.start()].strip():
            return None
        pos = match.end()
        if match.group(1):
            out.append(match.group(1))
            continue
        x, y = float(match.group(2)), float(match.group(3))
        nx, ny = a * x + c * y + e, b * x + d * y + f
        sep = "" if out and out[-1] in "MLCQST" else " "
        out.append(f"{sep}{nx:.6g},{ny:.6g} ")
    if text[pos:].strip():
        return None
    return "".join(out).strip()


def _flatten_strokes(root: ET.Element) -> None:
    """Move the data-to-pixel transform of groups of lines into their coordinates.

    Qt writes cosmetic pens as ``vector-effect="non-scaling-stroke"`` under a scaling
    transform; viewers that ignore vector-effect then draw strokes thousands of pixels
    wide. With the coordinates transformed, the strokes keep their width anywhere."""
    for g in root.iter(f"{{{SVG_NS}}}g"):
        match = _MATRIX.match(g.get("transform", ""))
        kids = list(g)
        if match is None or not kids:
            continue
        if any(k.tag not in (f"{{{SVG_NS}}}path", f"{{{SVG_NS}}}polyline")
               or k.get("vector-effect") != "non-scaling-stroke" for k in kids):
            continue
        m = [float(v) for v in match.group(1).replace(",", " ").split()]
        if len(m) != 6:
            continue
        new = []
        for k in kids:
            attr = "d" if k.tag.endswith("path") else "points"
            mapped = _map_pairs(k.get(attr, ""), m)
            if mapped is None:
                break
            new.append((k, attr, mapped))
        else:
            for k, attr, mapped in new:
                k.set(attr, mapped)
                # now in the document's units: a stroke scales with the picture
                del k.attrib["vector-effect"]
            del g.attrib["transform"]


def figure_svg(fig, size: tuple[int, int] | None = None) -> bytes:
    """The laid-out ``fig`` as one SVG document of ``size`` (default: the figure's
    layout size; the layout is scaled to fill it): each plot drawn by Qt's generator
    in its own coordinates (its clipping is then right) and placed in a translated
    group; lines are vectors, the heat map an embedded image."""
    from PySide6 import QtCore

    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", XLINK_NS)
    w, h = fig.width(), fig.height()
    ow, oh = size if size is not None else (w, h)
    root = ET.Element(f"{{{SVG_NS}}}svg", {"width": str(ow), "height": str(oh),
                                            "viewBox": f"0 0 {w} {h}", "version": "1.1"})
    ET.SubElement(root, f"{{{SVG_NS}}}rect", {"width": "100%", "height": "100%",
                                               "fill": "#ffffff"})
    plots = [fig.title, fig.loss_plot] + ([fig.history] if fig.history is not None else [])
    for i, plot in enumerate(plots):
        if not plot.isVisible():
            continue
        part = _widget_svg(plot, f"p{i}")
        _flatten_strokes(part)
        at = plot.mapTo(fig, QtCore.QPoint(0, 0))
        # a translated group, not a nested <svg>: SVG Tiny viewers skip nested documents
        nested = ET.SubElement(root, f"{{{SVG_NS}}}g", {
            "id": f"plot{i}", "transform": f"translate({at.x()},{at.y()})"})
        for child in part:
            if child.tag in (f"{{{SVG_NS}}}title", f"{{{SVG_NS}}}desc"):
                continue
            nested.append(child)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def render_svg(path: str | os.PathLike, function: str | LossFunction, runs: Sequence[RunData],
               size: tuple[int, int] = (1280, 960), with_history: bool = True,
               view=None, current: int | None = None, *, overlay=None,
               aspect_locked: bool | None = None, caption: str = "") -> str:
    """Save an SVG of ``runs`` on ``function`` at ``path`` (atomically); lines, markers
    and text are vectors, the heat map an embedded image."""
    check_writable(path)
    size = _check_size(size)
    fig = build_figure(function, runs, size, with_history, view, current, overlay=overlay,
                       aspect_locked=aspect_locked, caption=caption)
    fig.thicken_lines(1.0)  # strokes scale with the document instead (see figure_svg)
    fig.loss_plot.crop_to_view()
    try:
        data = figure_svg(fig, size)
    finally:
        _release(fig)

    return str(write_bytes(path, data))
