"""Firmware update (L01) between an emulated station and the built-in CSMS, over real websockets.

Assertions are on the FirmwareStatusNotification frames the station put on the wire, in order,
as the CSMS operator would read them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from app.clock import AcceleratedClock, utc_timestamp
from app.session import Session
from app.station.config import StationConfig
from app.station.station import Station
from tests.support import wait_until

CERT = (
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBszCCAVmgAwIBAgIUQmFzZTY0IGlzIG5vdCBhIGNlcnRpZmljYXRlMAoGCCqG\n"
    "-----END CERTIFICATE-----\n"
)


@pytest.fixture
async def session() -> AsyncIterator[Session]:
    s = Session(clock=AcceleratedClock(50.0))
    await s.start_csms()
    yield s
    await s.stop()


async def station(session: Session, evses: int = 1) -> Station:
    assert session.csms is not None
    config = StationConfig(
        station_id="FW-1",
        csms_url=session.csms.url,
        evse_count=evses,
        overrides={"AlignedDataCtrlr.Interval": "0", "OCPPCommCtrlr.RetryBackOffWaitMinimum": "1"},
    )
    st = session.add_station(config)
    await wait_until(lambda: st.online)
    return st


def update(request_id: int = 7, **firmware: Any) -> dict[str, Any]:
    extra = {k: firmware.pop(k) for k in ("retries", "retryInterval") if k in firmware}
    return {
        "requestId": request_id,
        **extra,
        "firmware": {
            "location": "https://firmware.example.com/fw-2.0.1.bin",
            "retrieveDateTime": "2020-01-01T00:00:00Z",
            **firmware,
        },
    }


def statuses(session: Session) -> list[str]:
    return [
        r.payload["status"]
        for r in session.store.records()
        if r.action == "FirmwareStatusNotification" and r.message_type == 2 and not r.mirror
    ]


def security_events(session: Session) -> list[str]:
    return [e["type"] for e in sent(session, "SecurityEventNotification")]


def sent(session: Session, action: str) -> list[dict[str, Any]]:
    return [
        r.payload
        for r in session.store.records()
        if r.action == action and r.message_type == 2 and r.sender == "station" and not r.mirror
    ]


async def call(session: Session, action: str, payload: dict[str, Any]) -> dict[str, Any]:
    assert session.csms is not None
    return await session.csms.call("FW-1", action, payload)


async def test_L01_signed_update_goes_through_every_status_and_reboots_into_the_new_version(
    session: Session,
) -> None:
    st = await station(session)
    signed = update(signature="c2lnbmF0dXJl", signingCertificate=CERT)
    answer = await call(session, "UpdateFirmware", signed)
    assert answer["status"] == "Accepted"
    await wait_until(lambda: "Installed" in statuses(session), 15)
    assert statuses(session) == [
        "Downloading",
        "Downloaded",
        "SignatureVerified",  # L01.FR.04
        "Installing",
        "InstallRebooting",  # L01.FR.15: before the reboot
        "Installed",  # L01.FR.32 (a): sent by the new firmware after its boot
    ]
    # L01.FR.10: every notification carries the request's id.
    assert {p["requestId"] for p in sent(session, "FirmwareStatusNotification")} == {7}
    boots = sent(session, "BootNotification")
    assert boots[-1]["reason"] == "FirmwareUpdate"
    assert boots[-1]["chargingStation"]["firmwareVersion"] == "2.0.1"
    assert st.dm.get_str("ChargingStation", "FirmwareVersion") == "2.0.1"
    # The Installed status comes after the new boot, not before it.
    order = [r.action for r in session.store.records() if r.message_type == 2 and not r.mirror]
    assert order.index("BootNotification", 1) < len(order) - order[::-1].index("FirmwareStatusNotification")
    await wait_until(lambda: "FirmwareUpdated" in security_events(session))  # L01.FR.31


async def test_L01_FR_30_unreachable_location_retries_then_download_failed(session: Session) -> None:
    st = await station(session)
    payload = update(location="https://firmware.invalid/fw.bin", retries=2, retryInterval=5)
    assert (await call(session, "UpdateFirmware", payload))["status"] == "Accepted"
    await wait_until(lambda: "DownloadFailed" in statuses(session), 15)
    assert statuses(session) == ["Downloading", "Downloading", "Downloading", "DownloadFailed"]
    assert len(sent(session, "BootNotification")) == 1  # no reboot, no new firmware
    assert st.config.firmware_version == "0.1.0"


async def test_L01_FR_13_16_future_retrieve_and_install_times_are_scheduled(session: Session) -> None:
    await station(session)
    now = session.clock.now().replace(microsecond=0)
    install_at = now + timedelta(minutes=2)
    payload = update(
        retrieveDateTime=utc_timestamp(now + timedelta(minutes=1)),
        installDateTime=utc_timestamp(install_at),
    )
    assert (await call(session, "UpdateFirmware", payload))["status"] == "Accepted"
    await wait_until(lambda: "Installed" in statuses(session), 20)
    assert statuses(session)[:4] == ["DownloadScheduled", "Downloading", "Downloaded", "InstallScheduled"]
    installing = next(
        r for r in session.store.records()
        if r.action == "FirmwareStatusNotification" and r.message_type == 2
        and r.payload["status"] == "Installing" and not r.mirror
    )
    assert installing.time >= install_at  # not before installDateTime


async def test_L01_FR_06_07_waits_for_the_transaction_and_closes_idle_evses(session: Session) -> None:
    st = await station(session, evses=2)
    await st.plug(1)
    assert await st.tap("DRIVER-1", 1) == "Accepted"
    await wait_until(lambda: st.evses[1].transaction is not None)
    assert (await call(session, "UpdateFirmware", update()))["status"] == "Accepted"
    await wait_until(lambda: "InstallScheduled" in statuses(session), 10)  # L01.FR.34
    # L01.FR.07: the idle EVSE 2 turns Unavailable; the busy one keeps charging.
    await wait_until(lambda: st.evses[2].connectors[0].reported_status == "Unavailable")
    assert st.evses[1].transaction is not None
    await session.clock.sleep(60)
    assert "Installing" not in statuses(session)  # L01.FR.06: not while a transaction runs
    await st.unplug(1)
    await wait_until(lambda: "Installed" in statuses(session), 15)
    await wait_until(lambda: st.evses[2].connectors[0].reported_status == "Available")


async def test_L01_FR_22_02_invalid_certificate_is_refused_with_a_security_event(session: Session) -> None:
    await station(session)
    answer = await call(session, "UpdateFirmware", update(signingCertificate="not a certificate"))
    assert answer["status"] == "InvalidCertificate"
    await wait_until(lambda: "InvalidFirmwareSigningCertificate" in security_events(session))
    assert statuses(session) == []


async def test_L01_FR_03_bad_signature_stops_after_download(session: Session) -> None:
    await station(session)
    assert (await call(session, "UpdateFirmware", update(signature="%%% not base64")))["status"] == "Accepted"
    await wait_until(lambda: "InvalidSignature" in statuses(session), 10)
    assert statuses(session) == ["Downloading", "Downloaded", "InvalidSignature"]
    await wait_until(lambda: "InvalidFirmwareSignature" in security_events(session))


async def test_L01_FR_24_new_request_cancels_the_running_one(session: Session) -> None:
    await station(session)
    first = update(request_id=1, installDateTime="2099-01-01T00:00:00Z")
    assert (await call(session, "UpdateFirmware", first))["status"] == "Accepted"
    await wait_until(lambda: "InstallScheduled" in statuses(session), 10)
    assert (await call(session, "UpdateFirmware", update(request_id=2)))["status"] == "AcceptedCanceled"
    await wait_until(lambda: "Installed" in statuses(session), 15)
    installed = [p for p in sent(session, "FirmwareStatusNotification") if p["status"] == "Installed"]
    assert [p["requestId"] for p in installed] == [2]


async def test_L01_FR_25_26_trigger_reports_the_last_status_then_idle(session: Session) -> None:
    await station(session)
    trigger = {"requestedMessage": "FirmwareStatusNotification"}
    assert (await call(session, "TriggerMessage", trigger))["status"] == "Accepted"
    await wait_until(lambda: statuses(session) == ["Idle"])  # nothing ran yet
    await call(session, "UpdateFirmware", update(request_id=9, installDateTime="2099-01-01T00:00:00Z"))
    await wait_until(lambda: "InstallScheduled" in statuses(session), 10)
    await call(session, "TriggerMessage", trigger)
    await wait_until(lambda: statuses(session).count("InstallScheduled") == 2)  # the last one, again
    assert sent(session, "FirmwareStatusNotification")[-1]["requestId"] == 9

