"""The check kinds: one module and one class per kind; ``KINDS`` maps a spec's ``kind`` to it."""

from audits.checks.base import Check
from audits.checks.context import ContextCheck
from audits.checks.forbidden import ForbiddenCheck
from audits.checks.foreign_words import ForeignWordsCheck
from audits.checks.hangup import HangupCheck
from audits.checks.hold_etiquette import HoldEtiquetteCheck
from audits.checks.not_applicable import NotApplicableCheck
from audits.checks.phrases import PhrasesCheck
from audits.checks.ring_apology import RingApologyCheck
from audits.checks.silent_call import SilentCallCheck
from audits.checks.surname import SurnameCheck
from audits.checks.threshold import ThresholdCheck

KINDS: dict[str, type[Check]] = {
    cls.kind: cls
    for cls in (PhrasesCheck, ForbiddenCheck, ForeignWordsCheck, ThresholdCheck, RingApologyCheck,
                HoldEtiquetteCheck, SilentCallCheck, HangupCheck, ContextCheck, SurnameCheck, NotApplicableCheck)
}

__all__ = ["KINDS", "Check"]
