"""Measurements on hand-built transcripts whose speech activity is known to the hundredth."""

from pathlib import Path

import pytest
import yaml

from audits.calldata.metadata import CallMetadata
from audits.calldata.transcript import RingBack, Transcript, Turn, Word
from pipeline.measure import clip, gaps, intersect, measure, total, union

TIMING = yaml.safe_load((Path(__file__).parents[1] / "configs" / "default.yaml").read_text())["timing"]


def is_hold_announcement(turn) -> bool:
    return "hold" in turn.text.lower()


# An English call answered at 10 s (two rings heard), 115 s long. Each span: role, start, end, text.
EN_CALL = [
    ("agent", 11.5, 15.0, "Hello, thank you for calling, how can I help?"),  # 9 words
    ("agent", 16.0, 20.0, "My name is Anna."),  # 4
    ("customer", 20.5, 25.0, "My bill is too high this month."),
    ("customer", 26.0, 31.0, "I was charged twice for the same thing."),
    ("agent", 29.0, 33.0, "Let me check that for you right away."),  # 8; talks over the customer for 2.0 s
    ("agent", 35.0, 38.0, "May I put you on hold for a moment?"),  # 9
    ("customer", 38.5, 39.0, "Sure."),
    # 39.0-46.0: announced hold (7 s)
    ("agent", 46.0, 50.0, "Thank you for waiting."),  # 4
    ("customer", 49.0, 50.5, "Okay."),  # overlaps the agent 1.0 s: too short for an interruption
    # 50.5-62.5: dead air (12 s), not announced, shorter than an unannounced hold
    ("agent", 62.5, 70.0, "I have removed the second charge from your account today."),  # 10
    ("customer", 67.0, 75.0, "Wait, will I get the money back?"),  # talks over the agent for 3.0 s
    # 75.0-100.0: 25 s of silence, a hold even without an announcement
    ("agent", 100.0, 110.0, "Yes, within three days. Thank you for calling, goodbye."),  # 9
]
EN_AGENT_WORDS = 9 + 4 + 8 + 9 + 4 + 10 + 9


def transcript(spans, language="en", duration=115.0, answer_at=10.0, ring=None, activity=None, words=None):
    turns = [Turn(role, start, end, text, words=words or []) for role, start, end, text in spans]
    return Transcript(
        call_id="call",
        duration=duration,
        language=language,
        turns=turns,
        activity=activity or {},
        answer_at=answer_at,
        ring=ring or RingBack(10.0, 2, "audio"),
    )


def en_measurements(**kwargs):
    return measure(transcript(EN_CALL), TIMING, is_hold_announcement=is_hold_announcement, **kwargs)


def test_answer_delay_talk_time_and_non_talk():
    m = en_measurements()
    assert m.duration == 115.0 and m.answer_at == 10.0
    assert m.answer_delay == pytest.approx(1.5, abs=0.01)
    assert m.talk_time["agent"] == pytest.approx(3.5 + 4 + 4 + 3 + 4 + 7.5 + 10, abs=0.01)
    assert m.talk_time["customer"] == pytest.approx(4.5 + 5 + 0.5 + 1.5 + 8, abs=0.01)
    # Neither speaks: 10-11.5, 15-16, 20-20.5, 25-26, 33-35, 38-38.5, 39-46, 50.5-62.5, 75-100, 110-115.
    assert m.non_talk_total == pytest.approx(55.5, abs=0.01)
    assert not m.customer_silent


def test_silences_above_threshold():
    silences = en_measurements().silences
    assert [(s.start, s.end) for s in silences] == [
        pytest.approx((50.5, 62.5), abs=0.01),
        pytest.approx((75.0, 100.0), abs=0.01),
    ]
    assert [s.seconds for s in silences] == [pytest.approx(12.0, abs=0.01), pytest.approx(25.0, abs=0.01)]


