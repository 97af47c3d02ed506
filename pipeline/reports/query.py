"""The report's data, read through the store's API (``Store.newest_done_calls``,
``standing_failures``, ``findings_of``; the store owns the SQL) into pandas frames: one row per
call with the figures the scorecards aggregate, one row per finding, one per standing failure."""

from __future__ import annotations

import json

import pandas as pd

from pipeline.reports.scope import UNKNOWN_AGENT, Scope
from pipeline.store import Rows, Store


def _frame(rows: Rows) -> pd.DataFrame:
    return pd.DataFrame.from_records(rows.records, columns=rows.columns)


def read_calls(store: Store, scope: Scope) -> pd.DataFrame:
    """The newest audit of each call in scope. ``score`` and ``critical_items`` are under the
    reviewers' verdicts where one stands (``reviewed`` True), the machine's ``machine_score`` beside."""
    calls = _frame(store.newest_done_calls(scope.calls()))
    calls["agent"] = calls["agent_id"].fillna(UNKNOWN_AGENT)
    calls["reviewed"] = calls["reviewed_items"] > 0
    calls["machine_score"] = calls["score"]
    calls["score"] = calls["score"].where(~calls["reviewed"], calls["reviewed_score"])
    critical = calls["critical_failed"].where(~calls["reviewed"], calls["reviewed_critical"])
    calls["critical_items"] = [json.loads(text) if text else [] for text in critical]
    measures = pd.DataFrame([call_measures(text) for text in calls["measurements"]],
                            columns=list(MEASURE_COLUMNS), index=calls.index)
    calls = pd.concat([calls, measures], axis=1)
    # A column of nothing but NULLs arrives as objects; aggregates need numbers.
    numeric = ["score", "machine_score", "duration", "role_confidence", "needs_review", *MEASURE_COLUMNS]
    numeric.remove("rate_unit")
    calls[numeric] = calls[numeric].astype(float)
    return calls


def read_findings(store: Store, calls: pd.DataFrame) -> pd.DataFrame:
    """The findings of these calls; ``status`` is the effective one (the reviewer's where a verdict
    stands), ``machine_status`` the machine's."""
    findings = _frame(store.findings_of(list(calls["key"])))
    findings["machine_status"] = findings["status"]
    reviewed = {key: json.loads(text) for key, text in zip(calls["key"], calls["reviewed_statuses"])
                if isinstance(text, str)}
    if reviewed:
        findings["status"] = [reviewed[key].get(item, status) if key in reviewed else status
                              for key, item, status in zip(findings["call_key"], findings["item"], findings["status"])]
    findings["evidence"] = [json.loads(text) if isinstance(text, str) else [] for text in findings["evidence"]]
    findings["figure"] = [json.loads(text) if isinstance(text, str) else None for text in findings["figure"]]
    return findings


def read_failures(store: Store, scope: Scope) -> pd.DataFrame:
    return _frame(store.standing_failures(scope.calls()))


MEASURE_COLUMNS = ("answer_delay", "agent_rate", "rate_unit", "holds", "hold_seconds")


def call_measures(measurements_json: str | None) -> dict:
    """The scorecard's measured figures of one call, from its stored measurements."""
    if not measurements_json:
        return {}
    m = json.loads(measurements_json)
    return {
        "answer_delay": m["answer_delay"],
        "agent_rate": m["speech_rate"].get("agent"),
        "rate_unit": m["speech_rate_unit"],
        "holds": len(m["holds"]),
        "hold_seconds": sum(h["seconds"] for h in m["holds"]),
    }


# Figures the checklist judges, shown as the item's check counted them (its finding's figure): the
# spec's limit, its excused holds and its interrupting role decide, never the report. A call whose
# item did not apply (na) has no figure: blank, not 0.
JUDGED = {"dead_air": ("silence.dead_air", "count"), "dead_air_seconds": ("silence.dead_air", "total"),
          "agent_interruptions": ("interaction.no_interrupt", "count")}


def judged_figures(findings: pd.DataFrame) -> pd.DataFrame:
    """Per call key, the figures of ``JUDGED`` from its findings."""
    columns = {}
    for column, (item, part) in JUDGED.items():
        rows = findings[findings["item"] == item]
        columns[column] = pd.Series([figure[part] if figure else None for figure in rows["figure"]],
                                    index=rows["call_key"].to_numpy(), dtype=float)
    return pd.DataFrame(columns)
