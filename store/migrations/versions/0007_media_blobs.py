"""shared media storage: media_blobs (the bytes of stored files by SHA-256) for
storage.backend = "database", so every replica serves every photo

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 15:10:00
"""
from alembic import op
import sqlalchemy as sa
import store.models


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('media_blobs',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', store.models.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sha256')
    )


def downgrade() -> None:
    op.drop_table('media_blobs')
