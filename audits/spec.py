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
import importlib.resources
import json
from pathlib import Path
from typing import Any

import yaml

from audits.calldata import yamlsafe
from audits.checks import KINDS, Check
from audits.matchers import Matching, SpecMatchers
from audits.params import REQUIRED, Flag, Number, OneOf, OptionError, ParamType, Phrases, Strings, Text, declared
from audits.specitem import SpecItem
from audits.specsource import SpecError, SpecSource

__all__ = ["CHECKLIST", "Matching", "Spec", "SpecError", "SpecItem", "load_spec", "bundled_specs"]

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

# Items whose parameters the pipeline reads (to find the agent channel, to detect holds), so
# their kind is fixed: the phrases must be there to read.
PIPELINE_KINDS = {"opening.greeting": "phrases", "hold.etiquette": "hold_etiquette"}

_TOP_FIELDS: dict[str, tuple[ParamType, Any]] = {
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
}


class Spec:
    """A loaded, validated service spec.

    ``version`` is a hash of the validated content (a changed phrase or threshold gives a new
    version, a changed comment does not); ``revision`` is the version string the file declares.
    """

    def __init__(self, *, file: str, name: str, language: str, organisation: str, revision: str,
                 description: str, matching: Matching, items: tuple[SpecItem, ...]):
        self.file = file
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

    def __repr__(self) -> str:
        return f"Spec({self.name!r}, language={self.language!r}, version={self.version!r}, items={len(self.items)})"

    def item(self, item_id: str) -> SpecItem:
        for item in self.items:
            if item.id == item_id:
                return item
        raise KeyError(item_id)

    def opening_score(self, text: str) -> float:
        """How well ``text`` matches the opening greeting, 0..1. Used to tell which channel or
        diarized speaker is the agent."""
        return self._phrase_groups_score("opening.greeting", text)

    def closing_score(self, text: str) -> float:
        """How well ``text`` matches the closing question ("anything else?"), 0..1; 0 when the spec
        has no such item. Used to tell which diarized speaker is the agent."""
        return self._phrase_groups_score("closing.anything_else", text) if self._has("closing.anything_else") else 0.0

    def _phrase_groups_score(self, item_id: str, text: str) -> float:
        """The mean over the item's phrase groups of the best match score (0 for a group not matched)."""
        item = self.item(item_id)
        scores = []
        for group in item.options.groups:
            best = self.matchers.matcher(group, item.options.match_threshold).best(text)
            scores.append(best.score if best else 0.0)
        return sum(scores) / len(scores)

    def _has(self, item_id: str) -> bool:
        return any(item.id == item_id for item in self.items)

    def is_hold_announcement(self, text: str) -> bool:
        """Does ``text`` announce a wait (稍等 / 'one moment' / 'May I put you on hold')?
        Used to detect announced holds."""
        item = self.item("hold.etiquette")
        phrases = item.options.announce + item.options.ask
        return bool(self.matchers.matcher(phrases, item.options.match_threshold).find(text))


def bundled_specs() -> dict[str, Path]:
    """Bundled spec names and their files (package ``callqa_configs``, folder ``spec``)."""
    try:
        folder = importlib.resources.files("callqa_configs") / "spec"
    except ModuleNotFoundError:
        return {}
    if not folder.is_dir():
        return {}
    return {Path(entry.name).stem: Path(str(entry)) for entry in folder.iterdir() if entry.name.endswith(".yaml")}


