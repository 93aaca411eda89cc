"""Citizen health space

Revision ID: 0015
Revises: 0011
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('space_spaces',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_fid', sa.String(length=64), nullable=False),
    sa.Column('ins_hash', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('objection_until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('holder_id', sa.Integer(), nullable=True),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('code_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('code_failures', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('objected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('exported_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('purge_after', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['holder_id'], ['users.id'], name=op.f('fk_space_spaces_holder_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_space_spaces')),
    sa.UniqueConstraint('patient_fid', name=op.f('uq_space_spaces_patient_fid'))
    )
    op.create_index(op.f('ix_space_spaces_ins_hash'), 'space_spaces', ['ins_hash'], unique=False)
    op.create_index(op.f('ix_space_spaces_purge_after'), 'space_spaces', ['purge_after'], unique=False)
    op.create_table('space_reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('appointment_fid', sa.String(length=64), nullable=False),
    sa.Column('patient_fid', sa.String(length=64), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_space_reminders')),
    sa.UniqueConstraint('appointment_fid', name=op.f('uq_space_reminders_appointment_fid'))
    )
    op.create_index(op.f('ix_space_reminders_patient_fid'), 'space_reminders', ['patient_fid'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_space_reminders_patient_fid'), table_name='space_reminders')
    op.drop_table('space_reminders')
    op.drop_index(op.f('ix_space_spaces_purge_after'), table_name='space_spaces')
    op.drop_index(op.f('ix_space_spaces_ins_hash'), table_name='space_spaces')
    op.drop_table('space_spaces')
