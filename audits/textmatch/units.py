"""Units, the atoms a phrase and a text are compared by: a Chinese character or a Latin word or
number, each with its pinyin, its fuzzy key, its span in the original text and where it stands
in its word. Texts and phrases are both turned into units here, fillers left out."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from audits.textmatch import chinese
from audits.textmatch.fillers import NO_FILLERS, Fillers, made_of, without_fillers
from audits.textmatch.negation import NEGATING_WORDS_BEFORE, clause_break
from audits.textmatch.normalize import normalize_with_offsets


@dataclass
class Units:
    """A text as units, one entry per unit in each list. Read-only once built (shared by cache),
    except for the English matcher's lazily built indexes at the end."""

    texts: list[str]              # the unit, normalised
    fuzzy_keys: str               # zh: one character per unit, equal for confusable pinyin
    syllables: list[str]          # zh: toneless pinyin of a character; otherwise the unit itself
    original_start: list[int]     # the unit's span in the original text
    original_end: list[int]
    word_start: list[bool]        # begins a word (jieba token / English word)
    loose_word_start: list[bool]  # begins a word, or only an adverb precedes it (真|对不起)
    word_end: list[bool]          # ends a word
    loose_word_end: list[bool]    # ends a word, or the rest of its word is a particle (稍等|一下)
    after_negator: list[bool]     # the word right before the unit is a negator, same clause
    normalised_start: list[int]   # offset of the unit in the normalised text
    normalised_spans: tuple[list[int], list[int]]  # normalised character -> original [start, end)
    # English matcher indexes, built on first use (see en_match.py)
    word_positions: dict[str, list[int]] | None = None
    letters: tuple[str, list[int]] | None = None
    near_spellings: dict | None = None


def build_units(text: str, family: str, fillers: Fillers = NO_FILLERS,
                digit_by_digit: bool = False) -> Units:
    """``text`` as units, ``fillers`` left out."""
    normalised, to_start, to_end = normalize_with_offsets(text, family, digit_by_digit)
    tokens = without_fillers(_tokens(normalised, family), normalised, family, fillers)
    texts: list[str] = []
    syllables: list[str] = []
    keys: list[str] = []
    original_start: list[int] = []
    original_end: list[int] = []
    normalised_start: list[int] = []
    word_start: list[bool] = []
    loose_start: list[bool] = []
    word_end: list[bool] = []
    loose_end: list[bool] = []
    after_negator: list[bool] = []
    negating = NEGATING_WORDS_BEFORE[family]
    negated = False  # the previous word negates
    for token, at in tokens:
        if family != "zh" and token.isascii() and token.isalnum():
            # a plain Latin word or number (most English tokens): one unit, its own word
            if negated and original_end and clause_break(text, original_end[-1], to_start[at], family):
                negated = False
            texts.append(token)
            syllables.append(token)
            keys.append(" ")
            original_start.append(to_start[at])
            original_end.append(to_end[at + len(token) - 1])
            normalised_start.append(at)
            word_start.append(True)
            loose_start.append(True)
            word_end.append(True)
            loose_end.append(True)
            after_negator.append(negated)
            negated = token in negating
            continue
        parts = _split_token(token, at)
        if not parts:
            continue
        if negated and original_end and clause_break(text, original_end[-1], to_start[parts[0][1]], family):
            negated = False  # "没有，您好": punctuation ends the negation's reach
        # a reduplicated interjection (喂喂, 嗯嗯): every repeat is a word of its own
        repeated = (family == "zh" and len(parts) > 1 and len(set(p[0] for p in parts)) == 1
                    and parts[0][0] in chinese.INTERJECTIONS)
        last = len(parts) - 1
        pinyin = _syllables_and_keys(parts, family, repeated)
        for idx, ((unit, a, b), (syllable, key)) in enumerate(zip(parts, pinyin)):
            texts.append(unit)
            syllables.append(syllable)
            keys.append(key)
            original_start.append(to_start[a])
            original_end.append(to_end[b - 1])
            normalised_start.append(a)
            word_start.append(idx == 0 or repeated)
            loose_start.append(idx == 0 or repeated or token[: a - at] in chinese.WORD_HEADS)
            word_end.append(idx == last or repeated)
            loose_end.append(idx == last or repeated or made_of(token[b - at:], chinese.WORD_TAILS))
            after_negator.append(negated if idx == 0 else False)
        negated = token in negating
    return Units(texts, "".join(keys), syllables, original_start, original_end, word_start, loose_start,
                 word_end, loose_end, after_negator, normalised_start, (to_start, to_end))


@functools.lru_cache(maxsize=1024)
def text_units(text: str, family: str, fillers: Fillers) -> Units:
    """``build_units`` of a transcript text, cached: one call's turns are searched by every
    matcher of the spec (a few dozen), and matchers with the same fillers share the work. Callers
    must not modify the result. The size holds an hour-long call's turns; more is no faster, as
    every collection of the oldest generation walks each cached text's ~70 lists (8192 entries:
    2.4 s of garbage collection in a 1000-call rescore, 0.8 s with 1024)."""
    return build_units(text, family, fillers)


def _tokens(normalised: str, family: str) -> list[tuple[str, int]]:
    """Words with their offsets: jieba's for Chinese, whitespace-separated for English."""
    if family != "zh":
        return [(m.group(), m.start()) for m in re.finditer(r"\S+", normalised)]
    tokens = []
    at = 0
    # HMM off: unknown character runs stay single characters instead of being glued into
    # guessed words (我三克油 -> 我/三/克/油, not 我三克油), so only dictionary words such as
    # 为什么 or 喂养 keep a short phrase out.
    for token in chinese.jieba().lcut(normalised, HMM=False):
        if token.strip():
            tokens.append((token, at))
        at += len(token)
    return tokens


def _split_token(token: str, at: int) -> list[tuple[str, int, int]]:
    """A normalised token at offset ``at`` as units (CJK character / alphanumeric run) with
    their normalised spans."""
    if token.isascii() and token.isalnum():  # a plain Latin word or number: one unit
        return [(token, at, at + len(token))]
    out: list[tuple[str, int, int]] = []
    i, n = 0, len(token)
    while i < n:
        c = token[i]
        if chinese.is_cjk(c):
            out.append((c, at + i, at + i + 1))
            i += 1
        elif c.isalnum():
            j = i + 1
            while j < n and token[j].isalnum() and not chinese.is_cjk(token[j]):
                j += 1
            out.append((token[i:j], at + i, at + j))
            i = j
        else:
            i += 1
    return out


def _syllables_and_keys(parts: list[tuple[str, int, int]], family: str,
               each_alone: bool) -> list[tuple[str, str]]:
    """Per unit its syllable and fuzzy key. Chinese: a CJK character's pinyin (read with the
    token's other characters unless ``each_alone``) and its fuzzy spelling's key; another unit
    itself and the key of "#" and it. English does not use keys: a space."""
    if family != "zh":
        return [(unit, " ") for unit, _, _ in parts]
    characters = [unit for unit, _, _ in parts if chinese.is_cjk(unit[0])]
    if each_alone:
        pinyin = iter([chinese.pinyin_of(c)[0] for c in characters])
    else:
        pinyin = iter(chinese.pinyin_of("".join(characters)) if characters else ())
    out = []
    for unit, _, _ in parts:
        if chinese.is_cjk(unit[0]):
            syllable = next(pinyin)
            out.append((syllable, chinese.key_code(chinese.fuzzy_syllable(syllable))))
        else:
            out.append((unit, chinese.key_code("#" + unit)))
    return out
