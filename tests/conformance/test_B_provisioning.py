"""B: provisioning — boot (B01-B03), device model (B05-B08), network profiles (B09/B10), reset (B11-B13).

Every assertion is about what a CSMS sees on the wire (or can ask the station for).
"""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

import pytest

from app.protocol.errors import SecurityError
from tests.conformance.conftest import Bench, free_port


def _gaps(records: list[Any]) -> list[float]:
    times: list[datetime] = [r.time for r in records]
    return [(b - a).total_seconds() for a, b in itertools.pairwise(times)]


def _cv(component: str, variable: str, **extra: Any) -> dict[str, Any]:
    return {"component": {"name": component}, "variable": {"name": variable}, **extra}


def _profile(url: str, security_profile: int = 1) -> dict[str, Any]:
    return {
        "ocppCsmsUrl": url,
        "ocppInterface": "Wired0",
        "ocppTransport": "JSON",
        "ocppVersion": "OCPP21",
        "messageTimeout": 30,
        "securityProfile": security_profile,
    }


async def _get(bench: Bench, component: str, variable: str, station_id: str = "CS-1") -> str | None:
    answer = await bench.csms.call(
        station_id, "GetVariables", {"getVariableData": [_cv(component, variable)]}
    )
    value: str | None = answer["getVariableResult"][0].get("attributeValue")
    return value


# ============================================================================ B01-B03: boot


async def test_B01_FR_04_FR_05_accepted_boot_adopts_interval_and_reports_connectors(bench: Bench) -> None:
    bench.csms.heartbeat_interval = 3
    station = await bench.station(evses=2)
    # B01.FR.08: the very first CALL is the BootNotification, with a reason (B01.FR.09).
    assert bench.calls()[0] == "BootNotification"
    assert bench.sent("BootNotification")[0]["reason"] == "PowerUp"
    # B01.FR.05 (2.1): AvailabilityState of every connector via NotifyEvent after Accepted.
    await bench.until(lambda: len(bench.connector_states()) >= 2)
    assert sorted(bench.connector_states()) == [(1, 1, "Available"), (2, 1, "Available")]
    # B01.FR.04: the heartbeat interval becomes 3 s (simulated) and is honoured (G02).
    assert await _get(bench, "OCPPCommCtrlr", "HeartbeatInterval") == "3"
    await bench.until(lambda: len(bench.wire("Heartbeat", sender="station")) >= 3, 5)
    beats = [r for r in bench.wire("Heartbeat", sender="station") if r.message_type == 2]
    assert all(gap >= 2.7 for gap in _gaps(beats)), _gaps(beats)
    assert station.boot_status == "Accepted"
    assert len(bench.csms.received("Heartbeat")) >= 3


async def test_B02_FR_02_FR_04_FR_05_pending_boot_waits_the_interval_and_sends_nothing_else(
    bench: Bench,
) -> None:
    bench.csms.boot_status, bench.csms.boot_interval = "Pending", 3
    station = await bench.station(online=False)
    await bench.until(lambda: len(bench.sent("BootNotification")) >= 3, 5)
    assert station.boot_status == "Pending" and not station.online
    boots = [r for r in bench.wire("BootNotification", sender="station") if r.message_type == 2]
    assert all(gap >= 2.7 for gap in _gaps(boots)), _gaps(boots)  # B02.FR.04 / B02.FR.08
    # B02.FR.01: the CSMS may read and write configuration while Pending.
    assert await _get(bench, "OCPPCommCtrlr", "HeartbeatInterval") == "300"
    # B02.FR.05: remote start and stop are refused while Pending.
    start = await bench.call(
        "RequestStartTransaction", {"idToken": {"idToken": "APP", "type": "Central"}, "remoteStartId": 1}
    )
    assert start["status"] == "Rejected"
    stop = await bench.call("RequestStopTransaction", {"transactionId": "whatever"})
    assert stop["status"] == "Rejected"
    # B02.FR.02: a driver plugging in and tapping makes the station send nothing but boots.
    await station.plug(1)
    await station.tap("CARD-PENDING")
    await bench.settle(1.0)
    assert set(bench.calls()) == {"BootNotification"}
    assert bench.csms.received() == bench.csms.received("BootNotification")
    # Accepted at the next interval: connectors are reported then, Occupied included.
    bench.csms.boot_status = "Accepted"
    await bench.until(lambda: station.online, 5)
    await bench.until(lambda: bench.last_state(1) == "Occupied")


