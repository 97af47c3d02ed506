"""Call metadata from the telephony system (optional). When given, it overrides what is inferred
from audio."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class CallMetadata:
    call_id: str | None = None
    file: str | None = None
    agent_id: str | None = None
    agent_name: str | None = None
    team: str | None = None
    started_at: str | None = None  # ISO 8601
    ring_seconds: float | None = None
    hangup_by: str | None = None  # "agent" | "customer"
    customer_surname: str | None = None
    direction: str | None = None  # "inbound" | "outbound"
