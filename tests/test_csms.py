"""The built-in CSMS (app/csms/csms.py) with a real station connection on loopback.

The station end is a bare `OcppConnection` (our RPC layer, validating every answer against the
2.1 schemas) or, in the interop tests, the independent `ocpp` library's ChargePoint. Answers are
cross-checked with `jsonschema` (Draft 6 + format checker), independent of the jsonschema-rs
validator the app uses. Requirement ids: B01.FR.02 (boot answered), B01.FR.10 / B02.FR.09 /
B03.FR.07 (SecurityError for calls before acceptance), B02.FR.02 (exceptions for reports),
Part 4 §4.2.4 (SEND not answered).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from websockets.asyncio.client import connect as ws_connect

from app.csms.csms import Csms, CsmsConfig
from app.inspector.records import CaptureRecord
from app.protocol import errors, schemas
from app.protocol.frames import Call
from app.protocol.schemas import Kind, OcppVersion
from app.transport.client import ClientSettings, ConnectError, open_station_socket
from app.transport.connection import CallHandler, OcppConnection
from tests.helpers_ws import TIMESTAMP, minimal_instance, wait_until

V21, V201 = OcppVersion.V21, OcppVersion.V201
NOTES = Path(__file__).resolve().parents[2] / "shared" / "ocpp21-notes.md"

# Direction of every 2.1 action, from ocpp21-notes §2 (Part 2 use cases). The test below checks
# that together they are exactly the actions of the 2.1 schema directory.
CS_TO_CSMS = frozenset({
    "Authorize", "BatterySwap", "BootNotification", "ClearedChargingLimit", "ClosePeriodicEventStream",
    "FirmwareStatusNotification", "Get15118EVCertificate", "GetCertificateChainStatus",
    "GetCertificateStatus", "Heartbeat", "LogStatusNotification", "MeterValues", "NotifyChargingLimit",
    "NotifyCustomerInformation", "NotifyDERAlarm", "NotifyDERStartStop", "NotifyDisplayMessages",
    "NotifyEVChargingNeeds", "NotifyEVChargingSchedule", "NotifyEvent", "NotifyMonitoringReport",
    "NotifyPriorityCharging", "NotifyReport", "NotifySettlement", "OpenPeriodicEventStream",
    "PublishFirmwareStatusNotification", "PullDynamicScheduleUpdate", "ReportChargingProfiles",
    "ReportDERControl", "ReservationStatusUpdate", "SecurityEventNotification", "SignCertificate",
    "StatusNotification", "TransactionEvent", "VatNumberValidation",
})  # fmt: skip
BOTH_WAYS = frozenset({"DataTransfer"})
CSMS_TO_CS = frozenset({
    "AFRRSignal", "AdjustPeriodicEventStream", "CancelReservation", "CertificateSigned",
    "ChangeAvailability", "ChangeTransactionTariff", "ClearCache", "ClearChargingProfile",
    "ClearDERControl", "ClearDisplayMessage", "ClearTariffs", "ClearVariableMonitoring", "CostUpdated",
    "CustomerInformation", "DeleteCertificate", "GetBaseReport", "GetChargingProfiles",
    "GetCompositeSchedule", "GetDERControl", "GetDisplayMessages", "GetInstalledCertificateIds",
    "GetLocalListVersion", "GetLog", "GetMonitoringReport", "GetPeriodicEventStream", "GetReport",
    "GetTariffs", "GetTransactionStatus", "GetVariables", "InstallCertificate",
    "NotifyAllowedEnergyTransfer", "NotifyWebPaymentStarted", "PublishFirmware", "RequestBatterySwap",
    "RequestStartTransaction", "RequestStopTransaction", "ReserveNow", "Reset", "SendLocalList",
    "SetChargingProfile", "SetDERControl", "SetDefaultTariff", "SetDisplayMessage", "SetMonitoringBase",
    "SetMonitoringLevel", "SetNetworkProfile", "SetVariableMonitoring", "SetVariables", "TriggerMessage",
    "UnlockConnector", "UnpublishFirmware", "UpdateDynamicSchedule", "UpdateFirmware", "UsePriorityCharging",
})  # fmt: skip
SEND_CS_TO_CSMS = frozenset({"NotifyPeriodicEventStream"})

BOOT = {"reason": "PowerUp", "chargingStation": {"model": "M1", "vendorName": "V", "serialNumber": "S1"}}


def id_token(value: str) -> dict[str, str]:
    return {"idToken": value, "type": "ISO14443"}


def jsonschema_problems(version: OcppVersion, action: str, kind: Kind, payload: Any) -> list[str]:
    """Independent cross-check of a payload with `jsonschema` (not the app's jsonschema-rs)."""
    doc = schemas.schema(version, action, kind)
    assert doc is not None, f"no {kind} schema for {action}"
    validator = jsonschema.Draft6Validator(doc, format_checker=jsonschema.Draft6Validator.FORMAT_CHECKER)
    return [
        f"{'.'.join(map(str, e.absolute_path)) or '(payload)'}: {e.message}"
        for e in validator.iter_errors(payload)
    ]


# ------------------------------------------------------------ fixtures


@pytest.fixture
async def start_csms() -> AsyncIterator[Callable[..., Awaitable[Csms]]]:
    started: list[Csms] = []

    async def start(config: CsmsConfig | None = None, **kwargs: Any) -> Csms:
        csms = Csms(config, **kwargs)
        await csms.start(port=0)
        started.append(csms)
        return csms

    yield start
    for csms in started:
        await csms.stop()


@contextlib.asynccontextmanager
async def station_at(
    csms: Csms,
    station_id: str = "CP1",
    *,
    versions: Sequence[OcppVersion] = (V21,),
    password: str | None = None,
    handler: CallHandler | None = None,
    records: list[CaptureRecord] | None = None,
) -> AsyncIterator[OcppConnection]:
    ws, version = await open_station_socket(
        ClientSettings(csms.url, station_id, versions=versions, password=password, open_timeout=5)
    )
    conn = OcppConnection(
        ws,
        version,
        station_id=station_id,
        local_role="station",
        handler=handler,
        call_timeout=5,
        capture=records.append if records is not None else None,
    )
    runner = asyncio.create_task(conn.run())
    try:
        yield conn
    finally:
        await conn.close()
        await asyncio.wait_for(runner, 5)


# ------------------------------------------------------------ the action catalogue


def test_direction_table_covers_exactly_the_21_schema_actions() -> None:
    tables = [CS_TO_CSMS, BOTH_WAYS, CSMS_TO_CS]
    assert sum(len(t) for t in tables) == len(CS_TO_CSMS | BOTH_WAYS | CSMS_TO_CS)  # disjoint
    assert schemas.actions(V21) == CS_TO_CSMS | BOTH_WAYS | CSMS_TO_CS
    assert schemas.send_actions(V21) == SEND_CS_TO_CSMS
    assert len(CS_TO_CSMS) == 35 and len(CSMS_TO_CS) == 54


@pytest.mark.skipif(not NOTES.is_file(), reason="shared/ocpp21-notes.md not beside the repo")
def test_direction_table_matches_the_notes() -> None:
    text = NOTES.read_text(encoding="utf-8").split("## 2. Message catalogue", 1)[1].split("Totals", 1)[0]
    rows = re.findall(r"^\| \**([A-Za-z0-9]+)\** \| (CS→CSMS|CSMS→CS|both) \|", text, re.MULTILINE)
    by_direction: dict[str, set[str]] = {}
    for action, direction in rows:
        by_direction.setdefault(direction, set()).add(action)
    assert by_direction["CS→CSMS"] == CS_TO_CSMS | SEND_CS_TO_CSMS
    assert by_direction["CSMS→CS"] == CSMS_TO_CS
    assert by_direction["both"] == BOTH_WAYS


def test_minimal_requests_are_valid_so_the_catalogue_test_means_something() -> None:
    for action in sorted(CS_TO_CSMS | BOTH_WAYS):
        request = minimal_instance(schemas.schema(V21, action, Kind.REQUEST))  # type: ignore[arg-type]
        assert jsonschema_problems(V21, action, Kind.REQUEST, request) == [], action
        assert schemas.validate(V21, action, Kind.REQUEST, request) == [], action


async def test_every_station_initiated_21_action_gets_a_schema_valid_answer(start_csms: Any) -> None:
    csms = await start_csms()
    failures: dict[str, str] = {}
    async with station_at(csms) as station:
        await station.call("BootNotification", BOOT)
        for action in sorted(CS_TO_CSMS | BOTH_WAYS):
            request = minimal_instance(schemas.schema(V21, action, Kind.REQUEST))  # type: ignore[arg-type]
            try:
                # Our station endpoint validates the answer (jsonschema-rs) and raises if unusable.
                response = await station.call(action, request)
            except errors.OcppError as exc:
                failures[action] = str(exc)
                continue
            problems = jsonschema_problems(V21, action, Kind.RESPONSE, response)
            if problems:
                failures[action] = "; ".join(problems)
    assert failures == {}


# ------------------------------------------------------------ boot (B01-B03)


async def test_boot_accepted_with_configured_interval(start_csms: Any) -> None:
    csms = await start_csms(CsmsConfig(heartbeat_interval=123))
    async with station_at(csms) as station:
        before = datetime.now(UTC)
        answer = await station.call("BootNotification", BOOT)
        assert answer["status"] == "Accepted"
        assert answer["interval"] == 123
        current = datetime.fromisoformat(answer["currentTime"].replace("Z", "+00:00"))
        assert abs((current - before).total_seconds()) < 5
        assert jsonschema_problems(V21, "BootNotification", Kind.RESPONSE, answer) == []
        link = await csms.wait_for_station("CP1", timeout=2)
        assert link.boot_status == "Accepted"
        assert link.boot_info == BOOT["chargingStation"]
        assert link.version is V21 and link.connected
        hb = await station.call("Heartbeat", {})
        assert set(hb) == {"currentTime"}


async def test_calls_before_boot_get_security_error(start_csms: Any) -> None:
    csms = await start_csms()
    async with station_at(csms) as station:
        with pytest.raises(errors.SecurityError, match="Heartbeat before BootNotification"):
            await station.call("Heartbeat", {})
        status = {"timestamp": TIMESTAMP, "connectorStatus": "Available", "evseId": 1, "connectorId": 1}
        with pytest.raises(errors.SecurityError):
            await station.call("StatusNotification", status)
        assert (await station.call("BootNotification", BOOT))["status"] == "Accepted"
        assert await station.call("StatusNotification", status) == {}
    assert csms.stations["CP1"].connector_status == {(1, 1): "Available"}


async def test_pending_boot_returns_pending_and_refuses_other_calls(start_csms: Any) -> None:
    csms = await start_csms(CsmsConfig(boot_status="Pending", boot_retry_interval=17))
    async with station_at(csms) as station:
        answer = await station.call("BootNotification", BOOT)
        assert (answer["status"], answer["interval"]) == ("Pending", 17)
        with pytest.raises(errors.SecurityError):  # B02.FR.09
            await station.call("Heartbeat", {})
        # B02.FR.02: reports the CSMS asked for (GetBaseReport) may still be sent while Pending.
        report = {"requestId": 1, "generatedAt": TIMESTAMP, "seqNo": 0}
        assert await station.call("NotifyReport", report) == {}
        # A later boot, once the CSMS accepts, lifts the restriction.
        csms.config.boot_status = "Accepted"
        assert (await station.call("BootNotification", BOOT))["status"] == "Accepted"
        await station.call("Heartbeat", {})


async def test_rejected_boot_refuses_other_calls(start_csms: Any) -> None:
    csms = await start_csms(CsmsConfig(boot_status="Rejected", boot_retry_interval=60))
    async with station_at(csms) as station:
        answer = await station.call("BootNotification", BOOT)
        assert (answer["status"], answer["interval"]) == ("Rejected", 60)
        with pytest.raises(errors.SecurityError):  # B03.FR.07
            await station.call("Authorize", {"idToken": id_token("AA")})


# ------------------------------------------------------------ authorization and transactions


async def test_authorize_with_token_configured_invalid(start_csms: Any) -> None:
    config = CsmsConfig(token_status={"deadbeef": "Invalid", "BLOCKED01": "Blocked"})
    csms = await start_csms(config)
    async with station_at(csms) as station:
        await station.call("BootNotification", BOOT)

        async def status(token: str) -> str:
            answer = await station.call("Authorize", {"idToken": id_token(token)})
            assert jsonschema_problems(V21, "Authorize", Kind.RESPONSE, answer) == []
            return str(answer["idTokenInfo"]["status"])

        # idTokens are case-insensitive (Part 2 IdTokenType); so is the configuration.
        assert await status("DEADBEEF") == "Invalid"
        assert await status("deadbeef") == "Invalid"
        assert await status("blocked01") == "Blocked"
        assert await status("04A2B3C4") == "Accepted"

        started = {
            "eventType": "Started",
            "timestamp": TIMESTAMP,
            "triggerReason": "Authorized",
            "seqNo": 0,
            "transactionInfo": {"transactionId": "tx-1"},
            "idToken": id_token("DeadBeef"),
            "evse": {"id": 1, "connectorId": 1},
        }
        answer = await station.call("TransactionEvent", started)
        assert answer["idTokenInfo"]["status"] == "Invalid"


async def test_transaction_events_update_the_csms_view(start_csms: Any) -> None:
    csms = await start_csms()
    async with station_at(csms) as station:
        await station.call("BootNotification", BOOT)
        sample = {
            "timestamp": TIMESTAMP,
            "sampledValue": [
                {
                    "value": 1.5,
                    "measurand": "Energy.Active.Import.Register",
                    "unitOfMeasure": {"unit": "kWh"},
                },
                {"value": 7200, "measurand": "Power.Active.Import", "unitOfMeasure": {"unit": "W"}},
                {"value": 40, "measurand": "SoC", "unitOfMeasure": {"unit": "Percent"}},
            ],
        }
        base = {
            "timestamp": TIMESTAMP,
            "transactionInfo": {"transactionId": "tx-9", "chargingState": "Charging"},
        }
        await station.call(
            "TransactionEvent",
            {
                **base,
                "eventType": "Started",
                "triggerReason": "CablePluggedIn",
                "seqNo": 0,
                "evse": {"id": 2},
                "meterValue": [sample],
            },
        )
        tx = csms.stations["CP1"].transactions["tx-9"]
        assert (tx.evse_id, tx.charging_state, tx.energy_wh, tx.power_w, tx.soc) == (
            2,
            "Charging",
            1500.0,
            7200.0,
            40.0,
        )
        assert tx.started is not None and tx.ended is None
        ended = {**base, "eventType": "Ended", "triggerReason": "StopAuthorized", "seqNo": 1}
        ended["transactionInfo"] = {"transactionId": "tx-9", "stoppedReason": "Local"}
        await station.call("TransactionEvent", ended)
        assert tx.ended is not None and tx.stopped_reason == "Local" and tx.last_seq_no == 1


async def test_201_station_boots_and_authorizes(start_csms: Any) -> None:
    csms = await start_csms(CsmsConfig(token_status={"BAD": "Invalid"}))
    async with station_at(csms, versions=(V201,)) as station:
        assert station.version is V201
        boot = await station.call("BootNotification", BOOT)
        assert jsonschema_problems(V201, "BootNotification", Kind.RESPONSE, boot) == []
        answer = await station.call("Authorize", {"idToken": id_token("bad")})
        assert answer["idTokenInfo"]["status"] == "Invalid"
    assert csms.stations["CP1"].version is V201


async def test_16_station_gets_16_statuses_for_21_only_verdicts(start_csms: Any) -> None:
    # NoCredit / NotAtThisTime / Unknown exist only in 2.x; a 1.6 charger must get a value of
    # its own enum (1.6 AuthorizationStatus), the nearest being Invalid.
    config = CsmsConfig(token_status={"POOR": "NoCredit", "NIGHT": "NotAtThisTime", "GONE": "Blocked"})
    csms = await start_csms(config)
    v16 = OcppVersion.V16
    async with station_at(csms, versions=(v16,)) as station:
        boot = {"chargePointVendor": "ChargeBench", "chargePointModel": "Test"}
        assert (await station.call("BootNotification", boot))["status"] == "Accepted"
        verdicts = (("POOR", "Invalid"), ("NIGHT", "Invalid"), ("GONE", "Blocked"), ("OK1", "Accepted"))
        for tag, expected in verdicts:
            answer = await station.call("Authorize", {"idTag": tag})
            assert answer["idTagInfo"]["status"] == expected
            assert jsonschema_problems(v16, "Authorize", Kind.RESPONSE, answer) == []
        start = {"connectorId": 1, "idTag": "POOR", "meterStart": 0, "timestamp": TIMESTAMP}
        answer = await station.call("StartTransaction", start)
        assert answer["idTagInfo"]["status"] == "Invalid"
        assert jsonschema_problems(v16, "StartTransaction", Kind.RESPONSE, answer) == []


# ------------------------------------------------------------ connection handling


async def test_basic_auth_passwords(start_csms: Any) -> None:
    csms = await start_csms(CsmsConfig(passwords={"CP1": "sixteen-chars-pw"}))
    async with station_at(csms, password="sixteen-chars-pw") as station:
        assert (await station.call("BootNotification", BOOT))["status"] == "Accepted"
    with pytest.raises(ConnectError, match="401"):
        async with station_at(csms, password="not-the-password"):
            pass
    with pytest.raises(ConnectError, match="401"):
        async with station_at(csms, "CP2", password="sixteen-chars-pw"):  # unknown station
            pass


async def test_console_call_reaches_the_station(start_csms: Any) -> None:
    csms = await start_csms()
    received: list[Call] = []

    async def station_handler(call: Call) -> dict[str, Any]:
        received.append(call)
        return {"status": "Accepted"}

    async with station_at(csms, handler=station_handler) as station:
        await station.call("BootNotification", BOOT)
        answer = await csms.call("CP1", "Reset", {"type": "OnIdle"}, timeout=2)
        assert answer == {"status": "Accepted"}
        assert [(c.action, c.payload) for c in received] == [("Reset", {"type": "OnIdle"})]
    with pytest.raises(errors.ConnectionLost, match="CP9"):
        await csms.call("CP9", "Reset", {"type": "OnIdle"})


async def test_capture_marks_emulated_stations_as_mirror_and_send_is_not_answered(start_csms: Any) -> None:
    records: list[CaptureRecord] = []
    csms = await start_csms(capture=records.append, mirror_stations={"CP1"})
    station_records: list[CaptureRecord] = []
    async with station_at(csms, records=station_records) as station:
        await station.call("BootNotification", BOOT)
        stream = {"id": 1, "pending": 0, "basetime": TIMESTAMP, "data": [{"t": 0, "v": "1"}]}
        await station.send("NotifyPeriodicEventStream", stream)
        await station.call("Heartbeat", {})
        await wait_until(lambda: len(records) == 5)
    assert [r.frame_type for r in records] == ["CALL", "CALLRESULT", "SEND", "CALL", "CALLRESULT"]
    assert all(r.mirror and r.observer == "csms" and r.valid for r in records)
    assert [r.raw for r in records] == [r.raw for r in station_records]


async def test_reconnect_replaces_the_old_link_and_keeps_boot_state(start_csms: Any) -> None:
    csms = await start_csms()
    async with station_at(csms) as first:
        await first.call("BootNotification", BOOT)
        async with station_at(csms) as second:
            await asyncio.wait_for(first.wait_closed(), 2)  # the CSMS dropped the old socket
            assert set(await second.call("Heartbeat", {})) == {"currentTime"}  # still booted
            assert csms.stations["CP1"].connection.closed is False


# ------------------------------------------------------------ interop: `ocpp` library as station


@pytest.mark.parametrize("version", [V201, V21])
async def test_interop_ocpp_library_station_against_our_csms(start_csms: Any, version: OcppVersion) -> None:
    if version is V21:
        from ocpp.v21 import ChargePoint, call
    else:
        from ocpp.v201 import ChargePoint, call

    csms = await start_csms(CsmsConfig(heartbeat_interval=60, token_status={"DEADBEEF": "Invalid"}))
    # The library does not negotiate; it is given the one subprotocol it speaks.
    async with ws_connect(f"{csms.url}/LIB-CP", subprotocols=[str(version)]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == str(version)
        cp = ChargePoint("LIB-CP", ws, response_timeout=5)
        runner = asyncio.create_task(cp.start())
        try:
            boot = await cp.call(
                call.BootNotification(charging_station={"model": "M1", "vendor_name": "V"}, reason="PowerUp"),
                suppress=False,
            )
            assert (boot.status, boot.interval) == ("Accepted", 60)
            heartbeat = await cp.call(call.Heartbeat(), suppress=False)
            assert heartbeat.current_time.endswith("Z")
            auth = await cp.call(
                call.Authorize(id_token={"id_token": "deadbeef", "type": "ISO14443"}), suppress=False
            )
            assert auth.id_token_info["status"] == "Invalid"
            ok = await cp.call(
                call.Authorize(id_token={"id_token": "CAFE", "type": "ISO14443"}), suppress=False
            )
            assert ok.id_token_info["status"] == "Accepted"
            started = await cp.call(
                call.TransactionEvent(
                    event_type="Started",
                    timestamp=TIMESTAMP,
                    trigger_reason="Authorized",
                    seq_no=0,
                    transaction_info={"transaction_id": "lib-tx", "charging_state": "Charging"},
                    id_token={"id_token": "CAFE", "type": "ISO14443"},
                    evse={"id": 1, "connector_id": 1},
                    meter_value=[{"timestamp": TIMESTAMP, "sampled_value": [{"value": 2500.0}]}],
                ),
                suppress=False,
            )
            assert started.id_token_info["status"] == "Accepted"
            await cp.call(
                call.TransactionEvent(
                    event_type="Ended",
                    timestamp=TIMESTAMP,
                    trigger_reason="EVDeparted",
                    seq_no=1,
                    transaction_info={"transaction_id": "lib-tx", "stopped_reason": "EVDisconnected"},
                ),
                suppress=False,
            )
        finally:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await runner
    link = csms.stations["LIB-CP"]
    assert link.version is version and link.boot_status == "Accepted"
    tx = link.transactions["lib-tx"]
    assert (tx.id_token, tx.energy_wh, tx.stopped_reason, tx.evse_id) == ("CAFE", 2500.0, "EVDisconnected", 1)
