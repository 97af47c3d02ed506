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
"""

from __future__ import annotations

import csv
import json
import math
import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.data_source import AxDataSource, StrRef
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from pipeline.files import replacing
from pipeline.store import Store

FORMATS = ("xlsx", "csv")
UNKNOWN_AGENT = "(unknown)"
WORST_CALLS_PER_AGENT = 3
WEAKEST_ITEMS_IN_SUMMARY = 3

# --- column kinds: how a column's values are shown (Excel number format, CSV rounding, colours) ---

TEXT, WRAPPED, COUNT, SCORE, DELTA, PASS_RATE, SHARE, SECONDS, RATE, TIME = (
    "text", "wrapped", "count", "score", "delta", "pass_rate", "share", "seconds", "rate", "time")
NUMBER_FORMATS = {COUNT: "0", SCORE: "0.0", DELTA: "+0.0;-0.0;0.0", PASS_RATE: "0%", SHARE: "0%",
                  SECONDS: "0.0", RATE: "0", TIME: "yyyy-mm-dd hh:mm"}
CSV_DECIMALS = {SCORE: 2, DELTA: 2, PASS_RATE: 4, SHARE: 4, SECONDS: 2, RATE: 1}
# Red / amber below these, green from the second: the QA team's usual 60 / 80 bands.
TRAFFIC_LIGHTS = {SCORE: (60, 80), PASS_RATE: (0.6, 0.8)}


@dataclass
class Table:
    """One sheet of the workbook and one CSV file: a frame whose column names are the headers."""

    sheet: str
    file_stem: str
    frame: pd.DataFrame
    kinds: dict[str, str] = field(default_factory=dict)  # header -> kind; TEXT when absent
    chart: tuple[str, str] | None = None  # (category header, value header) of a bar chart

    def kind(self, header: str) -> str:
        return self.kinds.get(header, TEXT)


@dataclass
class Report:
    summary: list[tuple[str, object, str]]  # (label, value, kind)
    tables: list[Table]


# --- which calls --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    first: date | None
    last: date | None
    team: str | None = None
    agent: str | None = None

    def previous(self) -> Scope | None:
        """The period of the same length just before this one (same filters); none when open-ended."""
        if self.first is None or self.last is None:
            return None
        length = self.last - self.first + timedelta(days=1)
        return replace(self, first=self.first - length, last=self.first - timedelta(days=1))

    def period_text(self) -> str:
        if self.first is None and self.last is None:
            return "all dates"
        return f"{self.first or '…'} – {self.last or '…'}"

    def file_label(self) -> str:
        """``2026-11-20_2026-11-26`` (``all`` for an open end), plus the filters."""
        label = f"{self.first or 'all'}_{self.last or 'all'}"
        for name, value in (("team", self.team), ("agent", self.agent)):
            if value:
                label += f"_{name}-{_file_safe(value)}"
        return label


def _file_safe(text: str) -> str:
    # Filter values come from the command line but name files: keep letters (any script), digits, . -
    return re.sub(r"[^\w.-]+", "_", text).strip("._") or "_"


def _scope_filter(scope: Scope) -> tuple[str, list]:
    """SQL conditions on the calls table (as ``c``) for the scope's dates, team and agent."""
    clauses, params = ["1 = 1"], []
    if scope.first:
        clauses.append("substr(c.call_time, 1, 10) >= ?")
        params.append(scope.first.isoformat())
    if scope.last:
        clauses.append("substr(c.call_time, 1, 10) <= ?")
        params.append(scope.last.isoformat())
    if scope.team:
        clauses.append("c.team = ?")
        params.append(scope.team)
    if scope.agent == UNKNOWN_AGENT:
        clauses.append("c.agent_id IS NULL")
    elif scope.agent:
        clauses.append("c.agent_id = ?")
        params.append(scope.agent)
    return " AND ".join(clauses), params


# --- reading the store ----------------------------------------------------------------------------


