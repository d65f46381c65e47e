"""What the step is made of, drawn on the loss plot (pyqtgraph items, created once).

At the shown point of a run, arrows for the *next* step (pressing Right moves the
ball to the tip of the "step taken" arrow):

* the plain gradient step −α·∇f (where vanilla gradient descent would go); with
  gradient clipping, on a step where it acts, two: the clipped one −α·clip(∇f)
  (solid: what the optimizer is given) and the raw one (faint, dashed);
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
from .compute import READABLE_ARROW_PX, arrow_scale, scale_label
from .items import LegendPlacer, segment_span
from .lines import ScreenScale, Shaft, pixel_of, screen_scale

GRADIENT_COLOUR = "#303030"
#: the gradient step before clipping (drawn faint and dashed beside the clipped one)
RAW_GRADIENT_COLOUR = "#8a8a8a"
MOMENTUM_COLOUR = "#7B3294"
HEAD_PX = 14
FIELD_GRID = 17
#: arrows that leave the view stop this many pixels inside its edge
CLIP_INSET_PX = 10.0



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
    #: with gradient clipping that acts on this step: the gradient after clipping
    #: (``gradient`` is the one before) and the plain step of the one before,
    #: −α·∇f (``gradient_step`` is then −α·clip(∇f)); None when clipping did not act
    clipped_gradient: np.ndarray | None = None
    raw_gradient_step: np.ndarray | None = None


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
    # the gradient the next step will use (with gradient noise: the noisy one, already
    # drawn), and what clipping makes of it (the optimizer is given that)
    used = getattr(trajectory, "gradient_used", trajectory.gradient_at)
    raw = np.asarray(used(k), dtype=np.float64)
    clip = getattr(trajectory, "clip", None)
    if clip is not None:
        grads, acted = clip.apply(raw)
        grads = np.asarray(grads, dtype=np.float64)
    else:
        grads, acted = raw, np.zeros(len(raw), dtype=bool)
    state = trajectory.state_at(k)
    with np.errstate(all="ignore"):
        if k < trajectory.steps and not (0 <= d <= k + 1):
            info = trajectory.explain(k + 1)
        else:
            _, _, info = opt.step_with_info(pos, grads, state,
                                            closure=getattr(trajectory, "closure", None))
        momentum = None
        if has_momentum(opt):
            zeroed = state._replace(**{f: np.zeros_like(getattr(state, f))
                                       for f in opt.traits.momentum_fields})
            _, _, plain = opt.step_with_info(pos, grads, zeroed,
                                             closure=getattr(trajectory, "closure", None))
            momentum = (info["update"] - plain["update"])[run]
    lr = float(opt.value("lr", run))
    if getattr(trajectory, "schedule", None) is not None:  # the lr of the next step
        try:
            lr = float(trajectory.lr_at(k + 1)[run])
        except (IndexError, ValueError):
            pass
    g = grads[run]
    eff = np.asarray(info.get("effective_lr", np.full_like(pos, lr)), dtype=np.float64)[run]
    direction = info.get("direction")
    clipped = bool(acted[run])
    return StepVectors(k, pos[run], float(trajectory.losses[k, run]), raw[run], lr, -lr * g,
                       np.asarray(info["update"][run], dtype=np.float64), momentum, eff,
                       opt.traits.rescales,
                       None if direction is None else np.asarray(direction[run], dtype=np.float64),
                       g.copy() if clipped else None, -lr * raw[run] if clipped else None)


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
        #: a second head behind the first: the arrow goes on beyond the view
        self.more = pg.ArrowItem(angle=0, headLen=head * 0.8, tipAngle=32, tailLen=None,
                                 pen=pg.mkPen(colour, width=1), brush=pg.mkBrush(colour))
        self.line.setZValue(z)
        self.head.setZValue(z + 1)
        self.more.setZValue(z + 1)
        self.more.setVisible(False)
        plot.addItem(self.line, ignoreBounds=True)
        plot.addItem(self.head)
        plot.addItem(self.more)
        #: whether the arrow was cut at the view's edge (it continues beyond)
        self.clipped = False
        #: (base x, base y, tip x, tip y) as drawn (None: hidden)
        self._ends: tuple[float, float, float, float] | None = None
        self._visible = True
        self._angle: float | None = None
        self._hidden = False
        self.hide()

    def set(self, base: Sequence[float], tip: Sequence[float],
            screen: ScreenScale | None = None, clipped: bool = False) -> None:
        """Draw from ``base`` to ``tip`` (view units). ``screen``: the view's
        :func:`screen_scale`, when the caller has it for several arrows; ``clipped``:
        the arrow was cut at the view's edge (a second head says it goes on)."""
        ends = (float(base[0]), float(base[1]), float(tip[0]), float(tip[1]))
        if not all(map(math.isfinite, ends)):
            self.hide()
            return
        self._hidden = False
        if clipped != self.clipped:
            self.clipped = clipped
            self._angle = None  # the second head is placed by orient
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
        length = math.hypot(sx, sy)
        if length < 1.0:  # shorter than a pixel: no direction to show
            self.head.setVisible(False)
            self.more.setVisible(False)
            return
        angle = math.degrees(math.atan2(-sy, -sx))
        if angle != self._angle:  # the head, made at angle 0, is turned (setStyle(angle=)
            self._angle = angle   # rebuilt its path: ~0.2 ms an arrow a frame)
            self.head.setRotation(angle)
            if self.clipped:
                back = min(0.8 * HEAD_PX, 0.5 * length) / length
                self.more.setPos(tx - back * dx, ty - back * dy)
                self.more.setRotation(angle)
        self.head.setVisible(self._visible)
        self.more.setVisible(self._visible and self.clipped)

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
        self.more.setVisible(False)

    def set_shown(self, shown: bool) -> None:
        self._visible = shown
        if not shown:
            self.line.setVisible(False)
            self.head.setVisible(False)
            self.more.setVisible(False)
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
        return [self.line, self.head, self.more]

    def remove(self) -> None:
        for item in self.items():
            self.plot.removeItem(item)


