"""Station profiles and templates: shapes, line-accurate errors, safe loading, round trips."""

from __future__ import annotations

import dataclasses
import json
import textwrap
from pathlib import Path

import jsonschema
import pytest
import yaml

from app.protocol.schemas import OcppVersion
from app.station.config import StationConfig
from app.station.device_model import DeviceModel, parse_key
from app.station.profile import (
    SCHEMA_PATH,
    ProfileError,
    build_device_model,
    config_from_template,
    list_templates,
    load_profile,
    profile_data,
    save_profile,
)

CONNECTOR_CSV = Path("/work/shared/spec/ocpp-2.1/Appendices_CSV_v2.0/connectorenumtype.csv")

# name -> [(phases, rated power W, [connector types])] per EVSE
EXPECTED_SHAPES = {
    "ac-22kw-dual-socket": [(3, 22080.0, ["sType2"]), (3, 22080.0, ["sType2"])],
    "ac-11kw-wallbox": [(3, 11040.0, ["cType2"])],
    "ac-7kw-single-phase": [(1, 7360.0, ["sType2"])],
    "dc-150kw-ccs-chademo": [(0, 150000.0, ["cCCS2", "cG105"])],
    "dc-50kw-triple": [(0, 50000.0, ["cCCS2", "cG105"]), (3, 43470.0, ["cType2"])],
    "dc-bidirectional-11kw": [(0, 11000.0, ["cCCS2"])],
}

MINIMAL = """\
id: ST-1
csms:
  url: ws://127.0.0.1:9000/ocpp
"""


