"""Speech activity: the transcribed speech regions and the brief ones that count only for timing
(a short reply Silero holds above its threshold for less than min_speech_duration_ms)."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
from conftest import CALLQA, REPO, SAMPLES, write_audio

from pipeline.audio import activity
from pipeline.audio.activity import WINDOW, _energies, _loud, speech_timestamps, vad_options, voice_activity
from pipeline.audio.decode import SAMPLE_RATE, decode, to_float
from pipeline.config import load_settings

VAD = load_settings()["vad"]  # threshold 0.35 (lower threshold 0.20), min speech 250 ms, pad 100 ms
PAD = SAMPLE_RATE * VAD["speech_pad_ms"] // 1000


def probabilities(*runs: tuple[int, float], windows: int = 400) -> np.ndarray:
    """Window probabilities: 0.05 everywhere but the (count, probability) runs, laid end to end
    from window 100."""
    probs = np.full((windows, 1), 0.05, dtype="float32")
    at = 100
    for count, probability in runs:
        probs[at:at + count] = probability
        at += count
    return probs


def timestamps(probs: np.ndarray):
    return speech_timestamps(probs, len(probs) * WINDOW, vad_options(VAD))


def test_a_short_burst_that_rose_earlier_is_brief_from_where_it_rose():
    # 10 windows over the lower threshold, then 4 (128 ms) over the threshold: too short for speech
    speech, brief = timestamps(probabilities((10, 0.25), (4, 0.5)))
    assert speech == []
    assert brief == [{"start": 100 * WINDOW - PAD, "end": 114 * WINDOW + PAD}]


def test_a_short_burst_out_of_nothing_is_dropped():
    speech, brief = timestamps(probabilities((4, 0.5)))
    assert (speech, brief) == ([], [])


def noisy(burst_db: float, windows: int = 400) -> np.ndarray:
    """Steady noise with a 0.48 s burst (15 windows from window 100) ``burst_db`` louder, as int16."""
    rng = np.random.default_rng(7)
    audio = rng.normal(0.0, 0.003, windows * WINDOW)
    audio[100 * WINDOW:115 * WINDOW] *= 10 ** (burst_db / 20)
    return (audio * 32767).astype(np.int16)


def test_a_loud_reply_silero_never_holds_is_brief_activity():
    """A caller's "Sure." under noise and a codec: 15 dB over the floor, Silero 0.2 to 0.3 and never its threshold."""
    probs = probabilities((15, 0.28))
    assert timestamps(probs) == ([], [])  # Silero alone finds nothing: the test can fail
    [loud] = _loud(_energies(noisy(15.0)), probs, [], vad_options(VAD), VAD["loud_db"])
    assert abs(loud["start"] - 100 * WINDOW) <= 4 * WINDOW and abs(loud["end"] - 115 * WINDOW) <= 4 * WINDOW


def test_a_short_loud_reply_after_a_lost_packet_is_brief_activity():
    """A one-word reply whose loud core lasts 224 ms (7 windows 15 dB over the floor), rising and
    fading through +7 dB, right after two lost packets (digital silence): found from its onset to
    its fade. Energy averaged over 256 ms, as before, never held +10 dB for 250 ms here."""
    rng = np.random.default_rng(7)
    audio = rng.normal(0.0, 0.003, 400 * WINDOW)
    audio[98 * WINDOW:100 * WINDOW] = 0.0
    for first, last, gain_db in ((100, 102, 7.0), (102, 109, 15.0), (109, 111, 7.0)):
        audio[first * WINDOW:last * WINDOW] *= 10 ** (gain_db / 20)
    probs = probabilities((11, 0.3))
    [loud] = _loud(_energies((audio * 32767).astype(np.int16)), probs, [], vad_options(VAD), VAD["loud_db"])
    assert (loud["start"], loud["end"]) == (100 * WINDOW, 111 * WINDOW)


