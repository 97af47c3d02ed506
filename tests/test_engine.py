"""audit(): findings for every item, the findings contract, scoring, JSON output."""

from __future__ import annotations

import json

import pytest
from builders import build_call, bundled

from audits import CHECKLIST, AuditResult, Evidence, Finding, audit
from audits.calldata.metadata import CallMetadata

GOOD_ZH_CALL = {
    "name": "good-zh",
    "transcript": {"duration": 75.0},
    "metadata": {"hangup_by": "customer"},
    "turns": [
        ["agent", 0.6, 4.0, "您好，天潮客服中心，很高兴为您服务。"],
        ["customer", 4.5, 8.0, "你好，我姓王，我想问一下我的车保养的事情。"],
        ["agent", 8.5, 12.0, "王先生您好，请问您的车牌号是多少？"],
        ["customer", 12.5, 15.0, "京A一二三四五。"],
        ["agent", 15.5, 19.0, "好的，请您稍等片刻，好吗？"],
        ["customer", 19.2, 19.8, "好。"],
        ["agent", 35.0, 40.0, "感谢您的耐心等待，您的车下次保养是五月份。"],
        ["customer", 40.5, 42.0, "好的，谢谢。"],
        ["agent", 42.5, 46.0, "不客气。请问还有什么可以帮助您？"],
        ["customer", 46.5, 47.5, "没有了。"],
        ["agent", 48.0, 51.0, "感谢您的来电，再见！"],
        ["customer", 51.5, 52.0, "再见。"],
    ],
    "measurements": {"holds": [[20.0, 35.0, "announcement"]], "silences": [[19.8, 35.0]],
                     "speech_rate": {"agent": 230.0}},
}


def _run(case: dict, spec_name: str, **metadata):
    spec = bundled(spec_name)
    transcript, measurements, given = build_call(case, spec.language)
    if metadata:
        given = CallMetadata(**{**(given.__dict__ if given else {}), **metadata})
    return audit(transcript, measurements, spec, given)


def test_good_call_scores_100_with_a_finding_per_item():
    result = _run(GOOD_ZH_CALL, "zh-CN")
    ids = [f.item for f in result.findings]
    assert ids[:len(CHECKLIST)] == list(CHECKLIST)  # the checklist first, in its order
    assert ids == [item.id for item in bundled("zh-CN").items]
    failed = {f.item: f.reason for f in result.findings if f.status == "fail"}
    assert failed == {}
    assert result.score == 100.0
    assert result.critical_failed == []
    assert result.finding("courtesy.surname").status == "pass"
    assert result.finding("hold.etiquette").status == "pass"


def test_a_forbidden_phrase_is_critical_and_zeroes_the_score():
    case = {**GOOD_ZH_CALL, "turns": GOOD_ZH_CALL["turns"] + [["agent", 52.5, 54.0, "没事了吧，您挂电话吧。"]]}
    result = _run(case, "zh-CN")
    assert result.finding("forbidden.phrases").status == "fail"
    assert result.critical_failed == ["forbidden.phrases"]
    assert result.score == 0.0


def test_every_fail_has_evidence_and_every_na_a_reason():
    case = {"name": "poor", "turns": [["agent", 5.0, 7.0, "喂？"], ["customer", 7.5, 9.0, "你们太慢了"],
                                      ["agent", 9.5, 11.0, "OK，拜拜"]],
            "transcript": {"duration": 9.2}}
    result = _run(case, "zh-CN")
    assert {f.status for f in result.findings} == {"pass", "fail", "na"}
    for finding in result.findings:
        if finding.status == "fail":
            assert finding.evidence and all(e.text and e.role for e in finding.evidence)
        if finding.status == "na":
            assert finding.reason


def test_metadata_overrides_measurements():
    case = {"name": "ring", "measurements": {"ring_seconds": 5.0, "ring_source": "audio"},
            "turns": [["agent", 0.5, 3.0, "Hello, Apex service centre, how can I help you?"],
                      ["customer", 3.5, 5.0, "Hi."]]}
    assert _run(case, "en").finding("opening.wait_apology").status == "na"
    assert _run(case, "en", ring_seconds=30.0).finding("opening.wait_apology").status == "fail"


def _finding(item: str, status: str, points: float, critical: bool = False) -> Finding:
    evidence = (Evidence(1.0, 2.0, "agent", "words"),) if status == "fail" else ()
    return Finding(item, item, status, "reason", evidence, points, critical)


def test_score_excludes_na_items():
    result = AuditResult((_finding("a", "pass", 10), _finding("b", "fail", 5), _finding("c", "na", 15)))
    assert result.score == pytest.approx(100 * 10 / 15)


def test_critical_failure_sets_score_to_zero():
    result = AuditResult((_finding("a", "pass", 10), _finding("b", "fail", 5, critical=True)))
    assert result.score == 0.0
    assert result.critical_failed == ["b"]


def test_critical_item_that_passes_counts_normally():
    result = AuditResult((_finding("a", "pass", 10, critical=True), _finding("b", "fail", 10)))
    assert result.score == 50.0


def test_score_is_none_when_nothing_applies():
    assert AuditResult((_finding("a", "na", 10), _finding("b", "na", 5))).score is None
    assert AuditResult(()).score is None
    assert AuditResult((_finding("a", "pass", 0),)).score is None


def test_findings_contract_is_enforced():
    with pytest.raises(ValueError, match="needs evidence"):
        Finding("x", "x", "fail", "bad", ())
    with pytest.raises(ValueError, match="needs a reason"):
        Finding("x", "x", "na", "")
    with pytest.raises(ValueError, match="status"):
        Finding("x", "x", "maybe", "?")


def test_to_dict_is_json_ready():
    result = _run({**GOOD_ZH_CALL, "turns": GOOD_ZH_CALL["turns"] + [["agent", 52.5, 54.0, "你等着。"]]}, "zh-CN")
    data = result.to_dict()
    assert set(data) == {"findings", "score", "critical_failed", "no_speech", "not_in_spec"}
    text = json.dumps(data, ensure_ascii=False)
    assert "你等着" in text
    back = json.loads(text)
    assert back["score"] == 0.0 and back["critical_failed"] == ["forbidden.phrases"]
    forbidden = next(f for f in back["findings"] if f["item"] == "forbidden.phrases")
    assert set(forbidden) == {"item", "title", "status", "reason", "evidence", "points", "critical", "figure", "decided",
                              "verification"}
    assert forbidden["decided"] == "text" and forbidden["verification"] == []
    assert forbidden["evidence"] == [{"start": 52.5, "end": 54.0, "role": "agent", "text": "【你等着】。"}]
