"""Issue #14, part 2: one bad input fails that call only. Each probe runs the real `callqa` command
on real files and a real store: the bad call is stored as failed with a reason that names the
field, the good calls are done, and no traceback is printed anywhere. Settings and usage errors
exit 2 at once, naming the setting or the option."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import SAMPLES

CALLQA = [str(Path(sys.executable).parent / "callqa")]
GOOD = json.loads((SAMPLES / "transcripts" / "en_01_compliant.json").read_text(encoding="utf-8"))


def callqa(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CALLQA, *args], capture_output=True, text=True, timeout=600)


def _transcript(**changes) -> dict:
    """The good sample transcript with some top-level fields or turn 0's fields changed."""
    turn = changes.pop("turn", {})
    data = {**GOOD, **changes}
    data["turns"] = [{**GOOD["turns"][0], **turn}, *GOOD["turns"][1:]] if "turns" not in changes else data["turns"]
    return data


# file name -> (transcript, what its failure reason must say)
BAD_TRANSCRIPTS = {
    "turns_not_a_list": (_transcript(turns="hello"), "field 'turns': must be a list, got 'hello'"),
    "start_nan": (_transcript(turn={"start": "NaN"}), "field 'turns[0].start': must be a number, got 'NaN'"),
    "string_ring": (_transcript(ring="4 rings"), "field 'ring': must be an object, got '4 rings'"),
    "string_confidence": (_transcript(turn={"confidence": "high"}), "field 'turns[0].confidence': must be a number"),
    "end_before_start": (_transcript(turn={"start": 5.0, "end": 1.0}), "field 'turns[0].end': 1.0 is before its start 5.0"),
    "negative_time": (_transcript(turn={"start": -2.0}), "field 'turns[0].start': a time must not be negative"),
    "text_null": (_transcript(turn={"text": None}), "field 'turns[0].text': must be text, got null"),
    "unknown_language": (_transcript(language="klingon"), "field 'language': 'klingon' is not a language"),
}
MARKUP_ID = "[bold red]A007[/] [/]"  # Rich markup, and a closing tag Rich cannot parse
MARKUP_FILE = "[red]call[blink].json"  # (no [/]: a file name has no slash)


@pytest.fixture
def archive(tmp_path) -> Path:
    root = tmp_path / "archive"
    root.mkdir()
    (root / "good.json").write_text(json.dumps(GOOD), encoding="utf-8")
    for name, (data, _) in BAD_TRANSCRIPTS.items():
        (root / f"{name}.json").write_text(json.dumps(data), encoding="utf-8")
    # a good transcript with a malformed sidecar
    (root / "bad_sidecar.json").write_text(json.dumps({**GOOD, "audio_sha256": "5" * 64}), encoding="utf-8")
    (root / "bad_sidecar.meta.yaml").write_text("agent_id: A1\nhangup_by: nobody\n", encoding="utf-8")
    # good calls whose file name, id and source are Rich markup
    (root / "markup.json").write_text(json.dumps({**GOOD, "audio_sha256": "6" * 64, "call_id": MARKUP_ID,
                                                  "source": "[link=http://x]s[/link][/]"}), encoding="utf-8")
    (root / MARKUP_FILE).write_text(json.dumps({**GOOD, "audio_sha256": "8" * 64}), encoding="utf-8")
    (root / MARKUP_FILE.replace(".json", ".meta.yaml")).write_text(f"call_id: '{MARKUP_ID}'\n", encoding="utf-8")
    return root


def _rows(db: Path, query: str) -> list[tuple]:
    with sqlite3.connect(db) as connection:
        return connection.execute(query).fetchall()


def test_a_batch_stores_each_bad_input_as_a_failed_call_and_does_the_others(archive, tmp_path):
    db = tmp_path / "qa.sqlite"
    run = callqa("batch", str(archive), "--ext", "json", "--db", str(db), "--out", str(tmp_path / "reports"))
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    failed = dict(_rows(db, "SELECT path, error FROM calls WHERE status = 'failed'"))
    for name, (_, reason) in BAD_TRANSCRIPTS.items():
        path = str(archive / f"{name}.json")
        assert reason in failed.pop(path), name
        assert f"failed {path}: " in run.stderr  # one line per failed call at the end
    sidecar = failed.pop(str(archive / "bad_sidecar.json"))
    assert "bad_sidecar.meta.yaml: line 2, key 'hangup_by': 'nobody' is not one of agent, customer" in sidecar
    assert not failed
    done = dict(_rows(db, "SELECT path, call_id FROM calls WHERE status = 'done'"))
    assert done == {str(archive / "good.json"): "good", str(archive / "markup.json"): "markup",
                    str(archive / MARKUP_FILE): MARKUP_ID}
    assert f"{archive / MARKUP_FILE} " in run.stderr  # its progress line, as written
    assert list(Path(tmp_path / "reports").glob("*.xlsx"))


