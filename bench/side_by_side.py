#!/usr/bin/env python
"""What a setting costs: the same calls audited under two or more settings files, taking turns call
by call in one process, so that a loaded machine slows each of them alike.

    python bench/side_by_side.py base=off.yaml full= [--splits heldout] [--conditions clean all] [--rounds 2]

The labels take turns going first (a call's first audit runs a few per cent slower: measured, the
same settings twice, the second 2.5 % faster; with one order kept, a setting's cost moved by ten
points with the order). Each label=YAML is a settings file laid over the defaults (empty: the
defaults). The calls are the rendered stereo files of bench/accuracy.py's set (render them first
with bench/accuracy.py --render-only). Prints, per label, the wall time and the process CPU time
of its audits (the model loaded once per label, before timing), and their ratio to the first
label: per condition (when there are several) and for all the calls together.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import accuracy  # noqa: E402  (puts the repository first on the path)
from common import machine  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="label=settings.yaml (empty after = for the defaults)")
    parser.add_argument("--splits", nargs="+", default=["heldout"])
    parser.add_argument("--conditions", nargs="+", default=["clean", "all"])
    parser.add_argument("--rounds", type=int, default=1, help="audit every call this many times per label")
    parser.add_argument("--set", type=Path, default=accuracy.SET)
    args = parser.parse_args()
    files = accuracy.rendered_calls(args.set, args.splits, args.conditions)
    processors = {}
    for run in args.runs:
        label, _, config = run.partition("=")
        processors[label] = accuracy.load_processor(Path(config) if config else None)[0]
    # per (label, condition): wall s, CPU s, turns whose audio ASR decoded a second time, findings
    # decided with phrases checked against the audio
    figures: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0, 0, 0])
    first = files[0]
    for processor in processors.values():  # load every model before timing
        truth = json.loads(first.read_text(encoding="utf-8"))
        with contextlib.redirect_stderr(io.StringIO()):
            processor.audit(first.parent.parent / truth["file"], accuracy.metadata_of(truth))
    labels = list(processors)
    for round_ in range(args.rounds):
        for number, path in enumerate(files):
            truth = json.loads(path.read_text(encoding="utf-8"))
            audio = path.parent.parent / truth["file"]
            condition = path.parent.parent.name
            # Each call's first audit runs a few per cent slower (its file and buffers are cold):
            # the label that goes first turns round from call to call.
            turn = (number + round_) % len(labels)
            for label in labels[turn:] + labels[:turn]:
                processor = processors[label]
                started, started_cpu = time.perf_counter(), time.process_time()
                with contextlib.redirect_stderr(io.StringIO()):
                    call = processor.audit(audio, accuracy.metadata_of(truth))
                for key in ((label, condition), (label, "all calls")):
                    kept = figures[key]
                    kept[0] += time.perf_counter() - started
                    kept[1] += time.process_time() - started_cpu
                    kept[2] += sum(1 for turn in call.transcript.turns if turn.redecoded)
                    kept[3] += sum(1 for finding in call.result.findings if finding.decided == "audio")
    base = next(iter(processors))
    conditions = list(dict.fromkeys(path.parent.parent.name for path in files))
    print(f"{len(files)} stereo calls x {args.rounds} round(s), {machine()}")
    print("| calls | settings | wall s | CPU s | wall vs " + base + " | CPU vs " + base + " | turns decoded again | "
          "findings decided from the audio |")
    print("|---|---|---|---|---|---|---|---|")
    for condition in ([*conditions, "all calls"] if len(conditions) > 1 else ["all calls"]):
        calls = sum(1 for path in files if condition in ("all calls", path.parent.parent.name))
        for n, label in enumerate(processors):
            wall, cpu, redecoded, by_audio = figures[(label, condition)]
            base_wall, base_cpu = figures[(base, condition)][:2]
            print(f"| {f'{condition} ({calls})' if n == 0 else ''} | {label} | {wall:.1f} | {cpu:.1f} | "
                  f"{100 * (wall / base_wall - 1):+.1f} % | {100 * (cpu / base_cpu - 1):+.1f} % | "
                  f"{redecoded} | {by_audio} |")


if __name__ == "__main__":
    main()
