"""Security profiles 1-3 end to end between our station and our CSMS, over real TLS websockets
on loopback, with a PKI generated in the test (app/csms/ca.py). Requirement ids: OCPP 2.1 Part 2.
"""

from __future__ import annotations

import base64
import logging
import signal
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from app.clock import AcceleratedClock
from app.csms.ca import TestPki
from app.csms.csms import Csms, CsmsConfig
from app.inspector.records import CaptureRecord
from app.session import Session
from app.station.certificates import new_key_and_csr
from app.station.config import StationConfig
from app.station.station import Station
from tests.support import wait_until
from tests.test_cli import free_port, run, spawn, wait_for_line

PASSWORD = "correct-horse-battery-staple"  # >= 16 characters (A00.FR.205)
FAST = {
    "OCPPCommCtrlr.RetryBackOffWaitMinimum": "1",
    "OCPPCommCtrlr.RetryBackOffRandomRange": "0",
    "AlignedDataCtrlr.Interval": "0",
}


@pytest.fixture
async def session() -> AsyncIterator[Session]:
    s = Session(clock=AcceleratedClock(10.0))
    yield s
    await s.stop()


def _station(session: Session, url: str, profile: int, tmp_path: Path, **extra: Any) -> Station:
    config = StationConfig(
        station_id="CB-SEC",
        csms_url=url,
        security_profile=profile,
        password=PASSWORD,
        overrides=dict(FAST),
        state_path=str(tmp_path / "station.sqlite"),
        call_timeout=5,
        **extra,
    )
    return session.add_station(config)


def _calls(session: Session, action: str, sender: str) -> list[dict[str, Any]]:
    return [
        r.payload
        for r in session.store
        if r.observer == "station" and r.action == action and r.sender == sender and r.message_type == 2
    ]


def _answers(session: Session, action: str) -> list[CaptureRecord]:
    return [
        r for r in session.store if r.observer == "station" and r.action == action and r.message_type == 3
    ]


def _slot(url: str, profile: int) -> dict[str, Any]:
    return {
        "ocppCsmsUrl": url,
        "ocppInterface": "Wired0",
        "ocppTransport": "JSON",
        "ocppVersion": "OCPP21",
        "messageTimeout": 30,
        "securityProfile": profile,
    }


def _priority(value: str) -> dict[str, Any]:
    return {
        "setVariableData": [
            {
                "component": {"name": "OCPPCommCtrlr"},
                "variable": {"name": "NetworkConfigurationPriority"},
                "attributeValue": value,
            }
        ]
    }


