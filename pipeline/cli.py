"""The ``callqa`` command line.

Exit codes scripts can trust: 0 everything done; 1 some calls failed (each named on stderr, the
others still done); 2 a usage, settings or spec error (nothing done).
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from pipeline import __version__
from pipeline.cli_common import (
    EXIT_CALLS_FAILED,
    ConfigOption,
    MetadataOption,
    SpecOption,
    fail_usage,
    stderr,
    stdout,
)
from pipeline.cli_review import sample, serve, user_app
from pipeline.cli_spec import spec_app

app = typer.Typer(
    help="Audit customer-service calls against your service specification.\n\n"
    "Example: callqa audit sample_audio/en_01_compliant.ogg",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
app.add_typer(spec_app, name="spec")
app.add_typer(user_app, name="user")
app.command()(serve)
app.command()(sample)


class ExecutorName(str, Enum):
    local = "local"
    ray = "ray"


def _version(value: bool) -> None:
    if value:
        stdout.print(f"callqa {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Audit customer-service calls against your service specification."""


def _processor(config: Path | None, spec: str | None):
    from audits.spec import SpecError, load_spec
    from pipeline.asr.engine import ModelNotFound
    from pipeline.call import CallProcessor
    from pipeline.config import ConfigError, load_settings

    try:
        settings = load_settings(config)
        return CallProcessor(settings, load_spec(spec or settings["spec"]))
    except (ConfigError, SpecError, ModelNotFound) as exc:
        raise fail_usage(str(exc)) from None


def _metadata_table(path: Path | None) -> dict:
    from audits.calldata.metadata import MetadataError, load_metadata_csv

    if path is None:
        return {}
    try:
        return load_metadata_csv(path)
    except MetadataError as exc:
        raise fail_usage(str(exc)) from None


def _call_errors():
    """The exceptions that fail one call (named on stderr) without stopping the others."""
    from audits.calldata.metadata import MetadataError
    from audits.calldata.transcript import TranscriptError
    from pipeline.audio.decode import AudioError
    from pipeline.speakers.diarize import DiarizationUnavailable

    return AudioError, DiarizationUnavailable, TranscriptError, MetadataError


@app.command()
def transcribe(
    file: Annotated[Path, typer.Argument(help="A recording (wav, mp3, flac, ogg, m4a, ...); mono needs the diarize extra.")],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the transcript JSON here "
                                                   "(default: print it).", dir_okay=False)] = None,
    config: ConfigOption = None,
    spec: SpecOption = None,
) -> None:
    """Transcribe one call to callqa's transcript JSON (turns by agent and customer, words, timing).

    The JSON can be audited later without running ASR again: callqa audit call.json

    Example: callqa transcribe sample_audio/en_01_compliant.ogg -o en_01.json
    """
    processor = _processor(config, spec)
    try:
        transcript = processor.redacted(processor.transcribe(file))
    except _call_errors() as exc:
        stderr.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(EXIT_CALLS_FAILED) from None
    if output:
        transcript.save(output)
        stderr.print(f"wrote {escape(str(output))}", highlight=False)
    else:
        sys.stdout.write(transcript.to_json() + "\n")


@app.command("redact-audio")
def redact_audio(
    call: Annotated[Path, typer.Argument(help="The recording.", exists=True, dir_okay=False)],
    out: Annotated[Path, typer.Argument(help="The redacted copy to write (WAV).", dir_okay=False)],
    transcript: Annotated[Optional[Path], typer.Option("--transcript", "-t", help="Its transcript JSON (clear or "
                                                       "redacted): no ASR. Default: transcribe the call.")] = None,
    tone: Annotated[bool, typer.Option("--tone", help="A tone instead of silence (default: redaction.audio).")] = False,
    config: ConfigOption = None,
    spec: SpecOption = None,
) -> None:
    """Write a copy of a call with every span of personal data (phone, ID, card numbers...) silenced,
    or covered by a tone, on both legs; the rest of the audio is left as it was decoded.

    Example: callqa redact-audio calls/call1.mp3 call1.redacted.wav --transcript call1.json
    """
    processor = _processor(config, spec)
    try:
        found, covered = processor.redact_audio(call, out, transcript, "tone" if tone else None)
    except (*_call_errors(), OSError) as exc:
        stderr.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(EXIT_CALLS_FAILED) from None
    categories = ", ".join(sorted({r.category for r in found})) or "none"
    stderr.print(f"wrote {escape(str(out))}: {len(found)} redacted ({categories}), "
                 f"{sum(b - a for a, b in covered):.1f} s covered", highlight=False)