async def test_B02_F06_FR_17_trigger_boot_while_pending_then_rejected_once_accepted(bench: Bench) -> None:
    bench.csms.boot_status, bench.csms.boot_interval = "Pending", 600  # 60 s real: never waited for
    station = await bench.station(online=False)
    await bench.until(lambda: station.boot_status == "Pending")
    bench.csms.boot_status = "Accepted"
    answer = await bench.call("TriggerMessage", {"requestedMessage": "BootNotification"})
    assert answer["status"] == "Accepted"
    # B02.FR.04: a TriggerMessage is the one reason to boot before the interval ran out.
    await bench.until(lambda: station.online, 2)
    boots = bench.sent("BootNotification")
    assert [b["reason"] for b in boots] == ["PowerUp", "Triggered"]
    # F06.FR.17: once Accepted, a triggered BootNotification is refused.
    again = await bench.call("TriggerMessage", {"requestedMessage": "BootNotification"})
    assert again["status"] == "Rejected"
    await bench.settle(1.0)
    assert len(bench.sent("BootNotification")) == 2


async def test_B03_FR_02_FR_06_FR_08_rejected_boot_refuses_csms_calls_and_retries_after_interval(
    bench: Bench,
) -> None:
    bench.csms.boot_status, bench.csms.boot_interval = "Rejected", 3
    station = await bench.station(online=False)
    await bench.until(lambda: station.boot_status == "Rejected")
    # B03.FR.08: any CSMS request while Rejected gets CALLERROR SecurityError.
    with pytest.raises(SecurityError):
        await bench.call("GetVariables", {"getVariableData": [_cv("OCPPCommCtrlr", "HeartbeatInterval")]})
    with pytest.raises(SecurityError):
        await bench.call("TriggerMessage", {"requestedMessage": "BootNotification"})
    await bench.until(lambda: len(bench.sent("BootNotification")) >= 2, 5)
    boots = [r for r in bench.wire("BootNotification", sender="station") if r.message_type == 2]
    assert all(gap >= 2.7 for gap in _gaps(boots)), _gaps(boots)  # B03.FR.06
    assert set(bench.calls()) == {"BootNotification"}  # B03.FR.02
    bench.csms.boot_status = "Accepted"
    await bench.until(lambda: station.online, 5)


# ============================================================================ B05-B08: device model


async def test_B05_FR_01_to_FR_10_set_variables_statuses(bench: Bench) -> None:
    await bench.station()
    # A complete slot 1 first, so that putting it into NetworkConfigurationPriority is valid.
    other = await bench.call(
        "SetNetworkProfile", {"configurationSlot": 1, "connectionData": _profile(bench.csms.url)}
    )
    assert other["status"] == "Accepted"
    request = [
        _cv("OCPPCommCtrlr", "HeartbeatInterval", attributeValue="120"),
        _cv("NoSuchCtrlr", "HeartbeatInterval", attributeValue="1"),
        _cv("OCPPCommCtrlr", "NoSuchVariable", attributeValue="1"),
        _cv("OCPPCommCtrlr", "HeartbeatInterval", attributeValue="1", attributeType="Target"),
        _cv("SecurityCtrlr", "SecurityProfile", attributeValue="2"),  # ReadOnly
        _cv("TxCtrlr", "EVConnectionTimeOut", attributeValue="soon"),  # not an integer
        _cv("OCPPCommCtrlr", "NetworkConfigurationPriority", attributeValue="1,0"),
    ]
    answer = await bench.call("SetVariables", {"setVariableData": request})
    results = answer["setVariableResult"]
    assert len(results) == len(request)  # B05.FR.01
    for sent, got in zip(request, results, strict=True):  # B05.FR.02/03
        assert got["component"]["name"] == sent["component"]["name"]
        assert got["variable"]["name"] == sent["variable"]["name"]
        assert got.get("attributeType", "Actual") == sent.get("attributeType", "Actual")
    assert [r["attributeStatus"] for r in results] == [
        "Accepted",  # B05.FR.10
        "UnknownComponent",  # B05.FR.04
        "UnknownVariable",  # B05.FR.05
        "NotSupportedAttributeType",  # B05.FR.06
        "Rejected",  # B05.FR.09 (read-only)
        "Rejected",  # B05.FR.07 (badly formatted)
        "RebootRequired",  # B10.FR.01: a new priority takes effect at the next boot
    ]
    assert results[5]["attributeStatusInfo"]["reasonCode"]  # why, for the operator
    assert await _get(bench, "OCPPCommCtrlr", "HeartbeatInterval") == "120"


