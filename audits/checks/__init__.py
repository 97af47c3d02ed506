"""The check kinds: one module and one class per kind, found by discovery; ``KINDS`` maps a
spec's ``kind`` to its class.

``reference()`` renders every kind's description and parameters as Markdown, from the classes
themselves (docstrings and declared parameters), so the documentation cannot drift from the code.
"""

import dataclasses
import importlib
import inspect
import pkgutil

from audits.checks.base import REGISTRY, Check


def _discover() -> dict[str, type[Check]]:
    """Import every module of this package: each kind registers itself (``Check.__init_subclass__``)
    when its class is defined, so adding a kind is adding its file; no list to keep."""
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_") and module.name != "base":
            importlib.import_module(f"{__name__}.{module.name}")
    return dict(sorted(REGISTRY.items()))


KINDS: dict[str, type[Check]] = _discover()


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
    out += _operators()
    return "\n".join(out)


def _operators() -> list[str]:
    """The operators of ``rule`` conditions, from their classes."""
    from audits.rules import OPERATORS, conditions

    rows = ["### Operators of `rule` conditions\n", inspect.cleandoc(conditions.__doc__).split("\n\n", 1)[1] + "\n",
            "| operator | what it finds |", "|---|---|"]
    rows += [f"| `{name}` | {' '.join(inspect.cleandoc(cls.__doc__).split())} |" for name, cls in OPERATORS.items()]
    return rows + [""]


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
