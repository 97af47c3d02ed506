"""Words onto diarized speakers, turns and activity of mono calls (plain data: no model involved)."""

from __future__ import annotations

import pytest

from audits.calldata.transcript import Word
from pipeline.speakers.turns import (
    Diarization,
    SpeakerTurn,
    activity_by_role,
    apart,
    cut_at_speaker_changes,
    heard,
    leg_replies,
    mix_replies,
    reply_sounds,
    reply_spans,
    smooth,
    speaker_of,
    spoken_turns,
    talk_seconds,
    through_overlaps,
    unheard_replies,
    words_to_turns,
)

A, B = "SPEAKER_00", "SPEAKER_01"
# A greets, B asks a long question, A talks over its last 3 s, B answers.
TURNS = [SpeakerTurn(0.8, 7.6, A), SpeakerTurn(8.3, 19.1, B), SpeakerTurn(16.0, 21.4, A), SpeakerTurn(22.0, 25.0, B)]
EXCLUSIVE = [SpeakerTurn(0.8, 7.6, A), SpeakerTurn(8.3, 16.0, B), SpeakerTurn(16.0, 21.4, A), SpeakerTurn(22.0, 25.0, B)]


def word(start: float, end: float, text: str = "w") -> Word:
    return Word(start, end, text, 0.9)


def test_a_word_goes_to_the_speaker_holding_most_of_its_time():
    assert speaker_of(word(1.0, 1.5), EXCLUSIVE) == A
    assert speaker_of(word(15.8, 16.4), EXCLUSIVE) == A  # 0.4 s of it in A's turn, 0.2 s in B's
    assert speaker_of(word(15.5, 16.1), EXCLUSIVE) == B


def test_a_word_outside_every_turn_goes_to_the_nearest():
    assert speaker_of(word(7.7, 7.9), EXCLUSIVE) == A  # 0.1 s after A's turn, 0.4 s before B's
    assert speaker_of(word(8.0, 8.2), EXCLUSIVE) == B
    assert speaker_of(word(1.0, 1.5), []) is None


def test_turns_follow_the_diarization_and_never_mix_speakers():
    words = [word(1.0, 1.4, "Hello,"), word(1.5, 2.0, "Apex."), word(9.0, 9.5, "I"), word(9.6, 10.0, "ordered"),
             word(17.0, 17.5, "Yes,"), word(18.0, 18.4, "fine."), word(22.5, 23.0, "Thanks.")]
    turns = words_to_turns(words, TURNS, EXCLUSIVE, "en")
    assert [(t.speaker, t.start, t.end, t.text) for t in turns] == [
        (A, 0.8, 7.6, "Hello, Apex."),
        (B, 8.3, 19.1, "I ordered"),
        (A, 16.0, 21.4, "Yes, fine."),  # overlaps B's turn in time, as the speech did
        (B, 22.0, 25.0, "Thanks."),
    ]
    assert all(t.role == "unknown" and t.channel is None for t in turns)
    assert turns[0].confidence == pytest.approx(0.9)


def test_a_diarized_turn_without_words_is_no_turn_and_chinese_words_join_without_spaces():
    turns = words_to_turns([word(1.0, 1.4, "您好"), word(1.4, 1.8, "请问")], TURNS, EXCLUSIVE, "zh-CN")
    assert [(t.speaker, t.text) for t in turns] == [(A, "您好请问")]


def test_smooth_joins_short_pauses_and_drops_blips_like_the_vad():
    found = [SpeakerTurn(0.8, 3.0, A), SpeakerTurn(3.3, 7.6, A), SpeakerTurn(5.0, 5.1, B), SpeakerTurn(8.3, 12.0, B)]
    assert smooth(found, min_pause=0.5, min_speech=0.25) == [SpeakerTurn(0.8, 7.6, A), SpeakerTurn(8.3, 12.0, B)]


def two_voices_in(stretches: list[tuple[float, float]], join: float = 0.5):
    """Two voices heard in ``stretches``, looked up as ``overlap.TwoVoices.stretch_at`` gives them:
    the stretch holding a moment, those less than ``join`` apart being one."""
    joined = [(t.start, t.end) for t in smooth([SpeakerTurn(s, e, "both") for s, e in stretches], join, 0.0)]
    return lambda at: next((stretch for stretch in joined if stretch[0] <= at < stretch[1]), None)


