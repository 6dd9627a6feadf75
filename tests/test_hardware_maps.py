"""Register maps decode what real meters send, and say clearly what is wrong with a bad map.

Raw register values below are worked out from the vendors' documents (cited in each map file):
a float32 "high word first", an EM340 INT32 "low word first", an ABB U64 in 0.01 kWh.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.hardware.meter_maps import MeterMapError, bundled_maps, load_map
from app.hardware.modbus_meter import to_external
from app.station.ev import EVModel
from app.station.meter import EvseElectrics, ExternalValues


def test_every_bundled_map_loads_and_names_its_source_document() -> None:
    assert bundled_maps() == ["abb-b23", "em340", "sdm120", "sdm630"]
    for name in bundled_maps():
        register_map = load_map(name)
        comment = json.loads(Path(register_map.source).read_text())["$comment"]
        assert "register" in comment.lower() or "Modbus" in comment
        assert {"power", "energy.import", "voltage.L1", "current.L1"} <= {v.name for v in register_map.values}


def test_sdm630_float_high_word_first() -> None:
    sdm630 = load_map("sdm630")
    voltage = sdm630.value("voltage.L1")
    assert voltage is not None and voltage.register == 0
    assert voltage.decode([0x4366, 0x8000]) == 230.5  # 0x43668000 = 230.5 f32
    energy = sdm630.value("energy.import")
    assert energy is not None and energy.register == 72  # 30073
    assert energy.decode([0x4640, 0xE400]) == 12345.0 * 1000  # kWh on the meter, Wh for OCPP


def test_em340_integer_low_word_first_with_weights() -> None:
    em340 = load_map("em340")
    voltage, power, energy = (em340.value(n) for n in ("voltage.L1", "power", "energy.import"))
    assert voltage is not None and power is not None and energy is not None
    assert voltage.decode([2305, 0]) == pytest.approx(230.5)  # V*10, LSW first
    assert power.decode([0x1C20, 0x0001]) == pytest.approx(0x11C20 / 10)  # W*10 = 72736 -> 7273.6 W
    assert power.decode([0xFFF6, 0xFFFF]) == pytest.approx(-1.0)  # signed: export
    assert energy.register == 0x34 and energy.decode([123, 0]) == pytest.approx(12_300.0)


def test_abb_b23_u64_energy_in_hundredths_of_kwh() -> None:
    b23 = load_map("abb-b23")
    energy = b23.value("energy.import")
    assert energy is not None and energy.register == 0x5000 and energy.function == "holding"
    assert energy.decode([0, 0, 0x0001, 0x0000]) == pytest.approx(65536 * 0.01 * 1000)
    blocks = b23.blocks()
    assert [(b.start, b.count) for b in blocks] == [(0x5000, 8), (0x5B00, 0x2D)]  # two reads, not ten


def test_user_map_problems_are_named_with_file_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "mine.json"
    bad.write_text(json.dumps({"name": "x", "values": {"voltage.L1": {"register": 0, "type": "float16"}}}))
    with pytest.raises(MeterMapError) as error:
        load_map(bad)
    text = str(error.value)
    assert f"{bad}: values.voltage.L1: 'unit' is a required property" in text
    assert "values.voltage.L1.type: 'float16' is not one of" in text

    wrong_unit = tmp_path / "unit.json"
    wrong_unit.write_text(
        json.dumps({"name": "x", "values": {"power": {"register": "0x10", "type": "int32", "unit": "kWh"}}})
    )
    with pytest.raises(MeterMapError, match=r"values\.power\.unit: kWh is not a unit of power"):
        load_map(wrong_unit)
    with pytest.raises(MeterMapError, match="bundled: abb-b23, em340, sdm120, sdm630"):
        load_map("sdm999")


# ------------------------------------------------------------------ the EVSE side of the hook


def electrics() -> EvseElectrics:
    return EvseElectrics(seed=None)


def charge(e: EvseElectrics, seconds: int = 10) -> None:
    ev = EVModel.typical_ac()
    for _ in range(seconds):
        e.step(1.0, ev, None, True)


def test_without_a_meter_the_simulation_is_untouched() -> None:
    a, b = electrics(), electrics()
    b.set_external(None)
    charge(a)
    charge(b)
    assert a.reading == b.reading and not a.reading.external


def test_meter_values_replace_the_simulated_ones_and_the_register_follows_the_real_one() -> None:
    e = electrics()
    charge(e)
    simulated_register = e.meter.register_wh
    assert simulated_register > 0
    real = to_external(
        {"voltage.L1": 231.0, "current.L1": 10.0, "power": 2310.0, "energy.import": 5_000_000.0}
    )
    e.set_external(real)
    charge(e)  # the car keeps drawing in the model; the register counts only what the meter says
    r = e.reading
    assert (r.power_w, r.voltage_v, r.current_a) == (2310.0, (231.0, 0.0, 0.0), (10.0, 0.0, 0.0))
    assert r.energy_wh == 5_000_000.0 and r.phases_in_use == 1 and r.external and not r.stale

    e.set_external(to_external({"power": 2310.0, "energy.import": 5_000_100.0}, stale=True))
    assert e.reading.stale and e.reading.energy_wh == 5_000_100.0

    # A lower reading (another meter attached) re-bases the register instead of failing.
    e.set_external(ExternalValues(energy_import_wh=1_000.0))
    assert e.meter.register_wh == 1_000.0

    e.set_external(None)  # back to the model, counting on from the real register
    charge(e)
    assert not e.reading.external and e.reading.energy_wh > 1_000.0
