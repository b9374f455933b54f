"""The team audit trail (govern/audit_pg.py): the table `audit_log` and the triggers
that make it append-only. PostgreSQL only: a SQLite memory is single-user, and its audit
trail stays the local JSONL log (govern/audit.py), so nothing is created there.

Each row is one record of the hash chain: `record` holds its canonical JSON (what the
hash covers), the other columns repeat fields of it for queries (verify checks that they
agree). `origin_id` is unique: a record replayed from the local spool is stored once.
The triggers reject UPDATE, DELETE and TRUNCATE for every role (the tool's role is also
granted only SELECT, INSERT: docs/team-mode.md); a superuser who disables them is still
caught by `aisre audit verify`.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

DDL = """
CREATE TABLE IF NOT EXISTS audit_log (
    seq BIGINT PRIMARY KEY CHECK (seq >= 1),
    hash CHAR(64) NOT NULL UNIQUE,
    prev CHAR(64) NOT NULL,
    record TEXT NOT NULL,
    event TEXT NOT NULL,
    run TEXT,
    actor TEXT NOT NULL,
    ts TEXT NOT NULL,
    origin_id TEXT NOT NULL UNIQUE,
    local_seq BIGINT,
    local_hash CHAR(64),
    host TEXT,
    stored_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS audit_log_run ON audit_log (run);
CREATE INDEX IF NOT EXISTS audit_log_local_hash ON audit_log (local_hash);
CREATE OR REPLACE FUNCTION aisre_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
DROP TRIGGER IF EXISTS audit_log_no_update ON audit_log;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION aisre_audit_append_only();
DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log;
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION aisre_audit_append_only();
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for stmt in _statements(DDL):
        op.execute(stmt)


def _statements(sql: str) -> list[str]:
    """Split on `;` outside the $$-quoted function body."""
    out: list[str] = []
    buf: list[str] = []
    quoted = False
    for line in sql.splitlines():
        if line.count("$$") % 2:
            quoted = not quoted
        buf.append(line)
        if not quoted and line.rstrip().endswith(";"):
            out.append("\n".join(buf).strip().rstrip(";"))
            buf = []
    if "\n".join(buf).strip():
        out.append("\n".join(buf).strip())
    return out


def downgrade() -> None:
    raise NotImplementedError("the incident memory only migrates forward")