def test_silence_exactly_at_threshold_is_not_above_it():
    spans = [("agent", 10.3, 12.3, "Hello."), ("agent", 22.3, 25.0, "Are you there?")]
    m = measure(transcript(spans, duration=25.0, answer_at=10.3), TIMING)
    assert m.silences == []  # 12.3 -> 22.3 is 10 s, threshold 10 s
    assert m.non_talk_total == pytest.approx(10.0, abs=0.01)


def test_interruptions_count_overlap_and_who():
    found = en_measurements().interruptions
    assert [(i.by, i.over) for i in found] == [("agent", "customer"), ("customer", "agent")]
    assert [i.start for i in found] == [pytest.approx(29.0), pytest.approx(67.0)]
    assert [i.seconds for i in found] == [pytest.approx(2.0, abs=0.01), pytest.approx(3.0, abs=0.01)]


def test_overlap_shorter_than_threshold_or_starting_together_is_no_interruption():
    spans = [
        ("customer", 10.0, 20.0, "a long complaint"),
        ("agent", 18.2, 25.0, "I see"),  # 1.8 s overlap
        ("agent", 30.0, 35.0, "both at once"),
        ("customer", 30.0, 34.0, "both at once"),  # 4 s overlap, but nobody was talking first
    ]
    assert measure(transcript(spans, duration=40.0), TIMING).interruptions == []


def test_holds_announced_and_silent():
    holds = en_measurements().holds
    assert [(h.start, h.end, h.detected_by) for h in holds] == [
        (pytest.approx(39.0, abs=0.01), pytest.approx(46.0, abs=0.01), "announcement"),
        (pytest.approx(75.0, abs=0.01), pytest.approx(100.0, abs=0.01), "silence"),
    ]


def test_without_an_announcement_rule_only_hold_length_silences_are_holds():
    holds = measure(transcript(EN_CALL), TIMING).holds
    assert [(h.start, h.detected_by) for h in holds] == [(pytest.approx(75.0), "silence")]


def test_announcement_long_before_the_silence_does_not_make_a_hold():
    spans = [
        ("agent", 10.0, 13.0, "Please hold the line."),
        ("customer", 13.5, 18.0, "Before you go, one more thing about my account."),  # agent ended 5 s before the pause
        ("agent", 26.0, 30.0, "Sorry?"),
    ]
    m = measure(transcript(spans, duration=30.0), TIMING, is_hold_announcement=is_hold_announcement)
    assert m.holds == []


def test_activity_not_turn_spans_is_the_timing_truth():
    # ASR turns padded by 0.5 s; the recorded voice activity says where speech really is.
    spans = [("agent", 10.5, 14.5, "Hello."), ("customer", 25.5, 30.0, "Hi.")]
    activity = {"agent": [(11.0, 14.0)], "customer": [(26.0, 29.5)]}
    m = measure(transcript(spans, duration=30.0, activity=activity), TIMING)
    assert m.answer_delay == pytest.approx(1.0, abs=0.01)
    assert [(s.start, s.end) for s in m.silences] == [(pytest.approx(14.0), pytest.approx(26.0))]


def test_speech_before_the_answer_is_not_counted():
    # Voice activity during the ring phase (line noise taken for speech) is not talk.
    spans = [("agent", 12.0, 15.0, "Hello.")]
    activity = {"agent": [(3.0, 4.0), (9.5, 15.0)], "customer": []}
    m = measure(transcript(spans, duration=20.0, activity=activity), TIMING)
    assert m.talk_time["agent"] == pytest.approx(5.0)
    assert m.answer_delay == 0.0


def test_english_speech_rate_is_words_per_minute_of_own_speech():
    m = en_measurements()
    agent_minutes = (3.5 + 4 + 4 + 3 + 4 + 7.5 + 10) / 60
    assert m.speech_rate_unit == "wpm"
    assert m.speech_rate["agent"] == pytest.approx(EN_AGENT_WORDS / agent_minutes, rel=0.001)


