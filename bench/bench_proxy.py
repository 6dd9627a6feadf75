"""Latency the recording proxy adds, at a steady ~1,000 frames/s through it.

Run: .venv/bin/python bench/bench_proxy.py [--rate 1000] [--seconds 5]

A client sends TransactionEvent(Updated) CALLs on a fixed schedule (rate/2 CALLs per second,
so `rate` frames per second cross the proxy counting the CALLRESULTs), without waiting for
answers; an upstream websockets server answers each with a CALLRESULT. The round-trip time of
every CALL is measured, three ways, one after the other, all in this process and loop:

  direct    client -> upstream
  forward   client -> OcppProxy (capture off: forwarding only) -> upstream
  record    client -> OcppProxy (capture on: each frame parsed, paired, schema-validated,
            turned into a CaptureRecord appended to a list) -> upstream

Added latency = the proxy's percentile minus the direct one. Everything shares one CPU and
one event loop (client, proxy and upstream), so these are upper bounds for a proxy in its own
process. Numbers only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.inspector.records import CaptureRecord
from app.proxy import OcppProxy

TS = "2026-01-01T12:00:00.000Z"
PAYLOAD = {
    "eventType": "Updated",
    "timestamp": TS,
    "triggerReason": "MeterValuePeriodic",
    "seqNo": 7,
    "transactionInfo": {"transactionId": "TX-0001", "chargingState": "Charging"},
    "evse": {"id": 1, "connectorId": 1},
    "meterValue": [
        {
            "timestamp": TS,
            "sampledValue": [
                {
                    "value": 12345.6,
                    "measurand": "Energy.Active.Import.Register",
                    "unitOfMeasure": {"unit": "Wh"},
                },
                {"value": 11000.0, "measurand": "Power.Active.Import", "unitOfMeasure": {"unit": "W"}},
                {"value": 16.0, "measurand": "Current.Import", "phase": "L1"},
            ],
        }
    ],
}


async def upstream_handler(ws: ServerConnection) -> None:
    async for message in ws:
        msg_id = json.loads(message)[1]
        await ws.send(f'[3,"{msg_id}",{{}}]')


async def run(url: str, rate: float, seconds: float) -> list[float]:
    """Round-trip times in ms of CALLs sent every 2/rate s for `seconds` (after a warm-up)."""
    interval = 2.0 / rate
    sent: dict[str, float] = {}
    rtts: list[float] = []
    async with connect(url, subprotocols=["ocpp2.1"], compression=None) as ws:  # type: ignore[list-item]
        receiver = asyncio.ensure_future(_receive(ws, sent, rtts))
        for n in range(200):  # warm-up: validators compiled, buffers sized
            await _send_call(ws, f"w{n}", sent)
            await asyncio.sleep(0.001)
        await asyncio.sleep(0.1)
        rtts.clear()
        start = time.perf_counter()
        n = 0
        while (now := time.perf_counter()) - start < seconds:
            due = start + n * interval
            if now < due:
                await asyncio.sleep(due - now)
            await _send_call(ws, str(n), sent)
            n += 1
        await asyncio.sleep(0.2)
        receiver.cancel()
    return rtts


async def _send_call(ws: ClientConnection, msg_id: str, sent: dict[str, float]) -> None:
    text = json.dumps([2, msg_id, "TransactionEvent", PAYLOAD], separators=(",", ":"))
    sent[msg_id] = time.perf_counter()
    await ws.send(text)


async def _receive(ws: ClientConnection, sent: dict[str, float], rtts: list[float]) -> None:
    async for message in ws:
        arrived = time.perf_counter()
        msg_id = json.loads(message)[1]
        rtts.append((arrived - sent.pop(msg_id)) * 1000.0)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100.0 * len(ordered)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=1000.0, help="frames per second through the proxy")
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per run")
    args = parser.parse_args()

    async with serve(upstream_handler, "127.0.0.1", 0, subprotocols=["ocpp2.1"], compression=None) as server:  # type: ignore[list-item]
        port = next(iter(server.sockets)).getsockname()[1]
        upstream = f"ws://127.0.0.1:{port}/ocpp"
        results: dict[str, list[float]] = {}
        results["direct"] = await run(upstream + "/BENCH", args.rate, args.seconds)
        async with OcppProxy(upstream) as proxy:
            results["forward"] = await run(proxy.url + "/BENCH", args.rate, args.seconds)
        records: list[CaptureRecord] = []
        async with OcppProxy(upstream, capture=records.append) as proxy:
            results["record"] = await run(proxy.url + "/BENCH", args.rate, args.seconds)
        problems = sum(1 for r in records if r.problems)

    print(
        f"{args.rate:g} frames/s through the proxy ({args.rate / 2:g} CALLs/s + their results), "
        f"{args.seconds:g} s per run, one process, one loop"
    )
    print(f"{'path':8} {'calls':>7} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'+p50 ms':>8} {'+p99 ms':>8}")
    base = results["direct"]
    for name, rtts in results.items():
        added = (
            ""
            if name == "direct"
            else f"{pct(rtts, 50) - pct(base, 50):8.3f} {pct(rtts, 99) - pct(base, 99):8.3f}"
        )
        print(
            f"{name:8} {len(rtts):7d} {pct(rtts, 50):8.3f} {pct(rtts, 99):8.3f} "
            f"{statistics.fmean(rtts):8.3f} {added}"
        )
    print(f"record: {len(records)} capture records, {problems} with schema problems")


if __name__ == "__main__":
    asyncio.run(main())
