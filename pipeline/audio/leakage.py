"""Leakage between the legs of a stereo call: speech heard on one channel that is the other
channel's echo is not speech of that channel.

Real stereo recordings carry each leg into the other: line (hybrid) echo, headset bleed, a
recorder that mixes a little of one side into the other. Silero hears a -25 dB copy of the agent on
the customer leg as speech, so without this the echo became customer turns: false interruptions,
inflated talk time, a silent customer who "spoke".

How: for each direction (agent into customer, customer into agent) the leak is measured on the
call itself. Its delay is where the speaking leg's waveform correlates with the hearing leg's: the
cross-correlation over (at most COHERENCE_SECONDS of) the speaker's speech, searched up to
``max_delay_ms`` late, peaks at the echo's delay however much noise the hearing leg carries, since
noise and the hearing party's own voice do not correlate with the speaker (the energy ratio this
module used before swung at every delay under noise at the echo's level, babble most, and found
no leak). A peak not standing MIN_COHERENCE times over the correlation's median means no leak
worth the name. The gain is the median energy ratio at that delay over the speaker's loud frames,
the hearing leg's noise floor taken off first. The stronger leak is measured first and its echo
subtracted from its leg before the other direction is measured, whose peak would otherwise be
the first one's mirror image.

Then every speech region of the hearing leg is compared with what the leak predicts there (the
other leg's energy shifted and scaled, plus the leg's own noise floor): frames louder than that by
``margin_db`` are the leg's own voice. A region with less own voice than ``min_own_speech_ms`` is
dropped; one with more is trimmed to its own voice (an echo that runs into an answer no longer
moves the answer's start). A region's start or end is trimmed only where echo stands over the
leg's noise floor: a lossy stereo file's own crosstalk, about 40 dB down at no delay, is a leak
too, and must not move a clean call's edges.

Cost: one pass over the audio for the frame energies and three FFTs of bounded length; 0.065
CPU-seconds on a 9.5-minute call, the same as the energy-ratio estimate before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import fft
from scipy.ndimage import maximum_filter1d

from pipeline.audio.activity import Region, bridged, runs
from pipeline.audio.decode import SAMPLE_RATE, Samples, mean_squares, to_float

FRAME = SAMPLE_RATE // 100  # 10 ms
LOUD_PERCENTILE = 70  # the speaker's frames above this energy percentile (of its speech) estimate the gain
NOISE_PERCENTILE = 10  # a leg's quietest frames after the answer are its noise floor
COHERENCE_SECONDS = 20.0  # of the speaker's speech correlated with the other leg, at most: bounded cost
MIN_COHERENCE = 10.0  # the correlation's peak over its median across lags: no leak 7.6 at most (304 legs of
# tuning and dev calls), leaks 9 to 181 (0.0 to 0.2 s late, -10 to -35 dB, under noise and codecs)
SKEW_SAMPLES = SAMPLE_RATE // 200  # an echo may seem up to 5 ms early: the two legs' recorders may not align
MIN_LOUD_FRAMES = 50  # half a second of loud speech at least, or no estimate
# A frame's echo is predicted from the speaker's loudest frame this close: a packet the speaking leg
# lost (up to 60 ms) leaves no reference, while its echo, picked up before the loss, is still there.
ECHO_SPREAD_FRAMES = 3
MIN_RUN_FRAMES = 5  # own voice lasts: a lone frame over the margin is the line noise's flicker
# A leg's own sound dipping under the margin this many frames or fewer is one run: a lost 20 ms packet,
# or the echo's prediction over a whisper ("Sure." before a hold: 0.12 s and 0.14 s, 20 ms apart).
BRIDGE_FRAMES = 3
# Own voice at a region's edge, this many frames or more from the rest of its own voice and under
# min_own_speech_ms in all, is the echo swinging over the margin (a codec or noise on the leak),
# not an utterance: the region is not stretched to it.
APART_FRAMES = 50
# A pause this long in a region's own voice, with echo in it, is the other party's turn heard
# through the leak (the VAD joined the two around it); under talk over talk the own voice drops
# under the echo's margin for less (up to 0.75 s on the interruption sample call).
ECHO_TURN_FRAMES = 100
EPS = 1e-12


@dataclass(frozen=True)
class Leak:
    """One leg heard in the other: ``hearing[t] ≈ amplitude * speaking[t - lag]``."""

    lag: int  # samples
    amplitude: float  # the waveform's gain at that lag (signed: an echo path may invert)
    gain: float  # energy ratio, for the frame-level prediction
    coherence: float  # the cross-correlation's peak over its median across lags

    @property
    def delay_frames(self) -> int:
        return round(self.lag / FRAME)


def frame_energies(samples: Samples) -> np.ndarray:
    """Mean square of every 10 ms frame (float64)."""
    return mean_squares(samples, FRAME)


def estimate_leak(speaking: Samples, hearing: Samples, energies: tuple[np.ndarray, np.ndarray],
                  speaking_regions: list[Region], max_delay_frames: int, max_gain_db: float,
                  back: Leak | None = None) -> Leak | None:
    """How ``speaking`` leaks into ``hearing`` (their samples, and their frame energies in that
    order), or None when it does not. ``back``: the leak the other way, found already; its echo is
    taken out of ``speaking`` first (else it shows here as a mirror image, at minus its lag). An
    echo is quieter than its source: a gain above ``max_gain_db`` is no leak."""
    lag, coherence, amplitude = _coherent_lag(speaking, hearing, speaking_regions, max_delay_frames * FRAME, back)
    if coherence < MIN_COHERENCE:
        return None
    delay, limit = round(lag / FRAME), 10 ** (max_gain_db / 10)
    speaker, heard = energies
    loud = _loud_frames(speaker, speaking_regions)
    loud = loud[(loud + delay >= 0) & (loud + delay < len(heard))]
    if len(loud) < MIN_LOUD_FRAMES:
        return None
    floor = np.percentile(heard, NOISE_PERCENTILE)
    gain = float(np.median(np.maximum(heard[loud + delay] - floor, 0.0) / (speaker[loud] + EPS)))
    if gain > limit:  # noise that swings (babble) louder than the echo: the waveform's gain, which it does not bias
        gain = amplitude ** 2
    if gain <= 0.0 or gain > limit:
        return None
    return Leak(lag, amplitude, gain, coherence)


def _coherent_lag(speaking: Samples, hearing: Samples, regions: list[Region], max_lag: int,
                  back: Leak | None = None) -> tuple[int, float, float]:
    """The lag (samples, ``hearing`` later when positive) where the two legs' waveforms correlate
    most over the speaker's first COHERENCE_SECONDS of speech; how far that peak stands over the
    correlation's median across lags (0.0: no speech to correlate); the waveform's gain there."""
    budget, spans = int(COHERENCE_SECONDS * SAMPLE_RATE), []
    for start, end in regions:
        first = max(int(start * SAMPLE_RATE), 2 * max_lag)
        last = min(int(end * SAMPLE_RATE), len(speaking) - max_lag, len(hearing) - max_lag)
        if last > first:
            spans.append((first, min(last, first + budget)))
            budget -= spans[-1][1] - first
        if budget <= 0:
            break
    if not spans:
        return 0, 0.0, 0.0

    def speech(first: int, last: int) -> np.ndarray:
        own = to_float(speaking[first:last])
        if back is None:
            return own
        return own - np.float32(back.amplitude) * to_float(hearing[first - back.lag:last - back.lag])

    pad = np.zeros(max_lag, dtype=np.float32)
    # Each span's speech with max_lag of silence either side, against the other leg's audio there:
    # the product at any lag up to max_lag stays inside one span, and the circular FFT never wraps.
    x = np.concatenate([part for first, last in spans for part in (pad, speech(first, last), pad)])
    y = np.concatenate([to_float(hearing[first - max_lag:last + max_lag]) for first, last in spans])
    size = fft.next_fast_len(len(x), real=True)
    r = fft.irfft(np.conj(fft.rfft(x, size)) * fft.rfft(y, size), size)
    lags = np.concatenate((r[size - max_lag:], r[:max_lag + 1]))
    searched = np.abs(lags)
    # An echo comes after its source: a peak at a negative lag is the other leak's mirror image.
    searched[:max(0, max_lag - SKEW_SAMPLES)] = 0.0
    best = int(np.argmax(searched))
    coherence = float(searched[best] / (np.median(np.abs(lags)) + EPS))
    return best - max_lag, coherence, float(lags[best] / (np.dot(x, x) + EPS))


def drop_leakage(channels: list[Samples], regions: list[list[Region]], settings: dict) -> list[list[Region]]:
    """The speech regions of both legs, less what is the other leg's echo (see the module docstring)."""
    return keep_own(regions, own_voice(channels, regions, settings), settings)


