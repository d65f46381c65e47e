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

from PySide6.QtCore import QObject, QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..engine.hyperparams import HyperParam, _fmt
from ..gradients import CLIP_MODES, NOISE_KINDS, Clip, make_noise, parse_noise
from ..schedules import SCHEDULES, Schedule, make_schedule
from .runs_panel import ERROR_STYLE, NumberSpinBox, spin_limits

#: the combo's entry for "no schedule"
CONSTANT = "constant"
HINT_STYLE = "color: #666; font-size: 85%;"


def short_range(p: HyperParam) -> str:
    """A parameter's range as the hint beside its editor, short enough for a narrow
    dock (the tooltip has the full text): ``≥ 1`` rather than ``[1, 1e+09]``, ``[a;b;...]``
    for lists, nothing for choices."""
    if getattr(p, "choices", ()):
        return ""
    if p.kind is list:
        return "[a;b;...]"
    if p.kind is Schedule:
        return "[s;s;...]"
    if p.kind in (int, float) and (p.high is None or p.high >= 1e9) and p.low is not None:
        return ("> " if p.low_open else "≥ ") + f"{p.low:g}"
    return HyperParam.range_text(p)


class DeclaredRows(QObject):
    """The rows of a QFormLayout after its first ``keep`` rows: one editor per
    declared parameter (:class:`~optsim.engine.hyperparams.HyperParam`, or a
    :class:`~optsim.schedules.ScheduleParam` with its choices, lists and optional
    values), with its range as a hint and its help as the tooltip. ``edited`` is
    sent when a value changes; ``rejected(message)`` when a typed value is out of
    range. Shared by the schedule and the noise editors."""

    edited = Signal()
    rejected = Signal(str)

    def __init__(self, form: QFormLayout, keep: int = 1) -> None:
        super().__init__()
        self.form = form
        self.keep = keep
        self.params: tuple[HyperParam, ...] = ()
        self.editors: dict[str, QWidget] = {}

    def build(self, params: tuple[HyperParam, ...], values: dict) -> None:
        """Editors for ``params`` showing ``values`` (a parameter's default if absent)."""
        while self.form.rowCount() > self.keep:
            self.form.removeRow(self.keep)
        self.editors.clear()
        self.params = params
        for p in params:
            value = values.get(p.name, p.default)
            fmt = getattr(p, "format", _fmt)
            optional = getattr(p, "optional", False)
            tip = (f"<b>{p.name}</b> {p.range_text()}<br>{p.help}<br>"
                   + ("required (torch has no default)" if getattr(p, "required", False)
                      else f"default: {fmt(p.default)}"))
            label = QLabel(p.name)
            label.setToolTip(tip)
            w: QWidget
            if p.kind is bool:
                w = QCheckBox()
                w.setChecked(bool(value))
                w.toggled.connect(self.edited)
            elif getattr(p, "choices", ()):
                w = QComboBox()
                w.addItems(list(p.choices))
                w.setCurrentText(str(value))
                w.activated.connect(self.edited)
            elif p.kind in (int, float) and not optional:
                if p.kind is int:
                    w = QSpinBox()
                    w.setRange(int(p.low if p.low is not None else -2**31 + 1),
                               int(min(p.high if p.high is not None else 2**31 - 1, 2**31 - 1)))
                    w.setValue(int(value))
                    w.setKeyboardTracking(False)
                    w.valueChanged.connect(self.edited)
                else:
                    w = NumberSpinBox(log=p.log)
                    lo, hi = spin_limits(p)
                    w.setRange(lo, hi)
                    w.setSingleStep(0.01 if hi - lo <= 1 else 0.1)
                    w.setValue(float(value))
                    w.valueChanged.connect(self.edited)
                    w.outOfRange.connect(lambda _t, p=p: self.rejected.emit(
                        f"{p.name} must be in {p.range_text()}"))
            else:  # lists, schedules, optional numbers: typed as in a spec
                w = QLineEdit(fmt(value))
                w.setPlaceholderText("none" if optional else fmt(p.default))
                w.editingFinished.connect(self.edited)
            w.setToolTip(tip)
            self.editors[p.name] = w
            row = QHBoxLayout()
            row.setSpacing(4)
            row.addWidget(w, 1)
            if not isinstance(w, QCheckBox) and short_range(p):
                hint = QLabel(short_range(p))
                hint.setStyleSheet(HINT_STYLE)
                hint.setToolTip(tip)
                row.addWidget(hint)
            self.form.addRow(label, row)

    def values(self, owner: str = "") -> dict:
        """The values in the editors (typed lists and optional numbers parsed;
        ValueError names a bad one)."""
        out = {}
        for p in self.params:
            w = self.editors[p.name]
            if isinstance(w, QCheckBox):
                out[p.name] = w.isChecked()
            elif isinstance(w, QComboBox):
                out[p.name] = w.currentText()
            elif isinstance(w, QLineEdit):
                out[p.name] = p.parse(w.text(), owner)
            else:
                out[p.name] = w.value()
        return out


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
        self._rows = DeclaredRows(self._form, keep=1)
        self._rows.edited.connect(self._edited)
        self._rows.rejected.connect(self.rejected)
        self._schedule: Schedule | None = None
        self.kind_combo.activated.connect(self._kind_chosen)

    @property
    def _params(self) -> tuple[HyperParam, ...]:
        return self._rows.params

    # -- model -> widgets --------------------------------------------------------
    def set_schedule(self, schedule: Schedule | None) -> None:
        """Show ``schedule`` (None: constant) without sending anything."""
        self._schedule = schedule
        self.kind_combo.setCurrentText(schedule.name if schedule else CONSTANT)
        self._rows.build(schedule.kind.params if schedule else (),
                         schedule.values if schedule else {})

    def schedule(self) -> Schedule | None:
        return self._schedule

    def editor(self, name: str) -> QWidget:
        """The editor of parameter ``name`` (for tests and tools)."""
        return self._rows.editors[name]

    # -- widgets -> model --------------------------------------------------------
    def values(self) -> dict:
        """The values in the editors (lists and optional numbers parsed)."""
        return self._rows.values(self.kind_combo.currentText())

    def _kind_chosen(self, _index: int) -> None:
        name = self.kind_combo.currentText()
        if name == CONSTANT:
            self._schedule = None
            self._rows.build((), {})
            self.scheduleEdited.emit(None)
            return
        kind = SCHEDULES[name]
        self._rows.build(kind.params, {p.name: p.default for p in kind.params})
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


