"""public portal: indexes for the public list in publication order (forwarded_at), per filter,
and for the search-text job's changed-since scan (updated_at); the folded word index of public
reports (report_words) that full-text search reads

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 14:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

INDEXES = {
    'ix_portal_forwarded': ['forwarded_at'],
    'ix_portal_category_forwarded': ['category', 'forwarded_at'],
    'ix_portal_ward_forwarded': ['ward', 'forwarded_at'],
    'ix_portal_agency_forwarded': ['agency_id', 'forwarded_at'],
    'ix_portal_status_forwarded': ['status', 'forwarded_at'],
    'ix_portal_updated': ['updated_at'],
}


def upgrade() -> None:
    with op.batch_alter_table('reports', schema=None) as batch_op:
        for name, columns in INDEXES.items():
            batch_op.create_index(name, columns, unique=False)
    op.create_table('report_words',
    sa.Column('word', sa.String(length=64), nullable=False),
    sa.Column('report_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('word', 'report_id')
    )
    with op.batch_alter_table('report_words', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_words_report_id'), ['report_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('report_words', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_words_report_id'))
    op.drop_table('report_words')
    with op.batch_alter_table('reports', schema=None) as batch_op:
        for name in reversed(INDEXES):
            batch_op.drop_index(name)
