"""The timeline: a slider under the plots that scrubs to any computed step.

Moving it asks the model to ``seek``; the model's ``stepChanged`` moves it back (so
the plot, the loss plot, the inspector and the overlays all follow the one
``shown_step``). Its end is the most steps any run has computed.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSlider,
    QStyle,
    QStyleOptionSlider,
    QToolButton,
    QWidget,
)

from .throttle import Throttle


class JumpSlider(QSlider):
    """A slider that jumps to the step under a click on its groove (a plain QSlider
    pages by a few steps towards it); the handle is then dragged as usual."""

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if event.button() == Qt.MouseButton.LeftButton and self.maximum() > self.minimum():
            opt = QStyleOptionSlider()
            self.initStyleOption(opt)
            style = self.style()
            handle = style.subControlRect(QStyle.ComplexControl.CC_Slider, opt,
                                          QStyle.SubControl.SC_SliderHandle, self)
            pos = event.position().toPoint()
            if not handle.contains(pos):
                groove = style.subControlRect(QStyle.ComplexControl.CC_Slider, opt,
                                              QStyle.SubControl.SC_SliderGroove, self)
                # the handle's centre goes under the pointer
                span = groove.width() - handle.width()
                x = pos.x() - groove.x() - handle.width() // 2
                self.setValue(QStyle.sliderValueFromPosition(
                    self.minimum(), self.maximum(), x, max(span, 1), opt.upsideDown))
        super().mousePressEvent(event)  # on the handle now: a drag starts from here


class Timeline(QWidget):
    """A step slider with back/forward buttons and a "step k / n" label.

    ``seekRequested(k)`` is emitted when the user moves the slider; with a model
    bound (:meth:`set_model`) it calls ``model.seek(k)`` itself.
    """

    seekRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = None
        #: while playing, the slider and label follow the model a few times a second
        self._sync = Throttle(self._sync_now, parent=self)
        self.slider = JumpSlider(Qt.Orientation.Horizontal, self)
        self.slider.setRange(0, 0)
        self.slider.setTracking(True)
        self.slider.setToolTip("Scrub through the recorded steps")
        self.back_button = QToolButton(self)
        self.back_button.setText("\u25c0")
        self.back_button.setToolTip("One step back (Left)")
        self.forward_button = QToolButton(self)
        self.forward_button.setText("\u25b6")
        self.forward_button.setToolTip("One step forward (Right): replays the history, "
                                       "then computes new steps")
        self.label = QLabel(self)
        self.label.setMinimumWidth(130)
        # a fixed size: a label that may change size relays out the window every frame
        self.label.setFixedSize(max(130, self.label.fontMetrics().horizontalAdvance("10000000 / 10000000") + 8),
                                self.label.sizeHint().height())
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        layout.addWidget(QLabel("step", self))
        layout.addWidget(self.back_button)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.forward_button)
        layout.addWidget(self.label)
        self.slider.valueChanged.connect(self._moved)
        self.back_button.clicked.connect(lambda: self._nudge(-1))
        self.forward_button.clicked.connect(lambda: self._nudge(1))
        self._update_label()

    # -- display -------------------------------------------------------------------
    def set_range(self, maximum: int) -> None:
        """The last step that can be shown (the computed history's end)."""
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, int(maximum)))
        self.slider.setPageStep(max(1, int(maximum) // 20))
        self.slider.blockSignals(False)
        self._update_label()

    def set_value(self, k: int) -> None:
        """Show step ``k`` without asking for a seek."""
        if k > self.slider.maximum():
            self.set_range(k)
        self.slider.blockSignals(True)
        self.slider.setValue(int(k))
        self.slider.blockSignals(False)
        self._update_label()

    def value(self) -> int:
        return self.slider.value()

    def _update_label(self) -> None:
        self.label.setText(f"{self.slider.value()} / {self.slider.maximum()}")

    # -- user intent -------------------------------------------------------------------
    def _moved(self, k: int) -> None:
        self._update_label()
        self.seekRequested.emit(int(k))
        if self.model is not None:
            self.model.seek(int(k))

    def _nudge(self, n: int) -> None:
        if self.model is not None:
            if n > 0:
                self.model.step_forward(n)
            else:
                self.model.step_back(-n)
        else:
            self.slider.setValue(self.slider.value() + n)

    # -- following a SimulationModel -------------------------------------------------
    def set_model(self, model) -> None:
        self.model = model
        model.stepChanged.connect(lambda _k: self.sync())
        model.runsChanged.connect(self.sync)
        model.runChanged.connect(lambda _i: self.sync())
        model.functionChanged.connect(self.sync)
        self.sync()

    def set_playing(self, playing: bool) -> None:
        """While playing, follow the model at most every READOUT_INTERVAL_MS."""
        self._sync.set_active(playing)

    def sync(self) -> None:
        """Range and position from the model (while playing: soon)."""
        self._sync.request()

    def _sync_now(self) -> None:
        m = self.model
        if m is None:
            return
        self.set_range(max(m.computed_steps, m.shown_step))
        self.set_value(m.shown_step)
