"""Real hardware for a headless station (`chargebench station --profile FILE`).

Starts what the profile's `hardware` section names and tells the terminal what a window would
show: readers ready, denied (with the udev rule to add), unplugged; each read and its
authorization; meters reading, stale, back.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, TextIO

from app.hardware.meter_maps import MeterMapError
from app.hardware.modbus_meter import ModbusMeter
from app.hardware.rfid import ReaderState, ReaderStatus
from app.hardware.setup import hardware_from_profile

if TYPE_CHECKING:
    from app.session import Session


class _Printer:
    def __init__(self, out: TextIO, err: TextIO) -> None:
        self.out, self.err = out, err
        self._shown: dict[str, str] = {}

    def _once(self, key: str, text: str, stream: TextIO) -> None:
        if self._shown.get(key) != text:
            self._shown[key] = text
            print(f"chargebench: {text}", file=stream, flush=True)

    def reader(self, state: ReaderState) -> None:
        name = f"reader {state.ident}"
        if state.config is not None and state.config.name:
            name += f" ({state.config.name})"
        if state.status == ReaderStatus.DENIED:
            self._once(state.ident, f"{name}: {state.status.value}\n{state.detail}", self.err)
        elif state.status != ReaderStatus.DETECTED:
            target = f" -> {state.config.target}" if state.config is not None else ""
            detail = f": {state.detail}" if state.detail and state.status != ReaderStatus.READY else ""
            self._once(state.ident, f"{name} {state.status.value}{detail}{target}", self.out)

    def tap(self, state: ReaderState, token: str, result: str) -> None:
        detail = f" ({state.detail})" if state.detail else ""
        text = f"chargebench: reader {state.ident} read {token} -> {result}{detail}"
        print(text, file=self.out, flush=True)

    def meter(self, meter: ModbusMeter) -> None:
        detail = f": {meter.detail}" if meter.detail else ""
        text = f"meter {meter.config.name} ({meter.config.address}) {meter.status.value}{detail}"
        self._once(f"meter:{meter.config.name}", text, self.out)


def start_profile_hardware(
    session: Session, profile: str | os.PathLike[str], station_id: str, out: TextIO, err: TextIO
) -> int:
    """0 when started (or nothing to start), 2 when the section cannot be used (said on `err`)."""
    try:
        setup = hardware_from_profile(profile, station_id)
    except MeterMapError as exc:
        print(f"chargebench: {exc}", file=err)
        return 2
    if not setup:
        return 0
    hardware = session.hardware
    printer = _Printer(out, err)
    hardware.readers.changed.connect(printer.reader)
    hardware.readers.tapped.connect(printer.tap)
    for reader in setup.readers:
        hardware.add_reader(reader)
    for config in setup.meters:
        hardware.add_meter(config).changed.connect(printer.meter)
    hardware.start()
    for state in hardware.readers.rows():  # configured but not (yet) plugged in
        printer.reader(state)
    if hardware.readers.error:
        print(f"chargebench: {hardware.readers.error}", file=err)
    return 0
