"""Editors of a run's training dynamics: its learning-rate schedule (a kind and the
kind's parameters, generated from the declarations in :mod:`optsim.schedules`, as
the optimizer's editors are from its hyperparameters) and its gradient clipping.

``ScheduleEditor.scheduleEdited`` sends the new :class:`~optsim.schedules.Schedule`
(or None: a constant learning rate) whenever a value changes; ``ClipEditor.clipEdited``
the new :class:`~optsim.gradients.Clip` or None. A value that cannot be taken is
reported through ``rejected(message)`` and nothing is sent.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from ..engine.hyperparams import HyperParam
from ..gradients import CLIP_MODES, Clip
from ..schedules import SCHEDULES, Schedule, ScheduleParam, make_schedule
from .runs_panel import NumberSpinBox, spin_limits

#: the combo's entry for "no schedule"
CONSTANT = "constant"
HINT_STYLE = "color: #666; font-size: 85%;"


def short_range(p: ScheduleParam) -> str:
    """A parameter's range as the hint beside its editor, short enough for a narrow
    dock (the tooltip has the full text): ``≥ 1`` rather than ``[1, 1e+09]``, ``[a;b;...]``
    for lists, nothing for choices."""
    if p.choices:
        return ""
    if p.kind is list:
        return "[a;b;...]"
    if p.kind is Schedule:
        return "[s;s;...]"
    if p.kind in (int, float) and (p.high is None or p.high >= 1e9) and p.low is not None:
        return ("> " if p.low_open else "≥ ") + f"{p.low:g}"
    return HyperParam.range_text(p)


class ScheduleEditor(QWidget):
    """A combo of schedule kinds (``constant`` = none) and the chosen kind's editors."""

    scheduleEdited = Signal(object)
    rejected = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._form = QFormLayout(self)
        self._form.setContentsMargins(0, 0, 0, 0)
        self._form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        # a narrow dock (300 px at 1280x720): long names above their editors
        self._form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.kind_combo = QComboBox()
        self.kind_combo.addItem(CONSTANT)
        self.kind_combo.setItemData(0, "the optimizer's own learning rate at every step",
                                    Qt.ItemDataRole.ToolTipRole)
        for name, kind in SCHEDULES.items():
            self.kind_combo.addItem(name)
            tip = kind.summary + (f" (torch.optim.lr_scheduler.{kind.torch_name})"
                                  if kind.torch_name else "")
            self.kind_combo.setItemData(self.kind_combo.count() - 1, tip,
                                        Qt.ItemDataRole.ToolTipRole)
        self.kind_combo.setToolTip("The learning-rate schedule of the selected run "
                                   "(torch.optim.lr_scheduler's, step for step)")
        self._form.addRow("lr schedule", self.kind_combo)
        self._editors: dict[str, QWidget] = {}
        self._params: tuple[ScheduleParam, ...] = ()
        self._schedule: Schedule | None = None
        self.kind_combo.activated.connect(self._kind_chosen)

    # -- model -> widgets --------------------------------------------------------
    def set_schedule(self, schedule: Schedule | None) -> None:
        """Show ``schedule`` (None: constant) without sending anything."""
        self._schedule = schedule
        self.kind_combo.setCurrentText(schedule.name if schedule else CONSTANT)
        self._build(schedule.kind.params if schedule else (), schedule.values if schedule else {})

    def schedule(self) -> Schedule | None:
        return self._schedule

    def editor(self, name: str) -> QWidget:
        """The editor of parameter ``name`` (for tests and tools)."""
        return self._editors[name]

    def _build(self, params: tuple[ScheduleParam, ...], values: dict) -> None:
        while self._form.rowCount() > 1:
            self._form.removeRow(1)
        self._editors.clear()
        self._params = params
        for p in params:
            value = values.get(p.name, p.default)
            tip = (f"<b>{p.name}</b> {p.range_text()}<br>{p.help}<br>"
                   + ("required (torch has no default)" if p.required
                      else f"default: {p.format(p.default)}"))
            label = QLabel(p.name)
            label.setToolTip(tip)
            w: QWidget
            if p.kind is bool:
                w = QCheckBox()
                w.setChecked(bool(value))
                w.toggled.connect(self._edited)
            elif p.choices:
                w = QComboBox()
                w.addItems(list(p.choices))
                w.setCurrentText(str(value))
                w.activated.connect(self._edited)
            elif p.kind in (int, float) and not p.optional:
                if p.kind is int:
                    w = QSpinBox()
                    w.setRange(int(p.low if p.low is not None else -2**31 + 1),
                               int(min(p.high if p.high is not None else 2**31 - 1, 2**31 - 1)))
                    w.setValue(int(value))
                    w.setKeyboardTracking(False)
                    w.valueChanged.connect(self._edited)
                else:
                    w = NumberSpinBox(log=p.log)
                    lo, hi = spin_limits(p)
                    w.setRange(lo, hi)
                    w.setSingleStep(0.01 if hi - lo <= 1 else 0.1)
                    w.setValue(float(value))
                    w.valueChanged.connect(self._edited)
                    w.outOfRange.connect(lambda _t, p=p: self.rejected.emit(
                        f"{p.name} must be in {p.range_text()}"))
            else:  # lists, schedules, optional numbers: typed as in a spec
                w = QLineEdit(p.format(value))
                w.setPlaceholderText("none" if p.optional else p.format(p.default))
                w.editingFinished.connect(self._edited)
            w.setToolTip(tip)
            self._editors[p.name] = w
            row = QHBoxLayout()
            row.setSpacing(4)
            row.addWidget(w, 1)
            if not isinstance(w, QCheckBox) and short_range(p):
                hint = QLabel(short_range(p))
                hint.setStyleSheet(HINT_STYLE)
                hint.setToolTip(tip)
                row.addWidget(hint)
            self._form.addRow(label, row)

    # -- widgets -> model --------------------------------------------------------
    def values(self) -> dict:
        """The values in the editors (lists and optional numbers parsed)."""
        out = {}
        for p in self._params:
            w = self._editors[p.name]
            if isinstance(w, QCheckBox):
                out[p.name] = w.isChecked()
            elif isinstance(w, QComboBox):
                out[p.name] = w.currentText()
            elif isinstance(w, QLineEdit):
                out[p.name] = p.parse(w.text(), self.kind_combo.currentText())
            else:
                out[p.name] = w.value()
        return out

    def _kind_chosen(self, _index: int) -> None:
        name = self.kind_combo.currentText()
        if name == CONSTANT:
            self._schedule = None
            self._build((), {})
            self.scheduleEdited.emit(None)
            return
        kind = SCHEDULES[name]
        values = {p.name: p.default for p in kind.params}
        self._build(kind.params, values)
        self._edited()

    def _edited(self, *_args) -> None:
        name = self.kind_combo.currentText()
        if name == CONSTANT:
            return
        try:
            schedule = make_schedule(name, **self.values())
        except ValueError as exc:
            self.rejected.emit(str(exc))
            return
        self._schedule = schedule
        self.scheduleEdited.emit(schedule)


