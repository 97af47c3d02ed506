"""Which calls a report covers: a period of days, optionally one team or one agent, and the
period of the same length before it (for the change in mean score)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, timedelta

from pipeline.store import CallFilter

UNKNOWN_AGENT = "(unknown)"  # how calls without an agent are shown, and how ``--agent`` names them


@dataclass(frozen=True)
class Scope:
    first: date | None
    last: date | None
    team: str | None = None
    agent: str | None = None

    def previous(self) -> Scope | None:
        """The period of the same length just before this one (same filters); none when open-ended."""
        if self.first is None or self.last is None:
            return None
        length = self.last - self.first + timedelta(days=1)
        return replace(self, first=self.first - length, last=self.first - timedelta(days=1))

    def period_text(self) -> str:
        if self.first is None and self.last is None:
            return "all dates"
        return f"{self.first or '…'} – {self.last or '…'}"

    def file_label(self) -> str:
        """``2026-11-20_2026-11-26`` (``all`` for an open end), plus the filters."""
        label = f"{self.first or 'all'}_{self.last or 'all'}"
        for name, value in (("team", self.team), ("agent", self.agent)):
            if value:
                label += f"_{name}-{_file_safe(value)}"
        return label

    def calls(self) -> CallFilter:
        """The store's filter for these calls."""
        if self.agent == UNKNOWN_AGENT:
            return CallFilter(self.first, self.last, self.team, no_agent=True)
        return CallFilter(self.first, self.last, self.team, self.agent)


def _file_safe(text: str) -> str:
    # Filter values come from the command line but name files: keep letters (any script), digits, . -
    return re.sub(r"[^\w.-]+", "_", text).strip("._") or "_"
