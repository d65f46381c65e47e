"""The desktop window driven as a user would (pytest-qt, offscreen): playback,
clicks on the plot, the function and optimizer panels, divergence, shortcuts."""

import weakref

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from optsim import simulate
from optsim.functions import get_function
from optsim.gui.main_window import SHORTCUTS, TITLE, MainWindow

#: how long a test waits for playback or focus (a generous bound for a loaded
#: machine: waiting is not a timing assertion; a passing test returns at once)
WAIT_MS = 30_000


def marker(w, i):
    x, y = w.plot.run_items(i).marker.getData()
    return np.array([x[-1], y[-1]])


def trail(w, i):
    x, y = w.plot.run_items(i).trail.getData()
    return np.column_stack([x, y])


def engine_positions(w, i, steps):
    m = w.model
    return simulate(m.function, m.runs[i].optimizer.spec, m.start, steps)


def test_first_screen_is_a_ready_comparison(window):
    m = window.model
    assert window.windowTitle() == TITLE
    assert m.function.name == "elongated-bowl"
    names = [r.optimizer.name for r in m.runs]
    assert names[:2] == ["sgd", "momentum"] and "adam" in names and len(names) == 4
    assert len({r.colour for r in m.runs}) == 4
    assert window.plot.hasFocus() or QApplication.focusWidget() in (None, window.plot)
    window.playback.step_action.trigger()
    (x0, x1), (y0, y1) = m.view
    span = min(x1 - x0, y1 - y0)
    moves = [np.linalg.norm(marker(window, i) - m.start) for i in range(4)]
    assert min(moves) > 0.01 * span  # every method visibly moves on the first step
    # and they differ visibly from each other
    pts = [marker(window, i) for i in range(4)]
    assert min(np.linalg.norm(a - b) for k, a in enumerate(pts) for b in pts[k + 1:]) > 0.01 * span


def test_step_moves_every_visible_run_to_the_engines_positions(window):
    m = window.model
    m.set_run_visible(3, False)
    for _ in range(3):
        window.playback.step_action.trigger()
    assert m.shown_step == 3
    for i in range(3):
        exp = engine_positions(window, i, 3)
        np.testing.assert_allclose(marker(window, i), exp[3], rtol=0, atol=1e-12)
        np.testing.assert_allclose(trail(window, i), exp, rtol=0, atol=1e-12)
    assert m.runs[3].trajectory.steps == 0
    assert not window.plot.run_items(3).marker.isVisible()
    # the loss lines show the engine's losses
    xs, ys = window.history_plot.line(0).getData()
    exp = engine_positions(window, 0, 3)
    np.testing.assert_allclose(ys, exp[:, 0] ** 2 + 9 * exp[:, 1] ** 2, rtol=1e-12)
    assert window.toolbar.step_label.text().strip() == "step 3"
    assert window.status_table.cell_text(0, 1) == "3"
    # one step back shows step 2 of the history
    window.playback.back_action.trigger()
    np.testing.assert_allclose(marker(window, 0), engine_positions(window, 0, 2)[2], atol=1e-12)
    assert window.toolbar.step_label.text().strip() == "step 2 of 3"


def test_run_pause_and_reset(window, qtbot):
    m = window.model
    window.playback.run_action.trigger()
    assert window.playback.playing
    qtbot.waitUntil(lambda: m.shown_step >= 5, timeout=WAIT_MS)
    window.playback.run_action.trigger()
    assert not window.playback.playing
    k = m.shown_step
    qtbot.wait(150)
    assert m.shown_step == k
    np.testing.assert_allclose(marker(window, 1), engine_positions(window, 1, k)[k], atol=1e-12)
    window.playback.reset_action.trigger()
    assert m.shown_step == 0 and all(r.trajectory.steps == 0 for r in m.runs)
    np.testing.assert_allclose(marker(window, 0), m.start)


def test_the_toolbar_does_not_shift_when_run_becomes_pause(window):
    tb = window.toolbar
    widgets = [tb.widgetForAction(a) for a in tb.actions() if tb.widgetForAction(a) is not None]
    before = [(w.x(), w.width()) for w in widgets]
    window.playback.set_playing(True)
    QApplication.processEvents()
    assert window.playback.run_action.text() == "Pause"
    assert [(w.x(), w.width()) for w in widgets] == before
    window.playback.set_playing(False)
    QApplication.processEvents()
    assert [(w.x(), w.width()) for w in widgets] == before


def test_max_steps_stops_playback(window, qtbot):
    window.toolbar.max_steps_spin.setValue(12)
    window.toolbar.max_box.setChecked(True)
    window.playback.run_action.trigger()
    qtbot.waitUntil(lambda: not window.playback.playing, timeout=WAIT_MS)
    assert window.model.shown_step == 12
    window.playback.step_action.trigger()  # the limit holds for Step too
    assert window.model.shown_step == 12


def click_at(window, qtbot, x, y):
    vb = window.plot.getPlotItem().getViewBox()
    scene = vb.mapViewToScene(QPointF(x, y))
    pixel = window.plot.mapFromScene(scene)
    QTest.mouseClick(window.plot.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.NoModifier, pixel)


