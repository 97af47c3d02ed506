"""Decode any recording PyAV reads to 16 kHz 16-bit PCM, channels kept apart.

Decoding happens once per call; every later stage (ring-back, speech activity, ASR,
diarization) works on the arrays returned here, taking the stretch it needs as float32
(``to_float``). Held as int16, an hour-long stereo call is 230 MB, not 460.
"""

from __future__ import annotations

import hashlib
import mmap
import wave
from dataclasses import dataclass, field
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
    buffers: list[mmap.mmap] = field(default_factory=list, repr=False)  # the channels' memory (decode's)

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

    def release_outside(self, keep: list[list[tuple[int, int]]]) -> None:
        """Give back to the system the memory of every channel's samples outside its ``keep``
        spans (sample indices): once voice activity is known, ASR reads only the speech, and on a
        long call the rest is most of the audio. Released samples read as silence afterwards."""
        if not self.buffers or not hasattr(mmap, "MADV_DONTNEED"):
            return
        page = mmap.PAGESIZE
        for buffer, channel, spans in zip(self.buffers, self.channels, keep):
            edges = [0, *(i for span in sorted(spans) for i in span), len(channel)]
            for first, last in zip(edges[::2], edges[1::2]):  # the gaps between kept spans
                start = -(-2 * first // page) * page  # whole pages inside the gap only
                end = 2 * last // page * page
                if end > start:
                    buffer.madvise(mmap.MADV_DONTNEED, start, end - start)


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
        decoded = _decode_channels(path)
    except av.error.FFmpegError as exc:
        raise AudioError(path, f"not a readable audio file ({_ffmpeg_reason(exc)})") from None
    if decoded is None:
        raise AudioError(path, "no audio stream in the file")
    channels, buffers = decoded
    if len(channels[0]) < MIN_SECONDS * SAMPLE_RATE:
        raise AudioError(path, f"no audio: {len(channels[0]) / SAMPLE_RATE:.2f} s of samples decoded")
    return Audio(path=path, channels=channels, sha256=file_sha256(path), buffers=buffers)


def _decode_channels(path: Path) -> tuple[list[np.ndarray], list[mmap.mmap]] | None:
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
    return pcm.result()


class _ChannelWriter:
    """Packed s16 frames (one row, channels interleaved) written straight into one int16 array per
    channel: no list of decoded chunks beside the result, so a long call's peak memory while
    decoding is its size. Each array lives in an anonymous memory map sized from the header (pages
    never written cost nothing), replaced by a bigger one when the header undersold; the maps let
    ``Audio.release_outside`` give back what ASR will not read."""

    def __init__(self, count: int, declared_seconds: float):
        self.count = count
        self.frames = 0
        size = int(declared_seconds * 1.01 * SAMPLE_RATE) + SAMPLE_RATE
        self._buffers = [mmap.mmap(-1, 2 * size) for _ in range(count)]
        self._arrays = [np.frombuffer(buffer, dtype=np.int16) for buffer in self._buffers]

    def write(self, packed: np.ndarray) -> None:
        flat = packed.reshape(-1)
        frames = flat.size // self.count
        if self.frames + frames > len(self._arrays[0]):
            self._grow(max(2 * len(self._arrays[0]), self.frames + frames))
        for c, array in enumerate(self._arrays):
            array[self.frames:self.frames + frames] = flat[c::self.count]
        self.frames += frames

    def _grow(self, size: int) -> None:
        buffers = [mmap.mmap(-1, 2 * size) for _ in range(self.count)]
        arrays = [np.frombuffer(buffer, dtype=np.int16) for buffer in buffers]
        for old, new in zip(self._arrays, arrays):
            new[:self.frames] = old[:self.frames]
        self._buffers, self._arrays = buffers, arrays

    def result(self) -> tuple[list[np.ndarray], list[mmap.mmap]]:
        """The channels as decoded so far, and the memory maps holding them."""
        return [array[:self.frames] for array in self._arrays], self._buffers


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
