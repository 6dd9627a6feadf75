"""Device model of the emulated station: B05 SetVariables, B06 GetVariables, B07/B08 reports.

Every GetVariables/SetVariables/NotifyReport payload produced here is checked against the
official OCPP 2.1 JSON schema (Draft 6, with format checking), so the wire shape is guaranteed
independently of what the assertions look at.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from pathlib import Path
from typing import Any

import ocpp
import pytest
from jsonschema import Draft6Validator

from app.clock import ManualClock
from app.station import standard_components as sc
from app.station.device_model import (
    AttributeSpec,
    AttributeType,
    Component,
    DataType,
    DeviceModel,
    Mutability,
    TooManyItems,
    Variable,
    VariableCharacteristics,
    VariableDefinition,
    format_key,
    notify_report_requests,
    parse_key,
    split_report,
)
from app.station.sampled_values import SUPPORTED_MEASURANDS

SCHEMA_DIR = Path(ocpp.__file__).parent / "v21" / "schemas"
SPEC_CSV = (
    Path(__file__).resolve().parents[2] / "shared/spec/ocpp-2.1/Appendices_CSV_v2.0/dm_components_vars.csv"
)
PASSWORD = "0123456789abcdefghij"


@functools.cache
def _validator(name: str) -> Draft6Validator:
    schema = json.loads((SCHEMA_DIR / f"{name}.json").read_text(encoding="utf-8"))
    return Draft6Validator(schema, format_checker=Draft6Validator.FORMAT_CHECKER)


def assert_valid(name: str, payload: dict[str, Any]) -> None:
    errors = sorted(_validator(name).iter_errors(payload), key=lambda e: list(e.absolute_path))
    assert not errors, f"{name} invalid: " + "; ".join(
        f"{list(e.absolute_path)}: {e.message}" for e in errors
    )


def make_model(**overrides: Any) -> DeviceModel:
    params: dict[str, Any] = {
        "vendor": "ACME",
        "model": "AC22",
        "serial": "SN-0001",
        "firmware": "1.2.3",
        "csms_url": "ws://csms.local:9000/ocpp",
        "basic_auth_password": PASSWORD,
        "clock": ManualClock(),
    }
    params.update(overrides)
    evse_connectors = params.pop("evse_connectors", [1, 2])
    return DeviceModel.standard(evse_connectors, **params)


@pytest.fixture
def dm() -> DeviceModel:
    return make_model()


def cv(component: str, variable: str, **kw: Any) -> dict[str, Any]:
    """A GetVariableData/SetVariableData skeleton: cv("EVSE", "Power", evse=1, attr="Target")."""
    comp: dict[str, Any] = {"name": component}
    if "cinst" in kw:
        comp["instance"] = kw["cinst"]
    if "evse" in kw:
        comp["evse"] = {"id": kw["evse"]}
        if "connector" in kw:
            comp["evse"]["connectorId"] = kw["connector"]
    var: dict[str, Any] = {"name": variable}
    if "vinst" in kw:
        var["instance"] = kw["vinst"]
    item: dict[str, Any] = {"component": comp, "variable": var}
    if "attr" in kw:
        item["attributeType"] = kw["attr"]
    if "value" in kw:
        item["attributeValue"] = kw["value"]
    return item


def get(dm: DeviceModel, *items: dict[str, Any]) -> list[dict[str, Any]]:
    request = {"getVariableData": list(items)}
    assert_valid("GetVariablesRequest", request)
    response = dm.get_variables(request)
    assert_valid("GetVariablesResponse", response)
    return response["getVariableResult"]


def put(dm: DeviceModel, *items: dict[str, Any]) -> list[dict[str, Any]]:
    request = {"setVariableData": list(items)}
    assert_valid("SetVariablesRequest", request)
    response = dm.set_variables(request)
    assert_valid("SetVariablesResponse", response)
    return response["setVariableResult"]


def put_one(dm: DeviceModel, component: str, variable: str, value: str, **kw: Any) -> dict[str, Any]:
    (result,) = put(dm, cv(component, variable, value=value, **kw))
    return result


def add_fan(dm: DeviceModel) -> VariableDefinition:
    """A custom variable with all four attributes, like the spec's fan-speed example."""
    definition = VariableDefinition(
        Component("AirCoolingSystem"),
        Variable("FanSpeed"),
        VariableCharacteristics(
            DataType.DECIMAL, "RPM", min_limit=0, max_limit=6000, supports_monitoring=True
        ),
        (
            AttributeSpec(AttributeType.ACTUAL, Mutability.READ_ONLY),
            AttributeSpec(AttributeType.TARGET, Mutability.READ_WRITE, persistent=True),
            AttributeSpec(AttributeType.MIN_SET, Mutability.READ_WRITE, persistent=True),
            AttributeSpec(AttributeType.MAX_SET, Mutability.READ_WRITE, persistent=True),
        ),
    )
    dm.add(definition, {"Actual": "1200", "MinSet": "1000", "MaxSet": "5000"})
    return definition


# ---------------------------------------------------------------------------------------------
# The schema checker itself must be able to fail
# ---------------------------------------------------------------------------------------------


def test_schema_validator_checks_formats_and_shapes() -> None:
    bad_time = {"requestId": 1, "generatedAt": "yesterday", "seqNo": 0}
    assert list(_validator("NotifyReportRequest").iter_errors(bad_time)), "date-time format not checked"
    value_on_unknown = {
        "getVariableResult": [
            {"attributeStatus": "Maybe", "component": {"name": "X"}, "variable": {"name": "Y"}}
        ]
    }
    assert list(_validator("GetVariablesResponse").iter_errors(value_on_unknown))


# ---------------------------------------------------------------------------------------------
# Standard station
# ---------------------------------------------------------------------------------------------


def test_standard_station_has_station_evses_connectors_and_controllers(dm: DeviceModel) -> None:
    labels = {str(c) for c in dm.components()}
    assert {
        "ChargingStation",
        "EVSE(1)",
        "EVSE(2)",
        "Connector(1,1)",
        "Connector(2,1)",
        "Connector(2,2)",
    } <= labels
    assert "Connector(1,2)" not in labels
    for controller in sc.STANDARD_COMPONENTS[3:]:
        assert any(c.name == controller for c in dm.components()), controller
    assert {"NetworkConfiguration[0]", "NetworkConfiguration[1]"} <= labels


def test_required_catalog_variables_are_present(dm: DeviceModel) -> None:
    """B07.FR.08 note: the required variables of every implemented block must be reportable."""
    present = {(d.component.name.casefold(), d.variable.key) for d in dm.definitions()}
    missing = [
        f"{c}.{v}" + (f"[{i}]" if i else "")
        for (c, v, i), entry in sc.CATALOG.items()
        if c in sc.STANDARD_COMPONENTS
        and entry.required == "yes"
        and (c.casefold(), (v.casefold(), i.casefold() if i else None)) not in present
    ]
    assert missing == []


# Where the Part 2/Part 4 variable tables disagree with or add to the appendix CSV.
TYPE_FROM_SPEC_TABLE = {
    "OCPPCommCtrlr.ActiveNetworkProfile": "integer",
    "OCPPCommCtrlr.NetworkConfigurationPriority": "SequenceList",
}
UNIT_FROM_SPEC_TABLE = {
    "OCPPCommCtrlr.MessageAttemptInterval[TransactionEvent]": "s",
    "OCPPCommCtrlr.RetryBackOffRandomRange": "s",
    "OCPPCommCtrlr.RetryBackOffWaitMinimum": "s",
    "TxCtrlr.MaxEnergyOnInvalidId": "Wh",
    "AuthCacheCtrlr.LifeTime": "s",
    "NetworkConfiguration.MessageTimeout": "s",
}


