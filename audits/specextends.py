"""``extends:``: a spec that names a parent (a bundled spec or a file) and changes only what differs.

A company's spec is then 20 lines, not a 400-line copy::

    extends: zh-CN                  # a bundled name, or a path relative to this file
    name: acme-zh
    version: "1"
    organisation: 极客客服中心        # {org} in every inherited phrase becomes this
    matching: {threshold: 0.8}      # fields of matching, one by one
    remove: [courtesy.surname]      # items of the parent this spec does not audit
    items:
      - id: forbidden.phrases       # an item of the parent: only the fields given change
        points: 20
      - id: acme.job_number         # a new item: written in full
        ...

The layers are merged node by node (each value keeps the file and line it was written at, so an
error in an inherited value names the parent's file, and ``callqa spec show`` says where each value
came from); the merged result is then validated like any spec. An item whose ``kind`` a layer
changes keeps only its general fields (title, points, ...) from the parent: the new kind's
parameters must be written.
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from audits.calldata import yamlsafe
from audits.specsource import SpecError, SpecSource

MAX_LAYERS = 8  # a spec, its parent, ... : deeper chains are refused (and so are cycles)
# Fields every item has whatever its kind (kept when a layer changes an item's kind).
GENERAL_ITEM_FIELDS = ("id", "title", "points", "critical", "seeds", "description", "provides")

Entries = dict[str, tuple[yaml.Node, yaml.Node]]  # key -> (key node, value node)


@dataclass
class MergedItem:
    id: str
    node: yaml.Node  # the newest layer's node of this item (where "missing ..." errors point)
    entries: Entries


@dataclass
class MergedSpec:
    """The layers of a spec merged: what the spec reader validates."""

    source: SpecSource  # the spec that was asked for (the last layer)
    top: Entries
    matching: Entries | None
    matching_node: yaml.Node | None
    items: list[MergedItem] | None
    items_key: yaml.Node | None
    chain: list[str] = field(default_factory=list)  # the files, parent first


def bundled_specs() -> dict[str, Path]:
    """Bundled spec names and their files (package ``callqa_configs``, folder ``spec``)."""
    try:
        folder = importlib.resources.files("callqa_configs") / "spec"
    except ModuleNotFoundError:
        return {}
    if not folder.is_dir():
        return {}
    return {Path(entry.name).stem: Path(str(entry)) for entry in folder.iterdir() if entry.name.endswith(".yaml")}


def read_source(path_or_name: str | Path, relative_to: Path | None = None) -> tuple[SpecSource, Path]:
    """One spec file as nodes: a bundled name, or a path (relative to ``relative_to``'s folder when
    it is a parent named by ``extends:``)."""
    bundled = bundled_specs()
    if isinstance(path_or_name, str) and path_or_name in bundled:
        path, shown = bundled[path_or_name], f"{path_or_name} ({bundled[path_or_name]})"
    else:
        path = Path(path_or_name)
        if relative_to is not None and not path.is_absolute():
            path = relative_to.parent / path
        shown = str(path)
    try:
        text = yamlsafe.read_text(path)
    except yamlsafe.YamlTooLarge as exc:
        raise SpecError(shown, None, f"refused: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        names = ", ".join(sorted(bundled)) or "none installed"
        raise SpecError(shown, None, f"cannot read the spec ({exc.__class__.__name__}: {exc}); "
                                     f"bundled specs: {names}") from None
    return SpecSource(shown, text), path


def merge(path_or_name: str | Path, relative_to: Path | None = None, seen: tuple[Path, ...] = ()) -> MergedSpec:
    """The spec at ``path_or_name`` with its ``extends:`` chain merged in."""
    source, path = read_source(path_or_name, relative_to)
    entries = source.mapping(source.root, "the spec")
    extends = entries.pop("extends", None)
    remove = entries.pop("remove", None)
    matching = entries.pop("matching", None)
    items = entries.pop("items", None)
    if extends is None:
        if remove is not None:
            raise source.error(remove[0], "remove: needs extends: (there is no parent to remove items from)",
                               field="remove")
        merged = MergedSpec(source, entries, None, None, None, None, [source.file])
        if matching is not None:
            merged.matching_node = matching[1]
            merged.matching = source.mapping(matching[1], "matching", field="matching")
        if items is not None:
            merged.items_key = items[0]
            merged.items = [_item(source, node) for node in _item_nodes(source, items[1])]
        return merged
    parent = _parent(source, path, extends, seen)
    parent.source = source
    parent.chain.append(source.file)
    if "name" not in entries:
        raise source.error(source.root, "missing: a spec that extends another needs its own name", field="name")
    if "language" in entries and "language" in parent.top:
        mine, theirs = (source.value(e[1]) for e in (entries["language"], parent.top["language"]))
        if mine != theirs:
            raise source.error(entries["language"][1], f"cannot change the language of the spec it extends "
                                                       f"({theirs!r})", field="language")
    if remove is not None:
        _remove(source, parent, remove)
    parent.top.update(entries)
    if matching is not None:
        given = source.mapping(matching[1], "matching", field="matching")
        parent.matching = {**(parent.matching or {}), **given}
        parent.matching_node = matching[1]
    if items is not None:
        parent.items_key = items[0]
        _override_items(source, parent, _item_nodes(source, items[1]))
    return parent


def _parent(source: SpecSource, path: Path, extends: tuple[yaml.Node, yaml.Node], seen: tuple[Path, ...]) -> MergedSpec:
    key_node, value_node = extends
    name = source.value(value_node, field="extends")
    if not isinstance(name, str) or not name.strip():
        raise source.error(value_node, f"must name a bundled spec or a spec file, got {name!r}", field="extends")
    here = path.resolve()
    chain = (*seen, here)
    if len(chain) >= MAX_LAYERS:
        raise source.error(key_node, f"more than {MAX_LAYERS} specs extend one another", field="extends")
    bundled = bundled_specs()
    target = bundled[name] if name in bundled else (path.parent / name)
    if target.resolve() in chain:
        raise source.error(value_node, f"{name!r} extends this spec again (a cycle)", field="extends")
    try:
        return merge(name, path, chain)
    except SpecError as exc:
        if exc.line is None:  # the parent could not be read: say who asked for it
            raise source.error(value_node, f"parent {exc}", field="extends") from None
        raise


def _item_nodes(source: SpecSource, node: yaml.Node) -> list[yaml.Node]:
    return source.sequence(node, "items", field="items")


def _item(source: SpecSource, node: yaml.Node, number: int = 0) -> MergedItem:
    label = peek_id(node)
    entries = source.mapping(node, f"item {label or '#' + str(number)}", item=label)
    item_id = label if label is not None else f"#{number}"
    return MergedItem(item_id, node, entries)


def _override_items(source: SpecSource, parent: MergedSpec, nodes: list[yaml.Node]) -> None:
    items = parent.items if parent.items is not None else []
    by_id = {item.id: item for item in items}
    for number, node in enumerate(nodes, 1):
        item = _item(source, node, number)
        inherited = by_id.get(item.id)
        if inherited is None:
            items.append(item)
            by_id[item.id] = item
            continue
        entries = dict(inherited.entries)
        new_kind = item.entries.get("kind")
        old_kind = inherited.entries.get("kind")
        if new_kind is not None and (old_kind is None or new_kind[1].value != old_kind[1].value):
            entries = {k: v for k, v in entries.items() if k in GENERAL_ITEM_FIELDS}
        entries.update(item.entries)
        inherited.entries, inherited.node = entries, node
    parent.items = items


def _remove(source: SpecSource, parent: MergedSpec, remove: tuple[yaml.Node, yaml.Node]) -> None:
    ids = source.value(remove[1], field="remove")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise source.error(remove[1], f"must be a list of item ids, got {ids!r}", field="remove")
    present = {item.id for item in parent.items or ()}
    for index, item_id in enumerate(ids):
        if item_id not in present:
            raise source.error(remove[1].value[index], f"the parent has no item {item_id!r}", item_id, "remove")
    parent.items = [item for item in parent.items or () if item.id not in ids]


def peek_id(node: yaml.Node) -> str | None:
    """An item's id before the item is validated, to name it in errors about its other keys."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == "id" and isinstance(value, yaml.ScalarNode):
                return value.value
    return None


def origin(node: yaml.Node) -> str:
    """``file:line`` of a node (SpecSource names every node's marks after its file)."""
    return f"{node.start_mark.name}:{node.start_mark.line + 1}"
