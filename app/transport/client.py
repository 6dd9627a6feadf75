"""Station side of the websocket: connect to `<csms-url>/<station-id>`, negotiate the version.

Security profiles (Part 2, A00): 1 = ws + HTTP Basic, 2 = wss + Basic + server certificate,
3 = wss + client certificate. TLS verifies the server certificate unless told otherwise.
"""

from __future__ import annotations

import base64
import logging
import random
import ssl
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI

from app.protocol.schemas import OcppVersion

DEFAULT_VERSIONS: tuple[OcppVersion, ...] = (OcppVersion.V21, OcppVersion.V201)


class HideCredentials(logging.Filter):
    """websockets logs every handshake header at debug level (`chargebench -v`): the Basic-auth
    header carries the password, so its value is masked before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 2 and str(args[0]).lower() == "authorization":
            record.args = (args[0], "********")
        return True


HIDE_CREDENTIALS = HideCredentials()
logging.getLogger("websockets.client").addFilter(HIDE_CREDENTIALS)


class ConnectError(Exception):
    """Connecting failed; the message says why in words a tester can act on."""

    def __init__(self, message: str, *, retryable: bool = True, security_event: str | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.security_event = security_event  # the A04 security event this failure is worth, if any


@dataclass(slots=True)
class ClientSettings:
    csms_url: str
    station_id: str
    versions: Sequence[OcppVersion] = DEFAULT_VERSIONS
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None
    ca_data: str | None = None  # PEM of further trusted roots (installed CSMSRootCertificates)
    verify_tls: bool = True
    client_cert: str | None = None
    client_key: str | None = None
    ping_interval: float | None = None  # OCPPCommCtrlr.WebSocketPingInterval; 0/None = station does not ping
    open_timeout: float = 10.0

    @property
    def url(self) -> str:
        return station_url(self.csms_url, self.station_id)


def station_url(csms_url: str, station_id: str) -> str:
    """The CSMS endpoint with the percent-encoded identity appended as the last path segment."""
    return csms_url.rstrip("/") + "/" + quote(station_id, safe="")


def basic_auth_header(station_id: str, password: str) -> str:
    token = base64.b64encode(f"{station_id}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def tls_context(settings: ClientSettings) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=settings.ca_file, cadata=settings.ca_data)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if not settings.verify_tls:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if settings.client_cert:
        ctx.load_cert_chain(settings.client_cert, settings.client_key)
    return ctx


async def open_station_socket(settings: ClientSettings) -> tuple[ClientConnection, OcppVersion]:
    """Open the websocket and return it with the version the CSMS picked."""
    if ":" in settings.station_id:
        raise ConnectError(
            "station id must not contain ':' (it is the Basic-auth user name)", retryable=False
        )
    url = settings.url
    scheme = urlsplit(url).scheme
    if scheme not in ("ws", "wss"):
        raise ConnectError(
            f"CSMS URL must start with ws:// or wss://, got {settings.csms_url!r}", retryable=False
        )
    headers = {}
    if settings.password:
        headers["Authorization"] = basic_auth_header(settings.station_id, settings.password)
    ping = settings.ping_interval if settings.ping_interval else None
    try:
        ws = await connect(
            url,
            subprotocols=[str(v) for v in settings.versions],  # type: ignore[misc]
            additional_headers=headers,
            ssl=tls_context(settings) if scheme == "wss" else None,
            proxy=None,
            open_timeout=settings.open_timeout,
            ping_interval=ping,
            ping_timeout=ping,
            max_size=4 * 1024 * 1024,
        )
    except InvalidStatus as exc:
        status = exc.response.status_code
        hint = {
            401: "the CSMS refused the credentials (HTTP 401)",
            404: "the CSMS does not know this station id (HTTP 404)",
        }
        raise ConnectError(hint.get(status, f"the CSMS answered HTTP {status} instead of upgrading")) from exc
    except ssl.SSLCertVerificationError as exc:
        raise ConnectError(
            _verify_failure(exc, url, settings), security_event="InvalidCsmsCertificate"
        ) from exc
    except ssl.SSLError as exc:
        reason = exc.reason or str(exc)
        event = "InvalidTLSVersion" if "VERSION" in reason.upper() else None
        if "CERTIFICATE_REQUIRED" in reason.upper() or "BAD_CERTIFICATE" in reason.upper():
            reason += " (the CSMS wants a client certificate it trusts: security profile 3)"
        raise ConnectError(f"TLS handshake failed: {reason}", security_event=event) from exc
    except InvalidURI as exc:
        raise ConnectError(f"invalid CSMS URL: {exc}", retryable=False) from exc
    except (OSError, TimeoutError, InvalidHandshake) as exc:
        message = f"cannot reach {url}: {exc or type(exc).__name__}"
        if scheme == "wss" and isinstance(exc, InvalidHandshake) and isinstance(exc.__cause__, EOFError):
            # TLS 1.3 reports a refused client certificate only as a closed connection.
            message += (
                " (the CSMS closed the TLS connection: it does not trust the client certificate)"
                if settings.client_cert
                else " (the CSMS closed the TLS connection: it may want a client certificate, profile 3)"
            )
        raise ConnectError(message) from exc
    picked = ws.subprotocol
    if picked is None:
        await ws.close(1002, "no subprotocol")
        offered = ", ".join(settings.versions)
        raise ConnectError(f"the CSMS accepted none of the offered OCPP versions ({offered})")
    return ws, OcppVersion(picked)


def _verify_failure(exc: ssl.SSLCertVerificationError, url: str, settings: ClientSettings) -> str:
    """Say which check failed (A00.FR.308/309) and what to change."""
    detail = exc.verify_message or str(exc)
    if exc.verify_code in (62, 64):  # X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH
        host = urlsplit(url).hostname
        return (
            f"TLS: the CSMS certificate was not accepted: certificate verify failed: {detail} "
            f"(it is not valid for host {host!r}; use a host name the certificate names in the URL)"
        )
    installed = "the installed CSMS root certificates" if settings.ca_data else "the system CAs"
    trusted = settings.ca_file or installed
    return (
        f"TLS: the CSMS certificate was not accepted: certificate verify failed: {detail} "
        f"(it does not chain to {trusted})"
    )


def backoff_delays(
    wait_minimum: float, random_range: float, repeat_times: int, rng: random.Random | None = None
) -> Iterator[float]:
    """Reconnect waits per OCPPCommCtrlr.RetryBackOff*: minimum plus jitter, doubled after each
    failure `repeat_times` times, then held at the last value."""
    rng = rng or random.Random()
    wait = max(0.0, wait_minimum)
    doublings = 0
    while True:
        yield wait + rng.uniform(0, max(0.0, random_range))
        if doublings < repeat_times:
            wait = wait * 2 if wait > 0 else 1.0
            doublings += 1