async def test_B06_FR_01_to_FR_11_get_variables_statuses(bench: Bench) -> None:
    await bench.station()
    request = [
        _cv("OCPPCommCtrlr", "HeartbeatInterval"),
        _cv("NoSuchCtrlr", "HeartbeatInterval"),
        _cv("OCPPCommCtrlr", "NoSuchVariable"),
        _cv("OCPPCommCtrlr", "HeartbeatInterval", attributeType="MaxSet"),
        _cv("SecurityCtrlr", "BasicAuthPassword"),  # WriteOnly
        {
            "component": {"name": "Connector", "evse": {"id": 1, "connectorId": 1}},
            "variable": {"name": "ConnectorType"},
        },
    ]
    answer = await bench.call("GetVariables", {"getVariableData": request})
    results = answer["getVariableResult"]
    assert len(results) == len(request)  # B06.FR.01
    assert [r["attributeStatus"] for r in results] == [
        "Accepted",  # B06.FR.10
        "UnknownComponent",  # B06.FR.06
        "UnknownVariable",  # B06.FR.07
        "NotSupportedAttributeType",  # B06.FR.08
        "Rejected",  # B06.FR.09
        "Accepted",
    ]
    assert results[0]["attributeValue"] == "300"  # the boot interval of the CSMS
    assert results[5]["attributeValue"] == "cType2"
    assert results[5]["component"]["evse"] == {"id": 1, "connectorId": 1}  # B06.FR.02
    for r in results[1:5]:
        assert "attributeValue" not in r  # B06.FR.06-09: value omitted
    assert results[3]["attributeType"] == "MaxSet"  # B06.FR.03


async def test_B07_FR_01_to_FR_10_base_reports_arrive_after_the_response_in_parts(bench: Bench) -> None:
    station = await bench.station(overrides={"DeviceDataCtrlr.ItemsPerMessage[GetReport]": "10"})
    answer = await bench.call("GetBaseReport", {"requestId": 7, "reportBase": "FullInventory"})
    assert answer["status"] == "Accepted"  # B07.FR.01
    await bench.until(lambda: any(p.get("tbc") is False for p in bench.sent("NotifyReport")))
    parts = bench.sent("NotifyReport")
    # The response went out before the first report part.
    records = [r for r in bench.wire(sender="station") if r.action in ("GetBaseReport", "NotifyReport")]
    assert records[0].action == "GetBaseReport" and records[0].message_type == 3
    assert {p["requestId"] for p in parts} == {7}  # B07.FR.04
    assert [p["seqNo"] for p in parts] == list(range(len(parts)))  # B07.FR.10
    assert [p.get("tbc", False) for p in parts] == [True] * (len(parts) - 1) + [False]
    assert all(len(p["reportData"]) <= 10 for p in parts)
    entries = [e for p in parts for e in p["reportData"]]
    assert all("variableCharacteristics" in e for e in entries)  # B07.FR.08
    # B07.FR.03: WriteOnly variables are reported without a value.
    secret = [e for e in entries if e["variable"]["name"] == "BasicAuthPassword"]
    assert secret and all("value" not in a for e in secret for a in e["variableAttribute"])
    # B09.FR.08: every configuration slot is in the full inventory.
    slots = {
        e["component"].get("instance") for e in entries if e["component"]["name"] == "NetworkConfiguration"
    }
    assert {"0", "1"} <= slots
    # the station has sent the last part; the CSMS may still be reading it
    await bench.until(lambda: len(bench.csms.received("NotifyReport")) == len(parts), 2)

    # ConfigurationInventory: only what the operator can set (B07.FR.07).
    answer = await bench.call("GetBaseReport", {"requestId": 8, "reportBase": "ConfigurationInventory"})
    assert answer["status"] == "Accepted"
    await bench.until(
        lambda: any(p["requestId"] == 8 and not p.get("tbc") for p in bench.sent("NotifyReport"))
    )
    config = [e for p in bench.sent("NotifyReport") if p["requestId"] == 8 for e in p["reportData"]]
    assert config and all(
        any(a.get("mutability", "ReadWrite") != "ReadOnly" for a in e["variableAttribute"]) for e in config
    )
    assert len(config) < len(entries)
    # SummaryInventory: availability of the station, EVSEs and connectors (B07.FR.09).
    answer = await bench.call("GetBaseReport", {"requestId": 9, "reportBase": "SummaryInventory"})
    assert answer["status"] == "Accepted"
    await bench.until(
        lambda: any(p["requestId"] == 9 and not p.get("tbc") for p in bench.sent("NotifyReport"))
    )
    summary = [e for p in bench.sent("NotifyReport") if p["requestId"] == 9 for e in p["reportData"]]
    assert any(e["variable"]["name"] == "AvailabilityState" for e in summary)
    assert station.online