#: the noise combo's entry for exact gradients
NO_NOISE = "none"
NOTE_STYLE = "color: #8a4b00;"


class NoiseEditor(QWidget):
    """The gradient noise of every run: a combo of noise models (``none``: exact
    gradients), the chosen model's parameters (from its declarations) and the seed.
    ``noiseEdited(spec, seed)`` sends a spec (``gaussian:sigma=0.5``; 0.0 for none).
    Messages about the noise (a model the function cannot take, noise turned off by
    a change of function) are shown here, under the control they concern."""

    noiseEdited = Signal(object, int)

    def __init__(self, parent: QWidget | None = None, with_seed: bool = True,
                 none_label: str = NO_NOISE, none_tip: str = "exact gradients",
                 label: str = "noise") -> None:
        """``with_seed=False``, ``none_label``: a run's own noise (its first entry
        keeps the set's noise; the set's seed is used)."""
        super().__init__(parent)
        self._none = none_label
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self._form = QFormLayout()
        self._form.setContentsMargins(0, 0, 0, 0)
        self._form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.kind_combo = QComboBox()
        self.kind_combo.addItem(none_label)
        self.kind_combo.setItemData(0, none_tip, Qt.ItemDataRole.ToolTipRole)
        for name, kind in NOISE_KINDS.items():
            self.kind_combo.addItem(name)
            self.kind_combo.setItemData(self.kind_combo.count() - 1, kind.summary,
                                        Qt.ItemDataRole.ToolTipRole)
        self.kind_combo.setToolTip("The noise every run's gradients get (seeded: the same "
                                   "seed, the same noise); a run's own noise, from a "
                                   "scenario, replaces it")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setKeyboardTracking(False)
        self.seed.setToolTip("Seed of the noise: the same seed gives the same noise")
        self.seed.setMaximumWidth(self.seed.fontMetrics().horizontalAdvance("0000000") + 30)
        row = QHBoxLayout()
        row.setSpacing(4)
        row.addWidget(self.kind_combo, 1)
        if with_seed:
            row.addWidget(QLabel("seed"))
            row.addWidget(self.seed)
        else:
            self.seed.setVisible(False)
        self._form.addRow(label, row)
        outer.addLayout(self._form)
        self._rows = DeclaredRows(self._form, keep=1)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setVisible(False)
        outer.addWidget(self.message)
        self._rows.edited.connect(self._edited)
        self._rows.rejected.connect(lambda text: self.show_message(text, error=True))
        self.kind_combo.activated.connect(self._kind_chosen)
        self.seed.valueChanged.connect(self._edited)

    def editor(self, name: str) -> QWidget:
        """The editor of parameter ``name`` of the chosen model (for tests and tools)."""
        return self._rows.editors[name]

    def set_noise(self, noise, seed: int) -> None:
        """Show ``noise`` (a σ, a spec, a Noise or None) and ``seed``, sending nothing."""
        model = parse_noise(noise)
        with QSignalBlocker(self.kind_combo), QSignalBlocker(self.seed):
            self.kind_combo.setCurrentText(model.name if model is not None else self._none)
            self.seed.setValue(int(seed))
        if model is None:
            self._rows.build((), {})
        elif tuple(self._rows.params) != model.kind.params or self.spec() != model.spec:
            self._rows.build(model.kind.params, model.values)

    def spec(self):
        """The noise the editors show: a spec, or 0.0 for none."""
        name = self.kind_combo.currentText()
        if name == self._none:
            return 0.0
        return make_noise(name, **self._rows.values(name)).spec

    def show_message(self, text: str, error: bool = False) -> None:
        """Say ``text`` under the control (red for a refusal); "" hides it."""
        self.message.setText(text)
        self.message.setStyleSheet(ERROR_STYLE if error else NOTE_STYLE)
        self.message.setVisible(bool(text))
        # (a wrapped label's height is not negotiated by dock layouts: its lines kept)
        width = max(self.width(), 240)
        self.message.setMinimumHeight(self.message.heightForWidth(width) if text else 0)

    def _kind_chosen(self, _index: int) -> None:
        name = self.kind_combo.currentText()
        kind = NOISE_KINDS.get(name)
        self._rows.build(kind.params if kind else (), {})
        self._edited()

    def _edited(self, *_args) -> None:
        try:
            spec = self.spec()
        except ValueError as exc:
            self.show_message(str(exc), error=True)
            return
        self.noiseEdited.emit(spec, int(self.seed.value()))


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
