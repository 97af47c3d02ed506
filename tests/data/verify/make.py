#!/usr/bin/env python
"""How the recordings of this folder were made (they are committed; rerun to remake them).

    python tests/data/verify/make.py [name ...]

Short stereo calls (agent left, customer right, 8 kHz telephone band, Ogg Vorbis) spoken by
espeak-ng voices that neither the sample calls nor the accuracy bench use, at speeds where
tiny.en misreads the words the checklist asks about: the tests of phrase verification
(tests/test_verify_audio.py) need calls whose text misses what the audio holds. Needs espeak-ng
and sox (apt-get install -y espeak-ng sox).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
AGENT, CUSTOMER = ("en-us+f5", 200), ("en-us+m5", 160)

CALLS = {
    # "glad to serve you" read as "plan to serve you": the greeting's offer of help is in the audio only
    "greeting_misheard": [
        ("agent", "Hello, thank you for calling Apex customer service center, glad to serve you."),
        ("customer", "Hi, I would like to check the status of my order."),
        ("agent", "Of course. Your order was shipped this morning. Is there anything else I can help you with?"),
        ("customer", "No, that's all. Thanks."),
        ("agent", "You're welcome. Thank you for calling, goodbye."),
    ],
    # the same voice and speed, no offer of help said: the greeting must still fail
    "greeting_no_offer": [
        ("agent", "Hello, thank you for calling Apex customer service center."),
        ("customer", "Hi, I would like to check the status of my order."),
        ("agent", "Of course. Your order was shipped this morning. Is there anything else I can help you with?"),
        ("customer", "No, that's all. Thanks."),
        ("agent", "You're welcome. Thank you for calling, goodbye."),
    ],
    # a consented hold whose request tiny.en reads "I hope you want to hold a moment.": the hold hint
    # (asr.spec_prompt: key_turns) reads it right
    "hold_misheard": [
        ("agent", "Hello, thank you for calling Apex customer service center, glad to serve you."),
        ("customer", "Is the blue jacket in stock in size medium?"),
        ("agent", "May I put you on hold for a moment?"),
        ("customer", "Sure."),
        ("pause", 14.0),
        ("agent", "Thank you for waiting. The blue jacket is in stock in size medium."),
        ("customer", "Good, I will come and get it tomorrow."),
        ("agent", "Is there anything else I can help you with?"),
        ("customer", "No, that's all."),
        ("agent", "Thank you for calling, goodbye."),
    ],
    # dead air after the customer's question: no hold for the hint to find
    "dead_air": [
        ("agent", "Hello, thank you for calling Apex customer service center, glad to serve you."),
        ("customer", "Is the blue jacket in stock in size medium?"),
        ("pause", 13.0),
        ("agent", "The blue jacket is in stock in size medium."),
        ("customer", "Good, I will come and get it tomorrow."),
        ("agent", "Is there anything else I can help you with?"),
        ("customer", "No, that's all."),
        ("agent", "Thank you for calling, goodbye."),
    ],
}


def speak(text: str, voice: tuple[str, int], out: Path) -> None:
    raw = out.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-v", voice[0], "-s", str(voice[1]), "-w", str(raw), text], check=True)
    subprocess.run(["sox", "-q", "-R", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(out)], check=True)


def make(name: str, turns: list[tuple[str, str | float]]) -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        legs = {"agent": [], "customer": []}
        silence = tmp / "gap.wav"
        subprocess.run(["sox", "-q", "-R", "-n", "-r", "8000", "-c", "1", "-b", "16", str(silence), "trim", "0", "0.8"],
                       check=True)
        for number, (role, text) in enumerate(turns):
            if role == "pause":  # silence on both legs
                pause = tmp / f"p{number}.wav"
                subprocess.run(["sox", "-q", "-R", "-n", "-r", "8000", "-c", "1", "-b", "16", str(pause), "trim", "0",
                                str(text)], check=True)
                legs["agent"].append(str(pause))
                legs["customer"].append(str(pause))
                continue
            spoken = tmp / f"t{number}.wav"
            speak(text, AGENT if role == "agent" else CUSTOMER, spoken)
            quiet = tmp / f"q{number}.wav"  # the other leg stays silent meanwhile
            subprocess.run(["sox", "-q", "-R", str(spoken), str(quiet), "vol", "0"], check=True)
            other = "customer" if role == "agent" else "agent"
            legs[role] += [str(silence), str(spoken)]
            legs[other] += [str(silence), str(quiet)]
        for role in legs:
            legs[role].append(str(silence))
            subprocess.run(["sox", "-q", "-R", *legs[role], str(tmp / f"{role}.wav")], check=True)
        out = HERE / f"{name}.ogg"
        subprocess.run(["sox", "-q", "-R", "-M", str(tmp / "agent.wav"), str(tmp / "customer.wav"), "-C", "3",
                        str(out)], check=True)
        return out


if __name__ == "__main__":
    for name, turns in CALLS.items():
        if len(sys.argv) == 1 or name in sys.argv[1:]:
            print(make(name, turns))