def test_data_types_and_units_follow_the_appendix_catalog(dm: DeviceModel) -> None:
    for d in dm.definitions():
        entry = sc.catalog_lookup(d.component.name, d.variable.name, d.variable.instance)
        assert entry is not None, d.label
        name = f"{d.component.name}.{d.variable}"
        assert d.characteristics.data_type == TYPE_FROM_SPEC_TABLE.get(name, entry.data_type), d.label
        assert d.characteristics.unit == UNIT_FROM_SPEC_TABLE.get(name, entry.unit), d.label
        if d.characteristics.data_type in (
            DataType.OPTION_LIST,
            DataType.MEMBER_LIST,
            DataType.SEQUENCE_LIST,
        ):
            assert d.characteristics.values_list, f"{d.label}: list types need a valuesList"


@pytest.mark.skipif(not SPEC_CSV.exists(), reason="spec directory not available")
def test_generated_catalog_matches_the_appendix_csv() -> None:
    assert sc.parse_catalog_csv(SPEC_CSV) == sc.CATALOG
    source = Path(sc.__file__).read_text(encoding="utf-8")
    assert sc.render_catalog(sc.CATALOG) in source


def test_catalog_lookup_is_case_insensitive_and_falls_back_to_generic() -> None:
    assert sc.catalog_lookup("ocppcommctrlr", "messagetimeout", "DEFAULT") == sc.CatalogEntry(
        "yes", "integer", "s", ()
    )
    assert sc.catalog_lookup("ChargingStation", "SerialNumber") == sc.CatalogEntry("no", "string", None, ())
    assert sc.catalog_lookup("TariffCostCtrlr", "TariffFallbackMessage", "en").data_type == "string"  # type: ignore[union-attr]
    assert sc.catalog_lookup("Nope", "Nothing") is None


def test_default_values_make_a_common_charger(dm: DeviceModel) -> None:
    assert dm.get_int("OCPPCommCtrlr", "HeartbeatInterval") == 300
    assert dm.get_int("OCPPCommCtrlr", "MessageTimeout", "Default") == 30
    assert dm.get_int("OCPPCommCtrlr", "MessageAttempts", "TransactionEvent") == 3
    assert dm.get_int("OCPPCommCtrlr", "MessageAttemptInterval", "TransactionEvent") == 60
    assert dm.get_list("TxCtrlr", "TxStartPoint") == ["PowerPathClosed"]
    assert dm.get_list("TxCtrlr", "TxStopPoint") == ["EVConnected", "Authorized"]
    assert dm.get_int("SampledDataCtrlr", "TxUpdatedInterval") == 60
    assert dm.get_list("SampledDataCtrlr", "TxUpdatedMeasurands") == [
        "Energy.Active.Import.Register",
        "Power.Active.Import",
        "Current.Import",
        "Voltage",
        "SoC",
    ]
    assert dm.get_int("DeviceDataCtrlr", "ItemsPerMessage", "GetVariables") == 50
    assert dm.get_int("SecurityCtrlr", "SecurityProfile") == 1
    assert dm.get_str("SecurityCtrlr", "Identity") == "SN-0001"
    assert dm.get_str("ChargingStation", "VendorName") == "ACME"
    assert dm.get_int("Connector", "SupplyPhases", evse=2, connector=2) == 3
    assert dm.get_str("Connector", "ConnectorType", evse=1, connector=1) == "cType2"
    power = dm.find("EVSE", "Power", evse=1)
    assert power is not None and power.characteristics.max_limit == 22000.0
    assert power.characteristics.unit == "W"


def test_measurand_lists_offer_exactly_what_the_meter_can_sample(dm: DeviceModel) -> None:
    for name in ("TxStartedMeasurands", "TxUpdatedMeasurands", "TxEndedMeasurands"):
        definition = dm.find("SampledDataCtrlr", name)
        assert definition is not None
        assert definition.characteristics.values_list == SUPPORTED_MEASURANDS


