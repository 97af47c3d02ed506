#!/usr/bin/env python
"""What a setting costs end to end: the nightly batch itself (`callqa batch`: start-up, model
loading, workers, store, reports) on the same calls under two settings files, run after run.

    python bench/batch_side_by_side.py base=off.yaml full= [--splits heldout] [--conditions clean all]
        [--workers 2] [--rounds 2] [--mono]

Each label=YAML is a settings file laid over the defaults (empty: the defaults). The calls are the
rendered stereo files (``--mono``: the mono mixes) of bench/accuracy.py's set (render them first
with bench/accuracy.py --render-only), linked into one folder. Each round runs every label once in
one order and once in the reverse (A B B A: a machine that speeds up or slows down over the run
weighs on both alike), each time into a fresh store. Prints, per label, the mean wall time of a
batch and the mean CPU time of the batch and its workers, and their ratio to the first label.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import accuracy  # noqa: E402  (puts the repository first on the path)
from common import machine  # noqa: E402

CALLQA = Path(sys.executable).parent / "callqa"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="label=settings.yaml (empty after = for the defaults)")
    parser.add_argument("--splits", nargs="+", default=["heldout"])
    parser.add_argument("--conditions", nargs="+", default=["clean", "all"])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2, help="A B B A this many times")
    parser.add_argument("--set", type=Path, default=accuracy.SET)
    parser.add_argument("--mono", action="store_true", help="the mono mixes instead of the stereo calls")
    args = parser.parse_args()
    labels = dict(run.partition("=")[::2] for run in args.runs)
    with tempfile.TemporaryDirectory(prefix="callqa-batch-bench-") as scratch:
        calls = Path(scratch) / "calls"
        calls.mkdir()
        for truth in accuracy.rendered_calls(args.set, args.splits, args.conditions, args.mono):
            audio = truth.parent.parent / json.loads(truth.read_text(encoding="utf-8"))["file"]
            condition, split = truth.parent.parent.name, truth.parent.parent.parent.name
            (calls / f"{split}_{condition}_{audio.name}").symlink_to(audio.resolve())
        count = sum(1 for _ in calls.iterdir())
        wall = {label: [] for label in labels}
        cpu = {label: [] for label in labels}
        order = list(labels)
        for _ in range(args.rounds):
            for label in order + order[::-1]:
                seconds, cpu_seconds = _batch(calls, Path(scratch) / label, labels[label], args.workers)
                wall[label].append(seconds)
                cpu[label].append(cpu_seconds)
                print(f"{label}: {seconds:.1f} s wall, {cpu_seconds:.1f} s CPU", file=sys.stderr)
    base = order[0]
    mean = {label: (sum(wall[label]) / len(wall[label]), sum(cpu[label]) / len(cpu[label])) for label in labels}
    kind = "mono" if args.mono else "stereo"
    print(f"{count} {kind} calls, `callqa batch --workers {args.workers}`, {2 * args.rounds} batches per label "
          f"(A B B A), {machine()}")
    print(f"| settings | wall s per batch | CPU s per batch | wall vs {base} | CPU vs {base} |")
    print("|---|---|---|---|---|")
    for label, (seconds, cpu_seconds) in mean.items():
        print(f"| {label} | {seconds:.1f} | {cpu_seconds:.1f} | {100 * (seconds / mean[base][0] - 1):+.1f} % | "
              f"{100 * (cpu_seconds / mean[base][1] - 1):+.1f} % |")


def _batch(calls: Path, folder: Path, config: str, workers: int) -> tuple[float, float]:
    """One batch into a fresh store: (wall s, CPU s of the batch and every process it waited for)."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    command = [str(CALLQA), "batch", str(calls), "--workers", str(workers), "--db", str(folder / "qa.sqlite"),
               "--out", str(folder / "reports"), "--quiet"] + (["--config", config] if config else [])
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    run = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(accuracy.REPO)})
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if run.returncode not in (0, 1):
        sys.exit(f"callqa batch exited {run.returncode}: {run.stderr[-2000:]}")
    return seconds, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


if __name__ == "__main__":
    main()
