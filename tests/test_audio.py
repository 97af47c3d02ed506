
import numpy as np
import pytest
from conftest import SAMPLES, write_audio

from pipeline.audio import SAMPLE_RATE, AudioError, decode


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
