"""Kind ``foreign_words``: no English expressions (OK, BYE BYE …) in a Chinese call."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from audits.call_view import CallView, half_width, quote, span_times
from audits.calldata.transcript import ROLES
from audits.checks.base import Check, CommonOptions, listing
from audits.findings import Evidence, Finding
from audits.params import OneOf, Phrases, Words, param


@dataclass(frozen=True, kw_only=True)
class ForeignWordsOptions(CommonOptions):
    role: str = param(OneOf(*ROLES), "whose speech is searched", "agent")
    words: tuple[str, ...] = param(
        Words(), "Latin-script words, matched case-insensitively as whole words; "
                 "'bye bye' also matches byebye and bye-bye")
    transliterations: tuple[str, ...] = param(
        Phrases(allow_empty=True), "the same words as the ASR may write them in Chinese characters (拜拜)", ())


class ForeignWordsCheck(Check):
    """The role uses none of the listed foreign (Latin-script) words, nor their transliterations.
    Other Latin text (product names such as QQ, numbers) is not judged. Every occurrence is
    evidence."""

    kind = "foreign_words"
    Options = ForeignWordsOptions

    @cached_property
    def _pattern(self) -> re.Pattern:
        alternatives = sorted(("[\\s-]*".join(map(re.escape, w.split())) for w in self.options.words),
                              key=len, reverse=True)
        return re.compile(r"(?<![A-Za-z])(?:" + "|".join(alternatives) + r")(?![A-Za-z])", re.IGNORECASE)

    def evaluate(self, ctx: CallView) -> Finding:
        opts = self.options
        turns = ctx.turns(opts.role)
        if not turns:
            return self.na(f"no {opts.role} speech in the recording")
        evidence: list[tuple[float, Evidence]] = []
        said = []
        for turn in turns:
            for m in self._pattern.finditer(half_width(turn.text)):
                start, end = span_times(turn, m.start(), m.end())
                evidence.append((start, Evidence(start, end, turn.role, quote(turn.text, m.start(), m.end(), ctx.marks))))
                said.append(m.group())
        for hit in self.find(ctx, turns, opts.transliterations):
            evidence.append((hit.turn.start, hit.evidence()))
            said.append(hit.match.text)
        if not evidence:
            return self.passed(f"no foreign word in {len(turns)} {opts.role} turn(s)")
        evidence.sort(key=lambda pair: pair[0])
        return self.failed(f"{len(said)} foreign word(s): {listing(dict.fromkeys(said), limit=6)}",
                           [e for _, e in evidence])

