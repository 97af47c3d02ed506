"""Phrase verification's decision and storage, and the loop guard's judgement, without the model:
stored scores in a transcript, the transcript schema, the guard on decoded texts. (The scoring
itself runs on real audio in tests/test_verify_audio.py.)"""

from __future__ import annotations

import collections
import re

import pytest

from audits.calldata.transcript import PhraseScore, Transcript, TranscriptError, Turn, Word
from audits.verification import Verifier, closest, heard_turn
from pipeline.asr.guard import Reading, better, echoes, loops, suspect

GUARD = {"guard_compression_ratio": 2.4, "guard_log_prob": -1.0, "guard_repeats": 4}


def _turn(start: float, end: float, text: str) -> Turn:
    words = text.split()
    step = (end - start) / len(words)
    return Turn("agent", start, end, text, [Word(start + n * step, start + (n + 1) * step, w, 0.9)
                                             for n, w in enumerate(words)], channel=0)


def _transcript(*turns: Turn, scores=()) -> Transcript:
    return Transcript("c1", 20.0, "en", list(turns), phrase_scores=list(scores))


def test_a_phrase_is_said_within_the_margin_and_not_beyond_it():
    turn = _turn(1.0, 4.0, "Hello Apex service centre plan to serve you")
    stored = [PhraseScore(1.0, 4.0, "glad to serve you", -30.0, -28.0, "…glad to serve you", turn.text),
              PhraseScore(1.0, 4.0, "how can I help you", -45.0, -28.0, "…how can I help you", turn.text)]
    verifier = Verifier(_transcript(turn, scores=stored), margin=8.0)
    near, far = verifier.verify([turn], ["glad to serve you", "how can I help you"])
    assert near.said and near.source == "stored" and near.score.margin == pytest.approx(-2.0)
    assert not far.said
    assert Verifier(_transcript(turn, scores=stored), margin=1.0).verify([turn], ["glad to serve you"])[0].said is False
    # the margin grows with the phrase's words: 0.5 + 0.5 x 4 words = 2.5 nats for this one
    [scaled] = Verifier(_transcript(turn, scores=stored), margin=0.5, per_word=0.5).verify([turn], ["glad to serve you"])
    assert scaled.margin == 2.5 and scaled.said


def test_without_audio_a_phrase_never_scored_gets_no_answer():
    turn = _turn(1.0, 4.0, "Hello Apex service centre")
    assert Verifier(_transcript(turn), margin=8.0).verify([turn], ["glad to serve you"]) is None


class _Scorer:
    """A PhraseScorer that answers from a table (the live one needs audio: test_verify_audio.py)."""

    def __init__(self, table: dict[str, float]):
        self.table, self.asked = table, []

    def score(self, turns, phrases):
        self.asked.append(tuple(phrases))
        return [PhraseScore(turns[0].start, turns[-1].end, p, self.table[p], -10.0, p, "heard") for p in phrases]


def test_new_scores_join_the_transcript_and_are_not_asked_twice():
    turn = _turn(1.0, 4.0, "Hello Apex service centre")
    transcript = _transcript(turn)
    scorer = _Scorer({"glad to serve you": -12.0})
    verifier = Verifier(transcript, margin=8.0, scorer=scorer)
    [first] = verifier.verify([turn], ["glad to serve you"])
    [second] = verifier.verify([turn], ["glad to serve you"])
    assert first.source == "audio" and second.source == "stored" and first.said and second.said
    assert scorer.asked == [("glad to serve you",)]
    again = Transcript.from_dict(transcript.to_dict())  # stored with the transcript, read back
    assert [s.phrase for s in again.phrase_scores] == ["glad to serve you"]
    assert Verifier(again, margin=8.0).verify([turn], ["glad to serve you"])[0].said


def test_closest_phrases_are_those_spelled_most_like_the_text():
    group = ["have a nice day", "goodbye", "bye", "have a good day"]
    assert closest(group, "Thank you for calling. Good buy.", 2)[0] in ("goodbye", "bye")