async def _report(bench: Bench, request_id: int, **criteria: Any) -> tuple[str, list[dict[str, Any]]]:
    answer = await bench.call("GetReport", {"requestId": request_id, **criteria})
    if answer["status"] != "Accepted":
        return answer["status"], []
    await bench.until(
        lambda: any(p["requestId"] == request_id and not p.get("tbc") for p in bench.sent("NotifyReport"))
    )
    return "Accepted", [
        e for p in bench.sent("NotifyReport") if p["requestId"] == request_id for e in p["reportData"]
    ]


async def test_B08_FR_05_FR_11_FR_20_FR_22_get_report_component_variable_filters(bench: Bench) -> None:
    await bench.station(evses=2)
    # One exact variable.
    status, entries = await _report(bench, 1, componentVariable=[_cv("OCPPCommCtrlr", "HeartbeatInterval")])
    assert status == "Accepted"
    assert [(e["component"]["name"], e["variable"]["name"]) for e in entries] == [
        ("OCPPCommCtrlr", "HeartbeatInterval")
    ]
    assert entries[0]["variableAttribute"][0]["value"] == "300"
    assert "variableCharacteristics" in entries[0]  # B08.FR.12
    # B08.FR.20: no variable = every variable of the component.
    status, entries = await _report(bench, 2, componentVariable=[{"component": {"name": "TxCtrlr"}}])
    names = {e["variable"]["name"] for e in entries}
    assert {"TxStartPoint", "TxStopPoint", "EVConnectionTimeOut"} <= names
    assert {e["component"]["name"] for e in entries} == {"TxCtrlr"}
    # B08.FR.22: an EVSE id without a connector id = every connector of that EVSE only.
    status, entries = await _report(
        bench,
        3,
        componentVariable=[
            {"component": {"name": "Connector", "evse": {"id": 2}}, "variable": {"name": "ConnectorType"}}
        ],
    )
    assert [e["component"]["evse"] for e in entries] == [{"id": 2, "connectorId": 1}]


