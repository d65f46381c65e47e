"""Playback: the Step / Run-Pause / Reset / Step-back actions, the speed, the
max-steps limit and "stop when all converged", animated by a QTimer in the GUI
thread. Each tick advances as many steps as the speed asks (at "max", as many as fit
in about 10 ms) in ONE model call, so the window redraws once per tick."""

from __future__ import annotations

import math

from PySide6.QtCore import QElapsedTimer, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QFont, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QLabel,
    QSlider,
    QSpinBox,
    QToolBar,
    QWidget,
)

from ..simulation import MAX_STEPS
from .model import CONVERGED_TOL, SimulationModel

#: frame interval of the animation timer
TICK_MS = 16
#: the time budget of one tick at "max" speed
MAX_BUDGET_S = 0.010
MIN_SPEED, MAX_SPEED = 1.0, 1000.0


class PlaybackController(QObject):
    """Owns the playback actions and the animation timer; steps only through the
    model."""

    playingChanged = Signal(bool)
    #: a one-line message for the status bar (why playback stopped, ...)
    message = Signal(str)

    def __init__(self, model: SimulationModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.speed = 20.0  # steps per second
        self.max_speed = False
        self.max_steps = 10_000
        self.stop_when_converged = True
        self.tolerance = CONVERGED_TOL
        self._playing = False
        self._due = 0.0
        self._per_tick = 50  # steps per tick at max speed, adapted to the budget
        self._clock = QElapsedTimer()
        self.timer = QTimer(self)
        self.timer.setInterval(TICK_MS)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self.tick)

        self.step_action = QAction("Step", self)
        self.step_action.setShortcut(QKeySequence(Qt.Key.Key_Right))
        self.step_action.setToolTip("One step for every visible run (Right)")
        self.back_action = QAction("Back", self)
        self.back_action.setShortcut(QKeySequence(Qt.Key.Key_Left))
        self.back_action.setToolTip("One step back in the recorded history (Left)")
        self.run_action = QAction("Run", self)
        self.run_action.setCheckable(True)
        self.run_action.setShortcut(QKeySequence(Qt.Key.Key_Space))
        self.run_action.setToolTip("Run / pause the animation (Space)")
        self.reset_action = QAction("Reset", self)
        self.reset_action.setShortcut(QKeySequence("Ctrl+R"))
        self.reset_action.setToolTip("Every run back to the start point (Ctrl+R)")
        for a in self.actions():
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)

        self.step_action.triggered.connect(lambda: self.step(1))
        self.back_action.triggered.connect(lambda: self.model.step_back(1))
        self.run_action.toggled.connect(self.set_playing)
        self.reset_action.triggered.connect(self.reset)

    def actions(self) -> list[QAction]:
        return [self.back_action, self.step_action, self.run_action, self.reset_action]

    @property
    def playing(self) -> bool:
        return self._playing

    # -- intents -------------------------------------------------------------------
    def step(self, n: int = 1) -> bool:
        """``n`` steps (capped by the max-steps limit); False if nothing could move."""
        room = self.max_steps - self.model.shown_step
        if room <= 0:
            self.message.emit(f"reached the max-steps limit ({self.max_steps}); "
                              "raise it or press Reset")
            return False
        if self.model.all_stopped() and self.model.shown_step >= self.model.computed_steps:
            self.message.emit("no visible run can move (all diverged or hidden)")
            return False
        try:
            self.model.step_forward(min(n, room))
        except Exception as e:  # noqa: BLE001 - a function that fails to evaluate must not kill the window
            self.set_playing(False)
            self.message.emit(f"step failed: {type(e).__name__}: {e}")
            return False
        return True

    def reset(self) -> None:
        self.set_playing(False)
        self.model.reset()

    def toggle(self) -> None:
        self.set_playing(not self.playing)

    def set_playing(self, on: bool) -> None:
        if on == self.playing:
            if self.run_action.isChecked() != on:
                self.run_action.setChecked(on)
            return
        if on:
            if self.model.shown_step >= self.max_steps:
                self.message.emit(f"reached the max-steps limit ({self.max_steps})")
                self.run_action.setChecked(False)
                return
            self._due = 0.0
            self._clock.start()
            self.timer.start()
        else:
            self.timer.stop()
        self._playing = on
        self.run_action.blockSignals(True)
        self.run_action.setChecked(on)
        self.run_action.setText("Pause" if on else "Run")
        self.run_action.blockSignals(False)
        self.playingChanged.emit(on)

    def set_speed(self, steps_per_second: float) -> None:
        self.speed = min(max(float(steps_per_second), MIN_SPEED), MAX_SPEED)

    def set_max_speed(self, on: bool) -> None:
        self.max_speed = bool(on)

    def set_max_steps(self, n: int) -> None:
        self.max_steps = max(1, int(n))

    # -- the animation ---------------------------------------------------------
    def steps_for_tick(self) -> int:
        """How many steps this tick takes (from the elapsed time and the speed)."""
        if self.max_speed:
            return self._per_tick
        elapsed = self._clock.restart() / 1000.0 if self._clock.isValid() else TICK_MS / 1000
        self._due += self.speed * min(elapsed, 0.25)
        n = int(self._due)
        self._due -= n
        return n

    def tick(self) -> None:
        n = self.steps_for_tick()
        if n <= 0:
            return
        moved = self.step(n)
        if self.max_speed and moved:
            # adapt to the compute time alone: the redraw happens once per tick anyway
            per_step = self.model.last_compute_seconds / max(n, 1)
            if per_step > 0:
                target = MAX_BUDGET_S / per_step
                self._per_tick = int(min(max(0.5 * self._per_tick + 0.5 * target, 1), 100_000))
        if not moved:
            self.set_playing(False)
        elif self.model.shown_step >= self.max_steps:
            self.set_playing(False)
            self.message.emit(f"stopped at the max-steps limit ({self.max_steps})")
        elif self.model.all_stopped():
            self.set_playing(False)
            self.message.emit("stopped: every visible run diverged")
        elif self.stop_when_converged and self.model.all_converged(self.tolerance):
            self.set_playing(False)
            self.message.emit(f"stopped: all runs converged (gradient and step < {self.tolerance:g})")


