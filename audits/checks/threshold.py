"""Kind ``threshold``: a per-call measurement against a limit (answer delay, dead air,
interruptions, speech rate)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from audits.call_view import CallView, quote
from audits.calldata.measurements import Interval
from audits.calldata.transcript import ROLES
from audits.checks.base import Check, CommonOptions
from audits.findings import Evidence, Figure, Finding
from audits.params import Integer, Number, OneOf, SubsetOf, param

HOLD_SOURCES = ("announcement", "silence")  # audits.calldata.measurements.Hold.detected_by
_UNITS = {"cpm": "characters per minute", "wpm": "words per minute"}


@dataclass(frozen=True)
class Reading:
    """One measured figure, with the evidence that states it."""

    value: float
    evidence: Evidence


@dataclass(frozen=True, kw_only=True)
class ThresholdOptions(CommonOptions):
    measure: str = param(OneOf("answer_delay", "silence", "interruption", "speech_rate"),
                         "which measurement is judged (see the kind's description)")
    limit: float = param(Number(minimum=0), "the limit, in the measure's unit (seconds; characters or words per minute)")
    fail_when: str = param(OneOf("above", "at_least"),
                           "a reading fails when it is above the limit, or at least the limit")
    role: str = param(OneOf(*ROLES), "interruption: who interrupts; speech_rate: whose rate", "agent")
    max_count: int = param(Integer(0), "how many failing readings are tolerated", 0)
    excused_holds: tuple[str, ...] = param(
        SubsetOf(*HOLD_SOURCES),
        "silence: holds detected this way do not count as silence (announcement = an announced hold)", ())


def _answer_delay(ctx: CallView, opts: ThresholdOptions) -> list[Reading] | str:
    delay = ctx.measurements.answer_delay
    if delay is None:
        return "the agent never spoke, so there is no answer delay"
    start = ctx.answer_at
    return [Reading(delay, Evidence(start, start + delay, "agent",
                                    f"the agent first spoke {delay:.1f} s after the call was answered at {start:.1f} s"))]


def _silence(ctx: CallView, opts: ThresholdOptions) -> list[Reading] | str:
    excused = [h for h in ctx.measurements.holds if h.detected_by in opts.excused_holds]
    readings = []
    for silence in ctx.measurements.silences:
        for piece in _subtract(silence, excused):
            readings.append(Reading(piece.seconds, Evidence(
                piece.start, piece.end, "call",
                f"silence of {piece.seconds:.1f} s from {piece.start:.1f} s to {piece.end:.1f} s")))
    return readings


def _interruption(ctx: CallView, opts: ThresholdOptions) -> list[Reading] | str:
    readings = []
    for event in ctx.measurements.interruptions:
        if event.by != opts.role:
            continue
        # The interrupter's words: their turn overlapping the interruption.
        words = ctx.timeline(opts.role).overlapping(event.start, event.end, first=1)
        said = f": “{quote(words[0].text)}”" if words else ""
        # mono: where the overlap model, not the diarization, heard the second voice
        heard = [(max(start, event.start), min(end, event.end)) for start, end in ctx.transcript.two_voices
                 if start < event.end and event.start < end]
        both = "".join(f"; both voices from {start:.1f} s to {end:.1f} s heard by the overlap model, "
                       f"one by the diarization" for start, end in heard)
        readings.append(Reading(event.seconds, Evidence(
            event.start, event.end, opts.role,
            f"the {opts.role} talked over the {event.over} for {event.seconds:.1f} s "
            f"from {event.start:.1f} s to {event.end:.1f} s{said}{both}")))
    return readings


def _speech_rate(ctx: CallView, opts: ThresholdOptions) -> list[Reading] | str:
    rate = ctx.measurements.speech_rate.get(opts.role)
    turns = ctx.turns(opts.role)
    if rate is None or not turns:
        return f"no {opts.role} speech to measure a speech rate on"
    unit = _UNITS.get(ctx.measurements.speech_rate_unit, ctx.measurements.speech_rate_unit)
    talk = ctx.measurements.talk_time.get(opts.role)
    over = f" over {talk:.0f} s of speech" if talk else ""
    return [Reading(rate, Evidence(turns[0].start, turns[-1].end, opts.role,
                                   f"{opts.role} speech rate {rate:.0f} {unit}{over}"))]


MEASURES: dict[str, Callable[[CallView, ThresholdOptions], list[Reading] | str]] = {
    "answer_delay": _answer_delay,
    "silence": _silence,
    "interruption": _interruption,
    "speech_rate": _speech_rate,
}
_NOUNS = {"answer_delay": "answer delay", "silence": "silence", "interruption": "interruption",
          "speech_rate": "speech rate"}


class ThresholdCheck(Check):
    """A measurement stays within a limit. Measures: ``answer_delay`` (answer → first agent
    speech, seconds), ``silence`` (each mutual silence, seconds, minus the holds named in
    ``excused_holds``), ``interruption`` (each overlap started by ``role`` over the other,
    seconds), ``speech_rate`` (``role``'s characters or words per minute of own speech).

    Fails when more than ``max_count`` readings are above (or at least) the limit; every such
    reading is evidence. ``na`` when there is nothing to measure (the agent never spoke). The
    finding's ``figure`` is how many readings were over the limit and their sum: what the reports
    show as dead air and interruptions.
    """

    kind = "threshold"
    Options = ThresholdOptions

    def floors(self) -> dict[str, float]:
        opts = self.options
        if opts.measure == "silence":  # listed when longer than the floor: "at least" needs a hair less
            return {"silence": opts.limit - 0.001 if opts.fail_when == "at_least" else opts.limit}
        if opts.measure == "interruption":  # listed when at least the floor long
            return {"interruption": opts.limit}
        return {}

    def evaluate(self, ctx: CallView) -> Finding:
        opts = self.options
        readings = MEASURES[opts.measure](ctx, opts)
        if isinstance(readings, str):
            return self.na(readings)
        noun = _NOUNS[opts.measure]
        unit = "" if opts.measure == "speech_rate" else " s"
        rule = f"{'above' if opts.fail_when == 'above' else 'at least'} {opts.limit:g}{unit}"
        bad = [r for r in readings if r.value > opts.limit or (opts.fail_when == "at_least" and r.value == opts.limit)]
        figure = Figure(len(bad), sum(r.value for r in bad), unit.strip() or ctx.measurements.speech_rate_unit)
        if len(bad) > opts.max_count:
            total = f", {sum(r.value for r in bad):.1f} s in total" if unit and len(bad) > 1 else ""
            tolerated = f" (tolerated: {opts.max_count})" if opts.max_count else ""
            return self.failed(f"{len(bad)} × {noun} {rule}{total}{tolerated}", [r.evidence for r in bad], figure)
        if bad:
            return self.passed(f"{len(bad)} × {noun} {rule}, within the {opts.max_count} tolerated",
                               [r.evidence for r in bad], figure)
        if not readings:
            return self.passed(f"no {noun} {rule}", figure=figure)
        values = ", ".join(f"{r.value:.1f}{unit}" if unit else f"{r.value:.0f}" for r in readings)
        return self.passed(f"{noun} {values}: none {rule}", [r.evidence for r in readings], figure)


def _subtract(interval: Interval, holes) -> list[Interval]:
    """The parts of ``interval`` outside every hole."""
    pieces = [interval]
    for hole in holes:
        next_pieces = []
        for p in pieces:
            if hole.end <= p.start or hole.start >= p.end:
                next_pieces.append(p)
                continue
            if hole.start > p.start:
                next_pieces.append(Interval(p.start, hole.start))
            if hole.end < p.end:
                next_pieces.append(Interval(hole.end, p.end))
        pieces = next_pieces
    return pieces
