"""What a new user still saw in the window at a projector's 1280x720 (issue 12): the
runs legend left out of presentation mode, the status table's last column behind a
horizontal scroll bar with several docks open, the loss history's "loss (lo" label,
the Sweep tab raised by a preset, the Sweep map small and its empty axes' ticks on
top of each other. Measured from the widgets and items, not from timings."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtWidgets import QApplication
from windows import present_at, window_at

from optsim.gui.main_window import MainWindow
from optsim.render.compute import densify
from optsim.render.theme import FONT_PT
from optsim.scenarios import load_preset


def settle() -> None:
    for _ in range(4):
        QApplication.processEvents()


def scene_points(plot, pts) -> np.ndarray:
    vb = plot.getPlotItem().getViewBox()
    out = []
    for x, y in np.asarray(pts, dtype=float).reshape(-1, 2):
        if np.isfinite([x, y]).all():
            p = vb.mapViewToScene(QPointF(x, y))
            out.append((p.x(), p.y()))
    return np.array(out).reshape(-1, 2)


def drawn_in_scene(window) -> np.ndarray:
    """Every visible run's path to the shown step (every 2 px), the minima and the
    start marker, in scene pixels, where the view box shows them."""
    plot, m = window.plot, window.model
    view = plot.getPlotItem().getViewBox().sceneBoundingRect()
    lo, hi = (view.left(), view.top()), (view.right(), view.bottom())
    pts = [np.empty((0, 2))]
    for r in m.runs:
        if r.visible:
            k = r.displayed_step(m.shown_step)
            path = scene_points(plot, r.trajectory.positions[: k + 1, 0])
            pts.append(densify(path, 2.0, lo, hi) if len(path) > 1 else path)
    for item in (plot.minima, plot.start_marker):
        d = item.data
        pts.append(scene_points(plot, np.column_stack([d["x"], d["y"]])))
    pts = np.concatenate(pts)
    inside = ((pts[:, 0] >= lo[0]) & (pts[:, 0] <= hi[0]) & (pts[:, 1] >= lo[1])
              & (pts[:, 1] <= hi[1]))
    return pts[inside]


def covered(rect: QRectF, pts: np.ndarray) -> int:
    return int(((pts[:, 0] > rect.left()) & (pts[:, 0] < rect.right())
                & (pts[:, 1] > rect.top()) & (pts[:, 1] < rect.bottom())).sum())


# -- 1. presentation mode keeps the runs legend ----------------------------------------


@pytest.mark.parametrize("preset", ["adam", "himmelblau", "schedulefree", "elongated-valley"])
def test_presentation_mode_shows_the_runs_legend_readable_and_covering_nothing(
        qtbot, tmp_path, preset):
    w = window_at(qtbot, tmp_path, preset=preset)
    w.model.step_forward(40)
    present_at(w)  # (a 1280x720 projector's full screen, emulated)
    settle()
    plot = w.plot
    legend = plot.legend
    assert legend.isVisible() and legend.opacity() == 1.0, "the runs legend is shown"
    assert len(legend.items) >= len(w.model.runs)
    rect = legend.sceneBoundingRect()
    # whole inside the plot (not cut by its edges) and in large print
    assert plot.getPlotItem().sceneBoundingRect().adjusted(-1, -1, 1, 1).contains(rect)
    for _sample, label in legend.items:
        assert float(label.opts["size"].rstrip("pt")) >= 1.5 * FONT_PT
    # it covers no path, start or minimum, nor the arrows' key
    assert covered(rect, drawn_in_scene(w)) == 0
    for other in plot.legend_rects():
        if other != rect:
            assert not other.intersects(rect)
    # the picture keeps most of its size: the default range is still shown whole, at
    # least 0.85 of the scale it has without the legend
    vb = plot.getPlotItem().getViewBox()
    (x0, x1), (y0, y1) = plot.default_range()
    (vx0, vx1), (vy0, vy1) = vb.viewRange()
    assert vx0 <= x0 + 1e-9 and vx1 >= x1 - 1e-9 and vy0 <= y0 + 1e-9 and vy1 >= y1 - 1e-9
    with_legend = vb.viewPixelSize()[0]
    legend.hide()
    plot.place_legend()
    settle()
    assert with_legend <= vb.viewPixelSize()[0] / 0.85  # (data units per pixel)
    legend.show()
    # leaving puts the legend back in the plot area, the band gone
    w.set_presentation(False)
    settle()
    assert legend.isVisible()


# -- 2. the status table fits its panel --------------------------------------------------


@pytest.mark.parametrize("preset", ["newton-saddle", "himmelblau", "schedules-valley",
                                    "noise-floor", "adam", "beale"])
def test_status_columns_fit_without_a_horizontal_scroll_bar_at_720p(qtbot, tmp_path, preset):
    w = window_at(qtbot, tmp_path, preset=preset, docks=("geometry", "sweep"))
    t = w.status_table
    fm = t.fontMetrics()
    for k in (5, load_preset(preset).steps):
        w.model.step_forward(k - w.model.shown_step)
        settle()
        assert t.horizontalScrollBar().maximum() == 0, (preset, k)
        assert t.verticalScrollBar().maximum() == 0, (preset, k)  # every row in view
        last = t.columnCount() - 1
        assert t.columnViewportPosition(last) + t.columnWidth(last) <= t.viewport().width() + 1
        for c in t.NUMBER_COLUMNS:  # numbers whole
            for r in range(t.rowCount()):
                assert fm.horizontalAdvance(t.item(r, c).text()) <= t.columnWidth(c) - t.CELL_MARGIN
        for r in range(t.rowCount()):
            # names elided to their column, whole in the tooltip
            assert fm.horizontalAdvance(t.item(r, 0).text()) <= t.columnWidth(0) - 2 * t.CELL_MARGIN
            assert t.cell_text(r, 0) == w.model.runs[r].name
            # a status: every word whole, on as many lines as its row has
            shown = t.item(r, last).text()
            lines = round(t.rowHeight(r) / t.verticalHeader().defaultSectionSize())
            for word in shown.split(" "):
                assert fm.horizontalAdvance(word) <= t.columnWidth(last) - t.CELL_MARGIN, word
            if lines < 2:
                assert fm.horizontalAdvance(shown) <= t.columnWidth(last) - t.CELL_MARGIN
            assert t.item(r, last).toolTip() == t.cell_text(r, last)


def test_a_narrow_status_column_shows_marks_and_keeps_numbers_with_their_labels():
    from optsim.gui.main_window import status_shown

    assert status_shown("converged", False) == "converged"
    assert status_shown("converged", True) == "✓"
    assert status_shown("diverged", True) == "✗"
    assert status_shown("converged lr 0.01 ±0.05", True) == "✓ lr\u00a00.01 ±0.05"
    assert status_shown("hidden", True) == "hidden"


def test_status_numbers_are_short_and_exact_to_their_digits():
    from optsim.gui.main_window import _num

    assert _num(1.234e-5) == "1.23e-5" and _num(-4.56e12) == "-4.56e12"
    assert _num(0.04193) == "0.04193" and _num(12345.0) == "1.23e4"
    assert _num(0.001759) == "1.76e-3"
    assert float(_num(2.5e-7)) == 2.5e-7
    # a narrow table's short forms
    assert _num(1.34e-15, True) == "1.3e-15" and _num(0.04193, True) == "0.0419"
    assert _num(999.4, True) == "999" and _num(1234.0, True) == "1.2e3"


def test_a_fans_names_show_the_start_they_differ_in(qapp):
    """Four runs "GD from (±1, ±1)" in a 60-80 px name column read "…(−1, 1)", not
    "…1, 1)" twice."""
    from PySide6.QtGui import QFont, QFontMetrics

    from optsim.gui.main_window import distinct_elided

    names = ["GD from (1, 1)", "GD from (−1, 1)", "GD from (−1, −1)", "GD from (1, −1)"]
    metrics = QFontMetrics(QFont())
    for room in (60, 67, 80):
        out = distinct_elided(names, metrics, room)
        assert len(set(out)) == 4, out
        starts = [n[n.index("("):] for n in names]
        assert sum(o.endswith(st) for o, st in zip(out, starts, strict=True)) >= 3, (room, out)


# -- 3. the loss history's axis name reads whole --------------------------------------


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_loss_axis_name_fits_its_space_whole(qtbot, tmp_path, size):
    from PySide6.QtGui import QFontMetricsF

    w = window_at(qtbot, tmp_path, size, preset="schedulefree")  # a log scale
    w.model.step_forward(40)
    settle()
    history = w.history_plot
    for presenting in (False, True):
        if presenting:
            present_at(w, size)
            settle()
        axis = history.getPlotItem().getAxis("left")
        assert axis.logMode
        text = axis.labelText
        assert text in ("loss (log)", "loss")
        label = axis.label
        # the text's whole length (rotated: along the axis) lies inside the plot widget
        font = label.font()
        length = QFontMetricsF(font).horizontalAdvance(text)
        rect = label.sceneBoundingRect()
        margin = label.document().documentMargin()
        assert rect.height() - 2 * margin >= length - 1
        assert rect.top() + margin >= -0.5 and rect.bottom() - margin <= history.height() + 0.5, \
            (text, rect, history.height())
        if size[1] >= 1080 and not presenting:
            assert text == "loss (log)"  # (room for the whole name: it says the scale)


# -- 4. opening a scenario raises what the user expects ---------------------------------


def _front_tabs(w) -> set[str]:
    """The titles of the docks in front of their groups in the right column."""
    return {d.windowTitle() for d in w.dock_widgets()
            if d.isVisible() and not d.visibleRegion().isEmpty()}


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_a_scenario_without_notes_does_not_bring_the_sweep_view_to_the_front(
        qtbot, tmp_path, size):
    import json

    from optsim.gui.app import finish_start
    from optsim.scenarios import preset_path

    w = MainWindow(settings=str(tmp_path / "s.ini"), restore=False, defer_parts=True)
    qtbot.addWidget(w)
    w.resize(*size)
    w.apply_default_layout()
    w.show()
    qtbot.waitExposed(w)
    settle()
    finish_start(w)  # (the Sweep dock, tabbed with the inspector, and the menus)
    settle()
    fa = w.file_actions
    before = _front_tabs(w)
    assert "Sweep" not in before
    data = json.loads(preset_path("adam").read_text())
    data.pop("name")
    data.pop("description")
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps(data))
    # notes: in front; then a scenario without notes: what was in front before them
    assert fa.open_preset("adam")
    settle()
    assert "Scenario" in _front_tabs(w)
    assert fa.open_file(str(plain))
    settle()
    assert _front_tabs(w) == before
    # the user's own choice of tab comes back the same way
    w.function_dock.raise_()
    settle()
    chosen = _front_tabs(w)
    assert fa.open_preset("himmelblau")
    settle()
    assert "Scenario" in _front_tabs(w)
    assert fa.open_file(str(plain))
    settle()
    assert _front_tabs(w) == chosen and "Sweep" not in chosen
    # new notes come to the front even when the notes' tab was already open behind
    assert fa.open_preset("adam")
    w.sweep_dock.raise_()
    settle()
    assert fa.open_preset("himmelblau")
    settle()
    assert "Scenario" in _front_tabs(w) and "Sweep" not in _front_tabs(w)


# -- 5. the Sweep map at 1280x720 -------------------------------------------------------


def tick_label_rects(axis) -> list[tuple[QRectF, str]]:
    """The tick labels an axis draws, as pyqtgraph plans them: (rect, text)."""
    from PySide6.QtGui import QImage, QPainter

    image = QImage(8, 8, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        specs = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return [] if specs is None else [(rect, text) for rect, _flags, text in specs[2] if text]


def assert_apart(labels: list[tuple[QRectF, str]]) -> None:
    for i, (a, ta) in enumerate(labels):
        for b, tb in labels[i + 1:]:
            assert not a.intersects(b), (ta, tb, a, b)


def test_the_sweep_map_is_usable_at_720p_and_its_tick_labels_never_overlap(qtbot, tmp_path):
    w = window_at(qtbot, tmp_path, preset="adam", docks=("sweep",))
    panel = w.sweep_panel
    sweep = panel.plot
    w.sweep_dock.raise_()  # (over the preset's notes)
    settle()
    assert not w.sweep_dock.visibleRegion().isEmpty()
    # before Compute: the axes the map will have, named, their labels apart
    bottom, left = sweep.plot.getAxis("bottom"), sweep.plot.getAxis("left")
    assert "lr" in bottom.labelText and "momentum" in left.labelText
    for axis in (bottom, left):
        labels = tick_label_rects(axis)
        assert len(labels) >= 2, [t for _r, t in labels]
        assert_apart(labels)
    # (no empty title or key lines above and below it: 138 of 265 px before)
    assert sweep.plot.getViewBox().height() >= 0.65 * sweep.height()
    # an empty map in a narrow range (as pyqtgraph shows a plot with nothing in it)
    sweep.plot.getViewBox().setRange(xRange=(-0.5, 0.5), yRange=(-0.5, 0.5), padding=0)
    settle()
    for axis in (bottom, left):
        assert_apart(tick_label_rects(axis))
    # the panel never scrolls sideways
    assert panel.width() <= w.sweep_dock.width()
    # computed: the settings fold away and the map takes the panel
    panel.steps.setValue(20)
    panel.x_row.n.setValue(16)
    panel.y_row.n.setValue(12)
    panel.compute()
    qtbot.waitUntil(lambda: panel.job is None, timeout=60000)
    settle()
    assert panel._result is not None
    assert not panel.settings_scroll.isVisible() and not panel.settings_button.isChecked()
    vb = sweep.plot.getViewBox()
    assert vb.width() >= 0.6 * panel.width() and vb.height() >= 0.35 * panel.height(), \
        (vb.width(), vb.height(), panel.size())
    for axis in (bottom, left, sweep.colorbar.getAxis(sweep.bar_side)):
        labels = tick_label_rects(axis)
        assert len(labels) >= 2
        assert_apart(labels)
    # "Settings" brings them back
    panel.settings_button.click()
    settle()
    assert panel.settings_scroll.isVisible() and panel.settings_scroll.height() > 60


# -- what the walk through the window at 1280x720 also found ----------------------------


def test_a_long_optimizer_spec_wraps_in_the_inspector(qtbot, tmp_path):
    """lbfgs-rosenbrock's "lbfgs:max_iter=4,line_search_fn=strong_wolfe" ran past the
    inspector's width, behind a sideways scroll bar."""
    w = window_at(qtbot, tmp_path, preset="lbfgs-rosenbrock")
    w.model.step_forward(12)
    w.step_insight.dock.raise_()
    settle()
    browser = w.step_insight.panel.browser
    assert "line_search_fn" in browser.toPlainText()
    assert browser.horizontalScrollBar().maximum() == 0


