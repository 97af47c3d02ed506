"""Kind ``phrases``: required wording in a window (greeting, closing questions, farewell)."""

from __future__ import annotations

from dataclasses import dataclass

from audits.call_view import CallView
from audits.checks.base import Check, WindowOptions, listing
from audits.cues import CLOSING_QUESTION, GREETING
from audits.findings import Finding
from audits.params import PhraseGroups, Phrases, param


@dataclass(frozen=True, kw_only=True)
class PhrasesOptions(WindowOptions):
    groups: tuple[tuple[str, ...], ...] = param(
        PhraseGroups(), "all of these groups must be said in the window; each group is satisfied by any of its phrases")
    forbidden: tuple[str, ...] = param(
        Phrases(allow_empty=True), "phrases that must not be said in the window (opening with 喂 / 'Hey')", ())


class PhrasesCheck(Check):
    """The role says all of several phrase groups (each: any one of its phrases) within a window
    counted from the answer or back from the end, and none of the window's forbidden phrases.

    ``na`` when the role never speaks in the recording: there is no wording to judge.
    """

    kind = "phrases"
    Options = PhrasesOptions
    provides = (GREETING, CLOSING_QUESTION)

    def cue_phrases(self, cue: str) -> tuple[tuple[str, ...], ...]:
        return self.options.groups

    def evaluate(self, ctx: CallView) -> Finding:
        opts = self.options
        if not ctx.turns(opts.role):
            return self.na(f"no {opts.role} speech in the recording")
        window = opts.window
        turns = ctx.window(opts.role, window)
        where = window.describe(opts.role)
        bad = self.find_forbidden(ctx, turns, opts.forbidden)
        found, missing = self.find_groups(ctx, turns, opts.groups)
        problems, evidence = [], []
        if bad:
            problems.append(f"say {listing(dict.fromkeys(h.match.text for h in bad))}, which must not be said there")
            evidence += [h.evidence() for h in bad]
        if missing:
            problems.append("lack " + "; ".join(listing(group) for group in missing))
            evidence += ctx.window_evidence(opts.role, window, turns)
        if problems:
            return self.failed(f"{where} " + " and ".join(problems), evidence)
        return self.passed(f"{where} say {listing(h.match.text for h in found)}", [h.evidence() for h in found])