def test_the_transcript_schema_checks_phrase_scores_and_redecoded_turns():
    data = _transcript(_turn(1.0, 4.0, "Hello there")).to_dict()
    assert "redecoded" not in data["turns"][0]  # only turns decoded twice say so
    data["turns"][0]["redecoded"] = "loop: a run of 3 words 5 times"
    data["phrase_scores"] = [{"start": 1.0, "end": 4.0, "phrase": "hello", "phrase_score": -3.0, "heard_score": -2.0}]
    back = Transcript.from_dict(data)
    assert back.turns[0].redecoded.startswith("loop") and back.phrase_scores[0].margin == pytest.approx(-1.0)
    for field, value, message in [
        ("redecoded", 3, "field 'turns[0].redecoded': must be text"),
        ("phrase_score", "high", "field 'phrase_scores[0].phrase_score': must be a number"),
        ("end", 0.5, "field 'phrase_scores[0].end': 0.5 is before its start 1.0"),
    ]:
        bad = Transcript.from_dict(data).to_dict()
        if field == "redecoded":
            bad["turns"][0][field] = value
        else:
            bad["phrase_scores"][0][field] = value
        with pytest.raises(TranscriptError, match=re.escape(message)):
            Transcript.from_dict(bad, origin="x.json")


LOOP = "You can submit it in the number of undercurrents, and you can submit it in the number of undercurrents, " \
       "and you can submit it in the number of undercurrents, and you can submit it in the number of"


def test_the_guard_finds_loops_and_unlikely_readings_and_leaves_plain_speech():
    assert suspect(Reading(LOOP, -0.3), GUARD).startswith("loop: a run of 3 words")
    assert suspect(Reading("Thank you for calling. Goodbye.", -1.6), GUARD).startswith("unlikely")
    assert suspect(Reading("Thank you for calling. Goodbye.", -1.6, no_speech_prob=0.9), GUARD) is None
    assert suspect(Reading("Hello, Apex service centre, glad to serve you. What can I do for you?", -0.4), GUARD) is None
    greeting = "Hello, thank you for calling us at the customer service center."
    assert suspect(Reading(f"{greeting} {greeting}", -0.4), GUARD).startswith("loop")


def test_a_hinted_reading_that_loops_on_the_hint_is_a_loop():  # what the turn hints refuse to keep
    assert loops("thank you for waiting. " * 12, GUARD)
    assert loops(LOOP, GUARD)
    assert not loops("Thank you for waiting. Thank you for waiting. The jacket is in stock.", GUARD)


def test_the_guard_keeps_the_reading_that_loops_less_then_the_likelier():
    plain = Reading("You can submit it in the branch office.", -0.6)
    assert better(plain, Reading(LOOP, -0.2), GUARD)
    assert not better(Reading(LOOP, -0.2), plain, GUARD)
    assert not better(Reading("", 0.0), Reading("Goodbye.", -1.5), GUARD)
    assert better(Reading("Goodbye.", -0.5), Reading("Good buy.", -1.5), GUARD)


def test_words_repeating_another_turn_are_an_echo():
    greeting = "Hello, thank you for calling us at the customer service center."
    assert echoes(greeting, "On course. " + greeting)
    assert not echoes("Thank you for calling. Goodbye.", greeting)
    assert not echoes("Thank you.", "Thank you.")  # too short to tell a loop from a courtesy said twice


def test_a_kept_chunk_places_a_recording_time_in_its_own_audio():
    """Pieces of a chunk lie back to back (0.4 s apart) whatever the silence between them in the
    recording: a time 1 s into the second piece is 1 s past that piece's start in the chunk."""
    import numpy as np

    from pipeline.asr.engine import EncodedChunk

    chunk = EncodedChunk(0, [(10.0, 15.0), (40.0, 42.0)], [0.0, 5.4], np.zeros((1, 1500, 4), np.float32))
    assert chunk.seconds_in(12.0) == pytest.approx(2.0)
    assert chunk.seconds_in(41.0) == pytest.approx(6.4)
    assert chunk.holds(0, 41.0) and not chunk.holds(0, 30.0) and not chunk.holds(1, 41.0)
    assert chunk.distance(0, 15.3) == pytest.approx(0.3) and chunk.distance(0, 39.0) == pytest.approx(1.0)
    assert chunk.distance(1, 12.0) == float("inf")
    # Between the two pieces the chunk holds no audio: a time there is at the nearer piece's edge, not
    # counted on from the first piece (38.5 s would be 28.5 s in: past the second piece's 5.4-7.4 s).
    assert chunk.seconds_in(38.5) == pytest.approx(5.4) and chunk.seconds_in(16.0) == pytest.approx(5.0)
    assert chunk.seconds_in(43.0) == pytest.approx(8.4)  # after the last piece: the padding that follows it


