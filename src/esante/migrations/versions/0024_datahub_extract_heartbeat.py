"""Data hub: a running extract's last sign of life from its worker (heartbeat), so that the
sweep finds a dead worker's extract within minutes instead of hours.

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-30 01:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0024'
down_revision: str | None = '0023'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("datahub_extracts") as batch:
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("datahub_extracts") as batch:
        batch.drop_column("heartbeat_at")