class ClipEditor(QWidget):
    """Gradient clipping: none, by norm (clip_grad_norm_) or by value (clip_grad_value_)."""

    clipEdited = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.mode_combo = QComboBox()
        self.mode_combo.addItems(["none", *CLIP_MODES])
        self.mode_combo.setToolTip("Clip each gradient before the step, as "
                                   "torch.nn.utils.clip_grad_norm_ / clip_grad_value_; the "
                                   "steps where it acts are marked")
        self.threshold = NumberSpinBox(log=True)
        self.threshold.setRange(1e-6, 1e6)
        self.threshold.setValue(1.0)
        self.threshold.setKeyboardTracking(False)
        self.threshold.setEnabled(False)
        lay.addWidget(self.mode_combo, 1)
        lay.addWidget(self.threshold, 1)
        self.mode_combo.activated.connect(self._edited)
        self.threshold.valueChanged.connect(self._edited)

    def set_clip(self, clip: Clip | None) -> None:
        self.mode_combo.setCurrentText(clip.mode if clip else "none")
        self.threshold.setEnabled(clip is not None)
        if clip is not None and math.isfinite(clip.threshold):
            self.threshold.blockSignals(True)
            self.threshold.setValue(clip.threshold)
            self.threshold.blockSignals(False)

    def clip(self) -> Clip | None:
        mode = self.mode_combo.currentText()
        return None if mode == "none" else Clip(mode, float(self.threshold.value()))

    def _edited(self, *_args) -> None:
        self.threshold.setEnabled(self.mode_combo.currentText() != "none")
        self.clipEdited.emit(self.clip())
