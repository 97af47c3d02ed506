"""Speaker diarization of mono recordings with pyannote.audio (the optional ``diarize`` extra).

One ``Diarizer`` per worker loads its pipeline once. ``diarization.pipeline`` is resolved like
``asr.model``, and when nothing resolves the error lists what was tried:

1. a local folder holding a pyannote pipeline ``config.yaml`` (``Pipeline.from_pretrained``);
2. a local folder of the weights callqa assembles a pipeline from (``segmentation/`` and
   ``embedding/``, written by ``python -m pipeline.speakers.weights``; see ``pyannote_compat``);
3. a pyannote pipeline name on the Hugging Face Hub (``Pipeline.from_pretrained``, with the token
   read from the environment variable named by ``diarization.token_env``; gated pipelines need one).

Samples go to pyannote in memory: the recording is decoded once, by ``pipeline.audio.decode``.
Nothing here imports torch or pyannote until a mono call needs them, so the core install stays
free of both.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from pipeline.audio.decode import SAMPLE_RATE, Samples, to_float
from pipeline.speakers.overlap import OverlapModel, TwoVoices
from pipeline.speakers.turns import Diarization, SpeakerTurn

INSTALL_HINT = "pip install 'callqa[diarize]'"
WEIGHTS_HINT = "make diarize-models (or: python -m pipeline.speakers.weights DIR)"
HF_NAME = re.compile(r"[\w.-]+/[\w.-]+")
# Files of the assembled local pipeline, relative to its folder (pipeline.speakers.weights writes them).
SEGMENTATION_FILE = Path("segmentation/pytorch_model.bin")
EMBEDDING_FILE = Path("embedding/resemblyzer.pt")
OVERLAP_FILE = Path("overlap/segmentation-3.0.onnx")


class DiarizationUnavailable(Exception):
    """No diarization pipeline can be loaded; the message says why and how to fix it."""


class Diarizer:
    """A pyannote pipeline, loaded once; ``diarize`` is then called for every mono call."""

    def __init__(self, settings: dict, threads: int = 0):
        self.settings = settings
        # pyannote.audio 4 sends usage telemetry to pyannote.ai unless told not to; call recordings
        # are private and many machines are offline, so callqa's default is off.
        os.environ["PYANNOTE_METRICS_ENABLED"] = "true" if settings["telemetry"] else "false"
        # torch's OpenMP threads spin while they wait; with other busy processes on the cores
        # (batch workers, the ASR) that made diarization 5-15 times slower here. Passive waiting
        # kept it steady. Read once, when torch loads; a value set by the user wins.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            import torch

            from pipeline.speakers import pyannote_compat
        except ImportError as exc:
            raise DiarizationUnavailable(
                f"speaker diarization needs pyannote.audio, which is not installed ({exc.name} is missing): "
                f"{INSTALL_HINT}"
            ) from None
        self.threads = threads
        if threads:
            torch.set_num_threads(threads)
        self._compat = pyannote_compat
        self.overlap: OverlapModel | None = None
        try:
            self.pipeline, self.how = self._load(settings["pipeline"])
            self.pipeline.to(torch.device(settings["device"]))
        except DiarizationUnavailable:
            raise
        except Exception as exc:  # a damaged weights file, a bad config.yaml, no such device: many kinds
            raise DiarizationUnavailable(
                f"diarization pipeline {settings['pipeline']!r} cannot be loaded on {settings['device']}: "
                f"{type(exc).__name__}: {str(exc)[:200]}"
            ) from None

    def describe(self) -> str:
        """What made the speaker turns, as the transcript records it."""
        beside = f", overlap model {OVERLAP_FILE.name} at {self.settings['overlap_threshold']}" if self.overlap else ""
        return f"{self.settings['pipeline']} ({self.how}{beside})"

    def diarize(self, samples: Samples, uri: str, start_at: float = 0.0) -> Diarization:
        """Speaker turns of 16 kHz mono samples, ignoring everything before ``start_at`` (ring-back)."""
        offset = int(start_at * SAMPLE_RATE)
        waveform = to_float(samples[offset:])
        found = self._compat.run(self.pipeline, waveform, uri, self.settings["min_speakers"],
                                 self.settings["max_speakers"])
        two_voices_at = None
        if self.overlap is not None:  # runs only where asked: a few seconds of most calls
            two_voices_at = TwoVoices(self.overlap, waveform, self.settings["segmentation_step"],
                                      self.settings["overlap_threshold"], offset=start_at).stretch_at

        def shifted(turns: list[SpeakerTurn]) -> list[SpeakerTurn]:
            return [SpeakerTurn(round(t.start + start_at, 3), round(t.end + start_at, 3), t.speaker) for t in turns]

        return Diarization(shifted(found.turns), shifted(found.exclusive), two_voices_at)

    def _load(self, name: str):
        from pyannote.audio import Pipeline

        tried = []
        folder = Path(name).expanduser()
        if folder.is_dir():
            if (folder / "config.yaml").is_file():
                pipeline = Pipeline.from_pretrained(str(folder))
                if pipeline is None:
                    raise DiarizationUnavailable(f"{folder / 'config.yaml'}: pyannote could not load this pipeline")
                return pipeline, "pyannote pipeline folder"
            if all((folder / file).is_file() for file in (SEGMENTATION_FILE, EMBEDDING_FILE, OVERLAP_FILE)):
                return self._assembled(folder), "assembled from local weights"
            tried.append(f"local folder {folder}: has neither config.yaml nor "
                         f"{SEGMENTATION_FILE} + {EMBEDDING_FILE} + {OVERLAP_FILE}")
        else:
            tried.append(f"local folder {folder}: does not exist")

        if HF_NAME.fullmatch(name) and not name.startswith((".", "~")):
            token = os.environ.get(self.settings["token_env"]) or None
            try:
                pipeline = Pipeline.from_pretrained(name, token=token)
            except Exception as exc:  # huggingface_hub raises many kinds; all mean "not reachable"
                pipeline = None
                tried.append(f"pipeline {name!r} from the Hugging Face Hub: {type(exc).__name__}: {str(exc)[:160]}")
            if pipeline is not None:
                return pipeline, "downloaded"
            if token is None:
                tried.append(f"no token in ${self.settings['token_env']} (gated pipelines need one)")
        else:
            tried.append(f"{name!r} is not a Hugging Face pipeline name (owner/name)")
        raise DiarizationUnavailable(
            f"no diarization pipeline {name!r}. Tried: " + "; ".join(tried) + ". "
            f"Fix: get the local weights with {WEIGHTS_HINT} and set diarization.pipeline to that folder, "
            f"or name a pyannote pipeline and put a Hugging Face token in ${self.settings['token_env']}."
        )

    def _assembled(self, folder: Path):
        settings = self.settings
        # pyannote's own pipelines (3.x) segment with a powerset model that hears overlap; the
        # assembled one's v2 segmentation rarely does, so an overlap model listens beside it.
        if settings["overlap_threshold"] > 0:
            self.overlap = OverlapModel(folder / OVERLAP_FILE, self.threads)
        return self._compat.local_pipeline(
            folder / SEGMENTATION_FILE,
            folder / EMBEDDING_FILE,
            step=settings["segmentation_step"],
            segmentation_threshold=settings["segmentation_threshold"],
            clustering_threshold=settings["clustering_threshold"],
            min_cluster_size=settings["min_cluster_size"],
        )
