"""Chinese text: the lazily loaded jieba, OpenCC and pypinyin, simplified characters, numbers
written as characters, and pinyin syllables with their confusion costs.

Two units of Chinese text are compared by their toneless pinyin: identical characters cost 0,
homophones (same pinyin) ``COST_HOMOPHONE``, confusable pinyin ``COST_CONFUSABLE`` per differing
part (initials z/zh c/ch s/sh n/l f/h, finals -ng/-n and in/i), anything else 1. Each syllable
also gets a *fuzzy key*, one private-use character equal for every confusable spelling, so that
a whole text's keys are one string that C code (``str.startswith``, Levenshtein) can search.
"""

from __future__ import annotations

import logging
import threading
import zlib

COST_HOMOPHONE = 0.05
COST_CONFUSABLE = 0.2
# A text unit the phrase does not have ("您好，这里是天潮客服中心"; an unlisted filler) costs half
# a missing phrase unit: the agent said the phrase plus a little. Negation is guarded separately.
COST_INSERT = 0.5

# Interjections Whisper writes reduplicated (喂喂, 嗯嗯): every repeat is a word of its own.
INTERJECTIONS = frozenset("喂嗯啊哦呃哎诶嘿哈唉噢喔嗨哟呀")
# Word tails jieba glues onto a word that do not change it (稍等一下, 好了): a short phrase may
# end before them even under whole_word.
WORD_TAILS = frozenset({"一下", "一下儿", "一会", "一会儿", "了", "啊", "吧", "呢", "哦", "呀", "的",
                        "一点", "片刻", "哈", "嘛", "啦", "喔", "我", "你", "您", "他", "她"})
# Adverbs jieba glues in front of a word (真对不起, 真是): a 2-3 character phrase may start after
# them even under whole_word.
WORD_HEADS = frozenset({"真", "太", "很", "也", "都", "就", "还", "又", "再", "可", "真是", "实在",
                        "非常", "特别"})

# ---------------------------------------------------------------------------------------------
# Lazy, process-wide resources (jieba takes ~1 s to load its dictionary and logs to stderr).

_lock = threading.Lock()
_jieba = None
_opencc = None
_pinyin_cache: dict[str, list[str]] = {}


def jieba():
    """The jieba module, initialised once per process."""
    global _jieba
    if _jieba is None:
        with _lock:
            if _jieba is None:
                import jieba as module

                module.setLogLevel(logging.WARNING)
                module.initialize()
                _jieba = module
    return _jieba


def _opencc_t2s():
    global _opencc
    if _opencc is None:
        with _lock:
            if _opencc is None:
                from opencc import OpenCC

                _opencc = OpenCC("t2s")
    return _opencc


def pinyin_of(token: str) -> list[str]:
    """Toneless pinyin, one syllable per character of an all-CJK ``token`` (cached)."""
    syllables = _pinyin_cache.get(token)
    if syllables is None:
        from pypinyin import lazy_pinyin

        syllables = lazy_pinyin(token, errors=lambda chunk: list(chunk))
        if len(syllables) != len(token):  # defensive: never misalign characters and syllables
            syllables = [(lazy_pinyin(ch, errors=lambda chunk: list(chunk)) or [ch])[0] for ch in token]
        if len(_pinyin_cache) > 200_000:
            _pinyin_cache.clear()
        _pinyin_cache[token] = syllables
    return syllables


# ---------------------------------------------------------------------------------------------
# Characters and numbers

# Variant characters OpenCC's t2s leaves alone but which Whisper and spec authors mix freely.
# Applied to both sides, so the only effect is that the variants compare equal.
_VARIANTS = str.maketrans({"帐": "账", "妳": "你", "祢": "你", "著": "着", "麽": "么"})
_VARIANT_PAIRS = (("甚么", "什么"),)
_DIGITS = "零一二三四五六七八九"


def is_cjk(ch: str) -> bool:
    code = ord(ch)
    return (0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x20000 <= code <= 0x2FA1F
            or 0xF900 <= code <= 0xFAFF or 0x3007 == code)


