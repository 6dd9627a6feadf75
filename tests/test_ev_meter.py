"""EV, EVSE electrics and sampled values: physics checked by numbers, output by the OCA schema."""

from __future__ import annotations

import itertools
import json
import pathlib
from datetime import UTC, datetime

import jsonschema
import ocpp
import pytest

from app.clock import ManualClock, utc_timestamp
from app.station.ev import EVModel
from app.station.meter import DcEvseElectrics, EvseElectrics, Meter, Reading
from app.station.sampled_values import (
    SUPPORTED_MEASURANDS,
    build_meter_value,
    build_sampled_values,
    parse_measurands,
    unsupported_measurands,
)

TX_MEASURANDS = "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage,SoC"


def textbook(**kwargs: object) -> EvseElectrics:
    """Electrics without noise or sag, so expected values can be computed by hand."""
    return EvseElectrics(seed=None, source_resistance_ohm=0.0, **kwargs)  # type: ignore[arg-type]


def run(
    electrics: EvseElectrics,
    ev: EVModel | None,
    seconds: int,
    limit_w: float | None = None,
    energizing: bool = True,
    dt: float = 1.0,
) -> list[Reading]:
    return [electrics.step(dt, ev, limit_w, energizing) for _ in range(int(seconds / dt))]


# -- EV model ------------------------------------------------------------------------------


def test_presets_accept_their_onboard_charger_power() -> None:
    assert EVModel.typical_ac().max_power_w(230.0, 3) == pytest.approx(3 * 16 * 230)  # 11 040 W
    assert EVModel.large_ac().max_power_w(230.0, 3) == pytest.approx(3 * 32 * 230)  # 22 080 W
    # A single-phase car uses one phase even when the EVSE offers three.
    assert EVModel.city_car().max_power_w(230.0, 3) == pytest.approx(32 * 230)
    assert EVModel.typical_ac().max_power_w(230.0, 1) == pytest.approx(16 * 230)
    # phases=0 is the DC path; an AC-only car takes nothing there.
    assert EVModel.large_ac().max_power_w(400.0, 0) == pytest.approx(150_000)
    assert EVModel.typical_ac(dc_max_power_w=None).max_power_w(400.0, 0) == 0.0
    assert EVModel.typical_ac(soc_percent=55).soc_percent == 55


def test_taper_is_linear_from_80_percent_to_a_trickle() -> None:
    full = 3 * 16 * 230.0
    assert EVModel.typical_ac(soc_percent=80).max_power_w(230, 3) == pytest.approx(full)
    assert EVModel.typical_ac(soc_percent=90).max_power_w(230, 3) == pytest.approx(full * 0.55)
    assert EVModel.typical_ac(soc_percent=99).max_power_w(230, 3) == pytest.approx(full * 0.145)
    assert EVModel.typical_ac(soc_percent=100).max_power_w(230, 3) == 0.0


def test_ev_stops_demanding_at_target_soc() -> None:
    ev = EVModel.typical_ac(soc_percent=70, target_soc_percent=70)
    assert not ev.wants_energy
    assert ev.max_power_w(230, 3) == 0.0
    assert EVModel.typical_ac(soc_percent=69.9, target_soc_percent=70).max_power_w(230, 3) > 0


def test_absorb_applies_efficiency_and_never_overfills() -> None:
    ev = EVModel.typical_ac(soc_percent=50)
    stored = ev.absorb(6_000.0)
    assert stored == pytest.approx(6_000 * 0.92)
    assert ev.soc_percent == pytest.approx(50 + 5_520 / 60_000 * 100)  # 59.2 %
    assert ev.energy_to_target_wh() == pytest.approx((100 - 59.2) / 100 * 60_000 / 0.92)
    ev.absorb(1e9)
    assert ev.soc_percent == 100.0
    assert ev.absorb(-5) == 0.0