@contextmanager
def _snapshot(db) -> Iterator[None]:
    """One read transaction: in WAL mode every query inside sees the same state of the store, even
    while a batch goes on writing (a deferred BEGIN takes no write lock, so the batch is not held)."""
    db.execute("BEGIN DEFERRED")
    try:
        yield
    finally:
        db.execute("COMMIT")


# The newest audit of each call (its path under the archive): rescoring stores a call again under
# the new spec version, and a recording replaced at the same path is audited again.
# rowid breaks ties between audits stored within the same second (audited_at has whole seconds).
_NEWEST_DONE = """
    SELECT c.*, m.json AS measurements
    FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY call_uid
                                       ORDER BY audited_at DESC, rowid DESC) AS newness
          FROM calls WHERE status = 'done') c
    LEFT JOIN measurements m ON m.call_key = c.key
    WHERE c.newness = 1 AND {where}
    ORDER BY c.call_time, c.call_id
"""

# A failure is reported while it is the newest attempt at that call: a file that failed and was
# processed later is not listed again (a byte-identical file elsewhere is another call).
_STANDING_FAILURES = """
    SELECT c.call_time, c.path, c.call_id, c.agent_id, c.team, c.error, c.audited_at FROM calls c
    WHERE c.status = 'failed' AND {where} AND NOT EXISTS (
        SELECT 1 FROM calls later
        WHERE later.call_uid = c.call_uid
          AND (later.audited_at > c.audited_at OR (later.audited_at = c.audited_at AND later.rowid > c.rowid)))
    ORDER BY c.call_time, c.path
"""

# Evidence is only shown for failures: a pass's evidence is left in the store (a day's findings are
# many times its calls, and parsing every quote would dominate the report's time and memory).
_FINDINGS = """
    SELECT call_key, item, title, status, reason, CASE status WHEN 'fail' THEN evidence END AS evidence, critical
    FROM findings
    WHERE call_key IN (SELECT value FROM json_each(?))
    ORDER BY rowid
"""


def _query(db, sql: str, params: list) -> pd.DataFrame:
    cursor = db.execute(sql, params)
    return pd.DataFrame.from_records(cursor.fetchall(), columns=[d[0] for d in cursor.description])


def read_calls(db, scope: Scope) -> pd.DataFrame:
    where, params = _scope_filter(scope)
    calls = _query(db, _NEWEST_DONE.format(where=where), params)
    calls["agent"] = calls["agent_id"].fillna(UNKNOWN_AGENT)
    calls["critical_items"] = [json.loads(text) if text else [] for text in calls["critical_failed"]]
    measures = pd.DataFrame([call_measures(text) for text in calls["measurements"]],
                            columns=list(MEASURE_COLUMNS), index=calls.index)
    calls = pd.concat([calls, measures], axis=1)
    # A column of nothing but NULLs arrives as objects; aggregates need numbers.
    numeric = ["score", "duration", "role_confidence", "needs_review", *MEASURE_COLUMNS]
    numeric.remove("rate_unit")
    calls[numeric] = calls[numeric].astype(float)
    return calls


def read_findings(db, call_keys: pd.Series) -> pd.DataFrame:
    findings = _query(db, _FINDINGS, [json.dumps(list(call_keys))])
    findings["evidence"] = [json.loads(text) if isinstance(text, str) else [] for text in findings["evidence"]]
    return findings


def read_failures(db, scope: Scope) -> pd.DataFrame:
    where, params = _scope_filter(scope)
    return _query(db, _STANDING_FAILURES.format(where=where), params)


MEASURE_COLUMNS = ("answer_delay", "agent_rate", "rate_unit", "dead_air", "dead_air_seconds",
                   "agent_interruptions", "holds", "hold_seconds")