def test_a_turn_lost_under_the_other_voice_is_carried_through_where_two_voices_were_heard():
    # The segmentation ended B's question 1.0 s after A began talking over it; the overlap model
    # heard two voices in 16.1-17.4 and 17.8-19.0 (a dip under min_pause: one stretch).
    lost = [SpeakerTurn(0.8, 7.6, A), SpeakerTurn(8.3, 17.1, B), SpeakerTurn(16.1, 21.4, A), SpeakerTurn(22.0, 25.0, B)]
    both = [(16.1, 17.4), (17.8, 19.0)]
    assert through_overlaps(lost, two_voices_in(both), alone=0.25)[1] == SpeakerTurn(8.3, 19.0, B)
    # ... to the other's turn's end, if that comes first; and a dip of min_pause or more parts them
    shorter = lost[:2] + [SpeakerTurn(16.1, 18.0, A)]
    assert through_overlaps(shorter, two_voices_in(both), 0.25)[1] == SpeakerTurn(8.3, 18.0, B)
    assert through_overlaps(lost, two_voices_in(both, join=0.4), alone=0.25)[1] == SpeakerTurn(8.3, 17.4, B)
    # a turn lost on the stretch's very first frame (where the other's begins) is lost inside it
    assert through_overlaps([SpeakerTurn(8.3, 16.1, B), SpeakerTurn(16.1, 21.4, A)], two_voices_in(both), 0.25)[0] == \
        SpeakerTurn(8.3, 19.0, B)
    # B cutting in on A, heard by the segmentation only once it was alone: started where both were
    cut_in = [SpeakerTurn(0.8, 6.0, A), SpeakerTurn(5.2, 9.0, B)]
    assert through_overlaps(cut_in, two_voices_in([(4.0, 6.0)]), 0.25)[1] == SpeakerTurn(4.0, 9.0, B)
    assert through_overlaps(cut_in, two_voices_in([(1.0, 6.0)]), 0.25) == cut_in  # A had not talked alone 0.25 s


def test_two_voices_heard_where_only_one_speaker_talks_change_nothing():
    # babble under one voice, or a stretch outside every turn: no turn ends inside it while
    # another speaker's turn runs, so no turn moves and no silence shrinks
    assert through_overlaps(TURNS, two_voices_in([(2.0, 4.0), (7.0, 8.5), (25.5, 27.0)]), 0.25) == TURNS
    alone = [SpeakerTurn(0.8, 7.6, A), SpeakerTurn(8.3, 12.0, B)]
    assert through_overlaps(alone, two_voices_in([(7.0, 9.0)]), 0.25) == alone  # B starts inside, but A has stopped
    assert through_overlaps(TURNS, two_voices_in([]), 0.25) == TURNS


def test_two_turns_starting_together_are_not_carried_through_two_voices():
    # pyannote heard one voice's question as two speakers starting 0.02 s apart, and the overlap
    # model two voices there: nobody was talking before the other came in, so nothing is carried
    together = [SpeakerTurn(11.24, 12.28, A), SpeakerTurn(11.26, 14.07, B)]
    assert through_overlaps(together, two_voices_in([(11.27, 13.94)]), alone=0.25) == together
    assert through_overlaps(together, two_voices_in([(11.27, 13.94)]), alone=0.0)[0] == SpeakerTurn(11.24, 13.94, A)


def test_spoken_turns_smooth_then_carry_through_two_voices_asking_only_where_turns_meet():
    # A blip of B inside A's turn is no speech, so nothing asks about it; B's question, lost 1.0 s
    # under A, is carried through the stretch (asked about with the VAD's pause as the join).
    found = Diarization([SpeakerTurn(0.8, 7.6, A), SpeakerTurn(3.0, 3.1, B), SpeakerTurn(8.3, 17.1, B),
                         SpeakerTurn(16.1, 21.4, A)], [])
    asked: list[tuple[float, float]] = []
    lookup = two_voices_in([(16.1, 17.4), (17.8, 19.0)])

    def stretch_at(at: float, join: float):
        asked.append((at, join))
        return lookup(at)

    assert spoken_turns(found, 0.5, 0.25) == ([SpeakerTurn(0.8, 7.6, A), SpeakerTurn(8.3, 17.1, B),
                                               SpeakerTurn(16.1, 21.4, A)], [])
    found.two_voices_at = stretch_at
    # and the span B was carried through: two voices there, where the diarization had only A
    assert spoken_turns(found, 0.5, 0.25) == ([SpeakerTurn(0.8, 7.6, A), SpeakerTurn(8.3, 19.0, B),
                                               SpeakerTurn(16.1, 21.4, A)], [(17.1, 19.0)])
    assert asked == [(17.1, 0.5), (16.1, 0.5)]  # B's end while A runs, A's start while B runs: nothing else


