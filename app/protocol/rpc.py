"""One side of one OCPP-J connection, sans I/O: text in, decisions out.

The endpoint owns the RPC rules of Part 4: one outstanding CALL per direction (later calls
wait in a queue), per-call deadlines, id bookkeeping, schema validation against the
negotiated version, and the answer the spec expects to every kind of bad input. It never
touches a socket; `app/transport/connection.py` feeds it text and sends what it returns.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

from app.clock import new_message_id
from app.protocol import schemas
from app.protocol.errors import (
    MessageTypeNotSupported,
    NotImplementedOcpp,
    OcppError,
    RpcFrameworkError,
    error_from_code,
)
from app.protocol.frames import (
    Call,
    CallError,
    CallResult,
    CallResultError,
    Frame,
    FrameError,
    MessageType,
    Send,
    parse,
    serialize,
)
from app.protocol.schemas import Kind, OcppVersion, Problem

DEFAULT_CALL_TIMEOUT = 30.0
_REMEMBERED_IDS = 4096  # ids kept to recognise duplicates and late answers


@dataclass(slots=True)
class Inbound:
    """What one received text turned out to be, and what (if anything) must be answered.

    `deliver` is true for a valid CALL or SEND the application must handle. `reply` is an
    answer the RPC layer itself requires (CALLERROR, CALLRESULTERROR). `answered` is the CALL
    a result or error belongs to; `failure` is set when that call failed (error frame received,
    or its result could not be accepted).
    """

    text: str
    frame: Frame | None
    message_type: int | None
    message_id: str | None
    action: str | None
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reply: Frame | None = None
    deliver: bool = False
    answered: Call | None = None
    failure: OcppError | None = None
    latency: float | None = None


@dataclass(slots=True)
class Outbound:
    """A frame ready for the wire, with its validation result (our own mistakes show too)."""

    frame: Frame
    text: str
    action: str | None
    problems: list[Problem]
    latency: float | None = None


@dataclass(slots=True)
class _Pending:
    call: Call
    timeout: float
    sent_at: float | None = None

    @property
    def deadline(self) -> float | None:
        return None if self.sent_at is None else self.sent_at + self.timeout


class RpcEndpoint:
    """RPC state of our side of a connection speaking `version`."""

    def __init__(self, version: OcppVersion, *, call_timeout: float = DEFAULT_CALL_TIMEOUT) -> None:
        self.version = version
        self.call_timeout = call_timeout
        self._queue: deque[_Pending] = deque()
        self._outstanding: _Pending | None = None
        self._expired: OrderedDict[str, Call] = OrderedDict()
        # Incoming CALLs we have not answered yet, by id (to detect a repeated id in flight).
        self._handling: dict[str, tuple[Call, float]] = {}
        self._sent_results: OrderedDict[str, str] = OrderedDict()  # id -> action, for type 5

    @property
    def is_21(self) -> bool:
        return self.version is OcppVersion.V21

    # ----------------------------------------------------------------- outgoing CALLs

    def submit_call(
        self,
        action: str,
        payload: dict[str, Any],
        *,
        message_id: str | None = None,
        timeout: float | None = None,
    ) -> Call:
        """Queue a CALL; it goes out when `next_call()` releases it."""
        call = Call(message_id or new_message_id(), action, payload)
        self._queue.append(_Pending(call, self.call_timeout if timeout is None else timeout))
        return call

    def next_call(self, now: float) -> Outbound | None:
        """The queued CALL that may be sent now, if no other CALL of ours is outstanding."""
        if self._outstanding is not None or not self._queue:
            return None
        pending = self._queue.popleft()
        pending.sent_at = now
        self._outstanding = pending
        call = pending.call
        problems = self._check(call.action, Kind.REQUEST, call.payload)
        return Outbound(call, serialize(call), call.action, problems)

    def cancel(self, message_id: str) -> None:
        """Forget a queued or outstanding call (its caller gave up)."""
        self._queue = deque(p for p in self._queue if p.call.message_id != message_id)
        if self._outstanding and self._outstanding.call.message_id == message_id:
            self._outstanding = None

    def expire(self, now: float) -> list[Call]:
        """Calls whose deadline passed; the next queued call may then go out."""
        pending = self._outstanding
        if pending is None or pending.deadline is None or now < pending.deadline:
            return []
        self._outstanding = None
        self._remember(self._expired, pending.call.message_id, pending.call)
        return [pending.call]

    def next_deadline(self) -> float | None:
        return self._outstanding.deadline if self._outstanding else None

    @property
    def has_queued(self) -> bool:
        return bool(self._queue)

    @property
    def outstanding(self) -> Call | None:
        return self._outstanding.call if self._outstanding else None

    def abort_all(self) -> list[Call]:
        """The connection is gone: every queued and outstanding call fails."""
        calls = [p.call for p in self._queue]
        if self._outstanding:
            calls.insert(0, self._outstanding.call)
        self._queue.clear()
        self._outstanding = None
        self._handling.clear()
        return calls

    # ----------------------------------------------------------------- outgoing others

    def make_send(self, action: str, payload: dict[str, Any]) -> Outbound:
        """A SEND frame (2.1): it does not wait for the outstanding CALL and gets no answer."""
        if not self.is_21:
            raise ValueError("SEND frames exist only on ocpp2.1 connections")
        frame = Send(new_message_id(), action, payload)
        return Outbound(frame, serialize(frame), action, self._check(action, Kind.SEND, payload))

    def make_result(self, call: Call, payload: dict[str, Any], now: float) -> Outbound:
        started = self._handling.pop(call.message_id, (call, now))[1]
        frame = CallResult(call.message_id, payload)
        self._remember(self._sent_results, call.message_id, call.action)
        problems = self._check(call.action, Kind.RESPONSE, payload)
        return Outbound(frame, serialize(frame), call.action, problems, now - started)

    def make_error(
        self, call: Call | None, error: OcppError, now: float, *, message_id: str = "-1"
    ) -> Outbound:
        started = now
        if call is not None:
            message_id = call.message_id
            started = self._handling.pop(call.message_id, (call, now))[1]
        frame = CallError(message_id, error.wire_code(self.version), error.description, error.details)
        return Outbound(frame, serialize(frame), call.action if call else None, [], now - started)

    # ----------------------------------------------------------------- incoming

    def receive(self, text: str, now: float) -> Inbound:
        """Classify one received text and decide the RPC-level answer, if any."""
        try:
            frame = parse(text, allow_21=self.is_21)
        except FrameError as exc:
            return self._bad_frame(text, exc)
        if isinstance(frame, Call):
            return self._incoming_call(text, frame, now)
        if isinstance(frame, CallResult):
            return self._incoming_result(text, frame, now)
        if isinstance(frame, CallError):
            return self._incoming_error(text, frame, now)
        if isinstance(frame, CallResultError):
            action = self._sent_results.get(frame.message_id)
            inbound = Inbound(text, frame, 5, frame.message_id, action)
            if action is None:
                inbound.notes.append("CALLRESULTERROR for an id we sent no CALLRESULT with")
            return inbound
        return self._incoming_send(text, frame)

    def _bad_frame(self, text: str, exc: FrameError) -> Inbound:
        inbound = Inbound(text, None, exc.message_type, exc.message_id, exc.action)
        inbound.problems.append(Problem("", str(exc.error.description), exc.error.code))
        if isinstance(exc.error, MessageTypeNotSupported):
            # An unknown type number (5 and 6 included on a 2.0.1 connection) is answered the
            # same way whatever the number: the checks below are for types this version knows.
            inbound.reply = CallError(
                exc.message_id, exc.error.wire_code(self.version), exc.error.description, exc.error.details
            )
            return inbound
        # Answering an answer with CALLERROR is wrong (there is no CALL to fail); on 2.1 a
        # malformed CALLRESULT for a call of ours gets CALLRESULTERROR instead.
        if exc.message_type == MessageType.CALLRESULT and self.is_21 and exc.message_id != "-1":
            answered = self._take_outstanding(exc.message_id)
            if answered is not None:
                inbound.answered = answered
                inbound.action = answered.action
                inbound.failure = exc.error
                inbound.reply = CallResultError(
                    exc.message_id, exc.error.code, exc.error.description, exc.error.details
                )
            return inbound
        if exc.message_type in (MessageType.CALLRESULT, MessageType.CALLERROR, MessageType.CALLRESULTERROR):
            if exc.message_type == MessageType.CALLRESULT and exc.message_id != "-1":
                answered = self._take_outstanding(exc.message_id)
                if answered is not None:
                    inbound.answered, inbound.action, inbound.failure = answered, answered.action, exc.error
            return inbound
        if exc.message_type == MessageType.SEND:
            return inbound  # never answered, not even when broken (FR.07)
        inbound.reply = CallError(
            exc.message_id, exc.error.wire_code(self.version), exc.error.description, exc.error.details
        )
        return inbound

    def _incoming_call(self, text: str, call: Call, now: float) -> Inbound:
        inbound = Inbound(text, call, 2, call.message_id, call.action)
        if call.message_id in self._handling:
            err: OcppError = RpcFrameworkError(f"a CALL with id {call.message_id} is still being handled")
            inbound.problems.append(Problem("", err.description, err.code))
            inbound.reply = CallError(call.message_id, err.wire_code(self.version), err.description, {})
            return inbound
        if not schemas.is_known(self.version, call.action):
            err = NotImplementedOcpp(f"{call.action} is not an {self.version} action")
            if schemas.is_known(self.version, call.action.removesuffix("Request")):
                err = NotImplementedOcpp(f"action must not carry the 'Request' suffix: {call.action}")
            inbound.problems.append(Problem("", err.description, err.code))
            inbound.reply = CallError(call.message_id, err.wire_code(self.version), err.description, {})
            return inbound
        inbound.problems = self._check(call.action, Kind.REQUEST, call.payload)
        if inbound.problems:
            first = inbound.problems[0]
            err = error_from_code(
                first.code, _summary(call.action, inbound.problems), _details(inbound.problems)
            )
            inbound.reply = CallError(
                call.message_id, err.wire_code(self.version), err.description, err.details
            )
            return inbound
        self._handling[call.message_id] = (call, now)
        inbound.deliver = True
        return inbound

    def _incoming_result(self, text: str, result: CallResult, now: float) -> Inbound:
        inbound = Inbound(text, result, 3, result.message_id, None)
        pending = self._outstanding
        if pending is None or pending.call.message_id != result.message_id:
            late = self._expired.get(result.message_id)
            if late is not None:
                inbound.action = late.action
                inbound.answered = late
                inbound.notes.append("result arrived after the call had timed out")
            else:
                inbound.notes.append("result for an id with no outstanding call")
            return inbound
        self._outstanding = None
        call = pending.call
        inbound.answered, inbound.action = call, call.action
        inbound.latency = None if pending.sent_at is None else now - pending.sent_at
        inbound.problems = self._check(call.action, Kind.RESPONSE, result.payload)
        if inbound.problems:
            first = inbound.problems[0]
            inbound.failure = error_from_code(
                first.code, _summary(call.action + "Response", inbound.problems), _details(inbound.problems)
            )
            if self.is_21:  # FR.06: tell the callee its answer was unusable
                err = inbound.failure
                inbound.reply = CallResultError(
                    result.message_id, err.wire_code(self.version), err.description, err.details
                )
        return inbound

    def _incoming_error(self, text: str, error: CallError, now: float) -> Inbound:
        inbound = Inbound(text, error, 4, error.message_id, None)
        pending = self._outstanding
        if pending is None or pending.call.message_id != error.message_id:
            late = self._expired.get(error.message_id)
            inbound.action = late.action if late else None
            inbound.notes.append(
                "error arrived after the call had timed out"
                if late
                else "error for an id with no outstanding call"
            )
            return inbound
        self._outstanding = None
        inbound.answered, inbound.action = pending.call, pending.call.action
        inbound.latency = None if pending.sent_at is None else now - pending.sent_at
        inbound.failure = error_from_code(error.error_code, error.description, error.details)
        return inbound

    def _incoming_send(self, text: str, send: Send) -> Inbound:
        inbound = Inbound(text, send, 6, send.message_id, send.action)
        if not schemas.is_known(self.version, send.action, Kind.SEND):
            inbound.problems.append(
                Problem("", f"{send.action} is not a SEND action of {self.version}", "NotImplemented")
            )
            return inbound
        inbound.problems = self._check(send.action, Kind.SEND, send.payload)
        inbound.deliver = not inbound.problems
        return inbound

    # ----------------------------------------------------------------- helpers

    def _take_outstanding(self, message_id: str) -> Call | None:
        if self._outstanding and self._outstanding.call.message_id == message_id:
            call = self._outstanding.call
            self._outstanding = None
            return call
        return None

    def _check(self, action: str, kind: Kind, payload: Any) -> list[Problem]:
        return schemas.validate(self.version, action, kind, payload)

    @staticmethod
    def _remember(store: OrderedDict[str, Any], key: str, value: Any) -> None:
        store[key] = value
        if len(store) > _REMEMBERED_IDS:
            store.popitem(last=False)


def _summary(what: str, problems: list[Problem]) -> str:
    first = problems[0]
    more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{what}: {first}{more}"


def _details(problems: list[Problem]) -> dict[str, Any]:
    return {"problems": [{"path": p.path, "message": p.message} for p in problems[:10]]}


__all__ = ["DEFAULT_CALL_TIMEOUT", "Inbound", "Outbound", "RpcEndpoint"]
