"""Kind ``not_applicable``: an item this spec does not judge (foreign words in an English spec)."""

from __future__ import annotations

from dataclasses import dataclass

from audits.call_view import CallView
from audits.checks.base import Check, CommonOptions
from audits.findings import Finding
from audits.params import Text, param


@dataclass(frozen=True, kw_only=True)
class NotApplicableOptions(CommonOptions):
    reason: str = param(Text(), "why the item never applies under this spec (reported with every call)")


class NotApplicableCheck(Check):
    """The item never applies under this spec; every call reports ``na`` with the spec's reason.
    A company switches off a checklist item this way instead of deleting it."""

    kind = "not_applicable"
    Options = NotApplicableOptions

    def evaluate(self, ctx: CallView) -> Finding:
        return self.na(self.options.reason)
