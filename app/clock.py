"""Injectable time.

Everything in the core asks a `Clock` for the time instead of calling `datetime.now()`:
tests run schedules and meter values on virtual time, demos run accelerated, and the
timestamps on the wire always agree with the simulated world.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta


class Clock:
    """Real wall-clock time. Subclasses change the pace, never the interface."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """Seconds on a clock that never jumps; used for deadlines and physics steps."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    def real_seconds(self, seconds: float) -> float:
        """Wall-clock seconds that `seconds` of this clock's time take."""
        return max(0.0, seconds)

    async def wait(self, event: asyncio.Event, seconds: float) -> bool:
        """Wait for `event` at most `seconds` of this clock's time; True if it was set."""
        try:
            await asyncio.wait_for(event.wait(), self.real_seconds(seconds))
        except TimeoutError:
            return False
        return True


class AcceleratedClock(Clock):
    """Simulated time running `factor` times faster than the wall clock (demos: 1 h in 1 min)."""

    def __init__(self, factor: float, start: datetime | None = None) -> None:
        if factor <= 0:
            raise ValueError("acceleration factor must be positive")
        self.factor = factor
        self._wall0 = time.monotonic()
        self._start = start or datetime.now(UTC)

    def monotonic(self) -> float:
        return (time.monotonic() - self._wall0) * self.factor

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self.monotonic())

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(self.real_seconds(seconds))

    def real_seconds(self, seconds: float) -> float:
        return max(0.0, seconds) / self.factor


class ManualClock(Clock):
    """Time that moves only when told to: for unit tests of physics and schedules."""

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start or datetime(2026, 1, 1, tzinfo=UTC)
        self._elapsed = 0.0

    def advance(self, seconds: float) -> None:
        self._elapsed += seconds

    def monotonic(self) -> float:
        return self._elapsed

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._elapsed)

    async def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)

    def real_seconds(self, seconds: float) -> float:
        return 0.0

    async def wait(self, event: asyncio.Event, seconds: float) -> bool:
        if not event.is_set():
            await self.sleep(seconds)
        return event.is_set()


def utc_timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with millisecond precision, as OCPP recommends (at most 3 decimals)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def new_message_id() -> str:
    """A fresh id for a CALL or SEND: 36 characters, unique across connections."""
    return str(uuid.uuid4())
