"""The window's Sweep view and basins overlay (offscreen, with qtbot)."""

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

import optsim
from optsim.explore import basins, sweep


@pytest.fixture
def panel(window):
    window.model.set_function("elongated-bowl")
    window.model.replace_runs([(optsim.parse_spec("momentum:lr=0.02"), "momentum", "#E69F00", True)])
    window.sweep_dock.show()
    window.sweep_dock.setFloating(True)  # room for the whole map (the offscreen screen is small)
    window.sweep_dock.resize(600, 760)
    window.sweep_dock.raise_()
    p = window.sweep_panel
    p.steps.setValue(30)
    p.x_row.set_range(0.01, 0.3, True)
    p.x_row.n.setValue(6)
    p.y_row.set_range(0.0, 0.9, False)
    p.y_row.n.setValue(4)
    p.metric_box.setCurrentText("rate")
    return p


def _wait_map(qtbot, p):
    qtbot.waitUntil(lambda: p.job is None and p._result is not None, timeout=30000)
    qtbot.wait(50)  # the layout settles


def test_map_equals_the_api_and_marks_the_run(qtbot, panel):
    panel.compute()
    _wait_map(qtbot, panel)
    api = sweep("elongated-bowl", "momentum:lr=0.02", x="lr=0.01:0.3:6:log",
                y="momentum=0:0.9:4", start=(-1, 1), steps=30, metric="rate")
    np.testing.assert_array_equal(panel.plot.values, api.values)
    assert [a.name for a in panel.plot.axes] == ["lr", "momentum"]
    assert panel.plot.axes[0].log
    x, y = panel.plot.marker.getData()
    assert (x[0], y[0]) == pytest.approx((np.log10(0.02), 0.9))
    assert "theory" in panel.plot.note.text  # a quadratic: the heavy ball's optimum is drawn
    panel.metric_box.setCurrentText("final-loss")  # switching metrics needs no recomputation
    np.testing.assert_array_equal(panel.plot.values, api.metrics["final-loss"])


def _cell_pos(p, i, j):
    ax, ay = p.plot.axes
    vb = p.plot.plot.getViewBox()
    scene = vb.mapViewToScene(QPointF(float(ax.coords(ax.values[i])), float(ay.coords(ay.values[j]))))
    return p.plot.mapFromScene(scene)


def _double_click(widget, pos):
    """Press, release, double-click, release: what a user's double-click delivers
    (QTest's mouseDClick sends no press before it, so pyqtgraph sees no click)."""
    pos = QPointF(pos)
    at = QPointF(widget.mapToGlobal(pos.toPoint()))
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    for kind, buttons in ((QEvent.Type.MouseButtonPress, left),
                          (QEvent.Type.MouseButtonRelease, none),
                          (QEvent.Type.MouseButtonDblClick, left),
                          (QEvent.Type.MouseButtonRelease, none)):
        QApplication.sendEvent(widget, QMouseEvent(kind, pos, at, Qt.MouseButton.LeftButton,
                                                   buttons, Qt.KeyboardModifier.NoModifier))


def test_hover_click_and_double_click(qtbot, panel, window):
    panel.compute()
    _wait_map(qtbot, panel)
    pos = _cell_pos(panel, 2, 1)
    qtbot.mouseMove(panel.plot.viewport(), pos)
    qtbot.waitUntil(lambda: "lr = " in panel.plot.readout.text, timeout=3000)
    assert "momentum = 0.3" in panel.plot.readout.text
    lr = float(panel.plot.axes[0].values[2])
    qtbot.mouseClick(panel.plot.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: len(window.model.runs) == 2, timeout=3000)
    added = window.model.runs[1].optimizer
    assert added.hp["lr"] == lr and added.hp["momentum"] == pytest.approx(0.3)
    window.model.select(0)
    _double_click(panel.plot.viewport(), _cell_pos(panel, 4, 2))
    qtbot.waitUntil(lambda: window.model.runs[0].optimizer.hp["momentum"] == pytest.approx(0.6),
                    timeout=3000)
    assert window.model.runs[0].optimizer.hp["lr"] == float(panel.plot.axes[0].values[4])
    qtbot.wait(600)
    assert len(window.model.runs) == 2  # a double-click replaces; it adds nothing


