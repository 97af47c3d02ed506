"""Kind ``context``: a trigger by one role must be answered by a response from a role."""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass

from audits.call_view import TURN_PAUSE_SECONDS, CallView, Hit, RoleTimeline, least_sure, turn_evidence
from audits.calldata.transcript import ROLES, Turn
from audits.checks.base import Check, CommonOptions, listing
from audits.findings import Evidence, Finding
from audits.params import Integer, Integers, Number, OneOf, Optional, OptionError, PhraseGroups, Phrases, param


@dataclass(frozen=True, kw_only=True)
class ContextOptions(CommonOptions):
    trigger_role: str = param(OneOf(*ROLES), "who says or does the trigger")
    trigger_phrases: tuple[str, ...] = param(Phrases(allow_empty=True), "a turn of trigger_role saying any of these", ())
    trigger_min_word_probability: float = param(
        Number(minimum=0, maximum=1),
        "a trigger phrase counts only when the ASR read each of its words at least this likely (Whisper's word "
        "probability; on the dev calls a 'Thank you.' read from noise or garbled speech started at 0.01-0.03, "
        "one really said at 0.78-0.99)", 0.1)
    trigger_monologue_seconds: float | None = param(
        Optional(Number(above=0)), "or: trigger_role speaking this long without the other role taking a turn", None)
    backchannel_seconds: float = param(
        Number(minimum=0), "monologue: the other role's turns shorter than this (嗯, 'uh-huh') do not end it", 0.0)
    pause_ends_seconds: float = param(
        Number(above=0), "monologue: a pause of trigger_role this long, or a hold, ends it (only trigger_role's own "
                         "speech time counts toward trigger_monologue_seconds)", 5.0)
    response_role: str = param(OneOf(*ROLES), "who must respond")
    response: tuple[tuple[str, ...], ...] = param(
        PhraseGroups(), "the response: all of these groups, each satisfied by any of its phrases")
    direction: str = param(OneOf("after", "before"), "the response follows the trigger, or must precede it", "after")
    within_turns: int | None = param(
        Optional(Integer(1)),
        f"in at most this many response_role turns at talk (sentences with pauses under {TURN_PAUSE_SECONDS:g} s and "
        "nobody else speaking between are one turn; the trigger turn counts when it is theirs)", None)
    within_seconds: float | None = param(Optional(Number(above=0)), "within this many seconds of the trigger turn",
                                         None)
    judge: str = param(OneOf("each", "first", "last"), "which triggers are judged", "each")
    request_phrases: tuple[str, ...] = param(
        Phrases(allow_empty=True),
        "the other role asking for what triggers (转接一下 / 'put me through'), before the trigger and within "
        "within_seconds: the response groups in request_waives are then not needed", ())
    request_waives: tuple[int, ...] = param(Integers(1), "numbers (from 1) of the response groups a request waives", ())

    def __post_init__(self):
        if bool(self.trigger_phrases) == (self.trigger_monologue_seconds is not None):
            raise OptionError("trigger_phrases", "give either trigger_phrases or trigger_monologue_seconds (one of them)")
        if bool(self.request_phrases) != bool(self.request_waives):
            raise OptionError("request_waives", "give request_phrases and request_waives together")
        if any(n > len(self.response) for n in self.request_waives):
            raise OptionError("request_waives", f"there are only {len(self.response)} response groups")


EPSILON = 1e-6  # decimal seconds


def _spoken(turns: list[Turn]) -> float:
    """Seconds of speech in the turns (of one speaker: they do not overlap)."""
    return sum(turn.end - turn.start for turn in turns)


@dataclass(frozen=True)
class Trigger:
    turn: Turn  # the (last) turn of the trigger; the response window is counted from it
    evidence: Evidence
    said: str
    # A monologue's turns after ``turn`` up to its end: the explanation goes on past the threshold,
    # and they count as the trigger turn does; the window is then counted from the last of them.
    rest: tuple[Turn, ...] = ()


