"""Test-wide environment. Fixtures live in tests/fixtures_*.py, not here.

Qt reads QT_QPA_PLATFORM when the QApplication is created (pytest-qt makes it), so setting it
while pytest loads this file is early enough: GUI tests render offscreen and need no display.
Export QT_QPA_PLATFORM=xcb to watch them on a real (or Xvfb) screen instead.
"""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
