"""The station's certificates: its own key pairs and signed certificates (A02/A03), the CA
certificates the CSMS installs (M03-M05), cached OCSP answers (M06), and what TLS needs.

Everything persists in the station's SQLite store, so a certificate survives a reboot. Private
keys never leave this module except as a file with owner-only permissions in a private
directory, because the TLS stack reads client keys from files (A02.FR.05: never over OCPP).

The CSR flow follows 2.1: every SignCertificate carries a `requestId` (A02.FR.24); a
CertificateSigned must name a request still open, or it is Rejected (A02.FR.26). Unanswered
requests are sent again after CertSigningWaitMinimum, doubling, CertSigningRepeatTimes times
(A02.FR.17-19).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import functools
import hashlib
import itertools
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID

from app.protocol.errors import CallTimeout, ConnectionLost, OcppError
from app.protocol.schemas import OcppVersion
from app.station.device_model import AttributeType, Component, Rejection, VariableDefinition

if TYPE_CHECKING:
    from app.station.device_model import DeviceModel
    from app.station.station import Station

log = logging.getLogger(__name__)

ROOT_TYPES = frozenset(
    {
        "V2GRootCertificate",
        "MORootCertificate",
        "ManufacturerRootCertificate",
        "CSMSRootCertificate",
        "OEMRootCertificate",
    }
)
# TriggerMessage requestedMessage -> the certificateType of the SignCertificate it asks for
# (None: one combined certificate for both uses, sent without certificateType).
SIGN_TRIGGERS: dict[str, str | None] = {
    "SignChargingStationCertificate": "ChargingStationCertificate",
    "SignV2GCertificate": "V2GCertificate",
    "SignV2G20Certificate": "V2G20Certificate",
    "SignCombinedCertificate": None,
}
RENEW_BEFORE = dt.timedelta(days=30)  # A03.FR.02: renew a month before the certificate expires
OCSP_REFRESH = dt.timedelta(days=7)  # M06.FR.10
_HASHES = {"SHA256": hashlib.sha256, "SHA384": hashlib.sha384, "SHA512": hashlib.sha512}
_STORE_KEY = "certificates"


# ---------------------------------------------------------------------------------------------
# Pure helpers: keys, CSRs, hash data, chain checks
# ---------------------------------------------------------------------------------------------


def new_key_and_csr(common_name: str, organization: str) -> tuple[str, str]:
    """A fresh ECDSA P-256 key (A00.FR.503) and a CSR for it (RFC 2986, PEM: A02.FR.03)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),  # A00.FR.511
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),  # A00.FR.509
        ]
    )
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    return key_pem, csr.public_bytes(serialization.Encoding.PEM).decode("ascii")


def load_chain(pem: str) -> list[x509.Certificate]:
    """All certificates of a PEM bundle, in order; ValueError if there is none or one is bad."""
    certs = x509.load_pem_x509_certificates(pem.encode("ascii"))
    if not certs:
        raise ValueError("no PEM certificate found")
    return certs


def _public_key_bits(cert: x509.Certificate) -> bytes:
    """The contents of the subjectPublicKey BIT STRING, as issuerKeyHash hashes it."""
    key = cert.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    if isinstance(key, rsa.RSAPublicKey):
        return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    if isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
        return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    raise ValueError(f"unsupported public key type {type(key).__name__}")


def hash_data(cert: x509.Certificate, issuer: x509.Certificate, algorithm: str = "SHA256") -> dict[str, str]:
    """CertificateHashDataType of `cert`: hashes of its issuer's name (DER) and public key, and
    its serial number as hex without leading zeroes."""
    digest = _HASHES[algorithm]
    return {
        "hashAlgorithm": algorithm,
        "issuerNameHash": digest(cert.issuer.public_bytes()).hexdigest(),
        "issuerKeyHash": digest(_public_key_bits(issuer)).hexdigest(),
        "serialNumber": format(cert.serial_number, "x"),
    }


def _same_hash(cert: x509.Certificate, issuer: x509.Certificate, wanted: dict[str, Any]) -> bool:
    algorithm = str(wanted.get("hashAlgorithm", "SHA256"))
    if algorithm not in _HASHES:
        return False
    mine = hash_data(cert, issuer, algorithm)
    return all(
        str(wanted.get(k, "")).lower().lstrip("0") == mine[k].lstrip("0")
        for k in ("issuerNameHash", "issuerKeyHash", "serialNumber")
    )


