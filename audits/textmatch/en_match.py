"""The English matcher: windows of a text's words found from the phrases' anchor words (and,
for long single-word phrases, near spellings), scored by the mean of fuzz.ratio on the letters
and a word-level edit score. A text none of whose words can lead to a hit is skipped before its
units are built."""

from __future__ import annotations

import functools
import itertools
from typing import Iterable

from rapidfuzz import fuzz

from audits.textmatch import english
from audits.textmatch.en_score import spelling_similarity, word_score
from audits.textmatch.fillers import Fillers, filler_tokens
from audits.textmatch.negation import english_negation_ok
from audits.textmatch.phrases import Candidate, Phrase, PhraseSearch
from audits.textmatch.units import Units, text_units

# A single-word phrase this long is also found misspelt; a shorter one only exactly ("hey" is
# not "they", "hello" not "hell").
_SPELLED_MIN_LETTERS = 6


class EnglishSearch(PhraseSearch):
    """The phrases of one matcher, indexed by their anchor words."""

    def __init__(self, phrases: list[Phrase], threshold: float, whole_word: bool,
                 negation_guard: bool, fillers: Fillers):
        super().__init__(phrases, threshold, whole_word, negation_guard, fillers)
        # anchor word -> (phrase number, the anchor's index in the phrase), so a text's words lead
        # to the phrases they can start
        self._anchors: dict[str, list[tuple[int, int]]] = {}
        for number, p in enumerate(phrases):
            for word, index in _anchor_words(p):
                self._anchors.setdefault(word, []).append((number, index))
        self._anchor_words = frozenset(self._anchors)
        self._spelled = frozenset(number for number, p in enumerate(phrases)
                                  if p.length == 1 and len(p.letters) >= _SPELLED_MIN_LETTERS)
        self._spelled_order = tuple(sorted(self._spelled))
        # the lengths of words that can be a near spelling of one (``_near``): most words are not
        self._spelled_lengths = frozenset(len(phrases[number].letters) + d
                                          for number in self._spelled for d in range(-2, 3))
        self._words = frozenset(w for p in phrases for w in p.units)
        self._long_words = tuple(sorted(w for w in self._words if len(w) >= 4))
        self._joins = {a + b: (a, b) for p in phrases for a, b in zip(p.units, p.units[1:])}
        self._near_words: dict[str, tuple[str, ...]] = {}  # text word -> phrase words it is near
        self._near_spellings: dict[str, tuple[int, ...]] = {}  # word -> spelled phrases it is near

    def candidates(self, text: str) -> tuple[Units | None, list[Candidate]]:
        covered = None
        if self._whole_word:
            found = _words_and_keys(text, self._fillers)
            if found is not None:
                covered = self._covered_if_any(*found)
                if covered is None:
                    return None, []  # nothing to find: the units are not even built
        t = text_units(text, "en", self._fillers)
        if not t.texts:
            return t, []
        return t, self._candidates(t, covered)

    def _candidates(self, t: Units, covered: set[str] | None) -> list[Candidate]:
        positions = _word_positions(t)
        out = []
        if not self._whole_word:
            out.extend(self._inside_words(t))
        anchored = self._anchored(positions)
        near = None
        if covered is None:  # not known from the text's keys (see _covered_if_any)
            covered = self._covered_words(set(t.texts), positions.keys()) if anchored else set()
        for number in sorted(anchored.keys() | self._spelled):
            p = self._phrases[number]
            if not self._enough_covered(p, covered):
                continue
            starts: set[int] = set()
            for at, index in anchored.get(number, ()):
                for i in at:
                    base = i - index
                    for s in range(base - p.max_extra_units, base + p.max_extra_units + 1):
                        if 0 <= s < len(t.texts):
                            starts.add(s)
            if number in self._spelled:
                # also try the text's words that are near spellings of it (found once per text)
                if near is None:
                    near = self._near_in(t)
                for word in near.get(number, ()):
                    starts.update(positions[word])
            if starts:
                for s, (score, w) in self._best_windows(p, t, starts).items():
                    out.append(Candidate(score, s, s + w, p.spec_index, p, None, 2))
        return out

    def _anchored(self, positions: dict[str, list[int]]) -> dict[int, list[tuple[list[int], int]]]:
        """The phrases an anchor of which the text has, with the anchor's positions in the text
        and its index in the phrase."""
        anchored: dict[int, list[tuple[list[int], int]]] = {}
        if len(self._anchors) < len(positions):
            for word, entries in self._anchors.items():
                at = positions.get(word)
                if at is not None:
                    for number, index in entries:
                        anchored.setdefault(number, []).append((at, index))
        else:
            for word, at in positions.items():
                for number, index in self._anchors.get(word, ()):
                    anchored.setdefault(number, []).append((at, index))
        return anchored

    def _best_windows(self, p: Phrase, t: Units, starts: set[int]) -> dict[int, tuple[float, int]]:
        """Per start, the best window there: (score, number of words)."""
        n = p.length
        best_at: dict[int, tuple[float, int]] = {}
        guard = self._negation_guard and not p.starts_with_negator
        # exact occurrences first; a fuzzy window overlapping one can never beat it
        blocked: set[int] = set()
        texts = t.texts
        first = p.units[0]
        for s in starts:
            if texts[s] == first and texts[s:s + n] == p.units and not (guard and t.after_negator[s]):
                best_at[s] = (1.0, n)
                blocked.update(range(s - n - p.max_extra_units + 1, s + n))
        if n == 1 and len(p.letters) < _SPELLED_MIN_LETTERS:
            return best_at  # short single word: exact only
        # fuzz.ratio is at most 200 min(a, b) / (a + b) for strings of lengths a, b: a window
        # whose length alone keeps it under the cutoff is not scored
        cutoff = max(0.0, (2.0 * self._threshold - 1.0) * 100.0 - 1e-6)  # word score is at most 1
        letters, chars = _letters(t)
        length, c = len(p.letters), cutoff - 1e-6
        shortest, longest = c * length / (200.0 - c) - 1e-6, length * (200.0 - c) / max(c, 1e-9) + 1e-6
        for s in starts:
            if s in blocked or (guard and t.after_negator[s]):
                continue
            # letters first (C); the word-level score only where it can still matter
            ratios = []
            for w in range(max(1, n - p.max_extra_units), min(n + p.max_extra_units, len(texts) - s) + 1):
                a, b = chars[s], chars[s + w]
                if not shortest <= b - a <= longest:
                    continue
                ratio = fuzz.ratio(p.letters, letters[a:b], score_cutoff=cutoff)
                if ratio:
                    ratios.append((ratio, -abs(w - n), w))
            if ratios:
                best = self._best_scored(p, texts, s, ratios)
                if best is not None:
                    best_at[s] = best
        return best_at

    def _best_scored(self, p: Phrase, texts: list[str], s: int,
                     ratios: list[tuple[float, int, int]]) -> tuple[float, int] | None:
        """The best of the windows at ``s`` whose letters ratio passed: the mean of ratio and word
        score, tried from the best ratio down while that can still win."""
        ratios.sort(reverse=True)
        best = None
        for ratio, _, w in ratios:
            upper = 0.5 * ratio / 100.0 + 0.5
            if upper + 1e-9 < self._threshold or (best is not None and upper <= best[0]):
                break
            window = texts[s:s + w]
            score = 0.5 * ratio / 100.0 + 0.5 * _word_score(p, window)
            if score + 1e-9 < self._threshold:
                continue
            score = min(score, 0.999)  # not identical words
            if self._negation_guard and not english_negation_ok(p, window):
                continue
            if best is None or score > best[0] + 1e-12:
                best = (score, w)
        return best

    def _inside_words(self, t: Units) -> list[Candidate]:
        """whole_word=False: exact occurrences inside words too ("hey" in "they")."""
        owner = []
        starts_at = []
        at = 0
        for k, w in enumerate(t.texts):
            owner.extend([k] * (len(w) + 1))
            starts_at.append(at)
            at += len(w) + 1
        joined = " ".join(t.texts)
        to_start, to_end = t.normalised_spans
        out = []
        for p in self._phrases:
            needle = " ".join(p.units)
            i = joined.find(needle)
            while i != -1:
                j = i + len(needle)
                first, last = owner[i], owner[j - 1]
                a = to_start[t.normalised_start[first] + (i - starts_at[first])]
                b = to_end[t.normalised_start[last] + (j - 1 - starts_at[last])]
                out.append(Candidate(1.0, first, last + 1, p.spec_index, p, (a, b), 0))
                i = joined.find(needle, i + 1)
        return out

    def _covered_if_any(self, words: frozenset[str], keys: frozenset[str]) -> set[str] | None:
        """The tests ``_candidates`` makes, on a text of these words whose word index has these
        keys, before its units are built: None when it can find nothing (no near spelling of a
        long single-word phrase, no anchor word of a phrase enough of whose words have a
        counterpart in the text); else the covered words it needs (``_covered_words``)."""
        anchors = keys & self._anchor_words
        covered = self._covered_words(words, keys) if anchors else set()
        lengths = self._spelled_lengths
        if lengths and any(self._near(key) for key in keys if len(key) in lengths):
            return covered
        if any(self._enough_covered(self._phrases[number], covered)
               for word in anchors for number, _ in self._anchors[word]):
            return covered
        return None

    @staticmethod
    def _enough_covered(p: Phrase, covered: set[str]) -> bool:
        return p.length == 1 or sum(1 for a in p.units if a not in covered) <= p.max_uncovered

    def _near(self, key: str) -> tuple[int, ...]:
        """The long single-word phrases (numbers) that ``key`` is a near spelling of: same length
        within 2 and fuzz.ratio at least the threshold. Kept per word."""
        near = self._near_spellings.get(key)
        if near is None:
            cutoff = self._threshold * 100.0 - 1e-6
            near = tuple(number for number in self._spelled_order
                         if abs(len(key) - len(self._phrases[number].letters)) <= 2
                         and fuzz.ratio(key, self._phrases[number].letters, score_cutoff=cutoff))
            if len(self._near_spellings) > 200_000:
                self._near_spellings.clear()
            self._near_spellings[key] = near
        return near

    def _near_in(self, t: Units) -> dict[int, list[str]]:
        """Per long single-word phrase (by number), the words of ``t``'s index that are near
        spellings of it; kept on the units per search."""
        if t.near_spellings is None:
            t.near_spellings = {}
        found = t.near_spellings.get(id(self))
        if found is None or found[0] is not self:
            near: dict[int, list[str]] = {}
            lengths = self._spelled_lengths
            for w in _word_positions(t):
                for number in self._near(w) if len(w) in lengths else ():
                    near.setdefault(number, []).append(w)
            found = t.near_spellings[id(self)] = (self, near)
        return found[1]

    def _covered_words(self, words: Iterable[str], keys) -> set[str]:
        """The phrase words that can be aligned with a text for less than a full edit: the same
        word, a near spelling (``word_similarity``), a word the text splits in two ("followup" /
        "follow up"), or two adjacent phrase words the text runs together (both). Any other
        word of a phrase costs its word score 1 in every window (see ``en_score.word_score``).
        ``keys``: the text's words and adjacent pairs run together (``_word_positions``)."""
        covered = set(self._words.intersection(keys))
        for join in self._joins.keys() & keys:
            covered.update(self._joins[join])
        near_words = self._near_words
        for word in words:
            near = near_words.get(word)
            if near is None:
                near = () if len(word) < 4 else tuple(
                    a for a in self._long_words if a != word and spelling_similarity(a, word))
                if len(near_words) > 200_000:
                    near_words.clear()
                near_words[word] = near
            covered.update(near)
        return covered