@dataclass(frozen=True)
class OwnVoice:
    """One leg's 10 ms frames: where it is louder than the other leg's echo predicts by
    ``margin_db`` (its own voice), and where that echo stands over the leg's noise floor at all."""

    own: np.ndarray
    echo: np.ndarray


def own_voice(channels: list[Samples], regions: list[list[Region]], settings: dict) -> list[OwnVoice | None]:
    """Per leg, its own voice and the echo it hears (``OwnVoice``), or None where no leak into it
    was found.

    The more coherent leak is taken out first; the other direction is then measured from the
    cleaned regions, the first leak's echo subtracted from their audio: a leg that still holds the
    other's echo would otherwise make that echo look like a source."""
    energies = [frame_energies(channel) for channel in channels]
    max_delay = round(settings["max_delay_ms"] / 10)
    regions = [list(r) for r in regions]
    voices: list[OwnVoice | None] = [None, None]

    def leak_into(hearing: int, back: Leak | None = None) -> Leak | None:
        speaking = 1 - hearing
        return estimate_leak(channels[speaking], channels[hearing], (energies[speaking], energies[hearing]),
                             regions[speaking], max_delay, settings["max_gain_db"], back)

    leaks = [leak_into(hearing) for hearing in (0, 1)]
    first = max((0, 1), key=lambda hearing: getattr(leaks[hearing], "coherence", 0.0))
    for hearing in (first, 1 - first):
        leak = leaks[first] if hearing == first else leak_into(hearing, leaks[first])
        if leak is None:
            continue
        heard_from = maximum_filter1d(_shifted(energies[1 - hearing], leak.delay_frames), 2 * ECHO_SPREAD_FRAMES + 1)
        echo = heard_from * leak.gain
        floor = np.percentile(energies[hearing], NOISE_PERCENTILE)
        voices[hearing] = OwnVoice(_own_frames(energies[hearing], echo, settings["margin_db"]), echo > floor)
        regions[hearing] = _own_speech(regions[hearing], voices[hearing], settings)
    return voices