async def test_profile_2_station_gets_signed_certificate_then_connects_with_profile_3(
    session: Session, tmp_path: Path
) -> None:
    pki = TestPki(tmp_path / "pki")
    csms = await session.start_csms(
        config=CsmsConfig(passwords={"CB-SEC": PASSWORD}), pki=pki, security_profile=2
    )
    assert csms.url.startswith("wss://127.0.0.1:")
    # One profile per port (A00.FR.006): a second listener for mutual TLS.
    csms3 = Csms(clock=session.clock, capture=session.capture, pki=pki, security_profile=3)
    await csms3.start("127.0.0.1", 0)
    try:
        station = _station(session, csms.url, 2, tmp_path, ca_file=str(pki.files.root_cert))
        await wait_until(lambda: station.online, 10)
        assert csms.stations["CB-SEC"].client_certificate is None  # profile 2: Basic auth only

        # A second slot for profile 3 is stored, but it cannot be put in use without a
        # station certificate (A05.FR.03).
        answer = await csms.call(
            "CB-SEC", "SetNetworkProfile", {"configurationSlot": 1, "connectionData": _slot(csms3.url, 3)}
        )
        assert answer["status"] == "Accepted"
        refused = await csms.call("CB-SEC", "SetVariables", _priority("1,0"))
        assert refused["setVariableResult"][0]["attributeStatus"] == "Rejected"
        assert refused["setVariableResult"][0]["attributeStatusInfo"]["reasonCode"] == "NoClientCert"

        # A02: the CSMS asks, the station sends a CSR with a requestId, the CSMS (our CA) answers
        # CertificateSigned with the same requestId, the station checks and installs it.
        trigger = await csms.call(
            "CB-SEC", "TriggerMessage", {"requestedMessage": "SignChargingStationCertificate"}
        )
        assert trigger["status"] == "Accepted"
        await wait_until(lambda: station.certificates.leaf_chain() is not None, 10)
        [sign] = _calls(session, "SignCertificate", "station")
        [signed] = _calls(session, "CertificateSigned", "csms")
        assert sign["certificateType"] == "ChargingStationCertificate"
        assert signed["requestId"] == sign["requestId"]  # A02.FR.25
        assert signed["certificateType"] == "ChargingStationCertificate"  # A02.FR.14
        assert _answers(session, "CertificateSigned")[-1].payload == {"status": "Accepted"}
        csr = x509.load_pem_x509_csr(sign["csr"].encode())
        common_name = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        assert common_name == station.config.serial_number  # A00.FR.511
        assert (
            csr.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value
            == station.dm.get_str("SecurityCtrlr", "OrganizationName")
        )
        # A02.FR.05: the private key never went over the wire.
        assert not any("PRIVATE KEY" in r.raw for r in session.store)

        # A05: the profile 3 slot first, then a reset; the station connects with mutual TLS
        # using the certificate the CSMS signed.
        accepted = await csms.call("CB-SEC", "SetVariables", _priority("1,0"))
        assert accepted["setVariableResult"][0]["attributeStatus"] in ("Accepted", "RebootRequired")
        reset = await csms.call("CB-SEC", "Reset", {"type": "Immediate"})
        assert reset["status"] == "Accepted"
        link = await csms3.wait_for_station("CB-SEC", timeout=15)
        assert link.client_certificate is not None
        assert f"CN={station.config.serial_number}" in link.client_certificate
        await wait_until(lambda: station.online, 10)
        # A05.FR.06: the new profile is in force and the lower slot is gone from the priority list.
        assert station.dm.get_int("SecurityCtrlr", "SecurityProfile") == 3
        assert station.dm.get_list("OCPPCommCtrlr", "NetworkConfigurationPriority") == ["1"]
        # ...so a downgrade back to profile 2 is refused (A00.FR.005, B09.FR.04).
        back = await csms3.call(
            "CB-SEC", "SetNetworkProfile", {"configurationSlot": 0, "connectionData": _slot(csms.url, 2)}
        )
        assert back["status"] == "Rejected"
        # StartupOfTheDevice and ResetOrReboot reached a CSMS (A04.FR.01).
        def events() -> set[str]:
            return {e["type"] for e in _calls(session, "SecurityEventNotification", "station")}

        await wait_until(lambda: {"StartupOfTheDevice", "ResetOrReboot"} <= events(), 10)
    finally:
        await csms3.stop()


async def test_station_trusting_another_ca_refuses_the_csms_and_says_why(
    session: Session, tmp_path: Path
) -> None:
    pki = TestPki(tmp_path / "pki")
    other = TestPki(tmp_path / "other", organization="Somebody Else")
    csms = await session.start_csms(pki=pki, security_profile=2)
    station = _station(session, csms.url, 2, tmp_path, ca_file=str(other.files.root_cert))
    await wait_until(lambda: "certificate verify failed" in station.last_error, 10)
    assert "does not chain to" in station.last_error and str(other.files.root_cert) in station.last_error
    assert not csms.stations  # A00.FR.311: terminated before any OCPP
    # A00.FR.310: one InvalidCsmsCertificate security event, not one per attempt.
    await session.clock.sleep(10)  # a few more attempts (back-off from 1 s)
    assert [e["type"] for e in station.security.log].count("InvalidCsmsCertificate") == 1
    assert [e["type"] for e in station.security.outbox] == ["StartupOfTheDevice", "InvalidCsmsCertificate"]


async def test_certificate_for_another_host_is_refused_with_the_host_named(
    session: Session, tmp_path: Path
) -> None:
    pki = TestPki(tmp_path / "pki", hosts=("csms.example.com",))
    csms = await session.start_csms(pki=pki, security_profile=2)
    station = _station(session, csms.url, 2, tmp_path, ca_file=str(pki.files.root_cert))
    await wait_until(lambda: station.last_error, 10)
    assert "certificate verify failed" in station.last_error
    assert "not valid for host '127.0.0.1'" in station.last_error  # A00.FR.309
    assert not csms.stations


async def test_profile_3_csms_refuses_a_station_without_a_client_certificate(
    session: Session, tmp_path: Path
) -> None:
    pki = TestPki(tmp_path / "pki")
    csms = await session.start_csms(pki=pki, security_profile=3)
    station = _station(session, csms.url, 3, tmp_path, ca_file=str(pki.files.root_cert))
    await wait_until(lambda: station.last_error, 10)
    assert not station.online and "CB-SEC" not in csms.stations  # A00.FR.407
    assert "it may want a client certificate, profile 3" in station.last_error


