"""Who is the agent: a stereo channel, or a diarized speaker of a mono recording.

``agent_channel: left | right`` is a fixed channel map (the PBX records the agent on one leg).
Otherwise the parties (two channels, or the speakers diarization found) are weighed on signs of
the agent's part in a service call:

* the spec's opening greeting in a party's first turns (strong: only agents say it);
* the spec's closing question ("anything else?") in its last turns (agents close the call);
* who speaks first after the answer (weak: agents open inbound calls);
* the share of the talk (weakest: agents explain, customers ask).

Each sign gives every party a score in 0..1; the party with the highest weighted sum is the agent
(the weights, and how many first / last turns are searched: ``roles`` in the settings).
Confidence is 0.5 plus the margin over the runner-up, scaled so that all signs agreeing fully gives
1.0; a sign nobody was scored on (stereo passes no closing or talk share) does not count. A lone
weak sign gives about 0.67, and anything under ``review_below`` is flagged for review.

A mono call's second speaker whose every turn is the agent's script is the agent's voice split off
by diarization (``split_off_agent``): the caller of a silent call, invented by ``min_speakers: 2``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from audits.calldata.transcript import RoleAssignment, Turn

CHANNEL_NAMES = ("left", "right")
# Two diarized turns this close (or overlapping) touch: the speaker label changed inside
# continuous speech (pyannote's exclusive turns of a cut in mid-phrase share the boundary).
TOUCHING_SECONDS = 0.05


@dataclass
class Party:
    """What is known of one channel or speaker; None: that sign was not looked at."""

    name: str
    greeting: float  # best opening-greeting score of its first turns, 0..1
    first_start: float | None  # its first speech after the answer; None when it never speaks
    closing: float | None = None  # best closing-question score of its last turns, 0..1
    talk_seconds: float | None = None


def assign_stereo(
    agent_channel: str,
    first_texts: list[list[str]],
    first_starts: list[float | None],
    greeting_score: Callable[[str], float],
    settings: dict,
) -> RoleAssignment:
    """``first_texts[c]``: the first turns' texts of channel c; ``first_starts[c]``: its first speech
    after the answer (None when the channel is silent); ``settings``: the ``roles`` section."""
    if agent_channel in CHANNEL_NAMES:
        return RoleAssignment("channel-map", 1.0, agent=agent_channel, reason="agent_channel in settings")
    parties = [
        Party(name, _best(greeting_score, texts[:settings["greeting_turns"]]), start)
        for name, texts, start in zip(CHANNEL_NAMES, first_texts, first_starts)
    ]
    return weigh(parties, "auto-greeting", settings)


def assign_speakers(
    turns: list[Turn],
    talk_seconds: dict[str, float],
    greeting_score: Callable[[str], float],
    closing_score: Callable[[str], float],
    settings: dict,
) -> RoleAssignment:
    """The agent among diarized speakers, from their turns (in time order) and talk time. Every
    speaker that is not the agent is a customer. A call with one speaker is weighed against an
    absent one, so a lone speaker who greets is confidently the agent (a silent customer)."""
    speakers = sorted(talk_seconds, key=lambda s: min((t.start for t in turns if t.speaker == s), default=float("inf")))
    if not speakers:
        return RoleAssignment("diarization", 0.0, needs_review=True, reason="diarization found no speech")
    parties = []
    for speaker in speakers:
        texts = [t.text for t in turns if t.speaker == speaker]
        starts = [t.start for t in turns if t.speaker == speaker]
        parties.append(Party(
            speaker,
            greeting=_best(greeting_score, texts[:settings["greeting_turns"]]),
            first_start=min(starts, default=None),
            closing=_best(closing_score, texts[-settings["closing_turns"]:]),
            talk_seconds=talk_seconds[speaker],
        ))
    if len(parties) == 1:
        parties.append(Party("(no second speaker)", 0.0, None, 0.0, 0.0))
    return weigh(parties, "diarization", settings)


def split_off_agent(turns: list[Turn], agent: str, script_said: Callable[[str], set[str]]) -> dict[str, str]:
    """The diarized speakers besides ``agent`` that are the agent's own voice split off, each with
    why: every turn of such a speaker says the agent's script (``script_said(text)``: the spec's
    greeting and silent-call phrases it says, none a customer says), by itself or run on from or
    into an agent's turn it touches ("Hello, Apex service centre. What | can I do for you?": a
    speaker change in mid-phrase, without a pause). With ``min_speakers: 2`` a silent customer's
    call is cut in two voices; this gives it back its one. A customer who says anything else
    in any turn stays a customer."""
    ordered = sorted(turns, key=lambda t: t.start)
    found = {}
    for speaker in dict.fromkeys(t.speaker for t in ordered if t.speaker not in (agent, None)):
        quoted = []
        for index, turn in enumerate(ordered):
            if turn.speaker != speaker:
                continue
            said = script_said(turn.text) or _said_across(ordered, index, agent, script_said)
            if not said:
                break
            quoted.append(f"{turn.text!r} ({' / '.join(sorted(said))})")
        else:
            if quoted:
                found[speaker] = f"{speaker} is the agent's voice split off: each of its turns says the agent's " \
                                 f"script: {'; '.join(quoted)}"
    return found


def _said_across(ordered: list[Turn], index: int, agent: str, script_said: Callable[[str], set[str]]) -> set[str]:
    """The script phrases said only across the join of turn ``index`` and an agent's turn
    touching it (no pause between them), not by that agent's turn alone."""
    turn, said = ordered[index], set()
    for other in (ordered[index - 1] if index else None, ordered[index + 1] if index + 1 < len(ordered) else None):
        if other is None or other.speaker != agent:
            continue
        before, after = (other, turn) if other.start < turn.start else (turn, other)
        if after.start - before.end <= TOUCHING_SECONDS:
            said |= script_said(f"{before.text} {after.text}") - script_said(other.text)
    return said


