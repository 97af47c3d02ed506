import pytest

from pipeline.roles import assign_stereo, role_of_channel


def greeting(text: str) -> float:
    return 1.0 if "glad to serve you" in text.lower() else 0.0


def test_fixed_channel_map():
    roles = assign_stereo("right", [[], []], [None, None], greeting, 0.6)
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
    roles = assign_stereo("auto", texts, starts, greeting, 0.7)
    assert roles.agent == agent
    assert roles.needs_review is (not confident)
    assert 0.5 <= roles.confidence <= 1.0
