"""Digit runs as ASR writes them, in English and Mandarin: "4111 1111 1111 1111", "555-1234",
"five five five, one two three four", "oh", "double seven", 幺三八, 两, 零/〇, and mixes of these.

A text is read into *units* (one digit word, one Chinese digit, one written digit group, an ``X``
that may close an ID number) and a *run* is a sequence of units with nothing between them but
what people and ASR put between the digits of one number: spaces, dashes, commas, a full stop,
"dash", fillers (uh, 嗯). A written number that is a price, a time, a decimal or a percentage
(``$1,299.99``, ``10:30``, ``12.5``, ``30%``) is no unit: it ends a run. Chinese numerals with
units (十, 百, 千, 万, 元, 块) end a run too, so 一千二百 or 三点半 never reads as digits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SPOKEN = {"zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "three": "3", "four": "4",
          "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9", "niner": "9"}
REPEAT = {"double": 2, "triple": 3}
HAN_DIGITS = {"零": "0", "〇": "0", "一": "1", "幺": "1", "二": "2", "两": "2", "三": "3", "四": "4",
              "五": "5", "六": "6", "七": "7", "八": "8", "九": "9", "０": "0", "１": "1", "２": "2",
              "３": "3", "４": "4", "５": "5", "６": "6", "７": "7", "８": "8", "９": "9"}
# Between two digits of one number: nothing else may stand.
FILLERS = {"uh", "um", "er", "erm", "ah", "dash", "hyphen", "space", "嗯", "呃", "啊", "杠", "横杠"}
PLUS_WORDS = {"plus"}
MONTHS = {"january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"}
X_WORDS = {"x", "ex", "叉", "Ｘ"}
CURRENCY = "$¥￥€£"

# A placeholder a redaction wrote (``[CARD]``, ``[CARD-1111]``): a stored transcript re-read.
PLACEHOLDER = re.compile(r"\[([A-Z_]+\+?)(?:-(\d{1,6}))?\]")
_TOKEN = re.compile(
    r"(?P<ph>\[[A-Z_]+\+?(?:-\d{1,6})?\])"
    r"|(?P<date>\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?!\d)|(?<!\d)\d{1,2}[-/.]\d{1,2}[-/.]\d{4}(?!\d))"
    r"|(?P<num>[+]?[0-9０-９][0-9０-９,.:/%]*[0-9０-９%]|[+]?[0-9０-９])"
    r"|(?P<word>[A-Za-z]+(?:'[A-Za-z]+)?)"
    r"|(?P<han>[\u3007\u4e00-\u9fff])"
    r"|(?P<sep>[\s\-–—,，、.。·…()（）]+)"
    r"|(?P<other>.)", re.DOTALL)
_SEPARATOR_BREAKS = re.compile(r"[.。…]{2,}|\n\n")


@dataclass(frozen=True)
class Unit:
    """One digit-bearing piece of a text: ``digits`` (0-9, or ``X``) at ``text[start:end]``."""

    digits: str
    start: int
    end: int
    plus: bool = False  # written or spoken "+" before it (an international number)


@dataclass(frozen=True)
class Run:
    """Units with only separators between them, in one text."""

    units: tuple[Unit, ...]

    @property
    def digits(self) -> str:
        return "".join(u.digits for u in self.units)

    @property
    def start(self) -> int:
        return self.units[0].start

    @property
    def end(self) -> int:
        return self.units[-1].end


def _written(token: str) -> str | None:
    """The digits of a written number, or None when it is a price, time, decimal, percentage or date."""
    token = token.translate(_FULL_WIDTH)
    if "%" in token or ":" in token or "/" in token:
        return None
    body = token.lstrip("+")
    if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", body) or re.fullmatch(r"\d+\.\d{1,2}", body):
        return None  # 1,299 / 12.50: an amount
    if "," in body or "." in body:  # 138.1234.5678 or 4111,1111: digit groups run together
        return re.sub(r"\D", "", body)
    return body


_FULL_WIDTH = str.maketrans("０１２３４５６７８９", "0123456789")


def units(text: str) -> list[Unit | str | None]:
    """The text as units; a separator is ``"sep"``, a filler ``"fill"``, anything that ends a
    run ``None``, and a placeholder its own ``"[...]"`` string."""
    out: list[Unit | str | None] = []
    repeat, plus, lead, dated = 1, False, None, 0
    for m in _TOKEN.finditer(text):
        kind, token = m.lastgroup, m.group()
        if kind == "ph":
            out.append(token)
        elif kind == "sep":
            out.append(None if _SEPARATOR_BREAKS.search(token) else "sep")
            continue
        elif kind == "date":  # 2024-03-15, 15/03/2024: a date, never digits of a number
            out.append(None)
        elif kind == "num":
            before = text[m.start() - 1] if m.start() else " "
            digits = None if before in CURRENCY or dated else _written(token)
            if digits:
                out.append(Unit(digits * repeat, _at(lead, m), m.end(), plus or token.startswith("+")))
            else:
                out.append(None)
        elif kind == "word":
            low = token.lower()
            if low in MONTHS:
                dated = 3  # March 15, 2024: a date
                out.append(None)
                continue
            if low in SPOKEN:
                out.append(Unit(SPOKEN[low] * repeat, _at(lead, m), m.end(), plus))
            elif low in REPEAT:
                repeat, lead = REPEAT[low], m.start()
                out.append("fill")
                continue
            elif low in PLUS_WORDS:
                plus = True
                out.append("fill")
                continue
            elif low in X_WORDS:
                out.append(Unit("X", m.start(), m.end()))
            elif low in FILLERS:
                out.append("fill")
            else:
                out.append(None)
        elif kind == "han":
            if token in HAN_DIGITS:
                out.append(Unit(HAN_DIGITS[token] * repeat, _at(lead, m), m.end(), plus))
            elif token in X_WORDS:
                out.append(Unit("X", m.start(), m.end()))
            elif token in FILLERS:
                out.append("fill")
            else:
                out.append(None)
        else:
            if token == "+":
                plus = True
                out.append("fill")
                continue
            out.append(None)
        repeat, plus, lead = 1, False, None
        if dated:
            dated -= 1
    return out


def _at(lead: int | None, m: re.Match) -> int:
    """Where a unit starts: at its "double" / "triple" when one came before."""
    return m.start() if lead is None else lead


# A text without any of these holds no unit: most turns are passed over at this one search.
HINT = re.compile(r"[0-9０-９零〇一二三四五六七八九幺两]|\b(?:zero|oh|o|one|two|three|four|five|six|seven|eight|nine|"
                  r"niner)\b", re.IGNORECASE)


_DIGIT = r"(?:[0-9０-９零〇一二三四五六七八九幺两]|\b(?:zero|oh|o|one|two|three|four|five|six|seven|eight|nine|niner|double|triple)\b)"
# Four digits in a row, with at most what stands between the digits of one number between them (a
# decimal point does not): the least a text on its own needs to hold a number worth redacting.
FOUR_DIGITS = re.compile(rf"(?<![\d.:,/]){_DIGIT}(?:(?:[\s\-–—,，、()（）]|[.。](?!\d)){{0,3}}{_DIGIT}){{3,}}"
                         r"(?!\d|[.:,/]\d)", re.IGNORECASE)


def scan(text: str) -> tuple[list[Run], bool, bool]:
    """The text's runs, and whether its first and its last unit (separators and fillers skipped)
    are digits: where a number may go on from the turn before, or into the next."""
    hints = []
    for m in HINT.finditer(text):
        hints.append(m)
        if len(hints) == 3:
            break
    if len(hints) < 3:  # at most two digits: a number only as the end of one begun in another turn
        edge = len(text.rstrip()) - 12
        if not any(m.start() < 12 or m.end() > edge for m in hints):
            return [], False, False
    pieces = [u for u in units(text) if u not in ("sep", "fill")]
    first = bool(pieces) and isinstance(pieces[0], Unit)
    last = bool(pieces) and isinstance(pieces[-1], Unit)
    return _runs(pieces), first, last


def runs(text: str) -> list[Run]:
    """Every run of units in ``text`` (an ``X`` only where it could close an ID number: a run never
    starts with one)."""
    return scan(text)[0]


def _runs(pieces) -> list[Run]:
    found: list[Run] = []
    current: list[Unit] = []

    def close():
        while current and current[0].digits == "X":
            current.pop(0)
        if current:
            found.append(Run(tuple(current)))
        current.clear()

    for unit in pieces:
        if isinstance(unit, Unit):
            current.append(unit)
        else:
            close()
    close()
    return found
