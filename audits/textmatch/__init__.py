"""ASR-robust phrase matching for Mandarin and English call transcripts.

Transcripts come from Whisper, so the text the agent "said" differs from the text in the
service specification in predictable ways: homophones (您好/你好, 在/再, 帐/账), traditional
characters, full-width forms, missing or extra punctuation, filler words (嗯, 啊, 那个, um, uh),
contractions and words run together or split apart.  This package answers "did the agent say
phrase X" with evidence quoted from the original transcript:

* :func:`normalize` – the canonical text form both sides are compared in.
* :class:`PhraseMatcher` – finds every occurrence of any of a list of phrases in a text,
  fuzzy but word-aware, and maps each hit back to the original characters.

Chinese is compared by toneless pinyin syllables (one unit per character, a Latin word or
number is one unit) with a weighted edit distance: identical character 0, same pinyin
(homophone) 0.05, confusable pinyin (z/zh, n/l, an/ang, in/ing/i ...) 0.2, anything else 1.
English is compared per word window with rapidfuzz's ``fuzz.ratio`` on the joined words.
Both languages refuse a fuzzy hit whose negation differs from the phrase (我知道 vs 我不知道,
"possible" vs "impossible", "i can help" vs "i can not help").

Modules, in the order a match runs through them:

* ``normalize`` – canonical text with a map back to the original (``chinese``, ``english``:
  each language's characters, words, numbers and pinyin)
* ``fillers`` – fillers compiled and dropped from token lists
* ``units`` – texts and phrases as comparison units (character / word)
* ``phrases`` – a phrase compiled with the threshold's bounds; the candidate hit
* ``zh_match`` / ``en_match`` (with ``en_score``) – each language's search and scoring
* ``negation`` – the negators and the negation guards of both languages
* ``matcher`` – ``PhraseMatcher`` and ``Match``: overlaps resolved, hits quoted
"""

from audits.textmatch.matcher import Match, PhraseMatcher
from audits.textmatch.normalize import language_family, normalize

__all__ = ["Match", "PhraseMatcher", "normalize", "language_family"]
