"""The value types of the settings (:mod:`pipeline.settings`), on the spec parameters' mechanism
(:class:`audits.params.ParamType`), with the settings' own wording: numbers whose errors name the
type or the range, lists of numbers, paths, the path pattern of ``batch.agent_from_path``, nested
sections and user-named entries (ring-back cadences)."""

from __future__ import annotations

import math
from typing import Any

import regex

from audits.params import Integers, ParamType, Text, declared


def _got(value: Any) -> str:
    return f"got {value!r}"


class Bounded(ParamType):
    """A number within inclusive bounds ``low``/``high`` or above ``above`` (each optional).

    Errors say what is wrong: the type ("must be an integer") or the range ("must be between 1
    and 20")."""

    noun = ""

    def __init__(self, low: float | None = None, high: float | None = None, *, above: float | None = None):
        self.low, self.high, self.above = low, high, above

    def _show(self, bound: float) -> str:
        raise NotImplementedError

    def _is_type(self, value: Any) -> bool:
        raise NotImplementedError

    def bounds(self) -> str:
        """The range, short: ``1..20``, ``≥ 0``, ``> 0`` ('' when unbounded)."""
        low = f"> {self._show(self.above)}" if self.above is not None else (
            f"≥ {self._show(self.low)}" if self.low is not None else "")
        if self.high is None:
            return low
        if self.low is None:
            return f"≤ {self._show(self.high)}"
        return f"{self._show(self.low)}..{self._show(self.high)}"

    def _range_words(self) -> str:
        if self.low is not None and self.high is not None:
            return f"between {self._show(self.low)} and {self._show(self.high)}"
        words = []
        if self.low is not None:
            words.append(f"at least {self._show(self.low)}")
        if self.above is not None:
            words.append(f"more than {self._show(self.above)}")
        if self.high is not None:
            words.append(f"at most {self._show(self.high)}")
        return " and ".join(words)

    def describe(self) -> str:
        if self.above == 0 and self.low is None and self.high is None:
            return self.noun.replace("a ", "a positive ", 1).replace("an ", "a positive ", 1)
        return f"{self.noun} {self._range_words()}".strip()

    def parse(self, value: Any) -> Any:
        if not self._is_type(value):
            raise ValueError(f"must be {self.noun}, {_got(value)}")
        if ((self.low is not None and value < self.low) or (self.high is not None and value > self.high)
                or (self.above is not None and value <= self.above)):
            raise ValueError(f"must be {self._range_words()}, {_got(value)}")
        return value


class Int(Bounded):
    noun = "an integer"

    def _show(self, bound: float) -> str:
        return str(int(bound))

    def _is_type(self, value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)


class Real(Bounded):
    """A number, returned as a float; with ``as_written``, as the file wrote it (an int stays an
    int: ring-back cadences go into the ASR key as given)."""

    noun = "a number"

    def __init__(self, low: float | None = None, high: float | None = None, *, above: float | None = None,
                 as_written: bool = False):
        super().__init__(low, high, above=above)
        self.as_written = as_written

    def _show(self, bound: float) -> str:
        return str(float(bound))

    def _is_type(self, value: Any) -> bool:
        return (isinstance(value, (int, float)) and not isinstance(value, bool)) and math.isfinite(value)

    def parse(self, value: Any) -> float:
        value = super().parse(value)
        return value if self.as_written else float(value)


class Reals(Integers):
    """A non-empty list of numbers of one :class:`Real` type, kept as written (the element-by-element
    check of :class:`audits.params.Integers`, with another element type)."""

    def __init__(self, item: Real):
        self.item = item

    def describe(self) -> str:
        return f"a non-empty list of {self.item.describe().removeprefix('a ').replace('number', 'numbers', 1)}"

    def parse(self, value: Any) -> tuple:
        if value == []:
            raise ValueError(f"must be {self.describe()}, {_got(value)}")
        return super().parse(value)


class PathText(Text):
    """A file or folder path (non-empty)."""

    def describe(self) -> str:
        return "a path"


PATH_GROUPS = ("agent", "agent_name", "team")  # what batch.agent_from_path may read from a path


class PathPattern(ParamType):
    """'' (not used) or a regular expression (the ``regex`` module's syntax, a superset of Python's
    ``re``) naming at least one of the groups in :data:`PATH_GROUPS`."""

    def describe(self) -> str:
        return "a regular expression or \"\""

    def parse(self, value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError(f"must be a string, {_got(value)}")
        if not value:
            return value
        try:
            compiled = regex.compile(value)
        except regex.error as exc:
            raise ValueError(f"is not a valid regular expression: {exc}") from None
        if not set(compiled.groupindex) & set(PATH_GROUPS):
            raise ValueError(f"names none of the groups {', '.join(PATH_GROUPS)} (write them as (?P<agent>...))")
        return value


class Section(ParamType):
    """A mapping holding the parameters of the dataclass ``options``, one key each."""

    def __init__(self, options: type):
        self.options = options

    def describe(self) -> str:
        return "a mapping"


class Entries(ParamType):
    """A mapping of names the user chooses to sections of ``options``; a file's entries are laid
    over the default's (a new name is added, a known one replaced). The value is a tuple of
    (name, options) pairs."""

    def __init__(self, options: type):
        self.options = options

    def describe(self) -> str:
        return "a mapping of names to {" + ", ".join(f.name for f in declared(self.options)) + "}"
