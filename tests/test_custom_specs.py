"""Specs a QA team owns: custom items, rules composed from operators, ``extends:``, ``spec test``,
``rescore --dry-run``, and pathological specs refused with a clear message. The walkthrough spec
(configs/examples/acme-zh.yaml, README "Your own spec in 20 lines") is run end to end: the real CLI,
a real SQLite store, the Excel report read back."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest
import yaml
from builders import REPO, build_call

from audits import SpecError, audit, load_spec
from audits.rules import operators
from audits.rules.operators import digit_runs
from pipeline.call import recording_floors

CALLQA = [str(Path(sys.executable).parent / "callqa")]
EXAMPLE = REPO / "configs" / "examples" / "acme-zh.yaml"
CASES = REPO / "configs" / "examples" / "acme-zh.cases.yml"
CUSTOM = ("acme.job_number", "acme.confirm_number", "acme.silence_thanks")


def callqa(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CALLQA, *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "COLUMNS": "250"})


def _audit(case: dict, language: str, spec):
    transcript, measurements, metadata = build_call(case, language)
    return audit(transcript, measurements, spec, metadata)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# -- the walkthrough ------------------------------------------------------------------------------

def test_walkthrough_spec_validates_extends_zh_cn_and_adds_three_items():
    spec = load_spec(EXAMPLE)
    assert len(EXAMPLE.read_text(encoding="utf-8").splitlines()) <= 21
    zh = load_spec("zh-CN")
    assert [i.id for i in spec.items] == [i.id for i in zh.items] + list(CUSTOM)
    assert "极客客服中心" in spec.item("opening.greeting").options.groups[1]  # {org} in an inherited phrase
    assert spec.item("forbidden.phrases").options == zh.item("forbidden.phrases").options
    assert spec.origins[("acme.job_number", "pass_if")].startswith(str(EXAMPLE))
    assert spec.origins[("forbidden.phrases", "phrases")].startswith("zh-CN (")
    # the pipeline's cues still come from the inherited greeting, under the new organisation
    from audits.cues import GREETING
    assert spec.phrases_for(GREETING).score("您好，极客客服中心，很高兴为您服务") == pytest.approx(1.0)


def test_walkthrough_spec_test_cases_pass_and_a_wrong_expectation_fails(tmp_path):
    run = callqa("spec", "test", str(CASES))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "7 of 7 cases as expected" in run.stdout
    cases = yaml.safe_load(CASES.read_text(encoding="utf-8"))
    cases["spec"] = str(EXAMPLE)
    cases["cases"][0]["expect"] = "fail"
    wrong = write(tmp_path / "wrong.yml", yaml.safe_dump(cases, allow_unicode=True))
    run = callqa("spec", "test", str(wrong))
    assert run.returncode == 1
    assert "FAIL" in run.stdout and "expected fail, got pass" in run.stdout and "6 of 7" in run.stdout


def test_walkthrough_audits_the_sample_calls_and_every_report_sheet_shows_the_custom_items(tmp_path):
    archive = tmp_path / "archive"
    archive.mkdir()
    for path in sorted((REPO / "sample_audio" / "transcripts").glob("zh_*.json")):
        (archive / path.name).write_bytes(path.read_bytes())
    db, out = tmp_path / "qa.sqlite", tmp_path / "reports"
    run = callqa("batch", str(archive), "--ext", "json", "--spec", str(EXAMPLE), "--db", str(db), "--out", str(out),
                 "--quiet")
    assert run.returncode == 0, run.stderr
    book = openpyxl.load_workbook(next(out.glob("*.xlsx")), read_only=True)
    text = {sheet.title: "\n".join(str(c) for row in sheet.iter_rows(values_only=True) for c in row if c is not None)
            for sheet in book.worksheets}
    spec = load_spec(EXAMPLE)
    for sheet, items in (("Scorecards", CUSTOM), ("Calls", CUSTOM), ("Findings", CUSTOM), ("Items", CUSTOM),
                         ("Worst calls", ("acme.job_number", "acme.silence_thanks"))):  # those failed on the worst
        for item in items:
            assert item in text[sheet] or spec.item(item).title in text[sheet], (sheet, item)
    assert "开头报工号" in text["Summary"]  # failed on every call: the weakest item
    # each custom item failed on the call it should, with its evidence
    findings = text["Findings"]
    assert "silence of 3.0 s" in findings and "三五七九二" in findings

    # the same store seen from the bundled spec: which verdicts extending it changed
    before = tmp_path / "before.sqlite"
    assert callqa("batch", str(archive), "--ext", "json", "--spec", "zh-CN", "--db", str(before), "--quiet",
                  "--no-report").returncode == 0
    dry = callqa("rescore", "--db", str(before), "--spec", str(EXAMPLE), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    calls = len(list(archive.glob("*.json")))  # every one gains the custom items
    assert f"{calls} stored calls audited, {calls} would change; nothing was stored" in dry.stdout
    assert "zh_02_forbidden.json  acme.silence_thanks: not in spec → fail" in dry.stdout
    assert "opening.greeting" in dry.stdout


# -- extends -------------------------------------------------------------------------------------

def test_extends_overrides_fields_removes_items_and_names_the_file_of_each_value(tmp_path):
    parent = write(tmp_path / "parent.yaml", EXAMPLE.read_text(encoding="utf-8"))
    child = write(tmp_path / "child.yaml", """extends: parent.yaml
