"""Kind ``rule``: an item built from operators (phrases, regex, numbers, silence, overlap, speech
rate; narrowed by role and position; combined with all / any / not), as 智能质检 rules are."""

from __future__ import annotations

from dataclasses import dataclass

from audits.call_view import CallView, turn_evidence
from audits.calldata.transcript import ROLES
from audits.checks.base import Check, CommonOptions
from audits.findings import Evidence, Finding
from audits.params import Integer, Number, OneOf, Optional, OptionError, param
from audits.rules import Condition, ConditionType, RuleGaveUp, Scope, describe, evaluate, operators_in, whole_call


@dataclass(frozen=True, kw_only=True)
class RuleOptions(CommonOptions):
    pass_if: Condition | None = param(ConditionType(optional=True), "the item passes when this is found in the call",
                                      None)
    fail_if: Condition | None = param(ConditionType(optional=True), "the item fails when this is found in the call",
                                      None)
    trigger: Condition | None = param(
        ConditionType(positions=False, optional=True),
        "each thing found by this (a turn's words, a silence, an overlap) needs a response", None)
    response: Condition | None = param(
        ConditionType(positions=False, optional=True),
        "what must follow each trigger, in response_role's turns within within_turns / within_seconds", None)
    response_role: str = param(OneOf(*ROLES), "whose turns the response is looked for in", "agent")
    within_turns: int | None = param(Optional(Integer(1)), "in at most this many response_role turns at talk from "
                                     "the trigger, as context counts them (its own turn counts when it is theirs)",
                                     None)
    within_seconds: float | None = param(Optional(Number(above=0)), "within this many seconds after the trigger",
                                         None)
    judge: str = param(OneOf("each", "first", "last"), "which triggers are judged", "each")
    applies_if: Condition | None = param(ConditionType(optional=True),
                                         "the item is na for a call where this is not found", None)

    def __post_init__(self):
        modes = [name for name in ("pass_if", "fail_if", "trigger") if getattr(self, name) is not None]
        if len(modes) != 1:
            raise OptionError(modes[1] if len(modes) > 1 else "pass_if",
                              "give exactly one of pass_if, fail_if, or trigger with response"
                              + (f" (got {', '.join(modes)})" if modes else ""))
        if (self.trigger is None) != (self.response is None):
            raise OptionError("response", "give trigger and response together")
        if self.trigger is None and (self.within_turns is not None or self.within_seconds is not None):
            raise OptionError("within_turns" if self.within_turns is not None else "within_seconds",
                              "within_turns / within_seconds belong to a trigger → response rule")


class RuleCheck(Check):
    """A rule composed from operators; exactly one of:

    - ``pass_if``: passes when the condition is found (evidence: what was found), fails otherwise;
    - ``fail_if``: fails when the condition is found (evidence: what was found), passes otherwise;
    - ``trigger`` → ``response``: every trigger found (a customer's words, a number said, a long
      silence) must be followed by the response in ``response_role``'s turns within
      ``within_turns`` / ``within_seconds``; ``na`` without a trigger.

    ``applies_if``: the item is ``na`` on a call where that condition is not found. A condition is
    an operator with optional ``role`` and ``position``, or ``all`` / ``any`` / ``not`` of
    conditions (operators below). A regex that runs past its time limit on a call makes the item
    ``na`` for that call, with the reason.
    """

    kind = "rule"
    Options = RuleOptions

    def floors(self) -> dict[str, float]:
        """The silence and overlap operators' limits: the measurements must list what they judge."""
        found: dict[str, float] = {}
        for name in ("pass_if", "fail_if", "trigger", "response", "applies_if"):
            for op in operators_in(getattr(self.options, name)):
                if op.name == "silence":
                    found["silence"] = min(found.get("silence", op.longer_than), op.longer_than)
                elif op.name == "overlap":
                    found["interruption"] = min(found.get("interruption", op.at_least), op.at_least)
        return found

    def evaluate(self, ctx: CallView) -> Finding:
        try:
            return self._judge(ctx)
        except RuleGaveUp as exc:
            return self.na(f"not judged: {exc}")

    def _judge(self, ctx: CallView) -> Finding:
        opts = self.options
        call = whole_call(ctx)
        if opts.applies_if is not None and not evaluate(opts.applies_if, ctx, call)[0]:
            return self.na(f"does not apply: not found: {describe(opts.applies_if)}")
        if opts.trigger is not None:
            return self._trigger_response(ctx, call)
        condition = opts.pass_if if opts.pass_if is not None else opts.fail_if
        held, evidence = evaluate(condition, ctx, call)
        said = describe(condition)
        if opts.pass_if is not None:
            if held:
                return self.passed(f"found: {said}", evidence)
            return self.failed(f"not found: {said}", evidence or [_searched(ctx, call)])
        if held:
            return self.failed(f"found: {said}", evidence or [_searched(ctx, call)])
        return self.passed(f"not found: {said}")

    def _trigger_response(self, ctx: CallView, call: Scope) -> Finding:
        opts = self.options
        _, triggers = evaluate(opts.trigger, ctx, call)
        triggers = sorted({(e.start, e.end, e.role, e.text): e for e in triggers}.values(), key=lambda e: e.start)
        if not triggers:
            return self.na(f"no trigger: {describe(opts.trigger)} not found")
        judged = {"each": triggers, "first": triggers[:1], "last": triggers[-1:]}[opts.judge]
        failures, passes, unanswerable = [], [], 0
        timeline = ctx.timeline(opts.response_role)
        for trigger in judged:
            latest = float("inf") if opts.within_seconds is None else trigger.end + opts.within_seconds
            # the responder's turns from the trigger on: one still going at the trigger (the
            # trigger's own turn, when it is theirs) counts as the first
            window = timeline.overlapping(trigger.start, latest, closed=True, reaching=True, first=opts.within_turns)
            if not window:
                unanswerable += 1
                continue
            held, found = evaluate(opts.response, ctx, Scope(tuple(window), ((trigger.start, window[-1].end),)))
            if held:
                passes.append([trigger, *found])
            else:
                failures.append([trigger, *(turn_evidence(t) for t in window)])
        if failures:
            return self.failed(f"{len(failures)} of {len(judged)} trigger(s) with no {opts.response_role} response: "
                               f"{describe(opts.response)}", [e for f in failures for e in f])
        if passes:
            return self.passed(f"{len(passes)} trigger(s) answered: {describe(opts.response)}",
                               [e for p in passes for e in p])
        return self.na(f"the {opts.response_role} did not speak after the trigger at {judged[0].start:.1f} s, "
                       f"so no response could be given")


def _searched(ctx: CallView, scope: Scope) -> Evidence:
    """Evidence of a search that found nothing (or found only an absence): the stretch searched."""
    start, end = scope.spans[0][0], scope.spans[-1][1]
    return Evidence(start, end, "call", f"(searched from {start:.1f} s to {end:.1f} s)")
