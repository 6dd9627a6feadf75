"""What a real OCPP 2.1 AC charging station exposes in its device model, as plain data.

Two parts:

* `CATALOG` is generated from the Part 2 appendix `dm_components_vars.csv` (names, data
  types, units, required-ness). It lives in this file so the app never needs the spec
  directory at runtime. Regenerate it after a spec update with::

      .venv/bin/python -m app.station.standard_components regenerate \
          ../shared/spec/ocpp-2.1/Appendices_CSV_v2.0/dm_components_vars.csv

* `standard_specs()` lists the variables an emulated station carries, with the
  mutability, limits and defaults a common charger ships with. Data types and units come
  from `CATALOG` unless a spec sets them: where the Part 2 (or Part 4) variable tables give
  a type or unit the CSV lacks or disagrees with, the table wins and the line says which.

No logic lives here; `app.station.device_model` turns these specs into a `DeviceModel`.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, NamedTuple

from app.station.sampled_values import SUPPORTED_MEASURANDS


class CatalogEntry(NamedTuple):
    """One row of the appendix CSV, normalised to the wire's spelling."""

    required: str  # "yes", "no" or "V2X", as the appendix says
    data_type: str  # DataEnumType spelling (passwordString/identifierString become string)
    unit: str | None  # first unit when the appendix offers several ("W, kW" -> "W")
    attributes: tuple[str, ...]  # attribute types the appendix names for the variable, else ()


