import pytest

from audits.calldata.transcript import Turn
from pipeline.config import load_settings
from pipeline.speakers.roles import assign_speakers, assign_stereo, role_of_channel, role_of_speaker

ROLES = load_settings()["roles"]  # the defaults: review below 0.7


def weighted(**weights) -> dict:
    return {**ROLES, "weights": {**ROLES["weights"], **weights}}


def greeting(text: str) -> float:
    return 1.0 if "glad to serve you" in text.lower() else 0.0


def test_fixed_channel_map():
    roles = assign_stereo("right", [[], []], [None, None], greeting, ROLES)
    assert roles.method == "channel-map" and roles.agent == "right" and roles.confidence == 1.0
    assert role_of_channel(roles, 1) == "agent" and role_of_channel(roles, 0) == "customer"


@pytest.mark.parametrize("texts, starts, agent, confident", [
    # greeting and first speech agree
    ([["Hello, glad to serve you"], ["Hi"]], [1.0, 4.0], "left", True),
    ([["Hi"], ["Hello, glad to serve you"]], [4.0, 1.0], "right", True),
    # the greeting outweighs who spoke first, but the signs disagree: flagged
    ([["Hi there"], ["Hello, glad to serve you"]], [0.5, 1.0], "right", False),
    # no greeting anywhere: the first speaker, flagged for review
    ([["Hey, what?"], ["My bill is wrong"]], [1.0, 3.0], "left", False),
    # silent customer: the greeting channel
    ([["Hello, glad to serve you"], []], [1.0, None], "left", True),
])
def test_auto_assignment(texts, starts, agent, confident):
    roles = assign_stereo("auto", texts, starts, greeting, ROLES)
    assert roles.agent == agent
    assert roles.needs_review is (not confident)
    assert 0.5 <= roles.confidence <= 1.0


def closing(text: str) -> float:
    return 1.0 if "anything else" in text.lower() else 0.0


def turns(*spoken: tuple[str, float, str]) -> list[Turn]:
    return [Turn("unknown", start, start + 2.0, text, speaker=speaker) for speaker, start, text in spoken]


CALL = turns(("S0", 0.8, "Hello, glad to serve you"), ("S1", 4.0, "My order is late"),
             ("S0", 7.0, "It comes tomorrow. Anything else?"), ("S1", 10.0, "No, thanks"))


def test_the_speaker_who_greets_and_closes_is_the_agent_whatever_the_label():
    roles = assign_speakers(CALL, {"S0": 6.0, "S1": 4.0}, greeting, closing, ROLES)
    assert roles.method == "diarization" and roles.agent == "S0" and not roles.needs_review
    assert roles.confidence > 0.9
    assert "greeting score S0 1.00 / S1 0.00" in roles.reason and "closing question" in roles.reason
    assert role_of_speaker(roles, "S0") == "agent" and role_of_speaker(roles, "S1") == "customer"
    swapped = [Turn(t.role, t.start, t.end, t.text, speaker={"S0": "S1", "S1": "S0"}[t.speaker]) for t in CALL]
    assert assign_speakers(swapped, {"S0": 4.0, "S1": 6.0}, greeting, closing, ROLES).agent == "S1"


def test_without_greeting_or_closing_the_guess_is_flagged_for_review():
    call = turns(("S0", 0.8, "Yes?"), ("S1", 4.0, "My order is late"), ("S0", 7.0, "It comes tomorrow"))
    roles = assign_speakers(call, {"S0": 4.0, "S1": 2.0}, greeting, closing, ROLES)
    assert roles.agent == "S0"  # first speaker, more talk: weak signs only
    assert roles.needs_review and roles.confidence < 0.7


def test_a_lone_speaker_who_greets_is_the_agent_of_a_silent_call():
    call = turns(("S0", 0.8, "Hello, glad to serve you"), ("S0", 8.0, "Hello? Anything else?"))
    roles = assign_speakers(call, {"S0": 4.0}, greeting, closing, ROLES)
    assert roles.agent == "S0" and not roles.needs_review


def test_more_than_two_speakers_one_agent_and_no_speech_at_all():
    call = [*CALL, *turns(("S2", 12.0, "Hi, I am his wife"))]
    roles = assign_speakers(call, {"S0": 6.0, "S1": 4.0, "S2": 2.0}, greeting, closing, ROLES)
    assert roles.agent == "S0" and role_of_speaker(roles, "S2") == "customer"
    silent = assign_speakers([], {}, greeting, closing, ROLES)
    assert silent.agent is None and silent.needs_review


def test_the_weights_and_turns_searched_come_from_the_settings():
    texts, starts = [["Hi there"], ["Hello, glad to serve you"]], [0.5, 1.0]
    assert assign_stereo("auto", texts, starts, greeting, ROLES).agent == "right"  # greeting 2 > first speech 1
    light = assign_stereo("auto", texts, starts, greeting, weighted(greeting=0.5))
    assert light.agent == "left" and light.needs_review
    only_greeting = assign_stereo("auto", texts, starts, greeting, weighted(first_speech=0.0))
    assert only_greeting.confidence == 1.0 and "first speech" not in only_greeting.reason
    late = [["Hi", "One moment", "Hello, glad to serve you"], ["Hello?"]]
    assert assign_stereo("auto", late, [1.0, 0.5], greeting, ROLES).agent == "right"  # greeting in turn 3: unseen
    assert assign_stereo("auto", late, [1.0, 0.5], greeting, {**ROLES, "greeting_turns": 3}).agent == "left"
    nothing_to_weigh = assign_stereo("auto", texts, starts, greeting,
                                     weighted(greeting=0.0, first_speech=0.0))  # closing/talk share: mono only
    assert nothing_to_weigh.needs_review and "roles.weights" in nothing_to_weigh.reason