class ContextCheck(Check):
    """When ``trigger_role`` says a trigger phrase (or speaks a monologue of at least
    ``trigger_monologue_seconds``), ``response_role`` says the response within ``within_turns``
    of their turns / ``within_seconds`` after it — or, with ``direction: before``, before it
    (consent before a transfer). Thanks → "you're welcome", complaint → apology, transfer →
    consent, long explanation → "is that clear?". A monologue goes on past the threshold (a slow
    speaker's sentences are turns of their own): its turns from the one that reached it to its end
    count as the trigger turn, and the response may be among them. When the other role asked for it first
    (``request_phrases``: the customer asked to be transferred), the response groups listed in
    ``request_waives`` are not needed (no consent to ask for what the customer requested).

    ``na`` without a trigger, and for a trigger after which the responder never spoke again.
    """

    kind = "context"
    Options = ContextOptions

    def evaluate(self, ctx: CallView) -> Finding:
        opts = self.options
        triggers, unsure = self._triggers(ctx)
        if not triggers:
            return self.na(f"no trigger: {self._trigger_description()}{unsure}")
        judged = {"each": triggers, "first": triggers[:1], "last": triggers[-1:]}[opts.judge]
        failures, passes, unanswerable = [], [], []
        for trigger in judged:
            window = self._window(ctx, trigger)
            if not window and not self._responder_spoke(ctx, trigger.turn):
                unanswerable.append(trigger)
                continue
            request = self._request(ctx, trigger.turn)
            groups = [g for n, g in enumerate(opts.response, 1) if not (request and n in opts.request_waives)]
            found, missing = self.find_groups(ctx, window, groups)
            if missing:
                failures.append((trigger, window, missing))
            else:
                passes.append((trigger, request + found))
        if failures:
            lacking = "; ".join(listing(g) for g in failures[0][2])
            evidence = []
            for trigger, window, _ in failures:
                evidence += [trigger.evidence, *(turn_evidence(t) for t in window if t is not trigger.turn)]
            return self.failed(f"{len(failures)} of {len(judged)} trigger(s) ({listing(t.said for t, _, _ in failures)}) "
                               f"with no {opts.response_role} response {opts.direction} it: {lacking}{unsure}",
                               evidence)
        if passes:
            evidence = [e for trigger, found in passes for e in (trigger.evidence, *(h.evidence() for h in found))]
            return self.passed(f"{len(passes)} trigger(s) answered by the {opts.response_role}{unsure}", evidence)
        return self.na(f"the {opts.response_role} did not speak {opts.direction} the trigger at "
                       f"{unanswerable[0].turn.start:.1f} s, so no response could be given{unsure}")

    def _trigger_description(self) -> str:
        opts = self.options
        if opts.trigger_phrases:
            return f"the {opts.trigger_role} never said {listing(opts.trigger_phrases)}"
        return f"the {opts.trigger_role} never spoke {opts.trigger_monologue_seconds:g} s at a stretch"

    def _triggers(self, ctx: CallView) -> tuple[list[Trigger], str]:
        """The triggers, and a note on trigger phrases not counted because the ASR was unsure of
        them: words it all but guessed must not oblige the responder (doubt never costs them)."""
        opts = self.options
        if not opts.trigger_phrases:
            return [self._monologue_trigger(run) for run in self._monologues(ctx)], ""

        def sure(hit: Hit) -> bool:
            weakest = least_sure(hit)
            return weakest is None or weakest.probability >= opts.trigger_min_word_probability

        triggers, unsure = [], []
        for turn in ctx.turns(opts.trigger_role):
            hits = self.find(ctx, [turn], opts.trigger_phrases)
            if not hits:
                continue
            # else any phrase's hit: "complaint" read surely stands where "I want to make a complaint"
            # begins with a stray, unsure "I" (the other speaker's last word)
            kept = [h for h in hits if sure(h)] or [h for h in self.find(ctx, [turn], opts.trigger_phrases, each=True)
                                                    if sure(h)]
            if kept:
                triggers.append(Trigger(turn, kept[0].evidence(), kept[0].match.text))
            else:
                weakest = least_sure(hits[0])
                unsure.append(f"{hits[0].match.text!r} at {turn.start:.1f} s ({weakest.text.strip()!r} read at "
                              f"probability {weakest.probability:.2f})")
        note = (f"; not counted, the ASR unsure of them (a word under probability "
                f"{opts.trigger_min_word_probability:g}): {'; '.join(unsure)}") if unsure else ""
        return triggers, note

    def _monologues(self, ctx: CallView) -> list[list[Turn]]:
        """Runs of trigger_role turns not broken by a real turn of the other role, a pause of
        pause_ends_seconds or a hold, in which trigger_role's own speech reaches
        trigger_monologue_seconds (a backchannel inside a run is not the speaker's time)."""
        opts = self.options
        holds = sorted((hold.start, hold.end) for hold in ctx.measurements.holds)
        hold_starts = [start for start, _ in holds]
        runs: list[list[Turn]] = []
        run: list[Turn] = []
        for turn in sorted(ctx.transcript.turns, key=lambda t: t.start):
            if turn.role == opts.trigger_role:
                if run and self._breaks(run[-1].end, turn.start, holds, hold_starts):
                    runs.append(run)
                    run = []
                run.append(turn)
            elif turn.role in ROLES and turn.end - turn.start >= opts.backchannel_seconds:
                runs.append(run)
                run = []
        runs.append(run)
        return [r for r in runs if r and _spoken(r) >= opts.trigger_monologue_seconds]

    def _breaks(self, last_end: float, next_start: float, holds: list[tuple[float, float]],
                hold_starts: list[float]) -> bool:
        """A pause of pause_ends_seconds, or a hold between two turns of the speaker."""
        if next_start - last_end >= self.options.pause_ends_seconds:
            return True
        k = bisect.bisect_left(hold_starts, last_end - EPSILON)
        return k < len(holds) and holds[k][1] <= next_start + EPSILON

    def _monologue_trigger(self, run: list[Turn]) -> Trigger:
        """The trigger is the turn at whose end the speaker's own speech in the run first reached
        trigger_monologue_seconds, with the rest of the run: an explanation goes on past the
        threshold (a slow speaker's sentences are turns of their own), and the check-in the agent
        adds at its end, still inside the run, is found; the response counts from the run's end."""
        start = run[0].start
        seconds, at = next((spoken, n) for n, spoken in enumerate(itertools.accumulate(t.end - t.start for t in run))
                           if spoken >= self.options.trigger_monologue_seconds)
        long_at, role = run[at], self.options.trigger_role
        text = f"{role} spoke for {seconds:.1f} s from {start:.1f} s to {long_at.end:.1f} s"
        return Trigger(long_at, Evidence(start, long_at.end, role, text), f"{seconds:.0f} s monologue",
                       tuple(run[at + 1:]))

    def _request(self, ctx: CallView, trigger: Turn) -> list[Hit]:
        """The other role's request for what the trigger does, said before it (within_seconds)."""
        opts = self.options
        if not opts.request_phrases:
            return []
        other = next(role for role in ROLES if role != opts.trigger_role)
        asked = ctx.turns_before(other, trigger.start, opts.within_seconds)
        return self.find(ctx, asked, opts.request_phrases)[:1]

    def _responder_spoke(self, ctx: CallView, trigger: Turn) -> bool:
        """Did response_role speak at all on the side of the trigger the response must be?"""
        turns = ctx.timeline(self.options.response_role)
        if self.options.direction == "after":
            return bool(turns.starting(trigger.start, float("inf"), first=1))
        return bool(turns.starting(float("-inf"), trigger.start, last=1))

    def _window(self, ctx: CallView, trigger: Trigger) -> list[Turn]:
        """The response_role turns where the response must be: the trigger turn (and a monologue's
        rest) when theirs, with the rest of its turn at talk, counted as one turn, then their turns
        after (or before) it within the limits (``within_turns`` counts turns at talk)."""
        opts = self.options
        own = [turn for turn in (trigger.turn, *trigger.rest) if turn.role == opts.response_role]
        turns = ctx.timeline(opts.response_role)
        if opts.direction == "after":
            last = (trigger.rest or (trigger.turn,))[-1]
            latest = float("inf") if opts.within_seconds is None else last.end + opts.within_seconds
            budget = self._budget(turns, own[-1:], turns.starting(last.start, latest, inclusive=True, first=1))
            return own + turns.starting(last.start, latest, inclusive=True, first=budget)
        start = trigger.turn.start
        budget = self._budget(turns, own[:1], turns.starting(float("-inf"), start, last=1))
        if budget is not None and budget <= 0:
            return own
        if opts.within_seconds is None:
            return turns.starting(float("-inf"), start, last=budget) + own
        earlier = turns.overlapping(start - opts.within_seconds, start, reaching=True)
        if budget is not None:
            allowed = {id(turn) for turn in turns.starting(float("-inf"), start, last=budget)}
            earlier = [turn for turn in earlier if id(turn) in allowed]
        return earlier + own

    def _budget(self, turns: RoleTimeline, own: list[Turn], next_to: list[Turn]) -> int | None:
        """How many of response_role's turns at talk the window takes besides the trigger turn:
        within_turns, less one when the trigger turn is theirs; its own turn at talk going on in
        the turn ``next_to`` it (a sentence pause) is part of the trigger turn."""
        if self.options.within_turns is None:
            return None
        if not own:
            return self.options.within_turns
        goes_on = bool(next_to) and turns.same_talk(own[0], next_to[0])
        return self.options.within_turns - 1 + goes_on