def test_progressive_preview_and_cancel(qtbot, panel):
    panel.x_row.n.setValue(200)
    panel.y_row.n.setValue(3)
    panel.steps.setValue(400)
    shapes = []
    panel.bridge.result.connect(lambda payload: shapes.append(payload[1].values.shape))
    panel.compute()
    qtbot.waitUntil(lambda: bool(shapes), timeout=30000)
    assert shapes[0][1] < 200  # a coarse preview first
    panel.cancel()
    assert panel.job is None and panel.compute_button.isEnabled()
    assert not panel.cancel_button.isEnabled()


def test_bad_axis_is_a_message_not_a_crash(qtbot, panel, window):
    panel.x_row.lo.setText("abc")
    with qtbot.waitSignal(panel.message) as sig:
        panel.compute()
    assert "must be numbers" in sig.args[0]
    panel.x_row.set_range(0.5, 0.1, True)
    with qtbot.waitSignal(panel.message) as sig:
        panel.compute()
    assert "LO must be below HI" in sig.args[0]


def test_tune_learning_rates_sets_every_run(qtbot, window, panel):
    window.model.set_function("quadratic")
    window.model.replace_runs([(optsim.parse_spec("sgd"), "gd", "#E69F00", True),
                               (optsim.parse_spec("adam"), "adam", "#56B4E9", True)])
    panel.steps.setValue(20)
    panel.tune_runs()
    qtbot.waitUntil(lambda: "tuned" in window.model.runs[1].name, timeout=60000)
    from optsim.explore import tune

    expected = tune("quadratic", ["sgd", "adam"], steps=20, start=window.model.start)
    assert [r.optimizer.hp["lr"] for r in window.model.runs] == [e.lr for e in expected]
    assert window.model.runs[0].name.startswith("gd (tuned lr=")
    assert window.playback.playing  # the race is on
    window.playback.set_playing(False)


def test_basins_overlay(qtbot, window):
    window.model.set_function("himmelblau")
    window.model.replace_runs([(optsim.parse_spec("sgd:lr=0.01"), "gd", "#E69F00", True)])
    toggle = window.basins
    toggle.action.setChecked(True)
    qtbot.waitUntil(lambda: toggle.result is not None, timeout=60000)
    assert toggle.overlay.isVisible()
    api = basins("himmelblau", "sgd:lr=0.01", grid=toggle.result.labels.shape[0],
                 steps=toggle.result.steps, view=window.model.view)
    np.testing.assert_array_equal(toggle.result.labels, api.labels)
    assert "basins of sgd" in window.statusBar().currentMessage()
    toggle.action.setChecked(False)
    assert not toggle.overlay.isVisible()


def test_presets_turn_the_basins_overlay_on(qtbot, window):
    from optsim.gui import file_actions

    actions = file_actions.install(window)
    assert actions.open_preset("cubic-escape")
    toggle = window.basins
    assert toggle.action.isChecked()
    qtbot.waitUntil(lambda: toggle.result is not None, timeout=60000)
    assert toggle.result.labels.ndim == 1 and (toggle.result.labels == -2).any()
    assert actions.open_preset("momentum-speedup")
    assert not toggle.action.isChecked()


def test_one_axis_is_a_curve_with_the_run_marked(qtbot, panel):
    panel.y_row.name.setCurrentText("(none)")
    panel.metric_box.setCurrentText("final-loss")
    panel.compute()
    _wait_map(qtbot, panel)
    assert panel.plot.values.shape == (6,)
    assert panel.plot.curve.isVisible() and not panel.plot.image.isVisible()
    assert panel.plot.vlines[0].isVisible()
    assert panel.plot.vlines[0].value() == pytest.approx(np.log10(0.02))


