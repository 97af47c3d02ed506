"""The nightly batch: walk an archive, audit every new call, store each result atomically.

Planning happens here (which files, which metadata, which calls are already done, which have a
stored transcript); the work happens in an executor; storing happens here again, one call at a
time, so the store has a single writer whatever the executor.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import regex

from audits.calldata.metadata import CallMetadata, MetadataError, find_metadata
from audits.calldata.transcript import Transcript, TranscriptError
from audits.spec import Spec
from pipeline.batch.tasks import CallOutcome, CallTask
from pipeline.call import is_transcript_file
from pipeline.store import CallInfo, Store, call_key

# The ASR key of transcripts handed in as JSON files (another ASR system's, or ours from before).
GIVEN_TRANSCRIPT = "given"
# The longest batch.agent_from_path may take on one path. A sane pattern takes microseconds; one
# that backtracks catastrophically on some path would hold the planner for hours.
PATH_MATCH_SECONDS = 1.0


class BatchError(ValueError):
    """A problem with the batch's arguments or settings (exit code 2)."""


@dataclass
class BatchSummary:
    run_id: int
    seen: int = 0
    done: int = 0
    skipped: int = 0
    failed: int = 0
    transcribed: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (path, call_uid of the same bytes)
    days: set[date] = field(default_factory=set)  # the days of the calls audited in this run


def asr_key(settings: dict) -> str:
    """Everything that changes a transcript: model and decoding, speech activity, leakage, ring-back, roles,
    diarization (mono calls)."""
    relevant = {name: settings[name] for name in ("asr", "vad", "leakage", "ringback", "roles", "diarization")}
    relevant["asr"] = {k: v for k, v in relevant["asr"].items() if k != "cpu_threads"}
    digest = hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:12]
    return f"{settings['asr']['model']}@{digest}"


def parse_day(text: str, today: date | None = None) -> date:
    """ISO dates plus the words people put in cron jobs: today, yesterday, N days ago."""
    today = today or date.today()
    word = text.strip().lower()
    if word == "today":
        return today
    if word == "yesterday":
        return today - timedelta(days=1)
    ago = re.fullmatch(r"(\d+)\s*days?\s*ago", word)
    if ago:
        try:
            return today - timedelta(days=int(ago.group(1)))
        except (OverflowError, ValueError):  # before year 1, or a number of thousands of digits
            raise BatchError(f"date {text!r}: that is before {date.min.isoformat()}") from None
    try:
        return date.fromisoformat(word)
    except ValueError:
        raise BatchError(f"date {text!r}: use YYYY-MM-DD, today, yesterday or 'N days ago'") from None


def parse_period(first: str | None, last: str | None, options: tuple[str, str]) -> tuple[date | None, date | None]:
    """The days of ``--since``/``--until`` (or ``--from``/``--to``, named by ``options``); a period that
    ends before it starts is an error, not an empty result."""
    start, end = (parse_day(first) if first else None), (parse_day(last) if last else None)
    if start and end and start > end:
        raise BatchError(f"{options[0]} {start.isoformat()} is after {options[1]} {end.isoformat()}: "
                         "no day is in that period")
    return start, end


def discover(archive: Path, settings: dict) -> list[Path]:
    """Recordings (and transcript JSON files, when ``json`` is among the extensions) under
    ``archive``, recursively, with a configured extension, minus the excluded globs."""
    if not archive.is_dir():
        raise BatchError(f"{archive}: not a folder")
    extensions = {"." + ext.lower().lstrip(".") for ext in settings["extensions"]}
    files = []
    for path in sorted(archive.rglob("*")):
        relative = path.relative_to(archive)
        if path.suffix.lower() not in extensions or not path.is_file():
            continue
        if any(relative.match(pattern) for pattern in settings["exclude"]):
            continue
        files.append(path)
    return files


def call_time(path: Path, metadata: CallMetadata | None) -> datetime:
    if metadata and metadata.started_at:
        moment = datetime.fromisoformat(metadata.started_at)
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)


def agent_from_path(relative: Path, pattern: str) -> dict[str, str]:
    """``agent`` / ``agent_name`` / ``team`` groups of the settings' regex, matched on the relative path.
    A match that takes longer than PATH_MATCH_SECONDS stops the batch (a settings error)."""
    if not pattern:
        return {}
    text = relative.as_posix()
    try:
        match = regex.search(pattern, text, timeout=PATH_MATCH_SECONDS)
    except TimeoutError:
        raise BatchError(f"batch.agent_from_path: matching {text!r} took more than {PATH_MATCH_SECONDS:g} s; "
                         "the pattern backtracks without end (nested repeats such as (a|aa)+): simplify it") from None
    return {k: v for k, v in match.groupdict().items() if v} if match else {}


@dataclass
class Plan:
    tasks: Sequence[CallTask]  # iterated once, in order; len() known up front
    skipped: int
    unreadable: list[tuple[CallInfo, str]]
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (path, call_uid of the same bytes)