def write(tmp_path: Path, text: str, name: str = "station.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load_error(path: Path, **kwargs: str) -> str:
    with pytest.raises(ProfileError) as info:
        load_profile(path, **kwargs)
    return str(info.value)


def line_of(path: Path, needle: str) -> int:
    """1-based line of the first line containing `needle`: tests do not hard-code numbers."""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


# -- schema ------------------------------------------------------------------------------------


def test_schema_is_valid() -> None:
    jsonschema.Draft202012Validator.check_schema(json.loads(SCHEMA_PATH.read_text()))


@pytest.mark.skipif(not CONNECTOR_CSV.is_file(), reason="OCPP appendix CSVs not available here")
def test_schema_lists_every_appendix_connector_type() -> None:
    schema = json.loads(SCHEMA_PATH.read_text())
    values = [line.split(";")[0] for line in CONNECTOR_CSV.read_text().splitlines()[1:] if line.strip()]
    assert schema["$defs"]["connector"]["properties"]["type"]["enum"] == values


def test_every_object_in_the_schema_is_closed_and_described() -> None:
    schema = json.loads(SCHEMA_PATH.read_text())
    objects = [schema, *schema["$defs"].values(), schema["properties"]["csms"]]
    for node in objects:
        if node.get("type") == "object" and "properties" in node:
            assert node["additionalProperties"] is False, node.get("description")
            for name, prop in node["properties"].items():
                assert prop.get("description") or "$ref" in prop, name


# -- templates ---------------------------------------------------------------------------------


def test_list_templates_names_titles_and_paths() -> None:
    templates = {t.name: t for t in list_templates()}
    assert set(templates) == set(EXPECTED_SHAPES)
    for template in templates.values():
        assert template.path.is_file()
        assert template.title and template.title != template.name
        assert template.description
        assert template.path.read_text().startswith("#"), "templates open with a comment on their shape"


@pytest.mark.parametrize("name", sorted(EXPECTED_SHAPES))
def test_template_loads_with_its_shape(name: str) -> None:
    template = next(t for t in list_templates() if t.name == name)
    config = load_profile(template.path)
    assert config.csms_url == "ws://127.0.0.1:9000/ocpp"
    shape = [(e.phases, e.rated_power_w, [c.connector_type for c in e.connectors]) for e in config.evses]
    assert shape == EXPECTED_SHAPES[name]
    assert config.evse_count == len(EXPECTED_SHAPES[name])
    assert config.overrides, "templates carry device-model settings"
    assert len(config.model) <= 20


@pytest.mark.parametrize("name", sorted(EXPECTED_SHAPES))
def test_template_builds_a_device_model(name: str) -> None:
    config = config_from_template(name, station_id="T-42", csms_url="wss://csms.example/ocpp")
    assert (config.station_id, config.csms_url) == ("T-42", "wss://csms.example/ocpp")
    dm = DeviceModel.standard(
        [len(e.connectors) for e in config.evses],
        vendor=config.vendor,
        model=config.model,
        serial=config.serial_number or config.station_id,
        firmware=config.firmware_version,
        supply_phases=max(e.phases for e in config.evses),
        evse_max_power_w=max(e.rated_power_w for e in config.evses),
        connector_type=config.evses[0].connectors[0].connector_type,
    )
    dm.apply_overrides(config.overrides)
    # The full model reports each EVSE and connector as the profile describes it.
    full = build_device_model(config)
    for n, evse in enumerate(config.evses, start=1):
        assert full.get_int("EVSE", "SupplyPhases", evse=n) == evse.phases
        for m, connector in enumerate(evse.connectors, start=1):
            assert full.get_str("Connector", "ConnectorType", evse=n, connector=m) == connector.connector_type
    for key, value in config.overrides.items():
        parsed = parse_key(key)
        assert full.get_str(parsed.component, parsed.variable) == value


def test_unknown_template_is_a_profile_error() -> None:
    with pytest.raises(ProfileError, match="ac-22kw-dual-socket"):
        config_from_template("nope", station_id="X", csms_url="ws://h/ocpp")


# -- loading -----------------------------------------------------------------------------------


def test_minimal_profile_takes_station_defaults(tmp_path: Path) -> None:
    config = load_profile(write(tmp_path, MINIMAL))
    default = StationConfig("ST-1", "ws://127.0.0.1:9000/ocpp")
    assert config == default


def test_station_id_and_url_given_when_loading_replace_the_files(tmp_path: Path) -> None:
    path = write(tmp_path, "csms: {securityProfile: 1}\n")
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    assert "no station id" in str(info.value) and "no CSMS URL" in str(info.value)
    config = load_profile(path, station_id="CLI-1", csms_url="ws://10.0.0.1/ocpp")
    assert (config.station_id, config.csms_url) == ("CLI-1", "ws://10.0.0.1/ocpp")


def test_bad_station_id_or_url_given_when_loading_is_reported(tmp_path: Path) -> None:
    message = load_error(write(tmp_path, MINIMAL), station_id="a:b", csms_url="http://h/ocpp")
    assert "station id 'a:b' (given when loading)" in message
    assert "CSMS URL 'http://h/ocpp' (given when loading) must be a WebSocket URL" in message


def test_full_profile_maps_every_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CB_TEST_PASSWORD", "0123456789abcdefXYZ")
    path = write(
        tmp_path,
        """\
        id: FULL-1
        csms:
          url: wss://csms.example:443/ocpp
          securityProfile: 2
          passwordEnv: CB_TEST_PASSWORD
          caFile: certs/ca.pem
          verifyTls: false
        ocpp: ["2.0.1"]
        vendor: Example
        model: Box
        serialNumber: SN-1
        firmwareVersion: "9.9"
        evses:
          - phases: 1
            maxCurrent: 16
            nominalVoltage: 120
            connectors: [{type: cType1, maxCurrent: 12}]
        deviceModel:
          OCPPCommCtrlr.HeartbeatInterval: 60
          TxCtrlr.StopTxOnInvalidId: false
          SmartChargingCtrlr.LimitChangeSignificance: 2.5
          TxCtrlr.TxStartPoint: [EVConnected, Authorized]
        dataTransfer:
          com.example: {status: Rejected}
          com.example/Ping: {status: Accepted, data: {pong: true}}
        statePath: state/station.db
        """,
    )
    config = load_profile(path)
    assert config.password == "0123456789abcdefXYZ"
    assert config.security_profile == 2 and config.verify_tls is False
    assert config.ca_file == str(tmp_path / "certs" / "ca.pem")
    assert config.state_path == str(tmp_path / "state" / "station.db")
    assert config.versions == (OcppVersion.V201,)
    assert (config.vendor, config.model, config.serial_number, config.firmware_version) == (
        "Example",
        "Box",
        "SN-1",
        "9.9",
    )
    (evse,) = config.evses
    assert (evse.phases, evse.max_current_a, evse.nominal_voltage_v) == (1, 16.0, 120.0)
    assert [(c.connector_type, c.max_current_a) for c in evse.connectors] == [("cType1", 12.0)]
    assert config.overrides == {
        "OCPPCommCtrlr.HeartbeatInterval": "60",
        "TxCtrlr.StopTxOnInvalidId": "false",
        "SmartChargingCtrlr.LimitChangeSignificance": "2.5",
        "TxCtrlr.TxStartPoint": "EVConnected,Authorized",
    }
    assert config.data_transfer == {
        "com.example": {"status": "Rejected"},
        "com.example/Ping": {"status": "Accepted", "data": {"pong": True}},
    }


def test_json_profile_by_extension(tmp_path: Path) -> None:
    data = {"id": "J-1", "csms": {"url": "ws://h/ocpp"}, "evses": [{"connectors": [{"type": "cCCS1"}]}]}
    path = tmp_path / "station.json"
    path.write_text(json.dumps(data, indent=2))
    assert load_profile(path).evses[0].connectors[0].connector_type == "cCCS1"
    data["evses"][0]["connectors"][0]["type"] = "CCS1"  # type: ignore[index]
    path.write_text(json.dumps(data, indent=2))
    message = load_error(path)
    assert f"{path}:{line_of(path, 'CCS1')}: evses[0].connectors[0].type: 'CCS1'" in message
    assert "did you mean 'cCCS1'?" in message


def test_json_profile_by_content(tmp_path: Path) -> None:
    path = write(tmp_path, '{"id": "J-2", "csms": {"url": "ws://h/ocpp"}}', name="station.profile")
    assert load_profile(path).station_id == "J-2"


# -- errors name the line ------------------------------------------------------------------------


def test_bad_connector_type_names_line_and_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        MINIMAL
        + """\
evses:
  - phases: 3
    connectors:
      - type: sType2
      - type: Type2
""",
    )
    message = load_error(path)
    expected = f"{path}:{line_of(path, 'Type2') + 1}: evses[0].connectors[1].type: 'Type2' is not one of"
    assert message.startswith(expected)
    assert "did you mean 'sType2'?" in message


