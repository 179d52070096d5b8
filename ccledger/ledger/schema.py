"""Numbered schema migrations, gated by `PRAGMA user_version`.

Each migration is one function run in one transaction together with its
version bump, so a crash leaves the ledger at the old or the new version,
never between. Raw facts only (usage per API call, tool calls, what was
appended to the context, readings); every report is derived with SQL.
Natural keys everywhere, so re-reading a file never double-counts.
"""
from __future__ import annotations

TYPE_CHECKING = False  # annotations only: the hot path avoids importing sqlite3.dbapi2
if TYPE_CHECKING:
    import sqlite3


QUARTER_MS = 900_000
# The secondary indexes as the latest migration leaves them. A first bulk ingest into an empty ledger
# drops them and builds them once at the end (ingest.py): a sorted build beats 200k random inserts.
SECONDARY_INDEXES = {
    "api_calls_ts": "CREATE INDEX api_calls_ts ON api_calls (ts_ms, cost_usd)",
    "api_calls_session": "CREATE INDEX api_calls_session ON api_calls (session_id, agent_id, ts_ms, total_tokens,"
                         " cost_usd)",
    "tool_calls_session": "CREATE INDEX tool_calls_session ON tool_calls (session_id)",
}


def ensure_indexes(conn: sqlite3.Connection) -> None:
    """Recreate any secondary index a bulk ingest dropped (also after it was killed half-way)."""
    present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    for name, sql in SECONDARY_INDEXES.items():
        if name not in present:
            conn.execute(sql)  # every real UTC offset is a multiple of 15 minutes: rollups bucket by quarter hour


def _script(conn: sqlite3.Connection, sql: str) -> None:
    """Run statements one by one: `executescript` would commit the open transaction."""
    for statement in sql.split(";"):
        if statement.strip():
            conn.execute(statement)