def test_tick_labels_of_a_narrow_range_tell_their_ticks_apart(qtbot, tmp_path):
    """The Geometry dock's loss along adam's next step (3.860..3.870 at 1280x720)
    read "3.86×10⁰" at every tick."""
    from optsim.render.compute import tick_strings

    labels = tick_strings([3.860, 3.862, 3.864, 3.866], 0.002, plain=False)
    assert labels == ["3.860×10⁰", "3.862×10⁰", "3.864×10⁰", "3.866×10⁰"]
    assert tick_strings([1000, 2000, 3000], 1000, plain=False) == ["10³", "2×10³", "3×10³"]
    w = window_at(qtbot, tmp_path, preset="adam", docks=("geometry",))
    w.model.step_forward(40)
    w.geometry_view.dock.raise_()
    settle()
    qtbot.wait(300)  # (the dock refreshes on a short timer)
    settle()
    for plot in (w.geometry_view.panel.slice_plot, w.geometry_view.panel.stability_plot):
        texts = [t for _r, t in tick_label_rects(plot.getPlotItem().getAxis("left"))]
        assert len(texts) >= 2 and len(set(texts)) == len(texts), texts
        assert_apart(tick_label_rects(plot.getPlotItem().getAxis("left")))


def test_a_presets_formula_shows_its_start_in_the_function_panel(qtbot, tmp_path):
    w = window_at(qtbot, tmp_path, preset="edge-of-stability")
    w.function_dock.raise_()
    settle()
    edit = w.function_panel.formula_edit
    assert edit.text().startswith("0.02")
    assert edit.cursorPosition() == 0  # (the field shows its first characters)


