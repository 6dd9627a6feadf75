"""The sans-I/O RPC endpoint (app/protocol/rpc.py): feed text, check the decision.

Written as scripts of "we send / peer sends / expect": no socket anywhere. Rules come from
OCPP-J Part 4: §4.1.1 (one outstanding CALL per direction, timeouts), §4.1.4 (ids), §4.1.7 and
§4.2.3 (invalid messages are answered with CALLERROR, "-1" when the id is unreadable), §4.2.3
(CALLRESULTERROR, 2.1 only), §4.2.4 (SEND is never answered), §4.3 (error codes).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.protocol import errors
from app.protocol.frames import Call, CallError, CallResultError, MessageType, parse
from app.protocol.rpc import RpcEndpoint
from app.protocol.schemas import OcppVersion

V21, V201, V16 = OcppVersion.V21, OcppVersion.V201, OcppVersion.V16

BOOT = {"reason": "PowerUp", "chargingStation": {"model": "M1", "vendorName": "V"}}
BOOT_OK = {"currentTime": "2026-01-01T00:00:00Z", "interval": 300, "status": "Accepted"}
HEARTBEAT_OK = {"currentTime": "2026-01-01T00:00:00Z"}


def text(*frame: Any) -> str:
    return json.dumps(list(frame))


def sent(endpoint: RpcEndpoint, now: float = 0.0) -> Call:
    out = endpoint.next_call(now)
    assert out is not None, "expected a CALL to be released"
    assert out.problems == []
    assert isinstance(out.frame, Call)
    assert parse(out.text) == out.frame
    return out.frame


# ------------------------------------------------------------ §4.1.1 one outstanding CALL


def test_second_call_waits_until_first_is_answered() -> None:
    ep = RpcEndpoint(V21)
    first = ep.submit_call("Heartbeat", {}, message_id="c1")
    second = ep.submit_call("Heartbeat", {}, message_id="c2")
    assert sent(ep) == first
    assert ep.outstanding == first
    assert ep.next_call(0.1) is None  # c2 must wait: c1 is outstanding

    inbound = ep.receive(text(3, "c1", HEARTBEAT_OK), 0.25)
    assert inbound.answered == first
    assert inbound.failure is None and inbound.reply is None
    assert inbound.action == "Heartbeat"
    assert inbound.latency == pytest.approx(0.25)
    assert ep.outstanding is None

    assert sent(ep, 0.3) == second
    assert ep.next_call(0.3) is None


def test_call_error_also_frees_the_slot() -> None:
    ep = RpcEndpoint(V21)
    ep.submit_call("Heartbeat", {}, message_id="c1")
    ep.submit_call("Heartbeat", {}, message_id="c2")
    sent(ep)
    inbound = ep.receive(text(4, "c1", "InternalError", "boom", {}), 1.0)
    assert isinstance(inbound.failure, errors.InternalError)
    assert inbound.latency == pytest.approx(1.0)  # sent at t=0 (virtual clocks start there)
    assert sent(ep, 1.0).message_id == "c2"


def test_incoming_call_while_our_call_is_outstanding_is_delivered() -> None:
    # §4.1.1 note: CALLs of the two sides may cross.
    ep = RpcEndpoint(V21)
    ep.submit_call("Heartbeat", {}, message_id="ours")
    sent(ep)
    inbound = ep.receive(text(2, "theirs", "Reset", {"type": "Immediate"}), 0.1)
    assert inbound.deliver and inbound.reply is None
    assert ep.outstanding is not None and ep.outstanding.message_id == "ours"


def test_timeout_expires_call_releases_next_and_notes_late_result() -> None:
    ep = RpcEndpoint(V21, call_timeout=5.0)
    first = ep.submit_call("Heartbeat", {}, message_id="c1")
    second = ep.submit_call("Heartbeat", {}, message_id="c2", timeout=1.0)
    sent(ep, 100.0)
    assert ep.next_deadline() == pytest.approx(105.0)
    assert ep.expire(104.9) == []
    assert ep.next_call(104.9) is None
    assert ep.expire(105.0) == [first]
    assert ep.outstanding is None

    assert sent(ep, 105.0) == second
    assert ep.next_deadline() == pytest.approx(106.0)  # per-call timeout

    late = ep.receive(text(3, "c1", HEARTBEAT_OK), 105.5)
    assert late.answered == first
    assert late.action == "Heartbeat"
    assert any("timed out" in note for note in late.notes)
    assert late.reply is None and late.failure is None
    assert ep.outstanding == second  # the late answer does not satisfy the next call

    late_error = ep.receive(text(4, "c1", "GenericError", "", {}), 105.6)
    assert any("timed out" in note for note in late_error.notes)
    assert ep.outstanding == second


def test_result_for_unknown_id_is_noted_not_answered() -> None:
    ep = RpcEndpoint(V21)
    inbound = ep.receive(text(3, "nobody", {}), 0)
    assert inbound.answered is None and inbound.reply is None
    assert inbound.notes == ["result for an id with no outstanding call"]


def test_cancelled_call_frees_the_slot() -> None:
    ep = RpcEndpoint(V21)
    ep.submit_call("Heartbeat", {}, message_id="c1")
    ep.submit_call("Heartbeat", {}, message_id="c2")
    sent(ep)
    ep.cancel("c1")
    assert sent(ep).message_id == "c2"


def test_abort_all_returns_outstanding_first_then_queued() -> None:
    ep = RpcEndpoint(V21)
    for i in range(3):
        ep.submit_call("Heartbeat", {}, message_id=f"c{i}")
    sent(ep)
    assert [c.message_id for c in ep.abort_all()] == ["c0", "c1", "c2"]
    assert ep.next_call(0) is None


def test_our_own_invalid_call_is_flagged_when_sent() -> None:
    ep = RpcEndpoint(V21)
    ep.submit_call("BootNotification", {"reason": "PowerUp"})
    out = ep.next_call(0)
    assert out is not None
    assert [p.code for p in out.problems] == ["OccurrenceConstraintViolation"]


# ------------------------------------------------------------ §4.1.7 invalid CALL content

INVALID_BOOTS = [
    # missing required -> OccurrenceConstraintViolation
    ({"reason": "PowerUp"}, "OccurrenceConstraintViolation"),
    # wrong JSON type -> TypeConstraintViolation
    ({"reason": "PowerUp", "chargingStation": {"model": 5, "vendorName": "V"}}, "TypeConstraintViolation"),
    # value outside the enum -> PropertyConstraintViolation
    ({"reason": "Bored", "chargingStation": {"model": "M", "vendorName": "V"}},
     "PropertyConstraintViolation"),
    # too long -> PropertyConstraintViolation
    ({"reason": "PowerUp", "chargingStation": {"model": "M" * 21, "vendorName": "V"}},
     "PropertyConstraintViolation"),
    # property the schema does not allow -> FormatViolation
    ({**BOOT, "colour": "red"}, "FormatViolation"),
]  # fmt: skip


@pytest.mark.parametrize(("payload", "code"), INVALID_BOOTS, ids=[c for _, c in INVALID_BOOTS])
def test_invalid_call_payload_gets_callerror_with_mapped_code(payload: dict[str, Any], code: str) -> None:
    ep = RpcEndpoint(V21)
    inbound = ep.receive(text(2, "b1", "BootNotification", payload), 0)
    assert not inbound.deliver
    assert inbound.problems and inbound.problems[0].code == code
    reply = inbound.reply
    assert isinstance(reply, CallError)
    assert reply.message_id == "b1"
    assert reply.error_code == code
    assert reply.description.startswith("BootNotification")
    assert reply.details["problems"][0]["message"]
    # Validation-failed calls are not "being handled": the id is free for a corrected retry.
    assert ep.receive(text(2, "b1", "BootNotification", BOOT), 1).deliver


def test_invalid_call_on_16_uses_16_spelling() -> None:
    # OCPP-J 1.6 keeps the "FormationViolation" spelling (ocpp21-notes §1.5).
    ep = RpcEndpoint(V16)
    payload = {"chargePointVendor": "V", "chargePointModel": "M", "colour": "red"}
    inbound = ep.receive(text(2, "b1", "BootNotification", payload), 0)
    assert isinstance(inbound.reply, CallError)
    assert inbound.reply.error_code == "FormationViolation"


def test_valid_call_is_delivered_and_answered_by_application() -> None:
    ep = RpcEndpoint(V21)
    inbound = ep.receive(text(2, "b1", "BootNotification", BOOT), 10.0)
    assert inbound.deliver and inbound.reply is None and inbound.problems == []
    assert isinstance(inbound.frame, Call)
    out = ep.make_result(inbound.frame, BOOT_OK, 10.5)
    assert json.loads(out.text) == [3, "b1", BOOT_OK]
    assert out.problems == [] and out.latency == pytest.approx(0.5)
    assert out.action == "BootNotification"


def test_our_own_invalid_result_is_flagged() -> None:
    ep = RpcEndpoint(V21)
    inbound = ep.receive(text(2, "h1", "Heartbeat", {}), 0)
    assert isinstance(inbound.frame, Call)
    out = ep.make_result(inbound.frame, {}, 0)
    assert [p.code for p in out.problems] == ["OccurrenceConstraintViolation"]


def test_handler_error_becomes_callerror_with_call_id() -> None:
    ep = RpcEndpoint(V21)
    inbound = ep.receive(text(2, "r1", "Reset", {"type": "Immediate"}), 0)
    assert isinstance(inbound.frame, Call)
    out = ep.make_error(inbound.frame, errors.NotSupported("no resets here"), 0.2)
    assert json.loads(out.text) == [4, "r1", "NotSupported", "no resets here", {}]
    assert out.latency == pytest.approx(0.2)


def test_unknown_action_gets_not_implemented() -> None:
    ep = RpcEndpoint(V21)
    inbound = ep.receive(text(2, "x1", "MakeCoffee", {}), 0)
    assert not inbound.deliver
    assert isinstance(inbound.reply, CallError)
    assert (inbound.reply.message_id, inbound.reply.error_code) == ("x1", "NotImplemented")


def test_action_with_request_suffix_gets_not_implemented_naming_the_suffix() -> None:
    # §4.1.6: the action is the message name without "Request".
    ep = RpcEndpoint(V21)
    inbound = ep.receive(text(2, "x1", "BootNotificationRequest", BOOT), 0)
    assert isinstance(inbound.reply, CallError)
    assert inbound.reply.error_code == "NotImplemented"
    assert "'Request' suffix" in inbound.reply.description


def test_21_only_action_is_unknown_on_201() -> None:
    ep = RpcEndpoint(V201)
    inbound = ep.receive(text(2, "x1", "BatterySwap", {}), 0)
    assert isinstance(inbound.reply, CallError) and inbound.reply.error_code == "NotImplemented"


def test_duplicate_in_flight_call_id_gets_callerror() -> None:
    # §4.2.3: "an existing message with the same unique identifier is being handled already".
    ep = RpcEndpoint(V21)
    first = ep.receive(text(2, "dup", "Heartbeat", {}), 0)
    assert first.deliver
    second = ep.receive(text(2, "dup", "Heartbeat", {}), 0.1)
    assert not second.deliver
    assert isinstance(second.reply, CallError)
    assert (second.reply.message_id, second.reply.error_code) == ("dup", "RpcFrameworkError")
    # Once answered, a retry with the same id is allowed (§4.1.4).
    assert isinstance(first.frame, Call)
    ep.make_result(first.frame, HEARTBEAT_OK, 0.2)
    assert ep.receive(text(2, "dup", "Heartbeat", {}), 0.3).deliver


# ------------------------------------------------------------ §4.2.3 unreadable frames


@pytest.mark.parametrize("garbage", ["not json at all", '{"id": 1}', "[]", '[2, 17, "Heartbeat", {}]'])
def test_unreadable_frame_gets_callerror_minus_one(garbage: str) -> None:
    ep = RpcEndpoint(V21)
    inbound = ep.receive(garbage, 0)
    assert inbound.frame is None and not inbound.deliver
    reply = inbound.reply
    assert isinstance(reply, CallError)
    assert (reply.message_id, reply.error_code) == ("-1", "RpcFrameworkError")
    assert inbound.problems[0].code == "RpcFrameworkError"


def test_malformed_call_with_readable_id_keeps_its_id() -> None:
    ep = RpcEndpoint(V21)
    inbound = ep.receive('[2,"m7","Heartbeat"]', 0)
    assert isinstance(inbound.reply, CallError)
    assert (inbound.reply.message_id, inbound.reply.error_code) == ("m7", "RpcFrameworkError")


def test_call_with_null_payload_gets_protocol_error() -> None:
    ep = RpcEndpoint(V21)
    inbound = ep.receive('[2,"m7","Heartbeat",null]', 0)
    assert isinstance(inbound.reply, CallError)
    assert (inbound.reply.message_id, inbound.reply.error_code) == ("m7", "ProtocolError")
    assert inbound.action == "Heartbeat"


@pytest.mark.parametrize(
    ("version", "frame_text"),
    [
        (V21, '[8,"t1","Heartbeat",{}]'),
        (V201, '[8,"t1","Heartbeat",{}]'),
        # On 2.0.1, types 5 and 6 are as unknown as 8 (ocpp21-notes §1.4).
        (V201, '[5,"t1","GenericError","",{}]'),
        (V201, '[6,"t1","NotifyPeriodicEventStream",{}]'),
    ],
)
def test_unknown_message_type_gets_message_type_not_supported(version: OcppVersion, frame_text: str) -> None:
    ep = RpcEndpoint(version)
    inbound = ep.receive(frame_text, 0)
    assert not inbound.deliver
    assert isinstance(inbound.reply, CallError)
    assert (inbound.reply.message_id, inbound.reply.error_code) == ("t1", "MessageTypeNotSupported")


@pytest.mark.parametrize(
    "frame_text",
    ['[4,"zz","GenericError"]', '[4,17,"GenericError","",{}]', '[3,"zz",{},1]', '[5,"zz","E"]'],
)
def test_broken_answers_are_never_answered_with_callerror(frame_text: str) -> None:
    # There is no CALL to fail; answering an answer would start a loop.
    ep = RpcEndpoint(V21)
    inbound = ep.receive(frame_text, 0)
    assert inbound.reply is None
    assert inbound.problems


# ------------------------------------------------------------ results that cannot be used


def test_21_schema_invalid_result_gets_callresulterror_and_call_fails() -> None:
    ep = RpcEndpoint(V21)
    call = ep.submit_call("BootNotification", BOOT, message_id="b1")
    ep.submit_call("Heartbeat", {}, message_id="h1")
    sent(ep)
    inbound = ep.receive(text(3, "b1", {"currentTime": "2026-01-01T00:00:00Z", "status": "Accepted"}), 0.1)
    assert inbound.answered == call
    assert isinstance(inbound.failure, errors.OccurrenceConstraintViolation)  # interval missing
    reply = inbound.reply
    assert isinstance(reply, CallResultError)
    assert reply.type is MessageType.CALLRESULTERROR
    assert reply.message_id == "b1"  # §4.1.4: id of the CALLRESULT it answers
    assert reply.error_code == "OccurrenceConstraintViolation"
    assert "interval" in reply.description
    assert sent(ep).message_id == "h1"  # the failed call is finished


def test_201_schema_invalid_result_fails_the_call_without_any_reply() -> None:
    # 2.0.1 has no way to reject a result; a CALLERROR in reply to a CALLRESULT is wrong.
    ep = RpcEndpoint(V201)
    call = ep.submit_call("BootNotification", BOOT, message_id="b1")
    sent(ep)
    inbound = ep.receive(text(3, "b1", {**BOOT_OK, "status": "Maybe"}), 0.1)
    assert inbound.answered == call
    assert isinstance(inbound.failure, errors.PropertyConstraintViolation)
    assert inbound.reply is None
    assert ep.outstanding is None


@pytest.mark.parametrize(("version", "replies"), [(V21, True), (V201, False)])
def test_structurally_broken_result_for_our_call(version: OcppVersion, replies: bool) -> None:
    ep = RpcEndpoint(version)
    call = ep.submit_call("Heartbeat", {}, message_id="h1")
    sent(ep)
    inbound = ep.receive('[3,"h1","not an object"]', 0.1)
    assert inbound.answered == call
    assert isinstance(inbound.failure, errors.ProtocolError)
    if replies:
        assert isinstance(inbound.reply, CallResultError) and inbound.reply.message_id == "h1"
    else:
        assert inbound.reply is None
    assert ep.outstanding is None


def test_callresulterror_for_our_result_names_the_action() -> None:
    ep = RpcEndpoint(V21)
    inbound = ep.receive(text(2, "a1", "Authorize", {"idToken": {"idToken": "T", "type": "ISO14443"}}), 0)
    assert isinstance(inbound.frame, Call)
    ep.make_result(inbound.frame, {"idTokenInfo": {"status": "Accepted"}}, 0)
    back = ep.receive(text(5, "a1", "FormatViolation", "tariff unreadable", {}), 0.1)
    assert back.message_type == 5 and back.action == "Authorize"
    assert back.reply is None and back.notes == []
    stray = ep.receive(text(5, "zz", "FormatViolation", "", {}), 0.2)
    assert stray.reply is None and stray.notes


# ------------------------------------------------------------ §4.3 CALLERROR for our call


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("NotSupported", errors.NotSupported),
        ("SecurityError", errors.SecurityError),
        ("FormationViolation", errors.FormatViolation),  # OCPP 1.6 spelling
        ("OccurenceConstraintViolation", errors.OccurrenceConstraintViolation),  # 1.6 / some 2.0.1 peers
        ("NotImplemented", errors.NotImplementedOcpp),
    ],
)
def test_callerror_for_our_call_becomes_typed_error(code: str, expected: type[errors.OcppError]) -> None:
    ep = RpcEndpoint(V21)
    call = ep.submit_call("SetChargingProfile", {}, message_id="p1")
    sent_out = ep.next_call(0)
    assert sent_out is not None
    inbound = ep.receive(text(4, "p1", code, "no smart charging", {"hint": 1}), 0.1)
    assert inbound.answered == call and inbound.action == "SetChargingProfile"
    assert type(inbound.failure) is expected
    assert inbound.failure.description == "no smart charging"
    assert inbound.failure.details == {"hint": 1}
    assert inbound.reply is None


def test_unknown_error_code_becomes_generic_error_keeping_the_code() -> None:
    ep = RpcEndpoint(V21)
    ep.submit_call("Heartbeat", {}, message_id="h1")
    sent(ep)
    inbound = ep.receive(text(4, "h1", "Teapot", "", {}), 0.1)
    assert type(inbound.failure) is errors.GenericError
    assert inbound.failure.details["receivedCode"] == "Teapot"


# ------------------------------------------------------------ §4.2.4 SEND


def test_valid_send_is_delivered_never_answered() -> None:
    ep = RpcEndpoint(V21)
    payload = {"id": 1, "pending": 0, "basetime": "2026-01-01T00:00:00Z", "data": [{"t": 0, "v": "1"}]}
    inbound = ep.receive(text(6, "s1", "NotifyPeriodicEventStream", payload), 0)
    assert inbound.deliver and inbound.reply is None


@pytest.mark.parametrize(
    "frame_text",
    [
        '[6,"s1","NotifyPeriodicEventStream",{"id":"one"}]',  # schema-invalid
        '[6,"s1","Heartbeat",{}]',  # not a SEND action
        '[6,"s1","NotifyPeriodicEventStream"]',  # wrong element count
        '[6,"s1","NotifyPeriodicEventStream",null]',  # payload not an object
    ],
)
def test_broken_send_is_not_answered_either(frame_text: str) -> None:
    ep = RpcEndpoint(V21)
    inbound = ep.receive(frame_text, 0)
    assert inbound.reply is None
    assert not inbound.deliver
    assert inbound.problems


def test_send_goes_out_while_a_call_is_outstanding() -> None:
    ep = RpcEndpoint(V21)
    ep.submit_call("Heartbeat", {}, message_id="h1")
    sent(ep)
    out = ep.make_send(
        "NotifyPeriodicEventStream",
        {"id": 1, "pending": 0, "basetime": "2026-01-01T00:00:00Z", "data": [{"t": 0, "v": "1"}]},
    )
    assert out.frame.type is MessageType.SEND and out.problems == []
    assert ep.outstanding is not None and ep.outstanding.message_id == "h1"


def test_send_cannot_be_made_on_201() -> None:
    with pytest.raises(ValueError, match=r"ocpp2\.1"):
        RpcEndpoint(V201).make_send("NotifyPeriodicEventStream", {})
