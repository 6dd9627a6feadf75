"""Small helpers shared by the asyncio tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any


async def wait_until(predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll a condition another task makes true; its truthy value, or TimeoutError."""

    async def poll() -> Any:
        while not (result := predicate()):
            await asyncio.sleep(0.02)
        return result

    return await asyncio.wait_for(poll(), timeout)
