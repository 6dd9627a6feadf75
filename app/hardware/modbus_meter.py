"""Poll a Modbus energy meter (TCP, or RTU on a USB-RS485 adapter) and feed an EVSE with it.

Polling is asyncio (pymodbus's async clients), so it never blocks the window or the station.
Each poll reads the map's blocks; a complete, decoded set of values goes to `on_values`. A poll
that fails (no answer, exception response, connection lost) keeps the last good values and
sends them again flagged stale, closes the connection and tries again at the next interval:
a meter that comes back is fresh again without anyone restarting anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from app.hardware.meter_maps import Block, RegisterMap, load_map
from app.signals import Signal
from app.station.meter import ExternalValues

if TYPE_CHECKING:
    # pymodbus takes ~60 ms to import and most sessions have no meter: it is imported when a
    # meter is first polled, not when the app starts.
    from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient

log = logging.getLogger(__name__)
# A meter that stops answering is this module's status to report, in its words and once;
# pymodbus would log it again on every poll, with hex frame dumps. An explicit level wins.
_pymodbus_log = logging.getLogger("pymodbus")
if _pymodbus_log.level == logging.NOTSET:
    _pymodbus_log.setLevel(logging.CRITICAL)

_PHASES = ("L1", "L2", "L3")


@dataclass(frozen=True, slots=True)
class MeterConfig:
    """One meter as the user configured it."""

    name: str
    map: str = "sdm630"  # bundled map name, or a path to a map file
    transport: Literal["tcp", "rtu"] = "tcp"
    host: str = "127.0.0.1"
    port: int = 502
    serial_port: str = "/dev/ttyUSB0"
    baudrate: int = 9600
    parity: Literal["N", "E", "O"] = "N"
    stopbits: int = 1
    unit_id: int = 1
    station_id: str | None = None
    evse_id: int = 1
    interval_s: float = 1.0
    timeout_s: float = 1.0

    @property
    def address(self) -> str:
        if self.transport == "tcp":
            return f"tcp://{self.host}:{self.port} unit {self.unit_id}"
        return f"rtu:{self.serial_port} {self.baudrate} {self.parity}{self.stopbits} unit {self.unit_id}"

    @property
    def target(self) -> str:
        return f"{self.station_id} / EVSE {self.evse_id}" if self.station_id else "not assigned"


class MeterStatus(StrEnum):
    STOPPED = "Stopped"
    CONNECTING = "Connecting"
    UNREACHABLE = "Not answering"
    OK = "Reading"
    STALE = "No answer: last values kept"
    FAILED = "Cannot start"


class MeterReadError(Exception):
    """One poll failed; the message says how, for the status line."""


def to_external(values: dict[str, float], *, stale: bool = False) -> ExternalValues:
    """Decoded map values (by name) as what an EVSE's electrics take."""

    def phases(quantity: str) -> tuple[float, float, float] | None:
        names = [f"{quantity}.{p}" for p in _PHASES]
        if not any(n in values for n in names):
            return None
        v1, v2, v3 = (values.get(n, 0.0) for n in names)
        return (v1, v2, v3)

    return ExternalValues(
        voltage_v=phases("voltage"),
        current_a=phases("current"),
        power_w=values.get("power"),
        energy_import_wh=values.get("energy.import"),
        energy_export_wh=values.get("energy.export"),
        frequency_hz=values.get("frequency"),
        stale=stale,
    )


def _check_serial_port(port: str) -> None:
    """Why a serial port cannot be opened, in words that say what to do (pymodbus only says no)."""
    if not os.path.exists(port):
        raise MeterReadError(f"no serial port {port}: is the USB-RS485 adapter plugged in?")
    if not os.access(port, os.R_OK | os.W_OK):
        raise MeterReadError(
            f"permission denied on {port}: add yourself to its group "
            "(sudo usermod -aG dialout $USER, then log in again)"
        )


