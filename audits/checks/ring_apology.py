"""Kind ``ring_apology``: after a long ring, the opening apologises for the wait."""

from __future__ import annotations

from dataclasses import dataclass

from audits.call_view import CallView
from audits.checks.base import Check, WindowOptions, listing
from audits.findings import Evidence, Finding
from audits.params import Integer, Number, PhraseGroups, param


@dataclass(frozen=True, kw_only=True)
class RingApologyOptions(WindowOptions):
    max_rings: int = param(Integer(0), "rings allowed without an apology (it must come when the phone rang more)")
    seconds_per_ring: float = param(Number(above=0), "length of one ring cycle in seconds")
    groups: tuple[tuple[str, ...], ...] = param(
        PhraseGroups(), "the apology: all of these groups, each satisfied by any of its phrases, in the window")


class RingApologyCheck(Check):
    """When the phone rang more than ``max_rings`` rings (ring time > max_rings ×
    seconds_per_ring, from call metadata, else from the ring-back tone in the recording) the
    role apologises for the wait within the opening window.

    ``na`` when it rang no longer than that, and ``na`` with the reason when the ring time is
    unknown.
    """

    kind = "ring_apology"
    Options = RingApologyOptions

    def evaluate(self, ctx: CallView) -> Finding:
        opts = self.options
        seconds, source = ctx.ring()
        if seconds is None:
            return self.na("the ring time is unknown: no call metadata and no ring-back tone detected")
        allowed = opts.max_rings * opts.seconds_per_ring
        rings = f"{seconds:.1f} s (about {seconds / opts.seconds_per_ring:.1f} rings of {opts.seconds_per_ring:g} s, {source})"
        if seconds <= allowed:
            return self.na(f"the phone rang {rings}, not more than {opts.max_rings} rings")
        ring = Evidence(max(0.0, ctx.answer_at - seconds), ctx.answer_at, "call", f"the phone rang {rings}")
        turns = ctx.window(opts.role, opts.window)
        found, missing = self.find_groups(ctx, turns, opts.groups)
        where = opts.window.describe(opts.role)
        if missing:
            lacking = "; ".join(listing(group) for group in missing)
            return self.failed(f"the phone rang {rings}, but {where} lack an apology: {lacking}",
                               [ring, *ctx.window_evidence(opts.role, opts.window, turns)])
        return self.passed(f"the phone rang {rings}; {where} apologise", [ring, *(h.evidence() for h in found)])
