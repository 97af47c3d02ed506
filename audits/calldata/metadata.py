"""Call metadata from the telephony system (optional). When given, it overrides what is inferred
from audio (ring time, who hung up) and names the agent for the scorecards.

Two forms, with the same fields (``COLUMNS``):

- a sidecar beside one recording, YAML or JSON: ``call1.mp3.meta.yaml`` (the recording's full
  name + ``.meta.yaml`` / ``.meta.yml`` / ``.meta.json``) or ``call1.meta.yaml`` (its stem + the same);
- one CSV for many calls (UTF-8, with or without BOM; a header row naming the columns), matched to
  a recording by its file name (``file``) or its ``call_id``.

Every field is optional; other columns or keys are ignored. The ring time is ``ring_seconds``, or
``answered_at - ring_start`` (ISO 8601 timestamps) when ``ring_seconds`` is empty. Metadata is
untrusted input: ``file`` is only ever compared with a recording's name, never made into a path.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PureWindowsPath

import yaml

from audits.calldata import yamlsafe

COLUMNS = (
    "call_id", "file", "agent_id", "agent_name", "team", "started_at", "ring_seconds",
    "ring_start", "answered_at", "hangup_by", "customer_surname", "direction",
)
TEXT_FIELDS = ("call_id", "file", "agent_id", "agent_name", "team", "customer_surname")
CHOICES = {"hangup_by": ("agent", "customer"), "direction": ("inbound", "outbound")}
SIDECAR_SUFFIXES = (".meta.yaml", ".meta.yml", ".meta.json")
YAML_NULLS = ("~", "null", "Null", "NULL")  # YAML's spellings of "no value" (read here as text)


class MetadataError(ValueError):
    """Metadata that cannot be used; the message names the file, the line and the column."""


@dataclass
class CallMetadata:
    call_id: str | None = None
    file: str | None = None  # as given; compared with recordings' names only
    agent_id: str | None = None
    agent_name: str | None = None
    team: str | None = None
    started_at: str | None = None  # ISO 8601
    ring_seconds: float | None = None
    hangup_by: str | None = None  # "agent" | "customer"
    customer_surname: str | None = None
    direction: str | None = None  # "inbound" | "outbound"


# A function that says where a value came from, for error messages: column -> "file, line n, column c".
Where = Callable[[str], str]


def load_metadata_csv(path: Path | str) -> dict[str, CallMetadata]:
    """The calls in a metadata CSV, keyed by file name and by call id (both point at one record)."""
    path = Path(path)
    rows = csv.reader(io.StringIO(_read_text(path), newline=""))
    header = [name.strip() for name in next(rows, [])]
    if not {"file", "call_id"} & set(header):
        raise MetadataError(f"{path}: line 1: the header needs a 'file' or a 'call_id' column, got {header}")
    repeated = sorted({name for name in header if name and header.count(name) > 1})
    if repeated:
        raise MetadataError(f"{path}: line 1: column {repeated[0]!r} appears more than once")
    table: dict[str, CallMetadata] = {}
    first_line: dict[str, int] = {}
    line = rows.line_num
    for row in rows:
        row_line, line = line + 1, rows.line_num  # a quoted cell may span lines: report where the row starts
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            raise MetadataError(f"{path}: line {row_line}: {len(row)} cells, the header names {len(header)} columns")
        record = _record(dict(zip(header, row)), lambda column: f"{path}: line {row_line}, column {column!r}")
        if record.call_id is None and record.file is None:
            raise MetadataError(f"{path}: line {row_line}: needs a 'file' or a 'call_id' value")
        for column, key in (("file", _file_name(record.file)), ("call_id", record.call_id)):
            if key is None:
                continue
            if key in table and table[key] is not record:
                raise MetadataError(
                    f"{path}: line {row_line}, column {column!r}: {key!r} is already the key of line {first_line[key]}"
                )
            table[key], first_line[key] = record, row_line
    return table


def load_sidecar(audio_path: Path | str) -> CallMetadata | None:
    """The metadata sidecar beside a recording, or None when there is none."""
    path = sidecar_path(Path(audio_path))
    if path is None:
        return None
    text = _read_text(path)
    values, lines = _parse_json(path, text) if path.suffix == ".json" else _parse_yaml(path, text)
    return _record(values, lambda key: f"{path}: line {lines.get(key, '?')}, key {key!r}")


def sidecar_path(audio_path: Path) -> Path | None:
    """``call1.mp3.meta.yaml`` (and .yml, .json) beside the recording, else ``call1.meta.yaml``."""
    for base in (audio_path.name, audio_path.stem):
        for suffix in SIDECAR_SUFFIXES:
            candidate = audio_path.with_name(base + suffix)
            if candidate.is_file():
                return candidate
    return None


def find_metadata(audio_path: Path | str, table: dict[str, CallMetadata] | None = None) -> CallMetadata | None:
    """A recording's metadata: its sidecar, else the table's row for its file name or (as call id) its stem."""
    audio_path = Path(audio_path)
    sidecar = load_sidecar(audio_path)
    if sidecar is not None or not table:
        return sidecar
    return table.get(audio_path.name) or table.get(audio_path.stem)


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise MetadataError(f"{path}: cannot read metadata: {exc.strerror}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise MetadataError(f"{path}: line {line}: not UTF-8 text (save the file as UTF-8)") from None


def _parse_yaml(path: Path, text: str) -> tuple[dict[str, str | None], dict[str, int]]:
    # Composed, not loaded: every value stays the text that was written (no YAML guessing that
    # 0012 is a number or that a date is a datetime), and each key keeps its line.
    try:
        node, _ = yamlsafe.compose(text, yaml.BaseLoader)
    except yamlsafe.YamlTooLarge as exc:
        raise MetadataError(f"{path}: refused: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise MetadataError(f"{path}: line {mark.line + 1 if mark else '?'}: not valid YAML") from None
    if not isinstance(node, yaml.MappingNode):
        raise MetadataError(f"{path}: line 1: metadata must be a mapping of fields")
    values, lines = {}, {}
    for key_node, value_node in node.value:
        key, lines[key_node.value] = key_node.value, key_node.start_mark.line + 1
        if not isinstance(value_node, yaml.ScalarNode):
            raise MetadataError(f"{path}: line {lines[key]}, key {key!r}: must be a single value")
        values[key] = None if value_node.value in YAML_NULLS else value_node.value
    return values, lines


def _parse_json(path: Path, text: str) -> tuple[dict[str, str | None], dict[str, int]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MetadataError(f"{path}: line {exc.lineno}: not valid JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise MetadataError(f"{path}: line 1: metadata must be a JSON object")
    values = {}
    for key, value in data.items():
        if isinstance(value, (dict, list)):
            raise MetadataError(f"{path}: key {key!r}: must be a single value")
        values[key] = None if value is None else str(value)
    return values, {}


def _record(values: dict[str, str | None], where: Where) -> CallMetadata:
    """A validated CallMetadata from raw text values (missing or blank: None)."""
    values = {key: _blank_to_none(values.get(key)) for key in COLUMNS}
    fields = {key: values[key] for key in TEXT_FIELDS}
    for key, allowed in CHOICES.items():
        fields[key] = _choice(values[key], allowed, where(key))
    if values["started_at"] is not None:
        _timestamp(values["started_at"], where("started_at"))
    ring_seconds = _seconds(values["ring_seconds"], where("ring_seconds"))
    ring_from_times = _ring_from_timestamps(values["ring_start"], values["answered_at"], where)
    return CallMetadata(
        **fields,
        started_at=values["started_at"],
        ring_seconds=ring_seconds if ring_seconds is not None else ring_from_times,
    )


def _blank_to_none(value: str | None) -> str | None:
    value = value.strip() if value is not None else None
    return value or None


def _choice(value: str | None, allowed: tuple[str, ...], where: str) -> str | None:
    if value is None:
        return None
    if value.lower() not in allowed:
        raise MetadataError(f"{where}: {value!r} is not one of {', '.join(allowed)}")
    return value.lower()


def _seconds(value: str | None, where: str) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        raise MetadataError(f"{where}: {value!r} is not a number of seconds") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise MetadataError(f"{where}: {value!r} is not a number of seconds >= 0")
    return seconds


def _timestamp(value: str, where: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise MetadataError(f"{where}: {value!r} is not an ISO 8601 time (e.g. 2024-05-01T09:30:15+08:00)") from None


def _ring_from_timestamps(ring_start: str | None, answered_at: str | None, where: Where) -> float | None:
    if ring_start is None and answered_at is None:
        return None
    if ring_start is None or answered_at is None:
        missing, given = ("ring_start", "answered_at") if ring_start is None else ("answered_at", "ring_start")
        raise MetadataError(f"{where(missing)}: empty, but {given} is given (the ring time needs both)")
    start, answered = _timestamp(ring_start, where("ring_start")), _timestamp(answered_at, where("answered_at"))
    if (start.tzinfo is None) != (answered.tzinfo is None):
        raise MetadataError(f"{where('answered_at')}: give it and ring_start both with a time zone or both without")
    seconds = (answered - start).total_seconds()
    if seconds < 0:
        raise MetadataError(f"{where('answered_at')}: {answered_at!r} is before ring_start {ring_start!r}")
    return seconds


def _file_name(file: str | None) -> str | None:
    """The last component of a file value, whichever separator it uses."""
    if file is None:
        return None
    return PureWindowsPath(file).name or None  # PureWindowsPath splits at both / and \
