#!/usr/bin/env python
"""ASR only: faster-whisper called directly on each channel of the given stereo calls, with callqa's
model and settings: the compute floor that callqa's end-to-end time is compared with.

    python bench/asr_only.py bench/workload/calls/*.mp3 --workers 2 --mode transcribe

Each of ``--workers`` processes loads the model once (CPU threads divided as callqa's batch divides
them), decodes its share of the calls (LPT by duration) *before* the clock starts, waits for the
others, then transcribes its share; the figure is the wall time from the common start to the last
worker's end. Model loading and decoding are excluded, so the comparison is strict.

``--mode transcribe``: ``WhisperModel.transcribe(channel, vad_filter=True, ...)``, faster-whisper's
usual call. ``--mode batched``: ``BatchedInferencePipeline.transcribe(..., batch_size=N)``, N callqa's
``asr.batch_size`` unless ``--batch-size``. Both use
callqa's language, beam size, word timestamps, condition_on_previous_text=False, and callqa's VAD
settings, with ``speech_pad_ms`` widened by ``asr.region_padding`` so faster-whisper transcribes the
same stretches of audio callqa does. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def fw_options(settings: dict, language: str) -> dict:
    vad = settings["vad"]
    return {
        "language": language.split("-")[0],
        "beam_size": settings["asr"]["beam_size"],
        "word_timestamps": True,
        "condition_on_previous_text": False,
        "vad_filter": True,
        "vad_parameters": {
            "threshold": vad["threshold"],
            "min_speech_duration_ms": vad["min_speech_duration_ms"],
            "min_silence_duration_ms": vad["min_silence_duration_ms"],
            "speech_pad_ms": int(vad["speech_pad_ms"] + 1000 * settings["asr"]["region_padding"]),
        },
    }


def worker(index: int, files: list[str], workers: int, mode: str, batch_size: int, barrier, results) -> None:
    from faster_whisper import BatchedInferencePipeline, WhisperModel, decode_audio

    from audits.spec import load_spec
    from pipeline.asr.engine import resolve_model
    from pipeline.batch.executors import worker_settings
    from pipeline.config import load_settings

    settings = worker_settings(load_settings(None), workers)
    asr = settings["asr"]
    started = time.perf_counter()
    model = WhisperModel(resolve_model(asr["model"]).location, device=asr["device"],
                         compute_type=asr["compute_type"], cpu_threads=asr["cpu_threads"])
    load = time.perf_counter() - started
    started = time.perf_counter()
    audio = [decode_audio(path, split_stereo=True) for path in files]
    decode = time.perf_counter() - started
    options = fw_options(settings, load_spec(settings["spec"]).language)
    batch_size = batch_size or settings["asr"].get("batch_size") or 8
    pipeline = BatchedInferencePipeline(model) if mode == "batched" else None
    barrier.wait()
    started = time.perf_counter()
    cpu_started = time.process_time()
    words, seconds_after_vad = 0, 0.0
    for channels in audio:
        for channel in channels:
            if pipeline is not None:
                segments, info = pipeline.transcribe(channel, batch_size=batch_size, **options)
            else:
                segments, info = model.transcribe(channel, **options)
            words += sum(len(segment.words or []) for segment in segments)
            seconds_after_vad += info.duration_after_vad
    transcribe = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    results.put({"worker": index, "calls": len(files), "load_s": load, "decode_s": decode, "transcribe_s": transcribe,
                 "transcribe_cpu_s": cpu,
                 "finished_at": time.time(), "words": words, "seconds_after_vad": seconds_after_vad,
                 "cpu_threads": asr["cpu_threads"], "batch_size": batch_size if mode == "batched" else None,
                 "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--mode", choices=["transcribe", "batched"], default="transcribe")
    parser.add_argument("--batch-size", type=int, default=None, help="batched mode (default: callqa's asr.batch_size)")
    args = parser.parse_args()

    from bench.common import partition, seconds

    durations = {path: seconds(path) for path in args.files}
    shares = [share for share in partition(args.files, durations.get, args.workers) if share]
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(shares) + 1)
    results = context.Queue()
    processes = [context.Process(target=worker, args=(i, share, args.workers, args.mode, args.batch_size, barrier, results))
                 for i, share in enumerate(shares)]
    for process in processes:
        process.start()
    barrier.wait()
    started = time.time()
    per_worker = [results.get() for _ in processes]
    for process in processes:
        process.join()
    wall = max(r["finished_at"] for r in per_worker) - started
    print(json.dumps({"mode": args.mode, "workers": args.workers, "batch_size": per_worker[0]["batch_size"], "wall_s": wall,
                      "cpu_s": sum(r["transcribe_cpu_s"] for r in per_worker),
                      "calls": len(args.files), "words": sum(r["words"] for r in per_worker),
                      "seconds_after_vad": sum(r["seconds_after_vad"] for r in per_worker),
                      "per_worker": sorted(per_worker, key=lambda r: r["worker"])}))


if __name__ == "__main__":
    main()
