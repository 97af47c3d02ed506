"""End to end on the real sample calls with the real tiny.en model (and, for the mono mixes, the
real pyannote pipeline): transcription, timing truth, roles, measurements and checklist statuses
against each call's ground truth (``sample_audio/truth/<call>.json``, written by the generator from
the script it synthesised)."""

from __future__ import annotations

import json
import re

import pytest
from conftest import DIARIZATION_WEIGHTS, REPO, SAMPLES, needs_diarization

from audits.calldata.metadata import CallMetadata
from audits.pii.numbers import REPEAT, SPOKEN
from audits.spec import load_spec
from pipeline.call import CallProcessor
from pipeline.config import load_settings
from pipeline.speakers.turns import diarization_error_rate

pytestmark = pytest.mark.slow

TRUTHS = {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in sorted((SAMPLES / "truth").glob("*.json"))}
STEREO_EN = [name for name, truth in TRUTHS.items() if truth["language"] == "en" and truth["channels"] == 2]
MONO_EN = [pytest.param(name, marks=needs_diarization) for name, truth in TRUTHS.items()
           if truth["language"] == "en" and truth["channels"] == 1]
ENGLISH = [*STEREO_EN, *MONO_EN]


def _metadata(truth: dict) -> CallMetadata | None:
    given = truth.get("metadata") or {}
    fields = set(CallMetadata.__dataclass_fields__)
    return CallMetadata(**{k: v for k, v in given.items() if k in fields}) if given else None


@pytest.fixture(scope="session")
def processor() -> CallProcessor:
    settings = load_settings()
    settings["diarization"]["pipeline"] = str(DIARIZATION_WEIGHTS)
    return CallProcessor(settings, load_spec("en"))


class Audits(dict):
    """Each sample transcribed and audited on first use, once for the whole session."""

    def __init__(self, processor: CallProcessor):
        super().__init__()
        self.processor = processor

    def __missing__(self, name: str):
        self[name] = self.processor.audit(SAMPLES / TRUTHS[name]["file"], _metadata(TRUTHS[name]))
        return self[name]


@pytest.fixture(scope="session")
def audited(processor):
    return Audits(processor)


def _words(text: str) -> list[str]:
    """Lower-case words, numbers as single digits however written: a script spells a card number
    out ("four five three two, ... double seven oh one") where Whisper writes "4 .5. 3" or "366".
    The digit words are the redaction's (``audits.pii.numbers``)."""
    words: list[str] = []
    for token in re.findall(r"[a-z0-9']+", text.lower()):
        token = SPOKEN.get(token, token)
        if token.isdigit() and words[-1:] and words[-1] in REPEAT:  # "double seven" is two sevens
            token *= REPEAT[words.pop()]
        words += list(token) if token.isdigit() else [token]
    return words


def test_samples_are_there():
    assert len(STEREO_EN) >= 10
    assert len(MONO_EN) >= 3


@pytest.mark.parametrize("name", STEREO_EN)
def test_agent_is_the_left_channel(audited, name):
    roles = audited[name].transcript.roles
    assert roles.agent == TRUTHS[name]["channel_map"]["agent"], roles.reason


@pytest.mark.parametrize("name", ENGLISH)
def test_turns_match_the_script_timing(audited, name):
    """Every scripted turn is found on its channel, its start and end within 0.5 s."""
    transcript = audited[name].transcript
    for scripted in TRUTHS[name]["turns"]:
        role = scripted["role"]
        spans = [r for r in transcript.speech(role) if r[0] < scripted["end"] and r[1] > scripted["start"]]
        assert spans, f"{name}: no {role} speech for scripted turn {scripted['text']!r}"
        assert min(s for s, _ in spans) == pytest.approx(scripted["start"], abs=0.5), scripted["text"]
        assert max(e for _, e in spans) == pytest.approx(scripted["end"], abs=0.5), scripted["text"]


@pytest.mark.parametrize("name", ENGLISH)
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


@pytest.mark.parametrize("name", ENGLISH)
def test_ring_back(audited, name):
    ring, m = TRUTHS[name]["ring"], audited[name].measurements
    if ring["rings"] == 0:
        assert m.ring_seconds is None and m.ring_source == "unknown"  # unknown, never 0
    else:
        assert m.ring_count == ring["rings"]
        assert m.ring_seconds == pytest.approx(ring["seconds"], abs=0.5)
        assert m.answer_at == pytest.approx(TRUTHS[name]["answer_at"], abs=0.5)


@pytest.mark.parametrize("name", ENGLISH)
def test_answer_delay(audited, name):
    assert audited[name].measurements.answer_delay == pytest.approx(TRUTHS[name]["answer_delay"], abs=0.5)