def test_unlock_on_ev_side_disconnect_depends_on_fixed_cables() -> None:
    """§2.1.13: fixed cables give ReadOnly false; sockets a writable true."""
    cable = make_model(connector_type="cType2").attributes("OCPPCommCtrlr", "UnlockOnEVSideDisconnect")
    socket = make_model(connector_type="sType2").attributes("OCPPCommCtrlr", "UnlockOnEVSideDisconnect")
    assert (cable[0].value, cable[0].mutability) == ("false", Mutability.READ_ONLY)
    assert (socket[0].value, socket[0].mutability) == ("true", Mutability.READ_WRITE)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"evse_connectors": []}, "evse_connectors"),
        ({"evse_connectors": [1, 0]}, "evse_connectors"),
        ({"supply_phases": 5}, "supply_phases"),
        ({"evse_max_power_w": 0}, "evse_max_power_w"),
        ({"basic_auth_password": "short"}, "BasicAuthPassword"),
        ({"heartbeat_interval": 0}, "HeartbeatInterval"),
        ({"security_profile": 4}, "SecurityProfile"),
        ({"csms_url": "http://x"}, "OcppCsmsUrl"),
    ],
)
def test_standard_rejects_bad_parameters(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_model(**overrides)


def test_stations_of_one_kind_share_definitions_until_one_is_changed() -> None:
    one, two = make_model(serial="A"), make_model(serial="B")
    assert one.definitions() is two.definitions()
    assert one.get_str("SecurityCtrlr", "Identity") == "A"
    one.apply_overrides({"EVSE(1).Power:maxLimit": 11000})
    assert one.definitions() is not two.definitions()
    assert two.find("EVSE", "Power", evse=1).characteristics.max_limit == 22000  # type: ignore[union-attr]


# ---------------------------------------------------------------------------------------------
# GetVariables (B06)
# ---------------------------------------------------------------------------------------------


def test_get_variables_one_result_per_item_in_order_echoing_the_request(dm: DeviceModel) -> None:
    """B06.FR.01-03, B06.FR.11: same count and order, same component/variable, Actual by default."""
    items = [
        cv("OCPPCommCtrlr", "HeartbeatInterval"),
        cv("DeviceDataCtrlr", "ItemsPerMessage", vinst="GetReport", attr="Actual"),
        cv("EVSE", "Power", evse=2),
        cv("Connector", "ConnectorType", evse=2, connector=2),
        cv("Nope", "Nothing"),
    ]
    results = get(dm, *items)
    assert len(results) == len(items)
    for item, result in zip(items, results, strict=True):
        assert result["component"] == item["component"]
        assert result["variable"] == item["variable"]
        assert result["attributeType"] == "Actual"
    assert [r.get("attributeValue") for r in results] == ["300", "20", "0", "cType2", None]


def test_get_variables_names_are_case_insensitive(dm: DeviceModel) -> None:
    (result,) = get(dm, cv("ocppcommCTRLR", "HEARTBEATinterval"))
    assert result["attributeStatus"] == "Accepted"
    assert result["attributeValue"] == "300"
    assert result["component"] == {"name": "ocppcommCTRLR"}  # echoed as sent
    (result,) = get(dm, cv("devicedatactrlr", "itemspermessage", vinst="setvariables"))
    assert result["attributeValue"] == "50"


def test_get_variables_unknown_component_and_variable_omit_the_value(dm: DeviceModel) -> None:
    """B06.FR.06, B06.FR.07, B06.FR.15 (no instance given where only instances exist)."""
    results = get(
        dm,
        cv("FluxCapacitor", "HeartbeatInterval"),
        cv("OCPPCommCtrlr", "FluxLevel"),
        cv("DeviceDataCtrlr", "ItemsPerMessage"),
        cv("EVSE", "Power"),  # EVSE without an evse id is no component of this station
        cv("Connector", "ConnectorType", evse=1, connector=2),
        cv("EVSE", "Power", evse=3),
    )
    assert [r["attributeStatus"] for r in results] == [
        "UnknownComponent",
        "UnknownVariable",
        "UnknownVariable",
        "UnknownComponent",
        "UnknownComponent",
        "UnknownComponent",
    ]
    assert all("attributeValue" not in r for r in results)


def test_get_variables_unsupported_attribute_type(dm: DeviceModel) -> None:
    """B06.FR.08: NotSupportedAttributeType, value omitted, requested type echoed."""
    (result,) = get(dm, cv("OCPPCommCtrlr", "HeartbeatInterval", attr="MaxSet"))
    assert result["attributeStatus"] == "NotSupportedAttributeType"
    assert result["attributeType"] == "MaxSet"
    assert "attributeValue" not in result
    assert result["attributeStatusInfo"]["reasonCode"] == "UnsupportedParam"


def test_get_variables_write_only_is_rejected_without_value(dm: DeviceModel) -> None:
    """B06.FR.09."""
    (result,) = get(dm, cv("SecurityCtrlr", "BasicAuthPassword"))
    assert result["attributeStatus"] == "Rejected"
    assert "attributeValue" not in result
    assert result["attributeStatusInfo"]["reasonCode"] == "WriteOnly"
    assert PASSWORD not in json.dumps(result)


def test_get_variables_other_attribute_types_and_unset_values(dm: DeviceModel) -> None:
    """B06.FR.03 (attribute type echoed), B06.FR.13 (supported but unset -> empty string)."""
    add_fan(dm)
    results = get(
        dm,
        cv("AirCoolingSystem", "FanSpeed", attr="MinSet"),
        cv("AirCoolingSystem", "FanSpeed", attr="MaxSet"),
        cv("AirCoolingSystem", "FanSpeed", attr="Target"),
        cv("NetworkConfiguration", "OcppCsmsUrl", cinst="1"),
    )
    assert [(r["attributeType"], r["attributeValue"]) for r in results] == [
        ("MinSet", "1000"),
        ("MaxSet", "5000"),
        ("Target", ""),
        ("Actual", ""),
    ]


def test_get_variables_component_instance_is_part_of_the_address(dm: DeviceModel) -> None:
    """B06.FR.14: the instance given selects that instance."""
    results = get(
        dm,
        cv("NetworkConfiguration", "OcppCsmsUrl", cinst="0"),
        cv("NetworkConfiguration", "OcppCsmsUrl", cinst="7"),
        cv("NetworkConfiguration", "OcppCsmsUrl"),
    )
    assert results[0]["attributeValue"] == "ws://csms.local:9000/ocpp"
    assert [r["attributeStatus"] for r in results[1:]] == ["UnknownComponent", "UnknownComponent"]


def test_get_variables_evse_zero_means_the_station(dm: DeviceModel) -> None:
    (result,) = get(dm, cv("ChargingStation", "SupplyPhases", evse=0))
    assert (result["attributeStatus"], result["attributeValue"]) == ("Accepted", "3")
    assert result["component"] == {"name": "ChargingStation", "evse": {"id": 0}}


def test_get_variables_truncates_to_reporting_value_size(dm: DeviceModel) -> None:
    dm.apply_overrides({"DeviceDataCtrlr.ReportingValueSize": "8"})
    (result,) = get(dm, cv("SampledDataCtrlr", "TxUpdatedMeasurands"))
    assert result["attributeValue"] == "Energy.A"


def test_clock_date_time_reads_the_station_clock() -> None:
    clock = ManualClock()
    dm = make_model(clock=clock)
    (before,) = get(dm, cv("ClockCtrlr", "DateTime"))
    clock.advance(90.5)
    (after,) = get(dm, cv("ClockCtrlr", "DateTime"))
    assert before["attributeValue"] == "2026-01-01T00:00:00.000Z"
    assert after["attributeValue"] == "2026-01-01T00:01:30.500Z"


def test_get_variables_too_many_items_raises(dm: DeviceModel) -> None:
    """B06.FR.16: the RPC layer turns TooManyItems into OccurrenceConstraintViolation."""
    items = [cv("OCPPCommCtrlr", "HeartbeatInterval")] * 51
    with pytest.raises(TooManyItems, match=r"ItemsPerMessage\[GetVariables\] = 50") as caught:
        dm.get_variables({"getVariableData": items})
    assert (caught.value.count, caught.value.limit) == (51, 50)
    assert len(get(dm, *items[:50])) == 50


# ---------------------------------------------------------------------------------------------
# SetVariables (B05)
# ---------------------------------------------------------------------------------------------


def test_set_variables_accepts_and_stores(dm: DeviceModel) -> None:
    """B05.FR.10, B05.FR.12: Accepted, value used from then on, attributeType Actual echoed."""
    results = put(
        dm,
        cv("OCPPCommCtrlr", "HeartbeatInterval", value="60"),
        cv("sampleddatactrlr", "txupdatedinterval", value="10"),
        cv("TxCtrlr", "TxStopPoint", value="EVConnected"),
        cv("AuthCtrlr", "LocalPreAuthorize", value="true"),
        cv("SmartChargingCtrlr", "LimitChangeSignificance", value="2.5"),
    )
    assert [r["attributeStatus"] for r in results] == ["Accepted"] * 5
    assert all(r["attributeType"] == "Actual" for r in results)
    assert results[1]["component"] == {"name": "sampleddatactrlr"}
    assert dm.get_int("OCPPCommCtrlr", "HeartbeatInterval") == 60
    assert dm.get_int("SampledDataCtrlr", "TxUpdatedInterval") == 10
    assert dm.get_list("TxCtrlr", "TxStopPoint") == ["EVConnected"]
    assert dm.get_bool("AuthCtrlr", "LocalPreAuthorize") is True
    assert dm.get_float("SmartChargingCtrlr", "LimitChangeSignificance") == 2.5


def test_set_variables_read_only_is_rejected(dm: DeviceModel) -> None:
    """B05.FR.09."""
    result = put_one(dm, "DeviceDataCtrlr", "ItemsPerMessage", "500", vinst="GetVariables")
    assert result["attributeStatus"] == "Rejected"
    assert result["attributeStatusInfo"]["reasonCode"] == "ReadOnly"
    assert dm.get_int("DeviceDataCtrlr", "ItemsPerMessage", "GetVariables") == 50


@pytest.mark.parametrize(
    ("component", "variable", "value", "reason"),
    [
        # B05.FR.07: incorrectly formatted values
        ("OCPPCommCtrlr", "HeartbeatInterval", "abc", "InvalidValue"),
        ("OCPPCommCtrlr", "HeartbeatInterval", "+60", "InvalidValue"),
        ("OCPPCommCtrlr", "HeartbeatInterval", "060", "InvalidValue"),
        ("OCPPCommCtrlr", "HeartbeatInterval", "60.0", "InvalidValue"),
        ("OCPPCommCtrlr", "HeartbeatInterval", "", "InvalidValue"),
        ("OCPPCommCtrlr", "HeartbeatInterval", "99999999999", "ValueOutOfRange"),
        ("OCPPCommCtrlr", "QueueAllMessages", "True", "InvalidValue"),
        ("OCPPCommCtrlr", "QueueAllMessages", "1", "InvalidValue"),
        ("SmartChargingCtrlr", "LimitChangeSignificance", "1.1234567", "InvalidValue"),
        ("SmartChargingCtrlr", "LimitChangeSignificance", "1e3", "InvalidValue"),
        # B05.FR.08: out of range
        ("OCPPCommCtrlr", "HeartbeatInterval", "0", "ValueTooLow"),
        ("OCPPCommCtrlr", "WebSocketPingInterval", "-1", "ValueTooLow"),
        ("SmartChargingCtrlr", "LimitChangeSignificance", "100.5", "ValueTooHigh"),
        ("SecurityCtrlr", "OrganizationName", "O" * 65, "TooLargeElement"),
        # OptionList / MemberList / SequenceList membership
        ("AuthCacheCtrlr", "Policy", "MRU", "InvalidValue"),
        ("AuthCacheCtrlr", "Policy", "", "InvalidValue"),
        ("TxCtrlr", "TxStartPoint", "PowerPathClosed,Teleported", "InvalidValue"),
        ("TxCtrlr", "TxStartPoint", "Authorized,Authorized", "InvalidValue"),
        ("TxCtrlr", "TxStartPoint", "Authorized,,EVConnected", "InvalidValue"),
        (
            "SampledDataCtrlr",
            "TxUpdatedMeasurands",
            "Energy.Active.Import.Register,Temperature",
            "InvalidValue",
        ),
        ("ClockCtrlr", "TimeSource", "GPS", "InvalidValue"),
        # extra rules
        ("SecurityCtrlr", "BasicAuthPassword", "too-short", "InvalidValue"),
        ("SecurityCtrlr", "BasicAuthPassword", "x" * 41, "TooLargeElement"),
    ],
)
def test_set_variables_rejects_invalid_values(
    dm: DeviceModel, component: str, variable: str, value: str, reason: str
) -> None:
    before = dm.value(component, variable)
    result = put_one(dm, component, variable, value)
    assert result["attributeStatus"] == "Rejected"
    assert result["attributeStatusInfo"]["reasonCode"] == reason
    assert dm.value(component, variable) == before


def test_set_variables_list_values(dm: DeviceModel) -> None:
    accepted = put(
        dm,
        cv("TxCtrlr", "TxStartPoint", value="EVConnected, Authorized"),
        cv("SampledDataCtrlr", "TxEndedMeasurands", value=""),  # empty MemberList: nothing
        cv("ClockCtrlr", "TimeSource", value="RealTimeClock,Heartbeat"),
        cv("AuthCacheCtrlr", "Policy", value="LRU"),
    )
    assert [r["attributeStatus"] for r in accepted] == ["Accepted"] * 4
    assert dm.get_list("TxCtrlr", "TxStartPoint") == ["EVConnected", "Authorized"]
    assert dm.get_list("SampledDataCtrlr", "TxEndedMeasurands") == []
    assert dm.get_list("ClockCtrlr", "TimeSource") == ["RealTimeClock", "Heartbeat"]


def test_set_variables_hints_at_the_right_spelling(dm: DeviceModel) -> None:
    result = put_one(dm, "TxCtrlr", "TxStartPoint", "powerpathclosed")
    assert result["attributeStatus"] == "Rejected"
    assert "did you mean 'PowerPathClosed'" in result["attributeStatusInfo"]["additionalInfo"]


def test_set_variables_respects_configuration_value_size(dm: DeviceModel) -> None:
    dm.apply_overrides({"DeviceDataCtrlr.ConfigurationValueSize": "10"})
    result = put_one(dm, "SecurityCtrlr", "OrganizationName", "Open Charge Alliance")
    assert result["attributeStatus"] == "Rejected"
    assert result["attributeStatusInfo"]["reasonCode"] == "TooLargeElement"
    assert put_one(dm, "SecurityCtrlr", "OrganizationName", "OCA")["attributeStatus"] == "Accepted"


def test_set_variables_unknown_targets(dm: DeviceModel) -> None:
    """B05.FR.04-06."""
    results = put(
        dm,
        cv("FluxCapacitor", "HeartbeatInterval", value="1"),
        cv("OCPPCommCtrlr", "FluxLevel", value="1"),
        cv("OCPPCommCtrlr", "HeartbeatInterval", attr="Target", value="1"),
    )
    assert [(r["attributeStatus"], r["attributeType"]) for r in results] == [
        ("UnknownComponent", "Actual"),
        ("UnknownVariable", "Actual"),
        ("NotSupportedAttributeType", "Target"),
    ]


def test_set_variables_write_only_is_settable_but_never_readable(dm: DeviceModel) -> None:
    new_password = "fedcba9876543210fedcba"
    assert put_one(dm, "SecurityCtrlr", "BasicAuthPassword", new_password)["attributeStatus"] == "Accepted"
    assert dm.get_str("SecurityCtrlr", "BasicAuthPassword") == new_password  # the station can use it
    (result,) = get(dm, cv("SecurityCtrlr", "BasicAuthPassword"))
    assert result["attributeStatus"] == "Rejected"


def test_set_variables_other_attribute_types(dm: DeviceModel) -> None:
    """B05.FR.03: the attributeType is echoed; each attribute is validated and stored alone."""
    add_fan(dm)
    results = put(
        dm,
        cv("AirCoolingSystem", "FanSpeed", attr="Target", value="3000"),
        cv("AirCoolingSystem", "FanSpeed", attr="MaxSet", value="9000"),
        cv("AirCoolingSystem", "FanSpeed", attr="Actual", value="3000"),
    )
    assert [(r["attributeType"], r["attributeStatus"]) for r in results] == [
        ("Target", "Accepted"),
        ("MaxSet", "Rejected"),
        ("Actual", "Rejected"),
    ]
    assert dm.value("AirCoolingSystem", "FanSpeed", attribute=AttributeType.TARGET) == "3000"
    assert dm.value("AirCoolingSystem", "FanSpeed", attribute=AttributeType.MAX_SET) == "5000"


def test_set_variables_date_time_values(dm: DeviceModel) -> None:
    dm.add(
        VariableDefinition(
            Component("ClockCtrlr"),
            Variable("NextTimeOffsetTransitionDateTime"),
            VariableCharacteristics(DataType.DATE_TIME),
        )
    )
    ok = put_one(dm, "ClockCtrlr", "NextTimeOffsetTransitionDateTime", "2026-03-29T01:00:00.123+01:00")
    assert ok["attributeStatus"] == "Accepted"
    for bad in (
        "2026-03-29 01:00:00Z",
        "2026-03-29T01:00:00",
        "2026-02-30T01:00:00Z",
        "2026-03-29T01:00:00.1234Z",
    ):
        assert (
            put_one(dm, "ClockCtrlr", "NextTimeOffsetTransitionDateTime", bad)["attributeStatus"]
            == "Rejected"
        )


def test_set_variables_too_many_items_raises(dm: DeviceModel) -> None:
    dm.apply_overrides({"DeviceDataCtrlr.ItemsPerMessage[SetVariables]": 2})
    items = [cv("OCPPCommCtrlr", "HeartbeatInterval", value=str(n)) for n in (10, 20, 30)]
    with pytest.raises(TooManyItems, match="SetVariables"):
        dm.set_variables({"setVariableData": items})
    assert dm.get_int("OCPPCommCtrlr", "HeartbeatInterval") == 300  # nothing applied


# ---------------------------------------------------------------------------------------------
# Network configuration through SetVariables (B09, B10)
# ---------------------------------------------------------------------------------------------


def configure_slot_1(dm: DeviceModel, url: str = "ws://backup.local/ocpp", profile: str = "1") -> None:
    results = put(
        dm,
        cv("NetworkConfiguration", "OcppCsmsUrl", cinst="1", value=url),
        cv("NetworkConfiguration", "OcppInterface", cinst="1", value="Wireless0"),
        cv("NetworkConfiguration", "MessageTimeout", cinst="1", value="45"),
        cv("NetworkConfiguration", "SecurityProfile", cinst="1", value=profile),
    )
    assert [r["attributeStatus"] for r in results] == ["Accepted"] * 4, results


def test_priority_change_needs_a_reboot(dm: DeviceModel) -> None:
    """B10.FR.01: RebootRequired for a valid new order; unchanged order is simply Accepted."""
    configure_slot_1(dm)
    result = put_one(dm, "OCPPCommCtrlr", "NetworkConfigurationPriority", "1,0")
    assert result["attributeStatus"] == "RebootRequired"
    assert dm.get_list("OCPPCommCtrlr", "NetworkConfigurationPriority") == ["1", "0"]
    assert (
        put_one(dm, "OCPPCommCtrlr", "NetworkConfigurationPriority", "1,0")["attributeStatus"] == "Accepted"
    )


def test_priority_rejects_unknown_and_incomplete_slots(dm: DeviceModel) -> None:
    """B09.FR.34/B10.FR.02: InvalidNetworkConf for an incomplete slot; slots outside valuesList."""
    incomplete = put_one(dm, "OCPPCommCtrlr", "NetworkConfigurationPriority", "0,1")
    assert incomplete["attributeStatus"] == "Rejected"
    assert incomplete["attributeStatusInfo"]["reasonCode"] == "InvalidNetworkConf"
    unknown = put_one(dm, "OCPPCommCtrlr", "NetworkConfigurationPriority", "0,2")
    assert unknown["attributeStatusInfo"]["reasonCode"] == "InvalidValue"
    configure_slot_1(dm, url="ws://insecure.local/ocpp", profile="2")
    insecure = put_one(dm, "OCPPCommCtrlr", "NetworkConfigurationPriority", "1")
    assert insecure["attributeStatus"] == "Rejected"
    assert "wss://" in insecure["attributeStatusInfo"]["additionalInfo"]


def test_slots_in_use_cannot_be_changed(dm: DeviceModel) -> None:
    """B09.FR.22 (errata reasonCode ActiveNetworkConf); B09.FR.20 removing a slot is fine."""
    result = put_one(dm, "NetworkConfiguration", "OcppCsmsUrl", "ws://evil.local/", cinst="0")
    assert result["attributeStatus"] == "Rejected"
    assert result["attributeStatusInfo"]["reasonCode"] == "ActiveNetworkConf"
    configure_slot_1(dm)
    assert (
        put_one(dm, "OCPPCommCtrlr", "NetworkConfigurationPriority", "1")["attributeStatus"]
        == "RebootRequired"
    )
    changed = put_one(dm, "NetworkConfiguration", "OcppCsmsUrl", "ws://new.local/", cinst="0")
    assert changed["attributeStatus"] == "Accepted"


def test_security_profile_downgrades(dm: DeviceModel) -> None:
    """B09.FR.35 (no downgrade by default), B09.FR.32 (never to 1), 3 -> 2 only when allowed."""
    dm = make_model(security_profile=3, csms_url="wss://csms.local/ocpp")
    low = put_one(dm, "NetworkConfiguration", "SecurityProfile", "2", cinst="1")
    assert low["attributeStatusInfo"]["reasonCode"] == "NoSecurityDowngrade"
    assert (
        put_one(dm, "SecurityCtrlr", "AllowSecurityProfileDowngrade", "true")["attributeStatus"] == "Accepted"
    )
    assert (
        put_one(dm, "NetworkConfiguration", "SecurityProfile", "2", cinst="1")["attributeStatus"]
        == "Accepted"
    )
    to_one = put_one(dm, "NetworkConfiguration", "SecurityProfile", "1", cinst="1")
    assert to_one["attributeStatusInfo"]["reasonCode"] == "NoSecurityDowngrade"


# ---------------------------------------------------------------------------------------------
# Station-side access
# ---------------------------------------------------------------------------------------------


def test_typed_getters(dm: DeviceModel) -> None:
    assert dm.get_bool("OCPPCommCtrlr", "QueueAllMessages") is False
    assert dm.get_float("EVSE", "Power", evse=1) == 0.0
    assert dm.get_list("SmartChargingCtrlr", "RateUnit") == ["A", "W"]
    assert dm.get_str(Component("NetworkConfiguration", "0"), "OcppVersion") == "OCPP21"
    assert dm.get_int("OCPPCommCtrlr", "NoSuchThing", default=7) == 7
    assert dm.get_int(Component("NetworkConfiguration", "1"), "MessageTimeout", default=30) == 30  # unset
    assert dm.get_str(Component("NetworkConfiguration", "1"), "OcppCsmsUrl") == ""
    with pytest.raises(KeyError, match=re.escape("did you mean 'OCPPCommCtrlr.HeartbeatInterval'")):
        dm.get_int("OCPPCommCtrlr", "HeartbeatIntervall")
    with pytest.raises(ValueError, match="not a integer"):
        dm.get_int("ChargingStation", "VendorName")
    with pytest.raises(ValueError, match="no value set"):
        dm.get_int(Component("NetworkConfiguration", "1"), "MessageTimeout")


def test_set_actual_ignores_mutability_but_validates(dm: DeviceModel) -> None:
    assert dm.set_actual("Connector", "AvailabilityState", "Occupied", evse=1, connector=1) is True
    assert dm.set_actual("Connector", "AvailabilityState", "Occupied", evse=1, connector=1) is False
    assert dm.get_str("Connector", "AvailabilityState", evse=1, connector=1) == "Occupied"
    assert dm.set_actual("EVSE", "Power", 7360.5, evse=1)
    assert dm.value("EVSE", "Power", evse=1) == "7360.5"
    assert dm.set_actual("ChargingStation", "Problem", True)
    assert dm.value("ChargingStation", "Problem") == "true"
    busy = re.escape("Connector(1,1).AvailabilityState: 'Busy' is not in valuesList")
    with pytest.raises(ValueError, match=busy):
        dm.set_actual("Connector", "AvailabilityState", "Busy", evse=1, connector=1)
    with pytest.raises(ValueError, match="above maxLimit 22000"):
        dm.set_actual("EVSE", "Power", 22000.1, evse=1)
    dm.set_actual("EVSE", "Power", 22000.1, evse=1, validate=False)
    assert dm.get_float("EVSE", "Power", evse=1) == 22000.1
    with pytest.raises(KeyError):
        dm.set_actual("EVSE", "Power", 1, evse=9)


def test_on_change_reports_every_change_once(dm: DeviceModel) -> None:
    seen: list[tuple[Component, Variable, AttributeType, str]] = []
    unsubscribe = dm.on_change(lambda *change: seen.append(change))
    put(
        dm,
        cv("OCPPCommCtrlr", "HeartbeatInterval", value="60"),
        cv("OCPPCommCtrlr", "HeartbeatInterval", value="60"),  # unchanged: no second call
        cv("OCPPCommCtrlr", "HeartbeatInterval", value="0"),  # rejected: no call
    )
    dm.set_actual("EVSE", "AvailabilityState", "Unavailable", evse=2)
    dm.apply_overrides({"SampledDataCtrlr.TxUpdatedInterval": "10"})
    assert [(str(c), str(v), a, value) for c, v, a, value in seen] == [
        ("OCPPCommCtrlr", "HeartbeatInterval", AttributeType.ACTUAL, "60"),
        ("EVSE(2)", "AvailabilityState", AttributeType.ACTUAL, "Unavailable"),
        ("SampledDataCtrlr", "TxUpdatedInterval", AttributeType.ACTUAL, "10"),
    ]
    assert seen[0][0] == Component("ocppcommctrlr")
    unsubscribe()
    dm.set_actual("EVSE", "AvailabilityState", "Available", evse=2)
    assert len(seen) == 3


def test_failing_observer_does_not_break_set_variables(
    dm: DeviceModel, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[str] = []

    def broken(*_: object) -> None:
        raise RuntimeError("observer bug")

    dm.on_change(broken)
    dm.on_change(lambda _c, _v, _a, value: calls.append(value))
    with caplog.at_level(logging.ERROR):
        assert put_one(dm, "OCPPCommCtrlr", "HeartbeatInterval", "120")["attributeStatus"] == "Accepted"
    assert calls == ["120"]
    assert "observer failed on OCPPCommCtrlr.HeartbeatInterval" in caplog.text


def test_add_rejects_duplicates_and_invalid_initial_values(dm: DeviceModel) -> None:
    definition = add_fan(dm)
    with pytest.raises(ValueError, match=re.escape("duplicate variable AirCoolingSystem.FanSpeed")):
        dm.add(definition)
    with pytest.raises(ValueError, match="above maxLimit"):
        dm.add(replace_component(definition, "Heater"), {"Actual": "7000"})


def replace_component(definition: VariableDefinition, name: str) -> VariableDefinition:
    return VariableDefinition(
        Component(name), definition.variable, definition.characteristics, definition.attributes
    )


# ---------------------------------------------------------------------------------------------
# Overrides and keys
# ---------------------------------------------------------------------------------------------


def test_overrides_from_a_station_profile(dm: DeviceModel) -> None:
    dm.apply_overrides(
        {
            "OCPPCommCtrlr.HeartbeatInterval": "60",
            "SampledDataCtrlr.TxUpdatedInterval": 10,
            "DeviceDataCtrlr.ItemsPerMessage[GetVariables]": "20",
            "EVSE(1).Power:maxLimit": 11000,
            "connector(2,2).connectortype": "sType2",
            "AuthCtrlr.LocalPreAuthorize": True,
            "TxCtrlr.TxStartPoint": ["EVConnected", "Authorized"],
            "NetworkConfiguration[1].OcppCsmsUrl": "wss://backup.local/ocpp",
        }
    )
    assert dm.get_int("OCPPCommCtrlr", "HeartbeatInterval") == 60
    assert dm.get_int("SampledDataCtrlr", "TxUpdatedInterval") == 10
    assert dm.get_int("DeviceDataCtrlr", "ItemsPerMessage", "GetVariables") == 20
    assert dm.find("EVSE", "Power", evse=1).characteristics.max_limit == 11000  # type: ignore[union-attr]
    assert dm.find("EVSE", "Power", evse=2).characteristics.max_limit == 22000  # type: ignore[union-attr]
    assert dm.get_str("Connector", "ConnectorType", evse=2, connector=2) == "sType2"
    assert dm.get_bool("AuthCtrlr", "LocalPreAuthorize") is True
    assert dm.get_str("TxCtrlr", "TxStartPoint") == "EVConnected,Authorized"
    assert dm.get_str(Component("NetworkConfiguration", "1"), "OcppCsmsUrl") == "wss://backup.local/ocpp"
    with pytest.raises(TooManyItems):
        dm.get_variables({"getVariableData": [cv("OCPPCommCtrlr", "HeartbeatInterval")] * 21})


def test_overrides_change_characteristics_and_mutability(dm: DeviceModel) -> None:
    dm.apply_overrides(
        {
            "TxCtrlr.TxStartPoint:valuesList": "ParkingBayOccupancy,EVConnected,Authorized,PowerPathClosed",
            "TxCtrlr.TxStartPoint": "ParkingBayOccupancy",
            "OCPPCommCtrlr.HeartbeatInterval:mutability": "readonly",
            "OCPPCommCtrlr.HeartbeatInterval:maxLimit": 3600,
            "SecurityCtrlr.Identity:mutability": "ReadWrite",
        }
    )
    assert dm.get_str("TxCtrlr", "TxStartPoint") == "ParkingBayOccupancy"
    rejected = put_one(dm, "OCPPCommCtrlr", "HeartbeatInterval", "60")
    assert rejected["attributeStatusInfo"]["reasonCode"] == "ReadOnly"
    assert put_one(dm, "SecurityCtrlr", "Identity", "CS-42")["attributeStatus"] == "Accepted"
    (entry,) = [
        e for e in dm.report("ConfigurationInventory") if entry_labels([e]) == ["SecurityCtrlr.Identity"]
    ]
    assert entry["variableAttribute"][0]["mutability"] == "ReadWrite"
    heartbeat = dm.find("OCPPCommCtrlr", "HeartbeatInterval")
    assert heartbeat is not None and heartbeat.characteristics.to_ocpp()["maxLimit"] == 3600


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("HeartbeatInterval", "60", "invalid device-model key 'HeartbeatInterval': expected Component"),
        ("OCPPCommCtrlr.HeartbeatInterval:Sometimes", "60", "unknown suffix 'Sometimes'"),
        ("OCPPCommCtrlr.HeartbeatIntervall", "60", "did you mean 'OCPPCommCtrlr.HeartbeatInterval'"),
        ("OCPPComCtrlr.HeartbeatInterval", "60", "unknown component 'OCPPComCtrlr'"),
        ("EVSE(3).Power", "0", "unknown component 'EVSE(3)'"),
        (
            "OCPPCommCtrlr.HeartbeatInterval",
            "sixty",
            "OCPPCommCtrlr.HeartbeatInterval: 'sixty' is not an integer",
        ),
        ("OCPPCommCtrlr.HeartbeatInterval:Target", "60", "has no Target attribute"),
        ("OCPPCommCtrlr.HeartbeatInterval:maxLimit", "lots", "could not convert"),
        ("OCPPCommCtrlr.HeartbeatInterval:mutability", "Sometimes", "mutability must be one of"),
        ("OCPPCommCtrlr.HeartbeatInterval:maxLimit", "100", "current value '300' no longer fits"),
    ],
)
def test_invalid_overrides_raise_readable_errors(dm: DeviceModel, key: str, value: str, message: str) -> None:
    with pytest.raises(ValueError, match="invalid device-model overrides") as caught:
        dm.apply_overrides({key: value})
    assert message in str(caught.value)