def call_measures(measurements_json: str | None) -> dict:
    """The scorecard's figures of one call, from its stored measurements."""
    if not measurements_json:
        return {}
    m = json.loads(measurements_json)
    # Holds are silences too (pipeline.measure finds them among the non-talk spans); only an
    # announced hold excuses a silence from being dead air (checklist: silence.dead_air).
    announced = {(h["start"], h["end"]) for h in m["holds"] if h["detected_by"] == "announcement"}
    dead_air = [s for s in m["silences"] if (s["start"], s["end"]) not in announced]
    return {
        "answer_delay": m["answer_delay"],
        "agent_rate": m["speech_rate"].get("agent"),
        "rate_unit": m["speech_rate_unit"],
        "dead_air": len(dead_air),
        "dead_air_seconds": sum(s["seconds"] for s in dead_air),
        "agent_interruptions": sum(1 for i in m["interruptions"] if i["by"] == "agent"),
        "holds": len(m["holds"]),
        "hold_seconds": sum(h["seconds"] for h in m["holds"]),
    }


# --- building the tables ----------------------------------------------------------------------------


def item_titles(findings: pd.DataFrame, calls: pd.DataFrame) -> dict[str, str]:
    """Checklist item id -> title, in the spec's order (the order findings are stored in); the title
    of the newest audit wins when specs of several versions are mixed."""
    audited_at = findings["call_key"].map(calls.set_index("key")["audited_at"])
    newest_title = findings.assign(audited_at=audited_at).sort_values("audited_at", kind="stable") \
        .groupby("item", sort=False)["title"].last()
    return {item: newest_title[item] for item in findings["item"].unique()}


def format_clock(seconds: float) -> str:
    """00:12.3, or 1:02:03.4 past the hour."""
    tenths = round(seconds * 10)
    minutes, tenths = divmod(tenths, 600)
    hours, minutes = divmod(minutes, 60)
    clock = f"{minutes:02d}:{tenths / 10:04.1f}"
    return f"{hours}:{clock}" if hours else clock


def format_evidence(evidence: list[dict]) -> str:
    """One line per entry: ``[00:12.3–00:14.0] agent: <text>``. The text is shown as stored (not put
    in quotation marks): for some items it is the agent's words, for others a measured figure."""
    return "\n".join(f"[{format_clock(e['start'])}–{format_clock(e['end'])}] {e['role']}: {e['text']}"
                     for e in evidence)


def _with_call_facts(findings: pd.DataFrame, calls: pd.DataFrame) -> pd.DataFrame:
    facts = calls.set_index("key")[["agent", "agent_name", "call_id", "call_time"]]
    return findings.join(facts, on="call_key")


def _names_and_teams(calls: pd.DataFrame) -> pd.DataFrame:
    """Per agent, the newest name and team the calls give (metadata may fill in late)."""
    return calls.groupby("agent")[["agent_name", "team"]].last()


