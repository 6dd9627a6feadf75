"""The electric vehicle plugged into an EVSE: battery, on-board charger limits, taper.

The EV decides how much power it *accepts*; the EVSE (`app.station.meter`) decides how much
it *offers*. Keeping the two apart is what lets a plot show a CSMS setpoint that the car
does not follow (battery nearly full, 1-phase car on a 3-phase limit, target SoC reached).

Numbers are deliberately plain floats stepped by the station with an explicit `dt`, so a
1-hour charge in a test is deterministic and takes milliseconds.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

#: Fraction of the energy taken from the grid that ends up in the battery. The on-board
#: charger and battery losses of a typical AC EV are 8-12 %; 0.92 keeps the SoC honest
#: without making the meter/SoC relation look broken in a demo.
DEFAULT_CHARGE_EFFICIENCY = 0.92

#: SoC from which the battery management starts to reduce the accepted power (CC -> CV).
DEFAULT_TAPER_START_SOC = 80.0

#: Fraction of full power the EV still accepts just before 100 %: the CV phase trickle.
DEFAULT_TAPER_END_FRACTION = 0.1


@dataclass
class EVModel:
    """A battery EV as far as charging is concerned.

    Mutable on purpose: the SoC moves while the EV charges, and a scenario or the UI may
    change the target SoC or departure time mid-session, like a driver in the app would.
    """

    capacity_wh: float = 60_000.0
    soc_percent: float = 20.0
    #: The EV stops asking for power here (SuspendedEV), like a driver's charge limit.
    target_soc_percent: float = 100.0
    ac_phases: int = 3
    ac_max_current_a: float = 16.0
    #: None for an AC-only car; the DC path is only modelled by `max_power_w(..., phases=0)`.
    dc_max_power_w: float | None = None
    taper_start_soc: float = DEFAULT_TAPER_START_SOC
    taper_end_fraction: float = DEFAULT_TAPER_END_FRACTION
    charge_efficiency: float = DEFAULT_CHARGE_EFFICIENCY
    departure_time: datetime | None = None
    #: Can feed energy back (ISO 15118-20 BPT, CHAdeMO V2H): only then may a setpoint discharge it.
    bidirectional: bool = False
    #: Export the car allows on AC (its on-board inverter) and DC; None: as much as it charges.
    ac_max_discharge_w: float | None = None
    dc_max_discharge_w: float | None = None
    #: The car's own reserve for driving: no setpoint takes it below this SoC.
    min_discharge_soc_percent: float = 10.0

    def __post_init__(self) -> None:
        # Fail at construction: a wrong preset would otherwise show up as an odd plot much later.
        if self.capacity_wh <= 0:
            raise ValueError("capacity_wh must be positive")
        if not 0.0 <= self.soc_percent <= 100.0:
            raise ValueError("soc_percent must be within 0..100")
        if not 0.0 <= self.target_soc_percent <= 100.0:
            raise ValueError("target_soc_percent must be within 0..100")
        if self.ac_phases not in (1, 2, 3):
            raise ValueError("ac_phases must be 1, 2 or 3")
        if self.ac_max_current_a < 0:
            raise ValueError("ac_max_current_a must not be negative")
        if self.dc_max_power_w is not None and self.dc_max_power_w < 0:
            raise ValueError("dc_max_power_w must not be negative")
        if not 0.0 <= self.taper_start_soc <= 100.0:
            raise ValueError("taper_start_soc must be within 0..100")
        if not 0.0 <= self.taper_end_fraction <= 1.0:
            raise ValueError("taper_end_fraction must be within 0..1")
        if not 0.0 < self.charge_efficiency <= 1.0:
            raise ValueError("charge_efficiency must be within (0, 1]")
        for name in ("ac_max_discharge_w", "dc_max_discharge_w"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must not be negative")
        if not 0.0 <= self.min_discharge_soc_percent <= 100.0:
            raise ValueError("min_discharge_soc_percent must be within 0..100")

    # -- presets ---------------------------------------------------------------------------

    @classmethod
    def typical_ac(cls, **overrides: Any) -> EVModel:
        """Mid-size EV on AC: 60 kWh, 11 kW on-board charger (3 x 16 A)."""
        return cls._preset(
            dict(capacity_wh=60_000.0, ac_phases=3, ac_max_current_a=16.0, dc_max_power_w=100_000.0),
            overrides,
        )

    @classmethod
    def city_car(cls, **overrides: Any) -> EVModel:
        """Small city car with a single-phase 7.4 kW charger (1 x 32 A), 35 kWh."""
        return cls._preset(
            dict(capacity_wh=35_000.0, ac_phases=1, ac_max_current_a=32.0, dc_max_power_w=50_000.0), overrides
        )

    @classmethod
    def large_ac(cls, **overrides: Any) -> EVModel:
        """Large EV with a 22 kW on-board charger (3 x 32 A), 100 kWh."""
        return cls._preset(
            dict(capacity_wh=100_000.0, ac_phases=3, ac_max_current_a=32.0, dc_max_power_w=150_000.0),
            overrides,
        )

    @classmethod
    def _preset(cls, base: dict[str, Any], overrides: dict[str, Any]) -> EVModel:
        return cls(**{**base, **overrides})

    def copy(self, **changes: Any) -> EVModel:
        """An independent EV, so two EVSEs never share one battery by accident."""
        return dataclasses.replace(self, **changes)

    # -- physics ---------------------------------------------------------------------------

    @property
    def stored_wh(self) -> float:
        return self.capacity_wh * self.soc_percent / 100.0

    @property
    def wants_energy(self) -> bool:
        """False once the target is reached: the EV goes SuspendedEV, not the EVSE."""
        return self.soc_percent < self.target_soc_percent

    def taper_factor(self) -> float:
        """1 below the taper start, falling linearly to `taper_end_fraction` at 100 % SoC.

        Linear is close enough to a real CV curve for plots and keeps tests exact.
        """
        if self.soc_percent <= self.taper_start_soc or self.taper_start_soc >= 100.0:
            return 1.0
        progress = (self.soc_percent - self.taper_start_soc) / (100.0 - self.taper_start_soc)
        return 1.0 - (1.0 - self.taper_end_fraction) * min(1.0, progress)

    def max_power_w(self, voltage_v: float, phases: int) -> float:
        """Power the EV would accept now at the given per-phase voltage.

        `phases` is the number of phases the EVSE connects (the EV uses at most its own
        `ac_phases`); `phases=0` means a DC EVSE, where `dc_max_power_w` applies instead.
        """
        if not self.wants_energy or self.soc_percent >= 100.0:
            return 0.0
        if phases <= 0:
            if self.dc_max_power_w is None:
                return 0.0
            return self.dc_max_power_w * self.taper_factor()
        used = min(phases, self.ac_phases)
        return used * self.ac_max_current_a * max(0.0, voltage_v) * self.taper_factor()

    def max_discharge_w(self, voltage_v: float, phases: int) -> float:
        """Power the EV could export now (>= 0); `phases` as in `max_power_w` (0 = DC).

        Zero for a unidirectional car and at or below the reserve SoC, so a negative setpoint
        can never make such a car export, whatever the profile says.
        """
        if not self.bidirectional or self.soc_percent <= self.min_discharge_soc_percent:
            return 0.0
        if phases <= 0:
            cap = self.dc_max_discharge_w if self.dc_max_discharge_w is not None else self.dc_max_power_w
            return max(0.0, cap or 0.0)
        used = min(phases, self.ac_phases)
        inverter = used * self.ac_max_current_a * max(0.0, voltage_v)
        if self.ac_max_discharge_w is not None:
            inverter = min(inverter, self.ac_max_discharge_w)
        return inverter

    def deliver(self, energy_wh: float) -> float:
        """Take energy for export out of the battery; returns the grid-side energy delivered.

        The battery gives up more than the meter counts (the same efficiency as charging, in the
        other direction), and never goes below the reserve: the last step is cut short there.
        """
        if energy_wh <= 0:
            return 0.0
        reserve_wh = self.capacity_wh * self.min_discharge_soc_percent / 100.0
        available = max(0.0, self.stored_wh - reserve_wh) * self.charge_efficiency
        delivered = min(energy_wh, available)
        drawn = delivered / self.charge_efficiency
        self.soc_percent = max(0.0, self.soc_percent - drawn / self.capacity_wh * 100.0)
        return delivered

    def absorb(self, energy_wh: float) -> float:
        """Account energy delivered at the outlet into the battery; returns what was stored.

        The argument is the metered (grid-side) energy so the station passes exactly what
        its meter counted; the charging efficiency is applied here, on the EV side.
        """
        if energy_wh <= 0:
            return 0.0
        stored = energy_wh * self.charge_efficiency
        room = self.capacity_wh - self.stored_wh
        stored = min(stored, max(0.0, room))
        self.soc_percent = min(100.0, self.soc_percent + stored / self.capacity_wh * 100.0)
        return stored

    def energy_to_target_wh(self) -> float:
        """Grid-side energy still needed to reach the target (for charging needs, ETA)."""
        missing = max(0.0, self.target_soc_percent - self.soc_percent) / 100.0 * self.capacity_wh
        return missing / self.charge_efficiency
