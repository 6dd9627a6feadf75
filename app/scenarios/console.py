"""`chargebench run`: scenarios headless, one readable line per step, JUnit XML for CI.

Exit codes: 0 every scenario passed, 1 a step failed, 2 a scenario file is unusable (the
message names the file and line).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from app.scenarios.junit import junit_xml
from app.scenarios.loader import ScenarioError, load_scenario
from app.scenarios.model import Scenario
from app.scenarios.runner import RunResult, ScenarioRunner, StepResult, StepStatus

_MARKS = {StepStatus.PASSED: " ok ", StepStatus.FAILED: "FAIL", StepStatus.SKIPPED: "skip"}


async def run_files(
    files: Sequence[str],
    out: TextIO,
    err: TextIO,
    *,
    csms_url: str | None = None,
    junit: str | None = None,
    speed: float | None = None,
) -> int:
    scenarios: list[Scenario] = []
    for file in files:
        try:
            scenarios.append(load_scenario(file))
        except ScenarioError as exc:
            print(f"chargebench: bad scenario file\n{exc}", file=err)
            return 2
    runs: list[RunResult] = []
    for scenario in scenarios:
        runs.append(await run_one(scenario, out, csms_url=csms_url, speed=speed))
    if junit:
        try:
            Path(junit).write_text(junit_xml(runs), encoding="utf-8")
        except OSError as exc:
            print(f"chargebench: cannot write {junit}: {exc.strerror or exc}", file=err)
            return 2
    passed = sum(1 for run in runs if run.passed)
    print(f"{passed} of {len(runs)} scenario(s) passed", file=out, flush=True)
    return 0 if passed == len(runs) else 1


async def run_one(
    scenario: Scenario, out: TextIO, *, csms_url: str | None = None, speed: float | None = None
) -> RunResult:
    factor = speed or scenario.speed or 1.0
    where = csms_url or scenario.csms_url or "the built-in CSMS"
    print(f"== {scenario.name} ({scenario.path}) against {where}, speed x{factor:g}", file=out, flush=True)
    runner = ScenarioRunner(scenario, csms_url=csms_url, speed=speed)
    runner.step_finished.connect(lambda step: _print_step(step, out))
    result = await runner.run()
    if result.setup_error:
        print(f"  setup failed: {result.setup_error}", file=out)
    verdict = "PASSED" if result.passed else "FAILED"
    print(f"== {verdict} in {result.seconds:.1f} s", file=out, flush=True)
    if not result.passed:
        print(f"   {result.failure}", file=out, flush=True)
    return result


def _print_step(step: StepResult, out: TextIO) -> None:
    where = f" (line {step.step.line})" if step.step.line else ""
    line = f"  [{_MARKS.get(step.status, step.status.value)}] {step.index:>2} {step.step.describe()}"
    if step.status is StepStatus.FAILED:
        line += f"{where}\n         {step.reason}"
    elif step.reason and step.step.kind in ("tap", "csms_call"):
        line += f"  -> {step.reason}"
    print(line, file=out, flush=True)

