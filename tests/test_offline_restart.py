"""The worst day of a station: the CSMS vanishes mid-transaction, the station keeps charging
offline for several TxUpdatedIntervals, then its process is killed and started again before the
CSMS comes back. Every TransactionEvent must still arrive exactly once, in order, gap-free,
flagged `offline` (E11, E12, E17), because the queue lives in the station's SQLite file.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from app.session import Session
from tests.support import wait_until

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def station_process(port: int, state: Path, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    """The station as a separate process; its output goes to `log` (read it when this fails)."""
    args = [
        sys.executable, "-m", "app.cli", "station",
        "--csms", f"ws://127.0.0.1:{port}/ocpp", "--id", "KILL-ME", "--state", str(state),
        "--set", "SampledDataCtrlr.TxUpdatedInterval=1",
        "--set", "OCPPCommCtrlr.RetryBackOffWaitMinimum=1",
        "--set", "OCPPCommCtrlr.RetryBackOffRandomRange=0",
        "--set", "OCPPCommCtrlr.RetryBackOffRepeatTimes=0",
        *extra,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        return subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def received_events(session: Session) -> list[dict[str, Any]]:
    """TransactionEvent requests as the CSMS received them, in arrival order."""
    return [
        r.payload
        for r in session.store
        if r.observer == "csms" and r.action == "TransactionEvent" and r.message_type == 2
    ]


async def test_E11_E12_E17_queue_survives_a_killed_station_process(tmp_path: Path) -> None:
    port = free_port()
    state = tmp_path / "station.sqlite"
    session = Session()
    await session.start_csms(port=port)
    first = station_process(port, state, tmp_path / "first.log", "--plugged", "1")
    second: subprocess.Popen[bytes] | None = None
    try:
        # Online: the transaction starts and reports periodically.
        await wait_until(lambda: len(received_events(session)) >= 2, 20)
        online_seen = len(received_events(session))
        assert received_events(session)[0]["eventType"] == "Started"

        # The CSMS vanishes; the station charges on and queues for several TxUpdatedIntervals.
        assert session.csms is not None
        await session.csms.stop()
        await asyncio.sleep(4.5)
        first.send_signal(signal.SIGKILL)  # no goodbye, no flush: only what is on disk counts
        await asyncio.to_thread(first.wait, 10)

        # Restarted (no --plugged: the car is still there, the state file knows), CSMS still away.
        second = station_process(port, state, tmp_path / "second.log")
        await asyncio.sleep(2.0)
        await session.start_csms(port=port)

        def delivered() -> bool:
            events = received_events(session)
            return bool(events) and events[-1]["eventType"] == "Ended"

        await wait_until(delivered, 30)
        await asyncio.sleep(1.0)  # nothing more should follow for this transaction
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                await asyncio.to_thread(proc.wait, 10)  # the loop keeps serving the CSMS meanwhile
        await session.stop()

    events = received_events(session)
    tx_ids = {e["transactionInfo"]["transactionId"] for e in events}
    assert len(tx_ids) == 1, "the restarted station continued the same transaction"
    seq = [e["seqNo"] for e in events]
    assert seq == list(range(len(events))), f"delivered once each, in order, gap-free: {seq}"
    offline = [e for e in events[online_seen:]]
    assert len(offline) >= 4, "periodic values kept coming while the CSMS was away"
    assert all(e.get("offline") is True for e in offline), "queued while offline: offline=true (E12)"
    assert all("offline" not in e for e in events[: online_seen - 1])
    ended = events[-1]
    # Without ResumptionTimeout the transaction cannot resume after the power loss (E17).
    assert ended["triggerReason"] == "AbnormalCondition"
    assert ended["transactionInfo"]["stoppedReason"] == "PowerLoss"
    updated = [
        e for e in events if e["eventType"] == "Updated" and e["triggerReason"] == "MeterValuePeriodic"
    ]
    energy = [
        sv["value"]
        for e in updated
        for mv in e["meterValue"]
        for sv in mv["sampledValue"]
        if sv.get("measurand") == "Energy.Active.Import.Register"
    ]
    assert energy == sorted(energy), "the energy register never goes backwards across the restart"
    assert not [r for r in session.store if r.problems]
