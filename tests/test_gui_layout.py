"""The window's layout at a projector's 1280x720 and at 1920x1080: the contour plot
keeps at least half of the window, every dock keeps a usable size, nothing is cut
off (defect 2 of issue 12: at 1280x720 the plot was ~260 px wide and the inspector
~40 px tall)."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QToolButton
from windows import window_at

from optsim.gui.main_window import MainWindow

SIZES = [(1280, 720), (1920, 1080)]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_contour_plot_keeps_half_of_the_window(qtbot, tmp_path, size):
    w = window_at(qtbot, tmp_path, size, preset="adam")
    plot = w.plot
    assert plot.width() * plot.height() >= 0.5 * size[0] * size[1], (plot.width(), plot.height())
    # wider than tall or about square: not a strip
    assert plot.width() >= plot.height()
    # the loss history stays a readable plot under it
    assert w.history_plot.height() >= 90
    assert w.history_plot.width() == plot.width()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_dock_keeps_a_usable_size(qtbot, tmp_path, size):
    w = window_at(qtbot, tmp_path, (size[0], size[1]))
    # without a preset: the optimizers in front, and in a tall window the inspector
    assert not w.runs_dock.visibleRegion().isEmpty()
    if size[1] > 900:
        assert not w.step_insight.dock.visibleRegion().isEmpty()
    w = window_at(qtbot, tmp_path, size, preset="adam")
    docks = {d.objectName(): d for d in w.dock_widgets()}
    assert set(docks) >= {"runs_dock", "function_dock", "status_dock", "inspector_dock",
                          "scenario_dock"}
    shown = [d for d in docks.values() if d.isVisible() and not d.visibleRegion().isEmpty()]
    assert docks["runs_dock"] in shown or docks["scenario_dock"] in shown  # the top tab group
    for d in docks.values():
        assert not d.isFloating()
        assert w.dockWidgetArea(d) == Qt.DockWidgetArea.RightDockWidgetArea
        if d in shown:
            hint = d.widget().minimumSizeHint()
            assert d.widget().width() >= hint.width() and d.widget().height() >= hint.height(), \
                d.objectName()
            assert d.widget().width() >= 300, d.objectName()
    # the status table: every run's row in view, no scrolling
    status = w.status_table
    assert docks["status_dock"] in shown
    assert status.viewport().height() >= len(w.model.runs) * status.rowHeight(0)
    # the inspector is its own panel when there is room, else a tab of the column
    inspector = docks["inspector_dock"]
    if size[1] > 900:  # (a preset's story is a tab over it)
        assert inspector in w.tabifiedDockWidgets(docks["scenario_dock"])
        inspector.raise_()
        QApplication.processEvents()
        assert not inspector.visibleRegion().isEmpty() and inspector.widget().height() >= 250
    else:
        assert inspector in w.tabifiedDockWidgets(docks["runs_dock"])
        inspector.raise_()
        QApplication.processEvents()
        assert inspector.widget().height() >= 300


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_nothing_is_cut_off(qtbot, tmp_path, size):
    w = window_at(qtbot, tmp_path, size, preset="adam")
    # the toolbar shows all its controls (no » extension menu)
    tb = w.toolbar
    assert tb.sizeHint().width() <= tb.width()
    ext = [b for b in tb.findChildren(QToolButton) if b.objectName() == "qt_toolbar_ext_button"]
    assert not any(b.isVisible() for b in ext)
    # every panel's tab shows its whole title (five tabs share the column at 1280x720)
    from PySide6.QtWidgets import QTabBar

    column = w.centralWidget().geometry().right()  # (Qt keeps unused bars elsewhere)
    bars = [b for b in w.findChildren(QTabBar)
            if b.isVisible() and b.count() and b.geometry().x() > column]
    assert bars
    for bar in bars:
        vertical = bar.shape() in (QTabBar.Shape.RoundedWest, QTabBar.Shape.RoundedEast)
        for i in range(bar.count()):
            rect, whole = bar.tabRect(i), bar.tabSizeHint(i)  # (its size unelided)
            assert (rect.height() >= whole.height() if vertical
                    else rect.width() >= whole.width()), bar.tabText(i)
            assert bar.rect().contains(rect), bar.tabText(i)
    # the scenario's story reads whole in its panel (it was ~110 px tall and cut)
    fa = w.file_actions
    fa.story_dock.raise_()
    QApplication.processEvents()
    story = fa.story
    scroll = story.parentWidget().parentWidget()
    assert scroll.viewport().height() >= story.heightForWidth(scroll.viewport().width())
    assert fa.story_dock.height() >= 200
    # the function panel's fields are all in view when its tab is up
    w.function_dock.raise_()
    QApplication.processEvents()
    panel = w.function_panel
    assert panel.height() >= panel.minimumSizeHint().height()
    # the legend fits inside the plot
    legend = w.plot.legend
    assert legend.boundingRect().width() < w.plot.getPlotItem().getViewBox().width()


def test_reset_layout_brings_back_moved_and_closed_panels(qtbot, tmp_path):
    w = window_at(qtbot, tmp_path, (1280, 720))
    w.status_dock.close()
    w.runs_dock.setFloating(True)
    w.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, w.function_dock)
    QApplication.processEvents()
    w.reset_layout_action.trigger()
    QApplication.processEvents()
    for d in (w.runs_dock, w.function_dock, w.status_dock, w.step_insight.dock):
        assert not d.isHidden() and not d.isFloating()
        assert w.dockWidgetArea(d) == Qt.DockWidgetArea.RightDockWidgetArea
    assert w.plot.width() * w.plot.height() >= 0.5 * 1280 * 720


def test_presentation_mode_gives_the_plots_the_screen_in_large_print(qtbot, tmp_path):
    from optsim.gui.main_window import PRESENTATION_SCALE
    from optsim.render.theme import FONT_PT, LINE_PX

    w = window_at(qtbot, tmp_path, (1280, 720), preset="elongated-valley")
    w.playback.step(6)
    plot, history = w.plot, w.history_plot
    docks_before = {d.objectName(): d.isVisible() for d in w.dock_widgets()}
    tick_pt = plot.getPlotItem().getAxis("bottom").style["tickFont"].pointSizeF()
    step_pt = w.toolbar.step_label.font().pointSizeF()
    assert "F11" in w.presentation_action.shortcut().toString()
    assert w.presentation_action in w.view_menu.actions()
    w.presentation_action.trigger()
    QApplication.processEvents()
    assert w.presenting and w.isFullScreen()
    # (the test screen is 800x800: a 1280x720 projector's full screen, emulated)
    w.setWindowState(Qt.WindowState.WindowNoState)
    w.resize(1280, 720)
    QApplication.processEvents()
    # the panels and the status bar are hidden; the plots fill the centre
    assert not any(d.isVisible() for d in w.dock_widgets())
    assert not w.statusBar().isVisible()
    assert w.centralWidget().width() == w.width()
    assert plot.width() >= 0.95 * w.width()
    assert plot.height() + history.height() >= 0.75 * w.height()
    # text at least 1.5 times as large, lines thicker, the step counter larger still
    scaled = plot.getPlotItem().getAxis("bottom").style["tickFont"].pointSizeF()
    assert scaled >= 1.5 * tick_pt and scaled >= 1.5 * FONT_PT
    assert history.getPlotItem().getAxis("left").style["tickFont"].pointSizeF() >= 1.5 * FONT_PT
    assert w.figure.title.font().pointSizeF() >= 1.5 * 13
    assert PRESENTATION_SCALE >= 1.5
    for _sample, label in plot.legend.items:
        assert float(label.opts["size"].rstrip("pt")) >= 1.5 * FONT_PT
    assert plot.run_items(0).trail.opts["pen"].widthF() >= 1.5 * LINE_PX
    assert history.line(0).opts["pen"].widthF() >= 1.5 * LINE_PX
    assert w.toolbar.step_label.font().pointSizeF() >= 2 * step_pt
    assert w.toolbar.step_label.text().strip() == "step 6"
    # the toolbar still shows its controls whole
    assert w.toolbar.sizeHint().width() <= w.toolbar.width()
    # the keys still work; Esc leaves and puts everything back
    QTest.keyClick(plot, Qt.Key.Key_Right)
    assert w.model.shown_step == 7
    QTest.keyClick(plot, Qt.Key.Key_Escape)
    QApplication.processEvents()
    assert not w.presenting and not w.isFullScreen() and not w.presentation_action.isChecked()
    assert {d.objectName(): d.isVisible() for d in w.dock_widgets()} == docks_before
    assert w.statusBar().isVisible()
    assert plot.getPlotItem().getAxis("bottom").style["tickFont"].pointSizeF() == tick_pt
    assert plot.run_items(0).trail.opts["pen"].widthF() == LINE_PX
    assert w.toolbar.step_label.font().pointSizeF() == step_pt
    assert plot.width() * plot.height() >= 0.5 * 1280 * 720


def test_presentation_mode_is_left_before_the_layout_is_saved(qtbot, tmp_path):
    w = window_at(qtbot, tmp_path, (1280, 720))
    w.set_presentation(True)
    w.close()
    w2 = MainWindow(settings=str(tmp_path / "s.ini"), restore=True)
    qtbot.addWidget(w2)
    w2.show()
    QApplication.processEvents()
    assert not w2.presenting
    assert w2.runs_dock.isVisible() and w2.status_dock.isVisible()
