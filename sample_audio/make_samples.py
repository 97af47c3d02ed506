#!/usr/bin/env python
"""Rebuild callqa's sample calls from their scripts: audio, ground truth, reference transcripts.

    python sample_audio/make_samples.py                    # every call, the bad inputs, the README table
    python sample_audio/make_samples.py en_01_compliant    # just some calls
    python sample_audio/make_samples.py en_01_compliant --out /tmp/x --impair all --seed 3 \
        --voice agent=flite:awb:150 --voice customer=espeak-ng:en-us+f2:170   # an impaired variant


Each call is scripted in ``scripts/<call_id>.yaml`` (format: README.md). Every turn is spoken by
flite (English) or espeak-ng (Mandarin, from pinyin), trimmed, and placed on a timeline (agent left, customer right, ring-back on the
customer side before the answer); the mix is band-limited to the 8 kHz telephone band with low
seeded line noise and encoded by ffmpeg. The timeline *is* the ground truth, so
``truth/<call_id>.json`` is exact for the audio written, and ``transcripts/<call_id>.json`` is the
script-exact transcript in callqa's format. Same inputs and tool versions give identical files.

Needs ``flite``, ``espeak-ng`` and ``ffmpeg`` on PATH (``apt-get install -y flite espeak-ng ffmpeg``).
"""

from __future__ import annotations

import argparse
import csv
import functools
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import wave
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import yaml
from pypinyin import Style, lazy_pinyin
from scipy.signal import butter, resample_poly, sosfiltfilt

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))  # for audits.calldata.transcript, whatever the working directory
sys.path.insert(0, str(HERE))  # for impairments.py

import impairments  # sample_audio/impairments.py, beside this file

from audits.calldata.transcript import RingBack, RoleAssignment, Transcript, Turn, Word  # noqa: E402

SCRIPTS, TRUTH, TRANSCRIPTS, BAD = (HERE / name for name in ("scripts", "truth", "transcripts", "bad"))
README = HERE / "README.md"
TABLE_START, TABLE_END = "<!-- expected-table:start -->", "<!-- expected-table:end -->"

# The canonical checklist ids (shared/checklist.md), in its order: every script states all of them.
CHECKLIST_IDS = (
    "opening.greeting", "opening.prompt_answer", "opening.wait_apology",
    "forbidden.phrases", "forbidden.foreign_words", "silence.dead_air", "hold.etiquette",
    "silent_call.protocol", "closing.anything_else", "closing.farewell",
    "closing.customer_hangs_up_first", "courtesy.thanks_reply", "courtesy.apology",
    "courtesy.surname", "interaction.no_interrupt", "interaction.speech_rate",
    "transfer.consent", "explain.confirm",
)
STATUSES = {"pass": "✓", "fail": "✗", "na": "–"}
ROLES = ("agent", "customer")
CHANNEL = {"agent": 0, "customer": 1}  # 0 = left, 1 = right

RATE = 8000  # the timeline is built at the telephone rate; other output rates are resampled from it
TELEPHONE_BAND = (300.0, 3400.0)
NOISE_DBFS = -50.0  # white line noise before the band-pass (about -51 dBFS after): far below any VAD threshold
RING_DBFS = -20.0
PEAK_MAX = 0.7  # per turn, so two overlapping turns summed into a mono mix cannot clip
TRIM_BELOW_PEAK_DB = -40.0  # espeak's lead-in/out quieter than this (relative to the turn's peak) is cut
DEFAULT_GAP = 0.6
# Two turns of the same speaker need at least this much silence between them, or the VAD (500 ms
# minimum silence, 100 ms padding) sees one region: every scripted turn should be one speech stretch.
SAME_SPEAKER_MIN_GAP = 1.0
INNER_PAUSE_MIN = 0.3  # pauses inside a turn (espeak's sentence breaks) this long are listed in the truth
DEFAULT_TAIL = 1.0

# Ring-back cadences; keep in step with configs/default.yaml (ringback.cadences).
CADENCES = {
    "cn": {"frequencies": [450.0], "on": 1.0, "off": 4.0},
    "us": {"frequencies": [440.0, 480.0], "on": 2.0, "off": 4.0},
}


@dataclass(frozen=True)
class Voice:
    engine: str  # "flite" | "espeak-ng" | "festival" (bench voices: apt-get install festival festvox-kdlpc16k)
    name: str  # the engine's voice (espeak: voice+variant)
    speed: int  # nominal words per minute
    pitch: int | None  # espeak -p, 0..99 (flite voices keep their own pitch)
    level_dbfs: float  # RMS level of the voice in the mix