# Keys are (component, variable, variable instance). Component "*" marks the appendix's
# <generic> variables (usable on any component); instance "*" marks a placeholder such as
# <language> or <OperationMode>.
# fmt: off
# --- BEGIN GENERATED CATALOG (do not edit: run `python -m app.station.standard_components regenerate`) ---
CATALOG: Final[dict[tuple[str, str, str | None], CatalogEntry]] = {
    ("*", "ACCurrent", None): CatalogEntry("no", "decimal", "A", ()),
    ("*", "Active", None): CatalogEntry("no", "boolean", None, ()),
    ("*", "ACVoltage", None): CatalogEntry("no", "decimal", "V", ()),
    ("*", "AllowReset", None): CatalogEntry("no", "boolean", None, ()),
    ("*", "Angle", None): CatalogEntry("no", "decimal", "Deg", ()),
    ("*", "Attempts", None): CatalogEntry("no", "integer", None, ()),
    ("*", "Available", None): CatalogEntry("no", "boolean", None, ()),
    ("*", "Certificate", None): CatalogEntry("no", "string", None, ()),
    ("*", "Color", None): CatalogEntry("no", "string", None, ()),
    ("*", "Complete", None): CatalogEntry("no", "boolean", None, ()),
    ("*", "ConnectedTime", None): CatalogEntry("no", "decimal", "s", ()),
    ("*", "Count", None): CatalogEntry("no", "integer", None, ()),
    ("*", "CurrentImbalance", None): CatalogEntry("no", "decimal", "Percent", ()),
    ("*", "DataText", None): CatalogEntry("no", "string", None, ()),
    ("*", "DateTime", None): CatalogEntry("no", "dateTime", None, ()),
    ("*", "DCCurrent", None): CatalogEntry("no", "decimal", "A", ()),
    ("*", "DCVoltage", None): CatalogEntry("no", "decimal", "V", ()),
    ("*", "ECVariant", None): CatalogEntry("no", "string", None, ()),
    ("*", "Enabled", None): CatalogEntry("no", "boolean", None, ()),
    ("*", "Energy", None): CatalogEntry("no", "decimal", "Wh", ()),
    ("*", "Entries", None): CatalogEntry("no", "integer", None, ()),
    ("*", "Fallback", None): CatalogEntry("no", "boolean", None, ()),
    ("*", "FanSpeed", None): CatalogEntry("no", "decimal", "RPM", ()),
    ("*", "FirmwareVersion", None): CatalogEntry("no", "string", None, ()),
    ("*", "Force", None): CatalogEntry("no", "decimal", "N", ()),
    ("*", "Formats", None): CatalogEntry("no", "MemberList", None, ()),
    ("*", "Frequency", None): CatalogEntry("no", "decimal", "Hz", ()),
    ("*", "FuseRating", None): CatalogEntry("no", "decimal", "A", ()),
    ("*", "Height", None): CatalogEntry("no", "decimal", "m", ()),
    ("*", "Humidity", None): CatalogEntry("no", "decimal", "RH", ()),
    ("*", "Hysteresis", None): CatalogEntry("no", "decimal", "Percent", ()),
    ("*", "ICCID", None): CatalogEntry("no", "string", None, ()),
    ("*", "Impedance", None): CatalogEntry("no", "decimal", "Ohm", ()),
    ("*", "IMSI", None): CatalogEntry("no", "string", None, ()),
    ("*", "Interval", None): CatalogEntry("no", "integer", "s", ()),
    ("*", "Length", None): CatalogEntry("no", "decimal", "m", ()),
    ("*", "Light", None): CatalogEntry("no", "decimal", "lx", ()),
    ("*", "Manufacturer", None): CatalogEntry("no", "string", None, ()),
    ("*", "Message", None): CatalogEntry("no", "string", None, ()),
    ("*", "MinimumStatusDuration", None): CatalogEntry("no", "integer", "s", ()),
    ("*", "Mode", None): CatalogEntry("no", "string", None, ()),
    ("*", "Model", None): CatalogEntry("no", "string", None, ()),
    ("*", "NetworkAddress", None): CatalogEntry("no", "string", None, ()),
    ("*", "Operated", None): CatalogEntry("no", "boolean", None, ()),
    ("*", "OperatingTimes", None): CatalogEntry("no", "string", None, ()),
    ("*", "Overload", None): CatalogEntry("no", "boolean", None, ()),
    ("*", "Percent", None): CatalogEntry("no", "decimal", "Percent", ()),
    ("*", "PhaseRotation", None): CatalogEntry("no", "OptionList", None, ()),
    ("*", "PostChargingTime", None): CatalogEntry("no", "decimal", "s", ()),
    ("*", "Power", None): CatalogEntry("no", "decimal", "W", ()),
    ("*", "Problem", None): CatalogEntry("no", "boolean", None, ()),
    ("*", "Protecting", None): CatalogEntry("no", "boolean", None, ()),
    ("*", "SerialNumber", None): CatalogEntry("no", "string", None, ()),
    ("*", "SignalStrength", None): CatalogEntry("no", "decimal", "dBm", ()),
    ("*", "State", None): CatalogEntry("no", "string", None, ()),
    ("*", "StateOfCharge", None): CatalogEntry("no", "decimal", "Percent", ()),
    ("*", "Storage", None): CatalogEntry("no", "integer", "B", ()),
    ("*", "SupplyPhases", None): CatalogEntry("no", "integer", None, ()),
    ("*", "Suspending", None): CatalogEntry("no", "boolean", None, ()),
    ("*", "Suspension", None): CatalogEntry("no", "boolean", None, ()),
    ("*", "Temperature", None): CatalogEntry("no", "decimal", "Celsius", ()),
    ("*", "Time", None): CatalogEntry("no", "dateTime", None, ()),
    ("*", "Timeout", None): CatalogEntry("no", "decimal", "s", ()),
    ("*", "Tries", None): CatalogEntry("no", "integer", None, ()),
    ("*", "Tripped", None): CatalogEntry("no", "boolean", None, ()),
    ("*", "VendorName", None): CatalogEntry("no", "string", None, ()),
    ("*", "VersionDate", None): CatalogEntry("no", "dateTime", None, ()),
    ("*", "VersionNumber", None): CatalogEntry("no", "string", None, ()),
    ("*", "VoltageImbalance", None): CatalogEntry("no", "decimal", "Percent", ()),
    ("*", "CommunicationParent", None): CatalogEntry("no", "string", None, ()),
    ("*", "ElectricalParent", None): CatalogEntry("no", "string", None, ()),
    ("*", "LogicalParent", None): CatalogEntry("no", "string", None, ()),
    ("*", "PhysicalParent", None): CatalogEntry("no", "string", None, ()),
    ("*", "Label", None): CatalogEntry("no", "string", None, ()),
    ("AlignedDataCtrlr", "Available", None): CatalogEntry("no", "boolean", None, ()),
    ("AlignedDataCtrlr", "Enabled", None): CatalogEntry("no", "boolean", None, ()),
    ("AlignedDataCtrlr", "Interval", None): CatalogEntry("yes", "integer", "s", ()),
    ("AlignedDataCtrlr", "Measurands", None): CatalogEntry("yes", "MemberList", None, ()),
    ("AlignedDataCtrlr", "SendDuringIdle", None): CatalogEntry("no", "boolean", None, ()),
    ("AlignedDataCtrlr", "SignReadings", None): CatalogEntry("no", "boolean", None, ()),
    ("AlignedDataCtrlr", "SignUpdatedReadings", None): CatalogEntry("no", "boolean", None, ()),
    ("AlignedDataCtrlr", "TxEndedInterval", None): CatalogEntry("yes", "integer", "s", ()),
    ("AlignedDataCtrlr", "TxEndedMeasurands", None): CatalogEntry("yes", "MemberList", None, ()),
    ("AlignedDataCtrlr", "UpstreamInterval", None): CatalogEntry("no", "integer", "s", ()),
    ("AlignedDataCtrlr", "UpstreamMeasurands", None): CatalogEntry("no", "MemberList", None, ()),
    ("AuthCacheCtrlr", "Available", None): CatalogEntry("no", "boolean", None, ()),
    ("AuthCacheCtrlr", "Enabled", None): CatalogEntry("no", "boolean", None, ()),
    ("AuthCacheCtrlr", "LifeTime", None): CatalogEntry("no", "integer", None, ()),
    ("AuthCacheCtrlr", "Policy", None): CatalogEntry("no", "OptionList", None, ()),
    ("AuthCacheCtrlr", "Storage", None): CatalogEntry("no", "integer", "B", ()),
    ("AuthCacheCtrlr", "DisablePostAuthorize", None): CatalogEntry("no", "boolean", None, ()),
    ("AuthCtrlr", "AdditionalInfoItemsPerMessage", None): CatalogEntry("no", "integer", None, ()),
    ("AuthCtrlr", "AuthorizeRemoteStart", None): CatalogEntry("yes", "boolean", None, ()),
    ("AuthCtrlr", "Enabled", None): CatalogEntry("no", "boolean", None, ()),
    ("AuthCtrlr", "LocalAuthorizeOffline", None): CatalogEntry("yes", "boolean", None, ()),
    ("AuthCtrlr", "LocalPreAuthorize", None): CatalogEntry("yes", "boolean", None, ()),
    ("AuthCtrlr", "MasterPassGroupId", None): CatalogEntry("no", "string", None, ()),
    ("AuthCtrlr", "OfflineTxForUnknownIdEnabled", None): CatalogEntry("no", "boolean", None, ()),
    ("AuthCtrlr", "DisableRemoteAuthorization", None): CatalogEntry("no", "boolean", None, ()),
    ("AuthCtrlr", "SupportedIdTokenType", None): CatalogEntry("no", "MemberList", None, ()),
    ("CHAdeMOCtrlr", "SelftestActive", None): CatalogEntry("no", "boolean", None, ()),
    ("CHAdeMOCtrlr", "CHAdeMOProtocolNumber", None): CatalogEntry("no", "integer", None, ()),
    ("CHAdeMOCtrlr", "VehicleStatus", None): CatalogEntry("no", "boolean", None, ()),
    ("CHAdeMOCtrlr", "DynamicControl", None): CatalogEntry("no", "boolean", None, ()),
    ("CHAdeMOCtrlr", "HighCurrentControl", None): CatalogEntry("no", "boolean", None, ()),
    ("CHAdeMOCtrlr", "HighVoltageControl", None): CatalogEntry("no", "boolean", None, ()),
    ("CHAdeMOCtrlr", "AutoManufacturerCode", None): CatalogEntry("no", "integer", None, ()),
    ("ChargingStation", "AllowNewSessionsPendingFirmwareUpdate", None):
        CatalogEntry("no", "boolean", None, ()),
    ("ChargingStation", "AvailabilityState", None): CatalogEntry("yes", "OptionList", None, ()),
    ("ChargingStation", "Available", None): CatalogEntry("yes", "boolean", None, ()),
    ("ChargingStation", "Model", None): CatalogEntry("no", "string", None, ()),
    ("ChargingStation", "SupplyPhases", None): CatalogEntry("yes", "integer", None, ()),
    ("ChargingStation", "VendorName", None): CatalogEntry("no", "string", None, ()),
    ("ChargingStation", "ActiveTransactionId", None): CatalogEntry("no", "string", None, ()),
    ("ClockCtrlr", "DateTime", None): CatalogEntry("yes", "dateTime", None, ()),
    ("ClockCtrlr", "NextTimeOffsetTransitionDateTime", None): CatalogEntry("no", "dateTime", None, ()),
    ("ClockCtrlr", "NtpServerUri", None): CatalogEntry("no", "string", None, ()),
    ("ClockCtrlr", "NtpSource", None): CatalogEntry("no", "OptionList", None, ()),
    ("ClockCtrlr", "TimeAdjustmentReportingThreshold", None): CatalogEntry("no", "integer", None, ()),
    ("ClockCtrlr", "TimeOffset", None): CatalogEntry("no", "string", None, ()),
    ("ClockCtrlr", "TimeSource", None): CatalogEntry("yes", "SequenceList", None, ()),
    ("ClockCtrlr", "TimeZone", None): CatalogEntry("no", "string", None, ()),
    ("ConnectedEV", "ProtocolAgreed", None): CatalogEntry("V2X", "string", None, ()),
    ("ConnectedEV", "ProtocolSupportedByEV", "*"): CatalogEntry("V2X", "string", None, ()),
    ("ConnectedEV", "VehicleID", None): CatalogEntry("V2X", "string", None, ()),
    ("ConnectedEV", "VehicleCertificate", "Leaf"): CatalogEntry("V2X", "string", None, ()),
    ("ConnectedEV", "VehicleCertificate", "SubCA1"): CatalogEntry("V2X", "string", None, ()),
    ("ConnectedEV", "VehicleCertificate", "SubCA2"): CatalogEntry("V2X", "string", None, ()),
    ("ConnectedEV", "VehicleCertificate", "Root"): CatalogEntry("V2X", "string", None, ()),
    ("ConnectedEV", "ACCurrent", None): CatalogEntry("no", "decimal", "A", ("MinSet", "MaxSet")),
    ("ConnectedEV", "DCCurrent", None): CatalogEntry("no", "decimal", "A", ("MinSet", "MaxSet", "Target")),
    ("ConnectedEV", "DCVoltage", None): CatalogEntry("no", "decimal", "V", ("MinSet", "MaxSet", "Target")),
    ("ConnectedEV", "Power", None): CatalogEntry("no", "decimal", "W", ("MaxSet",)),
    ("ConnectedEV", "DischargePower", None): CatalogEntry("no", "decimal", "W", ("MaxSet",)),
    ("ConnectedEV", "EnergyImport", None):
        CatalogEntry("no", "decimal", "Wh", ("MaxSet", "MinSet", "Target")),
    ("ConnectedEV", "BatteryCapacity", None): CatalogEntry("no", "decimal", "Wh", ()),
    ("ConnectedEV", "DepartureTime", None): CatalogEntry("no", "dateTime", None, ()),
    ("ConnectedEV", "RemainingTimeBulk", None): CatalogEntry("no", "integer", "s", ()),
    ("ConnectedEV", "RemainingTimeFull", None): CatalogEntry("no", "integer", "s", ()),
    ("ConnectedEV", "StateOfChargeBulk", None): CatalogEntry("no", "integer", "Percent", ()),
    ("ConnectedEV", "StateOfCharge", None): CatalogEntry("no", "integer", "Percent", ("MaxSet", "Actual")),
    ("ConnectedEV", "ChargingCompleteBulk", None): CatalogEntry("no", "boolean", None, ()),
    ("ConnectedEV", "ChargingCompleteFull", None): CatalogEntry("no", "boolean", None, ()),
    ("ConnectedEV", "ChargingState", None): CatalogEntry("no", "OptionList", None, ()),
    ("Connector", "AvailabilityState", None): CatalogEntry("no", "OptionList", None, ()),
    ("Connector", "Available", None): CatalogEntry("yes", "boolean", None, ()),
    ("Connector", "ChargeProtocol", None): CatalogEntry("no", "string", None, ()),
    ("Connector", "ConnectorType", None): CatalogEntry("yes", "string", None, ()),
    ("Connector", "SupplyPhases", None): CatalogEntry("yes", "integer", None, ()),
    ("Connector", "SlotStatus", None): CatalogEntry("no", "OptionList", None, ()),
    ("CPPWMController", "State", None): CatalogEntry("no", "string", None, ()),
    ("CustomizationCtrlr", "CustomImplementationEnabled", "*"): CatalogEntry("no", "boolean", None, ()),
    ("CustomizationCtrlr", "CustomTriggers", None): CatalogEntry("no", "MemberList", None, ()),
    ("DeviceDataCtrlr", "BytesPerMessage", "GetReport"): CatalogEntry("yes", "integer", None, ()),
    ("DeviceDataCtrlr", "BytesPerMessage", "GetVariables"): CatalogEntry("yes", "integer", None, ()),
    ("DeviceDataCtrlr", "BytesPerMessage", "SetVariables"): CatalogEntry("yes", "integer", None, ()),
    ("DeviceDataCtrlr", "ConfigurationValueSize", None): CatalogEntry("no", "integer", None, ()),
    ("DeviceDataCtrlr", "ItemsPerMessage", "GetReport"): CatalogEntry("yes", "integer", None, ()),
    ("DeviceDataCtrlr", "ItemsPerMessage", "GetVariables"): CatalogEntry("yes", "integer", None, ()),
    ("DeviceDataCtrlr", "ItemsPerMessage", "SetVariables"): CatalogEntry("yes", "integer", None, ()),
    ("DeviceDataCtrlr", "ReportingValueSize", None): CatalogEntry("no", "integer", None, ()),
    ("DeviceDataCtrlr", "ValueSize", None): CatalogEntry("no", "integer", None, ()),
    ("DisplayMessageCtrlr", "Available", None): CatalogEntry("no", "boolean", None, ()),
    ("DisplayMessageCtrlr", "DisplayMessages", None): CatalogEntry("yes", "integer", None, ()),
    ("DisplayMessageCtrlr", "Enabled", None): CatalogEntry("no", "boolean", None, ()),
    ("DisplayMessageCtrlr", "SupportedStates", None): CatalogEntry("yes", "MemberList", None, ()),
    ("DisplayMessageCtrlr", "SupportedFormats", None): CatalogEntry("yes", "MemberList", None, ()),
    ("DisplayMessageCtrlr", "SupportedPriorities", None): CatalogEntry("yes", "MemberList", None, ()),
    ("DisplayMessageCtrlr", "Language", None): CatalogEntry("yes", "OptionList", None, ()),
    ("EVSE", "AllowReset", None): CatalogEntry("no", "boolean", None, ()),
    ("EVSE", "AvailabilityState", None): CatalogEntry("yes", "OptionList", None, ()),
    ("EVSE", "Available", None): CatalogEntry("yes", "boolean", None, ()),
    ("EVSE", "EvseId", None): CatalogEntry("no", "string", None, ()),
    ("EVSE", "Power", None): CatalogEntry("yes", "decimal", "W", ()),
    ("EVSE", "DischargePower", None): CatalogEntry("V2X", "decimal", "W", ()),
    ("EVSE", "SupplyPhases", None): CatalogEntry("yes", "integer", None, ()),
    ("EVSE", "DCInputPhaseControl", None): CatalogEntry("no", "boolean", None, ()),
    ("EVSE", "ISO15118EvseId", None): CatalogEntry("no", "string", None, ()),
    ("EVSE", "ChargingState", None): CatalogEntry("no", "OptionList", None, ()),
    ("EVSE", "ActiveTransactionId", None): CatalogEntry("no", "string", None, ()),
    ("FiscalMetering", "EnergyExport", None): CatalogEntry("no", "decimal", "Wh", ()),
    ("FiscalMetering", "EnergyExportRegister", None): CatalogEntry("no", "decimal", "Wh", ()),
    ("FiscalMetering", "EnergyImport", None): CatalogEntry("no", "decimal", "Wh", ()),
    ("FiscalMetering", "EnergyImportRegister", None): CatalogEntry("no", "decimal", "Wh", ()),
    ("FiscalMetering", "PublicKey", None): CatalogEntry("no", "string", None, ()),
    ("ISO15118Ctrlr", "CentralContractValidationAllowed", None): CatalogEntry("no", "boolean", None, ()),
    ("ISO15118Ctrlr", "ContractValidationOffline", None): CatalogEntry("yes", "boolean", None, ()),
    ("ISO15118Ctrlr", "SeccId", None): CatalogEntry("no", "string", None, ()),
    ("ISO15118Ctrlr", "MaxScheduleEntries", None): CatalogEntry("no", "integer", None, ()),
    ("ISO15118Ctrlr", "RequestedEnergyTransferMode", None): CatalogEntry("no", "OptionList", None, ()),
    ("ISO15118Ctrlr", "RequestMeteringReceipt", None): CatalogEntry("no", "boolean", None, ()),
    ("ISO15118Ctrlr", "CountryName", None): CatalogEntry("no", "string", None, ()),
    ("ISO15118Ctrlr", "OrganizationName", None): CatalogEntry("no", "string", None, ()),
    ("ISO15118Ctrlr", "PnCEnabled", None): CatalogEntry("no", "boolean", None, ()),
    ("ISO15118Ctrlr", "V2GCertificateInstallationEnabled", None): CatalogEntry("no", "boolean", None, ()),
    ("ISO15118Ctrlr", "ContractCertificateInstallationEnabled", None):
        CatalogEntry("no", "boolean", None, ()),
    ("ISO15118Ctrlr", "CertificateStatusSource", None): CatalogEntry("no", "MemberList", None, ()),
    ("ISO15118Ctrlr", "NotificationDelay", None): CatalogEntry("no", "integer", "s", ()),
    ("ISO15118Ctrlr", "ServiceRenegotiationSupport", None): CatalogEntry("no", "boolean", None, ()),
    ("ISO15118Ctrlr", "SupportedProviders", None): CatalogEntry("no", "string", None, ()),
    ("ISO15118Ctrlr", "MaxPriceElements", None): CatalogEntry("no", "integer", None, ()),
    ("ISO15118Ctrlr", "ProtocolSupported", "*"): CatalogEntry("no", "string", None, ()),
    ("LocalAuthListCtrlr", "Available", None): CatalogEntry("no", "boolean", None, ()),
    ("LocalAuthListCtrlr", "BytesPerMessage", None): CatalogEntry("yes", "integer", None, ()),
    ("LocalAuthListCtrlr", "Enabled", None): CatalogEntry("no", "boolean", None, ()),
    ("LocalAuthListCtrlr", "Entries", None): CatalogEntry("yes", "integer", None, ()),
    ("LocalAuthListCtrlr", "ItemsPerMessage", None): CatalogEntry("yes", "integer", None, ()),
    ("LocalAuthListCtrlr", "Storage", None): CatalogEntry("no", "integer", "B", ()),
    ("LocalAuthListCtrlr", "DisablePostAuthorize", None): CatalogEntry("no", "boolean", None, ()),
    ("LocalAuthListCtrlr", "SupportsExpiryDateTime", None): CatalogEntry("no", "boolean", None, ()),
    ("LocalEnergyStorage", "Capacity", None): CatalogEntry("no", "decimal", "Wh", ()),
    ("MonitoringCtrlr", "Available", None): CatalogEntry("no", "boolean", None, ()),
    ("MonitoringCtrlr", "BytesPerMessage", "ClearVariableMonitoring"):
        CatalogEntry("no", "integer", None, ()),
    ("MonitoringCtrlr", "BytesPerMessage", "SetVariableMonitoring"): CatalogEntry("yes", "integer", None, ()),
    ("MonitoringCtrlr", "Enabled", None): CatalogEntry("no", "boolean", None, ()),
    ("MonitoringCtrlr", "ItemsPerMessage", "ClearVariableMonitoring"):
        CatalogEntry("no", "integer", None, ()),
    ("MonitoringCtrlr", "ItemsPerMessage", "SetVariableMonitoring"): CatalogEntry("yes", "integer", None, ()),
    ("MonitoringCtrlr", "OfflineQueuingSeverity", None): CatalogEntry("no", "integer", None, ()),
    ("MonitoringCtrlr", "MonitoringBase", None): CatalogEntry("no", "OptionList", None, ()),
    ("MonitoringCtrlr", "MonitoringLevel", None): CatalogEntry("no", "integer", None, ()),
    ("MonitoringCtrlr", "ActiveMonitoringBase", None): CatalogEntry("no", "OptionList", None, ()),
    ("MonitoringCtrlr", "ActiveMonitoringLevel", None): CatalogEntry("no", "integer", None, ()),
    ("MonitoringCtrlr", "MaxPeriodicEventStreams", None): CatalogEntry("no", "integer", None, ()),
    ("OCPPCommCtrlr", "ActiveNetworkProfile", None): CatalogEntry("no", "string", None, ()),
    ("OCPPCommCtrlr", "FileTransferProtocols", None): CatalogEntry("yes", "MemberList", None, ()),
    ("OCPPCommCtrlr", "HeartbeatInterval", None): CatalogEntry("no", "integer", "s", ()),
    ("OCPPCommCtrlr", "MessageTimeout", "Default"): CatalogEntry("yes", "integer", "s", ()),
    ("OCPPCommCtrlr", "MessageAttemptInterval", "TransactionEvent"): CatalogEntry("yes", "integer", None, ()),
    ("OCPPCommCtrlr", "MessageAttempts", "TransactionEvent"): CatalogEntry("yes", "integer", None, ()),
    ("OCPPCommCtrlr", "NetworkConfigurationPriority", None): CatalogEntry("yes", "string", None, ()),
    ("OCPPCommCtrlr", "NetworkProfileConnectionAttempts", None): CatalogEntry("yes", "integer", None, ()),
    ("OCPPCommCtrlr", "OfflineThreshold", None): CatalogEntry("yes", "integer", "s", ()),
    ("OCPPCommCtrlr", "PublicKeyWithSignedMeterValue", None): CatalogEntry("no", "OptionList", None, ()),
    ("OCPPCommCtrlr", "QueueAllMessages", None): CatalogEntry("no", "boolean", None, ()),
    ("OCPPCommCtrlr", "ResetRetries", None): CatalogEntry("yes", "integer", None, ()),
    ("OCPPCommCtrlr", "RetryBackOffRandomRange", None): CatalogEntry("no", "integer", None, ()),
    ("OCPPCommCtrlr", "RetryBackOffRepeatTimes", None): CatalogEntry("no", "integer", None, ()),
    ("OCPPCommCtrlr", "RetryBackOffWaitMinimum", None): CatalogEntry("no", "integer", None, ()),
    ("OCPPCommCtrlr", "UnlockOnEVSideDisconnect", None): CatalogEntry("yes", "boolean", None, ()),
    ("OCPPCommCtrlr", "WebSocketPingInterval", None): CatalogEntry("no", "integer", "s", ()),
    ("OCPPCommCtrlr", "FieldLength", None): CatalogEntry("no", "integer", None, ()),
    ("OCPPCommCtrlr", "ExternalConfigChangeDate", None): CatalogEntry("no", "dateTime", None, ()),
    ("ReservationCtrlr", "Available", None): CatalogEntry("no", "boolean", None, ()),
    ("ReservationCtrlr", "Enabled", None): CatalogEntry("no", "boolean", None, ()),
    ("ReservationCtrlr", "NonEvseSpecific", None): CatalogEntry("no", "boolean", None, ()),
    ("SampledDataCtrlr", "Available", None): CatalogEntry("no", "boolean", None, ()),
    ("SampledDataCtrlr", "Enabled", None): CatalogEntry("no", "boolean", None, ()),
    ("SampledDataCtrlr", "SignReadings", None): CatalogEntry("no", "boolean", None, ()),
    ("SampledDataCtrlr", "TxEndedInterval", None): CatalogEntry("yes", "integer", "s", ()),
    ("SampledDataCtrlr", "TxEndedMeasurands", None): CatalogEntry("yes", "MemberList", None, ()),
    ("SampledDataCtrlr", "TxStartedMeasurands", None): CatalogEntry("yes", "MemberList", None, ()),
    ("SampledDataCtrlr", "TxUpdatedInterval", None): CatalogEntry("yes", "integer", "s", ()),
    ("SampledDataCtrlr", "TxUpdatedMeasurands", None): CatalogEntry("yes", "MemberList", None, ()),
    ("SampledDataCtrlr", "RegisterValuesWithoutPhases", None): CatalogEntry("no", "boolean", None, ()),
    ("SampledDataCtrlr", "UpstreamInterval", None): CatalogEntry("no", "integer", "s", ()),
    ("SampledDataCtrlr", "UpstreamMeasurands", None): CatalogEntry("no", "MemberList", None, ()),
    ("SecurityCtrlr", "AllowSecurityProfileDowngrade", None): CatalogEntry("no", "boolean", None, ()),
    ("SecurityCtrlr", "AdditionalRootCertificateCheck", None): CatalogEntry("no", "boolean", None, ()),
    ("SecurityCtrlr", "BasicAuthPassword", None): CatalogEntry("no", "string", None, ()),
    ("SecurityCtrlr", "CertificateEntries", None): CatalogEntry("yes", "integer", None, ()),
    ("SecurityCtrlr", "CertSigningRepeatTimes", None): CatalogEntry("no", "integer", None, ()),
    ("SecurityCtrlr", "CertSigningWaitMinimum", None): CatalogEntry("no", "integer", "s", ()),
    ("SecurityCtrlr", "Identity", None): CatalogEntry("no", "string", None, ()),
    ("SecurityCtrlr", "MaxCertificateChainSize", None): CatalogEntry("no", "integer", None, ()),
    ("SecurityCtrlr", "OrganizationName", None): CatalogEntry("yes", "string", None, ()),
    ("SecurityCtrlr", "SecurityProfile", None): CatalogEntry("yes", "integer", None, ()),
    ("SmartChargingCtrlr", "ACPhaseSwitchingSupported", None): CatalogEntry("no", "boolean", None, ()),
    ("SmartChargingCtrlr", "Available", None): CatalogEntry("no", "boolean", None, ()),
    ("SmartChargingCtrlr", "Enabled", None): CatalogEntry("no", "boolean", None, ()),
    ("SmartChargingCtrlr", "Entries", "ChargingProfiles"): CatalogEntry("yes", "integer", None, ()),
    ("SmartChargingCtrlr", "ExternalControlSignalsEnabled", None): CatalogEntry("no", "boolean", None, ()),
    ("SmartChargingCtrlr", "LimitChangeSignificance", None): CatalogEntry("yes", "decimal", "Percent", ()),
    ("SmartChargingCtrlr", "NotifyChargingLimitWithSchedules", None): CatalogEntry("no", "boolean", None, ()),
    ("SmartChargingCtrlr", "PeriodsPerSchedule", None): CatalogEntry("yes", "integer", None, ()),
    ("SmartChargingCtrlr", "Phases3to1", None): CatalogEntry("no", "boolean", None, ()),
    ("SmartChargingCtrlr", "ProfileStackLevel", None): CatalogEntry("yes", "integer", None, ()),
    ("SmartChargingCtrlr", "RateUnit", None): CatalogEntry("yes", "MemberList", None, ()),
    ("SmartChargingCtrlr", "ExternalConstraintsProfileDisallowed", None):
        CatalogEntry("no", "boolean", None, ()),
    ("SmartChargingCtrlr", "ChargingProfilePersistence", "TxProfile"):
        CatalogEntry("no", "boolean", None, ()),
    ("SmartChargingCtrlr", "ChargingProfilePersistence", "LocalGeneration"):
        CatalogEntry("no", "boolean", None, ()),
    ("SmartChargingCtrlr", "ChargingProfilePersistence", "ChargingStationExternalConstraints"):
        CatalogEntry("no", "boolean", None, ()),
    ("SmartChargingCtrlr", "SetpointPriority", None): CatalogEntry("no", "OptionList", None, ()),
    ("SmartChargingCtrlr", "MaxExternalConstraintsId", None): CatalogEntry("no", "integer", None, ()),
    ("SmartChargingCtrlr", "SupportedAdditionalPurposes", None): CatalogEntry("no", "MemberList", None, ()),
    ("SmartChargingCtrlr", "SupportsDynamicProfiles", None): CatalogEntry("no", "boolean", None, ()),
    ("SmartChargingCtrlr", "SupportsMaxOfflineDuration", None): CatalogEntry("no", "boolean", None, ()),
    ("SmartChargingCtrlr", "SupportsUseLocalTime", None): CatalogEntry("no", "boolean", None, ()),
    ("SmartChargingCtrlr", "SupportsRandomizedDelay", None): CatalogEntry("no", "boolean", None, ()),
    ("SmartChargingCtrlr", "SupportsLimitAtSoC", None): CatalogEntry("no", "boolean", None, ()),
    ("SmartChargingCtrlr", "SupportsEvseSleep", None): CatalogEntry("no", "boolean", None, ()),
    ("TariffCostCtrlr", "Available", "Tariff"): CatalogEntry("no", "boolean", None, ()),
    ("TariffCostCtrlr", "Available", "Cost"): CatalogEntry("no", "boolean", None, ()),
    ("TariffCostCtrlr", "Currency", None): CatalogEntry("yes", "string", None, ()),
    ("TariffCostCtrlr", "Enabled", "Tariff"): CatalogEntry("no", "boolean", None, ()),
    ("TariffCostCtrlr", "Enabled", "Cost"): CatalogEntry("no", "boolean", None, ()),
    ("TariffCostCtrlr", "Enabled", "RunningCost"): CatalogEntry("no", "boolean", None, ()),
    ("TariffCostCtrlr", "TariffFallbackMessage", "*"): CatalogEntry("yes", "string", None, ()),
    ("TariffCostCtrlr", "TotalCostFallbackMessage", "*"): CatalogEntry("yes", "string", None, ()),
    ("TariffCostCtrlr", "OfflineTariffFallbackMessage", "*"): CatalogEntry("no", "string", None, ()),
    ("TariffCostCtrlr", "Interval", "Tariff"): CatalogEntry("no", "integer", "s", ()),
    ("TariffCostCtrlr", "Interval", "Cost"): CatalogEntry("no", "integer", "s", ()),
    ("TariffCostCtrlr", "MaxElements", "Tariff"): CatalogEntry("no", "integer", None, ()),
    ("TariffCostCtrlr", "ConditionsSupported", "Tariff"): CatalogEntry("no", "boolean", None, ()),
    ("TariffCostCtrlr", "HandleFailedTariff", "Tariff"): CatalogEntry("no", "OptionList", None, ()),
    ("TokenReader", "Token", None): CatalogEntry("no", "string", None, ()),
    ("TokenReader", "TokenType", None): CatalogEntry("no", "OptionList", None, ()),
    ("TxCtrlr", "ChargingTime", None): CatalogEntry("no", "decimal", "s", ()),
    ("TxCtrlr", "EVConnectionTimeOut", None): CatalogEntry("yes", "integer", "s", ()),
    ("TxCtrlr", "MaxEnergyOnInvalidId", None): CatalogEntry("no", "integer", None, ()),
    ("TxCtrlr", "StopTxOnEVSideDisconnect", None): CatalogEntry("yes", "boolean", None, ()),
    ("TxCtrlr", "StopTxOnInvalidId", None): CatalogEntry("yes", "boolean", None, ()),
    ("TxCtrlr", "TxBeforeAcceptedEnabled", None): CatalogEntry("no", "boolean", None, ()),
    ("TxCtrlr", "TxStartPoint", None): CatalogEntry("yes", "MemberList", None, ()),
    ("TxCtrlr", "TxStopPoint", None): CatalogEntry("yes", "MemberList", None, ()),
    ("TxCtrlr", "ResumptionTimeout", None): CatalogEntry("no", "integer", "s", ()),
    ("TxCtrlr", "AllowEnergyTransferResumption", None): CatalogEntry("no", "boolean", None, ()),
    ("TxCtrlr", "SupportedLimits", None): CatalogEntry("no", "MemberList", None, ()),
    ("V2XChargingCtrlr", "Enabled", None): CatalogEntry("yes", "boolean", None, ()),
    ("V2XChargingCtrlr", "SupportedEnergyTransferModes", None): CatalogEntry("yes", "MemberList", None, ()),
    ("V2XChargingCtrlr", "SupportedOperationModes", None): CatalogEntry("yes", "MemberList", None, ()),
    ("V2XChargingCtrlr", "LocalFrequencyUpdateThreshold", None): CatalogEntry("no", "boolean", None, ()),
    ("V2XChargingCtrlr", "TxStartedMeasurands", "*"): CatalogEntry("no", "MemberList", None, ()),
    ("V2XChargingCtrlr", "TxEndedMeasurands", "*"): CatalogEntry("no", "MemberList", None, ()),
    ("V2XChargingCtrlr", "TxUpdatedMeasurands", "*"): CatalogEntry("no", "MemberList", None, ()),
    ("V2XChargingCtrlr", "TxEndedInterval", "*"): CatalogEntry("no", "integer", "s", ()),
    ("V2XChargingCtrlr", "TxUpdatedInterval", "*"): CatalogEntry("no", "integer", "s", ()),
    ("V2XChargingCtrlr", "LocalLoadBalancing", "UpperThreshold"): CatalogEntry("no", "decimal", "W", ()),
    ("V2XChargingCtrlr", "LocalLoadBalancing", "LowerThreshold"): CatalogEntry("no", "decimal", "W", ()),
    ("V2XChargingCtrlr", "LocalLoadBalancing", "UpperOffset"): CatalogEntry("no", "decimal", "W", ()),
    ("V2XChargingCtrlr", "LocalLoadBalancing", "LowerOffset"): CatalogEntry("no", "decimal", "W", ()),
    ("FrequencySimulator", "Enabled", None): CatalogEntry("no", "boolean", None, ()),
    ("FrequencySimulator", "DateTime", "Start"): CatalogEntry("no", "dateTime", None, ()),
    ("FrequencySimulator", "DateTime", "End"): CatalogEntry("no", "dateTime", None, ()),
    ("FrequencySimulator", "FrequencySchedule", None): CatalogEntry("no", "string", None, ()),
    ("DataCollector", "Enabled", None): CatalogEntry("no", "boolean", None, ()),
    ("DataCollector", "DateTime", "Start"): CatalogEntry("no", "dateTime", None, ()),
    ("DataCollector", "DateTime", "End"): CatalogEntry("no", "dateTime", None, ()),
    ("DataCollector", "SamplingInterval", None): CatalogEntry("no", "decimal", "s", ()),
    ("DataCollector", "SampledMeasurands", None): CatalogEntry("no", "MemberList", None, ()),
    ("DCDERCtrlr", "Enabled", None): CatalogEntry("no", "boolean", None, ()),
    ("DCDERCtrlr", "MaxW", None): CatalogEntry("yes", "decimal", "W", ()),
    ("DCDERCtrlr", "OverExcitedW", None): CatalogEntry("yes", "decimal", "W", ()),
    ("DCDERCtrlr", "OverExcitedPF", None): CatalogEntry("yes", "decimal", None, ()),
    ("DCDERCtrlr", "UnderExcitedW", None): CatalogEntry("yes", "decimal", "W", ()),
    ("DCDERCtrlr", "UnderExcitedPF", None): CatalogEntry("yes", "decimal", None, ()),
    ("DCDERCtrlr", "MaxVA", None): CatalogEntry("yes", "decimal", "VA", ()),
    ("DCDERCtrlr", "MaxVar", None): CatalogEntry("yes", "decimal", "var", ()),
    ("DCDERCtrlr", "MaxVarNeg", None): CatalogEntry("yes", "decimal", "var", ()),
    ("DCDERCtrlr", "MaxChargeRateW", None): CatalogEntry("yes", "decimal", "W", ()),
    ("DCDERCtrlr", "MaxChargeRateVA", None): CatalogEntry("yes", "decimal", "VA", ()),
    ("DCDERCtrlr", "VNom", None): CatalogEntry("no", "decimal", "V", ()),
    ("DCDERCtrlr", "MaxV", None): CatalogEntry("no", "decimal", "V", ()),
    ("DCDERCtrlr", "MinV", None): CatalogEntry("no", "decimal", "V", ()),
    ("DCDERCtrlr", "ModesSupported", None): CatalogEntry("yes", "MemberList", None, ()),
    ("DCDERCtrlr", "InverterManufacturer", None): CatalogEntry("yes", "string", None, ()),
    ("DCDERCtrlr", "InverterModel", None): CatalogEntry("yes", "string", None, ()),
    ("DCDERCtrlr", "InverterSerialNumber", None): CatalogEntry("no", "string", None, ()),
    ("DCDERCtrlr", "InverterSwVersion", None): CatalogEntry("yes", "string", None, ()),
    ("DCDERCtrlr", "InverterHwVersion", None): CatalogEntry("yes", "string", None, ()),
    ("DCDERCtrlr", "IslandingDetectionMethod", None): CatalogEntry("no", "OptionList", None, ()),
    ("DCDERCtrlr", "IslandingDetectionTripTime", None): CatalogEntry("no", "decimal", "s", ()),
    ("DCDERCtrlr", "ReactiveSusceptance", None): CatalogEntry("yes", "decimal", "s", ()),
    ("ACDERCtrlr", "ModesSupported", None): CatalogEntry("yes", "MemberList", None, ()),
    ("BatterySwapCtrlr", "TargetSoC", None): CatalogEntry("no", "integer", "Percent", ()),
    ("BatterySwapCtrlr", "MaxSoc", None): CatalogEntry("no", "integer", "Percent", ()),
    ("BatterySwapCtrlr", "IdToken", None): CatalogEntry("no", "string", None, ()),
    ("BatterySwapCtrlr", "Timeout", "In"): CatalogEntry("no", "integer", "s", ()),
    ("BatterySwapCtrlr", "Timeout", "Out"): CatalogEntry("no", "integer", "s", ()),
    ("BatteryCartridge", "SoC", None): CatalogEntry("no", "integer", "Percent", ()),
    ("BatteryCartridge", "SoH", None): CatalogEntry("no", "integer", "Percent", ()),
    ("BatteryCartridge", "WorkingMode", None): CatalogEntry("no", "OptionList", None, ()),
    ("NetworkConfiguration", "OcppCsmsUrl", None): CatalogEntry("yes", "string", None, ()),
    ("NetworkConfiguration", "OcppInterface", None): CatalogEntry("yes", "OptionList", None, ()),
    ("NetworkConfiguration", "OcppTransport", None): CatalogEntry("yes", "OptionList", None, ()),
    ("NetworkConfiguration", "OcppVersion", None): CatalogEntry("yes", "OptionList", None, ()),
    ("NetworkConfiguration", "MessageTimeout", None): CatalogEntry("yes", "integer", None, ()),
    ("NetworkConfiguration", "SecurityProfile", None): CatalogEntry("yes", "integer", None, ()),
    ("NetworkConfiguration", "Identity", None): CatalogEntry("no", "string", None, ()),
    ("NetworkConfiguration", "BasicAuthPassword", None): CatalogEntry("yes", "string", None, ()),
    ("NetworkConfiguration", "CsmsRootCertificateHashAlgorithm", None):
        CatalogEntry("no", "string", None, ()),
    ("NetworkConfiguration", "CsmsRootCertificateIssuerKeyHash", None):
        CatalogEntry("no", "string", None, ()),
    ("NetworkConfiguration", "CsmsRootCertificateIssuerNameHash", None):
        CatalogEntry("no", "string", None, ()),
    ("NetworkConfiguration", "CsmsRootCertificateSerialNumber", None): CatalogEntry("no", "string", None, ()),
    ("NetworkConfiguration", "VpnEnabled", None): CatalogEntry("yes", "boolean", None, ()),
    ("NetworkConfiguration", "VpnType", None): CatalogEntry("no", "string", None, ()),
    ("NetworkConfiguration", "VpnServer", None): CatalogEntry("no", "string", None, ()),
    ("NetworkConfiguration", "VpnUser", None): CatalogEntry("no", "string", None, ()),
    ("NetworkConfiguration", "VpnGroup", None): CatalogEntry("no", "string", None, ()),
    ("NetworkConfiguration", "VpnPassword", None): CatalogEntry("no", "string", None, ()),
    ("NetworkConfiguration", "VpnKey", None): CatalogEntry("no", "string", None, ()),
    ("NetworkConfiguration", "ApnEnabled", None): CatalogEntry("yes", "boolean", None, ()),
    ("NetworkConfiguration", "Apn", None): CatalogEntry("no", "string", None, ()),
    ("NetworkConfiguration", "ApnUserName", None): CatalogEntry("no", "string", None, ()),
    ("NetworkConfiguration", "ApnPassword", None): CatalogEntry("no", "string", None, ()),
    ("NetworkConfiguration", "SimPin", None): CatalogEntry("no", "string", None, ()),
    ("NetworkConfiguration", "PreferredNetwork", None): CatalogEntry("no", "string", None, ()),
    ("NetworkConfiguration", "UseOnlyPreferredNetwork", None): CatalogEntry("no", "boolean", None, ()),
    ("NetworkConfiguration", "ApnAuthentication", None): CatalogEntry("no", "string", None, ()),
    ("PaymentCtrlr", "Enabled", None): CatalogEntry("yes", "boolean", None, ()),
    ("PaymentCtrlr", "Problem", None): CatalogEntry("yes", "boolean", None, ()),
    ("PaymentCtrlr", "AuthorizeDirectPayment", None): CatalogEntry("yes", "boolean", None, ()),
    ("PaymentCtrlr", "AuthorizationAmount", None): CatalogEntry("yes", "decimal", None, ()),
    ("PaymentCtrlr", "IncrementalAuthorizationAmount", None): CatalogEntry("no", "decimal", None, ()),
    ("PaymentCtrlr", "IncrementalAuthorizationThreshold", None): CatalogEntry("no", "decimal", None, ()),
    ("PaymentCtrlr", "PaymentDetails", None): CatalogEntry("yes", "MemberList", None, ()),
    ("PaymentCtrlr", "SettlementByCSMS", None): CatalogEntry("yes", "boolean", None, ()),
    ("PaymentCtrlr", "ReceiptServerUrl", None): CatalogEntry("yes", "string", None, ()),
    ("PaymentCtrlr", "ReceiptByCSMS", None): CatalogEntry("yes", "boolean", None, ()),
    ("PaymentCtrlr", "Merchant", "Id"): CatalogEntry("yes", "string", None, ()),
    ("PaymentCtrlr", "Merchant", "TaxId"): CatalogEntry("yes", "string", None, ()),
    ("PaymentCtrlr", "Merchant", "Name"): CatalogEntry("yes", "string", None, ()),
    ("PaymentCtrlr", "Merchant", "Address"): CatalogEntry("yes", "string", None, ()),
    ("PaymentCtrlr", "Merchant", "City"): CatalogEntry("yes", "string", None, ()),
    ("PaymentCtrlr", "TerminalID", None): CatalogEntry("yes", "string", None, ()),
    ("PaymentCtrlr", "PaymentServiceProvider", None): CatalogEntry("yes", "string", None, ()),
    ("PaymentCtrlr", "VendorName", None): CatalogEntry("yes", "string", None, ()),
    ("PaymentCtrlr", "Model", None): CatalogEntry("yes", "string", None, ()),
    ("PaymentCtrlr", "SerialNumber", None): CatalogEntry("yes", "string", None, ()),
    ("PaymentCtrlr", "FirmwareVersion", None): CatalogEntry("yes", "string", None, ()),
    ("PaymentCtrlr", "IMSI", None): CatalogEntry("yes", "string", None, ()),
    ("PaymentCtrlr", "ICCID", None): CatalogEntry("yes", "string", None, ()),
    ("PaymentCtrlr", "Connected", None): CatalogEntry("yes", "boolean", None, ()),
    ("WebPaymentsCtrlr", "URLTemplate", None): CatalogEntry("yes", "string", None, ()),
    ("WebPaymentsCtrlr", "URLParameters", None): CatalogEntry("no", "MemberList", None, ()),
    ("WebPaymentsCtrlr", "TOTPVersion", None): CatalogEntry("yes", "string", None, ()),
    ("WebPaymentsCtrlr", "ChargingStationId", None): CatalogEntry("no", "string", None, ()),
    ("WebPaymentsCtrlr", "ValidityTime", None): CatalogEntry("yes", "integer", "s", ()),
    ("WebPaymentsCtrlr", "SharedSecret", None): CatalogEntry("yes", "string", None, ()),
    ("WebPaymentsCtrlr", "Length", None): CatalogEntry("yes", "integer", None, ()),
    ("WebPaymentsCtrlr", "QRCodeQuality", None): CatalogEntry("no", "OptionList", None, ()),
}
# --- END GENERATED CATALOG ---
# fmt: on

