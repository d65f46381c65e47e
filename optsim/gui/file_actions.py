"""The window's File and Presets menus: open / save scenarios (JSON), recent files,
the course's presets with their stories, and exports (image, clipboard, animation,
CSV, JSON).

A file is read and checked completely before the window changes, so a bad file
leaves the current scenario untouched and says what is wrong in a message box.
Every export is written atomically: an unwritable path gives an error dialog and
no half-written file.
"""

from __future__ import annotations

import dataclasses
import html
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QFileDialog,
    QFrame,
    QInputDialog,
    QLabel,
    QMenu,
    QMessageBox,
    QProgressDialog,
    QScrollArea,
)

from ..export.data import write_csv
from ..runset import MAX_NOISE
from ..scenarios import (
    Scenario,
    ScenarioError,
    list_presets,
    load_preset,
    load_scenario,
    save_results_json,
    save_scenario,
)
from ..simulation import SimulationResult
from .export_dialog import (
    AnimationExportDialog,
    AnimationOptions,
    ImageExportDialog,
    ImageOptions,
    render_scaled,
    save_png,
)

if TYPE_CHECKING:
    from ..export.image import PictureRun

KEY_RECENT = "files/recent"
KEY_DIR = "files/last_dir"
MAX_RECENT = 8
#: a remembered path longer than this is ignored
MAX_PATH_CHARS = 4096
SCENARIO_FILTER = "optsim scenarios (*.json);;All files (*)"
DEFAULT_STEPS = 100


# ---------------------------------------------------------------------------
# scenario <-> model


def scenario_from_model(model, steps: int = DEFAULT_STEPS, name: str = "",
                        description: str = "") -> Scenario:
    """The model's function, view, start and runs as a (validated) scenario."""
    return model.run_set(steps, name, description).normalised()


def check_loadable(scenario: Scenario) -> Scenario:
    """The scenario validated, every run's optimizer buildable: checked before the
    model is touched (raises ScenarioError)."""
    scenario = scenario.normalised()
    for r in scenario.runs:
        r.make_optimizer()
    return scenario


def apply_scenario(window, scenario: Scenario) -> None:
    """Show ``scenario`` in the window: function, view, start, runs (at step 0), and
    the playback limit at its step count."""
    scenario = check_loadable(scenario)
    window.playback.set_playing(False)
    window.model.load_run_set(scenario)
    window.toolbar.max_steps_spin.setValue(max(scenario.steps, 1))


# ---------------------------------------------------------------------------


