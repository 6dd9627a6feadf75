"""State of one EVSE of an emulated station: connector, EV, authorization, transaction.

The transaction rules are driven by TxCtrlr.TxStartPoint / TxStopPoint (E01, E06): a
transaction starts when any start condition becomes true and ends when any stop condition
stops being true. `conditions()` is the one place that says which conditions hold now.
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
    remote_start_id: int | None = None  # sent once, in the next event after RequestStart (F01)
    evse_reported: bool = False  # `evse` goes in the first event after the EV is connected
    token_reported: bool = False
    charging_state: ChargingState | None = None
    last_periodic: float = 0.0  # station monotonic seconds of the last periodic meter value
    phases_reported: int | None = None
    # Start/stop-point conditions that have held at some moment of this transaction: a stop
    # point ends it only once it was true during it (E06), so a transaction started by
    # Authorized does not end at once because no cable is in yet.
    conditions_seen: set[str] = field(default_factory=set)

    def next_seq(self) -> int:
        seq = self.seq_no
        self.seq_no += 1
        return seq


@dataclass(slots=True)
class Evse:
    evse_id: int
    electrics: EvseElectrics
    connector_id: int = 1
    connector_type: str = "cType2"
    status: ConnectorStatus = ConnectorStatus.AVAILABLE
    reported_status: ConnectorStatus | None = None
    operative: bool = True
    scheduled_operative: bool | None = None  # ChangeAvailability answered Scheduled (G03)
    plugged: bool = False
    ev: EVModel | None = None
    authorized: dict[str, Any] | None = None  # the idToken that authorized this EVSE
    authorized_at: float | None = None
    transaction: Transaction | None = None
    message: str = "Available: plug in or present a card"
    reading: Reading | None = field(default=None)
    last_transaction_id: str | None = None

    def conditions(self) -> set[str]:
        """The TxStartPoint / TxStopPoint values that hold right now."""
        now: set[str] = set()
        if self.plugged:
            now |= {"EVConnected", "ParkingBayOccupancy"}
        if self.authorized is not None:
            now.add("Authorized")
        if self.plugged and self.authorized is not None:
            now.add("PowerPathClosed")
        if self.reading is not None and self.reading.power_w > 0:
            now.add("EnergyTransfer")
        return now

    @property
    def energizing(self) -> bool:
        """Power path closed and nothing forbids energy: the contactor is on."""
        return self.operative and self.plugged and self.authorized is not None

    def charging_state(self) -> ChargingState:
        if not self.plugged:
            return ChargingState.IDLE
        if not self.energizing or self.ev is None:
            return ChargingState.EV_CONNECTED
        if not self.ev.wants_energy:
            return ChargingState.SUSPENDED_EV
        if self.reading is not None and self.reading.offered_w <= 0:
            return ChargingState.SUSPENDED_EVSE
        return ChargingState.CHARGING

    def derived_status(self) -> ConnectorStatus:
        if not self.operative:
            return ConnectorStatus.UNAVAILABLE
        return (
            ConnectorStatus.OCCUPIED
            if self.plugged or self.transaction is not None
            else ConnectorStatus.AVAILABLE
        )
