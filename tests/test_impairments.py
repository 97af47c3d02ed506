"""The telephone impairments of the sample generator (sample_audio/impairments.py) on numpy signals:
each one measured back (delay and level by cross-correlation, SNR, codec error, lost frames,
clipping level) and the chain deterministic. No synthesiser needed; only the GSM test needs ffmpeg."""

from __future__ import annotations

import importlib.util
import shutil
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

SAMPLES = Path(__file__).resolve().parent.parent / "sample_audio"
_spec = importlib.util.spec_from_file_location("impairments", SAMPLES / "impairments.py")
imp = sys.modules["impairments"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(imp)

RATE = imp.RATE


def speechlike(seconds: float, seed: int, level_dbfs: float = -20.0) -> np.ndarray:
    """Band-limited noise switched on and off (0.4-1.5 s bursts and pauses) at ``level_dbfs`` RMS
    while on: enough like speech for levels, independent enough for cross-correlation."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    out = np.zeros(n)
    t = 0
    while t < n:
        on, off = (int(rng.uniform(0.4, 1.5) * RATE) for _ in range(2))
        out[t : t + on] = rng.normal(0.0, 1.0, min(on, n - t))
        t += on + off
    active = out != 0
    return out * 10 ** (level_dbfs / 20) / np.sqrt(np.mean(out[active] ** 2))


def two_legs(seconds: float = 8.0) -> np.ndarray:
    return np.stack([speechlike(seconds, 1), speechlike(seconds, 2, -22.0)], axis=1)


def lag_and_gain(received: np.ndarray, source: np.ndarray, max_lag: int) -> tuple[int, float]:
    """The lag (samples) at which ``source`` best explains ``received``, and its gain in dB."""
    lags = np.arange(0, max_lag + 1)
    scores = [np.dot(received[lag:], source[: len(source) - lag]) for lag in lags]
    lag = int(lags[int(np.argmax(scores))])
    shifted = source[: len(source) - lag]
    gain = np.dot(received[lag:], shifted) / np.dot(shifted, shifted)
    return lag, 20 * np.log10(gain)


# --- leakage ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("gain_db", "delay_ms"), [(-35.0, 0.0), (-20.0, 62.5), (-10.0, 150.0)])
def test_leak_has_the_delay_and_level_asked_for(gain_db, delay_ms):
    source = speechlike(6.0, 3)
    lag, gain = lag_and_gain(imp.leak(source, gain_db, delay_ms), source, 2000)
    assert lag == round(delay_ms * RATE / 1000)
    assert gain == pytest.approx(gain_db, abs=0.01)


def test_leakage_goes_both_ways_each_with_its_own_delay_and_level():
    clean = two_legs()
    params = {"leak": {"agent_to_customer": {"gain_db": -15.0, "delay_ms": 120.0},
                       "customer_to_agent": {"gain_db": -30.0, "delay_ms": 10.0}}}
    out = imp.apply(clean, params, seed=0).astype(np.float64)
    echo_on_customer = out[:, 1] - clean[:, 1]
    echo_on_agent = out[:, 0] - clean[:, 0]
    lag, gain = lag_and_gain(echo_on_customer, clean[:, 0], 2000)
    assert (lag, round(gain, 1)) == (960, -15.0)
    lag, gain = lag_and_gain(echo_on_agent, clean[:, 1], 2000)
    assert (lag, round(gain, 1)) == (80, -30.0)


# --- noise -----------------------------------------------------------------------------------------


def test_active_level_ignores_silence():
    signal = speechlike(20.0, 4, -23.0) + np.random.default_rng(5).normal(0, 10 ** (-60 / 20), 20 * RATE)
    assert imp.active_level_dbfs(signal) == pytest.approx(-23.0, abs=0.5)
    assert imp.active_level_dbfs(signal * 10 ** (-12 / 20)) == pytest.approx(-35.0, abs=0.5)


@pytest.mark.parametrize("kind", imp.NOISE_KINDS)
@pytest.mark.parametrize("snr_db", [10.0, 30.0])
def test_noise_is_at_the_snr_asked_for(kind, snr_db):
    clean = two_legs()
    bed = speechlike(30.0, 6)  # babble's talkers are read from this
    params = {"noise": {"agent": {"snr_db": snr_db, "kind": kind}, "customer": {"snr_db": snr_db + 5, "kind": kind}}}
    out = imp.apply(clean, params, seed=1, speech_dbfs={"agent": -20.0, "customer": -22.0}, babble_bed=bed)
    for channel, reference, snr in ((0, -20.0, snr_db), (1, -22.0, snr_db + 5)):
        noise = out[:, channel].astype(np.float64) - clean[:, channel]
        measured = reference - 10 * np.log10(np.mean(noise**2))
        assert measured == pytest.approx(snr, abs=0.01)


def test_snr_defaults_to_the_legs_active_level():
    clean = two_legs()
    out = imp.apply(clean, {"noise": {"agent": {"snr_db": 15.0, "kind": "white"}}}, seed=2)
    noise = out[:, 0].astype(np.float64) - clean[:, 0]
    assert imp.active_level_dbfs(clean[:, 0]) - 10 * np.log10(np.mean(noise**2)) == pytest.approx(15.0, abs=0.01)
    assert np.array_equal(out[:, 1], clean[:, 1].astype(np.float32))  # the other leg untouched


def band_power_db(signal: np.ndarray, low: float, high: float) -> float:
    spectrum = np.abs(np.fft.rfft(signal)) ** 2
    frequencies = np.fft.rfftfreq(len(signal), 1 / RATE)
    return 10 * np.log10(spectrum[(frequencies >= low) & (frequencies < high)].sum())


def test_pink_noise_loses_3_db_per_octave_and_white_none():
    rng = np.random.default_rng(7)
    pink = imp.make_noise(10 * RATE, -30.0, "pink", rng)
    white = imp.make_noise(10 * RATE, -30.0, "white", rng)
    # octave bands 400-800, 800-1600, 1600-3200 Hz: equal power per octave for pink, doubling for white
    pink_bands = [band_power_db(pink, f, 2 * f) for f in (400, 800, 1600)]
    white_bands = [band_power_db(white, f, 2 * f) for f in (400, 800, 1600)]
    assert np.diff(pink_bands) == pytest.approx([0.0, 0.0], abs=1.0)
    assert np.diff(white_bands) == pytest.approx([3.0, 3.0], abs=1.0)


def test_babble_needs_speech_to_be_made_from():
    with pytest.raises(ValueError, match="babble_bed"):
        imp.make_noise(RATE, -30.0, "babble", np.random.default_rng(0))


# --- level imbalance and clipping -------------------------------------------------------------------


def test_imbalance_lowers_one_whole_leg():
    clean = two_legs()
    out = imp.apply(clean, {"imbalance": {"customer_db": -12.0}}, seed=0).astype(np.float64)
    assert 20 * np.log10(np.abs(out[:, 1]).max() / np.abs(clean[:, 1]).max()) == pytest.approx(-12.0, abs=0.01)
    assert np.allclose(out[:, 0], clean[:, 0], atol=1e-7)


def test_clipping_flattens_peaks_at_the_level_asked_for():
    leg = speechlike(5.0, 8)
    clipped = imp.clip(leg, 6.0)
    level = np.abs(leg).max() * 10 ** (-6 / 20)
    assert np.abs(clipped).max() == pytest.approx(level)
    assert np.array_equal(clipped[np.abs(leg) <= level], leg[np.abs(leg) <= level])
    assert np.count_nonzero(np.abs(clipped) == level) == np.count_nonzero(np.abs(leg) >= level)


# --- codecs -----------------------------------------------------------------------------------------

ALL_PCM = np.arange(-32768, 32768, dtype=np.int16)


@pytest.mark.parametrize(("law", "relative", "small"), [("mulaw", 0.036, 36), ("alaw", 0.032, 16)])
def test_g711_round_trip_error_is_bounded(law, relative, small):
    """G.711 keeps about 12 bits of precision relative to the signal: under 3.6 % of the value
    above 1024 (of 32768) and a few steps of 16-bit below it, over every 16-bit input."""
    encode, decode = {"mulaw": (imp.mulaw_encode, imp.mulaw_decode), "alaw": (imp.alaw_encode, imp.alaw_decode)}[law]
    codes = encode(ALL_PCM)
    assert codes.dtype == np.uint8
    error = np.abs(decode(codes).astype(int) - ALL_PCM.astype(int))
    large = np.abs(ALL_PCM.astype(int)) >= 1024
    assert (error[large] / np.abs(ALL_PCM[large].astype(int))).max() < relative
    assert error[~large].max() <= small


def test_g711_codes_are_the_reference_coders():
    """The same bytes as CPython's audioop (the Sun/ITU-T G.191 reference coder), where it exists."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        audioop = pytest.importorskip("audioop")
    raw = ALL_PCM.astype("<i2").tobytes()
    assert imp.mulaw_encode(ALL_PCM).tobytes() == audioop.lin2ulaw(raw, 2)
    assert imp.alaw_encode(ALL_PCM).tobytes() == audioop.lin2alaw(raw, 2)
    every_code = bytes(range(256))
    assert imp.mulaw_decode(np.frombuffer(every_code, np.uint8)).astype("<i2").tobytes() == audioop.ulaw2lin(every_code, 2)
    assert imp.alaw_decode(np.frombuffer(every_code, np.uint8)).astype("<i2").tobytes() == audioop.alaw2lin(every_code, 2)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="GSM goes through ffmpeg's libgsm")
