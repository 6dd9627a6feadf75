"""Schema validation cost per message: jsonschema-rs (the app's hot path) vs jsonschema.

Run: .venv/bin/python bench/bench_validation.py [--seconds 0.5]

Payloads are OCPP 2.1 and schema-valid: small (Heartbeat, BootNotification requests), medium
(TransactionEvent with 10 sampled values), large (NotifyReport with 200 reportData entries).
Three ways are timed, all collecting every error (what the inspector needs, not just yes/no):

  app      app.protocol.schemas.validate(): cached jsonschema-rs validator + Problem mapping
  rs       jsonschema_rs validator.iter_errors() alone (format checks on, as in the app)
  py       jsonschema Draft6Validator + FormatChecker, iter_errors()

Prints microseconds per message and the py / app ratio. Numbers only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema_rs

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.protocol import schemas
from app.protocol.schemas import Kind, OcppVersion

V21 = OcppVersion.V21
TS = "2026-01-01T12:00:00.000Z"


def transaction_event(samples: int) -> dict[str, Any]:
    measurands = [
        ("Energy.Active.Import.Register", "Wh", None),
        ("Power.Active.Import", "W", None),
        ("Current.Import", "A", "L1"),
        ("Current.Import", "A", "L2"),
        ("Current.Import", "A", "L3"),
        ("Voltage", "V", "L1-N"),
        ("Voltage", "V", "L2-N"),
        ("Voltage", "V", "L3-N"),
        ("SoC", "Percent", None),
        ("Frequency", "Hz", None),
    ]
    values = []
    for i in range(samples):
        measurand, unit, phase = measurands[i % len(measurands)]
        sv: dict[str, Any] = {
            "value": 100.0 + i,
            "measurand": measurand,
            "context": "Sample.Periodic",
            "location": "EV" if measurand == "SoC" else "Outlet",
            "unitOfMeasure": {"unit": unit},
        }
        if phase:
            sv["phase"] = phase
        values.append(sv)
    return {
        "eventType": "Updated",
        "timestamp": TS,
        "triggerReason": "MeterValuePeriodic",
        "seqNo": 4,
        "transactionInfo": {
            "transactionId": "4b8f0e0c-6d5e-4f0a-9b7e-0c1d2e3f4a5b",
            "chargingState": "Charging",
        },
        "evse": {"id": 1, "connectorId": 1},
        "meterValue": [{"timestamp": TS, "sampledValue": values}],
    }


def notify_report(entries: int) -> dict[str, Any]:
    data = []
    for i in range(entries):
        data.append(
            {
                "component": {"name": f"Component{i % 17}", "evse": {"id": 1 + i % 2, "connectorId": 1}},
                "variable": {"name": f"Variable{i}", "instance": "Default" if i % 3 else "Main"},
                "variableAttribute": [
                    {"type": "Actual", "value": str(i * 7), "mutability": "ReadWrite", "persistent": True},
                    {"type": "Target", "value": str(i * 5), "mutability": "ReadOnly"},
                ],
                "variableCharacteristics": {
                    "dataType": "integer",
                    "supportsMonitoring": bool(i % 2),
                    "unit": "W",
                    "minLimit": 0,
                    "maxLimit": 22000,
                },
            }
        )
    return {"requestId": 7, "generatedAt": TS, "tbc": False, "seqNo": 0, "reportData": data}


CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("small", "Heartbeat", {}),
    ("small", "BootNotification", {
        "reason": "PowerUp",
        "chargingStation": {"model": "Wallbox 22", "vendorName": "ChargeBench", "serialNumber": "SN-0001",
                            "firmwareVersion": "1.2.3", "modem": {"iccid": "8931000000000000001"}},
    }),
    ("medium", "TransactionEvent", transaction_event(10)),
    ("large", "NotifyReport", notify_report(200)),
]  # fmt: skip


def per_call_us(fn: Callable[[], object], seconds: float) -> float:
    """Median of five timed batches, each sized to take about seconds/5."""
    fn()  # warm caches (compiled validator, format regexes)
    n = 1
    while True:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= seconds / 25 or n >= 1 << 20:
            break
        n *= 2
    batch = max(1, int(n * (seconds / 5) / max(elapsed, 1e-9)))
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(batch):
            fn()
        samples.append((time.perf_counter() - start) / batch)
    samples.sort()
    return samples[2] * 1e6


def measure(size: str, action: str, payload: dict[str, Any], seconds: float) -> None:
    doc = schemas.schema(V21, action, Kind.REQUEST)
    assert doc is not None
    rs = jsonschema_rs.validator_for(doc, validate_formats=True)
    py = jsonschema.Draft6Validator(doc, format_checker=jsonschema.Draft6Validator.FORMAT_CHECKER)
    problems = (schemas.validate(V21, action, Kind.REQUEST, payload), list(py.iter_errors(payload)))
    valid = "yes" if not problems[0] and not problems[1] else f"NO ({problems})"

    app_us = per_call_us(lambda: schemas.validate(V21, action, Kind.REQUEST, payload), seconds)
    rs_us = per_call_us(lambda: list(rs.iter_errors(payload)), seconds)
    py_us = per_call_us(lambda: list(py.iter_errors(payload)), seconds)
    size_bytes = len(json.dumps(payload, separators=(",", ":")).encode())
    print(f"{size:<7}{action:<18}{size_bytes:>7}{app_us:>11.1f}{rs_us:>10.1f}{py_us:>12.1f}"
          f"{py_us / app_us:>8.0f}x  {valid}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="time budget per measurement")
    args = parser.parse_args()

    print(f"jsonschema-rs {version('jsonschema-rs')}, jsonschema {version('jsonschema')}, "
          f"Python {sys.version.split()[0]}")  # fmt: skip
    header = (
        f"{'size':<7}{'action':<18}{'bytes':>7}{'app µs':>11}{'rs µs':>10}{'py µs':>12}{'py/app':>9}  valid"
    )
    print(header)
    print("-" * len(header))
    for size, action, payload in CASES:
        measure(size, action, payload, args.seconds)

    # One broken payload: the error path matters too (the inspector lists every problem).
    broken = transaction_event(10)
    broken["meterValue"][0]["sampledValue"][3]["measurand"] = "Power.Imaginary"
    del broken["triggerReason"]
    doc = schemas.schema(V21, "TransactionEvent", Kind.REQUEST)
    assert doc is not None
    py = jsonschema.Draft6Validator(doc, format_checker=jsonschema.Draft6Validator.FORMAT_CHECKER)
    app_us = per_call_us(
        lambda: schemas.validate(V21, "TransactionEvent", Kind.REQUEST, broken), args.seconds
    )
    py_us = per_call_us(lambda: list(py.iter_errors(broken)), args.seconds)
    found = schemas.validate(V21, "TransactionEvent", Kind.REQUEST, broken)
    print(f"{'broken':<7}{'TransactionEvent':<18}{'':>7}{app_us:>11.1f}{'':>10}{py_us:>12.1f}"
          f"{py_us / app_us:>8.0f}x  {len(found)} problems: {'; '.join(map(str, found))}")  # fmt: skip


if __name__ == "__main__":
    main()