def test_the_sweep_maps_colour_bar_goes_where_the_panel_has_room(qtbot, tmp_path):
    """Under the map in a panel taller than wide (1280x720), beside it in a wide,
    low one (the inspector's place at 1920x1080: under it the map kept ~20 px)."""
    for size, side in (((1280, 720), "bottom"), ((1920, 1080), "right")):
        w = window_at(qtbot, tmp_path, size, preset="schedules-valley", docks=("sweep",))
        panel, sweep = w.sweep_panel, w.sweep_panel.plot
        w.sweep_dock.raise_()
        settle()
        panel.steps.setValue(10)
        panel.x_row.n.setValue(8)
        panel.y_row.n.setValue(6)
        panel.compute()
        qtbot.waitUntil(lambda p=panel: p.job is None, timeout=60000)
        settle()
        qtbot.wait(50)
        settle()
        assert sweep.bar_side == side, size
        assert sweep.colorbar.isVisible()
        vb = sweep.plot.getViewBox()
        assert vb.height() >= 80 and vb.width() >= 150, (size, vb.width(), vb.height())
        assert_apart(tick_label_rects(sweep.colorbar.getAxis(sweep.bar_side)))
        w.close()


def test_the_sweep_maps_log_axes_and_colour_bar_use_one_format_each():
    """The map's colour bar read "1e-5  0.001  0.1  1  10" and its lr axis "0.0001"
    beside "1e-5" (issue 12, defect 11: one format per axis)."""
    from optsim.render.explore import log_ticks

    major, _minor = log_ticks(-5.03, -0.97)
    assert [t for _c, t in major] == ["10⁻⁵", "10⁻⁴", "10⁻³", "10⁻²", "10⁻¹"]
    major, minor = log_ticks(-2.1, -0.5)  # (under three decades: 2 and 5 labelled too)
    assert [t for _c, t in major + minor] == ["0.01", "0.1", "0.02", "0.05", "0.2"]


