"""The main window: the plot (centre) with loss-vs-step below it, the function panel
(left), the optimizers panel and the status table (right), the playback toolbar,
menus, keyboard shortcuts and remembered settings.

The window wires widgets to the :class:`~optsim.gui.model.SimulationModel`: widgets
observe its signals and send intent back; only the model steps optimizers. Docks
and menus are added by small methods (``add_dock``, ``add_menu``) so that other
parts (inspector, export, presets) plug in without touching the rest.
"""

from __future__ import annotations

import json
import math
import os

import numpy as np
from PySide6.QtCore import QEvent, QObject, QRect, QRectF, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QBrush, QCloseEvent, QColor, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QPlainTextEdit,
    QTabBar,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from ..render.compute import RunStyle, distinct_short
from ..render.figure import Figure
from ..render.items import LegendPlacer
from .function_panel import FunctionPanel
from .gc_pause import pause_gc, resume_gc
from .model import SimulationModel
from .playback import PlaybackController, PlaybackToolBar
from .runs_panel import RunsPanel
from .settings import (
    KEY_GEOMETRY,
    KEY_PLUGINS,
    KEY_STATE,
    load_remembered_plugins,
    load_session_dict,
    open_settings,
    read_bytes,
    remembered_plugins,
    restore_session,
    save_session,
)
from .throttle import READOUT_INTERVAL_MS, Throttle

TITLE = "optsim — optimizer visualizer"
#: the share of the screen's available width and height a first-time window takes
INITIAL_FRACTION = 0.95
#: a screen at most this wide or tall (a projector's 1280x720, 1366x768) gets a
#: window that fills it: every pixel goes to the plot
SMALL_SCREEN = (1440, 900)
#: the width of the one dock column (optimizers, function, status, inspector), as a
#: share of the window's width, and its least and most
DOCK_COLUMN_FRACTION = 0.21
DOCK_COLUMN_WIDTH = (320, 440)
#: windows at most this tall show the inspector as a tab beside the optimizers and
#: the function; taller ones give it its own place below the status table
COMPACT_HEIGHT = 900
#: the loss history's share of the height the plot and the history split
HISTORY_FRACTION = 0.16
HISTORY_FRACTION_TALL = 0.21
#: the status panel grows to show every row, up to this share of the window's height
STATUS_MOST = 0.4
#: every dock's least width and height (the status table's least height is its
#: header and two rows)
MIN_DOCK_SIZE = (300, 90)
#: attributes set by parts built just after the first paint -> their part (asking
#: for one builds its part at once: see MainWindow.install_later_parts)
LATER_PARTS = {"sweep_panel": "sweep", "sweep_dock": "sweep", "basins": "sweep",
               "training": "training"}
#: presentation mode's text, lines and markers, as a multiple of their usual size
PRESENTATION_SCALE = 1.6
#: presentation mode's share of the centre for the loss history
PRESENTATION_HISTORY = 0.3
#: the dock layout's version in the settings: a layout saved by an older version is
#: not restored (its two columns left the plot a third of the window)
STATE_VERSION = 2

#: the keyboard shortcuts, as the Help > Shortcuts dialog lists them
SHORTCUTS = (
    ("Space", "run / pause"),
    ("Right", "one step for every visible run"),
    ("Left", "one step back in the history"),
    ("Ctrl+R", "reset every run to the start point"),
    ("Home", "reset the view to the function's window"),
    ("F11", "presentation mode (Esc leaves it)"),
    ("F3", "the 3D view (the surface with the runs on it)"),
    ("Ctrl+T", "the Taylor model of the selected run at the shown step"),
    ("Ctrl+G", "the Geometry dock: the loss along the next step, the edge of stability"),
    ("Ctrl+M", "the Sweep map large, in a window of its own (again: back in its dock)"),
    ("Ctrl+Q", "quit (the set-up is remembered)"),
    ("click on the plot", "set the start point (in 1D: x)"),
    ("drag / wheel on the plot", "pan / zoom"),
)


def is_text_entry(widget: QWidget | None) -> bool:
    """Whether keyboard focus is in a place where keys are typed (a line edit, a
    spin box, an editable combo box, a text area)."""
    w = widget
    for _ in range(3):
        if w is None:
            return False
        if isinstance(w, (QLineEdit, QAbstractSpinBox, QTextEdit, QPlainTextEdit)):
            return True
        if isinstance(w, QComboBox) and w.isEditable():
            return True
        w = w.parentWidget()
    return False


