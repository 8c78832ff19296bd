"""The public search index holds each public report's text as the masking of its time left it;
the masking changed (a citizen's middle name no longer hides a street's, "Chu *** An"; an email
signature is no longer public), so the index is emptied and the portal's first pass of the next
start folds every public report again. Data only.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 15:00:00
"""
from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM report_words")
    op.execute("DELETE FROM report_search")


def downgrade() -> None:
    pass  # the index rebuilds itself from the reports