def test_click_on_the_plot_sets_the_start(window, qtbot):
    m = window.model
    window.playback.step(4)
    assert not window.plot.legend.sceneBoundingRect().contains(
        window.plot.getPlotItem().getViewBox().mapViewToScene(QPointF(0.5, -0.5)))
    click_at(window, qtbot, 0.5, -0.5)
    qtbot.waitUntil(lambda: m.shown_step == 0, timeout=WAIT_MS)
    # within a pixel or so of where we clicked
    (x0, x1), (y0, y1) = window.plot.getPlotItem().getViewBox().viewRange()
    px = (x1 - x0) / window.plot.width()
    np.testing.assert_allclose(m.start, [0.5, -0.5], atol=3 * px)
    assert window.function_panel.start_x.value() == pytest.approx(m.start[0])
    for i in range(len(m.runs)):
        assert m.runs[i].trajectory.steps == 0
        np.testing.assert_allclose(marker(window, i), m.start)
    sx, sy = window.plot.start_marker.getData()
    np.testing.assert_allclose([sx[0], sy[0]], m.start)


def test_a_click_gives_a_start_rounded_to_the_views_precision(window, qtbot):
    """Defect 17: a click gave -1.2345678901 as the start."""
    from optsim.gui.main_window import round_to_pixel

    assert round_to_pixel(-1.23456789, 0.005) == -1.23  # (log10 0.005 = -2.3: 2 places)
    assert round_to_pixel(0.123456, 0.0004) == 0.123
    assert round_to_pixel(1234.567, 3.0) == 1235.0
    assert round_to_pixel(1234.567, 40.0) == 1200.0  # (100 is nearer 40 than 10 is, in log)
    assert round_to_pixel(0.5, float("nan")) == 0.5
    m = window.model
    click_at(window, qtbot, 0.3137, -0.4271)
    qtbot.waitUntil(lambda: m.start[0] != -1.0, timeout=WAIT_MS)
    px, py = window.plot.getPlotItem().getViewBox().viewPixelSize()
    for v, pixel in zip(m.start, (px, py), strict=True):
        places = -round(np.log10(pixel))
        assert v == round(v, places)  # no more digits than a pixel has
        assert len(repr(float(v))) <= 8
    np.testing.assert_allclose(m.start, [0.3137, -0.4271], atol=3 * max(px, py))
    assert f"start moved to {m.start[0]:g}, {m.start[1]:g}" in window.statusBar().currentMessage()


def test_click_in_1d_sets_x(window, qtbot):
    window.function_panel.choose("cubic")
    m = window.model
    assert m.function.dim == 1
    # a point of the plot the legend does not cover (clicks on the legend are ignored)
    vb = window.plot.getPlotItem().getViewBox()
    legend = window.plot.legend.sceneBoundingRect()
    y = next(y for y in (0.0, 100.0, -30.0, 60.0)
             if not legend.contains(vb.mapViewToScene(QPointF(5.0, y))))
    click_at(window, qtbot, 5.0, y)
    qtbot.waitUntil(lambda: abs(m.start[0] - 5.0) < 0.1, timeout=WAIT_MS)
    assert m.start.shape == (1,)
    window.playback.step_action.trigger()
    x, y = window.plot.run_items(0).marker.getData()
    exp = engine_positions(window, 0, 1)
    assert x[-1] == pytest.approx(exp[1, 0])
    assert y[-1] == pytest.approx(exp[1, 0] ** 3 - 5 * exp[1, 0] ** 2 + 10)
    # the tangent at the current point has the derivative's slope
    tx, ty = window.plot.run_items(0).tangent.getData()
    slope = (ty[1] - ty[0]) / (tx[1] - tx[0])
    assert slope == pytest.approx(3 * exp[1, 0] ** 2 - 10 * exp[1, 0], rel=1e-9)


def test_switching_function_resets_and_redraws(window):
    m = window.model
    window.playback.step(5)
    before = window.plot.image.image.copy()
    window.function_panel.choose("rosenbrock")
    ros = get_function("rosenbrock")
    assert m.function is ros and m.shown_step == 0
    np.testing.assert_array_equal(m.start, ros.start)
    assert window.plot.image.image.shape != before.shape or \
        not np.allclose(window.plot.image.image, before)
    for i in range(len(m.runs)):
        np.testing.assert_allclose(marker(window, i), ros.start)
    mx, my = window.plot.minima.getData()
    assert (mx[0], my[0]) == (1.0, 1.0)
    assert window.function_panel.xmin.value() == ros.view[0][0]
    window.playback.step_action.trigger()
    np.testing.assert_allclose(marker(window, 0), engine_positions(window, 0, 1)[1], atol=1e-12)


def test_bad_formula_shows_its_error_and_changes_nothing(window, qtbot):
    m = window.model
    window.playback.step(2)
    fn, trajs = m.function, [r.trajectory for r in m.runs]
    image = window.plot.image.image.copy()
    panel = window.function_panel
    panel.formula_edit.setText("x +* y")
    QTest.keyClick(panel.formula_edit, Qt.Key.Key_Return)
    assert panel.formula_error.isVisible() and panel.formula_error.text()
    assert "color: #B00020" in panel.formula_error.styleSheet()
    assert m.function is fn and m.shown_step == 2
    assert [r.trajectory for r in m.runs] == trajs
    np.testing.assert_array_equal(window.plot.image.image, image)
    # an unknown name is an error too, and a good choice clears the message
    panel.formula_edit.setText("nosuchfunction")
    assert not panel.apply_formula()
    panel.choose("bowl")
    assert not panel.formula_error.isVisible()


