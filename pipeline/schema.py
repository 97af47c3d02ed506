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
    # 5: how a finding's phrases were decided (audits.findings.Finding.decided: text, audio, text
    # only) and the checks against the audio behind it (each phrase with both scores, JSON). Stored
    # findings were decided from the text.
    """
    ALTER TABLE findings ADD COLUMN decided TEXT NOT NULL DEFAULT 'text';
    ALTER TABLE findings ADD COLUMN verification TEXT;
    """,
]
