"""A spec's matching settings and its cache of phrase matchers. Below both the spec (which owns
one) and the call view the checks search through (which borrows it): a batch builds each phrase
list's matcher once, not once per call."""

from __future__ import annotations

import re
from dataclasses import dataclass

from audits.textmatch import PhraseMatcher, language_family, normalize
from audits.textmatch.units import build_units


@dataclass(frozen=True)
class Matching:
    """How phrases are matched: similarity threshold, fillers ignored in the text, whole words."""

    threshold: float
    fillers: tuple[str, ...]
    whole_word: bool


class SpecMatchers:
    """The matchers of one spec's language and matching settings, built on first use."""

    def __init__(self, language: str, matching: Matching):
        self.language = language
        self.matching = matching
        self._matchers: dict[tuple, PhraseMatcher] = {}
        fillers = sorted({normalize(f, language) for f in matching.fillers} - {""}, key=len, reverse=True)
        self._filler_run = re.compile("(?:" + "|".join(map(re.escape, fillers)) + ")+") if fillers else None

    def matcher(self, phrases: tuple[str, ...], threshold: float | None = None) -> PhraseMatcher:
        """The (cached) matcher for a phrase list; ``threshold`` None: the spec's."""
        key = (phrases, threshold)
        matcher = self._matchers.get(key)
        if matcher is None:
            matcher = PhraseMatcher(phrases, self.language, self.matching.threshold if threshold is None else threshold,
                                    fillers=self.matching.fillers, whole_word=self.matching.whole_word)
            self._matchers[key] = matcher
        return matcher

    def only_fillers(self, text: str) -> bool:
        """``text`` holds nothing but punctuation and the spec's fillers."""
        tokens = normalize(text, self.language).split()
        return all(self._filler_run is not None and self._filler_run.fullmatch(t) for t in tokens)


class CuePhrases:
    """The phrase groups serving one cue (``audits.cues``), matched at their item's threshold."""

    def __init__(self, matchers: SpecMatchers, groups: tuple[tuple[str, ...], ...] = (),
                 threshold: float | None = None):
        self.groups = groups
        self._matchers = matchers
        self._threshold = threshold

    def score(self, text: str) -> float:
        """0..1: the mean over the groups of the best match score in ``text`` (0 for a group not
        matched); 0 without groups."""
        if not self.groups:
            return 0.0
        scores = []
        for group in self.groups:
            best = self._matchers.matcher(group, self._threshold).best(text)
            scores.append(best.score if best else 0.0)
        return sum(scores) / len(scores)

    def all_said(self, text: str) -> bool:
        """Does ``text`` say a phrase of every group?"""
        return bool(self.groups) and all(self._matchers.matcher(group, self._threshold).best(text)
                                         for group in self.groups)

    def said(self, text: str) -> bool:
        """Does ``text`` say any of the phrases (of any group)?"""
        return self.phrase_said(text) is not None

    def phrase_said(self, text: str) -> str | None:
        """The phrase (of any group) ``text`` says best, or None."""
        phrases = tuple(phrase for group in self.groups for phrase in group)
        best = self._matchers.matcher(phrases, self._threshold).best(text) if phrases else None
        return best.phrase if best else None

    def phrases_said(self, text: str, min_units: int = 1) -> set[str]:
        """The phrases (of any group) of at least ``min_units`` units (English words, Chinese
        characters) that ``text`` says."""
        family = language_family(self._matchers.language)
        phrases = tuple(phrase for group in self.groups for phrase in group
                        if len(build_units(phrase, family).texts) >= min_units)
        return set(self._matchers.matcher(phrases, self._threshold).best_per_phrase(text)) if phrases else set()
