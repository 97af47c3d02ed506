"""Redaction: a transcript and an audit's findings with every detected entity replaced by a
placeholder (``[PHONE]``, ``[CARD-1111]`` when the last digits are kept, ``[CARD+]`` for the later
pieces of a number split across turns).

Words keep their times: the words of one entity become one word spanning them, whose text is the
placeholder, so the redacted spans can be silenced in the audio and a rescore finds them again.
Checks run on the clear transcript; only what leaves the worker goes through here: the transcript,
the findings' reasons and evidence (each quote is found in its clear turn and rebuilt from the
redacted one). A :class:`Redaction` is what may be kept of an entity: category, role, time span.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache

from audits.calldata.transcript import Transcript, Turn, Word
from audits.findings import AuditResult, Evidence, Finding
from audits.pii.categories import LABELS
from audits.pii.detect import CONTINUED, DetectOptions, Entity, detect
from audits.pii.numbers import FOUR_DIGITS

ELLIPSIS = "…"
MARKS = (("[", "]"), ("【", "】"))  # how quotes mark a match (audits.call_view.MARKS)


@dataclass(frozen=True)
class Redaction:
    """One redacted entity, without its value."""

    category: str
    role: str
    start: float
    end: float

    def to_dict(self) -> dict:
        return {"category": self.category, "role": self.role, "start": round(self.start, 2), "end": round(self.end, 2)}


@dataclass(frozen=True)
class RedactOptions:
    detect: DetectOptions = DetectOptions()
    keep_last: int = 4  # digits kept at the end of the categories in keep_last_in
    keep_last_in: tuple[str, ...] = ("card",)


class Redactor:
    """Redacts one call: its transcript, then its findings (which quote the clear transcript)."""

    def __init__(self, options: RedactOptions, surname: str | None = None):
        self.options = options
        self.surname = (surname or "").strip() or None
        self.clear: Transcript | None = None
        self._maps: list[list[tuple[int, int, str]]] = []  # per turn: (start, end, replacement), clear text
        self._redacted: list[int] = []  # the turns with a replacement

    def transcript(self, transcript: Transcript) -> tuple[Transcript, list[Redaction]]:
        """The redacted copy (the given transcript is left as it is) and what was redacted."""
        self.clear = transcript
        entities = detect(transcript, self.options.detect, self.surname)
        self._maps = [[] for _ in transcript.turns]
        for entity in entities:
            for k, piece in enumerate(entity.pieces):
                self._maps[piece.turn].append((piece.start, piece.end, self._placeholder(entity, k)))
        self._redacted = [n for n, replacements in enumerate(self._maps) if replacements]
        turns, spans = [], {}
        for n, turn in enumerate(transcript.turns):
            replacements = sorted(self._maps[n])
            new_turn, times = _redact_turn(turn, replacements) if replacements else (turn, {})
            turns.append(new_turn)
            spans.update({(n, a): t for a, t in times.items()})
        redactions = []
        for entity in entities:
            times = [spans[(p.turn, p.start)] for p in entity.pieces]
            role = transcript.turns[entity.pieces[0].turn].role
            redactions.append(Redaction(entity.category, role, min(t[0] for t in times), max(t[1] for t in times)))
        return dataclasses.replace(transcript, turns=turns), redactions

    def _placeholder(self, entity: Entity, piece: int) -> str:
        label = LABELS[entity.category]
        if entity.stored:
            return self.clear.turns[entity.pieces[piece].turn].text[entity.pieces[piece].start:entity.pieces[piece].end]
        if piece:
            return f"[{label}{CONTINUED}]"
        keep = self.options.keep_last if entity.category in self.options.keep_last_in else 0
        digits = entity.digits.replace("X", "")
        return f"[{label}-{digits[-keep:]}]" if keep and len(digits) > keep else f"[{label}]"

    def text(self, text: str, language: str = "en") -> str:
        """A piece of text on its own (a reason, a quote not found in the transcript) redacted."""
        return _redact_text(self.options, self.surname, language, text)

    def result(self, result: AuditResult) -> AuditResult:
        """The findings with their reasons and evidence redacted (call ``transcript`` first)."""
        return dataclasses.replace(result, findings=tuple(self._finding(f) for f in result.findings))

    def _finding(self, finding: Finding) -> Finding:
        language = self.clear.language if self.clear else "en"
        evidence = tuple(self._evidence(e, language) for e in finding.evidence)
        reason = self.text(finding.reason, language)
        if reason == finding.reason and all(new is old for new, old in zip(evidence, finding.evidence)):
            return finding
        return dataclasses.replace(finding, reason=reason, evidence=evidence)

    def _evidence(self, evidence: Evidence, language: str) -> Evidence:
        text = self.text(self._quote(evidence), language)
        return evidence if text == evidence.text else dataclasses.replace(evidence, text=text)

    def _quote(self, evidence: Evidence) -> str:
        """The quote rebuilt from the redacted turn it was taken from; as it is when it quotes none."""
        text = evidence.text
        if not self.clear or not self._redacted:
            return text
        head = ELLIPSIS if text.startswith(ELLIPSIS) else ""
        tail = ELLIPSIS if text.endswith(ELLIPSIS) and len(text) > len(head) else ""
        body = text[len(head):len(text) - len(tail)]
        for parts in _unmarked(body):
            plain = "".join(parts)
            for n in self._redacted:  # a quote of a turn with nothing redacted needs nothing
                turn = self.clear.turns[n]
                if turn.role != evidence.role and evidence.role != "call":
                    continue
                at = turn.text.find(plain)
                if at < 0 or not plain:
                    continue
                out, cursor = [], at
                for k, part in enumerate(parts):
                    out.append(_splice(turn.text, cursor, cursor + len(part), self._maps[n]))
                    cursor += len(part)
                    if len(parts) == 3 and k < 2:
                        out.append(parts_marks(body, parts)[k])
                return head + "".join(out) + tail
        return text


@lru_cache(maxsize=4096)  # a spec's reasons recur on every call
def _redact_text(options: RedactOptions, surname: str | None, language: str, text: str) -> str:
    if not text or not (FOUR_DIGITS.search(text) or "@" in text or " at " in text or "艾特" in text or "[" in text
                        or (surname and surname in text)):
        return text
    one = Transcript(call_id="", duration=1.0, language=language, turns=[Turn("unknown", 0.0, 1.0, text)])
    redacted, _ = Redactor(options, surname).transcript(one)
    return redacted.turns[0].text


def parts_marks(body: str, parts: list[str]) -> tuple[str, str]:
    """The two marks around the middle part of a marked quote."""
    return body[len(parts[0])], body[len(parts[0]) + 1 + len(parts[1])]


def _unmarked(body: str):
    """The ways a quote may read: marked (before, match, after) with either pair of marks, or whole."""
    for left, right in MARKS:
        a = body.find(left)
        b = body.rfind(right)
        if 0 <= a < b:
            yield [body[:a], body[a + 1:b], body[b + 1:]]
    yield [body]


def _splice(text: str, start: int, end: int, replacements: list[tuple[int, int, str]]) -> str:
    """``text[start:end]`` with each replaced span that overlaps it given as its replacement."""
    out, cursor = [], start
    for a, b, rep in sorted(replacements):
        if b <= start or a >= end:
            continue
        if a > cursor:
            out.append(text[cursor:a])
        out.append(rep)
        cursor = max(cursor, b)
    if cursor < end:
        out.append(text[cursor:end])
    return "".join(out)


def _redact_turn(turn: Turn, replacements: list[tuple[int, int, str]]) -> tuple[Turn, dict[int, tuple[float, float]]]:
    """The turn with its text and words redacted, and each replaced span's time (by its start)."""
    text = _splice(turn.text, 0, len(turn.text), replacements)
    located = _locate(turn)
    if located is None:  # words that are not the text's: redact them on their own text
        words_text, located = _joined(turn.words)
        words = _merge_words(words_text, located, _rederive(words_text, turn, replacements))
        located = None
    else:
        words = _merge_words(turn.text, located, replacements)
    times = {}
    for a, b, _ in replacements:
        covering = [w for x, y, w in located if y > a and x < b] if located else []
        if covering:
            times[a] = (covering[0].start, covering[-1].end)
        else:
            length = max(len(turn.text), 1)
            span = turn.end - turn.start
            times[a] = (turn.start + span * a / length, turn.start + span * b / length)
    return dataclasses.replace(turn, text=text, words=words), times


