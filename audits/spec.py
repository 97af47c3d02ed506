"""Service specs: loading, validation, and the spec-level helpers the pipeline uses.

A spec is one YAML file (format in ``audits/README.md``): name, language, organisation,
version, matching settings, and one item per checklist id giving its title, points, critical
flag, check kind and the kind's parameters. Everything is validated on load; an error names the
file, the line, the item and the field. ``load_spec("en")`` resolves a bundled spec name to the
packaged file; anything else is a path.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import yaml

from audits.checks import KINDS, Check
from audits.cues import CLOSING_QUESTION, CUES, GREETING, HOLD_ANNOUNCEMENT, HOLD_THANKS, REQUIRED_CUES, SILENT_CALL
from audits.matchers import CuePhrases, Matching, SpecMatchers
from audits.params import (
    REQUIRED,
    Flag,
    Number,
    OneOf,
    OptionError,
    ParamType,
    Phrases,
    Strings,
    SubsetOf,
    Text,
    declared,
)
from audits.specextends import MergedItem, MergedSpec, bundled_specs, merge, origin, peek_id
from audits.specitem import SpecItem
from audits.specsource import SpecError

__all__ = ["CHECKLIST", "CuePhrases", "Matching", "Spec", "SpecError", "SpecItem", "load_spec", "bundled_specs"]

# The checklist's item ids: a public contract (../shared/checklist.md), in report order.
CHECKLIST = (
    "opening.greeting", "opening.prompt_answer", "opening.wait_apology",
    "forbidden.phrases", "forbidden.foreign_words",
    "silence.dead_air", "hold.etiquette", "silent_call.protocol",
    "closing.anything_else", "closing.farewell", "closing.customer_hangs_up_first",
    "courtesy.thanks_reply", "courtesy.apology", "courtesy.surname",
    "interaction.no_interrupt", "interaction.speech_rate",
    "transfer.consent", "explain.confirm",
)

# The checklist's namespaces are its own: an id there is one of the 18 (a typo is caught, not taken
# for a new item); a spec's own items live in a namespace of its own (custom., acme., scenario.).
RESERVED_NAMESPACES = tuple(dict.fromkeys(item.split(".")[0] for item in CHECKLIST))
ITEM_ID = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)+")
MAX_ITEMS = 1000  # a spec beyond this is refused before any item is read (each item is a check per call)

# The cues (audits.cues) an item serves when it has no ``provides:`` field, as far as its kind
# can serve them, and unless another item's ``provides:`` names the cue.
DEFAULT_CUES = {
    "opening.greeting": (GREETING,),
    "closing.anything_else": (CLOSING_QUESTION,),
    "hold.etiquette": (HOLD_ANNOUNCEMENT, HOLD_THANKS),
    "silent_call.protocol": (SILENT_CALL,),
}

_TOP_FIELDS: dict[str, tuple[ParamType, Any]] = {  # besides extends, remove, matching, items
    "name": (Text(), REQUIRED),
    "language": (OneOf("zh", "en"), REQUIRED),
    "organisation": (Text(), REQUIRED),
    "version": (Text(numbers=True), REQUIRED),
    "description": (Text(), ""),
}
_MATCHING_FIELDS: dict[str, tuple[ParamType, Any]] = {
    "threshold": (Number(above=0, maximum=1), REQUIRED),
    "fillers": (Phrases(allow_empty=True), ()),
    "whole_word": (Flag(), True),
}
_ITEM_FIELDS: dict[str, tuple[ParamType, Any]] = {
    "title": (Text(), REQUIRED),
    "points": (Number(minimum=0), REQUIRED),
    "critical": (Flag(), REQUIRED),
    "seeds": (Strings(), REQUIRED),
    "description": (Text(), ""),
    "provides": (SubsetOf(*CUES), None),  # None: not written, DEFAULT_CUES
    "enabled": (Flag(), True),  # false: validated, not judged (only an optional item)
}


class Spec:
    """A loaded, validated service spec.

    ``version`` is a hash of the validated content (a changed phrase or threshold gives a new
    version, a changed comment does not); ``revision`` is the version string the file declares.
    """

    def __init__(self, *, file: str, name: str, language: str, organisation: str, revision: str,
                 description: str, matching: Matching, items: tuple[SpecItem, ...],
                 origins: dict[tuple[str, str], str] | None = None, chain: tuple[str, ...] = ()):
        self.file = file
        # where each value was written: (item id or "", field) -> "file:line"; and the files
        # merged, parent first (``extends:``)
        self.origins = origins or {}
        self.chain = chain or (file,)
        self.name = name
        self.language = language
        self.organisation = organisation
        self.revision = revision
        self.description = description
        self.matching = matching
        self.items = items
        self.checks: tuple[Check, ...] = tuple(KINDS[item.kind](item) for item in items)
        self.version = _content_hash(self)
        self.matchers = SpecMatchers(language, matching)
        self._cues = {cue: CuePhrases(self.matchers) for cue in CUES}
        for item, check in zip(items, self.checks):
            for cue in item.provides:
                self._cues[cue] = CuePhrases(self.matchers, check.cue_phrases(cue), item.options.match_threshold)

    def __repr__(self) -> str:
        return f"Spec({self.name!r}, language={self.language!r}, version={self.version!r}, items={len(self.items)})"

    def item(self, item_id: str) -> SpecItem:
        for item in self.items:
            if item.id == item_id:
                return item
        raise KeyError(item_id)

    def phrases_for(self, cue: str) -> CuePhrases:
        """The phrases serving ``cue`` (``audits.cues``), from the item that provides it; none (a
        score of 0, never said) when no item does."""
        return self._cues[cue]

    def not_in_spec(self) -> tuple[str, ...]:
        """The checklist ids this spec leaves out (not audited; reports say "not in spec")."""
        have = {item.id for item in self.items}
        return tuple(i for i in CHECKLIST if i not in have)

    def cue_items(self) -> dict[str, str]:
        """Each provided cue and the id of the item providing it."""
        return {cue: item.id for item in self.items for cue in item.provides}


def load_spec(path_or_name: str | Path) -> Spec:
    """Load and validate a spec: a bundled name ("en", "zh-CN") or a path to a YAML file; a spec
    that ``extends:`` another is merged with it first (``audits.specextends``)."""
    return _SpecReader(merge(path_or_name)).read()


class _SpecReader:
    """Validates one spec file's node tree into a :class:`Spec`."""

    def __init__(self, merged: MergedSpec):
        self.merged = merged
        self.source = merged.source
        self.origins: dict[tuple[str, str], str] = {}

    def read(self) -> Spec:
        src, merged = self.source, self.merged
        top = self._fields(src.root, merged.top, _TOP_FIELDS, None, "the spec",
                           extra_known=("extends", "remove", "matching", "items"))
        if merged.matching is None:
            raise src.error(src.root, "missing", field="matching")
        if merged.items is None:
            raise src.error(src.root, "missing", field="items")
        matching_fields = self._fields(merged.matching_node, merged.matching, _MATCHING_FIELDS, None, "matching",
                                       prefix="matching.")
        matching = Matching(**matching_fields)
        items = self._items(top["organisation"], top["language"])
        return Spec(file=src.file, name=top["name"], language=top["language"], organisation=top["organisation"],
                    revision=top["version"], description=top["description"], matching=matching, items=items,
                    origins=self.origins, chain=tuple(merged.chain))

    def _fields(self, node: yaml.Node, entries: dict, schema: dict[str, tuple[ParamType, Any]], item: str | None,
                what: str, prefix: str = "", extra_known: tuple[str, ...] = (),
                transform=None) -> dict[str, Any]:
        """Parse ``entries`` against ``schema``: unknown keys, missing keys and bad values are errors."""
        src = self.source
        for key, (key_node, _) in entries.items():
            if key not in schema:
                known = [*schema, *extra_known]
                raise src.error(key_node, f"unknown field for {what}{_did_you_mean(key, known)} "
                                          f"(fields: {', '.join(known)})", item, prefix + key)
        values = {}
        for key, (param_type, default) in schema.items():
            if key not in entries:
                if default is REQUIRED:
                    raise src.error(node, f"missing ({param_type.describe()})", item, prefix + key)
                values[key] = default
                continue
            key_node, value_node = entries[key]
            self.origins[(item or "", prefix + key)] = origin(key_node)
            raw = src.value(value_node, item, prefix + key)
            if transform is not None:
                raw = transform(raw)
            try:
                values[key] = param_type.parse(raw)
            except ValueError as exc:
                at = _element(value_node, getattr(exc, "path", ())) or key_node
                raise src.error(at, str(exc), item, prefix + key) from None
        return values

    def _items(self, organisation: str, language: str) -> tuple[SpecItem, ...]:
        src, merged = self.source, self.merged
        key_node = merged.items_key
        if len(merged.items) > MAX_ITEMS:
            raise src.error(key_node, f"refused: {len(merged.items):,} items, more than the {MAX_ITEMS:,} a spec may "
                                      "have (every item is judged on every call): split the spec or merge items",
                            field="items")
        items: list[SpecItem] = []
        first_line: dict[str, int] = {}
        for number, entry in enumerate(merged.items, 1):
            item = self._item(entry, number, organisation, language)
            if item.id in first_line:
                raise src.error(entry.node, f"duplicate item id (first on line {first_line[item.id]})", item.id, "id")
            first_line[item.id] = item.line
            items.append(item)
        nodes = [entry.node for entry in merged.items]
        for item, item_node in zip(items, nodes):
            if not item.enabled and item.id in CHECKLIST:
                raise src.error(_entry(item_node, "enabled"), "only an optional item can be disabled, one of the "
                                "spec's own (leave a checklist item out, or use kind: not_applicable)", item.id, "enabled")
        kept = [(item, item_node) for item, item_node in zip(items, nodes) if item.enabled]
        if not kept:
            raise src.error(key_node, "no items: a spec audits at least one item", field="items")
        items = self._cues(key_node, [n for _, n in kept], [i for i, _ in kept])
        # the checklist's items in checklist order, then the spec's own in the order written
        return tuple(sorted(items, key=lambda i: CHECKLIST.index(i.id) if i.id in CHECKLIST else len(CHECKLIST)))

    def _cues(self, key_node: yaml.Node, nodes: list[yaml.Node], items: list[SpecItem]) -> list[SpecItem]:
        """Each item's ``provides`` resolved (None: its defaults, less the cues another item
        names); a cue served twice, or a required cue served by none, is an error."""
        src = self.source
        named = {cue for item in items if item.provides is not None for cue in item.provides}
        resolved = [dataclasses.replace(item, provides=item.provides if item.provides is not None
                                        else tuple(c for c in _default_cues(item) if c not in named))
                    for item in items]
        served_by: dict[str, SpecItem] = {}
        for item, node in zip(resolved, nodes):
            for cue in item.provides:
                if cue in served_by:
                    raise src.error(_entry(node, "provides"), f"{cue!r} is provided by item {served_by[cue].id!r} "
                                    "already", item.id, "provides")
                served_by[cue] = item
        for cue in REQUIRED_CUES:
            if cue in served_by:
                continue
            # the item that serves it by default, when its kind cannot: blame its kind
            for owner, node in zip(resolved, nodes):
                if cue in DEFAULT_CUES.get(owner.id, ()) and cue not in KINDS[owner.kind].provides:
                    kinds = " or ".join(repr(k) for k, c in KINDS.items() if cue in c.provides)
                    raise src.error(_entry(node, "kind"), f"must be {kinds}: the pipeline reads this item's phrases "
                                    f"(cue {cue!r}), got {owner.kind!r}; or give another item provides: [{cue}]",
                                    owner.id, "kind")
            raise src.error(key_node, f"no item provides cue {cue!r} ({CUES[cue]})", field="items")
        return resolved

    def _item(self, merged: MergedItem, number: int, organisation: str, language: str) -> SpecItem:
        src = self.source
        node, entries = merged.node, merged.entries
        label = peek_id(node) or f"#{number}"
        item_id = self._item_id(node, entries, label)
        kind = self._choice(node, entries, "kind", tuple(KINDS), item_id, "kind")
        check = KINDS[kind]
        option_fields = declared(check.Options)
        schema = {**_ITEM_FIELDS, **{f.name: (f.metadata["type"], f.default) for f in option_fields}}
        rest = {k: v for k, v in entries.items() if k not in ("id", "kind")}
        values = self._fields(node, rest, schema, item_id, f"kind {kind!r}", extra_known=("id", "kind"),
                              transform=lambda raw: _with_organisation(raw, organisation))
        options_values = {f.name: values.pop(f.name) for f in option_fields}
        for cue in values["provides"] or ():
            if cue not in check.provides:
                can = ", ".join(k for k, c in KINDS.items() if cue in c.provides)
                raise src.error(entries["provides"][0], f"kind {kind!r} cannot provide cue {cue!r} (kinds that can: "
                                                        f"{can})", item_id, "provides")
        try:
            options = check.Options(**options_values)
        except OptionError as exc:
            at = entries[exc.field][0] if exc.field in entries else node
            raise src.error(at, exc.message, item_id, exc.field) from None
        return SpecItem(id=item_id, kind=kind, options=options, language=language, line=src.line(node), **values)

    def _item_id(self, node: yaml.Node, entries: dict, label: str) -> str:
        """A checklist id, or a namespaced id of the spec's own outside the checklist's namespaces."""
        src = self.source
        if "id" not in entries:
            raise src.error(node, "missing (a checklist id, or your own namespaced id such as custom.verify_identity)",
                            label, "id")
        value_node = entries["id"][1]
        value = src.value(value_node, label, "id")
        if value in CHECKLIST:
            return value
        if not isinstance(value, str) or not ITEM_ID.fullmatch(value):
            raise src.error(value_node, f"an item id is lower-case words joined by dots, namespace first "
                                        f"(custom.verify_identity), got {value!r}", str(value), "id")
        namespace = value.split(".")[0]
        if namespace in RESERVED_NAMESPACES:
            raise src.error(value_node, f"unknown checklist id {value!r}{_did_you_mean(value, CHECKLIST)} (the "
                                        f"namespace {namespace}. is the checklist's; give an item of your own "
                                        f"another one, e.g. custom.{value.split('.', 1)[1]})", value, "id")
        return value

    def _choice(self, node: yaml.Node, entries: dict, field: str, choices: tuple[str, ...], item: str,
                what: str) -> str:
        src = self.source
        if field not in entries:
            raise src.error(node, f"missing (one of {', '.join(choices)})", item, field)
        value_node = entries[field][1]
        value = src.value(value_node, item, field)
        if value not in choices:
            raise src.error(value_node, f"unknown {what} {value!r}{_did_you_mean(str(value), choices)} "
                                        f"(one of {', '.join(choices)})", item if field != "id" else str(value), field)
        return value


