"""The recording proxy: our station -> OcppProxy -> a real CSMS, over real loopback sockets.

Upstreams: a CSMS built on the independent `ocpp` library (which records the raw texts it
received, to check byte-exact forwarding), our built-in CSMS (Basic auth), and plain websockets
servers (close mirroring, refusals, TLS on both legs).
"""

from __future__ import annotations

import base64
import logging
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.http11 import Request, Response

from app.clock import AcceleratedClock
from app.csms.csms import CsmsConfig
from app.inspector.records import CaptureRecord
from app.protocol.schemas import OcppVersion
from app.proxy import OcppProxy, redact_url
from app.session import Session
from app.station.config import StationConfig
from tests.support import wait_until
from tests.test_interop_ocpp_lib import LibCsms

ROOT = Path(__file__).resolve().parents[1]


class RecordingSocket:
    """What the ocpp library's ChargePoint reads from and writes to, keeping the raw texts."""

    def __init__(self, ws: ServerConnection) -> None:
        self.ws = ws
        self.received: list[str] = []
        self.sent: list[str] = []

    async def recv(self) -> str:
        message = await self.ws.recv()
        assert isinstance(message, str)
        self.received.append(message)
        return message

    async def send(self, message: str) -> None:
        self.sent.append(message)
        await self.ws.send(message)


@pytest.fixture
async def lib_upstream() -> AsyncIterator[tuple[str, dict[str, LibCsms], dict[str, RecordingSocket]]]:
    peers: dict[str, LibCsms] = {}
    sockets: dict[str, RecordingSocket] = {}

    async def handler(ws: ServerConnection) -> None:
        assert ws.request is not None
        station_id = ws.request.path.rstrip("/").rsplit("/", 1)[-1]
        sock = RecordingSocket(ws)
        cp = LibCsms(station_id, sock)
        peers[station_id], sockets[station_id] = cp, sock
        try:
            await cp.start()
        except Exception:  # the socket closed
            return

    async with serve(handler, "127.0.0.1", 0, subprotocols=["ocpp2.1", "ocpp2.0.1"]) as server:  # type: ignore[list-item]
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/ocpp", peers, sockets


def raw_texts(records: list[CaptureRecord], observer: str, sender: str) -> list[str]:
    return [r.raw for r in records if r.observer == observer and r.sender == sender]


