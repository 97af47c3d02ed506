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
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import orjson

SCHEMA_VERSION = 1
ROLES = ("agent", "customer")  # the speaker roles; a turn may also be "unknown" (before assignment)


class TranscriptError(ValueError):
    """A transcript file that cannot be read; the message names the file and the problem."""


@dataclass(slots=True)  # not frozen: a frozen init is 3.5x slower, and a stored call has ~600 words
class Word:
    start: float
    end: float
    text: str
    probability: float = 1.0


def joined(words: list[Word], language: str) -> str:
    """The words as text: spaced, but run together for Chinese and Japanese."""
    return ("" if language.startswith(("zh", "ja")) else " ").join(word.text for word in words)


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
    # Why ASR decoded this turn's audio a second time (a repetition loop, a low-probability
    # chunk), and how: ``pipeline.asr.guard``. None when the first decoding was kept.
    redecoded: str | None = None


@dataclass
class PhraseScore:
    """How well a phrase fits a turn's audio, by the model that transcribed it (``pipeline.asr.verify``):
    the summed log-probability of the turn's words with the phrase put in (``reading``) and of the
    words as decoded (``heard``), on the same audio. Stored with the transcript, so that a later
    audit (a rescore, with no audio) decides from the same scores; keyed by the turn's span and
    the phrase."""

    start: float  # the turn's span
    end: float
    phrase: str
    phrase_score: float  # log-probability of ``reading``
    heard_score: float  # log-probability of ``heard``
    reading: str
    heard: str

    @property
    def margin(self) -> float:
        """How much likelier (> 0) or less likely (< 0) the reading with the phrase is than the one decoded."""
        return self.phrase_score - self.heard_score

    @property
    def key(self) -> tuple[float, float, str]:
        return score_key(self.start, self.end, self.phrase)


def score_key(start: float, end: float, phrase: str) -> tuple[float, float, str]:
    return round(start, 3), round(end, 3), phrase


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
    # Seconds in which a role's own leg sounded (stereo: louder than the other's echo and the
    # line noise, ``pipeline.audio.leakage.own_sound``), heard as speech or not; absent when unknown.
    sound: dict[str, float] = field(default_factory=dict)
    answer_at: float = 0.0
    ring: RingBack = field(default_factory=lambda: RingBack(None, None, "unknown"))
    roles: RoleAssignment = field(default_factory=lambda: RoleAssignment("given", 1.0))
    source: str = ""
    audio_sha256: str = ""
    channels: int = 2
    asr: dict[str, str] = field(default_factory=dict)
    # Phrases scored against the audio while the recording was open (``PhraseScore``).
    phrase_scores: list[PhraseScore] = field(default_factory=list)
    # Mono: where the diarization heard one speaker and an overlap model two voices at once, so a
    # turn was carried through (``pipeline.speakers.turns.spoken_turns``): the evidence's reason.
    two_voices: list[tuple[float, float]] = field(default_factory=list)
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
        if self.two_voices:
            data["two_voices"] = [list(span) for span in self.two_voices]
        else:  # stereo calls, and mono ones where nobody was carried through
            del data["two_voices"]
        for turn in data["turns"]:  # only the turns decoded twice say so
            if turn["redecoded"] is None:
                del turn["redecoded"]
        return data

    @classmethod
    def from_dict(cls, data: dict, origin: str = "<transcript>") -> Transcript:
        """A transcript from its JSON form; anything malformed is a TranscriptError naming the field:
        ``calls/x.json: field 'turns[3].end': 1.2 is before its start 4.0``."""
        try:
            return _read_transcript(data, origin)
        except _FieldError as exc:
            raise TranscriptError(f"{origin}: field {exc.field!r}: {exc.problem}") from None

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


# Languages a transcript may be in: a spec's language (zh, en), alone or with a region (zh-CN, en_US).
LANGUAGE = re.compile(r"(zh|en)(?:[-_][A-Za-z0-9]{1,8})*", re.IGNORECASE)
RING_SOURCES = ("metadata", "audio", "unknown")


class _FieldError(Exception):
    def __init__(self, field: str, problem: str):
        self.field, self.problem = field, problem