async def test_B08_FR_07_FR_10_FR_13_FR_15_get_report_component_criteria(bench: Bench) -> None:
    station = await bench.station()
    # Enabled: components whose Enabled is true (or absent); AuthCtrlr.Enabled is true.
    status, entries = await _report(
        bench, 1, componentCriteria=["Enabled"], componentVariable=[{"component": {"name": "AuthCtrlr"}}]
    )
    assert status == "Accepted" and {e["component"]["name"] for e in entries} == {"AuthCtrlr"}
    # Switch the authorization cache off: the same criteria on it give an empty result (B08.FR.15).
    await bench.call(
        "SetVariables", {"setVariableData": [_cv("AuthCacheCtrlr", "Enabled", attributeValue="false")]}
    )
    status, _ = await _report(
        bench, 2, componentCriteria=["Enabled"], componentVariable=[{"component": {"name": "AuthCacheCtrlr"}}]
    )
    assert status == "EmptyResultSet"
    # B08.FR.13: criteria are OR-ed; Available holds for the cache even though Enabled does not.
    status, entries = await _report(
        bench,
        3,
        componentCriteria=["Enabled", "Available"],
        componentVariable=[{"component": {"name": "AuthCacheCtrlr"}}],
    )
    assert status == "Accepted" and entries
    # B08.FR.10: nothing has a Problem on a healthy station...
    status, _ = await _report(bench, 4, componentCriteria=["Problem"])
    assert status == "EmptyResultSet"
    # ...but a faulted EVSE does.
    await station.set_fault(1, True)
    status, entries = await _report(bench, 5, componentCriteria=["Problem"])
    assert status == "Accepted"
    assert {e["component"]["name"] for e in entries} >= {"EVSE"}


# ============================================================================ B09/B10: network profiles


async def test_B09_FR_01_FR_04_FR_05_set_network_profile_statuses(bench: Bench) -> None:
    await bench.station()
    ok = await bench.call(
        "SetNetworkProfile", {"configurationSlot": 1, "connectionData": _profile("ws://10.0.0.1/ocpp")}
    )
    assert ok["status"] == "Accepted"  # B09.FR.01
    # B09.FR.09: the slot's NetworkConfiguration variables now hold the new data.
    url = await bench.call(
        "GetVariables",
        {
            "getVariableData": [
                {
                    "component": {"name": "NetworkConfiguration", "instance": "1"},
                    "variable": {"name": "OcppCsmsUrl"},
                }
            ]
        },
    )
    assert url["getVariableResult"][0]["attributeValue"] == "ws://10.0.0.1/ocpp"
    downgrade = await bench.call(
        "SetNetworkProfile", {"configurationSlot": 1, "connectionData": _profile("ws://10.0.0.1/ocpp", 0)}
    )
    assert downgrade["status"] == "Rejected"  # B09.FR.04: below the active security profile 1
    in_use = await bench.call(
        "SetNetworkProfile", {"configurationSlot": 0, "connectionData": _profile("ws://x/ocpp")}
    )
    assert in_use["status"] == "Rejected"  # slot 0 is in NetworkConfigurationPriority (B09.FR.22)
    no_slot = await bench.call(
        "SetNetworkProfile", {"configurationSlot": 7, "connectionData": _profile("ws://x/ocpp")}
    )
    assert no_slot["status"] == "Rejected"  # B09.FR.05: not in the valuesList of the priority


async def test_B10_FR_01_FR_04_FR_06_switch_to_new_csms_via_priority_and_reset(bench: Bench) -> None:
    station = await bench.station()
    new = await bench.second_csms()
    answer = await bench.call(
        "SetNetworkProfile", {"configurationSlot": 1, "connectionData": _profile(new.url)}
    )
    assert answer["status"] == "Accepted"
    answer = await bench.call(
        "SetVariables",
        {"setVariableData": [_cv("OCPPCommCtrlr", "NetworkConfigurationPriority", attributeValue="1,0")]},
    )
    assert answer["setVariableResult"][0]["attributeStatus"] == "RebootRequired"  # B10.FR.01
    assert (await bench.call("Reset", {"type": "Immediate"}))["status"] == "Accepted"
    # B10.FR.04: after the reboot the station starts with the first slot of the priority: the new CSMS.
    await bench.until(lambda: new.received("BootNotification") and station.online, 5)
    assert new.received("BootNotification")[0]["reason"] == "RemoteReset"
    assert not bench.csms.connected("CS-1")  # B10.FR.06: disconnected from the old one
    assert await _get_from(new, "OCPPCommCtrlr", "ActiveNetworkProfile") == "1"
    assert len(bench.csms.received("BootNotification")) == 1


async def _get_from(csms: Any, component: str, variable: str) -> str | None:
    answer = await csms.call("CS-1", "GetVariables", {"getVariableData": [_cv(component, variable)]})
    value: str | None = answer["getVariableResult"][0].get("attributeValue")
    return value