def _default_cues(item: SpecItem) -> tuple[str, ...]:
    """The cues an item without a ``provides:`` field serves: its id's, as far as its kind can."""
    return tuple(cue for cue in DEFAULT_CUES.get(item.id, ()) if cue in KINDS[item.kind].provides)


def _entry(node: yaml.Node, key: str) -> yaml.Node:
    """The node of ``key`` in an item's mapping node (where errors about its value point), else
    the item's node."""
    for key_node, _ in node.value:
        if key_node.value == key:
            return key_node
    return node


def _element(node: yaml.Node, path: tuple) -> yaml.Node | None:
    """The node at ``path`` (list indexes, mapping keys) inside ``node``; None when the path is empty;
    the deepest node found when the rest is absent."""
    if not path:
        return None
    for step in path:
        if isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
        elif isinstance(node, yaml.MappingNode) and isinstance(step, str):
            match = [value for key, value in node.value if key.value == step]
            if not match:
                return node
            node = match[0]
        else:
            return node
    return node


def _with_organisation(value: Any, organisation: str) -> Any:
    """Phrases may say ``{org}``; it stands for the spec's organisation."""
    if isinstance(value, str):
        return value.replace("{org}", organisation)
    if isinstance(value, list):
        return [_with_organisation(v, organisation) for v in value]
    return value


def _did_you_mean(value: str, choices) -> str:
    close = difflib.get_close_matches(value, list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _content_hash(spec: Spec) -> str:
    content = {
        "name": spec.name, "language": spec.language, "organisation": spec.organisation,
        "revision": spec.revision, "matching": dataclasses.asdict(spec.matching),
        "items": [{**{f.name: getattr(i, f.name) for f in dataclasses.fields(i)
                      if f.name not in ("options", "line", "provides")},
                   "options": dataclasses.asdict(i.options)} for i in spec.items],
    }
    cues = spec.cue_items()
    if cues != {cue: i.id for i in spec.items for cue in _default_cues(i)}:
        content["cues"] = cues  # only when not the defaults: a spec's version stays what it was before cues
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]
