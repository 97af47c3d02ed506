"""Kind ``surname``: once the customer's surname is known, the agent uses it (王先生 / Mr. Wang)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from audits.call_view import CallView, half_width
from audits.checks.base import Check, CommonOptions, listing
from audits.findings import Evidence, Finding
from audits.params import OptionError, Phrases, param
from audits.textmatch import normalize

_PLACEHOLDER = re.compile(r"\{(surname|name)\}")
# What a name looks like where the spec gives no list of surnames: one Chinese character, or
# a capitalised Latin word (ASR capitalises names; a lower-case word is not taken for one).
_HAN = "[\u4e00-\u9fff]"
_LATIN_NAME = "[A-Z][a-zA-Z'’-]+"


@dataclass(frozen=True, kw_only=True)
class SurnameOptions(CommonOptions):
    introductions: tuple[str, ...] = param(
        Phrases(placeholders=("surname", "name"), required_placeholder=True),
        "how a customer gives their name: 我姓{surname} / 'my name is {name}' ({name}: the surname is its last word, "
        "in English only when the name has two or three words)")
    address_forms: tuple[str, ...] = param(
        Phrases(placeholders=("surname",), required_placeholder=True),
        "how the agent must address them: {surname}先生 / 'Mr. {surname}'")
    surnames: tuple[str, ...] = param(
        Phrases(allow_empty=True),
        "the surnames recognised in an introduction; empty: any Chinese character / capitalised word", ())

    def __post_init__(self):
        for pattern in self.introductions:
            if len(_PLACEHOLDER.findall(pattern)) != 1:
                raise OptionError("introductions", f"{pattern!r} must use exactly one of {{surname}} and {{name}}")


class SurnameCheck(Check):
    """Once the customer's surname is known — from call metadata (known from the start), or
    said by the customer in the call — the agent addresses them by it at least once afterwards.

    ``na`` when no surname is known, or when the agent did not speak after it became known.
    """

    kind = "surname"
    Options = SurnameOptions

    def evaluate(self, ctx: CallView) -> Finding:
        known = self._surname(ctx)
        if known is None:
            return self.na("the customer's surname is not known: not in the call metadata, not said in the call")
        surname, since, origin = known
        forms = [form.replace("{surname}", surname) for form in self.options.address_forms]
        later = [t for t in ctx.turns("agent") if t.start > since]
        if not later:
            return self.na(f"the agent did not speak after the surname {surname} became known")
        hits = self.find(ctx, later, forms)
        if hits:
            return self.passed(f"the agent addressed the customer as {hits[0].match.text}", [origin, hits[0].evidence()])
        return self.failed(f"the customer's surname {surname} was known, but the agent never said {listing(forms, 3)}",
                           [origin])

    def _surname(self, ctx: CallView) -> tuple[str, float, Evidence] | None:
        """The surname, from when it is known, and evidence of where it came from."""
        given = (ctx.metadata.customer_surname or "").strip()
        if given:
            # Known for the whole call, so the whole call is where the agent could have used it.
            return given, float("-inf"), Evidence(ctx.answer_at, ctx.end, "call",
                                                  f"call metadata: customer_surname = {given}")
        for turn in ctx.turns("customer"):
            text = normalize(turn.text, ctx.language) if ctx.language == "zh" else half_width(turn.text)
            for pattern in self._introductions:
                found = pattern.search(text)
                if found:
                    return found.group("surname"), turn.start, Evidence(turn.start, turn.end, "customer", turn.text)
        return None

    @cached_property
    def _introductions(self) -> list[re.Pattern]:
        """Introductions as regular expressions: Chinese matched on normalised text (simplified,
        no punctuation), English on the original text so capitals still mark names."""
        language = self.item.language
        surname = self._surname_pattern(language)
        if language == "zh":
            name = f"{surname}{_HAN}{{0,2}}"
        else:
            name = rf"(?:{_LATIN_NAME}\s+){{1,2}}{surname}"
        gap = r"\s*" if language == "zh" else r"\W+"
        compiled = []
        for intro in self.options.introductions:
            before, placeholder, after = _PLACEHOLDER.split(intro)
            middle = surname if placeholder == "surname" else name
            regex = gap.join(p for p in (_literal(before, language), middle, _literal(after, language)) if p)
            compiled.append(re.compile(regex if language == "zh" else r"\b" + regex))
        return compiled

    def _surname_pattern(self, language: str) -> str:
        if self.options.surnames:
            names = sorted((normalize(s, language) for s in self.options.surnames), key=len, reverse=True)
            return "(?P<surname>(?i:" + "|".join(map(re.escape, names)) + "))"
        return f"(?P<surname>{_HAN if language == 'zh' else _LATIN_NAME})"


def _literal(text: str, language: str) -> str:
    """A literal part of an introduction, tolerant of spacing and punctuation."""
    if language == "zh":
        return r"\s*".join(map(re.escape, normalize(text, language).replace(" ", "")))
    words = text.split()
    return "(?i:" + r"\W+".join(map(re.escape, words)) + ")" if words else ""

