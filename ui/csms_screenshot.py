"""Render the CSMS console tab to a PNG: `python -m ui.csms_screenshot OUT.png`.

Runs the real session offscreen: the built-in CSMS and one emulated station. From the console
it does what an engineer does first with a charger: takes EVSE 2 out of service, tries a
Reset with a value the schema does not allow (Send anyway; the station's CALLERROR shows in
the history), and sets a 16 A default profile on EVSE 1 through the form. The README's
picture of the console comes from here, so it shows the current tab.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from ui.screenshot import wait_until

PROFILE = {
    "evseId": 1,
    "chargingProfile": {
        "id": 1,
        "stackLevel": 0,
        "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute",
        "chargingSchedule": [
            {
                "id": 1,
                "startSchedule": "2026-01-01T00:00:00Z",
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}],
            }
        ],
    },
}


async def _scenario(window: object, out: Path) -> None:
    from ui.main_window import MainWindow

    assert isinstance(window, MainWindow)
    station = await window.start(csms_url=None, station_id="CB-0001", evse_count=2)
    await wait_until(lambda: station.online, 10, "the station to come online")
    console = window.csms_console
    window.tabs.setCurrentWidget(console)
    await wait_until(lambda: console.station_id() == "CB-0001", 5, "the station in the console")

    async def send(action: str, payload: dict[str, object], *, anyway: bool = False) -> None:
        console.select_action(action)
        console.set_payload(payload)
        entry = console.send(anyway=anyway)
        assert entry is not None, f"{action} was not sent: {console.valid_label.text()}"
        await wait_until(lambda: entry.ok is not None, 5, f"the answer to {action}")

    await send("ChangeAvailability", {"operationalStatus": "Inoperative", "evse": {"id": 2}})
    await send("Reset", {"type": "Soon"}, anyway=True)
    await send("SetChargingProfile", PROFILE)
    console.select_action("SetChargingProfile")
    console.set_payload(PROFILE)
    console.history_table.selectRow(len(console.history) - 1)
    await asyncio.sleep(1.0)  # the EVSE card picks up the new limit
    window.bridge.flush()
    await asyncio.sleep(0.1)
    window.grab().save(str(out))
    print(f"saved {out}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import qasync
    from PySide6.QtWidgets import QApplication

    from app.session import Session
    from ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    window = MainWindow(Session())
    window.resize(1400, 860)
    window.show()

    async def run() -> None:
        try:
            await _scenario(window, args.out)
        finally:
            await window.shutdown()

    loop.run_until_complete(run())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
