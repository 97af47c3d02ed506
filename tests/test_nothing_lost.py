"""Nothing lost, nothing overwritten (issue #14, part 3): real files, real stores, real processes.

Untrusted call ids never form a path; distinct calls are never merged and duplicates are named;
a store that cannot be used (not SQLite, a newer schema, read-only, a full disk) and an unwritable
output folder end in one line and exit 2 with everything committed intact; the batch lock holds
through symlinks; workers die with their parent; killed runs are marked interrupted.
"""

from __future__ import annotations

import csv
import json
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SAMPLES
from filesystems import fill, read_only, tiny_filesystem

from pipeline.files import safe_file_name
from pipeline.store import SCHEMA_VERSION, Store

CALLQA = [str(Path(sys.executable).parent / "callqa")]
TRANSCRIPTS = SAMPLES / "transcripts"


def callqa(*args: str, **options) -> subprocess.CompletedProcess:
    return subprocess.run([*CALLQA, *map(str, args)], capture_output=True, text=True, timeout=600, **options)


def transcript_file(path: Path, name: str = "en_01_compliant", **changes) -> Path:
    """A sample transcript written to ``path`` with some fields changed (call_id, audio_sha256...)."""
    data = json.loads((TRANSCRIPTS / f"{name}.json").read_text(encoding="utf-8"))
    data.update(changes)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def one_error_line(run: subprocess.CompletedProcess) -> str:
    """The one error line, last on stderr (after any progress lines of calls done before it)."""
    lines = run.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error:")]
    assert errors == lines[-1:] and "Traceback" not in run.stderr, run.stderr
    return errors[0]


# --- audit --out: untrusted call ids ---------------------------------------------------------------


def test_audit_out_writes_every_call_inside_the_folder_whatever_its_id(tmp_path):
    out = tmp_path / "deep" / "out"
    ids = ["../../escaped", str(tmp_path / "absolute"), "a/b", "a_b", "same", "same", ".hidden", "victim", "合规-01"]
    inputs = [transcript_file(tmp_path / "in" / f"{number}.json", call_id=call_id) for number, call_id in enumerate(ids)]
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me")
    out.mkdir(parents=True)
    (out / "victim.json").symlink_to(precious)  # planted: writing through it would leave the folder

    run = callqa("audit", *inputs, "--out", out, "--json")
    assert run.returncode == 0, run.stderr
    written = sorted(path for path in tmp_path.rglob("*.json") if path.parent != tmp_path / "in")
    assert all(path.parent == out for path in written), written
    assert len(written) == len(ids)
    assert not (tmp_path / "absolute.json").exists() and not (tmp_path / "escaped.json").exists()
    assert precious.read_text() == "keep me" and not (out / "victim.json").is_symlink()
    by_name = {path.name: json.loads(path.read_text(encoding="utf-8"))["call_id"] for path in written}
    assert sorted(by_name.values()) == sorted(ids)  # every call has its own file: none overwritten
    assert by_name[safe_file_name("../../escaped", ".json")] == "../../escaped"
    assert by_name["a_b.json"] == "a_b" and by_name[safe_file_name("a/b", ".json")] == "a/b"
    assert by_name["same.json"] == by_name[safe_file_name("same-2", ".json")] == "same"
    assert by_name["合规-01.json"] == "合规-01"
    assert "already written in this run" in run.stderr
    assert all(not name.startswith(".") and "/" not in name for name in by_name)


def test_audit_out_unwritable_exits_2_with_one_line_before_any_work(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "call.json").write_text("yesterday's")
    with read_only(out):
        run = callqa("audit", transcript_file(tmp_path / "call.json", call_id="call"), "--out", out)
    assert run.returncode == 2
    assert str(out) in one_error_line(run) and "cannot write" in run.stderr
    assert (out / "call.json").read_text() == "yesterday's" and run.stdout == ""


