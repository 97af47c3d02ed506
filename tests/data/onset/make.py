#!/usr/bin/env python
"""How the recording of this folder was made (it is committed; rerun to remake it).

    python bench/hold_corners.py      # renders bench/accuracy_set/corners/ (espeak-ng, ffmpeg)
    python tests/data/onset/make.py

One of bench/hold_corners.py's calls (dev voices, never the held-out ones; agent left), its
Ogg packets copied as they are, from the answer to three seconds into the agent's "Thank you
for waiting." after a 15.6 s hold: white noise at 14 dB SNR, lost packets, clipping, mu-law.
Silero is deaf to the first 0.7 s of those words. It carries its state through the call: cut
from 10 s on, the same audio is heard from 31.18 s, so the cut starts at the call's start.
tests/test_activity.py times the agent's resumption on it; ONSET is where the words start (the
rendering's ground truth).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parents[2] / "bench" / "accuracy_set" / "corners" / "a2c0_white14_quieter6" / "en_07_hold_permission.ogg"
SECONDS = 34.0
ONSET = 31.101


def main() -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-t", str(SECONDS), "-i", str(SOURCE), "-c:a", "copy",
                    str(HERE / "resume_white.ogg")], check=True)


if __name__ == "__main__":
    main()
