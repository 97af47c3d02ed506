#!/usr/bin/env python
"""The hold calls drawn many times: the study set of the hold hint (``asr.spec_prompt: key_turns``).

    python bench/hold_draws.py [--draws 8] [--voices dev|study|named|diphone] [--config YAML]
    python bench/hold_draws.py --voices diphone --calls en_07_hold_permission --draws 16 --prefix kdx \
        --set bench/accuracy_set/xdraws        # README, Accuracy: "A leg Silero went deaf to"

en_07 (a consented hold: must pass), en_08 (a wait announced without asking: hold.etiquette must
fail) and en_09 (13 s of dead air: silence.dead_air must fail), each spoken by voices drawn from
the dev voices (``--voices study``, ``named``, ``diphone``: other pools, more looks), under every
impairment at once, ``--draws`` times (each draw its own voices, speeds and impairments), stereo
and en_07 as a mono mix too. No pool has a held-out voice: nothing here comes from the held-out split. Prints
each call's wrong statuses and hold edges, then the wrong statuses per item. Renders under
bench/accuracy_set/holds[-<voices>]/ on first use (needs flite, espeak-ng, ffmpeg, sox; the diphone
voices festival).
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
    parser.add_argument("--voices", choices=sorted(accuracy.HOLD_VOICES), default="dev",
                        help="the voice pool (default dev; bench/accuracy.py says which voices)")
    parser.add_argument("--set", type=Path, help="where the rendered calls go (default bench/accuracy_set/holds[-study])")
    parser.add_argument("--calls", nargs="+", choices=CALLS, default=CALLS, help="the calls drawn (default: all three)")
    parser.add_argument("--prefix", help="the draws' names, prefix + number: they seed the draws (default devh, "
                                         "<voices>h)")
    args = parser.parse_args()

    prefix = args.prefix or ("devh" if args.voices == "dev" else f"{args.voices}h")
    splits = [f"{prefix}{n}" for n in range(args.draws)]  # a draw each
    for split in splits:
        accuracy.VOICES[split] = accuracy.HOLD_VOICES[args.voices]
    root = args.set or accuracy.SET / ("holds" if args.voices == "dev" else f"holds-{args.voices}")
    entries = accuracy.render({split: ["all"] for split in splits}, args.calls, MONO, ["all"], root)
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