def test_sweep_over_a_schedule_parameter(qtbot, panel, window):
    """A run with a schedule offers the schedule's numeric parameters as axes; the map
    equals the API's, the run is marked, and a click adds the cell's schedule."""
    from optsim.schedules import parse_schedule

    window.model.set_run_training(0, parse_schedule("steplr:step_size=10,gamma=0.5"))
    labels = [panel.x_row.name.itemText(i) for i in range(panel.x_row.name.count())]
    assert "gamma (steplr)" in labels and "step_size (steplr)" in labels
    assert panel.x_row.choose("gamma") and panel.y_row.choose("lr")
    panel.x_row.set_range(0.1, 0.9, False)
    panel.x_row.n.setValue(5)
    panel.y_row.set_range(0.01, 0.3, True)
    panel.y_row.n.setValue(4)
    panel.metric_box.setCurrentText("final-loss")
    panel.compute()
    _wait_map(qtbot, panel)
    api = sweep("elongated-bowl", "momentum:lr=0.02+steplr:step_size=10,gamma=0.5",
                x="gamma=0.1:0.9:5", y="lr=0.01:0.3:4:log", start=(-1, 1), steps=30)
    np.testing.assert_array_equal(panel.plot.values, api.values)
    assert "+steplr:step_size=10,gamma=0.5" in panel.plot.toolTip()
    x, y = panel.plot.marker.getData()
    assert (x[0], y[0]) == pytest.approx((0.5, np.log10(0.02)))
    i = panel.add_run_at({"gamma": 0.3, "lr": 0.05})
    new = window.model.runs[i]
    assert new.schedule.values["gamma"] == 0.3 and new.optimizer.hp["lr"] == 0.05
    assert window.model.runs[0].schedule.values["gamma"] == 0.5  # the swept run is untouched
    panel.replace_selected({"gamma": 0.7, "lr": 0.1})
    assert window.model.runs[0].schedule.values["gamma"] == 0.7


def test_median_over_several_starts(qtbot, panel, window):
    """starts = K: each cell is the median over K starts (the run's start and K − 1
    scattered around it; a fan's own starts), as the API computes it."""
    from optsim.explore.tune import tune_starts

    panel.starts.setValue(3)
    panel.compute()
    _wait_map(qtbot, panel)
    points = tune_starts(window.model.function, window.model.start[None, :], 3)
    api = sweep("elongated-bowl", "momentum:lr=0.02", x="lr=0.01:0.3:6:log",
                y="momentum=0:0.9:4", start=points, steps=30, metric="rate")
    np.testing.assert_array_equal(panel.plot.values, api.values)
    assert "median over 3 starts" in panel.plot.title.text
    window.model.set_run_fan(0, 5, 0.2)  # a fan: its own five starts, by default
    assert panel.starts.value() == 5
    np.testing.assert_array_equal(panel.sweep_starts(window.model.runs[0]),
                                  np.array(window.model.runs[0].spec.starts))
    panel.compute()
    _wait_map(qtbot, panel)
    fan = sweep("elongated-bowl", "momentum:lr=0.02", x="lr=0.01:0.3:6:log",
                y="momentum=0:0.9:4", start=window.model.runs[0].spec.starts, steps=30,
                metric="rate")
    np.testing.assert_array_equal(panel.plot.values, fan.values)


def test_tune_with_clipping(qtbot, window, panel):
    """Ticking clip tunes and races every run with that clipping (and says so);
    unticked, a run's own clipping is kept and used."""
    from optsim.explore import tune
    from optsim.gradients import parse_clip

    window.model.set_function("quadratic")
    window.model.replace_runs([(optsim.parse_spec("sgd"), "gd", "#E69F00", True),
                               (optsim.parse_spec("adam"), "adam", "#56B4E9", True)])
    panel.steps.setValue(6)
    start = window.model.start.copy()
    panel.tune_clip.setChecked(True)
    panel.tune_clip_spec.setText("value=0.5")
    with qtbot.waitSignal(panel.message, timeout=60000,
                          check_params_cb=lambda m: m.startswith("tuned")) as sig:
        panel.tune_runs()
    expected = tune("quadratic", ["sgd", "adam"], steps=6, start=start, clip="value=0.5")
    assert [r.optimizer.hp["lr"] for r in window.model.runs] == [e.lr for e in expected]
    assert all(r.clip.spec == "value=0.5" for r in window.model.runs)
    assert "clipped value=0.5" in sig.args[0]
    window.playback.set_playing(False)
    # unticked: no clipping unless a run has its own
    panel.tune_clip.setChecked(False)
    window.model.set_run_training(0, None, parse_clip("norm=0.25"))
    window.model.set_run_training(1, None, None)
    before = [r.optimizer for r in window.model.runs]  # (the grids centre on their lr)
    with qtbot.waitSignal(panel.message, timeout=60000,
                          check_params_cb=lambda m: m.startswith("tuned")):
        panel.tune_runs()
    (gd,) = tune("quadratic", before[0], steps=6, start=start, clip="norm=0.25")
    (adam,) = tune("quadratic", before[1], steps=6, start=start)
    assert window.model.runs[0].optimizer.hp["lr"] == gd.lr
    assert window.model.runs[1].optimizer.hp["lr"] == adam.lr
    assert window.model.runs[0].clip.spec == "norm=0.25" and window.model.runs[1].clip is None
    window.playback.set_playing(False)
    panel.tune_clip.setChecked(True)
    panel.tune_clip_spec.setText("max=1")
    with qtbot.waitSignal(panel.message) as sig:
        panel.tune_runs()
    assert sig.args[0].startswith("not tuned: clip must be")


