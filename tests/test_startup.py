"""The window's start-up (bench/ui.py's start-up ratio): what it no longer imports or
computes before its first paint stays out, and what it defers still comes right
after, the same as if it had been done at once."""

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from optsim.gui.main_window import MainWindow

ROOT = Path(__file__).resolve().parents[1]

#: at the plot's first paint of a window built offscreen as the program builds it
#: (bench/ui.py's child), or of the program itself (optsim.gui.app.main): the
#: modules imported, and whether libm's fma was looked for
_FIRST_PAINT = """
import json, sys
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication
from optsim.gui import main_window
seen = {}
class Probe(QObject):
    def eventFilter(self, obj, ev):
        if ev.type() == QEvent.Type.Paint and not seen:
            try:
                from optsim.engine import linesearch
                seen.update(modules=sorted(sys.modules),
                            fma_found=getattr(linesearch, "_FMA", "?") is not None)
            finally:
                QApplication.instance().quit()
        return False
init = main_window.MainWindow.__init__
def probed(self, *args, **kwargs):
    init(self, *args, **kwargs)
    self.probe = Probe(self)
    self.plot.viewport().installEventFilter(self.probe)
main_window.MainWindow.__init__ = probed
if sys.argv[2] == "program":
    from optsim.gui import app
    app.main(["--settings", sys.argv[1], "--fresh"])
else:
    qapp = QApplication([])
    w = main_window.MainWindow(settings=sys.argv[1], restore=False, defer_parts=True)
    w.resize(1520, 950)
    w.show()
    qapp.exec()
print(json.dumps(seen))
"""

#: modules the window's first paint does not need, each of which once cost it
#: milliseconds: sympy (typed formulas), optsim.explore (sweeps), numpy.random (the
#: data-fitting functions' data, now written out), secrets with hashlib and OpenSSL
#: (temporary file names), the scenarios and the exporters (the File menu, after it)
NOT_AT_START = ("sympy", "scipy", "optsim.explore", "optsim.formulas", "optsim.scenarios",
                "optsim.export", "numpy.random", "secrets", "hashlib", "numpy.ma")


