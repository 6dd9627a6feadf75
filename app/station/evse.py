"""State of one EVSE of an emulated station: connectors, EV, authorization, transaction.

The transaction rules are driven by TxCtrlr.TxStartPoint / TxStopPoint (E01, E06): a
transaction starts when any start condition becomes true and ends when any stop condition that
held during it stops being true. `conditions()` is the one place that says which hold now.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from app.station.ev import EVModel
from app.station.meter import EvseElectrics, Reading


class ConnectorStatus(StrEnum):
    AVAILABLE = "Available"
    OCCUPIED = "Occupied"
    RESERVED = "Reserved"
    UNAVAILABLE = "Unavailable"
    FAULTED = "Faulted"


class ChargingState(StrEnum):
    EV_CONNECTED = "EVConnected"
    CHARGING = "Charging"
    SUSPENDED_EV = "SuspendedEV"
    SUSPENDED_EVSE = "SuspendedEVSE"
    IDLE = "Idle"


@dataclass(slots=True)
class Transaction:
    transaction_id: str
    started_at: datetime
    seq_no: int = 0  # next seqNo to use: Started carries 0, then +1 per event
    id_token: dict[str, Any] | None = None
    id_token_info: dict[str, Any] | None = None  # the verdict that authorized it (group id)
    remote_start_id: int | None = None  # sent once, in the next event after RequestStart (F02.FR.01)
    reservation_id: int | None = None  # sent once, when a reservation is consumed (H01.FR.15)
    evse_reported: bool = False  # `evse` goes in the first event after the EV is connected
    token_reported: bool = False
    charging_state: ChargingState | None = None
    last_periodic: float = 0.0  # station monotonic seconds of the last periodic meter value
    last_ended_sample: float = 0.0  # of the last TxEndedInterval sample
    phases_reported: int | None = None
    meter_start_wh: float = 0.0
    ended_samples: list[dict[str, Any]] = field(default_factory=list)  # TxEndedInterval values
    # Start/stop-point conditions that have held at some moment of this transaction: a stop
    # point ends it only once it was true during it (E06), so a transaction started by
    # Authorized does not end at once because no cable is in yet.
    conditions_seen: set[str] = field(default_factory=set)
    deauthorized_energy_wh: float | None = None  # register when the CSMS refused the token (E05)

    def next_seq(self) -> int:
        seq = self.seq_no
        self.seq_no += 1
        return seq

    def to_dict(self) -> dict[str, Any]:
        return {
            "transactionId": self.transaction_id,
            "startedAt": self.started_at.isoformat(),
            "seqNo": self.seq_no,
            "idToken": self.id_token,
            "idTokenInfo": self.id_token_info,
            "remoteStartId": self.remote_start_id,
            "reservationId": self.reservation_id,
            "evseReported": self.evse_reported,
            "tokenReported": self.token_reported,
            "chargingState": self.charging_state.value if self.charging_state else None,
            "phasesReported": self.phases_reported,
            "meterStartWh": self.meter_start_wh,
            "conditionsSeen": sorted(self.conditions_seen),
            "deauthorizedEnergyWh": self.deauthorized_energy_wh,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Transaction:
        tx = cls(data["transactionId"], datetime.fromisoformat(data["startedAt"]))
        tx.seq_no = int(data.get("seqNo", 0))
        tx.id_token = data.get("idToken")
        tx.id_token_info = data.get("idTokenInfo")
        tx.remote_start_id = data.get("remoteStartId")
        tx.reservation_id = data.get("reservationId")
        tx.evse_reported = bool(data.get("evseReported"))
        tx.token_reported = bool(data.get("tokenReported"))
        state = data.get("chargingState")
        tx.charging_state = ChargingState(state) if state else None
        tx.phases_reported = data.get("phasesReported")
        tx.meter_start_wh = float(data.get("meterStartWh", 0.0))
        tx.conditions_seen = set(data.get("conditionsSeen", []))
        tx.deauthorized_energy_wh = data.get("deauthorizedEnergyWh")
        return tx


@dataclass(slots=True)
class Connector:
    connector_id: int
    connector_type: str = "cType2"
    max_current_a: float | None = None
    operative: bool = True  # ChangeAvailability on this connector
    faulted: bool = False
    reported_status: ConnectorStatus | None = None
    status: ConnectorStatus = ConnectorStatus.AVAILABLE


@dataclass(slots=True)
class Reservation:
    reservation_id: int
    expiry: datetime
    id_token: dict[str, Any]
    group_id_token: dict[str, Any] | None = None
    evse_id: int | None = None  # None: any EVSE (ReservationCtrlr.NonEvseSpecific)
    connector_type: str | None = None


@dataclass(slots=True)
class Evse:
    evse_id: int
    electrics: EvseElectrics
    connectors: list[Connector] = field(default_factory=lambda: [Connector(1)])
    operative: bool = True  # ChangeAvailability on the EVSE (or the station)
    scheduled_operative: bool | None = None  # ChangeAvailability answered Scheduled (G03.FR.05)
    plugged_connector: int | None = None  # which connector the EV is plugged into
    ev: EVModel | None = None
    ev_side_disconnected: bool = False  # cable pulled at the car, still in the socket (E10)
    limit_w: float | None = None  # the composite schedule's limit obeyed at the last step
    # The transaction goes on, but no energy flows until it ends: resumed after a reboot while
    # TxCtrlr.AllowEnergyTransferResumption is false (E17, B13.FR.25), or its token was refused
    # and MaxEnergyOnInvalidId is used up (E05.FR.02).
    energy_blocked: bool = False
    authorized: dict[str, Any] | None = None  # the idToken that authorizes this EVSE now
    authorized_info: dict[str, Any] | None = None
    authorized_at: float | None = None
    auth_status: str | None = None  # last authorization outcome, for the display
    transaction: Transaction | None = None
    reservation: Reservation | None = None
    message: str = "Available: plug in or present a card"
    reading: Reading | None = field(default=None)
    last_transaction_id: str | None = None

    @property
    def plugged(self) -> bool:
        return self.plugged_connector is not None

    @property
    def faulted(self) -> bool:
        return any(c.faulted for c in self.connectors)

    def connector(self, connector_id: int) -> Connector | None:
        return next((c for c in self.connectors if c.connector_id == connector_id), None)

    @property
    def connector_id(self) -> int:
        """The connector in use, or the first one."""
        return self.plugged_connector or self.connectors[0].connector_id

    @property
    def connector_type(self) -> str:
        connector = self.connector(self.connector_id)
        return connector.connector_type if connector else self.connectors[0].connector_type

    @property
    def status(self) -> ConnectorStatus:
        """The status of the connector in use (or the first): what a one-line view shows."""
        connector = self.connector(self.connector_id)
        return connector.status if connector else ConnectorStatus.AVAILABLE

    def conditions(self) -> set[str]:
        """The TxStartPoint / TxStopPoint values that hold right now."""
        now: set[str] = set()
        if self.plugged:
            now.add("ParkingBayOccupancy")
            if not self.ev_side_disconnected:
                now.add("EVConnected")
        if self.authorized is not None:
            now.add("Authorized")
        if "EVConnected" in now and self.authorized is not None:
            now.add("PowerPathClosed")
        if self.reading is not None and self.reading.power_w != 0:  # export is a transfer too (V2X)
            now.add("EnergyTransfer")
        return now

    @property
    def energizing(self) -> bool:
        """Power path closed and nothing forbids energy: the contactor is on."""
        return (
            self.operative
            and not self.faulted
            and self.plugged
            and not self.ev_side_disconnected
            and self.authorized is not None
            and not self.energy_blocked
        )

    def charging_state(self) -> ChargingState:
        if not self.plugged or self.ev_side_disconnected:
            return ChargingState.IDLE
        if self.ev is None or (not self.energizing and self.authorized is None):
            return ChargingState.EV_CONNECTED
        if not self.energizing:
            return ChargingState.SUSPENDED_EVSE
        if self.reading is not None and self.reading.power_w < 0:
            return ChargingState.CHARGING  # discharging: energy flows, only the other way (Q)
        if not self.ev.wants_energy:
            return ChargingState.SUSPENDED_EV
        if self.reading is not None and self.reading.offered_w <= 0:
            return ChargingState.SUSPENDED_EVSE
        return ChargingState.CHARGING

    def derived_status(self, connector: Connector, station_operative: bool) -> ConnectorStatus:
        """Connector status by precedence: Faulted, Unavailable, Reserved, Occupied, Available.

        A reserved connector stays Reserved while an EV is plugged in without the reserved
        token (G01.FR.09); the siblings of a connector in use keep their status (G01.FR.08).
        """
        if connector.faulted:
            return ConnectorStatus.FAULTED
        if not (station_operative and self.operative and connector.operative):
            return ConnectorStatus.UNAVAILABLE
        if self.reservation is not None:
            return ConnectorStatus.RESERVED
        in_use = self.plugged_connector == connector.connector_id or (
            self.transaction is not None
            and self.plugged_connector is None
            and connector is self.connectors[0]
        )
        return ConnectorStatus.OCCUPIED if in_use else ConnectorStatus.AVAILABLE
