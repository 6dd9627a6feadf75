"""C: authorization (C01, C09, C10-C13, C15, C16) and D: local authorization list (D01, D02).

A CSMS sees authorization through what the station asks (Authorize), what it starts
(TransactionEvent with idToken) and what it refuses (nothing on the wire, a message on the
display). Offline behaviour is seen when the queued events arrive with `offline: true`.
"""

from __future__ import annotations

from typing import Any

from app.station.authorization import DISPLAY_TEXT, display_text
from app.station.station import Station
from tests.conformance.conftest import Bench, token


def _entry(
    value: str, status: str = "Accepted", group: str | None = None, evses: list[int] | None = None
) -> dict[str, Any]:
    info: dict[str, Any] = {"status": status}
    if evses is not None:
        info["evseId"] = evses  # C01.FR.20: only these EVSEs
    if group is not None:
        info["groupIdToken"] = {"idToken": group, "type": "Central"}  # C09.FR.13
    return {"idToken": token(value), "idTokenInfo": info}


async def _send_list(bench: Bench, version: int, items: list[dict[str, Any]], kind: str = "Full") -> str:
    payload: dict[str, Any] = {"versionNumber": version, "updateType": kind}
    if items:  # the schema wants at least one entry when the list is there
        payload["localAuthorizationList"] = items
    answer = await bench.call("SendLocalList", payload)
    status: str = answer["status"]
    return status


async def _version(bench: Bench) -> int:
    answer = await bench.call("GetLocalListVersion", {})
    version: int = answer["versionNumber"]
    return version


async def _entries(bench: Bench) -> str | None:
    answer = await bench.call(
        "GetVariables",
        {"getVariableData": [{"component": {"name": "LocalAuthListCtrlr"}, "variable": {"name": "Entries"}}]},
    )
    value: str | None = answer["getVariableResult"][0].get("attributeValue")
    return value


async def _set(bench: Bench, component: str, variable: str, value: str) -> None:
    answer = await bench.call(
        "SetVariables",
        {
            "setVariableData": [
                {"component": {"name": component}, "variable": {"name": variable}, "attributeValue": value}
            ]
        },
    )
    assert answer["setVariableResult"][0]["attributeStatus"] == "Accepted"


async def _offline(bench: Bench, station: Station) -> None:
    await station.set_network(False)
    await bench.until(lambda: not station.online and not bench.csms.connected(station.station_id))


async def _online(bench: Bench, station: Station) -> None:
    await station.set_network(True)
    await bench.until(lambda: station.online and station.queued_events == 0, 5)


# ============================================================================ D01/D02: local list


async def test_D01_D02_full_differential_version_mismatch_and_version(bench: Bench) -> None:
    await bench.station()
    assert await _version(bench) == 0  # D02.FR.02: no list installed yet
    assert await _send_list(bench, 1, [_entry("A"), _entry("B", "Blocked")]) == "Accepted"
    assert await _version(bench) == 1  # D02.FR.01
    assert await _entries(bench) == "2"  # D01.FR.12
    # D01.FR.19: a Differential update with a version not above the current one is refused.
    assert await _send_list(bench, 1, [_entry("C")], "Differential") == "VersionMismatch"
    assert await _version(bench) == 1 and await _entries(bench) == "2"
    # D01.FR.16/17: entries with idTokenInfo are added or updated, entries without are removed.
    removal = {"idToken": token("A")}
    assert await _send_list(bench, 3, [_entry("C"), removal], "Differential") == "Accepted"
    assert await _version(bench) == 3 and await _entries(bench) == "2"
    # D01.FR.06: the same idToken twice in one update is refused, the list is untouched.
    duplicate = await _send_list(bench, 4, [_entry("D"), _entry("d")], "Differential")
    assert duplicate == "Failed"
    assert await _version(bench) == 3
    # D01.FR.04: a Full update without entries empties the list, the version is still taken.
    assert await _send_list(bench, 5, []) == "Accepted"
    assert await _version(bench) == 5 and await _entries(bench) == "0"
    # D02.FR.03: a disabled list reports version 0.
    await _set(bench, "LocalAuthListCtrlr", "Enabled", "false")
    assert await _version(bench) == 0


