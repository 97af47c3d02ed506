"""What a digit run is: a phone number, an ID number (身份证), a bank card, an account or order
number, or another long number; and the e-mail addresses and names found in text.

Each test is on the run's digits alone plus a little context (the words of the turn and of the
turn before): a card passes the Luhn check, a 身份证 number its ISO 7064 checksum and a real date
of birth, a Chinese mobile number is 11 digits from 13-19, a landline starts with its 0 area
code, a North American number follows the NANP. A local number without area code (7-8 digits)
needs a word about phones nearby; an account number a word about accounts or orders.
"""

from __future__ import annotations

import re
from datetime import date

CATEGORIES = ("phone", "id_number", "card", "account", "number", "email", "name")
LABELS = {"phone": "PHONE", "id_number": "ID", "card": "CARD", "account": "ACCOUNT", "number": "NUMBER",
          "email": "EMAIL", "name": "NAME"}
CATEGORY_OF_LABEL = {label: category for category, label in LABELS.items()}

PHONE_WORDS = re.compile(r"phone|mobile|cell|call\s+(?:me|back)|reach|landline|extension|contact|whatsapp|"
                         r"电话|手机|座机|联系|号码|打给|分机", re.IGNORECASE)
ACCOUNT_WORDS = re.compile(r"account|order|reference|tracking|policy|member(?:ship)?|customer\s+(?:id|number)|"
                           r"invoice|ticket|case\s+number|confirmation|"
                           r"账号|账户|帐号|帐户|订单|单号|会员|保单|工单|编号|流水", re.IGNORECASE)

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def luhn(digits: str) -> bool:
    total = 0
    for n, char in enumerate(reversed(digits)):
        value = int(char)
        if n % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def id_checksum(number: str) -> str:
    """The 18th character of a 身份证 number from its first 17 digits (GB 11643, ISO 7064 MOD 11-2)."""
    return _ID_CHECK[sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS)) % 11]


def is_id_number(s: str) -> bool:
    if len(s) != 18 or not s[:17].isdigit() or not (s[17].isdigit() or s[17] == "X"):
        return False
    if s[0] not in "123456789" or id_checksum(s) != s[17]:
        return False
    try:
        born = date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return False
    return 1900 <= born.year <= 2100


def is_card(s: str) -> bool:
    return s.isdigit() and 13 <= len(s) <= 19 and s[0] in "23456" and luhn(s)


def is_phone(s: str, plus: bool, context: bool) -> bool:
    """``plus``: said or written with a leading +; ``context``: a word about phones nearby."""
    if not s.isdigit():
        return False
    n = len(s)
    if plus:
        return 8 <= n <= 15
    if s.startswith("00"):  # international access code
        return 10 <= n <= 17
    if n == 11 and s[0] == "1" and s[1] in "3456789":  # 中国大陆手机
        return True
    if n == 13 and s.startswith("86") and s[2] == "1" and s[3] in "3456789":
        return True
    if s[0] == "0" and 10 <= n <= 12:  # 区号 + 7-8 digit landline
        return True
    if n == 10 and s[0] in "23456789" and s[3] in "23456789":  # NANP
        return True
    if n == 11 and s[0] == "1" and s[1] in "23456789" and s[4] in "23456789":
        return True
    return context and 7 <= n <= 8


def classify(s: str, plus: bool = False, phone_context: bool = False, account_context: bool = False,
             account_min_digits: int = 6, account_patterns: tuple[re.Pattern, ...] = (),
             min_digits: int = 9) -> str | None:
    """The category of a run's digits, or None when it is no personal data."""
    if is_id_number(s):
        return "id_number"
    if "X" in s:
        return None
    if is_card(s) and not (plus or s.startswith("00")):
        return "card"
    if any(p.fullmatch(s) for p in account_patterns) or (
            account_context and not phone_context and len(s) >= account_min_digits):
        return "account"
    if is_phone(s, plus, phone_context):
        return "phone"
    if len(s) >= min_digits:
        return "number"
    return None


# --- text categories ---------------------------------------------------------------------------

_TLD = r"(?:com|net|org|edu|gov|cn|io|co|uk|de|fr|jp|hk|tw|info|biz|me|us)"
EMAIL_WRITTEN = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_LOCAL = r"(?:[a-z0-9]\s+){1,20}[a-z0-9]\b|[a-z0-9]+(?:(?:\s+(?:dot|underscore|dash|点)\s+|[._-])[a-z0-9]+)*"
EMAIL_SPOKEN = re.compile(rf"(?<![a-z0-9])(?:{_LOCAL})\s*(?:\bat\b|艾特|@)\s*[a-z0-9-]+(?:\s*(?:\bdot\b|点|\.)\s*"
                          rf"[a-z0-9-]+)*\s*(?:\bdot\b|点|\.)\s*{_TLD}(?![a-z0-9])", re.IGNORECASE)
HONORIFICS_ZH = "先生|女士|小姐|老师|总|经理|师傅|阿姨|大爷|同学"


_EMAIL_HINT = re.compile(r"@|艾特|\bat\b", re.IGNORECASE)


def emails(text: str) -> list[tuple[int, int]]:
    if not _EMAIL_HINT.search(text):
        return []
    spans = [m.span() for m in EMAIL_WRITTEN.finditer(text)]
    for m in EMAIL_SPOKEN.finditer(text):
        if not any(a < m.end() and m.start() < b for a, b in spans):
            spans.append(m.span())
    return sorted(spans)


def names(text: str, surname: str, language: str) -> list[tuple[int, int]]:
    """Where the customer's surname stands in ``text``: in Chinese before an honorific (王先生) or
    after 姓 (我姓王); in English as a capitalised word."""
    surname = surname.strip()
    if not surname:
        return []
    name = re.escape(surname)
    if language.startswith("zh") or re.search(r"[\u4e00-\u9fff]", surname):
        pattern = rf"{name}(?=\s*(?:{HONORIFICS_ZH}))|(?<=姓){name}"
        return [m.span() for m in re.finditer(pattern, text)]
    return [m.span() for m in re.finditer(rf"(?<![\w'’-]){name}(?![\w'’-])", text)]
