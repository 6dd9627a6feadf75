"""Inspector ingest with the window up: frames/s end to end and UI timer lateness.

Run: QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_inspector.py [--frames 100000]
     [--rate R] [--stations 10] [--chunk 500] [--seconds 60]

Realistic OCPP 2.1 conversations (bench_lints' generator: TransactionEvent with six sampled
values, MeterValues, NotifyEvent, Heartbeat, CSMS GetVariables, every CALLRESULT with its
CALL's id) plus a few invalid frames (schema errors, broken JSON, unknown actions) go through
the live path, frame by frame:

  RpcEndpoint.receive(text, now)           parse + schema validation (connection._on_text)
  -> CaptureRecord as OcppConnection._record builds it (mask_secrets, payload, problems, ...)
  -> Session.capture(record)               live linter + CaptureStore.append
  -> SessionBridge (50 ms batches) -> InspectorModel -> InspectorView of a shown MainWindow

Live, both ends record what they see: the sender's endpoint makes the frame (`next_call` for
a CALL, `make_result` for an answer; OcppConnection._transmit records it) and the receiver's
endpoint takes it in (`receive`; OcppConnection._on_text records it). Even-numbered stations
are emulated (both ends ours: two records per wire frame, the CSMS-side copy a mirror hidden
by default); odd-numbered ones are foreign stations on the built-in CSMS (one record, CSMS
side, visible). "Frames" below are capture records, what the inspector ingests; --frames
counts them too.

Records are fed in chunks of about --chunk, yielding to the qasync loop between chunks (as a socket
reader would), as fast as possible or paced at --rate frames/s. A 10 ms QTimer records its
lateness (actual minus expected interval). The run ends when the model holds every record
(feeding stops after --seconds). Numbers only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_lints import _station_frames
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from app.inspector.jsonl import mask_secrets
from app.inspector.records import CaptureRecord
from app.protocol.frames import Call
from app.protocol.rpc import Outbound, RpcEndpoint
from app.protocol.schemas import OcppVersion
from app.session import Session
from app.transport.connection import _payload_of

TICK_MS = 10
INVALID_EVERY = 997  # one broken frame in about a thousand
_INVALID = (
    # schema: TransactionEvent without triggerReason / seqNo
    '[2,"bad-{n}","TransactionEvent",{{"eventType":"Updated","timestamp":"2026-01-01T00:00:00Z",'
    '"transactionInfo":{{"transactionId":"x"}}}}]',
    '[2,"bad-{n}","Heartbeat",{{"oops":1',  # broken JSON
    '[2,"bad-{n}","HeartbeatRequest",{{}}]',  # unknown action
    '[2,"bad-{n}","MeterValues",{{"evseId":"one","meterValue":[]}}]',  # wrong types
)


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Side:
    """One end of one station's connection: its endpoint and the fields its records carry."""

    def __init__(self, station: str, role: str, *, captured: bool, mirror: bool) -> None:
        self.endpoint = RpcEndpoint(OcppVersion.V21)
        self.station = station
        self.role = role  # local role = observer
        self.remote = "station" if role == "csms" else "csms"
        self.captured = captured  # False: a station that is not ours (only the CSMS side records)
        self.mirror = mirror
        self.connection = f"{station}@{role}"
        self.pending: dict[str, Call] = {}  # CALLs delivered here, awaiting our answer


Item = tuple[Side, Side, str, list[Any]]  # sender, receiver, raw text (invalid frames), frame


