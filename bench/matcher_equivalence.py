"""Do the phrase matcher's results stay the same across a change? Save them before, check after.

Runs every phrase list of a spec through ``PhraseMatcher.find_each`` at three thresholds, whole-word
and not, over the turn texts of a results store plus texts with a spec phrase inserted after one to
two random edits (words swapped, run together, dropped or added, a letter changed): the cases near
the threshold where a faster matcher could go wrong. Seeded, so two runs see the same texts.

    .venv/bin/python bench/matcher_equivalence.py save --db out/callqa.sqlite
    (change audits/textmatch/)
    .venv/bin/python bench/matcher_equivalence.py check --db out/callqa.sqlite

Any store with English transcripts will do (``callqa batch`` on the sample calls or on
``bench/workload/calls`` writes one). About a minute for 2 million results on 2 cores.
"""

from __future__ import annotations

import argparse
import pickle
import random
import sqlite3
import sys
from pathlib import Path

import orjson
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from audits.textmatch import PhraseMatcher  # noqa: E402

EDITS = ("swap", "join", "letter", "insert", "drop")
FILLER_WORDS = ("the", "really", "um", "now", "you")


def phrase_lists(node) -> list[tuple[str, ...]]:
    """Every list of strings in a spec's items (phrases, groups, fillers of an item)."""
    if isinstance(node, list) and node and all(isinstance(x, str) for x in node):
        return [tuple(node)]
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    return [found for child in children for found in phrase_lists(child)]


def edited(phrase: str, rng: random.Random) -> str:
    words = phrase.split()
    edit = rng.choice(EDITS)
    if edit == "swap" and len(words) > 1:
        i = rng.randrange(len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
    elif edit == "join" and len(words) > 1:
        i = rng.randrange(len(words) - 1)
        words[i:i + 2] = [words[i] + words[i + 1]]
    elif edit == "letter":
        i = rng.randrange(len(words))
        j = rng.randrange(len(words[i]))
        words[i] = words[i][:j] + rng.choice("aeiourstn") + words[i][j + 1:]
    elif edit == "insert":
        words.insert(rng.randrange(len(words) + 1), rng.choice(FILLER_WORDS))
    elif edit == "drop" and len(words) > 1:
        del words[rng.randrange(len(words))]
    return " ".join(words)


def texts(db: Path, phrases: list[str], real: int, synthetic: int, seed: int) -> list[str]:
    transcripts = [orjson.loads(text) for (text,) in sqlite3.connect(db).execute("SELECT json FROM transcripts")]
    turns = [turn["text"] for transcript in transcripts if transcript["language"].startswith("en")
             for turn in transcript["turns"]]
    if not turns:
        raise SystemExit(f"{db}: no English transcripts")
    rng = random.Random(seed)
    made = []
    for _ in range(synthetic):
        words = rng.choice(turns).split()
        phrase = rng.choice(phrases)
        for _ in range(rng.randrange(1, 3)):
            phrase = edited(phrase, rng)
        at = rng.randrange(len(words) + 1)
        made.append(" ".join([*words[:at], phrase, *words[at:]]))
    return turns[:real] + made


def results(spec: Path, corpus: list[str]) -> list[tuple]:
    document = yaml.safe_load(spec.read_text(encoding="utf-8"))
    lists = sorted({found for found in phrase_lists(document["items"]) if not any("{" in p for p in found)})
    fillers = tuple(document.get("matching", {}).get("fillers", ()))
    language = document["language"]
    out = []
    for threshold in (0.7, 0.85, 0.95):
        for whole_word in (True, False):
            for phrases in lists:
                matcher = PhraseMatcher(phrases, language, threshold, fillers=fillers, whole_word=whole_word)
                out.extend(tuple(matcher.find_each(text)) for text in corpus)
    print(f"{len(lists)} phrase lists x 3 thresholds x 2 modes x {len(corpus)} texts = {len(out)} results, "
          f"{sum(map(bool, out))} with a match")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=["save", "check"])
    parser.add_argument("--db", type=Path, required=True, help="a callqa store with English transcripts")
    parser.add_argument("--spec", type=Path, default=REPO / "configs" / "spec" / "en.yaml")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "matcher_results.pickle")
    parser.add_argument("--real", type=int, default=3000, help="turn texts taken from the store")
    parser.add_argument("--synthetic", type=int, default=4000, help="texts with an edited phrase inserted")
    args = parser.parse_args()
    spec = yaml.safe_load(args.spec.read_text(encoding="utf-8"))
    phrases = sorted({p for found in phrase_lists(spec["items"]) for p in found if "{" not in p})
    found = results(args.spec, texts(args.db, phrases, args.real, args.synthetic, seed=7))
    if args.mode == "save":
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_bytes(pickle.dumps(found))
        print(f"saved to {args.out}")
        return
    saved = pickle.loads(args.out.read_bytes())
    differing = [i for i, (before, after) in enumerate(zip(saved, found)) if before != after]
    if len(saved) != len(found):
        raise SystemExit(f"{len(saved)} results saved, {len(found)} now: not the same run")
    print(f"{len(differing)} results differ")
    for i in differing[:10]:
        print(f"  {saved[i]}\n  -> {found[i]}")
    raise SystemExit(1 if differing else 0)


if __name__ == "__main__":
    main()