def test_the_landscape_is_drawn_where_it_is_after_presentation_mode_places_its_legends(
        qtbot, tmp_path):
    """Schedule-Free's bowl x² + 9y² in presentation mode at 1280x720: after the
    legends had a band beside the plot and came back in, the cached landscape was
    drawn 1.6 units off (its rings round (−1.6, 0)). A pixel test: the bowl's
    colours are symmetric in x."""
    w = window_at(qtbot, tmp_path, preset="schedulefree")
    w.model.step_forward(60)
    present_at(w)
    for _ in range(10):
        settle()
        qtbot.wait(20)
    qtbot.wait(200)  # (the landscape's grid grows 150 ms after a range change)
    settle()
    plot = w.plot
    image = plot.grab().toImage()
    ratio = image.devicePixelRatio()
    vb = plot.getPlotItem().getViewBox()

    def colour(x, y):
        q = plot.mapFromScene(vb.mapViewToScene(QPointF(x, y)))
        c = image.pixelColor(int(q.x() * ratio), int(q.y() * ratio))
        return np.array([c.red(), c.green(), c.blue()], dtype=float)

    # two rows under the paths and the keys: mean colour difference of mirror points
    diffs = [np.abs(colour(x, y) - colour(-x, y)).mean()
             for y in (-0.8, -1.1) for x in np.linspace(1.2, 3.6, 120)]
    assert np.mean(diffs) <= 2.0, np.mean(diffs)  # (1.1 drawn right; 2.8 drawn 1.6 off)


