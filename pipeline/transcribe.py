"""Recording -> transcript: decode, ring phase, voice activity, ASR per channel (stereo) or
diarization (mono), and who is the agent.

Kept apart from ``pipeline.call`` so that re-auditing stored transcripts never imports the audio
stack (numpy, scipy, PyAV, faster-whisper): a rescore worker starts in a third of the time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from audits.calldata.transcript import RingBack, RoleAssignment, Transcript, Turn, Word, joined
from audits.cues import CLOSING_QUESTION, GREETING, HOLD_ANNOUNCEMENT, HOLD_THANKS, SILENT_CALL
from audits.spec import Spec
from pipeline.asr import numerics
from pipeline.asr.engine import AsrEngine
from pipeline.asr.hints import Hint, TurnHints
from pipeline.asr.verify import AudioScorer
from pipeline.audio.activity import Region, over_floor, reach_back, voice_activity
from pipeline.audio.decode import SAMPLE_RATE, Audio, Pcm, decode, to_float
from pipeline.audio.leakage import OwnVoice, keep_own, own_sound, own_voice, unexplained
from pipeline.audio.ringback import detect_ringback
from pipeline.audio.voicing import voiced_background, voiced_runs
from pipeline.measure import union
from pipeline.speakers.diarize import DiarizationUnavailable, Diarizer
from pipeline.speakers.roles import (
    assign_speakers,
    assign_stereo,
    role_of_channel,
    role_of_speaker,
    split_off_agent,
)
from pipeline.speakers.turns import (
    SpeakerTurn,
    activity_by_role,
    apart,
    cut_at_speaker_changes,
    deep_quiet,
    heard,
    leg_replies,
    mix_replies,
    reply_sounds,
    reply_spans,
    smooth,
    spoken_turns,
    talk_seconds,
    unheard_replies,
    words_to_turns,
)

# The shortest phrase of the agent's script that tells a split-off agent voice (split_off_agent):
# one- and two-word phrases ("hello", "goodbye", 您好, 再见) are said by customers as much.
SCRIPT_MIN_UNITS = 3


class Transcriber:
    """Holds the Whisper model and the diarization pipeline, each loaded on first use."""

    def __init__(self, settings: dict, spec: Spec):
        numerics.pin()  # before any model loads: every executor computes under the same conditions
        self.settings = settings
        self.spec = spec
        self.threads = numerics.engine_threads(settings["asr"]["cpu_threads"])
        self._asr: AsrEngine | None = None
        self._diarizer: Diarizer | None = None
        self.agent_script = agent_script(spec)

    @property
    def asr(self) -> AsrEngine:
        if self._asr is None:
            self._asr = AsrEngine(self.settings["asr"], self.threads)
            self._asr.check_language(self.spec.language)
            self._asr.prompt = spec_prompt(self.spec)
            self._asr.hints = turn_hints(self.spec, self.settings)
            self._asr.keep_encoded = self.settings["verify"]["enabled"]
        return self._asr

    @property
    def diarizer(self) -> Diarizer:
        # Loaded on the first mono call: stereo-only archives never import torch.
        if self._diarizer is None:
            self._diarizer = Diarizer(self.settings["diarization"], threads=self.threads)
        return self._diarizer

    def transcribe(self, path: Path) -> Transcript:
        """The recording's transcript alone (nothing is verified against its audio)."""
        with decode(path) as audio:
            transcript = self._transcribe(audio, path)
        self.asr.take_encoded()  # let the kept encoder outputs go now, not at the next call
        return transcript

    @contextmanager
    def session(self, path: Path) -> Iterator[tuple[Transcript, AudioScorer]]:
        """The recording's transcript, and a scorer of phrases against its audio (open until the
        block ends: the audit checks phrases the text lacks while the decoded channels are there)."""
        with decode(path) as audio:
            transcript = self._transcribe(audio, path)
            yield transcript, AudioScorer(self.asr, audio.channels, self.spec.language, self.asr.take_encoded())

    def _transcribe(self, audio: Audio, path: Path) -> Transcript:
        answer_at, ring = self._ring_phase(audio)
        if audio.is_stereo:
            turns, activity, sound, roles = self._stereo(audio, answer_at)
            asr, two_voices = self.asr.describe(), []
        else:
            turns, activity, roles, two_voices = self._mono(audio, answer_at, path)
            sound = {}  # one leg for both speakers: its sound is nobody's in particular
            asr = {**self.asr.describe(), "diarization": self.diarizer.describe()}
        turns.sort(key=lambda turn: turn.start)
        return Transcript(
            call_id=Path(path).stem,
            duration=round(audio.duration, 3),
            language=self.spec.language,
            turns=turns,
            activity=activity,
            sound=sound,
            answer_at=answer_at,
            ring=ring,
            roles=roles,
            source=str(path),
            audio_sha256=audio.sha256,
            channels=len(audio.channels),
            asr=asr,
            two_voices=two_voices,
        )

    def _stereo(self, audio: Audio, answer_at: float):
        language = self.spec.language
        regions, brief = self._voice_activity(audio.channels, answer_at)
        leakage = self.settings["leakage"]
        own: list[OwnVoice | None] = [None, None]
        unheard: list[list[Region]] = [[], []]
        if leakage["enabled"]:  # the other leg's echo is not speech: never transcribed
            own = own_voice(audio.channels, regions, leakage)
            heard_raw = [regions[c] + brief[c] for c in (0, 1)]
            regions, brief = (keep_own(found, own, leakage) for found in (regions, brief))
            # speech Silero heard that too little of stood over the noise, and no echo explains: a reply, at most
            unheard = [unexplained(heard_raw[c], regions[c] + brief[c], own[c]) for c in (0, 1)]
        min_speech = self.settings["vad"]["min_speech_duration_ms"] / 1000
        sounded = [own_sound(audio.channels[c], own[c], answer_at, leakage, min_speech) for c in (0, 1)]
        loud = [self._loud_sound(audio.channels[c], own[c], answer_at) for c in (0, 1)]
        vad_heard = [union(regions[c] + brief[c]) for c in (0, 1)]
        heard_by_vad = [self._with_onsets(vad_heard[c], loud[c], vad_heard[1 - c]) for c in (0, 1)]
        both = union(heard_by_vad[0] + heard_by_vad[1])
        quiet = deep_quiet(both, answer_at, audio.duration)
        voiced = [self._voiced(audio.channels[c], reply_spans(heard_by_vad[1 - c], both), quiet, own[c])
                  for c in (0, 1)]
        replies = [leg_replies(reply_sounds(sounded[c] + unheard[c] + voiced[c], loud[c], min_speech),
                               heard_by_vad[c], heard_by_vad[1 - c]) for c in (0, 1)]
        notes: dict[tuple[int, int], str] = {}
        words = self.asr.transcribe_channels(audio.channels, regions, language, notes)
        turns = [
            _turn(c, region, region_words, language, notes.get((c, index)))
            for c in (0, 1)
            for index, (region, region_words) in enumerate(zip(regions[c], words[c]))
            if region_words
        ]
        roles = self._stereo_roles(turns)
        for turn in turns:
            turn.role = role_of_channel(roles, turn.channel)
        activity = {role_of_channel(roles, c): union(heard_by_vad[c] + replies[c]) for c in (0, 1)}
        sound = {role_of_channel(roles, c): round(sum(end - start for start, end in sounded[c]), 2) for c in (0, 1)}
        return turns, activity, sound, roles

    def _mono(self, audio: Audio, answer_at: float, path: Path):
        """Diarize, transcribe the speech regions, give each word its speaker, then tell the agent."""
        try:
            diarizer = self.diarizer
        except DiarizationUnavailable as exc:
            raise DiarizationUnavailable(f"{path}: mono recording: {exc}") from None
        samples, language, vad = audio.channels[0], self.spec.language, self.settings["vad"]
        found = diarizer.diarize(samples, Path(path).stem, start_at=answer_at)
        min_pause, min_speech = vad["min_silence_duration_ms"] / 1000, vad["min_speech_duration_ms"] / 1000
        speech, two_voices = spoken_turns(found, min_pause, min_speech)
        regions, brief = voice_activity(samples, vad, start_at=answer_at)
        pieces = cut_at_speaker_changes(regions, found, min_speech)
        notes: dict[tuple[int, int], str] = {}
        [per_region] = self.asr.transcribe_channels([samples], [pieces], language, notes)
        words = [word for region_words in per_region for word in region_words]
        turns = words_to_turns(words, speech, found.exclusive, language)
        for (_, index), note in notes.items():  # a turn holding words of a region decoded twice says so
            start, end = pieces[index]
            for turn in turns:
                if turn.start < end and start < turn.end:
                    turn.redecoded = note
        roles = self._speaker_roles(turns, speech)
        split = split_off_agent(turns, roles.agent, self.agent_script)
        if split:
            for turn in turns:
                turn.speaker = roles.agent if turn.speaker in split else turn.speaker
            speech = smooth([SpeakerTurn(t.start, t.end, roles.agent if t.speaker in split else t.speaker)
                             for t in speech], min_pause, 0.0)
            roles = self._speaker_roles(turns, speech)
            roles.needs_review = True
            roles.reason += "; " + "; ".join(split.values())
        for turn in turns:
            turn.role = role_of_speaker(roles, turn.speaker)
        loud = self._loud_sound(samples, None, answer_at)
        voice = self._with_onsets(union(regions + brief), loud)
        # Silero's timing, pyannote's speakers. A short word after a turn counts whoever pyannote gave it
        # to: between two similar voices the caller's "Sure." often gets the agent's label.
        timed = heard(speech, voice) + unheard_replies(speech, voice, either=True)
        spoken = union((t.start, t.end) for t in timed)
        quiet = deep_quiet(union(spoken + voice), answer_at, audio.duration)
        voiced = self._voiced(samples, reply_spans(spoken, spoken), quiet, None)
        # speech Silero heard that pyannote gave nobody is sound too: a quiet "Sure." after a question
        unclaimed = apart(voice, spoken)
        sound = reply_sounds(own_sound(samples, None, answer_at, self.settings["leakage"], min_speech)
                             + voiced + unclaimed, loud, min_speech)
        timed += mix_replies(sound, timed, spoken)
        return turns, activity_by_role(timed, lambda speaker: role_of_speaker(roles, speaker)), roles, two_voices

    def _loud_sound(self, samples: Pcm, voice: OwnVoice | None, answer_at: float) -> list[Region]:
        """The leg's own sound that is loud somewhere (``own_sound`` with ``vad.loud_db``; none when 0)."""
        loud_db = self.settings["vad"]["loud_db"]
        return own_sound(samples, voice, answer_at, self.settings["leakage"], 0.0, loud_db) if loud_db else []

    def _voiced(self, samples: Pcm, spans: list[Region], quiet: list[Region], voice: OwnVoice | None) -> list[Region]:
        """The runs of voiced sound in ``spans`` (``voiced_runs`` with ``vad.voiced_aperiodicity``; none
        when 0, or where the leg's ``quiet`` is voiced itself: babble), the other leg's echo
        (``voice.echo``) never voiced; the short ones where the leg stands ``vad.loud_db`` / 2 over
        its floor (a loud word's onset and fade)."""
        vad = self.settings["vad"]
        most_aperiodic = vad["voiced_aperiodicity"]
        if not (most_aperiodic and spans):
            return []
        echo = None if voice is None else voice.echo
        loud = over_floor(samples, vad["loud_db"] / 2) if vad["loud_db"] else None
        found = voiced_runs(samples, spans, most_aperiodic, echo, loud)
        # the background measured only where it decides something
        return found if found and not voiced_background(samples, quiet, most_aperiodic, echo) else []

    def _with_onsets(self, heard: list[Region], loud: list[Region], barrier: Sequence[Region] = ()) -> list[Region]:
        """A channel's speech activity started back at the leg's own loud sound just before it
        (``reach_back``): the syllables Silero was deaf to. Not across ``barrier``, the other leg's."""
        return union(reach_back(heard, loud, self.settings["vad"]["min_silence_duration_ms"] / 1000, barrier))

    def _speaker_roles(self, turns: list[Turn], speech: list[SpeakerTurn]) -> RoleAssignment:
        return assign_speakers(turns, talk_seconds(speech), self.spec.phrases_for(GREETING).score,
                               self.spec.phrases_for(CLOSING_QUESTION).score, self.settings["roles"])

    def _voice_activity(self, channels: list[Pcm], answer_at: float) -> tuple[list[list[Region]], list[list[Region]]]:
        """Speech and brief regions per channel (``voice_activity``); the channels side by side on
        this worker's cores (Silero runs on one thread, and the ONNX session releases the GIL)."""
        settings = self.settings["vad"]
        threads = min(len(channels), self.threads)

        def one(channel: Pcm) -> tuple[list[Region], list[Region]]:
            return voice_activity(channel, settings, start_at=answer_at)

        if threads <= 1:
            found = [one(channel) for channel in channels]
        else:
            with ThreadPoolExecutor(threads) as pool:
                found = list(pool.map(one, channels))
        return [speech for speech, _ in found], [brief for _, brief in found]

    def _ring_phase(self, audio: Audio) -> tuple[float, RingBack]:
        """When the call was answered and how long it rang, from the ring-back tone. (Call metadata,
        when given, overrides the ring time in the measurements.)"""
        settings = self.settings["ringback"]
        searched = int(settings["search_seconds"] * SAMPLE_RATE)
        channels = [to_float(channel[:searched]) for channel in audio.channels]
        detection = detect_ringback(channels, SAMPLE_RATE, settings, audio.duration) if settings["enabled"] else None
        if detection is None:
            return 0.0, RingBack(None, None, "unknown")
        return detection.answer_at, RingBack(round(detection.seconds, 3), detection.count, "audio")

    def _stereo_roles(self, turns: list[Turn]) -> RoleAssignment:
        settings = self.settings["roles"]
        by_channel = [[t for t in turns if t.channel == c] for c in (0, 1)]
        return assign_stereo(
            settings["agent_channel"],
            first_texts=[[t.text for t in channel_turns] for channel_turns in by_channel],
            first_starts=[channel_turns[0].start if channel_turns else None for channel_turns in by_channel],
            greeting_score=self.spec.phrases_for(GREETING).score,
            settings=settings,
        )

