"""The window's layout at a projector's 1280x720 and at 1920x1080: the contour plot
keeps at least half of the window, every dock keeps a usable size, nothing is cut
off (defect 2 of issue 12: at 1280x720 the plot was ~260 px wide and the inspector
~40 px tall)."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QToolButton

from optsim.gui.main_window import MainWindow

SIZES = [(1280, 720), (1920, 1080)]


def window_at(qtbot, tmp_path, size, preset=None) -> MainWindow:
    """A fresh window of exactly ``size`` with the default layout for that size (as
    a first start on a screen of that size lays it out), with the File menus."""
    from optsim.gui import file_actions

    w = MainWindow(settings=str(tmp_path / "s.ini"), restore=False)
    qtbot.addWidget(w)
    w.setWindowState(Qt.WindowState.WindowNoState)
    w.resize(*size)
    w.apply_default_layout()
    w.show()
    qtbot.waitExposed(w)
    file_actions.install(w)
    if preset:
        assert file_actions.open_from_command_line(w, None, preset)
    for _ in range(3):
        QApplication.processEvents()
    assert (w.width(), w.height()) == size
    return w


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