# -- the Sweep map is the dock's main part (1280x720 and the 1824x1026 a 1080p screen opens) --


def sweep_texts(sweep) -> list[tuple[QRectF, str]]:
    """Every text the map draws, as (rect in the widget, what): the title's and the
    note's lines, the axes' and the colour bar's names (their text, without Qt's
    margin round it) and every tick label."""
    out = []
    for name, label in (("title", sweep.title), ("note", sweep.note)):
        if label.isVisible() and label.item.toPlainText().strip():
            m = label.item.document().documentMargin()
            rect = label.item.boundingRect().adjusted(m, m, -m, -m)
            out.append((sweep.mapFromScene(label.item.mapRectToScene(rect)).boundingRect(), name))
    axes = [sweep.plot.getAxis("bottom"), sweep.plot.getAxis("left")]
    if sweep.colorbar.isVisible():
        axes.append(sweep.colorbar.getAxis(sweep.bar_side))
    for axis in axes:
        label = axis.label
        if label.isVisible() and label.toPlainText():
            m = label.document().documentMargin()
            rect = label.boundingRect().adjusted(m, m, -m, -m)
            out.append((sweep.mapFromScene(label.mapRectToScene(rect)).boundingRect(),
                        label.toPlainText()))
        out += [(sweep.mapFromScene(axis.mapRectToScene(r)).boundingRect(), t)
                for r, t in tick_label_rects(axis)]
    return out


