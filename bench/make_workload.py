#!/usr/bin/env python
"""Synthesise the benchmark workload: realistic stereo service calls, deterministic, into bench/workload/.

    python bench/make_workload.py              # 20 calls of 3-8 min + scaling calls of 1, 5, 20, 60 min
    python bench/make_workload.py --calls 4 --scaling 1 5   # a smaller set

Reuses ``sample_audio/make_samples.py`` (flite voices, ring-back, 8 kHz telephone band, line noise,
ffmpeg encoding). A call is composed from many turns drawn (seeded) from the sentence pools below:
greeting, the customer's request, exchanges of one to three sentences, back-channels that overlap a
little, "let me check" pauses, sometimes a hold with its announcement and thanks, a closing. Dead
air is what real calls have: 0.3-2.5 s between turns, 3-9 s while the agent looks something up,
20-45 s holds in some calls, a ring-back phase before the answer in some calls.

Writes ``bench/workload/calls/*.{mp3,ogg,wav}``, ``bench/workload/scaling/*.mp3`` and
``bench/workload/manifest.json`` (duration, speech seconds per channel, turns, per file). Each
sentence is synthesised once per voice and cached under ``bench/workload/.voice_cache``. Needs flite
and ffmpeg (``apt-get install -y flite ffmpeg``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import shutil
import sys
import time
import zlib
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORKLOAD = HERE / "workload"


def _load_make_samples():
    spec = importlib.util.spec_from_file_location("make_samples", REPO / "sample_audio" / "make_samples.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_samples"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


ms = _load_make_samples()
RATE = ms.RATE

# --- what people say -------------------------------------------------------------------------------

GREETINGS = [
    "Hello, Apex service centre, glad to serve you. What can I do for you?",
    "Good morning, Apex service centre, this is Alex speaking. How can I help you today?",
    "Hello, thank you for calling Apex service centre. What can I do for you?",
]
REQUESTS = [
    "Hi, my name is Tom Brown. I would like to check the status of my order.",
    "Hello, I would like to change the delivery address for my order.",
    "I would like to return a kettle I bought last week and get my money back.",
    "My internet connection keeps dropping every evening, and I work from home.",
    "I was charged twice for the same delivery on my last bill.",
    "I want to make a complaint. My package is two weeks late and nobody called me back.",
    "I would like to upgrade my phone plan to one with more data.",
    "How does the warranty on my laptop work?",
    "I would like to cancel my newspaper subscription.",
    "I need to book a technician to install my new washing machine.",
]
AGENT = [
    "Certainly. May I have your order number, please?",
    "Could you please confirm your full name and the postcode on the account?",
    "Thank you. I can see your account here.",
    "Your order was shipped yesterday and will arrive tomorrow morning.",
    "I understand, that must be frustrating.",
    "Let me explain how this works.",
    "The refund goes back to the card you paid with.",
    "It usually takes three to five working days to show on your statement.",
    "I have changed the address on the order to the one you gave me.",
    "The technician can come on Tuesday between nine and twelve, or on Thursday afternoon.",
    "Your current plan includes ten gigabytes of data per month.",
    "The new plan costs five pounds more and includes fifty gigabytes.",
    "The change will take effect from your next billing date.",
    "I can see two payments for the same delivery, so one of them will be refunded.",
    "Could you tell me when the problem started?",
    "Have you tried restarting the router since then?",
    "I will run a line test from here, it only takes a moment.",
    "The line test shows some noise on the line in the evening.",
    "I will book an engineer to check the line outside your house.",
    "You will get a text message with the appointment details.",
    "Is this the best number to reach you on?",
    "Your laptop has a two year warranty from the date of purchase.",
    "It covers faults in the screen, the keyboard, the battery and the main board.",
    "It does not cover damage from drops or from liquids.",
    "I am sorry for the trouble this has caused you.",
    "I have added a note to your account so my colleagues can see it.",
    "Your subscription will end on the last day of this month.",
    "You will not be charged again after that.",
    "I have sent a confirmation to your email address.",
    "Please keep the receipt until the refund arrives.",
    "The courier will collect the parcel from your door on Monday.",
    "You do not need to print a label, the driver will bring one.",
    "Is my explanation clear?",
    "Just to confirm, you would like the delivery on Friday morning.",
    "That is all set up for you now.",
]
CUSTOMER = [
    "It is four five six seven eight.",
    "Yes, it is Tom Brown, and the postcode is S P one two A B.",
    "Twelve Park Road, Springfield.",
    "It started about two weeks ago.",
    "Yes, I restarted it several times, but it did not help.",
    "That is a bit expensive. Is there anything cheaper?",
    "Tuesday morning would be better for me.",
    "I bought it last week in your shop on Station Street.",
    "Will I get the whole amount back?",
    "How long will that take?",
    "Can I still use the service until then?",
    "I have the receipt here somewhere.",
    "That sounds fine to me.",
    "Could you send me that in writing, please?",
    "My email address is tom dot brown at example dot com.",
    "I have been waiting for this for a long time.",
    "The last time I called nobody got back to me.",
    "What happens if the engineer cannot fix it?",
    "Do I need to be at home for that?",
    "Yes, that is my mobile number.",
    "I would rather keep my old plan then.",
    "Great, thank you very much.",
]
BACKCHANNELS = ["Okay.", "Right.", "I see.", "Yes.", "Alright.", "Mm hmm."]
CHECK = ["One moment, let me check that for you.", "Let me have a look at that.", "Bear with me a second."]
HOLD_ASK = "May I put you on hold for a moment while I check with my colleague?"
HOLD_YES = "Sure, go ahead."
HOLD_BACK = "Thank you for waiting. I have the answer for you now."
CLOSING = [
    ("agent", "Is there anything else I can help you with?"),
    ("customer", "No, that's all. Thank you."),
    ("agent", "You're welcome. Thank you for calling, goodbye."),
]

# --- composing a call ------------------------------------------------------------------------------


class Voices:
    """Sentence audio per (role, sentence), synthesised once, cached in memory and on disk."""

    def __init__(self, cache: Path):
        self.cache = cache
        cache.mkdir(parents=True, exist_ok=True)
        self.memory: dict[tuple[str, str], np.ndarray] = {}
        self.voices = ms.VOICES["en"]

    def say(self, role: str, sentence: str) -> np.ndarray:
        key = (role, sentence)
        if key not in self.memory:
            path = self.cache / f"{role}_{zlib.crc32(sentence.encode()):08x}.npy"
            if path.is_file():
                audio = np.load(path)
            else:
                audio = ms.synthesise(sentence, self.voices[role], "en")
                np.save(path, audio)
            self.memory[key] = audio
        return self.memory[key]

    def turn(self, role: str, sentences: list[str], rng: random.Random) -> np.ndarray:
        parts = []
        for index, sentence in enumerate(sentences):
            if index:
                parts.append(np.zeros(int(rng.uniform(0.25, 0.45) * RATE), dtype=np.float32))
            parts.append(self.say(role, sentence))
        return np.concatenate(parts)


def compose(call_id: str, minutes: float, voices: Voices) -> dict:
    """A call of about ``minutes``: its placed turns, ring-back and duration (seeded by the call id)."""
    rng = random.Random(zlib.crc32(call_id.encode()))
    rings = rng.choice([0, 0, 1, 2, 3])
    answer_at = rings * (ms.CADENCES["cn"]["on"] + ms.CADENCES["cn"]["off"])
    target = minutes * 60.0
    placed: list = []
    cursor = answer_at
    holds = 0

    def place(role: str, sentences: list[str], gap: float | None = None, overlap: float | None = None) -> None:
        nonlocal cursor
        audio = voices.turn(role, sentences, rng)
        if overlap is not None and placed:
            start = max(placed[-1].start + 0.3, placed[-1].end - overlap)
        else:
            same = placed and placed[-1].role == role
            start = cursor + (gap if gap is not None else max(1.0 if same else 0.3, min(2.5, rng.lognormvariate(-0.35, 0.45))))
        start = round(start * RATE) / RATE
        placed.append(ms.Placed(role, " ".join(sentences), start, audio))
        cursor = max(cursor, placed[-1].end)

    place("agent", [rng.choice(GREETINGS)], gap=rng.uniform(0.5, 1.5))
    place("customer", [rng.choice(REQUESTS)])
    closing_seconds = 12.0 + 15.0  # the closing, and about half the last exchange that may run over
    while cursor < answer_at + target - closing_seconds:
        roll = rng.random()
        if roll < 0.08:  # the agent looks something up: normal dead air
            place("agent", [rng.choice(CHECK)])
            cursor += rng.uniform(3.0, 9.0)
            place("agent", rng.sample(AGENT, rng.randint(1, 2)), gap=1.0)
        elif roll < 0.11 and holds < 1 and minutes >= 3:  # a hold with permission and thanks
            holds += 1
            place("agent", [HOLD_ASK])
            place("customer", [HOLD_YES])
            cursor += rng.uniform(20.0, 45.0)
            place("agent", [HOLD_BACK] + rng.sample(AGENT, 1), gap=1.0)
        else:
            place("agent", rng.sample(AGENT, rng.choice([1, 1, 2, 2, 3])))
            if rng.random() < 0.25:  # a back-channel that overlaps the end of the agent's turn a little
                place("customer", [rng.choice(BACKCHANNELS)], overlap=rng.uniform(0.2, 0.6))
                if placed[-1].start < placed[-2].end:
                    cursor = max(cursor, placed[-2].end)
            place("customer", rng.sample(CUSTOMER, rng.choice([1, 1, 2])),
                  gap=None if placed[-1].role == "agent" else 1.0 + rng.uniform(0, 0.8))
    for role, text in CLOSING:
        place(role, [text], gap=1.0 if placed[-1].role == role else None)
    duration = cursor + rng.uniform(0.8, 2.0)
    return {"placed": placed, "rings": rings, "answer_at": answer_at, "duration": duration}


def write_call(call: dict, path: Path, fmt: str) -> dict:
    seed = zlib.crc32(path.stem.encode())
    stereo = ms.mix(call["placed"], call["rings"], ms.CADENCES["cn"], call["duration"], seed)
    ms.encode(stereo, RATE, fmt, ms.BITRATES.get(fmt), path)
    speech = {role: round(sum(t.end - t.start for t in call["placed"] if t.role == role), 1) for role in ms.ROLES}
    return {
        "file": str(path.relative_to(WORKLOAD)),
        "duration": round(call["duration"], 3),
        "answer_at": call["answer_at"],
        "turns": len(call["placed"]),
        "speech_seconds": speech,
        "bytes": path.stat().st_size,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20, help="number of 3-8 minute calls (default 20)")
    parser.add_argument("--scaling", type=float, nargs="*", default=[1, 5, 20, 60],
                        help="lengths in minutes of the scaling calls (default 1 5 20 60)")
    parser.add_argument("--out", type=Path, default=None, help="folder (default bench/workload)")
    args = parser.parse_args()
    global WORKLOAD
    WORKLOAD = (args.out or WORKLOAD).resolve()
    missing = [tool for tool in ("flite", "ffmpeg") if shutil.which(tool) is None]
    if missing:
        sys.exit(f"make_workload: {', '.join(missing)} not found on PATH. Install with: apt-get install -y {' '.join(missing)}")
    voices = Voices(WORKLOAD / ".voice_cache")
    manifest = {"calls": [], "scaling": []}
    formats = ["mp3", "ogg", "wav"]  # what call recorders write: MP3, Vorbis, G.711 mu-law WAV
    started = time.perf_counter()
    folder = WORKLOAD / "calls"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    lengths = np.linspace(3.15, 7.9, args.calls)  # composed calls land within about 0.2 min of these
    for index, minutes in enumerate(lengths):
        call_id = f"call_{index + 1:02d}"
        fmt = formats[index % len(formats)]
        entry = write_call(compose(call_id, float(minutes), voices), folder / f"{call_id}.{fmt}", fmt)
        manifest["calls"].append(entry)
        print(f"{entry['file']:24} {entry['duration'] / 60:5.2f} min  {entry['turns']:4d} turns", flush=True)
    folder = WORKLOAD / "scaling"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for minutes in args.scaling:
        call_id = f"long_{minutes:g}min"
        entry = write_call(compose(call_id, float(minutes), voices), folder / f"{call_id}.mp3", "mp3")
        entry["minutes"] = minutes
        manifest["scaling"].append(entry)
        print(f"{entry['file']:24} {entry['duration'] / 60:5.2f} min  {entry['turns']:4d} turns", flush=True)
    (WORKLOAD / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    total = sum(e["duration"] for e in manifest["calls"] + manifest["scaling"]) / 60
    print(f"{total:.1f} min of audio in {time.perf_counter() - started:.0f} s -> {WORKLOAD}")


if __name__ == "__main__":
    main()
