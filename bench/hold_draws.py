#!/usr/bin/env python
"""The hold calls drawn many times: the study set of the hold hint (``asr.spec_prompt: key_turns``).

    python bench/hold_draws.py [--draws 8] [--config YAML]

en_07 (a consented hold: must pass), en_08 (a wait announced without asking: hold.etiquette must
fail) and en_09 (13 s of dead air: silence.dead_air must fail), each spoken by voices drawn from
the dev voices (the whispering one left out: Silero cannot hear it at all), under every
impairment at once, ``--draws`` times (each draw its own voices, speeds and impairments), stereo
and en_07 as a mono mix too. Dev voices only: nothing here comes from the held-out split. Prints
each call's wrong statuses and hold edges, then the wrong statuses per item. Renders under
bench/accuracy_set/holds/ on first use (needs flite, espeak-ng, ffmpeg, sox).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import accuracy

CALLS = ["en_07_hold_permission", "en_08_hold_no_permission", "en_09_dead_air"]
MONO = ["en_07_hold_permission"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--draws", type=int, default=8, help="how many times each call is drawn (default 8)")
    parser.add_argument("--config", type=Path, metavar="YAML", help="settings changed from the defaults")
    parser.add_argument("--set", type=Path, default=accuracy.SET / "holds", help="where the rendered calls go")
    args = parser.parse_args()

    customers = [voice for voice in accuracy.DEV_CUSTOMERS if "whisper" not in voice["name"]]
    splits = [f"devh{n}" for n in range(args.draws)]  # dev voices, a draw each
    for split in splits:
        accuracy.VOICES[split] = (accuracy.DEV_AGENTS, customers)
    entries = accuracy.render({split: ["all"] for split in splits}, CALLS, MONO, ["all"], args.set)
    processor, settings = accuracy.load_processor(args.config)
    wrong: Counter[str] = Counter()
    statuses = 0
    for entry in entries:
        _, row = accuracy.audit_truth(entry["truth"], processor, settings)
        missed = [item for item, want in row["expected"].items() if row["got"][item] != want]
        wrong.update(missed)
        statuses += len(row["expected"])
        edges = ", ".join(f"{edge:.2f}" for edge in row["timing"]["hold_edges"]) or "no hold"
        print(f"{entry['split']:8} {entry['truth'].stem:30} hold edges {edges:12}  wrong: "
              + (", ".join(f"{item} {row['expected'][item]}→{row['got'][item]}" for item in missed) or "-"),
              flush=True)
    print(f"\n{len(entries)} calls, {statuses} statuses, {statuses - sum(wrong.values())} right "
          f"({100 * (statuses - sum(wrong.values())) / statuses:.1f} %)")
    print("| item | wrong |\n|---|---|")
    for item, count in wrong.most_common():
        print(f"| `{item}` | {count} |")


if __name__ == "__main__":
    sys.exit(main())