def _self_signed(cert: x509.Certificate) -> bool:
    if cert.issuer != cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _issuer_in(cert: x509.Certificate, candidates: list[x509.Certificate]) -> x509.Certificate | None:
    for candidate in candidates:
        try:
            cert.verify_directly_issued_by(candidate)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return candidate
    return None


def chain_problem(
    chain: list[x509.Certificate],
    *,
    anchors: list[x509.Certificate],
    now: dt.datetime,
    public_key_der: bytes | None = None,
    subject: x509.Name | None = None,
) -> tuple[str, str] | None:
    """Why a signed chain is not acceptable (reasonCode, readable text), or None (A02.FR.06):
    the leaf is for our key and subject, every certificate is valid now, each is signed by the
    next, and the last one is, or is signed by, a trusted root."""
    leaf = chain[0]
    if public_key_der is not None:
        leaf_key = leaf.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        if leaf_key != public_key_der:
            return "KeyMismatch", "the certificate is not for the key of the signing request"
    if subject is not None and leaf.subject != subject:
        return "WrongSubject", f"subject {leaf.subject.rfc4514_string()} differs from the request"
    if not leaf.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME):
        return "WrongSubject", "the certificate subject has no O (A00.FR.509)"
    for cert in chain:
        if now < cert.not_valid_before_utc:
            return "NotYetValid", f"{cert.subject.rfc4514_string()} is valid from {cert.not_valid_before_utc}"
        if now > cert.not_valid_after_utc:
            return "Expired", f"{cert.subject.rfc4514_string()} expired on {cert.not_valid_after_utc}"
    for cert, issuer in itertools.pairwise(chain):
        if _issuer_in(cert, [issuer]) is None:
            name = cert.subject.rfc4514_string()
            return "InvalidSignature", f"{name} is not signed by the next certificate"
    top = chain[-1]
    fingerprints = {a.fingerprint(hashes.SHA256()) for a in anchors}
    if top.fingerprint(hashes.SHA256()) not in fingerprints and _issuer_in(top, anchors) is None:
        return "UntrustedIssuer", "the chain does not lead to an installed root certificate"
    return None


# ---------------------------------------------------------------------------------------------
# The station's certificate store and CSR flow
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Request:
    """A SignCertificate the CSMS has not answered with a certificate yet."""

    request_id: int
    certificate_type: str | None
    key_pem: str = field(repr=False)
    csr_pem: str
    retry: asyncio.Task[None] | None = None


