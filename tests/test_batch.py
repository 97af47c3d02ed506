"""The nightly batch through its CLI, on real recordings with the real model and a real SQLite store:
failure isolation, exit codes, no second ASR, SIGKILL then rerun, concurrent batches."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import SAMPLES

from audits.spec import load_spec

pytestmark = pytest.mark.slow

CALLQA = [str(Path(sys.executable).parent / "callqa")]  # the installed console script
GOOD = ["en_01_compliant", "en_03_forbidden_phrase", "en_12_no_closing"]
BAD = ["empty.wav", "truncated.wav", "not_audio.mp3"]


def _sample(name: str) -> Path:
    return next(p for p in SAMPLES.glob(f"{name}.*") if p.suffix != ".json")


@pytest.fixture
def archive(tmp_path) -> Path:
    """Recordings in an agent/ folder tree, with corrupt files mixed in."""
    root = tmp_path / "archive"
    for index, name in enumerate(GOOD):
        folder = root / "T1" / f"A00{index % 2 + 1}"
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(_sample(name), folder)
    (root / "T1" / "broken").mkdir(parents=True)
    for name in BAD:
        shutil.copy(SAMPLES / "bad" / name, root / "T1" / "broken" / name)
    (root / "notes.txt").write_text("not a recording")
    return root


def _batch(archive: Path, db: Path, *extra: str, **popen) -> subprocess.CompletedProcess | subprocess.Popen:
    settings = archive.parent / "settings.yaml"
    settings.write_text('batch:\n  agent_from_path: "(?P<team>[^/]+)/(?P<agent>A[0-9]+)/"\n')
    args = [*CALLQA, "batch", str(archive), "--db", str(db), "--out", str(db.parent / "reports"),
            "--config", str(settings), *extra]
    if popen:
        return subprocess.Popen(args, **popen)
    return subprocess.run(args, capture_output=True, text=True, timeout=600)


def _stored(db: Path) -> int:
    """Calls stored so far; 0 while the batch has not created the store or its schema yet."""
    if not db.exists():  # connecting would create it
        return 0
    try:
        return _rows(db, "SELECT COUNT(*) FROM calls WHERE status = 'done'")[0][0]
    except sqlite3.OperationalError:
        return 0


def _rows(db: Path, query: str) -> list[tuple]:
    with sqlite3.connect(db) as connection:
        return connection.execute(query).fetchall()


@pytest.fixture
def full_archive(archive) -> Path:
    """Every English stereo sample call (agent folders by call number), plus the corrupt files."""
    for index, path in enumerate(sorted(SAMPLES.glob("en_*.*"))):
        if "_mono" not in path.stem and path.stem not in GOOD:
            folder = archive / "T2" / f"A10{index % 3}"
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, folder)
    return archive


def test_batch_stores_good_calls_once_records_bad_ones_and_exits_1(full_archive, tmp_path):
    archive, db = full_archive, tmp_path / "qa.sqlite"
    calls = sorted(p.stem for p in SAMPLES.glob("en_*.*") if "_mono" not in p.stem)
    first = _batch(archive, db)
    assert first.returncode == 1, first.stderr
    done = _rows(db, "SELECT call_id, agent_id, team, score FROM calls WHERE status = 'done' ORDER BY call_id")
    assert [row[0] for row in done] == calls and len(calls) >= 18
    assert {row[1] for row in done} == {"A001", "A002", "A100", "A101", "A102"}
    assert {row[2] for row in done} == {"T1", "T2"}
    failed = dict(_rows(db, "SELECT call_id, error FROM calls WHERE status = 'failed'"))
    assert set(failed) == {Path(name).stem for name in BAD}
    assert "empty file" in failed["empty"] and "truncated" in failed["truncated"]
    for name in BAD:  # stderr names every failed file with its problem
        assert name in first.stderr
    assert (tmp_path / "reports").is_dir() and any((tmp_path / "reports").glob("*.xlsx"))

    second = _batch(archive, db)
    assert second.returncode == 1  # the corrupt files still fail
    assert "0 transcribed" in second.stderr and f"{len(calls)} already done" in second.stderr
    assert _rows(db, "SELECT COUNT(*), COUNT(DISTINCT key) FROM calls") == [(len(calls) + len(BAD),) * 2]


def test_changed_spec_reaudits_stored_transcripts_without_asr(archive, tmp_path):
    db = tmp_path / "qa.sqlite"
    _batch(archive, db)
    transcripts = _rows(db, "SELECT audio_sha256, asr_key, json, created_at FROM transcripts ORDER BY audio_sha256")
    spec = tmp_path / "spec.yaml"
    spec.write_text((Path(__file__).parent.parent / "configs/spec/en.yaml").read_text().replace(
        "points: 10", "points: 11", 1))
    rerun = _batch(archive, db, "--spec", str(spec))
    assert "0 transcribed" in rerun.stderr and f"{len(GOOD)} from stored or given transcripts" in rerun.stderr
    versions = _rows(db, "SELECT COUNT(DISTINCT spec_version) FROM calls WHERE status = 'done'")
    assert versions == [(2,)]

    rescored = subprocess.run([*CALLQA, "rescore", "--db", str(db), "--spec", "zh-CN"],
                              capture_output=True, text=True, timeout=300)
    assert rescored.returncode == 0, rescored.stderr
    assert _rows(db, "SELECT COUNT(*) FROM calls WHERE spec_name = 'zh-CN'") == [(len(GOOD),)]
    # re-audits read the stored transcripts and leave them as they were
    assert _rows(db, "SELECT audio_sha256, asr_key, json, created_at FROM transcripts ORDER BY audio_sha256") == transcripts


def test_sigkill_mid_batch_then_rerun_stores_each_call_exactly_once(archive, tmp_path):
    db = tmp_path / "qa.sqlite"
    process = _batch(archive, db, "--quiet", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:  # kill as soon as the first call is stored
        if _stored(db) >= 1:
            break
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    stored = _rows(db, "SELECT COUNT(*) FROM calls WHERE status = 'done'")[0][0]
    assert 1 <= stored < len(GOOD)
    assert _rows(db, "SELECT status FROM runs") == [("running",)]  # the killed run never finished

    rerun = _batch(archive, db)
    assert rerun.returncode == 1
    assert "run 1 ended without finishing (killed?): marked interrupted" in rerun.stderr
    assert _rows(db, "SELECT status FROM runs ORDER BY id") == [("interrupted",), ("finished",)]
    assert _rows(db, "SELECT COUNT(*), COUNT(DISTINCT audio_sha256) FROM calls WHERE status = 'done'") == [
        (len(GOOD), len(GOOD))]
    orphans = _rows(db, "SELECT COUNT(*) FROM findings WHERE call_key NOT IN (SELECT key FROM calls)")
    assert orphans == [(0,)]
    per_call = _rows(db, "SELECT COUNT(*) FROM findings f JOIN calls c ON c.key = f.call_key "
                         "WHERE c.status = 'done' GROUP BY f.call_key")
    assert {count for (count,) in per_call} == {len(load_spec('en').items)}  # every item of the spec, once


def test_second_concurrent_batch_is_refused_and_the_store_stays_whole(archive, tmp_path):
    db = tmp_path / "qa.sqlite"
    first = _batch(archive, db, "--quiet", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    while not (db.parent / "qa.sqlite.lock").exists():
        time.sleep(0.05)
    time.sleep(0.5)
    second = _batch(archive, db)
    assert second.returncode == 2
    assert "another batch is running" in second.stderr
    assert first.wait(timeout=600) == 1
    assert _rows(db, "PRAGMA integrity_check") == [("ok",)]
    assert _rows(db, "SELECT COUNT(*) FROM calls WHERE status = 'done'") == [(len(GOOD),)]


def test_two_workers_give_the_same_results_as_one(archive, tmp_path):
    one, two = tmp_path / "one.sqlite", tmp_path / "two.sqlite"
    _batch(archive, one, "--quiet")
    assert _batch(archive, two, "--quiet", "--workers", "2").returncode == 1
    query = "SELECT call_id, status, score FROM calls ORDER BY call_id"
    assert _rows(one, query) == _rows(two, query)


def _pool_workers(pid: int) -> list[int]:
    """The batch's worker processes (spawned children; not multiprocessing's resource tracker)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    workers = []
    for child in map(int, children):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
        except FileNotFoundError:
            continue
        if b"spawn_main" in command and b"resource_tracker" not in command:
            workers.append(child)
    return workers


