"""Issue #14, part 4: the cost of any input is bounded. A transcript of any length is audited in
time linear in its turns (give or take a log), so a 100,000-turn transcript cannot hold the night."""

from __future__ import annotations

import time

import pytest

from audits.calldata.transcript import Transcript
from audits.spec import load_spec
from pipeline.call import CallProcessor
from pipeline.config import load_settings

# Agent and customer lines that set off every kind of check: complaints and thanks (context
# triggers), hold announcements before silences (holds), long explanations (monologues), forbidden
# phrases, a surname, the closing question.
AGENT = ["Thank you for calling Acme support, how can I help you?", "One moment please, let me check.",
         "I'm sorry to hear that, Mr. Wang.", "Let me explain how the billing cycle works in detail for you.",
         "That's impossible.", "Is there anything else I can help you with?"]
CUSTOMER = ["My name is Wang and my bill is wrong, this is terrible.", "Thanks a lot.", "Uh-huh.",
            "Put me through to a manager please.", "No, that's all, goodbye."]


def long_call(turns: int) -> Transcript:
    data, t = [], 0.0
    for n in range(turns):
        agent = n % 2 == 0
        length = 12.0 if n % 17 == 0 else 2.0  # some monologues
        start = t - 2.5 if n % 11 == 0 else t  # some overlaps (interruptions)
        data.append({"role": "agent" if agent else "customer", "start": max(0.0, start), "end": t + length,
                     "text": (AGENT if agent else CUSTOMER)[n % (len(AGENT) if agent else len(CUSTOMER))]})
        t += length + (7.0 if n % 13 == 0 else 0.4)  # some silences after "one moment": holds
    # One customer turn spanning the whole call (an ASR system's stray segment): nested turns
    # must not make the time queries scan.
    data.append({"role": "customer", "start": 0.0, "end": t, "text": "hmm"})
    return Transcript.from_dict({"language": "en", "turns": data}, origin="long.json")


@pytest.fixture(scope="module")
def processor() -> CallProcessor:
    return CallProcessor(load_settings(), load_spec("en"))


def _seconds_to_audit(processor: CallProcessor, transcript: Transcript) -> float:
    started = time.perf_counter()
    call = processor.audit_transcript(transcript)
    assert call.result.score is not None and len(call.result.findings) == len(processor.spec.items)
    return time.perf_counter() - started


def test_a_100000_turn_transcript_is_audited_in_seconds_not_minutes(processor):
    transcript = long_call(100_000)
    seconds = _seconds_to_audit(processor, transcript)
    # Before: 9 minutes (a scan of every turn per trigger). Now 5-7 s on a shared 2-core machine;
    # the bound leaves room for a loaded machine and still fails a quadratic check by far.
    assert seconds < 60, f"100,000 turns took {seconds:.0f} s"


def test_audit_time_grows_linearly_with_the_turns(processor):
    small, large = long_call(5_000), long_call(40_000)
    _seconds_to_audit(processor, small)  # warm the matchers' caches
    ratio = min(_seconds_to_audit(processor, large) for _ in range(2)) / \
        min(_seconds_to_audit(processor, small) for _ in range(3))
    # 8 times the turns: about 8 times the time when linear, 64 when quadratic
    assert ratio < 20, f"8x the turns took {ratio:.1f}x the time"


# --- YAML: alias bombs and oversized files ---------------------------------------------------

import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from conftest import REPO  # noqa: E402

CALLQA = [str(Path(sys.executable).parent / "callqa")]
EN_SPEC = (REPO / "configs" / "spec" / "en.yaml").read_text(encoding="utf-8")
FILLERS = "  fillers: [um, uh, er, erm, hmm, uh-huh, you know]\n"


def alias_bomb(levels: int = 9) -> str:
    """Each level a list of ten aliases to the one before: 10^levels fillers in a few hundred bytes."""
    lines = ["      - &f0 [um, um, um, um, um, um, um, um, um, um]"]
    lines += [f"      - &f{n} [{', '.join([f'*f{n - 1}'] * 10)}]" for n in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CALLQA, *args], capture_output=True, text=True, timeout=120)