def build(records: int, stations: int) -> list[Item]:
    """Wire frames until they make `records` capture records (one or two per wire frame)."""
    sources = [_station_frames(f"CS{k:03d}") for k in range(stations)]
    sides = []
    for k in range(stations):
        sid = f"CS{k:03d}"
        ours = k % 2 == 0  # emulated: both ends ours, the CSMS-side copy is a mirror
        sides.append(
            (Side(sid, "station", captured=ours, mirror=False), Side(sid, "csms", captured=True, mirror=ours))
        )
    items: list[Item] = []
    count = k = 0
    while count < records:
        station_side, csms_side = sides[k % stations]
        if len(items) % INVALID_EVERY == INVALID_EVERY - 1:
            text = _INVALID[(len(items) // INVALID_EVERY) % len(_INVALID)].format(n=len(items))
            items.append((station_side, csms_side, text, []))  # sent raw; only the CSMS side records
            count += 1
            continue
        who, frame = next(sources[k % stations])
        sender, receiver = (station_side, csms_side) if who == "station" else (csms_side, station_side)
        items.append((sender, receiver, json.dumps(frame, separators=(",", ":")), frame))
        count += sender.captured + receiver.captured
        k += 1
    return items


def _capture(
    session: Session,
    side: Side,
    sender: str,
    text: str,
    message_type: int | None,
    action: str | None,
    message_id: str | None,
    payload: Any,
    problems: list[str],
    notes: list[str],
    latency: float | None,
) -> None:
    """OcppConnection._record."""
    raw = mask_secrets(text, payload)
    session.capture(
        CaptureRecord(
            time=session.clock.now(),
            connection=side.connection,
            station=side.station,
            sender=sender,  # type: ignore[arg-type]
            observer=side.role,
            version="ocpp2.1",
            raw=raw,
            message_type=message_type,
            action=action,
            message_id=message_id,
            payload=payload,
            problems=problems,
            notes=notes,
            latency_ms=None if latency is None else latency * 1000.0,
            mirror=side.mirror,
        )
    )


def ingest(item: Item, session: Session) -> int:
    """One wire frame through the live path at each end that is ours; returns records made."""
    sender, receiver, text, frame = item
    made = 0
    # --- the sender's side (OcppConnection._send_next / _handle_call -> _transmit)
    if sender.captured and frame:
        out: Outbound | None = None
        if frame[0] == 2:
            sender.endpoint.submit_call(frame[2], frame[3], message_id=frame[1])
            out = sender.endpoint.next_call(time.monotonic())
        elif frame[0] == 3:
            call = sender.pending.pop(frame[1], None)
            if call is not None:
                out = sender.endpoint.make_result(call, frame[2], time.monotonic())
        if out is not None:
            text = out.text
            f = out.frame
            _capture(
                session,
                sender,
                sender.role,
                text,
                int(f.type),
                out.action,
                f.message_id,
                _payload_of(f),
                [str(p) for p in out.problems],
                [],
                out.latency,
            )
            made += 1
    if not receiver.captured:
        return made
    # --- the receiver's side (OcppConnection._on_text)
    inbound = receiver.endpoint.receive(text, time.monotonic())
    _capture(
        session,
        receiver,
        receiver.remote,
        text,
        inbound.message_type,
        inbound.action,
        inbound.message_id,
        _payload_of(inbound.frame),
        [str(p) for p in inbound.problems],
        inbound.notes,
        inbound.latency,
    )
    if inbound.deliver and isinstance(inbound.frame, Call):
        receiver.pending[inbound.frame.message_id] = inbound.frame
    return made + 1


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(args: argparse.Namespace, window: Any, items: list[Item]) -> dict[str, Any]:
    session: Session = window.session
    model = window.model
    lateness: list[float] = []
    last = [time.perf_counter()]
    seen = {"all": 0, "mirrors": 0, "invalid": 0, "noted": 0}

    def count(record: CaptureRecord) -> None:
        seen["all"] += 1
        seen["mirrors"] += record.mirror
        seen["invalid"] += bool(record.problems)
        seen["noted"] += bool(record.notes)

    session.store.added.connect(count)

    def on_tick() -> None:
        now = time.perf_counter()
        lateness.append((now - last[0]) * 1000.0 - TICK_MS)
        last[0] = now

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(TICK_MS)
    timer.timeout.connect(on_tick)
    await asyncio.sleep(0.3)  # window painted, layouts settled
    rss0 = rss_kib()
    last[0] = time.perf_counter()
    timer.start()

    t0 = time.perf_counter()
    deadline = t0 + args.seconds
    fed = wire = 0
    feed_busy = 0.0
    n = len(items)
    while wire < n and time.perf_counter() < deadline:
        c0 = time.perf_counter()
        target = fed + args.chunk
        while fed < target and wire < n:
            fed += ingest(items[wire], session)
            wire += 1
        feed_busy += time.perf_counter() - c0
        if args.rate:
            due = t0 + fed / args.rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
        else:
            await asyncio.sleep(0)
    t_fed = time.perf_counter()
    # Wait for the bridge's next flushes to put everything in the model.
    while model.total_count < seen["all"] and time.perf_counter() < deadline + 5:
        await asyncio.sleep(0.005)
    t_end = time.perf_counter()
    await asyncio.sleep(0.1)  # a few more ticks with the table full
    timer.stop()
    rss1 = rss_kib()

    return {
        "fed": fed,
        "wire": wire,
        "t_fed": t_fed - t0,
        "t_end": t_end - t0,
        "feed_busy": feed_busy,
        "lateness": lateness,
        "rss0": rss0,
        "rss1": rss1,
        "store": seen["all"],
        "expected_rows": seen["all"] - seen["mirrors"],
        "mirrors": seen["mirrors"],
        "invalid": seen["invalid"],
        "noted": seen["noted"],
        "rows": model.rowCount(),
        "model_total": model.total_count,
        "model_mirrors": model.mirror_count,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=0.0, help="frames/s (0: as fast as possible)")
    parser.add_argument("--stations", type=int, default=10)
    parser.add_argument("--chunk", type=int, default=500, help="frames fed between loop yields")
    parser.add_argument("--seconds", type=float, default=60.0, help="stop feeding after this long")
    args = parser.parse_args()

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)
    import qasync

    from ui.main_window import MainWindow

    g0 = time.perf_counter()
    items = build(args.frames, args.stations)
    gen_s = time.perf_counter() - g0
    # The pre-built frames are the bench's fixture, not the app's heap: keep the garbage
    # collector's full passes from walking them, as they would not exist in a real run.
    gc.collect()
    gc.freeze()

    session = Session()
    window = MainWindow(session, workspace_path=None)
    window.show()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        r = loop.run_until_complete(run(args, window, items))
    finally:
        window.bridge.close()
        loop.close()
        asyncio.set_event_loop(None)

    fed = r["fed"]
    late = r["lateness"]
    mode = f"paced at {args.rate:,.0f}/s" if args.rate else "as fast as possible"
    print(
        f"frames captured       {fed:,} of {args.frames:,} from {r['wire']:,} wire frames ({mode}, "
        f"yield every {args.chunk}, {args.stations} stations; texts built in {gen_s:.1f} s, untimed)"
    )
    print(
        f"store                 {r['store']:,} records: {r['mirrors']:,} mirrors, "
        f"{r['invalid']:,} invalid, {r['noted']:,} with notes"
    )
    print(
        f"table                 rowCount {r['rows']:,} (expected {r['expected_rows']:,} non-mirror); "
        f"model holds {r['model_total']:,} ({r['model_mirrors']:,} mirrors)"
        f"{'' if r['rows'] == r['expected_rows'] and r['model_total'] == r['store'] else '  MISMATCH'}"
    )
    print(
        f"end to end            {fed / r['t_end']:,.0f} frames/s ({r['t_end']:.2f} s until all in the "
        f"table; fed in {r['t_fed']:.2f} s)"
    )
    print(
        f"ingest alone          {fed / r['feed_busy']:,.0f} frames/s (receive/next_call/make_result + "
        f"record + Session.capture, {r['feed_busy']:.2f} s)"
    )
    print(
        f"UI share              {(r['t_end'] - r['feed_busy']) / r['t_end'] * 100:.0f} % of wall time "
        "outside the feed (Qt, bridge flushes, painting, waits)"
    )
    if late:
        print(
            f"timer lateness        p50 {statistics.median(late):.1f} ms, p99 {pct(late, 0.99):.1f} ms, "
            f"max {max(late):.1f} ms ({len(late)} ticks of {TICK_MS} ms)"
        )
    growth = (r["rss1"] - r["rss0"]) / 1024
    print(
        f"memory (RSS)          {r['rss0'] / 1024:.0f} -> {r['rss1'] / 1024:.0f} MiB, "
        f"{growth / fed * 100_000 if fed else 0:.0f} MiB per 100k frames"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
