"""Reports reopened from ``duplicate`` before router.lifecycle.set_status cleared the field kept
their old ``duplicate_of``; the export and the API showed it on a report that is no longer a
duplicate. Data only: the field is cleared wherever the status is not ``duplicate``.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 16:40:00
"""
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE reports SET duplicate_of = NULL "
               "WHERE duplicate_of IS NOT NULL AND status <> 'duplicate'")


def downgrade() -> None:
    pass  # the cleared codes were stale; nothing to put back
