"""What a check sees of one call: transcript, measurements, metadata, and search helpers.

The helpers answer the questions every kind asks — "the agent's turns in this window", "did
any of these phrases occur, where" — so that kinds stay small and agree on what a window or
a hit means. Matchers come from the spec's cache: a batch builds each phrase list's matcher
once, not once per call.
"""

from __future__ import annotations

import bisect
import unicodedata
from dataclasses import dataclass
from typing import Sequence

from audits.calldata.measurements import Measurements
from audits.calldata.metadata import CallMetadata
from audits.calldata.transcript import Transcript, Turn, Word
from audits.findings import Evidence
from audits.matchers import SpecMatchers
from audits.textmatch import Match, PhraseMatcher
from audits.verification import Verification, Verifier, first_heard, heard_turn

QUOTE_CONTEXT = 30  # characters of context quoted either side of a matched phrase
QUOTE_MAX = 160  # longest quote of a whole turn
# A speaker's pause shorter than this, with nobody else starting to speak in it, stays inside one
# turn at talk: "within N turns" counts turns at talk, not the VAD regions transcripts are cut
# into at 0.5 s pauses (a sentence pause is 0.5-1 s; "Thanks." then 4 s of typing then "Is that
# clear?" are two turns).
TURN_PAUSE_SECONDS = 1.5
# How the matched words are marked inside a quote, per spec language.
MARKS = {"zh": ("【", "】"), "en": ("[", "]")}


@dataclass(frozen=True)
class Hit:
    """One phrase occurrence in one turn."""

    turn: Turn
    match: Match
    marks: tuple[str, str]
    # Heard in the audio, not found in the text: the check (both scores); ``turn`` is where it was heard.
    verification: Verification | None = None

    def evidence(self) -> Evidence:
        if self.verification is not None:
            return Evidence(self.turn.start, self.turn.end, self.turn.role,
                            f"{quote(self.turn.text)} — {self.verification.describe()}")
        start, end = span_times(self.turn, self.match.start, self.match.end)
        return Evidence(start, end, self.turn.role, quote(self.turn.text, self.match.start, self.match.end, self.marks))


@dataclass(frozen=True)
class Window:
    """Where to look: turns within ``seconds`` and/or the first/last ``turns`` turns counted
    from ``anchor`` ("answer": forwards from the answer; "end": backwards from the end of the
    conversation). A turn must satisfy every limit given; no limit means the whole call."""

    anchor: str
    seconds: float | None
    turns: int | None

    def describe(self, role: str) -> str:
        limits = []
        if self.turns is not None:
            limits.append(f"{'first' if self.anchor == 'answer' else 'last'} {self.turns} {role} turn(s)")
        else:
            limits.append(f"{role} turns")
        if self.seconds is not None:
            limits.append(f"within {self.seconds:g} s of the {'answer' if self.anchor == 'answer' else 'end'}")
        return "the " + " ".join(limits)


def turn_evidence(turn: Turn) -> Evidence:
    return Evidence(turn.start, turn.end, turn.role, quote(turn.text))


def quote(text: str, start: int | None = None, end: int | None = None,
          marks: tuple[str, str] = MARKS["en"]) -> str:
    """The quoted words: the match marked, with some context either side; or the whole turn.
    Long quotes are trimmed with '…'."""
    if start is None or end is None:
        text = text.strip()
        return text if len(text) <= QUOTE_MAX else text[:QUOTE_MAX] + "…"
    left = max(0, start - QUOTE_CONTEXT)
    right = min(len(text), end + QUOTE_CONTEXT)
    return ("…" if left else "") + text[left:start] + marks[0] + text[start:end] + marks[1] + \
        text[end:right] + ("…" if right < len(text) else "")


def half_width(text: str) -> str:
    """Full-width Latin letters (ＯＫ) as ASCII, character by character so offsets still hold."""
    if text.isascii():  # NFKC leaves ASCII as it is
        return text
    return "".join(c if len(n := unicodedata.normalize("NFKC", c)) != 1 else n for c in text)


def words_at(turn: Turn, start: int, end: int) -> list[Word]:
    """The words of a turn that the characters ``start:end`` of its text fall in; none when the
    words cannot be found in the text in order (a transcript given without words, or edited)."""
    located = []
    cursor = 0
    for word in turn.words:
        piece = word.text.strip()
        at = turn.text.find(piece, cursor) if piece else -1
        if at < 0:
            return []
        located.append((at, at + len(piece), word))
        cursor = at + len(piece)
    return [w for a, b, w in located if b > start and a < end]


