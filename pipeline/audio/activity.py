"""Speech activity per channel with the Silero VAD shipped in faster-whisper.

These regions are the timing truth of a call: turns, silences, holds, overlaps and the answer
delay are measured on them, never on ASR segment boundaries.

Besides the speech regions that are transcribed, a channel has **brief** ones: a short reply
("Sure.", "Yes.") that Silero holds above its threshold for less than ``min_speech_duration_ms``
under line noise, whose probability had risen above the lower threshold earlier. Its start is
moved back to where it rose, as a region's end is where it falls below, and when it is then long
enough it counts as talk for timing (a hold measured from the customer's "Sure.", not from the
agent's question before it). Brief regions are never transcribed: Whisper on a fraction of a
second reads whatever it likes ("Thank you very much." on the tail of someone else's echo).
A reply Silero never holds above its threshold at all is brief too when it is **loud**: a word
whose 32 ms windows stand ``vad.loud_db`` over the channel's noise floor for half of
``min_speech_duration_ms`` (dips of up to 64 ms bridged: a consonant, a lost packet), taken out
to where it falls to half that (its onset and fade, as a region ends where the probability falls
below the lower threshold), lasting ``min_speech_duration_ms`` with its probability reaching the
lower threshold there. Under pink noise at 14 dB SNR after GSM a caller's "Sure." reaches 0.39
only; on the hold draws (bench/hold_draws.py) consents stand 14 to 24 dB over the noise of the hold
that follows (its median energy), while inside holds no 32 ms window on either leg rose more than
6.7 dB over it, babble included. Windows of digital silence (lost packets) are left out of the floor.

A leg Silero went deaf to: its state, carried through the call, adapts to the background, and under
babble it can adapt past the speaker. Loud words no region holds, as loud as the speech it heard on
the leg, are scored again from a fresh state (``heard_afresh``), and the regions found again.

The speech probabilities are faster-whisper's own (its Silero model and its way of feeding it
512-sample windows with 64 samples of context), computed block by block straight from the channel:
``faster_whisper.vad.get_speech_timestamps`` pads a copy of the whole channel and runs the model on
10,000 windows (5 minutes) at a time, which costs a few hundred MB on a long call. The model carries
its state from block to block, so the probabilities are bit-for-bit the same, and so are the
regions (the thresholding below is faster-whisper 1.2.1's).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

import numpy as np
from faster_whisper.vad import VadOptions, get_vad_model

from pipeline.audio.decode import SAMPLE_RATE, Samples, mean_squares, to_float

Region = tuple[float, float]

WINDOW = 512  # samples per Silero window at 16 kHz (32 ms)
CONTEXT = 64  # samples of the previous window the model sees with each one
BLOCK_WINDOWS = 250  # windows per model call (8 s of audio): bounded memory, the same probabilities
FLOOR_PERCENTILE = 10  # a channel's noise floor: the energy of its quietest windows (a tenth of a call is pause)
BRIDGE_WINDOWS = 2  # a dip of up to 64 ms (a consonant, a lost packet) does not split a loud word
# A stretch heard afresh is scored as if a call began there: after this much digital silence (1 s,
# a fresh state's settling; a lead-in of the call's own background adapts it to that background
# again, 0.2-0.5 where silence gives 0.5-0.8), and loud words closer than this are one stretch.
WARM_WINDOWS = 31
# A leg's loud words Silero missed are the speaker's when their median energy is at most this far
# under the median of the speech it heard on the leg. Measured: words of an agent Silero went deaf
# to +0.1 to +4.4 dB; babble swells (19 dB SNR, on three sample calls) -5.4 to -9.5 dB.
SPEAKER_BELOW_DB = 3.0
LOST_POWER = 1e-10  # a window this quiet (-100 dBFS) is digital silence: a lost packet, not the line's noise


def vad_options(settings: dict) -> VadOptions:
    return VadOptions(
        threshold=settings["threshold"],
        min_speech_duration_ms=settings["min_speech_duration_ms"],
        min_silence_duration_ms=settings["min_silence_duration_ms"],
        speech_pad_ms=settings["speech_pad_ms"],
    )


def lower_threshold(vad_options: VadOptions) -> float:
    """Where a region ends (and a brief one starts): faster-whisper's ``neg_threshold``, by default
    ``threshold`` - 0.15."""
    if vad_options.neg_threshold is None:
        return max(vad_options.threshold - 0.15, 0.01)
    return vad_options.neg_threshold


def speech_regions(samples: Samples, settings: dict, start_at: float = 0.0) -> list[Region]:
    """Speech regions (start, end) in seconds of one channel, ignoring everything before ``start_at``
    (the ring-back phase, whose tone Silero may take for voice)."""
    return voice_activity(samples, settings, start_at)[0]


def voice_activity(samples: Samples, settings: dict, start_at: float = 0.0) -> tuple[list[Region], list[Region]]:
    """The speech regions of ``speech_regions`` and the brief ones (module docstring), in seconds."""
    offset = int(start_at * SAMPLE_RATE)
    audio = samples[offset:]
    probabilities, options = speech_probabilities(audio), vad_options(settings)
    speech, brief = speech_timestamps(probabilities, len(audio), options)
    if settings["loud_db"]:
        energy = _energies(audio)
        deaf = [] if energy is None else _as_loud_as(energy, _loud_words(energy, speech + brief, options,
                                                                          settings["loud_db"]), speech)
        if deaf:  # the speaker's loud words Silero scored nothing like speech: heard again from a fresh state
            probabilities = heard_afresh(audio, probabilities, deaf)
            speech, brief = speech_timestamps(probabilities, len(audio), options)
        loud = _loud(energy, probabilities, speech + brief, options, settings["loud_db"])
        brief = sorted(brief + loud, key=lambda chunk: chunk["start"])
    return [
        [(round((offset + s["start"]) / SAMPLE_RATE, 3), round((offset + s["end"]) / SAMPLE_RATE, 3)) for s in found]
        for found in (speech, brief)
    ]


def speech_probabilities(audio: Samples, block: int = BLOCK_WINDOWS) -> np.ndarray:
    """Silero's speech probability of every window, shape (windows, 1), exactly as
    ``faster_whisper.vad.SileroVADModel`` gives them for the audio padded as
    ``get_speech_timestamps`` pads it (to a whole number of windows, a whole extra window when it
    already is one): each window is preceded by the last 64 samples of the one before (zeros for
    the first), and the last window's own last 64 samples are zeroed (its context trick does that)."""
    model = get_vad_model()
    length = len(audio)
    windows = (length + (WINDOW - length % WINDOW)) // WINDOW
    h = np.zeros((1, 1, 128), dtype="float32")
    c = np.zeros((1, 1, 128), dtype="float32")
    tail = np.zeros(CONTEXT, dtype="float32")
    outputs = []
    for first in range(0, windows, block):
        last = min(windows, first + block)
        chunk = np.zeros((last - first) * WINDOW, dtype="float32")
        part = to_float(audio[first * WINDOW:last * WINDOW])
        chunk[:len(part)] = part
        chunk = chunk.reshape(-1, WINDOW)
        if last == windows:
            chunk[-1, -CONTEXT:] = 0
        context = np.empty((len(chunk), CONTEXT), dtype="float32")
        context[0] = tail
        context[1:] = chunk[:-1, -CONTEXT:]
        tail = chunk[-1, -CONTEXT:].copy()
        output, h, c = model.session.run(None, {"input": np.concatenate([context, chunk], 1), "h": h, "c": c})
        outputs.append(output)
    return np.concatenate(outputs, axis=0)


