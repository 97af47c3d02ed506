"""Decode any recording PyAV reads to 16 kHz 16-bit PCM, channels kept apart.

Decoding happens once per call; every later stage (ring-back, speech activity, ASR,
diarization) reads the stretch it needs from the channels returned here, as float32
(``to_float``). The decoded samples wait in an unlinked temporary file per channel, not in the
worker's memory: an hour-long stereo call is 230 MB of PCM, and no stage needs more than a
30 s window of it at a time (mono diarization excepted), so a worker's memory does not grow
with call length.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

SAMPLE_RATE = 16000
# Shorter than this is not a call: Silero VAD needs at least one 32 ms window.
MIN_SECONDS = 0.1
# Decoding less than this share of the duration the container declares means a truncated file.
TRUNCATION_RATIO = 0.95


class AudioError(Exception):
    """A recording that cannot be used; str() is one line naming the file and the problem."""

    def __init__(self, path: Path | str, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem


class Pcm:
    """16 kHz int16 samples of one channel, kept in an unlinked temporary file (in $TMPDIR, gone
    when closed or when the process dies). ``len()`` is the sample count; slicing with step 1 gives
    another ``Pcm`` over the same file without reading anything; ``to_float`` or ``np.asarray``
    reads the samples."""

    dtype = np.dtype(np.int16)

    def __init__(self, file=None, start: int = 0, length: int = 0):
        self._file = file if file is not None else tempfile.TemporaryFile(buffering=1 << 20)
        self._start = start
        self._length = length

    def append(self, samples: np.ndarray) -> None:
        """Add samples at the end (the file's end: only for the ``Pcm`` decoding writes)."""
        self._file.write(np.ascontiguousarray(samples, dtype=np.int16))
        self._length += len(samples)

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, key: slice) -> Pcm:
        if not isinstance(key, slice):
            raise TypeError(f"Pcm takes slices, not {type(key).__name__}")
        start, stop, step = key.indices(self._length)
        if step != 1:
            raise ValueError("Pcm slices take step 1")
        return Pcm(self._file, self._start + start, max(0, stop - start))

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        self._file.flush()
        samples = np.empty(self._length, dtype=np.int16)
        view, read = memoryview(samples).cast("B"), 0
        while read < len(view):
            got = os.preadv(self._file.fileno(), [view[read:]], 2 * self._start + read)
            if got == 0:
                raise OSError(f"decoded audio file ended {len(view) - read} bytes early")
            read += got
        return samples if dtype is None else samples.astype(dtype)

    def close(self) -> None:
        self._file.close()


Samples = Pcm | np.ndarray  # what the stages read: decoded channels, or arrays (tests, benchmarks)


@dataclass
class Audio:
    path: Path
    channels: list[Pcm]  # one per channel (1 or 2 of them)
    sha256: str

    @property
    def duration(self) -> float:
        return len(self.channels[0]) / SAMPLE_RATE

    @property
    def is_stereo(self) -> bool:
        return len(self.channels) == 2

    def close(self) -> None:
        """Delete the decoded samples now (they are deleted anyway when the channels are freed)."""
        for channel in self.channels:
            channel.close()

    def __enter__(self) -> Audio:
        return self

    def __exit__(self, *_) -> None:
        self.close()


def to_float(pcm: Samples) -> np.ndarray:
    """16-bit PCM as float32 in [-1, 1) (exact: a power-of-two scale); float input as float32."""
    samples = np.asarray(pcm)
    if samples.dtype == np.int16:
        return np.multiply(samples, np.float32(1.0 / 32768.0), dtype=np.float32)
    return samples.astype(np.float32, copy=False)


