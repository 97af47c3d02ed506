"""Personal data in calls: detection (numbers as ASR writes them in English and Mandarin, e-mail
addresses, the customer's surname) and redaction of transcripts and findings."""

from audits.pii.categories import CATEGORIES, LABELS
from audits.pii.detect import DetectOptions, Entity, detect
from audits.pii.redact import Redaction, RedactOptions, Redactor

__all__ = ["CATEGORIES", "LABELS", "DetectOptions", "Entity", "Redaction", "RedactOptions", "Redactor", "detect"]
