"""What the workstation's pages read: the call list with its filters and search, the dashboards'
figures and one call's facts. Every query covers each call's newest successful audit only, and
its effective verdicts: the reviewed score and statuses (``reviewed_scores``) where a human
verdict stands, else the machine's. An agent's queries are always narrowed to their own agent
id here, whatever the request asked for."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, replace
from datetime import date

from pipeline.review.users import User
from pipeline.web.search import fts_query, unspaced

PAGE_SIZE = 50

# The newest successful audit of its call (a rescore or a re-recorded file stores a newer one).
NEWEST = ("c.status = 'done' AND NOT EXISTS (SELECT 1 FROM calls l WHERE l.call_uid = c.call_uid"
          " AND l.status = 'done' AND (l.audited_at > c.audited_at"
          " OR (l.audited_at = c.audited_at AND l.rowid > c.rowid)))")
REVIEWED = "coalesce(r.verdicts, 0) > 0"
SCORE = f"CASE WHEN {REVIEWED} THEN r.score ELSE c.score END"
CRITICAL = f"(CASE WHEN {REVIEWED} THEN r.critical_failed ELSE c.critical_failed END) NOT IN ('[]', '')"


@dataclass(frozen=True)
class CallQuery:
    """The call list's and the dashboards' filters (all optional)."""

    first: date | None = None
    last: date | None = None
    team: str | None = None
    agent: str | None = None
    min_score: float | None = None
    max_score: float | None = None
    failed_item: str | None = None
    needs_review: bool = False
    reviewed: str | None = None  # "yes" | "no"
    queued: bool = False
    appealed: bool = False
    text: str | None = None
    sort: str = "time"  # "time" (newest first) | "score" (lowest first)
    page: int = 1

    def for_user(self, user: User) -> CallQuery:
        """An agent's query is about their own calls, whatever was asked."""
        return self if user.reviews else replace(self, agent=user.agent_id, team=None)

    def where(self) -> tuple[str, list]:
        clauses, params = [NEWEST], []
        if self.first:
            clauses.append("c.call_time >= ?")
            params.append(self.first.isoformat())
        if self.last:
            clauses.append("c.call_time < date(?, '+1 day')")
            params.append(self.last.isoformat())
        for column, value in (("team", self.team), ("agent_id", self.agent)):
            if value:
                clauses.append(f"c.{column} = ?")
                params.append(value)
        if self.min_score is not None:
            clauses.append(f"{SCORE} >= ?")
            params.append(self.min_score)
        if self.max_score is not None:
            clauses.append(f"{SCORE} <= ?")
            params.append(self.max_score)
        if self.failed_item:
            clauses.append(f"CASE WHEN {REVIEWED} THEN json_extract(r.statuses, '$.\"' || ? || '\"') = 'fail'"
                           " ELSE EXISTS (SELECT 1 FROM findings f WHERE f.call_key = c.key AND f.item = ?"
                           " AND f.status = 'fail') END")
            params += [self.failed_item, self.failed_item]
        if self.needs_review:
            clauses.append("c.needs_review = 1")
        if self.reviewed == "yes":
            clauses.append(REVIEWED)
        elif self.reviewed == "no":
            clauses.append(f"NOT {REVIEWED}")
        if self.queued:
            clauses.append("c.call_uid IN (SELECT call_uid FROM review_queue)")
        if self.appealed:
            clauses.append("c.call_uid IN (SELECT call_uid FROM verdicts WHERE appeal = 'pending')")
        return " AND ".join(clauses), params


@dataclass
class CallPage:
    rows: list[dict]
    total: int  # at most COUNT_CAP + 1: "more than COUNT_CAP"
    page: int
    pages: int
    searched: bool = False
    problem: str | None = None

    @property
    def more(self) -> bool:
        return self.total > (SEARCH_CAP if self.searched else COUNT_CAP)


COUNT_CAP = 10_000  # a list counts this far: past it, "more than 10,000" (narrow the filters)
SEARCH_CAP = 1_000  # a search lists at most the calls of this many most recently stored matching transcripts

_LIST_COLUMNS = (f"c.call_uid, c.call_id, c.agent_id, c.agent_name, c.team, c.call_time, c.duration, c.score AS"
                 f" machine_score, {SCORE} AS score, {REVIEWED} AS reviewed, c.needs_review, c.role_confidence,"
                 f" c.no_speech, c.critical_failed AS machine_critical, c.audio_sha256, c.asr_key")


