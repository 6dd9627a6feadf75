"""Electrics of one AC EVSE: what it offers, what the EV draws, what the meter counts.

The station calls `EvseElectrics.step(dt_s, ev, limit_w, energizing)` on every tick with an
explicit `dt`, so the physics is a pure function of its inputs and a seeded random source:
the same scenario gives the same meter values on every run and on every machine.

Model, in one place so the numbers can be checked by hand:

* Offered current per phase = min(EVSE rating, limit_a, limit_w / sum of phase voltages).
  Below `min_current_a` (6 A, the lowest current a IEC 61851-1 control pilot can signal)
  the EVSE offers nothing, as real chargers pause instead of charging below 6 A.
* The EV draws min(offered, what the EV accepts: `EVModel.max_power_w`), reached with a
  ramp (`ramp_up_w_per_s`, `ramp_down_w_per_s`): a new cap shows within seconds, as
  IEC 61851-1 gives the EV 5 s to follow a pilot change, but never as a step.
* Opening the contactor (`energizing=False`) or unplugging drops power to 0 at once.
* Current is balanced over the phases in use: I = P / sum(U), so P = sum(U * I) holds
  exactly. Voltage per phase = nominal - source resistance * I + small seeded noise.
* Energy integrates the power with the trapezoid rule (exact for the linear ramp), into a
  register that only ever grows; the EV stores that energy times its charge efficiency.
* V2X (OCPP 2.1 block Q): with a setpoint the EV follows it instead of taking all it may
  (V2X.02). A negative setpoint discharges a bidirectional EV, bounded by the car's export
  capability, its reserve SoC, the EVSE rating and the profile's dischargeLimit; `power_w`
  is then negative and the energy goes into a separate export register, because the import
  register must never run backwards. Currents stay magnitudes: the sign of `power_w` says
  which direction they flow, so |P| = sum(U * I) holds either way.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace

from app.station.ev import EVModel

#: Lowest current the control pilot can offer (10 % duty cycle), IEC 61851-1.
PILOT_MIN_CURRENT_A = 6.0
#: How fast the EV picks up power: 11 kW is reached in ~4.4 s.
DEFAULT_RAMP_UP_W_PER_S = 2_500.0
#: How fast the EV sheds power after a cap: 11 kW -> 4.2 kW in ~1.4 s (the norm allows 5 s).
DEFAULT_RAMP_DOWN_W_PER_S = 5_000.0
#: Supply impedance seen by the EVSE: 32 A sags the phase voltage by 3.2 V.
DEFAULT_SOURCE_RESISTANCE_OHM = 0.1
#: Standard deviation of the voltage noise; clipped at 3 sigma so readings stay plausible.
DEFAULT_VOLTAGE_NOISE_V = 0.5

_NO_PHASES = (0.0, 0.0, 0.0)


@dataclass(frozen=True, slots=True)
class Reading:
    """What the meter shows at the end of a step; no timestamp, the caller owns time.

    Per-phase tuples are always L1, L2, L3 with 0 for phases that carry nothing, so a
    consumer can index them without knowing the wiring.
    """

    power_w: float
    current_a: tuple[float, float, float]
    voltage_v: tuple[float, float, float]
    energy_wh: float
    soc_percent: float | None
    #: Phases the EV draws on (0 without an EV): TransactionEvent.numberPhasesUsed.
    phases_in_use: int
    #: Phases wired to the EVSE, independent of the car.
    evse_phases: int
    #: Power and per-phase current the EVSE offers the EV (the pilot), 0 when not energizing.
    offered_w: float = 0.0
    offered_current_a: float = 0.0
    frequency_hz: float = 50.0
    #: Energy fed back to the grid so far (Energy.Active.Export.Register).
    export_energy_wh: float = 0.0
    #: The setpoint the EV was asked to follow (Power.Active.Setpoint), None without one.
    setpoint_w: float | None = None
    #: Voltage, current, power and energy come from a real meter (app/hardware), not the model.
    external: bool = False
    #: The real meter stopped answering: these are its last good values.
    stale: bool = False

    @property
    def import_w(self) -> float:
        return max(0.0, self.power_w)

    @property
    def export_w(self) -> float:
        return max(0.0, -self.power_w)


class Meter:
    """The energy register of an EVSE: a float the station saves and restores.

    It only accepts additions, so no bug elsewhere can make a register go backwards,
    which a CSMS billing on start/stop registers would treat as fraud or failure.
    """

    __slots__ = ("_export_wh", "_register_wh")

    def __init__(self, register_wh: float = 0.0, export_wh: float = 0.0) -> None:
        if register_wh < 0 or export_wh < 0:
            raise ValueError("an energy register cannot be negative")
        self._register_wh = float(register_wh)
        self._export_wh = float(export_wh)

    @property
    def register_wh(self) -> float:
        return self._register_wh

    @property
    def export_wh(self) -> float:
        return self._export_wh

    def add_export(self, energy_wh: float) -> None:
        if energy_wh < 0:
            raise ValueError("an export register never decreases")
        self._export_wh += energy_wh

    def add(self, energy_wh: float) -> None:
        if energy_wh < 0:
            raise ValueError("an import register never decreases")
        self._register_wh += energy_wh

    def __repr__(self) -> str:
        return f"Meter(register_wh={self._register_wh!r})"


@dataclass(frozen=True, slots=True)
class ExternalValues:
    """What a real meter measured on an EVSE; None where its register map has no such value.

    Per-phase tuples are L1, L2, L3 like `Reading`'s. `stale` says the meter stopped answering
    and these are its last good values.
    """

    voltage_v: tuple[float, float, float] | None = None
    current_a: tuple[float, float, float] | None = None
    power_w: float | None = None
    energy_import_wh: float | None = None
    energy_export_wh: float | None = None
    frequency_hz: float | None = None
    stale: bool = False


def _phases_carrying(current_a: tuple[float, float, float]) -> int:
    """How many phases a real meter sees current on (L1 first), for the per-phase values."""
    return max((i + 1 for i, amps in enumerate(current_a) if abs(amps) >= 0.01), default=0)


class Thermal:
    """Temperature of an EVSE: a first-order lag towards ambient plus a rise with the square
    of the load (I²R losses), so a full load settles `rise_at_rated_c` above ambient."""

    __slots__ = ("ambient_c", "rise_at_rated_c", "temperature_c", "time_constant_s")

    def __init__(
        self, ambient_c: float = 25.0, rise_at_rated_c: float = 30.0, time_constant_s: float = 600.0
    ) -> None:
        self.ambient_c = ambient_c
        self.rise_at_rated_c = rise_at_rated_c
        self.time_constant_s = time_constant_s
        self.temperature_c = ambient_c

    def step(self, dt_s: float, load: float) -> float:
        """Advance by `dt_s` seconds at `load` (|power| / rated power); the new temperature."""
        settled = self.ambient_c + self.rise_at_rated_c * min(abs(load), 2.0) ** 2
        self.temperature_c = settled + (self.temperature_c - settled) * math.exp(-dt_s / self.time_constant_s)
        return self.temperature_c


class EvseElectrics:
    """Rating, supply and metering of one AC EVSE, plus the state of the EV's power ramp."""

    def __init__(
        self,
        *,
        max_current_a: float = 32.0,
        phases: int = 3,
        nominal_voltage_v: float = 230.0,
        frequency_hz: float = 50.0,
        meter: Meter | None = None,
        seed: int | None = 0,
        voltage_noise_v: float = DEFAULT_VOLTAGE_NOISE_V,
        source_resistance_ohm: float = DEFAULT_SOURCE_RESISTANCE_OHM,
        ramp_up_w_per_s: float = DEFAULT_RAMP_UP_W_PER_S,
        ramp_down_w_per_s: float = DEFAULT_RAMP_DOWN_W_PER_S,
        min_current_a: float = PILOT_MIN_CURRENT_A,
    ) -> None:
        if phases not in (1, 2, 3):
            raise ValueError("phases must be 1, 2 or 3")
        if max_current_a <= 0 or nominal_voltage_v <= 0:
            raise ValueError("rating and nominal voltage must be positive")
        if ramp_up_w_per_s <= 0 or ramp_down_w_per_s <= 0:
            raise ValueError("ramp rates must be positive")
        if min(voltage_noise_v, source_resistance_ohm, min_current_a) < 0:
            raise ValueError("noise, resistance and minimum current must not be negative")
        self.max_current_a = max_current_a
        self.phases = phases
        self.nominal_voltage_v = nominal_voltage_v
        self.frequency_hz = frequency_hz
        self.meter = meter if meter is not None else Meter()
        # seed=None switches noise off, for tests that want textbook voltages.
        self._rng = random.Random(seed) if seed is not None else None
        self.voltage_noise_v = voltage_noise_v
        self.source_resistance_ohm = source_resistance_ohm
        self.ramp_up_w_per_s = ramp_up_w_per_s
        self.ramp_down_w_per_s = ramp_down_w_per_s
        self.min_current_a = min_current_a
        #: A real meter's latest values (app/hardware): they replace the simulated ones.
        self.external: ExternalValues | None = None
        self.thermal = Thermal()
        self._power_w = 0.0
        self._current_a: tuple[float, float, float] = _NO_PHASES
        self._voltage_v = self._supply_voltages()
        self._reading = Reading(
            power_w=0.0,
            current_a=_NO_PHASES,
            voltage_v=self._voltage_v,
            energy_wh=self.meter.register_wh,
            soc_percent=None,
            phases_in_use=0,
            evse_phases=phases,
            frequency_hz=frequency_hz,
        )

    @property
    def reading(self) -> Reading:
        """The latest reading, for meter values taken between ticks (Begin/End, Trigger)."""
        return self._reading

    @property
    def power_w(self) -> float:
        return self._power_w

    def set_external(self, values: ExternalValues | None) -> None:
        """A real meter drives this EVSE's readings from now on; None gives them back to the model.

        The register follows the real one: it moves up by what the real meter counted, and is
        re-based on it when the real meter shows less (another meter was attached), because
        billing must see the real meter's register, not the simulation's.
        """
        self.external = values
        if values is None:
            self._reading = replace(self._reading, external=False, stale=False)
            return
        meter = self.meter
        imported = values.energy_import_wh
        exported = values.energy_export_wh
        if (imported is not None and imported < meter.register_wh) or (
            exported is not None and exported < meter.export_wh
        ):
            self.meter = Meter(
                meter.register_wh if imported is None else imported,
                meter.export_wh if exported is None else exported,
            )
            meter = self.meter
        if imported is not None:
            meter.add(imported - meter.register_wh)
        if exported is not None:
            meter.add_export(exported - meter.export_wh)
        self._reading = self._with_external(self._reading)

    def _with_external(self, reading: Reading) -> Reading:
        """`reading` with the real meter's values in place of the simulated ones."""
        ext = self.external
        if ext is None:
            return reading
        current = ext.current_a if ext.current_a is not None else reading.current_a
        power = ext.power_w if ext.power_w is not None else reading.power_w
        phases = reading.phases_in_use
        if ext.current_a is not None and reading.evse_phases > 0:
            phases = _phases_carrying(ext.current_a)
        return replace(
            reading,
            power_w=power,
            current_a=current,
            voltage_v=ext.voltage_v if ext.voltage_v is not None else reading.voltage_v,
            energy_wh=self.meter.register_wh,
            export_energy_wh=self.meter.export_wh,
            frequency_hz=ext.frequency_hz if ext.frequency_hz is not None else reading.frequency_hz,
            phases_in_use=phases,
            external=True,
            stale=ext.stale,
        )

    def rated_power_w(self) -> float:
        """Nameplate power at nominal voltage (e.g. 22 080 W for 3 x 32 A x 230 V)."""
        return self.max_current_a * self.phases * self.nominal_voltage_v

    def step(
        self,
        dt_s: float,
        ev: EVModel | None,
        limit_w: float | None,
        energizing: bool,
        *,
        limit_a: float | None = None,
        max_phases: int | None = None,
        setpoint_w: float | None = None,
        discharge_limit_w: float | None = None,
        allow_discharge: bool = False,
    ) -> Reading:
        """Advance the physics by `dt_s` seconds under conditions that hold for the whole step.

        `limit_w` is a total over all phases, `limit_a` a per-phase current (charging
        profiles come in either unit), `max_phases` a schedule's numberPhases. `dt_s=0`
        re-evaluates offered values without moving time (e.g. right after a limit change).
        `setpoint_w` (V2X) is followed rather than merely capping; a negative one discharges
        only with `allow_discharge` (the station's V2X state and operation mode say so) and
        never beyond `discharge_limit_w` (<= 0).
        """
        if dt_s < 0:
            raise ValueError("time does not run backwards")
        if dt_s > 0:
            self._voltage_v = self._supply_voltages()
        voltages = self._voltage_v

        allowed_phases = self.phases if max_phases is None else max(1, min(self.phases, max_phases))
        phases_in_use = min(allowed_phases, ev.ac_phases) if ev is not None else 0
        offer_phases = phases_in_use or allowed_phases
        sum_u = sum(voltages[:offer_phases])

        offered_a = self.max_current_a
        if limit_a is not None:
            offered_a = min(offered_a, max(0.0, limit_a))
        if limit_w is not None:
            # The EVSE turns a power limit into the pilot current with its nominal voltage
            # (K01.FR.50), not the noisy measured one: a limit of exactly 6 A x 230 V must not
            # flicker below the 6 A minimum with every voltage sample.
            nominal = self.nominal_voltage_v * offer_phases
            offered_a = min(offered_a, max(0.0, limit_w) / nominal)
        if offered_a < self.min_current_a - 1e-9 or not energizing:
            offered_a = 0.0
        offered_w = offered_a * sum_u

        previous = self._power_w
        power = 0.0
        if ev is not None and energizing and phases_in_use > 0:
            mean_u = sum_u / phases_in_use
            target = min(ev.max_power_w(mean_u, phases_in_use), offered_w)
            target = _follow_setpoint(
                target,
                setpoint_w,
                ev.max_discharge_w(mean_u, phases_in_use) if allow_discharge else 0.0,
                self.rated_power_w(),
                discharge_limit_w,
            )
            power = self._ramp(previous, target, dt_s)
            power = self._integrate(ev, previous, power, dt_s)

        self._power_w = power
        if power != 0 and sum_u > 0:
            per_phase = abs(power) / sum_u
            self._current_a = (
                per_phase,
                per_phase if phases_in_use >= 2 else 0.0,
                per_phase if phases_in_use >= 3 else 0.0,
            )
        else:
            self._current_a = _NO_PHASES

        self._reading = Reading(
            power_w=power,
            current_a=self._current_a,
            voltage_v=voltages,
            energy_wh=self.meter.register_wh,
            soc_percent=ev.soc_percent if ev is not None else None,
            phases_in_use=phases_in_use,
            evse_phases=self.phases,
            offered_w=offered_w,
            offered_current_a=offered_a,
            frequency_hz=self.frequency_hz,
            export_energy_wh=self.meter.export_wh,
            setpoint_w=setpoint_w,
        )
        self._reading = self._with_external(self._reading)
        return self._reading

    def _ramp(self, previous: float, target: float, dt_s: float) -> float:
        """The EV reaches a new target through the ramp, in either direction of flow."""
        if target >= previous:
            return min(target, previous + self.ramp_up_w_per_s * dt_s)
        return max(target, previous - self.ramp_down_w_per_s * dt_s)

    def _integrate(self, ev: EVModel, previous: float, power: float, dt_s: float) -> float:
        """Count the step's energy in the right register and move the EV's SoC with it.

        Returns the power at the end of the step: an export the battery's reserve cut short
        ends at 0 W, so the next reading does not claim an export that no longer happens.
        """
        import_wh, export_wh = _split_energy(previous, power, dt_s)
        simulated_register = self.external is None  # a real meter counts for itself
        if import_wh > 0:
            if simulated_register:
                self.meter.add(import_wh)
            ev.absorb(import_wh)
        if export_wh > 0:
            delivered = ev.deliver(export_wh)
            if delivered > 0 and simulated_register:
                self.meter.add_export(delivered)
            if delivered < export_wh - 1e-9:
                return 0.0
        return power

    def _supply_voltages(self) -> tuple[float, float, float]:
        """Phase-to-neutral voltages for the next step, sagging under last step's current."""
        values = []
        for i in range(3):
            if i >= self.phases:
                values.append(0.0)
                continue
            u = self.nominal_voltage_v - self.source_resistance_ohm * self._current_a[i]
            if self._rng is not None and self.voltage_noise_v > 0:
                sigma = self.voltage_noise_v
                u += max(-3 * sigma, min(3 * sigma, self._rng.gauss(0.0, sigma)))
            values.append(u)
        return (values[0], values[1], values[2])


