"""UI benchmark: frame time and start-up time of the optsim window (offscreen).

* Frames: the window with 8 runs on the elongated bowl is stepped to 10,000 steps,
  at the size it opens at on a 1600 x 1000 screen (WINDOW_SIZE; the offscreen
  platform's own screen is 800 x 600, which would leave a plot a third as wide).
  Each frame advances STEPS_PER_FRAME = 16 steps (what the top of the speed slider,
  1000 steps/s, asks of one 16 ms tick), then redraws once and paints (the pending
  paint events are processed). Median and p95 of the frame time are printed for
  each of RUNS runs (a fresh window each), and the median of the runs' p95s: this
  machine's speed drifts by half over minutes, and one run of 7 s catches one
  phase of it.
* Start-up: time from launching a fresh Python process to the first paint of the
  plot, for the optsim window and for a bare pyqtgraph window (a PlotWidget with
  one curve), each in its own subprocess, in REPEATS pairs run back to back (each
  side first in every other pair) after one warm-up each (bytecode cached as for
  an installed program). The ratio is the median of the pairs' ratios: the
  machine's speed drifts over seconds, and the two sides of a pair share it (the
  ratio of the two medians swung from 1.10 to 1.49 between consecutive runs).

Goals: p95 frame <= 16 ms; start-up <= 1.5x the bare window. The LAST line prints
the ratios (median p95 of the runs / 16 ms, window start-up / bare start-up).

With ``--views 3d,geometry,taylor`` the frames are timed with the 3D view, the Geometry
dock (the slice along the step and the edge of stability) and the Taylor overlay open;
the 3D view needs OpenGL, so run that under a virtual screen:
``xvfb-run -a python bench/ui.py --frames-only --views 3d,geometry`` (Mesa's software
OpenGL: what a machine without a graphics card draws with).

``--rows 64`` makes each of the 8 runs a fan of 64 rows (an ensemble's frame cost:
fans, mean paths, median and 10-90 % bands); ``--reference`` also times a bare
pyqtgraph window before each run, to tell the machine's load from optsim's cost.

Usage: python bench/ui.py [--steps 10000] [--runs 3] [--repeats 7] [--size 1520x950]
       [--frames-only | --startup-only] [--views 3d,geometry,taylor] [--rows K]
       [--reference]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEPS_PER_FRAME = 16
#: 95% of a 1600 x 1000 screen (the screenshot tool's), as MainWindow opens there
WINDOW_SIZE = (1520, 950)
FRAME_GOAL_MS = 16.0
STARTUP_GOAL = 1.5

# The child programs print "painted" at the first paint of the plot's viewport.
_PAINT_PROBE = """
from PySide6.QtCore import QEvent, QObject
class _Probe(QObject):
    def __init__(self, target):
        super().__init__()
        self.target = target
    def eventFilter(self, obj, ev):
        if obj is self.target and ev.type() == QEvent.Type.Paint:
            print("painted", flush=True)
            import os
            os._exit(0)
        return False
