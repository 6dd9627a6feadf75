"""The one place where core signals meet Qt.

Core signals fire synchronously on the asyncio (qasync) thread, once per frame and once per
physics tick per EVSE. If each of those touched a widget, a busy capture would starve the
window. So a core callback here only appends to a list or marks something dirty; QTimers
flush the accumulated work at a steady rate: records every ~50 ms as one insert batch,
station and EVSE changes at most ~8 times a second.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from app.inspector.power_series import PowerSeries
from app.inspector.records import CaptureRecord
from app.session import Session
from app.station.evse import Evse
from app.station.station import Station
from ui.inspector_model import InspectorModel

RECORD_FLUSH_MS = 50
# Under a flood (thousands of frames per flush) the table repaints less often: nobody reads
# rows scrolling by at 20k/s, and each repaint of the followed table costs the same however
# many rows arrived, so fewer repaints leave the event loop free.
BUSY_BATCH = 250  # records per 50 ms flush: 5,000 frames/s
BUSY_FLUSH_MS = 200
STATE_FLUSH_MS = 120


class SessionBridge(QObject):
    """Adapts a `Session` to Qt: batched records into the model, coalesced change signals."""

    #: A station was added to the session (the widget set must grow).
    stationAdded = Signal(object)
    #: A station was removed (its panel must go).
    stationRemoved = Signal(object)
    #: A station's link state, boot status, version or queue changed.
    stationChanged = Signal(object)
    #: (station, evse): something on the EVSE changed since the last flush.
    evseChanged = Signal(object, object)
    #: Records were flushed into the model: (count in this batch, total ingested so far).
    recordsFlushed = Signal(int, int)
    #: The power series (setpoints, meter values) changed since the last flush.
    powerChanged = Signal()

    def __init__(self, session: Session, model: InspectorModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.model = model
        self.ingested = 0
        self._pending: list[CaptureRecord] = []
        self._resync = False
        self._dirty_stations: dict[int, Station] = {}
        self._dirty_evses: dict[tuple[int, int], tuple[Station, Evse]] = {}
        self._station_hooks: dict[int, tuple[Station, Callable[..., Any], Callable[..., Any]]] = {}
        #: Per-EVSE power, SoC and setpoints from the capture (the Power tab reads it).
        self.power = PowerSeries(session.clock)
        self._power_dirty = False

        self._record_timer = QTimer(self)
        self._record_timer.setInterval(RECORD_FLUSH_MS)
        self._record_timer.timeout.connect(self.flush_records)
        self._state_timer = QTimer(self)
        self._state_timer.setInterval(STATE_FLUSH_MS)
        self._state_timer.timeout.connect(self.flush_state)

        store = session.store
        store.added.connect(self._on_added)
        store.cleared.connect(self._on_cleared)
        session.station_added.connect(self._on_station_added)
        session.station_removed.connect(self._on_station_removed)
        if len(store):
            self.model.set_records(store.records())
            self.ingested = len(store)
        self.power.attach(store)
        self.power.changed.connect(self._on_power_changed)
        for station in session.stations.values():
            self._hook(station)
        self._record_timer.start()
        self._state_timer.start()

    def close(self) -> None:
        """Stop listening: the core may outlive the window (tests, shutdown)."""
        self._record_timer.stop()
        self._state_timer.stop()
        store = self.session.store
        store.added.disconnect(self._on_added)
        store.cleared.disconnect(self._on_cleared)
        self.power.detach(store)
        self.power.changed.disconnect(self._on_power_changed)
        self.session.station_added.disconnect(self._on_station_added)
        self.session.station_removed.disconnect(self._on_station_removed)
        for station, on_state, on_evse in list(self._station_hooks.values()):
            station.state_changed.disconnect(on_state)
            station.evse_changed.disconnect(on_evse)
        self._station_hooks.clear()

    # ------------------------------------------------------------------ core side (hot path)

    def _on_added(self, record: CaptureRecord) -> None:
        if not self._resync:
            self._pending.append(record)

    def _on_power_changed(self) -> None:
        self._power_dirty = True

    def _on_cleared(self) -> None:
        # The live store trims its oldest records to bound memory; the window's capture (the
        # model's SQLite file) keeps them. Only a store emptied on purpose empties the view.
        if not len(self.session.store):
            self._pending.clear()
            self._resync = True

    def _on_station_added(self, station: Station) -> None:
        self._hook(station)
        self.stationAdded.emit(station)

    def _on_station_removed(self, station: Station) -> None:
        hooks = self._station_hooks.pop(id(station), None)
        if hooks is not None:
            station.state_changed.disconnect(hooks[1])
            station.evse_changed.disconnect(hooks[2])
        self._dirty_stations.pop(id(station), None)
        for key in [k for k in self._dirty_evses if k[0] == id(station)]:
            del self._dirty_evses[key]
        self.stationRemoved.emit(station)

    def _hook(self, station: Station) -> None:
        if id(station) in self._station_hooks:
            return

        was_online = [station.online]

        def on_state(_: Station, station: Station = station) -> None:
            self._dirty_stations[id(station)] = station
            if was_online[0] and not station.online:
                # Its CALLs still waiting will never be answered: the table says so at once.
                self.model.mark_connection_closed(f"{station.station_id}@station", self.session.clock.now())
            was_online[0] = station.online

        def on_evse(evse: Evse, station: Station = station) -> None:
            self._dirty_evses[(id(station), evse.evse_id)] = (station, evse)
            # Queued events and similar header facts change along with EVSEs.
            self._dirty_stations[id(station)] = station

        station.state_changed.connect(on_state)
        station.evse_changed.connect(on_evse)
        self._station_hooks[id(station)] = (station, on_state, on_evse)

    # ------------------------------------------------------------------ Qt side (timers)

    def flush_records(self) -> None:
        if self._power_dirty:
            self._power_dirty = False
            self.powerChanged.emit()
        if self._resync:
            self._resync = False
            self._pending.clear()
            records = self.session.store.records()
            self.ingested = max(self.ingested, records[-1].seq if records else 0)
            self.model.set_records(records)
            self.recordsFlushed.emit(0, self.ingested)
            return
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        self.ingested += len(batch)
        self._record_timer.setInterval(BUSY_FLUSH_MS if len(batch) >= BUSY_BATCH else RECORD_FLUSH_MS)
        self.model.append_records(batch)
        self.recordsFlushed.emit(len(batch), self.ingested)

    def flush_state(self) -> None:
        if self._dirty_stations:
            stations, self._dirty_stations = self._dirty_stations, {}
            for station in stations.values():
                self.stationChanged.emit(station)
        if self._dirty_evses:
            evses, self._dirty_evses = self._dirty_evses, {}
            for station, evse in evses.values():
                self.evseChanged.emit(station, evse)

    def flush(self) -> None:
        """Flush everything now (tests, screenshots): no waiting for the next tick."""
        self.flush_records()
        self.flush_state()
