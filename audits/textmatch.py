"""ASR-robust phrase matching for Mandarin and English call transcripts.

Transcripts come from Whisper, so the text the agent "said" differs from the text in the
service specification in predictable ways: homophones (您好/你好, 在/再, 帐/账), traditional
characters, full-width forms, missing or extra punctuation, filler words (嗯, 啊, 那个, um, uh),
contractions and words run together or split apart.  This module answers "did the agent say
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
"""

from __future__ import annotations

import functools
import itertools
import logging
import re
import threading
import unicodedata
import zlib
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

__all__ = ["Match", "PhraseMatcher", "normalize", "language_family"]

# ---------------------------------------------------------------------------------------------
# Lazy, process-wide resources (jieba takes ~1 s to load its dictionary and logs to stderr).

_lock = threading.Lock()
_jieba = None
_opencc = None
_PINYIN_CACHE: dict[str, list[str]] = {}


def _get_jieba():
    global _jieba
    if _jieba is None:
        with _lock:
            if _jieba is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _jieba = jieba
    return _jieba


def _get_opencc():
    global _opencc
    if _opencc is None:
        with _lock:
            if _opencc is None:
                from opencc import OpenCC

                _opencc = OpenCC("t2s")
    return _opencc


def _pinyin_of(token: str) -> list[str]:
    """Toneless pinyin, one syllable per character of an all-CJK ``token`` (cached)."""
    hit = _PINYIN_CACHE.get(token)
    if hit is None:
        from pypinyin import lazy_pinyin

        hit = lazy_pinyin(token, errors=lambda chunk: list(chunk))
        if len(hit) != len(token):  # defensive: never misalign characters and syllables
            hit = [(lazy_pinyin(ch, errors=lambda chunk: list(chunk)) or [ch])[0] for ch in token]
        if len(_PINYIN_CACHE) > 200_000:
            _PINYIN_CACHE.clear()
        _PINYIN_CACHE[token] = hit
    return hit


def language_family(language: str) -> str:
    """``"zh"`` for any zh-* / cmn / yue tag, otherwise ``"en"``."""
    lang = (language or "").strip().lower().replace("_", "-")
    if lang.startswith(("zh", "cmn", "yue", "chinese", "mandarin")):
        return "zh"
    return "en"


# ---------------------------------------------------------------------------------------------
# Normalisation with an index map back to the original text.

# Variant characters OpenCC's t2s leaves alone but which Whisper and spec authors mix freely.
# Applied to both sides, so the only effect is that the variants compare equal.
_ZH_VARIANTS = str.maketrans({"帐": "账", "妳": "你", "祢": "你", "著": "着", "麽": "么"})
_ZH_VARIANT_PAIRS = (("甚么", "什么"),)

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u00b4": "'", "`": "'"})

