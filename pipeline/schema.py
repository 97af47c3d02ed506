"""The results store's schema: each migration takes a store from one version to the next
(``PRAGMA user_version``); ``pipeline.store`` applies them when it opens a store."""

# Each entry migrates the schema from version i to i + 1 (PRAGMA user_version).
MIGRATIONS = [
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        archive TEXT,
        spec_name TEXT,
        spec_version TEXT,
        asr_key TEXT,
        status TEXT NOT NULL DEFAULT 'running',
        calls_seen INTEGER DEFAULT 0,
        calls_done INTEGER DEFAULT 0,
        calls_skipped INTEGER DEFAULT 0,
        calls_failed INTEGER DEFAULT 0
    );
    CREATE TABLE transcripts (
        audio_sha256 TEXT NOT NULL,
        asr_key TEXT NOT NULL,
        json TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (audio_sha256, asr_key)
    );
    CREATE TABLE calls (
        key TEXT PRIMARY KEY,
        status TEXT NOT NULL CHECK (status IN ('done', 'failed')),
        error TEXT,
        run_id INTEGER REFERENCES runs (id),
        path TEXT NOT NULL,
        call_id TEXT NOT NULL,
        audio_sha256 TEXT,
        spec_name TEXT,
        spec_version TEXT,
        asr_key TEXT,
        agent_id TEXT,
        agent_name TEXT,
        team TEXT,
        call_time TEXT,
        metadata TEXT,
        duration REAL,
        language TEXT,
        score REAL,
        critical_failed TEXT,
        role_confidence REAL,
        needs_review INTEGER,
        audited_at TEXT NOT NULL
    );
    CREATE INDEX calls_agent_time ON calls (agent_id, call_time);
    CREATE TABLE measurements (
        call_key TEXT PRIMARY KEY REFERENCES calls (key) ON DELETE CASCADE,
        json TEXT NOT NULL,
        ring_seconds REAL,
        answer_delay REAL,
        talk_agent REAL,
        talk_customer REAL,
        non_talk REAL,
        silences INTEGER,
        longest_silence REAL,
        interruptions INTEGER,
        interruption_seconds REAL,
        holds INTEGER,
        hold_seconds REAL,
        agent_speech_rate REAL,
        speech_rate_unit TEXT
    );
    CREATE TABLE findings (
        call_key TEXT NOT NULL REFERENCES calls (key) ON DELETE CASCADE,
        item TEXT NOT NULL,
        title TEXT,
        status TEXT NOT NULL CHECK (status IN ('pass', 'fail', 'na')),
        reason TEXT,
        evidence TEXT NOT NULL,
        points REAL,
        critical INTEGER,
        PRIMARY KEY (call_key, item)
    );
    """,
    # 2: the call's identity (its path under the archive root) joins the key, so byte-identical
    # files in two folders are two calls; rows stored before get the path their batch saw.
    """
    ALTER TABLE calls ADD COLUMN call_uid TEXT;
    ALTER TABLE calls ADD COLUMN duplicate_of TEXT;
    UPDATE calls SET call_uid = coalesce(
        (SELECT substr(calls.path, length(r.archive) + 2) FROM runs r
         WHERE substr(calls.path, 1, length(r.archive) + 1) = r.archive || '/' ORDER BY r.id DESC LIMIT 1),
        calls.path);
    PRAGMA defer_foreign_keys = ON;
    UPDATE measurements SET call_key = call_key || ':' || (SELECT call_uid FROM calls WHERE key = call_key);
    UPDATE findings SET call_key = call_key || ':' || (SELECT call_uid FROM calls WHERE key = call_key);
    UPDATE calls SET key = key || ':' || call_uid;
    CREATE INDEX calls_uid ON calls (call_uid, audited_at);
    CREATE INDEX calls_content ON calls (audio_sha256)
    """,
    # 3: a call in which nobody spoke is done (not redone by a rerun) but has no score.
    """
    ALTER TABLE calls ADD COLUMN no_speech INTEGER NOT NULL DEFAULT 0;
    """,
    # 4: a measured item's figure (audits.findings.Figure: the readings its check judged over the
    # limit), which the reports show instead of re-deciding dead air and interruptions. Stored
    # dead-air and interruption findings get theirs from what they recorded: a failure, or a pass
    # within the tolerated count, has exactly the readings over the limit as evidence.
    """
    ALTER TABLE findings ADD COLUMN figure TEXT;
    UPDATE findings SET figure = CASE WHEN status = 'fail' OR reason LIKE '%tolerated'
        THEN json_object('count', json_array_length(evidence), 'total', coalesce((
            SELECT round(sum(json_extract(e.value, '$.end') - json_extract(e.value, '$.start')), 3)
            FROM json_each(findings.evidence) e), 0), 'unit', 's')
        ELSE json_object('count', 0, 'total', 0, 'unit', 's') END
    WHERE item IN ('silence.dead_air', 'interaction.no_interrupt') AND status != 'na'
    """,
    # 5 (redaction): what was redacted from each call, never the value: the category (phone,
    # id_number, card, account, number, email, name), whose speech it was and its time span.
    """
    CREATE TABLE IF NOT EXISTS redactions (
        call_key TEXT NOT NULL REFERENCES calls (key) ON DELETE CASCADE,
        category TEXT NOT NULL,
        role TEXT,
        start_s REAL,
        end_s REAL
    );
    CREATE INDEX IF NOT EXISTS redactions_call ON redactions (call_key)
    """,
    # 6: the review workstation (pipeline/review, pipeline/web). Human verdicts live beside the
    # machine's, keyed by the call's identity + item + spec version: the batch and rescore never
    # touch these tables, so a rerun or a rescore loses none of them. Every change is an event
    # (who, when, before, after). reviewed_scores caches each reviewed audit's score under the
    # human verdicts (it goes with its call row, and is recomputed from the verdicts). Users,
    # their sessions, the calls picked for review and the transcript search index (FTS5, kept
    # by the web server) complete it. (IF NOT EXISTS: a store faked back to an older version keeps them.)
    """
    CREATE TABLE IF NOT EXISTS users (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL CHECK (role IN ('admin', 'reviewer', 'agent')),
        agent_id TEXT,
        password_hash TEXT NOT NULL,
        created_at TEXT NOT NULL,
        CHECK (role != 'agent' OR agent_id IS NOT NULL)
    );
    CREATE TABLE IF NOT EXISTS sessions (
        token_sha256 TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        csrf TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS verdicts (
        call_uid TEXT NOT NULL,
        item TEXT NOT NULL,
        spec_version TEXT NOT NULL,
        audio_sha256 TEXT,
        machine_status TEXT NOT NULL CHECK (machine_status IN ('pass', 'fail', 'na')),
        human_status TEXT CHECK (human_status IN ('pass', 'fail', 'na')),
        review TEXT CHECK (review IN ('confirmed', 'overturned')),
        reviewer TEXT,
        reviewed_at TEXT,
        comment TEXT,
        appeal TEXT CHECK (appeal IN ('pending', 'accepted', 'rejected')),
        appeal_by TEXT,
        appeal_reason TEXT,
        appealed_at TEXT,
        decided_by TEXT,
        decision_comment TEXT,
        decided_at TEXT,
        PRIMARY KEY (call_uid, item, spec_version)
    );
    CREATE INDEX IF NOT EXISTS verdicts_pending ON verdicts (appeal) WHERE appeal = 'pending';
    CREATE TABLE IF NOT EXISTS verdict_events (
        id INTEGER PRIMARY KEY,
        call_uid TEXT NOT NULL,
        item TEXT NOT NULL,
        spec_version TEXT NOT NULL,
        action TEXT NOT NULL CHECK (action IN ('confirm', 'overturn', 'appeal', 'accept', 'reject')),
        actor TEXT NOT NULL,
        at TEXT NOT NULL,
        before TEXT NOT NULL,
        after TEXT NOT NULL,
        comment TEXT
    );
    CREATE INDEX IF NOT EXISTS verdict_events_call ON verdict_events (call_uid, id);
    CREATE TABLE IF NOT EXISTS reviewed_scores (
        call_key TEXT PRIMARY KEY REFERENCES calls (key) ON DELETE CASCADE,
        score REAL,
        critical_failed TEXT NOT NULL,
        statuses TEXT NOT NULL,
        verdicts INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS review_queue (
        call_uid TEXT PRIMARY KEY,
        reason TEXT NOT NULL,
        picked_at TEXT NOT NULL,
        picked_by TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS transcript_index_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        last_rowid INTEGER NOT NULL
    );
    CREATE VIRTUAL TABLE IF NOT EXISTS transcript_index USING fts5 (text, tokenize = 'unicode61 remove_diacritics 2');
    CREATE INDEX IF NOT EXISTS calls_time ON calls (call_time);
    CREATE INDEX IF NOT EXISTS calls_team_time ON calls (team, call_time);
    CREATE INDEX IF NOT EXISTS calls_score ON calls (score);
    CREATE INDEX IF NOT EXISTS findings_item_status ON findings (item, status);
    CREATE INDEX IF NOT EXISTS calls_needs_review ON calls (needs_review) WHERE needs_review = 1
    """,
    # 7: how a finding's phrases were decided (audits.findings.Finding.decided: text, audio, text
    # only) and the checks against the audio behind it (each phrase with both scores, JSON). Stored
    # findings were decided from the text.
    """
    ALTER TABLE findings ADD COLUMN decided TEXT NOT NULL DEFAULT 'text';
    ALTER TABLE findings ADD COLUMN verification TEXT;
    """,
]