@app.command()
def audit(
    files: Annotated[list[Path], typer.Argument(help="Recordings and/or transcript JSON files.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document per call instead of tables "
                                          "(a JSON array when several calls are given).")] = False,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Also write <call_id>.json per call into "
                                                "this folder.", file_okay=False)] = None,
    config: ConfigOption = None,
    spec: SpecOption = None,
    metadata: MetadataOption = None,
) -> None:
    """Audit calls against the service spec and show every finding with its evidence.

    Each finding is pass, fail (with the quoted words, time and speaker, or the measured figure)
    or na (with the reason). The score is 100 x points earned / points of applicable items; a
    failed critical item scores the call 0.

    Examples:

      callqa audit sample_audio/en_01_compliant.ogg

      callqa audit call.json --spec configs/spec/zh-CN.yaml --json

      callqa audit archive/*.wav --metadata calls.csv --out results/
    """
    from audits.calldata.metadata import find_metadata
    from pipeline.render import render_call

    processor = _processor(config, spec)
    table = _metadata_table(metadata)
    if out:
        _check_out(out)
    documents, failed, written = [], 0, set()
    for file in files:
        try:
            call = processor.audit(file, find_metadata(file, table))
        except _call_errors() as exc:
            stderr.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
            failed += 1
            continue
        document = call.to_dict()
        if out:
            _write_document(out, file, call.transcript.call_id, document, written)
        if as_json:
            documents.append(document)
        else:
            render_call(call, stdout)
    if as_json and documents:
        payload = documents[0] if len(files) == 1 else documents
        sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
    if failed:
        raise typer.Exit(EXIT_CALLS_FAILED)


def _check_out(out: Path) -> None:
    """Exit 2 before any work when the output folder cannot take a file."""
    from pipeline.files import check_writable_folder

    try:
        check_writable_folder(out)
    except OSError as exc:
        raise fail_usage(f"{out}: cannot write there: {exc.strerror or exc}") from None


def _write_document(out: Path, source: Path, call_id: str, document: dict, written: set[str]) -> None:
    """``<call_id>.json`` in ``out``: the id made a safe file name, never a path; a second call of the
    same id in one run gets ``-2``, ``-3``... (named on stderr), never the first one's file. A write
    that fails (a full disk) exits 2 and leaves any earlier file of that name whole."""
    from pipeline.files import replacing, safe_file_name

    name, number = safe_file_name(call_id, ".json"), 1
    while name in written:
        number += 1
        name = safe_file_name(f"{call_id}-{number}", ".json")
    written.add(name)
    if number > 1:
        stderr.print(f"{escape(str(source))}: call id {escape(repr(call_id))} was already written in this run: "
                     f"writing {escape(str(out / name))}", highlight=False)
    try:
        with replacing(out / name) as temporary:
            temporary.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise fail_usage(f"{out / name}: cannot write: {exc.strerror or exc}") from None


def _batch_setup(config: Path | None, spec: str | None, db: Path | None):
    """Settings, spec and the opened store, or exit 2 naming the problem."""
    from audits.spec import SpecError, load_spec
    from pipeline.config import ConfigError, load_settings

    try:
        settings = load_settings(config)
        spec_source = spec or settings["spec"]
        loaded = load_spec(spec_source)
    except (ConfigError, SpecError) as exc:
        raise fail_usage(str(exc)) from None
    return settings, spec_source, loaded, _open_store(db or Path(settings["batch"]["db"]))


def _open_store(path: Path):
    from pipeline.store import Store, StoreError

    try:
        return Store(path)
    except StoreError as exc:
        raise fail_usage(str(exc)) from None


def _say_interrupted(store, runs: list[int], quiet: bool) -> None:
    if runs and not quiet:
        stderr.print(f"run {', '.join(map(str, runs))} ended without finishing (killed?): marked interrupted "
                     f"in {store.path}; the calls it stored are kept, the rest is done now", highlight=False)


def _run_planned(store, archive_label: str, work, loaded, key, executor, quiet: bool):
    from pipeline.batch.nightly import run_batch
    from pipeline.batch.progress import BatchProgress

    with BatchProgress(stderr, len(work.tasks), quiet) as progress:
        summary = run_batch(store, Path(archive_label), work, loaded, key, executor.run, progress.update)
    if not quiet:
        stderr.print(
            f"run {summary.run_id}: {summary.seen} calls seen, {summary.done} audited "
            f"({summary.transcribed} transcribed, {summary.done - summary.transcribed} from stored or given transcripts), "
            f"{summary.skipped} already done, {summary.failed} failed"
            + (f", {len(summary.duplicates)} duplicates" if summary.duplicates else ""),
            highlight=False,
        )
        for path, original in summary.duplicates:
            stderr.print(f"  [yellow]duplicate[/] {escape(path)}: the same bytes as {escape(original)} "
                         f"(both kept, as two calls)", highlight=False)
        for path, reason in summary.failures:
            stderr.print(f"  [red]failed[/] {escape(reason if reason.startswith(path) else f'{path}: {reason}')}",
                         highlight=False)
    return summary


