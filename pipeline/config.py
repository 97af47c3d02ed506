"""Settings: the declared defaults (:mod:`pipeline.settings`) with a user's YAML laid over them.

A user file may leave out anything; what it gives must be a declared setting with a valid value,
else loading fails with the file, the line, the field and the problem:
``site.yaml:3: field 'asr.beam_size' must be an integer, got 'five'``.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml

from audits.calldata import yamlsafe
from audits.params import REQUIRED, OptionError, declared
from pipeline.setting_types import Entries, Section
from pipeline.settings import Settings, as_dict


class ConfigError(ValueError):
    """A settings file that cannot be used; the message names the file, the line and the field."""


def load_settings(path: Path | str | None = None) -> dict:
    """The settings as the nested dict the pipeline reads (``settings["asr"]["model"]``): the
    declared defaults, with the file at ``path`` (if any) laid over them, validated."""
    return as_dict(read_settings(path))


def read_settings(path: Path | str | None = None) -> Settings:
    """The settings as typed sections (``settings.asr.model``)."""
    if path is None:
        return Settings()
    path = Path(path)
    try:
        root, loader = yamlsafe.compose(yamlsafe.read_text(path))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read settings: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text (save the file as UTF-8)") from None
    except yamlsafe.YamlTooLarge as exc:
        raise ConfigError(f"{path}: refused: {exc}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(f"{where}: not valid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if root is None:
        return Settings()
    if not isinstance(root, yaml.MappingNode):
        raise ConfigError(f"{path}:{_line(root)}: settings must be a mapping of sections, got {_shape(root, loader)}")
    return _Reader(path, loader).section(Settings, root, Settings(), "")


class _Reader:
    """Validates one settings file's node tree against the declarations, default by default."""

    def __init__(self, path: Path, loader: Any):
        self.path, self.loader = path, loader

    def error(self, node: yaml.Node, message: str) -> ConfigError:
        return ConfigError(f"{self.path}:{_line(node)}: {message}")

    def value(self, node: yaml.Node, field: str) -> Any:
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            raise self.error(node, f"field {field!r} cannot be read: {exc.problem}") from None

    def entries(self, node: yaml.Node, field: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """A mapping node's entries, key -> (key node, value node); a key given twice is an error."""
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, f"field {field!r} must be a mapping, got {_shape(node, self.loader)}")
        entries: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            key = self.value(key_node, field)
            if not isinstance(key, str):
                raise self.error(key_node, f"field {field!r}: keys must be strings, got {key!r}")
            if key in entries:
                name = f"{field}.{key}" if field else key
                raise self.error(key_node, f"field {name!r} is given twice (first on line {_line(entries[key][0])})")
            entries[key] = (key_node, value_node)
        return entries

    def section(self, options: type, node: yaml.Node, default: Any, field: str) -> Any:
        """The section ``options`` from a mapping node: each given key validated, the others from
        ``default`` (an instance), or with ``default`` None from the declarations (required ones
        must be given)."""
        entries = self.entries(node, field)
        fields = {f.name: f for f in declared(options)}
        prefix = field + "." if field else ""
        for key, (key_node, _) in entries.items():
            if key not in fields:
                close = difflib.get_close_matches(key, list(fields), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise self.error(key_node, f"field {prefix + key!r} is not a setting{hint} "
                                           f"(known here: {', '.join(fields)})")
        values = {}
        for name, declaration in fields.items():
            if name in entries:
                key_node, value_node = entries[name]
                values[name] = self.field(declaration, key_node, value_node,
                                          getattr(default, name, declaration.default), prefix + name)
            elif default is not None:
                values[name] = getattr(default, name)
            elif declaration.default is REQUIRED:
                raise self.error(node, f"field {prefix + name!r} is missing "
                                       f"({declaration.metadata['type'].describe()})")
        try:
            return options(**values)
        except OptionError as exc:
            raise self.error(entries[exc.field][0] if exc.field in entries else node, exc.message) from None

    def field(self, declaration: Any, key_node: yaml.Node, node: yaml.Node, default: Any, field: str) -> Any:
        kind = declaration.metadata["type"]
        if isinstance(kind, Section):
            return self.section(kind.options, node, default, field)
        if isinstance(kind, Entries):
            if isinstance(node, yaml.ScalarNode) and self.value(node, field) is None:
                return default
            given = {name: self.section(kind.options, value_node, None, f"{field}.{name}")
                     for name, (_, value_node) in self.entries(node, field).items()}
            return tuple({**dict(default), **given}.items())
        raw = self.value(node, field)
        try:
            return kind.parse(raw)
        except ValueError as exc:
            at = _element(node, getattr(exc, "path", ())) or key_node
            raise self.error(at, f"field {field!r} {exc}") from None


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _element(node: yaml.Node, path: tuple[int, ...]) -> yaml.Node | None:
    """The node at ``path`` (list indexes) inside ``node``; None when the path is empty or absent."""
    for index in path:
        if not isinstance(node, yaml.SequenceNode) or index >= len(node.value):
            return None
        node = node.value[index]
    return node if path else None


def _shape(node: yaml.Node, loader: Any) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return repr(loader.construct_object(node))
