"""Telephone impairments for the sample calls: what real stereo call recordings carry.

Applied to a call after it is rendered as two clean legs (agent left, customer right, at 8 kHz,
float, as ``make_samples.mix`` returns them), before the file is encoded. Everything here is
numpy/scipy only, except the GSM round trip (ffmpeg's libgsm), and deterministic: the same
parameters and seed give the same samples, bit for bit.

The chain, in the order a real call goes through it:

1. ``noise``: background noise at each talker's end, at a given SNR against that talker's speech
   level (white, pink, or babble: several other talkers summed), band-limited like the voice;
2. ``clip``: a talker overdriving their leg's converter (hard clipping below the leg's peak);
3. ``imbalance``: one leg quieter than the other (line loss, a far-away headset), noise included;
4. ``leak``: each leg picks up the other, attenuated and delayed (line echo, headset bleed), both
   directions independently;
5. ``codec``: per leg, a telephone codec round trip: G.711 µ-law / A-law, GSM 06.10 (ffmpeg
   libgsm; full-rate GSM, what ffmpeg encodes of the mobile codecs: it has no AMR-NB encoder);
6. ``loss``: lost 20 ms frames (packet loss without concealment: the frame is silent), per leg.

What stays true: the ground truth (who speaks when, what is said, the expected statuses) is the
talkers' speech and is unchanged by every impairment. Leakage puts a quieter, delayed copy of the
other party on a channel, noise (babble too) adds sound nobody in the call said, and neither is
speech of that leg; codecs used here add no delay (GSM checked by cross-correlation: 0 samples);
a lost frame at the edge of a turn may shorten it by up to the lost run (20 ms per frame) and
clipping changes no timing. Those edge effects are below the truth's precision for every
timing item (0.3–0.5 s tolerances).

Parameters (``apply``'s ``params``, also a script's ``impair:`` mapping); every key optional::

    noise:     {agent: {snr_db: 20, kind: pink}, customer: {snr_db: 12, kind: babble}}
    clip:      {agent: {below_peak_db: 6}}            # clip at the leg's peak minus 6 dB
    imbalance: {customer_db: -9}                      # (or agent_db) gain of a whole leg
    leak:      {agent_to_customer: {gain_db: -20, delay_ms: 80},
                customer_to_agent: {gain_db: -30, delay_ms: 10}}
    codec:     {agent: [mulaw], customer: [gsm, alaw]} # round trips, in order
    loss:      {agent: {rate: 0.03, burst: 1}}        # fraction of 20 ms frames lost; mean run length

``draw(preset, rng)`` makes such parameters from a named preset (``PRESETS``) with random values
in the documented ranges (``RANGES``).
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
from scipy.signal import butter, sosfiltfilt

RATE = 8000
FRAME = 160  # 20 ms at 8 kHz: a G.711 RTP packet, a GSM frame
LEGS = ("agent", "customer")
CHANNEL = {"agent": 0, "customer": 1}
TELEPHONE_BAND = (300.0, 3400.0)
NOISE_KINDS = ("white", "pink", "babble")
CODECS = ("mulaw", "alaw", "gsm")
BABBLE_TALKERS = 6

# The ranges the presets draw from (uniform), chosen to cover what real recordings show.
RANGES = {
    "leak_gain_db": (-35.0, -10.0),  # echo return loss / headset bleed: 10 dB (bad) to 35 dB (good)
    "leak_delay_ms": (0.0, 150.0),  # bleed ~0 ms, line echo tens of ms, far-end echo over 100 ms
    "snr_db": (10.0, 30.0),
    "imbalance_db": (-12.0, -3.0),  # the customer leg quieter by 3-12 dB
    "loss_rate": (0.01, 0.05),  # 1-5 % of 20 ms frames
    "loss_burst": (1.0, 3.0),  # mean frames per loss event
    "clip_below_peak_db": (3.0, 10.0),  # clipping level under the leg's own peak
}
# One impairment alone, or all of them together (``all``: mobile customer: GSM then G.711).
PRESETS = ("clean", "leak", "noise", "imbalance", "g711", "gsm", "loss", "clip", "all")


# ----------------------------------------------------------------------------------------------
# Presets


def draw(preset: str, rng: np.random.Generator) -> dict:
    """Concrete parameters for a named preset, values drawn uniformly from ``RANGES``."""
    if preset not in PRESETS:
        raise ValueError(f"unknown impairment preset {preset!r}; one of {', '.join(PRESETS)}")

    def uniform(name: str) -> float:
        low, high = RANGES[name]
        return round(float(rng.uniform(low, high)), 1 if name != "loss_rate" else 3)

    params: dict = {}
    if preset in ("leak", "all"):
        params["leak"] = {direction: {"gain_db": uniform("leak_gain_db"), "delay_ms": uniform("leak_delay_ms")}
                          for direction in ("agent_to_customer", "customer_to_agent")}
    if preset in ("noise", "all"):
        params["noise"] = {leg: {"snr_db": uniform("snr_db"), "kind": str(rng.choice(NOISE_KINDS))} for leg in LEGS}
    if preset in ("imbalance", "all"):
        params["imbalance"] = {"customer_db": uniform("imbalance_db")}
    if preset == "g711":
        law = str(rng.choice(["mulaw", "alaw"]))
        params["codec"] = {leg: [law] for leg in LEGS}
    if preset == "gsm":
        params["codec"] = {leg: ["gsm"] for leg in LEGS}
    if preset == "all":
        law = str(rng.choice(["mulaw", "alaw"]))
        params["codec"] = {"agent": [law], "customer": ["gsm", law]}
    if preset in ("loss", "all"):
        params["loss"] = {leg: {"rate": uniform("loss_rate"), "burst": uniform("loss_burst")} for leg in LEGS}
    if preset in ("clip", "all"):
        params["clip"] = {leg: {"below_peak_db": uniform("clip_below_peak_db")} for leg in LEGS}
    return params


# ----------------------------------------------------------------------------------------------
# The chain


def apply(stereo: np.ndarray, params: dict, seed: int, speech_dbfs: dict[str, float] | None = None,
          babble_bed: np.ndarray | None = None) -> np.ndarray:
    """Impair a call: ``stereo`` (n, 2) float at RATE -> (n, 2) float32, same length.

    ``speech_dbfs``: each leg's speech level (RMS dBFS) that SNRs are measured against (default:
    the leg's active speech level, ``active_level_dbfs``); ``babble_bed``: speech to make babble
    from (needed only for babble noise).
    """
    unknown = set(params) - {"noise", "clip", "imbalance", "leak", "codec", "loss"}
    if unknown:
        raise ValueError(f"unknown impairments: {', '.join(sorted(unknown))}")
    rng = np.random.default_rng(seed)
    legs = {leg: np.asarray(stereo[:, CHANNEL[leg]], dtype=np.float64).copy() for leg in LEGS}
    # One independent stream per step and leg, so adding one impairment never changes another's draw.
    streams = {(step, leg): np.random.default_rng(rng.integers(2**63)) for step in ("noise", "loss") for leg in LEGS}
    for leg, spec in (params.get("noise") or {}).items():
        reference = (speech_dbfs or {}).get(leg)
        if reference is None:
            reference = active_level_dbfs(legs[leg])
        legs[leg] = legs[leg] + make_noise(len(legs[leg]), reference - float(spec["snr_db"]), spec.get("kind", "white"),
                                           streams["noise", leg], babble_bed)
    for leg, spec in (params.get("clip") or {}).items():
        legs[leg] = clip(legs[leg], float(spec["below_peak_db"]))
    for key, gain_db in (params.get("imbalance") or {}).items():
        legs[key.removesuffix("_db")] *= 10 ** (float(gain_db) / 20)
    if params.get("leak"):
        clean = dict(legs)  # each direction from the legs as they were before any leaking
        for direction, spec in params["leak"].items():
            source, target = direction.split("_to_")
            legs[target] = legs[target] + leak(clean[source], float(spec["gain_db"]), float(spec["delay_ms"]))
    for leg, chain in (params.get("codec") or {}).items():
        for codec in chain:
            legs[leg] = codec_round_trip(legs[leg], codec)
    for leg, spec in (params.get("loss") or {}).items():
        mask = lost_frames(len(legs[leg]), float(spec["rate"]), float(spec.get("burst", 1.0)), streams["loss", leg])
        legs[leg] = drop_frames(legs[leg], mask)
    return np.stack([legs["agent"], legs["customer"]], axis=1).astype(np.float32)


# ----------------------------------------------------------------------------------------------
# The impairments, one leg (1-D float at RATE) at a time


def leak(source: np.ndarray, gain_db: float, delay_ms: float) -> np.ndarray:
    """What the other leg picks up of ``source``: ``gain_db`` quieter, ``delay_ms`` later (whole
    samples), same length: nothing of it when the delay is longer than the signal."""
    delay = round(delay_ms * RATE / 1000)
    out = np.zeros_like(source, dtype=np.float64)
    if delay < len(source):
        out[delay:] = source[: len(source) - delay]
    return out * 10 ** (gain_db / 20)


def active_level_dbfs(signal: np.ndarray, margin_db: float = 15.9) -> float:
    """Active speech level, after ITU-T P.56's idea: the RMS over 10 ms frames louder than a
    threshold that sits ``margin_db`` under the level it yields (silence and line noise excluded)."""
    size = RATE // 100
    frames = signal[: len(signal) // size * size].reshape(-1, size)
    power = np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-20
    levels = 10 * np.log10(power)
    for threshold in np.arange(np.floor(levels.max()), -120.0, -0.5):
        active = 10 * np.log10(power[levels >= threshold].mean())
        if active - threshold >= margin_db:
            return float(active)
    return float(10 * np.log10(power.mean()))


def make_noise(n: int, level_dbfs: float, kind: str, rng: np.random.Generator,
               babble_bed: np.ndarray | None = None) -> np.ndarray:
    """``n`` samples of telephone-band noise at ``level_dbfs`` RMS (exactly, after band-limiting)."""
    if kind == "white":
        noise = rng.normal(0.0, 1.0, n)
    elif kind == "pink":
        noise = pink(n, rng)
    elif kind == "babble":
        if babble_bed is None:
            raise ValueError("babble noise needs a babble_bed (speech to sum talkers from)")
        noise = babble(n, babble_bed, rng)
    else:
        raise ValueError(f"unknown noise kind {kind!r}; one of {', '.join(NOISE_KINDS)}")
    band = butter(4, TELEPHONE_BAND, btype="bandpass", fs=RATE, output="sos")
    noise = sosfiltfilt(band, noise)
    return noise * 10 ** (level_dbfs / 20) / np.sqrt(np.mean(noise**2))


def pink(n: int, rng: np.random.Generator) -> np.ndarray:
    """Pink (1/f power) noise: white noise shaped by 1/sqrt(f) in the frequency domain."""
    spectrum = np.fft.rfft(rng.normal(0.0, 1.0, n))
    frequencies = np.fft.rfftfreq(n, 1 / RATE)
    spectrum[1:] /= np.sqrt(frequencies[1:])
    spectrum[0] = 0.0
    return np.fft.irfft(spectrum, n)


def babble(n: int, bed: np.ndarray, rng: np.random.Generator, talkers: int = BABBLE_TALKERS) -> np.ndarray:
    """Several talkers at once: the bed (speech) read from ``talkers`` random places, looped,
    each talker at the same level, summed. Too many voices to follow one, as in a busy room."""
    bed = np.asarray(bed, dtype=np.float64)
    bed = bed / (np.sqrt(np.mean(bed**2)) + 1e-20)
    out = np.zeros(n)
    for _ in range(talkers):
        start = int(rng.integers(len(bed)))
        out += np.resize(np.roll(bed, -start), n)
    return out


def clip(signal: np.ndarray, below_peak_db: float) -> np.ndarray:
    """Hard clipping at the leg's peak minus ``below_peak_db``."""
    level = np.abs(signal).max() * 10 ** (-abs(below_peak_db) / 20)
    return np.clip(signal, -level, level)