def _computed(qtbot, tmp_path, size, metric="final-loss", preset=None):
    w = window_at(qtbot, tmp_path, size, preset=preset, docks=("sweep",))
    panel = w.sweep_panel
    w.sweep_dock.raise_()
    settle()
    panel.metric_box.setCurrentText(metric)
    panel.steps.setValue(30)
    panel.x_row.n.setValue(24)
    panel.y_row.n.setValue(16)
    panel.compute()
    qtbot.waitUntil(lambda: panel.job is None and panel._result is not None, timeout=60000)
    for _ in range(3):
        settle()
        qtbot.wait(20)
    return w, panel, panel.plot


# the map's data area, docked: at least this many pixels a side and this share of the
# dock's area (before: 186x115 px, 0.16 of the dock at 1824x1026; 222x166, 0.25 at 1280x720)
MAP_SIDE_PX = {(1280, 720): 220, (1824, 1026): 180}
MAP_SHARE = {(1280, 720): 0.35, (1824, 1026): 0.27}


@pytest.mark.parametrize("size", [(1280, 720), (1824, 1026)])
@pytest.mark.parametrize("metric", ["final-loss", "steps-to-tol"])
def test_the_docked_sweep_map_is_the_docks_main_part_and_its_texts_are_whole_and_apart(
        qtbot, tmp_path, size, metric):
    w, panel, sweep = _computed(qtbot, tmp_path, size, metric)
    dock = w.sweep_dock
    assert not dock.isFloating() and not dock.visibleRegion().isEmpty()
    assert not panel.settings_scroll.isVisible()  # folded: the map has their room
    assert panel.plot.height() >= dock.height() - 60  # the plot takes the dock's height
    vb = sweep.plot.getViewBox()
    w_px, h_px = vb.width(), vb.height()
    assert min(w_px, h_px) >= MAP_SIDE_PX[size], (w_px, h_px)
    assert w_px * h_px >= MAP_SHARE[size] * dock.width() * dock.height(), \
        (w_px, h_px, dock.size())
    # every text whole inside the widget and apart from every other
    texts = sweep_texts(sweep)
    names = [t for _r, t in texts]
    assert "title" in names and "note" in names and sweep.colorbar.isVisible()
    inside = QRectF(sweep.rect()).adjusted(-1, -1, 1, 1)
    for rect, text in texts:
        assert inside.contains(rect), (text, rect, sweep.size())
    assert_apart(texts)
    # names fitted to their room, the full ones in the tooltip
    bar = sweep.colorbar.getAxis(sweep.bar_side)
    assert len(tick_label_rects(bar)) >= 3
    assert bar.label.toPlainText().strip().split(" (")[0] in ("final loss f(w_T)", "final loss",
                                                       "steps until f − f* < tol", "steps to tol")
    assert "100" in sweep.title.item.toPlainText() or "30 steps" in sweep.title.item.toPlainText()
    assert "30 steps" in sweep.toolTip() and "colour: " in sweep.toolTip()
    # the key: the star, the dashed edge, the grey cells (the bowl is a quadratic)
    note = sweep.note.item.toPlainText()
    assert "★" in note and "dashed" in note and "grey" in note and "…" not in note
    assert len(note.splitlines()) <= 3
    # the run's marker (SGD: momentum 0, the map's bottom edge) and the star whole
    view = vb.sceneBoundingRect().adjusted(-0.5, -0.5, 0.5, 0.5)
    for item in (sweep.marker, sweep.optimum):
        assert len(item.data) == 1
        assert view.contains(item.mapRectToScene(item.boundingRect())), item
    # the header: one row, nothing cut; Cancel and the progress gone once done
    assert not panel.cancel_button.isVisible() and not panel.progress.isVisible()
    for b in (panel.settings_button, panel.compute_button, panel.pop_button):
        assert b.isVisible() and b.width() >= b.minimumSizeHint().width()
        assert b.geometry().right() <= panel.width()
    w.close()


