"""Two voices at once in a mono mix: pyannote's segmentation-3.0 (ONNX) on real sample calls."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import DIARIZATION_WEIGHTS, SAMPLES, needs_diarization

from pipeline.audio.decode import decode, to_float
from pipeline.speakers.diarize import OVERLAP_FILE
from pipeline.speakers.overlap import FRAME_STEP, OverlapModel, frame_times, two_voices

pytestmark = needs_diarization


@pytest.fixture(scope="module")
def model() -> OverlapModel:
    return OverlapModel(DIARIZATION_WEIGHTS / OVERLAP_FILE, threads=1)


def mix(name: str) -> tuple[np.ndarray, list[tuple[float, float]]]:
    truth = json.loads((SAMPLES / "truth" / f"{name}.json").read_text())
    samples = decode(SAMPLES / truth["file"]).channels[0]
    return to_float(samples), [(o["start"], o["end"]) for o in truth["overlaps"]]


def seconds_inside(stretches: list[tuple[float, float]], spans: list[tuple[float, float]]) -> float:
    return sum(max(0.0, min(b, d) - max(a, c)) for a, b in stretches for c, d in spans)


def test_the_agent_talking_over_the_caller_is_heard_as_two_voices_and_nothing_else_is(model):
    waveform, overlaps = mix("en_11_interrupt_mono")
    talk_over = [span for span in overlaps if span[1] - span[0] > 2]  # 3.0 s; the other is 0.6 s
    found = two_voices(model.probabilities(waveform, 0.2), 0.5)
    assert seconds_inside(found, talk_over) > 2.5, found
    total = sum(end - start for start, end in found)
    assert total - seconds_inside(found, overlaps) < 0.5, found


def test_a_call_where_nobody_talks_at_once_has_no_two_voices(model):
    waveform, overlaps = mix("en_01_compliant_mono")
    assert overlaps == []
    found = two_voices(model.probabilities(waveform, 0.2), 0.5)
    assert sum(end - start for start, end in found) < 0.5, found


def test_the_probabilities_are_the_same_whatever_the_threads_and_cover_the_whole_call(model):
    waveform, _ = mix("en_11_interrupt_mono")
    one = model.probabilities(waveform, 0.2)
    two = OverlapModel(DIARIZATION_WEIGHTS / OVERLAP_FILE, threads=2).probabilities(waveform, 0.2)
    assert np.array_equal(one, two)
    assert abs(frame_times(len(one))[-1] - len(waveform) / 16000) < 0.05
    short = model.probabilities(waveform[:48000], 0.2)  # 3 s: one window, zero-padded
    assert len(short) == len(frame_times(len(short))) and abs(frame_times(len(short))[-1] - 3.0) < 0.05


def test_two_voices_are_the_frames_at_or_over_the_threshold_in_seconds():
    probabilities = np.zeros(200)
    probabilities[50:100] = 0.6
    probabilities[120] = 0.5
    half = FRAME_STEP / 2 / 16000
    times = frame_times(200)
    assert two_voices(probabilities, 0.5) == [(round(times[50] - half, 3), round(times[99] + half, 3)),
                                               (round(times[120] - half, 3), round(times[120] + half, 3))]
    assert two_voices(probabilities, 0.7) == []
