"""Fixtures for the conformance suite: one emulated station, two independent CSMS implementations.

Every test drives an emulated `Station` over real websockets on loopback against a *CSMS
driver*, one interface over two implementations:

* ``builtin``: our own CSMS (`app.csms.csms.Csms`, started like `Session.start_csms` does);
* ``ocpp-lib``: a CSMS built on the independent `ocpp` library (mobilityhouse). Its parser,
  its JSON-schema validation of every request and response, and its call/response matching
  are the library's own; only its dataclass layer is bypassed (see `_LibPeer`).

Driver interface (what the tests use):

    await csms.call(station_id, action, payload)  -> response payload (dict), or raises the
                                                     app.protocol.errors class of a CALLERROR
    csms.received(action)                         -> request payloads the CSMS got, in order
    csms.boot_status / boot_interval / heartbeat_interval / token_status / default_token_status
                                                  -> what the CSMS answers, settable any time

`bench` bundles a Session on AcceleratedClock(10) with the driver and small helpers. At
teardown it checks that no frame captured at the station (both directions), at the built-in
CSMS or by the library's validator broke its schema: every test is also a validation test.

Requirement ids refer to OCPP 2.1 Edition 1 Part 2.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
from ocpp.exceptions import InternalError as LibInternalError
from ocpp.exceptions import OCPPError
from ocpp.exceptions import SecurityError as LibSecurityError
from ocpp.messages import Call as LibCall
from ocpp.messages import MessageType, validate_payload
from ocpp.v21 import ChargePoint as LibChargePoint
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from app.clock import AcceleratedClock, utc_timestamp
from app.csms.csms import Csms, CsmsConfig
from app.csms.responses import minimal_response
from app.inspector.records import CaptureRecord
from app.protocol.errors import CallTimeout, ConnectionLost, error_from_code
from app.protocol.schemas import OcppVersion
from app.session import Session
from app.station.config import ConnectorSpec, EvseSpec, StationConfig
from app.station.station import Station

# Small intervals so that simulated minutes pass in real tenths of a second (clock x10).
# No periodic meter values unless a test asks: event lists stay exact.
FAST: dict[str, str] = {
    "SampledDataCtrlr.TxUpdatedInterval": "0",
    "OCPPCommCtrlr.RetryBackOffWaitMinimum": "1",
    "OCPPCommCtrlr.RetryBackOffRandomRange": "0",
    "TxCtrlr.EVConnectionTimeOut": "600",
    # Clock-aligned values (every 900 s of simulated time) would add TransactionEvents at random
    # moments of the wall clock; tests that count events must not depend on the time of day.
    "AlignedDataCtrlr.Interval": "0",
}
# Messages a CSMS answers before the boot was accepted (B01.FR.10, B02.FR.09, B03.FR.07).
_BEFORE_ACCEPTED = frozenset({"BootNotification", "NotifyReport", "NotifyMonitoringReport"})


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "speed(factor): acceleration of the simulated clock (default 10)")


# ================================================================================ drivers


class CsmsDriver:
    """What both CSMS implementations offer the tests (see the module docstring)."""

    kind = "?"

    def __init__(self, session: Session) -> None:
        self.session = session
        self.boot_status = "Accepted"
        self.boot_interval = 2  # sent with Pending / Rejected
        self.heartbeat_interval = 300  # sent with Accepted
        self.default_token_status = "Accepted"
        self.token_status: dict[str, str] = {}  # idToken (case-insensitive) -> AuthorizationStatus
        self.url = ""
        self.port = 0

    async def start(self, port: int = 0) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError

    async def call(
        self, station_id: str, action: str, payload: dict[str, Any], *, timeout: float = 5.0
    ) -> dict[str, Any]:
        raise NotImplementedError

    def received(self, action: str | None = None, station_id: str | None = None) -> list[dict[str, Any]]:
        raise NotImplementedError

    def connected(self, station_id: str) -> bool:
        raise NotImplementedError

    def schema_problems(self) -> list[str]:
        return []

    def status_of(self, id_token: str) -> str:
        wanted = id_token.casefold()
        return next(
            (s for t, s in self.token_status.items() if t.casefold() == wanted), self.default_token_status
        )


class BuiltinCsms(CsmsDriver):
    """The built-in CSMS; its settings are written through to its CsmsConfig."""

    kind = "builtin"

    def __init__(self, session: Session) -> None:
        self._records: list[CaptureRecord] = []
        self.csms: Csms | None = None
        super().__init__(session)

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if getattr(self, "csms", None) is not None and name in _CONFIG_FIELDS:
            self._sync()

    def _sync(self) -> None:
        assert self.csms is not None
        c = self.csms.config
        c.boot_status, c.boot_retry_interval = self.boot_status, self.boot_interval
        c.heartbeat_interval, c.default_token_status = self.heartbeat_interval, self.default_token_status
        c.token_status = self.token_status

    def _capture(self, record: CaptureRecord) -> None:
        self._records.append(record)
        self.session.capture(record)

    async def start(self, port: int = 0) -> None:
        mirrors = self.session.csms.mirror_stations if self.session.csms else set(self.session.stations)
        self.csms = Csms(
            CsmsConfig(), clock=self.session.clock, capture=self._capture, mirror_stations=mirrors
        )
        self._sync()
        await self.csms.start("127.0.0.1", port)
        if self.session.csms is None:
            self.session.csms = self.csms  # the session's CSMS: stopped with it, mirrors kept
        self.url, self.port = self.csms.url, self.csms.port

    async def stop(self) -> None:
        if self.csms is not None:
            await self.csms.stop()

    async def call(
        self, station_id: str, action: str, payload: dict[str, Any], *, timeout: float = 5.0
    ) -> dict[str, Any]:
        assert self.csms is not None
        return await self.csms.call(station_id, action, payload, timeout=timeout)

    def received(self, action: str | None = None, station_id: str | None = None) -> list[dict[str, Any]]:
        return [
            r.payload
            for r in self._records
            if r.sender == "station"
            and r.message_type == 2
            and (action is None or r.action == action)
            and (station_id is None or r.station == station_id)
        ]

    def connected(self, station_id: str) -> bool:
        link = self.csms.stations.get(station_id) if self.csms else None
        return link is not None and link.connected

    def schema_problems(self) -> list[str]:
        return [f"{r.action}: {r.problems}" for r in self._records if r.problems]


_CONFIG_FIELDS = frozenset(
    {"boot_status", "boot_interval", "heartbeat_interval", "default_token_status", "token_status"}
)


class _LibPeer(LibChargePoint):
    """One station's connection at the `ocpp` library CSMS.

    Incoming CALLs: the library unpacks the frame and validates the request against its own
    schemas; the answer is the schema-minimal response (`minimal_response`) with the verdicts
    of the driver on top, validated by the library again before it goes out. The library's
    snake_case dataclasses are bypassed on purpose: their key conversion is lossy for some
    2.1 keys (e.g. "soc", "csms", "url"), and a generic CSMS needs none of them.
    """

    def __init__(self, station_id: str, ws: ServerConnection, driver: LibCsms, version: str) -> None:
        super().__init__(station_id, ws, response_timeout=5)
        self._ocpp_version = version  # "2.1" or "2.0.1": selects the library's schema set
        self.driver = driver
        self.ws = ws
        self.boot_status: str | None = None

    async def route_message(self, raw_msg: str) -> None:
        try:
            await super().route_message(raw_msg)
        except ConnectionClosed:
            raise
        except Exception as exc:  # keep serving; the test sees the failure at teardown
            self.driver.problems.append(f"{self.id}: {exc!r}")

    async def _handle_call(self, msg: LibCall) -> None:
        try:
            await validate_payload(msg, self._ocpp_version)
        except OCPPError as exc:
            self.driver.problems.append(f"{msg.action} request: {exc}")
            raise
        self.driver.log.append((self.id, msg.action, msg.payload))
        if self.boot_status != "Accepted" and msg.action not in _BEFORE_ACCEPTED:
            raise LibSecurityError(description=f"{msg.action} before the boot was accepted")
        answer = self.driver.answer(self, msg.action, msg.payload)
        if answer is None:
            return  # told to stay silent (E13)
        result = msg.create_call_result(answer)
        await validate_payload(result, self._ocpp_version)
        await self._send(result.to_json())

    async def raw_call(self, action: str, payload: dict[str, Any], timeout: float) -> dict[str, Any]:
        """A CALL through the library's framing, validation and response matching."""
        call = LibCall(unique_id=str(uuid.uuid4()), action=action, payload=payload)
        await validate_payload(call, self._ocpp_version)
        async with self._call_lock:
            await self._send(call.to_json())
            try:
                response = await self._get_specific_response(call.unique_id, timeout)
            except TimeoutError:
                raise CallTimeout(f"ocpp-lib: no answer to {action} within {timeout} s") from None
        if response.message_type_id == MessageType.CallError:
            raise error_from_code(response.error_code, response.error_description, response.error_details)
        response.action = action
        try:
            await validate_payload(response, self._ocpp_version)
        except OCPPError as exc:
            self.driver.problems.append(f"{action} response: {exc}")
            raise
        result: dict[str, Any] = response.payload
        return result


