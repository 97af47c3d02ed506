"""Human verdicts beside the machine's findings: reviews, appeals and their decisions, the score
under them, and how often reviewers overturn each item (calibration).

A verdict row is keyed by the call's identity, the item and the spec version of the audit it was
given on, and records the recording's content hash and the machine status the reviewer judged.
It **stands** for a call's newest audit while that audit is of the same recording and the machine
still gives the item the status the reviewer judged: a ``--force`` rerun, or a rescore whose spec
change left the item's verdict as it was, keeps it; a re-recorded file, or a machine verdict that
changed, does not (the verdict stays in the history and on the call page, marked as not
standing). Among several standing rows (one per spec version) the audit's own spec version's wins,
then the most recent.

The score under the human verdicts is ``audits.findings.score_of`` over the effective statuses
(human where a verdict stands, else the machine's), cached per audit in ``reviewed_scores`` with
the effective status of every item (what dashboards and filters count for a reviewed call)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from audits.findings import STATUSES, score_of
from pipeline.review.users import User
from pipeline.store import Store, now

DECISIONS = ("confirm", "overturn")


class ReviewError(Exception):
    """A review action that cannot be done; the message says why (shown to the user)."""


class NotAllowed(ReviewError):
    """The user's role may not do this."""


class NotVisible(NotAllowed):
    """No such call, or not the user's to see (the same answer for both)."""


_NEWEST = ("SELECT key, call_uid, call_id, spec_version, audio_sha256, agent_id, agent_name, team, call_time, score,"
           " status"
           " FROM calls WHERE call_uid = ? AND status = 'done' ORDER BY audited_at DESC, rowid DESC LIMIT 1")


def newest_audit(db: sqlite3.Connection, call_uid: str) -> sqlite3.Row | None:
    """The call's newest successful audit (the one pages, scores and reports show)."""
    db.row_factory = sqlite3.Row
    return db.execute(_NEWEST, (call_uid,)).fetchone()


def may_see(user: User, agent_id: str | None) -> bool:
    """Reviewers and admins see every call; an agent only the calls carrying their agent id."""
    return user.reviews or (user.agent_id is not None and agent_id == user.agent_id)


def visible_audit(db: sqlite3.Connection, user: User, call_uid: str) -> sqlite3.Row:
    """The newest audit of a call the user may see; NotVisible for one they may not, and for a
    call that does not exist (the same answer, so an agent cannot probe for other agents' calls)."""
    audit = newest_audit(db, call_uid)
    if audit is None or not may_see(user, audit["agent_id"]):
        raise NotVisible("no such call, or not yours to see")
    return audit


@dataclass
class ItemVerdict:
    """One finding of an audit with the human verdict standing for it (if any)."""

    item: str
    title: str
    machine_status: str
    reason: str
    evidence: list[dict]
    points: float
    critical: bool
    figure: dict | None
    verdict: sqlite3.Row | None  # the standing verdict row, or None

    @property
    def status(self) -> str:
        """The effective status: the human's where one stands, else the machine's."""
        if self.verdict is not None and self.verdict["human_status"]:
            return self.verdict["human_status"]
        return self.machine_status

    @property
    def appeal(self) -> str | None:
        return self.verdict["appeal"] if self.verdict is not None else None

    def state(self) -> dict:
        """What an event records before and after a change."""
        v = self.verdict
        return {"status": self.status, "machine_status": self.machine_status,
                "human_status": v["human_status"] if v is not None else None,
                "review": v["review"] if v is not None else None, "appeal": v["appeal"] if v is not None else None,
                "spec_version": v["spec_version"] if v is not None else None}


def _standing(rows: list[sqlite3.Row], audit: sqlite3.Row, item: str, machine_status: str) -> sqlite3.Row | None:
    candidates = [v for v in rows if v["item"] == item and v["machine_status"] == machine_status
                  and v["audio_sha256"] == audit["audio_sha256"]]
    if not candidates:
        return None
    own = [v for v in candidates if v["spec_version"] == audit["spec_version"]]
    return max(own or candidates, key=lambda v: max(v["reviewed_at"] or "", v["appealed_at"] or "",
                                                     v["decided_at"] or ""))


