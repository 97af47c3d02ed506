"""Cues: phrases the pipeline needs from a spec before any check runs.

The pipeline asks a spec for phrases by what they are for, never by item id:
``spec.phrases_for(GREETING).score(text)`` tells the agent's channel or speaker,
``spec.phrases_for(CLOSING_QUESTION).score(text)`` helps tell a diarized agent,
``spec.phrases_for(HOLD_ANNOUNCEMENT).said(text)`` finds announced holds, and
``spec.phrases_for(SILENT_CALL).phrases_said(text, min_units)`` (with the greeting's) finds a
diarized "customer" who only ever says the agent's script.

A check kind declares the cues it can serve (``Check.provides``) and which of its phrases serve
them (``Check.cue_phrases``); a spec item serves the cues in its ``provides:`` field, by default
its checklist id's (``spec.DEFAULT_CUES``).
"""

from __future__ import annotations

GREETING = "greeting"
CLOSING_QUESTION = "closing_question"
HOLD_ANNOUNCEMENT = "hold_announcement"
HOLD_THANKS = "hold_thanks"
SILENT_CALL = "silent_call"

# Each cue, what it is, and whether every spec must provide it (the pipeline cannot do without).
CUES = {
    GREETING: "the opening greeting's phrases: they tell which channel or speaker is the agent",
    CLOSING_QUESTION: "the closing question's phrases: they help tell which diarized speaker is the agent",
    HOLD_ANNOUNCEMENT: "phrases announcing a wait: they tell an announced hold from a silence",
    HOLD_THANKS: "thanks for waiting after a hold: a decoder hint for the turn after a pause (asr.spec_prompt)",
    SILENT_CALL: "what the agent says to a silent line: with the greeting's phrases, the script that tells a mono "
                 "call's agent voice split in two by diarization",
}
REQUIRED_CUES = (GREETING, HOLD_ANNOUNCEMENT)