def test_audit_prints_one_line_per_bad_file_and_shows_markup_as_written(archive):
    files = [str(archive / f"{name}.json") for name in BAD_TRANSCRIPTS]
    run = callqa("audit", *files, str(archive / "markup.json"))
    assert run.returncode == 1
    assert "Traceback" not in run.stderr + run.stdout
    lines = run.stderr.strip().splitlines()
    assert len(lines) == len(BAD_TRANSCRIPTS)
    for line, (_, reason) in zip(lines, BAD_TRANSCRIPTS.values()):
        assert line.startswith("error: ") and reason in line
    assert MARKUP_ID in run.stdout  # printed as text, not read as style tags
    bad_sidecar = callqa("audit", str(archive / "bad_sidecar.json"))
    assert bad_sidecar.returncode == 1 and "'nobody' is not one of agent, customer" in bad_sidecar.stderr
    assert "Traceback" not in bad_sidecar.stderr


def _settings(tmp_path: Path, pattern: str) -> Path:
    path = tmp_path / "settings.yaml"
    path.write_text(f"batch:\n  agent_from_path: {json.dumps(pattern)}\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("pattern, problem", [
    ("(?P<agent>[A-Z", "not a valid regular expression"),
    ("(?P<agnet>A[0-9]+)/", "names none of the groups agent, agent_name, team"),
])
def test_a_bad_agent_from_path_is_a_settings_error_naming_the_field(archive, tmp_path, pattern, problem):
    run = callqa("batch", str(archive), "--ext", "json", "--db", str(tmp_path / "qa.sqlite"),
                 "--config", str(_settings(tmp_path, pattern)))
    assert run.returncode == 2
    assert "field 'batch.agent_from_path'" in run.stderr and problem in run.stderr
    assert "Traceback" not in run.stderr and not (tmp_path / "qa.sqlite").exists()


def test_a_catastrophic_agent_from_path_does_not_hang_the_planner(archive, tmp_path):
    # (a+)+$ and (a|aa)+$ on a run of a's that does not end the path: Python's re takes 2^n steps
    folder = archive / ("a" * 64 + "b")
    folder.mkdir()
    (folder / "call.json").write_text(json.dumps({**GOOD, "audio_sha256": "7" * 64}), encoding="utf-8")
    db = tmp_path / "qa.sqlite"
    started = time.monotonic()
    nested = callqa("batch", str(archive), "--ext", "json", "--db", str(db), "--no-report",
                    "--config", str(_settings(tmp_path, "(?P<agent>(a+)+$)")))
    assert nested.returncode == 1 and "Traceback" not in nested.stderr  # the regex engine sees through it
    run = callqa("batch", str(archive), "--ext", "json", "--db", str(db), "--force",
                 "--config", str(_settings(tmp_path, "(?P<agent>(a|aa)+$)")))
    assert time.monotonic() - started < 60
    assert run.returncode == 2, run.stderr
    assert "batch.agent_from_path: matching 'aaaa" in run.stderr and "took more than 1 s" in run.stderr


@pytest.mark.parametrize("args, problem", [
    (["--since", "9999999 days ago"], "date '9999999 days ago': that is before 0001-01-01"),
    (["--since", "9" * 5000 + " days ago"], "that is before 0001-01-01"),
    (["--since", "2026-11-20", "--until", "2026-11-10"], "--since 2026-11-20 is after --until 2026-11-10: no day"),
])
def test_batch_dates_out_of_range_or_reversed_exit_2(archive, tmp_path, args, problem):
    run = callqa("batch", str(archive), "--ext", "json", "--db", str(tmp_path / "qa.sqlite"), *args)
    assert run.returncode == 2 and problem in run.stderr and "Traceback" not in run.stderr


def test_report_with_from_after_to_says_the_period_is_empty(archive, tmp_path):
    db = tmp_path / "qa.sqlite"
    assert callqa("batch", str(archive), "--ext", "json", "--db", str(db), "--no-report").returncode == 1
    run = callqa("report", "--db", str(db), "--from", "2026-11-20", "--to", "2026-11-10", "--out", str(tmp_path / "r"))
    assert run.returncode == 2
    assert "--from 2026-11-20 is after --to 2026-11-10: no day is in that period" in run.stderr
    assert not (tmp_path / "r").exists()
