"""Phrase scoring against the audio: how well a phrase fits a turn's speech, by the Whisper model
that transcribed it (``audits.verification.PhraseScorer``, implemented here).

A turn's words as decoded are one reading of its audio; the same words with a phrase put in
where it fits best (in place of the words most like it, or between two words) are another. Both
readings are scored by forced decoding of the turn's audio (CTranslate2's ``Whisper.align``: the
probability of every token of a given text, the way the decoder would have produced it), and the
log-probabilities summed. A phrase the speaker said scores about as well as what was decoded
(tiny.en writes "plan to serve you" where "glad to serve you" was said; forced to read "glad",
the model finds it nearly as likely); a phrase that was not said costs many nats. The decision
(``audits.verification``) compares the two sums with a calibrated margin.

The audio is the chunk ASR decoded the turns in, as the encoder saw it then (``EncodedChunk``,
kept by the engine), cut to the window's speech and HEARD_AROUND either side: the decoder attends
to nothing else, so the readings are the window's words alone. Where no chunk was kept
(sequential decoding, a call past the engine's memory bound) the window's turns are packed into
pieces of at most 28 s and encoded once more.

Cost: one forced decoding per reading (one at a time), a few readings per phrase, each in time
proportional to the window's words and audio, not the chunk's; an encoder pass only where no chunk
was kept; only the turns of windows where the text lacks a phrase.
"""

from __future__ import annotations

import difflib
import math
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from audits.calldata.transcript import PhraseScore, Turn, Word
from audits.verification import phrase_words
from pipeline.audio.decode import SAMPLE_RATE, Samples, to_float

if TYPE_CHECKING:
    from pipeline.asr.engine import AsrEngine, EncodedChunk

# Whisper's window: a turn longer than this is scored in pieces cut between words.
PIECE_SECONDS = 28.0
PAD_SECONDS = 0.2  # audio kept either side of a turn's speech (at most up to the neighbouring word)
GAP_SECONDS = 0.4  # silence between two turns packed into one piece (as ASR packs regions)
SPANS_TRIED = 2  # places in the decoded words where a phrase is put in, the likeliest by spelling
# A decoded word the decoder gave less than this probability may be a piece of a word it did not
# know: the place spelled most like a phrase is also tried taking it in. (Dev and tuning calls: 25
# of the 34 more phrases heard that taking in both neighbours of both places always finds, for 390
# of its 1722 more readings.)
UNSURE = 0.5
LAST_WORDS = (1, 2)  # how many of a window's last words a phrase is also put in place of (below)
# A phrase is put in at a turn's edge only where that much of the turn's audio per word of the
# phrase is covered by no decoded word (words the decoder dropped leave their time uncovered): a
# brisk 4 words a second is 0.25 s a word, and Whisper's word times stretch into a gap.
ROOM_PER_WORD = 0.15
FRAMES = 3000  # Whisper's 30 s window in feature frames
SECONDS_PER_OUTPUT = 0.02  # one encoder output: two feature frames
# Of a kept chunk, the readings are scored on the window's speech and this much either side (the
# chunk's padding included: silence after the last word tells the decoder its sentence ended).
# The rest of the chunk is no part of any reading, and each output frame cut off saves work on
# every token of every reading (tuning calls: verification -35 % CPU, statuses the same or better).
HEARD_AROUND = 1.0
_WORD = re.compile(r"[\w']+")


def plain(text: str) -> str:
    """Lower case, letters, digits and apostrophes only: how spellings are compared."""
    return " ".join(_WORD.findall(text.lower()))


@dataclass
class _Audio:
    """What one set of readings is scored against: a key (the same audio, the same encoder
    output), how to get that output, and the window's turns there, as spans of speech with their
    words."""

    key: tuple
    encoded: Callable[[], tuple]  # -> (encoder output, frames)
    spans: list[Span]


