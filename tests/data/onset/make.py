#!/usr/bin/env python
"""How the recording of this folder was made (it is committed; rerun to remake it).

    python bench/hold_corners.py                   # renders bench/accuracy_set/corners/ (espeak-ng, ffmpeg)
    python bench/hold_corners.py --voices study    # renders bench/accuracy_set/corners-study/ (flite too)
    python bench/accuracy.py --render-only         # renders bench/accuracy_set/tuning/ (and the rest)
    python tests/data/onset/make.py               # needs festival festvox-kdlpc16k too

Calls of bench/hold_corners.py (dev and study voices, never the held-out ones; agent left), their
Ogg packets copied as they are (a mono mix: its samples, as FLAC), from the answer to a few
seconds into the agent's "Thank you for waiting." after the hold; and one tuning call's mono mix,
its MP3 frames copied:

- resume_white.ogg: white noise at 14 dB SNR, lost packets, clipping, mu-law. Silero is deaf to
  the first 0.7 s of the agent's resumption. It carries its state through the call: cut from 10 s
  on, the same audio is heard from 31.18 s, so the cut starts at the call's start.
  tests/test_activity.py times the resumption on it; ONSET is where the words start (the
  rendering's ground truth).
- consent_babble.ogg: flite's slt as the caller, 6 dB quieter, under babble at 14 dB SNR, GSM,
  lost packets: Silero hears nothing of the caller, and the consent's "Sure." (15.889-16.358 s)
  shows 0.22 s of its own voice over the noise. tests/test_e2e_audio.py times the hold from it.
- consent_white.ogg: the caller 12 dB quieter under white noise at 10 dB SNR, GSM, lost packets.
  Silero hears the "Sure." (14.85-15.25 s) for 0.6 s, but a lost packet splits its 0.12 s over the
  own-voice margin, too little for the leakage mask; no echo was to be heard there. The same test
  times the hold from it.
- consent_pink.ogg: the caller 12 dB quieter under pink noise at 10 dB SNR, GSM, lost packets:
  Silero hears nothing of the "Sure." (15.109-15.578 s), no 50 ms of it stands loud_db over the
  floor, but its vowel is voiced for 0.2 s (``pipeline.audio.voicing``). The same test.
- consent_pink_mono.flac: another caller's voice and cut of the same call as a mono mix (the
  corner's _mono.wav, losslessly): the "Sure." (15.284-15.752 s) 4-5 dB over the mix's floor,
  which pyannote gives nobody; voiced for 0.15 s. The same test.
- consent_diphone_mono.flac: festival's diphone voice as the caller, 12 dB quieter under white
  noise at 10 dB SNR, GSM, lost packets, as a mono mix: its "Sure." (15.068-15.418 s) voices only
  50 ms of its vowel, which stands 6.8 dB over the mix's floor (``voicing.SHORT_VOICED_FRAMES``).
  The same test.
- interrupt_mono.mp3: the tuning split's en_11 as a mono mix under every impairment at once
  (bench/accuracy.py; the samples' voices): the agent talks over the caller's question for 3.0 s
  (16.089-19.089 s), the caller 9 dB quieter on the mix. pyannote's segmentation ends the caller's
  turn at 17.1 s; the overlap model hears both voices to 19.0 s (``speakers.overlap``).
  tests/test_e2e_audio.py measures the interruption on it.
- deaf_babble.ogg: espeak-ng's en-us+paul as the agent under babble at 12 dB SNR, clipped, 3.7 %
  of packets lost, A-law (festival's diphone voice the caller; sample_audio/make_samples.py
  renders it, exactly, with the arguments of RENDERED: a draw of `all`). Silero's state, carried
  through the call, adapts past the agent: 0.9 at the greeting, under 0.05 from 20 s on, so
  nothing the agent says after the greeting is speech, the "Thank you for waiting." after the hold
  (32.122-38.447 s) included. tests/test_activity.py and tests/test_e2e_audio.py hear it afresh
  (``activity.heard_afresh``).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORNERS = HERE.parents[2] / "bench" / "accuracy_set"
CALL = "en_07_hold_permission"
CUTS = {"resume_white.ogg": (CORNERS / "corners" / "a2c0_white14_quieter6" / f"{CALL}.ogg", 34.0),
        "consent_babble.ogg": (CORNERS / "corners-study" / "a0c0_babble14_quieter6" / f"{CALL}.ogg", 35.0),
        "consent_white.ogg": (CORNERS / "corners" / "a1c1_white10_quieter12" / f"{CALL}.ogg", 34.0),
        "consent_pink.ogg": (CORNERS / "corners-study" / "a1c0_pink10_quieter12" / f"{CALL}.ogg", 35.0),
        "consent_pink_mono.flac": (CORNERS / "corners-study" / "a2c0_pink10_quieter12" / f"{CALL}_mono.wav", 35.0),
        "consent_diphone_mono.flac": (CORNERS / "corners-diphone" / "a0c0_white10_quieter12" / f"{CALL}_mono.wav",
                                      35.0),
        "interrupt_mono.mp3": (CORNERS / "tuning" / "all" / "en_11_interrupt_mono.mp3", 24.0)}
ONSET = 31.101
RENDERED = {"deaf_babble.ogg": (["--impair", "all", "--seed", "1607869102", "--voice", "agent=espeak-ng:en-us+paul:100",
                                 "--voice", "customer=festival:ked_diphone:178"], 38.9)}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for name, (arguments, seconds) in RENDERED.items():
            subprocess.run([sys.executable, str(HERE.parents[2] / "sample_audio" / "make_samples.py"), CALL,
                            "--out", tmp, *arguments], check=True)
            cut(Path(tmp) / f"{CALL}.ogg", seconds, name)
    for name, (source, seconds) in CUTS.items():
        cut(source, seconds, name)


def cut(source: Path, seconds: float, name: str) -> None:
    # bitexact: the Ogg stream's serial number and the encoder tags fixed, so a rerun makes the same bytes
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-t", str(seconds), "-i", str(source), "-fflags", "+bitexact",
                    "-c:a", "copy" if name.endswith((".ogg", ".mp3")) else "flac", str(HERE / name)], check=True)


if __name__ == "__main__":
    main()
