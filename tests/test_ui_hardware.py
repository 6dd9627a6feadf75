"""The Hardware page: a tester assigns a reader and adds a meter by clicking, and sees them work.

Real parts: the simulated reader sits behind pyusb's backend interface and is read by the
production reader code; the meter is pymodbus's own server on loopback; the station talks to
the built-in CSMS over a loopback websocket. The page is grabbed to /tmp/hw.png for review.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

qasync = pytest.importorskip("qasync")
from PySide6.QtCore import Qt  # noqa: E402

from app.hardware.hub import Hardware  # noqa: E402
from app.hardware.meter_maps import load_map  # noqa: E402
from app.hardware.meter_sim import SimulatedMeter  # noqa: E402
from app.hardware.rfid import ReaderStatus  # noqa: E402
from app.hardware.usb_access import udev_rule  # noqa: E402
from app.hardware.usb_sim import SimulatedHidReader, SimulatedUsbBackend  # noqa: E402
from app.session import Session  # noqa: E402
from app.station.config import StationConfig  # noqa: E402
from tests.ui_support import wait_until  # noqa: E402
from ui import theme  # noqa: E402
from ui.hardware_page import HardwarePage  # noqa: E402
from ui.tasks import TaskRunner  # noqa: E402

VALUES = {
    "voltage.L1": 230.5,
    "voltage.L2": 231.0,
    "voltage.L3": 229.5,
    "current.L1": 16.25,
    "current.L2": 16.5,
    "current.L3": 15.75,
    "power": 11250.0,
    "frequency": 50.0,
    "energy.import": 12_345_500.0,
}


def test_assign_a_reader_add_a_meter_and_watch_them_work(qtbot, loop: asyncio.AbstractEventLoop) -> None:
    session = Session()
    card_reader = SimulatedHidReader(0x08FF, 0x0009)
    locked = SimulatedHidReader(0x1A86, 0xDD01, deny_open=True)
    session.hardware = Hardware(
        lambda: session.stations, usb_backend=SimulatedUsbBackend(card_reader, locked), scan_interval=0.05
    )
    meter_server = SimulatedMeter(load_map("sdm630"), VALUES)
    runner = TaskRunner()
    page = HardwarePage(session, runner)
    page.setStyleSheet(theme.STYLESHEET)  # as inside the main window
    qtbot.addWidget(page)
    page.resize(1200, 760)

    async def scenario() -> None:
        port = await meter_server.start_tcp()
        try:
            csms = await session.start_csms()
            station = session.add_station(StationConfig("CB-0001", csms.url, evse_count=2))
            await wait_until(lambda: station.online, 10, "the station online")
            page.show()  # showing the page starts USB scanning
            await wait_until(lambda: page.readers.topLevelItemCount() == 2, 5, "both USB devices listed")
            assert page.readers.topLevelItem(0).text(1) == ReaderStatus.DETECTED.value
            assert card_reader.kernel_driver_attached  # listed, not opened

            # Assign the reader to EVSE 2 and hold a card to it.
            page.readers.setCurrentItem(page.readers.topLevelItem(0))
            page.reader_station.setCurrentText("CB-0001")
            page.reader_evse.setCurrentIndex(2)
            qtbot.mouseClick(page.assign_reader_button, Qt.MouseButton.LeftButton)
            reader_row = page.readers.topLevelItem(0)
            await wait_until(lambda: reader_row.text(1) == ReaderStatus.READY.value, 5, "the reader ready")
            assert reader_row.text(2) == "CB-0001 / EVSE 2"
            card_reader.type("04a224b2")
            await wait_until(lambda: "Accepted" in reader_row.text(4), 10, "the tap accepted")
            assert "04a224b2  → 04A224B2  → Accepted" in reader_row.text(4)
            assert station.evses[2].authorized == {"idToken": "04A224B2", "type": "ISO14443"}

            # The locked reader, once assigned, says what to do about it.
            page.readers.setCurrentItem(page.readers.topLevelItem(1))
            qtbot.mouseClick(page.assign_reader_button, Qt.MouseButton.LeftButton)
            await wait_until(
                lambda: page.readers.topLevelItem(1).text(1) == ReaderStatus.DENIED.value, 5, "access denied"
            )
            page.refresh()
            assert udev_rule(0x1A86, 0xDD01) in page.reader_detail.text()
            assert page.reader_detail.isVisible()

            # A meter on EVSE 1: its readings show, and drive the EVSE.
            assert page.meter_map.currentText() == "sdm630"  # the most common EV-charger meter
            page.meter_host.setText("127.0.0.1")
            page.meter_port.setValue(port)
            page.meter_station.setCurrentText("CB-0001")
            page.meter_evse.setCurrentIndex(0)
            qtbot.mouseClick(page.add_meter_button, Qt.MouseButton.LeftButton)
            await wait_until(lambda: page.meters.topLevelItemCount() == 1, 5, "the meter listed")
            row = page.meters.topLevelItem(0)
            await wait_until(lambda: row.text(3) == "Reading" and "kWh" in row.text(4), 10, "meter values")
            shown = "  230.5/231.0/229.5 V · 16.25/16.50/15.75 A · 11.25 kW · 12345.500 kWh"
            assert row.text(4).endswith(shown)
            assert row.text(2) == "CB-0001 / EVSE 1"
            electrics = station.evses[1].electrics
            await wait_until(lambda: electrics.reading.power_w == 11250.0, 5, "EVSE 1 driven")

            page.meters.setCurrentItem(row)
            qtbot.mouseClick(page.test_meter_button, Qt.MouseButton.LeftButton)
            await wait_until(lambda: "answered" in page.meter_note.text(), 5, "the test read")
            page.grab().save("/tmp/hw.png")

            # The meter goes away: last values kept, marked stale; the page keeps working.
            await meter_server.stop()
            await wait_until(lambda: "(stale)" in row.text(4), 10, "stale values")
            assert row.text(3) == "No answer: last values kept"
            assert station.evses[1].electrics.reading.stale
            page.grab().save("/tmp/hw-stale.png")
        finally:
            await meter_server.stop()
            await runner.cancel_all()
            await session.stop()

    loop.run_until_complete(scenario())


def test_load_a_profiles_hardware_into_the_page(
    qtbot, loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    session = Session()
    session.hardware = Hardware(lambda: session.stations, usb_backend=SimulatedUsbBackend())
    meter_server = SimulatedMeter(load_map("sdm120"), {"voltage.L1": 231.5, "energy.import": 2_000.0})
    page = HardwarePage(session, TaskRunner())
    qtbot.addWidget(page)

    async def scenario() -> None:
        port = await meter_server.start_tcp()
        try:
            csms = await session.start_csms()
            session.add_station(StationConfig("CB-PROF", csms.url))
            profile = tmp_path / "bench.yaml"
            profile.write_text(
                f"id: CB-PROF\ncsms: {{url: '{csms.url}'}}\nhardware:\n"
                "  readers:\n    - {vendorId: '08ff', productId: '0009', uid: {typed: decimal}}\n"
                f"  meters:\n    - {{name: desk, map: sdm120, tcp: {{host: 127.0.0.1, port: {port}}}}}\n"
            )
            message = page.load_profile_hardware(str(profile))
            assert message == f"1 reader(s) and 1 meter(s) from {profile}, for CB-PROF."
            reader = page.readers.topLevelItem(0)
            assert (reader.text(0), reader.text(1)) == ("08ff:0009", ReaderStatus.ABSENT.value)
            assert (reader.text(2), reader.text(3)) == ("CB-PROF / any EVSE", "ISO14443, dec → hex")
            meter = page.meters.topLevelItem(0)
            await wait_until(lambda: meter.text(3) == "Reading", 5, "the profile's meter read")
            assert meter.text(4).endswith("231.5 V · 0.00 A · 0.00 kW · 2.000 kWh")

            broken = tmp_path / "broken.yaml"
            broken.write_text("id: CB-PROF\ncsms: {url: 'ws://x'}\nhardware:\n  meters:\n    - {map: x}\n")
            assert "broken.yaml:5: hardware.meters[0]" in page.load_profile_hardware(str(broken))
            assert page.meters.topLevelItemCount() == 1  # nothing half-added
        finally:
            await meter_server.stop()
            await session.stop()

    loop.run_until_complete(scenario())


def test_the_evse_card_says_when_a_real_meter_drives_it_and_when_it_went_quiet(qtbot) -> None:
    from dataclasses import replace

    from app.station.meter import ExternalValues
    from app.station.station import Station
    from ui.station_panel import EvseCard
    from ui.tasks import TaskRunner

    station = Station(StationConfig("CB-HW-CARD", "ws://127.0.0.1:9/ocpp", evse_count=1))
    card = EvseCard(station, station.evses[1], TaskRunner())
    qtbot.addWidget(card)
    card.refresh()
    assert "real meter" not in card.meter.text()  # simulated values

    values = ExternalValues(
        voltage_v=(230.0, 230.0, 230.0), current_a=(16.0, 16.0, 16.0), power_w=11040.0,
        energy_import_wh=12345500.0,
    )  # fmt: skip
    evse = station.evses[1]
    evse.electrics.set_external(values)
    evse.reading = evse.electrics.reading  # what the station's next physics tick publishes
    card.refresh()
    assert card.meter.text().startswith("12345.500 kWh") and card.meter.text().endswith("· real meter")

    evse.electrics.set_external(replace(values, stale=True))
    evse.reading = evse.electrics.reading
    card.refresh()
    assert "not answering: last values" in card.meter.text()
    assert "stopped answering" in card.meter.toolTip()
    station.close()


def test_a_station_added_from_a_profile_in_the_window_brings_its_meter(
    qtbot, loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    from ui.main_window import MainWindow

    session = Session()
    session.hardware = Hardware(lambda: session.stations, usb_backend=SimulatedUsbBackend())
    meter_server = SimulatedMeter(load_map("sdm120"), {"voltage.L1": 229.0, "energy.import": 5_000.0})
    window = MainWindow(session, workspace_path=None)
    qtbot.addWidget(window)

    async def scenario() -> None:
        port = await meter_server.start_tcp()
        try:
            await window.start_builtin_csms()
            profile = tmp_path / "desk.yaml"
            profile.write_text(
                "id: CB-FROM-FILE\nhardware:\n"
                f"  meters:\n    - {{name: desk, map: sdm120, tcp: {{host: 127.0.0.1, port: {port}}}}}\n"
            )
            dialog = window.open_add_dialog()
            dialog.use_profile_file(str(profile))
            dialog.station_id.setText("CB-RENAMED")  # the meter follows the station's new id
            dialog.accept()
            await wait_until(lambda: "CB-RENAMED" in session.stations, 5, "the station added")
            page = window.hardware_page
            page.refresh()
            assert page.meters.topLevelItemCount() == 1
            row = page.meters.topLevelItem(0)
            assert row.text(2) == "CB-RENAMED / EVSE 1"
            await wait_until(lambda: (page.refresh(), row.text(3) == "Reading")[1], 5, "the meter read")
        finally:
            await meter_server.stop()
            await window.shutdown()

    loop.run_until_complete(scenario())


def test_readers_and_meters_come_back_with_the_workspace(
    qtbot, loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    from app.hardware.modbus_meter import MeterConfig
    from app.hardware.rfid import ReaderConfig
    from app.hardware.uid_format import UidFormat
    from ui import workspace as ws
    from ui.main_window import MainWindow

    path = tmp_path / "workspace.json"
    meter_server = SimulatedMeter(load_map("sdm120"), {"voltage.L1": 232.0, "energy.import": 7_000.0})

    async def scenario() -> None:
        port = await meter_server.start_tcp()
        first = Session()
        first.hardware = Hardware(lambda: first.stations, usb_backend=SimulatedUsbBackend())
        window = MainWindow(first, workspace_path=path)
        qtbot.addWidget(window)
        try:
            await window.start(csms_url=None, station_id="CB-WS-HW", evse_count=1)
            uid = UidFormat(typed="decimal", byte_order="reversed", length=4)
            first.hardware.add_reader(ReaderConfig(0x08FF, 0x0009, station_id="CB-WS-HW", evse_id=1, uid=uid))
            first.hardware.add_meter(
                MeterConfig("desk", map="sdm120", port=port, station_id="CB-WS-HW", evse_id=1)
            )
            assert window.save_workspace()
        finally:
            await window.shutdown()

        again = Session()
        again.hardware = Hardware(lambda: again.stations, usb_backend=SimulatedUsbBackend())
        window = MainWindow(again, workspace_path=path)
        qtbot.addWidget(window)
        try:
            saved = ws.load(path)
            assert saved is not None
            await window.restore(saved)
            (reader,) = again.hardware.readers.configs
            assert (reader.ident, reader.station_id, reader.uid) == ("08ff:0009", "CB-WS-HW", uid)
            (meter,) = again.hardware.meters
            config = meter.config
            assert (config.name, config.port, config.station_id) == ("desk", port, "CB-WS-HW")
            evse = again.stations["CB-WS-HW"].evses[1]
            await wait_until(lambda: evse.electrics.reading.external, 10, "the restored meter driving EVSE 1")
        finally:
            await window.shutdown()
            await meter_server.stop()

    loop.run_until_complete(scenario())