def weigh(parties: list[Party], method: str, settings: dict) -> RoleAssignment:
    """The agent among ``parties`` (ties go to the first listed), its confidence and the evidence."""
    signs = _signs(parties, settings["weights"])
    if not signs:
        return RoleAssignment(method, 0.5, agent=parties[0].name, needs_review=True,
                              reason="no sign of the agent that roles.weights counts could be looked at")
    totals = [sum(weight * scores[i] for weight, scores, _ in signs) for i in range(len(parties))]
    ranked = sorted(range(len(parties)), key=lambda i: -totals[i])
    agent, runner_up = ranked[0], ranked[1]
    full_weight = sum(weight for weight, _, _ in signs)
    confidence = round(0.5 + (totals[agent] - totals[runner_up]) / (2 * full_weight), 3)
    reason = "; ".join(f"{label} " + " / ".join(f"{p.name} {text}" for p, text in zip(parties, shown))
                       for _, _, (label, shown) in signs)
    return RoleAssignment(method, confidence, agent=parties[agent].name,
                          needs_review=confidence < settings["review_below"],
                          reason=reason)


def _signs(parties: list[Party], weights: dict) -> list[tuple[float, list[float], tuple[str, list[str]]]]:
    """(weight, score per party, (label, what to show per party)) for every sign that was looked at
    and weighs something."""
    signs = [(weights["greeting"], [p.greeting for p in parties], ("greeting score", [f"{p.greeting:.2f}" for p in parties]))]
    if any(p.closing is not None for p in parties):
        closing = [p.closing or 0.0 for p in parties]
        signs.append((weights["closing"], closing, ("closing question", [f"{c:.2f}" for c in closing])))
    starts = [p.first_start for p in parties]
    first = min((s for s in starts if s is not None), default=None)
    # Only a strictly first speaker scores: two parties starting together tell nothing.
    firsts = [1.0 if s is not None and s == first and starts.count(first) == 1 else 0.0 for s in starts]
    signs.append((weights["first_speech"], firsts, ("first speech", [_fmt(s) for s in starts])))
    if any(p.talk_seconds is not None for p in parties):
        talk = [p.talk_seconds or 0.0 for p in parties]
        shares = [t / (sum(talk) or 1.0) for t in talk]
        signs.append((weights["talk_share"], shares, ("talk share", [f"{s:.0%}" for s in shares])))
    return [sign for sign in signs if sign[0] > 0]


def _best(score: Callable[[str], float], texts: list[str]) -> float:
    return max((score(text) for text in texts), default=0.0)


def _fmt(start: float | None) -> str:
    return "none" if start is None else f"{start:.1f} s"


def role_of_channel(assignment: RoleAssignment, channel: int) -> str:
    return "agent" if CHANNEL_NAMES[channel] == assignment.agent else "customer"


def role_of_speaker(assignment: RoleAssignment, speaker: str) -> str:
    return "agent" if speaker == assignment.agent else "customer"
