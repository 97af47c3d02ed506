"""What an audit reports: a finding per checklist item, its evidence, and the call score.

The contract (``checklist.md``): a ``fail`` always carries evidence (quoted words with time
and role, or the measured figure as text), an ``na`` always carries a reason, and ``na``
items never count for or against the score. The constructors enforce the first two, so a
check cannot break them by accident.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

STATUSES = ("pass", "fail", "na")
DECIDED = ("text", "audio", "text only")


@dataclass(frozen=True)
class Evidence:
    start: float  # seconds from the start of the recording
    end: float
    role: str  # "agent" | "customer" | "unknown" | "call" (a whole-call figure or metadata)
    text: str  # the quoted words, or the measured figure in words

    def to_dict(self) -> dict:
        return {"start": round(self.start, 2), "end": round(self.end, 2), "role": self.role, "text": self.text}


@dataclass(frozen=True)
class Figure:
    """What a measured item counted against its limit: the readings over it (how many, and their
    sum in ``unit``). Whoever shows the figure (the reports' dead-air and interruption columns)
    reads it here and never re-applies the limit."""

    count: int
    total: float
    unit: str  # "s", or the speech rate's "cpm" / "wpm"

    def to_dict(self) -> dict:
        return {"count": self.count, "total": round(self.total, 3), "unit": self.unit}


@dataclass(frozen=True)
class Finding:
    item: str
    title: str
    status: str
    reason: str
    evidence: tuple[Evidence, ...] = ()
    points: float = 0.0
    critical: bool = False
    figure: Figure | None = None  # measured items (kind threshold): the readings judged over the limit
    # How the phrases were decided: "text" (the transcript's words), "audio" (some checked against
    # the recording: ``verification`` holds each phrase with both scores), or "text only" (a check
    # against the audio was wanted but neither the recording nor a stored score was at hand).
    decided: str = "text"
    verification: tuple[dict, ...] = ()

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"finding status must be one of {STATUSES}, got {self.status!r}")
        if self.status == "fail" and not self.evidence:
            raise ValueError(f"{self.item}: a failed finding needs evidence")
        if self.status == "na" and not self.reason:
            raise ValueError(f"{self.item}: a not-applicable finding needs a reason")
        if self.decided not in DECIDED:
            raise ValueError(f"finding decided must be one of {DECIDED}, got {self.decided!r}")
        object.__setattr__(self, "evidence", tuple(self.evidence))
        object.__setattr__(self, "verification", tuple(self.verification))

    @property
    def earned(self) -> float:
        return self.points if self.status == "pass" else 0.0

    def to_dict(self) -> dict:
        return {
            "item": self.item,
            "title": self.title,
            "status": self.status,
            "reason": self.reason,
            "evidence": [e.to_dict() for e in self.evidence],
            "points": self.points,
            "critical": self.critical,
            "figure": self.figure.to_dict() if self.figure else None,
            "decided": self.decided,
            "verification": list(self.verification),
        }


@dataclass(frozen=True)
class AuditResult:
    findings: tuple[Finding, ...] = field(default_factory=tuple)
    no_speech: bool = False  # nobody spoke: every item n/a, no score, kept out of averages
    not_in_spec: tuple[str, ...] = ()  # checklist ids the spec leaves out: not audited

    def finding(self, item: str) -> Finding:
        for finding in self.findings:
            if finding.item == item:
                return finding
        raise KeyError(item)

    @property
    def critical_failed(self) -> list[str]:
        return [f.item for f in self.findings if f.critical and f.status == "fail"]

    @property
    def score(self) -> float | None:
        """100 × points earned ÷ points of applicable items; 0 after a critical failure;
        None when no item applies (or applicable items carry no points)."""
        return score_of((f.status, f.points, f.critical) for f in self.findings)

    def to_dict(self) -> dict:
        score = self.score
        return {
            "findings": [f.to_dict() for f in self.findings],
            "score": None if score is None else round(score, 2),
            "critical_failed": self.critical_failed,
            "no_speech": self.no_speech,
            "not_in_spec": list(self.not_in_spec),
        }


def score_of(verdicts: Iterable[tuple[str, float, bool]]) -> float | None:
    """The call score from each item's (status, points, critical): 100 × points of passed items ÷
    points of applicable (not ``na``) items; 0 when a critical item failed (一票否决); None when no
    item applies or the applicable ones carry no points. The one formula, for the machine's
    findings and for the verdicts a reviewer changed alike."""
    applicable = [(status, points, critical) for status, points, critical in verdicts if status != "na"]
    possible = sum(points for _, points, _ in applicable)
    if not applicable or possible <= 0:
        return None
    if any(critical and status == "fail" for status, _, critical in applicable):
        return 0.0
    return 100.0 * sum(points for status, points, _ in applicable if status == "pass") / possible