@pytest.mark.parametrize(
    "field,value",
    [
        ("capacity_wh", 0),
        ("soc_percent", 101),
        ("ac_phases", 4),
        ("target_soc_percent", -1),
        ("charge_efficiency", 0),
    ],
)
def test_ev_rejects_impossible_values(field: str, value: float) -> None:
    with pytest.raises(ValueError):
        EVModel.typical_ac(**{field: value})


def test_copy_gives_an_independent_battery() -> None:
    a = EVModel.typical_ac()
    b = a.copy(soc_percent=30)
    a.absorb(1000)
    assert b.soc_percent == 30
    assert a.soc_percent > 20


# -- electrics -----------------------------------------------------------------------------


def test_one_hour_at_11kw_textbook_energy_and_soc() -> None:
    ev = EVModel.typical_ac(soc_percent=20)
    e = textbook(max_current_a=32)
    readings = run(e, ev, 3600)
    full = 3 * 16 * 230.0  # 11 040 W: the EV's on-board charger, not the 22 kW EVSE, limits
    # Trapezoids of the first 5 s (0 -> 2.5 -> 5 -> 7.5 -> 10 -> 11.04 kW) miss ~6.9 Wh.
    ramp_loss_wh = (5 * full - (1250 + 3750 + 6250 + 8750 + 10520)) / 3600
    assert readings[-1].power_w == pytest.approx(full)
    assert e.meter.register_wh == pytest.approx(full - ramp_loss_wh, abs=1e-6)  # 11 033.1 Wh
    assert readings[-1].energy_wh == e.meter.register_wh
    assert ev.soc_percent == pytest.approx(20 + e.meter.register_wh * 0.92 / 60_000 * 100, abs=1e-9)
    assert ev.soc_percent == pytest.approx(36.918, abs=0.001)
    assert readings[-1].current_a == pytest.approx((16.0, 16.0, 16.0))
    assert readings[-1].phases_in_use == 3


def test_one_hour_with_noise_and_sag_integrates_what_it_reports() -> None:
    ev = EVModel.typical_ac(soc_percent=20)
    e = EvseElectrics(max_current_a=32, seed=7)
    readings = run(e, ev, 3600)
    # Sag of 0.1 ohm * 16 A = 1.6 V per phase costs ~0.7 %; noise averages out.
    assert 10_900 < e.meter.register_wh < 11_040
    # The register is exactly the trapezoid integral of the reported power.
    integral, previous = 0.0, 0.0
    for r in readings:
        integral += (previous + r.power_w) / 2 / 3600
        previous = r.power_w
    assert e.meter.register_wh == pytest.approx(integral, rel=1e-12)
    assert ev.soc_percent - 20 == pytest.approx(e.meter.register_wh * 0.92 / 600, rel=1e-9)
    voltages = [u for r in readings for u in r.voltage_v]
    assert min(voltages) >= 228.4 - 1.5
    assert max(voltages) <= 230.0 + 1.5
    assert any(u != voltages[0] for u in voltages)


def test_same_seed_same_readings() -> None:
    a = run(EvseElectrics(seed=3), EVModel.typical_ac(), 120)
    b = run(EvseElectrics(seed=3), EVModel.typical_ac(), 120)
    c = run(EvseElectrics(seed=4), EVModel.typical_ac(), 120)
    assert a == b
    assert a != c


def test_ramp_is_quick_but_not_instant() -> None:
    e = textbook()
    readings = run(e, EVModel.typical_ac(), 6)
    assert [r.power_w for r in readings[:4]] == pytest.approx([2500, 5000, 7500, 10000])
    assert readings[4].power_w == pytest.approx(11_040)
    assert e.meter.register_wh == pytest.approx((1250 + 3750 + 6250 + 8750 + 10520 + 11040) / 3600)