def test_activity_by_role_keeps_the_overlap_that_becomes_an_interruption():
    regions = activity_by_role(TURNS, lambda speaker: "agent" if speaker == A else "customer")
    assert regions == {"agent": [(0.8, 7.6), (16.0, 21.4)], "customer": [(8.3, 19.1), (22.0, 25.0)]}
    assert activity_by_role([], lambda speaker: "agent") == {"agent": [], "customer": []}
    assert talk_seconds(TURNS) == {A: pytest.approx(12.2), B: pytest.approx(13.8)}


def test_activity_is_the_speakers_turns_where_the_voice_activity_hears_someone():
    # the VAD hears nothing in 10.0-14.0 (a hold's noise pyannote took for B) nor after 24.0
    voice = [(0.7, 7.7), (8.2, 10.0), (14.0, 21.5), (22.1, 24.0)]
    assert heard(TURNS, voice) == [
        SpeakerTurn(0.8, 7.6, A), SpeakerTurn(8.3, 10.0, B), SpeakerTurn(14.0, 19.1, B),
        SpeakerTurn(16.0, 21.4, A), SpeakerTurn(22.1, 24.0, B)]
    assert heard(TURNS, []) == []
    regions = activity_by_role(heard(TURNS, voice), lambda speaker: "agent" if speaker == A else "customer")
    assert regions["customer"] == [(8.3, 10.0), (14.0, 19.1), (22.1, 24.0)]


def test_a_short_reply_only_pyannote_heard_is_activity():
    """The agent asks (A, 11.6-14.8), the caller's "Sure." (B, 15.4-15.9) is in no VAD region: it
    counts. Neither does a long turn nobody heard (a hold's noise), a short one long after a turn,
    nor one the VAD has part of (heard() already times it)."""
    turns = [SpeakerTurn(11.6, 14.8, A), SpeakerTurn(15.4, 15.9, B), SpeakerTurn(16.6, 30.0, A),
             SpeakerTurn(31.0, 32.0, B), SpeakerTurn(40.0, 40.5, A), SpeakerTurn(40.9, 41.4, B)]
    voice = [(11.5, 14.9), (31.5, 31.9), (40.0, 40.6)]
    assert unheard_replies(turns, voice) == [SpeakerTurn(15.4, 15.9, B), SpeakerTurn(40.9, 41.4, B)]
    assert unheard_replies(turns, sorted(voice + [(15.8, 16.2)])) == [SpeakerTurn(40.9, 41.4, B)]


def test_a_short_word_after_a_turn_counts_on_a_mix_whoever_pyannote_gave_it_to():
    """Mono: the agent asks (A, 11.4-14.1); pyannote hears 14.9-15.2 where Silero heard nothing and
    labels it A as well (two similar voices: the caller's "Sure."). With ``either`` it is timed, and
    the hold starts after it; without, only another speaker's turn is a reply."""
    turns = [SpeakerTurn(11.4, 14.1, A), SpeakerTurn(14.9, 15.2, A), SpeakerTurn(30.8, 37.1, A)]
    voice = [(11.3, 14.2), (30.8, 37.2)]
    assert unheard_replies(turns, voice, either=True) == [SpeakerTurn(14.9, 15.2, A)]
    assert unheard_replies(turns, voice) == []


def test_a_legs_own_sound_right_after_the_other_leg_is_a_reply():
    """Stereo: the agent asks (heard 11.5-14.9); the customer's leg sounds of its own at 15.3-15.7
    with nothing heard there (a whispered "Yes, okay."): a reply, where the hold starts. Not: sound
    longer than a reply (line noise 26.0-29.0), sound 5 s after the agent stopped (a cough during a
    hold), nor sound the leg's VAD already has (41.5-43.1: heard 41.6-43.0)."""
    agent = [(11.5, 14.9), (24.5, 25.5), (31.0, 33.0), (40.0, 41.0)]
    customer = [(20.0, 23.0), (41.6, 43.0)]
    sound = [(15.3, 15.7), (26.0, 29.0), (38.0, 38.5), (41.5, 43.1)]
    assert leg_replies(sound, customer, agent) == [(15.3, 15.7)]
    assert leg_replies([], customer, agent) == []


