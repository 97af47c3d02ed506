"""Example calls with expected verdicts, run against a spec (``callqa spec test``): the format of the
project's own check fixtures (``tests/fixtures/checks/*.yml``), so a QA lead tests a spec before it
goes live the way the bundled specs are tested.

A cases file::

    item: acme.job_number             # the item the cases judge (or per case: item:)
    spec: acme-zh.yaml                # optional: a bundled name or a path beside this file
    cases:
      - name: says_job_number         # unique in the file
        spec: zh-CN                   # optional per case
        turns:                        # [role, start, end, text]
          - [agent, 0.4, 3.6, 您好，天潮客服中心，工号1234为您服务]
        transcript: {answer_at: 0, duration: 30}   # optional
        measurements: {answer_delay: 4.2}          # optional overrides (lists as below)
        metadata: {customer_surname: 王}            # optional call metadata
        expect: pass                  # pass | fail | na
        evidence: 工号                # optional: a substring of some evidence text
        reason: never said            # optional: a substring of the reason

Measurement lists: ``silences: [[start, end], ...]``, ``holds: [[start, end, detected_by], ...]``,
``interruptions: [[start, end, by, over], ...]``. Defaults are computed from the turns: answer delay
= first agent turn start − answer, customer_silent = no customer turn, duration = last turn end + 1 s.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from audits.calldata import yamlsafe
from audits.calldata.measurements import Hold, Interruption, Interval, Measurements
from audits.calldata.metadata import CallMetadata
from audits.calldata.transcript import Transcript, Turn
from audits.engine import audit
from audits.findings import Finding
from audits.spec import Spec

CASE_FIELDS = {"name", "spec", "item", "turns", "transcript", "measurements", "metadata", "expect", "evidence",
               "reason"}
EXPECT = ("pass", "fail", "na")


class CasesError(ValueError):
    """A cases file that cannot be run; the message names the file and the case."""


@dataclass(frozen=True)
class CaseResult:
    name: str
    item: str
    spec: str
    expected: str
    finding: Finding | None  # None: the spec has no such item
    problem: str  # "" when the case passed

    @property
    def ok(self) -> bool:
        return not self.problem


def build_call(case: dict, language: str) -> tuple[Transcript, Measurements, CallMetadata | None]:
    """A transcript, its measurements and metadata from a case."""
    turns = [Turn(role=r, start=float(s), end=float(e), text=str(t)) for r, s, e, t in case.get("turns", [])]
    frame = case.get("transcript", {})
    answer_at = float(frame.get("answer_at", 0.0))
    duration = float(frame.get("duration", max((t.end for t in turns), default=0.0) + 1.0))
    transcript = Transcript(call_id=str(case["name"]), duration=duration, language=language, turns=turns,
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
    values["interruptions"] = [Interruption(float(s), float(e), by, over)
                               for s, e, by, over in given.pop("interruptions", [])]
    values.update(given)
    metadata = CallMetadata(**case["metadata"]) if "metadata" in case else None
    return transcript, Measurements(**values), metadata


def load_cases(path: Path) -> dict:
    """A cases file, its shape checked (each problem names the file and the case)."""
    try:
        data = yamlsafe.safe_load(yamlsafe.read_text(path))
    except (OSError, UnicodeDecodeError, yamlsafe.YamlTooLarge) as exc:
        raise CasesError(f"{path}: cannot read the cases ({exc})") from None
    except Exception as exc:  # a YAML syntax error
        raise CasesError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list) or not data["cases"]:
        raise CasesError(f"{path}: must be a mapping with a non-empty list 'cases' (and 'item' or an item per case)")
    names = set()
    for number, case in enumerate(data["cases"], 1):
        label = f"{path}: case {case.get('name', '#' + str(number)) if isinstance(case, dict) else '#' + str(number)}"
        if not isinstance(case, dict):
            raise CasesError(f"{label}: must be a mapping")
        unknown = sorted(set(case) - CASE_FIELDS)
        if unknown:
            raise CasesError(f"{label}: unknown field {unknown[0]!r} (fields: {', '.join(sorted(CASE_FIELDS))})")
        for field in ("name", "expect", "turns"):
            if field not in case:
                raise CasesError(f"{label}: missing field {field!r}")
        if case["name"] in names:
            raise CasesError(f"{label}: the name is used twice")
        names.add(case["name"])
        if case["expect"] not in EXPECT:
            raise CasesError(f"{label}: expect must be one of {', '.join(EXPECT)}, got {case['expect']!r}")
        if not case.get("item", data.get("item")):
            raise CasesError(f"{label}: which item? give item: at the top of the file or in the case")
        turns = case["turns"]
        if not isinstance(turns, list) or any(not isinstance(t, list) or len(t) != 4 for t in turns):
            raise CasesError(f"{label}: turns must be a list of [role, start, end, text]")
    return data


def run_cases(path: Path, spec_for: Callable[[str], Spec], spec: str | None = None) -> list[CaseResult]:
    """Every case of a cases file audited with its spec (``spec`` overrides the file's and the
    cases' own; ``spec_for`` loads a spec by the name or path written, relative to the file)."""
    data = load_cases(path)
    results = []
    for case in data["cases"]:
        spec_name = spec or case.get("spec") or data.get("spec")
        if not spec_name:
            raise CasesError(f"{path}: case {case['name']}: which spec? give --spec, spec: at the top or in the case")
        loaded = spec_for(str(spec_name))
        item = case.get("item", data.get("item"))
        try:
            transcript, measurements, metadata = build_call(case, loaded.language)
        except (TypeError, ValueError) as exc:
            raise CasesError(f"{path}: case {case['name']}: {exc}") from None
        try:
            finding = audit(transcript, measurements, loaded, metadata).finding(item)
        except KeyError:
            results.append(CaseResult(case["name"], item, loaded.name, case["expect"], None,
                                      f"the spec {loaded.name} has no item {item}"))
            continue
        results.append(CaseResult(case["name"], item, loaded.name, case["expect"], finding, _problem(case, finding)))
    return results


def _problem(case: dict, finding: Finding) -> str:
    if finding.status != case["expect"]:
        return f"expected {case['expect']}, got {finding.status}"
    if "evidence" in case and not any(str(case["evidence"]) in e.text for e in finding.evidence):
        return f"no evidence says {case['evidence']!r}"
    if "reason" in case and str(case["reason"]) not in finding.reason:
        return f"the reason does not say {case['reason']!r}"
    return ""
