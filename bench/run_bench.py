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
import os
import shutil
import sqlite3
import sys
import tempfile
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
    return {"wall_s": run.wall, "cpu_s": run.cpu, "db": str(db), "peak_worker_mb": workers_peak,
            "peak_main_mb": run.peak("main")}


def asr_only(files: list[str], workers: int, mode: str, batch_size: int | None) -> dict:
    command = [PYTHON, str(HERE / "asr_only.py"), *files, "--workers", str(workers), "--mode", mode,
               *(["--batch-size", str(batch_size)] if batch_size else [])]
    run = run_monitored(command)
    if run.returncode != 0:
        raise SystemExit(f"asr_only failed ({run.returncode}):\n{run.stderr[-3000:]}")
    return json.loads(run.stdout)


def baseline(python: str, files: list[str], threads: int, extra: list[str]) -> dict:
    command = [python, str(HERE / "baseline.py"), *files, "--threads", str(threads), *extra]
    run = run_monitored(command)
    if run.returncode != 0:
        raise SystemExit(f"baseline failed ({run.returncode}):\n{run.stderr[-3000:]}")
    result = json.loads(run.stdout)
    result["script_wall_s"] = result["wall_s"]
    result["wall_s"] = run.wall  # the whole command, start-up included, as for callqa
    result["cpu_s"] = run.cpu
    result["peak_mb"] = run.peak("main")
    return result


def distinct_copy(row: tuple, number: int) -> tuple:
    """A stored transcript row as another call: a new audio hash, and every turn of four words or
    more made unique (a reference number appended), as no two real calls say the same sentences;
    short turns ("Okay.", "Thank you.") stay as they are, as they do repeat in real calls."""
    audio_sha256, asr_key, text, created_at = row
    data = json.loads(text)
    for index, turn in enumerate(data["turns"]):
        if len(turn["text"].split()) >= 4:
            turn["text"] += f" Reference {number} {index}."
    data["audio_sha256"] = f"{number:06d}{audio_sha256[6:]}"
    return data["audio_sha256"], asr_key, json.dumps(data, ensure_ascii=False, separators=(",", ":")), created_at


def rescore(source_db: Path, calls: int, tmp: Path, workers: int = 1) -> dict:
    """A store of ``calls`` audited calls (the source store's transcripts, repeated under new
    hashes, each with its call row as a batch leaves it); time ``callqa rescore --force --workers N``
    on it, and on an empty store for the start-up cost."""
    rows = sqlite3.connect(source_db).execute("SELECT audio_sha256, asr_key, json, created_at FROM transcripts").fetchall()
    db = tmp / "rescore.sqlite"
    empty = tmp / "rescore_empty.sqlite"
    for stale in [*tmp.glob("rescore.sqlite*"), *tmp.glob("rescore_empty.sqlite*")]:
        stale.unlink()
    from pipeline.store import Store

    Store(db).close()
    Store(empty).close()
    copies = [distinct_copy(rows[i % len(rows)], i) for i in range(calls)]
    connection = sqlite3.connect(db)
    with connection:
        connection.executemany("INSERT INTO transcripts VALUES (?, ?, ?, ?)", copies)
        connection.executemany(
            "INSERT INTO calls (key, status, path, call_id, audio_sha256, spec_name, spec_version, asr_key,"
            " call_time, audited_at) VALUES (?, 'done', ?, ?, ?, 'en', 'previous', ?, ?, ?)",
            [(f"{sha}:previous:{asr}", f"/archive/{sha[:8]}.mp3", sha[:8], sha, asr, created, created)
             for sha, asr, _, created in copies])
    connection.close()
    turns = sum(len(json.loads(r[2])["turns"]) for r in rows) / len(rows)
    startup = run_monitored([*CALLQA, "rescore", "--db", str(empty), "--force", "--quiet", "--workers", str(workers)])
    run = run_monitored([*CALLQA, "rescore", "--db", str(db), "--force", "--quiet", "--workers", str(workers)])
    if run.returncode != 0:
        raise SystemExit(f"callqa rescore failed ({run.returncode}):\n{run.stderr[-3000:]}")
    stored = sqlite3.connect(db).execute(
        "SELECT count(*) FROM calls WHERE status = 'done' AND spec_version != 'previous'").fetchone()[0]
    assert stored == calls, f"rescore stored {stored} calls of {calls}"
    return {"calls": calls, "workers": workers, "turns_per_call": turns, "wall_s": run.wall, "cpu_s": run.cpu,
            "startup_s": startup.wall, "startup_cpu_s": startup.cpu,
            "calls_per_s": calls / run.wall, "calls_per_s_after_startup": calls / max(1e-9, run.wall - startup.wall),
            "peak_mb": run.peak("main")}


def fmt(value, spec=".2f", unit=""):
    return "–" if value is None else f"{value:{spec}}{unit}"