def test_once_a_group_is_missing_the_others_are_looked_for_in_the_text_only():
    """The item fails on the first group neither written nor heard: the next group the text lacks
    is not checked against the audio (each check costs forced decodings), and the finding says so."""
    from audits.spec import load_spec
    from pipeline.call import CallProcessor
    from pipeline.config import load_settings

    agent = _turn(1.0, 4.0, "Good day, what do you need.")
    customer = Turn("customer", 4.3, 6.0, "My order please.", [Word(4.3, 6.0, "My")], channel=1)
    last = _turn(7.0, 9.0, "It has shipped. See you.")
    transcript = Transcript("c1", 10.0, "en", [agent, customer, last])
    processor = CallProcessor(load_settings(), load_spec("en"))
    scorer = _Scorer(collections.defaultdict(lambda: -60.0))  # nothing heard
    verifier = Verifier(transcript, margin=3.5, scorer=scorer)
    from audits.engine import audit

    measured = processor.audit_transcript(Transcript.from_dict(transcript.to_dict())).measurements
    greeting = audit(transcript, measured, processor.spec, None, verifier).finding("opening.greeting")
    assert greeting.status == "fail"
    groups = processor.spec.item("opening.greeting").options.groups
    asked = {phrase for (phrase,) in scorer.asked}
    assert asked & set(groups[0])  # 'hello' and the like: not heard
    assert not asked & (set(groups[1]) | set(groups[2]))  # so no later group was asked
    assert "not checked against the audio" in greeting.reason


class _EndScorer:
    """A PhraseScorer whose reading puts the phrase in place of the window's last ``garbled`` words;
    ``table`` gives the phrase's score, the words as decoded score -10."""

    def __init__(self, table: dict[str, float], garbled: int):
        self.table, self.garbled = table, garbled

    def score(self, turns, phrases):
        heard = [w.text for t in turns for w in t.words]
        return [PhraseScore(turns[0].start, turns[-1].end, p, self.table[p], -10.0,
                            " ".join(heard[:-self.garbled] + [p]), " ".join(heard)) for p in phrases]


def test_a_phrase_heard_in_a_window_of_turns_is_placed_in_the_turn_it_was_put_in():
    first, second = _turn(1.0, 3.0, "Hello what can I do"), _turn(8.0, 12.0, "No sound on your phone lets go")
    score = PhraseScore(1.0, 12.0, "goodbye", -9.0, -10.0, "Hello what can I do No sound on your phone goodbye",
                        "Hello what can I do No sound on your phone lets go")
    assert heard_turn([first, second], score) is second
    put_after = PhraseScore(1.0, 3.0, "for you", -9.0, -10.0, "Hello what can I do for you", "Hello what can I do")
    assert heard_turn([first, second], put_after) is first  # after the window's last word: that word's turn
    at_start = PhraseScore(1.0, 12.0, "hi", -9.0, -10.0, "hi Hello what can I do", "Hello what can I do")
    assert heard_turn([first, second], at_start) is first
    other = PhraseScore(1.0, 12.0, "goodbye", -9.0, -10.0, "goodbye", "words no turn has")
    assert heard_turn([first, second], other) is first  # the words changed since: the window's first turn


