"""Headless pictures and atomic writes."""

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from optsim.export.image import render_png, render_svg
from optsim.files import ExportError, atomic_write, atomic_write_text
from optsim.simulation import run
from optsim.style import run_colour

ROOT = Path(__file__).resolve().parents[1]


def _runs(fn, specs, start, steps):
    out = []
    for i, spec in enumerate(specs):
        r = run(fn, spec, start, steps)
        out.append((spec, run_colour(i), r.positions, r.losses))
    return out


def _rgb(hex_colour):
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))


def _colour_counts(path):
    img = np.asarray(Image.open(path).convert("RGB")).reshape(-1, 3)
    colours, counts = np.unique(img, axis=0, return_counts=True)
    return {tuple(int(v) for v in c): int(n) for c, n in zip(colours, counts, strict=True)}


@pytest.mark.parametrize("size", [(800, 600), (1024, 1024)])
def test_png_2d_has_size_and_run_colours(tmp_path, size):
    runs = _runs("rosenbrock", ["sgd:lr=0.001", "momentum:lr=0.001", "adam:lr=0.05"],
                 (-1.5, 2.0), 200)
    path = tmp_path / "ros.png"
    render_png(path, "rosenbrock", runs, size=size)
    with Image.open(path) as img:
        assert img.size == size
    counts = _colour_counts(path)
    assert len(counts) > 500  # a heat map, not a blank canvas
    for _, colour, _, _ in runs:  # every run's exact colour is drawn (markers, lines)
        assert counts.get(_rgb(colour), 0) >= 30, colour
    assert sorted(os.listdir(tmp_path)) == ["ros.png"]


def test_png_1d_with_history(tmp_path):
    runs = _runs("cubic", ["sgd:lr=0.01", "adam:lr=0.3"], (7.0,), 40)
    path = tmp_path / "cubic.png"
    render_png(path, "cubic", runs, size=(640, 480), with_history=True)
    with Image.open(path) as img:
        assert img.size == (640, 480)
    counts = _colour_counts(path)
    for _, colour, _, _ in runs:
        assert counts.get(_rgb(colour), 0) >= 30, colour
    # mostly white background with a dark curve
    assert counts.get((255, 255, 255), 0) > 0.3 * 640 * 480


def test_diverged_run_still_renders(tmp_path):
    runs = _runs("rosenbrock", ["sgd:lr=0.01"], (-1.5, 2.0), 50)  # diverges at once
    assert not np.isfinite(runs[0][2]).all() or np.abs(runs[0][2]).max() > 100
    path = tmp_path / "d.png"
    render_png(path, "rosenbrock", runs, size=(400, 300))
    assert len(_colour_counts(path)) > 200


def test_svg_is_one_document_with_both_plots_and_unscaled_strokes(tmp_path):
    runs = _runs("rosenbrock", ["sgd:lr=0.001", "adam:lr=0.05"], (-1.5, 2.0), 60)
    path = tmp_path / "r.svg"
    render_svg(path, "rosenbrock", runs, size=(800, 600))
    assert os.listdir(tmp_path) == ["r.svg"]
    root = ET.parse(path).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg" and (root.get("width"), root.get("height")) == ("800", "600")
    plots = [g for g in root.findall(f"{ns}g") if g.get("id", "").startswith("plot")]
    assert len(plots) == 3  # the title above the landscape above the loss history
    (x0, title), (x1, top), (x2, bottom) = (
        tuple(float(v) for v in g.get("transform")[len("translate("):-1].split(","))
        for g in plots)
    assert x0 == x1 == x2 <= 8 and title == 0 and 10 < top < 80 and 300 < bottom < 600
    ids = [e.get("id") for e in root.iter() if e.get("id")]
    assert len(ids) == len(set(ids))  # the two plots' clip paths do not collide
    # strokes carry no scaling transform (viewers ignoring vector-effect stay right)
    for g in root.iter(f"{ns}g"):
        kids = list(g)
        if kids and all(k.get("vector-effect") == "non-scaling-stroke" for k in kids):
            t = g.get("transform", "")
            assert not t or t.startswith("matrix(1,0,0,1,"), t
    strokes = {g.get("stroke", "").lower() for g in root.iter(f"{ns}g")}
    for _, colour, _, _ in runs:
        assert colour.lower() in strokes
    texts = " ".join(t.text or "" for t in root.iter(f"{ns}text"))
    assert "sgd:lr=0.001" in texts and "step" in texts and "rosenbrock" in texts


