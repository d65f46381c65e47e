"""The plots shared by the window and the exported pictures: the loss landscape
with the runs on it (:class:`LossPlot`) and loss against step (:class:`LossHistoryPlot`).

Every graphics item is created once and then only updated with ``setData``; the
landscape grid (:func:`optsim.render.compute.landscape`) is computed only when the
function or the view window changes. The view never follows the data, so a
diverging run cannot blow it up.
"""

from __future__ import annotations

import html
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from ..functions import LossFunction
from .compute import (
    GRID_MARGIN,
    MAX_DRAWN_POINTS,
    MAX_SYMBOL_POINTS,
    TITLE_CHARS,
    GrowingLosses,
    GrowingThinning,
    Landscape,
    RunStyle,
    View,
    as_view,
    clip_box,
    clip_rows,
    clip_segments,
    decimate,
    default_range,
    drop_subpixel,
    fit_range,
    grid_extent,
    landscape,
    legend_labels,
    legend_lines,
    new_pixel_mask,
    resample,
    tick_strings,
    title_text,
)
from .fans import BandItem, FanLayer, GrowingBand
from .items import (
    FixedScatter,
    LandscapeContours,
    LandscapeImage,
    LegendPlacer,
    PixelSize,
    RunItems,
    WholeRepaint,
    cosmetic_pen,
    fit_axis_width,
    label_placed_anew,
    landscape_colormap,
    move_marker,
    no_si_prefix,
    one_format,
    plain_axes,
    set_antialias,
    set_right_label_room,
    style_axes,
)
from .lines import StepLine
from .playback_layer import PlaybackLayer
from .theme import FONT_PT, LABEL_PT, LINE_PX, MARKER_PX, TEXT_COLOUR


