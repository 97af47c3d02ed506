"""Mono recordings: ASR words onto diarized speakers, and the turns and speech activity that follow.

Diarization gives speech turns per speaker, overlapping where both talk at once; ASR gives words
with times, knowing nothing of speakers. Each word goes to the speaker who holds most of its time
(in the exclusive diarization, which keeps one speaker per instant, so a word in overlapping speech
goes to the speaker pyannote found most likely there); a word in no speaker's turn (diarization
missed it, or the ASR's word times are off) goes to the nearest turn. A turn is one diarized
speaker turn with its words, so no turn mixes two speakers; turns of different speakers may overlap
in time, as the speech did. The diarized turns (overlaps included), within the voice activity
Silero finds in the mix, are the speech activity that measurements read, so talking over each other
shows as an interruption exactly as with two channels, and the timing has the same truth as a stereo
call's (pyannote says who speaks; it also takes babble or a hold's noise for a speaker, which Silero
does not: a hold measured 4 s short on a dev call). A short reply right after the other speaker's
turn counts even where Silero hears nothing (``unheard_replies``; on a stereo call, a leg's own
sound right after the other leg's speech: ``leg_replies``).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from audits.calldata.transcript import ROLES, Turn, Word, joined
from pipeline.audio.activity import Region
from pipeline.measure import gaps, intersect, total, union

# A reply the voice activity did not hear (pyannote found it in a mono mix, or a stereo leg sounded
# of its own): short, and right after the other's turn.
REPLY_MAX_SECONDS = 2.0
REPLY_WITHIN_SECONDS = 1.0


@dataclass(frozen=True)
class SpeakerTurn:
    start: float
    end: float
    speaker: str


@dataclass
class Diarization:
    turns: list[SpeakerTurn]  # overlapping where two speakers talk at once
    exclusive: list[SpeakerTurn]  # one speaker at a time: for attributing words
    # the stretch of two voices at once holding a moment, those less than a pause apart being one
    # (``overlap.TwoVoices.stretch_at``), where an overlap model listens
    two_voices_at: Callable[[float, float], Region | None] | None = None


def smooth(turns: list[SpeakerTurn], min_pause: float, min_speech: float) -> list[SpeakerTurn]:
    """The same rules the VAD applies to a channel (``vad.min_silence_duration_ms``,
    ``min_speech_duration_ms``): a speaker's turns less than ``min_pause`` apart are one turn, and
    a turn shorter than ``min_speech`` is no speech (a blip the segmentation model found inside the
    other speaker's turn)."""
    merged: list[SpeakerTurn] = []
    for speaker, own in _by_speaker(turns).items():
        for turn in own:
            if merged and merged[-1].speaker == speaker and turn.start - merged[-1].end < min_pause:
                merged[-1] = SpeakerTurn(merged[-1].start, max(merged[-1].end, turn.end), speaker)
            else:
                merged.append(turn)
    return sorted((t for t in merged if t.end - t.start >= min_speech), key=lambda t: (t.start, t.speaker))


def spoken_turns(found: Diarization, min_pause: float,
                 min_speech: float) -> tuple[list[SpeakerTurn], list[Region]]:
    """The speaker turns of a mono call: the diarized ones ``smooth``-ed as the VAD treats a channel,
    then carried through two voices at once where an overlap model listens (after the smoothing: a
    0.22 s blip inside the agent's question, carried through babble heard as two voices, made a 2.1 s
    false overlap); and the spans a turn was carried through: speech the diarization gave one
    speaker and the overlap model two, for the evidence of what they make (an interruption)."""
    speech = smooth(found.turns, min_pause, min_speech)
    if found.two_voices_at is None:
        return speech, []
    stretch_at = found.two_voices_at
    carried = through_overlaps(speech, lambda at: stretch_at(at, min_pause), alone=min_speech)
    moved = list(zip(speech, carried))  # through_overlaps keeps the turns' order
    added = union([(before.end, after.end) for before, after in moved if after.end > before.end]
                  + [(after.start, before.start) for before, after in moved if after.start < before.start])
    return smooth(carried, min_pause, 0.0), added


def through_overlaps(turns: list[SpeakerTurn], stretch_at: Callable[[float], Region | None],
                     alone: float) -> list[SpeakerTurn]:
    """The diarized turns carried through the stretches where two voices sound at once
    (``stretch_at``: the one holding a moment, if any; from ``pipeline.speakers.overlap``, those
    less than a pause apart joined, as a speaker's turns are). pyannote's segmentation loses a quiet
    voice under a louder one: a caller talked over for 3.0 s had their turn ended 1.0 s into it. So
    a turn that ends inside such a stretch, or on its first frame (the two models' frames fall on
    one grid: a lost turn often ends just there), while another speaker's turn runs on, lasts to the
    stretch's end (or that turn's end, if sooner); and one that starts inside it while another's
    turn already runs starts at the stretch's start. Only a turn that touches a stretch moves, only
    where another speaker's turn runs (no new speech, no silence changed), and only where one of the
    two talked ``alone`` seconds before the other came in: someone was already talking (two turns
    starting together, one voice pyannote heard as two where the overlap model heard two voices
    too, made a false 2.7 s interruption on a draw). Stretches are asked for only there: the overlap
    model runs on a few seconds of most calls."""
    own = _by_speaker(turns)  # one speaker's turns never overlap
    begun = {speaker: [t.start for t in spoken] for speaker, spoken in own.items()}

    def others_at(speaker: str, at: float) -> list[SpeakerTurn]:  # the other speakers' turns running at ``at``
        running = []
        for other, spoken in own.items():
            index = bisect.bisect_right(begun[other], at) - 1
            if other != speaker and index >= 0 and spoken[index].end > at:
                running.append(spoken[index])
        return running

    carried = []
    for turn in turns:
        start, end = turn.start, turn.end
        if running := [t for t in others_at(turn.speaker, end) if t.start - turn.start >= alone]:
            if stretch := stretch_at(end):
                end = max(end, min(stretch[1], max(t.end for t in running)))
        if earlier := [t.start for t in others_at(turn.speaker, start) if start - t.start > alone]:
            if (stretch := stretch_at(start)) and stretch[0] < start and stretch[0] - min(earlier) >= alone:
                start = stretch[0]
        carried.append(SpeakerTurn(start, end, turn.speaker))
    return carried


def speaker_of(word: Word, exclusive: list[SpeakerTurn]) -> str | None:
    """The speaker holding most of the word's time, else the one whose turn is nearest to it."""
    if not exclusive:
        return None
    held: dict[str, float] = defaultdict(float)
    for turn in exclusive:
        held[turn.speaker] += max(0.0, min(word.end, turn.end) - max(word.start, turn.start))
    if max(held.values()) > 0:
        return max(held, key=held.get)
    return min(exclusive, key=lambda turn: _distance(word, turn)).speaker


def words_to_turns(words: list[Word], turns: list[SpeakerTurn], exclusive: list[SpeakerTurn],
                   language: str) -> list[Turn]:
    """callqa turns (role still unknown) from ASR words and the diarization: each word joins the
    nearest turn of its speaker. A turn keeps the diarized times (ASR word times are rougher), as a
    stereo turn keeps its VAD region's; diarized turns without words are speech activity only."""
    grouped: dict[SpeakerTurn, list[Word]] = defaultdict(list)
    own_turns = _by_speaker(turns)
    for word in sorted(words, key=lambda w: w.start):
        speaker = speaker_of(word, exclusive)
        if speaker is None or speaker not in own_turns:
            continue
        grouped[min(own_turns[speaker], key=lambda turn: _distance(word, turn))].append(word)
    result = [
        Turn(
            role="unknown",
            start=turn.start,
            end=turn.end,
            text=joined(own, language),
            words=own,
            confidence=round(sum(word.probability for word in own) / len(own), 4),
            speaker=turn.speaker,
        )
        for turn, own in grouped.items()
    ]
    return sorted(result, key=lambda turn: turn.start)


def cut_at_speaker_changes(regions: list[Region], found: Diarization, min_seconds: float) -> list[Region]:
    """The speech regions of a mono mix cut where the diarized speaker changes, so that the ASR
    reads each speaker's stretch as a piece of its own, as it reads a stereo leg's turn: read
    together, Whisper drops a quiet caller next to a louder agent (a customer's 8 s question, 12 dB
    down on the mix, came back without a word; read alone: "I ordered a washing machine last week
    and I would like to know whether…"). A change is cut midway through the pause between the two
    speakers' exclusive turns, or, where they talk at once (both speakers' turns run through the
    change), at the change. A label that switches with neither (no pause, no overlap) is not cut:
    that is pyannote's drift within one voice as often as a reply, and a cut in mid-sentence garbles
    both halves. No piece is shorter than ``min_seconds`` (``vad.min_speech_duration_ms``)."""
    spoken = _by_speaker(found.turns)  # one speaker's turns never overlap: the one started last is the one on
    starts = {speaker: [t.start for t in own] for speaker, own in spoken.items()}

    def talking(speaker: str, at: float) -> bool:  # from ``at`` on: an exclusive change is where one turn starts
        index = bisect.bisect_right(starts.get(speaker, []), at) - 1
        return index >= 0 and spoken[speaker][index].end > at

    ordered = sorted(found.exclusive, key=lambda t: t.start)
    changes = []
    for before, after in zip(ordered, ordered[1:]):
        if after.speaker == before.speaker:
            continue
        if before.end < after.start:
            changes.append((before.end + after.start) / 2)
        elif talking(before.speaker, after.start) and talking(after.speaker, after.start):
            changes.append(after.start)
    pieces: list[Region] = []
    for start, end in regions:
        at = start
        for change in changes[bisect.bisect_right(changes, start):bisect.bisect_left(changes, end)]:
            if change - at >= min_seconds and end - change >= min_seconds:
                pieces.append((at, change))
                at = change
        pieces.append((at, end))
    return pieces


def talk_seconds(turns: list[SpeakerTurn]) -> dict[str, float]:
    return {speaker: total(spans) for speaker, spans in _regions(turns).items()}


def heard(turns: list[SpeakerTurn], voice: list[Region]) -> list[SpeakerTurn]:
    """The parts of the speaker turns inside the voice activity (sorted, disjoint regions)."""
    starts = [start for start, _ in voice]
    parts = []
    for turn in turns:
        # indexing, not a slice: a slice would copy the rest of the call for every turn
        for index in range(max(0, bisect.bisect_right(starts, turn.start) - 1), len(voice)):
            start, end = voice[index]
            if start >= turn.end:
                break
            if end > turn.start:
                parts.append(SpeakerTurn(max(start, turn.start), min(end, turn.end), turn.speaker))
    return parts


def unheard_replies(turns: list[SpeakerTurn], voice: list[Region], either: bool = False) -> list[SpeakerTurn]:
    """Replies in the diarized turns (sorted by start) that the voice activity has nothing of: a
    turn of at most REPLY_MAX_SECONDS starting at most REPLY_WITHIN_SECONDS after another speaker's
    turn ended (``either``: after anyone's, the same speaker's too). Pyannote hears a quiet caller's
    "Sure." on the mix where Silero and the energy rule cannot (the customer's leg 11 dB down under
    the agent's noise: +5 dB over the mix's floor, Silero 0.09), and a reply's time is what a hold
    or a silence is measured from. ``voice``: sorted, disjoint regions (as ``heard`` takes them)."""
    starts = [start for start, _ in voice]
    found = []
    for previous, turn in zip(turns, turns[1:]):
        if (turn.speaker == previous.speaker and not either) or turn.end - turn.start > REPLY_MAX_SECONDS:
            continue
        if not 0.0 <= turn.start - previous.end <= REPLY_WITHIN_SECONDS:
            continue
        at = bisect.bisect_right(starts, turn.end)
        if not (at and voice[at - 1][1] > turn.start):  # no activity inside it
            found.append(turn)
    return found


def reply_sounds(sound: list[Region], loud: list[Region], shortest: float) -> list[Region]:
    """The runs of a leg's own sound a reply may be: those of at least ``shortest`` (``sound``), and
    the loud ones (``loud``: standing ``vad.loud_db`` over the floor somewhere) half that long. A
    one-syllable "Sure." under babble shows 0.15-0.2 s of its own voice over the noise, and its
    loud core is what tells it from a swell of the noise. Sorted and disjoint."""
    return union(sound + [(start, end) for start, end in loud if end - start >= shortest / 2])


def reply_spans(replied_to: list[Region], heard: list[Region]) -> list[Region]:
    """Where an unheard reply to ``replied_to`` may lie: from each region's end, the
    REPLY_WITHIN_SECONDS a reply may take to start and the REPLY_MAX_SECONDS it may last, less
    what is already heard (``heard``: sorted, disjoint). Sorted and disjoint."""
    windows = union((end, end + REPLY_WITHIN_SECONDS + REPLY_MAX_SECONDS) for _, end in replied_to)
    return intersect(windows, gaps(heard, 0.0, windows[-1][1])) if windows else []


def deep_quiet(heard: list[Region], start: float, end: float) -> list[Region]:
    """The time in [start, end] outside ``heard`` and the reply spans after it (``reply_spans``):
    where nobody speaks or replies (holds, dead air), the line's background alone."""
    return gaps(union((first, last + REPLY_WITHIN_SECONDS + REPLY_MAX_SECONDS) for first, last in heard), start, end)


def leg_replies(sound: list[Region], heard_here: list[Region], heard_there: list[Region]) -> list[Region]:
    """Stereo: the runs of a leg's own sound (``pipeline.audio.leakage.own_sound``) that are
    ``unheard_replies`` to the other leg's speech (``heard_there``): a consent breathed or
    whispered under line noise ("Yes, okay." before a hold), which Silero gives < 0.2, is where a
    hold or a silence starts. ``heard_here``: the leg's voice activity, sorted and disjoint."""
    turns = sorted([SpeakerTurn(start, end, "there") for start, end in heard_there]
                   + [SpeakerTurn(start, end, "here") for start, end in sound], key=lambda t: t.start)
    return [(t.start, t.end) for t in unheard_replies(turns, heard_here) if t.speaker == "here"]


def mix_replies(sound: list[Region], turns: list[SpeakerTurn], heard_here: list[Region]) -> list[SpeakerTurn]:
    """Mono: the runs of the mix's sound that are ``leg_replies`` to one of two speakers' turns
    (``turns``), as the other speaker's: a consent neither Silero nor pyannote heard is
    still where a hold starts. ``heard_here``: everything already timed, sorted and disjoint."""
    speakers = sorted({turn.speaker for turn in turns})
    if len(speakers) != 2:
        return []
    spoken = {speaker: union((t.start, t.end) for t in turns if t.speaker == speaker) for speaker in speakers}
    # the mix's sound inside a speaker's turns is that speaker's voice, not the other's
    replies = [SpeakerTurn(start, end, speakers[1 - n]) for n, speaker in enumerate(speakers)
               for start, end in leg_replies(apart(sound, spoken[speaker]), heard_here, spoken[speaker])]
    return sorted(replies, key=lambda t: t.start)


def apart(spans: list[Region], others: list[Region]) -> list[Region]:
    """The ``spans`` that overlap none of ``others`` (sorted, disjoint)."""
    starts = [start for start, _ in others]
    kept = []
    for start, end in spans:
        at = bisect.bisect_left(starts, end)  # those starting before this span ends
        if not (at and others[at - 1][1] > start):
            kept.append((start, end))
    return kept


def activity_by_role(turns: list[SpeakerTurn], role_of: Callable[[str], str]) -> dict[str, list[Region]]:
    """Speech regions per role (each role's speakers' turns joined); overlaps between roles kept."""
    regions: dict[str, list[Region]] = {role: [] for role in ROLES}
    for speaker, spans in _regions(turns).items():
        regions[role_of(speaker)].extend(spans)
    return {role: union(spans) for role, spans in regions.items()}


def _regions(turns: list[SpeakerTurn]) -> dict[str, list[Region]]:
    return {speaker: [(t.start, t.end) for t in own] for speaker, own in _by_speaker(turns).items()}


def _by_speaker(turns: list[SpeakerTurn]) -> dict[str, list[SpeakerTurn]]:
    grouped: dict[str, list[SpeakerTurn]] = defaultdict(list)
    for turn in sorted(turns, key=lambda t: t.start):
        grouped[turn.speaker].append(turn)
    return dict(grouped)


def _distance(word: Word, turn: SpeakerTurn) -> float:
    """Seconds between a word and a turn; 0 when they overlap."""
    return max(0.0, turn.start - word.end, word.start - turn.end)


def diarization_error_rate(reference: dict[str, list[Region]], hypothesis: dict[str, list[Region]],
                           duration: float, collar: float = 0.25) -> float:
    """Diarization error rate (missed speech + false alarm + speaker confusion, over reference
    speech) with the best mapping of hypothesis labels to reference labels, by pyannote.metrics.
    ``collar``: seconds either side of each reference boundary left out (NIST's 0.25 s; pyannote
    counts the collar's whole width). For measuring diarization against labelled calls (tests,
    ``bench/diarization.py``); needs the diarize extra."""
    from pyannote.core import Annotation, Segment, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate

    def annotation(spans_by_label: dict[str, list[Region]]) -> Annotation:
        result = Annotation()
        for label, spans in spans_by_label.items():
            for index, (start, end) in enumerate(spans):
                result[Segment(start, end), f"{label}#{index}"] = label
        return result

    metric = DiarizationErrorRate(collar=2 * collar)
    return float(metric(annotation(reference), annotation(hypothesis), uem=Timeline([Segment(0.0, duration)])))
