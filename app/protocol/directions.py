"""Which side sends each action (Part 2 use cases; ocpp21-notes §2): one table for the whole app.

The schema files say what an action carries, not who sends it. The CSMS console offers only
what a CSMS may send, and the linter flags a frame that travels the wrong way; both read these
sets. DataTransfer goes both ways and is in neither.
"""

from __future__ import annotations

from app.protocol import schemas
from app.protocol.schemas import OcppVersion

STATION_TO_CSMS_2X = frozenset({
    "Authorize", "BatterySwap", "BootNotification", "ClearedChargingLimit", "ClosePeriodicEventStream",
    "FirmwareStatusNotification", "Get15118EVCertificate", "GetCertificateChainStatus",
    "GetCertificateStatus", "Heartbeat", "LogStatusNotification", "MeterValues", "NotifyChargingLimit",
    "NotifyCustomerInformation", "NotifyDERAlarm", "NotifyDERStartStop", "NotifyDisplayMessages",
    "NotifyEVChargingNeeds", "NotifyEVChargingSchedule", "NotifyEvent", "NotifyMonitoringReport",
    "NotifyPeriodicEventStream", "NotifyPriorityCharging", "NotifyReport", "NotifySettlement",
    "OpenPeriodicEventStream", "PublishFirmwareStatusNotification", "PullDynamicScheduleUpdate",
    "ReportChargingProfiles", "ReportDERControl", "ReservationStatusUpdate", "SecurityEventNotification",
    "SignCertificate", "StatusNotification", "TransactionEvent", "VatNumberValidation",
})  # fmt: skip
CSMS_TO_STATION_2X = frozenset({
    "AFRRSignal", "AdjustPeriodicEventStream", "CancelReservation", "CertificateSigned",
    "ChangeAvailability", "ChangeTransactionTariff", "ClearCache", "ClearChargingProfile",
    "ClearDERControl", "ClearDisplayMessage", "ClearTariffs", "ClearVariableMonitoring", "CostUpdated",
    "CustomerInformation", "DeleteCertificate", "GetBaseReport", "GetChargingProfiles",
    "GetCompositeSchedule", "GetDERControl", "GetDisplayMessages", "GetInstalledCertificateIds",
    "GetLocalListVersion", "GetLog", "GetMonitoringReport", "GetPeriodicEventStream", "GetReport",
    "GetTariffs", "GetTransactionStatus", "GetVariables", "InstallCertificate",
    "NotifyAllowedEnergyTransfer", "NotifyWebPaymentStarted", "PublishFirmware", "RequestBatterySwap",
    "RequestStartTransaction", "RequestStopTransaction", "ReserveNow", "Reset", "SendLocalList",
    "SetChargingProfile", "SetDERControl", "SetDefaultTariff", "SetDisplayMessage", "SetMonitoringBase",
    "SetMonitoringLevel", "SetNetworkProfile", "SetVariableMonitoring", "SetVariables", "TriggerMessage",
    "UnlockConnector", "UnpublishFirmware", "UpdateDynamicSchedule", "UpdateFirmware",
    "UsePriorityCharging",
})  # fmt: skip
# OCPP-J 1.6 plus its security whitepaper messages (the schema set ships both).
STATION_TO_CSMS_16 = frozenset({
    "Authorize", "BootNotification", "DiagnosticsStatusNotification", "FirmwareStatusNotification",
    "Heartbeat", "LogStatusNotification", "MeterValues", "SecurityEventNotification",
    "SignCertificate", "SignedFirmwareStatusNotification", "StartTransaction", "StatusNotification",
    "StopTransaction",
})  # fmt: skip
BOTH_WAYS = frozenset({"DataTransfer"})


def csms_actions(version: OcppVersion) -> list[str]:
    """The actions a CSMS may send to a station of this version, sorted by name."""
    initiated = STATION_TO_CSMS_16 if version is OcppVersion.V16 else STATION_TO_CSMS_2X
    return sorted(schemas.actions(version) - initiated)
