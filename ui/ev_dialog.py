"""Choose the EV a driver plugs in next: a preset, then its battery and charger numbers.

The dialog only builds an `EVModel` (the same class scenarios and the CLI use); the EVSE card
keeps it and hands a fresh copy to `Station.plug` at the next Plug in, so two sessions never
share one battery. It opens with `open()` so the rest of the window (and the asyncio loop on
it) keeps running while the tester types.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.station.ev import EVModel

#: Preset name -> factory; "Custom" is what the combo shows once a number no longer matches.
PRESETS: dict[str, Callable[..., EVModel]] = {
    "City car": EVModel.city_car,
    "Typical": EVModel.typical_ac,
    "Large": EVModel.large_ac,
}
CUSTOM = "Custom"
DEFAULT_PRESET = "Typical"

_EV_FIELDS = {f.name for f in dataclasses.fields(EVModel)}


def ev_has_field(name: str) -> bool:
    """Whether this build's EVModel knows a field (the V2X fields arrive separately)."""
    return name in _EV_FIELDS


@dataclass
class EvChoice:
    """What the tester picked: the EV (a template, copied at each plug) and when it leaves."""

    name: str
    ev: EVModel
    departure_in_h: float | None = None

    def make(self, now: datetime) -> EVModel:
        """A fresh EV for one plug-in, departure counted from the moment it arrives."""
        ev = self.ev.copy()
        if self.departure_in_h and ev_has_field("departure_time"):
            ev.departure_time = now + timedelta(hours=self.departure_in_h)
        return ev

    def summary(self) -> str:
        return ev_summary(self.ev, self.name)


def default_choice() -> EvChoice:
    return EvChoice(DEFAULT_PRESET, PRESETS[DEFAULT_PRESET]())


def ev_summary(ev: EVModel, name: str | None = None) -> str:
    """'City car 35 kWh · 20→100 % · 1×32 A': what the card shows of an EV (short: the column
    is narrow)."""
    battery = f"{ev.capacity_wh / 1000:.0f} kWh"
    parts = [f"{name} {battery}" if name else battery]
    parts.append(f"{ev.soc_percent:.0f}→{ev.target_soc_percent:.0f} %")
    parts.append(f"{ev.ac_phases}×{ev.ac_max_current_a:.0f} A")
    if getattr(ev, "bidirectional", False):
        parts.append("V2X")
    return " · ".join(parts)


def ev_details(ev: EVModel) -> str:
    """The longer form for a tooltip: everything the dialog sets."""
    dc = f"{ev.dc_max_power_w / 1000:.0f} kW" if ev.dc_max_power_w else "AC only"
    lines = [
        f"Battery {ev.capacity_wh / 1000:.1f} kWh, SoC {ev.soc_percent:.1f} % → target "
        f"{ev.target_soc_percent:.0f} %",
        f"AC {ev.ac_phases} phase{'s' if ev.ac_phases != 1 else ''} × {ev.ac_max_current_a:.0f} A · DC {dc}",
    ]
    if getattr(ev, "bidirectional", False):
        lines.append("Bidirectional (V2X)")
    departure = getattr(ev, "departure_time", None)
    if departure is not None:
        lines.append(f"Leaves at {departure:%H:%M}")
    return "\n".join(lines)


def _spin(low: float, high: float, suffix: str, decimals: int = 0, step: float = 1.0) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(low, high)
    spin.setDecimals(decimals)
    spin.setSingleStep(step)
    spin.setSuffix(suffix)
    spin.setAlignment(Qt.AlignmentFlag.AlignRight)
    return spin


