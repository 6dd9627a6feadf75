"""Running core coroutines from button clicks.

A bare `ensure_future` from a slot leaves a task nobody holds (it can be garbage-collected
mid-flight) and an exception nobody sees. The runner keeps a reference until the task ends,
reports failures as a Qt signal the window shows, and cancels what is left at shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)


class TaskRunner(QObject):
    #: A user action failed: a message for the status bar.
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks: set[asyncio.Future[Any]] = set()

    def run(self, coro: Coroutine[Any, Any, Any], what: str) -> asyncio.Future[Any]:
        task = asyncio.ensure_future(coro)
        if isinstance(task, asyncio.Task):
            task.set_name(f"ui:{what}")
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._done(t, what))
        return task

    def _done(self, task: asyncio.Future[Any], what: str) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("%s failed", what, exc_info=exc)
            self.failed.emit(f"{what} failed: {exc}")

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def cancel_all(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