# English contractions and ASR/chat spellings, applied per word after lower-casing.
_EN_WORDS = {
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
_EN_SUFFIXES = (("n't", " not"), ("'re", " are"), ("'ve", " have"), ("'ll", " will"),
                ("'m", " am"), ("'d", " would"))
_EN_S_IS = {"it", "that", "what", "there", "here", "he", "she", "who", "where", "how", "this",
            "everything", "nothing", "something", "that", "when", "why"}

_WORD_RE = re.compile(r"[^\W_]+(?:'[^\W_]+)*", re.UNICODE)
_ASCII_WORD_RE = re.compile(r"[a-z]+(?:'[a-z]+)*")
_DIGITS_RE = re.compile(r"[0-9]+")
_ZH_DIGITS = "零一二三四五六七八九"


def _zh_number(digits: str) -> str:
    """Arabic digits as Whisper writes them -> the Chinese characters a spec author writes.

    Up to four digits without a leading zero are read as a cardinal (24 -> 二十四, 1024 ->
    一千零二十四); longer runs or a leading zero digit by digit (95555 -> 九五五五五).
    """
    if len(digits) > 4 or (len(digits) > 1 and digits[0] == "0"):
        return "".join(_ZH_DIGITS[int(d)] for d in digits)
    n = int(digits)
    if n == 0:
        return "零"
    out = []
    units = ((1000, "千"), (100, "百"), (10, "十"), (1, ""))
    zero = False
    for val, name in units:
        d = n // val % 10
        if d == 0:
            if out:
                zero = True
            continue
        if zero:
            out.append("零")
            zero = False
        if not (val == 10 and d == 1 and not out):  # 十二, not 一十二
            out.append(_ZH_DIGITS[d])
        out.append(name)
    return "".join(out)


def _is_cjk(ch: str) -> bool:
    o = ord(ch)
    return (0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0x20000 <= o <= 0x2FA1F
            or 0xF900 <= o <= 0xFAFF or 0x3007 == o)


def _expand_en_word(word: str) -> str:
    w = _EN_WORDS.get(word)
    if w is not None:
        return w
    if "'" not in word:
        return word
    for suf, rep in _EN_SUFFIXES:
        if word.endswith(suf) and len(word) > len(suf):
            return word[: -len(suf)] + rep
    if word.endswith("'s"):
        stem = word[:-2]
        if stem in _EN_S_IS:
            return stem + " is"
        return stem + "s"  # possessive: "customer's" ~ "customers" (Whisper drops either)
    return word.replace("'", "")


def _normalize_map(text: str, language: str,
                   digitwise: bool = False) -> tuple[str, list[int], list[int]]:
    """Normalise ``text``; return it with, per output char, the original [start, end) span."""
    fam = language_family(language)
    if fam == "en" and text.isascii() and "'" not in text and "`" not in text:
        return _normalize_plain_en(text)
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    # 1. NFKC + lower-case + apostrophe unification, character by character (keeps the map).
    if text.isascii():  # NFKC leaves ASCII alone and lower() keeps its length: one char per char
        s = text.translate(_APOSTROPHES).lower()
        starts = list(range(len(text)))
        ends = list(range(1, len(text) + 1))
    else:
        for i, ch in enumerate(text):
            out = unicodedata.normalize("NFKC", ch).translate(_APOSTROPHES).lower()
            for c in out:
                chars.append(c)
                starts.append(i)
                ends.append(i + 1)
        s = "".join(chars)
    # 2. Traditional -> simplified (zh). OpenCC is phrase based; keep it when it is 1:1.
    if fam == "zh" and any(_is_cjk(c) for c in s):
        cc = _get_opencc()
        conv = cc.convert(s)
        if len(conv) != len(s):
            conv = "".join(cc.convert(c) if len(cc.convert(c)) == 1 else c for c in s)
        s = conv.translate(_ZH_VARIANTS)
        for a, b in _ZH_VARIANT_PAIRS:
            s = s.replace(a, b)
    # 3. Punctuation / symbols -> space; English contractions expanded per word.
    out_c: list[str] = []
    out_s: list[int] = []
    out_e: list[int] = []

    def emit(piece: str, a: int, b: int) -> None:
        for c in piece:
            if c.isspace():
                if out_c and out_c[-1] != " ":
                    out_c.append(" ")
                    out_s.append(a)
                    out_e.append(b)
            else:
                out_c.append(c)
                out_s.append(a)
                out_e.append(b)

    n = len(s) if fam == "zh" else 0
    if fam == "en":
        # Same as the loop below, word by word: a word (a run of letters/digits, apostrophes
        # inside) is copied or expanded; the non-word characters after it are one space, mapped to
        # the first of them.
        gap_from = 0
        for m in _WORD_RE.finditer(s):
            i, j = m.span()
            if i > gap_from and out_c and out_c[-1] != " ":  # emit(" ") for the gap, inlined
                out_c.append(" ")
                out_s.append(starts[gap_from])
                out_e.append(ends[gap_from])
            word = m.group()
            exp = _expand_en_word(word)
            if exp == word:
                if "'" in word:
                    for k in range(i, j):
                        if s[k] != "'":
                            out_c.append(s[k])
                            out_s.append(starts[k])
                            out_e.append(ends[k])
                else:
                    out_c.extend(word)
                    out_s.extend(starts[i:j])
                    out_e.extend(ends[i:j])
            else:
                emit(exp, starts[i], ends[j - 1])
            gap_from = j
        if gap_from < len(s):
            emit(" ", starts[gap_from], ends[gap_from])
    i = 0
    while i < n:
        c = s[i]
        if fam == "zh" and "0" <= c <= "9":
            m = _DIGITS_RE.match(s, i)
            j = m.end()
            run = s[i:j]
            emit("".join(_ZH_DIGITS[int(d)] for d in run) if digitwise else _zh_number(run),
                 starts[i], ends[j - 1])
            i = j
            continue
        if (fam == "en" and c.isalnum()) or ("a" <= c <= "z"):
            m = (_WORD_RE if fam == "en" else _ASCII_WORD_RE).match(s, i)
            j = m.end() if m else i + 1
            word = s[i:j]
            exp = _expand_en_word(word)
            if exp == word:
                for k in range(i, j):
                    if s[k] != "'":
                        emit(s[k], starts[k], ends[k])
            else:
                emit(exp, starts[i], ends[j - 1])
            i = j
            continue
        if c.isalnum() or _is_cjk(c):
            emit(c, starts[i], ends[i])
        else:  # punctuation, symbols, apostrophes outside words, whitespace
            emit(" ", starts[i], ends[i])
        i += 1
    # trim
    while out_c and out_c[-1] == " ":
        out_c.pop(); out_s.pop(); out_e.pop()
    k = 0
    while k < len(out_c) and out_c[k] == " ":
        k += 1
    return "".join(out_c[k:]), out_s[k:], out_e[k:]


def _normalize_plain_en(text: str) -> tuple[str, list[int], list[int]]:
    """``_normalize_map`` of ASCII English without apostrophes (most transcript sentences), word
    by word: the words (expanded by _EN_WORDS) joined by single spaces; a word's characters map to
    themselves, an expansion's all to the word it replaces, a space to the gap's first character."""
    words: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    gap = 0
    for m in _WORD_RE.finditer(text.lower()):
        i, j = m.span()
        if words:
            starts.append(gap)
            ends.append(gap + 1)
        word = m.group()
        expanded = _EN_WORDS.get(word)
        if expanded is None:
            words.append(word)
            starts.extend(range(i, j))
            ends.extend(range(i + 1, j + 1))
        else:
            words.append(expanded)
            starts.extend([i] * len(expanded))
            ends.extend([j] * len(expanded))
        gap = j
    return " ".join(words), starts, ends


def normalize(text: str, language: str) -> str:
    """Canonical comparison form of ``text``.

    NFKC (full/half width), traditional -> simplified plus a few variant characters (帐->账)
    for zh, lower case, English contractions expanded ("that's" -> "that is", "can't" ->
    "can not"), punctuation and symbols -> space, spaces collapsed. Fillers are kept.
    """
    return _normalize_map(text, language)[0]


# ---------------------------------------------------------------------------------------------
# Units: the comparison atoms (a CJK character or a Latin word / number).


@dataclass
class _Units:
    texts: list[str]          # unit text (normalised)
    keys: str                 # one code char per unit (fuzzy-equality class)
    sylls: list[str]          # toneless pinyin (zh) or the word itself
    ostart: list[int]         # original start offset of the unit
    oend: list[int]           # original end offset
    tok_start: list[bool]     # unit begins a word (jieba token / English word)
    soft_start: list[bool]    # unit begins a word, or only an adverb precedes it (真|对不起)
    tok_end: list[bool]       # unit ends a word
    soft_end: list[bool]      # unit ends a word, or the rest of its word is a particle (稍等|一下)
    neg_before: list[bool]    # the word right before this unit is a negator
    nstart: list[int]         # offset of the unit in the normalised text
    nmap: tuple[list[int], list[int]]  # normalised char -> original [start, end)


# Confusable pinyin (accent / ASR): initials z/zh c/ch s/sh n/l f/h; finals -ng/-n, i/in.
_INITIAL_MAP = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("l", "n"), ("f", "h"))
_KEY_CODES: dict[str, str] = {}


def _fuzzy_syllable(s: str) -> str:
    for a, b in _INITIAL_MAP:
        if s.startswith(a):
            s = b + s[len(a):]
            break
    if s.endswith("ng") and len(s) > 2:
        s = s[:-1]
    if s.endswith("in") and len(s) >= 2:
        s = s[:-1]  # nin ~ ni, xin ~ xi, ling ~ li (after the -ng step)
    return s


_INITIALS = ("zh", "ch", "sh", "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h", "j", "q",
             "x", "r", "z", "c", "s", "y", "w")
_CONF_COST: dict[tuple[str, str], float] = {}


def _split_syllable(s: str) -> tuple[str, str]:
    for ini in _INITIALS:
        if s.startswith(ini) and len(s) > len(ini):
            return ini, s[len(ini):]
    return "", s


def _confusable_cost(a: str, b: str) -> float:
    """Cost of two syllables with the same fuzzy key: _COST_CONFUSABLE per differing part
    (initial z/zh, n/l ...; final an/ang, in/ing, i/in), so 您/你 (nin/ni) costs 0.2 but
    里/您 (li/nin) 0.4."""
    c = _CONF_COST.get((a, b))
    if c is None:
        ia, fa = _split_syllable(a)
        ib, fb = _split_syllable(b)
        c = _COST_CONFUSABLE * ((ia != ib) + (fa != fb))
        if c == 0:
            c = _COST_HOMOPHONE
        if len(_CONF_COST) < 100_000:
            _CONF_COST[(a, b)] = c
    return c


def _key_code(key: str) -> str:
    c = _KEY_CODES.get(key)
    if c is None:
        with _lock:
            c = _KEY_CODES.get(key)
            if c is None:
                if len(_KEY_CODES) < 6000:
                    c = chr(0xE000 + len(_KEY_CODES))
                else:  # private-use plane 15; a collision only costs a wasted candidate
                    c = chr(0xF0000 + zlib.crc32(key.encode()) % 0xFFFD)
                if len(_KEY_CODES) < 100_000:
                    _KEY_CODES[key] = c
    return c


