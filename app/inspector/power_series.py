"""Power over time per EVSE, from captured frames: what a station was told, and what it delivered.

`PowerSeries` listens to the capture store and keeps, per (station id, EVSE id):

* **delivered power, energy and SoC** from the meter values a station reported
  (TransactionEvent / MeterValues in 2.x, MeterValues / StopTransaction in 1.6);
* **profile events**: SetChargingProfile the station answered `Accepted` (paired with its
  CALLRESULT by message id), ClearChargingProfile `Accepted`, NotifyChargingLimit and
  ClearedChargingLimit (external limits), profiles a station reports (ReportChargingProfiles);
* **the setpoint step line** (past and future up to a horizon) derived from those profiles, and
  overridden by GetCompositeSchedule results, the station's own computed schedule.

It works on the wire alone, so it is the same for an emulated station, a real charger behind
the built-in CSMS, or one seen through the proxy: each frame is taken from one observation
point only (mirror records, the second copy of a frame when both ends are ours, are skipped).

Setpoint: what the station was told, replayed through the smart-charging core
(`app.smartcharging.composite`), so the plot and the emulated station obey one rule set:

1. a profile counts from the moment its SetChargingProfile was answered `Accepted` (or a
   NotifyChargingLimit reported it) until it is cleared, replaced (same id, or same EVSE +
   purpose + stack level, as 1.6 replaces) or, for a TxProfile, until its transaction ends;
   OCPP 1.6 profiles are read as their 2.1 equivalents;
2. between two such changes (or a transaction starting or ending on the EVSE), the profiles in
   force go into a `ProfileStore` and `composite_schedule` computes the limit in W for that
   stretch (ratings unknown: no rated cap; 230 V nominal, numberPhases 3 when absent); the
   stretches joined make the step line, past and future;
3. a GetCompositeSchedule result is the station's own schedule: it replaces the derived line from
   its `scheduleStart` for its `duration`, until the next profile change on that EVSE (or EVSE 0)
   or the next result.

Memory is bounded: one sample per second at most at full resolution for 24 h per EVSE, older
samples averaged into one-minute buckets kept for another 7 days; arrays grow on demand, so an
idle EVSE costs almost nothing.
"""

from __future__ import annotations

import asyncio
import bisect
import csv
import io
import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from app.clock import Clock
from app.inspector.records import CaptureRecord
from app.inspector.store import CaptureStore
from app.signals import Signal
from app.smartcharging import (
    ChargingProfile,
    EvseInfo,
    ProfileError,
    ProfileStore,
    Purpose,
    StationContext,
    composite_schedule,
    parse_profile,
)
from app.smartcharging.store import CSMS_SOURCE

NOMINAL_VOLTAGE = 230.0
DEFAULT_HORIZON_S = 6 * 3600.0
FULL_RESOLUTION_S = 24 * 3600.0
MIN_SAMPLE_INTERVAL_S = 1.0
BUCKET_S = 60.0
ARCHIVE_S = 7 * 24 * 3600.0
MAX_EVENTS = 5_000  # per station
MAX_PENDING = 2_000  # unanswered CALLs we wait for, all stations together
STEP_CACHE_SLACK_S = 600.0  # setpoint steps are computed this far past the horizon, then reused

# Columns of a sample.
POWER, ENERGY, SOC = 0, 1, 2
_COLUMNS = 3

TX = Purpose.TX.value
TX_DEFAULT = Purpose.TX_DEFAULT.value
STATION_MAX = Purpose.STATION_MAX.value
EXTERNAL = Purpose.EXTERNAL.value  # external limits (NotifyChargingLimit)
_PURPOSE_ALIASES = {"ChargePointMaxProfile": STATION_MAX}  # OCPP 1.6 spelling
_SHORT_PURPOSE = {TX: "Tx", TX_DEFAULT: "TxDefault", STATION_MAX: "StationMax", EXTERNAL: "External"}

# CALLs whose answer we need (CSMS -> station, except 1.6 StartTransaction).
_TRACKED_CALLS = frozenset(
    {
        "SetChargingProfile",
        "ClearChargingProfile",
        "GetCompositeSchedule",
        "RequestStartTransaction",
        "RemoteStartTransaction",
        "StartTransaction",
    }
)


# ====================================================================== public data


@dataclass(frozen=True, slots=True)
class SeriesEvent:
    """Something that explains a step: `kind` is set | cleared | period | limit | limit cleared."""

    t: float
    kind: str
    text: str  # short label for the plot
    detail: str = ""  # one line for tooltips and the CSV


@dataclass(slots=True)
class SeriesData:
    """One EVSE's series at one instant; arrays are copies (safe to keep)."""

    station_id: str
    evse_id: int
    now: float
    #: Sample times (epoch s) and values; NaN where a sample lacked that measurand.
    t: np.ndarray
    power_w: np.ndarray
    energy_wh: np.ndarray
    soc: np.ndarray
    #: Setpoint steps: setpoint_w[i] holds from setpoint_t[i] to setpoint_t[i + 1]; the last
    #: point closes the line at now + horizon. NaN = no limit in force.
    setpoint_t: np.ndarray
    setpoint_w: np.ndarray
    events: list[SeriesEvent]
    #: True if power had to be derived from the energy register (no Power.Active.Import seen).
    power_from_energy: bool = False

    def setpoint_at(self, t: float) -> float:
        """The setpoint in force at `t` (NaN: none, or outside the line)."""
        i = int(np.searchsorted(self.setpoint_t, t, side="right")) - 1
        if i < 0 or t > self.setpoint_t[-1]:
            return math.nan
        return float(self.setpoint_w[i])

    @property
    def empty(self) -> bool:
        return not len(self.t) and not len(self.setpoint_t) and not self.events


# ====================================================================== sample ring


