"""Settings: the bundled ``configs/default.yaml`` with a user's YAML laid over it.

A user file may leave out anything; what it gives must have a key the defaults know and a value
of the same type, else loading fails with the file, the field and the problem.
"""

from __future__ import annotations

import copy
import importlib.resources
from pathlib import Path

import regex
import yaml

from audits.calldata import yamlsafe

# Mappings whose keys are the user's to choose (a new ring-back cadence, say).
OPEN_MAPPINGS = {"ringback.cadences"}
# Numbers with a range (inclusive) outside which they make no sense; checked on load.
RANGES = {
    "diarization.min_speakers": (1, 20),
    "diarization.max_speakers": (1, 20),
    "diarization.segmentation_step": (0.05, 1.0),
    "diarization.segmentation_threshold": (0.1, 0.9),
    "diarization.clustering_threshold": (0.0, 2.0),
    "diarization.min_cluster_size": (1, 20),
    "roles.weights.greeting": (0.0, 10.0),
    "roles.weights.closing": (0.0, 10.0),
    "roles.weights.first_speech": (0.0, 10.0),
    "roles.weights.talk_share": (0.0, 10.0),
    "roles.greeting_turns": (1, 20),
    "roles.closing_turns": (1, 20),
    "batch.call_timeout_s": (0.0, 7 * 86400.0),
    "leakage.max_delay_ms": (0.0, 1000.0),
    "leakage.max_gain_db": (-40.0, 0.0),
    "leakage.margin_db": (0.0, 30.0),
    "leakage.min_own_speech_ms": (0.0, 2000.0),
    "leakage.trim_pad_ms": (0.0, 1000.0),
}


class ConfigError(ValueError):
    """A settings file that cannot be used; the message names the file and the field."""


def bundled(relative: str) -> Path:
    """A file shipped in ``configs/`` (installed as the package ``callqa_configs``)."""
    return Path(str(importlib.resources.files("callqa_configs").joinpath(relative)))


def load_settings(path: Path | str | None = None) -> dict:
    defaults = yaml.safe_load(bundled("default.yaml").read_text(encoding="utf-8"))
    if path is None:
        return defaults
    path = Path(path)
    try:
        user = yamlsafe.safe_load(yamlsafe.read_text(path)) or {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read settings: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text (save the file as UTF-8)") from None
    except yamlsafe.YamlTooLarge as exc:
        raise ConfigError(f"{path}: refused: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(user, dict):
        raise ConfigError(f"{path}: settings must be a mapping of sections, got {type(user).__name__}")
    merged = _merge(defaults, user, path, prefix="")
    speakers = merged["diarization"]
    if speakers["min_speakers"] > speakers["max_speakers"]:
        raise ConfigError(f"{path}: diarization.min_speakers ({speakers['min_speakers']}) is more than "
                          f"diarization.max_speakers ({speakers['max_speakers']})")
    if not any(merged["roles"]["weights"].values()):
        raise ConfigError(f"{path}: roles.weights: at least one sign must weigh more than 0")
    _check_path_pattern(merged["batch"]["agent_from_path"], path)
    return merged


PATH_GROUPS = ("agent", "agent_name", "team")  # what batch.agent_from_path may read from a path


def _check_path_pattern(pattern: str, path: Path) -> None:
    """``batch.agent_from_path`` must compile (the ``regex`` module's syntax, a superset of
    Python's ``re``) and name at least one group the batch reads."""
    if not pattern:
        return
    field = "batch.agent_from_path"
    try:
        compiled = regex.compile(pattern)
    except regex.error as exc:
        raise ConfigError(f"{path}: field {field!r}: not a valid regular expression: {exc}") from None
    if not set(compiled.groupindex) & set(PATH_GROUPS):
        raise ConfigError(f"{path}: field {field!r}: names none of the groups {', '.join(PATH_GROUPS)} "
                          f"(write them as (?P<agent>...))")


def _merge(defaults: dict, user: dict, path: Path, prefix: str) -> dict:
    merged = copy.deepcopy(defaults)
    for key, value in user.items():
        field = f"{prefix}{key}"
        if key not in defaults:
            known = ", ".join(sorted(map(str, defaults)))
            raise ConfigError(f"{path}: field {field!r} is not a setting (known here: {known})")
        default = defaults[key]
        if isinstance(default, dict) and field in OPEN_MAPPINGS:
            merged[key] = {**default, **(value or {})}
        elif isinstance(default, dict):
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: field {field!r} must be a mapping, got {value!r}")
            merged[key] = _merge(default, value, path, prefix=f"{field}.")
        else:
            merged[key] = _checked(value, default, path, field)
    return merged


def _checked(value, default, path: Path, field: str):
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, list):
        ok = isinstance(value, list)
    else:
        ok = isinstance(value, str)
    if not ok:
        raise ConfigError(f"{path}: field {field!r} must be {_kind(default)}, got {value!r}")
    if field in RANGES and not RANGES[field][0] <= value <= RANGES[field][1]:
        low, high = RANGES[field]
        raise ConfigError(f"{path}: field {field!r} must be between {low} and {high}, got {value!r}")
    return value


def _kind(default) -> str:
    for kind, name in ((bool, "true or false"), (float, "a number"), (int, "an integer"), (list, "a list")):
        if isinstance(default, kind):
            return name
    return "a string"
