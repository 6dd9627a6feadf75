"""Variable monitoring (N02–N08): the emulated station against the built-in CSMS over real
websockets on loopback. The CSMS sets monitors; the simulation or the tester (as the window
does) moves the watched value; assertions are on the NotifyEvent / NotifyMonitoringReport
frames the CSMS received. Requirement ids refer to OCPP 2.1 Part 2.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from app.cli import main
from app.clock import AcceleratedClock
from app.inspector.jsonl import JsonlWriter
from app.inspector.lints import lint_records
from app.inspector.records import CaptureRecord
from app.protocol.errors import OcppError
from app.protocol.schemas import OcppVersion
from app.session import Session
from app.station.config import StationConfig
from app.station.station import Station
from tests.support import wait_until
from tests.test_lints import PLANTED
from tests.test_station_e2e import FAST

EVSE1_TEMPERATURE = {"component": {"name": "EVSE", "evse": {"id": 1}}, "variable": {"name": "Temperature"}}


@pytest.fixture
async def session() -> AsyncIterator[Session]:
    s = Session(clock=AcceleratedClock(10.0))
    yield s
    await s.stop()


async def start(
    session: Session,
    *,
    overrides: dict[str, str] | None = None,
    versions: tuple[OcppVersion, ...] | None = None,
    state_path: Path | None = None,
    evses: int = 1,
) -> Station:
    if session.csms is None:
        await session.start_csms()
    assert session.csms is not None
    config = StationConfig(
        station_id="CB-MON",
        csms_url=session.csms.url,
        evse_count=evses,
        overrides={**FAST, **(overrides or {})},
        call_timeout=5,
        state_path=str(state_path) if state_path else None,
    )
    if versions:
        config.versions = versions
    station = session.add_station(config)
    await wait_until(lambda: station.online, 10)
    return station


async def call(session: Session, action: str, payload: dict[str, Any]) -> dict[str, Any]:
    assert session.csms is not None
    return await session.csms.call("CB-MON", action, payload)


def received(session: Session, action: str) -> list[dict[str, Any]]:
    """CALL payloads the CSMS received from the station, in arrival order."""
    return [
        r.payload
        for r in session.store
        if r.observer == "csms" and r.action == action and r.message_type == 2 and r.sender == "station"
    ]


def monitor_events(session: Session) -> list[dict[str, Any]]:
    """eventData of NotifyEvents raised by monitors (not the hard-wired status notifications)."""
    return [
        e for p in received(session, "NotifyEvent") for e in p["eventData"] if "variableMonitoringId" in e
    ]


def set_item(type_: str, value: float, severity: int = 5, **extra: Any) -> dict[str, Any]:
    return {"type": type_, "value": value, "severity": severity, **EVSE1_TEMPERATURE, **extra}


async def set_monitors(session: Session, *items: dict[str, Any]) -> list[dict[str, Any]]:
    answer = await call(session, "SetVariableMonitoring", {"setMonitoringData": list(items)})
    results: list[dict[str, Any]] = answer["setMonitoringResult"]
    return results


async def report(session: Session, request_id: int, **criteria: Any) -> tuple[str, list[dict[str, Any]]]:
    """GetMonitoringReport; the status and the monitoringData of every part, once all arrived."""
    answer = await call(session, "GetMonitoringReport", {"requestId": request_id, **criteria})
    if answer["status"] != "Accepted":
        return answer["status"], []
    parts = await wait_until(
        lambda: [
            p
            for p in received(session, "NotifyMonitoringReport")
            if p["requestId"] == request_id and not p.get("tbc")
        ]
        and [p for p in received(session, "NotifyMonitoringReport") if p["requestId"] == request_id]
    )
    return "Accepted", [m for p in parts for m in p.get("monitor", [])]


def flat(entries: list[dict[str, Any]]) -> list[tuple[str, int | None, str, dict[str, Any]]]:
    """(component, evse id, variable, variableMonitoring) for every monitor in a report."""
    return [
        (e["component"]["name"], e["component"].get("evse", {}).get("id"), e["variable"]["name"], vm)
        for e in entries
        for vm in e["variableMonitoring"]
    ]


# --------------------------------------------------------------------------- N07: alert events


async def test_N07_threshold_on_temperature_set_by_hand_fires_and_clears(session: Session) -> None:
    station = await start(session)
    [result] = await set_monitors(session, set_item("UpperThreshold", 40, severity=3))
    assert result["status"] == "Accepted" and isinstance(result["id"], int)  # N04.FR.08/11

    station.set_temperature(1, 45.0)  # what the window's Temperature… action does
    [alert] = await wait_until(lambda: monitor_events(session))
    assert alert["trigger"] == "Alerting"  # N07.FR.16
    assert alert["variableMonitoringId"] == result["id"]  # N07.FR.06
    assert alert["severity"] == 3  # N07.FR.20
    assert alert["eventNotificationType"] == "CustomMonitor"
    assert float(alert["actualValue"]) > 40 and not alert.get("cleared")
    assert alert["component"] == {"name": "EVSE", "evse": {"id": 1}}

    station.set_temperature(1, 30.0)
    events = await wait_until(lambda: len(monitor_events(session)) >= 2 and monitor_events(session))
    assert events[1]["cleared"] is True and events[1]["trigger"] == "Alerting"  # N07.FR.02
    await asyncio.sleep(0.3)
    assert len(monitor_events(session)) == 2  # one event per crossing, not one per tick

    with pytest.raises(ValueError, match="Temperature"):
        station.set_temperature(1, 400.0)  # beyond the variable's maxLimit: refused, clearly


async def test_N07_simulated_charging_heats_the_evse_past_a_transaction_monitor() -> None:
    session = Session(clock=AcceleratedClock(100.0))
    try:
        station = await start(session)
        [result] = await set_monitors(session, set_item("UpperThreshold", 28, severity=6, transaction=True))
        assert result["status"] == "Accepted"
        await station.plug(1)
        assert await station.tap("CARD-HOT") == "Accepted"
        # Full load settles 30 °C above ambient with a 600 s time constant: 28 °C after ~1 min.
        [alert] = await wait_until(lambda: monitor_events(session), 20)
        assert alert["trigger"] == "Alerting" and float(alert["actualValue"]) > 28
        tx = station.evse(1).transaction
        assert tx is not None and alert["transactionId"] == tx.transaction_id
    finally:
        await session.stop()


async def test_N07_transaction_monitor_stays_quiet_without_a_transaction(session: Session) -> None:
    station = await start(session)
    await set_monitors(session, set_item("UpperThreshold", 40, transaction=True))
    station.set_temperature(1, 60.0)
    await asyncio.sleep(0.5)
    assert monitor_events(session) == []


async def test_N07_preconfigured_delta_on_the_problem_flag(session: Session) -> None:
    station = await start(session)
    await station.set_fault(1, True)
    [event] = await wait_until(lambda: monitor_events(session))
    assert event["trigger"] == "Delta" and event["actualValue"] == "true"  # N07.FR.19
    assert event["eventNotificationType"] == "PreconfiguredMonitor"
    assert event["variable"] == {"name": "Problem"}


async def test_N07_new_threshold_already_exceeded_fires_at_once(session: Session) -> None:
    """N07.FR.11: setting or moving a boundary the value already crosses raises the event."""
    station = await start(session)
    station.set_temperature(1, 50.0)
    [result] = await set_monitors(session, set_item("UpperThreshold", 45))
    await wait_until(lambda: len(monitor_events(session)) == 1)
    [moved] = await set_monitors(session, set_item("UpperThreshold", 55, id=result["id"]))
    assert moved["status"] == "Accepted" and moved["id"] == result["id"]  # N04.FR.12
    events = await wait_until(lambda: len(monitor_events(session)) == 2 and monitor_events(session))
    assert events[1]["cleared"] is True


async def test_N05_monitoring_level_filters_events(session: Session) -> None:
    station = await start(session)
    assert (await call(session, "SetMonitoringLevel", {"severity": 10}))["status"] == "Rejected"  # FR.02
    assert (await call(session, "SetMonitoringLevel", {"severity": 3}))["status"] == "Accepted"
    assert station.dm.get_int("MonitoringCtrlr", "ActiveMonitoringLevel") == 3
    await set_monitors(session, set_item("UpperThreshold", 40, severity=5), set_item("UpperThreshold", 42, 2))
    station.set_temperature(1, 50.0)
    await wait_until(lambda: monitor_events(session))
    await asyncio.sleep(0.3)
    assert [e["severity"] for e in monitor_events(session)] == [2]  # N07.FR.15: 5 > level 3


async def test_N08_periodic_monitor_reports_on_the_station_clock(session: Session) -> None:
    await start(session)
    await set_monitors(session, set_item("Periodic", 5, severity=8))
    events = await wait_until(lambda: len(monitor_events(session)) >= 2 and monitor_events(session), 10)
    assert {e["trigger"] for e in events} == {"Periodic"}  # N08.FR.05
    assert events[0]["actualValue"] == "25"
    stamps = [e["timestamp"] for e in events[:2]]
    first, second = (datetime.fromisoformat(s.replace("Z", "+00:00")) for s in stamps)
    assert 3.0 <= (second - first).total_seconds() <= 9.0  # every 5 simulated seconds, at tick times


# --------------------------------------------------------------------------- N04 / N06


async def test_N04_statuses_per_item(session: Session) -> None:
    await start(session)
    results = await set_monitors(
        session,
        set_item("Delta", 1) | {"component": {"name": "Nope"}},
        set_item("Delta", 1) | {"variable": {"name": "Nope"}},
        set_item("UpperThreshold", 1) | {"variable": {"name": "Problem"}},  # boolean
        set_item("UpperThreshold", 400),  # above maxLimit 150
        set_item("Delta", -1),
        set_item("Delta", 1, id=4242),
        set_item("LowerThreshold", 5, severity=6),
        set_item("LowerThreshold", 0, severity=6),
    )
    assert [r["status"] for r in results] == [
        "UnknownComponent",  # N04.FR.03
        "UnknownVariable",  # N04.FR.04
        "UnsupportedMonitorType",  # N04.FR.05
        "Rejected",  # N04.FR.06
        "Rejected",  # N04.FR.14
        "Rejected",  # N04.FR.13
        "Accepted",
        "Duplicate",  # N04.FR.10
    ]
    assert results[1]["variable"] == {"name": "Nope"}  # N04.FR.02: echoed
    assert results[3]["statusInfo"]["reasonCode"] == "ValueOutOfRange"


async def test_N04_hard_wired_is_fixed_and_a_changed_preconfigured_becomes_custom(session: Session) -> None:
    await start(session)
    _, entries = await report(session, 1)
    ids = {(v, vm["eventNotificationType"]): vm["id"] for _, _, v, vm in flat(entries)}
    hard, pre = ids["Temperature", "HardWiredMonitor"], ids["Temperature", "PreconfiguredMonitor"]
    [changed_hard, changed_pre] = await set_monitors(
        session,
        set_item("UpperThreshold", 95, severity=1, id=hard),
        set_item("UpperThreshold", 65, severity=4, id=pre),
    )
    assert changed_hard["status"] == "Rejected"  # N04.FR.18
    assert changed_pre["status"] == "Accepted"
    _, entries = await report(session, 2)
    by_id = {vm["id"]: vm for _, _, _, vm in flat(entries)}
    assert by_id[pre]["eventNotificationType"] == "CustomMonitor" and by_id[pre]["value"] == 65  # N04.FR.15
    assert by_id[hard]["value"] == 90

    answer = await call(session, "ClearVariableMonitoring", {"id": [hard, pre, 999]})
    assert [r["status"] for r in answer["clearMonitoringResult"]] == ["Rejected", "Accepted", "NotFound"]
    _, entries = await report(session, 3)
    assert pre not in {vm["id"] for *_, vm in flat(entries)}  # cleared, the factory setting not back


async def test_N04_N06_item_limits_are_ocpp_errors(session: Session) -> None:
    await start(session, overrides={"MonitoringCtrlr.ItemsPerMessage[SetVariableMonitoring]": "2"})
    with pytest.raises(OcppError) as info:
        await set_monitors(session, *(set_item("Delta", 1, severity=s) for s in range(3)))
    assert info.value.code == "OccurrenceConstraintViolation"  # N04.FR.09
    with pytest.raises(OcppError) as info:
        await call(session, "ClearVariableMonitoring", {"id": list(range(25))})
    assert info.value.code == "OccurrenceConstraintViolation"  # N06.FR.06 (limit 20)


# --------------------------------------------------------------------------- N02 / N03: reports


async def test_N02_report_lists_every_kind_with_its_event_notification_type(session: Session) -> None:
    await start(session, evses=2, overrides={"DeviceDataCtrlr.ItemsPerMessage[GetReport]": "1"})
    [custom] = await set_monitors(session, set_item("Delta", 2, severity=7))
    status, entries = await report(session, 77)
    assert status == "Accepted"
    monitors = flat(entries)
    kinds = {(c, evse, v, vm["type"], vm["eventNotificationType"]) for c, evse, v, vm in monitors}
    assert {
        ("EVSE", 1, "Temperature", "UpperThreshold", "HardWiredMonitor"),
        ("EVSE", 1, "Temperature", "UpperThreshold", "PreconfiguredMonitor"),
        ("EVSE", 1, "Problem", "Delta", "PreconfiguredMonitor"),
        ("EVSE", 2, "Temperature", "UpperThreshold", "HardWiredMonitor"),
        ("EVSE", 1, "Temperature", "Delta", "CustomMonitor"),
    } <= kinds  # N02.FR.11, N02.FR.22
    assert custom["id"] in {vm["id"] for *_, vm in monitors}
    parts = [p for p in received(session, "NotifyMonitoringReport") if p["requestId"] == 77]
    assert [p["seqNo"] for p in parts] == [0, 1, 2, 3]  # N02.FR.09: one variable per part
    assert [p["tbc"] for p in parts] == [True] * (len(parts) - 1) + [False]

    _, deltas = await report(session, 78, monitoringCriteria=["DeltaMonitoring"])
    assert {vm["type"] for *_, vm in flat(deltas)} == {"Delta"}  # N02.FR.13
    evse_two = [{"component": {"name": "EVSE", "evse": {"id": 2}}}]
    _, evse2 = await report(session, 79, componentVariable=evse_two)
    assert {evse for _, evse, _, _ in flat(evse2)} == {2}  # N02.FR.08
    status, _ = await report(session, 80, componentVariable=[{"component": {"name": "OCPPCommCtrlr"}}])
    assert status == "EmptyResultSet"  # N02.FR.10


async def test_N02_report_on_2_0_1_has_no_event_notification_type(session: Session) -> None:
    await start(session, versions=(OcppVersion.V201,))
    status, entries = await report(session, 5)
    assert status == "Accepted" and entries
    assert all("eventNotificationType" not in vm for *_, vm in flat(entries))
    frames = [r for r in session.store if r.action == "NotifyMonitoringReport" and r.message_type == 2]
    assert frames and all(not r.problems for r in frames)  # valid against the 2.0.1 schema


async def test_N07_events_on_2_0_1_carry_no_severity(session: Session) -> None:
    station = await start(session, versions=(OcppVersion.V201,))
    [result] = await set_monitors(session, set_item("UpperThreshold", 40, severity=3))
    assert result["status"] == "Accepted"
    station.set_temperature(1, 45.0)
    [event] = await wait_until(lambda: monitor_events(session))
    assert "severity" not in event and event["eventNotificationType"] == "CustomMonitor"
    frames = [r for r in session.store if r.action == "NotifyEvent" and r.message_type == 2]
    assert all(not r.problems for r in frames)


async def test_N03_monitoring_base(session: Session) -> None:
    station = await start(session)
    await set_monitors(session, set_item("Delta", 2, severity=7))

    def origins(entries: list[dict[str, Any]]) -> set[str]:
        return {vm["eventNotificationType"] for *_, vm in flat(entries)}

    answer = await call(session, "SetMonitoringBase", {"monitoringBase": "HardWiredOnly"})
    assert answer["status"] == "Accepted"  # N03.FR.01
    assert origins((await report(session, 1))[1]) == {"HardWiredMonitor"}  # N03.FR.05
    assert station.dm.get_str("MonitoringCtrlr", "ActiveMonitoringBase") == "HardWiredOnly"
    await station.set_fault(1, True)  # the preconfigured Problem monitor is off now
    await asyncio.sleep(0.3)
    assert monitor_events(session) == []

    await set_monitors(session, set_item("Delta", 2, severity=7))
    await call(session, "SetMonitoringBase", {"monitoringBase": "All"})
    assert origins((await report(session, 2))[1]) == {
        "HardWiredMonitor", "PreconfiguredMonitor", "CustomMonitor"
    }  # N03.FR.03: custom ones stay

    await call(session, "SetMonitoringBase", {"monitoringBase": "FactoryDefault"})
    assert origins((await report(session, 3))[1]) == {"HardWiredMonitor", "PreconfiguredMonitor"}  # FR.04


async def test_N03_reactivated_preconfigured_monitor_judges_the_current_value(session: Session) -> None:
    station = await start(session)
    await call(session, "SetMonitoringBase", {"monitoringBase": "HardWiredOnly"})
    station.set_temperature(1, 80.0)  # above the preconfigured 70 °C, below the hard-wired 90 °C
    await asyncio.sleep(0.3)
    assert monitor_events(session) == []
    await call(session, "SetMonitoringBase", {"monitoringBase": "FactoryDefault"})
    [event] = await wait_until(lambda: monitor_events(session))
    assert event["eventNotificationType"] == "PreconfiguredMonitor" and event["trigger"] == "Alerting"


# --------------------------------------------------------------------------- persistence, offline


async def test_N07_offline_queuing_severity(session: Session) -> None:
    station = await start(session, overrides={"MonitoringCtrlr.OfflineQueuingSeverity": "3"})
    await set_monitors(session, set_item("UpperThreshold", 40, severity=2), set_item("UpperThreshold", 41, 7))
    await station.set_network(False)
    await wait_until(lambda: not station.online)
    station.set_temperature(1, 50.0)
    assert station.queued_events == 1  # severity 2 <= 3 queued; severity 7 dropped (N07.FR.04)
    await station.set_network(True)
    await wait_until(lambda: monitor_events(session), 15)
    await asyncio.sleep(0.3)
    assert [e["severity"] for e in monitor_events(session)] == [2]


async def test_N04_N07_custom_monitors_and_tripped_state_survive_a_restart(
    session: Session, tmp_path: Path
) -> None:
    state = tmp_path / "station.sqlite"
    station = await start(session, state_path=state)
    [result] = await set_monitors(session, set_item("UpperThreshold", 40, severity=3))
    station.set_temperature(1, 50.0)
    await wait_until(lambda: monitor_events(session))
    await session.remove_station("CB-MON")

    await start(session, state_path=state)  # powered up cold: 25 °C
    events = await wait_until(lambda: len(monitor_events(session)) >= 2 and monitor_events(session))
    assert events[1]["variableMonitoringId"] == result["id"] and events[1]["cleared"] is True  # N07.FR.14
    _, entries = await report(session, 9)
    assert result["id"] in {vm["id"] for *_, vm in flat(entries)}  # N04 remark, N07.FR.13


# --------------------------------------------------------------------------- inspector lint


def _planted(version: str) -> list[CaptureRecord]:
    return [replace_version(r, version) for r in PLANTED["monitor-notification-type"]]


def replace_version(record: CaptureRecord, version: str) -> CaptureRecord:
    return CaptureRecord(
        time=record.time,
        connection=record.connection,
        station=record.station,
        sender=record.sender,
        observer=record.observer,
        version=version,
        raw=record.raw,
    )


def test_lint_flags_a_monitor_without_event_notification_type_on_2_1_only() -> None:
    findings = [str(f) for f in lint_records(_planted("ocpp2.1"))]
    assert findings == [
        "#2: error: [monitor-notification-type] monitor 1 on EVSE.Temperature has no "
        "eventNotificationType (N02.FR.22)"
    ]
    assert lint_records(_planted("ocpp2.0.1")) == []  # the same payload is right on 2.0.1


@pytest.mark.parametrize(("version", "exit_code"), [("ocpp2.1", 1), ("ocpp2.0.1", 0)])
def test_validate_reports_the_lint_per_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], version: str, exit_code: int
) -> None:
    capture = tmp_path / f"{version}.jsonl"
    writer = JsonlWriter(capture)
    for record in _planted(version):
        writer.write(record)
    writer.close()
    assert main(["validate", str(capture)]) == exit_code
    out = capsys.readouterr().out
    assert ("[monitor-notification-type]" in out) is (version == "ocpp2.1")


async def test_our_monitoring_traffic_lints_clean(session: Session) -> None:
    station = await start(session)
    await set_monitors(session, set_item("UpperThreshold", 40, severity=3))
    refused = await set_monitors(  # refusals with statusInfo are valid traffic too
        session,
        set_item("UpperThreshold", 41, severity=3),
        set_item("Delta", 1, id=4242),
        set_item("UpperThreshold", 400),
        set_item("UpperThreshold", 95, severity=1, id=1),
        set_item("Delta", 1) | {"variable": {"name": "Problem"}, "id": 1},
        set_item("UpperThreshold", 1) | {"variable": {"name": "Problem"}},
    )
    assert [r["status"] for r in refused] == [
        "Duplicate", "Rejected", "Rejected", "Rejected", "Rejected", "UnsupportedMonitorType"
    ]
    await call(session, "ClearVariableMonitoring", {"id": [1, 4242]})
    await report(session, 3)
    station.set_temperature(1, 45.0)
    await wait_until(lambda: monitor_events(session))
    records = [r for r in session.store if not r.mirror]
    assert [str(f) for f in lint_records(records) if f.severity != "info"] == []
    assert all(not r.problems for r in records)  # and schema-valid, both ways
