"""The inspector: for the selected run at the shown step, every number the optimizer
keeps, its update rule, and the rule with this step's numbers in (a dock panel).

The content comes from :mod:`optsim.explain` (no Qt there); this module only lays
it out as Qt rich text and follows the model's signals.
"""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..explain import StepExplanation, explain_step, fmt

HEAD = "#404040"


def _vec(v: np.ndarray) -> str:
    a = np.asarray(v, dtype=np.float64).reshape(-1)
    parts = [fmt(x).replace("-", "\u2212") for x in a]
    return parts[0] if len(parts) == 1 else "(" + ", ".join(parts) + ")"


def explanation_html(e: StepExplanation, run_name: str = "", colour: str = "#000000") -> str:
    """The inspector's page for one explained step, as Qt rich text."""
    opt = e.optimizer
    out = [
        "<html><body style='font-size:11pt'>",
        f"<p style='margin:0'><span style='color:{colour}; font-size:14pt'>\u25cf</span> "
        f"<b>{html.escape(run_name or opt.name)}</b> &nbsp;<code>{html.escape(opt.spec)}</code>"
        f" &nbsp; step <b>{e.step}</b></p>",
    ]
    if e.frozen:
        out.append("<p style='color:#b00000'>This run diverged and stands still; the "
                   "equations show the step it would have taken.</p>")
    out.append(f"<h4 style='color:{HEAD}; margin-bottom:2px'>Values after step {e.step}</h4>")
    out.append("<table cellspacing='0' cellpadding='2'>")
    for row in e.rows:
        hint = f" <span style='color:#777'>({html.escape(row.hint)})</span>" if row.hint else ""
        out.append(f"<tr><td><b>{row.symbol}</b></td><td>&nbsp;{html.escape(row.name)}{hint}</td>"
                   f"<td>&nbsp;{_vec(row.value)}</td></tr>")
    out.append("</table>")
    out.append(f"<h4 style='color:{HEAD}; margin-bottom:2px'>Update rule</h4>")
    out.append("<p style='margin-top:0'>per coordinate; "
               + ", ".join(f"{sym} = {name} = {val}" for sym, name, val in e.legend) + "</p>")
    for eq in e.equations:
        note = f" &nbsp;<span style='color:#777'>{html.escape(eq.note)}</span>" if eq.note else ""
        out.append(f"<p style='margin:2px 0 2px 12px'>{eq.html}{note}</p>")
    if e.substituted:
        out.append(f"<h4 style='color:{HEAD}; margin-bottom:2px'>Step {e.step} with the numbers in</h4>")
        for s in e.substituted:
            out.append(f"<p style='margin:3px 0 3px 12px'>{s.html}</p>")
    else:
        out.append("<p><i>No step taken yet: press Right (→) to take step 1.</i></p>")
    out.append("</body></html>")
    return "".join(out)


class InspectorPanel(QWidget):
    """The inspector's content: a "What am I looking at?" note and the page."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = None
        self.explanation: StepExplanation | None = None
        self.note_button = QToolButton(self)
        self.note_button.setText("What am I looking at?")
        self.note_button.setCheckable(True)
        self.note_button.setToolTip("A few plain words on this optimizer (from the course)")
        self.note = QLabel(self)
        self.note.setWordWrap(True)
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        self.note.setStyleSheet("QLabel { background: #fff8e0; border: 1px solid #d8c890;"
                                " padding: 6px; font-size: 11pt; }")
        self.note.setVisible(False)
        self.note_button.toggled.connect(self.note.setVisible)
        self.browser = QTextBrowser(self)
        self.browser.setOpenLinks(False)
        top = QHBoxLayout()
        top.addWidget(self.note_button)
        top.addStretch(1)
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
        self.explanation = explain_step(trajectory, k, run)
        self.note.setText(self.explanation.note)
        self._set_html(explanation_html(self.explanation, name, colour))

    def show_message(self, text: str) -> None:
        self.explanation = None
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
        """The page as plain text (what a reader sees)."""
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

    def refresh(self) -> None:
        m = self.model
        if m is None:
            return
        i = self.current_run()
        if i < 0:
            self.show_message("No runs: add an optimizer.")
            return
        r = m.runs[i]
        self.show_step(r.trajectory, r.displayed_step(m.shown_step), 0, r.name, r.colour)


class InspectorDock(QDockWidget):
    """The inspector as a dock panel."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Inspector", parent)
        self.setObjectName("inspector_dock")
        self.panel = InspectorPanel(self)
        self.setWidget(self.panel)
