
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from conftest import SAMPLES, write_audio

from pipeline.audio.decode import SAMPLE_RATE, AudioError, Pcm, decode, to_float


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".mp3", ".ogg", ".m4a"])
@pytest.mark.parametrize("rate", [8000, 16000, 44100, 48000])
def test_decodes_every_container_and_rate_keeping_channels_apart(tmp_path, stereo_tones, suffix, rate):
    if suffix == ".ogg" and rate not in (8000, 16000, 48000):
        pytest.skip("Opus encodes at 8/12/16/24/48 kHz only")
    path = write_audio(tmp_path / f"call{suffix}", stereo_tones(rate), rate)
    audio = decode(path)
    assert audio.is_stereo
    assert audio.duration == pytest.approx(2.0, abs=0.2)  # lossy codecs pad a few frames (AAC: ~0.18 s at 8 kHz)
    left, right = audio.channels
    half, margin = SAMPLE_RATE, SAMPLE_RATE // 4  # lossy codecs shift and smear edges (AAC priming)
    # Energy sits where it was written: left in the first second, right in the second.
    assert np.abs(left[: half - margin]).mean() > 20 * np.abs(left[half + margin :]).mean()
    assert np.abs(right[half + margin :]).mean() > 20 * np.abs(right[: half - margin]).mean()


def test_mono_stays_one_channel(tmp_path, stereo_tones):
    path = write_audio(tmp_path / "mono.wav", stereo_tones(8000)[:1], 8000)
    audio = decode(path)
    assert not audio.is_stereo
    assert len(audio.channels) == 1


def test_same_file_same_hash(tmp_path, stereo_tones):
    path = write_audio(tmp_path / "a.flac", stereo_tones(8000), 8000)
    assert decode(path).sha256 == decode(path).sha256 != ""


@pytest.mark.parametrize(
    "name, problem",
    [
        ("empty.wav", "empty file"),
        ("truncated.wav", "truncated"),
        ("not_audio.mp3", "not a readable audio file"),
        ("zero_length.wav", "no audio"),
    ],
)
def test_bad_inputs_name_the_file_and_the_problem(name, problem):
    path = SAMPLES / "bad" / name
    with pytest.raises(AudioError) as raised:
        decode(path)
    message = str(raised.value)
    assert message.startswith(str(path))
    assert problem in message
    assert "\n" not in message


def test_missing_file(tmp_path):
    with pytest.raises(AudioError, match="no such file"):
        decode(tmp_path / "nope.wav")


def test_truncated_lossy_file(tmp_path, stereo_tones):
    path = write_audio(tmp_path / "long.mp3", [np.tile(c, 5) for c in stereo_tones(8000)], 8000)
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(AudioError, match="truncated"):
        decode(cut)


def test_channels_are_the_pcm_samples_and_to_float_scales_them_exactly(tmp_path):
    """A 16 kHz WAV decodes to its own int16 samples (no resampling, no scaling), and to_float
    gives exactly sample / 32768 as float32."""
    rng = np.random.default_rng(0)
    written = [rng.uniform(-0.9, 0.9, SAMPLE_RATE).astype(np.float32) for _ in range(2)]
    path = write_audio(tmp_path / "noise.wav", written, SAMPLE_RATE)
    audio = decode(path)
    pcm = [(np.clip(c, -1, 1) * 32767).astype(np.int16) for c in written]  # what write_audio stored
    for channel, expected in zip(audio.channels, pcm):
        assert channel.dtype == np.int16
        np.testing.assert_array_equal(channel, expected)
        as_float = to_float(channel)
        assert as_float.dtype == np.float32
        np.testing.assert_array_equal(as_float, expected.astype(np.float64) / 32768.0)


_MEMORY_PROBE = """
import json, sys
from pipeline.audio.decode import decode, to_float

def status():
    fields = dict(line.split(":", 1) for line in open("/proc/self/status"))
    return {key: int(fields[key].split()[0]) * 1024 for key in ("VmRSS", "VmHWM")}

decode(sys.argv[2])  # FFmpeg's first open loads codecs and buffers: not the call's memory
before = status()
audio = decode(sys.argv[1])
decoded = status()
window = to_float(audio.channels[1][-30 * 16000:])  # what an ASR chunk reads
print(json.dumps({"before": before, "decoded": decoded, "read": status(), "samples": len(audio.channels[0]),
                  "window_peak": float(abs(window).max())}))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the RSS from /proc")
def test_decoded_audio_waits_on_disk_not_in_the_workers_memory(tmp_path):
    """Decoding a 10-minute stereo call (38 MB of 16 kHz PCM) raises the process's memory
    high-water mark by a small fraction of that (the write buffers), and reading a 30 s window back
    costs about the window: a worker's memory does not grow with call length."""
    seconds = 600
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(seconds * 8000) / 8000)).astype(np.float32)
    path = write_audio(tmp_path / "long.wav", [tone, tone[::-1].copy()], 8000)
    warm_up = write_audio(tmp_path / "short.wav", [tone[:8000], tone[:8000]], 8000)
    probe = subprocess.run([sys.executable, "-c", _MEMORY_PROBE, str(path), str(warm_up)], capture_output=True, text=True,
                           check=True, cwd=Path(__file__).parents[1])
    found = json.loads(probe.stdout)
    assert found["samples"] == seconds * SAMPLE_RATE
    audio_bytes = 2 * 2 * seconds * SAMPLE_RATE
    grown = found["decoded"]["VmHWM"] - found["before"]["VmRSS"]
    assert grown < 0.25 * audio_bytes, f"decoding peaked {grown / 1e6:.1f} MB above the start for {audio_bytes / 1e6:.1f} MB of audio"
    window_bytes = 30 * SAMPLE_RATE * (2 + 4)  # int16 read, float32 result
    assert found["read"]["VmHWM"] - found["decoded"]["VmRSS"] < 2 * window_bytes
    assert found["window_peak"] == pytest.approx(0.3, abs=0.01)


def test_decoded_channels_leave_no_file_behind_and_a_full_tmpdir_names_the_recording(tmp_path, monkeypatch, stereo_tones):
    path = write_audio(tmp_path / "call.wav", stereo_tones(8000), 8000)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    with decode(path) as audio:
        assert len(audio.channels[0]) == 2 * SAMPLE_RATE
        assert list(scratch.iterdir()) == []  # unlinked at creation: a killed worker leaves nothing
    with pytest.raises(ValueError):
        to_float(audio.channels[0])  # closed with the Audio
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "gone"))
    with pytest.raises(AudioError) as raised:
        decode(path)
    assert str(raised.value).startswith(f"{path}: cannot keep the decoded audio in {tmp_path / 'gone'}")


def test_pcm_slices_like_an_array_and_reads_only_when_asked():
    samples = np.arange(-5000, 5000, dtype=np.int16)
    pcm = Pcm()
    for part in np.array_split(samples, 7):
        pcm.append(part)
    assert len(pcm) == len(samples) and pcm.dtype == np.int16
    for key in [slice(None), slice(100, 200), slice(-300, None), slice(None, -9990), slice(9000, 20000),
                slice(500, 100), slice(20000, None)]:
        np.testing.assert_array_equal(np.asarray(pcm[key]), samples[key])
        assert len(pcm[key]) == len(samples[key])
    np.testing.assert_array_equal(np.asarray(pcm[1000:5000][10:20][-3:]), samples[1000:5000][10:20][-3:])
    np.testing.assert_array_equal(to_float(pcm[:10]), samples[:10] / np.float32(32768))
    with pytest.raises(ValueError, match="step 1"):
        pcm[::2]
    with pytest.raises(TypeError):
        pcm[3]
