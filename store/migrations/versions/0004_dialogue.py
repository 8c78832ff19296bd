"""citizen dialogue: one-time rating tokens; index of merged duplicates by surviving report

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 14:40:00
"""
from alembic import op
import sqlalchemy as sa
import store.models


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rating_tokens',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('report_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', store.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', store.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('rating_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rating_tokens_report_id'), ['report_id'], unique=False)
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.create_index('ix_reports_duplicate_of', ['duplicate_of'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index('ix_reports_duplicate_of')
    with op.batch_alter_table('rating_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rating_tokens_report_id'))
    op.drop_table('rating_tokens')