#: Pack voltage of a typical 400 V-class EV battery at 0 % and 100 % SoC.
DC_PACK_EMPTY_V = 340.0
DC_PACK_FULL_V = 410.0
DEFAULT_DC_RAMP_W_PER_S = 20_000.0  # DC chargers ramp to 150 kW in well under 10 s


class DcEvseElectrics(EvseElectrics):
    """A DC EVSE: power limited by its rating, the EV's DC capability and the limit; the
    voltage is the EV battery's (rising with SoC), current = P / U. Readings have no phases
    (`evse_phases` 0), which is how sampled values know to report them without a phase."""

    def __init__(self, *, max_power_w: float, meter: Meter | None = None, seed: int | None = 0) -> None:
        if max_power_w <= 0:
            raise ValueError("a DC EVSE needs a positive rated power")
        super().__init__(
            max_current_a=max_power_w / DC_PACK_EMPTY_V,
            phases=1,
            meter=meter,
            seed=seed,
            ramp_up_w_per_s=DEFAULT_DC_RAMP_W_PER_S,
            ramp_down_w_per_s=DEFAULT_DC_RAMP_W_PER_S,
            min_current_a=0.0,
        )
        self.max_power_w = max_power_w
        self._reading = Reading(
            power_w=0.0,
            current_a=_NO_PHASES,
            voltage_v=_NO_PHASES,
            energy_wh=self.meter.register_wh,
            soc_percent=None,
            phases_in_use=0,
            evse_phases=0,
        )

    def rated_power_w(self) -> float:
        return self.max_power_w

    def step(
        self,
        dt_s: float,
        ev: EVModel | None,
        limit_w: float | None,
        energizing: bool,
        *,
        limit_a: float | None = None,
        max_phases: int | None = None,
        setpoint_w: float | None = None,
        discharge_limit_w: float | None = None,
        allow_discharge: bool = False,
    ) -> Reading:
        if dt_s < 0:
            raise ValueError("time does not run backwards")
        soc = ev.soc_percent if ev is not None else 0.0
        voltage = (
            DC_PACK_EMPTY_V + (DC_PACK_FULL_V - DC_PACK_EMPTY_V) * soc / 100.0 if ev is not None else 0.0
        )
        offered_w = self.max_power_w if energizing and ev is not None else 0.0
        if limit_w is not None:
            offered_w = min(offered_w, max(0.0, limit_w))
        if limit_a is not None and voltage > 0:
            offered_w = min(offered_w, max(0.0, limit_a) * voltage)
        previous = self._power_w
        power = 0.0
        if ev is not None and energizing:
            target = min(ev.max_power_w(voltage, 0), offered_w)
            target = _follow_setpoint(
                target,
                setpoint_w,
                ev.max_discharge_w(voltage, 0) if allow_discharge else 0.0,
                self.max_power_w,
                discharge_limit_w,
            )
            power = self._ramp(previous, target, dt_s)
            power = self._integrate(ev, previous, power, dt_s)
        self._power_w = power
        current = abs(power) / voltage if voltage > 0 else 0.0
        self._reading = Reading(
            power_w=power,
            current_a=(current, 0.0, 0.0),
            voltage_v=(voltage, 0.0, 0.0),
            energy_wh=self.meter.register_wh,
            soc_percent=ev.soc_percent if ev is not None else None,
            phases_in_use=0,
            evse_phases=0,
            offered_w=offered_w,
            offered_current_a=offered_w / voltage if voltage > 0 else 0.0,
            export_energy_wh=self.meter.export_wh,
            setpoint_w=setpoint_w,
        )
        self._reading = self._with_external(self._reading)
        return self._reading


