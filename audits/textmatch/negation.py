"""Negation: the words that negate, in both languages, and the tests that keep a negated text
from matching its positive phrase (我知道 / 我不知道, "possible" / "impossible", "i can help" /
"i can not help").

Two guards, both on unless ``PhraseMatcher(negation_guard=False)``: a hit right after a negating
word in the same clause is refused unless the phrase itself starts with a negator, and a fuzzy
hit must have as many negators as the phrase (English: and no im-/un-/dis- word where the phrase
has the bare word).
"""

from __future__ import annotations

from typing import AbstractSet, Protocol, Sequence

# Units that negate, counted in a phrase and in a window (zh: characters, en: words).
NEGATORS = {"zh": frozenset("不没别未"),
            "en": frozenset({"not", "no", "never", "nothing", "none", "nobody", "neither", "nor"})}
# Words that negate the unit right after them.
NEGATING_WORDS_BEFORE = {
    "zh": frozenset({"不", "没", "没有", "别", "未", "并不", "不太", "从未", "不是"}),
    "en": frozenset({"not", "never"}),
}
_NEGATING_PREFIXES = ("im", "in", "un", "dis", "non", "ir", "il")


class NegationSubject(Protocol):
    """What the guards read of a compiled phrase (``phrases.Phrase`` has these; this module sits
    below it and does not import it)."""

    units: Sequence[str]
    unit_set: AbstractSet[str]
    negators: int


def negator_count(units: Sequence[str], family: str) -> int:
    negators = NEGATORS[family]
    return sum(1 for unit in units if unit in negators)


def clause_break(text: str, a: int, b: int, family: str) -> bool:
    """Punctuation between original offsets a and b (where a negator's reach ends); for zh a
    space too (Whisper writes a space at a pause, Chinese has no spaces between words)."""
    for c in text[a:b]:
        if not c.isalnum() and (family == "zh" or not c.isspace()):
            return True
    return False


def affix_negated(a: str, b: str) -> bool:
    """``a`` is ``b`` with a negating prefix (impossible/possible) or vice versa."""
    if len(a) < len(b):
        a, b = b, a
    if len(b) < 4:
        return False
    for prefix in _NEGATING_PREFIXES:
        if a == prefix + b:
            return True
    return False


def english_negation_ok(phrase: NegationSubject, window: Sequence[str]) -> bool:
    """A fuzzy English window has the phrase's count of negators and no word that is a phrase
    word with a negating prefix (or the phrase word's bare form)."""
    if negator_count(window, "en") != phrase.negators:
        return False
    for word in window:
        if word in phrase.unit_set:
            continue
        for phrase_word in phrase.units:
            if affix_negated(word, phrase_word):
                return False
    return True