def test_scenario_keeps_the_basins_overlay_and_the_sweep_view(qtbot, panel, window, tmp_path):
    """File > Save records the basins overlay and the Sweep view's settings; opening
    the file turns the overlay on and computes the same map again."""
    import json

    from optsim.gui import file_actions

    actions = file_actions.install(window)
    panel.starts.setValue(2)
    panel.compute()
    _wait_map(qtbot, panel)
    first = panel.plot.values.copy()
    window.basins.action.setChecked(True)
    path = tmp_path / "explore.json"
    assert actions.save_as(str(path))
    data = json.loads(path.read_text())
    assert data["overlays"] == ["basins"]
    assert data["sweep"] == {"x": "lr=0.01:0.3:6:log", "y": "momentum=0.0:0.9:4",
                             "metric": "rate", "steps": 30, "starts": 2}
    # another state, then the file again
    window.basins.action.setChecked(False)
    assert actions.open_preset("momentum-speedup")
    assert actions.open_file(str(path))
    assert window.basins.action.isChecked()
    assert panel.x_row.axis().spec == "lr=0.01:0.3:6:log" and panel.starts.value() == 2
    assert panel.metric_box.currentText() == "rate" and panel.steps.value() == 30
    qtbot.waitUntil(lambda: panel.job is None and panel._result is not None
                    and panel._result.values.shape == first.shape, timeout=30000)
    np.testing.assert_array_equal(panel.plot.values, first)
    # without a map computed or opened, nothing of the Sweep view is written
    window.basins.action.setChecked(False)
    assert actions.open_preset("momentum-speedup")
    assert actions.save_as(str(tmp_path / "plain.json"))
    plain = json.loads((tmp_path / "plain.json").read_text())
    assert "sweep" not in plain and "overlays" not in plain


def test_a_scenario_sweep_that_does_not_fit_is_a_message(qtbot, panel, window):
    with qtbot.waitSignal(panel.message) as sig:
        assert not panel.apply_state({"x": "gamma=0.1:0.9:5"}, compute=False)
    assert "sweep.x: momentum: unknown hyperparameter 'gamma'" in sig.args[0]
    with qtbot.waitSignal(panel.message) as sig:
        assert not panel.apply_state({"x": "lr=0.1:0.2:5", "metric": "speed"}, compute=False)
    assert "sweep.metric: unknown metric" in sig.args[0]
    # the checks `optsim run --scenario` makes too: an axis over a true/false setting
    with qtbot.waitSignal(panel.message) as sig:
        assert not panel.apply_state({"x": "nesterov=0:1:2"}, compute=False)
    assert "sweep.x: " in sig.args[0]


