"""Which stereo channel is the agent.

``agent_channel: left | right`` is a fixed channel map (the PBX records the agent on one leg).
``auto`` weighs two signs: the opening greeting of the spec (strong: only agents say it) and
who speaks first after the answer (weak: agents open inbound calls). Agreement gives confidence
1.0; a lone weak sign gives about 0.67, and anything under ``review_below`` is flagged.
"""

from __future__ import annotations

from collections.abc import Callable

from pipeline.transcript import RoleAssignment

CHANNEL_NAMES = ("left", "right")
GREETING_WEIGHT = 2.0
FIRST_SPEAKER_WEIGHT = 1.0
# How many of a channel's first turns may hold the greeting.
GREETING_TURNS = 2


def assign_stereo(
    agent_channel: str,
    first_texts: list[list[str]],
    first_starts: list[float | None],
    greeting_score: Callable[[str], float],
    review_below: float,
) -> RoleAssignment:
    """``first_texts[c]``: the first turns' texts of channel c; ``first_starts[c]``: its first speech
    after the answer (None when the channel is silent)."""
    if agent_channel in CHANNEL_NAMES:
        return RoleAssignment("channel-map", 1.0, agent=agent_channel, reason="agent_channel in settings")

    greeting = [max((greeting_score(t) for t in texts[:GREETING_TURNS]), default=0.0) for texts in first_texts]
    vote = GREETING_WEIGHT * (greeting[0] - greeting[1]) + FIRST_SPEAKER_WEIGHT * _first_speaker_vote(first_starts)
    agent = "left" if vote >= 0 else "right"
    confidence = round(0.5 + abs(vote) / (2 * (GREETING_WEIGHT + FIRST_SPEAKER_WEIGHT)), 3)
    reason = (
        f"greeting score left {greeting[0]:.2f} / right {greeting[1]:.2f}; "
        f"first speech left {_fmt(first_starts[0])} / right {_fmt(first_starts[1])}"
    )
    return RoleAssignment("auto-greeting", confidence, agent=agent, needs_review=confidence < review_below, reason=reason)


def _first_speaker_vote(first_starts: list[float | None]) -> float:
    left, right = first_starts
    if left is None and right is None:
        return 0.0
    if right is None or (left is not None and left < right):
        return 1.0
    if left is None or right < left:
        return -1.0
    return 0.0


def _fmt(start: float | None) -> str:
    return "none" if start is None else f"{start:.1f} s"


def role_of_channel(assignment: RoleAssignment, channel: int) -> str:
    return "agent" if CHANNEL_NAMES[channel] == assignment.agent else "customer"
