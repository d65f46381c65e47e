"""The window's Sweep view and basins overlay.

- **Sweep** (a dock): the selected run's optimizer swept over one or two of its
  hyperparameters or of its learning-rate schedule's parameters (other settings as
  the run has them: its schedule, clipping and gradient noise, its own or the
  Function dock's, with that seed), from the run's start, or the median over several
  starts (the run's fan, or its start and more scattered around it) and, with noise,
  over K seeds. The map appears coarse first and is refined; it is
  computed off the GUI thread with a progress bar and Cancel. Hover reads a cell
  out, a click adds that configuration as a run, a double-click gives it to the
  selected run. On a quadratic, the theory (stability boundary, optimal point) is
  drawn over it.
  "Tune learning rates" searches every run's lr (same steps, same starts, median
  final loss; each run with its schedule, clipping and noise, or every run clipped
  when "clip" is ticked), gives each run its tuned lr (in its name, so in the
  legend) and states the criterion under the landscape's title while the race lasts.
- **Basins of attraction** (View menu, a toggle): every start point of a grid over
  the view coloured by the minimum the selected run's optimizer reaches from it
  (with noise: the minimum most of K seeds reach).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QRect, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDockWidget,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..engine import Optimizer, optimizer_kind
from ..engine.hyperparams import HyperParam
from ..explore import METRICS, Cancelled, SweepInputError
from ..explore.axes import Axis
from ..explore.basins import basins
from ..explore.noise import DEFAULT_SEEDS, MAX_SEEDS, as_noise
from ..explore.runner import METRIC_LABELS
from ..explore.sweep import as_clip, check_sweep_settings, plan_sweep, run_sweep_plan
from ..explore.tune import (
    CRITERION_TEXT,
    DEFAULT_CRITERION,
    criterion_text,
    seed_range,
    tune,
    tune_starts,
)
from ..export.explore import basins_spec, sweep_title
from ..render.compute import distinct_short, suffixed_names
from ..render.explore import BasinsOverlay, MapAxis, SweepPlot
from ..schedules import Schedule

#: the first preview has at most this many values per axis; then 4x finer, then all
PREVIEW_CELLS = 32
#: a panel shorter than this folds its settings when a map is computed (the map
#: takes their room; "Settings" unfolds them)
SHORT_PANEL_PX = 640
DEFAULT_CELLS = (64, 48)
#: Pop out's window: this share of the main window's width and height, at least
#: LARGE_MIN pixels (within the screen)
LARGE_SHARE = (0.62, 0.85)
LARGE_MIN = (640, 560)
#: View > Sweep map large
LARGE_SHORTCUT = "Ctrl+M"
MAX_CELLS = 1024
BASIN_GRID = 121
BASIN_STEPS = 500


#: the most starts the window's median takes
MAX_SWEEP_STARTS = 256
#: what the tune row's clipping field suggests
DEFAULT_TUNE_CLIP = "norm=1"
#: the most seeds per start the window's median takes
MAX_WINDOW_SEEDS = min(MAX_SEEDS, 256)


def theory_key(mt: Any) -> list[tuple[str, ...]]:
    """The key to a map's theory as items, each from its full form (``mt.label``'s
    lines) to the shortest a docked map shows: the heavy ball's star "★ fastest:
    lr …, momentum …" (its rate in the tooltip), GD's lines by colour first."""
    first, *rest = mt.label.split("\n")
    if np.size(mt.boundary_momentum) > 1:  # the (lr, momentum) map: the star, the edge
        at = f"lr {mt.best_lr:.3g}, momentum {mt.best_momentum:.3g}"
        return [(first, f"★ fastest in theory: {at}", f"★ fastest: {at}"), *((r,) for r in rest)]
    return [(first, f"green dashed: fastest lr {mt.best_lr:.3g}"),
            *((r, f"grey dotted: unstable above {float(mt.boundary_lr[0]):.3g}") for r in rest)]


def run_noise(model: Any, run: Any) -> Any:
    """The gradient noise ``run`` steps with in the window: its own, else every run's
    (the Function dock's); a spec, a Gaussian σ, or 0 / "" for none."""
    return run.spec.noise or model.noise


def default_range(optimizer: Optimizer, name: str) -> tuple[float, float, bool]:
    """A sensible (lo, hi, log) for an axis over ``name`` of ``optimizer``."""
    p = next(p for p in optimizer.declared if p.name == name)
    return param_range(p, float(optimizer.hp[name]))


def schedule_params(schedule: Schedule | None) -> list[HyperParam]:
    """The numeric parameters of ``schedule`` a sweep may vary (none for a
    sequence of schedules)."""
    if schedule is None or "schedulers" in schedule.values:
        return []
    return [p for p in schedule.kind.params if p.kind in (int, float) and not p.choices
            and schedule.values.get(p.name) is not None]