class FileActions(QObject):
    """The File and Presets menus of a :class:`MainWindow` (see :func:`install`)."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.path: str | None = None
        self.name = ""
        self.description = ""
        self.steps = DEFAULT_STEPS
        self.image_options = ImageOptions()
        self.animation_options = AnimationOptions()
        self._build_dock()
        self._build_menus()

    # -- building ---------------------------------------------------------------
    def _action(self, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        a = QAction(text, self.window)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        if tip:
            a.setStatusTip(tip)
        a.triggered.connect(lambda _checked=False: slot())
        return a

    def _build_menus(self) -> None:
        w = self.window
        bar = w.menuBar()
        self.file_menu = QMenu("&File", w)
        first = bar.actions()[0] if bar.actions() else None
        if first is not None:
            bar.insertMenu(first, self.file_menu)
        else:
            bar.addMenu(self.file_menu)
        self.open_action = self._action("&Open scenario…", self.open_file, QKeySequence.StandardKey.Open)
        self.save_action = self._action("&Save scenario", self.save, QKeySequence.StandardKey.Save)
        self.save_as_action = self._action("Save scenario &as…", self.save_as,
                                           QKeySequence.StandardKey.SaveAs)
        self.recent_menu = QMenu("Open &recent", w)
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self.export_menu = QMenu("&Export", w)
        self.export_image_action = self._action("&Image (PNG/SVG)…", self.export_image,
                                                tip="the plot as shown, at a chosen size")
        self.copy_image_action = self._action("&Copy image to clipboard", self.copy_image,
                                              "Ctrl+Shift+C")
        self.export_animation_action = self._action("&Animation (GIF/MP4)…", self.export_animation)
        self.export_csv_action = self._action("Data as &CSV…", self.export_csv)
        self.export_json_action = self._action("Data as &JSON…", self.export_json)
        for a in (self.export_image_action, self.copy_image_action, None,
                  self.export_animation_action, None, self.export_csv_action,
                  self.export_json_action):
            if a is None:
                self.export_menu.addSeparator()
            else:
                self.export_menu.addAction(a)
        self.file_menu.addAction(self.open_action)
        self.file_menu.addMenu(self.recent_menu)
        self.file_menu.addSeparator()
        self.file_menu.addAction(self.save_action)
        self.file_menu.addAction(self.save_as_action)
        self.file_menu.addSeparator()
        self.file_menu.addMenu(self.export_menu)
        self.presets_menu = w.add_menu("&Presets")
        self.preset_actions: dict[str, QAction] = {}
        for name in list_presets():
            try:
                title = load_preset(name).name
            except ScenarioError:
                continue
            a = self._action(f"{name} — {title}" if title else name,
                             lambda n=name: self.open_preset(n))
            self.presets_menu.addAction(a)
            self.preset_actions[name] = a
        for a in (self.open_action, self.save_action, self.save_as_action,
                  self.copy_image_action):
            w.addAction(a)
        self.noise_action = self._action("Gradient &noise…", self.ask_noise,
                                         tip="add Gaussian noise to every gradient "
                                             "(stochastic gradients)")
        if hasattr(w, "run_menu"):
            w.run_menu.addSeparator()
            w.run_menu.addAction(self.noise_action)

    def _build_dock(self) -> None:
        self.story = QLabel()
        self.story.setWordWrap(True)
        self.story.setTextFormat(Qt.TextFormat.RichText)
        self.story.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.story.setMargin(8)
        self.story.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self.story)
        self.story_dock = self.window.add_dock("Scenario", scroll,
                                               Qt.DockWidgetArea.LeftDockWidgetArea,
                                               "scenario_dock")
        self.story_dock.hide()

    # -- messages -----------------------------------------------------------------
    def error(self, title: str, message: str) -> None:
        QMessageBox.critical(self.window, title, message)

    def status(self, message: str) -> None:
        self.window.statusBar().showMessage(message, 8000)

    def _show_story(self) -> None:
        """The scenario's notes in front of their tab group; a scenario without notes
        hides them and puts back in front the tab that was there before the notes
        came (or the Inspector), not whichever tab Qt shows next (the Sweep view)."""
        dock = self.story_dock
        if self.description or self.name:
            self.story.setText(f"<b>{html.escape(self.name)}</b><p>{html.escape(self.description)}</p>")
            if dock.isHidden():  # (shown, it comes to the front: see MainWindow.add_dock)
                self._front_before_story = self._front_of_group()
                dock.show()
            else:  # new notes, in front again (the user may have looked at another tab)
                dock.raise_()
        else:
            self.story.setText("")
            in_front = dock.isVisible() and not dock.visibleRegion().isEmpty()
            group = self.window.tabifiedDockWidgets(dock)
            dock.hide()
            if in_front:
                insight = getattr(self.window, "step_insight", None)
                for d in (getattr(self, "_front_before_story", None),
                          getattr(insight, "dock", None)):
                    if d is not None and d in group and not d.isHidden():
                        d.raise_()
                        break

    def _front_of_group(self):
        """The dock in front of the tab group the notes join, the inspector's (None
        if unknown; a hidden dock has no group in Qt's eyes)."""
        insight = getattr(self.window, "step_insight", None)
        anchor = getattr(insight, "dock", None)
        if anchor is None:
            return None
        for d in [anchor, *self.window.tabifiedDockWidgets(anchor)]:
            if d.isVisible() and not d.visibleRegion().isEmpty():
                return d
        return None

    def _update_title(self) -> None:
        from .main_window import TITLE

        label = Path(self.path).name if self.path else self.name
        self.window.setWindowTitle(f"{label} — {TITLE}" if label else TITLE)

    # -- recent files ----------------------------------------------------------------
    def recent_files(self) -> list[str]:
        """The remembered files, newest first: at most :data:`MAX_RECENT`; a stored
        value of another type (a corrupt settings file) counts as none."""
        try:
            v = self.window.settings.value(KEY_RECENT, [])
        except Exception:  # noqa: BLE001 - a corrupt store must never stop the program
            return []
        if isinstance(v, str):
            v = [v] if v else []
        if not isinstance(v, (list, tuple)):
            return []
        out: list[str] = []
        for p in v:
            if isinstance(p, str) and p and "\0" not in p and len(p) <= MAX_PATH_CHARS \
                    and p not in out:
                out.append(p)
                if len(out) == MAX_RECENT:
                    break
        return out

    def _remember(self, path: str) -> None:
        p = os.path.abspath(path)
        files = [p] + [f for f in self.recent_files() if f != p]
        self.window.settings.setValue(KEY_RECENT, files[:MAX_RECENT])
        self.window.settings.setValue(KEY_DIR, os.path.dirname(p))

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        files = self.recent_files()
        for i, f in enumerate(files):
            a = self.recent_menu.addAction(f"&{i + 1} {Path(f).name}")
            a.setToolTip(f)
            a.setStatusTip(f)
            a.triggered.connect(lambda _c=False, f=f: self.open_file(f))
        if not files:
            a = self.recent_menu.addAction("(none)")
            a.setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear list", self._clear_recent)

    def _clear_recent(self) -> None:
        self.window.settings.setValue(KEY_RECENT, [])

    def _start_dir(self) -> str:
        d = self.window.settings.value(KEY_DIR, "")
        return d if isinstance(d, str) and os.path.isdir(d) else os.getcwd()

    # -- opening ----------------------------------------------------------------------
    def load(self, scenario: Scenario, path: str | None, source: str) -> bool:
        """Show ``scenario``; on any problem keep the current one and say why."""
        try:
            apply_scenario(self.window, scenario)
        except (ScenarioError, ValueError) as exc:
            self.error("Cannot open scenario", f"{source}: {exc}" if source not in str(exc)
                       else str(exc))
            return False
        # (the Sweep part, built after the first paint, is built now only if the
        # scenario turns its basins on: built before, it took the front tab)
        has_part = getattr(self.window, "has_part", lambda _part: True)
        if "basins" in scenario.overlays or has_part("sweep"):
            basins = getattr(self.window, "basins", None)
            if basins is not None:
                basins.action.setChecked("basins" in scenario.overlays)
        action = getattr(self.window, "aspect_action", None)
        if action is not None:
            action.setChecked(scenario.aspect != "free")
        self.path = path
        self.name, self.description = scenario.name, scenario.description
        self.steps = scenario.steps
        self._show_story()
        panel = getattr(self.window, "sweep_panel", None) \
            if scenario.sweep or has_part("sweep") else None
        if panel is not None:  # (after the story: a saved Sweep view is shown on top)
            panel.apply_state(dict(scenario.sweep) if scenario.sweep else None)
        self._update_title()
        self.status(f"opened {source}" + (f": {scenario.name}" if scenario.name else ""))
        return True

    def open_file(self, path: str | None = None) -> bool:
        """File > Open (a dialog when ``path`` is None)."""
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self.window, "Open scenario",
                                                  self._start_dir(), SCENARIO_FILTER)
            if not path:
                return False
        try:
            scenario = load_scenario(path)
            check_loadable(scenario)
        except ScenarioError as exc:
            msg = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
            self.error("Cannot open scenario", msg)
            return False
        if self.load(scenario, str(path), str(path)):
            self._remember(str(path))
            return True
        return False

    def open_preset(self, name: str) -> bool:
        """Presets > NAME."""
        try:
            scenario = load_preset(name)
        except ScenarioError as exc:
            self.error("Cannot open preset", str(exc))
            return False
        return self.load(scenario, None, f"preset {name}")

    # -- gradient noise ---------------------------------------------------------------------
    def ask_noise(self) -> bool:
        """Run > Gradient noise: σ (0 = none) and the seed; every run restarts."""
        m = self.window.model
        sigma, ok = QInputDialog.getDouble(
            self.window, "Gradient noise",
            "Standard deviation σ of the Gaussian noise added to every gradient\n"
            "(0 = exact gradients; every run restarts):",
            m.noise if isinstance(m.noise, float) else 0.0, 0.0, MAX_NOISE, 4)
        if not ok:
            return False
        seed, ok = QInputDialog.getInt(self.window, "Gradient noise",
                                       "Seed of the noise (the same seed, the same noise):",
                                       m.seed, 0, 2**31 - 1)
        if not ok:
            return False
        try:
            m.set_noise(sigma, seed)
        except ValueError as exc:
            self.error("Cannot set gradient noise", str(exc))
            return False
        self.status(f"gradient noise σ = {sigma:g}, seed {seed}; every run restarted"
                    if sigma > 0 else "exact gradients; every run restarted")
        return True

    # -- saving -------------------------------------------------------------------------
    def current_scenario(self) -> Scenario:
        """What the window shows, as a scenario (the step count: the shown step, or the
        loaded scenario's when nothing has run yet)."""
        m = self.window.model
        steps = m.shown_step if m.shown_step > 0 else self.steps
        scenario = scenario_from_model(m, steps, self.name, self.description)
        # the explore views as the user left them: the basins overlay, the Sweep view
        basins = getattr(self.window, "basins", None)
        panel = getattr(self.window, "sweep_panel", None)
        overlays = ("basins",) if basins is not None and basins.action.isChecked() else ()
        sweep = panel.state() if panel is not None else None
        # and x and y at one scale or each filling the plot
        action = getattr(self.window, "aspect_action", None)
        aspect = "free" if action is not None and not action.isChecked() else "equal"
        return dataclasses.replace(scenario, overlays=overlays, sweep=sweep,
                                   aspect=aspect).normalised()

    def save(self) -> bool:
        """File > Save: to the open file, else as Save As."""
        if self.path is None:
            return self.save_as()
        return self._save_to(self.path)

    def save_as(self, path: str | None = None) -> bool:
        if path is None:
            suggested = os.path.join(self._start_dir(), Path(self.path).name if self.path
                                     else "scenario.json")
            path, _ = QFileDialog.getSaveFileName(self.window, "Save scenario", suggested,
                                                  SCENARIO_FILTER)
            if not path:
                return False
        if not Path(path).suffix:
            path += ".json"
        return self._save_to(path)

    def _save_to(self, path: str) -> bool:
        try:
            save_scenario(self.current_scenario(), path)
        except (OSError, ValueError) as exc:
            self.error("Cannot save scenario", str(exc))
            return False
        self.path = path
        self._remember(path)
        self._update_title()
        self.status(f"saved {path}")
        return True

    # -- exports ---------------------------------------------------------------------------
    def _picture_runs(self) -> list[PictureRun]:
        """Visible runs up to the step each shows, with their extra points (Schedule-
        Free's x, Lookahead's slow weights): the plot as shown."""
        from ..export.image import PictureRun, trajectory_points

        m = self.window.model
        out = []
        for r in m.runs:
            if r.visible:
                k = r.displayed_step(m.shown_step)
                t = r.trajectory
                out.append(PictureRun(r.name, r.colour, t.positions[: k + 1, 0],
                                      t.losses[: k + 1, 0], trajectory_points(t, k)))
        return out

    def _overlay_state(self):
        """The step arrows and field as the window shows them (None: not installed)."""
        insight = getattr(self.window, "step_insight", None)
        overlay = getattr(insight, "overlay", None)
        return overlay.state() if overlay is not None else None

    def _shown_view(self):
        (x0, x1), (y0, y1) = self.window.plot.getPlotItem().getViewBox().viewRange()
        return (float(x0), float(x1)), (float(y0), float(y1))

    def _ask_path(self, title: str, suggested: str, filters: str) -> str | None:
        path, _ = QFileDialog.getSaveFileName(self.window, title,
                                              os.path.join(self._start_dir(), suggested), filters)
        return path or None

    def _stem(self) -> str:
        if self.path:
            return Path(self.path).stem
        return self.window.model.function.name if not self.window.model.function.is_custom \
            else "optsim"

    def _options_and_path(self, options, dialog, kept_as: str, path: str | None, title: str,
                          filters: dict[str, str]) -> tuple[Any, str] | None:
        """An export's options, asked in ``dialog()`` unless given and kept in the
        attribute ``kept_as`` for next time, then its path, asked unless given (the
        file filter by the options' format). None when either dialog is cancelled."""
        if options is None:
            dlg = dialog()
            if dlg.exec() != QDialog.DialogCode.Accepted:
                return None
            options = dlg.options()
        setattr(self, kept_as, options)
        if path is None:
            path = self._ask_path(title, f"{self._stem()}.{options.format}", filters[options.format])
        return None if path is None else (options, path)

    def export_image(self, path: str | None = None, options: ImageOptions | None = None) -> bool:
        """File > Export > Image: PNG (size × scale) or SVG of the plot as shown
        (playback pauses first: the picture is the step shown when Export was chosen,
        not one the runs reached while its dialogs were open)."""
        self.window.playback.set_playing(False)
        chosen = self._options_and_path(
            options, lambda: ImageExportDialog(self.window, self.image_options), "image_options",
            path, "Export image", {"png": "PNG image (*.png)", "svg": "SVG image (*.svg)"})
        if chosen is None:
            return False
        options, path = chosen
        runs = self._picture_runs()
        fn, view = self.window.model.function, self._shown_view()
        shown = {"overlay": self._overlay_state(), "aspect_locked": self.window.plot.aspect_locked,
                 # (a line under the title the window shows, e.g. a tuned race's criterion)
                 "caption": getattr(self.window.figure, "caption", "")}
        try:
            if options.format == "svg":
                from ..export.image import render_svg

                render_svg(path, fn, runs, options.size, options.with_history, view, **shown)
            else:
                image = render_scaled(fn, runs, options.size, options.scale,
                                      options.with_history, view, **shown)
                save_png(path, image)
        except (OSError, ValueError) as exc:
            self.error("Cannot export image", str(exc))
            return False
        self.status(f"wrote {path}")
        return True

    def copy_image(self) -> None:
        """File > Export > Copy image to clipboard: the plot exactly as on screen."""
        image = self.window.figure.grab().toImage()
        QApplication.clipboard().setImage(image)
        self.status(f"copied a {image.width()}×{image.height()} image to the clipboard")

    def export_animation(self, path: str | None = None,
                         options: AnimationOptions | None = None) -> bool:
        """File > Export > Animation: GIF or MP4 of steps 0 to the shown step, with a
        progress dialog that can cancel (then no file is written). Playback pauses
        first: the dialog's steps are those the window shows."""
        m = self.window.model
        self.window.playback.set_playing(False)
        runs = self._picture_runs()
        steps = max((len(r[2]) - 1 for r in runs), default=0)
        if steps == 0:
            self.error("Nothing to animate",
                       "No visible run has taken a step yet: run some steps first "
                       "(the animation shows steps 0 to the shown step).")
            return False
        chosen = self._options_and_path(
            options, lambda: AnimationExportDialog(steps, self.window, self.animation_options),
            "animation_options", path, "Export animation",
            {"gif": "GIF animation (*.gif)", "mp4": "MP4 video (*.mp4)"})
        if chosen is None:
            return False
        options, path = chosen
        from ..export.animation import frame_count, write_animation

        total = frame_count(steps, options.stride)
        progress = QProgressDialog("Drawing frames…", "Cancel", 0, total, self.window)
        progress.setWindowTitle("Export animation")
        progress.setWindowModality(Qt.WindowModality.WindowModal)
        progress.setMinimumDuration(0)
        progress.setValue(0)

        def report(done: int, n: int) -> bool:
            progress.setMaximum(n)
            progress.setValue(done)
            progress.setLabelText(f"Drawing frame {min(done + 1, n)} of {n}…")
            QApplication.processEvents()
            return not progress.wasCanceled()

        try:
            done = write_animation(path, m.function, runs, stride=options.stride,
                                   fps=options.fps, size=options.size,
                                   with_history=options.with_history, view=self._shown_view(),
                                   progress=report, format=options.format,
                                   aspect_locked=self.window.plot.aspect_locked,
                                   overlay=self._overlay_state())
        except (OSError, ValueError) as exc:
            self.error("Cannot export animation", str(exc))
            return False
        finally:
            progress.reset()
            progress.deleteLater()
        self.status(f"wrote {path}" if done else "animation export cancelled; nothing written")
        return done

    def _results(self) -> list[tuple[str, SimulationResult]]:
        m = self.window.model
        out = []
        for r in m.runs:
            t = r.trajectory
            k = r.displayed_step(m.shown_step)
            out.append((r.name, SimulationResult(t.positions[: k + 1, 0], t.losses[: k + 1, 0],
                                                 bool(t.diverged_step[0] >= 0
                                                      and t.diverged_step[0] <= k),
                                                 int(t.diverged_step[0]))))
        return out

    def export_csv(self, path: str | None = None) -> bool:
        """File > Export > Data as CSV: every run, steps 0 to the step it shows."""
        path = path or self._ask_path("Export data as CSV", f"{self._stem()}.csv",
                                      "CSV (*.csv)")
        if path is None:
            return False
        try:
            write_csv(path, self.window.model.function, self._results())
        except (OSError, ValueError) as exc:
            self.error("Cannot export CSV", str(exc))
            return False
        self.status(f"wrote {path}")
        return True

    def export_json(self, path: str | None = None) -> bool:
        """File > Export > Data as JSON: the scenario and every run's trajectory."""
        path = path or self._ask_path("Export data as JSON", f"{self._stem()}-data.json",
                                      "JSON (*.json)")
        if path is None:
            return False
        try:
            scenario = self.current_scenario()
            results = [res for _, res in self._results()]
            save_results_json(path, scenario, list(zip(scenario.runs, results, strict=True)))
        except (OSError, ValueError) as exc:
            self.error("Cannot export JSON", str(exc))
            return False
        self.status(f"wrote {path}")
        return True


def install(window) -> FileActions:
    """Add the File and Presets menus to ``window`` (once); returns their handler."""
    existing = getattr(window, "file_actions", None)
    if isinstance(existing, FileActions):
        return existing
    window.file_actions = FileActions(window)
    return window.file_actions


def open_from_command_line(window, scenario: str | None = None,
                           preset: str | None = None) -> bool:
    """``python main.py FILE`` / ``--preset NAME``: open it (errors in a message box)."""
    actions = install(window)
    if preset:
        return actions.open_preset(preset)
    if scenario:
        return actions.open_file(scenario)
    return True


__all__ = ["FileActions", "apply_scenario", "install", "open_from_command_line",
           "scenario_from_model"]
