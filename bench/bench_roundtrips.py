"""Sequential CALL -> CALLRESULT round trips per second on loopback, validation on both ends.

Run: .venv/bin/python bench/bench_roundtrips.py [--seconds 2] [--max-calls 20000]

  ours   OcppConnection (app/transport/client.py) -> start_server + OcppConnection, both ends
         validating request and response with jsonschema-rs and producing a CaptureRecord per
         frame per side (as the app does; records go to a list that is dropped)
  lib    the `ocpp` library (mobilityhouse): its ChargePoint as client -> its ChargePoint as
         server on a plain websockets server, validating with jsonschema (its default)
  floor  plain websockets echo of the same BootNotification text: no OCPP at all

One asyncio loop, one process, both ends in it: every number includes both sides' CPU. Each
run is bounded by --seconds and --max-calls. Numbers only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections.abc import Awaitable, Callable
from importlib.metadata import version as dist_version
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.inspector.records import CaptureRecord
from app.protocol.frames import Call
from app.protocol.schemas import OcppVersion
from app.transport.client import ClientSettings, open_station_socket
from app.transport.connection import OcppConnection
from app.transport.server import ServerSettings, start_server

TS = "2026-01-01T12:00:00.000Z"
BOOT = {"reason": "PowerUp", "chargingStation": {"model": "Wallbox 22", "vendorName": "ChargeBench"}}
BOOT_OK = {"currentTime": TS, "interval": 300, "status": "Accepted"}
HEARTBEAT_OK = {"currentTime": TS}


async def timed(one_call: Callable[[], Awaitable[Any]], seconds: float, max_calls: int) -> tuple[int, float]:
    for _ in range(50):  # warm-up: validators compiled, buffers sized
        await one_call()
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while count < max_calls:
        await one_call()
        count += 1
        if count % 64 == 0 and time.perf_counter() >= deadline:
            break
    return count, time.perf_counter() - start


async def run_ours(version: OcppVersion, action: str, seconds: float, max_calls: int) -> tuple[int, float]:
    sink: list[CaptureRecord] = []

    def capture(record: CaptureRecord) -> None:
        sink.append(record)
        if len(sink) > 10_000:
            sink.clear()

    async def answer(call: Call) -> dict[str, Any]:
        return BOOT_OK if call.action == "BootNotification" else HEARTBEAT_OK

    async def on_station(ws: ServerConnection, station_id: str, ver: OcppVersion) -> None:
        conn = OcppConnection(
            ws, ver, station_id=station_id, local_role="csms", capture=capture, handler=answer
        )
        await conn.run()

    server = await start_server(on_station, ServerSettings(port=0))
    port = next(iter(server.sockets)).getsockname()[1]
    ws, ver = await open_station_socket(
        ClientSettings(f"ws://127.0.0.1:{port}/ocpp", "BENCH", versions=(version,))
    )
    station = OcppConnection(ws, ver, station_id="BENCH", local_role="station", capture=capture)
    runner = asyncio.create_task(station.run())
    payload = BOOT if action == "BootNotification" else {}
    try:
        return await timed(lambda: station.call(action, payload), seconds, max_calls)
    finally:
        await station.close()
        await runner
        server.close()
        await server.wait_closed()


async def run_lib(version: OcppVersion, action: str, seconds: float, max_calls: int) -> tuple[int, float]:
    from ocpp.routing import on

    if version is OcppVersion.V21:
        from ocpp.v21 import ChargePoint, call, call_result
    else:
        from ocpp.v201 import ChargePoint, call, call_result

    class LibCsms(ChargePoint):  # type: ignore[misc, valid-type]
        @on("BootNotification")
        async def on_boot(self, **_: Any) -> Any:
            return call_result.BootNotification(current_time=TS, interval=300, status="Accepted")

        @on("Heartbeat")
        async def on_heartbeat(self, **_: Any) -> Any:
            return call_result.Heartbeat(current_time=TS)

    async def handler(ws: ServerConnection) -> None:
        with contextlib.suppress(Exception):
            await LibCsms("BENCH", ws).start()

    async with serve(handler, "127.0.0.1", 0, subprotocols=[str(version)]) as server:  # type: ignore[list-item]
        port = next(iter(server.sockets)).getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}/ocpp/BENCH", subprotocols=[str(version)]) as ws:  # type: ignore[list-item]
            cp = ChargePoint("BENCH", ws)
            runner = asyncio.create_task(cp.start())
            if action == "BootNotification":
                request = call.BootNotification(
                    charging_station={"model": "Wallbox 22", "vendor_name": "ChargeBench"}, reason="PowerUp"
                )
            else:
                request = call.Heartbeat()
            try:
                return await timed(lambda: cp.call(request, suppress=False), seconds, max_calls)
            finally:
                runner.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await runner


async def run_floor(seconds: float, max_calls: int) -> tuple[int, float]:
    text = json.dumps([2, "0" * 36, "BootNotification", BOOT])

    async def echo(ws: ServerConnection) -> None:
        async for message in ws:
            await ws.send(message)

    async with serve(echo, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}/") as ws:

            async def one() -> None:
                await ws.send(text)
                await ws.recv()

            return await timed(one, seconds, max_calls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time budget per run")
    parser.add_argument("--max-calls", type=int, default=20_000, help="call budget per run")
    args = parser.parse_args()

    print(f"websockets {dist_version('websockets')}, ocpp {dist_version('ocpp')}, "
          f"jsonschema-rs {dist_version('jsonschema-rs')}, Python {sys.version.split()[0]}")  # fmt: skip
    count, elapsed = asyncio.run(run_floor(args.seconds, args.max_calls))
    rate = count / elapsed
    print(f"{'floor':<6}{'websockets echo':<28}{rate:>9.0f} round trips/s  ({count} in {elapsed:.2f} s)")
    for action in ("BootNotification", "Heartbeat"):
        for version in (OcppVersion.V21, OcppVersion.V201):
            ours_n, ours_t = asyncio.run(run_ours(version, action, args.seconds, args.max_calls))
            lib_n, lib_t = asyncio.run(run_lib(version, action, args.seconds, args.max_calls))
            ours, lib = ours_n / ours_t, lib_n / lib_t
            label = f"{action} {version}"
            print(f"{'ours':<6}{label:<28}{ours:>9.0f} round trips/s  ({ours_n} in {ours_t:.2f} s)")
            print(f"{'lib':<6}{label:<28}{lib:>9.0f} round trips/s  ({lib_n} in {lib_t:.2f} s)")
            print(f"{'':<6}{'ratio ours/lib':<28}{ours / lib:>9.1f}x")


if __name__ == "__main__":
    main()