def audit_verdicts(db: sqlite3.Connection, audit: sqlite3.Row) -> list[ItemVerdict]:
    """The audit's findings in spec order, each with the verdict standing for it."""
    db.row_factory = sqlite3.Row
    rows = db.execute("SELECT * FROM verdicts WHERE call_uid = ?", (audit["call_uid"],)).fetchall()
    findings = db.execute("SELECT item, title, status, reason, evidence, points, critical, figure FROM findings"
                          " WHERE call_key = ? ORDER BY rowid", (audit["key"],)).fetchall()
    return [ItemVerdict(f["item"], f["title"] or f["item"], f["status"], f["reason"] or "",
                        json.loads(f["evidence"]), f["points"] or 0.0, bool(f["critical"]),
                        json.loads(f["figure"]) if f["figure"] else None,
                        _standing(rows, audit, f["item"], f["status"])) for f in findings]


def verdict_history(db: sqlite3.Connection, call_uid: str) -> list[sqlite3.Row]:
    """Every change made to the call's verdicts, oldest first (any spec version)."""
    db.row_factory = sqlite3.Row
    return db.execute("SELECT * FROM verdict_events WHERE call_uid = ? ORDER BY id", (call_uid,)).fetchall()


def _score_row(db: sqlite3.Connection, audit: sqlite3.Row, items: list[ItemVerdict]) -> None:
    standing = [i for i in items if i.verdict is not None and i.verdict["human_status"]]
    score = score_of((i.status, i.points, i.critical) for i in items)
    critical = [i.item for i in items if i.critical and i.status == "fail"]
    statuses = {i.item: i.status for i in items}
    db.execute("INSERT OR REPLACE INTO reviewed_scores VALUES (?, ?, ?, ?, ?)",
               (audit["key"], score, json.dumps(critical), json.dumps(statuses), len(standing)))


def refresh_scores(store: Store) -> int:
    """Work out the reviewed score of every reviewed call whose newest audit has none yet (a call
    stored again by a rerun or a rescore); returns how many. Cheap when nothing is missing: it
    reads the verdicts' calls only."""
    db = store.db
    missing = db.execute(
        "SELECT DISTINCT v.call_uid FROM verdicts v WHERE NOT EXISTS ("
        " SELECT 1 FROM reviewed_scores r WHERE r.call_key = (SELECT key FROM calls c WHERE c.call_uid = v.call_uid"
        "  AND c.status = 'done' ORDER BY audited_at DESC, rowid DESC LIMIT 1))").fetchall()
    done = 0
    for (call_uid,) in missing:
        with store.transaction():
            audit = newest_audit(db, call_uid)
            if audit is not None:
                _score_row(db, audit, audit_verdicts(db, audit))
                done += 1
    return done


def _find(items: list[ItemVerdict], item: str) -> ItemVerdict:
    for candidate in items:
        if candidate.item == item:
            return candidate
    raise ReviewError(f"the call has no checklist item {item!r}")


def _change(store: Store, user: User, call_uid: str, item: str, action: str, comment: str, apply) -> dict:
    """Run one action on one finding in one transaction: the verdict row, its event, the score."""
    with store.transaction() as db:
        audit = visible_audit(db, user, call_uid)
        items = audit_verdicts(db, audit)
        finding = _find(items, item)
        before = finding.state()
        fields = apply(finding)
        current = dict(finding.verdict) if finding.verdict is not None else {}
        row = {"call_uid": call_uid, "item": item, "spec_version": audit["spec_version"],
               "audio_sha256": audit["audio_sha256"], "machine_status": finding.machine_status}
        if current.get("spec_version") == audit["spec_version"]:
            row = {**current, **row}
        else:  # a verdict carried from another spec version: this audit's own row starts from it
            row.update({k: current.get(k) for k in ("human_status", "review", "reviewer", "reviewed_at", "comment",
                                                    "appeal", "appeal_by", "appeal_reason", "appealed_at",
                                                    "decided_by", "decision_comment", "decided_at")})
        row.update(fields)
        names = list(row)
        db.execute(f"INSERT OR REPLACE INTO verdicts ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                   [row[n] for n in names])
        items = audit_verdicts(db, audit)
        after = _find(items, item).state()
        db.execute("INSERT INTO verdict_events (call_uid, item, spec_version, action, actor, at, before, after,"
                   " comment)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (call_uid, item, audit["spec_version"], action, user.name, now(),
                    json.dumps(before), json.dumps(after), comment))
        _score_row(db, audit, items)
    return after


def _comment(text: str | None, required: str | None) -> str:
    text = (text or "").strip()
    if required and not text:
        raise ReviewError(required)
    if len(text) > 4000:
        raise ReviewError("at most 4000 characters, please")
    return text


