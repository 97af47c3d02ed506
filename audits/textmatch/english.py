"""English words: contractions and transcriber spellings expanded, the quick normalisation of
plain sentences, and the words too common to look a phrase up by."""

from __future__ import annotations

import re

# A word: letters and digits, apostrophes inside ("customer's").
WORD_RE = re.compile(r"[^\W_]+(?:'[^\W_]+)*", re.UNICODE)
APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u00b4": "'", "`": "'"})

# Contractions and ASR/chat spellings, applied per word after lower-casing.
_SPELLINGS = {
    "can't": "can not", "cannot": "can not", "won't": "will not", "shan't": "shall not",
    "ain't": "is not", "let's": "let us", "y'all": "you all",
    "u": "you", "ur": "your", "pls": "please", "plz": "please", "thx": "thank you",
    "okay": "ok", "thanks": "thank you", "thank-you": "thank you",
    # apostrophe dropped by the transcriber
    "dont": "do not", "cant": "can not", "didnt": "did not", "doesnt": "does not",
    "isnt": "is not", "arent": "are not", "wasnt": "was not", "werent": "were not",
    "couldnt": "could not", "wouldnt": "would not", "shouldnt": "should not",
    "havent": "have not", "hasnt": "has not", "youre": "you are", "theyre": "they are",
    "thats": "that is", "whats": "what is", "im": "i am", "ive": "i have", "youve": "you have",
}
_SUFFIXES = (("n't", " not"), ("'re", " are"), ("'ve", " have"), ("'ll", " will"),
             ("'m", " am"), ("'d", " would"))
_S_MEANS_IS = {"it", "that", "what", "there", "here", "he", "she", "who", "where", "how", "this",
               "everything", "nothing", "something", "that", "when", "why"}

# Words a phrase is not looked up by when it has others (see en_match.py).
STOP_WORDS = frozenset("""a an the to of for and or i you we he she it is am are was were be
be been do does did can could will would shall should may might must with in on at by this that
your my our me us so just please""".split())


def expanded(word: str) -> str:
    """A lower-case word as the words it stands for: "can't" -> "can not", "that's" -> "that is",
    "customer's" -> "customers"; the word itself when it is none of these."""
    spelled = _SPELLINGS.get(word)
    if spelled is not None:
        return spelled
    if "'" not in word:
        return word
    for suffix, replacement in _SUFFIXES:
        if word.endswith(suffix) and len(word) > len(suffix):
            return word[: -len(suffix)] + replacement
    if word.endswith("'s"):
        stem = word[:-2]
        if stem in _S_MEANS_IS:
            return stem + " is"
        return stem + "s"  # possessive: "customer's" ~ "customers" (Whisper drops either)
    return word.replace("'", "")


def normalize_plain(text: str) -> tuple[str, list[int], list[int]]:
    """``normalize_with_offsets`` of ASCII English without apostrophes (most transcript
    sentences), word by word: the words (expanded by _SPELLINGS) joined by single spaces; a word's
    characters map to themselves, an expansion's all to the word it replaces, a space to the gap's
    first character."""
    words: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    gap = 0
    for m in WORD_RE.finditer(text.lower()):
        i, j = m.span()
        if words:
            starts.append(gap)
            ends.append(gap + 1)
        word = m.group()
        spelled = _SPELLINGS.get(word)
        if spelled is None:
            words.append(word)
            starts.extend(range(i, j))
            ends.extend(range(i + 1, j + 1))
        else:
            words.append(spelled)
            starts.extend([i] * len(spelled))
            ends.extend([j] * len(spelled))
        gap = j
    return " ".join(words), starts, ends
