"""Ring-back tone at the start of a recording: how long the phone rang before it was answered.

Used when call metadata gives no ring time. The cadences to look for (tone frequencies, seconds
on and off) come from the ``ringback`` settings; every configured cadence is tried and the one
with the most rings wins.

How: a short-time spectrum (0.1 s frames, 10 Hz bins) gives, per frame, the power in narrow bands
around the cadence's tone frequencies and the power of the whole telephone band. A frame is tone
when the tone bands hold most of the band's power, so broadband line noise, codec artefacts and
speech (whose energy spreads over many harmonics that glide) do not pass, nor does a hum at a
neighbouring frequency. Runs of tone frames are bursts; the ring phase is the bursts that come
before any other sound, each lasting about ``on`` seconds and separated by about ``off`` seconds.

When is the call answered: the tone stops there. Answered during a ring, the last burst is cut
short, and the answer is where it ends (the cut ring counts as a ring). Answered during a pause,
nothing marks the moment: the answer is taken as the first sound that is not tone, at the latest
when the next ring was due, so ``answer_at = min(last burst end + off, first non-tone sound)``
(the sample generator's whole-cycle ring phases are answered at that latest moment).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import fft

FRAME_SECONDS = 0.1  # 10 Hz bins: resolves 440 from 480 Hz, and a 400 Hz hum from 450 Hz
HOP_SECONDS = 0.02
TONE_BAND_HZ = 15.0  # the bin at a tone and its two neighbours hold nearly all its power (Hann window)
PHONE_BAND_HZ = (300.0, 3400.0)  # what a telephone line carries; hum and rumble below it are ignored
TONE_BALANCE = 0.25  # in a dual tone each component carries at least this share of an even split
SILENT_POWER = 1e-8  # mean square below -80 dBFS: digital silence, never tone or sound
SOUND_ABOVE_FLOOR = 10.0  # power ratio (10 dB) over the noise floor that counts as sound
NOISE_FLOOR_PERCENTILE = 10  # the quietest frames of the searched audio are line noise
MIN_SOUND_SECONDS = 0.1  # shorter blips (clicks, codec artefacts) do not end the ring phase
MAX_DROPOUT_FRAMES = 5  # runs split by up to 0.1 s (codec dropouts, gaps between syllables) are one


@dataclass(frozen=True)
class RingbackDetection:
    """A detected ring phase; times are seconds from the start of the recording."""

    cadence: str  # name of the matching cadence in the settings
    count: int  # tone bursts (rings) heard
    first_burst_start: float
    last_burst_end: float
    answer_at: float
    bursts: tuple[tuple[float, float], ...]

    @property
    def seconds(self) -> float:
        """Ring time: from the start of the recording to the answer."""
        return self.answer_at


@dataclass(frozen=True)
class _Cadence:
    name: str
    frequencies: tuple[float, ...]
    on: float
    off: float


@dataclass(frozen=True)
class _Spectrogram:
    power: np.ndarray  # (frames, bins) mean-square power per bin, telephone band only
    freqs: np.ndarray  # bin frequencies, Hz
    times: np.ndarray  # frame centres, seconds
    band: np.ndarray  # total telephone-band power per frame


def detect_ringback(channels: np.ndarray | list[np.ndarray], sample_rate: int, settings: dict,
                    duration: float | None = None) -> RingbackDetection | None:
    """The ring phase at the start of a recording (one array, or one per channel), or None when no
    configured cadence fits.

    Each channel is looked at apart: the ring-back is on the caller's leg, often the quieter one,
    and a mix would drown it in the other leg's line noise. The bursts come from the channel that
    holds the most tone; the first other sound on any channel ends the ring phase. Only the first
    ``search_seconds`` are read, so the arrays may be just those when ``duration`` gives the
    recording's length (the answer is never placed after the end)."""
    arrays = [np.asarray(channel, dtype=np.float32) for channel in
              (channels if isinstance(channels, list) else [channels])]
    if any(audio.ndim != 1 for audio in arrays):
        raise ValueError("ring-back detection takes one 1-D array per channel")
    duration = len(arrays[0]) / sample_rate if duration is None else duration
    limit = int(settings["search_seconds"] * sample_rate)
    spectrograms = [_spectrogram(audio[:limit], sample_rate) for audio in arrays]
    if any(spectrogram is None for spectrogram in spectrograms):
        return None
    detections = [
        _detect_cadence(cadence, spectrograms, settings, duration)
        for cadence in _cadences(settings["cadences"])
    ]
    detections = [d for d in detections if d is not None]
    return max(detections, key=lambda d: d.count, default=None)