def test_overrides_are_all_or_nothing(dm: DeviceModel) -> None:
    with pytest.raises(ValueError) as caught:
        dm.apply_overrides(
            {
                "OCPPCommCtrlr.HeartbeatInterval": "60",
                "OCPPCommCtrlr.WebSocketPingInterval": "-5",
                "EVSE(1).Power:maxLimit": 11000,
                "Nope.Nothing": "1",
            }
        )
    assert "WebSocketPingInterval: -5 is below minLimit 0" in str(caught.value)
    assert "Nope" in str(caught.value)
    assert dm.get_int("OCPPCommCtrlr", "HeartbeatInterval") == 300
    assert dm.find("EVSE", "Power", evse=1).characteristics.max_limit == 22000  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("key", "component", "variable", "suffix"),
    [
        (
            "OCPPCommCtrlr.HeartbeatInterval",
            Component("OCPPCommCtrlr"),
            Variable("HeartbeatInterval"),
            "Actual",
        ),
        (
            "DeviceDataCtrlr.ItemsPerMessage[GetVariables]",
            Component("DeviceDataCtrlr"),
            Variable("ItemsPerMessage", "GetVariables"),
            "Actual",
        ),
        ("EVSE(1).Power:maxLimit", Component("EVSE", evse_id=1), Variable("Power"), "maxLimit"),
        (
            "Connector(1,2).ConnectorType",
            Component("Connector", None, 1, 2),
            Variable("ConnectorType"),
            "Actual",
        ),
        (
            "FiscalMetering[main](2).PublicKey:mutability",
            Component("FiscalMetering", "main", 2),
            Variable("PublicKey"),
            "mutability",
        ),
        (
            "OCPPCommCtrlr.FieldLength[TransactionEvent.idToken]",
            Component("OCPPCommCtrlr"),
            Variable("FieldLength", "TransactionEvent.idToken"),
            "Actual",
        ),
        ("fan.speed:maxset", Component("fan"), Variable("speed"), "MaxSet"),
    ],
)
def test_key_syntax_round_trips(key: str, component: Component, variable: Variable, suffix: str) -> None:
    parsed = parse_key(key)
    assert (parsed.component, parsed.variable, parsed.suffix) == (component, variable, suffix)
    assert parse_key(format_key(parsed.component, parsed.variable, parsed.suffix)) == parsed


