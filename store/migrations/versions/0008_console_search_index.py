"""console: index the folded search text so a word search reads no text. console_search.grams
(every character and adjacent pair within the text's words: words of one or two characters);
on SQLite an FTS5 table with the trigram tokenizer over (text, grams), its content read from
console_search and kept by triggers; on PostgreSQL a GIN index on the grams as an array (the
longer words use 0006's pg_trgm index)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 17:20:00
"""
import logging

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

FTS = 'console_search_fts'
TRIGGERS = ('console_search_fts_insert', 'console_search_fts_delete', 'console_search_fts_update')
BATCH = 5000


def _grams(text: str) -> str:
    """store.report_list.search_grams as of this migration (the job writes it from now on)."""
    seen: dict[str, None] = {}
    for word in text.split():
        for i, ch in enumerate(word):
            seen["|" + ch] = None
            if i + 1 < len(word):
                seen["|" + word[i:i + 2]] = None
    return "".join(entry + " " for entry in seen)


def upgrade() -> None:
    op.add_column('console_search', sa.Column('grams', sa.Text(), server_default='', nullable=False))
    bind = op.get_bind()
    last = -1
    while True:  # the grams of every report already folded, in batches of the primary key
        rows = bind.execute(sa.text('SELECT report_id, text FROM console_search WHERE report_id > :last '
                                    'ORDER BY report_id LIMIT :n'), {'last': last, 'n': BATCH}).all()
        if not rows:
            break
        bind.execute(sa.text('UPDATE console_search SET grams = :grams WHERE report_id = :id'),
                     [{'id': rid, 'grams': _grams(text)} for rid, text in rows])
        last = rows[-1][0]
    if bind.dialect.name == 'postgresql':
        # Built in: GIN over text[] needs no extension. ' ': the expression the queries use.
        op.execute("CREATE INDEX ix_console_search_grams ON console_search "
                   "USING gin (string_to_array(grams, ' '))")
        return
    try:
        bind.execute(sa.text(f"CREATE VIRTUAL TABLE {FTS} USING fts5(text, grams, content='console_search', "
                             "content_rowid='report_id', tokenize='trigram')"))
    except sa.exc.OperationalError as exc:  # SQLite older than 3.34, or built without FTS5
        log.warning("console_search: no FTS5 trigram index (%s); word search scans the folded text", exc.orig)
        return
    bind.execute(sa.text(f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')"))
    insert = f"INSERT INTO {FTS}(rowid, text, grams) VALUES (new.report_id, new.text, new.grams);"
    delete = f"INSERT INTO {FTS}({FTS}, rowid, text, grams) VALUES ('delete', old.report_id, old.text, old.grams);"
    bind.execute(sa.text(f"CREATE TRIGGER {TRIGGERS[0]} AFTER INSERT ON console_search BEGIN {insert} END"))
    bind.execute(sa.text(f"CREATE TRIGGER {TRIGGERS[1]} AFTER DELETE ON console_search BEGIN {delete} END"))
    bind.execute(sa.text(f"CREATE TRIGGER {TRIGGERS[2]} AFTER UPDATE OF text, grams ON console_search "
                         f"BEGIN {delete} {insert} END"))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        op.execute('DROP INDEX IF EXISTS ix_console_search_grams')
    else:
        for trigger in TRIGGERS:
            op.execute(f'DROP TRIGGER IF EXISTS {trigger}')
        op.execute(f'DROP TABLE IF EXISTS {FTS}')
    with op.batch_alter_table('console_search') as batch:
        batch.drop_column('grams')
