"""``audit``: one call against one spec → a finding per item of the spec and the call score."""

from __future__ import annotations

from audits.call_view import CallView
from audits.calldata.measurements import Measurements
from audits.calldata.metadata import CallMetadata
from audits.calldata.transcript import Transcript
from audits.findings import AuditResult
from audits.spec import Spec

# A recording in which nobody says anything (a 0.2 s file, ten minutes of line noise) is not a call
# the agent can be judged on: every item is n/a, it has no score, and reports list it apart.
NO_SPEECH = "no speech on either channel: nothing to audit"


def audit(transcript: Transcript, measurements: Measurements, spec: Spec,
          metadata: CallMetadata | None = None) -> AuditResult:
    """Judge every item of ``spec`` on one call. Measurements come from ``pipeline.measure``;
    call metadata, when given, overrides what they inferred from audio (ring time, who hung up,
    the customer's surname). A call without a word said is a ``no_speech`` result."""
    if not any(turn.text.strip() for turn in transcript.turns):
        return AuditResult(tuple(check.na(NO_SPEECH) for check in spec.checks), no_speech=True,
                           not_in_spec=spec.not_in_spec())
    ctx = CallView(transcript, measurements, metadata, spec.matchers)
    return AuditResult(tuple(check.run(ctx) for check in spec.checks), not_in_spec=spec.not_in_spec())
