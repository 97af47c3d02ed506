#!/usr/bin/env python
"""The usual way a call-transcription pipeline is assembled (WhisperX-style), for comparison:
faster-whisper on the mono mix, pyannote speaker diarization on the same mix, then each word
to the speaker whose turn overlaps it most. Run it with an interpreter that has pyannote.audio
and faster-whisper (callqa's ``diarize`` extra):

    /path/to/venv-with-pyannote/bin/python bench/baseline.py bench/workload/calls/*.mp3 \\
        --diarization models/diarization [--asr transcribe|batched]

One process, all cores (``--threads``); the model and the diarization pipeline are loaded once.
Per call: decode the stereo file to a 16 kHz mono mix (faster-whisper's ``decode_audio``), ASR with
callqa's model, compute type, beam size and language, word timestamps, and faster-whisper's own
VAD filter with its default settings (its normal use); ``--asr batched`` uses
``BatchedInferencePipeline`` (batch 8) as WhisperX does. Diarization: ``--diarization`` is a
pyannote pipeline folder (``config.yaml``), a Hugging Face pipeline name (token in ``HF_TOKEN``),
or a folder of the local weights callqa's diarization assembles its pipeline from
(``python -m pipeline.speakers.weights``: pyannote segmentation + Resemblyzer embeddings,
agglomerative clustering), run with pyannote's default segmentation step (0.1) and two speakers.
Prints one JSON object: wall time, time per stage, words, speaker turns.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def load_diarization(source: str, step: float):
    from pyannote.audio import Pipeline

    folder = Path(source)
    if (folder / "config.yaml").is_file() or not folder.exists():
        return Pipeline.from_pretrained(source if folder.exists() else source, token=os.environ.get("HF_TOKEN")), "pyannote pipeline"
    try:
        from pipeline.speakers.pyannote_compat import local_pipeline
    except ImportError as exc:
        raise SystemExit(f"{folder}: local weights need callqa's pipeline.speakers.pyannote_compat (the diarize branch): {exc}")
    pipeline = local_pipeline(folder / "segmentation/pytorch_model.bin", folder / "embedding/resemblyzer.pt",
                              step=step, segmentation_threshold=0.5, clustering_threshold=0.7, min_cluster_size=12)
    return pipeline, "local weights (pyannote segmentation + Resemblyzer, agglomerative clustering)"


def assign(words: list[dict], turns: list[tuple[float, float, str]]) -> list[dict]:
    """Each word to the speaker overlapping it most; a word in no turn to the nearest turn."""
    out = []
    for word in words:
        held: dict[str, float] = {}
        for start, end, speaker in turns:
            overlap = min(word["end"], end) - max(word["start"], start)
            if overlap > 0:
                held[speaker] = held.get(speaker, 0.0) + overlap
        if held:
            speaker = max(held, key=held.get)
        elif turns:
            speaker = min(turns, key=lambda t: max(t[0] - word["end"], word["start"] - t[1]))[2]
        else:
            speaker = None
        out.append({**word, "speaker": speaker})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--diarization", default=str(REPO / "models" / "diarization"))
    parser.add_argument("--asr", choices=["transcribe", "batched"], default="transcribe")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--step", type=float, default=0.1, help="segmentation step (pyannote's default 0.1)")
    parser.add_argument("--compat-from", type=Path, default=None,
                        help="a callqa checkout whose pipeline/ holds pyannote_compat.py (before the diarize branch is merged)")
    args = parser.parse_args()
    if args.compat_from:
        import pipeline

        pipeline.__path__.append(str(args.compat_from / "pipeline"))
    os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")

    started = time.perf_counter()
    import torch
    from faster_whisper import BatchedInferencePipeline, WhisperModel, decode_audio

    from pipeline.asr.engine import resolve_model
    from pipeline.config import load_settings

    torch.set_num_threads(args.threads)
    settings = load_settings(None)["asr"]
    model = WhisperModel(resolve_model(settings["model"]).location, device="cpu", compute_type=settings["compute_type"],
                         cpu_threads=args.threads)
    batched = BatchedInferencePipeline(model) if args.asr == "batched" else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        diarization, how = load_diarization(args.diarization, args.step)
    load = time.perf_counter() - started

    totals = {"decode_s": 0.0, "asr_s": 0.0, "diarization_s": 0.0, "assign_s": 0.0}
    words_total, turns_total, per_call = 0, 0, []
    for path in args.files:
        t = time.perf_counter()
        mix = decode_audio(path)  # mono, 16 kHz
        totals["decode_s"] += (decode := time.perf_counter() - t)
        t = time.perf_counter()
        options = dict(language="en", beam_size=settings["beam_size"], word_timestamps=True, vad_filter=True)
        segments, _ = batched.transcribe(mix, batch_size=8, **options) if batched else model.transcribe(mix, **options)
        words = [{"start": w.start, "end": w.end, "text": w.word} for s in segments for w in (s.words or [])]
        totals["asr_s"] += (asr := time.perf_counter() - t)
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            output = diarization({"waveform": torch.from_numpy(mix)[None], "sample_rate": 16000},
                                 min_speakers=2, max_speakers=2)
        annotation = getattr(output, "exclusive_speaker_diarization", None) or getattr(output, "speaker_diarization", output)
        turns = [(s.start, s.end, str(label)) for s, _, label in annotation.itertracks(yield_label=True)]
        totals["diarization_s"] += (diarize := time.perf_counter() - t)
        t = time.perf_counter()
        labelled = assign(words, turns)
        totals["assign_s"] += (assigned := time.perf_counter() - t)
        words_total += len(labelled)
        turns_total += len(turns)
        per_call.append({"file": path, "seconds": len(mix) / 16000, "decode_s": decode, "asr_s": asr,
                         "diarization_s": diarize, "assign_s": assigned, "words": len(labelled), "turns": len(turns)})
        print(f"{Path(path).name}: asr {asr:.1f} s, diarization {diarize:.1f} s", file=sys.stderr, flush=True)
    wall = time.perf_counter() - started
    print(json.dumps({"asr_mode": args.asr, "diarization": how, "step": args.step, "threads": args.threads,
                      "wall_s": wall, "load_s": load, **totals, "words": words_total, "turns": turns_total,
                      "per_call": per_call}))


if __name__ == "__main__":
    main()
