"""The transcript: what was said, by whom, when — callqa's one interchange format.

A transcript JSON (schema below, documented in the README) is valid input wherever audio is,
so a changed spec is re-applied to stored transcripts without running ASR again, and
transcripts from other ASR systems can be audited too.

Times are seconds from the start of the recording. ``activity`` holds the speech regions per
role from voice activity detection: the timing truth for silences, holds and overlaps (ASR
segment boundaries are not). ``answer_at`` is when the call was answered (end of ring-back).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import orjson

SCHEMA_VERSION = 1
ROLES = ("agent", "customer")


class TranscriptError(ValueError):
    """A transcript file that cannot be read; the message names the file and the problem."""


@dataclass(slots=True)  # not frozen: a frozen init is 3.5x slower, and a stored call has ~600 words
class Word:
    start: float
    end: float
    text: str
    probability: float = 1.0


@dataclass
class Turn:
    """One stretch of speech by one speaker (one VAD region of one channel, for stereo)."""

    role: str  # "agent" | "customer" | "unknown"
    start: float
    end: float
    text: str
    words: list[Word] = field(default_factory=list)
    confidence: float = 1.0  # mean word probability
    channel: int | None = None  # 0 = left, 1 = right; None for mono
    speaker: str | None = None  # diarization label for mono


@dataclass
class RoleAssignment:
    """How agent and customer were told apart, and how sure that is (0..1)."""

    method: str  # "channel-map" | "auto-greeting" | "diarization" | "given"
    confidence: float
    agent: str | None = None  # "left" / "right" / a speaker label
    needs_review: bool = False
    reason: str = ""


@dataclass
class RingBack:
    """The ring phase before the answer; ``seconds`` None means unknown (never zero by default)."""

    seconds: float | None
    count: int | None
    source: str  # "metadata" | "audio" | "unknown"


@dataclass
class Transcript:
    call_id: str
    duration: float
    language: str
    turns: list[Turn]
    activity: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    answer_at: float = 0.0
    ring: RingBack = field(default_factory=lambda: RingBack(None, None, "unknown"))
    roles: RoleAssignment = field(default_factory=lambda: RoleAssignment("given", 1.0))
    source: str = ""
    audio_sha256: str = ""
    channels: int = 2
    asr: dict[str, str] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    def role_turns(self, role: str) -> list[Turn]:
        return [turn for turn in self.turns if turn.role == role]

    def speech(self, role: str) -> list[tuple[float, float]]:
        """Speech regions of a role: VAD activity when recorded, else the turns' spans."""
        if role in self.activity:
            return self.activity[role]
        return [(turn.start, turn.end) for turn in self.role_turns(role)]

    def to_dict(self) -> dict:
        data = asdict(self)
        data["activity"] = {role: [list(r) for r in regions] for role, regions in self.activity.items()}
        return data

    @classmethod
    def from_dict(cls, data: dict, origin: str = "<transcript>") -> Transcript:
        try:
            version = data.get("schema_version", SCHEMA_VERSION)
            if version != SCHEMA_VERSION:
                raise TranscriptError(f"{origin}: schema_version {version} is not supported (expected {SCHEMA_VERSION})")
            turns = [_turn_from_dict(t) for t in data["turns"]]
            return cls(
                call_id=str(data.get("call_id") or Path(origin).stem),
                duration=float(data.get("duration") or max((t.end for t in turns), default=0.0)),
                language=str(data["language"]),
                turns=turns,
                activity={
                    role: [(float(s), float(e)) for s, e in regions]
                    for role, regions in (data.get("activity") or {}).items()
                },
                answer_at=float(data.get("answer_at", 0.0)),
                ring=RingBack(**data["ring"]) if data.get("ring") else RingBack(None, None, "unknown"),
                roles=RoleAssignment(**data["roles"]) if data.get("roles") else RoleAssignment("given", 1.0),
                source=str(data.get("source", "")),
                audio_sha256=str(data.get("audio_sha256", "")),
                channels=int(data.get("channels", 2)),
                asr=dict(data.get("asr") or {}),
            )
        except TranscriptError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise TranscriptError(f"{origin}: not a callqa transcript ({type(exc).__name__}: {exc})") from None

    def to_json(self, compact: bool = False) -> str:
        """Indented for people (files), or compact (the store: half the size, parsed faster)."""
        if compact:
            return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)

    def save(self, path: Path) -> None:
        Path(path).write_text(self.to_json() + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Transcript:
        path = Path(path)
        try:
            data = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError) as exc:  # not UTF-8 is a JSONDecodeError too
            raise TranscriptError(f"{path}: cannot read transcript JSON: {exc}") from None
        if not isinstance(data, dict):
            raise TranscriptError(f"{path}: a transcript is a JSON object, got {type(data).__name__}")
        return cls.from_dict(data, origin=str(path))


def _turn_from_dict(data: dict) -> Turn:
    words = [Word(float(w["start"]), float(w["end"]), str(w["text"]), float(w.get("probability", 1.0)))
             for w in data.get("words") or []]
    role = str(data["role"])
    if role not in (*ROLES, "unknown"):
        raise ValueError(f"turn role {role!r} is not one of agent, customer, unknown")
    return Turn(
        role=role,
        start=float(data["start"]),
        end=float(data["end"]),
        text=str(data["text"]),
        words=words,
        confidence=float(data.get("confidence", 1.0)),
        channel=data.get("channel"),
        speaker=data.get("speaker"),
    )