def test_a_preset_clears_a_rejected_formula_and_takes_the_focus_from_the_field(window, qtbot):
    """Defect 7: after a preset loaded, the bad formula and its red error stayed and
    the focus stayed in the field, so Space typed a space instead of running."""
    from optsim.gui import file_actions

    fa = file_actions.install(window)
    panel = window.function_panel
    window.function_dock.raise_()
    edit = panel.formula_edit
    edit.setFocus()
    qtbot.waitUntil(edit.hasFocus, timeout=WAIT_MS)
    QTest.keyClicks(edit, "x +* y")
    QTest.keyClick(edit, Qt.Key.Key_Return)
    assert panel.formula_error.isVisible() and edit.hasFocus()
    assert fa.open_preset("adam")
    assert not panel.formula_error.isVisible() and edit.text() == ""
    assert not edit.hasFocus() and window.plot.hasFocus()
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Space)
    assert window.playback.playing
    window.playback.set_playing(False)
    # a typed formula that is used stays in its field, as typed
    edit.setFocus()
    qtbot.waitUntil(edit.hasFocus, timeout=WAIT_MS)
    edit.setText("x^2 + 3*y^2")
    QTest.keyClick(edit, Qt.Key.Key_Return)
    assert window.model.function.is_custom and edit.text() == "x^2 + 3*y^2"
    assert edit.hasFocus()  # the user's own edit: the field keeps the focus


@pytest.mark.parametrize("typed", ["x^2 + 3*y^2", "x**2 + 3*y**2"])
def test_a_typed_formulas_title_is_typeset_however_it_was_typed(window, typed):
    """Defect 17: the title showed "x**2 + 3*y**2" when x^2 + 3*y^2 was typed."""
    panel = window.function_panel
    panel.formula_edit.setText(typed)
    assert panel.apply_formula()
    assert window.figure.title.text() == "f(x, y) = x² + 3·y²"
    panel.formula_edit.setText("x^4 - x")
    assert panel.apply_formula()
    assert window.figure.title.text() == "f(x) = x⁴ − x"


def test_formula_becomes_the_function(window):
    panel = window.function_panel
    panel.formula_edit.setText("x**2 + 4*y**2")
    assert panel.apply_formula(), panel.formula_error.text()
    m = window.model
    assert m.function.is_custom and m.function.dim == 2
    assert panel.combo.currentText().strip() == "custom formula"
    window.playback.step_action.trigger()
    r = m.runs[0]
    p0 = m.start
    np.testing.assert_allclose(r.trajectory.positions[1, 0], p0 - 0.02 * np.array([2, 8]) * p0)


def test_combo_groups_functions_by_dimension(window):
    panel = window.function_panel
    items = panel._items
    headers = [r for r in range(items.rowCount()) if not items.item(r).data(Qt.ItemDataRole.UserRole)]
    assert len(headers) >= 2
    for r in headers:
        assert not (items.item(r).flags() & Qt.ItemFlag.ItemIsSelectable)
    dims = [get_function(n).dim for n in panel.function_names() if n != "custom formula"]
    assert dims == sorted(dims) and set(dims) == {1, 2}


def test_view_window_is_editable(window):
    panel = window.function_panel
    panel.xmax.setValue(3.0)
    assert window.model.view[0] == (-2.0, 3.0)
    (x0, x1), _ = window.plot.getPlotItem().getViewBox().viewRange()
    assert x1 == pytest.approx(3.0, abs=0.2)
    panel.xmin.setValue(5.0)  # xmin > xmax: refused with a message
    assert window.model.view[0] == (-2.0, 3.0)
    assert panel.view_error.isVisible() and "xmin < xmax" in panel.view_error.text()
    window.plot.getPlotItem().getViewBox().setRange(xRange=(-0.1, 0.1))
    window.reset_view_action.trigger()
    (x0, x1), _ = window.plot.getPlotItem().getViewBox().viewRange()
    assert x0 == pytest.approx(-2.0, abs=0.2) and x1 == pytest.approx(3.0, abs=0.2)


def test_add_remove_duplicate_runs(window, qtbot):
    m, panel = window.model, window.runs_panel
    window.playback.step(2)
    panel.add_button.click()
    assert len(m.runs) == 5 and m.selected == 4
    assert panel.tree.topLevelItemCount() == 5
    assert len(window.plot.legend.items) == 5
    np.testing.assert_allclose(marker(window, 4), engine_positions(window, 4, 2)[2], atol=1e-12)
    m.select(1)
    panel.duplicate_button.click()
    assert len(m.runs) == 6 and m.selected == 2
    assert m.runs[2].optimizer == m.runs[1].optimizer
    np.testing.assert_allclose(marker(window, 2), marker(window, 1), atol=1e-12)
    panel.remove_button.click()
    assert len(m.runs) == 5 and panel.tree.topLevelItemCount() == 5
    assert [r.optimizer.name for r in m.runs][:2] == ["sgd", "momentum"]
    assert window.status_table.rowCount() == 5


