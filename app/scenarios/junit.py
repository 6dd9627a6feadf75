"""JUnit XML for CI: one test suite per scenario, one test case per step.

CI servers show a failed step with its message (expected frame, frames actually seen) next to
the scenario's name, without anyone opening a log.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from app.scenarios.runner import RunResult, StepStatus


def junit_xml(runs: Sequence[RunResult]) -> str:
    suites = ET.Element("testsuites", name="chargebench scenarios")
    for run in runs:
        failures = sum(1 for s in run.steps if s.status is StepStatus.FAILED)
        skipped = sum(1 for s in run.steps if s.status is StepStatus.SKIPPED)
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=run.scenario.name,
            tests=str(len(run.steps) + (1 if run.setup_error else 0)),
            failures=str(failures),
            errors="1" if run.setup_error else "0",
            skipped=str(skipped),
            time=f"{run.seconds:.3f}",
        )
        if run.scenario.path:
            suite.set("file", run.scenario.path)
        if run.setup_error:
            case = ET.SubElement(suite, "testcase", classname=run.scenario.name, name="setup", time="0")
            ET.SubElement(case, "error", message=run.setup_error).text = run.setup_error
        for step in run.steps:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=run.scenario.name,
                name=f"{step.index:02d} {step.step.describe()}",
                time=f"{step.seconds:.3f}",
            )
            if step.step.line is not None and run.scenario.path:
                case.set("file", run.scenario.path)
                case.set("line", str(step.step.line))
            if step.status is StepStatus.FAILED:
                ET.SubElement(case, "failure", message=step.reason).text = f"{step.title}: {step.reason}"
            elif step.status is StepStatus.SKIPPED:
                ET.SubElement(case, "skipped", message="an earlier step failed or the run was stopped")
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
