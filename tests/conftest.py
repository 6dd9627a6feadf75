"""Test-wide environment, and the qasync loop every window test runs on.

Qt reads QT_QPA_PLATFORM when the QApplication is created (pytest-qt makes it), so setting it
while pytest loads this file is early enough: GUI tests render offscreen and need no display.
Export QT_QPA_PLATFORM=xcb to watch them on a real (or Xvfb) screen instead.
"""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


import asyncio
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def loop(qapp: Any) -> Iterator[asyncio.AbstractEventLoop]:
    """A qasync loop on pytest-qt's QApplication, driven with run_until_complete as the app
    does; UI actions go inside one coroutine so the loop is running when their callbacks fire."""
    import qasync

    event_loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(event_loop)
    try:
        yield event_loop
    finally:
        event_loop.close()
        asyncio.set_event_loop(None)