# Chosen with tiny.en on the finished 8 kHz mp3: on eight key phrases (greeting, apology, hold
# question, thanks, closing question, farewell) flite's CMU "rms" voice was heard right 11 times
# in 12, espeak-ng's best English voices 7 to 9. A male agent (rms) and a female customer (slt)
# are easy to tell apart in a mono mix. flite has no Mandarin: espeak-ng reads pinyin there.
VOICES = {
    "en": {"agent": Voice("flite", "rms", 135, None, -20.0), "customer": Voice("flite", "slt", 140, None, -22.0)},
    "zh": {"agent": Voice("espeak-ng", "cmn-latn-pinyin+f3", 150, 60, -20.0),
           "customer": Voice("espeak-ng", "cmn-latn-pinyin", 160, 35, -22.0)},
}
# flite's voices speak at about this many words per minute (measured on trimmed turns: 165-245);
# other speeds stretch their durations.
FLITE_WPM = 180
# The columns of calls.csv (a subset of callqa's metadata columns) and the days the calls are on.
METADATA_COLUMNS = ["call_id", "file", "agent_id", "agent_name", "team", "started_at", "customer_surname"]
SAMPLE_DAYS = ["2026-11-19", "2026-11-20"]
DEFAULT_MONO = {"format": "mp3", "rate": 8000}  # for a mono mix of a script that has no mono: of its own

# Output containers (ffmpeg codec arguments). The lossy ones were checked to decode with no time
# offset (ffmpeg records the encoder delay in the file); bitexact keeps the files identical from
# run to run (no random Ogg serial, no encoder version tags).
FORMATS = {
    "wav": ["-c:a", "pcm_mulaw"],  # G.711 mu-law, what call recorders write
    "flac": ["-c:a", "flac"],
    "mp3": ["-c:a", "libmp3lame"],
    "ogg": ["-c:a", "libvorbis", "-q:a", "0"],  # Vorbis' lowest quality is plenty for 8 kHz speech
    "m4a": ["-c:a", "aac"],
}
# Default bitrates; a script's output may set its own (a 44.1 kHz mp3 needs more than 8 kHz does).
BITRATES = {"mp3": "24k", "m4a": "32k"}

# ----------------------------------------------------------------------------------------------
# Scripts


class ScriptError(ValueError):
    """A call script that cannot be used; the message names the file and the problem."""


def load_scripts(ids: list[str] | None = None) -> list[dict]:
    paths = sorted(SCRIPTS.glob("*.yaml"))
    scripts = [load_script(path) for path in paths if not ids or path.stem in ids]
    missing = set(ids or ()) - {script["id"] for script in scripts}
    if missing:
        raise ScriptError(f"no script for: {', '.join(sorted(missing))}")
    return scripts


def load_script(path: Path) -> dict:
    script = yaml.safe_load(path.read_text(encoding="utf-8"))

    def check(ok: bool, problem: str) -> None:
        if not ok:
            raise ScriptError(f"{path}: {problem}")

    check(isinstance(script, dict), "not a mapping")
    check(script.get("id") == path.stem, f"id {script.get('id')!r} differs from the file name")
    check(script.get("language") in VOICES, f"language must be one of {sorted(VOICES)}")
    ring = script.setdefault("ring", {"rings": 0, "cadence": "cn"})
    check(ring.get("cadence", "cn") in CADENCES, f"ring.cadence must be one of {sorted(CADENCES)}")
    check(int(ring.get("rings", 0)) >= 0, "ring.rings must be >= 0")
    for key in ("output", "mono"):
        if key in script:
            check(script[key].get("format") in FORMATS, f"{key}.format must be one of {sorted(FORMATS)}")
    check("output" in script, "output: {format, rate} is required")
    for voice in script.get("voices", {}):
        check(voice in ROLES, f"voices: unknown role {voice!r}")
    if "impair" in script:
        try:
            impairment_params(script["impair"])
        except (ValueError, TypeError, KeyError) as error:
            raise ScriptError(f"{path}: impair: {error}") from None
    turns = script.get("turns") or []
    check(any("role" in item for item in turns), "turns: no spoken turn")
    previous_role = None
    for number, item in enumerate(turns, 1):
        if "pause" in item:
            check(float(item["pause"]) > 0, f"turn {number}: pause must be > 0")
            previous_role = None
            continue
        check(item.get("role") in ROLES, f"turn {number}: role must be agent or customer")
        check(item["role"] != previous_role or float(item.get("gap", DEFAULT_GAP)) >= SAME_SPEAKER_MIN_GAP,
              f"turn {number}: the same speaker again needs gap >= {SAME_SPEAKER_MIN_GAP} s (else the VAD merges the two)")
        previous_role = item["role"]
        check(bool(str(item.get("text", "")).strip()), f"turn {number}: text is empty")
        check(not ("gap" in item and "overlap" in item), f"turn {number}: gap and overlap exclude each other")
        check(number > 1 or "overlap" not in item, "the first turn cannot overlap")
    expected = script.get("expected") or {}
    check(set(expected) == set(CHECKLIST_IDS),
          f"expected must list every checklist id; missing {sorted(set(CHECKLIST_IDS) - set(expected))}, "
          f"unknown {sorted(set(expected) - set(CHECKLIST_IDS))}")
    check(all(status in STATUSES for status in expected.values()), "expected statuses are pass | fail | na")
    return script


# ----------------------------------------------------------------------------------------------
# Synthesis