def test_a_silent_calls_closing_heard_only_in_the_audio_closes_after_the_greetings():
    """The closing's goodbye garbled in the text ("let's go to five") and heard in the audio of the
    last turn: the closing is that turn, so both greetings come before it (placed at the window's
    first turn, the closing came before every greeting: "greeted 0 time(s)")."""
    from audits.engine import audit
    from audits.spec import load_spec
    from pipeline.call import CallProcessor
    from pipeline.config import load_settings

    turns = [_turn(0.8, 7.2, "Hello Apex service centre glad to serve you. What can I do for you?"),
             _turn(12.0, 14.6, "Hello. What can I do for you?"),
             _turn(19.5, 27.3, "Sorry. There is no sound on your phone. Would you please call again on another "
                               "phone? Let's go to five.")]
    transcript = Transcript("c1", 33.0, "en", turns)
    processor = CallProcessor(load_settings(), load_spec("en"))
    measured = processor.audit_transcript(Transcript.from_dict(transcript.to_dict())).measurements
    verifier = Verifier(transcript, margin=3.5, scorer=_EndScorer(collections.defaultdict(lambda: -60.0,
                                                                                          goodbye=-9.0), 4))
    finding = audit(transcript, measured, processor.spec, None, verifier).finding("silent_call.protocol")
    assert finding.status == "pass", finding.reason
    goodbye = [e for e in finding.evidence if "'goodbye' heard in the audio" in e.text]
    assert [(e.start, e.end) for e in goodbye] == [(19.5, 27.3)]  # the turn it was heard in, not the window


def test_a_phrase_put_in_keeps_the_decoded_spelling_of_the_words_it_shares():
    """Only the words that differ are put to the audio: spelled anew, a shared word would win the
    phrase nats for the decoder's odd punctuation alone (".I." is unlikely, "I" is not), and a
    forbidden phrase one word off what was said ("it" for "you") would be 'heard'."""
    from pipeline.asr.verify import _readings

    texts = ["Is", "merited", "in", "L", ".I.", "can't", "help", "you", "with."]
    readings = _readings([Word(i, i + 0.4, text) for i, text in enumerate(texts)], "I can't help it")
    assert "Is merited in L .I. can't help it with." in readings
    assert all(".I. can't help" in reading for reading in readings)


def test_a_phrase_is_put_in_at_a_turn_edge_only_where_the_audio_has_room_for_it():
    """Dropped words leave their time uncovered: an edge whose words cover the turn's audio gets
    no insertion; 0.15 s a word of the phrase is room enough."""
    from pipeline.asr.verify import _roomy

    edges = [(0, 0.05), (3, 0.7), (5, 0.3)]
    assert _roomy(edges, "glad to serve you") == [3]
    assert _roomy(edges, "goodbye") == [3, 5]
    assert _roomy(edges, "请稍等") == [3]


def test_a_hold_announced_in_words_the_text_garbled_is_found_from_its_audio_score():
    """"May I please you on gold for a moment" and 15 s of silence: with the announcement heard in
    the audio (its score stored, as a rescore finds it) the silence is a hold, not dead air;
    without a score it stays dead air."""
    from audits.spec import load_spec
    from pipeline.call import CallProcessor
    from pipeline.config import load_settings

    agent = _turn(1.0, 4.0, "Hello Apex service centre, glad to serve you.")
    garbled = _turn(5.0, 8.0, "May I please you on gold for a moment.")
    back = _turn(24.0, 27.0, "Thank you for waiting, your order has shipped. Goodbye.")
    customer = Turn("customer", 4.3, 4.9, "Hi, my order.", [Word(4.3, 4.9, "Hi,")], channel=1)
    call = [agent, customer, garbled, back]
    heard = [PhraseScore(5.0, 8.0, p, -20.0, -19.0, p, garbled.text)
             for p in ("could you hold for a moment", "just a moment")]
    processor = CallProcessor(load_settings(), load_spec("en"))
    with_score = processor.audit_transcript(Transcript("c1", 28.0, "en", call, phrase_scores=heard))
    without = processor.audit_transcript(Transcript("c1", 28.0, "en", call))
    assert [h.detected_by for h in with_score.measurements.holds] == ["announcement"]
    assert with_score.result.finding("silence.dead_air").status == "pass"
    assert not without.measurements.holds and without.result.finding("silence.dead_air").status == "fail"


