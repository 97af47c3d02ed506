"""Full-text search over the stored transcripts (SQLite FTS5, table ``transcript_index``).

The index is the web server's: it adds the transcripts stored since it last looked (by rowid)
before each search, so the batch's write path is unchanged. Each transcript is indexed as the text
of its turns; Chinese, Japanese and Korean characters are indexed one by one (the unicode61
tokenizer would take a whole run of Han characters for one word), so ``您好`` is found as the
phrase ``您 好`` inside any sentence, and English words as words. A query is never passed to FTS5
as syntax: every word becomes a quoted term (all must match), a run of CJK characters a quoted
phrase."""

from __future__ import annotations

import re

from pipeline.store import Store

# Han, Hiragana/Katakana, Hangul, CJK punctuation-free ranges.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_CJK_CHAR = re.compile(f"([{_CJK}])")
_TERMS = re.compile(f"[{_CJK}]+|[^\\W_]+(?:['’][^\\W_]+)*", re.UNICODE)
_SPACED = re.compile(f"(?<=[{_CJK}]) (?=[{_CJK}])")
MAX_TERMS = 16


def spaced(text: str) -> str:
    """Text as it is indexed: each CJK character a word of its own."""
    return _CJK_CHAR.sub(r" \1 ", text)


def unspaced(text: str) -> str:
    """An index snippet back as it was written (the spaces put between CJK characters removed)."""
    return _SPACED.sub("", re.sub(f"(?<=[{_CJK}]) +| +(?=[{_CJK}])", " ", text))


def fts_query(text: str) -> str | None:
    """The FTS5 query for what a user typed: every word a quoted term, all required; None when
    nothing searchable is left."""
    terms = []
    for term in _TERMS.findall(text)[:MAX_TERMS]:
        words = spaced(term).split()
        terms.append('"' + " ".join(w.replace('"', '""') for w in words) + '"')
    return " AND ".join(terms) or None


def index_transcripts(store: Store, batch: int = 5000) -> int:
    """Index the transcripts stored since the last call; returns how many were added."""
    db = store.db
    row = db.execute("SELECT last_rowid FROM transcript_index_state WHERE id = 1").fetchone()
    last = row[0] if row else 0
    newest = db.execute("SELECT max(rowid) FROM transcripts").fetchone()[0] or 0
    added = 0
    while newest > last:
        rows = db.execute(
            "SELECT t.rowid, group_concat(json_extract(turn.value, '$.text'), char(10))"
            " FROM transcripts t, json_each(t.json, '$.turns') turn"
            " WHERE t.rowid > ? AND t.rowid <= ? GROUP BY t.rowid", (last, last + batch)).fetchall()
        with store.transaction():
            db.executemany("INSERT OR REPLACE INTO transcript_index (rowid, text) VALUES (?, ?)",
                           [(rowid, spaced(text or "")) for rowid, text in rows])
            last = min(newest, last + batch)
            db.execute("INSERT OR REPLACE INTO transcript_index_state (id, last_rowid) VALUES (1, ?)", (last,))
        added += len(rows)
    return added