def loadavg() -> float:
    with open("/proc/loadavg") as handle:
        return float(handle.read().split()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of e2e and of the first ASR-only mode (medians reported); other modes run once")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--asr-modes", nargs="+", choices=["batched", "transcribe"], default=["batched", "transcribe"],
                        help="faster-whisper called directly: BatchedInferencePipeline (callqa's own setting, "
                             "asr.batch_size) and/or WhisperModel.transcribe")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="batch size of the batched ASR-only mode (default: callqa's asr.batch_size)")
    parser.add_argument("--baseline-python", default=None,
                        help="interpreter with pyannote.audio and faster-whisper for the baseline part")
    parser.add_argument("--baseline-arg", action="append", default=[],
                        help="passed on to bench/baseline.py (repeatable), e.g. --baseline-arg=--diarization=DIR")
    parser.add_argument("--rescore-calls", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=None, help="use only the first N workload calls")
    parser.add_argument("--scaling-max", type=float, default=None, help="leave out scaling calls longer (minutes)")
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
                     "command": " ".join(sys.argv), "calls": len(calls), "audio_minutes": minutes,
                     "parts": args.parts, "runs": {}, "load": []}
    log(f"{len(calls)} calls, {minutes:.1f} min of audio; {results['machine']}; scratch {tmp}")
    runs = results["runs"]

    def record(key: str, run: dict, label: str) -> None:
        run["load_before"] = load_before
        run["load_after"] = loadavg()
        results["load"] += [run["load_before"], run["load_after"]]
        runs.setdefault(key, []).append(run)
        log(f"  {label}: {run['wall_s']:.1f} s wall, {run.get('cpu_s', 0):.1f} s CPU, load {load_before:.1f}-{run['load_after']:.1f}")

    for repetition in range(args.repeat):
        for workers in args.workers:
            if "e2e" in args.parts:
                log(f"e2e, {workers} worker(s), run {repetition + 1}")
                load_before = loadavg()
                record(f"e2e_{workers}", e2e(folder, workers, tmp, f"e2e{workers}"), "e2e")
            if "asr" in args.parts:
                for number, mode in enumerate(args.asr_modes):
                    if number and repetition:
                        continue
                    log(f"ASR only ({mode}), {workers} worker(s), run {repetition + 1}")
                    load_before = loadavg()
                    record(f"asr_{mode}_{workers}", asr_only(files, workers, mode, args.batch_size), "ASR only")

    if "baseline" in args.parts:
        if not args.baseline_python:
            log("baseline skipped: give --baseline-python (an interpreter with pyannote.audio and faster-whisper)")
            results["baseline_missing"] = "no --baseline-python given"
        else:
            log("baseline: faster-whisper on the mono mix + pyannote diarization + words to speakers, 1 process")
            load_before = loadavg()
            record("baseline", baseline(args.baseline_python, files, os.cpu_count(), args.baseline_arg), "baseline")

    if "rescore" in args.parts:
        source = Path(runs["e2e_1"][-1]["db"]) if runs.get("e2e_1") else None
        if source is None:
            log("rescore: running the e2e batch once for its stored transcripts")
            source = Path(e2e(folder, max(args.workers), tmp, "e2e_for_rescore")["db"])
        for workers in args.workers:
            log(f"rescore of {args.rescore_calls} stored calls, {workers} worker(s)")
            load_before = loadavg()
            record(f"rescore_{workers}", rescore(source, args.rescore_calls, tmp, workers), "rescore")

    if "scaling" in args.parts:
        for entry in data["scaling"]:
            if args.scaling_max and entry["duration"] / 60 > args.scaling_max:
                continue
            single = tmp / f"scaling_{Path(entry['path']).stem}"
            single.mkdir(exist_ok=True)
            link = single / Path(entry["path"]).name
            if not link.exists():
                link.symlink_to(entry["path"])
            log(f"scaling: {entry['file']} ({entry['duration'] / 60:.1f} min)")
            load_before = loadavg()
            run = e2e(single, 1, tmp, f"scale_{link.stem}")
            asr = asr_only([entry["path"]], 1, args.asr_modes[0], args.batch_size)
            record("scaling", {"file": entry["file"], "minutes": entry["duration"] / 60, "wall_s": run["wall_s"],
                               "cpu_s": run["cpu_s"], "peak_worker_mb": run["peak_worker_mb"], "asr_s": asr["wall_s"],
                               "asr_cpu_s": asr["cpu_s"]}, "e2e")

    out = HERE / "results" / f"{datetime.now():%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(report(results, args.workers, args.asr_modes))
    print(f"\n(raw figures: {out.relative_to(REPO)})")
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)