def _driver(query: CallQuery) -> tuple[str, list] | None:
    """The calls a selective filter names, to start the query from (instead of reading every call
    and testing the filter on each): a search's matching transcripts (the SEARCH_CAP + 1 most
    recently stored), the calls with a pending appeal, queued, reviewed, failing an item, or scored
    in a range, whose roles need review. The WHERE clause still applies every filter to what it yields."""
    if query.text:
        return ("calls c JOIN transcripts t ON c.audio_sha256 = t.audio_sha256 AND c.asr_key = t.asr_key"
                " AND t.rowid IN (SELECT rowid FROM transcript_index WHERE transcript_index MATCH ?"
                f" ORDER BY rowid DESC LIMIT {SEARCH_CAP + 1})", [fts_query(query.text)])
    if query.appealed:
        return "calls c JOIN (SELECT DISTINCT call_uid FROM verdicts WHERE appeal = 'pending') d USING (call_uid)", []
    if query.queued:
        return "calls c JOIN review_queue d USING (call_uid)", []
    if query.reviewed == "yes":
        return "calls c JOIN (SELECT call_key FROM reviewed_scores WHERE verdicts > 0) d ON d.call_key = c.key", []
    if query.failed_item:
        return ("calls c JOIN (SELECT call_key FROM findings WHERE item = ? AND status = 'fail' UNION"
                " SELECT call_key FROM reviewed_scores WHERE verdicts > 0) d ON d.call_key = c.key",
                [query.failed_item])
    if query.needs_review:
        return "calls c JOIN (SELECT rowid AS id FROM calls WHERE needs_review = 1) d ON d.id = c.rowid", []
    if query.max_score is not None and query.min_score is None:
        return ("calls c JOIN (SELECT rowid AS id FROM calls WHERE score <= ? UNION SELECT k.rowid FROM reviewed_scores"
                " s JOIN calls k ON k.key = s.call_key WHERE s.verdicts > 0) d ON d.id = c.rowid", [query.max_score])
    return None


def call_list(db: sqlite3.Connection, query: CallQuery) -> CallPage:
    """One page of the calls the query selects, newest first (or lowest score first), with the
    count of all of them up to COUNT_CAP + 1."""
    if query.text is not None and not query.text.strip():
        query = replace(query, text=None)
    if query.text and fts_query(query.text) is None:
        return CallPage([], 0, 1, 1, True, "nothing to search for: type a word")
    where, params = query.where()
    driver = _driver(query)
    source, driver_params = driver or ("calls c", [])
    joined = f"{source} LEFT JOIN reviewed_scores r ON r.call_key = c.key"
    cap = SEARCH_CAP if query.text else COUNT_CAP
    picked = None
    if driver:  # the driver bounds the work: read every match once, count, sort and page them here
        found = db.execute(f"SELECT c.rowid, c.call_time, {SCORE} FROM {joined} WHERE {where} LIMIT {COUNT_CAP + 1}",
                           driver_params + params).fetchall()
        total = len(found)
        if total <= COUNT_CAP:
            if query.sort == "score":
                found.sort(key=lambda f: (f[1] or ""), reverse=True)
                found.sort(key=lambda f: (f[2] is None, f[2] or 0.0))
            else:
                found.sort(key=lambda f: (f[1] or "", f[0]), reverse=True)
            picked = [f[0] for f in found[:cap]]
    else:
        total = db.execute(f"SELECT count(*) FROM (SELECT 1 FROM {joined} WHERE {where} LIMIT {COUNT_CAP + 1})",
                           params).fetchone()[0]
    pages = max(1, -(-min(total, cap) // PAGE_SIZE))
    page = min(max(1, query.page), pages)
    if picked is not None:
        shown = picked[(page - 1) * PAGE_SIZE:page * PAGE_SIZE]
        cursor = db.execute(f"SELECT {_LIST_COLUMNS}, c.rowid AS row FROM calls c LEFT JOIN reviewed_scores r"
                            " ON r.call_key = c.key WHERE c.rowid IN (SELECT value FROM json_each(?))",
                            [json.dumps(shown)])
        names = [d[0] for d in cursor.description]
        position = {rowid: n for n, rowid in enumerate(shown)}
        rows = sorted((dict(zip(names, row)) for row in cursor.fetchall()), key=lambda row: position[row.pop("row")])
    else:
        order = (f"{SCORE} IS NULL, {SCORE}, c.call_time DESC" if query.sort == "score"
                 else "c.call_time DESC, c.rowid DESC")
        cursor = db.execute(f"SELECT {_LIST_COLUMNS} FROM {joined} WHERE {where} ORDER BY {order}"
                            f" LIMIT {PAGE_SIZE} OFFSET {(page - 1) * PAGE_SIZE}", driver_params + params)
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, row)) for row in cursor.fetchall()]
    if query.text:
        _add_snippets(db, rows, fts_query(query.text))
    return CallPage(rows, total, page, pages, bool(query.text))