async def test_C13_FR_01_FR_02_listed_tokens_decide_offline(bench: Bench) -> None:
    station = await bench.station(evses=3)
    assert await _send_list(bench, 1, [_entry("LISTED"), _entry("BLOCKED", "Blocked")]) == "Accepted"
    await _offline(bench, station)
    for evse in (1, 2, 3):
        await station.plug(evse)
    assert await station.tap("LISTED", 1) == "Accepted"  # LocalAuthorizeOffline (default true)
    assert await station.tap("BLOCKED", 2) == "Blocked"
    assert await station.tap("STRANGER", 3) == "Unknown"  # C13.FR.02: only listed Accepted tokens
    assert station.evses[2].message == display_text("Blocked")
    assert station.queued_events == 1
    await _online(bench, station)
    received = bench.csms.received("TransactionEvent")
    assert len(received) == 1
    assert received[0]["idToken"]["idToken"] == "LISTED" and received[0]["offline"] is True
    assert bench.csms.received("Authorize") == []  # decided locally, nobody was asked


async def test_C13_local_authorize_offline_false_refuses_even_listed_tokens(bench: Bench) -> None:
    station = await bench.station()
    await _send_list(bench, 1, [_entry("LISTED")])
    await _set(bench, "AuthCtrlr", "LocalAuthorizeOffline", "false")
    await _offline(bench, station)
    await station.plug(1)
    assert await station.tap("LISTED") == "Unknown"
    await bench.settle(1.0)
    assert station.evses[1].transaction is None and station.queued_events == 0


async def test_C12_FR_02_local_pre_authorize_starts_without_asking(bench: Bench) -> None:
    station = await bench.station(evses=2)
    await _send_list(bench, 1, [_entry("PRE")])
    # Without LocalPreAuthorize the station still asks the CSMS online (C01.FR.05).
    await station.plug(1)
    assert await station.tap("PRE", 1) == "Accepted"
    assert [a["idToken"]["idToken"] for a in bench.csms.received("Authorize")] == ["PRE"]
    await _set(bench, "AuthCtrlr", "LocalPreAuthorize", "true")
    await station.plug(2)
    assert await station.tap("PRE", 2) == "Accepted"
    await bench.until(lambda: len(bench.csms.received("TransactionEvent")) == 2)
    assert len(bench.csms.received("Authorize")) == 1  # no second Authorize
    started = bench.csms.received("TransactionEvent")[1]
    assert started["idToken"]["idToken"] == "PRE"  # C12.FR.02: the CSMS checks it here
    assert started["evse"]["id"] == 2


async def test_C10_C11_cache_filled_by_authorize_used_offline_and_cleared(bench: Bench) -> None:
    station = await bench.station()
    bench.csms.token_status = {"LATER": "Blocked"}
    await station.plug(1)
    # C10.FR.03 / C12.FR.05: a cached non-Accepted token is asked again when online.
    assert await station.tap("LATER") == "Blocked"
    bench.csms.token_status = {}
    assert await station.tap("LATER") == "Accepted"
    assert len(bench.csms.received("Authorize")) == 2
    await station.tap("LATER")  # stop
    await bench.until(lambda: bench.event_types(at_csms=True)[-1:] == ["Ended"])
    # C10.FR.04: the Accepted verdict is cached; offline it authorizes without the CSMS.
    await _offline(bench, station)
    assert await station.tap("LATER") == "Accepted"
    await station.tap("LATER")
    await _online(bench, station)
    offline_events = [e for e in bench.csms.received("TransactionEvent") if e.get("offline")]
    assert [e["eventType"] for e in offline_events] == ["Started", "Ended"]
    assert len(bench.csms.received("Authorize")) == 2
    # C11.FR.03: ClearCache empties it; offline the token is now unknown.
    assert (await bench.call("ClearCache", {}))["status"] == "Accepted"
    await _offline(bench, station)
    assert await station.tap("LATER") == "Unknown"
    await _online(bench, station)
    # C11.FR.04: with the cache disabled ClearCache is Rejected.
    await _set(bench, "AuthCacheCtrlr", "Enabled", "false")
    assert (await bench.call("ClearCache", {}))["status"] == "Rejected"


async def test_C15_FR_08_FR_04_offline_unknown_id_accepted_then_deauthorized(bench: Bench) -> None:
    station = await bench.station(overrides={"AuthCtrlr.OfflineTxForUnknownIdEnabled": "true"})
    bench.csms.token_status = {"NEWCOMER": "Invalid"}
    await _offline(bench, station)
    await station.plug(1)
    assert await station.tap("NEWCOMER") == "Accepted"  # C15.FR.08
    assert station.evses[1].transaction is not None
    # C15.FR.02: the transaction goes to the CSMS once online; its verdict Invalid ends it
    # (C15.FR.04: StopTxOnInvalidId true, TxStopPoint contains Authorized).
    await station.set_network(True)
    await bench.until(lambda: any(e["eventType"] == "Ended" for e in bench.csms.received("TransactionEvent")))
    events = bench.csms.received("TransactionEvent")
    assert events[0]["offline"] is True and events[0]["idToken"]["idToken"] == "NEWCOMER"
    ended = events[-1]
    assert ended["triggerReason"] == "Deauthorized"
    assert ended["transactionInfo"]["stoppedReason"] == "DeAuthorized"
    assert station.evses[1].reading.power_w == 0