def mean_squares(samples: Samples, frame: int, block_frames: int = 6000) -> np.ndarray:
    """Mean square of every whole ``frame`` of samples (float64), read ``block_frames`` at a time:
    bounded memory however long the call."""
    frames = len(samples) // frame
    out = np.empty(frames)
    for at in range(0, frames, block_frames):
        block = to_float(samples[at * frame:min(frames, at + block_frames) * frame]).astype(np.float64)
        out[at:at + len(block) // frame] = np.square(block.reshape(-1, frame)).mean(axis=1)
    return out


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def decode(path: Path | str) -> Audio:
    """Decode ``path`` to 16 kHz int16; stereo stays two channels, more than two are refused."""
    path = Path(path)
    if not path.is_file():
        raise AudioError(path, "no such file")
    if path.stat().st_size == 0:
        raise AudioError(path, "empty file (0 bytes)")
    try:
        decoded = _decode_channels(path)
    except av.error.FFmpegError as exc:
        raise AudioError(path, f"not a readable audio file ({_ffmpeg_reason(exc)})") from None
    except OSError as exc:  # the temporary files: $TMPDIR full or not writable
        raise AudioError(path, f"cannot keep the decoded audio in {tempfile.gettempdir()}: {exc}") from None
    if decoded is None:
        raise AudioError(path, "no audio stream in the file")
    if len(decoded[0]) < MIN_SECONDS * SAMPLE_RATE:
        raise AudioError(path, f"no audio: {len(decoded[0]) / SAMPLE_RATE:.2f} s of samples decoded")
    return Audio(path=path, channels=decoded, sha256=file_sha256(path))


def _decode_channels(path: Path) -> list[Pcm] | None:
    with av.open(str(path), mode="r", metadata_errors="ignore") as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        source_channels = stream.codec_context.channels or 1
        if source_channels > 2:
            raise AudioError(path, f"{source_channels} channels: only mono and stereo calls are supported")
        layout = "stereo" if source_channels == 2 else "mono"
        resampler = av.AudioResampler(format="s16", layout=layout, rate=SAMPLE_RATE)
        declared = _declared_seconds(container, stream) or 0.0
        channels = [Pcm() for _ in range(2 if layout == "stereo" else 1)]
        try:
            for frame in container.decode(stream):
                for resampled in resampler.resample(frame):
                    _append_packed(channels, resampled.to_ndarray())
        except av.error.InvalidDataError as exc:
            if not len(channels[0]):
                raise
            raise AudioError(path, f"damaged after {len(channels[0]) / SAMPLE_RATE:.1f} s "
                                   f"({_ffmpeg_reason(exc)})") from None
        for resampled in resampler.resample(None):  # flush the resampler
            _append_packed(channels, resampled.to_ndarray())
    declared = max(declared, _wav_header_seconds(path) or 0.0)
    decoded = len(channels[0]) / SAMPLE_RATE
    if declared and decoded < TRUNCATION_RATIO * declared:
        raise AudioError(path, f"truncated: the header says {declared:.1f} s, only {decoded:.1f} s of audio is there")
    return channels


def _append_packed(channels: list[Pcm], packed: np.ndarray) -> None:
    """Packed s16 frames (one row, channels interleaved) split onto their channels."""
    flat = packed.reshape(-1)
    for c, channel in enumerate(channels):
        channel.append(flat[c::len(channels)])


def declared_duration(path: Path | str) -> float:
    """Seconds the recording's header says it lasts, without decoding it; 0.0 when the header cannot
    be read (decoding the call will say why)."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                return 0.0
            return _declared_seconds(container, container.streams.audio[0]) or 0.0
    except (av.error.FFmpegError, OSError, ValueError):
        return 0.0


def _declared_seconds(container, stream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def _wav_header_seconds(path: Path) -> float | None:
    """What a WAV header promises; FFmpeg clamps a WAV's duration to the bytes present, hiding truncation."""
    try:
        with wave.open(str(path), "rb") as header:
            return header.getnframes() / header.getframerate()
    except (wave.Error, EOFError, ZeroDivisionError):
        return None


def _ffmpeg_reason(exc: av.error.FFmpegError) -> str:
    # PyAV's message repeats the path; keep the reason only.
    return getattr(exc, "strerror", None) or str(exc)
