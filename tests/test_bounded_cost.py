"""Issue #14, part 4: the cost of any input is bounded. A transcript of any length is audited in
time linear in its turns (give or take a log), so a 100,000-turn transcript cannot hold the night."""

from __future__ import annotations

import time

import pytest

from audits.spec import load_spec
from pipeline.call import CallProcessor
from pipeline.config import load_settings
from pipeline.transcript import Transcript

# Agent and customer lines that set off every kind of check: complaints and thanks (context
# triggers), hold announcements before silences (holds), long explanations (monologues), forbidden
# phrases, a surname, the closing question.
AGENT = ["Thank you for calling Acme support, how can I help you?", "One moment please, let me check.",
         "I'm sorry to hear that, Mr. Wang.", "Let me explain how the billing cycle works in detail for you.",
         "That's impossible.", "Is there anything else I can help you with?"]
CUSTOMER = ["My name is Wang and my bill is wrong, this is terrible.", "Thanks a lot.", "Uh-huh.",
            "Put me through to a manager please.", "No, that's all, goodbye."]


def long_call(turns: int) -> Transcript:
    data, t = [], 0.0
    for n in range(turns):
        agent = n % 2 == 0
        length = 12.0 if n % 17 == 0 else 2.0  # some monologues
        start = t - 2.5 if n % 11 == 0 else t  # some overlaps (interruptions)
        data.append({"role": "agent" if agent else "customer", "start": max(0.0, start), "end": t + length,
                     "text": (AGENT if agent else CUSTOMER)[n % (len(AGENT) if agent else len(CUSTOMER))]})
        t += length + (7.0 if n % 13 == 0 else 0.4)  # some silences after "one moment": holds
    # One customer turn spanning the whole call (an ASR system's stray segment): nested turns
    # must not make the time queries scan.
    data.append({"role": "customer", "start": 0.0, "end": t, "text": "hmm"})
    return Transcript.from_dict({"language": "en", "turns": data}, origin="long.json")


@pytest.fixture(scope="module")
def processor() -> CallProcessor:
    return CallProcessor(load_settings(), load_spec("en"))


def _seconds_to_audit(processor: CallProcessor, transcript: Transcript) -> float:
    started = time.perf_counter()
    call = processor.audit_transcript(transcript)
    assert call.result.score is not None and len(call.result.findings) == 18
    return time.perf_counter() - started


def test_a_100000_turn_transcript_is_audited_in_seconds_not_minutes(processor):
    transcript = long_call(100_000)
    seconds = _seconds_to_audit(processor, transcript)
    # Before: 9 minutes (a scan of every turn per trigger). Now 5-7 s on a shared 2-core machine;
    # the bound leaves room for a loaded machine and still fails a quadratic check by far.
    assert seconds < 60, f"100,000 turns took {seconds:.0f} s"


def test_audit_time_grows_linearly_with_the_turns(processor):
    small, large = long_call(5_000), long_call(40_000)
    _seconds_to_audit(processor, small)  # warm the matchers' caches
    ratio = min(_seconds_to_audit(processor, large) for _ in range(2)) / \
        min(_seconds_to_audit(processor, small) for _ in range(3))
    # 8 times the turns: about 8 times the time when linear, 64 when quadratic
    assert ratio < 20, f"8x the turns took {ratio:.1f}x the time"
