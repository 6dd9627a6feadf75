"""CSMS side of the websocket: accept stations at `ws://host:port/<station-id>`.

Listens on 127.0.0.1 unless told otherwise. Subprotocol choice is ours (the CSMS picks) and
tolerant: a station offering no version we speak still completes the handshake, without a
`Sec-WebSocket-Protocol` header, and is then closed, as Part 4 requires.
"""

from __future__ import annotations

import base64
import binascii
import logging
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import unquote, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from app.protocol.schemas import OcppVersion
from app.transport.client import HIDE_CREDENTIALS

log = logging.getLogger(__name__)
logging.getLogger("websockets.server").addFilter(HIDE_CREDENTIALS)  # Authorization headers

SERVER_VERSIONS: tuple[OcppVersion, ...] = (OcppVersion.V21, OcppVersion.V201, OcppVersion.V16)
Authenticator = Callable[[str, str | None], bool]
OnStation = Callable[[ServerConnection, str, OcppVersion], Awaitable[None]]


@dataclass(slots=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 9000
    versions: Sequence[OcppVersion] = SERVER_VERSIONS
    ssl_context: ssl.SSLContext | None = None
    authenticate: Authenticator | None = None  # (station id, password or None) -> allowed


def station_id_from_path(path: str) -> str:
    """The last path segment, percent-decoded: `/ocpp/CP%7C1` -> `CP|1`."""
    segment = urlsplit(path).path.rstrip("/").rsplit("/", 1)[-1]
    return unquote(segment)


def basic_auth_password(header: str | None, station_id: str) -> str | None:
    """The password of a Basic-auth header whose user is `station_id`; None if absent or for another user."""
    if not header or not header.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:], validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return password if user == station_id else None


async def start_server(on_station: OnStation, settings: ServerSettings) -> Server:
    def select_subprotocol(conn: ServerConnection, offered: Sequence[str]) -> str | None:
        for version in settings.versions:
            if version in offered:
                return str(version)
        return None

    def process_request(conn: ServerConnection, request: Request) -> Response | None:
        station_id = station_id_from_path(request.path)
        if not station_id:
            return conn.respond(HTTPStatus.NOT_FOUND, "URL must end with /<station id>\n")
        if settings.authenticate is not None:
            password = basic_auth_password(request.headers.get("Authorization"), station_id)
            if not settings.authenticate(station_id, password):
                response = conn.respond(HTTPStatus.UNAUTHORIZED, "authentication required\n")
                response.headers["WWW-Authenticate"] = 'Basic realm="OCPP"'
                return response
        return None

    async def handler(conn: ServerConnection) -> None:
        station_id = station_id_from_path(conn.request.path if conn.request else "")
        if conn.subprotocol is None:
            offered = conn.request.headers.get("Sec-WebSocket-Protocol", "") if conn.request else ""
            log.warning(
                "station %s offered no supported OCPP version (%s); closing", station_id, offered or "none"
            )
            await conn.close(1002, "no supported OCPP version")
            return
        await on_station(conn, station_id, OcppVersion(conn.subprotocol))

    return await serve(
        handler,
        settings.host,
        settings.port,
        select_subprotocol=select_subprotocol,  # type: ignore[arg-type]
        process_request=process_request,
        ssl=settings.ssl_context,
        max_size=4 * 1024 * 1024,
    )
