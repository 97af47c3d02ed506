"""Reports show what was measured and judged, never re-decide it; each call under its own spec's titles.

Real stores filled by the real ``callqa batch --ext json`` from the sample transcripts (no ASR),
English calls under the en spec and Mandarin calls under the zh-CN spec in one store, and real
report files read back.

- Single owner: a call's dead air and interruptions in the report are the counts the checks of
  ``silence.dead_air`` and ``interaction.no_interrupt`` judged over their limits, whatever the
  settings' listing floors say (the README's old ``silence_threshold: 5.0`` included), and the
  spec's ``excused_holds`` decide which holds excuse a silence.
- Per-call titles: each call's items are listed with the titles of the spec it was audited with.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
import yaml

from audits.spec import bundled_specs, load_spec
from pipeline.reports import write_reports
from pipeline.store import Store
from tests.conftest import SAMPLES, batch_cli

TRANSCRIPTS = SAMPLES / "transcripts"
DEAD_AIR, INTERRUPT = "silence.dead_air", "interaction.no_interrupt"


def archive_of(root: Path, prefix: str) -> Path:
    root.mkdir(parents=True)
    for path in sorted(TRANSCRIPTS.glob(f"{prefix}_*.json")):
        shutil.copy(path, root)
    return root


def batch(archive: Path, db: Path, *extra: str) -> None:
    run = batch_cli(archive, db, "--ext", "json", *extra)
    assert run.returncode == 0, run.stderr


def report(db: Path, out: Path) -> dict[str, pd.DataFrame]:
    store = Store(db)
    try:
        paths = write_reports(store, out, None, None, formats=("xlsx",))
    finally:
        store.close()
    return pd.read_excel(paths[0], sheet_name=None)


def judged(db: Path, item: str) -> dict[str, float | None]:
    """Per call (its file), how many readings the item's check judged over its limit, read from what the
    check recorded: a failure's evidence is exactly those readings, and so is a pass's that
    tolerated some; any other pass had none; an n/a has no count."""
    with sqlite3.connect(db) as db_:
        rows = db_.execute("SELECT c.path, f.status, f.reason, f.evidence FROM findings f"
                           " JOIN calls c ON c.key = f.call_key WHERE f.item = ?", (item,)).fetchall()
    counts = {}
    for path, status, reason, evidence in rows:
        over = status == "fail" or reason.endswith("tolerated")
        counts[Path(path).name] = None if status == "na" else len(json.loads(evidence)) if over else 0
    return counts


def per_call(book: dict[str, pd.DataFrame], column: str) -> dict[str, float | None]:
    """Per call (its file name), the Calls sheet's value in ``column`` (blank: None)."""
    calls = book["Calls"].set_index(book["Calls"]["File"].map(lambda path: Path(path).name))
    return {name: None if pd.isna(value) else value for name, value in calls[column].items()}


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> tuple[Path, dict[str, pd.DataFrame]]:
    """English calls (en spec) and Mandarin calls (zh-CN spec), one store, default settings."""
    root = tmp_path_factory.mktemp("mixed")
    db = root / "qa.sqlite"
    batch(archive_of(root / "en", "en"), db, "--spec", "en")
    batch(archive_of(root / "zh", "zh"), db, "--spec", "zh-CN")
    return db, report(db, root / "reports")


def test_the_report_dead_air_and_interruptions_are_the_checks_counts(mixed):
    db, book = mixed
    dead_air, interruptions = judged(db, DEAD_AIR), judged(db, INTERRUPT)
    assert len(dead_air) == len(book["Calls"]) == len(list(TRANSCRIPTS.glob("*.json")))
    assert per_call(book, "Dead air (instances)") == dead_air
    assert per_call(book, "Interruptions by agent") == interruptions
    assert dead_air["en_09_dead_air.json"] >= 1 and interruptions["en_11_interrupt.json"] == 1
    assert dead_air["en_07_hold_permission.json"] == 0  # its silence is an announced hold, excused by the spec
    # The scorecards add up the same counts.
    card = book["Scorecards"]
    assert card["Dead air (instances)"].sum() == sum(v for v in dead_air.values() if v is not None)
    assert card["Interruptions by agent"].sum() == sum(v for v in interruptions.values() if v is not None)


