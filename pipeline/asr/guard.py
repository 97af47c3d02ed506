"""The loop and hallucination guard of batched decoding.

faster-whisper's ``BatchedInferencePipeline`` decodes each chunk once, at temperature 0, with no
fallback: a chunk whose beam falls into a repetition loop ("you can submit it in the number of
undercurrents, and you can submit it…" for a whole turn) or that reads unlikely is kept as it
came out. Each chunk's reading is judged here from what the batched pass reports (its text's
compression ratio, its mean token log-probability, its no-speech probability) and from its words
(one run of three words repeated); a suspect chunk is decoded again by the engine, window by
window at temperature 0 (then, if it still loops, with repeated runs blocked: never sampled, see
``AsrEngine._guarded``), and ``better`` says which reading to keep.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from dataclasses import dataclass

_WORD = re.compile(r"[\w']+")
NGRAM = 3
# A run of this many words read twice in one chunk: the decoder went back and read the chunk's
# start again (seen on the test calls: a greeting read again in place of the farewell).
LONG_RUN = 8
NO_SPEECH = 0.6  # above this no-speech probability a low log-probability is silence, not a misreading


@dataclass(frozen=True)
class Reading:
    """One reading of a chunk and the figures the guard judges it by."""

    text: str
    avg_logprob: float
    no_speech_prob: float = 0.0

    @property
    def repeats(self) -> int:
        """How many times the commonest run of NGRAM words occurs."""
        words = _WORD.findall(self.text.lower())
        runs = Counter(tuple(words[i:i + NGRAM]) for i in range(len(words) - NGRAM + 1))
        return max(runs.values(), default=0)

    @property
    def long_run_repeated(self) -> bool:
        """Some run of LONG_RUN words occurs twice."""
        words = _WORD.findall(self.text.lower())
        runs = Counter(tuple(words[i:i + LONG_RUN]) for i in range(len(words) - LONG_RUN + 1))
        return max(runs.values(), default=0) >= 2

    @property
    def compression_ratio(self) -> float:
        data = self.text.encode("utf-8")
        return len(data) / len(zlib.compress(data)) if data else 0.0


def suspect(reading: Reading, settings: dict) -> str | None:
    """Why a chunk's reading is suspect ("loop: …", "unlikely: …"), or None."""
    reasons = []
    if reading.repeats >= settings["guard_repeats"]:
        reasons.append(f"a run of {NGRAM} words {reading.repeats} times")
    if reading.long_run_repeated:
        reasons.append(f"a run of {LONG_RUN} words read twice")
    if reading.compression_ratio > settings["guard_compression_ratio"]:
        reasons.append(f"compression ratio {reading.compression_ratio:.2f}")
    if reasons:
        return "loop: " + ", ".join(reasons)
    if reading.text.strip() and reading.avg_logprob < settings["guard_log_prob"] and reading.no_speech_prob < NO_SPEECH:
        return f"unlikely: mean token log-probability {reading.avg_logprob:.2f}"
    return None


def loops(text: str, settings: dict) -> bool:
    """A reading that repeats a run of words (``suspect``'s loop tests, on the text alone)."""
    reading = Reading(text, 0.0)
    return reading.repeats >= settings["guard_repeats"] or reading.long_run_repeated


def better(second: Reading, first: Reading, settings: dict) -> bool:
    """Keep the second reading? When it loops less (fewer repeats, then a lower compression ratio
    when the first was over the limit), else when it is likelier; never an empty one for words."""
    if not second.text.strip():
        return not first.text.strip()
    first_loop = suspect(first, settings) or ""
    second_loop = suspect(second, settings) or ""
    if first_loop.startswith("loop") or second_loop.startswith("loop"):
        key = (lambda r: (r.repeats >= settings["guard_repeats"] or r.long_run_repeated, r.repeats,
                          round(r.compression_ratio, 2)))
        if key(second) != key(first):
            return key(second) < key(first)
    return second.avg_logprob > first.avg_logprob


def echoes(text: str, other: str) -> bool:
    """``text`` repeats ``other``: a run of LONG_RUN of its words (all of them, when it has fewer
    but at least NGRAM + 1) occurs in ``other``."""
    words, others = _WORD.findall(text.lower()), _WORD.findall(other.lower())
    size = min(LONG_RUN, len(words))
    if size <= NGRAM:
        return False
    runs = {tuple(others[i:i + size]) for i in range(len(others) - size + 1)}
    return any(tuple(words[i:i + size]) in runs for i in range(len(words) - size + 1))
