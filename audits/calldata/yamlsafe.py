"""YAML from files people write (specs, settings, metadata sidecars), with bounded cost.

YAML aliases let a 13 KB file stand for billions of values (the "billion laughs"): PyYAML builds
such a file as a small graph of shared nodes, but whatever then walks the values walks every
expansion, for minutes, and runs out of memory. Here the composed graph is measured before anything
reads it: files over MAX_BYTES, documents that expand (aliases counted at every use) to more than
MAX_VALUES values, nest deeper than MAX_DEPTH or refer to themselves are refused with a message
saying which limit was hit. The bundled specs hold 725 (en) and 1,030 (zh-CN) values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

MAX_BYTES = 1_000_000
MAX_VALUES = 200_000
MAX_DEPTH = 64


class YamlTooLarge(ValueError):
    """A YAML file beyond a limit; the message says which (the caller adds the file name)."""


def read_text(path: Path) -> str:
    """The file's text, at most MAX_BYTES of it (a bigger file, or an endless one, is refused)."""
    with open(path, "rb") as handle:
        raw = handle.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise YamlTooLarge(f"the file is larger than {MAX_BYTES // 1_000_000} MB, the most a YAML file here may be")
    return raw.decode("utf-8")


def compose(text, loader_class: type = yaml.SafeLoader) -> tuple[yaml.Node | None, Any]:
    """The document's node graph, checked, and the loader that made it (to construct values with).
    ``text``: a string, or a text stream (whose ``name`` the node marks carry)."""
    loader = loader_class(text)
    try:
        root = loader.get_single_node()
    except RecursionError:
        raise YamlTooLarge(f"nested more than {MAX_DEPTH} levels deep") from None
    if root is not None:
        check_size(root)
    return root, loader


def safe_load(text: str) -> Any:
    """``yaml.safe_load`` with the limits above."""
    root, loader = compose(text)
    return None if root is None else loader.construct_document(root)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def check_size(root: yaml.Node) -> int:
    """How many values the document holds with every alias expanded (each shared node counted
    once per use, computed once per node); raises YamlTooLarge past the limits."""
    sizes: dict[int, int] = {}  # id(node) -> expanded size, once known
    totals = {id(root): 1}  # expanded size so far of the nodes being walked
    stack = [(root, iter(_children(root)))]
    while stack:
        node, children = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            sizes[id(node)] = size = totals.pop(id(node))
            if stack:
                _add(totals, id(stack[-1][0]), size)
            continue
        if id(child) in sizes:
            _add(totals, id(node), sizes[id(child)])
        elif id(child) in totals:
            raise YamlTooLarge(f"line {child.start_mark.line + 1}: an alias refers to the value that contains it")
        else:
            if len(stack) >= MAX_DEPTH:
                raise YamlTooLarge(f"line {child.start_mark.line + 1}: nested more than {MAX_DEPTH} levels deep")
            totals[id(child)] = 1
            stack.append((child, iter(_children(child))))
    return sizes[id(root)]


def _add(totals: dict[int, int], key: int, size: int) -> None:
    totals[key] += size
    if totals[key] > MAX_VALUES:
        raise YamlTooLarge(f"its aliases expand to more than {MAX_VALUES:,} values (a YAML alias bomb?)")