def _follow_setpoint(
    target: float,
    setpoint_w: float | None,
    discharge_capability_w: float,
    rated_w: float,
    discharge_limit_w: float | None,
) -> float:
    """The power the EV aims for: the charge target, or the setpoint when there is one.

    A positive setpoint is followed but never beyond what the EVSE offers and the EV accepts
    (`target`, V2X.03); a negative one is followed down to the least of the car's export
    capability, the EVSE rating and the profile's dischargeLimit (V2X.04). No capability
    (unidirectional car, V2X off, reserve reached) means no export at all: 0 W, not a charge.
    """
    if setpoint_w is None:
        return target
    if setpoint_w >= 0:
        return min(setpoint_w, target)
    export = min(-setpoint_w, discharge_capability_w, rated_w)
    if discharge_limit_w is not None:
        export = min(export, max(0.0, -discharge_limit_w))
    return -max(0.0, export)


def _split_energy(a_w: float, b_w: float, dt_s: float) -> tuple[float, float]:
    """Import and export Wh of a step whose power ramps linearly from a to b.

    When the ramp crosses zero the two parts go to different registers, so a swing from
    charging to discharging neither loses energy nor nets it out.
    """
    if dt_s <= 0:
        return 0.0, 0.0
    if a_w >= 0 and b_w >= 0:
        return (a_w + b_w) / 2.0 * dt_s / 3600.0, 0.0
    if a_w <= 0 and b_w <= 0:
        return 0.0, -(a_w + b_w) / 2.0 * dt_s / 3600.0
    zero_at = abs(a_w) / (abs(a_w) + abs(b_w)) * dt_s  # seconds into the step
    first = abs(a_w) / 2.0 * zero_at / 3600.0
    second = abs(b_w) / 2.0 * (dt_s - zero_at) / 3600.0
    return (first, second) if a_w > 0 else (second, first)
