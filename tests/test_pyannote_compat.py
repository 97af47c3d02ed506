"""The pyannote.audio internals ``pipeline/speakers/pyannote_compat.py`` relies on, each checked by name, so
that a pyannote release that moves one fails here with what moved, not deep inside a mono call."""

from __future__ import annotations

import dataclasses
import inspect

import numpy as np
import pytest
from conftest import DIARIZATION_WEIGHTS, SAMPLES, needs_diarization

from pipeline.audio.decode import SAMPLE_RATE, decode, to_float
from pipeline.speakers.diarize import EMBEDDING_FILE, SEGMENTATION_FILE

pytestmark = needs_diarization


@pytest.fixture(scope="module")
def compat():
    from pipeline.speakers import pyannote_compat

    return pyannote_compat


@pytest.fixture(scope="module")
def encoder(compat):
    return compat.VoiceEncoder(DIARIZATION_WEIGHTS / EMBEDDING_FILE)


@pytest.fixture(scope="module")
def local(compat):
    return compat.local_pipeline(DIARIZATION_WEIGHTS / SEGMENTATION_FILE, DIARIZATION_WEIGHTS / EMBEDDING_FILE,
                                 step=0.2, segmentation_threshold=0.5, clustering_threshold=0.7, min_cluster_size=12)


def test_pyannote_major_version_is_the_one_the_module_was_written_for(compat):
    import pyannote.audio

    major = int(pyannote.audio.__version__.split(".")[0])
    assert major == compat.SUPPORTED_MAJOR, (
        f"pyannote.audio {pyannote.audio.__version__} is installed; pipeline/speakers/pyannote_compat.py was written for "
        f"{compat.SUPPORTED_MAJOR}.x: re-check every internal it names, then update SUPPORTED_MAJOR")


def test_speaker_diarization_still_takes_the_arguments_we_pass():
    from pyannote.audio.pipelines import SpeakerDiarization

    expected = {"segmentation", "segmentation_step", "embedding", "embedding_exclude_overlap", "plda", "clustering",
                "segmentation_batch_size", "embedding_batch_size"}
    missing = expected - set(inspect.signature(SpeakerDiarization.__init__).parameters)
    assert not missing, f"SpeakerDiarization.__init__ no longer takes {sorted(missing)}"


def test_agglomerative_clustering_and_the_plda_placeholder_are_still_accepted(compat):
    from pyannote.audio.pipelines.clustering import Clustering
    from pyannote.audio.pipelines.utils import get_plda

    assert "AgglomerativeClustering" in Clustering.__members__, "pyannote dropped AgglomerativeClustering"
    placeholder = compat._NoPLDA()
    assert get_plda(placeholder) is placeholder, "get_plda no longer passes a PLDA instance through"


def test_diarize_output_still_has_both_diarizations():
    from pyannote.audio.pipelines.speaker_diarization import DiarizeOutput

    fields = {field.name for field in dataclasses.fields(DiarizeOutput)}
    assert {"speaker_diarization", "exclusive_speaker_diarization"} <= fields, f"DiarizeOutput fields are now {fields}"


def test_local_pipeline_has_the_hyper_parameters_we_set(local):
    assert local.parameters(instantiated=True) == {
        "segmentation": {"threshold": 0.5, "min_duration_off": 0.0},
        "clustering": {"method": "centroid", "threshold": 0.7, "min_cluster_size": 12},
    }
    assert type(local.clustering).__name__ == "AgglomerativeClustering"


def test_voice_encoder_gives_unit_vectors_that_tell_agent_from_customer(encoder):
    """On the stereo sample the agent is alone on the left channel, the customer on the right: 3 s
    chunks of the same voice must lie closer together than chunks of the two voices."""
    import torch

    left, right = map(to_float, decode(SAMPLES / "en_01_compliant.ogg").channels)
    chunk = 3 * SAMPLE_RATE

    def embed(channel: np.ndarray, starts: list[float]) -> np.ndarray:
        batch = np.stack([channel[int(s * SAMPLE_RATE):int(s * SAMPLE_RATE) + chunk] for s in starts])
        with torch.inference_mode():
            return encoder(torch.from_numpy(batch)[:, None]).numpy()

    agent, customer = embed(left, [1.0, 15.0, 24.0]), embed(right, [8.5, 20.5])
    assert np.allclose(np.linalg.norm(agent, axis=1), 1.0, atol=1e-5)
    within = min(agent[0] @ agent[1], agent[0] @ agent[2], customer[0] @ customer[1])
    between = max(float(a @ c) for a in agent for c in customer)
    assert within > between + 0.1, (within, between)


def test_voice_encoder_embeds_only_the_weighted_frames_and_nan_for_none(encoder):
    """pyannote passes the segmentation's frames of one speaker as weights; a speaker absent from
    the chunk (all weights zero) must give NaN, which its clustering leaves out."""
    import torch

    waveforms = torch.randn(2, 1, 5 * SAMPLE_RATE) * 0.05
    weights = torch.zeros(2, 293)
    weights[0, :150] = 1.0
    with torch.inference_mode():
        embeddings = encoder(waveforms, weights=weights)
    assert embeddings.shape == (2, encoder.dimension)
    assert torch.isfinite(embeddings[0]).all() and torch.isnan(embeddings[1]).all()


def test_local_pipeline_runs_on_samples_held_in_memory(compat, local):
    samples = to_float(decode(SAMPLES / "en_01_compliant_mono.mp3").channels[0][: 24 * SAMPLE_RATE])
    found = compat.run(local, samples, "en_01_compliant_mono", min_speakers=2, max_speakers=2)
    assert {turn.speaker for turn in found.turns} == {"SPEAKER_00", "SPEAKER_01"}
    assert all(0 <= turn.start < turn.end <= 24 for turn in found.turns)
    exclusive = sorted(found.exclusive, key=lambda turn: turn.start)
    assert all(a.end <= b.start + 1e-3 for a, b in zip(exclusive, exclusive[1:])), "exclusive turns overlap"
