"""The session's real hardware: readers and meters, bound to its stations by station id.

Readers and meters name a station id and an EVSE rather than holding a station, so a station
can be removed and added again (or not exist yet) without the hardware breaking: a tap for
a station that is not running says so, a meter for an EVSE that does not exist reads on and
drives nothing until one does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from app.hardware.modbus_meter import MeterConfig, ModbusMeter
from app.hardware.rfid import ReaderConfig, ReaderManager
from app.signals import Signal
from app.station.meter import ExternalValues

if TYPE_CHECKING:
    from app.station.evse import Evse
    from app.station.station import Station


class Hardware:
    def __init__(
        self,
        stations: Callable[[], Mapping[str, Station]],
        *,
        usb_backend: Any = None,
        scan_interval: float = 1.0,
    ) -> None:
        self._stations = stations
        self.readers = ReaderManager(on_tap=self._tap, backend=usb_backend, scan_interval=scan_interval)
        self.meters: list[ModbusMeter] = []
        self.meters_changed: Signal[[]] = Signal()  # a meter was added or removed
        self.started = False

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Scan for readers and poll meters from now on (needs a running event loop)."""
        if self.started:
            return
        self.started = True
        self.readers.start()
        for meter in self.meters:
            meter.start()

    async def stop(self) -> None:
        if not self.started:
            return
        self.started = False
        await self.readers.stop()
        for meter in self.meters:
            await meter.stop()
            self._drive(meter.config, None)

    # ------------------------------------------------------------------ configuration

    def add_reader(self, config: ReaderConfig) -> None:
        self.readers.configs.append(config)

    def add_meter(self, config: MeterConfig) -> ModbusMeter:
        """Poll a meter (raises MeterMapError for a map that cannot be used)."""
        meter = ModbusMeter(config, on_values=self._meter_values)
        self.meters.append(meter)
        if self.started:
            meter.start()
        self.meters_changed.emit()
        return meter

    async def remove_meter(self, meter: ModbusMeter) -> None:
        await meter.stop()
        self._drive(meter.config, None)
        self.meters.remove(meter)
        self.meters_changed.emit()

    def assign_meter(self, meter: ModbusMeter, station_id: str | None, evse_id: int) -> None:
        """Drive another EVSE; the one it drove so far goes back to simulated values."""
        self._drive(meter.config, None)
        meter.reconfigure(station_id=station_id, evse_id=evse_id)
        if meter.external is not None:
            self._drive(meter.config, meter.external)
        meter.changed.emit(meter)

    # ------------------------------------------------------------------ the station side

    def evse(self, station_id: str | None, evse_id: int | None) -> Evse | None:
        station = self._stations().get(station_id) if station_id else None
        if station is None or evse_id is None:
            return None
        return station.evses.get(evse_id)

    def _meter_values(self, meter: ModbusMeter, values: ExternalValues) -> None:
        self._drive(meter.config, values)

    def _drive(self, config: MeterConfig, values: ExternalValues | None) -> None:
        evse = self.evse(config.station_id, config.evse_id)
        if evse is None:
            return
        evse.electrics.set_external(values)
        if evse.reading is not None:  # shown at once, not only after the next tick
            evse.reading = evse.electrics.reading

    async def _tap(self, config: ReaderConfig, token: str) -> str:
        if config.station_id is None:
            raise LookupError("the reader is not assigned to a station")
        station = self._stations().get(config.station_id)
        if station is None:
            raise LookupError(f"station {config.station_id} is not running")
        if config.evse_id is not None and config.evse_id not in station.evses:
            raise LookupError(f"station {config.station_id} has no EVSE {config.evse_id}")
        return await station.tap(token, config.evse_id, config.token_type)
