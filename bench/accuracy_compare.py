#!/usr/bin/env python
"""Side by side: results files of bench/accuracy.py run with different settings on the same set.

    python bench/accuracy_compare.py base=bench/results/accuracy-2026-12-06-base.json \\
        full=bench/results/accuracy-2026-12-06-full.json [--channels stereo]

Per item, false fails (expected pass or na, got fail) and false passes (expected fail, got
something else), and in all: the labelled statuses right, the false fails of the items that
require phrases, the forbidden-phrase fails on calls without one (invented), and the auditing time
per file (the same files in each run; compare runs of one machine and one sitting only).
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

# Items judged on phrases the agent must say (a false fail here is the text missing a phrase).
REQUIRED = ("opening.greeting", "opening.wait_apology", "hold.etiquette", "closing.anything_else", "closing.farewell",
            "courtesy.thanks_reply", "courtesy.apology", "courtesy.surname", "transfer.consent", "explain.confirm")
FORBIDDEN = ("forbidden.phrases",)


def load(path: Path, channels: str | None) -> list[dict]:
    rows = json.loads(path.read_text(encoding="utf-8"))["rows"]
    return [r for r in rows if channels is None or (r["channels"] == 2) == (channels == "stereo")]


def counts(rows: list[dict], items) -> tuple[int, int, int, int]:
    """false fails, not-fail labels, false passes, fail labels."""
    ff = nf = fp = f = 0
    for row in rows:
        for item in items:
            expected, got = row["expected"].get(item), row["got"].get(item)
            if expected is None:
                continue
            if expected == "fail":
                f += 1
                fp += got != "fail"
            else:
                nf += 1
                ff += got == "fail"
    return ff, nf, fp, f


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="label=results.json")
    parser.add_argument("--channels", choices=("stereo", "mono"))
    args = parser.parse_args()
    runs = {label: load(Path(path), args.channels) for label, path in (run.split("=", 1) for run in args.runs)}
    labels = list(runs)
    items = list(next(iter(runs.values()))[0]["expected"])
    print("| item | " + " | ".join(f"{label}: false fail / false pass" for label in labels) + " |")
    print("|---|" + "---|" * len(labels))
    for item in items:
        cells = []
        for label in labels:
            ff, nf, fp, f = counts(runs[label], [item])
            cells.append(f"{ff}/{nf} / {fp}/{f}" if f else f"{ff}/{nf} / –")
        if any(not c.startswith("0/") or " 0/" not in c and "–" not in c for c in cells):
            print(f"| `{item}` | " + " | ".join(cells) + " |")
    print()
    print("| | " + " | ".join(labels) + " |")
    print("|---|" + "---|" * len(labels))
    right = []
    for label in labels:
        rows = runs[label]
        good = sum(row["got"].get(i) == s for row in rows for i, s in row["expected"].items())
        total = sum(len(row["expected"]) for row in rows)
        right.append(f"{100 * good / total:.1f} % ({good}/{total})")
    print("| labelled statuses right | " + " | ".join(right) + " |")
    for title, items, cell in (
        ("false fails, items requiring phrases", REQUIRED, lambda ff, nf, fp, f: f"{ff} of {nf}"),
        ("false passes, items requiring phrases", REQUIRED, lambda ff, nf, fp, f: f"{fp} of {f}"),
        ("forbidden phrase fails on calls without one", FORBIDDEN, lambda ff, nf, fp, f: f"{ff} of {nf}"),
    ):
        print(f"| {title} | " + " | ".join(cell(*counts(runs[label], items)) for label in labels) + " |")
    cells = []
    for label in labels:
        seconds = [row["seconds"] for row in runs[label]]
        cells.append(f"{statistics.mean(seconds):.2f} s (total {sum(seconds):.0f} s)")
    print("| auditing time per file, mean | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