def test_unknown_override_variable_names_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        MINIMAL
        + """\
deviceModel:
  OCPPCommCtrlr.HeartbeatInterval: 60
  TxCtrlr.TxStopPont: EVConnected
  OCPPCommCtrlr.WebSocketPingInterval: 30
""",
    )
    message = load_error(path)
    line = line_of(path, "TxStopPont")
    assert message == (
        f'{path}:{line}: deviceModel["TxCtrlr.TxStopPont"]: unknown variable '
        "'TxCtrlr.TxStopPont'; did you mean 'TxCtrlr.TxStopPoint'?"
    )


def test_every_bad_override_is_reported_with_its_own_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        MINIMAL
        + """\
deviceModel:
  OCPPCommCtrlr.HeartbeatInterval: -5
  Bogus: 1
  TxCtrlr.TxStopPoint: Sometimes
""",
    )
    lines = load_error(path).splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(f"{path}:{line_of(path, 'Heartbeat')}: ")
    assert "minLimit" in lines[0]
    assert lines[1].startswith(
        f"{path}:{line_of(path, 'Bogus')}: deviceModel.Bogus: invalid device-model key"
    )
    assert lines[2].startswith(f'{path}:{line_of(path, "TxStopPoint")}: deviceModel["TxCtrlr.TxStopPoint"]')


