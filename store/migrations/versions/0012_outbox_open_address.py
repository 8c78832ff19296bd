"""outbox: partial index of unfinished rows by (channel, address, id), so the outbox claim can
hold back a citizen's newer message while an older one to the same address is unfinished
(hub.dispatch: messages of one address leave in order)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 17:45:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

OPEN = "state IN ('pending', 'retry', 'sending', 'paused')"


def upgrade() -> None:
    op.create_index('ix_outbox_open_address', 'outbox', ['channel', 'address', 'id'],
                    unique=False, sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))


def downgrade() -> None:
    op.drop_index('ix_outbox_open_address', table_name='outbox')
