"""The `hardware` section of a station profile, as reader and meter configurations.

`load_profile` has already checked the section against the schema (with line numbers); this
module turns it into configurations and checks what a schema cannot: that each meter's
register map exists and can be used.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from app.hardware.meter_maps import MeterMapError, load_map
from app.hardware.modbus_meter import MeterConfig
from app.hardware.rfid import ReaderConfig
from app.hardware.uid_format import UidFormat


@dataclass(slots=True)
class HardwareSetup:
    readers: list[ReaderConfig] = field(default_factory=list)
    meters: list[MeterConfig] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.readers or self.meters)


def _usb_id(text: str) -> int:
    return int(text, 16)


def _reader(data: dict[str, Any], station_id: str) -> ReaderConfig:
    uid = data.get("uid", {})
    return ReaderConfig(
        vendor_id=_usb_id(data["vendorId"]),
        product_id=_usb_id(data["productId"]),
        name=data.get("name", ""),
        station_id=station_id,
        evse_id=data.get("evse"),
        token_type=data.get("tokenType", "ISO14443"),
        uid=UidFormat(
            typed=uid.get("typed", "hex"),
            output=uid.get("output", "hex"),
            byte_order=uid.get("byteOrder", "as-read"),
            length=uid.get("length"),
        ),
    )


def _meter(data: dict[str, Any], station_id: str, base: Path, n: int) -> MeterConfig:
    map_name = data["map"]
    if map_name.endswith(".json"):
        map_name = str(base / map_name)
    load_map(map_name)  # a map that cannot be used stops the start, with its reason
    kwargs: dict[str, Any] = {
        "name": data.get("name") or f"meter {n + 1}",
        "map": map_name,
        "unit_id": data.get("unitId", 1),
        "station_id": station_id,
        "evse_id": data.get("evse", 1),
        "interval_s": float(data.get("interval", 1.0)),
    }
    if "tcp" in data:
        kwargs |= {"transport": "tcp", "host": data["tcp"]["host"], "port": data["tcp"].get("port", 502)}
    else:
        rtu = data["rtu"]
        kwargs |= {
            "transport": "rtu",
            "serial_port": rtu["port"],
            "baudrate": rtu.get("baudrate", 9600),
            "parity": rtu.get("parity", "N"),
            "stopbits": rtu.get("stopbits", 1),
        }
    return MeterConfig(**kwargs)


def hardware_from_profile(path: str | os.PathLike[str], station_id: str) -> HardwareSetup:
    """Readers and meters a (checked) profile names, assigned to `station_id`.

    Raises MeterMapError (a ValueError) naming the profile when a meter's map cannot be used.
    """
    file = Path(path)
    data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    section = data.get("hardware", {})
    setup = HardwareSetup(readers=[_reader(r, station_id) for r in section.get("readers", [])])
    for n, meter in enumerate(section.get("meters", [])):
        try:
            setup.meters.append(_meter(meter, station_id, file.parent, n))
        except MeterMapError as exc:
            raise MeterMapError(f"{path}: hardware.meters[{n}].map: {exc}") from None
    return setup


def profile_names_hardware(path: str | os.PathLike[str]) -> bool:
    """Whether a profile has readers or meters to start (False for an unreadable file: its
    errors are reported where the profile itself is loaded)."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return False
    section = data.get("hardware") if isinstance(data, dict) else None
    return isinstance(section, dict) and bool(section.get("readers") or section.get("meters"))
