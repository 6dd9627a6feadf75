"""How the emulated station answers CSMS-initiated calls.

Each `on_<Action>` returns the response payload or raises an OcppError. Work that must follow
the response on the wire (starting a transaction after RequestStartTransaction, sending the
triggered message after TriggerMessage: F06.FR.04) is scheduled with `after()`, which runs once
the response has been sent.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from app.clock import utc_timestamp
from app.protocol.errors import NotSupported, OccurrenceConstraintViolation, SecurityError
from app.protocol.frames import Call
from app.station.device_model import TooManyItems, notify_report_requests

if TYPE_CHECKING:
    from app.station.station import Station

# B02.FR.05 / B03.FR.08: what a station answers before its boot was accepted.
_ALLOWED_WHILE_PENDING = frozenset(
    {"GetVariables", "SetVariables", "GetBaseReport", "GetReport", "TriggerMessage"}
)
_REJECTED_WHILE_PENDING = frozenset({"RequestStartTransaction", "RequestStopTransaction"})


class StationHandlers:
    def __init__(self, station: Station) -> None:
        self.station = station

    async def handle(self, call: Call) -> dict[str, Any]:
        station = self.station
        boot = station.boot_status
        if boot == "Rejected":
            raise SecurityError(f"{call.action} while the boot is Rejected")
        if boot != "Accepted":
            if call.action in _REJECTED_WHILE_PENDING:
                return {"status": "Rejected", "statusInfo": {"reasonCode": "NotAccepted"}}
            if call.action not in _ALLOWED_WHILE_PENDING:
                raise SecurityError(f"{call.action} before the boot was accepted")
        handler = getattr(self, f"on_{call.action}", None)
        if handler is None:
            raise NotSupported(f"{call.action} is not supported by this station")
        result: dict[str, Any] = handler(call.payload)
        return result

    def after(self, work: Callable[[], Awaitable[Any]]) -> None:
        """Run `work` once the current response has been written (next loop turns)."""

        async def later() -> None:
            await asyncio.sleep(0.01)
            await work()

        self.station._spawn(later(), "after-response")

    # ------------------------------------------------------------------ B: provisioning

    def on_GetVariables(self, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            return self.station.dm.get_variables(payload)
        except TooManyItems as exc:
            raise OccurrenceConstraintViolation(str(exc)) from None

    def on_SetVariables(self, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            return self.station.dm.set_variables(payload)
        except TooManyItems as exc:
            raise OccurrenceConstraintViolation(str(exc)) from None

    def on_GetBaseReport(self, payload: dict[str, Any]) -> dict[str, Any]:
        station = self.station
        try:
            entries = station.dm.report(payload["reportBase"])
        except ValueError:
            return {"status": "NotSupported"}  # B07.FR.02
        if not entries:
            return {"status": "EmptyResultSet"}
        parts = notify_report_requests(
            payload["requestId"],
            entries,
            generated_at=utc_timestamp(station.clock.now()),
            items_per_message=station.dm.get_int("DeviceDataCtrlr", "ItemsPerMessage", instance="GetReport")
            or 100,
        )

        async def send_report() -> None:
            conn = station.connection
            for part in parts:
                if conn is None or conn.closed:
                    return
                await conn.call("NotifyReport", part)

        self.after(send_report)  # the response first, then the report (B07.FR.04)
        return {"status": "Accepted"}

    def on_Reset(self, payload: dict[str, Any]) -> dict[str, Any]:
        # The reboot model (OnIdle scheduling, E17 resumption) is not built yet: say so.
        return {"status": "Rejected", "statusInfo": {"reasonCode": "UnsupportedRequest"}}

    # ------------------------------------------------------------------ F: remote control

    def on_RequestStartTransaction(self, payload: dict[str, Any]) -> dict[str, Any]:
        station = self.station
        evse_id = payload.get("evseId")
        if evse_id is not None:
            evse = station.evses.get(evse_id)
            if evse is None:
                return {"status": "Rejected", "statusInfo": {"reasonCode": "UnknownEvse"}}
        else:
            free = [e for e in station.evses.values() if e.operative and e.authorized is None]
            if not free:
                return {"status": "Rejected", "statusInfo": {"reasonCode": "NoFreeEvse"}}
            evse = next((e for e in free if e.plugged), free[0])
        if not evse.operative or evse.authorized is not None:
            return {"status": "Rejected", "statusInfo": {"reasonCode": "EvseBusy"}}
        response: dict[str, Any] = {"status": "Accepted"}
        if evse.transaction is not None:  # cable first: the transaction already exists (F01)
            response["transactionId"] = evse.transaction.transaction_id
        token, remote_id = payload["idToken"], payload["remoteStartId"]
        self.after(lambda: station.remote_start(evse, token, remote_id))
        return response

    def on_RequestStopTransaction(self, payload: dict[str, Any]) -> dict[str, Any]:
        station = self.station
        for evse in station.evses.values():
            tx = evse.transaction
            if tx is not None and tx.transaction_id == payload["transactionId"]:
                self.after(functools.partial(station.remote_stop, evse))
                return {"status": "Accepted"}
        return {"status": "Rejected", "statusInfo": {"reasonCode": "UnknownTransaction"}}

    def on_TriggerMessage(self, payload: dict[str, Any]) -> dict[str, Any]:
        station = self.station
        requested = payload["requestedMessage"]
        conn = station.connection
        if conn is None:
            return {"status": "Rejected"}
        if requested == "BootNotification" and station.boot_status == "Accepted":
            return {"status": "Rejected", "statusInfo": {"reasonCode": "AlreadyAccepted"}}  # F06.FR.17
        if requested == "Heartbeat":
            self.after(lambda: conn.call("Heartbeat", {}))
        elif requested == "StatusNotification":
            evse_ref = payload.get("evse") or {}
            targets = [station.evses[evse_ref["id"]]] if evse_ref.get("id") in station.evses else []
            if not targets:
                return {"status": "Rejected", "statusInfo": {"reasonCode": "UnknownEvse"}}

            async def report() -> None:
                for evse in targets:
                    await station._report_status(evse, force=True)

            self.after(report)
        elif requested == "TransactionEvent":
            evse_ref = payload.get("evse") or {}
            evses = [
                e for e in station.evses.values() if e.transaction and evse_ref.get("id") in (None, e.evse_id)
            ]
            if not evses:
                return {"status": "Rejected", "statusInfo": {"reasonCode": "NoTransaction"}}

            async def trigger_tx() -> None:
                for evse in evses:
                    if evse.transaction is not None:
                        station._send_event(evse, "Updated", "Trigger")

            self.after(trigger_tx)
        else:
            return {"status": "NotImplemented"}
        return {"status": "Accepted"}

    def on_UnlockConnector(self, payload: dict[str, Any]) -> dict[str, Any]:
        evse = self.station.evses.get(payload["evseId"])
        if evse is None or payload["connectorId"] != evse.connector_id:
            return {"status": "UnknownConnector"}
        if evse.transaction is not None and evse.authorized is not None:
            return {"status": "OngoingAuthorizedTransaction"}
        return {"status": "Unlocked"}

    def on_ChangeAvailability(self, payload: dict[str, Any]) -> dict[str, Any]:
        station = self.station
        operative = payload["operationalStatus"] == "Operative"
        evse_ref = payload.get("evse")
        if evse_ref and evse_ref.get("id", 0) not in station.evses and evse_ref.get("id", 0) != 0:
            return {"status": "Rejected", "statusInfo": {"reasonCode": "UnknownEvse"}}
        targets = (
            [station.evses[evse_ref["id"]]]
            if evse_ref and evse_ref.get("id", 0) != 0
            else list(station.evses.values())
        )
        if not operative and any(e.transaction is not None for e in targets):
            for evse in targets:
                evse.scheduled_operative = operative  # applied when its transaction ends
            return {"status": "Scheduled"}

        async def apply() -> None:
            for evse in targets:
                evse.operative = operative
                await station._report_status(evse)

        self.after(apply)
        return {"status": "Accepted"}

    def on_ClearCache(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"status": "Accepted"}  # no authorization cache yet: nothing to clear

    def on_DataTransfer(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"status": "UnknownVendorId"}