def review(store: Store, user: User, call_uid: str, item: str, decision: str, comment: str | None = None,
           status: str | None = None) -> dict:
    """A reviewer confirms the machine's status of a finding, or overturns it to ``status`` (a
    comment is required then). Returns the finding's state afterwards."""
    if not user.reviews:
        raise NotAllowed("only reviewers and admins review findings")
    if decision not in DECISIONS:
        raise ReviewError(f"decision {decision!r}: confirm or overturn")
    text = _comment(comment, "say why the machine was wrong" if decision == "overturn" else None)

    def apply(finding: ItemVerdict) -> dict:
        if finding.appeal == "pending":
            raise ReviewError("an appeal is pending on this finding: accept or reject it")
        if decision == "confirm":
            human = finding.machine_status
        elif status not in STATUSES or status == finding.machine_status:
            raise ReviewError(f"overturn to what? the machine said {finding.machine_status}; choose another status")
        else:
            human = status
        return {"human_status": human, "review": "confirmed" if decision == "confirm" else "overturned",
                "reviewer": user.name, "reviewed_at": now(), "comment": text}

    return _change(store, user, call_uid, item, decision, text, apply)


def appeal(store: Store, user: User, call_uid: str, item: str, reason: str | None) -> dict:
    """The call's agent appeals a failed finding (申诉), with a reason."""
    if user.role != "agent":
        raise NotAllowed("only the call's agent appeals its findings")
    text = _comment(reason, "give the reason for the appeal")

    def apply(finding: ItemVerdict) -> dict:
        if finding.appeal == "pending":
            raise ReviewError("this finding's appeal is already pending")
        if finding.appeal in ("accepted", "rejected"):
            raise ReviewError(f"this finding's appeal was {finding.appeal} already")
        if finding.status != "fail":
            raise ReviewError("only a failed finding can be appealed")
        return {"appeal": "pending", "appeal_by": user.name, "appeal_reason": text, "appealed_at": now()}

    return _change(store, user, call_uid, item, "appeal", text, apply)


def decide(store: Store, user: User, call_uid: str, item: str, accept: bool, comment: str | None = None,
           status: str = "pass") -> dict:
    """A reviewer accepts a pending appeal (the finding becomes ``status``: pass, or na) or rejects
    it (the finding stays failed)."""
    if not user.reviews:
        raise NotAllowed("only reviewers and admins decide appeals")
    if accept and status not in ("pass", "na"):
        raise ReviewError("an accepted appeal makes the finding pass or na")
    text = _comment(comment, None if accept else "say why the appeal is rejected")

    def apply(finding: ItemVerdict) -> dict:
        if finding.appeal != "pending":
            raise ReviewError("no pending appeal on this finding")
        human = status if accept else "fail"
        return {"appeal": "accepted" if accept else "rejected", "decided_by": user.name, "decided_at": now(),
                "decision_comment": text, "human_status": human,
                "review": "confirmed" if human == finding.machine_status else "overturned",
                "reviewer": user.name, "reviewed_at": now()}

    return _change(store, user, call_uid, item, "accept" if accept else "reject", text, apply)


@dataclass(frozen=True)
class ItemCalibration:
    item: str
    reviewed: int  # findings a reviewer decided (review or appeal decision)
    overturned: int
    machine_fails: int  # reviewed findings the machine failed ...
    false_fails: int  # ... that the reviewer made pass or na
    machine_passes: int  # reviewed findings the machine passed ...
    false_passes: int  # ... that the reviewer failed

    @property
    def overturn_rate(self) -> float | None:
        return self.overturned / self.reviewed if self.reviewed else None

    @property
    def false_fail_rate(self) -> float | None:
        return self.false_fails / self.machine_fails if self.machine_fails else None

    @property
    def false_pass_rate(self) -> float | None:
        return self.false_passes / self.machine_passes if self.machine_passes else None


def calibration(db: sqlite3.Connection, call_uids: list[str] | None = None) -> list[ItemCalibration]:
    """Per checklist item, how often reviewers overturned the machine, over every reviewed verdict
    (or those of ``call_uids``). False fail: the machine failed, the reviewer passed (or n/a'd) it;
    false pass: the machine passed, the reviewer failed it."""
    where, params = "v.review IS NOT NULL", []
    if call_uids is not None:
        where += " AND v.call_uid IN (SELECT value FROM json_each(?))"
        params.append(json.dumps(call_uids))
    rows = db.execute(
        "SELECT item, count(*), sum(review = 'overturned'), sum(machine_status = 'fail'),"
        " sum(machine_status = 'fail' AND human_status != 'fail'), sum(machine_status = 'pass'),"
        f" sum(machine_status = 'pass' AND human_status = 'fail') FROM verdicts v WHERE {where}"
        " GROUP BY item ORDER BY item", params).fetchall()
    return [ItemCalibration(*row) for row in rows]