class LossPlot(PixelSize, WholeRepaint, pg.PlotWidget):
    """The loss landscape (2D: heat map with contours; 1D: the curve) with the runs on it.

    ``clicked(x, y)`` is emitted, in plot coordinates, on a left click in the plot
    area (not at the end of a drag); in 1D ``y`` is meaningless.
    """

    clicked = QtCore.Signal(float, float)

    def __init__(self, parent: QtWidgets.QWidget | None = None, show_title: bool = True) -> None:
        # no context menus (each built a ViewBoxMenu at start-up, then was disabled)
        super().__init__(parent=parent, background="w", enableMenu=False,
                         axisItems=plain_axes())
        #: draw the function's name and formula above the plot (a Figure shows its own)
        self.show_title = show_title
        #: fonts, lines and markers are this many times their theme size (see set_scale)
        self.scale = 1.0
        self.function: LossFunction | None = None
        self.view: View | None = None
        self._runs: list[RunItems] = []
        #: runs of K > 1 rows: their rows' paths and points (see update_fan)
        self._fans: dict[int, tuple[pg.PlotDataItem, pg.ScatterPlotItem]] = {}
        #: the extra points some optimizers keep (Schedule-Free's x, Lookahead's slow
        #: weights): per run and point, a thin path and a hollow marker (see update_points)
        self._points: dict[tuple[int, str], tuple[pg.PlotDataItem, pg.ScatterPlotItem]] = {}
        #: per run, its trail's thinning while playing (see _thinned)
        self._thin: list[GrowingThinning] = []
        self._dim = 0
        #: while playing, trails are drawn plainly (see set_playing)
        self.playing = False
        #: the colour bar, when made, paints from a cache (see Figure.cache_axes)
        self.cached_axes = False
        #: per run, the last update_run arguments (to redraw when playback stops)
        self._shown: dict[int, tuple] = {}
        #: per run with a fan, the last update_fan arguments (likewise)
        self._fan_shown: dict[int, tuple] = {}
        #: (min, max) of the loss over the drawn window (2D) or the y range (1D)
        self.loss_range: tuple[float, float] | None = None
        #: the 2D function's landscape as drawn (None in 1D)
        self.landscape: Landscape | None = None
        self._lo = np.array([-np.inf, -np.inf])
        self._hi = np.array([np.inf, np.inf])
        #: the clip box as a key for the playback thinning (made once, not per frame)
        self._clip_key = (tuple(self._lo.tolist()), tuple(self._hi.tolist()))
        plot = self.getPlotItem()
        plot.setMenuEnabled(False)
        plot.disableAutoRange()
        self._watch_pixel_size()
        style_axes(plot, "x", "y")
        self.cmap = landscape_colormap()
        self.image = LandscapeImage(axisOrder="row-major")
        self.image.setColorMap(self.cmap)
        self.image.setZValue(-20)
        # a 1 px cosmetic pen: wider antialiased contours cost ~50 ms a frame
        self.contours = LandscapeContours(connect="pairs", antialias=True,
                                          pen=cosmetic_pen((40, 40, 40, 120), 1.0))
        self.contours.setZValue(-10)
        self.curve = pg.PlotDataItem(pen=cosmetic_pen("#333333", 3.0), antialias=True)
        self.curve.curve.setSegmentedLineMode("on")
        self.curve.setZValue(-10)
        self.minima = FixedScatter(symbol="star", size=22, brush=pg.mkBrush("w"),
                                   antialias=True, pen=pg.mkPen("k", width=1.5))
        self.minima.setZValue(40)
        self.start_marker = FixedScatter(symbol="s", size=13, brush=pg.mkBrush("w"),
                                         antialias=True, pen=pg.mkPen("k", width=2))
        self.start_marker.setZValue(35)
        for item in (self.image, self.contours, self.curve, self.minima, self.start_marker):
            plot.addItem(item)
        #: while playing in 2D, every run's trail and marker in one item (see set_playing)
        self.layer = PlaybackLayer(marker_px=MARKER_PX)
        self.layer.setZValue(25)
        self.layer.setVisible(False)
        self._layer_on = False
        #: paint static items from a cache (the window's plot; see cache_static_items)
        self._cache_static = False
        plot.addItem(self.layer, ignoreBounds=True)
        #: while playing in 2D, every run's fan of rows in one item (see update_fan)
        self.fan_layer = FanLayer(self._clipped, dot_px=max(4, round(MARKER_PX * 0.45)))
        self.fan_layer.setZValue(24)
        self.fan_layer.setVisible(False)
        #: per run with a fan: (source, shown steps, clip box) of what the fan layer has
        self._fan_source: dict[int, tuple] = {}
        plot.addItem(self.fan_layer, ignoreBounds=True)
        self.colorbar: pg.ColorBarItem | None = None
        self.legend = plot.addLegend(offset=(-10, 10), labelTextSize=f"{FONT_PT}pt",
                                     brush=pg.mkBrush(255, 255, 255, 215),
                                     pen=pg.mkPen("#888888"), labelTextColor=TEXT_COLOUR)
        self.legend.setZValue(100)
        # its samples then carry the legend's clip: Qt's SVG writer otherwise gives each
        # sample the clip of the label drawn before it, hiding it
        self.legend.setFlag(QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape)
        #: puts the legend (and the step arrows' key) where it covers no drawn data
        self.placer = LegendPlacer.of(plot)
        self.placer.add_box(self.legend)
        self.placer.add_source(self.drawn_data)
        #: draw x and y to one scale (a circle stays round), for 2D functions
        self.aspect_locked = True
        #: the view is the default one (no pan or zoom since): it follows the starts
        self._auto_view = True
        vb = plot.getViewBox()
        vb.sigRangeChangedManually.connect(self._view_moved_by_user)
        self._repaint_whole_on_relayout()
        # the landscape grid grows (after a pause) when more than it covers is shown
        self._extent_timer = QtCore.QTimer(self)
        self._extent_timer.setSingleShot(True)
        self._extent_timer.setInterval(150)
        self._extent_timer.timeout.connect(self._ensure_extent)
        vb.sigRangeChanged.connect(lambda *_: self._extent_timer.start())
        #: per run (and "start"), the start the default view was made for
        self._shown_starts: dict = {}
        self._follow_timer = QtCore.QTimer(self)
        self._follow_timer.setSingleShot(True)
        self._follow_timer.setInterval(0)
        self._follow_timer.timeout.connect(self._follow_starts)
        self._place_timer = QtCore.QTimer(self)
        self._place_timer.setSingleShot(True)
        self._place_timer.setInterval(0)
        self._place_timer.timeout.connect(self._place_later)
        #: the placer's count of placings when one was last asked for (see request_placing)
        self._placing_asked = 0
        self.scene().sigMouseClicked.connect(self._on_click)

    # -- the function ---------------------------------------------------------
    def set_function(self, fn: LossFunction, view: View | None = None) -> None:
        """Draw ``fn`` over ``view`` (default: its own view window) and reset the view."""
        view = as_view(view or fn.view)
        changed = fn is not self.function or view != self.view or fn.dim != self._dim
        self.function, self.view = fn, view
        if fn.dim != self._dim:
            self._set_dim(fn.dim)
        lo, hi = clip_box(view)
        self._lo, self._hi = lo, hi
        self._clip_key = (tuple(lo.tolist()), tuple(hi.tolist()))
        self.getPlotItem().getViewBox().setLimits(xMin=lo[0], xMax=hi[0], yMin=lo[1], yMax=hi[1])
        if changed:
            if fn.dim == 2:
                self._draw_landscape(fn, view)
            else:
                self._draw_curve(fn, view)
        self._show_title()
        self.reset_view()

    def _show_title(self) -> None:
        if self.show_title and self.function is not None:
            self.getPlotItem().setTitle(html.escape(title_text(self.function, TITLE_CHARS)),
                                        size=f"{LABEL_PT * self.scale:g}pt", color=TEXT_COLOUR)

    def set_scale(self, scale: float) -> None:
        """Draw fonts, lines and markers ``scale`` times their theme size (the
        window's presentation mode: 1.6); the runs are drawn again at once."""
        scale = float(scale)
        if scale == self.scale:
            return
        self.scale = scale
        plot = self.getPlotItem()
        style_axes(plot, "x", "loss" if self._dim == 1 else "y", scale)
        self._fit_right_room()
        self._show_title()
        self.legend.opts["labelTextSize"] = f"{FONT_PT * scale:g}pt"
        self.minima.setSize(22 * scale)
        self.minima.setPen(pg.mkPen("k", width=1.5 * scale))
        self.start_marker.setSize(13 * scale)
        self.start_marker.setPen(pg.mkPen("k", width=2 * scale))
        self.layer.marker_px = MARKER_PX * scale
        self.fan_layer.dot_px = max(4, round(MARKER_PX * 0.45 * scale))
        if self.colorbar is not None and self.landscape is not None:
            land = self.landscape
            self._update_colorbar(land.vmin, land.vmax, land.log, land.zmin)
        shown, fans = dict(self._shown), dict(self._fan_shown)
        self.set_runs([r.style for r in self._runs])
        for i, args in shown.items():
            if i < len(self._runs):
                self.update_run(i, *args)
        for i, args in fans.items():  # (the fans too: made again at the new size)
            if i < len(self._runs):
                self.update_fan(i, *args)

    def _fit_right_room(self) -> None:
        """Room right of the plot for an x label on its right edge only without a
        colour bar there (1D), which leaves that room already."""
        bar = self.colorbar is not None and self.colorbar.isVisibleTo(self.getPlotItem())
        set_right_label_room(self.getPlotItem(), not bar)

    def _set_dim(self, dim: int) -> None:
        self._dim = dim
        self.getPlotItem().getViewBox().setAspectLocked(self.aspect_locked and dim == 2, 1.0)
        self.image.setVisible(dim == 2)
        self.contours.setVisible(dim == 2)
        self.curve.setVisible(dim == 1)
        self.getPlotItem().getAxis("left").setLabel("y" if dim == 2 else "loss")
        if self.colorbar is not None:
            self.colorbar.setVisible(dim == 2)
        self._fit_right_room()
        if self._runs:  # run items differ between 1D and 2D
            self.set_runs([r.style for r in self._runs])

    def _draw_landscape(self, fn: LossFunction, view: View, extent: View | None = None) -> None:
        land = landscape(fn, view, extent=extent)
        self.landscape = land
        self.loss_range = land.loss_range
        self.image.setImage(land.values, levels=(land.vmin, land.vmax), autoLevels=False)
        self.image.setRect(QtCore.QRectF(*land.rect))
        self.contours.setData(land.contour_x, land.contour_y, connect="pairs")
        self._update_colorbar(land.vmin, land.vmax, land.log, land.zmin)
        self.minima.setData(pos=land.minima)

    def _update_colorbar(self, vmin: float, vmax: float, log: bool, zmin: float) -> None:
        plot = self.getPlotItem()
        if self.colorbar is None:
            self.colorbar = pg.ColorBarItem(values=(vmin, vmax), colorMap=self.cmap,
                                            interactive=False, width=18)
            self.colorbar.setImageItem(self.image, insert_in=plot)
            self.colorbar.geometryChanged.connect(self._repaint_after_relayout)
            axis = self.colorbar.getAxis("right")
            axis.setTextPen(pg.mkPen(TEXT_COLOUR))
            axis.setPen(pg.mkPen(TEXT_COLOUR))
            for entry in self.colorbar.axes.values():
                no_si_prefix(entry["item"])
            one_format(axis)
            label_placed_anew(axis)
            if self.cached_axes:
                self.colorbar.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.colorbar.setVisible(True)
        self._fit_right_room()
        self.colorbar.setLevels((vmin, vmax))
        axis = self.colorbar.getAxis("right")
        font = QtGui.QFont()
        font.setPointSizeF((FONT_PT - 1) * self.scale)
        if axis.style["tickFont"] is None or axis.style["tickFont"].pointSizeF() != font.pointSizeF():
            axis.setStyle(tickFont=font)
        label_pt = f"{FONT_PT * self.scale:g}pt"
        if log:
            exps = list(range(int(np.ceil(vmin)), int(np.floor(vmax)) + 1))
            if len(exps) > 7:
                exps = exps[:: int(np.ceil(len(exps) / 7))]
            # one format for every label (two significant digits: the bar is logarithmic)
            values = [float(f"{zmin + 10.0 ** t:.2g}") for t in exps]
            ticks = list(zip((float(t) for t in exps), tick_strings(values), strict=True))
            axis.setTicks([ticks])
            axis.setLabel("loss (log)", **{"font-size": label_pt, "color": TEXT_COLOUR})
            labels = [label for _, label in ticks]
        else:
            axis.setTicks(None)
            axis.setLabel("loss", **{"font-size": label_pt, "color": TEXT_COLOUR})
            labels = [text for spacing, values in axis.tickValues(vmin, vmax, 400)
                      for text in axis.tickStrings(values, 1.0, spacing)]
        fit_axis_width(axis, labels)

    def _draw_curve(self, fn: LossFunction, view: View) -> None:
        (x0, x1), _ = view
        m = (x1 - x0) * GRID_MARGIN
        xs = np.linspace(x0 - m, x1 + m, 1500)
        with np.errstate(all="ignore"):
            ys = np.asarray(fn.value(xs[:, None]), dtype=np.float64).reshape(-1)
        self.curve.setData(xs, self._clip1(ys), connect="finite")
        self.loss_range = (float(view[1][0]), float(view[1][1]))
        pts = [(m[0], v) for m, v in zip(fn.minima, fn.minimum_values, strict=False)]
        self.minima.setData(pos=np.array(pts, dtype=float).reshape(-1, 2))

    def _clip1(self, ys: np.ndarray) -> np.ndarray:
        return np.clip(ys, self._lo[1], self._hi[1])

    def set_aspect_locked(self, locked: bool) -> None:
        """Draw x and y to one scale (2D; the default) or let each fill the plot,
        then show the default view."""
        self.aspect_locked = bool(locked)
        self.getPlotItem().getViewBox().setAspectLocked(self.aspect_locked and self._dim == 2, 1.0)
        self.reset_view()

    def _view_moved_by_user(self, *_args) -> None:
        self._auto_view = False

    def default_range(self) -> View | None:
        """The range :meth:`reset_view` shows: the view window, grown so that the
        starts and the minima in it lie inside a margin."""
        if self.view is None:
            return None
        if self._dim != 2:  # the ball's start on the curve, off the border
            data = self.start_marker.data
            pts = np.column_stack([data["x"], data["y"]]).astype(float) if len(data) else ()
            return default_range(self.view, pts, margin=0.04)
        pts = [np.asarray(p, dtype=float).reshape(-1, 2) for p in self._starts().values()]
        if self.landscape is not None and len(self.landscape.minima):
            (x0, x1), (y0, y1) = self.view
            m = self.landscape.minima
            pts.append(m[(m[:, 0] >= x0) & (m[:, 0] <= x1) & (m[:, 1] >= y0) & (m[:, 1] <= y1)])
        return default_range(self.view, np.concatenate(pts) if pts else ())

    def _starts(self) -> dict:
        """The start marker's point and each shown run's first point (2D)."""
        out = {}
        data = self.start_marker.data
        if len(data):
            out["start"] = tuple(zip(data["x"].tolist(), data["y"].tolist(), strict=True))
        for i, (positions, _current, _losses) in self._shown.items():
            if i < len(self._runs) and self._runs[i].style.visible and len(positions):
                first = np.asarray(positions[0], dtype=float).reshape(-1)
                if len(first) == 2:
                    out[i] = (float(first[0]), float(first[1]))
        return out

    def _legends_follow(self, newest: np.ndarray) -> None:
        """A run was drawn anew: while playing, the legends move only when its newest
        points reach them (cheap, per frame); otherwise they are placed again once
        the runs are drawn (a step, a pause: the whole paths are looked at)."""
        if self.playing:
            self.placer.check(newest, joined=True)
        else:
            self.request_placing()

    def request_placing(self) -> None:
        """Place the legends from the event loop, unless they are placed before (by
        a reset of the view, a resize: with what is drawn now)."""
        self._placing_asked = self.placer.placings
        self._place_timer.start()

    def hold_placing(self) -> None:
        """Place no legend until :meth:`release_placing` (a window not shown yet:
        see :meth:`LegendPlacer.hold`)."""
        self.placer.hold()

    def release_placing(self) -> None:
        """Stop holding; legends asked to move meanwhile are placed from the event
        loop, after the view's pending updates (which may place them first)."""
        if self.placer.release(place=False):
            self.request_placing()

    def _follow_starts(self) -> None:
        """Starts changed while the view is the default one: show the new default
        (it keeps every start inside a margin)."""
        if self.getPlotItem() is None:  # (closed: a timer fired late)
            return
        if self._auto_view and self._starts() != self._shown_starts:
            self.reset_view()

    def reset_view(self) -> None:
        """Show the default view: the function's view window with the starts and the
        minima inside a margin, x and y to one scale unless unlocked; the legends go
        where they cover nothing (the view grows to make room if they must)."""
        rng = self.default_range()
        if rng is None:
            return
        self._show_range(rng, padding=0.0 if self._dim == 2 else 0.02)
        self._auto_view = True
        self._shown_starts = self._starts()

    def fit_to_paths(self) -> None:
        """Show the visible runs' paths (to the shown step) and their starts, with a
        margin, whole."""
        pts = [d for d, _ in self.drawn_data(runs_only=True)]
        rng = fit_range(np.concatenate(pts), self.view) if pts and self.view is not None else None
        if rng is None:
            self.reset_view()
            return
        self._show_range(rng, padding=0.0 if self._dim == 2 else 0.05)
        self._auto_view = False

    def _show_range(self, rng: View, padding: float) -> None:
        vb = self.getPlotItem().getViewBox()
        vb.setRange(xRange=rng[0], yRange=rng[1], padding=padding)
        vb.updateMatrix()
        self._ensure_extent()
        self.place_legend()

    def crop_to_view(self) -> None:
        """Cut the heat map and the contour lines to the shown range (for an SVG:
        viewers without clip paths, Qt's own among them, drew them over the axes).
        The next :meth:`set_function` or view change draws them whole again."""
        land = self.landscape
        if land is None or self._dim != 2:
            return
        vb = self.getPlotItem().getViewBox()
        vb.updateMatrix()
        (x0, x1), (y0, y1) = vb.viewRange()
        view = ((x0, x1), (y0, y1))
        self.image.setImage(resample(land, view), levels=(land.vmin, land.vmax), autoLevels=False)
        self.image.setRect(QtCore.QRectF(x0, y0, x1 - x0, y1 - y0))
        cx, cy = clip_segments(land.contour_x, land.contour_y, view)
        self.contours.setData(cx, cy, connect="pairs")

    def cover_view(self) -> None:
        """Extend the landscape to the whole shown range when it shows more than the
        landscape's grid (a locked aspect pads the view window along one axis); the
        colours stay those of the view window."""
        self._ensure_extent()

    def _ensure_extent(self) -> None:
        """Grow the landscape grid to the shown range when it shows more (a 1:1 plot
        in a wide window, a pan or a zoom out)."""
        land, fn = self.landscape, self.function
        if self.getPlotItem() is None:  # (closed: a timer fired late)
            return
        if land is None or fn is None or fn.dim != 2 or self._dim != 2 or self.view is None:
            return
        (x0, x1), (y0, y1) = self.getPlotItem().getViewBox().viewRange()
        if (x0 >= land.xs[0] and x1 <= land.xs[-1] and y0 >= land.ys[0] and y1 <= land.ys[-1]):
            return
        # no further than the clip box (a zoom far out shows the rest blank)
        lo, hi = self._lo, self._hi
        shown = ((max(x0, lo[0]), min(x1, hi[0])), (max(y0, lo[1]), min(y1, hi[1])))
        if not (shown[0][1] > shown[0][0] and shown[1][1] > shown[1][0]):
            return
        extent = grid_extent(self.view, shown)
        (vx0, vx1), (vy0, vy1) = self.view
        # at most 8 view sizes each way: a grid stays as fine as a plot can show
        extent = ((max(extent[0][0], vx0 - 8 * (vx1 - vx0)), min(extent[0][1], vx1 + 8 * (vx1 - vx0))),
                  (max(extent[1][0], vy0 - 8 * (vy1 - vy0)), min(extent[1][1], vy1 + 8 * (vy1 - vy0))))
        if (extent[0][0], extent[0][1], extent[1][0], extent[1][1]) == \
                (land.xs[0], land.xs[-1], land.ys[0], land.ys[-1]):
            return
        self._draw_landscape(fn, self.view, extent)

    def drawn_data(self, runs_only: bool = False) -> list[tuple[np.ndarray, bool]]:
        """What the plot draws, in view units, as (points (K, 2), joined as a line?):
        each visible run's path to its shown step, its start and current point, and
        (unless ``runs_only``) the minima, the start marker and the 1D curve. The
        legends keep off all of it."""
        out: list[tuple[np.ndarray, bool]] = []
        for i, (positions, current, losses) in self._shown.items():
            if i >= len(self._runs) or not self._runs[i].style.visible:
                continue
            pos = np.asarray(positions, dtype=np.float64)
            if pos.ndim == 1:
                pos = pos[:, None]
            k = len(pos) - 1 if current is None else min(int(current), len(pos) - 1)
            if k < 0:
                continue
            idx = decimate(k + 1, k)
            if self._dim == 2:
                pts = self._clipped(pos[: k + 1][idx])
            else:
                xs = pos[: k + 1, 0][idx]
                if losses is not None and len(losses) > k:
                    ys = np.asarray(losses, dtype=np.float64)[: k + 1][idx]
                else:
                    with np.errstate(all="ignore"):
                        ys = np.asarray(self.function.value(xs[:, None]), dtype=np.float64)
                pts = np.column_stack([xs, self._clip1(np.nan_to_num(ys, nan=self._hi[1]))])
            out.append((pts, self._dim == 2))
            out.append((pts[[0, -1]], False))
        if runs_only:
            return out
        for item in (self.minima, self.start_marker):
            data = item.data
            if len(data):
                out.append((np.column_stack([data["x"], data["y"]]).astype(float), False))
        if self._dim == 1:
            xs, ys = self.curve.getData()
            if xs is not None and len(xs):
                out.append((np.column_stack([xs, ys]), True))
        return out

    def _place_later(self) -> None:
        # (not closed since, and not placed since it was asked for)
        if self.getPlotItem() is not None and self.placer.placings == self._placing_asked:
            self.place_legend()

    def place_legend(self) -> bool:
        """Move the legend (and the keys that share its placer) to where they cover
        no drawn data, nearest a corner; returns whether that was possible."""
        return self.placer.place()

    def legend_rects(self) -> list[QtCore.QRectF]:
        """The legend's and the keys' rectangles in scene coordinates."""
        return [item.sceneBoundingRect() for item in self.placer.boxes if item.isVisible()
                and item.opacity() > 0 and item.boundingRect().width() > 0]

    def set_start_marker(self, point) -> None:
        """Mark the start point, or several: ``point`` (D,) or (N, D) (``None``
        hides the mark)."""
        if point is None:
            self.start_marker.setData(pos=np.empty((0, 2)))
            return
        p = np.asarray(point, dtype=float)
        p = p.reshape(-1, self._dim or p.shape[-1]) if p.ndim > 1 else p.reshape(1, -1)
        if self._dim == 1 and self.function is not None:
            with np.errstate(all="ignore"):
                y = np.asarray(self.function.value(p[:, :1]), dtype=float).reshape(-1)
            p = np.column_stack([p[:, 0], y])
        p = np.clip(p[:, :2], self._lo, self._hi)
        # each point once (a dict keeps the order; np.unique(axis=0) imports numpy.ma,
        # ~30 ms of the window's start-up)
        self.start_marker.setData(pos=np.array(list(dict.fromkeys(map(tuple, p.tolist()))),
                                               dtype=float).reshape(-1, 2))
        if self._auto_view:
            self._follow_timer.start()

    # -- runs -----------------------------------------------------------------
    def set_runs(self, styles: list[RunStyle]) -> None:
        """Create the items of the runs (replacing the previous runs' items)."""
        plot = self.getPlotItem()
        for run in self._runs:
            for item in run.items():
                plot.removeItem(item)
        for fan in (*self._fans.values(), *self._points.values()):
            for item in fan:
                plot.removeItem(item)
        for path, marker in self._points.values():
            plot.removeItem(path.casing)
            plot.removeItem(marker.disc)
        self._fans = {}
        self._fan_shown = {}
        self._points = {}
        self.legend.clear()
        self._runs = []
        self._shown = {}
        dim = self._dim or 2
        # each name whole, wrapped between its parts (or elided after one), apart
        labels = legend_labels([s.name for s in styles])
        for style, lines in zip(styles, labels, strict=True):
            run = RunItems(style, dim, self.scale)
            for item in run.items():
                plot.addItem(item)
            self.legend.addItem(run.marker if dim == 1 else run.trail,
                                "<br>".join(html.escape(line) for line in lines))
            for item in self.legend.items[-1]:  # its own clip (see the legend's flag above)
                item.setFlag(QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemClipsToShape)
                if self._cache_static:
                    item.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
            run.set_visible(style.visible)
            set_antialias(run.trail, not self.playing)
            self._runs.append(run)
        self.layer.set_runs([cosmetic_pen(s.colour, LINE_PX * self.scale) for s in styles],
                            [s.colour for s in styles])
        self.fan_layer.set_runs([s.colour for s in styles])
        self._fan_source = {}
        self._thin = [GrowingThinning() for _ in styles]
        for i, style in enumerate(styles):
            self.layer.set_visible(i, style.visible)
            self.fan_layer.set_visible(i, style.visible)
        self._use_layer(self.playing)
        if self.view is not None:
            self.place_legend()

    def run_items(self, i: int) -> RunItems:
        return self._runs[i]

    def cache_static_items(self) -> None:
        """Paint the landscape, the minima, the start marker and the legend from
        pixmaps kept until they change: the playback layer's lines span the plot, so
        every frame repaints whatever lies under them (for the window: exports draw
        them as vectors). The landscape keeps its own picture for one transform
        (:mod:`optsim.render.device_cache` says why not Qt's cache)."""
        self._cache_static = True
        self.image.keep_picture()
        self.contours.keep_picture()
        items = [self.minima, self.start_marker, self.legend]
        items += [part for row in self.legend.items for part in row]
        for item in items:
            item.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)

    def set_run_visible(self, i: int, visible: bool) -> None:
        run = self._runs[i]
        run.style = RunStyle(run.style.name, run.style.colour, bool(visible))
        run.set_visible(visible)
        self.layer.set_visible(i, visible)
        self.fan_layer.set_visible(i, visible)
        for item in self._fans.get(i, ()):
            item.setVisible(visible)
        for (j, _key), pair in self._points.items():
            if j == i:
                for item in (*pair, pair[0].casing, pair[1].disc):
                    item.setVisible(visible)

    def set_playing(self, playing: bool) -> None:
        """While playing, trails are drawn without antialiasing and without a dot per
        step, and in 2D all of them and their markers by one PlaybackLayer (the
        per-run items' setData and paint were most of a frame); stopped, they are
        drawn in full again at once, from the same points."""
        playing = bool(playing)
        if playing == self.playing:
            return
        self.playing = playing
        for run in self._runs:
            set_antialias(run.trail, not playing)
        for paths, _dots in self._fans.values():
            set_antialias(paths, not playing)
        self._use_layer(playing)
        for i, args in list(self._shown.items()):
            if i < len(self._runs):
                self.update_run(i, *args)
        for i, fan in list(self._fan_shown.items()):  # drawn by the other items now
            if i < len(self._runs):
                self.update_fan(i, *fan)

    def _use_layer(self, on: bool) -> None:
        on = on and self._dim == 2
        self._layer_on = on
        for run in self._runs:
            run.set_stood_in(on)
        self.layer.setVisible(on)
        self.fan_layer.setVisible(on)
        if not on:
            self.layer.clear()
            self.fan_layer.clear()
            self._fan_source = {}

    def update_run(self, i: int, positions: np.ndarray, current: int | None = None,
                   losses: np.ndarray | None = None, source: object = None) -> None:
        """Show run ``i`` at step ``current`` (default: the last of ``positions`` (K, D)).

        ``source`` (optional) names where the positions come from, e.g. the run's
        Trajectory: while it stays the same the positions may only grow at the end,
        and playback then thins just the new points."""
        run = self._runs[i]
        self._shown[i] = (positions, current, losses)
        pos = np.asarray(positions, dtype=np.float64)
        if pos.ndim == 1:
            pos = pos[:, None]
        k = len(pos) - 1 if current is None else int(current)
        if len(pos) == 0 or k < 0:
            run.trail.setData([], [])
            if run.casing is not None:
                run.casing.setData([], [])
            run.marker.setData(pos=np.empty((0, 2)))
            if self._layer_on:
                self.layer.set_line(i, None)
            if run.tangent is not None:
                run.tangent.setData([], [])
            return
        k = min(k, len(pos) - 1)
        shown = pos[: k + 1]
        if self._auto_view and self._dim == 2 and pos.shape[1] == 2:
            first = (float(pos[0, 0]), float(pos[0, 1]))
            if self._shown_starts.get(i) != first:  # a new start: the default view follows
                self._shown_starts[i] = first
                self._follow_timer.start()
        if self._layer_on and source is not None:
            pts = self._thinned(i, shown, source)
            self.layer.set_line(i, pts, grown=self._thin[i].grew)
            self.placer.check(pts[-1:])  # the legends move off a run that reaches them
            return
        idx = decimate(len(shown), k, MAX_SYMBOL_POINTS if self._dim == 1 else MAX_DRAWN_POINTS)
        if self._dim == 1:
            xs = shown[idx, 0]
            if losses is not None:
                ys = np.asarray(losses, dtype=np.float64)[: k + 1][idx]
            else:
                with np.errstate(all="ignore"):
                    ys = np.asarray(self.function.value(xs[:, None]), dtype=np.float64)
            xs = np.clip(np.nan_to_num(xs, nan=self._hi[0]), self._lo[0], self._hi[0])
            ys = self._clip1(np.nan_to_num(ys, nan=self._hi[1]))
            run.trail.setData(xs, ys)
            move_marker(run.marker, float(xs[-1]), float(ys[-1]))
            self._legends_follow(np.array([[xs[-1], ys[-1]]]))
            self._update_tangent(run, shown[k, 0])
        else:
            pts = self._clipped(shown[idx])
            dots = run.fixed_dots if run.fixed_dots is not None else len(pts) <= MAX_SYMBOL_POINTS
            symbol = "o" if dots and not self.playing else None
            if run.trail.opts["symbol"] != symbol:
                run.trail.setSymbol(symbol)
            if symbol is None:  # a plain line: what falls in one pixel draws as one point
                pts = drop_subpixel(pts, self.pixel_size())
            if self._layer_on:
                self.layer.set_line(i, pts)
                return
            run.trail.setData(pts[:, 0], pts[:, 1], skipFiniteCheck=True)
            run.casing.setData(pts[:, 0], pts[:, 1], skipFiniteCheck=True)
            move_marker(run.marker, float(pts[-1, 0]), float(pts[-1, 1]))
            self._legends_follow(pts[-2:])

    def update_bundle(self, i: int, paths: list[np.ndarray], current: int | None = None) -> None:
        """Show run ``i`` as many paths (one per start point, each (K, D) positions)
        drawn by the run's own few items: its trail item joins the points within
        each path only (a ``connect`` array), its marker item has one spot per path
        at step ``current`` (default: each path's last). For pictures of many start
        points: the cost grows with the points, not with the number of items
        (pyqtgraph's items and the legend cost O(items) each)."""
        run = self._runs[i]
        self._shown.pop(i, None)
        pieces = self._path_pieces(paths, current)
        if not pieces:
            run.trail.setData([], [])
            run.marker.setData(pos=np.empty((0, 2)))
            return
        pts, connect = _joined(pieces)
        if self._dim == 2:
            dots = run.fixed_dots if run.fixed_dots is not None else len(pts) <= MAX_SYMBOL_POINTS
            symbol = "o" if dots else None
            if run.trail.opts["symbol"] != symbol:
                run.trail.setSymbol(symbol)
        if len(pieces) > 4:  # many paths: see-through, where they crowd the colour deepens
            run.trail.setPen(bundle_pen(run.style.colour))
        run.trail.setData(pts[:, 0], pts[:, 1], connect=connect, skipFiniteCheck=True)
        # many markers: smaller, so that they do not hide the paths and each other
        size = MARKER_PX if len(pieces) <= 4 or self._dim == 1 else round(MARKER_PX * 0.6)
        run.marker.setData(pos=np.array([q[-1] for q in pieces]), size=size)

    def update_fan(self, i: int, rows: np.ndarray | None, current: int | None = None,
                   source: object = None) -> None:
        """Run ``i``'s K rows (``rows`` (steps, K, D): an ensemble's members or a fan
        of starts) as thin see-through paths in ONE item, with their points at step
        ``current`` in one scatter; the run's own trail and marker (update_run) show
        the rows' mean path. ``None`` (a run of one row) hides the fan.

        While playing in 2D the fans are drawn by the FanLayer instead, which adds
        only the new steps' segments to what it has drawn while ``source`` (e.g. the
        run's Trajectory) and the clip box stay the same."""
        if rows is None:
            self._fan_shown.pop(i, None)
            fan = self._fans.get(i)
            if fan is not None:
                fan[0].setData([], [])
                fan[1].setData(pos=np.empty((0, 2)))
            if self._fan_source.pop(i, None) is not None:
                self.fan_layer.set_fan(i, None)
            return
        rows = np.asarray(rows, dtype=np.float64)
        self._fan_shown[i] = (rows, current)
        if self._layer_on and rows.ndim == 3 and rows.shape[2] == 2:
            k = len(rows) - 1 if current is None else min(int(current), len(rows) - 1)
            shown = rows[: k + 1]
            before = self._fan_source.get(i)
            grown = source is not None and before is not None and before[0] is source \
                and before[2] == self._clip_key and before[1] <= len(shown)
            self._fan_source[i] = (source, len(shown), self._clip_key)
            self.fan_layer.set_fan(i, shown, grown=grown)
            fan = self._fans.get(i)
            if fan is not None and fan[0].isVisible():  # (shown again when stopped)
                for item in fan:
                    item.setVisible(False)
            return
        pieces = self._path_pieces([rows[:, r] for r in range(rows.shape[1])], current)
        paths, dots = self._fan_items(i)
        for item in (paths, dots):
            item.setVisible(self._runs[i].style.visible)
        if not pieces:
            paths.setData([], [])
            dots.setData(pos=np.empty((0, 2)))
            return
        pts, connect = _joined(pieces)
        paths.setData(pts[:, 0], pts[:, 1], connect=connect, skipFiniteCheck=True)
        dots.setData(pos=np.array([q[-1] for q in pieces]))

    def update_points(self, i: int, paths: dict[str, np.ndarray],
                      current: int | None = None, labels: dict[str, str] | None = None) -> None:
        """Run ``i``'s extra points (``paths``: key -> (steps, D) positions, e.g.
        Schedule-Free's averaged x): each a thin dashed path up to step ``current``
        and a hollow marker there, in the run's colour, under its own marker. A key
        not given is hidden."""
        for (j, key), (path, marker) in self._points.items():
            if j == i and key not in paths:
                path.setData([], [])
                path.casing.setData([], [])
                marker.setData(pos=np.empty((0, 2)))
                marker.disc.setData(pos=np.empty((0, 2)))
        for n, (key, positions) in enumerate(paths.items()):
            path, marker = self._point_items(i, key, n, (labels or {}).get(key, key))
            pieces = self._path_pieces([positions], current)
            if not pieces:
                path.setData([], [])
                path.casing.setData([], [])
                marker.setData(pos=np.empty((0, 2)))
                marker.disc.setData(pos=np.empty((0, 2)))
                continue
            pts = pieces[0]
            path.setData(pts[:, 0], pts[:, 1], skipFiniteCheck=True)
            path.casing.setData(pts[:, 0], pts[:, 1], skipFiniteCheck=True)
            marker.setData(pos=pts[-1:])
            marker.disc.setData(pos=pts[-1:])

    def _name_points(self) -> None:
        """The legend's entries of extra points: "averaged point x" alone when one
        run has that point, else each followed by its run's name (wrapped)."""
        runs_of: dict[str, int] = {}
        for _i, key in self._points:
            runs_of[key] = runs_of.get(key, 0) + 1
        samples = {id(marker): (i, key, marker) for (i, key), (_p, marker) in self._points.items()}
        for sample, label_item in self.legend.items:
            found = samples.get(id(sample.item))
            if found is None:
                continue
            i, key, marker = found
            text = marker.point_label
            if runs_of[key] > 1:
                text = f"{text}: {self._runs[i].style.name}"
            label_item.setText("<br>".join(html.escape(line) for line in legend_lines(text)))
        self.legend.updateSize()

    def point_items(self, i: int, key: str) -> tuple[pg.PlotDataItem, pg.ScatterPlotItem] | None:
        """Run ``i``'s items of its extra point ``key`` (path, marker), if drawn."""
        return self._points.get((i, key))

    def _point_items(self, i: int, key: str, n: int,
                     label: str) -> tuple[pg.PlotDataItem, pg.ScatterPlotItem]:
        pair = self._points.get((i, key))
        if pair is None:
            run = self._runs[i]
            colour = QtGui.QColor(run.style.colour)
            # above the trails (it is what one evaluates, often calmer than the steps):
            # dashes in the run's colour over a white casing, so they read on the trails
            casing = pg.PlotCurveItem(pen=cosmetic_pen("#ffffff", 4.5 * self.scale),
                                      antialias=True)
            casing.setZValue(run.trail.zValue() + 4)
            path = pg.PlotDataItem(pen=cosmetic_pen(colour, 2.5 * self.scale,
                                                    QtCore.Qt.PenStyle.DashLine),
                                   antialias=True)
            path.setZValue(run.trail.zValue() + 5)
            # hollow: a white disc with a dark edge (it reads on any colour) holding a
            # ring in the run's colour (a square for a second point)
            symbol = "os"[n % 2]
            disc = pg.ScatterPlotItem(size=round(MARKER_PX * 1.1 * self.scale), symbol=symbol,
                                      brush=pg.mkBrush("#ffffff"),
                                      pen=pg.mkPen("#202020", width=2 * self.scale),
                                      antialias=True)
            marker = pg.ScatterPlotItem(size=round(MARKER_PX * 0.6 * self.scale), symbol=symbol,
                                        brush=pg.mkBrush(None),
                                        pen=pg.mkPen(colour, width=3.5 * self.scale),
                                        antialias=True)
            # above the minima's stars: an average often ends on one
            disc.setZValue(self.minima.zValue() + 1)
            marker.setZValue(self.minima.zValue() + 2)
            marker.disc = disc
            path.casing = casing
            plot = self.getPlotItem()
            for item in (casing, path, disc, marker):
                item.setVisible(run.style.visible)
                plot.addItem(item)
            pair = self._points[(i, key)] = (path, marker)
            # the legend says what the hollow marker is (its ring in its run's colour)
            marker.point_label = label
            self.legend.addItem(marker, label)
            self._name_points()
            if self.view is not None:
                self.place_legend()
        return pair

    def fan_items(self, i: int) -> tuple[pg.PlotDataItem, pg.ScatterPlotItem] | None:
        """Run ``i``'s fan items (paths, current points), or None if it has none."""
        return self._fans.get(i)

    def _fan_items(self, i: int) -> tuple[pg.PlotDataItem, pg.ScatterPlotItem]:
        """Run ``i``'s fan items, made once (below its trail and marker)."""
        fan = self._fans.get(i)
        if fan is None:
            run = self._runs[i]
            colour = QtGui.QColor(run.style.colour)
            # one-pixel see-through lines: Qt draws wider antialiased ones of 64 paths
            # at ~40 ms an item; antialiased only when stopped
            colour.setAlpha(110)
            paths = pg.PlotDataItem(pen=cosmetic_pen(colour, 1.0), antialias=not self.playing)
            paths.curve.setSegmentedLineMode("on")
            paths.setZValue(run.trail.zValue() - 1)
            colour.setAlpha(170)
            dots = pg.ScatterPlotItem(size=max(4, round(MARKER_PX * 0.45 * self.scale)),
                                      pen=pg.mkPen(None), brush=pg.mkBrush(colour))
            dots.setZValue(run.marker.zValue() - 1)
            plot = self.getPlotItem()
            for item in (paths, dots):
                item.setVisible(run.style.visible)
                plot.addItem(item)
            fan = self._fans[i] = (paths, dots)
        return fan

    def _path_pieces(self, paths: Sequence[np.ndarray], current: int | None) -> list[np.ndarray]:
        """Each path up to step ``current`` (default: its last), decimated and
        clipped as drawn (in 1D: on the curve)."""
        pieces = []
        for p in paths:
            pos = np.asarray(p, dtype=np.float64)
            pos = pos.reshape(len(pos), -1)
            if not len(pos):
                continue
            k = len(pos) - 1 if current is None else min(int(current), len(pos) - 1)
            shown = pos[: k + 1][decimate(k + 1, k, MAX_DRAWN_POINTS)]
            if self._dim == 1:
                with np.errstate(all="ignore"):
                    ys = np.asarray(self.function.value(shown[:, :1]), dtype=np.float64)
                xs = np.clip(np.nan_to_num(shown[:, 0], nan=self._hi[0]), self._lo[0], self._hi[0])
                shown = np.column_stack([xs, self._clip1(np.nan_to_num(ys, nan=self._hi[1]))])
            else:
                shown = self._clipped(shown)
            pieces.append(shown)
        return pieces

    def _clipped(self, pts: np.ndarray) -> np.ndarray:
        """Positions as drawn: NaN to the right edge, everything into the clip box."""
        out = clip_rows(pts, self._lo, self._hi)
        nan = np.isnan(out)
        if nan.any():  # as np.nan_to_num(nan=hi_x) before the clip (rare: checked first)
            out = clip_rows(np.where(nan, self._hi[0], out), self._lo, self._hi)
        return out

    def _thinned(self, i: int, shown: np.ndarray, source: object) -> np.ndarray:
        """Run ``i``'s trail while playing: its points that start a new pixel, from
        the new points alone while ``source`` and the view stay the same."""
        pixel = self.pixel_size()
        key = (source, pixel, self._clip_key)
        return self._thin[i].points(key, len(shown), lambda a, b: self._clipped(shown[a:b]), pixel)

    def _update_tangent(self, run: RunItems, x: float) -> None:
        fn = self.function
        if fn is None or run.tangent is None:
            return
        with np.errstate(all="ignore"):
            y = float(fn.value(np.array([[x]]))[0])
            g = float(fn.gradient(np.array([[x]]))[0, 0])
        if not (np.isfinite(x) and np.isfinite(y) and np.isfinite(g)):
            run.tangent.setData([], [])
            return
        (x0, x1), _ = self.view
        h = (x1 - x0) * 0.12
        xs = np.array([x - h, x + h])
        ys = self._clip1(y + g * (xs - x))
        run.tangent.setData(np.clip(xs, self._lo[0], self._hi[0]), ys)

    # -- clicks ---------------------------------------------------------------
    def _on_click(self, ev) -> None:
        if ev.button() != QtCore.Qt.MouseButton.LeftButton or ev.double():
            return
        vb = self.getPlotItem().getViewBox()
        scene_pos = ev.scenePos()
        if not vb.sceneBoundingRect().contains(scene_pos):
            return
        if self.legend.isVisible() and self.legend.opacity() > 0 \
                and self.legend.sceneBoundingRect().contains(scene_pos):
            return
        p = vb.mapSceneToView(scene_pos)
        self.clicked.emit(float(p.x()), float(p.y()))


