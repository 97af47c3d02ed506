"""The check kinds: one module and one class per kind; ``KINDS`` maps a spec's ``kind`` to it.

``reference()`` renders every kind's description and parameters as Markdown, from the classes
themselves (docstrings and declared parameters), so the documentation cannot drift from the code.
"""

import dataclasses
import inspect

from audits.checks.base import Check
from audits.checks.context import ContextCheck
from audits.checks.forbidden import ForbiddenCheck
from audits.checks.foreign_words import ForeignWordsCheck
from audits.checks.hangup import HangupCheck
from audits.checks.hold_etiquette import HoldEtiquetteCheck
from audits.checks.not_applicable import NotApplicableCheck
from audits.checks.phrases import PhrasesCheck
from audits.checks.readback import ReadbackCheck
from audits.checks.ring_apology import RingApologyCheck
from audits.checks.silent_call import SilentCallCheck
from audits.checks.surname import SurnameCheck
from audits.checks.threshold import ThresholdCheck

KINDS: dict[str, type[Check]] = {
    cls.kind: cls
    for cls in (PhrasesCheck, ForbiddenCheck, ForeignWordsCheck, ThresholdCheck, RingApologyCheck,
                HoldEtiquetteCheck, SilentCallCheck, HangupCheck, ContextCheck, SurnameCheck, ReadbackCheck,
                NotApplicableCheck)
}



def reference() -> str:
    """Markdown: the parameters every kind takes, then each kind's description and own parameters."""
    from audits.checks.base import CommonOptions
    from audits.params import declared

    common = declared(CommonOptions)
    out = ["### Every kind\n", *_table(common)]
    for name, cls in KINDS.items():
        own = [f for f in declared(cls.Options) if f.name not in {c.name for c in common}]
        out.append(f"### `{name}`\n\n{inspect.cleandoc(cls.__doc__)}\n")
        if cls.provides:
            out.append("Cues it can provide (item field `provides`): " + ", ".join(f"`{c}`" for c in cls.provides) + ".\n")
        out += _table(own)
    return "\n".join(out)


def _table(fields) -> list[str]:
    rows = ["| parameter | type | default | meaning |", "|---|---|---|---|"]
    for field in fields:
        default = "required" if field.default is dataclasses.MISSING else f"`{_yaml(field.default)}`"
        rows.append(f"| `{field.name}` | {field.metadata['type'].describe()} | {default} | {field.metadata['doc']} |")
    return rows + [""]


def _yaml(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


__all__ = ["KINDS", "Check", "reference"]
