"""Intercept mode: hold a matching frame at one end of a connection until the tester decides.

An `Interceptor` sits on the write path (outgoing) and the read path (incoming) of every
`OcppConnection` it is attached to. A frame that matches a rule is held: the writer (or the
reader) of that connection waits while the tester releases it as is, releases an edited text
(anything, valid or not), delays it, or drops it. Nothing is faked around it: the RPC state of
both ends sees exactly what crossed the wire, so a dropped CALL times out at its sender and a
delayed answer arrives late, with the latency to show for it.

A forgotten hold must not hang a station: each held frame is released as is after
`hold_timeout` seconds (real seconds, like the delay: a tester's time, not the simulation's).

What the capture shows is the wire: an edited frame as edited, a delayed one when it went, a
dropped outgoing frame not at all; a dropped incoming frame is captured as received, with a note,
and never reaches the RPC layer.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, Protocol

from app.signals import Signal

Direction = Literal["outgoing", "incoming"]


class HoldPoint(Protocol):
    """Where a frame can be held: one end of an OcppConnection, or one leg of the proxy.

    `local_role` is the rule's side ("station", "csms", "proxy"); at the proxy "outgoing" is a
    frame from the charger (towards its CSMS) and "incoming" one towards the charger.
    """

    @property
    def local_role(self) -> str: ...
    @property
    def station_id(self) -> str: ...
    async def wait_closed(self) -> None: ...
    def answered_action(self, direction: Direction, mtype: int | None, msg_id: str | None) -> str | None: ...
DEFAULT_HOLD_TIMEOUT = 120.0
NOTE = "[intercept]"
FRAME_TYPES = {2: "CALL", 3: "CALLRESULT", 4: "CALLERROR", 5: "CALLRESULTERROR", 6: "SEND"}


@dataclass(slots=True)
class Rule:
    """Which frames to hold. None in a field matches anything.

    `side` is the end of the connection where the frame is held: "station" (an emulated station)
    or "csms" (the built-in CSMS), `direction` seen from that end; or "proxy" (a real charger
    talking through the proxy), where "outgoing" is what the charger sends.
    """

    direction: Literal["outgoing", "incoming", "both"] = "both"
    station: str | None = None
    action: str | None = None
    message_type: int | None = None
    every: bool = False  # False: the rule holds the next matching frame, then goes away
    side: Literal["station", "csms", "proxy"] = "station"

    def matches(
        self,
        side: str,
        direction: Direction,
        station: str,
        message_type: int | None,
        action: str | None,
        *,
        loose: bool = False,
    ) -> bool:
        """Whether the rule holds this frame; `loose` ignores type and action (not read yet)."""
        return (
            side == self.side
            and self.direction in ("both", direction)
            and (self.station is None or self.station == station)
            and (loose or self.message_type is None or self.message_type == message_type)
            and (loose or self.action is None or self.action == action)
        )

    def describe(self) -> str:
        """One line for a list: "every outgoing TransactionEvent CALL · any station"."""
        what = " ".join(
            p
            for p in (
                "every" if self.every else "next",
                "" if self.direction == "both" else self.direction,
                self.action or "",
                FRAME_TYPES.get(self.message_type or 0, "" if self.action else "frame"),
            )
            if p
        )
        where = self.station or "any station"
        at = {"csms": " · at the built-in CSMS", "proxy": " · at the proxy"}
        return f"{what} · {where}" + at.get(self.side, "")


class Outcome(StrEnum):
    RELEASED = "released"
    EDITED = "released edited"
    DELAYED = "delayed"
    DROPPED = "dropped"
    TIMED_OUT = "released by the hold timeout"
    GONE = "connection closed"


@dataclass(slots=True)
class Verdict:
    """What the connection does with a frame after the hold: send/deliver `text`, or nothing."""

    text: str | None
    notes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Decision:
    outcome: Outcome
    text: str | None = None
    delay: float = 0.0


@dataclass(eq=False, slots=True)
class HeldFrame:
    """One frame waiting for the tester."""

    id: int
    station: str
    side: str
    direction: Direction
    text: str
    message_type: int | None
    action: str | None
    message_id: str | None
    held_at: float  # time.monotonic()
    timeout: float
    outcome: Outcome | None = None
    _decided: asyncio.Future[_Decision] | None = None

    @property
    def remaining(self) -> float:
        """Seconds until the hold timeout releases the frame by itself."""
        return max(0.0, self.held_at + self.timeout - time.monotonic())

    @property
    def summary(self) -> str:
        kind = FRAME_TYPES.get(self.message_type or 0, "unreadable frame")
        arrow = "→" if (self.direction == "outgoing") == (self.side in ("station", "proxy")) else "←"
        return f"{self.station} {arrow} {self.action or ''} {kind}".replace("  ", " ")

    def release(self) -> None:
        self._decide(_Decision(Outcome.RELEASED))

    def release_edited(self, text: str) -> None:
        """Release `text` instead (any text: broken JSON too)."""
        self._decide(_Decision(Outcome.EDITED if text != self.text else Outcome.RELEASED, text))

    def delay(self, seconds: float, text: str | None = None) -> None:
        if seconds < 0:
            raise ValueError("a delay cannot be negative")
        self._decide(_Decision(Outcome.DELAYED, text, seconds))

    def drop(self) -> None:
        self._decide(_Decision(Outcome.DROPPED))

    @property
    def pending(self) -> bool:
        return self._decided is not None and not self._decided.done()

    def _decide(self, decision: _Decision) -> None:
        if not self.pending:
            raise RuntimeError(f"frame {self.id} is no longer held ({self.outcome or 'gone'})")
        assert self._decided is not None
        self._decided.set_result(decision)


class Interceptor:
    """Rules plus the frames held right now; one per session, attached to every connection."""

    def __init__(self, hold_timeout: float = DEFAULT_HOLD_TIMEOUT) -> None:
        self.hold_timeout = hold_timeout
        self.enabled = True
        self.rules: list[Rule] = []
        self.held: dict[int, HeldFrame] = {}
        self._ids = itertools.count(1)
        #: A frame is being held (the tester must decide).
        self.frame_held: Signal[[HeldFrame]] = Signal()
        #: A held frame went its way (its `outcome` says how).
        self.frame_decided: Signal[[HeldFrame]] = Signal()
        #: Rules were added, removed or used up; or intercept was switched on or off.
        self.rules_changed: Signal[[]] = Signal()

    @property
    def active(self) -> bool:
        return self.enabled and bool(self.rules)

    def add_rule(self, rule: Rule) -> Rule:
        self.rules.append(rule)
        self.rules_changed.emit()
        return rule

    def remove_rule(self, rule: Rule) -> None:
        if rule in self.rules:
            self.rules.remove(rule)
            self.rules_changed.emit()

    def set_enabled(self, enabled: bool) -> None:
        self.enabled = enabled
        self.rules_changed.emit()

    def release_all(self) -> None:
        for frame in list(self.held.values()):
            if frame.pending:
                frame.release()

    async def hold(
        self, conn: HoldPoint, direction: Direction, text: str, action: str | None = None
    ) -> Verdict:
        """Called by the connection for each frame; returns at once unless a rule matches."""
        if not self.active:
            return Verdict(text)
        side, station = conn.local_role, conn.station_id
        # Only rules for this end, direction and station need the frame read (a JSON parse).
        candidates = [r for r in self.rules if r.matches(side, direction, station, None, None, loose=True)]
        if not candidates:
            return Verdict(text)
        mtype, msg_id, read_action = peek_frame(text)
        if action is None:
            action = read_action or conn.answered_action(direction, mtype, msg_id)
        rule = next((r for r in candidates if r.matches(side, direction, station, mtype, action)), None)
        if rule is None:
            return Verdict(text)
        if not rule.every:
            self.remove_rule(rule)
        frame = HeldFrame(
            next(self._ids),
            conn.station_id,
            conn.local_role,
            direction,
            text,
            mtype,
            action,
            msg_id,
            time.monotonic(),
            self.hold_timeout,
        )
        frame._decided = asyncio.get_running_loop().create_future()
        self.held[frame.id] = frame
        self.frame_held.emit(frame)
        decision = _Decision(Outcome.GONE)  # unless decided: the connection's task may be cancelled
        try:
            decision = await self._wait(conn, direction, frame)
        finally:
            self.held.pop(frame.id, None)
            frame._decided.cancel()  # no-op once decided; refuses late decisions otherwise
            frame.outcome = decision.outcome
            self.frame_decided.emit(frame)
        return await self._apply(frame, decision)

    async def _wait(self, conn: HoldPoint, direction: Direction, frame: HeldFrame) -> _Decision:
        assert frame._decided is not None
        waiters: list[asyncio.Future[Any]] = [frame._decided]
        if direction == "outgoing":
            # The reader is free: a closed connection is noticed, and the frame goes nowhere.
            waiters.append(asyncio.ensure_future(conn.wait_closed()))
        try:
            done, _ = await asyncio.wait(
                waiters, timeout=frame.timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waiter in waiters[1:]:
                waiter.cancel()
        if frame._decided in done:
            return frame._decided.result()
        if done:
            return _Decision(Outcome.GONE)
        return _Decision(Outcome.TIMED_OUT)

    @staticmethod
    async def _apply(frame: HeldFrame, decision: _Decision) -> Verdict:
        held_for = time.monotonic() - frame.held_at
        text = frame.text if decision.text is None else decision.text
        note = f"{NOTE} held {held_for:.1f} s"
        if decision.outcome is Outcome.DROPPED:
            return Verdict(None, [f"{NOTE} dropped after {held_for:.1f} s: not delivered"])
        if decision.outcome is Outcome.GONE:
            return Verdict(None, [f"{NOTE} the connection closed while the frame was held"])
        if decision.outcome is Outcome.DELAYED:
            await asyncio.sleep(decision.delay)
            note = f"{NOTE} held {held_for:.1f} s, then delayed {decision.delay:g} s"
        elif decision.outcome is Outcome.TIMED_OUT:
            note = f"{NOTE} released as is by the {frame.timeout:g} s hold timeout"
        notes = [note]
        if text != frame.text:
            notes.append(f"{NOTE} edited by the tester")
        return Verdict(text, notes)


def peek_frame(text: str) -> tuple[int | None, str | None, str | None]:
    """Type, id and action of a frame, as far as they can be read (broken frames are held too)."""
    with contextlib.suppress(ValueError, TypeError, IndexError, KeyError):
        data = json.loads(text)
        if isinstance(data, list) and data and isinstance(data[0], int) and not isinstance(data[0], bool):
            mtype = data[0]
            msg_id = data[1] if len(data) > 1 and isinstance(data[1], str) else None
            action = data[2] if mtype in (2, 6) and len(data) > 2 and isinstance(data[2], str) else None
            return mtype, msg_id, action
    return None, None, None

