"""The command line as scripts use it: documents, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SAMPLES

from pipeline import __version__

CALLQA = [str(Path(sys.executable).parent / "callqa")]
COMPLIANT = SAMPLES / "en_01_compliant.ogg"


def callqa(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CALLQA, *args], capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_audit_json_document_with_real_transcribed_text():
    run = callqa("audit", str(COMPLIANT), "--json", "--metadata", str(SAMPLES / "calls.csv"))
    assert run.returncode == 0, run.stderr
    document = json.loads(run.stdout)
    for key in ("call_id", "duration", "language", "turns", "measurements", "findings", "score"):
        assert key in document
    assert document["call_id"] == "en_01_compliant" and document["language"] == "en"
    said = " ".join(turn["text"] for turn in document["turns"]).lower()
    assert "anything else i can help you with" in said
    assert {f["status"] for f in document["findings"]} <= {"pass", "fail", "na"}
    assert all(f["reason"] for f in document["findings"] if f["status"] == "na")
    assert document["score"] == 100.0
    assert document["measurements"]["answer_delay"] == pytest.approx(0.8, abs=0.5)


@pytest.mark.slow
def test_transcribe_then_audit_the_transcript_gives_the_same_findings(tmp_path):
    transcript = tmp_path / "t.json"
    assert callqa("transcribe", str(COMPLIANT), "-o", str(transcript)).returncode == 0
    from_audio = json.loads(callqa("audit", str(COMPLIANT), "--json").stdout)
    from_json = json.loads(callqa("audit", str(transcript), "--json").stdout)
    assert from_json["findings"] == from_audio["findings"]
    assert from_json["turns"] == from_audio["turns"]


@pytest.mark.parametrize("name, problem", [
    ("empty.wav", "empty file"), ("truncated.wav", "truncated"), ("not_audio.mp3", "not a readable audio file"),
])
def test_bad_recording_exits_1_with_one_line_naming_file_and_problem(name, problem):
    run = callqa("audit", str(SAMPLES / "bad" / name))
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0] and problem in lines[0]
    assert "Traceback" not in run.stderr


def test_mono_call_without_the_diarize_extra_exits_1_saying_how_to_install_it():
    """A core install has no pyannote or torch; a finder refusing them stands in for one (as a
    missing module: never in sys.modules, where scipy looks for torch's arrays)."""
    mono = SAMPLES / "en_11_interrupt_mono.mp3"
    without_extra = ("import sys\n"
                     "class CoreInstall:\n"
                     "    def find_spec(self, name, path=None, target=None):\n"
                     "        if name.split('.')[0] in ('torch', 'pyannote'):\n"
                     "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
                     "sys.meta_path.insert(0, CoreInstall())\n"
                     "from pipeline.cli import app; sys.argv[0] = 'callqa'; app()")
    run = subprocess.run([sys.executable, "-c", without_extra, "audit", str(mono)], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert str(mono) in lines[0] and "mono" in lines[0] and "pip install 'callqa[diarize]'" in lines[0]


def test_bad_spec_exits_2_naming_file_line_and_field(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text((SAMPLES.parent / "configs/spec/en.yaml").read_text().replace("window_seconds: 10", "window_seconds: ten", 1))
    run = callqa("spec", "validate", str(spec))
    assert run.returncode == 2
    assert str(spec) in run.stderr and "window_seconds" in run.stderr and "opening.greeting" in run.stderr
    assert callqa("audit", str(COMPLIANT), "--spec", str(spec)).returncode == 2


def test_bad_settings_exit_2(tmp_path):
    settings = tmp_path / "s.yaml"
    settings.write_text("asr:\n  beam_size: many\n")
    run = callqa("audit", str(COMPLIANT), "--config", str(settings))
    assert run.returncode == 2 and "asr.beam_size" in run.stderr


def test_mandarin_transcript_against_the_zh_spec():
    run = callqa("audit", str(SAMPLES / "transcripts" / "zh_02_forbidden.json"), "--spec", "zh-CN", "--json")
    assert run.returncode == 0, run.stderr
    findings = {f["item"]: f for f in json.loads(run.stdout)["findings"]}
    assert findings["forbidden.phrases"]["status"] == "fail"
    quoted = " ".join(e["text"] for e in findings["forbidden.phrases"]["evidence"])
    assert "我不知道" in quoted and "不可能" in quoted


def test_version_and_help_teach():
    assert callqa("--version").stdout.strip() == f"callqa {__version__}"
    for command in ("audit", "transcribe", "batch", "report", "rescore", "spec"):
        run = callqa(command, "--help")
        assert run.returncode == 0
        assert "Example" in run.stdout or "validate" in run.stdout