def test_component_and_variable_compare_case_insensitively() -> None:
    assert Component("EVSE", evse_id=1) == Component("evse", evse_id=1)
    assert Component("EVSE", evse_id=1) != Component("EVSE", evse_id=2)
    assert Component("ChargingStation", evse_id=0) == Component("ChargingStation")
    assert Variable("ItemsPerMessage", "GetReport") == Variable("itemspermessage", "GETREPORT")
    assert Variable("Power", "") == Variable("Power")
    assert len({Component("EVSE", evse_id=1), Component("Evse", evse_id=1)}) == 1
    with pytest.raises(ValueError, match="connector id needs an EVSE id"):
        Component("Connector", connector_id=1)


# ---------------------------------------------------------------------------------------------
# Reports (B07, B08)
# ---------------------------------------------------------------------------------------------


def notify(entries: list[dict[str, Any]], items: int = 50) -> list[dict[str, Any]]:
    messages = notify_report_requests(
        7, entries, generated_at="2026-01-01T00:00:00.000Z", items_per_message=items
    )
    for message in messages:
        assert_valid("NotifyReportRequest", message)
    return messages


def entry_labels(entries: list[dict[str, Any]]) -> list[str]:
    return [
        format_key(Component.from_ocpp(e["component"]), Variable.from_ocpp(e["variable"])) for e in entries
    ]