class AudioScorer:
    """Scores phrases on one call's audio; made for a call while its decoded channels are open."""

    def __init__(self, engine: AsrEngine, channels: list[Samples], language: str,
                 encoded: Sequence[EncodedChunk] = ()):
        from faster_whisper.tokenizer import Tokenizer

        self.model = engine.model
        self.channels = channels
        self.tokenizer = Tokenizer(self.model.hf_tokenizer, self.model.model.is_multilingual,
                                   task="transcribe", language=language.split("-")[0])
        self.chunks = list(encoded)
        self._encoded: tuple | None = None  # (key, encoder output, frames, scores): the last audio encoded
        self.seconds = 0.0  # spent scoring, for the bench
        self.encoder_passes = 0  # audio encoded again (no kept chunk held it)

    def score(self, turns: Sequence[Turn], phrases: Sequence[str]) -> list[PhraseScore] | None:
        """One PhraseScore per phrase: the best reading of the turns' words with the phrase put in
        against the words as decoded, in the chunk (or piece) where the phrase fits best. The
        turns are one speaker's (one channel)."""
        spans = _spans(turns)
        if not spans or not phrases:
            return None
        started = time.perf_counter()
        best: dict[str, PhraseScore] = {}
        for audio in self._kept(turns, spans) or self._packed(turns, spans):
            words = [w for _, _, span_words in audio.spans for w in span_words]
            heard = " ".join(w.text.strip() for w in words)
            edges, at = [], 0  # (word index, seconds of the turn's audio no word covers there)
            for start, end, span_words in audio.spans:
                edges += [(at, span_words[0].start - start), (at + len(span_words), end - span_words[-1].end)]
                at += len(span_words)
            readings = {phrase: _readings(words, phrase, _roomy(edges, phrase)) for phrase in phrases}
            scores = self._scores(audio, list(dict.fromkeys([heard, *(t for r in readings.values() for t in r)])))
            for phrase, texts in readings.items():
                for text in texts:
                    candidate = PhraseScore(turns[0].start, turns[-1].end, phrase, round(scores[text], 3),
                                            round(scores[heard], 3), text, heard)
                    kept = best.get(phrase)
                    if kept is None or candidate.margin > kept.margin:
                        best[phrase] = candidate
        self.seconds += time.perf_counter() - started
        return [best[phrase] for phrase in phrases if phrase in best]

    def readings(self, channel: int, start: float, end: float, texts: list[str]) -> dict[str, float]:
        """The summed log-probability of each text as the reading of one channel's stretch of
        speech (at most PIECE_SECONDS), encoded anew as ASR heard it, with no prompt."""
        samples, spans = self.channels[channel], [(start, end, [])]
        return self._scores(_Audio(("packed", id(samples), start, end),
                                   lambda: self._encode(_packed(samples, spans)), spans), texts)

    def _kept(self, turns: Sequence[Turn], spans: list[Span]) -> list[_Audio] | None:
        """The window's spans in the chunks ASR kept, each chunk's encoder output cut to them
        (HEARD_AROUND either side; a span ASR decoded in two chunks is two spans); None unless every
        word of the window lies in a kept chunk."""
        channel = turns[0].channel or 0
        by_chunk: dict[int, list[Span]] = {}
        for start, end, words in spans:
            parts: list[tuple[int, list[Word]]] = []  # the span's words, cut where the chunk changes
            for word in words:
                held = self._holding(channel, word)
                if len(held) != 1:  # a word in no kept chunk, or in two
                    return None
                k = held.pop()
                if not parts or parts[-1][0] != k:
                    parts.append((k, []))
                parts[-1][1].append(word)
            for n, (k, part) in enumerate(parts):  # a part ends where the span does, or at its last word
                by_chunk.setdefault(k, []).append((start if n == 0 else part[0].start,
                                                   end if n == len(parts) - 1 else part[-1].end, part))
        audios = []
        for k, chunk_spans in by_chunk.items():
            chunk = self.chunks[k]
            outputs = chunk.output.shape[1]
            first = max(0, math.floor((chunk.seconds_in(chunk_spans[0][0]) - HEARD_AROUND) / SECONDS_PER_OUTPUT))
            last = min(outputs, math.ceil((chunk.seconds_in(chunk_spans[-1][1]) + HEARD_AROUND) / SECONDS_PER_OUTPUT))
            audios.append(_Audio(("chunk", k, first, last), lambda chunk=chunk, first=first, last=last: (
                np.ascontiguousarray(chunk.output[:, first:last]), 2 * (last - first)), chunk_spans))
        return audios

    def _holding(self, channel: int, word: Word) -> set[int]:
        """The kept chunks holding a word: by its middle, else by either end (Whisper may stretch a
        word over the gap between two pieces of a chunk), else the nearest within HEARD_AROUND (ASR
        places a word timed just outside every piece in the nearest)."""
        for times in ([(word.start + word.end) / 2], [word.start, word.end]):
            held = {k for k, chunk in enumerate(self.chunks) for time in times if chunk.holds(channel, time)}
            if held:
                return held
        distances = {k: chunk.distance(channel, (word.start + word.end) / 2) for k, chunk in enumerate(self.chunks)}
        near = min(distances.values(), default=math.inf)
        return {k for k, d in distances.items() if d == near} if near <= HEARD_AROUND else set()

    def _packed(self, turns: Sequence[Turn], spans: list[Span]) -> list[_Audio]:
        """The window's spans packed into pieces of at most PIECE_SECONDS, encoded anew."""
        turn = turns[0]
        samples = self.channels[turn.channel if turn.channel is not None and turn.channel < len(self.channels) else 0]
        return [_Audio(("packed", id(samples), piece[0][0], piece[-1][1]),
                       lambda piece=piece: self._encode(_packed(samples, piece)), piece)
                for piece in _pieces(spans)]

    def _encode(self, audio: np.ndarray) -> tuple:
        self.encoder_passes += 1
        features = self.model.feature_extractor(audio)[:, :FRAMES]
        frames = min(FRAMES, max(1, len(audio) // self.model.feature_extractor.hop_length))
        features = np.pad(features, ((0, 0), (0, FRAMES - features.shape[1])))
        return np.asarray(self.model.encode(features)), frames

    def _scores(self, audio: _Audio, texts: list[str]) -> dict[str, float]:
        """The summed log-probability of each text as the reading of ``audio``."""
        import ctranslate2

        if self._encoded is None or self._encoded[0] != audio.key:
            output, frames = audio.encoded()
            self._encoded = (audio.key, ctranslate2.StorageView.from_array(output), frames, {})
        _, encoded, frames, known = self._encoded  # known: the readings of this audio scored so far
        start = [*self.tokenizer.sot_sequence, self.tokenizer.no_timestamps]
        for text in texts:  # one at a time: a batch repeats the encoder output, its cost per reading is no lower
            if text not in known:
                # Only the token probabilities are read: a median filter of width 1 skips the filtering
                # of the attention for word timings (a third of align's time; the same probabilities).
                [result] = self.model.model.align(encoded, start, [self.tokenizer.encode(" " + text)], [frames],
                                                  median_filter_width=1)
                probabilities = np.maximum(np.asarray(result.text_token_probs, dtype=np.float64), 1e-12)
                known[text] = float(np.log(probabilities).sum())
        return {text: known[text] for text in texts}


Span = tuple[float, float, list[Word]]  # a stretch of speech (a turn, or part of a long one) and its words


def _spans(turns: Sequence[Turn]) -> list[Span]:
    """Each turn's speech (its VAD region: words the decoder dropped are in there too), a turn
    longer than PIECE_SECONDS cut between two words."""
    spans: list[Span] = []
    for turn in turns:
        start, words = turn.start, []
        for word in turn.words:
            if words and word.end - start > PIECE_SECONDS:
                spans.append((start, word.start, words))
                start, words = word.start, []
            words.append(word)
        spans.append((start, turn.end, words))
    return [span for span in spans if span[2]]


def _seconds(spans: list[Span]) -> float:
    return sum(end - start + 2 * PAD_SECONDS for start, end, _ in spans) + GAP_SECONDS * (len(spans) - 1)


def _pieces(spans: list[Span]) -> list[list[Span]]:
    """Spans packed into pieces of at most PIECE_SECONDS (Whisper hears 30 s at a time)."""
    pieces: list[list[Span]] = [[]]
    for span in spans:
        if pieces[-1] and _seconds([*pieces[-1], span]) > PIECE_SECONDS:
            pieces.append([])
        pieces[-1].append(span)
    return pieces


def _packed(samples: Samples, spans: list[Span]) -> np.ndarray:
    """The spans' audio with PAD_SECONDS either side, joined by GAP_SECONDS of silence, the way
    ASR heard them."""
    gap = np.zeros(int(GAP_SECONDS * SAMPLE_RATE), dtype=np.float32)
    parts = []
    for start, end, _ in spans:
        if parts:
            parts.append(gap)
        parts.append(to_float(samples[max(0, int((start - PAD_SECONDS) * SAMPLE_RATE)):
                                      min(len(samples), int((end + PAD_SECONDS) * SAMPLE_RATE))]))
    return np.concatenate(parts).astype(np.float32, copy=False)


def _roomy(edges: list[tuple[int, float]], phrase: str) -> list[int]:
    """The edges with room for ``phrase`` (ROOM_PER_WORD per word)."""
    return sorted({index for index, room in edges if room >= ROOM_PER_WORD * phrase_words(phrase)})


def _readings(words: list[Word], phrase: str, edges: Sequence[int] = ()) -> list[str]:
    """The decoded words with ``phrase`` put in: in place of the SPANS_TRIED runs of words spelled
    most like it (up to two words more or fewer than the phrase has), the first also taking in the
    decoded word before it, or the one after it, where the decoder was UNSURE of that word (ASR
    cuts a word it does not know into pieces it is unsure of, which spell like nothing: in "say/0.18
    pastor/0.09 with center" for "Apex service centre" the run spelled most like 'service center'
    is "with center", and "pastor" holds the rest of it); and between two words at each of
    ``edges`` (word indices where a turn starts or ends: the decoder drops words at a turn's ends
    most); capitalised where a sentence starts. Put in place of words, the phrase's words that
    equal decoded ones keep the decoder's spelling (``_spelled_as_decoded``)."""
    from rapidfuzz.distance import Levenshtein

    texts = [w.text.strip() for w in words]
    plains = [plain(t) for t in texts]
    target = plain(phrase)
    size = len(target.split())
    spans = []
    for length in range(max(1, size - 2), size + 3):
        for first in range(len(texts) - length + 1):
            spelled = " ".join(p for p in plains[first:first + length] if p)
            spans.append((Levenshtein.distance(spelled, target), first, length))
    spans.sort()
    places = [(first, length) for _, first, length in spans[:SPANS_TRIED]]
    if spans:  # none when the window has fewer words than the phrase less two
        _, first, length = spans[0]
        if first > 0 and words[first - 1].probability < UNSURE:
            places.append((first - 1, length + 1))
        if first + length < len(words) and words[first + length].probability < UNSURE:
            places.append((first, length + 1))
    places += [(edge, 0) for edge in edges]
    # In place of the window's last word or two where the decoder was UNSURE of one: it garbles a
    # speaker's last words into ones spelled like nothing ("goodbye" as "to/0.14 apply", "Subscribe/0.08"),
    # which no spelling ranks first.
    places += [(len(words) - length, length) for length in LAST_WORDS if length <= len(words)
               and min(w.probability for w in words[-length:]) < UNSURE]
    readings: list[str] = []
    for first, length in places:
        replaced = texts[first:first + length]
        tail = re.sub(r"^.*?([.,!?;:]*)$", r"\1", replaced[-1]) if replaced else ""
        before = texts[first - 1] if first else ""
        capital = replaced[0][:1].isupper() if replaced else (not before or before[-1:] in ".!?")
        said = phrase[:1].upper() + phrase[1:] if capital else phrase
        if replaced:
            said, tail = _spelled_as_decoded(replaced, said, tail)
        if not replaced and before and before[-1:].isalnum():  # put in after a word: end its sentence
            said = said[:1].upper() + said[1:]
            texts_before = [*texts[:first - 1], before + "."]
        else:
            texts_before = texts[:first]
        after = texts[first + length:]
        if not replaced and after and after[0][:1].isupper():  # put in before a sentence: end its own
            tail = "."
        text = " ".join([*texts_before, said + tail, *after])
        if text not in readings:
            readings.append(text)
    return readings


def _spelled_as_decoded(replaced: list[str], said: str, tail: str) -> tuple[str, str]:
    """``said`` in place of the decoded words ``replaced``, the words they share (as ``plain``
    compares them) spelled as decoded, and the punctuation to add after it: only the words that
    differ are put to the audio. Spelled anew, a shared word would win the phrase nats for the
    decoder's odd punctuation and casing alone (".I. can't help you" read as "I can't help it" was
    "heard", 2.8 nats likelier than as decoded, for the unlikely ".I.")."""
    said_words = said.split()
    matcher = difflib.SequenceMatcher(None, [plain(w) for w in replaced], [plain(w) for w in said_words],
                                      autojunk=False)
    kept: list[str] = []
    ends_as_decoded = False  # the last decoded word kept, with its own punctuation
    for op, first, last, said_first, said_last in matcher.get_opcodes():
        kept += replaced[first:last] if op == "equal" else said_words[said_first:said_last]
        ends_as_decoded = op == "equal" and last == len(replaced) and said_last == len(said_words)
    return " ".join(kept), "" if ends_as_decoded else tail
