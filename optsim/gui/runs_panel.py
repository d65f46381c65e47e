"""The optimizers panel: the list of runs (add, duplicate, remove, colour,
visibility, name, diverged badge) and, for the selected run, its optimizer type and
hyperparameter editors generated from the engine's declarations.

The widgets only mirror the limits the engine declares; the engine validates: every
edit constructs an Optimizer, and a ValueError is shown inline while the model keeps
the previous valid optimizer.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from PySide6.QtCore import QEvent, QSignalBlocker, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPalette, QPixmap, QValidator
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QColorDialog,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QStyle,
    QStyledItemDelegate,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..engine import OPTIMIZERS, WRAPPERS, HyperParam, Optimizer
from ..engine.registry import optimizer_kind
from ..plugins import PluginError, load_plugin
from ..render.compute import distinct_short
from .model import SimulationModel

ERROR_STYLE = "color: #B00020;"
HINT_STYLE = "color: #666666;"


#: the runs list's selection: a light tint (the style's blue hid the sky-blue and
#: blue runs' swatches), with dark text
SELECTION_COLOUR = "#dde3ea"
#: the most rows the panel gives a fan of starts (scenarios may hold more)
MAX_FAN_ROWS = 1000
#: the letters the optimizer list is at least wide enough for (longer names widen it
#: where the dock has room)
KIND_COMBO_LETTERS = 9


def colour_icon(colour: str, size: int = 14) -> QIcon:
    """A run's colour swatch: the colour in a dark frame with a white ring, the same
    picture when its row is selected (Qt tints a selected icon otherwise)."""
    pm = QPixmap(size, size)
    pm.fill(QColor("#333333"))
    painter = QPainter(pm)
    painter.fillRect(1, 1, size - 2, size - 2, QColor("#ffffff"))
    painter.fillRect(2, 2, size - 4, size - 4, QColor(colour))
    painter.end()
    icon = QIcon()
    for mode in (QIcon.Mode.Normal, QIcon.Mode.Selected, QIcon.Mode.Active):
        icon.addPixmap(pm, mode)
    return icon


def _open_nudge(bound: float) -> float:
    """How far inside an open bound the spin box's limit sits."""
    return 1e-6 * max(1.0, abs(bound))


def spin_limits(p: HyperParam) -> tuple[float, float]:
    """The spin box's minimum and maximum for a declaration: the declared bounds,
    moved just inside an open bound, and ±1e9 where unbounded (∞ above when the default
    is ∞: Prodigy's growth_rate)."""
    lo = -1e9 if p.low is None else p.low + (_open_nudge(p.low) if p.low_open else 0.0)
    hi = 1e9 if p.high is None else p.high - (_open_nudge(p.high) if p.high_open else 0.0)
    if p.high is None and p.default == math.inf:
        hi = math.inf
    return lo, hi


class NumberSpinBox(QDoubleSpinBox):
    """A double spin box that shows numbers compactly (``%g``, so 1e-08 and 0.999
    alike), steps multiplicatively for log-scale parameters, and reports a typed
    value outside its range through ``outOfRange(text)`` instead of silently
    refusing it."""

    outOfRange = Signal(str)

    def __init__(self, log: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._log = log
        self.setDecimals(15)
        self.setKeyboardTracking(False)
        self.setAccelerated(True)

    def textFromValue(self, value: float) -> str:  # noqa: N802 (Qt override)
        return f"{value:.7g}"

    def valueFromText(self, text: str) -> float:  # noqa: N802
        try:
            return float(text.strip())
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):  # noqa: D401 (Qt override)
        t = text.strip()
        if t in ("", "-", "+", ".", "-.", "+.") or t.lower().endswith(("e", "e-", "e+")):
            return QValidator.State.Intermediate, text, pos
        try:
            v = float(t)
        except ValueError:
            return QValidator.State.Invalid, text, pos
        if not math.isfinite(v) and not (v == math.inf == self.maximum()):
            return QValidator.State.Invalid, text, pos
        if v < self.minimum() or v > self.maximum():
            self.outOfRange.emit(t)
            return QValidator.State.Intermediate, text, pos
        return QValidator.State.Acceptable, text, pos

    def stepBy(self, steps: int) -> None:  # noqa: N802
        if self._log and self.value() > 0:
            self.setValue(self.value() * 10 ** (0.1 * steps))
        else:
            step = self.singleStep()
            self.setValue(self.value() + steps * step)


