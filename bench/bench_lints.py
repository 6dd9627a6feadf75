"""Protocol lints: frames per second through Linter.check on a synthetic realistic capture.

Run: .venv/bin/python bench/bench_lints.py [--frames 200000] [--stations 10]

The capture interleaves `--stations` stations, each booting once and then running transactions:
TransactionEvent Started/Updated (with 6 sampled values)/Ended and their results, MeterValues,
NotifyEvent, Heartbeat, plus occasional CSMS GetVariables. Two cases: records whose fields are
parsed already (the live session: the store's CaptureRecords) and raw frame text only (offline
`chargebench validate`, where the linter parses the JSON). Numbers only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.clock import utc_timestamp
from app.inspector.lints import Linter
from app.inspector.records import CaptureRecord

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _meter(wh: float, at: datetime) -> list[dict[str, object]]:
    return [
        {
            "timestamp": utc_timestamp(at),
            "sampledValue": [
                {
                    "value": round(wh, 1),
                    "measurand": "Energy.Active.Import.Register",
                    "unitOfMeasure": {"unit": "Wh"},
                },
                {"value": 11000.0, "measurand": "Power.Active.Import", "unitOfMeasure": {"unit": "W"}},
                {"value": 16.0, "measurand": "Current.Import", "phase": "L1", "unitOfMeasure": {"unit": "A"}},
                {"value": 16.0, "measurand": "Current.Import", "phase": "L2", "unitOfMeasure": {"unit": "A"}},
                {"value": 16.0, "measurand": "Current.Import", "phase": "L3", "unitOfMeasure": {"unit": "A"}},
                {"value": 230.0, "measurand": "Voltage", "phase": "L1-N", "unitOfMeasure": {"unit": "V"}},
            ],
        }
    ]


def _station_frames(station: str) -> Iterator[tuple[str, list[object]]]:
    """An endless, valid conversation of one station: (sender, frame)."""
    n = 0
    at = T0

    def mid() -> str:
        nonlocal n
        n += 1
        return f"{station}-{n}"

    boot = mid()
    yield (
        "station",
        [
            2,
            boot,
            "BootNotification",
            {"reason": "PowerUp", "chargingStation": {"model": "M", "vendorName": "V"}},
        ],
    )
    yield "csms", [3, boot, {"currentTime": utc_timestamp(at), "interval": 300, "status": "Accepted"}]
    wh = 0.0
    tx_number = 0
    while True:
        tx_number += 1
        tx_id = f"{station}-tx{tx_number}"
        seq = 0
        m = mid()
        started = {
            "eventType": "Started",
            "timestamp": utc_timestamp(at),
            "triggerReason": "Authorized",
            "seqNo": seq,
            "transactionInfo": {"transactionId": tx_id, "chargingState": "Charging"},
            "evse": {"id": 1, "connectorId": 1},
            "idToken": {"idToken": "CARD-1", "type": "ISO14443"},
            "meterValue": _meter(wh, at),
        }
        yield "station", [2, m, "TransactionEvent", started]
        yield "csms", [3, m, {"idTokenInfo": {"status": "Accepted"}}]
        for step in range(40):
            at += timedelta(seconds=15)
            wh += 45.0
            seq += 1
            m = mid()
            updated = {
                "eventType": "Updated",
                "timestamp": utc_timestamp(at),
                "triggerReason": "MeterValuePeriodic",
                "seqNo": seq,
                "transactionInfo": {"transactionId": tx_id},
                "meterValue": _meter(wh, at),
            }
            yield "station", [2, m, "TransactionEvent", updated]
            yield "csms", [3, m, {}]
            if step % 8 == 0:
                m = mid()
                yield "station", [2, m, "MeterValues", {"evseId": 1, "meterValue": _meter(wh, at)}]
                yield "csms", [3, m, {}]
            if step % 10 == 5:
                m = mid()
                event = {
                    "generatedAt": utc_timestamp(at),
                    "seqNo": 0,
                    "eventData": [
                        {
                            "eventId": n,
                            "timestamp": utc_timestamp(at),
                            "trigger": "Delta",
                            "actualValue": "Occupied",
                            "eventNotificationType": "HardWiredNotification",
                            "component": {"name": "Connector", "evse": {"id": 1, "connectorId": 1}},
                            "variable": {"name": "AvailabilityState"},
                        }
                    ],
                }
                yield "station", [2, m, "NotifyEvent", event]
                yield "csms", [3, m, {}]
            if step % 20 == 10:
                m = f"{station}-csms-{n}"
                yield (
                    "csms",
                    [
                        2,
                        m,
                        "GetVariables",
                        {
                            "getVariableData": [
                                {
                                    "component": {"name": "OCPPCommCtrlr"},
                                    "variable": {"name": "HeartbeatInterval"},
                                }
                            ]
                        },
                    ],
                )
                result = {
                    "attributeStatus": "Accepted",
                    "attributeValue": "300",
                    "component": {"name": "OCPPCommCtrlr"},
                    "variable": {"name": "HeartbeatInterval"},
                }
                yield "station", [3, m, {"getVariableResult": [result]}]
        at += timedelta(seconds=15)
        seq += 1
        m = mid()
        ended = {
            "eventType": "Ended",
            "timestamp": utc_timestamp(at),
            "triggerReason": "StopAuthorized",
            "seqNo": seq,
            "transactionInfo": {"transactionId": tx_id, "stoppedReason": "Local"},
            "meterValue": _meter(wh, at),
        }
        yield "station", [2, m, "TransactionEvent", ended]
        yield "csms", [3, m, {}]
        at += timedelta(seconds=300)
        m = mid()
        yield "station", [2, m, "Heartbeat", {}]
        yield "csms", [3, m, {"currentTime": utc_timestamp(at)}]


def build(frames: int, stations: int, parsed: bool) -> list[CaptureRecord]:
    sources = [_station_frames(f"CS{k:03d}") for k in range(stations)]
    records: list[CaptureRecord] = []
    k = 0
    while len(records) < frames:
        station = f"CS{k % stations:03d}"
        sender, frame = next(sources[k % stations])
        raw = json.dumps(frame, separators=(",", ":"))
        record = CaptureRecord(
            time=T0 + timedelta(milliseconds=len(records)),
            connection=f"{station}-c1",
            station=station,
            sender="csms" if sender == "csms" else "station",
            observer="station",
            version="ocpp2.1",
            raw=raw,
        )
        if parsed:
            record.message_type = int(frame[0])  # type: ignore[call-overload]
            record.message_id = str(frame[1])
            if frame[0] == 2:
                record.action, record.payload = str(frame[2]), frame[3]
            elif frame[0] == 3:
                record.payload = frame[2]
        records.append(record)
        k += 1
    return records


def run(records: list[CaptureRecord]) -> tuple[float, int]:
    linter = Linter()
    start = time.perf_counter()
    findings = 0
    for record in records:
        findings += len(linter.check(record))
    return time.perf_counter() - start, findings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=200_000)
    parser.add_argument("--stations", type=int, default=10)
    args = parser.parse_args()
    for parsed in (True, False):
        records = build(args.frames, args.stations, parsed)
        seconds, findings = run(records)
        label = "parsed records (live)" if parsed else "raw frames (offline)"
        print(
            f"{label:24s} {len(records):>8d} frames  {seconds:6.2f} s  "
            f"{len(records) / seconds:>9.0f} frames/s  {seconds / len(records) * 1e6:6.1f} us/frame  "
            f"findings={findings}"
        )


if __name__ == "__main__":
    main()
