"""The operators a ``rule`` item's conditions are built from (Alibaba 智能质检's 算子): each a small
frozen dataclass, found by registration (``Operator.__init_subclass__``), whose docstring is its
documentation and whose ``find`` returns the evidence of what it found in a scope (nothing found:
an empty list).

An operator's value in YAML is parsed by its ``parse`` class method, which raises ``ParamError``
naming the problem; the rule kind's condition parser (``audits.rules.conditions``) adds where.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar

import regex

from audits.call_view import CallView, half_width, quote, span_times
from audits.calldata.transcript import ROLES
from audits.findings import Evidence
from audits.params import Flag, Integer, Number, OneOf, ParamError, Phrases

OPERATORS: dict[str, type["Operator"]] = {}

# A regex gets this long per turn; past it the item is n/a for the call, with the reason.
REGEX_TIMEOUT_S = 0.1
# At load, a pattern is tried on probes built to make backtracking engines explode; a pattern
# that needs longer than this on one probe is refused.
REGEX_PROBE_TIMEOUT_S = 0.25
REGEX_PROBE_LENGTH = 3000


class RuleGaveUp(Exception):
    """An operator could not finish on this call (a regex past its time limit)."""


@dataclass(frozen=True)
class Scope:
    """Where an operator looks: turns (in time order) and the stretches of time they cover."""

    turns: tuple
    spans: tuple[tuple[float, float], ...]

    def starts_in(self, time: float) -> bool:
        """Does a reading starting at ``time`` fall in the scope's time?"""
        return any(a <= time <= b for a, b in self.spans)


class Operator:
    """(Base class.) ``name`` is the YAML key; ``turn_based`` operators look at the words of the
    scope's turns (a ``role:`` narrows them), the others at measurements over the scope's time."""

    name: ClassVar[str]
    turn_based: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:
            OPERATORS[cls.name] = cls

    @classmethod
    def parse(cls, value: Any) -> Operator:
        raise NotImplementedError

    def find(self, ctx: CallView, scope: Scope, role: str | None) -> list[Evidence]:
        raise NotImplementedError


def _mapping(value: Any, name: str, fields: dict[str, Any], shorthand: str | None = None) -> dict:
    """An operator's mapping value checked against ``fields`` (name -> parser or None for any);
    a bare value stands for ``{shorthand: value}``."""
    if not isinstance(value, dict):
        if shorthand is None:
            raise ParamError(f"{name}: must be a mapping of {', '.join(fields)}, got {value!r}")
        value = {shorthand: value}
    for key in value:
        if key not in fields:
            raise ParamError(f"{name}: unknown field {key!r} (fields: {', '.join(fields)})", (key,))
    parsed = {}
    for key, parser in fields.items():
        if key in value:
            try:
                parsed[key] = parser.parse(value[key]) if parser is not None else value[key]
            except ValueError as exc:
                raise ParamError(f"{name}.{key}: {exc}", (key, *getattr(exc, "path", ()))) from None
    return parsed


@dataclass(frozen=True)
class PhrasesOp(Operator):
    """Phrases said in the scope's turns: `phrases: [a, b]` (any of them) or
    `phrases: {all: [a, b]}` (each somewhere), optionally `threshold` (0..1]. Fuzzy and ASR-aware
    like every phrase list (homophones, traditional characters, fillers) and negation-aware: 我不知道
    never matches 我知道, "not sure" never matches "sure"."""

    name = "phrases"
    phrases: tuple[str, ...]
    every: bool
    threshold: float | None

    @classmethod
    def parse(cls, value: Any) -> PhrasesOp:
        fields = {"any": Phrases(), "all": Phrases(), "threshold": Number(above=0, maximum=1)}
        given = _mapping(value, cls.name, fields, shorthand="any")
        if ("any" in given) == ("all" in given):
            raise ParamError(f"{cls.name}: give either any: or all: (one list of phrases)")
        return cls(given.get("any") or given["all"], "all" in given, given.get("threshold"))

    def find(self, ctx, scope, role):
        if not self.every:
            return [hit.evidence() for hit in ctx.find(scope.turns, self.phrases, self.threshold)]
        found = []
        for phrase in self.phrases:
            hits = ctx.find(scope.turns, (phrase,), self.threshold)
            if not hits:
                return []
            found.append(hits[0].evidence())
        return found


@lru_cache(maxsize=256)
def _compiled(pattern: str, ignore_case: bool):
    return regex.compile(pattern, regex.IGNORECASE if ignore_case else 0)