class LogSlider(QSlider):
    """A horizontal slider over ``[lo, hi]`` on a log scale; ``logValueChanged``
    reports the value when the user moves it."""

    logValueChanged = Signal(float)
    TICKS = 1000

    def __init__(self, lo: float, hi: float, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self._lo, self._hi = math.log10(lo), math.log10(hi)
        self.setRange(0, self.TICKS)
        self.valueChanged.connect(self._moved)
        self._quiet = False

    def set_log_value(self, v: float) -> None:
        if v <= 0:
            pos = 0
        else:
            frac = (math.log10(v) - self._lo) / (self._hi - self._lo)
            pos = round(min(max(frac, 0.0), 1.0) * self.TICKS)
        self._quiet = True
        self.setValue(pos)
        self._quiet = False

    def log_value(self) -> float:
        return 10 ** (self._lo + (self._hi - self._lo) * self.value() / self.TICKS)

    def _moved(self, _pos: int) -> None:
        if not self._quiet:
            self.logValueChanged.emit(self.log_value())


def slider_range(p: HyperParam, default: float) -> tuple[float, float]:
    """The log slider's span: four decades either side of the default, inside the
    declared bounds."""
    base = default if default > 0 else 1e-3
    lo, hi = base * 1e-4, base * 1e4
    if p.low is not None and p.low > 0:
        lo = max(lo, p.low)
    if p.high is not None:
        hi = min(hi, p.high)
    return lo, max(hi, lo * 10)


class HyperparamEditor(QWidget):
    """Editors for one optimizer's declared hyperparameters. ``valuesEdited`` sends
    the full dict of values whenever one changes; ``rejected(message)`` says why a
    typed value could not be taken."""

    valuesEdited = Signal(dict)
    rejected = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._form = QFormLayout(self)
        self._form.setContentsMargins(0, 0, 0, 0)
        self._form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        # a long name (momentum_decay) goes above its editor in a narrow dock rather
        # than widening the dock column (and narrowing the plot)
        self._form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self._editors: dict[str, QWidget] = {}
        self._sliders: dict[str, LogSlider] = {}
        self._declared: tuple[HyperParam, ...] = ()

    def build(self, declared: tuple[HyperParam, ...], values: dict) -> None:
        """Regenerate the editors for these declarations, showing ``values``."""
        while self._form.rowCount():
            self._form.removeRow(0)
        self._editors.clear()
        self._sliders.clear()
        self._declared = declared
        for p in declared:
            tip = f"<b>{p.name}</b> {p.range_text()}<br>{p.help}<br>default: " + (
                p.text(p.default) if p.choices else str(p.default))
            label = QLabel(p.name)
            label.setToolTip(tip)
            if p.kind is bool:
                box = QCheckBox(p.choices[1] if p.choices else "")  # line_search_fn
                box.setChecked(bool(values.get(p.name, p.default)))
                box.toggled.connect(self._emit)
                box.setToolTip(tip)
                self._editors[p.name] = box
                self._form.addRow(label, box)
                continue
            if p.kind is int:
                spin: QWidget = QSpinBox()
                lo, hi = spin_limits(p)
                spin.setRange(int(math.ceil(lo)), int(math.floor(min(hi, 2**31 - 1))))
                spin.setValue(int(values.get(p.name, p.default)))
                spin.setKeyboardTracking(False)
                spin.valueChanged.connect(self._emit)
            else:
                spin = NumberSpinBox(log=p.log)
                lo, hi = spin_limits(p)
                spin.setRange(lo, hi)
                if not p.log:
                    span = (hi - lo) if p.low is not None and p.high is not None else 1.0
                    spin.setSingleStep(0.01 if span <= 1.0 else 0.1)
                spin.setValue(float(values.get(p.name, p.default)))
                spin.valueChanged.connect(self._emit)
                spin.outOfRange.connect(
                    lambda _t, p=p: self.rejected.emit(f"{p.name} must be in {p.range_text()}"))
            spin.setToolTip(tip)
            spin.setMinimumWidth(80)
            self._editors[p.name] = spin
            hint = QLabel(p.range_text())
            hint.setStyleSheet(HINT_STYLE)
            hint.setToolTip(tip)
            row = QHBoxLayout()
            row.setSpacing(4)
            row.addWidget(spin, 1)
            if p.log and p.kind is float:
                lo_s, hi_s = slider_range(p, float(p.default))
                slider = LogSlider(lo_s, hi_s)
                slider.setToolTip(f"{p.name} on a log scale, {lo_s:g} to {hi_s:g}")
                slider.set_log_value(float(values.get(p.name, p.default)))
                slider.logValueChanged.connect(lambda v, s=spin: s.setValue(float(f"{v:.3g}")))
                slider.setMinimumWidth(60)
                self._sliders[p.name] = slider
                row.addWidget(slider, 2)
            row.addWidget(hint)
            self._form.addRow(label, row)

    def values(self) -> dict:
        out = {}
        for p in self._declared:
            w = self._editors[p.name]
            out[p.name] = w.isChecked() if isinstance(w, QCheckBox) else w.value()
        return out

    def editor(self, name: str) -> QWidget:
        """The editor widget of hyperparameter ``name`` (for tests and tools)."""
        return self._editors[name]

    def slider(self, name: str) -> LogSlider:
        return self._sliders[name]

    def _emit(self, *_args) -> None:
        for name, s in self._sliders.items():
            s.set_log_value(self._editors[name].value())
        self.valuesEdited.emit(self.values())


class VerticalScroll(QScrollArea):
    """A frameless scroll area for a panel of rows: as wide as its widget needs (a
    dock that keeps that width never scrolls sideways), as short as the dock makes
    it (its rows keep their height and scroll)."""

    def __init__(self, widget: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        # (rows wider than the dock, e.g. a narrow column, scroll rather than being cut)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setWidget(widget)
        widget.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt override)
        if obj is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()  # its rows changed: the width they need may too
        return False

    def _width(self, hint: QSize) -> int:
        return hint.width() + self.verticalScrollBar().sizeHint().width() + 2 * self.frameWidth()

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        w = self.widget()
        base = super().minimumSizeHint()
        return base if w is None else QSize(self._width(w.minimumSizeHint()), base.height())

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        w = self.widget()
        base = super().sizeHint()
        return base if w is None else QSize(self._width(w.sizeHint()), base.height())


class DistinctNames(QStyledItemDelegate):
    """Draws the runs' names (column 0 of a tree) shortened so that none reads as
    another (:func:`~optsim.render.compute.distinct_short`): Qt's own elision cut
    "GD from (−1, −1)" to "GD from (−1, …" beside "GD from (−1, 1)" in a narrow dock.
    Editing (a double-click) still gets the whole name."""

    def __init__(self, tree: QTreeWidget) -> None:
        super().__init__(tree)
        self.tree = tree
        self._shown: dict[tuple, list[str]] = {}

    def initStyleOption(self, option, index) -> None:  # noqa: N802 (Qt override)
        super().initStyleOption(option, index)
        if index.column() != 0 or index.parent().isValid():
            return
        tree = self.tree
        style = tree.style()
        # (as Qt's style lays the text out: its rectangle, less a margin each side)
        margin = style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, tree) + 1
        room = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, option, tree).width()
        room -= 2 * margin + 1  # (Qt elides a text exactly as wide as its room)
        names = tuple(tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount()))
        key = (names, room, option.font.key())
        if key not in self._shown:
            if len(self._shown) > 64:
                self._shown.clear()
            self._shown[key] = distinct_short(names, option.fontMetrics.horizontalAdvance, room)
        shown = self._shown[key]
        if index.row() < len(shown):
            option.text = shown[index.row()]