async def test_profile_3_csms_rejects_a_certificate_of_another_station(
    session: Session, tmp_path: Path
) -> None:
    pki = TestPki(tmp_path / "pki")
    csms = await session.start_csms(pki=pki, security_profile=3)
    key_pem, csr = new_key_and_csr("CB-SOMEONE-ELSE", "ChargeBench CSO")  # signed by the right CA
    (tmp_path / "client.pem").write_text(pki.sign_csr(csr))
    (tmp_path / "client.key").write_text(key_pem)
    station = _station(
        session,
        csms.url,
        3,
        tmp_path,
        ca_file=str(pki.files.root_cert),
        client_cert=str(tmp_path / "client.pem"),
        client_key=str(tmp_path / "client.key"),
    )
    await wait_until(lambda: station.boot_status == "Rejected", 10)
    assert csms.stations["CB-SEC"].client_certificate == "CN=CB-SOMEONE-ELSE,O=ChargeBench CSO"
    answer = _answers(session, "BootNotification")[-1].payload
    assert answer["statusInfo"]["reasonCode"] == "InvalidCertificate"  # A00.FR.405


async def test_renewed_certificate_the_csms_does_not_trust_is_discarded_for_the_old_one(
    session: Session, tmp_path: Path
) -> None:
    pki, other = TestPki(tmp_path / "pki"), TestPki(tmp_path / "other")
    csms = await session.start_csms(config=CsmsConfig(sign_certificates=False), pki=pki, security_profile=3)
    key_pem, csr = new_key_and_csr("CB-CB-SEC", "ChargeBench CSO")  # the factory certificate
    factory = pki.sign_csr(csr)
    (tmp_path / "client.pem").write_text(factory)
    (tmp_path / "client.key").write_text(key_pem)
    station = _station(
        session,
        csms.url,
        3,
        tmp_path,
        ca_file=str(pki.files.root_cert),
        client_cert=str(tmp_path / "client.pem"),
        client_key=str(tmp_path / "client.key"),
    )
    await wait_until(lambda: station.online, 10)
    root = {"certificateType": "CSMSRootCertificate", "certificate": other.root_pem}
    assert (await csms.call("CB-SEC", "InstallCertificate", root))["status"] == "Accepted"
    await csms.call("CB-SEC", "TriggerMessage", {"requestedMessage": "SignChargingStationCertificate"})
    await wait_until(lambda: _calls(session, "SignCertificate", "station"), 10)
    request = _calls(session, "SignCertificate", "station")[-1]
    # A CA the CSMS does not trust signs the renewal: valid for the station, useless for TLS.
    renewed = {"certificateChain": other.sign_csr(request["csr"]), "requestId": request["requestId"]}
    assert (await csms.call("CB-SEC", "CertificateSigned", renewed))["status"] == "Accepted"
    # A02.FR.08: it reconnects with the new certificate, is refused NetworkProfileConnectionAttempts
    # times, falls back to the old one (A02.FR.28), and keeps that one (A02.FR.10, A02.FR.29).
    await wait_until(lambda: "DiscardedRenewedClientCertificate" in events_sent(session), 15)
    assert station.online
    assert station.certificates.leaf_chain() == factory
    assert [e["type"] for e in station.security.log].count("DiscardedRenewedClientCertificate") == 1


def events_sent(session: Session) -> set[str]:
    return {e["type"] for e in _calls(session, "SecurityEventNotification", "station")}


async def test_clock_set_from_a_csms_two_hours_ahead_is_a_security_event(tmp_path: Path) -> None:
    session = Session()  # wall-clock time: only then does the station adopt the CSMS time
    ahead = AcceleratedClock(1.0, start=datetime.now(UTC) + timedelta(hours=2))
    csms = Csms(clock=ahead, capture=session.capture)
    await csms.start("127.0.0.1", 0)
    try:
        station = _station(session, csms.url, 1, tmp_path)
        await wait_until(lambda: "SettingSystemTime" in events_sent(session), 10)
        [event] = [e for e in station.security.log if e["type"] == "SettingSystemTime"]
        assert "clock set by 7200 s" in event["techInfo"]  # over TimeAdjustmentReportingThreshold (60 s)
    finally:
        await session.stop()
        await csms.stop()


async def test_profile_2_slot_needs_a_csms_root_first(session: Session, tmp_path: Path) -> None:
    pki = TestPki(tmp_path / "pki")
    csms = await session.start_csms(pki=pki)  # profile 1 listener; the station has no CA yet
    station = _station(session, csms.url, 1, tmp_path)
    await wait_until(lambda: station.online, 10)
    wss = {"configurationSlot": 1, "connectionData": _slot("wss://localhost:1/ocpp", 2)}
    assert (await csms.call("CB-SEC", "SetNetworkProfile", wss))["status"] == "Accepted"
    refused = await csms.call("CB-SEC", "SetVariables", _priority("1,0"))
    assert refused["setVariableResult"][0]["attributeStatusInfo"]["reasonCode"] == "NoCsmsRoot"  # A05.FR.02
    root = {"certificateType": "CSMSRootCertificate", "certificate": pki.root_pem}
    assert (await csms.call("CB-SEC", "InstallCertificate", root))["status"] == "Accepted"
    accepted = await csms.call("CB-SEC", "SetVariables", _priority("1,0"))
    assert accepted["setVariableResult"][0]["attributeStatus"] in ("Accepted", "RebootRequired")  # A05.FR.04


