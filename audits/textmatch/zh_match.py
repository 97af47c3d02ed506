"""The Chinese matcher: windows of a text's units found by pigeonhole pieces of the phrases'
fuzzy keys, gated by a key-level Levenshtein distance (C), then scored by a weighted edit
distance over pinyin (``_align``) and checked against jieba's word boundaries and negation."""

from __future__ import annotations

from rapidfuzz.distance import Levenshtein

from audits.textmatch.chinese import COST_HOMOPHONE, COST_INSERT, confusion_cost
from audits.textmatch.fillers import Fillers
from audits.textmatch.negation import negator_count
from audits.textmatch.phrases import Candidate, Phrase, PhraseSearch
from audits.textmatch.units import Units, text_units


class ChineseSearch(PhraseSearch):
    """The phrases of one matcher, indexed by the first key of each pigeonhole piece."""

    def __init__(self, phrases: list[Phrase], threshold: float, whole_word: bool,
                 negation_guard: bool, fillers: Fillers):
        super().__init__(phrases, threshold, whole_word, negation_guard, fillers)
        # first key -> (phrase number, piece, its offset in the phrase, the phrase's unit bounds)
        self._pieces: dict[str, list[tuple[int, str, int, int, int]]] = {}
        for number, p in enumerate(phrases):
            for piece, offset in _pigeonhole_pieces(p):
                self._pieces.setdefault(piece[0], []).append(
                    (number, piece, offset, p.max_extra_units, p.max_missing_units))

    def candidates(self, text: str) -> tuple[Units, list[Candidate]]:
        t = text_units(text, "zh", self._fillers)
        if not t.texts:
            return t, []
        out = []
        starts = self._window_starts(t)
        for number in sorted(starts):
            p = self._phrases[number]
            for s, (score, w) in self._best_windows(p, t, starts[number]).items():
                # tie-break: a window on word boundaries quotes better (有什么 vs 问有什么)
                edges = int(t.word_start[s]) + int(t.loose_word_end[s + w - 1])
                out.append(Candidate(score, s, s + w, p.spec_index, p, None, edges))
        return t, out

    def _window_starts(self, t: Units) -> dict[int, set[int]]:
        """Per phrase number, the units a window may start at: a window within the threshold
        contains one of the phrase's pieces intact (pigeonhole)."""
        keys = t.fuzzy_keys
        length = len(t.texts)
        at_key: dict[str, list[int]] = {}
        for i, k in enumerate(keys):
            at_key.setdefault(k, []).append(i)
        starts: dict[int, set[int]] = {}
        for k, hits in at_key.items():
            for number, piece, offset, max_extra, max_missing in self._pieces.get(k, ()):
                for i in hits:
                    if len(piece) == 1 or keys.startswith(piece, i):
                        base = i - offset
                        found = starts.get(number)
                        if found is None:
                            found = starts[number] = set()
                        found.update(range(max(0, base - max_extra), min(length, base + max_missing + 1)))
        return starts

    def _best_windows(self, p: Phrase, t: Units, starts: set[int]) -> dict[int, tuple[float, int]]:
        """Per start, the best window there: (score, number of units)."""
        n, max_extra = p.length, p.max_extra_units
        strict_start = self._whole_word and n <= 3
        start_ok = t.word_start if n == 1 else t.loose_word_start
        end_ok = None
        if self._whole_word and n == 1:
            end_ok = t.word_end
        elif self._whole_word and n <= 2:
            end_ok = t.loose_word_end
        guard = self._negation_guard and not p.starts_with_negator
        best_at: dict[int, tuple[float, int]] = {}
        ordered = sorted(starts)
        # exact occurrences first; a fuzzy window overlapping one can never beat it
        blocked: set[int] = set()
        for s in ordered:
            if (t.texts[s:s + n] == p.units and not (guard and t.after_negator[s])
                    and not (strict_start and not start_ok[s])
                    and not (end_ok is not None and not end_ok[s + n - 1])):
                best_at[s] = (1.0, n)
                blocked.update(range(s - n - max_extra + 1, s + n))
        for s in ordered:
            if s in blocked or (strict_start and not start_ok[s]) or (guard and t.after_negator[s]):
                continue
            best = self._best_fuzzy_window(p, t, s, end_ok)
            if best is not None:
                best_at[s] = best
        return best_at

    def _best_fuzzy_window(self, p: Phrase, t: Units, s: int,
                           end_ok: list[bool] | None) -> tuple[float, int] | None:
        n, max_extra, max_missing = p.length, p.max_extra_units, p.max_missing_units
        widest = min(n + max_extra, len(t.texts) - s)
        narrowest = max(1, n - max_missing)
        if widest < narrowest:
            return None
        keys = t.fuzzy_keys
        # key-level gate in C (a lower bound of the weighted cost) before the Python alignment
        if max_extra == 0 and max_missing == 0:
            if keys[s:s + n] != p.fuzzy_keys:
                return None
            widest = n
        else:
            within_budget = 0
            for w in range(narrowest, widest + 1):
                budget = p.key_cost_budgets[w]
                if Levenshtein.distance(p.fuzzy_keys, keys[s:s + w], weights=(1, 2, 2),
                                        score_cutoff=budget) <= budget:
                    within_budget = w
            if not within_budget:
                return None
            widest = within_budget
        row = _align(p, t, s, widest)
        min_same = -(-n // 3)  # ceil(n/3) identical characters
        best = None
        for w in range(narrowest, widest + 1):
            e = s + w - 1
            if end_ok is not None and not end_ok[e]:
                continue
            cost, same = row[w]
            score = 1.0 - cost / max(n, w)
            if score + 1e-9 < self._threshold or same < min_same:
                continue
            if n == 1 and cost > 0:
                continue
            if self._negation_guard and p.negators != negator_count(t.texts[s:s + w], "zh"):
                continue
            rank = (round(score, 4), t.loose_word_end[e], -abs(w - n))
            if best is None or rank > best[2]:
                best = (score, w, rank)
        return None if best is None else best[:2]


def _pigeonhole_pieces(p: Phrase) -> list[tuple[str, int]]:
    """The phrase's keys cut into max_extra_units + 1 contiguous pieces (key string, offset):
    within that many edits one piece survives intact."""
    n = p.length
    count = p.max_extra_units + 1
    pieces = []
    for k in range(count):
        a = (k * n) // count
        b = ((k + 1) * n) // count
        if b > a:
            pieces.append((p.fuzzy_keys[a:b], a))
    return pieces


def _align(p: Phrase, t: Units, s: int, widest: int) -> list[tuple[float, int]]:
    """Weighted edit distance of the phrase vs t[s:s+w] for w = 0..widest.

    Returns per window length w: (cost, identical_units) along one optimal alignment.
    """
    p_texts, p_syllables, p_keys = p.units, p.syllables, p.fuzzy_keys
    t_texts, t_syllables, t_keys = t.texts, t.syllables, t.fuzzy_keys
    inf = 1e9
    # row i, column j: cost of phrase[:i] vs text[s:s+j] and the identical units (tie-break
    # max); the window starts on an aligned unit: no leading insertions
    prev = [(0.0, 0)] + [(inf, 0)] * widest
    for i in range(1, p.length + 1):
        cur = [(float(i), 0)] + [(inf, 0)] * widest
        a_text, a_syllable, a_key = p_texts[i - 1], p_syllables[i - 1], p_keys[i - 1]
        for j in range(1, widest + 1):
            x = s + j - 1
            if t_texts[x] == a_text:
                sub, same = 0.0, 1
            elif t_syllables[x] == a_syllable:
                sub, same = COST_HOMOPHONE, 0
            elif t_keys[x] == a_key and a_syllable != a_text:  # confusable pinyin (CJK units only)
                sub, same = confusion_cost(a_syllable, t_syllables[x]), 0
            else:
                sub, same = 1.0, 0
            dc, de = prev[j - 1]
            best = (dc + sub, de + same)
            c2, e2 = prev[j]
            c2 += 1.0
            if c2 < best[0] - 1e-12 or (abs(c2 - best[0]) <= 1e-12 and e2 > best[1]):
                best = (c2, e2)
            c3, e3 = cur[j - 1]
            c3 += COST_INSERT
            if c3 < best[0] - 1e-12 or (abs(c3 - best[0]) <= 1e-12 and e3 > best[1]):
                best = (c3, e3)
            cur[j] = best
        prev = cur
    return prev
