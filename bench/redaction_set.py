"""The redaction set: utterances in English and Mandarin, as ASR writes them, with the truth.

Every category in several spoken and written forms (grouped digits, spoken digits with "oh" and
"double", Chinese digits with 幺 / 两 / 〇, mixed forms, numbers split across a speaker's turns
with the other party's "okay" between), and near-misses that must stay: prices, dates, times and
quantities, many next to words about phones, orders or accounts. Deterministic (seeded).

    python bench/redaction_set.py          # rewrites bench/redaction_set.json
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from audits.pii.categories import id_checksum, luhn  # noqa: E402

OUT = HERE / "redaction_set.json"
EN = "zero one two three four five six seven eight nine".split()
ZH = "零一二三四五六七八九"
ACCOUNT_PATTERNS = [r"ORD-\d{8}"]  # what the set's account items configure
SURNAMES = {"en": ["Brown", "Wang", "Garcia", "Smith"], "zh": ["王", "李", "张", "刘"]}


def spoken_en(digits: str, rng: random.Random) -> str:
    words, i = [], 0
    while i < len(digits):
        d = digits[i]
        if i + 1 < len(digits) and digits[i + 1] == d and rng.random() < 0.5:
            words.append(f"double {EN[int(d)]}")
            i += 2
            continue
        words.append("oh" if d == "0" and rng.random() < 0.5 else EN[int(d)] if d != "X" else "X")
        i += 1
    return " ".join(words)


def spoken_zh(digits: str, rng: random.Random) -> str:
    out = []
    for d in digits:
        if d == "X":
            out.append("X")
        elif d == "1" and rng.random() < 0.6:
            out.append("幺")
        elif d == "0" and rng.random() < 0.3:
            out.append("〇")
        elif d == "2" and rng.random() < 0.2:
            out.append("两")
        else:
            out.append(ZH[int(d)])
    return "".join(out)


def grouped(digits: str, sizes: list[int], sep: str = " ") -> str:
    parts, i = [], 0
    for size in sizes:
        parts.append(digits[i:i + size])
        i += size
    if i < len(digits):
        parts.append(digits[i:])
    return sep.join(p for p in parts if p)


def form(digits: str, sizes: list[int], language: str, rng: random.Random) -> str:
    """One way a number is said or written: grouped digits, spoken digits, or a mix."""
    style = rng.choice(["digits", "spoken", "spoken", "mixed"])
    if style == "digits":
        return grouped(digits, sizes, rng.choice([" ", "-", " "]))
    say = spoken_en if language == "en" else spoken_zh
    if style == "spoken":
        groups = grouped(digits, sizes).split()
        return (", " if language == "en" else rng.choice(["，", "", " "])).join(say(g, rng) for g in groups)
    groups = grouped(digits, sizes).split()
    return " ".join(g if k % 2 else say(g, rng) for k, g in enumerate(groups))


def mobile_cn(rng):
    return rng.choice(["138", "139", "150", "186", "177", "199"]) + "".join(rng.choice("0123456789") for _ in range(8))


def nanp(rng):
    return rng.choice("23456789") + "".join(rng.choice("0123456789") for _ in range(2)) + \
        rng.choice("23456789") + "".join(rng.choice("0123456789") for _ in range(6))


def id_number(rng):
    region = rng.choice(["110105", "310104", "440305", "510107", "330106"])
    born = f"{rng.randint(1950, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    body = region + born + "".join(rng.choice("0123456789") for _ in range(3))
    return body + id_checksum(body)


def card(rng):
    prefix = rng.choice(["4", "51", "55", "62", "37"])
    length = 15 if prefix == "37" else 16
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    for check in "0123456789":
        if luhn(body + check):
            return body + check
    raise AssertionError


TEMPLATES = {
    ("phone", "en"): ["My phone number is {v}.", "You can reach me on {v}, any time.", "It's {v}.",
                      "Call me back at {v} please.", "The mobile is {v}"],
    ("phone", "zh"): ["我的手机号是{v}。", "您打这个电话{v}就行。", "号码是{v}", "联系电话{v}，谢谢。"],
    ("id_number", "en"): ["My ID number is {v}.", "The ID card number is {v}", "It's {v}."],
    ("id_number", "zh"): ["我的身份证号是{v}。", "身份证{v}", "证件号码是{v}，您核对一下。"],
    ("card", "en"): ["My card number is {v}.", "The card is {v}, expiry next year.", "It's {v}."],
    ("card", "zh"): ["我的银行卡号是{v}。", "卡号{v}", "信用卡是{v}，您查一下。"],
    ("account", "en"): ["My account number is {v}.", "The order number is {v}.", "It's order {v}"],
    ("account", "zh"): ["我的订单号是{v}。", "账号是{v}", "会员编号{v}"],
    ("email", "en"): ["My email is {v}.", "Send it to {v} please.", "It's {v}"],
    ("email", "zh"): ["我的邮箱是{v}。", "发到{v}就行"],
    ("name", "en"): ["Thank you, Mr. {v}.", "Yes, {v} speaking.", "Certainly, Ms. {v}, one moment."],
    ("name", "zh"): ["好的，{v}先生，请稍等。", "我姓{v}。", "{v}女士，您好。"],
}

NEAR_MISSES = {
    ("price", "en"): ["It costs ${a},{b:03d}.{c:02d}.", "That's {n} dollars and {m} cents.", "The phone is ${n}.{c:02d}.",
                      "Your order total is {a},{b:03d} yuan.", "The fee is {n}.{c:02d} per month."],
    ("price", "zh"): ["一共{a}千{d}百元。", "这个手机{n}元。", "订单金额是{n}.{c:02d}元。", "每个月{d}十块钱。"],
    ("date", "en"): ["It was ordered on {y}-{mo:02d}-{da:02d}.", "The order was placed on March {da}, {y}.",
                     "Call me on {da}/{mo:02d}/{y}.", "Your account opened on {y}-{mo:02d}-{da:02d}."],
    ("date", "zh"): ["订单是{y}年{mo}月{da}日下的。", "我{zy}年{zmo}月{zda}号办的卡。", "{y}-{mo:02d}-{da:02d}那天打的电话。"],
    ("time", "en"): ["Call me at {h}:{mi:02d} tomorrow.", "The phone line opens at {h}:{mi:02d}.",
                     "Your order arrives between {h}:00 and {h2}:30."],
    ("time", "zh"): ["明天{zh_h}点半给我打电话。", "下午{h}:{mi:02d}之前送到。", "快递{zh_h}点到{zh_h2}点之间送。"],
    ("quantity", "en"): ["I ordered {n} boxes and {m} bags.", "There are {n} items in order.", "I need {a} units."],
    ("quantity", "zh"): ["我订了{zn}箱。", "一共{n}件商品，订单里有{m}个。", "要{zn}个。"],
}


def zh_number(n: int) -> str:
    return "".join(ZH[int(d)] for d in str(n))


def build(seed: int = 19) -> list[dict]:
    rng = random.Random(seed)
    items: list[dict] = []

    def add(category, language, turns, truth, kind="pii", surname=None):
        items.append({"id": f"{language}-{category}-{len(items):03d}", "language": language, "category": category,
                      "kind": kind, "turns": turns, "truth": truth, "surname": surname})

    for language in ("en", "zh"):
        for _ in range(14):  # phones: CN mobile, NANP / landline / international, local with context
            choice = rng.choice(["mobile", "mobile", "nanp" if language == "en" else "landline", "intl"])
            if choice == "mobile":
                value = form(mobile_cn(rng), [3, 4, 4], language, rng)
            elif choice == "nanp":
                value = form(nanp(rng), [3, 3, 4], language, rng)
            elif choice == "landline":
                value = form("0" + rng.choice(["10", "21", "755", "571"]) + "".join(rng.choice("0123456789")
                                                                                   for _ in range(8)),
                             [4, 4, 4], language, rng)
            else:
                value = ("+44 " + grouped("20" + "".join(rng.choice("0123456789") for _ in range(8)), [2, 4, 4])
                         if language == "en" else "+86 " + grouped(mobile_cn(rng), [3, 4, 4]))
            _templated(add, rng, "phone", language, value)
        for _ in range(14):
            _templated(add, rng, "id_number", language, form(id_number(rng), [6, 4, 4, 4], language, rng))
        for _ in range(14):
            number = card(rng)
            _templated(add, rng, "card", language, form(number, [4, 4, 4, 4] if len(number) == 16 else [4, 6, 5],
                                                        language, rng))
        for _ in range(8):
            if rng.random() < 0.4:
                value = f"ORD-{rng.randint(10 ** 7, 10 ** 8 - 1)}"
            else:
                value = form(str(rng.randint(10 ** 7, 10 ** 10 - 1)), [4, 3, 3], language, rng)
            _templated(add, rng, "account", language, value)
        for _ in range(8):
            user = rng.choice(["john.smith", "li.wei88", "amy_w", "zhangsan"])
            domain = rng.choice(["gmail", "qq", "163", "example"])
            tld = rng.choice(["com", "cn", "net"])
            value = rng.choice([f"{user}@{domain}.{tld}", f"{user.replace('.', ' dot ').replace('_', ' underscore ')} "
                                                          f"at {domain} dot {tld}"])
            _templated(add, rng, "email", language, value)
        for _ in range(6):
            surname = rng.choice(SURNAMES[language])
            _templated(add, rng, "name", language, surname, surname=surname)
        for _ in range(8):  # split across the speaker's turns, the other party between
            category = rng.choice(["phone", "card", "id_number"])
            number = {"phone": mobile_cn, "card": card, "id_number": id_number}[category](rng)
            cut = rng.choice([3, 4, 6, 8]) if category != "phone" else rng.choice([3, 7])
            first, rest = number[:cut], number[cut:]
            lead = {"en": {"phone": "My phone number is ", "card": "The card number is ", "id_number": "My ID is "},
                    "zh": {"phone": "我的手机号是", "card": "卡号是", "id_number": "身份证号是"}}[language][category]
            a = form(first, [4], language, rng)
            b = form(rest, [4, 4, 4, 4], language, rng)
            turns = [["customer", lead + a], ["agent", "okay" if language == "en" else "嗯"], ["customer", b]]
            truth = [{"turn": 0, "start": len(lead), "end": len(lead) + len(a), "category": category},
                     {"turn": 2, "start": 0, "end": len(b), "category": category}]
            add(category, language, turns, truth)
        for (kind, lang), templates in NEAR_MISSES.items():
            if lang != language:
                continue
            for k in range(20):
                values = dict(a=rng.randint(1, 9), b=rng.randint(0, 999), c=rng.randint(0, 99), d=rng.randint(1, 9),
                              n=rng.randint(2, 2999), m=rng.randint(2, 99), y=rng.randint(2015, 2026),
                              mo=rng.randint(1, 12), da=rng.randint(1, 28), h=rng.randint(8, 18),
                              h2=rng.randint(9, 20), mi=rng.choice([0, 15, 30, 45]))
                values.update(zy=zh_number(values["y"]), zmo=zh_number(values["mo"]), zda=zh_number(values["da"]),
                              zh_h=ZH[rng.randint(1, 9)], zh_h2=ZH[rng.randint(1, 9)], zn=zh_number(values["m"]))
                text = templates[k % len(templates)].format(**values)
                add(kind, language, [["customer", text]], [], kind="near_miss")
    return items


def _templated(add, rng, category, language, value, surname=None):
    template = rng.choice(TEMPLATES[(category, language)])
    text = template.replace("{v}", value)
    start = template.index("{v}")
    add(category, language, [["customer", text]],
        [{"turn": 0, "start": start, "end": start + len(value), "category": category}], surname=surname)


if __name__ == "__main__":
    items = build()
    OUT.write_text(json.dumps({"account_patterns": ACCOUNT_PATTERNS, "items": items}, ensure_ascii=False, indent=1)
                   + "\n", encoding="utf-8")
    counts: dict[str, int] = {}
    for item in items:
        counts[item["category"]] = counts.get(item["category"], 0) + 1
    print(f"wrote {OUT}: {len(items)} utterances", counts)