def _add_snippets(db: sqlite3.Connection, rows: list[dict], match: str) -> None:
    for row in rows:
        found = db.execute(
            "SELECT snippet(transcript_index, 0, char(2), char(3), '…', 12) FROM transcript_index"
            " WHERE transcript_index MATCH ? AND rowid = (SELECT rowid FROM transcripts WHERE audio_sha256 = ?"
            " AND asr_key = ?)", (match, row["audio_sha256"], row["asr_key"])).fetchone()
        row["snippet"] = _snippet_parts(found[0]) if found else []


def _snippet_parts(text: str) -> list[tuple[bool, str]]:
    """An FTS snippet as (highlighted, text) pieces, for the template to escape and mark."""
    parts, highlighted = [], False
    for piece in unspaced(text or "").replace("\x03", "\x02").split("\x02"):
        if piece:
            parts.append((highlighted, piece))
        highlighted = not highlighted
    return parts


@dataclass
class Dashboard:
    calls: int
    mean_score: float | None
    reviewed: int
    critical: int
    needs_review: int
    pending_appeals: int
    trend: list[tuple[str, float | None, int, int]]  # day, mean score, calls, calls with a critical failure
    items: list[tuple[str, str, int, int, int]]  # item, title, passes, fails, n/a
    agents: list[tuple[str, str | None, str | None, int, float | None, int]]  # id, name, team, calls, mean, critical


def item_titles(db: sqlite3.Connection) -> dict[str, str]:
    """Item id -> title, in the order of the newest audit's spec (titles joined across languages,
    as the reports do: ``Forbidden phrases / 服务禁语``). Read from one newest audit per language."""
    titles: dict[str, list[str]] = {}
    keys = db.execute("SELECT (SELECT key FROM calls c WHERE c.language IS l.language AND c.status = 'done'"
                      " ORDER BY audited_at DESC LIMIT 1) FROM (SELECT DISTINCT language FROM calls"
                      " WHERE status = 'done') l").fetchall()
    for (key,) in keys:
        for item, title in db.execute("SELECT item, coalesce(title, item) FROM findings WHERE call_key = ?"
                                      " ORDER BY rowid", (key,)):
            if title not in titles.setdefault(item, []):
                titles[item].append(title)
    return {item: " / ".join(names) for item, names in titles.items()}


def _order(titles: dict[str, str]):
    position = {item: n for n, item in enumerate(titles)}
    return lambda item: (position.get(item, len(position)), item)


def call_facts(db: sqlite3.Connection, key: str) -> dict:
    """One audit's row, its measurements and its transcript (parsed)."""
    row = db.execute("SELECT c.*, m.json AS measurements, t.json AS transcript, r.score AS reviewed_score,"
                     " coalesce(r.verdicts, 0) AS reviewed_items FROM calls c"
                     " LEFT JOIN measurements m ON m.call_key = c.key"
                     " LEFT JOIN transcripts t ON t.audio_sha256 = c.audio_sha256 AND t.asr_key = c.asr_key"
                     " LEFT JOIN reviewed_scores r ON r.call_key = c.key WHERE c.key = ?", (key,)).fetchone()
    facts = dict(row)
    facts["measurements"] = json.loads(facts["measurements"]) if facts["measurements"] else None
    facts["transcript"] = json.loads(facts["transcript"]) if facts["transcript"] else None
    facts["metadata"] = json.loads(facts["metadata"]) if facts["metadata"] else None
    return facts