def test_audit_out_on_a_full_disk_exits_2_and_leaves_the_earlier_file_whole(tmp_path):
    with tiny_filesystem(tmp_path / "out", kib=256) as out:
        (out / "call.json").write_text("yesterday's")
        fill(out, leave_bytes=8192)  # room for the write test, not for a call's document
        run = callqa("audit", transcript_file(tmp_path / "in.json", call_id="call"), "--out", out, "--json")
        assert run.returncode == 2
        assert "No space left on device" in one_error_line(run)
        assert (out / "call.json").read_text() == "yesterday's"
        assert sorted(path.name for path in out.iterdir()) == ["call.json", "filler"]


# --- the store: refused, read-only, full; the batch lock; interrupted runs ---------------------------


def transcript_archive(root: Path, count: int) -> Path:
    """``count`` distinct transcript files (the English samples) in agent folders: a batch with no ASR."""
    names = sorted(path.stem for path in TRANSCRIPTS.glob("en_*.json") if "_mono" not in path.stem)[:count]
    for number, name in enumerate(names):
        transcript_file(root / f"A{number % 2}" / f"{name}.json", name)
    return root


def batch(archive: Path, db: Path, *extra) -> subprocess.CompletedProcess:
    return callqa("batch", archive, "--ext", "json", "--db", db, "--no-report", *extra)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file()}


def rows(db: Path, query: str) -> list[tuple]:
    connection = sqlite3.connect(db)
    try:
        return connection.execute(query).fetchall()
    finally:
        connection.close()


def test_a_file_that_is_not_sqlite_is_refused_and_left_as_it_is(tmp_path):
    archive = transcript_archive(tmp_path / "archive", 2)
    db = tmp_path / "store" / "qa.sqlite"
    db.parent.mkdir()
    db.write_text("call_id,score\nC1,100\n")  # someone's CSV, passed as --db by mistake
    before = snapshot(db.parent)
    for run in (batch(archive, db), callqa("rescore", "--db", db), callqa("report", "--db", db, "--out", tmp_path)):
        assert run.returncode == 2
        assert "not an SQLite database" in one_error_line(run) and str(db) in run.stderr
    assert snapshot(db.parent) == before  # no journal, no WAL, no lock file


def test_a_store_of_a_newer_schema_is_refused_and_never_written(tmp_path):
    archive = transcript_archive(tmp_path / "archive", 2)
    db = tmp_path / "store" / "qa.sqlite"
    assert batch(archive, db).returncode == 0
    newer = SCHEMA_VERSION + 1
    connection = sqlite3.connect(db)
    connection.execute(f"PRAGMA user_version = {newer}")  # what a later callqa would have migrated to
    connection.close()
    before = snapshot(db.parent)
    for run in (batch(archive, db, "--force"), callqa("rescore", "--db", db),
                callqa("report", "--db", db, "--out", tmp_path / "reports")):
        assert run.returncode == 2
        assert f"schema version {newer}, newer than this callqa knows ({SCHEMA_VERSION})" in one_error_line(run)
    assert snapshot(db.parent) == before and not (tmp_path / "reports").exists()


def test_a_store_in_a_read_only_folder_exits_2_and_keeps_its_calls(tmp_path):
    archive = transcript_archive(tmp_path / "archive", 4)
    db = tmp_path / "store" / "qa.sqlite"
    assert batch(archive, db, "--exclude", "A1/*").returncode == 0  # two calls stored
    before = snapshot(db.parent)
    with read_only(db.parent):
        run = batch(archive, db)
        fresh = batch(archive, db.parent / "new.sqlite")
    for failed in (run, fresh):
        assert failed.returncode == 2 and str(db.parent) in one_error_line(failed)
    assert snapshot(db.parent) == before
    assert rows(db, "SELECT count(*) FROM calls WHERE status = 'done'") == [(2,)]