class RunArrows:
    """The arrows of one run: gradient step, momentum part, step taken, components,
    and (1D) the tangent."""

    def __init__(self, plot: pg.PlotItem, colour: str) -> None:
        self.colour = colour
        self.gradient = Arrow(plot, GRADIENT_COLOUR, 3.0, z=52, name="gradient")
        #: the gradient step before clipping, where clipping acts (faint, dashed)
        self.raw_gradient = Arrow(plot, RAW_GRADIENT_COLOUR, 2.5, dashed=True, head=12, z=51.5,
                                  name="raw gradient")
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
        #: the factor the arrows are drawn longer than the step by (1: true length)
        self.factor = 1.0

    def arrows(self) -> list[Arrow]:
        return [self.gradient, self.raw_gradient, self.momentum, self.step, self.gradient_x,
                self.gradient_y, self.step_x, self.step_y]

    def set_colour(self, colour: str) -> None:
        if colour == self.colour:
            return
        self.colour = colour
        for a in (self.step, self.step_x, self.step_y):
            a.line.setPen(_pen(colour, a.line.pen().widthF(),
                               a.line.pen().style() == QtCore.Qt.PenStyle.DashLine))
            for head in (a.head, a.more):
                head.setStyle(pen=pg.mkPen(colour, width=1), brush=pg.mkBrush(colour))
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
               "tangent", "inner")

    def __init__(self, plot: pg.PlotItem) -> None:
        super().__init__()
        self.plot = plot
        self.options = {"gradient_step": True, "momentum": True, "actual_step": True,
                        "components": True, "ellipse": False, "field": False, "tangent": True,
                        "inner": True}
        self.dim = 2
        self.runs: list[RunArrows] = []
        self.field = pg.PlotCurveItem(connect="pairs", pen=pg.mkPen((60, 60, 60, 70), width=1.2))
        self.field.setZValue(-5)
        self.field.setVisible(False)
        plot.addItem(self.field)
        self._field_key = None
        #: the shown step's inner points (optimizers that evaluate the loss themselves:
        #: L-BFGS's inner iterates, the line search's trial points), small dots
        self.inner = InnerPoints(plot)
        self._function: LossFunction | None = None
        self._view = None
        self._entries: list = []
        self._screen: ScreenScale | None = None
        # a key to the arrows (one text item), placed with the runs' legend where it
        # covers no data (see LegendPlacer)
        self.legend = pg.TextItem(anchor=(0, 0), fill=pg.mkBrush(255, 255, 255, 220),
                                  border=pg.mkPen("#888888"))
        self.legend.setParentItem(plot.getViewBox())
        self.legend.setZValue(100)
        self.legend.setVisible(False)
        # room kept for a row or two and a longer scale, so the key stays put while
        # playing as its scale or "goes on beyond the view" row comes and goes
        self.legend.reserve = (30.0, 34.0)
        self._legend_html = ""
        #: the key's text size in points (set_scale changes it)
        self.key_pt = 10.0
        #: arrows shorter than this many pixels are drawn longer, by one stated factor
        self.readable_px = READABLE_ARROW_PX
        #: the shown range's box arrows are clipped to (lo, hi), per refresh
        self._box: tuple[tuple[float, float], tuple[float, float]] | None = None
        self.placer = LegendPlacer.of(plot)
        self.placer.add_box(self.legend)
        self.placer.add_source(self.drawn_arrows)
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
        if self._box is None:
            self._frame()
        else:  # (the box is worked out again when the view changes: see _reorient)
            self._screen = screen_scale(self.plot)
        while len(self.runs) < len(entries):
            self.runs.append(RunArrows(self.plot, "#000000"))
        for arrows, entry in zip(self.runs, entries, strict=False):
            traj, k, r, colour = entry
            arrows.set_colour(colour)
            try:
                arrows.vectors = step_vectors(traj, k, r)
            except (IndexError, KeyError, ValueError):
                arrows.vectors = None
            self._layout(arrows)
        for arrows in self.runs[len(entries):]:
            arrows.hide()
        self.inner.show(entries if self.options["inner"] else [], self._function)
        self._update_legend()

    def _frame(self) -> None:
        """The view's screen scale and the box arrows are clipped to, for this
        refresh's arrows (one Qt call for all)."""
        self._screen = screen_scale(self.plot)
        (x0, x1), (y0, y1) = self.plot.getViewBox().viewRange()
        px, py = pixel_of(self._screen)
        ix, iy = CLIP_INSET_PX * px, CLIP_INSET_PX * py
        if x1 - x0 > 2 * ix and y1 - y0 > 2 * iy:
            x0, x1, y0, y1 = x0 + ix, x1 - ix, y0 + iy, y1 - iy
        self._box = ((float(x0), float(y0)), (float(x1), float(y1)))

    def _pixels(self, d) -> float:
        """How long the vector ``d`` (view units) is on screen, in pixels."""
        if self._screen is None:
            return math.nan
        m11, m12, m21, m22 = self._screen
        return math.hypot(m11 * d[0] + m21 * d[1], m12 * d[0] + m22 * d[1])

    def _layout(self, arrows: RunArrows) -> None:
        """Draw ``arrows.vectors``: every arrow of the step longer by one factor when
        the step (or momentum's part) is too short to read, clipped to the view."""
        v = arrows.vectors
        if v is None:
            arrows.hide()
            return
        o = self.options
        mom = v.momentum_step
        raw = v.raw_gradient_step
        if self.dim == 2:
            w = v.position
            gs, st = v.gradient_step, v.actual_step
            mv = mom
        else:  # horizontal arrows on the curve, at the loss
            w = np.array([float(v.position[0]), v.loss])
            gs = np.array([float(v.gradient_step[0]), 0.0])
            st = np.array([float(v.actual_step[0]), 0.0])
            mv = None if mom is None else np.array([float(mom[0]), 0.0])
            raw = None if raw is None else np.array([float(raw[0]), 0.0])
        lengths = []
        if o["actual_step"]:
            lengths.append(self._pixels(st))
        if o["momentum"] and mv is not None:
            lengths.append(self._pixels(mv))
        if not lengths and o["gradient_step"]:
            lengths.append(self._pixels(gs))
        f = arrow_scale(lengths, self.readable_px) if self.readable_px > 0 else 1.0
        arrows.factor = f
        self._place(arrows.gradient, o["gradient_step"], w, w + f * gs)
        # (by the same factor: the raw step is the longer, often beyond the view)
        self._place(arrows.raw_gradient, o["gradient_step"] and raw is not None, w,
                    w + f * (raw if raw is not None else 0.0))
        self._place(arrows.step, o["actual_step"], w, w + f * st)
        self._place(arrows.momentum, o["momentum"] and mv is not None, w,
                    w + f * (mv if mv is not None else 0.0))
        if self.dim == 2:
            comps = o["components"] and v.adaptive
            self._place(arrows.gradient_x, comps, w, w + f * np.array([gs[0], 0.0]))
            self._place(arrows.gradient_y, comps, w, w + f * np.array([0.0, gs[1]]))
            self._place(arrows.step_x, comps, w, w + f * np.array([st[0], 0.0]))
            self._place(arrows.step_y, comps, w, w + f * np.array([0.0, st[1]]))
            _clear(arrows.tangent)
            ring = rescaling_ellipse(v) if o["ellipse"] and v.adaptive else None
            if ring is None:
                _clear(arrows.ellipse)
            else:
                _show(arrows.ellipse, w[0] + f * (ring[0] - w[0]), w[1] + f * (ring[1] - w[1]))
        else:
            for a in (arrows.gradient_x, arrows.gradient_y, arrows.step_x, arrows.step_y):
                a.hide()
            _clear(arrows.ellipse)
            x, y = float(w[0]), float(w[1])
            if o["tangent"] and np.isfinite(v.gradient[0]) and np.isfinite(y):
                span = self._view[0][1] - self._view[0][0] if self._view else 2.0
                h = 0.12 * span
                xs = np.array([x - h, x + h])
                _show(arrows.tangent, xs, y + v.gradient[0] * (xs - x))
            else:
                _clear(arrows.tangent)
        for a in (arrows.gradient, arrows.raw_gradient, arrows.momentum, arrows.step):
            if a.visible and a._ends is not None:  # the legends move off a new arrow
                bx, by, tx, ty = a._ends
                self.placer.check(((bx, by), (tx, ty)), joined=True)

    def _place(self, arrow: Arrow, on: bool, base, tip) -> None:
        if not on:
            arrow.hide()
            return
        base = np.asarray(base, dtype=np.float64)
        tip = np.asarray(tip, dtype=np.float64)
        clipped = False
        bx, by, tx, ty = float(base[0]), float(base[1]), float(tip[0]), float(tip[1])
        if self._box is not None and math.isfinite(bx + by + tx + ty):
            (x0, y0), (x1, y1) = self._box
            span = segment_span(bx, by, tx, ty, x0, y0, x1, y1)
            if span is None:  # wholly outside the view
                arrow.hide()
                return
            t0, t1 = span
            if t1 < 1.0 or t0 > 0.0:
                d = tip - base
                base, tip = base + t0 * d, base + t1 * d
                clipped = t1 < 1.0
        arrow._visible = True
        arrow.set(base, tip, self._screen, clipped)

    def _reorient(self, *_args) -> None:
        """The view changed: the arrows are scaled and clipped for it again."""
        self._box = None
        if not any(a.vectors is not None for a in self.runs):
            return
        self._frame()
        for arrows in self.runs:
            if arrows.vectors is not None:
                self._layout(arrows)
        self._update_legend()

    def drawn_arrows(self) -> list[tuple[np.ndarray, bool]]:
        """The arrows as drawn (view units), for the legends to keep off."""
        out = []
        for arrows in self.runs:
            for a in arrows.arrows():
                if a.visible and a._ends is not None:
                    bx, by, tx, ty = a._ends
                    out.append((np.array([[bx, by], [tx, ty]]), True))
            xs, ys = arrows.ellipse.getData()
            if xs is not None and len(xs):
                out.append((np.column_stack([xs, ys]), True))
        return out

    def _update_legend(self) -> None:
        rows = []
        v = self.runs[0].vectors if self.runs and self._entries else None
        if v is not None:
            def row(colour: str, text: str, dashed: bool = False) -> str:
                mark = "- - ▶" if dashed else "—▶"
                return (f"<span style='color:{colour}; font-weight:bold'>{mark}</span> "
                        f"<span style='color:#202020'>{text}</span>")
            clipped = any(a.vectors is not None and a.vectors.raw_gradient_step is not None
                          for a in self.runs[: len(self._entries)])
            if self.options["gradient_step"] and clipped:  # clipping acts on this step
                rows.append(row(RAW_GRADIENT_COLOUR, "−α·∇f before clipping", dashed=True))
                rows.append(row(GRADIENT_COLOUR, "−α·clip(∇f): clipped gradient step"))
            elif self.options["gradient_step"]:
                rows.append(row(GRADIENT_COLOUR, "−α·∇f: plain gradient step"))
            if self.options["momentum"] and v.momentum_step is not None:
                rows.append(row(MOMENTUM_COLOUR, "momentum's part"))
            if self.options["actual_step"]:
                rows.append(row(self.runs[0].colour, "the step taken next"))
            if self.options["components"] and v.adaptive and self.dim == 2:
                rows.append(row(self.runs[0].colour, "x, y parts, each rescaled", dashed=True))
            if self.options["ellipse"] and v.adaptive and self.dim == 2:
                rows.append(f"<span style='color:{self.runs[0].colour}; font-weight:bold'>"
                            "( )</span> <span style='color:#202020'>its steps, turned every "
                            "way</span>")
            if self.inner.shown:
                rows.append(f"<span style='color:{self.runs[0].colour}; font-weight:bold'>"
                            "\u25cf</span> <span style='color:#202020'>inner iterates,</span> "
                            f"<span style='color:{self.runs[0].colour}'>\u25cb</span> "
                            f"<span style='color:#202020'>line-search trials "
                            f"(step {self.inner.step})</span>")
            factors = sorted({a.factor for a in self.runs[: len(self._entries)]
                              if a.vectors is not None and a.factor != 1.0})
            if factors:
                rows.append("<span style='color:#202020'><b>arrows drawn "
                            + ", ".join(scale_label(f) for f in factors)
                            + "</b> (too short to see)</span>")
            if any(a.clipped for arrows in self.runs[: len(self._entries)]
                   for a in arrows.arrows() if a.visible):
                rows.append(f"<span style='color:{GRADIENT_COLOUR}; font-weight:bold'>"
                            "—▶▶</span> <span style='color:#202020'>goes on beyond the "
                            "view</span>")
        page = (f"<div style='font-size:{self.key_pt:g}pt'>" + "<br>".join(rows) + "</div>"
                if rows else "")
        if page == self._legend_html and self.legend.isVisible() == bool(page):
            return
        scene = self.legend.scene()
        # where the key was: repainted after the change (a key that grew a row and
        # moved left its old last row on the window's screen)
        old = self.legend.sceneBoundingRect() if scene is not None and self.legend.isVisible() \
            else None
        if page != self._legend_html:
            self._legend_html = page
            if page:
                self.legend.setHtml(page)
        shown = self.legend.isVisible()
        self.legend.setVisible(bool(page))
        if page and shown:  # the text changed: placed again if it no longer fits
            self.placer.resized(self.legend)
        else:
            self.placer.place()
        if old is not None:
            scene.update(old.adjusted(-2, -2, 2, 2))

    def legend_text(self) -> str:
        """The arrows' key as plain text."""
        return self.legend.textItem.toPlainText() if self.legend.isVisible() else ""

    def clear(self) -> None:
        self._entries = []
        for arrows in self.runs:
            arrows.hide()
        self.inner.show([], None)
        self.legend.setVisible(False)