@app.command()
def batch(
    archive: Annotated[Path, typer.Argument(help="Folder of recordings, walked recursively.", file_okay=False)],
    metadata: MetadataOption = None,
    since: Annotated[Optional[str], typer.Option(help="Only calls on or after this day: YYYY-MM-DD, today, "
                                                 "yesterday, 'N days ago'.")] = None,
    until: Annotated[Optional[str], typer.Option(help="Only calls on or before this day (same forms).")] = None,
    workers: Annotated[Optional[int], typer.Option("--workers", "-w", min=1, help="Workers, each with its own "
                                                   "model; cores are divided between them. Local: processes "
                                                   "(default 1). Ray: actors (default: as many as the cluster "
                                                   "holds, 4 CPUs or 1 GPU each).")] = None,
    executor: Annotated[ExecutorName, typer.Option(help="Where calls are processed: local worker processes, or "
                                                   "Ray actors (pip install 'callqa[ray]').")] = ExecutorName.local,
    ray_address: Annotated[Optional[str], typer.Option(help="With --executor ray: the cluster's address "
                                                       "(host:6379, as `ray start --head` prints). Default: "
                                                       "$RAY_ADDRESS, else a Ray instance on this machine for "
                                                       "this batch.")] = None,
    db: Annotated[Optional[Path], typer.Option(help="SQLite results store (default: batch.db in settings).",
                                               dir_okay=False)] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Reports folder (default: batch.out in "
                                                "settings).", file_okay=False)] = None,
    ext: Annotated[Optional[list[str]], typer.Option("--ext", help="File extensions to take (repeatable; "
                                                     "default: batch.extensions in settings). json takes "
                                                     "transcript files.")] = None,
    exclude: Annotated[Optional[list[str]], typer.Option("--exclude", help="Glob, relative to the archive, of "
                                                         "files to leave out (repeatable).")] = None,
    force: Annotated[bool, typer.Option(help="Redo calls already stored, ASR included.")] = False,
    report: Annotated[bool, typer.Option(help="Write the reports for the processed days afterwards.")] = True,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary; errors only.")] = False,
    config: ConfigOption = None,
    spec: SpecOption = None,
) -> None:
    """Audit every new call in an archive, store the results, write the scorecards.

    A call already stored (same audio, spec and model) is skipped; a call with a stored transcript
    is re-audited without ASR. A bad recording is stored as failed with its reason and the batch
    goes on. Exit code 0: all done; 1: some calls failed; 2: usage or settings error.
    Only one batch runs on a store at a time; a second one exits 2 at once.

    Examples:

      callqa batch /recordings --since yesterday --until yesterday --workers 2

      callqa batch /recordings --metadata calls.csv --db qa.sqlite --out reports/

      callqa batch transcripts/ --ext json --spec zh-CN     # audit transcript files, no ASR

      callqa batch /shared/recordings --executor ray --ray-address head-node:6379
    """
    from pipeline.asr.engine import ModelNotFound
    from pipeline.batch.executors import make_executor
    from pipeline.batch.nightly import BatchError, asr_key, discover, parse_period, plan
    from pipeline.batch.tasks import ExecutorError
    from pipeline.store import StoreError

    settings, spec_source, loaded, store = _batch_setup(config, spec, db)
    table = _metadata_table(metadata)
    reports_out = out or Path(settings["batch"]["out"])
    try:
        runner = make_executor(executor.value, settings, spec_source, workers, ray_address)
        first, last = parse_period(since, until, ("--since", "--until"))
        if report:
            _check_out(reports_out)
        with store.batch_lock() as interrupted:
            _say_interrupted(store, interrupted, quiet)
            key = asr_key(settings)
            chosen = {**settings["batch"], "extensions": ext or settings["batch"]["extensions"],
                      "exclude": [*settings["batch"]["exclude"], *(exclude or [])]}
            files = discover(archive, chosen)
            work = plan(archive, files, store, loaded, key, settings, table, first, last, force)
            summary = _run_planned(store, str(archive), work, loaded, key, runner, quiet)
            if report and summary.done:
                # Without --since/--until, the report covers the days of the calls this run audited.
                days = sorted(summary.days)
                _write_reports(store, reports_out, first or (days and days[0]) or None,
                               last or (days and days[-1]) or None, quiet)
    except (BatchError, StoreError, ModelNotFound, ExecutorError) as exc:
        raise fail_usage(str(exc)) from None
    finally:
        store.close()
    if summary.failed:
        raise typer.Exit(EXIT_CALLS_FAILED)


