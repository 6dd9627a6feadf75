"""Websocket transport (app/transport/client.py, server.py) on loopback.

Part 4 §3.1.1 (connection URL, percent-encoded identity), §3.1.2/§3.3 (subprotocol negotiation;
no acceptable version: handshake without the header, then close), §8.1-§8.3 (reconnect back-off);
Part 2 security profiles 1-3 (HTTP Basic auth, TLS server certificate, client certificate).
"""

from __future__ import annotations

import asyncio
import base64
import random
import ssl
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect as ws_connect
from websockets.asyncio.server import Server, ServerConnection

from app.protocol.schemas import OcppVersion
from app.transport.client import (
    ClientSettings,
    ConnectError,
    backoff_delays,
    basic_auth_header,
    open_station_socket,
    station_url,
)
from app.transport.server import (
    SERVER_VERSIONS,
    Authenticator,
    ServerSettings,
    basic_auth_password,
    start_server,
    station_id_from_path,
)
from tests.helpers_ws import server_port

V21, V201, V16 = OcppVersion.V21, OcppVersion.V201, OcppVersion.V16


class Listener:
    """start_server with a handler that records who connected and then holds the socket open."""

    def __init__(self) -> None:
        self.arrived: asyncio.Queue[tuple[str, OcppVersion, str]] = asyncio.Queue()
        self.server: Server | None = None

    async def on_station(self, ws: ServerConnection, station_id: str, version: OcppVersion) -> None:
        assert ws.request is not None
        self.arrived.put_nowait((station_id, version, ws.request.path))
        await ws.wait_closed()

    async def start(
        self,
        versions: Sequence[OcppVersion] = SERVER_VERSIONS,
        authenticate: Authenticator | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> int:
        settings = ServerSettings(
            port=0, versions=versions, authenticate=authenticate, ssl_context=ssl_context
        )
        self.server = await start_server(self.on_station, settings)
        return server_port(self.server)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    lst = Listener()
    yield lst
    await lst.stop()


async def connect(port: int, station_id: str = "CP1", scheme: str = "ws", **kwargs: object) -> OcppVersion:
    settings = ClientSettings(f"{scheme}://127.0.0.1:{port}/ocpp", station_id, open_timeout=5, **kwargs)  # type: ignore[arg-type]
    ws, version = await open_station_socket(settings)
    await ws.close()
    return version


# ------------------------------------------------------------ §3.1.2 / §3.3 version negotiation


async def test_station_offering_21_and_201_gets_21(listener: Listener) -> None:
    port = await listener.start()
    assert await connect(port, versions=(V21, V201)) is V21
    assert (await listener.arrived.get())[1] is V21


async def test_server_limited_to_201_picks_201(listener: Listener) -> None:
    port = await listener.start(versions=(V201,))
    assert await connect(port, versions=(V21, V201)) is V201
    assert (await listener.arrived.get())[1] is V201


async def test_offering_no_supported_version_is_a_readable_connect_error(listener: Listener) -> None:
    port = await listener.start(versions=(V21,))
    with pytest.raises(ConnectError) as info:
        await connect(port, versions=(V16, V201))
    message = str(info.value)
    assert "accepted none of the offered OCPP versions" in message
    assert "ocpp1.6" in message and "ocpp2.0.1" in message
    assert listener.arrived.empty()  # the application never saw this station


async def test_server_completes_handshake_without_subprotocol_then_closes(listener: Listener) -> None:
    # §3.3: no acceptable version -> 101 without Sec-WebSocket-Protocol, then close at once.
    port = await listener.start(versions=(V21, V201))
    async with ws_connect(f"ws://127.0.0.1:{port}/ocpp/CP1", subprotocols=["ocpp1.6"]) as ws:  # type: ignore[list-item]
        assert ws.response is not None
        assert ws.response.status_code == 101
        assert "Sec-WebSocket-Protocol" not in ws.response.headers
        assert ws.subprotocol is None
        await asyncio.wait_for(ws.wait_closed(), 2)
        assert ws.close_code == 1002
    assert listener.arrived.empty()


# ------------------------------------------------------------ §3.1.1 connection URL


def test_station_url_percent_encodes_the_identity() -> None:
    assert (
        station_url("wss://csms.example.com/ocppj", "RDAM|123") == "wss://csms.example.com/ocppj/RDAM%7C123"
    )
    assert station_url("ws://h:9000/ocpp/", "CP|1") == "ws://h:9000/ocpp/CP%7C1"
    assert station_url("ws://h/ocpp", "a/b c") == "ws://h/ocpp/a%2Fb%20c"


@pytest.mark.parametrize(
    ("path", "station_id"),
    [
        ("/ocpp/CP%7C1", "CP|1"),
        ("/ocpp/CS001/", "CS001"),
        ("/CS1?token=x", "CS1"),
        ("/a/b/a%2Fb%20c", "a/b c"),
    ],
)
def test_station_id_from_path_decodes_the_last_segment(path: str, station_id: str) -> None:
    assert station_id_from_path(path) == station_id


async def test_identity_travels_encoded_and_arrives_decoded(listener: Listener) -> None:
    port = await listener.start()
    await connect(port, station_id="CP|1")
    station_id, _, path = await listener.arrived.get()
    assert path == "/ocpp/CP%7C1"
    assert station_id == "CP|1"


async def test_identity_with_colon_is_refused_before_connecting() -> None:
    with pytest.raises(ConnectError, match="must not contain ':'") as info:
        await connect(1, station_id="CP:1")
    assert info.value.retryable is False


async def test_url_without_station_segment_gets_404() -> None:
    lst = Listener()
    port = await lst.start()
    try:
        with pytest.raises(ConnectError, match="404"):
            await open_station_socket(ClientSettings(f"ws://127.0.0.1:{port}", "", open_timeout=5))
    finally:
        await lst.stop()


async def test_unreachable_csms_is_a_readable_connect_error() -> None:
    lst = Listener()
    port = await lst.start()
    await lst.stop()  # the port is free again: nobody listens there now
    with pytest.raises(ConnectError, match=r"cannot reach ws://127\.0\.0\.1") as info:
        await connect(port)
    assert info.value.retryable


async def test_non_websocket_url_is_refused() -> None:
    with pytest.raises(ConnectError, match="ws:// or wss://") as info:
        await open_station_socket(ClientSettings("http://127.0.0.1:1/ocpp", "CP1"))
    assert not info.value.retryable


# ------------------------------------------------------------ security profile 1: HTTP Basic auth


def test_basic_auth_header_round_trip() -> None:
    header = basic_auth_header("CP|1", "0123456789abcdef")
    assert header == "Basic " + base64.b64encode(b"CP|1:0123456789abcdef").decode()
    assert basic_auth_password(header, "CP|1") == "0123456789abcdef"
    assert basic_auth_password(header, "CP2") is None  # user must be the station identity
    assert basic_auth_password("Basic !!!", "CP|1") is None
    assert basic_auth_password("Bearer abc", "CP|1") is None
    assert basic_auth_password(None, "CP|1") is None


async def test_basic_auth_accepted_and_refused(listener: Listener) -> None:
    seen: list[tuple[str, str | None]] = []

    def authenticate(station_id: str, password: str | None) -> bool:
        seen.append((station_id, password))
        return password == "right-password-0123"

    port = await listener.start(authenticate=authenticate)
    assert await connect(port, station_id="CP|1", password="right-password-0123") is V21
    assert (await listener.arrived.get())[0] == "CP|1"

    with pytest.raises(ConnectError, match="refused the credentials") as info:
        await connect(port, station_id="CP|1", password="wrong-password-0123")
    assert "401" in str(info.value)
    with pytest.raises(ConnectError, match="401"):
        await connect(port, station_id="CP|1")  # no Authorization header at all
    assert seen == [("CP|1", "right-password-0123"), ("CP|1", "wrong-password-0123"), ("CP|1", None)]
    assert listener.arrived.empty()


# ------------------------------------------------------------ security profiles 2/3: TLS


def trustme_module() -> Any:
    # Only the TLS tests need it (certificates made per run); the rest of the file runs without.
    return pytest.importorskip("trustme", reason="TLS tests need trustme (dev dependency)")


@pytest.fixture(scope="module")
def ca() -> Any:
    return trustme_module().CA()


@pytest.fixture
def server_tls(ca: Any) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(ctx)
    return ctx


def write_ca(ca: Any, tmp_path: Path, name: str = "ca.pem") -> str:
    path = tmp_path / name
    ca.cert_pem.write_to_path(str(path))
    return str(path)


async def test_wss_verifies_with_the_right_ca(
    listener: Listener, ca: Any, server_tls: ssl.SSLContext, tmp_path: Path
) -> None:
    port = await listener.start(ssl_context=server_tls)
    assert (
        await connect(port, scheme="wss", ca_file=write_ca(ca, tmp_path), password="pw-0123456789abcd") is V21
    )


async def test_wss_with_the_wrong_ca_fails_clearly(
    listener: Listener, server_tls: ssl.SSLContext, tmp_path: Path
) -> None:
    port = await listener.start(ssl_context=server_tls)
    other = write_ca(trustme_module().CA(), tmp_path, "other-ca.pem")
    with pytest.raises(ConnectError) as info:
        await connect(port, scheme="wss", ca_file=other)
    assert str(info.value).startswith("TLS: the CSMS certificate was not accepted")
    assert "certificate" in str(info.value).split(":", 2)[-1]  # OpenSSL's reason is kept
    assert listener.arrived.empty()


async def test_wss_certificate_for_another_host_fails_clearly(
    listener: Listener, ca: Any, tmp_path: Path
) -> None:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("csms.example.com").configure_cert(ctx)
    port = await listener.start(ssl_context=ctx)
    with pytest.raises(ConnectError, match=r"TLS: the CSMS certificate was not accepted.*(?i:mismatch)"):
        await connect(port, scheme="wss", ca_file=write_ca(ca, tmp_path))


async def test_wss_without_verification_connects(
    listener: Listener, server_tls: ssl.SSLContext, tmp_path: Path
) -> None:
    port = await listener.start(ssl_context=server_tls)
    other = write_ca(trustme_module().CA(), tmp_path, "other-ca.pem")
    assert await connect(port, scheme="wss", ca_file=other, verify_tls=False) is V21
    assert not listener.arrived.empty()


async def test_wss_client_certificate_profile_3(
    listener: Listener, ca: Any, server_tls: ssl.SSLContext, tmp_path: Path
) -> None:
    server_tls.verify_mode = ssl.CERT_REQUIRED
    ca.configure_trust(server_tls)
    port = await listener.start(ssl_context=server_tls)
    client = ca.issue_cert("CP1-serial")
    cert_file = tmp_path / "station.pem"
    client.private_key_and_cert_chain_pem.write_to_path(str(cert_file))
    assert (
        await connect(port, scheme="wss", ca_file=write_ca(ca, tmp_path), client_cert=str(cert_file)) is V21
    )
    # Without its certificate the same station cannot get in.
    with pytest.raises(ConnectError):
        await connect(port, scheme="wss", ca_file=write_ca(ca, tmp_path))


# ------------------------------------------------------------ §8.1-§8.3 reconnect back-off


def first(n: int, delays: object) -> list[float]:
    it = iter(delays)  # type: ignore[call-overload]
    return [next(it) for _ in range(n)]


def test_backoff_doubles_repeat_times_then_holds() -> None:
    assert first(7, backoff_delays(1.0, 0.0, 3)) == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0, 8.0]
    assert first(4, backoff_delays(5.0, 0.0, 1)) == [5.0, 10.0, 10.0, 10.0]
    assert first(3, backoff_delays(2.0, 0.0, 0)) == [2.0, 2.0, 2.0]


def test_backoff_adds_jitter_within_random_range_to_every_wait() -> None:
    delays = first(8, backoff_delays(10.0, 3.0, 2, rng=random.Random(7)))
    bases = [10.0, 20.0, 40.0, 40.0, 40.0, 40.0, 40.0, 40.0]
    assert all(base <= d <= base + 3.0 for d, base in zip(delays, bases, strict=True))
    assert len({round(d - b, 6) for d, b in zip(delays, bases, strict=True)}) > 1  # jitter varies
    assert delays == first(8, backoff_delays(10.0, 3.0, 2, rng=random.Random(7)))  # seedable


def test_backoff_with_zero_minimum_still_grows() -> None:
    delays = first(4, backoff_delays(0.0, 0.0, 2))
    assert delays[0] == 0.0
    assert delays[1] > 0 and delays[2] == 2 * delays[1] and delays[3] == delays[2]
