"""The README's pictures of the workstation: run after `make run` (the sample calls' store), from
the repository root; needs Chromium at /usr/bin/chromium, Playwright and a CJK font
(apt-get install fonts-wqy-microhei) for the Mandarin calls' names.

    .venv/bin/python docs/make_screenshots.py out/callqa.sqlite

It works on a copy of the store: a reviewer overturns a finding and an agent appeals another, so
the pictures show verdicts; the store itself is not touched."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from pipeline.review.users import add_user, authenticate  # noqa: E402
from pipeline.review.verdicts import appeal, review  # noqa: E402
from pipeline.store import Store  # noqa: E402

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def main() -> None:
    source = Path(sys.argv[1] if len(sys.argv) > 1 else "out/callqa.sqlite")
    work = Path(tempfile.mkdtemp())
    db = work / "shots.sqlite"
    shutil.copy(source, db)
    store = Store(db)
    add_user(store, "lead", "admin", "lead-password")
    add_user(store, "bella", "agent", "bella-password", agent_id="A002")
    lead, bella = authenticate(store, "lead", "lead-password"), authenticate(store, "bella", "bella-password")
    uid = store.db.execute("SELECT call_uid FROM calls WHERE call_id = 'en_03_forbidden_phrase'").fetchone()[0]
    review(store, lead, uid, "forbidden.phrases", "confirm", "both said to the customer")
    review(store, lead, uid, "courtesy.apology", "overturn", "the customer was upset ('I want my money back'): "
           "an apology was due", "fail")
    mine = store.db.execute("SELECT call_uid FROM calls WHERE call_id = 'en_05_ring4_no_apology'").fetchone()[0]
    appeal(store, bella, mine, "opening.wait_apology", "I apologised at 0:25: 'sorry to keep you waiting'")
    store.close()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-c", "from pipeline.cli import app; app()", "serve", "--db", str(db),
                               "--port", str(port), "--audio-root", str(REPO)], cwd=REPO)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/login", timeout=1)
                break
            except OSError:
                time.sleep(0.3)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            page.goto(base + "/login")
            page.fill("input[name=name]", "lead")
            page.fill("input[name=password]", "lead-password")
            page.click("button[type=submit]")
            page.wait_for_url("**/dashboard")
            pictures = {"dashboard": "/dashboard", "calls": "/calls?q=anything+else",
                        "call": f"/call/{uid}", "calibration": "/calibration"}
            for name, path in pictures.items():
                page.goto(base + path)
                target = REPO / "docs" / f"workstation-{name}.png"
                page.screenshot(path=str(target))
                image = Image.open(target).convert("RGB")
                image = image.resize((960, round(image.height * 960 / image.width)), Image.LANCZOS)
                image.quantize(colors=96, method=Image.Quantize.MEDIANCUT).save(target, optimize=True)
                print(target, target.stat().st_size // 1024, "KB")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