def _read_transcript(data, origin: str) -> Transcript:
    if not isinstance(data, dict):
        raise _FieldError("(top)", f"a transcript is a JSON object, got {type(data).__name__}")
    version = data.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        raise _FieldError("schema_version", f"schema_version {version!r} is not supported (expected {SCHEMA_VERSION})")
    if "turns" not in data:
        raise _FieldError("turns", "missing (a list of turns, each with role, start, end and text)")
    turns = [_turn(t, f"turns[{n}]") for n, t in enumerate(_items(data["turns"], "turns"))]
    language = _required_text(data, "language", "language")
    if not LANGUAGE.fullmatch(language):
        raise _FieldError("language", f"{language!r} is not a language callqa audits (zh or en, e.g. zh-CN, en-US)")
    duration = data.get("duration")
    return Transcript(
        call_id=_scalar_text(data.get("call_id"), "call_id") or Path(origin).stem,
        duration=(max((t.end for t in turns), default=0.0) if duration in (None, 0)
                  else _seconds(duration, "duration")),
        language=language,
        turns=turns,
        activity=_activity(data.get("activity"), "activity"),
        sound=_sound(data.get("sound"), "sound"),
        answer_at=_seconds(data.get("answer_at", 0.0), "answer_at"),
        ring=_ring(data.get("ring"), "ring"),
        roles=_roles(data.get("roles"), "roles"),
        source=_scalar_text(data.get("source"), "source"),
        audio_sha256=_scalar_text(data.get("audio_sha256"), "audio_sha256"),
        channels=_integer(data.get("channels", 2), "channels", 1),
        asr=_mapping(data.get("asr"), "asr"),
        phrase_scores=[_phrase_score(p, f"phrase_scores[{n}]")
                       for n, p in enumerate(_items(data.get("phrase_scores") or [], "phrase_scores"))],
        two_voices=_regions(data.get("two_voices") or [], "two_voices"),
    )


def _items(value, field: str) -> list:
    if not isinstance(value, list):
        raise _FieldError(field, f"must be a list, got {_shown(value)}")
    return value


def _mapping(value, field: str, required: bool = False) -> dict:
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise _FieldError(field, f"must be an object, got {_shown(value)}")
    return value


