"""Batch progress: a live bar (counts, rate, ETA) on a terminal; one plain line per call otherwise
(cron mails and log files); nothing with --quiet."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from pipeline.batch.tasks import CallOutcome


class BatchProgress:
    def __init__(self, console: Console, total: int, quiet: bool = False):
        self.console = console
        self.total = total
        self.quiet = quiet
        self.count = 0
        self.failed = 0
        self.bar: Progress | None = None
        if not quiet and console.is_terminal:
            self.bar = Progress(
                TextColumn("[bold]auditing"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"), TextColumn("[red]{task.fields[failed]}"),
                TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                console=console, transient=False,
            )
            self.task = self.bar.add_task("calls", total=total, rate="", failed="")

    def __enter__(self) -> BatchProgress:
        if self.bar:
            self.bar.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.bar:
            self.bar.stop()

    def update(self, outcome: CallOutcome) -> None:
        self.count += 1
        self.failed += outcome.error is not None
        if self.quiet:
            return
        if self.bar:
            elapsed = self.bar.tasks[0].elapsed or 0.0
            rate = f"{self.count / elapsed * 60:.1f} calls/min" if elapsed else ""
            self.bar.update(self.task, advance=1, rate=rate, failed=f"{self.failed} failed" if self.failed else "")
            if outcome.error:
                self.bar.console.print(f"[red]failed[/] {escape(outcome.error)}", highlight=False)
            return
        status = "failed: " + outcome.error if outcome.error else (
            f"score {_score(outcome)}" + ("" if outcome.transcribed else " (no ASR: stored or given transcript)"))
        # Plain text: file names and reasons may hold brackets ("pip install 'callqa[diarize]'").
        self.console.print(f"[{self.count}/{self.total}] {outcome.info.path} {outcome.seconds:.1f} s {status}",
                           markup=False, highlight=False, soft_wrap=True)


def _score(outcome: CallOutcome) -> str:
    score = outcome.record.score
    return "n/a" if score is None else f"{score:.1f}"
