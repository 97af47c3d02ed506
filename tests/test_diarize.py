"""Where the diarization pipeline comes from, and what is said when it cannot be had."""

from __future__ import annotations

import pytest
from conftest import DIARIZATION_WEIGHTS, needs_diarization

from pipeline.config import load_settings
from pipeline.speakers.diarize import EMBEDDING_FILE, SEGMENTATION_FILE, DiarizationUnavailable, Diarizer

pytestmark = needs_diarization


def settings(pipeline: str) -> dict:
    return {**load_settings()["diarization"], "pipeline": pipeline}


def test_the_local_weights_folder_gives_the_assembled_pipeline():
    diarizer = Diarizer(settings(str(DIARIZATION_WEIGHTS)))
    assert diarizer.describe() == (f"{DIARIZATION_WEIGHTS} (assembled from local weights, "
                                   "overlap model segmentation-3.0.onnx at 0.5)")


def test_nothing_found_lists_what_was_tried_and_how_to_get_the_weights(tmp_path):
    with pytest.raises(DiarizationUnavailable) as raised:
        Diarizer(settings(str(tmp_path / "nowhere")))
    message = str(raised.value)
    assert "does not exist" in message and "not a Hugging Face pipeline name" in message
    assert "make diarize-models" in message and "$HF_TOKEN" in message


def test_a_folder_without_weights_or_config_is_named(tmp_path):
    with pytest.raises(DiarizationUnavailable, match="has neither config.yaml nor segmentation/pytorch_model.bin"):
        Diarizer(settings(str(tmp_path)))


def test_a_broken_pipeline_config_fails_as_unavailable_naming_the_pipeline(tmp_path):
    (tmp_path / "config.yaml").write_text("pipeline:\n  name: pyannote.audio.pipelines.NoSuchPipeline\n")
    with pytest.raises(DiarizationUnavailable, match=f"{tmp_path}.*cannot be loaded on cpu"):
        Diarizer(settings(str(tmp_path)))


def test_a_weights_folder_without_the_overlap_model_says_so_and_how_to_get_it(tmp_path):
    for file in (SEGMENTATION_FILE, EMBEDDING_FILE):
        (tmp_path / file).parent.mkdir(parents=True)
        (tmp_path / file).symlink_to(DIARIZATION_WEIGHTS / file)
    with pytest.raises(DiarizationUnavailable, match=r"overlap/segmentation-3\.0\.onnx.*make diarize-models"):
        Diarizer(settings(str(tmp_path)))


def test_the_overlap_model_listens_beside_the_assembled_pipeline_unless_turned_off():
    assert Diarizer(settings(str(DIARIZATION_WEIGHTS))).overlap is not None
    assert Diarizer({**settings(str(DIARIZATION_WEIGHTS)), "overlap_threshold": 0.0}).overlap is None
