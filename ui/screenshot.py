"""Render the window mid-charge to a PNG: `python -m ui.screenshot OUT.png [--seconds N]`.

Runs the real session (built-in CSMS, one station) on the offscreen platform, does what a
tester does first (plug in EVSE 1, tap a card), lets it charge, opens the transaction's
first event in the inspector, and saves the window. The README's picture comes from here, so
it always shows the current window rather than an old mock-up.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path


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
        station = await window.start(csms_url=None, station_id="CB-0001", evse_count=2)
        await wait_until(lambda: station.online, 10, "the station to come online")
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
