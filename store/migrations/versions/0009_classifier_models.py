"""classifier_models: the models ``retrain`` installed, newest last, so that every replica
runs the same one (hub/classifier_sync.py)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 02:40:00
"""
from alembic import op
import sqlalchemy as sa
import store.models


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('classifier_models',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('version', sa.String(length=64), nullable=False),
    sa.Column('base_version', sa.String(length=64), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('installed_at', store.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade() -> None:
    op.drop_table('classifier_models')