def test_gsm_round_trip_keeps_length_and_timing():
    leg = speechlike(3.0, 9)[: 3 * RATE - 37]  # not a whole number of 20 ms frames
    out = imp.codec_round_trip(leg, "gsm")
    assert len(out) == len(leg)
    lag, _ = lag_and_gain(out, leg, 400)
    assert lag == 0
    assert np.corrcoef(out, leg)[0, 1] > 0.3  # lossy, but the same signal


# --- frame loss -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("rate", "burst"), [(0.02, 1.0), (0.05, 3.0)])
def test_lost_frames_are_silent_and_as_many_as_drawn(rate, burst):
    leg = 0.1 + speechlike(60.0, 10) * 0.0  # never zero, so every silent frame was lost
    mask = imp.lost_frames(len(leg), rate, burst, np.random.default_rng(11))
    out = imp.drop_frames(leg, mask)
    silent = np.all(out[: len(out) // imp.FRAME * imp.FRAME].reshape(-1, imp.FRAME) == 0, axis=1)
    assert np.array_equal(silent, mask[: len(silent)])
    assert mask.mean() == pytest.approx(rate, rel=0.35)


def test_loss_in_the_chain_drops_whole_20_ms_frames():
    clean = two_legs() + 0.05
    out = imp.apply(clean, {"loss": {"customer": {"rate": 0.03}}}, seed=4)
    frames = out[: len(out) // 160 * 160, 1].reshape(-1, 160)
    lost = np.all(frames == 0, axis=1)
    assert 0 < lost.sum() and np.all(frames[~lost] != 0)
    assert np.array_equal(out[:, 0], clean[:, 0].astype(np.float32))


# --- presets and determinism ------------------------------------------------------------------------


@pytest.mark.parametrize("preset", imp.PRESETS)
def test_presets_draw_within_the_documented_ranges(preset):
    params = imp.draw(preset, np.random.default_rng(12))
    expected_keys = {"clean": set(), "leak": {"leak"}, "noise": {"noise"}, "imbalance": {"imbalance"},
                     "g711": {"codec"}, "gsm": {"codec"}, "loss": {"loss"}, "clip": {"clip"},
                     "all": {"leak", "noise", "imbalance", "codec", "loss", "clip"}}[preset]
    assert set(params) == expected_keys

    def within(value, name):
        low, high = imp.RANGES[name]
        assert low <= value <= high, (name, value)

    for spec in params.get("leak", {}).values():
        within(spec["gain_db"], "leak_gain_db")
        within(spec["delay_ms"], "leak_delay_ms")
    for spec in params.get("noise", {}).values():
        within(spec["snr_db"], "snr_db")
        assert spec["kind"] in imp.NOISE_KINDS
    for value in params.get("imbalance", {}).values():
        within(value, "imbalance_db")
    for spec in params.get("loss", {}).values():
        within(spec["rate"], "loss_rate")
    for spec in params.get("clip", {}).values():
        within(spec["below_peak_db"], "clip_below_peak_db")
    for chain in params.get("codec", {}).values():
        assert set(chain) <= set(imp.CODECS)


def test_unknown_presets_and_impairments_are_refused():
    with pytest.raises(ValueError, match="preset"):
        imp.draw("reverb", np.random.default_rng(0))
    with pytest.raises(ValueError, match="reverb"):
        imp.apply(two_legs(1.0), {"reverb": {}}, seed=0)


def test_same_seed_same_bytes_other_seed_other_bytes():
    clean = two_legs(4.0)
    bed = speechlike(20.0, 13)
    params = imp.draw("all", np.random.default_rng(14))
    params["codec"] = {"agent": ["mulaw"], "customer": ["alaw"]}  # no ffmpeg needed
    params["noise"]["customer"]["kind"] = "babble"
    first = imp.apply(clean, params, seed=21, babble_bed=bed)
    again = imp.apply(clean, params, seed=21, babble_bed=bed)
    other = imp.apply(clean, params, seed=22, babble_bed=bed)
    assert first.dtype == np.float32 and first.shape == clean.shape
    assert first.tobytes() == again.tobytes()
    assert first.tobytes() != other.tobytes()
    assert imp.draw("all", np.random.default_rng(3)) == imp.draw("all", np.random.default_rng(3))
