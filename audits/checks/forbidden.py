"""Kind ``forbidden``: 服务禁语 — phrases the agent must never say."""

from __future__ import annotations

from dataclasses import dataclass

from audits.call_view import CallView, Hit
from audits.calldata.transcript import ROLES
from audits.checks.base import Check, CommonOptions, listing
from audits.findings import Finding
from audits.params import OneOf, Phrases, param


@dataclass(frozen=True, kw_only=True)
class ForbiddenOptions(CommonOptions):
    role: str = param(OneOf(*ROLES), "whose speech is searched", "agent")
    phrases: tuple[str, ...] = param(Phrases(), "phrases that must not be said anywhere in a turn")
    utterances: tuple[str, ...] = param(
        Phrases(allow_empty=True),
        "words that are forbidden only as a whole turn (喂？ / 什么？ / 'What?'): too common to ban inside a sentence",
        ())
    allowed: tuple[str, ...] = param(
        Phrases(allow_empty=True),
        "prescribed phrases that contain a forbidden one (请您大声一点 contains 大声一点): "
        "a forbidden hit overlapping one of these is not counted", ())


class ForbiddenCheck(Check):
    """The role never says a forbidden phrase, nor a forbidden utterance as a whole turn. Every
    occurrence is evidence."""

    kind = "forbidden"
    Options = ForbiddenOptions

    def evaluate(self, ctx: CallView) -> Finding:
        opts = self.options
        turns = ctx.turns(opts.role)
        if not turns:
            return self.na(f"no {opts.role} speech in the recording")
        hits = [h for h in self.find_forbidden(ctx, turns, opts.phrases) if not self._excused(ctx, h)]
        hits += self._whole_turn_utterances(ctx, turns)
        if not hits:
            return self.passed(f"no forbidden phrase in {len(turns)} {opts.role} turn(s)")
        hits.sort(key=lambda h: (h.turn.start, h.match.start))
        said = listing(dict.fromkeys(h.match.phrase for h in hits), limit=6)
        return self.failed(f"{len(hits)} forbidden phrase(s): {said}", [h.evidence() for h in hits])

    def _excused(self, ctx: CallView, hit: Hit) -> bool:
        if not self.options.allowed:
            return False
        allowed = ctx.matcher(self.options.allowed, self.options.match_threshold).find(hit.turn.text)
        return any(a.start < hit.match.end and hit.match.start < a.end for a in allowed)

    def _whole_turn_utterances(self, ctx: CallView, turns) -> list[Hit]:
        hits = []
        for turn in turns:
            turn_hits = self.find_forbidden(ctx, [turn], self.options.utterances)
            if turn_hits and ctx.matchers.only_fillers(_blank_out(turn.text, [h.match for h in turn_hits])):
                hits += turn_hits
        return hits


def _blank_out(text: str, matches) -> str:
    """``text`` with the matched characters replaced by spaces."""
    chars = list(text)
    for m in matches:
        chars[m.start:m.end] = " " * (m.end - m.start)
    return "".join(chars)
