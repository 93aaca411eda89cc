"""Citizen space: the e-mailed one-time code (second factor) and the browser session's
state (code passed, whose space is shown)

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-29 17:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('space_mail_factors',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('chosen', sa.Boolean(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sends', sa.Integer(), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_space_mail_factors_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_space_mail_factors'))
    )
    op.create_table('space_session_states',
    sa.Column('web_session_id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('mail_verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acting_for', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_space_session_states_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['web_session_id'], ['web_sessions.id'], name=op.f('fk_space_session_states_web_session_id_web_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('web_session_id', name=op.f('pk_space_session_states'))
    )
    with op.batch_alter_table('space_session_states', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_space_session_states_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('space_session_states', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_space_session_states_user_id'))
    op.drop_table('space_session_states')
    op.drop_table('space_mail_factors')