def test_chinese_speech_rate_is_han_characters_per_minute():
    spans = [
        ("agent", 10.5, 15.5, "您好，欢迎致电客服中心！"),  # 10 characters in 5 s
        ("customer", 16.0, 19.0, "我的账单有问题 OK"),  # 7 characters in 3 s; Latin letters are not counted
        ("agent", 20.0, 25.0, "请您稍等片刻，好吗？"),  # 8 characters in 5 s
    ]
    m = measure(transcript(spans, language="zh-CN", duration=30.0), TIMING)
    assert m.speech_rate_unit == "cpm"
    assert m.speech_rate["agent"] == pytest.approx(18 / (10 / 60), rel=0.001)
    assert m.speech_rate["customer"] == pytest.approx(7 / (3 / 60), rel=0.001)


def test_ring_from_audio_metadata_or_unknown():
    from_audio = en_measurements()
    assert (from_audio.ring_seconds, from_audio.ring_count, from_audio.ring_source) == (10.0, 2, "audio")

    metadata = CallMetadata(ring_seconds=17.0, hangup_by="customer")
    from_metadata = en_measurements(metadata=metadata, seconds_per_ring=5.0)
    assert (from_metadata.ring_seconds, from_metadata.ring_count, from_metadata.ring_source) == (17.0, 4, "metadata")
    assert (from_metadata.hangup_by, from_metadata.hangup_source) == ("customer", "metadata")
    assert (from_audio.hangup_by, from_audio.hangup_source) == (None, "unknown")

    no_ring = transcript(EN_CALL, ring=RingBack(None, None, "unknown"))
    unknown = measure(no_ring, TIMING, metadata=CallMetadata(agent_id="a1"))
    assert (unknown.ring_seconds, unknown.ring_count, unknown.ring_source) == (None, None, "unknown")


def test_agent_who_never_speaks_has_no_answer_delay_or_rate():
    spans = [("customer", 11.0, 14.0, "Hello? Hello?"), ("customer", 20.0, 22.0, "Anyone there?")]
    m = measure(transcript(spans, duration=30.0), TIMING)
    assert m.answer_delay is None
    assert m.talk_time["agent"] == 0.0
    assert "agent" not in m.speech_rate
    assert m.silences == [] and m.non_talk_total == pytest.approx(1 + 6 + 8)


def test_customer_silent_call_and_asr_confidence():
    words = [Word(11.0, 11.5, "Hello", 0.9), Word(11.5, 12.0, "there", 0.7)]
    spans = [("agent", 11.0, 12.0, "Hello there"), ("customer", 20.0, 20.3, "mm")]
    m = measure(transcript(spans, duration=30.0, words=words), TIMING)
    assert m.customer_silent  # 0.3 s of customer speech
    assert m.asr_confidence == pytest.approx(0.8)
    assert measure(transcript(EN_CALL), TIMING).asr_confidence is None


def test_a_customer_leg_sounding_of_its_own_is_no_silent_call():
    """A whispered reply can escape the VAD (0.3 s heard) yet sound on the customer's leg: not silent."""
    spans = [("agent", 11.0, 12.0, "Hello there"), ("customer", 20.0, 20.3, "mm")]
    heard = transcript(spans, duration=30.0)
    heard.sound = {"agent": 0.9, "customer": 1.4}
    m = measure(heard, TIMING)
    assert not m.customer_silent and m.customer_sound == 1.4
    heard.sound["customer"] = 0.2  # a cough's worth of its own sound: still silent
    assert measure(heard, TIMING).customer_silent


def test_interval_algebra():
    spans = union([(5.0, 6.0), (1.0, 2.0), (1.5, 3.0), (3.0, 4.0)])
    assert spans == [(1.0, 4.0), (5.0, 6.0)]  # overlapping and touching spans merge
    assert clip(spans, 2.0, 5.5) == [(2.0, 4.0), (5.0, 5.5)]
    assert gaps(spans, 0.0, 8.0) == [(0.0, 1.0), (4.0, 5.0), (6.0, 8.0)]
    assert gaps([], 2.0, 3.0) == [(2.0, 3.0)]
    assert intersect(spans, [(0.5, 1.5), (3.5, 5.2), (5.8, 9.0)]) == [(1.0, 1.5), (3.5, 4.0), (5.0, 5.2), (5.8, 6.0)]
    assert intersect(spans, []) == [] and intersect([], spans) == []
    assert total(spans) == pytest.approx(4.0)


