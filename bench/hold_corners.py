#!/usr/bin/env python
"""The consented hold at the worst corners of the `all` impairments: is the customer's "Sure." heard?

    python bench/hold_corners.py [--voices dev|study|named|diphone] [--config YAML]

en_07 (a consented hold: the hold runs from the customer's one-word consent to the agent's thanks)
spoken by each pair of dev voices (``--voices study``, ``named``, ``diphone``: other pools, more looks),
under the hardest corners of the ranges `all` draws from rather than random draws: the customer's
noise white, pink or babble at 10 dB SNR with the customer's leg 12 dB quieter, or at 14 dB with it
6 dB quieter; both legs leaked into the other, G.711 (and GSM on the customer's leg), 3-5 % lost
packets, clipping. Stereo and the mono mix. No pool has a held-out voice: nothing here comes from the
held-out split. Prints each call's hold edges (seconds off the truth) and wrong statuses, then how many hold
edges are over 0.5 s and how many holds were not found. Renders under
bench/accuracy_set/corners[-<voices>]/ on first use (needs flite, espeak-ng, ffmpeg; the diphone
voices festival).
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import accuracy
from accuracy import make_samples

CALL = "en_07_hold_permission"
CORNERS = [(kind, snr, quieter) for kind in ("babble", "pink", "white") for snr, quieter in ((10, 12), (14, 6))]


def impairments(kind: str, snr: float, quieter: float) -> dict:
    return {
        "leak": {"agent_to_customer": {"gain_db": -12.0, "delay_ms": 60.0},
                 "customer_to_agent": {"gain_db": -15.0, "delay_ms": 120.0}},
        "noise": {"agent": {"snr_db": 20.0, "kind": "pink"}, "customer": {"snr_db": snr, "kind": kind}},
        "imbalance": {"customer_db": -quieter},
        "codec": {"agent": ["mulaw"], "customer": ["gsm", "mulaw"]},
        "loss": {"agent": {"rate": 0.03, "burst": 2.0}, "customer": {"rate": 0.05, "burst": 3.0}},
        "clip": {"agent": {"below_peak_db": 6.0}, "customer": {"below_peak_db": 3.0}},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, metavar="YAML", help="settings changed from the defaults")
    parser.add_argument("--voices", choices=sorted(accuracy.HOLD_VOICES), default="dev",
                        help="the voice pool (default dev; bench/accuracy.py says which voices)")
    parser.add_argument("--set", type=Path, help="where the rendered calls go (default bench/accuracy_set/corners[-study])")
    args = parser.parse_args()
    make_samples.require_tools()
    [script] = make_samples.load_scripts([CALL])
    agents, customers = accuracy.HOLD_VOICES[args.voices]
    root = args.set or accuracy.SET / ("corners" if args.voices == "dev" else f"corners-{args.voices}")
    processor, settings = accuracy.load_processor(args.config)
    late, missing, calls = 0, 0, 0
    for (a, agent), (c, customer) in itertools.product(enumerate(agents), enumerate(customers)):
        voices = {"agent": dict(agent, speed=accuracy.nominal_speed(agent, 130)),
                  "customer": dict(customer, speed=accuracy.nominal_speed(customer, 165))}
        composed = None
        for kind, snr, quieter in CORNERS:
            out = root / f"a{a}c{c}_{kind}{snr}_quieter{quieter}"
            if not (out / "truth" / f"{CALL}_mono.json").is_file():
                composed = composed or make_samples.compose(script, voices)
                make_samples.write_call(composed, out, impairments(kind, snr, quieter), accuracy.seed_of(out.name),
                                        mono=True)
            for stem in (CALL, f"{CALL}_mono"):
                _, row = accuracy.audit_truth(out / "truth" / f"{stem}.json", processor, settings)
                missed = [item for item, want in row["expected"].items() if row["got"][item] != want]
                edges = row["timing"]["hold_edges"]
                calls += 1
                late += any(edge > 0.5 for edge in edges)
                missing += not edges
                shown = ", ".join(f"{edge:.2f}" for edge in edges) or "no hold"
                print(f"{out.name:26} {'mono' if stem.endswith('mono') else 'stereo':6} hold edges {shown:12}  wrong: "
                      + (", ".join(f"{item} {row['expected'][item]}→{row['got'][item]}" for item in missed) or "-"),
                      flush=True)
    print(f"\n{calls} calls: a hold edge over 0.5 s in {late}, no hold found in {missing}")


if __name__ == "__main__":
    sys.exit(main())