class ShortcutGuard(QObject):
    """An application event filter: while focus is in a text field, the window's
    single-key shortcuts (and Ctrl+R) go to the field as typing, not to the actions.

    ``watch(app)`` installs it on ``app`` only while a text field has the focus:
    installed for good, every event of the application (each paint of a playback
    frame among them) went through Python to be let pass."""

    def __init__(self, sequences: list[QKeySequence], home: QWidget | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.sequences = {s.toString() for s in sequences if not s.isEmpty()}
        #: where Esc in a text field sends the focus (the plot), so the keys work again
        self.home = home
        self._app: QApplication | None = None
        #: whether it is installed now (a text field has the focus)
        self.active = False

    def watch(self, app: QApplication) -> None:
        self._app = app
        app.focusChanged.connect(self._focus_changed)
        self._focus_changed(None, app.focusWidget())

    def unwatch(self) -> None:
        if self._app is not None:
            self._app.focusChanged.disconnect(self._focus_changed)
            self._app.removeEventFilter(self)
            self._app = None
            self.active = False

    def _focus_changed(self, _old: QWidget | None, new: QWidget | None) -> None:
        if self._app is None:
            return
        self.active = is_text_entry(new)
        if self.active:
            self._app.installEventFilter(self)
        else:
            self._app.removeEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        t = event.type()
        if t == QEvent.Type.ShortcutOverride:
            key = QKeySequence(event.keyCombination()).toString()
            if key in self.sequences and is_text_entry(QApplication.focusWidget()):
                event.accept()  # the focused field takes the key; the shortcut does not fire
                return True
        elif (t == QEvent.Type.KeyPress and event.key() == Qt.Key.Key_Escape
              and self.home is not None and obj is QApplication.focusWidget()
              and is_text_entry(obj) and self.home.window() is obj.window()):
            self.home.setFocus(Qt.FocusReason.ShortcutFocusReason)
            return True
        return False


class StatusTable(QTableWidget):
    """Per run at the shown step: step, loss, gradient norm, distance to the nearest
    known minimum and a status (diverged / converged)."""

    HEADERS = ("run", "step", "loss", "‖∇f‖", "to min", "status")
    #: a row became taller or shorter (a status on two lines): the panel may grow
    rowsResized = Signal()
    #: the number columns, and a cell's text margin (both sides) in pixels
    NUMBER_COLUMNS = (1, 2, 3, 4)
    #: the columns whose text is never elided: the numbers and the status
    FITTED_COLUMNS = (1, 2, 3, 4, 5)
    CELL_MARGIN = 6  # Qt fits a column to its text plus 7 here

    def __init__(self, model: SimulationModel, parent: QWidget | None = None) -> None:
        super().__init__(0, len(self.HEADERS), parent)
        self.model = model
        self.setHorizontalHeaderLabels(self.HEADERS)
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        # widths fitted to the contents only when asked (paused), not on every frame:
        # ResizeToContents re-measured every cell on every refresh while playing
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)  # fit_columns gives the spare width out
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.horizontalHeaderItem(4).setToolTip("distance to the nearest known minimum")
        self.horizontalHeaderItem(3).setToolTip("gradient norm at the current point")
        self.horizontalHeaderItem(5).setToolTip(
            "diverged (✗), converged (✓) or hidden; the schedule's lr; clipped: clipping "
            "changed this step's gradient; ±s: a fan's or ensemble's spread (the RMS "
            "distance of its rows from their mean position). In a narrow panel the marks "
            "stand for the words and a long status takes two lines; a cell's tooltip "
            "says it whole")
        # long run names are elided at their end ("momentum (PyT…") so that the
        # numbers keep their room; numbers are never elided (their columns always fit
        # them, with a scroll bar rather than a cut when the dock is too narrow); the
        # full name is the cell's tooltip
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        # (only a status too long for a narrow column wraps, at its spaces: names are
        # elided to their column and numbers always fit theirs)
        self.setWordWrap(True)
        # rows as tall as their text needs (the style's default was half again as tall)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.setMinimumHeight(self.fitting_height(2))
        #: per row: (its name item, the texts shown, the run's colour)
        self._shown: dict[int, tuple] = {}
        #: the status column shows its short forms (a narrow panel: see fit_columns)
        self.compact = False
        #: rows made taller for a status on two lines
        self._tall_rows: set[int] = set()

    def fitting_height(self, rows: int | None = None) -> int:
        """The height that shows ``rows`` rows (default: every run's, at least four)
        and the header without a scroll bar."""
        n = max(len(self.model.runs), 4) if rows is None else rows
        return (self.horizontalHeader().sizeHint().height()
                + n * self.verticalHeader().defaultSectionSize() + 2 * self.frameWidth() + 2)

    def needed_height(self) -> int:
        """The height that shows every row as it is now (two-line ones too) and the
        header without a scroll bar."""
        rows = sum(self.rowHeight(r) for r in range(self.rowCount()))
        return self.horizontalHeader().sizeHint().height() + rows + 2 * self.frameWidth() + 2

    def refresh(self, fit: bool = True) -> None:
        """Show the shown step; ``fit`` also fits the column widths to the text."""
        runs = self.model.runs
        if self.rowCount() != len(runs):
            self.setRowCount(len(runs))
        changed = [cell for i in range(len(runs)) for cell in self._show_row(i)]
        if fit or self._text_cut(changed):
            self.fit_columns()
        elif any(c == 0 for c, _text in changed):
            self._show_names()

    def _show_row(self, i: int) -> list[tuple[int, str]]:
        """Show run ``i``'s row; returns the cells whose text changed, as (column,
        text). What each cell shows is remembered here, not read back from Qt
        (several calls a cell, for every row a few times a second while playing)."""
        r = self.model.runs[i]
        st = self.model.run_status(i)
        if st.diverged:
            status = "failed" if r.trajectory.failure is not None else "diverged"
        elif not r.visible:
            status = "hidden"
        elif st.converged:
            status = "converged"
        else:
            status = ""
        if st.scheduled and st.lr == st.lr:  # the schedule's current lr, clipping acting
            status = f"{status} lr {_num(st.lr)}".strip()
        if st.clipped:
            status = f"{status} clipped".strip()
        if st.spread > 0:  # the rows' spread (a fan or an ensemble, as its mean; nan: one row)
            status = f"{status} ±{st.spread:.2g}".strip()  # (two digits: the column is narrow)
        short = self.compact
        cells = (r.name, str(st.step), _num(st.loss, short), _num(st.grad_norm, short),
                 _num(st.distance, short), status)
        shown = self._shown.get(i)
        if shown is not None and shown[0] is not self.item(i, 0):
            shown = None  # the row's items were made anew
        if shown is not None and shown[1:] == (cells, r.colour):
            return []
        changed = [(c, text) for c, text in enumerate(cells) if shown is None or shown[1][c] != text]
        for c, text in changed:
            item = self.item(i, c)
            if item is None:
                item = QTableWidgetItem()
                if c in self.NUMBER_COLUMNS:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.setItem(i, c, item)
            if c == 5:  # the whole status kept (see cell_text); its short form shown
                item.setData(Qt.ItemDataRole.UserRole, text)
                item.setToolTip(text)
                text = status_shown(text, self.compact)
            item.setText(text)
        name_item = self.item(i, 0)
        if shown is None or shown[1][0] != r.name:
            name_item.setData(Qt.ItemDataRole.UserRole, r.name)  # (its text may be shortened)
        if shown is None or shown[1][0] != r.name or shown[2] != r.colour:
            name_item.setToolTip(r.name)
            name_item.setForeground(_brush(r.colour))
        if shown is None or shown[1][5] != status:
            self.item(i, 5).setForeground(_brush("#b00020" if st.diverged else "#1b7a3a"))
        # (the name cell identifies the row's items: new items after a row change)
        self._shown[i] = (name_item, cells, r.colour)
        return changed

    def _text_cut(self, cells: list[tuple[int, str]]) -> bool:
        """Whether a new number or status (``cells``: (column, text)) has outgrown
        its column (it would show as "..."; a status: a word of it, or its one line
        where it has one): while playing, columns are refitted only then, not on
        every refresh."""
        metrics = self.fontMetrics()
        rooms = {c: self.columnWidth(c) - self.CELL_MARGIN for c in self.FITTED_COLUMNS}
        for c, text in set(cells):
            if c not in rooms:
                continue
            if c == 5:
                shown = status_shown(text, self.compact)
                parts = shown.split(" ") if self._tall_rows else [shown]
                if any(metrics.horizontalAdvance(p) > rooms[c] for p in parts):
                    return True
            elif metrics.horizontalAdvance(text) > rooms[c]:
                return True
        return False

    def _column_need(self, texts: list[str], header: str) -> int:
        """The width that shows ``texts`` and ``header`` each on one line."""
        metrics = self.fontMetrics()
        text = max((metrics.horizontalAdvance(t) for t in texts), default=0)
        head = self.horizontalHeader()
        return max(text + self.CELL_MARGIN + 2,
                   metrics.horizontalAdvance(header) + 2 * head.style().pixelMetric(
                       head.style().PixelMetric.PM_HeaderMargin) + 6)

    def fit_columns(self) -> None:
        """Size the number columns to their text (numbers are never cut), then give
        the name column (elided at its end) and the status column the rest of the
        table's width, so that no scroll bar is needed: a name is narrowed to its
        least width ("momen…") first; then the status shows its short forms (✓,
        ✗) and, if still too long, takes two lines (split at its spaces only); then
        the name narrows to "mo…". Only when even that does not fit (a very narrow
        panel) a scroll bar shows."""
        for compact in (False, True):  # the whole forms if they fit, else the short ones
            self._set_compact(compact)
            if self._fit(compact):
                return

    def _set_compact(self, compact: bool) -> None:
        """Show the numbers (3 digits, 2 in a power of ten) and the statuses (marks)
        short, or whole."""
        if compact == self.compact:
            return
        self.compact = compact
        self._shown.clear()
        for i in range(min(self.rowCount(), len(self.model.runs))):
            self._show_row(i)

    def _fit(self, last_try: bool) -> bool:
        """Fit the columns to the shown texts (see :meth:`fit_columns`); returns False,
        changing nothing, if the name would be narrower than "momen…" (unless
        ``last_try``)."""
        last = self.columnCount() - 1
        metrics = self.fontMetrics()
        rows = range(self.rowCount())
        texts = [[self.cell_text(r, c) for r in rows] for c in range(1, last)]
        numbers = sum(self._column_need(t, self.HEADERS[c + 1]) for c, t in enumerate(texts))
        names = [self.cell_text(r, 0) for r in rows] + [self.HEADERS[0]]
        name_need = max(metrics.horizontalAdvance(n) for n in names) + 2 * self.CELL_MARGIN + 2
        name_min = min(metrics.horizontalAdvance("momen…") + 2 * self.CELL_MARGIN, name_need)
        name_floor = metrics.horizontalAdvance("mo…") + 2 * self.CELL_MARGIN
        width = self.viewport().width()
        statuses = [self.cell_text(r, last) for r in rows]
        compact = self.compact
        shown = [status_shown(t, compact) for t in statuses]
        if not last_try and name_min + numbers + self._column_need(shown, self.HEADERS[last]) > width:
            return False
        for c, t in enumerate(texts):  # (Qt's own fit, resizeColumnToContents, left 4 px more)
            self.setColumnWidth(c + 1, self._column_need(t, self.HEADERS[c + 1]))
        status_need = self._column_need(shown, self.HEADERS[last])
        words = [w for t in shown for w in t.split(" ")]
        status_least = self._column_need(words, self.HEADERS[last])
        name = min(name_need, max(width - numbers - status_need, name_min))
        if name + numbers + status_least > width:  # (the name's colour still tells it)
            name = max(width - numbers - status_least, min(name_floor, name_need))
        status = max(width - numbers - name, status_least)
        self.setColumnWidth(0, name)
        self.setColumnWidth(last, status)
        # a status longer than its column: on two lines (its row made taller)
        tall = {r for r, t in enumerate(shown)
                if metrics.horizontalAdvance(t) > status - self.CELL_MARGIN - 2}
        if tall != self._tall_rows:
            for r in self._tall_rows - tall:
                if r < self.rowCount():
                    self.setRowHeight(r, self.verticalHeader().defaultSectionSize())
            for r in tall:
                self.setRowHeight(r, 2 * metrics.height() + 8)
            self._tall_rows = tall
            self.rowsResized.emit()
        self._show_names()
        return True

    def _show_names(self) -> None:
        """Shorten the run names to the name column (see :func:`distinct_elided`)."""
        names = [self.cell_text(r, 0) for r in range(self.rowCount())]
        room = self.columnWidth(0) - 2 * self.CELL_MARGIN
        for r, text in enumerate(distinct_elided(names, self.fontMetrics(), room)):
            item = self.item(r, 0)
            if item is not None and item.text() != text:
                item.setText(text)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self.fit_columns()

    def cell_text(self, row: int, column: int) -> str:
        """A cell's text (the run's whole name in the name column, the whole status
        in the status column, whatever their shown forms)."""
        item = self.item(row, column)
        if item is None:
            return ""
        if column in (0, 5):
            text = item.data(Qt.ItemDataRole.UserRole)
            return text if isinstance(text, str) else item.text()
        return item.text()


