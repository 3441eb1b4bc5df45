"""template.yaml is the single source of truth: it must lint clean with both of AWS's linters."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.template import ROOT, template

SAM = ROOT / ".venv-sam" / "bin" / "sam"


def test_cfn_lint_passes():
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run([str(cfn_lint), "template.yaml"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_sam_validate_lint_passes():
    assert SAM.exists(), "make test installs SAM CLI into .venv-sam (scripts/bootstrap.sh WITH_SAM=1)"
    env = {
        **os.environ,
        "AWS_DEFAULT_REGION": "us-east-1",
        "SAM_CLI_TELEMETRY": "0",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    result = subprocess.run(
        [str(SAM), "validate", "--lint"], cwd=ROOT, capture_output=True, text=True, timeout=180, env=env
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


def _sam_env() -> dict[str, str]:
    return {
        **os.environ,
        "AWS_DEFAULT_REGION": "us-east-1",
        "SAM_CLI_TELEMETRY": "0",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }


def test_both_linters_pass_with_snapstart_on(tmp_path):
    """The SnapStart parameter's other value: every function restored from a snapshot of its version."""
    source = (ROOT / "template.yaml").read_text()
    on = source.replace(
        "    Default: None\n    AllowedValues: [None, PublishedVersions]",
        "    Default: PublishedVersions\n    AllowedValues: [None, PublishedVersions]",
        1,
    )
    assert on != source
    (tmp_path / "template.yaml").write_text(on)
    cfn_lint = Path(sys.executable).parent / "cfn-lint"

    linted = subprocess.run(
        [str(cfn_lint), str(tmp_path / "template.yaml")], capture_output=True, text=True, timeout=120
    )
    validated = subprocess.run(
        [str(SAM), "validate", "--lint", "--template-file", str(tmp_path / "template.yaml")],
        capture_output=True, text=True, timeout=180, env=_sam_env(),
    )  # fmt: skip

    assert linted.returncode == 0, linted.stdout + linted.stderr
    assert validated.returncode == 0, validated.stdout + validated.stderr


def test_every_function_is_invoked_through_its_published_alias():
    """SnapStart applies to published versions only: the alias is what everything must call."""
    parsed = template()
    function_globals = parsed["Globals"]["Function"]

    assert function_globals["AutoPublishAlias"] == "live"
    assert function_globals["SnapStart"] == {"ApplyOn": {"Ref": "SnapStart"}}
    machine = parsed["Resources"]["PollPendingStateMachine"]["Properties"]
    assert machine["DefinitionSubstitutions"]["PollPendingFunctionArn"] == {"Ref": "PollPendingFunction.Alias"}


def test_every_function_folder_is_in_the_template_and_has_a_handler():
    functions = {
        props["Properties"]["CodeUri"].strip("/").split("/")[-1]
        for props in template()["Resources"].values()
        if props["Type"] == "AWS::Serverless::Function"
    }
    on_disk = {p.name for p in (ROOT / "functions").iterdir() if p.is_dir() and not p.name.startswith("_")}
    assert functions == on_disk
    for name in functions:
        assert "def lambda_handler" in (ROOT / "functions" / name / "app.py").read_text()


def test_every_api_route_is_served_by_a_route_in_its_function():
    """A path in the template that no resolver route matches would be a 404 in production."""
    for logical_id, resource in template()["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        source = (ROOT / resource["Properties"]["CodeUri"] / "app.py").read_text()
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] != "Api":
                continue
            path = event["Properties"]["Path"].replace("{", "<").replace("}", ">")
            method = event["Properties"]["Method"].lower()
            assert f'@app.{method}(\n    "{path}"' in source or f'@app.{method}("{path}"' in source, (
                logical_id,
                method,
                path,
            )


def test_the_linter_catches_a_planted_error(tmp_path):
    broken = (
        (ROOT / "template.yaml").read_text().replace("BillingMode: PAY_PER_REQUEST", "BillingMode: PAY_PER_REQUESTS", 1)
    )
    (tmp_path / "template.yaml").write_text(broken)
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run(
        [str(cfn_lint), str(tmp_path / "template.yaml")], capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "PAY_PER_REQUESTS" in result.stdout
