"""One validated spec item: the data a check is built from. Below both the spec loader
(``spec.py``, which makes these) and the check kinds (``checks/``, which read them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SpecItem:
    id: str
    title: str
    points: float
    critical: bool
    kind: str
    seeds: tuple[str, ...]
    options: Any  # the kind's Options dataclass, validated, defaults filled in
    language: str  # the spec's language, which some kinds need to read text
    line: int  # where the item starts in the spec file
    description: str = ""
    enabled: bool = True  # an optional item the spec carries switched off
    provides: tuple[str, ...] | None = ()  # the cues (audits.cues) it serves; None only while the spec is read
