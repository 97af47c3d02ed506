"""The canonical text form both sides of a match are compared in, with a map from each of its
characters back to the original text (a match quotes the original).

NFKC (full/half width), lower case, apostrophes unified; for Chinese traditional -> simplified
characters and numbers as characters (24 -> 二十四); English contractions expanded ("that's" ->
"that is"); punctuation and symbols -> space, spaces collapsed. Fillers are kept.
"""

from __future__ import annotations

import re
import unicodedata

from audits.textmatch import chinese, english

_DIGITS_RE = re.compile(r"[0-9]+")
_ASCII_WORD_RE = re.compile(r"[a-z]+(?:'[a-z]+)*")


def language_family(language: str) -> str:
    """``"zh"`` for any zh-* / cmn / yue tag, otherwise ``"en"``."""
    lang = (language or "").strip().lower().replace("_", "-")
    if lang.startswith(("zh", "cmn", "yue", "chinese", "mandarin")):
        return "zh"
    return "en"


def normalize(text: str, language: str) -> str:
    """Canonical comparison form of ``text`` (see the module docstring)."""
    return normalize_with_offsets(text, language)[0]


def normalize_with_offsets(text: str, language: str,
                           digit_by_digit: bool = False) -> tuple[str, list[int], list[int]]:
    """Normalise ``text``; return it with, per output character, the original [start, end) span.
    ``digit_by_digit``: Chinese numbers read digit by digit (1024 -> 一零二四, a room number)."""
    family = language_family(language)
    if family == "en" and text.isascii() and "'" not in text and "`" not in text:
        return english.normalize_plain(text)
    folded, starts, ends = _folded(text)
    out = _MappedText()
    if family == "zh":
        if any(chinese.is_cjk(c) for c in folded):
            folded = chinese.simplified(folded)
        _chinese_characters(folded, starts, ends, digit_by_digit, out)
    else:
        _english_words(folded, starts, ends, out)
    return out.trimmed()


def _folded(text: str) -> tuple[str, list[int], list[int]]:
    """NFKC + lower case + apostrophes unified, character by character, with the original span
    of each character."""
    if text.isascii():  # NFKC leaves ASCII alone and lower() keeps its length: one char per char
        return (text.translate(english.APOSTROPHES).lower(), list(range(len(text))),
                list(range(1, len(text) + 1)))
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for i, ch in enumerate(text):
        for c in unicodedata.normalize("NFKC", ch).translate(english.APOSTROPHES).lower():
            chars.append(c)
            starts.append(i)
            ends.append(i + 1)
    return "".join(chars), starts, ends


class _MappedText:
    """The normalised text being built: characters and, per character, the original span."""

    __slots__ = ("chars", "starts", "ends")

    def __init__(self) -> None:
        self.chars: list[str] = []
        self.starts: list[int] = []
        self.ends: list[int] = []

    def emit(self, piece: str, start: int, end: int) -> None:
        """Append ``piece``, every character mapped to [start, end); whitespace collapses to one
        space and none leads."""
        for c in piece:
            if c.isspace():
                if self.chars and self.chars[-1] != " ":
                    self.chars.append(" ")
                    self.starts.append(start)
                    self.ends.append(end)
            else:
                self.chars.append(c)
                self.starts.append(start)
                self.ends.append(end)

    def emit_word(self, folded: str, i: int, j: int, starts: list[int], ends: list[int]) -> None:
        """Append the English word ``folded[i:j]``: its expansion, mapped to the whole word, or
        its characters without apostrophes, each mapped to itself."""
        word = folded[i:j]
        spelled = english.expanded(word)
        if spelled != word:
            self.emit(spelled, starts[i], ends[j - 1])
        elif "'" in word:
            for k in range(i, j):
                if folded[k] != "'":
                    self.chars.append(folded[k])
                    self.starts.append(starts[k])
                    self.ends.append(ends[k])
        else:
            self.chars.extend(word)
            self.starts.extend(starts[i:j])
            self.ends.extend(ends[i:j])

    def trimmed(self) -> tuple[str, list[int], list[int]]:
        while self.chars and self.chars[-1] == " ":
            self.chars.pop()
            self.starts.pop()
            self.ends.pop()
        return "".join(self.chars), self.starts, self.ends


def _english_words(folded: str, starts: list[int], ends: list[int], out: _MappedText) -> None:
    """Each word (a run of letters/digits, apostrophes inside) copied or expanded; the non-word
    characters before the next word are one space, mapped to the first of them."""
    gap_from = 0
    for m in english.WORD_RE.finditer(folded):
        i, j = m.span()
        if i > gap_from:
            out.emit(" ", starts[gap_from], ends[gap_from])
        out.emit_word(folded, i, j, starts, ends)
        gap_from = j


def _chinese_characters(folded: str, starts: list[int], ends: list[int], digit_by_digit: bool,
                        out: _MappedText) -> None:
    """Characters copied, digit runs as Chinese numbers, Latin words as English words,
    punctuation, symbols and whitespace as one space."""
    i = 0
    while i < len(folded):
        c = folded[i]
        if "0" <= c <= "9":
            j = _DIGITS_RE.match(folded, i).end()
            out.emit(chinese.number_in_characters(folded[i:j], digit_by_digit), starts[i], ends[j - 1])
            i = j
        elif "a" <= c <= "z":
            j = _ASCII_WORD_RE.match(folded, i).end()
            out.emit_word(folded, i, j, starts, ends)
            i = j
        else:
            out.emit(c if c.isalnum() or chinese.is_cjk(c) else " ", starts[i], ends[i])
            i += 1
