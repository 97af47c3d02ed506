"""Per-call measurements from a transcript's speech activity (see ``audits.calldata.measurements``).

Timing comes from the per-role speech regions (``Transcript.speech``: voice activity when the
transcript has it, else the turns' spans), clipped to [answer, end of recording]: speech-like
sound during the ring phase is not talk. Non-talk time is all of that span in which neither party
speaks, including the wait for the first words and the tail after the last ones. Words and
text (speech rate, hold announcements, confidence) come from the turns. Every threshold comes from
the ``timing`` settings, where the silence and overlap floors are mechanism only (which stretches
are listed; ``pipeline.call.recording_floors`` keeps them at or below the spec's limits): what
counts as dead air or an interruption is the spec's to judge.
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
from collections.abc import Callable, Iterable

from audits.calldata.measurements import Hold, Interruption, Interval, Measurements
from audits.calldata.metadata import CallMetadata
from audits.calldata.transcript import ROLES, Transcript, Turn

Span = tuple[float, float]

EPSILON = 1e-6  # times are decimal seconds: 12.3 - 10.3 must still reach a 2.0 s threshold
# A whitespace-separated token with a letter or digit ([^\W_] is str.isalnum) in it.
WORD_TOKEN = re.compile(r"\S*[^\W_]\S*")
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")



def rings_for_seconds(seconds: float, seconds_per_ring: float) -> int:
    """Rings in a ring time given as seconds (metadata): a started ring cycle counts as a ring."""
    return math.ceil(seconds / seconds_per_ring - 1e-9)  # 15.0 s of 5 s rings is 3, not 4

def measure(
    transcript: Transcript,
    timing: dict,
    metadata: CallMetadata | None = None,
    is_hold_announcement: Callable[[Turn], bool] | None = None,
    seconds_per_ring: float | None = None,
) -> Measurements:
    answer, end = transcript.answer_at, transcript.duration
    speech = {role: clip(union(transcript.speech(role)), answer, end) for role in ROLES}
    non_talk = gaps(union([*speech["agent"], *speech["customer"]]), answer, end)
    talk_time = {role: round(total(spans), 3) for role, spans in speech.items()}
    rate, unit = speech_rates(transcript)
    ring_seconds, ring_count, ring_source = _ring(transcript, metadata, seconds_per_ring)
    hangup_by = metadata.hangup_by if metadata else None
    customer_sound = transcript.sound.get("customer")
    return Measurements(
        duration=end,
        answer_at=answer,
        ring_seconds=ring_seconds,
        ring_count=ring_count,
        ring_source=ring_source,
        answer_delay=round(speech["agent"][0][0] - answer, 3) if speech["agent"] else None,
        talk_time=talk_time,
        non_talk_total=round(total(non_talk), 3),
        silences=[Interval(s, e) for s, e in non_talk if e - s > timing["silence_threshold"] + EPSILON],
        interruptions=interruptions(speech["agent"], speech["customer"], timing["interruption_min_overlap"]),
        holds=holds(non_talk, transcript.role_turns("agent"), transcript.role_turns("customer"), timing,
                    is_hold_announcement),
        speech_rate=rate,
        speech_rate_unit=unit,
        customer_silent=max(talk_time["customer"], customer_sound or 0.0) < timing["customer_silent_max_speech"],
        customer_sound=customer_sound,
        asr_confidence=_mean_word_probability(transcript.turns),
        hangup_by=hangup_by,
        hangup_source="metadata" if hangup_by else "unknown",
    )


# --- interval algebra on (start, end) spans -------------------------------------------------


def union(spans: Iterable[Span]) -> list[Span]:
    """Sorted, disjoint spans covering the same time; touching spans merge."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def clip(spans: list[Span], lo: float, hi: float) -> list[Span]:
    """The parts of sorted spans inside [lo, hi]."""
    return [(max(s, lo), min(e, hi)) for s, e in spans if min(e, hi) > max(s, lo)]


def gaps(spans: list[Span], lo: float, hi: float) -> list[Span]:
    """The time in [lo, hi] not covered by sorted, disjoint spans."""
    found, cursor = [], lo
    for start, end in spans:
        if start > cursor:
            found.append((cursor, min(start, hi)))
        cursor = max(cursor, end)
    if hi > cursor:
        found.append((cursor, hi))
    return [(s, e) for s, e in found if e > s]


def intersect(spans: list[Span], others: list[Span]) -> list[Span]:
    """The time both sorted, disjoint span lists cover (linear: one pass over each)."""
    found, index = [], 0
    for start, end in spans:
        while index < len(others) and others[index][1] <= start:
            index += 1
        at = index
        while at < len(others) and others[at][0] < end:
            found.append((max(start, others[at][0]), min(end, others[at][1])))
            at += 1
    return [(s, e) for s, e in found if e > s]


def total(spans: Iterable[Span]) -> float:
    return sum(end - start for start, end in spans)


# --- characteristics ---------------------------------------------------------------------------