def test_limit_of_4_2kw_takes_effect_within_two_seconds() -> None:
    e = textbook(max_current_a=32)
    ev = EVModel.typical_ac()
    run(e, ev, 60)
    assert e.power_w == pytest.approx(11_040)
    after = run(e, ev, 10, limit_w=4_200)
    assert after[0].power_w == pytest.approx(11_040 - 5_000)  # shedding at 5 kW/s
    assert after[1].power_w == pytest.approx(4_200)
    assert all(r.power_w == pytest.approx(4_200) for r in after[1:])
    assert after[-1].offered_w == pytest.approx(4_200)
    assert after[-1].current_a == pytest.approx((4_200 / 690,) * 3)  # 6.09 A per phase
    # Lifting the limit ramps back up at 2.5 kW/s.
    lifted = run(e, ev, 4)
    assert [r.power_w for r in lifted] == pytest.approx([6_700, 9_200, 11_040, 11_040])


def test_limit_in_amps_and_phase_count() -> None:
    e = textbook(max_current_a=32)
    ev = EVModel.large_ac()
    for _ in range(20):
        r = e.step(1, ev, None, True, limit_a=10)
    assert r.power_w == pytest.approx(3 * 10 * 230)
    for _ in range(20):
        r = e.step(1, ev, None, True, max_phases=1)
    assert r.phases_in_use == 1
    assert r.current_a == pytest.approx((32.0, 0.0, 0.0))
    assert r.power_w == pytest.approx(32 * 230)


def test_below_pilot_minimum_the_evse_pauses() -> None:
    e = textbook()
    ev = EVModel.typical_ac()
    readings = run(e, ev, 20, limit_w=3_000)  # 4.35 A per phase on 3 phases: below 6 A
    assert all(r.power_w == 0 for r in readings)
    assert readings[-1].offered_current_a == 0
    # The same limit on a single-phase car is 13 A: fine.
    city = EVModel.city_car()
    readings = run(textbook(), city, 20, limit_w=3_000)
    assert readings[-1].power_w == pytest.approx(3_000)
    assert readings[-1].current_a == pytest.approx((3_000 / 230, 0.0, 0.0))


def test_single_phase_car_on_three_phase_evse() -> None:
    e = textbook(max_current_a=32)
    r = run(e, EVModel.city_car(), 30)[-1]
    assert r.phases_in_use == 1
    assert r.evse_phases == 3
    assert r.power_w == pytest.approx(7_360)
    assert r.current_a == pytest.approx((32.0, 0.0, 0.0))
    values, _ = build_sampled_values(r, "Current.Import,Voltage", "Sample.Periodic")
    assert [(v["measurand"], v["phase"]) for v in values] == [("Current.Import", "L1"), ("Voltage", "L1-N")]


def test_evse_rating_caps_a_bigger_car() -> None:
    r = run(textbook(max_current_a=16), EVModel.large_ac(), 30)[-1]
    assert r.power_w == pytest.approx(11_040)
    assert r.current_a == pytest.approx((16.0, 16.0, 16.0))


def test_taper_reduces_power_above_80_percent() -> None:
    ev = EVModel.typical_ac(soc_percent=85)
    e = textbook(max_current_a=32)
    readings = run(e, ev, 1800)
    powers = [r.power_w for r in readings[10:]]
    assert all(later < earlier for earlier, later in itertools.pairwise(powers))
    start_factor = 1 - 0.9 * 5 / 20
    assert readings[10].power_w == pytest.approx(11_040 * start_factor, rel=0.01)  # ~8.6 kW
    # Power always equals what the EV accepts at its current SoC.
    assert readings[-1].power_w == pytest.approx(ev.max_power_w(230, 3), rel=1e-3)
    assert readings[-1].power_w < 0.7 * 11_040


def test_target_soc_stops_charging() -> None:
    ev = EVModel.typical_ac(soc_percent=49.9, target_soc_percent=50)
    e = textbook()
    readings = run(e, ev, 120)
    assert ev.soc_percent >= 50
    assert ev.soc_percent < 50.02  # only the ramp-down tail overshoots
    stopped_at = e.meter.register_wh
    assert readings[-1].power_w == 0
    assert readings[-1].current_a == (0.0, 0.0, 0.0)
    assert readings[-1].offered_w > 0  # the EVSE still offers; the EV declines (SuspendedEV)
    run(e, ev, 60)
    assert e.meter.register_wh == stopped_at


