"""USB RFID readers: HID key reports through pyusb become card taps on an emulated station.

The reader is simulated behind pyusb's backend interface (app/hardware/usb_sim.py): the
production code finds it with `usb.core.find`, detaches its kernel driver, claims it and
reads its interrupt endpoint exactly as it would a real reader. The station and the built-in
CSMS talk over real websockets; an Authorize on the wire is the proof a tap happened (C01).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.clock import AcceleratedClock
from app.hardware.hid_keys import KeyReportDecoder
from app.hardware.hub import Hardware
from app.hardware.rfid import ReaderConfig, ReaderState, ReaderStatus
from app.hardware.uid_format import UidFormat, format_uid
from app.hardware.usb_access import permission_hint, udev_rule
from app.hardware.usb_sim import SimulatedHidReader, SimulatedUsbBackend, key_reports
from app.session import Session
from app.station.config import StationConfig
from app.station.station import Station
from tests.support import wait_until

VID, PID = 0x08FF, 0x0009
OTHER_VID, OTHER_PID = 0x1A86, 0xDD01

# ---------------------------------------------------------------------------------- decoding


def test_key_reports_become_one_line_per_enter() -> None:
    decoder = KeyReportDecoder()
    lines = [line for report in key_reports("04a2B1") for line in [decoder.feed(report)] if line]
    assert lines == ["04a2B1"]


def test_a_key_held_over_several_reports_types_once_and_rollover_is_ignored() -> None:
    decoder = KeyReportDecoder()
    one = bytes([0, 0, 0x1E, 0, 0, 0, 0, 0])  # "1" held
    rollover = bytes([0, 0, 1, 1, 1, 1, 1, 1])
    for report in (one, one, one, rollover, bytes(8), one, bytes(8)):
        assert decoder.feed(report) is None
    assert decoder.feed(bytes([0, 0, 0x58, 0, 0, 0, 0, 0])) == "11"  # keypad Enter


@pytest.mark.parametrize(
    ("typed", "fmt", "token"),
    [
        ("04a224b2c35e80", UidFormat(), "04A224B2C35E80"),
        # A 10-digit decimal of the first four bytes, least significant first (common desk readers).
        ("2998050820", UidFormat(typed="decimal", byte_order="reversed", length=4), "04A0B2B2"),
        ("12AB", UidFormat(length=4), "000012AB"),
        ("04A0B2B2", UidFormat(output="decimal"), "77640370"),
    ],
)
def test_uid_formats(typed: str, fmt: UidFormat, token: str) -> None:
    assert format_uid(typed, fmt) == token


def test_unreadable_uid_says_what_to_change() -> None:
    with pytest.raises(ValueError, match="typed: decimal"):
        format_uid("12 4Z", UidFormat())
    with pytest.raises(ValueError, match="more than the configured 4"):
        format_uid("04A224B2C35E80", UidFormat(length=4))


def test_permission_hint_gives_the_udev_rule_for_that_device() -> None:
    rule = udev_rule(VID, PID)
    assert rule == (
        'SUBSYSTEM=="usb", ATTR{idVendor}=="08ff", ATTR{idProduct}=="0009", MODE="0660", TAG+="uaccess"'
    )
    hint = permission_hint(VID, PID)
    assert rule in hint and "udevadm" in hint and "08ff:0009" in hint


# ---------------------------------------------------------------------------------- end to end


@pytest.fixture
async def session() -> AsyncIterator[Session]:
    s = Session(clock=AcceleratedClock(10.0))
    yield s
    await s.stop()


async def start_station(session: Session, evses: int = 1) -> Station:
    csms = await session.start_csms()
    config = StationConfig(
        station_id="CB-HW",
        csms_url=csms.url,
        evse_count=evses,
        overrides={"AlignedDataCtrlr.Interval": "0"},
        call_timeout=5,
    )
    station = session.add_station(config)
    await wait_until(lambda: station.online, 10)
    return station


def use_bus(session: Session, backend: SimulatedUsbBackend, *configs: ReaderConfig) -> Hardware:
    session.hardware = Hardware(lambda: session.stations, usb_backend=backend, scan_interval=0.05)
    for config in configs:
        session.hardware.add_reader(config)
    session.hardware.start()
    return session.hardware


def row(hw: Hardware, vendor_id: int) -> ReaderState:
    return next(s for s in hw.readers.rows() if s.vendor_id == vendor_id)


def authorizes(session: Session) -> list[dict[str, object]]:
    return [
        r.payload["idToken"]
        for r in session.store
        if r.observer == "station" and r.action == "Authorize" and r.message_type == 2
    ]


async def test_a_card_on_the_reader_is_one_tap_and_one_authorize(session: Session) -> None:
    station = await start_station(session)
    reader = SimulatedHidReader(VID, PID)
    hw = use_bus(
        session,
        SimulatedUsbBackend(reader),
        ReaderConfig(VID, PID, station_id="CB-HW", evse_id=1, token_type="ISO15693"),
    )
    state = await wait_until(lambda: row(hw, VID).status == ReaderStatus.READY and row(hw, VID))
    assert not reader.kernel_driver_attached and reader.claimed  # ours while in use

    reader.type("e004015012345678")
    await wait_until(lambda: state.last_result == "Accepted")
    assert authorizes(session) == [{"idToken": "E004015012345678", "type": "ISO15693"}]
    assert station.evses[1].authorized == {"idToken": "E004015012345678", "type": "ISO15693"}
    assert state.last_read == "e004015012345678" and state.last_token == "E004015012345678"

    await hw.stop()
    assert reader.kernel_driver_attached and not reader.claimed  # the desktop gets it back


async def test_denied_open_or_detach_shows_the_udev_rule(session: Session) -> None:
    await start_station(session)
    denied_open = SimulatedHidReader(VID, PID, deny_open=True)
    denied_detach = SimulatedHidReader(OTHER_VID, OTHER_PID, deny_detach=True)
    hw = use_bus(
        session,
        SimulatedUsbBackend(denied_open, denied_detach),
        ReaderConfig(VID, PID, station_id="CB-HW"),
        ReaderConfig(OTHER_VID, OTHER_PID, station_id="CB-HW"),
    )
    await wait_until(lambda: [s.status for s in hw.readers.rows()] == [ReaderStatus.DENIED] * 2)
    first, second = hw.readers.rows()
    assert udev_rule(VID, PID) in first.detail
    assert udev_rule(OTHER_VID, OTHER_PID) in second.detail
    assert denied_detach.kernel_driver_attached  # nothing half-done left behind
    denied_open.type("04A224B2")
    assert authorizes(session) == []


async def test_unplugging_one_reader_mid_read_loses_nothing_else(session: Session) -> None:
    await start_station(session, evses=2)
    first = SimulatedHidReader(VID, PID)
    second = SimulatedHidReader(OTHER_VID, OTHER_PID)
    backend = SimulatedUsbBackend(first, second)
    hw = use_bus(
        session,
        backend,
        ReaderConfig(VID, PID, station_id="CB-HW", evse_id=1),
        ReaderConfig(OTHER_VID, OTHER_PID, station_id="CB-HW", evse_id=2),
    )
    await wait_until(lambda: [s.status for s in hw.readers.rows()] == [ReaderStatus.READY] * 2)

    first.type("04A2", enter=False)  # half a UID, then the cable comes out
    await wait_until(lambda: first.reads >= 8)
    backend.unplug(first)
    await wait_until(lambda: row(hw, VID).status == ReaderStatus.GONE)
    assert row(hw, OTHER_VID).status == ReaderStatus.READY

    second.type("04B3C4D5")
    await wait_until(lambda: authorizes(session))
    assert authorizes(session) == [{"idToken": "04B3C4D5", "type": "ISO14443"}]

    # Plugged in again: picked up without a restart, and reads whole UIDs again.
    again = backend.plug(SimulatedHidReader(VID, PID))
    await wait_until(lambda: row(hw, VID).status == ReaderStatus.READY)
    again.type("04A224B2")
    await wait_until(lambda: len(authorizes(session)) == 2)
    assert authorizes(session)[1] == {"idToken": "04A224B2", "type": "ISO14443"}


async def test_unconfigured_keyboards_are_listed_but_never_opened_until_assigned(session: Session) -> None:
    station = await start_station(session)
    keyboard = SimulatedHidReader(VID, PID)
    hw = use_bus(session, SimulatedUsbBackend(keyboard))
    [state] = await wait_until(lambda: hw.readers.rows())
    assert state.status == ReaderStatus.DETECTED and state.config is None
    assert keyboard.kernel_driver_attached and not keyboard.claimed

    hw.readers.assign(state.key, station_id="CB-HW", evse_id=1)
    await wait_until(lambda: state.status == ReaderStatus.READY)
    keyboard.type("04A224B2")
    await wait_until(lambda: station.evses[1].authorized is not None)
    assert authorizes(session) == [{"idToken": "04A224B2", "type": "ISO14443"}]


async def test_a_read_for_a_station_that_is_not_running_says_so(session: Session) -> None:
    await start_station(session)
    reader = SimulatedHidReader(VID, PID)
    hw = use_bus(session, SimulatedUsbBackend(reader), ReaderConfig(VID, PID, station_id="CB-GONE"))
    [state] = await wait_until(lambda: [s for s in hw.readers.rows() if s.status == ReaderStatus.READY])
    reader.type("04A224B2")
    await wait_until(lambda: state.last_result == "Not delivered")
    assert state.detail == "station CB-GONE is not running"
    assert authorizes(session) == []