@pytest.mark.parametrize("size", [(1280, 720), (1824, 1026)])
def test_pop_out_shows_the_sweep_map_large_and_docks_it_back(qtbot, tmp_path, size):
    w, panel, sweep = _computed(qtbot, tmp_path, size)
    dock = w.sweep_dock
    vb = sweep.plot.getViewBox()
    docked = (vb.width(), vb.height())
    assert sweep.compact and not sweep.readout.isVisible()
    panel.pop_button.click()
    qtbot.waitUntil(lambda: dock.isFloating(), timeout=3000)
    for _ in range(3):
        settle()
        qtbot.wait(20)
    assert panel.pop_button.text() == "Dock" and panel.pop_button.isChecked()
    # (the test screen is 800x800: the window's 62% x 85%, within the screen)
    assert vb.width() * vb.height() >= 3 * docked[0] * docked[1], (vb.width(), vb.height(), docked)
    assert min(vb.width(), vb.height()) >= 1.5 * min(docked)
    # large: the whole layout, in full words, the hover read-out under the map
    assert not sweep.compact and sweep.readout.isVisible()
    assert sweep.colorbar.getAxis(sweep.bar_side).label.toPlainText().strip() == \
        "final loss f(w_T) (log scale)"
    assert "rate" in sweep.note.item.toPlainText()  # (the heavy ball's rate, in full)
    inside = QRectF(sweep.rect()).adjusted(-1, -1, 1, 1)
    texts = sweep_texts(sweep)
    assert all(inside.contains(r) for r, _t in texts)
    assert_apart(texts)
    # again: back in its dock, among its tabs, compact
    panel.pop_button.click()
    qtbot.waitUntil(lambda: not dock.isFloating(), timeout=3000)
    for _ in range(3):
        settle()
        qtbot.wait(20)
    assert panel.pop_button.text() == "Pop out" and not panel.pop_button.isChecked()
    assert w.tabifiedDockWidgets(dock), "back among its tabs"
    assert sweep.compact
    assert (vb.width(), vb.height()) == pytest.approx(docked, abs=2)
    # the dock's own float button is followed too
    dock.setFloating(True)
    settle()
    assert panel.pop_button.isChecked() and panel.pop_button.text() == "Dock"
    assert panel.large_action.isChecked()
    dock.setFloating(False)
    settle()
    assert not panel.pop_button.isChecked() and not panel.large_action.isChecked()
    # and View > Sweep map large (Ctrl+M, from the floating dock too) does the same
    action = panel.large_action
    assert action in w.view_menu.actions() and action.shortcut().toString() == "Ctrl+M"
    assert action.shortcutContext() == Qt.ShortcutContext.ApplicationShortcut
    action.trigger()
    qtbot.waitUntil(lambda: dock.isFloating(), timeout=3000)
    assert panel.pop_button.isChecked()
    action.trigger()
    qtbot.waitUntil(lambda: not dock.isFloating(), timeout=3000)
    assert not panel.pop_button.isChecked()
    w.close()


def test_a_sweep_picture_keeps_its_whole_layout_whatever_its_size(qtbot):
    """The command line's pictures are not laid out as the dock: full names, the
    read-out's row, the range flush with the cells; "< tol" is text, not a tag."""
    import optsim
    from optsim.export.explore import sweep_widget

    res = optsim.sweep("elongated-bowl", "momentum:lr=0.02", x="lr=0.01:0.3:6:log",
                       y="momentum=0:0.9:4", start=(-1, 1), steps=30, metric="steps-to-tol")
    small = sweep_widget(res, (360, 330))
    try:
        assert not small.compact
        bar = small.colorbar.getAxis(small.bar_side)
        assert bar.label.toPlainText().strip() == "steps until f − f* < tol"
        assert small.plot.getAxis("bottom").label.toPlainText().strip() == "lr (log scale)"
        assert "rate" in small.note.item.toPlainText()
        (x0, x1), (y0, y1) = small.plot.getViewBox().viewRange()
        assert (x0, x1) == pytest.approx(res.x_axis and small.axes[0].edges())
        assert (y0, y1) == pytest.approx(small.axes[1].edges())
    finally:
        small.close()