def inner_points(trajectory, k: int, run: int = 0) -> tuple[np.ndarray, np.ndarray,
                                                             np.ndarray] | None:
    """The inner points of step ``k`` (from position k−1 to k) of run ``run``: the
    positions (K, D), their losses (K,; NaN: not evaluated) and kinds (K,; 1: an
    inner iterate, 0: a line-search trial point), starting with position k−1 as an
    iterate. None if the optimizer records none (or there is no such step)."""
    opt = trajectory.optimizer
    if "inner_points" not in getattr(opt, "extra_info", ()) or not 1 <= k <= trajectory.steps:
        return None
    with np.errstate(all="ignore"):
        info = trajectory.explain(k)
    kinds = np.asarray(info["inner_kinds"][run], dtype=np.float64)
    keep = ~np.isnan(kinds)
    start = trajectory.positions[k - 1, run][None, :]
    pts = np.concatenate([start, np.asarray(info["inner_points"][run])[keep]])
    vals = np.concatenate([[trajectory.losses[k - 1, run]],
                           np.asarray(info["inner_values"][run])[keep]])
    return pts, vals, np.concatenate([[1.0], kinds[keep]])


class InnerPoints:
    """Small dots for the inner points of the shown step of each run shown (see
    :func:`inner_points`): filled for the inner iterates, joined by a dotted line
    from the step's start, hollow for the line search's trial points. In 1D they sit
    on the curve, at their loss."""

    SIZE = 10

    def __init__(self, plot: pg.PlotItem) -> None:
        self.path = pg.PlotCurveItem(connect="finite")
        self.iterates = pg.ScatterPlotItem(size=self.SIZE - 1, pxMode=True)
        self.trials = pg.ScatterPlotItem(size=self.SIZE, pxMode=True)
        for z, item in ((44, self.path), (46, self.trials), (47, self.iterates)):
            item.setZValue(z)
            plot.addItem(item, ignoreBounds=True)
        #: whether any point is drawn, and the step they belong to
        self.shown = False
        self.step = 0

    def show(self, entries: Sequence[tuple], fn: LossFunction | None) -> None:
        """The points of ``(trajectory, step, run, colour)`` entries (none: hidden)."""
        xs, ys, its, trs = [], [], [], []
        self.shown = False
        for traj, k, r, colour in entries:
            try:
                got = inner_points(traj, k, r)
            except (IndexError, KeyError, ValueError):
                got = None
            if got is None:
                continue
            pts, vals, kinds = got
            if pts.shape[1] == 1:  # 1D: on the curve
                y = vals.copy()
                if fn is not None and np.isnan(y).any():
                    with np.errstate(all="ignore"):
                        y[np.isnan(y)] = fn.value(pts[np.isnan(y)])
                pts = np.column_stack([pts[:, 0], y])
            ok = np.isfinite(pts).all(axis=1)
            path = pts[(kinds == 1) & ok]
            xs += [*path[:, 0], np.nan]
            ys += [*path[:, 1], np.nan]
            its += [{"pos": tuple(p), "brush": pg.mkBrush(colour), "pen": pg.mkPen("#202020")}
                    for p in path[1:]]
            trs += [{"pos": tuple(p), "brush": pg.mkBrush("#ffffff"),
                     "pen": pg.mkPen(colour, width=2)} for p in pts[(kinds == 0) & ok]]
            self.shown = self.shown or bool(len(its) or len(trs))
            self.step = k
        colour = entries[0][3] if entries else "#000000"
        self.path.setPen(pg.mkPen(colour, width=1.2, style=QtCore.Qt.PenStyle.DotLine))
        self.path.setData(np.array(xs, dtype=float), np.array(ys, dtype=float))
        self.iterates.setData(its)
        self.trials.setData(trs)

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        """The iterates and trial points drawn, (K, 2) each (for tests)."""
        def of(item: pg.ScatterPlotItem) -> np.ndarray:
            xs, ys = item.getData()
            return np.column_stack([xs, ys]) if xs is not None and len(xs) else np.empty((0, 2))
        return of(self.iterates), of(self.trials)
