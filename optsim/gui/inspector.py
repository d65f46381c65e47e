"""The inspector: for the selected run at the shown step, every number the optimizer
keeps, its update rule, and the rule with this step's numbers in (a dock panel).

The content comes from :mod:`optsim.explain` (no Qt there); this module only lays
it out as Qt rich text and follows the model's signals.
"""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import QElapsedTimer, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QTextOption
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QMenu,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..explain import DIGITS, StepExplanation, explain_step, fmt, note_html, number_html
from ..render.overlays import StepOverlay
from .hover import TrajectoryHover
from .timeline import Timeline

HEAD = "#404040"


AXES = "xyzw"


def _num(x: float, digits: int | None = DIGITS) -> str:
    return number_html(fmt(x, digits))


def _vec(v: np.ndarray, scalar: bool = False, digits: int | None = DIGITS) -> str:
    """Numbers (``digits`` significant digits, None: full precision), one coordinate
    per line (x: ..., y: ...)."""
    a = np.asarray(v, dtype=np.float64).reshape(-1)
    if len(a) == 1 or (scalar and (a == a[0]).all()):
        return _num(a[0], digits)
    return "<br>".join(f"<span style='color:#888'>{AXES[i]}:</span> {_num(x, digits)}"
                       for i, x in enumerate(a))


def breakable(spec: str) -> str:
    """An optimizer's spec as HTML that may wrap after its ":" and "," (a zero-width
    space): "lbfgs:max_iter=4,line_search_fn=strong_wolfe" ran past a 300-px
    inspector, behind a sideways scroll bar."""
    return html.escape(spec).replace(",", ",\u200b").replace(":", ":\u200b")


def explanation_html(e: StepExplanation, run_name: str = "", colour: str = "#000000") -> str:
    """The inspector's page for one explained step, as Qt rich text: the update
    rule, the rule with this step's numbers (one coordinate at a time), and every
    value after the step."""
    opt = e.optimizer
    out = [
        "<html><body style='font-size:11pt'>",
        f"<p style='margin:0'><span style='color:{colour}; font-size:14pt'>\u25cf</span> "
        f"<b>{html.escape(run_name or opt.name)}</b> &nbsp;<code>{breakable(opt.spec)}</code>"
        f" &nbsp; step <b>{e.step}</b></p>",
    ]
    if e.frozen:
        out.append("<p style='color:#b00000'>This run diverged and stands still; the "
                   "equations show the step it would have taken.</p>")
    out.append(f"<h4 style='color:{HEAD}; margin:6px 0 2px 0'>Update rule</h4>")
    if not e.equations:
        out.append("<p style='margin:2px 0 2px 10px; color:#555'><i>This optimizer declares "
                   "no equations; below are the numbers it keeps and reports.</i></p>")
    for eq in e.equations:
        note = f" &nbsp;<span style='color:#777'>{html.escape(eq.note)}</span>" if eq.note else ""
        out.append(f"<p style='margin:2px 0 2px 10px'>{eq.html}{note}</p>")
    out.append("<p style='margin:2px 0 2px 10px; color:#555'>"
               + ", ".join(f"{sym} = {name} = {number_html(val)}" for sym, name, val in e.legend)
               + ("; " if e.legend else "") + "every operation is per coordinate</p>")
    for heading, lines in e.sections:  # what the optimizer adds (curvature, inner steps)
        out.append(f"<h4 style='color:{HEAD}; margin:8px 0 2px 0'>{html.escape(heading)}</h4>")
        out.extend(f"<p style='margin:0 0 0 {24 if line.startswith(' ') else 10}px'>"
                   f"{html.escape(line.strip())}</p>" for line in lines)
    if e.substituted:
        out.append(f"<h4 style='color:{HEAD}; margin:8px 0 2px 0'>Step {e.step} with the "
                   "numbers in</h4>")
        for sub in e.substituted:
            lhs = sub.lhs_html.replace("<sub>t</sub>", f"<sub>{e.step}</sub>").replace(
                "<sub>t\u22121</sub>", f"<sub>{e.step - 1}</sub>")
            if sub.coords:
                out.append(f"<p style='margin:4px 0 0 10px'>{lhs}</p>")
                for i, (_text, line) in enumerate(sub.coords):
                    out.append(f"<p style='margin:0 0 0 22px'><span style='color:#888'>"
                               f"{AXES[i]}:</span> {line}</p>")
            else:
                out.append(f"<p style='margin:4px 0 0 10px'>{lhs} = "
                           f"{sub.html.split(' = ', 1)[1]}</p>")
    elif e.step == 0:
        out.append("<p><i>No step taken yet: press Right (\u2192) to take step 1.</i></p>")
    out.append(f"<h4 style='color:{HEAD}; margin:8px 0 2px 0'>Values after step {e.step}</h4>")
    out.append("<table cellspacing='0' cellpadding='2'>")
    for row in e.rows:
        hint = f" <span style='color:#777'>({html.escape(row.hint)})</span>" if row.hint else ""
        out.append(f"<tr><td><b>{row.symbol}</b></td><td>&nbsp;{html.escape(row.name)}{hint}</td>"
                   f"<td nowrap>&nbsp;{_vec(row.value, row.scalar, e.digits)}</td></tr>")
    out.append("</table></body></html>")
    return "".join(out)


