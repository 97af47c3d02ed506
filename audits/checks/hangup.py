"""Kind ``hangup``: the agent lets the customer hang up first."""

from __future__ import annotations

from dataclasses import dataclass

from audits.call_view import CallView, quote
from audits.checks.base import Check, CommonOptions
from audits.findings import Evidence, Finding
from audits.params import Number, param


@dataclass(frozen=True, kw_only=True)
class HangupOptions(CommonOptions):
    cut_off_seconds: float = param(
        Number(minimum=0),
        "without metadata: the customer counts as still speaking when their speech reaches this close to the end")


class HangupCheck(Check):
    """The agent does not hang up on the customer. Judged from call metadata ``hangup_by``
    when present; otherwise from the audio: fail when the customer is still speaking at the
    end of the recording. ``na`` with the reason when neither tells.
    """

    kind = "hangup"
    Options = HangupOptions

    def evaluate(self, ctx: CallView) -> Finding:
        by, source = ctx.hangup_by()
        if by == "agent":
            return self.failed(f"the agent hung up first ({source})",
                               [Evidence(ctx.duration, ctx.duration, "call", f"{source}: hangup_by = agent")])
        if by == "customer":
            return self.passed(f"the customer hung up first ({source})")
        speech = ctx.transcript.speech("customer")
        last_end = max((end for _, end in speech), default=None)
        if last_end is not None and last_end >= ctx.duration - self.options.cut_off_seconds:
            last = [t for t in ctx.turns("customer") if t.end >= ctx.duration - self.options.cut_off_seconds]
            words = f": “{quote(last[-1].text)}”" if last else ""
            start = last[-1].start if last else last_end
            return self.failed(
                "the recording ended while the customer was still speaking (no hangup_by in the call metadata)",
                [Evidence(start, ctx.duration, "customer",
                          f"the customer was still speaking when the recording ended at {ctx.duration:.1f} s{words}")])
        return self.na("who hung up is unknown: no hangup_by in the call metadata, "
                       "and the customer was not speaking when the recording ended")
