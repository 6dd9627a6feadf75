"""The tester's levers on a station, in one place: what the window's buttons call.

Each lever runs the same station coroutine the CLI and the scenario runner use, then announces
what was done on `performed` as a scenario step, so a recorder writes down exactly what the
tester clicked — and nothing the station did on its own (a CSMS-ordered reset is not a click).
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable
from typing import Any, TypeVar

from app.signals import Signal
from app.station.ev import EVModel
from app.station.station import Station

T = TypeVar("T")

# Scenario EV fields (schemas/scenario.schema.json #/$defs/ev) from an EVModel.
_EV_FIELDS = (
    ("soc", "soc_percent", 1.0),
    ("target_soc", "target_soc_percent", 1.0),
    ("capacity_kwh", "capacity_wh", 0.001),
    ("max_current_a", "ac_max_current_a", 1.0),
    ("dc_max_kw", "dc_max_power_w", 0.001),
)


class StationControls:
    def __init__(self, station: Station) -> None:
        self.station = station
        # Announced before the lever acts, so whatever the station sends in reaction comes
        # after it; `withdrawn` follows when the lever then failed.
        self.performed: Signal[[Station, dict[str, Any]]] = Signal()
        self.withdrawn: Signal[[Station, dict[str, Any]]] = Signal()

    async def _do(self, step: dict[str, Any], work: Awaitable[T]) -> T:
        self.performed.emit(self.station, step)
        try:
            return await work
        except Exception:
            self.withdrawn.emit(self.station, step)
            raise

    async def plug(self, evse_id: int, connector_id: int = 1, ev: EVModel | None = None) -> None:
        spec: dict[str, Any] = {"evse": evse_id}
        if connector_id != 1:
            spec["connector"] = connector_id
        if ev is not None:
            spec["ev"] = ev_data(ev)
        await self._do({"plug": spec}, self.station.plug(evse_id, connector_id, ev=ev))

    async def unplug(self, evse_id: int) -> None:
        await self._do({"unplug": evse_id}, self.station.unplug(evse_id))

    async def tap(self, token: str, evse_id: int | None = None, token_type: str = "ISO14443") -> str:
        spec: dict[str, Any] = {"token": token}
        if evse_id is not None:
            spec["evse"] = evse_id
        if token_type != "ISO14443":
            spec["type"] = token_type
        return await self._do({"tap": spec}, self.station.tap(token, evse_id, token_type))

    async def set_network(self, connected: bool) -> None:
        step = {"network": "online" if connected else "offline"}
        await self._do(step, self.station.set_network(connected))

    async def set_fault(self, evse_id: int, faulted: bool) -> None:
        step = {"fault": {"evse": evse_id} if faulted else {"evse": evse_id, "clear": True}}
        await self._do(step, self.station.set_fault(evse_id, faulted))

    async def reboot(self, reason: str = "LocalReset") -> None:
        await self._do({"reboot": reason}, self.station.reboot(reason))

    async def set_external_limit(self, evse_id: int, watts: float | None) -> None:
        step = {"limit": {"evse": evse_id, "kw": None if watts is None else round(watts / 1000, 3)}}
        await self._do(step, self.station.smart.set_external_limit(evse_id, watts))


_controls: weakref.WeakKeyDictionary[Station, StationControls] = weakref.WeakKeyDictionary()


def controls_for(station: Station) -> StationControls:
    """One set of levers per station, shared by every button and any recorder."""
    controls = _controls.get(station)
    if controls is None:
        controls = _controls[station] = StationControls(station)
    return controls


def ev_data(ev: EVModel) -> dict[str, Any]:
    """An EV as scenario data: the numbers that shape the charge (phases, limits, battery)."""
    data: dict[str, Any] = {}
    for key, name, scale in _EV_FIELDS:
        value = getattr(ev, name)
        if value is not None:
            data[key] = round(float(value) * scale, 3)
    data["phases"] = ev.ac_phases
    if ev.bidirectional:
        data["bidirectional"] = True
    return data