def test_not_energizing_means_zero_at_once() -> None:
    e = textbook()
    ev = EVModel.typical_ac()
    run(e, ev, 30)
    before = e.meter.register_wh
    r = e.step(1, ev, None, False)
    assert r.power_w == 0
    assert r.current_a == (0.0, 0.0, 0.0)
    assert r.offered_w == 0
    assert r.soc_percent == ev.soc_percent
    assert r.phases_in_use == 3
    run(e, ev, 60, energizing=False)
    assert e.meter.register_wh == before


def test_no_ev_means_zero_and_no_soc() -> None:
    e = textbook()
    r = run(e, None, 10)[-1]
    assert (r.power_w, r.soc_percent, r.phases_in_use, r.energy_wh) == (0, None, 0, 0)
    assert r.voltage_v == (230.0, 230.0, 230.0)


def test_register_never_decreases_and_restores() -> None:
    e = EvseElectrics(meter=Meter(1_234.5), seed=1)
    assert e.reading.energy_wh == 1_234.5
    ev = EVModel.typical_ac()
    clock = ManualClock()
    previous = e.meter.register_wh
    plan = [
        (None, True, ev),
        (4_200, True, ev),
        (0, True, ev),
        (None, False, ev),
        (None, True, None),
        (None, True, ev),
    ]
    for limit, energizing, car in plan:
        for _ in range(30):
            clock.advance(1)
            r = e.step(1, car, limit, energizing)
            assert r.energy_wh >= previous
            previous = r.energy_wh
    assert previous > 1_234.5 + 50
    with pytest.raises(ValueError):
        e.meter.add(-0.1)
    with pytest.raises(ValueError):
        Meter(-1)
    with pytest.raises(ValueError):
        e.step(-1, ev, None, True)


def test_zero_dt_reevaluates_offer_without_energy() -> None:
    e = textbook()
    ev = EVModel.typical_ac()
    run(e, ev, 10)
    before = e.meter.register_wh
    r = e.step(0, ev, 4_200, True)
    assert r.offered_w == pytest.approx(4_200)
    assert r.power_w == pytest.approx(11_040)  # no time passed, so no ramp yet
    assert e.meter.register_wh == before


def test_power_is_sum_of_voltage_times_current() -> None:
    e = EvseElectrics(seed=11)
    for ev, limit in [(EVModel.typical_ac(), None), (EVModel.large_ac(), 9_000), (EVModel.city_car(), None)]:
        for r in run(e, ev, 40, limit_w=limit):
            volt_amps = sum(u * i for u, i in zip(r.voltage_v, r.current_a, strict=True))
            assert r.power_w == pytest.approx(volt_amps)
        values, _ = build_sampled_values(r, "Power.Active.Import,Current.Import,Voltage", "Trigger")
        power = next(v["value"] for v in values if v["measurand"] == "Power.Active.Import")
        amps = {v["phase"]: v["value"] for v in values if v["measurand"] == "Current.Import"}
        volts = {v["phase"][:2]: v["value"] for v in values if v["measurand"] == "Voltage"}
        assert amps.keys() == volts.keys()
        assert power > 4_000
        # Rounding to 1 W, 0.01 A and 0.1 V leaves at most a few watts.
        assert abs(power - sum(volts[p] * amps[p] for p in amps)) < 8


# -- sampled values ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tx_event_validator() -> jsonschema.Draft6Validator:
    schema_dir = pathlib.Path(ocpp.__file__).parent / "v21" / "schemas"
    schema = json.loads((schema_dir / "TransactionEventRequest.json").read_text(encoding="utf-8"))
    jsonschema.Draft6Validator.check_schema(schema)
    return jsonschema.Draft6Validator(schema, format_checker=jsonschema.FormatChecker())


