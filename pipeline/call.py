"""One call, end to end: recording (or stored transcript) -> transcript -> measurements -> findings.

A ``CallProcessor`` holds what is expensive to make (the Whisper model, the loaded spec) and is
created once per worker; ``audit`` is then called for every call.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from audits.calldata.measurements import Measurements
from audits.calldata.metadata import CallMetadata
from audits.calldata.transcript import Transcript
from audits.cues import HOLD_ANNOUNCEMENT
from audits.engine import AuditResult, audit
from audits.spec import Spec, load_spec
from audits.verification import PhraseScorer, Verifier
from pipeline.measure import measure

if TYPE_CHECKING:
    from pipeline.transcribe import Transcriber


@dataclass
class CallAudit:
    transcript: Transcript
    measurements: Measurements
    result: AuditResult

    def to_dict(self) -> dict:
        return {
            **self.transcript.to_dict(),
            "measurements": self.measurements.to_dict(),
            **self.result.to_dict(),
        }


def is_transcript_file(path: Path) -> bool:
    return Path(path).suffix.lower() == ".json"


# Policy (what counts as dead air, an interruption, a ring) is the spec's; the settings hold only
# mechanism. The two figures below are read from the spec for the measurements.


def recording_floors(timing: dict, spec: Spec) -> dict:
    """The ``timing`` settings as ``measure`` uses them. ``silence_threshold`` and
    ``interruption_min_overlap`` are floors of mechanism: the shortest silence and overlap the
    measurements list. A floor above what a spec item judges (its ``threshold`` limit for
    ``silence`` / ``interruption``) is lowered to that limit, so a setting never hides from a check
    what the check counts."""
    floors = dict(timing)
    for item in spec.items:
        opts = item.options
        if item.kind != "threshold" or opts.measure not in ("silence", "interruption"):
            continue
        if opts.measure == "silence":  # listed when longer than the floor: "at least" needs a hair less
            limit = opts.limit - 0.001 if opts.fail_when == "at_least" else opts.limit
            floors["silence_threshold"] = min(floors["silence_threshold"], limit)
        else:  # listed when at least the floor long
            floors["interruption_min_overlap"] = min(floors["interruption_min_overlap"], opts.limit)
    return floors


def seconds_per_ring(spec: Spec) -> float | None:
    """One ring's length, for counting the rings of a ring time given in seconds (call metadata):
    the spec's ``ring_apology`` item's ``seconds_per_ring``; None (the count is unknown) when the
    spec judges no ring time."""
    lengths = [item.options.seconds_per_ring for item in spec.items if item.kind == "ring_apology"]
    return lengths[0] if lengths else None


class CallProcessor:
    def __init__(self, settings: dict, spec: Spec | None = None):
        self.settings = settings
        self.spec = spec or load_spec(settings["spec"])
        self.timing = recording_floors(settings["timing"], self.spec)
        self._transcriber: Transcriber | None = None

    @property
    def transcriber(self) -> Transcriber:
        # Made on first use: re-auditing stored transcripts never imports the audio stack nor
        # pays for the model.
        if self._transcriber is None:
            from pipeline.transcribe import Transcriber

            self._transcriber = Transcriber(self.settings, self.spec)
        return self._transcriber

    def audit(self, source: Path, metadata: CallMetadata | None = None) -> CallAudit:
        """Audit a recording or a transcript JSON."""
        if is_transcript_file(source):
            return self.audit_transcript(Transcript.load(source), metadata)
        return self.audit_recording(source, metadata)

    def audit_recording(self, path: Path, metadata: CallMetadata | None = None) -> CallAudit:
        """Transcribe and audit a recording; phrases its text lacks are checked against its audio
        (``verify``), and their scores join the transcript."""
        if not self.settings["verify"]["enabled"]:
            return self.audit_transcript(self.transcribe(path), metadata)
        with self.transcriber.session(path) as (transcript, scorer):
            return self.audit_transcript(transcript, metadata, scorer)

    def audit_transcript(self, transcript: Transcript, metadata: CallMetadata | None = None,
                         scorer: PhraseScorer | None = None) -> CallAudit:
        """Audit a transcript. Phrases are checked against the audio through ``scorer`` when the
        recording is open, else from the scores stored with the transcript (a rescore); a phrase
        never scored is judged from the text, and its finding says so."""
        verify = self.settings["verify"]
        verifier = (Verifier(transcript, verify["margin"], scorer, verify["margin_per_word"]) if verify["enabled"]
                    else None)
        measurements = measure(
            transcript,
            self.timing,
            metadata=metadata,
            is_hold_announcement=self.spec.phrases_for(HOLD_ANNOUNCEMENT).said,
            seconds_per_ring=seconds_per_ring(self.spec),
        )
        return CallAudit(transcript, measurements, audit(transcript, measurements, self.spec, metadata, verifier))

    def transcribe(self, path: Path) -> Transcript:
        return self.transcriber.transcribe(path)
