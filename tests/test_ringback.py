"""Ring-back detection on synthesised telephone audio: tone cadences, speech-like sound, line
noise, band limiting and an mp3 round trip, as a recording from a phone line would have them."""

import io
from pathlib import Path

import av
import numpy as np
import pytest
import yaml
from scipy import signal

from pipeline.audio.ringback import detect_ringback
from pipeline.measure import rings_for_seconds

SETTINGS = yaml.safe_load((Path(__file__).parents[1] / "configs" / "default.yaml").read_text())["ringback"]
LINE_RATE = 8000  # telephone audio, resampled to the pipeline's 16 kHz like a real recording
RATE = 16000
CADENCES = {"cn": ([450.0], 1.0, 4.0), "us": ([440.0, 480.0], 2.0, 4.0)}


def ring_phase(cadence: str, rings: int, level: float = 0.2) -> np.ndarray:
    """``rings`` full cycles of tone and pause; the call is answered when the last pause ends."""
    frequencies, on, off = CADENCES[cadence]
    t = np.arange(round(rings * (on + off) * LINE_RATE)) / LINE_RATE
    tone = sum(np.sin(2 * np.pi * f * t) for f in frequencies) * level / np.sqrt(len(frequencies))
    return np.where(t % (on + off) < on, tone, 0.0)


def speech_like(seconds: float, rng: np.random.Generator, level: float = 0.2) -> np.ndarray:
    """Phrases of syllables: voiced ones (harmonics of a gliding pitch through two formant
    resonances, so a harmonic may pass the tone frequencies) and fricatives (high-band noise)."""
    out = np.zeros(round(seconds * LINE_RATE))
    i = 0
    while i < len(out):
        phrase_end = i + round(rng.uniform(0.8, 2.5) * LINE_RATE)
        while i < min(phrase_end, len(out)):
            n = round(rng.uniform(0.12, 0.3) * LINE_RATE)
            if rng.random() < 0.75:
                phase = 2 * np.pi * np.cumsum(np.linspace(rng.uniform(100, 220), rng.uniform(90, 240), n)) / LINE_RATE
                syllable = sum(np.sin(k * phase) / k for k in range(1, 30))
                for formant in (rng.uniform(300, 900), rng.uniform(900, 2500)):
                    w, r = 2 * np.pi * formant / LINE_RATE, 0.97
                    syllable = signal.lfilter([1 - r], [1, -2 * r * np.cos(w), r * r], syllable)
            else:
                sos = signal.butter(4, [2000, 3400], "bandpass", fs=LINE_RATE, output="sos")
                syllable = signal.sosfilt(sos, rng.standard_normal(n))
            syllable = syllable * np.hanning(n)
            syllable *= level / np.sqrt(np.mean(syllable**2))
            k = min(n, len(out) - i)
            out[i : i + k] += syllable[:k]
            i += n + round(rng.uniform(0.0, 0.08) * LINE_RATE)
        i += round(rng.uniform(0.2, 0.8) * LINE_RATE)
    return out


def hum(frequency: float, seconds: float, level: float = 0.1) -> np.ndarray:
    return level * np.sin(2 * np.pi * frequency * np.arange(round(seconds * LINE_RATE)) / LINE_RATE)


def mp3_round_trip(x: np.ndarray) -> np.ndarray:
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp3") as container:
        stream = container.add_stream("libmp3lame", rate=LINE_RATE, layout="mono")
        stream.bit_rate = 24000
        frame = av.AudioFrame.from_ndarray(x[None, :].astype(np.float32), format="flt", layout="mono")
        frame.sample_rate = LINE_RATE
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    buffer.seek(0)
    with av.open(buffer) as container:
        return np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])