def test_wrong_type_names_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        MINIMAL
        + """\
evses:
  - maxCurrent: lots
    connectors: [{type: cType2}]
""",
    )
    assert load_error(path) == f"{path}:{line_of(path, 'lots')}: evses[0].maxCurrent: 'lots' is not a number"


def test_unquoted_version_and_firmware_get_a_quoting_hint(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "ocpp: [2.1]\nfirmwareVersion: 1.0\n")
    message = load_error(path)
    assert (
        f"{path}:{line_of(path, 'ocpp:')}: ocpp[0]: 2.1 is read as a number here; write it in quotes"
        in message
    )
    assert f"{path}:{line_of(path, 'firmware')}: firmwareVersion: 1.0 is read as a float" in message


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    path = write(tmp_path, "id: ST-1\ncsms:\n  url: ws://h/ocpp\n   verifyTls: true\n")
    message = load_error(path)
    assert message.startswith(f"{path}:4: YAML syntax error:")


def test_json_syntax_error_names_line(tmp_path: Path) -> None:
    path = write(tmp_path, '{\n  "id": "a",\n  "csms": {"url": "ws://h"},,\n}\n', name="station.json")
    assert load_error(path).startswith(f"{path}:3: JSON syntax error:")


def test_unknown_top_level_key_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "evse:\n  - connectors: [{type: cType2}]\n")
    message = load_error(path)
    assert message.startswith(f"{path}:{line_of(path, 'evse:')}: evse: unknown key; did you mean 'evses'?")


def test_unknown_nested_key_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "  verifyTLS: false\n")
    assert load_error(path).startswith(f"{path}:4: csms.verifyTLS: unknown key; did you mean 'verifyTls'?")


def test_duplicate_keys_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "id: ST-2\n")
    assert load_error(path) == f"{path}:4: duplicate key 'id' (first given on line 1)"


def test_all_schema_problems_come_at_once_in_line_order(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        id: "a:b"
        csms:
          url: http://h/ocpp
          securityProfile: 4
        model: A model name that is far too long for OCPP
        """,
    )
    lines = load_error(path).splitlines()
    assert [line.split(":")[1] for line in lines] == ["1", "3", "4", "5"]
    assert "must not contain ':'" in lines[0]
    assert "ws://" in lines[1]
    assert "at most 20" in lines[3]


def test_cross_field_rules(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        id: ST-1
        csms:
          url: ws://h/ocpp
          securityProfile: 3
        evses:
          - phases: 0
            maxCurrent: 100
            connectors: [{type: cCCS2, maxCurrent: 200}]
          - phases: 3
            dcMaxPower: 11000
            connectors: [{type: cType2}]
        """,
    )
    message = load_error(path)
    assert f"{path}:3: csms.url: security profile 3 runs over TLS" in message
    assert "needs clientCert" in message and "needs clientKey" in message
    assert f"{path}:6: evses[0]: a DC EVSE (phases: 0) needs dcMaxPower" in message
    assert f"{path}:8: evses[0].connectors[0].maxCurrent: 200 A exceeds" in message
    assert f"{path}:10: evses[1].dcMaxPower: dcMaxPower is for DC EVSEs only" in message


# -- safe loading --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tag",
    [
        '!!python/object/apply:os.system ["touch {marker}"]',
        '!!python/object/new:subprocess.check_call [["touch", "{marker}"]]',
        "!!python/name:os.system",
        "!!python/object:app.station.config.StationConfig {{station_id: X, csms_url: 'ws://h'}}",
    ],
)
def test_python_tags_are_refused_and_nothing_runs(tmp_path: Path, tag: str) -> None:
    marker = tmp_path / "PWNED"
    path = write(tmp_path, MINIMAL + f"vendor: {tag.format(marker=marker)}\n")
    message = load_error(path)
    assert message.startswith(f"{path}:4: YAML tag '!!python/")
    assert "not allowed" in message
    assert not marker.exists()


# -- passwords -----------------------------------------------------------------------------------