class PlaybackToolBar(QToolBar):
    """The toolbar: the playback actions, the speed (log slider, 1 to 1000 steps/s,
    and "max"), the step counter, the max-steps limit and "stop when converged"."""

    def __init__(self, controller: PlaybackController, parent: QWidget | None = None) -> None:
        super().__init__("Playback", parent)
        self.setObjectName("playback_toolbar")
        self.controller = c = controller
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for a in c.actions():
            self.addAction(a)
        self._fit_run_button()
        self.addSeparator()
        self.addWidget(QLabel(" speed "))
        self.speed_slider = QSlider(Qt.Orientation.Horizontal)
        self.speed_slider.setRange(0, 300)  # 10 ** (v / 100): 1 .. 1000 steps/s
        self.speed_slider.setFixedWidth(140)
        self.speed_slider.setToolTip("Steps per second, on a log scale (1 to 1000)")
        self.speed_slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.speed_slider.setValue(round(100 * math.log10(c.speed)))
        self.addWidget(self.speed_slider)
        # labels whose text changes while playing get a fixed size: a label that may
        # change size makes the whole window lay out and repaint on every frame
        self.speed_label = QLabel()
        self.addWidget(self.speed_label)
        self.max_box = QCheckBox("max")
        self.max_box.setToolTip("As many steps as fit in each frame")
        self.max_box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.addWidget(self.max_box)
        self.addSeparator()
        self.step_label = QLabel()
        self.step_label.setToolTip("The step shown (Left/Right move through the history)")
        self.addWidget(self.step_label)
        #: what presentation mode leaves out of the toolbar (see set_scale)
        self.secondary: list[QAction] = [self.addWidget(QLabel(" max steps "))]
        self.max_steps_spin = QSpinBox()
        self.max_steps_spin.setRange(1, MAX_STEPS)  # a run's limit, as in files and the CLI
        self.max_steps_spin.setSingleStep(1000)
        self.max_steps_spin.setValue(c.max_steps)
        self.max_steps_spin.setKeyboardTracking(False)
        self.max_steps_spin.setToolTip("Run stops at this step")
        self.secondary.append(self.addWidget(self.max_steps_spin))
        self.converged_box = QCheckBox("stop when converged")
        self.converged_box.setChecked(c.stop_when_converged)
        self.converged_box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.converged_box.setToolTip(
            f"Pause once every visible run has gradient norm and step size below {c.tolerance:g}")
        self.secondary.append(self.addWidget(self.converged_box))

        self._fit_labels()

        self.speed_slider.valueChanged.connect(self._speed_moved)
        self.max_box.toggled.connect(self._max_toggled)
        self.max_steps_spin.valueChanged.connect(c.set_max_steps)
        self.converged_box.toggled.connect(lambda on: setattr(c, "stop_when_converged", on))
        self._speed_moved(self.speed_slider.value())
        self.show_step(c.model.shown_step, c.model.computed_steps)

    def _fit_run_button(self) -> None:
        """Run and Pause take the same width: the toolbar does not shift as they swap."""
        run = self.widgetForAction(self.controller.run_action)
        if run is None:
            return
        run.setMinimumWidth(0)
        run.setMaximumWidth(16777215)
        fm = run.fontMetrics()
        pad = run.sizeHint().width() - fm.horizontalAdvance(self.controller.run_action.text())
        run.setFixedWidth(pad + max(fm.horizontalAdvance(t) for t in ("Run", "Pause")))

    def _fit_labels(self, digits: int = 8) -> None:
        """The fixed sizes of the labels whose text changes while playing (the step
        counter's for numbers of up to ``digits`` digits)."""
        fm = self.speed_label.fontMetrics()
        self.speed_label.setFixedSize(fm.horizontalAdvance("1000 /s") + 10, fm.height() + 4)
        fm = self.step_label.fontMetrics()
        n = "0" * digits
        self.step_label.setFixedSize(fm.horizontalAdvance(f"  step {n} of {n}  ") + 6,
                                     fm.height() + 4)

    def set_scale(self, scale: float) -> None:
        """Text ``scale`` times the application's size, and the step counter larger
        still and bold when scaled up (presentation mode); 1 goes back."""
        font = QApplication.font()
        font.setPointSizeF(font.pointSizeF() * scale)
        self.setFont(font)
        step = QFont(font)
        if scale > 1:
            step.setPointSizeF(font.pointSizeF() * 1.4)
            step.setBold(True)
        self.step_label.setFont(step)
        self._fit_labels(8 if scale <= 1 else 6)
        self._fit_run_button()
        for action in self.secondary:  # (the max-steps limit and "stop when converged")
            action.setVisible(scale <= 1)

    def _speed_moved(self, v: int) -> None:
        self.controller.set_speed(10 ** (v / 100))
        self.speed_label.setText(f"{self.controller.speed:.0f} /s")

    def _max_toggled(self, on: bool) -> None:
        self.controller.set_max_speed(on)
        self.speed_slider.setEnabled(not on)
        self.speed_label.setText("max" if on else f"{self.controller.speed:.0f} /s")

    def show_step(self, k: int, total: int) -> None:
        """Show step ``k`` of ``total`` computed (the window calls this: while playing,
        a few times a second)."""
        self.step_label.setText(f"  step {k}  " if k >= total else f"  step {k} of {total}  ")
