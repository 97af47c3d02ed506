#!/usr/bin/env python
"""Diarization accuracy and speed on the mono sample calls, beside the ASR time for the same calls.

    python bench/diarization.py                 # every mono sample, best of 3 timings each
    python bench/diarization.py --repeat 5 --config my_settings.yaml

Per call: the diarization error rate of the audited transcript's speech activity against the
script's turns (0.25 s collar), whether agent and customer came out right, and the seconds per
audio minute that diarization (and, of it, the overlap model: ``speakers.overlap``, run where the
call's turns ask, as in an audit; beside it, ``whole``: the same model on every window of the call)
and ASR (tiny.en on the VAD regions) each take on this machine.
Both are timed side by side in one process, best of ``--repeat`` runs, because other load on the
machine moves absolute figures a lot; model loading is timed apart. Needs the diarize extra and
the local weights (make diarize-models).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from audits.spec import load_spec  # noqa: E402
from pipeline.audio.activity import speech_regions  # noqa: E402
from pipeline.audio.decode import decode, to_float  # noqa: E402
from pipeline.call import CallProcessor  # noqa: E402
from pipeline.config import load_settings  # noqa: E402
from pipeline.speakers.overlap import TwoVoices  # noqa: E402
from pipeline.speakers.turns import diarization_error_rate, spoken_turns  # noqa: E402

SAMPLES = REPO / "sample_audio"
COLLAR = 0.25


def mono_truths() -> list[dict]:
    truths = [json.loads(path.read_text(encoding="utf-8")) for path in sorted((SAMPLES / "truth").glob("*.json"))]
    return [truth for truth in truths if truth["channels"] == 1 and truth["language"] == "en"]


def best_of(repeat: int, work) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def scripted_speech(truth: dict) -> dict[str, list[tuple[float, float]]]:
    spans: dict[str, list[tuple[float, float]]] = {"agent": [], "customer": []}
    for turn in truth["turns"]:
        spans[turn["role"]].append((turn["start"], turn["end"]))
    return spans


def agent_is_right(activity: dict, scripted: dict) -> bool:
    """The agent's speech overlaps the scripted agent's more than the scripted customer's."""
    def shared(a, b):
        return sum(max(0.0, min(e1, e2) - max(s1, s2)) for s1, e1 in a for s2, e2 in b)

    agent = activity.get("agent", [])
    return shared(agent, scripted["agent"]) > shared(agent, scripted["customer"])


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per call and stage (best is kept)")
    parser.add_argument("--config", type=Path, help="settings YAML laid over configs/default.yaml")
    args = parser.parse_args()

    settings = load_settings(args.config)
    processor = CallProcessor(settings, load_spec("en"))
    load_asr = best_of(1, lambda: processor.transcriber.asr)
    load_diarizer = best_of(1, lambda: processor.transcriber.diarizer)
    import pyannote.audio
    import torch

    print(f"machine: {machine()}; torch {torch.__version__} ({torch.get_num_threads()} threads), "
          f"pyannote.audio {pyannote.audio.__version__}")
    print(f"diarization: {processor.transcriber.diarizer.describe()}; ASR: {processor.transcriber.asr.describe()['model']}")
    print(f"model loading: ASR {load_asr:.1f} s, diarization {load_diarizer:.1f} s (once per worker)\n")
    print(f"{'call':32} {'audio s':>7} {'DER':>6} {'no collar':>9} {'agent':>6} {'diar. s/min':>11} "
          f"{'overlap':>7} {'whole':>6} {'ASR s/min':>9}")

    diarizer = processor.transcriber.diarizer
    vad = settings["vad"]

    def overlap_model(samples) -> TwoVoices:
        return TwoVoices(diarizer.overlap, to_float(samples), settings["diarization"]["segmentation_step"],
                         settings["diarization"]["overlap_threshold"])

    def overlap_asked(found, samples) -> TwoVoices:
        """The overlap model run where the call's turns ask it (``spoken_turns``), as in an audit."""
        two_voices = overlap_model(samples)
        found.two_voices_at = two_voices.stretch_at
        spoken_turns(found, vad["min_silence_duration_ms"] / 1000, vad["min_speech_duration_ms"] / 1000)
        return two_voices

    windows = all_windows = 0
    audio_seconds = diarize_seconds = overlap_seconds = whole_seconds = asr_seconds = 0.0
    rates, right = [], 0
    for truth in mono_truths():
        path = SAMPLES / truth["file"]
        transcript = processor.transcribe(path)
        scripted = scripted_speech(truth)
        der = diarization_error_rate(scripted, transcript.activity, transcript.duration, collar=COLLAR)
        strict = diarization_error_rate(scripted, transcript.activity, transcript.duration, collar=0.0)
        correct = agent_is_right(transcript.activity, scripted)
        samples = decode(path).channels[0]
        regions = speech_regions(samples, settings["vad"])
        diarize = best_of(args.repeat, lambda: diarizer.diarize(samples, truth["call_id"]))
        overlap = whole = 0.0
        if diarizer.overlap is not None:
            found = diarizer.diarize(samples, truth["call_id"])
            overlap = best_of(args.repeat, lambda: overlap_asked(found, samples))
            whole = best_of(args.repeat, lambda: overlap_model(samples).probabilities())
            windows += len(overlap_asked(found, samples).computed)
            all_windows += overlap_model(samples).windows
        diarize += overlap
        asr = best_of(args.repeat, lambda: processor.transcriber.asr.transcribe_channels([samples], [regions], "en"))
        minutes = transcript.duration / 60
        print(f"{truth['call_id']:32} {transcript.duration:7.1f} {der:6.1%} {strict:9.1%} {'right' if correct else 'WRONG':>6} "
              f"{diarize / minutes:11.2f} {overlap / minutes:7.2f} {whole / minutes:6.2f} {asr / minutes:9.2f}")
        audio_seconds += transcript.duration
        diarize_seconds += diarize
        overlap_seconds += overlap
        whole_seconds += whole
        asr_seconds += asr
        rates.append(der)
        right += correct

    minutes = audio_seconds / 60
    print(f"\n{len(rates)} mono calls, {audio_seconds:.0f} s of audio: mean DER {sum(rates) / len(rates):.1%} "
          f"(worst {max(rates):.1%}, collar {COLLAR} s), agent right on {right}/{len(rates)}; "
          f"diarization {diarize_seconds / minutes:.2f} s per audio minute (the overlap model "
          f"{overlap_seconds / minutes:.2f} of it, on {windows} of the calls' {all_windows} windows, where the turns "
          f"ask; {whole_seconds / minutes:.2f} on every window), ASR {asr_seconds / minutes:.2f} s "
          f"per audio minute (diarization = {diarize_seconds / asr_seconds:.2f} x ASR)")
    return 0 if right == len(rates) else 1


if __name__ == "__main__":
    sys.exit(main())
