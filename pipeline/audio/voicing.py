"""Voiced sound: where a leg's waveform repeats at a speaking pitch.

A one-syllable consent under pink or white line noise ("Sure." 4-5 dB over the floor, Silero 0.14)
is too faint for the energy rules (``own_sound``'s margin, ``vad.loud_db``), but its vowel is
periodic and such noise never is: YIN's aperiodicity (de Cheveigné & Kawahara 2002: the
cumulative-mean-normalised difference at its best lag) stays 0.1-0.3 in it and 0.55-0.85 in the
noise around it. Babble is periodic too (flickers of 10-70 ms all through it), so voicing counts
only on a leg whose quiet is not voiced itself (``voiced_background``), and a voiced run only ever
proposes a reply's timing where a reply is expected (``pipeline.speakers.turns.reply_sounds``),
never speech to transcribe.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, sosfiltfilt

from pipeline.audio.activity import LOST_POWER, Region, bridged, runs
from pipeline.audio.activity import WINDOW as ACTIVITY_WINDOW
from pipeline.audio.decode import SAMPLE_RATE, Samples, to_float

HOP = SAMPLE_RATE // 100  # 10 ms frames, the leakage mask's
WINDOW = SAMPLE_RATE // 25  # 40 ms: over two periods of the lowest pitch
LOWEST_LAG, HIGHEST_LAG = SAMPLE_RATE // 400, SAMPLE_RATE // 70  # pitch 70-400 Hz
FFT_SIZE = 1024  # >= WINDOW + HIGHEST_LAG: the correlation does not wrap
# The harmonics that carry a telephone voice's pitch (its fundamental is often cut under 300 Hz);
# the hiss above them only blurs the period.
BAND = butter(4, (100.0, 1500.0), btype="band", fs=SAMPLE_RATE, output="sos")
FILTER_PAD = SAMPLE_RATE // 20  # the filter settles on 50 ms of audio either side of a span
# A voiced syllable dipping out this many frames or fewer is one run: a burst of lost packets
# mid-vowel, filled with the codec's noise or silence, leaves the windows over it unvoiced ("Sure."
# under 5 % loss and GSM: two 60 ms pieces, 70 ms apart).
BRIDGE_FRAMES = 8
MIN_VOICED_FRAMES = 8  # 80 ms voiced in a run at least: a syllable's vowel, not a flicker of the noise
# A run half that long counts where the leg is also loud (``loud``: vad.loud_db / 2 over its floor):
# a diphone voice's "Sure." voices only 50-70 ms of its vowel, 6.8-12.9 dB over the floor; in 9,634 s
# of the bench calls' quiet no voiced run of 4 frames or more stood over the floor (at most -0.7 dB;
# the 3-frame flickers at most 3.9 dB).
SHORT_VOICED_FRAMES = MIN_VOICED_FRAMES // 2
# A leg whose quiet (nobody heard for 3 s and more: holds, dead air) is voiced in more of its frames
# than this has a voiced background (babble, another voice): no run on it is evidence of a reply.
# Bench calls' quiet: babble legs 1.4-42 % (median 15 %), pink and white noise 0.0 % (median; at
# most 0.8 %, one white-noise leg 2.2 %), clean legs at most 0.1 %.
MAX_VOICED_QUIET = 0.01
MIN_QUIET_SECONDS = 5.0  # less quiet than this tells nothing about the background: no run counts
QUIET_SECONDS = 30.0  # the quiet measured at most (the first of it): a bounded cost


def aperiodicity(samples: np.ndarray) -> np.ndarray:
    """YIN's aperiodicity of each 10 ms hop's 40 ms window of float ``samples`` (band-passed
    first): near 0 for a steady pitch, near 1 for noise, 1 for digital silence (a lost packet)."""
    count = (len(samples) - WINDOW) // HOP + 1
    if count <= 0:
        return np.ones(0)
    raw = np.lib.stride_tricks.sliding_window_view(samples, WINDOW)[::HOP][:count]
    frames = np.lib.stride_tricks.sliding_window_view(sosfiltfilt(BAND, samples), WINDOW)[::HOP][:count]
    compared = WINDOW - HIGHEST_LAG
    # d(lag) = sum over j < compared of (x[j] - x[j + lag])^2 = e(0) + e(lag) - 2 r(lag)
    head = np.fft.rfft(frames[:, :compared], FFT_SIZE)
    correlation = np.fft.irfft(np.conj(head) * np.fft.rfft(frames, FFT_SIZE), FFT_SIZE)[:, 1:HIGHEST_LAG + 1]
    energy = np.cumsum(np.pad(frames ** 2, ((0, 0), (1, 0))), axis=1)
    lags = np.arange(1, HIGHEST_LAG + 1)
    difference = energy[:, [compared]] + energy[:, lags + compared] - energy[:, lags] - 2 * correlation
    normalised = difference * lags / np.maximum(np.cumsum(difference, axis=1), 1e-20)
    result = normalised[:, LOWEST_LAG - 1:].min(axis=1)
    result[(raw ** 2).mean(axis=1) < LOST_POWER] = 1.0
    return result


def voiced_runs(samples: Samples, spans: list[Region], most_aperiodic: float,
                ignore: np.ndarray | None = None, loud: np.ndarray | None = None) -> list[Region]:
    """The runs of voiced sound (aperiodicity under ``most_aperiodic`` in MIN_VOICED_FRAMES frames
    or more, dips of BRIDGE_FRAMES bridged) that start and end inside ``spans`` (sorted, disjoint
    regions: only these are measured, so the cost is theirs, not the call's). A run already voiced
    where a span starts, or still voiced where it ends, is not reported: it is more than a reply.
    ``ignore``: 10 ms frames never voiced (the other leg's echo). ``loud``: the leg's 32 ms windows
    that stand over its noise (``pipeline.audio.activity.over_floor``); a run of SHORT_VOICED_FRAMES
    counts where one of them is."""
    found: list[Region] = []
    for centres, inside, voiced in _measured(samples, spans, most_aperiodic, ignore):
        for head, tail in runs(bridged(voiced, BRIDGE_FRAMES)):
            within = head > 0 and inside[head - 1] and tail < len(inside) and inside[tail]
            run = (round(centres[head] - 0.005, 3), round(centres[tail - 1] + 0.005, 3))
            frames = voiced[head:tail].sum()
            if within and (frames >= MIN_VOICED_FRAMES or (frames >= SHORT_VOICED_FRAMES and _any_loud(loud, run))):
                found.append(run)
    return found


def _any_loud(loud: np.ndarray | None, run: Region) -> bool:
    if loud is None:
        return False
    first, last = (int(at * SAMPLE_RATE) // ACTIVITY_WINDOW for at in run)
    return bool(loud[first:last + 1].any())


def voiced_background(samples: Samples, quiet: list[Region], most_aperiodic: float,
                      ignore: np.ndarray | None = None) -> bool:
    """Whether a leg's ``quiet`` (sorted, disjoint regions where nobody is heard; the first
    QUIET_SECONDS of it measured) is voiced in more than MAX_VOICED_QUIET of its frames, or is
    under MIN_QUIET_SECONDS long (then nothing says it is not)."""
    measured, left = [], QUIET_SECONDS
    for start, end in quiet:
        if left <= 0:
            break
        measured.append((start, min(end, start + left)))
        left -= measured[-1][1] - measured[-1][0]
    frames = voiced = 0
    for _, inside, found in _measured(samples, measured, most_aperiodic, ignore):
        frames += int(inside.sum())
        voiced += int(found.sum())
    return frames < MIN_QUIET_SECONDS * 100 or voiced > MAX_VOICED_QUIET * frames


def _measured(samples: Samples, spans: list[Region], most_aperiodic: float, ignore: np.ndarray | None):
    """Per span: its frames' centres (seconds), which of them lie inside it, and which of those
    are voiced (never an ``ignore`` frame); the frames reach a little beyond the span."""
    for start, end in spans:
        first = max(0, round(start * SAMPLE_RATE) - FILTER_PAD)
        last = min(len(samples), round(end * SAMPLE_RATE) + WINDOW + FILTER_PAD)
        voiced = aperiodicity(to_float(samples[first:last])) < most_aperiodic
        centres = (first + WINDOW // 2 + HOP * np.arange(len(voiced))) / SAMPLE_RATE
        inside = (centres >= start) & (centres <= end)
        if ignore is not None:
            voiced &= ~ignore[np.minimum((centres * 100).astype(int), len(ignore) - 1)]
        yield centres, inside, voiced & inside
