"""The dashboards' figures, kept per day and agent in the server's memory so that a dashboard over
100,000 calls does not re-read 1.8 million findings on every request.

Each day's cells are computed from the store (newest audits, effective verdicts: see
``queries``) and recomputed when that day changes: before answering, the server compares a
fingerprint of every day (its call rows, through the ``calls_time`` index, and its reviewed
scores) with the one it computed from. ``PRAGMA data_version`` tells it whether another process
(the batch, a report, another server) has committed anything since it last looked; the server's
own writes (reviews, appeals) mark their call's day. So a dashboard is never stale, and costs a
fingerprint (tens of ms on 100,000 calls) plus the days that changed."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass, field

from pipeline.web.queries import CRITICAL, NEWEST, REVIEWED, SCORE, CallQuery, Dashboard, item_titles

STATUSES = ("pass", "fail", "na")


@dataclass
class Cell:
    """One agent's calls on one day."""

    team: str | None = None
    name: str | None = None
    calls: int = 0  # with speech
    scored: int = 0
    score_sum: float = 0.0
    critical: int = 0
    reviewed: int = 0
    needs_review: int = 0
    items: dict[str, list[int]] = field(default_factory=dict)  # item -> [passes, fails, n/a]


_JOINED = "calls c LEFT JOIN reviewed_scores r ON r.call_key = c.key"
_DAY = "c.call_time >= ? AND c.call_time < date(?, '+1 day')"


def _day_cells(db: sqlite3.Connection, day: str) -> dict[str | None, Cell]:
    cells: dict[str | None, Cell] = {}
    where = f"{NEWEST} AND {_DAY} AND c.no_speech = 0"
    for agent, team, name, calls, scored, total, critical, reviewed, review in db.execute(
            f"SELECT c.agent_id, max(c.team), max(c.agent_name), count(*), count({SCORE}), total({SCORE}),"
            f" sum({CRITICAL}), sum({REVIEWED}), sum(c.needs_review = 1) FROM {_JOINED} WHERE {where}"
            " GROUP BY c.agent_id", (day, day)):
        cells[agent] = Cell(team, name, calls, scored, total, critical, reviewed, review)
    for agent, item, status, n in db.execute(
            f"SELECT c.agent_id, f.item, f.status, count(*) FROM {_JOINED} JOIN findings f ON f.call_key = c.key"
            f" WHERE {where} AND NOT {REVIEWED} GROUP BY c.agent_id, f.item, f.status", (day, day)):
        cells[agent].items.setdefault(item, [0, 0, 0])[STATUSES.index(status)] += n
    for agent, item, status, n in db.execute(
            f"SELECT c.agent_id, s.key, s.value, count(*) FROM {_JOINED}, json_each(r.statuses) s"
            f" WHERE {where} AND {REVIEWED} GROUP BY c.agent_id, s.key, s.value", (day, day)):
        cells[agent].items.setdefault(item, [0, 0, 0])[STATUSES.index(status)] += n
    return cells


def _fingerprints(db: sqlite3.Connection) -> dict[str, tuple]:
    days = {day: (n, rowids) for day, n, rowids in db.execute(
        "SELECT substr(call_time, 1, 10), count(*), total(rowid) FROM calls INDEXED BY calls_time"
        " WHERE call_time IS NOT NULL GROUP BY substr(call_time, 1, 10)")}
    for day, rowids, scores in db.execute(
            "SELECT substr(c.call_time, 1, 10), total(r.rowid), total(coalesce(r.score, -1) + r.verdicts)"
            " FROM reviewed_scores r JOIN calls c ON c.key = r.call_key WHERE c.call_time IS NOT NULL GROUP BY 1"):
        days[day] = days.get(day, (0, 0)) + (rowids, scores)
    return days


