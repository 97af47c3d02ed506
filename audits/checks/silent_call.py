"""Kind ``silent_call``: the protocol for a call where the customer says nothing."""

from __future__ import annotations

from dataclasses import dataclass

from audits.call_view import CallView, turn_evidence
from audits.checks.base import Check, CommonOptions, listing
from audits.cues import SILENT_CALL
from audits.findings import Evidence, Finding
from audits.params import Integer, Number, PhraseGroups, Phrases, param


@dataclass(frozen=True, kw_only=True)
class SilentCallOptions(CommonOptions):
    greeting: tuple[str, ...] = param(Phrases(), "a greeting turn says any of these (您好！请问有什么可以帮助您？)")
    greetings: int = param(Integer(1), "how many greetings, each followed by a pause, before the closing")
    closing: tuple[tuple[str, ...], ...] = param(
        PhraseGroups(), "the closing (对不起，您的电话没有声音…再见): all groups, each any of its phrases")
    pause_seconds: float = param(Number(above=0), "the pause after each greeting")
    final_wait_seconds: float = param(Number(minimum=0), "the wait after the closing before hanging up")
    tolerance_seconds: float = param(Number(minimum=0), "how far a measured pause may be off")
    forbidden: tuple[str, ...] = param(Phrases(allow_empty=True),
                                       "phrases that must not be said ('I'll hang up if you don't talk')", ())


class SilentCallCheck(Check):
    """When the customer says nothing the agent greets, pauses, greets again (``greetings``
    times in all, each followed by a pause of ``pause_seconds`` ± tolerance), then says the
    closing and waits ``final_wait_seconds`` ± tolerance before the recording ends — and never
    says a forbidden phrase.

    ``na`` when the customer spoke, or when nobody spoke.
    """

    kind = "silent_call"
    Options = SilentCallOptions
    provides = (SILENT_CALL,)

    def cue_phrases(self, cue: str) -> tuple[tuple[str, ...], ...]:
        return (self.options.greeting, *self.options.closing)

    def evaluate(self, ctx: CallView) -> Finding:
        opts = self.options
        if not ctx.customer_silent:
            m = ctx.measurements
            heard = f"{m.talk_time.get('customer', 0.0):.1f} s of speech heard"
            if m.customer_sound is not None:
                heard += f", {m.customer_sound:.1f} s of sound of its own on the customer's leg"
            return self.na(f"the customer spoke ({heard}): the silent-call protocol does not apply")
        turns = ctx.turns("agent")
        if not turns:
            return self.na("nobody spoke in the recording")
        problems: list[str] = []
        evidence: list[Evidence] = []
        bad = self.find_forbidden(ctx, turns, opts.forbidden)
        if bad:
            problems.append(f"said {listing(dict.fromkeys(h.match.text for h in bad))}")
            evidence += [h.evidence() for h in bad]
        closing_hits, missing = self.find_groups(ctx, turns, opts.closing)
        closing = None
        if missing:
            problems.append(f"no closing ({'; '.join(listing(g) for g in missing)})")
            evidence += [turn_evidence(t) for t in turns]
        else:
            closing = (min(h.turn.start for h in closing_hits), max(h.turn.end for h in closing_hits))
        before_closing = [t for t in turns if closing is None or t.start < closing[0]]
        greeted = [t for t in before_closing if self.find(ctx, [t], opts.greeting)]
        if len(greeted) < opts.greetings:
            problems.append(f"greeted {len(greeted)} time(s) before the closing, expected {opts.greetings}")
            if not missing:  # else the turns are quoted already
                evidence += [turn_evidence(t) for t in turns]
        else:
            steps = [(t.end, "greeting") for t in greeted[-opts.greetings:]]
            starts = [t.start for t in greeted[-opts.greetings:][1:]] + ([closing[0]] if closing else [])
            for (after, what), next_start in zip(steps, starts):
                self._pause(after, next_start, opts.pause_seconds, f"pause after the {what}", problems, evidence)
        if closing is not None:
            self._pause(closing[1], ctx.duration, opts.final_wait_seconds, "wait after the closing before hanging up",
                        problems, evidence)
        if problems:
            return self.failed("silent call: " + "; ".join(problems), evidence)
        return self.passed(f"silent call handled: {len(greeted)} greeting(s) with pauses, closing, wait",
                           [turn_evidence(t) for t in greeted] + [h.evidence() for h in closing_hits])

    def _pause(self, start: float, end: float, expected: float, what: str, problems: list, evidence: list) -> None:
        tolerance = self.options.tolerance_seconds
        seconds = end - start
        if abs(seconds - expected) > tolerance:
            problems.append(f"{what} was {seconds:.1f} s, expected {expected:g} ± {tolerance:g} s")
            evidence.append(Evidence(start, end, "agent", f"{what}: {seconds:.1f} s from {start:.1f} s to {end:.1f} s"))