def test_a_spec_alias_bomb_is_refused_at_once(tmp_path):
    spec = tmp_path / "bomb.yaml"
    spec.write_text(EN_SPEC.replace(FILLERS, "  fillers:\n" + alias_bomb()), encoding="utf-8")
    assert len(spec.read_bytes()) - len(EN_SPEC.encode()) < 1_000  # the bomb itself is a few hundred bytes
    started = time.monotonic()
    run = _run("spec", "validate", str(spec))
    assert time.monotonic() - started < 30  # before: 95 s and a MemoryError
    assert run.returncode == 2
    assert f"{spec}: refused: its aliases expand to more than 200,000 values" in run.stderr
    assert "Traceback" not in run.stderr


def test_aliases_of_a_sane_size_still_work():
    from audits.calldata.yamlsafe import safe_load

    shared = "greet: &hello [hello, hi, good morning]\nopening: *hello\nclosing: [*hello, *hello]\n"
    assert safe_load(shared)["closing"] == [["hello", "hi", "good morning"]] * 2


def test_an_oversized_spec_is_refused_without_reading_it_all(tmp_path):
    spec = tmp_path / "huge.yaml"
    spec.write_text(EN_SPEC + "# padding\n" * 150_000, encoding="utf-8")  # 1.5 MB
    run = _run("spec", "validate", str(spec))
    assert run.returncode == 2
    assert f"{spec}: refused: the file is larger than 1 MB" in run.stderr


@pytest.mark.parametrize("settings, problem", [
    ("batch:\n  exclude:\n" + alias_bomb().replace("      - ", "    - "), "aliases expand to more than 200,000"),
    ("a: &a [*a]\n", "an alias refers to the value that contains it"),
    ("asr: " + "[" * 5000 + "]" * 5000 + "\n", "nested more than 64 levels deep"),
])
def test_settings_alias_bombs_and_deep_nesting_are_refused(tmp_path, settings, problem):
    path = tmp_path / "settings.yaml"
    path.write_text(settings, encoding="utf-8")
    run = _run("batch", str(tmp_path), "--config", str(path), "--db", str(tmp_path / "qa.sqlite"))
    assert run.returncode == 2
    assert f"{path}: refused: " in run.stderr and problem in run.stderr
    assert "Traceback" not in run.stderr


# --- the per-call time limit ----------------------------------------------------------------

import json  # noqa: E402
import sqlite3  # noqa: E402

from conftest import SAMPLES  # noqa: E402


@pytest.mark.parametrize("workers", ["1", "2"])  # in the batch's own process; in worker processes
def test_a_call_past_the_time_limit_is_stopped_and_stored_as_failed(tmp_path, workers):
    archive = tmp_path / "archive"
    archive.mkdir()
    (archive / "long.json").write_text(json.dumps({**long_call(150_000).to_dict(), "audio_sha256": "1" * 64}))
    for name in ("en_01_compliant", "en_03_forbidden_phrase", "en_12_no_closing"):
        (archive / f"{name}.json").write_text((SAMPLES / "transcripts" / f"{name}.json").read_text())
    settings = tmp_path / "settings.yaml"
    settings.write_text("batch:\n  call_timeout_s: 3\n")
    db = tmp_path / "qa.sqlite"
    started = time.monotonic()
    run = _run("batch", str(archive), "--ext", "json", "--workers", workers, "--config", str(settings),
               "--db", str(db), "--no-report")
    assert run.returncode == 1, run.stderr
    with sqlite3.connect(db) as connection:
        calls = dict(connection.execute("SELECT call_id, coalesce(error, status) FROM calls").fetchall())
    assert calls.pop("long") == "took longer than 3 s (batch.call_timeout_s), stopped"
    assert calls == {name: "done" for name in ("en_01_compliant", "en_03_forbidden_phrase", "en_12_no_closing")}
    assert "long.json: took longer than 3 s" in run.stderr and "Traceback" not in run.stderr
    # the long call alone takes ~10 s to audit; planning it (reading 15 MB of JSON) is not in the limit
    assert time.monotonic() - started < 60


def test_the_time_limit_is_a_checked_setting(tmp_path):
    settings = tmp_path / "settings.yaml"
    settings.write_text("batch:\n  call_timeout_s: -5\n")
    run = _run("batch", str(tmp_path), "--config", str(settings), "--db", str(tmp_path / "qa.sqlite"))
    assert run.returncode == 2 and "'batch.call_timeout_s' must be between 0.0 and 604800.0" in run.stderr