class ModbusMeter:
    """Polls one meter; `on_values` receives every good reading and, on failures, the stale one."""

    def __init__(
        self,
        config: MeterConfig,
        *,
        register_map: RegisterMap | None = None,
        on_values: Callable[[ModbusMeter, ExternalValues], None] | None = None,
    ) -> None:
        self.config = config
        self.map = register_map or load_map(config.map)
        self._on_values = on_values
        self.status = MeterStatus.STOPPED
        self.detail = ""
        self.values: dict[str, float] = {}  # last good, by map name, station units
        self.external: ExternalValues | None = None
        self.last_ok_at: float | None = None  # time.time() of the last good poll
        self.polls = 0
        self.failures = 0
        self.changed: Signal[[ModbusMeter]] = Signal()
        self._client: AsyncModbusTcpClient | AsyncModbusSerialClient | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def stale(self) -> bool:
        return self.status == MeterStatus.STALE

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if self._task is None:
            self._set(MeterStatus.CONNECTING, "")
            self._task = asyncio.ensure_future(self._poll_forever())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._disconnect()
        self._set(MeterStatus.STOPPED, "")

    def reconfigure(self, **changes: Any) -> None:
        """Change address or assignment; the next poll uses it (a new connection if needed)."""
        self.config = replace(self.config, **changes)
        if "map" in changes:
            self.map = load_map(self.config.map)
        self._disconnect()

    async def _poll_forever(self) -> None:
        while True:
            started = asyncio.get_running_loop().time()
            await self.poll()
            elapsed = asyncio.get_running_loop().time() - started
            await asyncio.sleep(max(0.05, self.config.interval_s - elapsed))

    # ------------------------------------------------------------------ polling

    async def poll(self) -> bool:
        """One reading; True when it was good. Never raises for a meter that misbehaves."""
        from pymodbus.exceptions import ModbusException

        self.polls += 1
        try:
            values = await asyncio.wait_for(self.read_once(), self.config.timeout_s * 2 + 1)
        except (MeterReadError, ModbusException, OSError, TimeoutError) as exc:
            self.failures += 1
            self._disconnect()
            self._failed(self._why(exc))
            return False
        self.values = values
        self.last_ok_at = time.time()
        self.external = to_external(values)
        self._set(MeterStatus.OK, "")
        if self._on_values is not None:
            self._on_values(self, self.external)
        return True

    async def read_once(self) -> dict[str, float]:
        """Read and decode every block of the map once."""
        client = await self._connected()
        raw: dict[Block, list[int]] = {}
        for block in self.map.blocks():
            read = client.read_input_registers if block.function == "input" else client.read_holding_registers
            response = await read(block.start, count=block.count, device_id=self.config.unit_id)
            if response.isError():
                code = getattr(response, "exception_code", "?")
                last = block.start + block.count - 1
                raise MeterReadError(
                    f"the meter answered exception {code} to {block.function} registers "
                    f"{block.start}..{last}: wrong map or unit id?"
                )
            raw[block] = list(response.registers)
        return self.map.decode(raw)

    async def _connected(self) -> AsyncModbusTcpClient | AsyncModbusSerialClient:
        if self._client is not None and self._client.connected:
            return self._client
        from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient

        self._disconnect()
        cfg = self.config
        client: AsyncModbusTcpClient | AsyncModbusSerialClient
        if cfg.transport == "tcp":
            client = AsyncModbusTcpClient(
                cfg.host, port=cfg.port, timeout=cfg.timeout_s, retries=0, reconnect_delay=0
            )
        else:
            _check_serial_port(cfg.serial_port)
            client = AsyncModbusSerialClient(
                cfg.serial_port,
                baudrate=cfg.baudrate,
                parity=cfg.parity,
                stopbits=cfg.stopbits,
                timeout=cfg.timeout_s,
                retries=0,
                reconnect_delay=0,
            )
        self._client = client
        if not await client.connect():
            raise MeterReadError("cannot connect (refused, unreachable or port busy)")
        return client

    def _why(self, exc: BaseException) -> str:
        """pymodbus's wording, in a tester's."""
        from pymodbus.exceptions import ConnectionException, ModbusIOException

        if isinstance(exc, TimeoutError | ModbusIOException):
            return f"no answer within {self.config.timeout_s:g} s"
        if isinstance(exc, ConnectionException):
            return "connection lost"
        if isinstance(exc, OSError) and exc.strerror:
            return exc.strerror
        return str(exc) or type(exc).__name__

    def _disconnect(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()

    def _failed(self, why: str) -> None:
        if self.external is None:  # never read: nothing to keep
            self._set(MeterStatus.UNREACHABLE, why)
            return
        self.external = to_external(self.values, stale=True)
        since = time.strftime("%H:%M:%S", time.localtime(self.last_ok_at)) if self.last_ok_at else "?"
        self._set(MeterStatus.STALE, f"{why}; values from {since}")
        if self._on_values is not None:
            self._on_values(self, self.external)

    def _set(self, status: MeterStatus, detail: str) -> None:
        if status != self.status and status in (MeterStatus.STALE, MeterStatus.OK) and self.polls > 1:
            log.info("meter %s: %s %s", self.config.name, status.value, detail)
        self.status, self.detail = status, detail
        self.changed.emit(self)