def _pass_rates(findings: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """passes, fails, applicable and pass rate (passes ÷ (passes + fails); na never counts)."""
    counts = findings.groupby([*by, "status"]).size().unstack("status", fill_value=0) \
        .reindex(columns=["pass", "fail", "na"], fill_value=0)
    counts["applicable"] = counts["pass"] + counts["fail"]
    counts["rate"] = (counts["pass"] / counts["applicable"]).where(counts["applicable"] > 0)
    return counts


def _mean_scores(calls: pd.DataFrame | None) -> pd.Series:
    return calls.groupby("agent")["score"].mean() if calls is not None else pd.Series(dtype=float)


def _agent_speech_rate(calls: pd.DataFrame) -> pd.DataFrame:
    """Mean agent speech rate and its unit; no mean across units (a zh and an en spec mixed)."""
    grouped = calls.groupby("agent")
    units = grouped["rate_unit"].agg(lambda u: "/".join(sorted(set(u.dropna()))))
    rates = grouped["agent_rate"].mean().where(units.map(lambda unit: "/" not in unit))
    return pd.DataFrame({"rate": rates, "unit": units})


def scorecards(calls: pd.DataFrame, findings: pd.DataFrame, previous: pd.DataFrame | None,
               titles: dict[str, str]) -> Table:
    grouped = calls.groupby("agent")
    who = _names_and_teams(calls)
    before = _mean_scores(previous).reindex(who.index)
    speech = _agent_speech_rate(calls)
    frame = pd.DataFrame({
        "Agent": who.index,
        "Name": who["agent_name"],
        "Team": who["team"],
        "Calls": grouped.size(),
        "Mean score": grouped["score"].mean(),
        "Median score": grouped["score"].median(),
        "Previous period mean": before,
        "Change": grouped["score"].mean() - before,
        "Calls with critical failure": grouped["critical_items"].agg(lambda lists: sum(map(bool, lists))),
        "Mean answer delay (s)": grouped["answer_delay"].mean(),
        "Mean agent speech rate": speech["rate"],
        "Speech rate unit": speech["unit"],
        "Dead air (instances)": grouped["dead_air"].sum(),
        "Dead air (s)": grouped["dead_air_seconds"].sum(),
        "Interruptions by agent": grouped["agent_interruptions"].sum(),
        "Holds": grouped["holds"].sum(),
        "Hold time (s)": grouped["hold_seconds"].sum(),
    }, index=who.index)
    rates = _pass_rates(_with_call_facts(findings, calls), ["agent", "item"])["rate"].unstack("item")
    for item, title in titles.items():
        frame[_item_header(item, title)] = rates[item].reindex(frame.index)
    kinds = {"Calls": COUNT, "Mean score": SCORE, "Median score": SCORE, "Previous period mean": SCORE,
             "Change": DELTA, "Calls with critical failure": COUNT, "Mean answer delay (s)": SECONDS,
             "Mean agent speech rate": RATE, "Dead air (instances)": COUNT, "Dead air (s)": SECONDS,
             "Interruptions by agent": COUNT, "Holds": COUNT, "Hold time (s)": SECONDS}
    kinds.update({_item_header(item, title): PASS_RATE for item, title in titles.items()})
    frame = frame.sort_values(["Team", "Agent"], na_position="last")
    return Table("Scorecards", "scorecards", frame.reset_index(drop=True), kinds, chart=("Agent", "Mean score"))


def _item_header(item: str, title: str) -> str:
    return f"{title} ({item})" if title and title != item else item


def _failed_titles(findings: pd.DataFrame, titles: dict[str, str]) -> pd.Series:
    """Per call key: the titles of its failed items, joined by '; '."""
    failed = findings[findings["status"] == "fail"]
    return failed.groupby("call_key")["item"].agg(lambda items: "; ".join(titles[i] for i in items))


def calls_table(calls: pd.DataFrame, findings: pd.DataFrame, titles: dict[str, str]) -> Table:
    critical_titles = ["; ".join(titles.get(i, i) for i in items) for items in calls["critical_items"]]
    frame = pd.DataFrame({
        "Time": calls["call_time"].map(_local_time),
        "Agent": calls["agent"],
        "Name": calls["agent_name"],
        "Team": calls["team"],
        "Call id": calls["call_id"],
        "File": calls["path"],
        "Duplicate of": calls["duplicate_of"],
        "Duration (s)": calls["duration"],
        "Score": calls["score"],
        "Critical failed": critical_titles,
        "Failed items": calls["key"].map(_failed_titles(findings, titles)),
        "Role confidence": calls["role_confidence"],
        "Needs review": calls["needs_review"].map({1: "yes", 0: ""}),
        "Spec version": calls["spec_version"],
    })
    kinds = {"Time": TIME, "Duration (s)": SECONDS, "Score": SCORE, "Failed items": WRAPPED,
             "Role confidence": SHARE}
    return Table("Calls", "calls", frame, kinds)


def findings_table(calls: pd.DataFrame, findings: pd.DataFrame, titles: dict[str, str]) -> Table:
    """Failed findings only: na findings are counted per item (with their commonest reason) in the
    Items sheet instead; listed here they would outnumber the failures several times over."""
    failed = _with_call_facts(findings[findings["status"] == "fail"], calls)
    frame = pd.DataFrame({
        "Time": failed["call_time"].map(_local_time),
        "Agent": failed["agent"],
        "Name": failed["agent_name"],
        "Call id": failed["call_id"],
        "Item": failed["item"],
        "Title": failed["item"].map(titles),
        "Critical": failed["critical"].map({1: "yes", 0: ""}),
        "Reason": failed["reason"],
        "Evidence": failed["evidence"].map(format_evidence),
    }).sort_values(["Time", "Call id"], kind="stable")
    return Table("Findings", "findings", frame.reset_index(drop=True),
                 {"Time": TIME, "Reason": WRAPPED, "Evidence": WRAPPED})


def items_table(findings: pd.DataFrame, titles: dict[str, str]) -> Table:
    counts = _pass_rates(findings, ["item"]).reindex(list(titles), fill_value=0)
    not_applicable = findings[findings["status"] == "na"]
    common_reason = not_applicable.groupby("item")["reason"].agg(lambda r: r.value_counts().index[0])
    frame = pd.DataFrame({
        "Item": list(titles),
        "Title": list(titles.values()),
        "Applicable calls": counts["applicable"].to_numpy(),
        "Passes": counts["pass"].to_numpy(),
        "Fails": counts["fail"].to_numpy(),
        "Not applicable": counts["na"].to_numpy(),
        "Pass rate": counts["rate"].to_numpy(),
        "Commonest n/a reason": common_reason.reindex(list(titles)).to_numpy(),
    })
    kinds = {"Applicable calls": COUNT, "Passes": COUNT, "Fails": COUNT, "Not applicable": COUNT,
             "Pass rate": PASS_RATE, "Commonest n/a reason": WRAPPED}
    return Table("Items", "items", frame, kinds)


def _failures_with_evidence(findings: pd.DataFrame, titles: dict[str, str]) -> pd.Series:
    """Per call key: each failed item's title, its evidence lines indented below it."""
    failed = findings[findings["status"] == "fail"]
    blocks = [titles[item] + "".join(f"\n    {line}" for line in format_evidence(entries).splitlines())
              for item, entries in zip(failed["item"], failed["evidence"])]
    return pd.Series(blocks, index=failed.index, dtype=object).groupby(failed["call_key"]).agg("\n".join)


def worst_calls_table(calls: pd.DataFrame, findings: pd.DataFrame, titles: dict[str, str], per_agent: int) -> Table:
    """Each agent's ``per_agent`` lowest-scored calls among those that failed something."""
    details = _failures_with_evidence(findings, titles)
    candidates = calls[calls["key"].isin(details.index) & calls["score"].notna()]
    worst = candidates.sort_values(["agent", "score", "call_time"]).groupby("agent").head(per_agent)
    frame = pd.DataFrame({
        "Agent": worst["agent"],
        "Name": worst["agent_name"],
        "Rank": worst.groupby("agent").cumcount() + 1,
        "Time": worst["call_time"].map(_local_time),
        "Call id": worst["call_id"],
        "Score": worst["score"],
        "Failed items and evidence": worst["key"].map(details),
    })
    return Table("Worst calls", "worst_calls", frame.reset_index(drop=True),
                 {"Rank": COUNT, "Time": TIME, "Score": SCORE, "Failed items and evidence": WRAPPED})


def failed_calls_table(failures: pd.DataFrame) -> Table:
    frame = pd.DataFrame({
        "Time": failures["call_time"].map(_local_time),
        "File": failures["path"],
        "Call id": failures["call_id"],
        "Agent": failures["agent_id"].fillna(UNKNOWN_AGENT),
        "Team": failures["team"],
        "Error": failures["error"],
        "Attempted at (UTC)": failures["audited_at"].map(_local_time),
    })
    return Table("Failed calls", "failed", frame, {"Time": TIME, "Error": WRAPPED, "Attempted at (UTC)": TIME})


def no_speech_table(silent: pd.DataFrame) -> Table:
    frame = pd.DataFrame({
        "Time": silent["call_time"].map(_local_time),
        "File": silent["path"],
        "Call id": silent["call_id"],
        "Agent": silent["agent"],
        "Team": silent["team"],
        "Duration": silent["duration"],
    })
    return Table("No speech", "no_speech", frame, {"Time": TIME, "Duration": SECONDS})


def _local_time(text: str | None) -> datetime | None:
    """The call's wall-clock time as recorded (its UTC offset dropped: spreadsheets have no time
    zones, and the period is chosen by this same local date)."""
    if not isinstance(text, str):
        return None
    return datetime.fromisoformat(text).replace(tzinfo=None)


def summary_rows(scope: Scope, calls: pd.DataFrame, previous: pd.DataFrame | None, failures: pd.DataFrame,
                 items: Table, silent: pd.DataFrame) -> list[tuple[str, object, str]]:
    earlier = scope.previous()
    mean_before = previous["score"].mean() if previous is not None else float("nan")
    rows = [
        ("Period", scope.period_text(), TEXT),
        ("Previous period", earlier.period_text() if earlier else "none (open-ended period)", TEXT),
        ("Team", scope.team or "all", TEXT),
        ("Agent", scope.agent or "all", TEXT),
        ("Generated (UTC)", datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0), TIME),
        ("Calls", len(calls), COUNT),
        ("Agents", calls["agent"].nunique(), COUNT),
        ("Mean score", calls["score"].mean(), SCORE),
        ("Median score", calls["score"].median(), SCORE),
        ("Mean score, previous period", mean_before, SCORE),
        ("Change in mean score", calls["score"].mean() - mean_before, DELTA),
        ("Calls with a critical failure", int(sum(map(bool, calls["critical_items"]))), COUNT),
        ("Calls whose roles need review", int((calls["needs_review"] == 1).sum()), COUNT),
        ("Files that failed", len(failures), COUNT),
        ("Calls with no speech (not scored)", len(silent), COUNT),
        ("Spec versions", ", ".join(sorted(calls["spec_version"].dropna().unique())), TEXT),
    ]
    if calls.empty:
        rows.insert(0, ("Note", "No audited calls in this period for these filters.", TEXT))
    weakest = items.frame.dropna(subset=["Pass rate"]).nsmallest(WEAKEST_ITEMS_IN_SUMMARY, "Pass rate")
    ranked = enumerate(zip(weakest["Item"], weakest["Title"], weakest["Pass rate"]), start=1)
    rows += [(f"Weakest item {rank}: {title} ({item})", rate, PASS_RATE) for rank, (item, title, rate) in ranked]
    return rows


