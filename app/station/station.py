"""An emulated OCPP 2.1 / 2.0.1 charging station.

The station owns its connection life (connect, boot, heartbeat, reconnect with the
RetryBackOff* variables), its EVSEs and their physics, and the transaction rules. Everything
it does is driven by its device model, as on a real charger: change HeartbeatInterval or
TxUpdatedInterval through SetVariables and the behaviour follows.

User actions (plug, unplug, tap a card) are coroutines so the window, the CLI and scenarios
drive the station the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from app.clock import Clock, utc_timestamp
from app.inspector.records import CaptureRecord
from app.protocol.errors import CallTimeout, ConnectionLost, OcppError
from app.protocol.schemas import OcppVersion
from app.signals import Signal
from app.station.config import StationConfig
from app.station.device_model import DeviceModel
from app.station.ev import EVModel
from app.station.evse import ChargingState, ConnectorStatus, Evse, Transaction
from app.station.handlers import StationHandlers
from app.station.meter import EvseElectrics
from app.station.sampled_values import build_meter_value
from app.transport.client import ClientSettings, ConnectError, backoff_delays, open_station_socket
from app.transport.connection import OcppConnection

log = logging.getLogger(__name__)


class LinkState(StrEnum):
    STOPPED = "Stopped"
    CONNECTING = "Connecting"
    CONNECTED = "Connected"  # socket open, boot not accepted yet
    ONLINE = "Online"  # boot accepted
    OFFLINE = "Offline"  # lost the CSMS, retrying


@dataclass(slots=True)
class QueuedEvent:
    """A TransactionEvent waiting for the CSMS (E11-E13): created once, sent until answered."""

    payload: dict[str, Any]
    attempts: int = 0


class Station:
    def __init__(
        self,
        config: StationConfig,
        *,
        clock: Clock | None = None,
        capture: Callable[[CaptureRecord], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.clock = clock or Clock()
        self.capture = capture
        self.rng = rng or random.Random()
        self.dm = DeviceModel.standard(
            [1] * config.evse_count,
            vendor=config.vendor,
            model=config.model,
            serial=config.serial_number or config.station_id,
            firmware=config.firmware_version,
            supply_phases=config.phases,
            evse_max_power_w=config.max_current_a * 230.0 * config.phases,
            connector_type=config.connector_type,
        )
        if config.overrides:
            self.dm.apply_overrides(config.overrides)
        self.evses: dict[int, Evse] = {
            n: Evse(
                n,
                EvseElectrics(max_current_a=config.max_current_a, phases=config.phases, seed=n),
                connector_type=config.connector_type,
            )
            for n in range(1, config.evse_count + 1)
        }
        self.state = LinkState.STOPPED
        self.version: OcppVersion | None = None
        self.boot_status: str | None = None
        self.last_error = ""
        self.connection: OcppConnection | None = None
        self.handlers = StationHandlers(self)
        self._queue: deque[QueuedEvent] = deque()
        self._queue_wake = asyncio.Event()
        self._activity = asyncio.Event()  # any message sent: resets the heartbeat timer
        self._last_sent = 0.0
        self._booted_once = False
        self._boot_reason = "PowerUp"
        self._tasks: set[asyncio.Task[Any]] = set()
        self._run_task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._pending_remote_start: dict[int, int] = {}  # evse id -> remoteStartId awaiting a tx
        self._event_id = 0
        # Signals, fired after state changed.
        self.state_changed: Signal[[Station]] = Signal()
        self.evse_changed: Signal[[Evse]] = Signal()

    # ================================================================== lifecycle

    @property
    def station_id(self) -> str:
        return self.config.station_id

    @property
    def online(self) -> bool:
        return self.state is LinkState.ONLINE

    def start(self) -> asyncio.Task[None]:
        """Run the station in the background until `stop()`."""
        if self._run_task is None or self._run_task.done():
            self._stop.clear()
            self._run_task = asyncio.create_task(self.run(), name=f"station-{self.station_id}")
        return self._run_task

    async def stop(self) -> None:
        self._stop.set()
        if self.connection is not None:
            await self.connection.close(1000, "station stopped")
        if self._run_task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._run_task, 5)
        self._set_state(LinkState.STOPPED)

    async def run(self) -> None:
        """Connect, boot, serve; on loss retry with the device model's back-off, until stopped."""
        ticker = self._spawn(self._tick_loop(), "physics")
        sender = self._spawn(self._queue_loop(), "tx-queue")
        delays = self._new_backoff()
        try:
            while not self._stop.is_set():
                self._set_state(LinkState.CONNECTING)
                try:
                    ws, version = await open_station_socket(self._client_settings())
                except ConnectError as exc:
                    self.last_error = str(exc)
                    log.warning("%s: %s", self.station_id, exc)
                    self._set_state(LinkState.OFFLINE)
                    if not exc.retryable:
                        return
                    await self._wait_or_stop(next(delays))
                    continue
                delays = self._new_backoff()  # errata: reset to the minimum after a good connect
                self.last_error = ""
                await self._serve(ws, version)
                if not self._stop.is_set():
                    self._set_state(LinkState.OFFLINE)
                    await self._wait_or_stop(next(delays))
        finally:
            ticker.cancel()
            sender.cancel()
            self._set_state(LinkState.STOPPED)

    async def reconnect(self) -> None:
        """Drop the socket now (the run loop reconnects): what a tester does to simulate a blip."""
        if self.connection is not None:
            await self.connection.close(1001, "reconnect requested")

    def _new_backoff(self) -> Any:
        return backoff_delays(
            self.dm.get_int("OCPPCommCtrlr", "RetryBackOffWaitMinimum"),
            self.dm.get_int("OCPPCommCtrlr", "RetryBackOffRandomRange"),
            self.dm.get_int("OCPPCommCtrlr", "RetryBackOffRepeatTimes"),
            self.rng,
        )

    def _client_settings(self) -> ClientSettings:
        c = self.config
        return ClientSettings(
            csms_url=c.csms_url,
            station_id=c.station_id,
            versions=c.versions,
            password=c.password,
            ca_file=c.ca_file,
            verify_tls=c.verify_tls,
            client_cert=c.client_cert,
            client_key=c.client_key,
            ping_interval=float(self.dm.get_int("OCPPCommCtrlr", "WebSocketPingInterval")) or None,
        )

    async def _wait_or_stop(self, seconds: float) -> None:
        await self.clock.wait(self._stop, seconds)

    async def _serve(self, ws: Any, version: OcppVersion) -> None:
        self.version = version
        conn = OcppConnection(
            ws,
            version,
            station_id=self.station_id,
            local_role="station",
            clock=self.clock,
            capture=self._capture,
            handler=self.handlers.handle,
            call_timeout=self.config.call_timeout,
            connection_name=f"{self.station_id}@station",
        )
        self.connection = conn
        self._set_state(LinkState.CONNECTED)
        reader = self._spawn(conn.run(), "reader")
        session = self._spawn(self._session(conn), "session")
        try:
            await reader
        finally:
            session.cancel()
            self.connection = None

    def _capture(self, record: CaptureRecord) -> None:
        if record.sender == "station":
            self._last_sent = self.clock.monotonic()
            self._activity.set()
        if self.capture is not None:
            self.capture(record)

    # ================================================================== session

    async def _session(self, conn: OcppConnection) -> None:
        """Boot (unless this is a mere reconnect), report connectors, then heartbeat."""
        if not (self._booted_once and self.boot_status == "Accepted") and not await self._boot(conn):
            return
        self._set_state(LinkState.ONLINE)
        self._queue_wake.set()
        await self._report_all_connectors(conn)
        await self._heartbeat_loop(conn)

    async def _boot(self, conn: OcppConnection) -> bool:
        """BootNotification until Accepted, honouring the interval of Pending / Rejected (B02, B03)."""
        while not conn.closed:
            payload = {
                "reason": self._boot_reason,
                "chargingStation": {
                    "vendorName": self.config.vendor,
                    "model": self.config.model,
                    "serialNumber": self.config.serial_number,
                    "firmwareVersion": self.config.firmware_version,
                },
            }
            try:
                response = await conn.call("BootNotification", payload)
            except (CallTimeout, OcppError) as exc:
                self.last_error = f"BootNotification: {exc}"
                await self.clock.sleep(self.dm.get_int("OCPPCommCtrlr", "RetryBackOffWaitMinimum") or 30)
                continue
            except ConnectionLost:
                return False
            self.boot_status = response["status"]
            self._set_state(self.state)
            interval = int(response.get("interval", 0))
            if self.boot_status == "Accepted":
                self._booted_once = True
                self._boot_reason = "PowerUp"
                if interval > 0:
                    self.dm.set_actual("OCPPCommCtrlr", "HeartbeatInterval", str(interval))
                return True
            # Pending / Rejected: wait the interval (or our own back-off when 0) and try again.
            wait = (
                interval
                if interval > 0
                else self.dm.get_int("OCPPCommCtrlr", "RetryBackOffWaitMinimum") or 30
            )
            await self.clock.sleep(wait)
        return False

    async def _heartbeat_loop(self, conn: OcppConnection) -> None:
        """Heartbeat after HeartbeatInterval seconds without any other message (G02)."""
        while not conn.closed:
            interval = self.dm.get_int("OCPPCommCtrlr", "HeartbeatInterval")
            if interval <= 0:
                self._activity.clear()
                await self._activity.wait()
                continue
            due = self._last_sent + interval
            remaining = due - self.clock.monotonic()
            if remaining > 0:
                self._activity.clear()
                await self.clock.wait(self._activity, remaining)
                continue
            with contextlib.suppress(CallTimeout, OcppError, ConnectionLost):
                await conn.call("Heartbeat", {})
            self._last_sent = self.clock.monotonic()

    async def _report_all_connectors(self, conn: OcppConnection) -> None:
        for evse in self.evses.values():
            await self._report_status(evse, force=True)

    async def _report_status(self, evse: Evse, *, force: bool = False) -> None:
        """Tell the CSMS the connector's availability: NotifyEvent on 2.1 (StatusNotification is
        deprecated there), StatusNotification on 2.0.1."""
        status = evse.derived_status()
        evse.status = status
        self.dm.set_actual(
            "Connector", "AvailabilityState", status.value, evse=evse.evse_id, connector=evse.connector_id
        )
        self.evse_changed.emit(evse)
        conn = self.connection
        if conn is None or not self.online or (status == evse.reported_status and not force):
            return
        now = utc_timestamp(self.clock.now())
        try:
            if conn.version is OcppVersion.V21:
                await conn.call(
                    "NotifyEvent",
                    {
                        "generatedAt": now,
                        "seqNo": 0,
                        "eventData": [
                            {
                                "eventId": self._next_event_id(),
                                "timestamp": now,
                                "trigger": "Delta",
                                "actualValue": status.value,
                                "eventNotificationType": "HardWiredNotification",
                                "component": {
                                    "name": "Connector",
                                    "evse": {"id": evse.evse_id, "connectorId": evse.connector_id},
                                },
                                "variable": {"name": "AvailabilityState"},
                            }
                        ],
                    },
                )
            else:
                await conn.call(
                    "StatusNotification",
                    {
                        "timestamp": now,
                        "connectorStatus": status.value,
                        "evseId": evse.evse_id,
                        "connectorId": evse.connector_id,
                    },
                )
            evse.reported_status = status
        except (CallTimeout, OcppError, ConnectionLost) as exc:
            log.info("%s: status report failed: %s", self.station_id, exc)

    def _next_event_id(self) -> int:
        self._event_id += 1
        return self._event_id

    # ================================================================== transaction queue

    def _enqueue(self, payload: dict[str, Any]) -> None:
        if not self.online:
            payload["offline"] = True  # E11/E12: queued while the CSMS was unreachable
        self._queue.append(QueuedEvent(payload))
        self._queue_wake.set()

    @property
    def queued_events(self) -> int:
        return len(self._queue)

    async def _queue_loop(self) -> None:
        """Send queued TransactionEvents in order, one at a time, retrying per E13."""
        while True:
            if not self._queue or not self.online or self.connection is None:
                self._queue_wake.clear()
                await self._queue_wake.wait()
                continue
            item = self._queue[0]
            conn = self.connection
            item.attempts += 1
            try:
                response = await conn.call("TransactionEvent", item.payload)
            except ConnectionLost:
                item.attempts -= 1  # not an attempt: it never reached the CSMS
                continue
            except CallTimeout:
                attempts = self.dm.get_int("OCPPCommCtrlr", "MessageAttempts", instance="TransactionEvent")
                if item.attempts < attempts:
                    interval = self.dm.get_int(
                        "OCPPCommCtrlr", "MessageAttemptInterval", instance="TransactionEvent"
                    )
                    await self.clock.sleep(interval * item.attempts)
                    continue
                log.warning("%s: TransactionEvent dropped after %d attempts", self.station_id, item.attempts)
            except OcppError as exc:
                log.warning("%s: CSMS refused TransactionEvent: %s", self.station_id, exc)
            else:
                self._on_transaction_response(item.payload, response)
            if self._queue and self._queue[0] is item:
                self._queue.popleft()

    def _on_transaction_response(self, request: dict[str, Any], response: dict[str, Any]) -> None:
        info = response.get("idTokenInfo")
        if not info or info.get("status") == "Accepted":
            return
        tx_id = request["transactionInfo"]["transactionId"]
        for evse in self.evses.values():
            tx = evse.transaction
            if (
                tx is not None
                and tx.transaction_id == tx_id
                and self.dm.get_bool("TxCtrlr", "StopTxOnInvalidId")
            ):
                evse.message = f"Card refused by CSMS: {info['status']}"
                self._spawn(self._deauthorize(evse, "Deauthorized", "DeAuthorized"), "deauthorize")

    # ================================================================== user actions

    async def plug(self, evse_id: int, ev: EVModel | None = None) -> None:
        """The driver plugs an EV into the EVSE's connector."""
        evse = self._evse(evse_id)
        if evse.plugged:
            return
        evse.plugged = True
        evse.ev = ev or EVModel.typical_ac()
        evse.message = "EV connected: present a card" if evse.authorized is None else "Starting…"
        await self._report_status(evse)
        await self._evaluate(evse, "CablePluggedIn")

    async def unplug(self, evse_id: int) -> None:
        evse = self._evse(evse_id)
        if not evse.plugged:
            return
        evse.plugged = False
        await self._evaluate(evse, "EVCommunicationLost", stopped_reason="EVDisconnected")
        evse.ev = None
        if evse.transaction is None:
            evse.authorized = None
            evse.message = "Available: plug in or present a card"
        await self._report_status(evse)

    async def tap(self, id_token: str, evse_id: int | None = None, token_type: str = "ISO14443") -> str:
        """A card at the reader: stops the transaction it started, otherwise authorizes.

        Returns the authorization status shown on the station's display.
        """
        token = {"idToken": id_token, "type": token_type}
        for evse in self.evses.values():
            auth = evse.authorized
            if (
                auth is not None
                and auth["idToken"].upper() == id_token.upper()
                and (evse_id in (None, evse.evse_id))
            ):
                evse.message = "Card accepted: stopping"
                await self._deauthorize(evse, "StopAuthorized", "Local")
                return "Accepted"
        target = self._pick_evse_for_token(evse_id)
        if target is None:
            return "NoEVSE"
        status = await self._authorize(token)
        if status != "Accepted":
            target.message = f"Card refused: {status}"
            self.evse_changed.emit(target)
            return status
        target.authorized = token
        target.authorized_at = self.clock.monotonic()
        target.message = (
            "Card accepted: plug in your EV" if not target.plugged else "Card accepted: charging starts"
        )
        await self._evaluate(target, "Authorized")
        if not target.plugged:
            self._spawn(self._connection_timeout(target, target.authorized_at), "ev-connect-timeout")
        return status

    def _pick_evse_for_token(self, evse_id: int | None) -> Evse | None:
        if evse_id is not None:
            return self._evse(evse_id)
        candidates = [e for e in self.evses.values() if e.operative and e.authorized is None]
        plugged = [e for e in candidates if e.plugged]
        return (plugged or candidates or [None])[0]

    async def _authorize(self, token: dict[str, Any]) -> str:
        conn = self.connection
        if conn is None or not self.online:
            # Offline: without a local list (issue 3) only OfflineTxForUnknownIdEnabled helps.
            return "Accepted" if self.dm.get_bool("AuthCtrlr", "OfflineTxForUnknownIdEnabled") else "Unknown"
        try:
            response = await conn.call("Authorize", {"idToken": token})
        except (CallTimeout, ConnectionLost):
            return "Accepted" if self.dm.get_bool("AuthCtrlr", "OfflineTxForUnknownIdEnabled") else "Unknown"
        except OcppError as exc:
            log.info("%s: Authorize failed: %s", self.station_id, exc)
            return "Invalid"
        return str(response["idTokenInfo"]["status"])

    async def _connection_timeout(self, evse: Evse, authorized_at: float | None) -> None:
        """EVConnectionTimeOut: authorized but never plugged in (E03 alt., trigger EVConnectTimeout)."""
        timeout = self.dm.get_int("TxCtrlr", "EVConnectionTimeOut")
        if timeout <= 0:
            return
        await self.clock.sleep(timeout)
        if evse.authorized_at == authorized_at and not evse.plugged and evse.authorized is not None:
            evse.message = "No EV connected in time: authorization expired"
            await self._deauthorize(evse, "EVConnectTimeout", "Timeout")

    async def _deauthorize(self, evse: Evse, trigger: str, stopped_reason: str) -> None:
        evse.authorized = None
        evse.authorized_at = None
        await self._evaluate(evse, trigger, stopped_reason=stopped_reason)
        if not evse.plugged and evse.transaction is None:
            evse.message = "Available: plug in or present a card"
        self.evse_changed.emit(evse)

    async def remote_start(self, evse: Evse, token: dict[str, Any], remote_start_id: int) -> None:
        """Act on an accepted RequestStartTransaction (F01/F02), after the response went out."""
        if self.dm.get_bool("AuthCtrlr", "AuthorizeRemoteStart"):
            status = await self._authorize(token)
            if status != "Accepted":
                evse.message = f"Remote start refused: {status}"
                self.evse_changed.emit(evse)
                return
        evse.authorized = token
        evse.authorized_at = self.clock.monotonic()
        evse.message = "Remote start: plug in your EV" if not evse.plugged else "Remote start: charging"
        if evse.transaction is not None:
            evse.transaction.remote_start_id = remote_start_id
        else:
            self._pending_remote_start[evse.evse_id] = remote_start_id
        await self._evaluate(evse, "RemoteStart")
        if not evse.plugged:
            self._spawn(self._connection_timeout(evse, evse.authorized_at), "ev-connect-timeout")

    async def remote_stop(self, evse: Evse) -> None:
        evse.message = "Stopped by the operator"
        await self._deauthorize(evse, "RemoteStop", "Remote")

    # ================================================================== transaction rules

    async def _evaluate(self, evse: Evse, trigger: str, *, stopped_reason: str = "Local") -> None:
        """Start, update or end the EVSE's transaction after a change (TxStartPoint/TxStopPoint)."""
        now = evse.conditions()
        tx = evse.transaction
        if tx is None:
            if set(self.dm.get_list("TxCtrlr", "TxStartPoint")) & now:
                self._start_transaction(evse, trigger)
        elif self._stop_condition_lost(tx, now):
            self._end_transaction(evse, trigger, stopped_reason)
        else:
            self._send_event(evse, "Updated", trigger)
        self.evse_changed.emit(evse)

    def _stop_condition_lost(self, tx: Transaction, now: set[str]) -> bool:
        tx.conditions_seen |= now
        return bool((set(self.dm.get_list("TxCtrlr", "TxStopPoint")) & tx.conditions_seen) - now)

    def _start_transaction(self, evse: Evse, trigger: str) -> None:
        tx = Transaction(str(uuid.uuid4()), self.clock.now())
        tx.last_periodic = self.clock.monotonic()
        remote = self._pending_remote_start.pop(evse.evse_id, None)
        if remote is not None:
            tx.remote_start_id = remote
            trigger = "RemoteStart"
        tx.conditions_seen = evse.conditions()
        evse.transaction = tx
        evse.last_transaction_id = tx.transaction_id
        self._send_event(evse, "Started", trigger)

    def _end_transaction(self, evse: Evse, trigger: str, stopped_reason: str) -> None:
        self._send_event(evse, "Ended", trigger, stopped_reason=stopped_reason)
        evse.transaction = None
        if evse.scheduled_operative is not None:
            evse.operative, evse.scheduled_operative = evse.scheduled_operative, None
        if evse.plugged:
            evse.message = "Transaction ended: unplug the EV"
        self._spawn(self._report_status(evse), "status")

    def _send_event(
        self, evse: Evse, event_type: str, trigger: str, *, stopped_reason: str | None = None
    ) -> None:
        tx = evse.transaction
        assert tx is not None
        # Physics first, so the values in this event are those of this instant.
        evse.reading = evse.electrics.step(0.0, evse.ev, None, evse.energizing and event_type != "Ended")
        state = evse.charging_state() if event_type != "Ended" else ChargingState.IDLE
        info: dict[str, Any] = {"transactionId": tx.transaction_id}
        if state != tx.charging_state or event_type == "Started":
            info["chargingState"] = state.value
            tx.charging_state = state
        if stopped_reason is not None and event_type == "Ended":
            info["stoppedReason"] = stopped_reason
        if tx.remote_start_id is not None:
            info["remoteStartId"] = tx.remote_start_id
            tx.remote_start_id = None
        payload: dict[str, Any] = {
            "eventType": event_type,
            "timestamp": utc_timestamp(self.clock.now()),
            "triggerReason": trigger,
            "seqNo": tx.next_seq(),
            "transactionInfo": info,
        }
        if (evse.plugged and not tx.evse_reported) or event_type == "Started":
            payload["evse"] = {"id": evse.evse_id, "connectorId": evse.connector_id}
            tx.evse_reported = evse.plugged or tx.evse_reported
        if evse.authorized is not None and not tx.token_reported:
            payload["idToken"] = dict(evse.authorized)
            tx.id_token = evse.authorized
            tx.token_reported = True
        phases = evse.reading.phases_in_use if evse.reading else 0
        if phases and phases != tx.phases_reported:
            payload["numberOfPhasesUsed"] = phases
            tx.phases_reported = phases
        sampling = _SAMPLING.get((event_type, trigger)) or _SAMPLING.get((event_type, None))
        if sampling is not None and evse.reading is not None:
            variable, context = sampling
            mv = build_meter_value(
                evse.reading, self.dm.get_list("SampledDataCtrlr", variable), context, self.clock.now()
            )
            if mv is not None:
                payload["meterValue"] = [mv]
        self._enqueue(payload)

    # ================================================================== physics

    async def _tick_loop(self) -> None:
        """Step every EVSE's physics once per tick of simulated time; emit periodic values."""
        step = self.config.tick_seconds
        last = self.clock.monotonic()
        while True:
            await self.clock.sleep(step)
            now = self.clock.monotonic()
            dt, last = now - last, now
            for evse in self.evses.values():
                self._tick_evse(evse, dt, now)

    def _tick_evse(self, evse: Evse, dt: float, now: float) -> None:
        evse.reading = evse.electrics.step(dt, evse.ev, None, evse.energizing)
        tx = evse.transaction
        conditions = evse.conditions()
        if tx is None and "EnergyTransfer" in conditions:
            if "EnergyTransfer" in self.dm.get_list("TxCtrlr", "TxStartPoint"):
                self._start_transaction(evse, "ChargingStateChanged")
        elif tx is not None and self._stop_condition_lost(tx, conditions):
            self._end_transaction(evse, "ChargingStateChanged", "StoppedByEV")
        elif tx is not None:
            state = evse.charging_state()
            if tx.charging_state is not None and state != tx.charging_state:
                self._send_event(evse, "Updated", "ChargingStateChanged")
            interval = self.dm.get_int("SampledDataCtrlr", "TxUpdatedInterval")
            if interval > 0 and now - tx.last_periodic >= interval:
                tx.last_periodic += interval * ((now - tx.last_periodic) // interval)
                self._send_event(evse, "Updated", "MeterValuePeriodic")
            if evse.energizing:
                evse.message = _charging_message(evse)
        self.evse_changed.emit(evse)

    # ================================================================== helpers

    def _evse(self, evse_id: int) -> Evse:
        try:
            return self.evses[evse_id]
        except KeyError:
            raise ValueError(f"station {self.station_id} has no EVSE {evse_id}") from None

    def _spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        task.set_name(f"{self.station_id}:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s failed", task.get_name(), exc_info=task.exception())

    def _set_state(self, state: LinkState) -> None:
        self.state = state
        self.state_changed.emit(self)


# Which SampledDataCtrlr variable and reading context feed the meter values of an event:
# (eventType, triggerReason or None for "any other") -> (variable, context). Updated events
# for other triggers carry no meter values.
_SAMPLING: dict[tuple[str, str | None], tuple[str, str]] = {
    ("Started", None): ("TxStartedMeasurands", "Transaction.Begin"),
    ("Updated", "MeterValuePeriodic"): ("TxUpdatedMeasurands", "Sample.Periodic"),
    ("Updated", "Trigger"): ("TxUpdatedMeasurands", "Trigger"),
    ("Ended", None): ("TxEndedMeasurands", "Transaction.End"),
}


def _charging_message(evse: Evse) -> str:
    r = evse.reading
    if r is None or evse.ev is None:
        return "Charging"
    state = evse.charging_state()
    if state is ChargingState.SUSPENDED_EV:
        return f"EV full or paused ({evse.ev.soc_percent:.0f} %)"
    if state is ChargingState.SUSPENDED_EVSE:
        return "Paused by the station"
    return f"Charging {r.power_w / 1000:.1f} kW · {evse.ev.soc_percent:.0f} %"


__all__ = ["ConnectorStatus", "LinkState", "Station"]
