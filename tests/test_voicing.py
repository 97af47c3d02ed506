"""Voiced sound (pipeline.audio.voicing): a vowel's steady pitch told from line noise that is never
periodic, on synthetic signals whose truth is exact. The real consents are timed end to end in
tests/test_e2e_audio.py (tests/data/onset/consent_pink*)."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.audio.activity import over_floor
from pipeline.audio.decode import SAMPLE_RATE
from pipeline.audio.voicing import aperiodicity, voiced_background, voiced_runs

RNG_SEED = 7


def vowel(seconds: float, pitch: float = 180.0) -> np.ndarray:
    """Harmonics of ``pitch`` falling 6 dB an octave, a gliding pitch as speech has (±5 %)."""
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    phase = 2 * np.pi * np.cumsum(pitch * (1 + 0.05 * np.sin(2 * np.pi * 3 * t))) / SAMPLE_RATE
    wave = sum(np.sin(k * phase) / k for k in range(1, 16))
    return wave / np.sqrt(np.mean(wave ** 2))


def pink(samples: int, rng: np.random.Generator) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(samples))
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1))
    noise = np.fft.irfft(spectrum, samples)
    return noise / np.sqrt(np.mean(noise ** 2))


def pcm(signal: np.ndarray) -> np.ndarray:
    return np.clip(signal * 0.05 * 32768, -32768, 32767).astype(np.int16)


@pytest.fixture
def consent() -> np.ndarray:
    """3 s of pink line noise, a 0.25 s vowel at 1.5-1.75 s standing 5 dB over it."""
    rng = np.random.default_rng(RNG_SEED)
    signal = pink(3 * SAMPLE_RATE, rng)
    at = round(1.5 * SAMPLE_RATE)
    signal[at:at + round(0.25 * SAMPLE_RATE)] += 10 ** (5 / 20) * vowel(0.25)
    return signal


def test_a_vowel_is_periodic_and_line_noise_is_not():
    rng = np.random.default_rng(RNG_SEED)
    assert np.median(aperiodicity(vowel(0.5))) < 0.1
    for noise in (pink(SAMPLE_RATE, rng), rng.standard_normal(SAMPLE_RATE)):
        assert np.percentile(aperiodicity(noise), 5) > 0.4
    assert (aperiodicity(np.zeros(SAMPLE_RATE)) == 1.0).all()  # lost packets: digital silence
    assert len(aperiodicity(np.zeros(100))) == 0


def test_a_vowel_five_db_over_pink_noise_is_a_voiced_run(consent):
    [(start, end)] = voiced_runs(pcm(consent), [(1.0, 2.5)], 0.35)
    assert start == pytest.approx(1.5, abs=0.04) and end == pytest.approx(1.75, abs=0.04)
    assert voiced_runs(pcm(consent), [(0.0, 1.2), (2.0, 3.0)], 0.35) == []  # only the spans are measured


def test_a_run_voiced_where_a_span_starts_or_ends_is_more_than_a_reply(consent):
    assert voiced_runs(pcm(consent), [(1.0, 1.6)], 0.35) == []
    assert voiced_runs(pcm(consent), [(1.6, 2.5)], 0.35) == []


def test_lost_packets_inside_the_vowel_do_not_split_it():
    """Four 20 ms packets lost mid-vowel, the codec filling them with its comfort noise: the 40 ms
    windows reaching them are not voiced, the syllable is still one run."""
    rng = np.random.default_rng(RNG_SEED)
    signal = pink(3 * SAMPLE_RATE, rng)
    voice = 10 ** (5 / 20) * vowel(0.25)
    voice[round(0.08 * SAMPLE_RATE):round(0.16 * SAMPLE_RATE)] = 0.0
    at = round(1.5 * SAMPLE_RATE)
    signal[at:at + len(voice)] += voice
    [(start, end)] = voiced_runs(pcm(signal), [(1.0, 2.5)], 0.35)
    assert start == pytest.approx(1.5, abs=0.04) and end == pytest.approx(1.75, abs=0.04)


def test_echo_frames_are_never_voiced(consent):
    echo = np.zeros(300, dtype=bool)
    echo[140:180] = True  # the other leg's echo predicted over 1.4-1.8 s
    assert voiced_runs(pcm(consent), [(1.0, 2.5)], 0.35, echo) == []


def flicker(seconds: float, over_db: float) -> np.ndarray:
    """3 s of pink line noise, a vowel ``seconds`` long at 1.5 s standing ``over_db`` over it."""
    rng = np.random.default_rng(RNG_SEED)
    signal = pink(3 * SAMPLE_RATE, rng)
    at = round(1.5 * SAMPLE_RATE)
    signal[at:at + round(seconds * SAMPLE_RATE)] += 10 ** (over_db / 20) * vowel(seconds)
    return pcm(signal)


def test_a_shorter_voiced_flicker_is_no_run():
    assert voiced_runs(flicker(0.05, 5.0), [(1.0, 2.5)], 0.35) == []


def test_a_short_vowel_counts_where_the_leg_stands_over_its_noise():
    """A 50 ms vowel (a diphone voice's "Sure.") is a run where the leg is also loud there
    (``activity.over_floor``); as faint as the noise it is not, voiced as it is; nor is a 30 ms one."""
    everywhere = np.ones(3 * SAMPLE_RATE // 512 + 1, dtype=bool)
    loud, faint = flicker(0.05, 8.0), flicker(0.05, -1.0)
    [(start, end)] = voiced_runs(loud, [(1.0, 2.5)], 0.35, loud=over_floor(loud, 5.0))
    assert start == pytest.approx(1.5, abs=0.03) and end == pytest.approx(1.55, abs=0.03)
    assert len(voiced_runs(faint, [(1.0, 2.5)], 0.35, loud=everywhere)) == 1  # voiced: only its level says no
    assert voiced_runs(faint, [(1.0, 2.5)], 0.35, loud=over_floor(faint, 5.0)) == []
    assert voiced_runs(flicker(0.03, 8.0), [(1.0, 2.5)], 0.35, loud=everywhere) == []


def babble(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Pink noise with voiced flickers of 30-60 ms at other pitches every 0.35 s (babble: a tenth
    of its frames voiced)."""
    signal = pink(round(seconds * SAMPLE_RATE), rng)
    for at in np.arange(0.1, seconds - 0.1, 0.35):
        length = rng.uniform(0.03, 0.06)
        first = round(at * SAMPLE_RATE)
        signal[first:first + round(length * SAMPLE_RATE)] += 10 ** (5 / 20) * vowel(length, rng.uniform(120, 250))
    return signal


def test_a_background_is_voiced_where_its_quiet_flickers_with_voice():
    """Babble's quiet is voiced in a tenth of its frames, pink noise's in none: only on the latter
    is a voiced run evidence of a reply. Under MIN_QUIET_SECONDS of quiet nothing says which."""
    rng = np.random.default_rng(RNG_SEED)
    quiet = [(1.0, 4.0), (6.0, 10.0)]
    assert voiced_background(pcm(babble(12.0, rng)), quiet, 0.35)
    assert not voiced_background(pcm(pink(12 * SAMPLE_RATE, rng)), quiet, 0.35)
    assert voiced_background(pcm(pink(12 * SAMPLE_RATE, rng)), [(1.0, 4.0)], 0.35)


def test_the_background_is_measured_on_its_first_thirty_seconds_only():
    """A voice 40 s into the quiet is never measured (bounded cost)."""
    rng = np.random.default_rng(RNG_SEED)
    signal = pink(60 * SAMPLE_RATE, rng)
    signal[40 * SAMPLE_RATE:50 * SAMPLE_RATE] += vowel(10.0)
    assert not voiced_background(pcm(signal), [(0.0, 60.0)], 0.35)
    assert voiced_background(pcm(signal), [(30.0, 60.0)], 0.35)