def test_a_full_disk_mid_batch_exits_2_keeps_every_committed_call_and_the_rerun_completes(tmp_path):
    archive = transcript_archive(tmp_path / "archive", 16)
    with tiny_filesystem(tmp_path / "store", kib=8192) as folder:
        db = folder / "qa.sqlite"
        assert batch(archive, db, "--exclude", "A1/*", "--exclude", "A0/en_1*").returncode == 0
        stored = rows(db, "SELECT count(*) FROM calls")[0][0]
        filler = fill(folder, leave_bytes=160 * 1024)  # room for a few more calls, not for all
        run = batch(archive, db)
        assert run.returncode == 2
        assert f"{db}: cannot write the results store (calls stored before are kept): the disk is full" \
            in one_error_line(run)
        assert rows(db, "PRAGMA integrity_check") == [("ok",)]
        done = rows(db, "SELECT count(*), count(DISTINCT key) FROM calls WHERE status = 'done'")[0]
        assert stored < done[0] < 16 and done[0] == done[1]
        assert rows(db, "SELECT count(*) FROM findings WHERE call_key NOT IN (SELECT key FROM calls)") == [(0,)]

        filler.unlink()
        rerun = batch(archive, db)
        assert rerun.returncode == 0, rerun.stderr
        assert rows(db, "SELECT count(*), count(DISTINCT key) FROM calls WHERE status = 'done'") == [(16, 16)]
        assert [status for (status,) in rows(db, "SELECT status FROM runs ORDER BY id")] == [
            "finished", "interrupted", "finished"]


@pytest.mark.parametrize("held_through, run_through", [("real", "file link"), ("file link", "real"),
                                                       ("folder link", "real")])
def test_the_batch_lock_holds_whatever_path_reaches_the_store(tmp_path, held_through, run_through):
    archive = transcript_archive(tmp_path / "archive", 2)
    real = tmp_path / "store" / "qa.sqlite"
    Store(real).close()
    (tmp_path / "qa-link.sqlite").symlink_to(real)
    (tmp_path / "store-link").symlink_to(real.parent)
    paths = {"real": real, "file link": tmp_path / "qa-link.sqlite", "folder link": tmp_path / "store-link" / "qa.sqlite"}
    holder = Store(paths[held_through])
    try:
        with holder.batch_lock():
            run = batch(archive, paths[run_through])
    finally:
        holder.close()
    assert run.returncode == 2 and "another batch is running" in one_error_line(run)
    assert rows(real, "SELECT count(*) FROM runs") == [(0,)]


KILLED_MID_RUN = """
import os, signal, sys
from pipeline.store import Store
store = Store(sys.argv[1])
with store.batch_lock():
    store.start_run("/archive", "en", "v", "asr")
    if sys.argv[2] == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    print("holding", flush=True)
    sys.stdin.read()
"""