def test_compact_lines_prefer_fewer_lines_and_whole_parts(qtbot):
    from PySide6.QtGui import QFontMetricsF

    from optsim.render.explore import fit_lines, text_font

    font = text_font(11)
    fm = QFontMetricsF(font)
    star = ("★ fastest in theory: lr 0.125, momentum 0.25, rate 0.5 (κ = 9)",
            "★ fastest in theory: lr 0.125, momentum 0.25", "★ fastest: lr 0.125, momentum 0.25")
    items = [star, ("dashed: stability edge",), ("grey: diverged",)]
    wide = fit_lines(items, font, 2000)
    assert wide == [" · ".join([star[0], "dashed: stability edge", "grey: diverged"])]
    for width in (360, 320, 285):  # (the docks at 1824x1026 and 1280x720: ~347, ~290)
        lines = fit_lines(items, font, width)
        assert 1 <= len(lines) <= 3 and all(fm.horizontalAdvance(t) <= width for t in lines)
        text = " ".join(lines)
        assert "momentum 0.25" in text and "dashed" in text and "grey" in text, lines
        assert any(t.startswith("★") and "lr 0.125, momentum 0.25" in t for t in lines), lines
    # too little room: whole parts left out after "…", never a number cut
    lines = fit_lines(items, font, 120)
    assert len(lines) <= 3
    for t in lines:
        assert fm.horizontalAdvance(t) <= 120
        assert "0.1…" not in t and "0.12…" not in t


@pytest.mark.parametrize("size", [(1280, 720), (1824, 1026)])
def test_a_docked_map_of_negative_losses_keeps_its_colour_bar_labelled(qtbot, tmp_path, size):
    """The saddle's losses run to −3×10⁶ (a linear bar, labels "-3e+06"): the bar
    is made as wide as the labels it draws, not as the widest of every level
    ("-3.5e+06": 30 px of the map's width), and draws several."""
    w, panel, sweep = _computed(qtbot, tmp_path, size, preset="saddle")
    vb = sweep.plot.getViewBox()
    assert min(vb.width(), vb.height()) >= 0.9 * MAP_SIDE_PX[size], (vb.width(), vb.height())
    bar = sweep.colorbar.getAxis(sweep.bar_side)
    labels = tick_label_rects(bar)
    assert len(labels) >= 3, [t for _r, t in labels]
    if sweep.bar_side == "right":  # as wide as its drawn labels and its name need
        widest = max(r.width() for r, _t in labels)
        need = widest + bar.style["tickTextOffset"][0] + max(0, bar.style["tickLength"]) \
            + bar.label.boundingRect().height()
        assert bar.width() <= need + 4, (bar.width(), need)
    texts = sweep_texts(sweep)
    inside = QRectF(sweep.rect()).adjusted(-1, -1, 1, 1)
    assert all(inside.contains(r) for r, _t in texts), [t for r, t in texts if not inside.contains(r)]
    assert_apart(texts)
    w.close()


@pytest.mark.parametrize("preset", ["zigzag-bowl", "adam", "schedulefree"])
@pytest.mark.parametrize("presentation", [False, True])
def test_every_axis_name_is_whole_inside_its_plot(qtbot, tmp_path, preset, presentation):
    """pyqtgraph places an axis' name only when the axis is resized: in presentation
    mode the history's name changed to "loss (log)" after its last resize and
    reached 31 px above the plot ("loss (log" cut, zigzag-bowl at 1280x720)."""
    w = window_at(qtbot, tmp_path, preset=preset)
    if presentation:
        present_at(w)
    for _ in range(8):
        settle()
        qtbot.wait(20)
    w.model.step_forward(12)
    settle()
    for view in (w.plot, w.history_plot):
        plot = view.getPlotItem()
        axes = [a["item"] for a in plot.axes.values()]
        if getattr(view, "colorbar", None) is not None and view.colorbar.isVisible():
            axes.append(view.colorbar.getAxis("right"))
        for axis in axes:
            if not (axis.isVisible() and axis.label.isVisible() and axis.labelText):
                continue
            label = axis.label
            m = label.document().documentMargin()  # (the text's box, less its margin)
            text = label.boundingRect().adjusted(m, m, -m, -m)
            rect = view.mapFromScene(label.mapRectToScene(text)).boundingRect()
            # (3 px: a line's descent below an "x" is part of the text's box)
            assert view.rect().adjusted(-3, -3, 3, 3).contains(rect), \
                (type(view).__name__, axis.orientation, axis.labelText, rect, view.rect())
