"""Decode any recording PyAV reads to 16 kHz 16-bit PCM, channels kept apart.

Decoding happens once per call; every later stage (ring-back, speech activity, ASR,
diarization) works on the arrays returned here, taking the stretch it needs as float32
(``to_float``). Held as int16, an hour-long stereo call is 230 MB, not 460.
"""

from __future__ import annotations

import hashlib
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


@dataclass
class Audio:
    path: Path
    channels: list[np.ndarray]  # one int16 array per channel at SAMPLE_RATE (1 or 2 of them)
    sha256: str

    @property
    def duration(self) -> float:
        return len(self.channels[0]) / SAMPLE_RATE

    @property
    def is_stereo(self) -> bool:
        return len(self.channels) == 2

    def mix(self, seconds: float | None = None) -> np.ndarray:
        """The channels summed to one (for ring-back detection and mono-style processing); only the
        first ``seconds`` when given."""
        end = None if seconds is None else int(seconds * SAMPLE_RATE)
        if not self.is_stereo:
            return to_float(self.channels[0][:end])
        return (to_float(self.channels[0][:end]) + to_float(self.channels[1][:end])) * 0.5


def to_float(pcm: np.ndarray) -> np.ndarray:
    """16-bit PCM as float32 in [-1, 1) (exact: a power-of-two scale); float input as float32."""
    if pcm.dtype == np.int16:
        return np.multiply(pcm, np.float32(1.0 / 32768.0), dtype=np.float32)
    return pcm.astype(np.float32, copy=False)


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
        channels = _decode_channels(path)
    except av.error.FFmpegError as exc:
        raise AudioError(path, f"not a readable audio file ({_ffmpeg_reason(exc)})") from None
    if channels is None:
        raise AudioError(path, "no audio stream in the file")
    if len(channels[0]) < MIN_SECONDS * SAMPLE_RATE:
        raise AudioError(path, f"no audio: {len(channels[0]) / SAMPLE_RATE:.2f} s of samples decoded")
    return Audio(path=path, channels=channels, sha256=file_sha256(path))


def _decode_channels(path: Path) -> list[np.ndarray] | None:
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
        pcm = _ChannelWriter(2 if layout == "stereo" else 1, declared)
        try:
            for frame in container.decode(stream):
                for resampled in resampler.resample(frame):
                    pcm.write(resampled.to_ndarray())
        except av.error.InvalidDataError as exc:
            if not pcm.frames:
                raise
            raise AudioError(path, f"damaged after {pcm.frames / SAMPLE_RATE:.1f} s ({_ffmpeg_reason(exc)})") from None
        for resampled in resampler.resample(None):  # flush the resampler
            pcm.write(resampled.to_ndarray())
    declared = max(declared, _wav_header_seconds(path) or 0.0)
    decoded = pcm.frames / SAMPLE_RATE
    if declared and decoded < TRUNCATION_RATIO * declared:
        raise AudioError(path, f"truncated: the header says {declared:.1f} s, only {decoded:.1f} s of audio is there")
    return pcm.channels()


class _ChannelWriter:
    """Packed s16 frames (one row, channels interleaved) written straight into one int16 array per
    channel, sized from the header and grown when it undersold: no list of decoded chunks beside
    the result, so a long call's peak memory during decoding is its size."""

    def __init__(self, count: int, declared_seconds: float):
        self.count = count
        self.frames = 0
        size = int(declared_seconds * 1.01 * SAMPLE_RATE) + SAMPLE_RATE
        self._arrays = [np.empty(size, dtype=np.int16) for _ in range(count)]

    def write(self, packed: np.ndarray) -> None:
        flat = packed.reshape(-1)
        frames = flat.size // self.count
        if self.frames + frames > len(self._arrays[0]):
            for array in self._arrays:
                array.resize(max(2 * len(array), self.frames + frames), refcheck=False)
        for c, array in enumerate(self._arrays):
            array[self.frames:self.frames + frames] = flat[c::self.count]
        self.frames += frames

    def channels(self) -> list[np.ndarray]:
        for array in self._arrays:
            array.resize(self.frames, refcheck=False)  # in place: the unused tail is given back
        return self._arrays


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
