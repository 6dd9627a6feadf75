"""What happens at the EVSEs: plug, tap, authorize, transactions, meter values, reservations.

`TransactionFlow` is the EVSE half of `Station` (station.py holds the network half). Every rule
reads the device model at the moment it applies, so SetVariables changes behaviour at once:
TxStartPoint / TxStopPoint (E01, E06), EVConnectionTimeOut (E03), StopTxOnEVSideDisconnect
(E09/E10), StopTxOnInvalidId / MaxEnergyOnInvalidId (E05), SampledDataCtrlr and
AlignedDataCtrlr measurands and intervals (J01, J02), ResumptionTimeout (E17).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from app.clock import utc_timestamp
from app.protocol.errors import CallTimeout, ConnectionLost, OcppError
from app.station.authorization import display_text
from app.station.ev import EVModel
from app.station.evse import ChargingState, Evse, Reservation, Transaction
from app.station.meter import Reading
from app.station.sampled_values import build_meter_value

if TYPE_CHECKING:
    from app.clock import Clock
    from app.signals import Signal
    from app.station.authorization import Authorizer
    from app.station.config import StationConfig
    from app.station.device_model import DeviceModel
    from app.station.monitoring import StationMonitoring
    from app.station.persistence import StationStore
    from app.station.smart import StationSmartCharging
    from app.transport.connection import OcppConnection

log = logging.getLogger(__name__)

# Which SampledDataCtrlr variable and reading context feed the meter values of an event:
# (eventType, triggerReason or None for "any other") -> (variable, context). Updated events
# for other triggers carry no meter values.
_SAMPLING: dict[tuple[str, str | None], tuple[str, str]] = {
    ("Started", None): ("TxStartedMeasurands", "Transaction.Begin"),
    ("Updated", "MeterValuePeriodic"): ("TxUpdatedMeasurands", "Sample.Periodic"),
    ("Updated", "Trigger"): ("TxUpdatedMeasurands", "Trigger"),
    ("Ended", None): ("TxEndedMeasurands", "Transaction.End"),
}
_STATE_ALWAYS = frozenset({"Trigger", "TxResumed", "ChargingStateChanged"})
_MAX_ENDED_SAMPLES = 500  # TxEndedInterval samples kept for the Ended event (memory bound)
IDLE_MESSAGE = "Available: plug in or present a card"


class TransactionFlow:
    """Mixin: the EVSE behaviour of a Station; what it uses of the station is declared here."""

    if TYPE_CHECKING:
        config: StationConfig
        dm: DeviceModel
        store: StationStore
        clock: Clock
        authorizer: Authorizer
        smart: StationSmartCharging
        monitoring: StationMonitoring
        evses: dict[int, Evse]
        connection: OcppConnection | None
        station_operative: bool
        evse_changed: Signal[[Evse]]
        _boot_reason: str
        _reset_pending: str | None

        @property
        def station_id(self) -> str: ...
        @property
        def online(self) -> bool: ...
        def now(self) -> datetime: ...
        def evse(self, evse_id: int) -> Evse: ...
        def spawn(self, coro: Any, name: str) -> asyncio.Task[Any]: ...
        def enqueue(self, action: str, payload: dict[str, Any]) -> None: ...
        async def report_status(self, evse: Evse, *, force: bool = False) -> None: ...
        async def reboot(self, reason: str = "LocalReset") -> None: ...

    def __init__(self) -> None:
        self._pending_remote_start: dict[int, int] = {}  # evse id -> remoteStartId awaiting a tx
        self._pending_remote_profile: dict[int, dict[str, Any]] = {}  # evse id -> its TxProfile (K05)
        self._pending_reservation: dict[int, int] = {}  # evse id -> consumed reservationId awaiting a tx
        self._non_evse_reservations: dict[int, Reservation] = {}
        self._last_aligned: float | None = None
        self._load_reservations()

    # ================================================================== user actions

    async def plug(self, evse_id: int, connector_id: int = 1, ev: EVModel | None = None) -> None:
        """The driver plugs an EV into a connector (only one per EVSE at a time)."""
        evse = self.evse(evse_id)
        if evse.connector(connector_id) is None:
            raise ValueError(f"EVSE {evse_id} has no connector {connector_id}")
        if evse.plugged:
            if evse.ev_side_disconnected and evse.plugged_connector == connector_id:
                evse.ev_side_disconnected = False  # the cable goes back into the car (E10)
                await self._evaluate(evse, "CablePluggedIn")
            return
        evse.plugged_connector = connector_id
        evse.ev_side_disconnected = False
        evse.ev = ev or evse.ev or EVModel.typical_ac()
        if evse.authorized is None:
            evse.message = "EV connected: present a card"
        await self.report_status(evse)
        await self._evaluate(evse, "CablePluggedIn")

    async def unplug(self, evse_id: int, *, ev_side_only: bool = False) -> None:
        """The cable comes out: at both ends, or (`ev_side_only`) only at the car (E09/E10)."""
        evse = self.evse(evse_id)
        if not evse.plugged:
            return
        if ev_side_only:
            # The cable stays in the station's socket (Occupied until it is removed there).
            evse.ev_side_disconnected = True
            if self.dm.get_bool("TxCtrlr", "StopTxOnEVSideDisconnect", default=True):
                # E09.FR.01: deauthorized; the stop points decide whether the transaction ends.
                evse.message = "Cable unplugged at the car: charging stopped"
                self._clear_authorization(evse)
            else:
                evse.message = "Cable unplugged at the car: plug it back in"  # E10: suspended
            await self._evaluate(evse, "EVCommunicationLost", stopped_reason="EVDisconnected")
            return
        evse.plugged_connector = None
        evse.ev_side_disconnected = False
        await self._evaluate(evse, "EVCommunicationLost", stopped_reason="EVDisconnected")
        evse.ev = None
        if evse.transaction is None:
            self._clear_authorization(evse)
            evse.message = IDLE_MESSAGE
        await self.report_status(evse)
        await self._maybe_reset_when_idle()

    async def tap(self, id_token: str, evse_id: int | None = None, token_type: str = "ISO14443") -> str:
        """A card at the reader: stops what it may stop, otherwise authorizes a new charge.

        Returns the authorization status, which the display also shows.
        """
        token = {"idToken": id_token, "type": token_type}
        # The card that started a transaction stops it, without asking anyone (C01, E07).
        for evse in self._evses_for(evse_id):
            if evse.authorized is not None and _same_token(evse.authorized, token):
                evse.auth_status = "Accepted"
                evse.message = "Card accepted: stopping"
                await self.deauthorize(evse, "StopAuthorized", "Local")
                return "Accepted"
        busy = [e for e in self._evses_for(evse_id) if e.transaction is not None and e.authorized is not None]
        decision = await self.authorizer.authorize(token, online=self.online, ask_csms=self._ask_csms)
        if decision.status == "Accepted" and busy:
            # Another card of the same group stops it (C09); a master pass stops any (C16).
            master = self.authorizer.is_master_pass(decision.info)
            for evse in busy:
                tx = evse.transaction
                assert tx is not None and evse.authorized is not None
                if master or self.authorizer.same_group(
                    tx.id_token_info, evse.authorized, token, decision.info
                ):
                    evse.auth_status = "Accepted"
                    evse.message = "Master pass: stopped" if master else "Group card accepted: stopping"
                    await self.deauthorize(evse, "StopAuthorized", "MasterPass" if master else "Local")
                    if not master:
                        return "Accepted"
            if master:  # C16.FR.02: no selection UI here, so it stops all (of `evse_id` if given)
                return "Accepted"
        target = self._pick_evse_for(token, decision.info, evse_id)
        if target is None:
            return "NoEVSE"
        target.auth_status = decision.status
        if decision.status != "Accepted":
            target.message = decision.display
            self.evse_changed.emit(target)
            return decision.status
        if self.authorizer.is_master_pass(decision.info):
            target.message = "Master pass: no transaction to stop"  # C16: it cannot start one
            self.evse_changed.emit(target)
            return decision.status
        if not decision.allows_evse(target.evse_id):  # C01.FR.21: idTokenInfo.evseId lists where
            target.auth_status = "NotAllowedTypeEVSE"
            target.message = display_text("NotAllowedTypeEVSE")
            self.evse_changed.emit(target)
            return "NotAllowedTypeEVSE"
        if not self._reservation_allows(target, token, decision.info):
            target.auth_status = "Reserved"
            target.message = "Reserved for another driver"
            self.evse_changed.emit(target)
            return "Reserved"
        await self._authorize_evse(target, token, decision.info, "Authorized")
        return decision.status

    async def _ask_csms(self, token: dict[str, Any]) -> dict[str, Any]:
        conn = self.connection
        if conn is None or not self.online:
            raise ConnectionLost("offline")
        return await conn.call("Authorize", {"idToken": token})

    def _evses_for(self, evse_id: int | None) -> list[Evse]:
        return [e for e in self.evses.values() if evse_id in (None, e.evse_id)]

    def _pick_evse_for(
        self, token: dict[str, Any], info: dict[str, Any] | None, evse_id: int | None
    ) -> Evse | None:
        if evse_id is not None:
            return self.evse(evse_id)
        allowed = (info or {}).get("evseId")  # C01.FR.21
        usable = [
            e
            for e in self.evses.values()
            if e.operative
            and not e.faulted
            and e.authorized is None
            and (not allowed or e.evse_id in allowed)
        ]
        reserved = [
            e
            for e in usable
            if e.reservation is not None and self._reservation_matches(e.reservation, token, info)
        ]
        plugged = [e for e in usable if e.plugged]
        free = [e for e in usable if e.reservation is None]
        candidates = reserved or plugged or free or usable
        return candidates[0] if candidates else None

    async def _authorize_evse(
        self, evse: Evse, token: dict[str, Any], info: dict[str, Any] | None, trigger: str
    ) -> None:
        evse.authorized = token
        evse.authorized_info = info
        evse.authorized_at = self.clock.monotonic()
        reservation = self._take_reservation(evse, token, info)
        if reservation is not None:
            if evse.transaction is None:  # card first: the Started event carries it (E03.FR.03)
                self._pending_reservation[evse.evse_id] = reservation.reservation_id
            await self.report_status(evse)
        if evse.transaction is not None:
            evse.transaction.id_token_info = info
        evse.message = (
            "Card accepted: plug in your EV" if not evse.plugged else "Card accepted: charging starts"
        )
        await self._evaluate(
            evse, trigger, reservation_id=reservation.reservation_id if reservation else None
        )
        if not evse.plugged:
            self.spawn(self._connection_timeout(evse, evse.authorized_at), "ev-connect-timeout")

    async def _connection_timeout(self, evse: Evse, authorized_at: float | None) -> None:
        """EVConnectionTimeOut: authorized but never plugged in (E03, trigger EVConnectTimeout)."""
        timeout = self.dm.get_int("TxCtrlr", "EVConnectionTimeOut")
        if timeout <= 0:
            return
        await self.clock.sleep(timeout)
        if evse.authorized_at == authorized_at and not evse.plugged and evse.authorized is not None:
            evse.message = "No EV connected in time: authorization expired"
            await self.deauthorize(evse, "EVConnectTimeout", "Timeout")

    async def deauthorize(self, evse: Evse, trigger: str, stopped_reason: str) -> None:
        """Authorization ends (card again, remote stop, refused token, timeout): per the stop
        points the transaction ends, or only the energy stops."""
        self._clear_authorization(evse)
        await self._evaluate(evse, trigger, stopped_reason=stopped_reason)
        if not evse.plugged and evse.transaction is None:
            evse.message = IDLE_MESSAGE
        self.evse_changed.emit(evse)

    def _clear_authorization(self, evse: Evse) -> None:
        self._pending_reservation.pop(evse.evse_id, None)
        evse.authorized = None
        evse.authorized_info = None
        evse.authorized_at = None

    async def remote_start(self, evse: Evse, token: dict[str, Any], remote_start_id: int) -> None:
        """Act on an accepted RequestStartTransaction (F01/F02), after the response went out."""
        info: dict[str, Any] | None = None
        if self.dm.get_bool("AuthCtrlr", "AuthorizeRemoteStart", default=False):
            decision = await self.authorizer.authorize(token, online=self.online, ask_csms=self._ask_csms)
            evse.auth_status = decision.status
            if decision.status != "Accepted":
                evse.message = f"Remote start refused: {decision.display}"
                self.evse_changed.emit(evse)
                return
            info = decision.info
        else:
            evse.auth_status = "Accepted"
        if evse.transaction is not None:
            evse.transaction.remote_start_id = remote_start_id
        else:
            self._pending_remote_start[evse.evse_id] = remote_start_id
        await self._authorize_evse(evse, token, info, "RemoteStart")
        evse.message = "Remote start: plug in your EV" if not evse.plugged else "Remote start: charging"

    async def remote_stop(self, evse: Evse) -> None:
        evse.message = "Stopped by the operator"
        await self.deauthorize(evse, "RemoteStop", "Remote")

    # ================================================================== transaction rules

    async def _evaluate(
        self,
        evse: Evse,
        trigger: str,
        *,
        stopped_reason: str = "Local",
        reservation_id: int | None = None,
    ) -> None:
        """Start, update or end the EVSE's transaction after a change (TxStartPoint/TxStopPoint)."""
        now = evse.conditions()
        tx = evse.transaction
        if tx is None:
            if set(self.dm.get_list("TxCtrlr", "TxStartPoint")) & now:
                self._start_transaction(evse, trigger, reservation_id)
        elif self._stop_condition_lost(tx, now):
            self._end_transaction(evse, trigger, stopped_reason)
        else:
            if reservation_id is not None:
                tx.reservation_id = reservation_id
            self.send_event(evse, "Updated", trigger)
        self.evse_changed.emit(evse)

    def _stop_condition_lost(self, tx: Transaction, now: set[str]) -> bool:
        tx.conditions_seen |= now
        return bool((set(self.dm.get_list("TxCtrlr", "TxStopPoint")) & tx.conditions_seen) - now)

    def _start_transaction(self, evse: Evse, trigger: str, reservation_id: int | None = None) -> None:
        tx = Transaction(str(uuid.uuid4()), self.now())
        tx.last_periodic = tx.last_ended_sample = self.clock.monotonic()
        tx.meter_start_wh = evse.electrics.meter.register_wh
        tx.id_token_info = evse.authorized_info
        pending_reservation = self._pending_reservation.pop(evse.evse_id, None)
        tx.reservation_id = reservation_id if reservation_id is not None else pending_reservation
        remote = self._pending_remote_start.pop(evse.evse_id, None)
        if remote is not None:
            tx.remote_start_id = remote
            trigger = "RemoteStart"
        tx.conditions_seen = evse.conditions()
        evse.transaction = tx
        evse.last_transaction_id = tx.transaction_id
        self.smart.invalidate()
        profile = self._pending_remote_profile.pop(evse.evse_id, None)
        if profile is not None:  # K05: RequestStartTransaction's TxProfile, now with its id
            self.smart.install_remote_start_profile(profile, evse.evse_id, tx.transaction_id)
        self.send_event(evse, "Started", trigger)

    def _end_transaction(self, evse: Evse, trigger: str, stopped_reason: str) -> None:
        self.send_event(evse, "Ended", trigger, stopped_reason=stopped_reason)
        ended = evse.transaction
        evse.transaction = None
        if ended is not None:
            self.smart.transaction_ended(ended.transaction_id)  # its TxProfiles go (K02.FR.05)
        evse.energy_blocked = False
        self.store.delete_transaction(evse.evse_id)
        if evse.scheduled_operative is not None:
            evse.operative, evse.scheduled_operative = evse.scheduled_operative, None
            self.store.save_availability(evse.evse_id, 0, evse.operative)
        if evse.plugged:
            evse.message = "Transaction ended: unplug the EV"
        self.spawn(self.report_status(evse), "status")
        self.spawn(self._maybe_reset_when_idle(), "reset-on-idle")

    def send_event(
        self, evse: Evse, event_type: str, trigger: str, *, stopped_reason: str | None = None
    ) -> None:
        """Build one TransactionEvent from the EVSE's state now and queue it."""
        tx = evse.transaction
        assert tx is not None
        ending = event_type == "Ended"
        # Physics first, so the values in this event are those of this instant.
        evse.reading = self._step(evse, 0.0, evse.energizing and not ending)
        state = ChargingState.IDLE if ending else evse.charging_state()
        info: dict[str, Any] = {"transactionId": tx.transaction_id}
        # chargingState when it changed, and always where the CSMS needs the current state:
        # a triggered event (F06.FR.07) and a resumed transaction (E17.FR.14).
        if state != tx.charging_state or event_type == "Started" or trigger in _STATE_ALWAYS:
            info["chargingState"] = state.value
            tx.charging_state = state
        if stopped_reason is not None and ending:
            info["stoppedReason"] = stopped_reason
        if trigger == "OperationModeChanged":  # K01.FR.110
            info["operationMode"] = self.smart.operation_mode(tx.transaction_id)
        if tx.remote_start_id is not None:
            info["remoteStartId"] = tx.remote_start_id
            tx.remote_start_id = None
        payload: dict[str, Any] = {
            "eventType": event_type,
            "timestamp": utc_timestamp(self.now()),
            "triggerReason": trigger,
            "seqNo": tx.next_seq(),
            "transactionInfo": info,
        }
        if tx.reservation_id is not None:
            payload["reservationId"] = tx.reservation_id  # once (H01.FR.15)
            tx.reservation_id = None
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
        meter_values = list(tx.ended_samples) if ending else []
        sampling = _SAMPLING.get((event_type, trigger)) or _SAMPLING.get((event_type, None))
        if sampling is not None and evse.reading is not None:
            variable, context = sampling
            measurands = self.dm.get_list("SampledDataCtrlr", variable)
            mv = build_meter_value(evse.reading, measurands, context, self.now())
            if mv is not None:
                meter_values.append(mv)
        if meter_values:
            payload["meterValue"] = meter_values
        self.enqueue("TransactionEvent", payload)
        self.save_transaction(evse)

    def save_transaction(self, evse: Evse) -> None:
        """Persist the open transaction (seqNo included) so a restart continues it gap-free."""
        tx = evse.transaction
        if tx is None:
            return
        data = tx.to_dict()
        data["savedAt"] = self.now().timestamp()
        data["authorized"] = evse.authorized
        data["authorizedInfo"] = evse.authorized_info
        data["pluggedConnector"] = evse.plugged_connector
        data["evSoc"] = evse.ev.soc_percent if evse.ev else None
        self.store.save_transaction(evse.evse_id, data)
        self.save_meter(evse)

    def save_meter(self, evse: Evse) -> None:
        """Registers never go backwards, not even across a restart."""
        meter = evse.electrics.meter
        self.store.put(f"meter.{evse.evse_id}", repr(meter.register_wh))
        self.store.put(f"meter.{evse.evse_id}.export", repr(meter.export_wh))

    def on_transaction_response(self, request: dict[str, Any], response: dict[str, Any]) -> None:
        """The CSMS's verdict on the token in a TransactionEventResponse (C10 cache, E05)."""
        info = response.get("idTokenInfo")
        if not info:
            return
        token = request.get("idToken")
        if token is not None:
            self.authorizer.remember(token, info)
        if info.get("status") == "Accepted":
            return
        tx_id = request["transactionInfo"]["transactionId"]
        for evse in self.evses.values():
            tx = evse.transaction
            if tx is None or tx.transaction_id != tx_id or evse.authorized is None:
                continue
            evse.auth_status = info["status"]
            if self.dm.get_bool("TxCtrlr", "StopTxOnInvalidId", default=True):
                evse.message = f"Card refused by the CSMS: {info['status']}"
                self.spawn(self.deauthorize(evse, "Deauthorized", "DeAuthorized"), "deauthorize")
            else:
                tx.deauthorized_energy_wh = evse.electrics.meter.register_wh  # MaxEnergyOnInvalidId
                evse.message = f"Card refused ({info['status']}): charging limited"

    # ================================================================== power-up (E17)

    def resume_or_end_transactions(self) -> None:
        """Transactions open at power-down: resumed within ResumptionTimeout (E17, 2.1 only),
        otherwise ended with AbnormalCondition and PowerLoss / Reboot."""
        saved = self.store.load_transactions()
        alive = float(self.store.get("alive") or 0.0)
        timeout = self.dm.get_int("TxCtrlr", "ResumptionTimeout", default=0)
        reason = self._boot_reason
        speaks_21 = bool(self.config.versions) and self.config.versions[0].value == "ocpp2.1"
        for evse_id, data in saved.items():
            evse = self.evses.get(evse_id)
            if evse is None:
                self.store.delete_transaction(evse_id)
                continue
            tx = Transaction.from_dict(data)
            tx.seq_no = max(tx.seq_no, self._next_seq_from_queue(tx.transaction_id))
            down_since = float(data.get("savedAt") or alive or 0.0)
            evse.transaction = tx
            evse.last_transaction_id = tx.transaction_id
            if evse.plugged_connector is None and data.get("pluggedConnector"):
                evse.plugged_connector = int(data["pluggedConnector"])  # the car is still there
                evse.ev = evse.ev or EVModel.typical_ac(soc_percent=float(data.get("evSoc") or 20.0))
            outage = self.now().timestamp() - down_since
            if speaks_21 and timeout > 0 and outage <= timeout and evse.plugged:
                # The resumed transaction keeps its authorization, so its stop points still
                # hold and the driver's card still ends it; without AllowEnergyTransferResumption
                # no energy flows again (E17 scenario 1.4a, B13.FR.25: SuspendedEVSE).
                evse.authorized = data.get("authorized")
                evse.authorized_info = data.get("authorizedInfo")
                evse.energy_blocked = not self.dm.get_bool(
                    "TxCtrlr", "AllowEnergyTransferResumption", default=False
                )
                tx.last_periodic = tx.last_ended_sample = self.clock.monotonic()
                evse.message = "Power restored: transaction resumed"
                self.send_event(evse, "Updated", "TxResumed")
            else:
                evse.message = "Power restored: previous transaction ended"
                stopped = "PowerLoss" if reason == "PowerUp" else "Reboot"
                self._end_after_outage(evse, stopped, down_since)

    def _end_after_outage(self, evse: Evse, stopped_reason: str, down_since: float) -> None:
        tx = evse.transaction
        assert tx is not None
        self.send_event(evse, "Ended", "AbnormalCondition", stopped_reason=stopped_reason)
        if down_since:
            # the event happened when the power went, not now
            self._backdate_last_event(datetime.fromtimestamp(down_since, UTC))
        evse.transaction = None
        self.store.delete_transaction(evse.evse_id)

    def _backdate_last_event(self, moment: datetime) -> None:
        queued = self.store.queue_all()
        if not queued:
            return
        last = queued[-1]
        last.payload["timestamp"] = utc_timestamp(moment)
        self.store.queue_update(last.id, payload=last.payload)

    def _next_seq_from_queue(self, transaction_id: str) -> int:
        """One past the highest seqNo queued for the transaction: guards against a crash
        between queueing an event and saving the transaction."""
        highest = -1
        for item in self.store.queue_all():
            if (
                item.action == "TransactionEvent"
                and item.payload["transactionInfo"]["transactionId"] == transaction_id
            ):
                highest = max(highest, int(item.payload["seqNo"]))
        return highest + 1

    async def _maybe_reset_when_idle(self) -> None:
        """A Reset OnIdle waits for every transaction to end (B12.FR.01/03), then reboots."""
        if self._reset_pending and all(e.transaction is None for e in self.evses.values()):
            reason, self._reset_pending = self._reset_pending, None
            await asyncio.sleep(0.05)  # let the Ended event go first
            self.spawn(self.reboot(reason), "reboot")

    # ================================================================== physics and meter values

    def set_temperature(self, evse_id: int, celsius: float) -> None:
        """Heat or cool an EVSE by hand (the window's Temperature… action); from there it
        drifts back towards what its load dictates. ValueError outside the variable's limits."""
        evse = self.evse(evse_id)
        if self.dm.find("EVSE", "Temperature", evse=evse_id) is None:
            raise ValueError(f"EVSE {evse_id} of station {self.station_id} has no Temperature variable")
        self.dm.set_actual("EVSE", "Temperature", f"{round(celsius, 1):g}", evse=evse_id)
        evse.electrics.thermal.temperature_c = celsius
        self.evse_changed.emit(evse)

    def _show_temperature(self, evse: Evse, celsius: float) -> None:
        """EVSE.Temperature follows the simulation (to 0.1 °C) where the model has it."""
        if self.dm.find("EVSE", "Temperature", evse=evse.evse_id) is not None:
            text = f"{round(celsius, 1):g}"
            self.dm.set_actual("EVSE", "Temperature", text, evse=evse.evse_id, validate=False)

    async def _tick_loop(self) -> None:
        """Step every EVSE's physics once per tick of simulated time; periodic and aligned values."""
        step = self.config.tick_seconds
        last = self.clock.monotonic()
        while True:
            await self.clock.sleep(step)
            now = self.clock.monotonic()
            dt, last = now - last, now
            for evse in self.evses.values():
                self._tick_evse(evse, dt, now)
            self.monitoring.tick()
            self._expire_reservations()
            self._clock_aligned_values()
            self.store.put("alive", repr(self.now().timestamp()))

    def _tick_evse(self, evse: Evse, dt: float, now: float) -> None:
        evse.reading = self._step(evse, dt, evse.energizing)
        load = evse.reading.power_w / evse.electrics.rated_power_w()
        self._show_temperature(evse, evse.electrics.thermal.step(dt, load))
        tx = evse.transaction
        conditions = evse.conditions()
        if tx is None:
            if "EnergyTransfer" in conditions and "EnergyTransfer" in self.dm.get_list(
                "TxCtrlr", "TxStartPoint"
            ):
                self._start_transaction(evse, "ChargingStateChanged")
        elif self._stop_condition_lost(tx, conditions):
            self._end_transaction(evse, "ChargingStateChanged", "StoppedByEV")
        else:
            self._tick_transaction(evse, tx, now)
        self.evse_changed.emit(evse)

    def _tick_transaction(self, evse: Evse, tx: Transaction, now: float) -> None:
        limit = self.dm.get_int("TxCtrlr", "MaxEnergyOnInvalidId", default=0)
        refused_at = tx.deauthorized_energy_wh
        used_up = refused_at is not None and evse.electrics.meter.register_wh - refused_at >= limit
        if used_up and not evse.energy_blocked:
            # E05.FR.02 / C15.FR.06: energy stops (reported below as ChargingStateChanged,
            # SuspendedEVSE); the transaction is not deauthorized.
            evse.message = "Energy allowed for a refused card is used up"
            evse.energy_blocked = True
        state = evse.charging_state()
        if tx.charging_state is not None and state != tx.charging_state:
            self.send_event(evse, "Updated", "ChargingStateChanged")
        interval = self.dm.get_int("SampledDataCtrlr", "TxUpdatedInterval")
        if interval > 0 and now - tx.last_periodic >= interval:
            tx.last_periodic += interval * ((now - tx.last_periodic) // interval)
            self.send_event(evse, "Updated", "MeterValuePeriodic")
        ended_interval = self.dm.get_int("SampledDataCtrlr", "TxEndedInterval", default=0)
        if ended_interval > 0 and now - tx.last_ended_sample >= ended_interval and evse.reading is not None:
            tx.last_ended_sample += ended_interval * ((now - tx.last_ended_sample) // ended_interval)
            mv = build_meter_value(
                evse.reading,
                self.dm.get_list("SampledDataCtrlr", "TxEndedMeasurands"),
                "Sample.Periodic",
                self.now(),
            )
            if mv is not None and len(tx.ended_samples) < _MAX_ENDED_SAMPLES:
                tx.ended_samples.append(mv)
        if evse.energizing:
            evse.message = _charging_message(evse)

    def _step(self, evse: Evse, dt: float, energizing: bool) -> Reading:
        """Physics under the composite limit of this instant (K08): the EVSE offers no more.

        A V2X period adds a setpoint the EV follows, discharging where every party allows it
        (Q); a change of operation mode is reported once, when time moves (K01.FR.110), and
        Dynamic profiles due for an update are pulled (K28.FR.10).
        """
        if dt > 0:
            self.smart.pull_dynamic_updates()
        limit = self.smart.limit(evse)
        if limit is None:
            evse.limit_w = None
            if dt > 0 and self.smart.operation_mode_changed(evse, "ChargingOnly"):
                self.send_event(evse, "Updated", "OperationModeChanged")
            return evse.electrics.step(dt, evse.ev, None, energizing)
        evse.limit_w = limit.watts if math.isfinite(limit.watts) else None
        # The pilot signals a current: a profile in A caps the current per phase exactly,
        # whatever the voltage does; the W figure caps the power.
        amps = [a for a in limit.amps if a > 0 and math.isfinite(a)]
        v2x = self.smart.v2x_control(evse, limit)
        if dt > 0 and self.smart.operation_mode_changed(evse, limit.operation_mode):
            self.send_event(evse, "Updated", "OperationModeChanged")
        return evse.electrics.step(
            dt,
            evse.ev,
            evse.limit_w,
            energizing,
            limit_a=min(amps) if amps else None,
            max_phases=limit.number_phases,
            setpoint_w=v2x.setpoint_w,
            discharge_limit_w=v2x.discharge_limit_w,
            allow_discharge=v2x.allow_discharge,
        )

    def _clock_aligned_values(self) -> None:
        """AlignedDataCtrlr: values at whole multiples of Interval since midnight (J01): in a
        TransactionEvent (MeterValueClock) during a transaction, as MeterValues otherwise."""
        interval = self.dm.get_int("AlignedDataCtrlr", "Interval", default=0)
        if interval <= 0:
            return
        now = self.now()
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        slot = int((now - midnight).total_seconds() // interval)
        key = midnight.timestamp() + slot * interval
        if self._last_aligned is None:
            self._last_aligned = key  # start counting from the next boundary
            return
        if key <= self._last_aligned:
            return
        self._last_aligned = key
        measurands = self.dm.get_list("AlignedDataCtrlr", "Measurands", default=[])
        if not measurands:
            return
        stamp = midnight + timedelta(seconds=slot * interval)
        for evse in self.evses.values():
            if evse.reading is None:
                continue
            if evse.transaction is not None:
                self._send_aligned_event(evse, measurands, stamp)
            elif self.dm.get_bool("AlignedDataCtrlr", "SendDuringIdle", default=True):
                mv = build_meter_value(evse.reading, measurands, "Sample.Clock", stamp)
                if mv is not None:
                    self.spawn(self._send_meter_values(evse.evse_id, [mv]), "aligned")

    def _send_aligned_event(self, evse: Evse, measurands: list[str], stamp: datetime) -> None:
        self.send_event(evse, "Updated", "MeterValueClock")
        assert evse.reading is not None
        mv = build_meter_value(evse.reading, measurands, "Sample.Clock", stamp)
        queued = self.store.queue_all()
        if mv is not None and queued:
            last = queued[-1]
            last.payload["meterValue"] = [mv]
            self.store.queue_update(last.id, payload=last.payload)

    async def _send_meter_values(self, evse_id: int, meter_values: list[dict[str, Any]]) -> None:
        conn = self.connection
        if conn is None or not self.online:
            return  # not transaction data: not queued (QueueAllMessages is false)
        try:
            await conn.call("MeterValues", {"evseId": evse_id, "meterValue": meter_values})
        except (CallTimeout, OcppError, ConnectionLost) as exc:
            log.info("%s: MeterValues failed: %s", self.station_id, exc)

    # ================================================================== reservations (H01-H04)

    def _reservation_matches(
        self, reservation: Reservation, token: dict[str, Any], info: dict[str, Any] | None
    ) -> bool:
        if _same_token(reservation.id_token, token):
            return True
        group = (info or {}).get("groupIdToken")
        return bool(reservation.group_id_token and group and _same_token(reservation.group_id_token, group))

    def _reservation_allows(self, evse: Evse, token: dict[str, Any], info: dict[str, Any] | None) -> bool:
        if evse.reservation is not None:
            return self._reservation_matches(evse.reservation, token, info)
        general = list(self._non_evse_reservations.values())
        if (
            general
            and self._is_free(evse)
            and not any(self._reservation_matches(r, token, info) for r in general)
        ):
            # H01.FR.07: taking this free EVSE must leave one free EVSE per open reservation.
            free = [e for e in self.evses.values() if self._is_free(e) or e.reservation in general]
            return len(free) - 1 >= len(general)
        return True

    def _take_reservation(
        self, evse: Evse, token: dict[str, Any], info: dict[str, Any] | None
    ) -> Reservation | None:
        """The reservation the authorized token consumes on this EVSE, if any (H01.FR.15)."""
        reservation = evse.reservation
        if reservation is not None and self._reservation_matches(reservation, token, info):
            evse.reservation = None
            self._non_evse_reservations.pop(reservation.reservation_id, None)
            self._save_reservations()
            return reservation
        for rid, general in list(self._non_evse_reservations.items()):
            if self._reservation_matches(general, token, info):
                del self._non_evse_reservations[rid]
                self._place_general_reservations()
                self._save_reservations()
                return general
        return None

    def reserve(self, payload: dict[str, Any]) -> dict[str, Any]:
        """ReserveNow (H01): check the target, record the reservation, show Reserved."""
        if not self.dm.get_bool("ReservationCtrlr", "Enabled", default=True):
            return {"status": "Rejected", "statusInfo": {"reasonCode": "NotEnabled"}}
        rid = int(payload["id"])
        reservation = Reservation(
            rid,
            datetime.fromisoformat(payload["expiryDateTime"].replace("Z", "+00:00")),
            payload["idToken"],
            payload.get("groupIdToken"),
            payload.get("evseId"),
            payload.get("connectorType"),
        )
        self._drop_reservation(rid)  # the same id replaces a reservation (H01.FR.02)
        wanted_type = reservation.connector_type
        if reservation.evse_id is None or reservation.evse_id == 0:
            if not self.dm.get_bool("ReservationCtrlr", "NonEvseSpecific", default=False):
                return {"status": "Rejected", "statusInfo": {"reasonCode": "NoNonEvseSpecific"}}
            candidates = [e for e in self.evses.values() if _has_type(e, wanted_type)]
            if not candidates:
                return {"status": "Rejected", "statusInfo": {"reasonCode": "UnknownConnectorType"}}
            free = [e for e in candidates if self._is_free(e)]
            if len(free) <= len(self._non_evse_reservations):
                return {"status": _busy_status(candidates, self.station_operative)}
            reservation.evse_id = None
            self._non_evse_reservations[rid] = reservation
            self._place_general_reservations()
            self._save_reservations()
            return {"status": "Accepted"}
        evse = self.evses.get(int(reservation.evse_id))
        if evse is None:
            return {"status": "Rejected", "statusInfo": {"reasonCode": "UnknownEvse"}}
        if not _has_type(evse, wanted_type):
            return {"status": "Rejected", "statusInfo": {"reasonCode": "UnknownConnectorType"}}
        if not self._is_free(evse):
            return {"status": _busy_status([evse], self.station_operative)}
        evse.reservation = reservation
        self._save_reservations()
        self.spawn(self.report_status(evse), "status")
        return {"status": "Accepted"}

    def _is_free(self, evse: Evse) -> bool:
        return (
            self.station_operative
            and evse.operative
            and not evse.faulted
            and not evse.plugged
            and evse.transaction is None
            and evse.authorized is None
            and evse.reservation is None
        )

    def _place_general_reservations(self) -> None:
        """Non-EVSE-specific reservations (H01): once free EVSEs are as few as open
        reservations, the remaining free ones show Reserved."""
        pending = list(self._non_evse_reservations.values())
        free = [e for e in self.evses.values() if self._is_free(e) or (e.reservation in pending)]
        before = {e.evse_id: e.reservation for e in self.evses.values()}
        for evse in free:
            if evse.reservation in pending:
                evse.reservation = None
        if pending and len(free) <= len(pending):
            for evse, reservation in zip(free, pending, strict=False):
                evse.reservation = reservation
        for evse in self.evses.values():
            if evse.reservation is not before[evse.evse_id]:  # only what changed: report_status calls this
                self.spawn(self.report_status(evse), "status")

    def _save_reservations(self) -> None:
        """Reservations survive a reboot (B11.FR.05)."""
        items: list[tuple[Reservation | None, int | None]] = [
            (e.reservation, e.evse_id) for e in self.evses.values() if e.reservation is not None
        ]
        items += [(r, None) for r in self._non_evse_reservations.values()]
        seen: set[int] = set()
        data = []
        for reservation, placed in items:
            if reservation is None or reservation.reservation_id in seen:
                continue
            seen.add(reservation.reservation_id)
            data.append(
                {
                    "id": reservation.reservation_id,
                    "expiry": reservation.expiry.isoformat(),
                    "idToken": reservation.id_token,
                    "groupIdToken": reservation.group_id_token,
                    "evseId": reservation.evse_id,
                    "connectorType": reservation.connector_type,
                    "placedOn": placed,
                }
            )
        self.store.put("reservations", json.dumps(data))

    def _load_reservations(self) -> None:
        for item in json.loads(self.store.get("reservations") or "[]"):
            reservation = Reservation(
                int(item["id"]),
                datetime.fromisoformat(item["expiry"]),
                item["idToken"],
                item.get("groupIdToken"),
                item.get("evseId"),
                item.get("connectorType"),
            )
            if reservation.evse_id is None:
                self._non_evse_reservations[reservation.reservation_id] = reservation
            placed = item.get("placedOn")
            if placed in self.evses:
                self.evses[placed].reservation = reservation

    def cancel_reservation(self, reservation_id: int) -> dict[str, Any]:
        """CancelReservation (H02)."""
        if self._drop_reservation(reservation_id):
            return {"status": "Accepted"}
        return {"status": "Rejected", "statusInfo": {"reasonCode": "UnknownReservation"}}

    def _drop_reservation(self, reservation_id: int) -> bool:
        found = self._non_evse_reservations.pop(reservation_id, None) is not None
        for evse in self.evses.values():
            if evse.reservation is not None and evse.reservation.reservation_id == reservation_id:
                evse.reservation = None
                found = True
                self.spawn(self.report_status(evse), "status")
        if found:
            self._place_general_reservations()
            self._save_reservations()
        return found

    async def remove_reservation(self, evse: Evse, status: str) -> None:
        """The reserved EVSE became unusable (H03 Removed) or the time ran out (H04 Expired)."""
        reservation = evse.reservation
        if reservation is None:
            return
        self._drop_reservation(reservation.reservation_id)
        conn = self.connection
        if conn is not None and self.online:
            try:
                await conn.call(
                    "ReservationStatusUpdate",
                    {"reservationId": reservation.reservation_id, "reservationUpdateStatus": status},
                )
            except (CallTimeout, OcppError, ConnectionLost) as exc:
                log.info("%s: ReservationStatusUpdate failed: %s", self.station_id, exc)

    def _expire_reservations(self) -> None:
        now = self.now()
        for evse in self.evses.values():
            if evse.reservation is not None and evse.reservation.expiry <= now:
                self.spawn(self.remove_reservation(evse, "Expired"), "reservation-expired")
        for rid, reservation in list(self._non_evse_reservations.items()):
            if reservation.expiry <= now:
                self._non_evse_reservations.pop(rid)
                self._place_general_reservations()
                self._save_reservations()
                self.spawn(self._announce_expiry(rid), "reservation-expired")

    async def _announce_expiry(self, reservation_id: int) -> None:
        conn = self.connection
        if conn is not None and self.online:
            try:
                await conn.call(
                    "ReservationStatusUpdate",
                    {"reservationId": reservation_id, "reservationUpdateStatus": "Expired"},
                )
            except (CallTimeout, OcppError, ConnectionLost) as exc:
                log.info("%s: ReservationStatusUpdate failed: %s", self.station_id, exc)


def _same_token(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """idTokens compare case-insensitively on the value, exactly on the type (C01)."""
    return str(a.get("idToken", "")).casefold() == str(b.get("idToken", "")).casefold() and a.get(
        "type"
    ) == b.get("type")


def _has_type(evse: Evse, connector_type: str | None) -> bool:
    return connector_type is None or any(c.connector_type == connector_type for c in evse.connectors)


def _busy_status(evses: list[Evse], station_operative: bool) -> str:
    """Why no EVSE can take a reservation: Faulted, Unavailable or Occupied (H01)."""
    if all(e.faulted for e in evses):
        return "Faulted"
    if not station_operative or all(not e.operative for e in evses):
        return "Unavailable"
    return "Occupied"


def _charging_message(evse: Evse) -> str:
    r = evse.reading
    if r is None or evse.ev is None:
        return "Charging"
    state = evse.charging_state()
    if state is ChargingState.SUSPENDED_EV:
        return f"EV full or paused ({evse.ev.soc_percent:.0f} %)"
    if state is ChargingState.SUSPENDED_EVSE:
        return "Paused by the station"
    if r.power_w < 0:
        return f"Discharging {-r.power_w / 1000:.1f} kW · {evse.ev.soc_percent:.0f} %"
    return f"Charging {r.power_w / 1000:.1f} kW · {evse.ev.soc_percent:.0f} %"
