"""Read-outs that refresh at most a few times a second while playback runs."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

#: while playing, read-outs (status table, step counter, timeline) refresh at most
#: this often: at 1,000 steps a second their digits can't be read any faster, and
#: laying out their text cost about a tenth of every frame
READOUT_INTERVAL_MS = 250


class Throttle(QObject):
    """Carries out ``action`` when asked, at once; but while ``active``, at most
    every ``interval_ms``: a request inside the interval is remembered and carried
    out when the interval ends. Turning it off carries out a remembered request at
    once, so what is shown is never left stale."""

    def __init__(self, action: Callable[[], None], interval_ms: int = READOUT_INTERVAL_MS,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._action = action
        self.active = False
        self._due = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)

    def request(self) -> None:
        if not self.active:
            self._action()
        elif self._timer.isActive():
            self._due = True
        else:
            self._due = False
            self._action()
            self._timer.start()

    def set_active(self, on: bool, flush: bool = True) -> None:
        """Throttle from now on (``on``), or not; turning it off carries out a
        waiting request at once unless ``flush`` is false (the caller does it)."""
        self.active = bool(on)
        if not self.active:
            self._timer.stop()
            if self._due and flush:
                self._action()
            self._due = False

    def _tick(self) -> None:
        if self._due:
            self._due = False
            self._action()
            self._timer.start()