_FOLDED_CATALOG: Final[dict[tuple[str, str, str | None], CatalogEntry]] = {
    (c.casefold(), v.casefold(), None if i is None else i.casefold()): e for (c, v, i), e in CATALOG.items()
}


def catalog_lookup(component: str, variable: str, instance: str | None = None) -> CatalogEntry | None:
    """The appendix row for a variable: exact instance, any-instance, no-instance, then generic.

    Names compare case-insensitively, as component and variable names do on the wire.
    """
    c, v = component.casefold(), variable.casefold()
    candidates: list[tuple[str, str, str | None]] = []
    if instance:
        candidates += [(c, v, instance.casefold()), (c, v, "*")]
    candidates += [(c, v, None), ("*", v, None)]
    for key in candidates:
        entry = _FOLDED_CATALOG.get(key)
        if entry is not None:
            return entry
    return None


# ---------------------------------------------------------------------------------------------
# Variable specs of the standard station
# ---------------------------------------------------------------------------------------------

#: `VarSpec.unit` value that forces "no unit" even where the catalog has one.
NO_UNIT: Final = ""


@dataclass(frozen=True, slots=True)
class VarSpec:
    """One variable of the standard station: addressing, Actual attribute, characteristics.

    `data_type`/`unit` None means "as the catalog says"; `persistent` None means "persistent
    when writable", the rule Part 2 chapter 2 sets for every writable configuration variable.
    """

    component: str
    variable: str
    value: str | None
    mutability: str = "ReadWrite"
    variable_instance: str | None = None
    component_instance: str | None = None
    evse: int | None = None
    connector: int | None = None
    data_type: str | None = None
    unit: str | None = None
    min_limit: float | None = None
    max_limit: float | None = None
    values_list: str | None = None
    max_elements: int | None = None
    monitoring: bool = False
    persistent: bool | None = None
    constant: bool = False
    reboot_required: bool = False
    check: Callable[[str], str | None] | None = None