@app.command()
def rescore(
    db: Annotated[Optional[Path], typer.Option(help="SQLite results store (default: batch.db in settings).",
                                               dir_okay=False)] = None,
    force: Annotated[bool, typer.Option(help="Re-audit calls already stored with this spec.")] = False,
    workers: Annotated[int, typer.Option("--workers", "-w", min=1, help="Worker processes auditing the "
                                         "transcripts (this process stores them).")] = 1,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary; errors only.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Store nothing: show, per item, which stored calls' "
                                          "verdicts the spec would change.")] = False,
    config: ConfigOption = None,
    spec: SpecOption = None,
) -> None:
    """Re-audit every stored transcript with a (changed) spec: no audio is decoded, no ASR runs.

    Results are stored under the new spec's version beside the old ones; reports use the newest.

    Examples:

      callqa rescore --spec my_spec_v2.yaml --db out/callqa.sqlite

      callqa rescore --spec my_spec_v2.yaml --workers 2

      callqa rescore --spec my_spec_v2.yaml --dry-run
    """
    from pipeline.batch.executors import LocalExecutor
    from pipeline.batch.nightly import plan_rescore
    from pipeline.store import StoreError

    settings, spec_source, loaded, store = _batch_setup(config, spec, db)
    if dry_run:
        from pipeline.batch.dryrun import verdict_changes
        from pipeline.render import render_dry_run

        try:
            changes = verdict_changes(store, loaded, LocalExecutor(settings, spec_source, workers).run,
                                      lambda outcome: None)
        except StoreError as exc:
            raise fail_usage(str(exc)) from None
        finally:
            store.close()
        render_dry_run(changes, loaded, stdout)
        return
    try:
        with store.batch_lock() as interrupted:
            _say_interrupted(store, interrupted, quiet)
            work = plan_rescore(store, loaded, force)
            executor = LocalExecutor(settings, spec_source, workers)
            summary = _run_planned(store, str(store.path), work, loaded, "", executor, quiet)
    except StoreError as exc:
        raise fail_usage(str(exc)) from None
    finally:
        store.close()
    if summary.failed:
        raise typer.Exit(EXIT_CALLS_FAILED)


def _write_reports(store, out: Path, first, last, quiet: bool, team=None, agent=None, formats=("xlsx", "csv")):
    from pipeline.reports import write_reports

    try:
        written = write_reports(store, out, first, last, team=team, agent=agent, formats=formats)
    except OSError as exc:  # earlier reports of the same name stay whole (each is written aside, then renamed)
        raise fail_usage(f"{exc.filename or out}: cannot write the reports: {exc.strerror or exc} "
                          f"(the calls are stored: callqa report writes them again)") from None
    if not quiet:
        stderr.print("reports: " + ", ".join(str(path) for path in written), markup=False, highlight=False)
    return written


@app.command()
def report(
    date_from: Annotated[Optional[str], typer.Option("--from", help="First day (YYYY-MM-DD, yesterday, "
                                                     "'7 days ago').")] = None,
    date_to: Annotated[Optional[str], typer.Option("--to", help="Last day (same forms).")] = None,
    team: Annotated[Optional[str], typer.Option(help="Only this team.")] = None,
    agent: Annotated[Optional[str], typer.Option(help="Only this agent id.")] = None,
    formats: Annotated[str, typer.Option("--format", help="Comma-separated: xlsx, csv.")] = "xlsx,csv",
    db: Annotated[Optional[Path], typer.Option(help="SQLite results store (default: batch.db in settings).",
                                               dir_okay=False)] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Reports folder (default: batch.out in "
                                                "settings).", file_okay=False)] = None,
    config: ConfigOption = None,
) -> None:
    """Write per-agent scorecards, per-call and findings sheets from the store, as Excel and/or CSV.

    The scorecard compares each agent with the previous period of the same length.

    Examples:

      callqa report --from '7 days ago' --to yesterday --format xlsx

      callqa report --team T1 --out reports/
    """
    from pipeline.batch.nightly import BatchError, parse_period
    from pipeline.config import ConfigError, load_settings

    chosen = tuple(f.strip().lower() for f in formats.split(",") if f.strip())
    if not chosen or set(chosen) - {"xlsx", "csv"}:
        raise fail_usage(f"--format {formats!r}: use xlsx, csv or xlsx,csv")
    try:
        settings = load_settings(config)
        first, last = parse_period(date_from, date_to, ("--from", "--to"))
    except (ConfigError, BatchError) as exc:
        raise fail_usage(str(exc)) from None
    path = db or Path(settings["batch"]["db"])
    if not path.is_file():
        raise fail_usage(f"{path}: no results store here (run callqa batch first, or pass --db)")
    store = _open_store(path)
    try:
        _write_reports(store, out or Path(settings["batch"]["out"]), first, last, False, team, agent, chosen)
    finally:
        store.close()
