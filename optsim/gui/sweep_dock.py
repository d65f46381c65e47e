"""The window's Sweep view and basins overlay.

- **Sweep** (a dock): the selected run's optimizer swept over one or two of its
  hyperparameters (other settings as the run has them, from the window's start).
  The map appears coarse first and is refined; it is computed off the GUI thread
  with a progress bar and Cancel. Hover reads a cell out, a click adds that
  configuration as a run, a double-click gives it to the selected run. On a
  quadratic, the theory (stability boundary, optimal point) is drawn over it.
  "Tune learning rates" searches every run's lr (same steps, same start, median
  final loss) and gives each run its tuned lr.
- **Basins of attraction** (View menu, a toggle): every start point of a grid over
  the view coloured by the minimum the selected run's optimizer reaches from it.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..engine import Optimizer, optimizer_kind
from ..explore import METRICS, Cancelled, SweepInputError
from ..explore.axes import Axis, check_axis
from ..explore.basins import basins
from ..explore.sweep import plan_sweep, run_sweep_plan
from ..explore.theory import map_theory
from ..explore.tune import CRITERION_TEXT, DEFAULT_CRITERION, tune
from ..render.explore import BasinsOverlay, MapAxis, SweepPlot

#: the first preview has at most this many values per axis; then 4x finer, then all
PREVIEW_CELLS = 32
DEFAULT_CELLS = (64, 48)
MAX_CELLS = 1024
BASIN_GRID = 121
BASIN_STEPS = 500


def default_range(optimizer: Optimizer, name: str) -> tuple[float, float, bool]:
    """A sensible (lo, hi, log) for an axis over ``name`` of ``optimizer``."""
    p = next(p for p in optimizer.declared if p.name == name)
    v = float(optimizer.hp[name])
    if p.log:
        centre = v if v > 0 else 1e-3
        lo, hi = centre / 100, centre * 100
        if p.high is not None:
            hi = min(hi, float(p.high))
        return lo, hi, True
    lo = float(p.low) if p.low is not None else v - 1.0
    hi = float(p.high) if p.high is not None else max(v * 2, lo + 1.0)
    if p.high_open:
        hi = lo + (hi - lo) * 0.99
    if p.low_open:
        lo = lo + (hi - lo) * 0.01
    if hi - lo > 10:
        hi = lo + 10
    return lo, hi, False


class _Bridge(QObject):
    """Carries results from a worker thread to the GUI thread (queued signals)."""

    result = Signal(object)
    progress = Signal(int, int)
    failed = Signal(str)
    finished = Signal()


class _Job:
    """One background computation: ``work(progress, cancel)`` in a thread; its
    results, progress and end arrive through a bridge, on the GUI thread."""

    def __init__(self, work: Callable[[Callable[[int, int], None], threading.Event], None],
                 bridge: _Bridge) -> None:
        self.cancel = threading.Event()
        self.bridge = bridge

        def run() -> None:
            try:
                work(lambda d, t: bridge.progress.emit(int(d), int(t)), self.cancel)
            except Cancelled:
                pass
            except RuntimeError:  # the window (and the bridge) went away meanwhile
                return
            except (SweepInputError, ValueError) as exc:
                _emit(bridge.failed, str(exc))
            except Exception as exc:  # a bug: said in one line, and the buttons come back
                _emit(bridge.failed, f"internal error ({type(exc).__name__}): {exc}")
            _emit(bridge.finished)

        self.thread = threading.Thread(target=run, name="optsim-explore", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.cancel.set()


def _emit(signal: Any, *args: Any) -> None:
    try:
        signal.emit(*args)
    except RuntimeError:  # the receiver was deleted (the window closed)
        pass


class _AxisRow(QWidget):
    """NAME [lo] [hi] [n] [log] for one axis."""

    changed = Signal()

    def __init__(self, optional: bool) -> None:
        super().__init__()
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.name = QComboBox()
        self.optional = optional
        self.lo, self.hi = QLineEdit(), QLineEdit()
        for w in (self.lo, self.hi):
            w.setMaximumWidth(80)
        self.n = QSpinBox()
        self.n.setRange(2, MAX_CELLS)
        self.log = QCheckBox("log")
        for w, tip in ((self.name, "the hyperparameter on this axis"), (self.lo, "from"),
                       (self.hi, "to"), (self.n, "values"), (self.log, "log spacing")):
            w.setToolTip(tip)
            lay.addWidget(w)
        self.name.currentTextChanged.connect(lambda _text: self.changed.emit())

    def axis(self) -> Axis | None:
        name = self.name.currentText()
        if not name or name == "(none)":
            return None
        try:
            lo, hi = float(self.lo.text()), float(self.hi.text())
        except ValueError:
            raise SweepInputError(f"axis {name}: from and to must be numbers") from None
        return Axis(name, lo, hi, self.n.value(), self.log.isChecked())

    def set_range(self, lo: float, hi: float, log: bool) -> None:
        self.lo.setText(f"{lo:.6g}")
        self.hi.setText(f"{hi:.6g}")
        self.log.setChecked(log)


class SweepPanel(QWidget):
    """The Sweep view's controls and map (see the module docstring)."""

    #: a one-line message for the status bar
    message = Signal(str)

    def __init__(self, window: Any) -> None:
        super().__init__()
        self.main_window = window
        self.model = window.model
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.run_label = QLabel()
        self.run_label.setWordWrap(True)
        form.addRow("Run:", self.run_label)
        self.x_row, self.y_row = _AxisRow(False), _AxisRow(True)
        form.addRow("x axis:", self.x_row)
        form.addRow("y axis:", self.y_row)
        self.metric_box = QComboBox()
        self.metric_box.addItems(METRICS)
        self.metric_box.setCurrentText("final-loss")
        self.steps = QSpinBox()
        self.steps.setRange(1, 100_000)
        self.steps.setValue(100)
        row = QHBoxLayout()
        row.addWidget(self.metric_box)
        row.addWidget(QLabel("steps"))
        row.addWidget(self.steps)
        form.addRow("Metric:", row)
        lay.addLayout(form)
        buttons = QHBoxLayout()
        self.compute_button = QPushButton("Compute map")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.tune_button = QPushButton("Tune learning rates")
        self.tune_button.setToolTip("For every run: the lr with the lowest "
                                    f"{CRITERION_TEXT[DEFAULT_CRITERION]} (41 values over 6 "
                                    "decades, the same steps and start), then race them")
        for b in (self.compute_button, self.cancel_button, self.tune_button):
            buttons.addWidget(b)
        lay.addLayout(buttons)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        lay.addWidget(self.progress)
        self.plot = SweepPlot()
        self.plot.setMinimumSize(280, 240)
        lay.addWidget(self.plot, 1)
        self.bridge = _Bridge()
        self.bridge.result.connect(self._show_result)
        self.bridge.progress.connect(self._show_progress)
        self.bridge.failed.connect(self._failed)
        self.bridge.finished.connect(self._finished)
        self.job: _Job | None = None
        self._generation = 0
        self._result = None
        self._pending_click: dict | None = None
        self._click_timer = QTimer(self)
        self._click_timer.setSingleShot(True)
        self._click_timer.timeout.connect(self._single_click)
        self.compute_button.clicked.connect(self.compute)
        self.cancel_button.clicked.connect(self.cancel)
        self.tune_button.clicked.connect(self.tune_runs)
        self.x_row.changed.connect(lambda: self._axis_changed(self.x_row))
        self.y_row.changed.connect(lambda: self._axis_changed(self.y_row))
        self.metric_box.currentTextChanged.connect(self._metric_changed)
        self.plot.cellClicked.connect(self._clicked)
        self.plot.cellDoubleClicked.connect(self._double_clicked)
        self.plot.hovered.connect(lambda text: self.message.emit(text) if text else None)
        self.model.selectionChanged.connect(lambda _i: self._run_changed())
        self.model.runChanged.connect(lambda _i: self._run_changed(keep_axes=True))
        self.model.runsChanged.connect(lambda: self._run_changed(keep_axes=True))
        self._optimizer_name = ""
        self._run_changed()
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.cancel)

    # -- the run whose optimizer is swept ----------------------------------------
    def current_run(self) -> Any:
        runs = self.model.runs
        if not runs:
            return None
        i = self.model.selected if 0 <= self.model.selected < len(runs) else 0
        return runs[i]

    def _numeric(self, opt: Optimizer) -> list[str]:
        return [p.name for p in opt.declared if p.kind is not bool]

    def _run_changed(self, keep_axes: bool = False) -> None:
        run = self.current_run()
        if run is None:
            self.run_label.setText("no run: add one in Optimizers")
            self.compute_button.setEnabled(False)
            return
        self.compute_button.setEnabled(self.job is None)
        opt = run.optimizer
        self.run_label.setText(f"{run.name}: {opt.spec}")
        if not keep_axes or opt.name != self._optimizer_name:
            self._optimizer_name = opt.name
            names = self._numeric(opt)
            for row, extra in ((self.x_row, []), (self.y_row, ["(none)"])):
                row.name.blockSignals(True)
                row.name.clear()
                row.name.addItems(extra + names)
                row.name.blockSignals(False)
            self.x_row.name.setCurrentText("lr")
            second = "momentum" if "momentum" in names else \
                ("beta1" if "beta1" in names else "(none)")
            self.y_row.name.setCurrentText(second)
            self.x_row.n.setValue(DEFAULT_CELLS[0])
            self.y_row.n.setValue(DEFAULT_CELLS[1])
            self._axis_changed(self.x_row)
            self._axis_changed(self.y_row)
        self._mark_current()

    def _axis_changed(self, row: _AxisRow) -> None:
        run = self.current_run()
        name = row.name.currentText()
        if run is None or not name or name == "(none)":
            return
        row.set_range(*default_range(run.optimizer, name))

    def _mark_current(self) -> None:
        run = self.current_run()
        if run is None or not self.plot.axes:
            return
        self.plot.set_current({a.name: float(run.optimizer.hp[a.name]) for a in self.plot.axes
                               if a.name in run.optimizer.hp})

    # -- computing ------------------------------------------------------------------
    def plan(self):
        """The sweep the controls describe (raises SweepInputError)."""
        run = self.current_run()
        if run is None:
            raise SweepInputError("no run to sweep")
        x, y = self.x_row.axis(), self.y_row.axis()
        if x is None:
            raise SweepInputError("choose a hyperparameter for the x axis")
        for a in (x, y):
            if a is not None:
                check_axis(a, run.optimizer)
        start = run.start if run.start is not None else self.model.start
        return plan_sweep(self.model.function, run.optimizer, x, y, start=start,
                          steps=self.steps.value(), metric=self.metric_box.currentText())

    def compute(self) -> None:
        """Compute the map: a coarse preview first, then finer, then every cell."""
        try:
            plan = self.plan()
        except SweepInputError as exc:
            self.message.emit(f"sweep not computed: {exc}")
            return
        self.cancel()
        self._generation += 1
        generation = self._generation
        longest = max(len(v) for v in plan.values)
        strides = [s for s in (math.ceil(longest / PREVIEW_CELLS),
                               math.ceil(longest / (4 * PREVIEW_CELLS))) if s > 1]
        strides = sorted(set(strides), reverse=True) + [1]
        total = sum(plan.subset(s).cells for s in strides)

        def work(progress, cancel) -> None:
            done = 0
            for s in strides:
                sub = plan.subset(s)

                def step(d: int, _t: int, base: int = done) -> None:
                    progress(base + d, total)

                result = run_sweep_plan(sub, progress=step, cancel=cancel)
                done += sub.cells
                self.bridge.result.emit((generation, result, s == 1))

        self._start(work)

    def _start(self, work) -> None:
        self.progress.setValue(0)
        self.compute_button.setEnabled(False)
        self.tune_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.job = _Job(work, self.bridge)

    def cancel(self) -> None:
        if self.job is not None:
            self.job.stop()
            self.job.thread.join(timeout=5)
            self.job = None
            self._finished()

    def _show_progress(self, done: int, total: int) -> None:
        self.progress.setMaximum(max(total, 1))
        self.progress.setValue(done)

    def _failed(self, text: str) -> None:
        self.message.emit(text)

    def _finished(self) -> None:
        self.job = None
        self.compute_button.setEnabled(self.current_run() is not None)
        self.tune_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    def _show_result(self, payload: tuple) -> None:
        generation, result, final = payload
        if generation != self._generation:
            return
        if isinstance(result, list):  # tuning
            self._apply_tuning(result)
            return
        self._result = result
        self.draw()
        if final:
            best = result.best_cell()
            if best is not None:
                self.message.emit("sweep done: " + self.plot.readout_text(
                    best, {a.name: float(a.values[i]) for a, i in
                           zip(self.plot.axes, reversed(best), strict=True)}))

    def draw(self) -> None:
        """Show the last result for the chosen metric, with theory and marker."""
        r = self._result
        if r is None:
            return
        r.metric = self.metric_box.currentText()
        axes = [MapAxis(r.x_axis.name, r.x, r.x_axis.log)]
        if r.y_axis is not None:
            axes.append(MapAxis(r.y_axis.name, r.y, r.y_axis.log))
        title = f"{r.function.name}: {r.optimizer.spec}, {r.steps} steps"
        self.plot.set_map(r.values, axes, r.metric, r.steps, title)
        mt = map_theory(r.function, r.optimizer, [a.name for a in axes])
        if mt is None:
            self.plot.set_theory(None, None)
        else:
            self.plot.set_theory((mt.boundary_momentum, mt.boundary_lr),
                                 {"lr": mt.best_lr, "momentum": mt.best_momentum}, mt.label)
        self._mark_current()

    def _metric_changed(self, _text: str) -> None:
        if self._result is not None:
            self.draw()

    # -- clicks on the map ------------------------------------------------------------
    def _configured(self, values: dict[str, float]) -> Optimizer | None:
        run = self.current_run()
        if run is None:
            return None
        opt = run.optimizer
        hp = {p.name: opt.hp[p.name] for p in opt.declared}
        hp.update(values)
        try:
            return optimizer_kind(opt.name).create(**hp)
        except ValueError as exc:
            self.message.emit(str(exc))
            return None

    def _clicked(self, values: dict) -> None:
        # wait: the first click of a double-click is not an "add"
        self._pending_click = values
        self._click_timer.start(QApplication.doubleClickInterval())

    def _single_click(self) -> None:
        values, self._pending_click = self._pending_click, None
        if values:
            self.add_run_at(values)

    def add_run_at(self, values: dict[str, float]) -> int | None:
        """Add the configuration of a cell as a new run; returns its index."""
        opt = self._configured(values)
        if opt is None:
            return None
        name = f"{opt.name} " + ", ".join(f"{k}={v:.3g}" for k, v in values.items())
        i = self.model.add_run(opt, name=name)
        self.message.emit(f"added {name}")
        return i

    def _double_clicked(self, values: dict) -> None:
        self._click_timer.stop()
        self._pending_click = None
        self.replace_selected(values)

    def replace_selected(self, values: dict[str, float]) -> None:
        """Give the selected run the settings of a cell."""
        opt = self._configured(values)
        i = self.model.selected if 0 <= self.model.selected < len(self.model.runs) else 0
        if opt is None or not self.model.runs:
            return
        self.model.set_run_optimizer(i, opt)
        self.message.emit(f"{self.model.runs[i].name} now runs {opt.spec}")

    # -- tuning -----------------------------------------------------------------------
    def tune_runs(self) -> None:
        """Tune every run's learning rate (off the GUI thread), then set it."""
        runs = [r for r in self.model.runs if "lr" in r.optimizer.hp]
        if not runs:
            return
        self.cancel()
        self._generation += 1
        generation = self._generation
        fn, start, steps = self.model.function, self.model.start.copy(), self.steps.value()
        optimizers = [r.optimizer for r in runs]

        def work(progress, cancel) -> None:
            results = tune(fn, optimizers, steps=steps, start=start, progress=None, cancel=cancel)
            self.bridge.result.emit((generation, results, True))

        self._start(work)
        self.progress.setMaximum(0)  # busy

    def _apply_tuning(self, results: list) -> None:
        self.progress.setMaximum(1)
        self.progress.setValue(1)
        parts = []
        by_optimizer = {id(r.optimizer): r for r in results}
        for i, run in enumerate(list(self.model.runs)):
            r = by_optimizer.get(id(run.optimizer))
            if r is None:
                continue
            base = run.name.split(" (tuned")[0]
            self.model.set_run_optimizer(i, r.tuned)
            self.model.rename_run(i, f"{base} (tuned lr={r.lr:.3g})")
            parts.append(f"{base}: lr={r.lr:.3g}" + (" (grid edge)" if r.at_edge else ""))
        text = CRITERION_TEXT[DEFAULT_CRITERION].replace("median ", "").replace(
            " over the starts", " from the start")
        self.message.emit(f"tuned for the lowest {text} in {self.steps.value()} steps: "
                          + "; ".join(parts) + "; racing them")
        playback = getattr(self.main_window, "playback", None)
        if playback is not None:  # race the tuned runs from the start
            playback.reset()
            playback.set_playing(True)


