"""Fillers (嗯, 那个, "um", "you know"): compiled per matcher and left out of the token lists
of texts and phrases alike before matching."""

from __future__ import annotations

import functools
import re
from typing import Iterable, NamedTuple

from audits.textmatch import chinese
from audits.textmatch.normalize import normalize


class Fillers(NamedTuple):
    """A matcher's fillers, normalised; hashable, so caches can be keyed by it."""

    words: frozenset[str]                   # one-token fillers (zh: also each filler run together)
    sequences: tuple[tuple[str, ...], ...]  # multi-token fillers, longest first


NO_FILLERS = Fillers(frozenset(), ())


def compile_fillers(fillers: Iterable[str], family: str) -> Fillers:
    words: set[str] = set()
    sequences: list[tuple[str, ...]] = []
    for filler in fillers:
        normalised = normalize(filler, family)
        if not normalised:
            continue
        if family == "en":
            tokens = tuple(normalised.split())
        else:
            tokens = tuple(t for t in chinese.jieba().lcut(normalised.replace(" ", "")) if t.strip())
        if len(tokens) == 1:
            words.add(tokens[0])
        elif tokens:
            sequences.append(tokens)
        if family == "zh":
            words.add(normalised.replace(" ", ""))
    sequences.sort(key=len, reverse=True)
    return Fillers(frozenset(words), tuple(sequences))


def made_of(token: str, pieces: frozenset[str]) -> bool:
    """``token`` consists only of strings from ``pieces`` (fillers: 嗯嗯, 啊啊啊, 'umm' is not
    'um'; word tails: 我了)."""
    if token in pieces:
        return True
    if not pieces or len(token) > 12:
        return False
    return not token or _run_of(pieces).fullmatch(token) is not None


@functools.lru_cache(maxsize=64)
def _run_of(pieces: frozenset[str]) -> re.Pattern:
    """One or more of the strings in ``pieces``, back to back."""
    return re.compile("(?:" + "|".join(map(re.escape, sorted(pieces, key=len, reverse=True))) + ")+")


@functools.lru_cache(maxsize=64)
def filler_tokens(fillers: Fillers) -> re.Pattern:
    """Whitespace-separated tokens that are fillers: a run of one-token fillers (嗯嗯, 'umum'), or
    a multi-token filler's tokens in a row. Finds every token ``without_fillers`` would leave
    out, and maybe more (a run longer than 12 characters)."""
    alternatives = []
    if fillers.words:
        alternatives.append(_run_of(fillers.words).pattern)
    alternatives += [r"\s+".join(map(re.escape, sequence)) for sequence in fillers.sequences]
    return re.compile(r"(?<!\S)(?:" + "|".join(alternatives) + r")(?!\S)")


def without_fillers(tokens: list[tuple[str, int]], normalised: str, family: str,
                    fillers: Fillers) -> list[tuple[str, int]]:
    """``tokens`` (text, offset in ``normalised``) less the fillers: tokens made of one-token
    fillers, and every run of tokens that is a multi-token filler."""
    if not (fillers.words or fillers.sequences):
        return tokens
    if family != "zh" and not filler_tokens(fillers).search(normalised):
        return tokens  # English: none there, the quick way
    keep = [not made_of(token, fillers.words) for token, _ in tokens]
    for sequence in fillers.sequences:
        length = len(sequence)
        first = sequence[0]
        for i in range(len(tokens) - length + 1):
            if tokens[i][0] == first and all(tokens[i + k][0] == sequence[k] for k in range(length)):
                keep[i:i + length] = [False] * length
    return [token for token, kept in zip(tokens, keep) if kept]
