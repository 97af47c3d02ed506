"""Picking calls for review (抽检), per agent: some at random, the lowest scores, the least sure
role assignments, and findings decided by a narrow margin. Picked calls go to the review queue
(``review_queue``); calls already reviewed or queued are not picked again.

A narrow margin is a measured item (spec kind ``threshold``: answer delay, longest silence, the
agent's speech rate) whose reading lies within ``margin`` (a share of the limit, 15 % by default)
of the limit the call's own spec set: a verdict that a small measuring error could have turned.
It needs the spec the call was audited with: calls whose spec version is not among the specs
given are not judged on it."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

from audits.spec import Spec
from pipeline.store import Store, now

CRITERIA = ("random", "lowest", "low_confidence", "narrow_margin")
# The stored measurement each threshold measure is judged on (its worst reading).
_MEASURED = {"answer_delay": "m.answer_delay", "silence": "m.longest_silence", "speech_rate": "m.agent_speech_rate"}


@dataclass(frozen=True)
class Pick:
    call_uid: str
    agent_id: str | None
    reason: str


def _candidates(store: Store, first: date | None, last: date | None, team: str | None) -> list[dict]:
    params: list = []
    clauses = ["c.status = 'done'", "c.no_speech = 0",
               "NOT EXISTS (SELECT 1 FROM calls l WHERE l.call_uid = c.call_uid AND l.status = 'done'"
               " AND (l.audited_at > c.audited_at OR (l.audited_at = c.audited_at AND l.rowid > c.rowid)))",
               "c.call_uid NOT IN (SELECT call_uid FROM review_queue)",
               "c.call_uid NOT IN (SELECT call_uid FROM verdicts WHERE review IS NOT NULL)"]
    if first:
        clauses.append("c.call_time >= ?")
        params.append(first.isoformat())
    if last:
        clauses.append("c.call_time < date(?, '+1 day')")
        params.append(last.isoformat())
    if team:
        clauses.append("c.team = ?")
        params.append(team)
    cursor = store.db.execute(
        "SELECT c.call_uid, c.agent_id, c.score, c.role_confidence, c.spec_version, m.answer_delay,"
        " m.longest_silence, m.agent_speech_rate FROM calls c LEFT JOIN measurements m ON m.call_key = c.key"
        f" WHERE {' AND '.join(clauses)} ORDER BY c.call_uid", params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _margin(call: dict, limits: dict[str, list[tuple[str, str, float]]]) -> tuple[float, str] | None:
    """The narrowest (distance ÷ limit, item) among the call's measured items, if known."""
    best = None
    for item, measure, limit in limits.get(call["spec_version"], ()):
        value = call[_MEASURED[measure].split(".")[1]]
        if value is None or limit <= 0:
            continue
        distance = abs(value - limit) / limit
        if best is None or distance < best[0]:
            best = (distance, f"{item}: {value:.1f} against the limit {limit:g}")
    return best


def pick_calls(store: Store, per_agent: dict[str, int], specs: list[Spec], first: date | None = None,
               last: date | None = None, team: str | None = None, margin: float = 0.15,
               seed: int | None = None) -> list[Pick]:
    """Choose calls for review: for each agent, ``per_agent[criterion]`` calls by each criterion
    (a call is picked once, by the first criterion that takes it)."""
    unknown = set(per_agent) - set(CRITERIA)
    if unknown:
        raise ValueError(f"sampling criteria {sorted(unknown)}: use {', '.join(CRITERIA)}")
    limits = {spec.version: [(item.id, item.options.measure, float(item.options.limit)) for item in spec.items
                             if item.kind == "threshold" and item.options.measure in _MEASURED
                             and getattr(item.options, "role", "agent") == "agent"] for spec in specs}
    rng = random.Random(seed)
    by_agent: dict[str | None, list[dict]] = {}
    for call in _candidates(store, first, last, team):
        by_agent.setdefault(call["agent_id"], []).append(call)
    picks: list[Pick] = []
    for agent in sorted(by_agent, key=lambda a: (a is None, a or "")):
        calls, taken = by_agent[agent], set()

        def take(ranked: list[tuple[dict, str]], count: int) -> None:
            for call, reason in ranked:
                if count <= 0:
                    return
                if call["call_uid"] not in taken:
                    taken.add(call["call_uid"])
                    picks.append(Pick(call["call_uid"], agent, reason))
                    count -= 1

        take([(c, "random") for c in rng.sample(calls, len(calls))], per_agent.get("random", 0))
        scored = sorted((c for c in calls if c["score"] is not None), key=lambda c: (c["score"], c["call_uid"]))
        take([(c, f"lowest score ({c['score']:.0f})") for c in scored], per_agent.get("lowest", 0))
        unsure = sorted((c for c in calls if c["role_confidence"] is not None),
                        key=lambda c: (c["role_confidence"], c["call_uid"]))
        take([(c, f"role confidence {c['role_confidence']:.2f}") for c in unsure if c["role_confidence"] < 1.0],
             per_agent.get("low_confidence", 0))
        narrow = sorted(((c, m) for c in calls if (m := _margin(c, limits)) and m[0] <= margin),
                        key=lambda cm: (cm[1][0], cm[0]["call_uid"]))
        take([(c, f"narrow margin: {m[1]}") for c, m in narrow], per_agent.get("narrow_margin", 0))
    return picks


def queue(store: Store, picks: list[Pick], by: str) -> int:
    """Put the picked calls in the review queue; returns how many were added."""
    with store.transaction() as db:
        before = db.total_changes
        db.executemany("INSERT OR IGNORE INTO review_queue (call_uid, reason, picked_at, picked_by)"
                       " VALUES (?, ?, ?, ?)",
                       [(p.call_uid, p.reason, now(), by) for p in picks])
        return db.total_changes - before


def unqueue(store: Store, call_uid: str) -> None:
    with store.transaction() as db:
        db.execute("DELETE FROM review_queue WHERE call_uid = ?", (call_uid,))
