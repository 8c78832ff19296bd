"""console: folded search text of every report (console_search) for the queue's word search;
on PostgreSQL byte-wise collation (LIKE on folded ASCII) and, where pg_trgm can be installed, a
trigram index

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 15:00:00
"""
import logging

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    op.create_table('console_search',
    sa.Column('report_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('text', sa.Text().with_variant(sa.Text(collation='C'), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('report_id')
    )
    bind = op.get_bind()
    if bind.dialect.name != 'postgresql':
        return
    # pg_trgm is a trusted extension (PostgreSQL 13+): a database owner may create it. Where it
    # cannot be installed the search still works, by a scan of the folded text.
    savepoint = bind.begin_nested()
    try:
        bind.execute(sa.text('CREATE EXTENSION IF NOT EXISTS pg_trgm'))
        bind.execute(sa.text('CREATE INDEX ix_console_search_trgm ON console_search '
                             'USING gin (text gin_trgm_ops)'))
        savepoint.commit()
    except sa.exc.DBAPIError as exc:
        savepoint.rollback()
        log.warning("console_search: no trigram index (pg_trgm unavailable: %s)", exc.orig)


def downgrade() -> None:
    op.execute('DROP INDEX IF EXISTS ix_console_search_trgm')
    op.drop_table('console_search')