def interruptions(agent: list[Span], customer: list[Span], min_overlap: float) -> list[Interruption]:
    """Overlaps of at least ``min_overlap`` seconds, each credited to whoever started talking second.

    Both starting at the same instant is not an interruption: neither was already talking.
    ``agent`` and ``customer`` are sorted, disjoint spans (as ``union`` gives them), so only the
    customer spans near each agent span are looked at.
    """
    found = []
    reach = min_overlap - EPSILON
    ends = [c_end for _, c_end in customer]
    for a_start, a_end in agent:
        # a customer span ending before a_start + reach (or starting after a_end - reach) cannot
        # overlap this one by reach; a margin leaves the borderline ones to the test below
        for index in range(bisect.bisect_left(ends, a_start + reach - 1e-6), len(customer)):
            c_start, c_end = customer[index]  # (indexing: a slice would copy the rest of the call each time)
            if c_start > a_end - reach + 1e-6:
                break
            start, end = max(a_start, c_start), min(a_end, c_end)
            if end - start < min_overlap - EPSILON or a_start == c_start:
                continue
            by, over = ("agent", "customer") if a_start > c_start else ("customer", "agent")
            found.append(Interruption(start, end, by, over))
    return sorted(found, key=lambda i: i.start)


def holds(
    non_talk: list[Span],
    agent_turns: list[Turn],
    customer_turns: list[Turn],
    timing: dict,
    is_hold_announcement: Callable[[Turn], bool] | None,
) -> list[Hold]:
    """Silences that are holds: announced by an agent turn just before, or simply hold-length.
    A short consent may come between announcement and silence ("May I put you on hold?" - "Yes,
    okay." - "Thanks."), whoever it is given to: on a mono mix two similar voices' "Sure." can be
    the agent's."""
    found = []
    announced = _announcement_before(agent_turns, customer_turns, timing, is_hold_announcement)
    for start, end in non_talk:
        seconds = end - start + EPSILON
        if seconds >= timing["hold_min_seconds"] and announced(start):
            found.append(Hold(start, end, "announcement"))
        elif seconds >= timing["hold_unannounced_seconds"]:
            found.append(Hold(start, end, "silence"))
    return found


def _announcement_before(agent_turns: list[Turn], customer_turns: list[Turn], timing: dict,
                         is_hold_announcement: Callable[[Turn], bool] | None) -> Callable[[float], bool]:
    """A lookup: does a silence starting at a time follow a hold announcement: an agent turn after
    which at most ``hold_consent_max_seconds`` were said (the customer's "Yes, okay", the agent's
    "Thanks"), the last of it ending at most ``hold_announcement_within`` before the silence? The
    agent's turns are tried from the last back while what was said since stays that short."""
    if is_hold_announcement is None:
        return lambda start: False
    ordered = sorted(agent_turns, key=lambda t: t.start)
    starts = [t.start for t in ordered]
    said_since = _speech_between([*agent_turns, *customer_turns])

    def announced(start: float) -> bool:
        for k in range(bisect.bisect_left(starts, start) - 1, -1, -1):  # (indexing: a slice would copy)
            turn = ordered[k]
            said, said_end = said_since(turn.end, start)
            if said > timing["hold_consent_max_seconds"] + EPSILON:
                return False  # more than yes was said since: the silence follows that
            if start - max(turn.end, said_end) > timing["hold_announcement_within"] + EPSILON:
                return False  # the last words were too long before the silence
            if is_hold_announcement(turn):
                return True
        return False

    return announced


def _speech_between(turns: list[Turn]) -> Callable[[float, float], tuple[float, float]]:
    """A lookup: the seconds of the turns that start within (after, before] and the end of the last
    of them (``after`` when there are none). Bisection and prefix sums: n log n over a call."""
    ordered = sorted(turns, key=lambda t: t.start)
    starts = [t.start for t in ordered]
    spoken = [0.0, *itertools.accumulate(t.end - t.start for t in ordered)]
    ends = list(itertools.accumulate((t.end for t in ordered), max))

    def lookup(after: float, before: float) -> tuple[float, float]:
        first, last = bisect.bisect_right(starts, after), bisect.bisect_right(starts, before)
        if first == last:
            return 0.0, after
        return spoken[last] - spoken[first], ends[last - 1]

    return lookup


def speech_rates(transcript: Transcript) -> tuple[dict[str, float], str]:
    """Per role: Chinese characters per minute (zh) or words per minute, over the role's own speech
    time (its turns). A role that never speaks has no rate."""
    chinese = transcript.language.lower().startswith("zh")
    rates = {}
    for role in ROLES:
        turns = transcript.role_turns(role)
        minutes = total(union((t.start, t.end) for t in turns)) / 60
        if minutes > 0:
            units = sum(_han_characters(t.text) if chinese else _words(t.text) for t in turns)
            rates[role] = round(units / minutes, 1)
    return rates, "cpm" if chinese else "wpm"


def _ring(
    transcript: Transcript, metadata: CallMetadata | None, seconds_per_ring: float | None
) -> tuple[float | None, int | None, str]:
    """Ring seconds, count and source: metadata overrides what the recording showed. Metadata gives
    seconds; its rings are counted by the spec's ring length (none given: the count is unknown)."""
    if metadata is not None and metadata.ring_seconds is not None:
        rings = rings_for_seconds(metadata.ring_seconds, seconds_per_ring) if seconds_per_ring else None
        return metadata.ring_seconds, rings, "metadata"
    ring = transcript.ring
    if ring.seconds is None:
        return None, None, "unknown"
    return ring.seconds, ring.count, ring.source


def _han_characters(text: str) -> int:
    return len(HAN.findall(text))


def _words(text: str) -> int:
    """Whitespace-separated tokens with a letter or digit in them (punctuation alone is no word)."""
    return len(WORD_TOKEN.findall(text))


def _mean_word_probability(turns: list[Turn]) -> float | None:
    probabilities = [word.probability for turn in turns for word in turn.words]
    return round(sum(probabilities) / len(probabilities), 4) if probabilities else None
