"""A recording OCPP proxy: stations -> ChargeBench -> a real CSMS, every frame captured.

A station connecting to `ws://listen/<anything>/<station-id>` is connected through to
`<upstream-url>/<station-id>`. The upstream leg is opened *during* the station's opening
handshake, offering exactly the subprotocols the station offered (in its order) and carrying
its Authorization header as is; the station's handshake is then completed with the version
the upstream picked, or refused with the upstream's HTTP status (502 when the upstream cannot
be reached or accepts none of the offered versions).

Messages are forwarded unchanged, whatever they contain: the proxy never parses before
forwarding and never blocks or rewrites a frame. After forwarding, each frame becomes one
`CaptureRecord` (observer "proxy"), read leniently: type/id/action when readable, result
latency by pairing CALL ids per direction, schema problems against the negotiated version.
A close on either leg closes the other with the same code and reason; a dropped TCP
connection (no close frame) drops the other leg too.

Credentials: the Authorization header is forwarded, never recorded nor logged.
Keepalive pings and permessage-deflate are per leg (the proxy answers pings itself and does
not compress); only messages cross.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, cast
from urllib.parse import unquote, urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidHeader, InvalidStatus, InvalidURI
from websockets.headers import parse_subprotocol
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from app.clock import Clock
from app.inspector.jsonl import mask_secrets
from app.inspector.records import CaptureRecord, Sender
from app.protocol.frames import Call, CallError, CallResult, CallResultError, FrameError, Send, parse
from app.protocol.schemas import Kind, OcppVersion, Problem, is_known, validate
from app.signals import Signal
from app.transport.intercept import Direction, Interceptor

log = logging.getLogger(__name__)


class _RedactCredentials(logging.Filter):
    """websockets logs every handshake header at DEBUG: keep Authorization values out."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 2 and str(args[0]).lower() in _SECRET_HEADERS:
            record.args = (args[0], "[redacted]")
        return True


_SECRET_HEADERS = {"authorization", "proxy-authorization", "cookie", "set-cookie"}
wire_log = logging.getLogger(__name__ + ".websockets")  # the proxy's own websockets connections
wire_log.addFilter(_RedactCredentials())

CaptureSink = Callable[[CaptureRecord], None]

UPSTREAM_OPEN_TIMEOUT = 8.0  # below the station's own handshake timeout (10 s by default)
MAX_MESSAGE = 16 * 1024 * 1024
PENDING_LIMIT = 1024  # unanswered CALL ids remembered per direction
_KNOWN_VERSIONS = {str(v): v for v in OcppVersion}