async def test_B10_FR_03_unreachable_first_slot_falls_back_to_the_next(bench: Bench) -> None:
    station = await bench.station(overrides={"OCPPCommCtrlr.NetworkProfileConnectionAttempts": "1"})
    dead = f"ws://127.0.0.1:{free_port()}/ocpp"
    await bench.call("SetNetworkProfile", {"configurationSlot": 1, "connectionData": _profile(dead)})
    await bench.call(
        "SetVariables",
        {"setVariableData": [_cv("OCPPCommCtrlr", "NetworkConfigurationPriority", attributeValue="1,0")]},
    )
    await bench.call("Reset", {"type": "Immediate"})
    # One attempt on slot 1 (NetworkProfileConnectionAttempts = 1), then slot 0: the same CSMS again.
    await bench.until(lambda: len(bench.csms.received("BootNotification")) == 2 and station.online, 5)
    assert bench.csms.received("BootNotification")[1]["reason"] == "RemoteReset"
    assert await _get(bench, "OCPPCommCtrlr", "ActiveNetworkProfile") == "0"


# ============================================================================ B11-B13: reset


async def test_B11_B12_FR_02_FR_04_immediate_reset_ends_transaction_then_reboots(bench: Bench) -> None:
    station = await bench.station()
    tx_id = await bench.charging(station)
    answer = await bench.call("Reset", {"type": "Immediate"})
    assert answer["status"] == "Accepted"  # B12.FR.02
    await bench.until(lambda: len(bench.sent("BootNotification")) == 2 and station.online, 5)
    ended = bench.tx_events()[-1]
    assert ended["eventType"] == "Ended" and ended["transactionInfo"]["transactionId"] == tx_id
    assert ended["triggerReason"] == "ResetCommand"  # B12.FR.04
    assert ended["transactionInfo"]["stoppedReason"] == "ImmediateReset"
    calls = bench.calls()
    assert calls.index("TransactionEvent", calls.index("BootNotification") + 1) < calls.index(
        "BootNotification", 1
    )
    # B11.FR.04 / B01.FR.03: a new cold boot, reason RemoteReset, then connectors again.
    assert bench.sent("BootNotification")[1]["reason"] == "RemoteReset"
    # The EV is still plugged in, but the ended transaction's authorization is gone: no energy,
    # no new transaction.
    await bench.settle(2.0)
    assert station.evses[1].transaction is None and station.evses[1].reading.power_w == 0
    assert len(bench.tx_events()) == 2


async def test_B12_FR_01_FR_03_on_idle_reset_waits_for_the_transaction(bench: Bench) -> None:
    station = await bench.station()
    await bench.charging(station)
    answer = await bench.call("Reset", {"type": "OnIdle"})
    assert answer["status"] == "Scheduled"  # B12.FR.01
    await bench.settle(2.0)
    assert len(bench.sent("BootNotification")) == 1 and station.evses[1].transaction is not None
    await station.tap("CARD-1")  # the driver ends it normally (B12.FR.03)
    await bench.until(lambda: len(bench.sent("BootNotification")) == 2 and station.online, 5)
    ended = [e for e in bench.tx_events() if e["eventType"] == "Ended"]
    assert len(ended) == 1 and ended[0]["triggerReason"] == "StopAuthorized"
    assert bench.sent("BootNotification")[1]["reason"] == "RemoteReset"


async def test_B13_FR_01_immediate_and_resume_rejected_without_resumption(bench: Bench) -> None:
    station = await bench.station()
    await bench.charging(station)
    answer = await bench.call("Reset", {"type": "ImmediateAndResume"})
    assert answer["status"] == "Rejected"  # ResumptionTimeout is 0
    await bench.settle(1.0)
    assert len(bench.sent("BootNotification")) == 1
    assert [e["triggerReason"] for e in bench.tx_events()] == ["Authorized"]