def param_range(p: HyperParam, v: float) -> tuple[float, float, bool]:
    """A sensible (lo, hi, log) for an axis over ``p`` now at ``v``."""
    if p.kind is int:  # whole numbers: from the lowest allowed to a few times v
        lo = float(p.low) if p.low is not None else 0.0
        lo = lo + 1 if p.low_open else lo
        hi = max(lo + 4, 4 * v)
        if p.high is not None:
            hi = min(hi, float(p.high))
        return lo, hi, False
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
    """NAME [log] over [lo] [hi] [n] for one axis (two lines: the dock stays narrow
    enough for a 1280-pixel-wide window)."""

    changed = Signal()

    def __init__(self, optional: bool) -> None:
        super().__init__()
        lay = QGridLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setVerticalSpacing(2)
        self.name = QComboBox()
        self.name.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.name.setMinimumContentsLength(10)
        self.optional = optional
        self.lo, self.hi = QLineEdit(), QLineEdit()
        for w in (self.lo, self.hi):
            w.setMaximumWidth(80)
            w.setMinimumWidth(50)
        self.n = QSpinBox()
        self.n.setRange(2, MAX_CELLS)
        self.log = QCheckBox("log")
        for w, tip in ((self.name, "the hyperparameter on this axis"), (self.lo, "from"),
                       (self.hi, "to"), (self.n, "values"), (self.log, "log spacing")):
            w.setToolTip(tip)
        self.n.setMaximumWidth(80)
        lay.addWidget(self.name, 0, 0, 1, 2)
        lay.addWidget(self.log, 0, 2)
        lay.addWidget(self.lo, 1, 0)
        lay.addWidget(self.hi, 1, 1)
        lay.addWidget(self.n, 1, 2)
        lay.setColumnStretch(3, 1)
        self.name.currentTextChanged.connect(lambda _text: self.changed.emit())

    def param(self) -> str:
        """The chosen parameter's name ("" or "(none)": none)."""
        data = self.name.currentData()
        return data if isinstance(data, str) else self.name.currentText()

    def choose(self, name: str) -> bool:
        """Choose parameter ``name`` (False if it is not offered)."""
        i = self.name.findData(name)
        if i < 0:
            i = self.name.findText(name)
        if i >= 0:
            self.name.setCurrentIndex(i)
        return i >= 0

    def set_items(self, items: list[tuple[str, str]]) -> None:
        """The offered parameters, as (label, name), without signalling."""
        self.name.blockSignals(True)
        self.name.clear()
        for label, name in items:
            self.name.addItem(label, name)
        self.name.blockSignals(False)

    def axis(self) -> Axis | None:
        name = self.param()
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
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        # the settings scroll on their own above the map, a splitter between them: on a
        # 720-pixel-high screen the map keeps its room
        settings = QWidget()
        lay = QVBoxLayout(settings)
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
        self.starts = QSpinBox()
        self.starts.setRange(1, MAX_SWEEP_STARTS)
        self.starts.setToolTip("Starts per cell: 1 = the run's start; K > 1 = the median over "
                               "K starts (a fan's own starts, else the run's start and K − 1 "
                               "more scattered around it, the same for every cell)")
        form.addRow("Metric:", self.metric_box)
        self.seeds = QSpinBox()
        self.seeds.setRange(1, MAX_WINDOW_SEEDS)
        self.seeds.setValue(DEFAULT_SEEDS)
        self.seeds.setToolTip("With gradient noise (the Function dock's, or the run's own): "
                              "each start is run K times, with the noise of seeds S, S+1, …, "
                              "S+K−1 (S: the noise's seed), and each cell is the median over "
                              "starts × seeds; without noise, unused")
        # (a row of its own: beside steps and starts it was cut off in a 1280-wide window)
        self.seeds_label = QLabel("Seeds:")
        self.seeds_label.setToolTip(self.seeds.toolTip())
        row = QHBoxLayout()
        row.addWidget(self.steps)
        row.addWidget(QLabel("starts"))
        row.addWidget(self.starts)
        row.addStretch(1)
        form.addRow("Steps:", row)
        seeds_row = QHBoxLayout()
        seeds_row.addWidget(self.seeds)
        seeds_row.addStretch(1)
        form.addRow(self.seeds_label, seeds_row)
        lay.addLayout(form)
        # one row above the settings: Settings, Compute (Cancel and the progress while
        # computing) and Pop out; the map gets the rest of the panel
        buttons = QHBoxLayout()
        self.compute_button = QPushButton("Compute map")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        tune_row = QHBoxLayout()
        self.tune_button = QPushButton("Tune learning rates")
        self.tune_button.setToolTip("For every run: the lr with the lowest "
                                    f"{CRITERION_TEXT[DEFAULT_CRITERION]} (× seeds with "
                                    "noise; 41 values over 6 decades, the same steps and "
                                    "starts, each run with its schedule, clipping and noise), "
                                    "then race them")
        self.tune_clip = QCheckBox("clip")
        self.tune_clip.setToolTip("Tune and race every run with its gradients clipped as "
                                  "written on the right (norm=C: clip_grad_norm_, value=C: "
                                  "clip_grad_value_); unticked: each run's own clipping, "
                                  "none unless it has some")
        self.tune_clip_spec = QLineEdit(DEFAULT_TUNE_CLIP)
        self.tune_clip_spec.setMaximumWidth(90)
        self.tune_clip_spec.setToolTip(self.tune_clip.toolTip())
        tune_row.addWidget(self.tune_button)
        tune_row.addWidget(self.tune_clip)
        tune_row.addWidget(self.tune_clip_spec)
        tune_row.addStretch(1)
        lay.addLayout(tune_row)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setMinimumWidth(60)
        # (Cancel and the progress only while computing: "100%" told nothing after)
        self.cancel_button.setVisible(False)
        self.progress.setVisible(False)
        self.pop_button = QToolButton()
        self.pop_button.setText("Pop out")
        self.pop_button.setCheckable(True)
        self.pop_button.setIcon(self.style().standardIcon(
            QStyle.StandardPixmap.SP_TitleBarNormalButton))
        self.pop_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.pop_button.setToolTip("Show the map large, in a window of its own over the "
                                   "main window (again: back in its dock)")
        self.pop_button.toggled.connect(self.show_large)
        # the settings fold away (the map takes the panel: at 1280x720 it was ~170 x
        # 110 px below them); a map computed in a short panel folds them itself
        self.settings_button = QToolButton()
        self.settings_button.setText("Settings")
        self.settings_button.setCheckable(True)
        self.settings_button.setChecked(True)
        self.settings_button.setArrowType(Qt.ArrowType.DownArrow)
        self.settings_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.settings_button.setToolTip("Show or hide the sweep's settings (the map takes "
                                        "their room when they are hidden)")
        self.settings_button.toggled.connect(self.set_settings_shown)
        self.settings_button.setAutoRaise(True)
        scroll = QScrollArea()
        self.settings_scroll = scroll
        scroll.setWidget(settings)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumHeight(60)
        top = QWidget()  # Settings, Compute, Pop out; then the settings (scrolling)
        top_lay = QVBoxLayout(top)
        top_lay.setContentsMargins(0, 0, 0, 0)
        top_lay.setSpacing(2)
        buttons.setContentsMargins(2, 2, 4, 0)
        buttons.setSpacing(4)
        for w in (self.settings_button, self.compute_button, self.cancel_button):
            buttons.addWidget(w)
        buttons.addWidget(self.progress, 1)
        buttons.addStretch(0)
        buttons.addWidget(self.pop_button)
        top_lay.addLayout(buttons)
        top_lay.addWidget(scroll, 1)
        self.plot = SweepPlot(bar="horizontal")  # (the bar beside took a third of the width)
        self.plot.bar_follows_shape = True
        self.plot.compact_when_small = True  # (labels fitted to a dock; a large map in full)
        self.plot.markers_whole = True
        self.plot.setMinimumSize(240, 240)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(top)
        self.splitter.addWidget(self.plot)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.settings_pane = top
        #: the user moved the splitter: it stays where they put it
        self._user_split = False
        self.splitter.splitterMoved.connect(lambda *_: setattr(self, "_user_split", True))
        outer.addWidget(self.splitter)
        self.bridge = _Bridge()
        self.bridge.result.connect(self._show_result)
        self.bridge.progress.connect(self._show_progress)
        self.bridge.failed.connect(self._failed)
        self.bridge.finished.connect(self._finished)
        self.job: _Job | None = None
        self._generation = 0
        self._result = None
        #: settings were opened from a scenario (kept when it is saved again)
        self._restored = False
        self._pending_click: dict | None = None
        self._click_timer = QTimer(self)
        self._click_timer.setSingleShot(True)
        self._click_timer.timeout.connect(self._single_click)
        self.compute_button.clicked.connect(self.compute)
        self.cancel_button.clicked.connect(self.cancel)
        self.tune_button.clicked.connect(self.tune_runs)
        self.x_row.changed.connect(lambda: self._axis_changed(self.x_row))
        self.y_row.changed.connect(lambda: self._axis_changed(self.y_row))
        for axis_row in (self.x_row, self.y_row):
            axis_row.changed.connect(self.show_planned_axes)
            axis_row.lo.editingFinished.connect(self.show_planned_axes)
            axis_row.hi.editingFinished.connect(self.show_planned_axes)
            axis_row.n.valueChanged.connect(lambda _n: self.show_planned_axes())
            axis_row.log.toggled.connect(lambda _on: self.show_planned_axes())
        self.metric_box.currentTextChanged.connect(self._metric_changed)
        self.plot.cellClicked.connect(self._clicked)
        self.plot.cellDoubleClicked.connect(self._double_clicked)
        self.plot.hovered.connect(lambda text: self.message.emit(text) if text else None)
        self.model.selectionChanged.connect(lambda _i: self._run_changed())
        self.model.runChanged.connect(lambda _i: self._run_changed(keep_axes=True))
        self.model.runsChanged.connect(lambda: self._run_changed(keep_axes=True))
        self.model.noiseChanged.connect(lambda _why: self._run_changed(keep_axes=True))
        # the tuned race's criterion, under the landscape's title, goes when the runs,
        # the function or the noise change (not while the tuned values are set)
        self._tuned: tuple | None = None  # (the runs' state the statement is about)
        for sig in (self.model.runChanged, self.model.runsChanged, self.model.functionChanged,
                    self.model.noiseChanged):
            sig.connect(self._runs_edited)
        self._optimizer_name: Any = ""
        self._fan: tuple[int, int] = (0, 0)
        self._run_changed()
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.cancel)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        if not self._user_split:
            QTimer.singleShot(0, self._fit_split)

    def _fit_split(self) -> None:
        """The settings as tall as they need, up to 45% of the height; the map the
        rest (until the user moves the splitter between them). Folded, the settings
        leave only the Compute row above the map."""
        total = sum(self.splitter.sizes())
        if total <= 0 or (self._user_split and self.settings_scroll.isVisible()):
            return
        top = min(self.settings_pane.sizeHint().height(), int(0.45 * total))
        self.splitter.setSizes([top, total - top])

    def set_settings_shown(self, on: bool) -> None:
        """Unfold (``on``) or fold the settings above the map."""
        on = bool(on)
        if self.settings_button.isChecked() != on:
            self.settings_button.setChecked(on)  # (comes back here)
            return
        self.settings_button.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
        self.settings_scroll.setVisible(on)
        self.settings_pane.updateGeometry()
        self._fit_split()
        QTimer.singleShot(0, self._fit_split)  # (once the pane's new size hint holds)

    def attach_dock(self, dock: QDockWidget) -> None:
        """The dock this panel is in: Pop out floats it (and follows its float button)."""
        self.dock = dock
        dock.topLevelChanged.connect(self._dock_floated)

    def _dock_floated(self, floating: bool) -> None:
        for control in (self.pop_button, getattr(self, "large_action", None)):
            if control is not None:
                control.blockSignals(True)
                control.setChecked(floating)
                control.blockSignals(False)
        self.pop_button.setText("Dock" if floating else "Pop out")

    def large_geometry(self) -> QRect:
        """Where Pop out shows the map: most of the main window (the map's whole
        layout, not the dock's shortened one), inside the screen, over its centre."""
        window = self.main_window
        frame = window.frameGeometry()
        screen = window.screen().availableGeometry() if window.screen() is not None else frame
        w = min(max(int(LARGE_SHARE[0] * frame.width()), LARGE_MIN[0]), screen.width())
        h = min(max(int(LARGE_SHARE[1] * frame.height()), LARGE_MIN[1]), screen.height())
        rect = QRect(0, 0, w, h)
        rect.moveCenter(frame.center())
        rect.moveLeft(max(screen.left(), min(rect.left(), screen.right() - w + 1)))
        rect.moveTop(max(screen.top(), min(rect.top(), screen.bottom() - h + 1)))
        return rect

    def show_large(self, on: bool = True) -> None:
        """Pop out (``on``): the Sweep dock floats, large, over the main window; else
        it goes back among its tabs."""
        dock = getattr(self, "dock", None)
        if dock is None:
            return
        if on and not dock.isFloating():
            dock.setFloating(True)
            dock.setGeometry(self.large_geometry())
            dock.show()
            dock.raise_()
            dock.activateWindow()
        elif not on and dock.isFloating():
            dock.setFloating(False)
            dock.show()
            dock.raise_()
        self._dock_floated(dock.isFloating())

    def show_planned_axes(self) -> None:
        """No map yet: show the axes the controls describe, empty."""
        if self._result is not None:
            return
        try:
            axes = [a for a in (self.x_row.axis(), self.y_row.axis()) if a is not None]
        except SweepInputError:
            return
        if axes:
            self.plot.set_axes([MapAxis(a.name, a.values, a.log) for a in axes])
            self._mark_current()

    # -- the run whose optimizer is swept ----------------------------------------
    def current_run(self) -> Any:
        runs = self.model.runs
        if not runs:
            return None
        i = self.model.selected if 0 <= self.model.selected < len(runs) else 0
        return runs[i]

    def _numeric(self, opt: Optimizer) -> list[str]:
        return [p.name for p in opt.declared if p.kind is not bool]

    def _parameters(self, run: Any) -> list[tuple[str, str]]:
        """(label, name) of every parameter an axis may vary: the optimizer's numeric
        hyperparameters, then its schedule's numeric parameters."""
        items = [(n, n) for n in self._numeric(run.optimizer)]
        sch = run.schedule
        items += [(f"{p.name} ({sch.name})", p.name) for p in schedule_params(sch)
                  if p.name not in run.optimizer.hp]
        return items

    def _run_key(self, run: Any) -> tuple:
        sch = run.schedule
        return (run.optimizer.name, None if sch is None else sch.name,
                tuple(p.name for p in schedule_params(sch)))

    def _run_changed(self, keep_axes: bool = False) -> None:
        run = self.current_run()
        if run is None:
            self.run_label.setText("no run: add one in Optimizers")
            self.compute_button.setEnabled(False)
            return
        self.compute_button.setEnabled(self.job is None)
        self.run_label.setText(self.run_text(run, run_noise(self.model, run), self.model.seed))
        noisy = self.noise_of(run) is not None
        self.seeds.setEnabled(noisy)
        self.seeds_label.setEnabled(noisy)
        key = self._run_key(run)
        if not keep_axes or key != self._optimizer_name:
            self._optimizer_name = key
            items = self._parameters(run)
            names = [n for _, n in items]
            self.x_row.set_items(items)
            self.y_row.set_items([("(none)", "(none)")] + items)
            self.x_row.choose("lr")
            second = "momentum" if "momentum" in names else \
                ("beta1" if "beta1" in names else "(none)")
            self.y_row.choose(second)
            self.x_row.n.setValue(DEFAULT_CELLS[0])
            self.y_row.n.setValue(DEFAULT_CELLS[1])
            self._axis_changed(self.x_row)
            self._axis_changed(self.y_row)
        fan = (id(run), len(run.spec.starts))
        if not keep_axes or fan != self._fan:  # a new run, or its fan changed: its starts
            self._fan = fan
            self.starts.setValue(max(1, len(run.spec.starts)))
        self._mark_current()
        self.show_planned_axes()

    @staticmethod
    def run_text(run: Any, noise: Any = None, seed: int = 0) -> str:
        """The run as the sweep takes it: optimizer, schedule, clipping, noise."""
        text = f"{run.name}: {run.optimizer.spec}"
        if run.schedule is not None:
            text += f"+{run.schedule.spec}"
        if run.clip is not None:
            text += f", clipped {run.clip.spec}"
        try:
            model = as_noise(noise)
        except SweepInputError:
            model = None
        if model is not None:
            text += f", {model.spec} noise (seed {seed})"
        return text

    def noise_of(self, run: Any) -> Any:
        """The noise model ``run`` steps with (None: exact gradients)."""
        try:
            return as_noise(run_noise(self.model, run))
        except SweepInputError:
            return None

    def _setting(self, run: Any, name: str) -> tuple[HyperParam, float] | None:
        """The declaration and the run's value of parameter ``name`` (None: unknown)."""
        if name in run.optimizer.hp:
            p = next((q for q in run.optimizer.declared if q.name == name), None)
            return None if p is None else (p, float(run.optimizer.hp[name]))
        for p in schedule_params(run.schedule):
            if p.name == name:
                return p, float(run.schedule.values[name])
        return None

    def _axis_changed(self, row: _AxisRow) -> None:
        run = self.current_run()
        name = row.param()
        if run is None or not name or name == "(none)":
            return
        found = self._setting(run, name)
        if found is not None:
            row.set_range(*param_range(*found))

    def _mark_current(self) -> None:
        run = self.current_run()
        if run is None or not self.plot.axes:
            return
        current = {}
        for a in self.plot.axes:
            found = self._setting(run, a.name)
            if found is not None:
                current[a.name] = found[1]
        self.plot.set_current(current)

    def sweep_starts(self, run: Any) -> np.ndarray:
        """The starts of every cell: the run's start (1), its fan's starts (as many as
        it has), else its start and K − 1 more scattered around it (seed 0)."""
        k = self.starts.value()
        fan = run.spec.starts
        if fan and len(fan) == k:
            return np.array(fan, dtype=np.float64)
        base = run.start if run.start is not None else self.model.start
        if fan and run.start is None:
            base = np.mean(np.array(fan, dtype=np.float64), axis=0)
        base = np.asarray(base, dtype=np.float64).reshape(1, -1)
        return base if k == 1 else tune_starts(self.model.function, base, k)

    # -- the settings a scenario file keeps ------------------------------------------
    def state(self) -> dict[str, Any] | None:
        """The Sweep view's settings (the scenario's ``sweep`` object) once a map has
        been computed or settings were opened; else None (nothing to keep)."""
        if self._result is None and not self._restored:
            return None
        try:
            x, y = self.x_row.axis(), self.y_row.axis()
        except SweepInputError:
            return None
        if x is None:
            return None
        out: dict[str, Any] = {"x": x.spec}
        if y is not None:
            out["y"] = y.spec
        out.update(metric=self.metric_box.currentText(), steps=self.steps.value(),
                   starts=self.starts.value())
        run = self.current_run()
        if run is not None and self.noise_of(run) is not None:  # (seeds matter with noise)
            out["seeds"] = self.seeds.value()
        return out

    def apply_state(self, state: dict[str, Any] | None, compute: bool = True) -> bool:
        """Set the view from a scenario's ``sweep`` object (and compute the map);
        settings that do not fit the selected run are said on the status bar and
        the run's defaults kept. Returns whether they were applied."""
        self._restored = False
        if not state:  # another scenario: a map computed before is not its own
            self._result = None
            self.show_planned_axes()
            return False
        run = self.current_run()
        try:
            if run is None:
                raise SweepInputError("no run to sweep")
            # (the checks `optsim run --scenario` makes too)
            check_sweep_settings(state, run.optimizer, run.schedule)
            axes = [Axis.parse(state["x"])] + ([Axis.parse(state["y"])] if state.get("y") else [])
            metric = state.get("metric", self.metric_box.currentText())
        except SweepInputError as exc:
            self.message.emit(f"the scenario's sweep settings were not used: {exc}")
            return False
        rows = [(self.x_row, axes[0]), (self.y_row, axes[1] if len(axes) > 1 else None)]
        for row, a in rows:
            if a is None:
                row.choose("(none)")
                continue
            row.choose(a.name)  # (sets the default range first)
            row.set_range(a.lo, a.hi, a.log)
            row.n.setValue(min(a.n, MAX_CELLS))
        self.metric_box.setCurrentText(metric)
        self.steps.setValue(int(state.get("steps", self.steps.value())))
        self.starts.setValue(int(state.get("starts", self.starts.value())))
        self.seeds.setValue(int(state.get("seeds", self.seeds.value())))
        self._restored = True
        dock = getattr(self.main_window, "sweep_dock", None)
        if dock is not None:  # the settings were saved from a Sweep view in use: show it
            dock.show()
            dock.raise_()
            QTimer.singleShot(0, dock.raise_)  # (also when the window is not shown yet)
        if compute:
            self.compute()
        return True

    # -- computing ------------------------------------------------------------------
    def plan(self):
        """The sweep the controls describe (raises SweepInputError)."""
        run = self.current_run()
        if run is None:
            raise SweepInputError("no run to sweep")
        x, y = self.x_row.axis(), self.y_row.axis()
        if x is None:
            raise SweepInputError("choose a hyperparameter for the x axis")
        return plan_sweep(self.model.function, run.optimizer, x, y, start=self.sweep_starts(run),
                          steps=self.steps.value(), metric=self.metric_box.currentText(),
                          schedule=run.schedule, clip=run.clip,
                          noise=run_noise(self.model, run), seed=self.model.seed,
                          seeds=self.seeds.value())

    def compute(self) -> None:
        """Compute the map: a coarse preview first, then finer, then every cell."""
        try:
            plan = self.plan()
        except SweepInputError as exc:
            self.message.emit(f"sweep not computed: {exc}")
            return
        self.cancel()
        if self.height() < SHORT_PANEL_PX:  # (a 720-pixel-high window: the map its room)
            self.set_settings_shown(False)
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
        self._show_running(True)
        self.job = _Job(work, self.bridge)

    def _show_running(self, on: bool) -> None:
        """Cancel and the progress in Compute's place while computing."""
        self.compute_button.setVisible(not on)
        self.cancel_button.setVisible(on)
        self.progress.setVisible(on)

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
        self._show_running(False)

    def _show_result(self, payload: tuple) -> None:
        generation, result, final = payload
        if generation != self._generation:
            return
        if isinstance(result, tuple):  # tuning: (runs, results, forced clipping)
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
        # (the optimizer is on the Run line above: a title a narrow dock can show)
        title = sweep_title(r, spec=False, narrow=True)
        self.plot.set_map(r.values, axes, r.metric, r.steps, title)
        mt = r.theory()
        if mt is None:
            self.plot.set_theory(None, None)
        else:
            self.plot.set_theory((mt.boundary_momentum, mt.boundary_lr),
                                 {"lr": mt.best_lr, "momentum": mt.best_momentum}, mt.label,
                                 theory_key(mt))
        # (the full texts: a docked map shows them shortened)
        tip = [sweep_title(r), f"colour: {METRIC_LABELS.get(r.metric, r.metric)}"]
        self.plot.setToolTip("\n".join(tip + ([mt.text] if mt is not None else [])))
        self._mark_current()

    def _metric_changed(self, _text: str) -> None:
        if self._result is not None:
            self.draw()

    # -- clicks on the map ------------------------------------------------------------
    def _configured(self, values: dict[str, float]) -> tuple[Optimizer, Schedule | None] | None:
        """The selected run's optimizer and schedule with a cell's ``values`` in
        (None, said on the status bar, if they do not go together)."""
        run = self.current_run()
        if run is None:
            return None
        opt, sch = run.optimizer, run.schedule
        hp = {p.name: opt.hp[p.name] for p in opt.declared}
        own = {k: v for k, v in values.items() if k in hp}
        hp.update(own)
        try:
            new = optimizer_kind(opt.name).create(**hp)
            if sch is not None and len(own) < len(values):
                kind = sch.kind
                changed = {k: kind.param(k).validate(int(round(v)) if kind.param(k).kind is int
                                                     else float(v), kind.name)
                           for k, v in values.items() if k not in hp}
                sch = Schedule(kind, {**sch.values, **changed})
            return new, sch
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
        run, made = self.current_run(), self._configured(values)
        if made is None:
            return None
        opt, sch = made
        name = f"{opt.name} " + ", ".join(f"{k}={v:.3g}" for k, v in values.items())
        i = self.model.add_run(opt, name=name)
        if sch is not None or run.clip is not None:
            try:
                self.model.set_run_training(i, sch, run.clip)
            except ValueError as exc:
                self.message.emit(f"{name}: {exc}")
        self.message.emit(f"added {name}")
        return i

    def _double_clicked(self, values: dict) -> None:
        self._click_timer.stop()
        self._pending_click = None
        self.replace_selected(values)

    def replace_selected(self, values: dict[str, float]) -> None:
        """Give the selected run the settings of a cell."""
        made = self._configured(values)
        i = self.model.selected if 0 <= self.model.selected < len(self.model.runs) else 0
        if made is None or not self.model.runs:
            return
        opt, sch = made
        run = self.model.runs[i]
        if sch is not None and sch != run.schedule:
            try:  # the schedule first: it is checked against the new optimizer's settings
                self.model.set_run_optimizer(i, opt)
                self.model.set_run_training(i, sch, run.clip)
            except ValueError as exc:
                self.message.emit(str(exc))
                return
        else:
            self.model.set_run_optimizer(i, opt)
        self.message.emit(f"{run.name} now runs {self.run_text(self.model.runs[i])}")

    # -- tuning -----------------------------------------------------------------------
    def tune_clipping(self) -> Any:
        """The clipping the tune row asks for (None: each run's own), or raises
        SweepInputError."""
        if not self.tune_clip.isChecked():
            return None
        clip = as_clip(self.tune_clip_spec.text())
        if clip is None:
            raise SweepInputError("clip: write norm=C or value=C, or untick clip")
        return clip

    def tune_runs(self) -> None:
        """Tune every run's learning rate (off the GUI thread), then set it."""
        runs = [r for r in self.model.runs if "lr" in r.optimizer.hp]
        if not runs:
            return
        try:
            forced = self.tune_clipping()
        except SweepInputError as exc:
            self.message.emit(f"not tuned: {exc}")
            return
        self.cancel()
        self._generation += 1
        generation = self._generation
        fn, steps = self.model.function, self.steps.value()
        selected = self.current_run()
        starts = self.sweep_starts(selected if selected is not None else runs[0])
        jobs = [(r.optimizer, r.schedule, forced if forced is not None else r.clip,
                 run_noise(self.model, r)) for r in runs]
        seed, seeds = self.model.seed, self.seeds.value()

        def work(progress, cancel) -> None:
            results = []
            for k, (opt, sch, clip, noise) in enumerate(jobs):
                spec = opt if sch is None else f"{opt.spec}+{sch.spec}"
                (res,) = tune(fn, spec, steps=steps, start=starts, starts=len(starts), clip=clip,
                              noise=noise, seed=seed, seeds=seeds, cancel=cancel)
                results.append(res)
                progress(k + 1, len(jobs))
            self.bridge.result.emit((generation, (runs, results, forced), True))

        self._start(work)

    def _tuned_state(self) -> tuple:
        """What the tuned race's statement is about: the function, the noise, and
        every run's settings (a restart keeps them; an edit, a new run do not)."""
        m = self.model
        return (m.function.name, m.function.formula, repr(m.noise), m.seed,
                tuple((id(r), r.optimizer.spec, getattr(r.schedule, "spec", None),
                       getattr(r.clip, "spec", None), r.spec.noise) for r in m.runs))

    def _runs_edited(self, *_args) -> None:
        if self._tuned is not None and self._tuned_state() != self._tuned:
            self._tuned = None
            self.main_window.figure.set_caption("")

    @staticmethod
    def tuned_name(base: str, lr: float, others: Sequence[tuple[str, float]] = ()) -> str:
        """A tuned run's name: ``base (tuned lr=…)``, ``base`` shortened part-wise
        (never in a number) so that the legend shows the whole tuned value, and
        apart from the ``others`` tuned with it ((base, lr) pairs; see
        :meth:`tuned_names`)."""
        return SweepPanel.tuned_names([(base, lr), *others])[0]

    @staticmethod
    def tuned_names(runs: Sequence[tuple[str, float]]) -> list[str]:
        """The names of runs tuned together, each ``base (tuned lr=…)`` (see
        :func:`~optsim.render.compute.suffixed_names`)."""
        return suffixed_names([b for b, _ in runs], [f" (tuned lr={lr:.3g})" for _, lr in runs])

    @staticmethod
    def tune_caption(results: list, names: list[str] | None = None) -> str:
        """The tuned values (``names``: the runs', shortened) and the criterion they
        were tuned by, with the budget, clipping and noise, for a line under the
        landscape's title (the legend may leave a crowded picture)."""
        if not results:
            return ""
        r = results[0]
        noisy = [x for x in results if x.noise is not None]
        text = criterion_text(r.criterion, len(r.starts), r.seeds if noisy else 1)
        clipped = sorted({x.clip.spec for x in results if x.clip is not None})
        clip = "no clipping" if not clipped else "clipped " + " / ".join(clipped)
        if clipped and any(x.clip is None for x in results):
            clip += " (some runs)"
        noise = ""
        if noisy:
            specs = sorted({x.noise.spec for x in noisy})
            noise = f", {' / '.join(specs)} noise ({seed_range(noisy[0])})"
        values = ""
        if names:
            short = distinct_short(names, len, 16)  # (apart, never cut in a number)
            values = "Tuned lr: " + ", ".join(
                f"{n} {x.lr:.3g}" for n, x in zip(short, results, strict=True)
            ) + "; "
        return f"{values}lr tuned for the lowest {text} in {r.steps} steps, {clip}{noise}"

    def _apply_tuning(self, payload: tuple) -> None:
        runs, results, forced = payload
        self.progress.setMaximum(1)
        self.progress.setValue(1)
        parts, names, tuned = [], [], []
        self._tuned = None
        kept = [(run, r) for run, r in zip(runs, results, strict=True) if run in self.model.runs]
        new_names = self.tuned_names([(run.name.split(" (tuned")[0], r.lr) for run, r in kept])
        for (run, r), new_name in zip(kept, new_names, strict=True):
            i = self.model.runs.index(run)
            base = run.name.split(" (tuned")[0]
            self.model.set_run_optimizer(i, r.tuned)
            if forced is not None and run.clip != forced:
                self.model.set_run_training(i, run.schedule, forced)
            self.model.rename_run(i, new_name)
            clip = f", clipped {r.clip.spec}" if r.clip is not None else ""
            parts.append(f"{base}: lr={r.lr:.3g}{clip}" + (" (grid edge)" if r.at_edge else ""))
            names.append(base)
            tuned.append(r)
        caption = self.tune_caption(tuned, names)
        self.main_window.figure.set_caption(caption)
        self._tuned = self._tuned_state()
        self.message.emit("tuned " + "; ".join(parts) + f" ({self.tune_caption(tuned)}); "
                          "racing them")
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
        self.bridge.failed.connect(
            lambda text: self.main_window.statusBar().showMessage(f"basins: {text}", 10000))
        self.job: _Job | None = None
        self._generation = 0
        self.result = None
        self._again = QTimer(self)
        self._again.setSingleShot(True)
        self._again.setInterval(300)
        self._again.timeout.connect(self.compute)
        for sig in (self.model.functionChanged, self.model.viewChanged, self.model.runsChanged):
            sig.connect(self._changed)
        self.model.noiseChanged.connect(lambda _why: self._changed())
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
        run = runs[i]
        opt, fn, view = run.optimizer, self.model.function, self.model.view
        # the run as it is configured: its schedule (up to its end), clipping and noise
        schedule, clip = run.schedule, run.clip
        noise, seed = run_noise(self.model, run), self.model.seed
        panel = getattr(self.main_window, "sweep_panel", None)
        seeds = panel.seeds.value() if panel is not None else DEFAULT_SEEDS
        end = schedule.max_steps if schedule is not None else None
        steps = BASIN_STEPS if end is None else min(BASIN_STEPS, end)
        if self.job is not None:
            self.job.stop()
        self._generation += 1
        generation = self._generation

        def work(progress, cancel) -> None:
            res = basins(fn, opt, grid=BASIN_GRID if fn.dim == 2 else 4 * BASIN_GRID,
                         steps=steps, view=view, schedule=schedule, clip=clip, noise=noise,
                         seed=seed, seeds=seeds, cancel=cancel)
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
        self.main_window.statusBar().showMessage(f"basins of {basins_spec(res)}: " + ", ".join(parts),
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
    panel.attach_dock(dock)
    window.sweep_panel, window.sweep_dock = panel, dock
    window.basins = BasinsToggle(window)
    # (with noise the overlay takes the seeds box's K: computed again when it changes)
    panel.seeds.valueChanged.connect(
        lambda _k: window.basins._changed() if panel.seeds.isEnabled() else None)
    window.view_menu.addSeparator()
    window.view_menu.addAction(window.basins.action)
    window.view_menu.addAction(dock.toggleViewAction())
    # the map large: the same as the dock's Pop out (from the floating dock too)
    large = QAction("Sweep map large", window)
    large.setCheckable(True)
    large.setShortcut(QKeySequence(LARGE_SHORTCUT))
    large.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
    large.setToolTip(panel.pop_button.toolTip())
    large.toggled.connect(panel.show_large)
    panel.large_action = large
    window.view_menu.addAction(large)
    panel.pop_button.setToolTip(f"{panel.pop_button.toolTip()} ({LARGE_SHORTCUT})")
    return panel


__all__ = ["SweepPanel", "BasinsToggle", "install", "default_range"]
