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

from functools import lru_cache
from pathlib import Path

import pytest
import yaml

from audits import CHECKLIST, audit, load_spec
from audits.calldata.measurements import Hold, Interruption, Interval, Measurements
from audits.calldata.metadata import CallMetadata
from audits.calldata.transcript import Transcript, Turn

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "checks"
SPEC_FILES = {"zh-CN": REPO / "configs" / "spec" / "zh-CN.yaml", "en": REPO / "configs" / "spec" / "en.yaml"}


@lru_cache(maxsize=None)
def bundled(name: str):
    """A bundled spec, read from this checkout (an installed package may hold another copy)."""
    return load_spec(SPEC_FILES[name])


def build_call(case: dict, language: str) -> tuple[Transcript, Measurements, CallMetadata | None]:
    """A transcript, its measurements and metadata from a fixture case."""
    turns = [Turn(role=r, start=float(s), end=float(e), text=str(t)) for r, s, e, t in case.get("turns", [])]
    frame = case.get("transcript", {})
    answer_at = float(frame.get("answer_at", 0.0))
    duration = float(frame.get("duration", max((t.end for t in turns), default=0.0) + 1.0))
    transcript = Transcript(call_id=case["name"], duration=duration, language=language, turns=turns,
                            answer_at=answer_at)
    agent = [t for t in turns if t.role == "agent"]
    values = {
        "duration": duration, "answer_at": answer_at, "ring_seconds": None, "ring_count": None,
        "ring_source": "unknown",
        "answer_delay": agent[0].start - answer_at if agent else None,
        "talk_time": {role: sum(t.end - t.start for t in turns if t.role == role) for role in ("agent", "customer")},
        "speech_rate_unit": "cpm" if language == "zh" else "wpm",
        "customer_silent": not any(t.role == "customer" for t in turns),
    }
    given = dict(case.get("measurements", {}))
    values["silences"] = [Interval(float(s), float(e)) for s, e in given.pop("silences", [])]
    values["holds"] = [Hold(float(s), float(e), how) for s, e, how in given.pop("holds", [])]
    values["interruptions"] = [Interruption(float(s), float(e), by, over) for s, e, by, over in given.pop("interruptions", [])]
    values.update(given)
    metadata = CallMetadata(**case["metadata"]) if "metadata" in case else None
    return transcript, Measurements(**values), metadata


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
