"""Station certificates (A02/A03, M03-M05) against the built-in CSMS acting as CA, over real
websockets, with real keys and certificates made in the test. Requirement ids: OCPP 2.1 Part 2.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import itertools
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp

from app.cli import main
from app.clock import AcceleratedClock
from app.csms.ca import TestPki
from app.csms.csms import Csms, CsmsConfig
from app.inspector.jsonl import JsonlWriter
from app.inspector.records import CaptureRecord
from app.protocol.schemas import OcppVersion
from app.session import Session
from app.station.certificates import new_key_and_csr
from app.station.config import StationConfig
from app.station.station import Station
from tests.support import wait_until
from tests.test_lints import PLANTED

FAST = {
    "OCPPCommCtrlr.RetryBackOffWaitMinimum": "1",
    "OCPPCommCtrlr.RetryBackOffRandomRange": "0",
    "AlignedDataCtrlr.Interval": "0",
}
SIGN = {"requestedMessage": "SignChargingStationCertificate"}


@pytest.fixture
async def session() -> AsyncIterator[Session]:
    s = Session(clock=AcceleratedClock(10.0))
    yield s
    await s.stop()


@pytest.fixture
def pki(tmp_path: Path) -> TestPki:
    return TestPki(tmp_path / "pki")


async def _start(
    session: Session,
    pki: TestPki | None,
    tmp_path: Path,
    overrides: dict[str, str] | None = None,
    **csms: Any,
) -> tuple[Csms, Station]:
    csms_ = await session.start_csms(config=CsmsConfig(**csms), pki=pki)
    station = session.add_station(
        StationConfig(
            station_id="CB-CERT",
            csms_url=csms_.url,
            overrides={**FAST, **(overrides or {})},
            state_path=str(tmp_path / "station.sqlite"),
            call_timeout=5,
        )
    )
    await wait_until(lambda: station.online, 10)
    return csms_, station


def _frames(session: Session, action: str, message_type: int) -> list[CaptureRecord]:
    return [
        r
        for r in session.store
        if r.observer == "station" and r.action == action and r.message_type == message_type
    ]


def _calls(session: Session, action: str) -> list[dict[str, Any]]:
    return [r.payload for r in _frames(session, action, 2)]


def _answer(session: Session, action: str) -> dict[str, Any]:
    payload: dict[str, Any] = _frames(session, action, 3)[-1].payload
    return payload


async def _install_root(csms: Csms, pem: str, kind: str = "CSMSRootCertificate") -> dict[str, Any]:
    return await csms.call("CB-CERT", "InstallCertificate", {"certificateType": kind, "certificate": pem})


async def test_signed_certificate_for_an_unknown_request_id_is_rejected(
    session: Session, pki: TestPki, tmp_path: Path
) -> None:
    csms, station = await _start(session, pki, tmp_path)
    assert (await _install_root(csms, pki.root_pem))["status"] == "Accepted"
    assert (await csms.call("CB-CERT", "TriggerMessage", SIGN))["status"] == "Accepted"
    await wait_until(lambda: station.certificates.leaf_chain() is not None, 10)
    request_id = _calls(session, "SignCertificate")[-1]["requestId"]
    _, csr = new_key_and_csr(station.config.serial_number or "", "Operator")
    answer = await csms.call(
        "CB-CERT", "CertificateSigned", {"certificateChain": pki.sign_csr(csr), "requestId": request_id + 40}
    )
    assert answer["status"] == "Rejected"  # A02.FR.26
    assert answer["statusInfo"]["reasonCode"] == "UnknownRequestId"
    # the request that was answered is closed too: the same id again is unknown
    again = await csms.call(
        "CB-CERT", "CertificateSigned", {"certificateChain": pki.sign_csr(csr), "requestId": request_id}
    )
    assert again["status"] == "Rejected"


async def test_certificate_for_another_key_is_rejected_reported_and_not_retried(
    session: Session, pki: TestPki, tmp_path: Path
) -> None:
    overrides = {"SecurityCtrlr.CertSigningWaitMinimum": "2", "SecurityCtrlr.CertSigningRepeatTimes": "3"}
    csms, station = await _start(session, pki, tmp_path, overrides, sign_certificates=False)
    await _install_root(csms, pki.root_pem)
    await csms.call("CB-CERT", "TriggerMessage", SIGN)
    await wait_until(lambda: _calls(session, "SignCertificate"), 10)
    request_id = _calls(session, "SignCertificate")[0]["requestId"]
    _, other_csr = new_key_and_csr(station.config.serial_number or "", "Operator")
    answer = await csms.call(
        "CB-CERT", "CertificateSigned", {"certificateChain": pki.sign_csr(other_csr), "requestId": request_id}
    )
    assert answer["status"] == "Rejected"  # A02.FR.07
    assert answer["statusInfo"]["reasonCode"] == "KeyMismatch"
    assert station.certificates.leaf_chain() is None  # discarded
    def reported() -> bool:
        events = _calls(session, "SecurityEventNotification")
        return any(e["type"] == "InvalidChargingStationCertificate" for e in events)

    await wait_until(reported, 10)
    sent = len(_calls(session, "SignCertificate"))
    await session.clock.sleep(8)  # past the first retry time
    assert len(_calls(session, "SignCertificate")) == sent  # A02.FR.20: no back-off after a rejection


async def test_unanswered_signing_request_is_resent_doubling_then_stops(
    session: Session, pki: TestPki, tmp_path: Path
) -> None:
    # A CA that never answers (A03 error handling): CertSigningWaitMinimum 2 s, 2 repeats.
    overrides = {"SecurityCtrlr.CertSigningWaitMinimum": "2", "SecurityCtrlr.CertSigningRepeatTimes": "2"}
    csms, _station = await _start(session, pki, tmp_path, overrides, sign_certificates=False)
    await csms.call("CB-CERT", "TriggerMessage", SIGN)
    await wait_until(lambda: len(_calls(session, "SignCertificate")) == 3, 10)
    await session.clock.sleep(20)
    sends = _frames(session, "SignCertificate", 2)
    assert len(sends) == 3  # A02.FR.19: the first plus CertSigningRepeatTimes, then quiet
    gaps = [(b.time - a.time).total_seconds() for a, b in itertools.pairwise(sends)]
    assert gaps[0] == pytest.approx(2, abs=0.6) and gaps[1] == pytest.approx(4, abs=0.6)  # A02.FR.18
    assert len({r.payload["requestId"] for r in sends}) == 1  # the same CSR, the same requestId
    assert len({r.payload["csr"] for r in sends}) == 1
    # A new trigger starts again (A02.FR.19).
    await csms.call("CB-CERT", "TriggerMessage", SIGN)
    await wait_until(lambda: len(_calls(session, "SignCertificate")) == 4, 10)


def _ocsp_ids(cert: x509.Certificate) -> dict[str, str]:
    """The issuer hashes and serial as OpenSSL's OCSP code computes them (an independent check)."""
    request = ocsp.OCSPRequestBuilder().add_certificate(cert, cert, hashes.SHA256()).build()
    return {
        "hashAlgorithm": "SHA256",
        "issuerNameHash": request.issuer_name_hash.hex(),
        "issuerKeyHash": request.issuer_key_hash.hex(),
        "serialNumber": format(request.serial_number, "x"),
    }


