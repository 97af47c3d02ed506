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
    calls = _frame(store.newest_done_calls(scope.calls()))
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


def read_findings(store: Store, call_keys: pd.Series) -> pd.DataFrame:
    findings = _frame(store.findings_of(list(call_keys)))
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