_ZH_NEG_CHARS = frozenset("不没别未")
_ZH_INTERJECTIONS = frozenset("喂嗯啊哦呃哎诶嘿哈唉噢喔嗨哟呀")
# Word tails jieba glues onto a word that do not change it (稍等一下, 好了): a short phrase may
# end before them even under whole_word.
_ZH_TAILS = frozenset({"一下", "一下儿", "一会", "一会儿", "了", "啊", "吧", "呢", "哦", "呀", "的",
                       "一点", "片刻", "哈", "嘛", "啦", "喔", "我", "你", "您", "他", "她"})
# Adverbs jieba glues in front of a word (真对不起, 真是): a 2-3 character phrase may start after
# them even under whole_word.
_ZH_HEADS = frozenset({"真", "太", "很", "也", "都", "就", "还", "又", "再", "可", "真是", "实在",
                       "非常", "特别"})
_ZH_NEG_WORDS = frozenset({"不", "没", "没有", "别", "未", "并不", "不太", "从未", "不是"})
_EN_NEG_WORDS = frozenset({"not", "no", "never", "nothing", "none", "nobody", "neither", "nor"})
_EN_NEG_BEFORE = frozenset({"not", "never"})
_EN_NEG_PREFIXES = ("im", "in", "un", "dis", "non", "ir", "il")


def _filler_set(fillers: Iterable[str], fam: str) -> tuple[frozenset, tuple[tuple[str, ...], ...]]:
    """Single-word fillers and multi-word filler sequences, normalised."""
    single: set[str] = set()
    multi: list[tuple[str, ...]] = []
    for f in fillers:
        nf = normalize(f, fam)
        if not nf:
            continue
        if fam == "en":
            toks = tuple(nf.split())
        else:
            toks = tuple(t for t in _get_jieba().lcut(nf.replace(" ", "")) if t.strip())
        if len(toks) == 1:
            single.add(toks[0])
        elif toks:
            multi.append(toks)
        if fam == "zh":
            single.add(nf.replace(" ", ""))
    multi.sort(key=len, reverse=True)
    return frozenset(single), tuple(multi)


def _is_filler_token(tok: str, single: frozenset) -> bool:
    """``tok`` consists only of strings from ``single`` (fillers: 嗯嗯, 啊啊啊, 'umm' is not
    'um'; word tails: 我了)."""
    if tok in single:
        return True
    if not single or len(tok) > 12:
        return False
    # decomposition into filler strings (嗯嗯, 嗯啊)
    return not tok or _filler_run(single).fullmatch(tok) is not None


@functools.lru_cache(maxsize=64)
def _filler_run(single: frozenset) -> re.Pattern:
    """One or more of the strings in ``single``, back to back."""
    return re.compile("(?:" + "|".join(map(re.escape, sorted(single, key=len, reverse=True))) + ")+")


def _clause_break(text: str, a: int, b: int, fam: str) -> bool:
    """Punctuation between original offsets a and b; for zh a space too (Whisper writes a
    space at a pause, Chinese has no spaces between words)."""
    for c in text[a:b]:
        if not c.isalnum() and (fam == "zh" or not c.isspace()):
            return True
    return False


def _split_token(tok: str, a: int) -> list[tuple[str, int, int]]:
    """Split a normalised token at offset ``a`` into units (CJK char / alnum run)."""
    if tok.isascii() and tok.isalnum():  # a plain Latin word or number: one unit
        return [(tok, a, a + len(tok))]
    out: list[tuple[str, int, int]] = []
    i, n = 0, len(tok)
    while i < n:
        c = tok[i]
        if _is_cjk(c):
            out.append((c, a + i, a + i + 1))
            i += 1
        elif c.isalnum():
            j = i + 1
            while j < n and tok[j].isalnum() and not _is_cjk(tok[j]):
                j += 1
            out.append((tok[i:j], a + i, a + j))
            i = j
        else:
            i += 1
    return out


def _units(text: str, fam: str, single: frozenset = frozenset(), multi: tuple = (),
           digitwise: bool = False) -> _Units:
    norm, ns, ne = _normalize_map(text, fam, digitwise)
    # tokens with their normalised offsets
    toks: list[tuple[str, int]] = []
    if fam == "zh":
        pos = 0
        # HMM off: unknown character runs stay single characters instead of being glued into
        # guessed words (我三克油 -> 我/三/克/油, not 我三克油), so only dictionary words such as
        # 为什么 or 喂养 keep a short phrase out.
        for t in _get_jieba().lcut(norm, HMM=False):
            if t.strip():
                toks.append((t, pos))
            pos += len(t)
    else:
        for m in re.finditer(r"\S+", norm):
            toks.append((m.group(), m.start()))
    # filler removal (single tokens, filler-only tokens, multi-token sequences)
    keep = [True] * len(toks)
    if (single or multi) and (fam == "zh" or _filler_tokens(single, multi).search(norm)):
        for i, (t, _) in enumerate(toks):
            if _is_filler_token(t, single):
                keep[i] = False
        for seq in multi:
            L = len(seq)
            first = seq[0]
            for i in range(len(toks) - L + 1):
                if toks[i][0] == first and all(toks[i + k][0] == seq[k] for k in range(L)):
                    for k in range(L):
                        keep[i + k] = False
    texts: list[str] = []
    sylls: list[str] = []
    keys: list[str] = []
    ostart: list[int] = []
    nst: list[int] = []
    oend: list[int] = []
    tstart: list[bool] = []
    softs: list[bool] = []
    tend: list[bool] = []
    softe: list[bool] = []
    negb: list[bool] = []
    neg_words = _ZH_NEG_WORDS if fam == "zh" else _EN_NEG_BEFORE
    prev_neg = False
    for (t, a), k in zip(toks, keep):
        if not k:
            continue
        if fam != "zh" and t.isascii() and t.isalnum():
            # a plain Latin word or number (most English tokens): one unit, its own word
            if prev_neg and oend and _clause_break(text, oend[-1], ns[a], fam):
                prev_neg = False
            texts.append(t)
            sylls.append(t)
            keys.append(" ")
            ostart.append(ns[a])
            oend.append(ne[a + len(t) - 1])
            nst.append(a)
            tstart.append(True)
            softs.append(True)
            tend.append(True)
            softe.append(True)
            negb.append(prev_neg)
            prev_neg = t in neg_words
            continue
        parts = _split_token(t, a)
        if not parts:
            continue
        if prev_neg and oend and _clause_break(text, oend[-1], ns[parts[0][1]], fam):
            prev_neg = False  # "没有，您好": punctuation ends the negation's reach
        if (fam == "zh" and len(parts) > 1 and len(set(p[0] for p in parts)) == 1
                and parts[0][0] in _ZH_INTERJECTIONS):
            # reduplicated interjection (喂喂, 嗯嗯): every repeat is a word of its own
            for u, ua, ub in parts:
                syl = _pinyin_of(u)[0] if _is_cjk(u[0]) else u
                key = _fuzzy_syllable(syl) if _is_cjk(u[0]) else "#" + u
                texts.append(u); sylls.append(syl); keys.append(_key_code(key))
                ostart.append(ns[ua]); oend.append(ne[ub - 1]); nst.append(ua)
                tstart.append(True); softs.append(True); tend.append(True); softe.append(True)
                negb.append(prev_neg)
                prev_neg = u in neg_words
            continue
        if fam == "zh":
            cjk = "".join(p[0] for p in parts if _is_cjk(p[0][0]))
            py = iter(_pinyin_of(cjk)) if cjk else iter(())
        for idx, (u, ua, ub) in enumerate(parts):
            if fam == "zh" and _is_cjk(u[0]):
                syl = next(py)
                key = _fuzzy_syllable(syl)
            else:
                syl = u
                key = "#" + u
            texts.append(u)
            sylls.append(syl)
            keys.append(_key_code(key) if fam == "zh" else " ")  # en does not use keys
            ostart.append(ns[ua])
            oend.append(ne[ub - 1])
            nst.append(ua)
            tstart.append(idx == 0)
            softs.append(idx == 0 or t[: ua - a] in _ZH_HEADS)
            tend.append(idx == len(parts) - 1)
            softe.append(idx == len(parts) - 1 or _is_filler_token(t[ub - a:], _ZH_TAILS))
            negb.append(prev_neg if idx == 0 else False)
        prev_neg = t in neg_words
    return _Units(texts, "".join(keys), sylls, ostart, oend, tstart, softs, tend, softe, negb,
                  nst, (ns, ne))


