"""The results store: one SQLite file holding runs, transcripts, calls, measurements and findings.

Guarantees the batch relies on:
- a call is written in one transaction (call row, measurements, findings), so a crash leaves it
  either whole or absent, never half;
- calls are keyed by audio content hash + spec version + ASR key, so a rerun skips what is done and
  rewriting a call replaces it (never a duplicate);
- transcripts are keyed by audio hash + ASR key, independent of the spec: a changed spec re-audits
  them without ASR;
- one batch at a time: an OS lock on ``<db>.lock``, released by the kernel even after SIGKILL.
"""

from __future__ import annotations

import fcntl
import json
import sqlite3
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.metadata import CallMetadata

if TYPE_CHECKING:
    from pipeline.call import CallAudit

# Each entry migrates the schema from version i to i + 1 (PRAGMA user_version).
MIGRATIONS = [
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        archive TEXT,
        spec_name TEXT,
        spec_version TEXT,
        asr_key TEXT,
        status TEXT NOT NULL DEFAULT 'running',
        calls_seen INTEGER DEFAULT 0,
        calls_done INTEGER DEFAULT 0,
        calls_skipped INTEGER DEFAULT 0,
        calls_failed INTEGER DEFAULT 0
    );
    CREATE TABLE transcripts (
        audio_sha256 TEXT NOT NULL,
        asr_key TEXT NOT NULL,
        json TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (audio_sha256, asr_key)
    );
    CREATE TABLE calls (
        key TEXT PRIMARY KEY,
        status TEXT NOT NULL CHECK (status IN ('done', 'failed')),
        error TEXT,
        run_id INTEGER REFERENCES runs (id),
        path TEXT NOT NULL,
        call_id TEXT NOT NULL,
        audio_sha256 TEXT,
        spec_name TEXT,
        spec_version TEXT,
        asr_key TEXT,
        agent_id TEXT,
        agent_name TEXT,
        team TEXT,
        call_time TEXT,
        metadata TEXT,
        duration REAL,
        language TEXT,
        score REAL,
        critical_failed TEXT,
        role_confidence REAL,
        needs_review INTEGER,
        audited_at TEXT NOT NULL
    );
    CREATE INDEX calls_agent_time ON calls (agent_id, call_time);
    CREATE TABLE measurements (
        call_key TEXT PRIMARY KEY REFERENCES calls (key) ON DELETE CASCADE,
        json TEXT NOT NULL,
        ring_seconds REAL,
        answer_delay REAL,
        talk_agent REAL,
        talk_customer REAL,
        non_talk REAL,
        silences INTEGER,
        longest_silence REAL,
        interruptions INTEGER,
        interruption_seconds REAL,
        holds INTEGER,
        hold_seconds REAL,
        agent_speech_rate REAL,
        speech_rate_unit TEXT
    );
    CREATE TABLE findings (
        call_key TEXT NOT NULL REFERENCES calls (key) ON DELETE CASCADE,
        item TEXT NOT NULL,
        title TEXT,
        status TEXT NOT NULL CHECK (status IN ('pass', 'fail', 'na')),
        reason TEXT,
        evidence TEXT NOT NULL,
        points REAL,
        critical INTEGER,
        PRIMARY KEY (call_key, item)
    );
    """,
    # A call in which nobody spoke is done (not redone by a rerun) but has no score.
    """
    ALTER TABLE calls ADD COLUMN no_speech INTEGER NOT NULL DEFAULT 0;
    """,
]


class StoreBusy(Exception):
    """Another batch holds the store."""


@dataclass
class CallInfo:
    """What the batch knows of a call besides its audit: where it came from and whose it is."""

    key: str
    path: str
    call_id: str
    audio_sha256: str | None
    spec_name: str
    spec_version: str
    asr_key: str
    agent_id: str | None = None
    agent_name: str | None = None
    team: str | None = None
    call_time: str | None = None  # ISO 8601
    metadata: CallMetadata | None = None


@dataclass(frozen=True)
class CallRecord:
    """One audited call as the store writes it, in plain values. Made where the call was audited
    (a worker), so the one writer only runs SQL: handing it the audited call instead (thousands of
    small objects) cost the writer more to unpickle than a worker spends re-auditing the call."""

    transcript_json: str | None  # None: the transcript is stored already, unchanged (a re-audit)
    call_columns: tuple  # duration, language, score, critical_failed, role_confidence, needs_review, no_speech
    measurements: tuple  # the measurements row after its key
    findings: tuple[tuple, ...]  # the findings rows after their key

    @classmethod
    def of(cls, call: CallAudit, with_transcript: bool = True) -> CallRecord:
        transcript, result, m = call.transcript, call.result, call.measurements.to_dict()
        return cls(
            transcript.to_json(compact=True) if with_transcript else None,
            (transcript.duration, transcript.language, result.score,
             json.dumps(result.critical_failed, ensure_ascii=False), transcript.roles.confidence,
             int(transcript.roles.needs_review), int(result.no_speech)),
            (json.dumps(m, ensure_ascii=False), m["ring_seconds"], m["answer_delay"],
             m["talk_time"].get("agent", 0.0), m["talk_time"].get("customer", 0.0), m["non_talk_total"],
             len(m["silences"]), max((s["seconds"] for s in m["silences"]), default=0.0),
             len(m["interruptions"]), sum(i["seconds"] for i in m["interruptions"]),
             len(m["holds"]), sum(h["seconds"] for h in m["holds"]),
             m["speech_rate"].get("agent"), m["speech_rate_unit"]),
            tuple((f.item, f.title, f.status, f.reason, json.dumps([e.to_dict() for e in f.evidence], ensure_ascii=False),
                   f.points, int(f.critical)) for f in result.findings),
        )

    @property
    def score(self) -> float | None:
        return self.call_columns[2]


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Store:
    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE in `transaction`).
        self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA foreign_keys = ON")
        self.db.execute("PRAGMA journal_mode = WAL")  # readers (reports) never block the writer
        self.db.execute("PRAGMA synchronous = NORMAL")
        self._migrate()

    def close(self) -> None:
        self.db.close()

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.transaction():
                for statement in filter(str.strip, script.split(";")):
                    self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {number}")

    @contextmanager
    def transaction(self):
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    @contextmanager
    def batch_lock(self):
        """Hold the store for one batch; a second batch on the same store gets StoreBusy at once."""
        lock_path = self.path.with_name(self.path.name + ".lock")
        with open(lock_path, "w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise StoreBusy(f"{self.path}: another batch is running on this store (lock {lock_path})") from None
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # --- runs -------------------------------------------------------------------------------

    def start_run(self, archive: str, spec_name: str, spec_version: str, asr_key: str) -> int:
        with self.transaction():
            cursor = self.db.execute(
                "INSERT INTO runs (started_at, archive, spec_name, spec_version, asr_key) VALUES (?, ?, ?, ?, ?)",
                (now(), archive, spec_name, spec_version, asr_key),
            )
        return cursor.lastrowid

    def finish_run(self, run_id: int, status: str, seen: int, done: int, skipped: int, failed: int) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE runs SET finished_at = ?, status = ?, calls_seen = ?, calls_done = ?, calls_skipped = ?,"
                " calls_failed = ? WHERE id = ?",
                (now(), status, seen, done, skipped, failed, run_id),
            )

    # --- calls ------------------------------------------------------------------------------

    def done_keys(self) -> set[str]:
        return {row[0] for row in self.db.execute("SELECT key FROM calls WHERE status = 'done'")}

    def transcript_json(self, audio_sha256: str, asr_key: str) -> str | None:
        """The stored transcript's JSON text (parsed where it is audited, in a worker)."""
        row = self.db.execute(
            "SELECT json FROM transcripts WHERE audio_sha256 = ? AND asr_key = ?", (audio_sha256, asr_key)
        ).fetchone()
        return row[0] if row else None

    def transcripts(self, asr_key: str | None = None):
        """Every stored transcript's keys with the newest call info that used it (for rescore): the
        JSON itself is read per call (``transcript_json``), so a store of any size fits in memory.
        ``call_id`` / ``path`` come from the transcript when no call row has them."""
        query = (
            "SELECT t.audio_sha256, t.asr_key, c.agent_id, c.agent_name, c.team, c.call_time, c.metadata,"
            " coalesce(c.path, json_extract(t.json, '$.source'), '') AS path,"
            " coalesce(c.call_id, json_extract(t.json, '$.call_id'), '') AS call_id"
            " FROM transcripts t LEFT JOIN calls c ON c.key = ("
            "   SELECT key FROM calls WHERE audio_sha256 = t.audio_sha256 AND asr_key = t.asr_key"
            "   ORDER BY audited_at DESC LIMIT 1)"
        )
        params: tuple = ()
        if asr_key:
            query += " WHERE t.asr_key = ?"
            params = (asr_key,)
        return self.db.execute(query, params).fetchall()

    def save_call(self, run_id: int | None, info: CallInfo, record: CallRecord) -> None:
        """Store one audited call (and its transcript, when the record carries it), atomically."""
        with self.transaction():
            if record.transcript_json is not None:
                self.db.execute(
                    "INSERT OR REPLACE INTO transcripts (audio_sha256, asr_key, json, created_at) VALUES (?, ?, ?, ?)",
                    (info.audio_sha256, info.asr_key, record.transcript_json, now()),
                )
            self._replace_call(run_id, info, "done", None, record)
            self.db.execute("INSERT INTO measurements VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            (info.key, *record.measurements))
            self.db.executemany("INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                [(info.key, *finding) for finding in record.findings])

    def save_failure(self, run_id: int | None, info: CallInfo, error: str) -> None:
        with self.transaction():
            self._replace_call(run_id, info, "failed", error, None)

    def _replace_call(self, run_id: int | None, info: CallInfo, status: str, error: str | None,
                      record: CallRecord | None) -> None:
        # ON DELETE CASCADE removes the old measurements and findings with the old row.
        self.db.execute("DELETE FROM calls WHERE key = ?", (info.key,))
        self.db.execute(
            "INSERT INTO calls (key, status, error, run_id, path, call_id, audio_sha256, spec_name, spec_version,"
            " asr_key, agent_id, agent_name, team, call_time, metadata, duration, language, score, critical_failed,"
            " role_confidence, needs_review, no_speech, audited_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                info.key, status, error, run_id, info.path, info.call_id, info.audio_sha256, info.spec_name,
                info.spec_version, info.asr_key, info.agent_id, info.agent_name, info.team, info.call_time,
                info.metadata and json.dumps(asdict(info.metadata), ensure_ascii=False),
                *(record.call_columns if record else (None,) * 6 + (0,)), now(),
            ),
        )
