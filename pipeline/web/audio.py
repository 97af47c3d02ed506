"""A call's recording for the browser's audio element: the original file (both legs), or one leg
alone, decoded with the pipeline's own PyAV decoder (``pipeline.audio.decode``) to a 16 kHz WAV
on first request and cached by the recording's SHA-256 (a cached file whose recording changed is
never served: the name carries the hash). Served with HTTP range requests (Starlette's
FileResponse answers ``Range`` with 206 and ``Content-Range``), so the player can seek.

The recording's path is the one the batch stored for the call (``calls.path``, relative paths
under ``audio_root``); nothing from the request is ever joined into a path."""

from __future__ import annotations

import os
import tempfile
import threading
import wave
from pathlib import Path

import numpy as np

from pipeline.audio.decode import SAMPLE_RATE, AudioError, decode

LEGS = ("both", "agent", "customer")
# What Chromium, Firefox and Safari play without help; anything else is decoded for "both" too.
PLAYABLE = {".wav": "audio/wav", ".mp3": "audio/mpeg", ".ogg": "audio/ogg", ".opus": "audio/ogg",
            ".flac": "audio/flac", ".m4a": "audio/mp4", ".aac": "audio/aac"}
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


class NoAudio(Exception):
    """The recording is not there (moved, archived away) or cannot be decoded."""


def recording_path(stored: str, audio_root: Path) -> Path:
    path = Path(stored)
    return path if path.is_absolute() else audio_root / path


def leg_channel(transcript: dict | None, leg: str) -> int | None:
    """The channel index of a leg of a stereo call (from the stored role assignment); None for
    ``both``. A mono call has no legs to split."""
    if leg == "both":
        return None
    if not transcript or transcript.get("channels", 2) != 2:
        raise NoAudio("a mono recording has no separate legs")
    agent = (transcript.get("roles") or {}).get("agent")
    if agent not in ("left", "right"):
        raise NoAudio("the agent's channel is not known for this call")
    agent_channel = 0 if agent == "left" else 1
    return agent_channel if leg == "agent" else 1 - agent_channel


def audio_file(source: Path, sha256: str | None, channel: int | None, cache: Path) -> tuple[Path, str]:
    """The file to serve and its media type: the original for ``both`` when browsers play it,
    else a cached WAV (the chosen channel, or both) decoded from the original."""
    if not source.is_file():
        raise NoAudio(f"the recording is not at {source} any more")
    if channel is None and source.suffix.lower() in PLAYABLE:
        return source, PLAYABLE[source.suffix.lower()]
    name = f"{sha256 or 'nohash'}-{'both' if channel is None else f'ch{channel}'}.wav"
    target = cache / name
    with _lock_for(name):
        if not target.is_file():
            _decode_to_wav(source, channel, target)
    return target, "audio/wav"


def _lock_for(name: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(name, threading.Lock())


def _decode_to_wav(source: Path, channel: int | None, target: Path) -> None:
    try:
        audio = decode(source)
    except AudioError as exc:
        raise NoAudio(exc.problem) from None
    with audio:
        if channel is not None and channel >= len(audio.channels):
            raise NoAudio("the recording has one channel only")
        picked = audio.channels if channel is None else [audio.channels[channel]]
        samples = np.stack([np.asarray(c) for c in picked], axis=1)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as raw, wave.open(raw, "wb") as out:
            out.setnchannels(samples.shape[1])
            out.setsampwidth(2)
            out.setframerate(SAMPLE_RATE)
            out.writeframes(np.ascontiguousarray(samples, dtype="<i2").tobytes())
        os.replace(temporary, target)  # whole or absent: a request never sees half a file
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
