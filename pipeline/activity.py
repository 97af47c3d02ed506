"""Speech activity per channel with the Silero VAD shipped in faster-whisper.

These regions are the timing truth of a call: turns, silences, holds, overlaps and the answer
delay are measured on them, never on ASR segment boundaries.
"""

from __future__ import annotations

import numpy as np
from faster_whisper.vad import VadOptions, get_speech_timestamps

from pipeline.audio import SAMPLE_RATE

Region = tuple[float, float]


def vad_options(settings: dict) -> VadOptions:
    return VadOptions(
        threshold=settings["threshold"],
        min_speech_duration_ms=settings["min_speech_duration_ms"],
        min_silence_duration_ms=settings["min_silence_duration_ms"],
        speech_pad_ms=settings["speech_pad_ms"],
    )


def speech_regions(samples: np.ndarray, settings: dict, start_at: float = 0.0) -> list[Region]:
    """Speech regions (start, end) in seconds of one channel, ignoring everything before ``start_at``
    (the ring-back phase, whose tone Silero may take for voice)."""
    offset = int(start_at * SAMPLE_RATE)
    stamps = get_speech_timestamps(samples[offset:], vad_options(settings), sampling_rate=SAMPLE_RATE)
    return [
        (round((offset + s["start"]) / SAMPLE_RATE, 3), round((offset + s["end"]) / SAMPLE_RATE, 3))
        for s in stamps
    ]
