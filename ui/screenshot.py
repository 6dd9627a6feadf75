"""Render the window mid-charge to a PNG: `python -m ui.screenshot OUT.png [--seconds N] [--plot]`.

Runs the real session on the offscreen platform: the built-in CSMS, a first station and a
second one added from a bundled template (DC 150 kW), as a tester would. On the first it does
what a tester does first (plug in EVSE 1, tap a card), lets it charge, caps it halfway with a
local limit (as a load manager would), opens the latest transaction event in the inspector,
and saves the window. The README's picture comes from
here, so it always shows the current window rather than an old mock-up.

With `--plot` it shows the Power tab instead: meter values every 10 s, and halfway through the
charge the built-in CSMS sends a TxDefaultProfile and a TxProfile whose schedule steps down,
so the picture has a profile change, a setpoint with a scheduled (future) part, and SoC. If the
station refuses the profiles (no smart charging yet), it says so and shows the plot without.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

SECOND_TEMPLATE = "dc-150kw-ccs-chademo"
LOCAL_LIMIT_KW = 7.4  # what the default picture's load manager allows EVSE 1


async def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def _tx_profile(tx_id: str, start: str) -> dict[str, object]:
    return {
        "evseId": 1,
        "chargingProfile": {
            "id": 2,
            "stackLevel": 1,
            "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Absolute",
            "transactionId": tx_id,
            "chargingSchedule": [
                {
                    "id": 2,
                    "startSchedule": start,
                    "chargingRateUnit": "A",
                    "chargingSchedulePeriod": [
                        {"startPeriod": 0, "limit": 10.0},
                        {"startPeriod": 150, "limit": 6.0},
                        {"startPeriod": 420, "limit": 16.0},
                    ],
                }
            ],
        },
    }


_TX_DEFAULT = {
    "evseId": 0,
    "chargingProfile": {
        "id": 1,
        "stackLevel": 0,
        "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Relative",
        "chargingSchedule": [
            {"id": 1, "chargingRateUnit": "W", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 11000}]}
        ],
    },
}


async def _send_profiles(window: object, station_id: str, tx_id: str) -> list[str]:
    """Send the demo profiles from the built-in CSMS; returns each answer (status or error code)."""
    from app.clock import utc_timestamp
    from app.protocol.errors import OcppError
    from ui.main_window import MainWindow

    assert isinstance(window, MainWindow) and window.session.csms is not None
    csms = window.session.csms
    answers = []
    start = utc_timestamp(window.session.clock.now())
    for payload in (_TX_DEFAULT, _tx_profile(tx_id, start)):
        try:
            result = await csms.call(station_id, "SetChargingProfile", payload)
            answers.append(str(result.get("status")))
        except OcppError as exc:
            answers.append(exc.code)
    return answers


async def _scenario(window: object, out: Path, seconds: float, plot: bool = False) -> None:
    from ui.main_window import MainWindow

    assert isinstance(window, MainWindow)
    try:
        from app.station import profile

        station = await window.start(csms_url=None, station_id="CB-0001", evse_count=2)
        assert window.session.csms is not None
        dc = window.add_station(
            profile.config_from_template(
                SECOND_TEMPLATE, station_id="CB-DC-0002", csms_url=window.session.csms.url
            )
        )
        await wait_until(lambda: station.online and dc.online, 10, "the stations to come online")
        window.station_list.select(station)
        if plot:
            await window.session.csms.call(
                station.station_id,
                "SetVariables",
                {
                    "setVariableData": [
                        {
                            "component": {"name": "SampledDataCtrlr"},
                            "variable": {"name": "TxUpdatedInterval"},
                            "attributeValue": "10",
                        }
                    ]
                },
            )
            window.tabs.setCurrentWidget(window.power_view)
        panel = window.stations.panel_for(station)
        assert panel is not None
        card = panel.cards[1]
        card.plug_button.click()
        await wait_until(lambda: station.evses[1].plugged, 5, "the EV to be plugged in")
        card.tap_button.click()
        await wait_until(lambda: station.evses[1].transaction is not None, 5, "a transaction")
        if plot:
            tx = station.evses[1].transaction
            assert tx is not None
            await asyncio.sleep(seconds / 2)
            answers = await _send_profiles(window, station.station_id, tx.transaction_id)
            if any(answer != "Accepted" for answer in answers):
                print(
                    f"the station answered SetChargingProfile with {', '.join(answers)}: "
                    "only accepted profiles are plotted",
                    file=sys.stderr,
                )
            await asyncio.sleep(seconds / 2)
            window.bridge.flush()
            window.power_view.redraw()
            await asyncio.sleep(0.3)
            window.grab().save(str(out))
            return
        # Halfway, a load manager caps EVSE 1 from the window: the card shows the local limit.
        await asyncio.sleep(seconds / 2)
        card.local_limit.spin.setValue(LOCAL_LIMIT_KW)
        card.local_limit.apply_button.click()
        await asyncio.sleep(seconds / 2)
        window.bridge.flush()
        events = [
            r
            for r in window.model.records()
            if r.action == "TransactionEvent" and r.sender == "station" and isinstance(r.payload, dict)
        ]
        if events:  # the latest one carries live meter values
            window.inspector.select_record(events[-1])
        await asyncio.sleep(0.3)  # a repaint or two, so the detail pane is laid out
        window.grab().save(str(out))
    finally:
        await window.shutdown()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ui.screenshot", description=__doc__)
    parser.add_argument("out", type=Path, help="PNG file to write")
    parser.add_argument(
        "--seconds", type=float, default=None, help="how long to charge first (default 8; 20 with --plot)"
    )
    parser.add_argument(
        "--speed", type=float, default=30.0, help="simulated seconds per real second (default 30)"
    )
    parser.add_argument(
        "--plot", action="store_true", help="show the Power tab during a charging-profile change"
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    import qasync
    from PySide6.QtWidgets import QApplication

    from app.clock import AcceleratedClock
    from app.session import Session
    from ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)
    window = MainWindow(Session(clock=AcceleratedClock(args.speed)))
    window.show()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        seconds = args.seconds if args.seconds is not None else (20.0 if args.plot else 8.0)
        loop.run_until_complete(_scenario(window, args.out, seconds, args.plot))
    finally:
        loop.close()
        asyncio.set_event_loop(None)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
