"""What describes one emulated station before it runs: identity, CSMS, hardware shape."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.protocol.schemas import OcppVersion
from app.transport.client import DEFAULT_VERSIONS


@dataclass(slots=True)
class StationConfig:
    station_id: str
    csms_url: str
    versions: tuple[OcppVersion, ...] = DEFAULT_VERSIONS
    password: str | None = field(default=None, repr=False)  # SecurityCtrlr.BasicAuthPassword
    evse_count: int = 1
    vendor: str = "ChargeBench"
    model: str = "Emulated AC 22"
    serial_number: str | None = None
    firmware_version: str = "0.1.0"
    max_current_a: float = 32.0
    phases: int = 3
    connector_type: str = "cType2"
    ca_file: str | None = None
    verify_tls: bool = True
    client_cert: str | None = None
    client_key: str | None = None
    # Device-model overrides, e.g. {"OCPPCommCtrlr.HeartbeatInterval": "60"}
    overrides: dict[str, str] = field(default_factory=dict)
    tick_seconds: float = 1.0  # physics step in simulated seconds
    call_timeout: float = 30.0

    def __post_init__(self) -> None:
        if not self.station_id or len(self.station_id) > 48 or ":" in self.station_id:
            raise ValueError("station id must be 1..48 characters without ':'")
        if self.evse_count < 1:
            raise ValueError("a station needs at least one EVSE")
        if self.serial_number is None:
            self.serial_number = f"CB-{self.station_id}"[:25]
