"""An emulated OCPP 2.1 / 2.0.1 charging station: its life on the network.

This module owns the connection (connect, boot, heartbeat, reconnect with the RetryBackOff*
variables, fallback between network configuration slots), the outgoing message queue that
survives restarts (E11-E13), connector status reporting, and the simulated reboot (B11-B13,
E17). What happens at the EVSEs — plug, tap, transactions, meter values — lives in
`app/station/transactions.py`. Everything is driven by the device model, as on a real charger.

User actions are coroutines so the window, the CLI and scenarios drive a station the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from app.clock import Clock, utc_timestamp
from app.inspector.records import CaptureRecord
from app.protocol.errors import CallTimeout, ConnectionLost, OcppError
from app.protocol.schemas import OcppVersion
from app.signals import Signal
from app.station.authorization import Authorizer
from app.station.certificates import StationCertificates
from app.station.config import StationConfig
from app.station.device_model import AttributeType, Component, Variable
from app.station.evse import Connector, ConnectorStatus, Evse
from app.station.handlers import StationHandlers
from app.station.meter import DcEvseElectrics, EvseElectrics, Meter
from app.station.monitoring import StationMonitoring
from app.station.persistence import StationStore
from app.station.profile import build_device_model
from app.station.security_events import SecurityEvents
from app.station.smart import StationSmartCharging
from app.station.transactions import TransactionFlow
from app.transport.client import ClientSettings, ConnectError, backoff_delays, open_station_socket
from app.transport.connection import OcppConnection
from app.transport.intercept import Interceptor

log = logging.getLogger(__name__)

BOOT_DELAY_S = 2.0  # simulated seconds a reboot takes before the station reconnects


class LinkState(StrEnum):
    STOPPED = "Stopped"
    CONNECTING = "Connecting"
    CONNECTED = "Connected"  # socket open, boot not accepted yet
    ONLINE = "Online"  # boot accepted
    OFFLINE = "Offline"  # lost the CSMS, retrying
    NETWORK_CUT = "Network cut"  # the tester pulled the cable: no attempts until restored
    REBOOTING = "Rebooting"


class Station(TransactionFlow):
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
        self.store = StationStore(config.state_path)
        self.dm = build_device_model(config, clock=self.clock)
        self.authorizer = Authorizer(self.dm, self.store, self.clock)
        self.evses: dict[int, Evse] = {}
        for n, spec in enumerate(config.evses, start=1):
            meter = Meter(
                float(self.store.get(f"meter.{n}") or 0.0), float(self.store.get(f"meter.{n}.export") or 0.0)
            )
            electrics: EvseElectrics
            if spec.phases == 0 or spec.dc_max_power_w is not None:
                electrics = DcEvseElectrics(max_power_w=spec.rated_power_w, meter=meter, seed=n)
            else:
                electrics = EvseElectrics(
                    max_current_a=spec.max_current_a,
                    phases=spec.phases,
                    nominal_voltage_v=spec.nominal_voltage_v,
                    meter=meter,
                    seed=n,
                )
            connectors = [
                Connector(m, c.connector_type, c.max_current_a)
                for m, c in enumerate(spec.connectors, start=1)
            ]
            self.evses[n] = Evse(n, electrics, connectors)
        self.station_operative = True
        self.state = LinkState.STOPPED
        self.version: OcppVersion | None = None
        self.boot_status: str | None = None
        self.last_error = ""
        self.connection: OcppConnection | None = None
        self.interceptor: Interceptor | None = None  # intercept mode, given by the session
        self.network_cut = False
        self.handlers = StationHandlers(self)
        self.security = SecurityEvents(self)
        self.certificates = StationCertificates(self)
        self.time_offset = timedelta(0)  # clock sync from the CSMS (ClockCtrlr.TimeSource Heartbeat)
        self._queue_wake = asyncio.Event()
        self._activity = asyncio.Event()  # any message sent: resets the heartbeat timer
        self._network_restored = asyncio.Event()
        self._boot_wake = asyncio.Event()  # TriggerMessage(BootNotification) while Pending
        self._status_lock = asyncio.Lock()
        self._boot_reported = False  # connectors reported since the last accepted boot
        self._last_sent = 0.0
        self._boot_reason = self.store.get("boot.reason") or "PowerUp"
        self._reset_pending: str | None = None  # OnIdle reset waiting for transactions to end
        self._tasks: set[asyncio.Task[Any]] = set()
        self._run_task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._event_id = 0
        TransactionFlow.__init__(self)
        self.smart = StationSmartCharging(self)
        self._restore_persistent_state()
        self.monitoring = StationMonitoring(self)
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

    def now(self) -> datetime:
        """The station's idea of the time: its clock plus what the CSMS told it (clock sync)."""
        return self.clock.now() + self.time_offset

    def start(self) -> asyncio.Task[None]:
        """Run the station in the background until `stop()`."""
        if self._run_task is None or self._run_task.done():
            self._stop.clear()
            self._run_task = asyncio.create_task(self.run(), name=f"station-{self.station_id}")
            self._run_task.add_done_callback(self._run_done)
        return self._run_task

    def _run_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self.last_error = f"station stopped by an internal error: {task.exception()}"
            log.error("%s: %s", self.station_id, self.last_error, exc_info=task.exception())
            self._set_state(LinkState.STOPPED)

    async def stop(self) -> None:
        """Switch the station off (its state stays in the store for the next start)."""
        self._stop.set()
        if self.connection is not None:
            await self.connection.close(1000, "station stopped")
        if self._run_task is not None and self._run_task is not asyncio.current_task():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._run_task, 5)
        # Timers of a switched-off station (EV connection timeouts, pending replies) die with it.
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        self._save_all()
        self._set_state(LinkState.STOPPED)

    def close(self) -> None:
        """Release the state file (after `stop()`)."""
        self.certificates.close()
        self.store.close()

    async def run(self) -> None:
        """Power up, then connect, boot and serve; on loss retry with back-off, until stopped."""
        self.power_up()
        ticker = self._spawn(self._tick_loop(), "physics")
        sender = self._spawn(self._queue_loop(), "queue")
        security = self._spawn(self.security.run(), "security-events")
        try:
            await self._connect_loop()
        finally:
            ticker.cancel()
            sender.cancel()
            security.cancel()
            self._set_state(LinkState.STOPPED)

    async def _connect_loop(self) -> None:
        """Try the network configuration slots in NetworkConfigurationPriority order, each
        NetworkProfileConnectionAttempts times before falling back to the next (B10)."""
        delays = self._new_backoff()
        slot_index = failures = 0
        while not self._stop.is_set():
            if self.network_cut:
                self._set_state(LinkState.NETWORK_CUT)
                self._network_restored.clear()
                await _first_of(self._network_restored, self._stop)
                continue
            candidates = self._connection_candidates()
            slot, settings = candidates[slot_index % len(candidates)]
            self._set_state(LinkState.CONNECTING)
            try:
                ws, version = await open_station_socket(settings)
            except ConnectError as exc:
                self.last_error = str(exc) if slot is None else f"slot {slot}: {exc}"
                log.info("%s: %s", self.station_id, self.last_error)
                self.security.connect_failed(exc.security_event, str(exc))
                self._set_state(LinkState.OFFLINE)
                failures += 1
                attempts = self.dm.get_int("OCPPCommCtrlr", "NetworkProfileConnectionAttempts", default=3)
                if settings.client_cert:
                    self.certificates.connect_failed(attempts)
                if failures >= max(1, attempts) or not exc.retryable:
                    slot_index, failures = slot_index + 1, 0
                await self._wait_or_stop(next(delays))
                continue
            delays = self._new_backoff()  # errata: reset to the minimum after a good connect
            failures = 0
            self.last_error = ""
            self.security.connect_succeeded()
            if slot is not None:
                self.dm.set_actual("OCPPCommCtrlr", "ActiveNetworkProfile", slot, validate=False)
                self._adopt_slot_profile(slot)
            self.certificates.connected(self.active_security_profile())
            await self._serve(ws, version)
            if not self._stop.is_set() and not self.network_cut:
                self._set_state(LinkState.OFFLINE)
                await self._wait_or_stop(next(delays))

    def _connection_candidates(self) -> list[tuple[str | None, ClientSettings]]:
        slots = self.dm.get_list("OCPPCommCtrlr", "NetworkConfigurationPriority", default=[])
        found: list[tuple[str | None, ClientSettings]] = [
            (slot, settings) for slot in slots if (settings := self._slot_settings(slot)) is not None
        ]
        fallback = self._client_settings(
            self.config.csms_url, self.config.password, self.active_security_profile()
        )
        return found or [(None, fallback)]

    def active_security_profile(self) -> int:
        return self.dm.get_int("SecurityCtrlr", "SecurityProfile", default=self.config.security_profile)

    def _adopt_slot_profile(self, slot: str) -> None:
        """A05.FR.06: connected through a slot of a higher profile, the station takes that
        profile and drops the slots below it from NetworkConfigurationPriority."""
        profile = self.dm.get_int(Component("NetworkConfiguration", slot), "SecurityProfile", default=0)
        active = self.active_security_profile()
        if profile <= active:
            return
        self.dm.set_actual("SecurityCtrlr", "SecurityProfile", str(profile), validate=False)
        priority = self.dm.get_list("OCPPCommCtrlr", "NetworkConfigurationPriority", default=[])
        kept = [
            s
            for s in priority
            if self.dm.get_int(Component("NetworkConfiguration", s), "SecurityProfile", default=0) >= profile
        ]
        self.dm.set_actual("OCPPCommCtrlr", "NetworkConfigurationPriority", ",".join(kept), validate=False)
        self.security.report("ReconfigurationOfSecurityParameters", f"security profile {active} -> {profile}")

    def _slot_settings(self, slot: str) -> ClientSettings | None:
        url = self.dm.get_str(Component("NetworkConfiguration", slot), "OcppCsmsUrl", default="")
        if not url:
            return None
        password = self.dm.get_str(Component("NetworkConfiguration", slot), "BasicAuthPassword", default="")
        profile = self.dm.get_int(
            Component("NetworkConfiguration", slot), "SecurityProfile", default=self.active_security_profile()
        )
        return self._client_settings(url, password or self.config.password, profile)

    def _client_settings(self, url: str, password: str | None, security_profile: int) -> ClientSettings:
        """Per security profile (A00): Basic auth for 1 and 2, the client certificate for 3;
        TLS trusts the configured CA file and the installed CSMS root certificates."""
        c = self.config
        ping = self.dm.get_int("OCPPCommCtrlr", "WebSocketPingInterval", default=0)
        client = self.certificates.client_files() if security_profile == 3 else None
        roots = self.certificates.roots("CSMSRootCertificate")
        return ClientSettings(
            csms_url=url,
            station_id=c.station_id,
            versions=c.versions,
            password=None if security_profile == 3 else password,
            ca_file=c.ca_file,
            ca_data="\n".join(roots) if roots else None,
            verify_tls=c.verify_tls,
            client_cert=client[0] if client else None,
            client_key=client[1] if client else None,
            ping_interval=float(ping) if ping > 0 else None,
        )

    def _new_backoff(self) -> Iterator[float]:
        return backoff_delays(
            self.dm.get_int("OCPPCommCtrlr", "RetryBackOffWaitMinimum"),
            self.dm.get_int("OCPPCommCtrlr", "RetryBackOffRandomRange"),
            self.dm.get_int("OCPPCommCtrlr", "RetryBackOffRepeatTimes"),
            self.rng,
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
            call_timeout=float(self.dm.get_int("OCPPCommCtrlr", "MessageTimeout", "Default", default=30))
            if self.config.call_timeout == 30.0
            else self.config.call_timeout,
            connection_name=f"{self.station_id}@station",
            interceptor=self.interceptor,
            on_invalid=lambda why: self.security.report("InvalidMessages", why),
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
            self._mark_queue_offline()

    def _mark_queue_offline(self) -> None:
        """E11.FR.07: transaction events still queued when the connection goes are sent as offline."""
        for item in self.store.queue_all():
            if item.action == "TransactionEvent" and not item.payload.get("offline"):
                item.payload["offline"] = True
                self.store.queue_update(item.id, payload=item.payload)

    def _capture(self, record: CaptureRecord) -> None:
        if record.sender == "station":
            self._last_sent = self.clock.monotonic()
            self._activity.set()
        if self.capture is not None:
            self.capture(record)

    # ================================================================== network, faults, reboot

    async def reconnect(self) -> None:
        """Drop the socket and connect again, to the CSMS URL the config now names (the window
        moves stations when the built-in CSMS changes port)."""
        self._sync_primary_slot()
        if self.connection is not None:
            await self.connection.close(1001, "reconnecting")

    def _sync_primary_slot(self) -> None:
        """Slot 0 is the station's configured CSMS: the profile, not a stale state file, names it."""
        slot = Component("NetworkConfiguration", "0")
        if self.config.csms_url and self.dm.find(slot, "OcppCsmsUrl") is not None:
            self.dm.set_actual(slot, "OcppCsmsUrl", self.config.csms_url, validate=False)

    async def set_network(self, connected: bool) -> None:
        """Cut or restore the station's network (a tester pulling the cable)."""
        if connected == (not self.network_cut):
            return
        self.network_cut = not connected
        if self.network_cut:
            if self.connection is not None:
                await self.connection.close(1001, "network cut")
            self._set_state(LinkState.NETWORK_CUT)
        else:
            self._network_restored.set()

    async def reboot(self, reason: str = "LocalReset") -> None:
        """A simulated power cycle: the connection drops, volatile state is lost, transactions
        are resumed or ended per E17 at power-up, and a new BootNotification goes out."""
        self.store.put("boot.reason", reason)
        self._set_state(LinkState.REBOOTING)
        await self.stop()
        await self.clock.sleep(BOOT_DELAY_S)
        self.boot_status = None
        self.start()

    def power_up(self) -> None:
        """What a station does when it is switched on: boot reason from the store, volatile
        authorizations gone, open transactions resumed or ended (E17)."""
        self._boot_reason = self.store.get("boot.reason") or "PowerUp"
        self.security.report(
            "StartupOfTheDevice" if self._boot_reason == "PowerUp" else "ResetOrReboot", self._boot_reason
        )
        self.boot_status = None
        self.time_offset = timedelta(0)
        self._reset_pending = None
        self.resume_or_end_transactions()
        for evse in self.evses.values():
            if evse.transaction is None:  # an authorization does not survive a power cycle
                self._clear_authorization(evse)

    # ================================================================== session

    async def _session(self, conn: OcppConnection) -> None:
        """Boot (unless this is a mere reconnect), report connectors, then heartbeat."""
        if self.boot_status != "Accepted" and not await self._boot(conn):
            return
        self._set_state(LinkState.ONLINE)
        self._queue_wake.set()
        self.security.wake()
        self.certificates.on_online()
        self.monitoring.check_all()  # thresholds that cleared while offline or rebooting (N07.FR.14)
        await self._report_all_connectors(force=self._boot_reported is False)
        self._boot_reported = True
        await self._heartbeat_loop(conn)

    async def _boot(self, conn: OcppConnection) -> bool:
        """BootNotification until Accepted, honouring the interval of Pending / Rejected (B02, B03)."""
        while not conn.closed:
            try:
                response = await conn.call("BootNotification", self.boot_payload())
            except (CallTimeout, OcppError) as exc:
                self.last_error = f"BootNotification: {exc}"
                await self.clock.sleep(self.dm.get_int("OCPPCommCtrlr", "RetryBackOffWaitMinimum") or 30)
                continue
            except ConnectionLost:
                return False
            self.boot_status = response["status"]
            self._sync_clock(response.get("currentTime"))
            self._set_state(self.state)
            interval = int(response.get("interval", 0))
            if self.boot_status == "Accepted":
                self.store.put("boot.reason", "PowerUp")  # the next boot is a power-up unless told
                self._boot_reason = "PowerUp"
                self._boot_reported = False
                if interval > 0:
                    self.dm.set_actual("OCPPCommCtrlr", "HeartbeatInterval", str(interval))
                return True
            # Pending / Rejected: wait the interval (or our own back-off when 0) and try again.
            wait = (
                interval
                if interval > 0
                else self.dm.get_int("OCPPCommCtrlr", "RetryBackOffWaitMinimum") or 30
            )
            self._boot_wake.clear()
            await self.clock.wait(self._boot_wake, wait)
        return False

    def boot_payload(self) -> dict[str, Any]:
        return {
            "reason": self._boot_reason,
            "chargingStation": {
                "vendorName": self.config.vendor,
                "model": self.config.model,
                "serialNumber": self.config.serial_number,
                "firmwareVersion": self.config.firmware_version,
            },
        }

    def _sync_clock(self, current_time: str | None) -> None:
        """Adopt the CSMS time when ClockCtrlr.TimeSource says so; never on simulated time."""
        if not current_time or "Heartbeat" not in self.dm.get_list("ClockCtrlr", "TimeSource", default=[]):
            return
        if self.clock.real_seconds(1.0) != 1.0:
            return  # accelerated or manual time: the simulation owns the clock
        try:
            csms_now = datetime.fromisoformat(current_time.replace("Z", "+00:00"))
        except ValueError:
            return
        offset = csms_now - self.clock.now()
        moved = abs((offset - self.time_offset).total_seconds())
        threshold = self.dm.get_int("ClockCtrlr", "TimeAdjustmentReportingThreshold", default=0)
        self.time_offset = offset
        if threshold > 0 and moved > threshold:
            self.security.report("SettingSystemTime", f"clock set by {moved:.0f} s from the CSMS time")

    async def heartbeat(self) -> None:
        conn = self.connection
        if conn is None:
            return
        with contextlib.suppress(CallTimeout, OcppError, ConnectionLost):
            response = await conn.call("Heartbeat", {})
            self._sync_clock(response.get("currentTime"))
        self._last_sent = self.clock.monotonic()

    async def _heartbeat_loop(self, conn: OcppConnection) -> None:
        """Heartbeat after HeartbeatInterval seconds without any other message (G02)."""
        while not conn.closed:
            interval = self.dm.get_int("OCPPCommCtrlr", "HeartbeatInterval")
            if interval <= 0:
                self._activity.clear()
                await self._activity.wait()
                continue
            remaining = self._last_sent + interval - self.clock.monotonic()
            if remaining > 0:
                self._activity.clear()
                await self.clock.wait(self._activity, remaining)
                continue
            await self.heartbeat()

    # ================================================================== connector status

    async def _report_all_connectors(self, *, force: bool) -> None:
        for evse in self.evses.values():
            await self.report_status(evse, force=force)

    async def report_status(
        self, evse: Evse, *, force: bool = False, use_status_notification: bool = False
    ) -> None:
        """Tell the CSMS each connector's availability when it changed: NotifyEvent on 2.1
        (StatusNotification is deprecated there), StatusNotification on 2.0.1 (G01)."""
        if self._non_evse_reservations:
            self._place_general_reservations()  # free EVSEs may have changed (H01.FR.20)
        self._sync_availability_state(evse)
        for connector in evse.connectors:
            status = evse.derived_status(connector, self.station_operative)
            if connector.status != status:
                connector.status = status
                self.dm.set_actual(
                    "Connector",
                    "AvailabilityState",
                    status.value,
                    evse=evse.evse_id,
                    connector=connector.connector_id,
                    validate=False,
                )
            # G01.FR.08: siblings of the connector in use are not reported.
            sibling_in_use = evse.plugged and evse.plugged_connector != connector.connector_id
            if sibling_in_use and not force:
                continue
            async with self._status_lock:  # one report at a time: no duplicate of the same change
                if status == connector.reported_status and not force:
                    continue
                if await self._send_status(evse, connector, status, use_status_notification):
                    connector.reported_status = status
        self.evse_changed.emit(evse)

    def _sync_availability_state(self, evse: Evse) -> None:
        """EVSE and ChargingStation AvailabilityState, as GetVariables and SummaryInventory read
        them (B07.FR.09), follow ChangeAvailability and the connector in use."""
        in_use = evse.connector(evse.connector_id) or evse.connectors[0]
        operative = self.station_operative and evse.operative
        evse_state = (
            evse.derived_status(in_use, self.station_operative) if operative else ConnectorStatus.UNAVAILABLE
        )
        station_state = ConnectorStatus.AVAILABLE if self.station_operative else ConnectorStatus.UNAVAILABLE
        for component, tier, state in (
            ("EVSE", evse.evse_id, evse_state),
            ("ChargingStation", None, station_state),
        ):
            if self.dm.find(component, "AvailabilityState", evse=tier) is not None:
                self.dm.set_actual(component, "AvailabilityState", state.value, evse=tier, validate=False)

    async def _send_status(
        self, evse: Evse, connector: Connector, status: ConnectorStatus, use_status_notification: bool
    ) -> bool:
        conn = self.connection
        if conn is None or not self.online:
            return False
        now = utc_timestamp(self.now())  # the moment of the change, even if sent a bit later
        # Transaction events queued before this change go first, so a CSMS never sees the
        # connector Available while the transaction that occupied it is still open.
        for _ in range(100):
            if self.store.queue_len() == 0 or not self.online:
                break
            await asyncio.sleep(0.02)
        try:
            if conn.version is OcppVersion.V21 and not use_status_notification:
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
                                    "evse": {"id": evse.evse_id, "connectorId": connector.connector_id},
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
                        "connectorId": connector.connector_id,
                    },
                )
        except (CallTimeout, OcppError, ConnectionLost) as exc:
            log.info("%s: status report failed: %s", self.station_id, exc)
            return False
        return True

    def _next_event_id(self) -> int:
        self._event_id += 1
        return self._event_id

    async def set_fault(self, evse_id: int, faulted: bool, connector_id: int | None = None) -> None:
        """Inject or clear a fault on a connector (all of the EVSE's when none is named)."""
        evse = self.evse(evse_id)
        for connector in evse.connectors:
            if connector_id in (None, connector.connector_id):
                connector.faulted = faulted
        if self.dm.find("EVSE", "Problem", evse=evse_id) is not None:
            # what GetReport(componentCriteria Problem) finds (B08.FR.10)
            self.dm.set_actual("EVSE", "Problem", evse.faulted, evse=evse_id, validate=False)
        if faulted:
            evse.message = "Out of order"
            if evse.reservation is not None:
                await self.remove_reservation(evse, "Removed")
        else:
            evse.message = "Available: plug in or present a card" if not evse.plugged else evse.message
        await self.report_status(evse)

    async def set_availability(self, evse_id: int | None, connector_id: int | None, operative: bool) -> None:
        """Apply a ChangeAvailability now (station, EVSE or connector), persist it (G01.FR.02)
        and report what changed."""
        self.apply_availability(evse_id, connector_id, operative)
        for evse in self.evses.values():
            if not operative and evse.reservation is not None and evse_id in (None, 0, evse.evse_id):
                await self.remove_reservation(evse, "Removed")
            await self.report_status(evse)

    def apply_availability(self, evse_id: int | None, connector_id: int | None, operative: bool) -> None:
        """The state part of `set_availability`, in force at once (idempotent)."""
        if evse_id in (None, 0):
            self.station_operative = operative
            self.store.save_availability(0, 0, operative)
        else:
            evse = self.evse(evse_id)
            if connector_id:
                connector = evse.connector(connector_id)
                if connector is not None:
                    connector.operative = operative
            else:
                evse.operative = operative
            self.store.save_availability(evse_id, connector_id or 0, operative)

    # ================================================================== outgoing queue

    def enqueue(self, action: str, payload: dict[str, Any]) -> None:
        """Queue a message that must reach the CSMS in order, even across restarts (E11-E13)."""
        if not self.online and action == "TransactionEvent":
            payload["offline"] = True  # queued while the CSMS was unreachable (E12)
        self.store.queue_push(action, payload)
        self._queue_wake.set()
        self.state_changed.emit(self)

    @property
    def queued_events(self) -> int:
        return self.store.queue_len()

    @property
    def oldest_queued_age(self) -> float | None:
        """Seconds (of the station's clock) the oldest unsent message has been waiting."""
        oldest = self.store.queue_oldest_created()
        if oldest is None:
            return None
        return max(0.0, self.now().timestamp() - oldest)

    async def _queue_loop(self) -> None:
        """Send queued messages in order, one at a time, retrying per E13."""
        while True:
            item = self.store.queue_peek() if self.online and self.connection is not None else None
            if item is None:
                self._queue_wake.clear()
                await self._queue_wake.wait()
                continue
            conn = self.connection
            assert conn is not None
            attempts = item.attempts + 1
            self.store.queue_update(item.id, attempts=attempts)
            try:
                response = await conn.call(item.action, item.payload)
            except ConnectionLost:
                self.store.queue_update(item.id, attempts=attempts - 1)  # it never reached the CSMS
                self._queue_wake.clear()
                await self._queue_wake.wait()
                continue
            except (CallTimeout, OcppError) as exc:
                # No answer, or the CSMS could not process it: send it again, waiting
                # MessageAttemptInterval x attempts so far, up to MessageAttempts (E13.FR.02-04).
                limit = self.dm.get_int("OCPPCommCtrlr", "MessageAttempts", "TransactionEvent", default=3)
                if attempts < limit:
                    interval = self.dm.get_int(
                        "OCPPCommCtrlr", "MessageAttemptInterval", "TransactionEvent", default=60
                    )
                    await self.clock.sleep(interval * attempts)
                    continue
                log.warning(
                    "%s: %s dropped after %d attempts: %s", self.station_id, item.action, attempts, exc
                )
            else:
                if item.action == "TransactionEvent":
                    self.on_transaction_response(item.payload, response)
            self.store.queue_pop(item.id)
            self.state_changed.emit(self)

    # ================================================================== persistence

    def _restore_persistent_state(self) -> None:
        values = self.store.load_device_model()
        if values:
            skipped = self.dm.load_persisted(values)
            for reason in skipped:
                log.warning("%s: device model value not restored: %s", self.station_id, reason)
            self._sync_primary_slot()
        self.dm.on_change(self._persist_change)
        for (evse_id, connector_id), operative in self.store.load_availability().items():
            if evse_id == 0:
                self.station_operative = operative
            elif evse_id in self.evses:
                evse = self.evses[evse_id]
                connector = evse.connector(connector_id) if connector_id else None
                if connector is not None:
                    connector.operative = operative
                elif not connector_id:
                    evse.operative = operative
        for evse in self.evses.values():
            for connector in evse.connectors:
                connector.status = evse.derived_status(connector, self.station_operative)

    def _persist_change(
        self, component: Component, variable: Variable, attribute: AttributeType, _value: str
    ) -> None:
        """Write the device model's persistent values when one of them changed; live values
        (temperature, power) change every tick and stay out of the file."""
        definition = self.dm.find(component, variable)
        index = None if definition is None else definition.attribute_index(attribute)
        if definition is not None and index is not None and definition.attributes[index].persistent:
            self.store.save_device_model(self.dm.to_persisted())

    def _save_all(self) -> None:
        for evse in self.evses.values():
            self.save_meter(evse)
            self.save_transaction(evse)
        self.store.put("alive", repr(self.now().timestamp()))

    # ================================================================== helpers

    def evse(self, evse_id: int) -> Evse:
        try:
            return self.evses[evse_id]
        except KeyError:
            raise ValueError(f"station {self.station_id} has no EVSE {evse_id}") from None

    def spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        """Run `coro` in the background; its failure is logged, never lost."""
        return self._spawn(coro, name)

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
        if state is LinkState.ONLINE:
            self.smart.link_changed(True)
        elif state in (LinkState.OFFLINE, LinkState.NETWORK_CUT):
            self.smart.link_changed(False)
        self.state_changed.emit(self)


async def _first_of(*events: asyncio.Event) -> None:
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


__all__ = ["ConnectorStatus", "LinkState", "Station"]
