"""Builders the tests share: the bundled specs read from this checkout, and a call (transcript,
measurements, metadata) from a check fixture case (``audits.cases``, the format of ``callqa spec test``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from audits import load_spec
from audits.cases import build_call  # the product's own case builder (callqa spec test)

REPO = Path(__file__).resolve().parent.parent
SPEC_FILES = {"zh-CN": REPO / "configs" / "spec" / "zh-CN.yaml", "en": REPO / "configs" / "spec" / "en.yaml"}


@lru_cache(maxsize=None)
def bundled(name: str):
    """A bundled spec, read from this checkout (an installed package may hold another copy)."""
    return load_spec(SPEC_FILES[name])


__all__ = ["REPO", "SPEC_FILES", "build_call", "bundled"]
