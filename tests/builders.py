"""Builders the tests share: the bundled specs read from this checkout, and a call (transcript,
measurements, metadata) from a check fixture case (format: ``test_check_fixtures.py``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from audits import load_spec
from audits.calldata.measurements import Hold, Interruption, Interval, Measurements
from audits.calldata.metadata import CallMetadata
from audits.calldata.transcript import Transcript, Turn

REPO = Path(__file__).resolve().parent.parent
SPEC_FILES = {"zh-CN": REPO / "configs" / "spec" / "zh-CN.yaml", "en": REPO / "configs" / "spec" / "en.yaml"}


@lru_cache(maxsize=None)
def bundled(name: str):
    """A bundled spec, read from this checkout (an installed package may hold another copy)."""
    return load_spec(SPEC_FILES[name])


def build_call(case: dict, language: str) -> tuple[Transcript, Measurements, CallMetadata | None]:
    """A transcript, its measurements and metadata from a fixture case."""
    turns = [Turn(role=r, start=float(s), end=float(e), text=str(t)) for r, s, e, t in case.get("turns", [])]
    frame = case.get("transcript", {})
    answer_at = float(frame.get("answer_at", 0.0))
    duration = float(frame.get("duration", max((t.end for t in turns), default=0.0) + 1.0))
    transcript = Transcript(call_id=case["name"], duration=duration, language=language, turns=turns,
                            answer_at=answer_at)
    agent = [t for t in turns if t.role == "agent"]
    values = {
        "duration": duration, "answer_at": answer_at, "ring_seconds": None, "ring_count": None,
        "ring_source": "unknown",
        "answer_delay": agent[0].start - answer_at if agent else None,
        "talk_time": {role: sum(t.end - t.start for t in turns if t.role == role) for role in ("agent", "customer")},
        "speech_rate_unit": "cpm" if language == "zh" else "wpm",
        "customer_silent": not any(t.role == "customer" for t in turns),
    }
    given = dict(case.get("measurements", {}))
    values["silences"] = [Interval(float(s), float(e)) for s, e in given.pop("silences", [])]
    values["holds"] = [Hold(float(s), float(e), how) for s, e, how in given.pop("holds", [])]
    values["interruptions"] = [Interruption(float(s), float(e), by, over) for s, e, by, over in given.pop("interruptions", [])]
    values.update(given)
    metadata = CallMetadata(**case["metadata"]) if "metadata" in case else None
    return transcript, Measurements(**values), metadata
