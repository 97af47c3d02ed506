"""Which speech regions ``asr.spec_prompt: key_turns`` reads again, from the regions alone (no model):
the last region of each channel before a pause in every channel at least ``pause`` long, and the
first after it."""

from __future__ import annotations

from pipeline.asr.hints import Hint, TurnHints, after_pause, before_pauses, pauses

HINTS = TurnHints(greeting=Hint("hello.", lambda text: False), pause=5.0, within=6.0, margin=2.0, margin_per_word=1.5)


def test_a_pause_is_a_gap_in_every_channel_at_once():
    agent = [(1.0, 3.0), (4.0, 6.0), (20.0, 22.0)]
    customer = [(3.2, 3.8), (7.0, 8.0), (12.0, 13.0)]  # talks during the agent's 14 s gap: two shorter pauses
    assert pauses([agent, customer], 5.0) == [(13.0, 20.0)]
    assert pauses([agent, []], 5.0) == [(6.0, 20.0)]
    assert pauses([agent, customer], 3.9) == [(8.0, 12.0), (13.0, 20.0)]
    assert pauses([[], []], 1.0) == []


def test_a_region_inside_a_longer_one_does_not_end_the_speech_early():
    assert pauses([[(0.0, 30.0)], [(2.0, 3.0)]], 5.0) == []  # a backchannel inside a long turn


def test_before_a_pause_each_channel_offers_its_regions_that_ended_recently():
    # "May I put you on hold?" (agent, ends 10.0) - "Sure." (customer, ends 11.0) - 15 s - "Thank you for waiting."
    agent = [(1.0, 4.0), (8.0, 10.0), (26.0, 28.0)]
    customer = [(4.5, 7.5), (10.4, 11.0), (29.0, 30.0)]
    [(pause, before)] = before_pauses([agent, customer], HINTS)
    assert pause == (11.0, 26.0)
    assert before == [(0, 1), (1, 0), (1, 1)]  # within 6 s of the pause; the agent's 1.0-4.0 is not
    # a mono mix: the question before, the announcement and the consent, on the one channel
    [(_, before)] = before_pauses([sorted(agent + customer)], HINTS)
    assert before == [(0, 1), (0, 2), (0, 3)]
    assert after_pause([agent, customer], 0, pause, HINTS.within) == (0, 2)
    assert after_pause([agent, customer], 1, pause, HINTS.within) == (1, 2)


def test_regions_far_from_the_pause_are_not_its_turns():
    agent = [(1.0, 3.0), (40.0, 42.0)]
    customer = [(3.5, 20.0)]  # the customer talked long after the agent's last words: not a hold
    [(pause, before)] = before_pauses([agent, customer], HINTS)
    assert pause == (20.0, 40.0) and before == [(1, 0)]
    assert after_pause([agent, customer], 1, pause, HINTS.within) is None  # the customer never speaks again
    assert after_pause([agent, [(50.0, 51.0)]], 1, pause, HINTS.within) is None  # 10 s after: too late


def test_the_audio_may_find_a_hinted_reading_less_likely_by_the_margin_for_the_phrase_it_says():
    hints = HINTS
    assert hints.allowed("may I put you on hold") == 2.0 + 6 * 1.5  # as phrase verification allows it
    assert hints.allowed("hold on") == 2.0 + 2 * 1.5  # however many words the hinted reading adds around it
    assert hints.allowed("请稍等") == 2.0 + 3 * 1.5  # a Chinese character counts as a word