class Rollup:
    def __init__(self):
        self._days: dict[str, dict[str | None, Cell]] = {}  # day -> agent -> cell
        self._teams: dict[str, dict[str | None, Cell]] = {}  # day -> team -> cell (items summed)
        self._totals: dict[str, Cell] = {}  # day -> everyone's cell (items summed)
        self._prints: dict[str, tuple] = {}
        self._version: int | None = None
        self._dirty: set[str] = set()
        self._lock = threading.Lock()
        self.titles: dict[str, str] = {}

    def touched(self, call_time: str | None) -> None:
        """This server changed a verdict of a call of that day."""
        if call_time:
            self._dirty.add(call_time[:10])

    def refresh(self, db: sqlite3.Connection) -> int:
        """Bring the cells up to date; returns how many days were recomputed."""
        with self._lock:
            version = db.execute("PRAGMA data_version").fetchone()[0]
            if version == self._version and not self._dirty:
                return 0
            db.execute("BEGIN DEFERRED")  # one snapshot for the fingerprint and the days read
            try:
                if version == self._version:  # only this server wrote: the days it touched, no fingerprint
                    prints = self._prints
                    changed = self._dirty & set(prints)
                else:
                    prints = _fingerprints(db)
                    changed = {d for d in prints if prints[d] != self._prints.get(d)} | (self._dirty & set(prints))
                for day in set(self._days) - set(prints):
                    del self._days[day], self._teams[day], self._totals[day]
                for day in changed:
                    self._days[day] = _day_cells(db, day)
                    self._teams[day], self._totals[day] = {}, Cell()
                    for cell in self._days[day].values():
                        _add(self._teams[day].setdefault(cell.team, Cell(cell.team)), cell,
                             self._teams[day][cell.team].items)
                        _add(self._totals[day], cell, self._totals[day].items)
                if (changed and version != self._version) or not self.titles:
                    self.titles = item_titles(db)
            finally:
                db.execute("COMMIT")
            self._prints, self._version, self._dirty = prints, version, set()
            return len(changed)

    def menus(self, db: sqlite3.Connection) -> tuple[list[str], list[tuple[str, str | None]]]:
        """The teams and the agents (id, name) of the calls, for the filter menus."""
        self.refresh(db)
        teams, agents = set(), {}
        for cells in self._days.values():
            for agent, cell in cells.items():
                if cell.team is not None:
                    teams.add(cell.team)
                if agent is not None:
                    agents[agent] = cell.name or agents.get(agent)
        return sorted(teams), sorted(agents.items())

    def _level(self, day: str, query: CallQuery) -> Cell | None:
        """The day's cell for the query's scope: one agent, one team, or everyone."""
        if query.agent:
            return self._days[day].get(query.agent)
        if query.team:
            return self._teams[day].get(query.team)
        return self._totals[day]

    def dashboard(self, db: sqlite3.Connection, query: CallQuery) -> Dashboard:
        self.refresh(db)
        first = query.first.isoformat() if query.first else ""
        last = query.last.isoformat() if query.last else "9999"
        trend, items, agents = [], {}, {}
        totals = Cell()
        for day in sorted(self._days):
            if not first <= day <= last:
                continue
            cell = self._level(day, query)
            if cell is None or not cell.calls:
                continue
            trend.append((day, cell.score_sum / cell.scored if cell.scored else None, cell.calls, cell.critical))
            _add(totals, cell, items)
            for agent, each in self._days[day].items():
                if (query.team and each.team != query.team) or (query.agent and agent != query.agent):
                    continue
                _add(agents.setdefault(agent, Cell(each.team, each.name)), each)
        where, params = query.where()
        appeals = db.execute(
            f"SELECT count(*) FROM verdicts v JOIN calls c ON c.call_uid = v.call_uid LEFT JOIN reviewed_scores r"
            f" ON r.call_key = c.key WHERE v.appeal = 'pending' AND {where}", params).fetchone()[0]
        order = {item: n for n, item in enumerate(self.titles)}
        ranked = sorted(items, key=lambda i: (order.get(i, len(order)), i))
        by_mean = sorted(agents.items(), key=lambda a: (a[1].score_sum / a[1].scored) if a[1].scored else 101)
        return Dashboard(
            totals.calls, totals.score_sum / totals.scored if totals.scored else None, totals.reviewed,
            totals.critical, totals.needs_review, appeals, trend,
            [(item, self.titles.get(item, item), *items[item]) for item in ranked],
            [(agent, cell.name, cell.team, cell.calls, cell.score_sum / cell.scored if cell.scored else None,
              cell.critical) for agent, cell in by_mean])


def _add(target: Cell, cell: Cell, items: dict[str, list[int]] | None = None) -> None:
    """Add ``cell``'s figures to ``target``'s, and its item counts to ``items`` when given."""
    for item, counts in cell.items.items() if items is not None else ():
        sums = items.setdefault(item, [0, 0, 0])
        for k in range(3):
            sums[k] += counts[k]
    target.calls += cell.calls
    target.scored += cell.scored
    target.score_sum += cell.score_sum
    target.critical += cell.critical
    target.reviewed += cell.reviewed
    target.needs_review += cell.needs_review
