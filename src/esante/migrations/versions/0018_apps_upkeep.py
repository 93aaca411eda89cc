"""Apps upkeep: the OAuth endpoints' call log (rate limits) and the re-review reminder date

Revision ID: 0018
Revises: 0016
Create Date: 2026-11-29 15:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('apps_oauth_calls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('endpoint', sa.String(length=12), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_apps_oauth_calls'))
    )
    with op.batch_alter_table('apps_oauth_calls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_apps_oauth_calls_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_apps_oauth_calls_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_apps_oauth_calls_ip'), ['ip'], unique=False)

    with op.batch_alter_table('apps_apps', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review_reminded_on', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('apps_apps', schema=None) as batch_op:
        batch_op.drop_column('review_reminded_on')

    with op.batch_alter_table('apps_oauth_calls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_apps_oauth_calls_ip'))
        batch_op.drop_index(batch_op.f('ix_apps_oauth_calls_client_id'))
        batch_op.drop_index(batch_op.f('ix_apps_oauth_calls_at'))

    op.drop_table('apps_oauth_calls')