def _anchor_words(p: Phrase) -> list[tuple[str, int]]:
    """The words a phrase is looked up by, with their index in it: its content words (all its
    words if it has none), and every two adjacent words run together."""
    anchors = [(w, i) for i, w in enumerate(p.units) if w not in english.STOP_WORDS]
    anchors = anchors or [(w, i) for i, w in enumerate(p.units)]
    return anchors + [(p.units[i] + p.units[i + 1], i) for i in range(p.length - 1)]


def _word_score(p: Phrase, window: list[str]) -> float:
    """``en_score.word_score`` of a window against the phrase, kept per window on the phrase:
    agents say the same scripted sentences call after call, so the windows near a phrase recur."""
    key = tuple(window)
    score = p.word_scores.get(key)
    if score is None:
        if len(p.word_scores) >= 4096:
            p.word_scores.clear()
        score = p.word_scores[key] = word_score(p.units, window)
    return score


def _word_positions(t: Units) -> dict[str, list[int]]:
    """The units' positions per word, and per two words run together ("follow up" /
    "followup"); made once per text, kept on the units."""
    positions = t.word_positions
    if positions is None:
        positions = {}
        words, pairs = t.texts, map(str.__add__, t.texts, t.texts[1:])
        for i, w in itertools.chain(enumerate(words), enumerate(pairs)):
            at = positions.get(w)
            if at is None:
                positions[w] = [i]
            else:
                at.append(i)
        t.word_positions = positions
    return positions