def tx_event(meter_value: dict[str, object]) -> dict[str, object]:
    return {
        "eventType": "Updated",
        "timestamp": meter_value["timestamp"],
        "triggerReason": "MeterValuePeriodic",
        "seqNo": 3,
        "transactionInfo": {"transactionId": "tx-1"},
        "meterValue": [meter_value],
    }


@pytest.mark.parametrize(
    "context", ["Transaction.Begin", "Sample.Periodic", "Transaction.End", "Sample.Clock", "Trigger"]
)
@pytest.mark.parametrize("car", ["typical", "city", "none"])
def test_meter_values_are_schema_valid(
    tx_event_validator: jsonschema.Draft6Validator, context: str, car: str
) -> None:
    ev = {"typical": EVModel.typical_ac(), "city": EVModel.city_car(), "none": None}[car]
    e = EvseElectrics(seed=5)
    reading = run(e, ev, 30)[-1]
    clock = ManualClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    clock.advance(30.25)
    mv = build_meter_value(reading, ",".join(SUPPORTED_MEASURANDS), context, clock.now())
    assert mv is not None
    assert mv["timestamp"] == "2026-03-01T12:00:30.250Z"
    errors = sorted(tx_event_validator.iter_errors(tx_event(mv)), key=str)
    assert errors == []
    assert all(v["context"] == context for v in mv["sampledValue"])
    assert any(v["measurand"] == "SoC" for v in mv["sampledValue"]) is (ev is not None)


def test_schema_check_is_real(tx_event_validator: jsonschema.Draft6Validator) -> None:
    """The validator must catch what the builders could get wrong, or the test above proves nothing."""
    reading = run(textbook(), EVModel.typical_ac(), 10)[-1]
    mv = build_meter_value(reading, TX_MEASURANDS, "Sample.Periodic", "not a time")
    assert mv is not None
    assert any(err.validator == "format" for err in tx_event_validator.iter_errors(tx_event(mv)))
    mv = build_meter_value(reading, TX_MEASURANDS, "Sample.Periodic", "2026-01-01T00:00:00.000Z")
    assert mv is not None
    mv["sampledValue"][2]["phase"] = "L4"
    assert not tx_event_validator.is_valid(tx_event(mv))


def test_tx_measurands_content_and_units() -> None:
    ev = EVModel.typical_ac(soc_percent=20)
    reading = run(textbook(max_current_a=32), ev, 60)[-1]
    values, unsupported = build_sampled_values(reading, TX_MEASURANDS + ",Foo.Bar", "Sample.Periodic")
    assert unsupported == ["Foo.Bar"]
    summary = [
        (v["measurand"], v.get("phase"), v["location"], v["unitOfMeasure"]["unit"], v["value"])
        for v in values
    ]
    energy = round(reading.energy_wh, 1)
    assert energy == 177.1  # 60 s at 11 040 W minus the 6.9 Wh ramp
    assert summary == [
        ("Energy.Active.Import.Register", None, "Outlet", "Wh", energy),
        ("Power.Active.Import", None, "Outlet", "W", 11_040),
        ("Current.Import", "L1", "Outlet", "A", 16.0),
        ("Current.Import", "L2", "Outlet", "A", 16.0),
        ("Current.Import", "L3", "Outlet", "A", 16.0),
        ("Voltage", "L1-N", "Outlet", "V", 230.0),
        ("Voltage", "L2-N", "Outlet", "V", 230.0),
        ("Voltage", "L3-N", "Outlet", "V", 230.0),
        ("SoC", None, "EV", "Percent", round(20 + energy * 0.92 / 600, 1)),
    ]
    assert isinstance(values[1]["value"], int)


