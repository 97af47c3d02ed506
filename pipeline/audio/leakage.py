"""Leakage between the legs of a stereo call: speech heard on one channel that is the other
channel's echo is not speech of that channel.

Real stereo recordings carry each leg into the other: line (hybrid) echo, headset bleed, a
recorder that mixes a little of one side into the other. Silero hears a -25 dB copy of the agent on
the customer leg as speech, so without this the echo became customer turns: false interruptions,
inflated talk time, a silent customer who "spoke".

How: 10 ms frame energies of both legs. For each direction (agent into customer, customer into
agent) the leak is estimated from the call itself: at the true delay the energy ratio between the
leg that hears and the leg that speaks is nearly constant over the loud frames of the speaker (it
is the leak's gain), at any other delay it swings with the speech. The delay with the steadiest
ratio, searched within ``max_delay_ms`` either way, gives the delay and the gain (the ratio's
median); a ratio that is not steady at any delay means no leak worth the name. Then every speech
region of the hearing leg is compared with what the leak predicts there (the other leg's energy
shifted and scaled, plus the leg's own noise floor): frames louder than that by ``margin_db`` are
the leg's own voice. A region with less own voice than ``min_own_speech_ms`` is dropped; one with
more is trimmed to its own voice (an echo that runs into an answer no longer moves the answer's
start). Cost: one pass over the audio, a few ms per call minute.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.audio.activity import Region
from pipeline.audio.decode import SAMPLE_RATE, Samples, to_float

FRAME = SAMPLE_RATE // 100  # 10 ms
BLOCK_FRAMES = 6000  # frames read at a time (60 s): bounded memory on long calls
LOUD_PERCENTILE = 70  # the speaker's frames above this energy percentile (of its speech) estimate the leak
NOISE_PERCENTILE = 10  # a leg's quietest frames after the answer are its noise floor
STEADY_SPREAD_DB = 6.0  # interquartile spread of the ratio, at the best delay, below which there is a leak
MIN_CONTRAST_DB = 1.5  # ... and by how much steadier than at a typical delay (clean calls: under 0.5)
MIN_LOUD_FRAMES = 50  # half a second of loud speech at least, or no estimate
MIN_RUN_FRAMES = 5  # own voice lasts: a lone frame over the margin is the line noise's flicker
EPS = 1e-12


@dataclass(frozen=True)
class Leak:
    """One leg heard in the other: ``hearing[t] ≈ gain * speaking[t - delay]``."""

    delay_frames: int
    gain: float  # energy ratio
    spread_db: float  # how steady the ratio was at that delay


def frame_energies(samples: Samples) -> np.ndarray:
    """Mean square of every 10 ms frame (float64), read a block at a time."""
    frames = len(samples) // FRAME
    out = np.empty(frames)
    for at in range(0, frames, BLOCK_FRAMES):
        block = to_float(samples[at * FRAME:min(frames, at + BLOCK_FRAMES) * FRAME]).astype(np.float64)
        out[at:at + len(block) // FRAME] = np.square(block.reshape(-1, FRAME)).mean(axis=1)
    return out


def estimate_leak(speaking: np.ndarray, hearing: np.ndarray, speaking_regions: list[Region],
                  max_delay_frames: int, max_gain_db: float) -> Leak | None:
    """How ``speaking`` leaks into ``hearing`` (frame energies), or None when it does not. An echo
    is quieter than its source: a steady ratio above ``max_gain_db`` is the mirror image of a leak
    the other way (the hearing leg speaking), not a leak."""
    loud = _loud_frames(speaking, speaking_regions)
    loud = loud[(loud >= max_delay_frames) & (loud < len(hearing) - max_delay_frames)]
    if len(loud) < MIN_LOUD_FRAMES:
        return None
    source = 10 * np.log10(speaking[loud] + EPS)
    spreads, medians = [], []
    for delay in range(-max_delay_frames, max_delay_frames + 1):
        low, median, high = np.percentile(10 * np.log10(hearing[loud + delay] + EPS) - source, (25, 50, 75))
        spreads.append(high - low)
        medians.append(median)
    best = int(np.argmin(spreads))
    leak = Leak(best - max_delay_frames, float(10 ** (medians[best] / 10)), float(spreads[best]))
    # A leg that only hears its own line noise gives the same spread at every delay: a leak is
    # steady at one delay and not at the others.
    contrast = float(np.median(spreads)) - leak.spread_db
    if leak.spread_db > STEADY_SPREAD_DB or contrast < MIN_CONTRAST_DB or leak.gain > 10 ** (max_gain_db / 10):
        return None
    return leak


def drop_leakage(channels: list[Samples], regions: list[list[Region]], settings: dict) -> list[list[Region]]:
    """The speech regions of both legs, less what is the other leg's echo (see the module docstring)."""
    return keep_own(regions, own_voice(channels, regions, settings), settings)


def own_voice(channels: list[Samples], regions: list[list[Region]], settings: dict) -> list[np.ndarray | None]:
    """Per leg, which 10 ms frames are its own voice (louder than the other leg's echo predicts
    by ``margin_db``), or None where no leak into it was found.

    The steadier leak is taken out first, and the other direction is then estimated from the
    cleaned regions: a leg whose regions still hold the other's echo would otherwise make that
    echo look like a source."""
    energies = [frame_energies(channel) for channel in channels]
    max_delay = round(settings["max_delay_ms"] / 10)
    regions = [list(r) for r in regions]
    own: list[np.ndarray | None] = [None, None]

    def leak_into(hearing: int) -> Leak | None:
        speaking = 1 - hearing
        return estimate_leak(energies[speaking], energies[hearing], regions[speaking], max_delay,
                             settings["max_gain_db"])

    first = min((0, 1), key=lambda hearing: getattr(leak_into(hearing), "spread_db", np.inf))
    for hearing in (first, 1 - first):
        leak = leak_into(hearing)
        if leak is None:
            continue
        predicted = _shifted(energies[1 - hearing], leak.delay_frames) * leak.gain
        predicted += np.percentile(energies[hearing], NOISE_PERCENTILE)
        own[hearing] = _sustained(energies[hearing] > predicted * 10 ** (settings["margin_db"] / 10), MIN_RUN_FRAMES)
        regions[hearing] = _own_speech(regions[hearing], own[hearing], settings)
    return own


def keep_own(regions: list[list[Region]], own: list[np.ndarray | None], settings: dict) -> list[list[Region]]:
    """Each leg's regions trimmed to its own voice (``own_voice``), those with too little dropped."""
    return [list(leg) if frames is None else _own_speech(leg, frames, settings) for leg, frames in zip(regions, own)]


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
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    out = np.zeros_like(mask)
    for start, end in zip(starts, ends):
        if end - start >= frames:
            out[start:end] = True
    return out


def _own_speech(regions: list[Region], own: np.ndarray, settings: dict) -> list[Region]:
    """Each region trimmed to its frames of own voice (padded), or dropped when they are too few."""
    min_frames = settings["min_own_speech_ms"] / 10
    pad = settings["trim_pad_ms"] / 1000
    out = []
    for start, end in regions:
        first, last = int(start * 100), min(len(own), int(end * 100))
        frames = np.flatnonzero(own[first:last])
        if len(frames) < min_frames:
            continue
        out.append((round(max(start, float(first + frames[0]) / 100 - pad), 3),
                    round(min(end, float(first + frames[-1] + 1) / 100 + pad), 3)))
    return out