def lost_frames(n: int, rate: float, burst: float, rng: np.random.Generator) -> np.ndarray:
    """Which 20 ms frames of ``n`` samples are lost: loss events start at random frames and last a
    geometric number of frames with mean ``burst``, so that about ``rate`` of the frames are lost."""
    frames = -(-n // FRAME)
    mask = np.zeros(frames, dtype=bool)
    if rate <= 0:
        return mask
    burst = max(1.0, burst)
    starts = np.flatnonzero(rng.random(frames) < rate / burst)
    lengths = rng.geometric(1.0 / burst, len(starts))
    for start, length in zip(starts, lengths):
        mask[start : start + length] = True
    return mask


def drop_frames(signal: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Silence every 20 ms frame the mask marks as lost (no concealment)."""
    keep = np.repeat(~mask, FRAME)[: len(signal)]
    return signal * keep


# ----------------------------------------------------------------------------------------------
# Codecs


def to_pcm16(signal: np.ndarray) -> np.ndarray:
    return (np.clip(signal, -1.0, 32767 / 32768) * 32768).round().astype(np.int16)


def mulaw_encode(pcm: np.ndarray) -> np.ndarray:
    """16-bit linear -> G.711 µ-law bytes (the classic segment coder, as ITU-T G.191's g711.c)."""
    x = pcm.astype(np.int32) >> 2  # G.711 µ-law codes 14-bit magnitudes
    mask = np.where(x < 0, 0x7F, 0xFF)
    magnitude = np.minimum(np.abs(x), 8159) + 33
    segment = np.floor(np.log2(magnitude)).astype(np.int32) - 5  # 0..8; 8 is past the last segment
    mantissa = (magnitude >> (np.minimum(segment, 7) + 1)) & 0x0F
    code = np.where(segment >= 8, 0x7F, (np.minimum(segment, 7) << 4) | mantissa)
    return (code ^ mask).astype(np.uint8)


def mulaw_decode(code: np.ndarray) -> np.ndarray:
    u = (~code.astype(np.int32)) & 0xFF
    segment = (u >> 4) & 0x07
    magnitude = ((((u & 0x0F) << 3) + 0x84) << segment) - 0x84
    return np.where(u & 0x80, -magnitude, magnitude).astype(np.int16)


def alaw_encode(pcm: np.ndarray) -> np.ndarray:
    """16-bit linear -> G.711 A-law bytes (13-bit magnitudes, even bits inverted)."""
    x = pcm.astype(np.int32) >> 3
    sign = np.where(x >= 0, 0x80, 0x00)
    magnitude = np.where(x >= 0, x, -x - 1)
    magnitude = np.minimum(magnitude, 0xFFF)
    segment = np.clip(np.floor(np.log2(np.maximum(magnitude, 1))).astype(np.int32) - 4, 0, 7)
    mantissa = np.where(segment == 0, magnitude >> 1, magnitude >> segment) & 0x0F
    return ((sign | (segment << 4) | mantissa) ^ 0x55).astype(np.uint8)


def alaw_decode(code: np.ndarray) -> np.ndarray:
    a = code.astype(np.int32) ^ 0x55
    segment = (a >> 4) & 0x07
    mantissa = a & 0x0F
    magnitude = np.where(segment == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << np.maximum(segment - 1, 0))
    return np.where(a & 0x80, magnitude, -magnitude).astype(np.int16)


def gsm_round_trip(pcm: np.ndarray) -> np.ndarray:
    """GSM 06.10 full rate through ffmpeg's libgsm, padded to whole 20 ms frames and cut back."""
    if shutil.which("ffmpeg") is None:
        raise RuntimeError("the GSM impairment needs ffmpeg (apt-get install -y ffmpeg)")
    padded = np.concatenate([pcm, np.zeros(-len(pcm) % FRAME, dtype=np.int16)]).astype("<i2")
    raw = ["-f", "s16le", "-ar", str(RATE), "-ac", "1"]
    base = ["ffmpeg", "-nostdin", "-loglevel", "error"]
    encoded = subprocess.run([*base, *raw, "-i", "-", "-c:a", "libgsm", "-f", "gsm", "-"],
                             input=padded.tobytes(), capture_output=True, check=True).stdout
    decoded = subprocess.run([*base, "-f", "gsm", "-i", "-", *raw, "-"],
                             input=encoded, capture_output=True, check=True).stdout
    out = np.frombuffer(decoded, dtype="<i2")[: len(pcm)]
    return np.concatenate([out, np.zeros(len(pcm) - len(out), dtype=np.int16)])


def codec_round_trip(signal: np.ndarray, codec: str) -> np.ndarray:
    """A leg (float at RATE) through a telephone codec and back, same length and timing."""
    pcm = to_pcm16(signal)
    if codec == "mulaw":
        out = mulaw_decode(mulaw_encode(pcm))
    elif codec == "alaw":
        out = alaw_decode(alaw_encode(pcm))
    elif codec == "gsm":
        out = gsm_round_trip(pcm)
    else:
        raise ValueError(f"unknown codec {codec!r}; one of {', '.join(CODECS)}")
    return out.astype(np.float64) / 32768.0