async def test_install_list_and_delete_ca_certificates(
    session: Session, pki: TestPki, tmp_path: Path
) -> None:
    other = TestPki(tmp_path / "v2g", organization="V2G Root Operator")
    csms, station = await _start(session, None, tmp_path)
    csms_root = x509.load_pem_x509_certificate(pki.root_pem.encode())
    v2g_root = x509.load_pem_x509_certificate(other.root_pem.encode())

    assert (await csms.call("CB-CERT", "GetInstalledCertificateIds", {}))["status"] == "NotFound"  # M03.FR.02
    assert (await _install_root(csms, pki.root_pem))["status"] == "Accepted"  # M05.FR.02
    assert (await _install_root(csms, other.root_pem, "V2GRootCertificate"))["status"] == "Accepted"
    # M05.FR.17: the same root again replaces it (the count below stays 2)
    assert (await _install_root(csms, pki.root_pem))["status"] == "Accepted"

    listed = await csms.call("CB-CERT", "GetInstalledCertificateIds", {})
    assert listed["status"] == "Accepted"
    by_type = {e["certificateType"]: e["certificateHashData"] for e in listed["certificateHashDataChain"]}
    assert by_type == {"CSMSRootCertificate": _ocsp_ids(csms_root), "V2GRootCertificate": _ocsp_ids(v2g_root)}
    only_v2g = await csms.call(
        "CB-CERT", "GetInstalledCertificateIds", {"certificateType": ["V2GRootCertificate"]}
    )
    assert [e["certificateType"] for e in only_v2g["certificateHashDataChain"]] == ["V2GRootCertificate"]
    entry = {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "CertificateEntries"}}
    entries = await csms.call("CB-CERT", "GetVariables", {"getVariableData": [entry]})
    assert entries["getVariableResult"][0]["attributeValue"] == "2"

    # Not a certificate, a leaf instead of a CA, an expired CA: refused (M05.FR.07).
    bad = await _install_root(csms, "-----BEGIN CERTIFICATE-----\nnonsense\n-----END CERTIFICATE-----\n")
    assert bad["status"] == "Rejected"
    _, csr = new_key_and_csr("CB-X", "Operator")
    leaf = pki.sign_csr(csr).split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"
    assert (await _install_root(csms, leaf))["status"] == "Rejected"
    assert (await _install_root(csms, _expired_ca()))["status"] == "Rejected"

    deleted = await csms.call("CB-CERT", "DeleteCertificate", {"certificateHashData": _ocsp_ids(v2g_root)})
    assert deleted["status"] == "Accepted"  # M04.FR.02
    again = await csms.call("CB-CERT", "DeleteCertificate", {"certificateHashData": _ocsp_ids(v2g_root)})
    assert again["status"] == "NotFound"  # M04.FR.04

    # Installed certificates survive a restart (the station's SQLite store).
    await session.remove_station("CB-CERT")
    again_station = Station(station.config, clock=session.clock)
    try:
        root_pem = csms_root.public_bytes(serialization.Encoding.PEM).decode()
        assert again_station.certificates.roots("CSMSRootCertificate") == [root_pem]
        assert again_station.certificates.roots("V2GRootCertificate") == []
    finally:
        again_station.close()


