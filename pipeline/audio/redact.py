"""A copy of a recording with every redacted span silenced, or covered by a tone, on every channel
(both legs: the other leg carries the number too, as echo).

The recording is decoded at its own rate and channel count to 16-bit PCM (PyAV) and written as a
WAV file; outside the spans every sample is the decoded input's, unchanged. The spans are the
redacted entities' word times, widened by ``PAD_SECONDS`` either side (word timestamps are ASR's
estimates: a digit's sound can start a little before its word does).
"""

from __future__ import annotations

import wave
from pathlib import Path

import av
import numpy as np

from pipeline.audio.decode import AudioError

PAD_SECONDS = 0.2
TONE_LEVEL = 0.1  # -20 dBFS peak


def spans_to_cover(spans: list[tuple[float, float]], duration: float,
                   pad: float = PAD_SECONDS) -> list[tuple[float, float]]:
    """The spans widened by ``pad``, clipped to the recording and merged where they touch."""
    merged: list[list[float]] = []
    for start, end in sorted((max(0.0, a - pad), min(duration, b + pad)) for a, b in spans):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


def read_pcm(path: Path) -> tuple[np.ndarray, int]:
    """(samples × channels int16, rate) at the recording's own rate and channel count."""
    try:
        with av.open(str(path)) as container:
            stream = container.streams.audio[0]
            channels = stream.codec_context.channels or 1
            layout = "mono" if channels == 1 else "stereo"
            resampler = av.AudioResampler(format="s16", layout=layout, rate=stream.codec_context.sample_rate)
            chunks = []
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1, min(channels, 2)))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1, min(channels, 2)))
            rate = stream.codec_context.sample_rate
    except (av.error.FFmpegError, IndexError) as exc:
        raise AudioError(path, f"cannot decode: {exc}") from None
    if not chunks:
        raise AudioError(path, "no audio in the file")
    return np.concatenate(chunks).astype(np.int16), rate


def redact_audio(source: Path, target: Path, spans: list[tuple[float, float]], mode: str = "silence",
                 tone_hz: float = 1000.0) -> list[tuple[float, float]]:
    """Write ``target`` (WAV) from ``source`` with each span (seconds, already padded) silenced or
    toned on every channel; returns the spans as covered, in seconds."""
    samples, rate = read_pcm(source)
    covered = []
    for start, end in spans:
        a, b = int(round(start * rate)), min(len(samples), int(round(end * rate)))
        if b <= a:
            continue
        if mode == "tone":
            t = np.arange(b - a) / rate
            samples[a:b] = (TONE_LEVEL * 32767 * np.sin(2 * np.pi * tone_hz * t)).astype(np.int16)[:, None]
        else:
            samples[a:b] = 0
        covered.append((a / rate, b / rate))
    target = Path(target)
    temporary = target.with_name(target.name + ".part")
    with wave.open(str(temporary), "wb") as out:
        out.setnchannels(samples.shape[1])
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    temporary.replace(target)
    return covered
