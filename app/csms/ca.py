"""The built-in CSMS as a small certificate authority: a test PKI for security profiles 2 and 3.

A real CSO forwards CSRs to a dedicated CA (A02.FR.04); a workbench has none, so the built-in
CSMS plays it. On first use a directory gets a root CA and a server certificate for the local
host names; later runs reuse them, so a station that trusted the root once keeps trusting it.
Keys are ECDSA P-256 (A00.FR.503), signatures SHA-256 (A00.FR.505/506), no Extended Key Usage
(A00.FR.514). Private keys are written with owner-only permissions and never leave this module
except as file paths for the TLS stack.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID

DEFAULT_HOSTS: tuple[str, ...] = ("localhost", "127.0.0.1")
ROOT_NAME = "ChargeBench Test Root CA"
# A CSMS sets the start of a new certificate a little in the past: the station's clock may be
# slightly behind (remark at A02.FR.06).
CLOCK_SKEW = dt.timedelta(minutes=5)


class CsrRejected(ValueError):
    """A CSR this CA will not sign; the message says why."""


class NotOurCertificate(ValueError):
    """An OCSP question about a certificate another CA issued."""


def default_pki_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "chargebench" / "pki"


@dataclass(frozen=True, slots=True)
class PkiFiles:
    root_cert: Path
    root_key: Path
    server_cert: Path  # leaf first, then the root (the chain the server presents)
    server_key: Path


class TestPki:
    """A root CA plus a CSMS server certificate in one directory, created on first use."""

    __test__ = False  # not a pytest test class despite the name

    def __init__(
        self,
        directory: str | Path | None = None,
        *,
        organization: str = "ChargeBench CSO",
        hosts: Sequence[str] = DEFAULT_HOSTS,
        validity_days: int = 3650,
    ) -> None:
        self.directory = Path(directory) if directory is not None else default_pki_dir()
        self.organization = organization
        self.hosts = tuple(hosts)
        self.validity_days = validity_days
        self.files = PkiFiles(
            self.directory / "root-ca.pem",
            self.directory / "root-ca.key",
            self.directory / "csms-server.pem",
            self.directory / "csms-server.key",
        )
        self._issued_file = self.directory / "issued-serials.txt"  # what OCSP answers Good for
        self._ensure()
        self._root_cert = x509.load_pem_x509_certificate(self.files.root_cert.read_bytes())
        root_key = serialization.load_pem_private_key(self.files.root_key.read_bytes(), password=None)
        if not isinstance(root_key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{self.files.root_key}: the root key must be an EC key")
        self._root_key = root_key

    # ------------------------------------------------------------------ files

    @property
    def root_pem(self) -> str:
        return self.files.root_cert.read_text("ascii")

    def _ensure(self) -> None:
        f = self.files
        if f.root_cert.exists() and f.root_key.exists():
            if not (f.server_cert.exists() and f.server_key.exists()):
                self._write_server(
                    x509.load_pem_x509_certificate(f.root_cert.read_bytes()),
                    serialization.load_pem_private_key(f.root_key.read_bytes(), password=None),
                )
            return
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, ROOT_NAME),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, self.organization),
            ]
        )
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - CLOCK_SKEW)
            .not_valid_after(now + dt.timedelta(days=self.validity_days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(_key_usage(ca=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        _write_private(f.root_key, _key_pem(key))
        f.root_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self._write_server(cert, key)

    def _write_server(self, root: x509.Certificate, root_key: object) -> None:
        assert isinstance(root_key, ec.EllipticCurvePrivateKey)
        key = ec.generate_private_key(ec.SECP256R1())
        names: list[x509.GeneralName] = []
        for host in self.hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, self.hosts[0]),  # A00.FR.510: the FQDN
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, self.organization),
            ]
        )
        cert = self._issue(root, root_key, subject, key.public_key(), self.validity_days, names)
        _write_private(self.files.server_key, _key_pem(key))
        self.files.server_cert.write_bytes(
            cert.public_bytes(serialization.Encoding.PEM) + root.public_bytes(serialization.Encoding.PEM)
        )

    @staticmethod
    def _issue(
        root: x509.Certificate,
        root_key: ec.EllipticCurvePrivateKey,
        subject: x509.Name,
        public_key: object,
        days: int,
        alt_names: list[x509.GeneralName] | None = None,
    ) -> x509.Certificate:
        now = dt.datetime.now(dt.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(root.subject)
            .public_key(public_key)  # type: ignore[arg-type]
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - CLOCK_SKEW)
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(ca=False), critical=True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(root.public_key()),  # type: ignore[arg-type]
                critical=False,
            )
        )
        if alt_names:
            builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        return builder.sign(root_key, hashes.SHA256())

    # ------------------------------------------------------------------ signing

    def sign_csr(self, csr_pem: str, *, days: int = 365) -> str:
        """The PEM chain (leaf, then root) for a station's CSR; CsrRejected when it is unusable."""
        try:
            csr = x509.load_pem_x509_csr(csr_pem.encode("ascii"))
        except (ValueError, UnicodeEncodeError) as exc:
            raise CsrRejected(f"not a PEM certificate signing request: {exc}") from None
        try:
            if not csr.is_signature_valid:
                raise CsrRejected("the CSR's self-signature does not verify")
        except InvalidSignature:
            raise CsrRejected("the CSR's self-signature does not verify") from None
        key = csr.public_key()
        if isinstance(key, rsa.RSAPublicKey) and key.key_size < 2048:
            raise CsrRejected(f"RSA key of {key.key_size} bits; at least 2048 needed (A00.FR.502)")
        if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.key_size < 224:
            raise CsrRejected(f"EC key of {key.curve.key_size} bits; at least 224 needed (A00.FR.503)")
        if not isinstance(key, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey)):
            raise CsrRejected(f"unsupported key type {type(key).__name__}")
        if not csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME):
            raise CsrRejected("the CSR subject has no CN (the station's serial number, A00.FR.511)")
        if not csr.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME):
            raise CsrRejected("the CSR subject has no O (the operator's name, A00.FR.509)")
        cert = self._issue(self._root_cert, self._root_key, csr.subject, key, days)
        with self._issued_file.open("a", encoding="ascii") as fh:
            fh.write(f"{cert.serial_number:x}\n")
        return (cert.public_bytes(serialization.Encoding.PEM) + self._root_cert.public_bytes(
            serialization.Encoding.PEM
        )).decode("ascii")

    # ------------------------------------------------------------------ OCSP (M06)

    def ocsp_response(self, request: dict[str, str], *, valid_days: int = 7) -> bytes:
        """A DER OCSPResponse (RFC 6960, M06.FR.08/09) for OCSPRequestDataType fields, signed by
        this root: Good for a certificate it issued, Unknown for a serial it never issued.
        NotOurCertificate when the issuer hashes name another CA."""
        algorithm = {"SHA256": hashes.SHA256(), "SHA384": hashes.SHA384(), "SHA512": hashes.SHA512()}.get(
            request.get("hashAlgorithm", "")
        )
        if algorithm is None:
            raise NotOurCertificate(f"unsupported hashAlgorithm {request.get('hashAlgorithm')!r}")
        digest = hashes.Hash(algorithm)
        digest.update(self._root_cert.subject.public_bytes())
        name_hash = digest.finalize()
        digest = hashes.Hash(algorithm)
        digest.update(
            self._root_key.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )
        key_hash = digest.finalize()
        try:
            asked = (bytes.fromhex(request["issuerNameHash"]), bytes.fromhex(request["issuerKeyHash"]))
            serial = int(request["serialNumber"], 16)
        except (KeyError, ValueError) as exc:
            raise NotOurCertificate(f"unreadable OCSP request data: {exc}") from None
        if asked != (name_hash, key_hash):
            raise NotOurCertificate("the issuer hashes name another CA")
        issued = self._issued_file.read_text("ascii").split() if self._issued_file.exists() else []
        status = ocsp.OCSPCertStatus.GOOD if f"{serial:x}" in issued else ocsp.OCSPCertStatus.UNKNOWN
        now = dt.datetime.now(dt.UTC)
        until = now + dt.timedelta(days=valid_days)
        response = (
            ocsp.OCSPResponseBuilder()
            .add_response_by_hash(name_hash, key_hash, serial, algorithm, status, now, until, None, None)
            .responder_id(ocsp.OCSPResponderEncoding.HASH, self._root_cert)
            .sign(self._root_key, hashes.SHA256())
        )
        return response.public_bytes(serialization.Encoding.DER)

    # ------------------------------------------------------------------ TLS

    def server_context(self, *, client_certificates: bool) -> ssl.SSLContext:
        """TLS for the CSMS: profile 2 (server certificate only) or 3 (mutual TLS, the client
        certificate must chain to this root: A00.FR.403)."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2  # A00.FR.313
        ctx.load_cert_chain(self.files.server_cert, self.files.server_key)
        if client_certificates:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(cafile=str(self.files.root_cert))
        return ctx


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=not ca,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
