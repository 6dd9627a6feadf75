"""What describes one emulated station before it runs: identity, CSMS, hardware shape.

Profile files (app/station/profile.py) and templates of real charger models produce these;
the CLI and the window build them directly for quick starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.protocol.schemas import OcppVersion
from app.transport.client import DEFAULT_VERSIONS


@dataclass(slots=True)
class ConnectorSpec:
    connector_type: str = "cType2"  # appendix ConnectorEnumType value, e.g. cType2, cCCS2, sType2
    max_current_a: float | None = None  # None: the EVSE's rating


@dataclass(slots=True)
class EvseSpec:
    connectors: list[ConnectorSpec] = field(default_factory=lambda: [ConnectorSpec()])
    phases: int = 3  # AC phases wired; 0 for DC
    max_current_a: float = 32.0  # per phase (AC)
    dc_max_power_w: float | None = None  # DC EVSEs: rated power
    nominal_voltage_v: float = 230.0

    @property
    def rated_power_w(self) -> float:
        if self.dc_max_power_w is not None:
            return self.dc_max_power_w
        return self.max_current_a * self.nominal_voltage_v * max(1, self.phases)


@dataclass(slots=True)
class StationConfig:
    station_id: str
    csms_url: str
    versions: tuple[OcppVersion, ...] = DEFAULT_VERSIONS
    password: str | None = field(default=None, repr=False)  # SecurityCtrlr.BasicAuthPassword
    password_env: str | None = None  # the environment variable a profile took the password from
    security_profile: int = 1
    # Quick shape: `evse_count` identical AC EVSEs (used when `evses` is empty).
    evse_count: int = 1
    max_current_a: float = 32.0
    phases: int = 3
    connector_type: str = "cType2"
    evses: list[EvseSpec] = field(default_factory=list)
    vendor: str = "ChargeBench"
    model: str = "Emulated AC 22"
    serial_number: str | None = None
    firmware_version: str = "0.1.0"
    ca_file: str | None = None
    verify_tls: bool = True
    client_cert: str | None = None
    client_key: str | None = None
    # Device-model overrides, e.g. {"OCPPCommCtrlr.HeartbeatInterval": "60"}
    overrides: dict[str, str] = field(default_factory=dict)
    # DataTransfer answers: "vendorId" or "vendorId/messageId" -> {"status": ..., "data": ...}
    data_transfer: dict[str, dict[str, object]] = field(default_factory=dict)
    state_path: str | None = None  # SQLite file for persistent state; None keeps it in memory
    tick_seconds: float = 1.0  # physics step in simulated seconds
    call_timeout: float = 30.0

    def __post_init__(self) -> None:
        if not self.station_id or len(self.station_id) > 48 or ":" in self.station_id:
            raise ValueError("station id must be 1..48 characters without ':'")
        if not self.evses:
            if self.evse_count < 1:
                raise ValueError("a station needs at least one EVSE")
            self.evses = [
                EvseSpec([ConnectorSpec(self.connector_type)], self.phases, self.max_current_a)
                for _ in range(self.evse_count)
            ]
        self.evse_count = len(self.evses)
        if any(not spec.connectors for spec in self.evses):
            raise ValueError("every EVSE needs at least one connector")
        if self.security_profile not in (1, 2, 3):
            raise ValueError("security profile must be 1, 2 or 3")
        if self.serial_number is None:
            self.serial_number = f"CB-{self.station_id}"[:25]
