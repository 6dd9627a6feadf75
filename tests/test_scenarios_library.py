"""Every bundled scenario runs headless against the built-in CSMS and passes.

This is the acceptance test of resources/scenarios/: each file is one OCPP 2.1 flow, run over
real websockets on loopback with the speed the file asks for.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.scenarios.loader import library, load_scenario
from app.scenarios.runner import ScenarioRunner

FILES = library()


def test_the_library_covers_the_main_flows() -> None:
    assert len(FILES) >= 20
    actions = {
        step.args["action"]
        for path in FILES
        for step in load_scenario(path).steps
        if step.kind == "csms_call"
    }
    # Remote start, reservation, local list, smart charging, unlock, availability, firmware, V2X.
    for action in (
        "RequestStartTransaction",
        "ReserveNow",
        "SendLocalList",
        "SetChargingProfile",
        "UnlockConnector",
        "ChangeAvailability",
        "UpdateFirmware",
    ):
        assert action in actions, action
    start_points = {
        step_setting
        for path in FILES
        for spec in load_scenario(path).stations
        if (step_setting := spec.settings.get("TxCtrlr.TxStartPoint"))
    }
    assert {"EVConnected", "Authorized", "PowerPathClosed", "EnergyTransfer"} <= start_points


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
async def test_library_scenario_passes_headless(path: Path) -> None:
    result = await ScenarioRunner(load_scenario(path)).run()
    assert result.passed, result.failure
    assert all(step.status == "passed" for step in result.steps)
