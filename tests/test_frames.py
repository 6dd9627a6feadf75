"""OCPP-J frame structure (Part 4 §4.1.3-§4.2.4): strict parse, compact serialize, and the
error code plus message id a receiver needs to answer a broken frame (§4.2.3: "-1" when the id
cannot be read)."""

from __future__ import annotations

import json

import pytest

from app.protocol.frames import (
    MAX_MESSAGE_ID,
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

BOOT = {"reason": "PowerUp", "chargingStation": {"model": "M1", "vendorName": "V"}}
STREAM = {"id": 1, "pending": 0, "basetime": "2026-01-01T00:00:00Z", "data": [{"t": 0, "v": "230.1"}]}

ROUND_TRIPS: list[tuple[str, Frame]] = [
    ('[2,"19223201","BootNotification",' + json.dumps(BOOT, separators=(",", ":")) + "]",
     Call("19223201", "BootNotification", BOOT)),
    ('[3,"19223201",{"status":"Accepted"}]', CallResult("19223201", {"status": "Accepted"})),
    ('[4,"162376037","NotSupported","SetDisplayMessage not supported",{}]',
     CallError("162376037", "NotSupported", "SetDisplayMessage not supported", {})),
    ('[5,"abc","FormatViolation","tariff unreadable",{"path":"tariff"}]',
     CallResultError("abc", "FormatViolation", "tariff unreadable", {"path": "tariff"})),
    ('[6,"s-1","NotifyPeriodicEventStream",' + json.dumps(STREAM, separators=(",", ":")) + "]",
     Send("s-1", "NotifyPeriodicEventStream", STREAM)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "frame"), ROUND_TRIPS, ids=lambda v: getattr(v, "type", None) and v.type.name
)
def test_parse_and_serialize_round_trip_every_type(text: str, frame: Frame) -> None:
    parsed = parse(text)
    assert parsed == frame
    assert type(parsed) is type(frame)
    assert parsed.type == json.loads(text)[0]
    assert serialize(parsed) == text  # compact, field order kept
    assert parse(serialize(frame)) == frame


def test_parse_accepts_whitespace_and_bytes() -> None:
    text = '[ 2 , "id-1" , "Heartbeat" , { } ]'
    assert parse(text) == Call("id-1", "Heartbeat", {})
    assert parse(text.encode("utf-8")) == Call("id-1", "Heartbeat", {})


def test_serialize_keeps_natural_language_text_as_utf8() -> None:
    # §4.1.2: the frame is UTF-8; non-ASCII belongs in natural-language text such as messages.
    frame = Call("m1", "SetDisplayMessage", {"message": {"content": "Laden beendet – Grüße"}})
    text = serialize(frame)
    assert "Grüße" in text and "\\u" not in text
    assert parse(text) == frame


def test_serialize_truncates_error_description_to_255() -> None:
    # Part 4 Table 7: errorDescription is string[255].
    text = serialize(CallError("m1", "GenericError", "x" * 400, {}))
    assert len(json.loads(text)[3]) == 255


def test_message_id_of_36_characters_is_accepted() -> None:
    msg_id = "u" * MAX_MESSAGE_ID
    assert parse(f'[2,"{msg_id}","Heartbeat",{{}}]').message_id == msg_id


def test_version_21_types_are_accepted_by_default_and_on_21() -> None:
    assert parse('[5,"a","GenericError","",{}]', allow_21=True).type is MessageType.CALLRESULTERROR
    assert parse('[6,"a","NotifyPeriodicEventStream",{}]').type is MessageType.SEND


# (text, allow_21, error code, message id for the answer, message type kept, action kept, words)
BROKEN: list[tuple[str, bool, str, str, int | None, str | None, str]] = [
    # Not JSON / not an array at all: nothing readable, answer with "-1" (§4.2.3).
    ('[2,"a","Heartbeat",{}', True, "RpcFrameworkError", "-1", None, None, "not valid JSON"),
    ("hello", True, "RpcFrameworkError", "-1", None, None, "not valid JSON"),
    ('{"2":"a"}', True, "RpcFrameworkError", "-1", None, None, "array"),
    ("[]", True, "RpcFrameworkError", "-1", None, None, "array"),
    ('"[2,\\"a\\"]"', True, "RpcFrameworkError", "-1", None, None, "array"),
    # Message type number that is not an integer.
    ('["2","a","Heartbeat",{}]', True, "RpcFrameworkError", "-1", None, None, "integer"),
    ('[true,"a","Heartbeat",{}]', True, "RpcFrameworkError", "-1", None, None, "integer"),
    # Message id (§4.1.4): a string of at most 36 characters.
    ('[2,17,"Heartbeat",{}]', True, "RpcFrameworkError", "-1", 2, None, "not a string"),
    ('[2,null,"Heartbeat",{}]', True, "RpcFrameworkError", "-1", 2, None, "not a string"),
    ("[2]", True, "RpcFrameworkError", "-1", 2, None, "missing"),
    ('[2,"","Heartbeat",{}]', True, "RpcFrameworkError", "-1", 2, None, "1..36"),
    (f'[2,"{"x" * 37}","Heartbeat",{{}}]', True, "RpcFrameworkError", "-1", 2, None, "got 37"),
    # Wrong element count per type (§4.2.1-§4.2.4); the id was readable, so it is kept.
    ('[2,"a","Heartbeat"]', True, "RpcFrameworkError", "a", 2, None, "CALL must have 4 elements, got 3"),
    ('[2,"a","Heartbeat",{},{}]', True, "RpcFrameworkError", "a", 2, None, "got 5"),
    ('[3,"a"]', True, "RpcFrameworkError", "a", 3, None, "CALLRESULT must have 3 elements"),
    ('[3,"a",{},{}]', True, "RpcFrameworkError", "a", 3, None, "got 4"),
    ('[4,"a","GenericError",""]', True, "RpcFrameworkError", "a", 4, None, "CALLERROR must have 5"),
    ('[5,"a","GenericError",{}]', True, "RpcFrameworkError", "a", 5, None, "CALLRESULTERROR must have 5"),
    ('[6,"a","NotifyPeriodicEventStream"]', True, "RpcFrameworkError", "a", 6, None, "SEND must have 4"),
    # Action must be a non-empty string.
    ('[2,"a",7,{}]', True, "RpcFrameworkError", "a", 2, None, "action"),
    ('[2,"a","",{}]', True, "RpcFrameworkError", "a", 2, None, "action"),
    # Payload must be an object (§4.1.5: {} rather than null).
    ('[2,"a","Heartbeat",null]', True, "ProtocolError", "a", 2, "Heartbeat", "object"),
    ('[2,"a","Heartbeat",[]]', True, "ProtocolError", "a", 2, "Heartbeat", "object"),
    ('[6,"a","NotifyPeriodicEventStream","x"]', True, "ProtocolError", "a", 6, "NotifyPeriodicEventStream",
     "object"),
    ('[3,"a",null]', True, "ProtocolError", "a", 3, None, "object"),
    # Error frames: string code, string description, object details.
    ('[4,"a",12,"",{}]', True, "RpcFrameworkError", "a", 4, None, "string code"),
    ('[4,"a","GenericError",null,{}]', True, "RpcFrameworkError", "a", 4, None, "string description"),
    ('[4,"a","GenericError","",null]', True, "RpcFrameworkError", "a", 4, None, "object"),
    ('[5,"a","GenericError","",[]]', True, "RpcFrameworkError", "a", 5, None, "object"),
    # Unknown type numbers (§4.1.3); 5 and 6 are unknown on a 2.0.1 connection.
    ('[7,"a","X",{}]', True, "MessageTypeNotSupported", "a", 7, None, "type 7"),
    ('[1,"a"]', True, "MessageTypeNotSupported", "a", 1, None, "type 1"),
    ("[9]", True, "MessageTypeNotSupported", "-1", 9, None, "type 9"),
    ('[5,"a","GenericError","",{}]', False, "MessageTypeNotSupported", "a", 5, None, "type 5"),
    ('[6,"a","NotifyPeriodicEventStream",{}]', False, "MessageTypeNotSupported", "a", 6, None, "type 6"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "allow_21", "code", "message_id", "message_type", "action", "words"),
    BROKEN,
    ids=[f"{i}:{b[0][:24]}" for i, b in enumerate(BROKEN)],
)
def test_broken_frame_raises_frame_error_with_code_and_answer_id(
    text: str,
    allow_21: bool,
    code: str,
    message_id: str,
    message_type: int | None,
    action: str | None,
    words: str,
) -> None:
    with pytest.raises(FrameError) as info:
        parse(text, allow_21=allow_21)
    exc = info.value
    assert exc.error.code == code
    assert exc.message_id == message_id
    assert exc.message_type == message_type
    assert exc.action == action
    assert words in exc.error.description


def test_invalid_utf8_bytes_are_unreadable() -> None:
    with pytest.raises(FrameError) as info:
        parse(b'[2,"a","Heartbeat",{"x":"\xff"}]')
    assert info.value.error.code == "RpcFrameworkError"
    assert info.value.message_id == "-1"
