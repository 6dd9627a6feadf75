"""Simulated twins of Modbus energy meters: pymodbus's own server serving a register map.

`SimulatedMeter` answers exactly like a meter of that map would (same tables, addresses,
types and word order), over Modbus TCP on loopback or Modbus RTU on a serial port, so the
polling code under test is the one that talks to real meters. `PtyLink` joins two
pseudo-terminals like a null-modem cable, for RTU without an adapter.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import threading
import tty
from collections.abc import Mapping

from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from app.hardware.meter_maps import RegisterMap

_WRITE_REGISTERS = 16  # the function code whose table the simulated values are written through


class SimulatedMeter:
    """A register map served by pymodbus, with values a test or a demo sets (station units)."""

    def __init__(self, register_map: RegisterMap, values: Mapping[str, float], *, unit_id: int = 1) -> None:
        self.map = register_map
        self.unit_id = unit_id
        self.values = dict(values)
        self._server: ModbusTcpServer | ModbusSerialServer | None = None
        self._task: asyncio.Task[None] | None = None
        self.port = 0

    def _device(self) -> SimDevice:
        blocks = [
            SimData(block.start, count=block.count, values=0, datatype=DataType.REGISTERS)
            for block in self.map.blocks()
        ]
        return SimDevice(self.unit_id, blocks)

    async def start_tcp(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Serve on `host:port` (0: a free port); returns the port."""
        server = ModbusTcpServer(self._device(), address=(host, port))
        await self._run(server)
        sockets = getattr(server.transport, "sockets", None)
        self.port = sockets[0].getsockname()[1] if sockets else port
        return self.port

    async def start_rtu(self, serial_port: str, *, baudrate: int = 9600) -> None:
        await self._run(ModbusSerialServer(self._device(), port=serial_port, baudrate=baudrate))

    async def _run(self, server: ModbusTcpServer | ModbusSerialServer) -> None:
        self._server = server
        self._task = asyncio.ensure_future(server.serve_forever())
        for _ in range(200):
            if server.transport is not None or self._task.done():
                break
            await asyncio.sleep(0.01)
        if self._task.done():
            self._task.result()  # raises why it could not listen
        await self.set_values(self.values)

    async def set_values(self, values: Mapping[str, float]) -> None:
        """What the meter measures now; names as in the map ("voltage.L1", "energy.import")."""
        self.values.update(values)
        server = self._server
        if server is None:
            return
        for name, value in values.items():
            spec = self.map.value(name)
            if spec is None:
                raise KeyError(f"{self.map.name} has no {name}")
            await server.async_setValues(self.unit_id, _WRITE_REGISTERS, spec.register, spec.encode(value))

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            await server.shutdown()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    @property
    def running(self) -> bool:
        return self._server is not None


class PtyLink:
    """Two pseudo-terminals wired to each other: what one side writes, the other reads.

    A thread relays between the two master ends, as a null-modem cable (or socat) would.
    """

    def __init__(self) -> None:
        self._masters: list[int] = []
        self._slaves: list[int] = []
        self.ports: list[str] = []
        for _ in range(2):
            master, slave = os.openpty()
            tty.setraw(slave)
            self._masters.append(master)
            self.ports.append(os.ttyname(slave))
            self._slaves.append(slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._relay, name="pty-link", daemon=True)
        self._thread.start()

    def _relay(self) -> None:
        a, b = self._masters
        peer = {a: b, b: a}
        while not self._stop.is_set():
            ready, _, _ = select.select([a, b], [], [], 0.05)
            for fd in ready:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    continue
                if data:
                    os.write(peer[fd], data)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(1.0)
        for fd in self._masters + self._slaves:
            with contextlib.suppress(OSError):
                os.close(fd)
