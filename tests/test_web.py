"""The workstation over HTTP (Starlette's TestClient, the real app on a real store the batch
wrote): sign-in, CSRF, an agent kept to their own calls by URL and API, hostile transcript text
and names escaped on every page, search, the review forms and the dashboard that follows them."""

from __future__ import annotations

import re
import shutil
from urllib.parse import quote

import pytest
from conftest import HOSTILE
from starlette.testclient import TestClient

from pipeline.review.users import add_user
from pipeline.store import Store
from pipeline.web.app import create_app

OWN, OTHER = "en_02_no_greeting.json", "en_03_forbidden_phrase.json"  # A002's call, A003's call


def _users(db):
    store = Store(db)
    add_user(store, "rita", "reviewer", "reviewer-pass")
    add_user(store, "bella", "agent", "agent-pass-2", agent_id="A002")
    store.close()


@pytest.fixture
def app_db(transcripts_store, tmp_path):
    db = tmp_path / "web.sqlite"
    shutil.copy(transcripts_store, db)
    _users(db)
    return db


def signed_in(db, name, password) -> tuple[TestClient, str]:
    client = TestClient(create_app(db, cache=db.parent / "cache"), follow_redirects=False)
    client.__enter__()
    form = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    answer = client.post("/login", data={"csrf": token, "name": name, "password": password, "next": "/calls"})
    assert answer.status_code == 303 and answer.headers["location"] == "/calls", answer.text
    page = client.get("/dashboard")
    return client, re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


@pytest.fixture
def reviewer(app_db):
    client, csrf = signed_in(app_db, "rita", "reviewer-pass")
    yield client, csrf
    client.__exit__(None, None, None)


@pytest.fixture
def agent(app_db):
    client, csrf = signed_in(app_db, "bella", "agent-pass-2")
    yield client, csrf
    client.__exit__(None, None, None)


def test_every_page_and_api_needs_a_session(app_db):
    with TestClient(create_app(app_db), follow_redirects=False) as client:
        for path in ("/dashboard", "/calls", f"/call/{OWN}", f"/audio/both/{OWN}", "/calibration"):
            answer = client.get(path)
            assert answer.status_code == 303 and answer.headers["location"].startswith("/login"), path
        assert client.get("/api/calls").status_code == 401
        assert client.get(f"/api/call/{OWN}").status_code == 401
        assert client.post(f"/api/act/review/opening.greeting/{OWN}", json={"decision": "confirm"}).status_code == 401
        login = client.get("/login")
        assert "default-src 'none'" in login.headers["content-security-policy"]
        assert login.headers["x-frame-options"] == "DENY"


def test_a_wrong_password_or_a_forged_login_form_signs_nobody_in(app_db):
    with TestClient(create_app(app_db), follow_redirects=False) as client:
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text).group(1)
        wrong = client.post("/login", data={"csrf": token, "name": "rita", "password": "nope-nope"})
        assert wrong.status_code == 401 and "callqa_session" not in client.cookies
        forged = client.post("/login", data={"csrf": "made-up", "name": "rita", "password": "reviewer-pass"})
        assert forged.status_code == 403 and "callqa_session" not in client.cookies
        offsite = client.post("/login", data={"csrf": token, "name": "rita", "password": "reviewer-pass",
                                              "next": "//evil.example/"})
        assert offsite.headers["location"] == "/dashboard"


def test_an_agent_cannot_read_another_agents_call_by_url_or_api(agent):
    client, csrf = agent
    assert client.get(f"/call/{quote(OWN)}").status_code == 200
    for path in (f"/call/{quote(OTHER)}", f"/api/call/{quote(OTHER)}", f"/audio/both/{quote(OTHER)}",
                 f"/audio/agent/{quote(OTHER)}", "/call/no-such-call"):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert "Chen" not in answer.text and "impossible" not in answer.text.lower()
    # The list, the API and the dashboard ignore a request for someone else's calls.
    listed = client.get("/api/calls?agent=A003&team=T2").json()
    assert {c["agent_id"] for c in listed["calls"]} == {"A002"} and listed["total"] == 2
    assert "A003" not in client.get("/calls?agent=A003").text
    assert "en_03" not in client.get("/dashboard?agent=A003").text
    assert client.get("/calibration").status_code == 403
    # Acting on another agent's call: refused like a call that does not exist.
    answer = client.post(f"/api/act/appeal/forbidden.phrases/{quote(OTHER)}", json={"reason": "x"},
                         headers={"x-csrf-token": csrf})
    assert answer.status_code == 404
    answer = client.post(f"/api/act/review/opening.greeting/{quote(OWN)}", json={"decision": "confirm"},
                         headers={"x-csrf-token": csrf})
    assert answer.status_code == 403  # an agent does not review


def test_posts_without_the_sessions_csrf_token_are_refused(reviewer):
    client, csrf = reviewer
    form = {"item": "opening.greeting", "decision": "confirm"}
    assert client.post(f"/act/review/{quote(OWN)}", data=form).status_code == 403
    assert client.post(f"/act/review/{quote(OWN)}", data={**form, "csrf": "x" + csrf}).status_code == 403
    assert client.post(f"/api/act/review/opening.greeting/{quote(OWN)}", json={"decision": "confirm"},
                       headers={"x-csrf-token": "forged"}).status_code == 403
    assert client.get(f"/api/call/{quote(OWN)}").json()["history"] == []  # nothing was recorded
    done = client.post(f"/act/review/{quote(OWN)}", data={**form, "csrf": csrf})
    assert done.status_code == 303
    assert [e["action"] for e in client.get(f"/api/call/{quote(OWN)}").json()["history"]] == ["confirm"]