def m001_transcript_facts(conn: sqlite3.Connection) -> None:
    _script(
        conn,
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

        -- One row per transcript file: where the last complete line ended.
        CREATE TABLE files (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL UNIQUE,
            project TEXT NOT NULL,
            session_id TEXT NOT NULL,
            agent_id TEXT NOT NULL DEFAULT '',
            inode INTEGER NOT NULL DEFAULT 0,
            size INTEGER NOT NULL DEFAULT 0,
            mtime_ns INTEGER NOT NULL DEFAULT 0,
            offset INTEGER NOT NULL DEFAULT 0,
            lines INTEGER NOT NULL DEFAULT 0,
            head_crc INTEGER NOT NULL DEFAULT 0,
            first_ts_ms INTEGER,
            restarts INTEGER NOT NULL DEFAULT 0
        );

        -- One row per API response, keyed (message.id, requestId), '' when requestId is absent.
        CREATE TABLE api_calls (
            message_id TEXT NOT NULL,
            request_id TEXT NOT NULL,
            session_id TEXT NOT NULL,
            project TEXT NOT NULL,
            agent_id TEXT NOT NULL DEFAULT '',
            is_sidechain INTEGER NOT NULL DEFAULT 0,
            model TEXT NOT NULL DEFAULT '',
            ts_ms INTEGER NOT NULL,
            input_tokens INTEGER NOT NULL DEFAULT 0,
            cache_write_5m INTEGER NOT NULL DEFAULT 0,
            cache_write_1h INTEGER NOT NULL DEFAULT 0,
            cache_read_tokens INTEGER NOT NULL DEFAULT 0,
            output_tokens INTEGER NOT NULL DEFAULT 0,
            total_tokens INTEGER NOT NULL DEFAULT 0,
            speed TEXT NOT NULL DEFAULT 'standard',
            geo TEXT NOT NULL DEFAULT '',
            web_searches INTEGER NOT NULL DEFAULT 0,
            cost_usd REAL NOT NULL DEFAULT 0,
            priced INTEGER NOT NULL DEFAULT 1,
            source TEXT NOT NULL DEFAULT 'line',
            file_id INTEGER NOT NULL DEFAULT 0,
            offset INTEGER NOT NULL DEFAULT 0,
            session_start_ms INTEGER NOT NULL DEFAULT 0,
            text_bytes INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (message_id, request_id)
        );
        CREATE INDEX api_calls_ts ON api_calls (ts_ms);
        CREATE INDEX api_calls_session ON api_calls (session_id, agent_id, ts_ms);
        CREATE INDEX api_calls_sidechain ON api_calls (message_id) WHERE is_sidechain = 1;

        -- One row per tool call, keyed by tool_use_id, filled from transcripts and hooks.
        CREATE TABLE tool_calls (
            tool_use_id TEXT PRIMARY KEY,
            session_id TEXT NOT NULL,
            project TEXT NOT NULL DEFAULT '',
            agent_id TEXT NOT NULL DEFAULT '',
            message_id TEXT,
            request_id TEXT,
            tool_name TEXT NOT NULL DEFAULT '',
            mcp_server TEXT,
            mcp_tool TEXT,
            input_bytes INTEGER,
            result_bytes INTEGER,
            status TEXT,
            started_ms INTEGER,
            ended_ms INTEGER,
            duration_ms INTEGER,
            prompt_id TEXT,
            subagent_id TEXT,
            from_transcript INTEGER NOT NULL DEFAULT 0,
            from_hook INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX tool_calls_session ON tool_calls (session_id);
        CREATE INDEX tool_calls_subagent ON tool_calls (subagent_id) WHERE subagent_id IS NOT NULL;

        -- What else was appended to a conversation's context (prompts, attachments, compaction),
        -- in order. Tool results are in tool_calls (result_bytes, ended_ms).
        CREATE TABLE context_items (
            file_id INTEGER NOT NULL,
            offset INTEGER NOT NULL,
            idx INTEGER NOT NULL,
            session_id TEXT NOT NULL,
            agent_id TEXT NOT NULL DEFAULT '',
            ts_ms INTEGER NOT NULL,
            kind TEXT NOT NULL,
            bytes INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (file_id, offset, idx)
        ) WITHOUT ROWID;
        CREATE INDEX context_items_chain ON context_items (session_id, agent_id, ts_ms);

        -- Lines that could not be used, counted per file and reason.
        CREATE TABLE skipped (
            file_id INTEGER NOT NULL,
            reason TEXT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (file_id, reason)
        ) WITHOUT ROWID;

        -- "usage limit reached|<epoch>" API errors: the only reset time a transcript carries.
        CREATE TABLE limit_events (
            session_id TEXT NOT NULL,
            ts_ms INTEGER NOT NULL,
            reset_ms INTEGER NOT NULL,
            PRIMARY KEY (session_id, ts_ms)
        ) WITHOUT ROWID;
        """
    )


def m002_hooks_and_attribution(conn: sqlite3.Connection) -> None:
    _script(
        conn,
        """
        -- One row per hook invocation, as spooled by the hook process. Ids, names, sizes, times: never
        -- prompt text, tool input or tool output.
        CREATE TABLE hook_events (
            event_id TEXT PRIMARY KEY,
            ts_ms INTEGER NOT NULL,
            session_id TEXT NOT NULL,
            event TEXT NOT NULL,
            tool_use_id TEXT,
            agent_id TEXT,
            prompt_id TEXT,
            tool_name TEXT,
            detail TEXT
        );
        CREATE INDEX hook_events_session ON hook_events (session_id, ts_ms);

        -- Subagents: who started them (the Agent/Task call) and what they were.
        CREATE TABLE agents (
            session_id TEXT NOT NULL,
            agent_id TEXT NOT NULL,
            agent_type TEXT,
            description TEXT,
            parent_tool_use_id TEXT,
            PRIMARY KEY (session_id, agent_id)
        ) WITHOUT ROWID;

        -- Sessions whose facts changed since their attribution was last computed.
        CREATE TABLE dirty_sessions (session_id TEXT PRIMARY KEY) WITHOUT ROWID;

        -- Derived: who owns every input and output token of a session (see attribution.py). One row per
        -- owner per chain: owner is a tool_use_id, or base/user/assistant/other. Rebuilt per session.
        CREATE TABLE attribution (
            session_id TEXT NOT NULL,
            agent_id TEXT NOT NULL,
            owner TEXT NOT NULL,
            call_id TEXT,
            project TEXT NOT NULL DEFAULT '',
            ts_ms INTEGER NOT NULL DEFAULT 0,
            marginal_tokens INTEGER NOT NULL DEFAULT 0,
            carried_tokens INTEGER NOT NULL DEFAULT 0,
            output_tokens INTEGER NOT NULL DEFAULT 0,
            marginal_cost REAL NOT NULL DEFAULT 0,
            carried_cost REAL NOT NULL DEFAULT 0,
            output_cost REAL NOT NULL DEFAULT 0,
            PRIMARY KEY (session_id, agent_id, owner)
        ) WITHOUT ROWID;
        CREATE INDEX attribution_call ON attribution (call_id);
        """,
    )


def m003_status_readings(conn: sqlite3.Connection) -> None:
    _script(
        conn,
        """
        -- The status line payload is the only place the official window state exists: keep it.
        -- At most one row per session per few seconds unless a value changed (statusline.py).
        CREATE TABLE readings (
            session_id TEXT NOT NULL,
            ts_ms INTEGER NOT NULL,
            project TEXT,
            model TEXT,
            version TEXT,
            context_used_pct REAL,
            context_tokens INTEGER,
            context_size INTEGER,
            five_hour_pct REAL,
            five_hour_reset_ms INTEGER,
            seven_day_pct REAL,
            seven_day_reset_ms INTEGER,
            cost_usd REAL,
            duration_ms INTEGER,
            prompt_cache TEXT,
            PRIMARY KEY (session_id, ts_ms)
        ) WITHOUT ROWID;
        CREATE INDEX readings_ts ON readings (ts_ms);
        """,
    )


def m004_covering_indexes(conn: sqlite3.Connection) -> None:
    """The status line sums a session's and today's tokens and cost on every render: let SQLite read
    those from the index alone instead of visiting every row."""
    _script(
        conn,
        """
        DROP INDEX api_calls_ts;
        CREATE INDEX api_calls_ts ON api_calls (ts_ms, model, total_tokens, cost_usd);
        DROP INDEX api_calls_session;
        CREATE INDEX api_calls_session ON api_calls (session_id, agent_id, ts_ms, total_tokens, cost_usd)
        """,
    )


def m005_usage_rollup(conn: sqlite3.Connection) -> None:
    """Per quarter hour, session, project and model: what the usage reports group, kept small so a report
    over years of history reads thousands of rows, not millions. Derived: ingest marks the quarters it
    touched as dirty and reports rebuild those (report/rollup.py)."""
    _script(
        conn,
        """
        CREATE TABLE usage_rollup (
            quarter INTEGER NOT NULL,
            session_id TEXT NOT NULL,
            project TEXT NOT NULL,
            model TEXT NOT NULL,
            requests INTEGER NOT NULL,
            input_tokens INTEGER NOT NULL,
            output_tokens INTEGER NOT NULL,
            cache_write_5m INTEGER NOT NULL,
            cache_write_1h INTEGER NOT NULL,
            cache_read_tokens INTEGER NOT NULL,
            cost_usd REAL NOT NULL,
            first_ms INTEGER NOT NULL,
            last_ms INTEGER NOT NULL,
            unpriced INTEGER NOT NULL,
            PRIMARY KEY (quarter, session_id, project, model)
        ) WITHOUT ROWID;
        CREATE TABLE dirty_quarters (quarter INTEGER PRIMARY KEY);
        INSERT INTO dirty_quarters SELECT DISTINCT ts_ms / 900000 FROM api_calls
        """,
    )


def m006_budget_alerts(conn: sqlite3.Connection) -> None:
    """Which warn thresholds have been announced, per limit and period (window, day, session, call...):
    a crossing is told once; the next window or day starts afresh."""
    _script(
        conn,
        """
        CREATE TABLE budget_alerts (
            limit_key TEXT NOT NULL,
            period TEXT NOT NULL,
            threshold REAL NOT NULL,
            ts_ms INTEGER NOT NULL,
            value REAL,
            session_id TEXT,
            PRIMARY KEY (limit_key, period, threshold)
        ) WITHOUT ROWID
        """,
    )


def m007_attribution_top(conn: sqlite3.Connection) -> None:
    """The tool or MCP server that has carried the most tokens in each session, kept by attribution.refresh:
    the status line shows it on every render and a join over the session's owners costs it milliseconds."""
    _script(
        conn,
        """
        CREATE TABLE attribution_top (
            session_id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            carried_tokens INTEGER NOT NULL
        ) WITHOUT ROWID;
        INSERT INTO dirty_sessions SELECT DISTINCT session_id FROM attribution WHERE true
        ON CONFLICT DO NOTHING
        """,
    )


def m008_slimmer_time_index(conn: sqlite3.Connection) -> None:
    """Every index entry is written once per request at ingest: the time index now covers only what the
    status line sums on every render (today's cost); the rarer 5-hour estimate visits the rows."""
    _script(
        conn,
        """
        DROP INDEX api_calls_ts;
        CREATE INDEX api_calls_ts ON api_calls (ts_ms, cost_usd)
        """,
    )


def m009_forget_descriptions(conn: sqlite3.Connection) -> None:
    """Subagent descriptions are text from a tool call's input, stored before `[privacy] store_descriptions`
    existed: no ledger keeps them unless its user opts in (ingest_metas stores them from then on)."""
    conn.execute("UPDATE agents SET description = NULL WHERE description IS NOT NULL")


def m010_file_cwd(conn: sqlite3.Connection) -> None:
    """The folder a transcript was written in (the first `cwd` of its lines; NULL until ingest sees one):
    reports name a project by its path, not by Claude Code's dash-encoded folder name. A file already read
    is marked '' (its first lines are behind the offset): a report looks its cwd up in the transcript's head
    when it first needs it (report/projects.py)."""
    _script(conn, "ALTER TABLE files ADD COLUMN cwd TEXT;"
                  " UPDATE files SET cwd = '' WHERE offset > 0 AND path LIKE '%.jsonl'")


def m011_context_item_owner(conn: sqlite3.Connection) -> None:
    """The tool call an item concerns: for kind 'cleared' (a 2.1.3xx request that holds a placeholder in place
    of a tool result), the call whose result left the context, and bytes = what the request still held of it.
    Attribution stops carrying that result from the request on. Files read before keep their items until
    `ccledger rebuild` reads them again."""
    conn.execute("ALTER TABLE context_items ADD COLUMN owner TEXT")


MIGRATIONS = [m001_transcript_facts, m002_hooks_and_attribution, m003_status_readings, m004_covering_indexes,
              m005_usage_rollup, m006_budget_alerts, m007_attribution_top, m008_slimmer_time_index,
              m009_forget_descriptions, m010_file_cwd, m011_context_item_owner]
LATEST = len(MIGRATIONS)
