"""What the step is made of, drawn on the loss plot (pyqtgraph items, created once).

At the shown point of a run, arrows for the *next* step (pressing Right moves the
ball to the tip of the "step taken" arrow):

* the plain gradient step −α·∇f (where vanilla gradient descent would go);
* the momentum contribution, for methods with a memory (the part of the step that
  comes from the remembered momentum/first moment);
* the step the optimizer actually takes;
* for adaptive methods, the x and y components of the gradient step and of the
  step taken, dashed: how each coordinate was rescaled;
* optionally the negative-gradient field as faint arrows over the contours;
* in 1D the same on the curve: the tangent, and the steps as horizontal arrows.


The vectors are computed without Qt by :func:`step_vectors` (pure: the next step
is computed from the recorded state, nothing is advanced).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from ..functions import LossFunction
from .lines import ScreenScale, Shaft, pixel_of, screen_scale

GRADIENT_COLOUR = "#303030"
MOMENTUM_COLOUR = "#7B3294"
HEAD_PX = 14
FIELD_GRID = 17



# ---------------------------------------------------------------------------
# the vectors (no Qt)


@dataclass(frozen=True)
class StepVectors:
    """The next step of one run at one shown step, and its parts, all shape (D,)."""

    step: int
    position: np.ndarray
    loss: float
    gradient: np.ndarray
    lr: float
    gradient_step: np.ndarray  # −α·g: plain gradient descent's step (g: the gradient used)
    actual_step: np.ndarray  # the step the optimizer takes next
    momentum_step: np.ndarray | None  # the part of it coming from the memory
    effective_lr: np.ndarray
    adaptive: bool
    direction: np.ndarray | None = None  # actual_step == -effective_lr * direction


def rescaling_ellipse(v: StepVectors, n: int = 97) -> tuple[np.ndarray, np.ndarray] | None:
    """Where the optimizer would step for a direction as long as this one, turned
    every way: the ellipse w − α_eff ⊙ u, ‖u‖ = ‖d‖, with semi-axes α_eff,i·‖d‖. The
    step taken lies on it; for plain gradient descent it is a circle."""
    if v.direction is None or len(v.position) != 2:
        return None
    r = float(np.linalg.norm(v.direction))
    a, b = np.abs(v.effective_lr) * r
    if not (np.isfinite([a, b]).all() and r > 0):
        return None
    th = np.linspace(0.0, 2 * np.pi, n)
    return v.position[0] + a * np.cos(th), v.position[1] + b * np.sin(th)


def has_momentum(optimizer) -> bool:
    """Whether the optimizer's step has a memory of past gradients (its traits)."""
    return optimizer.traits.momentum


def step_vectors(trajectory, k: int, run: int = 0) -> StepVectors | None:
    """The next step of run ``run`` of ``trajectory`` from its position after step
    ``k``, with its parts. None if the run has diverged by then (it stands still)."""
    if not 0 <= k <= trajectory.steps:
        raise IndexError(f"step {k} is not recorded (0..{trajectory.steps})")
    d = int(trajectory.diverged_step[run])
    if 0 <= d <= k:
        return None
    opt = trajectory.optimizer
    pos = np.array(trajectory.positions[k], dtype=np.float64)  # (N, D)
    # the gradient the next step will use (with gradient noise: the noisy one, already drawn)
    used = getattr(trajectory, "gradient_used", trajectory.gradient_at)
    grads = np.asarray(used(k), dtype=np.float64)
    state = trajectory.state_at(k)
    with np.errstate(all="ignore"):
        if k < trajectory.steps and not (0 <= d <= k + 1):
            info = trajectory.explain(k + 1)
        else:
            _, _, info = opt.step_with_info(pos, grads, state)
        momentum = None
        if has_momentum(opt):
            zeroed = state._replace(**{f: np.zeros_like(getattr(state, f))
                                       for f in opt.traits.momentum_fields})
            _, _, plain = opt.step_with_info(pos, grads, zeroed)
            momentum = (info["update"] - plain["update"])[run]
    lr = float(opt.value("lr", run))
    g = grads[run]
    eff = np.asarray(info.get("effective_lr", np.full_like(pos, lr)), dtype=np.float64)[run]
    direction = info.get("direction")
    return StepVectors(k, pos[run], float(trajectory.losses[k, run]), g, lr, -lr * g,
                       np.asarray(info["update"][run], dtype=np.float64), momentum, eff,
                       opt.traits.rescales,
                       None if direction is None else np.asarray(direction[run], dtype=np.float64))