def test_a_killed_run_is_marked_interrupted_by_the_next_batch_and_a_live_one_is_left_running(tmp_path):
    archive = transcript_archive(tmp_path / "archive", 2)
    db = tmp_path / "qa.sqlite"
    killed = subprocess.run([sys.executable, "-c", KILLED_MID_RUN, str(db), "die"], capture_output=True)
    assert killed.returncode == -signal.SIGKILL
    assert rows(db, "SELECT status FROM runs") == [("running",)]

    live = subprocess.Popen([sys.executable, "-c", KILLED_MID_RUN, str(db), "live"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert live.stdout.readline() == "holding\n"
        # Taking the lock, the live batch marked the killed one's run; its own really is running, and
        # a batch refused by its lock leaves it so.
        refused = batch(archive, db)
        assert refused.returncode == 2 and "another batch is running" in refused.stderr
        assert rows(db, "SELECT id, status FROM runs ORDER BY id") == [(1, "interrupted"), (2, "running")]
    finally:
        live.kill()
        live.wait()

    run = batch(archive, db)
    assert run.returncode == 0, run.stderr
    assert "run 2 ended without finishing (killed?): marked interrupted" in run.stderr
    assert rows(db, "SELECT id, status, finished_at IS NOT NULL FROM runs ORDER BY id") == [
        (1, "interrupted", 1), (2, "interrupted", 1), (3, "finished", 1)]


def test_an_unwritable_reports_folder_exits_2_before_the_batch_and_leaves_earlier_reports(tmp_path):
    archive = transcript_archive(tmp_path / "archive", 2)
    db, out = tmp_path / "qa.sqlite", tmp_path / "reports"
    assert callqa("batch", archive, "--ext", "json", "--db", db, "--out", out).returncode == 0
    before = snapshot(out)
    assert any(name.endswith(".xlsx") for name in before)
    with read_only(out):
        refused = callqa("batch", archive, "--ext", "json", "--db", db, "--out", out, "--force")
        report = callqa("report", "--db", db, "--out", out)
    for run in (refused, report):
        assert run.returncode == 2 and str(out) in one_error_line(run) and "cannot write" in run.stderr
    assert snapshot(out) == before
    assert rows(db, "SELECT count(*) FROM runs") == [(1,)]  # refused before it began: nothing done


# --- the identity of a call ------------------------------------------------------------------------


def test_distinct_transcripts_declaring_the_same_audio_hash_are_three_calls(tmp_path):
    archive = tmp_path / "archive"
    for name in ("en_01_compliant", "en_02_no_greeting", "en_03_forbidden_phrase"):
        transcript_file(archive / f"{name}.json", name, audio_sha256="ab" * 32)
    db = tmp_path / "qa.sqlite"
    run = batch(archive, db)
    assert run.returncode == 0 and "3 audited" in run.stderr and "duplicate" not in run.stderr
    assert rows(db, "SELECT call_id, call_uid FROM calls ORDER BY 1") == [
        (name, f"{name}.json") for name in ("en_01_compliant", "en_02_no_greeting", "en_03_forbidden_phrase")]
    assert rows(db, "SELECT count(DISTINCT json) FROM transcripts") == [(3,)]
    assert "3 already done" in batch(archive, db).stderr


def test_byte_identical_bad_files_are_two_failures_the_second_named_a_duplicate(tmp_path):
    archive = tmp_path / "archive"
    for agent in ("A1", "A2"):
        (archive / agent).mkdir(parents=True)
        (archive / agent / "call.json").write_text("{not json")
    db = tmp_path / "qa.sqlite"
    run = batch(archive, db)
    assert run.returncode == 1
    assert "2 failed, 1 duplicates" in run.stderr
    assert "duplicate " + str(archive / "A2" / "call.json") + ": the same bytes as A1/call.json" in run.stderr
    assert rows(db, "SELECT call_uid, status, duplicate_of FROM calls ORDER BY 1") == [
        ("A1/call.json", "failed", None), ("A2/call.json", "failed", "A1/call.json")]


def test_one_recording_in_two_agents_folders_is_two_calls_and_a_rerun_is_idempotent(tmp_path):
    archive, db = tmp_path / "archive", tmp_path / "qa.sqlite"
    recording = next(path for path in SAMPLES.glob("en_01_compliant.*") if path.suffix != ".json")
    for agent in ("A001", "A002"):
        (archive / "T1" / agent).mkdir(parents=True)
        shutil.copy(recording, archive / "T1" / agent)
    settings = tmp_path / "settings.yaml"
    settings.write_text('batch:\n  agent_from_path: "(?P<team>[^/]+)/(?P<agent>A[0-9]+)/"\n')
    audio = ("batch", archive, "--db", db, "--no-report", "--config", settings)

    first = callqa(*audio)
    assert first.returncode == 0, first.stderr
    assert "2 audited" in first.stderr and "1 duplicates" in first.stderr
    assert f"the same bytes as T1/A001/{recording.name}" in first.stderr
    assert rows(db, "SELECT agent_id, duplicate_of FROM calls ORDER BY agent_id") == [
        ("A001", None), ("A002", f"T1/A001/{recording.name}")]
    assert rows(db, "SELECT count(*) FROM transcripts") == [(1,)]
    report = callqa("report", "--db", db, "--out", tmp_path / "reports", "--format", "csv")
    assert report.returncode == 0, report.stderr
    with open(next((tmp_path / "reports").glob("calls_*.csv")), encoding="utf-8-sig") as handle:
        sheet = list(csv.DictReader(handle))
    assert sorted((row["Agent"], row["Duplicate of"]) for row in sheet) == [
        ("A001", ""), ("A002", f"T1/A001/{recording.name}")]

    again = callqa(*audio)
    assert again.returncode == 0 and "2 already done" in again.stderr and "0 audited" in again.stderr

    (archive / "T1" / "A003").mkdir()
    shutil.copy(recording, archive / "T1" / "A003")
    third = callqa(*audio)
    assert "1 audited (0 transcribed" in third.stderr and "2 already done" in third.stderr
    assert f"A003/{recording.name}: the same bytes as T1/A001/{recording.name}" in third.stderr
    assert rows(db, "SELECT count(*), count(DISTINCT call_uid) FROM calls WHERE status = 'done'") == [(3, 3)]


def test_a_store_of_schema_1_migrates_and_its_calls_stay_done(tmp_path):
    """A store written before call identities: its rows get the path their batch saw, their keys
    follow (findings and measurements with them), and the next batch finds them already done."""
    from audits.spec import load_spec
    from pipeline.audio.decode import file_sha256
    from pipeline.batch.nightly import asr_key
    from pipeline.config import load_settings
    from pipeline.store import MIGRATIONS

    archive = tmp_path / "archive"
    recording = next(path for path in SAMPLES.glob("en_01_compliant.*") if path.suffix != ".json")
    (archive / "A1").mkdir(parents=True)
    shutil.copy(recording, archive / "A1")
    db = tmp_path / "qa.sqlite"
    sha, version, asr = file_sha256(recording), load_spec("en").version, asr_key(load_settings())
    old_key = f"{sha}:{version}:{asr}"
    connection = sqlite3.connect(db)
    connection.executescript(MIGRATIONS[0] + "; PRAGMA user_version = 1;")
    connection.execute("INSERT INTO runs (id, started_at, archive, status) VALUES (1, '2026-11-20', ?, 'finished')",
                       (str(archive),))
    connection.execute("INSERT INTO calls (key, status, run_id, path, call_id, audio_sha256, spec_name, spec_version,"
                       " asr_key, score, audited_at) VALUES (?, 'done', 1, ?, 'c1', ?, 'en', ?, ?, 90, '2026-11-20')",
                       (old_key, str(archive / "A1" / recording.name), sha, version, asr))
    connection.execute("INSERT INTO measurements (call_key, json) VALUES (?, '{}')", (old_key,))
    connection.execute("INSERT INTO findings (call_key, item, status, evidence) VALUES (?, 'x', 'pass', '[]')",
                       (old_key,))
    connection.commit()
    connection.close()

    Store(db).close()
    uid = f"A1/{recording.name}"
    assert rows(db, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert rows(db, "SELECT key, call_uid FROM calls") == [(f"{old_key}:{uid}", uid)]
    assert rows(db, "SELECT call_key FROM findings") == rows(db, "SELECT call_key FROM measurements") == [
        (f"{old_key}:{uid}",)]
    assert rows(db, "PRAGMA foreign_key_check") == []
    run = callqa("batch", archive, "--db", db, "--no-report")
    assert run.returncode == 0 and "1 already done" in run.stderr and "0 audited" in run.stderr


def test_a_store_of_schema_4_migrates_its_findings_decided_from_the_text(tmp_path):
    """Schema 5 records how each finding was decided and the checks against the audio behind it:
    findings stored before were decided from the text, and a rerun finds their calls done."""
    archive = transcript_archive(tmp_path / "archive", 2)
    db = tmp_path / "qa.sqlite"
    assert batch(archive, db).returncode == 0
    before = rows(db, "SELECT call_key, item, status, reason FROM findings ORDER BY call_key, item")
    connection = sqlite3.connect(db)
    connection.execute("ALTER TABLE findings DROP COLUMN decided")
    connection.execute("ALTER TABLE findings DROP COLUMN verification")
    connection.execute("PRAGMA user_version = 4")
    connection.commit()
    connection.close()

    Store(db).close()
    assert rows(db, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert rows(db, "SELECT call_key, item, status, reason FROM findings ORDER BY call_key, item") == before
    assert rows(db, "SELECT DISTINCT decided, verification FROM findings") == [("text", None)]
    run = batch(archive, db)
    assert run.returncode == 0 and "2 already done" in run.stderr