name: acme-zh-v2
matching: {threshold: 0.9}
remove: [courtesy.surname, acme.silence_thanks]
items:
  - {id: forbidden.phrases, points: 20}
  - {id: acme.job_number, kind: not_applicable, reason: 工号 now read by the IVR}
""")
    spec = load_spec(child)
    assert spec.chain[-2:] == (str(parent), str(child))
    assert spec.item("forbidden.phrases").points == 20 and spec.item("forbidden.phrases").critical
    assert spec.matching.threshold == 0.9 and spec.organisation == "极客客服中心"
    assert spec.not_in_spec() == ("courtesy.surname",)
    assert spec.item("acme.job_number").kind == "not_applicable"
    assert spec.origins[("forbidden.phrases", "points")] == f"{child}:6"
    assert spec.origins[("forbidden.phrases", "critical")].startswith("zh-CN (")
    assert spec.origins[("", "organisation")] == f"{parent}:5"
    run = callqa("spec", "show", str(child))
    assert run.returncode == 0, run.stderr
    assert "extends: zh-CN → parent.yaml → child.yaml" in run.stdout
    assert "points ← child.yaml:6" in run.stdout and "not in this spec (not audited): courtesy.surname" in run.stdout


@pytest.mark.parametrize("child, problem, where", [
    ("extends: zh-CN\nversion: 1\nitems: []\n", "needs its own name", ":1"),
    ("extends: zh-CN\nname: x\nlanguage: en\n", "cannot change the language", ":3"),
    ("extends: zh-CN\nname: x\nremove: [custom.nope]\n", "the parent has no item 'custom.nope'", ":3"),
    ("extends: nowhere.yaml\nname: x\n", "parent", ":1"),
    ("extends: me.yaml\nname: x\n", "a cycle", ":1"),
    ("extends: zh-CN\nname: x\nitems:\n  - {id: opening.greting, points: 1}\n",
     "unknown checklist id 'opening.greting'; did you mean 'opening.greeting'", ":4"),
    ("extends: zh-CN\nname: x\nitems:\n  - {id: custom.a, title: t, points: 1, critical: false, seeds: [], kind: rule,"
     " fail_if: {regex: '(a|aa)+$'}}\n", "backtracks catastrophically", ":4"),
    ("extends: zh-CN\nname: x\nitems:\n  - {id: custom.a, title: t, points: 1, critical: false, seeds: [], kind: rule,"
     " fail_if: {all: [{phrases: [a]}, {silence: {longer: 3}}]}}\n", "silence: unknown field 'longer'", ":4"),
])
def test_bad_extending_specs_name_the_file_line_and_problem(tmp_path, child, problem, where):
    path = write(tmp_path / "me.yaml", child)
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert problem in str(caught.value)
    assert f"me.yaml{where}" in str(caught.value) or problem == "parent"


def test_an_error_in_an_inherited_value_names_the_parent_file(tmp_path):
    write(tmp_path / "parent.yaml", EXAMPLE.read_text(encoding="utf-8").replace("turns: 2}", "turns: two}"))
    child = write(tmp_path / "child.yaml", "extends: parent.yaml\nname: child\n")
    with pytest.raises(SpecError) as caught:
        load_spec(child)
    assert str(caught.value).startswith(f"{tmp_path / 'parent.yaml'}:8: item 'acme.job_number', field 'pass_if'")
    assert "position: must be a positive whole number, got 'two'" in str(caught.value)


# -- pathological specs ---------------------------------------------------------------------------

def test_ten_thousand_items_are_refused_at_once(tmp_path):
    items = "".join(f"- {{id: c.i{n}, title: t, points: 1, critical: false, seeds: [], kind: not_applicable, "
                    f"reason: r}}\n" for n in range(10_000))
    path = write(tmp_path / "huge.yaml", "extends: zh-CN\nname: huge\nitems:\n" + items)
    started = time.perf_counter()
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert time.perf_counter() - started < 30
    assert re.search(r"huge.yaml:3: field 'items': refused: 10,0\d\d items, more than the 1,000 a spec may have",
                     str(caught.value)), str(caught.value)


@pytest.mark.parametrize("pattern", [r"(a|aa)+$", r"(x+x+)+y", r"(\w+\s?)+$"])
def test_catastrophic_regexes_are_refused_quickly(tmp_path, pattern):
    path = write(tmp_path / "re.yaml", "extends: zh-CN\nname: x\nitems:\n  - {id: custom.a, title: t, points: 1, "
                                       f"critical: false, seeds: [], kind: rule, fail_if: {{regex: '{pattern}'}}}}\n")
    started = time.perf_counter()
    with pytest.raises(SpecError, match="backtracks catastrophically"):
        load_spec(path)
    assert time.perf_counter() - started < 10


def test_a_regex_past_its_time_limit_makes_the_item_na_with_the_reason(tmp_path, monkeypatch):
    path = write(tmp_path / "re.yaml", "extends: zh-CN\nname: x\nitems:\n  - {id: custom.a, title: t, points: 1, "
                                       "critical: false, seeds: [], kind: rule, fail_if: {regex: '\\d{5}退款'}}\n")
    spec = load_spec(path)
    monkeypatch.setattr(operators, "REGEX_TIMEOUT_S", 1e-9)
    case = {"name": "slow", "turns": [["agent", 0, 5, "一" * 20_000]]}
    finding = _audit(case, "zh", spec).finding("custom.a")
    assert finding.status == "na" and "took over" in finding.reason


def test_rules_stay_linear_on_a_long_call():
    spec = load_spec(EXAMPLE)
    turns = [["customer" if n % 2 else "agent", n * 3.0, n * 3.0 + 2.5,
              "订单号是三五七九二。" if n % 2 else "好的，请稍等。"] for n in range(20_000)]
    case = {"name": "long", "turns": turns,
            "measurements": {"silences": [[n * 3.0 + 2.5, n * 3.0 + 6] for n in range(0, 20_000, 50)]}}
    started = time.perf_counter()
    result = _audit(case, "zh", spec)
    took = time.perf_counter() - started
    assert result.finding("acme.confirm_number").status == "fail"
    # 9,999 triggers unanswered (each with its one-turn window); the last one had no agent turn after it
    assert len(result.finding("acme.confirm_number").evidence) == 2 * 9_999
    assert took < 120, took


# -- operators ------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, runs", [
    ("订单号是三五七九二。", ["35792"]),
    ("电话 138-0012-3456，对吗", ["13800123456"]),
    ("It is five five five, one two three four.", ["555", "1234"]),
    ("幺三八两个", ["1382"]),
    ("没有号码", []),
])
def test_numbers_said_digit_by_digit(text, runs):
    assert [digits for _, _, digits in digit_runs(text)] == runs


def test_rule_silences_lower_the_measurement_floor():
    floors = recording_floors({"silence_threshold": 10.0, "interruption_min_overlap": 2.0}, load_spec(EXAMPLE))
    assert floors["silence_threshold"] == 2.5 and floors["interruption_min_overlap"] == 2.0


def test_position_role_and_not_compose(tmp_path):
    path = write(tmp_path / "p.yaml", """extends: en