async def test_C09_FR_03_FR_11_group_member_stops_refused_member_does_not(bench: Bench) -> None:
    station = await bench.station(overrides={"AuthCtrlr.LocalPreAuthorize": "true"})
    await _send_list(
        bench,
        1,
        [
            _entry("MUM", group="FAMILY"),
            _entry("DAD", group="FAMILY"),
            _entry("KID", "Blocked", group="FAMILY"),
        ],
    )
    await station.plug(1)
    assert await station.tap("MUM") == "Accepted"
    await bench.until(lambda: bench.csms.received("TransactionEvent"))
    await station.tap("KID")  # C09.FR.11: same group, not Accepted: nothing stops
    await bench.settle(1.0)
    assert station.evses[1].transaction is not None
    assert await station.tap("DAD") == "Accepted"  # C09.FR.03
    await bench.until(lambda: bench.event_types(at_csms=True)[-1:] == ["Ended"])
    ended = bench.csms.received("TransactionEvent")[-1]
    assert ended["triggerReason"] == "StopAuthorized"  # E07.FR.02
    assert ended["transactionInfo"].get("stoppedReason", "Local") == "Local"


async def test_C16_FR_02_FR_03_FR_08_master_pass_stops_all_and_starts_nothing(bench: Bench) -> None:
    station = await bench.station(
        evses=2, overrides={"AuthCtrlr.LocalPreAuthorize": "true", "AuthCtrlr.MasterPassGroupId": "MASTER"}
    )
    await _send_list(bench, 1, [_entry("A"), _entry("B"), _entry("SECURITY", group="MASTER")])
    await station.plug(1)
    await station.plug(2)
    # C16.FR.03: a master pass on an idle station starts nothing.
    assert await station.tap("SECURITY") == "Accepted"
    await bench.settle(1.0)
    assert bench.csms.received("TransactionEvent") == []
    assert await station.tap("A", 1) == "Accepted"
    assert await station.tap("B", 2) == "Accepted"
    await bench.until(lambda: len(bench.csms.received("TransactionEvent")) == 2)
    # C16.FR.02: a station without a selection UI stops every transaction, stoppedReason MasterPass.
    assert await station.tap("SECURITY") == "Accepted"
    await bench.until(
        lambda: sum(e["eventType"] == "Ended" for e in bench.csms.received("TransactionEvent")) == 2
    )
    ended = [e for e in bench.csms.received("TransactionEvent") if e["eventType"] == "Ended"]
    assert {e["transactionInfo"]["stoppedReason"] for e in ended} == {"MasterPass"}  # C16.FR.08
    assert {e["triggerReason"] for e in ended} == {"StopAuthorized"}


async def test_C01_FR_07_every_authorization_status_reaches_the_display(bench: Bench) -> None:
    station = await bench.station()
    refusals = [s for s in DISPLAY_TEXT if s != "Accepted"]
    bench.csms.token_status = {f"CARD-{s}": s for s in refusals}
    await station.plug(1)
    for status in refusals:
        assert await station.tap(f"CARD-{status}") == status
        assert station.evses[1].auth_status == status
        assert station.evses[1].message == display_text(status)
    assert len(bench.csms.received("Authorize")) == len(refusals)  # C01.FR.02: each one asked
    assert bench.csms.received("TransactionEvent") == []  # C01.FR.01: no energy, no transaction
    assert station.evses[1].reading is None or station.evses[1].reading.power_w == 0
    assert await station.tap("CARD-OK") == "Accepted"
    assert station.evses[1].auth_status == "Accepted"
    await bench.until(lambda: bench.csms.received("TransactionEvent"))


async def test_C01_FR_21_token_limited_to_some_evses_charges_only_there(bench: Bench) -> None:
    station = await bench.station(evses=2, overrides={"AuthCtrlr.LocalPreAuthorize": "true"})
    await _send_list(bench, 1, [_entry("FLEET", evses=[2])])
    await station.plug(1)
    await station.plug(2)
    assert await station.tap("FLEET", 1) == "NotAllowedTypeEVSE"
    assert station.evses[1].message == display_text("NotAllowedTypeEVSE")
    await bench.settle(0.5)
    assert bench.tx_events() == []
    assert await station.tap("FLEET") == "Accepted"  # no EVSE named: the station picks an allowed one
    await bench.until(lambda: bench.csms.received("TransactionEvent"))
    assert bench.csms.received("TransactionEvent")[0]["evse"]["id"] == 2
