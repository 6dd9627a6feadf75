"""Record what a tester does in the window into a scenario file that replays the same flow.

The recorder listens to the levers (app/scenarios/controls.py) for plugs, taps, network cuts,
faults, reboots and limits, to the capture for calls the CSMS console sent, and to the clock for
the pauses in between. After each action it also writes down the transaction events and
connector states the station answered with, as expectations: replaying the file then checks
that the station still behaves the same way.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import yaml

from app.inspector.records import CaptureRecord
from app.scenarios.controls import controls_for
from app.session import Session
from app.station.evse import Evse
from app.station.profile import save_profile
from app.station.station import Station

MIN_WAIT_S = 0.5  # shorter pauses between clicks are not worth a step
_STATUS_KEYS = ("connectorStatus",)


class Recorder:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.steps: list[dict[str, Any]] = []
        self.recording = False
        self._stations: dict[str, Station] = {}
        self._last_action = 0.0
        self._first_action = True
        self._pending_calls: dict[str, dict[str, Any]] = {}  # message id -> csms_call step

    # ------------------------------------------------------------------ control

    def start(self) -> None:
        self.steps.clear()
        self._stations.clear()
        self.recording = True
        self._first_action = True
        self._last_action = self.session.clock.monotonic()
        for station in self.session.stations.values():
            self._follow(station)
        self.session.station_added.connect(self._follow)
        self.session.store.added.connect(self._on_frame)

    def stop(self) -> None:
        self.recording = False
        self.session.station_added.disconnect(self._follow)
        self.session.store.added.disconnect(self._on_frame)
        for station in self._stations.values():
            controls_for(station).performed.disconnect(self._on_action)
            controls_for(station).withdrawn.disconnect(self._on_withdrawn)

    def _follow(self, station: Station) -> None:
        if station.station_id in self._stations:
            return
        self._stations[station.station_id] = station
        controls_for(station).performed.connect(self._on_action)
        controls_for(station).withdrawn.connect(self._on_withdrawn)

    # ------------------------------------------------------------------ what happens

    def _on_action(self, station: Station, step: dict[str, Any]) -> None:
        if not self.recording:
            return
        self._pause_before()
        self._append(station, dict(step))

    def _on_withdrawn(self, station: Station, step: dict[str, Any]) -> None:
        """The lever failed (e.g. no such connector): the click did nothing worth replaying."""
        recorded = _on(station.station_id, dict(step), self._first_id())
        for index in range(len(self.steps) - 1, -1, -1):
            if self.steps[index] == recorded:
                del self.steps[index]
                return

    def _on_frame(self, record: CaptureRecord) -> None:
        if not self.recording or record.mirror or record.station not in self._stations:
            return
        if record.sender == "csms" and record.message_type == 2 and record.observer == "station":
            self._pause_before()
            station = self._stations[record.station]
            step = self._csms_call(station, record)
            self._append(station, step)
            if record.message_id:
                self._pending_calls[record.message_id] = step
        elif record.message_type == 3 and record.message_id in self._pending_calls:
            step = self._pending_calls.pop(record.message_id)
            if isinstance(record.payload, dict) and isinstance(record.payload.get("status"), str):
                step["csms_call"]["expect"] = {"status": record.payload["status"]}
        elif record.sender == "station" and record.message_type == 2 and self.steps:
            expectation = _expectation(record)
            if expectation is not None:
                self._append(self._stations[record.station], {"expect": expectation})

    def _pause_before(self) -> None:
        now = self.session.clock.monotonic()
        gap, self._last_action = now - self._last_action, now
        if self._first_action:
            self._first_action = False
            for station_id in self._stations:
                self.steps.append(_on(station_id, {"wait": {"state": "Online"}}, self._first_id()))
            return
        if gap >= MIN_WAIT_S:
            self.steps.append({"wait": f"{round(gap, 1):g} s"})

    def _append(self, station: Station, step: dict[str, Any]) -> None:
        self.steps.append(_on(station.station_id, step, self._first_id()))

    def _first_id(self) -> str:
        return next(iter(self._stations), "")

    def _csms_call(self, station: Station, record: CaptureRecord) -> dict[str, Any]:
        """A console call as a step; a transaction id of today becomes 'the one open at EVSE n'."""
        payload = copy.deepcopy(record.payload) if isinstance(record.payload, dict) else {}
        call: dict[str, Any] = {"action": record.action, "payload": payload}
        for field in ("transactionId", "chargingProfile.transactionId"):
            *parents, last = field.split(".")
            node: Any = payload
            for part in parents:
                node = node.get(part) if isinstance(node, dict) else None
            if not isinstance(node, dict) or last not in node:
                continue
            evse = next((e for e in station.evses.values() if _runs(e, node[last])), None)
            if evse is not None:
                del node[last]
                call["use_transaction"] = {"evse": evse.evse_id, "field": field}
        if not payload:
            del call["payload"]
        return {"csms_call": call}

    # ------------------------------------------------------------------ the file

    def scenario_data(self, name: str, profiles: dict[str, str] | None = None) -> dict[str, Any]:
        """The scenario; `profiles` names the profile file written for a station (its shape)."""
        stations = []
        for station in self._stations.values():
            spec: dict[str, Any] = {"id": station.station_id}
            if profiles and station.station_id in profiles:
                spec["profile"] = profiles[station.station_id]
            else:
                spec["evses"] = len(station.evses)
                spec["set"] = dict(station.config.overrides)
            # Clock-aligned values come at times of day, not in step with the flow.
            spec.setdefault("set", {})["AlignedDataCtrlr.Interval"] = "0"
            stations.append(spec)
        return {
            "name": name,
            "description": "Recorded in the ChargeBench window.",
            "stations": stations,
            "steps": self.steps or [{"caption": "nothing was recorded"}],
        }

    def save(self, path: str | Path, name: str) -> None:
        """Write the scenario, and next to it a profile per station so a replay gets the same
        hardware and settings (never the password, never the station's state file)."""
        file = Path(path)
        profiles: dict[str, str] = {}
        for station in self._stations.values():
            profile = file.with_name(f"{file.stem}.{station.station_id}.profile.yaml")
            try:
                save_profile(dataclasses.replace(station.config, state_path=None), profile)
            except ValueError:  # an OCPP 1.6 station: no profile format; EVSE count and settings
                continue
            profiles[station.station_id] = profile.name
        data = self.scenario_data(name, profiles)
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
        file.write_text(text, encoding="utf-8")


def _runs(evse: Evse, transaction_id: Any) -> bool:
    return evse.transaction is not None and evse.transaction.transaction_id == transaction_id


def _on(station_id: str, step: dict[str, Any], first_id: str) -> dict[str, Any]:
    return step if station_id == first_id else {"station": station_id, **step}


def _expectation(record: CaptureRecord) -> dict[str, Any] | None:
    """The key fields of what the station said after an action: transaction events and
    connector states (actions, eventType, triggerReason, idToken, connector status)."""
    payload = record.payload if isinstance(record.payload, dict) else {}
    where: dict[str, Any] = {}
    if record.action == "TransactionEvent":
        where = {"eventType": payload.get("eventType"), "triggerReason": payload.get("triggerReason")}
        token = (payload.get("idToken") or {}).get("idToken")
        if token:
            where["idToken.idToken"] = token
    elif record.action == "StatusNotification":
        where = {key: payload[key] for key in ("evseId", *_STATUS_KEYS) if key in payload}
    elif record.action == "NotifyEvent":
        events = payload.get("eventData") or []
        if len(events) != 1 or events[0].get("component", {}).get("name") != "Connector":
            return None
        where = {"eventData[0].component.name": "Connector"}
        evse = events[0]["component"].get("evse", {})
        for key in ("id", "connectorId"):
            if key in evse:
                where[f"eventData[0].component.evse.{key}"] = evse[key]
        where["eventData[0].actualValue"] = events[0].get("actualValue")
    else:
        return None
    return {"action": record.action, "where": where}
