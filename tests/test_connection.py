"""OcppConnection over real websockets on loopback (app/transport/connection.py).

Both ends are ours (station side through `open_station_socket`, CSMS side through
`start_server`), except in the interop tests at the end, where the CSMS is the independent
`ocpp` library (mobilityhouse). Part 4 references: §4.1.1 (one outstanding CALL per direction,
calls may cross, timeouts), §4.2.3 (CALLERROR, "-1" for unreadable frames, CALLRESULTERROR),
§4.2.4 (SEND).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from ocpp.routing import on
from websockets.asyncio.server import ServerConnection, serve

from app.inspector.records import CaptureRecord
from app.protocol import errors
from app.protocol.frames import Call, Send
from app.protocol.schemas import OcppVersion
from app.transport.client import ClientSettings, open_station_socket
from app.transport.connection import OcppConnection
from tests.helpers_ws import TIMESTAMP, open_pair, server_port, wait_until

V21, V201 = OcppVersion.V21, OcppVersion.V201
BOOT = {"reason": "PowerUp", "chargingStation": {"model": "M1", "vendorName": "V"}}
BOOT_OK = {"currentTime": TIMESTAMP, "interval": 300, "status": "Accepted"}
STREAM = {"id": 3, "pending": 0, "basetime": TIMESTAMP, "data": [{"t": 0, "v": "230.1"}]}


async def csms_answers(call: Call) -> dict[str, Any]:
    """A CSMS handler: valid answers for the few station-initiated actions used here."""
    if call.action == "Heartbeat":
        await asyncio.sleep(0.02)  # long enough for the other side's CALL to cross this one
        return {"currentTime": TIMESTAMP}
    if call.action == "BootNotification":
        return BOOT_OK
    raise errors.NotSupported(f"test CSMS does not do {call.action}")


async def station_answers(call: Call) -> dict[str, Any]:
    if call.action == "Reset":
        await asyncio.sleep(0.02)
        return {"status": "Accepted"}
    if call.action == "UnlockConnector":
        raise errors.NotSupported("this station has a fixed cable")
    if call.action == "ClearCache":
        raise RuntimeError("cache on fire")
    raise errors.NotImplementedOcpp(call.action)


def calls_never_overlap(records: list[CaptureRecord], caller: str) -> None:
    """§4.1.1: between a CALL of `caller` and its answer, `caller` sent no other CALL."""
    open_id: str | None = None
    for rec in records:
        if rec.sender == caller and rec.message_type == 2:
            assert open_id is None, f"{caller} sent {rec.message_id} while {open_id} was outstanding"
            open_id = rec.message_id
        elif rec.sender != caller and rec.message_type in (3, 4) and rec.message_id == open_id:
            open_id = None


async def test_calls_both_ways_concurrently_keep_one_outstanding_per_direction() -> None:
    async with open_pair(csms_handler=csms_answers, station_handler=station_answers) as pair:
        assert pair.version is V21
        station_side = [pair.station.call("Heartbeat", {}) for _ in range(5)]
        csms_side = [pair.csms.call("Reset", {"type": "Immediate"}) for _ in range(5)]
        results = await asyncio.gather(*station_side, *csms_side)

    assert results[:5] == [{"currentTime": TIMESTAMP}] * 5
    assert results[5:] == [{"status": "Accepted"}] * 5
    for observer in ("station", "csms"):
        seen = pair.seen_by(observer)
        assert len(seen) == 20  # 10 CALLs + 10 CALLRESULTs, each seen once at this end
        calls_never_overlap(seen, "station")
        calls_never_overlap(seen, "csms")
    # The two directions really did cross: at some point both had a CALL open.
    open_calls: set[str] = set()
    crossed = False
    for rec in pair.seen_by("station"):
        if rec.message_type == 2:
            open_calls.add(rec.sender)
        elif rec.message_type == 3:
            open_calls.discard("csms" if rec.sender == "station" else "station")
        crossed |= open_calls == {"station", "csms"}
    assert crossed


async def test_capture_has_one_record_per_frame_per_side() -> None:
    async with open_pair(csms_handler=csms_answers, station_handler=station_answers) as pair:
        await pair.station.call("BootNotification", BOOT)
        await pair.csms.call("Reset", {"type": "OnIdle"})

    for observer in ("station", "csms"):
        seen = pair.seen_by(observer)
        assert [(r.sender, r.frame_type, r.action) for r in seen] == [
            ("station", "CALL", "BootNotification"),
            ("csms", "CALLRESULT", "BootNotification"),
            ("csms", "CALL", "Reset"),
            ("station", "CALLRESULT", "Reset"),
        ]
        assert all(r.valid and r.version == "ocpp2.1" and r.station == "CP1" for r in seen)
        assert all(r.connection == f"CP1@{observer}" for r in seen)
        assert seen[0].message_id == seen[1].message_id != seen[2].message_id == seen[3].message_id
        assert seen[0].latency_ms is None and seen[2].latency_ms is None  # CALLs carry none
        assert seen[1].payload == BOOT_OK
    # Both ends saw the same bytes.
    assert [r.raw for r in pair.seen_by("station")] == [r.raw for r in pair.seen_by("csms")]
    # Latency: at the caller, send -> answer; at the callee, receive -> answer. The station's
    # Reset handler takes 20 ms, so both ends must report at least that much for Reset.
    station_reset_result = pair.seen_by("station")[3]
    csms_reset_result = pair.seen_by("csms")[3]
    assert station_reset_result.latency_ms is not None and station_reset_result.latency_ms >= 19
    assert csms_reset_result.latency_ms is not None
    assert csms_reset_result.latency_ms >= station_reset_result.latency_ms


async def test_handler_ocpp_error_is_returned_as_callerror() -> None:
    async with open_pair(station_handler=station_answers) as pair:
        with pytest.raises(errors.NotSupported, match="fixed cable"):
            await pair.csms.call("UnlockConnector", {"evseId": 1, "connectorId": 1})
        with pytest.raises(errors.InternalError, match="RuntimeError: cache on fire"):
            await pair.csms.call("ClearCache", {})
        # No handler installed on the CSMS end: InternalError rather than silence.
        with pytest.raises(errors.InternalError, match="no handler"):
            await pair.station.call("Heartbeat", {})
    error_frames = [r for r in pair.seen_by("csms") if r.message_type == 4 and r.sender == "station"]
    assert [(r.action, r.payload["errorCode"]) for r in error_frames] == [
        ("UnlockConnector", "NotSupported"),
        ("ClearCache", "InternalError"),
    ]


async def test_garbage_gets_callerror_minus_one_and_connection_keeps_working() -> None:
    async with open_pair(csms_handler=csms_answers) as pair:
        await pair.station.send_raw("}{ not json")
        await wait_until(lambda: any(r.message_id == "-1" for r in pair.seen_by("station")))
        answer = next(r for r in pair.seen_by("station") if r.message_id == "-1")
        assert (answer.sender, answer.message_type) == ("csms", 4)
        assert answer.payload["errorCode"] == "RpcFrameworkError"

        raw_record = pair.seen_by("station")[0]
        assert raw_record.raw == "}{ not json" and raw_record.message_type is None
        assert raw_record.notes == ["sent raw"]
        csms_view = pair.seen_by("csms")[0]
        assert csms_view.raw == "}{ not json" and not csms_view.valid

        # A well-formed CALL of an unknown action keeps its id in the CALLERROR.
        await pair.station.send_raw('[2,"raw-1","MakeCoffee",{}]')
        await wait_until(lambda: any(r.message_id == "raw-1" and r.message_type == 4 for r in pair.records))

        # JSON that is not a frame: captured without inventing a type.
        await pair.station.send_raw('"just a string"')
        await wait_until(lambda: len([r for r in pair.seen_by("station") if r.message_id == "-1"]) == 2)
        assert pair.seen_by("station")[-2].message_type is None

        assert await pair.station.call("Heartbeat", {}) == {"currentTime": TIMESTAMP}
        assert not pair.station.closed and not pair.csms.closed


async def test_peer_closing_mid_call_raises_connection_lost() -> None:
    never = asyncio.Event()

    async def stuck(call: Call) -> dict[str, Any]:
        await never.wait()
        return {}

    async with open_pair(csms_handler=stuck) as pair:
        first = asyncio.ensure_future(pair.station.call("Heartbeat", {}))
        queued = asyncio.ensure_future(pair.station.call("Heartbeat", {}))
        await wait_until(lambda: len(pair.seen_by("csms")) == 1)
        await pair.csms.close(1001, "going away")
        with pytest.raises(errors.ConnectionLost, match="1001"):
            await first
        with pytest.raises(errors.ConnectionLost):
            await queued
        await asyncio.wait_for(pair.station.wait_closed(), 2)
        assert pair.station.closed
        with pytest.raises(errors.ConnectionLost):
            await pair.station.call("Heartbeat", {})


async def test_call_timeout_then_next_queued_call_proceeds_and_late_result_is_noted() -> None:
    calls = 0

    async def slow_first(call: Call) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        if calls == 1:
            await asyncio.sleep(0.35)
        return {"currentTime": TIMESTAMP}

    async with open_pair(csms_handler=slow_first) as pair:
        started = time.monotonic()
        first = asyncio.ensure_future(pair.station.call("Heartbeat", {}, timeout=0.2))
        second = asyncio.ensure_future(pair.station.call("Heartbeat", {}))
        with pytest.raises(errors.CallTimeout, match=r"within 0\.2 s"):
            await first
        assert time.monotonic() - started >= 0.19
        assert await asyncio.wait_for(second, 2) == {"currentTime": TIMESTAMP}

        # The second CALL left only after the first had timed out (§4.1.1).
        station_calls = [r for r in pair.seen_by("station") if r.message_type == 2]
        assert len(station_calls) == 2
        assert (station_calls[1].time - station_calls[0].time).total_seconds() >= 0.19

        # The slow answer still arrives; it is captured with a note, not matched to call two.
        await wait_until(lambda: len([r for r in pair.seen_by("station") if r.message_type == 3]) == 2)
        late = next(
            r
            for r in pair.seen_by("station")
            if r.message_id == station_calls[0].message_id and r.message_type == 3
        )
        assert late.action == "Heartbeat"
        assert any("timed out" in n for n in late.notes)
        assert await pair.station.call("Heartbeat", {}) == {"currentTime": TIMESTAMP}


async def test_cancelled_caller_frees_the_slot() -> None:
    never = asyncio.Event()

    async def stuck_once(call: Call) -> dict[str, Any]:
        if call.action == "BootNotification":
            await never.wait()
        return {"currentTime": TIMESTAMP}

    async with open_pair(csms_handler=stuck_once) as pair:
        hanging = asyncio.ensure_future(pair.station.call("BootNotification", BOOT))
        await wait_until(lambda: len(pair.seen_by("csms")) == 1)
        hanging.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await hanging
        assert await asyncio.wait_for(pair.station.call("Heartbeat", {}), 2) == {"currentTime": TIMESTAMP}


@pytest.mark.parametrize(("offered", "reply_type"), [((V21,), 5), ((V201,), None)])
async def test_unusable_result_fails_the_call_and_21_answers_with_callresulterror(
    offered: tuple[OcppVersion, ...], reply_type: int | None
) -> None:
    async def bad_heartbeat(call: Call) -> dict[str, Any]:
        return {"currentTime": "yesterday"}

    async with open_pair(csms_handler=bad_heartbeat, offered=offered) as pair:
        for _ in range(2):
            with pytest.raises(errors.PropertyConstraintViolation, match="currentTime"):
                await pair.station.call("Heartbeat", {})
        # The CSMS flags its own bad result at the moment it sends it.
        own = [r for r in pair.seen_by("csms") if r.message_type == 3]
        assert own and own[0].problems and "currentTime" in own[0].problems[0]
    # Frames stay in order on the socket: whatever the station sent back about the first result
    # reached the CSMS before the second CALL did.
    seen = pair.seen_by("csms")
    second_call = [i for i, r in enumerate(seen) if r.message_type == 2][1]
    back = [r for r in seen[:second_call] if r.sender == "station" and r.message_type != 2]
    if reply_type is None:
        assert back == []  # 2.0.1: nothing may be sent in reply to a CALLRESULT
    else:
        assert [(r.message_type, r.action, r.message_id) for r in back] == [
            (5, "Heartbeat", own[0].message_id)
        ]
        assert back[0].payload["errorCode"] == "PropertyConstraintViolation"


async def test_send_is_delivered_and_never_answered() -> None:
    received: list[Send] = []

    def on_send(send: Send) -> None:
        received.append(send)

    async with open_pair(csms_handler=csms_answers, csms_send_handler=on_send) as pair:
        await pair.station.send("NotifyPeriodicEventStream", STREAM)
        await pair.station.send_raw('[6,"bad-send","NotifyPeriodicEventStream",{"id":"x"}]')
        # Frames on one socket stay in order: once this answer is back, any answer to the
        # SENDs would have been sent before it.
        await pair.station.call("Heartbeat", {})
    assert [(s.action, s.payload) for s in received] == [("NotifyPeriodicEventStream", STREAM)]
    answers = [r for r in pair.seen_by("station") if r.sender == "csms"]
    assert [r.action for r in answers] == ["Heartbeat"]


async def test_station_id_and_version_reach_the_csms_end() -> None:
    async with open_pair(csms_handler=csms_answers, station_id="RDAM|123", offered=(V201,)) as pair:
        await pair.station.call("Heartbeat", {})
        assert pair.csms.station_id == "RDAM|123"
        assert pair.csms.version is V201 and pair.station.version is V201
    assert {r.station for r in pair.records} == {"RDAM|123"}


# ------------------------------------------------------------ interop: `ocpp` library as CSMS


def lib_csms_class(version: OcppVersion) -> type:
    if version is V21:
        from ocpp.v21 import ChargePoint, call_result
    else:
        from ocpp.v201 import ChargePoint, call_result

    class LibCsms(ChargePoint):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.boots: list[dict[str, Any]] = []

        @on("BootNotification")
        async def on_boot(self, charging_station: dict[str, Any], reason: str, **_: Any) -> Any:
            self.boots.append({"chargingStation": charging_station, "reason": reason})
            return call_result.BootNotification(current_time=TIMESTAMP, interval=42, status="Accepted")

        @on("Heartbeat")
        async def on_heartbeat(self, **_: Any) -> Any:
            return call_result.Heartbeat(current_time=TIMESTAMP)

    return LibCsms


@contextlib.asynccontextmanager
async def lib_csms(version: OcppVersion) -> AsyncIterator[tuple[int, asyncio.Queue[Any]]]:
    """The mobilityhouse `ocpp` ChargePoint as the CSMS end; yields (port, its ChargePoints)."""
    cls = lib_csms_class(version)
    cps: asyncio.Queue[Any] = asyncio.Queue()

    async def handler(ws: ServerConnection) -> None:
        assert ws.request is not None
        cp = cls(ws.request.path.rsplit("/", 1)[-1], ws, response_timeout=5)
        cps.put_nowait(cp)
        with contextlib.suppress(Exception):
            await cp.start()

    async with serve(handler, "127.0.0.1", 0, subprotocols=[str(version)]) as server:  # type: ignore[list-item]
        yield server_port(server), cps


@pytest.mark.parametrize("version", [V201, V21])
async def test_interop_our_station_connection_with_ocpp_library_csms(version: OcppVersion) -> None:
    # The library does not negotiate: its server is told which single subprotocol to accept.
    async with lib_csms(version) as (port, cps):
        ws, picked = await open_station_socket(
            ClientSettings(f"ws://127.0.0.1:{port}/ocpp", "LIB1", versions=(V21, V201))
        )
        assert picked is version
        records: list[CaptureRecord] = []
        station = OcppConnection(
            ws,
            picked,
            station_id="LIB1",
            local_role="station",
            capture=records.append,
            handler=station_answers,
            call_timeout=5,
        )
        runner = asyncio.create_task(station.run())
        try:
            assert await station.call("BootNotification", BOOT) == {**BOOT_OK, "interval": 42}
            assert await station.call("Heartbeat", {}) == {"currentTime": TIMESTAMP}
            cp = await asyncio.wait_for(cps.get(), 2)
            assert cp.boots == [{"chargingStation": {"model": "M1", "vendor_name": "V"}, "reason": "PowerUp"}]

            # And the other way: the library calls us, we answer, it validates and parses.
            if version is V21:
                from ocpp.v21 import call
            else:
                from ocpp.v201 import call
            reset = await cp.call(call.Reset(type="Immediate"), suppress=False)
            assert reset.status == "Accepted"
            from ocpp.exceptions import NotSupportedError

            with pytest.raises(NotSupportedError):
                await cp.call(call.UnlockConnector(evse_id=1, connector_id=1), suppress=False)
        finally:
            await station.close()
            await asyncio.wait_for(runner, 5)
    assert all(r.valid for r in records)
    assert [r.frame_type for r in records].count("CALLERROR") == 1