def test_a_worker_killed_mid_batch_loses_no_call(archive, tmp_path):
    """The out-of-memory killer (or a crash in native code) takes a worker: its calls are run again,
    one at a time, and the batch finishes as if nothing happened."""
    db = tmp_path / "qa.sqlite"
    process = _batch(archive, db, "--workers", "2", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and len(_pool_workers(process.pid)) < 2:
        time.sleep(0.05)
    time.sleep(3.0)  # models loaded, calls under way
    victims = _pool_workers(process.pid)
    assert victims, "no worker process to kill"
    os.kill(victims[0], signal.SIGKILL)
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == 1, stderr  # the corrupt files fail, as always; nothing else
    done = _rows(db, "SELECT COUNT(*), COUNT(DISTINCT audio_sha256) FROM calls WHERE status = 'done'")
    assert done == [(len(GOOD), len(GOOD))]
    failed = {row[0] for row in _rows(db, "SELECT call_id FROM calls WHERE status = 'failed'")}
    assert failed == {Path(name).stem for name in BAD}
    assert _rows(db, "SELECT status FROM runs") == [("finished",)]


def _alive(pid: int) -> bool:
    """Running (not gone, not a zombie waiting to be reaped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_workers_die_with_a_batch_killed_by_sigkill(archive, tmp_path):
    """kill -9 of the batch gives its workers no chance to be told: they must not live on (blocked
    on their pipe, each holding a model) but end with it."""
    db = tmp_path / "qa.sqlite"
    process = _batch(archive, db, "--workers", "2", "--quiet", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and len(_pool_workers(process.pid)) < 2:
        time.sleep(0.05)
    workers = _pool_workers(process.pid)
    assert len(workers) == 2
    time.sleep(2.0)  # models loading or calls under way
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(map(_alive, workers)):
        time.sleep(0.1)
    survivors = [pid for pid in workers if _alive(pid)]
    for pid in survivors:  # do not leave them behind for the rest of the suite
        os.kill(pid, signal.SIGKILL)
    assert survivors == []