def test_a_review_changes_the_score_the_list_and_the_dashboard(reviewer):
    client, csrf = reviewer
    before = client.get(f"/api/call/{quote(OWN)}").json()
    assert before["score"] == before["machine_score"] == 0
    dashboard = client.get("/dashboard").text
    mean_before = re.search(r'id="mean-score">([^<]+)<', dashboard).group(1)
    for item in ("opening.greeting", "forbidden.phrases"):
        answer = client.post(f"/act/review/{quote(OWN)}", data={"csrf": csrf, "item": item, "decision": "overturn",
                                                                "status": "pass", "comment": "heard it"})
        assert answer.status_code == 303 and "error" not in answer.headers["location"]
    after = client.get(f"/api/call/{quote(OWN)}").json()
    assert after["machine_score"] == 0 and after["score"] == 100 and after["reviewed_items"] == 2
    page = client.get(f"/call/{quote(OWN)}").text
    assert re.search(r'id="score">100<', page) and re.search(r'id="machine-score">0<', page)
    reviewed = client.get("/api/calls?reviewed=yes").json()["calls"]
    assert [c["call_uid"] for c in reviewed] == [OWN] and reviewed[0]["score"] == 100
    assert client.get("/api/calls?failed_item=opening.greeting&reviewed=yes").json()["total"] == 0
    mean_after = re.search(r'id="mean-score">([^<]+)<', client.get("/dashboard").text).group(1)
    assert float(mean_after) > float(mean_before)
    # A refused action comes back as a message on the call page, nothing recorded.
    refused = client.post(f"/act/review/{quote(OWN)}", data={"csrf": csrf, "item": "opening.greeting",
                                                             "decision": "overturn", "status": "fail", "comment": ""})
    assert "error=" in refused.headers["location"]
    assert len(client.get(f"/api/call/{quote(OWN)}").json()["history"]) == 2


def test_search_finds_words_in_transcripts(reviewer):
    client, _ = reviewer
    found = client.get("/api/calls?q=" + quote("That's impossible")).json()
    assert [c["call_uid"] for c in found["calls"]] == [OTHER]
    assert "impossible" in found["calls"][0]["snippet"].lower()
    assert client.get("/api/calls?q=zebra+crossing").json()["total"] == 0
    assert client.get("/api/calls?q=" + quote('" OR * NEAR(')).status_code == 200  # never FTS syntax
    page = client.get("/calls?q=impossible").text
    assert "<mark>impossible</mark>" in page.lower()


def test_hostile_text_and_names_are_escaped_everywhere(hostile_store, tmp_path):
    db = tmp_path / "hostile.sqlite"
    shutil.copy(hostile_store, db)
    _users(db)
    store = Store(db)
    add_user(store, "lead", "admin", "admin-pass")
    uid = store.db.execute("SELECT call_uid FROM calls").fetchone()[0]
    store.close()
    client, csrf = signed_in(db, "lead", "admin-pass")
    try:
        client.post(f"/act/review/{quote(uid)}", data={"csrf": csrf, "item": "opening.greeting", "decision": "overturn",
                                                       "status": "fail", "comment": HOSTILE})
        pages = [client.get(path).text for path in
                 ("/dashboard", "/calls", "/calls?q=script", f"/call/{quote(uid)}", "/calibration")]
        for page in pages:
            assert "<script>alert" not in page and "<img src=x" not in page and "<b>1</b>" not in page
        call = pages[3]
        assert call.count("&lt;script&gt;alert(&#34;xss&#34;)&lt;/script&gt;") >= 5  # turns, name, comment, ...
        assert "&lt;b&gt;1&lt;/b&gt;" in pages[0]  # the team name in the filter menu
        assert client.get(f"/api/call/{quote(uid)}").headers["content-type"] == "application/json"
    finally:
        client.__exit__(None, None, None)


def test_the_dashboard_figures_are_the_reports_before_and_after_a_review(app_db):
    """The dashboards' per-day rollup and the Excel report read the same store two ways: the same
    calls, mean score and pass rates, with a reviewed call counted on its human verdicts."""
    from pipeline.reports import Scope, build_report
    from pipeline.review.users import authenticate
    from pipeline.review.verdicts import review
    from pipeline.web.queries import CallQuery
    from pipeline.web.rollup import Rollup

    store = Store(app_db)
    rollup = Rollup()
    for step in range(2):
        if step:
            rita = authenticate(store, "rita", "reviewer-pass")
            review(store, rita, OWN, "forbidden.phrases", "overturn", "said to a colleague", "pass")
            rollup.touched(store.db.execute("SELECT call_time FROM calls WHERE call_uid = ?", (OWN,)).fetchone()[0])
        board = rollup.dashboard(store.db, CallQuery())
        report = build_report(store, Scope(None, None), 3)
        summary = {name: value for name, value, _ in report.summary}
        items = next(t for t in report.tables if t.sheet == "Items").frame.set_index("Item")
        assert board.calls == summary["Calls"] == 6
        assert board.mean_score == pytest.approx(summary["Mean score"])
        assert board.reviewed == summary["Calls reviewed"] == step
        for item, _, passes, fails, _ in board.items:
            assert (passes, fails) == (items.loc[item, "Passes"], items.loc[item, "Fails"]), item
    store.close()
