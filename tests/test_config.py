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


# --- the declarations are the single source ---------------------------------------------------

import json  # noqa: E402
from pathlib import Path  # noqa: E402

import yaml  # noqa: E402

from pipeline.settings import Settings, as_dict, reference, rows  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def test_default_yaml_holds_the_declared_defaults():
    """configs/default.yaml is the commented template: the same keys, values and types (1 is not 1.0:
    the ASR key hashes them) as the declarations."""
    template = yaml.safe_load((REPO / "configs" / "default.yaml").read_text(encoding="utf-8"))
    assert json.dumps(template, sort_keys=True) == json.dumps(load_settings(), sort_keys=True)
    assert load_settings(REPO / "configs" / "default.yaml") == load_settings()  # and every default is valid


def test_the_settings_dict_holds_only_declared_settings():
    def leaves(tree, prefix=""):
        for key, value in tree.items():
            if isinstance(value, dict) and key != "cadences":
                yield from leaves(value, f"{prefix}{key}.")
            else:
                yield prefix + key
    assert list(leaves(load_settings())) == [name for name, _ in rows()]
    assert as_dict(Settings()) == load_settings()


def test_readme_settings_reference_is_current():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("<!-- settings:begin -->\n", 1)[1].split("<!-- settings:end -->", 1)[0]
    assert section == reference(), "stale: run python -m pipeline.settings --write-readme"


def test_every_setting_is_documented():
    for name, field in rows():
        assert field.metadata["doc"].strip(), name


@pytest.mark.parametrize("text, problem", [
    ("asr:\n  model: tiny.en\n  beam_sise: 1\n",
     "bad.yaml:3: field 'asr.beam_sise' is not a setting; did you mean 'beam_size'?"),
    ("vad:\n  threshold: 1.5\n", "bad.yaml:2: field 'vad.threshold' must be between 0.0 and 1.0, got 1.5"),
    ("asr:\n  device: gpu\n", "field 'asr.device' must be one of cpu, cuda, auto, got 'gpu'"),
    ("batch:\n  extensions:\n    - wav\n    - 3\n", "bad.yaml:2: field 'batch.extensions' must be a list of strings"),
    ("spec: en\nspec: zh-CN\n", "bad.yaml:2: field 'spec' is given twice (first on line 1)"),
    ("ringback:\n  cadences:\n    uk: {frequencies: [400], on_seconds: 0.4}\n",
     "bad.yaml:3: field 'ringback.cadences.uk.off_seconds' is missing"),
    ("ringback:\n  cadences:\n    uk:\n      frequencies: [400, -450]\n      on_seconds: 0.4\n      off_seconds: 0.2\n",
     "bad.yaml:4: field 'ringback.cadences.uk.frequencies' must be a non-empty list of positive numbers"),
    ("- asr\n", "bad.yaml:1: settings must be a mapping of sections, got a list"),
    ("diarization:\n  max_speakers: 3\n  min_speakers: 4\n", "bad.yaml:3: diarization.min_speakers (4) is more"),
])
def test_errors_name_the_line(tmp_path, text, problem):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_settings(path)
    assert problem in str(raised.value)


def test_values_are_converted_as_declared(tmp_path):
    path = tmp_path / "site.yaml"
    path.write_text("asr:\n  region_padding: 1\nringback:\n  cadences:\n"
                    "    cn: {frequencies: [425], on_seconds: 1, off_seconds: 4}\n  search_seconds: 60\n"
                    "batch:\n  exclude: ['*_test.wav']\n")
    settings = load_settings(path)
    assert settings["asr"]["region_padding"] == 1.0 and isinstance(settings["asr"]["region_padding"], float)
    assert isinstance(settings["ringback"]["search_seconds"], float)
    # a cadence is kept as written (it goes into the ASR key as the file gives it), and replaces its namesake
    assert settings["ringback"]["cadences"]["cn"] == {"frequencies": [425], "on_seconds": 1, "off_seconds": 4}
    assert isinstance(settings["ringback"]["cadences"]["cn"]["on_seconds"], int)
    assert list(settings["ringback"]["cadences"]) == ["cn", "us"]
    assert settings["batch"]["exclude"] == ["*_test.wav"]
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing changed\n")
    assert load_settings(empty) == load_settings()
