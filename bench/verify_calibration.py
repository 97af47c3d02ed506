#!/usr/bin/env python
"""Calibrate phrase verification's margin (``verify.margin``) on speech no other figure uses.

    python bench/verify_calibration.py [--voices N] [--lines N] [--json out.json]

Every agent line of the sample scripts is spoken by calibration voices (espeak-ng and flite
voices that neither the sample calls nor the accuracy bench's held-out split use) at two speeds,
transcribed by callqa's engine, and every phrase of the bundled en spec's required groups
(phrases items, context responses) that the text lacks is scored against the audio
(``pipeline.asr.verify``). A phrase the script line says is a *positive* (the text missed it);
one it does not say is a *negative*. Prints the margins (log-probability with the phrase minus as
decoded) of both, and how many of each every candidate margin would let through.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from audits.calldata.transcript import Turn  # noqa: E402
from audits.spec import load_spec  # noqa: E402
from pipeline.asr import numerics  # noqa: E402
from pipeline.asr.engine import AsrEngine  # noqa: E402
from pipeline.asr.verify import AudioScorer  # noqa: E402
from pipeline.audio.decode import decode  # noqa: E402
from pipeline.config import load_settings  # noqa: E402

# Not the samples' (flite rms, slt) nor the accuracy bench's held-out voices (flite awb, kal16, kal;
# espeak-ng en-us+m3, en-gb-x-rp+m1, en-us+f2, en-gb+f4, en-029+f3).
VOICES = [("espeak-ng", "en-us+m5"), ("espeak-ng", "en-us+f5"), ("espeak-ng", "en+klatt"),
          ("espeak-ng", "en-sc+m4"), ("espeak-ng", "en+whisper"), ("espeak-ng", "en-gb+m2")]
SPEEDS = (150, 195)  # espeak-ng words per minute
MARGINS = (2, 4, 6, 8, 10, 12, 15)  # flat margins (nats)
SCALED = [(a, b) for a in (1, 2, 3, 4) for b in (0.5, 1.0, 1.5, 2.0)]  # margin a + b per word of the phrase


def synth(text: str, engine: str, voice: str, speed: int, out: Path) -> None:
    raw = out.with_suffix(".raw.wav")
    if engine == "flite":
        subprocess.run(["flite", "-voice", voice, "--setf", f"duration_stretch={150 / speed:.2f}", "-t", text,
                        "-o", str(raw)], check=True)
    else:
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(raw), text], check=True)
    # 0.3 s of silence either side, 8 kHz telephone band back up to 16 kHz, as a call leg is; -R:
    # sox dithers with a random seed otherwise, and the ASR text (so the figures) changed run to run
    subprocess.run(["sox", "-q", "-R", str(raw), "-r", "8000", "-c", "1", str(out.with_suffix(".8k.wav")),
                    "pad", "0.3", "0.3"], check=True)
    subprocess.run(["sox", "-q", "-R", str(out.with_suffix(".8k.wav")), "-r", "16000", str(out)], check=True)


def agent_lines() -> list[str]:
    lines = []
    for path in sorted((REPO / "sample_audio" / "scripts").glob("en_*.yaml")):
        for turn in yaml.safe_load(path.read_text())["turns"]:
            if turn.get("role") == "agent" and turn.get("text") and turn["text"] not in lines:
                lines.append(turn["text"])
    return lines


def required_phrases(spec) -> list[str]:
    phrases = []
    for item in spec.items:
        for field in ("groups", "response"):
            groups = getattr(item.options, field, ())
            if not isinstance(groups, (list, tuple)):  # a rules item's response is a condition, not groups
                continue
            for group in groups:
                phrases += [p for p in group if p not in phrases]
    return phrases


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voices", type=int, default=len(VOICES))
    parser.add_argument("--lines", type=int, default=0, help="at most this many lines (0: all)")
    parser.add_argument("--negatives", type=int, default=8, help="phrases not said scored per utterance")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    numerics.pin()
    settings = load_settings()
    spec = load_spec("en")
    engine = AsrEngine(settings["asr"], numerics.engine_threads(settings["asr"]["cpu_threads"]))
    phrases = required_phrases(spec)
    lines = agent_lines()[: args.lines or None]
    rng = random.Random(16)
    rows, started, scoring = [], time.perf_counter(), 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for engine_name, voice in VOICES[: args.voices]:
            for speed in SPEEDS:
                for number, line in enumerate(lines):
                    wav = Path(tmp) / f"u{number}.wav"
                    synth(line, engine_name, voice, speed, wav)
                    with decode(wav) as audio:
                        samples = audio.channels[0]
                        end = audio.duration
                        [words] = engine.transcribe_regions(samples, [(0.0, end)], "en")
                        if not words:
                            continue
                        text = " ".join(w.text for w in words)
                        turn = Turn("agent", 0.0, end, text, words, channel=0)
                        said = [p for p in phrases if spec.matchers.matcher((p,), None).find(line)]
                        heard = {p for p in phrases if spec.matchers.matcher((p,), None).find(text)}
                        others = [p for p in phrases if p not in said and p not in heard]
                        asked = [p for p in said if p not in heard] + rng.sample(others, min(len(others), args.negatives))
                        if not asked:
                            continue
                        at = time.perf_counter()
                        scores = AudioScorer(engine, audio.channels, "en").score([turn], asked) or []
                        scoring += time.perf_counter() - at
                        for s in scores:
                            rows.append({"voice": f"{engine_name}:{voice}", "speed": speed, "line": line, "heard": text,
                                         "phrase": s.phrase, "said": s.phrase in said, "margin": round(s.margin, 3),
                                         "reading": s.reading})
                print(f"{engine_name}:{voice} {speed}: {len(rows)} scores so far", file=sys.stderr, flush=True)
    positives = sorted(r["margin"] for r in rows if r["said"])
    negatives = sorted(r["margin"] for r in rows if not r["said"])
    print(f"{len(positives)} phrases said but missed by the text, {len(negatives)} not said; "
          f"{time.perf_counter() - started:.0f} s in all, scoring {scoring:.1f} s")
    print("| margin | said, heard (recall of the missed) | not said, heard (false) |")
    print("|---|---|---|")
    for margin in MARGINS:
        tp = sum(m >= -margin for m in positives)
        fp = sum(m >= -margin for m in negatives)
        print(f"| {margin} | {tp} of {len(positives)} | {fp} of {len(negatives)} |")
    print("| margin + per word | said, heard | not said, heard |")
    print("|---|---|---|")
    for a, b in SCALED:
        def allowed(r):
            return a + b * len(r["phrase"].split())
        tp = sum(r["margin"] >= -allowed(r) for r in rows if r["said"])
        fp = sum(r["margin"] >= -allowed(r) for r in rows if not r["said"])
        print(f"| {a} + {b} | {tp} of {len(positives)} | {fp} of {len(negatives)} |")
    worst = sorted((r for r in rows if not r["said"]), key=lambda r: -r["margin"])[:8]
    print("closest negatives:")
    for r in worst:
        print(f"  {r['margin']:7.2f} {r['phrase']!r} in {r['heard']!r}")
    missed = sorted((r for r in rows if r["said"]), key=lambda r: r["margin"])[:8]
    print("hardest positives:")
    for r in missed:
        print(f"  {r['margin']:7.2f} {r['phrase']!r} in {r['heard']!r}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