class InspectorPanel(QWidget):
    """The inspector's content: a "What am I looking at?" note and the page."""

    MIN_INTERVAL_MS = 150
    #: while playing, pages are rebuilt at most this often (a rebuild costs about a
    #: frame's whole budget); pausing brings the page up to date at once
    PLAYING_INTERVAL_MS = 1000

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = None
        self._explanation: StepExplanation | None = None
        self._shown: tuple | None = None
        # following the model, pages are rebuilt at most every MIN_INTERVAL_MS (a
        # page takes a few tens of ms to lay out: playback must not wait for it) and
        # not at all while hidden; reading the panel brings it up to date first
        self._pending = False
        self._playing = False
        #: while playing, rebuilt on the window's read-out ticks (see ``tick``)
        self._ticked = False
        #: False while its dock is a tab behind another one: Qt keeps such a dock
        #: "visible" (moved off screen), so isVisible() alone would build pages no one
        #: sees (one at every start-up in a low window, ~15 ms): see set_on_screen
        self.on_screen = True
        self._clock = QElapsedTimer()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.flush)
        self.note_button = QToolButton(self)
        self.note_button.setText("What am I looking at?")
        self.note_button.setCheckable(True)
        self.note_button.setToolTip("A few plain words on this optimizer (from the course)")
        #: significant digits of the numbers shown (None: full precision)
        self.digits: int | None = DIGITS
        self.precision_button = QToolButton(self)
        self.precision_button.setText("Full precision")
        self.precision_button.setCheckable(True)
        self.precision_button.setToolTip(f"Show every number in full (off: {DIGITS} significant "
                                         "digits)")
        self.precision_button.toggled.connect(self.set_full_precision)
        self.note = QLabel(self)
        self.note.setWordWrap(True)
        self.note.setTextFormat(Qt.TextFormat.RichText)
        self.note.setStyleSheet("QLabel { background: #fff8e0; border: 1px solid #d8c890;"
                                " padding: 6px; font-size: 11pt; }")
        self.note.setVisible(False)
        self.note_button.toggled.connect(self.note.setVisible)
        self.browser = QTextBrowser(self)
        self.browser.setOpenLinks(False)
        # lines break between words only, never inside a number
        self.browser.setWordWrapMode(QTextOption.WrapMode.WordWrap)
        #: while playing, says when the page is behind the toolbar's step (it is
        #: rebuilt about once a second); a fixed place, so its text never relays out
        self.lag_label = QLabel(self)
        self.lag_label.setStyleSheet("color: #8a5a00;")
        # a fixed size (its width set as the panel is resized): a new text then
        # repaints the label alone instead of laying out the panel a few times a second
        self.lag_label.setFixedSize(200, self.lag_label.fontMetrics().height() + 4)
        self.lag_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.lag_label.setToolTip("While playing, this page is refreshed about once a second; "
                                  "pause to see the step shown in the toolbar")
        #: the model's shown step when the page was built (None: no page yet)
        self.page_step: int | None = None
        #: a run of K > 1 rows: which row the status and this page show (item 0: the
        #: mean, in the status; the page then shows row 1's step)
        self.row_box = QComboBox(self)
        self.row_box.setToolTip("A run of several rows (a fan of starts or an ensemble): "
                                "the row the status and the inspector show, or their mean")
        self.row_box.setVisible(False)
        self.row_box.activated.connect(self._row_chosen)
        top = QHBoxLayout()
        top.addWidget(self.note_button)
        top.addWidget(self.row_box)
        top.addWidget(self.lag_label, 1)
        top.addWidget(self.precision_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.note)
        layout.addWidget(self.browser, 1)
        self._html = ""

    # -- standalone --------------------------------------------------------------
    def show_step(self, trajectory, k: int, run: int = 0, name: str = "",
                  colour: str = "#000000") -> None:
        """Show run ``run`` of ``trajectory`` at step ``k``."""
        self._shown = (trajectory, k, run, name, colour)
        self._explanation = explain_step(trajectory, k, run, self.digits)
        self.note.setText(note_html(self._explanation.note))
        self._set_html(explanation_html(self._explanation, name, colour))

    def set_full_precision(self, on: bool) -> None:
        """Show every number in full (``repr``) or with ``DIGITS`` significant digits."""
        self.digits = None if on else DIGITS
        if self.precision_button.isChecked() != bool(on):
            self.precision_button.setChecked(bool(on))
        if self.model is None:
            if self._shown is not None:  # standalone: show the same step again
                self.show_step(*self._shown)
            return
        self._pending = True
        self.flush()

    @property
    def explanation(self) -> StepExplanation | None:
        """What the page shows (brought up to date first)."""
        self.flush()
        return self._explanation

    def show_message(self, text: str) -> None:
        self._explanation = None
        self.note.setText("")
        self._set_html(f"<p><i>{html.escape(text)}</i></p>")

    def _set_html(self, page: str) -> None:
        if page == self._html:
            return
        bar = self.browser.verticalScrollBar()
        keep = bar.value()
        self._html = page
        self.browser.setHtml(page)
        bar.setValue(keep)

    def text(self) -> str:
        """The page as plain text (what a reader sees), up to date."""
        self.flush()
        return self.browser.toPlainText()

    # -- following a SimulationModel -------------------------------------------------
    def set_model(self, model) -> None:
        self.model = model
        for sig in (model.stepChanged, model.selectionChanged, model.runChanged):
            sig.connect(lambda *_: self.refresh())
        for sig in (model.runsChanged, model.functionChanged):
            sig.connect(self.refresh)
        self.refresh()

    def current_run(self) -> int:
        """The run shown: the selected one, else the first visible one (-1: none)."""
        m = self.model
        if m is None or not m.runs:
            return -1
        if 0 <= m.selected < len(m.runs):
            return m.selected
        return next((i for i, r in enumerate(m.runs) if r.visible), 0)

    def set_playing(self, playing: bool) -> None:
        """Playback started or stopped: rebuild rarely while playing, at once on pause."""
        self._playing = bool(playing)
        if not self._playing and self._pending:
            self._timer.stop()
            if self.seen():
                self.flush()
        self._show_lag()

    def _show_lag(self) -> None:
        """Say "catching up" while the page shows an older step than the model's."""
        m = self.model
        now = None if m is None else m.shown_step
        behind = self._playing and self.page_step is not None and now != self.page_step
        text = f"catching up: step {self.page_step} \u2192 {now}" if behind else ""
        if self.lag_label.text() != text:
            self.lag_label.setText(text)

    def refresh(self) -> None:
        """The model changed: rebuild the page now, or soon (see ``MIN_INTERVAL_MS``
        and ``PLAYING_INTERVAL_MS``)."""
        self._pending = True
        if not self.seen() or (self._playing and self._ticked):
            return  # built when shown or read; while playing, on a tick
        interval = self.PLAYING_INTERVAL_MS if self._playing else self.MIN_INTERVAL_MS
        if self._clock.isValid() and self._clock.elapsed() < interval:
            if not self._timer.isActive():
                self._timer.start(interval - self._clock.elapsed())
            return
        self.flush()

    def follow_ticks(self) -> None:
        """While playing, rebuild only when ``tick`` is called (by the window, as it
        refreshes its read-outs), instead of on a timer of its own."""
        self._ticked = True

    def tick(self) -> None:
        """While playing: rebuild now if the page is stale and PLAYING_INTERVAL_MS
        have passed since the last rebuild. The window calls this as it refreshes
        the status table, so the two costly text layouts land in one frame instead
        of making two frames slow."""
        if self._playing and self._pending and self.seen() and (
                not self._clock.isValid() or self._clock.elapsed() >= self.PLAYING_INTERVAL_MS):
            self.flush()
        self._show_lag()

    def flush(self) -> None:
        """Rebuild the page now if the model changed since it was built."""
        if not self._pending:
            return
        self._pending = False
        self._timer.stop()
        self._clock.restart()
        self._rebuild()

    def seen(self) -> bool:
        """Whether the page can be seen (shown, and not in a tab behind another)."""
        return self.isVisible() and self.on_screen

    def set_on_screen(self, on: bool) -> None:
        """Its dock's tab came to the front (``on``) or went behind another one; in
        front, the page is brought up to date at once (also while playing)."""
        self.on_screen = bool(on)
        if self.on_screen and self._pending and self.isVisible():
            self.flush()
            self._show_lag()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        # (from the event loop, before the window's first paint: a dock tabbed behind
        # another is told so just after it is shown)
        QTimer.singleShot(0, self, self._flush_if_seen)

    def _flush_if_seen(self) -> None:
        if self.seen():
            self.flush()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        room = (self.width() - self.note_button.sizeHint().width()
                - self.precision_button.sizeHint().width() - 30)
        if room != self.lag_label.width():
            self.lag_label.setFixedWidth(max(room, 0))

    def _rebuild(self) -> None:
        m = self.model
        if m is None:
            return
        i = self.current_run()
        if i < 0:
            self.show_message("No runs: add an optimizer.")
            return
        r = m.runs[i]
        self._show_rows(r)
        row = r.shown_row
        name = r.name if r.rows == 1 else \
            f"{r.name}, row {(row or 0) + 1} of {r.rows}" + (" (the status shows the mean)"
                                                              if row is None else "")
        self.show_step(r.trajectory, r.displayed_step(m.shown_step), row or 0, name, r.colour)
        self.page_step = m.shown_step

    def _show_rows(self, r) -> None:
        """The row chooser for run ``r``: hidden for one row; else mean, 1..K."""
        self.row_box.setVisible(r.rows > 1)
        if r.rows == 1:
            return
        if self.row_box.count() != r.rows + 1:
            self.row_box.clear()
            self.row_box.addItem(f"Mean of {r.rows} rows")
            self.row_box.addItems([f"Row {j + 1}" for j in range(r.rows)])
        self.row_box.setCurrentIndex(0 if r.shown_row is None else r.shown_row + 1)

    def _row_chosen(self, index: int) -> None:
        i = self.current_run()
        if self.model is not None and i >= 0:
            self.model.set_run_row(i, None if index <= 0 else index - 1)