def _number(value, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _FieldError(field, f"must be a number, got {_shown(value)}")
    if not math.isfinite(value):
        raise _FieldError(field, f"must be a finite number, got {value!r}")
    return float(value)


def _seconds(value, field: str) -> float:
    seconds = _number(value, field)
    if seconds < 0:
        raise _FieldError(field, f"a time must not be negative, got {seconds!r}")
    return seconds


def _share(value, field: str) -> float:
    share = _number(value, field)
    if not 0.0 <= share <= 1.0:
        raise _FieldError(field, f"must be between 0 and 1, got {share!r}")
    return share


def _integer(value, field: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _FieldError(field, f"must be a whole number of at least {minimum}, got {_shown(value)}")
    return value


def _text(value, field: str) -> str:
    if not isinstance(value, str):
        raise _FieldError(field, f"must be text, got {_shown(value)}")
    return value


def _required_text(data: dict, key: str, field: str) -> str:
    if key not in data:
        raise _FieldError(field, "missing")
    return _text(data[key], field)


def _scalar_text(value, field: str) -> str:
    """Optional text; numbers are taken as their text (an id of 12345)."""
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return _text(value, field)


def _span(start, end, field: str) -> tuple[float, float]:
    start, end = _seconds(start, f"{field}.start"), _seconds(end, f"{field}.end")
    if end < start:
        raise _FieldError(f"{field}.end", f"{end!r} is before its start {start!r}")
    return start, end


def _turn(data, field: str) -> Turn:
    data = _mapping(data, field, required=True)
    role = _required_text(data, "role", f"{field}.role")
    if role not in (*ROLES, "unknown"):
        raise _FieldError(f"{field}.role", f"{role!r} is not one of agent, customer, unknown")
    for key in ("start", "end"):
        if key not in data:
            raise _FieldError(f"{field}.{key}", "missing")
    start, end = _span(data["start"], data["end"], field)
    channel, speaker, redecoded = data.get("channel"), data.get("speaker"), data.get("redecoded")
    if channel is not None:
        _integer(channel, f"{field}.channel", 0)
    if speaker is not None:
        _text(speaker, f"{field}.speaker")
    if redecoded is not None:
        _text(redecoded, f"{field}.redecoded")
    return Turn(
        role=role,
        start=start,
        end=end,
        text=_required_text(data, "text", f"{field}.text"),
        words=_words(data.get("words") or [], f"{field}.words"),
        confidence=_share(data.get("confidence", 1.0), f"{field}.confidence"),
        channel=channel,
        speaker=speaker,
        redecoded=redecoded,
    )


def _phrase_score(data, field: str) -> PhraseScore:
    data = _mapping(data, field, required=True)
    for key in ("start", "end", "phrase_score", "heard_score"):
        if key not in data:
            raise _FieldError(f"{field}.{key}", "missing")
    start, end = _span(data["start"], data["end"], field)
    return PhraseScore(start, end, _required_text(data, "phrase", f"{field}.phrase"),
                       _number(data["phrase_score"], f"{field}.phrase_score"),
                       _number(data["heard_score"], f"{field}.heard_score"),
                       _text(data.get("reading", ""), f"{field}.reading"), _text(data.get("heard", ""), f"{field}.heard"))


_NUMBERS = (int, float)  # exactly: bool is an int, but not a number of seconds


def _words(items, field: str) -> list[Word]:
    """A turn's words. Their timings are ASR's own (they may overlap or touch their neighbours):
    finite is all they must be. A call has hundreds of words and a rescore parses thousands of
    calls a second, so the good case is tested in one expression per word; the field at fault is
    looked for only when it fails."""
    words, isfinite, numbers = [], math.isfinite, _NUMBERS
    for n, data in enumerate(_items(items, field)):
        if type(data) is dict:
            start, end, text = data.get("start"), data.get("end"), data.get("text")
            probability = data.get("probability", 1.0)
            if (type(start) in numbers and type(end) in numbers and type(text) is str and type(probability) in numbers
                    and isfinite(start) and isfinite(end) and 0.0 <= probability <= 1.0):
                words.append(Word(float(start), float(end), text, float(probability)))
                continue
        _refuse_word(data, f"{field}[{n}]")
    return words


def _refuse_word(data, field: str) -> None:
    data = _mapping(data, field, required=True)
    _number(data.get("start"), f"{field}.start")
    _number(data.get("end"), f"{field}.end")
    _required_text(data, "text", f"{field}.text")
    _share(data.get("probability", 1.0), f"{field}.probability")


def _activity(value, field: str) -> dict[str, list[tuple[float, float]]]:
    activity = {}
    for role, regions in _mapping(value, field).items():
        if role not in (*ROLES, "unknown"):
            raise _FieldError(f"{field}.{role}", "not a role (agent, customer, unknown)")
        activity[role] = _regions(regions, f"{field}.{role}")
    return activity


def _regions(value, field: str) -> list[tuple[float, float]]:
    spans = []
    for n, region in enumerate(_items(value, field)):
        if not isinstance(region, list) or len(region) != 2:
            raise _FieldError(f"{field}[{n}]", f"must be [start, end], got {_shown(region)}")
        spans.append(_span(*region, f"{field}[{n}]"))
    return spans


def _sound(value, field: str) -> dict[str, float]:
    sound = {}
    for role, seconds in _mapping(value, field).items():
        if role not in ROLES:
            raise _FieldError(f"{field}.{role}", "not a role (agent, customer)")
        sound[role] = _seconds(seconds, f"{field}.{role}")
    return sound


def _ring(value, field: str) -> RingBack:
    if value is None:
        return RingBack(None, None, "unknown")
    data = _mapping(value, field, required=True)
    seconds, count = data.get("seconds"), data.get("count")
    source = data.get("source", "unknown")
    if source not in RING_SOURCES:
        raise _FieldError(f"{field}.source", f"{_shown(source)} is not one of {', '.join(RING_SOURCES)}")
    return RingBack(None if seconds is None else _seconds(seconds, f"{field}.seconds"),
                    None if count is None else _integer(count, f"{field}.count", 0), source)


def _roles(value, field: str) -> RoleAssignment:
    if value is None:
        return RoleAssignment("given", 1.0)
    data = _mapping(value, field, required=True)
    agent, needs_review = data.get("agent"), data.get("needs_review", False)
    if not isinstance(needs_review, bool):
        raise _FieldError(f"{field}.needs_review", f"must be true or false, got {_shown(needs_review)}")
    return RoleAssignment(
        method=_text(data.get("method", "given"), f"{field}.method"),
        confidence=_share(data.get("confidence", 1.0), f"{field}.confidence"),
        agent=None if agent is None else _scalar_text(agent, f"{field}.agent"),
        needs_review=needs_review,
        reason=_text(data.get("reason", ""), f"{field}.reason"),
    )


def _shown(value) -> str:
    """A bad value as the message quotes it: short, and its JSON type when that is the problem."""
    kind = {dict: "an object", list: "a list", type(None): "null", bool: "true/false"}.get(type(value))
    if kind:
        return kind
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
