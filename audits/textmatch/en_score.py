"""English scores: the spelling similarity of two words and the word-level edit score of a
window against a phrase."""

from __future__ import annotations

from rapidfuzz import fuzz

from audits.textmatch.negation import affix_negated

_word_similarities: dict[tuple[str, str], float] = {}


def spelling_similarity(a: str, b: str) -> float:
    """fuzz.ratio of two different words when it is 80 or more, else 0."""
    if min(len(a), len(b)) < 4 or affix_negated(a, b):
        return 0.0  # mr/mrs, do/did, you/your: short words differ, not misspelt
    return fuzz.ratio(a, b, score_cutoff=80) / 100.0


def word_similarity(a: str, b: str) -> float:
    """Spelling similarity of two English words: 1 equal, ratio for near spellings, else 0."""
    if a == b:
        return 1.0
    similarity = _word_similarities.get((a, b))
    if similarity is None:
        similarity = spelling_similarity(a, b)
        if len(_word_similarities) > 200_000:
            _word_similarities.clear()
        _word_similarities[(a, b)] = similarity
    return similarity


def word_score(phrase: list[str], window: list[str]) -> float:
    """Word-level similarity: edit distance over words where a near spelling costs 1 - ratio,
    an adjacent swap ("i can" / "can i") costs 1 and a split or run-together word ("follow up"
    / "followup") costs 0.1; normalised by the longer length."""
    n, m = len(phrase), len(window)
    rows = [[float(j) for j in range(m + 1)]]  # rows[i][j]: cost of phrase[:i] vs window[:j]
    joined = [None, None] + [window[j - 2] + window[j - 1] for j in range(2, m + 1)]
    for i in range(1, n + 1):
        a = phrase[i - 1]
        up = rows[i - 1]
        up2 = rows[i - 2] if i > 1 else None
        a_before = phrase[i - 2] if i > 1 else None
        a_joined = a_before + a if i > 1 else None
        cur = [float(i)] + [0.0] * m
        for j in range(1, m + 1):
            b = window[j - 1]
            best = up[j - 1] + (1.0 - (1.0 if a == b else word_similarity(a, b)))
            x = up[j] + 1.0
            if x < best:
                best = x
            x = cur[j - 1] + 1.0
            if x < best:
                best = x
            if up2 is not None and j > 1 and a == window[j - 2] and a_before == b:
                x = up2[j - 2] + 1.0
                if x < best:
                    best = x
            if j > 1 and a == joined[j]:
                x = up[j - 2] + 0.1
                if x < best:
                    best = x
            if a_joined is not None and a_joined == b:
                x = up2[j - 1] + 0.1
                if x < best:
                    best = x
            cur[j] = best
        rows.append(cur)
    return max(0.0, 1.0 - rows[n][m] / max(n, m))
