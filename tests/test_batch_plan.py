"""The batch's planning on its own: dates, discovery, agent from path, transcript files (no ASR)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from conftest import SAMPLES

from audits.calldata.transcript import Transcript
from audits.spec import load_spec
from pipeline.batch.nightly import BatchError, agent_from_path, discover, parse_day, plan_rescore
from pipeline.store import Store

CALLQA = [str(Path(sys.executable).parent / "callqa")]


@pytest.mark.parametrize("text, expected", [
    ("today", date(2026, 11, 21)), ("yesterday", date(2026, 11, 20)), ("7 days ago", date(2026, 11, 14)),
    ("1 day ago", date(2026, 11, 20)), ("2026-01-31", date(2026, 1, 31)), (" Yesterday ", date(2026, 11, 20)),
])
def test_parse_day(text, expected):
    assert parse_day(text, today=date(2026, 11, 21)) == expected


def test_parse_day_names_the_bad_value():
    with pytest.raises(BatchError, match="'last tuesday'"):
        parse_day("last tuesday")


def test_discover_walks_recursively_with_extensions_and_excludes(tmp_path):
    for name in ("a/1.WAV", "a/b/2.mp3", "a/b/skip/3.mp3", "notes.txt", "4.json"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    found = discover(tmp_path, {"extensions": ["wav", ".mp3"], "exclude": ["**/skip/*"]})
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["a/1.WAV", "a/b/2.mp3"]
    with pytest.raises(BatchError, match="not a folder"):
        discover(tmp_path / "nope", {"extensions": ["wav"], "exclude": []})


def test_agent_and_team_from_the_path():
    pattern = r"(?P<team>[^/]+)/(?P<agent>[^/]+)/"
    assert agent_from_path(Path("T1/A007/2026-11-20/call.wav"), pattern) == {"team": "T1", "agent": "A007"}
    assert agent_from_path(Path("call.wav"), pattern) == {}
    assert agent_from_path(Path("T1/A007/call.wav"), "") == {}


def test_transcript_files_are_audited_without_asr_and_bad_ones_fail_alone(tmp_path):
    archive = tmp_path / "transcripts"
    archive.mkdir()
    for name in ("zh_01_compliant", "zh_02_forbidden"):
        shutil.copy(SAMPLES / "transcripts" / f"{name}.json", archive)
    (archive / "broken.json").write_text("{not json")
    db = tmp_path / "qa.sqlite"
    run = subprocess.run([*CALLQA, "batch", str(archive), "--ext", "json", "--spec", "zh-CN", "--db", str(db),
                          "--metadata", str(SAMPLES / "calls.csv"), "--no-report"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 1, run.stderr
    assert "broken.json" in run.stderr and "cannot read transcript JSON" in run.stderr
    with sqlite3.connect(db) as connection:
        rows = dict(connection.execute("SELECT call_id, score FROM calls WHERE status = 'done'").fetchall())
        agents = {r[0] for r in connection.execute("SELECT agent_id FROM calls WHERE status = 'done'")}
        failed = connection.execute(
            "SELECT f.status FROM findings f JOIN calls c ON c.key = f.call_key "
            "WHERE c.call_id = 'zh_02_forbidden' AND f.item = 'forbidden.phrases'").fetchone()
    truth = json.loads((SAMPLES / "truth" / "zh_02_forbidden.json").read_text(encoding="utf-8"))
    assert set(rows) == {"zh_01_compliant", "zh_02_forbidden"}
    assert rows["zh_01_compliant"] == 100.0 and rows["zh_02_forbidden"] == 0.0  # a critical item failed
    assert failed == (truth["expected"]["forbidden.phrases"],) == ("fail",)
    assert agents == {"Z001", "Z002"}


def _stored_transcripts_store(tmp_path) -> tuple[Store, list[str]]:
    """A store holding two sample transcripts: one audited before (a call row names it), one whose
    call row is gone (its call id and source come from the transcript)."""
    store = Store(tmp_path / "qa.sqlite")
    names = ["en_01_compliant", "en_12_no_closing"]
    for number, name in enumerate(names):
        transcript = Transcript.load(SAMPLES / "transcripts" / f"{name}.json")
        with store.transaction() as db:
            db.execute("INSERT INTO transcripts VALUES (?, 'asr', ?, '2026-11-20T00:00:00+00:00')",
                       (f"sha{number}", transcript.to_json(compact=True)))
    with store.transaction() as db:
        db.execute("INSERT INTO calls (key, call_uid, status, path, call_id, audio_sha256, spec_name, spec_version,"
                   " asr_key, agent_id, audited_at) VALUES ('sha0:old:asr:a.wav', 'a.wav', 'done', '/archive/a.wav',"
                   " 'A-1', 'sha0', 'en', 'old', 'asr', 'A7', '2026-11-20T00:00:00+00:00')")
    return store, names


def test_rescore_plan_reads_each_transcript_when_its_task_is_handed_out(tmp_path):
    store, names = _stored_transcripts_store(tmp_path)
    work = plan_rescore(store, load_spec("en"), force=False)
    assert len(work.tasks) == 2 and work.skipped == 0
    infos = {info.audio_sha256: info for info in work.tasks.infos}
    assert (infos["sha0"].path, infos["sha0"].call_id, infos["sha0"].agent_id) == ("/archive/a.wav", "A-1", "A7")
    orphan = Transcript.load(SAMPLES / "transcripts" / f"{names[1]}.json")
    assert (infos["sha1"].path, infos["sha1"].call_id) == (orphan.source, orphan.call_id)
    tasks = list(work.tasks)
    assert all(task.stored and isinstance(task.transcript, str) for task in tasks)
    assert {json.loads(task.transcript)["call_id"] for task in tasks} == {Transcript.load(
        SAMPLES / "transcripts" / f"{name}.json").call_id for name in names}
    store.close()


def test_rescore_with_two_workers_stores_what_one_worker_stores(tmp_path):
    results = []
    for workers in ("1", "2"):
        store, _ = _stored_transcripts_store(tmp_path / workers)
        store.close()
        run = subprocess.run([*CALLQA, "rescore", "--db", str(store.path), "--workers", workers, "--quiet"],
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
        results.append(sqlite3.connect(store.path).execute(
            "SELECT c.audio_sha256, c.score, f.item, f.status, f.evidence FROM calls c JOIN findings f ON f.call_key = c.key"
            " WHERE c.spec_version != 'old' ORDER BY 1, 3").fetchall())
    assert len(results[0]) == 2 * len(load_spec("en").items) and results[0] == results[1]


def test_the_longest_recordings_are_planned_first_and_transcripts_last(tmp_path):
    from pipeline.audio.decode import decode
    from pipeline.batch.nightly import plan

    names = ["en_01_compliant", "en_07_hold_permission", "en_12_no_closing", "en_16_long_explanation"]
    for name in names:
        shutil.copy(next(p for p in SAMPLES.glob(f"{name}.*") if p.suffix != ".json"), tmp_path)
    shutil.copy(SAMPLES / "transcripts" / "zh_01_compliant.json", tmp_path)
    files = sorted(p for p in tmp_path.iterdir())
    store = Store(tmp_path / "db" / "qa.sqlite")
    settings = {"batch": {"agent_from_path": ""}}
    work = plan(tmp_path, files, store, load_spec("en"), "asr", settings, {}, None, None, force=False)
    planned = [Path(task.info.path) for task in work.tasks]
    recordings = sorted((p for p in files if p.suffix != ".json"), key=lambda p: -decode(p).duration)
    assert planned == [*recordings, tmp_path / "zh_01_compliant.json"]
    store.close()