def _probes(pattern: str) -> list[str]:
    """Texts on which a backtracking pattern blows up: long runs of the characters it names (and of
    a few common ones), alone and in pairs, ended by a character nothing expects."""
    chars = [c for c in dict.fromkeys(pattern) if c.isalnum() or c.isspace()][:8]
    chars += [c for c in ("a", "1", " ", "中") if c not in chars]
    runs = [c * REGEX_PROBE_LENGTH for c in chars]
    runs += [(a + b) * (REGEX_PROBE_LENGTH // 2) for a, b in zip(chars, chars[1:])]
    return [run + "\x00" for run in runs]


@dataclass(frozen=True)
class RegexOp(Operator):
    """A regular expression found in a turn's text: `regex: '退款.{0,6}\\d+天'` or
    `regex: {pattern: ..., ignore_case: false}` (case is ignored by default). Full-width letters read
    as ASCII. The `regex` module's syntax; each turn gets 0.1 s, and a pattern that backtracks
    without end (`(a|aa)+$`) is refused when the spec is read, from probes built to expose it."""

    name = "regex"
    pattern: str
    ignore_case: bool

    @classmethod
    def parse(cls, value: Any) -> RegexOp:
        fields = {"pattern": None, "ignore_case": Flag()}
        given = _mapping(value, cls.name, fields, shorthand="pattern")
        pattern = given.get("pattern")
        if not isinstance(pattern, str) or not pattern:
            raise ParamError(f"{cls.name}: the pattern must be a non-empty string, got {pattern!r}")
        ignore_case = given.get("ignore_case", True)
        try:
            compiled = _compiled(pattern, ignore_case)
        except regex.error as exc:
            raise ParamError(f"{cls.name}: not a valid regular expression ({exc})") from None
        if compiled.search("") is not None:
            raise ParamError(f"{cls.name}: {pattern!r} matches empty text, so it would be found in every turn")
        for probe in _probes(pattern):
            try:
                compiled.search(probe, timeout=REGEX_PROBE_TIMEOUT_S)
            except TimeoutError:
                raise ParamError(
                    f"{cls.name}: refused: {pattern!r} backtracks catastrophically (a {REGEX_PROBE_LENGTH:,}-character "
                    f"probe took over {REGEX_PROBE_TIMEOUT_S:g} s); write it without nested or overlapping "
                    f"repetition such as (a|aa)+ or (a+)+") from None
        return cls(pattern, ignore_case)

    def find(self, ctx, scope, role):
        compiled = _compiled(self.pattern, self.ignore_case)
        found = []
        for turn in scope.turns:
            text = half_width(turn.text)
            try:
                matches = list(compiled.finditer(text, timeout=REGEX_TIMEOUT_S))
            except TimeoutError:
                raise RuleGaveUp(f"the regex {self.pattern!r} took over {REGEX_TIMEOUT_S:g} s on the "
                                 f"{turn.role} turn at {turn.start:.1f} s") from None
            for match in matches:
                start, end = span_times(turn, match.start(), match.end())
                found.append(Evidence(start, end, turn.role, quote(turn.text, match.start(), match.end(), ctx.marks)))
        return found


_ZH_DIGITS = dict(zip("零〇一二三四五六七八九幺两", "0012345678912"))
_EN_DIGITS = {"zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
              "six": "6", "seven": "7", "eight": "8", "nine": "9"}
_TOKEN = re.compile(r"[A-Za-z]+|[0-9]|[零〇一二三四五六七八九幺两]|[ \t-]+|.", re.S)


def digit_runs(text: str) -> list[tuple[int, int, str]]:
    """Numbers said digit by digit (phone, order and ID numbers): (start, end, digits) for each run
    of digits, Chinese digits (三五七九二, 幺) and English digit words ("five five five one"), with
    spaces and hyphens between them."""
    runs: list[tuple[int, int, str]] = []
    start = end = None
    digits = ""
    for match in _TOKEN.finditer(half_width(text)):
        piece = match.group(0)
        digit = piece if piece.isascii() and piece.isdigit() else _ZH_DIGITS.get(piece) or _EN_DIGITS.get(piece.lower())
        if digit is not None:
            start = match.start() if start is None else start
            end, digits = match.end(), digits + digit
        elif start is not None and not piece.strip(" \t-"):
            continue  # a space or hyphen inside a number
        elif start is not None:
            runs.append((start, end, digits))
            start, digits = None, ""
    if start is not None:
        runs.append((start, end, digits))
    return runs


@dataclass(frozen=True)
class NumbersOp(Operator):
    """A number said digit by digit in a turn (an order, phone or ID number: 三五七九二,
    "five five five, one two"): `numbers: {min_digits: 4, max_digits: 18}` (max optional)."""

    name = "numbers"
    min_digits: int
    max_digits: int | None

    @classmethod
    def parse(cls, value: Any) -> NumbersOp:
        given = _mapping(value, cls.name, {"min_digits": Integer(1), "max_digits": Integer(1)}, shorthand="min_digits")
        low, high = given.get("min_digits", 1), given.get("max_digits")
        if high is not None and high < low:
            raise ParamError(f"{cls.name}: max_digits {high} is below min_digits {low}", ("max_digits",))
        return cls(low, high)

    def find(self, ctx, scope, role):
        found = []
        for turn in scope.turns:
            for start, end, digits in digit_runs(turn.text):
                if len(digits) >= self.min_digits and (self.max_digits is None or len(digits) <= self.max_digits):
                    t0, t1 = span_times(turn, start, end)
                    found.append(Evidence(t0, t1, turn.role, quote(turn.text, start, end, ctx.marks)))
        return found


@dataclass(frozen=True)
class SilenceOp(Operator):
    """A mutual silence (neither party speaking, from the measurements) longer than `longer_than`
    seconds, starting within the scope's time: `silence: {longer_than: 8}`; with
    `except_announced_holds: true` a silence inside an announced hold does not count."""

    name = "silence"
    turn_based = False
    longer_than: float
    except_announced_holds: bool

    @classmethod
    def parse(cls, value: Any) -> SilenceOp:
        given = _mapping(value, cls.name, {"longer_than": Number(minimum=0), "except_announced_holds": Flag()},
                         shorthand="longer_than")
        if "longer_than" not in given:
            raise ParamError(f"{cls.name}: give longer_than (seconds)")
        return cls(given["longer_than"], given.get("except_announced_holds", False))

    def find(self, ctx, scope, role):
        holds = [h for h in ctx.measurements.holds if h.detected_by == "announced"] if self.except_announced_holds else []
        found = []
        for s in ctx.measurements.silences:
            if s.end - s.start > self.longer_than and scope.starts_in(s.start):
                if any(h.start <= s.start + 0.5 and s.end <= h.end + 0.5 for h in holds):
                    continue  # inside an announced hold
                found.append(Evidence(s.start, s.end, "call",
                                      f"silence of {s.end - s.start:.1f} s from {s.start:.1f} s to {s.end:.1f} s"))
        return found


@dataclass(frozen=True)
class OverlapOp(Operator):
    """Talking over the other party (抢话, from the measurements' interruptions): one by `by`
    (agent, customer; default the condition's role, else agent) lasting at least `at_least` seconds,
    starting within the scope's time: `overlap: {at_least: 2, by: agent}`."""

    name = "overlap"
    turn_based = False
    at_least: float
    by: str | None

    @classmethod
    def parse(cls, value: Any) -> OverlapOp:
        given = _mapping(value, cls.name, {"at_least": Number(minimum=0), "by": OneOf(*ROLES)}, shorthand="at_least")
        if "at_least" not in given:
            raise ParamError(f"{cls.name}: give at_least (seconds)")
        return cls(given["at_least"], given.get("by"))

    def find(self, ctx, scope, role):
        by = self.by or role or "agent"
        return [Evidence(i.start, i.end, "call", f"{i.by} talked over the {i.over} for {i.end - i.start:.1f} s "
                                                 f"from {i.start:.1f} s")
                for i in ctx.measurements.interruptions
                if i.by == by and i.end - i.start >= self.at_least and scope.starts_in(i.start)]


@dataclass(frozen=True)
class SpeechRateOp(Operator):
    """The role's speech rate over the scope's turns (characters per minute in Chinese, words per
    minute in English, over the turns' time) `above` or `below` a figure:
    `speech_rate: {above: 280}`. The condition's role (default agent)."""

    name = "speech_rate"
    above: float | None
    below: float | None

    @classmethod
    def parse(cls, value: Any) -> SpeechRateOp:
        given = _mapping(value, cls.name, {"above": Number(minimum=0), "below": Number(minimum=0)})
        if ("above" in given) == ("below" in given):
            raise ParamError(f"{cls.name}: give either above: or below:")
        return cls(given.get("above"), given.get("below"))

    def find(self, ctx, scope, role):
        turns = [t for t in scope.turns if t.role == (role or "agent")]
        seconds = sum(t.end - t.start for t in turns)
        if not turns or seconds <= 0:
            return []
        if ctx.language == "zh":
            units = sum(1 for t in turns for c in t.text if "\u4e00" <= c <= "\u9fff")
        else:
            units = sum(len(re.findall(r"[A-Za-z0-9']+", t.text)) for t in turns)
        rate = units * 60.0 / seconds
        unit = "characters" if ctx.language == "zh" else "words"
        if (self.above is not None and rate > self.above) or (self.below is not None and rate < self.below):
            limit = f"above {self.above:g}" if self.above is not None else f"below {self.below:g}"
            return [Evidence(turns[0].start, turns[-1].end, turns[0].role,
                             f"{rate:.0f} {unit} per minute over {len(turns)} turn(s), {limit}")]
        return []