def _cadences(configured: dict) -> list[_Cadence]:
    cadences = []
    for name, spec in configured.items():
        try:
            frequencies = tuple(float(f) for f in spec["frequencies"])
            cadence = _Cadence(str(name), frequencies, float(spec["on_seconds"]), float(spec["off_seconds"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(
                f"ringback.cadences.{name}: needs frequencies (a list of Hz), on_seconds and off_seconds ({exc})"
            ) from None
        if not cadence.frequencies or cadence.on <= 0 or cadence.off <= 0:
            raise ValueError(f"ringback.cadences.{name}: needs a frequency and positive on_seconds and off_seconds")
        cadences.append(cadence)
    return cadences


def _spectrogram(audio: np.ndarray, sample_rate: int) -> _Spectrogram | None:
    size = round(FRAME_SECONDS * sample_rate)
    hop = round(HOP_SECONDS * sample_rate)
    if len(audio) < size:
        return None
    frames = np.lib.stride_tricks.sliding_window_view(audio, size)[::hop]
    window = np.hanning(size).astype(np.float32)
    freqs = np.fft.rfftfreq(size, 1.0 / sample_rate)
    keep = (freqs >= PHONE_BAND_HZ[0]) & (freqs <= PHONE_BAND_HZ[1])
    spectrum = fft.rfft(frames * window, axis=1)[:, keep]
    # Scaled so a bin's power is its share of the frame's mean square (one-sided, Parseval).
    power = (np.abs(spectrum) ** 2) * (2.0 / (size * float(np.sum(window**2))))
    times = (np.arange(len(frames)) * hop + size / 2) / sample_rate
    return _Spectrogram(power, freqs[keep], times, power.sum(axis=1))


def _detect_cadence(cadence: _Cadence, spectrograms: list[_Spectrogram], settings: dict,
                    duration: float) -> RingbackDetection | None:
    tolerance = settings["timing_tolerance"]
    tones = [_tone_mask(cadence, spec, settings["min_tone_ratio"]) for spec in spectrograms]
    answered_by = min(_first_sound(spec, tone) for spec, tone in zip(spectrograms, tones))
    ringing = max(range(len(tones)), key=lambda c: int(tones[c].sum()))  # the leg that carries the tone
    spec, tone = spectrograms[ringing], tones[ringing]
    bursts, cut = [], None
    for start, end in _runs(spec.times, tone):
        if end > answered_by:
            break
        if bursts and end - start < cadence.on - tolerance:
            # Too short for a ring, so answered. A run that starts when the next ring is due is
            # that ring, cut off by the answer: it rang until the run ends. Any other is the
            # answering speech itself (a vowel can hold the tone's frequency for a moment).
            if abs(start - bursts[-1][1] - cadence.off) <= tolerance:
                cut = (start, end)
            answered_by = end if cut else start
            break
        bursts.append((start, end))
    if not bursts or not _fits(bursts, cadence, tolerance):
        return None
    bursts += [cut] if cut else []  # a ring that started counts, however short
    answer_at = min(bursts[-1][1] + cadence.off, answered_by, duration)
    return RingbackDetection(
        cadence=cadence.name,
        count=len(bursts),
        first_burst_start=round(bursts[0][0], 3),
        last_burst_end=round(bursts[-1][1], 3),
        answer_at=round(answer_at, 3),
        bursts=tuple((round(s, 3), round(e, 3)) for s, e in bursts),
    )


def _tone_mask(cadence: _Cadence, spec: _Spectrogram, min_ratio: float) -> np.ndarray:
    """Frames whose telephone-band power is mostly the cadence's tones, every component present."""
    per_tone = np.stack(
        [spec.power[:, np.abs(spec.freqs - f) <= TONE_BAND_HZ].sum(axis=1) for f in cadence.frequencies]
    )
    tone_power = per_tone.sum(axis=0)
    balanced = np.all(per_tone >= TONE_BALANCE * tone_power / len(cadence.frequencies), axis=0)
    audible = spec.band > SILENT_POWER
    return audible & balanced & (tone_power >= min_ratio * np.maximum(spec.band, SILENT_POWER))


def _first_sound(spec: _Spectrogram, tone: np.ndarray) -> float:
    """Start of the first sound that is not tone (speech, music, noise bursts); inf when none.

    Frames whose window reaches into tone are skipped: a tone's onset and end spread over the
    whole band there.
    """
    reach = round(FRAME_SECONDS / 2 / HOP_SECONDS)
    near_tone = np.convolve(tone, np.ones(2 * reach + 1), mode="same") > 0
    floor = np.percentile(spec.band, NOISE_FLOOR_PERCENTILE)
    loud = spec.band > max(floor * SOUND_ABOVE_FLOOR, SILENT_POWER)
    for start, end in _runs(spec.times, loud & ~near_tone):
        if end - start >= MIN_SOUND_SECONDS:
            return start
    return math.inf


def _runs(times: np.ndarray, mask: np.ndarray) -> list[tuple[float, float]]:
    """Runs of true frames as (start, end) seconds; gaps of up to MAX_DROPOUT_FRAMES are bridged."""
    indices = np.flatnonzero(mask)
    if len(indices) == 0:
        return []
    breaks = np.flatnonzero(np.diff(indices) > MAX_DROPOUT_FRAMES + 1)
    firsts = np.concatenate(([indices[0]], indices[breaks + 1]))
    lasts = np.concatenate((indices[breaks], [indices[-1]]))
    half_hop = HOP_SECONDS / 2
    return [(float(times[a] - half_hop), float(times[b] + half_hop)) for a, b in zip(firsts, lasts)]


def _fits(bursts: list[tuple[float, float]], cadence: _Cadence, tolerance: float) -> bool:
    """Whether the bursts are the cadence: each about ``on`` long, each pause about ``off``."""
    lengths_fit = all(abs(end - start - cadence.on) <= tolerance for start, end in bursts)
    pauses_fit = all(abs(b[0] - a[1] - cadence.off) <= tolerance for a, b in zip(bursts, bursts[1:]))
    return lengths_fit and pauses_fit

