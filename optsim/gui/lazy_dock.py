"""A View-menu toggle for a dock made on first use (nothing built at start-up): the
3D view and the Geometry dock. The dock joins the inspector's tabs; its own close
button and the menu's tick stay in step."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget


class LazyDock:
    """``action`` (checkable, with ``shortcut``) shows the dock holding ``make()``'s
    widget, made the first time; ``made(panel)`` runs once it is shown."""

    def __init__(self, window: Any, text: str, shortcut: str, tip: str, title: str,
                 object_name: str, make: Callable[[], QWidget],
                 made: Callable[[QWidget], None] | None = None) -> None:
        self.window = window
        self.panel: Any = None
        self.dock = None
        self._title, self._object_name, self._make, self._made = title, object_name, make, made
        self.action = QAction(text, window)
        self.action.setCheckable(True)
        self.action.setShortcut(QKeySequence(shortcut))
        self.action.setToolTip(tip)
        self.action.toggled.connect(self.set_shown)
        window.addAction(self.action)

    def set_shown(self, on: bool) -> None:
        if on and self.dock is None:
            self.panel = self._make()
            self.dock = self.window.add_dock(self._title, self.panel,
                                             Qt.DockWidgetArea.RightDockWidgetArea,
                                             self._object_name)
            self.window.view_menu.removeAction(self.dock.toggleViewAction())  # (ours is there)
            # closed with its own button: the menu's tick follows (the dock's own
            # toggle action is checked while the dock is not hidden, tabbed away or not)
            self.dock.toggleViewAction().toggled.connect(self._sync)
            insight = getattr(self.window, "step_insight", None)
            if insight is not None and getattr(insight, "dock", None) is not None:
                self.window.tabifyDockWidget(insight.dock, self.dock)
            self.dock.show()
            self.dock.raise_()
            if self._made is not None:
                self._made(self.panel)
            return
        if self.dock is not None:
            self.dock.setVisible(on)
            if on:
                self.dock.raise_()

    def _sync(self, shown: bool) -> None:
        if self.action.isChecked() != shown:
            self.action.blockSignals(True)
            self.action.setChecked(shown)
            self.action.blockSignals(False)
