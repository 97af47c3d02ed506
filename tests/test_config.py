import pytest

from pipeline.config import ConfigError, load_settings


def test_defaults_load():
    settings = load_settings()
    assert settings["asr"]["model"] == "tiny.en"
    assert settings["roles"]["agent_channel"] == "auto"


def test_user_file_overrides_only_what_it_gives(tmp_path):
    path = tmp_path / "site.yaml"
    path.write_text("asr:\n  beam_size: 1\nroles:\n  agent_channel: left\nringback:\n  cadences:\n"
                    "    uk: {frequencies: [400, 450], on_seconds: 0.4, off_seconds: 0.2}\n")
    settings = load_settings(path)
    assert settings["asr"]["beam_size"] == 1
    assert settings["asr"]["model"] == "tiny.en"
    assert settings["roles"]["agent_channel"] == "left"
    assert set(settings["ringback"]["cadences"]) >= {"cn", "us", "uk"}


@pytest.mark.parametrize("text, problem", [
    ("asr:\n  beam_sise: 1\n", "'asr.beam_sise' is not a setting"),
    ("asr:\n  beam_size: five\n", "'asr.beam_size' must be an integer"),
    ("timing:\n  silence_threshold: [1]\n", "'timing.silence_threshold' must be a number"),
    ("asr: 3\n", "'asr' must be a mapping"),
    ("asr: [\n", "not valid YAML"),
    ("diarization:\n  clustering_threshold: 2.5\n", "'diarization.clustering_threshold' must be between 0.0 and 2.0"),
    ("diarization:\n  max_speakers: 0\n", "'diarization.max_speakers' must be between 1 and 20"),
    ("diarization:\n  min_speakers: 3\n", "diarization.min_speakers (3) is more than diarization.max_speakers (2)"),
    ("roles:\n  weights:\n    greeting: -1\n", "'roles.weights.greeting' must be between 0.0 and 10.0"),
    ("roles:\n  weights: {greeting: 0, closing: 0, first_speech: 0, talk_share: 0}\n",
     "roles.weights: at least one sign must weigh more than 0"),
])
def test_bad_settings_name_file_and_field(tmp_path, text, problem):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_settings(path)
    assert str(path) in str(raised.value) and problem in str(raised.value)