def test_a_loud_run_may_be_a_reply_half_as_long_as_a_quiet_one():
    """A reply may be a run of own sound of ``shortest`` (0.25 s: ``sound``, filtered so upstream),
    or a loud one half that: the 0.22 s "Sure." standing 10 dB over babble is one, a 0.1 s loud
    click is not."""
    sound = [(3.0, 3.3)]
    loud = [(3.05, 3.15), (15.3, 15.52), (20.0, 20.1)]
    assert reply_sounds(sound, loud, 0.25) == [(3.0, 3.3), (15.3, 15.52)]
    agent = [(11.5, 14.9)]
    assert leg_replies(reply_sounds([], loud, 0.25), [], agent) == [(15.3, 15.52)]


def test_the_mixs_sound_right_after_one_speaker_is_the_others_reply():
    """Mono: A asks (11.5-14.9), the mix sounds at 15.3-15.7 where nothing was heard: B's reply;
    sound right after B's turn is A's. One speaker only (a silent caller's call): nobody to reply."""
    turns = [SpeakerTurn(11.5, 14.9, A), SpeakerTurn(31.0, 33.0, B)]
    sound = [(15.3, 15.7), (33.5, 34.0), (50.0, 50.5)]
    heard_here = [(11.5, 14.9), (31.0, 33.0)]
    assert mix_replies(sound, turns, heard_here) == [SpeakerTurn(15.3, 15.7, B), SpeakerTurn(33.5, 34.0, A)]
    assert mix_replies(sound, turns[:1], heard_here) == []


def test_the_askers_own_sound_on_the_mix_does_not_hide_the_reply():
    """Mono: the mix sounds all through A's question (13.2-14.6, A's own voice); B's faint reply
    at 15.5-15.64 follows A's turn, not those runs. The runs inside A's turn are no reply."""
    turns = [SpeakerTurn(11.9, 14.6, A), SpeakerTurn(31.4, 36.8, A), SpeakerTurn(37.4, 39.9, B)]
    sound = [(13.2, 13.6), (13.8, 14.0), (14.1, 14.4), (15.5, 15.64)]
    heard_here = [(11.9, 14.6), (31.4, 36.8), (37.4, 39.9)]
    assert mix_replies(sound, turns, heard_here) == [SpeakerTurn(15.5, 15.64, B)]


def test_only_spans_overlapping_nothing_are_apart():
    assert apart([(1.0, 2.0), (2.5, 3.0), (4.0, 5.0), (6.0, 7.0)], [(1.5, 2.5), (4.5, 4.6)]) == [(2.5, 3.0), (6.0, 7.0)]
    assert apart([(1.0, 2.0)], []) == [(1.0, 2.0)]


def test_a_reply_is_looked_for_in_the_three_seconds_after_a_turn_where_nothing_is_heard():
    """From each turn's end, 1 s for a reply to start and 2 s for it to last, less what is heard:
    the caller's answer at 16.0-18.0 leaves 14.9-16.0 and 18.0-21.0 (after the answer itself)."""
    agent = [(11.5, 14.9), (30.0, 31.0)]
    heard_all = [(11.5, 14.9), (16.0, 18.0), (30.0, 31.0)]
    assert reply_spans(agent + [(16.0, 18.0)], heard_all) == [(14.9, 16.0), (18.0, 21.0), (31.0, 34.0)]
    assert reply_spans([], heard_all) == []


def test_a_mono_region_is_cut_where_the_speaker_changes_at_a_pause_or_over_talk():
    """One VAD region holds A's greeting, B's question and A talking over its end (TURNS): it is
    cut midway through the pause (7.6-8.3) and where A starts over B (16.0), each speaker's stretch
    read on its own. A label switching with neither pause nor over-talk (pyannote drifting within
    one voice, mid-sentence) is no cut; nor is one leaving a piece under ``min_seconds``."""
    assert cut_at_speaker_changes([(0.7, 21.5)], Diarization(TURNS, EXCLUSIVE), 0.25) == [
        (0.7, 7.95), (7.95, 16.0), (16.0, 21.5)]
    drift = [SpeakerTurn(0.8, 5.0, A), SpeakerTurn(5.0, 9.0, B)]
    assert cut_at_speaker_changes([(0.7, 9.1)], Diarization(drift, drift), 0.25) == [(0.7, 9.1)]
    assert cut_at_speaker_changes([(7.8, 21.5)], Diarization(TURNS, EXCLUSIVE), 0.25) == [(7.8, 16.0), (16.0, 21.5)]
    assert cut_at_speaker_changes([(0.7, 16.1)], Diarization(TURNS, EXCLUSIVE), 0.25) == [(0.7, 7.95), (7.95, 16.1)]