class RunsPanel(QWidget):
    """The runs list and the selected run's optimizer editor."""

    COL_NAME, COL_STATUS = 0, 1
    #: a plug-in file was loaded (its path): the window remembers it
    pluginLoaded = Signal(str)

    def __init__(self, model: SimulationModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        # the panel's parts in a scroll area: a short dock (1280x720, or the inspector
        # below it) scrolls them instead of squashing every row into a sliver
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        body = QWidget()
        self.scroll = VerticalScroll(body)
        outer.addWidget(self.scroll)
        lay = QVBoxLayout(body)
        # (narrow sides: the rows fit the 300 px dock of 1280x720 beside a scroll bar)
        lay.setContentsMargins(3, 6, 3, 6)
        #: the layout the panel's parts are in (other parts insert theirs)
        self.content_layout = lay

        self.tree = QTreeWidget()
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["run (tick = visible)", "optimizer / status"])
        self.tree.setRootIsDecorated(False)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                  | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.tree.setToolTip("Tick to show a run; double-click a name to rename it.")
        self.tree.setItemDelegateForColumn(0, DistinctNames(self.tree))
        self.tree.setMinimumHeight(120)
        palette = self.tree.palette()
        for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
            palette.setColor(group, QPalette.ColorRole.Highlight, QColor(SELECTION_COLOUR))
            palette.setColor(group, QPalette.ColorRole.HighlightedText, QColor("#000000"))
        self.tree.setPalette(palette)
        self.tree.header().setStretchLastSection(False)
        self.tree.header().setSectionResizeMode(0, self.tree.header().ResizeMode.Stretch)
        self.tree.header().setSectionResizeMode(1, self.tree.header().ResizeMode.ResizeToContents)
        lay.addWidget(self.tree, 1)

        buttons = QHBoxLayout()
        self.add_button = QPushButton("Add")
        self.add_button.setToolTip("Add a run: Adam with a learning rate that visibly moves on "
                                   "this function, in a new colour")
        self.duplicate_button = QPushButton("Duplicate")
        self.duplicate_button.setToolTip("Copy the selected run, to vary one hyperparameter")
        self.remove_button = QPushButton("Remove")
        self.colour_button = QPushButton("Colour…")
        self.colour_button.setToolTip("Change the selected run's colour")
        for b in (self.add_button, self.duplicate_button, self.remove_button, self.colour_button):
            b.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
            # the style's 80 px least width made the four a 350 px row: the text's own
            b.setMinimumWidth(b.fontMetrics().horizontalAdvance(b.text()) + 16)
            buttons.addWidget(b)
        lay.addLayout(buttons)

        form = QFormLayout()
        self.kind_combo = QComboBox()
        self.fill_kinds()
        self.kind_combo.setToolTip("The optimizer of the selected run (type its first "
                                   "letters to jump to it)")
        # as narrow as a short name where the dock is narrow, not the longest name's
        # width (a plug-in's may be long)
        self.kind_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.kind_combo.setMinimumContentsLength(KIND_COMBO_LETTERS)
        self.load_button = QPushButton("Load optimizer\u2026")
        self.load_button.setToolTip("Load your own optimizer from a Python file (a plug-in: "
                                    "your own code, run as you); remembered for next time")
        form.addRow("optimizer", self.kind_combo)
        # on its own line: beside the list it made the panel wider than a 1280x720
        # window's dock (its right side cut off)
        load_row = QHBoxLayout()
        load_row.addWidget(self.load_button)
        load_row.addStretch(1)
        form.addRow("", load_row)
        # wrappers around the selected run's optimizer (Lookahead), each a check box
        self.wrapper_boxes: dict[str, QCheckBox] = {}
        wrap_row = QHBoxLayout()
        for name, wrapper in WRAPPERS.items():
            box = QCheckBox(wrapper.title or name)
            box.setToolTip(wrapper.summary)
            box.toggled.connect(self._wrapper_toggled)
            self.wrapper_boxes[name] = box
            wrap_row.addWidget(box)
        wrap_row.addStretch(1)
        if self.wrapper_boxes:
            form.addRow("wrapped in", wrap_row)
        # a fan of starts: K rows from points around the start, drawn as thin paths
        # with their mean path (1: a single run)
        self.fan_rows = QSpinBox()
        self.fan_rows.setRange(1, MAX_FAN_ROWS)
        self.fan_rows.setToolTip("Rows of this run: 1 starts at the start point; K > 1 start on "
                                 "a circle around it (a fan, drawn with its mean path)")
        self.fan_radius = QDoubleSpinBox()
        self.fan_radius.setDecimals(3)
        self.fan_radius.setRange(0.0, 1e6)
        self.fan_radius.setSingleStep(0.05)
        self.fan_radius.setValue(0.25)
        self.fan_radius.setToolTip("Radius of the circle of starts (in 1D: half-width)")
        # room for a radius such as 12.500, not for the range's 1000000.000: that width
        # made the panel wider than a 1280x720 window's dock (its right side cut off)
        self.fan_radius.setMinimumWidth(self.fan_radius.fontMetrics().horizontalAdvance("00.000")
                                        + 40)
        fan = QHBoxLayout()
        fan.addWidget(self.fan_rows)
        fan.addWidget(QLabel("radius"))
        fan.addWidget(self.fan_radius, 1)
        form.addRow("starts", fan)
        lay.addLayout(form)
        self.editor = HyperparamEditor()
        lay.addWidget(self.editor)
        self.error_label = QLabel("")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.setVisible(False)
        lay.addWidget(self.error_label)
        lay.addStretch(0)

        self.add_button.clicked.connect(self._add)
        self.duplicate_button.clicked.connect(self._duplicate)
        self.remove_button.clicked.connect(self._remove)
        self.colour_button.clicked.connect(self._pick_colour)
        self.tree.itemChanged.connect(self._item_changed)
        self.tree.currentItemChanged.connect(self._current_changed)
        self.kind_combo.activated.connect(self._kind_chosen)
        self.load_button.clicked.connect(self._load_clicked)
        self.fan_rows.editingFinished.connect(self._fan_edited)
        self.fan_radius.editingFinished.connect(self._fan_edited)
        self.editor.valuesEdited.connect(self._values_edited)
        self.editor.rejected.connect(self.show_error)

        model.runsChanged.connect(self.rebuild)
        model.runChanged.connect(self._run_changed)
        model.stepChanged.connect(self.refresh_badges)
        model.selectionChanged.connect(self._selection_changed)
        #: the radius last set for a run's fan (a re-edit of the same values is no change)
        self._fan_shown: dict[int, float] = {}
        self._editing_run = -2
        self.rebuild()

    # -- model -> widgets --------------------------------------------------------
    def rebuild(self) -> None:
        with QSignalBlocker(self.tree):
            self.tree.clear()
            for i, r in enumerate(self.model.runs):
                item = QTreeWidgetItem([r.name, ""])
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable
                              | Qt.ItemFlag.ItemIsUserCheckable)
                self._fill_item(item, i)
                self.tree.addTopLevelItem(item)
            sel = self.model.selected
            if 0 <= sel < self.tree.topLevelItemCount():
                self.tree.setCurrentItem(self.tree.topLevelItem(sel))
        self.refresh_badges()
        self._editing_run = -2
        self._show_editor()
        has = bool(self.model.runs)
        for b in (self.duplicate_button, self.remove_button, self.colour_button):
            b.setEnabled(has)

    def _fill_item(self, item: QTreeWidgetItem, i: int) -> None:
        r = self.model.runs[i]
        item.setText(self.COL_NAME, r.name)
        item.setIcon(self.COL_NAME, colour_icon(r.colour))
        item.setCheckState(self.COL_NAME,
                           Qt.CheckState.Checked if r.visible else Qt.CheckState.Unchecked)
        item.setToolTip(self.COL_NAME, f"{r.name}: {r.optimizer.spec}")

    def refresh_badges(self, *_args) -> None:
        for i, r in enumerate(self.model.runs):
            item = self.tree.topLevelItem(i)
            if item is None:
                continue
            k = r.displayed_step(self.model.shown_step)
            if r.diverged_at(k):
                failure = r.trajectory.failure
                text = f"failed at step {failure.step}" if failure is not None else "diverged"
                colour = "#B00020"
            elif not r.visible:
                text, colour = "hidden", "#777777"
            else:
                text, colour = readable(r.optimizer), "#333333"
            if item.text(self.COL_STATUS) != text:  # (on every step: colours made only now)
                with QSignalBlocker(self.tree):
                    item.setText(self.COL_STATUS, text)
                    item.setForeground(self.COL_STATUS, QColor(colour))
                    item.setToolTip(self.COL_STATUS, f"{readable(r.optimizer)}\nspec: "
                                    f"{r.optimizer.spec}")

    def _run_changed(self, i: int) -> None:
        item = self.tree.topLevelItem(i)
        if item is not None:
            with QSignalBlocker(self.tree):
                self._fill_item(item, i)
        self.refresh_badges()
        if i == self.model.selected:
            self._show_editor()

    def _selection_changed(self, i: int) -> None:
        item = self.tree.topLevelItem(i) if i >= 0 else None
        if item is not self.tree.currentItem():
            with QSignalBlocker(self.tree):
                self.tree.setCurrentItem(item)
        self._show_editor()

    def _show_editor(self) -> None:
        """Regenerate the editors for the selected run, unless they already show it."""
        i = self.model.selected
        enabled = 0 <= i < len(self.model.runs)
        self.kind_combo.setEnabled(enabled)
        for box in self.wrapper_boxes.values():
            box.setEnabled(enabled)
        self.editor.setEnabled(enabled)
        if not enabled:
            self.editor.build((), {})
            self._editing_run = -1
            return
        self._show_fan(i)
        opt = self.model.runs[i].optimizer
        key = (i, opt.name)
        if self._editing_run == key and self.editor.values() == opt.hp:
            return
        self._editing_run = key
        base, *wrappers = opt.name.split("+")
        with QSignalBlocker(self.kind_combo):
            self.kind_combo.setCurrentText(base)
        for name, box in self.wrapper_boxes.items():
            with QSignalBlocker(box):
                box.setChecked(name in wrappers)
        self.editor.build(opt.declared, opt.hp)
        self.clear_error()

    def _show_fan(self, i: int) -> None:
        """The fan editors show run ``i``'s starts (and its circle's radius); an
        ensemble's members are its own editor's (the training section)."""
        spec = self.model.runs[i].spec
        with QSignalBlocker(self.fan_rows), QSignalBlocker(self.fan_radius):
            self.fan_rows.setValue(max(1, len(spec.starts)))
            if len(spec.starts) > 1:
                centre = np.mean(np.array(spec.starts), axis=0)
                self.fan_radius.setValue(float(np.max(np.abs(np.array(spec.starts) - centre))
                                         if len(centre) == 1 else
                                         np.linalg.norm(np.array(spec.starts[0]) - centre)))

    # -- widgets -> model --------------------------------------------------------
    def _fan_edited(self) -> None:
        i = self.model.selected
        if not 0 <= i < len(self.model.runs):
            return
        k, radius = self.fan_rows.value(), self.fan_radius.value()
        if (k, radius) == (max(1, len(self.model.runs[i].spec.starts)), self._fan_shown.get(i)):
            return
        try:
            self.model.set_run_fan(i, k, radius)
        except ValueError as e:
            self.show_error(str(e))
            return
        self._fan_shown[i] = radius

    def _current_changed(self, cur: QTreeWidgetItem | None, _prev) -> None:
        self.model.select(self.tree.indexOfTopLevelItem(cur) if cur is not None else -1)

    def _item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        i = self.tree.indexOfTopLevelItem(item)
        if i < 0 or column != self.COL_NAME:
            return
        visible = item.checkState(self.COL_NAME) == Qt.CheckState.Checked
        self.model.set_run_visible(i, visible)
        name = item.text(self.COL_NAME).strip()
        if name and name != self.model.runs[i].name:
            self.model.rename_run(i, name)
        elif not name:
            with QSignalBlocker(self.tree):
                item.setText(self.COL_NAME, self.model.runs[i].name)

    def _add(self) -> None:
        kind = "adam" if "adam" in OPTIMIZERS else next(iter(OPTIMIZERS))
        i = self.model.add_run(new_run_optimizer(self.model, kind))
        self.model.select(i)

    def _duplicate(self) -> None:
        if self.model.selected >= 0:
            self.model.select(self.model.duplicate_run(self.model.selected))

    def _remove(self) -> None:
        if self.model.selected >= 0:
            self.model.remove_run(self.model.selected)

    def _pick_colour(self) -> None:
        i = self.model.selected
        if i < 0:
            return
        c = QColorDialog.getColor(QColor(self.model.runs[i].colour), self, "Run colour")
        if c.isValid():
            self.model.set_run_colour(i, c.name())

    def fill_kinds(self) -> None:
        """The optimizer list: every registered kind (built-ins and plug-ins)."""
        with QSignalBlocker(self.kind_combo):
            current = self.kind_combo.currentText()
            self.kind_combo.clear()
            for name, kind in OPTIMIZERS.items():
                self.kind_combo.addItem(name)
                self.kind_combo.setItemData(self.kind_combo.count() - 1, kind.summary,
                                            Qt.ItemDataRole.ToolTipRole)
            if current:
                self.kind_combo.setCurrentText(current)
            # the whole list at once (~35 kinds) as far as the screen allows, not Qt's 10
            # in a scrolled popup where most optimizers are out of sight
            self.kind_combo.setMaxVisibleItems(max(10, self.kind_combo.count()))

    def _wrapped_name(self) -> str:
        """The kind the combo and the wrapper boxes name: ``adam+lookahead``."""
        wrappers = [n for n, box in self.wrapper_boxes.items() if box.isChecked()]
        return "+".join([self.kind_combo.currentText(), *wrappers])

    def _wrapper_toggled(self, _on: bool) -> None:
        self._kind_chosen(self.kind_combo.currentIndex())

    def _load_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load optimizer (a plug-in: your own code)",
                                              "", "Python files (*.py)")
        if path:
            self.load_plugin_file(path)

    def load_plugin_file(self, path: str, add_run: bool = True) -> bool:
        """Load the plug-in ``path`` (its optimizers join the list); on success add a run
        of its first optimizer and emit ``pluginLoaded``; on failure show why, with the
        plug-in's traceback under "Show Details…" (the window stays usable)."""
        try:
            kinds = load_plugin(path)
        except PluginError as e:
            self.show_failure("Could not load the optimizer", str(e), e.details)
            return False
        self.fill_kinds()
        self.pluginLoaded.emit(str(path))
        if add_run and kinds:
            i = self.model.add_run(new_run_optimizer(self.model, kinds[0].name))
            self.model.select(i)
        return True

    def show_failure(self, title: str, message: str, details: str = "") -> QMessageBox:
        """A warning that does not block the window, with ``details`` (a traceback)
        under "Show Details…"."""
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok,
                          self)
        if details:
            box.setDetailedText(details)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.failure_box = box
        return box

    def _kind_chosen(self, _index: int) -> None:
        i = self.model.selected
        if i < 0:
            return
        old = self.model.runs[i].optimizer
        name = self._wrapped_name()
        if name == old.name:
            return
        kind = optimizer_kind(name)
        # keep the values the user changed (e.g. the learning rate) where they fit
        carried = {}
        new_decl = {p.name: p for p in kind.hyperparams}
        for p in old.declared:
            if p.name in new_decl and old.hp[p.name] != p.default:
                try:
                    carried[p.name] = new_decl[p.name].validate(old.hp[p.name])
                except ValueError:
                    pass
        auto = is_auto_name(self.model.runs[i].name, old.name.split("+")[0])
        if self.apply(i, lambda: _create(kind.name, carried)) and auto:
            # a name the window gave ("sgd", "adam 2") follows the new type; a name
            # the user typed stays
            others = {r.name for j, r in enumerate(self.model.runs) if j != i}
            self.model.rename_run(i, fresh_name(kind.name.split("+")[0], others))

    def _values_edited(self, values: dict) -> None:
        i = self.model.selected
        if i < 0:
            return
        name = self.model.runs[i].optimizer.name
        self.apply(i, lambda: _create(name, values))

    def apply(self, i: int, make) -> bool:
        """Construct the optimizer (the engine validates); on success restart run
        ``i`` with it, on ValueError show the message and keep the old one."""
        try:
            opt = make()
        except ValueError as e:
            self.show_error(str(e))
            return False
        self.clear_error()
        if opt != self.model.runs[i].optimizer:
            self.model.set_run_optimizer(i, opt)
        return True

    def show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.setVisible(True)

    def clear_error(self) -> None:
        self.error_label.setText("")
        self.error_label.setVisible(False)


