"""The 3D view: offscreen (no OpenGL) it says so in one line and the window works; on a
virtual screen (Xvfb, Mesa) its scene follows the model and its exports hold the
surface, the runs and the orbit. The Xvfb tests run in a subprocess of their own (the
test session's Qt is offscreen) and are skipped where Xvfb is not installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from optsim.cli import main

ROOT = Path(__file__).resolve().parents[1]
XVFB = shutil.which("Xvfb") and shutil.which("xvfb-run")


# -- without OpenGL ---------------------------------------------------------------------
def test_offscreen_the_dock_says_why_in_one_line_and_the_window_works(window, qtbot):
    assert window.view3d.dock is None  # nothing made at start-up
    window.view3d.action.setChecked(True)
    panel = window.view3d.panel
    assert panel is not None and panel.scene is None
    text = panel.message.text()
    assert "OpenGL" in text and "\n" not in text
    assert window.view3d.dock.isVisible()
    window.model.step_forward(3)
    assert window.model.shown_step == 3
    window.view3d.action.setChecked(False)
    assert not window.view3d.dock.isVisible()
    window.view3d.action.setChecked(True)
    assert window.view3d.dock.isVisible()


def test_cli_3d_output_without_opengl_is_one_line_and_exit_2(tmp_path, capsys):
    out = tmp_path / "s.png"
    code = main(["run", "--function", "himmelblau", "--steps", "5", "--png-3d", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "OpenGL" in err and "\n" not in err and "Traceback" not in err
    assert not out.exists()


def test_cli_orbit_alone_is_refused(tmp_path, capsys):
    assert main(["run", "--steps", "2", "--orbit"]) == 2
    assert "--orbit" in capsys.readouterr().err


# -- on a virtual screen -----------------------------------------------------------------
def _xvfb(script: str, tmp_path: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["OPTSIM_SETTINGS_ISOLATED"] = "1"
    f = tmp_path / "script.py"
    f.write_text(textwrap.dedent(script))
    return subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", sys.executable,
                           str(f)], capture_output=True, text=True, timeout=timeout, env=env,
                          cwd=tmp_path)


@pytest.mark.slow
@pytest.mark.skipif(not XVFB, reason="needs Xvfb (a virtual screen with Mesa's OpenGL)")
def test_scene_follows_the_model_on_a_virtual_screen(tmp_path):
    result = _xvfb("""
        import sys, numpy as np
        from optsim.render.qt_app import share_opengl_contexts
        share_opengl_contexts()
        from PySide6.QtWidgets import QApplication
        app = QApplication(sys.argv)
        from optsim.gui.main_window import MainWindow
        w = MainWindow(restore=False)
        w.model.set_function("himmelblau")
        w.show(); app.processEvents()
        w.view3d.action.setChecked(True); app.processEvents()
        panel = w.view3d.panel
        assert panel.problem is None, panel.problem
        w.model.step_forward(12); app.processEvents(); app.processEvents()
        scene = panel.scene
        visible = [r for r in w.model.runs if r.visible]
        assert len([p for p in scene.paths if p[0].visible()]) == len(visible)
        # each path: the run's positions up to the shown step, as segments
        for (solid, _), run in zip(scene.paths, visible):
            pos = run.trajectory.positions[:13, 0]
            want = scene.points3d(pos, run.trajectory.losses[:13, 0])
            got = solid.pos.reshape(-1, 2, 3)
            np.testing.assert_allclose(got[:, 0], want[:-1], rtol=1e-6)
            np.testing.assert_allclose(got[:, 1], want[1:], rtol=1e-6)
        balls = scene.balls.pos
        ends = np.array([scene.points3d(r.trajectory.positions[12:13, 0],
                                        r.trajectory.losses[12:13, 0])[0] for r in visible])
        np.testing.assert_allclose(balls, ends, rtol=1e-6)
        w.model.step_back(5); app.processEvents(); app.processEvents()
        assert scene.paths[0][0].pos.reshape(-1, 2, 3).shape[0] == 7
        # the surface: heights rise with the loss, log where the 2D view is log
        h = scene.heights_of(np.array([0.0, 1.0, 10.0, 100.0]))
        assert np.all(np.diff(h) >= 0) and h[-1] > h[0]
        # the keys stay the window's (the GL view takes no focus: its arrow keys would
        # turn the camera instead of stepping the runs)
        from PySide6.QtCore import Qt
        assert scene.widget.focusPolicy() == Qt.FocusPolicy.NoFocus
        img = scene.image(320, 200)
        assert img.shape == (200, 320, 4) and img[..., :3].std() > 10
        print("OK")
    """, tmp_path)
    assert "OK" in result.stdout, result.stdout + result.stderr


@pytest.mark.slow
@pytest.mark.skipif(not XVFB, reason="needs Xvfb (a virtual screen with Mesa's OpenGL)")
def test_cli_3d_picture_and_orbiting_animation_on_a_virtual_screen(tmp_path):
    result = _xvfb("""
        import sys
        from optsim.cli import main
        code = main(["run", "--function", "elongated-bowl", "--optimizer", "sgd:lr=0.05",
                     "--optimizer", "adam:lr=0.1", "--steps", "20", "--size", "640x360",
                     "--png-3d", "s.png", "--gif-3d", "s.gif", "--orbit", "--stride", "5"])
        print("EXIT", code)
    """, tmp_path)
    assert "EXIT 0" in result.stdout, result.stdout + result.stderr
    import imageio.v3 as iio
    from PIL import Image

    png = iio.imread(tmp_path / "s.png")
    assert png.shape[:2] == (360, 640)
    centre = png[90:300, 160:480, :3].astype(int)
    # the surface fills the middle (not the white background), in the landscape's colours
    assert (centre.sum(axis=2) < 700).mean() > 0.5
    # the runs' colours (Okabe-Ito orange of the first run) are drawn
    orange = np.array([230, 159, 0])
    assert (np.abs(png[..., :3].astype(int) - orange).sum(axis=2) < 60).sum() > 20
    with Image.open(tmp_path / "s.gif") as gif:
        assert gif.n_frames == 5  # steps 0, 5, 10, 15, 20
        gif.seek(0)
        first = np.asarray(gif.convert("RGB"), dtype=int)
        gif.seek(2)  # the camera turned 144°
        turned = np.asarray(gif.convert("RGB"), dtype=int)
    # the orbit turns the (elongated) surface: the frames differ well beyond the paths
    assert (np.abs(first - turned).sum(axis=2) > 60).mean() > 0.1
