"""Render the window mid-charge to a PNG: `python -m ui.screenshot OUT.png [--seconds N]`.

Runs the real session on the offscreen platform: the built-in CSMS, a first station and a
second one added from a bundled template (DC 150 kW), as a tester would. On the first it does
what a tester does first (plug in EVSE 1, tap a card), lets it charge, opens the latest
transaction event in the inspector, and saves the window. The README's picture comes from
here, so it always shows the current window rather than an old mock-up.
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


async def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def _scenario(window: object, out: Path, seconds: float) -> None:
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
        panel = window.stations.panel_for(station)
        assert panel is not None
        card = panel.cards[1]
        card.plug_button.click()
        await wait_until(lambda: station.evses[1].plugged, 5, "the EV to be plugged in")
        card.tap_button.click()
        await wait_until(lambda: station.evses[1].transaction is not None, 5, "a transaction")
        await asyncio.sleep(seconds)
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
    parser.add_argument("--seconds", type=float, default=8.0, help="how long to charge first (default 8)")
    parser.add_argument(
        "--speed", type=float, default=30.0, help="simulated seconds per real second (default 30)"
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
        loop.run_until_complete(_scenario(window, args.out, args.seconds))
    finally:
        loop.close()
        asyncio.set_event_loop(None)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
