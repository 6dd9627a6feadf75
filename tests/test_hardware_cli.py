"""`chargebench station --profile FILE` starts the profile's meters and readers headless.

Separate processes over loopback, as a user runs them: the built-in CSMS, the station, and
pymodbus's own server (in a thread of this test) playing the profile's SDM120 meter.
"""

from __future__ import annotations

import asyncio
import json
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.hardware.meter_maps import load_map
from app.hardware.meter_sim import SimulatedMeter
from tests.test_cli import free_port, run, spawn, wait_for_line

SDM120 = {
    "voltage.L1": 229.5,
    "current.L1": 31.5,
    "power": 7229.0,
    "frequency": 50.0,
    "energy.import": 98_765_500.0,
}


@pytest.fixture
def meter_port() -> Iterator[int]:
    """An SDM120 served by pymodbus on loopback, from a thread with its own event loop."""
    loop = asyncio.new_event_loop()
    meter = SimulatedMeter(load_map("sdm120"), SDM120)
    port = loop.run_until_complete(meter.start_tcp())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield port
    asyncio.run_coroutine_threadsafe(meter.stop(), loop).result(5)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def profile(tmp_path: Path, csms_port: int, hardware: str) -> Path:
    path = tmp_path / "station.yaml"
    path.write_text(
        f"id: CLI-HW\ncsms:\n  url: ws://127.0.0.1:{csms_port}/ocpp\n"
        "deviceModel:\n  SampledDataCtrlr.TxStartedMeasurands: Energy.Active.Import.Register,Voltage\n"
        "  AlignedDataCtrlr.Interval: 0\n"
        f"hardware:\n{hardware}"
    )
    return path


def test_profile_meter_drives_the_headless_station(tmp_path: Path, meter_port: int) -> None:
    csms_port = free_port()
    csms = spawn("csms", "--listen", f"127.0.0.1:{csms_port}", "--quiet")
    try:
        wait_for_line(csms, "CSMS listening")
        hardware = (
            "  meters:\n"
            f"    - {{name: bench, map: sdm120, evse: 1, tcp: {{host: 127.0.0.1, port: {meter_port}}}}}\n"
            "  readers:\n"
            "    - {vendorId: '08ff', productId: '0009', evse: 1}\n"
        )
        capture = tmp_path / "station.jsonl"
        station = run(
            "station", "--profile", str(profile(tmp_path, csms_port, hardware)),
            "--plugged", "1", "--duration", "3", "--capture", str(capture),
        )  # fmt: skip
    finally:
        csms.send_signal(signal.SIGTERM)
        csms.communicate(timeout=10)
    assert station.returncode == 0, station.stderr
    assert f"meter bench (tcp://127.0.0.1:{meter_port} unit 1) Reading" in station.stdout
    assert "reader 08ff:0009 Not plugged in -> CLI-HW / EVSE 1" in station.stdout
    frames = [json.loads(line) for line in capture.read_text().splitlines()]
    started = next(
        json.loads(f["frame"])[3]
        for f in frames
        if f["action"] == "TransactionEvent" and f["type"] == 2 and f["from"] == "station"
    )
    values = {v["measurand"]: v["value"] for v in started["meterValue"][0]["sampledValue"]}
    assert values == {"Energy.Active.Import.Register": 98_765_500.0, "Voltage": 229.5}


def test_unusable_meter_map_or_evse_stops_the_start_with_the_reason(tmp_path: Path) -> None:
    bad_map = run(
        "station", "--profile",
        str(profile(tmp_path, 9, "  meters:\n    - {map: sdm999, tcp: {host: 127.0.0.1}}\n")),
    )  # fmt: skip
    assert bad_map.returncode == 2
    assert "hardware.meters[0].map: no meter map 'sdm999'" in bad_map.stderr
    assert "sdm630" in bad_map.stderr  # the bundled maps are named

    bad_evse = run(
        "station", "--profile",
        str(profile(tmp_path, 9, "  readers:\n    - {vendorId: '08ff', productId: '0009', evse: 3}\n")),
    )  # fmt: skip
    assert bad_evse.returncode == 2
    assert "station.yaml:9: hardware.readers[0].evse: the station has EVSEs 1..1" in bad_evse.stderr
