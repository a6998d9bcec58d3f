"""cdk-nag's AwsSolutions pack and cfn-lint, as tests."""

from __future__ import annotations

from pathlib import Path

from aws_cdk.assertions import Match


def test_cdk_nag_aws_solutions_reports_no_error(synth):
    errors = synth.annotations.find_error("*", Match.string_like_regexp("AwsSolutions-.*"))
    assert [f"{e.id}: {e.entry.data}"[:200] for e in errors] == []


def test_every_nag_suppression_gives_a_reason(synth):
    metadata = synth.json["Metadata"]["cdk_nag"]["rules_to_suppress"]
    assert metadata and all(len(rule["reason"]) >= 40 for rule in metadata)


def test_cfn_lint_finds_no_error(template_file):
    from cfnlint.api import ManualArgs, lint_file

    matches = lint_file(Path(template_file), config=ManualArgs(regions=["us-east-1"]))
    errors = [f"{m.rule.id} {m.message}" for m in matches if m.rule.id.startswith("E")]
    assert errors == []