#: the loss history's step axis shows at least steps 0..MIN_STEP_RANGE, and while
#: playing at least 0..MIN_PLAYING_STEP_RANGE (its first frames would each widen it)
MIN_STEP_RANGE = 10.0
MIN_PLAYING_STEP_RANGE = 64.0
#: the widest tick label the loss axis shows (a log scale reaches 1e-300)
WIDEST_LOSS_LABEL = "1e-300"
#: a loss history less tall than this (pixels, times the scale) leaves out the step
#: axis' name
SHORT_HISTORY_PX = 150
#: histories that grow by at most this many steps at a time are being played
STEP_RANGE_STRIDE = 256


def _joined(pieces: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Several paths as one line's points and ``connect`` array (no line between
    paths: False at the last point of each)."""
    pts = np.concatenate(pieces)
    connect = np.ones(len(pts), dtype=bool)
    connect[np.cumsum([len(q) for q in pieces]) - 1] = False
    return pts, connect


def bundle_pen(colour: str) -> QtGui.QPen:
    """The line of a bundle of many paths: thinner and see-through."""
    c = QtGui.QColor(colour)
    c.setAlpha(110)
    return cosmetic_pen(c, 1.5)


def clip_losses(losses) -> np.ndarray:
    """Losses as the loss history draws them: into ±1e150, NaN to the top."""
    return np.fmax(np.fmin(np.asarray(losses, dtype=np.float64).reshape(-1), 1e150), -1e150)


def bundle_curves(losses: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Several loss curves (each decimated) as one line's (steps, losses, connect):
    ``connect`` is False at the last point of each curve (see PlotDataItem)."""
    steps = [np.arange(len(y))[decimate(len(y), len(y) - 1)] for y in losses]
    if not steps:
        return np.empty(0), np.empty(0), np.empty(0, dtype=bool)
    xs = np.concatenate(steps)
    ys = np.concatenate([y[s] for y, s in zip(losses, steps, strict=True)])
    connect = np.ones(len(xs), dtype=bool)
    connect[np.cumsum([len(s) for s in steps]) - 1] = False
    return xs, ys, connect