def test_runs_list_edits_visibility_and_name(window):
    m, tree = window.model, window.runs_panel.tree
    item = tree.topLevelItem(2)
    item.setCheckState(0, Qt.CheckState.Unchecked)
    assert not m.runs[2].visible
    assert not window.plot.run_items(2).trail.isVisible()
    item.setText(0, "RMSProp (course)")
    assert m.runs[2].name == "RMSProp (course)"
    assert "RMSProp (course)" in [lab.text for _, lab in window.plot.legend.items]
    m.set_run_colour(0, "#000000")
    assert window.plot.run_items(0).marker.opts["brush"].color().name() == "#000000"


def test_editing_a_hyperparameter_restarts_only_that_run(window):
    m, panel = window.model, window.runs_panel
    window.playback.step(5)
    m.select(1)
    others = {i: (r.trajectory, r.trajectory.positions.copy()) for i, r in enumerate(m.runs)
              if i != 1}
    lr = panel.editor.editor("lr")
    lr.setValue(0.004)  # as the spin box does when the user commits a value
    r = m.runs[1]
    assert r.optimizer.hp["lr"] == 0.004 and r.optimizer.name == "momentum"
    np.testing.assert_array_equal(r.trajectory.positions[:, 0], engine_positions(window, 1, 5))
    np.testing.assert_allclose(marker(window, 1), engine_positions(window, 1, 5)[5], atol=1e-12)
    for i, (traj, pos) in others.items():
        assert m.runs[i].trajectory is traj
        np.testing.assert_array_equal(traj.positions, pos)
    # the log slider follows, and moving it sets the value on a log scale
    slider = panel.editor.slider("lr")
    slider.setValue(slider.maximum())
    assert r is m.runs[1] and m.runs[1].optimizer.hp["lr"] == pytest.approx(slider.log_value(), rel=1e-2)


def test_editors_are_generated_from_the_declarations(window):
    m, panel = window.model, window.runs_panel
    m.select(3)  # adam
    decl = {p.name: p for p in m.runs[3].optimizer.declared}
    for name, p in decl.items():
        w = panel.editor.editor(name)
        assert p.help in w.toolTip()
        if p.kind is bool:
            assert w.isChecked() == m.runs[3].optimizer.hp[name]
        else:
            assert w.value() == pytest.approx(m.runs[3].optimizer.hp[name])
            if p.low is not None:
                assert w.minimum() >= p.low
            if p.high is not None:
                assert w.maximum() <= p.high
    beta1 = panel.editor.editor("beta1")
    assert beta1.maximum() < 1.0  # the open bound [0, 1)
    beta1.lineEdit().selectAll()
    QTest.keyClicks(beta1.lineEdit(), "1")
    assert panel.error_label.isVisible()
    assert "beta1 must be in [0, 1)" in panel.error_label.text()
    assert m.runs[3].optimizer.hp["beta1"] == 0.9
    # switching the type regenerates the editors
    panel.kind_combo.setCurrentText("sgd")
    panel.kind_combo.activated.emit(panel.kind_combo.currentIndex())
    assert m.runs[3].optimizer.name == "sgd"
    assert m.runs[3].optimizer.hp["lr"] == 0.05  # the changed learning rate is kept
    assert isinstance(panel.editor.editor("nesterov").isChecked(), bool)


def test_a_given_name_and_the_legend_follow_a_change_of_optimizer_type(window):
    """Defect 17: a run named "sgd" by the window kept that name (and legend entry)
    after its type was changed to NAdam."""
    m, panel = window.model, window.runs_panel

    def choose(kind):
        panel.kind_combo.setCurrentText(kind)
        panel.kind_combo.activated.emit(panel.kind_combo.currentIndex())

    def legend():
        return [label.text for _sample, label in window.plot.legend.items]

    names = [r.name for r in m.runs]
    assert names[0] == "sgd" and "adam" in names
    m.select(0)
    choose("nadam")
    assert m.runs[0].optimizer.name == "nadam" and m.runs[0].name == "nadam"
    assert legend()[0] == "nadam" and panel.tree.topLevelItem(0).text(0) == "nadam"
    choose("adam")  # "adam" is taken by another run
    assert m.runs[0].name == "adam 2" and legend()[0] == "adam 2"
    m.rename_run(0, "my favourite")  # a name the user gave stays
    choose("sgd")
    assert m.runs[0].optimizer.name == "sgd" and m.runs[0].name == "my favourite"
    assert legend()[0] == "my favourite"