def is_auto_name(name: str, kind: str) -> bool:
    """Whether ``name`` is one the window gives a ``kind`` run: the kind's name, or
    it and a number ("adam 2")."""
    head, _, tail = name.rpartition(" ")
    return name == kind or (head == kind and tail.isdigit())


def fresh_name(base: str, taken: set[str]) -> str:
    """``base``, or ``base 2``, ``base 3``, ... whichever is not ``taken``."""
    if base not in taken:
        return base
    k = 2
    while f"{base} {k}" in taken:
        k += 1
    return f"{base} {k}"


def _create(name: str, values: dict) -> Optimizer:
    return optimizer_kind(name).create(**values)


#: how the optimizers list names the registered kinds (each kind's own title)
DISPLAY_NAMES = {name: kind.display_name for name, kind in OPTIMIZERS.items()}


def _display_name(name: str) -> str:
    """How lists name a kind: a built-in's title, a wrapped or plug-in kind's own."""
    if name in DISPLAY_NAMES:
        return DISPLAY_NAMES[name]
    try:
        return optimizer_kind(name).display_name
    except ValueError:
        return name


@functools.lru_cache(maxsize=512)  # asked for every run on every step shown
def readable(opt: Optimizer) -> str:
    """A short label for an optimizer: its kind, its learning rate and any other
    hyperparameter that differs from the kind's default, e.g. ``"SGD, lr 0.01"`` or
    ``"Adam, lr 0.05, amsgrad"`` (the spec string stays in the tooltip)."""
    parts = [_display_name(opt.name)]
    for p in opt.declared:
        v = opt.hp[p.name]
        if p.name != "lr" and v == p.default:
            continue
        if isinstance(v, bool):
            parts.append(p.name if v else f"no {p.name}")
        else:
            parts.append(f"{p.name} {v:g}")
    return ", ".join(parts)