def test_a_forbidden_phrase_found_only_fuzzily_stands_only_where_the_audio_prefers_it():
    """"…anything else I can help you with" written "I can't help you with" is one word off the
    forbidden "I can't help it": the audio barely tells them apart, so the doubt goes to the agent.
    7 nats less likely than what was decoded is within a required phrase's margin (2 + 1.5 x 4
    words), not a forbidden one's (0); a reading the audio prefers stands."""
    from audits.spec import load_spec
    from pipeline.call import CallProcessor
    from pipeline.config import load_settings

    agent = _turn(1.0, 4.0, "Hello Apex service centre, glad to serve you.")
    customer = Turn("customer", 4.3, 6.0, "My order please.", [Word(4.3, 6.0, "My")], channel=1)
    near = _turn(7.0, 9.0, "It's already being held, I can't help you with")
    call = [agent, customer, near]
    processor = CallProcessor(load_settings(), load_spec("en"))

    def forbidden(phrase_score: float):
        score = PhraseScore(7.0, 9.0, "I can't help it", phrase_score, -10.4, "It's already being held, I can't help it",
                            near.text)
        return processor.audit_transcript(Transcript("c1", 10.0, "en", call, phrase_scores=[score])
                                          ).result.finding("forbidden.phrases")

    doubtful = forbidden(-17.5)
    assert doubtful.status == "pass" and "'I can't help it' not heard" in doubtful.reason
    assert doubtful.verification[0]["margin"] == 0.0 and doubtful.verification[0]["forbidden"]
    assert "margin 0; forbidden, found only fuzzily: stands only if at most the margin less likely" in doubtful.reason
    preferred = forbidden(-9.9)
    assert preferred.status == "fail" and "'I can't help it' heard" in preferred.reason


def test_a_phrase_is_also_put_in_over_a_neighbouring_word_the_decoder_was_unsure_of(monkeypatch):
    """ASR cuts a word it does not know into pieces it is unsure of, which spell like nothing
    ("say pastor" for "Apex"): the run spelled most like the phrase leaves one out, so that place
    is also tried taking in the word before it, or after it, where the decoder gave that word less
    than even odds; a word it was sure of stays."""
    from pipeline.asr import verify

    monkeypatch.setattr(verify, "SPANS_TRIED", 1)  # the run spelled most alike ("with center,") alone
    monkeypatch.setattr(verify, "LAST_WORDS", ())  # not in place of the last words (the test below)
    texts = ["Hello,", "say", "pastor", "with", "center,", "land", "to", "serve", "you."]

    def readings(sure: list[float]) -> list[str]:
        return verify._readings([Word(i, i + 0.4, t, p) for i, (t, p) in enumerate(zip(texts, sure))],
                                "service center")

    assert readings([0.9, 0.18, 0.09, 0.52, 0.8, 0.3, 0.9, 0.9, 0.9]) == [
        "Hello, say pastor service center, land to serve you.",
        "Hello, say service center, land to serve you.",  # "pastor" (0.09) taken in
        "Hello, say pastor service center, to serve you.",  # "land" (0.3) taken in
    ]
    assert readings([0.9, 0.18, 0.9, 0.52, 0.8, 0.9, 0.9, 0.9, 0.9]) == [
        "Hello, say pastor service center, land to serve you."]
    # a window of fewer words than the phrase less two: put in at its edges only
    assert verify._readings([Word(0, 0.4, "Hi.", 0.2)], "is there anything else", [1]) == ["Hi. Is there anything else"]


def test_a_phrase_is_also_put_in_place_of_the_windows_last_word_or_two():
    """tiny.en ends a turn "Thank you for calling to apply." where "goodbye" was said: the last word
    or two are tried in its place, spelled alike or not, where the decoder was unsure of one."""
    from pipeline.asr import verify

    def readings(sure: list[float], phrase: str = "goodbye") -> list[str]:
        texts = ["Thank", "you", "for", "calling", "to", "apply."]
        return verify._readings([Word(i, i + 0.4, t, p) for i, (t, p) in enumerate(zip(texts, sure))], phrase)

    unsure = readings([0.9, 0.9, 0.9, 0.67, 0.14, 0.64])
    assert "Thank you for calling goodbye." in unsure  # "to" (0.14) and "apply." in its place
    assert "Thank you for calling to goodbye." not in unsure  # "apply." (0.64) alone: the decoder was sure
    sure = readings([0.9, 0.9, 0.9, 0.67, 0.9, 0.8])
    assert not any(reading.endswith(("calling goodbye.", "to goodbye.")) for reading in sure)
    assert verify._readings([Word(0, 0.4, "Subscribe.", 0.08)], "bye") == ["Bye."]
