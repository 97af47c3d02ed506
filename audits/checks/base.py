"""The base of every check kind (the sqlfluff rule pattern).

A kind is one small class: its docstring is its description, its ``Options`` dataclass
declares the parameters a spec item of that kind takes (types, ranges, defaults, one line of
documentation each), and its single ``evaluate`` method turns one call into one Finding. The
spec item supplies id, title, points and critical flag; the check never hard-codes policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Iterable, Sequence

from audits.call_view import CallView, Hit, Window
from audits.calldata.transcript import ROLES, Turn
from audits.findings import Evidence, Figure, Finding
from audits.params import Flag, Integer, Number, OneOf, Optional, param
from audits.specitem import SpecItem


@dataclass(frozen=True, kw_only=True)
class CommonOptions:
    """Parameters every kind accepts."""

    match_threshold: float | None = param(
        Optional(Number(above=0, maximum=1)),
        "phrase-match similarity for this item (0..1]; null: the spec's matching.threshold", None)
    skip_silent_calls: bool = param(
        Flag(), "report na when the customer never spoke (the silent-call protocol applies instead)", False)


@dataclass(frozen=True, kw_only=True)
class WindowOptions(CommonOptions):
    """Parameters of kinds that look for phrases of one role in a window of the call."""

    role: str = param(OneOf(*ROLES), "whose speech is searched", "agent")
    window_from: str = param(OneOf("answer", "end"),
                             "count the window forwards from the answer or backwards from the end", "answer")
    window_seconds: float | None = param(Optional(Number(above=0)), "window length in seconds; null: no time limit",
                                         None)
    window_turns: int | None = param(Optional(Integer(1)), "how many of the role's turns; null: no turn limit", None)

    @property
    def window(self) -> Window:
        return Window(self.window_from, self.window_seconds, self.window_turns)


REGISTRY: dict[str, type["Check"]] = {}


class Check:
    """(Base class; subclasses describe themselves here.)"""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        kind = cls.__dict__.get("kind")
        if kind is None:
            return  # an abstract helper class
        if kind in REGISTRY and REGISTRY[kind] is not cls:
            raise TypeError(f"check kind {kind!r} is defined twice: {REGISTRY[kind].__module__} and {cls.__module__}")
        REGISTRY[kind] = cls

    kind: ClassVar[str]
    Options: ClassVar[type] = CommonOptions
    # The cues (audits.cues) an item of this kind can serve the pipeline, with cue_phrases.
    provides: ClassVar[tuple[str, ...]] = ()

    def __init__(self, item: SpecItem):
        self.item = item
        self.options = item.options

    def run(self, ctx: CallView) -> Finding:
        if self.options.skip_silent_calls and ctx.customer_silent:
            return self.na("the customer never spoke: the silent-call protocol applies instead")
        return self.evaluate(ctx)

    def evaluate(self, ctx: CallView) -> Finding:
        raise NotImplementedError

    def floors(self) -> dict[str, float]:
        """The shortest readings this item judges, which the measurements must list: ``silence``
        (a silence longer than this), ``interruption`` (an overlap at least this long)."""
        return {}

    def cue_phrases(self, cue: str) -> tuple[tuple[str, ...], ...]:
        """The phrase groups (all of them; each any one of its phrases) this item serves ``cue``
        with; only asked for the cues in ``provides``."""
        raise KeyError(cue)

    # -- findings for this item -------------------------------------------------------------
    def passed(self, reason: str, evidence: Iterable[Evidence] = (), figure: Figure | None = None) -> Finding:
        return self._finding("pass", reason, evidence, figure)

    def failed(self, reason: str, evidence: Iterable[Evidence], figure: Figure | None = None) -> Finding:
        return self._finding("fail", reason, evidence, figure)

    def na(self, reason: str) -> Finding:
        return self._finding("na", reason, ())

    def _finding(self, status: str, reason: str, evidence: Iterable[Evidence], figure: Figure | None = None) -> Finding:
        return Finding(self.item.id, self.item.title, status, reason, tuple(evidence),
                       self.item.points, self.item.critical, figure)

    # -- phrase search at this item's match threshold ---------------------------------------
    def find(self, ctx: CallView, turns: Sequence[Turn], phrases: Sequence[str], each: bool = False) -> list[Hit]:
        return ctx.find(turns, phrases, self.options.match_threshold, each)

    def find_forbidden(self, ctx: CallView, turns: Sequence[Turn], phrases: Sequence[str]) -> list[Hit]:
        """Hits of phrases that must not be said; a fuzzy one stays only if the audio confirms it."""
        return ctx.confirmed(self.find(ctx, turns, phrases))

    def find_groups(self, ctx: CallView, turns: Sequence[Turn],
                    groups: Sequence[Sequence[str]]) -> tuple[list[Hit], list[Sequence[str]]]:
        return ctx.find_groups(turns, groups, self.options.match_threshold)


def listing(phrases: Iterable[str], limit: int = 4) -> str:
    """A short human list of phrases for a reason: 'a / b / c / …'."""
    phrases = list(phrases)
    shown = " / ".join(phrases[:limit])
    return shown + (" / …" if len(phrases) > limit else "")