def plan(
    archive: Path,
    files: list[Path],
    store: Store,
    spec: Spec,
    key_of_asr: str,
    settings: dict,
    metadata_table: dict[str, CallMetadata],
    since: date | None,
    until: date | None,
    force: bool,
) -> Plan:
    from pipeline.audio.decode import declared_duration, file_sha256  # PyAV and numpy: not for rescore

    done = set() if force else store.done_keys()
    tasks, skipped, unreadable, duplicates = [], 0, [], []
    first_with_content: dict[str, str] = {}  # content hash -> the earliest call with it, stored or planned
    for path in files:
        try:
            metadata, problem = find_metadata(path, metadata_table), None
        except MetadataError as exc:  # a bad sidecar fails its call only
            metadata, problem = None, str(exc)
        moment = call_time(path, metadata)
        if (since and moment.date() < since) or (until and moment.date() > until):
            continue
        relative = path.relative_to(archive)
        from_path = agent_from_path(relative, settings["batch"]["agent_from_path"])
        info = CallInfo(
            key="",
            call_uid=relative.as_posix(),
            path=str(path),
            call_id=(metadata and metadata.call_id) or path.stem,
            audio_sha256=None,
            spec_name=spec.name,
            spec_version=spec.version,
            asr_key=key_of_asr,
            agent_id=(metadata and metadata.agent_id) or from_path.get("agent"),
            agent_name=(metadata and metadata.agent_name) or from_path.get("agent_name"),
            team=(metadata and metadata.team) or from_path.get("team"),
            call_time=moment.isoformat(timespec="seconds"),
            metadata=metadata,
        )
        given = None
        try:
            # The file's own bytes, never a hash the file declares: distinct files stay distinct.
            info.audio_sha256 = file_sha256(path)
            if not problem:  # a bad sidecar already failed the call
                given = Transcript.load(path).to_dict() if is_transcript_file(path) else None
        except (OSError, TranscriptError) as exc:
            problem = str(exc) if isinstance(exc, TranscriptError) else f"{path}: cannot read: {exc.strerror}"
        if given:
            info.asr_key = GIVEN_TRANSCRIPT  # no ASR of ours made it
        info.key = call_key(info.audio_sha256, spec.version, info.asr_key, info.call_uid)
        if info.key in done:
            skipped += 1
            continue
        if info.audio_sha256:
            if info.audio_sha256 not in first_with_content:
                first_with_content[info.audio_sha256] = (
                    store.first_call_with_content(info.audio_sha256, info.call_uid) or info.call_uid)
            if first_with_content[info.audio_sha256] != info.call_uid:  # audited all the same: another call
                info.duplicate_of = first_with_content[info.audio_sha256]
                duplicates.append((info.path, info.duplicate_of))
        if problem:
            unreadable.append((info, problem))
            continue
        stored = None if force or given else store.transcript_json(info.audio_sha256, key_of_asr)
        tasks.append(CallTask(info, given or stored, stored=stored is not None))
    # Longest recordings first, so that with several workers the batch does not end waiting on one
    # long call started last; transcripts in hand cost next to nothing and go last.
    tasks.sort(key=lambda task: 0.0 if task.transcript is not None else -declared_duration(task.info.path))
    return Plan(tasks, skipped, unreadable, duplicates)


def plan_rescore(store: Store, spec: Spec, force: bool) -> Plan:
    """Every stored call (its newest transcript), to be audited again with ``spec`` (no ASR)."""
    done = set() if force else store.done_keys()
    infos, skipped = [], 0
    for row in store.stored_calls():
        key = call_key(row["audio_sha256"], spec.version, row["asr_key"], row["call_uid"])
        if key in done:
            skipped += 1
            continue
        infos.append(CallInfo(
            key=key, call_uid=row["call_uid"], path=row["path"], call_id=row["call_id"],
            audio_sha256=row["audio_sha256"], spec_name=spec.name, spec_version=spec.version, asr_key=row["asr_key"],
            agent_id=row["agent_id"], agent_name=row["agent_name"], team=row["team"], call_time=row["call_time"],
            metadata=CallMetadata(**json.loads(row["metadata"])) if row["metadata"] else None,
            duplicate_of=row["duplicate_of"],
        ))
    return Plan(StoredTranscriptTasks(store, infos), skipped, [])


class StoredTranscriptTasks:
    """Rescore's tasks: each stored transcript's JSON is read from the store when its task is handed
    out (and parsed by the worker), not all at once: 1000 realistic transcripts are ~100 MB of JSON."""

    def __init__(self, store: Store, infos: list[CallInfo]):
        self.store = store
        self.infos = infos

    def __len__(self) -> int:
        return len(self.infos)

    def __iter__(self):
        for info in self.infos:
            yield CallTask(info, self.store.transcript_json(info.audio_sha256, info.asr_key), stored=True)


def run_batch(
    store: Store,
    archive: Path,
    work: Plan,
    spec: Spec,
    key_of_asr: str,
    execute: Callable[[list[CallTask]], object],
    on_outcome: Callable[[CallOutcome], None] = lambda outcome: None,
) -> BatchSummary:
    """Run the planned tasks through ``execute`` (an executor's ``run``) and store every outcome."""
    run_id = store.start_run(str(archive), spec.name, spec.version, key_of_asr)
    summary = BatchSummary(run_id, skipped=work.skipped, duplicates=work.duplicates)
    summary.seen = len(work.tasks) + work.skipped + len(work.unreadable)
    for info, reason in work.unreadable:
        store.save_failure(run_id, info, reason)
        summary.failed += 1
        summary.failures.append((info.path, reason))
    status = "interrupted"
    try:
        for outcome in execute(work.tasks):
            if outcome.record is not None:
                store.save_call(run_id, outcome.info, outcome.record)
                summary.done += 1
                if outcome.info.call_time:
                    summary.days.add(date.fromisoformat(outcome.info.call_time[:10]))
                summary.transcribed += outcome.transcribed
            else:
                store.save_failure(run_id, outcome.info, outcome.error)
                summary.failed += 1
                summary.failures.append((outcome.info.path, outcome.error))
            on_outcome(outcome)
        status = "finished"
    finally:
        store.finish_run(run_id, status, summary.seen, summary.done, summary.skipped, summary.failed)
    return summary
