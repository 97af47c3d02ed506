"""Shared fixtures. Audio is made with numpy and written by PyAV/soundfile: no mocks of decoding."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
CALLQA = [str(Path(sys.executable).parent / "callqa")]  # the installed console script
SAMPLES = REPO / "sample_audio"
# The local diarization pipeline's weights, as `make diarize-models` fetches them.
DIARIZATION_WEIGHTS = REPO / "models" / "diarization"

# Tests of mono calls need the diarize extra (pyannote.audio) and the weights. Without them they are
# skipped, except under `make test` (CALLQA_REQUIRE_DIARIZATION=1), where both are installed and a
# missing piece must fail the run, not hide in a skip.
DIARIZATION_READY = importlib.util.find_spec("pyannote.audio") is not None and DIARIZATION_WEIGHTS.is_dir()
needs_diarization = pytest.mark.skipif(
    not DIARIZATION_READY and not os.environ.get("CALLQA_REQUIRE_DIARIZATION"),
    reason="needs the diarize extra and its weights: pip install 'callqa[diarize]' && make diarize-models",
)


def write_audio(path: Path, channels: list[np.ndarray], rate: int, codec: str | None = None) -> Path:
    """Encode float32 channels in [-1, 1] with PyAV (format from the suffix)."""
    layout = "stereo" if len(channels) == 2 else "mono"
    interleaved = np.stack(channels, axis=1).reshape(1, -1)
    pcm = (np.clip(interleaved, -1, 1) * 32767).astype(np.int16)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec or _default_codec(path.suffix), rate=rate, layout=layout)
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout=layout)
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def _default_codec(suffix: str) -> str:
    return {".wav": "pcm_s16le", ".flac": "flac", ".mp3": "libmp3lame", ".ogg": "libopus", ".m4a": "aac"}[suffix]


def tone(seconds: float, rate: int, freq: float, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.fixture
def stereo_tones():
    """Left: 1 s of 440 Hz then silence; right: silence then 1 s of 880 Hz (2 s in all)."""
    def make(rate: int) -> list[np.ndarray]:
        silence = np.zeros(rate, dtype=np.float32)
        return [np.concatenate([tone(1, rate, 440), silence]), np.concatenate([silence, tone(1, rate, 880)])]
    return make


# The shortest sample calls, and a corrupt file (a failed call is stored like the others).
SHORT_CALLS = ["en_12_no_closing.mp3", "en_17_fast_speech.mp3", "en_02_no_greeting.flac"]
STORED_TABLES = {  # every table a batch writes, less the columns that name the run or the time
    "calls": ("run_id", "audited_at"), "findings": (), "measurements": (), "transcripts": ("created_at",), "redactions": (),
}


def short_calls_archive(root: Path) -> Path:
    root.mkdir()
    for name in SHORT_CALLS:
        shutil.copy(SAMPLES / name, root)
    shutil.copy(SAMPLES / "bad" / "truncated.wav", root)
    return root


def batch_cli(archive: Path, db: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CALLQA, "batch", str(archive), "--db", str(db), "--no-report", "--quiet", *extra],
                          capture_output=True, text=True, timeout=600)


def stored_tables(db: Path) -> dict[str, list[tuple]]:
    """Every row a batch stored, in a canonical order, without what names the run or the time."""
    with sqlite3.connect(db) as connection:
        tables = {}
        for table, left_out in STORED_TABLES.items():
            columns = [row[1] for row in connection.execute(f"PRAGMA table_info({table})") if row[1] not in left_out]
            tables[table] = sorted(connection.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall(), key=repr)
        return tables


@pytest.fixture(scope="session")
def reference_batch(tmp_path_factory) -> tuple[Path, dict[str, list[tuple]]]:
    """The short calls audited once by two local workers: what every other way of running them must
    store, byte for byte. The archive is shared, so stored paths agree."""
    archive = short_calls_archive(tmp_path_factory.mktemp("reference") / "archive")
    db = archive.parent / "reference.sqlite"
    run = batch_cli(archive, db, "--workers", "2")
    assert run.returncode == 1, run.stderr  # the truncated file fails
    return archive, stored_tables(db)


# --- the review workstation: stores made by the real batch from the reference transcripts ------

REVIEW_CALLS = ["en_01_compliant.json", "en_02_no_greeting.json", "en_03_forbidden_phrase.json",
                "en_05_ring4_no_apology.json", "en_12_no_closing.json", "en_14_complaint_no_apology.json"]
HOSTILE = '<script>alert("xss")</script><img src=x onerror=alert(1)>'


@pytest.fixture(scope="session")
def transcripts_store(tmp_path_factory) -> Path:
    """A store written by ``callqa batch --ext json`` over six English reference transcripts (no
    ASR), agents A001-A003 of teams T1-T2 from sample_audio/calls.csv. Copy it before writing."""
    archive = tmp_path_factory.mktemp("review") / "archive"
    archive.mkdir()
    for name in REVIEW_CALLS:
        shutil.copy(SAMPLES / "transcripts" / name, archive)
    db = archive.parent / "review.sqlite"
    run = batch_cli(archive, db, "--ext", "json", "--metadata", str(SAMPLES / "calls.csv"))
    assert run.returncode == 0, run.stderr
    return db


@pytest.fixture(scope="session")
def hostile_store(tmp_path_factory) -> Path:
    """A store whose transcript text, call id, agent name and team are HTML and script (stored XSS
    attempts), written by the real batch."""
    import json as jsonlib

    archive = tmp_path_factory.mktemp("hostile") / "archive"
    archive.mkdir()
    document = jsonlib.loads((SAMPLES / "transcripts" / "en_03_forbidden_phrase.json").read_text(encoding="utf-8"))
    document["call_id"] = "x" + HOSTILE
    for turn in document["turns"]:
        turn["text"] = f"{turn['text']} {HOSTILE}"
    (archive / "hostile.json").write_text(jsonlib.dumps(document), encoding="utf-8")
    metadata = archive.parent / "calls.csv"
    metadata.write_text('call_id,file,agent_id,agent_name,team,started_at\n'
                        f'"x{HOSTILE.replace(chr(34), chr(34) * 2)}",hostile.json,A001,'
                        f'"{HOSTILE.replace(chr(34), chr(34) * 2)}","T<b>1</b>",2026-11-20T10:00:00+08:00\n',
                        encoding="utf-8")
    db = archive.parent / "hostile.sqlite"
    run = batch_cli(archive, db, "--ext", "json", "--metadata", str(metadata))
    assert run.returncode == 0, run.stderr
    return db
