"""Make a results store of N calls (default 100,000) for the review workstation's benchmark
(``bench/web_bench.py``): the sample calls' reference transcripts (English and Mandarin) audited
once with the bundled specs, then stored again and again as calls of 200 agents in 20 teams over
90 days, each with its own transcript (one customer turn carries a distinct order number, so a
search finds a few calls, not all), and 1 % of them reviewed through the review API.

    PYTHONPATH=. python bench/web_store.py /tmp/web100k.sqlite --calls 100000
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from audits.calldata.transcript import Transcript  # noqa: E402
from audits.spec import load_spec  # noqa: E402
from pipeline.call import CallProcessor  # noqa: E402
from pipeline.config import load_settings  # noqa: E402
from pipeline.review.users import add_user, authenticate  # noqa: E402
from pipeline.review.verdicts import review  # noqa: E402
from pipeline.store import CallInfo, CallRecord, Store, call_key  # noqa: E402
from pipeline.web.search import index_transcripts  # noqa: E402

TRANSCRIPTS = HERE.parent / "sample_audio" / "transcripts"
AGENTS, TEAMS, DAYS = 200, 20, 90
ASR_KEY = "bench"


def templates() -> list[tuple[dict, CallRecord, str, str]]:
    """(transcript document, its audit, spec name, spec version) per reference transcript."""
    settings = load_settings()
    processors = {lang: CallProcessor(settings, load_spec(name)) for lang, name in (("en", "en"), ("zh", "zh-CN"))}
    made = []
    for path in sorted(TRANSCRIPTS.glob("*.json")):
        transcript = Transcript.load(path)
        processor = processors[transcript.language[:2]]
        call = processor.audit_transcript(transcript)
        made.append((json.loads(path.read_text(encoding="utf-8")), CallRecord.of(call),
                     processor.spec.name, processor.spec.version))
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", type=Path)
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--reviewed", type=float, default=0.01, help="share of calls given a review")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.db.exists():
        sys.exit(f"{args.db} exists: give a new path")
    rng = random.Random(args.seed)
    made = templates()
    # Each agent has a skill: better agents draw the templates that fail less more often.
    by_score = sorted(range(len(made)), key=lambda i: -(made[i][1].score or 0))
    skill = {a: rng.random() for a in range(AGENTS)}
    store = Store(args.db)
    start = datetime(2026, 9, 1, 8, 0, tzinfo=timezone(timedelta(hours=8)))
    began = time.perf_counter()
    uids = []
    for n in range(args.calls):
        agent = rng.randrange(AGENTS)
        pick = by_score[min(len(made) - 1, int(rng.random() ** (0.5 + 2 * skill[agent]) * len(made)))]
        document, record, spec_name, spec_version = made[pick]
        when = start + timedelta(days=rng.randrange(DAYS), seconds=rng.randrange(10 * 3600))
        doc = dict(document, call_id=f"call{n:06d}", turns=[dict(t) for t in document["turns"]])
        customer = next((t for t in doc["turns"] if t["role"] == "customer"), doc["turns"][0])
        customer["text"] += f" order {rng.randrange(10**6):06d}"
        text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
        sha = hashlib.sha256(text.encode()).hexdigest()
        uid = f"T{agent % TEAMS:02d}/A{agent:03d}/{when:%Y-%m-%d}/call{n:06d}.wav"
        info = CallInfo(call_key(sha, spec_version, ASR_KEY, uid), uid, f"/archive/{uid}", doc["call_id"], sha,
                        spec_name, spec_version, ASR_KEY, f"A{agent:03d}", f"Agent {agent:03d}",
                        f"T{agent % TEAMS:02d}",
                        when.isoformat())
        store.save_call(None, info, CallRecord(text, record.call_columns, record.measurements, record.findings))
        uids.append(uid)
        if n % 10_000 == 9_999:
            print(f"{n + 1} calls stored, {time.perf_counter() - began:.0f} s", flush=True)
    add_user(store, "bench-reviewer", "reviewer", "bench-password")
    reviewer = authenticate(store, "bench-reviewer", "bench-password")
    for uid in rng.sample(uids, int(args.calls * args.reviewed)):
        review(store, reviewer, uid, "opening.greeting", "confirm")
    print(f"reviewed {int(args.calls * args.reviewed)} calls; indexing transcripts for search", flush=True)
    index_transcripts(store)
    store.db.execute("ANALYZE")
    store.close()
    print(f"{args.db}: {args.calls} calls in {time.perf_counter() - began:.0f} s, "
          f"{args.db.stat().st_size / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