def own_sound(samples: Samples, voice: OwnVoice | None, start_at: float, settings: dict,
              min_seconds: float, loud_db: float | None = None) -> list[Region]:
    """Where a leg sounds of its own after ``start_at``, in runs of at least ``min_seconds``: its
    own voice (``voice.own``) where a leak into it was found, else frames ``margin_db`` over its
    noise floor. Heard as speech or not: a whispered or breathy reply under line noise can escape
    the VAD altogether (Silero < 0.05 on the bench's whispering voice at 12-14 dB SNR), and a leg
    that sounds like that is no silent caller's. With ``loud_db``, only the runs that stand that far
    over the floor for MIN_RUN_FRAMES somewhere: a syllable, where a swell of line noise is not."""
    energies = frame_energies(samples)
    own = (_own_frames(energies, 0.0, settings["margin_db"]) if voice is None else voice.own).copy()
    own[:round(start_at * 100)] = False
    shortest = round(min_seconds * 100)
    found = [(first, last) for first, last in runs(bridged(own, BRIDGE_FRAMES)) if last - first >= shortest]
    if loud_db is not None:
        floor = np.percentile(energies, NOISE_PERCENTILE)
        loud = _sustained(energies > floor * 10 ** (loud_db / 10), MIN_RUN_FRAMES)
        found = [(first, last) for first, last in found if loud[first:last].any()]
    return [(first / 100, last / 100) for first, last in found]