def test_noise_that_is_not_loud_enough_or_never_speech_like_is_not_activity():
    options, loud_db = vad_options(VAD), VAD["loud_db"]
    assert _loud(_energies(noisy(loud_db - 4)), probabilities((15, 0.28)), [], options, loud_db) == []  # babble swells: +3 dB
    assert _loud(_energies(noisy(15.0)), probabilities((15, 0.1)), [], options, loud_db) == []  # a door, a cough: Silero ~0
    found = [{"start": 98 * WINDOW, "end": 118 * WINDOW}]
    assert _loud(_energies(noisy(15.0)), probabilities((15, 0.28)), found, options, loud_db) == []  # Silero's own already


def test_loud_replies_can_be_switched_off(monkeypatch):
    monkeypatch.setattr(activity, "speech_probabilities", lambda audio: probabilities((15, 0.28)))
    assert len(voice_activity(noisy(15.0), VAD)[1]) == 1
    assert voice_activity(noisy(15.0), {**VAD, "loud_db": 0.0}) == [[], []]



def test_speech_regions_are_what_they_were_without_brief_ones():
    """The transcribed regions are faster-whisper's, whatever brief regions lie between them."""
    probs = probabilities((30, 0.9), (20, 0.05), (10, 0.25), (4, 0.5), (20, 0.05), (30, 0.9))
    without = probabilities((30, 0.9), (20, 0.05), (10, 0.05), (4, 0.05), (20, 0.05), (30, 0.9))
    speech, brief = timestamps(probs)
    assert speech == timestamps(without)[0]
    assert len(brief) == 1


def quiet_reply_call(gain_db: float) -> tuple[list[np.ndarray], dict, tuple[float, float]]:
    """The sample hold call with the customer's one-word consent ("Sure.") made quieter."""
    truth = json.loads((SAMPLES / "truth" / "en_07_hold_permission.json").read_text())
    with decode(SAMPLES / truth["file"]) as audio:
        agent, customer = (to_float(channel).copy() for channel in audio.channels)
    reply = next(turn for turn in truth["turns"] if turn["text"] == "Sure.")
    span = (reply["start"], reply["end"])
    customer[int((span[0] - 0.2) * SAMPLE_RATE):int((span[1] + 0.2) * SAMPLE_RATE)] *= np.float32(10 ** (gain_db / 20))
    return [agent, customer], truth, span


def test_a_quiet_one_word_reply_is_brief_activity_not_transcribed_speech():
    (_, customer), _, (start, end) = quiet_reply_call(-18.0)
    speech, brief = voice_activity(customer, VAD)
    assert not [r for r in speech if r[0] < end and start < r[1]]  # Silero alone misses it: the test can fail
    [found] = [r for r in brief if r[0] < end and start < r[1]]
    assert abs(found[0] - start) <= 0.3 and abs(found[1] - end) <= 0.3