def simplified(text: str) -> str:
    """Traditional -> simplified characters plus the variants above, one character for one.
    OpenCC is phrase based: where it changes the length, convert character by character."""
    converter = _opencc_t2s()
    converted = converter.convert(text)
    if len(converted) != len(text):
        converted = "".join(converter.convert(c) if len(converter.convert(c)) == 1 else c for c in text)
    converted = converted.translate(_VARIANTS)
    for variant, standard in _VARIANT_PAIRS:
        converted = converted.replace(variant, standard)
    return converted


def number_in_characters(digits: str, digit_by_digit: bool = False) -> str:
    """Arabic digits as Whisper writes them -> the Chinese characters a spec author writes.

    Up to four digits without a leading zero are read as a cardinal (24 -> 二十四, 1024 ->
    一千零二十四); longer runs, a leading zero digit or ``digit_by_digit`` digit by digit (95555 ->
    九五五五五).
    """
    if digit_by_digit or len(digits) > 4 or (len(digits) > 1 and digits[0] == "0"):
        return "".join(_DIGITS[int(d)] for d in digits)
    number = int(digits)
    if number == 0:
        return "零"
    out = []
    zero_pending = False
    for value, name in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = number // value % 10
        if digit == 0:
            if out:
                zero_pending = True
            continue
        if zero_pending:
            out.append("零")
            zero_pending = False
        if not (value == 10 and digit == 1 and not out):  # 十二, not 一十二
            out.append(_DIGITS[digit])
        out.append(name)
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# Pinyin syllables: fuzzy keys and confusion costs

_CONFUSABLE_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("l", "n"), ("f", "h"))
_INITIALS = ("zh", "ch", "sh", "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h", "j", "q",
             "x", "r", "z", "c", "s", "y", "w")
_key_codes: dict[str, str] = {}
_confusion_costs: dict[tuple[str, str], float] = {}


def fuzzy_syllable(syllable: str) -> str:
    """One spelling for every confusable spelling of ``syllable`` (zh -> z, ling -> li ...)."""
    for spelling, fuzzy in _CONFUSABLE_INITIALS:
        if syllable.startswith(spelling):
            syllable = fuzzy + syllable[len(spelling):]
            break
    if syllable.endswith("ng") and len(syllable) > 2:
        syllable = syllable[:-1]
    if syllable.endswith("in") and len(syllable) >= 2:
        syllable = syllable[:-1]  # nin ~ ni, xin ~ xi, ling ~ li (after the -ng step)
    return syllable


def key_code(key: str) -> str:
    """One character standing for ``key`` (a fuzzy syllable, or "#" and a Latin word)."""
    code = _key_codes.get(key)
    if code is None:
        with _lock:
            code = _key_codes.get(key)
            if code is None:
                if len(_key_codes) < 6000:
                    code = chr(0xE000 + len(_key_codes))
                else:  # private-use plane 15; a collision only costs a wasted candidate
                    code = chr(0xF0000 + zlib.crc32(key.encode()) % 0xFFFD)
                if len(_key_codes) < 100_000:
                    _key_codes[key] = code
    return code


def _initial_and_final(syllable: str) -> tuple[str, str]:
    for initial in _INITIALS:
        if syllable.startswith(initial) and len(syllable) > len(initial):
            return initial, syllable[len(initial):]
    return "", syllable


def confusion_cost(a: str, b: str) -> float:
    """Cost of two syllables with the same fuzzy key: COST_CONFUSABLE per differing part
    (initial z/zh, n/l ...; final an/ang, in/ing, i/in), so 您/你 (nin/ni) costs 0.2 but
    里/您 (li/nin) 0.4."""
    cost = _confusion_costs.get((a, b))
    if cost is None:
        initial_a, final_a = _initial_and_final(a)
        initial_b, final_b = _initial_and_final(b)
        cost = COST_CONFUSABLE * ((initial_a != initial_b) + (final_a != final_b))
        if cost == 0:
            cost = COST_HOMOPHONE
        if len(_confusion_costs) < 100_000:
            _confusion_costs[(a, b)] = cost
    return cost
