"""The 3D view: a 2D function's surface (pyqtgraph.opengl) with every run's path on it
and the current points as balls, drawn from the same :class:`~optsim.render.compute.Landscape`
grid and colours as the contour plot, with the same height scale (log where the 2D view
colours by log).

Needs OpenGL: :func:`opengl_problem` says, in one line, why it is not available (the
offscreen platform, a display without GL). The window shows that line instead of the
view; the exporters refuse with it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .compute import Landscape
from .items import landscape_colormap

#: the surface's height as a fraction of its width (the box is 2 × 2 × this)
HEIGHT = 0.9
#: paths float this far (in box units) above the surface, so that they are not hidden in it
LIFT = 0.012
#: the surface mesh has at most this many nodes along an axis (every k-th node of the
#: landscape grid): software OpenGL draws 110 x 110 nodes in a few milliseconds
MESH_NODES = 110
#: the default camera
CAMERA = {"distance": 3.3, "elevation": 34.0, "azimuth": -62.0}

_problem: str | None = None
_checked = False


def opengl_problem() -> str | None:
    """None when an OpenGL context can be made on this display; else one line saying
    why not. Needs a QGuiApplication; checked once."""
    global _problem, _checked
    if _checked:
        return _problem
    from PySide6.QtGui import QGuiApplication, QOffscreenSurface, QOpenGLContext

    app = QGuiApplication.instance()
    platform = app.platformName() if app is not None else ""
    if app is None:
        _problem = "the 3D view needs a running Qt application"
    elif platform in ("offscreen", "minimal"):
        _problem = (f"the 3D view needs OpenGL, which Qt's {platform!r} platform does not "
                    "provide (run on a desktop, or under xvfb-run)")
    else:
        try:
            import OpenGL.GL  # noqa: F401  (PyOpenGL, which pyqtgraph.opengl draws with)
        except ImportError:
            _problem = "the 3D view needs PyOpenGL: pip install PyOpenGL"
        else:
            ctx = QOpenGLContext()
            surface = QOffscreenSurface()
            surface.create()
            if not ctx.create() or not ctx.makeCurrent(surface):
                _problem = "the 3D view needs OpenGL, and this display could not make a context"
            else:
                ctx.doneCurrent()
    _checked = True
    return _problem


def _on_top() -> dict:
    """GL options that draw over the surface (no depth test, alpha blending): the
    faint copy of each path and the balls stay visible inside a funnel or behind a
    hill."""
    from OpenGL import GL

    return {GL.GL_DEPTH_TEST: False, GL.GL_BLEND: True, GL.GL_CULL_FACE: False,
            "glBlendFuncSeparate": (GL.GL_SRC_ALPHA, GL.GL_ONE_MINUS_SRC_ALPHA, GL.GL_ONE,
                                    GL.GL_ONE_MINUS_SRC_ALPHA)}


#: the see-through copy of a path (drawn over the surface): this much of its colour
SEE_THROUGH_ALPHA = 0.4


class SurfaceScene:
    """The 3D scene: the surface, one path and one ball per run, a camera. Items are
    made once and updated with ``setData``. ``widget`` is the GLViewWidget to show."""

    def __init__(self) -> None:
        import pyqtgraph.opengl as gl

        self._gl = gl
        self.widget = gl.GLViewWidget()
        self.widget.setBackgroundColor("w")
        self.widget.setMinimumSize(200, 160)
        # lit by its normals ("shaded": the vertex colour times the light), so that the
        # shape reads, with the contour lines of the 2D view drawn on it
        self.surface = gl.GLSurfacePlotItem(computeNormals=True, smooth=True, shader="shaded",
                                            glOptions="opaque")
        self.surface.setVisible(False)  # drawn once it has data
        self.widget.addItem(self.surface)
        self.contours = gl.GLLinePlotItem(mode="lines", color=(0.1, 0.1, 0.1, 0.35), width=1.0,
                                          antialias=True, glOptions="translucent")
        self.widget.addItem(self.contours)
        self.minima = gl.GLScatterPlotItem(pxMode=True, glOptions=_on_top())
        self.widget.addItem(self.minima)
        #: per run: (the path where it is visible, its faint copy seen through the surface)
        self.paths: list = []
        self.balls = gl.GLScatterPlotItem(pxMode=True, glOptions=_on_top())
        self.widget.addItem(self.balls)
        self._land: Landscape | None = None
        self._box: tuple[float, float, float, float] = (0.0, 1.0, 0.0, 1.0)
        self._vrange: tuple[float, float] = (0.0, 1.0)
        self.reset_camera()

    # -- the function ------------------------------------------------------------
    def set_landscape(self, land: Landscape) -> None:
        """Show the surface of ``land`` (its grid, colours and log scale)."""
        self._land = land
        xs, ys = np.asarray(land.xs), np.asarray(land.ys)
        self._box = (float(xs[0]), float(xs[-1]), float(ys[0]), float(ys[-1]))
        self._vrange = (land.vmin, land.vmax)
        values = np.clip(np.nan_to_num(np.asarray(land.values), nan=land.vmax,
                                       posinf=land.vmax, neginf=land.vmin), land.vmin, land.vmax)
        # every k-th grid node (the last one kept), so that the mesh stays light
        ix = _every(xs.size, MESH_NODES)
        iy = _every(ys.size, MESH_NODES)
        xs, ys, values = xs[ix], ys[iy], values[np.ix_(iy, ix)]
        # pyqtgraph's surface takes z[i, j] at (x[i], y[j]); the landscape is z[j, i]
        heights = self._height(values).T
        fraction = (values - land.vmin) / (land.vmax - land.vmin)
        colours = landscape_colormap().map(fraction.T.reshape(-1), mode="float")
        self.surface.setData(x=self._unit_x(xs), y=self._unit_y(ys), z=heights,
                             colors=np.asarray(colours, dtype=np.float32).reshape(-1, 4))
        self.surface.setVisible(True)
        cx, cy = np.asarray(land.contour_x), np.asarray(land.contour_y)
        if cx.size:
            # each segment at its level's height (the level nearest its midpoint's value)
            level = _nearest(np.asarray(land.levels), self._value_at(cx, cy))
            pts = np.column_stack([self._unit_x(cx), self._unit_y(cy),
                                   self._height(level) + LIFT / 3])
            self.contours.setData(pos=pts.astype(np.float32))
            self.contours.setVisible(True)
        else:
            self.contours.setVisible(False)
        if len(land.minima):
            m = np.asarray(land.minima)
            z = np.asarray([land.zmin if land.log else land.vmin] * len(m))
            inside = ((m[:, 0] >= xs[0]) & (m[:, 0] <= xs[-1]) & (m[:, 1] >= ys[0])
                      & (m[:, 1] <= ys[-1]))
            del z
            pts = self.points3d(m[inside], self._value_at_points(m[inside]))
            self.minima.setData(pos=pts, color=(1.0, 1.0, 1.0, 1.0), size=9)
            self.minima.setVisible(bool(inside.any()))
        else:
            self.minima.setVisible(False)

    def heights_of(self, losses: np.ndarray) -> np.ndarray:
        """Box heights of losses, on the surface's scale (log where it is log)."""
        land = self._land
        if land is None:
            return np.zeros_like(losses, dtype=np.float64)
        with np.errstate(all="ignore"):
            z = np.asarray(losses, dtype=np.float64)
            v = np.log10(np.maximum(z - land.zmin, 1e-300)) if land.log else z
        v = np.clip(np.nan_to_num(v, nan=land.vmax, posinf=land.vmax, neginf=land.vmin),
                    land.vmin, land.vmax)
        return self._height(v)

    # -- the runs ------------------------------------------------------------------
    def set_runs(self, paths: Sequence[np.ndarray], losses: Sequence[np.ndarray],
                 colours: Sequence[tuple[float, float, float, float]],
                 widths: Sequence[float] | None = None) -> None:
        """One path per run: ``paths[i]`` (K, 2) positions, ``losses[i]`` (K,) their
        losses, ``colours[i]`` RGBA floats; the last point of each is its ball. Paths of
        several rows are given as one array with NaN rows between them."""
        gl = self._gl
        while len(self.paths) < len(paths):
            ghost = gl.GLLinePlotItem(mode="lines", antialias=True, glOptions=_on_top())
            solid = gl.GLLinePlotItem(mode="lines", antialias=True, glOptions="translucent")
            self.widget.addItem(ghost)
            self.widget.addItem(solid)
            self.paths.append((solid, ghost))
        ends, end_colours = [], []
        for i, (solid, ghost) in enumerate(self.paths):
            if i >= len(paths) or len(paths[i]) == 0:
                solid.setVisible(False)
                ghost.setVisible(False)
                continue
            pts = self.points3d(paths[i], losses[i])
            segs = _segments(pts)
            width = widths[i] if widths is not None else 2.5
            faint = (*colours[i][:3], SEE_THROUGH_ALPHA)
            solid.setData(pos=segs, color=colours[i], width=width)
            ghost.setData(pos=segs, color=faint, width=max(1.0, width * 0.6))
            solid.setVisible(len(segs) > 0)
            ghost.setVisible(len(segs) > 0)
            for row in _row_ends(pts):
                ends.append(row)
                end_colours.append(colours[i])
        if ends:
            self.balls.setData(pos=np.array(ends), color=np.array(end_colours), size=13)
            self.balls.setVisible(True)
        else:
            self.balls.setVisible(False)

    def points3d(self, xy: np.ndarray, losses: np.ndarray) -> np.ndarray:
        """Box coordinates of points (K, 2) with losses (K,), just above the surface."""
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        h = self.heights_of(losses) + LIFT
        out = np.column_stack([self._unit_x(xy[:, 0]), self._unit_y(xy[:, 1]), h])
        out[~np.isfinite(xy).all(axis=1)] = np.nan
        return out.astype(np.float32)

    # -- the camera ------------------------------------------------------------------
    def reset_camera(self) -> None:
        """The default view: from the front left, a little above."""
        from PySide6.QtGui import QVector3D

        self.widget.setCameraPosition(pos=QVector3D(0, 0, HEIGHT / 2), **CAMERA)

    def orbit(self, degrees: float) -> None:
        """Turn the camera about the vertical axis."""
        self.widget.orbit(degrees, 0)

    @property
    def azimuth(self) -> float:
        return float(self.widget.opts["azimuth"])

    def image(self, width: int, height: int) -> np.ndarray:
        """The scene rendered at ``width`` × ``height`` as an (height, width, 4) RGBA
        uint8 array (pyqtgraph's renderToArray, in an off-screen framebuffer)."""
        self.widget.makeCurrent()
        from OpenGL import GL

        rgba = self.widget.renderToArray((int(width), int(height)), format=GL.GL_RGBA)
        return np.ascontiguousarray(rgba)

    def _value_at(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The landscape's colour value at points (nearest grid node), for the contours."""
        land = self._land
        xs, ys = np.asarray(land.xs), np.asarray(land.ys)
        i = np.clip(np.rint((x - xs[0]) / (xs[1] - xs[0])), 0, xs.size - 1).astype(int)
        j = np.clip(np.rint((y - ys[0]) / (ys[1] - ys[0])), 0, ys.size - 1).astype(int)
        return np.asarray(land.values)[j, i]

    def _value_at_points(self, pts: np.ndarray) -> np.ndarray:
        """Losses (not colour values) at points, from the grid (nearest node)."""
        land = self._land
        xs, ys = np.asarray(land.xs), np.asarray(land.ys)
        i = np.clip(np.rint((pts[:, 0] - xs[0]) / (xs[1] - xs[0])), 0, xs.size - 1).astype(int)
        j = np.clip(np.rint((pts[:, 1] - ys[0]) / (ys[1] - ys[0])), 0, ys.size - 1).astype(int)
        return np.asarray(land.z)[j, i]

    # -- coordinates -----------------------------------------------------------------
    def _unit_x(self, x: np.ndarray) -> np.ndarray:
        x0, x1, y0, y1 = self._box
        span = max(x1 - x0, y1 - y0)
        return 2.0 * (np.asarray(x, dtype=np.float64) - (x0 + x1) / 2) / span

    def _unit_y(self, y: np.ndarray) -> np.ndarray:
        x0, x1, y0, y1 = self._box
        span = max(x1 - x0, y1 - y0)
        return 2.0 * (np.asarray(y, dtype=np.float64) - (y0 + y1) / 2) / span

    def _height(self, values: np.ndarray) -> np.ndarray:
        lo, hi = self._vrange
        return HEIGHT * (np.asarray(values, dtype=np.float64) - lo) / (hi - lo)


def _every(n: int, most: int) -> np.ndarray:
    """Indices of every k-th of n nodes (k the least giving at most ``most``), the last
    node included."""
    k = max(1, math.ceil(n / most))
    idx = np.arange(0, n, k)
    return idx if idx[-1] == n - 1 else np.append(idx, n - 1)


def _segments(pts: np.ndarray) -> np.ndarray:
    """A polyline (NaN rows separate several) as point pairs for ``mode="lines"``,
    without the pairs that touch a NaN row."""
    if len(pts) < 2:
        return np.zeros((0, 3), dtype=np.float32)
    a, b = pts[:-1], pts[1:]
    ok = np.isfinite(a).all(axis=1) & np.isfinite(b).all(axis=1)
    return np.stack([a[ok], b[ok]], axis=1).reshape(-1, 3).astype(np.float32)


def _row_ends(pts: np.ndarray) -> list[np.ndarray]:
    """The last point of each NaN-separated piece of a polyline."""
    finite = np.isfinite(pts).all(axis=1)
    if not finite.any():
        return []
    last = finite & ~np.append(finite[1:], False)
    return list(pts[last])


def _nearest(levels: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Each value replaced by the level nearest to it (pairs of segment ends share one:
    the level nearest their mean)."""
    if levels.size == 0:
        return values
    pair = values.reshape(-1, 2).mean(axis=1) if values.size % 2 == 0 else values
    idx = np.abs(pair[:, None] - levels[None, :]).argmin(axis=1)
    out = levels[idx]
    return np.repeat(out, 2) if values.size % 2 == 0 else out


def orbit_angles(frames: int, turn: float = 360.0) -> np.ndarray:
    """The camera's azimuth offsets for ``frames`` frames of a slow orbit of ``turn``
    degrees (0 for the first frame)."""
    if frames <= 1:
        return np.zeros(max(frames, 0))
    return np.linspace(0.0, turn, frames, endpoint=not math.isclose(turn % 360.0, 0.0))
