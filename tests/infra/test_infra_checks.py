"""cdk-nag and cfn-lint on the synthesized apps."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from cfnlint.api import ManualArgs, lint_file

from infra.nag import acknowledge
from tests.infra.conftest import Synthesized

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_nag_awssolutions_has_no_unacknowledged_findings(
    stage: str, request: pytest.FixtureRequest
) -> None:
    """cdk-nag AwsSolutions (a validation plugin) passes: every finding is acknowledged."""
    synth: Synthesized = request.getfixturevalue(stage)
    assert synth.validation_error is None, synth.validation_error
    report = synth.outdir / "validation-report.json"
    if report.exists():
        for plugin in json.loads(report.read_text())["pluginReports"]:
            assert plugin["violations"] == [], plugin


def test_acknowledgment_without_reason_is_refused() -> None:
    """infra.nag.acknowledge refuses a finding without a written reason."""
    stack = cdk.Stack(cdk.App(), "Empty")
    with pytest.raises(ValueError, match="expected a reason"):
        acknowledge(stack, "AwsSolutions-IAM4", reason="  ")


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_cfn_lint_finds_no_errors(stage: str, request: pytest.FixtureRequest) -> None:
    """cfn-lint reports no errors on the synthesized templates (warnings are allowed)."""
    synth: Synthesized = request.getfixturevalue(stage)
    templates = sorted(synth.outdir.glob("*.template.json"))
    assert templates
    for template in templates:
        matches = lint_file(template, config=ManualArgs(regions=["us-east-1"]))
        errors = [m for m in matches if m.rule.id.startswith("E")]
        assert errors == [], "\n".join(str(m) for m in errors)
