"""P01 DataTransfer: the station answers vendor-specific requests from its configured answers."""

from __future__ import annotations

from tests.conformance.conftest import Bench

ANSWERS: dict[str, dict[str, object]] = {
    "com.example.pay/Ping": {"status": "Accepted", "data": {"pong": 1}},
    "com.example.pay/Block": {"status": "Rejected"},
    "org.other": {"status": "Accepted", "data": "anything"},
}


async def test_P01_FR_07_configured_answer_per_vendor_and_message(bench: Bench) -> None:
    await bench.station(data_transfer=ANSWERS)
    ping = await bench.call("DataTransfer", {"vendorId": "com.example.pay", "messageId": "Ping", "data": "?"})
    assert ping == {"status": "Accepted", "data": {"pong": 1}}
    block = await bench.call("DataTransfer", {"vendorId": "com.example.pay", "messageId": "Block"})
    assert block["status"] == "Rejected"
    # A vendor answered as a whole (no message ids configured for it).
    other = await bench.call("DataTransfer", {"vendorId": "org.other"})
    assert other == {"status": "Accepted", "data": "anything"}


async def test_P01_FR_05_FR_06_unknown_vendor_and_unknown_message(bench: Bench) -> None:
    await bench.station(data_transfer=ANSWERS)
    unknown_vendor = await bench.call("DataTransfer", {"vendorId": "com.nobody", "messageId": "Ping"})
    assert unknown_vendor["status"] == "UnknownVendorId"  # P01.FR.05
    unknown_message = await bench.call("DataTransfer", {"vendorId": "com.example.pay", "messageId": "Nope"})
    assert unknown_message["status"] == "UnknownMessageId"  # P01.FR.06
    assert "data" not in unknown_vendor and "data" not in unknown_message
