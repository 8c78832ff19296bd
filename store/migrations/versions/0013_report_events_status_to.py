"""report_events: index on (status_to, report_id, at), so an agency's "Đã trả lại" list starts
from the return events (status_to 'returned') instead of checking every report's
extra.returned_by (store.report_list.returned_by_agency)

A plain CREATE INDEX, not CONCURRENTLY: store.db.migrate runs every migration in one
transaction holding an advisory lock, where PostgreSQL refuses CONCURRENTLY (and Alembic's
autocommit_block cannot commit a transaction it was handed). Building it blocks writes to
report_events while it runs, seconds for a few hundred thousand events.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 21:20:00
"""
from alembic import op


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_report_events_status_to', 'report_events', ['status_to', 'report_id', 'at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_report_events_status_to', table_name='report_events')