def _en_index(t: _Units) -> dict[str, list[int]]:
    """English units' positions per word, and per two words run together ("follow up" /
    "followup"); made once per text, kept on the units."""
    pos = t.__dict__.get("_en_pos")
    if pos is None:
        pos = {}
        texts = t.texts
        for i, w in enumerate(texts):
            at = pos.get(w)
            if at is None:
                pos[w] = [i]
            else:
                at.append(i)
        for i, w in enumerate(map(str.__add__, texts, texts[1:])):
            at = pos.get(w)
            if at is None:
                pos[w] = [i]
            else:
                at.append(i)
        t.__dict__["_en_pos"] = pos
    return pos


def _en_near(t: _Units, matcher: PhraseMatcher) -> dict[int, list[str]]:
    """Per long single-word phrase of ``matcher`` (by number), the words of ``t``'s index that are
    near-spellings of it; kept on the units per matcher."""
    cache = t.__dict__.setdefault("_en_near", {})
    found = cache.get(id(matcher))
    if found is None or found[0] is not matcher:
        near: dict[int, list[str]] = {}
        lengths = matcher._spelled_lengths
        for w in _en_index(t):
            for pi in matcher._near(w) if len(w) in lengths else ():
                near.setdefault(pi, []).append(w)
        found = cache[id(matcher)] = (matcher, near)
    return found[1]


def _en_letters(t: _Units) -> tuple[str, list[int]]:
    """The units run together, and the characters before each unit (prefix sums of their
    lengths): the window of ``w`` units at ``s`` is ``letters[chars[s]:chars[s + w]]``."""
    found = t.__dict__.get("_en_letters")
    if found is None:
        found = t.__dict__["_en_letters"] = ("".join(t.texts), [0, *itertools.accumulate(map(len, t.texts))])
    return found


@functools.lru_cache(maxsize=8192)
def _en_keys(text: str, single: frozenset, multi: tuple) -> tuple[frozenset[str], frozenset[str]] | None:
    """The words of the units of an English ``text``, and the keys ``_en_index`` would give them
    (the words, and every two adjacent words run together), found without building the units;
    None when that shortcut does not apply (non-ASCII text, a word that is not plain letters and
    digits, a filler present)."""
    if not text.isascii():
        return None
    tokens: list[str] = []
    for word in _WORD_RE.findall(text.translate(_APOSTROPHES).lower()):
        expanded = _expand_en_word(word)
        if expanded is word:
            tokens.append(word)
        else:
            tokens.extend(expanded.split())
    joined = " ".join(tokens)
    if "'" in joined:  # words are letters and digits, apostrophes inside: these are the others
        return None
    if (single or multi) and _filler_tokens(single, multi).search(joined):
        return None  # a filler would be left out of the units: no shortcut
    words = frozenset(tokens)
    return words, words.union(map(str.__add__, tokens, tokens[1:]))


@functools.lru_cache(maxsize=64)
def _filler_tokens(single: frozenset, multi: tuple) -> re.Pattern:
    """Whitespace-separated tokens that are fillers: a run of single fillers (嗯嗯, 'umum'), or a
    multi-word filler's words in a row. Finds every token ``_units`` would leave out, and maybe
    more (a run longer than 12 characters)."""
    alternatives = []
    if single:
        alternatives.append("(?:" + "|".join(map(re.escape, sorted(single, key=len, reverse=True))) + ")+")
    alternatives += [r"\s+".join(map(re.escape, seq)) for seq in multi]
    return re.compile(r"(?<!\S)(?:" + "|".join(alternatives) + r")(?!\S)")


@functools.lru_cache(maxsize=1024)
def _text_units(text: str, fam: str, single: frozenset, multi: tuple) -> _Units:
    """``_units`` of a transcript text, cached: one call's turns are searched by every matcher of
    the spec (a few dozen), and matchers with the same fillers share the work. Callers must not
    modify the result. The size holds an hour-long call's turns; more is no faster, as every
    collection of the oldest generation walks each cached text's ~70 lists (8192 entries: 2.4 s
    of garbage collection in a 1000-call rescore, 0.8 s with 1024)."""
    return _units(text, fam, single, multi)


# ---------------------------------------------------------------------------------------------
# Public result type


@dataclass(frozen=True)
class Match:
    phrase: str   # the spec phrase that matched (as written in the spec)
    start: int    # char offset of the match in the ORIGINAL text passed to find()
    end: int      # end offset (exclusive) in the original text
    text: str     # original[start:end] - quoted as evidence
    score: float  # 0..1 similarity (1.0 = exact after normalisation)


# ---------------------------------------------------------------------------------------------
# Phrase preparation


@dataclass
class _Phrase:
    index: int
    raw: str
    texts: list[str]
    sylls: list[str]
    keys: str
    n: int
    h: int                      # max hard (key-level) edits compatible with the threshold
    hd: int                     # zh: max deleted phrase units
    budgets: list[int]          # zh: per window length, the key-level cost budget (x2)
    pieces: list[tuple[str, int]]  # pigeonhole pieces (key string, offset) - zh
    neg: int                    # negator count (zh chars / en words)
    starts_neg: bool
    joined: str                 # en: words joined without spaces
    anchors: list[tuple[str, int]]  # en: (word, index) used to find candidate windows
    tokset: frozenset
    max_uncovered: int          # en: most words a window may lack and still score >= threshold
    word_scores: dict = field(default_factory=dict)  # en: window words -> _en_word_score

    def word_score(self, window: list[str]) -> float:
        """``_en_word_score`` of a window against this phrase, kept per window: agents say the
        same scripted sentences call after call, so the windows near a phrase recur."""
        key = tuple(window)
        score = self.word_scores.get(key)
        if score is None:
            if len(self.word_scores) >= 4096:
                self.word_scores.clear()
            score = self.word_scores[key] = _en_word_score(self.texts, window)
        return score


def _max_zh_insertions(n: int, threshold: float) -> int:
    """Most key-level edits a zh window can have and still score >= threshold (all of them
    insertions at _COST_INSERT: 0.5 k <= (1 - t)(n + k))."""
    slack = 1.0 - threshold
    if threshold <= _COST_INSERT:
        return 2 * n
    return max(0, int(slack * n / (threshold - _COST_INSERT) + 1e-9))