def redact_url(url: str) -> str:
    """The URL without user:password@ (for messages and logs)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _last_segment(path: str) -> str:
    """The raw (still percent-encoded) last path segment: forwarded upstream as the station wrote it."""
    return urlsplit(path).path.rstrip("/").rsplit("/", 1)[-1]


@dataclass(slots=True)
class FrameInfo:
    """What the lenient reading of one frame found."""

    message_type: int | None = None
    message_id: str | None = None
    action: str | None = None
    payload: Any = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    latency: float | None = None


class FrameReader:
    """Reads the frames of one proxied connection, both directions, without ever answering.

    CALL ids are paired with their answers per direction (a station CALL with the CSMS's
    CALLRESULT/CALLERROR and vice versa), which gives results their action and latency.
    """

    def __init__(self, version: OcppVersion | None) -> None:
        self.version = version
        self.allow_21 = version is None or version is OcppVersion.V21
        self._calls: dict[Sender, OrderedDict[str, tuple[str, float]]] = {
            "station": OrderedDict(),
            "csms": OrderedDict(),
        }
        self._results: dict[Sender, OrderedDict[str, str]] = {"station": OrderedDict(), "csms": OrderedDict()}

    def read(self, sender: Sender, text: str, now: float) -> FrameInfo:
        other: Sender = "csms" if sender == "station" else "station"
        info = FrameInfo()
        try:
            frame = parse(text, allow_21=self.allow_21)
        except FrameError as exc:
            info.message_type = exc.message_type
            info.message_id = None if exc.message_id == "-1" else exc.message_id
            info.action = exc.action
            info.problems.append(str(Problem("", exc.error.description, exc.error.code)))
            info.payload = _loose_payload(text)
            if info.message_id is not None and exc.message_type in (3, 4):
                self._answer(other, info, now)
            return info
        info.message_type = int(frame.type)
        info.message_id = frame.message_id
        if isinstance(frame, Call | Send):
            info.action = frame.action
            info.payload = frame.payload
            kind = Kind.REQUEST if isinstance(frame, Call) else Kind.SEND
            if isinstance(frame, Call):
                _remember(self._calls[sender], frame.message_id, (frame.action, now))
            if self.version is not None:
                if not is_known(self.version, frame.action, kind):
                    info.problems.append(f"(payload): {frame.action} is not an {self.version} {kind} action")
                else:
                    info.problems += [
                        str(p) for p in validate(self.version, frame.action, kind, frame.payload)
                    ]
            return info
        if isinstance(frame, CallResult):
            info.payload = frame.payload
            self._answer(other, info, now)
            if info.action is not None:
                _remember(self._results[sender], frame.message_id, info.action)
                if self.version is not None:
                    problems = validate(self.version, info.action, Kind.RESPONSE, frame.payload)
                    info.problems += [str(p) for p in problems]
            return info
        info.payload = {
            "errorCode": frame.error_code,
            "errorDescription": frame.description,
            "errorDetails": frame.details,
        }
        if isinstance(frame, CallError):
            self._answer(other, info, now)
        elif isinstance(frame, CallResultError):
            info.action = self._results[other].pop(frame.message_id, None)
        return info

    def action_of_call(self, caller: Sender, message_id: str) -> str | None:
        """The action of an unanswered CALL the `caller` sent with this id."""
        pending = self._calls[caller].get(message_id)
        return pending[0] if pending else None

    def _answer(self, caller: Sender, info: FrameInfo, now: float) -> None:
        assert info.message_id is not None
        pending = self._calls[caller].pop(info.message_id, None)
        if pending is None:
            info.notes.append(f"answer to an id the {caller} sent no CALL with")
            return
        info.action, sent_at = pending
        info.latency = now - sent_at


def _remember(store: OrderedDict[str, Any], key: str, value: Any) -> None:
    store[key] = value
    while len(store) > PENDING_LIMIT:
        store.popitem(last=False)


def _loose_payload(text: str) -> Any:
    with contextlib.suppress(ValueError, TypeError):
        data = json.loads(text)
        if isinstance(data, list) and data:
            return data[-1]
        return data
    return None


@dataclass(slots=True)
class ProxiedStation:
    """One station connected through: its identity, the version in force, the upstream leg."""

    station_id: str
    upstream: ClientConnection
    version: OcppVersion | None
    subprotocol: str | None
    station_ws: ServerConnection | None = None
    closed_by: Sender | None = None  # the side whose close (or drop) ended the connection
    close_code: int | None = None
    close_reason: str = ""
    forwarded: int = 0  # messages passed on, both directions


class OcppProxy:
    def __init__(
        self,
        upstream_url: str,
        *,
        capture: CaptureSink | None = None,
        clock: Clock | None = None,
        listen_host: str = "127.0.0.1",
        listen_port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
        upstream_ca_file: str | None = None,
        upstream_verify: bool = True,
        interceptor: Interceptor | None = None,
    ) -> None:
        scheme = urlsplit(upstream_url).scheme
        if scheme not in ("ws", "wss"):
            raise ValueError(
                f"upstream URL must start with ws:// or wss://, got {redact_url(upstream_url)!r}"
            )
        self.upstream_url = upstream_url.rstrip("/")
        self.capture = capture
        self.clock = clock or Clock()
        self.listen_host = listen_host
        self.listen_port = listen_port
        self.ssl_context = ssl_context
        self.upstream_ca_file = upstream_ca_file
        self.upstream_verify = upstream_verify
        # Intercept mode on real traffic: a frame a rule (side "proxy") matches waits here.
        self.interceptor = interceptor
        self.stations: dict[ServerConnection, ProxiedStation] = {}  # connected through, both legs open
        self.forwarded = 0  # messages passed on, all stations, both directions
        # Upstream open, the station's handshake not finished yet.
        self._pending: dict[ServerConnection, ProxiedStation] = {}
        self._reapers: set[asyncio.Task[None]] = set()
        # (station id, what happened): connected through, refused, disconnected. For CLI and window.
        self.connection_event: Signal[[str, str]] = Signal()
        self._server: Server | None = None
        self._upstream_ssl: ssl.SSLContext | None = None
        if scheme == "wss":
            ctx = ssl.create_default_context(cafile=upstream_ca_file)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            if not upstream_verify:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            self._upstream_ssl = ctx

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self._server = await serve(
            self._handler,
            self.listen_host,
            self.listen_port,
            select_subprotocol=self._select_subprotocol,
            process_request=self._process_request,
            process_response=self._process_response,
            ssl=self.ssl_context,
            max_size=MAX_MESSAGE,
            compression=None,
            ping_interval=None,
            logger=wire_log,
        )
        self.listen_port = next(iter(self._server.sockets)).getsockname()[1]

    async def stop(self) -> None:
        """Stop listening; stations get 1001 (going away), mirrored to their upstream legs."""
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None
        for link in list(self._pending.values()) + list(self.stations.values()):
            with contextlib.suppress(Exception):
                await link.upstream.close(1001, "proxy stopped")
        self._pending.clear()
        for reaper in list(self._reapers):
            reaper.cancel()

    async def __aenter__(self) -> OcppProxy:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def shown_upstream(self) -> str:
        """The upstream URL without credentials."""
        return redact_url(self.upstream_url)

    @property
    def url(self) -> str:
        """Where stations connect (append `/<station-id>`)."""
        scheme = "wss" if self.ssl_context is not None else "ws"
        host = f"[{self.listen_host}]" if ":" in self.listen_host else self.listen_host
        return f"{scheme}://{host}:{self.listen_port}"

    # ------------------------------------------------------------------ handshake

    async def _process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        segment = _last_segment(request.path)
        station_id = unquote(segment)
        if not station_id:
            return conn.respond(HTTPStatus.NOT_FOUND, "URL must end with /<station id>\n")
        try:
            offered: list[Subprotocol] = [
                p for v in request.headers.get_all("Sec-WebSocket-Protocol") for p in parse_subprotocol(v)
            ]
        except InvalidHeader as exc:
            return conn.respond(HTTPStatus.BAD_REQUEST, f"invalid Sec-WebSocket-Protocol header: {exc}\n")
        url = f"{self.upstream_url}/{segment}"
        shown = redact_url(url)
        headers = {}
        auth = request.headers.get("Authorization")
        if auth is not None:
            headers["Authorization"] = auth
        try:
            upstream = await connect(
                url,
                subprotocols=offered or None,
                additional_headers=headers,
                user_agent_header=request.headers.get("User-Agent"),
                ssl=self._upstream_ssl,
                proxy=None,
                open_timeout=UPSTREAM_OPEN_TIMEOUT,
                ping_interval=None,
                max_size=MAX_MESSAGE,
                compression=None,
                logger=wire_log,
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            try:
                HTTPStatus(status)
            except ValueError:
                status = HTTPStatus.BAD_GATEWAY  # a code we cannot answer with (not a standard one)
            body = exc.response.body.decode("utf-8", "replace").strip()[:300] if exc.response.body else ""
            phrase = exc.response.reason_phrase
            log.info("upstream refused station %s: HTTP %s", station_id, status)
            self.connection_event.emit(
                station_id, f"refused: the upstream CSMS answered HTTP {status} {phrase}"
            )
            response = conn.respond(
                status,
                f"upstream CSMS {shown} answered HTTP {status} {phrase}"
                + (f": {body}" if body else "")
                + "\n",
            )
            challenge = exc.response.headers.get("WWW-Authenticate")
            if challenge is not None:
                response.headers["WWW-Authenticate"] = challenge
            return response
        except ssl.SSLCertVerificationError as exc:
            return self._bad_gateway(
                conn, station_id, f"TLS: the upstream CSMS certificate was not accepted: {exc.verify_message}"
            )
        except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
            return self._bad_gateway(
                conn, station_id, f"cannot reach upstream CSMS {shown}: {exc or type(exc).__name__}"
            )
        picked = upstream.subprotocol
        if offered and picked is None:
            await upstream.close(1002, "no subprotocol")
            return self._bad_gateway(
                conn,
                station_id,
                f"upstream CSMS {shown} accepted none of the offered subprotocols ({', '.join(offered)})",
            )
        self._pending[conn] = ProxiedStation(
            station_id, upstream, _KNOWN_VERSIONS.get(picked) if picked else None, picked, conn
        )
        return None

    def _bad_gateway(self, conn: ServerConnection, station_id: str, reason: str) -> Response:
        log.warning("station %s: %s", station_id, reason)
        self.connection_event.emit(station_id, "refused (HTTP 502): " + reason)
        return conn.respond(HTTPStatus.BAD_GATEWAY, reason + "\n")

    def _select_subprotocol(
        self, conn: ServerConnection, offered: Sequence[Subprotocol]
    ) -> Subprotocol | None:
        link = self._pending.get(conn)
        return cast(Subprotocol, link.subprotocol) if link and link.subprotocol else None

    async def _process_response(self, conn: ServerConnection, request: Request, response: Response) -> None:
        if response.status_code != HTTPStatus.SWITCHING_PROTOCOLS:
            link = self._pending.pop(conn, None)  # the station's handshake failed after all
            if link is not None:
                await link.upstream.close(1001, "station handshake failed")
        elif conn in self._pending:
            # If the station goes away before its handler runs, the upstream leg must go too.
            reaper = asyncio.ensure_future(self._reap(conn))
            self._reapers.add(reaper)
            reaper.add_done_callback(self._reapers.discard)

    async def _reap(self, conn: ServerConnection) -> None:
        await conn.wait_closed()
        link = self._pending.pop(conn, None)
        if link is not None:
            await _mirror_close(conn, link.upstream)

    # ------------------------------------------------------------------ forwarding

    async def _handler(self, conn: ServerConnection) -> None:
        link = self._pending.pop(conn, None)
        if link is None:
            await conn.close(1011, "no upstream connection")
            return
        self.stations[conn] = link
        log.info("station %s connected through (%s)", link.station_id, link.subprotocol or "no subprotocol")
        self.connection_event.emit(
            link.station_id, f"connected through ({link.subprotocol or 'no subprotocol'})"
        )
        reader = FrameReader(link.version)
        pumps = [
            asyncio.ensure_future(self._pump(conn, link.upstream, "station", link, reader)),
            asyncio.ensure_future(self._pump(link.upstream, conn, "csms", link, reader)),
        ]
        try:
            await asyncio.gather(*pumps)
        finally:
            for task in pumps:
                task.cancel()
            self.stations.pop(conn, None)
            if link.closed_by is None:
                what = "disconnected"
            elif link.close_code in (None, 1006):
                what = f"disconnected: the {link.closed_by} dropped the connection"
            else:
                reason = f", {link.close_reason}" if link.close_reason else ""
                what = f"disconnected: the {link.closed_by} closed (code {link.close_code}{reason})"
            log.info("station %s %s", link.station_id, what)
            self.connection_event.emit(link.station_id, what)

    async def _pump(
        self,
        src: ServerConnection | ClientConnection,
        dst: ServerConnection | ClientConnection,
        sender: Sender,
        link: ProxiedStation,
        reader: FrameReader,
    ) -> None:
        """Forward src -> dst until src closes; then close dst the same way."""
        while True:
            try:
                message = await src.recv()
            except ConnectionClosed:
                break
            at = self.clock.now()
            arrived = time.monotonic()
            forwarded = True
            notes: list[str] = []
            if self.interceptor is not None and self.interceptor.active and isinstance(message, str):
                leg = _Leg(link, sender, dst, reader)
                direction: Direction = "outgoing" if sender == "station" else "incoming"  # the charger's view
                verdict = await self.interceptor.hold(leg, direction, message)
                notes = verdict.notes
                if verdict.text is None:
                    forwarded = False
                else:
                    message = verdict.text
                at = self.clock.now()
            try:
                if forwarded:
                    await dst.send(message)
                    link.forwarded += 1
                    self.forwarded += 1
            except ConnectionClosed:
                forwarded = False  # the other leg is going; its own pump mirrors its close
                notes.append("not forwarded: the other side had closed")
            if self.capture is not None:
                self._record(link, reader, sender, message, at, arrived, notes)
        if link.closed_by is None:
            link.closed_by, link.close_code, link.close_reason = (
                sender,
                src.close_code,
                src.close_reason or "",
            )
        await _mirror_close(src, dst)

    def _record(
        self,
        link: ProxiedStation,
        reader: FrameReader,
        sender: Sender,
        message: str | bytes,
        at: Any,
        arrived: float,
        notes: list[str],
    ) -> None:
        assert self.capture is not None
        if isinstance(message, bytes):
            text = message.decode("utf-8", "replace")
            info = reader.read(sender, text, arrived)
            info.problems.insert(0, "(frame): binary websocket message; OCPP-J uses text messages")
        else:
            text = message
            info = reader.read(sender, text, arrived)
        info.notes.extend(notes)
        # What the charger and its CSMS exchange is forwarded as is; what is kept is masked.
        raw = mask_secrets(text, info.payload)
        if raw is not text:
            info.payload = _loose_payload(raw)
        self.capture(
            CaptureRecord(
                time=at,
                connection=f"{link.station_id}@proxy",
                station=link.station_id,
                sender=sender,
                observer="proxy",
                version=link.subprotocol or "",
                raw=raw,
                message_type=info.message_type,
                action=info.action,
                message_id=info.message_id,
                payload=info.payload,
                problems=info.problems,
                notes=info.notes,
                latency_ms=None if info.latency is None else info.latency * 1000.0,
            )
        )


class _Leg:
    """One direction of a proxied connection as a place to hold frames (intercept mode)."""

    local_role = "proxy"

    def __init__(
        self,
        link: ProxiedStation,
        sender: Sender,
        dst: ServerConnection | ClientConnection,
        reader: FrameReader,
    ) -> None:
        self.station_id = link.station_id
        self._sender = sender
        self._dst = dst
        self._reader = reader

    async def wait_closed(self) -> None:
        await self._dst.wait_closed()  # the frame would go nowhere

    def answered_action(self, direction: str, mtype: int | None, msg_id: str | None) -> str | None:
        if mtype not in (3, 4) or msg_id is None:
            return None
        asked_by: Sender = "csms" if self._sender == "station" else "station"
        return self._reader.action_of_call(asked_by, msg_id)


async def _mirror_close(
    src: ServerConnection | ClientConnection, dst: ServerConnection | ClientConnection
) -> None:
    """Close `dst` the way `src` was closed: same code and reason, or a drop for a drop."""
    code = src.close_code
    reason = src.close_reason or ""
    try:
        if code is None or code in (1006, 1015):  # no close frame (dropped) or TLS failure
            dst.transport.abort()
        elif code == 1005:  # an empty close frame: send an empty one
            await dst.close(cast(int, None))
        else:
            await dst.close(code, reason)
    except Exception:  # a code we may not send, or dst already gone
        dst.transport.abort()