async def test_downgrade_from_3_to_2_only_when_allowed_and_never_to_1(
    session: Session, tmp_path: Path
) -> None:
    pki = TestPki(tmp_path / "pki")
    csms = await session.start_csms(pki=pki, security_profile=3)
    key_pem, csr = new_key_and_csr("CB-CB-SEC", "ChargeBench CSO")
    (tmp_path / "client.pem").write_text(pki.sign_csr(csr))
    (tmp_path / "client.key").write_text(key_pem)
    station = _station(
        session,
        csms.url,
        3,
        tmp_path,
        ca_file=str(pki.files.root_cert),
        client_cert=str(tmp_path / "client.pem"),
        client_key=str(tmp_path / "client.key"),
    )
    await wait_until(lambda: station.online, 10)

    async def set_slot(profile: int) -> str:
        url = "ws://localhost:1/ocpp" if profile == 1 else "wss://localhost:1/ocpp"
        data = {"configurationSlot": 1, "connectionData": _slot(url, profile)}
        status: str = (await csms.call("CB-SEC", "SetNetworkProfile", data))["status"]
        return status

    assert await set_slot(2) == "Rejected"  # A00.FR.005: AllowSecurityProfileDowngrade is false
    allow = {
        "setVariableData": [
            {
                "component": {"name": "SecurityCtrlr"},
                "variable": {"name": "AllowSecurityProfileDowngrade"},
                "attributeValue": "true",
            }
        ]
    }
    allowed = await csms.call("CB-SEC", "SetVariables", allow)
    assert allowed["setVariableResult"][0]["attributeStatus"] == "Accepted"
    assert await set_slot(2) == "Accepted"  # A05.FR.08
    assert await set_slot(1) == "Rejected"  # A05.FR.09


async def test_profile_1_basic_auth_over_ws(
    session: Session, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # what `chargebench -v` prints, websockets' handshake included
    csms = await session.start_csms(config=CsmsConfig(passwords={"CB-SEC": PASSWORD}))
    assert csms.url.startswith("ws://")
    station = _station(session, csms.url, 1, tmp_path)
    await wait_until(lambda: station.online, 10)
    # The password travels in the HTTP upgrade only: no frame carries it, no log line shows it.
    assert not any(PASSWORD in r.raw for r in session.store)
    token = base64.b64encode(f"CB-SEC:{PASSWORD}".encode()).decode()
    assert "Authorization: ********" in caplog.text
    assert PASSWORD not in caplog.text and token not in caplog.text


def test_cli_csms_profile_3_and_stations_with_and_without_a_client_certificate(tmp_path: Path) -> None:
    port = free_port()
    pki_dir = str(tmp_path / "pki")
    listen = f"127.0.0.1:{port}"
    csms = spawn("csms", "--security-profile", "3", "--pki", pki_dir, "--listen", listen, "--quiet")
    try:
        assert f"wss://127.0.0.1:{port}/ocpp" in wait_for_line(csms, "CSMS listening")
        root = tmp_path / "pki" / "root-ca.pem"
        assert str(root) in wait_for_line(csms, "test CA")
        key_pem, csr = new_key_and_csr("CB-CLI-3", "ChargeBench CSO")
        (tmp_path / "client.pem").write_text(TestPki(tmp_path / "pki").sign_csr(csr))
        (tmp_path / "client.key").write_text(key_pem)
        common = ["station", "--csms", f"wss://127.0.0.1:{port}/ocpp", "--security-profile", "3"]
        common += ["--ca-file", str(root), "--duration", "2", "--quiet"]
        client = ["--client-cert", str(tmp_path / "client.pem"), "--client-key", str(tmp_path / "client.key")]
        good = run(*common, "--id", "CLI-3", *client)
        assert good.returncode == 0, good.stderr
        assert "CLI-3 Online (boot Accepted)" in good.stdout
        refused = run(*common, "--id", "CLI-4")
        assert "Online" not in refused.stdout
        assert "it may want a client certificate, profile 3" in refused.stdout
        assert "PRIVATE KEY" not in good.stdout + good.stderr
    finally:
        csms.send_signal(signal.SIGTERM)
        csms.communicate(timeout=10)
