"""Nothing lost, nothing overwritten (issue #14, part 3): real files, real stores, real processes.

Untrusted call ids never form a path; distinct calls are never merged and duplicates are named;
a store that cannot be used (not SQLite, a newer schema, read-only, a full disk) and an unwritable
output folder end in one line and exit 2 with everything committed intact; the batch lock holds
through symlinks; workers die with their parent; killed runs are marked interrupted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import SAMPLES
from filesystems import fill, read_only, tiny_filesystem

from pipeline.files import safe_file_name

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
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in run.stderr, run.stderr
    return lines[0]


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
