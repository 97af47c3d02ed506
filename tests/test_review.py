"""Human verdicts beside the machine's (pipeline.review): reviews, appeals and their decisions,
the score under them, the history, what survives a rerun and a rescore, calibration, sampling,
users and sessions. On stores the real batch wrote from reference transcripts."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess

import pytest
from argon2 import PasswordHasher
from conftest import CALLQA, SAMPLES, batch_cli

from audits.findings import score_of
from pipeline.review.sample import pick_calls, queue
from pipeline.review.users import (
    UserError,
    add_user,
    authenticate,
    close_session,
    open_session,
    remove_user,
    session_user,
    set_password,
)
from pipeline.review.verdicts import (
    NotAllowed,
    NotVisible,
    ReviewError,
    appeal,
    audit_verdicts,
    calibration,
    decide,
    newest_audit,
    refresh_scores,
    review,
    verdict_history,
)
from pipeline.store import SCHEMA_VERSION, Store

NO_GREETING = "en_02_no_greeting.json"  # A002: fails the greeting
FORBIDDEN = "en_03_forbidden_phrase.json"  # A003: a critical failure (score 0)


@pytest.fixture
def store(transcripts_store, tmp_path):
    db = tmp_path / "store.sqlite"
    shutil.copy(transcripts_store, db)
    opened = Store(db)
    yield opened
    opened.close()


@pytest.fixture
def people(store):
    add_user(store, "rita", "reviewer", "reviewer-pass")
    add_user(store, "bella", "agent", "agent-pass-2", agent_id="A002")
    add_user(store, "chen", "agent", "agent-pass-3", agent_id="A003")
    return {name: authenticate(store, name, pw) for name, pw in
            (("rita", "reviewer-pass"), ("bella", "agent-pass-2"), ("chen", "agent-pass-3"))}


def finding(store, call_uid, item):
    audit = newest_audit(store.db, call_uid)
    return next(i for i in audit_verdicts(store.db, audit) if i.item == item)


def reviewed_score(store, call_uid):
    audit = newest_audit(store.db, call_uid)
    return store.db.execute("SELECT score, verdicts FROM reviewed_scores WHERE call_key = ?",
                            (audit["key"],)).fetchone()


def test_overturning_a_finding_rescores_the_call_and_keeps_the_machine_verdict(store, people):
    before = finding(store, NO_GREETING, "opening.greeting")
    assert before.machine_status == "fail" and before.verdict is None
    machine_score = newest_audit(store.db, NO_GREETING)["score"]
    review(store, people["rita"], NO_GREETING, "opening.greeting", "overturn", "the greeting was there, ASR missed it",
           "pass")
    after = finding(store, NO_GREETING, "opening.greeting")
    assert (after.machine_status, after.status, after.verdict["review"]) == ("fail", "pass", "overturned")
    items = audit_verdicts(store.db, newest_audit(store.db, NO_GREETING))
    expected = score_of((i.status, i.points, i.critical) for i in items)
    score, verdicts = reviewed_score(store, NO_GREETING)
    assert score == pytest.approx(expected) == 0 and verdicts == 1  # its critical failure still zeroes it
    review(store, people["rita"], NO_GREETING, "forbidden.phrases", "overturn", "'hey' is the customer's", "pass")
    items = audit_verdicts(store.db, newest_audit(store.db, NO_GREETING))
    score, verdicts = reviewed_score(store, NO_GREETING)
    assert score == pytest.approx(score_of((i.status, i.points, i.critical) for i in items)) and verdicts == 2
    assert score > machine_score == 0
    assert newest_audit(store.db, NO_GREETING)["score"] == machine_score  # the machine's score is untouched
    event = verdict_history(store.db, NO_GREETING)[0]
    assert (event["actor"], event["action"], event["comment"]) == ("rita", "overturn",
                                                                     "the greeting was there, ASR missed it")
    assert json.loads(event["before"])["status"] == "fail" and json.loads(event["after"])["status"] == "pass"


def test_a_review_needs_a_reviewer_a_reason_and_a_new_status(store, people):
    with pytest.raises(NotAllowed):
        review(store, people["bella"], NO_GREETING, "opening.greeting", "confirm")
    with pytest.raises(ReviewError, match="say why"):
        review(store, people["rita"], NO_GREETING, "opening.greeting", "overturn", "  ", "pass")
    with pytest.raises(ReviewError, match="choose another status"):
        review(store, people["rita"], NO_GREETING, "opening.greeting", "overturn", "no", "fail")
    with pytest.raises(ReviewError, match="no checklist item"):
        review(store, people["rita"], NO_GREETING, "no.such.item", "confirm")
    assert verdict_history(store.db, NO_GREETING) == []


def test_an_agent_appeals_only_their_own_failed_findings(store, people):
    with pytest.raises(NotVisible):  # A003's call: not bella's to see, let alone appeal
        appeal(store, people["bella"], FORBIDDEN, "forbidden.phrases", "I never said that")
    with pytest.raises(ReviewError, match="only a failed finding"):
        appeal(store, people["bella"], NO_GREETING, "opening.prompt_answer", "it passed anyway")
    with pytest.raises(ReviewError, match="reason"):
        appeal(store, people["bella"], NO_GREETING, "opening.greeting", "")
    appeal(store, people["bella"], NO_GREETING, "opening.greeting", "I greeted: listen at 0:01")
    assert finding(store, NO_GREETING, "opening.greeting").appeal == "pending"
    with pytest.raises(ReviewError, match="already pending"):
        appeal(store, people["bella"], NO_GREETING, "opening.greeting", "again")
    with pytest.raises(ReviewError, match="appeal is pending"):
        review(store, people["rita"], NO_GREETING, "opening.greeting", "confirm")


def test_an_accepted_appeal_passes_the_finding_a_rejected_one_keeps_it_failed(store, people):
    critical_score = newest_audit(store.db, FORBIDDEN)["score"]
    assert critical_score == 0  # a critical item failed
    appeal(store, people["chen"], FORBIDDEN, "forbidden.phrases", "the customer said it, not me")
    with pytest.raises(ReviewError, match="why the appeal is rejected"):
        decide(store, people["rita"], FORBIDDEN, "forbidden.phrases", accept=False)
    decide(store, people["rita"], FORBIDDEN, "forbidden.phrases", accept=True, comment="roles were swapped there")
    accepted = finding(store, FORBIDDEN, "forbidden.phrases")
    assert (accepted.status, accepted.appeal, accepted.verdict["review"]) == ("pass", "accepted", "overturned")
    score, _ = reviewed_score(store, FORBIDDEN)
    assert score > 0  # the critical failure no longer zeroes the call
    with pytest.raises(ReviewError, match="was accepted already"):
        appeal(store, people["chen"], FORBIDDEN, "forbidden.phrases", "more")

    appeal(store, people["bella"], NO_GREETING, "opening.greeting", "I greeted")
    decide(store, people["rita"], NO_GREETING, "opening.greeting", accept=False, comment="no greeting at all")
    rejected = finding(store, NO_GREETING, "opening.greeting")
    assert (rejected.status, rejected.appeal, rejected.verdict["review"]) == ("fail", "rejected", "confirmed")
    actions = [e["action"] for e in verdict_history(store.db, FORBIDDEN)]
    assert actions == ["appeal", "accept"]


def test_verdicts_survive_a_forced_rerun_and_a_rescore_that_keeps_the_machine_verdict(store, people, tmp_path):
    review(store, people["rita"], NO_GREETING, "opening.greeting", "overturn", "greeted", "pass")
    reviewed = reviewed_score(store, NO_GREETING)[0]
    archive = tmp_path / "archive"
    archive.mkdir()
    (archive / NO_GREETING).write_bytes((SAMPLES / "transcripts" / NO_GREETING).read_bytes())
    store.close()
    # The same call stored again (--force): its row and findings are rewritten, the verdict is not.
    db = tmp_path / "store.sqlite"
    run = batch_cli(archive, db, "--ext", "json", "--force", "--metadata", str(SAMPLES / "calls.csv"))
    assert run.returncode == 0, run.stderr
    again = Store(db)
    assert refresh_scores(again) == 1  # the new row's reviewed score is worked out again ...
    assert reviewed_score(again, NO_GREETING)[0] == pytest.approx(reviewed)  # ... the same
    assert finding(again, NO_GREETING, "opening.greeting").status == "pass"
    # A rescore under another spec version (explain.confirm weighs more: the greeting's verdict is unchanged).
    spec = (SAMPLES.parent / "configs" / "spec" / "en.yaml").read_text(encoding="utf-8")
    changed = tmp_path / "en_v2.yaml"
    weighted = "  - id: explain.confirm\n    title: Check understanding after a long explanation\n    points: "
    assert weighted + "5\n" in spec
    changed.write_text(spec.replace(weighted + "5\n", weighted + "7\n"), encoding="utf-8")
    again.close()
    run = subprocess.run([*CALLQA, "rescore", "--spec", str(changed), "--db", str(db)], capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    rescored = Store(db)
    audit = newest_audit(rescored.db, NO_GREETING)
    verdict = finding(rescored, NO_GREETING, "opening.greeting")
    assert verdict.verdict["spec_version"] != audit["spec_version"]  # given under the first version ...
    assert verdict.status == "pass"  # ... and still standing: the machine still fails the greeting
    refresh_scores(rescored)
    assert reviewed_score(rescored, NO_GREETING)[1] == 1
    assert len(verdict_history(rescored.db, NO_GREETING)) == 1  # nothing lost, nothing added
    rescored.close()


def test_calibration_counts_false_fails_and_false_passes(store, people):
    review(store, people["rita"], NO_GREETING, "opening.greeting", "overturn", "greeted", "pass")  # false fail
    review(store, people["rita"], NO_GREETING, "opening.prompt_answer", "overturn", "slow", "fail")  # false pass
    review(store, people["rita"], FORBIDDEN, "forbidden.phrases", "confirm")  # machine right
    rows = {row.item: row for row in calibration(store.db)}
    assert (rows["opening.greeting"].false_fails, rows["opening.greeting"].false_fail_rate) == (1, 1.0)
    assert (rows["opening.prompt_answer"].false_passes, rows["opening.prompt_answer"].false_pass_rate) == (1, 1.0)
    assert (rows["forbidden.phrases"].overturned, rows["forbidden.phrases"].overturn_rate) == (0, 0.0)
    assert calibration(store.db, [FORBIDDEN])[0].item == "forbidden.phrases"


def test_sampling_picks_per_agent_and_never_twice(store, people):
    from audits.spec import load_spec

    specs = [load_spec(SAMPLES.parent / "configs" / "spec" / "en.yaml")]
    picks = pick_calls(store, {"random": 1, "lowest": 1}, specs, seed=3)
    agents = {p.agent_id for p in picks}
    assert agents == {"A001", "A002", "A003"}
    lowest = {p.agent_id: p.call_uid for p in picks if p.reason.startswith("lowest")}
    scores = dict(store.db.execute("SELECT call_uid, score FROM calls"))
    for agent, uid in lowest.items():
        mine = [u for u, a in store.db.execute("SELECT call_uid, agent_id FROM calls") if a == agent]
        randomly = {p.call_uid for p in picks if p.agent_id == agent and p.reason == "random"}
        others = [u for u in mine if u not in randomly]
        assert scores[uid] == min(scores[u] for u in others)
    assert queue(store, picks, "test") == len(picks) == len({p.call_uid for p in picks})
    assert not {p.call_uid for p in pick_calls(store, {"random": 5}, specs, seed=4)} & {p.call_uid for p in picks}
    with pytest.raises(ValueError, match="criteria"):
        pick_calls(store, {"everything": 1}, specs)


def test_narrow_margins_come_from_the_calls_own_spec(store):
    from audits.spec import load_spec

    spec = load_spec(SAMPLES.parent / "configs" / "spec" / "en.yaml")
    delays = dict(store.db.execute("SELECT c.call_uid, m.answer_delay FROM calls c JOIN measurements m"
                                   " ON m.call_key = c.key"))
    uid, delay = next(iter(delays.items()))
    limit = spec.item("opening.prompt_answer").options.limit
    # Make the spec's limit sit just above one call's answer delay: that call is the narrow one.
    narrow = spec.item("opening.prompt_answer").options.__class__(**{**vars(spec.item("opening.prompt_answer").options),
                                                                       "limit": delay * 1.05})
    object.__setattr__(spec.item("opening.prompt_answer"), "options", narrow)
    picks = pick_calls(store, {"narrow_margin": 1}, [spec])
    assert uid in {p.call_uid for p in picks} and limit != narrow.limit
    assert pick_calls(store, {"narrow_margin": 1}, []) == []  # no spec of that version: no margin known


def test_passwords_are_argon2_and_sessions_end(store):
    user = add_user(store, "lead", "admin", "correct horse")
    stored = store.db.execute("SELECT password_hash FROM users WHERE name = 'lead'").fetchone()[0]
    assert stored.startswith("$argon2id$") and PasswordHasher().verify(stored, "correct horse")
    assert authenticate(store, "lead", "wrong horse") is None and authenticate(store, "nobody", "x" * 9) is None
    token = open_session(store, user)
    assert token not in json.dumps([tuple(r) for r in store.db.execute("SELECT * FROM sessions")])  # its hash only
    assert session_user(store, token)[0].name == "lead"
    set_password(store, "lead", "battery staple")  # a new password ends the sessions
    assert session_user(store, token) is None
    token = open_session(store, authenticate(store, "lead", "battery staple"))
    close_session(store, token)
    assert session_user(store, token) is None
    token = open_session(store, user)
    store.db.execute("UPDATE sessions SET expires_at = '2000-01-01T00:00:00+00:00'")
    assert session_user(store, token) is None  # expired
    with pytest.raises(UserError, match="exists"):
        add_user(store, "lead", "admin", "whatever1")
    with pytest.raises(UserError, match="agent-id"):
        add_user(store, "agent", "agent", "whatever1")
    with pytest.raises(UserError, match="at least"):
        add_user(store, "short", "reviewer", "123")
    remove_user(store, "lead")
    assert authenticate(store, "lead", "battery staple") is None


def test_a_schema_4_store_migrates_and_keeps_its_calls(transcripts_store, tmp_path):
    db = tmp_path / "old.sqlite"
    shutil.copy(transcripts_store, db)
    with sqlite3.connect(db) as old:
        for name in ("users", "sessions", "verdicts", "verdict_events", "reviewed_scores", "review_queue",
                     "transcript_index_state", "transcript_index"):
            old.execute(f"DROP TABLE {name}")
        for column in ("decided", "verification"):  # what later migrations add (7)
            old.execute(f"ALTER TABLE findings DROP COLUMN {column}")
        old.execute("PRAGMA user_version = 4")
        calls = old.execute("SELECT count(*) FROM calls").fetchone()[0]
    migrated = Store(db)
    assert migrated.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert migrated.db.execute("SELECT count(*) FROM calls").fetchone()[0] == calls
    assert migrated.db.execute("SELECT count(*) FROM verdicts").fetchone()[0] == 0
    migrated.close()


def test_a_rescore_that_changes_the_machines_verdict_sets_the_human_one_aside(store, people, tmp_path):
    """The reviewer judged 'fail'; under a spec that no longer forbids a lone 'hey' the machine says
    pass: the verdict no longer stands (it answered another question), and stays in the history."""
    review(store, people["rita"], NO_GREETING, "forbidden.phrases", "overturn", "not to the customer", "pass")
    store.close()
    spec = (SAMPLES.parent / "configs" / "spec" / "en.yaml").read_text(encoding="utf-8")
    assert "    utterances: [hey, what, you wait]\n" in spec
    changed = tmp_path / "en_lenient.yaml"
    changed.write_text(spec.replace("    utterances: [hey, what, you wait]\n", "    utterances: [you wait]\n"),
                       encoding="utf-8")
    db = tmp_path / "store.sqlite"
    run = subprocess.run([*CALLQA, "rescore", "--spec", str(changed), "--db", str(db)], capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    rescored = Store(db)
    after = finding(rescored, NO_GREETING, "forbidden.phrases")
    assert after.machine_status == "pass" and after.verdict is None
    refresh_scores(rescored)
    assert reviewed_score(rescored, NO_GREETING)[1] == 0
    assert [e["action"] for e in verdict_history(rescored.db, NO_GREETING)] == ["overturn"]
    assert rescored.db.execute("SELECT count(*) FROM verdicts").fetchone()[0] == 1
    rescored.close()
