"""Reports read back from real files, checked against a real store filled by the real pipeline.

The store holds calls of three days, audited from the sample transcripts without ASR: English calls
(en spec) for agents A1 and A2 of team T1, Mandarin calls (zh-CN spec) for 王小明 of team 中文组,
a call without an agent, a call rescored under a second spec version, a file that failed, one
that failed and then succeeded, and transcripts edited so that quotes begin with = and @.
Expected figures are recomputed here from the store's tables, independently of pipeline.reports.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import sqlite3
import statistics
from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from audits.calldata.metadata import CallMetadata
from audits.calldata.transcript import Transcript
from audits.spec import load_spec
from pipeline.call import CallProcessor
from pipeline.config import load_settings
from pipeline.reports import display_width, inert, write_reports
from pipeline.store import CallInfo, CallRecord, Store, call_key

TRANSCRIPTS = Path(__file__).resolve().parents[1] / "sample_audio" / "transcripts"
DAY = date(2026, 11, 20)
BEFORE, AFTER = "2026-11-19", "2026-11-21"
ASR = "tiny.en@test"
FORMULA_QUOTE = '=HYPERLINK("http://x","x") '  # short: the quote keeps it (30 characters of context)
AT_QUOTE = "@SUM(1+1) "
FORMULA_CALL_ID = '=HYPERLINK("http://evil","call")'
AT_AGENT_NAME = "@SUM(1+1)"

# (day, transcript, agent id, agent name, team, spec); stored in this order, the Mandarin calls of the
# day last: the newest audit (the rescored en call), not the last stored, must give the item titles.
RESCORED = (DAY.isoformat(), "en_01_compliant", "A1", "Anna", "T1", "en")
CALLS = [
    (BEFORE, "en_01_compliant", "A1", "Anna", "T1", "en"),
    (BEFORE, "en_12_no_closing", "A1", "Anna", "T1", "en"),
    (BEFORE, "zh_03_ring4_no_apology", "Z1", "王小明", "中文组", "zh-CN"),
    RESCORED,
    (DAY.isoformat(), "en_03_forbidden_phrase", "A1", "Anna", "T1", "en"),
    (DAY.isoformat(), "en_13_complaint_apology", "A1", "Anna", "T1", "en"),
    (DAY.isoformat(), "en_11_interrupt", "A1", "Anna", "T1", "en"),
    (DAY.isoformat(), "en_07_hold_permission", "A2", AT_AGENT_NAME, "T1", "en"),
    (DAY.isoformat(), "en_02_no_greeting", "A2", AT_AGENT_NAME, "T1", "en"),
    (DAY.isoformat(), "en_14_complaint_no_apology", "A2", AT_AGENT_NAME, "T1", "en"),
    (DAY.isoformat(), "en_09_dead_air", None, None, "T1", "en"),
    (AFTER, "en_17_fast_speech", "A1", "Anna", "T1", "en"),
    (DAY.isoformat(), "zh_01_compliant", "Z1", "王小明", "中文组", "zh-CN"),
    (DAY.isoformat(), "zh_02_forbidden", "Z1", "王小明", "中文组", "zh-CN"),
]


def edited(name: str) -> Transcript:
    """The sample transcript, edited where a test needs something the samples lack."""
    data = json.loads((TRANSCRIPTS / f"{name}.json").read_text(encoding="utf-8"))
    if name == "en_03_forbidden_phrase":  # quotes that begin with = and @
        for turn in data["turns"]:
            if turn["text"].startswith("That's impossible"):
                turn["text"] = FORMULA_QUOTE + turn["text"]
            elif turn["text"] == "What did you say?":
                turn["text"] = AT_QUOTE + turn["text"]
    if name == "en_11_interrupt":  # the customer talks over the agent too: no interruption BY the agent
        data["activity"]["customer"].insert(0, [2.0, 5.0])
        data["turns"].insert(1, {"role": "customer", "start": 2.0, "end": 5.0, "text": "Sorry, one question first.",
                                 "channel": 1})
    return Transcript.from_dict(data, origin=name)


def sha(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


class Archive:
    def __init__(self, store: Store):
        settings = load_settings()
        self.store = store
        self.processors = {name: CallProcessor(settings, load_spec(name)) for name in ("en", "zh-CN")}
        self.run_id = store.start_run("/archive", "en", "test", ASR)

    def info(self, day: str, name: str, agent: str | None, agent_name: str | None, team: str | None,
             spec_version: str, minute: int = 0) -> CallInfo:
        audio = sha(day, name)
        call_id = FORMULA_CALL_ID if name == "en_14_complaint_no_apology" else f"{day}-{name}"
        uid = f"{team}/{agent}/{day}/{name}.mp3"
        return CallInfo(
            key=call_key(audio, spec_version, ASR, uid), call_uid=uid, path=f"/archive/{uid}", call_id=call_id,
            audio_sha256=audio, spec_name="test", spec_version=spec_version, asr_key=ASR, agent_id=agent,
            agent_name=agent_name, team=team, call_time=f"{day}T09:{minute:02d}:00+08:00",
        )

    def save(self, day, name, agent, agent_name, team, spec, minute=0, metadata=None):
        processor = self.processors[spec]
        info = self.info(day, name, agent, agent_name, team, processor.spec.version, minute)
        call = processor.audit_transcript(edited(name), metadata)
        self.store.save_call(self.run_id, info, CallRecord.of(call))
        return info

    def set_audited_at(self, key: str, moment: str) -> None:
        with self.store.transaction() as db:
            db.execute("UPDATE calls SET audited_at = ? WHERE key = ?", (moment, key))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("store") / "qa.sqlite")
    archive = Archive(store)
    day = DAY.isoformat()
    # A file that failed, and one that failed before succeeding (not a standing failure).
    failed = archive.info(day, "broken", "A2", AT_AGENT_NAME, "T1", "x")
    failed.path = "-broken.mp3"
    store.save_failure(archive.run_id, failed, "-broken.mp3: cannot decode: invalid data\x07")  # XML cannot hold \x07
    retried = archive.info(day, "en_18_agent_hangs_up", "A2", AT_AGENT_NAME, "T1", "old")
    store.save_failure(archive.run_id, retried, "transient error")
    archive.set_audited_at(retried.key, "2000-01-01T00:00:00+00:00")
    archive.save(day, "en_18_agent_hangs_up", "A2", AT_AGENT_NAME, "T1", "en", minute=59,
                 metadata=CallMetadata(hangup_by="agent"))
    # A1's compliant call of the day, rescored: the newer audit (spec "v0-newer") judges the
    # no-closing transcript and is stored BEFORE the older, real audit of the compliant call, so that
    # insertion order cannot be what decides. Only the newest audit may count.
    newest = archive.info(*RESCORED[:5], "v0-newer", minute=CALLS.index(RESCORED))
    store.save_call(archive.run_id, newest,
                    CallRecord.of(archive.processors["en"].audit_transcript(edited("en_12_no_closing"))))
    archive.set_audited_at(newest.key, "2099-01-01T00:00:00+00:00")
    for minute, (day_of_call, name, agent, agent_name, team, spec) in enumerate(CALLS):
        archive.save(day_of_call, name, agent, agent_name, team, spec, minute)
    yield store
    store.close()


# --- expected figures, straight from the store's tables ------------------------------------------------


def newest_done_calls(store: Store, first: str, last: str) -> list[sqlite3.Row]:
    rows = store.db.execute("SELECT * FROM calls WHERE status = 'done'").fetchall()
    newest = {}
    for row in rows:
        kept = newest.get(row["call_uid"])
        if kept is None or row["audited_at"] > kept["audited_at"]:
            newest[row["call_uid"]] = row
    return [row for row in newest.values() if first <= row["call_time"][:10] <= last]


def expected_by_agent(store: Store, first: str, last: str) -> dict[str, dict]:
    by_agent: dict[str, dict] = {}
    for row in newest_done_calls(store, first, last):
        agent = by_agent.setdefault(row["agent_id"] or "(unknown)", {"scores": [], "keys": [], "critical": 0})
        agent["scores"].append(row["score"])
        agent["keys"].append(row["key"])
        agent["critical"] += bool(json.loads(row["critical_failed"]))
    return by_agent


def finding_rows(store: Store, keys: list[str]) -> list[sqlite3.Row]:
    marks = ",".join("?" * len(keys))
    return store.db.execute(f"SELECT * FROM findings WHERE call_key IN ({marks})", keys).fetchall()


def same_rate(shown, expected: float | None) -> bool:
    """A rate read back from a sheet (blank: NaN) against the expected one (None: never applied)."""
    return pd.isna(shown) if expected is None else shown == pytest.approx(expected)


def pass_rate(findings: list[sqlite3.Row], item: str) -> float | None:
    statuses = [f["status"] for f in findings if f["item"] == item]
    applicable = statuses.count("pass") + statuses.count("fail")
    return statuses.count("pass") / applicable if applicable else None


@pytest.fixture(scope="module")
def day_report(store, tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    paths = write_reports(store, out, DAY, DAY, worst_calls=2)
    return {path.name: path for path in paths}


def sheets(path: Path) -> dict[str, pd.DataFrame]:
    return pd.read_excel(path, sheet_name=None)


def read_csv_rows(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def header_index(ws) -> dict[str, int]:
    return {cell.value: cell.column for cell in ws[1]}


# --- tests ------------------------------------------------------------------------------------------


def test_files_are_named_by_the_period(day_report):
    stem = "2026-11-20_2026-11-20"
    assert set(day_report) == {f"callqa_{stem}.xlsx"} | {
        f"{table}_{stem}.csv" for table in ("scorecards", "calls", "findings", "items", "worst_calls", "failed",
                                            "no_speech", "calibration")}


def test_scorecards_equal_the_store(store, day_report):
    card = sheets(day_report["callqa_2026-11-20_2026-11-20.xlsx"])["Scorecards"].set_index("Agent")
    expected = expected_by_agent(store, DAY.isoformat(), DAY.isoformat())
    assert set(card.index) == set(expected) == {"A1", "A2", "Z1", "(unknown)"}
    for agent, facts in expected.items():
        row = card.loc[agent]
        assert row["Calls"] == len(facts["scores"])
        assert row["Mean score"] == pytest.approx(statistics.mean(facts["scores"]))
        assert row["Median score"] == pytest.approx(statistics.median(facts["scores"]))
        assert row["Calls with critical failure"] == facts["critical"]
    assert card.loc["Z1", "Name"] == "王小明" and card.loc["Z1", "Team"] == "中文组"
    assert card.loc["A2", "Name"] == "'" + AT_AGENT_NAME


def test_scorecard_measurements_equal_the_store(store, day_report):
    """Means from the measurements table; dead air and agent interruptions as the checklist judged
    them (the evidence of failed silence.dead_air / interaction.no_interrupt: none of these calls
    passes with a tolerated reading), so an announced hold (en_07, A2) is not dead air."""
    card = sheets(day_report["callqa_2026-11-20_2026-11-20.xlsx"])["Scorecards"].set_index("Agent")
    for agent, facts in expected_by_agent(store, DAY.isoformat(), DAY.isoformat()).items():
        marks = ",".join("?" * len(facts["keys"]))
        m = store.db.execute(f"SELECT AVG(answer_delay), AVG(agent_speech_rate), SUM(holds), SUM(hold_seconds)"
                             f" FROM measurements WHERE call_key IN ({marks})", facts["keys"]).fetchone()
        assert card.loc[agent, "Mean answer delay (s)"] == pytest.approx(m[0])
        assert card.loc[agent, "Mean agent speech rate"] == pytest.approx(m[1])
        assert card.loc[agent, "Holds"] == m[2] and card.loc[agent, "Hold time (s)"] == pytest.approx(m[3])
        evidence = {item: [e for f in finding_rows(store, facts["keys"]) if f["item"] == item and f["status"] == "fail"
                           for e in json.loads(f["evidence"])]
                    for item in ("silence.dead_air", "interaction.no_interrupt")}
        assert card.loc[agent, "Dead air (instances)"] == len(evidence["silence.dead_air"]), agent
        assert card.loc[agent, "Dead air (s)"] == pytest.approx(
            sum(e["end"] - e["start"] for e in evidence["silence.dead_air"]), abs=0.05)
        assert card.loc[agent, "Interruptions by agent"] == len(evidence["interaction.no_interrupt"]), agent
    assert card.loc["A2", "Holds"] == 1 and card.loc["A2", "Dead air (instances)"] == 0
    assert card.loc["(unknown)", "Dead air (instances)"] == 1 and card.loc["A1", "Interruptions by agent"] == 1
    assert list(card["Speech rate unit"]) == ["wpm", "wpm", "wpm", "cpm"]


def test_a_rescored_call_counts_once_with_its_newest_audit(store, day_report):
    calls = sheets(day_report["callqa_2026-11-20_2026-11-20.xlsx"])["Calls"]
    compliant = calls[calls["Call id"] == "2026-11-20-en_01_compliant"]
    newest = store.db.execute("SELECT score, spec_version FROM calls WHERE call_id = ? ORDER BY audited_at DESC",
                              ("2026-11-20-en_01_compliant",)).fetchall()
    assert len(newest) == 2 and newest[0]["score"] != newest[1]["score"]
    assert len(compliant) == 1
    assert compliant["Score"].iloc[0] == pytest.approx(newest[0]["score"])
    assert compliant["Spec version"].iloc[0] == "v0-newer"
    assert len(calls) == len(newest_done_calls(store, DAY.isoformat(), DAY.isoformat()))


def test_item_pass_rates_per_agent_and_overall(store, day_report):
    book = sheets(day_report["callqa_2026-11-20_2026-11-20.xlsx"])
    expected = expected_by_agent(store, DAY.isoformat(), DAY.isoformat())
    card, items = book["Scorecards"].set_index("Agent"), book["Items"].set_index("Item")
    every_key = [key for facts in expected.values() for key in facts["keys"]]
    everything = finding_rows(store, every_key)
    checked = 0
    for item, title in items["Title"].items():
        header = f"{title} ({item})"
        for agent, facts in expected.items():
            rate = pass_rate(finding_rows(store, facts["keys"]), item)
            assert same_rate(card.loc[agent, header], rate), (agent, item)
            checked += rate is not None
        statuses = [f["status"] for f in everything if f["item"] == item]
        assert items.loc[item, "Passes"] == statuses.count("pass")
        assert items.loc[item, "Fails"] == statuses.count("fail")
        assert items.loc[item, "Not applicable"] == statuses.count("na")
        assert items.loc[item, "Applicable calls"] == statuses.count("pass") + statuses.count("fail")
        assert same_rate(items.loc[item, "Pass rate"], pass_rate(everything, item)), item
    assert checked > 20
    assert len(items) == len(load_spec("en").items)  # every item of the spec, in its order
    assert items.index[0] == "opening.greeting"


def test_previous_period_mean_and_change(store, day_report):
    card = sheets(day_report["callqa_2026-11-20_2026-11-20.xlsx"])["Scorecards"].set_index("Agent")
    now = expected_by_agent(store, DAY.isoformat(), DAY.isoformat())
    before = expected_by_agent(store, BEFORE, BEFORE)
    for agent in ("A1", "Z1"):
        was = statistics.mean(before[agent]["scores"])
        assert card.loc[agent, "Previous period mean"] == pytest.approx(was)
        assert card.loc[agent, "Change"] == pytest.approx(statistics.mean(now[agent]["scores"]) - was)
    assert card.loc["A1", "Change"] < 0  # a negative change, to check that it stays a number in the CSV
    assert pd.isna(card.loc["A2", "Previous period mean"]) and pd.isna(card.loc["A2", "Change"])
    rows = read_csv_rows(day_report["scorecards_2026-11-20_2026-11-20.csv"])
    change = rows[0].index("Change")
    a1 = next(row for row in rows if row[0] == "A1")
    assert a1[change].startswith("-") and float(a1[change]) == pytest.approx(card.loc["A1", "Change"], abs=0.01)


def test_findings_list_every_failure_with_its_evidence(store, day_report):
    findings = sheets(day_report["callqa_2026-11-20_2026-11-20.xlsx"])["Findings"]
    keys = [k for facts in expected_by_agent(store, DAY.isoformat(), DAY.isoformat()).values() for k in facts["keys"]]
    failures = [f for f in finding_rows(store, keys) if f["status"] == "fail"]
    assert len(findings) == len(failures) > 5
    line = re.compile(r"^\[\d\d:\d\d\.\d–\d\d:\d\d\.\d\] (agent|customer|call|unknown): .+")
    for evidence in findings["Evidence"]:
        assert all(line.match(entry) for entry in evidence.split("\n")), evidence
    quoted = findings[findings["Evidence"].str.contains("HYPERLINK", regex=False)]
    assert len(quoted) == 1 and quoted["Item"].iloc[0] == "forbidden.phrases"
    assert f"agent: {FORMULA_QUOTE}[That's impossible]" in quoted["Evidence"].iloc[0]
    assert f"agent: {AT_QUOTE}[What did you say]" in quoted["Evidence"].iloc[0]
    assert "\n" in quoted["Evidence"].iloc[0]  # two forbidden phrases: two evidence lines
    assert "不可能" in "".join(findings["Evidence"])


def test_worst_calls_are_the_lowest_scores_with_evidence(store, day_report):
    worst = sheets(day_report["callqa_2026-11-20_2026-11-20.xlsx"])["Worst calls"]
    a1 = worst[worst["Agent"] == "A1"]
    assert list(a1["Rank"]) == [1, 2]  # worst_calls=2
    stored = sorted(row["score"] for row in newest_done_calls(store, DAY.isoformat(), DAY.isoformat())
                    if row["agent_id"] == "A1")
    assert list(a1["Score"]) == pytest.approx(stored[:2])
    assert a1["Failed items and evidence"].iloc[0].startswith("Forbidden phrases\n    [00:")


def test_failed_calls_are_listed_not_scored(day_report):
    book = sheets(day_report["callqa_2026-11-20_2026-11-20.xlsx"])
    failed = book["Failed calls"]
    assert list(failed["File"]) == ["'-broken.mp3"]  # the retried file succeeded: no longer listed
    assert failed["Error"].iloc[0] == "'-broken.mp3: cannot decode: invalid data"  # without the \x07
    assert "broken" not in " ".join(book["Calls"]["File"])
    summary = dict(zip(book["Summary"]["Summary"], book["Summary"]["Value"]))
    assert summary["Files that failed"] == 1


def test_summary_names_the_period_and_the_weakest_items(store, day_report):
    summary = sheets(day_report["callqa_2026-11-20_2026-11-20.xlsx"])["Summary"]
    values = dict(zip(summary["Summary"], summary["Value"]))
    scores = [row["score"] for row in newest_done_calls(store, DAY.isoformat(), DAY.isoformat())]
    assert values["Period"] == "2026-11-20 – 2026-11-20"
    assert values["Previous period"] == "2026-11-19 – 2026-11-19"
    assert values["Calls"] == len(scores)
    assert values["Mean score"] == pytest.approx(statistics.mean(scores))
    before = statistics.mean(row["score"] for row in newest_done_calls(store, BEFORE, BEFORE))
    assert values["Mean score, previous period"] == pytest.approx(before)
    assert values["Change in mean score"] == pytest.approx(statistics.mean(scores) - before)
    weakest = [label for label in values if str(label).startswith("Weakest item")]
    assert len(weakest) == 3
    rates = [values[label] for label in weakest]
    assert rates == sorted(rates)


def test_chinese_text_survives_in_csv_and_xlsx(store, tmp_path):
    paths = write_reports(store, tmp_path, DAY, DAY, team="中文组")
    csv_path = next(p for p in paths if p.name.startswith("items_"))
    assert csv_path.read_bytes().startswith(b"\xef\xbb\xbf")
    items = read_csv_rows(csv_path)
    assert all(re.search("[\u4e00-\u9fff]", row[1]) for row in items[1:])  # the zh-CN spec's own titles
    cards = read_csv_rows(next(p for p in paths if p.name.startswith("scorecards_")))
    assert [row[1] for row in cards[1:]] == ["王小明"]
    greeting = next(header for header in cards[0] if header.endswith("(opening.greeting)"))
    assert re.search("[\u4e00-\u9fff]", greeting)
    book = sheets(next(p for p in paths if p.suffix == ".xlsx"))
    assert list(book["Scorecards"]["Team"]) == ["中文组"]
    assert book["Items"]["Title"].str.contains("[\u4e00-\u9fff]").all()
    xlsx = next(p for p in paths if p.suffix == ".xlsx")
    assert xlsx.name == "callqa_2026-11-20_2026-11-20_team-中文组.xlsx"
    items = openpyxl.load_workbook(xlsx)["Items"]
    longest = max(len(title) for title in book["Items"]["Title"])
    assert items.column_dimensions["B"].width > longest + 2  # CJK characters count double


def test_formula_like_text_is_inert(day_report):
    workbook = openpyxl.load_workbook(day_report["callqa_2026-11-20_2026-11-20.xlsx"])
    formulas = [(ws.title, cell.coordinate) for ws in workbook for row in ws.iter_rows() for cell in row
                if cell.data_type == "f"]
    assert formulas == []
    calls = workbook["Calls"]
    column = header_index(calls)
    ids = [row[column["Call id"] - 1].value for row in calls.iter_rows(min_row=2)]
    assert "'" + FORMULA_CALL_ID in ids
    names = {row[column["Name"] - 1].value for row in calls.iter_rows(min_row=2)}
    assert "'" + AT_AGENT_NAME in names
    findings = workbook["Findings"]
    evidence = [row[header_index(findings)["Evidence"] - 1] for row in findings.iter_rows(min_row=2)]
    quoted = [cell for cell in evidence if FORMULA_QUOTE in cell.value and AT_QUOTE in cell.value]
    assert len(quoted) == 1 and quoted[0].data_type == "s"
    for name in ("calls", "scorecards", "findings", "worst_calls", "failed"):
        for row in read_csv_rows(day_report[f"{name}_2026-11-20_2026-11-20.csv"]):
            for field in row:
                assert not field.startswith(("=", "+", "@", "\t", "\r")), (name, field)
                assert not field.startswith("-") or re.fullmatch(r"-\d+(\.\d+)?", field), (name, field)
    rows = read_csv_rows(day_report["calls_2026-11-20_2026-11-20.csv"])
    assert "'" + FORMULA_CALL_ID in [row[rows[0].index("Call id")] for row in rows]


def test_csv_tables_hold_what_the_sheets_hold(day_report):
    book = sheets(day_report["callqa_2026-11-20_2026-11-20.xlsx"])
    for sheet, name in (("Scorecards", "scorecards"), ("Calls", "calls"), ("Findings", "findings"),
                        ("Items", "items"), ("Worst calls", "worst_calls"), ("Failed calls", "failed")):
        table = pd.read_csv(day_report[f"{name}_2026-11-20_2026-11-20.csv"], encoding="utf-8-sig")
        shown = book[sheet]
        assert list(table.columns) == list(shown.columns) and len(table) == len(shown), sheet
        for column in shown.columns:
            if pd.api.types.is_numeric_dtype(shown[column]):
                rounded = pytest.approx(shown[column].to_numpy(), abs=0.06, nan_ok=True)  # CSV: 1 to 4 decimals
                assert table[column].to_numpy() == rounded, (sheet, column)
            elif pd.api.types.is_datetime64_any_dtype(shown[column]):
                assert list(pd.to_datetime(table[column])) == list(shown[column]), (sheet, column)
            else:
                assert list(table[column].fillna("")) == list(shown[column].fillna("")), (sheet, column)


def test_inert_prefixes_every_formula_start():
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert inert(start + "1+1") == "'" + start + "1+1"
    assert inert("Anna") == "Anna" and inert("王小明") == "王小明"


def test_workbook_is_ready_to_use(day_report):
    workbook = openpyxl.load_workbook(day_report["callqa_2026-11-20_2026-11-20.xlsx"])
    assert workbook.sheetnames == ["Summary", "Scorecards", "Calls", "Findings", "Items", "Worst calls", "Failed calls",
                                  "No speech", "Calibration"]
    for ws in workbook:
        assert ws.freeze_panes in ("A2", "B2"), ws.title
        assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:"), ws.title
        assert ws["A1"].font.b and ws["A1"].fill.fgColor.rgb.endswith("1F4E78"), ws.title
    cards = workbook["Scorecards"]
    assert cards.freeze_panes == "B2"  # a wide sheet: the agent column stays in view
    assert cards.row_dimensions[1].height >= 45  # long item titles wrap in the header
    column = header_index(cards)
    mean = cards.cell(row=2, column=column["Mean score"])
    assert mean.number_format == "0.0"
    rate_column = next(c for h, c in column.items() if h.endswith("(opening.greeting)"))
    assert cards.cell(row=2, column=rate_column).number_format == "0%"
    formatted = {str(rng.sqref).split(":")[0] for rng in cards.conditional_formatting}
    assert f"{openpyxl.utils.get_column_letter(column['Mean score'])}2" in formatted
    assert f"{openpyxl.utils.get_column_letter(rate_column)}2" in formatted
    charts = cards._charts
    assert len(charts) == 1 and charts[0].tagname == "barChart"
    assert charts[0].x_axis.delete is False and charts[0].y_axis.delete is False  # else Excel hides the axes
    series = charts[0].series[0]
    letter = openpyxl.utils.get_column_letter(column["Mean score"])
    assert series.val.numRef.f == f"'Scorecards'!${letter}$2:${letter}$5"
    assert series.cat.strRef.f == "'Scorecards'!$A$2:$A$5"  # the agent ids, as text
    findings = workbook["Findings"]
    evidence = findings.cell(row=2, column=header_index(findings)["Evidence"])
    assert evidence.alignment.wrap_text
    assert 20 <= findings.column_dimensions[evidence.column_letter].width <= 72
    calls = workbook["Calls"]
    assert calls.cell(row=2, column=1).is_date


def test_display_width_counts_cjk_double():
    assert display_width("Anna") == 4
    assert display_width("王小明") == 6
    assert display_width("short\nlonger line") == 11


def test_empty_period_gives_a_clear_valid_report(store, tmp_path):
    paths = write_reports(store, tmp_path, date(2030, 1, 1), date(2030, 1, 7))
    book = sheets(next(p for p in paths if p.suffix == ".xlsx"))
    values = dict(zip(book["Summary"]["Summary"], book["Summary"]["Value"]))
    assert values["Note"].startswith("No audited calls")
    assert values["Calls"] == 0
    for name in ("Scorecards", "Calls", "Findings", "Items", "Worst calls", "Failed calls"):
        assert book[name].empty and len(book[name].columns) >= 5, name
    assert openpyxl.load_workbook(next(p for p in paths if p.suffix == ".xlsx"))["Scorecards"]._charts == []
    for path in paths:
        if path.suffix == ".csv":
            assert len(read_csv_rows(path)) == 1  # the header row


def test_team_and_agent_filters(store, tmp_path):
    by_team = write_reports(store, tmp_path / "team", DAY, DAY, team="T1", formats=("csv",))
    cards = read_csv_rows(next(p for p in by_team if p.name.startswith("scorecards_")))
    assert sorted(row[0] for row in cards[1:]) == ["(unknown)", "A1", "A2"]
    assert all(p.suffix == ".csv" for p in by_team)
    by_agent = write_reports(store, tmp_path / "agent", DAY, DAY, agent="Z1", formats=("xlsx",))
    assert [p.name for p in by_agent] == ["callqa_2026-11-20_2026-11-20_agent-Z1.xlsx"]
    book = sheets(by_agent[0])
    assert set(book["Calls"]["Agent"]) == {"Z1"} and len(book["Calls"]) == 2
    assert set(book["Findings"]["Agent"]) == {"Z1"}
    assert book["Failed calls"].empty  # the failed file is A2's
    unknown = write_reports(store, tmp_path / "unknown", DAY, DAY, agent="(unknown)", formats=("xlsx",))
    assert list(sheets(unknown[0])["Calls"]["Call id"]) == ["2026-11-20-en_09_dead_air"]


def test_open_ended_period_has_no_previous_period(store, tmp_path):
    paths = write_reports(store, tmp_path, None, None, formats=("xlsx",))
    assert [p.name for p in paths] == ["callqa_all_all.xlsx"]
    book = sheets(paths[0])
    card = book["Scorecards"].set_index("Agent")
    assert card["Previous period mean"].isna().all()
    assert card.loc["A1", "Calls"] == len([c for c in CALLS if c[2] == "A1"])  # rescore still counted once
    after = write_reports(store, tmp_path, date(2026, 11, 21), None, formats=("xlsx",))
    assert after[0].name == "callqa_2026-11-21_all.xlsx"
    assert list(sheets(after[0])["Calls"]["Agent"]) == ["A1"]


def test_unknown_format_is_refused(store, tmp_path):
    with pytest.raises(ValueError, match="pdf"):
        write_reports(store, tmp_path, DAY, DAY, formats=("pdf",))