def pinyin_for_espeak(text: str) -> str:
    """Chinese characters -> numbered-tone pinyin for the ``cmn-latn-pinyin`` voice (plain ``cmn``
    would read the tone digits as English numbers)."""
    syllables = lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True)
    spoken = " ".join(syllables)
    return spoken.translate(str.maketrans("，。？！、；：", ",.?!,;:"))


def synthesise(text: str, voice: Voice, language: str) -> np.ndarray:
    """One turn as float32 at RATE, trimmed of espeak's silence and set to the voice's level."""
    with tempfile.TemporaryDirectory() as tmp:
        wav_path = Path(tmp) / "turn.wav"
        if voice.engine == "flite":
            command = ["flite", "-voice", voice.name, "--setf", f"duration_stretch={FLITE_WPM / voice.speed:.3f}",
                       "-t", text, "-o", str(wav_path)]
            subprocess.run(command, check=True, capture_output=True)
        elif voice.engine == "festival":
            if shutil.which("text2wave") is None:
                sys.exit("make_samples: festival's text2wave not found. Install with: "
                         "apt-get install -y festival festvox-kdlpc16k")
            command = ["text2wave", "-eval", f"(voice_{voice.name})", "-eval",
                       f"(Parameter.set 'Duration_Stretch {FLITE_WPM / voice.speed:.3f})", "-o", str(wav_path)]
            subprocess.run(command, input=text.encode("utf-8"), check=True, capture_output=True)
        else:
            spoken = pinyin_for_espeak(text) if language == "zh" else text
            pitch = [] if voice.pitch is None else ["-p", str(voice.pitch)]
            command = ["espeak-ng", "-v", voice.name, "-s", str(voice.speed), *pitch, "-w", str(wav_path), "--stdin"]
            subprocess.run(command, input=spoken.encode("utf-8"), check=True, capture_output=True)
        samples, rate = read_wav(wav_path)
    samples = resample_poly(samples, RATE, rate)
    samples = trim(samples)
    # The voice's RMS level, unless that would push peaks past PEAK_MAX (fast espeak speech is spiky).
    gain = min(10 ** (voice.level_dbfs / 20) / np.sqrt(np.mean(samples**2)), PEAK_MAX / np.abs(samples).max())
    return (samples * gain).astype(np.float32)


def trim(samples: np.ndarray) -> np.ndarray:
    loud = np.flatnonzero(np.abs(samples) > np.abs(samples).max() * 10 ** (TRIM_BELOW_PEAK_DB / 20))
    return samples[loud[0] : loud[-1] + 1]


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as wav:
        assert wav.getsampwidth() == 2 and wav.getnchannels() == 1, f"{path}: the synthesiser wrote an unexpected wav"
        data = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
        return data.astype(np.float64) / 32768.0, wav.getframerate()


def voices_for(script: dict, override: dict[str, dict] | None = None) -> dict[str, Voice]:
    """The voices of a call: the language's defaults, the script's ``voices:``, then a rendering's
    ``override`` (engine, name, pitch, speed per role). A speed the script sets itself wins over the
    override's (``en_17_fast_speech``'s agent must stay fast whoever speaks)."""
    defaults = VOICES[script["language"]]
    voices = {}
    for role in ROLES:
        scripted = script.get("voices", {}).get(role, {})
        changes = {**scripted, **(override or {}).get(role, {})}
        if "speed" in scripted:
            changes["speed"] = scripted["speed"]
        voices[role] = replace(defaults[role], **changes)
    return voices


# ----------------------------------------------------------------------------------------------
# Timeline


@dataclass
class Placed:
    role: str
    text: str
    start: float
    audio: np.ndarray
    cut: float = 0.0  # seconds of the turn lost because the recording stopped

    @property
    def end(self) -> float:
        return self.start + len(self.audio) / RATE

    @property
    def truncated(self) -> bool:
        return self.cut > 0


def ring_phase(script: dict) -> tuple[int, dict, float]:
    """(rings, cadence, answer_at): the call is answered when the last ring's off period ends."""
    rings = int(script["ring"].get("rings", 0))
    cadence = CADENCES[script["ring"].get("cadence", "cn")]
    return rings, cadence, rings * (cadence["on"] + cadence["off"])


def place_turns(script: dict, answer_at: float, voices: dict[str, Voice] | None = None
                ) -> tuple[list[Placed], list[dict], float]:
    """Turns on the timeline, the scripted pauses, and the time the recording ends.

    A turn's ``gap`` is silence after the latest end so far (for the first turn: after the answer);
    ``overlap`` starts it that many seconds before the previous turn ends; ``pause`` adds silence.
    """
    voices = voices or voices_for(script)
    placed: list[Placed] = []
    pauses: list[dict] = []
    cursor = answer_at  # where the next gap is measured from
    for item in script["turns"]:
        if "pause" in item:
            pauses.append({"start": cursor, "end": cursor + float(item["pause"]), "kind": item.get("kind", "pause")})
            cursor += float(item["pause"])
            continue
        audio = synthesise(str(item["text"]), voices[item["role"]], script["language"])
        if "overlap" in item:
            start = placed[-1].end - float(item["overlap"])
        else:
            start = cursor + float(item.get("gap", DEFAULT_GAP))
        start = round(start * RATE) / RATE  # on the sample grid, so the truth is exact
        placed.append(Placed(item["role"], str(item["text"]).strip(), start, audio))
        cursor = max(cursor, placed[-1].end)
    cut = float(script.get("cut_last_turn", 0))
    if cut:
        # The recording stops while the last speaker is still talking (the agent hung up on them).
        last = placed[-1]
        last.audio = last.audio[: len(last.audio) - round(cut * RATE)]
        last.cut = cut
        return placed, pauses, last.end
    return placed, pauses, cursor + float(script.get("tail", DEFAULT_TAIL))


