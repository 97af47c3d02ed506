#!/usr/bin/env python
"""What the leakage mask costs on a long stereo call, against another commit's, side by side; and
what looking for voiced replies costs on the same call.

    python bench/leakage_cost.py [--minutes 9.5] [--rounds 3] [--against REV]

A sample call (en_07) repeated to ``--minutes``, each leg leaked into the other (-24 dB at 50 ms,
-20 dB at 80 ms); Silero's regions found once; then ``own_voice`` (leak estimate and own-voice
frames, both legs) timed ``--rounds`` times in this process, alternating with the same function of
``pipeline/audio/leakage.py`` as it was at ``--against`` (default: HEAD, i.e. the work tree against
the last commit). Then ``voiced_runs`` in every reply span of both legs (three seconds after each
of the other leg's regions, less what either leg's regions hold) and, where it found any,
``voiced_background`` (the first 30 s of the call's quiet), timed as often. Prints CPU
seconds per call (medians), the ratio, and Silero's time for scale.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import REPO, machine

sys.path.insert(0, str(REPO))
from pipeline.audio import leakage  # noqa: E402
from pipeline.audio.activity import speech_regions  # noqa: E402
from pipeline.audio.decode import SAMPLE_RATE, decode, to_float  # noqa: E402
from pipeline.audio.voicing import voiced_background, voiced_runs  # noqa: E402
from pipeline.config import load_settings  # noqa: E402
from pipeline.measure import union  # noqa: E402
from pipeline.speakers.turns import deep_quiet, reply_spans  # noqa: E402


def module_at(revision: str):
    """pipeline/audio/leakage.py as it was at ``revision``, imported under another name."""
    source = subprocess.run(["git", "show", f"{revision}:pipeline/audio/leakage.py"], cwd=REPO, check=True,
                            capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "leakage_then.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("leakage_then", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["leakage_then"] = module
    spec.loader.exec_module(module)
    return module


def leaked(into: np.ndarray, source: np.ndarray, gain_db: float, delay_ms: float) -> np.ndarray:
    delay = round(delay_ms * SAMPLE_RATE / 1000)
    out = into.copy()
    out[delay:] += source[:len(source) - delay] * np.float32(10 ** (gain_db / 20))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=9.5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--against", default="HEAD",
                        help="git revision whose leakage.py is timed beside the work tree's")
    args = parser.parse_args()
    settings = load_settings()
    with decode(REPO / "sample_audio" / "en_07_hold_permission.ogg") as audio:
        agent, customer = (to_float(channel) for channel in audio.channels)
    repeats = int(np.ceil(args.minutes * 60 * SAMPLE_RATE / len(agent)))
    agent, customer = np.tile(agent, repeats), np.tile(customer, repeats)
    channels = [leaked(agent, customer, -20.0, 80.0), leaked(customer, agent, -24.0, 50.0)]
    started = time.process_time()
    regions = [speech_regions(channel, settings["vad"]) for channel in channels]
    silero = time.process_time() - started
    then = module_at(args.against)
    spent: dict[str, list[float]] = {"work tree": [], args.against: []}
    for _ in range(args.rounds):
        for name, module in (("work tree", leakage), (args.against, then)):
            started = time.process_time()
            module.own_voice(channels, regions, settings["leakage"])
            spent[name].append(time.process_time() - started)
    voices = leakage.own_voice(channels, regions, settings["leakage"])
    both = union(regions[0] + regions[1])
    spans = [reply_spans(regions[1 - c], both) for c in (0, 1)]
    quiet = deep_quiet(both, 0.0, len(agent) / SAMPLE_RATE)
    most_aperiodic = settings["vad"]["voiced_aperiodicity"]
    voicing = []
    for _ in range(args.rounds):
        started = time.process_time()
        for c in (0, 1):
            echo = None if voices[c] is None else voices[c].echo
            if voiced_runs(channels[c], spans[c], most_aperiodic, echo):  # as the pipeline does
                voiced_background(channels[c], quiet, most_aperiodic, echo)
        voicing.append(time.process_time() - started)
    now, before = (statistics.median(spent[name]) for name in ("work tree", args.against))
    print(f"{machine()}; a {len(agent) / SAMPLE_RATE / 60:.1f}-minute stereo call, median of {args.rounds}:")
    print(f"  own_voice, work tree:   {now:.3f} CPU-s")
    print(f"  own_voice, {args.against}: {before:.3f} CPU-s   (ratio {now / before:.2f})")
    print(f"  voicing, both legs:     {statistics.median(voicing):.3f} CPU-s"
          f"   ({sum(end - start for leg in spans for start, end in leg) / 60:.1f} min of reply spans)")
    print(f"  Silero, both legs:      {silero:.2f} CPU-s")


if __name__ == "__main__":
    main()
