"""OCPP-J frames: strict structural parsing and serialization (Part 4 §4.1-4.2).

`parse()` either returns one typed frame or raises `FrameError`, which carries what the
receiver needs to answer: the error code, and the message id when it could be read ("-1"
otherwise). Payload content is not checked here; that is the schema layer's job.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from app.protocol.errors import (
    MessageTypeNotSupported,
    OcppError,
    ProtocolError,
    RpcFrameworkError,
)

MAX_MESSAGE_ID = 36
UNREADABLE_ID = "-1"


class MessageType(IntEnum):
    CALL = 2
    CALLRESULT = 3
    CALLERROR = 4
    CALLRESULTERROR = 5  # 2.1 only
    SEND = 6  # 2.1 only


@dataclass(frozen=True, slots=True)
class Call:
    message_id: str
    action: str
    payload: dict[str, Any]
    type: MessageType = field(default=MessageType.CALL, init=False)


@dataclass(frozen=True, slots=True)
class CallResult:
    message_id: str
    payload: dict[str, Any]
    type: MessageType = field(default=MessageType.CALLRESULT, init=False)


@dataclass(frozen=True, slots=True)
class CallError:
    message_id: str
    error_code: str
    description: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    type: MessageType = field(default=MessageType.CALLERROR, init=False)


@dataclass(frozen=True, slots=True)
class CallResultError:
    """Answer to a CALLRESULT the original caller could not process (2.1, FR.06)."""

    message_id: str
    error_code: str
    description: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    type: MessageType = field(default=MessageType.CALLRESULTERROR, init=False)


@dataclass(frozen=True, slots=True)
class Send:
    """Unconfirmed message (2.1): never answered."""

    message_id: str
    action: str
    payload: dict[str, Any]
    type: MessageType = field(default=MessageType.SEND, init=False)


Frame = Call | CallResult | CallError | CallResultError | Send


class FrameError(Exception):
    """A frame that cannot be understood as an RPC message.

    `message_id` is what the answer must carry: the frame's own id if it could be read,
    otherwise "-1". `message_type` and `action` are kept when they could be read, so the
    inspector can still label the frame.
    """

    def __init__(
        self,
        error: OcppError,
        message_id: str = UNREADABLE_ID,
        message_type: int | None = None,
        action: str | None = None,
    ) -> None:
        super().__init__(str(error))
        self.error = error
        self.message_id = message_id
        self.message_type = message_type
        self.action = action


def parse(text: str | bytes, *, allow_21: bool = True) -> Frame:
    """Parse one websocket text message into a frame.

    `allow_21=False` (an ocpp2.0.1 or 1.6 connection) treats types 5 and 6 as unknown.
    """
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FrameError(RpcFrameworkError(f"not valid JSON: {exc}")) from None
    if not isinstance(data, list) or not data:
        raise FrameError(RpcFrameworkError("frame is not a non-empty JSON array"))
    mtype = data[0]
    if isinstance(mtype, bool) or not isinstance(mtype, int):
        raise FrameError(RpcFrameworkError("message type number is not an integer"))
    msg_id = data[1] if len(data) > 1 else None
    readable_id = msg_id if isinstance(msg_id, str) and 0 < len(msg_id) <= MAX_MESSAGE_ID else None

    known = {2, 3, 4} | ({5, 6} if allow_21 else set())
    if mtype not in known:
        raise FrameError(
            MessageTypeNotSupported(f"message type {mtype} is not supported on this connection"),
            readable_id or UNREADABLE_ID,
            mtype,
        )
    if not isinstance(msg_id, str):
        raise FrameError(RpcFrameworkError("message id is missing or not a string"), UNREADABLE_ID, mtype)
    if not msg_id or len(msg_id) > MAX_MESSAGE_ID:
        raise FrameError(
            RpcFrameworkError(f"message id must be 1..{MAX_MESSAGE_ID} characters, got {len(msg_id)}"),
            UNREADABLE_ID,
            mtype,
        )

    expected_len = {2: 4, 3: 3, 4: 5, 5: 5, 6: 4}[mtype]
    if len(data) != expected_len:
        name = MessageType(mtype).name
        raise FrameError(
            RpcFrameworkError(f"{name} must have {expected_len} elements, got {len(data)}"), msg_id, mtype
        )

    if mtype in (2, 6):
        action, payload = data[2], data[3]
        if not isinstance(action, str) or not action:
            raise FrameError(RpcFrameworkError("action is not a non-empty string"), msg_id, mtype)
        if not isinstance(payload, dict):
            raise FrameError(ProtocolError("payload must be a JSON object"), msg_id, mtype, action)
        return Call(msg_id, action, payload) if mtype == 2 else Send(msg_id, action, payload)
    if mtype == 3:
        payload = data[2]
        if not isinstance(payload, dict):
            raise FrameError(ProtocolError("payload must be a JSON object"), msg_id, mtype)
        return CallResult(msg_id, payload)
    code, description, details = data[2], data[3], data[4]
    if not isinstance(code, str) or not isinstance(description, str) or not isinstance(details, dict):
        raise FrameError(
            RpcFrameworkError("error frame needs a string code, a string description, an object"),
            msg_id,
            mtype,
        )
    if mtype == 4:
        return CallError(msg_id, code, description, details)
    return CallResultError(msg_id, code, description, details)


def serialize(frame: Frame) -> str:
    """Compact JSON text of a frame (non-ASCII kept as UTF-8, as the spec allows for text)."""
    if isinstance(frame, Call | Send):
        body: list[Any] = [int(frame.type), frame.message_id, frame.action, frame.payload]
    elif isinstance(frame, CallResult):
        body = [3, frame.message_id, frame.payload]
    else:
        body = [int(frame.type), frame.message_id, frame.error_code, frame.description[:255], frame.details]
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)