class BasinsToggle(QObject):
    """The "Basins of attraction" overlay on the landscape plot."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.main_window = window
        self.model = window.model
        self.action = QAction("Basins of attraction", window)
        self.action.setCheckable(True)
        self.action.setToolTip("Colour every start point by the minimum the selected run's "
                               "optimizer reaches from it")
        self.action.toggled.connect(self._toggled)
        self.overlay = BasinsOverlay()
        self.overlay.setVisible(False)
        self.main_window.plot.getPlotItem().addItem(self.overlay, ignoreBounds=True)
        self.bridge = _Bridge()
        self.bridge.result.connect(self._show)
        self.job: _Job | None = None
        self._generation = 0
        self.result = None
        self._again = QTimer(self)
        self._again.setSingleShot(True)
        self._again.setInterval(300)
        self._again.timeout.connect(self.compute)
        for sig in (self.model.functionChanged, self.model.viewChanged, self.model.runsChanged):
            sig.connect(self._changed)
        self.model.runChanged.connect(lambda _i: self._changed())
        self.model.selectionChanged.connect(lambda _i: self._changed())
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.stop)

    def stop(self) -> None:
        """Stop a computation under way (the window is closing)."""
        if self.job is not None:
            self.job.stop()

    def _changed(self) -> None:
        if self.action.isChecked():
            self._again.start()

    def _toggled(self, on: bool) -> None:
        if on:
            self.compute()
        else:
            if self.job is not None:
                self.job.stop()
            self.overlay.setVisible(False)

    def compute(self) -> None:
        runs = self.model.runs
        if not runs:
            self.overlay.setVisible(False)
            return
        i = self.model.selected if 0 <= self.model.selected < len(runs) else 0
        opt, fn, view = runs[i].optimizer, self.model.function, self.model.view
        if self.job is not None:
            self.job.stop()
        self._generation += 1
        generation = self._generation

        def work(progress, cancel) -> None:
            res = basins(fn, opt, grid=BASIN_GRID if fn.dim == 2 else 4 * BASIN_GRID,
                         steps=BASIN_STEPS, view=view, cancel=cancel)
            self.bridge.result.emit((generation, res, True))

        self.main_window.statusBar().showMessage(f"computing the basins of {opt.spec}…", 4000)
        self.job = _Job(work, self.bridge)

    def _show(self, payload: tuple) -> None:
        generation, res, _ = payload
        if generation != self._generation or not self.action.isChecked():
            return
        self.result = res
        strip = None
        if res.y is None:
            lo, hi = self.main_window.plot.getPlotItem().getViewBox().viewRange()[1]
            strip = (lo, 0.05 * (hi - lo))
        self.overlay.set_basins(res.labels, res.x, res.y, len(res.function.minima), strip)
        self.overlay.setVisible(True)
        counts = res.counts()
        total = res.labels.size
        parts = [f"({', '.join(f'{c:.3g}' for c in m)}): {100 * counts.get(k, 0) / total:.0f}%"
                 for k, m in enumerate(res.function.minima)]
        if counts.get(-2):
            parts.append(f"diverged: {100 * counts[-2] / total:.0f}%")
        if counts.get(-1):
            parts.append(f"none: {100 * counts[-1] / total:.0f}%")
        self.main_window.statusBar().showMessage(f"basins of {res.optimizer.spec}: " + ", ".join(parts),
                                            0)


def install(window: Any) -> SweepPanel:
    """Add the Sweep dock (tabbed with the inspector) and the basins toggle to a window."""
    panel = SweepPanel(window)
    # in a scroll area: the dock never makes the window's minimum size larger
    scroll = QScrollArea()
    scroll.setWidget(panel)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    dock = window.add_dock("Sweep", scroll, Qt.DockWidgetArea.RightDockWidgetArea, "sweep_dock")
    insight = getattr(window, "step_insight", None)
    if insight is not None and getattr(insight, "dock", None) is not None:
        window.tabifyDockWidget(insight.dock, dock)
        insight.dock.raise_()
    panel.message.connect(lambda m: window.statusBar().showMessage(m, 10000))
    window.sweep_panel, window.sweep_dock = panel, dock
    window.basins = BasinsToggle(window)
    window.view_menu.addSeparator()
    window.view_menu.addAction(window.basins.action)
    window.view_menu.addAction(dock.toggleViewAction())
    return panel


__all__ = ["SweepPanel", "BasinsToggle", "install", "default_range"]
