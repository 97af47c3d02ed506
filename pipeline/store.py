"""The results store: one SQLite file holding runs, transcripts, calls, measurements and findings.

Guarantees the batch relies on:
- a call is written in one transaction (call row, measurements, findings), so a crash leaves it
  either whole or absent, never half;
- a call is its input's path under the archive root (``call_uid``); a call row is keyed by that,
  the input's content hash (``audio_sha256``: the recording's, or the transcript file's), the
  spec version and the ASR key, so a rerun skips what is done, rewriting a call replaces it (never
  a duplicate), and two files are never one call, even when their bytes are identical (the later
  one records ``duplicate_of``);
- transcripts are keyed by content hash + ASR key, independent of the spec and of the path: a
  changed spec, or a copy of a recording, is audited without ASR;
- one batch at a time: an OS lock on ``<db>.lock`` beside the store's real path (symlinks
  resolved), released by the kernel even after SIGKILL; runs a killed batch left ``running`` are
  marked ``interrupted`` by the next batch that takes the lock;
- a file that is not SQLite, or a store of a newer schema, is refused before SQLite opens it for
  writing (nothing is written to it); a store that cannot be written (read-only, a full disk) is a
  ``StoreError`` naming the store and the reason, and every call committed before stays whole;
- readers (the reports) get their rows from the methods below, inside one ``snapshot`` (a read
  transaction): the store owns its SQL and its transactions, the schema is ``pipeline.schema``.
"""

from __future__ import annotations

import fcntl
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from audits.calldata.metadata import CallMetadata
from pipeline.schema import MIGRATIONS

if TYPE_CHECKING:
    from pipeline.call import CallAudit

SCHEMA_VERSION = len(MIGRATIONS)  # (MIGRATIONS is imported from here too)
SQLITE_HEADER = b"SQLite format 3\x00"


class StoreError(Exception):
    """The store cannot be used: not SQLite, a newer schema, read-only, a full disk (exit code 2)."""


class StoreBusy(StoreError):
    """Another batch holds the store."""


@dataclass
class CallInfo:
    """What the batch knows of a call besides its audit: where it came from and whose it is."""

    key: str  # call_key(...)
    call_uid: str  # the call's identity: its path under the archive root
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
    duplicate_of: str | None = None  # the call_uid of an earlier call with byte-identical content


def call_key(content_sha256: str | None, spec_version: str, asr_key: str, call_uid: str) -> str:
    return f"{content_sha256 or 'unread'}:{spec_version}:{asr_key}:{call_uid}"


@dataclass(frozen=True)
class CallRecord:
    """One audited call as the store writes it, in plain values. Made where the call was audited
    (a worker), so the one writer only runs SQL: handing it the audited call instead (thousands of
    small objects) cost the writer more to unpickle than a worker spends re-auditing the call."""

    transcript_json: str | None  # None: the transcript is stored already, unchanged (a re-audit)
    call_columns: tuple  # duration, language, score, critical_failed, role_confidence, needs_review, no_speech
    measurements: tuple  # the measurements row after its key
    findings: tuple[tuple, ...]  # the findings rows after their key
    redactions: tuple[tuple, ...] = ()  # (category, role, start, end) of each redacted entity, never its value

    @classmethod
    def of(cls, call: CallAudit, with_transcript: bool = True) -> CallRecord:
        transcript, result, m = call.transcript, call.result, call.measurements.to_dict()
        return cls(
            call.stored_transcript.to_json(compact=True) if with_transcript else None,
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
                   f.points, int(f.critical), f.figure and json.dumps(f.figure.to_dict()), f.decided,
                   json.dumps(list(f.verification), ensure_ascii=False) if f.verification else None)
                  for f in result.findings),
            tuple((r.category, r.role, round(r.start, 3), round(r.end, 3)) for r in call.redactions),
        )

    @property
    def score(self) -> float | None:
        return self.call_columns[2]


@dataclass(frozen=True)
class Rows:
    """A query's result for readers that build tables: the column names (present even when no row
    is) and the rows as tuples."""

    columns: list[str]
    records: list[tuple]