def load_spec(path_or_name: str | Path) -> Spec:
    """Load and validate a spec: a bundled name ("en", "zh-CN") or a path to a YAML file."""
    bundled = bundled_specs()
    if isinstance(path_or_name, str) and path_or_name in bundled:
        path, shown = bundled[path_or_name], f"{path_or_name} ({bundled[path_or_name]})"
    else:
        path, shown = Path(path_or_name), str(path_or_name)
    try:
        text = yamlsafe.read_text(path)
    except yamlsafe.YamlTooLarge as exc:
        raise SpecError(shown, None, f"refused: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        names = ", ".join(sorted(bundled)) or "none installed"
        raise SpecError(shown, None, f"cannot read the spec ({exc.__class__.__name__}: {exc}); "
                                     f"bundled specs: {names}") from None
    return _SpecReader(SpecSource(shown, text)).read()


class _SpecReader:
    """Validates one spec file's node tree into a :class:`Spec`."""

    def __init__(self, source: SpecSource):
        self.source = source

    def read(self) -> Spec:
        src = self.source
        entries = src.mapping(src.root, "the spec")
        matching_entry = entries.pop("matching", None)
        items_entry = entries.pop("items", None)
        top = self._fields(src.root, entries, _TOP_FIELDS, None, "the spec", extra_known=("matching", "items"))
        for name, entry in (("matching", matching_entry), ("items", items_entry)):
            if entry is None:
                raise src.error(src.root, "missing", field=name)
        matching_fields = self._fields(matching_entry[1], src.mapping(matching_entry[1], "matching", field="matching"),
                                       _MATCHING_FIELDS, None, "matching", prefix="matching.")
        matching = Matching(**matching_fields)
        items = self._items(items_entry, top["organisation"], top["language"])
        return Spec(file=src.file, name=top["name"], language=top["language"], organisation=top["organisation"],
                    revision=top["version"], description=top["description"], matching=matching, items=items)

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
        for key, (kind, default) in schema.items():
            if key not in entries:
                if default is REQUIRED:
                    raise src.error(node, f"missing ({kind.describe()})", item, prefix + key)
                values[key] = default
                continue
            key_node, value_node = entries[key]
            raw = src.value(value_node, item, prefix + key)
            if transform is not None:
                raw = transform(raw)
            try:
                values[key] = kind.parse(raw)
            except ValueError as exc:
                at = _element(value_node, getattr(exc, "path", ())) or key_node
                raise src.error(at, str(exc), item, prefix + key) from None
        return values

    def _items(self, entry: tuple[yaml.Node, yaml.Node], organisation: str, language: str) -> tuple[SpecItem, ...]:
        src = self.source
        key_node, node = entry
        nodes = src.sequence(node, "items", field="items")
        items: list[SpecItem] = []
        first_line: dict[str, int] = {}
        for number, item_node in enumerate(nodes, 1):
            item = self._item(item_node, number, organisation, language)
            if item.id in first_line:
                raise src.error(item_node, f"duplicate item id (first on line {first_line[item.id]})", item.id, "id")
            first_line[item.id] = item.line
            items.append(item)
        missing = [i for i in CHECKLIST if i not in first_line]
        if missing:
            raise src.error(key_node, "missing checklist item(s): " + ", ".join(missing)
                            + " (use kind: not_applicable to switch one off)", field="items")
        return tuple(sorted(items, key=lambda i: CHECKLIST.index(i.id)))

    def _item(self, node: yaml.Node, number: int, organisation: str, language: str) -> SpecItem:
        src = self.source
        label = _peek_id(node) or f"#{number}"
        entries = src.mapping(node, f"item {label}", item=label)
        item_id = self._choice(node, entries, "id", CHECKLIST, label, "checklist id")
        kind = self._choice(node, entries, "kind", tuple(KINDS), item_id, "kind")
        if item_id in PIPELINE_KINDS and kind != PIPELINE_KINDS[item_id]:
            raise src.error(entries["kind"][1], f"must be {PIPELINE_KINDS[item_id]!r}: the pipeline reads this "
                                                f"item's phrases, got {kind!r}", item_id, "kind")
        check = KINDS[kind]
        option_fields = declared(check.Options)
        schema = {**_ITEM_FIELDS, **{f.name: (f.metadata["type"], f.default) for f in option_fields}}
        rest = {k: v for k, v in entries.items() if k not in ("id", "kind")}
        values = self._fields(node, rest, schema, item_id, f"kind {kind!r}", extra_known=("id", "kind"),
                              transform=lambda raw: _with_organisation(raw, organisation))
        options_values = {f.name: values.pop(f.name) for f in option_fields}
        try:
            options = check.Options(**options_values)
        except OptionError as exc:
            at = entries[exc.field][0] if exc.field in entries else node
            raise src.error(at, exc.message, item_id, exc.field) from None
        return SpecItem(id=item_id, kind=kind, options=options, language=language, line=src.line(node), **values)

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


def _peek_id(node: yaml.Node) -> str | None:
    """An item's id before the item is validated, to name it in errors about its other keys."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == "id" and isinstance(value, yaml.ScalarNode):
                return value.value
    return None


def _element(node: yaml.Node, path: tuple[int, ...]) -> yaml.Node | None:
    """The node at ``path`` (list indexes) inside ``node``; None when the path is empty or absent."""
    if not path:
        return None
    for index in path:
        if not isinstance(node, yaml.SequenceNode) or index >= len(node.value):
            return None
        node = node.value[index]
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
        "items": [{**{f.name: getattr(i, f.name) for f in dataclasses.fields(i) if f.name not in ("options", "line")},
                   "options": dataclasses.asdict(i.options)} for i in spec.items],
    }
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]