def _assert_same_intervals(measured, expected: list[dict]) -> None:
    assert len(measured) == len(expected), measured
    for got, want in zip(measured, expected):
        assert got.start == pytest.approx(want["start"], abs=0.5)
        assert got.end == pytest.approx(want["end"], abs=0.5)


@pytest.mark.parametrize("name", ENGLISH)
def test_silences_above_threshold(audited, name):
    threshold = load_settings()["timing"]["silence_threshold"]
    expected = [s for s in TRUTHS[name]["silences"] if s["seconds"] > threshold]
    _assert_same_intervals(audited[name].measurements.silences, expected)


@pytest.mark.parametrize("name", ENGLISH)
def test_holds(audited, name):
    expected = [s for s in TRUTHS[name]["silences"] if s["kind"] == "hold"]
    _assert_same_intervals(audited[name].measurements.holds, expected)


@pytest.mark.parametrize("name", ENGLISH)
def test_interruptions(audited, name):
    min_overlap = load_settings()["timing"]["interruption_min_overlap"]
    expected = [o for o in TRUTHS[name]["overlaps"] if o["seconds"] >= min_overlap]
    measured = audited[name].measurements.interruptions
    assert len(measured) == len(expected), measured
    for got, want in zip(measured, expected):
        assert (got.by, got.over) == (want["by"], want["over"])
        assert got.seconds == pytest.approx(want["seconds"], abs=0.3)


# A mono call with a long overlap (en_11) was a strict expected failure here while its blended
# words went to one speaker (139 wpm for 122); cut at the speaker change, each voice is read alone.
@pytest.mark.parametrize("name", ENGLISH)
def test_speech_rate_within_ten_percent(audited, name):
    truth = TRUTHS[name]["speech_rate"]
    measured = audited[name].measurements.speech_rate
    assert measured["agent"] == pytest.approx(truth["agent"], rel=0.10)


@pytest.mark.parametrize("name", ENGLISH)
def test_checklist_statuses_match_the_expected_table(audited, name):
    got = {f.item: f.status for f in audited[name].result.findings}
    expected = TRUTHS[name]["expected"]
    wrong = {item: (got.get(item), status) for item, status in expected.items() if got.get(item) != status}
    details = {f.item: (f.reason, [e.text for e in f.evidence]) for f in audited[name].result.findings if f.item in wrong}
    assert not wrong, f"{name}: (got, expected) {wrong}; details {details}"


# --- mono mixes: what diarization adds ----------------------------------------------------------


def _scripted_speech(name: str) -> dict[str, list[tuple[float, float]]]:
    spans = {"agent": [], "customer": []}
    for turn in TRUTHS[name]["turns"]:
        spans[turn["role"]].append((turn["start"], turn["end"]))
    return spans


def _overlap(spans: list[tuple[float, float]], start: float, end: float) -> float:
    return sum(max(0.0, min(e, end) - max(s, start)) for s, e in spans)


@pytest.mark.parametrize("name", MONO_EN)
def test_diarization_error_rate_at_most_ten_percent(audited, name):
    """Speech activity by role against the script's turns, 0.25 s collar: missed speech, false alarm
    and speaker confusion together."""
    transcript = audited[name].transcript
    der = diarization_error_rate(_scripted_speech(name), transcript.activity, transcript.duration, collar=0.25)
    assert der <= 0.10, f"{name}: diarization error rate {der:.1%}"


@pytest.mark.parametrize("name", MONO_EN)
def test_agent_and_customer_are_told_apart_confidently(audited, name):
    """Every scripted turn is heard mostly as its own role (DER alone would forgive a swap)."""
    transcript = audited[name].transcript
    assert not transcript.roles.needs_review, transcript.roles.reason
    for scripted in TRUTHS[name]["turns"]:
        heard = {role: _overlap(transcript.speech(role), scripted["start"], scripted["end"]) for role in ("agent", "customer")}
        assert max(heard, key=heard.get) == scripted["role"], (scripted["text"], heard, transcript.roles.reason)


@pytest.mark.parametrize("name", MONO_EN)
def test_no_turn_mixes_two_speakers(audited, name):
    """A word said while only one scripted speaker talks is in a turn of that speaker's role."""
    scripted = _scripted_speech(name)
    for turn in audited[name].transcript.turns:
        for word in turn.words:
            middle = (word.start + word.end) / 2
            speaking = {role for role, spans in scripted.items() if any(s <= middle <= e for s, e in spans)}
            assert len(speaking) != 1 or speaking == {turn.role}, f"{word.text!r} at {middle:.2f} s in {turn}"


@needs_diarization
def test_talking_over_the_customer_in_a_mono_call_fails_no_interrupt(audited):
    call = audited["en_11_interrupt_mono"]
    finding = next(f for f in call.result.findings if f.item == "interaction.no_interrupt")
    assert finding.status == "fail"
    assert [(e.role, round(e.start)) for e in finding.evidence] == [("agent", 16)]