@pytest.mark.slow
def test_a_hold_is_measured_from_a_quiet_consent_not_from_the_question_before_it(tmp_path):
    channels, truth, (_, reply_end) = quiet_reply_call(-18.0)
    path = write_audio(tmp_path / "quiet_consent.wav", channels, SAMPLE_RATE)
    run = subprocess.run([*CALLQA, "audit", str(path), "--json"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    audited = json.loads(run.stdout)
    [hold] = audited["measurements"]["holds"]
    assert abs(hold["start"] - reply_end) <= 0.5  # from the question's end it would be 1.1 s early
    assert not [turn for turn in audited["turns"] if "sure" in turn["text"].lower()]  # timing only, never words


def test_a_region_starts_back_at_the_sounds_that_run_into_it():
    """"Thank you for waiting" after a hold: Silero deaf to its first 0.7 s, the leg's own loud
    sound there in two syllables, 0.22 s and 0.06 s apart (a lost packet, a weak consonant)."""
    from pipeline.audio.activity import reach_back

    sounds = [(2.0, 2.5), (31.20, 31.36), (31.58, 31.74)]
    assert reach_back([(31.80, 36.0)], sounds, 0.5) == [(31.20, 36.0)]
    # a sound overlapping the region's start starts it too
    assert reach_back([(31.65, 36.0)], sounds, 0.5) == [(31.20, 36.0)]
    # a pause as long as the VAD's own within-turn one ends the chain
    assert reach_back([(31.80, 36.0)], sounds, 0.2) == [(31.58, 36.0)]
    assert reach_back([(32.30, 36.0)], sounds, 0.5) == [(32.30, 36.0)]
    # never across the other party's speech: a sound inside or after it stays the other's reply's time
    assert reach_back([(31.80, 36.0)], sounds, 0.5, barrier=[(31.30, 31.50)]) == [(31.58, 36.0)]
    assert reach_back([(31.80, 36.0)], sounds, 0.5, barrier=[(10.0, 31.70)]) == [(31.80, 36.0)]
    assert reach_back([(31.80, 36.0)], sounds, 0.5, barrier=[(10.0, 31.10)]) == [(31.20, 36.0)]


def test_a_region_started_back_may_reach_the_one_before():
    from pipeline.audio.activity import reach_back

    assert reach_back([(1.0, 2.0), (2.7, 4.0)], [(2.2, 2.5)], 0.5) == [(1.0, 2.0), (2.2, 4.0)]
    assert reach_back([(1.0, 2.0), (2.6, 4.0)], [(1.8, 2.3)], 0.5) == [(1.0, 2.0), (1.8, 4.0)]


def test_an_agent_resuming_after_a_hold_is_timed_from_the_first_syllable_silero_missed():
    """tests/data/onset/: the agent's "Thank you for waiting." after a hold, under white noise,
    lost packets and clipping, whose first 0.7 s Silero scores under its threshold. The leg's own
    loud sound just before the speech region starts it (``reach_back``), so the hold ends where the
    agent spoke again."""
    from pipeline.audio.activity import reach_back
    from pipeline.audio.leakage import own_sound

    onset = 31.101  # tests/data/onset/make.py ONSET
    with decode(REPO / "tests" / "data" / "onset" / "resume_white.ogg") as audio:
        leg = audio.channels[0]
        speech, brief = voice_activity(leg, VAD)
        heard = [region for region in sorted(speech + brief) if region[1] > onset]
        assert heard[0][0] - onset > 0.5  # Silero alone: the test can fail
        sounds = own_sound(leg, None, 0.0, load_settings()["leakage"], 0.0, VAD["loud_db"])
        reached = reach_back(heard, sounds, VAD["min_silence_duration_ms"] / 1000)
    assert abs(reached[0][0] - onset) < 0.2
    # no loud sound of its own in the hold: the hold before is not cut short
    assert not [start for start, end in sounds if 15.6 < end and start < onset - 0.2]


def test_a_leg_silero_went_deaf_to_is_heard_afresh():
    """tests/data/onset/deaf_babble.ogg: an agent under babble (12 dB SNR, clipped, lost packets).
    Silero's state, carried through the call, adapts past the agent's voice: nothing after the
    greeting is speech. Its loud words are scored again from a fresh state (``heard_afresh``): the
    agent's turns are speech again, timed from their first syllable, and the hold's babble between
    them stays quiet (it never stands loud_db over the floor)."""
    announced, resumed = (12.398, 15.624), (32.122, 38.447)  # the rendering's ground truth
    with decode(REPO / "tests" / "data" / "onset" / "deaf_babble.ogg") as audio:
        leg = audio.channels[0]
        carried, _ = speech_timestamps(activity.speech_probabilities(leg), len(leg), vad_options(VAD))
        assert [chunk["end"] / SAMPLE_RATE for chunk in carried] == [pytest.approx(8.324, abs=0.1)]  # can fail
        speech, _ = voice_activity(leg, VAD)
    for start, end in (announced, resumed):
        [region] = [region for region in speech if region[0] < end and region[1] > start]
        assert region[0] <= start + 0.2 and abs(region[1] - end) < 0.2, (region, start, end)
    assert abs(next(region[0] for region in speech if region[1] > resumed[0]) - resumed[0]) < 0.25  # the hold's end
    assert not [region for region in speech if region[1] > 16.0 and region[0] < 31.5]