class LossHistoryPlot(PixelSize, WholeRepaint, pg.PlotWidget):
    """Loss against step, one line per run, with a vertical line at the shown step.

    The y axis is logarithmic when every loss is positive and they span more than
    two decades, linear otherwise (losses can be negative)."""

    #: a short plot in the window leaves out the step axis' name (a picture keeps it:
    #: no timeline under it says "step")
    drop_step_name_when_short = True

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        # no context menus (each built a ViewBoxMenu at start-up, then was disabled)
        super().__init__(parent=parent, background="w", enableMenu=False,
                         axisItems=plain_axes(integer_bottom=True))
        plot = self.getPlotItem()
        plot.setMenuEnabled(False)
        self._watch_pixel_size()
        self._repaint_whole_on_relayout()
        #: fonts and lines are this many times their theme size (see set_scale)
        self.scale = 1.0
        self._style_axes()
        plot.showGrid(x=True, y=True, alpha=0.25)
        self._lines: list[pg.PlotDataItem] = []
        #: runs of K > 1 rows: their band item and its edges' values (steps, 3)
        self._bands: dict[int, BandItem] = {}
        self._band_stats: dict[int, np.ndarray] = {}
        self._band_source: dict[int, object] = {}
        self._band_thin: dict[int, GrowingBand] = {}
        #: per run, its losses as drawn and their range, kept up to date from the new
        #: ones (see GrowingLosses): a frame's scale costs no reductions
        self._losses: list[GrowingLosses] = []
        self.playing = False
        self._log = False
        self._reference: tuple[float, float] | None = None
        self._y_set: tuple[float, float] | None = None
        self.step_line = StepLine(cosmetic_pen("#555555", 1.5, QtCore.Qt.PenStyle.DashLine), plot)
        plot.addItem(self.step_line, ignoreBounds=True)
        #: while playing, every run's line in one item (see set_playing)
        self.layer = PlaybackLayer()
        self.layer.setVisible(False)
        plot.addItem(self.layer, ignoreBounds=True)
        #: per run, the (steps, losses) drawn (decimated), for the layer and for pause
        self._drawn: list[tuple[np.ndarray, np.ndarray] | None] = []
        #: runs shown as many curves (update_bundle): (steps, losses, connect)
        self._bundles: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._thin: list[GrowingThinning] = []
        #: per run, where its thinned line comes from while playing (see update_run)
        self._sources: list[object] = []
        #: inside ``batch()``: what the axes fit at its end needs
        self._batch: dict | None = None
        # the step range is set by _fit_steps, not auto-ranged (which re-laid out the
        # axis and grid on every frame of playback)
        plot.disableAutoRange()
        self._x_max = 0.0
        self._fit_steps()

    def _style_axes(self) -> None:
        plot = self.getPlotItem()
        style_axes(plot, "step", self._loss_label(), self.scale)
        if not getattr(self, "_label_watched", False):  # (the axis' length: a new label?)
            plot.getAxis("left").geometryChanged.connect(self._fit_loss_label)
            self._label_watched = True
        # a short plot (the window at 1280x720: ~94 px) gives the step axis' name's
        # line to the plot (its numbers say steps; the timeline below is "step"):
        # with it the plot area was ~35 px, room for one readable tick label
        self._short = self.height() < SHORT_HISTORY_PX * self.scale and self.drop_step_name_when_short
        plot.getAxis("bottom").showLabel(not self._short)
        # the loss axis keeps one width, that of its widest labels ("1e-300"): fitted
        # to its labels, it widened a frame after a range change brought wider ones,
        # laying the whole plot out again a second time (and moved on every change)
        axis = plot.getAxis("left")
        font = axis.style.get("tickFont") or axis.font()
        wide = QtGui.QFontMetricsF(font).horizontalAdvance(WIDEST_LOSS_LABEL) + 2
        axis.setStyle(autoExpandTextSpace=False, tickTextWidth=int(wide))

    def _loss_label(self) -> str:
        """The loss axis' name: "loss (log)" on a log scale when it fits the axis'
        length whole, else "loss" (the 10ⁿ tick labels say the scale): the window's
        short history at 1280x720 cut it to "loss (lo"."""
        if not getattr(self, "_log", False):
            return "loss"
        axis = self.getPlotItem().getAxis("left")
        font = QtGui.QFont(axis.label.font())
        font.setPointSizeF(LABEL_PT * self.scale)
        # (the label's text item keeps its document margin on both ends)
        need = QtGui.QFontMetricsF(font).horizontalAdvance("loss (log)") \
            + 2 * axis.label.document().documentMargin()
        # (the rotated name is centred on the axis and may reach the widget's edges)
        centre = axis.mapRectToScene(QtCore.QRectF(0, 0, axis.width(), axis.height())).center().y()
        room = 2 * min(centre, self.height() - centre)
        return "loss (log)" if need <= room else "loss"

    def _fit_loss_label(self) -> None:
        axis = self.getPlotItem().getAxis("left")
        text = self._loss_label()
        if axis.labelText != text:
            axis.setLabel(text, **{"font-size": f"{LABEL_PT * self.scale:g}pt",
                                   "color": TEXT_COLOUR})

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        if "_short" not in self.__dict__:  # (called while pyqtgraph builds the view)
            return
        if (self.height() < SHORT_HISTORY_PX * self.scale and self.drop_step_name_when_short) \
                != self._short:
            self._style_axes()

    def set_scale(self, scale: float) -> None:
        """Fonts and lines ``scale`` times their theme size (presentation mode); the
        lines are drawn again at once."""
        scale = float(scale)
        if scale == self.scale:
            return
        self.scale = scale
        self._style_axes()
        styles = [RunStyle("", line.opts["pen"].color().name(), line.isVisible())
                  for line in self._lines]
        width = LINE_PX * scale
        for line in self._lines:
            pen = QtGui.QPen(line.opts["pen"])
            pen.setWidthF(width)
            line.setPen(pen)
        self.layer.set_runs([cosmetic_pen(s.colour, width) for s in styles],
                            [s.colour for s in styles])
        for i in range(len(self._lines)):
            self.layer.set_visible(i, styles[i].visible)
            self._show_line(i)

    def set_runs(self, styles: list[RunStyle]) -> None:
        plot = self.getPlotItem()
        for line in self._lines:
            plot.removeItem(line)
        for band in self._bands.values():
            plot.removeItem(band)
        self._bands = {}
        self._band_stats = {}
        self._band_source = {}
        self._band_thin = {}
        self._lines = []
        self._losses = []
        self._drawn = []
        self._bundles = {}
        self._thin = []
        self._sources = []
        width = LINE_PX * self.scale
        self.layer.set_runs([cosmetic_pen(s.colour, width) for s in styles],
                            [s.colour for s in styles])
        for i, style in enumerate(styles):
            line = pg.PlotDataItem(pen=cosmetic_pen(style.colour, width), antialias=not self.playing)
            line.curve.setSegmentedLineMode("on")
            line.setVisible(style.visible)
            line.setOpacity(0.0 if self.playing else 1.0)
            plot.addItem(line)
            self._lines.append(line)
            self._losses.append(GrowingLosses())
            self._drawn.append((np.empty(0), np.empty(0)))
            self._thin.append(GrowingThinning())
            self._sources.append(None)
            self.layer.set_visible(i, style.visible)

    def line(self, i: int) -> pg.PlotDataItem:
        return self._lines[i]

    def set_playing(self, playing: bool) -> None:
        """While playing, all lines are drawn by one PlaybackLayer, without
        antialiasing (see LossPlot.set_playing); stopped, by their own items again."""
        self.playing = bool(playing)
        self.layer.setVisible(self.playing)
        for i, line in enumerate(self._lines):
            set_antialias(line, not self.playing)
            line.setOpacity(0.0 if self.playing else 1.0)
            self._show_line(i)
        if not self.playing:
            self.layer.clear()
            self._update_scale()  # the exact range again
            for i in self._bands:  # not thinned to pixels
                self._show_band(i)

    def set_run_visible(self, i: int, visible: bool) -> None:
        self._lines[i].setVisible(visible)
        self.layer.set_visible(i, visible)
        if i in self._bands:
            self._bands[i].setVisible(visible)
        self._update_scale()

    def _draw_whole(self, i: int) -> None:
        """Thin run ``i``'s whole history (decimated, one point per pixel) and show it."""
        y = self._losses[i].values
        idx = decimate(len(y), len(y) - 1)
        steps, ys = np.arange(len(y))[idx], y[idx]
        if len(ys) > MAX_SYMBOL_POINTS:  # what falls in one pixel draws as one point
            keep = new_pixel_mask(np.column_stack([steps, self._shown_y(ys)]),
                                  self.pixel_size())
            steps, ys = steps[keep], ys[keep]
        self._drawn[i] = (steps, ys)
        self._show_line(i)

    def _shown_y(self, ys: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Losses as the plot's y axis places them (log10 on a log scale), into
        ``out`` if given."""
        if not self._log:
            if out is None:
                return ys
            out[:] = ys
            return out
        # the losses are clipped into ±1e150 (NaN to the top): log10 never warns
        return np.log10(np.maximum(ys, 1e-300, out=out), out=out)

    def _show_thinned(self, i: int, source: object) -> None:
        """While playing: run ``i``'s history thinned from its new losses alone."""
        y, pixel = self._losses[i].values, self.pixel_size()

        def chunk(a: int, b: int) -> np.ndarray:
            out = np.empty((b - a, 2))
            out[:, 0] = np.arange(a, b)
            self._shown_y(y[a:b], out[:, 1])
            return out

        thin = self._thin[i]
        self.layer.set_line(i, thin.points((source, self._log, pixel), len(y), chunk, pixel),
                            grown=thin.grew)

    def _show_line(self, i: int) -> None:
        """Give run ``i``'s drawn points to whichever draws them now."""
        if self._drawn[i] is None:  # thinned while playing: whole again
            self._draw_whole(i)
            return
        steps, ys = self._drawn[i]
        if not self.playing:
            if i in self._bundles:
                xs, yd, connect = self._bundles[i]
                self._lines[i].setData(xs, yd, connect=connect)
                return
            self._lines[i].setData(steps, ys)
            return
        # the layer is not told about the plot's log mode
        self.layer.set_line(i, np.column_stack([steps, self._shown_y(ys)]))

    def update_run(self, i: int, losses: np.ndarray, current: int | None = None,
                   source: object = None) -> None:
        """Show run ``i``'s losses (all of them; ``current`` moves the step line).
        ``source``: as for LossPlot.update_run (while playing, only new losses are
        thinned)."""
        self._bundles.pop(i, None)
        before = self._losses[i].n
        y = self._losses[i].update(losses, source)
        grew = len(y) - before
        if self.playing and source is not None and len(y):
            self._drawn[i] = None  # made from _losses when playback stops
            self._sources[i] = source
            self._show_thinned(i, source)
        else:
            self._sources[i] = None
            self._draw_whole(i)
        step = len(y) - 1 if current is None else current
        if self._batch is not None:  # once for all the runs, when the batch ends
            self._batch["grew"] = self._batch.get("grew", False) or 0 < grew <= STEP_RANGE_STRIDE
            self._batch["step"] = step
            return
        self._fit_axes(0 < grew <= STEP_RANGE_STRIDE, step)

    def update_band(self, i: int, stats: np.ndarray | None, current: int | None = None,
                    source: object = None) -> None:
        """Run ``i`` of K > 1 rows: ``stats`` (steps, 3) are the 10th, 50th and 90th
        percentiles of its rows' losses per step (compute.row_percentiles): its line
        shows the median, a band the 10-90 % range (one BandItem; while playing
        thinned to a point per pixel column). ``None`` (a run of one row) hides the
        band. ``source``: as for update_run (the median's new steps alone are
        thinned while playing)."""
        if stats is None:
            if self._band_stats.pop(i, None) is not None:
                self._bands[i].set_band(np.empty(0), np.empty(0), np.empty(0))
            return
        stats = np.asarray(stats, dtype=np.float64)
        self._band_stats[i] = stats
        self._band_source[i] = source
        self.update_run(i, stats[:, 1], current, source)
        self._losses[i].include(stats[:, 0])
        self._losses[i].include(stats[:, 2])
        self._show_band(i)

    def _show_band(self, i: int) -> None:
        """Draw run ``i``'s band from its statistics, in the y axis' scale: while
        playing thinned to the pixel columns, from its new steps alone while its
        source, the pixel width and the scale stay the same."""
        stats = self._band_stats.get(i)
        if stats is None:
            return
        band = self._band_item(i)

        def chunk(a: int, b: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            return (np.arange(a, b, dtype=np.float64), self._shown_y(clip_losses(stats[a:b, 0])),
                    self._shown_y(clip_losses(stats[a:b, 2])))

        pixel = self.pixel_size()[0] if self.playing else None
        if pixel is None or not (np.isfinite(pixel) and pixel > 0):
            band.set_band(*chunk(0, len(stats)))
            return
        thin = self._band_thin.setdefault(i, GrowingBand())
        source = self._band_source.get(i)
        key = (source if source is not None else object(), pixel, self._log)
        band.set_band(*thin.points(key, len(stats), chunk, pixel))

    def band(self, i: int) -> tuple[np.ndarray, np.ndarray] | None:
        """Run ``i``'s band edges (10th and 90th percentiles per step), or None."""
        stats = self._band_stats.get(i)
        return None if stats is None else (stats[:, 0], stats[:, 2])

    def _band_item(self, i: int) -> BandItem:
        """Run ``i``'s band, made once (below its line)."""
        band = self._bands.get(i)
        if band is None:
            line = self._lines[i]
            band = self._bands[i] = BandItem(line.opts["pen"].color())
            band.setZValue(line.zValue() - 1)
            band.setVisible(line.isVisible())
            self.getPlotItem().addItem(band, ignoreBounds=True)
        return band

    def update_bundle(self, i: int, losses: list[np.ndarray], current: int | None = None) -> None:
        """Show run ``i`` as many loss curves (one per start point) in its one line
        item (see LossPlot.update_bundle): the axes span all of them, the steps the
        longest; ``current`` moves the step line."""
        ys = [y for y in (clip_losses(y) for y in losses) if len(y)]
        scale = self._losses[i]
        scale.update(max(ys, key=len) if ys else np.empty(0))
        for y in ys:
            scale.include(y)
        if len(ys) > 4:
            self._lines[i].setPen(bundle_pen(self._lines[i].opts["pen"].color().name()))
        self._bundles[i] = bundle_curves(ys)
        self._drawn[i] = self._bundles[i][:2]
        self._sources[i] = None
        self._show_line(i)
        step = (max((len(y) for y in ys), default=1) - 1) if current is None else int(current)
        if self._batch is not None:
            self._batch["grew"] = self._batch.get("grew", False)
            self._batch["step"] = step
            return
        self._fit_axes(False, step)

    def _fit_axes(self, grew: bool, step: int) -> None:
        """Fit the axes to the losses and move the step line to ``step``. While
        playing, lines thinned for the old scale are thinned for the new one at once:
        the layer then draws them anew in this frame, not again in the next."""
        pixel = self.pixel_size() if self.playing else None
        self._fit_steps(self.playing and grew)
        self._update_scale()
        if pixel is not None and self.pixel_size() != pixel:
            for i, source in enumerate(self._sources):
                if source is not None and self._drawn[i] is None:
                    self._show_thinned(i, source)
        self.set_step(step)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Update several runs, then fit the axes and move the step line once (a
        frame of playback updates every run: 8 fits and line moves were ~1 ms)."""
        if self._batch is not None:  # nested: the outer batch finishes
            yield
            return
        self._batch = {}
        try:
            yield
        finally:
            done, self._batch = self._batch, None
            if done:
                self._fit_axes(done["grew"], done["step"])

    def _fit_steps(self, playing: bool = False) -> None:
        """Show steps 0..the longest history (at least 0..MIN_STEP_RANGE). Followed
        step by step (``playing``), it starts at 0..MIN_PLAYING_STEP_RANGE and doubles
        when the history reaches its end, so the axis and grid (and the playback
        layer's canvas) are laid out again only now and then: 8 times on the way to
        step 10,000."""
        last = float(max((y.n - 1 for y in self._losses), default=0))
        floor = MIN_PLAYING_STEP_RANGE if playing else MIN_STEP_RANGE
        if self._x_max >= max(last, floor) and (last >= self._x_max / 2 or self._x_max <= floor):
            return
        self._x_max = max(floor, last * 2.0 if playing else last)
        self.getPlotItem().setXRange(0.0, self._x_max, padding=0.02)

    def set_step(self, k: int) -> None:
        """Move the vertical line to step ``k``."""
        self.step_line.setValue(float(k))

    def set_loss_range(self, lo: float, hi: float) -> None:
        """The losses the function takes in its view: runs that leave it by far (a
        diverged run, a cubic falling forever) go off the plot's edge instead of
        squashing the others flat."""
        self._reference = (float(lo), float(hi)) if np.isfinite([lo, hi]).all() and hi > lo \
            else None
        self._update_scale()

    def _update_scale(self) -> None:
        data = [y for y, line in zip(self._losses, self._lines, strict=True)
                if line.isVisible() and y.n]
        plot = self.getPlotItem()
        if not data:
            return
        lo = min(y.lo for y in data)
        hi = max(y.hi for y in data)
        # losses of exactly zero (a run that reached a minimum of value 0) keep a log
        # scale: they are drawn below its bottom edge, which the smallest loss above
        # zero sets (switching to linear then squashed every falling curve flat)
        lo_positive = min(y.lo_positive for y in data)
        log = lo >= 0 and lo_positive < np.inf and hi / lo_positive > 100
        if log:
            lo = lo_positive
        if log != self._log:
            self._log = log
            self._y_set = None
            plot.setLogMode(y=log)
            if self.playing:  # the layer's lines were in the other scale
                for i in range(len(self._lines)):
                    self._show_line(i)
            for i in self._bands:
                self._show_band(i)
            # setLogMode turns auto-range back on: the steps would follow the data
            # (re-laid out every frame) instead of _fit_steps
            plot.disableAutoRange()
            plot.setXRange(0.0, self._x_max, padding=0.02)
            self._fit_loss_label()
        if self._reference is not None:
            rlo, rhi = self._reference
            span = rhi - rlo
            hi = min(hi, rhi * 10 if log and rhi > 0 else rhi + span)
            if not log:
                lo = max(lo, rlo - span)
        if not hi > lo:
            lo, hi = lo - 0.5, hi + 0.5
        if log:
            lo, hi = float(np.log10(lo)), float(np.log10(hi))
        if self.playing and self._y_set is not None:
            # while playing, the range changes only when the losses leave it or fill
            # too little of it, with room below (losses mostly fall): re-laying out
            # the axis and grid (and the layer's canvas) cost a frame some 20 ms. On
            # a log scale falling losses keep needing room: the span grows fourfold
            # downwards (4 changes, not 15, for a run falling from 10 to 1e-300)
            slo, shi = self._y_set
            fill = 0.25 if log else 0.5
            if slo <= lo and hi <= shi and hi - lo >= fill * (shi - slo):
                return
            lo -= (3.0 if log else 0.25) * (hi - lo)
        if (lo, hi) != self._y_set:  # an unchanged range would still repaint the axis
            self._y_set = (lo, hi)
            plot.setYRange(lo, hi, padding=0.05)

    @property
    def y_range(self) -> tuple[float, float]:
        """The shown loss range (log10 of it on a log scale)."""
        lo, hi = self.getPlotItem().getViewBox().viewRange()[1]
        return lo, hi