@dataclass(frozen=True, slots=True)
class StationParams:
    """What distinguishes one standard station from another (see `DeviceModel.standard`)."""

    evse_connectors: tuple[int, ...]
    vendor: str
    model: str
    serial: str
    firmware: str
    supply_phases: int = 3
    evse_max_power_w: float = 22000.0
    connector_type: str = "cType2"
    security_profile: int = 1
    identity: str = ""
    organization: str = ""
    csms_url: str = ""
    basic_auth_password: str | None = None
    heartbeat_interval: int = 300


AVAILABILITY_STATES: Final = "Available,Occupied,Reserved,Unavailable,Faulted"
#: Tx start/stop events this emulator can detect (no bay sensor, no signing meter).
TX_POINTS: Final = "EVConnected,Authorized,PowerPathClosed,EnergyTransfer"
#: Measurands the meter model can sample (app.station.sampled_values decides).
MEASURANDS: Final = ",".join(SUPPORTED_MEASURANDS)
ENERGY_REGISTER: Final = "Energy.Active.Import.Register"
TX_UPDATED_MEASURANDS: Final = "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage,SoC"
ID_TOKEN_TYPES: Final = (
    "Central,DirectPayment,eMAID,EVCCID,ISO14443,ISO15693,KeyCode,Local,MacAddress,NoAuthorization,VIN"
)
#: TransactionLimitType fields (the Part 2 table for SupportedLimits says maxLength for maxTime).
TX_LIMITS: Final = "maxCost,maxEnergy,maxTime,maxSoC"
SUPPORTED_ID_TOKEN_TYPES: Final = "Central,eMAID,ISO14443,ISO15693,KeyCode,Local,MacAddress,NoAuthorization"
OCPP_INTERFACES: Final = "Wired0,Wired1,Wired2,Wired3,Wireless0,Wireless1,Wireless2,Wireless3,Any"
#: EnergyTransferModeEnumType (2.1) and OperationModeEnumType (2.1), for V2XChargingCtrlr.
ENERGY_TRANSFER_MODES: Final = (
    "AC_single_phase,AC_two_phase,AC_three_phase,DC,AC_BPT,AC_BPT_DER,AC_DER,DC_BPT,DC_ACDP,DC_ACDP_BPT,WPT"
)
OPERATION_MODES: Final = (
    "Idle,ChargingOnly,CentralSetpoint,ExternalSetpoint,ExternalLimits,CentralFrequency,LocalFrequency,"
    "LocalLoadBalancing"
)
#: Configuration slots for network connection profiles; B09.FR.06 asks for at least two.
NETWORK_SLOTS: Final = ("0", "1")


