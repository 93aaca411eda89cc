"""Guardians of minors' spaces

Revision ID: 0017
Revises: 0016
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('space_guardians',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('space_id', sa.Integer(), nullable=False),
    sa.Column('patient_fid', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('proof', sa.String(length=200), nullable=False),
    sa.Column('since', sa.Date(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_reason', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['space_id'], ['space_spaces.id'], name=op.f('fk_space_guardians_space_id_space_spaces'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_space_guardians_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_space_guardians'))
    )
    with op.batch_alter_table('space_guardians', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_space_guardians_patient_fid'), ['patient_fid'], unique=False)
        batch_op.create_index(batch_op.f('ix_space_guardians_space_id'), ['space_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_space_guardians_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('space_guardians', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_space_guardians_user_id'))
        batch_op.drop_index(batch_op.f('ix_space_guardians_space_id'))
        batch_op.drop_index(batch_op.f('ix_space_guardians_patient_fid'))
    op.drop_table('space_guardians')
