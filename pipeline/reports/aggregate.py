"""The report's tables, aggregated with pandas from the frames ``query`` reads: scorecards per
agent, calls, failed findings, items, worst calls, failed files, no-speech calls, and the summary.
Nothing here decides a verdict: every figure is one the pipeline measured or a check judged."""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd

from audits.calldata.clock import clock
from pipeline.reports.query import judged_figures, read_calls, read_failures, read_findings
from pipeline.reports.scope import UNKNOWN_AGENT, Scope
from pipeline.reports.table import (
    COUNT,
    DELTA,
    PASS_RATE,
    RATE,
    SCORE,
    SECONDS,
    SHARE,
    TEXT,
    TIME,
    WRAPPED,
    Report,
    Table,
)
from pipeline.review.verdicts import ItemCalibration, calibration, refresh_scores
from pipeline.store import Store

WORST_CALLS_PER_AGENT = 3
WEAKEST_ITEMS_IN_SUMMARY = 3



def item_titles(findings: pd.DataFrame, calls: pd.DataFrame) -> dict[str, str]:
    """Checklist item id -> its title for columns and rows that gather many calls (scorecards,
    items), in the spec's order (the order findings are stored in). Each call's own findings keep
    the title of the spec it was audited with (``finding_titles``); here the titles of each
    language's specs are joined (``Forbidden phrases / 服务禁语``), and within one language the
    newest audit's title wins (a spec rescored with a reworded title)."""
    facts = calls.set_index("key")[["audited_at", "language"]]
    dated = findings.join(facts, on="call_key").assign(title=finding_titles(findings))
    newest = dated.sort_values("audited_at", kind="stable").groupby(["item", "language"], sort=False, dropna=False)["title"].last()
    return {item: " / ".join(dict.fromkeys(newest[item].sort_index())) for item in findings["item"].unique()}


def finding_titles(findings: pd.DataFrame) -> pd.Series:
    """Each finding's title as its spec wrote it (the item id where none was stored)."""
    return findings["title"].fillna(findings["item"])


def format_evidence(evidence: list[dict]) -> str:
    """One line per entry: ``[00:12.3–00:14.0] agent: <text>``. The text is shown as stored (not put
    in quotation marks): for some items it is the agent's words, for others a measured figure."""
    return "\n".join(f"[{clock(e['start'])}–{clock(e['end'])}] {e['role']}: {e['text']}"
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
        "Reviewed calls": grouped["reviewed"].sum(),
        "Mean score": grouped["score"].mean(),
        "Mean machine score": grouped["machine_score"].mean(),
        "Median score": grouped["score"].median(),
        "Previous period mean": before,
        "Change": grouped["score"].mean() - before,
        "Calls with critical failure": grouped["critical_items"].agg(lambda lists: sum(map(bool, lists))),
        "Mean answer delay (s)": grouped["answer_delay"].mean(),
        "Mean agent speech rate": speech["rate"],
        "Speech rate unit": speech["unit"],
        # As the checks judged them (blank when the item applied to none of the agent's calls).
        "Dead air (instances)": grouped["dead_air"].sum(min_count=1),
        "Dead air (s)": grouped["dead_air_seconds"].sum(min_count=1),
        "Interruptions by agent": grouped["agent_interruptions"].sum(min_count=1),
        "Holds": grouped["holds"].sum(),
        "Hold time (s)": grouped["hold_seconds"].sum(),
    }, index=who.index)
    rates = _pass_rates(_with_call_facts(findings, calls), ["agent", "item"])["rate"].unstack("item")
    for item, title in titles.items():
        frame[_item_header(item, title)] = rates[item].reindex(frame.index)
    kinds = {"Calls": COUNT, "Reviewed calls": COUNT, "Mean score": SCORE, "Mean machine score": SCORE,
             "Median score": SCORE, "Previous period mean": SCORE,
             "Change": DELTA, "Calls with critical failure": COUNT, "Mean answer delay (s)": SECONDS,
             "Mean agent speech rate": RATE, "Dead air (instances)": COUNT, "Dead air (s)": SECONDS,
             "Interruptions by agent": COUNT, "Holds": COUNT, "Hold time (s)": SECONDS}
    kinds.update({_item_header(item, title): PASS_RATE for item, title in titles.items()})
    frame = frame.sort_values(["Team", "Agent"], na_position="last")
    return Table("Scorecards", "scorecards", frame.reset_index(drop=True), kinds, chart=("Agent", "Mean score"))


