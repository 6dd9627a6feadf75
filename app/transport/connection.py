"""An RPC endpoint bound to a live websocket: the asyncio layer over `protocol.rpc`.

Every frame that crosses the socket, in either direction and whatever its quality, becomes
one `CaptureRecord` before anything else happens to it: the inspector never sees less than the
wire. Incoming CALLs are handed to `handler`; `call()` waits for the answer, honouring the
one-outstanding-CALL rule and the per-call timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from app.clock import Clock
from app.inspector.jsonl import mask_secrets
from app.inspector.records import CaptureRecord, Sender
from app.protocol.errors import CallTimeout, ConnectionLost, InternalError, OcppError
from app.protocol.frames import Call, CallError, CallResult, CallResultError, Frame, Send, serialize
from app.protocol.rpc import DEFAULT_CALL_TIMEOUT, Inbound, Outbound, RpcEndpoint
from app.protocol.schemas import Kind, OcppVersion, is_known, validate
from app.transport.intercept import Interceptor, peek_frame

log = logging.getLogger(__name__)

CallHandler = Callable[[Call], Awaitable[dict[str, Any]]]
SendHandler = Callable[[Send], Awaitable[None] | None]
CaptureSink = Callable[[CaptureRecord], None]


class WebSocketLike(Protocol):
    """The part of a websockets connection we use (client and server connections both fit)."""

    async def send(self, message: str) -> None: ...
    async def recv(self) -> str | bytes: ...
    async def close(self, code: int = 1000, reason: str = "") -> None: ...


class OcppConnection:
    def __init__(
        self,
        ws: WebSocketLike,
        version: OcppVersion,
        *,
        station_id: str,
        local_role: Sender,
        clock: Clock | None = None,
        capture: CaptureSink | None = None,
        handler: CallHandler | None = None,
        send_handler: SendHandler | None = None,
        call_timeout: float = DEFAULT_CALL_TIMEOUT,
        connection_name: str | None = None,
        mirror: bool = False,
        interceptor: Interceptor | None = None,
        on_invalid: Callable[[str], None] | None = None,
    ) -> None:
        self.ws = ws
        # Told about each received frame that is not valid OCPP (the station logs them as the
        # InvalidMessages security event).
        self.on_invalid = on_invalid
        self.version = version
        self.station_id = station_id
        self.local_role: Sender = local_role
        self.remote_role: Sender = "csms" if local_role == "station" else "station"
        self.clock = clock or Clock()
        self.capture = capture
        self.handler = handler
        self.send_handler = send_handler
        self.name = connection_name or f"{station_id}@{local_role}"
        self.mirror = mirror
        self.interceptor = interceptor  # fault injection: holds matching frames (intercept.py)
        self._raw_calls: dict[str, tuple[str, float]] = {}  # CALLs sent raw: id -> (action, sent at)
        self.endpoint = RpcEndpoint(version, call_timeout=call_timeout)
        self._futures: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._timeouts: dict[str, float] = {}  # per-call timeout, for the CallTimeout message
        self._wake = asyncio.Event()
        self._deadline_timer: asyncio.TimerHandle | None = None
        self._closed = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._send_lock = asyncio.Lock()
        self.close_reason = ""

    # ------------------------------------------------------------------ public API

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    async def call(
        self, action: str, payload: dict[str, Any], *, timeout: float | None = None
    ) -> dict[str, Any]:
        """Send a CALL and return the CALLRESULT payload.

        Raises the typed OcppError of a CALLERROR (or of an unusable result), CallTimeout, or
        ConnectionLost.
        """
        if self.closed:
            raise ConnectionLost(f"connection {self.name} is closed")
        call = self.endpoint.submit_call(action, payload, timeout=timeout)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._futures[call.message_id] = future
        self._timeouts[call.message_id] = self.endpoint.call_timeout if timeout is None else timeout
        try:
            if self.endpoint.outstanding is None:
                await self._send_next()  # the slot is free: send now, no hop through the pump
            return await future
        finally:
            self._futures.pop(call.message_id, None)
            self._timeouts.pop(call.message_id, None)
            # Caller was cancelled (awaiting a future cancels it too): free the slot for the next call.
            if future.cancelled() or not future.done():
                self.endpoint.cancel(call.message_id)
                self._release()
            else:
                # The caller may have been cancelled after the answer (or the loss) arrived:
                # the outcome is then nobody's business, and must not be reported as lost.
                future.exception()

    async def send(self, action: str, payload: dict[str, Any]) -> None:
        """A SEND frame (2.1): fire and forget."""
        await self._transmit(self.endpoint.make_send(action, payload))

    async def send_raw(self, text: str) -> None:
        """Put arbitrary text on the wire (scenarios, fault injection); captured like any frame.

        Not intercepted (the text is the tester's already) and outside the one-outstanding-CALL
        rule; a readable CALL is remembered so its answer gets its action and latency.
        """
        await self._write(text)
        mtype, msg_id, action = peek_frame(text)
        if mtype == 2 and msg_id is not None and action is not None:
            self._raw_calls[msg_id] = (action, time.monotonic())
            while len(self._raw_calls) > 256:
                self._raw_calls.pop(next(iter(self._raw_calls)))
        self._record_raw(self.local_role, text, ["sent raw"])

    def answered_action(self, direction: str, mtype: int | None, msg_id: str | None) -> str | None:
        """The action an incoming answer belongs to: the CALL of ours it answers (interceptor)."""
        if direction != "incoming" or mtype not in (3, 4) or msg_id is None:
            return None
        call = self.endpoint.outstanding
        if call is not None and call.message_id == msg_id:
            return call.action
        return self.raw_call_action(msg_id)

    def raw_call_action(self, message_id: str) -> str | None:
        """The action of a CALL sent raw with this id and not answered yet."""
        pending = self._raw_calls.get(message_id)
        return pending[0] if pending else None

    async def run(self) -> None:
        """Read until the socket closes; then fail every pending call with ConnectionLost."""
        pump = self._spawn(self._pump(), "rpc-pump")
        try:
            while True:
                try:
                    message = await self.ws.recv()
                except Exception as exc:  # websockets ConnectionClosed and friends
                    self.close_reason = _describe_close(exc)
                    break
                text = message if isinstance(message, str) else message.decode("utf-8", "replace")
                await self._on_text(text)
        finally:
            self._closed.set()
            pump.cancel()
            self._disarm_deadline()
            for call in self.endpoint.abort_all():
                fut = self._futures.get(call.message_id)
                if fut and not fut.done():
                    fut.set_exception(ConnectionLost(f"connection closed: {self.close_reason or 'closed'}"))
            for task in list(self._tasks):
                task.cancel()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        with contextlib.suppress(Exception):
            await self.ws.close(code, reason)

    async def wait_closed(self) -> None:
        await self._closed.wait()

    # ------------------------------------------------------------------ internals

    def _spawn(self, coro: Awaitable[Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        task.set_name(f"{self.name}:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _pump(self) -> None:
        """Send queued CALLs, one at a time, whenever the outstanding slot frees up."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self.endpoint.outstanding is None and self.endpoint.has_queued:
                await self._send_next()

    def _release(self) -> None:
        """The outstanding slot may be free: wake the pump if a CALL is waiting for it."""
        if self.endpoint.has_queued:
            self._wake.set()

    async def _send_next(self) -> None:
        out = self.endpoint.next_call(time.monotonic())
        if out is None:
            return
        self._arm_deadline()
        try:
            await self._transmit(out)
        except ConnectionLost as exc:
            fut = self._futures.get(out.frame.message_id)
            if fut and not fut.done():
                fut.set_exception(exc)

    def _arm_deadline(self) -> None:
        """One timer for the outstanding CALL's deadline (cheaper than a wait_for per call)."""
        self._disarm_deadline()
        deadline = self.endpoint.next_deadline()
        if deadline is not None:
            delay = max(0.0, deadline - time.monotonic())
            self._deadline_timer = asyncio.get_running_loop().call_later(delay, self._on_deadline)

    def _disarm_deadline(self) -> None:
        if self._deadline_timer is not None:
            self._deadline_timer.cancel()
            self._deadline_timer = None

    def _on_deadline(self) -> None:
        self._deadline_timer = None
        expired = self.endpoint.expire(time.monotonic())
        for call in expired:
            fut = self._futures.get(call.message_id)
            if fut and not fut.done():
                limit = self._timeouts.get(call.message_id, self.endpoint.call_timeout)
                fut.set_exception(CallTimeout(f"no answer to {call.action} within {limit:g} s"))
        if not expired and self.endpoint.outstanding is not None:
            self._arm_deadline()  # the timer fired a hair early
        self._release()

    async def _on_text(self, text: str) -> None:
        held_notes: list[str] = []
        if self.interceptor is not None:
            verdict = await self.interceptor.hold(self, "incoming", text)
            if verdict.text is None:  # dropped: on the wire, never seen by the RPC layer
                self._record_raw(self.remote_role, text, verdict.notes)
                return
            text, held_notes = verdict.text, verdict.notes
        inbound = self.endpoint.receive(text, time.monotonic())
        if inbound.answered is None and inbound.message_id in self._raw_calls:
            self._pair_raw_answer(inbound)
        frame = inbound.frame
        payload = _payload_of(frame)
        self._record(
            self.remote_role,
            text,
            inbound.message_type,
            inbound.action,
            inbound.message_id,
            payload,
            [str(p) for p in inbound.problems],
            inbound.notes + held_notes,
            inbound.latency,
        )
        if inbound.problems and self.on_invalid is not None:
            what = inbound.action or inbound.message_type or "frame"
            self.on_invalid(f"{what} {inbound.message_id or ''}: {inbound.problems[0]}")
        if inbound.reply is not None:
            await self._transmit_frame(inbound.reply, inbound.action)
        if inbound.answered is not None:
            fut = self._futures.get(inbound.answered.message_id)
            if fut and not fut.done():
                if inbound.failure is not None:
                    fut.set_exception(inbound.failure)
                else:
                    fut.set_result(payload if isinstance(payload, dict) else {})
            if self.endpoint.outstanding is None:
                self._disarm_deadline()
            self._release()
        if inbound.deliver:
            if isinstance(frame, Call):
                self._spawn(self._handle_call(frame), f"handle-{frame.action}")
            elif isinstance(frame, Send) and self.send_handler is not None:
                result = self.send_handler(frame)
                if asyncio.iscoroutine(result):
                    self._spawn(result, f"send-{frame.action}")

    async def _handle_call(self, call: Call) -> None:
        try:
            if self.handler is None:
                raise InternalError("no handler installed")
            result = await self.handler(call)
            out = self.endpoint.make_result(call, result, time.monotonic())
        except OcppError as err:
            out = self.endpoint.make_error(call, err, time.monotonic())
        except Exception as exc:
            log.exception("handler for %s failed", call.action)
            out = self.endpoint.make_error(
                call, InternalError(f"{type(exc).__name__}: {exc}"), time.monotonic()
            )
        with contextlib.suppress(ConnectionLost):
            await self._transmit(out)

    async def _transmit_frame(self, frame: Frame, action: str | None) -> None:
        await self._transmit(Outbound(frame, serialize(frame), action, []))

    async def _transmit(self, out: Outbound) -> None:
        notes: list[str] = []
        if self.interceptor is not None:
            verdict = await self.interceptor.hold(self, "outgoing", out.text, out.action)
            if verdict.text is None:  # dropped: never on the wire, so never captured
                return
            if verdict.text != out.text:  # edited: capture what went out, not what was meant
                await self._write(verdict.text)
                self._record_raw(self.local_role, verdict.text, verdict.notes, out.action)
                return
            notes = verdict.notes
        await self._write(out.text)
        frame = out.frame
        self._record(
            self.local_role,
            out.text,
            int(frame.type),
            out.action,
            frame.message_id,
            _payload_of(frame),
            [str(p) for p in out.problems],
            notes,
            out.latency,
        )

    async def _write(self, text: str) -> None:
        if self.closed:
            raise ConnectionLost(f"connection {self.name} is closed")
        try:
            async with self._send_lock:
                await self.ws.send(text)
        except Exception as exc:
            raise ConnectionLost(_describe_close(exc)) from exc

    def _record_raw(self, sender: Sender, text: str, notes: list[str], action: str | None = None) -> None:
        """A frame the RPC layer did not make or read (sent raw, edited, dropped), read leniently;
        a readable CALL or SEND is checked against its schema so broken ones show as such."""
        mtype, msg_id, read_action = peek_frame(text)
        action = read_action or action
        payload = problems = None
        with contextlib.suppress(ValueError, IndexError):
            payload = json.loads(text)[-1]
        if mtype in (2, 6) and action is not None and isinstance(payload, dict):
            kind = Kind.REQUEST if mtype == 2 else Kind.SEND
            if is_known(self.version, action, kind):
                problems = [str(p) for p in validate(self.version, action, kind, payload)]
            else:
                problems = [f"(payload): {action} is not an {self.version} {kind} action"]
        elif mtype is None:
            problems = ["(frame): not a readable OCPP-J frame"]
        self._record(sender, text, mtype, action, msg_id, payload, problems or [], notes, None)

    def _pair_raw_answer(self, inbound: Inbound) -> None:
        """An answer to a CALL sent raw: give it its action and latency (not an unknown id)."""
        assert inbound.message_id is not None
        action, sent_at = self._raw_calls.pop(inbound.message_id)
        inbound.action = action
        inbound.latency = time.monotonic() - sent_at
        inbound.notes = [n for n in inbound.notes if "no outstanding call" not in n]
        inbound.notes.append("answer to a CALL sent raw")
        if isinstance(inbound.frame, CallResult):
            inbound.problems += validate(self.version, action, Kind.RESPONSE, inbound.frame.payload)

    def _record(
        self,
        sender: Sender,
        text: str,
        message_type: int | None,
        action: str | None,
        message_id: str | None,
        payload: Any,
        problems: list[str],
        notes: list[str],
        latency: float | None,
    ) -> None:
        if self.capture is None:
            return
        # Secrets stay on the wire, never in a capture (BasicAuthPassword in SetVariables,
        # SetNetworkProfile): what the inspector, files and exports see is masked.
        raw = mask_secrets(text, payload)
        self.capture(
            CaptureRecord(
                time=self.clock.now(),
                connection=self.name,
                station=self.station_id,
                sender=sender,
                observer=self.local_role,
                version=str(self.version),
                raw=raw,
                message_type=message_type,
                action=action,
                message_id=message_id,
                payload=payload if raw is text else _payload_after_masking(raw, payload),
                problems=problems,
                notes=notes,
                latency_ms=None if latency is None else latency * 1000.0,
                mirror=self.mirror,
            )
        )


def _payload_after_masking(raw: str, original: Any) -> Any:
    try:
        frame = json.loads(raw)
    except ValueError:
        return original
    return frame[-1] if isinstance(frame, list) and frame else original


def _payload_of(frame: Frame | None) -> Any:
    """The JSON object a frame carries; error frames show their code, text and details."""
    if frame is None:
        return None
    if isinstance(frame, CallError | CallResultError):
        return {
            "errorCode": frame.error_code,
            "errorDescription": frame.description,
            "errorDetails": frame.details,
        }
    return frame.payload


def _describe_close(exc: BaseException) -> str:
    rcvd = getattr(exc, "rcvd", None)
    if rcvd is not None:
        return f"closed by peer (code {rcvd.code}{', ' + rcvd.reason if rcvd.reason else ''})"
    return str(exc) or type(exc).__name__
