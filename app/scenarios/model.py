"""A scenario as the runner sees it: stations, CSMS settings and a list of data-only steps.

Steps keep their kind and arguments as loaded (already checked against
schemas/scenario.schema.json) plus the line they came from, so a failure can point back to the
file. Nothing here executes anything: the runner interprets each kind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

STEP_KINDS = (
    "caption",
    "plug",
    "unplug",
    "tap",
    "ev",
    "wait",
    "expect",
    "send",
    "network",
    "fault",
    "limit",
    "reboot",
    "csms_call",
    "csms_config",
)
# Steps that make something happen on the wire: expectations look at frames captured since the
# last of these. Changing how the CSMS will answer is not one: it only matters later.
ACTION_KINDS = frozenset(STEP_KINDS) - {"caption", "wait", "expect", "csms_config"}

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|min|h)\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "sec": 1.0, "min": 60.0, "h": 3600.0}
DEFAULT_WITHIN_S = 10.0


def seconds(value: float | int | str) -> float:
    """'30 s', '5 min', '500 ms', '1 h' or a plain number of seconds."""
    if isinstance(value, int | float):
        return float(value)
    found = _DURATION.match(value)
    if found is None:
        raise ValueError(f"not a duration: {value!r} (write e.g. 30 s, 5 min, 500 ms)")
    return float(found[1]) * _UNIT_SECONDS[found[2]]


def duration_text(value: float) -> str:
    if value >= 3600 and value % 3600 == 0:
        return f"{value / 3600:g} h"
    if value >= 60 and value % 60 == 0:
        return f"{value / 60:g} min"
    return f"{value:g} s"


@dataclass(frozen=True, slots=True)
class Match:
    """Which captured frame an expectation or a wait looks for."""

    action: str
    frame_type: str = "CALL"
    sender: str | None = None
    where: dict[str, Any] = field(default_factory=dict)
    filter: str | None = None
    within_s: float = DEFAULT_WITHIN_S
    since_start: bool = False

    @classmethod
    def from_data(cls, data: dict[str, Any], default_within: float = DEFAULT_WITHIN_S) -> Match:
        return cls(
            action=data["action"],
            frame_type=data.get("type", "CALL"),
            sender=data.get("from"),
            where=dict(data.get("where") or {}),
            filter=data.get("filter"),
            within_s=seconds(data["within"]) if "within" in data else default_within,
            since_start=data.get("since") == "start",
        )

    def describe(self) -> str:
        text = self.action if self.frame_type == "CALL" else f"{self.action} {self.frame_type}"
        if self.sender:
            text += f" from {self.sender}"
        conditions = [f"{path} = {_shown(value)}" for path, value in self.where.items()]
        if self.filter:
            conditions.append(f"({self.filter})")
        if conditions:
            text += " where " + " and ".join(conditions)
        return text


def _shown(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True, slots=True)
class Step:
    kind: str
    args: Any
    line: int | None = None
    station: str | None = None
    label: str | None = None

    def describe(self) -> str:
        """How the step reads in the runner's list and in failure messages."""
        return self.label or _describe(self.kind, self.args)


def _describe(kind: str, args: Any) -> str:
    if kind == "caption":
        return f"caption: {args}"
    if kind == "plug":
        evse = args if isinstance(args, int) else args["evse"]
        ev = {} if isinstance(args, int) else args.get("ev") or {}
        extra = f" ({ev.get('preset', 'typical')} EV, {ev['soc']:g} %)" if "soc" in ev else ""
        return f"plug in at EVSE {evse}{extra}"
    if kind == "unplug":
        return f"unplug EVSE {args}"
    if kind == "tap":
        token = args if isinstance(args, str) else args["token"]
        where = f" at EVSE {args['evse']}" if isinstance(args, dict) and "evse" in args else ""
        return f"tap card {token}{where}"
    if kind == "ev":
        changes = ", ".join(f"{k} {v}" for k, v in args.items() if k != "evse")
        return f"EV at EVSE {args['evse']}: {changes}"
    if kind == "wait":
        if isinstance(args, dict) and "until" in args:
            match = Match.from_data(args["until"])
            return f"wait for {match.describe()}"
        if isinstance(args, dict):
            return f"wait until the station is {args['state']}"
        return f"wait {duration_text(seconds(args))}"
    if kind == "expect":
        return f"expect {Match.from_data(args).describe()}"
    if kind == "send":
        return f"send raw frame {args[:60]}"
    if kind == "network":
        return "cut the network" if args == "offline" else "restore the network"
    if kind == "fault":
        return f"{'clear the fault on' if args.get('clear') else 'inject a fault on'} EVSE {args['evse']}"
    if kind == "limit":
        where = "the station" if not args.get("evse") else f"EVSE {args['evse']}"
        return f"release the external limit on {where}" if args["kw"] is None else (
            f"external limit {args['kw']:g} kW on {where}"
        )
    if kind == "reboot":
        return f"reboot ({args})"
    if kind == "csms_call":
        return f"CSMS sends {args['action']}"
    if kind == "csms_config":
        return "CSMS answers " + ", ".join(f"{k} {v}" for k, v in args.items())
    return kind


@dataclass(frozen=True, slots=True)
class StationSpec:
    station_id: str
    template: str | None = None
    profile: str | None = None  # resolved against the scenario file's folder
    evses: int = 1
    ocpp: str | None = None
    settings: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    stations: tuple[StationSpec, ...]
    steps: tuple[Step, ...]
    description: str = ""
    speed: float | None = None
    csms_url: str | None = None
    csms: dict[str, Any] = field(default_factory=dict)  # built-in CSMS settings
    path: str | None = None