def check_basic_auth_password(value: str) -> str | None:
    """A00.FR.205: at least 16 characters (the upper bound is the variable's maxLimit)."""
    if len(value) < 16:
        return f"a BasicAuthPassword needs at least 16 characters, got {len(value)}"
    return None


def check_csms_url(value: str) -> str | None:
    """The station speaks OCPP-J only, so a CSMS URL must be a WebSocket URL (or empty: unset)."""
    if value and not value.lower().startswith(("ws://", "wss://")):
        return f"a CSMS URL must start with ws:// or wss://, got {value[:40]!r}"
    return None


def _split_name(name: str) -> tuple[str, str | None]:
    """'ItemsPerMessage[GetReport]' -> ('ItemsPerMessage', 'GetReport'): keeps the tables short."""
    if name.endswith("]") and "[" in name:
        base, _, instance = name[:-1].partition("[")
        return base, instance
    return name, None


def _spec(component: str, name: str, value: str | None, mutability: str, **kw: object) -> VarSpec:
    variable, instance = _split_name(name)
    return VarSpec(component, variable, value, mutability, variable_instance=instance, **kw)  # type: ignore[arg-type]


def _rw(component: str, name: str, value: str | None, **kw: object) -> VarSpec:
    """A setting the CSMS may change (ReadWrite, persistent)."""
    return _spec(component, name, value, "ReadWrite", **kw)