def ring_tone(rings: int, cadence: dict) -> np.ndarray:
    """Ring-back bursts: on, off, on, off ... with 10 ms ramps so the bursts do not click."""
    t = np.arange(round(cadence["on"] * RATE)) / RATE
    burst = sum(np.sin(2 * np.pi * f * t) for f in cadence["frequencies"])
    burst *= 10 ** (RING_DBFS / 20) / np.sqrt(np.mean(burst**2))
    ramp = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.010)
    cycle = np.concatenate([burst * ramp, np.zeros(round(cadence["off"] * RATE))])
    return np.tile(cycle, rings).astype(np.float32)


def mix(placed: list[Placed], rings: int, cadence: dict, duration: float, seed: int) -> np.ndarray:
    """Stereo (n, 2) at RATE: agent left, customer right, ring-back on the customer side only.

    Ring-back is what the caller hears before the agent's leg exists, so it sits on the caller's
    channel; the agent channel stays clean until the agent speaks.
    """
    channels = np.zeros((2, round(duration * RATE)), dtype=np.float64)
    ring = ring_tone(rings, cadence)
    channels[CHANNEL["customer"], : len(ring)] += ring
    for turn in placed:
        first = round(turn.start * RATE)
        channels[CHANNEL[turn.role], first : first + len(turn.audio)] += turn.audio
    rng = np.random.default_rng(seed)
    channels += rng.normal(0.0, 10 ** (NOISE_DBFS / 20), channels.shape)
    band = butter(4, TELEPHONE_BAND, btype="bandpass", fs=RATE, output="sos")
    channels = sosfiltfilt(band, channels, axis=1)  # zero-phase: the filter shifts no turn in time
    peak = np.abs(channels).max()
    assert peak < 0.99, f"the mix clips (peak {peak:.2f}); lower the voice levels"
    return channels.T.astype(np.float32)


# ----------------------------------------------------------------------------------------------
# Ground truth and transcripts


def speech_units(text: str, language: str) -> list[str]:
    """What the speech rate counts: Chinese characters (zh) or whitespace-separated words (en)."""
    if language == "zh":
        return re.findall(r"[\u4e00-\u9fff]", text)
    return text.split()


def word_tokens(text: str, language: str) -> list[str]:
    """Transcript words: one per Chinese character (Latin words whole), or per whitespace token."""
    if language == "zh":
        return re.findall(r"[\u4e00-\u9fff]|[A-Za-z]+", text)
    return text.split()


def spread_words(turn: Placed, language: str) -> list[Word]:
    """Words evenly over the turn as scripted; those after a truncation are dropped."""
    tokens = word_tokens(turn.text, language)
    step = (turn.end + turn.cut - turn.start) / len(tokens)
    words = [Word(round(turn.start + i * step, 3), round(turn.start + (i + 1) * step, 3), token)
             for i, token in enumerate(tokens)]
    return [replace(w, end=min(w.end, round(turn.end, 3))) for w in words if w.start < turn.end]


def heard_text(turn: Placed, language: str) -> str:
    """The turn's text, or for a cut-off turn only the words before the cut."""
    if not turn.truncated:
        return turn.text
    return ("" if language == "zh" else " ").join(word.text for word in spread_words(turn, language))