@pytest.mark.parametrize(
    ("energy_resumes", "state"), [(False, "SuspendedEVSE"), (True, "Charging")], ids=["no-energy", "energy"]
)
async def test_B13_FR_03_FR_04_FR_30_immediate_and_resume_resumes_the_transaction(
    bench: Bench, energy_resumes: bool, state: str
) -> None:
    station = await bench.station(
        overrides={
            "TxCtrlr.ResumptionTimeout": "300",
            "TxCtrlr.AllowEnergyTransferResumption": "true" if energy_resumes else "false",
        }
    )
    tx_id = await bench.charging(station)
    answer = await bench.call("Reset", {"type": "ImmediateAndResume"})
    assert answer["status"] == "Accepted"  # B13.FR.03
    await bench.until(lambda: any(e["triggerReason"] == "TxResumed" for e in bench.tx_events()), 5)
    events = bench.tx_events()
    # (a periodic meter value may slip in between under load: find the two by their trigger)
    triggers = [e["triggerReason"] for e in events]
    reset = events[triggers.index("ResetCommand")]
    resumed = events[triggers.index("TxResumed")]
    assert triggers.index("ResetCommand") < triggers.index("TxResumed")
    assert reset["eventType"] == "Updated"  # B13.FR.04
    assert resumed["eventType"] == "Updated"  # B13.FR.30
    assert resumed["transactionInfo"]["transactionId"] == tx_id
    assert [e["seqNo"] for e in events] == list(range(len(events)))
    # B13.FR.21: a real reboot came between the two.
    calls = bench.calls()
    second_boot = calls.index("BootNotification", 1)
    assert calls[second_boot:].count("TransactionEvent") >= 1
    assert bench.sent("BootNotification")[1]["reason"] == "RemoteReset"
    # B13.FR.24 / B13.FR.25: the resumed state depends on AllowEnergyTransferResumption.
    await bench.settle(2.0)
    assert station.evses[1].transaction is not None and station.evses[1].transaction.transaction_id == tx_id
    states = [e["transactionInfo"].get("chargingState") for e in bench.tx_events()[len(events) - 1 :]]
    assert [s for s in states if s][-1] == state
    assert all(e["eventType"] != "Ended" for e in bench.tx_events())


async def test_B11_FR_02_inoperative_station_stays_unavailable_after_reboot(bench: Bench) -> None:
    station = await bench.station()
    answer = await bench.call("ChangeAvailability", {"operationalStatus": "Inoperative"})
    assert answer["status"] == "Accepted"
    await bench.until(lambda: bench.last_state(1) == "Unavailable")
    reports_before = len(bench.connector_states())
    assert (await bench.call("Reset", {"type": "OnIdle"}))["status"] == "Accepted"  # idle: at once
    await bench.until(lambda: len(bench.sent("BootNotification")) == 2 and station.online, 5)
    await bench.until(lambda: len(bench.connector_states()) > reports_before)
    assert bench.connector_states()[reports_before:] == [(1, 1, "Unavailable")]
    start = await bench.call(
        "RequestStartTransaction", {"idToken": {"idToken": "APP", "type": "Central"}, "remoteStartId": 3}
    )
    assert start["status"] == "Rejected"  # F01.FR.23: an Unavailable EVSE starts nothing


async def test_B11_FR_08_B12_FR_08_evse_reset_ends_only_that_transaction_without_reboot(bench: Bench) -> None:
    station = await bench.station(evses=2)
    await bench.charging(station, "CARD-1", 1)
    await bench.charging(station, "CARD-2", 2)
    answer = await bench.call("Reset", {"type": "Immediate", "evseId": 2})
    assert answer["status"] == "Accepted"
    await bench.until(lambda: bench.event_types()[-1:] == ["Ended"])
    ended = bench.tx_events()[-1]
    assert (
        ended["triggerReason"] == "ResetCommand"
        and ended["transactionInfo"]["stoppedReason"] == "ImmediateReset"
    )
    assert station.evses[1].transaction is not None and station.evses[2].transaction is None
    await bench.settle(1.0)
    assert len(bench.sent("BootNotification")) == 1
    # The reset EVSE delivers no energy outside a transaction; the other one charges on.
    assert station.evses[2].reading.power_w == 0 and station.evses[1].reading.power_w > 0
