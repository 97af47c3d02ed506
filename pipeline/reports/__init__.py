"""Reports from the results store for the QA team: one formatted Excel workbook and one CSV per table.

What is reported (``write_reports``):

- the calls of a period (by the date written in ``call_time``, the call's local date), optionally
  of one team or one agent; a call stored under several spec versions (rescore) counts once, with
  its newest audit;
- files whose newest processing attempt failed, listed with the reason, never scored;
- calls in which nobody spoke (``calls.no_speech``), listed apart: not scored, not in any mean, pass
  rate or count of calls;
- per agent: calls, mean and median score, critical failures, pass rate per checklist item, the
  measurements' means and totals, the mean score of the previous period of the same length;
- per call, per failed finding, per checklist item, and each agent's worst calls with evidence.

Every cell built from untrusted text (transcripts, file names, metadata, spec titles) is made
inert for spreadsheets: text that Excel or LibreOffice would read as a formula gets a leading
``'`` (OWASP "CSV injection"), in the workbook and in the CSV files alike.

The modules, one concern each: ``scope`` (which calls), ``query`` (reading them through the
store's API into frames), ``aggregate`` (the tables, with pandas), ``table`` (the tables' shape,
column kinds and inert cells), ``excel`` and ``csvfile`` (writing them).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pipeline.reports.aggregate import WORST_CALLS_PER_AGENT, build_report
from pipeline.reports.csvfile import write_csv
from pipeline.reports.excel import display_width, write_xlsx
from pipeline.reports.scope import UNKNOWN_AGENT, Scope
from pipeline.reports.table import Report, Table, inert
from pipeline.store import Store

__all__ = ["FORMATS", "UNKNOWN_AGENT", "WORST_CALLS_PER_AGENT", "Report", "Scope", "Table", "build_report",
           "display_width", "inert", "write_csv", "write_reports", "write_xlsx"]

FORMATS = ("xlsx", "csv")


def write_reports(store: Store, out: Path, date_from: date | None, date_to: date | None,
                  team: str | None = None, agent: str | None = None,
                  formats: tuple[str, ...] = FORMATS, worst_calls: int = WORST_CALLS_PER_AGENT) -> list[Path]:
    """Write the period's reports into ``out`` and return their paths: ``callqa_<from>_<to>.xlsx``
    and/or one ``<table>_<from>_<to>.csv`` per table (``all`` for an open end)."""
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise ValueError(f"report formats {sorted(unknown)}: use {', '.join(FORMATS)}")
    if worst_calls < 0:
        raise ValueError(f"worst_calls {worst_calls}: the number of worst calls per agent cannot be negative")
    scope = Scope(date_from, date_to, team, agent)
    report = build_report(store, scope, worst_calls)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    label = scope.file_label()
    written = []
    if "xlsx" in formats:
        written.append(out / f"callqa_{label}.xlsx")
        write_xlsx(report, written[-1])
    if "csv" in formats:
        for table in report.tables:
            written.append(out / f"{table.file_stem}_{label}.csv")
            write_csv(table, written[-1])
    return written