def field_segments(fn: LossFunction, view, n: int = FIELD_GRID) -> tuple[np.ndarray, np.ndarray]:
    """Line segments (x, y pairs for ``connect="pairs"``) of the negative-gradient
    field on an n×n grid over ``view``: shafts of equal length with open heads."""
    (x0, x1), (y0, y1) = view
    xs = np.linspace(x0, x1, n + 2)[1:-1]
    ys = np.linspace(y0, y1, n + 2)[1:-1]
    gx, gy = np.meshgrid(xs, ys)
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    with np.errstate(all="ignore"):
        g = -np.asarray(fn.gradient(pts), dtype=np.float64)
    sx, sy = (x1 - x0) / (n + 1), (y1 - y0) / (n + 1)
    # direction in cell units (so arrows look right whatever the aspect ratio)
    ux, uy = g[:, 0] / sx, g[:, 1] / sy
    norm = np.hypot(ux, uy)
    ok = np.isfinite(norm) & (norm > 0)
    ux, uy, p = ux[ok] / norm[ok], uy[ok] / norm[ok], pts[ok]
    length = 0.38
    tip = p + np.column_stack([ux * sx, uy * sy]) * length
    base = p - np.column_stack([ux * sx, uy * sy]) * length
    segs = [base, tip]
    for side in (1, -1):
        c, s = math.cos(math.radians(150 * side)), math.sin(math.radians(150 * side))
        hx, hy = ux * c - uy * s, ux * s + uy * c
        segs += [tip, tip + np.column_stack([hx * sx, hy * sy]) * 0.25]
    a = np.stack(segs[:2], axis=1).reshape(-1, 2)
    h1 = np.stack(segs[2:4], axis=1).reshape(-1, 2)
    h2 = np.stack(segs[4:6], axis=1).reshape(-1, 2)
    allp = np.concatenate([a, h1, h2])
    return allp[:, 0], allp[:, 1]


# ---------------------------------------------------------------------------
# items


def _pen(colour, width: float, dashed: bool = False) -> QtGui.QPen:
    pen = pg.mkPen(colour, width=width)
    if dashed:
        pen.setStyle(QtCore.Qt.PenStyle.DashLine)
    pen.setCapStyle(QtCore.Qt.PenCapStyle.RoundCap)
    return pen


def _clear(item: pg.PlotDataItem) -> None:
    """Empty ``item`` unless it already is (clearing costs a setData: per frame, per
    run, for every kind of arrow switched off)."""
    if not getattr(item, "_optsim_empty", False):
        item.setData([], [])
        item._optsim_empty = True


def _show(item: pg.PlotDataItem, xs, ys) -> None:
    item.setData(xs, ys)
    item._optsim_empty = False


