"""Architecture checks: the engine never imports Qt, and start-up stays light."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print('\\n'.join(sys.modules))"],
        capture_output=True, text=True, check=True, cwd=ROOT,
    ).stdout
    return set(out.split())


def test_core_imports_no_qt_and_no_sympy():
    mods = _modules_after("import optsim; optsim.simulate('rosenbrock', 'adam', (0, 0), 3)")
    assert "optsim.simulation" in mods
    assert not {m for m in mods if m.startswith(("PySide6", "pyqtgraph", "sympy"))}


def test_import_linter_contract_holds():
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    res = subprocess.run([exe], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "KEPT" in res.stdout
