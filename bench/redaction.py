"""Recall and precision of the redaction per category on the redaction set, and how often a
price, date, time or quantity is redacted (it never should be).

    python bench/redaction.py            # the table, Markdown
    python bench/redaction.py --json     # the figures as JSON

An entity counts as found when a detected entity of its category covers every truth piece
(a number split across turns: all its pieces); a detected entity is right when it overlaps a
truth entity of its category. Every category is switched on (``name`` included), with the set's
account pattern.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from audits.calldata.transcript import Transcript, Turn  # noqa: E402
from audits.pii import CATEGORIES, DetectOptions, detect  # noqa: E402

SET = HERE / "redaction_set.json"
NEAR_MISS = ("price", "date", "time", "quantity")


def transcript_of(item: dict) -> Transcript:
    turns = [Turn(role, 2.0 * n, 2.0 * n + 1.5, text) for n, (role, text) in enumerate(item["turns"])]
    return Transcript(call_id=item["id"], duration=2.0 * len(turns), language=item["language"], turns=turns)


def evaluate(data: dict | None = None) -> dict:
    data = data or json.loads(SET.read_text(encoding="utf-8"))
    options = DetectOptions(categories=CATEGORIES, account_patterns=tuple(data["account_patterns"]))
    stats = {c: {"truth": 0, "found": 0, "detected": 0, "right": 0} for c in CATEGORIES}
    near = {kind: {"utterances": 0, "redacted": 0} for kind in NEAR_MISS}
    misses: list[str] = []
    for item in data["items"]:
        found = detect(transcript_of(item), options, item.get("surname"))
        if item["kind"] == "near_miss":
            near[item["category"]]["utterances"] += 1
            if found:
                near[item["category"]]["redacted"] += 1
                misses.append(f"false: {item['id']}: {item['turns']} -> {[e.category for e in found]}")
            continue
        category = item["category"]
        stats[category]["truth"] += 1
        if any(e.category == category and all(_covered(t, e) for t in item["truth"]) for e in found):
            stats[category]["found"] += 1
        else:
            misses.append(f"missed: {item['id']}: {item['turns']} -> {[(e.category, e.pieces) for e in found]}")
        for entity in found:
            stats[entity.category]["detected"] += 1
            if any(t["category"] == entity.category and _overlap(t, entity) for t in item["truth"]):
                stats[entity.category]["right"] += 1
    return {"utterances": len(data["items"]), "categories": stats, "near_misses": near, "misses": misses}


def _covered(truth: dict, entity) -> bool:
    return any(p.turn == truth["turn"] and p.start <= truth["start"] and p.end >= truth["end"] for p in entity.pieces)


def _overlap(truth: dict, entity) -> bool:
    return any(p.turn == truth["turn"] and p.start < truth["end"] and truth["start"] < p.end for p in entity.pieces)


def table(result: dict) -> str:
    lines = [f"{result['utterances']} utterances", "",
             "| category | utterances | recall | precision |", "|---|---|---|---|"]
    for category, s in result["categories"].items():
        if not s["truth"]:
            continue
        recall = 100.0 * s["found"] / s["truth"]
        precision = 100.0 * s["right"] / s["detected"] if s["detected"] else float("nan")
        lines.append(f"| {category} | {s['truth']} | {recall:.1f} % | {precision:.1f} % |")
    lines += ["", "| near-miss | utterances | redacted |", "|---|---|---|"]
    for kind, s in result["near_misses"].items():
        lines.append(f"| {kind} | {s['utterances']} | {100.0 * s['redacted'] / max(s['utterances'], 1):.1f} % |")
    return "\n".join(lines)


if __name__ == "__main__":
    result = evaluate()
    if "--json" in sys.argv:
        print(json.dumps(result, ensure_ascii=False, indent=1))
    else:
        print(table(result))
        for line in result["misses"]:
            print(line)
