#!/usr/bin/env python
"""callqa's benchmark: end-to-end batch vs faster-whisper alone vs the usual mono+pyannote baseline,
rescore throughput, peak memory per worker, time against call length. Prints a Markdown table.

    python bench/make_workload.py                          # once: bench/workload/ (about 1 min)
    python bench/run_bench.py                              # everything (about an hour on 2 cores)
    python bench/run_bench.py --parts e2e asr --repeat 3   # some parts, medians of 3 runs
    python bench/run_bench.py --baseline-python /work/venv-diarize/bin/python

Parts (all measured in this one run, side by side, on the same files):

- ``e2e``: ``callqa batch bench/workload/calls --workers N --force`` (reports included), N = 1 and 2;
  wall time of the whole command (start-up, model loading, decoding, everything) per audio minute,
  and the peak RSS of every worker process.
- ``asr``: ``bench/asr_only.py`` on the same calls and worker counts: faster-whisper called directly
  on each channel, model loading and decoding excluded (the compute floor); ratio e2e / ASR-only.
- ``baseline``: ``bench/baseline.py`` (run by ``--baseline-python``, an interpreter with
  pyannote.audio): faster-whisper on the mono mix + pyannote diarization + words to speakers;
  ratio baseline / callqa.
- ``rescore``: ``callqa rescore --force`` on a store holding ``--rescore-calls`` stored transcripts
  (the e2e run's transcripts, repeated under distinct audio hashes); calls per second.
- ``scaling``: the 1, 5, 20 and 60 minute calls one by one, e2e and ASR-only; a least-squares
  line of time against minutes and its R squared; peak memory per call length.

Results also go to ``bench/results/<date>.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import CALLQA, HERE, PYTHON, REPO, linear_fit, machine, manifest, median, run_monitored  # noqa: E402

PARTS = ("e2e", "asr", "baseline", "rescore", "scaling")


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def e2e(folder: Path, workers: int, tmp: Path, tag: str) -> dict:
    db = tmp / f"{tag}.sqlite"
    for stale in tmp.glob(f"{tag}.sqlite*"):
        stale.unlink()
    command = [*CALLQA, "batch", str(folder), "--workers", str(workers), "--db", str(db),
               "--out", str(tmp / f"{tag}_reports"), "--force", "--quiet"]
    run = run_monitored(command)
    if run.returncode != 0:
        raise SystemExit(f"callqa batch failed ({run.returncode}):\n{run.stderr[-3000:]}")
    workers_peak = run.peak("worker") if workers > 1 else run.peak("main")
    return {"wall_s": run.wall, "db": str(db), "peak_worker_mb": workers_peak, "peak_main_mb": run.peak("main")}


def asr_only(files: list[str], workers: int, mode: str, batch_size: int) -> dict:
    command = [PYTHON, str(HERE / "asr_only.py"), *files, "--workers", str(workers), "--mode", mode,
               "--batch-size", str(batch_size)]
    run = run_monitored(command)
    if run.returncode != 0:
        raise SystemExit(f"asr_only failed ({run.returncode}):\n{run.stderr[-3000:]}")
    return json.loads(run.stdout)


def baseline(python: str, files: list[str], threads: int) -> dict:
    command = [python, str(HERE / "baseline.py"), *files, "--threads", str(threads)]
    run = run_monitored(command)
    if run.returncode != 0:
        raise SystemExit(f"baseline failed ({run.returncode}):\n{run.stderr[-3000:]}")
    result = json.loads(run.stdout)
    result["command_wall_s"] = run.wall
    result["peak_mb"] = run.peak("main")
    return result


def rescore(source_db: Path, calls: int, tmp: Path) -> dict:
    """A store of ``calls`` transcripts (the source store's, repeated under new hashes); time
    ``callqa rescore --force`` on it, and on an empty store for the start-up cost."""
    rows = sqlite3.connect(source_db).execute("SELECT audio_sha256, asr_key, json, created_at FROM transcripts").fetchall()
    db = tmp / "rescore.sqlite"
    empty = tmp / "rescore_empty.sqlite"
    for stale in [*tmp.glob("rescore.sqlite*"), *tmp.glob("rescore_empty.sqlite*")]:
        stale.unlink()
    from pipeline.store import Store

    Store(db).close()
    Store(empty).close()
    connection = sqlite3.connect(db)
    with connection:
        connection.executemany(
            "INSERT INTO transcripts VALUES (?, ?, ?, ?)",
            [(f"{i:06d}{rows[i % len(rows)][0][6:]}", *rows[i % len(rows)][1:]) for i in range(calls)])
    connection.close()
    turns = sum(len(json.loads(r[2])["turns"]) for r in rows) / len(rows)
    startup = run_monitored([*CALLQA, "rescore", "--db", str(empty), "--force", "--quiet"])
    run = run_monitored([*CALLQA, "rescore", "--db", str(db), "--force", "--quiet"])
    if run.returncode != 0:
        raise SystemExit(f"callqa rescore failed ({run.returncode}):\n{run.stderr[-3000:]}")
    stored = sqlite3.connect(db).execute("SELECT count(*) FROM calls WHERE status = 'done'").fetchone()[0]
    assert stored == calls, f"rescore stored {stored} calls of {calls}"
    return {"calls": calls, "turns_per_call": turns, "wall_s": run.wall, "startup_s": startup.wall,
            "calls_per_s": calls / run.wall, "calls_per_s_after_startup": calls / max(1e-9, run.wall - startup.wall),
            "peak_mb": run.peak("main")}


def fmt(value, spec=".2f", unit=""):
    return "–" if value is None else f"{value:{spec}}{unit}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--repeat", type=int, default=1, help="runs of e2e and ASR-only (medians reported)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--asr-modes", nargs="+", choices=["transcribe", "batched"], default=["transcribe", "batched"])
    parser.add_argument("--batch-size", type=int, default=8, help="batch size of the batched ASR-only mode")
    parser.add_argument("--baseline-python", default=None,
                        help="interpreter with pyannote.audio and faster-whisper for the baseline part")
    parser.add_argument("--rescore-calls", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=None, help="use only the first N workload calls")
    parser.add_argument("--workload", type=Path, default=HERE / "workload")
    parser.add_argument("--keep", action="store_true", help="keep the temporary stores (printed)")
    args = parser.parse_args()

    data = manifest(args.workload)
    calls = data["calls"][: args.calls] if args.calls else data["calls"]
    files = [c["path"] for c in calls]
    minutes = sum(c["duration"] for c in calls) / 60
    tmp = Path(tempfile.mkdtemp(prefix="callqa-bench-"))
    folder = tmp / "calls"
    folder.mkdir()
    for path in files:
        (folder / Path(path).name).symlink_to(path)
    results: dict = {"machine": machine(), "started": datetime.now().isoformat(timespec="seconds"),
                     "calls": len(calls), "audio_minutes": minutes, "parts": args.parts, "runs": {}}
    log(f"{len(calls)} calls, {minutes:.1f} min of audio; {results['machine']}; scratch {tmp}")
    runs = results["runs"]

    for repetition in range(args.repeat):
        for workers in args.workers:
            if "e2e" in args.parts:
                log(f"e2e, {workers} worker(s), run {repetition + 1}")
                runs.setdefault(f"e2e_{workers}", []).append(e2e(folder, workers, tmp, f"e2e{workers}"))
                log(f"  {runs[f'e2e_{workers}'][-1]['wall_s']:.1f} s")
            if "asr" in args.parts:
                for mode in args.asr_modes:
                    log(f"ASR only ({mode}), {workers} worker(s), run {repetition + 1}")
                    runs.setdefault(f"asr_{mode}_{workers}", []).append(asr_only(files, workers, mode, args.batch_size))
                    log(f"  {runs[f'asr_{mode}_{workers}'][-1]['wall_s']:.1f} s")

    if "baseline" in args.parts:
        if not args.baseline_python:
            log("baseline skipped: give --baseline-python (an interpreter with pyannote.audio and faster-whisper)")
            results["baseline_missing"] = "no --baseline-python given"
        else:
            log("baseline: faster-whisper on the mono mix + pyannote diarization, 1 process")
            runs["baseline"] = [baseline(args.baseline_python, files, threads=__import__("os").cpu_count())]
            log(f"  {runs['baseline'][-1]['wall_s']:.1f} s")

    if "rescore" in args.parts:
        source = Path(runs["e2e_1"][-1]["db"]) if runs.get("e2e_1") else None
        if source is None:
            log("rescore: running the e2e batch once for its stored transcripts")
            source = Path(e2e(folder, max(args.workers), tmp, "e2e_for_rescore")["db"])
        log(f"rescore of {args.rescore_calls} stored calls")
        runs["rescore"] = [rescore(source, args.rescore_calls, tmp)]
        log(f"  {runs['rescore'][-1]['calls_per_s']:.0f} calls/s")

    if "scaling" in args.parts:
        for entry in data["scaling"]:
            single = tmp / f"scaling_{Path(entry['path']).stem}"
            single.mkdir(exist_ok=True)
            link = single / Path(entry["path"]).name
            if not link.exists():
                link.symlink_to(entry["path"])
            log(f"scaling: {entry['file']} ({entry['duration'] / 60:.1f} min)")
            run = e2e(single, 1, tmp, f"scale_{link.stem}")
            asr = asr_only([entry["path"]], 1, "transcribe", args.batch_size)
            runs.setdefault("scaling", []).append({"file": entry["file"], "minutes": entry["duration"] / 60,
                                                   "e2e_s": run["wall_s"], "peak_worker_mb": run["peak_worker_mb"],
                                                   "asr_s": asr["wall_s"]})
            log(f"  e2e {run['wall_s']:.1f} s, ASR only {asr['wall_s']:.1f} s, peak {run['peak_worker_mb']:.0f} MB")

    out = HERE / "results" / f"{datetime.now():%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(report(results, args))
    print(f"\n(raw figures: {out.relative_to(REPO)})")
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)


def report(results: dict, args) -> str:
    runs, minutes = results["runs"], results["audio_minutes"]
    lines = [f"Machine: {results['machine']}. Workload: {results['calls']} stereo calls, {minutes:.1f} min of audio "
             f"(bench/workload/calls). Medians of {args.repeat} run(s).", ""]
    header = " | ".join(f"{w} worker{'s' if w > 1 else ''}" for w in args.workers)
    lines += [f"| measure | {header} |", "|---|" + "---|" * len(args.workers)]

    def cell(key, field="wall_s"):
        return median([r[field] for r in runs.get(key, [])])

    def per_min(value):
        return None if value is None else value / minutes

    row = lambda name, values: lines.append(f"| {name} | " + " | ".join(values) + " |")  # noqa: E731
    ws = args.workers
    if any(f"e2e_{w}" in runs for w in ws):
        row("callqa end-to-end batch, s per audio minute", [fmt(per_min(cell(f"e2e_{w}")), ".2f") for w in ws])
        row("callqa end-to-end, wall s (x real time)",
            [fmt(cell(f'e2e_{w}'), '.0f') + (f" ({minutes * 60 / cell(f'e2e_{w}'):.0f}x)" if cell(f'e2e_{w}') else "")
             for w in ws])
    for mode in args.asr_modes:
        if any(f"asr_{mode}_{w}" in runs for w in ws):
            label = {"transcribe": "WhisperModel.transcribe", "batched": "BatchedInferencePipeline"}[mode]
            row(f"ASR only ({label}), s per audio minute", [fmt(per_min(cell(f"asr_{mode}_{w}")), ".2f") for w in ws])
            row(f"ratio end-to-end / ASR only ({label})",
                [fmt(cell(f"e2e_{w}") / cell(f"asr_{mode}_{w}") if cell(f"e2e_{w}") and cell(f"asr_{mode}_{w}") else None,
                     ".2f") for w in ws])
    if any(f"e2e_{w}" in runs for w in ws):
        row("peak RSS per worker, MB", [fmt(cell(f"e2e_{w}", "peak_worker_mb"), ".0f") for w in ws])
    if "baseline" in runs:
        b = runs["baseline"][0]
        row("baseline (mono mix: faster-whisper + pyannote), s per audio minute",
            [fmt(per_min(b["wall_s"]), ".2f")] + ["–"] * (len(ws) - 1))
        row("  of which ASR / diarization / assignment, s",
            [f"{b['asr_s']:.0f} / {b['diarization_s']:.0f} / {b['assign_s']:.1f}"] + ["–"] * (len(ws) - 1))
        row("ratio baseline / callqa", [fmt(b["wall_s"] / cell("e2e_1") if cell("e2e_1") else None, ".2f"),
                                        fmt(b["wall_s"] / cell(f"e2e_{ws[-1]}") if cell(f"e2e_{ws[-1]}") else None, ".2f")
                                        + " (vs 1 baseline process)"])
    elif "baseline_missing" in results:
        row("baseline (mono mix: faster-whisper + pyannote)",
            [f"not measured: {results['baseline_missing']}"] + ["–"] * (len(ws) - 1))
    if "rescore" in runs:
        r = runs["rescore"][0]
        row(f"rescore, calls per second ({r['calls']} stored calls, {r['turns_per_call']:.0f} turns each)",
            [f"{r['calls_per_s']:.0f} ({r['calls_per_s_after_startup']:.0f} after {r['startup_s']:.1f} s start-up)"]
            + ["–"] * (len(ws) - 1))
    if "scaling" in runs:
        s = runs["scaling"]
        lines += ["", "| call length | end-to-end s | s per audio minute | ASR only s | end-to-end / ASR only | peak RSS MB |",
                  "|---|---|---|---|---|---|"]
        for entry in s:
            lines.append(f"| {entry['minutes']:.1f} min | {entry['e2e_s']:.1f} | {entry['e2e_s'] / entry['minutes']:.2f} | "
                         f"{entry['asr_s']:.1f} | {entry['e2e_s'] / entry['asr_s']:.2f} | {entry['peak_worker_mb']:.0f} |")
        if len(s) >= 2:
            a, b, r2 = linear_fit([e["minutes"] for e in s], [e["e2e_s"] for e in s])
            lines.append(f"\nTime against call length: e2e = {a:.1f} s + {b:.2f} s x minutes, R squared {r2:.4f}.")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