def test_other_measurands() -> None:
    reading = run(textbook(max_current_a=32), EVModel.typical_ac(), 30, limit_w=9_000)[-1]
    values, _ = build_sampled_values(reading, ["Power.Offered", "Current.Offered", "Frequency"], "Trigger")
    assert [(v["measurand"], v["unitOfMeasure"]["unit"], v["value"]) for v in values] == [
        ("Power.Offered", "W", 9_000),
        ("Current.Offered", "A", round(9_000 / 690, 2)),
        ("Frequency", "Hz", 50.0),
    ]


def test_idle_evse_values_and_empty_result() -> None:
    reading = EvseElectrics(seed=None).reading
    values, _ = build_sampled_values(reading, "Current.Import,Voltage,SoC", "Sample.Clock")
    assert [(v["measurand"], v.get("phase"), v["value"]) for v in values] == [
        ("Current.Import", None, 0.0),
        ("Voltage", "L1-N", 230.0),
        ("Voltage", "L2-N", 230.0),
        ("Voltage", "L3-N", 230.0),
    ]
    assert build_meter_value(reading, "SoC,Nope", "Sample.Clock", utc_timestamp(ManualClock().now())) is None
    with pytest.raises(ValueError):
        build_sampled_values(reading, "SoC", "Sample.Weekly")


def test_measurand_list_parsing() -> None:
    assert parse_measurands(" SoC, ,Voltage,SoC ") == ["SoC", "Voltage"]
    assert unsupported_measurands("SoC,Energy.Reactive.Export.Register,Bogus") == [
        "Energy.Reactive.Export.Register",
        "Bogus",
    ]
    assert unsupported_measurands(TX_MEASURANDS) == []
    assert unsupported_measurands(list(SUPPORTED_MEASURANDS)) == []


# -- V2X: discharging (OCPP 2.1 block Q) ----------------------------------------------------


def v2x_run(
    electrics: EvseElectrics, ev: EVModel, seconds: int, setpoint_w: float, **kw: object
) -> list[Reading]:
    return [
        electrics.step(1.0, ev, None, True, setpoint_w=setpoint_w, allow_discharge=True, **kw)  # type: ignore[arg-type]
        for _ in range(seconds)
    ]


def test_negative_setpoint_discharges_a_bidirectional_ev_on_ac() -> None:
    ev = EVModel.typical_ac(bidirectional=True, soc_percent=50.0)
    e = textbook()
    readings = v2x_run(e, ev, 10, -5_000.0)
    last = readings[-1]
    assert last.power_w == -5_000.0 and last.export_w == 5_000.0 and last.import_w == 0.0
    # |P| = sum(U * I): currents are magnitudes, the sign of P gives the direction.
    assert abs(sum(u * i for u, i in zip(last.voltage_v, last.current_a, strict=True)) - 5_000.0) < 1e-6
    assert e.meter.register_wh == 0.0  # the import register never moves backwards
    assert e.meter.export_wh == pytest.approx(last.export_energy_wh) and last.export_energy_wh > 0
    assert ev.soc_percent < 50.0
    # Battery side: the exported energy plus losses left the battery.
    assert (50.0 - ev.soc_percent) / 100 * ev.capacity_wh == pytest.approx(
        e.meter.export_wh / ev.charge_efficiency
    )


def test_unidirectional_ev_or_v2x_off_never_discharges() -> None:
    for ev, allow in (
        (EVModel.typical_ac(soc_percent=50.0), True),
        (EVModel.typical_ac(bidirectional=True), False),
    ):
        e = textbook()
        for _ in range(10):
            r = e.step(1.0, ev, None, True, setpoint_w=-5_000.0, allow_discharge=allow)
            assert r.power_w == 0.0  # not a discharge, and not a charge instead either
        assert e.meter.export_wh == 0.0


