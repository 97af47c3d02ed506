"""Every sample call's script-exact transcript (Mandarin ones included) judged against its expected
table: the checklist logic on both specs, without ASR in the way."""

from __future__ import annotations

import json

import pytest
from conftest import SAMPLES

from audits.calldata.metadata import CallMetadata
from audits.calldata.transcript import Transcript
from audits.spec import load_spec
from pipeline.call import CallProcessor
from pipeline.config import load_settings

TRUTHS = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted((SAMPLES / "truth").glob("*.json"))
          if (SAMPLES / "transcripts" / p.name).exists()}


@pytest.fixture(scope="module")
def processors():
    settings = load_settings()
    return {"en": CallProcessor(settings, load_spec("en")), "zh": CallProcessor(settings, load_spec("zh-CN"))}


def test_every_language_is_covered():
    assert {truth["language"] for truth in TRUTHS.values()} == {"en", "zh"}


@pytest.mark.parametrize("name", sorted(TRUTHS))
def test_reference_transcript_statuses(processors, name):
    truth = TRUTHS[name]
    given = {k: v for k, v in (truth.get("metadata") or {}).items() if k in CallMetadata.__dataclass_fields__}
    transcript = Transcript.load(SAMPLES / "transcripts" / f"{name}.json")
    call = processors[truth["language"]].audit_transcript(transcript, CallMetadata(**given) if given else None)
    got = {f.item: f.status for f in call.result.findings}
    wrong = {item: (got[item], status) for item, status in truth["expected"].items() if got[item] != status}
    assert not wrong, f"{name}: (got, expected) {wrong}"
