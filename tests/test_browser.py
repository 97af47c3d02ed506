"""The workstation end to end in a real browser: Debian's Chromium driven by Playwright, against
`callqa serve` on a store the real batch wrote from real recordings (tiny.en on two sample calls).
Sign-in, the dashboard, a call page whose audio element loads and seeks to a finding's time (and
one leg alone, decoded on request, with range requests), a review, an appeal and its decision, then
the score on the page and in the Excel report.

Without Playwright or /usr/bin/chromium these tests are skipped, except under CI=true or
CALLQA_REQUIRE_BROWSER=1 (`make test`), where they fail. CALLQA_SCREENSHOTS=DIR saves the main
pages as PNG files there (the README's pictures)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import openpyxl
import pytest
from conftest import CALLQA, SAMPLES, batch_cli

CHROMIUM = Path("/usr/bin/chromium")
READY = importlib.util.find_spec("playwright") is not None and CHROMIUM.is_file()
REQUIRED = os.environ.get("CI", "").lower() == "true" or bool(os.environ.get("CALLQA_REQUIRE_BROWSER"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required"]
SHOTS = os.environ.get("CALLQA_SCREENSHOTS")

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not READY and not REQUIRED,
    reason="needs Playwright (pip install playwright) and Chromium at /usr/bin/chromium (apt-get install chromium)")]

CALL, OTHER = "en_02_no_greeting.flac", "en_03_forbidden_phrase.ogg"  # A002 (Bella), A003 (Chen)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _user(db: Path, *args: str, password: str) -> None:
    run = subprocess.run([*CALLQA, "user", "add", *args, "--password-stdin", "--db", str(db)], input=password + "\n",
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`callqa serve` on a store of two real recordings audited by the real batch."""
    root = tmp_path_factory.mktemp("browser")
    archive = root / "recordings"
    archive.mkdir()
    for name in (CALL, OTHER):
        shutil.copy(SAMPLES / name, archive)
    db = root / "qa.sqlite"
    run = batch_cli(archive, db, "--metadata", str(SAMPLES / "calls.csv"))
    assert run.returncode == 0, run.stderr
    _user(db, "lead", "--role", "reviewer", password="lead-password")
    _user(db, "bella", "--role", "agent", "--agent-id", "A002", password="bella-password")
    port = _free_port()
    process = subprocess.Popen([*CALLQA, "serve", "--db", str(db), "--port", str(port)], stderr=subprocess.PIPE,
                               text=True)
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(base + "/login", timeout=1)
            break
        except OSError:
            if process.poll() is not None:
                pytest.fail(f"callqa serve ended: {process.stderr.read()}")
            time.sleep(0.5)
    yield base, db, root
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    if not READY:
        pytest.fail("Playwright or /usr/bin/chromium is missing: make browser && pip install playwright")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def sign_in(browser, base: str, name: str, password: str):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(base + "/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/dashboard")
    return page


def shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"))


def finding(page, item: str):
    return page.locator(f'article[id="f-{item}"]')


