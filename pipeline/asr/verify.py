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

Cost: one encoder pass per turn asked about (at most 30 s of audio) and one forced decoding of a
few readings per phrase, batched; only the turns of windows where the text lacks a phrase.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Sequence

import numpy as np

from audits.calldata.transcript import PhraseScore, Turn, Word
from pipeline.audio.decode import SAMPLE_RATE, Samples, to_float

if TYPE_CHECKING:
    from pipeline.asr.engine import AsrEngine

# Whisper's window: a turn longer than this is scored in pieces cut between words.
PIECE_SECONDS = 28.0
PAD_SECONDS = 0.2  # audio kept either side of a turn's speech (at most up to the neighbouring word)
GAP_SECONDS = 0.4  # silence between two turns packed into one piece (as ASR packs regions)
SPANS_TRIED = 2  # places in the decoded words where a phrase is put in, the likeliest by spelling
FRAMES = 3000  # Whisper's 30 s window in feature frames
_WORD = re.compile(r"[\w']+")


def plain(text: str) -> str:
    """Lower case, letters, digits and apostrophes only: how spellings are compared."""
    return " ".join(_WORD.findall(text.lower()))


class AudioScorer:
    """Scores phrases on one call's audio; made for a call while its decoded channels are open."""

    def __init__(self, engine: AsrEngine, channels: list[Samples], language: str):
        from faster_whisper.tokenizer import Tokenizer

        self.model = engine.model
        self.channels = channels
        self.tokenizer = Tokenizer(self.model.hf_tokenizer, self.model.model.is_multilingual,
                                   task="transcribe", language=language.split("-")[0])
        self._encoded: tuple | None = None  # (piece, encoder output, frames, scores): the last piece encoded
        self.seconds = 0.0  # spent scoring, for the bench

    def score(self, turns: Sequence[Turn], phrases: Sequence[str]) -> list[PhraseScore] | None:
        """One PhraseScore per phrase: the best reading of the turns' words with the phrase put in
        against the words as decoded, on the piece (at most 28 s of their speech, packed) where the
        phrase fits best. The turns are one speaker's (one channel)."""
        spans = _spans(turns)
        if not spans or not phrases:
            return None
        started = time.perf_counter()
        turn = turns[0]
        samples = self.channels[turn.channel if turn.channel is not None and turn.channel < len(self.channels) else 0]
        best: dict[str, PhraseScore] = {}
        for piece in _pieces(spans):
            words = [w for _, _, span_words in piece for w in span_words]
            heard = " ".join(w.text.strip() for w in words)
            edges, at = [], 0
            for _, _, span_words in piece:
                edges += [at, at + len(span_words)]
                at += len(span_words)
            readings = {phrase: _readings(words, phrase, sorted(set(edges))) for phrase in phrases}
            scores = self._scores(samples, piece, list(dict.fromkeys([heard, *(t for r in readings.values() for t in r)])))
            for phrase, texts in readings.items():
                for text in texts:
                    candidate = PhraseScore(turns[0].start, turns[-1].end, phrase, round(scores[text], 3),
                                            round(scores[heard], 3), text, heard)
                    kept = best.get(phrase)
                    if kept is None or candidate.margin > kept.margin:
                        best[phrase] = candidate
        self.seconds += time.perf_counter() - started
        return [best[phrase] for phrase in phrases if phrase in best]

    def _scores(self, samples: Samples, piece: list[Span], texts: list[str]) -> dict[str, float]:
        """The summed log-probability of each text as the reading of ``piece``'s audio."""
        key = (id(samples), piece[0][0], piece[-1][1])
        if self._encoded is None or self._encoded[0] != key:
            audio = _packed(samples, piece)
            features = self.model.feature_extractor(audio)[:, :FRAMES]
            frames = min(FRAMES, max(1, len(audio) // self.model.feature_extractor.hop_length))
            features = np.pad(features, ((0, 0), (0, FRAMES - features.shape[1])))
            self._encoded = (key, self.model.encode(features), frames, {})
        _, encoded, frames, known = self._encoded  # known: this piece's readings scored so far
        start = [*self.tokenizer.sot_sequence, self.tokenizer.no_timestamps]
        for text in texts:  # one at a time: align's cost grows faster than its batch
            if text not in known:
                [result] = self.model.model.align(encoded, start, [self.tokenizer.encode(" " + text)], [frames])
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


def _readings(words: list[Word], phrase: str, edges: Sequence[int] = ()) -> list[str]:
    """The decoded words with ``phrase`` put in: in place of the SPANS_TRIED runs of words spelled
    most like it (up to two words more or fewer than the phrase has), and between two words at
    each of ``edges`` (word indices where a turn starts or ends: the decoder drops words at a
    turn's ends most); capitalised where a sentence starts."""
    from rapidfuzz.distance import Levenshtein

    texts = [w.text.strip() for w in words]
    plains = [plain(t) for t in texts]
    target = plain(phrase)
    size = len(target.split())
    spans = []
    for length in range(max(1, size - 2), size + 3):
        for first in range(0, len(texts) - length + 1):
            spelled = " ".join(p for p in plains[first:first + length] if p)
            spans.append((Levenshtein.distance(spelled, target), first, length))
    spans.sort()
    places = [(first, length) for _, first, length in spans[:SPANS_TRIED]] + [(edge, 0) for edge in edges]
    readings: list[str] = []
    for first, length in places:
        replaced = texts[first:first + length]
        tail = re.sub(r"^.*?([.,!?;:]*)$", r"\1", replaced[-1]) if replaced else ""
        before = texts[first - 1] if first else ""
        capital = replaced[0][:1].isupper() if replaced else (not before or before[-1:] in ".!?")
        said = phrase[:1].upper() + phrase[1:] if capital else phrase
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