def _max_zh_deletions(n: int, threshold: float) -> int:
    return max(0, min(n - 1, int((1.0 - threshold) * n + 1e-9)))


_EN_STOP = frozenset("""a an the to of for and or i you we he she it is am are was were be
be been do does did can could will would shall should may might must with in on at by this that
your my our me us so just please""".split())


def _prepare(index: int, raw: str, fam: str, threshold: float, digitwise: bool = False,
             single: frozenset = frozenset(), multi: tuple = ()) -> _Phrase | None:
    u = _units(raw, fam, single, multi, digitwise=digitwise)
    n = len(u.texts)
    if n == 0:
        return None
    if fam == "zh":
        h = _max_zh_insertions(n, threshold)
        if n <= 1:
            h = 0
        # split keys into h+1 contiguous pieces (pigeonhole: one survives h edits intact)
        pieces = []
        k = h + 1
        for p in range(k):
            a = (p * n) // k
            b = ((p + 1) * n) // k
            if b > a:
                pieces.append((u.keys[a:b], a))
        neg = sum(1 for t in u.texts if t in _ZH_NEG_CHARS)
        starts_neg = u.texts[0] in _ZH_NEG_CHARS
        anchors = []
    else:
        h = 2 if n > 1 else 0
        pieces = []
        neg = sum(1 for t in u.texts if t in _EN_NEG_WORDS)
        starts_neg = u.texts[0] in _EN_NEG_WORDS
        content = [(t, i) for i, t in enumerate(u.texts) if t not in _EN_STOP]
        anchors = content or [(t, i) for i, t in enumerate(u.texts)]
        anchors += [(u.texts[i] + u.texts[i + 1], i) for i in range(n - 1)]
    hd = _max_zh_deletions(n, threshold) if fam == "zh" and n > 1 else 0
    budgets = [int(2.0 * (1.0 - threshold) * max(n, w) + 1e-9) for w in range(n + h + 1)]
    # en: a phrase word with no counterpart in the window (see _covered_words) costs the word
    # score at least 1 of its max(n, w) <= n + h; the score needs a word score >= 2 t - 1
    max_uncovered = int(2.0 * (1.0 - threshold) * (n + h) + 1e-6)
    return _Phrase(index, raw, u.texts, u.sylls, u.keys, n, h, hd, budgets, pieces, neg,
                   starts_neg,
                   "".join(u.texts), anchors, frozenset(u.texts), max_uncovered)


# ---------------------------------------------------------------------------------------------
# Scoring

_COST_HOMOPHONE = 0.05
_COST_CONFUSABLE = 0.2
# A text unit the phrase does not have ("您好，这里是天潮客服中心"; an unlisted filler) costs half
# a missing phrase unit: the agent said the phrase plus a little. Negation is guarded separately.
_COST_INSERT = 0.5


def _zh_align(p: _Phrase, t: _Units, s: int, wmax: int) -> list[tuple[float, int]]:
    """Weighted edit distance of phrase vs t[s:s+w] for w = 0..wmax.

    Returns per window length w: (cost, identical_units) along one optimal alignment.
    """
    n = p.n
    pt, ps, pk = p.texts, p.sylls, p.keys
    tt, ts, tk = t.texts, t.sylls, t.keys
    INF = 1e9
    # D[i][j]: cost of phrase[:i] vs text[s:s+j]; E = identical count (tie-break max)
    # the window starts on an aligned unit: no leading insertions
    prev = [(0.0, 0)] + [(INF, 0)] * wmax
    for i in range(1, n + 1):
        cur = [(float(i), 0)] + [(INF, 0)] * wmax
        a_t, a_s, a_k = pt[i - 1], ps[i - 1], pk[i - 1]
        for j in range(1, wmax + 1):
            x = s + j - 1
            if tt[x] == a_t:
                sub, same = 0.0, 1
            elif ts[x] == a_s:
                sub, same = _COST_HOMOPHONE, 0
            elif tk[x] == a_k and a_s != a_t:  # confusable pinyin (CJK units only)
                sub, same = _confusable_cost(a_s, ts[x]), 0
            else:
                sub, same = 1.0, 0
            dc, de = prev[j - 1]
            best = (dc + sub, de + same)
            c2, e2 = prev[j]
            c2 += 1.0
            if c2 < best[0] - 1e-12 or (abs(c2 - best[0]) <= 1e-12 and e2 > best[1]):
                best = (c2, e2)
            c3, e3 = cur[j - 1]
            c3 += _COST_INSERT
            if c3 < best[0] - 1e-12 or (abs(c3 - best[0]) <= 1e-12 and e3 > best[1]):
                best = (c3, e3)
            cur[j] = best
        prev = cur
    return prev


_WORD_SIM: dict[tuple[str, str], float] = {}


def _spelling_sim(a: str, b: str) -> float:
    """fuzz.ratio of two different words when it is 80 or more, else 0."""
    if min(len(a), len(b)) < 4 or _affix_negated(a, b):
        return 0.0  # mr/mrs, do/did, you/your: short words differ, not misspelt
    return fuzz.ratio(a, b, score_cutoff=80) / 100.0


def _word_sim(a: str, b: str) -> float:
    """Spelling similarity of two English words: 1 equal, ratio for near spellings, else 0."""
    if a == b:
        return 1.0
    r = _WORD_SIM.get((a, b))
    if r is None:
        r = _spelling_sim(a, b)
        if len(_WORD_SIM) > 200_000:
            _WORD_SIM.clear()
        _WORD_SIM[(a, b)] = r
    return r


def _en_word_score(p: list[str], w: list[str]) -> float:
    """Word-level similarity: edit distance over words where a near spelling costs 1 - ratio,
    an adjacent swap ("i can" / "can i") costs 1 and a split or run-together word ("follow up"
    / "followup") costs 0.1; normalised by the longer length."""
    n, m = len(p), len(w)
    rows = [[float(j) for j in range(m + 1)]]  # rows[i][j]: cost of p[:i] vs w[:j]
    joined = [None, None] + [w[j - 2] + w[j - 1] for j in range(2, m + 1)]  # w[j-2] + w[j-1]
    for i in range(1, n + 1):
        a = p[i - 1]
        up = rows[i - 1]
        up2 = rows[i - 2] if i > 1 else None
        a_before = p[i - 2] if i > 1 else None
        a_joined = a_before + a if i > 1 else None
        cur = [float(i)] + [0.0] * m
        for j in range(1, m + 1):
            b = w[j - 1]
            best = up[j - 1] + (1.0 - (1.0 if a == b else _word_sim(a, b)))
            x = up[j] + 1.0
            if x < best:
                best = x
            x = cur[j - 1] + 1.0
            if x < best:
                best = x
            if up2 is not None and j > 1 and a == w[j - 2] and a_before == b:
                x = up2[j - 2] + 1.0
                if x < best:
                    best = x
            if j > 1 and a == joined[j]:
                x = up[j - 2] + 0.1
                if x < best:
                    best = x
            if a_joined is not None and a_joined == b:
                x = up2[j - 1] + 0.1
                if x < best:
                    best = x
            cur[j] = best
        rows.append(cur)
    return max(0.0, 1.0 - rows[n][m] / max(n, m))