def test_a_hold_ends_where_the_agent_spoke_again_though_silero_missed_the_first_syllables(processor):
    """tests/data/onset/resume_white.ogg: a consented hold whose "Thank you for waiting." (at
    31.101 s) Silero, deep into the call under white noise and lost packets, hears only from
    31.8 s. The hold ends at the agent's first loud syllable (``activity.reach_back``)."""
    audited = processor.audit(REPO / "tests" / "data" / "onset" / "resume_white.ogg")
    [hold] = audited.measurements.holds
    assert hold.detected_by == "announcement"
    assert abs(hold.end - 31.101) < 0.2, hold
    resumed = next(turn for turn in audited.transcript.turns if turn.role == "agent" and turn.start > 20)
    assert resumed.start - 31.101 > 0.5  # the transcribed region is Silero's: the test can fail


@pytest.mark.parametrize("name, asked_until, consented_until", [("consent_babble.ogg", 15.289, 16.358),
                                                                ("consent_white.ogg", 14.25, 15.25),
                                                                ("consent_pink.ogg", 14.509, 15.578),
                                                                ("consent_pink_mono.flac", 14.683, 15.752),
                                                                ("consent_diphone_mono.flac", 14.475, 15.418)])
def test_a_hold_starts_after_a_consent_too_faint_to_transcribe(processor, name, asked_until, consented_until):
    """tests/data/onset/consent_*: "May I put you on hold for a moment?" - "Sure.", the caller
    6-12 dB quieter under noise, GSM, lost packets. Under babble (flite's slt) Silero never hears
    the caller; the "Sure." stands over the noise for 0.22 s, under ``vad.min_speech_duration_ms``
    but loud (``speakers.turns.reply_sounds``). Under white noise Silero hears it, but a lost
    packet leaves 0.12 s over the own-voice margin, too little for the leakage mask, and no echo
    was to be heard there (``leakage.unexplained``). Under pink noise nothing of it is loud, but
    its vowel is voiced (``audio.voicing``), on a leg and in a mono mix, where pyannote gives it
    nobody; festival's diphone voice voices only 50 ms of it, standing over the mix's floor
    (``voicing.SHORT_VOICED_FRAMES``). Each way the hold starts after the consent, not at the question, and the consent is
    not transcribed."""
    audited = processor.audit(REPO / "tests" / "data" / "onset" / name)
    assert not [turn for turn in audited.transcript.turns if turn.role == "customer" and asked_until < turn.start < 17]
    [hold] = audited.measurements.holds
    assert hold.detected_by == "announcement"
    assert consented_until - asked_until > 0.9
    assert abs(hold.start - consented_until) < 0.3, hold


@needs_diarization
def test_a_quiet_caller_talked_over_on_a_mono_mix_is_an_interruption(processor):
    """tests/data/onset/interrupt_mono.mp3: the agent talks over the caller's question for 3.0 s
    (16.089-19.089 s), the caller 9 dB quieter, under every impairment. pyannote's segmentation
    ends the caller's turn at 17.1 s (1.0 s of overlap: no interruption); the overlap model hears
    both voices to the end, and the caller's turn is carried through (``turns.through_overlaps``)."""
    audited = processor.audit(REPO / "tests" / "data" / "onset" / "interrupt_mono.mp3")
    [interruption] = audited.measurements.interruptions
    assert (interruption.by, interruption.over) == ("agent", "customer")
    assert abs(interruption.start - 16.089) < 0.3 and abs(interruption.end - 19.089) < 0.5, interruption
    finding = next(f for f in audited.result.findings if f.item == "interaction.no_interrupt")
    assert finding.status == "fail"
    # the evidence says whose ears heard the second voice: the span the caller's turn was carried through
    [(start, end)] = audited.transcript.two_voices
    assert abs(start - 17.1) < 0.3 and abs(end - 19.089) < 0.5, audited.transcript.two_voices
    assert "heard by the overlap model" in " ".join(e.text for e in finding.evidence)


def test_an_agent_silero_went_deaf_to_under_babble_is_heard(processor):
    """tests/data/onset/deaf_babble.ogg: Silero's carried state stops hearing the agent after the
    greeting under babble (tests/test_activity.py); heard afresh, the pause after the customer's
    consent ends where the agent spoke again (32.122 s), and the agent's turns are transcribed."""
    audited = processor.audit(REPO / "tests" / "data" / "onset" / "deaf_babble.ogg")
    [pause] = [s for s in audited.measurements.silences if s.end - s.start > 10]
    assert abs(pause.end - 32.122) < 0.3, pause  # carried state alone: the pause runs on past the agent
    agent = [turn for turn in audited.transcript.turns if turn.role == "agent"]
    assert [round(turn.start) for turn in agent] == [1, 12, 32]