name: p
items:
  - id: custom.closing_no_rush
    title: no fast talk and a thank-you in the last two agent turns
    points: 1
    critical: false
    seeds: []
    kind: rule
    pass_if:
      all:
        - {phrases: [thank you], role: agent, position: {from: end, turns: 2}}
        - not: {speech_rate: {above: 250}, role: agent}
        - not: {overlap: {at_least: 2}}
""")
    spec = load_spec(path)
    calm = {"name": "calm", "turns": [["agent", 0, 4, "Hello, Apex service centre."], ["customer", 5, 7, "Hi."],
                                      ["agent", 8, 12, "Thank you for calling, goodbye."]]}
    assert _audit(calm, "en", spec).finding("custom.closing_no_rush").status == "pass"
    early = {"name": "early", "turns": [["agent", 0, 4, "Thank you for calling."], ["customer", 5, 7, "Hi."],
                                        ["agent", 8, 12, "Right."], ["agent", 13, 15, "Bye."]]}
    assert _audit(early, "en", spec).finding("custom.closing_no_rush").status == "fail"
    talked_over = {**calm, "name": "over", "measurements": {"interruptions": [[5.0, 7.5, "agent", "customer"]]}}
    finding = _audit(talked_over, "en", spec).finding("custom.closing_no_rush")
    assert finding.status == "fail" and finding.evidence
