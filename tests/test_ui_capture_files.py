"""File menu of the window: save the live capture, open it again beside the live one, export
the shown frames as JSON Lines with secrets masked, and refuse a corrupt file readably."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

qasync = pytest.importorskip("qasync")

from app.inspector.capture_db import CaptureDb  # noqa: E402
from app.session import Session  # noqa: E402
from tests.ui_support import wait_until  # noqa: E402
from ui.main_window import MainWindow  # noqa: E402


def test_save_open_export_and_a_corrupt_file(qtbot, loop: asyncio.AbstractEventLoop, tmp_path: Path) -> None:
    session = Session()
    window = MainWindow(session)
    qtbot.addWidget(window)
    window.show()
    files = window.capture_files

    async def scenario() -> None:
        try:
            station = await window.start(csms_url=None, station_id="CB-FILE-1", evse_count=1)
            await wait_until(lambda: station.online, 10, "the station to come online")
            await station.heartbeat()
            # A frame carrying a password (SetVariables of BasicAuthPassword) must not leak.
            await session.csms.call(
                "CB-FILE-1",
                "SetVariables",
                {
                    "setVariableData": [
                        {
                            "attributeValue": "s3cret-pass-123",
                            "component": {"name": "SecurityCtrlr"},
                            "variable": {"name": "BasicAuthPassword"},
                        }
                    ]
                },
            )
            await asyncio.sleep(0.3)
            window.bridge.flush()
            model = window.model
            total, shown = model.total_count, model.rowCount()
            assert total > shown > 5  # CSMS-side copies are hidden, but part of the capture

            # Save: every frame, whatever the filter.
            saved = await files.save(tmp_path / "run")
            assert saved == tmp_path / "run.capture" and "Saved" in files.last_message
            with CaptureDb.open(saved) as copy:
                assert len(copy) == total
                assert "s3cret-pass-123" not in "".join(r.raw for r in copy.iter_records())

            # Open it: a window of its own, the same frames, the live window untouched.
            opened = await files.open(saved)
            assert opened is not None and opened.isVisible()
            assert opened.model.total_count == total and opened.model.rowCount() == shown
            combo = opened.view.station
            assert "CB-FILE-1" in [combo.itemText(i) for i in range(combo.count())]
            opened.view.filter.setText("Heartbeat")
            opened.view.apply_filter()
            assert opened.model.rowCount() >= 2  # the Heartbeat CALL and its answer
            assert all(r.action == "Heartbeat" for r in opened.model.records())
            assert window.model.rowCount() >= shown  # live capture unaffected

            # Export what the live window shows (its filter) as JSON Lines.
            window.inspector.filter.setText("action:SetVariables")
            window.inspector.apply_filter()
            out = tmp_path / "setvariables.jsonl"
            count = await files.export(out)
            lines = [json.loads(line) for line in out.read_text().splitlines()]
            assert count == len(lines) == window.model.rowCount() >= 2
            assert {line["action"] for line in lines} == {"SetVariables"}
            assert "s3cret-pass-123" not in out.read_text()

            # A JSON Lines file opens through an import; a corrupt one is refused by name and line.
            reopened = await files.open(out)
            assert reopened is not None and reopened.model.total_count == count
            broken = tmp_path / "broken.jsonl"
            broken.write_text(out.read_text().splitlines()[0] + "\n{not json\n")
            assert await files.open(broken) is None
            assert files.last_error is not None and "broken.jsonl:2" in files.last_error.text()
            garbage = tmp_path / "garbage.capture"
            garbage.write_bytes(b"this is not a capture")
            assert await files.open(garbage) is None
            assert "not a ChargeBench capture" in files.last_error.text()
            assert len(files.windows) == 2  # the failed opens left nothing half-open
            opened.close()
            assert len(files.windows) == 1
        finally:
            await window.shutdown()

    loop.run_until_complete(asyncio.wait_for(scenario(), 60))