def test_full_inventory_lists_everything_without_write_only_values(dm: DeviceModel) -> None:
    """B07.FR.08 (all variables with characteristics), B07.FR.03 (no WriteOnly values)."""
    entries = dm.report("FullInventory")
    notify(entries)
    assert len(entries) == len(dm)
    assert all("variableCharacteristics" in e for e in entries)
    (password,) = [
        e
        for e in entries
        if e["variable"]["name"] == "BasicAuthPassword" and e["component"]["name"] == "SecurityCtrlr"
    ]
    assert password["variableAttribute"] == [
        {"type": "Actual", "mutability": "WriteOnly", "persistent": True, "constant": False}
    ]
    assert PASSWORD not in json.dumps(entries)
    (power,) = [e for e in entries if entry_labels([e]) == ["EVSE(1).Power"]]
    assert power["variableCharacteristics"] == {
        "dataType": "decimal",
        "unit": "W",
        "maxLimit": 22000,
        "supportsMonitoring": True,
    }


def test_full_inventory_reports_unset_attributes_as_empty(dm: DeviceModel) -> None:
    """B07.FR.11: every supported attribute type is reported, even without a value."""
    add_fan(dm)
    entries = {
        label: e
        for label, e in zip(entry_labels(dm.report("FullInventory")), dm.report("FullInventory"), strict=True)
    }
    fan = entries["AirCoolingSystem.FanSpeed"]["variableAttribute"]
    assert [(a["type"], a["value"]) for a in fan] == [
        ("Actual", "1200"),
        ("Target", ""),
        ("MinSet", "1000"),
        ("MaxSet", "5000"),
    ]
    assert entries["NetworkConfiguration[1].OcppCsmsUrl"]["variableAttribute"][0]["value"] == ""


