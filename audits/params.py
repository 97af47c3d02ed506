"""Typed, range-checked parameters of check kinds (pyannote-style: ranges declared in one place).

Each check kind declares its parameters as a frozen, keyword-only dataclass whose fields are
made with :func:`param`: the parameter's type (one of the small classes below), its default
and one line of documentation. The spec loader reads these declarations to validate a spec
item (missing, unknown and mistyped fields) and to fill in defaults; the check reads its
values as plain attributes. A type's ``parse`` returns the value in canonical form (lists
become tuples, so phrase lists can key a matcher cache) or raises :class:`ValueError` with a
message that reads after "field 'x': ", e.g. "must be a positive number, got 'ten'".

Defaults declared here are neutral ("no limit", "no extra phrases", "agent"): everything a QA
lead would tune has no default and must be written in the spec.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any

REQUIRED = dataclasses.MISSING
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


class ParamError(ValueError):
    """A bad value; ``path`` locates the offending element inside a list value (indexes), so
    the loader can point at its own line."""

    def __init__(self, message: str, path: tuple[int, ...] = ()):
        super().__init__(message)
        self.path = path


class OptionError(ValueError):
    """A cross-field rule of a kind's options is broken; names the field to blame."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def param(param_type: ParamType, doc: str, default: Any = REQUIRED) -> Any:
    """A dataclass field declaring one spec parameter (its type, documentation, default)."""
    metadata = {"type": param_type, "doc": doc}
    if isinstance(default, (list, dict)):
        raise TypeError("use a tuple for a sequence default")  # dataclass defaults must be immutable
    return dataclasses.field(default=default, metadata=metadata)


def declared(options_class: type) -> list[dataclasses.Field]:
    """The parameters of an options dataclass, in declaration order."""
    return [f for f in dataclasses.fields(options_class) if "type" in f.metadata]


def _got(value: Any) -> str:
    return f"got {value!r}"


class ParamType:
    """Base of parameter types: ``parse`` validates one YAML value."""

    def parse(self, value: Any) -> Any:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


class Number(ParamType):
    """A real number within bounds (``minimum``/``maximum`` inclusive, ``above`` exclusive)."""

    def __init__(self, minimum: float | None = None, maximum: float | None = None,
                 above: float | None = None):
        self.minimum, self.maximum, self.above = minimum, maximum, above

    def describe(self) -> str:
        if self.above == 0 and self.maximum is None:
            return "a positive number"
        if self.above is not None and self.maximum is not None:
            return f"a number above {self.above:g} and at most {self.maximum:g}"
        if self.minimum is not None and self.maximum is not None:
            return f"a number from {self.minimum:g} to {self.maximum:g}"
        if self.minimum is not None:
            return f"a number ≥ {self.minimum:g}"
        if self.above is not None:
            return f"a number above {self.above:g}"
        return "a number"

    def parse(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"must be {self.describe()}, {_got(value)}")
        if ((self.minimum is not None and value < self.minimum)
                or (self.maximum is not None and value > self.maximum)
                or (self.above is not None and value <= self.above)):
            raise ValueError(f"must be {self.describe()}, {_got(value)}")
        return float(value)