def _ro(component: str, name: str, value: str | None, **kw: object) -> VarSpec:
    """A read-only setting that survives reboots but may change (e.g. through a reboot)."""
    kw.setdefault("persistent", True)
    return _spec(component, name, value, "ReadOnly", **kw)


def _const(component: str, name: str, value: str | None, **kw: object) -> VarSpec:
    """A capability fixed by hardware or firmware: ReadOnly, persistent and constant."""
    return _spec(component, name, value, "ReadOnly", persistent=True, constant=True, **kw)


def _live(component: str, name: str, value: str | None, **kw: object) -> VarSpec:
    """Station state the station itself updates at runtime (not persistent, monitorable)."""
    kw.setdefault("monitoring", True)
    return _spec(component, name, value, "ReadOnly", persistent=False, **kw)


def _wo(component: str, name: str, value: str | None, **kw: object) -> VarSpec:
    """A secret: the CSMS may write it and never read it back (B06.FR.09, B07.FR.03)."""
    return _spec(component, name, value, "WriteOnly", **kw)


def _bool(flag: bool) -> str:
    return "true" if flag else "false"


def standard_specs(p: StationParams) -> list[VarSpec]:
    """Every variable of a standard station, in report order (station, EVSEs, controllers)."""
    specs: list[VarSpec] = []
    phases = str(p.supply_phases)
    fixed_cable = p.connector_type.startswith("c")

    # Charging infrastructure (Part 2 ch. 2.15).
    cs = "ChargingStation"
    specs += [
        _live(cs, "AvailabilityState", "Available", values_list=AVAILABILITY_STATES),
        _live(cs, "Available", "true"),
        _const(cs, "SupplyPhases", phases),
        _const(cs, "VendorName", p.vendor),
        _const(cs, "Model", p.model),
        _const(cs, "SerialNumber", p.serial),
        _ro(cs, "FirmwareVersion", p.firmware),  # changes with a firmware update (L01)
        _live(cs, "Problem", "false"),
        _rw(cs, "AllowNewSessionsPendingFirmwareUpdate", "false"),
    ]
    for evse_id, connectors in enumerate(p.evse_connectors, start=1):
        specs += [
            _live("EVSE", "AvailabilityState", "Available", evse=evse_id, values_list=AVAILABILITY_STATES),
            _live("EVSE", "Available", "true", evse=evse_id),
            # Required for its maxLimit (rated power); Actual is the instantaneous power.
            _live("EVSE", "Power", "0", evse=evse_id, unit="W", max_limit=p.evse_max_power_w),
            _const("EVSE", "SupplyPhases", phases, evse=evse_id),
            _live("EVSE", "Problem", "false", evse=evse_id),
            # Simulated: follows the power the EVSE carries; what temperature monitors watch (N07).
            _live("EVSE", "Temperature", "25", evse=evse_id, min_limit=-40, max_limit=150),
        ]
        for connector_id in range(1, connectors + 1):
            at = {"evse": evse_id, "connector": connector_id}
            specs += [
                _live("Connector", "AvailabilityState", "Available", values_list=AVAILABILITY_STATES, **at),
                _live("Connector", "Available", "true", **at),
                _const("Connector", "ConnectorType", p.connector_type, **at),
                _const("Connector", "SupplyPhases", phases, **at),
            ]

    occ = "OCPPCommCtrlr"
    specs += [
        _ro(occ, "ActiveNetworkProfile", NETWORK_SLOTS[0], data_type="integer"),  # §2.1.1: integer
        _const(occ, "FileTransferProtocols", "HTTP,HTTPS", values_list="FTP,FTPS,HTTP,HTTPS,SFTP"),
        _rw(occ, "HeartbeatInterval", str(p.heartbeat_interval), min_limit=1),
        # §2.1.3: ReadOnly in 2.1, the NetworkConnectionProfile's messageTimeout sets it.
        _ro(occ, "MessageTimeout[Default]", "30", min_limit=1),
        _rw(occ, "MessageAttempts[TransactionEvent]", "3", min_limit=0),
        _rw(occ, "MessageAttemptInterval[TransactionEvent]", "60", unit="s", min_limit=0),  # §2.1.12: s
        # §2.1.6: a SequenceList of slots (the CSV says string). A new order is used after a
        # reboot (B10.FR.01, B10.FR.04), hence RebootRequired.
        _rw(
            occ,
            "NetworkConfigurationPriority",
            NETWORK_SLOTS[0],
            data_type="SequenceList",
            values_list=",".join(NETWORK_SLOTS),
            reboot_required=True,
        ),
        _rw(occ, "NetworkProfileConnectionAttempts", "3", min_limit=1),
        _rw(occ, "OfflineThreshold", "300", min_limit=0),
        _rw(occ, "QueueAllMessages", "false"),
        _rw(occ, "ResetRetries", "2", min_limit=0),
        _rw(occ, "RetryBackOffRandomRange", "10", unit="s", min_limit=0),  # Part 4 §8.2: s
        _rw(occ, "RetryBackOffRepeatTimes", "5", min_limit=0),
        _rw(occ, "RetryBackOffWaitMinimum", "3", unit="s", min_limit=0),  # Part 4 §8.3: s
        # Part 4 §8.4: 0 disables client pings; below MessageAttempts * MessageAttemptInterval.
        _rw(occ, "WebSocketPingInterval", "30", min_limit=0),
        # §2.1.13: fixed cables cannot be unlocked, so ReadOnly false for cable connectors.
        _const(occ, "UnlockOnEVSideDisconnect", "false")
        if fixed_cable
        else _rw(occ, "UnlockOnEVSideDisconnect", "true"),
    ]

    sec = "SecurityCtrlr"
    specs += [
        _ro(sec, "SecurityProfile", str(p.security_profile), min_limit=1, max_limit=3),
        _rw(sec, "OrganizationName", p.organization or p.vendor, max_limit=64),
        _live(sec, "CertificateEntries", "0", max_limit=50, monitoring=False),
        # A00.FR.205: 16 .. maxLimit characters, maxLimit between 40 and 64.
        _wo(sec, "BasicAuthPassword", p.basic_auth_password, max_limit=40, check=check_basic_auth_password),
        _ro(sec, "Identity", p.identity or p.serial, max_limit=48),
        _rw(sec, "AllowSecurityProfileDowngrade", "false"),
        _const(sec, "AdditionalRootCertificateCheck", "false"),
        _rw(sec, "CertSigningWaitMinimum", "60", min_limit=1),
        _rw(sec, "CertSigningRepeatTimes", "3", min_limit=0),
        _const(sec, "MaxCertificateChainSize", "10000", max_limit=10000),
    ]

    ddc = "DeviceDataCtrlr"
    specs += [
        _const(ddc, "ItemsPerMessage[GetReport]", "20"),
        _const(ddc, "ItemsPerMessage[GetVariables]", "50"),
        _const(ddc, "ItemsPerMessage[SetVariables]", "50"),
        _const(ddc, "BytesPerMessage[GetReport]", "65536"),
        _const(ddc, "BytesPerMessage[GetVariables]", "65536"),
        _const(ddc, "BytesPerMessage[SetVariables]", "65536"),
        # §2.1.21/22: maxLimit 2500; 1000 keeps attributeValue and valuesList (schema max 1000) equal.
        _const(ddc, "ConfigurationValueSize", "1000", max_limit=2500),
        _const(ddc, "ReportingValueSize", "2500", max_limit=2500),
    ]

    tx = "TxCtrlr"
    specs += [
        _rw(tx, "EVConnectionTimeOut", "120", min_limit=0),
        _rw(tx, "StopTxOnEVSideDisconnect", "true"),
        _rw(tx, "StopTxOnInvalidId", "true"),
        _rw(tx, "MaxEnergyOnInvalidId", "0", unit="Wh", min_limit=0),  # §2.7.7: Wh
        _rw(tx, "TxBeforeAcceptedEnabled", "false"),
        _rw(tx, "TxStartPoint", "PowerPathClosed", values_list=TX_POINTS),
        _rw(tx, "TxStopPoint", "EVConnected,Authorized", values_list=TX_POINTS),
        _rw(tx, "ResumptionTimeout", "0", min_limit=0),
        _rw(tx, "AllowEnergyTransferResumption", "false"),
        _const(tx, "SupportedLimits", "maxEnergy,maxTime,maxSoC", values_list=TX_LIMITS),
    ]

    sdc = "SampledDataCtrlr"
    specs += [
        _const(sdc, "Available", "true"),
        _rw(sdc, "Enabled", "true"),
        _rw(sdc, "TxStartedMeasurands", ENERGY_REGISTER, values_list=MEASURANDS),
        _rw(sdc, "TxUpdatedMeasurands", TX_UPDATED_MEASURANDS, values_list=MEASURANDS),
        _rw(sdc, "TxUpdatedInterval", "60", min_limit=0),
        _rw(sdc, "TxEndedMeasurands", ENERGY_REGISTER, values_list=MEASURANDS),
        _rw(sdc, "TxEndedInterval", "0", min_limit=0),
        _rw(sdc, "RegisterValuesWithoutPhases", "true"),
    ]

    adc = "AlignedDataCtrlr"
    specs += [
        _const(adc, "Available", "true"),
        _rw(adc, "Enabled", "true"),
        _rw(adc, "Measurands", ENERGY_REGISTER, values_list=MEASURANDS),
        _rw(adc, "Interval", "900", min_limit=0),
        _rw(adc, "TxEndedMeasurands", ENERGY_REGISTER, values_list=MEASURANDS),
        _rw(adc, "TxEndedInterval", "900", min_limit=0),
        _rw(adc, "SendDuringIdle", "false"),
    ]

    auth = "AuthCtrlr"
    specs += [
        _rw(auth, "Enabled", "true"),
        _rw(auth, "AuthorizeRemoteStart", "false"),
        _rw(auth, "LocalAuthorizeOffline", "true"),
        _rw(auth, "LocalPreAuthorize", "false"),
        _rw(auth, "OfflineTxForUnknownIdEnabled", "false"),
        _rw(auth, "DisableRemoteAuthorization", "false"),
        _rw(auth, "MasterPassGroupId", "", max_limit=36),  # C16: empty = no master pass
        _const(auth, "SupportedIdTokenType", SUPPORTED_ID_TOKEN_TYPES, values_list=ID_TOKEN_TYPES),
    ]

    cache = "AuthCacheCtrlr"
    specs += [
        _const(cache, "Available", "true"),
        _rw(cache, "Enabled", "true"),
        _rw(cache, "LifeTime", "86400", unit="s", min_limit=0),  # §2.5.3: s
        _rw(cache, "Policy", "LRU", values_list="LRU,LFU,FIFO,CUSTOM"),
        _live(cache, "Storage", "0", max_limit=65536, monitoring=False),
        _rw(cache, "DisablePostAuthorize", "false"),
    ]

    lal = "LocalAuthListCtrlr"
    specs += [
        _const(lal, "Available", "true"),
        _rw(lal, "Enabled", "true"),
        _live(lal, "Entries", "0", max_limit=1000, monitoring=False),
        _const(lal, "ItemsPerMessage", "100"),
        _const(lal, "BytesPerMessage", "65536"),
        _live(lal, "Storage", "0", max_limit=262144, monitoring=False),
        _rw(lal, "DisablePostAuthorize", "false"),
        _const(lal, "SupportsExpiryDateTime", "false"),
    ]

    res = "ReservationCtrlr"
    specs += [
        _const(res, "Available", "true"),
        _rw(res, "Enabled", "true"),
        _const(res, "NonEvseSpecific", "true"),
    ]

    # N02-N08: monitors set by the CSMS plus the hard-wired and preconfigured ones (monitoring.py).
    mon = "MonitoringCtrlr"
    bases = "All,FactoryDefault,HardWiredOnly"
    specs += [
        _const(mon, "Available", "true"),
        _rw(mon, "Enabled", "true"),
        _const(mon, "ItemsPerMessage[SetVariableMonitoring]", "20"),
        _const(mon, "BytesPerMessage[SetVariableMonitoring]", "8192"),
        _const(mon, "ItemsPerMessage[ClearVariableMonitoring]", "20"),
        _const(mon, "BytesPerMessage[ClearVariableMonitoring]", "4096"),
        _rw(mon, "OfflineQueuingSeverity", "4", min_limit=0, max_limit=9),
        # ReadOnly: SetMonitoringBase / SetMonitoringLevel change them (appendix 3.1.11).
        _ro(mon, "MonitoringBase", "All", values_list=bases),
        _ro(mon, "MonitoringLevel", "9", min_limit=0, max_limit=9),
        _ro(mon, "ActiveMonitoringBase", "All", values_list=bases),
        _ro(mon, "ActiveMonitoringLevel", "9", min_limit=0, max_limit=9),
    ]

    clk = "ClockCtrlr"
    specs += [
        # The device model reads this one from the station's clock on every access.
        _live(clk, "DateTime", None, monitoring=False),
        _rw(clk, "TimeSource", "Heartbeat", values_list="Heartbeat,RealTimeClock"),
        # Larger clock corrections become a SettingSystemTime security event (appendix 1).
        _rw(clk, "TimeAdjustmentReportingThreshold", "60", min_limit=0),  # seconds (catalog: no unit)
    ]

    sc = "SmartChargingCtrlr"
    specs += [
        _const(sc, "Available", "true"),
        _rw(sc, "Enabled", "true"),
        _live(sc, "Entries[ChargingProfiles]", "0", max_limit=100, monitoring=False),
        _rw(sc, "LimitChangeSignificance", "10", min_limit=0, max_limit=100),
        _const(sc, "PeriodsPerSchedule", "24"),
        _const(sc, "ProfileStackLevel", "10"),
        _const(sc, "RateUnit", "A,W", values_list="A,W"),
        _rw(sc, "NotifyChargingLimitWithSchedules", "false"),
        _const(sc, "Phases3to1", "false"),
        _const(sc, "ChargingProfilePersistence[TxProfile]", "false"),
        _const(sc, "ChargingProfilePersistence[ChargingStationExternalConstraints]", "false"),
        _const(sc, "ChargingProfilePersistence[LocalGeneration]", "false"),
        _const(sc, "ExternalControlSignalsEnabled", "true"),
        _rw(sc, "ExternalConstraintsProfileDisallowed", "false"),
        # 2.1 capabilities the smart-charging rules honour (app/smartcharging): K28, K01.FR.90-103.
        _const(
            sc,
            "SupportedAdditionalPurposes",
            "PriorityCharging,LocalGeneration",
            values_list="PriorityCharging,LocalGeneration",
        ),
        _const(sc, "SupportsDynamicProfiles", "true"),
        _const(sc, "SupportsMaxOfflineDuration", "true"),
        _const(sc, "SupportsUseLocalTime", "true"),
        _const(sc, "SupportsRandomizedDelay", "true"),
        _const(sc, "SupportsLimitAtSoC", "true"),
        _const(sc, "SupportsEvseSleep", "false"),
    ]

    # Q01.FR.30/32: every station says what it can do in V2X; a plain charger says "nothing"
    # (Enabled false, ChargingOnly), so V2X profiles are refused (K01.FR.115). A bidirectional
    # template overrides the lists; the CSMS may only switch Enabled.
    v2x = "V2XChargingCtrlr"
    plain = {0: "DC", 1: "AC_single_phase", 2: "AC_two_phase"}.get(p.supply_phases, "AC_three_phase")
    specs += [
        _rw(v2x, "Enabled", "false"),
        _const(v2x, "SupportedEnergyTransferModes", plain, values_list=ENERGY_TRANSFER_MODES),
        _const(v2x, "SupportedOperationModes", "ChargingOnly", values_list=OPERATION_MODES),
    ]

    # 2.1: one NetworkConfiguration per configuration slot (B09.FR.08), writable (B09.FR.10).
    for slot in NETWORK_SLOTS:
        first = slot == NETWORK_SLOTS[0]
        url = p.csms_url if first else None
        at_slot = {"component_instance": slot}
        nc = "NetworkConfiguration"
        specs += [
            _rw(nc, "OcppCsmsUrl", url, **at_slot, max_limit=2000, check=check_csms_url),
            _rw(nc, "OcppInterface", "Wired0" if first else None, values_list=OCPP_INTERFACES, **at_slot),
            _const(nc, "OcppTransport", "JSON", values_list="JSON", **at_slot),
            _rw(nc, "OcppVersion", "OCPP21" if first else None, values_list="OCPP201,OCPP21", **at_slot),
            _rw(nc, "MessageTimeout", "30" if first else None, unit="s", min_limit=1, **at_slot),
            _rw(
                nc,
                "SecurityProfile",
                str(p.security_profile) if first else None,
                min_limit=1,
                max_limit=3,
                **at_slot,
            ),
            _rw(nc, "Identity", (p.identity or p.serial) if first else None, max_limit=48, **at_slot),
            _wo(
                nc,
                "BasicAuthPassword",
                p.basic_auth_password if first else None,
                max_limit=40,
                check=check_basic_auth_password,
                **at_slot,
            ),
            # B09.FR.13: no VPN/APN support, so ReadOnly false.
            _const(nc, "VpnEnabled", "false", **at_slot),
            _const(nc, "ApnEnabled", "false", **at_slot),
        ]
    return specs


