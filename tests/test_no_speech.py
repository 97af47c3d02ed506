"""Issue #14, part 4: recordings in which nobody speaks (a 0.2 s file, ten minutes of line hiss)
are `no speech` calls: stored as done, with no score, kept out of every mean and listed apart in the
reports. Real recordings, the real batch (VAD, model), a real store and real report files."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from conftest import SAMPLES, write_audio

pytestmark = pytest.mark.slow

CALLQA = [str(Path(sys.executable).parent / "callqa")]


def hiss(seconds: float, rate: int, seed: int) -> np.ndarray:
    """Line noise at about -60 dBFS: what a silent line records."""
    return (np.random.default_rng(seed).standard_normal(int(seconds * rate)) * 1e-3).astype(np.float32)


@pytest.fixture
def archive(tmp_path) -> Path:
    folder = tmp_path / "archive" / "T1" / "A001"
    folder.mkdir(parents=True)
    write_audio(folder / "blip.wav", [hiss(0.2, 8000, 1), hiss(0.2, 8000, 2)], 8000)
    write_audio(folder / "ten_minutes_of_nothing.wav", [hiss(600, 8000, 3), hiss(600, 8000, 4)], 8000)
    shutil.copy(SAMPLES / "transcripts" / "en_12_no_closing.json", folder)  # a call with a score below 100
    return tmp_path / "archive"


def test_calls_without_speech_are_stored_unscored_and_listed_apart(archive, tmp_path):
    settings = tmp_path / "settings.yaml"
    settings.write_text('batch:\n  agent_from_path: "(?P<team>[^/]+)/(?P<agent>A[0-9]+)/"\n')
    db, reports = tmp_path / "qa.sqlite", tmp_path / "reports"
    args = [*CALLQA, "batch", str(archive), "--ext", "wav", "--ext", "json", "--config", str(settings),
            "--db", str(db), "--out", str(reports)]
    run = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    with sqlite3.connect(db) as connection:
        rows = {row[0]: row[1:] for row in connection.execute(
            "SELECT call_id, status, no_speech, score, agent_id FROM calls")}
        statuses = {status for (status,) in connection.execute(
            "SELECT DISTINCT f.status FROM findings f JOIN calls c ON c.key = f.call_key WHERE c.no_speech = 1")}
    assert rows["blip"] == ("done", 1, None, "A001")
    assert rows["ten_minutes_of_nothing"] == ("done", 1, None, "A001")
    status, no_speech, score, _ = rows["en_12_no_closing"]
    assert (status, no_speech) == ("done", 0) and score < 100
    assert statuses == {"na"}

    book = openpyxl.load_workbook(next(reports.glob("*.xlsx")))
    summary = {row[0]: row[1] for row in book["Summary"].iter_rows(values_only=True)}
    assert summary["Calls"] == 1 and summary["Calls with no speech (not scored)"] == 2
    assert summary["Mean score"] == pytest.approx(score, abs=0.01)
    header, *cards = list(book["Scorecards"].iter_rows(values_only=True))
    card = dict(zip(header, cards[0]))
    assert card["Agent"] == "A001" and card["Calls"] == 1 and card["Mean score"] == pytest.approx(score, abs=0.01)
    header, *listed = list(book["No speech"].iter_rows(values_only=True))
    assert sorted(dict(zip(header, row))["Call id"] for row in listed) == ["blip", "ten_minutes_of_nothing"]
    durations = sorted(dict(zip(header, row))["Duration"] for row in listed)
    assert durations == [pytest.approx(0.2, abs=0.05), pytest.approx(600, abs=1)]
    assert len(list(book["Calls"].iter_rows())) == 2  # the header and the one scored call

    again = subprocess.run(args, capture_output=True, text=True, timeout=600)  # done calls are not redone
    assert again.returncode == 0 and "3 already done" in again.stderr