class Integer(ParamType):
    """A whole number ≥ ``minimum``."""

    def __init__(self, minimum: int):
        self.minimum = minimum

    def describe(self) -> str:
        return "a positive whole number" if self.minimum == 1 else f"a whole number ≥ {self.minimum}"

    def parse(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < self.minimum:
            raise ValueError(f"must be {self.describe()}, {_got(value)}")
        return value


class Integers(ParamType):
    """A list (possibly empty) of whole numbers ≥ ``minimum``."""

    def __init__(self, minimum: int):
        self.item = Integer(minimum)

    def describe(self) -> str:
        return f"a list of whole numbers ≥ {self.item.minimum}"

    def parse(self, value: Any) -> tuple[int, ...]:
        if not isinstance(value, list):
            raise ValueError(f"must be {self.describe()}, {_got(value)}")
        for index, number in enumerate(value):
            try:
                self.item.parse(number)
            except ValueError:
                raise ParamError(f"must be {self.describe()}, {_got(value)}", (index,)) from None
        return tuple(value)


class Flag(ParamType):
    def describe(self) -> str:
        return "true or false"

    def parse(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise ValueError(f"must be true or false, {_got(value)}")
        return value


class Text(ParamType):
    """A non-empty string; with ``numbers``, a number is taken as its text (``version: 3``)."""

    def __init__(self, numbers: bool = False):
        self.numbers = numbers

    def describe(self) -> str:
        return "a non-empty string"

    def parse(self, value: Any) -> str:
        if self.numbers and isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"must be a non-empty string, {_got(value)}")
        return value


class OneOf(ParamType):
    def __init__(self, *choices: str):
        self.choices = choices

    def describe(self) -> str:
        return "one of " + ", ".join(self.choices)

    def parse(self, value: Any) -> str:
        if value not in self.choices:
            raise ValueError(f"must be {self.describe()}, {_got(value)}")
        return value


class SubsetOf(ParamType):
    """A list (possibly empty) of distinct choices."""

    def __init__(self, *choices: str):
        self.choices = choices

    def describe(self) -> str:
        return "a list of " + ", ".join(self.choices)

    def parse(self, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or any(v not in self.choices for v in value):
            raise ValueError(f"must be {self.describe()}, {_got(value)}")
        return tuple(dict.fromkeys(value))


class Optional(ParamType):
    """``null`` (meaning "no limit" / "not used") or a value of the inner type."""

    def __init__(self, inner: ParamType):
        self.inner = inner

    def describe(self) -> str:
        return f"{self.inner.describe()} or null"

    def parse(self, value: Any) -> Any:
        if value is None:
            return None
        try:
            return self.inner.parse(value)
        except ValueError:
            raise ValueError(f"must be {self.describe()}, {_got(value)}") from None


class Phrases(ParamType):
    """A list of phrases (strings). ``placeholders`` names the ``{...}`` a phrase may use;
    ``required_placeholder``: every phrase must use at least one of them."""

    def __init__(self, allow_empty: bool = False, placeholders: tuple[str, ...] = (),
                 required_placeholder: bool = False):
        self.allow_empty = allow_empty
        self.placeholders = placeholders
        self.required_placeholder = required_placeholder

    def describe(self) -> str:
        return "a list of phrases" if self.allow_empty else "a non-empty list of phrases"

    def parse(self, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or (not value and not self.allow_empty):
            raise ValueError(f"must be {self.describe()}, {_got(value)}")
        for index, phrase in enumerate(value):
            try:
                self._check_phrase(phrase)
            except ValueError as exc:
                raise ParamError(str(exc), (index,)) from None
        return tuple(value)

    def _check_phrase(self, phrase: Any) -> None:
        if not isinstance(phrase, str) or not phrase.strip():
            raise ValueError(f"every phrase must be a non-empty string, {_got(phrase)}")
        used = _PLACEHOLDER.findall(phrase)
        unknown = [name for name in used if name not in self.placeholders]
        if unknown:
            allowed = ", ".join("{" + p + "}" for p in self.placeholders) or "none"
            raise ValueError(f"phrase {phrase!r} uses unknown placeholder {{{unknown[0]}}} "
                             f"(allowed here: {allowed})")
        if self.required_placeholder and not used:
            allowed = " or ".join("{" + p + "}" for p in self.placeholders)
            raise ValueError(f"phrase {phrase!r} must contain {allowed}")


class PhraseGroups(ParamType):
    """All-of groups, each an any-of list of phrases: ``[[您好, 你好], [很高兴为您服务]]``."""

    def __init__(self, allow_empty: bool = False):
        self.allow_empty = allow_empty
        self.group = Phrases()

    def describe(self) -> str:
        what = "a list of phrase groups (each a non-empty list of phrases)"
        return what if self.allow_empty else "a non-empty " + what.removeprefix("a ")

    def parse(self, value: Any) -> tuple[tuple[str, ...], ...]:
        if not isinstance(value, list) or (not value and not self.allow_empty):
            raise ValueError(f"must be {self.describe()}, {_got(value)}")
        groups = []
        for index, group in enumerate(value):
            try:
                groups.append(self.group.parse(group))
            except ValueError as exc:
                raise ParamError(f"group {index + 1}: {exc}", (index, *getattr(exc, "path", ()))) from None
        return tuple(groups)


class Words(ParamType):
    """A non-empty list of words in Latin script (letters, spaces, hyphens, apostrophes)."""

    _LATIN = re.compile(r"[A-Za-z][A-Za-z' -]*")

    def describe(self) -> str:
        return "a non-empty list of Latin-script words"

    def parse(self, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not value:
            raise ValueError(f"must be {self.describe()}, {_got(value)}")
        for index, word in enumerate(value):
            if not isinstance(word, str) or not self._LATIN.fullmatch(word.strip()):
                raise ParamError(f"every word must be Latin letters, {_got(word)}", (index,))
        return tuple(word.strip() for word in value)


class Strings(ParamType):
    """A list of non-empty strings (may be empty): free-form references such as seed rows."""

    def describe(self) -> str:
        return "a list of strings"

    def parse(self, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or any(not isinstance(v, str) or not v.strip() for v in value):
            raise ValueError(f"must be {self.describe()}, {_got(value)}")
        return tuple(value)


class Patterns(Strings):
    """A list of regular expressions (Python ``re`` syntax), each compiled when the file is read."""

    def describe(self) -> str:
        return "a list of regular expressions"

    def parse(self, value: Any) -> tuple[str, ...]:
        patterns = super().parse(value)
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a valid regular expression: {exc}") from None
        return patterns