def test_basins_overlay_follows_the_runs_clipping(qtbot, window):
    """The overlay is the selected run as configured: with its gradient clipping."""
    from optsim.gradients import parse_clip

    window.model.set_function("himmelblau")
    window.model.replace_runs([(optsim.parse_spec("momentum:lr=0.01"), "hb", "#E69F00", True)])
    window.model.set_run_training(0, None, parse_clip("value=1"))
    toggle = window.basins
    toggle.action.setChecked(True)
    qtbot.waitUntil(lambda: toggle.result is not None, timeout=60000)
    api = basins("himmelblau", "momentum:lr=0.01", grid=toggle.result.labels.shape[0],
                 steps=toggle.result.steps, view=window.model.view, clip="value=1")
    np.testing.assert_array_equal(toggle.result.labels, api.labels)
    assert toggle.result.clip.spec == "value=1"
    assert "clipped value=1" in window.statusBar().currentMessage()
    toggle.action.setChecked(False)


def test_sweep_follows_the_windows_noise(qtbot, panel, window):
    """The Function dock's gradient noise (model and seed) is the sweep's: each cell the
    median over the seeds box's K seeds, as optsim.sweep(noise=, seed=, seeds=); the
    map's title and the Run line say so; a run's own noise comes first."""
    assert not panel.seeds.isEnabled()  # exact gradients: no seeds to choose
    window.model.set_noise("student:nu=3,sigma=0.5", seed=3)
    assert panel.seeds.isEnabled()
    assert "student:nu=3,sigma=0.5 noise (seed 3)" in panel.run_label.text()
    panel.seeds.setValue(3)
    panel.compute()
    _wait_map(qtbot, panel)
    api = sweep("elongated-bowl", "momentum:lr=0.02", x="lr=0.01:0.3:6:log",
                y="momentum=0:0.9:4", start=(-1, 1), steps=30, metric="rate",
                noise="student:nu=3,sigma=0.5", seed=3, seeds=3)
    np.testing.assert_array_equal(panel.plot.values, api.values)
    # (on lines of their own: the dock is narrow)
    assert panel.plot.title.text.split("<br>")[1:] == ["student:nu=3,sigma=0.5 noise",
                                                       "median over 3 seeds (3–5)"]
    assert panel.plot.note.text == "" or "theory" not in panel.plot.note.text  # (not exact)
    # the run's own noise
    window.model.set_run_noise(0, "gaussian:sigma=0.2")
    panel.compute()
    qtbot.waitUntil(lambda: panel.job is None and panel._result is not None
                    and panel._result.noise.spec == "gaussian:sigma=0.2", timeout=30000)
    own = sweep("elongated-bowl", "momentum:lr=0.02", x="lr=0.01:0.3:6:log",
                y="momentum=0:0.9:4", start=(-1, 1), steps=30, metric="rate",
                noise="gaussian:sigma=0.2", seed=3, seeds=3)
    np.testing.assert_array_equal(panel.plot.values, own.values)
    window.model.set_run_noise(0, "")
    window.model.set_noise(0.0, 0)
    assert not panel.seeds.isEnabled()


def _legend_texts(window):
    return [label.text for _sample, label in window.plot.legend.items]


def test_tuned_race_states_the_tuned_values_and_the_criterion(qtbot, window, panel, tmp_path):
    """After Tune learning rates (here with noise): the legend shows each run's tuned
    lr whole (a long name is wrapped, shortened only if it would not fit), and the landscape's title states the
    criterion, the budget, the clipping and the noise, until a run is changed."""
    from optsim.explore import tune

    window.model.set_function("quadratic")
    long_name = "heavy ball with a very long descriptive name"
    window.model.replace_runs([(optsim.parse_spec("sgd"), "gd", "#E69F00", True),
                               (optsim.parse_spec("momentum"), long_name, "#56B4E9", True)])
    window.model.set_noise("gaussian:sigma=0.5", seed=4)
    panel.steps.setValue(12)
    panel.seeds.setValue(3)
    start = window.model.start.copy()
    with qtbot.waitSignal(panel.message, timeout=60000,
                          check_params_cb=lambda m: m.startswith("tuned")) as sig:
        panel.tune_runs()
    window.playback.set_playing(False)
    expected = tune("quadratic", ["sgd", "momentum"], steps=12, start=start,
                    noise="gaussian:sigma=0.5", seed=4, seeds=3)
    assert [r.optimizer.hp["lr"] for r in window.model.runs] == [e.lr for e in expected]
    legend = _legend_texts(window)
    for e, text in zip(expected, legend, strict=True):
        assert text.endswith(f"(tuned lr={e.lr:.3g})"), text
    # (wrapped part-wise: the whole name fits the legend's three lines, the value too)
    assert legend[1].startswith("heavy ball") and "descriptive name" in legend[1]
    title = window.figure.title.text().replace("\n", " ")
    assert title.startswith("quadratic")  # (under the function's title)
    values = f"Tuned lr: gd {expected[0].lr:.3g}, heavy ball with… {expected[1].lr:.3g}; "
    for words in (values + "lr tuned for the lowest median final loss over 3 seeds in 12 steps",
                  "no clipping", "gaussian:sigma=0.5 noise (seeds 4–6)"):
        assert words in title, title
    assert "median final loss over 3 seeds" in sig.args[0]
    # File > Export > Image keeps the statement (under the title, as in the window)
    from optsim.gui import file_actions
    from optsim.gui.export_dialog import ImageOptions

    actions = file_actions.install(window)
    out = tmp_path / "race.svg"
    assert actions.export_image(str(out), ImageOptions("svg", (960, 720), 1, True))
    svg = out.read_text()
    assert "lr tuned for the lowest median final loss" in svg and "Tuned lr: gd" in svg
    # a run changed afterwards: the statement no longer holds, and goes
    window.model.set_run_optimizer(0, optsim.parse_spec("sgd:lr=0.3"))
    assert "lr tuned" not in window.figure.title.text()
    assert window.figure.title.text() == "quadratic:  x²"
    window.model.set_noise(0.0, 0)


