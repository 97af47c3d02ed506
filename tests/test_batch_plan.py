"""The batch's planning on its own: dates, discovery, agent from path, transcript files (no ASR)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sqlite3
import sys
from datetime import date
from pathlib import Path

import pytest
from conftest import SAMPLES

from pipeline.batch import BatchError, agent_from_path, discover, parse_day

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
