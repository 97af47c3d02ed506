import json

import pytest

from audits.calldata.transcript import RingBack, RoleAssignment, Transcript, TranscriptError, Turn, Word


def _transcript() -> Transcript:
    return Transcript(
        call_id="c1",
        duration=30.5,
        language="zh",
        turns=[
            Turn("agent", 1.0, 3.0, "您好，天潮客服中心", [Word(1.0, 1.4, "您好", 0.9)], 0.9, channel=0),
            Turn("customer", 3.5, 5.0, "我姓王", [], 1.0, channel=1),
        ],
        activity={"agent": [(1.0, 3.0)], "customer": [(3.5, 5.0)]},
        sound={"agent": 1.2, "customer": 0.8},
        answer_at=0.8,
        ring=RingBack(20.0, 4, "audio"),
        roles=RoleAssignment("auto-greeting", 0.83, agent="left", reason="greeting"),
        source="a.wav",
        audio_sha256="ab" * 32,
        asr={"model": "tiny.en"},
    )


def test_json_round_trip_is_lossless(tmp_path):
    original = _transcript()
    path = tmp_path / "t.json"
    original.save(path)
    assert Transcript.load(path) == original
    assert "您好" in path.read_text(encoding="utf-8")  # readable, not \u-escaped
    compact = original.to_json(compact=True)  # as the store keeps it
    assert Transcript.from_dict(json.loads(compact)) == original and "\n" not in compact
    assert len(compact) < len(original.to_json()) * 0.8


def test_the_spans_an_overlap_model_carried_a_mono_turn_through_are_kept_and_only_there(tmp_path):
    mono = _transcript()
    mono.channels, mono.two_voices = 1, [(3.5, 4.2)]
    mono.save(tmp_path / "mono.json")
    assert Transcript.load(tmp_path / "mono.json") == mono
    assert "two_voices" not in _transcript().to_dict()  # stereo calls: nothing to say


def test_minimal_transcript_from_another_asr_system():
    data = {"language": "en", "turns": [
        {"role": "agent", "start": 0.5, "end": 2.0, "text": "Hello"},
        {"role": "customer", "start": 2.5, "end": 4.0, "text": "Hi"},
    ]}
    transcript = Transcript.from_dict(data, origin="other.json")
    assert transcript.call_id == "other"
    assert transcript.duration == 4.0
    assert transcript.ring.seconds is None and transcript.ring.source == "unknown"
    assert transcript.speech("agent") == [(0.5, 2.0)]  # no VAD activity: turn spans


TURN = {"role": "agent", "start": 0.5, "end": 2.0, "text": "Hello"}


@pytest.mark.parametrize("data, problem", [
    ({"turns": []}, "language"),
    ({"language": "en", "turns": [{"role": "boss", "start": 0, "end": 1, "text": "x"}]}, "boss"),
    ({"language": "en", "turns": [{"role": "agent", "start": "soon", "end": 1, "text": "x"}]}, "soon"),
    ({"language": "en", "turns": [], "schema_version": 99}, "schema_version 99"),
    # issue #14: each of these used to pass silently, or end in a traceback later
    ({"language": "en", "turns": "hello"}, "field 'turns': must be a list"),
    ({"language": "en", "turns": {"role": "agent"}}, "field 'turns': must be a list"),
    ({"language": "en", "turns": ["agent"]}, "field 'turns[0]': must be an object"),
    ({"language": "en", "turns": [TURN, {**TURN, "start": "NaN"}]}, "field 'turns[1].start': must be a number, got 'NaN'"),
    ({"language": "en", "turns": [{**TURN, "start": 3.0, "end": 2.0}]}, "field 'turns[0].end': 2.0 is before its start 3.0"),
    ({"language": "en", "turns": [{**TURN, "start": -1.0}]}, "field 'turns[0].start': a time must not be negative"),
    ({"language": "en", "turns": [{**TURN, "text": None}]}, "field 'turns[0].text': must be text, got null"),
    ({"language": "en", "turns": [{**TURN, "confidence": "high"}]}, "field 'turns[0].confidence': must be a number"),
    ({"language": "en", "turns": [{**TURN, "confidence": 7}]}, "field 'turns[0].confidence': must be between 0 and 1"),
    ({"language": "en", "turns": [{**TURN, "words": [{"start": 0, "end": "x", "text": "a"}]}]},
     "field 'turns[0].words[0].end': must be a number"),
    ({"language": "fr", "turns": [TURN]}, "field 'language': 'fr' is not a language callqa audits"),
    ({"language": None, "turns": [TURN]}, "field 'language': must be text, got null"),
    ({"language": "en", "turns": [TURN], "ring": "4 rings"}, "field 'ring': must be an object"),
    ({"language": "en", "turns": [TURN], "ring": {"seconds": "20"}}, "field 'ring.seconds': must be a number"),
    ({"language": "en", "turns": [TURN], "roles": {"confidence": "sure"}}, "field 'roles.confidence': must be a number"),
    ({"language": "en", "turns": [TURN], "answer_at": -3}, "field 'answer_at': a time must not be negative"),
    ({"language": "en", "turns": [TURN], "activity": {"agent": [[5, 1]]}}, "field 'activity.agent[0].end'"),
    ({"language": "en", "turns": [TURN], "two_voices": [[4.0]]}, "field 'two_voices[0]': must be [start, end]"),
    ({"language": "en", "turns": [TURN], "call_id": ["x"]}, "field 'call_id': must be text, got a list"),
    ({"language": "en", "turns": [TURN], "sound": {"caller": 1.0}}, "field 'sound.caller': not a role"),
    ({"language": "en", "turns": [TURN], "sound": {"customer": -1}}, "field 'sound.customer': a time must not be"),
])
def test_bad_transcripts_name_the_file_and_problem(tmp_path, data, problem):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(TranscriptError) as raised:
        Transcript.load(path)
    assert str(path) in str(raised.value) and problem in str(raised.value)


def test_not_json(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("{oops")
    with pytest.raises(TranscriptError, match="cannot read transcript JSON"):
        Transcript.load(path)


def test_language_tags_with_a_region_are_taken():
    for language in ("en-US", "zh_CN", "ZH", "en"):
        assert Transcript.from_dict({"language": language, "turns": [TURN]}).language == language


def test_non_finite_times_are_refused_even_where_a_json_reader_lets_them_through():
    # orjson refuses NaN and Infinity in a file; Python's json (another tool's output) lets them in
    for value in (float("nan"), float("inf")):
        with pytest.raises(TranscriptError, match="field 'turns\\[0\\].end': must be a finite number"):
            Transcript.from_dict({"language": "en", "turns": [{**TURN, "end": value}]})