def test_svg_renders_with_the_run_colours(tmp_path):
    from PySide6 import QtGui
    from PySide6.QtSvg import QSvgRenderer

    runs = _runs("bowl", ["sgd:lr=0.05", "adam:lr=0.1"], (-1.5, 1.5), 40)
    path = tmp_path / "b.svg"
    render_svg(path, "bowl", runs, size=(500, 400))
    renderer = QSvgRenderer(str(path))
    assert renderer.isValid()
    img = QtGui.QImage(500, 400, QtGui.QImage.Format.Format_RGB32)
    img.fill(QtGui.QColor("white"))
    painter = QtGui.QPainter(img)
    renderer.render(painter)
    painter.end()
    img.save(str(tmp_path / "b.png"))
    counts = _colour_counts(tmp_path / "b.png")
    assert len(counts) > 200
    for _, colour, _, _ in runs:
        assert counts.get(_rgb(colour), 0) >= 20, colour


def test_unwritable_path_raises_and_leaves_nothing(tmp_path):
    runs = _runs("bowl", ["sgd"], (-1.5, 1.5), 5)
    with pytest.raises(ExportError, match="does not exist"):
        render_png(tmp_path / "missing" / "x.png", "bowl", runs, size=(200, 200))
    with pytest.raises(ExportError, match="directory"):
        render_png(tmp_path, "bowl", runs, size=(200, 200))
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(ExportError, match="not a directory"):
        render_png(tmp_path / "file.txt" / "x.png", "bowl", runs, size=(200, 200))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


def test_bad_size_is_refused(tmp_path):
    with pytest.raises(ValueError, match="width"):
        render_png(tmp_path / "x.png", "bowl", [], size=(3, 100))
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    path = tmp_path / "out.txt"
    atomic_write_text(path, "old")

    def broken(tmp):
        Path(tmp).write_text("half")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        atomic_write(path, broken)
    assert path.read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == ["out.txt"]
    atomic_write_text(path, "new")
    assert path.read_text() == "new"
    assert (path.stat().st_mode & 0o777) == 0o666 & ~_umask()


def _umask():
    m = os.umask(0o022)
    os.umask(m)
    return m


def test_render_without_display_or_platform(tmp_path):
    """No QApplication, no DISPLAY, no QT_QPA_PLATFORM: the renderer goes offscreen."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY")}
    env["PYTHONPATH"] = str(ROOT)
    out = tmp_path / "h.png"
    code = ("import sys; from optsim.export.image import render_png; from optsim.simulation import run;"
            "r = run('bowl', 'sgd:lr=0.1', (-1.5, 1.5), 10);"
            f"render_png({str(out)!r}, 'bowl', [('sgd', '#E69F00', r.positions, r.losses)],"
            " size=(320, 240))")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # the offscreen platform's warnings are silenced
    with Image.open(out) as img:
        assert img.size == (320, 240)


def test_exported_axes_have_room_for_their_labels_and_the_steps_fit(qtbot):
    """A log colour bar's label sits beside its tick labels, not over them, and the
    loss history's step axis ends at the last step (no empty third to the right)."""
    from PySide6 import QtGui

    from optsim.export.image import _release, build_figure

    r = run("goldstein-price", "adam:lr=0.01", (0.5, 1.5), 200)
    fig = build_figure("goldstein-price", [("adam", run_colour(0), r.positions, r.losses)],
                       size=(1280, 960))
    try:
        axis = fig.loss_plot.colorbar.getAxis("right")
        assert axis.labelText == "loss (log)"
        font = axis.style["tickFont"] or axis.font()
        ticks = [label for _, label in axis._tickLevels[0]]
        widest = max(QtGui.QFontMetrics(font).horizontalAdvance(t) for t in ticks)
        label_h = axis.label.boundingRect().height()
        # tick labels, their offset and the rotated label side by side within the axis
        # (pyqtgraph counts 0.8 of the label's box: its text box overstates the height)
        assert axis.width() >= widest + axis.style["tickTextOffset"][0] + 0.8 * label_h - 1
        lo, hi = fig.history.getPlotItem().getViewBox().viewRange()[0]
        assert 200 <= hi <= 200 * 1.03 and lo <= 0
    finally:
        _release(fig)
