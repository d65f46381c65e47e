"""Architecture checks: the import-linter contracts (layers, no Qt in the core, no
cycles) hold, no module imports the window but its entry point, and start-up stays light."""

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


def _cycles() -> list[set[str]]:
    """The strongly connected components (more than one module) of optsim's import
    graph, every import counted (lazy ones inside functions too)."""
    import grimp

    graph = grimp.build_graph("optsim")
    modules = sorted(graph.modules)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(m: str) -> None:  # Tarjan's algorithm
        index[m] = low[m] = len(index)
        stack.append(m)
        on_stack.add(m)
        for n in edges[m]:
            if n not in index:
                visit(n)
                low[m] = min(low[m], low[n])
            elif n in on_stack:
                low[m] = min(low[m], index[n])
        if low[m] == index[m]:
            comp = set()
            while True:
                n = stack.pop()
                on_stack.discard(n)
                comp.add(n)
                if n == m:
                    break
            if len(comp) > 1:
                found.append(comp)

    for m in modules:
        if m not in index:
            visit(m)
    return found


def test_no_import_cycles_between_modules():
    cycles = _cycles()
    assert not cycles, f"import cycles: {cycles}"


def test_nothing_outside_gui_imports_the_window():
    """Only the entry point may import the window's app; nothing else outside
    optsim.gui imports optsim.gui."""
    import grimp

    graph = grimp.build_graph("optsim")
    outside = [m for m in graph.modules if not m.startswith("optsim.gui")]
    bad = [(m, n) for m in outside for n in graph.find_modules_directly_imported_by(m)
           if n.startswith("optsim.gui") and (m, n) != ("optsim.cli", "optsim.gui.app")]
    assert not bad


def test_headless_export_imports_no_window_module():
    mods = _modules_after("from optsim.export import animation, image")
    assert not {m for m in mods if m.startswith("optsim.gui")}