#: Components the standard station implements; every catalog row marked required for
#: these must be present (checked by the tests).
STANDARD_COMPONENTS: Final = (
    "ChargingStation",
    "EVSE",
    "Connector",
    "OCPPCommCtrlr",
    "SecurityCtrlr",
    "DeviceDataCtrlr",
    "TxCtrlr",
    "SampledDataCtrlr",
    "AlignedDataCtrlr",
    "AuthCtrlr",
    "AuthCacheCtrlr",
    "LocalAuthListCtrlr",
    "ReservationCtrlr",
    "ClockCtrlr",
    "MonitoringCtrlr",
    "SmartChargingCtrlr",
    "V2XChargingCtrlr",
    "NetworkConfiguration",
)


# ---------------------------------------------------------------------------------------------
# Catalog generator (build time only)
# ---------------------------------------------------------------------------------------------

_BEGIN = "# --- BEGIN GENERATED CATALOG"
_END = "# --- END GENERATED CATALOG ---"
_TYPE_SPELLING = {
    "datetime": "dateTime",
    "passwordstring": "string",
    "identifierstring": "string",
    "optionlist": "OptionList",
    "memberlist": "MemberList",
    "sequencelist": "SequenceList",
}
_UNIT_SPELLING = {"%": "Percent", "Var": "var"}  # the appendix's units-of-measure spelling
_ATTRIBUTE_SUFFIX = {
    "actual": ("Actual",),
    "target": ("Target",),
    "minset": ("MinSet",),
    "maxset": ("MaxSet",),
    "min/maxset": ("MinSet", "MaxSet"),
}


