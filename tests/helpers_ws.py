"""Shared helpers for the protocol/transport tests: real websockets on loopback, nothing mocked.

`open_pair()` wires two `OcppConnection`s together through `app.transport.server.start_server`
and `app.transport.client.open_station_socket` on 127.0.0.1 with a free port, and tears both
down afterwards. `minimal_instance()` builds a small payload that satisfies a JSON schema, so a
test can send every action of a version without a hand-written payload for each.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import Server, ServerConnection

from app.inspector.records import CaptureRecord
from app.protocol.schemas import OcppVersion
from app.transport.client import ClientSettings, open_station_socket
from app.transport.connection import CallHandler, OcppConnection, SendHandler
from app.transport.server import SERVER_VERSIONS, ServerSettings, start_server

TIMESTAMP = "2026-01-01T12:00:00.000Z"


def server_port(server: Server) -> int:
    return int(next(iter(server.sockets)).getsockname()[1])


@dataclass
class Pair:
    """A station-side and a CSMS-side connection talking to each other over loopback."""

    station: OcppConnection
    csms: OcppConnection
    version: OcppVersion
    records: list[CaptureRecord] = field(default_factory=list)

    def seen_by(self, observer: str) -> list[CaptureRecord]:
        return [r for r in self.records if r.observer == observer]


@contextlib.asynccontextmanager
async def open_pair(
    *,
    station_handler: CallHandler | None = None,
    csms_handler: CallHandler | None = None,
    csms_send_handler: SendHandler | None = None,
    offered: Sequence[OcppVersion] = (OcppVersion.V21, OcppVersion.V201),
    accepted: Sequence[OcppVersion] = SERVER_VERSIONS,
    station_id: str = "CP1",
    call_timeout: float = 5.0,
    csms_mirror: bool = False,
) -> AsyncIterator[Pair]:
    records: list[CaptureRecord] = []
    csms_side: asyncio.Future[OcppConnection] = asyncio.get_running_loop().create_future()

    async def on_station(ws: ServerConnection, sid: str, version: OcppVersion) -> None:
        conn = OcppConnection(
            ws,
            version,
            station_id=sid,
            local_role="csms",
            capture=records.append,
            handler=csms_handler,
            send_handler=csms_send_handler,
            call_timeout=call_timeout,
            mirror=csms_mirror,
        )
        csms_side.set_result(conn)
        await conn.run()

    server = await start_server(on_station, ServerSettings(port=0, versions=accepted))
    station_task: asyncio.Task[None] | None = None
    try:
        ws, version = await open_station_socket(
            ClientSettings(f"ws://127.0.0.1:{server_port(server)}/ocpp", station_id, versions=offered)
        )
        station = OcppConnection(
            ws,
            version,
            station_id=station_id,
            local_role="station",
            capture=records.append,
            handler=station_handler,
            call_timeout=call_timeout,
        )
        station_task = asyncio.create_task(station.run(), name="test-station-run")
        csms = await asyncio.wait_for(csms_side, 5)
        yield Pair(station, csms, version, records)
    finally:
        if station_task is not None:
            with contextlib.suppress(Exception):
                await station.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(station_task, 5)
        server.close()
        await server.wait_closed()


async def wait_until(predicate: Any, timeout: float = 2.0) -> None:
    """Poll a condition that another task makes true (e.g. a record reaching the capture)."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.005)


# ---------------------------------------------------------------------------- payload builder


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = root
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def minimal_instance(schema: dict[str, Any], node: dict[str, Any] | None = None) -> Any:
    """The smallest instance of `schema` with every required field filled in.

    Independent of app/csms/responses.py on purpose: tests should not check the CSMS's answers
    with the very code that produced them.
    """
    node = _resolve(node if node is not None else schema, schema)
    if "enum" in node:
        return node["enum"][0]
    kind = node.get("type")
    if isinstance(kind, list):
        kind = kind[0]
    if kind == "object":
        props = node.get("properties", {})
        return {name: minimal_instance(schema, props[name]) for name in node.get("required", [])}
    if kind == "array":
        return [minimal_instance(schema, node["items"]) for _ in range(node.get("minItems", 0))]
    if kind == "string":
        if node.get("format") == "date-time":
            return TIMESTAMP
        return "a" * max(1, node.get("minLength", 1)) if node.get("maxLength", 1) else ""
    if kind == "integer":
        return int(node.get("minimum", 1))
    if kind == "number":
        return float(node.get("minimum", 1.0))
    if kind == "boolean":
        return True
    raise ValueError(f"cannot build an instance of {node}")
