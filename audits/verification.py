"""Did the speaker say it? Phrases the text lacks, checked against the audio.

The checks ask ``CallView`` for phrases in a window of turns. When the text lacks a required
phrase (or has a forbidden one only fuzzily), and a verifier is at hand, the turns are asked
again: each phrase is scored against the turn's audio by the model that transcribed it (a
``PhraseScorer``, which ``pipeline.asr.verify`` implements; audits never imports the pipeline)
and the reading with the phrase is compared with the reading decoded. A required phrase counts as
said when it is at most a margin (nats, growing with its words) less likely than what was decoded;
a forbidden one only when the audio prefers it (``Verifier.allowed``): the doubt goes to the agent.

Every score is kept with the transcript (``Transcript.phrase_scores``, keyed by the turn's span
and the phrase): a later audit of the stored transcript (``callqa rescore``, a copy found in
another folder) decides from the same scores without the audio. A phrase never scored for that
call (a new spec's) is judged from the text only, and the finding says so.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol, Sequence

from rapidfuzz import fuzz

from audits.calldata.transcript import PhraseScore, Transcript, Turn, score_key
from audits.findings import Finding

# Of a group of alternatives the text lacks, the ones spelled most like the window's words are
# checked against the audio (each costs a few forced decodings); the others were not said either
# way. On the accuracy bench's tuning calls 36 of the 38 phrases heard were one of the first two.
PHRASES_CHECKED = 2


class PhraseScorer(Protocol):
    def score(self, turns: Sequence[Turn], phrases: Sequence[str]) -> list[PhraseScore] | None:
        """Each phrase scored against the audio of ``turns`` (one speaker's, in time order), keyed
        by their span; None when they cannot be scored."""


@dataclass(frozen=True)
class Verification:
    """One phrase checked against one turn's audio, and the verdict."""

    role: str
    score: PhraseScore
    margin: float  # how much less likely (nats) the reading with the phrase may be, for this phrase
    source: str  # "audio": scored now; "stored": scored when the recording was transcribed
    forbidden: bool = False  # checked as a phrase that must not be said (found only fuzzily)

    @property
    def said(self) -> bool:
        return self.score.margin >= -self.margin

    @property
    def phrase(self) -> str:
        return self.score.phrase

    def describe(self) -> str:
        s = self.score
        rule = "; forbidden, found only fuzzily: stands only if at most the margin less likely" if self.forbidden else ""
        return (f"'{s.phrase}' {'heard' if self.said else 'not heard'} in the audio "
                f"(log-probability with it {s.phrase_score:.1f}, as decoded {s.heard_score:.1f}, margin {self.margin:g}"
                f"{rule})")

    def to_dict(self) -> dict:
        s = self.score
        return {"phrase": s.phrase, "start": round(s.start, 2), "end": round(s.end, 2), "role": self.role,
                "said": self.said, "phrase_score": s.phrase_score, "heard_score": s.heard_score,
                "margin": self.margin, "reading": s.reading, "heard": s.heard, "source": self.source,
                "forbidden": self.forbidden}


class Verifier:
    """Answers from the transcript's stored scores first, then from ``scorer`` (the audio, when
    open), whose new scores join the transcript's. Without a scorer, a phrase never scored for a
    turn gets no answer (None), and the check decides from the text."""

    def __init__(self, transcript: Transcript, margin: float, scorer: PhraseScorer | None = None,
                 per_word: float = 0.0, forbidden_margin: float = 0.0):
        self.transcript = transcript
        self.margin = margin
        self.per_word = per_word
        self.forbidden_margin = forbidden_margin
        self.scorer = scorer
        self._stored = {s.key: s for s in transcript.phrase_scores}

    @property
    def live(self) -> bool:
        return self.scorer is not None

    def verify(self, turns: Sequence[Turn], phrases: Sequence[str], forbidden: bool = False
               ) -> list[Verification] | None:
        """Each phrase checked against ``turns`` (one speaker's), as a required phrase or, when
        ``forbidden``, as one that must not be said; None when some phrase can be answered neither
        from the stored scores nor from the audio."""
        found = {p: self._stored.get(score_key(turns[0].start, turns[-1].end, p)) for p in phrases}
        sources = {p: "stored" for p, s in found.items() if s is not None}
        asked = [p for p, s in found.items() if s is None]
        if asked:
            if self.scorer is None:
                return None
            for score in self.scorer.score(turns, asked) or []:
                found[score.phrase] = score
                sources[score.phrase] = "audio"
                self._stored[score.key] = score
                self.transcript.phrase_scores.append(score)
        if any(found[p] is None for p in phrases):
            return None
        return [Verification(turns[0].role, found[p], self.allowed(p, forbidden), sources[p], forbidden) for p in phrases]

    def allowed(self, phrase: str, forbidden: bool = False) -> float:
        """The margin for ``phrase``: ``margin`` + ``per_word`` per word (a Chinese character counts
        as a word) for a required phrase, the benefit of the doubt going to the agent; for a
        forbidden one found only fuzzily, ``forbidden_margin``: its words are near the decoded ones
        by construction ("I can't help you with" / "I can't help it"), the audio barely tells them
        apart, and the doubt again goes to the agent."""
        if forbidden:
            return self.forbidden_margin
        return round(self.margin + self.per_word * phrase_words(phrase), 3)


def phrase_words(phrase: str) -> int:
    """How many words a phrase has (a Chinese character counts as a word)."""
    return len(phrase.split()) if phrase.isascii() else len(phrase.replace(" ", ""))


def first_heard(verifier: Verifier, turns: Sequence[Turn], phrases: Sequence[str]
                ) -> tuple[list[Verification], Verification | None, str | None]:
    """The PHRASES_CHECKED ``phrases`` spelled most like the turns' words checked against their
    audio, the likeliest first, stopping at the first heard or at the first that can be answered
    neither from stored scores nor from the audio: (the checks made, the one heard, the one
    unanswered)."""
    checked: list[Verification] = []
    for phrase in closest(phrases, " ".join(t.text for t in turns)):
        answer = verifier.verify(turns, [phrase])
        if answer is None:
            return checked, None, phrase
        checked += answer
        if answer[0].said:
            return checked, answer[0], None
    return checked, None, None


def heard_turn(turns: Sequence[Turn], score: PhraseScore) -> Turn:
    """The turn of ``turns`` (one speaker's, in time order) where ``score``'s reading put its phrase:
    the turn of the first decoded word the reading changed (of the last word, when the phrase was
    put in after it). The scored window can hold several turns ("the last 3 agent turns"), and a
    check that places the hit (a silent call's closing, a hold's announcement) needs the one. The
    first turn when the decoded words are not among the turns' (the words changed since)."""
    heard, reading = score.heard.split(), score.reading.split()
    if not heard:
        return turns[0]
    changed = next((k for k, (a, b) in enumerate(zip(heard, reading)) if a != b), min(len(heard), len(reading)))
    placed = [(word.text.strip(), turn) for turn in turns for word in turn.words]
    for offset in range(len(placed) - len(heard) + 1):
        if placed[offset][0] == heard[0] and [text for text, _ in placed[offset:offset + len(heard)]] == heard:
            return placed[offset + min(changed, len(heard) - 1)][1]
    return turns[0]


def closest(phrases: Sequence[str], text: str, count: int = PHRASES_CHECKED) -> list[str]:
    """The ``count`` phrases to check: the one spelled most like some stretch of ``text`` (ties:
    the longer first), then the group's first, the spec's own wording (spelling ranks a garbled
    phrase badly: "Although they've got service center" puts 'good evening' before 'hello'), then
    the next spelled most alike."""
    lowered = text.lower()
    ranked = sorted(phrases, key=lambda p: (-fuzz.partial_ratio(p.lower(), lowered), -len(p)))
    return list(dict.fromkeys([*ranked[:1], *phrases[:1], *ranked[1:]]))[:count]


def annotate(finding: Finding, verified: Sequence[Verification], unverified: Sequence[str],
             unchecked: Sequence[str]) -> Finding:
    """The finding with how it was decided: the phrases checked against the audio (both scores of
    each), the phrases that could only be judged from the text, and the groups (by their first
    phrase) the text lacks that were not worth checking, the item failing on an earlier one."""
    if not verified and not unverified and not unchecked:
        return finding
    notes = []
    if verified:
        notes.append("checked against the audio: " + "; ".join(v.describe() for v in verified))
    if unverified:
        notes.append(f"judged from the text only ({', '.join(unverified)}): no audio score stored for this call "
                     "and the recording was not re-opened")
    if unchecked:
        notes.append(f"not checked against the audio ({', '.join(unchecked)} and the like): "
                     "the item fails on a phrase missing before them")
    return replace(finding, reason=f"{finding.reason} [{' / '.join(notes)}]",
                   decided="audio" if verified else "text only",
                   verification=tuple(v.to_dict() for v in verified))