class SampleRing:
    """Time-ordered samples, at most one per `min_interval` s, bounded in time.

    The newest `span` seconds keep full resolution; older samples are averaged into
    `bucket`-second bins kept for `archive_span` more seconds, then dropped. Storage grows by
    doubling, so a ring that sees ten samples holds ten.
    """

    def __init__(
        self,
        columns: int = _COLUMNS,
        *,
        span: float = FULL_RESOLUTION_S,
        min_interval: float = MIN_SAMPLE_INTERVAL_S,
        bucket: float = BUCKET_S,
        archive_span: float = ARCHIVE_S,
    ) -> None:
        self.columns = columns
        self.span = span
        self.min_interval = min_interval
        self.bucket = bucket
        self.archive_span = archive_span
        self._t = np.empty(16)
        self._v = np.empty((16, columns))
        self._n = 0
        self._arch_t = np.empty(0)
        self._arch_v = np.empty((0, columns))
        self.version = 0

    def __len__(self) -> int:
        return self._n + len(self._arch_t)

    @property
    def last_t(self) -> float | None:
        return float(self._t[self._n - 1]) if self._n else None

    def append(self, t: float, values: Iterable[float]) -> None:
        row = np.asarray(list(values), dtype=float)
        n = self._n
        self.version += 1
        if n and t >= self._t[n - 1]:
            if t - self._t[n - 1] < self.min_interval:
                self._merge(n - 1, row)
                return
            self._grow()
            self._t[n] = t
            self._v[n] = row
            self._n += 1
            self._trim()
            return
        if not n:
            self._t[0] = t
            self._v[0] = row
            self._n = 1
            return
        # Out of order (a station replaying its offline queue): insert where it belongs.
        if t < self._t[0] and len(self._arch_t) and t < self._arch_t[-1]:
            i = int(np.searchsorted(self._arch_t, t))
            self._arch_t = np.insert(self._arch_t, i, t)
            self._arch_v = np.insert(self._arch_v, i, row, axis=0)
            return
        i = int(np.searchsorted(self._t[:n], t))
        after = self._t[i] - t if i < n else math.inf
        before = t - self._t[i - 1] if i > 0 else math.inf
        if min(after, before) < self.min_interval:  # merge into the nearer neighbour
            self._merge(i if after <= before else i - 1, row)
            return
        self._grow()
        self._t[i + 1 : n + 1] = self._t[i:n]
        self._v[i + 1 : n + 1] = self._v[i:n]
        self._t[i] = t
        self._v[i] = row
        self._n += 1

    def _merge(self, i: int, row: np.ndarray) -> None:
        known = ~np.isnan(row)
        self._v[i, known] = row[known]

    def _grow(self) -> None:
        if self._n < len(self._t):
            return
        size = len(self._t) * 2
        t = np.empty(size)
        v = np.empty((size, self.columns))
        t[: self._n] = self._t[: self._n]
        v[: self._n] = self._v[: self._n]
        self._t, self._v = t, v

    def _trim(self) -> None:
        n = self._n
        newest = self._t[n - 1]
        # Move in chunks (a tenth of the span at a time), not one sample per append.
        if newest - self._t[0] <= self.span * 1.1:
            return
        # Cut at a bucket boundary, so a bucket is never averaged in two halves.
        edge = math.floor((newest - self.span) / self.bucket) * self.bucket
        cut = int(np.searchsorted(self._t[:n], edge))
        if cut == 0:
            return
        old_t, old_v = self._t[:cut], self._v[:cut]
        bins = np.floor(old_t / self.bucket)
        starts = np.flatnonzero(np.r_[True, bins[1:] != bins[:-1]])
        counts = np.diff(np.r_[starts, cut])
        known = ~np.isnan(old_v)
        sums = np.add.reduceat(np.where(known, old_v, 0.0), starts, axis=0)
        hits = np.add.reduceat(known.astype(float), starts, axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.where(hits > 0, sums / np.maximum(hits, 1), np.nan)
        mean_t = np.add.reduceat(old_t, starts) / counts
        self._arch_t = np.concatenate([self._arch_t, mean_t])
        self._arch_v = np.concatenate([self._arch_v, means])
        keep = int(np.searchsorted(self._arch_t, newest - self.span - self.archive_span))
        if keep:
            self._arch_t = self._arch_t[keep:].copy()
            self._arch_v = self._arch_v[keep:].copy()
        rest = n - cut
        self._t[:rest] = self._t[cut:n]
        self._v[:rest] = self._v[cut:n]
        self._n = rest

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(t, values[n, columns]) as new arrays, archive first."""
        t = np.concatenate([self._arch_t, self._t[: self._n]])
        v = np.concatenate([self._arch_v, self._v[: self._n]])
        return t, v

    def clear(self) -> None:
        self._t = np.empty(16)
        self._v = np.empty((16, self.columns))
        self._n = 0
        self._arch_t = np.empty(0)
        self._arch_v = np.empty((0, self.columns))
        self.version += 1


# ====================================================================== profiles (internal)


@dataclass(slots=True)
class _Profile:
    """A profile as seen on the wire (in its OCPP 2.1 form), and when it counted on the station."""

    parsed: ChargingProfile
    evse: int  # 0: the whole station
    t_from: float  # when the station took it
    t_to: float | None = None  # when it stopped counting (cleared, replaced, tx ended)
    source: str = CSMS_SOURCE  # external limits: chargingLimitSource

    @property
    def id(self) -> int:
        return self.parsed.id

    @property
    def purpose(self) -> str:
        return self.parsed.purpose.value

    @property
    def stack_level(self) -> int:
        return self.parsed.stack_level

    @property
    def transaction_id(self) -> str | None:
        return self.parsed.transaction_id

    def live_at(self, t: float) -> bool:
        return self.t_from <= t and (self.t_to is None or t < self.t_to)

    def label(self) -> str:
        return f"{_SHORT_PURPOSE.get(self.purpose, self.purpose)} #{self.id}"


@dataclass(slots=True)
class _Report:
    """A GetCompositeSchedule result: the station's own schedule for an EVSE, from `start`."""

    evse: int
    t_received: float
    start: float
    duration: float | None
    schedule: dict[str, Any]  # chargingRateUnit + chargingSchedulePeriod, as reported

    @property
    def end(self) -> float:
        return self.start + self.duration if self.duration is not None else math.inf


@dataclass(slots=True)
class _TxSpan:
    tx_id: str
    start: float
    end: float | None = None


@dataclass(slots=True)
class _EvseState:
    ring: SampleRing = field(default_factory=SampleRing)
    power_seen: bool = False
    derived_power: bool = False
    last_energy: tuple[float, float] | None = None  # (t, Wh), for power derived from energy
    spans: list[_TxSpan] = field(default_factory=list)

    def span_at(self, t: float) -> _TxSpan | None:
        for span in reversed(self.spans):
            if span.start <= t and (span.end is None or t < span.end):
                return span
        return None


@dataclass(slots=True)
class _StationState:
    evses: dict[int, _EvseState] = field(default_factory=dict)
    tx_evse: dict[str, int] = field(default_factory=dict)
    profiles: list[_Profile] = field(default_factory=list)
    reports: list[_Report] = field(default_factory=list)
    #: (evse id, event); evse 0 = the whole station, shown on every EVSE.
    events: deque[tuple[int, SeriesEvent]] = field(default_factory=lambda: deque(maxlen=MAX_EVENTS))
    #: Remote starts carrying a TxProfile without evseId: remoteStartId -> profile.
    remote_profiles: dict[int, _Profile] = field(default_factory=dict)
    external_ids: int = 0  # external limits get ids -1, -2, ... (K01.FR.82 style)
    version: int = 0
    #: Bumped when anything the setpoint depends on changes (profiles, transactions, reports).
    profile_version: int = 0

    def evse(self, evse_id: int) -> _EvseState:
        state = self.evses.get(evse_id)
        if state is None:
            state = self.evses[evse_id] = _EvseState()
        return state


@dataclass(slots=True)
class _Pending:
    action: str
    payload: Any
    t: float


# ====================================================================== the series


class PowerSeries:
    """Per-EVSE power, SoC and setpoint series built from captured frames."""

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        horizon_s: float = DEFAULT_HORIZON_S,
        nominal_voltage: float = NOMINAL_VOLTAGE,
    ) -> None:
        self.clock = clock or Clock()
        self.horizon_s = horizon_s
        self.nominal_voltage = nominal_voltage
        #: Fired after a batch of records changed something (at most once per loop turn).
        self.changed: Signal[[]] = Signal()
        self.version = 0
        self.unmapped = 0  # meter values of transactions whose EVSE we never learnt
        self._stations: dict[str, _StationState] = {}
        self._pending: dict[tuple[str, str], _Pending] = {}
        self._emit_scheduled = False
        self._stores: list[CaptureStore] = []
        self._keys: tuple[int, list[tuple[str, int]]] = (-1, [])
        self._step_cache: dict[tuple[str, int], tuple[int, float, float, list[tuple[float, float]]]] = {}

    # ------------------------------------------------------------------ feeding

    def attach(self, store: CaptureStore, *, backfill: bool = True) -> None:
        """Follow a capture store (and read what it already holds)."""
        if backfill:
            self.feed(store.records())
        store.added.connect(self._on_added)
        self._stores.append(store)

    def detach(self, store: CaptureStore) -> None:
        store.added.disconnect(self._on_added)
        if store in self._stores:
            self._stores.remove(store)

    def feed(self, records: Iterable[CaptureRecord]) -> None:
        """Ingest records now; `changed` fires once if any of them mattered."""
        changed = False
        for record in records:
            changed = self.ingest(record) or changed
        if changed:
            self.changed.emit()

    def _on_added(self, record: CaptureRecord) -> None:
        if self.ingest(record):
            self._schedule_changed()

    def _schedule_changed(self) -> None:
        if self._emit_scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.changed.emit()
            return
        self._emit_scheduled = True
        loop.call_soon(self._emit_changed)

    def _emit_changed(self) -> None:
        self._emit_scheduled = False
        self.changed.emit()

    def clear(self) -> None:
        self._stations.clear()
        self._pending.clear()
        self._step_cache.clear()
        self.version += 1
        self.changed.emit()

    def ingest(self, record: CaptureRecord) -> bool:
        """Take one record into account; True if a series changed. Cheap for irrelevant frames."""
        if record.mirror:
            return False
        mtype = record.message_type
        payload = record.payload
        if mtype == 2:
            action = record.action
            if not isinstance(payload, dict) or action is None:
                return False
            if action in _TRACKED_CALLS and record.message_id is not None:
                self._remember(record, action, payload)
            handler = _CALL_HANDLERS.get(action)
            if handler is None:
                return False
            changed = handler(self, record, payload)
        elif mtype in (3, 4, 5):
            if not self._pending or record.message_id is None:
                return False
            pending = self._pending.pop((record.station, record.message_id), None)
            if pending is None or mtype != 3 or not isinstance(payload, dict):
                return False
            result_handler = _RESULT_HANDLERS.get(pending.action)
            if result_handler is None:
                return False
            changed = result_handler(self, record, pending.payload, payload)
        else:
            return False
        if changed:
            self.version += 1
            self._station(record.station).version += 1
        return changed

    def _remember(self, record: CaptureRecord, action: str, payload: dict[str, Any]) -> None:
        if len(self._pending) >= MAX_PENDING:  # answers that never came: forget the oldest
            for key in list(self._pending)[: MAX_PENDING // 10]:
                del self._pending[key]
        assert record.message_id is not None
        self._pending[(record.station, record.message_id)] = _Pending(action, payload, _epoch(record.time))

    def _station(self, station_id: str) -> _StationState:
        state = self._stations.get(station_id)
        if state is None:
            state = self._stations[station_id] = _StationState()
        return state

    # ------------------------------------------------------------------ meter values

    def _on_transaction_event(self, record: CaptureRecord, p: dict[str, Any]) -> bool:
        st = self._station(record.station)
        info = p.get("transactionInfo") or {}
        tx_id = str(info.get("transactionId", ""))
        evse_ref = p.get("evse")
        evse_id: int | None = None
        if isinstance(evse_ref, dict) and isinstance(evse_ref.get("id"), int):
            evse_id = evse_ref["id"]
            if tx_id:
                st.tx_evse[tx_id] = evse_id
        elif tx_id in st.tx_evse:
            evse_id = st.tx_evse[tx_id]
        if evse_id is None:
            if p.get("meterValue"):
                self.unmapped += 1
            return False
        t = _parse_time(p.get("timestamp")) or _epoch(record.time)
        event_type = p.get("eventType")
        evse = st.evse(evse_id)
        changed = False
        if tx_id and event_type != "Ended":
            changed = self._tx_running(st, evse, evse_id, tx_id, t)
            remote = info.get("remoteStartId")
            if isinstance(remote, int) and remote in st.remote_profiles:
                raw = {**st.remote_profiles.pop(remote).parsed.raw, "transactionId": tx_id}
                profile = _parse_profile(raw, evse_id, t)
                if profile is not None:
                    self._install(st, profile, record, t, "RequestStartTransaction")
                    changed = True
        changed = self._meter_values(st, evse_id, p.get("meterValue"), record) or changed
        if event_type == "Ended" and tx_id:
            self._tx_ended(st, evse, tx_id, t)
            changed = True
        return changed

    def _tx_running(self, st: _StationState, evse: _EvseState, evse_id: int, tx_id: str, t: float) -> bool:
        if evse.spans and evse.spans[-1].tx_id == tx_id and evse.spans[-1].end is None:
            return False
        for span in evse.spans:
            if span.tx_id == tx_id:
                return False
        if evse.spans and evse.spans[-1].end is None:
            evse.spans[-1].end = t  # we missed its end
        evse.spans.append(_TxSpan(tx_id, t))
        del evse.spans[:-1000]
        st.profile_version += 1
        return True

    def _tx_ended(self, st: _StationState, evse: _EvseState, tx_id: str, t: float) -> None:
        st.profile_version += 1
        for span in evse.spans:
            if span.tx_id == tx_id and span.end is None:
                span.end = t
        # A TxProfile lives as long as its transaction.
        for profile in st.profiles:
            if profile.purpose == TX and profile.transaction_id == tx_id and profile.t_to is None:
                profile.t_to = t

    def _on_meter_values(self, record: CaptureRecord, p: dict[str, Any]) -> bool:
        st = self._station(record.station)
        evse_id = p.get("evseId", p.get("connectorId"))
        if not isinstance(evse_id, int):
            return False
        tx = p.get("transactionId")
        if tx is not None and evse_id > 0:
            st.tx_evse.setdefault(str(tx), evse_id)
        return self._meter_values(st, evse_id, p.get("meterValue"), record)

    def _on_stop_transaction(self, record: CaptureRecord, p: dict[str, Any]) -> bool:  # OCPP 1.6
        st = self._station(record.station)
        tx_id = str(p.get("transactionId", ""))
        evse_id = st.tx_evse.get(tx_id)
        if evse_id is None:
            return False
        t = _parse_time(p.get("timestamp")) or _epoch(record.time)
        self._meter_values(st, evse_id, p.get("transactionData"), record)
        self._tx_ended(st, st.evse(evse_id), tx_id, t)
        return True

    def _on_start_transaction_result(
        self, record: CaptureRecord, call: dict[str, Any], result: dict[str, Any]
    ) -> bool:  # OCPP 1.6: the transaction id comes in the answer
        connector = call.get("connectorId")
        tx = result.get("transactionId")
        if not isinstance(connector, int) or tx is None:
            return False
        st = self._station(record.station)
        st.tx_evse[str(tx)] = connector
        t = _parse_time(call.get("timestamp")) or _epoch(record.time)
        return self._tx_running(st, st.evse(connector), connector, str(tx), t)

    def _meter_values(
        self, st: _StationState, evse_id: int, meter_values: Any, record: CaptureRecord
    ) -> bool:
        if not isinstance(meter_values, list):
            return False
        evse = st.evse(evse_id)
        changed = False
        for mv in meter_values:
            if not isinstance(mv, dict):
                continue
            t = _parse_time(mv.get("timestamp")) or _epoch(record.time)
            power, energy, soc = _read_sampled_values(mv.get("sampledValue"))
            if power is not None:
                evse.power_seen = True
            elif energy is not None and not evse.power_seen and evse.last_energy is not None:
                t0, e0 = evse.last_energy
                if t - t0 >= MIN_SAMPLE_INTERVAL_S and energy >= e0:
                    power = (energy - e0) / (t - t0) * 3600.0
                    evse.derived_power = True
            if energy is not None and (evse.last_energy is None or t >= evse.last_energy[0]):
                evse.last_energy = (t, energy)
            if power is None and energy is None and soc is None:
                continue
            evse.ring.append(t, (_nan(power), _nan(energy), _nan(soc)))
            changed = True
        return changed

    # ------------------------------------------------------------------ profiles

    def _on_set_profile_result(
        self, record: CaptureRecord, call: dict[str, Any], result: dict[str, Any]
    ) -> bool:
        if result.get("status") != "Accepted":
            return False
        raw = call.get("chargingProfile", call.get("csChargingProfiles"))
        evse_id = call.get("evseId", call.get("connectorId"))
        if not isinstance(raw, dict) or not isinstance(evse_id, int):
            return False
        profile = _parse_profile(raw, evse_id, _epoch(record.time))
        if profile is None:
            return False
        self._install(self._station(record.station), profile, record, profile.t_from, "SetChargingProfile")
        return True

    def _install(
        self, st: _StationState, profile: _Profile, record: CaptureRecord, t: float, how: str
    ) -> None:
        profile.t_from = t
        for old in st.profiles:
            if old.t_to is not None or old.purpose == EXTERNAL:
                continue
            same_slot = (
                old.evse == profile.evse
                and old.purpose == profile.purpose
                and old.stack_level == profile.stack_level
                and (profile.purpose != TX or old.transaction_id == profile.transaction_id)
            )
            if old.id == profile.id or same_slot:
                old.t_to = t
        st.profiles.append(profile)
        self._prune_profiles(st, t)
        first = _first_limit_text(profile)
        detail = (
            f"{how} {profile.purpose} id {profile.id} stackLevel {profile.stack_level}"
            f" on {'the station' if profile.evse == 0 else f'EVSE {profile.evse}'}"
            f"{', ' + first if first else ''}"
        )
        st.events.append((profile.evse, SeriesEvent(t, "set", f"set {profile.label()}", detail)))
        st.profile_version += 1

    def _prune_profiles(self, st: _StationState, now: float) -> None:
        horizon = now - FULL_RESOLUTION_S - ARCHIVE_S
        if len(st.profiles) > 64:
            st.profiles = [p for p in st.profiles if p.t_to is None or p.t_to > horizon]
        if len(st.reports) > 256:
            st.reports = [r for r in st.reports if r.end > horizon][-256:]

    def _on_clear_profile_result(
        self, record: CaptureRecord, call: dict[str, Any], result: dict[str, Any]
    ) -> bool:
        if result.get("status") != "Accepted":
            return False
        st = self._station(record.station)
        t = _epoch(record.time)
        request = _clear_request_21(call)
        # Which of the profiles in force it removed: the smart-charging store decides (K10).
        live = {p.id: p for p in st.profiles if p.live_at(t)}
        store = ProfileStore()
        for profile in sorted(live.values(), key=lambda p: p.t_from):
            store.install(profile.parsed, profile.evse, source=profile.source)
        store.clear(request)
        cleared = [p for pid, p in live.items() if store.get(pid) is None]
        for profile in cleared:
            profile.t_to = t
        criteria = request.get("chargingProfileCriteria") or {}
        evse_id = criteria.get("evseId")
        if "chargingProfileId" in request:
            what = f"#{request['chargingProfileId']}"
        else:
            purpose = criteria.get("chargingProfilePurpose")
            parts = [_SHORT_PURPOSE.get(purpose, purpose) if purpose else "all"]
            if criteria.get("stackLevel") is not None:
                parts.append(f"L{criteria['stackLevel']}")
            what = " ".join(parts)
        target = cleared[0].evse if len(cleared) == 1 else (evse_id if isinstance(evse_id, int) else 0)
        names = ", ".join(p.label() for p in cleared) or "nothing we knew of"
        detail = f"ClearChargingProfile {what}: removed {names}"
        st.events.append((target, SeriesEvent(t, "cleared", f"cleared {what}", detail)))
        st.profile_version += 1
        return True

    def _on_remote_start_result(
        self, record: CaptureRecord, call: dict[str, Any], result: dict[str, Any]
    ) -> bool:
        if result.get("status") != "Accepted":
            return False
        raw = call.get("chargingProfile")
        if not isinstance(raw, dict):
            return False
        evse_id = call.get("evseId", call.get("connectorId"))
        profile = _parse_profile(raw, evse_id if isinstance(evse_id, int) else 0, _epoch(record.time))
        if profile is None:
            return False
        st = self._station(record.station)
        remote = call.get("remoteStartId")
        if isinstance(evse_id, int) and evse_id > 0:
            self._install(st, profile, record, profile.t_from, "RequestStartTransaction")
            return True
        if isinstance(remote, int):  # EVSE known once the transaction starts
            st.remote_profiles[remote] = profile
            if len(st.remote_profiles) > 100:
                st.remote_profiles.pop(next(iter(st.remote_profiles)))
        return False

    def _on_report_profiles(self, record: CaptureRecord, p: dict[str, Any]) -> bool:
        """ReportChargingProfiles: profiles installed that we never saw being set."""
        evse_id = p.get("evseId")
        profiles = p.get("chargingProfile")
        if not isinstance(evse_id, int) or not isinstance(profiles, list):
            return False
        st = self._station(record.station)
        t = _epoch(record.time)
        known = {(q.id, q.evse) for q in st.profiles if q.t_to is None}
        changed = False
        for raw in profiles:
            if not isinstance(raw, dict) or (raw.get("id"), evse_id) in known:
                continue
            profile = _parse_profile(raw, evse_id, t)
            if profile is None or profile.purpose == EXTERNAL:
                continue
            self._install(st, profile, record, t, "ReportChargingProfiles")
            changed = True
        return changed

    def _on_notify_limit(self, record: CaptureRecord, p: dict[str, Any]) -> bool:
        limit = p.get("chargingLimit") or {}
        source = str(limit.get("chargingLimitSource", "Other"))
        evse_id = p.get("evseId", 0)
        evse_id = evse_id if isinstance(evse_id, int) else 0
        st = self._station(record.station)
        t = _epoch(record.time)
        for old in st.profiles:
            if old.purpose == EXTERNAL and old.source == source and old.evse == evse_id and old.t_to is None:
                old.t_to = t
        schedules = p.get("chargingSchedule")
        first = ""
        if isinstance(schedules, list) and schedules and isinstance(schedules[0], dict):
            schedule = {"id": 1, **schedules[0]}
            schedule.setdefault("startSchedule", _iso(t))  # no start given: it starts now
            st.external_ids += 1
            raw = {
                "id": -st.external_ids,
                "stackLevel": 0,
                "chargingProfilePurpose": EXTERNAL,
                "chargingProfileKind": "Absolute",
                "chargingSchedule": [schedule],
            }
            profile = _parse_profile(raw, evse_id, t)
            if profile is not None:
                profile.source = source
                st.profiles.append(profile)
                first = _first_limit_text(profile)
        detail = f"NotifyChargingLimit from {source}{': ' + first if first else ''}"
        st.events.append((evse_id, SeriesEvent(t, "limit", f"limit {source}", detail)))
        st.profile_version += 1
        return True

    def _on_cleared_limit(self, record: CaptureRecord, p: dict[str, Any]) -> bool:
        source = str(p.get("chargingLimitSource", "Other"))
        evse_id = p.get("evseId")
        st = self._station(record.station)
        t = _epoch(record.time)
        for old in st.profiles:
            if (
                old.purpose == EXTERNAL
                and old.source == source
                and old.t_to is None
                and (evse_id is None or old.evse == evse_id)
            ):
                old.t_to = t
        target = evse_id if isinstance(evse_id, int) else 0
        detail = f"ClearedChargingLimit from {source}"
        st.events.append((target, SeriesEvent(t, "limit cleared", f"{source} cleared", detail)))
        st.profile_version += 1
        return True

    def _on_composite_result(
        self, record: CaptureRecord, call: dict[str, Any], result: dict[str, Any]
    ) -> bool:
        if result.get("status") != "Accepted":
            return False
        t = _epoch(record.time)
        if isinstance(result.get("schedule"), dict):  # 2.x: CompositeScheduleType
            raw = dict(result["schedule"])
            evse_id = raw.get("evseId", call.get("evseId"))
            raw.setdefault("startSchedule", raw.get("scheduleStart"))
        elif isinstance(result.get("chargingSchedule"), dict):  # 1.6
            raw = dict(result["chargingSchedule"])
            evse_id = result.get("connectorId", call.get("connectorId"))
            raw.setdefault("startSchedule", result.get("scheduleStart"))
        else:
            return False
        start = _parse_time(raw.get("startSchedule"))
        duration = raw.get("duration", call.get("duration"))
        if not isinstance(evse_id, int) or not isinstance(raw.get("chargingSchedulePeriod"), list):
            return False
        schedule = {
            "chargingRateUnit": raw.get("chargingRateUnit", "W"),
            "chargingSchedulePeriod": raw["chargingSchedulePeriod"],
        }
        report = _Report(
            evse_id,
            t,
            start if start is not None else t,
            float(duration) if isinstance(duration, int | float) else None,
            schedule,
        )
        st = self._station(record.station)
        st.reports.append(report)
        st.profile_version += 1
        return True

    # ------------------------------------------------------------------ queries

    def keys(self) -> list[tuple[str, int]]:
        """(station id, EVSE id) pairs with samples, profiles or events."""
        if self._keys[0] == self.version:
            return list(self._keys[1])
        out: set[tuple[str, int]] = set()
        for station_id, st in self._stations.items():
            for evse_id, evse in st.evses.items():
                if len(evse.ring) or evse.spans:
                    out.add((station_id, evse_id))
            for profile in st.profiles:
                out.add((station_id, profile.evse))
            for evse_id, _ in st.events:
                out.add((station_id, evse_id))
            for report in st.reports:
                out.add((station_id, report.evse))
        self._keys = (self.version, sorted(out))
        return list(self._keys[1])

    def station_ids(self) -> list[str]:
        return sorted({s for s, _ in self.keys()})

    def station_version(self, station_id: str) -> int:
        st = self._stations.get(station_id)
        return st.version if st is not None else 0

    def now(self) -> float:
        return self.clock.now().timestamp()

    def series(
        self, station_id: str, evse_id: int, *, now: float | None = None, horizon_s: float | None = None
    ) -> SeriesData:
        now = self.now() if now is None else now
        horizon = self.horizon_s if horizon_s is None else horizon_s
        st = self._stations.get(station_id)
        empty = np.empty(0)
        if st is None:
            return SeriesData(station_id, evse_id, now, empty, empty, empty, empty, empty, empty, [])
        evse = st.evses.get(evse_id) or _EvseState()
        t, values = evse.ring.arrays()
        events = [e for target, e in st.events if target in (evse_id, 0)]
        events.sort(key=lambda e: e.t)
        starts = [x for x in (t[0] if len(t) else None, *(e.t for e in events)) if x is not None]
        starts += [p.t_from for p in st.profiles if p.evse in (evse_id, 0)]
        starts += [r.t_received for r in st.reports if r.evse == evse_id]
        step_t: list[float] = []
        step_w: list[float] = []
        if starts:
            t0 = max(min(starts), now - FULL_RESOLUTION_S - ARCHIVE_S)
            t1 = max(now, t0) + horizon
            steps = self._cached_steps(station_id, st, evse_id, t0, t1)
            if any(not math.isnan(w) for _, w in steps):
                step_t = [s for s, _ in steps] + [t1]
                step_w = [w for _, w in steps] + [steps[-1][1]]
                events = _with_period_events(events, steps)
        return SeriesData(
            station_id=station_id,
            evse_id=evse_id,
            now=now,
            t=t,
            power_w=values[:, POWER].copy(),
            energy_wh=values[:, ENERGY].copy(),
            soc=values[:, SOC].copy(),
            setpoint_t=np.asarray(step_t, dtype=float),
            setpoint_w=np.asarray(step_w, dtype=float),
            events=events,
            power_from_energy=evse.derived_power and not evse.power_seen,
        )

    # ------------------------------------------------------------------ the setpoint rule

    def _cached_steps(
        self, station_id: str, st: _StationState, evse_id: int, t0: float, t1: float
    ) -> list[tuple[float, float]]:
        """`_steps`, recomputed only when profiles change or now runs past the computed horizon
        (the plot asks 15 times a second; meter values alone never change the setpoint)."""
        key = (station_id, evse_id)
        hit = self._step_cache.get(key)
        if hit is None or hit[0] != st.profile_version or hit[1] != t0 or hit[2] < t1:
            end = t1 + max(STEP_CACHE_SLACK_S, (t1 - t0) * 0.05)
            hit = (st.profile_version, t0, end, self._steps(st, evse_id, t0, end))
            self._step_cache[key] = hit
        return [s for s in hit[3] if s[0] < t1]

    def _steps(self, st: _StationState, evse_id: int, t0: float, t1: float) -> list[tuple[float, float]]:
        """[(t, W or NaN)] from t0, merged where equal; each holds until the next.

        The observed profiles are replayed stretch by stretch through the composite schedule of
        the smart-charging core; reported composite schedules then take over where they apply.
        """
        scopes = None if evse_id == 0 else (evse_id, 0)
        profiles = [
            p
            for p in st.profiles
            if (scopes is None or p.evse in scopes) and p.t_from < t1 and (p.t_to is None or p.t_to > t0)
        ]
        evse_ids = (
            [evse_id]
            if evse_id
            else sorted({e for e in st.evses if e} | {p.evse for p in profiles if p.evse})
        )
        changes = {t0}
        for p in profiles:
            changes.add(p.t_from)
            if p.t_to is not None:
                changes.add(p.t_to)
        for e in evse_ids:
            for span in st.evses[e].spans if e in st.evses else ():
                changes.add(span.start)
                if span.end is not None:
                    changes.add(span.end)
        ordered = sorted(c for c in changes if t0 <= c < t1)
        derived: list[tuple[float, float]] = []
        for a, b in zip(ordered, [*ordered[1:], t1], strict=True):
            derived += self._stretch(st, [p for p in profiles if p.live_at(a)], evse_ids, evse_id, a, b)

        reports = sorted((r for r in st.reports if r.evse == evse_id), key=lambda r: r.t_received)
        profile_changes = sorted(
            {p.t_from for p in profiles} | {p.t_to for p in profiles if p.t_to is not None}
        )
        pieces: list[tuple[float, float, list[tuple[float, float]]]] = []
        for i, report in enumerate(reports):
            later = [c for c in profile_changes if c > report.t_received]
            end = min(report.end, later[0] if later else math.inf, t1)
            if i + 1 < len(reports):
                end = min(end, reports[i + 1].t_received)
            start = max(report.start, report.t_received, t0)
            if end > start:
                pieces.append((start, end, self._report_steps(report, start, end)))
        return _merge_steps(_overlay(derived, pieces))

    def _stretch(
        self,
        st: _StationState,
        live: list[_Profile],
        evse_ids: list[int],
        evse_id: int,
        a: float,
        b: float,
    ) -> list[tuple[float, float]]:
        """The composite schedule over [a, b) with the profiles in force at a."""
        if not live:
            return [(a, math.nan)]
        store = ProfileStore()
        for profile in sorted(live, key=lambda p: p.t_from):
            store.install(profile.parsed, profile.evse, source=profile.source)
        infos = []
        for e in evse_ids or [1]:
            span = st.evses[e].span_at(a) if e in st.evses else None
            infos.append(
                EvseInfo(
                    e,
                    voltage_v=self.nominal_voltage,
                    transaction_id=span.tx_id if span else None,
                    tx_start=_datetime(span.start) if span else None,
                )
            )
        return _composite_steps(store, StationContext(evses=tuple(infos)), evse_id, a, b)

    def _report_steps(self, report: _Report, a: float, b: float) -> list[tuple[float, float]]:
        """A reported schedule in W: read through the same core, as a plain Absolute profile."""
        schedule = {**report.schedule, "id": 1, "startSchedule": _iso(report.start)}
        if report.duration is not None:
            schedule["duration"] = math.ceil(report.duration)
        purpose = TX_DEFAULT if report.evse else STATION_MAX
        raw = {
            "id": 1,
            "stackLevel": 0,
            "chargingProfilePurpose": purpose,
            "chargingProfileKind": "Absolute",
            "chargingSchedule": [schedule],
        }
        profile = _parse_profile(raw, report.evse, report.t_received)
        if profile is None:
            return [(a, math.nan)]
        store = ProfileStore()
        store.install(profile.parsed, report.evse)
        ctx = StationContext(evses=(EvseInfo(report.evse or 1, voltage_v=self.nominal_voltage),))
        return _composite_steps(store, ctx, report.evse, a, b)

    # ------------------------------------------------------------------ export

    def to_csv(self, station_id: str, evse_id: int, *, now: float | None = None) -> str:
        """One table: meter samples, setpoint steps and profile events, in time order.

        Columns: time_utc, epoch_s, kind (sample | setpoint | set | cleared | limit | …),
        power_w, energy_wh, soc_percent, setpoint_w (the setpoint in force at that time),
        note (what the event was; "scheduled" for setpoint steps after now).
        """
        data = self.series(station_id, evse_id, now=now)
        rows: list[tuple[float, int, list[str]]] = []
        for i in range(len(data.t)):
            t = float(data.t[i])
            rows.append(
                (
                    t,
                    0,
                    [
                        "sample",
                        _fmt(data.power_w[i]),
                        _fmt(data.energy_wh[i]),
                        _fmt(data.soc[i]),
                        _fmt(data.setpoint_at(t)),
                        "",
                    ],
                )
            )
        for i in range(max(0, len(data.setpoint_t) - 1)):
            t = float(data.setpoint_t[i])
            note = "scheduled" if t > data.now else ""
            rows.append((t, 1, ["setpoint", "", "", "", _fmt(data.setpoint_w[i]), note]))
        for event in data.events:
            if event.kind == "period":  # the setpoint rows say it already
                continue
            rows.append((event.t, 2, [event.kind, "", "", "", _fmt(data.setpoint_at(event.t)), event.detail]))
        rows.sort(key=lambda r: (r[0], r[1]))
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(
            ["time_utc", "epoch_s", "kind", "power_w", "energy_wh", "soc_percent", "setpoint_w", "note"]
        )
        for t, _, cells in rows:
            writer.writerow([_iso(t), f"{t:.3f}", *cells])
        return out.getvalue()


# ====================================================================== helpers


def _composite_steps(
    store: ProfileStore, ctx: StationContext, evse_id: int, a: float, b: float
) -> list[tuple[float, float]]:
    """The composite schedule over [a, b) as steps in W.

    Composite periods start on whole seconds from the window start, so the window starts on the
    whole second at or before `a` (schedules written in whole seconds then land exactly) and the
    value in force at `a` opens the result.
    """
    base = math.floor(a)
    try:
        schedule = composite_schedule(
            store, evse_id, _datetime(base), max(1, math.ceil(b - base)), "W", ctx, now=_datetime(a)
        )
    except (KeyError, ValueError):
        return [(a, math.nan)]
    steps = [(base + p["startPeriod"], _period_watts(p)) for p in schedule["chargingSchedulePeriod"]]
    first = _value_at(steps, a)
    return [(a, first)] + [(t, w) for t, w in steps if a < t < b]


def _period_watts(period: dict[str, Any]) -> float:
    """A composite period in W as one number: the total over the phases; NaN for no limit."""
    if "limit" not in period:
        return math.nan
    if "limit_L2" in period:  # per-phase limits: limit is L1's share
        return float(period["limit"]) + float(period["limit_L2"]) + float(period.get("limit_L3", 0.0))
    return float(period["limit"])


def _overlay(
    base: list[tuple[float, float]], pieces: list[tuple[float, float, list[tuple[float, float]]]]
) -> list[tuple[float, float]]:
    """`base` steps with each (start, end, steps) piece pasted over [start, end)."""
    out = list(base)
    for start, end, steps in pieces:
        resume = _value_at(out, end)
        out = [s for s in out if s[0] < start] + steps + [(end, resume)] + [s for s in out if s[0] > end]
    return out


def _value_at(steps: list[tuple[float, float]], t: float) -> float:
    i = bisect.bisect_right([s[0] for s in steps], t) - 1
    return steps[i][1] if i >= 0 else math.nan


def _merge_steps(steps: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for t, w in steps:
        if out and out[-1][0] == t:
            out.pop()
        if out and (out[-1][1] == w or (math.isnan(w) and math.isnan(out[-1][1]))):
            continue
        out.append((t, w))
    return out


def _with_period_events(events: list[SeriesEvent], steps: list[tuple[float, float]]) -> list[SeriesEvent]:
    """Add a "period" event where the setpoint changes without a profile event explaining it."""
    explained = sorted(e.t for e in events)
    out = list(events)
    for i in range(1, len(steps)):
        t, w = steps[i]
        j = bisect.bisect_left(explained, t - 0.5)
        if j < len(explained) and explained[j] <= t + 0.5:
            continue
        text = "→ no limit" if math.isnan(w) else f"→ {_kw(w)}"
        previous = steps[i - 1][1]
        before = "no limit" if math.isnan(previous) else _kw(previous)
        out.append(SeriesEvent(t, "period", text, f"setpoint {before} → {text[2:]}"))
    out.sort(key=lambda e: e.t)
    return out


def _profile_21(raw: dict[str, Any]) -> dict[str, Any]:
    """A ChargingProfileType in its OCPP 2.1 shape (1.6 csChargingProfiles converted)."""
    out = dict(raw)
    if "chargingProfileId" in out:
        out["id"] = out.pop("chargingProfileId")
    purpose = out.get("chargingProfilePurpose")
    if isinstance(purpose, str):
        out["chargingProfilePurpose"] = _PURPOSE_ALIASES.get(purpose, purpose)
    schedules = out.get("chargingSchedule")
    if isinstance(schedules, dict):
        schedules = [schedules]
    if isinstance(schedules, list):
        out["chargingSchedule"] = [
            {"id": i + 1, **s} if isinstance(s, dict) else s for i, s in enumerate(schedules)
        ]
    if out.get("transactionId") is not None:
        out["transactionId"] = str(out["transactionId"])
    out.setdefault("stackLevel", 0)
    return out


def _parse_profile(raw: dict[str, Any], evse_id: int, t: float) -> _Profile | None:
    try:
        parsed = parse_profile(_profile_21(raw))
    except (ProfileError, TypeError, ValueError, KeyError):
        return None
    if not parsed.schedules:
        return None
    return _Profile(parsed, evse_id, t)


def _clear_request_21(call: dict[str, Any]) -> dict[str, Any]:
    """A ClearChargingProfileRequest in its 2.1 shape (1.6 has id and criteria at the top)."""
    if "chargingProfileCriteria" in call or "chargingProfileId" in call:
        return call
    request: dict[str, Any] = {}
    if call.get("id") is not None:
        request["chargingProfileId"] = call["id"]
    criteria = {}
    if call.get("connectorId") is not None:
        criteria["evseId"] = call["connectorId"]
    if call.get("chargingProfilePurpose") is not None:
        purpose = call["chargingProfilePurpose"]
        criteria["chargingProfilePurpose"] = _PURPOSE_ALIASES.get(purpose, purpose)
    if call.get("stackLevel") is not None:
        criteria["stackLevel"] = call["stackLevel"]
    if criteria:
        request["chargingProfileCriteria"] = criteria
    return request


def _first_limit_text(profile: _Profile) -> str:
    schedule = profile.parsed.schedule
    if not schedule.periods or schedule.periods[0].limit is None:
        return ""
    period = schedule.periods[0]
    phases = f" on {period.number_phases} phase(s)" if period.number_phases else ""
    return f"first period {period.limit:g} {schedule.unit}{phases}"


_POWER_SCALE = {"W": 1.0, "KW": 1000.0}
_ENERGY_SCALE = {"WH": 1.0, "KWH": 1000.0}


def _read_sampled_values(values: Any) -> tuple[float | None, float | None, float | None]:
    """(power W, energy Wh, SoC %) of one meterValue; totals preferred, phases summed otherwise."""
    if not isinstance(values, list):
        return None, None, None
    power: dict[bool, dict[str | None, float]] = {True: {}, False: {}}
    energy: dict[bool, dict[str | None, float]] = {True: {}, False: {}}
    soc: float | None = None
    for sv in values:
        if not isinstance(sv, dict):
            continue
        measurand = sv.get("measurand", "Energy.Active.Import.Register")
        if measurand not in ("Power.Active.Import", "Energy.Active.Import.Register", "SoC"):
            continue
        try:
            value = float(sv["value"])
        except (KeyError, TypeError, ValueError):
            continue
        uom = sv.get("unitOfMeasure")
        if isinstance(uom, dict):  # 2.x
            unit = uom.get("unit")
            multiplier = uom.get("multiplier", 0)
            if isinstance(multiplier, int) and multiplier:
                value *= 10.0**multiplier
        else:  # 1.6
            unit = sv.get("unit")
        if measurand == "SoC":
            soc = value
            continue
        outlet = sv.get("location") in (None, "Outlet")
        phase = sv.get("phase")
        if measurand == "Power.Active.Import":
            scale = _POWER_SCALE.get(str(unit or "W").upper())
            if scale is not None:
                power[outlet][phase] = value * scale
        else:
            scale = _ENERGY_SCALE.get(str(unit or "Wh").upper())
            if scale is not None:
                energy[outlet][phase] = value * scale
    return _total(power), _total(energy), soc


def _total(by_location: dict[bool, dict[str | None, float]]) -> float | None:
    values = by_location[True] or by_location[False]
    if not values:
        return None
    if None in values:
        return values[None]
    return sum(values.values())


def _parse_time(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _epoch(moment: datetime) -> float:
    return moment.timestamp()


def _datetime(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def _nan(value: float | None) -> float:
    return math.nan if value is None else value


def _kw(watts: float) -> str:
    return f"{watts / 1000:.1f} kW" if abs(watts) < 100_000 else f"{watts / 1000:.0f} kW"


def _fmt(value: float) -> str:
    if value is None or math.isnan(value):
        return ""
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _iso(t: float) -> str:
    moment = datetime.fromtimestamp(t, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


_CALL_HANDLERS = {
    "TransactionEvent": PowerSeries._on_transaction_event,
    "MeterValues": PowerSeries._on_meter_values,
    "StopTransaction": PowerSeries._on_stop_transaction,
    "NotifyChargingLimit": PowerSeries._on_notify_limit,
    "ClearedChargingLimit": PowerSeries._on_cleared_limit,
    "ReportChargingProfiles": PowerSeries._on_report_profiles,
}
_RESULT_HANDLERS = {
    "SetChargingProfile": PowerSeries._on_set_profile_result,
    "ClearChargingProfile": PowerSeries._on_clear_profile_result,
    "GetCompositeSchedule": PowerSeries._on_composite_result,
    "RequestStartTransaction": PowerSeries._on_remote_start_result,
    "RemoteStartTransaction": PowerSeries._on_remote_start_result,
    "StartTransaction": PowerSeries._on_start_transaction_result,
}