def inner_pauses(turn: Placed) -> list[list[float]]:
    """Quiet stretches inside a turn (between espeak's sentences) of at least INNER_PAUSE_MIN: where
    a VAD may split the turn."""
    frame = RATE // 100
    loudness = np.abs(turn.audio[: len(turn.audio) // frame * frame]).reshape(-1, frame).max(axis=1)
    quiet = np.concatenate([[False], loudness < loudness.max() * 10 ** (TRIM_BELOW_PEAK_DB / 20), [False]])
    edges = np.flatnonzero(np.diff(quiet.astype(int)))
    runs = [(start * 0.01, end * 0.01) for start, end in zip(edges[::2], edges[1::2])]
    return [[turn.start + start, turn.start + end] for start, end in runs if end - start >= INNER_PAUSE_MIN]


def silences(placed: list[Placed], pauses: list[dict], answer_at: float, duration: float) -> list[dict]:
    """Every stretch after the answer in which nobody speaks, labelled with what it is."""
    spans = sorted((turn.start, turn.end) for turn in placed)
    found, cursor = [], answer_at
    for start, end in spans + [(duration, duration)]:
        if start > cursor:
            found.append({"start": cursor, "end": start})
        cursor = max(cursor, end)
    for silence in found:
        scripted = [p["kind"] for p in pauses if silence["start"] <= p["start"] and p["end"] <= silence["end"]]
        edge = "answer" if silence["start"] == answer_at else "end" if silence["end"] == duration else "gap"
        silence.update(seconds=silence["end"] - silence["start"], kind=scripted[0] if scripted else edge)
    return found


def overlaps(placed: list[Placed]) -> list[dict]:
    """Who talked over whom: a later turn of the other role starting before an earlier one ends."""
    found = []
    for i, first in enumerate(placed):
        for later in placed[i + 1 :]:
            if later.role != first.role and later.start < first.end:
                end = min(first.end, later.end)
                found.append({"by": later.role, "over": first.role, "start": later.start, "end": end,
                              "seconds": end - later.start})
    return found


def speech_rate(placed: list[Placed], role: str, language: str) -> float | None:
    """Units per minute of the role's own speech time (its turns' spans, silence excluded)."""
    turns = [turn for turn in placed if turn.role == role]
    seconds = sum(turn.end - turn.start for turn in turns)
    units = sum(len(speech_units(heard_text(turn, language), language)) for turn in turns)
    return round(units / seconds * 60, 1) if seconds else None


def rounded(value):
    """Times to the millisecond, recursively (the audio is on an 8 kHz grid; 1 ms is plenty)."""
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, dict):
        return {key: rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [rounded(item) for item in value]
    return value


def build_truth(script: dict, placed: list[Placed], pauses: list[dict], duration: float, audio: Path, channels: int) -> dict:
    language = script["language"]
    spec = script["output"] if channels == 2 else script["mono"]
    rings, cadence, answer_at = ring_phase(script)
    agent_turns = [turn for turn in placed if turn.role == "agent"]
    return rounded({
        "call_id": audio.stem,
        "file": audio.name,
        "language": language,
        "description": script.get("description", ""),
        "channels": channels,
        "channel_map": {"agent": "left", "customer": "right"} if channels == 2 else None,
        "sample_rate": spec.get("rate", RATE),
        "duration": duration,
        "ring": {
            "rings": rings, "seconds": answer_at, "cadence": script["ring"].get("cadence", "cn"), **cadence,
            "channel": "right" if channels == 2 else "mono",
        },
        "answer_at": answer_at,
        "answer_delay": agent_turns[0].start - answer_at if agent_turns else None,
        "turns": [
            {"role": turn.role, "channel": CHANNEL[turn.role] if channels == 2 else None, "start": turn.start,
             "end": turn.end, "text": heard_text(turn, language), "truncated": turn.truncated,
             "inner_pauses": inner_pauses(turn)}
            for turn in placed
        ],
        "talk_time": {role: sum(t.end - t.start for t in placed if t.role == role) for role in ROLES},
        "silences": silences(placed, pauses, answer_at, duration),
        "overlaps": overlaps(placed),
        "speech_rate": {"unit": "cpm" if language == "zh" else "wpm",
                        **{role: speech_rate(placed, role, language) for role in ROLES}},
        "customer_speaks_at_end": bool(placed[-1].truncated and placed[-1].role == "customer"),
        "metadata": script.get("metadata", {}),
        "expected": {item: script["expected"][item] for item in CHECKLIST_IDS},
    })


def build_transcript(truth: dict, placed: list[Placed], audio_sha256: str) -> Transcript:
    stereo = truth["channels"] == 2
    turns = [
        Turn(role=t["role"], start=t["start"], end=t["end"], text=t["text"],
             words=spread_words(turn, truth["language"]), confidence=1.0, channel=t["channel"])
        for t, turn in zip(truth["turns"], placed)
    ]
    ring = truth["ring"]
    return Transcript(
        call_id=truth["call_id"],
        duration=truth["duration"],
        language=truth["language"],
        turns=turns,
        activity={role: [(t.start, t.end) for t in turns if t.role == role] for role in ROLES},
        answer_at=truth["answer_at"],
        ring=RingBack(ring["seconds"], ring["rings"], "audio") if ring["rings"] else RingBack(None, None, "unknown"),
        roles=(RoleAssignment("channel-map", 1.0, agent="left") if stereo
               else RoleAssignment("given", 1.0, reason="script-exact reference transcript of a mono mix")),
        source=truth["file"],
        audio_sha256=audio_sha256,
        channels=truth["channels"],
        asr={"engine": "script", "note": "reference transcript written by sample_audio/make_samples.py"},
    )


def check_expectations(script: dict, truth: dict) -> None:
    """The timing items' expected statuses must follow clearly from the truth, with a margin, so a
    correct measurement can never land on the other side of a threshold."""
    expected, problems = script["expected"], []
    rate, unit = truth["speech_rate"]["agent"], truth["speech_rate"]["unit"]
    limit = 280 if unit == "cpm" else 180
    rules = {
        "opening.prompt_answer": (truth["answer_delay"] is not None and truth["answer_delay"] <= 2.0,
                                  truth["answer_delay"] is not None and truth["answer_delay"] >= 4.0),
        "silence.dead_air": (all(s["seconds"] <= 9.0 for s in truth["silences"] if s["kind"] != "hold"),
                             any(s["seconds"] >= 12.0 for s in truth["silences"] if s["kind"] == "dead_air")),
        "interaction.no_interrupt": (all(o["seconds"] < 1.0 for o in truth["overlaps"] if o["by"] == "agent"),
                                     any(o["seconds"] >= 2.5 for o in truth["overlaps"] if o["by"] == "agent")),
        "interaction.speech_rate": (rate is not None and rate <= limit * 0.9, rate is not None and rate >= limit * 1.15),
    }
    for item, (clear_pass, clear_fail) in rules.items():
        if (expected[item], clear_pass, clear_fail) not in {("pass", True, False), ("fail", False, True)}:
            problems.append(f"{item} is {expected[item]!r}, but by the timeline pass={clear_pass}, fail={clear_fail}")
    if (truth["ring"]["rings"] > 3) != (expected["opening.wait_apology"] != "na"):
        problems.append("opening.wait_apology must be na exactly when it rang 3 times or fewer")
    if truth["customer_speaks_at_end"] != (expected["closing.customer_hangs_up_first"] == "fail"):
        problems.append("closing.customer_hangs_up_first must fail exactly when the customer is cut off")
    longest = max(t["end"] - t["start"] for t in truth["turns"] if t["role"] == "agent")
    if not (longest >= 30.5 if expected["explain.confirm"] != "na" else longest <= 25.0):
        problems.append(f"explain.confirm is {expected['explain.confirm']!r}, but the longest agent turn is {longest:.1f} s")
    has_customer = any(t["role"] == "customer" for t in truth["turns"])
    if has_customer != (expected["silent_call.protocol"] == "na"):
        problems.append("silent_call.protocol must be na exactly when the customer speaks")
    if problems:
        raise ScriptError(f"{script['id']}: " + "; ".join(problems))


# ----------------------------------------------------------------------------------------------
# Output


def encode(samples: np.ndarray, rate: int, fmt: str, bitrate: str | None, path: Path) -> None:
    """(n, channels) float32 at RATE -> ``path`` at ``rate`` in ``fmt``, through ffmpeg."""
    if rate != RATE:
        samples = resample_poly(samples, rate, RATE, axis=0)
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).round().astype("<i2")
    codec = FORMATS[fmt] + (["-b:a", bitrate] if bitrate else [])
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "mix.wav"
        with wave.open(str(source), "wb") as wav:
            wav.setnchannels(pcm.shape[1])
            wav.setsampwidth(2)
            wav.setframerate(rate)
            wav.writeframes(pcm.tobytes())
        subprocess.run(
            ["ffmpeg", "-nostdin", "-y", "-loglevel", "error", "-i", str(source), *codec,
             "-fflags", "+bitexact", "-flags:a", "+bitexact", "-map_metadata", "-1", str(path)],
            check=True,
        )


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def write_variant(script: dict, placed: list[Placed], pauses: list[dict], duration: float,
                  samples: np.ndarray, out: Path = HERE, rendering: dict | None = None) -> dict:
    """Encode one rendering (stereo, or the mono mix) and write its truth and transcript.

    The self-check runs before anything is written, so a rendering whose timeline does not support
    the script's expected statuses (another voice too fast, say) leaves no file behind."""
    channels = samples.shape[1]
    spec = script["output"] if channels == 2 else script.get("mono", DEFAULT_MONO)
    audio = out / f"{script['id']}{'' if channels == 2 else '_mono'}.{spec['format']}"
    truth = build_truth(script, placed, pauses, duration, audio, channels)
    check_expectations(script, truth)
    if rendering:
        truth["rendering"] = rendering  # what made this file differ from the plain sample
    for folder in (out / "truth", out / "transcripts"):
        folder.mkdir(parents=True, exist_ok=True)
    bitrate = spec.get("bitrate", BITRATES.get(spec["format"]))
    encode(samples, int(spec.get("rate", RATE)), spec["format"], bitrate, audio)
    write_json(out / "truth" / f"{audio.stem}.json", truth)
    transcript = build_transcript(truth, placed, hashlib.sha256(audio.read_bytes()).hexdigest())
    transcript.save(out / "transcripts" / f"{audio.stem}.json")
    return truth


@dataclass
class Composed:
    """A call spoken and laid out, before impairments and encoding: what every variant shares."""
    script: dict
    voices: dict[str, Voice]
    placed: list[Placed]
    pauses: list[dict]
    duration: float
    stereo: np.ndarray  # (n, 2) float32 at RATE: the clean telephone legs
    voices_changed: bool = False


def compose(script: dict, voices: dict[str, dict] | None = None) -> Composed:
    """Speak a script (``voices``: per role, fields to change for this rendering: engine, name,
    speed, pitch) and lay it out as two clean telephone legs."""
    rings, cadence, answer_at = ring_phase(script)
    chosen = voices_for(script, voices)
    placed, pauses, duration = place_turns(script, answer_at, chosen)
    stereo = mix(placed, rings, cadence, duration, seed=zlib.crc32(script["id"].encode()))
    return Composed(script, chosen, placed, pauses, duration, stereo, bool(voices))


def write_call(call: Composed, out: Path = HERE, impair: str | dict | None = None, seed: int | None = None,
               mono: bool | None = None) -> list[dict]:
    """Write a composed call into ``out`` (audio there, truth/ and transcripts/ below it).

    ``impair``: a preset name (``impairments.PRESETS``) or concrete parameters, else the script's
    own ``impair:``; ``seed``: drives the preset's draw and the impairments' randomness (default:
    from the call id); ``mono``: also write the mono mix (default: when the script has ``mono:``).
    """
    script, stereo = call.script, call.stereo
    rendering: dict = {}
    if call.voices_changed:
        rendering["voices"] = {role: {"engine": v.engine, "name": v.name, "speed": v.speed, "pitch": v.pitch}
                               for role, v in call.voices.items()}
    impair = script.get("impair") if impair is None else impair
    if impair is not None:
        seed = zlib.crc32(script["id"].encode()) if seed is None else seed
        params = impairment_params(impair, seed)
        speech = {role: voice.level_dbfs for role, voice in call.voices.items()}
        bed = babble_bed() if any(leg.get("kind") == "babble" for leg in params.get("noise", {}).values()) else None
        stereo = impairments.apply(stereo, params, seed, speech_dbfs=speech, babble_bed=bed)
        rendering.update(impair=params, seed=seed)
    layout = (call.placed, call.pauses, call.duration)
    truths = [write_variant(script, *layout, stereo, out, rendering)]
    if script.get("mono") if mono is None else mono:
        # A mono recorder sums both legs; halving keeps overlapping speech from clipping.
        truths.append(write_variant(script, *layout, stereo.mean(axis=1, keepdims=True), out, rendering))
    return truths


def make_call(script: dict, out: Path = HERE, voices: dict[str, dict] | None = None,
              impair: str | dict | None = None, seed: int | None = None, mono: bool | None = None) -> list[dict]:
    """Render one call: ``compose`` then ``write_call``."""
    return write_call(compose(script, voices), out, impair, seed, mono)


def impairment_params(impair: str | dict, seed: int = 0) -> dict:
    """Concrete impairment parameters from a preset name (``{preset: all}`` too) or a mapping."""
    if isinstance(impair, dict) and set(impair) == {"preset"}:
        impair = impair["preset"]
    if isinstance(impair, str):
        # Its own stream (not the one apply() uses), so the draw and the noise stay independent.
        return impairments.draw(impair, np.random.default_rng([seed, 1]))
    if not isinstance(impair, dict):
        raise TypeError("a preset name or a mapping of impairments")
    impairments.apply(np.zeros((RATE // 10, 2)), {k: v for k, v in impair.items() if k != "noise"}, 0)  # validates
    return impair


# Babble talkers read neutral sentences (none of the checklist's phrases), in voices of both engines.
BABBLE_TEXT = (
    "The weather will stay dry in the north until the weekend, with light winds from the west. "
    "Traffic on the ring road is moving slowly after an earlier accident near the bridge. "
    "The library opens at nine on weekdays and closes early on public holidays. "
    "Our team meeting moved to the second floor because the projector was broken. "
    "Prices for fresh vegetables rose a little this month after the heavy rain. "
    "The train to the airport leaves every twenty minutes from platform four."
)
BABBLE_VOICES = (Voice("flite", "kal", 170, None, -20.0), Voice("flite", "awb", 170, None, -20.0),
                 Voice("espeak-ng", "en-us+f3", 165, 55, -20.0), Voice("espeak-ng", "en-gb+m2", 160, 40, -20.0))


@functools.lru_cache(maxsize=1)
def babble_bed() -> np.ndarray:
    """About a minute of speech, four voices in turn, that ``impairments.babble`` sums talkers from."""
    return np.concatenate([synthesise(BABBLE_TEXT, voice, "en") for voice in BABBLE_VOICES])


def make_bad_inputs() -> None:
    """Tiny broken files the decoder must reject with a clear reason (never crash a batch)."""
    BAD.mkdir(exist_ok=True)
    (BAD / "empty.wav").write_bytes(b"")
    (BAD / "not_audio.mp3").write_text("This is a text file with an .mp3 name, not audio.\n", encoding="utf-8")
    for name, frames in (("zero_length.wav", 0), ("truncated.wav", RATE)):
        with wave.open(str(BAD / name), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(RATE)
            wav.writeframes(b"\x00\x00" * frames)
    # truncated.wav: the header still promises one second, but only 10 bytes of data follow it.
    truncated = BAD / "truncated.wav"
    truncated.write_bytes(truncated.read_bytes()[:54])


def render_table(scripts: list[dict]) -> str:
    """The README's expected-status table, one row per audio file, straight from the scripts."""
    header = ["file", "what happens", *(f"`{item}`" for item in CHECKLIST_IDS)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for script in scripts:
        marks = [STATUSES[script["expected"][item]] for item in CHECKLIST_IDS]
        renderings = [(script["id"], script["output"]["format"], "")]
        if "mono" in script:
            renderings.append((f"{script['id']}_mono", script["mono"]["format"], "Mono mix of the call above. "))
        for call_id, fmt, prefix in renderings:
            what = (prefix + script.get("description", "").strip()).replace("|", "\\|")
            lines.append(f"| `{call_id}.{fmt}` | {what} | " + " | ".join(marks) + " |")
    return "\n".join(lines)


def update_readme(scripts: list[dict]) -> None:
    text = README.read_text(encoding="utf-8")
    head, rest = text.split(TABLE_START, 1)
    _, tail = rest.split(TABLE_END, 1)
    README.write_text(f"{head}{TABLE_START}\n{render_table(scripts)}\n{TABLE_END}{tail}", encoding="utf-8")


def write_metadata_csv() -> None:
    """``calls.csv``: the scripts' call metadata in callqa's metadata columns, one row per file.

    The calls alternate between two days (morning hours, China time) so that reports over the
    samples show a period and its previous period.
    """
    truths = [json.loads(path.read_text(encoding="utf-8")) for path in sorted(TRUTH.glob("*.json"))]
    with open(HERE / "calls.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=METADATA_COLUMNS)
        writer.writeheader()
        for index, truth in enumerate(truths):
            day, hour = SAMPLE_DAYS[index % len(SAMPLE_DAYS)], 9 + index // len(SAMPLE_DAYS)
            writer.writerow({"call_id": truth["call_id"], "file": truth["file"],
                             "started_at": f"{day}T{hour:02d}:00:00+08:00", **(truth.get("metadata") or {})})


def clear_outputs() -> None:
    """Remove what an earlier full run wrote, so a call whose format changed leaves no stale file."""
    audio = [path for fmt in FORMATS for path in HERE.glob(f"*.{fmt}")]
    for path in [*audio, *TRUTH.glob("*.json"), *TRANSCRIPTS.glob("*.json")]:
        path.unlink()


def require_tools() -> None:
    missing = [tool for tool in ("flite", "espeak-ng", "ffmpeg") if shutil.which(tool) is None]
    if missing:
        sys.exit(f"make_samples: {', '.join(missing)} not found on PATH. "
                 f"Install with: apt-get install -y {' '.join(missing)}")


def parse_voice(text: str) -> tuple[str, dict]:
    """``agent=flite:awb:150`` or ``customer=espeak-ng:en-us+f2:170:60`` -> (role, voice fields)."""
    role, _, spec = text.partition("=")
    parts = spec.split(":")
    if role not in ROLES or len(parts) < 2 or parts[0] not in ("flite", "espeak-ng", "festival"):
        raise argparse.ArgumentTypeError(f"--voice {text!r}: ROLE=ENGINE:NAME[:SPEED[:PITCH]], ROLE agent|customer, "
                                         "ENGINE flite|espeak-ng|festival")
    fields = {"engine": parts[0], "name": parts[1]}
    if len(parts) > 2:
        fields["speed"] = int(parts[2])
    if len(parts) > 3:
        fields["pitch"] = int(parts[3])
    return role, fields


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ids", nargs="*", help="call ids to rebuild (default: all, plus bad inputs and README table)")
    parser.add_argument("--out", type=Path, help="write the calls (and truth/, transcripts/) here instead, "
                        "leaving sample_audio/ alone; needed with --impair and --voice")
    parser.add_argument("--impair", choices=impairments.PRESETS, help="telephone impairments to apply (impairments.py)")
    parser.add_argument("--seed", type=int, help="seed of the impairments' draw (default: from the call id)")
    parser.add_argument("--voice", type=parse_voice, action="append", default=[],
                        help="ROLE=ENGINE:NAME[:SPEED[:PITCH]], e.g. agent=flite:awb:150 (repeatable)")
    parser.add_argument("--mono", action="store_true", help="also write every call's mono mix")
    args = parser.parse_args()
    require_tools()
    scripts = load_scripts(args.ids)  # validated before anything is written
    if args.out or args.impair or args.voice or args.mono:
        if not args.out:
            parser.error("--impair, --voice and --mono write variants: give --out DIR (sample_audio/ keeps the plain calls)")
        args.out.mkdir(parents=True, exist_ok=True)
        for script in scripts:
            for truth in make_call(script, args.out, dict(args.voice) or None, args.impair, args.seed,
                                   True if args.mono else None):
                print(f"{truth['file']:34} {truth['duration']:5.1f} s  agent {truth['speech_rate']['agent']} wpm")
        return
    for folder in (TRUTH, TRANSCRIPTS):
        folder.mkdir(exist_ok=True)
    if not args.ids:
        clear_outputs()
    for script in scripts:
        for truth in make_call(script):
            rate = truth["speech_rate"]
            print(f"{truth['file']:34} {truth['duration']:5.1f} s  agent {rate['agent']} {rate['unit']}")
    if not args.ids:
        make_bad_inputs()
        write_metadata_csv()
        update_readme(scripts)


if __name__ == "__main__":
    main()
