"""PySide6 6.12.0 on Python 3.11 aborts the interpreter (none_dealloc) after a few
thousand Qt calls that return None; the package pins PySide6 < 6.12 there. This
makes those calls in a child process and checks it survives."""

import subprocess
import sys

CODE = """
import os
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PySide6.QtGui import QPainterPath
path = QPainterPath()
for i in range(1, 100_001):
    path.lineTo(float(i), float(i % 7))   # returns None
last = path.elementAt(path.elementCount() - 1)
print(path.elementCount(), last.x, last.y)
"""


def test_100k_none_returning_qt_calls_survive():
    proc = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, f"interpreter died ({proc.returncode}): {proc.stderr[-500:]}"
    # every call took effect: the implicit move to (0, 0), then one element per lineTo
    count, x, y = proc.stdout.split()
    assert (int(count), float(x), float(y)) == (100_001, 100_000.0, 100_000 % 7)