@pytest.mark.parametrize("how", ["window", "program"])
def test_the_first_paint_imports_none_of_the_heavy_modules(how, tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    res = subprocess.run([sys.executable, "-c", _FIRST_PAINT, str(tmp_path / "s.ini"), how],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
                         check=True)
    got = json.loads(res.stdout.strip().splitlines()[-1])
    loaded = set(got["modules"])
    assert "optsim.gui.main_window" in loaded and "optsim.datafit" in loaded
    back = sorted(m for m in loaded if m.split(".")[0] in ("sympy", "scipy")
                  or any(m == n or m.startswith(n + ".") for n in NOT_AT_START))
    assert not back, f"imported again before the first paint: {back}"
    # the C library's fma (ctypes and a search for libm) only when L-BFGS needs it
    assert not got["fma_found"]


def test_the_data_fitting_data_are_numpys_seeded_draws():
    """The data written out in optsim.datafit are default_rng(DATA_SEED)'s (and
    DATA_SEED + 1's) standard normal draws, made into the points as before."""
    from optsim import datafit

    rng = np.random.default_rng(datafit.DATA_SEED)
    xs = 1.5 + rng.standard_normal(datafit.N_POINTS)
    ys = 2.0 * xs - 1.0 + 0.8 * rng.standard_normal(datafit.N_POINTS)
    lin = datafit.DATA_FUNCTIONS[0]
    assert lin.name == "linear-regression"
    assert np.array_equal(lin.xs, xs) and np.array_equal(lin.ys, ys)
    rng = np.random.default_rng(datafit.DATA_SEED + 1)
    labels = np.where(np.arange(datafit.N_POINTS) % 2 == 0, 1.0, -1.0)
    log = datafit.DATA_FUNCTIONS[1]
    assert np.array_equal(log.xs, 0.8 * labels + 0.5 + 1.2 * rng.standard_normal(datafit.N_POINTS))
    assert np.array_equal(log.ys, labels)


def test_the_fused_multiply_add_is_found_on_first_use():
    from optsim.engine import linesearch

    a = 1.0 + 2.0**-27
    assert linesearch.fma(a, a, -1.0) == 2.0**-26 + 2.0**-54  # rounded once
    assert linesearch.fused() is linesearch._FMA is not None
    assert linesearch.add([1.0], [a], a) == [linesearch.fma(a, a, 1.0)]


def test_the_garbage_collector_rests_while_the_window_is_built(qtbot, tmp_path):
    """Paused from the start of a deferred window's construction, running again
    after its first paint (finish_start), or when the window goes unpainted."""
    from optsim.gui import app

    assert gc.isenabled()
    w = MainWindow(settings=str(tmp_path / "s.ini"), restore=False, defer_parts=True)
    qtbot.addWidget(w)
    assert not gc.isenabled()
    w.show()
    qtbot.waitExposed(w)
    app.finish_start(w)
    assert gc.isenabled()
    gc.unfreeze()
    # never shown: running again once the window is deleted
    w2 = MainWindow(settings=str(tmp_path / "s2.ini"), restore=False, defer_parts=True)
    assert not gc.isenabled()
    w2.deleteLater()
    qtbot.waitUntil(gc.isenabled, timeout=5000)
    # a window built at once (tests, tools) leaves the collector alone
    w3 = MainWindow(settings=str(tmp_path / "s3.ini"), restore=False)
    qtbot.addWidget(w3)
    assert gc.isenabled()


def test_legends_placed_once_shown_are_where_an_at_once_window_puts_them(qtbot, tmp_path):
    """A deferred window places its legends once it shows (each placing before
    was undone by the next); it places them where a window built at once does."""
    rects = []
    for defer in (True, False):
        w = MainWindow(settings=str(tmp_path / f"s{defer}.ini"), restore=False,
                       defer_parts=defer)
        qtbot.addWidget(w)
        w.resize(1280, 720)
        assert w.plot.placer.held is defer
        w.show()
        qtbot.waitExposed(w)
        assert not w.plot.placer.held
        QApplication.processEvents()
        rects.append([r.getRect() for r in w.plot.legend_rects()])
        assert rects[-1] and w.plot.placer.rects
    assert rects[0] == rects[1]


def test_an_inspector_behind_a_tab_builds_its_page_when_it_comes_to_the_front(qtbot, tmp_path):
    """In a low window the inspector is a tab behind the optimizers: Qt keeps it
    "visible", off screen, so it built a page no one saw at every start (and step);
    now its page is built when its tab comes to the front, up to date."""
    w = MainWindow(settings=str(tmp_path / "s.ini"), restore=False, defer_parts=True)
    qtbot.addWidget(w)
    w.resize(1280, 720)
    w.apply_default_layout()  # (compact: the inspector a tab behind the optimizers)
    w.show()
    qtbot.waitExposed(w)
    for _ in range(3):
        QApplication.processEvents()
    panel = w.step_insight.panel
    assert panel.isVisible() and not panel.on_screen
    assert panel.page_step is None and panel.browser.toPlainText() == ""
    w.playback.step(3)
    QApplication.processEvents()
    assert panel.page_step is None
    w.step_insight.dock.raise_()
    qtbot.waitUntil(lambda: panel.on_screen, timeout=5000)
    assert panel.page_step == w.model.shown_step == 3
    assert "step 3" in panel.browser.toPlainText()
    # while playing too: a tab brought to the front shows the shown step at once
    w.runs_dock.raise_()
    qtbot.waitUntil(lambda: not panel.on_screen, timeout=5000)
    w.playback.set_playing(True)
    w.playback.timer.stop()
    w.playback.step(2)
    QApplication.processEvents()
    assert panel.page_step == 3
    w.step_insight.dock.raise_()
    qtbot.waitUntil(lambda: panel.on_screen, timeout=5000)
    assert panel.page_step == w.model.shown_step == 5
    w.playback.set_playing(False)
