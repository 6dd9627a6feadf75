"""A limit from outside OCPP, set in the window: a grid signal or a local load manager.

`LocalLimitControl` is the kW box with Apply / Clear that the EVSE cards (one EVSE) and the
station header (EVSE 0, the grid connection) share. Both buttons run the core's
`StationSmartCharging.set_external_limit`, which installs the limit as an external-constraints
profile and tells the CSMS with NotifyChargingLimit / ClearedChargingLimit (K12, K13).
`limit_in_force` says what the card shows: the limit the EVSE obeys now and where it comes from.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDoubleSpinBox, QHBoxLayout, QPushButton, QWidget

from app.scenarios.controls import controls_for
from app.station.evse import Evse
from app.station.station import Station
from ui.tasks import TaskRunner

#: Two limits within this many watts are the same limit (the composite rounds nothing, but a
#: W limit turned into amps and back may differ by a fraction of a watt).
_SAME_W = 1.0


def kw_text(watts: float) -> str:
    kw = watts / 1000
    return f"{kw:.1f} kW" if kw < 100 else f"{kw:.0f} kW"


def local_limit_w(station: Station, evse_id: int) -> tuple[float, int] | None:
    """The lowest local limit that applies to the EVSE (its own, or the station's): (W, from id)."""
    limits = station.smart.external_limit_w
    found = [(limits[key], key) for key in (evse_id, 0) if key in limits]
    return min(found) if found else None


def limit_in_force(station: Station, evse: Evse) -> tuple[str, str, str]:
    """(value, source, tooltip) for the card: '4.0 kW', 'local limit' / 'CSMS profile' / ''."""
    limit = evse.limit_w
    local = local_limit_w(station, evse.evse_id)
    if limit is None:
        if local is not None:  # installed, not obeyed yet: the next tick applies it
            return kw_text(local[0]), "local limit", "Local limit set; the EVSE applies it at its next step"
        return "no limit", "", "No charging profile or local limit applies: the EVSE offers its rating"
    if local is not None and limit >= local[0] - _SAME_W:
        where = "station-wide local limit" if local[1] == 0 else "local limit"
        return kw_text(limit), where, "The local limit set in this window is the lowest limit now"
    tip = "The composite schedule of the CSMS's charging profiles caps this EVSE now"
    if local is not None:
        tip += f" (below the local limit of {kw_text(local[0])})"
    return kw_text(limit), "CSMS profile", tip


class LocalLimitControl(QWidget):
    """[ 7.4 kW ] Apply  Clear — the local limit of one EVSE (0: the whole station)."""

    def __init__(
        self,
        station: Station,
        evse_id: int,
        runner: TaskRunner,
        max_w: float,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.station = station
        self.evse_id = evse_id
        self.runner = runner
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        self.spin = QDoubleSpinBox()
        self.spin.setRange(0.0, max(1.0, round(max_w / 1000, 1)))
        self.spin.setDecimals(1)
        self.spin.setSingleStep(0.5)
        self.spin.setSuffix(" kW")
        self.spin.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.spin.setValue(min(self.spin.maximum(), round(max_w / 2000, 1)))
        self.spin.setKeyboardTracking(False)
        self.spin.setFixedWidth(self.spin.fontMetrics().horizontalAdvance("0000.0 kW") + 34)
        where = "the whole station (grid connection)" if evse_id == 0 else f"EVSE {evse_id}"
        self.spin.setToolTip(
            f"A limit from outside OCPP for {where}: a grid signal or a local load manager.\n"
            "Apply reports it to the CSMS with NotifyChargingLimit; Clear with ClearedChargingLimit."
        )
        self.apply_button = QPushButton("Apply")
        self.apply_button.setToolTip(f"Cap {where} at this power now")
        self.apply_button.clicked.connect(self.apply)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip(f"Remove the local limit of {where}")
        self.clear_button.clicked.connect(self.clear)
        row.addWidget(self.spin)
        row.addWidget(self.apply_button)
        row.addWidget(self.clear_button)
        self.refresh()

    @property
    def active_w(self) -> float | None:
        return self.station.smart.external_limit_w.get(self.evse_id)

    def apply(self) -> None:
        self.spin.interpretText()
        watts = self.spin.value() * 1000
        self.runner.run(self._set(watts), f"Local limit {kw_text(watts)} on {self._what()}")

    def clear(self) -> None:
        self.runner.run(self._set(None), f"Clear the local limit on {self._what()}")

    async def _set(self, watts: float | None) -> None:
        await controls_for(self.station).set_external_limit(self.evse_id, watts)  # recordable
        self.refresh()

    def _what(self) -> str:
        return self.station.station_id if self.evse_id == 0 else f"EVSE {self.evse_id}"

    def refresh(self) -> None:
        self.clear_button.setEnabled(self.active_w is not None)


__all__ = ["LocalLimitControl", "kw_text", "limit_in_force", "local_limit_w"]
