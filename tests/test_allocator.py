"""The library never changes the process's allocator by itself (#13): a sweep through
the API leaves glibc's settings alone; the ``optsim sweep`` program makes that choice."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=300, check=True).stdout


def test_api_sweep_leaves_the_allocator_alone_and_the_cli_chooses_it(tmp_path):
    out = _run("""
        import ctypes, optsim.explore.runner as r
        calls = []
        class Spy:
            def __getattr__(self, name):
                return lambda *a: calls.append((name, a))
        ctypes.CDLL = lambda *a, **k: Spy()
        import optsim
        optsim.sweep("rosenbrock", "sgd:momentum=0.9", "lr=0.0001:0.01:4", steps=5)
        print("api", len(calls), r._kept)
        from optsim.cli import main
        main(["sweep", "--function", "bowl", "--optimizer", "sgd", "--x", "lr=0.001:0.1:3",
              "--steps", "3", "--csv", CSV])
        print("cli", len(calls), r._kept)
    """.replace("CSV", repr(str(tmp_path / "s.csv"))))
    assert "api 0 False" in out, out
    assert "cli 2 True" in out, out
