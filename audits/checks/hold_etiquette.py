"""Kind ``hold_etiquette``: permission before a hold, thanks after it."""

from __future__ import annotations

from dataclasses import dataclass

from audits.call_view import CallView, turn_evidence
from audits.checks.base import Check, CommonOptions, listing
from audits.cues import HOLD_ANNOUNCEMENT, HOLD_THANKS
from audits.findings import Evidence, Finding
from audits.params import Integer, Number, Optional, Phrases, param


@dataclass(frozen=True, kw_only=True)
class HoldEtiquetteOptions(CommonOptions):
    announce: tuple[str, ...] = param(
        Phrases(), "phrases announcing a wait (稍等 / 'one moment'): with ask, the pipeline detects holds with them")
    ask: tuple[str, ...] = param(Phrases(), "asking permission before the hold (请您稍等片刻，好吗？ / 'May I put you on hold?')")
    thank: tuple[str, ...] = param(Phrases(), "thanks or apology after the hold (感谢您的耐心等待 / 'Thank you for waiting')")
    before_seconds: float | None = param(Optional(Number(above=0)), "look for the request this far before the hold", None)
    before_turns: int | None = param(Optional(Integer(1)), "… in at most this many agent turns before it", None)
    after_seconds: float | None = param(Optional(Number(above=0)), "look for the thanks this far after the hold", None)
    after_turns: int | None = param(Optional(Integer(1)), "… in at most this many agent turns after it", None)


class HoldEtiquetteCheck(Check):
    """Around every hold (measured: an announced pause or a hold-length silence) the agent asks
    permission before it and thanks or apologises after it. Each hold lacking either is
    evidence. ``na`` when the call has no hold.
    """

    kind = "hold_etiquette"
    Options = HoldEtiquetteOptions
    provides = (HOLD_ANNOUNCEMENT, HOLD_THANKS)

    def cue_phrases(self, cue: str) -> tuple[tuple[str, ...], ...]:
        if cue == HOLD_THANKS:
            return (self.options.thank,)
        return (self.options.announce + self.options.ask,)  # one group: any of them announces a hold

    def evaluate(self, ctx: CallView) -> Finding:
        opts = self.options
        holds = ctx.measurements.holds
        if not holds:
            return self.na("no hold in this call")
        problems, evidence, good = [], [], []
        for hold in holds:
            before = ctx.turns_before("agent", hold.start, opts.before_seconds, opts.before_turns)
            after = ctx.turns_after("agent", hold.end, opts.after_seconds, opts.after_turns)
            asked = self.find_groups(ctx, before, [opts.ask])[0]
            thanked = self.find_groups(ctx, after, [opts.thank])[0]
            span = Evidence(hold.start, hold.end, "call",
                            f"hold of {hold.seconds:.1f} s from {hold.start:.1f} s to {hold.end:.1f} s")
            if asked and thanked:
                good += [asked[0].evidence(), span, thanked[0].evidence()]
                continue
            lacking = []
            evidence.append(span)
            if not asked:
                lacking.append(f"permission before it (such as {listing(opts.ask, 2)})")
                evidence += [turn_evidence(t) for t in before[-1:]]
            if not thanked:
                lacking.append(f"thanks after it (such as {listing(opts.thank, 2)})")
                evidence += [turn_evidence(t) for t in after[:1]]
            problems.append(f"the hold at {hold.start:.1f} s lacks " + " and ".join(lacking))
        if problems:
            return self.failed("; ".join(problems), evidence)
        return self.passed(f"{len(holds)} hold(s), each with permission before and thanks after", good)