def span_times(turn: Turn, start: int, end: int) -> tuple[float, float]:
    """Times of the characters ``start:end`` of a turn's text, from its word timestamps when
    the words can be found in the text in order; else the turn's own span."""
    covering = words_at(turn, start, end)
    if not covering:
        return turn.start, turn.end
    return covering[0].start, covering[-1].end


def least_sure(hit: Hit) -> Word | None:
    """The word of a hit the ASR was least sure of (Whisper's word probability); None when the
    turn's words are not known."""
    return min(words_at(hit.turn, hit.match.start, hit.match.end), key=lambda w: w.probability, default=None)


class CallView:
    """One call as the checks see it."""

    def __init__(self, transcript: Transcript, measurements: Measurements,
                 metadata: CallMetadata | None, matchers: SpecMatchers, verifier: Verifier | None = None):
        self.transcript = transcript
        self.verifier = verifier
        # The current item's checks against the audio, the groups that could not be checked, and
        # those not worth checking (the item fails on a group missing before them).
        self.verified: list[Verification] = []
        self.unverified: list[str] = []
        self.unchecked: list[str] = []
        self.measurements = measurements
        self.metadata = metadata or CallMetadata()
        self.matchers = matchers
        self.language = matchers.language
        self.marks = MARKS[matchers.language]
        self._timelines = {
            role: RoleTimeline([t for t in transcript.turns if t.role == role],
                               [t.start for t in transcript.turns if t.role != role])
            for role in {t.role for t in transcript.turns}}

    # -- the call's frame -------------------------------------------------------------------
    @property
    def answer_at(self) -> float:
        return self.measurements.answer_at

    @property
    def duration(self) -> float:
        """End of the recording (where whoever hung up did)."""
        return self.measurements.duration

    @property
    def end(self) -> float:
        """End of the conversation: the last turn's end (trailing line noise is not talk)."""
        return max((t.end for t in self.transcript.turns), default=self.duration)

    @property
    def customer_silent(self) -> bool:
        return self.measurements.customer_silent

    # -- turns ------------------------------------------------------------------------------
    def turns(self, role: str) -> list[Turn]:
        """A role's turns in time order."""
        return self.timeline(role).turns

    def timeline(self, role: str) -> RoleTimeline:
        return self._timelines.get(role, NO_TURNS)

    def turns_after(self, role: str, time: float, seconds: float | None = None,
                    count: int | None = None) -> list[Turn]:
        """The role's turns still going on or starting after ``time``: those starting within
        ``seconds`` of it, at most the first ``count``."""
        latest = float("inf") if seconds is None else time + seconds
        return self.timeline(role).overlapping(time, latest, closed=True, first=count)

    def turns_before(self, role: str, time: float, seconds: float | None = None,
                     count: int | None = None) -> list[Turn]:
        """The role's turns starting before ``time``: those reaching into the last ``seconds``
        before it, at most the last ``count``."""
        timeline = self.timeline(role)
        if seconds is None:
            turns = timeline.starting(float("-inf"), time)
        else:
            turns = timeline.overlapping(time - seconds, time, reaching=True)
        return turns if count is None else turns[-count:]

    def window(self, role: str, window: Window) -> list[Turn]:
        if window.anchor == "answer":
            return self.turns_after(role, self.answer_at, window.seconds, window.turns)
        return self.turns_before(role, self.end, window.seconds, window.turns)

    def window_evidence(self, role: str, window: Window, turns: Sequence[Turn]) -> list[Evidence]:
        """Evidence of what a role said in a window: its turns quoted, or the empty span."""
        if turns:
            return [turn_evidence(t) for t in turns]
        if window.anchor == "answer":
            start = self.answer_at
            end = start + window.seconds if window.seconds is not None else self.end
        else:
            end = self.end
            start = end - window.seconds if window.seconds is not None else self.answer_at
        return [Evidence(start, end, role, f"(no {role} speech from {start:.1f} s to {end:.1f} s)")]

    # -- phrases ----------------------------------------------------------------------------
    def matcher(self, phrases: Sequence[str], threshold: float | None = None) -> PhraseMatcher:
        return self.matchers.matcher(tuple(phrases), threshold)

    def find(self, turns: Sequence[Turn], phrases: Sequence[str], threshold: float | None = None,
             each: bool = False) -> list[Hit]:
        """Every occurrence of any of ``phrases`` in ``turns``, in time order; ``each``: of every
        phrase, a phrase inside another's hit too ("complaint" in "I want to make a complaint")."""
        if not phrases:
            return []
        matcher = self.matcher(phrases, threshold)
        return [Hit(turn, match, self.marks) for turn in turns
                for match in (matcher.find_each(turn.text) if each else matcher.find(turn.text))]

    def find_groups(self, turns: Sequence[Turn], groups: Sequence[Sequence[str]],
                    threshold: float | None = None) -> tuple[list[Hit], list[Sequence[str]]]:
        """All-of groups of any-of phrases: the first hit of each group found, and the groups
        with no hit anywhere in ``turns``. Once one group is missing (the text lacks it and the
        audio did not have it) the others are looked for in the text only: the item fails either
        way, and each check against the audio costs a few forced decodings."""
        found, missing = [], []
        for group in groups:
            hits = self.find(turns, group, threshold)
            if not hits and missing:
                if self.verifier is not None:
                    self.unchecked.append(group[0])
            elif not hits:
                heard = self.heard(turns, group)
                hits = [heard] if heard else []
            if hits:
                found.append(hits[0])
            else:
                missing.append(group)
        return found, missing

    # -- the audio, where the text is not enough (audits.verification) ---------------------
    def begin_item(self) -> None:
        self.verified, self.unverified, self.unchecked = [], [], []

    def heard(self, turns: Sequence[Turn], group: Sequence[str]) -> Hit | None:
        """A group the text of ``turns`` lacks, checked against their audio: the hit of the
        phrase heard there, or None (not heard, or nothing to check it with)."""
        spoken = [t for t in turns if t.words]
        if self.verifier is None or not spoken:
            return None
        results = []
        for speaker in dict.fromkeys((t.role, t.channel, t.speaker) for t in spoken):
            same = [t for t in spoken if (t.role, t.channel, t.speaker) == speaker]
            checked, heard, unanswered = first_heard(self.verifier, same, group)
            self.verified += checked
            if unanswered is not None:
                self.unverified.append(unanswered)
                return None
            if heard is not None:
                results.append((heard, same))
        if not results:
            return None
        verification, same = max(results, key=lambda r: r[0].score.margin)
        phrase = verification.phrase
        return Hit(heard_turn(same, verification.score), Match(phrase, 0, 0, phrase, 0.0), self.marks, verification)

    def confirmed(self, hits: Sequence[Hit]) -> list[Hit]:
        """Hits found in the text only fuzzily (not word for word), checked against the audio:
        those not heard there are dropped. Exact hits, and every hit without a verifier, stay."""
        kept = []
        for hit in hits:
            if hit.match.score >= 1.0 or self.verifier is None or not hit.turn.words:
                kept.append(hit)
                continue
            checked = self.verifier.verify([hit.turn], [hit.match.phrase], forbidden=True)
            if checked is None:
                self.unverified.append(hit.match.phrase)
                kept.append(hit)
                continue
            self.verified += checked
            if checked[0].said:
                kept.append(hit)
        return kept

    # -- call facts that may come from metadata (metadata wins) -----------------------------
    def ring(self) -> tuple[float | None, str]:
        """Seconds the phone rang before the answer, and where that figure comes from."""
        if self.metadata.ring_seconds is not None:
            return self.metadata.ring_seconds, "call metadata"
        source = {"audio": "ring-back tone", "metadata": "call metadata"}.get(self.measurements.ring_source,
                                                                           self.measurements.ring_source)
        return self.measurements.ring_seconds, source

    def hangup_by(self) -> tuple[str | None, str]:
        """Who hung up ("agent" / "customer" / None when unknown), and the source."""
        if self.metadata.hangup_by:
            return self.metadata.hangup_by, "call metadata"
        return self.measurements.hangup_by, self.measurements.hangup_source


