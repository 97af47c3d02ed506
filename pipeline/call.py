"""One call, end to end: recording (or stored transcript) -> transcript -> measurements -> findings.

A ``CallProcessor`` holds what is expensive to make (the Whisper model, the loaded spec) and is
created once per worker; ``audit`` is then called for every call.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from audits.calldata.measurements import Measurements
from audits.calldata.metadata import CallMetadata
from audits.calldata.transcript import Transcript, Turn
from audits.cues import HOLD_ANNOUNCEMENT
from audits.engine import AuditResult, audit
from audits.pii import DetectOptions, Redaction, RedactOptions, Redactor
from audits.spec import Spec, load_spec
from audits.verification import PhraseScorer, Verifier, first_heard
from pipeline.measure import measure

if TYPE_CHECKING:
    from pipeline.transcribe import Transcriber


@dataclass
class CallAudit:
    """One audited call as it leaves the worker: with redaction on, ``transcript`` and ``result``
    are redacted (the checks judged the clear text before), ``redactions`` says what was taken out
    and ``stored_transcript`` is what the store keeps (the clear one only with
    ``redaction.keep_clear_transcript``)."""

    transcript: Transcript
    measurements: Measurements
    result: AuditResult
    redactions: list[Redaction] = field(default_factory=list)
    stored_transcript: Transcript | None = None

    def __post_init__(self):
        if self.stored_transcript is None:
            self.stored_transcript = self.transcript

    def to_dict(self) -> dict:
        return {
            **self.transcript.to_dict(),
            "measurements": self.measurements.to_dict(),
            **self.result.to_dict(),
            "redactions": [r.to_dict() for r in self.redactions],
        }


def redact_options(settings: dict) -> RedactOptions | None:
    """The ``redaction`` settings as the redactor takes them; None when redaction is off."""
    red = settings.get("redaction") or {}
    if not red.get("enabled", False):
        return None
    detect = DetectOptions(categories=tuple(red["categories"]), account_patterns=tuple(red["account_patterns"]),
                           account_min_digits=red["account_min_digits"], min_digits=red["min_digits"])
    return RedactOptions(detect, keep_last=red["keep_last"], keep_last_in=tuple(red["keep_last_in"]))


def is_transcript_file(path: Path) -> bool:
    return Path(path).suffix.lower() == ".json"


# Policy (what counts as dead air, an interruption, a ring) is the spec's; the settings hold only
# mechanism. The two figures below are read from the spec for the measurements.


def recording_floors(timing: dict, spec: Spec) -> dict:
    """The ``timing`` settings as ``measure`` uses them. ``silence_threshold`` and
    ``interruption_min_overlap`` are floors of mechanism: the shortest silence and overlap the
    measurements list. A floor above what a spec item judges (each check says the shortest
    silence and interruption it needs listed: ``Check.floors``) is lowered to that, so a setting
    never hides from a check what the check counts."""
    floors = dict(timing)
    setting = {"silence": "silence_threshold", "interruption": "interruption_min_overlap"}
    for check in spec.checks:
        for reading, shortest in check.floors().items():
            floors[setting[reading]] = min(floors[setting[reading]], shortest)
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
        self.redaction = redact_options(settings)
        self.keep_clear = bool(self.redaction and settings["redaction"]["keep_clear_transcript"])

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
        verifier = (Verifier(transcript, verify["margin"], scorer, verify["margin_per_word"], verify["forbidden_margin"])
                    if verify["enabled"] else None)
        measurements = measure(
            transcript,
            self.timing,
            metadata=metadata,
            is_hold_announcement=self._announces_hold(verifier),
            seconds_per_ring=seconds_per_ring(self.spec),
        )
        result = audit(transcript, measurements, self.spec, metadata, verifier)  # on the clear text
        if self.redaction is None:
            return CallAudit(transcript, measurements, result)
        redactor = Redactor(self.redaction, metadata.customer_surname if metadata else None)
        redacted, redactions = redactor.transcript(transcript)
        return CallAudit(redacted, measurements, redactor.result(result), redactions,
                         transcript if self.keep_clear else redacted)

    def _announces_hold(self, verifier: Verifier | None) -> Callable[[Turn], bool]:
        """Does an agent turn before a long silence announce a hold? Its text, else its audio (a
        misheard "May I put you on hold" must not turn the hold into dead air); the scores join
        the transcript, so a rescore finds the same holds."""
        phrases = self.spec.phrases_for(HOLD_ANNOUNCEMENT)

        def announces(turn: Turn) -> bool:
            if phrases.said(turn.text):
                return True
            if verifier is None or not turn.words:
                return False
            return first_heard(verifier, [turn], [p for group in phrases.groups for p in group])[1] is not None

        return announces

    def transcribe(self, path: Path) -> Transcript:
        """The recording's transcript, in the clear: what the checks read (``redacted`` for output)."""
        return self.transcriber.transcribe(path)

    def outgoing_metadata(self, metadata: CallMetadata | None) -> CallMetadata | None:
        """The call's metadata as the store keeps it: the surname replaced when names are redacted
        (a rescore then looks for the same placeholder the transcript holds)."""
        if (self.redaction is None or "name" not in self.redaction.detect.categories or metadata is None
                or not metadata.customer_surname):
            return metadata
        return dataclasses.replace(metadata, customer_surname="[NAME]")

    def redactions(self, transcript: Transcript, metadata: CallMetadata | None = None) -> list[Redaction]:
        """What is personal data in a transcript, clear or redacted already (its placeholders), for
        redacting the audio; the settings' categories even where redaction of text is off."""
        options = self.redaction or redact_options({"redaction": {**self.settings["redaction"], "enabled": True}})
        return Redactor(options, metadata.customer_surname if metadata else None).transcript(transcript)[1]

    def redact_audio(self, source: Path, target: Path, transcript: Path | None = None,
                     mode: str | None = None) -> tuple[list[Redaction], list[tuple[float, float]]]:
        """``callqa redact-audio``: the recording's personal data (from its transcript file, or ASR)
        silenced or toned on every channel in a WAV copy; what was found and the seconds covered."""
        from pipeline.audio.redact import redact_audio, spans_to_cover

        text = Transcript.load(transcript) if transcript else self.transcribe(source)
        found = self.redactions(text)
        spans = spans_to_cover([(r.start, r.end) for r in found], text.duration or float("inf"))
        settings = self.settings["redaction"]
        return found, redact_audio(source, target, spans, mode or settings["audio"], settings["tone_hz"])

    def redacted(self, transcript: Transcript) -> Transcript:
        """The transcript as it may leave this process (``callqa transcribe``): redacted unless the
        settings keep the clear transcript or redaction is off."""
        if self.redaction is None or self.keep_clear:
            return transcript
        return Redactor(self.redaction).transcript(transcript)[0]