class InspectorDock(QDockWidget):
    """The inspector as a dock panel."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Inspector", parent)
        self.setObjectName("inspector_dock")
        self.panel = InspectorPanel(self)
        self.setWidget(self.panel)


class StepInsight(QObject):
    """Puts the inspector dock, the step arrows (View ▸ Step arrows), the hover
    read-out and the timeline slider (under the plots) into a MainWindow, and keeps
    them on the model's shown step and selected run."""

    ARROW_ACTIONS = (
        ("gradient_step", "Plain gradient step \u2212\u03b1\u00b7\u2207f", True),
        ("momentum", "Momentum's part of the step", True),
        ("actual_step", "Step taken next", True),
        ("components", "x and y parts (adaptive methods)", True),
        ("ellipse", "Rescaling ellipse (adaptive methods)", False),
        ("field", "Downhill field \u2212\u2207f", False),
        ("tangent", "Tangent (1D)", False),
        ("inner", "Inner iterations and line-search trials (L-BFGS, BFGS)", True),
    )

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.model = model = window.model
        self.panel = InspectorPanel()
        self.dock = window.add_dock("Inspector", self.panel, Qt.DockWidgetArea.RightDockWidgetArea,
                                    "inspector_dock")
        # (placed by the window's layout: MainWindow.apply_default_layout; at least a
        # heading, the rule and a few values in view)
        self.panel.setMinimumHeight(180)
        self.dock.visibilityChanged.connect(self.panel.set_on_screen)
        self.panel.set_model(model)
        playback = getattr(window, "playback", None)
        if playback is not None:
            playback.playingChanged.connect(self.panel.set_playing)
            self.panel.set_playing(playback.playing)
        ticks = getattr(window, "readoutsRefreshed", None)
        if ticks is not None:
            ticks.connect(self.panel.tick)
            self.panel.follow_ticks()
            figure = getattr(window, "figure", None)
            if figure is not None:  # plain, quick trails while playing; cached axes
                playback.playingChanged.connect(figure.set_playing)
                figure.set_playing(playback.playing)
                figure.cache_axes()

        figure = window.takeCentralWidget()
        central = QWidget(window)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(figure, 1)
        self.timeline = Timeline(central)
        layout.addWidget(self.timeline)
        window.setCentralWidget(central)
        self.timeline.set_model(model)
        if playback is not None:
            playback.playingChanged.connect(self.timeline.set_playing)
        self.timeline.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Left/Right stay shortcuts

        plot_item = window.plot.getPlotItem()
        self.overlay = StepOverlay(plot_item)
        self.hover = TrajectoryHover(plot_item)
        self.all_runs = False
        self.menu = QMenu("Step arrows", window)
        self.actions: dict[str, QAction] = {}
        for name, label, on in self.ARROW_ACTIONS:
            a = QAction(label, self.menu)
            a.setCheckable(True)
            a.setChecked(on)
            a.toggled.connect(lambda checked, n=name: self.overlay.set_option(n, checked))
            self.overlay.options[name] = on
            self.menu.addAction(a)
            self.actions[name] = a
        self.menu.addSeparator()
        a = QAction("Arrows for every run (not only the selected one)", self.menu)
        a.setCheckable(True)
        a.toggled.connect(self.set_all_runs)
        self.menu.addAction(a)
        self.actions["all_runs"] = a
        a = QAction("Hover read-out on trajectory points", self.menu)
        a.setCheckable(True)
        a.setChecked(True)
        a.toggled.connect(lambda on: setattr(self.hover, "enabled", on))
        self.menu.addAction(a)
        self.actions["hover"] = a
        window.view_menu.addSeparator()
        window.view_menu.addMenu(self.menu)

        model.functionChanged.connect(self._function_changed)
        model.viewChanged.connect(self._function_changed)
        for sig in (model.stepChanged, model.selectionChanged, model.runChanged):
            sig.connect(lambda *_: self.refresh())
        model.runsChanged.connect(self.refresh)
        self._function_changed()

    def set_all_runs(self, on: bool) -> None:
        self.all_runs = bool(on)
        self.refresh()

    def _function_changed(self) -> None:
        self.overlay.set_function(self.model.function, self.model.view)
        self.refresh()

    def refresh(self) -> None:
        m = self.model
        k = m.shown_step
        i = self.panel.current_run()
        chosen = [i] if i >= 0 and m.runs[i].visible else []
        if self.all_runs:  # the selected run first: the key describes its arrows
            chosen += [j for j, r in enumerate(m.runs) if r.visible and j != i]
        self.overlay.show([(m.runs[i].trajectory, m.runs[i].displayed_step(k), 0, m.runs[i].colour)
                           for i in chosen])
        self.hover.set_runs([(r.name, r.trajectory.positions[:, 0], r.trajectory.losses[:, 0],
                              r.displayed_step(k)) for r in m.runs if r.visible],
                            m.function.dim)


def install(window) -> StepInsight:
    """Add the inspector, step arrows and timeline to ``window`` (a MainWindow)."""
    window.step_insight = StepInsight(window)
    return window.step_insight
