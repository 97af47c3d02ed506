"""Reading a spec file as YAML nodes, so every error can name its file and line.

PyYAML's ``compose`` keeps a mark (line, column) on every node; values are constructed from the
nodes one at a time, which lets the loader say exactly which key of which item is wrong.
"""

from __future__ import annotations

import io
from typing import Any

import yaml

from audits.calldata import yamlsafe

# libyaml's composer when PyYAML has it: a 1 MB spec composes in under 2 s instead of 8.5
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class SpecError(ValueError):
    """A spec that cannot be used. The message names the file, the line, the item and the field:
    ``configs/spec/en.yaml:42: item 'opening.greeting', field 'window_seconds': must be ...``."""

    def __init__(self, file: str, line: int | None, message: str, item: str | None = None,
                 field: str | None = None):
        self.file, self.line, self.item, self.field, self.problem = file, line, item, field, message
        where = file if line is None else f"{file}:{line}"
        subject = []
        if item is not None:
            subject.append(f"item {item!r}")
        if field is not None:
            subject.append(f"field {field!r}")
        prefix = ", ".join(subject) + ": " if subject else ""
        super().__init__(f"{where}: {prefix}{message}")


class SpecSource:
    """One spec file's node tree, with helpers that raise :class:`SpecError` at a node's line."""

    def __init__(self, file: str, text: str):
        self.file = file
        stream = io.StringIO(text)
        stream.name = file  # every node's marks name the file: after extends: merges, a node says where it was written
        try:
            self.root, self._loader = yamlsafe.compose(stream, _LOADER)
        except yamlsafe.YamlTooLarge as exc:
            raise SpecError(file, None, f"refused: {exc}") from None
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            raise SpecError(file, mark.line + 1 if mark else None,
                            f"not valid YAML: {exc.problem or exc.context}") from None
        except yaml.YAMLError as exc:
            raise SpecError(file, None, f"not valid YAML: {exc}") from None
        if self.root is None:
            raise SpecError(file, None, "the spec is empty")

    @staticmethod
    def line(node: yaml.Node) -> int:
        return node.start_mark.line + 1

    def error(self, node: yaml.Node, message: str, item: str | None = None,
              field: str | None = None) -> SpecError:
        """An error at ``node``, in the file the node was read from (a parent spec's, for a value a
        spec inherits through ``extends:``)."""
        return SpecError(node.start_mark.name or self.file, self.line(node), message, item, field)

    def value(self, node: yaml.Node, item: str | None = None, field: str | None = None) -> Any:
        """The Python value of a node (deep)."""
        try:
            return self._loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            raise self.error(node, f"cannot read value: {exc.problem}", item, field) from None

    def mapping(self, node: yaml.Node, what: str, item: str | None = None,
                field: str | None = None) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """A mapping node's entries: key -> (key node, value node); duplicates are errors."""
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, f"{what} must be a mapping, got {self._shape(node)}", item, field)
        entries: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            key = self.value(key_node, item, field)
            if not isinstance(key, str):
                raise self.error(key_node, f"{what}: keys must be strings, got {key!r}", item, field)
            if key in entries:
                first = self.line(entries[key][0])
                raise self.error(key_node, f"given twice (first on line {first})", item, key)
            entries[key] = (key_node, value_node)
        return entries

    def sequence(self, node: yaml.Node, what: str, field: str | None = None) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode):
            raise self.error(node, f"{what} must be a list, got {self._shape(node)}", field=field)
        return list(node.value)

    def _shape(self, node: yaml.Node) -> str:
        if isinstance(node, yaml.MappingNode):
            return "a mapping"
        if isinstance(node, yaml.SequenceNode):
            return "a list"
        return repr(self.value(node))

