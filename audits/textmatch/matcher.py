"""``PhraseMatcher``, the public face: compiles the phrases, asks the language's search for
candidate windows, resolves overlaps and quotes each hit from the original text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from audits.textmatch.en_match import EnglishSearch
from audits.textmatch.fillers import compile_fillers
from audits.textmatch.normalize import language_family
from audits.textmatch.phrases import Candidate, compile_phrases, kept_fillers
from audits.textmatch.units import Units
from audits.textmatch.zh_match import ChineseSearch


@dataclass(frozen=True)
class Match:
    phrase: str   # the spec phrase that matched (as written in the spec)
    start: int    # char offset of the match in the ORIGINAL text passed to find()
    end: int      # end offset (exclusive) in the original text
    text: str     # original[start:end] - quoted as evidence
    score: float  # 0..1 similarity (1.0 = exact after normalisation)


class PhraseMatcher:
    """Find occurrences of spec phrases in ASR text, robust to ASR slips.

    ``threshold``: minimum similarity, 0..1 (0.85 suits both languages).

    ``fillers``: words dropped before matching, from the text and from the phrases alike
    (嗯, 那个, "um", "you know"); offsets still point into the original text, so a quote may
    contain them. A filler that a phrase consists of only ("嗯" as a forbidden phrase) is kept.

    ``whole_word``: English windows are always whole words ("hey" never inside "they"); with
    False an exact phrase is also found inside words. Chinese (jieba words): a 1-character phrase
    must be a whole word (喂 not in 喂养); 2-3 character phrases must start at a word start
    (什么 not in 为什么), and a 2-character phrase must end at a word end or before a particle
    jieba glued on (稍等|一下, not 你好|像); longer phrases need no boundary (jieba segments
    slipped text unreliably). With False, Chinese matches anywhere.

    ``negation_guard``: a hit right after a negator in the same clause (不/没/没有/别,
    "not"/"never") is refused unless the phrase itself starts with one, and a fuzzy hit must
    have the phrase's count of negators (不没别未 / not no never ...) and no im-/un-/in-/dis-
    word where the phrase has the bare word.

    Scores: 1.0 exact after normalisation; zh 1 - cost / max(len) over pinyin syllables
    (homophone 0.05, confusable initial or final 0.2 each, extra character 0.5, missing or
    different character 1; a 1-character phrase must be exact, and ceil(n/3) characters must
    be identical); en the mean of fuzz.ratio on the joined letters and a word-level edit score.
    """

    def __init__(self, phrases: Sequence[str], language: str, threshold: float = 0.85,
                 fillers: Sequence[str] = (), whole_word: bool = True,
                 negation_guard: bool = True):
        if isinstance(phrases, str):
            phrases = [phrases]
        self._written = tuple(phrases)
        self.language = language
        self.family = language_family(language)
        self.threshold = float(threshold)
        self.whole_word = bool(whole_word)
        self.negation_guard = bool(negation_guard)
        self._fillers = kept_fillers(self._written, fillers, self.family)
        compiled_fillers = compile_fillers(self._fillers, self.family)
        self._phrases = compile_phrases(self._written, self.family, self.threshold, compiled_fillers)
        search = ChineseSearch if self.family == "zh" else EnglishSearch
        self._search = search(self._phrases, self.threshold, self.whole_word, self.negation_guard,
                              compiled_fillers)

    # -- container protocol -----------------------------------------------------------------
    @property
    def phrases(self) -> tuple[str, ...]:
        return self._written

    @property
    def fillers(self) -> tuple[str, ...]:
        return self._fillers

    def __bool__(self) -> bool:
        return bool(self._phrases)

    def __len__(self) -> int:
        return len(self._written)

    def __repr__(self) -> str:
        return (f"PhraseMatcher({len(self._written)} phrases, language={self.language!r}, "
                f"threshold={self.threshold})")

    # -- matching -------------------------------------------------------------------------------
    def find(self, text: str) -> list[Match]:
        """Every occurrence of any phrase, non-overlapping, sorted by start.

        On overlap the better score wins, then the longer span, then the earlier one: a
        sub-phrase that scores better than the long phrase containing it hides the long one
        (use :meth:`find_each` or :meth:`best_per_phrase` to ask about each phrase).
        """
        t, candidates = self._candidates(text)
        if not candidates:
            return []
        return _matches(text, t, _resolve(candidates, per_phrase=False))

    def find_each(self, text: str) -> list[Match]:
        """Every occurrence of every phrase, sorted by start: occurrences of one phrase do not
        overlap each other, but different phrases may overlap (greeting and its sub-phrase)."""
        t, candidates = self._candidates(text)
        if not candidates:
            return []
        return _matches(text, t, _resolve(candidates, per_phrase=True))

    def best(self, text: str) -> Match | None:
        """The highest-scoring match (earliest on a tie), or None."""
        found = self.find(text)
        if not found:
            return None
        return max(found, key=lambda m: (m.score, -m.start))

    def best_per_phrase(self, text: str) -> dict[str, Match]:
        """For each phrase found in ``text``, its best occurrence (earliest on a tie); phrases
        are not resolved against each other. Keys are the phrases as written, in spec order."""
        t, candidates = self._candidates(text)
        best: dict[int, Candidate] = {}
        for c in candidates:
            k = c.spec_index
            if k not in best or (c.score, -c.start) > (best[k].score, -best[k].start):
                best[k] = c
        out = {}
        for c in sorted(best.values(), key=lambda c: c.spec_index):
            (m,) = _matches(text, t, [c])
            out.setdefault(m.phrase, m)
        return out

    def _candidates(self, text: str) -> tuple[Units | None, list[Candidate]]:
        if not text or not self._phrases:
            return None, []
        return self._search.candidates(text)


def _resolve(candidates: list[Candidate], per_phrase: bool) -> list[Candidate]:
    """Greedy non-overlap (per phrase, or among all): better score, then better word edges, then
    the longer span, then the earlier, first."""
    candidates.sort(key=lambda c: (-round(c.score, 4), -c.edge_bonus, -(c.end - c.start), c.start,
                                   c.spec_index))
    taken: dict[int, list[tuple[int, int]]] = {}
    chosen = []
    for c in candidates:
        spans = taken.setdefault(c.spec_index if per_phrase else 0, [])
        if any(c.start < b and a < c.end for a, b in spans):
            continue
        spans.append((c.start, c.end))
        chosen.append(c)
    return chosen


def _matches(text: str, t: Units, chosen: list[Candidate]) -> list[Match]:
    """The chosen candidates as Matches quoting ``text``, sorted by start."""
    found = []
    for c in chosen:
        a, b = c.original_span or (t.original_start[c.start], t.original_end[c.end - 1])
        found.append(Match(c.phrase.written, a, b, text[a:b], round(min(1.0, max(0.0, c.score)), 4)))
    found.sort(key=lambda m: (m.start, m.end, -m.score))
    return found