def parse_catalog_csv(path: Path) -> dict[tuple[str, str, str | None], CatalogEntry]:
    """Read the appendix CSV into catalog entries (rows without a data type are skipped).

    The file is Windows-1252 with a few undefined bytes in descriptions, which we never keep.
    """
    rows: dict[tuple[str, str, str | None], CatalogEntry] = {}
    with path.open(encoding="cp1252", errors="replace", newline="") as handle:
        reader = csv.reader(handle, delimiter=";")
        next(reader, None)  # header
        for row in reader:
            if len(row) < 6:
                continue
            component, variable, instance, required, data_type, unit = (cell.strip() for cell in row[:6])
            if not component or not variable or not data_type:
                continue
            component = "*" if component == "<generic>" else component
            attributes: tuple[str, ...] = ()
            base, dot, suffix = variable.partition(".")
            if dot and suffix.casefold() in _ATTRIBUTE_SUFFIX:
                variable, attributes = base, _ATTRIBUTE_SUFFIX[suffix.casefold()]
            key_instance: str | None = None
            if instance:
                key_instance = "*" if instance.startswith("<") or "," in instance else instance
            data_type = _TYPE_SPELLING.get(data_type.casefold(), data_type)
            first_unit = unit.split(",")[0].strip() or None
            if first_unit is not None:
                first_unit = _UNIT_SPELLING.get(first_unit, first_unit)
            key = (component, variable, key_instance)
            previous = rows.get(key)
            if previous is not None:  # e.g. DCCurrent.min/maxSet and DCCurrent.target
                attributes = tuple(dict.fromkeys(previous.attributes + attributes))
                first_unit = previous.unit or first_unit  # the first row names the unit
            rows[key] = CatalogEntry(required or "no", data_type, first_unit, attributes)
    return rows


def render_catalog(rows: dict[tuple[str, str, str | None], CatalogEntry]) -> str:
    """The generated block, byte for byte as it sits in this file."""
    lines = [
        f"{_BEGIN} (do not edit: run `python -m app.station.standard_components regenerate`) ---",
        "CATALOG: Final[dict[tuple[str, str, str | None], CatalogEntry]] = {",
    ]
    for (component, variable, instance), e in rows.items():
        attributes = repr(e.attributes)
        key = f"    ({component!r}, {variable!r}, {instance!r}):"
        value = f"CatalogEntry({e.required!r}, {e.data_type!r}, {e.unit!r}, {attributes}),"
        if len(key) + 1 + len(value) <= 110:
            lines.append(f"{key} {value}")
        else:  # stay within the project's line length
            lines += [key, f"        {value}"]
    lines += ["}", _END]
    return "\n".join(lines).replace("'", '"') + "\n"


def regenerate(csv_path: Path, target: Path = Path(__file__)) -> bool:
    """Rewrite the generated block of `target` from the CSV; True when it changed."""
    text = target.read_text(encoding="utf-8")
    start = text.index(_BEGIN)
    end = text.index(_END) + len(_END) + 1
    new_text = text[:start] + render_catalog(parse_catalog_csv(csv_path)) + text[end:]
    if new_text == text:
        return False
    target.write_text(new_text, encoding="utf-8")
    return True


def main(argv: Sequence[str] = tuple(sys.argv[1:])) -> int:
    """`regenerate <dm_components_vars.csv>`: refresh CATALOG after a spec update."""
    if len(argv) != 2 or argv[0] != "regenerate":
        print("usage: python -m app.station.standard_components regenerate <dm_components_vars.csv>")
        return 2
    changed = regenerate(Path(argv[1]))
    print("catalog updated" if changed else "catalog already up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