@dataclass(frozen=True)
class CallFilter:
    """Which calls a reader wants: by the date written in ``call_time`` (the call's local date),
    team and agent (``no_agent``: the calls without one)."""

    first: date | None = None
    last: date | None = None
    team: str | None = None
    agent: str | None = None
    no_agent: bool = False

    def where(self) -> tuple[str, list]:
        """SQL conditions on the calls table (as ``c``) and their parameters."""
        clauses, params = ["1 = 1"], []
        if self.first:
            clauses.append("substr(c.call_time, 1, 10) >= ?")
            params.append(self.first.isoformat())
        if self.last:
            clauses.append("substr(c.call_time, 1, 10) <= ?")
            params.append(self.last.isoformat())
        if self.team:
            clauses.append("c.team = ?")
            params.append(self.team)
        if self.no_agent:
            clauses.append("c.agent_id IS NULL")
        elif self.agent:
            clauses.append("c.agent_id = ?")
            params.append(self.agent)
        return " AND ".join(clauses), params


# The newest audit of each call (its path under the archive): rescoring stores a call again under
# the new spec version, and a recording replaced at the same path is audited again.
# rowid breaks ties between audits stored within the same second (audited_at has whole seconds).
# With the score and item statuses under the reviewers' verdicts where a verdict stands
# (reviewed_scores, pipeline.review.verdicts; reviewed_items 0: none stands).
_NEWEST_DONE = """
    SELECT c.*, m.json AS measurements, r.score AS reviewed_score, r.critical_failed AS reviewed_critical,
           r.statuses AS reviewed_statuses, coalesce(r.verdicts, 0) AS reviewed_items
    FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY call_uid
                                       ORDER BY audited_at DESC, rowid DESC) AS newness
          FROM calls WHERE status = 'done') c
    LEFT JOIN measurements m ON m.call_key = c.key
    LEFT JOIN reviewed_scores r ON r.call_key = c.key
    WHERE c.newness = 1 AND {where}
    ORDER BY c.call_time, c.call_id
"""

# A failure stands while it is the newest attempt at that call: a file that failed and was
# processed later is not listed again (a byte-identical file elsewhere is another call).
_STANDING_FAILURES = """
    SELECT c.call_time, c.path, c.call_id, c.agent_id, c.team, c.error, c.audited_at FROM calls c
    WHERE c.status = 'failed' AND {where} AND NOT EXISTS (
        SELECT 1 FROM calls later
        WHERE later.call_uid = c.call_uid
          AND (later.audited_at > c.audited_at OR (later.audited_at = c.audited_at AND later.rowid > c.rowid)))
    ORDER BY c.call_time, c.path
"""

# Evidence only of failures: a pass's evidence is left in the store (a day's findings are many
# times its calls, and parsing every quote would dominate a report's time and memory).
_FINDINGS = """
    SELECT call_key, item, title, status, reason, CASE status WHEN 'fail' THEN evidence END AS evidence, critical,
           figure, decided
    FROM findings
    WHERE call_key IN (SELECT value FROM json_each(?))
    ORDER BY rowid
"""