def test_a_selected_runs_swatch_stays_visible(window):
    """Defect 17: the sky-blue swatch disappeared in the blue selection highlight."""
    from optsim.gui.runs_panel import SELECTION_COLOUR
    from optsim.style import OKABE_ITO

    m, tree = window.model, window.runs_panel.tree
    window.runs_dock.raise_()
    sky = next(i for i, r in enumerate(m.runs) if r.colour.lower() == "#56b4e9")
    m.select(sky)
    QApplication.processEvents()
    rect = tree.visualItemRect(tree.topLevelItem(sky))
    image = tree.viewport().grab(rect).toImage()

    def near(c, target, tol=12):
        return all(abs(a - b) <= tol for a, b in zip(c, target, strict=True))

    pixels = [image.pixelColor(x, y).getRgb()[:3] for x in range(image.width())
              for y in range(image.height())]
    swatch = sum(near(p, (0x56, 0xB4, 0xE9)) for p in pixels)
    assert swatch >= 60  # the 10 x 10 colour inside its frame
    assert sum(near(p, (0x33, 0x33, 0x33)) for p in pixels) >= 40  # its dark frame
    # the row's background (its commonest colour) stands apart from sky blue
    background = max(set(pixels), key=pixels.count)
    assert sum(abs(a - b) for a, b in zip(background, (0x56, 0xB4, 0xE9), strict=True)) > 150
    # the selection colour is far from every run colour
    sel = tuple(int(SELECTION_COLOUR[k:k + 2], 16) for k in (1, 3, 5))
    for colour in OKABE_ITO[:7]:
        rgb = tuple(int(colour[k:k + 2], 16) for k in (1, 3, 5))
        assert sum(abs(a - b) for a, b in zip(rgb, sel, strict=True)) > 150, colour


def test_cross_check_failure_is_shown_and_the_old_optimizer_kept(window):
    m, panel = window.model, window.runs_panel
    m.select(0)  # sgd, momentum 0
    traj = m.runs[0].trajectory
    panel.editor.editor("nesterov").setChecked(True)
    assert panel.error_label.isVisible()
    assert "Nesterov momentum requires a momentum" in panel.error_label.text()
    assert m.runs[0].optimizer.hp["nesterov"] is False and m.runs[0].trajectory is traj
    panel.editor.editor("momentum").setValue(0.9)  # now valid: taken, the error goes
    assert not panel.error_label.isVisible()
    assert m.runs[0].optimizer.hp["nesterov"] is True and m.runs[0].optimizer.hp["momentum"] == 0.9


def test_diverging_run_is_badged_and_stopped_while_others_go_on(window):
    m = window.model
    i = m.add_run("sgd:lr=0.2", name="too fast")  # y *= -2.6 each step on x²+9y²
    for _ in range(30):
        window.playback.step_action.trigger()
    r = m.runs[i]
    assert r.diverged
    assert window.status_table.cell_text(i, 5) == "diverged"
    assert window.runs_panel.tree.topLevelItem(i).text(1) == "diverged"
    assert window.status_table.cell_text(0, 5) != "diverged"
    assert all(o.trajectory.steps == 30 for o in m.runs if o is not r)
    assert r.trajectory.steps < 30 + 256
    # what is drawn stays bounded, the view untouched
    pts = trail(window, i)
    assert np.isfinite(pts).all() and np.abs(pts).max() < 1e6
    (x0, x1), (y0, y1) = window.plot.getPlotItem().getViewBox().viewRange()
    assert x1 - x0 < 10 and y1 - y0 < 10
    for _ in range(5):
        window.playback.step_action.trigger()
    assert m.shown_step == 35 and all(o.trajectory.steps == 35 for o in m.runs if o is not r)