#: a status's words and their short forms (a narrow status column)
STATUS_MARKS = {"converged": "✓", "diverged": "✗"}


def status_shown(status: str, compact: bool) -> str:
    """A status as the table shows it: whole, or (``compact``) with its long words as
    marks; a number stays with its label ("lr 0.01" is never split over two lines)."""
    words = status.split(" ")
    if compact:
        words = [STATUS_MARKS.get(w, w) for w in words]
    out: list[str] = []
    for w in words:
        if out and out[-1] == "lr":
            out[-1] = f"lr\u00a0{w}"
        else:
            out.append(w)
    return " ".join(out)


def distinct_elided(names: list[str], metrics, room: int) -> list[str]:
    """The names shortened to ``room`` pixels of ``metrics``' font, each reading as
    no other (the part it differs in kept: "GD…(−1, −1)", never "GD from (−1, …"
    beside "GD from (−1, 1)") and never cut inside a number (see
    :func:`~optsim.render.compute.distinct_short`)."""
    # (Qt elides a text exactly as wide as its room: it must be narrower)
    return distinct_short(names, metrics.horizontalAdvance, room - 1)


def _brush(colour: str) -> QBrush:
    return QBrush(QColor(colour))


def _num(v: float, short: bool = False) -> str:
    """A status-table number: 4 significant digits (``short``: 3, and 2 in a power
    of ten), "1.23e-5" rather than "1.23e-05" (a narrow column)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if math.isinf(v):
        return "∞"
    if v == 0:
        return "0"
    a = abs(v)
    if 1e-2 <= a < (999.5 if short else 9999.5):  # (never "1.234e+04")
        return f"{v:.3g}" if short else f"{v:.4g}"
    mantissa, exponent = (f"{v:.1e}" if short else f"{v:.2e}").split("e")
    return f"{mantissa}e{int(exponent)}"


class ShortcutsDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        lay = QVBoxLayout(self)
        rows = "".join(f"<tr><td><b>{k}</b></td><td>&nbsp;&nbsp;{v}</td></tr>" for k, v in SHORTCUTS)
        label = QLabel(f"<table>{rows}</table><p>The keys work whenever the focus is not in a "
                       "text or number field; press Esc or click the plot to leave one.</p>")
        label.setWordWrap(True)
        label.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)


def round_to_pixel(v: float, pixel: float) -> float:
    """``v`` rounded to the decimal place nearest one pixel's size (``pixel``, in
    data units): a click at -1.2346 in a view with 0.005-wide pixels gives -1.23."""
    if not (math.isfinite(pixel) and pixel > 0):
        return v
    decimals = -round(math.log10(pixel))
    return float(f"{round(v, decimals):.{max(decimals, 0)}f}") if decimals > 0 else \
        float(round(v, decimals))


def initial_geometry(avail: QRect) -> tuple[QRect, bool]:
    """A first-time window on a screen whose available area is ``avail``: 95% of
    it, centred, or, on a small screen (a projector's 1280x720), all of it,
    maximized (every pixel goes to the plot). Returns (geometry, maximized)."""
    if avail.width() <= SMALL_SCREEN[0] or avail.height() <= SMALL_SCREEN[1]:
        return QRect(avail), True
    w, h = round(avail.width() * INITIAL_FRACTION), round(avail.height() * INITIAL_FRACTION)
    return QRect(avail.x() + (avail.width() - w) // 2, avail.y() + (avail.height() - h) // 2,
                 w, h), False


GETTING_STARTED = """
<h3>Getting started</h3>
<ol>
<li><b>Step.</b> Press <b>Right</b> (→): every run takes one step; its arrow shows the step it
will take next. <b>Left</b> steps back through the history.</li>
<li><b>Run.</b> Press <b>Space</b> to run and pause; the speed is in the toolbar.</li>
<li><b>Move the start.</b> Click anywhere on the plot: every run starts again from there.</li>
<li><b>Look inside a step.</b> Select a run in <i>Optimizers</i>; the <i>Inspector</i> shows its
update rule with this step's numbers in, and <i>What am I looking at?</i> explains it.</li>
<li><b>Change the optimizers.</b> Edit a learning rate or a β in <i>Optimizers</i>; add,
duplicate or remove runs. The run restarts at once.</li>
<li><b>Change the function.</b> Pick one in <i>Function</i>, or type a formula such as
<code>x^2 + 9*y^2</code>.</li>
<li><b>Show the course's figures.</b> The <i>Presets</i> menu sets each one up, with a note
on what to watch for.</li>
<li><b>Teach with it.</b> <i>View ▸ Presentation mode</i> (<b>F11</b>) gives the plot the whole
screen in large print; <i>File ▸ Export</i> writes pictures and animations for slides.</li>
</ol>
"""

ABOUT = """
<h3>optsim {version}</h3>
<p>An optimizer visualizer: SGD, momentum, Nesterov, AdaGrad, RMSProp, Adam and their
relatives step by step over 1D and 2D loss functions. Every optimizer matches
<code>torch.optim</code> step for step (float64).</p>
<p>MIT licence. Built on PySide6 {pyside} (Qt), pyqtgraph {pyqtgraph}, NumPy {numpy} and
SymPy.</p>
"""


def np_version() -> str:
    import numpy

    return numpy.__version__


class TextDialog(QDialog):
    """A small non-modal dialog that shows rich text and a Close button."""

    def __init__(self, title: str, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        lay = QVBoxLayout(self)
        self.label = QLabel(text)
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setMinimumWidth(460)
        lay.addWidget(self.label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)


#: the settings key that remembers the first-run hint was used (it is not shown again)
KEY_HINT_DONE = "hints/first_run_done"
#: the View menu's "Equal x and y scales" (kept between runs of the program)
KEY_ASPECT = "view/equal_aspect"


def hint_height(placer: LegendPlacer, x: float, width: float, height: float, area_height: float) -> float:
    """Where a note ``width`` x ``height`` at ``x`` goes in a view box
    ``area_height`` pixels tall (its top, in the view box's pixels): the lowest
    place, from a sixth of the height above the bottom up, covering no placed box
    (legend, key) and the fewest drawn points; the lowest of those if each covers a
    box."""
    pad = 6.0
    boxes = [item.mapRectToScene(item.boundingRect()) for item in placer.boxes
             if item.isVisible() and item.opacity() > 0]
    boxes = [placer.vb.mapRectFromScene(r) for r in boxes]  # (the view box's pixels)
    pts = placer.drawn_pixels()
    lowest = area_height - height - max(70.0, area_height / 6)
    best = None
    for y in np.arange(lowest, pad - 1, -8.0):
        covers_box = any(r.intersects(QRectF(x - pad, y - pad, width + 2 * pad, height + 2 * pad))
                         for r in boxes)
        inside = ((pts[:, 0] > x - pad) & (pts[:, 0] < x + width + pad)
                  & (pts[:, 1] > y - pad) & (pts[:, 1] < y + height + pad)).sum() if len(pts) else 0
        cost = (covers_box, int(inside))
        if best is None or cost < best[0]:
            best = (cost, float(y))
        if cost == (False, 0):
            break
    return best[1] if best is not None else max(lowest, 0.0)


class FirstRunHint(QLabel):
    """A note over the bottom of the plot on a first start: how to step, run and
    move the start. It goes at the first step, run or click on the plot, and the
    settings remember that it went. It lets the mouse through to the plot."""

    TEXT = ("<b>\u2192</b> take a step &nbsp;\u00b7&nbsp; <b>Space</b> run / pause "
            "&nbsp;\u00b7&nbsp; <b>click</b> the plot to move the start")

    def __init__(self, window: MainWindow, parent: QWidget) -> None:
        super().__init__(self.TEXT, parent)
        self.window_ = window
        self.setObjectName("first_run_hint")
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setStyleSheet("QLabel#first_run_hint { background: rgba(25, 25, 25, 215); "
                           "color: white; border-radius: 8px; padding: 8px 16px; }")
        font = self.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        self.setFont(font)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._natural = self.sizeHint().width()
        self.setWordWrap(True)  # (in a narrow plot: on two lines)
        parent.installEventFilter(self)  # (the centre widget: resized, rarely anything else)
        m = window.model
        m.stepChanged.connect(self._stepped)
        window.playback.playingChanged.connect(self._played)
        window.plot.clicked.connect(self.dismiss)
        window.plot.placer.listeners.append(self._boxes_placed)
        self.place()
        self.show()
        self.raise_()

    def _boxes_placed(self) -> None:
        QTimer.singleShot(0, self, self.place)  # (after the move of the boxes)

    def _stepped(self, k: int) -> None:
        if k > 0:
            self.dismiss()

    def _played(self, on: bool) -> None:
        if on:
            self.dismiss()

    def place(self) -> None:
        """Centred across the plot's data area, as low as it covers none of the
        legends and keys and the fewest drawn points (the start, the arrows)."""
        plot = self.window_.plot
        vb = plot.getPlotItem().getViewBox()
        area = plot.mapFromScene(vb.sceneBoundingRect()).boundingRect()
        corner = plot.mapTo(self.parentWidget(), area.topLeft())
        width = max(min(self._natural, area.width() - 24), 120)
        self.resize(width, self.heightForWidth(width))
        x = (area.width() - self.width()) // 2
        y = hint_height(plot.placer, x, self.width(), self.height(), area.height())
        self.move(max(corner.x() + x, 0), max(corner.y() + y, 0))

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if event.type() in (QEvent.Type.Resize, QEvent.Type.LayoutRequest):
            QTimer.singleShot(0, self, self.place)  # (not once the hint is gone)
        return False

    def dismiss(self, *_args) -> None:
        """Hide for good (and remember it)."""
        w = self.window_
        w.settings.setValue(KEY_HINT_DONE, True)
        w.model.stepChanged.disconnect(self._stepped)
        w.playback.playingChanged.disconnect(self._played)
        w.plot.clicked.disconnect(self.dismiss)
        w.plot.placer.listeners.remove(self._boxes_placed)
        self.parentWidget().removeEventFilter(self)
        self.hide()
        self.deleteLater()
        w.first_run_hint = None


class MainWindow(QMainWindow):
    """The desktop window. ``settings``: a QSettings or an INI file path (default:
    the user's store, or an isolated one when ``OPTSIM_SETTINGS_ISOLATED`` is set);
    ``restore=False`` starts from the defaults. ``defer_parts=True`` (the program,
    :func:`optsim.gui.app.main`) leaves the parts not seen at the first paint (the
    Sweep dock, the training editors) to :meth:`install_later_parts`, called just
    after it, or to the first use of one of their attributes, and pauses the garbage
    collector until just after the first paint (see :func:`pause_gc`)."""

    #: the status table and step counter were just refreshed (while playing, a few
    #: times a second): other costly text (the inspector's page) refreshes with them
    readoutsRefreshed = Signal()

    def __init__(self, settings: QSettings | str | os.PathLike | None = None,
                 restore: bool = True, parent: QWidget | None = None,
                 defer_parts: bool = False) -> None:
        super().__init__(parent)
        if defer_parts:
            pause_gc()
            # again after the plot's first paint, or a second from now, or when the
            # window goes (never painted), whichever comes first
            self.destroyed.connect(resume_gc)
            QTimer.singleShot(1000, resume_gc)
        self.setWindowTitle(TITLE)
        self.setObjectName("optsim_main_window")
        self.settings = open_settings(settings)
        # the plug-ins loaded before (their runs may be in the session) and installed ones
        plugin_problems = load_remembered_plugins(self.settings)
        self.model = SimulationModel(parent=self)
        self.playback = PlaybackController(self.model, self)
        # the session first, while nothing observes the model (one drawing at the end)
        playback = {}
        if restore:
            playback = restore_session(self.model, load_session_dict(self.settings))
        else:
            self.model.load_default_runs()

        self.figure = Figure(self)
        self.plot = self.figure.loss_plot
        self.history_plot = self.figure.history
        if defer_parts:  # the legends are placed once the window shows (see showEvent)
            self.plot.hold_placing()
        # the plots paint their whole background: nothing behind them needs repainting
        for view in (self.plot, self.history_plot):
            view.viewport().setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self.setCentralWidget(self.figure)
        # the docks share one column; its tabs run down its left side, where five
        # titles (Optimizers ... Scenario) fit whole (on top they were cut to "Fun…")
        self.setTabPosition(Qt.DockWidgetArea.AllDockWidgetAreas, QTabWidget.TabPosition.West)
        self._styles: list[RunStyle] = []
        #: per run index, the (trajectory, step) last drawn, to skip unchanged runs
        self._drawn: dict[int, tuple] = {}
        #: runs whose extra points (second markers) are drawn
        self._with_points: set[int] = set()
        # while playing, the status table and the step counter (text, costly to lay
        # out) refresh at most every READOUT_INTERVAL_MS; paused, at once
        self._readouts = Throttle(self._refresh_readouts_now, READOUT_INTERVAL_MS, self)
        self.playback.playingChanged.connect(self._playing_changed)

        self.function_panel = FunctionPanel(self.model)
        self.function_dock = self.add_dock("Function", self.function_panel,
                                           Qt.DockWidgetArea.LeftDockWidgetArea, "function_dock")
        self.runs_panel = RunsPanel(self.model)
        self.runs_dock = self.add_dock("Optimizers", self.runs_panel,
                                       Qt.DockWidgetArea.RightDockWidgetArea, "runs_dock")
        self.status_table = StatusTable(self.model)
        self.status_table.rowsResized.connect(lambda: QTimer.singleShot(0, self, self._fit_status_dock))
        self.status_dock = self.add_dock("Status", self.status_table,
                                         Qt.DockWidgetArea.RightDockWidgetArea, "status_dock")
        self.toolbar = PlaybackToolBar(self.playback, self)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.toolbar)
        self._build_actions()
        self._build_menus()
        from .inspector import install as install_step_insight
        install_step_insight(self)  # inspector dock, step arrows, timeline slider
        # the Sweep dock and the training parts: now, or (the program) after the
        # first paint or when first asked for, whichever comes first
        self._later_parts: set[str] = set()
        if not defer_parts:
            self.install_later_parts()
        from .view3d import install as install_view3d
        install_view3d(self)  # View > 3D view (its dock is made when first opened)
        from .geometry_dock import install as install_geometry
        install_geometry(self)  # View > Taylor model, View > Geometry (slice, edge of stability)

        self.model.functionChanged.connect(self._function_changed)
        self.model.viewChanged.connect(self._view_changed)
        self.model.startChanged.connect(self._start_changed)
        self.model.runsChanged.connect(self._runs_changed)
        self.model.runChanged.connect(self._run_changed)
        self.model.stepChanged.connect(self._step_changed)
        self.plot.clicked.connect(self._plot_clicked)
        self.playback.message.connect(lambda m: self.statusBar().showMessage(m, 8000))
        self.function_panel.formulaRejected.connect(
            lambda m: self.statusBar().showMessage(f"formula not used: {m}", 8000))
        self.runs_panel.editor.rejected.connect(lambda m: self.statusBar().showMessage(m, 8000))
        self.runs_panel.pluginLoaded.connect(self._remember_plugin)
        #: trajectories whose failure (a plug-in that raised) was already reported
        self._failures_shown: set[int] = set()
        if plugin_problems:
            self.statusBar().showMessage("; ".join(plugin_problems), 15000)
        # the installed packages' optimizers: after the first paint (a scan takes ~0.5 s)
        QTimer.singleShot(3000, self, self._load_installed_plugins)

        self._initial_size()
        self.apply_default_layout()
        self._laid_out = True
        if restore:
            self._restore_geometry()
        self._apply_playback_settings(playback)
        self._function_changed()  # draws the function and the runs, once
        if restore and str(self.settings.value(KEY_ASPECT, "true")).lower() in ("false", "0"):
            self.aspect_action.setChecked(False)  # (x and y each fill the plot)
        self.statusBar().showMessage(
            "Right: one step · Space: run/pause · click the plot to move the start point", 0)
        self.plot.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        QTimer.singleShot(0, self.plot.setFocus)
        #: the first-run note over the plot (None once used, or on later starts)
        self.first_run_hint: FirstRunHint | None = None
        if str(self.settings.value(KEY_HINT_DONE, "false")).lower() not in ("true", "1"):
            self.first_run_hint = FirstRunHint(self, self.centralWidget())
        # last: an application-wide event filter sees every event from here on, so
        # it is not run for the thousands of events of building the window
        self._install_shortcut_guard()
        self._later_parts_ready = True

    def __getattr__(self, name: str):
        """A part built later (see :data:`LATER_PARTS`) is built when first asked for."""
        part = LATER_PARTS.get(name)
        if part is not None and self.__dict__.get("_later_parts_ready"):
            self.install_later_parts(part)
            if name in self.__dict__:
                return self.__dict__[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def has_part(self, part: str) -> bool:
        """Whether a part built later (``"sweep"``, ``"training"``) is built yet."""
        return part in self._later_parts

    def install_later_parts(self, *parts: str) -> None:
        """Build the parts not seen at the first paint (all by default, idempotent):
        ``"sweep"`` the Sweep dock (tabbed behind the inspector) and the basins
        overlay, ``"training"`` the schedule and clipping editors, the learning-rate
        strip and the clipped-step marks (~130 ms of the start-up together)."""
        for part in parts or ("sweep", "training"):
            if part in self._later_parts:
                continue
            self._later_parts.add(part)
            if part == "sweep":
                from .sweep_dock import install as install_sweep

                # a dock added now neither comes to the front nor moves another tab
                # there (the layout and a preset's story were placed already)
                titles = {bar.tabText(bar.currentIndex())
                          for bar in self.findChildren(QTabBar) if bar.count()}
                front = [d for d in self.dock_widgets() if d.windowTitle() in titles] \
                    if self.isVisible() else [self.runs_dock]  # (as the layout has it)
                self._adding_quietly = True
                try:
                    install_sweep(self)
                finally:
                    self._adding_quietly = False
                for dock in front:
                    dock.raise_()
            elif part == "training":
                from .training import install as install_training
                install_training(self)

    def _initial_size(self) -> None:
        """See :func:`initial_geometry` (a saved geometry replaces it); 1500 x 940
        when no screen is known."""
        screen = self.screen() or QApplication.primaryScreen()
        if screen is None:
            self.resize(1500, 940)
            return
        rect, maximized = initial_geometry(screen.availableGeometry())
        self.setGeometry(rect)
        # (offscreen, for tests and tools, nothing maximizes: a later resize() holds)
        if maximized and QApplication.platformName() != "offscreen":
            self.setWindowState(self.windowState() | Qt.WindowState.WindowMaximized)

    def dock_widgets(self) -> list[QDockWidget]:
        """The window's docks, in the order the default layout stacks them (the
        scenario's and any later dock last)."""
        first = [self.runs_dock, self.function_dock, self.status_dock]
        insight = getattr(self, "step_insight", None)
        if insight is not None:
            first.append(insight.dock)
        rest = [d for d in self.findChildren(QDockWidget) if d.parent() is self and d not in first]
        return first + rest

    def apply_default_layout(self) -> None:
        """The docks in one column on the right, sized for the window's present size,
        so that the plot keeps at least half of the window (two columns left it a
        third at 1280x720): the optimizers and the function as tabs, the status
        table below them sized to its rows, the inspector (and the scenario's story)
        below that, or in low windows as one more tab. The plot and the loss history
        share the centre about 5 : 1. A hidden dock stays hidden."""
        right = Qt.DockWidgetArea.RightDockWidgetArea
        vertical, horizontal = Qt.Orientation.Vertical, Qt.Orientation.Horizontal
        docks = self.dock_widgets()
        hidden = {d for d in docks if d.isHidden()}
        compact = self.height() <= COMPACT_HEIGHT
        runs, function, status, *others = docks
        inspector = others[0] if others else None
        for d in docks:
            d.setFloating(False)
            self.addDockWidget(right, d)
        # (split before tabbing: a dock in a tab group is split as one more tab)
        self.splitDockWidget(runs, status, vertical)
        if inspector is not None and not compact:
            self.splitDockWidget(status, inspector, vertical)
        self.tabifyDockWidget(runs, function)
        if inspector is not None:
            if compact:
                self.tabifyDockWidget(function, inspector)
            for d in others[1:]:
                self.tabifyDockWidget(inspector, d)
        for d in docks:
            d.setVisible(d not in hidden)
        runs.raise_()
        if inspector is not None and not compact:
            inspector.raise_()  # (the front tab of its group, over later panels)
        width = min(max(round(self.width() * DOCK_COLUMN_FRACTION), DOCK_COLUMN_WIDTH[0]),
                    DOCK_COLUMN_WIDTH[1])
        self.resizeDocks([runs], [width], horizontal)
        column = self.height() - 90  # less the menu, tool and status bars
        status_h = self.status_table.fitting_height() + 28  # and the dock's title
        if inspector is not None and not compact:
            top = max(round(0.45 * column), runs.minimumSizeHint().height() + 30)
            self.resizeDocks([runs, status, inspector],
                             [top, status_h, max(column - top - status_h, 200)], vertical)
        else:
            self.resizeDocks([runs, status], [column - status_h, status_h], vertical)
        splitter = getattr(self.figure, "splitter", None)
        if splitter is not None and splitter.count() == 2:
            centre = max(self.height() - 150, 300)  # less the bars, the title and timeline
            # (a tall window gives the history a little more: its rotated "loss (log)"
            # label needs about 80 px of plot)
            history = round(centre * (HISTORY_FRACTION if compact else HISTORY_FRACTION_TALL))
            splitter.setStretchFactor(0, 5)
            splitter.setStretchFactor(1, 1)
            splitter.setSizes([centre - history, history])

    # -- building blocks (other parts add docks and menus through these) ---------
    def add_dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea,
                 object_name: str) -> QDockWidget:
        """Put ``widget`` in a dock (its object name keeps its place in the settings)."""
        dock = QDockWidget(title, self)
        dock.setObjectName(object_name)
        # a usable least size: a dock squeezed by its neighbours showed one line
        widget.setMinimumSize(max(widget.minimumWidth(), MIN_DOCK_SIZE[0]),
                              max(widget.minimumHeight(), MIN_DOCK_SIZE[1]))
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(area, dock)
        if hasattr(self, "view_menu"):
            self.view_menu.addAction(dock.toggleViewAction())
        if getattr(self, "_laid_out", False):
            # a dock added later (the scenario's story) joins the inspector's tabs,
            # unless the saved layout knows its place, and comes to the front whenever
            # it is shown (a preset's story is what to read first)
            insight = getattr(self, "step_insight", None)
            restored = getattr(self, "_state_restored", False) and self.restoreDockWidget(dock)
            if not restored and insight is not None:
                self.tabifyDockWidget(insight.dock, dock)
            if not getattr(self, "_adding_quietly", False):
                dock.toggleViewAction().toggled.connect(
                    lambda on, d=dock: on and not self._restoring_layout
                    and QTimer.singleShot(0, d.raise_))
        return dock

    def add_menu(self, title: str) -> QMenu:
        """A new top-level menu, placed before Help."""
        menu = QMenu(title, self)
        self.menuBar().insertMenu(self.help_menu.menuAction(), menu)
        return menu

    def _build_actions(self) -> None:
        self.reset_view_action = QAction("Reset view", self)
        self.reset_view_action.setShortcut(QKeySequence(Qt.Key.Key_Home))
        self.reset_view_action.setToolTip("Back to the view window (Home)")
        self.reset_view_action.triggered.connect(self.reset_view)
        self.toolbar.addSeparator()
        self.toolbar.addAction(self.reset_view_action)
        self.shortcuts_action = QAction("Shortcuts…", self)
        self.shortcuts_action.triggered.connect(self.show_shortcuts)
        self.getting_started_action = QAction("Getting started…", self)
        self.getting_started_action.setShortcut(QKeySequence(QKeySequence.StandardKey.HelpContents))
        self.getting_started_action.triggered.connect(self.show_getting_started)
        self.about_action = QAction("About optsim…", self)
        self.about_action.triggered.connect(self.show_about)
        self.presentation_action = QAction("&Presentation mode", self)
        self.presentation_action.setCheckable(True)
        self.presentation_action.setShortcut(QKeySequence(Qt.Key.Key_F11))
        self.presentation_action.setToolTip("The plot and the loss history on the whole screen, "
                                            "in large print (F11; Esc leaves)")
        self.presentation_action.toggled.connect(self.set_presentation)
        self.addAction(self.presentation_action)
        self.leave_presentation_action = QAction("Leave presentation mode", self)
        self.leave_presentation_action.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        self.leave_presentation_action.setEnabled(False)
        self.leave_presentation_action.triggered.connect(lambda: self.set_presentation(False))
        self.addAction(self.leave_presentation_action)
        #: whether presentation mode is on, and what it changed (to put back)
        self.presenting = False
        self._before_presentation: dict | None = None
        self._restoring_layout = False
        self.quit_action = QAction("&Quit", self)
        self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        self.quit_action.setToolTip("Close the window (Ctrl+Q); the set-up is remembered")
        self.quit_action.triggered.connect(self.close)
        self.addAction(self.quit_action)  # (the File menu, where it is listed, comes later)
        for a in self.playback.actions() + [self.reset_view_action]:
            self.addAction(a)  # window-wide shortcuts, wherever the focus is

    def _build_menus(self) -> None:
        bar = self.menuBar()
        self.run_menu = bar.addMenu("&Run")
        for a in self.playback.actions():
            self.run_menu.addAction(a)
        self.view_menu = bar.addMenu("&View")
        self.view_menu.addAction(self.reset_view_action)
        self.reset_layout_action = QAction("Reset &layout", self)
        self.reset_layout_action.setToolTip("Put every panel back in its place in the right column")
        self.reset_layout_action.triggered.connect(self.reset_layout)
        self.view_menu.addAction(self.reset_layout_action)
        self.view_menu.addAction(self.presentation_action)
        # (the plot's own view actions: fit to the paths, x and y to one scale)
        self.fit_paths_action = self.view_menu.addAction("Fit to paths", self.plot.fit_to_paths)
        self.fit_paths_action.setToolTip("Show every visible run's path whole")
        self.aspect_action = self.view_menu.addAction("Equal x and y scales (1:1)")
        self.aspect_action.setCheckable(True)
        self.aspect_action.setChecked(self.plot.aspect_locked)
        self.aspect_action.setToolTip("Off for functions stretched along one axis")
        self.aspect_action.toggled.connect(self.plot.set_aspect_locked)
        self.view_menu.addSeparator()
        for dock in (self.function_dock, self.runs_dock, self.status_dock):
            self.view_menu.addAction(dock.toggleViewAction())
        self.help_menu = bar.addMenu("&Help")
        self.help_menu.addAction(self.getting_started_action)
        self.help_menu.addAction(self.shortcuts_action)
        self.help_menu.addSeparator()
        self.help_menu.addAction(self.about_action)

    def _install_shortcut_guard(self) -> None:
        seqs = [a.shortcut() for a in self.playback.actions() + [self.reset_view_action]]
        self.shortcut_guard = ShortcutGuard(seqs, self.plot, self)
        self.shortcut_guard.watch(QApplication.instance())

    # -- model -> plot -----------------------------------------------------------
    def _function_changed(self) -> None:
        if not self.function_panel.applying:
            self.release_text_focus()
        self._drawn.clear()
        self.figure.set_function(self.model.function, self.model.view)
        self.figure.set_start_marker(self.model.start)
        self._runs_changed()

    def _view_changed(self) -> None:
        if self.plot.view != self.model.view:
            self._drawn.clear()
            self.figure.set_function(self.model.function, self.model.view)
            self.figure.set_start_marker(self.model.start)
            self.redraw()

    def _start_changed(self) -> None:
        self.figure.set_start_marker(self.model.start)

    def _current_styles(self) -> list[RunStyle]:
        return [RunStyle(r.name, r.colour, r.visible) for r in self.model.runs]

    def _runs_changed(self) -> None:
        self._drawn.clear()  # indices may have moved
        styles = self._current_styles()
        if styles != self._styles:
            self.figure.set_runs(styles)
            self._styles = styles
        self.redraw()
        self.plot.place_legend()

    def _run_changed(self, i: int) -> None:
        styles = self._current_styles()
        old = self._styles
        if len(old) == len(styles) and all(
                (a.name, a.colour) == (b.name, b.colour) for a, b in zip(old, styles, strict=True)):
            if old[i].visible != styles[i].visible:
                self.figure.set_run_visible(i, styles[i].visible)
            self._styles = styles
            self._draw_run(i)
            self.figure.set_step(self.model.shown_step)
            self.refresh_status()
        else:
            self._runs_changed()

    def _step_changed(self, _k: int) -> None:
        self.redraw()

    def _draw_run(self, i: int, force: bool = False) -> None:
        r = self.model.runs[i]
        t = r.trajectory
        k = r.displayed_step(self.model.shown_step)
        drawn = self._drawn.get(i)
        if not force and drawn is not None and drawn[0] is t and drawn[1] == k:
            return  # unchanged (hidden, diverged or already shown): no setData
        # losses up to the shown step only, like the trail: stepping back rewinds both
        self.figure.update_rows(i, t.positions, k, t.losses[: k + 1], source=t)
        if t.failure is not None and id(t) not in self._failures_shown:
            self._failures_shown.add(id(t))
            self._report_failure(r.name, t)
        if t.optimizer.extra_points or i in self._with_points:
            self._draw_points(i, t, k)
        self._drawn[i] = (t, k)

    def _report_failure(self, name: str, t) -> None:
        """A run whose optimizer raised (a plug-in): say so, with its traceback under
        "Show Details…", without blocking the window (the run stays, failed)."""
        e = t.failure
        QTimer.singleShot(0, lambda: self.runs_panel.show_failure(
            "Optimizer failed", f"Run {name!r} stopped: {e}. The other runs go on.",
            e.details))
        self.statusBar().showMessage(f"run {name!r} failed at step {e.step}: {e}", 15000)

    def _load_installed_plugins(self) -> None:
        """Register the installed packages' optimizers (entry points) in the list."""
        from ..plugins import entry_point_problems

        problems = entry_point_problems()
        self.runs_panel.fill_kinds()
        if problems:
            self.statusBar().showMessage("; ".join(problems), 15000)

    def _remember_plugin(self, path: str) -> None:
        """Keep a loaded plug-in's file for the next session (QSettings)."""
        files = remembered_plugins(self.settings)
        if path not in files:
            self.settings.setValue(KEY_PLUGINS, json.dumps([*files, path]))

    def _draw_points(self, i: int, t, k: int) -> None:
        """The extra points of run ``i``'s optimizer (Schedule-Free's x, Lookahead's
        slow weights) as second markers with thin paths: a run of one row only."""
        paths = t.extra_paths() if t.n == 1 else {}
        labels = {p.key: p.name.split(":")[0].split(" (")[0] for p in t.optimizer.extra_points}
        self.figure.update_points(i, {key: p[:, 0] for key, p in paths.items()}, k, labels)
        if paths:
            self._with_points.add(i)
        else:
            self._with_points.discard(i)

    def redraw(self) -> None:
        """Show the shown step: every run's trail and marker, the loss lines, the
        counter and the status table (array slices only; no per-step Python)."""
        with self.figure.batch():
            for i in range(len(self.model.runs)):
                self._draw_run(i)
        self.figure.set_step(self.model.shown_step)
        self.refresh_status()

    def refresh_status(self) -> None:
        """Refresh the status table and the step counter: now, or while playing at
        most every READOUT_INTERVAL_MS (every row at once: rows a frame or two
        apart showed runs at different steps)."""
        self._readouts.request()

    def _playing_changed(self, playing: bool) -> None:
        self._readouts.set_active(playing, flush=False)
        if not playing:  # every number now, the columns fitted to them again
            self._refresh_readouts_now()

    def _refresh_readouts_now(self) -> None:
        self.status_table.refresh(fit=not self.playback.playing)
        if self.status_table.verticalScrollBar().maximum() > 0:
            self._fit_status_dock()
        self.toolbar.show_step(self.model.shown_step, self.model.computed_steps)
        self.readoutsRefreshed.emit()

    def _fit_status_dock(self) -> None:
        """More rows than the status panel shows (a preset with five runs, a status
        on two lines): the panel grows, taking from the panel above it, up to
        STATUS_MOST of the window's height (its vertical scroll bar also took the
        width the columns were fitted to)."""
        dock, table = self.status_dock, self.status_table
        if dock.isFloating() or not dock.isVisible() or self.presenting:
            return
        for _ in range(3):  # (a scroll bar going away frees room: measured again)
            bars = table.horizontalScrollBar()
            want = min(table.needed_height() + (dock.height() - table.height())
                       + (bars.height() if bars.isVisible() else 0),
                       round(STATUS_MOST * self.height()))
            if want <= dock.height():
                return
            self.resizeDocks([dock], [want], Qt.Orientation.Vertical)
            self.layout().activate()

    # -- widgets -> model ----------------------------------------------------------
    def _plot_clicked(self, x: float, y: float) -> None:
        if not (math.isfinite(x) and math.isfinite(y)):
            return
        px, py = self.plot.getPlotItem().getViewBox().viewPixelSize()
        point = [round_to_pixel(x, px), round_to_pixel(y, py)][: self.model.function.dim]
        self.model.set_start(point)
        self.statusBar().showMessage(
            "start moved to " + ", ".join(f"{v:g}" for v in point) + "; every run restarted", 6000)

    def set_presentation(self, on: bool) -> None:
        """Presentation mode (View menu, F11; Esc leaves): the plot and the loss
        history fill the screen, the panels and the status bar are hidden, text,
        lines and markers are PRESENTATION_SCALE times as large and the step counter
        larger still. Leaving puts every panel, size and the window state back."""
        on = bool(on)
        if on == self.presenting:
            self.presentation_action.setChecked(on)
            return
        self.presenting = on
        splitter = getattr(self.figure, "splitter", None)
        if on:
            self._before_presentation = {
                "layout": self.saveState(STATE_VERSION), "state": self.windowState(),
                "status": self.statusBar().isVisible(),
                "split": splitter.sizes() if splitter is not None else None}
            for d in self.dock_widgets():
                d.hide()
            self.statusBar().hide()
            self._set_scale(PRESENTATION_SCALE)
            self.setWindowState(self.windowState() | Qt.WindowState.WindowFullScreen)
            if splitter is not None and splitter.count() == 2:
                total = sum(splitter.sizes()) or self.height()
                history = round(total * PRESENTATION_HISTORY)
                splitter.setSizes([total - history, history])
        else:
            before = self._before_presentation or {}
            self._set_scale(1.0)
            self.setWindowState(before.get("state", Qt.WindowState.WindowNoState))
            self.statusBar().setVisible(before.get("status", True))
            if before.get("layout") is not None:
                self._restoring_layout = True
                try:
                    self.restoreState(before["layout"], STATE_VERSION)
                finally:
                    self._restoring_layout = False
            if splitter is not None and before.get("split"):
                splitter.setSizes(before["split"])
            self._before_presentation = None
        self.leave_presentation_action.setEnabled(on)
        self.presentation_action.setChecked(on)
        self._drawn.clear()
        self.redraw()
        self.plot.place_legend()
        self.plot.setFocus(Qt.FocusReason.OtherFocusReason)

    def _set_scale(self, scale: float) -> None:
        self.figure.set_scale(scale)
        self.toolbar.set_scale(scale)
        insight = getattr(self, "step_insight", None)
        if insight is not None:
            insight.overlay.set_scale(scale)

    def reset_layout(self) -> None:
        """View > Reset layout: the default layout for the present size, with every
        panel but a story-less scenario shown."""
        for d in self.dock_widgets()[:4]:
            d.show()
        self.apply_default_layout()

    def release_text_focus(self) -> None:
        """If a text or number field has the keyboard focus, give it to the plot, so
        that Space runs and Right steps (after a preset or a scenario loads, a field
        kept it and Space typed a space)."""
        focus = QApplication.focusWidget()
        if focus is not None and focus.window() is self and is_text_entry(focus):
            self.plot.setFocus(Qt.FocusReason.OtherFocusReason)

    def reset_view(self) -> None:
        self.figure.reset_view()

    def show_shortcuts(self) -> ShortcutsDialog:
        dialog = ShortcutsDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def show_getting_started(self) -> TextDialog:
        """Help > Getting started: the first things to try, in order."""
        return self._show_text("Getting started", GETTING_STARTED)

    def show_about(self) -> TextDialog:
        """Help > About optsim: what it is, its version and what it is built on."""
        import pyqtgraph
        import PySide6

        from .. import __version__

        text = ABOUT.format(version=__version__, pyside=PySide6.__version__,
                            pyqtgraph=pyqtgraph.__version__, numpy=np_version())
        return self._show_text("About optsim", text)

    def _show_text(self, title: str, text: str) -> TextDialog:
        dialog = TextDialog(title, text, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    # -- settings ------------------------------------------------------------------
    def playback_settings(self) -> dict:
        c = self.playback
        return {"speed": c.speed, "max_speed": c.max_speed, "max_steps": c.max_steps,
                "stop_when_converged": c.stop_when_converged}

    def _apply_playback_settings(self, pb: dict) -> None:
        tb = self.toolbar
        speed = pb.get("speed")
        if isinstance(speed, (int, float)) and not isinstance(speed, bool) and math.isfinite(speed) \
                and speed > 0:
            tb.speed_slider.setValue(round(100 * math.log10(min(max(speed, 1.0), 1000.0))))
        if isinstance(pb.get("max_speed"), bool):
            tb.max_box.setChecked(pb["max_speed"])
        steps = pb.get("max_steps")
        if isinstance(steps, int) and not isinstance(steps, bool) and steps > 0:
            tb.max_steps_spin.setValue(min(steps, tb.max_steps_spin.maximum()))
        if isinstance(pb.get("stop_when_converged"), bool):
            tb.converged_box.setChecked(pb["stop_when_converged"])

    def _restore_geometry(self) -> None:
        """The saved dock layout, then the saved geometry: the default layout's least
        size (every dock shown) could be larger than a saved window with docks hidden,
        and the window would open larger than it was left."""
        state = read_bytes(self.settings, KEY_STATE)
        if state is not None:
            self._state_restored = self.restoreState(state, STATE_VERSION)
            self.layout().activate()  # (the least size of the restored layout, now)
        geom = read_bytes(self.settings, KEY_GEOMETRY)
        if geom is not None:
            self.restoreGeometry(geom)

    def save_settings(self) -> None:
        self.settings.setValue(KEY_GEOMETRY, self.saveGeometry())
        self.settings.setValue(KEY_STATE, self.saveState(STATE_VERSION))
        save_session(self.settings, self.model, self.playback_settings())
        self.settings.setValue(KEY_ASPECT, bool(self.aspect_action.isChecked()))
        self.settings.sync()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        self.plot.release_placing()  # (held while the window was built: see __init__)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        self.playback.set_playing(False)
        self.set_presentation(False)  # (the panels' places are saved, not hidden ones)
        self.save_settings()
        self.shortcut_guard.unwatch()
        super().closeEvent(event)


__all__ = ["MainWindow", "StatusTable", "SHORTCUTS", "TITLE", "is_text_entry"]