def test_configuration_inventory_lists_only_settable_variables(dm: DeviceModel) -> None:
    """B07.FR.07."""
    entries = dm.report("ConfigurationInventory")
    notify(entries)
    labels = entry_labels(entries)
    assert "OCPPCommCtrlr.HeartbeatInterval" in labels
    assert "SecurityCtrlr.BasicAuthPassword" in labels  # WriteOnly is settable, value omitted
    assert "TxCtrlr.TxStartPoint" in labels
    assert "ChargingStation.VendorName" not in labels
    assert "DeviceDataCtrlr.ItemsPerMessage[GetVariables]" not in labels
    assert all(any(a["mutability"] != "ReadOnly" for a in e["variableAttribute"]) for e in entries)


def test_summary_inventory_shows_availability_and_problems(dm: DeviceModel) -> None:
    """B07.FR.09: station and EVSE availability, connectors that differ, raised problem flags."""
    assert entry_labels(dm.report("SummaryInventory")) == [
        "ChargingStation.AvailabilityState",
        "EVSE(1).AvailabilityState",
        "EVSE(2).AvailabilityState",
    ]
    dm.set_actual("Connector", "AvailabilityState", "Faulted", evse=2, connector=2)
    dm.set_actual("EVSE", "Problem", True, evse=2)
    entries = dm.report("SummaryInventory")
    notify(entries)
    assert entry_labels(entries) == [
        "ChargingStation.AvailabilityState",
        "EVSE(1).AvailabilityState",
        "EVSE(2).AvailabilityState",
        "EVSE(2).Problem",
        "Connector(2,2).AvailabilityState",
    ]
    assert entries[-1]["variableAttribute"][0]["value"] == "Faulted"