def speech_timestamps(speech_probs: np.ndarray, audio_length_samples: int,
                      vad_options: VadOptions) -> tuple[list[dict], list[dict]]:
    """Speech chunks {start, end} in samples from the window probabilities: faster-whisper 1.2.1's
    ``get_speech_timestamps`` (MIT licence; adapted from silero-vad) after its model call, unchanged;
    and the brief chunks it drops as too short, kept apart (module docstring)."""
    threshold = vad_options.threshold
    neg_threshold = lower_threshold(vad_options)
    min_speech_duration_ms = vad_options.min_speech_duration_ms
    max_speech_duration_s = vad_options.max_speech_duration_s
    min_silence_duration_ms = vad_options.min_silence_duration_ms
    window_size_samples = WINDOW
    speech_pad_ms = vad_options.speech_pad_ms
    sampling_rate = SAMPLE_RATE
    min_speech_samples = sampling_rate * min_speech_duration_ms / 1000
    speech_pad_samples = sampling_rate * speech_pad_ms / 1000
    max_speech_samples = sampling_rate * max_speech_duration_s - window_size_samples - 2 * speech_pad_samples
    min_silence_samples = sampling_rate * min_silence_duration_ms / 1000
    min_silence_samples_at_max_speech = sampling_rate * 98 / 1000

    triggered = False
    speeches = []
    brief = []
    current_speech = {}

    # to save potential segment end (and tolerate some silence)
    temp_end = 0
    # to save potential segment limits in case of maximum segment size reached
    prev_end = next_start = 0

    for i, speech_prob in enumerate(speech_probs):
        if (speech_prob >= threshold) and temp_end:
            temp_end = 0
            if next_start < prev_end:
                next_start = window_size_samples * i

        if (speech_prob >= threshold) and not triggered:
            triggered = True
            current_speech["start"] = window_size_samples * i
            continue

        if triggered and (window_size_samples * i) - current_speech["start"] > max_speech_samples:
            if prev_end:
                current_speech["end"] = prev_end
                speeches.append(current_speech)
                current_speech = {}
                # previously reached silence (< neg_thres) and is still not speech (< thres)
                if next_start < prev_end:
                    triggered = False
                else:
                    current_speech["start"] = next_start
                prev_end = next_start = temp_end = 0
            else:
                current_speech["end"] = window_size_samples * i
                speeches.append(current_speech)
                current_speech = {}
                prev_end = next_start = temp_end = 0
                triggered = False
                continue

        if (speech_prob < neg_threshold) and triggered:
            if not temp_end:
                temp_end = window_size_samples * i
            # condition to avoid cutting in very short silence
            if (window_size_samples * i) - temp_end > min_silence_samples_at_max_speech:
                prev_end = temp_end
            if (window_size_samples * i) - temp_end < min_silence_samples:
                continue
            else:
                current_speech["end"] = temp_end
                if (current_speech["end"] - current_speech["start"]) > min_speech_samples:
                    speeches.append(current_speech)
                else:
                    _keep_brief(current_speech, speech_probs, neg_threshold, min_speech_samples, speeches, brief)
                current_speech = {}
                prev_end = next_start = temp_end = 0
                triggered = False
                continue

    if current_speech and (audio_length_samples - current_speech["start"]) > min_speech_samples:
        current_speech["end"] = audio_length_samples
        speeches.append(current_speech)

    for i, speech in enumerate(speeches):
        if i == 0:
            speech["start"] = int(max(0, speech["start"] - speech_pad_samples))
        if i != len(speeches) - 1:
            silence_duration = speeches[i + 1]["start"] - speech["end"]
            if silence_duration < 2 * speech_pad_samples:
                speech["end"] += int(silence_duration // 2)
                speeches[i + 1]["start"] = int(max(0, speeches[i + 1]["start"] - silence_duration // 2))
            else:
                speech["end"] = int(min(audio_length_samples, speech["end"] + speech_pad_samples))
                speeches[i + 1]["start"] = int(max(0, speeches[i + 1]["start"] - speech_pad_samples))
        else:
            speech["end"] = int(min(audio_length_samples, speech["end"] + speech_pad_samples))

    for chunk in brief:
        chunk["start"] = int(max(0, chunk["start"] - speech_pad_samples))
        chunk["end"] = int(min(audio_length_samples, chunk["end"] + speech_pad_samples))
    return speeches, brief


def _keep_brief(chunk: dict, speech_probs: np.ndarray, neg_threshold: float, min_speech_samples: float,
                speeches: list[dict], brief: list[dict]) -> None:
    """A chunk too short for speech, started back where its probability rose above ``neg_threshold``
    (never before the last chunk's end), goes to ``brief`` if it is then long enough."""
    onset = chunk["start"] // WINDOW
    floor = max((c["end"] for c in speeches[-1:] + brief[-1:]), default=0) // WINDOW
    while onset > floor and speech_probs[onset - 1] >= neg_threshold:
        onset -= 1
    if chunk["end"] - WINDOW * onset > min_speech_samples:
        brief.append({"start": WINDOW * onset, "end": chunk["end"]})


def _loud(energy: np.ndarray | None, speech_probs: np.ndarray, found: list[dict], vad_options: VadOptions,
          loud_db: float) -> list[dict]:
    """Loud brief chunks (module docstring) outside the chunks ``found``, in samples; ``energy``:
    the channel's window energies (``_energies``)."""
    if energy is None:
        return []
    probabilities = np.ravel(speech_probs)
    neg_threshold = lower_threshold(vad_options)
    return [{"start": first * WINDOW, "end": last * WINDOW}
            for first, last in _loud_words(energy, found, vad_options, loud_db)
            if probabilities[first:last].max() >= neg_threshold]


def over_floor(samples: Samples, db: float) -> np.ndarray:
    """Whether each 32 ms window of a channel stands ``db`` over its noise floor (FLOOR_PERCENTILE of
    its windows; a lost packet never does)."""
    energy = _energies(samples)
    if energy is None:
        return np.zeros(len(samples) // WINDOW, dtype=bool)
    with np.errstate(invalid="ignore"):  # NaN (a lost packet) compares False
        return _over_floor_db(energy) >= db


def _over_floor_db(energy: np.ndarray) -> np.ndarray:
    """How far each window's energy stands over the channel's noise floor (FLOOR_PERCENTILE of its
    windows, lost packets left out), dB."""
    return energy - np.nanpercentile(energy, FLOOR_PERCENTILE)


def _energies(audio: Samples) -> np.ndarray | None:
    """Each window's energy in dB, NaN for lost packets (digital silence); None when nothing else."""
    windows = len(audio) // WINDOW
    power = mean_squares(audio, WINDOW)[:windows]
    lost = power < LOST_POWER
    if lost.all():
        return None
    return np.where(lost, np.nan, 10 * np.log10(power + 1e-12))


def _loud_words(energy: np.ndarray, found: list[dict], vad_options: VadOptions, loud_db: float
                ) -> list[tuple[int, int]]:
    """The (first, last + 1) windows of each loud word outside the chunks ``found``, at least
    min_speech long: a core ``loud_db`` over the floor for half of min_speech (dips bridged: a
    consonant, a lost packet; a swell of babble is one window or two), taken out to where it falls
    to half that (its onset and fade, as a region ends where the probability falls below the lower
    threshold)."""
    over = _over_floor_db(energy)
    shortest = vad_options.min_speech_duration_ms / 1000 * SAMPLE_RATE / WINDOW
    cores = np.zeros(len(energy), dtype=bool)
    for first, last in runs(bridged(over >= loud_db)):
        cores[first:last] = last - first >= shortest / 2
    word = np.zeros(len(energy), dtype=bool)
    for first, last in runs(bridged(over >= loud_db / 2)):  # each holds whole cores
        word[first:last] = cores[first:last].any()
    for chunk in found:
        word[chunk["start"] // WINDOW:chunk["end"] // WINDOW + 1] = False
    return [(int(first), int(last)) for first, last in runs(word) if last - first >= shortest]


def _as_loud_as(energy: np.ndarray, words: list[tuple[int, int]], speech: list[dict]) -> list[tuple[int, int]]:
    """The ``words`` as loud as the ``speech`` Silero heard on the leg (median energies at most
    SPEAKER_BELOW_DB apart): the speaker's, not the background's. None without speech to compare
    them with."""
    heard = np.concatenate([energy[chunk["start"] // WINDOW:chunk["end"] // WINDOW] for chunk in speech] or [[]])
    if not words or np.isnan(heard).all():
        return []
    level = np.nanmedian(heard) - SPEAKER_BELOW_DB
    return [(first, last) for first, last in words if np.nanmedian(energy[first:last]) >= level]


def heard_afresh(audio: Samples, speech_probs: np.ndarray, stretches: list[tuple[int, int]]) -> np.ndarray:
    """``speech_probs`` where each stretch (first, last + 1 windows) is also scored by Silero from a
    fresh state, as the start of a call (WARM_WINDOWS of silence before it): the higher of the two.
    The state carried through a call adapts to its background, and under babble it can adapt past
    the speaker: an agent 12 dB over babble scored 0.9 in the first seconds of a call, under 0.05
    from the twentieth on, the rest of the call lost (the drift is known upstream:
    snakers4/silero-vad#725)."""
    out, joined = speech_probs.copy(), []
    for first, last in stretches:  # words closer than the warm-up: one stretch, the state carried across a turn
        if joined and first - joined[-1][1] <= WARM_WINDOWS:
            joined[-1] = (joined[-1][0], last)
        else:
            joined.append((first, last))
    for first, last in joined:
        lead_in = np.zeros(WARM_WINDOWS * WINDOW, dtype="float32")
        fresh = speech_probabilities(np.concatenate([lead_in, to_float(audio[first * WINDOW:last * WINDOW])]))
        fresh = fresh[WARM_WINDOWS:WARM_WINDOWS + last - first]
        out[first:first + len(fresh)] = np.maximum(out[first:first + len(fresh)], fresh)
    return out


def reach_back(regions: list[Region], sounds: list[Region], within: float, barrier: Sequence[Region] = ()
               ) -> list[Region]:
    """Each region started back at the sounds that run into it: a sound that ends less than
    ``within`` before the region's start (a pause the VAD itself keeps inside a turn) starts it,
    then the sound before that one on the same terms, and so on, never across the ``barrier``'s
    spans (the other party's speech). All sorted and disjoint; the result is sorted, and a region
    started back may now overlap the one before (``pipeline.measure.union`` joins them).

    Silero can be deaf to a turn's first syllables: a "Thank you for waiting" after a hold whose
    first 0.7 s it scored 0.15-0.35 under white noise and lost packets, its start then measured
    0.7 s late. The sounds are the leg's own loud ones (``pipeline.audio.leakage.own_sound`` with
    ``vad.loud_db``), so neither the other leg's echo nor a swell of line noise starts a turn."""
    sound_starts = [start for start, _ in sounds]
    barrier_starts = [start for start, _ in barrier]
    out = []
    for start, end in regions:
        k = bisect.bisect_left(sound_starts, start) - 1
        while k >= 0 and start - sounds[k][1] < within:
            b = bisect.bisect_left(barrier_starts, start) - 1  # the last of the other's speech begun before
            if b >= 0 and barrier[b][1] > sounds[k][0]:
                break
            start, k = sounds[k][0], k - 1
        out.append((start, end))
    return out


def bridged(mask: np.ndarray, gap: int = BRIDGE_WINDOWS) -> np.ndarray:
    """``mask`` with its gaps of at most ``gap`` values filled."""
    out = mask.copy()
    for first, last in runs(~mask):
        if first > 0 and last < len(mask) and last - first <= gap:
            out[first:last] = True
    return out


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last + 1) of each run of true values in a boolean mask."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.astype(np.int8), [0]))))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))