def agent_script(spec: Spec) -> Callable[[str], set[str]]:
    """``text`` -> the phrases of the agent's script it says: the spec's greeting and what the agent
    says to a silent line, each of at least SCRIPT_MIN_UNITS words (Chinese: characters)."""
    cues = [spec.phrases_for(cue) for cue in (GREETING, SILENT_CALL)]
    return lambda text: set().union(*(cue.phrases_said(text, SCRIPT_MIN_UNITS) for cue in cues))


def spec_prompt(spec: Spec, cues: tuple[str, ...] = (GREETING, CLOSING_QUESTION), every: bool = False) -> str:
    """The first phrase of each group of the spec's phrases for ``cues`` (greeting and closing
    question), as a decoder prompt ("hello Apex service centre glad to serve you. is there anything
    else I can help you with."); ``every``: each phrase of each group, a sentence each."""
    if every:
        return " ".join(f"{phrase}." for cue in cues for group in spec.phrases_for(cue).groups for phrase in group)
    sentences = [" ".join(group[0] for group in spec.phrases_for(cue).groups if group) for cue in cues]
    return " ".join(f"{s}." for s in sentences if s)


def turn_hints(spec: Spec, settings: dict) -> TurnHints | None:
    """The turns ``asr.spec_prompt`` hints (``pipeline.asr.hints``) and with what; None: no turn."""
    how, timing, verify = settings["asr"]["spec_prompt"], settings["timing"], settings["verify"]
    if how not in ("opening", "key_turns"):
        return None
    greeting = Hint(spec_prompt(spec, (GREETING,)), spec.phrases_for(GREETING).all_said)
    figures = {"pause": timing["hold_min_seconds"],
               "within": timing["hold_announcement_within"] + timing["hold_consent_max_seconds"],
               "margin": verify["margin"], "margin_per_word": verify["margin_per_word"]}
    if how == "opening":
        return TurnHints(greeting=greeting, **figures)
    hold, thanks = spec.phrases_for(HOLD_ANNOUNCEMENT), spec.phrases_for(HOLD_THANKS)
    return TurnHints(
        greeting=greeting,
        hold=Hint(spec_prompt(spec, (HOLD_ANNOUNCEMENT,), every=True), hold.said, hold.phrase_said)
        if hold.groups else None,
        thanks=Hint(spec_prompt(spec, (HOLD_THANKS,), every=True), thanks.said, thanks.phrase_said)
        if thanks.groups else None,
        **figures,
    )


def _turn(channel: int, region: tuple[float, float], words: list[Word], language: str,
          redecoded: str | None = None) -> Turn:
    return Turn(
        role="unknown",
        start=region[0],
        end=region[1],
        text=joined(words, language),
        words=words,
        confidence=round(sum(word.probability for word in words) / len(words), 4),
        channel=channel,
        redecoded=redecoded,
    )