def _is_storage_failure(exc: BaseException) -> bool:
    """The disk or the file said no (full, read-only, I/O error, not a database), as opposed to a
    mistake in callqa's own SQL (IntegrityError, ProgrammingError), which stays a bug."""
    return type(exc) in (sqlite3.OperationalError, sqlite3.DatabaseError)


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Store:
    def __init__(self, path: Path | str):
        # Resolved: one store is one lock file, whichever symlink leads to it.
        self.path = Path(path).resolve()
        self._refuse_foreign_file()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE in `transaction`).
            self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        except (OSError, sqlite3.Error) as exc:
            raise self._failure("cannot open the results store", exc) from None
        try:
            self._refuse_newer_schema(self.db.execute("PRAGMA user_version").fetchone()[0])
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA foreign_keys = ON")
            self.db.execute("PRAGMA journal_mode = WAL")  # readers (reports) never block the writer
            self.db.execute("PRAGMA synchronous = NORMAL")
            self._migrate()
        except BaseException as exc:
            self.db.close()
            if _is_storage_failure(exc):
                raise self._failure("cannot open the results store", exc) from None
            raise

    def close(self) -> None:
        self.db.close()

    def _refuse_foreign_file(self) -> None:
        """Read the file's header ourselves, before SQLite opens it read-write: a file that is not
        SQLite, or a store of a newer schema, is left exactly as it is (no journal, no WAL file)."""
        try:
            with open(self.path, "rb") as handle:
                header = handle.read(100)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise self._failure("cannot read the results store", exc) from None
        if header and not header.startswith(SQLITE_HEADER):
            raise StoreError(f"{self.path}: not an SQLite database, so not a callqa results store "
                             f"(left as it is; pass --db with another path)")
        if len(header) >= 64:
            self._refuse_newer_schema(int.from_bytes(header[60:64], "big"))

    def _refuse_newer_schema(self, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.path}: the results store has schema version {version}, newer than this "
                             f"callqa knows ({SCHEMA_VERSION}): upgrade callqa (the store is left as it is)")

    def _failure(self, doing: str, exc: BaseException) -> StoreError:
        if isinstance(exc, OSError):
            reason = exc.strerror or str(exc)
        elif getattr(exc, "sqlite_errorname", "") == "SQLITE_FULL":
            reason = "the disk is full"
        else:
            reason = str(exc)
        return StoreError(f"{self.path}: {doing}: {reason}")

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.transaction():
                for statement in filter(str.strip, script.split(";")):
                    self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {number}")

    @contextmanager
    def transaction(self):
        """One atomic write. A write the disk refuses (full, read-only, I/O error) rolls back and
        raises StoreError: what was committed before is untouched."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")
        except sqlite3.Error as exc:
            if not _is_storage_failure(exc):
                raise
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise self._failure("cannot write the results store (calls stored before are kept)", exc) from None

    @contextmanager
    def batch_lock(self) -> Iterator[list[int]]:
        """Hold the store for one batch; a second batch on the same store gets StoreBusy at once.
        Yields the ids of the runs found ``running`` (their batch was killed), now ``interrupted``."""
        lock_path = self.path.with_name(self.path.name + ".lock")
        try:
            handle = open(lock_path, "a")
        except OSError as exc:
            raise self._failure(f"cannot create the lock file {lock_path}", exc) from None
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise StoreBusy(f"{self.path}: another batch is running on this store (lock {lock_path})") from None
            try:
                yield self._mark_interrupted_runs()
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

    def _mark_interrupted_runs(self) -> list[int]:
        """Runs still ``running`` while we hold the lock were left by a killed batch (every batch
        runs under the lock): mark them ``interrupted``, with the calls they stored and the time of
        their last one."""
        with self.transaction():
            stale = [row[0] for row in self.db.execute("SELECT id FROM runs WHERE status = 'running'")]
            self.db.execute(
                "UPDATE runs SET status = 'interrupted',"
                " finished_at = coalesce((SELECT max(audited_at) FROM calls WHERE run_id = runs.id), started_at),"
                " calls_done = (SELECT count(*) FROM calls WHERE run_id = runs.id AND status = 'done'),"
                " calls_failed = (SELECT count(*) FROM calls WHERE run_id = runs.id AND status = 'failed')"
                " WHERE status = 'running'")
        return stale

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

    def first_call_with_content(self, content_sha256: str, call_uid: str) -> str | None:
        """The earliest stored call, other than ``call_uid``, whose input had these exact bytes."""
        row = self.db.execute(
            "SELECT call_uid FROM calls WHERE audio_sha256 = ? AND call_uid != ? ORDER BY audited_at, rowid LIMIT 1",
            (content_sha256, call_uid)).fetchone()
        return row[0] if row else None

    def stored_calls(self):
        """Every call with a stored transcript, as its newest successful audit has it (for rescore),
        plus transcripts no call row names (their identity, call id and path from the transcript).
        The JSON itself is read per call (``transcript_json``): a store of any size fits in memory."""
        return self.db.execute(
            "SELECT c.call_uid, c.audio_sha256, c.asr_key, c.agent_id, c.agent_name, c.team, c.call_time, c.metadata,"
            " c.path, c.call_id, c.duplicate_of"
            " FROM (SELECT *, row_number() OVER (PARTITION BY call_uid ORDER BY audited_at DESC, rowid DESC) AS newness"
            "       FROM calls WHERE status = 'done') c"
            " JOIN transcripts t ON t.audio_sha256 = c.audio_sha256 AND t.asr_key = c.asr_key"
            " WHERE c.newness = 1"
            " UNION ALL"
            " SELECT coalesce(nullif(json_extract(t.json, '$.source'), ''), t.audio_sha256), t.audio_sha256, t.asr_key,"
            " NULL, NULL, NULL, NULL, NULL, coalesce(json_extract(t.json, '$.source'), ''),"
            " coalesce(json_extract(t.json, '$.call_id'), ''), NULL"
            " FROM transcripts t WHERE NOT EXISTS ("
            "   SELECT 1 FROM calls WHERE audio_sha256 = t.audio_sha256 AND asr_key = t.asr_key)"
        ).fetchall()

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
            self.db.executemany("INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                [(info.key, *finding) for finding in record.findings])
            self.db.executemany("INSERT INTO redactions VALUES (?, ?, ?, ?, ?)",
                                [(info.key, *redaction) for redaction in record.redactions])

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
            " role_confidence, needs_review, no_speech, audited_at, call_uid, duplicate_of)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                info.key, status, error, run_id, info.path, info.call_id, info.audio_sha256, info.spec_name,
                info.spec_version, info.asr_key, info.agent_id, info.agent_name, info.team, info.call_time,
                info.metadata and json.dumps(asdict(info.metadata), ensure_ascii=False),
                *(record.call_columns if record else (None,) * 6 + (0,)), now(), info.call_uid, info.duplicate_of,
            ),
        )

    # --- reading for reports ------------------------------------------------------------------

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """One read transaction: in WAL mode every read inside sees the same state of the store,
        even while a batch goes on writing (a deferred BEGIN takes no write lock: the batch is not held)."""
        self.db.execute("BEGIN DEFERRED")
        try:
            yield
        finally:
            self.db.execute("COMMIT")

    def _rows(self, sql: str, params: list) -> Rows:
        cursor = self.db.execute(sql, params)
        return Rows([d[0] for d in cursor.description], [tuple(row) for row in cursor.fetchall()])

    def newest_done_calls(self, which: CallFilter) -> Rows:
        """Every column of each call's newest successful audit, plus its measurements JSON as
        ``measurements``; by call time."""
        where, params = which.where()
        return self._rows(_NEWEST_DONE.format(where=where), params)

    def standing_failures(self, which: CallFilter) -> Rows:
        """Calls whose newest attempt failed: time, path, call id, agent, team, error, when."""
        where, params = which.where()
        return self._rows(_STANDING_FAILURES.format(where=where), params)

    def newest_verdicts(self, call_uid: str) -> tuple[str | None, dict[str, str]]:
        """The spec version of a call's newest successful audit, and its status per item (for
        ``rescore --dry-run``)."""
        row = self.db.execute("SELECT key, spec_version FROM calls WHERE call_uid = ? AND status = 'done'"
                              " ORDER BY audited_at DESC, rowid DESC LIMIT 1", (call_uid,)).fetchone()
        if row is None:
            return None, {}
        items = self.db.execute("SELECT item, status FROM findings WHERE call_key = ?", (row[0],)).fetchall()
        return row[1], dict(items)

    def findings_of(self, call_keys: list[str]) -> Rows:
        """The findings of these calls in stored (spec) order; ``evidence`` only of failures, the
        ``figure`` of every measured item."""
        return self._rows(_FINDINGS, [json.dumps(call_keys)])