def _item_header(item: str, title: str) -> str:
    return f"{title} ({item})" if title and title != item else item


def _failed_titles(findings: pd.DataFrame) -> pd.Series:
    """Per call key: the titles of its failed items (its own spec's), joined by '; '."""
    failed = findings[findings["status"] == "fail"]
    return finding_titles(failed).groupby(failed["call_key"]).agg("; ".join)


def calls_table(calls: pd.DataFrame, findings: pd.DataFrame) -> Table:
    title = finding_titles(findings).set_axis(pd.MultiIndex.from_frame(findings[["call_key", "item"]])).to_dict()
    critical_titles = ["; ".join(title.get((key, i), i) for i in items)
                       for key, items in zip(calls["key"], calls["critical_items"])]
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
        "Machine score": calls["machine_score"],
        "Reviewed": calls["reviewed_items"].map(lambda n: f"yes ({n} item{'s' if n > 1 else ''})" if n else ""),
        "Critical failed": critical_titles,
        "Failed items": calls["key"].map(_failed_titles(findings)),
        "Dead air (instances)": calls["dead_air"],
        "Dead air (s)": calls["dead_air_seconds"],
        "Interruptions by agent": calls["agent_interruptions"],
        "Role confidence": calls["role_confidence"],
        "Needs review": calls["needs_review"].map({1: "yes", 0: ""}),
        "Spec version": calls["spec_version"],
    })
    kinds = {"Time": TIME, "Duration (s)": SECONDS, "Score": SCORE, "Machine score": SCORE, "Failed items": WRAPPED,
             "Dead air (instances)": COUNT, "Dead air (s)": SECONDS, "Interruptions by agent": COUNT,
             "Role confidence": SHARE}
    return Table("Calls", "calls", frame, kinds)


def findings_table(calls: pd.DataFrame, findings: pd.DataFrame) -> Table:
    """Failed findings only: na findings are counted per item (with their commonest reason) in the
    Items sheet instead; listed here they would outnumber the failures several times over."""
    failed = _with_call_facts(findings[findings["status"] == "fail"], calls)
    frame = pd.DataFrame({
        "Time": failed["call_time"].map(_local_time),
        "Agent": failed["agent"],
        "Name": failed["agent_name"],
        "Call id": failed["call_id"],
        "Item": failed["item"],
        "Title": finding_titles(failed),
        "Critical": failed["critical"].map({1: "yes", 0: ""}),
        "Machine status": failed["machine_status"],
        "Reason": failed["reason"],
        "Evidence": failed["evidence"].map(format_evidence),
        "Decided from": failed["decided"],  # text, audio (phrases checked against the recording), text only
    }).sort_values(["Time", "Call id"], kind="stable")
    return Table("Findings", "findings", frame.reset_index(drop=True),
                 {"Time": TIME, "Reason": WRAPPED, "Evidence": WRAPPED})


def items_table(findings: pd.DataFrame, titles: dict[str, str]) -> Table:
    counts = _pass_rates(findings, ["item"]).reindex(list(titles), fill_value=0)
    not_applicable = findings[findings["status"] == "na"]
    common_reason = not_applicable.groupby("item")["reason"].agg(lambda r: r.value_counts().index[0])
    # calls audited with a spec that leaves the item out have no finding for it: "not in spec"
    judged = findings.groupby("item")["call_key"].nunique().reindex(list(titles), fill_value=0)
    frame = pd.DataFrame({
        "Item": list(titles),
        "Title": list(titles.values()),
        "Applicable calls": counts["applicable"].to_numpy(),
        "Passes": counts["pass"].to_numpy(),
        "Fails": counts["fail"].to_numpy(),
        "Not applicable": counts["na"].to_numpy(),
        "Not in spec": (findings["call_key"].nunique() - judged).to_numpy(),
        "Pass rate": counts["rate"].to_numpy(),
        "Commonest n/a reason": common_reason.reindex(list(titles)).to_numpy(),
    })
    kinds = {"Applicable calls": COUNT, "Passes": COUNT, "Fails": COUNT, "Not applicable": COUNT,
             "Not in spec": COUNT, "Pass rate": PASS_RATE, "Commonest n/a reason": WRAPPED}
    return Table("Items", "items", frame, kinds)