class Arrow:
    """A line from ``base`` to ``tip`` with a head at the tip (a fixed size in
    pixels, turned to match the line on screen). Items are made once; ``set``
    moves them."""

    def __init__(self, plot: pg.PlotItem, colour: str, width: float = 3.0,
                 dashed: bool = False, head: float = HEAD_PX, z: float = 50,
                 name: str = "") -> None:
        self.plot = plot
        self.name = name
        self.line = Shaft(_pen(colour, width, dashed))
        self.head = pg.ArrowItem(angle=0, headLen=head, tipAngle=32, tailLen=None,
                                 pen=pg.mkPen(colour, width=1), brush=pg.mkBrush(colour))
        self.line.setZValue(z)
        self.head.setZValue(z + 1)
        plot.addItem(self.line, ignoreBounds=True)
        plot.addItem(self.head)
        #: (base x, base y, tip x, tip y) as drawn (None: hidden)
        self._ends: tuple[float, float, float, float] | None = None
        self._visible = True
        self._angle: float | None = None
        self._hidden = False
        self.hide()

    def set(self, base: Sequence[float], tip: Sequence[float],
            screen: ScreenScale | None = None) -> None:
        """Draw from ``base`` to ``tip`` (view units). ``screen``: the view's
        :func:`screen_scale`, when the caller has it for several arrows."""
        ends = (float(base[0]), float(base[1]), float(tip[0]), float(tip[1]))
        if not all(map(math.isfinite, ends)):
            self.hide()
            return
        self._hidden = False
        if screen is None:
            screen = screen_scale(self.plot)
        if ends != self._ends:  # (unchanged: a finished or frozen run while playing)
            self._ends = ends
            bx, by, tx, ty = ends
            self.line.setData([bx, tx], [by, ty], pixel_of(screen))
            self.head.setPos(tx, ty)
        self.line.setVisible(self._visible)
        self.orient(screen)

    def orient(self, screen: ScreenScale | None = None) -> None:
        """Turn the head along the line as drawn on screen (call when the view changes)."""
        if self._ends is None:
            return
        if screen is None:
            screen = screen_scale(self.plot)
        if screen is None:
            return
        self.line.set_pixel(pixel_of(screen))
        bx, by, tx, ty = self._ends
        dx, dy = tx - bx, ty - by
        m11, m12, m21, m22 = screen
        sx, sy = m11 * dx + m21 * dy, m12 * dx + m22 * dy  # the line on screen, in pixels
        if math.hypot(sx, sy) < 1.0:  # shorter than a pixel: no direction to show
            self.head.setVisible(False)
            return
        angle = math.degrees(math.atan2(-sy, -sx))
        if angle != self._angle:  # the head, made at angle 0, is turned (setStyle(angle=)
            self._angle = angle   # rebuilt its path: ~0.2 ms an arrow a frame)
            self.head.setRotation(angle)
        self.head.setVisible(self._visible)

    @property
    def angle(self) -> float | None:
        """The head's direction on screen, in degrees (0: pointing along -x)."""
        return self._angle

    def hide(self) -> None:
        if self._hidden:
            return  # already: no setData per frame for arrows switched off
        self._hidden = True
        self._ends = None
        self.line.setData([], [])
        self.line.setVisible(False)
        self.head.setVisible(False)

    def set_shown(self, shown: bool) -> None:
        self._visible = shown
        if not shown:
            self.line.setVisible(False)
            self.head.setVisible(False)
        elif self._ends is not None:
            self.line.setVisible(True)
            self.orient()

    @property
    def visible(self) -> bool:
        return self.line.isVisible()

    def endpoints(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(base, tip) as drawn, read back from the line item (None when hidden)."""
        xs, ys = self.line.getData()
        if xs is None or len(xs) != 2 or not self.visible:
            return None
        return np.array([xs[0], ys[0]]), np.array([xs[1], ys[1]])

    def items(self) -> list:
        return [self.line, self.head]

    def remove(self) -> None:
        for item in self.items():
            self.plot.removeItem(item)


class RunArrows:
    """The arrows of one run: gradient step, momentum part, step taken, components,
    and (1D) the tangent."""

    def __init__(self, plot: pg.PlotItem, colour: str) -> None:
        self.colour = colour
        self.gradient = Arrow(plot, GRADIENT_COLOUR, 3.0, z=52, name="gradient")
        self.momentum = Arrow(plot, MOMENTUM_COLOUR, 3.0, z=53, name="momentum")
        self.step = Arrow(plot, colour, 4.0, z=54, name="step")
        self.gradient_x = Arrow(plot, GRADIENT_COLOUR, 2.0, dashed=True, head=10, z=51)
        self.gradient_y = Arrow(plot, GRADIENT_COLOUR, 2.0, dashed=True, head=10, z=51)
        self.step_x = Arrow(plot, colour, 2.0, dashed=True, head=10, z=51)
        self.step_y = Arrow(plot, colour, 2.0, dashed=True, head=10, z=51)
        self.tangent = pg.PlotDataItem(pen=_pen(GRADIENT_COLOUR, 1.5, dashed=True))
        self.tangent.setZValue(50)
        plot.addItem(self.tangent)
        self.ellipse = pg.PlotDataItem(pen=_pen(colour, 1.5, dashed=True))
        self.ellipse.setZValue(49)
        plot.addItem(self.ellipse)
        self.plot = plot
        self.vectors: StepVectors | None = None

    def arrows(self) -> list[Arrow]:
        return [self.gradient, self.momentum, self.step, self.gradient_x, self.gradient_y,
                self.step_x, self.step_y]

    def set_colour(self, colour: str) -> None:
        if colour == self.colour:
            return
        self.colour = colour
        for a in (self.step, self.step_x, self.step_y):
            a.line.setPen(_pen(colour, a.line.pen().widthF(),
                               a.line.pen().style() == QtCore.Qt.PenStyle.DashLine))
            a.head.setStyle(pen=pg.mkPen(colour, width=1), brush=pg.mkBrush(colour))
        self.ellipse.setPen(_pen(colour, 1.5, dashed=True))

    def hide(self) -> None:
        for a in self.arrows():
            a.hide()
        _clear(self.tangent)
        _clear(self.ellipse)
        self.vectors = None

    def remove(self) -> None:
        for a in self.arrows():
            a.remove()
        self.plot.removeItem(self.tangent)
        self.plot.removeItem(self.ellipse)


@dataclass(frozen=True)
class OverlayState:
    """What a :class:`StepOverlay` shows (its options and arrows' entries), to draw
    the same on another plot: an exported picture of the window."""

    options: dict
    entries: tuple = ()


class StepOverlay(QtCore.QObject):
    """The step arrows, the gradient field and the hover read-out on one PlotItem.

    ``show(entries)`` draws arrows for each ``(trajectory, step, run_index, colour)``;
    the ``show_*`` flags toggle each kind of item (``set_option(name, on)``).
    """

    OPTIONS = ("gradient_step", "momentum", "actual_step", "components", "ellipse", "field",
               "tangent")

    def __init__(self, plot: pg.PlotItem) -> None:
        super().__init__()
        self.plot = plot
        self.options = {"gradient_step": True, "momentum": True, "actual_step": True,
                        "components": True, "ellipse": False, "field": False, "tangent": True}
        self.dim = 2
        self.runs: list[RunArrows] = []
        self.field = pg.PlotCurveItem(connect="pairs", pen=pg.mkPen((60, 60, 60, 70), width=1.2))
        self.field.setZValue(-5)
        self.field.setVisible(False)
        plot.addItem(self.field)
        self._field_key = None
        self._function: LossFunction | None = None
        self._view = None
        self._entries: list = []
        self._screen: ScreenScale | None = None
        # a key to the arrows, fixed to the view's bottom-left corner (one text item)
        self.legend = pg.TextItem(anchor=(0, 1), fill=pg.mkBrush(255, 255, 255, 220),
                                  border=pg.mkPen("#888888"))
        self.legend.setParentItem(plot.getViewBox())
        self.legend.setZValue(100)
        self.legend.setVisible(False)
        self._legend_html = ""
        self._key_spot: tuple | None = None
        #: the key's text size in points (set_scale changes it)
        self.key_pt = 10.0
        plot.getViewBox().sigResized.connect(self._place_legend)
        runs_legend = getattr(plot, "legend", None)  # the key keeps off it, wherever it goes
        if runs_legend is not None:
            runs_legend.geometryChanged.connect(self._place_legend)
        plot.getViewBox().sigTransformChanged.connect(self._reorient)
        plot.getViewBox().sigResized.connect(self._reorient)

    def state(self) -> OverlayState:
        """What this overlay shows now."""
        return OverlayState(dict(self.options), tuple(self._entries))

    def apply(self, state: OverlayState, fn: LossFunction, view=None) -> None:
        """Show what ``state`` says, on ``fn`` over ``view`` (an export's plot)."""
        self.options.update(state.options)
        self.set_function(fn, view)
        self.show(state.entries)

    def set_scale(self, scale: float) -> None:
        """The key's text ``scale`` times its usual size (presentation mode)."""
        self.key_pt = 10.0 * float(scale)
        self._update_legend()

    # -- options ---------------------------------------------------------------
    def set_option(self, name: str, on: bool) -> None:
        if name not in self.options:
            raise ValueError(f"unknown overlay {name!r}; known: {', '.join(self.OPTIONS)}")
        self.options[name] = bool(on)
        if name == "field":
            self._update_field()
        self.refresh()

    # -- the function ------------------------------------------------------------
    def set_function(self, fn: LossFunction, view=None) -> None:
        """The function (and view window) the field and the 1D tangent belong to."""
        self._function, self._view = fn, view or fn.view
        self.dim = fn.dim
        self._update_field()

    def _update_field(self) -> None:
        fn = self._function
        if fn is None or fn.dim != 2 or not self.options["field"]:
            self.field.setVisible(False)
            return
        key = (id(fn), fn.name, tuple(map(tuple, self._view)))
        if key != self._field_key:
            xs, ys = field_segments(fn, self._view)
            self.field.setData(xs, ys)
            self._field_key = key
        self.field.setVisible(True)

    # -- arrows ----------------------------------------------------------------
    def show(self, entries: Sequence[tuple]) -> None:
        """Arrows for each ``(trajectory, step, run_index, colour)`` (its next step)."""
        self._entries = list(entries)
        self.refresh()

    def refresh(self) -> None:
        entries = self._entries
        #: the view's screen scale for this refresh's arrows (one Qt call for all)
        self._screen = screen_scale(self.plot)
        while len(self.runs) < len(entries):
            self.runs.append(RunArrows(self.plot, "#000000"))
        for arrows, entry in zip(self.runs, entries, strict=False):
            traj, k, r, colour = entry
            arrows.set_colour(colour)
            self._draw(arrows, traj, k, r)
        for arrows in self.runs[len(entries):]:
            arrows.hide()
        self._update_legend()

    def _draw(self, arrows: RunArrows, traj, k: int, r: int) -> None:
        try:
            v = step_vectors(traj, k, r)
        except (IndexError, KeyError, ValueError):
            v = None
        arrows.vectors = v
        if v is None:
            arrows.hide()
            return
        o = self.options
        if self.dim == 2:
            w = v.position
            self._place(arrows.gradient, o["gradient_step"], w, w + v.gradient_step)
            self._place(arrows.step, o["actual_step"], w, w + v.actual_step)
            mom = v.momentum_step
            self._place(arrows.momentum, o["momentum"] and mom is not None, w,
                        w + (mom if mom is not None else 0))
            comps = o["components"] and v.adaptive
            gs, st = v.gradient_step, v.actual_step
            self._place(arrows.gradient_x, comps, w, w + [gs[0], 0.0])
            self._place(arrows.gradient_y, comps, w, w + [0.0, gs[1]])
            self._place(arrows.step_x, comps, w, w + [st[0], 0.0])
            self._place(arrows.step_y, comps, w, w + [0.0, st[1]])
            _clear(arrows.tangent)
            ring = rescaling_ellipse(v) if o["ellipse"] and v.adaptive else None
            if ring is None:
                _clear(arrows.ellipse)
            else:
                _show(arrows.ellipse, *ring)
        else:
            x, y = float(v.position[0]), v.loss
            self._place(arrows.gradient, o["gradient_step"], [x, y], [x + v.gradient_step[0], y])
            self._place(arrows.step, o["actual_step"], [x, y], [x + v.actual_step[0], y])
            mom = v.momentum_step
            self._place(arrows.momentum, o["momentum"] and mom is not None, [x, y],
                        [x + (float(mom[0]) if mom is not None else 0.0), y])
            for a in (arrows.gradient_x, arrows.gradient_y, arrows.step_x, arrows.step_y):
                a.hide()
            _clear(arrows.ellipse)
            if o["tangent"] and np.isfinite(v.gradient[0]) and np.isfinite(y):
                span = self._view[0][1] - self._view[0][0] if self._view else 2.0
                h = 0.12 * span
                xs = np.array([x - h, x + h])
                _show(arrows.tangent, xs, y + v.gradient[0] * (xs - x))
            else:
                _clear(arrows.tangent)

    def _place(self, arrow: Arrow, on: bool, base, tip) -> None:
        if on:
            arrow._visible = True
            arrow.set(base, tip, self._screen)
        else:
            arrow.hide()

    def _reorient(self, *_args) -> None:
        screen = screen_scale(self.plot)
        for arrows in self.runs:
            for a in arrows.arrows():
                a.orient(screen)

    def _update_legend(self) -> None:
        rows = []
        v = self.runs[0].vectors if self.runs and self._entries else None
        if v is not None:
            def row(colour: str, text: str, dashed: bool = False) -> str:
                mark = "- - ▶" if dashed else "—▶"
                return (f"<span style='color:{colour}; font-weight:bold'>{mark}</span> "
                        f"<span style='color:#202020'>{text}</span>")
            if self.options["gradient_step"]:
                rows.append(row(GRADIENT_COLOUR, "−α·∇f: where plain gradient "
                                                 "descent would step"))
            if self.options["momentum"] and v.momentum_step is not None:
                rows.append(row(MOMENTUM_COLOUR, "the part of the step that momentum adds"))
            if self.options["actual_step"]:
                rows.append(row(self.runs[0].colour, "the step this optimizer takes next"))
            if self.options["components"] and v.adaptive and self.dim == 2:
                rows.append(row(self.runs[0].colour, "its x and y parts: each coordinate "
                                                     "rescaled on its own", dashed=True))
            if self.options["ellipse"] and v.adaptive and self.dim == 2:
                rows.append(f"<span style='color:{self.runs[0].colour}; font-weight:bold'>"
                            "( )</span> <span style='color:#202020'>its steps for a direction "
                            "this long, turned every way</span>")
        page = (f"<div style='font-size:{self.key_pt:g}pt'>" + "<br>".join(rows) + "</div>"
                if rows else "")
        if page == self._legend_html and self.legend.isVisible() == bool(page):
            return  # (placed again when the view or the runs' legend moves: see __init__)
        if page != self._legend_html:
            self._legend_html = page
            if page:
                self.legend.setHtml(page)
                self._key_spot = None  # its size changed
        self.legend.setVisible(bool(page))
        self._place_legend()

    def _place_legend(self, *_args) -> None:
        """Put the key in the first free corner of the view, bottom-left first: never
        over the runs' legend (the plot's LegendItem, which moves to the emptiest
        corner); when no corner is free, stacked next to that legend."""
        if not self.legend.isVisible():
            return
        vb = self.plot.getViewBox()
        w, h = vb.width(), vb.height()
        size = self.legend.boundingRect()
        kw, kh = size.width(), size.height()
        runs = getattr(self.plot, "legend", None)
        taken = None
        if runs is not None and runs.isVisible() and runs.parentItem() is vb \
                and runs.boundingRect().width() > 0:
            taken = runs.mapRectToParent(runs.boundingRect()).adjusted(-4, -4, 4, 4)
        m = 8.0
        # (anchor x, anchor y, position) of each candidate, in the view's pixels
        spots = [(0, 1, m, h - m), (1, 1, w - m, h - m), (0, 0, m, m), (1, 0, w - m, m)]
        if taken is not None:
            right = taken.center().x() > w / 2
            ax, x = (1, w - m) if right else (0, m)
            if taken.center().y() > h / 2:  # the legend at the bottom: the key above it
                spots.append((ax, 1, x, taken.top() - 2))
            else:
                spots.append((ax, 0, x, taken.bottom() + 2))
        for ax, ay, x, y in spots:
            rect = QtCore.QRectF(x - ax * kw, y - ay * kh, kw, kh)
            if taken is None or not rect.intersects(taken):
                break
        if (ax, ay, x, y) != self._key_spot:  # unchanged: no re-layout while playing
            self._key_spot = (ax, ay, x, y)
            self.legend.setAnchor((ax, ay))
            self.legend.setPos(x, y)

    def legend_text(self) -> str:
        """The arrows' key as plain text."""
        return self.legend.textItem.toPlainText() if self.legend.isVisible() else ""

    def clear(self) -> None:
        self._entries = []
        for arrows in self.runs:
            arrows.hide()
        self.legend.setVisible(False)
