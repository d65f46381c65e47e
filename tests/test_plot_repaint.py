"""What the window's plots show after they move: the landscape's kept picture
(optsim.render.device_cache) against painting it directly, after the moves that left
Qt's own cache drawing a stale picture 1.6 units off (presentation mode's legend
band at 1280x720, resizes, pans, zooms); the picture is reused while nothing changed
and painted anew when the content changes; a part moved by the layout (the colour
bar) leaves nothing of itself behind."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from windows import window_at


def settle(qtbot, rounds: int = 6) -> None:
    for _ in range(rounds):
        QApplication.processEvents()
        qtbot.wait(10)


def pixels(widget) -> np.ndarray:
    image = widget.grab().toImage().convertToFormat(widget.grab().toImage().Format.Format_RGB32)
    ptr = image.constBits()
    return np.frombuffer(ptr, np.uint8).reshape(image.height(), image.bytesPerLine())[
        :, :image.width() * 4].astype(int).copy()


def kept_against_direct(plot) -> np.ndarray:
    """Absolute differences of the plot's picture with the landscape as kept and as
    painted anew."""
    kept = pixels(plot)
    for item in (plot.image, plot.contours):
        item.keep_picture(False)
    direct = pixels(plot)
    for item in (plot.image, plot.contours):
        item.keep_picture(True)
    return np.abs(kept - direct)


def test_the_kept_landscape_matches_painting_it_anew_after_every_move(qtbot, tmp_path):
    w = window_at(qtbot, tmp_path, preset="schedulefree")
    w.model.step_forward(60)
    plot = w.plot
    vb = plot.getPlotItem().getViewBox()
    moves = {
        "presentation on": lambda: w.set_presentation(True),
        "resized": lambda: (w.setWindowState(Qt.WindowState.WindowNoState),
                            w.resize(1280, 720)),
        "presentation off": lambda: w.set_presentation(False),
        "narrow": lambda: w.resize(900, 720),
        "wide again": lambda: w.resize(1280, 720),
        "panned": lambda: vb.translateBy(x=0.37, y=-0.21),
        "zoomed": lambda: vb.scaleBy((0.8, 0.8)),
    }
    for name, move in moves.items():
        move()
        settle(qtbot)
        qtbot.wait(200)  # (the landscape's grid grows 150 ms after a range change)
        settle(qtbot)
        diff = kept_against_direct(plot)
        # antialiased edges composed on a transparent picture round differently by
        # a level or two; a picture drawn off shifts the rings by many pixels
        assert (diff > 6).mean() < 1e-4, (name, (diff > 6).mean(), diff.max())


def test_the_picture_is_reused_until_the_landscape_or_its_place_changes(qtbot, tmp_path):
    w = window_at(qtbot, tmp_path, preset="schedulefree")
    plot = w.plot
    image = plot.image
    plot.grab()
    painted = image.pictures_painted
    assert painted >= 1  # the window keeps a picture
    for _ in range(3):
        plot.viewport().repaint()
    plot.grab()
    assert image.pictures_painted == painted  # nothing changed: reused
    image.setLevels(image.getLevels() * 1.1)  # new colours
    plot.grab()
    assert image.pictures_painted == painted + 1
    plot.getPlotItem().getViewBox().translateBy(x=0.2)  # the same, moved
    plot.grab()
    assert image.pictures_painted >= painted + 2


class PaintedRegions:
    """The areas of a widget's paint events."""

    def __init__(self, widget) -> None:
        from PySide6.QtCore import QEvent, QObject

        outer = self

        class Filter(QObject):
            def eventFilter(self, obj, event):  # noqa: N802 (Qt override)
                if event.type() == QEvent.Type.Paint:
                    outer.rects.append(event.region().boundingRect())
                return False

        self.rects: list = []
        self.filter = Filter()
        widget.installEventFilter(self.filter)

    def whole(self, widget) -> bool:
        return any(r.contains(widget.rect()) for r in self.rects)


def test_the_plot_is_repainted_whole_when_its_layout_moves_a_part(qtbot, tmp_path):
    """The colour bar's frame paints a little beyond its bounds: moved by the layout
    (presentation mode's fonts) it left a piece of itself under its new place in a
    real window (xcb). Every move of a part of the plot repaints all of it."""
    w = window_at(qtbot, tmp_path, preset="schedulefree")
    settle(qtbot)
    for view in (w.plot, w.history_plot):
        painted = PaintedRegions(view.viewport())
        qtbot.wait(50)
        settle(qtbot)
        painted.rects.clear()
        view.viewport().repaint(view.viewport().rect().adjusted(10, 10, -10, -10))  # (a part)
        assert painted.rects and not painted.whole(view.viewport())
        painted.rects.clear()
        view.set_scale(1.6)  # the axes and the colour bar move
        settle(qtbot)
        assert painted.whole(view.viewport())
        if view is w.plot:  # the colour bar alone
            painted.rects.clear()
            bar = view.colorbar
            bar.setGeometry(bar.geometry().adjusted(0, 0, 0, -7))
            settle(qtbot)
            assert painted.whole(view.viewport())
        view.set_scale(1.0)


def test_a_trail_keeps_its_dark_casing_on_both_sides(qtbot):
    """The casing (opaque, square-capped since a translucent round-capped one took
    20-32 ms a repaint on a zig-zag) still rings the trail: just beside the line it
    is dark, a few pixels further the landscape shows."""
    from PySide6.QtCore import QPointF

    from optsim.functions import get_function
    from optsim.render.compute import RunStyle
    from optsim.render.plots import LossPlot
    from optsim.style import run_colour

    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.resize(640, 480)
    plot.show()
    qtbot.waitExposed(plot)
    plot.set_function(get_function("elongated-bowl"))
    plot.set_runs([RunStyle("sgd", run_colour(0))])
    path = np.array([[-1.5, 0.5], [1.5, 0.5], [1.5, -0.5]])  # across, then down
    plot.update_run(0, path)
    settle(qtbot)
    image = plot.grab().toImage()
    ratio = image.devicePixelRatio()
    vb = plot.getPlotItem().getViewBox()

    def grey(x: float, y: float, dy_px: float) -> float:
        """``dy_px`` device pixels below the point (cosmetic pens are drawn in
        device pixels)."""
        q = plot.mapFromScene(vb.mapViewToScene(QPointF(x, y)))
        c = image.pixelColor(int(q.x() * ratio), round(q.y() * ratio + dy_px))
        return (c.red() + c.green() + c.blue()) / 3

    for x in (-0.8, -0.2, 0.6):  # along the first segment, away from the dots
        for side in (-1, 1):
            assert grey(x, 0.5, side * 2.0) < 100, (x, side)  # the casing
            assert grey(x, 0.5, side * 8.0) > 110, (x, side)  # the landscape beyond it