#: a newly added run's first step moves about this share of the view's span
ADD_STEP_FRACTION = 0.03


def nice_below(x: float) -> float:
    """The largest of 1, 2, 5 times a power of ten that is at most ``x`` (> 0)."""
    e = math.floor(math.log10(x))
    for m in (5.0, 2.0, 1.0):
        if m * 10.0**e <= x * (1 + 1e-12):
            return float(f"{m * 10.0**e:.12g}")
    return float(f"{10.0**e:.12g}")


def suited_lr(kind: str, model: SimulationModel) -> float | None:
    """A learning rate for a new ``kind`` run on the model's function whose first
    step from the start point moves about ADD_STEP_FRACTION of the view's span,
    rounded down to 1, 2 or 5 times a power of ten and kept within the declared
    range. The first step is measured with the kind's default lr and scaled (it is
    proportional to lr for every optimizer that only takes the gradient). None: no lr
    or no measure, or an optimizer that evaluates the loss itself (Newton, BFGS,
    L-BFGS), whose lr = 1 is its natural step (the model's minimum, a line search's
    first trial)."""
    k = optimizer_kind(kind)
    decl = {p.name: p for p in k.hyperparams}
    if "lr" not in decl or k.cls.needs_closure:
        return None
    default = float(decl["lr"].default)
    opt = k.create()
    start = np.asarray(model.start, dtype=np.float64).reshape(1, -1)
    with np.errstate(all="ignore"):
        grad = np.asarray(model.function.gradient(start), dtype=np.float64)
        new, _state = opt.step(start, grad, opt.init(start))
        moved = float(np.linalg.norm(np.asarray(new) - start))
    spans = [hi - lo for lo, hi in model.view[: model.function.dim]]
    target = ADD_STEP_FRACTION * min(spans)
    if not (math.isfinite(moved) and moved > 0 and target > 0):
        return None
    lr = nice_below(default * target / moved)
    try:
        return float(decl["lr"].validate(lr))
    except ValueError:
        return None


def new_run_optimizer(model: SimulationModel, kind: str = "adam") -> Optimizer:
    """The optimizer the Add button gives: ``kind`` (default Adam) with a learning
    rate suited to the function (see :func:`suited_lr`); the engine's declared
    defaults are not changed."""
    lr = suited_lr(kind, model)
    return optimizer_kind(kind).create(**({} if lr is None else {"lr": lr}))
