"""Conditions of a ``rule`` item: operators (``audits.rules.operators``) narrowed by role and
position, combined with ``all`` / ``any`` / ``not``.

In YAML a condition is a mapping with one key:

- ``all: [c1, c2, ...]``: every one found (evidence: all of theirs);
- ``any: [c1, c2, ...]``: at least one found (evidence: those found);
- ``not: c``: ``c`` not found (evidence: none of its own);
- an operator (``phrases``, ``regex``, ``numbers``, ``silence``, ``overlap``, ``speech_rate``) with
  optional ``role: agent | customer`` (whose turns, or whose speech rate) and ``position``:
  ``{from: answer | end | hold_start | hold_end, turns: N, seconds: S}`` — the first N turns / S
  seconds after the answer, the last ones before the end of the conversation, the ones before
  each hold starts or after each hold ends (a turn must meet every limit given).

Evaluation is linear in the call: each operator reads the scope's turns once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from audits.call_view import CallView
from audits.calldata.transcript import ROLES
from audits.findings import Evidence
from audits.params import Integer, Number, OneOf, ParamError, ParamType
from audits.rules.operators import OPERATORS, Operator, Scope

COMBINATORS = ("all", "any", "not")
MODIFIERS = ("role", "position")
ANCHORS = ("answer", "end", "hold_start", "hold_end")
MAX_NODES = 200  # operators and combinators in one condition


@dataclass(frozen=True)
class Position:
    anchor: str
    turns: int | None
    seconds: float | None

    def describe(self) -> str:
        limits = [f"{self.turns} turn(s)" if self.turns is not None else "",
                  f"{self.seconds:g} s" if self.seconds is not None else ""]
        where = {"answer": "after the answer", "end": "before the end", "hold_start": "before a hold",
                 "hold_end": "after a hold"}[self.anchor]
        return " / ".join(x for x in limits if x) + f" {where}" if any(limits) else f"from {self.anchor}"


@dataclass(frozen=True)
class Leaf:
    op: Operator
    role: str | None
    position: Position | None


@dataclass(frozen=True)
class Combined:
    how: str  # all | any | not
    parts: tuple


Condition = Leaf | Combined


class ConditionType(ParamType):
    """A condition (see ``audits.rules.conditions``); with ``positions=False`` its operators may
    not take ``position`` (inside trigger → response rules, where the window is the item's)."""

    def __init__(self, positions: bool = True, optional: bool = False):
        self.positions = positions
        self.optional = optional

    def describe(self) -> str:
        return ("a condition: an operator (" + ", ".join(OPERATORS) + ") or all / any / not of conditions"
                + (", or null" if self.optional else ""))

    def parse(self, value: Any) -> Condition | None:
        if value is None and self.optional:
            return None
        return _parse(value, (), self.positions, [0])


def _parse(value: Any, path: tuple, positions: bool, count: list[int]) -> Condition:
    count[0] += 1
    if count[0] > MAX_NODES:
        raise ParamError(f"more than {MAX_NODES} operators and combinators in one condition", path)
    if not isinstance(value, dict) or not value:
        raise ParamError(f"a condition is a mapping with one of {', '.join((*COMBINATORS, *OPERATORS))}, "
                         f"got {value!r}", path)
    unknown = [k for k in value if k not in COMBINATORS and k not in OPERATORS and k not in MODIFIERS]
    if unknown:
        raise ParamError(f"unknown key {unknown[0]!r} in a condition (operators: {', '.join(OPERATORS)}; "
                         f"combinators: {', '.join(COMBINATORS)}; with an operator: role, position)",
                         path + (unknown[0],))
    heads = [k for k in value if k in COMBINATORS or k in OPERATORS]
    if len(heads) != 1:
        raise ParamError(f"a condition has exactly one operator or combinator, got {heads or 'none'}", path)
    head = heads[0]
    if head in COMBINATORS:
        extra = [k for k in value if k != head]
        if extra:
            raise ParamError(f"{extra[0]!r} goes with an operator, not with {head}:", path + (extra[0],))
        if head == "not":
            return Combined("not", (_parse(value["not"], path + ("not",), positions, count),))
        parts = value[head]
        if not isinstance(parts, list) or not parts:
            raise ParamError(f"{head}: must be a non-empty list of conditions, got {parts!r}", path + (head,))
        return Combined(head, tuple(_parse(p, path + (head, i), positions, count) for i, p in enumerate(parts)))
    try:
        op = OPERATORS[head].parse(value[head])
    except ParamError as exc:
        raise ParamError(str(exc), path + (head, *exc.path)) from None
    except ValueError as exc:
        raise ParamError(str(exc), path + (head,)) from None
    role = None
    if "role" in value:
        try:
            role = OneOf(*ROLES).parse(value["role"])
        except ValueError as exc:
            raise ParamError(f"role: {exc}", path + ("role",)) from None
    position = None
    if "position" in value:
        if not positions:
            raise ParamError("position: not here: a trigger's response is looked for within the item's "
                             "within_turns / within_seconds", path + ("position",))
        position = _position(value["position"], path + ("position",))
    return Leaf(op, role, position)


def _position(value: Any, path: tuple) -> Position:
    if not isinstance(value, dict):
        raise ParamError(f"position: must be a mapping of from, turns, seconds, got {value!r}", path)
    for key in value:
        if key not in ("from", "turns", "seconds"):
            raise ParamError(f"position: unknown field {key!r} (fields: from, turns, seconds)", path + (key,))
    try:
        anchor = OneOf(*ANCHORS).parse(value.get("from"))
        turns = Integer(1).parse(value["turns"]) if "turns" in value else None
        seconds = Number(above=0).parse(value["seconds"]) if "seconds" in value else None
    except ValueError as exc:
        raise ParamError(f"position: {exc}", path) from None
    return Position(anchor, turns, seconds)


def whole_call(ctx: CallView) -> Scope:
    turns = tuple(sorted(ctx.transcript.turns, key=lambda t: t.start))
    return Scope(turns, ((ctx.answer_at, max(ctx.end, ctx.duration)),))


def evaluate(condition: Condition, ctx: CallView, scope: Scope) -> tuple[bool, list[Evidence]]:
    """Whether the condition holds in ``scope``, and the evidence of what was found."""
    if isinstance(condition, Leaf):
        found = condition.op.find(ctx, narrow(condition, ctx, scope), condition.role)
        return bool(found), found
    if condition.how == "not":
        held, _ = evaluate(condition.parts[0], ctx, scope)
        return not held, []
    results = [evaluate(part, ctx, scope) for part in condition.parts]
    held = all(r[0] for r in results) if condition.how == "all" else any(r[0] for r in results)
    return held, [e for ok, evidence in results if ok for e in evidence] if held else []


def narrow(leaf: Leaf, ctx: CallView, scope: Scope) -> Scope:
    """The scope a leaf looks at: its role's turns, in its position."""
    turns = scope.turns if leaf.role is None else tuple(t for t in scope.turns if t.role == leaf.role)
    position = leaf.position
    if position is None:
        return Scope(turns, scope.spans)
    if position.anchor == "answer":
        return _after(turns, ctx.answer_at, position)
    if position.anchor == "end":
        return _before(turns, ctx.end, position)
    anchors = [h.start if position.anchor == "hold_start" else h.end for h in ctx.measurements.holds]
    pieces = [(_before if position.anchor == "hold_start" else _after)(turns, at, position) for at in anchors]
    chosen = {id(t): t for piece in pieces for t in piece.turns}
    return Scope(tuple(sorted(chosen.values(), key=lambda t: t.start)), tuple(s for p in pieces for s in p.spans))


def _after(turns: tuple, at: float, position: Position) -> Scope:
    latest = float("inf") if position.seconds is None else at + position.seconds
    chosen = [t for t in turns if t.end > at and t.start <= latest]
    if position.turns is not None:
        chosen = chosen[:position.turns]
    end = latest
    if position.turns is not None or position.seconds is None:
        end = min(end, chosen[-1].end) if chosen else at
    return Scope(tuple(chosen), ((at, end),))


def _before(turns: tuple, at: float, position: Position) -> Scope:
    earliest = float("-inf") if position.seconds is None else at - position.seconds
    chosen = [t for t in turns if t.start < at and t.end >= earliest]
    if position.turns is not None:
        chosen = chosen[-position.turns:]
    start = earliest
    if position.turns is not None or position.seconds is None:
        start = max(start, chosen[0].start) if chosen else at
    return Scope(tuple(chosen), ((start, at),))


def operators_in(condition: Condition | None) -> list[Operator]:
    """Every operator of a condition tree."""
    if condition is None:
        return []
    if isinstance(condition, Leaf):
        return [condition.op]
    return [op for part in condition.parts for op in operators_in(part)]


def describe(condition: Condition) -> str:
    """A short human reading of a condition, for reasons."""
    if isinstance(condition, Leaf):
        op = condition.op
        text = {"phrases": lambda: ("all of " if op.every else "") + " / ".join(op.phrases[:4])
                + (" / …" if len(op.phrases) > 4 else ""),
                "regex": lambda: f"/{op.pattern}/",
                "numbers": lambda: f"a number of {op.min_digits}+ digits",
                "silence": lambda: f"a silence over {op.longer_than:g} s",
                "overlap": lambda: f"talking over ≥ {op.at_least:g} s",
                "speech_rate": lambda: f"speech rate {'above' if op.above is not None else 'below'} "
                                       f"{op.above if op.above is not None else op.below:g}"}.get(op.name, lambda: op.name)()
        who = f"{condition.role}: " if condition.role else ""
        where = f" ({condition.position.describe()})" if condition.position else ""
        return who + text + where
    if condition.how == "not":
        return "not (" + describe(condition.parts[0]) + ")"
    return f" {condition.how.upper()} ".join(
        describe(p) if isinstance(p, Leaf) else f"({describe(p)})" for p in condition.parts)