def test_the_settings_floors_change_nothing_the_report_shows(mixed, tmp_path):
    """``timing.silence_threshold`` / ``interruption_min_overlap`` only decide what the measurements
    list: below the spec's limits (the README's old "report dead air above 5 s") or above them
    (lowered to the limits), the checks and the report count the same."""
    _, book = mixed
    for name, timing in (("low", {"silence_threshold": 5.0, "interruption_min_overlap": 0.5}),
                         ("high", {"silence_threshold": 15.0, "interruption_min_overlap": 3.0})):
        config = tmp_path / f"{name}.yaml"
        config.write_text(yaml.safe_dump({"timing": timing}), encoding="utf-8")
        db = tmp_path / f"{name}.sqlite"
        batch(archive_of(tmp_path / name, "en"), db, "--spec", "en", "--config", str(config))
        shown = report(db, tmp_path / f"{name}-reports")
        assert per_call(shown, "Dead air (instances)") == judged(db, DEAD_AIR), name
        for column in ("Dead air (instances)", "Dead air (s)", "Interruptions by agent", "Score"):
            default = {k: v for k, v in per_call(book, column).items() if k.startswith("en_")}
            assert per_call(shown, column) == pytest.approx(default), (name, column)
        with sqlite3.connect(db) as db_:
            silences = db_.execute("SELECT sum(silences) FROM measurements").fetchone()[0]
        assert (silences > 0) if name == "low" else True  # the low floor lists the shorter silences too


def test_the_specs_excused_holds_decide_what_is_dead_air(mixed, tmp_path):
    """A spec that excuses no hold: en_07's announced hold is dead air for the check, and so for the report."""
    data = yaml.safe_load(bundled_specs()["en"].read_text(encoding="utf-8"))
    item = next(i for i in data["items"] if i["id"] == DEAD_AIR)
    item["excused_holds"] = []
    spec = tmp_path / "strict.yaml"
    spec.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    db = tmp_path / "strict.sqlite"
    batch(archive_of(tmp_path / "en", "en"), db, "--spec", str(spec))
    shown = report(db, tmp_path / "reports")
    assert per_call(shown, "Dead air (instances)") == judged(db, DEAD_AIR)
    assert judged(db, DEAD_AIR)["en_07_hold_permission.json"] == 1
    assert judged(mixed[0], DEAD_AIR)["en_07_hold_permission.json"] == 0


def test_each_call_is_listed_with_its_own_specs_titles(mixed):
    _, book = mixed
    specs = {"en": load_spec("en"), "zh": load_spec("zh-CN")}

    def title(call_id: str, item: str) -> str:  # the sample calls' ids begin with their language
        return specs[call_id[:2]].item(item).title

    own = {language: {item.title for item in spec.items} for language, spec in specs.items()}
    findings = book["Findings"]
    assert {"en", "zh"} <= {call_id[:2] for call_id in findings["Call id"]}
    for call_id, item, shown in zip(findings["Call id"], findings["Item"], findings["Title"]):
        assert shown == title(call_id, item), (call_id, item)
    checked = 0
    for sheet, column in (("Calls", "Failed items"), ("Worst calls", "Failed items and evidence")):
        listed = book[sheet].dropna(subset=[column])
        for call_id, text in zip(listed["Call id"], listed[column]):
            titles = text.split("; ") if sheet == "Calls" else [line for line in text.splitlines()
                                                                   if not line.startswith(" ")]
            assert set(titles) <= own[call_id[:2]], (sheet, call_id, titles)
            checked += 1
    assert checked >= 10
    # Sheets that gather both languages name an item by both specs' titles.
    items = book["Items"].set_index("Item")
    assert items.loc["forbidden.phrases", "Title"] == (
        f"{specs['en'].item('forbidden.phrases').title} / {specs['zh'].item('forbidden.phrases').title}")


def test_a_store_written_before_figures_gets_them_from_its_findings(mixed, tmp_path):
    """Schema 3 stores had no figures: opening one fills them in from the stored findings, equal to
    what the checks record now."""
    db = tmp_path / "old.sqlite"
    shutil.copy(mixed[0], db)
    with sqlite3.connect(db) as old:
        now = old.execute("SELECT call_key, item, figure FROM findings WHERE figure IS NOT NULL").fetchall()
        for column in ("figure", "decided", "verification"):  # schema 3 had none of these
            old.execute(f"ALTER TABLE findings DROP COLUMN {column}")
        old.execute("PRAGMA user_version = 3")
    Store(db).close()
    with sqlite3.connect(db) as migrated:
        figures = dict(((k, i), f) for k, i, f in migrated.execute(
            "SELECT call_key, item, figure FROM findings WHERE figure IS NOT NULL"))
    expected = {(k, i): json.loads(f) for k, i, f in now if i in (DEAD_AIR, INTERRUPT)}
    assert set(figures) == set(expected)
    for key, figure in expected.items():
        backfilled = json.loads(figures[key])
        assert backfilled["count"] == figure["count"], key
        assert backfilled["total"] == pytest.approx(figure["total"], abs=0.05), key