def _affix_negated(a: str, b: str) -> bool:
    """``a`` is ``b`` with a negating prefix (impossible/possible) or vice versa."""
    if len(a) < len(b):
        a, b = b, a
    if len(b) < 4:
        return False
    for pre in _EN_NEG_PREFIXES:
        if a == pre + b:
            return True
    return False


# ---------------------------------------------------------------------------------------------


class PhraseMatcher:
    """Find occurrences of spec phrases in ASR text, robust to ASR slips.

    ``threshold``: minimum similarity, 0..1 (0.85 suits both languages).

    ``fillers``: words dropped before matching, from the text and from the phrases alike
    (嗯, 那个, "um", "you know"); offsets still point into the original text, so a quote may
    contain them. A filler that a phrase consists of only ("嗯" as a forbidden phrase) is kept.

    ``whole_word``: English windows are always whole words ("hey" never inside "they"); with
    False an exact phrase is also found inside words. Chinese (jieba words): a 1-character phrase
    must be a whole word (喂 not in 喂养); 2-3 character phrases must start at a word start
    (什么 not in 为什么), and a 2-character phrase must end at a word end or before a particle
    jieba glued on (稍等|一下, not 你好|像); longer phrases need no boundary (jieba segments
    slipped text unreliably). With False, Chinese matches anywhere.

    ``negation_guard``: a hit right after a negator in the same clause (不/没/没有/别,
    "not"/"never") is refused unless the phrase itself starts with one, and a fuzzy hit must
    have the phrase's count of negators (不没别未 / not no never ...) and no im-/un-/in-/dis-
    word where the phrase has the bare word.

    Scores: 1.0 exact after normalisation; zh 1 - cost / max(len) over pinyin syllables
    (homophone 0.05, confusable initial or final 0.2 each, extra character 0.5, missing or
    different character 1; a 1-character phrase must be exact, and ceil(n/3) characters must
    be identical); en the mean of fuzz.ratio on the joined letters and a word-level edit score.
    """

    def __init__(self, phrases: Sequence[str], language: str, threshold: float = 0.85,
                 fillers: Sequence[str] = (), whole_word: bool = True,
                 negation_guard: bool = True):
        if isinstance(phrases, str):
            phrases = [phrases]
        self._raw = tuple(phrases)
        self.language = language
        self.family = language_family(language)
        self.threshold = float(threshold)
        self.whole_word = bool(whole_word)
        self.negation_guard = bool(negation_guard)
        fam = self.family
        # Fillers are dropped from the phrases too (这个 in 这个不归我们管), except fillers a phrase
        # consists of only ("嗯" as a forbidden phrase): those are kept in texts as well.
        fillers = tuple(f for f in fillers if normalize(f, fam))
        single, multi = _filler_set(fillers, fam)
        protected: set[str] = set()
        if single or multi:
            for ph in self._raw:
                plain = _units(ph, fam)
                if plain.texts and not _units(ph, fam, single, multi).texts:
                    protected.update(plain.texts)
                    protected.add("".join(plain.texts))
        self._fillers = tuple(
            f for f in fillers
            if not (set(normalize(f, fam).split()) & protected
                    or normalize(f, fam).replace(" ", "") in protected
                    or any(normalize(f, fam).replace(" ", "") in p for p in protected)))
        self._single, self._multi = _filler_set(self._fillers, fam)
        prepared = []
        seen: set[str] = set()
        for i, ph in enumerate(self._raw):
            variants = [False]
            if fam == "zh" and re.search(r"(?<![0-9])[1-9][0-9]{2,3}(?![0-9])",
                                         unicodedata.normalize("NFKC", ph)):
                # 1024 may be read 一千零二十四 or 一零二四 (工号, 房间号): try both readings
                variants.append(True)
            for digitwise in variants:
                p = _prepare(i, ph, fam, self.threshold, digitwise, self._single, self._multi)
                if p is None:
                    continue
                # the same phrase twice: once; two spellings of one phrase (OK / okay) both stay,
                # find() reports the first on a tie, find_each / best_per_phrase report both
                sig = (ph, " ".join(p.texts))
                if sig in seen:
                    continue
                seen.add(sig)
                prepared.append(p)
        self._phrases = prepared
        self._piece_index: dict[str, list[tuple]] = {}
        for pi, p in enumerate(self._phrases):
            for piece, off in p.pieces:
                self._piece_index.setdefault(piece[0], []).append((pi, piece, off, p.h, p.hd))
        # en: anchor word -> (phrase number, the anchor's index in the phrase), so a text's words
        # lead to the phrases they can start; long single words are also tried by spelling.
        self._anchor_index: dict[str, list[tuple[int, int]]] = {}
        for pi, p in enumerate(self._phrases):
            for word, idx in p.anchors:
                self._anchor_index.setdefault(word, []).append((pi, idx))
        self._spelled = frozenset(pi for pi, p in enumerate(self._phrases) if p.n == 1 and len(p.joined) >= 6)
        self._spelled_order = tuple(sorted(self._spelled))
        # the lengths of words that can be a near-spelling of one (``_near``): most words are not
        self._spelled_lengths = frozenset(len(self._phrases[pi].joined) + d for pi in self._spelled for d in range(-2, 3))
        self._anchor_words = frozenset(self._anchor_index)
        self._words = frozenset(w for p in self._phrases for w in p.texts)
        self._long_words = tuple(sorted(w for w in self._words if len(w) >= 4))
        self._joins = {a + b: (a, b) for p in self._phrases for a, b in zip(p.texts, p.texts[1:])}
        self._near_words: dict[str, tuple[str, ...]] = {}  # text word -> phrase words it is near
        self._near_spellings: dict[str, tuple[int, ...]] = {}  # word -> spelled phrases it is near

    # -- container protocol -----------------------------------------------------------------
    @property
    def phrases(self) -> tuple[str, ...]:
        return self._raw

    @property
    def fillers(self) -> tuple[str, ...]:
        return self._fillers

    def __bool__(self) -> bool:
        return bool(self._phrases)

    def __len__(self) -> int:
        return len(self._raw)

    def __repr__(self) -> str:
        return (f"PhraseMatcher({len(self._raw)} phrases, language={self.language!r}, "
                f"threshold={self.threshold})")

    # -- matching -------------------------------------------------------------------------------
    def _candidates(self, text: str) -> tuple[_Units | None, list]:
        if not text or not self._phrases:
            return None, []
        covered = None
        if self.family == "en" and self.whole_word:
            found = _en_keys(text, self._single, self._multi)
            if found is not None:
                covered = self._covered_if_any(*found)
                if covered is None:
                    return None, []  # nothing to find: the units are not even built
        t = _text_units(text, self.family, self._single, self._multi)
        if not t.texts:
            return t, []
        if self.family == "zh":
            return t, self._zh_candidates(t)
        return t, self._en_candidates(t, covered)

    def _zh_candidates(self, t: _Units):
        thr = self.threshold
        T = len(t.texts)
        keys = t.keys
        first: dict[str, list[int]] = {}
        for i, k in enumerate(keys):
            first.setdefault(k, []).append(i)
        out = []
        # pigeonhole: a window within the threshold contains one of the phrase's pieces intact
        cand: dict[int, set[int]] = {}
        index = self._piece_index
        for k, hits in first.items():
            for pi, piece, off, h, hd in index.get(k, ()):
                for i in hits:
                    if len(piece) == 1 or keys.startswith(piece, i):
                        base = i - off
                        st = cand.get(pi)
                        if st is None:
                            st = cand[pi] = set()
                        st.update(range(max(0, base - h), min(T, base + hd + 1)))
        for pi in sorted(cand):
            p = self._phrases[pi]
            starts = cand[pi]
            n, h, hd = p.n, p.h, p.hd
            strict_start = self.whole_word and n <= 3
            start_ok = t.tok_start if n == 1 else t.soft_start
            end_ok = None
            if self.whole_word and n == 1:
                end_ok = t.tok_end
            elif self.whole_word and n <= 2:
                end_ok = t.soft_end
            min_same = -(-n // 3)  # ceil(n/3) identical characters
            best_at: dict[int, tuple[float, int]] = {}
            guard = self.negation_guard and not p.starts_neg
            texts = t.texts
            ordered = sorted(starts)
            # exact occurrences first; a fuzzy window overlapping one can never beat it
            blocked: set[int] = set()
            for s in ordered:
                if (texts[s:s + n] == p.texts and not (guard and t.neg_before[s])
                        and not (strict_start and not start_ok[s])
                        and not (end_ok is not None and not end_ok[s + n - 1])):
                    best_at[s] = (1.0, n)
                    blocked.update(range(s - n - h + 1, s + n))
            budgets = p.budgets
            for s in ordered:
                if s in blocked:
                    continue
                if strict_start and not start_ok[s]:
                    continue
                if guard and t.neg_before[s]:
                    continue
                wmax = min(n + h, T - s)
                wmin = max(1, n - hd)
                if wmax < wmin:
                    continue
                # key-level gate in C (a lower bound of the weighted cost) before the Python DP
                if h == 0 and hd == 0:
                    if keys[s:s + n] != p.keys:
                        continue
                    wtop = n
                else:
                    wtop = 0
                    for w in range(wmin, wmax + 1):
                        budget = budgets[w]
                        if Levenshtein.distance(p.keys, keys[s:s + w], weights=(1, 2, 2),
                                                score_cutoff=budget) <= budget:
                            wtop = w
                    if not wtop:
                        continue
                wmax = wtop
                row = _zh_align(p, t, s, wmax)
                best = None
                for w in range(wmin, wmax + 1):
                    e = s + w - 1
                    if end_ok is not None and not end_ok[e]:
                        continue
                    cost, same = row[w]
                    score = 1.0 - cost / max(n, w)
                    if score + 1e-9 < thr or same < min_same:
                        continue
                    if n == 1 and cost > 0:
                        continue
                    if self.negation_guard and p.neg != sum(
                            1 for x in t.texts[s:s + w] if x in _ZH_NEG_CHARS):
                        continue
                    key = (round(score, 4), t.soft_end[e], -abs(w - n))
                    if best is None or key > best[2]:
                        best = (score, w, key)
                if best is not None:
                    best_at[s] = best[:2]
            for s, (score, w) in best_at.items():
                # tie-break: a window on word boundaries quotes better (有什么 vs 问有什么)
                edges = int(t.tok_start[s]) + int(t.soft_end[s + w - 1])
                out.append((score, s, s + w, p.index, p, None, edges))
        return out

    def _covered_if_any(self, words: frozenset[str], keys: frozenset[str]) -> set[str] | None:
        """The tests ``_en_candidates`` makes, on a text of these words whose word index has these
        keys, before its units are built: None when it can find nothing (no near-spelling of a
        long single-word phrase, no anchor word of a phrase enough of whose words have a
        counterpart in the text); else the covered words it needs (``_covered_words``)."""
        anchors = keys & self._anchor_words
        covered = self._covered_words(words, keys) if anchors else set()
        lengths = self._spelled_lengths
        if lengths and any(self._near(key) for key in keys if len(key) in lengths):
            return covered
        if any(self._enough_covered(self._phrases[pi], covered)
               for word in anchors for pi, _ in self._anchor_index[word]):
            return covered
        return None

    @staticmethod
    def _enough_covered(p: _Phrase, covered: set[str]) -> bool:
        return p.n == 1 or sum(1 for a in p.texts if a not in covered) <= p.max_uncovered

    def _near(self, key: str) -> tuple[int, ...]:
        """The long single-word phrases (numbers) that ``key`` is a near-spelling of: same length
        within 2 and fuzz.ratio at least the threshold. Kept per word."""
        near = self._near_spellings.get(key)
        if near is None:
            cutoff = self.threshold * 100.0 - 1e-6
            near = tuple(pi for pi in self._spelled_order
                         if abs(len(key) - len(self._phrases[pi].joined)) <= 2
                         and fuzz.ratio(key, self._phrases[pi].joined, score_cutoff=cutoff))
            if len(self._near_spellings) > 200_000:
                self._near_spellings.clear()
            self._near_spellings[key] = near
        return near

    def _covered_words(self, words: Iterable[str], keys) -> set[str]:
        """The phrase words that can be aligned with a text for less than a full edit: the same
        word, a near spelling (``_word_sim``), a word the text splits in two ("followup" /
        "follow up"), or two adjacent phrase words the text runs together (both). Any other
        word of a phrase costs its word score 1 in every window (see ``_en_word_score``). ``keys``:
        the text's words and adjacent pairs run together (``_en_index``)."""
        covered = set(self._words.intersection(keys))
        for join in self._joins.keys() & keys:
            covered.update(self._joins[join])
        near_words = self._near_words
        for word in words:
            near = near_words.get(word)
            if near is None:
                near = () if len(word) < 4 else tuple(a for a in self._long_words if a != word and _spelling_sim(a, word))
                if len(near_words) > 200_000:
                    near_words.clear()
                near_words[word] = near
            covered.update(near)
        return covered

    def _en_candidates(self, t: _Units, covered: set[str] | None = None):
        thr = self.threshold
        T = len(t.texts)
        pos = _en_index(t)
        out = []
        cutoff2 = max(0.0, (2.0 * thr - 1.0) * 100.0 - 1e-6)  # word score is at most 1
        if not self.whole_word:
            out.extend(self._en_substrings(t))
        # the phrases an anchor of which the text has, with the anchors' positions in it
        anchored: dict[int, list[tuple[list[int], int]]] = {}
        index = self._anchor_index
        if len(index) < len(pos):
            for word, entries in index.items():
                at = pos.get(word)
                if at is not None:
                    for pi, idx in entries:
                        anchored.setdefault(pi, []).append((at, idx))
        else:
            for word, at in pos.items():
                for pi, idx in index.get(word, ()):
                    anchored.setdefault(pi, []).append((at, idx))
        spelled = self._spelled
        near = None
        if covered is None:  # not known from the text's keys (see _covered_if_any)
            covered = self._covered_words(set(t.texts), pos.keys()) if anchored else set()
        for pi in sorted(anchored.keys() | spelled):
            p = self._phrases[pi]
            n, h = p.n, p.h
            if not self._enough_covered(p, covered):
                continue
            starts: set[int] = set()
            for at, idx in anchored.get(pi, ()):
                for i in at:
                    base = i - idx
                    for s in range(base - h, base + h + 1):
                        if 0 <= s < T:
                            starts.add(s)
            if n == 1 and len(p.joined) >= 6:
                # long single word: also try near-spellings of it (the text's words near one of
                # the matcher's long words, found once per text)
                if near is None:
                    near = _en_near(t, self)
                for w in near.get(pi, ()):
                    starts.update(pos[w])
            if not starts:
                continue
            best_at: dict[int, tuple[float, int]] = {}
            guard = self.negation_guard and not p.starts_neg
            # exact occurrences first; a fuzzy window overlapping one can never beat it
            blocked: set[int] = set()
            texts = t.texts
            first = p.texts[0]
            for s in starts:
                if texts[s] == first and texts[s:s + n] == p.texts and not (guard and t.neg_before[s]):
                    best_at[s] = (1.0, n)
                    blocked.update(range(s - n - h + 1, s + n))
            if n == 1 and len(p.joined) < 6:
                pass  # short single word: exact only ("hey" is not "they", "hello" not "hell")
            else:
                # fuzz.ratio is at most 200 min(a, b) / (a + b) for strings of lengths a, b: a window
                # whose length is outside these bounds cannot reach cutoff2 and is not scored
                letters, chars = _en_letters(t)
                plen, c = len(p.joined), cutoff2 - 1e-6
                shortest, longest = c * plen / (200.0 - c) - 1e-6, plen * (200.0 - c) / max(c, 1e-9) + 1e-6
                for s in starts:
                    if s in blocked or (guard and t.neg_before[s]):
                        continue
                    # letters first (C); the word-level score only where it can still matter
                    rs = []
                    for w in range(max(1, n - h), min(n + h, T - s) + 1):
                        # fuzz.ratio is at most 200 min(a, b) / (a + b) for strings of lengths a, b:
                        # a window whose length alone keeps it under the cutoff is not scored
                        a, b = chars[s], chars[s + w]
                        if not shortest <= b - a <= longest:
                            continue
                        r = fuzz.ratio(p.joined, letters[a:b], score_cutoff=cutoff2)
                        if r:
                            rs.append((r, -abs(w - n), w))
                    if not rs:
                        continue
                    rs.sort(reverse=True)
                    best = None
                    for r, _, w in rs:
                        upper = 0.5 * r / 100.0 + 0.5
                        if upper + 1e-9 < thr or (best is not None and upper <= best[0]):
                            break
                        win = texts[s:s + w]
                        score = 0.5 * r / 100.0 + 0.5 * p.word_score(win)
                        if score + 1e-9 < thr:
                            continue
                        score = min(score, 0.999)  # not identical words
                        if self.negation_guard and not self._en_negation_ok(p, win):
                            continue
                        if best is None or score > best[0] + 1e-12:
                            best = (score, w)
                    if best is not None:
                        best_at[s] = best
            for s, (score, w) in best_at.items():
                out.append((score, s, s + w, p.index, p, None, 2))
        return out

    def _en_substrings(self, t: _Units):
        """whole_word=False (en): exact occurrences inside words too ("hey" in "they")."""
        pieces, owner = [], []
        for k, w in enumerate(t.texts):
            pieces.append(w)
            owner.extend([k] * (len(w) + 1))
        joined = " ".join(pieces)
        starts_at = []
        pos = 0
        for w in pieces:
            starts_at.append(pos)
            pos += len(w) + 1
        ns, ne = t.nmap
        out = []
        for p in self._phrases:
            needle = " ".join(p.texts)
            i = joined.find(needle)
            while i != -1:
                j = i + len(needle)
                ks, ke = owner[i], owner[j - 1]
                a = ns[t.nstart[ks] + (i - starts_at[ks])]
                b = ne[t.nstart[ke] + (j - 1 - starts_at[ke])]
                out.append((1.0, ks, ke + 1, p.index, p, (a, b), 0))
                i = joined.find(needle, i + 1)
        return out

    @staticmethod
    def _en_negation_ok(p: _Phrase, win: list[str]) -> bool:
        if sum(1 for x in win if x in _EN_NEG_WORDS) != p.neg:
            return False
        for x in win:
            if x in p.tokset:
                continue
            for y in p.texts:
                if _affix_negated(x, y):
                    return False
        return True

    @staticmethod
    def _resolve(cands: list, per_phrase: bool) -> list:
        """Greedy non-overlap: better score, then the longer span, then the earlier, first."""
        cands.sort(key=lambda c: (-round(c[0], 4), -c[6], -(c[2] - c[1]), c[1], c[3]))
        taken: dict[int, list[tuple[int, int]]] = {}
        chosen = []
        for c in cands:
            s, e = c[1], c[2]
            spans = taken.setdefault(c[3] if per_phrase else 0, [])
            if any(s < b and a < e for a, b in spans):
                continue
            spans.append((s, e))
            chosen.append(c)
        return chosen

    @staticmethod
    def _matches(text: str, t: _Units, chosen: list) -> list[Match]:
        res = []
        for score, s, e, _, p, span, _ in chosen:
            a, b = span or (t.ostart[s], t.oend[e - 1])
            res.append(Match(p.raw, a, b, text[a:b], round(min(1.0, max(0.0, score)), 4)))
        res.sort(key=lambda m: (m.start, m.end, -m.score))
        return res

    def find(self, text: str) -> list[Match]:
        """Every occurrence of any phrase, non-overlapping, sorted by start.

        On overlap the better score wins, then the longer span, then the earlier one: a
        sub-phrase that scores better than the long phrase containing it hides the long one
        (use :meth:`find_each` or :meth:`best_per_phrase` to ask about each phrase).
        """
        t, cands = self._candidates(text)
        if not cands:
            return []
        return self._matches(text, t, self._resolve(cands, per_phrase=False))

    def find_each(self, text: str) -> list[Match]:
        """Every occurrence of every phrase, sorted by start: occurrences of one phrase do not
        overlap each other, but different phrases may overlap (greeting and its sub-phrase)."""
        t, cands = self._candidates(text)
        if not cands:
            return []
        return self._matches(text, t, self._resolve(cands, per_phrase=True))

    def best(self, text: str) -> Match | None:
        """The highest-scoring match (earliest on a tie), or None."""
        ms = self.find(text)
        if not ms:
            return None
        return max(ms, key=lambda m: (m.score, -m.start))

    def best_per_phrase(self, text: str) -> dict[str, Match]:
        """For each phrase found in ``text``, its best occurrence (earliest on a tie); phrases
        are not resolved against each other. Keys are the phrases as written, in spec order."""
        t, cands = self._candidates(text)
        best: dict[int, tuple] = {}
        for c in cands:
            k = c[3]
            if k not in best or (c[0], -c[1]) > (best[k][0], -best[k][1]):
                best[k] = c
        out = {}
        for c in sorted(best.values(), key=lambda c: c[3]):
            (m,) = self._matches(text, t, [c])
            out.setdefault(m.phrase, m)
        return out