def build_report(store: Store, scope: Scope, worst_calls: int) -> Report:
    earlier = scope.previous()
    with _snapshot(store.db):
        calls, silent = _spoken_and_silent(read_calls(store.db, scope))
        findings = read_findings(store.db, calls["key"])
        failures = read_failures(store.db, scope)
        previous = _spoken_and_silent(read_calls(store.db, earlier))[0] if earlier else None
    titles = item_titles(findings, calls)
    items = items_table(findings, titles)
    tables = [
        scorecards(calls, findings, previous, titles),
        calls_table(calls, findings, titles),
        findings_table(calls, findings, titles),
        items,
        worst_calls_table(calls, findings, titles, worst_calls),
        failed_calls_table(failures),
        no_speech_table(silent),
    ]
    return Report(summary_rows(scope, calls, previous, failures, items, silent), tables)


def _spoken_and_silent(calls: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The audited calls, and those in which nobody spoke: those have no score and no findings to
    count, and are listed apart rather than counted in any mean, pass rate or number of calls."""
    silent = calls["no_speech"] == 1
    return calls[~silent].reset_index(drop=True), calls[silent].reset_index(drop=True)


# --- cells: inert text, missing values ----------------------------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
EXCEL_CELL_MAX = 32767  # characters; Excel refuses longer cells


def inert(text: str) -> str:
    """Text a spreadsheet will not run: a leading ' before =, +, -, @, tab or CR (OWASP)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def cell_text(text: str) -> str:
    """Untrusted text as it goes into a cell of either format: without the control characters XML
    cannot hold (openpyxl raises on them), and inert."""
    return inert(ILLEGAL_CHARACTERS_RE.sub("", text))


def _is_missing(value) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def _csv_value(value, kind: str):
    if _is_missing(value):
        return ""
    if isinstance(value, str):
        return cell_text(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if kind in CSV_DECIMALS:
        return round(float(value), CSV_DECIMALS[kind])
    return value


# --- Excel ------------------------------------------------------------------------------------------

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", start_color="1F4E78")
WRAPPED_ALIGNMENT = Alignment(wrap_text=True, vertical="top")
TOP_ALIGNMENT = Alignment(vertical="top")
# A conditional format's fill is drawn in its end (background) colour: both are set.
LIGHT_FILLS = {name: PatternFill("solid", start_color=rgb, end_color=rgb)
               for name, rgb in (("red", "F8CBAD"), ("amber", "FFE699"), ("green", "C6EFCE"))}
WIDTH_CAPS = {WRAPPED: 70, TEXT: 40}  # characters; other kinds are numbers
HEADER_WIDTH_CAP = 22  # long headers (item titles) wrap rather than widen the column
LINE_HEIGHT = 15  # points, one line of the default 11-point font
WIDE_SHEET_COLUMNS = 8  # from this many columns the first column is frozen too


def display_width(text: str) -> int:
    """Width in Excel character units of the longest line: CJK (wide, full-width) characters count 2."""
    lines = text.split("\n")
    if text.isascii():
        return max(map(len, lines))
    return max(sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line) for line in lines)


def _put(cell, value, kind: str) -> None:
    if _is_missing(value):
        return
    if isinstance(value, str):
        cell.value = cell_text(value)[:EXCEL_CELL_MAX]
        cell.data_type = "s"  # a string, whatever it looks like: never a formula
    else:
        cell.value = value
        if kind in NUMBER_FORMATS:
            cell.number_format = NUMBER_FORMATS[kind]
    cell.alignment = WRAPPED_ALIGNMENT if kind == WRAPPED else TOP_ALIGNMENT


def _value_width(value, kind: str) -> int:
    if _is_missing(value):
        return 0
    if isinstance(value, str):
        return display_width(value)
    return 16 if kind == TIME else 8


def _write_header(ws, headers: list[str]) -> None:
    for column, header in enumerate(headers, start=1):
        cell = ws.cell(row=1, column=column)
        _put(cell, header, TEXT)
        cell.font, cell.fill, cell.alignment = HEADER_FONT, HEADER_FILL, WRAPPED_ALIGNMENT


def _set_widths(ws, table: Table) -> None:
    """Columns as wide as their content (capped); the header row as tall as its longest wrapped header."""
    header_lines = 1
    for column, header in enumerate(table.frame.columns, start=1):
        kind = table.kind(header)
        content = max((_value_width(v, kind) for v in table.frame[header]), default=0)
        width = max(content, min(display_width(header), HEADER_WIDTH_CAP), 6)
        width = min(width, WIDTH_CAPS.get(kind, width))
        ws.column_dimensions[get_column_letter(column)].width = width + 2
        header_lines = max(header_lines, math.ceil(display_width(header) / width))
    # Excel sizes rows to wrapped text only when a cell is edited: the header row gets its height here.
    ws.row_dimensions[1].height = LINE_HEIGHT * min(header_lines, 6)


def _traffic_lights(ws, cells: str, kind: str) -> None:
    """Red / amber / green fills by the kind's bands; empty cells stay white (Excel reads them as 0)."""
    low, high = TRAFFIC_LIGHTS[kind]
    first = cells.split(":")[0]
    rules = [("red", f"{first}<{low}"), ("amber", f"{first}<{high}"), ("green", f"{first}>={high}")]
    for colour, test in rules:  # in priority order: the first rule that holds colours the cell
        ws.conditional_formatting.add(cells, FormulaRule(formula=[f"AND(ISNUMBER({first}),{test})"],
                                                         fill=LIGHT_FILLS[colour], stopIfTrue=True))


def _signed_colours(ws, cells: str) -> None:
    first = cells.split(":")[0]
    ws.conditional_formatting.add(cells, FormulaRule(formula=[f"AND(ISNUMBER({first}),{first}<0)"],
                                                     font=Font(color="C00000")))
    ws.conditional_formatting.add(cells, FormulaRule(formula=[f"AND(ISNUMBER({first}),{first}>0)"],
                                                     font=Font(color="2E7D32")))


def _conditional_formats(ws, table: Table, last_row: int) -> None:
    for column, header in enumerate(table.frame.columns, start=1):
        letter = get_column_letter(column)
        cells = f"{letter}2:{letter}{max(last_row, 2)}"
        kind = table.kind(header)
        if kind in TRAFFIC_LIGHTS:
            _traffic_lights(ws, cells, kind)
        elif kind == DELTA:
            _signed_colours(ws, cells)


def _bar_chart(ws, table: Table, last_row: int) -> None:
    category, value = table.chart
    headers = list(table.frame.columns)
    chart = BarChart()
    chart.title = f"{value} per agent"
    chart.y_axis.title = value
    chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0, 100
    # openpyxl 3.1 writes axes as deleted unless told otherwise: Excel would draw no axis labels.
    chart.x_axis.delete = chart.y_axis.delete = False
    chart.legend = None
    data = Reference(ws, min_col=headers.index(value) + 1, min_row=1, max_row=last_row)
    chart.add_data(data, titles_from_data=True)
    # Categories as a string reference: agent ids are text (set_categories would declare numbers).
    agents = Reference(ws, min_col=headers.index(category) + 1, min_row=2, max_row=last_row)
    chart.series[0].cat = AxDataSource(strRef=StrRef(f=str(agents)))
    chart.width = min(max(16, 1.2 * (last_row - 1)), 48)  # centimetres: room for every agent's bar
    ws.add_chart(chart, f"A{last_row + 3}")  # below the table, where filtering does not hide it


def _write_table(ws, table: Table) -> None:
    headers = list(table.frame.columns)
    kinds = [table.kind(h) for h in headers]
    _write_header(ws, headers)
    for row_number, row in enumerate(table.frame.itertuples(index=False, name=None), start=2):
        for column, (value, kind) in enumerate(zip(row, kinds), start=1):
            _put(ws.cell(row=row_number, column=column), value, kind)
    last_row = len(table.frame) + 1
    ws.freeze_panes = "B2" if len(headers) >= WIDE_SHEET_COLUMNS else "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{last_row}"
    _set_widths(ws, table)
    _conditional_formats(ws, table, last_row)
    if table.chart and not table.frame.empty:
        _bar_chart(ws, table, last_row)


def _write_summary(ws, rows: list[tuple[str, object, str]]) -> None:
    _write_header(ws, ["Summary", "Value"])
    for row_number, (label, value, kind) in enumerate(rows, start=2):
        _put(ws.cell(row=row_number, column=1), label, TEXT)
        _put(ws.cell(row=row_number, column=2), value, kind)
        if kind in TRAFFIC_LIGHTS:
            _traffic_lights(ws, f"B{row_number}", kind)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:B{len(rows) + 1}"
    ws.column_dimensions["A"].width = min(max(display_width(label) for label, _, _ in rows) + 2, 60)
    ws.column_dimensions["B"].width = min(max(_value_width(v, k) for _, v, k in rows) + 2, 60)


def write_xlsx(report: Report, path: Path) -> None:
    workbook = Workbook()
    summary = workbook.active
    summary.title = "Summary"
    _write_summary(summary, report.summary)
    for table in report.tables:
        _write_table(workbook.create_sheet(table.sheet), table)
    with replacing(path) as temporary:
        workbook.save(temporary)


def write_csv(table: Table, path: Path) -> None:
    kinds = [table.kind(h) for h in table.frame.columns]
    with replacing(path) as temporary:
        # utf-8-sig: the BOM is how Excel knows a CSV is UTF-8 (else Chinese arrives garbled).
        with open(temporary, "w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([cell_text(h) for h in table.frame.columns])
            for row in table.frame.itertuples(index=False, name=None):
                writer.writerow([_csv_value(v, k) for v, k in zip(row, kinds)])


# --- the entry point ------------------------------------------------------------------------------


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