def test_unsupported_report_base(dm: DeviceModel) -> None:
    with pytest.raises(ValueError, match="unsupported report base 'EverythingInventory'"):
        dm.report("EverythingInventory")


def test_custom_report_by_component_variables(dm: DeviceModel) -> None:
    """B08.FR.20-25: missing variable, instance, evse or connector widen the selection."""
    evse_power = entry_labels(
        dm.custom_report(component_variables=[{"component": {"name": "EVSE"}, "variable": {"name": "power"}}])
    )
    assert evse_power == ["EVSE(1).Power", "EVSE(2).Power"]  # FR.23: every EVSE
    evse_one = entry_labels(
        dm.custom_report(component_variables=[{"component": {"name": "EVSE", "evse": {"id": 1}}}])
    )
    assert evse_one == [
        "EVSE(1).AvailabilityState",
        "EVSE(1).Available",
        "EVSE(1).Power",
        "EVSE(1).SupplyPhases",
        "EVSE(1).Problem",
        "EVSE(1).Temperature",
    ]  # FR.20: every variable of the component
    connectors = entry_labels(
        dm.custom_report(
            component_variables=[
                {"component": {"name": "Connector", "evse": {"id": 2}}, "variable": {"name": "ConnectorType"}}
            ]
        )
    )
    assert connectors == ["Connector(2,1).ConnectorType", "Connector(2,2).ConnectorType"]  # FR.22
    items = entry_labels(
        dm.custom_report(
            component_variables=[
                {"component": {"name": "DeviceDataCtrlr"}, "variable": {"name": "ItemsPerMessage"}}
            ]
        )
    )
    assert items == [
        "DeviceDataCtrlr.ItemsPerMessage[GetReport]",
        "DeviceDataCtrlr.ItemsPerMessage[GetVariables]",
        "DeviceDataCtrlr.ItemsPerMessage[SetVariables]",
    ]  # FR.21
    slot = entry_labels(
        dm.custom_report(
            component_variables=[
                {
                    "component": {"name": "NetworkConfiguration", "instance": "1"},
                    "variable": {"name": "OcppVersion"},
                }
            ]
        )
    )
    assert slot == ["NetworkConfiguration[1].OcppVersion"]  # FR.24


def test_custom_report_by_criteria(dm: DeviceModel) -> None:
    """B08.FR.07-10, FR.13 (criteria OR-ed), FR.05 (criteria and variables combined)."""
    assert dm.custom_report(component_criteria=["Problem"]) == []  # FR.15: EmptyResultSet
    dm.set_actual("EVSE", "Problem", True, evse=1)
    problems = dm.custom_report(component_criteria=["Problem"])
    notify(problems)
    assert {str(Component.from_ocpp(e["component"])) for e in problems} == {"EVSE(1)"}
    put_one(dm, "ReservationCtrlr", "Enabled", "false")
    enabled = {
        str(Component.from_ocpp(e["component"])) for e in dm.custom_report(component_criteria=["Enabled"])
    }
    assert "ReservationCtrlr" not in enabled
    assert {"SmartChargingCtrlr", "ChargingStation", "EVSE(1)"} <= enabled  # true, or no Enabled at all
    either = {
        str(Component.from_ocpp(e["component"]))
        for e in dm.custom_report(component_criteria=["Enabled", "Problem"])
    }
    assert either == enabled | {"EVSE(1)"}
    combined = dm.custom_report(
        component_criteria=["Problem"],
        component_variables=[{"component": {"name": "EVSE"}, "variable": {"name": "Power"}}],
    )
    assert entry_labels(combined) == ["EVSE(1).Power"]


def test_custom_report_too_many_component_variables(dm: DeviceModel) -> None:
    """B08.FR.17 with ItemsPerMessage[GetReport] = 20."""
    wanted = [{"component": {"name": "EVSE"}}] * 21
    with pytest.raises(TooManyItems, match="GetReport"):
        dm.custom_report(component_variables=wanted)
    with pytest.raises(ValueError, match="unsupported component criteria"):
        dm.custom_report(component_criteria=["Shiny"])


def test_notify_report_requests_split_and_number_parts(dm: DeviceModel) -> None:
    """B07.FR.04 (same requestId), B07.FR.10 (seqNo from 0), tbc on all but the last."""
    entries = dm.report("FullInventory")
    messages = notify(entries, items=60)
    assert [m["seqNo"] for m in messages] == [0, 1, 2]
    assert [m["tbc"] for m in messages] == [True, True, False]
    assert {m["requestId"] for m in messages} == {7}
    assert [e for m in messages for e in m["reportData"]] == entries
    assert [len(part) for part in split_report(entries[:5], 2)] == [2, 2, 1]
    assert notify_report_requests(1, [], generated_at="2026-01-01T00:00:00Z") == []
    with pytest.raises(ValueError):
        split_report(entries, 0)


# ---------------------------------------------------------------------------------------------
# Persistence
# ---------------------------------------------------------------------------------------------


def test_persisted_values_survive_a_reboot(dm: DeviceModel) -> None:
    configure_slot_1(dm)
    put(
        dm,
        cv("OCPPCommCtrlr", "HeartbeatInterval", value="42"),
        cv("SecurityCtrlr", "BasicAuthPassword", value="a-brand-new-password"),
        cv("OCPPCommCtrlr", "NetworkConfigurationPriority", value="1,0"),
    )
    dm.set_actual("EVSE", "AvailabilityState", "Unavailable", evse=1)  # live state, not persistent
    saved = dm.to_persisted()
    assert saved["OCPPCommCtrlr.HeartbeatInterval"] == "42"
    assert saved["SecurityCtrlr.BasicAuthPassword"] == "a-brand-new-password"
    assert saved["NetworkConfiguration[1].OcppInterface"] == "Wireless0"
    assert "ChargingStation.VendorName" not in saved  # constant: comes from the profile
    assert "EVSE(1).AvailabilityState" not in saved
    assert json.loads(json.dumps(saved)) == saved

    rebooted = make_model()
    assert rebooted.load_persisted(saved) == []
    assert rebooted.to_persisted() == saved
    assert rebooted.get_int("OCPPCommCtrlr", "HeartbeatInterval") == 42
    assert rebooted.get_list("OCPPCommCtrlr", "NetworkConfigurationPriority") == ["1", "0"]
    assert rebooted.get_str("EVSE", "AvailabilityState", evse=1) == "Available"


def test_load_persisted_skips_what_no_longer_fits(dm: DeviceModel) -> None:
    seen: list[str] = []
    dm.on_change(lambda _c, _v, _a, value: seen.append(value))
    skipped = dm.load_persisted(
        {
            "OCPPCommCtrlr.HeartbeatInterval": "90",
            "OCPPCommCtrlr.RemovedInFirmware2": "1",
            "ChargingStation.VendorName": "Other",
            "EVSE(1).AvailabilityState": "Faulted",
            "OCPPCommCtrlr.WebSocketPingInterval": "-3",
            "not a key": "x",
        }
    )
    assert len(skipped) == 5
    assert any("RemovedInFirmware2" in s for s in skipped)
    assert any("VendorName: not a persistent attribute" in s for s in skipped)
    assert dm.get_int("OCPPCommCtrlr", "HeartbeatInterval") == 90
    assert dm.get_str("ChargingStation", "VendorName") == "ACME"
    assert dm.get_int("OCPPCommCtrlr", "WebSocketPingInterval") == 30
    assert seen == ["90"]
