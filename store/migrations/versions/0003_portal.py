"""public portal: moderation (hidden reports and photos), folded search text, working-day
calendar; a covering index for per-agency statistics

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 14:30:00
"""
from alembic import op
import sqlalchemy as sa
import store.models


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('report_moderation',
    sa.Column('report_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('hidden', sa.Boolean(), nullable=False),
    sa.Column('hidden_photos', sa.JSON(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('actor', sa.String(length=80), nullable=True),
    sa.Column('updated_at', store.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('report_id')
    )
    with op.batch_alter_table('report_moderation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_moderation_hidden'), ['hidden'], unique=False)
    op.create_table('report_search',
    sa.Column('report_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('source_updated_at', store.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('report_id')
    )
    op.create_table('work_calendar',
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('working_index', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day')
    )
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.create_index('ix_portal_agency_stats', ['agency_id', 'status', 'forwarded_at',
                              'resolved_at', 'due_at', 'rating_score'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index('ix_portal_agency_stats')
    op.drop_table('work_calendar')
    op.drop_table('report_search')
    with op.batch_alter_table('report_moderation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_moderation_hidden'))
    op.drop_table('report_moderation')