def test_review_appeal_and_decision_in_the_browser_reach_the_score_and_the_report(server, browser):
    base, db, root = server
    page = sign_in(browser, base, "lead", "lead-password")
    assert page.locator("svg.chart").count() == 2 and page.locator("#mean-score").inner_text() != "–"
    shot(page, "dashboard")
    page.click("a[href='/calls']")
    page.wait_for_selector("table.calls")
    assert page.locator("table.calls tbody tr").count() == 2
    shot(page, "calls")
    page.click("text=en_02_no_greeting")
    page.wait_for_selector("#player")

    # The audio element loads the recording and seeks to a finding's evidence.
    page.wait_for_function("() => document.getElementById('player').readyState >= 1", timeout=30000)
    assert page.evaluate("document.getElementById('player').duration") > 5
    evidence = finding(page, "forbidden.phrases").locator("button.seek").first
    start = float(evidence.get_attribute("data-start"))
    assert start > 0
    evidence.click()
    page.wait_for_function(f"() => Math.abs(document.getElementById('player').currentTime - {start}) < 1.0",
                           timeout=15000)
    shot(page, "call")
    # One leg alone: decoded on request to a WAV, served with range requests.
    page.click("button.leg:has-text('Agent only')")
    page.wait_for_function("() => document.getElementById('player').src.includes('/audio/agent/')"
                           " && document.getElementById('player').readyState >= 1", timeout=60000)
    ranged = page.request.get(base + f"/audio/agent/{CALL}", headers={"Range": "bytes=0-1023"})
    assert ranged.status == 206 and ranged.headers["content-range"].startswith("bytes 0-1023/")
    assert len(ranged.body()) == 1024 and ranged.body()[:4] == b"RIFF"

    # A reviewer overturns the greeting.
    machine = page.locator("#machine-score").inner_text()
    form = finding(page, "opening.greeting").locator("form.act")
    form.locator("select[name=decision]").select_option("overturn")
    form.locator("select[name=status]").select_option("pass")
    form.locator("input[name=comment]").fill("The agent did greet; the recording starts late")
    form.locator("button[type=submit]").click()
    page.wait_for_selector('article[id="f-opening.greeting"].pass')
    assert "overturned by lead" in finding(page, "opening.greeting").inner_text()
    page.click("button:has-text('Sign out')")
    page.close()

    # The agent appeals the critical failure.
    page = sign_in(browser, base, "bella", "bella-password")
    page.goto(base + f"/call/{CALL}")
    form = finding(page, "forbidden.phrases").locator("form.act")
    form.locator("input[name=reason]").fill("'Hey' was my greeting to a colleague, not to the customer")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("text=appeal pending")
    assert page.goto(base + f"/call/{OTHER}").status == 404  # not hers
    page.close()

    # The reviewer accepts the appeal: the call is scored on both human verdicts.
    page = sign_in(browser, base, "lead", "lead-password")
    page.click("a:has-text('Appeals')")
    page.click("text=en_02_no_greeting")
    form = finding(page, "forbidden.phrases").locator("form.act")
    form.locator("select[name=decision]").select_option("accept")
    form.locator("input[name=comment]").fill("agreed: not addressed to the customer")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("text=appeal accepted")
    score = page.locator("#score").inner_text()
    assert machine == "0" and float(score) > 0
    assert page.locator("#history tbody tr").count() == 3
    shot(page, "call-reviewed")
    page.goto(base + "/calibration")
    shot(page, "calibration")
    assert "opening.greeting" in page.locator("#calibration").inner_text()
    page.close()

    # The report shows both scores and the reviewed status.
    out = root / "reports"
    run = subprocess.run([*CALLQA, "report", "--db", str(db), "--out", str(out), "--format", "xlsx"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    book = openpyxl.load_workbook(next(out.glob("callqa_*.xlsx")), read_only=True)
    rows = list(book["Calls"].iter_rows(values_only=True))
    header, reviewed = rows[0], next(r for r in rows if r[rows[0].index("Call id")] == "en_02_no_greeting")
    assert reviewed[header.index("Score")] == pytest.approx(float(score), abs=0.5)
    assert reviewed[header.index("Machine score")] == 0
    assert reviewed[header.index("Reviewed")] == "yes (2 items)"
    calibration = {r[0]: r for r in list(book["Calibration"].iter_rows(values_only=True))[1:]}
    assert calibration["opening.greeting"][6] == 1 and calibration["forbidden.phrases"][6] == 1  # false fails
    summary = {r[0]: r[1] for r in book["Summary"].iter_rows(values_only=True)}
    assert summary["Calls reviewed"] == 1


def test_browser_tests_fail_rather_than_skip_when_required():
    """Under `make test` / CI a missing browser is a failure: this guards the guard."""
    if REQUIRED:
        assert READY, "CI=true or CALLQA_REQUIRE_BROWSER set, but Playwright or /usr/bin/chromium is missing"
    assert sys.version_info >= (3, 11)
