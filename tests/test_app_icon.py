"""What is not Python data, in resources/: the app icon (used as the window icon)
and the .desktop file for Linux menus, installed by the wheel."""

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication

from optsim.gui import app

ROOT = Path(__file__).resolve().parents[1]
ORANGE = QColor("#E69F00")


def _has_colour(image: QImage, colour: QColor, tol: int = 40) -> bool:
    for y in range(0, image.height(), 2):
        for x in range(0, image.width(), 2):
            c = image.pixelColor(x, y)
            if (abs(c.red() - colour.red()) + abs(c.green() - colour.green())
                    + abs(c.blue() - colour.blue())) < tol and c.alpha() > 200:
                return True
    return False


def test_the_icon_files_draw_the_icon(qapp):
    assert app.REPO_ICON == ROOT / "resources" / "optsim.svg"
    for path in (ROOT / "resources" / "optsim.svg", ROOT / "resources" / "optsim.png"):
        image = QImage(str(path))
        assert not image.isNull(), path
        image = image.scaled(64, 64)
        assert _has_colour(image, ORANGE) and _has_colour(image, QColor("#16324F"))
    icon = app.app_icon()
    assert not icon.isNull()
    assert _has_colour(icon.pixmap(48, 48).toImage(), ORANGE)


def test_the_window_gets_the_icon(qapp, monkeypatch):
    """The start-up (app.main) identifies the application: the application's icon,
    which Qt gives every window that has none of its own."""
    calls = []

    def identify(a):
        calls.append(a)
        raise SystemExit(0)

    monkeypatch.setattr(app, "identify", identify)
    with pytest.raises(SystemExit):
        app.main(["--fresh"])  # stops right after identifying, before any window exists
    assert calls == [QApplication.instance()]
    monkeypatch.undo()
    old = QApplication.windowIcon()
    try:
        app.identify(qapp)
        assert QApplication.desktopFileName() == "optsim"
        assert _has_colour(QApplication.windowIcon().pixmap(32, 32).toImage(), ORANGE)
    finally:
        QApplication.setWindowIcon(old)


def test_the_desktop_file_launches_optsim_with_its_icon():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(ROOT / "resources" / "optsim.desktop", encoding="utf-8")
    d = entry["Desktop Entry"]
    assert (d["Type"], d["Exec"], d["Icon"], d["Terminal"]) == ("Application", "optsim",
                                                               "optsim", "false")
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["scripts"]["optsim"] == "optsim.cli:main"
    data = pyproject["tool"]["setuptools"]["data-files"]
    assert data["share/applications"] == ["resources/optsim.desktop"]
    files = [f for fs in data.values() for f in fs]
    assert all((ROOT / f).is_file() for f in files)
    icons = [f for where, fs in data.items() if where.startswith("share/icons/") for f in fs]
    assert len(icons) == 2 and {Path(f).stem for f in icons} == {d["Icon"]}  # the name desktops use
    validate = shutil.which("desktop-file-validate")
    if validate is None:
        pytest.skip("desktop-file-validate is not installed")
    res = subprocess.run([validate, str(ROOT / "resources" / "optsim.desktop")],
                         capture_output=True, text=True)
    assert res.returncode == 0 and not res.stdout.strip(), res.stdout + res.stderr