def test_discharge_is_bounded_by_car_evse_and_discharge_limit() -> None:
    ev = EVModel.typical_ac(bidirectional=True, soc_percent=50.0, ac_max_discharge_w=7_000.0)
    assert v2x_run(textbook(), ev, 10, -20_000.0)[-1].power_w == -7_000.0  # the car's inverter
    ev = EVModel.typical_ac(bidirectional=True, soc_percent=50.0)
    assert v2x_run(textbook(), ev, 10, -20_000.0, discharge_limit_w=-3_000.0)[-1].power_w == -3_000.0
    small = textbook(max_current_a=10.0)  # 6.9 kW EVSE
    assert v2x_run(small, ev, 10, -20_000.0)[-1].power_w == pytest.approx(-6_900.0)


def test_positive_setpoint_is_followed_and_capped_by_the_limit() -> None:
    ev = EVModel.typical_ac(bidirectional=True, soc_percent=50.0)
    e = textbook()
    assert v2x_run(e, ev, 10, 3_000.0)[-1].power_w == 3_000.0
    # V2X.03: a setpoint above the limit (14 A x 3 x 230 V) gets the limit.
    r = [e.step(1.0, ev, 9_660.0, True, setpoint_w=10_000.0) for _ in range(5)][-1]
    assert r.power_w == pytest.approx(9_660.0)


def test_reserve_soc_stops_the_export() -> None:
    ev = EVModel.typical_ac(
        bidirectional=True, soc_percent=10.5, capacity_wh=10_000.0, min_discharge_soc_percent=10.0
    )
    e = DcEvseElectrics(max_power_w=11_000.0, seed=None)
    readings = [e.step(1.0, ev, None, True, setpoint_w=-10_000.0, allow_discharge=True) for _ in range(120)]
    assert ev.soc_percent == pytest.approx(10.0)
    assert readings[-1].power_w == 0.0
    assert e.meter.export_wh == pytest.approx(0.5 / 100 * 10_000.0 * ev.charge_efficiency)


def test_swing_from_charge_to_discharge_splits_the_energy() -> None:
    ev = EVModel.typical_ac(bidirectional=True, soc_percent=50.0)
    e = DcEvseElectrics(max_power_w=11_000.0, seed=None)
    for _ in range(5):
        e.step(1.0, ev, 10_000.0, True)  # charging at 10 kW
    imported = e.meter.register_wh
    e.step(1.0, ev, 10_000.0, True, setpoint_w=-10_000.0, allow_discharge=True)  # 20 kW/s: +10 -> -10
    # The linear ramp crosses zero half way: 10 kW x 0.5 s / 2 each way.
    assert e.meter.register_wh - imported == pytest.approx(10_000 * 0.5 / 2 / 3600)
    assert e.meter.export_wh == pytest.approx(10_000 * 0.5 / 2 / 3600)


def test_export_measurands_and_schema(tx_event_validator: jsonschema.Draft6Validator) -> None:
    ev = EVModel.typical_ac(bidirectional=True, soc_percent=50.0)
    reading = v2x_run(textbook(), ev, 10, -5_000.0)[-1]
    names = (
        "Energy.Active.Import.Register,Energy.Active.Export.Register,Power.Active.Import,"
        "Power.Active.Export,Power.Active.Setpoint,Current.Import,Current.Export"
    )
    values, skipped = build_sampled_values(reading, names, "Sample.Periodic")
    assert skipped == []
    by = {}
    for v in values:
        by.setdefault(v["measurand"], []).append(v["value"])
    assert by["Power.Active.Export"] == [5000] and by["Power.Active.Import"] == [0]
    assert by["Power.Active.Setpoint"] == [-5000]
    assert by["Current.Import"] == [0.0, 0.0, 0.0]
    assert all(a > 7 for a in by["Current.Export"])
    assert by["Energy.Active.Export.Register"][0] > 0
    mv = build_meter_value(reading, names, "Sample.Periodic", "2026-03-01T12:00:00Z")
    assert mv is not None
    assert sorted(tx_event_validator.iter_errors(tx_event(mv)), key=str) == []
