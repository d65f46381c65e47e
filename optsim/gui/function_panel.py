"""The function panel: built-in functions grouped by dimension, a formula field for
a custom function (its errors shown inline; the previous function stays), the
editable view window and the start point."""

from __future__ import annotations

import math

from PySide6.QtCore import QRect, QSignalBlocker, Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..functions import LossFunction
from ..functions import groups as function_groups
from .model import SimulationModel
from .runs_panel import ERROR_STYLE, HINT_STYLE, NumberSpinBox

#: the combo entry shown while a typed formula is the function
CUSTOM = "custom formula"


class FunctionPanel(QWidget):
    """Choose the function, type a formula, edit the view and the start."""

    #: a formula was rejected; the message is shown next to the field
    formulaRejected = Signal(str)

    def __init__(self, model: SimulationModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)

        fn_box = QGroupBox("Function")
        fl = QVBoxLayout(fn_box)
        self.combo = QComboBox()
        self.combo.setToolTip("Built-in loss functions, by dimension")
        self._items = QStandardItemModel(self.combo)
        self.combo.setModel(self._items)
        self._fill_combo()
        fl.addWidget(self.combo)
        self.description = QLabel("")
        self.description.setWordWrap(True)
        self.description.setStyleSheet(HINT_STYLE)
        # a wrapped label's height is not negotiated by dock layouts: reserve 3 lines
        self.description.setMinimumHeight(3 * self.description.fontMetrics().lineSpacing() + 4)
        self.description.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        fl.addWidget(self.description)

        row = QHBoxLayout()
        self.formula_edit = QLineEdit()
        self.formula_edit.setPlaceholderText("or type f(x) or f(x, y), e.g. x**2 + 3*sin(y)")
        self.formula_edit.setToolTip("A custom loss function of x (1D) or x and y (2D); "
                                     "press Enter to use it")
        self.formula_edit.setClearButtonEnabled(True)
        self.apply_button = QPushButton("Use")
        self.apply_button.setToolTip("Use the typed formula")
        row.addWidget(self.formula_edit, 1)
        row.addWidget(self.apply_button)
        fl.addLayout(row)
        self.formula_error = QLabel("")
        self.formula_error.setWordWrap(True)
        self.formula_error.setStyleSheet(ERROR_STYLE)
        self.formula_error.setVisible(False)
        fl.addWidget(self.formula_error)
        lay.addWidget(fn_box)

        view_box = QGroupBox("View window")
        grid = QGridLayout(view_box)
        self.xmin, self.xmax, self.ymin, self.ymax = (NumberSpinBox() for _ in range(4))
        for s in (self.xmin, self.xmax, self.ymin, self.ymax):
            s.setRange(-1e6, 1e6)
            s.setSingleStep(0.5)
            s.valueChanged.connect(self._view_edited)
        self.ylabel = QLabel("y")
        grid.addWidget(QLabel("x"), 0, 0)
        grid.addWidget(self.xmin, 0, 1)
        grid.addWidget(QLabel("to"), 0, 2)
        grid.addWidget(self.xmax, 0, 3)
        grid.addWidget(self.ylabel, 1, 0)
        grid.addWidget(self.ymin, 1, 1)
        grid.addWidget(QLabel("to"), 1, 2)
        grid.addWidget(self.ymax, 1, 3)
        self.view_error = QLabel("")
        self.view_error.setStyleSheet(ERROR_STYLE)
        self.view_error.setVisible(False)
        grid.addWidget(self.view_error, 2, 0, 1, 4)
        lay.addWidget(view_box)

        start_box = QGroupBox("Start point (or click the plot)")
        sf = QFormLayout(start_box)
        self.start_x, self.start_y = NumberSpinBox(), NumberSpinBox()
        for s in (self.start_x, self.start_y):
            s.setRange(-1e6, 1e6)
            s.setSingleStep(0.1)
            s.valueChanged.connect(self._start_edited)
        self.start_y_label = QLabel("y")
        sf.addRow("x", self.start_x)
        sf.addRow(self.start_y_label, self.start_y)
        #: says which runs start elsewhere (a scenario's own starts) until a new start
        self.own_starts_note = QLabel("")
        self.own_starts_note.setWordWrap(True)
        self.own_starts_note.setStyleSheet(HINT_STYLE)
        self.own_starts_note.setVisible(False)
        sf.addRow(self.own_starts_note)
        lay.addWidget(start_box)
        lay.addStretch(1)
        self.setMinimumWidth(300)

        #: True while the panel itself changes the function (a typed formula, the combo)
        self.applying = False
        self.combo.activated.connect(self._combo_chosen)
        self.formula_edit.returnPressed.connect(self.apply_formula)
        self.apply_button.clicked.connect(self.apply_formula)
        model.functionChanged.connect(self._function_changed)
        model.viewChanged.connect(self._view_changed)
        model.startChanged.connect(self._start_changed)
        model.runsChanged.connect(self._runs_changed)
        self._function_changed()
        self._view_changed()
        self._start_changed()
        self._runs_changed()

    # -- combo -----------------------------------------------------------------
    def _fill_combo(self) -> None:
        for title, fns in function_groups():  # 1D, then 2D by the literature's families
            header = QStandardItem(f"— {title} —")
            header.setFlags(Qt.ItemFlag.NoItemFlags)  # a section header: not selectable
            header.setData(None, Qt.ItemDataRole.UserRole)
            self._items.appendRow(header)
            for fn in fns:
                item = QStandardItem(f"  {fn.name}")
                item.setData(fn.name, Qt.ItemDataRole.UserRole)
                item.setToolTip(f"{fn.formula}\n{fn.description}")
                self._items.appendRow(item)
        header = QStandardItem("— typed —")
        header.setFlags(Qt.ItemFlag.NoItemFlags)
        self._items.appendRow(header)
        custom = QStandardItem(f"  {CUSTOM}")
        custom.setData(CUSTOM, Qt.ItemDataRole.UserRole)
        self._items.appendRow(custom)

    def function_names(self) -> list[str]:
        """The selectable entries' names, in combo order."""
        return [self._items.item(r).data(Qt.ItemDataRole.UserRole)
                for r in range(self._items.rowCount())
                if self._items.item(r).data(Qt.ItemDataRole.UserRole)]

    def index_of(self, name: str) -> int:
        for r in range(self._items.rowCount()):
            if self._items.item(r).data(Qt.ItemDataRole.UserRole) == name:
                return r
        return -1

    def choose(self, name: str) -> None:
        """Select a built-in function by name, as the user would."""
        self.combo.setCurrentIndex(self.index_of(name))
        self._combo_chosen(self.combo.currentIndex())

    def _combo_chosen(self, index: int) -> None:
        name = self._items.item(index).data(Qt.ItemDataRole.UserRole) if index >= 0 else None
        if name == CUSTOM:
            if self.formula_edit.text().strip():
                self.apply_formula()
            else:
                self.formula_edit.setFocus()
                self._sync_combo()
            return
        if name and (self.model.function.is_custom or name != self.model.function.name):
            self._set_function(name)

    def apply_formula(self) -> bool:
        """Use the typed formula; on an error show it and change nothing."""
        text = self.formula_edit.text().strip()
        if not text:
            self._show_formula_error("type a formula in x (and y), e.g. x**2 + 9*y**2")
            return False
        try:
            from ..functions import as_function

            fn = as_function(text)
        except (ValueError, TypeError, SyntaxError, ImportError, ArithmeticError) as e:
            self._show_formula_error(str(e) or type(e).__name__)
            return False
        self._set_function(fn)
        return True

    def _set_function(self, fn) -> None:
        self.applying = True
        try:
            self.model.set_function(fn)
        finally:
            self.applying = False
        self._clear_formula_error()

    def _show_formula_error(self, message: str) -> None:
        self.formula_error.setText(message)
        self.formula_error.setVisible(True)
        self.formulaRejected.emit(message)
        self._sync_combo()

    def _clear_formula_error(self) -> None:
        self.formula_error.setText("")
        self.formula_error.setVisible(False)

    # -- model -> widgets --------------------------------------------------------
    def _sync_combo(self) -> None:
        fn = self.model.function
        with QSignalBlocker(self.combo):
            self.combo.setCurrentIndex(self.index_of(CUSTOM if fn.is_custom else fn.name))

    def _function_changed(self) -> None:
        fn: LossFunction = self.model.function
        self._sync_combo()
        if not self.applying:
            # set from elsewhere (a preset, a scenario, the settings): a rejected
            # formula's text and message go; the field shows the formula in use
            self._clear_formula_error()
            with QSignalBlocker(self.formula_edit):
                if not fn.is_custom:
                    self.formula_edit.clear()
                elif _normalised(self.formula_edit.text()) != _normalised(fn.formula):
                    self.formula_edit.setText(fn.formula)
                    # its start in view (a long formula showed "4)**2 + 0.5*(1 + x**2)*y**2")
                    self.formula_edit.setCursorPosition(0)
        text = fn.description or (f"f = {fn.formula}" if fn.formula else "")
        if fn.formula and not fn.is_custom:
            text = f"f = {fn.formula}. {text}"
        self.description.setText(text)
        self._fit_description()
        two = fn.dim == 2
        # a 1D function has no y start: the row is hidden rather than greyed out
        self.start_y.setVisible(two)
        self.start_y_label.setVisible(two)
        self.start_y.setEnabled(two)
        self.start_y_label.setEnabled(two)
        self.ylabel.setText("y" if two else "loss")

    def _view_changed(self) -> None:
        (x0, x1), (y0, y1) = self.model.view
        for s, v in ((self.xmin, x0), (self.xmax, x1), (self.ymin, y0), (self.ymax, y1)):
            with QSignalBlocker(s):
                s.setValue(v)
        self.view_error.setVisible(False)

    def _start_changed(self) -> None:
        p = self.model.start
        with QSignalBlocker(self.start_x):
            self.start_x.setValue(float(p[0]))
        with QSignalBlocker(self.start_y):
            self.start_y.setValue(float(p[1]) if len(p) > 1 else 0.0)

    # -- widgets -> model --------------------------------------------------------
    def _fit_description(self) -> None:
        """Reserve the wrapped description's height at its current width (a dock's
        layout does not ask a word-wrapped label for it), at least 3 lines."""
        d = self.description
        fm = d.fontMetrics()
        width = d.width() if d.width() > 50 else max(self.width() - 40, 200)
        text_h = fm.boundingRect(QRect(0, 0, width, 100_000), Qt.TextFlag.TextWordWrap,
                                 d.text()).height()
        lines = max(3, math.ceil(text_h / fm.lineSpacing()))
        # a pixel more per line than the metrics say: on X11 the drawn lines were 15 px
        # apart for a 14 px line spacing, and the last line was clipped
        need = lines * (fm.lineSpacing() + 1) + 6
        if d.minimumHeight() != need:
            d.setMinimumHeight(need)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self._fit_description()

    def _runs_changed(self) -> None:
        """Say which runs start elsewhere than the start point shown here."""
        own = [r for r in self.model.runs if r.start is not None]
        if own:
            where = "\n".join(
                f"{r.name}: ({', '.join(f'{v:g}' for v in r.start)})" for r in own)
            n = f"{len(own)} of {len(self.model.runs)} runs start"
            self.own_starts_note.setText(
                f"{n} at their own point (hover to see where); a new start here or a "
                "click on the plot moves every run.")
            self.own_starts_note.setToolTip(f"Own start points (from the scenario):\n{where}")
        self.own_starts_note.setVisible(bool(own))

    def _view_edited(self, *_args) -> None:
        view = ((self.xmin.value(), self.xmax.value()), (self.ymin.value(), self.ymax.value()))
        try:
            self.model.set_view(view)
        except ValueError as e:
            self.view_error.setText(str(e).replace(f", got {view!r}", ""))
            self.view_error.setVisible(True)
            return
        self.view_error.setVisible(False)

    def _start_edited(self, *_args) -> None:
        p = [self.start_x.value(), self.start_y.value()][: self.model.function.dim]
        if all(math.isfinite(v) for v in p) and list(self.model.start) != p:
            self.model.set_start(p)


def _normalised(formula: str) -> str:
    """A formula compared as the parser reads it (``^`` is ``**``; spaces ignored)."""
    return "".join(formula.replace("^", "**").split())
