"""Phrase compilation: a spec phrase as units plus the bounds a matching window must keep to
(the threshold turned into unit counts and cost budgets), the fillers a matcher may drop, and
what both language searches share: their base class and the candidate hit they report."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import NamedTuple, Sequence

from audits.textmatch.chinese import COST_INSERT
from audits.textmatch.fillers import Fillers, compile_fillers
from audits.textmatch.negation import NEGATORS, negator_count
from audits.textmatch.normalize import normalize
from audits.textmatch.units import build_units


@dataclass
class Phrase:
    spec_index: int               # position in the matcher's phrase list
    written: str                  # as written in the spec
    units: list[str]
    syllables: list[str]
    fuzzy_keys: str
    length: int                   # number of units
    max_extra_units: int          # most units a window may have beyond the phrase's (zh: also
                                  # the most key-level edits within the threshold)
    max_missing_units: int        # zh: most phrase units a window may lack
    key_cost_budgets: list[int]   # zh: per window length, the key-level cost budget (x2)
    negators: int                 # negating units (zh characters / en words)
    starts_with_negator: bool
    letters: str                  # the units run together (en: compared by fuzz.ratio)
    unit_set: frozenset[str]
    max_uncovered: int            # en: most words a window may lack and still score >= threshold
    word_scores: dict = field(default_factory=dict)  # en: window words -> word-level score


class Candidate(NamedTuple):
    """A window of a text's units that matches a phrase, before overlapping ones are resolved."""

    score: float
    start: int                    # first unit
    end: int                      # after the last unit
    spec_index: int
    phrase: Phrase
    original_span: tuple[int, int] | None  # when not the units' span (a hit inside a word)
    edge_bonus: int               # ranks ties: how well the window sits on word boundaries


class PhraseSearch:
    """The compiled phrases of one matcher and its options; each language's search indexes the
    phrases its own way and finds ``candidates(text) -> (units or None, [Candidate])``."""

    def __init__(self, phrases: list[Phrase], threshold: float, whole_word: bool,
                 negation_guard: bool, fillers: Fillers):
        self._phrases = phrases
        self._threshold = threshold
        self._whole_word = whole_word
        self._negation_guard = negation_guard
        self._fillers = fillers


def kept_fillers(phrases: Sequence[str], fillers: Sequence[str], family: str) -> tuple[str, ...]:
    """The fillers a matcher drops: all but the empty ones and those a phrase consists of only
    ("嗯" as a forbidden phrase), which stay in the texts as well."""
    fillers = tuple(f for f in fillers if normalize(f, family))
    compiled = compile_fillers(fillers, family)
    protected: set[str] = set()
    if compiled.words or compiled.sequences:
        for phrase in phrases:
            plain = build_units(phrase, family)
            if plain.texts and not build_units(phrase, family, compiled).texts:
                protected.update(plain.texts)
                protected.add("".join(plain.texts))
    kept = []
    for filler in fillers:
        normalised = normalize(filler, family)
        joined = normalised.replace(" ", "")
        if not (set(normalised.split()) & protected or any(joined in p for p in protected)):
            kept.append(filler)
    return tuple(kept)


def compile_phrases(phrases: Sequence[str], family: str, threshold: float,
                    fillers: Fillers) -> list[Phrase]:
    """Each phrase once; a Chinese phrase with a 3-4 digit number twice, once per reading (1024:
    一千零二十四 or 一零二四, a room number). Two spellings of one phrase (OK / okay) both stay."""
    compiled = []
    seen: set[tuple[str, str]] = set()
    for spec_index, written in enumerate(phrases):
        readings = [False]
        if family == "zh" and re.search(r"(?<![0-9])[1-9][0-9]{2,3}(?![0-9])",
                                        unicodedata.normalize("NFKC", written)):
            readings.append(True)
        for digit_by_digit in readings:
            phrase = _compile(spec_index, written, family, threshold, digit_by_digit, fillers)
            if phrase is None:
                continue
            signature = (written, " ".join(phrase.units))
            if signature not in seen:
                seen.add(signature)
                compiled.append(phrase)
    return compiled


def _compile(spec_index: int, written: str, family: str, threshold: float, digit_by_digit: bool,
             fillers: Fillers) -> Phrase | None:
    units = build_units(written, family, fillers, digit_by_digit=digit_by_digit)
    n = len(units.texts)
    if n == 0:
        return None
    if family == "zh":
        max_extra = _max_zh_insertions(n, threshold) if n > 1 else 0
        max_missing = _max_zh_deletions(n, threshold) if n > 1 else 0
    else:
        max_extra = 2 if n > 1 else 0
        max_missing = 0
    budgets = [int(2.0 * (1.0 - threshold) * max(n, w) + 1e-9) for w in range(n + max_extra + 1)]
    # en: a phrase word with no counterpart in the window (see EnglishSearch._covered_words) costs
    # the word score at least 1 of its max(n, w) <= n + max_extra; the score needs a word score
    # >= 2 t - 1
    max_uncovered = int(2.0 * (1.0 - threshold) * (n + max_extra) + 1e-6)
    return Phrase(spec_index, written, units.texts, units.syllables, units.fuzzy_keys, n, max_extra,
                  max_missing, budgets, negator_count(units.texts, family),
                  units.texts[0] in NEGATORS[family], "".join(units.texts), frozenset(units.texts),
                  max_uncovered)


def _max_zh_insertions(n: int, threshold: float) -> int:
    """Most key-level edits a zh window can have and still score >= threshold (all of them
    insertions at COST_INSERT: 0.5 k <= (1 - t)(n + k))."""
    slack = 1.0 - threshold
    if threshold <= COST_INSERT:
        return 2 * n
    return max(0, int(slack * n / (threshold - COST_INSERT) + 1e-9))


def _max_zh_deletions(n: int, threshold: float) -> int:
    return max(0, min(n - 1, int((1.0 - threshold) * n + 1e-9)))
