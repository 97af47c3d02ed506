"""Two voices at once in a mono mix: pyannote's segmentation-3.0 (ONNX) on real sample calls."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import DIARIZATION_WEIGHTS, SAMPLES, needs_diarization

from pipeline.audio.decode import decode, to_float
from pipeline.speakers.diarize import OVERLAP_FILE
from pipeline.speakers.overlap import FRAME_STEP, WINDOW_FRAMES, OverlapModel, TwoVoices, frame_times, two_voices
from pipeline.speakers.turns import SpeakerTurn, smooth

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
    found = two_voices(TwoVoices(model, waveform, 0.2, 0.5).probabilities(), 0.5)
    assert seconds_inside(found, talk_over) > 2.5, found
    total = sum(end - start for start, end in found)
    assert total - seconds_inside(found, overlaps) < 0.5, found


def test_a_call_where_nobody_talks_at_once_has_no_two_voices(model):
    waveform, overlaps = mix("en_01_compliant_mono")
    assert overlaps == []
    found = two_voices(TwoVoices(model, waveform, 0.2, 0.5).probabilities(), 0.5)
    assert sum(end - start for start, end in found) < 0.5, found


def test_the_probabilities_are_the_same_whatever_the_threads_and_cover_the_whole_call(model):
    waveform, _ = mix("en_11_interrupt_mono")
    one = TwoVoices(model, waveform, 0.2, 0.5).probabilities()
    two = TwoVoices(OverlapModel(DIARIZATION_WEIGHTS / OVERLAP_FILE, threads=2), waveform, 0.2, 0.5).probabilities()
    assert np.array_equal(one, two)
    assert abs(frame_times(np.arange(len(one)))[-1] - len(waveform) / 16000) < 0.05
    short = TwoVoices(model, waveform[:48000], 0.2, 0.5)  # 3 s: one window, zero-padded
    assert short.windows == 1 and abs(frame_times(np.arange(short.frames))[-1] - 3.0) < 0.05
    assert model.pairs(np.zeros((1, 160000), np.float32)).shape == (1, WINDOW_FRAMES)


def test_a_moment_is_looked_up_on_the_windows_around_it_with_what_the_whole_call_gives(model):
    # The stretch holding a moment, worked out on the windows around it (further while a stretch or
    # a short gap runs on), is the one the whole call's frames give: every quarter second of a mix
    # with two stretches and their edges to the millisecond, for a call starting 3.217 s in too, two
    # joins. Which windows already ran does not change an answer, so one lookup serves each case.
    waveform, _ = mix("en_11_interrupt_mono")
    for offset in (0.0, 3.217):
        whole = TwoVoices(model, waveform, 0.2, 0.5, offset)
        found = [SpeakerTurn(round(start + offset, 3), round(end + offset, 3), "both")
                 for start, end in two_voices(whole.probabilities(), 0.5)]
        for join in (0.5, 3.0):
            stretches = [(t.start, t.end) for t in smooth(found, join, 0.0)]
            assert stretches, "the mix has a talk-over"
            lazy = TwoVoices(model, waveform, 0.2, 0.5, offset)
            moments = [offset + 0.25 * step for step in range(int(len(waveform) / 4000))]
            moments += [edge + nudge for stretch in stretches for edge in stretch for nudge in (-0.001, 0.0, 0.001)]
            for at in moments:
                assert lazy.stretch_at(at, join) == next((s for s in stretches if s[0] <= at < s[1]), None), at
    # asked about the 3 s talk-over's middle alone, the model runs on 8 of the call's 16 windows
    lazy = TwoVoices(model, waveform, 0.2, 0.5, offset)
    talk_over = max(stretches, key=lambda s: s[1] - s[0])
    assert lazy.stretch_at(talk_over[0] + 1.5, 0.5) == talk_over
    assert len(lazy.computed) == 8 and whole.windows == 16


def test_two_voices_are_the_frames_at_or_over_the_threshold_in_seconds():
    probabilities = np.zeros(200)
    probabilities[50:100] = 0.6
    probabilities[120] = 0.5
    half = FRAME_STEP / 2 / 16000
    times = frame_times(np.arange(200))
    assert two_voices(probabilities, 0.5) == [(round(times[50] - half, 3), round(times[99] + half, 3)),
                                               (round(times[120] - half, 3), round(times[120] + half, 3))]
    assert two_voices(probabilities, 0.7) == []