def _letters(t: Units) -> tuple[str, list[int]]:
    """The units run together, and the characters before each unit (prefix sums of their
    lengths): the window of ``w`` units at ``s`` is ``letters[chars[s]:chars[s + w]]``."""
    if t.letters is None:
        t.letters = ("".join(t.texts), [0, *itertools.accumulate(map(len, t.texts))])
    return t.letters


@functools.lru_cache(maxsize=8192)
def _words_and_keys(text: str, fillers: Fillers) -> tuple[frozenset[str], frozenset[str]] | None:
    """The words of the units of an English ``text``, and the keys ``_word_positions`` would give
    them (the words, and every two adjacent words run together), found without building the
    units; None when that shortcut does not apply (non-ASCII text, a word that is not plain
    letters and digits, a filler present)."""
    if not text.isascii():
        return None
    tokens: list[str] = []
    for word in english.WORD_RE.findall(text.translate(english.APOSTROPHES).lower()):
        spelled = english.expanded(word)
        if spelled is word:
            tokens.append(word)
        else:
            tokens.extend(spelled.split())
    joined = " ".join(tokens)
    if "'" in joined:  # words are letters and digits, apostrophes inside: these are the others
        return None
    if (fillers.words or fillers.sequences) and filler_tokens(fillers).search(joined):
        return None  # a filler would be left out of the units: no shortcut
    words = frozenset(tokens)
    return words, words.union(map(str.__add__, tokens, tokens[1:]))