def test_basins_overlay_follows_the_noise(qtbot, window):
    window.model.set_function("himmelblau")
    window.model.replace_runs([(optsim.parse_spec("sgd:lr=0.01"), "gd", "#E69F00", True)])
    window.model.set_noise(2.0, seed=1)
    window.sweep_panel.seeds.setValue(3)
    toggle = window.basins
    toggle.action.setChecked(True)
    qtbot.waitUntil(lambda: toggle.result is not None and toggle.result.noise is not None,
                    timeout=60000)
    api = basins("himmelblau", "sgd:lr=0.01", grid=toggle.result.labels.shape[0],
                 steps=toggle.result.steps, view=window.model.view, noise=2.0, seed=1, seeds=3)
    np.testing.assert_array_equal(toggle.result.labels, api.labels)
    qtbot.waitUntil(lambda: "gaussian:sigma=2 noise (the minimum most of seeds 1–3 reach)"
                    in window.statusBar().currentMessage(), timeout=5000)
    window.sweep_panel.seeds.setValue(2)  # the overlay follows the seeds box
    qtbot.waitUntil(lambda: toggle.result.seeds == 2, timeout=60000)
    toggle.action.setChecked(False)
    window.model.set_noise(0.0, 0)


def test_a_scenario_keeps_the_seeds_of_a_noisy_sweep(qtbot, panel, window):
    """With noise the Sweep view's settings keep the seeds box (and opening restores
    it); without noise they are left out (files stay as they were)."""
    panel._restored = True  # (as after a map: the settings are kept)
    assert "seeds" not in panel.state()
    window.model.set_noise(0.5, seed=2)
    panel.seeds.setValue(7)
    assert panel.state()["seeds"] == 7
    panel.seeds.setValue(3)
    assert panel.apply_state({"x": "lr=0.01:0.3:6:log", "seeds": 9}, compute=False)
    assert panel.seeds.value() == 9
    window.model.set_noise(0.0, 0)


def test_the_seeds_box_is_whole_in_a_1280_wide_window(qtbot, window):
    """At 1280x720 the docked Sweep view's settings show the steps, starts and seeds
    boxes whole (the seeds box beside starts had been cut off at the dock's edge)."""
    from PySide6.QtWidgets import QScrollArea

    window.resize(1280, 720)
    window.sweep_dock.show()
    window.sweep_dock.raise_()
    qtbot.wait(100)
    panel = window.sweep_panel
    area = next(a for a in panel.findChildren(QScrollArea) if a.widget().isAncestorOf(panel.seeds))
    width = area.viewport().width()
    for box in (panel.steps, panel.starts, panel.seeds):
        right = box.mapTo(area.viewport(), box.rect().topRight()).x()
        assert right < width, (box, right, width)