def _expired_ca() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "Old Root")])
    long_ago = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(long_ago)
        .not_valid_after(long_ago + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


async def test_own_certificate_cannot_be_deleted_and_keys_never_reach_a_capture(
    session: Session, pki: TestPki, tmp_path: Path
) -> None:
    csms, station = await _start(session, pki, tmp_path)
    await _install_root(csms, pki.root_pem)
    await csms.call("CB-CERT", "TriggerMessage", SIGN)
    await wait_until(lambda: station.certificates.leaf_chain() is not None, 10)
    chain = x509.load_pem_x509_certificates((station.certificates.leaf_chain() or "").encode())
    own = ocsp.OCSPRequestBuilder().add_certificate(chain[0], chain[1], hashes.SHA256()).build()
    answer = await csms.call(
        "CB-CERT",
        "DeleteCertificate",
        {
            "certificateHashData": {
                "hashAlgorithm": "SHA256",
                "issuerNameHash": own.issuer_name_hash.hex(),
                "issuerKeyHash": own.issuer_key_hash.hex(),
                "serialNumber": format(own.serial_number, "x"),
            }
        },
    )
    assert answer["status"] == "Failed"  # M04.FR.06
    # A CSMS that (wrongly) sends a private key: it is on the wire, never in the capture.
    key_pem = (pki.directory / "csms-server.key").read_text()
    await _install_root(csms, key_pem, "OEMRootCertificate")
    key_body = key_pem.splitlines()[1]
    assert not any(key_body in r.raw for r in session.store)
    assert any(r.action == "InstallCertificate" and "********" in r.raw for r in session.store)


async def test_lint_fires_on_a_planted_capture_through_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture = tmp_path / "planted.jsonl"
    writer = JsonlWriter(capture)
    for record in PLANTED["certificate-request-id"]:
        writer.write(record)
    writer.close()
    assert main(["validate", str(capture)]) == 1
    out = capsys.readouterr().out
    assert f"{capture}:3: error: [certificate-request-id]" in out and "(A02.FR.25)" in out


async def test_our_certificate_exchange_lints_clean(session: Session, pki: TestPki, tmp_path: Path) -> None:
    csms, station = await _start(session, pki, tmp_path)
    await _install_root(csms, pki.root_pem)
    await csms.call("CB-CERT", "TriggerMessage", SIGN)
    await wait_until(lambda: station.certificates.leaf_chain() is not None, 10)
    notes = [n for r in session.store for n in r.notes if "certificate-request-id" in n]
    assert notes == []
    assert _answer(session, "CertificateSigned") == {"status": "Accepted"}


async def test_station_renews_a_certificate_that_expires_within_a_month(
    session: Session, pki: TestPki, tmp_path: Path
) -> None:
    csms, station = await _start(session, pki, tmp_path, sign_certificates=False)
    await _install_root(csms, pki.root_pem)
    await csms.call("CB-CERT", "TriggerMessage", SIGN)
    await wait_until(lambda: _calls(session, "SignCertificate"), 10)
    first = _calls(session, "SignCertificate")[0]
    short = pki.sign_csr(first["csr"], days=10)  # the CA hands out a 10-day certificate
    answer = await csms.call(
        "CB-CERT", "CertificateSigned", {"certificateChain": short, "requestId": first["requestId"]}
    )
    assert answer["status"] == "Accepted"
    triggers = len(_calls(session, "TriggerMessage"))
    await station.reconnect()
    # A03.FR.02/03: once back online the station sends a new CSR (new key) on its own.
    await wait_until(lambda: len(_calls(session, "SignCertificate")) >= 2, 10)
    renewal = _calls(session, "SignCertificate")[-1]
    assert renewal["requestId"] != first["requestId"] and renewal["csr"] != first["csr"]
    assert renewal["certificateType"] == "ChargingStationCertificate"
    assert len(_calls(session, "TriggerMessage")) == triggers


async def test_on_2_0_1_the_exchange_works_without_request_id(
    session: Session, pki: TestPki, tmp_path: Path
) -> None:
    csms = await session.start_csms(pki=pki)
    station = session.add_station(
        StationConfig(
            station_id="CB-201",
            csms_url=csms.url,
            versions=(OcppVersion.V201,),
            overrides=dict(FAST),
            state_path=str(tmp_path / "station.sqlite"),
        )
    )
    await wait_until(lambda: station.online, 10)
    root = {"certificateType": "CSMSRootCertificate", "certificate": pki.root_pem}
    assert (await csms.call("CB-201", "InstallCertificate", root))["status"] == "Accepted"
    assert (await csms.call("CB-201", "TriggerMessage", SIGN))["status"] == "Accepted"
    await wait_until(lambda: station.certificates.leaf_chain() is not None, 10)
    [sign] = _calls(session, "SignCertificate")
    [signed] = _calls(session, "CertificateSigned")
    assert "requestId" not in sign and "requestId" not in signed  # not in the 2.0.1 schemas
    assert all(r.valid for r in session.store if r.action in ("SignCertificate", "CertificateSigned"))


async def test_v2g_certificate_names_its_root_and_is_listed_as_a_chain(
    session: Session, pki: TestPki, tmp_path: Path
) -> None:
    csms, station = await _start(session, pki, tmp_path)
    root = x509.load_pem_x509_certificate(pki.root_pem.encode())
    assert (await _install_root(csms, pki.root_pem, "V2GRootCertificate"))["status"] == "Accepted"
    await csms.call("CB-CERT", "TriggerMessage", {"requestedMessage": "SignV2GCertificate"})
    await wait_until(lambda: station.certificates.leaf_chain("V2GCertificate") is not None, 10)
    [sign] = _calls(session, "SignCertificate")
    assert sign["certificateType"] == "V2GCertificate"  # A02.FR.22
    assert sign["hashRootCertificate"] == _ocsp_ids(root)  # A02.FR.27
    wanted = {"certificateType": ["V2GCertificateChain"]}
    listed = await csms.call("CB-CERT", "GetInstalledCertificateIds", wanted)
    [entry] = listed["certificateHashDataChain"]
    chain = station.certificates.leaf_chain("V2GCertificate") or ""
    leaf = x509.load_pem_x509_certificates(chain.encode())[0]
    expected = ocsp.OCSPRequestBuilder().add_certificate(leaf, root, hashes.SHA256()).build()
    assert entry["certificateType"] == "V2GCertificateChain"  # M03.FR.05
    assert entry["certificateHashData"]["issuerKeyHash"] == expected.issuer_key_hash.hex()
    assert entry["certificateHashData"]["serialNumber"] == format(expected.serial_number, "x")


async def test_each_invalid_chain_is_rejected_with_its_reason(
    session: Session, pki: TestPki, tmp_path: Path
) -> None:
    other = TestPki(tmp_path / "other")
    csms, station = await _start(session, pki, tmp_path, sign_certificates=False)
    await _install_root(csms, pki.root_pem)

    def expired(csr_pem: str) -> str:
        csr = x509.load_pem_x509_csr(csr_pem.encode())
        root_key = serialization.load_pem_private_key(pki.files.root_key.read_bytes(), password=None)
        root = x509.load_pem_x509_certificate(pki.root_pem.encode())
        long_ago = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(csr.subject)
            .issuer_name(root.subject)
            .public_key(csr.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(long_ago)
            .not_valid_after(long_ago + dt.timedelta(days=30))
            .sign(root_key, hashes.SHA256())
        )
        return cert.public_bytes(serialization.Encoding.PEM).decode()

    cases = {
        "InvalidCertificate": lambda csr: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        "UntrustedIssuer": other.sign_csr,  # a CA the station does not know (A02.FR.06)
        "Expired": expired,
    }
    for reason, make_chain in cases.items():
        before = len(_calls(session, "SignCertificate"))
        await csms.call("CB-CERT", "TriggerMessage", SIGN)  # each rejection needs a new trigger (A02.FR.20)
        await wait_until(lambda: len(_calls(session, "SignCertificate")) > before, 10)  # noqa: B023
        request = _calls(session, "SignCertificate")[-1]
        chain = {"certificateChain": make_chain(request["csr"]), "requestId": request["requestId"]}
        answer = await csms.call("CB-CERT", "CertificateSigned", chain)
        assert (answer["status"], answer["statusInfo"]["reasonCode"]) == ("Rejected", reason)
    assert station.certificates.leaf_chain() is None
    invalid = [e for e in station.security.log if e["type"] == "InvalidChargingStationCertificate"]
    assert [e["techInfo"].split(":")[0] for e in invalid] == list(cases)


async def test_new_v2g_certificate_gets_its_ocsp_status_cached(
    session: Session, pki: TestPki, tmp_path: Path
) -> None:
    csms, station = await _start(session, pki, tmp_path)
    assert (await _install_root(csms, pki.root_pem, "V2GRootCertificate"))["status"] == "Accepted"
    await csms.call("CB-CERT", "TriggerMessage", {"requestedMessage": "SignV2GCertificate"})
    await wait_until(lambda: station.certificates.ocsp_cache, 10)  # M06.FR.07: right after install
    chain = station.certificates.leaf_chain("V2GCertificate") or ""
    leaf = x509.load_pem_x509_certificates(chain.encode())[0]
    [request] = _calls(session, "GetCertificateStatus")
    assert request["ocspRequestData"]["serialNumber"] == format(leaf.serial_number, "x")
    cached = station.certificates.ocsp_cache[format(leaf.serial_number, "x")]
    assert cached["status"] == "Good"
    # The cached answer is a real RFC 6960 response (M06.FR.08/09) for that certificate.
    response = ocsp.load_der_ocsp_response(base64.b64decode(cached["response"]))
    assert response.certificate_status is ocsp.OCSPCertStatus.GOOD
    assert response.serial_number == leaf.serial_number
    assert all(r.valid for r in session.store if r.action == "GetCertificateStatus")

    # M06.FR.10: back online with fresh data, no new question; with week-old data, a refresh.
    old = station.connection
    await station.reconnect()
    await wait_until(lambda: station.online and station.connection is not old, 10)
    await asyncio.sleep(0.3)
    assert len(_calls(session, "GetCertificateStatus")) == 1
    week_ago = (station.now() - dt.timedelta(days=8)).isoformat()
    cache = station.certificates.ocsp_cache
    aged = {serial: entry | {"checked": week_ago} for serial, entry in cache.items()}
    station.store.put("certificates.ocsp", json.dumps(aged))
    await station.reconnect()
    await wait_until(lambda: len(_calls(session, "GetCertificateStatus")) == 2, 10)


async def test_ocsp_for_a_certificate_of_another_ca_fails(
    session: Session, pki: TestPki, tmp_path: Path
) -> None:
    other = TestPki(tmp_path / "other")
    csms, station = await _start(session, pki, tmp_path, sign_certificates=False)
    await _install_root(csms, other.root_pem, "V2GRootCertificate")
    await csms.call("CB-CERT", "TriggerMessage", {"requestedMessage": "SignV2GCertificate"})
    await wait_until(lambda: _calls(session, "SignCertificate"), 10)
    request = _calls(session, "SignCertificate")[-1]
    signed = {"certificateChain": other.sign_csr(request["csr"]), "requestId": request["requestId"]}
    signed["certificateType"] = "V2GCertificate"
    assert (await csms.call("CB-CERT", "CertificateSigned", signed))["status"] == "Accepted"
    await wait_until(lambda: station.certificates.ocsp_cache, 10)
    assert [c["status"] for c in station.certificates.ocsp_cache.values()] == ["Failed"]  # M06.FR.04
    assert _answer(session, "GetCertificateStatus")["statusInfo"]["reasonCode"] == "UnknownIssuer"
