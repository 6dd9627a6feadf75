"""Register maps of Modbus energy meters: where each value lives and how to decode it.

Maps are data (`resources/meters/*.json`, format `schemas/meter-map.schema.json`) so a tester
can add a meter without code. A value names its register (zero-based protocol address), its
type, word order and scale, and its unit; decoding ends in the units a station reports in
(V, A, W, Wh, Hz), whatever the meter counts in.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Final, Literal

import jsonschema

_ROOT: Final = Path(__file__).resolve().parents[2]
MAPS_DIR: Final = _ROOT / "resources" / "meters"
SCHEMA_PATH: Final = _ROOT / "schemas" / "meter-map.schema.json"

Function = Literal["input", "holding"]

#: struct format (big-endian) and size in 16-bit words of each register type.
_TYPES: Final[dict[str, tuple[str, int]]] = {
    "int16": (">h", 1),
    "uint16": (">H", 1),
    "int32": (">i", 2),
    "uint32": (">I", 2),
    "int64": (">q", 4),
    "uint64": (">Q", 4),
    "float32": (">f", 2),
    "float64": (">d", 4),
}
#: Factor from a map's unit to the station's, and which station unit that is.
_UNITS: Final[dict[str, tuple[float, str]]] = {
    "V": (1.0, "V"),
    "A": (1.0, "A"),
    "W": (1.0, "W"),
    "kW": (1000.0, "W"),
    "Wh": (1.0, "Wh"),
    "kWh": (1000.0, "Wh"),
    "Hz": (1.0, "Hz"),
}
#: The station unit each value must end in: a voltage in kWh is a mistake in the map.
_QUANTITY_UNIT: Final = {"voltage": "V", "current": "A", "power": "W", "energy": "Wh", "frequency": "Hz"}
#: Longest run of registers read in one request (Modbus allows 125).
MAX_BLOCK: Final = 120


class MeterMapError(ValueError):
    """A register map cannot be used; the message names the file and the field."""


@dataclass(frozen=True, slots=True)
class RegisterValue:
    name: str  # "voltage.L1", "energy.import", ...
    register: int
    type: str
    unit: str
    scale: float = 1.0
    word_order: Literal["big", "little"] = "big"
    function: Function = "input"

    @property
    def words(self) -> int:
        return _TYPES[self.type][1]

    def decode(self, registers: list[int]) -> float:
        """The value in station units (V, A, W, Wh, Hz) from its raw registers."""
        words = list(registers[: self.words])
        if len(words) < self.words:
            raise ValueError(f"{self.name}: {self.words} registers needed, got {len(words)}")
        if self.word_order == "little":
            words.reverse()
        raw = struct.unpack(_TYPES[self.type][0], b"".join(w.to_bytes(2, "big") for w in words))[0]
        return float(raw) * self.scale * _UNITS[self.unit][0]

    def encode(self, value: float) -> list[int]:
        """Registers holding `value` (station units): what a meter (or its simulated twin) serves."""
        raw: float | int = value / _UNITS[self.unit][0] / self.scale
        fmt = _TYPES[self.type][0]
        if not self.type.startswith("float"):
            raw = round(raw)
        data = struct.pack(fmt, raw)
        words = [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
        if self.word_order == "little":
            words.reverse()
        return words


@dataclass(frozen=True, slots=True)
class Block:
    """Registers read in one request."""

    function: Function
    start: int
    count: int
    values: tuple[RegisterValue, ...]


@dataclass(frozen=True, slots=True)
class RegisterMap:
    name: str
    phases: int
    values: tuple[RegisterValue, ...]
    source: str = ""  # file it came from

    def value(self, name: str) -> RegisterValue | None:
        return next((v for v in self.values if v.name == name), None)

    def blocks(self) -> list[Block]:
        """Few requests: neighbouring values of one table share a read of at most MAX_BLOCK words."""
        blocks: list[Block] = []
        for function in ("input", "holding"):
            current: list[RegisterValue] = []
            for value in sorted((v for v in self.values if v.function == function), key=lambda v: v.register):
                if current and value.register + value.words - current[0].register > MAX_BLOCK:
                    blocks.append(_block(function, current))
                    current = []
                current.append(value)
            if current:
                blocks.append(_block(function, current))
        return blocks

    def decode(self, blocks: Mapping[Block, list[int]]) -> dict[str, float]:
        """Values by name from the registers each block returned."""
        out: dict[str, float] = {}
        for block, registers in blocks.items():
            for value in block.values:
                offset = value.register - block.start
                out[value.name] = value.decode(registers[offset : offset + value.words])
        return out


def _block(function: Function, values: list[RegisterValue]) -> Block:
    start = values[0].register
    end = max(v.register + v.words for v in values)
    return Block(function, start, end - start, tuple(values))


@cache
def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def parse_map(data: Any, source: str = "<map>") -> RegisterMap:
    errors = sorted(_validator().iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        lines = []
        for error in errors:
            where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
            lines.append(f"{source}: {where}: {error.message}")
        raise MeterMapError("\n".join(lines))
    function = data.get("function", "input")
    word_order = data.get("wordOrder", "big")
    values = []
    for name, spec in data["values"].items():
        quantity = name.split(".")[0]
        unit = spec["unit"]
        if _UNITS[unit][1] != _QUANTITY_UNIT[quantity]:
            raise MeterMapError(f"{source}: values.{name}.unit: {unit} is not a unit of {quantity}")
        register = spec["register"]
        values.append(
            RegisterValue(
                name=name,
                register=int(register, 16) if isinstance(register, str) else register,
                type=spec["type"],
                unit=unit,
                scale=float(spec.get("scale", 1.0)),
                word_order=spec.get("wordOrder", word_order),
                function=spec.get("function", function),
            )
        )
    return RegisterMap(data["name"], int(data.get("phases", 3)), tuple(values), source)


def bundled_maps() -> list[str]:
    """Names of the maps shipped in resources/meters (file names without .json)."""
    return sorted(p.stem for p in MAPS_DIR.glob("*.json"))


def load_map(name_or_path: str | Path) -> RegisterMap:
    """A bundled map by name ("sdm630") or a user's map file by path."""
    path = Path(name_or_path)
    if path.suffix != ".json" and not path.exists():
        path = MAPS_DIR / f"{name_or_path}.json"
        if not path.exists():
            known = ", ".join(bundled_maps())
            raise MeterMapError(f"no meter map {str(name_or_path)!r}: bundled: {known}; or give a file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MeterMapError(f"cannot read the meter map {path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise MeterMapError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    return parse_map(data, str(path))
