"""End to end on the real sample calls with the real tiny.en model: transcription, timing truth,
roles, measurements and checklist statuses against each call's ground truth
(``sample_audio/truth/<call>.json``, written by the generator from the script it synthesised)."""

from __future__ import annotations

import json
import re

import pytest
from conftest import SAMPLES

from audits.spec import load_spec
from pipeline.call import CallProcessor
from pipeline.config import load_settings
from pipeline.metadata import CallMetadata

pytestmark = pytest.mark.slow

TRUTHS = {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in sorted((SAMPLES / "truth").glob("*.json"))}
STEREO_EN = [name for name, truth in TRUTHS.items() if truth["language"] == "en" and truth["channels"] == 2]


def _metadata(truth: dict) -> CallMetadata | None:
    given = truth.get("metadata") or {}
    fields = set(CallMetadata.__dataclass_fields__)
    return CallMetadata(**{k: v for k, v in given.items() if k in fields}) if given else None


@pytest.fixture(scope="session")
def processor() -> CallProcessor:
    return CallProcessor(load_settings(), load_spec("en"))


@pytest.fixture(scope="session")
def audited(processor):
    """Every English stereo sample, transcribed and audited once for the whole session."""
    return {name: processor.audit(SAMPLES / TRUTHS[name]["file"], _metadata(TRUTHS[name])) for name in STEREO_EN}


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def test_samples_are_there():
    assert len(STEREO_EN) >= 10


@pytest.mark.parametrize("name", STEREO_EN)
def test_agent_is_the_left_channel(audited, name):
    roles = audited[name].transcript.roles
    assert roles.agent == TRUTHS[name]["channel_map"]["agent"], roles.reason


@pytest.mark.parametrize("name", STEREO_EN)
def test_turns_match_the_script_timing(audited, name):
    """Every scripted turn is found on its channel, its start and end within 0.5 s."""
    transcript = audited[name].transcript
    for scripted in TRUTHS[name]["turns"]:
        role = scripted["role"]
        spans = [r for r in transcript.speech(role) if r[0] < scripted["end"] and r[1] > scripted["start"]]
        assert spans, f"{name}: no {role} speech for scripted turn {scripted['text']!r}"
        assert min(s for s, _ in spans) == pytest.approx(scripted["start"], abs=0.5), scripted["text"]
        assert max(e for _, e in spans) == pytest.approx(scripted["end"], abs=0.5), scripted["text"]


@pytest.mark.parametrize("name", STEREO_EN)
def test_transcript_has_the_scripted_words(audited, name):
    """Most scripted words come back (tiny.en on 8 kHz synthetic speech is not perfect)."""
    heard = set(_words(" ".join(turn.text for turn in audited[name].transcript.turns)))
    scripted = [w for turn in TRUTHS[name]["turns"] for w in _words(turn["text"])]
    recall = sum(w in heard for w in scripted) / len(scripted)
    assert recall >= 0.7, f"{name}: only {recall:.0%} of the scripted words were transcribed"


def test_compliant_call_transcript_reads_as_scripted(audited):
    text = " ".join(t.text for t in audited["en_01_compliant"].transcript.turns).lower()
    for phrase in ("glad to serve you", "anything else i can help you with", "thank you for calling"):
        assert phrase in text


@pytest.mark.parametrize("name", STEREO_EN)
def test_ring_back(audited, name):
    ring, m = TRUTHS[name]["ring"], audited[name].measurements
    if ring["rings"] == 0:
        assert m.ring_seconds is None and m.ring_source == "unknown"  # unknown, never 0
    else:
        assert m.ring_count == ring["rings"]
        assert m.ring_seconds == pytest.approx(ring["seconds"], abs=0.5)
        assert m.answer_at == pytest.approx(TRUTHS[name]["answer_at"], abs=0.5)


@pytest.mark.parametrize("name", STEREO_EN)
def test_answer_delay(audited, name):
    assert audited[name].measurements.answer_delay == pytest.approx(TRUTHS[name]["answer_delay"], abs=0.5)


def _assert_same_intervals(measured, expected: list[dict]) -> None:
    assert len(measured) == len(expected), measured
    for got, want in zip(measured, expected):
        assert got.start == pytest.approx(want["start"], abs=0.5)
        assert got.end == pytest.approx(want["end"], abs=0.5)


@pytest.mark.parametrize("name", STEREO_EN)
def test_silences_above_threshold(audited, name):
    threshold = load_settings()["timing"]["silence_threshold"]
    expected = [s for s in TRUTHS[name]["silences"] if s["seconds"] > threshold]
    _assert_same_intervals(audited[name].measurements.silences, expected)


@pytest.mark.parametrize("name", STEREO_EN)
def test_holds(audited, name):
    expected = [s for s in TRUTHS[name]["silences"] if s["kind"] == "hold"]
    _assert_same_intervals(audited[name].measurements.holds, expected)


@pytest.mark.parametrize("name", STEREO_EN)
def test_interruptions(audited, name):
    min_overlap = load_settings()["timing"]["interruption_min_overlap"]
    expected = [o for o in TRUTHS[name]["overlaps"] if o["seconds"] >= min_overlap]
    measured = audited[name].measurements.interruptions
    assert len(measured) == len(expected), measured
    for got, want in zip(measured, expected):
        assert (got.by, got.over) == (want["by"], want["over"])
        assert got.seconds == pytest.approx(want["seconds"], abs=0.3)


@pytest.mark.parametrize("name", STEREO_EN)
def test_speech_rate_within_ten_percent(audited, name):
    truth = TRUTHS[name]["speech_rate"]
    measured = audited[name].measurements.speech_rate
    assert measured["agent"] == pytest.approx(truth["agent"], rel=0.10)


@pytest.mark.parametrize("name", STEREO_EN)
def test_checklist_statuses_match_the_expected_table(audited, name):
    got = {f.item: f.status for f in audited[name].result.findings}
    expected = TRUTHS[name]["expected"]
    wrong = {item: (got.get(item), status) for item, status in expected.items() if got.get(item) != status}
    details = {f.item: (f.reason, [e.text for e in f.evidence]) for f in audited[name].result.findings if f.item in wrong}
    assert not wrong, f"{name}: (got, expected) {wrong}; details {details}"
