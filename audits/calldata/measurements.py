"""Per-call characteristics (like Amazon Contact Lens' ConversationCharacteristics).

Only the data shapes live here; ``pipeline.measure`` computes them from a transcript's speech
activity. Every figure that may come from call metadata records its ``source``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Interval:
    start: float
    end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Interruption:
    start: float  # when the interrupter started talking over the other
    end: float  # when the overlap ended
    by: str  # role who interrupted
    over: str  # role who was talking

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Hold:
    start: float
    end: float
    detected_by: str  # "announcement" (a hold phrase precedes the silence) | "silence" (hold-length silence)

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass
class Measurements:
    duration: float
    answer_at: float
    ring_seconds: float | None  # None: unknown
    ring_count: int | None
    ring_source: str  # "metadata" | "audio" | "unknown"
    answer_delay: float | None  # answer -> first agent speech; None when the agent never speaks
    talk_time: dict[str, float] = field(default_factory=dict)  # role -> seconds of speech
    non_talk_total: float = 0.0  # seconds in which neither party speaks (after answer)
    silences: list[Interval] = field(default_factory=list)  # each non-talk instance above the threshold
    interruptions: list[Interruption] = field(default_factory=list)
    holds: list[Hold] = field(default_factory=list)
    speech_rate: dict[str, float] = field(default_factory=dict)  # role -> chars/min (zh) or words/min (en)
    speech_rate_unit: str = "wpm"  # "wpm" | "cpm"
    customer_silent: bool = False  # neither speech nor sound of the customer's own (customer_sound)
    customer_sound: float | None = None  # seconds the customer's leg sounded of its own (stereo); None: unknown
    asr_confidence: float | None = None
    hangup_by: str | None = None  # "agent" | "customer" from metadata, else None
    hangup_source: str = "unknown"

    def to_dict(self) -> dict:
        data = asdict(self)
        for name in ("silences", "interruptions", "holds"):
            for item, obj in zip(data[name], getattr(self, name)):
                item["seconds"] = round(obj.seconds, 3)
        return data
