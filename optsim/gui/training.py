"""The window's training-dynamics parts, installed into a MainWindow: the selected
run's schedule and clipping editors (in the Optimizers dock), the learning-rate
strip under the loss history, and the rings marking clipped steps on it."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QObject, QSignalBlocker, Qt, QTimer
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .lr_strip import STRIP_HEIGHT, ClipMarks, LrStrip
from .schedule_editor import ClipEditor, NoiseEditor, ScheduleEditor

#: the planned schedule is drawn this far when neither it nor the runs say further
PLAN_STEPS = 100
#: the most members the window's ensemble control offers (the API and scenarios
#: take more; the window draws every member)
MAX_ENSEMBLE_ROWS = 1000
class Training(QObject):
    """Keeps the editors, the strip and the marks in step with the model."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.model = model = window.model
        panel = window.runs_panel
        # a section that opens with a click (and by itself for a run that has a
        # schedule or clipping): closed, it costs the Optimizers dock one row
        self.toggle = QToolButton()
        self.toggle.setText("lr schedule, clipping, noise")
        self.toggle.setCheckable(True)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.toggle.setAutoRaise(True)
        self.toggle.setToolTip("The selected run's learning-rate schedule (torch's "
                               "lr_scheduler, step for step), gradient clipping, "
                               "ensemble and own gradient noise")
        self.group = QWidget()
        lay = QVBoxLayout(self.group)
        lay.setContentsMargins(2, 0, 0, 0)
        self.schedule_editor = ScheduleEditor()
        lay.addWidget(self.schedule_editor)
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        self.clip_editor = ClipEditor()
        form.addRow("clip gradient", self.clip_editor)
        # an ensemble: K members from the same start, each with its own noise seed
        self.ensemble = QSpinBox()
        self.ensemble.setRange(1, MAX_ENSEMBLE_ROWS)
        self.ensemble.setKeyboardTracking(False)
        self.ensemble.setToolTip("Members of this run: K seeded copies stepped with "
                                 "different noise, drawn as a fan with their mean path "
                                 "and, in the loss history, the median and 10-90 % band")
        form.addRow("ensemble", self.ensemble)
        lay.addLayout(form)
        self.run_noise = NoiseEditor(with_seed=False, none_label="as set",
                                     none_tip="the noise of every run (Function dock)",
                                     label="own noise")
        self.run_noise.kind_combo.setToolTip("This run's own gradient noise (e.g. its "
                                             "batch size), instead of every run's")
        lay.addWidget(self.run_noise)
        self.group.setVisible(False)
        self.toggle.toggled.connect(self._open)
        self.toggle.clicked.connect(self._clicked)
        # (the panel scrolls as a whole in a short dock: the rows keep their height)
        outer = getattr(panel, "content_layout", None) or panel.layout()
        at = outer.indexOf(panel.error_label)
        outer.insertWidget(at, self.toggle)
        outer.insertWidget(at + 1, self.group)

        # the gradient noise of every run, in the Function dock (the problem's side):
        # its messages (a model the function cannot take) are said there
        self.noise_box = QGroupBox("Gradient noise (every run)")
        box = QVBoxLayout(self.noise_box)
        self.noise_editor = NoiseEditor()
        box.addWidget(self.noise_editor)
        fp = window.function_panel.layout()
        fp.insertWidget(max(fp.count() - 1, 0), self.noise_box)  # (above the stretch)
        self.noise_editor.set_noise(model.noise, model.seed)
        self.noise_editor.noiseEdited.connect(self._noise_edited)
        model.noiseChanged.connect(self._noise_changed)
        model.functionChanged.connect(lambda: self.noise_editor.show_message(""))

        # the strip is shown (below the history, its height taken from the
        # landscape) while some run has a schedule
        self.strip = LrStrip()
        history = window.figure.history
        self.splitter = window.figure.splitter
        self._placed = False
        self.strip.link_to(history)
        self.marks = ClipMarks(history)

        self.schedule_editor.scheduleEdited.connect(self._schedule_edited)
        self.schedule_editor.rejected.connect(panel.show_error)
        self.clip_editor.clipEdited.connect(self._clip_edited)
        self.ensemble.valueChanged.connect(self._run_noise_edited)
        self.run_noise.noiseEdited.connect(self._run_noise_edited)
        model.selectionChanged.connect(self._show_selected)
        model.runsChanged.connect(self._show_selected)
        model.runChanged.connect(self._run_changed)
        model.runsChanged.connect(self.refresh)
        model.runChanged.connect(self.refresh)
        model.stepChanged.connect(self._step_changed)
        self._plans: dict[int, tuple] = {}
        self._show_selected()
        self.refresh()

    def _open(self, on: bool) -> None:
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
        self.group.setVisible(on)

    def _clicked(self, on: bool) -> None:
        """Opened by the user in a short dock: scrolled into view (up and down only).
        Opened by a preset or a selected run's schedule, the panel stays where it is
        (at its top, the runs list: scrolled down, it hid the runs at 1920x1080)."""
        if on:
            QTimer.singleShot(0, self._scroll_to_group)

    def _scroll_to_group(self) -> None:
        scroll = self.window.runs_panel.scroll
        bar = scroll.verticalScrollBar()
        top = self.toggle.mapTo(scroll.widget(), self.toggle.rect().topLeft()).y()
        bottom = self.group.mapTo(scroll.widget(), self.group.rect().bottomLeft()).y()
        view = scroll.viewport().height()
        if top < bar.value() or bottom > bar.value() + view:  # (not already in view)
            bar.setValue(min(top, max(bottom - view, bar.value())))

    def _sync_strip(self, wanted: bool) -> None:
        """Show the strip while some run has a schedule (placed the first time, its
        height taken from the landscape, not from the loss history)."""
        if wanted and not self._placed:
            splitter = self.splitter
            self._placed = True
            splitter.addWidget(self.strip)
            splitter.setStretchFactor(splitter.indexOf(self.strip), 0)
            self._size_strip()
            # placed before the window is laid out (a preset opened at start-up):
            # sized again once the splitter has its height
            splitter.installEventFilter(self)
        elif self._placed and self.strip.isVisibleTo(self.splitter) != wanted:
            self.strip.setVisible(wanted)

    def _size_strip(self) -> bool:
        """Give the strip STRIP_HEIGHT from the landscape; the loss history keeps at
        least a fifth of the height. False while the splitter has no height yet."""
        splitter = self.splitter
        sizes = splitter.sizes()
        total = sum(sizes)
        if total <= 0 or len(sizes) != 3 or total < 4 * STRIP_HEIGHT:
            return False
        history = max(sizes[1], round(0.2 * total))
        splitter.setSizes([total - history - STRIP_HEIGHT, history, STRIP_HEIGHT])
        return True

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt override)
        if obj is self.splitter and event.type() == QEvent.Type.Resize:
            # (the splitter lays its parts out after its resize event)
            QTimer.singleShot(0, self._size_strip_once)
        return False

    def _size_strip_once(self) -> None:
        if self.strip.isVisibleTo(self.splitter) and self._size_strip():
            self.splitter.removeEventFilter(self)  # once: then the user's sizes stay

    # -- editors ----------------------------------------------------------------
    def _show_selected(self, *_args) -> None:
        i = self.model.selected
        run = self.model.runs[i] if 0 <= i < len(self.model.runs) else None
        self.group.setEnabled(run is not None)
        self.schedule_editor.set_schedule(run.schedule if run else None)
        self.clip_editor.set_clip(run.clip if run else None)
        with QSignalBlocker(self.ensemble):
            self.ensemble.setValue(run.spec.ensemble if run else 1)
        self.run_noise.set_noise(run.spec.noise if run else "", 0)
        if run is not None and (run.schedule is not None or run.clip is not None
                                or run.spec.ensemble > 1 or run.spec.noise):
            self.toggle.setChecked(True)

    def _run_changed(self, i: int) -> None:
        if i == self.model.selected:
            self._show_selected()

    def _apply(self, schedule, clip) -> None:
        i = self.model.selected
        if not 0 <= i < len(self.model.runs):
            return
        try:
            self.model.set_run_training(i, schedule, clip)
        except ValueError as exc:
            self.window.runs_panel.show_error(str(exc))
            return
        self.window.runs_panel.clear_error()

    def _noise_edited(self, spec, seed: int) -> None:
        """The noise control changed: every run restarts with it, or, if the
        function cannot take it, nothing changes and the control says why."""
        try:
            self.model.set_noise(spec, seed)
        except ValueError as exc:
            self.noise_editor.set_noise(self.model.noise, self.model.seed)
            self.noise_editor.show_message(str(exc), error=True)
            return
        self.noise_editor.show_message("")

    def _noise_changed(self, why: str) -> None:
        self.noise_editor.set_noise(self.model.noise, self.model.seed)
        if why:  # not asked for (a function without data turned mini-batch noise off)
            self.noise_editor.show_message(why)
            self.window.statusBar().showMessage(why, 8000)

    def _run_noise_edited(self, *_args) -> None:
        """The selected run's ensemble or own noise changed: it restarts with them,
        or nothing changes and the control says why."""
        i = self.model.selected
        if not 0 <= i < len(self.model.runs):
            return
        try:
            spec = self.run_noise.spec()
            self.model.set_run_noise(i, "" if spec == 0.0 else spec, self.ensemble.value())
        except ValueError as exc:
            self._show_selected()
            self.run_noise.show_message(str(exc), error=True)
            return
        self.run_noise.show_message("")

    def _schedule_edited(self, schedule) -> None:
        i = self.model.selected
        if 0 <= i < len(self.model.runs):
            self._apply(schedule, self.model.runs[i].clip)

    def _clip_edited(self, clip) -> None:
        i = self.model.selected
        if 0 <= i < len(self.model.runs):
            self._apply(self.model.runs[i].schedule, clip)

    # -- the strip and the marks --------------------------------------------------
    def _plan(self, run) -> np.ndarray | None:
        """The schedule's planned lrs (None: it needs the losses, or there is none)."""
        if run.schedule is None or run.schedule.needs_loss:
            return None
        horizon = run.schedule.max_steps or max(PLAN_STEPS, self.model.computed_steps)
        opt = run.trajectory.optimizer
        key = (run.schedule, opt.spec, horizon)
        cached = self._plans.get(id(run))
        if cached is None or cached[0] != key:
            target = run.trajectory.dynamics.target
            try:
                lrs, _ = run.schedule.lrs(float(np.ravel(opt.hp["lr"])[0]), horizon,
                                          float(np.ravel(opt.hp[target])[0]) if target else None)
            except ValueError:
                lrs = None
            cached = (key, lrs)
            self._plans[id(run)] = cached
        return cached[1]

    def refresh(self, *_args) -> None:
        """Redraw the strip (while shown) and the clipped-step marks (when some run
        clips, or to clear them): nothing at all for runs without either."""
        shown = any(r.schedule is not None for r in self.model.runs)
        self._sync_strip(shown)
        if shown:
            runs = []
            for r in self.model.runs:
                t = r.trajectory
                used = t.dynamics.history(t.steps).get("lr")
                if used is not None:
                    used = used[:, 0]
                else:  # a constant lr: a flat line over the steps taken (two points)
                    lr = float(t.lr_at(1)[0])
                    used = np.array([[1.0, max(t.steps, 1)], [lr, lr]])
                runs.append((r.colour, self._plan(r), used, r.visible))
            self.strip.set_runs(runs)
            self.strip.set_step(self.model.shown_step)
        marks = []
        for r in self.model.runs:
            t = r.trajectory
            if t.clip is not None and r.visible and t.steps:
                flags = t.dynamics.history(t.steps)["clipped"][:, 0]
                steps = np.nonzero(flags)[0] + 1
                marks.append((steps.astype(np.float64), t.losses[steps, 0]))
        if marks or self.marks.count():
            self.marks.set_marks(marks)

    def _step_changed(self, k: int) -> None:
        # new steps bring new lrs and clipped steps (cheap: a few arrays per run)
        self.refresh()


def install(window: Any) -> Training:
    """Add the training-dynamics parts to ``window`` (as ``window.training``)."""
    window.training = Training(window)
    return window.training