def report(results: dict, ws: list[int], modes: list[str]) -> str:
    """The Markdown tables of a results document."""
    runs, minutes = results["runs"], results["audio_minutes"]
    repeats = max((len(v) for k, v in runs.items() if k.startswith("e2e")), default=1)
    load = results.get("load") or [0.0]
    lines = [f"Machine: {results['machine']}. Workload: {results['calls']} stereo calls, {minutes:.1f} min of audio "
             f"(bench/workload/calls). Medians of {repeats} run(s) for callqa and the first ASR-only mode. "
             f"Load average during the runs {min(load):.1f}-{max(load):.1f} (other jobs share this machine).", ""]
    header = " | ".join(f"{w} worker{'s' if w > 1 else ''}" for w in ws)
    lines += [f"| measure | {header} | target |", "|---|" + "---|" * len(ws) + "---|"]

    def cell(key, field="wall_s"):
        return median([r.get(field) for r in runs.get(key, [])])

    def row(name, values, target=""):
        lines.append(f"| {name} | " + " | ".join(values) + f" | {target} |")

    def ratio(a, b):
        return None if a is None or b is None else a / b

    if any(f"e2e_{w}" in runs for w in ws):
        row("callqa end-to-end (`callqa batch`), s per audio minute",
            [fmt(ratio(cell(f"e2e_{w}"), minutes), ".2f") + (f" ({minutes * 60 / cell(f'e2e_{w}'):.0f}x real time)"
                                                             if cell(f"e2e_{w}") else "") for w in ws])
    labels = {"batched": "faster-whisper `BatchedInferencePipeline`", "transcribe": "faster-whisper `WhisperModel.transcribe`"}
    for number, mode in enumerate(modes):
        if any(f"asr_{mode}_{w}" in runs for w in ws):
            row(f"ASR only, {labels[mode]}, s per audio minute", [fmt(ratio(cell(f"asr_{mode}_{w}"), minutes)) for w in ws])
            row(f"**end-to-end / ASR only** ({mode})", [fmt(ratio(cell(f"e2e_{w}"), cell(f"asr_{mode}_{w}"))) for w in ws],
                "≤ 1.15" if number == 0 else "")
    if any(f"e2e_{w}" in runs for w in ws) and f"asr_{modes[0]}_{ws[0]}" in runs:
        row(f"CPU seconds, end-to-end / ASR only ({modes[0]})",
            [fmt(ratio(cell(f"e2e_{w}", "cpu_s"), cell(f"asr_{modes[0]}_{w}", "cpu_s"))) for w in ws])
    if any(f"e2e_{w}" in runs for w in ws):
        row("**peak RSS per worker**, MB", [fmt(cell(f"e2e_{w}", "peak_worker_mb"), ".0f") for w in ws], "≤ 600")
    if "baseline" in runs:
        b = runs["baseline"][0]
        row("baseline: faster-whisper on the mono mix + pyannote + words to speakers, s per audio minute",
            [fmt(b["wall_s"] / minutes)] + ["(1 process)"] * (len(ws) - 1))
        row("  of which decoding / ASR / diarization / assignment, s",
            [f"{b['decode_s']:.0f} / {b['asr_s']:.0f} / {b['diarization_s']:.0f} / {b['assign_s']:.1f}"] + [""] * (len(ws) - 1))
        row("**baseline / callqa end-to-end**", [fmt(ratio(b["wall_s"], cell(f"e2e_{w}"))) for w in ws], "≥ 3")
    elif "baseline_missing" in results:
        row("baseline (mono mix: faster-whisper + pyannote)", [f"not measured: {results['baseline_missing']}"]
            + [""] * (len(ws) - 1), "≥ 3")
    if any(f"rescore_{w}" in runs for w in ws):
        first = next(runs[f"rescore_{w}"][0] for w in ws if f"rescore_{w}" in runs)
        row(f"**rescore**, calls per second ({first['calls']} stored calls of {first['turns_per_call']:.0f} turns)",
            [fmt(runs[f"rescore_{w}"][0]["calls_per_s"], ".0f") if f"rescore_{w}" in runs else "–" for w in ws], "≥ 200")
    if "scaling" in runs:
        s = runs["scaling"]
        lines += ["", "| call length | end-to-end s | s per audio minute | ASR only s | end-to-end / ASR only | peak RSS MB |",
                  "|---|---|---|---|---|---|"]
        for entry in s:
            lines.append(f"| {entry['minutes']:.1f} min | {entry['wall_s']:.1f} | {entry['wall_s'] / entry['minutes']:.2f} | "
                         f"{entry['asr_s']:.1f} | {entry['wall_s'] / entry['asr_s']:.2f} | {entry['peak_worker_mb']:.0f} |")
        if len(s) >= 2:
            a, b, r2 = linear_fit([e["minutes"] for e in s], [e["wall_s"] for e in s])
            lines.append(f"\nTime against call length: end-to-end = {a:.1f} s + {b:.2f} s x minutes, "
                         f"R squared {r2:.4f}.")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
