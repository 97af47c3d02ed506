"""``audit``: one call against one spec → a finding per item of the spec and the call score."""

from __future__ import annotations

from audits.call_view import CallView
from audits.calldata.measurements import Measurements
from audits.calldata.metadata import CallMetadata
from audits.calldata.transcript import Transcript
from audits.findings import AuditResult
from audits.spec import Spec
from audits.verification import Verifier, annotate

# A recording in which nobody says anything (a 0.2 s file, ten minutes of line noise) is not a call
# the agent can be judged on: every item is n/a, it has no score, and reports list it apart.
NO_SPEECH = "no speech on either channel: nothing to audit"


def audit(transcript: Transcript, measurements: Measurements, spec: Spec,
          metadata: CallMetadata | None = None, verifier: Verifier | None = None) -> AuditResult:
    """Judge every item of ``spec`` on one call. Measurements come from ``pipeline.measure``;
    call metadata, when given, overrides what they inferred from audio (ring time, who hung up,
    the customer's surname). A call without a word said is a ``no_speech`` result. With a
    ``verifier``, phrases the text lacks (or has only fuzzily, when forbidden) are checked against
    the audio (``audits.verification``), and each finding says how it was decided."""
    if not any(turn.text.strip() for turn in transcript.turns):
        return AuditResult(tuple(check.na(NO_SPEECH) for check in spec.checks), no_speech=True,
                           not_in_spec=spec.not_in_spec())
    ctx = CallView(transcript, measurements, metadata, spec.matchers, verifier)
    findings = []
    for check in spec.checks:
        ctx.begin_item()
        finding = check.run(ctx)
        findings.append(annotate(finding, ctx.verified, ctx.unverified, ctx.unchecked) if finding.status != "na" else finding)
    return AuditResult(tuple(findings), not_in_spec=spec.not_in_spec())