class StationCertificates:
    """Installed certificates, pending CSRs and the TLS material of one station."""

    def __init__(self, station: Station) -> None:
        self.station = station
        self.pending: dict[int, _Request] = {}
        self._tls_dir: Path | None = None
        self._use_previous = False  # connecting with the replaced client certificate (A02.FR.28)
        self._failures = 0
        data = json.loads(station.store.get(_STORE_KEY) or "{}")
        self._roots: list[dict[str, str]] = list(data.get("roots", []))
        # certificateType -> {"chain": PEM, "key": PEM, "previous": {...} | absent}
        self._leaves: dict[str, dict[str, Any]] = dict(data.get("leaves", {}))
        station.dm.add_set_guard(self._profile_guard)
        self._count_entries()

    # ------------------------------------------------------------------ persistence

    def _save(self) -> None:
        self.station.store.put(_STORE_KEY, json.dumps({"roots": self._roots, "leaves": self._leaves}))
        self._count_entries()

    def _count_entries(self) -> None:
        dm = self.station.dm
        if dm.find("SecurityCtrlr", "CertificateEntries") is not None:
            count = len(self._roots) + len(self._leaves)
            dm.set_actual("SecurityCtrlr", "CertificateEntries", str(count), validate=False)

    def close(self) -> None:
        """Remove the files the TLS stack read the client key from."""
        if self._tls_dir is not None:
            shutil.rmtree(self._tls_dir, ignore_errors=True)
            self._tls_dir = None

    # ------------------------------------------------------------------ what TLS uses

    def roots(self, certificate_type: str) -> list[str]:
        return [r["pem"] for r in self._roots if r["type"] == certificate_type]

    def trusted_csms_roots(self) -> str | None:
        """PEM of every CA the station trusts for the CSMS: the installed CSMSRootCertificates
        and the configured CA file. None: nothing configured (the system store applies)."""
        parts = self.roots("CSMSRootCertificate")
        configured = self._ca_file_text()
        if configured:
            parts.insert(0, configured)
        return "\n".join(parts) if parts else None

    def _ca_file_text(self) -> str | None:
        ca_file = self.station.config.ca_file
        if not ca_file:
            return None
        try:
            return Path(ca_file).read_text("ascii")
        except (OSError, UnicodeDecodeError) as exc:
            log.warning("%s: CA file %s unreadable: %s", self.station.station_id, ca_file, exc)
            return None

    def has_leaf(self, certificate_type: str = "ChargingStationCertificate") -> bool:
        return certificate_type in self._leaves or (
            certificate_type == "ChargingStationCertificate" and bool(self.station.config.client_cert)
        )

    def leaf_chain(self, certificate_type: str = "ChargingStationCertificate") -> str | None:
        leaf = self._leaves.get(certificate_type)
        return None if leaf is None else str(leaf["chain"])

    def client_files(self) -> tuple[str, str] | None:
        """Certificate chain and key files for a profile 3 connection (A00.FR.402): the signed
        certificate if one was installed (or the one it renewed, while falling back), else the
        one the station was configured with."""
        leaf = self._leaves.get("ChargingStationCertificate")
        if leaf is None:
            c = self.station.config
            return (c.client_cert, c.client_key or c.client_cert) if c.client_cert else None
        if self._use_previous and "previous" in leaf:
            leaf = leaf["previous"]
        if self._tls_dir is None:
            self._tls_dir = Path(tempfile.mkdtemp(prefix="chargebench-tls-"))  # mode 0700
        cert_path, key_path = self._tls_dir / "client.pem", self._tls_dir / "client.key"
        cert_path.write_text(leaf["chain"], "ascii")
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(leaf["key"])
        return str(cert_path), str(key_path)

    def connected(self, security_profile: int) -> None:
        """A profile 3 connection succeeded: the client certificate not in use is discarded
        (A02.FR.10); when that is the renewed one, the CSMS hears of it (A02.FR.29)."""
        leaf = self._leaves.get("ChargingStationCertificate")
        self._failures = 0
        if security_profile != 3 or leaf is None or "previous" not in leaf:
            self._use_previous = False
            return
        previous = leaf.pop("previous")
        if self._use_previous:
            self._leaves["ChargingStationCertificate"] = previous
            self._use_previous = False
            self.station.security.report(
                "DiscardedRenewedClientCertificate", "no connection with the renewed certificate"
            )
        self._save()

    def connect_failed(self, attempts: int) -> None:
        """A profile 3 connection failed. After `attempts` failures with a renewed certificate
        the station tries the one it replaced, and alternates after each further run (A02.FR.28)."""
        leaf = self._leaves.get("ChargingStationCertificate")
        if leaf is None or "previous" not in leaf:
            return
        self._failures += 1
        if self._failures >= max(1, attempts):
            self._failures = 0
            self._use_previous = not self._use_previous

    # ------------------------------------------------------------------ A02 / A03: CSR flow

    def on_online(self) -> None:
        """Upkeep whenever the station is (back) online: renewal (A03) and OCSP refresh (M06)."""
        self._renew_if_expiring()
        self._refresh_stale_ocsp()

    def _refresh_stale_ocsp(self) -> None:
        """M06.FR.10: cached OCSP data of the V2G certificates is refreshed at least weekly."""
        cache = self.ocsp_cache
        for kind in ("V2GCertificate", "V2G20Certificate"):
            leaf = self._leaves.get(kind)
            if leaf is None:
                continue
            serials = [format(c.serial_number, "x") for c in load_chain(leaf["chain"])[:-1]]
            checked = [cache.get(serial, {}).get("checked") for serial in serials]
            stale = any(
                when is None or self.station.now() - dt.datetime.fromisoformat(when) > OCSP_REFRESH
                for when in checked
            )
            if stale:
                self.station.spawn(self.refresh_ocsp(kind), f"ocsp-{kind}")

    def _renew_if_expiring(self) -> None:
        """A03: once online, a station certificate that expires within a month gets a new key
        pair and CSR without the CSMS asking."""
        leaf = self._leaves.get("ChargingStationCertificate")
        renewing = any(r.certificate_type == "ChargingStationCertificate" for r in self.pending.values())
        if leaf is None or renewing:
            return
        expires = load_chain(leaf["chain"])[0].not_valid_after_utc
        if expires - self.station.now() < RENEW_BEFORE:
            log.info("%s: station certificate expires %s; renewing", self.station.station_id, expires)
            self.request_signing("ChargingStationCertificate")

    def request_signing(self, certificate_type: str | None) -> _Request:
        """Make a key pair and CSR and send SignCertificate for it (after the current answer)."""
        station = self.station
        dm = station.dm
        organization = dm.get_str("SecurityCtrlr", "OrganizationName", default="") or station.config.vendor
        if certificate_type in ("V2GCertificate", "V2G20Certificate"):
            organization = dm.get_str("ISO15118Ctrlr", "OrganizationName", default="") or organization
        key_pem, csr_pem = new_key_and_csr(station.config.serial_number or station.station_id, organization)
        request_id = int(station.store.get("certificates.request_id") or 0) + 1
        station.store.put("certificates.request_id", str(request_id))
        for old in [r for r in self.pending.values() if r.certificate_type == certificate_type]:
            self._forget(old.request_id)  # a new trigger replaces an open request of the same type
        request = _Request(request_id, certificate_type, key_pem, csr_pem)
        self.pending[request_id] = request
        request.retry = station.spawn(self._send_with_retries(request), f"sign-certificate-{request_id}")
        return request

    def _payload(self, request: _Request) -> dict[str, Any]:
        payload: dict[str, Any] = {"csr": request.csr_pem}
        if request.certificate_type is not None:
            payload["certificateType"] = request.certificate_type
        if self.station.version is OcppVersion.V21:
            payload["requestId"] = request.request_id  # A02.FR.24
            v2g_roots = self.roots("V2GRootCertificate")
            if request.certificate_type in ("V2GCertificate", "V2G20Certificate") and v2g_roots:
                root = load_chain(v2g_roots[0])[0]
                payload["hashRootCertificate"] = hash_data(root, root)  # A02.FR.27
        return payload

    async def _send_with_retries(self, request: _Request) -> None:
        """Send, then resend while no certificate arrives: wait CertSigningWaitMinimum, doubling,
        at most CertSigningRepeatTimes times (A02.FR.17-19). A Rejected answer ends it."""
        station = self.station
        await asyncio.sleep(0.01)  # the TriggerMessage answer goes first (F06.FR.04)
        wait = float(station.dm.get_int("SecurityCtrlr", "CertSigningWaitMinimum", default=60))
        repeats = station.dm.get_int("SecurityCtrlr", "CertSigningRepeatTimes", default=3)
        attempt = 0
        while request.request_id in self.pending:
            conn = station.connection
            if conn is not None and not conn.closed:
                with contextlib.suppress(CallTimeout, ConnectionLost, OcppError):
                    answer = await conn.call("SignCertificate", self._payload(request))
                    if answer.get("status") != "Accepted":
                        log.info("%s: SignCertificate %s", station.station_id, answer.get("status"))
                        self._forget(request.request_id)
                        return
            if attempt >= repeats:
                return  # A02.FR.19: quiet until the CSMS triggers again; a late answer still fits
            await station.clock.sleep(wait)
            wait *= 2
            attempt += 1

    def _forget(self, request_id: int) -> None:
        request = self.pending.pop(request_id, None)
        if request is not None and request.retry is not None and request.retry is not asyncio.current_task():
            request.retry.cancel()

    def certificate_signed(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Check and install a CertificateSigned chain (A02.FR.06-08, A02.FR.16, A02.FR.26)."""
        station = self.station
        request = self._request_for(payload)
        if request is None:
            wanted = payload.get("requestId")
            info = f"no open signing request {wanted}" if wanted is not None else "no open signing request"
            return _rejected("UnknownRequestId" if wanted is not None else "NoRequest", info)
        text = payload["certificateChain"]
        limit = station.dm.get_int("SecurityCtrlr", "MaxCertificateChainSize", default=0)
        problem: tuple[str, str] | None = None
        if limit > 0 and len(text) > limit:
            problem = ("ChainTooLarge", f"{len(text)} characters; MaxCertificateChainSize is {limit}")
        else:
            try:
                chain = load_chain(text)
            except ValueError as exc:
                problem = ("InvalidCertificate", f"not a PEM certificate chain: {exc}")
            else:
                key = serialization.load_pem_private_key(request.key_pem.encode("ascii"), password=None)
                csr = x509.load_pem_x509_csr(request.csr_pem.encode("ascii"))
                problem = chain_problem(
                    chain,
                    anchors=self._anchors(request.certificate_type),
                    now=station.now(),
                    public_key_der=key.public_key().public_bytes(
                        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
                    ),
                    subject=csr.subject,
                )
        if problem is not None:
            # A02.FR.07: rejected, discarded, reported; A02.FR.20: no retries until triggered again.
            self._forget(request.request_id)
            station.security.report("InvalidChargingStationCertificate", f"{problem[0]}: {problem[1]}")
            return _rejected(*problem)
        self._forget(request.request_id)
        types = (
            [request.certificate_type]
            if request.certificate_type is not None
            else ["ChargingStationCertificate", "V2GCertificate"]
        )
        for kind in types:
            entry: dict[str, Any] = {"chain": text, "key": request.key_pem}
            old = self._leaves.get(kind) or self._configured(kind)
            if old is not None:
                entry["previous"] = {"chain": old["chain"], "key": old["key"]}
            self._leaves[kind] = entry
        self._save()
        station.security.report("ReconfigurationOfSecurityParameters", "new client certificate installed")
        if "ChargingStationCertificate" in types and station.active_security_profile() == 3:
            station.handlers.after(station.reconnect)  # A02.FR.08: switch by reconnecting
        for kind in types:
            if kind != "ChargingStationCertificate":  # M06.FR.07: fresh OCSP data for a new V2G chain
                station.handlers.after(functools.partial(self.refresh_ocsp, kind))
        return {"status": "Accepted"}

    def _configured(self, kind: str) -> dict[str, str] | None:
        """The client certificate the station was set up with (e.g. the manufacturer's, A02.FR.01)."""
        c = self.station.config
        if kind != "ChargingStationCertificate" or not c.client_cert:
            return None
        try:
            chain = Path(c.client_cert).read_text("ascii")
            return {"chain": chain, "key": Path(c.client_key).read_text("ascii") if c.client_key else chain}
        except (OSError, UnicodeDecodeError):
            return None  # nothing to fall back to

    def _request_for(self, payload: dict[str, Any]) -> _Request | None:
        request_id = payload.get("requestId")
        if request_id is not None:
            return self.pending.get(request_id)
        # 2.0.1 has no requestId: the open request of that type (ChargingStation when absent).
        wanted = payload.get("certificateType", "ChargingStationCertificate")
        candidates = [r for r in self.pending.values() if (r.certificate_type or wanted) == wanted]
        return candidates[-1] if candidates else None

    def _anchors(self, certificate_type: str | None) -> list[x509.Certificate]:
        texts = self.roots("CSMSRootCertificate")
        if certificate_type in ("V2GCertificate", "V2G20Certificate", None):
            texts += self.roots("V2GRootCertificate")
        configured = self._ca_file_text()
        if configured:
            texts.append(configured)
        anchors: list[x509.Certificate] = []
        for text in texts:
            with contextlib.suppress(ValueError):
                anchors += load_chain(text)
        return anchors

    # ------------------------------------------------------------------ M06: OCSP cache

    @property
    def ocsp_cache(self) -> dict[str, dict[str, str]]:
        """Serial number (hex) -> {"status": Good | Revoked | Unknown | Failed | BadSignature,
        "response": base64 DER OCSPResponse, "checked": time}."""
        return dict(json.loads(self.station.store.get("certificates.ocsp") or "{}"))

    async def refresh_ocsp(self, certificate_type: str = "V2GCertificate") -> dict[str, str]:
        """Ask the CSMS for the OCSP status of a V2G certificate and of its sub-CAs, check each
        answer's signature against the issuer and cache it (M06.FR.06/07): what an EV asks for
        during ISO 15118 TLS must be at hand. Returns serial -> status."""
        station = self.station
        leaf = self._leaves.get(certificate_type)
        if leaf is None:
            return {}
        cache = self.ocsp_cache
        results: dict[str, str] = {}
        for cert, issuer in itertools.pairwise(load_chain(leaf["chain"])):
            data = {**hash_data(cert, issuer), "responderURL": _responder_url(cert)}
            conn = station.connection
            if conn is None or conn.closed:
                break
            try:
                answer = await conn.call("GetCertificateStatus", {"ocspRequestData": data})
            except (CallTimeout, ConnectionLost, OcppError) as exc:
                log.info("%s: GetCertificateStatus: %s", station.station_id, exc)
                break
            status = _ocsp_status(answer, cert, issuer)
            results[data["serialNumber"]] = status
            cache[data["serialNumber"]] = {
                "status": status,
                "response": str(answer.get("ocspResult", "")),
                "checked": station.now().isoformat(),
            }
        station.store.put("certificates.ocsp", json.dumps(cache))
        return results

    # ------------------------------------------------------------------ M03 / M04 / M05

    def install(self, payload: dict[str, Any]) -> dict[str, Any]:
        """M05: install a CA certificate; an existing copy is replaced (M05.FR.17)."""
        station = self.station
        kind, text = payload["certificateType"], payload["certificate"]
        try:
            chain = load_chain(text)
        except ValueError as exc:
            return _rejected("InvalidCertificate", f"not a PEM certificate: {exc}")  # M05.FR.07
        cert = chain[0]
        now = station.now()
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            return _rejected("InvalidCertificate", "outside its validity period")  # M05.FR.07
        constraints = _basic_constraints(cert)
        if constraints is None or not constraints.ca:
            return _rejected("InvalidCertificate", "not a CA certificate (basicConstraints CA:false)")
        fingerprint = cert.fingerprint(hashes.SHA256())
        kept = [r for r in self._roots if load_chain(r["pem"])[0].fingerprint(hashes.SHA256()) != fingerprint]
        definition = station.dm.find("SecurityCtrlr", "CertificateEntries")
        limit = definition.characteristics.max_limit if definition is not None else None
        if limit is not None and len(kept) + len(self._leaves) + 1 > limit:
            # M05.FR.06
            return _rejected("CertificateLimit", f"CertificateEntries maxLimit {int(limit)} reached")
        self._roots = [*kept, {"type": kind, "pem": cert.public_bytes(serialization.Encoding.PEM).decode()}]
        self._save()
        station.security.report("ReconfigurationOfSecurityParameters", f"{kind} installed")
        return {"status": "Accepted"}

    def installed_ids(self, payload: dict[str, Any]) -> dict[str, Any]:
        """M03: hash data of the installed certificates of the requested types (all if none)."""
        wanted = set(payload.get("certificateType") or [*ROOT_TYPES, "V2GCertificateChain"])
        found: list[dict[str, Any]] = []
        for root in self._roots:
            if root["type"] in wanted:
                cert = load_chain(root["pem"])[0]
                found.append({"certificateType": root["type"], "certificateHashData": hash_data(cert, cert)})
        leaf = self._leaves.get("V2GCertificate")
        if "V2GCertificateChain" in wanted and leaf is not None:
            chain = load_chain(leaf["chain"])
            entry: dict[str, Any] = {
                "certificateType": "V2GCertificateChain",
                "certificateHashData": hash_data(chain[0], chain[1] if len(chain) > 1 else chain[0]),
            }
            children = [  # sub-CAs under the leaf (M03.FR.05); the root itself is not one
                hash_data(cert, chain[i + 1])
                for i, cert in enumerate(chain[1:-1], start=1)
                if not _self_signed(cert)
            ][:4]
            if children:
                entry["childCertificateHashData"] = children
            found.append(entry)
        if not found:
            return {"status": "NotFound"}  # M03.FR.02
        return {"status": "Accepted", "certificateHashDataChain": found}

    def delete(self, payload: dict[str, Any]) -> dict[str, Any]:
        """M04: delete the certificate the hash data names; never the station's own (M04.FR.06)."""
        wanted = payload["certificateHashData"]
        for leaf in self._leaves.values():
            chain = load_chain(leaf["chain"])
            if _same_hash(chain[0], chain[1] if len(chain) > 1 else chain[0], wanted):
                return _failed("OwnCertificate", "the station's own certificate stays")  # M04.FR.06
        for root in self._roots:
            cert = load_chain(root["pem"])[0]
            if not _same_hash(cert, cert, wanted):
                continue
            last = root["type"] == "CSMSRootCertificate" and len(self.roots("CSMSRootCertificate")) == 1
            if last and self.station.active_security_profile() >= 2:
                info = "the only CSMS root while TLS is in use: the station could not connect any more"
                return _failed("LastCsmsRoot", info)
            self._roots.remove(root)
            self._save()
            self.station.security.report("ReconfigurationOfSecurityParameters", f"{root['type']} deleted")
            return {"status": "Accepted"}
        return {"status": "NotFound"}  # M04.FR.04

    # ------------------------------------------------------------------ A05 prerequisites

    def _profile_guard(
        self, model: DeviceModel, definition: VariableDefinition, attribute: AttributeType, value: str
    ) -> Rejection | None:
        """A05.FR.02/03: a NetworkConfigurationPriority that brings in a slot of a higher
        profile needs a CSMS root (2, 3) and a station certificate (3) first."""
        names = (definition.component.name.casefold(), definition.variable.name.casefold())
        if names != ("ocppcommctrlr", "networkconfigurationpriority"):
            return None
        active = model.get_int("SecurityCtrlr", "SecurityProfile", default=1)
        for slot in (s.strip() for s in value.split(",") if s.strip()):
            profile = model.get_int(Component("NetworkConfiguration", slot), "SecurityProfile", default=0)
            if profile <= active:
                continue
            if profile >= 2 and self.trusted_csms_roots() is None:
                return Rejection("NoCsmsRoot", f"slot {slot} uses profile {profile}: no CSMS root installed")
            if profile == 3 and not self.has_leaf():
                return Rejection("NoClientCert", f"slot {slot} uses profile 3: no station certificate")
        return None


def _responder_url(cert: x509.Certificate) -> str:
    """The OCSP responder the certificate names (Authority Information Access), else ""."""
    try:
        access = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        return ""
    for description in access:
        if description.access_method == x509.oid.AuthorityInformationAccessOID.OCSP:
            return str(description.access_location.value)[:2000]
    return ""


def _ocsp_status(answer: dict[str, Any], cert: x509.Certificate, issuer: x509.Certificate) -> str:
    """What a GetCertificateStatus answer says about `cert`, trusting only a response signed by
    its issuer (RFC 6960 §4.2.2.2)."""
    if answer.get("status") != "Accepted" or not answer.get("ocspResult"):
        return "Failed"
    try:
        response = ocsp.load_der_ocsp_response(base64.b64decode(answer["ocspResult"], validate=True))
    except ValueError:
        return "Failed"
    if response.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
        return "Failed"
    algorithm = response.signature_hash_algorithm
    if response.serial_number != cert.serial_number or algorithm is None:
        return "Failed"
    key, signed = issuer.public_key(), response.tbs_response_bytes
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(response.signature, signed, ec.ECDSA(algorithm))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(response.signature, signed, padding.PKCS1v15(), algorithm)
        else:
            return "BadSignature"
    except InvalidSignature:
        return "BadSignature"
    return response.certificate_status.name.title()


def _basic_constraints(cert: x509.Certificate) -> x509.BasicConstraints | None:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return None


def _rejected(reason: str, info: str) -> dict[str, Any]:
    return {"status": "Rejected", "statusInfo": {"reasonCode": reason[:20], "additionalInfo": info[:1024]}}


def _failed(reason: str, info: str) -> dict[str, Any]:
    return {"status": "Failed", "statusInfo": {"reasonCode": reason[:20], "additionalInfo": info[:1024]}}