def _locate(turn: Turn) -> list[tuple[int, int, Word]] | None:
    located, cursor = [], 0
    for word in turn.words:
        piece = word.text.strip()
        at = turn.text.find(piece, cursor) if piece else cursor
        if at < 0:
            return None
        located.append((at, at + len(piece), word))
        cursor = at + len(piece)
    return located


def _joined(words: list[Word]) -> tuple[str, list[tuple[int, int, Word]]]:
    located, parts, cursor = [], [], 0
    for word in words:
        piece = word.text.strip()
        located.append((cursor, cursor + len(piece), word))
        parts.append(piece)
        cursor += len(piece) + 1
    return " ".join(parts), located


def _rederive(words_text: str, turn: Turn, replacements) -> list[tuple[int, int, str]]:
    """Replacements for a turn's own word text: each replaced value looked for there."""
    out, cursor = [], 0
    for a, b, rep in replacements:
        value = turn.text[a:b]
        at = words_text.find(value, cursor)
        if at < 0:
            squeezed = value.replace(" ", "")
            at = words_text.replace(" ", "").find(squeezed) if squeezed else -1
            if at < 0:
                continue
            at = _unsqueeze(words_text, at)
            end = _unsqueeze(words_text, words_text.replace(" ", "").find(squeezed) + len(squeezed))
            out.append((at, end, rep))
            continue
        out.append((at, at + len(value), rep))
        cursor = at + len(value)
    return out


def _unsqueeze(text: str, index: int) -> int:
    """The index in ``text`` of the ``index``-th character not a space."""
    seen = 0
    for n, char in enumerate(text):
        if char != " ":
            if seen == index:
                return n
            seen += 1
    return len(text)


def _merge_words(text: str, located, replacements) -> list[Word]:
    """The words, each replaced span's words merged into one word (first start to last end) whose
    text is the placeholder with whatever of those words lay outside the span."""
    merged_words: list[tuple[int, Word]] = []
    done: set[int] = set()
    for a, b, rep in replacements:
        covering = [k for k, (x, y, _) in enumerate(located) if y > a and x < b and k not in done]
        if not covering:
            continue
        first, last = located[covering[0]], located[covering[-1]]
        lead = first[2].text[:len(first[2].text) - len(first[2].text.lstrip())]
        merged = lead + text[first[0]:a] + rep + text[b:last[1]] if a >= first[0] else lead + rep + text[b:last[1]]
        done.update(covering)
        merged_words.append((covering[0], Word(first[2].start, last[2].end, merged,
                                        min(located[k][2].probability for k in covering))))
    kept = [(k, w) for k, (_, _, w) in enumerate(located) if k not in done]
    return [w for _, w in sorted(kept + merged_words, key=lambda pair: pair[0])]