"""

BARE = _PAINT_PROBE + """
import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QApplication
app = QApplication([])
w = pg.PlotWidget()
w.plot(np.arange(100.0), np.sin(np.arange(100.0) / 10))
probe = _Probe(w.viewport())
w.viewport().installEventFilter(probe)
w.resize({}, {})
w.show()
app.exec()
""".format(*WINDOW_SIZE)

WINDOW = _PAINT_PROBE + """
import sys
from PySide6.QtWidgets import QApplication
app = QApplication([])
from optsim.gui.main_window import MainWindow
# as the program (optsim.gui.app.main) makes it: the parts not seen at the first
# paint are built just after it
w = MainWindow(settings=sys.argv[1], restore=False, defer_parts=True)
w.resize({}, {})
probe = _Probe(w.plot.viewport())
w.plot.viewport().installEventFilter(probe)
w.show()
app.exec()
""".format(*WINDOW_SIZE)


#: compiled bytecode is kept here (not in the tree), as an installed program has it
PYCACHE = os.path.join(tempfile.gettempdir(), "optsim-bench-pycache")


def time_to_paint(code: str, args: list[str]) -> float:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=ROOT, PYTHONPYCACHEPREFIX=PYCACHE)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT)
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - t0
    proc.wait(timeout=60)
    if "painted" not in line:
        raise RuntimeError(f"the child never painted: {line!r}")
    return elapsed


def bench_frames(steps: int, size: tuple[int, int] = WINDOW_SIZE, rows: int = 1,
                 views: tuple[str, ...] = ()
                 ) -> tuple[list[float], list[float], list[float], list[float]]:
    """Per frame: wall time, CPU time, one-step wall times, CPU time before the paint.
    ``views``: "3d", "geometry", "taylor" are opened first."""
    if "3d" in views and os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "xcb")  # OpenGL needs a (virtual) screen
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, ROOT)
    from PySide6.QtWidgets import QApplication

    from optsim.render.qt_app import share_opengl_contexts

    share_opengl_contexts()
    app = QApplication.instance() or QApplication([])
    from optsim.engine import OPTIMIZERS
    from optsim.gui.app import finish_start
    from optsim.gui.main_window import MainWindow

    path = os.path.join(tempfile.mkdtemp(), "bench.ini")
    w = MainWindow(settings=path, restore=False)
    w.resize(*size)
    w.show()
    app.processEvents()
    finish_start(w)  # as the program does after its first paint
    extra = [s for s in ("nesterov:lr=0.01", "adagrad:lr=0.3", "adamw:lr=0.05",
                         "ema-momentum:lr=0.05", "sgd:lr=0.005", "adam:lr=0.01")
             if s.split(":")[0] in OPTIMIZERS]
    for spec in extra[: 8 - len(w.model.runs)]:
        w.model.add_run(spec)
    assert len(w.model.runs) == 8, len(w.model.runs)
    if rows > 1:  # every run a fan of ``rows`` starts around the start point
        for i in range(8):
            w.model.set_run_fan(i, rows, 0.2)
    if "3d" in views:
        w.view3d.action.setChecked(True)
        if w.view3d.panel.problem is not None:
            raise SystemExit(f"--views 3d: {w.view3d.panel.problem}")
    if "geometry" in views:
        w.geometry_view.action.setChecked(True)
    if "taylor" in views:
        w.geometry_view.taylor.action.setChecked(True)
    c = w.playback
    c.set_max_steps(steps)
    c.stop_when_converged = False
    app.processEvents()
    # as during playback (the status table is throttled then), but frames driven here
    c.set_playing(True)
    c.timer.stop()
    times, cpu, update_cpu = [], [], []
    while w.model.shown_step < steps:
        t0, c0 = time.perf_counter(), time.thread_time()
        c.step(STEPS_PER_FRAME)  # the steps and the items' updates
        c1 = time.thread_time()
        app.processEvents()  # the paint of this frame
        times.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
        update_cpu.append(c1 - c0)
    # a Right press at the default speed: one step, from a fresh start
    c.reset()
    c.set_playing(True)
    c.timer.stop()
    single = []
    for _ in range(200):
        t0 = time.perf_counter()
        c.step(1)
        app.processEvents()
        single.append(time.perf_counter() - t0)
    w.close()
    return times, cpu, single, update_cpu


def bench_reference(steps: int, size: tuple[int, int] = WINDOW_SIZE) -> list[float]:
    """A bare pyqtgraph window of the same size, stepped the same way: 8 curves grow
    by STEPS_PER_FRAME points a frame (a random walk each) to ``steps`` points, each
    frame sets their data and paints. Its frame times, measured in the same minutes
    as optsim's, tell how loaded the machine is (the other helpers' work)."""
    import numpy as np
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    w = pg.PlotWidget()
    w.resize(*size)
    w.show()
    app.processEvents()
    rng = np.random.default_rng(0)
    walks = np.cumsum(rng.standard_normal((8, steps + 1, 2)), axis=1)
    curves = [w.plot(pen=pg.intColor(i)) for i in range(8)]
    w.getPlotItem().disableAutoRange()
    w.getPlotItem().setRange(xRange=(walks[..., 0].min(), walks[..., 0].max()),
                             yRange=(walks[..., 1].min(), walks[..., 1].max()))
    times = []
    n = 1
    while n < steps:
        n = min(steps, n + STEPS_PER_FRAME)
        t0 = time.perf_counter()
        for c, walk in zip(curves, walks, strict=True):
            c.setData(walk[:n, 0], walk[:n, 1])
        app.processEvents()
        times.append(time.perf_counter() - t0)
    w.close()
    return times


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--startup-only", action="store_true", help="skip the frame timing")
    ap.add_argument("--frames-only", action="store_true", help="skip the start-up timing")
    ap.add_argument("--size", default="x".join(map(str, WINDOW_SIZE)),
                    help="the window's size for the frames, WxH (default %(default)s)")
    ap.add_argument("--runs", type=int, default=3, help="frame runs (default %(default)s)")
    ap.add_argument("--rows", type=int, default=1,
                    help="rows of each of the 8 runs: K > 1 draws fans (default %(default)s)")
    ap.add_argument("--views", default="",
                    help="open these views for the frames: 3d, geometry, taylor (comma-separated)")
    ap.add_argument("--reference", action="store_true",
                    help="also time a bare pyqtgraph window (8 growing curves) before each "
                         "run, as a gauge of the machine's load")
    args = ap.parse_args()
    views = tuple(v.strip() for v in args.views.split(",") if v.strip())
    size = tuple(int(v) for v in args.size.lower().split("x"))
    p95s: list[float] = []
    if not args.startup_only:
        load = os.getloadavg()[0]
        where = os.environ.get("QT_QPA_PLATFORM") or ("xcb" if "3d" in views else "offscreen")
        print(f"frames: {STEPS_PER_FRAME} steps x 8 runs x {args.rows} rows a frame to step {args.steps}, window "
              f"{size[0]}x{size[1]} (step + redraw + paint, {where}); views open: "
              f"{', '.join(views) or 'none'}; load average "
              f"{load:.1f} on {os.cpu_count()} CPUs")
        for r in range(args.runs):
            if args.reference:
                ref = bench_reference(args.steps, size)
                print(f"reference {r + 1} (bare pyqtgraph, 8 curves growing {STEPS_PER_FRAME} "
                      f"points a frame): median {statistics.median(ref) * 1000:.2f} ms, p95 "
                      f"{pct(ref, 0.95) * 1000:.2f} ms; load average {os.getloadavg()[0]:.1f}")
            frames, cpu, single, update_cpu = bench_frames(args.steps, size, args.rows, views)
            med, p95 = statistics.median(frames) * 1000, pct(frames, 0.95) * 1000
            p95s.append(p95)
            print(f"run {r + 1}: frame time median {med:.2f} ms, p95 {p95:.2f} ms, max "
                  f"{max(frames) * 1000:.2f} ms; CPU time median "
                  f"{statistics.median(cpu) * 1000:.2f} ms, p95 {pct(cpu, 0.95) * 1000:.2f} ms "
                  f"(steps + item updates {statistics.median(update_cpu) * 1000:.2f}, paint "
                  f"{statistics.median(c - u for c, u in zip(cpu, update_cpu, strict=True)) * 1000:.2f}); "
                  f"one-step frames median {statistics.median(single) * 1000:.2f} ms, "
                  f"p95 {pct(single, 0.95) * 1000:.2f} ms")
        print(f"frame time p95, median of {args.runs} runs: {statistics.median(p95s):.2f} ms "
              f"(goal <= {FRAME_GOAL_MS:.0f} ms)")
        if args.frames_only:
            print(f"ratios: p95/goal {statistics.median(p95s) / FRAME_GOAL_MS:.2f}")
            return

    ini = os.path.join(tempfile.mkdtemp(), "startup.ini")
    bare, window = [], []
    time_to_paint(BARE, [])  # warm-up: bytecode compiled and cached, files in the OS cache
    time_to_paint(WINDOW, [ini])
    for k in range(args.repeats):  # pairs back to back, each starting second as often
        if k % 2:
            window.append(time_to_paint(WINDOW, [ini]))
            bare.append(time_to_paint(BARE, []))
        else:
            bare.append(time_to_paint(BARE, []))
            window.append(time_to_paint(WINDOW, [ini]))
    bare_ms = statistics.median(bare) * 1000
    window_ms = statistics.median(window) * 1000
    ratio = statistics.median(w / b for w, b in zip(window, bare, strict=True))

    print(f"start-up to first paint (median of {args.repeats}): optsim window {window_ms:.0f} ms, "
          f"bare pyqtgraph window {bare_ms:.0f} ms; median of the pairs' ratios {ratio:.2f} "
          f"(goal <= {STARTUP_GOAL}x)")
    frame_ratio = f"p95/goal {statistics.median(p95s) / FRAME_GOAL_MS:.2f}, " if p95s else ""
    print(f"ratios: {frame_ratio}start-up window/bare {ratio:.2f}")


if __name__ == "__main__":
    main()