def test_the_listing_floors_never_hide_what_the_spec_judges():
    """Settings above the spec's limits are lowered to them; below, they stand (they only list more)."""
    from audits.spec import load_spec
    from pipeline.call import recording_floors, seconds_per_ring

    spec = load_spec("en")  # silence.dead_air: above 10 s; interaction.no_interrupt: at least 2 s
    high = recording_floors({**TIMING, "silence_threshold": 30.0, "interruption_min_overlap": 5.0}, spec)
    assert (high["silence_threshold"], high["interruption_min_overlap"]) == (10, 2)
    low = recording_floors({**TIMING, "silence_threshold": 4.0, "interruption_min_overlap": 0.5}, spec)
    assert (low["silence_threshold"], low["interruption_min_overlap"]) == (4.0, 0.5)
    m = measure(transcript(EN_CALL), high, is_hold_announcement=is_hold_announcement)
    assert [round(s.seconds) for s in m.silences] == [12, 25]
    assert [round(i.seconds) for i in m.interruptions] == [2, 3]
    assert seconds_per_ring(spec) == spec.item("opening.wait_apology").options.seconds_per_ring


def test_metadata_rings_are_unknown_without_a_ring_length():
    """No spec item judges the ring time: metadata seconds stay, their count of rings is unknown."""
    m = en_measurements(metadata=CallMetadata(ring_seconds=17.0))
    assert (m.ring_seconds, m.ring_count, m.ring_source) == (17.0, None, "metadata")


def test_a_hold_the_customer_agreed_to_is_announced():
    # "May I put you on hold?" - "Yes, okay." - 16 s of silence: the consent does not orphan the announcement.
    spans = [
        ("agent", 10.0, 14.0, "May I put you on hold for a moment while I check?"),
        ("customer", 14.8, 17.3, "Yes, okay, go ahead, I'll wait."),  # the silence starts 3.3 s after the ask
        ("agent", 33.3, 35.0, "Thank you for your patience."),
    ]
    m = measure(transcript(spans, duration=40.0), TIMING, is_hold_announcement=is_hold_announcement)
    assert [(h.start, h.end, h.detected_by) for h in m.holds] == [(17.3, 33.3, "announcement")]


def test_a_consent_and_a_thanks_between_the_announcement_and_the_hold():
    # "May I put you on hold?" - "Sure." - "Thanks." - silence: the agent's last turn is no
    # announcement, the one before is; and on a mono mix the consent may be given to the agent.
    for consent_role in ("customer", "agent"):
        spans = [
            ("agent", 10.0, 14.0, "May I put you on hold for a moment?"),
            (consent_role, 14.6, 15.2, "Sure."),
            ("agent", 15.6, 16.3, "Thanks."),
            ("agent", 33.0, 35.0, "Thank you for your patience."),
        ]
        m = measure(transcript(spans, duration=40.0), TIMING, is_hold_announcement=is_hold_announcement)
        assert [(h.start, h.end, h.detected_by) for h in m.holds] == [(16.3, 33.0, "announcement")], consent_role
    spans[2] = ("agent", 15.6, 18.6, "Thanks, and let me also note your new address.")  # 3.6 s said since
    m = measure(transcript(spans, duration=40.0), TIMING, is_hold_announcement=is_hold_announcement)
    assert m.holds == []


def test_a_customer_who_says_more_than_yes_has_not_consented_to_a_hold():
    spans = [
        ("agent", 10.0, 14.0, "May I put you on hold for a moment while I check?"),
        ("customer", 14.6, 19.6, "Actually, before that, can you tell me when the bill is due?"),
        ("agent", 35.6, 38.0, "Thank you for your patience."),
    ]
    m = measure(transcript(spans, duration=40.0), TIMING, is_hold_announcement=is_hold_announcement)
    assert m.holds == []  # 16 s after the customer's question: dead air, not an announced hold