def test_keyboard_shortcuts(window, qtbot):
    m, plot = window.model, window.plot
    plot.setFocus()
    QTest.keyClick(plot, Qt.Key.Key_Right)
    QTest.keyClick(plot, Qt.Key.Key_Right)
    assert m.shown_step == 2
    QTest.keyClick(plot, Qt.Key.Key_Left)
    assert m.shown_step == 1
    QTest.keyClick(plot, Qt.Key.Key_Space)
    assert window.playback.playing
    qtbot.waitUntil(lambda: m.shown_step >= 4, timeout=WAIT_MS)
    QTest.keyClick(plot, Qt.Key.Key_Space)
    assert not window.playback.playing
    QTest.keyClick(plot, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert m.shown_step == 0 and m.computed_steps == 0


def test_shortcuts_do_not_fire_while_typing(window, qtbot):
    m = window.model
    window.playback.step(3)
    edit = window.function_panel.formula_edit
    assert not window.shortcut_guard.active  # (events pass Qt alone while no field has focus)
    edit.setFocus()
    qtbot.waitUntil(edit.hasFocus, timeout=WAIT_MS)
    assert window.shortcut_guard.active
    QTest.keyClicks(edit, "x y")
    QTest.keyClick(edit, Qt.Key.Key_Left)
    QTest.keyClick(edit, Qt.Key.Key_Right)
    QTest.keyClick(edit, Qt.Key.Key_Space)
    QTest.keyClick(edit, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert edit.text() == "x y "
    assert m.shown_step == 3 and m.computed_steps == 3 and not window.playback.playing
    spin = window.function_panel.start_x
    spin.setFocus()
    QTest.keyClick(spin, Qt.Key.Key_Left)
    QTest.keyClick(spin, Qt.Key.Key_Space)
    assert m.shown_step == 3 and not window.playback.playing
    # Esc leaves the field for the plot, and the keys work again
    QTest.keyClick(spin, Qt.Key.Key_Escape)
    assert window.plot.hasFocus() and not window.shortcut_guard.active
    QTest.keyClick(window.plot, Qt.Key.Key_Right)
    assert m.shown_step == 4


def test_help_lists_the_shortcuts(window):
    texts = [a.text() for a in window.help_menu.actions()]
    assert any("Shortcuts" in t for t in texts)
    dialog = window.show_shortcuts()
    text = dialog.findChildren(type(window.toolbar.step_label))[0].text()
    for key, what in SHORTCUTS:
        assert key in text and what in text
    dialog.close()
    shortcuts = {a.shortcut().toString() for a in window.playback.actions()}
    assert {"Space", "Right", "Left", "Ctrl+R"} <= shortcuts


def test_stop_when_all_converged(window, qtbot):
    m = window.model
    window.function_panel.choose("bowl")
    m.replace_runs([(m.runs[0].optimizer.__class__(lr=0.5), "exact", "#000000", True)])
    # sgd with lr 0.5 on x²+y² lands on the minimum in one step: converged at step 2
    window.toolbar.max_box.setChecked(True)
    window.playback.run_action.trigger()
    qtbot.waitUntil(lambda: not window.playback.playing, timeout=WAIT_MS)
    assert m.all_converged()
    assert m.shown_step < 100
    assert "converged" in window.statusBar().currentMessage()
    assert window.status_table.cell_text(0, 5) == "converged"
    window.statusBar().clearMessage()
    window.toolbar.converged_box.setChecked(False)  # now it runs on to the max-steps limit
    window.toolbar.max_steps_spin.setValue(300)
    window.playback.run_action.trigger()
    qtbot.waitUntil(lambda: not window.playback.playing, timeout=WAIT_MS)
    assert m.shown_step == 300
    assert "max-steps limit" in window.statusBar().currentMessage()


def test_speed_control(window, qtbot):
    tb, c = window.toolbar, window.playback
    tb.speed_slider.setValue(tb.speed_slider.minimum())
    assert c.speed == pytest.approx(1.0)
    tb.speed_slider.setValue(tb.speed_slider.maximum())
    assert c.speed == pytest.approx(1000.0)
    assert tb.speed_label.text().strip() == "1000 /s"
    tb.max_box.setChecked(True)
    assert c.max_speed and not tb.speed_slider.isEnabled()
    c.stop_when_converged = False
    m = window.model
    m.replace_runs([(m.runs[0].optimizer, "one", "#000000", True)])
    seen = []
    m.stepChanged.connect(seen.append)
    c.set_playing(True)
    qtbot.waitUntil(lambda: len(seen) >= 6, timeout=WAIT_MS)
    c.set_playing(False)
    # at "max" a tick takes many steps at once (as many as fit in ~10 ms), redrawn once
    jumps = np.diff([0] + seen)
    assert jumps.max() >= 5, seen


def test_a_function_that_fails_to_evaluate_stops_playback_with_a_message(window):
    from optsim.functions import LossFunction

    def gradient(p):
        if (p[:, 0] > -0.9).any():
            raise FloatingPointError("gradient undefined here")
        return 2 * p

    fn = LossFunction("fragile", 2, value=lambda p: (p ** 2).sum(axis=1), gradient=gradient,
                      view=((-2.0, 2.0), (-2.0, 2.0)), start=(-1.0, 1.0))
    window.model.set_function(fn)
    window.playback.set_playing(True)
    for _ in range(5):
        window.playback.step(1)
    assert not window.playback.playing
    assert "gradient undefined here" in window.statusBar().currentMessage()


# -- what a newcomer sees ------------------------------------------------------------
def test_status_table_elides_long_names_and_keeps_the_numbers_visible(window):
    m, t = window.model, window.status_table
    long_name = "momentum (course: moving average, β = 0.9) with a very long name indeed"
    m.rename_run(1, long_name)
    window.playback.step(3)
    t.refresh()
    fm = t.fontMetrics()
    width = t.viewport().width()
    # every column ends inside the table: no numbers hidden to the right
    last = t.columnCount() - 1
    assert t.columnViewportPosition(last) + t.columnWidth(last) <= width + 1
    for c in range(1, last):  # the numbers fit their columns whole
        for row in range(t.rowCount()):
            assert fm.horizontalAdvance(t.cell_text(row, c)) <= t.columnWidth(c)
    # the long name is narrowed (elided on screen), its full text in the tooltip
    assert t.columnWidth(0) < fm.horizontalAdvance(long_name)
    assert t.cell_text(1, 0) == long_name and t.item(1, 0).toolTip() == long_name
    # a narrower dock: the numbers are still whole; what does not fit scrolls
    t.resize(t.width() - 40, t.height())
    fits = t.columnViewportPosition(last) + t.columnWidth(last) <= t.viewport().width() + 1
    assert fits or t.horizontalScrollBar().maximum() > 0
    for c in range(1, last):
        for row in range(t.rowCount()):
            assert fm.horizontalAdvance(t.cell_text(row, c)) <= t.columnWidth(c) - t.CELL_MARGIN


def test_status_table_elides_at_the_end_and_never_cuts_a_number_or_a_status(window):
    """Defect: "mo…um", two rows both reading "mome…0.9)", "converged" clipped, "0.…64"."""
    from PySide6.QtCore import Qt as _Qt

    m, t = window.model, window.status_table
    names = ["momentum (PyTorch SGD, momentum = 0.9)", "momentum (course, β = 0.9)"]
    m.rename_run(0, names[0])
    m.rename_run(1, names[1])
    window.playback.step(7)
    t.refresh()
    assert t.textElideMode() == _Qt.TextElideMode.ElideRight
    fm = t.fontMetrics()
    room = t.columnWidth(0) - 2 * t.CELL_MARGIN
    # the names as shown: shortened to the column, at their end, and still told apart
    shown = [t.item(r, 0).text() for r in (0, 1)]
    assert shown[0] != shown[1] and all(s.startswith("mom") for s in shown)
    assert all(fm.horizontalAdvance(s) <= room for s in shown)
    assert [t.cell_text(r, 0) for r in (0, 1)] == names  # the whole names, and as tooltips
    assert [t.item(r, 0).toolTip() for r in (0, 1)] == names
    # numbers whole, right-aligned; the status column has room for its longest word
    for c in t.NUMBER_COLUMNS:
        for row in range(t.rowCount()):
            assert fm.horizontalAdvance(t.cell_text(row, c)) <= t.columnWidth(c) - t.CELL_MARGIN
            assert t.item(row, c).textAlignment() & _Qt.AlignmentFlag.AlignRight
    # a status that appears while playing (no refit then) gets its room at once
    t.refresh(fit=True)
    m.set_run_visible(2, False)
    t.refresh(fit=False)
    assert t.cell_text(2, 5) == "hidden"
    assert fm.horizontalAdvance("hidden") <= t.columnWidth(5) - t.CELL_MARGIN
    # and the rows are all in view, none half hidden under a scroll bar
    assert t.height() >= t.fitting_height(len(m.runs)) - 2 or \
        t.verticalScrollBar().maximum() > 0


def test_window_opens_at_most_of_the_screen(qtbot, tmp_path):
    from PySide6.QtCore import QRect

    from optsim.gui.main_window import INITIAL_FRACTION, initial_geometry

    # a desktop screen: 95%, centred
    rect, maximized = initial_geometry(QRect(0, 30, 1920, 1050))
    assert not maximized
    assert (rect.width(), rect.height()) == (round(1920 * INITIAL_FRACTION),
                                             round(1050 * INITIAL_FRACTION))
    assert rect.x() == (1920 - rect.width()) // 2 and rect.y() == 30 + (1050 - rect.height()) // 2
    # a projector's 1280x720: all of it
    assert initial_geometry(QRect(0, 0, 1280, 720)) == (QRect(0, 0, 1280, 720), True)
    w = MainWindow(settings=str(tmp_path / "s.ini"), restore=False)
    qtbot.addWidget(w)
    rect, maximized = initial_geometry(w.screen().availableGeometry())
    assert w.size() == rect.size()
    assert maximized and not w.isMaximized()  # (the 800x800 test screen; offscreen: no state)
    w.resize(1520, 950)  # as tools do
    assert (w.width(), w.height()) == (1520, 950)


def test_add_gives_a_run_that_visibly_moves(window):
    from optsim.engine import OPTIMIZERS

    m, panel = window.model, window.runs_panel
    panel.add_button.click()
    i = len(m.runs) - 1
    opt = m.runs[i].optimizer
    assert opt.name == "adam"
    # Adam's first step is lr per coordinate (g / sqrt(g²)): on x² + 9y² from (-1, 1)
    # (both gradient coordinates non-zero) it moves lr·√2; the lr is chosen to move
    # 3% of the view's span, rounded down to 1-2-5: 0.09 / √2 = 0.064 -> 0.05
    assert opt.hp["lr"] == pytest.approx(0.05)
    assert OPTIMIZERS["adam"].create().hp["lr"] == 0.001  # the engine's default is kept
    window.playback.step_action.trigger()
    moved = np.linalg.norm(marker(window, i) - m.start)
    assert moved == pytest.approx(0.05 * np.sqrt(2), rel=1e-5)
    (x0, x1), (y0, y1) = m.view
    assert moved > 0.01 * min(x1 - x0, y1 - y0)


def test_suited_lr_matches_closed_forms(window):
    from optsim.gui.runs_panel import nice_below, suited_lr

    assert [nice_below(v) for v in (0.09, 0.3, 1.0, 0.2, 7e-5, 0.0499)] == \
        [0.05, 0.2, 1.0, 0.2, 5e-5, 0.02]
    m = window.model  # elongated bowl x² + 9y² at (-1, 1): ∇f = (-2, 18)
    # SGD's first step is lr·|∇f|: 0.09 / |(-2, 18)| = 0.00497 -> 0.002
    assert suited_lr("sgd", m) == pytest.approx(nice_below(0.09 / np.hypot(2.0, 18.0)))
    assert suited_lr("sgd", m) == pytest.approx(0.002)
    window.function_panel.choose("cubic")  # 1D: the x span (10) alone: 0.3 -> 0.2
    assert m.function.dim == 1
    assert suited_lr("adam", m) == pytest.approx(0.2)
    window.function_panel.choose("bowl")
    m.set_start([0.0, 0.0])  # at the minimum nothing moves: no measure, no lr
    assert suited_lr("adam", m) is None
    # Newton, BFGS and L-BFGS keep lr = 1: a step to the model's minimum, a first trial
    assert all(suited_lr(k, m) is None for k in ("newton", "bfgs", "lbfgs"))


def test_optimizers_list_shows_readable_labels(window):
    from optsim.engine import make_optimizer
    from optsim.gui.runs_panel import readable

    m, tree = window.model, window.runs_panel.tree
    assert tree.topLevelItem(0).text(1) == "SGD, lr 0.02"
    assert tree.topLevelItem(1).text(1) == "Momentum, lr 0.01"
    assert "sgd:lr=0.02" in tree.topLevelItem(0).toolTip(1)
    m.set_run_optimizer(3, make_optimizer("adam", lr=0.1, amsgrad=True, beta1=0.8))
    assert tree.topLevelItem(3).text(1) == "Adam, lr 0.1, beta1 0.8, amsgrad"
    assert readable(make_optimizer("rmsprop")) == "RMSProp, lr 0.01"


def test_start_fields_say_when_runs_have_their_own_starts(window):
    m, panel = window.model, window.function_panel
    assert panel.own_starts_note.isHidden()
    opts = [r.optimizer for r in m.runs[:2]]
    m.replace_runs([(opts[0], "a", "#000000", True, (-1.0, -1.0)),
                    (opts[1], "b", "#111111", True, None)])
    assert not panel.own_starts_note.isHidden()
    assert "1 of 2 runs" in panel.own_starts_note.text()
    assert "a: (-1, -1)" in panel.own_starts_note.toolTip()
    m.set_start([0.5, 0.5])  # a new start is every run's start
    assert panel.own_starts_note.isHidden()
    window.function_panel.choose("cubic")  # 1D: no y start field at all
    assert panel.start_y.isHidden() and panel.start_y_label.isHidden()
    window.function_panel.choose("bowl")
    assert not panel.start_y.isHidden()


def test_main_adds_the_file_menus_once_the_loop_runs(monkeypatch, tmp_path, qtbot):
    from optsim.gui import app
    from optsim.gui import main_window as mw

    made = []

    class Recorded(MainWindow):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            made.append(self)

    monkeypatch.setattr(mw, "MainWindow", Recorded)
    monkeypatch.setattr(type(QApplication.instance()), "exec", lambda self: 0)
    assert app.main(["--settings", str(tmp_path / "s.ini"), "--fresh"]) == 0
    (w,) = made
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: hasattr(w, "file_actions"), timeout=WAIT_MS)
    titles = [a.text() for a in w.menuBar().actions()]
    assert titles[0] == "&File" and "&Presets" in titles and titles[-1] == "&Help"


def test_status_numbers_that_outgrow_their_column_while_playing_get_room(window):
    """While playing the table is not refitted on each refresh; a number that no
    longer fits (it would show as "...") still gets its column widened."""
    t = window.status_table
    t.refresh(fit=True)  # fitted to step 0's short numbers
    narrow = t.columnWidth(2)
    t.setColumnWidth(2, t.fontMetrics().horizontalAdvance("10") + 4)  # too narrow for "0.1234"
    window.playback.step(7)  # many-digit losses now
    t.refresh(fit=False)
    fm = t.fontMetrics()
    for row in range(t.rowCount()):
        text = t.cell_text(row, 2)
        assert len(text) > 2
        assert fm.horizontalAdvance(text) <= t.columnWidth(2) - t.CELL_MARGIN
    assert t.columnWidth(2) >= min(narrow, fm.horizontalAdvance(t.cell_text(0, 2)))
    # unchanged numbers that fit: no refit (the width someone dragged stays)
    t.setColumnWidth(2, t.columnWidth(2) + 30)
    wide = t.columnWidth(2)
    t.refresh(fit=False)
    assert t.columnWidth(2) == wide


def test_start_up_objects_leave_the_garbage_collectors_sight_after_the_first_paint(
        monkeypatch, tmp_path, qtbot):
    """A full collection rescanned every start-up object (~37 ms, a hitch in
    playback); after the first paint they are frozen, and later garbage is still
    collected."""
    import gc

    from optsim.gui import app

    monkeypatch.setattr(type(QApplication.instance()), "exec", lambda self: 0)
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    try:
        assert app.main(["--settings", str(tmp_path / "s.ini"), "--fresh"]) == 0
        qtbot.waitUntil(lambda: gc.get_freeze_count() > 0, timeout=WAIT_MS)

        class Cycle:
            pass

        a, b = Cycle(), Cycle()
        a.other, b.other = b, a
        probe = weakref.ref(a)
        del a, b
        gc.collect()
        assert probe() is None
    finally:
        gc.unfreeze()
        import shiboken6

        for w in QApplication.topLevelWidgets():
            if shiboken6.isValid(w):  # (closing one may have deleted another: its menus)
                w.close()
