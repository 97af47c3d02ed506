"""Every checklist item's YAML cases (tests/fixtures/checks/<item id>.yml), run through the
real audit against the bundled specs.

A fixture file::

    item: opening.greeting
    cases:
      - name: zh_full_greeting          # unique in the file
        spec: zh-CN                     # a bundled spec name
        turns:                          # [role, start, end, text]
          - [agent, 0.4, 3.6, 您好，天潮客服中心，很高兴为您服务]
        transcript: {answer_at: 0, duration: 30}   # optional
        measurements: {answer_delay: 4.2}          # optional overrides (lists as below)
        metadata: {customer_surname: 王}            # optional CallMetadata fields
        expect: fail                    # pass | fail | na
        evidence: 喂                    # fail: a substring of some evidence text
        reason: ring time is unknown    # optional: a substring of the reason

Measurement lists: ``silences: [[start, end], ...]``, ``holds: [[start, end, detected_by], ...]``,
``interruptions: [[start, end, by, over], ...]``. Defaults are computed from the turns: answer
delay = first agent turn start − answer, customer_silent = no customer turn, duration = last
turn end + 1 s.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from builders import SPEC_FILES, build_call, bundled

from audits import CHECKLIST, audit

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "checks"


def _cases():
    for path in sorted(FIXTURES.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for case in data["cases"]:
            yield pytest.param(data["item"], case, id=f"{data['item']}:{case['name']}")


@pytest.mark.parametrize("item, case", list(_cases()))
def test_fixture_case(item: str, case: dict):
    spec = bundled(case["spec"])
    transcript, measurements, metadata = build_call(case, spec.language)
    finding = audit(transcript, measurements, spec, metadata).finding(item)
    assert finding.status == case["expect"], f"{finding.status}: {finding.reason} {finding.evidence}"
    if "evidence" in case:
        texts = [e.text for e in finding.evidence]
        assert any(case["evidence"] in text for text in texts), texts
    if "reason" in case:
        assert case["reason"] in finding.reason


def test_every_item_has_a_fixture_file_with_enough_cases():
    """≥ 3 passing and ≥ 3 failing cases per item, in each language where the item applies."""
    for item in CHECKLIST:
        path = FIXTURES / f"{item}.yml"
        assert path.exists(), f"no fixture file for {item}"
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert data["item"] == item
        names = [c["name"] for c in data["cases"]]
        assert len(names) == len(set(names)), f"{item}: duplicate case names"
        for spec_name in SPEC_FILES:
            statuses = [c["expect"] for c in data["cases"] if c["spec"] == spec_name]
            if bundled(spec_name).item(item).kind == "not_applicable":
                assert statuses and set(statuses) == {"na"}, f"{item} ({spec_name})"
                continue
            assert statuses.count("pass") >= 3, f"{item} ({spec_name}): fewer than 3 passing cases"
            assert statuses.count("fail") >= 3, f"{item} ({spec_name}): fewer than 3 failing cases"
        for case in data["cases"]:
            if case["expect"] == "fail":
                assert "evidence" in case, f"{item}:{case['name']}: a fail case names its evidence"


def test_every_item_beyond_the_checklist_has_pass_fail_and_na_cases():
    """The bundled specs' own items (seed rows beyond the 18): a case of each status per language."""
    for spec_name in SPEC_FILES:
        for item in bundled(spec_name).items:
            if item.id in CHECKLIST:
                continue
            path = FIXTURES / f"{item.id}.yml"
            assert path.exists(), f"no fixture file for {item.id}"
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            statuses = {c["expect"] for c in data["cases"] if c["spec"] == spec_name}
            assert statuses == {"pass", "fail", "na"}, f"{item.id} ({spec_name}): {sorted(statuses)}"