def test_password_env_resolves_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CB_STATION_SECRET", "s3cret-s3cret-s3cret")
    path = write(tmp_path, MINIMAL + "  passwordEnv: CB_STATION_SECRET\n")
    assert load_profile(path).password == "s3cret-s3cret-s3cret"


def test_missing_password_env_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CB_STATION_SECRET", raising=False)
    path = write(tmp_path, MINIMAL + "  passwordEnv: CB_STATION_SECRET\n")
    assert load_error(path) == (
        f"{path}:4: csms.passwordEnv: environment variable CB_STATION_SECRET is not set; "
        "it should hold the station's basic-auth password"
    )


def test_short_password_from_env_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CB_STATION_SECRET", "short")
    path = write(tmp_path, MINIMAL + "  passwordEnv: CB_STATION_SECRET\n")
    assert "16 to 40" in load_error(path)


def test_password_and_password_env_exclude_each_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CB_STATION_SECRET", "s3cret-s3cret-s3cret")
    path = write(tmp_path, MINIMAL + "  password: s3cret-s3cret-s3cret\n  passwordEnv: CB_STATION_SECRET\n")
    assert load_error(path) == f"{path}:5: csms.passwordEnv: give either password or passwordEnv, not both"


# -- saving --------------------------------------------------------------------------------------


def rich_config(tmp_path: Path) -> StationConfig:
    config = config_from_template("dc-50kw-triple", station_id="RT-1", csms_url="wss://csms.example/ocpp")
    return dataclasses.replace(
        config,
        password="a-password-of-20chars",
        security_profile=2,
        versions=(OcppVersion.V201, OcppVersion.V21),
        serial_number="SN-RT-1",
        ca_file=str(tmp_path / "pki" / "ca.pem"),
        verify_tls=False,
        data_transfer={"com.example/Ping": {"status": "Accepted", "data": {"n": [1, 2.5, "x"]}}},
        state_path=str(tmp_path / "state" / "rt1.db"),
    )


def test_save_load_round_trip_keeps_everything_but_the_password(tmp_path: Path) -> None:
    config = rich_config(tmp_path)
    path = tmp_path / "profiles" / "rt1.yaml"
    path.parent.mkdir()
    save_profile(config, path)
    text = path.read_text()
    assert "a-password-of-20chars" not in text
    assert "password is not saved" in text
    assert "statePath: ../state/rt1.db" in text, "paths are written relative to the profile"
    loaded = load_profile(path)
    assert loaded.password is None
    assert loaded == dataclasses.replace(config, password=None)


def test_save_writes_password_env_and_loading_reads_it_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RT_PASSWORD", "from-the-environment")
    config = rich_config(tmp_path)
    path = tmp_path / "rt1.yaml"
    save_profile(config, path, password_env="RT_PASSWORD")
    text = path.read_text()
    assert "passwordEnv: RT_PASSWORD" in text
    assert "a-password-of-20chars" not in text and "not saved" not in text
    loaded = load_profile(path)
    assert loaded == dataclasses.replace(config, password="from-the-environment", password_env="RT_PASSWORD")


def test_saved_profile_validates_against_the_schema(tmp_path: Path) -> None:
    config = rich_config(tmp_path)
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.validate(profile_data(config, base=tmp_path), schema)
    path = tmp_path / "saved.yaml"
    save_profile(config, path)
    jsonschema.validate(yaml.safe_load(path.read_text()), schema)


def test_every_template_survives_a_round_trip(tmp_path: Path) -> None:
    for template in list_templates():
        config = load_profile(template.path)
        path = tmp_path / f"{template.name}.yaml"
        save_profile(config, path)
        assert load_profile(path) == config, template.name


def test_profiles_cannot_express_ocpp_16(tmp_path: Path) -> None:
    config = StationConfig("X", "ws://h/ocpp", versions=(OcppVersion.V16,))
    with pytest.raises(ValueError, match=r"2\.1 and 2\.0\.1 only"):
        save_profile(config, tmp_path / "x.yaml")