class EvDialog(QDialog):
    """Preset plus editable numbers; accepting validates through EVModel itself."""

    def __init__(self, choice: EvChoice, evse_title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"EV for {evse_title}")
        self.setMinimumWidth(400)
        self.choice: EvChoice = choice
        layout = QVBoxLayout(self)
        intro = QLabel(f"The EV plugged into {evse_title} next time you press Plug in.")
        intro.setObjectName("muted")
        intro.setWordWrap(True)
        layout.addWidget(intro)

        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.preset = QComboBox()
        for name, factory in PRESETS.items():
            ev = factory()
            charger = f"{ev.ac_phases} × {ev.ac_max_current_a:.0f} A"
            self.preset.addItem(f"{name} ({ev.capacity_wh / 1000:.0f} kWh, {charger})", name)
        self.preset.addItem(CUSTOM, CUSTOM)
        form.addRow("Preset", self.preset)
        self.capacity = _spin(1, 300, " kWh", 1, 5)
        form.addRow("Battery capacity", self.capacity)
        self.start_soc = _spin(0, 100, " %", 1, 5)
        form.addRow("Start SoC", self.start_soc)
        self.target_soc = _spin(0, 100, " %", 1, 5)
        self.target_soc.setToolTip("The EV stops asking for power here (SuspendedEV)")
        form.addRow("Target SoC", self.target_soc)
        self.phases = QSpinBox()
        self.phases.setRange(1, 3)
        self.phases.setAlignment(Qt.AlignmentFlag.AlignRight)
        form.addRow("AC phases", self.phases)
        self.max_current = _spin(0, 80, " A", 0, 1)
        self.max_current.setToolTip("What the on-board charger draws per phase at most")
        form.addRow("Max current per phase", self.max_current)
        self.dc_max = _spin(0, 500, " kW", 0, 10)
        self.dc_max.setSpecialValueText("AC only")
        form.addRow("DC max power", self.dc_max)
        self.departure = _spin(0, 72, " h", 1, 0.5)
        self.departure.setSpecialValueText("not set")
        self.departure.setToolTip("Departure time, counted from the moment the EV is plugged in")
        self.departure.setEnabled(ev_has_field("departure_time"))
        form.addRow("Leaves after", self.departure)
        self.bidirectional = QCheckBox("Bidirectional (V2X)")
        self.bidirectional.setEnabled(ev_has_field("bidirectional"))
        if not self.bidirectional.isEnabled():
            self.bidirectional.setToolTip("This build's EV model has no bidirectional field")
        form.addRow("", self.bidirectional)
        layout.addLayout(form)

        self.error = QLabel()
        self.error.setObjectName("problems")
        self.error.setWordWrap(True)
        self.error.hide()
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Use this EV")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

        self._load(choice.ev, choice.name, choice.departure_in_h)
        self.preset.currentIndexChanged.connect(self._on_preset)
        for spin in (self.capacity, self.phases, self.max_current, self.dc_max):
            spin.valueChanged.connect(self._on_edited)
        self.bidirectional.toggled.connect(self._on_edited)

    # ------------------------------------------------------------------ fields

    def _load(self, ev: EVModel, name: str, departure_in_h: float | None = None) -> None:
        self.capacity.setValue(ev.capacity_wh / 1000)
        self.start_soc.setValue(ev.soc_percent)
        self.target_soc.setValue(ev.target_soc_percent)
        self.phases.setValue(ev.ac_phases)
        self.max_current.setValue(ev.ac_max_current_a)
        self.dc_max.setValue((ev.dc_max_power_w or 0) / 1000)
        self.bidirectional.setChecked(bool(getattr(ev, "bidirectional", False)))
        self.departure.setValue(departure_in_h or 0)
        self._select(name)

    def _select(self, name: str) -> None:
        index = self.preset.findData(name)
        self.preset.blockSignals(True)
        self.preset.setCurrentIndex(index if index >= 0 else self.preset.findData(CUSTOM))
        self.preset.blockSignals(False)

    def select_preset(self, name: str) -> None:
        """As picking it in the combo does: the preset's battery and charger, SoC kept."""
        self.preset.setCurrentIndex(self.preset.findData(name))

    def _on_preset(self, _index: int) -> None:
        name = self.preset.currentData()
        factory = PRESETS.get(name)
        if factory is None:
            return
        ev = factory(soc_percent=self.start_soc.value(), target_soc_percent=self.target_soc.value())
        self._load(ev, name, self.departure.value())

    def _on_edited(self, *_args: Any) -> None:
        """A number no longer matching the preset makes it Custom."""
        name = self.preset.currentData()
        factory = PRESETS.get(name)
        if factory is None:
            return
        preset = factory()
        matches = (
            abs(self.capacity.value() * 1000 - preset.capacity_wh) < 1
            and self.phases.value() == preset.ac_phases
            and abs(self.max_current.value() - preset.ac_max_current_a) < 0.5
            and abs(self.dc_max.value() * 1000 - (preset.dc_max_power_w or 0)) < 1
        )
        if not matches:
            self._select(CUSTOM)

    def ev_model(self) -> EVModel:
        """The EV as entered; EVModel's own checks raise ValueError on nonsense."""
        values: dict[str, Any] = {
            "capacity_wh": self.capacity.value() * 1000,
            "soc_percent": self.start_soc.value(),
            "target_soc_percent": self.target_soc.value(),
            "ac_phases": self.phases.value(),
            "ac_max_current_a": self.max_current.value(),
            "dc_max_power_w": self.dc_max.value() * 1000 or None,
        }
        if ev_has_field("bidirectional"):
            values["bidirectional"] = self.bidirectional.isChecked()
        return EVModel(**values)

    def accept(self) -> None:
        try:
            ev = self.ev_model()
        except ValueError as exc:
            self.error.setText(str(exc))
            self.error.show()
            return
        name = self.preset.currentData() or CUSTOM
        self.choice = EvChoice(name, ev, self.departure.value() or None)
        self.error.hide()
        super().accept()


__all__ = ["PRESETS", "EvChoice", "EvDialog", "default_choice", "ev_details", "ev_summary"]
