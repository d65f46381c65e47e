"""Test setup: Qt renders offscreen, before any QApplication exists."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OPTSIM_SETTINGS_ISOLATED", "1")
