"""How the emulated station answers CSMS-initiated calls.

Each `on_<Action>` returns the response payload or raises an OcppError; every answer looks at
the station's state (no canned replies). Work that must follow the response on the wire
(starting a transaction after RequestStartTransaction, the triggered message after
TriggerMessage: F06.FR.04, a reboot after Reset) is scheduled with `after()`, which runs once
the response has been sent.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from app.clock import utc_timestamp
from app.protocol.errors import FormatViolation, NotSupported, OccurrenceConstraintViolation, SecurityError
from app.protocol.frames import Call
from app.station.certificates import SIGN_TRIGGERS
from app.station.device_model import Component, TooManyItems, notify_report_requests
from app.station.firmware import FirmwareUpdater
from app.station.sampled_values import build_meter_value

if TYPE_CHECKING:
    from app.station.evse import Evse
    from app.station.station import Station

# B02.FR.05 / B03.FR.08: what a station answers before its boot was accepted.
_ALLOWED_WHILE_PENDING = frozenset(
    {"GetVariables", "SetVariables", "GetBaseReport", "GetReport", "TriggerMessage", "Reset"}
)
_REJECTED_WHILE_PENDING = frozenset({"RequestStartTransaction", "RequestStopTransaction"})
# A station is not a Local Controller: these are CSMS -> Local Controller only (L03/L04).
_LOCAL_CONTROLLER_ONLY = frozenset({"PublishFirmware", "UnpublishFirmware"})


class StationHandlers:
    def __init__(self, station: Station) -> None:
        self.station = station
        self.firmware = FirmwareUpdater(station)

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
        if handler is None or call.action in _LOCAL_CONTROLLER_ONLY:
            raise NotSupported(f"{call.action} is not supported by this station")
        result: dict[str, Any] = handler(call.payload)
        return result

    def after(self, work: Callable[[], Awaitable[Any]]) -> None:
        """Run `work` once the current response has been written (next loop turns)."""

        async def later() -> None:
            await asyncio.sleep(0.01)
            await work()

        self.station.spawn(later(), "after-response")

    def _evse_ref(self, ref: dict[str, Any] | None) -> tuple[int | None, int | None]:
        if not ref:
            return None, None
        return ref.get("id"), ref.get("connectorId")

    # ------------------------------------------------------------------ B: provisioning

    def on_GetVariables(self, payload: dict[str, Any]) -> dict[str, Any]:
        self._check_size("GetVariables", payload)
        try:
            return self.station.dm.get_variables(payload)
        except TooManyItems as exc:
            raise OccurrenceConstraintViolation(str(exc)) from None  # B06.FR.16

    def on_SetVariables(self, payload: dict[str, Any]) -> dict[str, Any]:
        self._check_size("SetVariables", payload)
        try:
            return self.station.dm.set_variables(payload)
        except TooManyItems as exc:
            raise OccurrenceConstraintViolation(str(exc)) from None  # B05.FR.11

    def _check_size(self, action: str, payload: dict[str, Any]) -> None:
        """DeviceDataCtrlr.BytesPerMessage[action]: a larger request is a FormatViolation (B06.FR.17)."""
        limit = self.station.dm.get_int("DeviceDataCtrlr", "BytesPerMessage", action, default=0)
        size = len(json.dumps(payload, separators=(",", ":")).encode("utf-8"))
        if limit > 0 and size > limit:
            raise FormatViolation(f"{action} payload is {size} bytes; BytesPerMessage[{action}] is {limit}")

    def on_GetBaseReport(self, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            entries = self.station.dm.report(payload["reportBase"])
        except ValueError:
            return {"status": "NotSupported"}  # B07.FR.02
        return self._report(payload["requestId"], entries)

    def on_GetReport(self, payload: dict[str, Any]) -> dict[str, Any]:
        entries = self.station.dm.custom_report(
            component_criteria=payload.get("componentCriteria", ()),
            component_variables=payload.get("componentVariable", ()),
        )
        return self._report(payload["requestId"], entries)

    def _report(self, request_id: int, entries: list[dict[str, Any]]) -> dict[str, Any]:
        station = self.station
        if not entries:
            return {"status": "EmptyResultSet"}
        parts = notify_report_requests(
            request_id,
            entries,
            generated_at=utc_timestamp(station.now()),
            items_per_message=station.dm.get_int(
                "DeviceDataCtrlr", "ItemsPerMessage", "GetReport", default=100
            )
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
        """B11-B13: OnIdle waits for transactions, Immediate ends them, ImmediateAndResume keeps them."""
        station = self.station
        kind = payload["type"]
        evse_id = payload.get("evseId")
        if evse_id:
            return self._reset_evse(kind, evse_id)
        busy = [e for e in station.evses.values() if e.transaction is not None]
        if kind == "ImmediateAndResume":
            if station.dm.get_int("TxCtrlr", "ResumptionTimeout", default=0) <= 0:
                return {"status": "Rejected", "statusInfo": {"reasonCode": "NoResumption"}}  # B13.FR.01
            for evse in busy:
                station.send_event(evse, "Updated", "ResetCommand")  # B13.FR.04
            self.after(functools.partial(self._reboot_after_queue, "RemoteReset"))
            return {"status": "Accepted"}
        if kind == "OnIdle" and busy:
            station._reset_pending = "RemoteReset"
            return {"status": "Scheduled"}  # B12.FR.01
        for evse in busy:  # Immediate: end them first (B12.FR.04), energy off
            station._end_transaction(evse, "ResetCommand", "ImmediateReset")
            station._clear_authorization(evse)
        self.after(functools.partial(self._reboot_after_queue, "RemoteReset"))
        return {"status": "Accepted"}

    def _reset_evse(self, kind: str, evse_id: int) -> dict[str, Any]:
        station = self.station
        evse = station.evses.get(evse_id)
        if evse is None or not station.dm.get_bool("EVSE", "AllowReset", evse=evse_id, default=True):
            return {"status": "Rejected", "statusInfo": {"reasonCode": "UnknownEvse"}}  # B11.FR.09
        if evse.transaction is not None:
            if kind == "OnIdle":
                return {"status": "Scheduled"}
            if kind == "Immediate":
                station._end_transaction(evse, "ResetCommand", "ImmediateReset")  # B12.FR.08
                station._clear_authorization(evse)  # the reset EVSE forgets it: energy off
            else:
                station.send_event(evse, "Updated", "ResetCommand")  # B13.FR.04, resumed after
        return {"status": "Accepted"}

    async def _reboot_after_queue(self, reason: str) -> None:
        """Give queued events a moment to reach the CSMS, then reboot; what is left is sent
        after the reboot (B12.FR.05)."""
        station = self.station
        for _ in range(50):
            if station.queued_events == 0 or not station.online:
                break
            await asyncio.sleep(0.05)
        await station.reboot(reason)

    def on_SetNetworkProfile(self, payload: dict[str, Any]) -> dict[str, Any]:
        """B09: store connection data in a configuration slot; switching happens via
        NetworkConfigurationPriority and a reboot (B10)."""
        station = self.station
        dm = station.dm
        slot = str(payload["configurationSlot"])
        data = payload["connectionData"]
        allowed = dm.find("OCPPCommCtrlr", "NetworkConfigurationPriority")
        values = allowed.characteristics.values_list if allowed is not None else ()
        if values and slot not in values:
            return {"status": "Rejected", "statusInfo": {"reasonCode": "InvalidConfSlot"}}
        if slot in dm.get_list("OCPPCommCtrlr", "NetworkConfigurationPriority", default=[]):
            return {"status": "Rejected", "statusInfo": {"reasonCode": "ActiveNetworkConf"}}
        if data.get("ocppTransport", "JSON") != "JSON":
            return {"status": "Rejected", "statusInfo": {"reasonCode": "UnsupportedTransport"}}
        profile = int(data["securityProfile"])
        active = dm.get_int("SecurityCtrlr", "SecurityProfile", default=1)
        downgrade_ok = profile >= 2 and dm.get_bool(
            "SecurityCtrlr", "AllowSecurityProfileDowngrade", default=False
        )
        if profile < active and not downgrade_ok:
            return {"status": "Rejected", "statusInfo": {"reasonCode": "NoSecurityDowngrade"}}  # B09.FR.04
        url = data["ocppCsmsUrl"]
        if profile >= 2 and not url.lower().startswith("wss://"):
            return {"status": "Rejected", "statusInfo": {"reasonCode": "InvalidUrl"}}
        component = Component("NetworkConfiguration", slot)
        if dm.find(component, "OcppCsmsUrl") is None:
            return {"status": "Failed", "statusInfo": {"reasonCode": "NoSuchSlot"}}
        version = {"OCPP20": "OCPP20", "OCPP201": "OCPP201", "OCPP21": "OCPP21"}.get(
            data.get("ocppVersion", ""), ""
        )
        writes = {
            "OcppCsmsUrl": url,
            "OcppInterface": data["ocppInterface"],
            "OcppTransport": "JSON",
            "MessageTimeout": str(data["messageTimeout"]),
            "SecurityProfile": str(profile),
            "Identity": data.get("identity", ""),
            "BasicAuthPassword": data.get("basicAuthPassword", ""),
            "OcppVersion": version,
        }
        for name, value in writes.items():
            if value and dm.find(component, name) is not None:
                dm.set_actual(component, name, value, validate=False)
        return {"status": "Accepted"}

    # ------------------------------------------------------------------ C / D: authorization

    def on_ClearCache(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self.station.authorizer.clear_cache()

    def on_SendLocalList(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self.station.authorizer.send_local_list(payload)

    def on_GetLocalListVersion(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self.station.authorizer.get_local_list_version()

    # ------------------------------------------------------------------ E: transactions

    def on_GetTransactionStatus(self, payload: dict[str, Any]) -> dict[str, Any]:
        """E14: is the transaction still going, and are messages for it still queued?"""
        station = self.station
        tx_id = payload.get("transactionId")
        queued = [q for q in station.store.queue_all() if q.action == "TransactionEvent"]
        if tx_id is None:
            return {"messagesInQueue": bool(queued)}
        ongoing = any(e.transaction and e.transaction.transaction_id == tx_id for e in station.evses.values())
        in_queue = any(q.payload["transactionInfo"]["transactionId"] == tx_id for q in queued)
        return {"ongoingIndicator": ongoing, "messagesInQueue": in_queue}

    # ------------------------------------------------------------------ F: remote control

    def on_RequestStartTransaction(self, payload: dict[str, Any]) -> dict[str, Any]:
        station = self.station
        token, remote_id = payload["idToken"], payload["remoteStartId"]
        evse_id = payload.get("evseId")
        if evse_id is not None:
            evse = station.evses.get(evse_id)
            if evse is None:
                return {"status": "Rejected", "statusInfo": {"reasonCode": "UnknownEvse"}}
        else:
            usable = [  # F01.FR.20: the station picks; not an EVSE reserved for someone else
                e
                for e in station.evses.values()
                if _usable(station, e)
                and e.authorized is None
                and (e.reservation is None or station._reservation_matches(e.reservation, token, None))
            ]
            if not usable:
                return {"status": "Rejected", "statusInfo": {"reasonCode": "NoFreeEvse"}}
            evse = next((e for e in usable if e.plugged), usable[0])
        if not _usable(station, evse):
            return {"status": "Rejected", "statusInfo": {"reasonCode": "Unavailable"}}
        if evse.authorized is not None:
            return {"status": "Rejected", "statusInfo": {"reasonCode": "TxInProgress"}}
        if evse.reservation is not None and not station._reservation_matches(evse.reservation, token, None):
            return {"status": "Rejected", "statusInfo": {"reasonCode": "Reserved"}}
        profile = payload.get("chargingProfile")
        if profile is not None:
            reason = station.smart.validate_remote_start_profile(profile, evse.evse_id)
            if reason is not None:
                return {"status": "Rejected", "statusInfo": {"reasonCode": reason}}  # K05
            if evse.transaction is not None:
                station.smart.install_remote_start_profile(
                    profile, evse.evse_id, evse.transaction.transaction_id
                )
            else:
                station._pending_remote_profile[evse.evse_id] = profile
        response: dict[str, Any] = {"status": "Accepted"}
        if evse.transaction is not None:  # cable first: the transaction already exists (F01)
            response["transactionId"] = evse.transaction.transaction_id
        self.after(functools.partial(station.remote_start, evse, token, remote_id))
        return response

    def on_RequestStopTransaction(self, payload: dict[str, Any]) -> dict[str, Any]:
        station = self.station
        for evse in station.evses.values():
            tx = evse.transaction
            if tx is not None and tx.transaction_id == payload["transactionId"]:
                self.after(functools.partial(station.remote_stop, evse))
                return {"status": "Accepted"}
        return {"status": "Rejected", "statusInfo": {"reasonCode": "UnknownTransaction"}}

    def on_UnlockConnector(self, payload: dict[str, Any]) -> dict[str, Any]:
        """F05: only sockets have a retention lock; a tethered cable has nothing to unlock."""
        station = self.station
        evse = station.evses.get(payload["evseId"])
        connector = evse.connector(payload["connectorId"]) if evse else None
        if evse is None or connector is None:
            return {"status": "UnknownConnector"}
        if not connector.connector_type.startswith("s"):
            raise NotSupported(f"connector {connector.connector_type} has a fixed cable and no lock")
        if evse.transaction is not None and evse.authorized is not None:
            return {"status": "OngoingAuthorizedTransaction"}  # F05.FR.02
        if connector.faulted:
            return {"status": "UnlockFailed"}
        if evse.transaction is not None:  # not authorized: end it, then unlock (F05.FR.03)
            station._end_transaction(evse, "UnlockCommand", "Other")
        if evse.plugged_connector == connector.connector_id:
            self.after(functools.partial(station.unplug, evse.evse_id))
        return {"status": "Unlocked"}

    def on_TriggerMessage(self, payload: dict[str, Any]) -> dict[str, Any]:
        """F06: answer first, then send the requested message (F06.FR.04)."""
        station = self.station
        requested = payload["requestedMessage"]
        evse_id, connector_id = self._evse_ref(payload.get("evse"))
        if evse_id is not None and evse_id not in station.evses and evse_id != 0:
            return {"status": "Rejected", "statusInfo": {"reasonCode": "UnknownEvse"}}
        evses = [e for e in station.evses.values() if evse_id in (None, 0, e.evse_id)]
        conn = station.connection
        if conn is None:
            return {"status": "Rejected"}
        if requested == "BootNotification":
            if station.boot_status == "Accepted":
                return {"status": "Rejected", "statusInfo": {"reasonCode": "AlreadyAccepted"}}  # F06.FR.17
            station._boot_reason = "Triggered"
            station._boot_wake.set()
        elif requested == "Heartbeat":
            self.after(station.heartbeat)
        elif requested == "StatusNotification":
            if evse_id is None or connector_id is None:
                return {"status": "Rejected", "statusInfo": {"reasonCode": "MissingParam"}}  # F06.FR.12
            evse = station.evses[evse_id]
            connector = evse.connector(connector_id)
            if connector is None:
                return {"status": "Rejected", "statusInfo": {"reasonCode": "UnknownConnector"}}
            self.after(
                lambda: station._send_status(
                    evse, connector, evse.derived_status(connector, station.station_operative), True
                )
            )
        elif requested == "MeterValues":
            measurands = station.dm.get_list("AlignedDataCtrlr", "Measurands", default=[])

            async def meter_values() -> None:
                for evse in evses:
                    if evse.reading is None:
                        evse.reading = evse.electrics.step(0.0, evse.ev, None, evse.energizing)
                    mv = build_meter_value(evse.reading, measurands, "Trigger", station.now())
                    if mv is not None:
                        await station._send_meter_values(evse.evse_id, [mv])

            self.after(meter_values)
        elif requested == "TransactionEvent":
            running = [e for e in evses if e.transaction is not None]
            if not running:
                return {"status": "Rejected", "statusInfo": {"reasonCode": "NoTransaction"}}

            async def trigger_tx() -> None:
                for evse in running:
                    if evse.transaction is not None:
                        station.send_event(evse, "Updated", "Trigger")

            self.after(trigger_tx)
        elif requested == "LogStatusNotification":
            self.after(lambda: conn.call("LogStatusNotification", {"status": "Idle"}))  # no upload running
        elif requested == "FirmwareStatusNotification":
            self.after(lambda: conn.call("FirmwareStatusNotification", self.firmware.trigger_payload()))
        elif requested == "PublishFirmwareStatusNotification":
            return {"status": "Rejected", "statusInfo": {"reasonCode": "NotLocalController"}}
        elif requested == "CustomTrigger":
            supported = station.dm.get_list("CustomizationCtrlr", "CustomTriggers", default=[])
            if payload.get("customTrigger") not in supported:
                return {"status": "NotImplemented", "statusInfo": {"reasonCode": "UnknownTrigger"}}
        elif requested in SIGN_TRIGGERS:
            # A02.FR.02: a new key pair and CSR; SignCertificate follows this answer.
            station.certificates.request_signing(SIGN_TRIGGERS[requested])
        else:
            return {"status": "NotImplemented", "statusInfo": {"reasonCode": "UnknownMessage"}}
        return {"status": "Accepted"}

    # ------------------------------------------------------------------ A / M: certificates

    def on_CertificateSigned(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self.station.certificates.certificate_signed(payload)

    def on_InstallCertificate(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self.station.certificates.install(payload)

    def on_DeleteCertificate(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self.station.certificates.delete(payload)

    def on_GetInstalledCertificateIds(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self.station.certificates.installed_ids(payload)

    # ------------------------------------------------------------------ G: availability

    def on_ChangeAvailability(self, payload: dict[str, Any]) -> dict[str, Any]:
        """G03/G04: station, EVSE or connector; Scheduled while a transaction runs there."""
        station = self.station
        operative = payload["operationalStatus"] == "Operative"
        evse_id, connector_id = self._evse_ref(payload.get("evse"))
        if evse_id:
            evse = station.evses.get(evse_id)
            if evse is None or (connector_id and evse.connector(connector_id) is None):
                return {"status": "Rejected", "statusInfo": {"reasonCode": "UnknownEvse"}}
            targets = [evse]
            current = evse.connector(connector_id).operative if connector_id else evse.operative  # type: ignore[union-attr]
        else:
            targets = list(station.evses.values())
            current = station.station_operative
        if current == operative:
            return {"status": "Accepted"}  # already in that state
        busy = [e for e in targets if e.transaction is not None]
        if not operative and busy:
            for evse in busy:
                evse.scheduled_operative = False  # G03.FR.05: applied when its transaction ends
            if not evse_id:
                station.station_operative = False
                station.store.save_availability(0, 0, False)
                idle = [e for e in targets if e.transaction is None]
                self.after(functools.partial(_report_all, station, idle))
            return {"status": "Scheduled"}
        # In force before the next request arrives (a RequestStartTransaction right after must
        # see it); the NotifyEvents follow the response.
        station.apply_availability(evse_id, connector_id, operative)
        self.after(functools.partial(station.set_availability, evse_id, connector_id, operative))
        return {"status": "Accepted"}

    # ------------------------------------------------------------------ K: smart charging

    def on_SetChargingProfile(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self.station.smart.set_charging_profile(payload)

    def on_ClearChargingProfile(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self.station.smart.clear(payload)

    def on_GetChargingProfiles(self, payload: dict[str, Any]) -> dict[str, Any]:
        """K09: the answer says whether there is anything; the reports follow it."""
        reports = self.station.smart.reports(payload)
        if not reports:
            return {"status": "NoProfiles"}
        conn = self.station.connection

        async def send_reports() -> None:
            for report in reports:
                if conn is None or conn.closed:
                    return
                await conn.call("ReportChargingProfiles", report)

        self.after(send_reports)
        return {"status": "Accepted"}

    def on_GetCompositeSchedule(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self.station.smart.composite(payload)

    def on_UpdateDynamicSchedule(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self.station.smart.update_dynamic(payload)

    def on_UsePriorityCharging(self, payload: dict[str, Any]) -> dict[str, Any]:
        smart = self.station.smart
        tx_id = payload["transactionId"]
        before = smart.store.priority_active(tx_id)
        answer = smart.use_priority_charging(payload)
        if smart.store.priority_active(tx_id) != before:

            async def notify() -> None:  # K21.FR.05/08: after the response
                smart.notify_priority(tx_id, not before)

            self.after(notify)
        return answer

    # ------------------------------------------------------------------ Q: V2X

    def on_NotifyAllowedEnergyTransfer(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Q02.FR.06/07: accepted, then the EV's renegotiated needs follow the response."""
        smart = self.station.smart
        answer = smart.notify_allowed_energy_transfer(payload)
        if answer["status"] != "Accepted":
            return answer
        evse = next(
            e
            for e in self.station.evses.values()
            if e.transaction is not None and e.transaction.transaction_id == payload["transactionId"]
        )

        async def renegotiate() -> None:
            needs = smart.charging_needs(evse)
            if needs is not None:
                await smart.send("NotifyEVChargingNeeds", needs)

        self.after(renegotiate)
        return answer

    def on_AFRRSignal(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self.station.smart.afrr(payload)

    # ------------------------------------------------------------------ L: firmware

    def on_UpdateFirmware(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self.firmware.request(payload)  # L01: app/station/firmware.py

    # ------------------------------------------------------------------ H: reservation

    def on_ReserveNow(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self.station.reserve(payload)

    def on_CancelReservation(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self.station.cancel_reservation(payload["reservationId"])

    # ------------------------------------------------------------------ N: monitoring

    def on_SetVariableMonitoring(self, payload: dict[str, Any]) -> dict[str, Any]:
        answer = self.station.monitoring.set_variable_monitoring(payload)
        self.after(self._check_monitors)  # a new boundary may already be crossed (N07.FR.11)
        return answer

    def on_ClearVariableMonitoring(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self.station.monitoring.clear_variable_monitoring(payload)

    def on_SetMonitoringBase(self, payload: dict[str, Any]) -> dict[str, Any]:
        answer = self.station.monitoring.set_monitoring_base(payload)
        self.after(self._check_monitors)  # reactivated monitors judge the values of now
        return answer

    async def _check_monitors(self) -> None:
        self.station.monitoring.check_all()

    def on_SetMonitoringLevel(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self.station.monitoring.set_monitoring_level(payload)

    def on_GetMonitoringReport(self, payload: dict[str, Any]) -> dict[str, Any]:
        """N02: the answer first, then the NotifyMonitoringReport parts."""
        station = self.station
        entries = station.monitoring.report(payload, station.version)
        if entries is None:
            return {"status": "NotSupported"}  # N02.FR.02
        if not entries:
            return {"status": "EmptyResultSet"}  # N02.FR.10
        parts = station.monitoring.report_requests(payload["requestId"], entries)

        async def send_report() -> None:
            conn = station.connection
            for part in parts:
                if conn is None or conn.closed:
                    return
                await conn.call("NotifyMonitoringReport", part)

        self.after(send_report)
        return {"status": "Accepted"}

    # ------------------------------------------------------------------ P: data transfer

    def on_DataTransfer(self, payload: dict[str, Any]) -> dict[str, Any]:
        """P01: answers configured per vendor (and message) id in the station's profile."""
        answers = self.station.config.data_transfer
        vendor, message = payload["vendorId"], payload.get("messageId")
        if message is not None and f"{vendor}/{message}" in answers:
            return dict(answers[f"{vendor}/{message}"])
        if vendor in answers:
            if message is not None and any(key.startswith(f"{vendor}/") for key in answers):
                return {"status": "UnknownMessageId"}
            return dict(answers[vendor])
        if any(key.startswith(f"{vendor}/") for key in answers):
            return {"status": "UnknownMessageId"}
        return {"status": "UnknownVendorId"}


def _usable(station: Station, evse: Evse) -> bool:
    return station.station_operative and evse.operative and not evse.faulted


async def _report_all(station: Station, evses: list[Evse]) -> None:
    for evse in evses:
        await station.report_status(evse)
