"""Personal data in a transcript: where each number, e-mail address and name stands.

A number may be split across words (each digit a word), across a turn's pauses, and across turns
of one speaker ("one three eight" … "one two three four, five six seven eight"), the other party
saying "uh-huh" in between: a run that ends its turn goes on in the speaker's next turn when
that turn starts with a digit, within ``CHAIN_SECONDS``. Stored transcripts that were redacted
already are read back the same way: each placeholder is the entity it replaced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from audits.calldata.transcript import Transcript
from audits.pii.categories import ACCOUNT_WORDS, CATEGORIES, CATEGORY_OF_LABEL, PHONE_WORDS, classify, emails, names
from audits.pii.numbers import PLACEHOLDER, Run, Unit, scan

CHAIN_SECONDS = 20.0  # a number goes on in the same speaker's next turn at most this much later
CONTINUED = "+"  # a placeholder's mark for the later pieces of an entity split across turns


@dataclass(frozen=True)
class Piece:
    turn: int  # index into transcript.turns
    start: int  # characters of that turn's text
    end: int


@dataclass
class Entity:
    category: str
    pieces: list[Piece]
    digits: str = ""  # the number's digits (never stored; the kept last digits come from here)
    kept: str = ""  # digits shown in the placeholder (a stored placeholder's)
    stored: bool = False  # read back from a placeholder: the value is gone already


@dataclass(frozen=True)
class DetectOptions:
    """What to look for; ``pipeline.settings`` declares the settings these come from."""

    categories: tuple[str, ...] = tuple(c for c in CATEGORIES if c != "name")
    account_patterns: tuple[str, ...] = ()
    account_min_digits: int = 6
    min_digits: int = 9
    compiled: tuple[re.Pattern, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "compiled", tuple(re.compile(p) for p in self.account_patterns))


def detect(transcript: Transcript, options: DetectOptions, surname: str | None = None) -> list[Entity]:
    """Every entity of ``options.categories`` in the transcript, in order of their first piece."""
    texts = [turn.text for turn in transcript.turns]
    entities = _stored(texts)
    wanted = set(options.categories)
    taken: dict[int, list[tuple[int, int]]] = {}
    if "email" in wanted:
        for n, text in enumerate(texts):
            for a, b in emails(text):
                entities.append(Entity("email", [Piece(n, a, b)]))
                taken.setdefault(n, []).append((a, b))
    for n, text in enumerate(texts):
        for a, b in _written_accounts(text, options.compiled) if "account" in wanted else ():
            if not _overlaps(taken.get(n, ()), a, b):
                entities.append(Entity("account", [Piece(n, a, b)], re.sub(r"\W", "", text[a:b])))
                taken.setdefault(n, []).append((a, b))
    for chain in _chains(transcript):
        context = _context(texts, chain[0][0])
        for category, units in _segments([u for _, run in chain for u in run.units], chain, context, options):
            if category not in wanted:
                continue
            pieces = _pieces(units)
            if any(_overlaps(taken.get(p.turn, ()), p.start, p.end) for p in pieces):
                continue
            entities.append(Entity(category, pieces, "".join(u.digits for _, u in units)))
    if "name" in wanted and surname:
        for n, text in enumerate(texts):
            for a, b in names(text, surname, transcript.language):
                if not any(p.turn == n and p.start < b and a < p.end for e in entities for p in e.pieces):
                    entities.append(Entity("name", [Piece(n, a, b)]))
    return sorted(entities, key=lambda e: (e.pieces[0].turn, e.pieces[0].start))


def _stored(texts: list[str]) -> list[Entity]:
    """Placeholders of an earlier redaction, each an entity again (continued pieces joined)."""
    out: list[Entity] = []
    last: dict[str, Entity] = {}
    for n, text in enumerate(texts):
        if "[" not in text:
            continue
        for m in PLACEHOLDER.finditer(text):
            label, more = m.group(1), m.group(2)
            category = CATEGORY_OF_LABEL.get(label.rstrip(CONTINUED))
            if category is None:
                continue
            if label.endswith(CONTINUED) and category in last:
                last[category].pieces.append(Piece(n, *m.span()))
                continue
            entity = Entity(category, [Piece(n, *m.span())], kept=more or "", stored=True)
            last[category] = entity
            out.append(entity)
    return out


def _chains(transcript: Transcript) -> list[list[tuple[int, Run]]]:
    """Runs of digits, those that go on across one speaker's turns joined: each a list of (turn, run)."""
    chains: list[list[tuple[int, Run]]] = []
    open_chain: dict[str, tuple[list, float]] = {}  # role -> (chain its last turn ended with, that turn's end)
    for n in sorted(range(len(transcript.turns)), key=lambda i: transcript.turns[i].start):
        turn = transcript.turns[n]
        found, first_is_digit, last_is_digit = scan(turn.text)
        pending = open_chain.pop(turn.role, None)
        for k, run in enumerate(found):
            if k == 0 and pending and turn.start - pending[1] <= CHAIN_SECONDS and first_is_digit:
                pending[0].append((n, run))
                chain = pending[0]
            else:
                chain = [(n, run)]
                chains.append(chain)
            if k == len(found) - 1 and last_is_digit:
                open_chain[turn.role] = (chain, turn.end)
    return chains


def _written_accounts(text: str, patterns) -> list[tuple[int, int]]:
    """Where a configured account pattern stands written in the text, as a whole word."""
    spans = []
    for pattern in patterns:
        for m in pattern.finditer(text):
            a, b = m.span()
            if b > a and not _ascii_word(text[a - 1:a]) and not _ascii_word(text[b:b + 1]):
                spans.append((a, b))
    return spans


def _ascii_word(char: str) -> bool:
    return bool(char) and char.isascii() and char.isalnum()


def _context(texts: list[str], n: int) -> str:
    return (texts[n - 1] if n else "") + " " + texts[n]


def _segments(units: list[Unit], chain, context: str, options: DetectOptions):
    """The chain's units cut into entities: from each unit, the longest stretch that is one."""
    turn_of = [n for n, run in chain for _ in run.units]
    phone_context = bool(PHONE_WORDS.search(context))
    account_context = bool(ACCOUNT_WORDS.search(context))
    i = 0
    while i < len(units):
        for j in range(len(units), i, -1):
            digits = "".join(u.digits for u in units[i:j])
            category = classify(digits, plus=units[i].plus, phone_context=phone_context,
                                account_context=account_context, account_min_digits=options.account_min_digits,
                                account_patterns=options.compiled, min_digits=options.min_digits)
            if category:
                yield category, list(zip(turn_of[i:j], units[i:j]))
                i = j
                break
        else:
            i += 1


def _pieces(units: list[tuple[int, Unit]]) -> list[Piece]:
    pieces: dict[int, Piece] = {}
    for n, unit in units:
        piece = pieces.get(n)
        pieces[n] = Piece(n, unit.start, unit.end) if piece is None else Piece(n, piece.start, unit.end)
    return list(pieces.values())


def _overlaps(spans, start: int, end: int) -> bool:
    return any(a < end and start < b for a, b in spans)