def telephone(x: np.ndarray, rng: np.random.Generator, snr_db: float = 20.0, mp3: bool = True) -> np.ndarray:
    """Band-limit to 300-3400 Hz, add line noise ``snr_db`` below the signal, mp3, 8 -> 16 kHz."""
    x = signal.sosfiltfilt(signal.butter(4, [300, 3400], "bandpass", fs=LINE_RATE, output="sos"), x)
    level = np.sqrt(np.mean(x[np.abs(x) > 1e-4] ** 2)) if np.any(np.abs(x) > 1e-4) else 0.01
    x = x + rng.standard_normal(len(x)) * level * 10 ** (-snr_db / 20)
    if mp3:
        x = mp3_round_trip(x)
    return signal.resample_poly(x, RATE // LINE_RATE, 1).astype(np.float32)


def detect(x: np.ndarray):
    return detect_ringback(x, RATE, SETTINGS)


@pytest.mark.parametrize("rings", range(1, 7))
@pytest.mark.parametrize("cadence", CADENCES)
def test_counts_rings_and_finds_the_answer(cadence, rings):
    rng = np.random.default_rng(rings)
    _, on, off = CADENCES[cadence]
    audio = telephone(np.concatenate([ring_phase(cadence, rings), speech_like(8, rng)]), rng)
    found = detect(audio)
    assert found is not None and found.cadence == cadence
    assert found.count == rings
    assert found.answer_at == pytest.approx(rings * (on + off), abs=0.25)
    assert found.seconds == found.answer_at
    assert found.first_burst_start == pytest.approx(0.0, abs=0.1)
    assert found.last_burst_end == pytest.approx((rings - 1) * (on + off) + on, abs=0.1)


@pytest.mark.parametrize("cadence", CADENCES)
def test_speech_during_the_last_pause_is_the_answer(cadence):
    rng = np.random.default_rng(7)
    _, on, off = CADENCES[cadence]
    ring = ring_phase(cadence, 4)[: round((3 * (on + off) + on + 1.5) * LINE_RATE)]  # answered 1.5 s into the pause
    found = detect(telephone(np.concatenate([ring, speech_like(8, rng)]), rng))
    assert found.count == 4
    assert found.answer_at == pytest.approx(len(ring) / LINE_RATE, abs=0.5)


def test_noisy_line_without_codec():
    rng = np.random.default_rng(3)
    found = detect(telephone(np.concatenate([ring_phase("cn", 3), speech_like(8, rng)]), rng, snr_db=10, mp3=False))
    assert (found.cadence, found.count) == ("cn", 3)
    assert found.answer_at == pytest.approx(15.0, abs=0.25)


def test_hum_under_the_ring_back_changes_nothing():
    rng = np.random.default_rng(4)
    call = np.concatenate([ring_phase("cn", 3), speech_like(8, rng)])
    found = detect(telephone(call + hum(400, len(call) / LINE_RATE, level=0.06), rng))
    assert (found.count, found.answer_at) == (3, pytest.approx(15.0, abs=0.25))


@pytest.mark.parametrize("seed", range(3))
def test_no_ring_back_in_speech_noise_or_silence(seed):
    rng = np.random.default_rng(100 + seed)
    assert detect(telephone(speech_like(40, rng), rng)) is None
    assert detect(telephone(np.concatenate([np.zeros(3 * LINE_RATE), speech_like(30, rng)]), rng)) is None
    assert detect(telephone(0.05 * rng.standard_normal(40 * LINE_RATE), rng)) is None
    assert detect(np.zeros(40 * RATE, dtype=np.float32)) is None


def test_tone_after_speech_is_not_the_ring_phase():
    # A recording that starts with speech, then rings (a transfer): the ring phase is before any speech.
    rng = np.random.default_rng(5)
    call = np.concatenate([speech_like(6, rng), ring_phase("cn", 3), speech_like(6, rng)])
    assert detect(telephone(call, rng)) is None


@pytest.mark.parametrize("frequency", [400.0, 450.0])
def test_uncadenced_hum_is_no_ring_back(frequency):
    rng = np.random.default_rng(6)
    speech = np.concatenate([np.zeros(5 * LINE_RATE), speech_like(25, rng)])
    assert detect(telephone(hum(frequency, 30) + speech, rng)) is None


def test_too_short_audio_and_bad_cadence():
    assert detect(np.zeros(100, dtype=np.float32)) is None
    bad = {**SETTINGS, "cadences": {"uk": {"frequencies": [400], "on_seconds": 0.4}}}
    with pytest.raises(ValueError, match="ringback.cadences.uk"):
        detect_ringback(np.zeros(RATE, dtype=np.float32), RATE, bad)


def test_rings_for_seconds_counts_started_cycles():
    assert [rings_for_seconds(s, 5.0) for s in (0.0, 4.9, 5.0, 15.0, 15.2, 17.0)] == [0, 1, 1, 3, 4, 4]


@pytest.mark.parametrize("cadence, into_ring", [("us", 0.3), ("us", 1.0), ("us", 1.6), ("cn", 0.3), ("cn", 0.6)])
@pytest.mark.parametrize("speaks_after", [0.0, 1.2])
def test_answered_during_a_ring_the_cut_ring_ends_the_ring_phase(cadence, into_ring, speaks_after):
    """The tone stops at the answer, wherever in the cadence it falls; the agent may speak at once
    or a moment later (line noise in between)."""
    rng = np.random.default_rng(round(10 * into_ring) + round(10 * speaks_after))
    _, on, off = CADENCES[cadence]
    answered = 3 * (on + off) + into_ring
    ring = ring_phase(cadence, 4)[: round(answered * LINE_RATE)]
    call = np.concatenate([ring, np.zeros(round(speaks_after * LINE_RATE)), speech_like(8, rng)])
    found = detect(telephone(call, rng))
    assert found is not None and found.cadence == cadence
    assert found.answer_at == pytest.approx(answered, abs=0.3)
    assert found.count == 4  # the cut ring rang


def test_the_ring_back_on_the_quiet_leg_is_found_beside_a_noisy_one():
    """Stereo: the ring-back on the caller's leg, 12 dB quieter than usual, the other leg carrying
    line noise as loud as the tone. Mixed, the tone held a third of the band; per leg it is found."""
    rng = np.random.default_rng(11)
    caller = telephone(np.concatenate([ring_phase("cn", 4, level=0.05), np.zeros(8 * LINE_RATE)]), rng, mp3=False)
    agent_line = np.concatenate([np.zeros(20 * LINE_RATE), speech_like(8, rng)])
    agent = telephone(agent_line, rng, mp3=False) + 0.08 * rng.standard_normal(len(caller)).astype(np.float32)
    found = detect_ringback([agent, caller], RATE, SETTINGS)
    assert found is not None and (found.cadence, found.count) == ("cn", 4)
    assert found.answer_at == pytest.approx(20.0, abs=0.3)  # the agent's first words, on the other leg
    assert detect_ringback((agent + caller) / 2, RATE, SETTINGS) is None  # what mixing the legs missed
