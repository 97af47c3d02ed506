import pytest

from audits.calldata.transcript import Turn
from pipeline.config import load_settings
from pipeline.speakers.roles import assign_speakers, assign_stereo, role_of_channel, role_of_speaker, split_off_agent

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


# -- a silent customer's mono call: the agent's voice split in two by diarization -----------------

def _turns(*spoken: tuple[str, float, float, str]) -> list[Turn]:
    return [Turn("unknown", start, end, text, speaker=speaker) for speaker, start, end, text in spoken]


@pytest.fixture(scope="module")
def script():
    from audits.spec import load_spec
    from pipeline.transcribe import agent_script

    return {language: agent_script(load_spec(language)) for language in ("en", "zh-CN")}


def test_a_speaker_who_only_says_the_agents_script_is_the_agent_split_off(script):
    turns = _turns(("A", 0.8, 5.97, "Hello, Apex service centre. Glad to have you. What"),
                   ("B", 5.97, 7.15, "can I do for you?"),  # the label changed in mid-phrase
                   ("B", 12.06, 14.58, "Hello, what can I do for you?"),
                   ("A", 19.55, 27.18, "Sorry, there is no sound on your phone. Please call again. Goodbye."))
    split = split_off_agent(turns, "A", script["en"])
    assert list(split) == ["B"]
    assert "'can I do for you?' (what can I do for you)" in split["B"]


def test_a_phrase_run_on_into_the_agents_next_turn_counts(script):
    def call(phone_at: float) -> list[Turn]:
        return _turns(("A", 0.8, 8.3, "Hello, Apex service centre, what can I do for you?"),
                      ("B", 21.09, 24.03, "Are we there with no sound on your"),
                      ("A", phone_at, phone_at + 0.65, "phone?"))

    assert list(split_off_agent(call(24.03), "A", script["en"])) == ["B"]
    assert split_off_agent(call(25.03), "A", script["en"]) == {}  # a pause between: two turns, not one phrase


@pytest.mark.parametrize("customer", [
    ["can I do for you?", "I want to make a complaint."],  # says something of its own
    ["Hello?", "Goodbye."],  # words both parties say
    ["Can you hear me?", "Yes, thanks."],
])
def test_a_customer_who_says_anything_else_stays_a_customer(script, customer):
    turns = _turns(("A", 0.8, 5.97, "Hello, Apex service centre. What"),
                   *[("B", 5.97 + 3 * i, 7.0 + 3 * i, text) for i, text in enumerate(customer)])
    assert split_off_agent(turns, "A", script["en"]) == {}


def test_a_phrase_the_agents_turn_says_by_itself_is_no_sign(script):
    # the agent's last word heard again at the start of the caller's reply
    turns = _turns(("A", 0.8, 7.6, "Hello, Apex service centre, what can I do for you?"),
                   ("B", 7.6, 9.0, "you?"))
    assert split_off_agent(turns, "A", script["en"]) == {}


def test_the_chinese_script_tells_a_split_off_agent_too(script):
    turns = _turns(("A", 0.8, 6.0, "您好，这里是服务中心，很高兴为您服务。"),
                   ("B", 12.0, 14.0, "您好，请问有什么可以帮助您？"),
                   ("B", 19.0, 25.0, "对不起，您的电话没有声音，请您换一部电话再打来，再见。"))
    assert list(split_off_agent(turns, "A", script["zh-CN"])) == ["B"]
    turns[1].text = "喂，您好"
    assert split_off_agent(turns, "A", script["zh-CN"]) == {}