def _failures_with_evidence(findings: pd.DataFrame) -> pd.Series:
    """Per call key: each failed item's title, its evidence lines indented below it."""
    failed = findings[findings["status"] == "fail"]
    blocks = [title + "".join(f"\n    {line}" for line in format_evidence(entries).splitlines())
              for title, entries in zip(finding_titles(failed), failed["evidence"])]
    return pd.Series(blocks, index=failed.index, dtype=object).groupby(failed["call_key"]).agg("\n".join)


def worst_calls_table(calls: pd.DataFrame, findings: pd.DataFrame, per_agent: int) -> Table:
    """Each agent's ``per_agent`` lowest-scored calls among those that failed something."""
    details = _failures_with_evidence(findings)
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
        ("Mean machine score", calls["machine_score"].mean(), SCORE),
        ("Calls reviewed", int(calls["reviewed"].sum()), COUNT),
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


def calibration_table(rows: list[ItemCalibration], titles: dict[str, str]) -> Table:
    """Per item, how often reviewers overturned the machine on the period's calls."""
    frame = pd.DataFrame({
        "Item": [r.item for r in rows],
        "Title": [titles.get(r.item, r.item) for r in rows],
        "Reviewed": [r.reviewed for r in rows],
        "Overturned": [r.overturned for r in rows],
        "Overturn rate": [r.overturn_rate for r in rows],
        "Machine fails reviewed": [r.machine_fails for r in rows],
        "False fails": [r.false_fails for r in rows],
        "False fail rate": [r.false_fail_rate for r in rows],
        "Machine passes reviewed": [r.machine_passes for r in rows],
        "False passes": [r.false_passes for r in rows],
        "False pass rate": [r.false_pass_rate for r in rows],
    }, columns=["Item", "Title", "Reviewed", "Overturned", "Overturn rate", "Machine fails reviewed", "False fails",
                "False fail rate", "Machine passes reviewed", "False passes", "False pass rate"])
    counts = ["Reviewed", "Overturned", "Machine fails reviewed", "False fails", "Machine passes reviewed",
              "False passes"]
    kinds = {**{c: COUNT for c in counts}, **{c: SHARE for c in ("Overturn rate", "False fail rate", "False pass rate")}}
    return Table("Calibration", "calibration", frame, kinds)


def build_report(store: Store, scope: Scope, worst_calls: int) -> Report:
    earlier = scope.previous()
    refresh_scores(store)  # calls stored again since their review get their reviewed score first
    with store.snapshot():
        calls, silent = _spoken_and_silent(read_calls(store, scope))
        findings = read_findings(store, calls)
        calibrated = calibration(store.db, list(calls["call_uid"]))
        calls = calls.join(judged_figures(findings), on="key")
        failures = read_failures(store, scope)
        previous = _spoken_and_silent(read_calls(store, earlier))[0] if earlier else None
    titles = item_titles(findings, calls)
    items = items_table(findings, titles)
    tables = [
        scorecards(calls, findings, previous, titles),
        calls_table(calls, findings),
        findings_table(calls, findings),
        items,
        worst_calls_table(calls, findings, worst_calls),
        failed_calls_table(failures),
        no_speech_table(silent),
        calibration_table(calibrated, titles),
    ]
    return Report(summary_rows(scope, calls, previous, failures, items, silent), tables)


def _spoken_and_silent(calls: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The audited calls, and those in which nobody spoke: those have no score and no findings to
    count, and are listed apart rather than counted in any mean, pass rate or number of calls."""
    silent = calls["no_speech"] == 1
    return calls[~silent].reset_index(drop=True), calls[silent].reset_index(drop=True)