def keep_own(regions: list[list[Region]], voices: list[OwnVoice | None], settings: dict) -> list[list[Region]]:
    """Each leg's regions trimmed to its own voice (``own_voice``), those with too little dropped."""
    return [list(leg) if voice is None else _own_speech(leg, voice, settings) for leg, voice in zip(regions, voices)]


def unexplained(regions: list[Region], kept: list[Region], voice: OwnVoice | None) -> list[Region]:
    """The ``regions`` ``keep_own`` dropped (``kept``: what it kept of them) where no echo was
    predicted at all: Silero heard speech, too little of it stood ``margin_db`` over the line noise
    to count as the leg's own voice, and no echo explains it ("Sure." under white noise at 10 dB
    SNR, 0.12 s over the margin, split by a lost packet)."""
    if voice is None:
        return []
    explained = voice.echo.copy()  # (frames: linear in the call's length)
    for start, end in kept:
        explained[int(start * 100):int(end * 100)] = True
    return [(start, end) for start, end in regions if not explained[int(start * 100):int(end * 100)].any()]


def _loud_frames(energies: np.ndarray, regions: list[Region]) -> np.ndarray:
    inside = np.zeros(len(energies), dtype=bool)
    for start, end in regions:
        inside[int(start * 100):int(end * 100)] = True
    speech = np.flatnonzero(inside)
    if len(speech) == 0:
        return speech
    return speech[energies[speech] >= np.percentile(energies[speech], LOUD_PERCENTILE)]


def _shifted(energies: np.ndarray, delay: int) -> np.ndarray:
    """``energies`` moved ``delay`` frames later (earlier when negative), zeros where nothing moved in."""
    out = np.zeros_like(energies)
    if delay >= 0:
        out[delay:] = energies[:len(energies) - delay]
    else:
        out[:delay] = energies[-delay:]
    return out


def _sustained(mask: np.ndarray, frames: int) -> np.ndarray:
    """``mask`` keeping only runs of at least ``frames`` true frames."""
    out = np.zeros_like(mask)
    for first, last in runs(mask):
        if last - first >= frames:
            out[first:last] = True
    return out


def _own_frames(energies: np.ndarray, echo: np.ndarray | float, margin_db: float) -> np.ndarray:
    """The frames ``margin_db`` louder than the echo predicted there and the leg's noise floor."""
    floor = np.percentile(energies, NOISE_PERCENTILE)
    return _sustained(energies > (echo + floor) * 10 ** (margin_db / 10), MIN_RUN_FRAMES)


def _own_speech(regions: list[Region], voice: OwnVoice, settings: dict) -> list[Region]:
    """Each region trimmed to its frames of own voice (padded) where echo was to be heard there,
    and cut where echo fills a pause in them; dropped when they are too few."""
    min_frames = settings["min_own_speech_ms"] / 10
    pad = settings["trim_pad_ms"] / 1000
    out = []
    for start, end in regions:
        first, last = int(start * 100), min(len(voice.own), int(end * 100))
        echoed = voice.echo[first:last]
        voiced = [group for group in _groups(np.flatnonzero(voice.own[first:last])) if len(group) >= min_frames]
        if not voiced:
            continue
        # (head, tail) frames of each stretch of own voice; a pause between two that echo fills ends one
        stretches = [[voiced[0][0], voiced[0][-1] + 1]]
        for group in voiced[1:]:
            if group[0] - stretches[-1][1] >= ECHO_TURN_FRAMES and echoed[stretches[-1][1]:group[0]].any():
                stretches.append([group[0], group[-1] + 1])
            else:
                stretches[-1][1] = group[-1] + 1
        for n, (head, tail) in enumerate(stretches):
            cut_before = n > 0 or echoed[:head].any()
            cut_after = n < len(stretches) - 1 or echoed[tail:].any()
            out.append((round(max(start, (first + head) / 100 - pad), 3) if cut_before else start,
                        round(min(end, (first + tail) / 100 + pad), 3) if cut_after else end))
    return out


def _groups(frames: np.ndarray) -> list[np.ndarray]:
    """Own-voice frame indices split where APART_FRAMES or more lie between two of them."""
    if len(frames) == 0:
        return []
    return np.split(frames, np.flatnonzero(np.diff(frames) > APART_FRAMES) + 1)
