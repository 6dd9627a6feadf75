"""The built-in CSMS: accepts any station and answers everything it sends, validly.

It is the embedded default of the window and of the tests: no server to install. It also keeps
what a tester wants to see of each station (boot state, connector states, transactions and their
latest meter values) and lets the console send CSMS-initiated calls.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from websockets.asyncio.server import Server, ServerConnection

from app.clock import Clock
from app.csms.ca import CsrRejected, NotOurCertificate, TestPki
from app.csms.responses import minimal_response
from app.protocol.errors import CallTimeout, ConnectionLost, OcppError, SecurityError
from app.protocol.frames import Call
from app.protocol.schemas import OcppVersion
from app.signals import Signal
from app.transport.connection import CaptureSink, OcppConnection
from app.transport.intercept import Interceptor
from app.transport.server import ServerSettings, start_server

log = logging.getLogger(__name__)

# Messages a station may send before its boot is Accepted (B02.FR.09, B03.FR.07 allow these only).
_ALLOWED_BEFORE_ACCEPTED = frozenset({"BootNotification", "NotifyReport", "NotifyMonitoringReport"})


_TAG_STATUSES_16 = frozenset({"Accepted", "Blocked", "Expired", "Invalid", "ConcurrentTx"})


@dataclass(slots=True)
class CsmsConfig:
    boot_status: str = "Accepted"  # what BootNotification gets: Accepted | Pending | Rejected
    heartbeat_interval: int = 300
    boot_retry_interval: int = 30  # interval sent with Pending / Rejected
    default_token_status: str = "Accepted"
    token_status: dict[str, str] = field(default_factory=dict)  # idToken (case-insensitive) -> status
    passwords: dict[str, str] | None = field(default=None, repr=False)  # None: any station, any password
    # Accepted SignCertificate requests get their CertificateSigned; False plays a CA that is
    # unreachable (A03 error handling): accepted, never answered.
    sign_certificates: bool = True

    def status_of(self, id_token: str) -> str:
        wanted = id_token.upper()
        return next(
            (status for token, status in self.token_status.items() if token.upper() == wanted),
            self.default_token_status,
        )

    def tag_status_16(self, id_tag: str) -> str:
        """The status for a 1.6 idTag: a 2.x-only verdict (NoCredit, NotAtThisTime, Unknown…)
        becomes Invalid, the nearest 1.6 value, so the answer stays valid for a 1.6 charger."""
        status = self.status_of(id_tag)
        return status if status in _TAG_STATUSES_16 else "Invalid"


@dataclass(slots=True)
class TransactionView:
    """What the CSMS knows of one transaction from the events it received."""

    transaction_id: str
    evse_id: int | None = None
    id_token: str | None = None
    started: datetime | None = None
    ended: datetime | None = None
    charging_state: str | None = None
    stopped_reason: str | None = None
    energy_wh: float | None = None
    power_w: float | None = None
    soc: float | None = None
    last_seq_no: int | None = None


@dataclass(slots=True)
class StationLink:
    station_id: str
    version: OcppVersion
    connection: OcppConnection
    boot_status: str | None = None
    boot_info: dict[str, Any] = field(default_factory=dict)
    connector_status: dict[tuple[int, int], str] = field(default_factory=dict)
    transactions: dict[str, TransactionView] = field(default_factory=dict)
    last_seen: datetime | None = None
    client_certificate: str | None = None  # subject of the TLS client certificate (profile 3)

    @property
    def connected(self) -> bool:
        return not self.connection.closed


class Csms:
    def __init__(
        self,
        config: CsmsConfig | None = None,
        *,
        clock: Clock | None = None,
        capture: CaptureSink | None = None,
        mirror_stations: set[str] | None = None,
        registered: set[str] | None = None,
        pki: TestPki | None = None,
        security_profile: int = 1,
    ) -> None:
        self.config = config or CsmsConfig()
        # The CA that signs station CSRs and, for profiles 2 and 3, provides the server
        # certificate; one profile per listener (A00.FR.001/006).
        self.pki = pki
        if security_profile not in (1, 2, 3):
            raise ValueError("security profile must be 1, 2 or 3")
        if security_profile >= 2 and pki is None:
            raise ValueError(f"security profile {security_profile} needs a PKI (server certificate)")
        self.security_profile = security_profile
        self._tasks: set[asyncio.Task[None]] = set()
        self.clock = clock or Clock()
        self.capture = capture
        # Station ids emulated in this process: their frames are already captured at the station
        # end, so the CSMS copy is marked as a mirror.
        self.mirror_stations = mirror_stations if mirror_stations is not None else set()
        self.stations: dict[str, StationLink] = {}
        # Stations whose boot was accepted: survives a restart when the owner passes it on.
        self.registered = registered if registered is not None else set()
        self.station_connected: Signal[[StationLink]] = Signal()
        self.station_disconnected: Signal[[StationLink]] = Signal()
        self.station_changed: Signal[[StationLink]] = Signal()
        self.interceptor: Interceptor | None = None  # intercept mode, given by the session
        self._server: Server | None = None
        self._tx_counter = 0
        self.host = "127.0.0.1"
        self.port = 0
        self._tls = False

    # ------------------------------------------------------------------ lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 9000, ssl_context: Any = None) -> None:
        if ssl_context is None and self.pki is not None and self.security_profile >= 2:
            ssl_context = self.pki.server_context(client_certificates=self.security_profile == 3)
        self._tls = ssl_context is not None
        settings = ServerSettings(
            host=host, port=port, ssl_context=ssl_context, authenticate=self._authenticate
        )
        self._server = await start_server(self._on_station, settings)
        sock = next(iter(self._server.sockets))
        self.host, self.port = host, sock.getsockname()[1]
        log.info("CSMS listening on %s", self.url)

    @property
    def url(self) -> str:
        scheme = "wss" if self._tls else "ws"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}/ocpp"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for task in list(self._tasks):
            task.cancel()

    def _authenticate(self, station_id: str, password: str | None) -> bool:
        if self.config.passwords is None or self.security_profile == 3:
            return True  # profile 3: the TLS client certificate authenticates (A00.FR.401)
        expected = self.config.passwords.get(station_id)
        return expected is not None and password == expected

    async def _on_station(self, ws: ServerConnection, station_id: str, version: OcppVersion) -> None:
        previous = self.stations.get(station_id)
        if previous is not None and previous.connected:
            await previous.connection.close(1001, "replaced by a new connection")
        conn = OcppConnection(
            ws,
            version,
            station_id=station_id,
            local_role="csms",
            clock=self.clock,
            capture=self.capture,
            connection_name=f"{station_id}@csms",
            mirror=station_id in self.mirror_stations,
            interceptor=self.interceptor,
        )
        link = StationLink(station_id, version, conn, client_certificate=_peer_subject(ws))
        if previous is not None:  # keep what we knew across reconnects
            link.boot_status, link.boot_info = previous.boot_status, previous.boot_info
            link.transactions, link.connector_status = previous.transactions, previous.connector_status
        conn.handler = lambda call: self._handle(link, call)
        self.stations[station_id] = link
        self.station_connected.emit(link)
        try:
            await conn.run()
        finally:
            self.station_disconnected.emit(link)

    # ------------------------------------------------------------------ console

    async def call(
        self, station_id: str, action: str, payload: dict[str, Any], timeout: float | None = None
    ) -> dict[str, Any]:
        link = self.stations.get(station_id)
        if link is None or not link.connected:
            raise ConnectionLost(f"station {station_id} is not connected")
        return await link.connection.call(action, payload, timeout=timeout)

    async def wait_for_station(
        self, station_id: str, *, booted: bool = True, timeout: float = 10.0
    ) -> StationLink:
        """Wait until a station is connected (and, by default, its boot was answered Accepted)."""

        async def poll() -> StationLink:
            while True:
                link = self.stations.get(station_id)
                if link and link.connected and (not booted or link.boot_status == "Accepted"):
                    return link
                await asyncio.sleep(0.02)

        return await asyncio.wait_for(poll(), timeout)

    # ------------------------------------------------------------------ handlers

    async def _handle(self, link: StationLink, call: Call) -> dict[str, Any]:
        link.last_seen = self.clock.now()
        if self._refuses(link) and call.action not in _ALLOWED_BEFORE_ACCEPTED:
            raise SecurityError(f"{call.action} before BootNotification was accepted")
        response = minimal_response(link.version, call.action, self.clock.now())
        special = getattr(self, f"_on_{call.action}", None)
        if special is not None:
            special(link, call.payload, response)
        return response

    def _refuses(self, link: StationLink) -> bool:
        """A station not (yet) accepted may only boot (B02.FR.09, B03.FR.07). A station this
        CSMS accepted before a restart and that merely reconnected keeps its registration, as
        with any CSMS that stores its stations."""
        if link.boot_status is None:
            return link.station_id not in self.registered
        return link.boot_status != "Accepted"

    def _on_BootNotification(
        self, link: StationLink, payload: dict[str, Any], response: dict[str, Any]
    ) -> None:
        status = self.config.boot_status
        serial = (payload.get("chargingStation") or {}).get("serialNumber")
        common_name = _common_name(link.client_certificate)
        if common_name is not None and serial and serial not in common_name:
            # A00.FR.405: the client certificate must be this station's (CN = its serial number).
            log.warning("%s: certificate CN %r is not serial number %r", link.station_id, common_name, serial)
            status = "Rejected"
            response["statusInfo"] = {
                "reasonCode": "InvalidCertificate",
                "additionalInfo": f"client certificate CN {common_name!r} does not name serial {serial!r}",
            }
        response["status"] = status
        response["interval"] = (
            self.config.heartbeat_interval if status == "Accepted" else self.config.boot_retry_interval
        )
        link.boot_status = status
        if status == "Accepted":
            self.registered.add(link.station_id)
        else:
            self.registered.discard(link.station_id)
        link.boot_info = payload.get("chargingStation") or {
            k: v for k, v in payload.items() if k.startswith("chargePoint")
        }
        self.station_changed.emit(link)

    def _on_SignCertificate(
        self, link: StationLink, payload: dict[str, Any], response: dict[str, Any]
    ) -> None:
        """A02.FR.11/12: Accepted when there is a CA to sign with; the certificate follows."""
        if self.pki is None:
            response["status"] = "Rejected"
            response["statusInfo"] = {"reasonCode": "NoCA", "additionalInfo": "this CSMS runs without a CA"}
            return
        response["status"] = "Accepted"
        if self.config.sign_certificates:
            task = asyncio.create_task(self._send_certificate(link, payload), name=f"sign-{link.station_id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _send_certificate(self, link: StationLink, request: dict[str, Any]) -> None:
        """Sign the CSR and send CertificateSigned, with the request's requestId (A02.FR.25) and
        certificateType (A02.FR.14)."""
        assert self.pki is not None
        await asyncio.sleep(0.01)  # after the SignCertificate answer
        try:
            chain = self.pki.sign_csr(request["csr"])
        except CsrRejected as exc:
            log.warning("%s: CSR not signed: %s", link.station_id, exc)
            return
        signed: dict[str, Any] = {"certificateChain": chain}
        if "certificateType" in request:
            signed["certificateType"] = request["certificateType"]
        if "requestId" in request and link.version is OcppVersion.V21:
            signed["requestId"] = request["requestId"]
        try:
            answer = await link.connection.call("CertificateSigned", signed)
        except (ConnectionLost, OcppError, CallTimeout) as exc:
            log.info("%s: CertificateSigned not delivered: %s", link.station_id, exc)
            return
        log.info("%s: CertificateSigned %s", link.station_id, answer.get("status"))

    def _on_GetCertificateStatus(
        self, link: StationLink, payload: dict[str, Any], response: dict[str, Any]
    ) -> None:
        """M06.FR.01-04: our CA answers for the certificates it issued; anything else Failed."""
        try:
            if self.pki is None:
                raise NotOurCertificate("this CSMS runs without a CA")
            der = self.pki.ocsp_response(payload["ocspRequestData"])
        except NotOurCertificate as exc:
            response["status"] = "Failed"
            response["statusInfo"] = {"reasonCode": "UnknownIssuer", "additionalInfo": str(exc)[:1024]}
            response.pop("ocspResult", None)
            return
        response["status"] = "Accepted"
        response["ocspResult"] = base64.b64encode(der).decode("ascii")

    def _on_Authorize(self, link: StationLink, payload: dict[str, Any], response: dict[str, Any]) -> None:
        if link.version is OcppVersion.V16:
            response["idTagInfo"]["status"] = self.config.tag_status_16(payload.get("idTag", ""))
        else:
            response["idTokenInfo"]["status"] = self.config.status_of(payload["idToken"]["idToken"])

    def _on_StatusNotification(
        self, link: StationLink, payload: dict[str, Any], response: dict[str, Any]
    ) -> None:
        if link.version is OcppVersion.V16:
            key, status = (payload["connectorId"], 1), payload["status"]
        else:
            key, status = (payload["evseId"], payload["connectorId"]), payload["connectorStatus"]
        link.connector_status[key] = status
        self.station_changed.emit(link)

    def _on_NotifyEvent(self, link: StationLink, payload: dict[str, Any], response: dict[str, Any]) -> None:
        changed = False
        for event in payload.get("eventData", []):
            component, evse = event.get("component", {}), event.get("component", {}).get("evse")
            if (
                component.get("name") == "Connector"
                and event.get("variable", {}).get("name") == "AvailabilityState"
                and evse
            ):
                link.connector_status[(evse["id"], evse.get("connectorId", 1))] = event["actualValue"]
                changed = True
        if changed:
            self.station_changed.emit(link)

    def _on_TransactionEvent(
        self, link: StationLink, payload: dict[str, Any], response: dict[str, Any]
    ) -> None:
        info = payload["transactionInfo"]
        tx = link.transactions.setdefault(info["transactionId"], TransactionView(info["transactionId"]))
        tx.last_seq_no = payload.get("seqNo")
        if "evse" in payload:
            tx.evse_id = payload["evse"]["id"]
        if "chargingState" in info:
            tx.charging_state = info["chargingState"]
        if payload["eventType"] == "Started":
            tx.started = _parse_time(payload["timestamp"])
        if payload["eventType"] == "Ended":
            tx.ended = _parse_time(payload["timestamp"])
            tx.stopped_reason = info.get("stoppedReason", "Local")
        if "idToken" in payload:
            token = payload["idToken"]["idToken"]
            tx.id_token = token
            response["idTokenInfo"] = {"status": self.config.status_of(token)}
        for meter_value in payload.get("meterValue", []):
            for sv in meter_value.get("sampledValue", []):
                self._apply_sample(tx, sv)
        self.station_changed.emit(link)

    def _on_StartTransaction(
        self, link: StationLink, payload: dict[str, Any], response: dict[str, Any]
    ) -> None:
        self._tx_counter += 1
        response["transactionId"] = self._tx_counter
        response["idTagInfo"]["status"] = self.config.tag_status_16(payload.get("idTag", ""))
        tx = TransactionView(
            str(self._tx_counter), evse_id=payload.get("connectorId"), id_token=payload.get("idTag")
        )
        tx.started = _parse_time(payload["timestamp"])
        tx.energy_wh = payload.get("meterStart")
        link.transactions[tx.transaction_id] = tx
        self.station_changed.emit(link)

    @staticmethod
    def _apply_sample(tx: TransactionView, sv: dict[str, Any]) -> None:
        measurand = sv.get("measurand", "Energy.Active.Import.Register")
        if "phase" in sv and measurand != "Voltage":
            return
        multiplier = 10 ** sv.get("unitOfMeasure", {}).get("multiplier", 0)
        unit = sv.get("unitOfMeasure", {}).get("unit", "")
        value = float(sv["value"]) * multiplier * (1000.0 if unit in ("kWh", "kW") else 1.0)
        if measurand == "Energy.Active.Import.Register":
            tx.energy_wh = value
        elif measurand == "Power.Active.Import":
            tx.power_w = value
        elif measurand == "SoC":
            tx.soc = value


def _peer_subject(ws: ServerConnection) -> str | None:
    """The subject of a verified TLS client certificate, e.g. 'O=Operator,CN=CB-CP1'."""
    cert = ws.transport.get_extra_info("peercert") if ws.transport is not None else None
    if not cert:
        return None
    short = {"commonName": "CN", "organizationName": "O"}
    return ",".join(f"{short.get(k, k)}={v}" for rdn in cert.get("subject", ()) for k, v in rdn)


def _common_name(subject: str | None) -> str | None:
    if subject is None:
        return None
    return next((part[3:] for part in subject.split(",") if part.startswith("CN=")), "")


def _parse_time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
