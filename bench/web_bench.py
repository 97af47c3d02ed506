"""Response times of the review workstation on a large store: the dashboard (all teams, a team,
an agent), the call list with a filter, a transcript search and a call page, each timed over HTTP
against `callqa serve` (uvicorn, one process) as a browser would ask for it; p50 / p95 / max per
page. Make the store first with bench/web_store.py.

    PYTHONPATH=. python bench/web_bench.py /tmp/web100k.sqlite --requests 60
"""

from __future__ import annotations

import argparse
import random
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import CALLQA, env  # noqa: E402


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", type=Path)
    parser.add_argument("--requests", type=int, default=60, help="requests per page kind")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with sqlite3.connect(args.db) as db:
        calls = db.execute("SELECT count(*) FROM calls").fetchone()[0]
        uids = [row[0] for row in db.execute("SELECT call_uid FROM calls ORDER BY random() LIMIT ?", (args.requests,))]
        teams = [row[0] for row in db.execute("SELECT DISTINCT team FROM calls")]
        agents = [row[0] for row in db.execute("SELECT DISTINCT agent_id FROM calls")]
        days = [row[0] for row in db.execute("SELECT DISTINCT substr(call_time, 1, 10) FROM calls")]
        numbers = [re.search(r"order (\d{6})", row[0]).group(1) for row in db.execute(
            "SELECT json FROM transcripts ORDER BY random() LIMIT 20")]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.perf_counter()
    server = subprocess.Popen([*CALLQA, "serve", "--db", str(args.db), "--port", str(port)], env=env(),
                              stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    client = httpx.Client(base_url=base, timeout=120)
    try:
        while True:
            try:
                form = client.get("/login")
                break
            except httpx.TransportError:
                if server.poll() is not None:
                    sys.exit(server.stderr.read())
                time.sleep(0.2)
        ready = time.perf_counter() - started
        token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
        client.post("/login", data={"csrf": token, "name": "bench-reviewer", "password": "bench-password"})
        csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/dashboard").text).group(1)
        filters = [f"team={teams[0]}", "failed_item=closing.farewell", "max_score=60", f"from={days[5]}&to={days[5]}",
                   "reviewed=yes", f"agent={agents[3]}&sort=score", "failed_item=opening.greeting&team=" + teams[1],
                   "needs_review=1"]
        searches = [f"order {numbers[0]}", "thank you", "您好", "impossible", "anything else", f"order {numbers[1]}"]
        kinds = {
            "dashboard, all teams": lambda n: "/dashboard",
            "dashboard, one team": lambda n: f"/dashboard?team={rng.choice(teams)}",
            "dashboard, one agent": lambda n: f"/dashboard?agent={rng.choice(agents)}",
            "call list with a filter": lambda n: "/calls?" + filters[n % len(filters)],
            "transcript search": lambda n: "/calls?q=" + quote(searches[n % len(searches)]),
            "call page": lambda n: "/call/" + quote(uids[n % len(uids)]),
        }
        print(f"store {args.db}: {calls} calls; server ready in {ready:.1f} s (dashboards' rollup and search index "
              f"built at start)")
        print(f"{'page':28} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
        for name, path in kinds.items():
            times = []
            for n in range(args.requests):
                url = path(n)
                began = time.perf_counter()
                answer = client.get(url)
                times.append(1000 * (time.perf_counter() - began))
                assert answer.status_code == 200, (url, answer.status_code)
            print(f"{name:28} {len(times):>4} {statistics.median(times):>8.0f} {percentile(times, 0.95):>8.0f} "
                  f"{max(times):>8.0f}")
            if name in ("call list with a filter", "transcript search"):
                by_url: dict[str, list[float]] = {}
                for n, took in enumerate(times):
                    by_url.setdefault(path(n), []).append(took)
                for url, took in by_url.items():
                    print(f"    {url[:60]:60} median {statistics.median(took):>5.0f} ms, max {max(took):>5.0f} ms")
        # After a review: the dashboard recomputes the changed day (and no other).
        after = []
        for uid in uids[:10]:
            client.post(f"/api/act/review/opening.prompt_answer/{quote(uid)}", json={"decision": "confirm"},
                        headers={"x-csrf-token": csrf})
            began = time.perf_counter()
            assert client.get("/dashboard").status_code == 200
            after.append(1000 * (time.perf_counter() - began))
        print(f"{'dashboard after a review':28} {len(after):>4} {statistics.median(after):>8.0f} "
              f"{percentile(after, 0.95):>8.0f} {max(after):>8.0f}")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