class LibCsms(CsmsDriver):
    """A CSMS on the `ocpp` library: a websockets server with one `_LibPeer` per station.

    Beyond the common interface it can misbehave: `silent[action] = n` leaves the next n
    requests of that action unanswered, `refuse[action] = n` answers them with CALLERROR
    InternalError (E13).
    """

    kind = "ocpp-lib"

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.peers: dict[str, _LibPeer] = {}
        self.log: list[tuple[str, str, dict[str, Any]]] = []
        self.problems: list[str] = []
        self.silent: dict[str, int] = {}
        self.refuse: dict[str, int] = {}
        self._server: Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self, port: int = 0) -> None:
        self._server = await serve(
            self._on_connect,
            "127.0.0.1",
            port,
            subprotocols=[Subprotocol("ocpp2.1"), Subprotocol("ocpp2.0.1")],
        )
        self.port = next(iter(self._server.sockets)).getsockname()[1]
        self.url = f"ws://127.0.0.1:{self.port}/ocpp"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _on_connect(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        station_id = ws.request.path.rstrip("/").rsplit("/", 1)[-1]
        version = {"ocpp2.1": "2.1", "ocpp2.0.1": "2.0.1"}[str(ws.subprotocol)]
        peer = _LibPeer(station_id, ws, self, version)
        previous = self.peers.get(station_id)
        if previous is not None:
            peer.boot_status = previous.boot_status  # a reconnect is not a reboot
        self.peers[station_id] = peer
        with contextlib.suppress(ConnectionClosed):
            await peer.start()

    def answer(self, peer: _LibPeer, action: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        for knob in (self.silent, self.refuse):
            if knob.get(action, 0) > 0:
                knob[action] -= 1
                if knob is self.silent:
                    return None
                raise LibInternalError(description=f"{action} not processed (test)")
        version = OcppVersion.V21 if peer._ocpp_version == "2.1" else OcppVersion.V201
        now = self.session.clock.now()
        response = minimal_response(version, action, now)
        if action == "BootNotification":
            peer.boot_status = self.boot_status
            response["status"] = self.boot_status
            accepted = self.boot_status == "Accepted"
            response["interval"] = self.heartbeat_interval if accepted else self.boot_interval
        elif action == "Authorize" or (action == "TransactionEvent" and "idToken" in payload):
            response["idTokenInfo"] = {"status": self.status_of(payload["idToken"]["idToken"])}
        elif action == "Heartbeat":
            response["currentTime"] = utc_timestamp(now)
        return response

    async def call(
        self, station_id: str, action: str, payload: dict[str, Any], *, timeout: float = 5.0
    ) -> dict[str, Any]:
        peer = self.peers.get(station_id)
        if peer is None or not self.connected(station_id):
            raise ConnectionLost(f"station {station_id} is not connected to the ocpp-lib CSMS")
        return await peer.raw_call(action, payload, timeout)

    def received(self, action: str | None = None, station_id: str | None = None) -> list[dict[str, Any]]:
        return [
            p
            for sid, a, p in self.log
            if (action is None or a == action) and (station_id is None or sid == station_id)
        ]

    def connected(self, station_id: str) -> bool:
        peer = self.peers.get(station_id)
        return peer is not None and peer.ws.state.name == "OPEN"

    def schema_problems(self) -> list[str]:
        return list(self.problems)


DRIVERS: dict[str, type[CsmsDriver]] = {"builtin": BuiltinCsms, "ocpp-lib": LibCsms}


# ================================================================================ bench


class Bench:
    """A session, a CSMS driver and the helpers every test needs."""

    def __init__(self, session: Session, csms: CsmsDriver) -> None:
        self.session = session
        self.csms = csms
        self.extra: list[CsmsDriver] = []

    async def station(
        self,
        station_id: str = "CS-1",
        *,
        overrides: dict[str, str] | None = None,
        evses: int = 1,
        connectors: list[list[str]] | None = None,
        versions: tuple[OcppVersion, ...] | None = None,
        data_transfer: dict[str, dict[str, object]] | None = None,
        call_timeout: float = 5.0,
        online: bool = True,
    ) -> Station:
        """Add and start a station; by default wait until its boot was accepted.

        `connectors`: connector types per EVSE, e.g. [["sType2"], ["cType2", "cCCS2"]].
        """
        shape = connectors or [["cType2"]] * evses
        config = StationConfig(
            station_id=station_id,
            csms_url=self.csms.url,
            evses=[EvseSpec([ConnectorSpec(t) for t in types]) for types in shape],
            overrides={**FAST, **(overrides or {})},
            data_transfer=data_transfer or {},
            call_timeout=call_timeout,
        )
        if versions:
            config.versions = versions
        station = self.session.add_station(config)
        if online:
            await self.until(lambda: station.online, 10)
        return station

    async def charging(self, station: Station, card: str = "CARD-1", evse: int = 1) -> str:
        """Plug in, tap a card, wait until energy flows; the transaction id."""
        await station.plug(evse)
        assert await station.tap(card, evse) == "Accepted"
        await self.until(lambda: station.evses[evse].transaction is not None)
        tx = station.evses[evse].transaction
        assert tx is not None
        await self.until(lambda: (r := station.evses[evse].reading) is not None and r.power_w > 0)
        await self.until(lambda: station.queued_events == 0)
        return tx.transaction_id

    async def second_csms(self) -> CsmsDriver:
        """Another CSMS of the same implementation on its own port (B09/B10)."""
        other = type(self.csms)(self.session)
        await other.start()
        self.extra.append(other)
        return other

    async def call(self, action: str, payload: dict[str, Any], station_id: str = "CS-1") -> dict[str, Any]:
        return await self.csms.call(station_id, action, payload)

    # -- what went over the wire, as seen at the station ------------------------------------

    def wire(
        self, action: str | None = None, *, sender: str | None = None, station_id: str | None = None
    ) -> list[CaptureRecord]:
        return [
            r
            for r in self.session.store
            if r.observer == "station"
            and (action is None or r.action == action)
            and (sender is None or r.sender == sender)
            and (station_id is None or r.station == station_id)
        ]

    def sent(self, action: str, station_id: str | None = None) -> list[dict[str, Any]]:
        """Payloads of the CALLs of `action` the station sent."""
        return [
            r.payload
            for r in self.wire(action, sender="station", station_id=station_id)
            if r.message_type == 2
        ]

    def calls(self, station_id: str | None = None) -> list[str]:
        """Actions of all CALLs the station sent, in order."""
        return [
            r.action or "?" for r in self.wire(sender="station", station_id=station_id) if r.message_type == 2
        ]

    def tx_events(self, station_id: str | None = None) -> list[dict[str, Any]]:
        return self.sent("TransactionEvent", station_id)

    def event_types(self, *, at_csms: bool = False) -> list[str]:
        """eventType of every TransactionEvent sent by the station (or received by the CSMS)."""
        events = self.csms.received("TransactionEvent") if at_csms else self.tx_events()
        return [e["eventType"] for e in events]

    def connector_states(self, station_id: str | None = None) -> list[tuple[int, int, str]]:
        """(evse, connector, state) of every availability report (NotifyEvent or StatusNotification)."""
        states: list[tuple[int, int, str]] = []
        for r in self.wire(sender="station", station_id=station_id):
            if r.message_type != 2:
                continue
            if r.action == "NotifyEvent":
                for e in r.payload["eventData"]:
                    if e["variable"]["name"] == "AvailabilityState" and "evse" in e["component"]:
                        ev = e["component"]["evse"]
                        states.append((ev["id"], ev.get("connectorId", 0), e["actualValue"]))
            elif r.action == "StatusNotification":
                p = r.payload
                states.append((p["evseId"], p["connectorId"], p["connectorStatus"]))
        return states

    def last_state(self, evse: int, connector: int = 1, station_id: str | None = None) -> str | None:
        found = [s for e, c, s in self.connector_states(station_id) if (e, c) == (evse, connector)]
        return found[-1] if found else None

    async def until(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        async with asyncio.timeout(timeout):
            while not (result := predicate()):
                await asyncio.sleep(0.01)
        return result

    async def settle(self, simulated_seconds: float = 1.0) -> None:
        """Let `simulated_seconds` of station time pass (for "nothing happens" checks)."""
        await self.session.clock.sleep(simulated_seconds)

    def in_future(self, seconds: float) -> str:
        return utc_timestamp(self.session.clock.now() + timedelta(seconds=seconds))

    def schema_problems(self) -> list[str]:
        station_side = [f"{r.station} {r.action}: {r.problems}" for r in self.session.store if r.problems]
        drivers = [p for d in (self.csms, *self.extra) for p in d.schema_problems()]
        return station_side + drivers


def free_port() -> int:
    """A port nothing listens on (for an unreachable CSMS URL)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def token(value: str, kind: str = "ISO14443") -> dict[str, str]:
    return {"idToken": value, "type": kind}


# ================================================================================ fixtures


@pytest.fixture
async def session(request: pytest.FixtureRequest) -> AsyncIterator[Session]:
    marker = request.node.get_closest_marker("speed")
    s = Session(clock=AcceleratedClock(float(marker.args[0]) if marker else 10.0))
    yield s
    await s.stop()


@pytest.fixture(params=list(DRIVERS))
async def csms(request: pytest.FixtureRequest, session: Session) -> AsyncIterator[CsmsDriver]:
    """Both CSMS implementations, one interface (see the module docstring)."""
    driver = DRIVERS[request.param](session)
    await driver.start()
    yield driver
    await driver.stop()


@pytest.fixture
async def lib_csms(session: Session) -> AsyncIterator[CsmsDriver]:
    """Only the ocpp-library CSMS: for scenarios the built-in CSMS cannot play (it always
    answers, and always validly)."""
    driver = LibCsms(session)
    await driver.start()
    yield driver
    await driver.stop()


async def _bench(session: Session, driver: CsmsDriver) -> AsyncIterator[Bench]:
    b = Bench(session, driver)
    yield b
    for station in list(session.stations.values()):
        await station.stop()
    for other in b.extra:
        await other.stop()
    problems = b.schema_problems()
    assert problems == [], f"frames that broke their schema: {problems}"


@pytest.fixture
async def bench(session: Session, csms: CsmsDriver) -> AsyncIterator[Bench]:
    async for b in _bench(session, csms):
        yield b


@pytest.fixture
async def lib_bench(session: Session, lib_csms: CsmsDriver) -> AsyncIterator[Bench]:
    async for b in _bench(session, lib_csms):
        yield b
