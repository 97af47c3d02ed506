"""``audit``: one call against one spec → a finding per checklist item and the call score."""

from __future__ import annotations

from audits.context import CheckContext
from audits.findings import AuditResult
from audits.spec import Spec
from pipeline.measurements import Measurements
from pipeline.metadata import CallMetadata
from pipeline.transcript import Transcript


def audit(transcript: Transcript, measurements: Measurements, spec: Spec,
          metadata: CallMetadata | None = None) -> AuditResult:
    """Judge every item of ``spec`` on one call. Measurements come from ``pipeline.measure``;
    call metadata, when given, overrides what they inferred from audio (ring time, who hung up,
    the customer's surname)."""
    ctx = CheckContext(transcript, measurements, metadata, spec)
    return AuditResult(tuple(check.run(ctx) for check in spec.checks))
