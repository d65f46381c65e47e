"""Tests split by cost: the slow ones carry the registered ``slow`` marker, so that
``python -m pytest -m "not slow"`` leaves them out and plain ``python -m pytest`` runs them."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SLOW = {"tests/test_memory.py::test_slow_full_history_of_8_runs_x_1m_adam_steps_stays_under_1gb",
        "tests/test_gui_soak.py::test_100k_steps_with_redraws"}


def _collected(*args: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-o", "addopts=--strict-markers", "-q",
         "-p", "no:cacheprovider",
         "tests/test_memory.py", "tests/test_gui_soak.py", *args],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )
    assert out.returncode in (0, 5), out.stdout + out.stderr  # 5: nothing collected
    return {line.strip() for line in out.stdout.splitlines() if "::" in line}


def test_slow_tests_are_marked_and_left_out_by_the_quick_command():
    assert _collected("-m", "slow") == SLOW
    assert not _collected("-m", "not slow") & SLOW
    assert _collected() >= SLOW  # the README's plain command runs them


def test_the_slow_marker_is_registered():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"slow:' in text and "--strict-markers" in text
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert 'python -m pytest -m "not slow"' in readme