async def test_charge_runs_through_the_proxy_byte_exact_and_both_legs_captured(
    lib_upstream: tuple[str, dict[str, LibCsms], dict[str, RecordingSocket]],
) -> None:
    url, peers, sockets = lib_upstream
    session = Session(clock=AcceleratedClock(10.0))
    try:
        proxy = await session.start_proxy("127.0.0.1", 0, url)
        station = session.add_station(
            StationConfig(
                station_id="PX-1",
                csms_url=proxy.url + "/anything/here",
                overrides={"SampledDataCtrlr.TxUpdatedInterval": "2"},
            )
        )
        await wait_until(lambda: station.online)
        assert station.version is OcppVersion.V21
        csms = peers["PX-1"]
        await station.plug(1)
        assert await station.tap("PX-CARD") == "Accepted"
        await wait_until(
            lambda: any(
                a == "TransactionEvent" and p["trigger_reason"] == "MeterValuePeriodic"
                for a, p in csms.received
            )
        )
        await station.tap("PX-CARD")
        await wait_until(
            lambda: any(a == "TransactionEvent" and p["event_type"] == "Ended" for a, p in csms.received)
        )

        # Invalid frames go through untouched, and the proxy's capture says what is wrong.
        bad_schema = '[2, "bad-1" ,"Heartbeat",{"oops":1}]'
        not_json = '[2,"bad-2","Heartbeat",{'
        assert station.connection is not None
        await station.connection.send_raw(bad_schema)
        await station.connection.send_raw(not_json)
        sock = sockets["PX-1"]
        await wait_until(lambda: not_json in sock.received)

        records = list(session.store)
        sent_by_station = raw_texts(records, "station", "station")
        await wait_until(lambda: sock.received == raw_texts(list(session.store), "station", "station"))
        assert sock.received[: len(sent_by_station)] == sent_by_station
        # ...and every CSMS frame reached the station as the library wrote it.
        await wait_until(lambda: raw_texts(list(session.store), "station", "csms") == sock.sent)

        records = list(session.store)
        proxied = [r for r in records if r.observer == "proxy"]
        assert {r.sender for r in proxied} == {"station", "csms"}
        assert all(r.connection == "PX-1@proxy" and r.station == "PX-1" for r in proxied)
        assert raw_texts(records, "proxy", "station") == sock.received
        assert raw_texts(records, "proxy", "csms") == sock.sent
        by_raw = {r.raw: r for r in proxied}
        assert by_raw[bad_schema].problems and by_raw[bad_schema].action == "Heartbeat"
        assert by_raw[not_json].problems and "JSON" in by_raw[not_json].problems[0]
        results = [
            r
            for r in proxied
            if r.sender == "csms" and r.message_type == 3 and r.action == "TransactionEvent"
        ]
        assert results and all(r.latency_ms is not None and r.latency_ms >= 0 for r in results)
        valid = [r for r in proxied if r.raw not in (bad_schema, not_json) and r.sender == "station"]
        assert valid and all(r.valid for r in valid)
        assert next(r for r in proxied if r.action == "BootNotification").version == "ocpp2.1"

        # The CSMS calls the station through the proxy too.
        from ocpp.v21 import call as lib_call

        result = await csms.call(
            lib_call.GetVariables(
                get_variable_data=[
                    {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
                ]
            )
        )
        assert result.get_variable_result[0]["attribute_status"] == "Accepted"
        answer = [r for r in session.store if r.observer == "proxy" and r.action == "GetVariables"]
        assert [r.sender for r in answer] == ["csms", "station"] and answer[1].latency_ms is not None
    finally:
        await session.stop()


async def test_station_offering_only_201_gets_201_end_to_end(
    lib_upstream: tuple[str, dict[str, LibCsms], dict[str, RecordingSocket]],
) -> None:
    url, peers, sockets = lib_upstream
    session = Session()
    try:
        proxy = await session.start_proxy("127.0.0.1", 0, url)
        station = session.add_station(
            StationConfig(station_id="PX-201", csms_url=proxy.url, versions=(OcppVersion.V201,))
        )
        await wait_until(lambda: station.online)
        assert station.version is OcppVersion.V201
        assert sockets["PX-201"].ws.subprotocol == "ocpp2.0.1"
        await wait_until(lambda: any(a == "StatusNotification" for a, _ in peers["PX-201"].received))
        proxied = [r for r in session.store if r.observer == "proxy"]
        assert proxied and {r.version for r in proxied} == {"ocpp2.0.1"}
    finally:
        await session.stop()


async def test_basic_auth_is_passed_through_and_never_recorded(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    password = "s3cret-Pa55word-0123"
    session = Session()
    try:
        csms = await session.start_csms(config=CsmsConfig(passwords={"AUTH-1": password, "AUTH-2": password}))
        proxy = await session.start_proxy("127.0.0.1", 0, csms.url + "/ocpp")
        good = session.add_station(StationConfig(station_id="AUTH-1", csms_url=proxy.url, password=password))
        bad = session.add_station(
            StationConfig(station_id="AUTH-2", csms_url=proxy.url, password="wrong-one-0123456789")
        )
        await wait_until(lambda: good.online)
        await wait_until(lambda: "401" in bad.last_error)
        assert not bad.online
        assert any(r.observer == "proxy" and r.action == "BootNotification" for r in session.store)
        token = base64.b64encode(f"AUTH-1:{password}".encode()).decode()
        for record in session.store:
            assert password not in record.raw and token not in record.raw
        # The proxy's own logs, its websockets debug logs included, carry no credentials.
        # (The station's and the CSMS's websockets loggers are theirs: they log headers at DEBUG.)
        proxy_logs = [r.getMessage() for r in caplog.records if r.name.startswith("app.proxy")]
        assert any("Authorization: [redacted]" in m for m in proxy_logs)
        wrong = base64.b64encode(b"AUTH-2:wrong-one-0123456789").decode()
        for message in proxy_logs:
            assert password not in message and token not in message and wrong not in message

        # Secrets inside frames: forwarded as they are, masked in what the proxy records.
        new_password = "n3w-Secret-Pa55-98765"
        key = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----"
        answer = await csms.call(
            "AUTH-1",
            "SetVariables",
            {
                "setVariableData": [
                    {
                        "attributeValue": new_password,
                        "component": {"name": "SecurityCtrlr"},
                        "variable": {"name": "BasicAuthPassword"},
                    }
                ]
            },
        )
        assert answer["setVariableResult"][0]["attributeStatus"] == "Accepted"  # it reached the station
        await csms.call("AUTH-1", "DataTransfer", {"vendorId": "cb.test", "data": key})
        proxied = [r for r in session.store if r.observer == "proxy" and r.sender == "csms"]
        assert {"SetVariables", "DataTransfer"} <= {r.action for r in proxied}
        for record in session.store:
            assert new_password not in record.raw and "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" not in record.raw
            assert new_password not in str(record.payload)
    finally:
        await session.stop()


class PlainUpstream:
    """A websockets server that echoes, records the handshake, and closes on request."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.closes: list[tuple[int | None, str | None]] = []
        self.pick: str | None = "ocpp2.1"
        self.refuse: int | None = None

    def process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        self.requests.append(request)
        if self.refuse is not None:
            return conn.respond(self.refuse, "no such station here\n")
        return None

    def select(self, conn: ServerConnection, offered: Any) -> Any:
        return self.pick if self.pick in offered else None

    async def handler(self, ws: ServerConnection) -> None:
        try:
            async for message in ws:
                if message == "close-me":
                    await ws.close(4001, "upstream says bye")
                elif message == "drop-me":
                    ws.transport.abort()
                else:
                    await ws.send(message)
        finally:
            await ws.wait_closed()
            self.closes.append((ws.close_code, ws.close_reason))


@pytest.fixture
async def plain_upstream() -> AsyncIterator[tuple[str, PlainUpstream]]:
    up = PlainUpstream()
    async with serve(
        up.handler, "127.0.0.1", 0, process_request=up.process_request, select_subprotocol=up.select
    ) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/csms", up


async def test_handshake_forwarded_and_closes_mirrored_both_ways(
    plain_upstream: tuple[str, PlainUpstream],
) -> None:
    url, up = plain_upstream
    records: list[CaptureRecord] = []
    events: list[tuple[str, str]] = []
    async with OcppProxy(url, capture=records.append) as proxy:
        proxy.connection_event.connect(lambda sid, text: events.append((sid, text)))
        auth = "Basic " + base64.b64encode(b"CP%7C1:pw").decode()
        async with connect(
            proxy.url + "/ocpp/CP%7C1",
            subprotocols=["ocpp2.0.1", "ocpp2.1"],  # type: ignore[list-item]
            additional_headers={"Authorization": auth},
        ) as ws:
            assert ws.subprotocol == "ocpp2.1"
            request = up.requests[-1]
            assert request.path == "/csms/CP%7C1"
            assert request.headers["Sec-WebSocket-Protocol"] == "ocpp2.0.1, ocpp2.1"
            assert request.headers["Authorization"] == auth
            await ws.send("hello \u00e9 [not ocpp")
            assert await ws.recv() == "hello \u00e9 [not ocpp"
            await ws.send(b"\x01binary")
            assert await ws.recv() == b"\x01binary"
            await ws.send("close-me")
            with pytest.raises(ConnectionClosed):
                await ws.recv()
            assert ws.close_code == 4001 and ws.close_reason == "upstream says bye"
        assert [r.station for r in records] == ["CP|1"] * 5
        assert records[0].problems and records[2].problems  # not OCPP, binary
        assert all(r.observer == "proxy" and r.connection == "CP|1@proxy" for r in records)

        async with connect(proxy.url + "/CP2", subprotocols=["ocpp2.1"]) as ws:  # type: ignore[list-item]
            await ws.send("ping")
            assert await ws.recv() == "ping"
            await ws.close(4002, "station says bye")
        await wait_until(lambda: len(up.closes) == 2)
        assert up.closes[-1] == (4002, "station says bye")

        # A dropped upstream TCP connection drops the station's.
        async with connect(proxy.url + "/CP3", subprotocols=["ocpp2.1"]) as ws:  # type: ignore[list-item]
            await ws.send("drop-me")
            with pytest.raises(ConnectionClosed):
                await ws.recv()
            assert ws.close_code == 1006
        await wait_until(lambda: not proxy.stations)
        assert events == [
            ("CP|1", "connected through (ocpp2.1)"),
            ("CP|1", "disconnected: the csms closed (code 4001, upstream says bye)"),
            ("CP2", "connected through (ocpp2.1)"),
            ("CP2", "disconnected: the station closed (code 4002, station says bye)"),
            ("CP3", "connected through (ocpp2.1)"),
            ("CP3", "disconnected: the csms dropped the connection"),
        ]


async def test_upstream_refusals_reach_the_station(plain_upstream: tuple[str, PlainUpstream]) -> None:
    url, up = plain_upstream
    async with OcppProxy(url) as proxy:
        up.refuse = 404
        with pytest.raises(InvalidStatus) as refused:
            await connect(proxy.url + "/NOPE", subprotocols=["ocpp2.1"])  # type: ignore[list-item]
        assert refused.value.response.status_code == 404
        assert b"no such station here" in refused.value.response.body

        up.refuse, up.pick = None, "ocpp1.6"
        with pytest.raises(InvalidStatus) as refused:
            await connect(proxy.url + "/V", subprotocols=["ocpp2.1"])  # type: ignore[list-item]
        assert refused.value.response.status_code == 502
        assert b"none of the offered subprotocols" in refused.value.response.body

    async with OcppProxy("ws://user:pw@127.0.0.1:1/gone") as proxy:
        with pytest.raises(InvalidStatus) as refused:
            await connect(proxy.url + "/X", subprotocols=["ocpp2.1"])  # type: ignore[list-item]
        assert refused.value.response.status_code == 502
        body = refused.value.response.body.decode()
        assert "cannot reach upstream CSMS ws://127.0.0.1:1/gone/X" in body and "pw" not in body
    assert redact_url("wss://a:b@h:1/p") == "wss://h:1/p"


async def test_wss_on_both_legs(tmp_path: Path) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(server_ctx)
    up = PlainUpstream()
    async with serve(up.handler, "127.0.0.1", 0, ssl=server_ctx, select_subprotocol=up.select) as upstream:
        port = next(iter(upstream.sockets)).getsockname()[1]
        records: list[CaptureRecord] = []
        async with OcppProxy(
            f"wss://127.0.0.1:{port}",
            capture=records.append,
            ssl_context=server_ctx,
            upstream_ca_file=str(ca_file),
        ) as proxy:
            assert proxy.url.startswith("wss://")
            client_ctx = ssl.create_default_context(cafile=str(ca_file))
            async with connect(proxy.url + "/TLS-1", subprotocols=["ocpp2.1"], ssl=client_ctx) as ws:  # type: ignore[list-item]
                frame = '[2,"1","Heartbeat",{}]'
                await ws.send(frame)
                assert await ws.recv() == frame
            assert [r.raw for r in records] == [frame, frame]
            assert records[0].valid and records[0].action == "Heartbeat"

        # The upstream certificate is checked unless told otherwise.
        async with OcppProxy(f"wss://127.0.0.1:{port}") as proxy:
            with pytest.raises(InvalidStatus) as refused:
                await connect(proxy.url + "/TLS-2", subprotocols=["ocpp2.1"])  # type: ignore[list-item]
            assert refused.value.response.status_code == 502
            assert b"certificate" in refused.value.response.body
        async with OcppProxy(f"wss://127.0.0.1:{port}", upstream_verify=False) as proxy:
            ws = await connect(proxy.url + "/TLS-3", subprotocols=["ocpp2.1"])  # type: ignore[list-item]
            assert ws.subprotocol == "ocpp2.1"
            await ws.close()

    # A station of ours connects to the wss listening side with the CA file.
    session = Session()
    try:
        csms = await session.start_csms()
        proxy = await session.start_proxy("127.0.0.1", 0, csms.url, ssl_context=server_ctx)
        station = session.add_station(
            StationConfig(station_id="TLS-ST", csms_url=proxy.url, ca_file=str(ca_file))
        )
        await wait_until(lambda: station.online)
    finally:
        await session.stop()


def test_cli_proxy_runs_and_rejects_a_bad_upstream() -> None:
    run = [sys.executable, "-m", "app.cli", "proxy", "--listen", "127.0.0.1:0"]
    done = subprocess.run(
        [*run, "--upstream", "ws://127.0.0.1:1/ocpp", "--duration", "0.3"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert "proxy listening on ws://127.0.0.1:" in done.stdout
    assert "-> ws://127.0.0.1:1/ocpp/<station-id>" in done.stdout
    bad = subprocess.run(
        [*run, "--upstream", "http://x"], capture_output=True, text=True, cwd=ROOT, timeout=30
    )
    assert bad.returncode == 2 and "ws://" in bad.stderr
