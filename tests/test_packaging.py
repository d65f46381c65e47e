"""optsim depends on PySide6-Essentials, not the whole PySide6 (the add-ons are
~175 MB of the ~330 MB download): every Qt module optsim imports must come from
Essentials."""

import re
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def qt_modules_used() -> set[str]:
    used = set()
    for path in (ROOT / "optsim").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"PySide6\.(Qt\w+)", text))
        for names in re.findall(r"from PySide6 import ([\w, ]+)", text):
            used |= {n.strip() for n in names.split(",") if n.strip().startswith("Qt")}
    return used | {"QtSvg"}  # pyqtgraph's SVG exporter


def test_every_qt_module_used_is_in_pyside6_essentials():
    try:
        files = metadata.files("PySide6_Essentials") or []
    except metadata.PackageNotFoundError:
        pytest.skip("PySide6-Essentials is not installed as a distribution")
    shipped = {Path(str(f)).name.split(".")[0] for f in files
               if str(f).startswith("PySide6/Qt") and str(f).endswith((".so", ".pyd"))}
    used = qt_modules_used()
    assert {"QtCore", "QtGui", "QtWidgets"} <= used
    assert used <= shipped, used - shipped


def test_the_dependency_is_essentials_with_the_pin_for_old_pythons():
    tomllib = pytest.importorskip("tomllib")  # (Python 3.11+)
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    qt = [d for d in deps if d.lower().startswith("pyside6")]
    assert qt and all(d.startswith("PySide6-Essentials") for d in qt)
    assert any("<6.12" in d and "python_version < '3.12'" in d for d in qt)