class RoleTimeline:
    """One role's turns in time order, with the time queries checks ask per event (per trigger,
    per hold, per interruption) answered in O(log n + k) for k turns found, not by a scan of
    every turn: a 100,000-turn transcript is audited in seconds, not hours.

    ``first`` / ``last`` count turns at talk: the role's turns with pauses shorter than
    ``TURN_PAUSE_SECONDS`` between them and no other speaker starting in between are one
    (``others``: when the other speakers' turns start).

    Turns may overlap and nest (a long turn may cover many short ones): the turns reaching past
    a time are found with a tree of the greatest end in each run of turns, so nesting costs
    nothing either."""

    def __init__(self, turns: Sequence[Turn], others: Sequence[float] = ()):
        self.turns = sorted(turns, key=lambda t: t.start)
        self.starts = [t.start for t in self.turns]
        self.talk = _turns_at_talk(self.turns, sorted(others))  # nondecreasing: a turn's turn at talk
        size = 1
        while size < len(self.turns):
            size *= 2
        self._size = size
        self._reach = [float("-inf")] * (2 * size)  # node -> greatest end among its turns
        self._reach[size:size + len(self.turns)] = [t.end for t in self.turns]
        for node in range(size - 1, 0, -1):
            self._reach[node] = max(self._reach[2 * node], self._reach[2 * node + 1])

    def starting(self, after: float, before: float, inclusive: bool = False, first: int | None = None,
                 last: int | None = None) -> list[Turn]:
        """Turns starting in (after, before), or (after, before] when ``inclusive``; only those of
        the ``first`` or the ``last`` so many turns at talk among them when given."""
        lo = bisect.bisect_right(self.starts, after)
        hi = (bisect.bisect_right if inclusive else bisect.bisect_left)(self.starts, before)
        if first is not None and lo < hi:
            hi = min(hi, bisect.bisect_left(self.talk, self.talk[lo] + first, lo, hi))
        if last is not None and lo < hi:
            lo = max(lo, bisect.bisect_right(self.talk, self.talk[hi - 1] - last, lo, hi))
        return self.turns[lo:hi]

    def overlapping(self, start: float, end: float, closed: bool = False, reaching: bool = False,
                    first: int | None = None) -> list[Turn]:
        """Turns that start before ``end`` (at or before it when ``closed``) and end after
        ``start`` (at or after it when ``reaching``), in time order; only those of the ``first``
        so many turns at talk among them."""
        hi = (bisect.bisect_right if closed else bisect.bisect_left)(self.starts, end)
        found: list[int] = []
        self._ending_after(1, 0, self._size, hi, start, reaching, found, first)
        return [self.turns[i] for i in found]

    def same_talk(self, a: Turn, b: Turn) -> bool:
        """Are two of these turns parts of one turn at talk?"""
        return self._talk_of(a) == self._talk_of(b)

    def _talk_of(self, turn: Turn) -> int:
        k = bisect.bisect_left(self.starts, turn.start)
        while self.turns[k] is not turn:
            k += 1
        return self.talk[k]

    def _ending_after(self, node: int, low: int, high: int, hi: int, time: float, reaching: bool,
                      found: list[int], first: int | None) -> None:
        reach = self._reach[node]
        if low >= hi or reach < time or (reach == time and not reaching):
            return
        if first is not None and found and self.talk[low] >= self.talk[found[0]] + first:
            return  # every turn from here on is of a later turn at talk
        if high - low == 1:
            found.append(low)
            return
        middle = (low + high) // 2
        self._ending_after(2 * node, low, middle, hi, time, reaching, found, first)
        self._ending_after(2 * node + 1, middle, high, hi, time, reaching, found, first)


def _turns_at_talk(turns: Sequence[Turn], others: Sequence[float]) -> list[int]:
    """For turns in start order, the number of the turn at talk each is part of: a new one after
    a pause of TURN_PAUSE_SECONDS, or once another speaker started since the last turn began
    (``others``: their turns' starts, sorted)."""
    numbers: list[int] = []
    reached = float("-inf")  # the latest end so far (turns may nest)
    for k, turn in enumerate(turns):
        if k == 0:
            numbers.append(0)
        else:
            paused = turn.start - reached >= TURN_PAUSE_SECONDS - 1e-9
            interrupted = bisect.bisect_right(others, turns[k - 1].start) < bisect.bisect_left(others, turn.start)
            numbers.append(numbers[-1] + (paused or interrupted))
        reached = max(reached, turn.end)
    return numbers


NO_TURNS = RoleTimeline([])
